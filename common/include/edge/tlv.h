/*
 * TLV body layer of the wire protocol (docs/protocol.md §3 and §4): a bounds-checked reader, a
 * writer that can only produce canonical output, schema-free validation and canonicalisation.
 *
 * A TLV is an 8-byte header followed by its value:
 *   offset 0  uint16 LE  tag word: bit 15 = critical, bits 0..14 = tag number
 *   offset 2  uint8      value type (EDGE_TLV_*)
 *   offset 3  uint8      reserved, must be 0
 *   offset 4  uint32 LE  value length in bytes
 * Inside a RECORD (and the frame body, which is an implicit record) tag numbers are 1..32767 and
 * unique; inside a LIST every element has tag word 0 and all elements share one type.
 *
 * Nothing here allocates.  All functions are reentrant; a reader or writer object must not be
 * shared between threads without external locking.
 */
#ifndef EDGE_TLV_H
#define EDGE_TLV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decode/encode errors of the protocol layer (docs/protocol.md §7).  Values are not on the wire. */
typedef enum edge_proto_err {
    EDGE_PROTO_OK = 0,
    EDGE_PROTO_E_TRUNCATED_HEADER, /* fewer bytes than a frame header */
    EDGE_PROTO_E_BAD_MAGIC,        /* header magic is not EDGE_PROTO_MAGIC */
    EDGE_PROTO_E_BAD_VERSION,      /* header version not spoken here */
    EDGE_PROTO_E_RESERVED_BITS,    /* a reserved header field/flag bit or TLV byte is non-zero */
    EDGE_PROTO_E_BODY_TOO_LARGE,   /* body length above EDGE_BODY_MAX (or output over the limit) */
    EDGE_PROTO_E_LENGTH_MISMATCH,  /* frame size differs from header size + body length */
    EDGE_PROTO_E_UNKNOWN_TYPE,     /* message type not defined */
    EDGE_PROTO_E_WRONG_DIRECTION,  /* reply where a request was expected, or the reverse */
    EDGE_PROTO_E_TLV_OVERRUN,      /* a TLV header or value runs past its container */
    EDGE_PROTO_E_BAD_TAG,          /* tag 0 in a record, or a non-zero tag word in a list */
    EDGE_PROTO_E_DUPLICATE_TAG,    /* a tag number occurs twice in one record */
    EDGE_PROTO_E_UNKNOWN_CRITICAL, /* unknown tag with the critical bit set */
    EDGE_PROTO_E_BAD_TYPE,         /* known tag with the wrong value type; mixed list */
    EDGE_PROTO_E_BAD_LENGTH,       /* integer or fixed-size value of the wrong length */
    EDGE_PROTO_E_TOO_LONG,         /* string or byte string above its field limit */
    EDGE_PROTO_E_TOO_MANY,         /* too many fields in a record or items in a list */
    EDGE_PROTO_E_TOO_DEEP,         /* records/lists nested deeper than EDGE_TLV_MAX_DEPTH */
    EDGE_PROTO_E_BAD_UTF8,         /* string is not strict UTF-8 */
    EDGE_PROTO_E_EMBEDDED_NUL,     /* string contains U+0000 */
    EDGE_PROTO_E_MISSING_FIELD,    /* a required field is absent */
    EDGE_PROTO_E_BAD_VALUE,        /* value out of range, reserved flag set, lo > hi, ... */
    EDGE_PROTO_E_ORDER,            /* writer: tags not strictly ascending / container misuse */
    EDGE_PROTO_E_BUFFER_TOO_SMALL, /* output buffer too small; the needed size is reported */
    EDGE_PROTO_E_INVALID_ARG,      /* API misuse (NULL pointer, unbalanced writer, ...) */
    EDGE_PROTO_E_NO_MEMORY,        /* allocation failed */
    EDGE_PROTO_ERR_COUNT_          /* not an error; one past the last value */
} edge_proto_err;

#define EDGE_TLV_HEADER_SIZE 8u
#define EDGE_TLV_CRITICAL    0x8000u /* tag word bit: reject the message if the tag is unknown */
#define EDGE_TLV_TAG_MASK    0x7FFFu

/* Value types (wire values of the type byte). */
#define EDGE_TLV_U8     1u /* length 1 */
#define EDGE_TLV_U16    2u /* length 2, little-endian */
#define EDGE_TLV_U32    3u /* length 4, little-endian */
#define EDGE_TLV_U64    4u /* length 8, little-endian */
#define EDGE_TLV_BYTES  5u /* opaque */
#define EDGE_TLV_STRING 6u /* strict UTF-8, no NUL, not terminated */
#define EDGE_TLV_RECORD 7u /* nested TLVs with unique tags */
#define EDGE_TLV_LIST   8u /* nested elements, tag word 0, one type */

/* Structural limits (docs/protocol.md §6). */
#define EDGE_TLV_MAX_DEPTH  4u     /* nested RECORD/LIST levels below the body */
#define EDGE_TLV_MAX_FIELDS 64u    /* TLVs in one record (body included) */
#define EDGE_TLV_MAX_ITEMS  1024u  /* elements in one list */
#define EDGE_TLV_MAX_INPUT  65536u /* largest body any function here accepts */

/* One parsed TLV; val points into the buffer given to the reader. */
typedef struct edge_tlv {
    uint16_t tag;  /* tag number, critical bit removed */
    bool critical; /* critical bit of the tag word */
    uint8_t type;  /* EDGE_TLV_* or an unknown future type */
    uint32_t len;  /* value length; val[0..len) lies inside the container */
    const uint8_t *val;
} edge_tlv;

typedef struct edge_tlv_reader {
    const uint8_t *p;
    size_t left;
} edge_tlv_reader;

/* Little-endian helpers; p must have room for the width. */
static inline uint16_t edge_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t edge_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t edge_le64(const uint8_t *p)
{
    return (uint64_t)edge_le32(p) | ((uint64_t)edge_le32(p + 4) << 32);
}
static inline void edge_put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void edge_put_le32(uint8_t *p, uint32_t v)
{
    edge_put_le16(p, (uint16_t)v);
    edge_put_le16(p + 2, (uint16_t)(v >> 16));
}
static inline void edge_put_le64(uint8_t *p, uint64_t v)
{
    edge_put_le32(p, (uint32_t)v);
    edge_put_le32(p + 4, (uint32_t)(v >> 32));
}

/* Starts reading the TLVs in p[0..len).  p may be NULL when len is 0. */
void edge_tlv_reader_init(edge_tlv_reader *r, const uint8_t *p, size_t len);

/* True when every byte of the container has been consumed. */
bool edge_tlv_reader_done(const edge_tlv_reader *r);

/*
 * Parses the next TLV header and bounds-checks its value.  Returns EDGE_PROTO_OK and fills *out,
 * EDGE_PROTO_E_TLV_OVERRUN if the header or value runs past the container, or
 * EDGE_PROTO_E_RESERVED_BITS if the reserved byte is set.  Checks nothing about the type.  On
 * error the reader does not advance.  Call only when !edge_tlv_reader_done(r).
 */
edge_proto_err edge_tlv_next(edge_tlv_reader *r, edge_tlv *out);

/*
 * Reads an integer TLV (U8/U16/U32/U64) zero-extended into *v.  Returns EDGE_PROTO_E_BAD_TYPE for
 * another type, EDGE_PROTO_E_BAD_LENGTH if the length does not match the type.
 */
edge_proto_err edge_tlv_get_uint(const edge_tlv *t, uint64_t *v);

/*
 * Validates a body without a schema: every TLV inside its container, reserved bytes zero, tag rules
 * for records and lists, no duplicate tag numbers in any record, integer lengths exact, every
 * STRING strict UTF-8 without NUL (also inside unknown tags), nesting <= EDGE_TLV_MAX_DEPTH,
 * counts <= EDGE_TLV_MAX_FIELDS / EDGE_TLV_MAX_ITEMS, len <= EDGE_TLV_MAX_INPUT.  Unknown value
 * types are accepted as opaque.  Returns the first error found.
 */
edge_proto_err edge_tlv_validate(const uint8_t *body, size_t len);

/*
 * Writes the canonical form of a body (docs/protocol.md §4.4): the same TLVs, each record's fields
 * in strictly ascending tag-number order, applied recursively; list order is kept.  Signatures are
 * computed over this form.  The body is validated first (edge_tlv_validate errors).  The canonical
 * form has exactly the length of the input, so out needs len bytes; out must not overlap body.
 * *out_len is 0 on error.  Returns EDGE_PROTO_E_BUFFER_TOO_SMALL if cap < len.
 */
edge_proto_err edge_tlv_canonicalize(const uint8_t *body, size_t len, uint8_t *out, size_t cap,
                                     size_t *out_len);

/*
 * The writer.  Errors are sticky: the first one is kept, later calls do nothing, and
 * edge_tlv_writer_finish reports it.  With buf NULL and cap 0 the writer only measures.  The
 * writer enforces canonical output: inside a record, tag numbers must be strictly ascending
 * (EDGE_PROTO_E_ORDER otherwise); inside a list, tag must be 0 and all elements one type.
 * Strings are checked (EDGE_PROTO_E_BAD_UTF8 / _EMBEDDED_NUL); total output is limited to
 * EDGE_TLV_MAX_INPUT (EDGE_PROTO_E_BODY_TOO_LARGE).  Tags passed in are tag words: the number,
 * optionally ORed with EDGE_TLV_CRITICAL.
 */
typedef struct edge_tlv_writer {
    uint8_t *buf;
    size_t cap;
    size_t pos; /* bytes produced so far (may exceed cap while measuring) */
    edge_proto_err err;
    unsigned depth;                            /* open containers */
    size_t open_at[EDGE_TLV_MAX_DEPTH];        /* header offset of each open container */
    uint16_t last_tag[EDGE_TLV_MAX_DEPTH + 1]; /* last tag number per level (records) */
    uint8_t list_type[EDGE_TLV_MAX_DEPTH + 1]; /* element type per level; 0 = record level */
    uint32_t count[EDGE_TLV_MAX_DEPTH + 1];    /* TLVs written per level */
} edge_tlv_writer;

/* Starts writing a body at buf[0..cap). */
void edge_tlv_writer_init(edge_tlv_writer *w, uint8_t *buf, size_t cap);
void edge_tlv_put_u8(edge_tlv_writer *w, uint16_t tag, uint8_t v);
void edge_tlv_put_u16(edge_tlv_writer *w, uint16_t tag, uint16_t v);
void edge_tlv_put_u32(edge_tlv_writer *w, uint16_t tag, uint32_t v);
void edge_tlv_put_u64(edge_tlv_writer *w, uint16_t tag, uint64_t v);
/* p may be NULL when len is 0. */
void edge_tlv_put_bytes(edge_tlv_writer *w, uint16_t tag, const void *p, size_t len);
void edge_tlv_put_str(edge_tlv_writer *w, uint16_t tag, const char *s, size_t len);
/* Opens a RECORD; close with edge_tlv_end. */
void edge_tlv_begin_record(edge_tlv_writer *w, uint16_t tag);
/* Opens a LIST whose elements (tag 0) will all have type elem_type; close with edge_tlv_end. */
void edge_tlv_begin_list(edge_tlv_writer *w, uint16_t tag, uint8_t elem_type);
void edge_tlv_end(edge_tlv_writer *w);
/*
 * Ends writing: returns the sticky error, EDGE_PROTO_E_INVALID_ARG if containers are still open,
 * or EDGE_PROTO_E_BUFFER_TOO_SMALL if the output did not fit.  *len receives the bytes produced
 * (the size needed when the buffer was too small, 0 on other errors).
 */
edge_proto_err edge_tlv_writer_finish(edge_tlv_writer *w, size_t *len);

#endif /* EDGE_TLV_H */
