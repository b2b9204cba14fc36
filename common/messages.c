/*
 * Schemas of every message body and record (docs/protocol.md §9).
 *
 * Each table lists a body's fields in ascending tag order: tag, kind, limits and the offset in
 * the C struct.  msg_codec.c encodes and decodes by walking these tables, so the two directions
 * cannot drift apart, and the encoder applies every check the decoder applies.
 */
#include "msg_schema.h"

/* Field table helpers: required/conditional value, optional value with a has_ flag. */
#define FV(tag, kind, fl, T, m, max, lo, hi)                                                       \
    {                                                                                              \
        (tag), (kind), (fl), (max), (lo), (hi), offsetof(T, m), NO_HAS, NULL                       \
    }
#define FH(tag, kind, fl, T, m, has, max, lo, hi)                                                  \
    {                                                                                              \
        (tag), (kind), (fl), (max), (lo), (hi), offsetof(T, m), offsetof(T, has), NULL             \
    }
#define FREC(tag, fl, T, m, has, sub)                                                              \
    {                                                                                              \
        (tag), K_RECORD, (fl), 0, 0, 0, offsetof(T, m), offsetof(T, has), (sub)                    \
    }
#define FLIST(tag, fl, T, m, max, elem_max, sub)                                                   \
    {                                                                                              \
        (tag), K_LIST, (fl), (max), 0, (elem_max), offsetof(T, m), NO_HAS, (sub)                   \
    }
#define SCHEMA(tab, chk, T)                                                                        \
    {                                                                                              \
        (tab), sizeof(tab) / sizeof((tab)[0]), (chk), sizeof(T)                                    \
    }

#define PORT_MAX 65535u

/* ---- cross-field checks ---- */

static edge_proto_err check_range(uint16_t lo, uint16_t hi, uint64_t created, uint64_t expires)
{
    return lo <= hi && created <= expires ? EDGE_PROTO_OK : EDGE_PROTO_E_BAD_VALUE;
}

static edge_proto_err check_lease(const void *obj)
{
    const edge_lease *l = obj;
    return check_range(l->port_lo, l->port_hi, l->created, l->expires);
}

static edge_proto_err check_pending(const void *obj)
{
    const edge_pending *p = obj;
    return check_range(p->port_lo, p->port_hi, p->created, p->expires);
}

static edge_proto_err check_hello_req(const void *obj)
{
    const edge_hello_req *h = obj;
    return h->version_min <= h->version_max ? EDGE_PROTO_OK : EDGE_PROTO_E_BAD_VALUE;
}

static edge_proto_err check_lease_req(const void *obj)
{
    const edge_lease_req *r = obj;
    return !r->has_port_hi || r->port_lo <= r->port_hi ? EDGE_PROTO_OK : EDGE_PROTO_E_BAD_VALUE;
}

static edge_proto_err check_notice(const void *obj)
{
    const edge_notice *n = obj;
    if (n->kind != EDGE_NOTICE_SHUTDOWN && !n->has_lease_id)
        return EDGE_PROTO_E_MISSING_FIELD;
    return EDGE_PROTO_OK;
}

/* ---- records ---- */

static const struct field lease_fields[] = {
    FV(1, K_FIXED, F_REQ, edge_lease, id, EDGE_ID_SIZE, 0, 0),
    FV(2, K_STR, F_REQ, edge_lease, owner_sid, EDGE_MAX_SID, 1, 0),
    FV(3, K_STR, F_REQ, edge_lease, image_path, EDGE_MAX_PATH, 1, 0),
    FV(4, K_FIXED, F_REQ, edge_lease, image_sha256, EDGE_SHA256_SIZE, 0, 0),
    FV(5, K_U8, F_REQ | F_PROTO, edge_lease, protocol, 0, 0, 0),
    FV(6, K_U16, F_REQ, edge_lease, port_lo, 0, 1, PORT_MAX),
    FV(7, K_U16, F_REQ, edge_lease, port_hi, 0, 1, PORT_MAX),
    FV(8, K_U8, F_REQ, edge_lease, edge_option, 0, EDGE_TRAVERSAL_ALLOW,
       EDGE_TRAVERSAL_DEFER_TO_APP),
    FV(9, K_U64, F_REQ, edge_lease, created, 0, 0, UINT64_MAX),
    FV(10, K_U64, F_REQ, edge_lease, expires, 0, 0, UINT64_MAX),
    FV(11, K_U32, F_REQ | F_MASK, edge_lease, flags, 0, 0, EDGE_LEASE_F_KNOWN),
    FV(12, K_U8, F_REQ, edge_lease, state, 0, EDGE_LEASE_STATE_ACTIVE, EDGE_LEASE_STATE_ENDED),
};
const struct schema edge_schema_lease = SCHEMA(lease_fields, check_lease, edge_lease);

static const struct field pending_fields[] = {
    FV(1, K_FIXED, F_REQ, edge_pending, id, EDGE_ID_SIZE, 0, 0),
    FV(2, K_STR, F_REQ, edge_pending, owner_sid, EDGE_MAX_SID, 1, 0),
    FV(3, K_STR, F_REQ, edge_pending, image_path, EDGE_MAX_PATH, 1, 0),
    FV(4, K_FIXED, F_REQ, edge_pending, image_sha256, EDGE_SHA256_SIZE, 0, 0),
    FV(5, K_U8, F_REQ | F_PROTO, edge_pending, protocol, 0, 0, 0),
    FV(6, K_U16, F_REQ, edge_pending, port_lo, 0, 1, PORT_MAX),
    FV(7, K_U16, F_REQ, edge_pending, port_hi, 0, 1, PORT_MAX),
    FV(8, K_U32, F_REQ, edge_pending, seconds, 0, 1, EDGE_LEASE_SECONDS_MAX),
    FV(9, K_U32, F_REQ | F_MASK, edge_pending, flags, 0, 0, EDGE_LEASE_F_KNOWN),
    FV(10, K_U64, F_REQ, edge_pending, created, 0, 0, UINT64_MAX),
    FV(11, K_U64, F_REQ, edge_pending, expires, 0, 0, UINT64_MAX),
};
const struct schema edge_schema_pending = SCHEMA(pending_fields, check_pending, edge_pending);

static const struct field check_fields[] = {
    FV(1, K_STR, F_REQ, edge_check, name, EDGE_MAX_NAME, 1, 0),
    FV(2, K_U8, F_REQ, edge_check, state, 0, EDGE_CHECK_UNKNOWN, EDGE_CHECK_ON),
    FV(3, K_STR, 0, edge_check, reason, EDGE_MAX_TEXT, 0, 0),
};
const struct schema edge_schema_check = SCHEMA(check_fields, NULL, edge_check);

static const struct field policy_fields[] = {
    FV(1, K_STR, F_REQ, edge_policy_entry, name, EDGE_MAX_NAME, 1, 0),
    FV(2, K_STR, F_REQ, edge_policy_entry, value, EDGE_MAX_TEXT, 0, 0),
    FV(3, K_STR, F_REQ, edge_policy_entry, source, EDGE_MAX_NAME, 1, 0),
};
const struct schema edge_schema_policy = SCHEMA(policy_fields, NULL, edge_policy_entry);

/* ---- envelopes ---- */

static const struct field reply_env_fields[] = {
    FV(1, K_U32, F_REQ | F_CRIT, edge_envelope, status, 0, 0, UINT32_MAX),
    FV(2, K_FIXED, F_REQ, edge_envelope, epoch, EDGE_ID_SIZE, 0, 0),
    FV(3, K_STR, 0, edge_envelope, detail, EDGE_MAX_TEXT, 0, 0),
    FH(4, K_U32, 0, edge_envelope, win32_error, has_win32_error, 0, 0, UINT32_MAX),
    FH(5, K_U32, 0, edge_envelope, retry_after, has_retry_after, 0, 0, UINT32_MAX),
    FH(6, K_U32, 0, edge_envelope, warnings, has_warnings, 0, 0, UINT32_MAX),
};
static const struct schema reply_env_schema = SCHEMA(reply_env_fields, NULL, edge_envelope);

static const struct field notice_env_fields[] = {
    FV(2, K_FIXED, F_REQ, edge_envelope, epoch, EDGE_ID_SIZE, 0, 0),
    FV(3, K_STR, 0, edge_envelope, detail, EDGE_MAX_TEXT, 0, 0),
};
static const struct schema notice_env_schema = SCHEMA(notice_env_fields, NULL, edge_envelope);

/* ---- requests ---- */

static const struct schema empty_schema = {NULL, 0, NULL, 0};

static const struct field hello_req_fields[] = {
    FV(16, K_U16, F_REQ, edge_hello_req, version_min, 0, 1, 0xFFFF),
    FV(17, K_U16, F_REQ, edge_hello_req, version_max, 0, 1, 0xFFFF),
    FV(18, K_U32, F_REQ, edge_hello_req, capabilities, 0, 0, UINT32_MAX),
    FV(19, K_STR, 0, edge_hello_req, client_name, EDGE_MAX_NAME, 0, 0),
};
static const struct schema hello_req_schema =
    SCHEMA(hello_req_fields, check_hello_req, edge_hello_req);

static const struct field ping_fields[] = {
    FV(16, K_BYTES, 0, edge_ping, payload, EDGE_MAX_PING_PAYLOAD, 0, 0),
};
static const struct schema ping_schema = SCHEMA(ping_fields, NULL, edge_ping);

static const struct field lease_req_fields[] = {
    FV(16, K_U8, F_REQ | F_CRIT | F_PROTO, edge_lease_req, protocol, 0, 0, 0),
    FV(17, K_U16, F_REQ | F_CRIT, edge_lease_req, port_lo, 0, 1, PORT_MAX),
    FH(18, K_U16, F_CRIT, edge_lease_req, port_hi, has_port_hi, 0, 1, PORT_MAX),
    FH(19, K_U32, F_CRIT, edge_lease_req, seconds, has_seconds, 0, 1, EDGE_LEASE_SECONDS_MAX),
    FH(20, K_U32, F_CRIT | F_MASK, edge_lease_req, flags, has_flags, 0, 0, EDGE_LEASE_F_KNOWN),
    FV(21, K_STR, F_CRIT, edge_lease_req, target_app, EDGE_MAX_PATH, 1, 0),
    FV(22, K_BYTES, F_CRIT, edge_lease_req, signed_request, EDGE_MAX_SIGNED_REQUEST, 1, 0),
};
const struct schema edge_schema_lease_req =
    SCHEMA(lease_req_fields, check_lease_req, edge_lease_req);

static const struct field renew_req_fields[] = {
    FV(16, K_FIXED, F_REQ | F_CRIT, edge_renew_req, lease_id, EDGE_ID_SIZE, 0, 0),
    FH(17, K_U32, F_CRIT, edge_renew_req, seconds, has_seconds, 0, 1, EDGE_LEASE_SECONDS_MAX),
};
static const struct schema renew_req_schema = SCHEMA(renew_req_fields, NULL, edge_renew_req);

static const struct field id_req_fields[] = {
    FV(16, K_FIXED, F_REQ | F_CRIT, edge_id_req, id, EDGE_ID_SIZE, 0, 0),
};
static const struct schema id_req_schema = SCHEMA(id_req_fields, NULL, edge_id_req);

static const struct field id_reason_req_fields[] = {
    FV(16, K_FIXED, F_REQ | F_CRIT, edge_id_req, id, EDGE_ID_SIZE, 0, 0),
    FV(17, K_STR, 0, edge_id_req, reason, EDGE_MAX_TEXT, 0, 0),
};
static const struct schema id_reason_req_schema = SCHEMA(id_reason_req_fields, NULL, edge_id_req);

static const struct field list_req_fields[] = {
    FH(16, K_U32, F_CRIT | F_MASK, edge_list_req, flags, has_flags, 0, 0, EDGE_LIST_F_KNOWN),
    FH(17, K_U32, 0, edge_list_req, cursor, has_cursor, 0, 0, UINT32_MAX),
};
static const struct schema list_req_schema = SCHEMA(list_req_fields, NULL, edge_list_req);

static const struct field pending_req_fields[] = {
    FH(17, K_U32, 0, edge_list_req, cursor, has_cursor, 0, 0, UINT32_MAX),
};
static const struct schema pending_req_schema = SCHEMA(pending_req_fields, NULL, edge_list_req);

/* ---- replies ---- */

static const struct field hello_rep_fields[] = {
    FV(16, K_U16, F_REQ_OK, edge_hello_rep, version, 0, 1, 0xFFFF),
    FV(17, K_U32, F_REQ_OK, edge_hello_rep, capabilities, 0, 0, UINT32_MAX),
    FV(18, K_STR, F_REQ_OK, edge_hello_rep, server_version, EDGE_MAX_NAME, 1, 0),
};
static const struct schema hello_rep_schema = SCHEMA(hello_rep_fields, NULL, edge_hello_rep);

static const struct field request_rep_fields[] = {
    FREC(16, F_REQ_OK, edge_lease_rep, lease, has_lease, &edge_schema_lease),
    FH(17, K_FIXED, F_REQ_PEND, edge_lease_rep, pending_id, has_pending_id, EDGE_ID_SIZE, 0, 0),
};
static const struct schema request_rep_schema = SCHEMA(request_rep_fields, NULL, edge_lease_rep);

static const struct field lease_rep_fields[] = {
    FREC(16, F_REQ_OK, edge_lease_rep, lease, has_lease, &edge_schema_lease),
};
static const struct schema lease_rep_schema = SCHEMA(lease_rep_fields, NULL, edge_lease_rep);

static const struct field list_rep_fields[] = {
    FLIST(16, F_REQ_OK, edge_list_rep, items, EDGE_MAX_LIST_ITEMS, 0, &edge_schema_lease),
    FH(17, K_U32, 0, edge_list_rep, next_cursor, has_next_cursor, 0, 0, UINT32_MAX),
};
static const struct schema list_rep_schema = SCHEMA(list_rep_fields, NULL, edge_list_rep);

static const struct field pending_rep_fields[] = {
    FLIST(16, F_REQ_OK, edge_list_rep, items, EDGE_MAX_LIST_ITEMS, 0, &edge_schema_pending),
    FH(17, K_U32, 0, edge_list_rep, next_cursor, has_next_cursor, 0, 0, UINT32_MAX),
};
static const struct schema pending_rep_schema = SCHEMA(pending_rep_fields, NULL, edge_list_rep);

static const struct field status_rep_fields[] = {
    FLIST(16, F_REQ_OK, edge_status_rep, checks, EDGE_MAX_LIST_ITEMS, 0, &edge_schema_check),
    FV(17, K_U32, F_REQ_OK, edge_status_rep, active_leases, 0, 0, UINT32_MAX),
    FV(18, K_U32, F_REQ_OK, edge_status_rep, pending_requests, 0, 0, UINT32_MAX),
    FV(19, K_U64, F_REQ_OK, edge_status_rep, started, 0, 0, UINT64_MAX),
};
static const struct schema status_rep_schema = SCHEMA(status_rep_fields, NULL, edge_status_rep);

static const struct field doctor_rep_fields[] = {
    FLIST(16, F_REQ_OK, edge_entries_rep, items, EDGE_MAX_LIST_ITEMS, 0, &edge_schema_check),
};
static const struct schema doctor_rep_schema = SCHEMA(doctor_rep_fields, NULL, edge_entries_rep);

static const struct field policy_rep_fields[] = {
    FLIST(16, F_REQ_OK, edge_entries_rep, items, EDGE_MAX_LIST_ITEMS, 0, &edge_schema_policy),
};
static const struct schema policy_rep_schema = SCHEMA(policy_rep_fields, NULL, edge_entries_rep);

static const struct field explain_rep_fields[] = {
    FV(16, K_U32, F_REQ_OK, edge_explain_rep, decision, 0, 0, UINT32_MAX),
    FLIST(17, F_REQ_OK, edge_explain_rep, trace, EDGE_MAX_TRACE_LINES, EDGE_MAX_TEXT, NULL),
};
static const struct schema explain_rep_schema = SCHEMA(explain_rep_fields, NULL, edge_explain_rep);

static const struct field purge_rep_fields[] = {
    FV(16, K_U32, F_REQ_OK, edge_purge_rep, removed, 0, 0, UINT32_MAX),
};
static const struct schema purge_rep_schema = SCHEMA(purge_rep_fields, NULL, edge_purge_rep);

static const struct field notice_fields[] = {
    FV(16, K_U8, F_REQ, edge_notice, kind, 0, EDGE_NOTICE_REVOKED, EDGE_NOTICE_SHUTDOWN),
    FH(17, K_FIXED, 0, edge_notice, lease_id, has_lease_id, EDGE_ID_SIZE, 0, 0),
    FH(18, K_U32, 0, edge_notice, seconds, has_seconds, 0, 0, UINT32_MAX),
};
static const struct schema notice_schema = SCHEMA(notice_fields, check_notice, edge_notice);

/* Indexed by message type; requests and replies of EDGE_MSG_HELLO..EDGE_MSG_PURGE. */
static const struct schema *const request_schemas[EDGE_MSG_PURGE + 1] = {
    [EDGE_MSG_HELLO] = &hello_req_schema,
    [EDGE_MSG_PING] = &ping_schema,
    [EDGE_MSG_REQUEST] = &edge_schema_lease_req,
    [EDGE_MSG_RENEW] = &renew_req_schema,
    [EDGE_MSG_RELEASE] = &id_req_schema,
    [EDGE_MSG_LIST] = &list_req_schema,
    [EDGE_MSG_SHOW] = &id_req_schema,
    [EDGE_MSG_REVOKE] = &id_reason_req_schema,
    [EDGE_MSG_STATUS] = &empty_schema,
    [EDGE_MSG_DOCTOR] = &empty_schema,
    [EDGE_MSG_PENDING] = &pending_req_schema,
    [EDGE_MSG_APPROVE] = &id_req_schema,
    [EDGE_MSG_DENY] = &id_reason_req_schema,
    [EDGE_MSG_POLICY] = &empty_schema,
    [EDGE_MSG_EXPLAIN] = &edge_schema_lease_req,
    [EDGE_MSG_PURGE] = &empty_schema,
};

static const struct schema *const reply_schemas[EDGE_MSG_PURGE + 1] = {
    [EDGE_MSG_HELLO] = &hello_rep_schema,     [EDGE_MSG_PING] = &ping_schema,
    [EDGE_MSG_REQUEST] = &request_rep_schema, [EDGE_MSG_RENEW] = &lease_rep_schema,
    [EDGE_MSG_RELEASE] = &empty_schema,       [EDGE_MSG_LIST] = &list_rep_schema,
    [EDGE_MSG_SHOW] = &lease_rep_schema,      [EDGE_MSG_REVOKE] = &empty_schema,
    [EDGE_MSG_STATUS] = &status_rep_schema,   [EDGE_MSG_DOCTOR] = &doctor_rep_schema,
    [EDGE_MSG_PENDING] = &pending_rep_schema, [EDGE_MSG_APPROVE] = &lease_rep_schema,
    [EDGE_MSG_DENY] = &empty_schema,          [EDGE_MSG_POLICY] = &policy_rep_schema,
    [EDGE_MSG_EXPLAIN] = &explain_rep_schema, [EDGE_MSG_PURGE] = &purge_rep_schema,
};

edge_proto_err edge_schema_select(uint16_t type, uint16_t flags, edge_direction dir,
                                  const struct schema **env, const struct schema **verb)
{
    bool reply = (flags & EDGE_FRAME_F_REPLY) != 0;

    *env = NULL;
    *verb = NULL;
    if (type == EDGE_MSG_NOTICE) {
        if (reply || dir != EDGE_DIR_REPLY)
            return EDGE_PROTO_E_WRONG_DIRECTION;
        *env = &notice_env_schema;
        *verb = &notice_schema;
        return EDGE_PROTO_OK;
    }
    if (!edge_msg_type_is_request(type))
        return EDGE_PROTO_E_UNKNOWN_TYPE;
    if (reply != (dir == EDGE_DIR_REPLY))
        return EDGE_PROTO_E_WRONG_DIRECTION;
    if (reply) {
        *env = &reply_env_schema;
        *verb = reply_schemas[type];
    } else {
        *verb = request_schemas[type];
    }
    return EDGE_PROTO_OK;
}
