/* Unit tests of the bounded JSON writer (common/json.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "edge/json.h"

/* Writes one string value into a fresh fixed writer and checks the exact document. */
static void expect_string_doc(const char *in, size_t n, const char *want)
{
    char buf[256];
    json_writer w;
    const char *out;
    size_t out_len;
    json_init_fixed(&w, buf, sizeof(buf));
    assert_int_equal(json_string_n(&w, in, n), JSON_OK);
    assert_int_equal(json_finish(&w, &out, &out_len), JSON_OK);
    assert_string_equal(out, want);
    assert_int_equal(out_len, strlen(want));
}

static void expect_invalid_utf8(const char *in, size_t n)
{
    char buf[256];
    json_writer w;
    const char *out = "sentinel";
    size_t out_len = 99;
    json_init_fixed(&w, buf, sizeof(buf));
    assert_int_equal(json_object_begin(&w), JSON_OK);
    assert_int_equal(json_kv_string(&w, "ok", "fine"), JSON_OK);
    assert_int_equal(json_key(&w, "bad"), JSON_OK);
    assert_int_equal(json_string_n(&w, in, n), JSON_E_INVALID_UTF8);
    /* Nothing of the partial document survives, and the error is sticky. */
    assert_int_equal(w.len, 0);
    assert_int_equal(buf[0], '\0');
    assert_int_equal(json_object_end(&w), JSON_E_INVALID_UTF8);
    assert_int_equal(json_finish(&w, &out, &out_len), JSON_E_INVALID_UTF8);
    assert_null(out);
    assert_int_equal(out_len, 0);

    /* The same bytes as a key are rejected too. */
    char key[16];
    assert_true(n < sizeof(key));
    memcpy(key, in, n);
    key[n] = '\0';
    if (strlen(key) == n) {
        json_init_fixed(&w, buf, sizeof(buf));
        assert_int_equal(json_object_begin(&w), JSON_OK);
        assert_int_equal(json_key(&w, key), JSON_E_INVALID_UTF8);
        assert_int_equal(buf[0], '\0');
    }
}

static void test_every_control_char_escaped(void **state)
{
    (void)state;
    static const char *const short_forms[0x20] = {
        ['\b'] = "\\b", ['\t'] = "\\t", ['\n'] = "\\n", ['\f'] = "\\f", ['\r'] = "\\r",
    };
    for (unsigned c = 0; c < 0x20; c++) {
        char in[3] = {'a', (char)c, 'b'};
        char want[32];
        if (short_forms[c])
            snprintf(want, sizeof(want), "\"a%sb\"", short_forms[c]);
        else
            snprintf(want, sizeof(want), "\"a\\u%04xb\"", c);
        expect_string_doc(in, sizeof(in), want);
    }
    /* DEL and printable ASCII need no escape. */
    expect_string_doc("\x7f ~/", 4, "\"\x7f ~/\"");
}

static void test_quote_and_backslash_escaped(void **state)
{
    (void)state;
    expect_string_doc("say \"hi\"", 8, "\"say \\\"hi\\\"\"");
    expect_string_doc("C:\\Program Files\\x.exe", 22, "\"C:\\\\Program Files\\\\x.exe\"");
    expect_string_doc("\\\"", 2, "\"\\\\\\\"\"");
    expect_string_doc("", 0, "\"\"");
}

static void test_valid_multibyte_passthrough(void **state)
{
    (void)state;
    static const char *const valid[] = {
        "\xc2\x80",         /* U+0080, smallest 2-byte */
        "\xdf\xbf",         /* U+07FF */
        "\xe0\xa0\x80",     /* U+0800, smallest 3-byte */
        "\xed\x9f\xbf",     /* U+D7FF, just below the surrogates */
        "\xee\x80\x80",     /* U+E000, just above the surrogates */
        "\xef\xbf\xbf",     /* U+FFFF */
        "\xf0\x90\x80\x80", /* U+10000, smallest 4-byte */
        "\xf4\x8f\xbf\xbf", /* U+10FFFF, the last code point */
        "Gr\xc3\xbc\xc3\x9f \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80",
    };
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        char want[64];
        snprintf(want, sizeof(want), "\"%s\"", valid[i]);
        expect_string_doc(valid[i], strlen(valid[i]), want);
    }
    /* Non-ASCII keys pass through as well. */
    char buf[64];
    json_writer w;
    const char *out;
    json_init_fixed(&w, buf, sizeof(buf));
    json_object_begin(&w);
    json_kv_int(&w, "\xc3\xa9t\xc3\xa9", 1);
    json_object_end(&w);
    assert_int_equal(json_finish(&w, &out, NULL), JSON_OK);
    assert_string_equal(out, "{\"\xc3\xa9t\xc3\xa9\":1}");
}

static void test_invalid_utf8_rejected(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        size_t n;
    } invalid[] = {
        {"\x80", 1},               /* stray continuation byte */
        {"a\xbf", 2},              /* stray continuation byte after ASCII */
        {"\xc0\x80", 2},           /* overlong NUL */
        {"\xc1\xbf", 2},           /* overlong U+007F */
        {"\xe0\x80\x80", 3},       /* overlong 3-byte */
        {"\xe0\x9f\xbf", 3},       /* overlong U+07FF */
        {"\xed\xa0\x80", 3},       /* surrogate U+D800 */
        {"\xed\xbf\xbf", 3},       /* surrogate U+DFFF */
        {"\xf0\x80\x80\x80", 4},   /* overlong 4-byte */
        {"\xf0\x8f\xbf\xbf", 4},   /* overlong U+FFFF */
        {"\xf4\x90\x80\x80", 4},   /* U+110000 */
        {"\xf5\x80\x80\x80", 4},   /* lead byte beyond Unicode */
        {"\xfe", 1},               /* never valid */
        {"\xff", 1},               /* never valid */
        {"\xc3", 1},               /* truncated 2-byte */
        {"\xe2\x82", 2},           /* truncated 3-byte */
        {"\xf0\x9f\x98", 3},       /* truncated 4-byte */
        {"\xc3\x28", 2},           /* bad continuation */
        {"\xe2\x28\xa1", 3},       /* bad first continuation of 3 */
        {"\xe2\x82\x28", 3},       /* bad second continuation of 3 */
        {"\xf0\x9f\x98\x28", 4},   /* bad third continuation of 4 */
        {"ok\xe2\x82\xac\xc3", 6}, /* valid text then a truncated tail */
    };
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
        expect_invalid_utf8(invalid[i].bytes, invalid[i].n);
}

static void test_nesting(void **state)
{
    (void)state;
    char buf[256];
    json_writer w;
    const char *out;
    size_t len;
    json_init_fixed(&w, buf, sizeof(buf));
    json_object_begin(&w);
    json_key(&w, "a");
    json_array_begin(&w);
    json_int(&w, 1);
    json_object_begin(&w);
    json_key(&w, "b");
    json_array_begin(&w);
    json_array_end(&w);
    json_kv_null(&w, "n");
    json_object_end(&w);
    json_array_begin(&w);
    json_array_end(&w);
    json_string(&w, NULL);
    json_bool(&w, true);
    json_bool(&w, false);
    json_array_end(&w);
    json_key(&w, "c");
    json_object_begin(&w);
    json_object_end(&w);
    json_kv_bool(&w, "d", false);
    json_kv_hex(&w, "h", "\x01\xab", 2);
    json_object_end(&w);
    assert_int_equal(json_finish(&w, &out, &len), JSON_OK);
    assert_string_equal(out, "{\"a\":[1,{\"b\":[],\"n\":null},[],null,true,false],\"c\":{},"
                             "\"d\":false,\"h\":\"01ab\"}");

    /* Exactly JSON_MAX_DEPTH levels are accepted, one more is not. */
    json_init_fixed(&w, buf, sizeof(buf));
    for (int i = 0; i < JSON_MAX_DEPTH; i++)
        assert_int_equal(json_array_begin(&w), JSON_OK);
    for (int i = 0; i < JSON_MAX_DEPTH; i++)
        assert_int_equal(json_array_end(&w), JSON_OK);
    assert_int_equal(json_finish(&w, &out, &len), JSON_OK);
    assert_int_equal(len, 2 * JSON_MAX_DEPTH);
    json_init_fixed(&w, buf, sizeof(buf));
    for (int i = 0; i < JSON_MAX_DEPTH; i++)
        json_object_begin(&w), json_key(&w, "k");
    assert_int_equal(json_object_begin(&w), JSON_E_STATE);
    assert_int_equal(buf[0], '\0');
}

typedef json_status (*misuse_fn)(json_writer *w);

static json_status misuse_value_without_key(json_writer *w)
{
    json_object_begin(w);
    return json_int(w, 1);
}
static json_status misuse_key_in_array(json_writer *w)
{
    json_array_begin(w);
    return json_key(w, "k");
}
static json_status misuse_key_at_top(json_writer *w)
{
    return json_key(w, "k");
}
static json_status misuse_two_keys(json_writer *w)
{
    json_object_begin(w);
    json_key(w, "a");
    return json_key(w, "b");
}
static json_status misuse_end_after_key(json_writer *w)
{
    json_object_begin(w);
    json_key(w, "a");
    return json_object_end(w);
}
static json_status misuse_wrong_end(json_writer *w)
{
    json_object_begin(w);
    return json_array_end(w);
}
static json_status misuse_end_at_top(json_writer *w)
{
    return json_object_end(w);
}
static json_status misuse_second_top_value(json_writer *w)
{
    json_int(w, 1);
    return json_int(w, 2);
}
static json_status misuse_finish_open(json_writer *w)
{
    const char *out;
    json_array_begin(w);
    return json_finish(w, &out, NULL);
}
static json_status misuse_finish_empty(json_writer *w)
{
    const char *out;
    return json_finish(w, &out, NULL);
}
static json_status misuse_null_key(json_writer *w)
{
    json_object_begin(w);
    return json_key(w, NULL) == JSON_E_INVALID_ARG ? JSON_E_STATE : JSON_OK;
}
static json_status misuse_null_hex(json_writer *w)
{
    return json_hex(w, NULL, 3) == JSON_E_INVALID_ARG ? JSON_E_STATE : JSON_OK;
}

static void test_misuse_is_an_error(void **state)
{
    (void)state;
    static const misuse_fn cases[] = {
        misuse_value_without_key, misuse_key_in_array, misuse_key_at_top, misuse_two_keys,
        misuse_end_after_key,     misuse_wrong_end,    misuse_end_at_top, misuse_second_top_value,
        misuse_finish_open,       misuse_finish_empty, misuse_null_key,   misuse_null_hex,
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[64];
        json_writer w;
        json_init_fixed(&w, buf, sizeof(buf));
        assert_int_equal(cases[i](&w), JSON_E_STATE);
        assert_int_not_equal(json_status_of(&w), JSON_OK);
        assert_int_equal(buf[0], '\0');
        assert_int_equal(w.len, 0);
    }
}

/* Builds a document with every kind of value; used to test every buffer size. */
static json_status build_sample(json_writer *w)
{
    json_object_begin(w);
    json_kv_string(w, "path", "C:\\Users\\\xc3\xa9\t\"x\".exe");
    json_kv_int(w, "min", INT64_MIN);
    json_kv_uint(w, "max", UINT64_MAX);
    json_kv_hex(w, "id", "\x00\x11\x22\x33", 4);
    json_key(w, "list");
    json_array_begin(w);
    json_bool(w, true);
    json_null(w);
    json_array_end(w);
    return json_object_end(w);
}

static void test_buffer_limits_fail_cleanly(void **state)
{
    (void)state;
    static const char want[] = "{\"path\":\"C:\\\\Users\\\\\xc3\xa9\\t\\\"x\\\".exe\","
                               "\"min\":-9223372036854775808,\"max\":18446744073709551615,"
                               "\"id\":\"00112233\",\"list\":[true,null]}";
    char buf[sizeof(want) + 8];
    json_writer w;
    const char *out;
    size_t len;
    /* Every capacity either holds the whole document or fails leaving an empty string. */
    for (size_t cap = 1; cap <= sizeof(buf); cap++) {
        memset(buf, 'Z', sizeof(buf));
        json_init_fixed(&w, buf, cap);
        json_status st = build_sample(&w);
        if (cap >= sizeof(want)) {
            assert_int_equal(st, JSON_OK);
            assert_int_equal(json_finish(&w, &out, &len), JSON_OK);
            assert_string_equal(out, want);
        } else {
            assert_int_equal(st, JSON_E_NO_SPACE);
            assert_int_equal(json_finish(&w, &out, &len), JSON_E_NO_SPACE);
            assert_null(out);
            assert_int_equal(buf[0], '\0');
        }
        /* Never a byte written past the capacity. */
        for (size_t i = cap; i < sizeof(buf); i++)
            assert_int_equal(buf[i], 'Z');
    }
    /* The same for the growable writer's limit. */
    for (size_t limit = 1; limit <= sizeof(want) + 1; limit++) {
        json_init_growable(&w, limit);
        json_status st = build_sample(&w);
        assert_int_equal(st, limit >= sizeof(want) ? JSON_OK : JSON_E_NO_SPACE);
        if (st == JSON_OK) {
            assert_int_equal(json_finish(&w, &out, &len), JSON_OK);
            assert_string_equal(out, want);
        }
        assert_true(w.cap <= limit);
        json_dispose(&w);
    }
    json_init_fixed(&w, NULL, 10);
    assert_int_equal(json_null(&w), JSON_E_INVALID_ARG);
    json_init_fixed(&w, buf, 0);
    assert_int_equal(json_null(&w), JSON_E_INVALID_ARG);
    json_init_growable(&w, 0);
    assert_int_equal(json_null(&w), JSON_E_INVALID_ARG);
}

static void test_growable_grows_to_limit(void **state)
{
    (void)state;
    enum { N = 100000 };
    char *big = malloc(N);
    assert_non_null(big);
    memset(big, 'x', N);
    big[N / 2] = '\n'; /* one escape in the middle: 1 byte becomes 2 */
    json_writer w;
    const char *out;
    size_t len;
    json_init_growable(&w, N + 3 + 1);
    assert_int_equal(json_string_n(&w, big, N), JSON_OK);
    assert_int_equal(json_finish(&w, &out, &len), JSON_OK);
    assert_int_equal(len, N + 3);
    assert_int_equal(out[0], '"');
    assert_memory_equal(out + 1 + N / 2, "\\n", 2);
    assert_int_equal(out[len - 1], '"');
    json_dispose(&w);
    json_init_growable(&w, N + 3);
    assert_int_equal(json_string_n(&w, big, N), JSON_E_NO_SPACE);
    json_dispose(&w);
    free(big);
}

static void expect_int_doc(int64_t v, const char *want)
{
    char buf[32];
    json_writer w;
    const char *out;
    json_init_fixed(&w, buf, sizeof(buf));
    assert_int_equal(json_int(&w, v), JSON_OK);
    assert_int_equal(json_finish(&w, &out, NULL), JSON_OK);
    assert_string_equal(out, want);
}

static void expect_uint_doc(uint64_t v, const char *want)
{
    char buf[32];
    json_writer w;
    const char *out;
    json_init_fixed(&w, buf, sizeof(buf));
    assert_int_equal(json_uint(&w, v), JSON_OK);
    assert_int_equal(json_finish(&w, &out, NULL), JSON_OK);
    assert_string_equal(out, want);
}

static void test_integers_at_limits(void **state)
{
    (void)state;
    expect_int_doc(0, "0");
    expect_int_doc(-1, "-1");
    expect_int_doc(INT64_MAX, "9223372036854775807");
    expect_int_doc(INT64_MIN, "-9223372036854775808");
    expect_int_doc(INT64_MIN + 1, "-9223372036854775807");
    expect_int_doc(INT32_MIN, "-2147483648");
    expect_uint_doc(0, "0");
    expect_uint_doc(UINT64_MAX, "18446744073709551615");
    expect_uint_doc(UINT32_MAX, "4294967295");
    expect_uint_doc(10, "10");
}

static void test_hex(void **state)
{
    (void)state;
    char buf[64];
    json_writer w;
    const char *out;
    json_init_fixed(&w, buf, sizeof(buf));
    json_array_begin(&w);
    json_hex(&w, "\x00\xff\x7f\x80\x0a", 5);
    json_hex(&w, NULL, 0);
    json_array_end(&w);
    assert_int_equal(json_finish(&w, &out, NULL), JSON_OK);
    assert_string_equal(out, "[\"00ff7f800a\",\"\"]");
}

static void test_reset_reuses_buffer(void **state)
{
    (void)state;
    char buf[16];
    json_writer w;
    const char *out;
    json_init_fixed(&w, buf, sizeof(buf));
    assert_int_equal(json_string(&w, "this does not fit"), JSON_E_NO_SPACE);
    json_reset(&w);
    assert_int_equal(json_string(&w, "fits"), JSON_OK);
    assert_int_equal(json_finish(&w, &out, NULL), JSON_OK);
    assert_string_equal(out, "\"fits\"");
    json_reset(&w);
    assert_int_equal(json_uint(&w, 7), JSON_OK);
    assert_int_equal(json_finish(&w, &out, NULL), JSON_OK);
    assert_string_equal(out, "7");
}

static void test_status_names(void **state)
{
    (void)state;
    assert_string_equal(json_status_name(JSON_OK), "JSON_OK");
    assert_string_equal(json_status_name(JSON_E_NO_SPACE), "JSON_E_NO_SPACE");
    assert_string_equal(json_status_name(JSON_E_NO_MEMORY), "JSON_E_NO_MEMORY");
    assert_string_equal(json_status_name(JSON_E_INVALID_UTF8), "JSON_E_INVALID_UTF8");
    assert_string_equal(json_status_name(JSON_E_STATE), "JSON_E_STATE");
    assert_string_equal(json_status_name(JSON_E_INVALID_ARG), "JSON_E_INVALID_ARG");
    assert_string_equal(json_status_name((json_status)99), "JSON_E_UNKNOWN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_control_char_escaped),
        cmocka_unit_test(test_quote_and_backslash_escaped),
        cmocka_unit_test(test_valid_multibyte_passthrough),
        cmocka_unit_test(test_invalid_utf8_rejected),
        cmocka_unit_test(test_nesting),
        cmocka_unit_test(test_misuse_is_an_error),
        cmocka_unit_test(test_buffer_limits_fail_cleanly),
        cmocka_unit_test(test_growable_grows_to_limit),
        cmocka_unit_test(test_integers_at_limits),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_reset_reuses_buffer),
        cmocka_unit_test(test_status_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
