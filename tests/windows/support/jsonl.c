/* Reading JSON-lines files back in tests (see jsonl.h). */
#include <windows.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jsonl.h"

static const char *ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

/* Decodes a JSON string at *p into out (UTF-8), advancing *p past the closing quote. */
static bool jstring(const char **p, const char *end, char *out, size_t cap)
{
    const char *s = *p;
    size_t o = 0;
    if (s >= end || *s++ != '"')
        return false;
    while (s < end && *s != '"') {
        unsigned char c = (unsigned char)*s++;
        unsigned cp = c;
        if (c < 0x20)
            return false; /* control characters must be escaped */
        if (c == '\\') {
            if (s >= end)
                return false;
            char e = *s++;
            const char *simple = strchr("\"\\/bfnrt", e);
            if (e && simple) {
                static const char map[] = "\"\\/\b\f\n\r\t";
                cp = (unsigned char)map[simple - "\"\\/bfnrt"];
            } else if (e == 'u' && end - s >= 4) {
                char hex[5] = {s[0], s[1], s[2], s[3], 0};
                char *stop;
                cp = (unsigned)strtoul(hex, &stop, 16);
                if (stop != hex + 4)
                    return false;
                s += 4;
            } else {
                return false;
            }
        }
        char enc[4];
        size_t n = 0;
        if (cp < 0x80 || c >= 0x80) { /* raw bytes pass as they are */
            enc[n++] = (char)cp;
        } else if (cp < 0x800) {
            enc[n++] = (char)(0xC0 | (cp >> 6));
            enc[n++] = (char)(0x80 | (cp & 0x3F));
        } else {
            enc[n++] = (char)(0xE0 | (cp >> 12));
            enc[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            enc[n++] = (char)(0x80 | (cp & 0x3F));
        }
        if (out) {
            if (o + n >= cap)
                return false;
            memcpy(out + o, enc, n);
        }
        o += n;
    }
    if (s >= end)
        return false;
    if (out)
        out[o] = '\0';
    *p = s + 1;
    return true;
}

static bool jvalue(const char **p, const char *end, int depth);

static bool jcontainer(const char **p, const char *end, int depth, bool object)
{
    const char *s = ws(*p + 1, end);
    char close = object ? '}' : ']';
    if (depth > 16)
        return false;
    if (s < end && *s == close) {
        *p = s + 1;
        return true;
    }
    for (;;) {
        if (object) {
            if (!jstring(&s, end, NULL, 0))
                return false;
            s = ws(s, end);
            if (s >= end || *s++ != ':')
                return false;
        }
        s = ws(s, end);
        if (!jvalue(&s, end, depth + 1))
            return false;
        s = ws(s, end);
        if (s < end && *s == ',') {
            s = ws(s + 1, end);
            continue;
        }
        if (s < end && *s == close) {
            *p = s + 1;
            return true;
        }
        return false;
    }
}

static bool jvalue(const char **p, const char *end, int depth)
{
    const char *s = *p;
    if (s >= end)
        return false;
    if (*s == '"')
        return jstring(p, end, NULL, 0);
    if (*s == '{' || *s == '[')
        return jcontainer(p, end, depth, *s == '{');
    static const char *const lits[] = {"true", "false", "null"};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(lits[i]);
        if ((size_t)(end - s) >= n && memcmp(s, lits[i], n) == 0) {
            *p = s + n;
            return true;
        }
    }
    const char *start = s;
    if (*s == '-')
        s++;
    while (s < end && *s >= '0' && *s <= '9')
        s++;
    if (s == start || (s == start + 1 && *start == '-'))
        return false;
    *p = s;
    return true;
}

/* Parses exactly one JSON object spanning text[0..n) and lists its members. */
bool jsonl_parse(const char *text, size_t n, jsonl_obj *o)
{
    const char *end = text + n;
    const char *s = ws(text, end);
    memset(o, 0, sizeof(*o));
    if (s >= end || *s != '{')
        return false;
    const char *check = s;
    if (!jcontainer(&check, end, 0, true) || ws(check, end) != end)
        return false;
    s = ws(s + 1, end);
    while (s < end && *s != '}') {
        if (o->n >= JSONL_MAX_FIELDS)
            return false;
        jsonl_field *f = &o->f[o->n++];
        if (!jstring(&s, end, f->key, sizeof(f->key)))
            return false;
        s = ws(s, end) + 1; /* ':' */
        s = ws(s, end);
        f->val = s;
        if (!jvalue(&s, end, 1))
            return false;
        f->len = (size_t)(s - f->val);
        s = ws(s, end);
        if (*s == ',')
            s = ws(s + 1, end);
    }
    return true;
}

const jsonl_field *jsonl_get(const jsonl_obj *o, const char *key)
{
    for (int i = 0; i < o->n; i++)
        if (strcmp(o->f[i].key, key) == 0)
            return &o->f[i];
    return NULL;
}

/* The member's value decoded as a string; fails the test when absent or not a string. */
const char *jsonl_str(const jsonl_obj *o, const char *key)
{
    static char buf[8][4096];
    static int next;
    const jsonl_field *f = jsonl_get(o, key);
    if (!f)
        fail_msg("missing key %s", key);
    char *out = buf[next++ % 8];
    const char *p = f->val;
    if (!jstring(&p, f->val + f->len, out, sizeof(buf[0])))
        fail_msg("key %s is not a string: %.*s", key, (int)f->len, f->val);
    return out;
}

bool jsonl_is(const jsonl_obj *o, const char *key, const char *raw)
{
    const jsonl_field *f = jsonl_get(o, key);
    return f && f->len == strlen(raw) && memcmp(f->val, raw, f->len) == 0;
}

uint64_t jsonl_num(const jsonl_obj *o, const char *key)
{
    const jsonl_field *f = jsonl_get(o, key);
    if (!f || f->len == 0 || f->len > 20 || f->val[0] < '0' || f->val[0] > '9')
        fail_msg("key %s is not a number", key);
    return strtoull(f->val, NULL, 10);
}

void jsonl_check_time(const char *t)
{
    assert_non_null(t);
    assert_int_equal(strlen(t), 24);
    for (int i = 0; i < 24; i++) {
        char c = t[i];
        switch (i) {
        case 4:
        case 7:
            assert_int_equal(c, '-');
            break;
        case 10:
            assert_int_equal(c, 'T');
            break;
        case 13:
        case 16:
            assert_int_equal(c, ':');
            break;
        case 19:
            assert_int_equal(c, '.');
            break;
        case 23:
            assert_int_equal(c, 'Z');
            break;
        default:
            assert_true(c >= '0' && c <= '9');
        }
    }
    assert_true(strncmp(t, "2000", 4) > 0);
}

char *jsonl_read_file(const wchar_t *path, size_t *len)
{
    *len = 0;
    HANDLE h =
        CreateFileW(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                    NULL, OPEN_EXISTING, 0, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return NULL;
    LARGE_INTEGER size;
    assert_true(GetFileSizeEx(h, &size));
    assert_true(size.QuadPart < 0x40000000);
    char *buf = malloc((size_t)size.QuadPart + 1);
    assert_non_null(buf);
    DWORD got = 0;
    assert_true(ReadFile(h, buf, (DWORD)size.QuadPart, &got, NULL));
    assert_int_equal(got, (DWORD)size.QuadPart);
    buf[got] = '\0';
    CloseHandle(h);
    *len = got;
    return buf;
}

size_t jsonl_split_lines(char *buf, size_t len, char **lines, size_t max)
{
    size_t n = 0;
    char *p = buf;
    while (p < buf + len) {
        char *nl = memchr(p, '\n', (size_t)(buf + len - p));
        assert_non_null(nl); /* no torn last line */
        *nl = '\0';
        assert_true(n < max);
        lines[n++] = p;
        p = nl + 1;
    }
    return n;
}
