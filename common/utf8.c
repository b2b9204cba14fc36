/* Strict UTF-8 validation and UTF-16 conversion (see edge/utf8.h, docs/protocol.md §5). */
#include "edge/utf8.h"

/*
 * Decodes one scalar value at s[0..avail), avail >= 1.  Returns the sequence length (1..4) and
 * stores the code point, or returns 0 for an ill-formed sequence.  The second-byte ranges follow
 * the Unicode "well-formed UTF-8" table, which rules out overlongs, surrogates and values above
 * U+10FFFF in one place instead of after decoding.
 */
static size_t utf8_decode(const uint8_t *s, size_t avail, uint32_t *cp)
{
    uint8_t b0 = s[0];
    size_t n;
    uint8_t lo = 0x80, hi = 0xBF;
    uint32_t v;

    if (b0 < 0x80) {
        *cp = b0;
        return 1;
    }
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        n = 2;
        v = b0 & 0x1Fu;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        n = 3;
        v = b0 & 0x0Fu;
        if (b0 == 0xE0)
            lo = 0xA0; /* overlong below U+0800 */
        else if (b0 == 0xED)
            hi = 0x9F; /* surrogates U+D800..U+DFFF */
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        n = 4;
        v = b0 & 0x07u;
        if (b0 == 0xF0)
            lo = 0x90; /* overlong below U+10000 */
        else if (b0 == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else {
        return 0; /* continuation byte, C0/C1 overlong lead, or F5..FF */
    }
    if (avail < n)
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    v = (v << 6) | (s[1] & 0x3Fu);
    for (size_t i = 2; i < n; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
        v = (v << 6) | (s[i] & 0x3Fu);
    }
    *cp = v;
    return n;
}

edge_utf8_result edge_utf8_check(const uint8_t *s, size_t len)
{
    edge_utf8_result res = EDGE_UTF8_OK;
    size_t i = 0;

    while (i < len) {
        uint32_t cp;
        size_t n = utf8_decode(s + i, len - i, &cp);
        if (n == 0)
            return EDGE_UTF8_INVALID;
        if (cp == 0)
            res = EDGE_UTF8_NUL; /* keep scanning: ill-formedness takes precedence */
        i += n;
    }
    return res;
}

size_t edge_utf8_truncate(const uint8_t *s, size_t len, size_t max)
{
    size_t n = len < max ? len : max;

    if (n == len)
        return n;
    /* s[n] is the first byte cut off; back up while it is a continuation byte. */
    while (n > 0 && (s[n] & 0xC0u) == 0x80u)
        n--;
    return n;
}

edge_utf8_result edge_utf16_to_utf8(const uint16_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                                    size_t *out_len)
{
    size_t need = 0;

    *out_len = 0;
    for (size_t i = 0; i < in_len; i++) {
        uint32_t cp = in[i];
        uint8_t tmp[4];
        size_t n;

        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (i + 1 >= in_len || in[i + 1] < 0xDC00 || in[i + 1] > 0xDFFF)
                return EDGE_UTF8_INVALID;
            cp = 0x10000u + ((cp - 0xD800u) << 10) + (in[i + 1] - 0xDC00u);
            i++;
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return EDGE_UTF8_INVALID;
        } else if (cp == 0) {
            return EDGE_UTF8_NUL;
        }
        if (cp < 0x80) {
            tmp[0] = (uint8_t)cp;
            n = 1;
        } else if (cp < 0x800) {
            tmp[0] = (uint8_t)(0xC0u | (cp >> 6));
            tmp[1] = (uint8_t)(0x80u | (cp & 0x3Fu));
            n = 2;
        } else if (cp < 0x10000) {
            tmp[0] = (uint8_t)(0xE0u | (cp >> 12));
            tmp[1] = (uint8_t)(0x80u | ((cp >> 6) & 0x3Fu));
            tmp[2] = (uint8_t)(0x80u | (cp & 0x3Fu));
            n = 3;
        } else {
            tmp[0] = (uint8_t)(0xF0u | (cp >> 18));
            tmp[1] = (uint8_t)(0x80u | ((cp >> 12) & 0x3Fu));
            tmp[2] = (uint8_t)(0x80u | ((cp >> 6) & 0x3Fu));
            tmp[3] = (uint8_t)(0x80u | (cp & 0x3Fu));
            n = 4;
        }
        for (size_t k = 0; k < n; k++) {
            if (out != NULL && need + k < out_cap)
                out[need + k] = tmp[k];
        }
        need += n;
    }
    *out_len = need;
    return need > out_cap ? EDGE_UTF8_TOO_SMALL : EDGE_UTF8_OK;
}

edge_utf8_result edge_utf8_to_utf16(const uint8_t *in, size_t in_len, uint16_t *out, size_t out_cap,
                                    size_t *out_len)
{
    edge_utf8_result res;
    size_t need = 0;
    size_t i = 0;

    *out_len = 0;
    res = edge_utf8_check(in, in_len);
    if (res != EDGE_UTF8_OK)
        return res;
    while (i < in_len) {
        uint32_t cp = 0;
        size_t n = utf8_decode(in + i, in_len - i, &cp);
        i += n; /* n >= 1: the whole input was validated above */
        if (cp >= 0x10000) {
            cp -= 0x10000;
            if (out != NULL && need + 1 < out_cap) {
                out[need] = (uint16_t)(0xD800u + (cp >> 10));
                out[need + 1] = (uint16_t)(0xDC00u + (cp & 0x3FFu));
            }
            need += 2;
        } else {
            if (out != NULL && need < out_cap)
                out[need] = (uint16_t)cp;
            need += 1;
        }
    }
    *out_len = need;
    return need > out_cap ? EDGE_UTF8_TOO_SMALL : EDGE_UTF8_OK;
}
