/* JSON writer into a bounded buffer (see edge/json.h). */
#include "edge/json.h"

#include "edge/utf8.h"

#include <stdlib.h>
#include <string.h>

#define FRAME_OBJECT   0x1u /* the container is an object (else an array) */
#define FRAME_NONEMPTY 0x2u /* the container already holds a member, so the next needs a comma */

/* Smallest heap buffer a growable writer starts with. */
#define GROW_MIN 256u

static const char hex_digits[] = "0123456789abcdef";

static json_status fail(json_writer *w, json_status status)
{
    if (w->status == JSON_OK)
        w->status = status;
    /* Never leave a partial document behind: the output is empty after any error. */
    w->len = 0;
    if (w->buf && w->cap > 0)
        w->buf[0] = '\0';
    return w->status;
}

void json_init_fixed(json_writer *w, char *buf, size_t cap)
{
    memset(w, 0, sizeof(*w));
    if (!buf || cap == 0) {
        w->status = JSON_E_INVALID_ARG;
        return;
    }
    w->buf = buf;
    w->cap = cap;
    w->limit = cap;
    w->buf[0] = '\0';
}

void json_init_growable(json_writer *w, size_t limit)
{
    memset(w, 0, sizeof(*w));
    w->growable = true;
    w->limit = limit;
    if (limit == 0)
        w->status = JSON_E_INVALID_ARG;
}

void json_dispose(json_writer *w)
{
    if (w->growable)
        free(w->buf);
    w->buf = NULL;
    w->cap = 0;
    w->len = 0;
}

void json_reset(json_writer *w)
{
    /* A writer whose buffer is unusable stays failed; anything else starts over. */
    if (!w->growable && (!w->buf || w->cap == 0))
        return;
    if (w->growable && w->limit == 0)
        return;
    w->len = 0;
    w->done = false;
    w->key_pending = false;
    w->status = JSON_OK;
    w->depth = 0;
    if (w->buf)
        w->buf[0] = '\0';
}

json_status json_status_of(const json_writer *w)
{
    return w->status;
}

/* Makes room for n more bytes plus the NUL terminator. */
static bool reserve(json_writer *w, size_t n)
{
    size_t avail = w->cap > w->len ? w->cap - w->len : 0;
    /* avail counts the NUL's byte too, so n must be strictly smaller. */
    if (n < avail)
        return true;
    if (!w->growable) {
        fail(w, JSON_E_NO_SPACE);
        return false;
    }
    /* need = len + n + 1, computed without overflow against the limit. */
    if (w->len >= w->limit || n >= w->limit - w->len) {
        fail(w, JSON_E_NO_SPACE);
        return false;
    }
    size_t need = w->len + n + 1;
    size_t new_cap = w->cap < GROW_MIN ? GROW_MIN : w->cap;
    while (new_cap < need)
        new_cap = new_cap > w->limit / 2 ? w->limit : new_cap * 2;
    if (new_cap > w->limit)
        new_cap = w->limit;
    char *p = realloc(w->buf, new_cap);
    if (!p) {
        fail(w, JSON_E_NO_MEMORY);
        return false;
    }
    w->buf = p;
    w->cap = new_cap;
    return true;
}

static bool put(json_writer *w, const char *s, size_t n)
{
    if (!reserve(w, n))
        return false;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
    return true;
}

static bool put_char(json_writer *w, char c)
{
    return put(w, &c, 1);
}

/* Writes the separator a value needs here, or fails when no value is allowed here. */
static bool before_value(json_writer *w)
{
    if (w->status != JSON_OK)
        return false;
    if (w->depth == 0) {
        if (w->done) {
            fail(w, JSON_E_STATE);
            return false;
        }
        return true;
    }
    uint8_t *frame = &w->frames[w->depth - 1];
    if (*frame & FRAME_OBJECT) {
        if (!w->key_pending) {
            fail(w, JSON_E_STATE);
            return false;
        }
        w->key_pending = false;
        return true;
    }
    if (*frame & FRAME_NONEMPTY)
        if (!put_char(w, ','))
            return false;
    *frame |= FRAME_NONEMPTY;
    return true;
}

static json_status after_value(json_writer *w)
{
    if (w->status == JSON_OK && w->depth == 0)
        w->done = true;
    return w->status;
}

/* The quoted, escaped string; validates first so an invalid string writes nothing. */
static bool put_quoted(json_writer *w, const char *s, size_t n)
{
    if (n > 0 && !s) {
        fail(w, JSON_E_INVALID_ARG);
        return false;
    }
    /* U+0000 is fine inside a JSON string (escaped); only ill-formed UTF-8 is refused. */
    if (edge_utf8_check((const uint8_t *)s, n) == EDGE_UTF8_INVALID) {
        fail(w, JSON_E_INVALID_UTF8);
        return false;
    }
    if (!put_char(w, '"'))
        return false;
    size_t run = 0; /* start of the pending run of bytes that need no escaping */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[6];
        size_t esc_len = 2;
        esc[0] = '\\';
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            if (c >= 0x20)
                continue;
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex_digits[c >> 4];
            esc[5] = hex_digits[c & 0xF];
            esc_len = 6;
            break;
        }
        if (!put(w, s + run, i - run) || !put(w, esc, esc_len))
            return false;
        run = i + 1;
    }
    return put(w, s + run, n - run) && put_char(w, '"');
}

static json_status begin(json_writer *w, char open, uint8_t frame)
{
    if (!before_value(w))
        return w->status;
    if (w->depth >= JSON_MAX_DEPTH)
        return fail(w, JSON_E_STATE);
    if (!put_char(w, open))
        return w->status;
    w->frames[w->depth++] = frame;
    return JSON_OK;
}

static json_status end(json_writer *w, char close, uint8_t kind)
{
    if (w->status != JSON_OK)
        return w->status;
    if (w->depth == 0 || (w->frames[w->depth - 1] & FRAME_OBJECT) != kind || w->key_pending)
        return fail(w, JSON_E_STATE);
    if (!put_char(w, close))
        return w->status;
    w->depth--;
    return after_value(w);
}

json_status json_object_begin(json_writer *w)
{
    return begin(w, '{', FRAME_OBJECT);
}

json_status json_object_end(json_writer *w)
{
    return end(w, '}', FRAME_OBJECT);
}

json_status json_array_begin(json_writer *w)
{
    return begin(w, '[', 0);
}

json_status json_array_end(json_writer *w)
{
    return end(w, ']', 0);
}

json_status json_key(json_writer *w, const char *key)
{
    if (w->status != JSON_OK)
        return w->status;
    if (!key)
        return fail(w, JSON_E_INVALID_ARG);
    if (w->depth == 0 || !(w->frames[w->depth - 1] & FRAME_OBJECT) || w->key_pending)
        return fail(w, JSON_E_STATE);
    uint8_t *frame = &w->frames[w->depth - 1];
    if ((*frame & FRAME_NONEMPTY) && !put_char(w, ','))
        return w->status;
    if (!put_quoted(w, key, strlen(key)) || !put_char(w, ':'))
        return w->status;
    *frame |= FRAME_NONEMPTY;
    w->key_pending = true;
    return JSON_OK;
}

json_status json_string_n(json_writer *w, const char *s, size_t n)
{
    if (!before_value(w))
        return w->status;
    put_quoted(w, s, n);
    return after_value(w);
}

json_status json_string(json_writer *w, const char *s)
{
    if (!s)
        return json_null(w);
    return json_string_n(w, s, strlen(s));
}

static json_status put_literal(json_writer *w, const char *lit)
{
    if (!before_value(w))
        return w->status;
    put(w, lit, strlen(lit));
    return after_value(w);
}

json_status json_uint(json_writer *w, uint64_t v)
{
    char digits[24];
    size_t i = sizeof(digits);
    digits[--i] = '\0';
    do {
        digits[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return put_literal(w, digits + i);
}

json_status json_int(json_writer *w, int64_t v)
{
    if (v >= 0)
        return json_uint(w, (uint64_t)v);
    /* Negate in unsigned arithmetic: -INT64_MIN does not fit an int64_t. */
    uint64_t mag = 0u - (uint64_t)v;
    char digits[24];
    size_t i = sizeof(digits);
    digits[--i] = '\0';
    do {
        digits[--i] = (char)('0' + mag % 10);
        mag /= 10;
    } while (mag != 0);
    digits[--i] = '-';
    return put_literal(w, digits + i);
}

json_status json_bool(json_writer *w, bool v)
{
    return put_literal(w, v ? "true" : "false");
}

json_status json_null(json_writer *w)
{
    return put_literal(w, "null");
}

json_status json_hex(json_writer *w, const void *bytes, size_t n)
{
    if (!before_value(w))
        return w->status;
    if (n > 0 && !bytes)
        return fail(w, JSON_E_INVALID_ARG);
    /* 2*n + 2 must not overflow; a buffer that large could never be reserved anyway. */
    if (n > (SIZE_MAX - 2) / 2)
        return fail(w, JSON_E_NO_SPACE);
    if (!reserve(w, 2 * n + 2))
        return w->status;
    const unsigned char *p = bytes;
    char *o = w->buf + w->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        *o++ = hex_digits[p[i] >> 4];
        *o++ = hex_digits[p[i] & 0xF];
    }
    *o++ = '"';
    *o = '\0';
    w->len += 2 * n + 2;
    return after_value(w);
}

json_status json_kv_string(json_writer *w, const char *key, const char *s)
{
    if (json_key(w, key) != JSON_OK)
        return w->status;
    return json_string(w, s);
}

json_status json_kv_int(json_writer *w, const char *key, int64_t v)
{
    if (json_key(w, key) != JSON_OK)
        return w->status;
    return json_int(w, v);
}

json_status json_kv_uint(json_writer *w, const char *key, uint64_t v)
{
    if (json_key(w, key) != JSON_OK)
        return w->status;
    return json_uint(w, v);
}

json_status json_kv_bool(json_writer *w, const char *key, bool v)
{
    if (json_key(w, key) != JSON_OK)
        return w->status;
    return json_bool(w, v);
}

json_status json_kv_null(json_writer *w, const char *key)
{
    if (json_key(w, key) != JSON_OK)
        return w->status;
    return json_null(w);
}

json_status json_kv_hex(json_writer *w, const char *key, const void *bytes, size_t n)
{
    if (json_key(w, key) != JSON_OK)
        return w->status;
    return json_hex(w, bytes, n);
}

json_status json_finish(json_writer *w, const char **out, size_t *out_len)
{
    *out = NULL;
    if (out_len)
        *out_len = 0;
    if (w->status != JSON_OK)
        return w->status;
    if (!w->done || w->depth != 0)
        return fail(w, JSON_E_STATE);
    *out = w->buf;
    if (out_len)
        *out_len = w->len;
    return JSON_OK;
}

const char *json_status_name(json_status status)
{
    switch (status) {
    case JSON_OK:
        return "JSON_OK";
    case JSON_E_NO_SPACE:
        return "JSON_E_NO_SPACE";
    case JSON_E_NO_MEMORY:
        return "JSON_E_NO_MEMORY";
    case JSON_E_INVALID_UTF8:
        return "JSON_E_INVALID_UTF8";
    case JSON_E_STATE:
        return "JSON_E_STATE";
    case JSON_E_INVALID_ARG:
        return "JSON_E_INVALID_ARG";
    }
    return "JSON_E_UNKNOWN";
}
