/* TLV reader, writer, validation and canonical form (docs/protocol.md §3, §4, §6). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "edge/tlv.h"

/* Appends one raw TLV; lets tests build bodies the writer would refuse to produce. */
static size_t raw(uint8_t *p, uint16_t tagword, uint8_t type, uint32_t len, const void *val)
{
    edge_put_le16(p, tagword);
    p[2] = type;
    p[3] = 0;
    edge_put_le32(p + 4, len);
    if (val != NULL && len != 0)
        memcpy(p + 8, val, len);
    return 8 + (size_t)len;
}

static size_t raw_u8(uint8_t *p, uint16_t tagword, uint8_t v)
{
    return raw(p, tagword, EDGE_TLV_U8, 1, &v);
}

/* protocol.md §3.1, §4.1: writer output is read back field by field, little-endian. */
static void test_writer_reader_roundtrip(void **state)
{
    uint8_t buf[256];
    edge_tlv_writer w;
    edge_tlv_reader r;
    edge_tlv t;
    uint64_t v;
    size_t len = 0;
    (void)state;

    edge_tlv_writer_init(&w, buf, sizeof(buf));
    edge_tlv_put_u8(&w, 1, 0xab);
    edge_tlv_put_u16(&w, 2 | EDGE_TLV_CRITICAL, 0x1234);
    edge_tlv_put_u32(&w, 3, 0xdeadbeef);
    edge_tlv_put_u64(&w, 4, 0x0102030405060708ull);
    edge_tlv_put_str(&w, 5, "hi", 2);
    edge_tlv_put_bytes(&w, 6, "\x00\x01", 2);
    assert_int_equal(edge_tlv_writer_finish(&w, &len), EDGE_PROTO_OK);
    assert_int_equal(len, 6 * 8 + 1 + 2 + 4 + 8 + 2 + 2);
    /* The u16 TLV header: tag word 0x8002 LE, type, reserved 0, length 2 LE, value LE. */
    assert_memory_equal(buf + 9, "\x02\x80\x02\x00\x02\x00\x00\x00\x34\x12", 10);

    edge_tlv_reader_init(&r, buf, len);
    assert_int_equal(edge_tlv_next(&r, &t), EDGE_PROTO_OK);
    assert_int_equal(t.tag, 1);
    assert_false(t.critical);
    assert_int_equal(edge_tlv_get_uint(&t, &v), EDGE_PROTO_OK);
    assert_int_equal(v, 0xab);
    assert_int_equal(edge_tlv_next(&r, &t), EDGE_PROTO_OK);
    assert_int_equal(t.tag, 2);
    assert_true(t.critical);
    assert_int_equal(edge_tlv_get_uint(&t, &v), EDGE_PROTO_OK);
    assert_int_equal(v, 0x1234);
    assert_int_equal(edge_tlv_next(&r, &t), EDGE_PROTO_OK);
    assert_int_equal(edge_tlv_get_uint(&t, &v), EDGE_PROTO_OK);
    assert_int_equal(v, 0xdeadbeef);
    assert_int_equal(edge_tlv_next(&r, &t), EDGE_PROTO_OK);
    assert_int_equal(edge_tlv_get_uint(&t, &v), EDGE_PROTO_OK);
    assert_true(v == 0x0102030405060708ull);
    assert_int_equal(edge_tlv_next(&r, &t), EDGE_PROTO_OK);
    assert_int_equal(t.type, EDGE_TLV_STRING);
    assert_int_equal(edge_tlv_get_uint(&t, &v), EDGE_PROTO_E_BAD_TYPE);
    assert_int_equal(edge_tlv_next(&r, &t), EDGE_PROTO_OK);
    assert_int_equal(t.type, EDGE_TLV_BYTES);
    assert_true(edge_tlv_reader_done(&r));
    assert_int_equal(edge_tlv_validate(buf, len), EDGE_PROTO_OK);
}

/* protocol.md §4.4: the writer refuses anything that is not canonical. */
static void test_writer_enforces_order(void **state)
{
    uint8_t buf[128];
    edge_tlv_writer w;
    size_t len = 1;
    (void)state;

    edge_tlv_writer_init(&w, buf, sizeof(buf));
    edge_tlv_put_u8(&w, 5, 1);
    edge_tlv_put_u8(&w, 3, 1); /* descending */
    assert_int_equal(edge_tlv_writer_finish(&w, &len), EDGE_PROTO_E_ORDER);
    assert_int_equal(len, 0);

    edge_tlv_writer_init(&w, buf, sizeof(buf));
    edge_tlv_put_u8(&w, 5, 1);
    edge_tlv_put_u8(&w, 5 | EDGE_TLV_CRITICAL, 1); /* same number, other critical bit */
    assert_int_equal(edge_tlv_writer_finish(&w, &len), EDGE_PROTO_E_ORDER);

    edge_tlv_writer_init(&w, buf, sizeof(buf));
    edge_tlv_put_u8(&w, 0, 1); /* tag 0 outside a list */
    assert_int_equal(edge_tlv_writer_finish(&w, &len), EDGE_PROTO_E_ORDER);

    edge_tlv_writer_init(&w, buf, sizeof(buf));
    edge_tlv_begin_list(&w, 1, EDGE_TLV_STRING);
    edge_tlv_put_str(&w, 0, "a", 1);
    edge_tlv_put_u8(&w, 0, 1); /* wrong element type */
    edge_tlv_end(&w);
    assert_int_equal(edge_tlv_writer_finish(&w, &len), EDGE_PROTO_E_ORDER);

    edge_tlv_writer_init(&w, buf, sizeof(buf));
    edge_tlv_begin_list(&w, 1, EDGE_TLV_STRING);
    edge_tlv_put_str(&w, 2, "a", 1); /* element with a tag */
    edge_tlv_end(&w);
    assert_int_equal(edge_tlv_writer_finish(&w, &len), EDGE_PROTO_E_ORDER);
}

/* protocol.md §5: the writer never emits an invalid string, and the first error sticks. */
static void test_writer_strings_and_sticky_error(void **state)
{
    uint8_t buf[64];
    edge_tlv_writer w;
    size_t len;
    (void)state;

    edge_tlv_writer_init(&w, buf, sizeof(buf));
    edge_tlv_put_str(&w, 1, "a\0b", 3);
    edge_tlv_put_u8(&w, 1, 0); /* would be an ORDER error; must not replace the first */
    assert_int_equal(edge_tlv_writer_finish(&w, &len), EDGE_PROTO_E_EMBEDDED_NUL);

    edge_tlv_writer_init(&w, buf, sizeof(buf));
    edge_tlv_put_str(&w, 1, "\xc0\x80", 2);
    assert_int_equal(edge_tlv_writer_finish(&w, &len), EDGE_PROTO_E_BAD_UTF8);

    edge_tlv_writer_init(&w, buf, sizeof(buf));
    edge_tlv_put_bytes(&w, 1, NULL, 3);
    assert_int_equal(edge_tlv_writer_finish(&w, &len), EDGE_PROTO_E_INVALID_ARG);
}

/* protocol.md §3.3, §6: sizing mode, short buffers, nesting depth, unbalanced containers. */
static void test_writer_sizes_and_nesting(void **state)
{
    uint8_t buf[64];
    edge_tlv_writer w;
    size_t len = 0, need = 0;
    (void)state;

    edge_tlv_writer_init(&w, NULL, 0);
    edge_tlv_begin_record(&w, 1);
    edge_tlv_put_u32(&w, 1, 7);
    edge_tlv_end(&w);
    assert_int_equal(edge_tlv_writer_finish(&w, &need), EDGE_PROTO_E_BUFFER_TOO_SMALL);
    assert_int_equal(need, 8 + 8 + 4);

    edge_tlv_writer_init(&w, buf, need - 1);
    edge_tlv_begin_record(&w, 1);
    edge_tlv_put_u32(&w, 1, 7);
    edge_tlv_end(&w);
    assert_int_equal(edge_tlv_writer_finish(&w, &len), EDGE_PROTO_E_BUFFER_TOO_SMALL);
    assert_int_equal(len, need);

    edge_tlv_writer_init(&w, buf, sizeof(buf));
    edge_tlv_begin_record(&w, 1);
    edge_tlv_put_u32(&w, 1, 7);
    edge_tlv_end(&w);
    assert_int_equal(edge_tlv_writer_finish(&w, &len), EDGE_PROTO_OK);
    assert_int_equal(edge_le32(buf + 4), 12); /* patched container length */
    assert_int_equal(edge_tlv_validate(buf, len), EDGE_PROTO_OK);

    edge_tlv_writer_init(&w, buf, sizeof(buf));
    for (unsigned i = 0; i < EDGE_TLV_MAX_DEPTH; i++)
        edge_tlv_begin_record(&w, 1);
    edge_tlv_begin_record(&w, 1);
    assert_int_equal(edge_tlv_writer_finish(&w, &len), EDGE_PROTO_E_TOO_DEEP);

    edge_tlv_writer_init(&w, buf, sizeof(buf));
    edge_tlv_begin_record(&w, 1);
    assert_int_equal(edge_tlv_writer_finish(&w, &len), EDGE_PROTO_E_INVALID_ARG);

    edge_tlv_writer_init(&w, buf, sizeof(buf));
    edge_tlv_end(&w);
    assert_int_equal(edge_tlv_writer_finish(&w, &len), EDGE_PROTO_E_INVALID_ARG);
}

/* protocol.md §6: the writer stops at EDGE_TLV_MAX_INPUT bytes. */
static void test_writer_total_limit(void **state)
{
    static uint8_t big[EDGE_TLV_MAX_INPUT];
    edge_tlv_writer w;
    size_t len;
    (void)state;

    edge_tlv_writer_init(&w, NULL, 0);
    edge_tlv_put_bytes(&w, 1, big, EDGE_TLV_MAX_INPUT - 8);
    assert_int_equal(edge_tlv_writer_finish(&w, &len), EDGE_PROTO_E_BUFFER_TOO_SMALL);
    assert_int_equal(len, EDGE_TLV_MAX_INPUT);
    edge_tlv_writer_init(&w, NULL, 0);
    edge_tlv_put_bytes(&w, 1, big, EDGE_TLV_MAX_INPUT - 7);
    assert_int_equal(edge_tlv_writer_finish(&w, &len), EDGE_PROTO_E_BODY_TOO_LARGE);
}

/* protocol.md §3.1: the reader bounds-checks headers and values, including huge lengths. */
static void test_reader_bounds(void **state)
{
    uint8_t b[32];
    edge_tlv_reader r;
    edge_tlv t;
    size_t n;
    (void)state;

    n = raw_u8(b, 1, 9);
    edge_tlv_reader_init(&r, b, n - 1); /* value cut short */
    assert_int_equal(edge_tlv_next(&r, &t), EDGE_PROTO_E_TLV_OVERRUN);
    edge_tlv_reader_init(&r, b, 7); /* header cut short */
    assert_int_equal(edge_tlv_next(&r, &t), EDGE_PROTO_E_TLV_OVERRUN);

    raw(b, 1, EDGE_TLV_BYTES, 0xffffffffu, NULL);
    edge_tlv_reader_init(&r, b, sizeof(b));
    assert_int_equal(edge_tlv_next(&r, &t), EDGE_PROTO_E_TLV_OVERRUN);
    assert_int_equal(r.left, sizeof(b)); /* no advance on error */

    n = raw_u8(b, 1, 9);
    b[3] = 1; /* reserved byte */
    edge_tlv_reader_init(&r, b, n);
    assert_int_equal(edge_tlv_next(&r, &t), EDGE_PROTO_E_RESERVED_BITS);
    assert_int_equal(edge_tlv_validate(b, n), EDGE_PROTO_E_RESERVED_BITS);
}

/* protocol.md §3.3: tag rules in records and lists, duplicates at every level. */
static void test_validate_tags(void **state)
{
    uint8_t b[256], inner[64];
    size_t n, m;
    (void)state;

    n = raw_u8(b, 1, 1);
    n += raw_u8(b + n, 1, 2);
    assert_int_equal(edge_tlv_validate(b, n), EDGE_PROTO_E_DUPLICATE_TAG);

    n = raw_u8(b, 7, 1);
    n += raw_u8(b + n, 7 | EDGE_TLV_CRITICAL, 2); /* critical bit is not part of the number */
    assert_int_equal(edge_tlv_validate(b, n), EDGE_PROTO_E_DUPLICATE_TAG);

    m = raw_u8(inner, 3, 1);
    m += raw_u8(inner + m, 3, 1);
    n = raw(b, 1, EDGE_TLV_RECORD, (uint32_t)m, inner);
    assert_int_equal(edge_tlv_validate(b, n), EDGE_PROTO_E_DUPLICATE_TAG);

    n = raw_u8(b, 0, 1);
    assert_int_equal(edge_tlv_validate(b, n), EDGE_PROTO_E_BAD_TAG);

    m = raw_u8(inner, 1, 1);
    n = raw(b, 1, EDGE_TLV_LIST, (uint32_t)m, inner);
    assert_int_equal(edge_tlv_validate(b, n), EDGE_PROTO_E_BAD_TAG);

    m = raw_u8(inner, EDGE_TLV_CRITICAL, 1);
    n = raw(b, 1, EDGE_TLV_LIST, (uint32_t)m, inner);
    assert_int_equal(edge_tlv_validate(b, n), EDGE_PROTO_E_BAD_TAG);

    m = raw_u8(inner, 0, 1);
    m += raw(inner + m, 0, EDGE_TLV_STRING, 1, "x");
    n = raw(b, 1, EDGE_TLV_LIST, (uint32_t)m, inner);
    assert_int_equal(edge_tlv_validate(b, n), EDGE_PROTO_E_BAD_TYPE);

    /* List elements may repeat tag 0; duplicate values are fine. */
    m = raw_u8(inner, 0, 1);
    m += raw_u8(inner + m, 0, 1);
    n = raw(b, 1, EDGE_TLV_LIST, (uint32_t)m, inner);
    assert_int_equal(edge_tlv_validate(b, n), EDGE_PROTO_OK);
}

/* protocol.md §4.1, §5: integer widths exact, strings checked even under unknown tags. */
static void test_validate_values(void **state)
{
    uint8_t b[64];
    size_t n;
    (void)state;

    n = raw(b, 1, EDGE_TLV_U16, 4, "\1\0\0\0");
    assert_int_equal(edge_tlv_validate(b, n), EDGE_PROTO_E_BAD_LENGTH);
    n = raw(b, 1, EDGE_TLV_U64, 4, "\1\0\0\0");
    assert_int_equal(edge_tlv_validate(b, n), EDGE_PROTO_E_BAD_LENGTH);
    n = raw(b, 1, EDGE_TLV_U8, 0, NULL);
    assert_int_equal(edge_tlv_validate(b, n), EDGE_PROTO_E_BAD_LENGTH);
    n = raw(b, 999, EDGE_TLV_STRING, 2, "\xed\xa0");
    assert_int_equal(edge_tlv_validate(b, n), EDGE_PROTO_E_BAD_UTF8);
    n = raw(b, 999, EDGE_TLV_STRING, 2, "a\0");
    assert_int_equal(edge_tlv_validate(b, n), EDGE_PROTO_E_EMBEDDED_NUL);
    n = raw(b, 999, 0x77, 3, "abc"); /* unknown type: opaque */
    assert_int_equal(edge_tlv_validate(b, n), EDGE_PROTO_OK);
    assert_int_equal(edge_tlv_validate(NULL, 0), EDGE_PROTO_OK);
    assert_int_equal(edge_tlv_validate(NULL, 1), EDGE_PROTO_E_INVALID_ARG);
    assert_int_equal(edge_tlv_validate(b, EDGE_TLV_MAX_INPUT + 1), EDGE_PROTO_E_BODY_TOO_LARGE);
}

/* protocol.md §6: nesting depth, field count and list item count limits. */
static void test_validate_limits(void **state)
{
    static uint8_t b[16384];
    size_t n = 0;
    uint8_t nest[128];
    size_t m;
    (void)state;

    /* Depth: the innermost value sits EDGE_TLV_MAX_DEPTH containers down -> ok; one more fails. */
    m = raw_u8(nest + 64, 1, 1);
    for (unsigned d = 0; d < EDGE_TLV_MAX_DEPTH; d++) {
        uint8_t tmp[128];
        size_t k = raw(tmp, 1, EDGE_TLV_RECORD, (uint32_t)m, nest + 64);
        memcpy(nest + 64, tmp, k);
        m = k;
    }
    assert_int_equal(edge_tlv_validate(nest + 64, m), EDGE_PROTO_OK);
    {
        size_t k = raw(b, 1, EDGE_TLV_RECORD, (uint32_t)m, nest + 64);
        assert_int_equal(edge_tlv_validate(b, k), EDGE_PROTO_E_TOO_DEEP);
    }

    for (unsigned i = 1; i <= EDGE_TLV_MAX_FIELDS; i++)
        n += raw_u8(b + n, (uint16_t)i, 0);
    assert_int_equal(edge_tlv_validate(b, n), EDGE_PROTO_OK);
    n += raw_u8(b + n, EDGE_TLV_MAX_FIELDS + 1, 0);
    assert_int_equal(edge_tlv_validate(b, n), EDGE_PROTO_E_TOO_MANY);

    n = 8;
    for (unsigned i = 0; i < EDGE_TLV_MAX_ITEMS; i++)
        n += raw_u8(b + n, 0, 0);
    raw(b, 1, EDGE_TLV_LIST, (uint32_t)(n - 8), NULL);
    assert_int_equal(edge_tlv_validate(b, n), EDGE_PROTO_OK);
    n += raw_u8(b + n, 0, 0);
    raw(b, 1, EDGE_TLV_LIST, (uint32_t)(n - 8), NULL);
    assert_int_equal(edge_tlv_validate(b, n), EDGE_PROTO_E_TOO_MANY);
}

/* protocol.md §3.1: a nested length that runs past its container is an overrun. */
static void test_validate_nested_overrun(void **state)
{
    uint8_t b[64];
    size_t n, m;
    (void)state;

    m = raw_u8(b + 8, 1, 1);
    n = raw(b, 1, EDGE_TLV_RECORD, (uint32_t)m, NULL);
    b[8 + 4] = 2; /* inner u8 claims 2 bytes, container holds 1 */
    assert_int_equal(edge_tlv_validate(b, n), EDGE_PROTO_E_TLV_OVERRUN);
}

/* protocol.md §4.4: canonical form sorts each record by tag number, recursively. */
static void test_canonicalize(void **state)
{
    uint8_t in[256], out[256], again[256], rec[64], lst[128], el[64];
    size_t n = 0, m, k, e, out_len = 0, len2 = 0;
    (void)state;

    /* record {3, 1}; list [ record{2,1}, record{1} ] */
    m = raw_u8(rec, 3, 3);
    m += raw_u8(rec + m, 1 | EDGE_TLV_CRITICAL, 1);
    e = raw_u8(el, 2, 2);
    e += raw_u8(el + e, 1, 1);
    k = raw(lst, 0, EDGE_TLV_RECORD, (uint32_t)e, el);
    e = raw_u8(el, 1, 9);
    k += raw(lst + k, 0, EDGE_TLV_RECORD, (uint32_t)e, el);

    n += raw(in + n, 40, EDGE_TLV_LIST, (uint32_t)k, lst);
    n += raw_u8(in + n, 0x8002, 7); /* critical 2 sorts by number, before 3 */
    n += raw(in + n, 3, EDGE_TLV_RECORD, (uint32_t)m, rec);
    n += raw(in + n, 1, EDGE_TLV_STRING, 1, "z");

    assert_int_equal(edge_tlv_canonicalize(in, n, out, sizeof(out), &out_len), EDGE_PROTO_OK);
    assert_int_equal(out_len, n);

    {
        uint8_t want[256], wrec[64], wlst[128], wel[64];
        size_t w = 0, wm, wk, we;
        wm = raw_u8(wrec, 1 | EDGE_TLV_CRITICAL, 1);
        wm += raw_u8(wrec + wm, 3, 3);
        we = raw_u8(wel, 1, 1);
        we += raw_u8(wel + we, 2, 2);
        wk = raw(wlst, 0, EDGE_TLV_RECORD, (uint32_t)we, wel);
        we = raw_u8(wel, 1, 9);
        wk += raw(wlst + wk, 0, EDGE_TLV_RECORD, (uint32_t)we, wel);
        w += raw(want + w, 1, EDGE_TLV_STRING, 1, "z");
        w += raw_u8(want + w, 0x8002, 7);
        w += raw(want + w, 3, EDGE_TLV_RECORD, (uint32_t)wm, wrec);
        w += raw(want + w, 40, EDGE_TLV_LIST, (uint32_t)wk, wlst);
        assert_int_equal(w, n);
        assert_memory_equal(out, want, n);
    }

    /* Idempotent. */
    assert_int_equal(edge_tlv_canonicalize(out, out_len, again, sizeof(again), &len2),
                     EDGE_PROTO_OK);
    assert_int_equal(len2, out_len);
    assert_memory_equal(again, out, out_len);

    /* Short output and invalid input. */
    assert_int_equal(edge_tlv_canonicalize(in, n, out, n - 1, &out_len),
                     EDGE_PROTO_E_BUFFER_TOO_SMALL);
    assert_int_equal(out_len, 0);
    n = raw_u8(in, 1, 1);
    n += raw_u8(in + n, 1, 1);
    assert_int_equal(edge_tlv_canonicalize(in, n, out, sizeof(out), &out_len),
                     EDGE_PROTO_E_DUPLICATE_TAG);
    assert_int_equal(out_len, 0);
    assert_int_equal(edge_tlv_canonicalize(NULL, 0, NULL, 0, &out_len), EDGE_PROTO_OK);
}

/* protocol.md §4.4: whatever the writer produces is already canonical. */
static void test_writer_output_is_canonical(void **state)
{
    uint8_t buf[256], out[256];
    edge_tlv_writer w;
    size_t len, out_len;
    (void)state;

    edge_tlv_writer_init(&w, buf, sizeof(buf));
    edge_tlv_put_u8(&w, 1, 1);
    edge_tlv_begin_list(&w, 2, EDGE_TLV_RECORD);
    edge_tlv_begin_record(&w, 0);
    edge_tlv_put_u16(&w, 1, 5);
    edge_tlv_put_str(&w, 9, "x", 1);
    edge_tlv_end(&w);
    edge_tlv_end(&w);
    edge_tlv_put_u64(&w, 30000 | EDGE_TLV_CRITICAL, 5);
    assert_int_equal(edge_tlv_writer_finish(&w, &len), EDGE_PROTO_OK);
    assert_int_equal(edge_tlv_canonicalize(buf, len, out, sizeof(out), &out_len), EDGE_PROTO_OK);
    assert_int_equal(out_len, len);
    assert_memory_equal(out, buf, len);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writer_reader_roundtrip),
        cmocka_unit_test(test_writer_enforces_order),
        cmocka_unit_test(test_writer_strings_and_sticky_error),
        cmocka_unit_test(test_writer_sizes_and_nesting),
        cmocka_unit_test(test_writer_total_limit),
        cmocka_unit_test(test_reader_bounds),
        cmocka_unit_test(test_validate_tags),
        cmocka_unit_test(test_validate_values),
        cmocka_unit_test(test_validate_limits),
        cmocka_unit_test(test_validate_nested_overrun),
        cmocka_unit_test(test_canonicalize),
        cmocka_unit_test(test_writer_output_is_canonical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
