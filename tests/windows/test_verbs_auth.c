/*
 * Authorization through the verbs (service/authz.c, verbs_authz.c), driven through
 * conn_handle_frame with synthetic caller identities, against verbs_startup_config with a private
 * state directory and private policy keys under HKCU (the real policy source, live reload on):
 * the four modes; signed requests with CNG keys (valid, tampered body, tampered signature,
 * unknown key, key removed from policy by a live reload, expired, not yet valid, another
 * executable); consent (pending -> approve -> lease collected by the poll; deny -> CONSENT_DENIED;
 * remembered decisions; pending persisted across a restart); explain creates nothing; policy shows
 * each value with its source; quotas with retry_after following a policy reload; renewals
 * re-checked against Mode/AllowedPorts and refused leases ended by a reload (also the watcher's);
 * the administrator gate on a real token.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <windows.h>
#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caller.h"
#include "connection.h"
#include "crypto.h"
#include "fwdouble_control.h"
#include "verbs_internal.h"

#include "edge/protocol.h"
#include "edge/signed_request.h"
#include "testfs.h"
#include "svct_caller.h"
#include "svct_messages.h"

#define APP   L"C:\\Program Files\\Example\\app.exe"
#define OTHER L"C:\\Unlisted\\tool.exe"
#define THIRD L"C:\\Other\\peer.exe"
#define USER1 "S-1-5-21-1004336348-1177238915-682003330-1001"
#define USER2 "S-1-5-21-1004336348-1177238915-682003330-1002"
#define ADMIN "S-1-5-21-1004336348-1177238915-682003330-500"

static struct verb_table g_table;
static void *g_ctx;
static wchar_t g_local[96], g_policy[96], g_dir[MAX_PATH];
static unsigned g_serial;
static uint32_t g_request_id;

struct reply {
    struct conn_reply raw;
    edge_msg msg;
};

static DWORD no_prompt(DWORD session, const wchar_t *title, const wchar_t *text, DWORD timeout,
                       DWORD *response)
{
    (void)session;
    (void)title;
    (void)text;
    (void)timeout;
    *response = 0; /* no answer */
    return ERROR_SUCCESS;
}

static DWORD WINAPI no_console(void)
{
    return 0xFFFFFFFFu;
}

static struct verbs_ctx *vctx(void)
{
    return (struct verbs_ctx *)g_ctx;
}

static void connect_as(struct connection *c, const char *sid, const wchar_t *image, bool admin)
{
    svct_connect(c, ++g_serial, &g_table, g_ctx, sid, image, admin);
    c->caller.is_admin = caller_may_administer(&c->caller);
}

static void call(struct connection *c, edge_msg *req, struct reply *out)
{
    uint8_t *frame = NULL;
    size_t len = 0;

    req->flags = 0;
    req->request_id = ++g_request_id;
    assert_int_equal(edge_msg_encode_alloc(req, &frame, &len), EDGE_PROTO_OK);
    memset(out, 0, sizeof(*out));
    assert_int_not_equal(conn_handle_frame(c, frame, len, &out->raw), CONN_ACTION_DROP);
    edge_proto_free(frame);
    assert_int_equal(edge_msg_decode(out->raw.data, out->raw.len, EDGE_DIR_REPLY, &out->msg),
                     EDGE_PROTO_OK);
    assert_int_equal(out->msg.request_id, g_request_id);
}

static uint32_t call_status(struct connection *c, edge_msg *req)
{
    struct reply r;
    uint32_t st;

    call(c, req, &r);
    st = r.msg.env.status;
    if (r.msg.env.detail.ptr)
        print_message("  %s: %.*s\n", edge_status_name(st), (int)r.msg.env.detail.len,
                      r.msg.env.detail.ptr);
    conn_reply_free(&r.raw);
    return st;
}

/* ---- policy in the registry ---- */

static void set_value(const wchar_t *key, const wchar_t *name, DWORD type, const void *data,
                      DWORD size)
{
    HKEY k;

    assert_int_equal(
        RegCreateKeyExW(HKEY_CURRENT_USER, key, 0, NULL, 0, KEY_ALL_ACCESS, NULL, &k, NULL), 0);
    assert_int_equal(RegSetValueExW(k, name, 0, type, (const BYTE *)data, size), 0);
    RegCloseKey(k);
}

static void set_sz(const wchar_t *key, const wchar_t *name, const wchar_t *v)
{
    set_value(key, name, REG_SZ, v, (DWORD)((wcslen(v) + 1) * sizeof(wchar_t)));
}

static void set_dword(const wchar_t *key, const wchar_t *name, DWORD v)
{
    set_value(key, name, REG_DWORD, &v, sizeof(v));
}

static void delete_value(const wchar_t *key, const wchar_t *name)
{
    HKEY k;

    if (RegOpenKeyExW(HKEY_CURRENT_USER, key, 0, KEY_ALL_ACCESS, &k) == 0) {
        RegDeleteValueW(k, name);
        RegCloseKey(k);
    }
}

/* Reloads now, and gives the lease manager the new values as the watcher would. */
static void reload(void)
{
    assert_int_equal(policy_source_reload(authz_policy_source(vctx()->authz)), ERROR_SUCCESS);
    authz_attach_leases(vctx()->authz, vctx()->leases);
}

static void set_mode(const wchar_t *mode)
{
    set_sz(g_local, L"Mode", mode);
    reload();
}

static void start(void)
{
    struct verbs_config cfg;

    memset(&cfg, 0, sizeof(cfg));
    cfg.state_dir = g_dir;
    cfg.policy_root = HKEY_CURRENT_USER;
    cfg.policy_key = g_policy;
    cfg.local_key = g_local;
    cfg.prompt = no_prompt;
    cfg.console_session = no_console;
    assert_int_equal(conn_verbs_init(&g_table), ERROR_SUCCESS);
    assert_int_equal(verbs_startup_config(&g_table, &cfg, &g_ctx), ERROR_SUCCESS);
}

static int setup(void **state)
{
    static const wchar_t apps[] = L"C:\\Program Files\\**\\*.exe\0";
    wchar_t tmp[MAX_PATH];

    (void)state;
    if (!fwdc_double_registered() || FAILED(fwdc_faults_clear()) || FAILED(fwdc_store_reset()))
        return -1;
    GetTempPathW(MAX_PATH, tmp);
    swprintf(g_dir, MAX_PATH, L"%lsedge-vauth-%lu-%llu-%u", tmp, GetCurrentProcessId(),
             (unsigned long long)GetTickCount64(), ++g_serial);
    swprintf(g_local, 96, L"Software\\EdgeBrokerTest-vauth-local-%lu-%u", GetCurrentProcessId(),
             g_serial);
    swprintf(g_policy, 96, L"Software\\EdgeBrokerTest-vauth-policy-%lu-%u", GetCurrentProcessId(),
             g_serial);
    set_value(g_local, L"AllowedApplications", REG_MULTI_SZ, apps, sizeof(apps));
    start();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    verbs_shutdown(g_ctx);
    g_ctx = NULL;
    testfs_remove_flat_dir(g_dir);
    RegDeleteTreeW(HKEY_CURRENT_USER, g_local);
    RegDeleteTreeW(HKEY_CURRENT_USER, g_policy);
    (void)fwdc_faults_clear();
    return 0;
}

/* True when the audit trail contains needle. */
static bool audit_has(const char *needle)
{
    wchar_t path[MAX_PATH];
    char *buf;
    DWORD n = 0;
    HANDLE f;
    bool found;

    assert_int_equal(audit_flush(vctx()->audit, 5000), ERROR_SUCCESS);
    swprintf(path, MAX_PATH, L"%ls\\audit.jsonl", g_dir);
    f = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0,
                    NULL);
    assert_true(f != INVALID_HANDLE_VALUE);
    buf = calloc(1, 4u << 20);
    assert_non_null(buf);
    assert_true(ReadFile(f, buf, (4u << 20) - 1, &n, NULL));
    CloseHandle(f);
    found = strstr(buf, needle) != NULL;
    free(buf);
    return found;
}

/* ---- modes ---- */

static void test_modes(void **state)
{
    struct connection user, unlisted, admin;
    struct reply r;
    edge_msg m;

    (void)state;
    connect_as(&user, USER1, APP, false);
    connect_as(&unlisted, USER2, OTHER, false);
    connect_as(&admin, ADMIN, OTHER, true);

    set_mode(L"Off"); /* nothing is granted, not even to an administrator */
    m = svct_lease_request(7000, 7000);
    assert_int_equal(call_status(&user, &m), EDGE_E_DENIED);
    assert_int_equal(call_status(&admin, &m), EDGE_E_DENIED);

    set_mode(L"AllowListOnly");
    assert_int_equal(call_status(&user, &m), EDGE_OK);
    m = svct_lease_request(7002, 7002);
    assert_int_equal(call_status(&admin, &m), EDGE_OK);
    m = svct_lease_request(7001, 7001);
    assert_int_equal(call_status(&unlisted, &m), EDGE_E_DENIED);

    set_mode(L"SignedOrAllowListed");
    call(&unlisted, &m, &r);
    assert_int_equal(r.msg.env.status, EDGE_E_DENIED);
    {
        char detail[EDGE_MAX_TEXT + 1];
        assert_true(r.msg.env.detail.ptr && r.msg.env.detail.len <= EDGE_MAX_TEXT);
        memcpy(detail, r.msg.env.detail.ptr, r.msg.env.detail.len);
        detail[r.msg.env.detail.len] = '\0';
        assert_non_null(strstr(detail, "TrustedSignerKeys"));
    }
    conn_reply_free(&r.raw);
    /* Refusals are audited with the engine's trace. */
    assert_true(audit_has("| trace: caller: user " USER2));

    set_mode(L"Consent");
    call(&unlisted, &m, &r);
    assert_int_equal(r.msg.env.status, EDGE_PENDING_CONSENT);
    assert_true(r.msg.u.lease_rep.has_pending_id);
    assert_true(r.msg.env.has_retry_after && r.msg.env.retry_after > 0);
    conn_reply_free(&r.raw);
    conn_release(&user);
    conn_release(&unlisted);
    conn_release(&admin);
}

/* ---- signed requests ---- */

struct signer {
    uint8_t pub[65];
    uint8_t priv[96];
};

/* A blob for OTHER's image hash (connect_as: every byte image[3] = 'U'), ports lo-hi. */
static size_t make_blob(const struct signer *k, uint16_t lo, uint16_t hi, uint64_t nb, uint64_t na,
                        uint8_t *blob, size_t cap)
{
    uint8_t body[1024], digest[32], sig[64];
    size_t body_len = 0, blob_len = 0;
    edge_sr_fields f;

    memset(&f, 0, sizeof(f));
    f.version = EDGE_SR_VERSION;
    edge_sr_key_id(k->pub, f.key_id);
    f.has_image_sha256 = true;
    memset(f.image_sha256, 'U', sizeof(f.image_sha256));
    f.protocol = EDGE_IPPROTO_TCP;
    f.port_lo = lo;
    f.port_hi = hi;
    f.edge_option = EDGE_TRAVERSAL_DEFER_TO_APP;
    f.not_before = nb;
    f.not_after = na;
    f.comment = edge_str_from_cstr("test grant");
    assert_int_equal(edge_sr_build_body(&f, body, sizeof(body), &body_len), EDGE_SR_OK);
    edge_sr_digest(body, body_len, digest);
    assert_int_equal(crypto_p256_sign(k->priv, digest, sig), ERROR_SUCCESS);
    assert_int_equal(edge_sr_assemble(body, body_len, sig, blob, cap, &blob_len), EDGE_SR_OK);
    return blob_len;
}

static uint8_t *find_bytes(uint8_t *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle), i;

    for (i = 0; i + k <= n; i++)
        if (memcmp(hay + i, needle, k) == 0)
            return hay + i;
    return NULL;
}

static uint32_t signed_status(struct connection *c, uint16_t port, const uint8_t *blob, size_t len)
{
    edge_msg m = svct_lease_request(port, port);

    m.u.lease_req.signed_request.ptr = blob;
    m.u.lease_req.signed_request.len = (uint32_t)len;
    return call_status(c, &m);
}

static bool no_keys(void)
{
    const struct policy_snapshot *s = authz_policy(vctx()->authz);
    bool none = s->policy.key_count == 0;

    policy_snapshot_release(s);
    return none;
}

static void test_signed_requests(void **state)
{
    struct signer k, stranger;
    struct connection c, third;
    uint8_t blob[EDGE_MAX_SIGNED_REQUEST], bad[EDGE_MAX_SIGNED_REQUEST];
    uint64_t now = authz_now();
    char hex[131];
    wchar_t whex[131];
    size_t n, i;
    uint8_t *p;

    (void)state;
    assert_int_equal(crypto_p256_generate(k.pub, k.priv), ERROR_SUCCESS);
    assert_int_equal(crypto_p256_generate(stranger.pub, stranger.priv), ERROR_SUCCESS);
    assert_int_equal(edge_sr_hex_encode(k.pub, 65, hex, sizeof(hex)), EDGE_SR_OK);
    for (i = 0; i <= 130; i++)
        whex[i] = (wchar_t)hex[i];
    set_sz(g_local, L"TrustedSignerKeys", whex);
    set_mode(L"SignedOrAllowListed");
    connect_as(&c, USER1, OTHER, false);
    connect_as(&third, USER1, THIRD, false);

    n = make_blob(&k, 7100, 7110, now - 60, now + 3600, blob, sizeof(blob));
    assert_int_equal(signed_status(&c, 7105, blob, n), EDGE_OK);
    assert_int_equal(signed_status(&c, 7120, blob, n), EDGE_E_BAD_SIGNATURE); /* ports */
    /* The same request presented by another executable. */
    assert_int_equal(signed_status(&third, 7105, blob, n), EDGE_E_IDENTITY_MISMATCH);
    /* Tampered body: one byte of the signed comment. */
    memcpy(bad, blob, n);
    p = find_bytes(bad, n, "test grant");
    assert_non_null(p);
    p[0] = 'T';
    assert_int_equal(signed_status(&c, 7105, bad, n), EDGE_E_BAD_SIGNATURE);
    /* Tampered signature. */
    memcpy(bad, blob, n);
    bad[n - 1] ^= 0x01;
    assert_int_equal(signed_status(&c, 7105, bad, n), EDGE_E_BAD_SIGNATURE);
    /* A key policy does not trust. */
    n = make_blob(&stranger, 7100, 7110, now - 60, now + 3600, bad, sizeof(bad));
    assert_int_equal(signed_status(&c, 7105, bad, n), EDGE_E_BAD_SIGNATURE);
    /* Outside the validity window (beyond the 300 s skew). */
    n = make_blob(&k, 7100, 7110, now - 7200, now - 1000, bad, sizeof(bad));
    assert_int_equal(signed_status(&c, 7105, bad, n), EDGE_E_EXPIRED);
    n = make_blob(&k, 7100, 7110, now + 1000, now + 7200, bad, sizeof(bad));
    assert_int_equal(signed_status(&c, 7105, bad, n), EDGE_E_EXPIRED);
    /* Allow-list-only mode ignores signatures. */
    n = make_blob(&k, 7100, 7110, now - 60, now + 3600, blob, sizeof(blob));
    set_mode(L"AllowListOnly");
    assert_int_equal(signed_status(&c, 7106, blob, n), EDGE_E_DENIED);
    set_mode(L"SignedOrAllowListed");
    assert_int_equal(signed_status(&c, 7106, blob, n), EDGE_OK);
    /* The key is withdrawn in the registry: the watcher reloads, the request stops working. */
    delete_value(g_local, L"TrustedSignerKeys");
    for (i = 0; i < 100 && !no_keys(); i++)
        Sleep(100);
    assert_true(no_keys());
    assert_int_equal(signed_status(&c, 7107, blob, n), EDGE_E_BAD_SIGNATURE);
    SecureZeroMemory(k.priv, sizeof(k.priv));
    conn_release(&c);
    conn_release(&third);
}

/* ---- consent ---- */

static void pending_request(struct connection *c, uint16_t lo, uint16_t hi,
                            uint8_t id[EDGE_ID_SIZE])
{
    edge_msg m = svct_lease_request(lo, hi);
    struct reply r;

    call(c, &m, &r);
    assert_int_equal(r.msg.env.status, EDGE_PENDING_CONSENT);
    assert_true(r.msg.u.lease_rep.has_pending_id);
    memcpy(id, r.msg.u.lease_rep.pending_id, EDGE_ID_SIZE);
    conn_reply_free(&r.raw);
}

static uint32_t pending_count(struct connection *admin, const uint8_t id[EDGE_ID_SIZE], bool *found)
{
    edge_msg m = svct_bare(EDGE_MSG_PENDING);
    edge_list_iter it;
    edge_pending p;
    struct reply r;
    uint32_t n;

    call(admin, &m, &r);
    assert_int_equal(r.msg.env.status, EDGE_OK);
    n = r.msg.u.list_rep.items.count;
    *found = false;
    edge_list_iter_init(&it, &r.msg.u.list_rep.items);
    while (edge_list_next_pending(&it, &p))
        if (id && memcmp(p.id, id, EDGE_ID_SIZE) == 0) {
            *found = true;
            assert_int_equal(p.port_lo, 7200);
            assert_int_equal(p.seconds, 600);
            assert_int_equal(p.owner_sid.len, strlen(USER1));
        }
    conn_reply_free(&r.raw);
    return n;
}

static void test_consent_approve(void **state)
{
    struct connection user, admin;
    struct reply r;
    edge_msg m;
    uint8_t id[EDGE_ID_SIZE], again[EDGE_ID_SIZE], lease[EDGE_ID_SIZE];
    wchar_t name[EDGE_FW_NAME_CHARS];
    bool found;

    (void)state;
    set_mode(L"Consent");
    connect_as(&user, USER1, OTHER, false);
    connect_as(&admin, ADMIN, APP, true);
    pending_request(&user, 7200, 7201, id);
    pending_request(&user, 7200, 7201, again); /* the poll finds the same entry */
    assert_memory_equal(id, again, EDGE_ID_SIZE);
    assert_int_equal(pending_count(&admin, id, &found), 1);
    assert_true(found);
    m = svct_bare(EDGE_MSG_STATUS);
    call(&user, &m, &r);
    assert_int_equal(r.msg.u.status_rep.pending_requests, 1);
    conn_reply_free(&r.raw);
    m = svct_bare(EDGE_MSG_PENDING);
    assert_int_equal(call_status(&user, &m), EDGE_E_ACCESS_DENIED);
    m = svct_id_message(EDGE_MSG_APPROVE, id);
    assert_int_equal(call_status(&user, &m), EDGE_E_ACCESS_DENIED);

    m = svct_id_message(EDGE_MSG_APPROVE, id);
    call(&admin, &m, &r);
    assert_int_equal(r.msg.env.status, EDGE_OK);
    assert_true(r.msg.u.lease_rep.has_lease);
    assert_int_equal(r.msg.u.lease_rep.lease.owner_sid.len, strlen(USER1));
    assert_memory_equal(r.msg.u.lease_rep.lease.owner_sid.ptr, USER1, strlen(USER1));
    assert_int_equal(r.msg.u.lease_rep.lease.port_hi, 7201);
    memcpy(lease, r.msg.u.lease_rep.lease.id, EDGE_ID_SIZE);
    conn_reply_free(&r.raw);
    edge_fw_rule_name(lease, name);
    assert_int_equal(fwdc_store_count_named(name), 1);
    m = svct_id_message(EDGE_MSG_APPROVE, id); /* decided already */
    assert_int_equal(call_status(&admin, &m), EDGE_E_NOT_FOUND);

    /* The requester's next poll collects that very lease. */
    m = svct_lease_request(7200, 7201);
    call(&user, &m, &r);
    assert_int_equal(r.msg.env.status, EDGE_OK);
    assert_memory_equal(r.msg.u.lease_rep.lease.id, lease, EDGE_ID_SIZE);
    conn_reply_free(&r.raw);
    assert_int_equal(pending_count(&admin, NULL, &found), 0);
    conn_release(&user);
    conn_release(&admin);
}

static void test_consent_deny_and_remembered(void **state)
{
    struct connection user, user2, admin;
    edge_msg m;
    uint8_t id[EDGE_ID_SIZE];

    (void)state;
    set_mode(L"Consent");
    connect_as(&user, USER1, OTHER, false);
    connect_as(&user2, USER2, OTHER, false);
    connect_as(&admin, ADMIN, APP, true);
    pending_request(&user, 7300, 7300, id);
    m = svct_id_message(EDGE_MSG_DENY, id);
    m.u.id_req.reason = edge_str_from_cstr("not on this machine");
    assert_int_equal(call_status(&admin, &m), EDGE_OK);
    m = svct_lease_request(7300, 7300);
    assert_int_equal(call_status(&user, &m), EDGE_E_CONSENT_DENIED);
    assert_int_equal(call_status(&user, &m), EDGE_E_CONSENT_DENIED);  /* remembered */
    assert_int_equal(call_status(&user2, &m), EDGE_E_CONSENT_DENIED); /* an admin's: all users */

    /* A remembered approval lets the next request through at once. */
    pending_request(&user, 7310, 7319, id);
    m = svct_id_message(EDGE_MSG_APPROVE, id);
    assert_int_equal(call_status(&admin, &m), EDGE_OK);
    m = svct_lease_request(7312, 7313);
    assert_int_equal(call_status(&user2, &m), EDGE_OK);
    conn_release(&user);
    conn_release(&user2);
    conn_release(&admin);
}

static void test_pending_survives_restart(void **state)
{
    struct connection user, admin;
    uint8_t id[EDGE_ID_SIZE], again[EDGE_ID_SIZE];
    bool found;

    (void)state;
    set_mode(L"Consent");
    connect_as(&user, USER1, OTHER, false);
    pending_request(&user, 7200, 7200, id);
    conn_release(&user);
    verbs_shutdown(g_ctx);
    g_ctx = NULL;
    start();
    connect_as(&user, USER1, OTHER, false);
    connect_as(&admin, ADMIN, APP, true);
    assert_int_equal(pending_count(&admin, id, &found), 1);
    assert_true(found);
    pending_request(&user, 7200, 7200, again);
    assert_memory_equal(id, again, EDGE_ID_SIZE);
    conn_release(&user);
    conn_release(&admin);
}

/* ---- explain, policy ---- */

static uint32_t explain(struct connection *c, edge_msg *m, bool print)
{
    edge_list_iter it;
    struct reply r;
    edge_str line, last = {NULL, 0};
    uint32_t decision, lines = 0;

    m->type = EDGE_MSG_EXPLAIN;
    call(c, m, &r);
    assert_int_equal(r.msg.env.status, EDGE_OK);
    decision = r.msg.u.explain_rep.decision;
    edge_list_iter_init(&it, &r.msg.u.explain_rep.trace);
    while (edge_list_next_str(&it, &line)) {
        if (print)
            print_message("  | %.*s\n", (int)line.len, line.ptr);
        last = line;
        lines++;
    }
    assert_true(lines >= 2);
    assert_int_equal(lines, r.msg.u.explain_rep.trace.count);
    assert_true(last.len > 9 && memcmp(last.ptr, "decision:", 9) == 0);
    conn_reply_free(&r.raw);
    return decision;
}

static void test_explain_creates_nothing(void **state)
{
    struct connection user, listed, admin;
    struct reply r;
    edge_msg m;
    bool found;

    (void)state;
    set_mode(L"Consent");
    connect_as(&user, USER1, OTHER, false);
    connect_as(&listed, USER1, APP, false);
    connect_as(&admin, ADMIN, APP, true);
    m = svct_lease_request(7400, 7400);
    assert_int_equal(explain(&user, &m, true), EDGE_PENDING_CONSENT);
    m = svct_lease_request(7400, 7400);
    assert_int_equal(explain(&listed, &m, false), EDGE_OK);
    m = svct_lease_request(7400, 7400);
    m.u.lease_req.target_app = edge_str_from_cstr("C:\\Other\\peer.exe");
    assert_int_equal(explain(&user, &m, false), EDGE_E_IDENTITY_MISMATCH);
    assert_false(audit_has("\"request_denied\""));
    assert_false(audit_has("\"request_pending_consent\""));
    assert_int_equal(pending_count(&admin, NULL, &found), 0);
    m = svct_bare(EDGE_MSG_LIST);
    m.u.list_req.has_flags = true;
    m.u.list_req.flags = EDGE_LIST_F_ALL;
    call(&admin, &m, &r);
    assert_int_equal(r.msg.env.status, EDGE_OK);
    assert_int_equal(r.msg.u.list_rep.items.count, 0);
    conn_reply_free(&r.raw);
    conn_release(&user);
    conn_release(&listed);
    conn_release(&admin);
}

static bool entry_is(const edge_policy_entry *e, const char *name)
{
    return e->name.len == strlen(name) && memcmp(e->name.ptr, name, e->name.len) == 0;
}

static bool str_is(edge_str s, const char *v)
{
    return s.len == strlen(v) && memcmp(s.ptr, v, s.len) == 0;
}

static void test_policy_shows_sources(void **state)
{
    struct connection user;
    edge_list_iter it;
    edge_policy_entry e;
    struct reply r;
    edge_msg m;
    int seen = 0;

    (void)state;
    set_sz(g_local, L"Mode", L"Consent");
    set_sz(g_policy, L"Mode", L"AllowListOnly"); /* Group Policy wins */
    set_dword(g_local, L"MaxLeaseSeconds", 900);
    set_sz(g_local, L"DefaultLeaseSeconds", L"many"); /* malformed: the default applies */
    reload();
    connect_as(&user, USER1, OTHER, false); /* not an administrator: may read the policy */
    m = svct_bare(EDGE_MSG_POLICY);
    call(&user, &m, &r);
    assert_int_equal(r.msg.env.status, EDGE_OK);
    assert_int_equal(r.msg.u.entries_rep.items.count, EDGE_POLICY_V_COUNT_);
    edge_list_iter_init(&it, &r.msg.u.entries_rep.items);
    while (edge_list_next_policy(&it, &e)) {
        if (entry_is(&e, "Mode")) {
            assert_true(str_is(e.value, "AllowListOnly") && str_is(e.source, "policy"));
            seen++;
        } else if (entry_is(&e, "MaxLeaseSeconds")) {
            assert_true(str_is(e.value, "900") && str_is(e.source, "local"));
            seen++;
        } else if (entry_is(&e, "DefaultLeaseSeconds")) {
            assert_true(str_is(e.source, "default"));
            assert_non_null(memchr(e.value.ptr, '[', e.value.len)); /* the malformed note */
            seen++;
        } else if (entry_is(&e, "EdgeTraversal")) {
            assert_true(str_is(e.value, "DeferToApp") && str_is(e.source, "default"));
            seen++;
        }
    }
    assert_int_equal(seen, 4);
    conn_reply_free(&r.raw);
    conn_release(&user);
}

/* ---- quotas, the administrator gate ---- */

static void test_quota_follows_policy(void **state)
{
    struct connection user;
    struct reply r;
    edge_msg m;

    (void)state;
    set_dword(g_local, L"MaxLeasesPerUser", 1);
    set_mode(L"AllowListOnly");
    connect_as(&user, USER1, APP, false);
    m = svct_lease_request(7500, 7500);
    assert_int_equal(call_status(&user, &m), EDGE_OK);
    m = svct_lease_request(7501, 7501);
    call(&user, &m, &r);
    assert_int_equal(r.msg.env.status, EDGE_E_QUOTA);
    assert_true(r.msg.env.has_retry_after);
    assert_true(r.msg.env.retry_after >= 590 && r.msg.env.retry_after <= 600);
    conn_reply_free(&r.raw);
    set_dword(g_local, L"MaxLeasesPerUser", 2);
    reload();
    assert_int_equal(call_status(&user, &m), EDGE_OK);
    conn_release(&user);
}

/* ---- renewal re-checks policy; a reload ends what it refuses ---- */

/* Grants lo-hi to c and returns the lease id. */
static void granted(struct connection *c, uint16_t lo, uint16_t hi, uint8_t id[EDGE_ID_SIZE])
{
    edge_msg m = svct_lease_request(lo, hi);
    struct reply r;

    call(c, &m, &r);
    assert_int_equal(r.msg.env.status, EDGE_OK);
    memcpy(id, r.msg.u.lease_rep.lease.id, EDGE_ID_SIZE);
    conn_reply_free(&r.raw);
}

static uint32_t renew_status(struct connection *c, const uint8_t id[EDGE_ID_SIZE])
{
    edge_msg m = svct_bare(EDGE_MSG_RENEW);

    memcpy(m.u.renew_req.lease_id, id, EDGE_ID_SIZE);
    m.u.renew_req.has_seconds = true;
    m.u.renew_req.seconds = 900;
    return call_status(c, &m);
}

static void test_renewal_follows_policy(void **state)
{
    static const wchar_t ports[] = L"7200\0";
    struct connection user, admin;
    uint8_t a[EDGE_ID_SIZE], u[EDGE_ID_SIZE];
    struct leases_stats s;
    DWORD t0;
    uint32_t st;

    (void)state;
    connect_as(&user, USER1, APP, false); /* allow-listed */
    connect_as(&admin, ADMIN, OTHER, true);
    set_mode(L"Consent");
    granted(&admin, 7100, 7100, a);
    granted(&user, 7200, 7200, u);
    assert_int_equal(renew_status(&admin, a), EDGE_OK); /* unchanged policy */
    assert_int_equal(renew_status(&user, u), EDGE_OK);

    /* AllowedPorts narrowed: the administrator's lease is outside it and ends at the reload. */
    set_value(g_local, L"AllowedPorts", REG_MULTI_SZ, ports, sizeof(ports));
    reload();
    assert_int_equal(renew_status(&admin, a), EDGE_E_NOT_FOUND);
    assert_true(audit_has("revoked by policy: TCP 7100-7100 is outside AllowedPorts"));
    assert_int_equal(renew_status(&user, u), EDGE_OK);

    /* Mode Off through the live watcher (no explicit reload): renewals stop, the lease ends. */
    set_sz(g_local, L"Mode", L"Off");
    t0 = GetTickCount();
    while ((st = renew_status(&user, u)) == EDGE_OK && GetTickCount() - t0 < 10000)
        Sleep(100);
    assert_true(st == EDGE_E_DENIED || st == EDGE_E_NOT_FOUND);
    t0 = GetTickCount();
    do {
        leases_get_stats(vctx()->leases, &s);
        if (s.leases == 0)
            break;
        Sleep(100);
    } while (GetTickCount() - t0 < 10000);
    assert_int_equal(s.leases, 0);
    assert_int_equal(renew_status(&user, u), EDGE_E_NOT_FOUND);
    assert_true(audit_has("revoked by policy: Mode is Off"));
    conn_release(&user);
    conn_release(&admin);
}

static void test_admin_gate_real_token(void **state)
{
    struct caller_identity id;
    struct verb_row row = {conn_verb_ping, VERB_ADMIN, VERB_IN_HELLO_DONE};
    HANDLE process = NULL, imp = NULL;

    (void)state;
    memset(&id, 0, sizeof(id));
    assert_true(OpenProcessToken(GetCurrentProcess(), TOKEN_DUPLICATE | TOKEN_QUERY, &process));
    assert_true(DuplicateToken(process, SecurityIdentification, &imp));
    assert_int_equal(caller_read_token(imp, &id), ERROR_SUCCESS);
    /* The stored flag and the gate are one predicate on the real token's facts. */
    assert_int_equal(id.is_admin, caller_may_administer(&id));
    assert_int_equal(id.is_admin, id.elevated && id.admin_member);
    assert_int_equal(conn_verb_check(&row, &id, CONN_HELLO_DONE) == EDGE_OK, id.is_admin);
    print_message("real token: elevated %d, administrators member %d -> admin %d\n", id.elevated,
                  id.admin_member, id.is_admin);
    id.elevated = false; /* a UAC-filtered token of the same user */
    assert_int_equal(conn_verb_check(&row, &id, CONN_HELLO_DONE), EDGE_E_ACCESS_DENIED);
    CloseHandle(imp);
    CloseHandle(process);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signed_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_consent_approve, setup, teardown),
        cmocka_unit_test_setup_teardown(test_consent_deny_and_remembered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_survives_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_explain_creates_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policy_shows_sources, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quota_follows_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_renewal_follows_policy, setup, teardown),
        cmocka_unit_test(test_admin_gate_real_token),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
