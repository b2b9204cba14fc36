/*
 * Per-client connection state and the one place where a decoded request is routed to its verb
 * handler after the permission check (verbs.h holds the table).
 *
 * The pipe server owns the transport; this layer sees whole frames and produces whole replies.
 * A connection is used by one worker thread at a time (the pipe server never has two operations
 * of one client in flight), so nothing here locks.
 */
#ifndef EDGE_SVC_CONNECTION_H
#define EDGE_SVC_CONNECTION_H

#include <windows.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caller.h"
#include "edge/status.h"

struct verb_table;

enum conn_state {
    CONN_NEW = 0,        /* connected; only hello is allowed */
    CONN_HELLO_DONE = 1, /* hello accepted; the table decides the rest */
    CONN_CLOSING = 2     /* being torn down; nothing is allowed */
};

struct connection {
    uint64_t id; /* server-wide serial, for logs and leases */
    enum conn_state state;
    bool identified; /* caller is valid */
    struct caller_identity caller;
    FILETIME connected_at; /* when ConnectNamedPipe completed */
    uint16_t version;      /* protocol version agreed in hello */
    uint64_t requests;     /* frames handled */
    uint64_t refused;      /* requests refused by the permission check */
    const struct verb_table *verbs;
    void *service_ctx; /* pipe_server_config.verb_context, for handlers */
    void *verb_state;  /* free slot for verbs.c; released by verb_table.on_close */
};

/* What the transport does after a frame. */
enum conn_action {
    CONN_ACTION_REPLY = 0,       /* write the reply, then read the next frame */
    CONN_ACTION_REPLY_CLOSE = 1, /* write the reply, then close */
    CONN_ACTION_DROP = 2         /* close now without a reply (protocol violation) */
};

/* A reply frame: malloc'd bytes, freed by the transport with conn_reply_free. */
struct conn_reply {
    uint8_t *data;
    size_t len;
};

void conn_init(struct connection *c, uint64_t id, const struct verb_table *verbs, void *ctx);

/* Calls the table's on_close hook, releases the caller identity, marks the state CLOSING. */
void conn_release(struct connection *c);

/*
 * Decodes FRAME, applies the permission check (verbs.h: verb_check) and runs the handler.
 * *OUT is set to the reply for REPLY / REPLY_CLOSE and cleared for DROP.  A frame that cannot be
 * decoded at all drops the client; a well-formed request that is refused gets an error reply.
 */
enum conn_action conn_handle_frame(struct connection *c, const uint8_t *frame, size_t len,
                                   struct conn_reply *out);

/*
 * Answers FRAME with STATUS (and RETRY_AFTER_MS when non-zero) without running any handler: the
 * transport uses it for EDGE_E_BUSY (caps, rate limit) and for callers it could not identify.
 * Returns DROP (and no reply) when the frame's header cannot be decoded.
 */
enum conn_action conn_refuse_frame(struct connection *c, const uint8_t *frame, size_t len,
                                   edge_status status, uint32_t retry_after_ms,
                                   struct conn_reply *out);

void conn_reply_free(struct conn_reply *r);

#endif /* EDGE_SVC_CONNECTION_H */
