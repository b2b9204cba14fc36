/*
 * Private to common/messages.c and common/msg_codec.c: the schema tables that describe every
 * message body and record (docs/protocol.md §9) and the engine that walks them.
 */
#ifndef EDGE_MSG_SCHEMA_H
#define EDGE_MSG_SCHEMA_H

#include "edge/protocol.h"

#include <stddef.h>

enum msg_kind { K_U8, K_U16, K_U32, K_U64, K_STR, K_BYTES, K_FIXED, K_RECORD, K_LIST };

enum {
    F_REQ = 0x01,      /* always required */
    F_REQ_OK = 0x02,   /* required in a reply whose status is EDGE_OK */
    F_REQ_PEND = 0x04, /* required in a reply whose status is EDGE_PENDING_CONSENT */
    F_CRIT = 0x08,     /* the encoder sets the critical bit */
    F_MASK = 0x10,     /* integer: hi is the mask of allowed bits instead of a maximum */
    F_PROTO = 0x20     /* integer: must be EDGE_IPPROTO_TCP or EDGE_IPPROTO_UDP */
};

#define NO_HAS ((size_t)-1)

struct schema;

struct field {
    uint16_t tag;
    uint8_t kind;
    uint8_t flags;
    uint32_t max;   /* K_STR/K_BYTES: max bytes; K_FIXED: exact length; K_LIST: max items */
    uint64_t lo;    /* integers: minimum; K_STR/K_BYTES: minimum length */
    uint64_t hi;    /* integers: maximum (or mask); string lists: max bytes per element */
    size_t off;     /* offset of the value in the struct */
    size_t has_off; /* offset of the bool presence flag, or NO_HAS */
    const struct schema *sub; /* K_RECORD, K_LIST of records; NULL for a list of strings */
};

struct schema {
    const struct field *fields;
    size_t count;
    edge_proto_err (*check)(const void *obj); /* cross-field rules, or NULL */
    size_t size;                              /* size of the C struct described */
};

/* Record schemas, used for nested records and list elements. */
extern const struct schema edge_schema_lease;
extern const struct schema edge_schema_pending;
extern const struct schema edge_schema_check;
extern const struct schema edge_schema_policy;
/* REQUEST/EXPLAIN request body; the decoder fills in a missing port_hi for it. */
extern const struct schema edge_schema_lease_req;

/*
 * Picks the envelope schema (NULL for requests) and the verb schema for a frame of this type and
 * flags read in direction dir.  Errors: _UNKNOWN_TYPE, _WRONG_DIRECTION.
 */
edge_proto_err edge_schema_select(uint16_t type, uint16_t flags, edge_direction dir,
                                  const struct schema **env, const struct schema **verb);

#endif /* EDGE_MSG_SCHEMA_H */
