/*
 * edgeclient — the client library of edgebroker (the Edge Traversal Broker service).
 *
 * An unprivileged application uses this library to obtain a *lease*: a Windows Firewall rule with
 * Edge Traversal for its own executable, protocol and ports, created by the EdgeBroker service
 * after policy and (where required) consent.  Once the lease is confirmed, edge_socket_enable()
 * sets IPV6_PROTECTION_LEVEL = PROTECTION_LEVEL_UNRESTRICTED on the application's IPv6 socket, so
 * that unsolicited traffic arriving over Teredo reaches it.
 *
 * Typical use:
 *
 *     edge_session_t *s = NULL;
 *     edge_lease_t *lease = NULL;
 *     edge_lease_params p;
 *     edge_result r = edge_session_open(NULL, &s);            // default pipe, verified server
 *     edge_lease_params_init(&p);
 *     p.protocol = EDGE_PROTOCOL_TCP;
 *     p.port_lo = 50000;
 *     p.flags = EDGE_REQUEST_F_AUTO_RENEW;
 *     if (r == EDGE_OK)
 *         r = edge_lease_request(s, &p, 120000, &lease);     // waits for consent up to 2 min
 *     if (EDGE_SUCCEEDED(r)) {                                 // EDGE_CLIENT_W_INEFFECTIVE: see
 * below SOCKET sock = socket(AF_INET6, SOCK_STREAM, IPPROTO_TCP); r =
 * edge_socket_enable_and_bind(lease, sock, 50000); // option first, then bind
 *         ... listen, serve ...
 *         edge_lease_release(lease, 0);
 *     }
 *     edge_lease_free(lease);
 *     edge_session_close(s);
 *     if (!EDGE_SUCCEEDED(r)) fprintf(stderr, "%s\n", edge_strerror(r));
 *
 * Conventions that hold for every function unless its comment says otherwise:
 *
 * - ABI.  Plain C, default calling convention of the platform (x64), opaque handles, no structure
 *   whose layout the library reads without a leading `size` field set by the caller (so fields can
 *   be appended without breaking old callers).  Exports are listed in edgeclient.def.  Link the
 *   DLL (edgeclient.dll + import library), or define EDGECLIENT_STATIC and link edgeclient_static
 *   (CMake's `edgeclient::edgeclient_static` target does both).
 * - Strings.  Every string passed in or out is UTF-8 and NUL-terminated; the library converts to
 *   UTF-16 only where it calls Win32.  Strings returned through a (buffer, capacity) pair are
 *   always NUL-terminated when the call succeeds; when the buffer is too small the call returns
 *   EDGE_CLIENT_E_BUFFER_TOO_SMALL and writes an empty string (when capacity > 0).
 * - Results.  Every fallible function returns an edge_result.  EDGE_OK (0) is success; the
 *   EDGE_CLIENT_W_* codes are success with a warning (test with EDGE_SUCCEEDED); everything else
 *   is a failure.  Codes below 0x10000 are the service's status values (docs/protocol.md §10),
 *   passed through unchanged; codes from 0x10000 are the library's own.  edge_strerror() turns
 *   any code into English text.  After EDGE_CLIENT_E_SYSTEM, EDGE_CLIENT_E_SOCKET and
 *   EDGE_CLIENT_E_ACCESS_DENIED, GetLastError() on the calling thread holds the underlying Win32 or
 *   Winsock error; other codes leave it unspecified.
 * - Outputs.  Pointer outputs are set to NULL (numbers to 0) on entry, and are set only on success.
 * - Timeouts.  Calls that talk to the service take `timeout_ms`: the most the call may block, in
 *   milliseconds, all round trips included.  0 means the session's default (options.timeout_ms).
 *   INFINITE (0xFFFFFFFF) is refused with EDGE_CLIENT_E_INVALID_ARG: nothing in this library
 *   blocks forever.  An expired timeout gives EDGE_CLIENT_E_TIMEOUT, and the connection is then
 *   dropped (a late reply must not be taken for the next one) and re-opened by the next call.
 * - Threads.  All functions are thread-safe: handles may be shared between threads, and calls on
 *   one session are serialised on its connection (a lease request waiting for consent does not hold
 *   the connection between polls).  Each session owns one library thread (auto-renewal, notices,
 *   event callbacks) that lives until edge_session_close.  The library keeps no global state other
 *   than Winsock's own (edge_socket_* call WSAStartup/WSACleanup in pairs around their work).
 * - Security.  edge_session_open verifies that the pipe is served by the real EdgeBroker service
 *   before it sends anything beyond the pipe open (see edge_session_open); a fake server is refused
 *   with EDGE_CLIENT_E_FAKE_SERVER.
 */
#ifndef EDGECLIENT_H
#define EDGECLIENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(EDGECLIENT_STATIC) || defined(EDGECLIENT_BUILDING)
#define EDGECLIENT_API
#else
#define EDGECLIENT_API __declspec(dllimport)
#endif

/* ==== results ================================================================================ */

/* A result code: EDGE_OK, a service status (< 0x10000), or an EDGE_CLIENT_* code. */
typedef int edge_result;

/*
 * Service statuses, identical to the wire values of docs/protocol.md §10 and to the service's own
 * definition (common/include/edge/status.h, which uses the same guard, so code that sees both
 * headers compiles in either include order).  Transient ones (retrying later can help) are marked
 * (T); see edge_result_is_transient.
 */
#ifndef EDGE_STATUS_VALUES_DEFINED
#define EDGE_STATUS_VALUES_DEFINED
typedef enum edge_status {
    EDGE_OK = 0,
    EDGE_PENDING_CONSENT = 1,         /* (T) an approver has not decided yet */
    EDGE_E_BAD_REQUEST = 2,           /* the service found the request malformed */
    EDGE_E_UNSUPPORTED_VERSION = 3,   /* no common protocol version with the service */
    EDGE_E_DENIED = 4,                /* policy refuses the request */
    EDGE_E_ACCESS_DENIED = 5,         /* the verb or option needs an elevated administrator */
    EDGE_E_IDENTITY_MISMATCH = 6,     /* the request names an executable other than the caller */
    EDGE_E_BAD_SIGNATURE = 7,         /* signed request invalid or key not trusted */
    EDGE_E_EXPIRED = 8,               /* signed request outside its validity window */
    EDGE_E_NOT_FOUND = 9,             /* no such lease (released, expired, revoked, not yours) */
    EDGE_E_QUOTA = 10,                /* (T) per-user or per-application quota reached */
    EDGE_E_BUSY = 11,                 /* (T) service busy or rate limit reached */
    EDGE_E_FIREWALL = 12,             /* (T) a firewall call failed */
    EDGE_E_FIREWALL_ACCESS = 13,      /* the firewall refused the service */
    EDGE_E_FIREWALL_UNAVAILABLE = 14, /* the firewall service is unavailable */
    EDGE_E_FIREWALL_INVALID = 15,     /* the firewall rejected a rule value */
    EDGE_E_RULE_TAMPERED = 16,        /* (T) the rule was changed behind the service's back */
    EDGE_E_INTERNAL = 17,             /* (T) internal failure in the service */
    EDGE_E_NO_MEMORY = 18,            /* (T) the service ran out of memory */
    EDGE_E_SHUTTING_DOWN = 19,        /* (T) the service is stopping */
    EDGE_E_TIMEOUT = 20,              /* (T) the service timed out internally */
    EDGE_E_STORAGE = 21,              /* (T) the service could not persist its state */
    EDGE_E_CONSENT_DENIED = 22,       /* an approver refused the request */
    EDGE_E_CONFLICT = 23,             /* the ports are leased to another application */
    EDGE_E_PROTOCOL_STATE = 24,       /* verb not allowed in the connection's state */
    EDGE_E_INEFFECTIVE = 25,          /* the rule exists but policy/firewall/Teredo defeat it */
    EDGE_STATUS_COUNT_ = 26           /* not a status; one past the last value */
} edge_status;
#endif

/* The library's own codes.  They never collide with service statuses (those stay < 0x10000). */
#define EDGE_CLIENT_E_BASE 0x10000
enum {
    /* An argument is NULL, out of range, an unknown flag is set, or a struct's size is wrong. */
    EDGE_CLIENT_E_INVALID_ARG = EDGE_CLIENT_E_BASE + 1,
    /* Memory allocation failed in the application process. */
    EDGE_CLIENT_E_NO_MEMORY = EDGE_CLIENT_E_BASE + 2,
    /* The pipe does not exist: the EdgeBroker service is not installed or not running. */
    EDGE_CLIENT_E_NO_SERVICE = EDGE_CLIENT_E_BASE + 3,
    /* The pipe refused this user (its DACL; e.g. a network logon).  GetLastError() is set. */
    EDGE_CLIENT_E_ACCESS_DENIED = EDGE_CLIENT_E_BASE + 4,
    /* The pipe is served by something other than the EdgeBroker service: nothing was sent. */
    EDGE_CLIENT_E_FAKE_SERVER = EDGE_CLIENT_E_BASE + 5,
    /* The call's timeout expired (service busy or hung, or all pipe instances in use). */
    EDGE_CLIENT_E_TIMEOUT = EDGE_CLIENT_E_BASE + 6,
    /* The service sent something that is not a valid reply; the connection was dropped. */
    EDGE_CLIENT_E_PROTOCOL = EDGE_CLIENT_E_BASE + 7,
    /* The session was closed (or is closing); the handle can only be freed. */
    EDGE_CLIENT_E_CLOSED = EDGE_CLIENT_E_BASE + 8,
    /* The connection broke during the call (service stopped or restarted).  The next call
     * reconnects; the request may or may not have been carried out. */
    EDGE_CLIENT_E_DISCONNECTED = EDGE_CLIENT_E_BASE + 9,
    /* edge_socket_*: no confirmed lease covers the socket's family, protocol or port. */
    EDGE_CLIENT_E_NOT_COVERED = EDGE_CLIENT_E_BASE + 10,
    /* edge_socket_*: a Winsock call failed (not a socket, closed, ...).  GetLastError() is set. */
    EDGE_CLIENT_E_SOCKET = EDGE_CLIENT_E_BASE + 11,
    /* An output buffer is too small; an empty string was written. */
    EDGE_CLIENT_E_BUFFER_TOO_SMALL = EDGE_CLIENT_E_BASE + 12,
    /* The lease has ended locally (released, revoked, expired or lost); it cannot be used. */
    EDGE_CLIENT_E_LEASE_ENDED = EDGE_CLIENT_E_BASE + 13,
    /* An unexpected Win32 failure in the library.  GetLastError() is set. */
    EDGE_CLIENT_E_SYSTEM = EDGE_CLIENT_E_BASE + 14
};

/* Success with a warning: the call did what was asked, but read the warning. */
#define EDGE_CLIENT_W_BASE 0x20000
enum {
    /* edge_socket_enable: the socket was already bound; the option is set now, but packets that
     * arrived before it were handled as edge-restricted.  Set the option before bind next time. */
    EDGE_CLIENT_W_ALREADY_BOUND = EDGE_CLIENT_W_BASE + 1,
    /* edge_lease_request/renew: the lease was granted but cannot work right now ("granted but
     * ineffective"): see edge_lease_state() and edge_lease_warnings() (firewall off, local rules
     * ignored by Group Policy, no Teredo). */
    EDGE_CLIENT_W_INEFFECTIVE = EDGE_CLIENT_W_BASE + 2
};

/* True for EDGE_OK and the EDGE_CLIENT_W_* warnings. */
#define EDGE_SUCCEEDED(r)                                                                          \
    ((edge_result)(r) == 0 ||                                                                      \
     ((edge_result)(r) > EDGE_CLIENT_W_BASE && (edge_result)(r) < EDGE_CLIENT_W_BASE + 0x1000))

/*
 * One line of English text for any code (unknown codes give "unknown error <n>").  The pointer is
 * to static storage and is never NULL.  Thread-safe.
 */
EDGECLIENT_API const char *edge_strerror(edge_result code);

/* The stable symbolic name, e.g. "EDGE_E_QUOTA", "EDGE_CLIENT_E_TIMEOUT"; "EDGE_UNKNOWN" for codes
 * not listed here.  Static storage, never NULL.  Thread-safe.  (For scripts and JSON output.) */
EDGECLIENT_API const char *edge_result_name(edge_result code);

/* 1 when retrying the same call later can succeed (transient service statuses,
 * EDGE_CLIENT_E_TIMEOUT, EDGE_CLIENT_E_DISCONNECTED, EDGE_CLIENT_E_NO_SERVICE), else 0.
 * Thread-safe. */
EDGECLIENT_API int edge_result_is_transient(edge_result code);

/* ==== version ================================================================================ */

/* The library's version as (major << 16) | (minor << 8) | patch.  Thread-safe. */
EDGECLIENT_API uint32_t edge_client_version(void);

/* The library's version as text, e.g. "0.1.0".  Static storage.  Thread-safe. */
EDGECLIENT_API const char *edge_client_version_string(void);

/* ==== sessions ================================================================================ */

/* A connection to the EdgeBroker service.  Opaque. */
typedef struct edgeclient_session edge_session_t;
/* A lease the service granted (or reported).  Opaque. */
typedef struct edgeclient_lease edge_lease_t;

/* Events reported to edge_event_fn. */
enum {
    /* The service restarted (new epoch).  Leases of this session were re-validated: lease events
     * below follow for those that did not survive.  lease is NULL. */
    EDGE_EVENT_SERVICE_RESTARTED = 1,
    /* The connection broke and could not be re-opened; result says why.  The session keeps
     * trying at every call and every few seconds.  lease is NULL. */
    EDGE_EVENT_CONNECTION_LOST = 2,
    /* The service announced it is stopping.  lease is NULL. */
    EDGE_EVENT_SERVICE_SHUTDOWN = 3,
    /* An administrator revoked the lease.  Its state is now ENDED. */
    EDGE_EVENT_LEASE_REVOKED = 4,
    /* The lease expired (not renewed in time).  Its state is now ENDED. */
    EDGE_EVENT_LEASE_EXPIRED = 5,
    /* The lease is gone for another reason (the service no longer knows it, e.g. after a restart,
     * or renewal answered NOT_FOUND).  Its state is now ENDED; result has the status seen. */
    EDGE_EVENT_LEASE_LOST = 6,
    /* The lease was re-requested after it ended (EDGE_REQUEST_F_REREQUEST): the same handle now
     * carries a new lease id and expiry; result is the request's outcome (EDGE_OK, a warning, or
     * the failure, in which case the lease stays ENDED).  Sockets already enabled stay enabled. */
    EDGE_EVENT_LEASE_REREQUESTED = 7,
    /* Automatic renewal succeeded (result EDGE_OK or a warning) or failed (result is the error;
     * transient failures are retried until the lease would expire). */
    EDGE_EVENT_LEASE_RENEWED = 8,
    /* The service warned that the lease expires soon (it will not be renewed automatically unless
     * EDGE_REQUEST_F_AUTO_RENEW is set). */
    EDGE_EVENT_LEASE_ENDING = 9
};

/*
 * Event callback.  Runs on the session's library thread, one event at a time, never with a library
 * lock held.  `lease` is borrowed (valid for the duration of the call; it is the same pointer the
 * application holds).  The callback may call any function of this library except
 * edge_session_close() on its own session, and should return promptly: renewals and notices of
 * this session wait for it.
 */
typedef void (*edge_event_fn)(void *context, uint32_t event, edge_lease_t *lease,
                              edge_result result);

/* Session flags. */
/* UNSAFE, for tests and development only: skip the server verification of edge_session_open and
 * talk to whatever serves the pipe.  Never set this in a product: any local process that creates
 * the pipe first could then answer for the service. */
#define EDGE_SESSION_F_TRUST_ANY_SERVER_FOR_TESTING 0x1u

#define EDGE_DEFAULT_PIPE_NAME     "\\\\.\\pipe\\EdgeBroker"
#define EDGE_DEFAULT_TIMEOUT_MS    10000u
#define EDGE_MAX_CLIENT_NAME_BYTES 128u

/* Options of edge_session_open.  Initialise with edge_session_options_init, then change fields. */
typedef struct edge_session_options {
    uint32_t size;           /* sizeof(edge_session_options); set by edge_session_options_init */
    uint32_t flags;          /* EDGE_SESSION_F_*; unknown bits are refused */
    const char *pipe_name;   /* UTF-8 full pipe name ("\\\\.\\pipe\\..."); NULL: the default */
    const char *client_name; /* UTF-8, <= 128 bytes, e.g. "MyApp 2.1", shown in the audit log;
                                NULL: none */
    uint32_t timeout_ms;     /* default timeout of calls given 0, and of the open itself; 0:
                                EDGE_DEFAULT_TIMEOUT_MS */
    edge_event_fn on_event;  /* NULL: events are not reported (automatic actions still happen) */
    void *event_context;     /* passed to on_event */
} edge_session_options;

/* Fills *options with the defaults (size set, everything else 0/NULL).  Thread-safe. */
EDGECLIENT_API void edge_session_options_init(edge_session_options *options);

/*
 * Connects to the service and says hello (protocol version negotiation, capabilities, epoch).
 *
 * options: NULL for the defaults, or initialised with edge_session_options_init.  Strings are
 *          copied; the struct need not outlive the call.
 * out:     receives the session.  Close with edge_session_close.
 *
 * The pipe is opened with SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION (the service can identify
 * but never impersonate the caller at a higher level) in message mode.  Unless
 * EDGE_SESSION_F_TRUST_ANY_SERVER_FOR_TESTING is set, before sending anything the library checks
 * that (1) the pipe's owner is LocalSystem (S-1-5-18), the EdgeBroker service SID
 * (S-1-5-80-..., "NT SERVICE\EdgeBroker") or BUILTIN\Administrators (S-1-5-32-544; only an
 * elevated administrator can assign it, and Wine's services run that way), and (2) the pipe's
 * server process id equals the process id the Service Control Manager reports for the running
 * service "EdgeBroker".  Both must hold.  The same check runs on every reconnect.
 *
 * Returns EDGE_OK; EDGE_CLIENT_E_INVALID_ARG; EDGE_CLIENT_E_NO_MEMORY; EDGE_CLIENT_E_NO_SERVICE
 * (no pipe: service not installed or not running); EDGE_CLIENT_E_ACCESS_DENIED;
 * EDGE_CLIENT_E_FAKE_SERVER; EDGE_CLIENT_E_TIMEOUT (pipe busy or no hello reply in time);
 * EDGE_CLIENT_E_PROTOCOL; EDGE_CLIENT_E_DISCONNECTED; EDGE_CLIENT_E_SYSTEM; or the service's
 * hello status (EDGE_E_UNSUPPORTED_VERSION, EDGE_E_BUSY, EDGE_E_SHUTTING_DOWN, ...).
 * Thread-safe.
 */
EDGECLIENT_API edge_result edge_session_open(const edge_session_options *options,
                                             edge_session_t **out);

/*
 * Closes the session: stops its library thread, cancels waits in progress on other threads (they
 * return EDGE_CLIENT_E_CLOSED; pending edge_lease_request_async callbacks are called with it before
 * this returns), stops automatic renewal and closes the pipe.  It does NOT release leases: call
 * edge_lease_release first for those you want gone (the service also ends leases without
 * EDGE_REQUEST_F_KEEP_AFTER_EXIT when the process exits).  Lease handles stay valid (their
 * accessors work, service calls return EDGE_CLIENT_E_CLOSED) until edge_lease_free.
 * NULL is ignored.  Must not be called from this session's event or async callbacks, nor twice,
 * and no thread may start a new call on the session once close has begun.
 */
EDGECLIENT_API void edge_session_close(edge_session_t *session);

/*
 * Round trip to the service (PING), reconnecting first if the connection was lost.
 * Returns EDGE_OK, or any connection error of edge_session_open, EDGE_CLIENT_E_CLOSED.
 * Thread-safe.
 */
EDGECLIENT_API edge_result edge_session_ping(edge_session_t *session, uint32_t timeout_ms);

/*
 * Information from the last hello: the service's version text (UTF-8, <= 128 bytes), its epoch as
 * 32 lower-case hex digits (changes at every service start), the negotiated protocol version and
 * the service's capability bits (EDGE_CAPABILITY_*).  Any output may be NULL.  buffers need
 * EDGE_MAX_CLIENT_NAME_BYTES + 1 and EDGE_EPOCH_CHARS bytes.
 * Returns EDGE_OK, EDGE_CLIENT_E_INVALID_ARG, EDGE_CLIENT_E_BUFFER_TOO_SMALL.  Thread-safe.
 */
#define EDGE_EPOCH_CHARS                33u
#define EDGE_CAPABILITY_SIGNED_REQUESTS 0x1u
#define EDGE_CAPABILITY_USER_CONSENT    0x2u
#define EDGE_CAPABILITY_NOTICES         0x4u
EDGECLIENT_API edge_result edge_session_server_info(edge_session_t *session, char *version,
                                                    size_t version_cap, char *epoch,
                                                    size_t epoch_cap, uint32_t *protocol_version,
                                                    uint32_t *capabilities);

/*
 * The detail text, Win32 error/HRESULT and retry-after of the most recent reply (from any thread)
 * on this session whose status was not EDGE_OK — for messages such as "what happened, what to do
 * next".  Any output may be NULL; detail gets "" when there was none.  A detail needs at most
 * EDGE_MAX_DETAIL_BYTES + 1 bytes.  Returns EDGE_OK, EDGE_CLIENT_E_INVALID_ARG,
 * EDGE_CLIENT_E_BUFFER_TOO_SMALL.  Thread-safe.
 */
#define EDGE_MAX_DETAIL_BYTES 1024u
EDGECLIENT_API edge_result edge_session_last_detail(edge_session_t *session, char *detail,
                                                    size_t detail_cap, uint32_t *win32_error,
                                                    uint32_t *retry_after_s);

/*
 * For tools that speak the wire protocol themselves (edgectl's administrator verbs): sends one
 * request frame (docs/protocol.md §2) on the verified connection and returns the reply frame.
 * The library replaces the frame's request id with its own, handles notices that arrive meanwhile,
 * and returns only a reply that decodes cleanly (edge_msg_decode rules) and answers this request.
 * The reply's status is the caller's to interpret; the call returns EDGE_OK whenever a valid reply
 * arrived (even one carrying an error status).
 *
 * request/request_len: a complete frame, 20..65536 bytes, REPLY flag clear, type 1..16, not HELLO.
 * reply/reply_len:     receive a copy of the reply frame; free with edge_free.
 * Returns EDGE_OK; EDGE_CLIENT_E_INVALID_ARG (not a request frame); EDGE_CLIENT_E_NO_MEMORY; any
 * connection error; EDGE_CLIENT_E_TIMEOUT; EDGE_CLIENT_E_PROTOCOL; EDGE_CLIENT_E_CLOSED.
 * Thread-safe.
 */
EDGECLIENT_API edge_result edge_session_transact(edge_session_t *session, const void *request,
                                                 size_t request_len, uint32_t timeout_ms,
                                                 void **reply, size_t *reply_len);

/* Frees memory returned by edge_session_transact.  NULL is ignored.  Thread-safe. */
EDGECLIENT_API void edge_free(void *p);

/* ==== leases ================================================================================== */

#define EDGE_PROTOCOL_TCP 6u
#define EDGE_PROTOCOL_UDP 17u

/* Request flags. */
/* The lease survives the application's exit (otherwise the service ends it when the process
 * exits).  Sent to the service; policy may refuse it. */
#define EDGE_REQUEST_F_KEEP_AFTER_EXIT 0x1u
/* The library renews the lease on its session thread at about half the remaining time, until
 * edge_lease_release or edge_lease_free.  Each outcome is reported as EDGE_EVENT_LEASE_RENEWED. */
#define EDGE_REQUEST_F_AUTO_RENEW 0x100u
/* When the lease ends without the application asking (revoked, expired, lost in a restart), the
 * library asks for the same parameters again from its session thread, repeating while the answer
 * is transient (EDGE_PENDING_CONSENT included, after the service's retry-after), and reports the
 * final outcome as EDGE_EVENT_LEASE_REREQUESTED. */
#define EDGE_REQUEST_F_REREQUEST 0x200u

#define EDGE_MAX_SIGNED_REQUEST_BYTES 4096u
#define EDGE_MAX_LEASE_SECONDS        31536000u

/* What to ask for.  Initialise with edge_lease_params_init, then set the fields. */
typedef struct edge_lease_params {
    uint32_t size;     /* sizeof(edge_lease_params); set by edge_lease_params_init */
    uint32_t protocol; /* EDGE_PROTOCOL_TCP or EDGE_PROTOCOL_UDP */
    uint16_t port_lo;  /* 1..65535 */
    uint16_t port_hi;  /* 0: just port_lo; else port_lo..65535, the range port_lo..port_hi */
    uint32_t seconds;  /* lease length 1..EDGE_MAX_LEASE_SECONDS; 0: the policy default.  Policy
                          may shorten it: read edge_lease_expires() */
    uint32_t flags;    /* EDGE_REQUEST_F_*; unknown bits are refused */
    const void *signed_request; /* optional blob from `edgectl sign`; NULL for none; copied */
    size_t signed_request_len;  /* 1..EDGE_MAX_SIGNED_REQUEST_BYTES when signed_request is set */
    const char *target_app;     /* UTF-8 path of another executable (elevated administrators only);
                                   NULL: the calling executable, which is what applications want */
} edge_lease_params;

/* Fills *params with the defaults (size set, everything else 0/NULL).  Thread-safe. */
EDGECLIENT_API void edge_lease_params_init(edge_lease_params *params);

/*
 * Asks for a lease and waits until it is granted, refused, or timeout_ms has passed — including
 * the time an approver takes: while the service answers EDGE_PENDING_CONSENT the library repeats
 * the identical request after the service's retry-after (docs/protocol.md §9.5).
 *
 * out: receives the lease (also with a warning result).  Release on the service with
 *      edge_lease_release; free the handle with edge_lease_free.
 * Returns EDGE_OK; EDGE_CLIENT_W_INEFFECTIVE (granted, *out set, but not working now: warn the
 * user, see edge_lease_warnings); EDGE_PENDING_CONSENT (the timeout ran out while consent was still
 * pending — the service keeps the request, so calling again with the same parameters continues the
 * wait); the service's refusal (EDGE_E_DENIED, EDGE_E_CONSENT_DENIED, EDGE_E_CONFLICT,
 * EDGE_E_QUOTA, EDGE_E_ACCESS_DENIED, EDGE_E_BAD_SIGNATURE, EDGE_E_EXPIRED, EDGE_E_FIREWALL*, ...);
 * EDGE_CLIENT_E_INVALID_ARG; EDGE_CLIENT_E_NO_MEMORY; EDGE_CLIENT_E_CLOSED; connection errors
 * (EDGE_CLIENT_E_NO_SERVICE, _FAKE_SERVER, _TIMEOUT, _DISCONNECTED, _PROTOCOL, ...).
 * Thread-safe.
 */
EDGECLIENT_API edge_result edge_lease_request(edge_session_t *session,
                                              const edge_lease_params *params, uint32_t timeout_ms,
                                              edge_lease_t **out);

/*
 * Completion callback of edge_lease_request_async: result and lease exactly as edge_lease_request
 * would return them; the callback owns `lease` (NULL unless EDGE_SUCCEEDED(result)) and frees it
 * with edge_lease_free.  Runs once, on a library thread.
 */
typedef void (*edge_lease_done_fn)(void *context, edge_result result, edge_lease_t *lease);

/*
 * Starts edge_lease_request on a library thread and returns at once; `done` is called exactly once
 * when it finishes (also when the session is closed meanwhile: EDGE_CLIENT_E_CLOSED, called before
 * edge_session_close returns).  params is copied.
 * Returns EDGE_OK (done will be called), EDGE_CLIENT_E_INVALID_ARG, EDGE_CLIENT_E_NO_MEMORY,
 * EDGE_CLIENT_E_CLOSED, EDGE_CLIENT_E_SYSTEM (no thread) — in these cases done is never called.
 * Thread-safe.
 */
EDGECLIENT_API edge_result edge_lease_request_async(edge_session_t *session,
                                                    const edge_lease_params *params,
                                                    uint32_t timeout_ms, edge_lease_done_fn done,
                                                    void *context);

/*
 * Extends the lease: seconds 1..EDGE_MAX_LEASE_SECONDS from now, or 0 for its original length
 * (policy may shorten it).  The lease's expiry, state and warnings are updated.
 * Returns EDGE_OK; EDGE_CLIENT_W_INEFFECTIVE; EDGE_E_NOT_FOUND (the lease is gone: it is now ENDED
 * and EDGE_EVENT_LEASE_LOST is reported); EDGE_CLIENT_E_LEASE_ENDED (already ended locally);
 * EDGE_CLIENT_E_INVALID_ARG; EDGE_CLIENT_E_CLOSED; service refusals; connection errors.
 * Thread-safe.
 */
EDGECLIENT_API edge_result edge_lease_renew(edge_lease_t *lease, uint32_t seconds,
                                            uint32_t timeout_ms);

/*
 * Ends the lease on the service (the firewall rule is removed) and stops its automatic renewal.
 * The handle stays valid (state ENDED) until edge_lease_free.  Releasing an ENDED lease, or one the
 * service no longer knows (EDGE_E_NOT_FOUND), returns EDGE_OK: the outcome the caller wanted.
 * Sockets enabled with this lease keep their option: call edge_socket_disable or close them.
 * Returns EDGE_OK; EDGE_CLIENT_E_INVALID_ARG; EDGE_CLIENT_E_CLOSED; service refusals
 * (EDGE_E_ACCESS_DENIED); connection errors.  Thread-safe.
 */
EDGECLIENT_API edge_result edge_lease_release(edge_lease_t *lease, uint32_t timeout_ms);

/*
 * Frees the handle and stops automatic renewal; does NOT release the lease on the service (use
 * edge_lease_release first).  NULL is ignored.  Must not be called while another thread still uses
 * the same handle.  Not for leases obtained from an edge_lease_list_t (freed with the list).
 */
EDGECLIENT_API void edge_lease_free(edge_lease_t *lease);

/*
 * Opens a handle on an existing lease by id (SHOW): for tools that renew or release a lease they
 * did not request in this process.  id_hex: 32 hex digits (either case).
 * out: free with edge_lease_free.  Returns EDGE_OK; EDGE_E_NOT_FOUND; EDGE_E_ACCESS_DENIED (not
 * yours and not an elevated administrator); EDGE_CLIENT_E_INVALID_ARG; connection errors.
 * Thread-safe.
 */
EDGECLIENT_API edge_result edge_lease_open(edge_session_t *session, const char *id_hex,
                                           uint32_t timeout_ms, edge_lease_t **out);

/* Lease states (edge_lease_state). */
#define EDGE_STATE_ACTIVE      1u /* the rule is in place */
#define EDGE_STATE_INEFFECTIVE 2u /* the rule is in place but defeated (firewall/policy/Teredo) */
#define EDGE_STATE_REPAIRING   3u /* the rule went missing or was altered and is being restored */
#define EDGE_STATE_ENDED       4u /* released, expired, revoked or lost: no rule */

/* Warning bits (edge_lease_warnings), from the service's last reply about the lease. */
#define EDGE_WARNING_FIREWALL_OFF        0x1u /* the firewall is off in a current profile */
#define EDGE_WARNING_LOCAL_RULES_IGNORED 0x2u /* Group Policy ignores local rules (ours too) */
#define EDGE_WARNING_TEREDO_UNAVAILABLE  0x4u /* no Teredo interface: nothing arrives over it */

#define EDGE_LEASE_ID_CHARS 33u /* 32 hex digits + NUL */

/*
 * Lease accessors.  They read the library's copy (updated by request, renew, release, open,
 * notices and automatic actions) and never talk to the service.  Thread-safe.  With a NULL lease
 * the numeric ones return 0 and the others EDGE_CLIENT_E_INVALID_ARG.
 */
/* The lease id as 32 lower-case hex digits; id_cap >= EDGE_LEASE_ID_CHARS.  Returns EDGE_OK,
 * EDGE_CLIENT_E_INVALID_ARG, EDGE_CLIENT_E_BUFFER_TOO_SMALL. */
EDGECLIENT_API edge_result edge_lease_id(const edge_lease_t *lease, char *id, size_t id_cap);
/* The application the rule is for (UTF-8 path).  Same returns as edge_lease_id; a path needs at
 * most 4097 bytes. */
EDGECLIENT_API edge_result edge_lease_image_path(const edge_lease_t *lease, char *path,
                                                 size_t path_cap);
/* The owner's SID string ("S-1-5-21-..."); at most 257 bytes.  Same returns as edge_lease_id. */
EDGECLIENT_API edge_result edge_lease_owner_sid(const edge_lease_t *lease, char *sid,
                                                size_t sid_cap);
EDGECLIENT_API uint32_t edge_lease_protocol(const edge_lease_t *lease); /* EDGE_PROTOCOL_* */
EDGECLIENT_API uint16_t edge_lease_port_lo(const edge_lease_t *lease);
EDGECLIENT_API uint16_t edge_lease_port_hi(const edge_lease_t *lease);  /* == lo for one port */
EDGECLIENT_API uint64_t edge_lease_created(const edge_lease_t *lease);  /* Unix seconds, UTC */
EDGECLIENT_API uint64_t edge_lease_expires(const edge_lease_t *lease);  /* Unix seconds, UTC */
EDGECLIENT_API uint32_t edge_lease_state(const edge_lease_t *lease);    /* EDGE_STATE_* */
EDGECLIENT_API uint32_t edge_lease_warnings(const edge_lease_t *lease); /* EDGE_WARNING_* */
/* The flags the service recorded (EDGE_REQUEST_F_KEEP_AFTER_EXIT) plus the library's own
 * EDGE_REQUEST_F_AUTO_RENEW / _REREQUEST as requested. */
EDGECLIENT_API uint32_t edge_lease_flags(const edge_lease_t *lease);
/* 1 = ALLOW, 2 = DEFER_TO_APP (NET_FW_EDGE_TRAVERSAL_TYPE of the rule). */
EDGECLIENT_API uint32_t edge_lease_edge_option(const edge_lease_t *lease);

/* ==== listing ================================================================================= */

typedef struct edgeclient_lease_list edge_lease_list_t;

#define EDGE_LIST_F_ALL 0x1u /* every user's leases (elevated administrators only) */

/*
 * Lists the caller's leases (or everyone's with EDGE_LIST_F_ALL), following the service's paging
 * cursor until the end, within one timeout.
 * out: free with edge_lease_list_free.  Returns EDGE_OK; EDGE_E_ACCESS_DENIED (ALL without
 * elevation); EDGE_CLIENT_E_INVALID_ARG; EDGE_CLIENT_E_NO_MEMORY; EDGE_CLIENT_E_PROTOCOL (more than
 * 1,000,000 leases or a cursor that never ends); connection errors.  Thread-safe.
 */
EDGECLIENT_API edge_result edge_lease_list(edge_session_t *session, uint32_t flags,
                                           uint32_t timeout_ms, edge_lease_list_t **out);
/* Number of leases in the list (0 for NULL). */
EDGECLIENT_API size_t edge_lease_list_count(const edge_lease_list_t *list);
/* The index-th lease, owned by the list (valid until edge_lease_list_free; do not
 * edge_lease_free it).  It can be renewed or released like any lease.  NULL when out of range. */
EDGECLIENT_API edge_lease_t *edge_lease_list_at(const edge_lease_list_t *list, size_t index);
/* Frees the list and its leases.  NULL is ignored. */
EDGECLIENT_API void edge_lease_list_free(edge_lease_list_t *list);

/* ==== sockets ================================================================================= */

/*
 * Sets IPV6_PROTECTION_LEVEL = PROTECTION_LEVEL_UNRESTRICTED (10) on `sock` (a Winsock SOCKET),
 * after checking that `lease` covers it:
 *   - the socket's address family is AF_INET6,
 *   - its protocol (TCP for SOCK_STREAM, UDP for SOCK_DGRAM) equals the lease's,
 *   - if the socket is bound: its local port lies in the lease's port range.  An unbound socket
 *     has no port yet: the option is set, and the caller must then bind it to a port of the lease
 *     (the firewall rule admits only those ports, so another port gets no edge traffic) — or use
 *     edge_socket_enable_and_bind, which does both and cannot get it wrong,
 *   - the lease is confirmed: state EDGE_STATE_ACTIVE and not past its expiry.
 * Set the option BEFORE bind: packets that arrive between bind and the option are treated as
 * edge-restricted.
 * Returns EDGE_OK; EDGE_CLIENT_W_ALREADY_BOUND (the socket was bound: option set anyway, see
 * above); EDGE_CLIENT_E_NOT_COVERED (wrong family, protocol or port, or the lease is not ACTIVE
 * or has expired: nothing was changed); EDGE_CLIENT_E_SOCKET (not a socket; GetLastError() has the
 * WSA error); EDGE_CLIENT_E_INVALID_ARG (NULL lease).
 * Thread-safe (as thread-safe as the socket: do not bind it concurrently).
 */
EDGECLIENT_API edge_result edge_socket_enable(const edge_lease_t *lease, uintptr_t sock);

/*
 * edge_socket_enable on an unbound socket, then bind() to [::]:port.  port must be in the lease's
 * range; 0 means the lease's first port.  Returns as edge_socket_enable, plus
 * EDGE_CLIENT_E_NOT_COVERED for a port outside the range or an already bound socket (nothing
 * changed), and EDGE_CLIENT_E_SOCKET when bind fails (e.g. WSAEADDRINUSE in GetLastError(); the
 * option stays set on the unbound socket).  Thread-safe as edge_socket_enable.
 */
EDGECLIENT_API edge_result edge_socket_enable_and_bind(const edge_lease_t *lease, uintptr_t sock,
                                                       uint16_t port);

/*
 * Restores the protection level on an AF_INET6 socket to PROTECTION_LEVEL_EDGERESTRICTED (20): the
 * documented level that excludes Teredo traversal (Windows 7+ report an unspecified default,
 * which cannot be set back explicitly).  Use it when a lease ends and the socket stays open.
 * Returns EDGE_OK; EDGE_CLIENT_E_NOT_COVERED (not AF_INET6); EDGE_CLIENT_E_SOCKET.  Thread-safe.
 */
EDGECLIENT_API edge_result edge_socket_disable(uintptr_t sock);

#ifdef __cplusplus
}
#endif

#endif /* EDGECLIENT_H */
