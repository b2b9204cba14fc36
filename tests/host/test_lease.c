/* Lease table: every operation, every rejected input, quotas, conflicts, expiry and scale. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "edge/lease.h"

#define SID_A "S-1-5-21-1004336348-1177238915-682003330-1001"
#define SID_B "S-1-5-21-1004336348-1177238915-682003330-1002"
#define APP_X "C:\\Program Files\\X\\x.exe"
#define APP_Y "C:\\Program Files\\Y\\y.exe"

static void make_id(uint8_t id[EDGE_LEASE_ID_LEN], uint32_t n)
{
    memset(id, 0xA5, EDGE_LEASE_ID_LEN);
    id[0] = (uint8_t)n;
    id[1] = (uint8_t)(n >> 8);
    id[2] = (uint8_t)(n >> 16);
    id[3] = (uint8_t)(n >> 24);
}

static edge_lease_info mk(uint32_t n, const char *sid, const char *path, uint8_t hash_byte,
                          uint8_t proto, uint16_t lo, uint16_t hi)
{
    edge_lease_info l;
    memset(&l, 0, sizeof(l));
    make_id(l.id, n);
    l.owner_sid = sid;
    l.image_path = path;
    memset(l.image_sha256, hash_byte, sizeof(l.image_sha256));
    l.protocol = proto;
    l.port_lo = lo;
    l.port_hi = hi;
    l.edge_option = EDGE_LEASE_EDGE_DEFER_TO_APP;
    l.created = 1000;
    l.expires = 2000 + n;
    l.state = EDGE_LEASE_RULE_PENDING;
    return l;
}

static edge_lease_table *new_table(uint32_t max, uint32_t per_owner, uint32_t per_image)
{
    edge_lease_table_params p = {max, per_owner, per_image};
    edge_lease_table *t = (edge_lease_table *)(uintptr_t)1;
    assert_int_equal(edge_lease_table_create(&p, &t), EDGE_OK);
    assert_non_null(t);
    return t;
}

static void test_create_destroy(void **state)
{
    edge_lease_table *t = (edge_lease_table *)(uintptr_t)1;
    edge_lease_table_params p;
    (void)state;
    assert_int_equal(edge_lease_table_create(NULL, NULL), EDGE_E_BAD_REQUEST);
    assert_int_equal(edge_lease_table_create(NULL, &t), EDGE_OK);
    p = edge_lease_table_get_params(t);
    assert_int_equal(p.max_leases + p.max_per_owner + p.max_per_image, 0);
    assert_int_equal(edge_lease_table_count(t), 0);
    assert_true(edge_lease_table_memory(t) > 0);
    edge_lease_table_destroy(t);
    edge_lease_table_destroy(NULL);
    t = new_table(7, 3, 2);
    p = edge_lease_table_get_params(t);
    assert_int_equal(p.max_leases, 7);
    assert_int_equal(p.max_per_owner, 3);
    assert_int_equal(p.max_per_image, 2);
    edge_lease_table_destroy(t);
}

static void test_add_get_roundtrip(void **state)
{
    edge_lease_table *t = new_table(0, 0, 0);
    char sid[] = SID_A;
    char path[] = APP_X;
    edge_lease_info l = mk(1, sid, path, 0x11, EDGE_LEASE_PROTO_UDP, 5000, 5010), g;
    uint8_t other[EDGE_LEASE_ID_LEN];
    (void)state;
    l.flags = EDGE_LEASE_FLAG_KEEP_AFTER_EXIT;
    l.edge_option = EDGE_LEASE_EDGE_ALLOW;
    l.owner_pid = 4242;
    l.state = EDGE_LEASE_ACTIVE;
    assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_OK);
    /* The table keeps copies, not the caller's buffers. */
    memset(sid, 'x', sizeof(sid) - 1);
    memset(path, 'x', sizeof(path) - 1);
    assert_true(edge_lease_table_get(t, l.id, &g));
    assert_memory_equal(g.id, l.id, EDGE_LEASE_ID_LEN);
    assert_string_equal(g.owner_sid, SID_A);
    assert_string_equal(g.image_path, APP_X);
    assert_memory_equal(g.image_sha256, l.image_sha256, EDGE_LEASE_SHA256_LEN);
    assert_int_equal(g.protocol, EDGE_LEASE_PROTO_UDP);
    assert_int_equal(g.port_lo, 5000);
    assert_int_equal(g.port_hi, 5010);
    assert_int_equal(g.edge_option, EDGE_LEASE_EDGE_ALLOW);
    assert_int_equal(g.created, 1000);
    assert_int_equal(g.expires, 2001);
    assert_int_equal(g.flags, EDGE_LEASE_FLAG_KEEP_AFTER_EXIT);
    assert_int_equal(g.state, EDGE_LEASE_ACTIVE);
    assert_int_equal(g.owner_pid, 4242);
    assert_int_equal(edge_lease_table_count(t), 1);
    make_id(other, 2);
    assert_false(edge_lease_table_get(t, other, &g));
    assert_null(g.owner_sid);
    assert_false(edge_lease_table_get(t, NULL, &g));
    assert_false(edge_lease_table_get(NULL, l.id, &g));
    assert_false(edge_lease_table_get(t, l.id, NULL));
    assert_int_equal(edge_lease_table_set_owner_pid(t, l.id, 7), EDGE_OK);
    assert_true(edge_lease_table_get(t, l.id, &g));
    assert_int_equal(g.owner_pid, 7);
    assert_int_equal(edge_lease_table_set_owner_pid(t, other, 7), EDGE_E_NOT_FOUND);
    edge_lease_table_destroy(t);
}

static void test_add_rejects_invalid_fields(void **state)
{
    edge_lease_table *t = new_table(0, 0, 0);
    edge_lease_info base = mk(1, SID_A, APP_X, 1, EDGE_LEASE_PROTO_TCP, 80, 81), l;
    char long_sid[EDGE_LEASE_SID_MAX_LEN + 2];
    static const char *const bad_sids[] = {"",
                                           "S",
                                           "S-1",
                                           "s-1-5-18",
                                           "S-1-5-",
                                           "S--1-5",
                                           "X-1-5",
                                           "S-1-5-a",
                                           "S-1-5 ",
                                           "S-1-5-18-",
                                           "S-1-123456789012345678901"};
    static const char *const bad_paths[] = {"",
                                            "x.exe",
                                            "c:/x.exe",
                                            "C:\\\\x.exe",
                                            "\\\\?\\C:\\x.exe",
                                            "C:\\a\\..\\x",
                                            "C:\\x.exe:s",
                                            "C:\\nul",
                                            "C:\\x\\"};
    size_t i;
    (void)state;

#define REJECT(mutation)                                                                           \
    do {                                                                                           \
        l = base;                                                                                  \
        mutation;                                                                                  \
        assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_E_BAD_REQUEST);                   \
    } while (0)
    REJECT(l.protocol = 0);
    REJECT(l.protocol = 1);
    REJECT(l.protocol = 58);
    REJECT(l.port_lo = 0);
    REJECT((l.port_lo = 90, l.port_hi = 89));
    REJECT(l.edge_option = 0);
    REJECT(l.edge_option = 3);
    REJECT(l.flags = 2);
    REJECT(l.flags = 0x80000001u);
    REJECT((l.created = 5, l.expires = 4));
    REJECT(l.state = (edge_lease_state)0);
    REJECT(l.state = (edge_lease_state)4);
    REJECT(l.owner_sid = NULL);
    REJECT(l.image_path = NULL);
    for (i = 0; i < sizeof(bad_sids) / sizeof(bad_sids[0]); i++)
        REJECT(l.owner_sid = bad_sids[i]);
    for (i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++)
        REJECT(l.image_path = bad_paths[i]);
    memset(long_sid, '1', sizeof(long_sid) - 1);
    long_sid[sizeof(long_sid) - 1] = '\0';
    long_sid[0] = 'S';
    for (i = 1; i + 1 < sizeof(long_sid) - 1; i += 10)
        long_sid[i] = '-';
    REJECT(l.owner_sid = long_sid);
#undef REJECT
    assert_int_equal(edge_lease_table_add(NULL, &base, NULL), EDGE_E_BAD_REQUEST);
    assert_int_equal(edge_lease_table_add(t, NULL, NULL), EDGE_E_BAD_REQUEST);
    assert_int_equal(edge_lease_table_count(t), 0);

    /* The same lease with valid fields is accepted: the rejections above were the mutations. */
    long_sid[EDGE_LEASE_SID_MAX_LEN] = '\0';
    if (long_sid[EDGE_LEASE_SID_MAX_LEN - 1] == '-')
        long_sid[EDGE_LEASE_SID_MAX_LEN - 1] = '1';
    l = base;
    l.owner_sid = long_sid;
    l.port_lo = 1;
    l.port_hi = 65535;
    l.created = l.expires = 9;
    assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_OK);
    /* Same id again. */
    l.protocol = EDGE_LEASE_PROTO_UDP;
    assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_E_BAD_REQUEST);
    assert_int_equal(edge_lease_table_count(t), 1);
    edge_lease_table_destroy(t);
}

static void test_conflicts(void **state)
{
    edge_lease_table *t = new_table(0, 0, 0);
    edge_lease_info x1 = mk(1, SID_A, APP_X, 1, EDGE_LEASE_PROTO_TCP, 250, 260);
    edge_lease_info l;
    (void)state;
    assert_int_equal(edge_lease_table_add(t, &x1, NULL), EDGE_OK);
    /* Another image, overlapping: refused, whichever end overlaps, across a 256-port page. */
    l = mk(2, SID_B, APP_Y, 2, EDGE_LEASE_PROTO_TCP, 260, 300);
    assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_E_CONFLICT);
    l = mk(2, SID_B, APP_Y, 2, EDGE_LEASE_PROTO_TCP, 1, 250);
    assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_E_CONFLICT);
    l = mk(2, SID_B, APP_Y, 2, EDGE_LEASE_PROTO_TCP, 255, 255);
    assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_E_CONFLICT);
    l = mk(2, SID_B, APP_Y, 2, EDGE_LEASE_PROTO_TCP, 1, 65535);
    assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_E_CONFLICT);
    /* Same path, different hash: another image. */
    l = mk(2, SID_A, APP_X, 9, EDGE_LEASE_PROTO_TCP, 255, 255);
    assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_E_CONFLICT);
    /* Same hash, different path: another image. */
    l = mk(2, SID_A, APP_Y, 1, EDGE_LEASE_PROTO_TCP, 255, 255);
    assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_E_CONFLICT);
    /* Adjacent ranges and the other protocol are free. */
    l = mk(2, SID_B, APP_Y, 2, EDGE_LEASE_PROTO_TCP, 261, 270);
    assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_OK);
    l = mk(3, SID_B, APP_Y, 2, EDGE_LEASE_PROTO_TCP, 1, 249);
    assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_OK);
    l = mk(4, SID_B, APP_Y, 2, EDGE_LEASE_PROTO_UDP, 250, 260);
    assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_OK);
    /* The same image may overlap itself, even with different path case and another owner. */
    l = mk(5, SID_B, "c:\\PROGRAM FILES\\x\\X.EXE", 1, EDGE_LEASE_PROTO_TCP, 255, 258);
    assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_OK);
    assert_int_equal(edge_lease_table_count_image(t, APP_X, x1.image_sha256), 2);
    /* Removing one of two overlapping leases keeps the ports held by that image. */
    assert_int_equal(edge_lease_table_remove(t, x1.id), EDGE_OK);
    l = mk(6, SID_B, APP_Y, 2, EDGE_LEASE_PROTO_TCP, 256, 256);
    assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_E_CONFLICT);
    l = mk(6, SID_B, APP_Y, 2, EDGE_LEASE_PROTO_TCP, 250, 254);
    assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_OK);
    make_id(l.id, 5);
    assert_int_equal(edge_lease_table_remove(t, l.id), EDGE_OK);
    l = mk(7, SID_B, APP_Y, 2, EDGE_LEASE_PROTO_TCP, 255, 260);
    assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_OK);
    edge_lease_table_destroy(t);
}

static void test_quotas(void **state)
{
    edge_lease_table *t = new_table(5, 2, 3);
    edge_lease_info l;
    edge_lease_quota loose = {0, 0}, strict = {1, 1};
    (void)state;
    l = mk(1, SID_A, APP_X, 1, EDGE_LEASE_PROTO_TCP, 1, 1);
    assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_OK);
    /* Per-call quota replaces the table's: strict refuses the second lease for owner A. */
    l = mk(2, SID_A, APP_Y, 2, EDGE_LEASE_PROTO_TCP, 2, 2);
    assert_int_equal(edge_lease_table_add(t, &l, &strict), EDGE_E_QUOTA);
    assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_OK);
    /* Table per-owner quota of 2 reached for A. */
    l = mk(3, SID_A, APP_Y, 2, EDGE_LEASE_PROTO_TCP, 3, 3);
    assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_E_QUOTA);
    assert_int_equal(edge_lease_table_add(t, &l, &loose), EDGE_OK);
    assert_int_equal(edge_lease_table_count_owner(t, SID_A), 3);
    /* Per-image quota of 3: image X has 1, add 2 more from B, the 4th is refused. */
    l = mk(4, SID_B, APP_X, 1, EDGE_LEASE_PROTO_TCP, 4, 4);
    assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_OK);
    l = mk(5, SID_B, APP_X, 1, EDGE_LEASE_PROTO_TCP, 5, 5);
    assert_int_equal(edge_lease_table_add(t, &l, &strict), EDGE_E_QUOTA);
    assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_OK);
    assert_int_equal(edge_lease_table_count_image(t, APP_X, l.image_sha256), 3);
    /* Capacity 5 reached: even unlimited per-call quotas cannot pass it. */
    l = mk(6, "S-1-5-18", APP_Y, 3, EDGE_LEASE_PROTO_UDP, 6, 6);
    assert_int_equal(edge_lease_table_add(t, &l, &loose), EDGE_E_QUOTA);
    assert_int_equal(edge_lease_table_count(t), 5);
    make_id(l.id, 1);
    assert_int_equal(edge_lease_table_remove(t, l.id), EDGE_OK);
    make_id(l.id, 6);
    assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_OK);
    edge_lease_table_destroy(t);
}

static void test_remove_and_counts(void **state)
{
    edge_lease_table *t = new_table(0, 0, 0);
    size_t empty_bytes = edge_lease_table_memory(t), before;
    edge_lease_info l;
    uint8_t sha_x[EDGE_LEASE_SHA256_LEN];
    (void)state;
    memset(sha_x, 1, sizeof(sha_x));
    l = mk(1, SID_A, APP_X, 1, EDGE_LEASE_PROTO_TCP, 10, 20);
    assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_OK);
    before = edge_lease_table_memory(t);
    l = mk(2, SID_A, APP_X, 1, EDGE_LEASE_PROTO_UDP, 10, 20);
    assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_OK);
    l = mk(3, SID_B, APP_Y, 2, EDGE_LEASE_PROTO_TCP, 30000, 30000);
    assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_OK);
    assert_int_equal(edge_lease_table_count(t), 3);
    assert_int_equal(edge_lease_table_count_owner(t, SID_A), 2);
    assert_int_equal(edge_lease_table_count_owner(t, SID_B), 1);
    assert_int_equal(edge_lease_table_count_owner(t, "S-1-5-18"), 0);
    assert_int_equal(edge_lease_table_count_owner(t, NULL), 0);
    assert_int_equal(edge_lease_table_count_image(t, APP_X, sha_x), 2);
    assert_int_equal(edge_lease_table_count_image(t, "C:\\program files\\x\\X.exe", sha_x), 2);
    assert_int_equal(edge_lease_table_count_image(t, APP_Y, sha_x), 0);
    assert_int_equal(edge_lease_table_count_image(t, NULL, sha_x), 0);
    make_id(l.id, 2);
    assert_int_equal(edge_lease_table_remove(t, l.id), EDGE_OK);
    assert_int_equal(edge_lease_table_remove(t, l.id), EDGE_E_NOT_FOUND);
    assert_int_equal(edge_lease_table_remove(NULL, l.id), EDGE_E_NOT_FOUND);
    make_id(l.id, 3);
    assert_int_equal(edge_lease_table_remove(t, l.id), EDGE_OK);
    /* Owner B, image Y and their port pages are gone; we are back to one lease's footprint. */
    assert_int_equal(edge_lease_table_count_owner(t, SID_B), 0);
    assert_int_equal(edge_lease_table_memory(t), before);
    make_id(l.id, 1);
    assert_int_equal(edge_lease_table_remove(t, l.id), EDGE_OK);
    assert_int_equal(edge_lease_table_count(t), 0);
    assert_int_equal(edge_lease_table_count_owner(t, SID_A), 0);
    assert_int_equal(edge_lease_table_count_image(t, APP_X, sha_x), 0);
    /* Only the grown hash and heap arrays remain. */
    assert_true(edge_lease_table_memory(t) > empty_bytes);
    assert_true(edge_lease_table_memory(t) < empty_bytes + 2048);
    edge_lease_table_destroy(t);
}

static void test_renew(void **state)
{
    edge_lease_table *t = new_table(0, 0, 0);
    edge_lease_info l = mk(1, SID_A, APP_X, 1, EDGE_LEASE_PROTO_TCP, 80, 80), g;
    uint8_t missing[EDGE_LEASE_ID_LEN];
    uint64_t e = 1;
    (void)state;
    l.expires = 2000;
    assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_OK);
    make_id(missing, 99);
    assert_int_equal(edge_lease_table_renew(t, missing, 1500, 10, 10, &e), EDGE_E_NOT_FOUND);
    assert_int_equal(e, 0);
    assert_int_equal(edge_lease_table_renew(t, l.id, 1500, 0, 10, &e), EDGE_E_BAD_REQUEST);
    assert_int_equal(edge_lease_table_renew(t, l.id, 1500, 10, 0, &e), EDGE_E_BAD_REQUEST);
    /* Capped by the maximum. */
    assert_int_equal(edge_lease_table_renew(t, l.id, 1500, 100000, 3600, &e), EDGE_OK);
    assert_int_equal(e, 5100);
    /* A shorter request never moves the expiry earlier. */
    assert_int_equal(edge_lease_table_renew(t, l.id, 1600, 60, 3600, &e), EDGE_OK);
    assert_int_equal(e, 5100);
    assert_int_equal(edge_lease_table_renew(t, l.id, 5000, 600, 3600, NULL), EDGE_OK);
    assert_true(edge_lease_table_get(t, l.id, &g));
    assert_int_equal(g.expires, 5600);
    /* Expired at now (expires <= now) cannot be renewed. */
    assert_int_equal(edge_lease_table_renew(t, l.id, 5600, 600, 3600, &e), EDGE_E_EXPIRED);
    assert_int_equal(edge_lease_table_renew(t, l.id, 5599, UINT64_MAX, UINT64_MAX, &e), EDGE_OK);
    assert_int_equal(e, UINT64_MAX); /* saturates instead of wrapping */
    /* ENDING leases are not renewable. */
    assert_int_equal(edge_lease_table_set_state(t, l.id, EDGE_LEASE_ENDING), EDGE_OK);
    assert_int_equal(edge_lease_table_renew(t, l.id, 10, 600, 3600, &e), EDGE_E_EXPIRED);
    edge_lease_table_destroy(t);
}

static void test_state_transitions(void **state)
{
    static const edge_lease_state s[3] = {EDGE_LEASE_ACTIVE, EDGE_LEASE_RULE_PENDING,
                                          EDGE_LEASE_ENDING};
    /* expect[from][to]: 1 allowed, 0 refused. */
    static const int expect[3][3] = {{1, 1, 1}, {1, 1, 1}, {0, 0, 1}};
    edge_lease_table *t = new_table(0, 0, 0);
    edge_lease_info l, g;
    uint32_t n = 0;
    int from, to;
    (void)state;
    for (from = 0; from < 3; from++) {
        for (to = 0; to < 3; to++) {
            l = mk(++n, SID_A, APP_X, 1, EDGE_LEASE_PROTO_TCP, 80, 80);
            l.state = s[from];
            assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_OK);
            assert_int_equal(edge_lease_table_set_state(t, l.id, s[to]),
                             expect[from][to] ? EDGE_OK : EDGE_E_PROTOCOL_STATE);
            assert_true(edge_lease_table_get(t, l.id, &g));
            assert_int_equal(g.state, expect[from][to] ? s[to] : s[from]);
        }
    }
    assert_int_equal(edge_lease_table_set_state(t, l.id, (edge_lease_state)0), EDGE_E_BAD_REQUEST);
    assert_int_equal(edge_lease_table_set_state(t, l.id, (edge_lease_state)4), EDGE_E_BAD_REQUEST);
    make_id(l.id, 999);
    assert_int_equal(edge_lease_table_set_state(t, l.id, EDGE_LEASE_ACTIVE), EDGE_E_NOT_FOUND);
    edge_lease_table_destroy(t);
}

struct visit {
    uint32_t seen;
    uint32_t stop_after;
    const char *sid;
    bool wrong_owner;
};

static bool visit_cb(const edge_lease_info *l, void *ctx)
{
    struct visit *v = ctx;
    v->seen++;
    if (v->sid && strcmp(l->owner_sid, v->sid) != 0)
        v->wrong_owner = true;
    return v->stop_after == 0 || v->seen < v->stop_after;
}

static void test_iteration(void **state)
{
    edge_lease_table *t = new_table(0, 0, 0);
    struct visit v;
    uint32_t i;
    (void)state;
    for (i = 1; i <= 50; i++) {
        edge_lease_info l = mk(i, i % 5 ? SID_A : SID_B, APP_X, 1, EDGE_LEASE_PROTO_TCP, 80, 80);
        assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_OK);
    }
    memset(&v, 0, sizeof(v));
    edge_lease_table_foreach(t, visit_cb, &v);
    assert_int_equal(v.seen, 50);
    memset(&v, 0, sizeof(v));
    v.stop_after = 7;
    edge_lease_table_foreach(t, visit_cb, &v);
    assert_int_equal(v.seen, 7);
    memset(&v, 0, sizeof(v));
    v.sid = SID_B;
    edge_lease_table_foreach_owner(t, SID_B, visit_cb, &v);
    assert_int_equal(v.seen, 10);
    assert_false(v.wrong_owner);
    memset(&v, 0, sizeof(v));
    v.stop_after = 3;
    edge_lease_table_foreach_owner(t, SID_A, visit_cb, &v);
    assert_int_equal(v.seen, 3);
    memset(&v, 0, sizeof(v));
    edge_lease_table_foreach_owner(t, "S-1-5-18", visit_cb, &v);
    edge_lease_table_foreach_owner(t, NULL, visit_cb, &v);
    edge_lease_table_foreach(t, NULL, &v);
    edge_lease_table_foreach(NULL, visit_cb, &v);
    assert_int_equal(v.seen, 0);
    edge_lease_table_destroy(t);
}

static void test_collect_expired(void **state)
{
    edge_lease_table *t = new_table(0, 0, 0);
    uint8_t ids[8][EDGE_LEASE_ID_LEN];
    size_t count = 99;
    uint64_t next = 0;
    uint32_t i;
    (void)state;
    assert_int_equal(edge_lease_table_collect_expired(t, 0, ids, 8, &count, &next), EDGE_OK);
    assert_int_equal(count, 0);
    assert_int_equal(next, UINT64_MAX);
    for (i = 1; i <= 6; i++) {
        edge_lease_info l = mk(i, SID_A, APP_X, 1, EDGE_LEASE_PROTO_TCP, 80, 80);
        l.created = 0;
        l.expires = 100 * i; /* 100..600 */
        assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_OK);
    }
    assert_int_equal(edge_lease_table_collect_expired(t, 99, ids, 8, &count, &next), EDGE_OK);
    assert_int_equal(count, 0);
    assert_int_equal(next, 100);
    /* expires == now counts as expired. */
    assert_int_equal(edge_lease_table_collect_expired(t, 300, ids, 8, &count, &next), EDGE_OK);
    assert_int_equal(count, 3);
    assert_int_equal(next, 400);
    /* Not more than cap: next = now says "call again". */
    assert_int_equal(edge_lease_table_collect_expired(t, 300, ids, 2, &count, &next), EDGE_OK);
    assert_int_equal(count, 2);
    assert_int_equal(next, 300);
    /* Exactly cap and nothing more: a real next expiry. */
    assert_int_equal(edge_lease_table_collect_expired(t, 300, ids, 3, &count, &next), EDGE_OK);
    assert_int_equal(count, 3);
    assert_int_equal(next, 400);
    /* ENDING leases are not reported; renewal moves a lease out of the window. */
    assert_int_equal(edge_lease_table_set_state(t, ids[0], EDGE_LEASE_ENDING), EDGE_OK);
    {
        uint8_t id2[EDGE_LEASE_ID_LEN], id4[EDGE_LEASE_ID_LEN];
        make_id(id2, 2);
        make_id(id4, 4);
        assert_int_equal(edge_lease_table_renew(t, id2, 150, 1000, 1000, NULL), EDGE_OK);
        assert_int_equal(edge_lease_table_remove(t, id4), EDGE_OK);
    }
    assert_int_equal(edge_lease_table_collect_expired(t, 500, ids, 8, &count, &next), EDGE_OK);
    assert_int_equal(count, 2); /* 3 and 5; 1 is ENDING, 2 renewed to 1150, 4 removed */
    assert_int_equal(next, 600);
    assert_int_equal(edge_lease_table_collect_expired(t, 500, NULL, 0, &count, &next), EDGE_OK);
    assert_int_equal(count, 0);
    assert_int_equal(next, 500);
    assert_int_equal(edge_lease_table_collect_expired(t, 500, NULL, 1, &count, &next),
                     EDGE_E_BAD_REQUEST);
    assert_int_equal(edge_lease_table_collect_expired(t, 500, ids, 8, NULL, &next),
                     EDGE_E_BAD_REQUEST);
    assert_int_equal(edge_lease_table_collect_expired(t, 500, ids, 8, &count, NULL),
                     EDGE_E_BAD_REQUEST);
    assert_int_equal(edge_lease_table_collect_expired(NULL, 500, ids, 8, &count, &next),
                     EDGE_E_BAD_REQUEST);
    edge_lease_table_destroy(t);
}

/* Random operations checked against a brute-force model of expiries. */
static void test_expiry_model(void **state)
{
    enum { N = 300 };
    edge_lease_table *t = new_table(0, 0, 0);
    uint64_t model[N + 1]; /* 0 = absent or ENDING */
    uint8_t ids[N][EDGE_LEASE_ID_LEN];
    uint32_t seed = 12345, step;
    (void)state;
    memset(model, 0, sizeof(model));
    for (step = 0; step < 20000; step++) {
        uint32_t k, op;
        uint64_t now, want_next = UINT64_MAX, next;
        size_t want_count = 0, count, j;
        uint8_t id[EDGE_LEASE_ID_LEN];
        seed = seed * 1103515245u + 12345u;
        k = 1 + (seed >> 8) % N;
        op = (seed >> 20) % 4;
        now = (seed >> 4) % 5000;
        make_id(id, k);
        if (op == 0 && model[k] == 0) {
            edge_lease_info l = mk(k, SID_A, APP_X, 1, EDGE_LEASE_PROTO_TCP, 80, 80);
            edge_lease_info g;
            l.expires = 1000 + (seed % 4000);
            if (!edge_lease_table_get(t, id, &g)) {
                assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_OK);
                model[k] = l.expires;
            }
        } else if (op == 1) {
            edge_status st = edge_lease_table_remove(t, id);
            assert_true(st == EDGE_OK || st == EDGE_E_NOT_FOUND);
            model[k] = 0;
        } else if (op == 2 && model[k] > now) {
            uint64_t e;
            assert_int_equal(edge_lease_table_renew(t, id, now, seed % 3000 + 1, 2000, &e),
                             EDGE_OK);
            model[k] = e;
        } else if (op == 3 && model[k]) {
            assert_int_equal(edge_lease_table_set_state(t, id, EDGE_LEASE_ENDING), EDGE_OK);
            model[k] = 0;
        }
        for (j = 1; j <= N; j++) {
            if (model[j] && model[j] <= now)
                want_count++;
            else if (model[j] && model[j] < want_next)
                want_next = model[j];
        }
        assert_int_equal(edge_lease_table_collect_expired(t, now, ids, N, &count, &next), EDGE_OK);
        assert_int_equal(count, want_count);
        assert_int_equal(next, want_next);
        for (j = 0; j < count; j++) {
            uint32_t n = (uint32_t)ids[j][0] | ((uint32_t)ids[j][1] << 8);
            assert_true(n >= 1 && n <= N && model[n] && model[n] <= now);
        }
    }
    edge_lease_table_destroy(t);
}

static double seconds_since(clock_t start)
{
    return (double)(clock() - start) / CLOCKS_PER_SEC;
}

/*
 * 10,000 leases (the service's design load): add, look up, expire one at a time, and measure
 * memory.  Quadratic behaviour would take minutes here (10^8 steps of hashing or scanning).
 */
static void test_scale_10000(void **state)
{
    enum { N = 10000 };
    static char sids[100][64];
    static char paths[200][64];
    edge_lease_table *t = new_table(N, 0, 0);
    size_t base = edge_lease_table_memory(t), used;
    clock_t start = clock();
    uint32_t i, expired = 0;
    uint64_t now = 0, next = 0;
    (void)state;
    for (i = 0; i < 100; i++)
        snprintf(sids[i], sizeof(sids[i]), "S-1-5-21-1004336348-1177238915-682003330-%u", 1000 + i);
    for (i = 0; i < 200; i++)
        snprintf(paths[i], sizeof(paths[i]), "C:\\Program Files\\Vendor %u\\app%u.exe", i, i);
    for (i = 0; i < N; i++) {
        /* Image i%200 owns ports 1000 + 50*(i%200) .. +49; its leases overlap each other. */
        uint16_t lo = (uint16_t)(1000 + 50 * (i % 200) + i % 40);
        edge_lease_info l =
            mk(i + 1, sids[i % 100], paths[i % 200], (uint8_t)(i % 200),
               i % 2 ? EDGE_LEASE_PROTO_UDP : EDGE_LEASE_PROTO_TCP, lo, (uint16_t)(lo + 5));
        l.expires = 10000 + (uint64_t)((i * 7919u) % N); /* distinct, shuffled */
        assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_OK);
    }
    used = edge_lease_table_memory(t) - base;
    print_message(
        "[ INFO     ] 10,000 leases (100 owners, 200 images): %zu bytes, %.1f bytes/lease\n", used,
        (double)used / N);
    assert_true(used / N < 200);
    {
        edge_lease_info l = mk(N + 1, sids[0], paths[0], 0, EDGE_LEASE_PROTO_TCP, 1, 1);
        assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_E_QUOTA);
    }
    for (i = 0; i < N; i++) {
        uint8_t id[EDGE_LEASE_ID_LEN];
        edge_lease_info g;
        make_id(id, i + 1);
        assert_true(edge_lease_table_get(t, id, &g));
    }
    /* Expire them one timer tick at a time, as the service would. */
    for (;;) {
        uint8_t ids[1][EDGE_LEASE_ID_LEN];
        size_t count;
        assert_int_equal(edge_lease_table_collect_expired(t, now, ids, 1, &count, &next), EDGE_OK);
        if (count == 0) {
            if (next == UINT64_MAX)
                break;
            now = next;
            continue;
        }
        assert_int_equal(edge_lease_table_set_state(t, ids[0], EDGE_LEASE_ENDING), EDGE_OK);
        assert_int_equal(edge_lease_table_remove(t, ids[0]), EDGE_OK);
        expired++;
    }
    assert_int_equal(expired, N);
    assert_int_equal(now, 10000 + N - 1);
    assert_int_equal(edge_lease_table_count(t), 0);
    print_message("[ INFO     ] 10,000 adds, lookups and expiries: %.3f s\n", seconds_since(start));
    assert_true(seconds_since(start) < 10.0);
    edge_lease_table_destroy(t);
}

/* Worst case for memory: every lease its own owner and image, with 60-byte paths. */
static void test_memory_unique(void **state)
{
    enum { N = 10000 };
    edge_lease_table *t = new_table(0, 0, 0);
    size_t base = edge_lease_table_memory(t), used;
    uint32_t i;
    (void)state;
    assert_int_equal(edge_lease_table_reserve(t, N), EDGE_OK);
    assert_int_equal(edge_lease_table_reserve(NULL, N), EDGE_E_BAD_REQUEST);
    for (i = 0; i < N; i++) {
        char sid[64], path[80];
        edge_lease_info l;
        snprintf(sid, sizeof(sid), "S-1-5-21-1004336348-1177238915-682003330-%u", 1000 + i);
        snprintf(path, sizeof(path), "C:\\Users\\user%05u\\AppData\\Local\\Vendor\\app.exe", i);
        l = mk(i + 1, sid, path, (uint8_t)i, EDGE_LEASE_PROTO_TCP, (uint16_t)(1 + i * 6),
               (uint16_t)(1 + i * 6));
        assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_OK);
    }
    used = edge_lease_table_memory(t) - base;
    print_message("[ INFO     ] 10,000 leases, all owners and images distinct: %zu bytes, %.1f "
                  "bytes/lease\n",
                  used, (double)used / N);
    assert_true(used / N < 600);
    edge_lease_table_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_destroy),
        cmocka_unit_test(test_add_get_roundtrip),
        cmocka_unit_test(test_add_rejects_invalid_fields),
        cmocka_unit_test(test_conflicts),
        cmocka_unit_test(test_quotas),
        cmocka_unit_test(test_remove_and_counts),
        cmocka_unit_test(test_renew),
        cmocka_unit_test(test_state_transitions),
        cmocka_unit_test(test_iteration),
        cmocka_unit_test(test_collect_expired),
        cmocka_unit_test(test_expiry_model),
        cmocka_unit_test(test_scale_10000),
        cmocka_unit_test(test_memory_unique),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
