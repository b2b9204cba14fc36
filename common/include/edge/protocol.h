/*
 * edgebroker wire protocol: frames, messages, encode/decode (spec: docs/protocol.md).
 *
 * A frame is a 20-byte little-endian header followed by a TLV body (edge/tlv.h).  This header
 * gives plain C structs for every message; the codec converts between them and frames.
 *
 * Decoding allocates nothing: strings and byte strings in a decoded edge_msg are views
 * (pointer + length, NOT NUL-terminated) into the frame buffer, which must outlive the message.
 * Lists are views too; walk them with the edge_list_next_* iterators.  Every limit is checked
 * before anything is used, and decoding never reads outside [frame, frame + len).
 *
 * Encoding validates the message with exactly the rules the decoder applies, so anything that
 * encodes also decodes, and it always produces the canonical encoding (docs/protocol.md §4.4).
 *
 * Typical service use:
 *     edge_frame_header hdr;
 *     err = edge_frame_parse_header(buf, n, &hdr);           (drop the client if this fails,
 *                                                             except _BAD_VERSION: reply first)
 *     err = edge_msg_decode(buf, n, EDGE_DIR_REQUEST, &req);   (on error reply with
 *                                                             edge_reply_encode_error(&hdr, ...,
 *                                                             edge_proto_err_status(err), ...))
 *     edge_msg_init_reply(&rep, &hdr, epoch, EDGE_OK); fill rep.u.xxx; edge_msg_encode(&rep, ...)
 *
 * All functions are reentrant and thread-safe (no global state).
 */
#ifndef EDGE_PROTOCOL_H
#define EDGE_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edge/status.h"
#include "edge/tlv.h"

/* ---- frame (docs/protocol.md §2) ---- */

#define EDGE_PROTO_MAGIC       0x42474445u /* bytes 'E' 'D' 'G' 'B' on the wire */
#define EDGE_PROTO_VERSION     1u          /* the only version this code speaks */
#define EDGE_FRAME_HEADER_SIZE 20u
#define EDGE_FRAME_MAX         65536u /* whole frame, header included */
#define EDGE_BODY_MAX          (EDGE_FRAME_MAX - EDGE_FRAME_HEADER_SIZE)
#define EDGE_FRAME_F_REPLY     0x0001u /* frame answers the request with the same id */
#define EDGE_FRAME_F_KNOWN     0x0001u /* every other flag bit is reserved and must be 0 */

/* Message types (uint16 on the wire).  A reply carries its request's type plus F_REPLY. */
enum {
    EDGE_MSG_HELLO = 1,
    EDGE_MSG_PING = 2,
    EDGE_MSG_REQUEST = 3,
    EDGE_MSG_RENEW = 4,
    EDGE_MSG_RELEASE = 5,
    EDGE_MSG_LIST = 6,
    EDGE_MSG_SHOW = 7,
    EDGE_MSG_REVOKE = 8,
    EDGE_MSG_STATUS = 9,
    EDGE_MSG_DOCTOR = 10,
    EDGE_MSG_PENDING = 11,
    EDGE_MSG_APPROVE = 12,
    EDGE_MSG_DENY = 13,
    EDGE_MSG_POLICY = 14,
    EDGE_MSG_EXPLAIN = 15,
    EDGE_MSG_PURGE = 16,
    EDGE_MSG_NOTICE = 64 /* server -> client, unsolicited, request id 0, never F_REPLY */
};

/* ---- field values and limits (docs/protocol.md §5, §6, §8) ---- */

#define EDGE_ID_SIZE     16u /* lease id, pending id, epoch */
#define EDGE_SHA256_SIZE 32u

#define EDGE_MAX_PATH           4096u /* image / target path, UTF-8 bytes */
#define EDGE_MAX_SID            256u  /* SID string, "S-1-5-..." */
#define EDGE_MAX_NAME           128u  /* names, versions, sources */
#define EDGE_MAX_TEXT           1024u /* detail, reason, policy value, trace line */
#define EDGE_MAX_SIGNED_REQUEST 4096u /* opaque signed-request blob */
#define EDGE_MAX_PING_PAYLOAD   8192u
#define EDGE_MAX_LIST_ITEMS     1024u /* records per list */
#define EDGE_MAX_TRACE_LINES    256u
#define EDGE_LEASE_SECONDS_MAX  31536000u /* 365 days; policy usually caps far lower */
#define EDGE_ERROR_REPLY_MAX    1152u     /* edge_reply_encode_error never needs more */

#define EDGE_IPPROTO_TCP 6u
#define EDGE_IPPROTO_UDP 17u

/* Edge traversal option of a rule; values of NET_FW_EDGE_TRAVERSAL_TYPE. */
#define EDGE_TRAVERSAL_ALLOW        1u
#define EDGE_TRAVERSAL_DEFER_TO_APP 2u

#define EDGE_LEASE_F_KEEP_AFTER_EXIT 0x1u /* lease survives the client process exiting */
#define EDGE_LEASE_F_KNOWN           0x1u

#define EDGE_LIST_F_ALL   0x1u /* every user's leases (admin only) */
#define EDGE_LIST_F_KNOWN 0x1u

#define EDGE_LEASE_STATE_ACTIVE      1u /* rule in place */
#define EDGE_LEASE_STATE_INEFFECTIVE 2u /* rule in place but defeated (see doctor) */
#define EDGE_LEASE_STATE_REPAIRING   3u /* rule missing or altered; being restored */
#define EDGE_LEASE_STATE_ENDED       4u /* released, expired or revoked; rule removed */

#define EDGE_CHECK_UNKNOWN 0u
#define EDGE_CHECK_OFF     1u
#define EDGE_CHECK_ON      2u

#define EDGE_NOTICE_REVOKED  1u /* lease revoked by an administrator (lease id) */
#define EDGE_NOTICE_ENDING   2u /* lease expires in `seconds` (lease id) */
#define EDGE_NOTICE_EXPIRED  3u /* lease expired, rule removed (lease id) */
#define EDGE_NOTICE_SHUTDOWN 4u /* service stopping; the connection will close */

/* Capability bits (hello).  Receivers ignore bits they do not know: they only advertise. */
#define EDGE_CAP_SIGNED_REQUESTS 0x1u
#define EDGE_CAP_USER_CONSENT    0x2u
#define EDGE_CAP_NOTICES         0x4u

/* Warning bits of a reply envelope.  Clients ignore bits they do not know. */
#define EDGE_WARN_FIREWALL_OFF        0x1u /* firewall off in a current profile */
#define EDGE_WARN_LOCAL_RULES_IGNORED 0x2u /* Group Policy: AllowLocalPolicyMerge = 0 */
#define EDGE_WARN_TEREDO_UNAVAILABLE  0x4u /* no Teredo interface/port */

/* ---- views and records ---- */

/* UTF-8 string view; absent when ptr is NULL.  Not NUL-terminated. */
typedef struct edge_str {
    const char *ptr;
    uint32_t len;
} edge_str;

/* Byte string view; absent when ptr is NULL. */
typedef struct edge_bytes {
    const uint8_t *ptr;
    uint32_t len;
} edge_bytes;

/*
 * A list field.  Encoding reads items[0..count) (element type given per field below); decoding
 * sets items to NULL, count to the element count and raw to the encoded elements, which the
 * edge_list_next_* iterators walk.  An absent list decodes as count 0.
 */
typedef struct edge_list {
    const void *items;
    uint32_t count;
    edge_bytes raw;
} edge_list;

typedef struct edge_lease {
    uint8_t id[EDGE_ID_SIZE];
    edge_str owner_sid;  /* required, <= EDGE_MAX_SID */
    edge_str image_path; /* required, <= EDGE_MAX_PATH */
    uint8_t image_sha256[EDGE_SHA256_SIZE];
    uint8_t protocol;    /* EDGE_IPPROTO_TCP / _UDP */
    uint16_t port_lo;    /* 1..65535 */
    uint16_t port_hi;    /* port_lo..65535 */
    uint8_t edge_option; /* EDGE_TRAVERSAL_* */
    uint64_t created;    /* unix seconds */
    uint64_t expires;    /* unix seconds, >= created */
    uint32_t flags;      /* EDGE_LEASE_F_* */
    uint8_t state;       /* EDGE_LEASE_STATE_* */
} edge_lease;

typedef struct edge_pending {
    uint8_t id[EDGE_ID_SIZE];
    edge_str owner_sid;
    edge_str image_path;
    uint8_t image_sha256[EDGE_SHA256_SIZE];
    uint8_t protocol;
    uint16_t port_lo;
    uint16_t port_hi;
    uint32_t seconds; /* lease length asked for, 1..EDGE_LEASE_SECONDS_MAX */
    uint32_t flags;   /* EDGE_LEASE_F_* asked for */
    uint64_t created; /* when the request was made */
    uint64_t expires; /* when the pending request lapses, >= created */
} edge_pending;

/* One doctor/status entry. */
typedef struct edge_check {
    edge_str name;   /* required, <= EDGE_MAX_NAME */
    uint8_t state;   /* EDGE_CHECK_* */
    edge_str reason; /* optional, <= EDGE_MAX_TEXT */
} edge_check;

/* One effective policy value and where it came from. */
typedef struct edge_policy_entry {
    edge_str name;   /* <= EDGE_MAX_NAME */
    edge_str value;  /* <= EDGE_MAX_TEXT */
    edge_str source; /* <= EDGE_MAX_NAME, e.g. "policy", "local", "default" */
} edge_policy_entry;

/* ---- messages (docs/protocol.md §9) ---- */

typedef struct edge_hello_req {
    uint16_t version_min; /* >= 1 */
    uint16_t version_max; /* >= version_min */
    uint32_t capabilities;
    edge_str client_name; /* optional, <= EDGE_MAX_NAME */
} edge_hello_req;

typedef struct edge_hello_rep {
    uint16_t version; /* chosen version */
    uint32_t capabilities;
    edge_str server_version; /* <= EDGE_MAX_NAME */
} edge_hello_rep;

typedef struct edge_ping {
    edge_bytes payload; /* optional, <= EDGE_MAX_PING_PAYLOAD; echoed */
} edge_ping;

/* REQUEST and EXPLAIN requests. */
typedef struct edge_lease_req {
    uint8_t protocol;
    uint16_t port_lo;
    bool has_port_hi; /* absent: single port; the decoder then sets port_hi = port_lo */
    uint16_t port_hi;
    bool has_seconds; /* absent: policy default */
    uint32_t seconds; /* 1..EDGE_LEASE_SECONDS_MAX */
    bool has_flags;
    uint32_t flags;            /* EDGE_LEASE_F_* */
    edge_str target_app;       /* optional: another executable (elevated admin only) */
    edge_bytes signed_request; /* optional, opaque, <= EDGE_MAX_SIGNED_REQUEST */
} edge_lease_req;

/* RENEW request. */
typedef struct edge_renew_req {
    uint8_t lease_id[EDGE_ID_SIZE];
    bool has_seconds;
    uint32_t seconds;
} edge_renew_req;

/* RELEASE, SHOW, REVOKE (lease id), APPROVE, DENY (pending id) requests. */
typedef struct edge_id_req {
    uint8_t id[EDGE_ID_SIZE];
    edge_str reason; /* REVOKE and DENY only; optional, <= EDGE_MAX_TEXT */
} edge_id_req;

/* LIST and PENDING requests. */
typedef struct edge_list_req {
    bool has_flags; /* LIST only */
    uint32_t flags; /* EDGE_LIST_F_* */
    bool has_cursor;
    uint32_t cursor; /* from a previous reply's next_cursor */
} edge_list_req;

/* REQUEST, RENEW, SHOW and APPROVE replies. */
typedef struct edge_lease_rep {
    bool has_lease; /* required with EDGE_OK */
    edge_lease lease;
    bool has_pending_id; /* REQUEST only; required with EDGE_PENDING_CONSENT */
    uint8_t pending_id[EDGE_ID_SIZE];
} edge_lease_rep;

/* LIST (items: edge_lease) and PENDING (items: edge_pending) replies. */
typedef struct edge_list_rep {
    edge_list items;
    bool has_next_cursor; /* present when more items follow */
    uint32_t next_cursor;
} edge_list_rep;

typedef struct edge_status_rep {
    edge_list checks; /* edge_check */
    uint32_t active_leases;
    uint32_t pending_requests;
    uint64_t started; /* service start, unix seconds */
} edge_status_rep;

/* DOCTOR (items: edge_check) and POLICY (items: edge_policy_entry) replies. */
typedef struct edge_entries_rep {
    edge_list items;
} edge_entries_rep;

typedef struct edge_explain_rep {
    uint32_t decision; /* the edge_status the request would get */
    edge_list trace;   /* edge_str lines, <= EDGE_MAX_TRACE_LINES */
} edge_explain_rep;

typedef struct edge_purge_rep {
    uint32_t removed; /* rules removed */
} edge_purge_rep;

typedef struct edge_notice {
    uint8_t kind;      /* EDGE_NOTICE_* */
    bool has_lease_id; /* required for REVOKED, ENDING, EXPIRED */
    uint8_t lease_id[EDGE_ID_SIZE];
    bool has_seconds;
    uint32_t seconds;
} edge_notice;

/* Fields every reply carries (status, epoch required); notices carry epoch and detail only. */
typedef struct edge_envelope {
    uint32_t status; /* edge_status value */
    uint8_t epoch[EDGE_ID_SIZE];
    edge_str detail; /* optional, <= EDGE_MAX_TEXT */
    bool has_win32_error;
    uint32_t win32_error; /* Win32 error code or HRESULT */
    bool has_retry_after;
    uint32_t retry_after; /* seconds */
    bool has_warnings;
    uint32_t warnings; /* EDGE_WARN_* */
} edge_envelope;

typedef struct edge_msg {
    uint16_t type;       /* EDGE_MSG_* */
    uint16_t flags;      /* EDGE_FRAME_F_REPLY or 0 */
    uint32_t request_id; /* chosen by the client, echoed in the reply; 0 in notices */
    edge_envelope env;   /* replies and notices only */
    /* Which member is used depends on type and direction; bodiless messages use none. */
    union {
        edge_hello_req hello_req;
        edge_hello_rep hello_rep;
        edge_ping ping;           /* PING request and reply */
        edge_lease_req lease_req; /* REQUEST, EXPLAIN */
        edge_renew_req renew_req;
        edge_id_req id_req;       /* RELEASE, SHOW, REVOKE, APPROVE, DENY */
        edge_list_req list_req;   /* LIST, PENDING */
        edge_lease_rep lease_rep; /* REQUEST, RENEW, SHOW, APPROVE */
        edge_list_rep list_rep;   /* LIST, PENDING */
        edge_status_rep status_rep;
        edge_entries_rep entries_rep; /* DOCTOR, POLICY */
        edge_explain_rep explain_rep;
        edge_purge_rep purge_rep;
        edge_notice notice;
    } u;
} edge_msg;

/* ---- frame header ---- */

typedef struct edge_frame_header {
    uint32_t magic;
    uint16_t version;
    uint16_t type;
    uint16_t flags;
    uint16_t reserved;
    uint32_t request_id;
    uint32_t body_len;
} edge_frame_header;

/*
 * Parses and checks the header at buf[0..len); needs only EDGE_FRAME_HEADER_SIZE bytes, so the
 * service can learn the body length before reading the rest.  Checks, in order: length
 * (_TRUNCATED_HEADER), magic (_BAD_MAGIC), version (_BAD_VERSION), reserved field and unknown
 * flags (_RESERVED_BITS), body_len <= EDGE_BODY_MAX (_BODY_TOO_LARGE).  Does not check the type.
 * Whenever len >= EDGE_FRAME_HEADER_SIZE, *hdr is filled even on error (so a _BAD_VERSION frame
 * can still be answered with its request id); otherwise *hdr is zeroed.
 */
edge_proto_err edge_frame_parse_header(const uint8_t *buf, size_t len, edge_frame_header *hdr);

/* Writes hdr as EDGE_FRAME_HEADER_SIZE bytes at out; no checks. */
void edge_frame_write_header(const edge_frame_header *hdr, uint8_t *out);

/* ---- messages ---- */

typedef enum edge_direction {
    EDGE_DIR_REQUEST = 1, /* client -> service: requests only */
    EDGE_DIR_REPLY = 2    /* service -> client: replies and notices */
} edge_direction;

/*
 * Decodes a whole frame frame[0..len) into *out (zeroed first).  dir says which side is reading:
 * a service passes EDGE_DIR_REQUEST, a client EDGE_DIR_REPLY; other frames fail with
 * _WRONG_DIRECTION.  Checks the header (as edge_frame_parse_header), len == header + body_len
 * (_LENGTH_MISMATCH), the type (_UNKNOWN_TYPE), the body's TLV structure (edge_tlv_validate), then
 * the message schema: unknown critical tags (_UNKNOWN_CRITICAL), field types (_BAD_TYPE), sizes
 * (_BAD_LENGTH, _TOO_LONG, _TOO_MANY), required fields (_MISSING_FIELD), values (_BAD_VALUE).
 * Unknown non-critical tags are skipped.  Reply fields marked "with OK" in docs/protocol.md §9
 * are required only when env.status is EDGE_OK.
 * On success, views in *out point into frame.  On error *out is unspecified except that type,
 * flags and request_id are valid whenever the header parsed.  Allocates nothing.
 */
edge_proto_err edge_msg_decode(const uint8_t *frame, size_t len, edge_direction dir, edge_msg *out);

/*
 * Encodes msg as one frame into buf[0..cap).  Validates everything the decoder checks and returns
 * the same error codes; the frame version is EDGE_PROTO_VERSION.  *out_len receives the frame
 * size, or the size needed with EDGE_PROTO_E_BUFFER_TOO_SMALL (buf may be NULL with cap 0 to
 * measure), or 0 on other errors.  Frames above EDGE_FRAME_MAX fail with _BODY_TOO_LARGE: a
 * service filling a list reply should stop adding items and set next_cursor instead.
 */
edge_proto_err edge_msg_encode(const edge_msg *msg, uint8_t *buf, size_t cap, size_t *out_len);

/*
 * As edge_msg_encode, into a new allocation of exactly the frame size (never more than
 * EDGE_FRAME_MAX).  *out is NULL on error.  Release with edge_proto_free.
 */
edge_proto_err edge_msg_encode_alloc(const edge_msg *msg, uint8_t **out, size_t *out_len);

/* Frees memory from edge_msg_encode_alloc; NULL is ignored. */
void edge_proto_free(void *p);

/*
 * Prepares a reply to the request described by req: zeroes *msg, copies type and request_id, sets
 * F_REPLY, the epoch and the status.  The caller then fills msg->u and optional envelope fields.
 */
void edge_msg_init_reply(edge_msg *msg, const edge_frame_header *req,
                         const uint8_t epoch[EDGE_ID_SIZE], uint32_t status);

/*
 * Encodes an envelope-only reply (no verb fields) to req: status, epoch, and optionally detail
 * (NUL-terminated; NULL for none; truncated at a character boundary to EDGE_MAX_TEXT, dropped if
 * not valid UTF-8), win32_error (0 for none) and retry_after seconds (0 for none).  Works for any
 * request type except 0 and NOTICE, so even an unknown verb or a _BAD_VERSION frame can be
 * answered.  A buffer of EDGE_ERROR_REPLY_MAX bytes always suffices.  Returns EDGE_PROTO_OK,
 * _BUFFER_TOO_SMALL or _INVALID_ARG; *out_len as in edge_msg_encode.
 */
edge_proto_err edge_reply_encode_error(const edge_frame_header *req,
                                       const uint8_t epoch[EDGE_ID_SIZE], uint32_t status,
                                       const char *detail, uint32_t win32_error,
                                       uint32_t retry_after, uint8_t *buf, size_t cap,
                                       size_t *out_len);

/* ---- list iteration over decoded lists ---- */

typedef struct edge_list_iter {
    edge_tlv_reader r;
} edge_list_iter;

/* Starts iterating the raw elements of a decoded list. */
void edge_list_iter_init(edge_list_iter *it, const edge_list *list);

/*
 * Each returns true and fills *out with the next element (views into the frame), or false at the
 * end.  They re-validate every element, so on a list that did not come from edge_msg_decode they
 * also return false at the first invalid element.  Use the function matching the field's type.
 */
bool edge_list_next_lease(edge_list_iter *it, edge_lease *out);
bool edge_list_next_pending(edge_list_iter *it, edge_pending *out);
bool edge_list_next_check(edge_list_iter *it, edge_check *out);
bool edge_list_next_policy(edge_list_iter *it, edge_policy_entry *out);
bool edge_list_next_str(edge_list_iter *it, edge_str *out);

/* ---- helpers ---- */

/* View of a NUL-terminated string (NULL gives an absent view). */
edge_str edge_str_from_cstr(const char *s);

/* Stable name such as "EDGE_PROTO_E_DUPLICATE_TAG"; "EDGE_PROTO_E_UNKNOWN" if out of range. */
const char *edge_proto_err_name(edge_proto_err err);

/*
 * Status to send for a decode/encode error: _BAD_VERSION -> EDGE_E_UNSUPPORTED_VERSION,
 * _NO_MEMORY -> EDGE_E_NO_MEMORY, local faults (_BUFFER_TOO_SMALL, _INVALID_ARG, _ORDER) ->
 * EDGE_E_INTERNAL, OK -> EDGE_OK, every other error -> EDGE_E_BAD_REQUEST.
 */
edge_status edge_proto_err_status(edge_proto_err err);

/* "hello", "request", ..., "notice"; "unknown" for other values. */
const char *edge_msg_type_name(uint16_t type);

/* True for the request types EDGE_MSG_HELLO..EDGE_MSG_PURGE. */
bool edge_msg_type_is_request(uint16_t type);

#endif /* EDGE_PROTOCOL_H */
