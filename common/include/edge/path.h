/*
 * Windows path rules for executable images, as pure functions over UTF-8.
 *
 * Why UTF-8 and not UTF-16: every string in common/ (wire protocol, state file, policy) is UTF-8,
 * and the Win32 layer converts at its boundary once.  The rules below only ever look at ASCII
 * bytes (separators, ':', '.', ' ', drive letters, reserved names), and in UTF-8 an ASCII byte
 * never occurs inside a multi-byte sequence, so byte-wise processing is exact.
 *
 * Accepted image paths, after an optional "\\?\" prefix is removed:
 *   X:\seg\...\file           drive-absolute (at least one segment after the root)
 *   \\server\share\...\file   UNC (also written \\?\UNC\server\share\...)
 * '/' is read as '\' (except after "\\?\", where Windows does not translate it, so it is
 * rejected) and runs of separators collapse to one.
 *
 * Rejected, each with its own code: empty input, more than EDGE_PATH_MAX_BYTES bytes, embedded
 * NUL, invalid UTF-8, relative paths ("a\b", "C:a", "\a"), "." and ".." segments, device and
 * namespace paths ("\\.\", "\??\", "\\?\Volume{..}", "\\?\GLOBALROOT", reserved DOS names such as
 * CON, NUL, COM1, LPT¹, CONIN$ in any segment, with or without an extension), UNC paths that alias
 * the local machine or an administrative share ("\\localhost\", "\\127.0.0.1\", "\\::1\",
 * "\\srv\C$\"), segments ending in '.' or ' ' (Win32 silently strips them, so two spellings would
 * name one file), ':' after the drive letter (alternate data streams), the characters <>"|?* and
 * control characters, and a trailing separator or a root without a file.
 *
 * Case: the comparison key folds ASCII letters to lower case only.  Non-ASCII letters compare
 * byte-exact, which fails closed: an allow-list pattern never matches a path that differs from it
 * in the case of a non-ASCII letter.  To make that a non-issue the service takes image paths from
 * GetFinalPathNameByHandleW(FILE_NAME_NORMALIZED), which returns the on-disk spelling, so one file
 * always yields one key.  The local computer's own name in a UNC path (\\MYPC\share) cannot be
 * known here: the service compares the server component with GetComputerNameExW itself.
 *
 * Thread-safety: every function is pure and reentrant.
 */
#ifndef EDGE_PATH_H
#define EDGE_PATH_H

#include <stdbool.h>
#include <stddef.h>

/* Longest accepted path or pattern, in UTF-8 bytes (excluding any terminator). */
#define EDGE_PATH_MAX_BYTES 32767u

typedef enum edge_path_result {
    EDGE_PATH_OK = 0,
    EDGE_PATH_E_ARG = 1,           /* NULL pointer argument */
    EDGE_PATH_E_EMPTY = 2,         /* zero-length input */
    EDGE_PATH_E_TOO_LONG = 3,      /* longer than EDGE_PATH_MAX_BYTES */
    EDGE_PATH_E_EMBEDDED_NUL = 4,  /* a NUL byte inside the given length */
    EDGE_PATH_E_ENCODING = 5,      /* not valid UTF-8 (overlongs, surrogates, >U+10FFFF) */
    EDGE_PATH_E_RELATIVE = 6,      /* not drive-absolute or UNC */
    EDGE_PATH_E_DOT_SEGMENT = 7,   /* "." or ".." segment */
    EDGE_PATH_E_DEVICE = 8,        /* device/namespace path or reserved DOS device name */
    EDGE_PATH_E_UNC_ALIAS = 9,     /* UNC path naming the local machine or an admin share */
    EDGE_PATH_E_TRAILING_DOT = 10, /* a segment ends in '.' or ' ' */
    EDGE_PATH_E_STREAM = 11,       /* ':' outside the drive letter: alternate data stream */
    EDGE_PATH_E_INVALID_CHAR = 12, /* <>"|?* or control character, or '/' after "\\?\" */
    EDGE_PATH_E_SYNTAX = 13,       /* trailing separator, missing file/share, "\\\" */
    EDGE_PATH_E_BUFFER = 14,       /* output buffer too small */
    EDGE_PATH_E_UNEXPANDED = 15,   /* pattern contains '%': variable not expanded */
    EDGE_PATH_E_BAD_PATTERN = 16,  /* wildcard in the root, or '**' not a whole segment */
    EDGE_PATH_E_NO_MEMORY = 17,    /* allocation failed */
    EDGE_PATH_RESULT_COUNT_ = 18   /* not a result; one past the last value */
} edge_path_result;

/* Stable symbolic name of a result, e.g. "EDGE_PATH_E_STREAM"; "EDGE_PATH_UNKNOWN" otherwise. */
const char *edge_path_result_name(edge_path_result result);

/*
 * Validates path (len bytes, not necessarily NUL-terminated) against the rules above and writes
 * its canonical form, case preserved, NUL-terminated, to out (out_cap bytes).  The canonical form
 * is never longer than the input, so out_cap >= len + 1 always suffices.  *out_len (may be NULL)
 * receives the length without the terminator.  On failure out holds "" when out_cap > 0 and
 * *out_len is 0.
 * Returns EDGE_PATH_OK, EDGE_PATH_E_ARG, EDGE_PATH_E_BUFFER or one of the rule violations above.
 */
edge_path_result edge_path_canonicalize(const char *path, size_t len, char *out, size_t out_cap,
                                        size_t *out_len);

/*
 * Like edge_path_canonicalize, then folds ASCII A-Z to a-z: the comparison key.  Two image paths
 * name the same file (under the rules above) exactly when their keys are byte-equal.
 */
edge_path_result edge_path_key(const char *path, size_t len, char *out, size_t out_cap,
                               size_t *out_len);

/*
 * True when path (a NUL-terminated string) is valid and already in canonical form, i.e.
 * edge_path_canonicalize would return it unchanged.  Allocates a temporary copy; false on
 * allocation failure.
 */
bool edge_path_is_canonical(const char *path);

/*
 * Checks an allow-list pattern without matching anything.  Pattern syntax: a path as above whose
 * root (drive letter, or UNC server and share) is literal; after the root, '*' inside a segment
 * matches any run of characters within that segment, and a segment that is exactly "**" matches
 * zero or more whole segments.  Matching is ASCII case-insensitive and anchored at both ends.
 * '%' is rejected (EDGE_PATH_E_UNEXPANDED): the service expands %ProgramFiles% and friends before
 * matching.  '?' is not a wildcard and is rejected as EDGE_PATH_E_INVALID_CHAR.
 */
edge_path_result edge_path_pattern_check(const char *pattern, size_t len);

/*
 * Sets *matched to whether path matches pattern (both len-delimited).  Both are validated first:
 * any pattern or path error is returned (with *matched false), so an invalid path never matches.
 * Cost is O(pattern length x path length) in the worst case; no recursion.
 */
edge_path_result edge_path_match(const char *pattern, size_t pattern_len, const char *path,
                                 size_t path_len, bool *matched);

#endif /* EDGE_PATH_H */
