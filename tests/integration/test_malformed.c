/*
 * 5,000 malformed frames against the installed service: random bytes, truncated frames, oversize
 * messages, wrong magic / version / direction / type, reserved bits, lying lengths, broken TLVs,
 * duplicate and unknown critical tags, ill-formed UTF-8 and embedded NULs.  Each one gets exactly
 * the treatment docs/protocol.md §7 prescribes (no answer and a closed pipe, or one error reply
 * and a closed pipe) or, once the per-user rate limit bites, EDGE_E_BUSY; afterwards the same
 * service process still serves, and the firewall double holds exactly the rules it held before.
 *
 * The mutations start from a valid REQUEST for a rule, so a frame that were wrongly accepted would
 * show up as a new rule.
 */
#include <windows.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fwdouble_control.h"
#include "itest.h"

#define FRAMES       5000u
#define REPLY_MS     3000u
#define OVERSIZE_LEN (EDGE_FRAME_MAX + 4096u)

enum expect {
    EXP_DROP = 1,        /* no reply, pipe closed */
    EXP_BAD_REQUEST = 2, /* EDGE_E_BAD_REQUEST, then closed */
    EXP_BAD_VERSION = 4  /* EDGE_E_UNSUPPORTED_VERSION, then closed */
};

enum kind {
    K_RANDOM,
    K_TRUNCATED,
    K_MAGIC,
    K_VERSION,
    K_RESERVED,
    K_BODY_LEN,
    K_TLV_LEN,
    K_TLV_TYPE,
    K_BAD_UTF8,
    K_NUL,
    K_DUP_TAG,
    K_CRITICAL,
    K_DIRECTION,
    K_TYPE,
    K_OVERSIZE,
    K_COUNT
};

struct tally {
    unsigned decoded; /* frames dropped or answered per §7 (not rate limited) */
    unsigned busy;
    unsigned by_kind[K_COUNT];
};

static uint32_t g_rng;

static uint32_t rnd(void)
{
    /* xorshift32: deterministic for a printed seed */
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 17;
    g_rng ^= g_rng << 5;
    return g_rng;
}

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

/* A valid REQUEST frame whose target_app string is the last TLV (18 'A's). */
static size_t base_frame(uint8_t *out, size_t cap)
{
    edge_msg m;
    size_t len = 0;

    memset(&m, 0, sizeof(m));
    m.type = EDGE_MSG_REQUEST;
    m.request_id = 4242;
    m.u.lease_req.protocol = EDGE_IPPROTO_TCP;
    m.u.lease_req.port_lo = 50999;
    m.u.lease_req.target_app = edge_str_from_cstr("C:\\AAAAAAAAAAA.exe");
    assert_int_equal(edge_msg_encode(&m, out, cap, &len), EDGE_PROTO_OK);
    return len;
}

/* Builds frame I into BUF (cap OVERSIZE_LEN); returns its length and what must happen. */
static size_t make_frame(enum kind k, uint8_t *buf, unsigned *expect)
{
    size_t len = base_frame(buf, OVERSIZE_LEN), i, str_at = len - 18;
    static const uint8_t bad_utf8[][3] = {{0xC0, 0x80, 'A'},
                                          {0xED, 0xA0, 0x80},
                                          {0xF5, 0x80, 0x80},
                                          {0x80, 'A', 'A'},
                                          {0xE2, 0x82, 'A'}};

    *expect = EXP_BAD_REQUEST;
    switch (k) {
    case K_RANDOM:
        len = 1 + rnd() % 300;
        for (i = 0; i < len; i++)
            buf[i] = (uint8_t)rnd();
        buf[0] = 'X'; /* never the magic */
        *expect = EXP_DROP;
        break;
    case K_TRUNCATED:
        len = 1 + rnd() % (len - 1);
        *expect = len < EDGE_FRAME_HEADER_SIZE ? EXP_DROP : EXP_BAD_REQUEST;
        break;
    case K_MAGIC:
        buf[rnd() % 4] ^= (uint8_t)(1 + rnd() % 255);
        *expect = EXP_DROP;
        break;
    case K_VERSION:
        put16(buf + 4, (uint16_t)(2 + rnd() % 65534));
        *expect = EXP_BAD_VERSION;
        break;
    case K_RESERVED:
        if (rnd() & 1)
            put16(buf + 10, (uint16_t)(1 + rnd() % 65535));
        else
            put16(buf + 8, (uint16_t)(2u << (rnd() % 15)));
        break;
    case K_BODY_LEN:
        put32(buf + 16, (rnd() & 1) ? 0xFFFFFFFFu - rnd() % 16 : (uint32_t)(len + 1 + rnd() % 64));
        break;
    case K_TLV_LEN:
        /* length of the first TLV (after the 20-byte header) beyond the body */
        put32(buf + EDGE_FRAME_HEADER_SIZE + 4, 0x7FFFFFF0u + rnd() % 16);
        break;
    case K_TLV_TYPE:
        buf[EDGE_FRAME_HEADER_SIZE + 2] = (uint8_t)(5 + rnd() % 3); /* protocol U8 as BYTES+ */
        break;
    case K_BAD_UTF8:
        memcpy(buf + str_at + 3 + rnd() % 10, bad_utf8[rnd() % 5], 3);
        break;
    case K_NUL:
        buf[str_at + 3 + rnd() % 10] = 0;
        break;
    case K_DUP_TAG:
        /* re-append the target_app TLV (8 + 18 bytes) and fix body_len */
        memcpy(buf + len, buf + len - 26, 26);
        len += 26;
        put32(buf + 16, (uint32_t)(len - EDGE_FRAME_HEADER_SIZE));
        break;
    case K_CRITICAL: {
        uint8_t *t = buf + len;
        put16(t, (uint16_t)(0x8000u | (200u + rnd() % 1000u))); /* unknown, critical */
        t[2] = 3;                                               /* U32 */
        t[3] = 0;
        put32(t + 4, 4);
        put32(t + 8, rnd());
        len += 12;
        put32(buf + 16, (uint32_t)(len - EDGE_FRAME_HEADER_SIZE));
        break;
    }
    case K_DIRECTION:
        put16(buf + 8, EDGE_FRAME_F_REPLY);
        break;
    case K_TYPE:
        /* §9.1 wants a reply, which the reference codec cannot decode on the client side (an
         * unknown type is UNKNOWN_TYPE in either direction): accept an answer or a hang-up. */
        put16(buf + 6, (uint16_t)((rnd() & 1) ? 17 + rnd() % 47 : 65 + rnd() % 1000));
        *expect = EXP_DROP | EXP_BAD_REQUEST;
        break;
    case K_OVERSIZE:
        len = OVERSIZE_LEN;
        memset(buf + EDGE_FRAME_HEADER_SIZE, 'A', len - EDGE_FRAME_HEADER_SIZE);
        *expect = EXP_DROP;
        break;
    default:
        fail();
    }
    return len;
}

/* One frame on a fresh connection; returns the outcome as an EXP_* bit, or 0 for BUSY. */
static unsigned send_one(itc *c, const uint8_t *frame, size_t len, bool hello_first)
{
    edge_msg rep;
    uint32_t st = 0;
    DWORD got = 0, err;
    edge_proto_err perr;
    unsigned outcome = 0;

    assert_int_equal(itc_open(c, NULL, ITEST_IO_MS), ERROR_SUCCESS);
    if (hello_first) {
        assert_int_equal(itc_hello(c, &st), ERROR_SUCCESS);
        if (st == EDGE_E_BUSY)
            return 0;
        assert_int_equal(st, EDGE_OK);
    }
    err = itc_send_raw(c, frame, len, REPLY_MS);
    /* An oversize message may be refused mid-write: the server dropped us, as it should. */
    if (err != ERROR_SUCCESS) {
        assert_true(len > EDGE_FRAME_MAX);
        return EXP_DROP;
    }
    err = itc_recv_raw(c, &got, REPLY_MS);
    assert_int_not_equal(err, WAIT_TIMEOUT); /* every frame is answered or dropped promptly */
    if (err != ERROR_SUCCESS)
        return EXP_DROP;
    perr = edge_msg_decode(c->buf, got, EDGE_DIR_REPLY, &rep);
    if (perr == EDGE_PROTO_E_UNKNOWN_TYPE) {
        /* A reply to an unknown verb: it must at least answer our request.  Our decoder does not
         * know the type, so read its envelope (BAD_REQUEST, or BUSY under the rate limit) by
         * decoding a copy relabelled as a bodiless verb's reply. */
        static uint8_t copy[EDGE_FRAME_MAX];
        edge_frame_header h;
        assert_int_equal(edge_frame_parse_header(c->buf, got, &h), EDGE_PROTO_OK);
        assert_int_equal(h.flags, EDGE_FRAME_F_REPLY);
        assert_memory_equal(c->buf + 6, frame + 6, 2);
        assert_memory_equal(c->buf + 12, frame + 12, 4);
        memcpy(copy, c->buf, got);
        h.type = EDGE_MSG_PURGE;
        edge_frame_write_header(&h, copy);
        assert_int_equal(edge_msg_decode(copy, got, EDGE_DIR_REPLY, &rep), EDGE_PROTO_OK);
    } else {
        assert_int_equal(perr, EDGE_PROTO_OK);
    }
    if (rep.env.status == EDGE_E_BUSY) {
        assert_true(rep.env.has_retry_after);
        return 0;
    }
    if (rep.env.status == EDGE_E_BAD_REQUEST)
        outcome = EXP_BAD_REQUEST;
    else if (rep.env.status == EDGE_E_UNSUPPORTED_VERSION)
        outcome = EXP_BAD_VERSION;
    else
        fail_msg("unexpected reply status %u", (unsigned)rep.env.status);
    /* ...and the service hangs up after the error reply. */
    err = itc_recv_raw(c, &got, REPLY_MS);
    assert_int_not_equal(err, ERROR_SUCCESS);
    assert_int_not_equal(err, WAIT_TIMEOUT);
    return outcome;
}

static void snapshot_rules(wchar_t ***names, size_t *n)
{
    fwdc_rule *rules = NULL;
    size_t i;

    assert_true(SUCCEEDED(fwdc_store_read_group(ITEST_GROUP, &rules, n)));
    *names = calloc(*n + 1, sizeof(**names));
    assert_non_null(*names);
    for (i = 0; i < *n; i++) {
        (*names)[i] = _wcsdup(rules[i].name ? rules[i].name : L"");
        assert_non_null((*names)[i]);
    }
    fwdc_rules_free(rules, *n);
}

static void test_malformed_flood(void **state)
{
    uint8_t *buf = malloc(OVERSIZE_LEN + 64);
    itc *c = itc_new();
    struct tally t;
    wchar_t **before = NULL, **after = NULL;
    size_t nb = 0, na = 0, i;
    DWORD pid0 = 0, pid1 = 0, st0 = 0, st1 = 0;
    ULONGLONG t0;
    uint32_t st = 0;
    unsigned f, expect, got;

    (void)state;
    assert_non_null(buf);
    assert_non_null(c);
    c->no_busy_wait = true; /* count BUSY answers; do not wait them out */
    memset(&t, 0, sizeof(t));
    g_rng = (uint32_t)GetTickCount64() | 1u;
    print_message("seed %lu\n", (unsigned long)g_rng);
    assert_int_equal(itest_svc_query(&st0, &pid0), ERROR_SUCCESS);
    assert_int_equal(st0, SERVICE_RUNNING);
    snapshot_rules(&before, &nb);

    t0 = GetTickCount64();
    for (f = 0; f < FRAMES; f++) {
        /* Oversize messages are 68 KiB each: one in 50 is plenty. */
        enum kind k = (f % 50 == 49) ? K_OVERSIZE : (enum kind)(f % K_OVERSIZE);
        size_t len = make_frame(k, buf, &expect);
        got = send_one(c, buf, len, f % 10 == 3);
        if (got == 0) {
            t.busy++;
            continue;
        }
        t.decoded++;
        t.by_kind[k]++;
        if (!(got & expect))
            fail_msg("frame %u (kind %d, %u bytes): outcome %u, expected %u", f, (int)k,
                     (unsigned)len, got, expect);
    }
    itc_close(c);
    print_message("%u frames in %llu ms: %u treated per §7, %u answered BUSY\n", FRAMES,
                  GetTickCount64() - t0, t.decoded, t.busy);
    for (f = 0; f < K_COUNT; f++)
        assert_true(t.by_kind[f] > 0); /* every kind reached the service at least once */

    /* Still the same process, still serving (itc_call waits out a BUSY from the flood). */
    c->no_busy_wait = false;
    assert_int_equal(itest_svc_query(&st1, &pid1), ERROR_SUCCESS);
    assert_int_equal(st1, SERVICE_RUNNING);
    assert_int_equal(pid1, pid0);
    assert_int_equal(itc_connect(c, ITEST_IO_MS), ERROR_SUCCESS);
    assert_int_equal(itc_ping(c, "alive", 5, &st), ERROR_SUCCESS);
    assert_int_equal(st, EDGE_OK);

    /* No rule appeared (or vanished). */
    snapshot_rules(&after, &na);
    assert_int_equal(na, nb);
    for (i = 0; i < na; i++)
        assert_true(wcscmp(after[i], before[i]) == 0);
    for (i = 0; i < nb; i++)
        free(before[i]);
    for (i = 0; i < na; i++)
        free(after[i]);
    free(before);
    free(after);
    itc_free(c);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malformed_flood),
    };
    if (itest_fw_use_service_store() != ERROR_SUCCESS)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
