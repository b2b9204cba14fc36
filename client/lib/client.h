/*
 * Internal declarations of the edgeclient library (not installed).
 *
 * Locks, in the order they may be taken:
 *   io_mutex    (kernel mutex, waited on with a deadline): owns the pipe and the receive buffer;
 *               held for one connect or one round trip, never across a consent wait or a callback.
 *   state_lock  (SRW lock): lease records, the lease list, the event queue, server info, last
 *               detail.  Held only for short copies; never while waiting for anything.
 * Callbacks run with no lock held.
 */
#ifndef EDGECLIENT_INTERNAL_H
#define EDGECLIENT_INTERNAL_H

#include <winsock2.h>
#include <windows.h>

#include <stdbool.h>
#include <stdint.h>

#include "edge/protocol.h"
#include "edge/status.h"
#include "edgeclient.h"

#define CLIENT_POLL_MS         1000u /* notice/break polling while the session has leases */
#define CLIENT_RECONNECT_MS    5000u /* reconnect attempts after a loss */
#define CLIENT_RETRY_DEFAULT_S 2u    /* consent poll when the service sends no retry-after */
#define CLIENT_RETRY_MAX_S     60u   /* cap on a service's retry-after */
#define CLIENT_MAX_LIST_LEASES 1000000u
#define CLIENT_MAX_LIST_PAGES  100000u

/* ---- errors.c ---- */
edge_result client_from_proto(edge_proto_err err);

/* ---- verify.c: is the pipe served by the real EdgeBroker service? ---- */
#define VERIFY_SERVICE_NAME L"EdgeBroker"

/* Pure decision: owner trusted and server PID equal to the SCM's non-zero PID. */
edge_result verify_decide(bool owner_trusted, DWORD server_pid, DWORD scm_pid);
/* True for SYSTEM, BUILTIN\Administrators or the service SID of VERIFY_SERVICE_NAME. */
bool verify_owner_trusted(PSID owner);
/* S-1-5-80-<SHA-1 of the upper-cased UTF-16LE name> into sid[cap]; ERROR_SUCCESS or a Win32 error.
 */
DWORD verify_service_sid(const wchar_t *service, BYTE *sid, DWORD cap);
/* PID of the running service per the SCM, 0 when not installed/running or not queryable. */
DWORD verify_scm_pid(const wchar_t *service);
/* Runs every check on a connected pipe. */
edge_result verify_server(HANDLE pipe);

/* ---- transport.c: overlapped message-mode pipe I/O bounded by a deadline ---- */
/* Deadlines are GetTickCount64() values. */
ULONGLONG transport_deadline(uint32_t timeout_ms);
DWORD transport_remaining(ULONGLONG deadline);
/* Opens (waiting for a free instance until the deadline), sets message mode, verifies. */
/*
 * The access a client asks for on the service's pipe: read, write data, and write attributes
 * (SetNamedPipeHandleState needs it for message read mode).  Not GENERIC_WRITE: on a pipe that
 * also means FILE_APPEND_DATA, which is FILE_CREATE_PIPE_INSTANCE and denied to everyone but
 * SYSTEM and Administrators, and FILE_WRITE_EA, which the pipe's DACL grants no one else; a
 * standard user asking for GENERIC_WRITE would be refused by the service's DACL.
 */
#define TRANSPORT_PIPE_ACCESS (GENERIC_READ | FILE_WRITE_DATA | FILE_WRITE_ATTRIBUTES)

edge_result transport_open(const wchar_t *name, bool verify, ULONGLONG deadline, HANDLE cancel,
                           HANDLE *out);
edge_result transport_write(HANDLE pipe, const uint8_t *buf, size_t len, ULONGLONG deadline,
                            HANDLE cancel);
/* Reads one whole message (<= cap bytes; larger is EDGE_CLIENT_E_PROTOCOL). */
edge_result transport_read(HANDLE pipe, uint8_t *buf, size_t cap, size_t *got, ULONGLONG deadline,
                           HANDLE cancel);
/* *avail = bytes of the next message waiting; EDGE_CLIENT_E_DISCONNECTED when the pipe broke. */
edge_result transport_peek(HANDLE pipe, DWORD *avail);

/* ---- session.c ---- */
struct client_event {
    struct client_event *next;
    uint32_t event;
    edge_lease_t *lease; /* holds a reference, or NULL */
    edge_result result;
};

struct edgeclient_session {
    volatile LONG refs; /* the application's + one per lease, async request and list */
    HANDLE io_mutex;
    SRWLOCK state_lock;
    HANDLE close_ev; /* manual reset: set once by edge_session_close */
    HANDLE wake_ev;  /* auto reset: wakes the monitor thread */
    HANDLE monitor;
    DWORD monitor_tid;
    volatile LONG closed;

    /* configuration (immutable after open) */
    wchar_t *pipe_name;
    char *client_name;
    uint32_t flags;
    uint32_t timeout_ms;
    edge_event_fn on_event;
    void *event_context;

    /* connection (io_mutex) */
    HANDLE pipe; /* INVALID_HANDLE_VALUE when not connected */
    uint32_t next_request_id;
    uint8_t *rx;        /* EDGE_FRAME_MAX bytes */
    bool loss_reported; /* CONNECTION_LOST queued since the last good connect */

    /* state_lock */
    bool have_epoch;
    uint8_t epoch[EDGE_ID_SIZE];
    uint32_t epoch_gen; /* bumped at each epoch change: the monitor re-checks older leases */
    uint16_t proto_version;
    uint32_t capabilities;
    char server_version[EDGE_MAX_NAME + 1];
    char last_detail[EDGE_MAX_TEXT + 1];
    uint32_t last_win32;
    uint32_t last_retry;
    edge_lease_t *leases; /* monitored leases (requested or opened here), doubly linked */
    struct client_event *events, *events_tail;
    LONG async_running;
    HANDLE async_idle_ev; /* manual reset: set while async_running == 0 */
};

void session_addref(edge_session_t *s);
void session_release(edge_session_t *s);
bool session_is_closed(const edge_session_t *s);
/* Resolves a caller's timeout (0 = session default); false for INFINITE. */
bool session_timeout(const edge_session_t *s, uint32_t timeout_ms, uint32_t *out);

/*
 * One round trip: encodes req (request_id assigned here), reconnecting first when needed, and
 * returns the decoded reply with its views into *frame (free with free()).  EDGE_OK means a valid
 * reply to this request arrived: its status is in rep->env.status.  Non-OK statuses are recorded
 * as the session's last detail.  Notices read meanwhile are handled.
 */
edge_result session_call(edge_session_t *s, edge_msg *req, ULONGLONG deadline, edge_msg *rep,
                         uint8_t **frame);
/* Monitor: reads notices waiting on the idle connection, notices a break and reconnects. */
edge_result session_poll(edge_session_t *s);
/* Waits on the close event until the deadline or ms, whichever is sooner; CLOSED if it fired. */
edge_result session_sleep(edge_session_t *s, DWORD ms);
/* Queues an event (lease may be NULL; a reference is taken) and wakes the monitor. */
void session_queue_event(edge_session_t *s, uint32_t event, edge_lease_t *lease,
                         edge_result result);
/* Convert a reply status to a result: OK plus warnings/INEFFECTIVE state become the warning. */
edge_result session_status_result(uint32_t status);

/* ---- lease.c ---- */
struct edgeclient_lease {
    volatile LONG refs;
    edge_session_t *session; /* holds a session reference */
    edge_lease_t *prev, *next;
    bool linked;  /* in session->leases (monitored) */
    bool in_list; /* owned by an edge_lease_list_t */

    /* state_lock */
    uint8_t id[EDGE_ID_SIZE];
    char owner_sid[EDGE_MAX_SID + 1];
    char *image_path; /* <= EDGE_MAX_PATH bytes + NUL */
    uint8_t protocol;
    uint16_t port_lo, port_hi;
    uint8_t edge_option;
    uint64_t created, expires;
    uint32_t flags; /* wire flags | EDGE_REQUEST_F_AUTO_RENEW | _REREQUEST */
    uint8_t state;
    uint32_t warnings;
    ULONGLONG renew_at;     /* tick of the next automatic renewal (0: none planned) */
    ULONGLONG rerequest_at; /* tick of the next re-request (0: none planned) */
    uint32_t epoch_gen;     /* session epoch_gen this lease was last confirmed under */

    /* the request, kept for re-requests (immutable) */
    uint32_t req_seconds;
    uint8_t *signed_request;
    size_t signed_request_len;
    char *target_app;
};

edge_lease_t *lease_new(edge_session_t *s);
void lease_addref(edge_lease_t *l);
void lease_unref(edge_lease_t *l);
/* Copies a lease record (views into a frame) into l; call with state_lock held exclusively. */
edge_result lease_store(edge_lease_t *l, const edge_lease *rec, uint32_t warnings);
/* Marks the lease ENDED (state_lock held); schedules a re-request when the lease asked for it. */
void lease_mark_ended(edge_lease_t *l);
/* Plans the next automatic renewal at half the remaining time (state_lock held). */
void lease_plan_renewal(edge_lease_t *l);
/* Result for a granted lease: EDGE_OK or EDGE_CLIENT_W_INEFFECTIVE (state_lock held). */
edge_result lease_grant_result(const edge_lease_t *l);
/* Seconds to wait before repeating a pending request: the service's retry-after, bounded. */
uint32_t lease_retry_wait_s(uint32_t retry_after_s);
/* One REQUEST exchange for l's stored parameters; no consent wait.  Updates l on success. */
edge_result lease_request_once(edge_lease_t *l, ULONGLONG deadline, uint32_t *retry_after_s);
/* RENEW / SHOW exchanges; update l; NOT_FOUND marks it ENDED. */
edge_result lease_renew_now(edge_lease_t *l, uint32_t seconds, ULONGLONG deadline);
edge_result lease_show_now(edge_lease_t *l, ULONGLONG deadline);
/* Finds a monitored lease by id (state_lock held); no reference taken. */
edge_lease_t *lease_find(edge_session_t *s, const uint8_t id[EDGE_ID_SIZE]);

/* ---- renew.c: the session's monitor thread ---- */
DWORD WINAPI monitor_thread(void *arg);
/* Applies a notice (called with io_mutex held, from session_call or the monitor's poll). */
void monitor_on_notice(edge_session_t *s, const edge_msg *notice);

/* ---- text helpers (errors.c) ---- */
edge_result client_copy_str(char *dst, size_t cap, const char *src);
void client_hex(const uint8_t *bytes, size_t n, char *out);
bool client_unhex(const char *hex, uint8_t *out, size_t n);
wchar_t *client_utf8_to_wide(const char *s);

#endif /* EDGECLIENT_INTERNAL_H */
