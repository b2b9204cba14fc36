/*
 * The store file format. UTF-8 text, one record per line, fields separated by TAB as key=value;
 * in values '%', TAB, CR, LF and other control bytes are written as %XX. A string key that is
 * absent means "never set" (NULL); "key=" is the empty string. Example:
 *
 *   store	version=1	next_id=3	firewall_off=0x0
 *   rule	id=1	name=EdgeBroker lease 7	protocol=17	local_ports=3544	enabled=1
 * ...
 *
 * Serializing and parsing are single passes, linear in the file size. INetFwRules::Add and
 * fwdc_store_add append their "rule" lines to the end of the file instead of rewriting it
 * (fwd_store.c); a last line without its newline is what an append interrupted half-way leaves,
 * so it is ignored (every line the double writes ends with CR LF).
 */
#include "fwd_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fwd_buf {
    char *p;
    size_t len;
    size_t cap;
} fwd_buf;

static HRESULT fwd_buf_reserve(fwd_buf *b, size_t extra)
{
    size_t need, cap;
    char *p;

    if (extra > FWD_MAX_STORE_BYTES || b->len > FWD_MAX_STORE_BYTES - extra)
        return HRESULT_FROM_WIN32(ERROR_FILE_TOO_LARGE);
    need = b->len + extra;
    if (need <= b->cap)
        return S_OK;
    cap = b->cap ? b->cap : 4096;
    while (cap < need)
        cap *= 2;
    p = realloc(b->p, cap);
    if (p == NULL)
        return E_OUTOFMEMORY;
    b->p = p;
    b->cap = cap;
    return S_OK;
}

static HRESULT fwd_buf_put(fwd_buf *b, const char *s, size_t n)
{
    HRESULT hr = fwd_buf_reserve(b, n);
    if (FAILED(hr))
        return hr;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return S_OK;
}

static HRESULT fwd_buf_puts(fwd_buf *b, const char *s)
{
    return fwd_buf_put(b, s, strlen(s));
}

static HRESULT fwd_buf_put_escaped(fwd_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i;
    HRESULT hr;

    if (n > FWD_MAX_STORE_BYTES / 3)
        return HRESULT_FROM_WIN32(ERROR_FILE_TOO_LARGE);
    hr = fwd_buf_reserve(b, n * 3);
    if (FAILED(hr))
        return hr;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == '%' || c == 0x7F) {
            b->p[b->len++] = '%';
            b->p[b->len++] = hex[c >> 4];
            b->p[b->len++] = hex[c & 15];
        } else {
            b->p[b->len++] = (char)c;
        }
    }
    return S_OK;
}

static HRESULT fwd_buf_put_wide(fwd_buf *b, fwd_buf *scratch, const wchar_t *w)
{
    int wlen = (int)wcslen(w);
    int n;
    HRESULT hr;

    if (wlen == 0)
        return S_OK;
    n = WideCharToMultiByte(CP_UTF8, 0, w, wlen, NULL, 0, NULL, NULL);
    if (n <= 0)
        return HRESULT_FROM_WIN32(GetLastError());
    scratch->len = 0;
    hr = fwd_buf_reserve(scratch, (size_t)n);
    if (FAILED(hr))
        return hr;
    n = WideCharToMultiByte(CP_UTF8, 0, w, wlen, scratch->p, n, NULL, NULL);
    if (n <= 0)
        return HRESULT_FROM_WIN32(GetLastError());
    return fwd_buf_put_escaped(b, scratch->p, (size_t)n);
}

static HRESULT fwd_format_rule(fwd_buf *b, fwd_buf *scratch, const fwdc_rule *r)
{
    char num[64];
    size_t i;
    HRESULT hr;

    snprintf(num, sizeof(num), "rule\tid=%llu", r->id);
    hr = fwd_buf_puts(b, num);
    for (i = 0; i < fwd_field_count && SUCCEEDED(hr); i++) {
        const fwd_field *f = &fwd_fields[i];
        fwdc_rule *rr = (fwdc_rule *)r;
        if (f->kind == FWD_FIELD_STR) {
            const wchar_t *s = *fwd_field_str(rr, f);
            if (s == NULL)
                continue;
            snprintf(num, sizeof(num), "\t%s=", f->key);
            hr = fwd_buf_puts(b, num);
            if (SUCCEEDED(hr))
                hr = fwd_buf_put_wide(b, scratch, s);
        } else if (f->kind == FWD_FIELD_LONG) {
            long v = *fwd_field_long(rr, f);
            if (strcmp(f->key, "profiles") == 0)
                snprintf(num, sizeof(num), "\t%s=0x%lX", f->key, (unsigned long)v);
            else
                snprintf(num, sizeof(num), "\t%s=%ld", f->key, v);
            hr = fwd_buf_puts(b, num);
        } else {
            snprintf(num, sizeof(num), "\t%s=%d", f->key, *fwd_field_bool(rr, f) ? 1 : 0);
            hr = fwd_buf_puts(b, num);
        }
    }
    if (SUCCEEDED(hr))
        hr = fwd_buf_puts(b, "\r\n");
    return hr;
}

HRESULT fwd_format_serialize(const fwd_store_data *d, char **out, size_t *out_len)
{
    fwd_buf b = {NULL, 0, 0};
    fwd_buf scratch = {NULL, 0, 0};
    char head[160];
    size_t i;
    HRESULT hr;

    *out = NULL;
    *out_len = 0;
    snprintf(head, sizeof(head),
             "# fwdouble store: one rule per line, TAB-separated key=value, %%XX escapes\r\n"
             "store\tversion=1\tnext_id=%llu\tfirewall_off=0x%lX\r\n",
             d->next_id, (unsigned long)d->firewall_off);
    hr = fwd_buf_puts(&b, head);
    for (i = 0; i < d->count && SUCCEEDED(hr); i++)
        hr = fwd_format_rule(&b, &scratch, &d->rules[i]);
    free(scratch.p);
    if (FAILED(hr)) {
        free(b.p);
        return hr;
    }
    *out = b.p;
    *out_len = b.len;
    return S_OK;
}

HRESULT fwd_format_serialize_rules(const fwd_store_data *d, size_t first, char **out,
                                   size_t *out_len)
{
    fwd_buf b = {NULL, 0, 0};
    fwd_buf scratch = {NULL, 0, 0};
    size_t i;
    HRESULT hr = S_OK;

    *out = NULL;
    *out_len = 0;
    for (i = first; i < d->count && SUCCEEDED(hr); i++)
        hr = fwd_format_rule(&b, &scratch, &d->rules[i]);
    free(scratch.p);
    if (FAILED(hr)) {
        free(b.p);
        return hr;
    }
    *out = b.p;
    *out_len = b.len;
    return S_OK;
}

static int fwd_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Unescapes [s, s+n) in place; returns the new length. Malformed escapes are kept literally. */
static size_t fwd_unescape(char *s, size_t n)
{
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        if (s[i] == '%' && n - i >= 3 && fwd_hexval(s[i + 1]) >= 0 && fwd_hexval(s[i + 2]) >= 0) {
            s[o++] = (char)(fwd_hexval(s[i + 1]) * 16 + fwd_hexval(s[i + 2]));
            i += 2;
        } else {
            s[o++] = s[i];
        }
    }
    return o;
}

static HRESULT fwd_utf8_to_wide(const char *s, size_t n, wchar_t **out)
{
    wchar_t *w;
    int wn = 0;

    *out = NULL;
    if (n > (size_t)INT_MAX)
        return HRESULT_FROM_WIN32(ERROR_FILE_TOO_LARGE);
    if (n > 0) {
        wn = MultiByteToWideChar(CP_UTF8, 0, s, (int)n, NULL, 0);
        if (wn <= 0)
            return HRESULT_FROM_WIN32(ERROR_INVALID_DATA);
    }
    w = malloc(((size_t)wn + 1) * sizeof(wchar_t));
    if (w == NULL)
        return E_OUTOFMEMORY;
    if (wn > 0)
        MultiByteToWideChar(CP_UTF8, 0, s, (int)n, w, wn);
    w[wn] = L'\0';
    *out = w;
    return S_OK;
}

static const fwd_field *fwd_field_by_key(const char *key, size_t key_len)
{
    size_t i;

    for (i = 0; i < fwd_field_count; i++) {
        if (strlen(fwd_fields[i].key) == key_len && memcmp(fwd_fields[i].key, key, key_len) == 0)
            return &fwd_fields[i];
    }
    return NULL;
}

static HRESULT fwd_parse_field(fwdc_rule *r, BOOL *has_id, char *key, size_t key_len, char *val,
                               size_t val_len)
{
    const fwd_field *f;
    char num[32];

    if (key_len == 2 && memcmp(key, "id", 2) == 0) {
        size_t n = val_len < sizeof(num) - 1 ? val_len : sizeof(num) - 1;
        memcpy(num, val, n);
        num[n] = '\0';
        r->id = strtoull(num, NULL, 10);
        *has_id = r->id != 0;
        return S_OK;
    }
    f = fwd_field_by_key(key, key_len);
    if (f == NULL)
        return S_OK; /* unknown keys are ignored, for forward compatibility */
    if (f->kind == FWD_FIELD_STR) {
        wchar_t **slot = fwd_field_str(r, f);
        wchar_t *w;
        HRESULT hr = fwd_utf8_to_wide(val, fwd_unescape(val, val_len), &w);
        if (FAILED(hr))
            return hr;
        free(*slot);
        *slot = w;
        return S_OK;
    }
    {
        size_t n = val_len < sizeof(num) - 1 ? val_len : sizeof(num) - 1;
        memcpy(num, val, n);
        num[n] = '\0';
    }
    if (f->kind == FWD_FIELD_LONG)
        *fwd_field_long(r, f) = (long)strtoul(num, NULL, 0);
    else
        *fwd_field_bool(r, f) = strtol(num, NULL, 0) != 0;
    return S_OK;
}

static HRESULT fwd_grow(fwd_store_data *d)
{
    size_t cap;
    fwdc_rule *p;

    if (d->count < d->cap)
        return S_OK;
    cap = d->cap ? d->cap * 2 : 64;
    if (cap > ((size_t)-1) / sizeof(fwdc_rule))
        return E_OUTOFMEMORY;
    p = realloc(d->rules, cap * sizeof(fwdc_rule));
    if (p == NULL)
        return E_OUTOFMEMORY;
    d->rules = p;
    d->cap = cap;
    return S_OK;
}

/* Parses one line (without its terminator; modified in place). */
static HRESULT fwd_parse_line(fwd_store_data *d, char *line, size_t len)
{
    char *end = line + len;
    char *tok = line;
    char *tab = memchr(line, '\t', len);
    BOOL is_rule, has_id = FALSE;
    fwdc_rule r;
    HRESULT hr = S_OK;

    if (len == 0 || line[0] == '#')
        return S_OK;
    if (tab == NULL)
        tab = end;
    is_rule = (size_t)(tab - tok) == 4 && memcmp(tok, "rule", 4) == 0;
    if (!is_rule && !((size_t)(tab - tok) == 5 && memcmp(tok, "store", 5) == 0))
        return S_OK;
    fwd_rule_init(&r);
    while (tab < end && SUCCEEDED(hr)) {
        char *field = tab + 1;
        char *eq;
        tab = memchr(field, '\t', (size_t)(end - field));
        if (tab == NULL)
            tab = end;
        eq = memchr(field, '=', (size_t)(tab - field));
        if (eq == NULL)
            continue;
        if (is_rule) {
            hr = fwd_parse_field(&r, &has_id, field, (size_t)(eq - field), eq + 1,
                                 (size_t)(tab - eq - 1));
        } else {
            char num[32];
            size_t n = (size_t)(tab - eq - 1);
            if (n > sizeof(num) - 1)
                n = sizeof(num) - 1;
            memcpy(num, eq + 1, n);
            num[n] = '\0';
            if ((size_t)(eq - field) == 7 && memcmp(field, "next_id", 7) == 0)
                d->next_id = strtoull(num, NULL, 10);
            else if ((size_t)(eq - field) == 12 && memcmp(field, "firewall_off", 12) == 0)
                d->firewall_off = (long)strtoul(num, NULL, 0);
        }
    }
    if (is_rule && SUCCEEDED(hr)) {
        hr = fwd_grow(d);
        if (SUCCEEDED(hr)) {
            if (!has_id)
                r.id = 0; /* assigned after the whole file is read */
            d->rules[d->count++] = r;
            return S_OK;
        }
    }
    fwd_rule_clear(&r);
    return hr;
}

HRESULT fwd_format_parse(const char *text, size_t len, fwd_store_data *d)
{
    char *copy;
    size_t pos = 0, i;
    unsigned long long max_id = 0;
    HRESULT hr = S_OK;

    memset(d, 0, sizeof(*d));
    d->next_id = 1;
    if (len == 0)
        return S_OK;
    copy = malloc(len);
    if (copy == NULL)
        return E_OUTOFMEMORY;
    memcpy(copy, text, len);
    while (pos < len && SUCCEEDED(hr)) {
        char *nl = memchr(copy + pos, '\n', len - pos);
        size_t line_len = nl ? (size_t)(nl - (copy + pos)) : len - pos;
        size_t used = line_len;
        if (nl == NULL)
            break; /* an unterminated last line is an append cut short: never completed */
        if (line_len > 0 && copy[pos + line_len - 1] == '\r')
            line_len--;
        hr = fwd_parse_line(d, copy + pos, line_len);
        pos += used + 1;
    }
    free(copy);
    if (FAILED(hr)) {
        fwd_store_data_clear(d);
        return hr;
    }
    for (i = 0; i < d->count; i++) {
        if (d->rules[i].id > max_id)
            max_id = d->rules[i].id;
    }
    if (d->next_id <= max_id)
        d->next_id = max_id + 1;
    for (i = 0; i < d->count; i++) {
        if (d->rules[i].id == 0)
            d->rules[i].id = d->next_id++;
    }
    return S_OK;
}
