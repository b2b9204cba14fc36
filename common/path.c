/* Windows image path rules and allow-list pattern matching; see edge/path.h. */
#include "edge/path.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum seg_role { SEG_PLAIN, SEG_UNC_SERVER, SEG_UNC_SHARE, SEG_DRIVE };

struct path_out {
    char *buf;
    size_t cap; /* bytes available in buf, including room for the terminator */
    size_t len;
    bool fold;
};

static const char *const path_result_names[EDGE_PATH_RESULT_COUNT_] = {
    "EDGE_PATH_OK",
    "EDGE_PATH_E_ARG",
    "EDGE_PATH_E_EMPTY",
    "EDGE_PATH_E_TOO_LONG",
    "EDGE_PATH_E_EMBEDDED_NUL",
    "EDGE_PATH_E_ENCODING",
    "EDGE_PATH_E_RELATIVE",
    "EDGE_PATH_E_DOT_SEGMENT",
    "EDGE_PATH_E_DEVICE",
    "EDGE_PATH_E_UNC_ALIAS",
    "EDGE_PATH_E_TRAILING_DOT",
    "EDGE_PATH_E_STREAM",
    "EDGE_PATH_E_INVALID_CHAR",
    "EDGE_PATH_E_SYNTAX",
    "EDGE_PATH_E_BUFFER",
    "EDGE_PATH_E_UNEXPANDED",
    "EDGE_PATH_E_BAD_PATTERN",
    "EDGE_PATH_E_NO_MEMORY",
};

const char *edge_path_result_name(edge_path_result result)
{
    if ((unsigned)result >= (unsigned)EDGE_PATH_RESULT_COUNT_)
        return "EDGE_PATH_UNKNOWN";
    return path_result_names[result];
}

static bool path_is_alpha(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static char path_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool path_ieq(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    size_t i;
    if (alen != blen)
        return false;
    for (i = 0; i < alen; i++)
        if (path_lower(a[i]) != path_lower(b[i]))
            return false;
    return true;
}

/*
 * Private UTF-8 check (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF).  Kept here
 * rather than depending on edge/utf8.h so this module stands alone; the rules are identical.
 */
static bool path_utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t need;
        uint32_t cp;
        size_t k;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
            cp = c & 0x1Fu;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            cp = c & 0x0Fu;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            cp = c & 0x07u;
        } else {
            return false;
        }
        if (len - i - 1 < need)
            return false;
        for (k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0u) != 0x80u)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3Fu);
        }
        if ((need == 2 && cp < 0x800u) || (need == 3 && cp < 0x10000u) || cp > 0x10FFFFu ||
            (cp >= 0xD800u && cp <= 0xDFFFu))
            return false;
        i += need + 1;
    }
    return true;
}

/*
 * Parses an IPv4 literal the way inet_aton/inet_addr do (1 to 4 parts, each decimal, 0-octal or
 * 0x-hex, the last part filling the remaining bytes), because Windows resolves UNC server names
 * such as "2130706433" or "0x7f.1" that way.
 */
static bool path_parse_ipv4(const char *s, size_t len, uint32_t *addr)
{
    uint32_t parts[4];
    size_t nparts = 0;
    size_t i = 0;
    uint32_t value;

    if (len == 0)
        return false;
    while (i < len) {
        uint64_t v = 0;
        unsigned base = 10;
        size_t digits = 0;
        if (nparts == 4)
            return false;
        if (s[i] == '0' && i + 1 < len && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
            base = 16;
            i += 2;
        } else if (s[i] == '0') {
            base = 8;
        }
        while (i < len && s[i] != '.') {
            char c = s[i];
            unsigned d;
            if (c >= '0' && c <= '9')
                d = (unsigned)(c - '0');
            else if (base == 16 && path_lower(c) >= 'a' && path_lower(c) <= 'f')
                d = (unsigned)(path_lower(c) - 'a' + 10);
            else
                return false;
            if (d >= base)
                return false;
            v = v * base + d;
            if (v > 0xFFFFFFFFu)
                return false;
            digits++;
            i++;
        }
        if (digits == 0 && base != 16)
            return false;
        parts[nparts++] = (uint32_t)v;
        if (i < len) {
            i++; /* skip '.' */
            if (i == len)
                return false;
        }
    }
    value = parts[nparts - 1];
    if (nparts > 1) {
        size_t k;
        /* The last part holds the remaining 4 - (nparts - 1) bytes. */
        unsigned rest_bits = 8u * (unsigned)(5 - nparts);
        if (rest_bits < 32 && value >> rest_bits)
            return false;
        for (k = 0; k + 1 < nparts; k++) {
            if (parts[k] > 0xFFu)
                return false;
            value |= parts[k] << (24 - 8 * k);
        }
    }
    *addr = value;
    return true;
}

static bool path_server_is_local(const char *s, size_t len)
{
    static const char suffix[] = ".ipv6-literal.net";
    size_t slen = sizeof(suffix) - 1;
    uint32_t addr;

    if (path_ieq(s, len, "localhost"))
        return true;
    /* A raw IPv6 literal (::1, [::1], 0:0::1) is either local or unusable in UNC: refuse all. */
    if (memchr(s, ':', len) || memchr(s, '[', len))
        return true;
    if (len > slen && path_ieq(s + len - slen, slen, suffix))
        return true;
    if (path_parse_ipv4(s, len, &addr) && ((addr >> 24) == 127u || addr == 0))
        return true;
    return false;
}

/* Reserved DOS device names, matched against the part before the first '.'. */
static bool path_is_device_name(const char *seg, size_t len)
{
    static const char *const names[] = {"con", "prn", "aux", "nul", "conin$", "conout$"};
    size_t base = 0;
    size_t i;

    while (base < len && seg[base] != '.')
        base++;
    while (base > 0 && seg[base - 1] == ' ')
        base--;
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (path_ieq(seg, base, names[i]))
            return true;
    if (base >= 4 && (path_ieq(seg, 3, "com") || path_ieq(seg, 3, "lpt"))) {
        /* COM0-9 / LPT0-9, and the superscript digits U+00B9, U+00B2, U+00B3 that Win32 also maps.
         */
        if (base == 4 && seg[3] >= '0' && seg[3] <= '9')
            return true;
        if (base == 5 && (unsigned char)seg[3] == 0xC2 &&
            ((unsigned char)seg[4] == 0xB9 || (unsigned char)seg[4] == 0xB2 ||
             (unsigned char)seg[4] == 0xB3))
            return true;
    }
    return false;
}

static edge_path_result path_check_segment(const char *seg, size_t len, enum seg_role role,
                                           bool pattern, bool verbatim)
{
    size_t i;

    if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
        return EDGE_PATH_E_DOT_SEGMENT;
    if (role == SEG_UNC_SERVER && path_server_is_local(seg, len))
        return EDGE_PATH_E_UNC_ALIAS;
    if (role == SEG_UNC_SHARE &&
        ((len == 2 && path_is_alpha(seg[0]) && seg[1] == '$') || path_ieq(seg, len, "admin$")))
        return EDGE_PATH_E_UNC_ALIAS;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)seg[i];
        if (c < 0x20 || c == '<' || c == '>' || c == '"' || c == '|' || c == '?')
            return EDGE_PATH_E_INVALID_CHAR;
        if (c == '/' && verbatim)
            return EDGE_PATH_E_INVALID_CHAR;
        if (c == ':')
            return EDGE_PATH_E_STREAM;
        if (c == '%' && pattern)
            return EDGE_PATH_E_UNEXPANDED;
        if (c == '*') {
            if (!pattern)
                return EDGE_PATH_E_INVALID_CHAR;
            if (role != SEG_PLAIN)
                return EDGE_PATH_E_BAD_PATTERN;
            if (i + 1 < len && seg[i + 1] == '*' && len != 2)
                return EDGE_PATH_E_BAD_PATTERN;
        }
    }
    if (seg[len - 1] == '.' || seg[len - 1] == ' ')
        return EDGE_PATH_E_TRAILING_DOT;
    if (path_is_device_name(seg, len))
        return EDGE_PATH_E_DEVICE;
    return EDGE_PATH_OK;
}

static void path_emit(struct path_out *o, const char *s, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++) {
        /* Keep one byte for the terminator; overflow is reported once the walk is done. */
        if (o->len + 1 < o->cap)
            o->buf[o->len] = o->fold ? path_lower(s[i]) : s[i];
        o->len++;
    }
}

static edge_path_result path_normalize(const char *in, size_t len, bool pattern, struct path_out *o)
{
    const char *p = in;
    size_t n = len;
    bool verbatim = false;
    bool unc = false;
    size_t i = 0;
    size_t nseg = 0;
    edge_path_result r;

    if (len == 0)
        return EDGE_PATH_E_EMPTY;
    if (len > EDGE_PATH_MAX_BYTES)
        return EDGE_PATH_E_TOO_LONG;
    if (memchr(in, 0, len))
        return EDGE_PATH_E_EMBEDDED_NUL;
    if (!path_utf8_valid((const unsigned char *)in, len))
        return EDGE_PATH_E_ENCODING;
    /* Report an unexpanded variable as such, not as whatever shape "%Var%\..." happens to have. */
    if (pattern && memchr(in, '%', len))
        return EDGE_PATH_E_UNEXPANDED;

#define PATH_SEP(c) ((c) == '\\' || (!verbatim && (c) == '/'))
    if (n >= 4 && memcmp(p, "\\\\?\\", 4) == 0) {
        verbatim = true;
        p += 4;
        n -= 4;
        if (n >= 4 && path_ieq(p, 3, "UNC") && p[3] == '\\') {
            unc = true;
            p += 4;
            n -= 4;
        } else if (!(n >= 3 && path_is_alpha(p[0]) && p[1] == ':' && p[2] == '\\')) {
            /* \\?\Volume{...}, \\?\GLOBALROOT, \\?\C: (the volume itself), ... */
            return EDGE_PATH_E_DEVICE;
        }
    } else if (n >= 2 && PATH_SEP(p[0]) && PATH_SEP(p[1])) {
        if (n >= 3 && (p[2] == '.' || p[2] == '?') && (n == 3 || PATH_SEP(p[3])))
            return EDGE_PATH_E_DEVICE;
        unc = true;
        p += 2;
        n -= 2;
    } else if (n >= 4 && PATH_SEP(p[0]) && p[1] == '?' && p[2] == '?' && PATH_SEP(p[3])) {
        return EDGE_PATH_E_DEVICE;
    } else if (PATH_SEP(p[0])) {
        return EDGE_PATH_E_RELATIVE;
    } else if (!(n >= 3 && path_is_alpha(p[0]) && p[1] == ':' && PATH_SEP(p[2]))) {
        return (n >= 2 && p[1] == ':' && !path_is_alpha(p[0])) ? EDGE_PATH_E_INVALID_CHAR
                                                               : EDGE_PATH_E_RELATIVE;
    }

    if (unc) {
        if (n == 0 || PATH_SEP(p[0]))
            return EDGE_PATH_E_SYNTAX;
        path_emit(o, "\\\\", 2);
    } else {
        path_emit(o, p, 2);
        i = 2;
    }
    while (i < n) {
        size_t start;
        enum seg_role role = SEG_PLAIN;
        if (PATH_SEP(p[i])) {
            i++;
            continue;
        }
        start = i;
        while (i < n && !PATH_SEP(p[i]))
            i++;
        if (unc && nseg == 0)
            role = SEG_UNC_SERVER;
        else if (unc && nseg == 1)
            role = SEG_UNC_SHARE;
        r = path_check_segment(p + start, i - start, role, pattern, verbatim);
        if (r != EDGE_PATH_OK)
            return r;
        if (nseg > 0 || !unc)
            path_emit(o, "\\", 1);
        path_emit(o, p + start, i - start);
        nseg++;
    }
    if (PATH_SEP(p[n - 1]))
        return EDGE_PATH_E_SYNTAX;
    if (nseg < (unc ? 3u : 1u))
        return EDGE_PATH_E_SYNTAX;
#undef PATH_SEP
    if (o->len + 1 > o->cap)
        return EDGE_PATH_E_BUFFER;
    o->buf[o->len] = '\0';
    return EDGE_PATH_OK;
}

static edge_path_result path_run(const char *path, size_t len, bool pattern, bool fold, char *out,
                                 size_t out_cap, size_t *out_len)
{
    struct path_out o;
    edge_path_result r;

    if (out_len)
        *out_len = 0;
    if (!path || !out)
        return EDGE_PATH_E_ARG;
    if (out_cap > 0)
        out[0] = '\0';
    o.buf = out;
    o.cap = out_cap;
    o.len = 0;
    o.fold = fold;
    r = path_normalize(path, len, pattern, &o);
    if (r != EDGE_PATH_OK) {
        if (out_cap > 0)
            out[0] = '\0';
        return r;
    }
    if (out_len)
        *out_len = o.len;
    return EDGE_PATH_OK;
}

edge_path_result edge_path_canonicalize(const char *path, size_t len, char *out, size_t out_cap,
                                        size_t *out_len)
{
    return path_run(path, len, false, false, out, out_cap, out_len);
}

edge_path_result edge_path_key(const char *path, size_t len, char *out, size_t out_cap,
                               size_t *out_len)
{
    return path_run(path, len, false, true, out, out_cap, out_len);
}

bool edge_path_is_canonical(const char *path)
{
    size_t len, out_len;
    char *buf;
    bool ok;

    if (!path)
        return false;
    len = strlen(path);
    if (len == 0 || len > EDGE_PATH_MAX_BYTES)
        return false;
    buf = malloc(len + 1);
    if (!buf)
        return false;
    ok = edge_path_canonicalize(path, len, buf, len + 1, &out_len) == EDGE_PATH_OK &&
         out_len == len && memcmp(buf, path, len) == 0;
    free(buf);
    return ok;
}

/* Normalises a pattern (or path) into a freshly allocated, case-folded key. */
static edge_path_result path_alloc_key(const char *s, size_t len, bool pattern, char **out,
                                       size_t *out_len)
{
    char *buf;
    edge_path_result r;

    *out = NULL;
    if (!s)
        return EDGE_PATH_E_ARG;
    if (len > EDGE_PATH_MAX_BYTES)
        return EDGE_PATH_E_TOO_LONG;
    buf = malloc(len + 1);
    if (!buf)
        return EDGE_PATH_E_NO_MEMORY;
    r = path_run(s, len, pattern, true, buf, len + 1, out_len);
    if (r != EDGE_PATH_OK) {
        free(buf);
        return r;
    }
    *out = buf;
    return EDGE_PATH_OK;
}

edge_path_result edge_path_pattern_check(const char *pattern, size_t len)
{
    char *key;
    size_t key_len;
    edge_path_result r = path_alloc_key(pattern, len, true, &key, &key_len);
    free(key);
    return r;
}

/* Glob within one segment: '*' matches any run of bytes.  Greedy with one backtrack point. */
static bool path_seg_match(const char *pat, size_t plen, const char *s, size_t slen)
{
    size_t p = 0, i = 0;
    size_t star = SIZE_MAX, star_i = 0;

    while (i < slen) {
        if (p < plen && pat[p] == '*') {
            star = p++;
            star_i = i;
        } else if (p < plen && pat[p] == s[i]) {
            p++;
            i++;
        } else if (star != SIZE_MAX) {
            p = star + 1;
            i = ++star_i;
        } else {
            return false;
        }
    }
    while (p < plen && pat[p] == '*')
        p++;
    return p == plen;
}

/* End of the segment starting at start: the next '\\' or len. */
static size_t path_seg_end(const char *s, size_t len, size_t start)
{
    while (start < len && s[start] != '\\')
        start++;
    return start;
}

static bool path_is_globstar(const char *pat, size_t start, size_t end)
{
    return end - start == 2 && pat[start] == '*' && pat[start + 1] == '*';
}

/*
 * Segment-level glob over keys, with "**" as the star and path_seg_match as the per-token test.
 * A segment position past the end of its string (start > len) means "exhausted".
 */
static bool path_keys_match(const char *pat, size_t plen, const char *s, size_t slen)
{
    size_t p = 0, i = 0;
    size_t star_next = SIZE_MAX, star_i = 0;

    while (i <= slen) {
        size_t pe = p <= plen ? path_seg_end(pat, plen, p) : 0;
        size_t se = path_seg_end(s, slen, i);
        if (p <= plen && path_is_globstar(pat, p, pe)) {
            star_next = pe + 1;
            star_i = i;
            p = pe + 1;
        } else if (p <= plen && path_seg_match(pat + p, pe - p, s + i, se - i)) {
            p = pe + 1;
            i = se + 1;
        } else if (star_next != SIZE_MAX) {
            star_i = path_seg_end(s, slen, star_i) + 1;
            i = star_i;
            p = star_next;
        } else {
            return false;
        }
    }
    while (p <= plen) {
        size_t pe = path_seg_end(pat, plen, p);
        if (!path_is_globstar(pat, p, pe))
            return false;
        p = pe + 1;
    }
    return true;
}

edge_path_result edge_path_match(const char *pattern, size_t pattern_len, const char *path,
                                 size_t path_len, bool *matched)
{
    char *pkey = NULL, *skey = NULL;
    size_t pkey_len = 0, skey_len = 0;
    edge_path_result r;

    if (!matched)
        return EDGE_PATH_E_ARG;
    *matched = false;
    r = path_alloc_key(pattern, pattern_len, true, &pkey, &pkey_len);
    if (r != EDGE_PATH_OK)
        goto out;
    r = path_alloc_key(path, path_len, false, &skey, &skey_len);
    if (r != EDGE_PATH_OK)
        goto out;
    *matched = path_keys_match(pkey, pkey_len, skey, skey_len);
out:
    free(skey);
    free(pkey);
    return r;
}
