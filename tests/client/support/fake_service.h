/*
 * An in-process stand-in for the EdgeBroker service, for the client library's tests: one thread
 * serving a uniquely named message-mode pipe with the real codec (edge/protocol.h), a small lease
 * table, and knobs to misbehave (never answer, answer garbage, ask for consent, refuse, send
 * notices, "restart" with a new epoch).  It is an ordinary process's pipe, so a client must open
 * it with EDGE_SESSION_F_TRUST_ANY_SERVER_FOR_TESTING — which is exactly what the fake-server
 * refusal test relies on.
 */
#ifndef EDGE_TEST_FAKE_SERVICE_H
#define EDGE_TEST_FAKE_SERVICE_H

#include <windows.h>

#include <stdbool.h>
#include <stdint.h>

#include "edge/protocol.h"

enum fake_mode {
    FAKE_NORMAL = 0,
    FAKE_SILENT = 1,   /* reads requests, never answers */
    FAKE_GARBAGE = 2,  /* answers every request with bytes that are not a frame */
    FAKE_WRONG_ID = 3, /* answers with a valid reply carrying another request id */
};

#define FAKE_MAX_LEASES 64

struct fake_lease {
    bool used;
    uint8_t id[EDGE_ID_SIZE];
    uint8_t protocol;
    uint16_t lo, hi;
    uint32_t flags;
    uint64_t created, expires;
    uint8_t state;
};

/* Knobs and counters; change them under fake_lock/fake_unlock while the server runs. */
struct fake_config {
    enum fake_mode mode; /* for every request after HELLO (HELLO follows hello_mode) */
    enum fake_mode hello_mode;
    uint32_t hello_status;   /* EDGE_OK, or an error to answer HELLO with */
    unsigned pending_polls;  /* REQUESTs answered PENDING_CONSENT before the grant */
    uint32_t retry_after;    /* with PENDING_CONSENT; 0 = absent */
    uint32_t request_status; /* non-zero: answer REQUEST with this status and detail */
    const char *detail;      /* detail text of error replies */
    uint32_t win32_error;
    uint8_t grant_state;       /* state of granted leases (default ACTIVE) */
    uint32_t grant_warnings;   /* warnings of grant replies */
    uint16_t grant_port_shift; /* added to granted ports (a lying service) */
    uint32_t lease_seconds;    /* default length when the request has none (default 3600) */
    uint32_t renew_status;     /* non-zero: answer RENEW with this status */
    unsigned list_page;        /* leases per LIST page (default 1024) */

    /* counters */
    unsigned connections, frames, hellos, requests, renews, releases, shows, lists, pings;
    bool requests_identical; /* every REQUEST body so far was byte-identical to the first */
    uint32_t last_list_flags;
    uint32_t last_renew_seconds;
};

struct fake_service {
    wchar_t pipe_name[96];
    char pipe_name_utf8[96];
    uint8_t epoch[EDGE_ID_SIZE];
    struct fake_config cfg;
    struct fake_lease leases[FAKE_MAX_LEASES];
    /* private */
    CRITICAL_SECTION lock;
    HANDLE thread, stop_ev, cmd_ev;
    HANDLE pipe, next_pipe;
    bool drop_client;              /* command: disconnect the current client */
    volatile bool stopped_serving; /* pipe closed for good (fake_stop_serving) */
    uint8_t first_request[EDGE_FRAME_MAX];
    size_t first_request_len;
    uint8_t notices[8][128];
    size_t notice_len[8];
    unsigned notice_count;
};

/* Starts a server on \\.\pipe\edgeclient-test-<pid>-<tag>-<n>. Asserts on failure. */
struct fake_service *fake_start(const char *tag);
/* Stops the server thread and frees everything. NULL ignored. */
void fake_stop(struct fake_service *fs);

void fake_lock(struct fake_service *fs);
void fake_unlock(struct fake_service *fs);

/* Queues a NOTICE to the connected client (sent at once). */
void fake_notify(struct fake_service *fs, uint8_t kind, const uint8_t lease_id[EDGE_ID_SIZE]);
/* Simulates a service restart: drops the client, draws a new epoch, forgets the leases unless
 * keep_leases. */
void fake_restart(struct fake_service *fs, bool keep_leases);
/* Simulates the service disappearing: drops the client and closes every pipe instance. */
void fake_stop_serving(struct fake_service *fs);
/* Number of leases in the table (not ENDED). */
unsigned fake_lease_count(struct fake_service *fs);
/* Removes a lease (an administrator revoke without notice). */
void fake_forget(struct fake_service *fs, const uint8_t id[EDGE_ID_SIZE]);

#endif /* EDGE_TEST_FAKE_SERVICE_H */
