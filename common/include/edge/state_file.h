/*
 * The persisted lease state: byte format, parser, serializer and generation selection.
 *
 * FORMAT (version 1).  All integers little-endian, fixed width; no padding; offsets in bytes.
 *
 *   Header, 72 bytes:
 *     0   8   magic "EDGESTAT"
 *     8   4   format version = 1
 *     12  4   flags, reserved: must be 0
 *     16  8   generation: the writer's counter, +1 per write; the newest valid file wins
 *     24  8   body length in bytes; the file is exactly 72 + body length bytes long
 *     32  4   record count
 *     36  4   reserved: must be 0
 *     40  32  SHA-256 over header bytes [0, 40) followed by the whole body.  Covering the header
 *             too means a flipped generation or count is caught, not just a flipped body byte.
 *   Body: record count records, back to back, nothing after the last one.
 *   Lease record (type 1):
 *     0   4   record length: bytes that follow this field (= 88 + sid length + path length)
 *     4   2   record type = 1
 *     6   2   reserved: must be 0
 *     8   16  lease id
 *     24  32  image SHA-256
 *     56  8   created, unix seconds
 *     64  8   expires, unix seconds
 *     72  4   edge option (1 ALLOW, 2 DEFER_TO_APP)
 *     76  4   lease flags (bit 0 KEEP_AFTER_EXIT; others must be 0)
 *     80  1   protocol (6 TCP, 17 UDP)
 *     81  1   state (1 ACTIVE, 2 RULE_PENDING, 3 ENDING)
 *     82  2   first port
 *     84  2   last port
 *     86  2   owner SID length, 5..EDGE_LEASE_SID_MAX_LEN
 *     88  4   image path length, 1..EDGE_PATH_MAX_BYTES
 *     92  ..  owner SID (ASCII), then image path (UTF-8, canonical); no terminators, no NULs
 *   The owner's process id is runtime state and is not stored.  Every field is validated exactly
 *   as edge_lease_table_add validates it; a file with unknown record types is rejected (a new
 *   record type means a new format version).
 *
 * PARSING ORDER.  Size, magic, version, reserved fields, then the length fields against the
 * limits and the actual size, then the checksum — all before any allocation — then the records,
 * each length checked against what remains and against its cap before it is used.  Any failure
 * discards everything: a file loads completely or not at all.
 *
 * ON DISK (done by the service).  Two files, state.a.bin and state.b.bin.  A write goes to the
 * slot not holding the newest valid generation, as generation + 1, through a temporary file,
 * FlushFileBuffers, and MoveFileEx(MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH).  At start
 * the service reads both and calls edge_sf_select, which takes the newest valid generation; when
 * the newest is torn or corrupt the previous good one is used, so at most the last change is lost,
 * and never silently: the rejected slot and its reason are reported.
 *
 * Thread-safety: all functions are reentrant; none keeps state.
 */
#ifndef EDGE_STATE_FILE_H
#define EDGE_STATE_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "edge/lease.h"

#define EDGE_SF_MAGIC              "EDGESTAT"
#define EDGE_SF_VERSION            1u
#define EDGE_SF_HEADER_LEN         72u
#define EDGE_SF_RECORD_FIXED_LEN   92u /* a lease record without its two strings */
#define EDGE_SF_RECORD_TYPE_LEASE  1u
#define EDGE_SF_DEFAULT_MAX_LEASES 100000u
#define EDGE_SF_DEFAULT_MAX_BODY   (64u * 1024u * 1024u)

/* No candidate chosen (edge_sf_selection.index). */
#define EDGE_SF_NONE ((size_t)-1)

typedef enum edge_sf_result {
    EDGE_SF_OK = 0,
    EDGE_SF_E_ARG = 1,           /* NULL pointer argument */
    EDGE_SF_E_MISSING = 2,       /* candidate has no data (file absent or empty) */
    EDGE_SF_E_TRUNCATED = 3,     /* shorter than its header or than header + body length */
    EDGE_SF_E_BAD_MAGIC = 4,     /* not a state file */
    EDGE_SF_E_BAD_VERSION = 5,   /* format version not understood */
    EDGE_SF_E_BAD_HEADER = 6,    /* reserved header field or flag not zero */
    EDGE_SF_E_CHECKSUM = 7,      /* SHA-256 mismatch: torn or corrupted */
    EDGE_SF_E_LENGTH = 8,        /* lengths inconsistent: trailing bytes, record overruns */
    EDGE_SF_E_BAD_RECORD = 9,    /* record type, reserved field or a lease field invalid */
    EDGE_SF_E_DUPLICATE_ID = 10, /* two records with one lease id */
    EDGE_SF_E_CONFLICT = 11,     /* two leases of different images share ports */
    EDGE_SF_E_LIMITS = 12,       /* body, record count or a string longer than allowed */
    EDGE_SF_E_NO_MEMORY = 13,    /* allocation failed (transient; retry, do not fall back) */
    EDGE_SF_E_NONE_VALID = 14,   /* edge_sf_select: no candidate loaded */
    EDGE_SF_RESULT_COUNT_ = 15   /* not a result; one past the last value */
} edge_sf_result;

/* Caps applied while parsing.  A NULL limits pointer means the EDGE_SF_DEFAULT_* values. */
typedef struct edge_sf_limits {
    uint32_t max_leases;     /* record count cap */
    uint64_t max_body_bytes; /* body length cap */
} edge_sf_limits;

/* One file's contents as read from disk; data NULL or len 0 means the file was absent. */
typedef struct edge_sf_candidate {
    const uint8_t *data;
    size_t len;
} edge_sf_candidate;

typedef struct edge_sf_selection {
    size_t index;            /* chosen candidate, or EDGE_SF_NONE */
    uint64_t generation;     /* its generation; the next write uses generation + 1 */
    edge_lease_table *table; /* its leases; caller owns, release with edge_lease_table_destroy */
} edge_sf_selection;

/* Stable symbolic name, e.g. "EDGE_SF_E_CHECKSUM"; "EDGE_SF_UNKNOWN" for other values. */
const char *edge_sf_result_name(edge_sf_result result);

/*
 * Serializes every lease in table (in unspecified order) as a file of the given generation.
 * *out receives a buffer allocated for the caller (release with edge_sf_buffer_free) and *out_len
 * its size; both are NULL/0 on entry and on failure.
 * Returns EDGE_SF_OK, EDGE_SF_E_ARG, EDGE_SF_E_LIMITS (more than UINT32_MAX leases or a size
 * that does not fit size_t) or EDGE_SF_E_NO_MEMORY.
 */
edge_sf_result edge_sf_serialize(const edge_lease_table *table, uint64_t generation, uint8_t **out,
                                 size_t *out_len);

/* Frees a buffer from edge_sf_serialize.  NULL is ignored. */
void edge_sf_buffer_free(uint8_t *buf);

/*
 * Parses a whole file.  On success *table_out receives a new table created with params (NULL: no
 * limits) holding every lease (owner pid 0; per-owner and per-image quotas are not applied,
 * because policy may have lowered them since the leases were granted; params->max_leases is),
 * and *generation_out (may be NULL) the generation.  On failure *table_out is NULL.
 * Returns EDGE_SF_OK or the first problem found (see edge_sf_result).
 */
edge_sf_result edge_sf_parse(const uint8_t *data, size_t len, const edge_sf_limits *limits,
                             const edge_lease_table_params *params, edge_lease_table **table_out,
                             uint64_t *generation_out);

/*
 * Picks the newest valid generation among n candidates (typically the two slots).  Every
 * candidate is parsed completely; results (n entries, may be NULL) receives each one's outcome
 * (EDGE_SF_OK for valid ones, chosen or not).  On equal generations the lower index wins.
 * *out is reset on entry; on success it names the chosen candidate and owns its table.
 * Returns EDGE_SF_OK, EDGE_SF_E_ARG, EDGE_SF_E_NONE_VALID (no candidate valid: the service
 * starts empty and must not overwrite both slots before reporting it), or EDGE_SF_E_NO_MEMORY
 * when any candidate could not be parsed for lack of memory — falling back to an older
 * generation then would silently lose state, so nothing is chosen.
 */
edge_sf_result edge_sf_select(const edge_sf_candidate *candidates, size_t n,
                              const edge_sf_limits *limits, const edge_lease_table_params *params,
                              edge_sf_result *results, edge_sf_selection *out);

#endif /* EDGE_STATE_FILE_H */
