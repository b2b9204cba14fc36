/* Every message type round-trips; body-level errors are specific (docs/protocol.md §4, §7, §9). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "edge/protocol.h"

static const uint8_t epoch[EDGE_ID_SIZE] = {0xe0, 1, 2,  3,  4,  5,  6,  7,
                                            8,    9, 10, 11, 12, 13, 14, 15};
static uint8_t frame[EDGE_FRAME_MAX];
static uint8_t frame2[EDGE_FRAME_MAX];
static size_t frame_len;

static edge_str S(const char *s)
{
    return edge_str_from_cstr(s);
}

static void assert_str(edge_str got, const char *want)
{
    assert_non_null(got.ptr);
    assert_int_equal(got.len, strlen(want));
    assert_memory_equal(got.ptr, want, got.len);
}

static void fill_id(uint8_t *id, uint8_t seed)
{
    for (unsigned i = 0; i < EDGE_ID_SIZE; i++)
        id[i] = (uint8_t)(seed + i);
}

static edge_lease sample_lease(uint8_t seed)
{
    edge_lease l;
    memset(&l, 0, sizeof(l));
    fill_id(l.id, seed);
    l.owner_sid = S("S-1-5-21-1004336348-1177238915-682003330-1001");
    l.image_path = S("C:\\Program Files\\Caf\xc3\xa9\\app.exe");
    memset(l.image_sha256, seed, sizeof(l.image_sha256));
    l.protocol = EDGE_IPPROTO_UDP;
    l.port_lo = 3478;
    l.port_hi = 3479;
    l.edge_option = EDGE_TRAVERSAL_DEFER_TO_APP;
    l.created = 1700000000u;
    l.expires = 1700003600u;
    l.flags = EDGE_LEASE_F_KEEP_AFTER_EXIT;
    l.state = EDGE_LEASE_STATE_ACTIVE;
    return l;
}

static void assert_lease_eq(const edge_lease *a, const edge_lease *b)
{
    assert_memory_equal(a->id, b->id, EDGE_ID_SIZE);
    assert_int_equal(a->owner_sid.len, b->owner_sid.len);
    assert_memory_equal(a->owner_sid.ptr, b->owner_sid.ptr, a->owner_sid.len);
    assert_int_equal(a->image_path.len, b->image_path.len);
    assert_memory_equal(a->image_path.ptr, b->image_path.ptr, a->image_path.len);
    assert_memory_equal(a->image_sha256, b->image_sha256, EDGE_SHA256_SIZE);
    assert_int_equal(a->protocol, b->protocol);
    assert_int_equal(a->port_lo, b->port_lo);
    assert_int_equal(a->port_hi, b->port_hi);
    assert_int_equal(a->edge_option, b->edge_option);
    assert_true(a->created == b->created);
    assert_true(a->expires == b->expires);
    assert_int_equal(a->flags, b->flags);
    assert_int_equal(a->state, b->state);
}

static void init_req(edge_msg *m, uint16_t type)
{
    memset(m, 0, sizeof(*m));
    m->type = type;
    m->request_id = 0x01020304u;
}

static void init_rep(edge_msg *m, uint16_t type, uint32_t status)
{
    edge_frame_header h = {EDGE_PROTO_MAGIC, 1, type, 0, 0, 0x01020304u, 0};
    edge_msg_init_reply(m, &h, epoch, status);
}

/*
 * Encodes m, checks the body is canonical, decodes it back into *out and checks the header
 * fields; for messages without lists also re-encodes the decoded struct and expects the same bytes.
 */
static void roundtrip(const edge_msg *m, edge_msg *out, bool reencode)
{
    edge_direction dir = (m->flags & EDGE_FRAME_F_REPLY) || m->type == EDGE_MSG_NOTICE
                             ? EDGE_DIR_REPLY
                             : EDGE_DIR_REQUEST;
    size_t canon_len = 0, n2 = 0;
    edge_proto_err err = edge_msg_encode(m, frame, sizeof(frame), &frame_len);

    if (err != EDGE_PROTO_OK)
        fail_msg("encode type %u: %s", m->type, edge_proto_err_name(err));
    /* protocol.md §4.4: encoder output is canonical. */
    assert_int_equal(edge_tlv_canonicalize(frame + EDGE_FRAME_HEADER_SIZE,
                                           frame_len - EDGE_FRAME_HEADER_SIZE, frame2,
                                           sizeof(frame2), &canon_len),
                     EDGE_PROTO_OK);
    assert_memory_equal(frame2, frame + EDGE_FRAME_HEADER_SIZE, canon_len);
    err = edge_msg_decode(frame, frame_len, dir, out);
    if (err != EDGE_PROTO_OK)
        fail_msg("decode type %u: %s", m->type, edge_proto_err_name(err));
    assert_int_equal(out->type, m->type);
    assert_int_equal(out->flags, m->flags);
    assert_int_equal(out->request_id, m->request_id);
    if (dir == EDGE_DIR_REPLY) {
        assert_memory_equal(out->env.epoch, epoch, EDGE_ID_SIZE);
        assert_int_equal(out->env.status, m->env.status);
    }
    if (reencode) {
        assert_int_equal(edge_msg_encode(out, frame2, sizeof(frame2), &n2), EDGE_PROTO_OK);
        assert_int_equal(n2, frame_len);
        assert_memory_equal(frame2, frame, frame_len);
    }
    /* Measuring gives the same size. */
    assert_int_equal(edge_msg_encode(m, NULL, 0, &n2), EDGE_PROTO_E_BUFFER_TOO_SMALL);
    assert_int_equal(n2, frame_len);
}

/* protocol.md §9.3: hello request and reply. */
static void test_rt_hello(void **state)
{
    edge_msg m, d;
    (void)state;
    init_req(&m, EDGE_MSG_HELLO);
    m.u.hello_req.version_min = 1;
    m.u.hello_req.version_max = 3;
    m.u.hello_req.capabilities = EDGE_CAP_NOTICES | 0x80000000u; /* unknown bits pass */
    m.u.hello_req.client_name = S("edgectl 1.0");
    roundtrip(&m, &d, true);
    assert_int_equal(d.u.hello_req.version_max, 3);
    assert_int_equal(d.u.hello_req.capabilities, EDGE_CAP_NOTICES | 0x80000000u);
    assert_str(d.u.hello_req.client_name, "edgectl 1.0");

    init_rep(&m, EDGE_MSG_HELLO, EDGE_OK);
    m.u.hello_rep.version = 1;
    m.u.hello_rep.capabilities = EDGE_CAP_SIGNED_REQUESTS | EDGE_CAP_USER_CONSENT;
    m.u.hello_rep.server_version = S("edgebroker 0.1.0");
    m.env.has_warnings = true;
    m.env.warnings = EDGE_WARN_TEREDO_UNAVAILABLE;
    roundtrip(&m, &d, true);
    assert_int_equal(d.u.hello_rep.version, 1);
    assert_str(d.u.hello_rep.server_version, "edgebroker 0.1.0");
    assert_true(d.env.has_warnings);
    assert_int_equal(d.env.warnings, EDGE_WARN_TEREDO_UNAVAILABLE);
}

/* protocol.md §9.4: ping echoes its payload. */
static void test_rt_ping(void **state)
{
    static uint8_t payload[EDGE_MAX_PING_PAYLOAD];
    edge_msg m, d;
    (void)state;
    memset(payload, 0x5a, sizeof(payload));
    init_req(&m, EDGE_MSG_PING);
    roundtrip(&m, &d, true);
    assert_null(d.u.ping.payload.ptr);
    m.u.ping.payload.ptr = payload;
    m.u.ping.payload.len = sizeof(payload);
    roundtrip(&m, &d, true);
    assert_int_equal(d.u.ping.payload.len, sizeof(payload));
    init_rep(&m, EDGE_MSG_PING, EDGE_OK);
    m.u.ping.payload.ptr = payload;
    m.u.ping.payload.len = 5;
    roundtrip(&m, &d, true);
    assert_int_equal(d.u.ping.payload.len, 5);
}

/* protocol.md §9.5, §9.17: REQUEST and EXPLAIN share the lease request fields. */
static void test_rt_request_and_explain(void **state)
{
    const uint16_t types[] = {EDGE_MSG_REQUEST, EDGE_MSG_EXPLAIN};
    edge_msg m, d;
    (void)state;
    for (size_t i = 0; i < 2; i++) {
        init_req(&m, types[i]);
        m.u.lease_req.protocol = EDGE_IPPROTO_TCP;
        m.u.lease_req.port_lo = 50000;
        m.u.lease_req.has_port_hi = true;
        m.u.lease_req.port_hi = 50010;
        m.u.lease_req.has_seconds = true;
        m.u.lease_req.seconds = 3600;
        m.u.lease_req.has_flags = true;
        m.u.lease_req.flags = EDGE_LEASE_F_KEEP_AFTER_EXIT;
        m.u.lease_req.target_app = S("C:\\Games\\game.exe");
        m.u.lease_req.signed_request.ptr = (const uint8_t *)"\x01\x02\x00\x04";
        m.u.lease_req.signed_request.len = 4;
        roundtrip(&m, &d, true);
        assert_int_equal(d.u.lease_req.protocol, EDGE_IPPROTO_TCP);
        assert_int_equal(d.u.lease_req.port_lo, 50000);
        assert_int_equal(d.u.lease_req.port_hi, 50010);
        assert_int_equal(d.u.lease_req.seconds, 3600);
        assert_int_equal(d.u.lease_req.flags, EDGE_LEASE_F_KEEP_AFTER_EXIT);
        assert_str(d.u.lease_req.target_app, "C:\\Games\\game.exe");
        assert_int_equal(d.u.lease_req.signed_request.len, 4);
        assert_memory_equal(d.u.lease_req.signed_request.ptr, "\x01\x02\x00\x04", 4);

        /* Minimal: single port, everything optional absent. */
        init_req(&m, types[i]);
        m.u.lease_req.protocol = EDGE_IPPROTO_UDP;
        m.u.lease_req.port_lo = 9;
        roundtrip(&m, &d, false);
        assert_false(d.u.lease_req.has_port_hi);
        assert_int_equal(d.u.lease_req.port_hi, 9); /* absent port_hi means port_lo */
        assert_false(d.u.lease_req.has_seconds);
        assert_false(d.u.lease_req.has_flags);
        assert_null(d.u.lease_req.target_app.ptr);
        assert_null(d.u.lease_req.signed_request.ptr);
    }
}

/* protocol.md §9.5: REQUEST replies: lease with OK, pending id with PENDING_CONSENT. */
static void test_rt_request_reply(void **state)
{
    edge_msg m, d;
    edge_lease l = sample_lease(3);
    (void)state;
    init_rep(&m, EDGE_MSG_REQUEST, EDGE_OK);
    m.u.lease_rep.has_lease = true;
    m.u.lease_rep.lease = l;
    roundtrip(&m, &d, true);
    assert_true(d.u.lease_rep.has_lease);
    assert_lease_eq(&d.u.lease_rep.lease, &l);

    init_rep(&m, EDGE_MSG_REQUEST, EDGE_PENDING_CONSENT);
    m.u.lease_rep.has_pending_id = true;
    fill_id(m.u.lease_rep.pending_id, 0x40);
    m.env.has_retry_after = true;
    m.env.retry_after = 5;
    m.env.detail = S("waiting for an administrator");
    roundtrip(&m, &d, true);
    assert_false(d.u.lease_rep.has_lease);
    assert_true(d.u.lease_rep.has_pending_id);
    assert_memory_equal(d.u.lease_rep.pending_id, m.u.lease_rep.pending_id, EDGE_ID_SIZE);
    assert_str(d.env.detail, "waiting for an administrator");
    assert_int_equal(d.env.retry_after, 5);
}

/* protocol.md §9.6, §9.9, §9.14: RENEW, SHOW, APPROVE requests and lease replies. */
static void test_rt_renew_show_approve(void **state)
{
    const uint16_t types[] = {EDGE_MSG_RENEW, EDGE_MSG_SHOW, EDGE_MSG_APPROVE};
    edge_msg m, d;
    edge_lease l = sample_lease(9);
    (void)state;

    init_req(&m, EDGE_MSG_RENEW);
    fill_id(m.u.renew_req.lease_id, 1);
    m.u.renew_req.has_seconds = true;
    m.u.renew_req.seconds = EDGE_LEASE_SECONDS_MAX;
    roundtrip(&m, &d, true);
    assert_memory_equal(d.u.renew_req.lease_id, m.u.renew_req.lease_id, EDGE_ID_SIZE);
    assert_int_equal(d.u.renew_req.seconds, EDGE_LEASE_SECONDS_MAX);

    for (size_t i = 1; i < 3; i++) {
        init_req(&m, types[i]);
        fill_id(m.u.id_req.id, 7);
        roundtrip(&m, &d, true);
        assert_memory_equal(d.u.id_req.id, m.u.id_req.id, EDGE_ID_SIZE);
    }
    for (size_t i = 0; i < 3; i++) {
        init_rep(&m, types[i], EDGE_OK);
        m.u.lease_rep.has_lease = true;
        m.u.lease_rep.lease = l;
        roundtrip(&m, &d, true);
        assert_lease_eq(&d.u.lease_rep.lease, &l);
    }
}

/* protocol.md §9.7, §9.10, §9.15: RELEASE, REVOKE, DENY and their envelope-only replies. */
static void test_rt_release_revoke_deny(void **state)
{
    const uint16_t types[] = {EDGE_MSG_RELEASE, EDGE_MSG_REVOKE, EDGE_MSG_DENY};
    edge_msg m, d;
    (void)state;
    for (size_t i = 0; i < 3; i++) {
        init_req(&m, types[i]);
        fill_id(m.u.id_req.id, (uint8_t)(i * 16));
        if (types[i] != EDGE_MSG_RELEASE)
            m.u.id_req.reason = S("policy change");
        roundtrip(&m, &d, true);
        assert_memory_equal(d.u.id_req.id, m.u.id_req.id, EDGE_ID_SIZE);
        if (types[i] != EDGE_MSG_RELEASE)
            assert_str(d.u.id_req.reason, "policy change");
        init_rep(&m, types[i], EDGE_OK);
        roundtrip(&m, &d, true);
    }
}

/* protocol.md §9.8: LIST with flags and cursor; reply of leases with a next cursor. */
static void test_rt_list(void **state)
{
    edge_lease leases[3] = {sample_lease(1), sample_lease(2), sample_lease(3)};
    edge_msg m, d;
    edge_list_iter it;
    edge_lease got;
    unsigned n = 0;
    (void)state;

    init_req(&m, EDGE_MSG_LIST);
    m.u.list_req.has_flags = true;
    m.u.list_req.flags = EDGE_LIST_F_ALL;
    m.u.list_req.has_cursor = true;
    m.u.list_req.cursor = 40;
    roundtrip(&m, &d, true);
    assert_int_equal(d.u.list_req.flags, EDGE_LIST_F_ALL);
    assert_int_equal(d.u.list_req.cursor, 40);

    leases[1].protocol = EDGE_IPPROTO_TCP;
    leases[1].port_hi = leases[1].port_lo;
    leases[2].state = EDGE_LEASE_STATE_INEFFECTIVE;
    leases[2].edge_option = EDGE_TRAVERSAL_ALLOW;
    init_rep(&m, EDGE_MSG_LIST, EDGE_OK);
    m.u.list_rep.items.items = leases;
    m.u.list_rep.items.count = 3;
    m.u.list_rep.has_next_cursor = true;
    m.u.list_rep.next_cursor = 43;
    roundtrip(&m, &d, false);
    assert_int_equal(d.u.list_rep.items.count, 3);
    assert_null(d.u.list_rep.items.items);
    assert_int_equal(d.u.list_rep.next_cursor, 43);
    edge_list_iter_init(&it, &d.u.list_rep.items);
    while (edge_list_next_lease(&it, &got)) {
        assert_lease_eq(&got, &leases[n]);
        n++;
    }
    assert_int_equal(n, 3);

    /* Empty list with OK: present but empty; re-encodes identically. */
    init_rep(&m, EDGE_MSG_LIST, EDGE_OK);
    roundtrip(&m, &d, true);
    assert_int_equal(d.u.list_rep.items.count, 0);
    assert_false(d.u.list_rep.has_next_cursor);
}

/* protocol.md §9.13: PENDING request and reply of pending records. */
static void test_rt_pending(void **state)
{
    edge_pending p[2];
    edge_msg m, d;
    edge_list_iter it;
    edge_pending got;
    (void)state;

    init_req(&m, EDGE_MSG_PENDING);
    m.u.list_req.has_cursor = true;
    m.u.list_req.cursor = 2;
    roundtrip(&m, &d, true);
    assert_int_equal(d.u.list_req.cursor, 2);

    memset(p, 0, sizeof(p));
    for (unsigned i = 0; i < 2; i++) {
        fill_id(p[i].id, (uint8_t)(0x70 + i));
        p[i].owner_sid = S("S-1-5-21-1-2-3-1001");
        p[i].image_path = S("C:\\x.exe");
        memset(p[i].image_sha256, 0xaa, EDGE_SHA256_SIZE);
        p[i].protocol = EDGE_IPPROTO_UDP;
        p[i].port_lo = (uint16_t)(1000 + i);
        p[i].port_hi = (uint16_t)(1000 + i);
        p[i].seconds = 600;
        p[i].flags = 0;
        p[i].created = 10;
        p[i].expires = 10;
    }
    init_rep(&m, EDGE_MSG_PENDING, EDGE_OK);
    m.u.list_rep.items.items = p;
    m.u.list_rep.items.count = 2;
    roundtrip(&m, &d, false);
    edge_list_iter_init(&it, &d.u.list_rep.items);
    assert_true(edge_list_next_pending(&it, &got));
    assert_memory_equal(got.id, p[0].id, EDGE_ID_SIZE);
    assert_int_equal(got.seconds, 600);
    assert_str(got.image_path, "C:\\x.exe");
    assert_true(edge_list_next_pending(&it, &got));
    assert_int_equal(got.port_lo, 1001);
    assert_false(edge_list_next_pending(&it, &got));
    /* Using the wrong iterator on a list fails rather than misreading. */
    edge_list_iter_init(&it, &d.u.list_rep.items);
    assert_false(edge_list_next_lease(&it, &(edge_lease){0}));
}

static const edge_check sample_checks[3] = {
    {{"firewall.domain", 15}, EDGE_CHECK_ON, {NULL, 0}},
    {{"local_rule_merge", 16}, EDGE_CHECK_OFF, {"AllowLocalPolicyMerge=0 by Group Policy", 39}},
    {{"teredo", 6}, EDGE_CHECK_UNKNOWN, {"", 0}},
};

static void assert_checks(const edge_list *l)
{
    edge_list_iter it;
    edge_check c;
    unsigned n = 0;
    edge_list_iter_init(&it, l);
    while (edge_list_next_check(&it, &c)) {
        assert_int_equal(c.name.len, sample_checks[n].name.len);
        assert_memory_equal(c.name.ptr, sample_checks[n].name.ptr, c.name.len);
        assert_int_equal(c.state, sample_checks[n].state);
        assert_true((c.reason.ptr == NULL) == (sample_checks[n].reason.ptr == NULL));
        assert_int_equal(c.reason.len, sample_checks[n].reason.len);
        n++;
    }
    assert_int_equal(n, 3);
}

/* protocol.md §9.11, §9.12: STATUS and DOCTOR replies (check entries). */
static void test_rt_status_doctor(void **state)
{
    edge_msg m, d;
    (void)state;
    init_req(&m, EDGE_MSG_STATUS);
    roundtrip(&m, &d, true);
    init_req(&m, EDGE_MSG_DOCTOR);
    roundtrip(&m, &d, true);

    init_rep(&m, EDGE_MSG_STATUS, EDGE_OK);
    m.u.status_rep.checks.items = sample_checks;
    m.u.status_rep.checks.count = 3;
    m.u.status_rep.active_leases = 12;
    m.u.status_rep.pending_requests = 2;
    m.u.status_rep.started = 0x1122334455667788ull;
    roundtrip(&m, &d, false);
    assert_checks(&d.u.status_rep.checks);
    assert_int_equal(d.u.status_rep.active_leases, 12);
    assert_int_equal(d.u.status_rep.pending_requests, 2);
    assert_true(d.u.status_rep.started == 0x1122334455667788ull);

    init_rep(&m, EDGE_MSG_DOCTOR, EDGE_OK);
    m.u.entries_rep.items.items = sample_checks;
    m.u.entries_rep.items.count = 3;
    roundtrip(&m, &d, false);
    assert_checks(&d.u.entries_rep.items);
}

/* protocol.md §9.16: POLICY reply (name, value, source). */
static void test_rt_policy(void **state)
{
    const edge_policy_entry e[2] = {
        {{"Mode", 4}, {"consent", 7}, {"policy", 6}},
        {{"MaxLeaseSeconds", 15}, {"", 0}, {"default", 7}},
    };
    edge_msg m, d;
    edge_list_iter it;
    edge_policy_entry got;
    (void)state;
    init_req(&m, EDGE_MSG_POLICY);
    roundtrip(&m, &d, true);
    init_rep(&m, EDGE_MSG_POLICY, EDGE_OK);
    m.u.entries_rep.items.items = e;
    m.u.entries_rep.items.count = 2;
    roundtrip(&m, &d, false);
    edge_list_iter_init(&it, &d.u.entries_rep.items);
    assert_true(edge_list_next_policy(&it, &got));
    assert_str(got.value, "consent");
    assert_str(got.source, "policy");
    assert_true(edge_list_next_policy(&it, &got));
    assert_int_equal(got.value.len, 0);
    assert_non_null(got.value.ptr);
    assert_false(edge_list_next_policy(&it, &got));
}

/* protocol.md §9.17: EXPLAIN reply with decision and trace lines. */
static void test_rt_explain_reply(void **state)
{
    const edge_str lines[3] = {{"mode=consent (policy)", 21},
                               {"no allow-list match", 19},
                               {"\xe2\x86\x92 pending consent", 18}};
    edge_msg m, d;
    edge_list_iter it;
    edge_str s;
    unsigned n = 0;
    (void)state;
    init_rep(&m, EDGE_MSG_EXPLAIN, EDGE_OK);
    m.u.explain_rep.decision = EDGE_PENDING_CONSENT;
    m.u.explain_rep.trace.items = lines;
    m.u.explain_rep.trace.count = 3;
    roundtrip(&m, &d, false);
    assert_int_equal(d.u.explain_rep.decision, EDGE_PENDING_CONSENT);
    edge_list_iter_init(&it, &d.u.explain_rep.trace);
    while (edge_list_next_str(&it, &s)) {
        assert_int_equal(s.len, lines[n].len);
        assert_memory_equal(s.ptr, lines[n].ptr, s.len);
        n++;
    }
    assert_int_equal(n, 3);
}

/* protocol.md §9.18: PURGE. */
static void test_rt_purge(void **state)
{
    edge_msg m, d;
    (void)state;
    init_req(&m, EDGE_MSG_PURGE);
    roundtrip(&m, &d, true);
    init_rep(&m, EDGE_MSG_PURGE, EDGE_OK);
    m.u.purge_rep.removed = 17;
    roundtrip(&m, &d, true);
    assert_int_equal(d.u.purge_rep.removed, 17);
}

/* protocol.md §9.19: server notices. */
static void test_rt_notice(void **state)
{
    edge_msg m, d;
    (void)state;
    memset(&m, 0, sizeof(m));
    m.type = EDGE_MSG_NOTICE;
    memcpy(m.env.epoch, epoch, EDGE_ID_SIZE);
    m.u.notice.kind = EDGE_NOTICE_ENDING;
    m.u.notice.has_lease_id = true;
    fill_id(m.u.notice.lease_id, 0x33);
    m.u.notice.has_seconds = true;
    m.u.notice.seconds = 60;
    m.env.detail = S("lease ends in 60 s");
    roundtrip(&m, &d, true);
    assert_int_equal(d.u.notice.kind, EDGE_NOTICE_ENDING);
    assert_memory_equal(d.u.notice.lease_id, m.u.notice.lease_id, EDGE_ID_SIZE);
    assert_int_equal(d.u.notice.seconds, 60);
    assert_memory_equal(d.env.epoch, epoch, EDGE_ID_SIZE);

    memset(&m.u.notice, 0, sizeof(m.u.notice));
    m.u.notice.kind = EDGE_NOTICE_SHUTDOWN;
    roundtrip(&m, &d, true);
    m.u.notice.kind = EDGE_NOTICE_REVOKED; /* needs a lease id */
    assert_int_equal(edge_msg_encode(&m, frame, sizeof(frame), &frame_len),
                     EDGE_PROTO_E_MISSING_FIELD);
    m.u.notice.kind = 5;
    assert_int_equal(edge_msg_encode(&m, frame, sizeof(frame), &frame_len), EDGE_PROTO_E_BAD_VALUE);
}

/* ---- malformed bodies built by hand ---- */

static uint8_t body[8192];
static size_t body_len;

static void b_reset(void)
{
    body_len = 0;
}

static void b_raw(uint16_t tagword, uint8_t type, uint32_t len, const void *val)
{
    edge_put_le16(body + body_len, tagword);
    body[body_len + 2] = type;
    body[body_len + 3] = 0;
    edge_put_le32(body + body_len + 4, len);
    if (len != 0)
        memcpy(body + body_len + 8, val, len);
    body_len += 8 + (size_t)len;
}

static void b_u8(uint16_t tag, uint8_t v)
{
    b_raw(tag, EDGE_TLV_U8, 1, &v);
}

static void b_u16(uint16_t tag, uint16_t v)
{
    uint8_t b[2];
    edge_put_le16(b, v);
    b_raw(tag, EDGE_TLV_U16, 2, b);
}

static void b_u32(uint16_t tag, uint32_t v)
{
    uint8_t b[4];
    edge_put_le32(b, v);
    b_raw(tag, EDGE_TLV_U32, 4, b);
}

static edge_proto_err decode_body(uint16_t type, uint16_t flags, edge_msg *out)
{
    edge_frame_header h = {EDGE_PROTO_MAGIC, 1, type, flags, 0, 9, (uint32_t)body_len};
    edge_frame_write_header(&h, frame);
    memcpy(frame + EDGE_FRAME_HEADER_SIZE, body, body_len);
    return edge_msg_decode(
        frame, EDGE_FRAME_HEADER_SIZE + body_len,
        (flags & EDGE_FRAME_F_REPLY) || type == EDGE_MSG_NOTICE ? EDGE_DIR_REPLY : EDGE_DIR_REQUEST,
        out);
}

/* A valid REQUEST body: protocol, port_lo, then `extra` appended by the caller. */
static void b_request(uint8_t proto, uint16_t lo)
{
    b_reset();
    b_u8(16, proto);
    b_u16(17, lo);
}

/* protocol.md §3.3: unknown non-critical tags are skipped; unknown critical tags are refused. */
static void test_unknown_tags(void **state)
{
    edge_msg d;
    (void)state;
    b_request(6, 80);
    b_raw(999, EDGE_TLV_STRING, 3, "new");
    b_raw(15, 0x55, 2, "??"); /* unknown tag of an unknown type, non-critical */
    assert_int_equal(decode_body(EDGE_MSG_REQUEST, 0, &d), EDGE_PROTO_OK);
    assert_int_equal(d.u.lease_req.port_lo, 80);
    b_request(6, 80);
    b_raw(999 | EDGE_TLV_CRITICAL, EDGE_TLV_STRING, 3, "new");
    assert_int_equal(decode_body(EDGE_MSG_REQUEST, 0, &d), EDGE_PROTO_E_UNKNOWN_CRITICAL);
    /* A known tag with the critical bit is fine either way. */
    b_reset();
    b_u8(16 | EDGE_TLV_CRITICAL, 17);
    b_u16(17, 80);
    assert_int_equal(decode_body(EDGE_MSG_REQUEST, 0, &d), EDGE_PROTO_OK);
    b_reset();
    b_u8(16, 17);
    b_u16(17 | EDGE_TLV_CRITICAL, 80);
    assert_int_equal(decode_body(EDGE_MSG_REQUEST, 0, &d), EDGE_PROTO_OK);
}

/* protocol.md §3.3: duplicates are refused; order on the wire does not matter. */
static void test_duplicates_and_order(void **state)
{
    edge_msg d;
    (void)state;
    b_request(6, 80);
    b_u16(17, 81);
    assert_int_equal(decode_body(EDGE_MSG_REQUEST, 0, &d), EDGE_PROTO_E_DUPLICATE_TAG);
    b_request(6, 80);
    b_u16(17 | EDGE_TLV_CRITICAL, 80);
    assert_int_equal(decode_body(EDGE_MSG_REQUEST, 0, &d), EDGE_PROTO_E_DUPLICATE_TAG);
    b_reset();
    b_u16(18, 90);
    b_u16(17, 80);
    b_u8(16, 17);
    assert_int_equal(decode_body(EDGE_MSG_REQUEST, 0, &d), EDGE_PROTO_OK);
    assert_int_equal(d.u.lease_req.port_hi, 90);
}

/* protocol.md §9.5: required fields, value ranges and cross-field rules of a lease request. */
static void test_request_values(void **state)
{
    edge_msg d;
    (void)state;
    b_reset();
    b_u16(17, 80);
    assert_int_equal(decode_body(EDGE_MSG_REQUEST, 0, &d), EDGE_PROTO_E_MISSING_FIELD);
    b_reset();
    b_u8(16, 6);
    assert_int_equal(decode_body(EDGE_MSG_REQUEST, 0, &d), EDGE_PROTO_E_MISSING_FIELD);
    b_request(1, 80); /* ICMP */
    assert_int_equal(decode_body(EDGE_MSG_REQUEST, 0, &d), EDGE_PROTO_E_BAD_VALUE);
    b_request(0, 80);
    assert_int_equal(decode_body(EDGE_MSG_REQUEST, 0, &d), EDGE_PROTO_E_BAD_VALUE);
    b_request(6, 0); /* port 0 */
    assert_int_equal(decode_body(EDGE_MSG_REQUEST, 0, &d), EDGE_PROTO_E_BAD_VALUE);
    b_request(6, 100);
    b_u16(18, 99); /* lo > hi */
    assert_int_equal(decode_body(EDGE_MSG_REQUEST, 0, &d), EDGE_PROTO_E_BAD_VALUE);
    b_request(6, 100);
    b_u16(18, 0);
    assert_int_equal(decode_body(EDGE_MSG_REQUEST, 0, &d), EDGE_PROTO_E_BAD_VALUE);
    b_request(6, 100);
    b_u32(19, 0); /* zero seconds */
    assert_int_equal(decode_body(EDGE_MSG_REQUEST, 0, &d), EDGE_PROTO_E_BAD_VALUE);
    b_request(6, 100);
    b_u32(19, EDGE_LEASE_SECONDS_MAX + 1);
    assert_int_equal(decode_body(EDGE_MSG_REQUEST, 0, &d), EDGE_PROTO_E_BAD_VALUE);
    b_request(6, 100);
    b_u32(19, 0xffffffffu);
    assert_int_equal(decode_body(EDGE_MSG_REQUEST, 0, &d), EDGE_PROTO_E_BAD_VALUE);
    b_request(6, 100);
    b_u32(20, 0x2); /* reserved lease flag */
    assert_int_equal(decode_body(EDGE_MSG_REQUEST, 0, &d), EDGE_PROTO_E_BAD_VALUE);
    b_request(6, 100);
    b_u32(20, 0x80000001u);
    assert_int_equal(decode_body(EDGE_MSG_REQUEST, 0, &d), EDGE_PROTO_E_BAD_VALUE);
    b_request(6, 100);
    b_raw(21, EDGE_TLV_STRING, 0, NULL); /* empty target path */
    assert_int_equal(decode_body(EDGE_MSG_REQUEST, 0, &d), EDGE_PROTO_E_BAD_VALUE);
    b_reset();
    b_u32(16, 1);
    assert_int_equal(decode_body(EDGE_MSG_LIST, 0, &d), EDGE_PROTO_OK);
    b_reset();
    b_u32(16, 2); /* unknown list flag */
    assert_int_equal(decode_body(EDGE_MSG_LIST, 0, &d), EDGE_PROTO_E_BAD_VALUE);
}

/* protocol.md §4.1, §4.2: wrong TLV type or length on a known tag. */
static void test_types_and_lengths(void **state)
{
    edge_msg d;
    (void)state;
    b_reset();
    b_u16(16, 6); /* protocol must be U8 */
    b_u16(17, 80);
    assert_int_equal(decode_body(EDGE_MSG_REQUEST, 0, &d), EDGE_PROTO_E_BAD_TYPE);
    b_request(6, 80);
    b_raw(21, EDGE_TLV_BYTES, 3, "a.e"); /* path must be STRING */
    assert_int_equal(decode_body(EDGE_MSG_REQUEST, 0, &d), EDGE_PROTO_E_BAD_TYPE);
    b_reset();
    b_raw(16, EDGE_TLV_BYTES, 15, "0123456789abcde"); /* lease id must be 16 bytes */
    assert_int_equal(decode_body(EDGE_MSG_RELEASE, 0, &d), EDGE_PROTO_E_BAD_LENGTH);
    b_reset();
    b_raw(16, EDGE_TLV_BYTES, 17, "0123456789abcdefg");
    assert_int_equal(decode_body(EDGE_MSG_RELEASE, 0, &d), EDGE_PROTO_E_BAD_LENGTH);
    b_reset();
    b_raw(16, EDGE_TLV_U16, 3, "\x06\0\0");
    assert_int_equal(decode_body(EDGE_MSG_REQUEST, 0, &d), EDGE_PROTO_E_BAD_LENGTH);
}

/* protocol.md §5, §6: string limits and UTF-8 rules on message fields. */
static void test_strings(void **state)
{
    static char path[EDGE_MAX_PATH + 2];
    edge_msg d, m;
    (void)state;
    memset(path, 'a', sizeof(path) - 1);
    b_request(6, 80);
    b_raw(21, EDGE_TLV_STRING, EDGE_MAX_PATH, path);
    assert_int_equal(decode_body(EDGE_MSG_REQUEST, 0, &d), EDGE_PROTO_OK);
    b_request(6, 80);
    b_raw(21, EDGE_TLV_STRING, EDGE_MAX_PATH + 1, path);
    assert_int_equal(decode_body(EDGE_MSG_REQUEST, 0, &d), EDGE_PROTO_E_TOO_LONG);

    {
        const struct {
            const char *s;
            uint32_t n;
            edge_proto_err want;
        } cases[] = {
            {"C:\\\xc0\xaf.exe", 9, EDGE_PROTO_E_BAD_UTF8},      /* overlong */
            {"C:\\\xed\xa0\x80.exe", 10, EDGE_PROTO_E_BAD_UTF8}, /* surrogate */
            {"C:\\\xf4\x90\x80\x80", 7, EDGE_PROTO_E_BAD_UTF8},  /* > U+10FFFF */
            {"C:\\\xe2\x82", 5, EDGE_PROTO_E_BAD_UTF8},          /* truncated */
            {"C:\\a.exe\0.txt", 13, EDGE_PROTO_E_EMBEDDED_NUL},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            b_request(6, 80);
            b_raw(21, EDGE_TLV_STRING, cases[i].n, cases[i].s);
            assert_int_equal(decode_body(EDGE_MSG_REQUEST, 0, &d), cases[i].want);
            /* The encoder refuses the same string. */
            init_req(&m, EDGE_MSG_REQUEST);
            m.u.lease_req.protocol = 6;
            m.u.lease_req.port_lo = 80;
            m.u.lease_req.target_app.ptr = cases[i].s;
            m.u.lease_req.target_app.len = cases[i].n;
            assert_int_equal(edge_msg_encode(&m, frame2, sizeof(frame2), &frame_len),
                             cases[i].want);
        }
    }
    /* Bad UTF-8 under an unknown, non-critical tag is still refused. */
    b_request(6, 80);
    b_raw(900, EDGE_TLV_STRING, 1, "\xff");
    assert_int_equal(decode_body(EDGE_MSG_REQUEST, 0, &d), EDGE_PROTO_E_BAD_UTF8);
}

/* protocol.md §3.1: a TLV running past the body. */
static void test_body_overrun(void **state)
{
    edge_msg d;
    (void)state;
    b_request(6, 80);
    edge_put_le32(body + 8 + 1 + 4, 3); /* port_lo claims 3 bytes, 2 remain */
    assert_int_equal(decode_body(EDGE_MSG_REQUEST, 0, &d), EDGE_PROTO_E_TLV_OVERRUN);
    b_request(6, 80);
    edge_put_le32(body + 4, 0xffffffffu);
    assert_int_equal(decode_body(EDGE_MSG_REQUEST, 0, &d), EDGE_PROTO_E_TLV_OVERRUN);
    b_request(6, 80);
    body_len -= 1;
    assert_int_equal(decode_body(EDGE_MSG_REQUEST, 0, &d), EDGE_PROTO_E_TLV_OVERRUN);
}

/* Builds an OK reply envelope into body. */
static void b_envelope(uint32_t status)
{
    b_reset();
    b_u32(1, status);
    b_raw(2, EDGE_TLV_BYTES, EDGE_ID_SIZE, epoch);
}

/* protocol.md §9.1: status-conditional fields. */
static void test_conditional_fields(void **state)
{
    edge_msg d;
    (void)state;
    b_envelope(EDGE_OK);
    assert_int_equal(decode_body(EDGE_MSG_REQUEST, EDGE_FRAME_F_REPLY, &d),
                     EDGE_PROTO_E_MISSING_FIELD);
    b_envelope(EDGE_E_DENIED);
    assert_int_equal(decode_body(EDGE_MSG_REQUEST, EDGE_FRAME_F_REPLY, &d), EDGE_PROTO_OK);
    b_envelope(EDGE_PENDING_CONSENT);
    assert_int_equal(decode_body(EDGE_MSG_REQUEST, EDGE_FRAME_F_REPLY, &d),
                     EDGE_PROTO_E_MISSING_FIELD);
    b_envelope(EDGE_PENDING_CONSENT);
    b_raw(17, EDGE_TLV_BYTES, EDGE_ID_SIZE, epoch);
    assert_int_equal(decode_body(EDGE_MSG_REQUEST, EDGE_FRAME_F_REPLY, &d), EDGE_PROTO_OK);
    assert_true(d.u.lease_rep.has_pending_id);
    b_envelope(EDGE_OK);
    assert_int_equal(decode_body(EDGE_MSG_LIST, EDGE_FRAME_F_REPLY, &d),
                     EDGE_PROTO_E_MISSING_FIELD);
    /* Envelope itself: status and epoch always required. */
    b_reset();
    b_u32(1, EDGE_E_DENIED);
    assert_int_equal(decode_body(EDGE_MSG_RELEASE, EDGE_FRAME_F_REPLY, &d),
                     EDGE_PROTO_E_MISSING_FIELD);
    b_reset();
    b_raw(2, EDGE_TLV_BYTES, EDGE_ID_SIZE, epoch);
    assert_int_equal(decode_body(EDGE_MSG_RELEASE, EDGE_FRAME_F_REPLY, &d),
                     EDGE_PROTO_E_MISSING_FIELD);
    /* Hello: min <= max. */
    b_reset();
    b_u16(16, 2);
    b_u16(17, 1);
    b_u32(18, 0);
    assert_int_equal(decode_body(EDGE_MSG_HELLO, 0, &d), EDGE_PROTO_E_BAD_VALUE);
    b_reset();
    b_u16(16, 0);
    b_u16(17, 1);
    b_u32(18, 0);
    assert_int_equal(decode_body(EDGE_MSG_HELLO, 0, &d), EDGE_PROTO_E_BAD_VALUE);
}

/* protocol.md §9.2: records nested in replies are checked like the body. */
static void test_nested_records(void **state)
{
    edge_msg m, d;
    edge_lease l = sample_lease(1);
    size_t at;
    (void)state;

    init_rep(&m, EDGE_MSG_SHOW, EDGE_OK);
    m.u.lease_rep.has_lease = true;
    m.u.lease_rep.lease = l;
    m.u.lease_rep.lease.edge_option = 3; /* DEFER_TO_USER is not offered */
    assert_int_equal(edge_msg_encode(&m, frame, sizeof(frame), &frame_len), EDGE_PROTO_E_BAD_VALUE);
    m.u.lease_rep.lease = l;
    m.u.lease_rep.lease.expires = l.created - 1;
    assert_int_equal(edge_msg_encode(&m, frame, sizeof(frame), &frame_len), EDGE_PROTO_E_BAD_VALUE);
    m.u.lease_rep.lease = l;
    m.u.lease_rep.lease.state = 0;
    assert_int_equal(edge_msg_encode(&m, frame, sizeof(frame), &frame_len), EDGE_PROTO_E_BAD_VALUE);
    m.u.lease_rep.lease = l;
    m.u.lease_rep.lease.owner_sid.ptr = NULL;
    assert_int_equal(edge_msg_encode(&m, frame, sizeof(frame), &frame_len),
                     EDGE_PROTO_E_MISSING_FIELD);

    /* Patch a valid frame: the lease's edge option (tag 8) byte set to 0 -> BAD_VALUE. */
    m.u.lease_rep.lease = l;
    assert_int_equal(edge_msg_encode(&m, frame, sizeof(frame), &frame_len), EDGE_PROTO_OK);
    for (at = EDGE_FRAME_HEADER_SIZE; at + 9 <= frame_len; at++) {
        if (frame[at] == 8 && frame[at + 1] == 0 && frame[at + 2] == EDGE_TLV_U8 &&
            frame[at + 4] == 1 && frame[at + 8] == EDGE_TRAVERSAL_DEFER_TO_APP)
            break;
    }
    assert_true(at + 9 <= frame_len);
    frame[at + 8] = 0;
    assert_int_equal(edge_msg_decode(frame, frame_len, EDGE_DIR_REPLY, &d), EDGE_PROTO_E_BAD_VALUE);
    /* Same spot, make the tag critical-unknown: tag 8 -> 0x8000 | 200. */
    frame[at + 8] = EDGE_TRAVERSAL_DEFER_TO_APP;
    edge_put_le16(frame + at, 200 | EDGE_TLV_CRITICAL);
    assert_int_equal(edge_msg_decode(frame, frame_len, EDGE_DIR_REPLY, &d),
                     EDGE_PROTO_E_UNKNOWN_CRITICAL);
    /* Non-critical unknown instead: the lease then lacks its edge option. */
    edge_put_le16(frame + at, 200);
    assert_int_equal(edge_msg_decode(frame, frame_len, EDGE_DIR_REPLY, &d),
                     EDGE_PROTO_E_MISSING_FIELD);
}

/* protocol.md §6: list counts and the frame limit on encode. */
static void test_limits_on_encode(void **state)
{
    static edge_lease many[EDGE_MAX_LIST_ITEMS + 1];
    static char longpath[EDGE_MAX_PATH];
    static edge_str trace[EDGE_MAX_TRACE_LINES + 1];
    edge_msg m;
    (void)state;

    memset(longpath, 'p', sizeof(longpath));
    for (size_t i = 0; i < EDGE_MAX_LIST_ITEMS + 1; i++)
        many[i] = sample_lease((uint8_t)i);
    init_rep(&m, EDGE_MSG_LIST, EDGE_OK);
    m.u.list_rep.items.items = many;
    m.u.list_rep.items.count = EDGE_MAX_LIST_ITEMS + 1;
    assert_int_equal(edge_msg_encode(&m, frame, sizeof(frame), &frame_len), EDGE_PROTO_E_TOO_MANY);
    /* 20 leases with 4 KiB paths exceed the 64 KiB frame. */
    for (size_t i = 0; i < 20; i++) {
        many[i].image_path.ptr = longpath;
        many[i].image_path.len = sizeof(longpath);
    }
    m.u.list_rep.items.count = 20;
    assert_int_equal(edge_msg_encode(&m, frame, sizeof(frame), &frame_len),
                     EDGE_PROTO_E_BODY_TOO_LARGE);
    m.u.list_rep.items.count = 10;
    assert_int_equal(edge_msg_encode(&m, frame, sizeof(frame), &frame_len), EDGE_PROTO_OK);
    m.u.list_rep.items.items = NULL;
    assert_int_equal(edge_msg_encode(&m, frame, sizeof(frame), &frame_len),
                     EDGE_PROTO_E_INVALID_ARG);

    for (size_t i = 0; i < EDGE_MAX_TRACE_LINES + 1; i++)
        trace[i] = S("x");
    init_rep(&m, EDGE_MSG_EXPLAIN, EDGE_OK);
    m.u.explain_rep.trace.items = trace;
    m.u.explain_rep.trace.count = EDGE_MAX_TRACE_LINES + 1;
    assert_int_equal(edge_msg_encode(&m, frame, sizeof(frame), &frame_len), EDGE_PROTO_E_TOO_MANY);
    m.u.explain_rep.trace.count = EDGE_MAX_TRACE_LINES;
    assert_int_equal(edge_msg_encode(&m, frame, sizeof(frame), &frame_len), EDGE_PROTO_OK);

    /* Flags outside the known set and unknown types are refused by the encoder. */
    init_req(&m, EDGE_MSG_PING);
    m.flags = 0x4;
    assert_int_equal(edge_msg_encode(&m, frame, sizeof(frame), &frame_len),
                     EDGE_PROTO_E_RESERVED_BITS);
    init_req(&m, 77);
    assert_int_equal(edge_msg_encode(&m, frame, sizeof(frame), &frame_len),
                     EDGE_PROTO_E_UNKNOWN_TYPE);
}

/* protocol.md §6: too many trace lines on the wire. */
static void test_limits_on_decode(void **state)
{
    static uint8_t lst[8 * 300];
    size_t n = 0;
    edge_msg d;
    (void)state;
    for (unsigned i = 0; i < EDGE_MAX_TRACE_LINES + 1; i++) {
        edge_put_le16(lst + n, 0);
        lst[n + 2] = EDGE_TLV_STRING;
        lst[n + 3] = 0;
        edge_put_le32(lst + n + 4, 0);
        n += 8;
    }
    b_envelope(EDGE_OK);
    b_u32(16, 0);
    b_raw(17, EDGE_TLV_LIST, (uint32_t)n, lst);
    assert_int_equal(decode_body(EDGE_MSG_EXPLAIN, EDGE_FRAME_F_REPLY, &d), EDGE_PROTO_E_TOO_MANY);
    b_envelope(EDGE_OK);
    b_u32(16, 0);
    b_raw(17, EDGE_TLV_LIST, (uint32_t)(n - 8), lst);
    assert_int_equal(decode_body(EDGE_MSG_EXPLAIN, EDGE_FRAME_F_REPLY, &d), EDGE_PROTO_OK);
    assert_int_equal(d.u.explain_rep.trace.count, EDGE_MAX_TRACE_LINES);
    /* Trace lines must be strings, not records. */
    b_envelope(EDGE_OK);
    b_u32(16, 0);
    b_raw(17, EDGE_TLV_LIST, 8, "\0\0\x07\0\0\0\0\0");
    assert_int_equal(decode_body(EDGE_MSG_EXPLAIN, EDGE_FRAME_F_REPLY, &d), EDGE_PROTO_E_BAD_TYPE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rt_hello),
        cmocka_unit_test(test_rt_ping),
        cmocka_unit_test(test_rt_request_and_explain),
        cmocka_unit_test(test_rt_request_reply),
        cmocka_unit_test(test_rt_renew_show_approve),
        cmocka_unit_test(test_rt_release_revoke_deny),
        cmocka_unit_test(test_rt_list),
        cmocka_unit_test(test_rt_pending),
        cmocka_unit_test(test_rt_status_doctor),
        cmocka_unit_test(test_rt_policy),
        cmocka_unit_test(test_rt_explain_reply),
        cmocka_unit_test(test_rt_purge),
        cmocka_unit_test(test_rt_notice),
        cmocka_unit_test(test_unknown_tags),
        cmocka_unit_test(test_duplicates_and_order),
        cmocka_unit_test(test_request_values),
        cmocka_unit_test(test_types_and_lengths),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_body_overrun),
        cmocka_unit_test(test_conditional_fields),
        cmocka_unit_test(test_nested_records),
        cmocka_unit_test(test_limits_on_encode),
        cmocka_unit_test(test_limits_on_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
