/*
 * A small, safe JSON writer into a bounded buffer.
 *
 * Used by the service's audit trail (one JSON object per line) and by `edgectl --json`.  The
 * writer never allocates beyond what the caller allows: either a caller-provided fixed buffer, or
 * a growable heap buffer with a hard byte limit.
 *
 * Errors are sticky.  The first failing call records a json_status, empties the output (len 0,
 * buf[0] = '\0') and every later call returns that status without writing, so an error can never
 * leave a truncated document with garbage behind it; check the result once, at json_finish().
 *
 * Strings (values and keys) must be valid UTF-8 as edge_utf8_check (edge/utf8.h) defines it, except
 * that U+0000 is allowed (and written as \u0000); invalid input fails with JSON_E_INVALID_UTF8.
 * Every control character (U+0000..U+001F), the quotation mark and the backslash are escaped; all
 * other characters, including non-ASCII, are copied through unchanged.  Integers are written
 * exactly (64-bit); consumers in JavaScript lose precision above 2^53, so ids and hashes are
 * written as hex strings.
 *
 * A json_writer is not thread-safe; use one per thread.  Its fields are private.
 */
#ifndef EDGE_JSON_H
#define EDGE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deepest nesting of objects and arrays a writer accepts. */
#define JSON_MAX_DEPTH 32

typedef enum json_status {
    JSON_OK = 0,
    JSON_E_NO_SPACE = 1,     /* the output would exceed the fixed buffer or the growable limit */
    JSON_E_NO_MEMORY = 2,    /* growing the buffer failed */
    JSON_E_INVALID_UTF8 = 3, /* a string or key is not valid UTF-8 */
    JSON_E_STATE = 4,        /* call not allowed here (value without key in an object, key outside
                                an object, unbalanced end, second top-level value, too deep,
                                json_finish on an incomplete document) */
    JSON_E_INVALID_ARG = 5   /* NULL where data is required, or an unusable buffer */
} json_status;

typedef struct json_writer {
    char *buf;
    size_t len;   /* bytes written, excluding the terminating NUL */
    size_t cap;   /* bytes available in buf, including room for the NUL */
    size_t limit; /* growable: largest cap allowed; fixed: equal to cap */
    bool growable;
    bool done;        /* a complete top-level value has been written */
    bool key_pending; /* inside an object, a key was written and awaits its value */
    json_status status;
    uint32_t depth;
    uint8_t frames[JSON_MAX_DEPTH];
} json_writer;

/*
 * Writes into buf (cap bytes, including the terminating NUL).  The writer never frees buf.
 * buf == NULL or cap == 0 makes every call fail with JSON_E_INVALID_ARG.
 */
void json_init_fixed(json_writer *w, char *buf, size_t cap);

/*
 * Writes into a heap buffer that grows (malloc/realloc) up to limit bytes including the NUL.
 * Nothing is allocated until the first write.  Release with json_dispose().
 */
void json_init_growable(json_writer *w, size_t limit);

/* Frees a growable writer's buffer; no-op for fixed writers.  The writer may be re-initialised. */
void json_dispose(json_writer *w);

/* Empties the output and clears any error, keeping the buffer, to write the next document. */
void json_reset(json_writer *w);

/* The sticky status: JSON_OK until the first error. */
json_status json_status_of(const json_writer *w);

/*
 * Checks the document is complete (exactly one top-level value, every container closed) and
 * returns it NUL-terminated.  On success *out points into the writer's buffer (valid until the
 * next call on the writer) and *out_len (if not NULL) is its length.  On failure *out = NULL,
 * *out_len = 0, and the error is returned.
 */
json_status json_finish(json_writer *w, const char **out, size_t *out_len);

json_status json_object_begin(json_writer *w);
json_status json_object_end(json_writer *w);
json_status json_array_begin(json_writer *w);
json_status json_array_end(json_writer *w);

/* A member name inside an object (NUL-terminated UTF-8); the next call must write its value. */
json_status json_key(json_writer *w, const char *key);

/* A string value from NUL-terminated UTF-8; s == NULL writes null. */
json_status json_string(json_writer *w, const char *s);

/* A string value from n bytes of UTF-8, which may include NUL (written as \u0000). */
json_status json_string_n(json_writer *w, const char *s, size_t n);

json_status json_int(json_writer *w, int64_t v);
json_status json_uint(json_writer *w, uint64_t v);
json_status json_bool(json_writer *w, bool v);
json_status json_null(json_writer *w);

/* A string of 2*n lowercase hex digits.  bytes may be NULL only when n == 0. */
json_status json_hex(json_writer *w, const void *bytes, size_t n);

/* Key and value in one call; same rules as json_key followed by the value function. */
json_status json_kv_string(json_writer *w, const char *key, const char *s);
json_status json_kv_int(json_writer *w, const char *key, int64_t v);
json_status json_kv_uint(json_writer *w, const char *key, uint64_t v);
json_status json_kv_bool(json_writer *w, const char *key, bool v);
json_status json_kv_null(json_writer *w, const char *key);
json_status json_kv_hex(json_writer *w, const char *key, const void *bytes, size_t n);

/* Stable name of a status, e.g. "JSON_E_NO_SPACE"; "JSON_E_UNKNOWN" for other values. */
const char *json_status_name(json_status status);

#endif /* EDGE_JSON_H */
