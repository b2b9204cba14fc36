/*
 * Per-client state, frame dispatch through the verb table, and the hello and ping verbs.
 */
#include "connection.h"
#include "verbs.h"
#include "edge/version.h"

#include <bcrypt.h>
#include <stdlib.h>
#include <string.h>

#define CONN_SERVER_VERSION "edgebroker/" EDGE_VERSION_STRING

/* ---- table --------------------------------------------------------------------------------- */

DWORD conn_verbs_init(struct verb_table *t)
{
    NTSTATUS st;

    memset(t, 0, sizeof(*t));
    st = BCryptGenRandom(NULL, t->epoch, sizeof(t->epoch), BCRYPT_USE_SYSTEM_PREFERRED_RNG);
    if (!BCRYPT_SUCCESS(st))
        return ERROR_GEN_FAILURE;
    t->server_version = CONN_SERVER_VERSION;
    t->capabilities = EDGE_CAP_NOTICES;
    conn_verbs_register(t, EDGE_MSG_HELLO, conn_verb_hello, VERB_ANY_CALLER, VERB_IN_NEW);
    conn_verbs_register(t, EDGE_MSG_PING, conn_verb_ping, VERB_ANY_CALLER, VERB_IN_HELLO_DONE);
    return ERROR_SUCCESS;
}

bool conn_verbs_register(struct verb_table *t, uint16_t type, verb_handler handler,
                         enum verb_who who, unsigned states)
{
    if (type == 0 || type >= VERB_TABLE_SIZE)
        return false;
    t->rows[type].handler = handler;
    t->rows[type].who = (uint8_t)who;
    t->rows[type].states = (uint8_t)(states & (VERB_IN_NEW | VERB_IN_HELLO_DONE));
    return true;
}

edge_status conn_verb_check(const struct verb_row *row, const struct caller_identity *caller,
                            int state)
{
    if (!row || !row->handler)
        return EDGE_E_BAD_REQUEST;
    if (state != CONN_NEW && state != CONN_HELLO_DONE)
        return EDGE_E_PROTOCOL_STATE; /* CLOSING or anything unknown: nothing is allowed */
    if (!(row->states & (1u << (unsigned)state)))
        return EDGE_E_PROTOCOL_STATE;
    if (row->who != VERB_ANY_CALLER && !(row->who == VERB_ADMIN && caller_may_administer(caller)))
        return EDGE_E_ACCESS_DENIED;
    return EDGE_OK;
}

/* ---- built-in verbs ------------------------------------------------------------------------ */

edge_status conn_verb_hello(struct connection *c, const edge_msg *req, struct verb_reply *rep)
{
    const edge_hello_req *h = &req->u.hello_req;

    if (h->version_min > EDGE_PROTO_VERSION || h->version_max < EDGE_PROTO_VERSION) {
        rep->close_after = true;
        rep->msg.env.detail = edge_str_from_cstr("this service speaks protocol version 1 only");
        return EDGE_E_UNSUPPORTED_VERSION;
    }
    c->version = EDGE_PROTO_VERSION;
    c->state = CONN_HELLO_DONE;
    rep->msg.u.hello_rep.version = EDGE_PROTO_VERSION;
    rep->msg.u.hello_rep.capabilities = c->verbs->capabilities;
    rep->msg.u.hello_rep.server_version = edge_str_from_cstr(c->verbs->server_version);
    return EDGE_OK;
}

edge_status conn_verb_ping(struct connection *c, const edge_msg *req, struct verb_reply *rep)
{
    (void)c;
    rep->msg.u.ping.payload = req->u.ping.payload; /* a view into the request frame */
    return EDGE_OK;
}

/* ---- connection ---------------------------------------------------------------------------- */

void conn_init(struct connection *c, uint64_t id, const struct verb_table *verbs, void *ctx)
{
    memset(c, 0, sizeof(*c));
    c->id = id;
    c->state = CONN_NEW;
    c->verbs = verbs;
    c->service_ctx = ctx;
}

void conn_release(struct connection *c)
{
    if (!c->verbs)
        return; /* never initialised (an instance that was never connected) */
    if (c->verbs->on_close)
        c->verbs->on_close(c);
    c->verb_state = NULL;
    caller_identity_clear(&c->caller);
    c->identified = false;
    c->state = CONN_CLOSING;
    c->verbs = NULL;
}

void conn_reply_free(struct conn_reply *r)
{
    if (!r)
        return;
    edge_proto_free(r->data);
    r->data = NULL;
    r->len = 0;
}

/* Envelope-only reply; DETAIL is a view (copied and NUL-terminated here). */
static enum conn_action error_reply(const struct connection *c, const edge_frame_header *hdr,
                                    edge_status status, edge_str detail, uint32_t win32_error,
                                    uint32_t retry_after_s, enum conn_action act,
                                    struct conn_reply *out)
{
    char text[EDGE_MAX_TEXT + 1];
    uint8_t *buf;
    size_t len = 0;

    /* protocol.md §7: even an unknown type is answered (a newer client can decode its own verb);
     * type 0 and notices are never requests, so there is nothing to match an answer to. */
    if (hdr->type == 0 || hdr->type == EDGE_MSG_NOTICE)
        return CONN_ACTION_DROP;
    text[0] = '\0';
    if (detail.ptr) {
        size_t n = detail.len < EDGE_MAX_TEXT ? detail.len : EDGE_MAX_TEXT;
        memcpy(text, detail.ptr, n);
        text[n] = '\0';
    }
    /* edge_proto_free is free(): the same allocator as edge_msg_encode_alloc. */
    buf = malloc(EDGE_ERROR_REPLY_MAX);
    if (!buf)
        return CONN_ACTION_DROP;
    if (edge_reply_encode_error(hdr, c->verbs->epoch, status, text[0] ? text : NULL, win32_error,
                                retry_after_s, buf, EDGE_ERROR_REPLY_MAX, &len) != EDGE_PROTO_OK) {
        free(buf);
        return CONN_ACTION_DROP;
    }
    out->data = buf;
    out->len = len;
    return act;
}

enum conn_action conn_refuse_frame(struct connection *c, const uint8_t *frame, size_t len,
                                   edge_status status, uint32_t retry_after_ms,
                                   struct conn_reply *out)
{
    edge_frame_header hdr;
    edge_proto_err perr;
    edge_str none = {NULL, 0};
    uint32_t retry_s;

    out->data = NULL;
    out->len = 0;
    perr = edge_frame_parse_header(frame, len, &hdr);
    /* Same rule as conn_handle_frame: only a non-protocol frame goes unanswered.  A refusal
     * (busy, unidentified caller) takes precedence over any other header error. */
    if (perr == EDGE_PROTO_E_TRUNCATED_HEADER || perr == EDGE_PROTO_E_BAD_MAGIC)
        return CONN_ACTION_DROP;
    /* The wire carries whole seconds; never round a wait down to "retry now". */
    retry_s = retry_after_ms ? (retry_after_ms + 999u) / 1000u : 0;
    return error_reply(c, &hdr, status, none, 0, retry_s, CONN_ACTION_REPLY, out);
}

enum conn_action conn_handle_frame(struct connection *c, const uint8_t *frame, size_t len,
                                   struct conn_reply *out)
{
    edge_frame_header hdr;
    edge_msg req;
    struct verb_reply rep;
    const struct verb_row *row;
    edge_str none = {NULL, 0};
    edge_proto_err perr;
    edge_status st;
    enum conn_action act;

    out->data = NULL;
    out->len = 0;
    c->requests++;
    perr = edge_frame_parse_header(frame, len, &hdr);
    if (perr == EDGE_PROTO_E_BAD_VERSION)
        return error_reply(c, &hdr, EDGE_E_UNSUPPORTED_VERSION, none, 0, 0, CONN_ACTION_REPLY_CLOSE,
                           out);
    /* protocol.md §7: a frame too short for a header, or with the wrong magic, is not our
     * protocol at all and gets no answer; any other header error is answered, then closed. */
    if (perr == EDGE_PROTO_E_TRUNCATED_HEADER || perr == EDGE_PROTO_E_BAD_MAGIC)
        return CONN_ACTION_DROP;
    if (perr != EDGE_PROTO_OK) {
        edge_str why = edge_str_from_cstr(edge_proto_err_name(perr));
        return error_reply(c, &hdr, edge_proto_err_status(perr), why, 0, 0,
                           CONN_ACTION_REPLY_CLOSE, out);
    }
    perr = edge_msg_decode(frame, len, EDGE_DIR_REQUEST, &req);
    if (perr != EDGE_PROTO_OK) {
        edge_str why = edge_str_from_cstr(edge_proto_err_name(perr));
        return error_reply(c, &hdr, edge_proto_err_status(perr), why, 0, 0, CONN_ACTION_REPLY_CLOSE,
                           out);
    }
    row = req.type < VERB_TABLE_SIZE ? &c->verbs->rows[req.type] : NULL;
    st = conn_verb_check(row, &c->caller, (int)c->state);
    if (st != EDGE_OK) {
        /* conn_verb_check answers BAD_REQUEST only for a row without a handler. */
        edge_str why = edge_str_from_cstr(
            st == EDGE_E_BAD_REQUEST ? "verb not offered by this service" : NULL);
        c->refused++;
        /* Out-of-state requests are protocol violations; a refused admin verb is not. */
        act = st == EDGE_E_PROTOCOL_STATE ? CONN_ACTION_REPLY_CLOSE : CONN_ACTION_REPLY;
        return error_reply(c, &hdr, st, why, 0, 0, act, out);
    }
    memset(&rep, 0, sizeof(rep));
    edge_msg_init_reply(&rep.msg, &hdr, c->verbs->epoch, EDGE_OK);
    st = row->handler(c, &req, &rep);
    act =
        (rep.close_after || c->state == CONN_CLOSING) ? CONN_ACTION_REPLY_CLOSE : CONN_ACTION_REPLY;
    if (st == EDGE_OK || st == EDGE_PENDING_CONSENT) {
        rep.msg.env.status = (uint32_t)st;
        perr = edge_msg_encode_alloc(&rep.msg, &out->data, &out->len);
        if (perr != EDGE_PROTO_OK) {
            /* A handler produced a reply the codec refuses: report it, don't send half of it. */
            edge_str why = edge_str_from_cstr(edge_proto_err_name(perr));
            act = error_reply(c, &hdr, EDGE_E_INTERNAL, why, 0, 0, act, out);
        }
    } else {
        act = error_reply(c, &hdr, st, rep.msg.env.detail,
                          rep.msg.env.has_win32_error ? rep.msg.env.win32_error : 0,
                          rep.msg.env.has_retry_after ? rep.msg.env.retry_after : 0, act, out);
    }
    free(rep.owned);
    return act;
}
