/* Frame header, error mapping and reply helpers (see edge/protocol.h, docs/protocol.md §2, §7). */
#include "edge/protocol.h"
#include "edge/utf8.h"

#include <stdlib.h>
#include <string.h>

/* Header field offsets (docs/protocol.md §2.1). */
#define OFF_MAGIC    0
#define OFF_VERSION  4
#define OFF_TYPE     6
#define OFF_FLAGS    8
#define OFF_RESERVED 10
#define OFF_REQID    12
#define OFF_BODYLEN  16

edge_proto_err edge_frame_parse_header(const uint8_t *buf, size_t len, edge_frame_header *hdr)
{
    memset(hdr, 0, sizeof(*hdr));
    if (buf == NULL || len < EDGE_FRAME_HEADER_SIZE)
        return EDGE_PROTO_E_TRUNCATED_HEADER;
    hdr->magic = edge_le32(buf + OFF_MAGIC);
    hdr->version = edge_le16(buf + OFF_VERSION);
    hdr->type = edge_le16(buf + OFF_TYPE);
    hdr->flags = edge_le16(buf + OFF_FLAGS);
    hdr->reserved = edge_le16(buf + OFF_RESERVED);
    hdr->request_id = edge_le32(buf + OFF_REQID);
    hdr->body_len = edge_le32(buf + OFF_BODYLEN);
    if (hdr->magic != EDGE_PROTO_MAGIC)
        return EDGE_PROTO_E_BAD_MAGIC;
    if (hdr->version != EDGE_PROTO_VERSION)
        return EDGE_PROTO_E_BAD_VERSION;
    if (hdr->reserved != 0 || (hdr->flags & ~EDGE_FRAME_F_KNOWN) != 0)
        return EDGE_PROTO_E_RESERVED_BITS;
    /* Compared as uint32 before any arithmetic, so 0xFFFFFFFF cannot wrap anything later. */
    if (hdr->body_len > EDGE_BODY_MAX)
        return EDGE_PROTO_E_BODY_TOO_LARGE;
    return EDGE_PROTO_OK;
}

void edge_frame_write_header(const edge_frame_header *hdr, uint8_t *out)
{
    edge_put_le32(out + OFF_MAGIC, hdr->magic);
    edge_put_le16(out + OFF_VERSION, hdr->version);
    edge_put_le16(out + OFF_TYPE, hdr->type);
    edge_put_le16(out + OFF_FLAGS, hdr->flags);
    edge_put_le16(out + OFF_RESERVED, hdr->reserved);
    edge_put_le32(out + OFF_REQID, hdr->request_id);
    edge_put_le32(out + OFF_BODYLEN, hdr->body_len);
}

static const char *const err_names[EDGE_PROTO_ERR_COUNT_] = {
    [EDGE_PROTO_OK] = "EDGE_PROTO_OK",
    [EDGE_PROTO_E_TRUNCATED_HEADER] = "EDGE_PROTO_E_TRUNCATED_HEADER",
    [EDGE_PROTO_E_BAD_MAGIC] = "EDGE_PROTO_E_BAD_MAGIC",
    [EDGE_PROTO_E_BAD_VERSION] = "EDGE_PROTO_E_BAD_VERSION",
    [EDGE_PROTO_E_RESERVED_BITS] = "EDGE_PROTO_E_RESERVED_BITS",
    [EDGE_PROTO_E_BODY_TOO_LARGE] = "EDGE_PROTO_E_BODY_TOO_LARGE",
    [EDGE_PROTO_E_LENGTH_MISMATCH] = "EDGE_PROTO_E_LENGTH_MISMATCH",
    [EDGE_PROTO_E_UNKNOWN_TYPE] = "EDGE_PROTO_E_UNKNOWN_TYPE",
    [EDGE_PROTO_E_WRONG_DIRECTION] = "EDGE_PROTO_E_WRONG_DIRECTION",
    [EDGE_PROTO_E_TLV_OVERRUN] = "EDGE_PROTO_E_TLV_OVERRUN",
    [EDGE_PROTO_E_BAD_TAG] = "EDGE_PROTO_E_BAD_TAG",
    [EDGE_PROTO_E_DUPLICATE_TAG] = "EDGE_PROTO_E_DUPLICATE_TAG",
    [EDGE_PROTO_E_UNKNOWN_CRITICAL] = "EDGE_PROTO_E_UNKNOWN_CRITICAL",
    [EDGE_PROTO_E_BAD_TYPE] = "EDGE_PROTO_E_BAD_TYPE",
    [EDGE_PROTO_E_BAD_LENGTH] = "EDGE_PROTO_E_BAD_LENGTH",
    [EDGE_PROTO_E_TOO_LONG] = "EDGE_PROTO_E_TOO_LONG",
    [EDGE_PROTO_E_TOO_MANY] = "EDGE_PROTO_E_TOO_MANY",
    [EDGE_PROTO_E_TOO_DEEP] = "EDGE_PROTO_E_TOO_DEEP",
    [EDGE_PROTO_E_BAD_UTF8] = "EDGE_PROTO_E_BAD_UTF8",
    [EDGE_PROTO_E_EMBEDDED_NUL] = "EDGE_PROTO_E_EMBEDDED_NUL",
    [EDGE_PROTO_E_MISSING_FIELD] = "EDGE_PROTO_E_MISSING_FIELD",
    [EDGE_PROTO_E_BAD_VALUE] = "EDGE_PROTO_E_BAD_VALUE",
    [EDGE_PROTO_E_ORDER] = "EDGE_PROTO_E_ORDER",
    [EDGE_PROTO_E_BUFFER_TOO_SMALL] = "EDGE_PROTO_E_BUFFER_TOO_SMALL",
    [EDGE_PROTO_E_INVALID_ARG] = "EDGE_PROTO_E_INVALID_ARG",
    [EDGE_PROTO_E_NO_MEMORY] = "EDGE_PROTO_E_NO_MEMORY",
};

const char *edge_proto_err_name(edge_proto_err err)
{
    if ((unsigned)err >= (unsigned)EDGE_PROTO_ERR_COUNT_)
        return "EDGE_PROTO_E_UNKNOWN";
    return err_names[err];
}

edge_status edge_proto_err_status(edge_proto_err err)
{
    switch (err) {
    case EDGE_PROTO_OK:
        return EDGE_OK;
    case EDGE_PROTO_E_BAD_VERSION:
        return EDGE_E_UNSUPPORTED_VERSION;
    case EDGE_PROTO_E_NO_MEMORY:
        return EDGE_E_NO_MEMORY;
    case EDGE_PROTO_E_BUFFER_TOO_SMALL:
    case EDGE_PROTO_E_INVALID_ARG:
    case EDGE_PROTO_E_ORDER:
        return EDGE_E_INTERNAL;
    default:
        return EDGE_E_BAD_REQUEST;
    }
}

static const char *const type_names[] = {
    "unknown", "hello",  "ping",    "request", "renew", "release", "list",    "show",  "revoke",
    "status",  "doctor", "pending", "approve", "deny",  "policy",  "explain", "purge",
};

const char *edge_msg_type_name(uint16_t type)
{
    if (type == EDGE_MSG_NOTICE)
        return "notice";
    if (type >= sizeof(type_names) / sizeof(type_names[0]))
        return "unknown";
    return type_names[type];
}

bool edge_msg_type_is_request(uint16_t type)
{
    return type >= EDGE_MSG_HELLO && type <= EDGE_MSG_PURGE;
}

edge_str edge_str_from_cstr(const char *s)
{
    edge_str v = {NULL, 0};
    size_t n;

    if (s == NULL)
        return v;
    n = strlen(s);
    v.ptr = s;
    /* Clamp rather than wrap: an over-long string then fails the field limit check. */
    v.len = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
    return v;
}

void edge_proto_free(void *p)
{
    free(p);
}

edge_proto_err edge_msg_encode_alloc(const edge_msg *msg, uint8_t **out, size_t *out_len)
{
    edge_proto_err err;
    size_t need = 0;
    uint8_t *buf = NULL;

    *out = NULL;
    *out_len = 0;
    err = edge_msg_encode(msg, NULL, 0, &need);
    if (err != EDGE_PROTO_E_BUFFER_TOO_SMALL)
        return err == EDGE_PROTO_OK ? EDGE_PROTO_E_INVALID_ARG : err;
    if (need > EDGE_FRAME_MAX)
        return EDGE_PROTO_E_BODY_TOO_LARGE; /* cannot happen: the encoder enforces it */
    buf = malloc(need);
    if (buf == NULL)
        return EDGE_PROTO_E_NO_MEMORY;
    err = edge_msg_encode(msg, buf, need, out_len);
    if (err != EDGE_PROTO_OK) {
        *out_len = 0;
        goto out;
    }
    *out = buf;
    buf = NULL;
out:
    free(buf);
    return err;
}

void edge_msg_init_reply(edge_msg *msg, const edge_frame_header *req,
                         const uint8_t epoch[EDGE_ID_SIZE], uint32_t status)
{
    memset(msg, 0, sizeof(*msg));
    msg->type = req->type;
    msg->flags = EDGE_FRAME_F_REPLY;
    msg->request_id = req->request_id;
    msg->env.status = status;
    memcpy(msg->env.epoch, epoch, EDGE_ID_SIZE);
}

/* Envelope tags (docs/protocol.md §9.1); kept here so error replies need no schema. */
#define ENV_STATUS      1u
#define ENV_EPOCH       2u
#define ENV_DETAIL      3u
#define ENV_WIN32_ERROR 4u
#define ENV_RETRY_AFTER 5u

edge_proto_err edge_reply_encode_error(const edge_frame_header *req,
                                       const uint8_t epoch[EDGE_ID_SIZE], uint32_t status,
                                       const char *detail, uint32_t win32_error,
                                       uint32_t retry_after, uint8_t *buf, size_t cap,
                                       size_t *out_len)
{
    edge_tlv_writer w;
    edge_frame_header hdr;
    edge_proto_err err;
    size_t body_len = 0;
    bool room = buf != NULL && cap >= EDGE_FRAME_HEADER_SIZE;

    *out_len = 0;
    if (req == NULL || epoch == NULL || req->type == 0 || req->type == EDGE_MSG_NOTICE)
        return EDGE_PROTO_E_INVALID_ARG;
    edge_tlv_writer_init(&w, room ? buf + EDGE_FRAME_HEADER_SIZE : NULL,
                         room ? cap - EDGE_FRAME_HEADER_SIZE : 0);
    edge_tlv_put_u32(&w, ENV_STATUS | EDGE_TLV_CRITICAL, status);
    edge_tlv_put_bytes(&w, ENV_EPOCH, epoch, EDGE_ID_SIZE);
    if (detail != NULL) {
        size_t n = strlen(detail);
        n = edge_utf8_truncate((const uint8_t *)detail, n, EDGE_MAX_TEXT);
        /* Diagnostic text must never stop an error reply from going out: drop it if bad. */
        if (edge_utf8_check((const uint8_t *)detail, n) == EDGE_UTF8_OK)
            edge_tlv_put_str(&w, ENV_DETAIL, detail, n);
    }
    if (win32_error != 0)
        edge_tlv_put_u32(&w, ENV_WIN32_ERROR, win32_error);
    if (retry_after != 0)
        edge_tlv_put_u32(&w, ENV_RETRY_AFTER, retry_after);
    err = edge_tlv_writer_finish(&w, &body_len);
    if (err == EDGE_PROTO_E_BUFFER_TOO_SMALL || (err == EDGE_PROTO_OK && !room)) {
        *out_len = EDGE_FRAME_HEADER_SIZE + body_len;
        return EDGE_PROTO_E_BUFFER_TOO_SMALL;
    }
    if (err != EDGE_PROTO_OK)
        return err;
    hdr.magic = EDGE_PROTO_MAGIC;
    hdr.version = EDGE_PROTO_VERSION;
    hdr.type = req->type;
    hdr.flags = EDGE_FRAME_F_REPLY;
    hdr.reserved = 0;
    hdr.request_id = req->request_id;
    hdr.body_len = (uint32_t)body_len;
    edge_frame_write_header(&hdr, buf);
    *out_len = EDGE_FRAME_HEADER_SIZE + body_len;
    return EDGE_PROTO_OK;
}
