/*
 * Service-wide constants of edgebroker.exe: names, limits and timeouts.
 *
 * Limits are deliberately small: every one of them bounds what an unprivileged local user can make
 * a LocalSystem process spend.  Tests shorten the timeouts through struct pipe_server_config
 * (pipe_server.h); the values here are the production defaults.
 */
#ifndef EDGE_SVC_CONFIG_H
#define EDGE_SVC_CONFIG_H

/* Names (DESIGN.md, "Names"). */
#define SVC_NAME         L"EdgeBroker"
#define SVC_DISPLAY_NAME L"Edge Traversal Broker"
#define SVC_DESCRIPTION                                                                            \
    L"Creates Windows Firewall rules with Edge Traversal for applications that ask over a local "  \
    L"named pipe, under central policy and consent."
#define SVC_PIPE_NAME L"\\\\.\\pipe\\EdgeBroker"

/*
 * Single-instance guard.  Global\ so that a console instance in a user session and the service in
 * session 0 see the same object.
 */
#define SVC_INSTANCE_MUTEX L"Global\\EdgeBroker.Instance"

/*
 * Privileges the service keeps (SERVICE_CONFIG_REQUIRED_PRIVILEGES_INFO); the SCM strips every
 * other privilege from the LocalSystem token.  Multi-string: each name NUL-terminated, list ends
 * with an extra NUL.
 *   SeChangeNotifyPrivilege  - bypass traverse checking; needed to open image files and
 *                              %ProgramData% paths through directories SYSTEM cannot list.
 *   SeImpersonatePrivilege   - ImpersonateNamedPipeClient at impersonation level, to capture the
 *                              caller's token (caller.c); consent may act as the interactive user.
 *   SeAuditPrivilege         - lets audit.c write security audits (AuthzReportSecurityEvent).
 */
#define SVC_REQUIRED_PRIVILEGES                                                                    \
    L"SeChangeNotifyPrivilege\0SeImpersonatePrivilege\0SeAuditPrivilege\0"

/* Recovery: restart after 5 s, 10 s, 60 s; reset the failure count after one day. */
#define SVC_RESTART_DELAY_1_MS 5000u
#define SVC_RESTART_DELAY_2_MS 10000u
#define SVC_RESTART_DELAY_3_MS 60000u
#define SVC_FAILURE_RESET_S    86400u

/* Wait hint reported to the SCM while starting or stopping. */
#define SVC_WAIT_HINT_MS 3000u

/* Pipe server defaults (pipe_server_config_init). */
#define PIPE_DEFAULT_PENDING_INSTANCES 4u   /* ConnectNamedPipe calls kept posted */
#define PIPE_DEFAULT_MAX_CONNECTIONS   512u /* all users together */
#define PIPE_DEFAULT_MAX_PER_USER      32u  /* one user SID */
#define PIPE_DEFAULT_MAX_FRAME         (64u * 1024u)
#define PIPE_INITIAL_READ_BUFFER       4096u /* grown up to max_frame on ERROR_MORE_DATA */

/*
 * A client must send its first frame within the handshake timeout and, once idle, some frame
 * within the idle timeout; otherwise it is dropped.  Leases do not depend on the connection (they
 * end with the client process), so dropping an idle client costs it only a reconnect.
 */
#define PIPE_DEFAULT_HANDSHAKE_TIMEOUT_MS 10000u
#define PIPE_DEFAULT_IDLE_TIMEOUT_MS      300000u

/* Per-user token bucket: burst of RATE_BURST requests, refilled at RATE_PER_SEC. */
#define PIPE_DEFAULT_RATE_BURST   40u
#define PIPE_DEFAULT_RATE_PER_SEC 20u

/*
 * Local configuration of the limits above (HKLM\SOFTWARE\EdgeBroker, 64-bit view, REG_DWORD), read
 * once at start (service.c).  A value outside its bounds, of another type or size, is ignored with
 * a warning and the default above applies; MaxConnectionsPerUser is then clamped to MaxConnections.
 * The bounds keep a mistyped value from disabling a limit (0) or from letting one user pin the
 * service (huge timeouts, thousands of instances at up to max_frame bytes each).  Not Group Policy:
 * they size the service to the machine, they do not decide who gets a rule (docs/policy.md,
 * "Service limits (local configuration)").
 */
#define SVC_LIMITS_KEY                L"SOFTWARE\\EdgeBroker"
#define SVC_LIMIT_RATE_PER_SEC_MIN    1u
#define SVC_LIMIT_RATE_PER_SEC_MAX    100000u
#define SVC_LIMIT_RATE_BURST_MIN      1u
#define SVC_LIMIT_RATE_BURST_MAX      100000u
#define SVC_LIMIT_MAX_PER_USER_MIN    1u
#define SVC_LIMIT_MAX_PER_USER_MAX    4096u
#define SVC_LIMIT_MAX_CONNECTIONS_MIN 1u
#define SVC_LIMIT_MAX_CONNECTIONS_MAX 4096u
#define SVC_LIMIT_HANDSHAKE_MS_MIN    100u
#define SVC_LIMIT_HANDSHAKE_MS_MAX    600000u /* 10 min */
#define SVC_LIMIT_IDLE_MS_MIN         1000u
#define SVC_LIMIT_IDLE_MS_MAX         86400000u /* 1 day */

/* Stop: how long to wait for in-flight handlers after cancelling I/O. */
#define PIPE_DEFAULT_DRAIN_TIMEOUT_MS 3000u

/* Worker threads on the completion port (clamped to the number of processors, at least 2). */
#define PIPE_MIN_WORKERS 2u
#define PIPE_MAX_WORKERS 4u

/* Image-hash cache (caller.c): entries, and how long an entry is believed. */
#define CALLER_CACHE_ENTRIES    128u
#define CALLER_CACHE_MAX_AGE_MS (10u * 60u * 1000u)

#endif /* EDGE_SVC_CONFIG_H */
