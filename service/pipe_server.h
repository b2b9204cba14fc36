/*
 * The hardened named-pipe server of edgebroker.exe.
 *
 * One I/O completion port and a small worker pool (2-4 threads) serve every client; there is no
 * thread per client and no WaitForMultipleObjects ceiling.  The server keeps a few ConnectNamedPipe
 * calls posted, reads one message-mode frame at a time per client, hands it to the connection
 * layer (connection.h), and writes the reply asynchronously.  It enforces the transport limits:
 * handshake and idle timeouts, frame size, connections per user and in total, a per-user request
 * rate (answered with EDGE_E_BUSY and a retry-after).  Anything a client does wrong drops that
 * client only.
 */
#ifndef EDGE_SVC_PIPE_SERVER_H
#define EDGE_SVC_PIPE_SERVER_H

#include <windows.h>
#include <stdbool.h>
#include <stdint.h>

struct verb_table;
struct pipe_server;

struct pipe_server_config {
    const wchar_t *pipe_name;       /* full name, e.g. L"\\\\.\\pipe\\EdgeBroker"; copied */
    unsigned pending_instances;     /* ConnectNamedPipe calls kept posted */
    unsigned max_connections;       /* all users together */
    unsigned max_per_user;          /* one user SID */
    uint32_t max_frame;             /* bytes; a longer message drops the client */
    unsigned handshake_timeout_ms;  /* first frame must arrive within this */
    unsigned idle_timeout_ms;       /* later frames: maximum silence */
    unsigned rate_burst;            /* per-user token bucket size (requests) */
    unsigned rate_per_sec;          /* per-user refill rate (requests per second) */
    unsigned drain_timeout_ms;      /* stop: bound on waiting for in-flight handlers */
    unsigned workers;               /* 0 = automatic (2-4) */
    const struct verb_table *verbs; /* routing + permission table; must outlive the server */
    void *verb_context;             /* passed to handlers as connection->service_ctx */
};

/* Production defaults from config.h; pipe_name = SVC_PIPE_NAME, verbs = NULL (set it). */
void pipe_server_config_init(struct pipe_server_config *cfg);

/*
 * Creates the first pipe instance (FILE_FLAG_FIRST_PIPE_INSTANCE, explicit DACL), the completion
 * port, the workers and the timeout timer, and starts accepting.  Returns ERROR_SUCCESS and
 * *OUT, or a Win32 error (ERROR_ACCESS_DENIED / ERROR_PIPE_BUSY: the name is already served, by
 * another instance or a squatter).
 */
DWORD pipe_server_start(const struct pipe_server_config *cfg, struct pipe_server **out);

/*
 * Stops accepting, cancels every pending I/O, waits up to drain_timeout_ms for handlers in
 * flight, stops the workers and frees the server.  Returns true when everything drained; false
 * when the bound expired, in which case memory still referenced by a running handler is
 * deliberately leaked (the process is about to exit).  Call once, not from a handler.
 */
bool pipe_server_stop(struct pipe_server *srv);

/* Counters for diagnostics and tests (a consistent snapshot). */
struct pipe_server_stats {
    unsigned listening;        /* instances waiting for a client */
    unsigned connected;        /* clients connected now */
    unsigned users;            /* user slots in use */
    uint64_t accepted;         /* connections completed */
    uint64_t frames;           /* frames handed to the connection layer */
    uint64_t dropped;          /* clients dropped for a protocol or transport fault */
    uint64_t timeouts;         /* clients dropped for silence */
    uint64_t oversize;         /* clients dropped for a frame above max_frame */
    uint64_t busy;             /* EDGE_E_BUSY replies (caps and rate limit) */
    uint64_t gone_before_read; /* clients that left before the server saw them (ERROR_NO_DATA) */
};
void pipe_server_get_stats(struct pipe_server *srv, struct pipe_server_stats *out);

/*
 * The pipe's security descriptor in SDDL, owner excluded (see pipe_server.c for each ACE).
 * Exposed so that tests can compare what GetSecurityInfo reads back.
 */
extern const wchar_t pipe_server_dacl_sddl[];

#endif /* EDGE_SVC_PIPE_SERVER_H */
