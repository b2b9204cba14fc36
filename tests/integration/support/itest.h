/*
 * Support for the service integration tests and the benchmark: a minimal protocol client for
 * \\.\pipe\EdgeBroker, control of the installed EdgeBroker service through the SCM API, and
 * reads of the firewall double's store.
 *
 * Nothing here uses cmocka: the benchmark and the fixture tool link it too.  Every wait is
 * bounded; every function returns a Win32 error (ERROR_SUCCESS, WAIT_TIMEOUT for an expired
 * bound, ERROR_INVALID_DATA for a reply that does not decode or does not match its request).
 * Reply statuses (edge_status) are returned separately, never mixed with Win32 errors.
 */
#ifndef EDGE_ITEST_H
#define EDGE_ITEST_H

#include <windows.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edge/protocol.h"

#define ITEST_PIPE    L"\\\\.\\pipe\\EdgeBroker"
#define ITEST_SERVICE L"EdgeBroker"
#define ITEST_GROUP   L"EdgeBroker"
#define ITEST_IO_MS   5000u /* default bound on one send or receive */

/* ---- client (itest_client.c) ------------------------------------------------------------- */

/* One client connection.  Large: allocate it (itc_new) rather than putting it on the stack. */
typedef struct itc {
    HANDLE h;
    HANDLE ev; /* overlapped I/O event, reused */
    uint32_t next_id;
    uint8_t epoch[EDGE_ID_SIZE]; /* from the last reply */
    unsigned busy_retries;       /* EDGE_E_BUSY answers absorbed by itc_call */
    bool no_busy_wait;           /* itc_call hands EDGE_E_BUSY back instead of waiting it out */
    uint8_t buf[EDGE_FRAME_MAX]; /* last reply; views in decoded replies point here */
} itc;

/* A lease copied out of a reply (strings NUL-terminated). */
typedef struct itest_lease {
    uint8_t id[EDGE_ID_SIZE];
    char owner_sid[EDGE_MAX_SID + 1];
    char image_path[EDGE_MAX_PATH + 1];
    uint8_t protocol;
    uint16_t port_lo, port_hi;
    uint8_t edge_option;
    uint64_t created, expires;
    uint32_t flags;
    uint8_t state;
} itest_lease;

/* Allocates a closed client (h == INVALID_HANDLE_VALUE); NULL when out of memory. */
itc *itc_new(void);
/* Closes and frees; NULL is ignored. */
void itc_free(itc *c);

/*
 * Opens PIPE (NULL: ITEST_PIPE) as the product's client does: SECURITY_SQOS_PRESENT |
 * SECURITY_IDENTIFICATION, overlapped, message read mode.  Retries ERROR_PIPE_BUSY and
 * ERROR_FILE_NOT_FOUND (service starting) until TIMEOUT_MS.
 */
DWORD itc_open(itc *c, const wchar_t *pipe, DWORD timeout_ms);
void itc_close(itc *c);

/* Raw overlapped I/O on H with a bound; a timed-out operation is cancelled before returning. */
DWORD itest_pipe_io(HANDLE h, HANDLE ev, bool write, void *buf, DWORD n, DWORD *done, DWORD ms);
DWORD itc_send_raw(itc *c, const void *p, size_t n, DWORD ms);
/* Receives one message into c->buf; *GOT its length. */
DWORD itc_recv_raw(itc *c, DWORD *got, DWORD ms);

/*
 * Sends REQ (its request_id is assigned here), receives the reply to it (notices are skipped)
 * and decodes it into *REP (views into c->buf, valid until the next call on C).  An
 * EDGE_E_BUSY reply is waited out (retry_after) and the request resent, until MS expires, unless
 * c->no_busy_wait is set.
 */
DWORD itc_call(itc *c, edge_msg *req, edge_msg *rep, DWORD ms);

/* HELLO for version 1; *STATUS the reply status.  itc_connect = open + hello answered OK. */
DWORD itc_hello(itc *c, uint32_t *status);
DWORD itc_connect(itc *c, DWORD timeout_ms);

/* PING with PAYLOAD (may be NULL/0); checks that the echo matches. */
DWORD itc_ping(itc *c, const void *payload, uint32_t len, uint32_t *status);

/* Lease verbs.  OUT (optional) receives the lease of an EDGE_OK reply. */
DWORD itc_request(itc *c, const edge_lease_req *r, uint32_t *status, itest_lease *out);
DWORD itc_renew(itc *c, const uint8_t id[EDGE_ID_SIZE], uint32_t seconds, uint32_t *status,
                itest_lease *out);
DWORD itc_release(itc *c, const uint8_t id[EDGE_ID_SIZE], uint32_t *status);
/* LIST with FLAGS, following cursors; *OUT is malloc'd (free()), *N its length. */
DWORD itc_list(itc *c, uint32_t flags, uint32_t *status, itest_lease **out, size_t *n);

/* A REQUEST body for one port, no optional fields. */
edge_lease_req itest_lease_req(uint8_t protocol, uint16_t port);

/* Copies a decoded lease record. */
void itest_lease_copy(itest_lease *dst, const edge_lease *src);

/* ---- service control (itest_scm.c) ------------------------------------------------------- */

/* Current SCM state (SERVICE_RUNNING, ...) and process id (0 when none). */
DWORD itest_svc_query(DWORD *state, DWORD *pid);

/* Polls QueryServiceStatusEx until the service reaches WANT or MS expires. */
DWORD itest_svc_wait_state(DWORD want, DWORD ms);

/* Waits until the pipe answers HELLO with EDGE_OK (fresh connection per attempt). */
DWORD itest_wait_ready(DWORD ms);

/* StartService (already running is fine), then RUNNING, then itest_wait_ready, within MS. */
DWORD itest_svc_start(DWORD ms);

/* ControlService(STOP) and poll until STOPPED; *ELAPSED_MS (optional) from the control call. */
DWORD itest_svc_stop(DWORD ms, DWORD *elapsed_ms);

/*
 * TerminateProcess on the service's PID (as a crash would end it) and wait until that process has
 * exited.  Windows' SCM then reports STOPPED; Wine 8's keeps reporting RUNNING with the dead PID
 * (itest_svc_start still works: Wine checks the process handle before refusing a start).
 */
DWORD itest_svc_kill(DWORD ms);

/* Full Windows path of a file beside this executable (build outputs share one directory). */
DWORD itest_sibling_path(const wchar_t *file, wchar_t *out, size_t out_chars);

/* ---- firewall double (itest_fw.c) -------------------------------------------------------- */

/*
 * %ProgramData% as a service sees it: the system environment block (CreateEnvironmentBlock with
 * no token), which the SCM gives services.  Under Wine 8 it is C:\users\Public, not the
 * C:\ProgramData of an ordinary process, so the service's state, audit trail and firewall-double
 * store must be looked for there.  itest_service_data_path appends "\REL".
 */
DWORD itest_service_programdata(wchar_t *out, size_t out_chars);
DWORD itest_service_data_path(const wchar_t *rel, wchar_t *out, size_t out_chars);

/* Points this process's firewall-double control library at the store the service uses.  Call
 * before the first fwdc_* call. */
DWORD itest_fw_use_service_store(void);

/* "EdgeBroker lease <32 lowercase hex>" */
void itest_rule_name(const uint8_t id[EDGE_ID_SIZE], wchar_t *out, size_t out_chars);

/* Number of rules in the EdgeBroker group; -1 on a store error. */
long itest_fw_group_count(void);

/* Polls the store until the lease's rule is present (WANT) or absent (!WANT), within MS. */
bool itest_fw_wait_rule(const uint8_t id[EDGE_ID_SIZE], bool want, DWORD ms);

/* Lowercase hex of an id into OUT (33 chars). */
void itest_hex_id(const uint8_t id[EDGE_ID_SIZE], char out[2 * EDGE_ID_SIZE + 1]);

#endif /* EDGE_ITEST_H */
