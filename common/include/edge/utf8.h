/*
 * UTF-8 validation and UTF-8 <-> UTF-16 conversion for the wire protocol (docs/protocol.md §5).
 *
 * Wire strings are UTF-8 in the strict sense of RFC 3629: no overlong forms, no surrogate code
 * points (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequences.  The protocol also
 * forbids U+0000 so that a string can never be cut short when it becomes a C or Win32 string.
 * UTF-16 appears only at the Win32 boundary; the converters here let that boundary reject unpaired
 * surrogates (legal in NTFS names) instead of silently substituting U+FFFD.
 *
 * All functions are pure, allocate nothing and are thread-safe.
 */
#ifndef EDGE_UTF8_H
#define EDGE_UTF8_H

#include <stddef.h>
#include <stdint.h>

typedef enum edge_utf8_result {
    EDGE_UTF8_OK = 0,       /* valid, no NUL */
    EDGE_UTF8_INVALID = 1,  /* ill-formed: overlong, surrogate, > U+10FFFF, truncated, stray */
    EDGE_UTF8_NUL = 2,      /* well-formed but contains U+0000 */
    EDGE_UTF8_TOO_SMALL = 3 /* conversion output buffer too small (size reported anyway) */
} edge_utf8_result;

/*
 * Checks that s[0..len) is a wire-valid string (strict UTF-8 without NUL).  s may be NULL only when
 * len is 0.  Ill-formedness is reported in preference to NUL when both occur.
 */
edge_utf8_result edge_utf8_check(const uint8_t *s, size_t len);

/*
 * Length of the longest prefix of s[0..len) that is at most max bytes and does not end inside a
 * multi-byte sequence.  Used to truncate diagnostic text to a wire limit without producing an
 * invalid string.  s must already be valid UTF-8 for the result to be valid.
 */
size_t edge_utf8_truncate(const uint8_t *s, size_t len, size_t max);

/*
 * Converts UTF-16 (host-order code units, not NUL-terminated) to wire UTF-8.
 * in:      in_len code units; may be NULL when in_len is 0.
 * out:     buffer of out_cap bytes, or NULL with out_cap 0 to size only.  Not NUL-terminated.
 * out_len: receives the number of bytes the full conversion needs (also on EDGE_UTF8_TOO_SMALL).
 * Returns EDGE_UTF8_OK; EDGE_UTF8_INVALID on an unpaired surrogate; EDGE_UTF8_NUL on U+0000;
 * EDGE_UTF8_TOO_SMALL when out_cap is short (out then holds an unspecified prefix).
 */
edge_utf8_result edge_utf16_to_utf8(const uint16_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                                    size_t *out_len);

/*
 * Converts wire UTF-8 to UTF-16 code units (not NUL-terminated).  Same conventions as
 * edge_utf16_to_utf8; out_len counts code units.  The input is fully validated first
 * (EDGE_UTF8_INVALID / EDGE_UTF8_NUL), so nothing is written for a bad input.
 */
edge_utf8_result edge_utf8_to_utf16(const uint8_t *in, size_t in_len, uint16_t *out, size_t out_cap,
                                    size_t *out_len);

#endif /* EDGE_UTF8_H */
