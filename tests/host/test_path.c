/* Path rules: canonical form, comparison key, every rejection class, patterns and matching. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "edge/path.h"

struct canon_case {
    const char *in;
    edge_path_result expect;
    const char *canonical; /* when expect is OK */
};

static void run_canon(const struct canon_case *c, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        char out[512];
        size_t out_len = 99;
        edge_path_result r =
            edge_path_canonicalize(c[i].in, strlen(c[i].in), out, sizeof(out), &out_len);
        if (r != c[i].expect)
            fail_msg("'%s': got %s, want %s", c[i].in, edge_path_result_name(r),
                     edge_path_result_name(c[i].expect));
        if (r == EDGE_PATH_OK) {
            assert_string_equal(out, c[i].canonical);
            assert_int_equal(out_len, strlen(c[i].canonical));
            assert_true(edge_path_is_canonical(out));
        } else {
            assert_string_equal(out, "");
            assert_int_equal(out_len, 0);
        }
    }
}

static void test_canonical_forms(void **state)
{
    static const struct canon_case c[] = {
        {"C:\\Program Files\\App\\app.exe", EDGE_PATH_OK, "C:\\Program Files\\App\\app.exe"},
        {"c:/Program Files/App/app.exe", EDGE_PATH_OK, "c:\\Program Files\\App\\app.exe"},
        {"C:\\\\dir//\\x.exe", EDGE_PATH_OK, "C:\\dir\\x.exe"},
        {"\\\\?\\C:\\dir\\x.exe", EDGE_PATH_OK, "C:\\dir\\x.exe"},
        {"\\\\?\\UNC\\srv\\share\\x.exe", EDGE_PATH_OK, "\\\\srv\\share\\x.exe"},
        {"\\\\?\\unc\\srv\\share\\x.exe", EDGE_PATH_OK, "\\\\srv\\share\\x.exe"},
        {"\\\\srv\\share\\d\\x.exe", EDGE_PATH_OK, "\\\\srv\\share\\d\\x.exe"},
        {"//srv/share//x.exe", EDGE_PATH_OK, "\\\\srv\\share\\x.exe"},
        {"C:\\a\\.hidden\\x", EDGE_PATH_OK, "C:\\a\\.hidden\\x"},
        {"C:\\a\\...x", EDGE_PATH_OK, "C:\\a\\...x"},
        {"C:\\console\\x", EDGE_PATH_OK, "C:\\console\\x"},
        {"C:\\com10\\comx\\lpt\\x", EDGE_PATH_OK, "C:\\com10\\comx\\lpt\\x"},
        {"C:\\100%\\x.exe", EDGE_PATH_OK, "C:\\100%\\x.exe"},
        {"C:\\Programme\\\xc3\x9c"
         "ber\\x.exe",
         EDGE_PATH_OK,
         "C:\\Programme\\\xc3\x9c"
         "ber\\x.exe"},
        {"\\\\10.1.2.3\\apps\\x.exe", EDGE_PATH_OK, "\\\\10.1.2.3\\apps\\x.exe"},
        {"\\\\srv\\c$x\\x.exe", EDGE_PATH_OK, "\\\\srv\\c$x\\x.exe"},
        {"\\\\128.0.0.1\\s\\x", EDGE_PATH_OK, "\\\\128.0.0.1\\s\\x"},
        {"\\\\1270.0.0.1\\s\\x", EDGE_PATH_OK, "\\\\1270.0.0.1\\s\\x"},
    };
    (void)state;
    run_canon(c, sizeof(c) / sizeof(c[0]));
}

static void test_rejections(void **state)
{
    static const struct canon_case c[] = {
        {"", EDGE_PATH_E_EMPTY, NULL},
        {"app.exe", EDGE_PATH_E_RELATIVE, NULL},
        {"dir\\app.exe", EDGE_PATH_E_RELATIVE, NULL},
        {"C:app.exe", EDGE_PATH_E_RELATIVE, NULL},
        {"C:", EDGE_PATH_E_RELATIVE, NULL},
        {"\\dir\\app.exe", EDGE_PATH_E_RELATIVE, NULL},
        {"/dir/app.exe", EDGE_PATH_E_RELATIVE, NULL},
        {"1:\\x", EDGE_PATH_E_INVALID_CHAR, NULL},
        {"C:\\a\\..\\x.exe", EDGE_PATH_E_DOT_SEGMENT, NULL},
        {"C:\\a\\.\\x.exe", EDGE_PATH_E_DOT_SEGMENT, NULL},
        {"C:\\..", EDGE_PATH_E_DOT_SEGMENT, NULL},
        {"\\\\?\\C:\\a\\..\\x", EDGE_PATH_E_DOT_SEGMENT, NULL},
        {"\\\\.\\C:\\x.exe", EDGE_PATH_E_DEVICE, NULL},
        {"\\\\.\\pipe\\x", EDGE_PATH_E_DEVICE, NULL},
        {"//./C:/x", EDGE_PATH_E_DEVICE, NULL},
        {"\\\\.", EDGE_PATH_E_DEVICE, NULL},
        {"\\\\?", EDGE_PATH_E_DEVICE, NULL},
        {"//?/C:/x", EDGE_PATH_E_DEVICE, NULL},
        {"\\??\\C:\\x.exe", EDGE_PATH_E_DEVICE, NULL},
        {"\\\\?\\Volume{0b1c2d3e-0000-0000-0000-100000000000}\\x.exe", EDGE_PATH_E_DEVICE, NULL},
        {"\\\\?\\GLOBALROOT\\Device\\HarddiskVolume1\\x", EDGE_PATH_E_DEVICE, NULL},
        {"\\\\?\\C:", EDGE_PATH_E_DEVICE, NULL},
        {"C:\\dir\\CON", EDGE_PATH_E_DEVICE, NULL},
        {"C:\\dir\\nul.txt", EDGE_PATH_E_DEVICE, NULL},
        {"C:\\con.d\\x", EDGE_PATH_E_DEVICE, NULL},
        {"C:\\dir\\Aux .exe", EDGE_PATH_E_DEVICE, NULL},
        {"C:\\prn\\x.exe", EDGE_PATH_E_DEVICE, NULL},
        {"C:\\d\\COM1", EDGE_PATH_E_DEVICE, NULL},
        {"C:\\d\\lpt9.log", EDGE_PATH_E_DEVICE, NULL},
        {"C:\\d\\COM0", EDGE_PATH_E_DEVICE, NULL},
        {"C:\\d\\LPT\xc2\xb9", EDGE_PATH_E_DEVICE, NULL},
        {"C:\\d\\com\xc2\xb3.x", EDGE_PATH_E_DEVICE, NULL},
        {"C:\\d\\CONIN$", EDGE_PATH_E_DEVICE, NULL},
        {"C:\\d\\conout$.x", EDGE_PATH_E_DEVICE, NULL},
        {"\\\\localhost\\c\\x.exe", EDGE_PATH_E_UNC_ALIAS, NULL},
        {"\\\\LocalHost\\share\\x.exe", EDGE_PATH_E_UNC_ALIAS, NULL},
        {"\\\\127.0.0.1\\share\\x.exe", EDGE_PATH_E_UNC_ALIAS, NULL},
        {"\\\\127.1\\share\\x.exe", EDGE_PATH_E_UNC_ALIAS, NULL},
        {"\\\\2130706433\\share\\x.exe", EDGE_PATH_E_UNC_ALIAS, NULL},
        {"\\\\0x7f000001\\share\\x.exe", EDGE_PATH_E_UNC_ALIAS, NULL},
        {"\\\\0177.0.0.1\\share\\x.exe", EDGE_PATH_E_UNC_ALIAS, NULL},
        {"\\\\0.0.0.0\\share\\x.exe", EDGE_PATH_E_UNC_ALIAS, NULL},
        {"\\\\0\\share\\x.exe", EDGE_PATH_E_UNC_ALIAS, NULL},
        {"\\\\::1\\share\\x.exe", EDGE_PATH_E_UNC_ALIAS, NULL},
        {"\\\\[::1]\\share\\x.exe", EDGE_PATH_E_UNC_ALIAS, NULL},
        {"\\\\0--1.ipv6-literal.net\\share\\x.exe", EDGE_PATH_E_UNC_ALIAS, NULL},
        {"\\\\srv\\C$\\Windows\\x.exe", EDGE_PATH_E_UNC_ALIAS, NULL},
        {"\\\\srv\\admin$\\x.exe", EDGE_PATH_E_UNC_ALIAS, NULL},
        {"\\\\?\\UNC\\localhost\\c$\\x.exe", EDGE_PATH_E_UNC_ALIAS, NULL},
        {"C:\\dir.\\x.exe", EDGE_PATH_E_TRAILING_DOT, NULL},
        {"C:\\dir\\x.exe.", EDGE_PATH_E_TRAILING_DOT, NULL},
        {"C:\\dir\\x.exe ", EDGE_PATH_E_TRAILING_DOT, NULL},
        {"C:\\dir \\x.exe", EDGE_PATH_E_TRAILING_DOT, NULL},
        {"C:\\dir\\x.exe:stream", EDGE_PATH_E_STREAM, NULL},
        {"C:\\dir\\x.exe::$DATA", EDGE_PATH_E_STREAM, NULL},
        {"C:\\dir:ads\\x.exe", EDGE_PATH_E_STREAM, NULL},
        {"C:\\a<b", EDGE_PATH_E_INVALID_CHAR, NULL},
        {"C:\\a>b", EDGE_PATH_E_INVALID_CHAR, NULL},
        {"C:\\a\"b", EDGE_PATH_E_INVALID_CHAR, NULL},
        {"C:\\a|b", EDGE_PATH_E_INVALID_CHAR, NULL},
        {"C:\\a?b", EDGE_PATH_E_INVALID_CHAR, NULL},
        {"C:\\a*b", EDGE_PATH_E_INVALID_CHAR, NULL},
        {"C:\\a\x01"
         "b",
         EDGE_PATH_E_INVALID_CHAR, NULL},
        {"C:\\a\tb", EDGE_PATH_E_INVALID_CHAR, NULL},
        {"\\\\?\\C:\\a/b", EDGE_PATH_E_INVALID_CHAR, NULL},
        {"C:\\", EDGE_PATH_E_SYNTAX, NULL},
        {"C:\\dir\\", EDGE_PATH_E_SYNTAX, NULL},
        {"C:/dir/", EDGE_PATH_E_SYNTAX, NULL},
        {"\\\\srv\\share", EDGE_PATH_E_SYNTAX, NULL},
        {"\\\\srv\\share\\", EDGE_PATH_E_SYNTAX, NULL},
        {"\\\\srv", EDGE_PATH_E_SYNTAX, NULL},
        {"\\\\", EDGE_PATH_E_SYNTAX, NULL},
        {"\\\\\\srv\\share\\x", EDGE_PATH_E_SYNTAX, NULL},
        {"\\\\?\\UNC\\", EDGE_PATH_E_SYNTAX, NULL},
        {"C:\\a\xff", EDGE_PATH_E_ENCODING, NULL},
        {"C:\\a\xc0\xaf", EDGE_PATH_E_ENCODING, NULL},         /* overlong '/' */
        {"C:\\a\xed\xa0\x80", EDGE_PATH_E_ENCODING, NULL},     /* surrogate */
        {"C:\\a\xf4\x90\x80\x80", EDGE_PATH_E_ENCODING, NULL}, /* > U+10FFFF */
        {"C:\\a\xe2\x82", EDGE_PATH_E_ENCODING, NULL},         /* truncated */
        {"C:\\a\x80", EDGE_PATH_E_ENCODING, NULL},
    };
    (void)state;
    run_canon(c, sizeof(c) / sizeof(c[0]));
}

static void test_embedded_nul_and_length(void **state)
{
    static const char with_nul[] = "C:\\a\0b.exe";
    char out[64];
    char *big;
    size_t n;
    (void)state;
    assert_int_equal(edge_path_canonicalize(with_nul, sizeof(with_nul) - 1, out, sizeof(out), &n),
                     EDGE_PATH_E_EMBEDDED_NUL);
    big = malloc(EDGE_PATH_MAX_BYTES + 2);
    assert_non_null(big);
    memset(big, 'a', EDGE_PATH_MAX_BYTES + 1);
    memcpy(big, "C:\\", 3);
    /* Exactly the limit is fine; one more byte is not. */
    {
        char *o = malloc(EDGE_PATH_MAX_BYTES + 1);
        assert_non_null(o);
        assert_int_equal(
            edge_path_canonicalize(big, EDGE_PATH_MAX_BYTES, o, EDGE_PATH_MAX_BYTES + 1, &n),
            EDGE_PATH_OK);
        assert_int_equal(n, EDGE_PATH_MAX_BYTES);
        assert_int_equal(
            edge_path_canonicalize(big, EDGE_PATH_MAX_BYTES + 1, o, EDGE_PATH_MAX_BYTES + 1, &n),
            EDGE_PATH_E_TOO_LONG);
        free(o);
    }
    free(big);
}

static void test_arguments_and_buffer(void **state)
{
    char out[16];
    size_t n = 7;
    (void)state;
    assert_int_equal(edge_path_canonicalize(NULL, 3, out, sizeof(out), &n), EDGE_PATH_E_ARG);
    assert_int_equal(n, 0);
    assert_int_equal(edge_path_canonicalize("C:\\x", 4, NULL, 5, &n), EDGE_PATH_E_ARG);
    /* "C:\x" needs 5 bytes with its terminator. */
    assert_int_equal(edge_path_canonicalize("C:\\x", 4, out, 4, &n), EDGE_PATH_E_BUFFER);
    assert_string_equal(out, "");
    assert_int_equal(edge_path_canonicalize("C:\\x", 4, out, 0, NULL), EDGE_PATH_E_BUFFER);
    assert_int_equal(edge_path_canonicalize("C:\\x", 4, out, 5, NULL), EDGE_PATH_OK);
    assert_string_equal(out, "C:\\x");
    /* Not NUL-terminated input: only len bytes are read. */
    assert_int_equal(edge_path_canonicalize("C:\\xyz", 4, out, sizeof(out), &n), EDGE_PATH_OK);
    assert_string_equal(out, "C:\\x");
    /* The prefixed form shrinks, so a buffer smaller than the input can suffice. */
    assert_int_equal(edge_path_canonicalize("\\\\?\\C:\\x", 8, out, 5, &n), EDGE_PATH_OK);
    assert_false(edge_path_is_canonical(NULL));
    assert_false(edge_path_is_canonical(""));
    assert_false(edge_path_is_canonical("c:/x"));
    assert_false(edge_path_is_canonical("C:\\\\x"));
    assert_false(edge_path_is_canonical("\\\\?\\C:\\x"));
    assert_true(edge_path_is_canonical("C:\\x"));
}

static void test_key_folds_ascii_only(void **state)
{
    char a[64], b[64];
    size_t na, nb;
    (void)state;
    assert_int_equal(edge_path_key("C:/Program Files/APP.EXE", 24, a, sizeof(a), &na),
                     EDGE_PATH_OK);
    assert_string_equal(a, "c:\\program files\\app.exe");
    assert_int_equal(edge_path_key("\\\\?\\c:\\PROGRAM FILES\\app.exe", 28, b, sizeof(b), &nb),
                     EDGE_PATH_OK);
    assert_string_equal(a, b);
    /* U+00DC vs U+00FC: not folded (documented: fail closed). */
    assert_int_equal(edge_path_key("C:\\\xc3\x9c", 5, a, sizeof(a), &na), EDGE_PATH_OK);
    assert_int_equal(edge_path_key("C:\\\xc3\xbc", 5, b, sizeof(b), &nb), EDGE_PATH_OK);
    assert_string_not_equal(a, b);
    assert_string_equal(a, "c:\\\xc3\x9c");
}

static void test_result_names(void **state)
{
    int i;
    (void)state;
    for (i = 0; i < EDGE_PATH_RESULT_COUNT_; i++)
        assert_true(strncmp(edge_path_result_name((edge_path_result)i), "EDGE_PATH_", 10) == 0);
    assert_string_equal(edge_path_result_name(EDGE_PATH_E_STREAM), "EDGE_PATH_E_STREAM");
    assert_string_equal(edge_path_result_name(EDGE_PATH_E_NO_MEMORY), "EDGE_PATH_E_NO_MEMORY");
    assert_string_equal(edge_path_result_name(EDGE_PATH_RESULT_COUNT_), "EDGE_PATH_UNKNOWN");
}

static bool m(const char *pattern, const char *path)
{
    bool matched = true;
    edge_path_result r = edge_path_match(pattern, strlen(pattern), path, strlen(path), &matched);
    if (r != EDGE_PATH_OK)
        fail_msg("match('%s','%s'): %s", pattern, path, edge_path_result_name(r));
    return matched;
}

static void test_match(void **state)
{
    (void)state;
    assert_true(m("C:\\Program Files\\App\\app.exe", "c:\\program files\\app\\APP.EXE"));
    assert_true(m("C:/Program Files/App/*.exe", "C:\\Program Files\\App\\x.exe"));
    assert_true(m("C:\\Program Files\\App\\*.exe", "C:\\Program Files\\App\\.exe"));
    assert_false(m("C:\\Program Files\\App\\*.exe", "C:\\Program Files\\App\\sub\\x.exe"));
    assert_false(m("C:\\Program Files\\App\\*.exe", "C:\\Program Files\\App\\x.exe.bak"));
    assert_true(m("C:\\Program Files\\App\\**\\*.exe", "C:\\Program Files\\App\\x.exe"));
    assert_true(m("C:\\Program Files\\App\\**\\*.exe", "C:\\Program Files\\App\\a\\b\\c\\x.exe"));
    assert_false(m("C:\\Program Files\\App\\**\\*.exe", "C:\\Program Files\\Other\\x.exe"));
    assert_true(m("C:\\**\\bin\\*", "C:\\a\\bin\\b\\bin\\tool"));
    assert_false(m("C:\\**\\bin\\*", "C:\\a\\bin\\b\\bin2\\tool"));
    assert_true(m("C:\\a\\**", "C:\\a\\b\\c"));
    assert_true(m("C:\\a\\**\\**\\x", "C:\\a\\x"));
    assert_true(m("C:\\a*b*c\\x", "C:\\abxbyc\\x"));
    assert_false(m("C:\\a*b*c\\x", "C:\\abxbyd\\x"));
    assert_true(m("C:\\*\\x", "C:\\anything\\x"));
    assert_false(m("C:\\*\\x", "C:\\a\\b\\x"));
    /* Anchored at both ends. */
    assert_false(m("C:\\a\\x", "C:\\a\\x\\y"));
    assert_false(m("C:\\a\\x", "D:\\a\\x"));
    assert_false(m("C:\\a\\x\\y", "C:\\a\\x"));
    /* UNC roots are literal and compared like the rest. */
    assert_true(m("\\\\srv\\apps\\**\\*.exe", "\\\\?\\UNC\\SRV\\Apps\\v1\\x.exe"));
    assert_false(m("\\\\srv\\apps\\**\\*.exe", "\\\\srv2\\apps\\x.exe"));
    assert_false(m("C:\\apps\\*.exe", "\\\\srv\\apps\\x.exe"));
    /* Pathological backtracking stays cheap (would take ages if exponential). */
    assert_false(
        m("C:\\**\\**\\**\\**\\**\\**\\**\\**\\*a*a*a*a*a*a*a*a*b\\z",
          "C:\\aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\\aaaaaaaaaaaaaaaaaaaaaaaaaa\\a\\a\\a"
          "\\a\\a\\a\\a\\a\\a\\a\\a\\a\\aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\\z"));
}

static edge_path_result pc(const char *pattern)
{
    return edge_path_pattern_check(pattern, strlen(pattern));
}

static void test_pattern_errors(void **state)
{
    bool matched = true;
    (void)state;
    assert_int_equal(pc("%ProgramFiles%\\App\\*.exe"), EDGE_PATH_E_UNEXPANDED);
    assert_int_equal(pc("C:\\100%\\x"), EDGE_PATH_E_UNEXPANDED);
    assert_int_equal(pc("C:\\a**\\x"), EDGE_PATH_E_BAD_PATTERN);
    assert_int_equal(pc("C:\\***\\x"), EDGE_PATH_E_BAD_PATTERN);
    assert_int_equal(pc("\\\\*\\share\\x"), EDGE_PATH_E_BAD_PATTERN);
    assert_int_equal(pc("\\\\srv\\*\\x"), EDGE_PATH_E_BAD_PATTERN);
    assert_int_equal(pc("*:\\x"), EDGE_PATH_E_INVALID_CHAR);
    assert_int_equal(pc("**\\x.exe"), EDGE_PATH_E_RELATIVE);
    assert_int_equal(pc("C:\\a?\\x"), EDGE_PATH_E_INVALID_CHAR);
    assert_int_equal(pc("C:\\a\\..\\*"), EDGE_PATH_E_DOT_SEGMENT);
    assert_int_equal(pc("C:\\a\\*."), EDGE_PATH_E_TRAILING_DOT);
    assert_int_equal(pc("C:\\a\\*:s"), EDGE_PATH_E_STREAM);
    assert_int_equal(pc("C:\\a\\**"), EDGE_PATH_OK);
    assert_int_equal(edge_path_pattern_check(NULL, 7), EDGE_PATH_E_ARG);
    assert_int_equal(edge_path_pattern_check("C:\\x", EDGE_PATH_MAX_BYTES + 1),
                     EDGE_PATH_E_TOO_LONG);
    /* Errors from either side are reported and never count as a match. */
    assert_int_equal(edge_path_match("%X%\\*", 5, "C:\\a", 4, &matched), EDGE_PATH_E_UNEXPANDED);
    assert_false(matched);
    matched = true;
    assert_int_equal(edge_path_match("C:\\**", 5, "C:\\a\\..\\b", 9, &matched),
                     EDGE_PATH_E_DOT_SEGMENT);
    assert_false(matched);
    matched = true;
    assert_int_equal(edge_path_match("C:\\**", 5, "C:\\a\\*", 6, &matched),
                     EDGE_PATH_E_INVALID_CHAR);
    assert_false(matched);
    assert_int_equal(edge_path_match("C:\\**", 5, "C:\\a", 4, NULL), EDGE_PATH_E_ARG);
    assert_int_equal(edge_path_match("C:\\**", 5, NULL, 4, &matched), EDGE_PATH_E_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canonical_forms),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_embedded_nul_and_length),
        cmocka_unit_test(test_arguments_and_buffer),
        cmocka_unit_test(test_key_folds_ascii_only),
        cmocka_unit_test(test_result_names),
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_pattern_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
