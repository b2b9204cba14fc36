/*
 * The verb table: ONE table that routes every request type to its handler and says who may call
 * it and in which connection state.  The permission check (conn_verb_check) is a pure function of
 * the table row, the caller's identity and the connection state, and it is the only place where
 * that decision is made.
 *
 * connection.c implements the table functions and the hello and ping verbs.  service/verbs.c
 * (not part of this module) implements verbs_startup / verbs_shutdown and registers every other
 * verb; tests register their own handlers.
 */
#ifndef EDGE_SVC_VERBS_H
#define EDGE_SVC_VERBS_H

#include <windows.h>
#include <stdbool.h>
#include <stdint.h>

#include "edge/protocol.h"
#include "edge/status.h"

struct connection;
struct caller_identity;

/* Who may call a verb. */
enum verb_who {
    VERB_ANY_CALLER = 0, /* any identified caller */
    VERB_ADMIN = 1       /* an elevated administrator (caller_identity.is_admin) */
};

/* Connection states in which a verb is allowed (bit mask of 1u << enum conn_state). */
#define VERB_IN_NEW        0x1u /* before hello: only hello itself */
#define VERB_IN_HELLO_DONE 0x2u /* after hello: everything else */

/*
 * What a handler fills.  msg is pre-initialised as the reply to the request (type, request id,
 * F_REPLY, epoch, status EDGE_OK); the handler fills msg.u and optional envelope fields (detail,
 * win32_error, retry_after, warnings).  Views in msg must stay valid until the reply is encoded:
 * point them into the request frame, into static data, or into one malloc'd block handed over in
 * owned (freed after encoding).  close_after closes the connection once the reply is written.
 */
struct verb_reply {
    edge_msg msg;
    void *owned;
    bool close_after;
};

/*
 * A verb handler.  Runs on a pipe-server worker thread and should not block for long (a verb that
 * waits for consent answers EDGE_PENDING_CONSENT and lets the client poll).  Returns the reply
 * status: EDGE_OK or EDGE_PENDING_CONSENT encode msg as filled; any other status sends an
 * envelope-only error reply carrying msg.env's detail, win32_error and retry_after.
 * C is the calling connection (identity in c->caller, shared state in c->service_ctx); REQ is the
 * decoded request, whose views point into the frame and are valid during the call only.
 */
typedef edge_status (*verb_handler)(struct connection *c, const edge_msg *req,
                                    struct verb_reply *rep);

struct verb_row {
    verb_handler handler; /* NULL: the verb is not offered (EDGE_E_BAD_REQUEST) */
    uint8_t who;          /* enum verb_who */
    uint8_t states;       /* VERB_IN_* */
};

#define VERB_TABLE_SIZE (EDGE_MSG_PURGE + 1)

struct verb_table {
    struct verb_row rows[VERB_TABLE_SIZE]; /* indexed by EDGE_MSG_* */
    uint8_t epoch[EDGE_ID_SIZE];           /* random per service start; sent in every reply */
    uint32_t capabilities;                 /* EDGE_CAP_* announced in hello */
    const char *server_version;            /* announced in hello; static string */
    /* Called once per connection when it closes (e.g. to free c->verb_state); may be NULL. */
    void (*on_close)(struct connection *c);
};

/*
 * Empties T, draws a fresh epoch with BCryptGenRandom and registers hello (any caller, NEW only)
 * and ping (any caller, HELLO_DONE).  Returns ERROR_SUCCESS or the Win32 error of the RNG.
 */
DWORD conn_verbs_init(struct verb_table *t);

/*
 * Sets the row for TYPE (an EDGE_MSG_* request type): HANDLER, WHO, STATES.  Returns false for a
 * type outside the table.  Not thread-safe: register before the server starts.
 */
bool conn_verbs_register(struct verb_table *t, uint16_t type, verb_handler handler,
                         enum verb_who who, unsigned states);

/*
 * The permission check.  Pure: depends only on its arguments.  Order: verb offered
 * (EDGE_E_BAD_REQUEST), allowed in STATE (EDGE_E_PROTOCOL_STATE), caller entitled
 * (EDGE_E_ACCESS_DENIED; a NULL caller is never an administrator).  EDGE_OK when permitted.
 * STATE is an enum conn_state value.
 */
edge_status conn_verb_check(const struct verb_row *row, const struct caller_identity *caller,
                            int state);

/* The built-in verbs, exposed for tests and for a table that wants them under other rules. */
edge_status conn_verb_hello(struct connection *c, const edge_msg *req, struct verb_reply *rep);
edge_status conn_verb_ping(struct connection *c, const edge_msg *req, struct verb_reply *rep);

/* The consent prompt (consent.h, consent_prompt_fn). */
typedef DWORD (*verbs_prompt_fn)(DWORD session, const wchar_t *title, const wchar_t *text,
                                 DWORD timeout_seconds, DWORD *response);

/*
 * Where the verbs keep their state and read their policy.  Every NULL field means the service's
 * own: the data directory %ProgramData%\EdgeBroker (or EDGE_STATE_DIR), the policy keys
 * HKLM\SOFTWARE\Policies\EdgeBroker and HKLM\SOFTWARE\EdgeBroker, the real consent prompt.
 * Tests pass their own directory, keys and prompt.
 */
struct verbs_config {
    const wchar_t *state_dir;
    HKEY policy_root; /* NULL: HKEY_LOCAL_MACHINE */
    const wchar_t *policy_key;
    const wchar_t *local_key;
    verbs_prompt_fn prompt; /* NULL: the real one (WTSSendMessageW) */
    DWORD(WINAPI *console_session)(void);
};

/*
 * Implemented by service/verbs.c: creates the verbs' shared state (*CTX becomes every connection's
 * service_ctx), registers the remaining verbs in T and sets T->on_close.  Called by the service
 * after conn_verbs_init and before the pipe server starts.  CFG may be NULL (all defaults); it is
 * read during the call only.  Returns a Win32 error.
 */
DWORD verbs_startup_config(struct verb_table *t, const struct verbs_config *cfg, void **ctx);

/* verbs_startup_config with every default: what the service calls. */
DWORD verbs_startup(struct verb_table *t, void **ctx);

/* Implemented by service/verbs.c: releases what verbs_startup created, after the server stopped. */
void verbs_shutdown(void *ctx);

#endif /* EDGE_SVC_VERBS_H */
