/* Strict UTF-8 validation and UTF-16 conversion (docs/protocol.md §5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "edge/utf8.h"

static edge_utf8_result check_bytes(const char *s, size_t n)
{
    return edge_utf8_check((const uint8_t *)s, n);
}

#define CHECK(lit, want) assert_int_equal(check_bytes(lit, sizeof(lit) - 1), want)

/* protocol.md §5: well-formed sequences at every length boundary are accepted. */
static void test_valid_boundaries(void **state)
{
    (void)state;
    CHECK("", EDGE_UTF8_OK);
    CHECK("plain ascii \x7f", EDGE_UTF8_OK);
    CHECK("\xc2\x80", EDGE_UTF8_OK);         /* U+0080 */
    CHECK("\xdf\xbf", EDGE_UTF8_OK);         /* U+07FF */
    CHECK("\xe0\xa0\x80", EDGE_UTF8_OK);     /* U+0800 */
    CHECK("\xed\x9f\xbf", EDGE_UTF8_OK);     /* U+D7FF, just below the surrogates */
    CHECK("\xee\x80\x80", EDGE_UTF8_OK);     /* U+E000, just above */
    CHECK("\xef\xbf\xbf", EDGE_UTF8_OK);     /* U+FFFF */
    CHECK("\xf0\x90\x80\x80", EDGE_UTF8_OK); /* U+10000 */
    CHECK("\xf4\x8f\xbf\xbf", EDGE_UTF8_OK); /* U+10FFFF */
    CHECK("C:\\Program Files\\\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80.exe", EDGE_UTF8_OK);
}

/* protocol.md §5: overlong encodings are rejected. */
static void test_overlong(void **state)
{
    (void)state;
    CHECK("\xc0\x80", EDGE_UTF8_INVALID); /* overlong NUL */
    CHECK("\xc1\xbf", EDGE_UTF8_INVALID);
    CHECK("\xe0\x80\x80", EDGE_UTF8_INVALID);
    CHECK("\xe0\x9f\xbf", EDGE_UTF8_INVALID);
    CHECK("\xf0\x80\x80\x80", EDGE_UTF8_INVALID);
    CHECK("\xf0\x8f\xbf\xbf", EDGE_UTF8_INVALID);
    CHECK("a\xc0\xaf", EDGE_UTF8_INVALID); /* overlong '/' used in path tricks */
}

/* protocol.md §5: UTF-16 surrogate code points are not scalar values. */
static void test_surrogates(void **state)
{
    (void)state;
    CHECK("\xed\xa0\x80", EDGE_UTF8_INVALID);             /* U+D800 */
    CHECK("\xed\xbf\xbf", EDGE_UTF8_INVALID);             /* U+DFFF */
    CHECK("\xed\xa0\xbd\xed\xb8\x80", EDGE_UTF8_INVALID); /* CESU-8 pair */
}

/* protocol.md §5: nothing above U+10FFFF, no F5..FF lead bytes. */
static void test_above_max(void **state)
{
    (void)state;
    CHECK("\xf4\x90\x80\x80", EDGE_UTF8_INVALID); /* U+110000 */
    CHECK("\xf5\x80\x80\x80", EDGE_UTF8_INVALID);
    CHECK("\xf8\x88\x80\x80\x80", EDGE_UTF8_INVALID);
    CHECK("\xff", EDGE_UTF8_INVALID);
    CHECK("\xfe", EDGE_UTF8_INVALID);
}

/* protocol.md §5: truncated sequences and stray continuation bytes. */
static void test_truncated_and_stray(void **state)
{
    (void)state;
    CHECK("\xc3", EDGE_UTF8_INVALID);
    CHECK("\xe2\x82", EDGE_UTF8_INVALID);
    CHECK("\xf0\x9f\x98", EDGE_UTF8_INVALID);
    CHECK("ab\xe2\x82z", EDGE_UTF8_INVALID); /* continuation replaced by ASCII */
    CHECK("\x80", EDGE_UTF8_INVALID);
    CHECK("a\xbf", EDGE_UTF8_INVALID);
}

/* protocol.md §5: U+0000 is refused; ill-formedness wins when both occur. */
static void test_nul(void **state)
{
    (void)state;
    CHECK("a\0b", EDGE_UTF8_NUL);
    CHECK("\0", EDGE_UTF8_NUL);
    CHECK("\0\xff", EDGE_UTF8_INVALID);
}

/* protocol.md §9.1: detail text is cut at a character boundary, never inside a sequence. */
static void test_truncate(void **state)
{
    const uint8_t s[] = {'a', 0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80};
    (void)state;
    assert_int_equal(edge_utf8_truncate(s, sizeof(s), 100), sizeof(s));
    assert_int_equal(edge_utf8_truncate(s, sizeof(s), 7), 7);
    assert_int_equal(edge_utf8_truncate(s, sizeof(s), 6), 3);
    assert_int_equal(edge_utf8_truncate(s, sizeof(s), 4), 3);
    assert_int_equal(edge_utf8_truncate(s, sizeof(s), 2), 1);
    assert_int_equal(edge_utf8_truncate(s, sizeof(s), 1), 1);
    assert_int_equal(edge_utf8_truncate(s, sizeof(s), 0), 0);
}

/* protocol.md §5: UTF-16 from Win32 becomes UTF-8; unpaired surrogates are refused. */
static void test_utf16_to_utf8(void **state)
{
    const uint16_t in[] = {'A', 0xe9, 0x20ac, 0xd83d, 0xde00};
    const uint8_t want[] = {'A', 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80};
    uint8_t out[16];
    size_t n = 99;
    (void)state;

    assert_int_equal(edge_utf16_to_utf8(in, 5, out, sizeof(out), &n), EDGE_UTF8_OK);
    assert_int_equal(n, sizeof(want));
    assert_memory_equal(out, want, sizeof(want));

    /* Sizing with no buffer, and a short buffer, report the full size. */
    assert_int_equal(edge_utf16_to_utf8(in, 5, NULL, 0, &n), EDGE_UTF8_TOO_SMALL);
    assert_int_equal(n, sizeof(want));
    assert_int_equal(edge_utf16_to_utf8(in, 5, out, 3, &n), EDGE_UTF8_TOO_SMALL);
    assert_int_equal(n, sizeof(want));

    {
        const uint16_t lone_hi_end[] = {'a', 0xd800};
        const uint16_t lone_hi_mid[] = {0xd800, 'a'};
        const uint16_t lone_lo[] = {0xdc00, 'a'};
        const uint16_t nul[] = {'a', 0};
        assert_int_equal(edge_utf16_to_utf8(lone_hi_end, 2, out, sizeof(out), &n),
                         EDGE_UTF8_INVALID);
        assert_int_equal(edge_utf16_to_utf8(lone_hi_mid, 2, out, sizeof(out), &n),
                         EDGE_UTF8_INVALID);
        assert_int_equal(edge_utf16_to_utf8(lone_lo, 2, out, sizeof(out), &n), EDGE_UTF8_INVALID);
        assert_int_equal(edge_utf16_to_utf8(nul, 2, out, sizeof(out), &n), EDGE_UTF8_NUL);
    }
}

/* protocol.md §5: wire UTF-8 becomes UTF-16 at the Win32 boundary, round-tripping exactly. */
static void test_utf8_to_utf16(void **state)
{
    const uint8_t in[] = {'A', 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80};
    const uint16_t want[] = {'A', 0xe9, 0x20ac, 0xd83d, 0xde00};
    uint16_t out[8];
    uint8_t back[16];
    size_t n = 0, m = 0;
    (void)state;

    assert_int_equal(edge_utf8_to_utf16(in, sizeof(in), out, 8, &n), EDGE_UTF8_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(out, want, sizeof(want));
    assert_int_equal(edge_utf16_to_utf8(out, n, back, sizeof(back), &m), EDGE_UTF8_OK);
    assert_int_equal(m, sizeof(in));
    assert_memory_equal(back, in, sizeof(in));

    assert_int_equal(edge_utf8_to_utf16(in, sizeof(in), NULL, 0, &n), EDGE_UTF8_TOO_SMALL);
    assert_int_equal(n, 5);
    assert_int_equal(edge_utf8_to_utf16((const uint8_t *)"\xed\xa0\x80", 3, out, 8, &n),
                     EDGE_UTF8_INVALID);
    assert_int_equal(n, 0);
    assert_int_equal(edge_utf8_to_utf16((const uint8_t *)"a\0", 2, out, 8, &n), EDGE_UTF8_NUL);
}

/* protocol.md §5: exhaustive check of every 1- and 2-byte input against a reference rule. */
static void test_exhaustive_two_bytes(void **state)
{
    (void)state;
    for (unsigned a = 0; a < 256; a++) {
        uint8_t one = (uint8_t)a;
        edge_utf8_result want1 = a == 0     ? EDGE_UTF8_NUL
                                 : a < 0x80 ? EDGE_UTF8_OK
                                            : EDGE_UTF8_INVALID;
        assert_int_equal(edge_utf8_check(&one, 1), want1);
        for (unsigned b = 0; b < 256; b++) {
            uint8_t two[2] = {(uint8_t)a, (uint8_t)b};
            edge_utf8_result got = edge_utf8_check(two, 2);
            edge_utf8_result want;
            if (a < 0x80 && b < 0x80)
                want = (a == 0 || b == 0) ? EDGE_UTF8_NUL : EDGE_UTF8_OK;
            else if (a >= 0xc2 && a <= 0xdf && b >= 0x80 && b <= 0xbf)
                want = EDGE_UTF8_OK;
            else
                want = EDGE_UTF8_INVALID;
            if (got != want)
                fail_msg("bytes %02x %02x: got %d want %d", a, b, got, want);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_boundaries),
        cmocka_unit_test(test_overlong),
        cmocka_unit_test(test_surrogates),
        cmocka_unit_test(test_above_max),
        cmocka_unit_test(test_truncated_and_stray),
        cmocka_unit_test(test_nul),
        cmocka_unit_test(test_truncate),
        cmocka_unit_test(test_utf16_to_utf8),
        cmocka_unit_test(test_utf8_to_utf16),
        cmocka_unit_test(test_exhaustive_two_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
