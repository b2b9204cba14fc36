/* State file: round trips, every corruption class, caps, and generation selection. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "edge/path.h"
#include "edge/sha256.h"
#include "edge/state_file.h"

#define SID_A "S-1-5-21-1004336348-1177238915-682003330-1001"
#define SID_B "S-1-5-18"
#define APP_X "C:\\Program Files\\X\\x.exe"
#define APP_Y "\\\\srv\\apps\\y.exe"

static void make_id(uint8_t id[EDGE_LEASE_ID_LEN], uint32_t n)
{
    memset(id, 0x5A, EDGE_LEASE_ID_LEN);
    memcpy(id, &n, sizeof(n));
}

static edge_lease_info mk(uint32_t n, const char *sid, const char *path, uint8_t proto, uint16_t lo,
                          uint16_t hi)
{
    edge_lease_info l;
    memset(&l, 0, sizeof(l));
    make_id(l.id, n);
    l.owner_sid = sid;
    l.image_path = path;
    memset(l.image_sha256, (int)(path[0] + path[3]), sizeof(l.image_sha256));
    l.image_sha256[31] = (uint8_t)strlen(path);
    l.protocol = proto;
    l.port_lo = lo;
    l.port_hi = hi;
    l.edge_option = n % 2 ? EDGE_LEASE_EDGE_ALLOW : EDGE_LEASE_EDGE_DEFER_TO_APP;
    l.created = 1700000000u + n;
    l.expires = 0x1122334455667788u + n;
    l.flags = n % 3 ? EDGE_LEASE_FLAG_KEEP_AFTER_EXIT : 0;
    l.state = (edge_lease_state)(1 + n % 3);
    l.owner_pid = 1234 + n;
    return l;
}

/* A small table: three leases covering both protocols, both states of flags, UNC and drive. */
static edge_lease_table *small_table(void)
{
    edge_lease_table *t = NULL;
    edge_lease_info l;
    assert_int_equal(edge_lease_table_create(NULL, &t), EDGE_OK);
    l = mk(1, SID_A, APP_X, EDGE_LEASE_PROTO_TCP, 443, 443);
    assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_OK);
    l = mk(2, SID_A, APP_X, EDGE_LEASE_PROTO_UDP, 3478, 3480);
    assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_OK);
    l = mk(3, SID_B, APP_Y, EDGE_LEASE_PROTO_UDP, 50000, 50100);
    assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_OK);
    return t;
}

struct cmp_ctx {
    const edge_lease_table *other;
    uint32_t seen;
};

static bool cmp_cb(const edge_lease_info *a, void *ctx)
{
    struct cmp_ctx *c = ctx;
    edge_lease_info b;
    assert_true(edge_lease_table_get(c->other, a->id, &b));
    assert_string_equal(a->owner_sid, b.owner_sid);
    assert_string_equal(a->image_path, b.image_path);
    assert_memory_equal(a->image_sha256, b.image_sha256, EDGE_LEASE_SHA256_LEN);
    assert_int_equal(a->protocol, b.protocol);
    assert_int_equal(a->port_lo, b.port_lo);
    assert_int_equal(a->port_hi, b.port_hi);
    assert_int_equal(a->edge_option, b.edge_option);
    assert_int_equal(a->created, b.created);
    assert_int_equal(a->expires, b.expires);
    assert_int_equal(a->flags, b.flags);
    assert_int_equal(a->state, b.state);
    assert_int_equal(b.owner_pid, 0); /* runtime only */
    c->seen++;
    return true;
}

static void assert_same_leases(const edge_lease_table *orig, const edge_lease_table *loaded)
{
    struct cmp_ctx c = {loaded, 0};
    edge_lease_table_foreach(orig, cmp_cb, &c);
    assert_int_equal(c.seen, edge_lease_table_count(loaded));
}

static void roundtrip(edge_lease_table *t, uint64_t gen)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    edge_lease_table *loaded = NULL;
    uint64_t g = 1;
    assert_int_equal(edge_sf_serialize(t, gen, &buf, &len), EDGE_SF_OK);
    assert_int_equal(len, EDGE_SF_HEADER_LEN + (len - EDGE_SF_HEADER_LEN));
    assert_int_equal(edge_sf_parse(buf, len, NULL, NULL, &loaded, &g), EDGE_SF_OK);
    assert_int_equal(g, gen);
    assert_same_leases(t, loaded);
    edge_lease_table_destroy(loaded);
    edge_sf_buffer_free(buf);
}

static void test_roundtrip_0_1(void **state)
{
    edge_lease_table *t = NULL;
    edge_lease_info l = mk(7, SID_A, APP_X, EDGE_LEASE_PROTO_TCP, 1, 65535);
    uint8_t *buf = NULL;
    size_t len = 0;
    (void)state;
    assert_int_equal(edge_lease_table_create(NULL, &t), EDGE_OK);
    roundtrip(t, 0);
    assert_int_equal(edge_sf_serialize(t, 5, &buf, &len), EDGE_SF_OK);
    assert_int_equal(len, EDGE_SF_HEADER_LEN);
    assert_memory_equal(buf, "EDGESTAT\x01\0\0\0\0\0\0\0\x05", 17);
    edge_sf_buffer_free(buf);
    assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_OK);
    roundtrip(t, UINT64_MAX);
    assert_int_equal(edge_sf_serialize(t, 5, &buf, &len), EDGE_SF_OK);
    assert_int_equal(len,
                     EDGE_SF_HEADER_LEN + EDGE_SF_RECORD_FIXED_LEN + strlen(SID_A) + strlen(APP_X));
    edge_sf_buffer_free(buf);
    edge_lease_table_destroy(t);
    edge_sf_buffer_free(NULL);
}

static void test_roundtrip_10000(void **state)
{
    static char sids[64][64], paths[128][80];
    edge_lease_table *t = NULL;
    uint32_t i;
    (void)state;
    assert_int_equal(edge_lease_table_create(NULL, &t), EDGE_OK);
    for (i = 0; i < 64; i++)
        snprintf(sids[i], sizeof(sids[i]), "S-1-5-21-1-2-3-%u", 1000 + i);
    for (i = 0; i < 128; i++)
        snprintf(paths[i], sizeof(paths[i]), "C:\\Program Files\\V%u\\\xc3\xa9t\xc3\xa9%u.exe", i,
                 i);
    for (i = 0; i < 10000; i++) {
        edge_lease_info l = mk(i + 1, sids[i % 64], paths[i % 128],
                               i % 2 ? EDGE_LEASE_PROTO_TCP : EDGE_LEASE_PROTO_UDP,
                               (uint16_t)(1 + 500 * (i % 128)), (uint16_t)(10 + 500 * (i % 128)));
        assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_OK);
    }
    roundtrip(t, 42);
    edge_lease_table_destroy(t);
}

static void test_serialize_args(void **state)
{
    edge_lease_table *t = small_table();
    uint8_t *buf = (uint8_t *)(uintptr_t)1;
    size_t len = 9;
    (void)state;
    assert_int_equal(edge_sf_serialize(NULL, 1, &buf, &len), EDGE_SF_E_ARG);
    assert_null(buf);
    assert_int_equal(len, 0);
    assert_int_equal(edge_sf_serialize(t, 1, NULL, &len), EDGE_SF_E_ARG);
    assert_int_equal(edge_sf_serialize(t, 1, &buf, NULL), EDGE_SF_E_ARG);
    edge_lease_table_destroy(t);
}

static void serialize_small(uint8_t **buf, size_t *len, uint64_t gen)
{
    edge_lease_table *t = small_table();
    assert_int_equal(edge_sf_serialize(t, gen, buf, len), EDGE_SF_OK);
    edge_lease_table_destroy(t);
}

static edge_sf_result parse(const uint8_t *buf, size_t len)
{
    edge_lease_table *t = (edge_lease_table *)(uintptr_t)1;
    uint64_t g = 99;
    edge_sf_result r = edge_sf_parse(buf, len, NULL, NULL, &t, &g);
    if (r == EDGE_SF_OK) {
        edge_lease_table_destroy(t);
    } else {
        assert_null(t);
        assert_int_equal(g, 0);
    }
    return r;
}

static void test_truncate_every_offset(void **state)
{
    uint8_t *buf = NULL;
    size_t len = 0, cut;
    (void)state;
    serialize_small(&buf, &len, 3);
    assert_int_equal(parse(buf, len), EDGE_SF_OK);
    assert_int_equal(parse(buf, 0), EDGE_SF_E_MISSING);
    for (cut = 1; cut < len; cut++) {
        /* A fresh copy of exactly cut bytes, so ASan catches any read past the end. */
        uint8_t *p = malloc(cut);
        assert_non_null(p);
        memcpy(p, buf, cut);
        assert_int_equal(parse(p, cut), EDGE_SF_E_TRUNCATED);
        free(p);
    }
    edge_sf_buffer_free(buf);
}

static void test_flip_every_byte(void **state)
{
    static const uint8_t masks[] = {0x01, 0x80, 0xFF};
    uint8_t *buf = NULL;
    size_t len = 0, i, m;
    (void)state;
    serialize_small(&buf, &len, 3);
    for (i = 0; i < len; i++) {
        for (m = 0; m < sizeof(masks); m++) {
            edge_sf_result r;
            buf[i] ^= masks[m];
            r = parse(buf, len);
            /* The checksum covers every other byte, so no single change can load. */
            if (r == EDGE_SF_OK)
                fail_msg("flip of byte %zu by %02x loaded", i, masks[m]);
            buf[i] ^= masks[m];
        }
    }
    assert_int_equal(parse(buf, len), EDGE_SF_OK);
    edge_sf_buffer_free(buf);
}

/* ---- crafted files: edit, then recompute the checksum so the check under test is reached ---- */

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)v);
    put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static void reseal(uint8_t *buf, size_t len)
{
    edge_sha256_ctx c;
    edge_sha256_init(&c);
    edge_sha256_update(&c, buf, 40);
    edge_sha256_update(&c, buf + EDGE_SF_HEADER_LEN, len - EDGE_SF_HEADER_LEN);
    edge_sha256_final(&c, buf + 40);
}

/* A file with one lease record whose strings are sid and path (lengths as given). */
static uint8_t *one_record(const char *sid, size_t sid_len, const char *path, size_t path_len,
                           size_t *len)
{
    size_t body = EDGE_SF_RECORD_FIXED_LEN + sid_len + path_len;
    uint8_t *b = calloc(1, EDGE_SF_HEADER_LEN + body);
    uint8_t *r;
    assert_non_null(b);
    memcpy(b, "EDGESTAT", 8);
    put32(b + 8, 1);
    put64(b + 16, 77);
    put64(b + 24, body);
    put32(b + 32, 1);
    r = b + EDGE_SF_HEADER_LEN;
    put32(r, (uint32_t)(body - 4));
    put16(r + 4, 1);
    memset(r + 8, 0x42, 16);
    memset(r + 24, 0x43, 32);
    put64(r + 56, 10);
    put64(r + 64, 20);
    put32(r + 72, 2);
    r[80] = 6;
    r[81] = 2;
    put16(r + 82, 80);
    put16(r + 84, 80);
    put16(r + 86, (uint16_t)sid_len);
    put32(r + 88, (uint32_t)path_len);
    memcpy(r + 92, sid, sid_len);
    memcpy(r + 92 + sid_len, path, path_len);
    *len = EDGE_SF_HEADER_LEN + body;
    reseal(b, *len);
    return b;
}

static uint8_t *good_record(size_t *len)
{
    return one_record(SID_A, strlen(SID_A), APP_X, strlen(APP_X), len);
}

static void test_header_errors(void **state)
{
    uint8_t *b, *big;
    size_t len;
    edge_sf_limits lim;
    edge_lease_table *t = NULL;
    edge_lease_table_params params = {0, 0, 0};
    (void)state;
    b = good_record(&len);
    assert_int_equal(parse(b, len), EDGE_SF_OK);

    b[0] = 'X';
    reseal(b, len);
    assert_int_equal(parse(b, len), EDGE_SF_E_BAD_MAGIC);
    b[0] = 'E';
    put32(b + 8, 2);
    reseal(b, len);
    assert_int_equal(parse(b, len), EDGE_SF_E_BAD_VERSION);
    put32(b + 8, 0);
    reseal(b, len);
    assert_int_equal(parse(b, len), EDGE_SF_E_BAD_VERSION);
    put32(b + 8, 1);
    put32(b + 12, 1);
    reseal(b, len);
    assert_int_equal(parse(b, len), EDGE_SF_E_BAD_HEADER);
    put32(b + 12, 0);
    put32(b + 36, 0x80000000u);
    reseal(b, len);
    assert_int_equal(parse(b, len), EDGE_SF_E_BAD_HEADER);
    put32(b + 36, 0);
    reseal(b, len);
    assert_int_equal(parse(b, len), EDGE_SF_OK);

    /* Checksum: a body byte changed without resealing. */
    b[len - 1] ^= 1;
    assert_int_equal(parse(b, len), EDGE_SF_E_CHECKSUM);
    b[len - 1] ^= 1;
    /* Generation is covered too. */
    b[16] ^= 1;
    assert_int_equal(parse(b, len), EDGE_SF_E_CHECKSUM);
    b[16] ^= 1;

    /* Body length: larger than the data, absurdly large, smaller (trailing bytes). */
    put64(b + 24, len - EDGE_SF_HEADER_LEN + 1);
    reseal(b, len);
    assert_int_equal(parse(b, len), EDGE_SF_E_TRUNCATED);
    put64(b + 24, UINT64_MAX);
    reseal(b, len);
    assert_int_equal(parse(b, len), EDGE_SF_E_LIMITS);
    put64(b + 24, len - EDGE_SF_HEADER_LEN - 1);
    reseal(b, len);
    assert_int_equal(parse(b, len), EDGE_SF_E_LENGTH);
    put64(b + 24, len - EDGE_SF_HEADER_LEN);

    /* Record count: more than fit in the body, more than the limit, fewer than present. */
    put32(b + 32, 2);
    reseal(b, len);
    assert_int_equal(parse(b, len), EDGE_SF_E_LENGTH);
    put32(b + 32, UINT32_MAX);
    reseal(b, len);
    assert_int_equal(parse(b, len), EDGE_SF_E_LIMITS);
    put32(b + 32, 0);
    reseal(b, len);
    assert_int_equal(parse(b, len), EDGE_SF_E_LENGTH);
    put32(b + 32, 1);
    reseal(b, len);

    /* Caller limits and table capacity. */
    lim.max_leases = 0;
    lim.max_body_bytes = EDGE_SF_DEFAULT_MAX_BODY;
    assert_int_equal(edge_sf_parse(b, len, &lim, NULL, &t, NULL), EDGE_SF_E_LIMITS);
    lim.max_leases = 1;
    lim.max_body_bytes = len - EDGE_SF_HEADER_LEN - 1;
    assert_int_equal(edge_sf_parse(b, len, &lim, NULL, &t, NULL), EDGE_SF_E_LIMITS);
    lim.max_body_bytes = len - EDGE_SF_HEADER_LEN;
    assert_int_equal(edge_sf_parse(b, len, &lim, NULL, &t, NULL), EDGE_SF_OK);
    edge_lease_table_destroy(t);
    params.max_leases = 1;
    assert_int_equal(edge_sf_parse(b, len, NULL, &params, &t, NULL), EDGE_SF_OK);
    assert_int_equal(edge_lease_table_get_params(t).max_leases, 1);
    edge_lease_table_destroy(t);

    /* A second, identical-size file appended makes trailing bytes. */
    big = malloc(2 * len);
    assert_non_null(big);
    memcpy(big, b, len);
    memcpy(big + len, b, len);
    assert_int_equal(parse(big, 2 * len), EDGE_SF_E_LENGTH);
    free(big);

    /* Arguments. */
    assert_int_equal(edge_sf_parse(b, len, NULL, NULL, NULL, NULL), EDGE_SF_E_ARG);
    assert_int_equal(edge_sf_parse(NULL, 5, NULL, NULL, &t, NULL), EDGE_SF_E_ARG);
    assert_int_equal(edge_sf_parse(NULL, 0, NULL, NULL, &t, NULL), EDGE_SF_E_MISSING);
    free(b);
}

struct rec_case {
    size_t off;   /* offset inside the record */
    int width;    /* 1, 2, 4 or 8 */
    uint64_t val; /* value written */
    edge_sf_result expect;
};

static void test_record_errors(void **state)
{
    static const struct rec_case c[] = {
        {0, 4, 0, EDGE_SF_E_BAD_RECORD}, /* record length below the fixed part */
        {0, 4, 1000, EDGE_SF_E_LENGTH},  /* overruns the body */
        {0, 4, UINT32_MAX, EDGE_SF_E_LENGTH},
        {4, 2, 2, EDGE_SF_E_BAD_RECORD},  /* unknown record type */
        {6, 2, 1, EDGE_SF_E_BAD_RECORD},  /* reserved */
        {72, 4, 0, EDGE_SF_E_BAD_RECORD}, /* edge option */
        {72, 4, 3, EDGE_SF_E_BAD_RECORD},
        {76, 4, 2, EDGE_SF_E_BAD_RECORD}, /* unknown lease flag */
        {80, 1, 1, EDGE_SF_E_BAD_RECORD}, /* protocol */
        {81, 1, 0, EDGE_SF_E_BAD_RECORD}, /* state */
        {81, 1, 4, EDGE_SF_E_BAD_RECORD},
        {81, 1, 255, EDGE_SF_E_BAD_RECORD},
        {82, 2, 0, EDGE_SF_E_BAD_RECORD},  /* port 0 */
        {82, 2, 81, EDGE_SF_E_BAD_RECORD}, /* lo > hi */
        {56, 8, 21, EDGE_SF_E_BAD_RECORD}, /* created > expires */
        {86, 2, 4, EDGE_SF_E_BAD_RECORD},  /* SID shorter than possible */
        {86, 2, EDGE_LEASE_SID_MAX_LEN + 1, EDGE_SF_E_LIMITS},
        {86, 2, 0xFFFF, EDGE_SF_E_LIMITS},
        {86, 2, 20, EDGE_SF_E_LENGTH}, /* lengths disagree with record length */
        {88, 4, 3, EDGE_SF_E_BAD_RECORD},
        {88, 4, EDGE_PATH_MAX_BYTES + 1, EDGE_SF_E_LIMITS},
        {88, 4, UINT32_MAX, EDGE_SF_E_LIMITS},
        {88, 4, 20, EDGE_SF_E_LENGTH},
        {92, 1, 's', EDGE_SF_E_BAD_RECORD},                         /* SID syntax */
        {92, 1, 0, EDGE_SF_E_BAD_RECORD},                           /* NUL in SID */
        {92 + sizeof(SID_A) - 1, 1, 0, EDGE_SF_E_BAD_RECORD},       /* NUL in path */
        {92 + sizeof(SID_A) - 1 + 2, 1, '/', EDGE_SF_E_BAD_RECORD}, /* non-canonical path */
        {92 + sizeof(SID_A) - 1, 1, 0xFF, EDGE_SF_E_BAD_RECORD},    /* invalid UTF-8 path */
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        size_t len;
        uint8_t *b = good_record(&len);
        uint8_t *r = b + EDGE_SF_HEADER_LEN;
        edge_sf_result got;
        switch (c[i].width) {
        case 1:
            r[c[i].off] = (uint8_t)c[i].val;
            break;
        case 2:
            put16(r + c[i].off, (uint16_t)c[i].val);
            break;
        case 4:
            put32(r + c[i].off, (uint32_t)c[i].val);
            break;
        default:
            put64(r + c[i].off, c[i].val);
            break;
        }
        reseal(b, len);
        got = parse(b, len);
        if (got != c[i].expect)
            fail_msg("case %zu (offset %zu): got %s, want %s", i, c[i].off,
                     edge_sf_result_name(got), edge_sf_result_name(c[i].expect));
        free(b);
    }
}

/* Two records built by serializing, then edited to collide. */
static void test_duplicate_and_conflict(void **state)
{
    edge_lease_table *t = NULL;
    edge_lease_info l;
    uint8_t *b = NULL, *second;
    size_t len = 0, rec_len;
    (void)state;
    assert_int_equal(edge_lease_table_create(NULL, &t), EDGE_OK);
    l = mk(1, SID_A, APP_X, EDGE_LEASE_PROTO_TCP, 100, 100);
    assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_OK);
    l = mk(2, SID_A, APP_Y, EDGE_LEASE_PROTO_TCP, 200, 200);
    assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_OK);
    assert_int_equal(edge_sf_serialize(t, 1, &b, &len), EDGE_SF_OK);
    edge_lease_table_destroy(t);
    rec_len = 4 + (size_t)(b[EDGE_SF_HEADER_LEN] | (b[EDGE_SF_HEADER_LEN + 1] << 8));
    second = b + EDGE_SF_HEADER_LEN + rec_len;
    /* Second record takes the first one's id. */
    {
        uint8_t saved[16];
        memcpy(saved, second + 8, 16);
        memcpy(second + 8, b + EDGE_SF_HEADER_LEN + 8, 16);
        reseal(b, len);
        assert_int_equal(parse(b, len), EDGE_SF_E_DUPLICATE_ID);
        memcpy(second + 8, saved, 16);
    }
    /* Second record moves onto the first one's port: another image, so a conflict. */
    {
        uint8_t *first = b + EDGE_SF_HEADER_LEN;
        uint16_t other_port = (uint16_t)(first[82] | (first[83] << 8));
        put16(second + 82, other_port);
        put16(second + 84, other_port);
        reseal(b, len);
        assert_int_equal(parse(b, len), EDGE_SF_E_CONFLICT);
    }
    edge_sf_buffer_free(b);
}

/* The state file loads leases even if they exceed today's per-owner quotas. */
static void test_quotas_not_applied_on_load(void **state)
{
    edge_lease_table *t = small_table(), *loaded = NULL;
    edge_lease_table_params p = {3, 1, 1};
    uint8_t *b = NULL;
    size_t len = 0;
    (void)state;
    assert_int_equal(edge_sf_serialize(t, 1, &b, &len), EDGE_SF_OK);
    assert_int_equal(edge_sf_parse(b, len, NULL, &p, &loaded, NULL), EDGE_SF_OK);
    assert_int_equal(edge_lease_table_count_owner(loaded, SID_A), 2);
    edge_lease_table_destroy(loaded);
    p.max_leases = 2;
    assert_int_equal(edge_sf_parse(b, len, NULL, &p, &loaded, NULL), EDGE_SF_E_LIMITS);
    edge_sf_buffer_free(b);
    edge_lease_table_destroy(t);
}

static void test_select(void **state)
{
    uint8_t *g5 = NULL, *g6 = NULL;
    size_t l5 = 0, l6 = 0;
    edge_sf_candidate c[3];
    edge_sf_result res[3];
    edge_sf_selection sel;
    (void)state;
    serialize_small(&g5, &l5, 5);
    serialize_small(&g6, &l6, 6);

    /* Newest valid wins regardless of slot order. */
    c[0].data = g5, c[0].len = l5;
    c[1].data = g6, c[1].len = l6;
    assert_int_equal(edge_sf_select(c, 2, NULL, NULL, res, &sel), EDGE_SF_OK);
    assert_int_equal(sel.index, 1);
    assert_int_equal(sel.generation, 6);
    assert_int_equal(res[0], EDGE_SF_OK);
    assert_int_equal(res[1], EDGE_SF_OK);
    assert_int_equal(edge_lease_table_count(sel.table), 3);
    edge_lease_table_destroy(sel.table);
    c[0].data = g6, c[0].len = l6;
    c[1].data = g5, c[1].len = l5;
    assert_int_equal(edge_sf_select(c, 2, NULL, NULL, NULL, &sel), EDGE_SF_OK);
    assert_int_equal(sel.index, 0);
    edge_lease_table_destroy(sel.table);

    /* Newest torn (truncated) -> previous good generation, and the reason is reported. */
    c[0].data = g5, c[0].len = l5;
    c[1].data = g6, c[1].len = l6 - 1;
    assert_int_equal(edge_sf_select(c, 2, NULL, NULL, res, &sel), EDGE_SF_OK);
    assert_int_equal(sel.index, 0);
    assert_int_equal(sel.generation, 5);
    assert_int_equal(res[1], EDGE_SF_E_TRUNCATED);
    edge_lease_table_destroy(sel.table);

    /* Newest corrupted in place (generation byte still says 6). */
    g6[EDGE_SF_HEADER_LEN + 30] ^= 0x10;
    c[1].len = l6;
    assert_int_equal(edge_sf_select(c, 2, NULL, NULL, res, &sel), EDGE_SF_OK);
    assert_int_equal(sel.index, 0);
    assert_int_equal(sel.generation, 5);
    assert_int_equal(res[0], EDGE_SF_OK);
    assert_int_equal(res[1], EDGE_SF_E_CHECKSUM);
    edge_lease_table_destroy(sel.table);

    /* Both bad, plus a missing slot. */
    c[0].len = 10;
    c[2].data = NULL, c[2].len = 0;
    assert_int_equal(edge_sf_select(c, 3, NULL, NULL, res, &sel), EDGE_SF_E_NONE_VALID);
    assert_int_equal(sel.index, EDGE_SF_NONE);
    assert_null(sel.table);
    assert_int_equal(res[0], EDGE_SF_E_TRUNCATED);
    assert_int_equal(res[1], EDGE_SF_E_CHECKSUM);
    assert_int_equal(res[2], EDGE_SF_E_MISSING);

    /* Equal generations: the lower index wins. */
    c[0].data = g5, c[0].len = l5;
    c[1].data = g5, c[1].len = l5;
    assert_int_equal(edge_sf_select(c, 2, NULL, NULL, res, &sel), EDGE_SF_OK);
    assert_int_equal(sel.index, 0);
    edge_lease_table_destroy(sel.table);

    assert_int_equal(edge_sf_select(c, 0, NULL, NULL, res, &sel), EDGE_SF_E_NONE_VALID);
    assert_int_equal(edge_sf_select(NULL, 2, NULL, NULL, res, &sel), EDGE_SF_E_ARG);
    assert_int_equal(edge_sf_select(c, 2, NULL, NULL, res, NULL), EDGE_SF_E_ARG);
    edge_sf_buffer_free(g5);
    edge_sf_buffer_free(g6);
}

static void test_result_names(void **state)
{
    int i;
    (void)state;
    for (i = 0; i < EDGE_SF_RESULT_COUNT_; i++)
        assert_true(strncmp(edge_sf_result_name((edge_sf_result)i), "EDGE_SF_", 8) == 0);
    assert_string_equal(edge_sf_result_name(EDGE_SF_E_CHECKSUM), "EDGE_SF_E_CHECKSUM");
    assert_string_equal(edge_sf_result_name(EDGE_SF_E_NONE_VALID), "EDGE_SF_E_NONE_VALID");
    assert_string_equal(edge_sf_result_name(EDGE_SF_RESULT_COUNT_), "EDGE_SF_UNKNOWN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_0_1),
        cmocka_unit_test(test_roundtrip_10000),
        cmocka_unit_test(test_serialize_args),
        cmocka_unit_test(test_truncate_every_offset),
        cmocka_unit_test(test_flip_every_byte),
        cmocka_unit_test(test_header_errors),
        cmocka_unit_test(test_record_errors),
        cmocka_unit_test(test_duplicate_and_conflict),
        cmocka_unit_test(test_quotas_not_applied_on_load),
        cmocka_unit_test(test_select),
        cmocka_unit_test(test_result_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
