/*
 * A fake EdgeBroker for edgectl's golden tests: one thread serving a unique message-mode pipe
 * with fixed replies built by the real codec (edge/protocol.h).  Times that edgectl shows as
 * "time left" are computed from the clock at reply time with a 30-second margin, so the rounded
 * durations edgectl prints are stable.  An ordinary process serves the pipe, so edgectl must be
 * run with --insecure-test-server — or be refused, which is what the fake-server test checks.
 */
#ifndef EDGECTL_TEST_FAKE_SERVER_H
#define EDGECTL_TEST_FAKE_SERVER_H

#include <windows.h>

#include <stdbool.h>
#include <stdint.h>

#include "edge/protocol.h"

/* Lease ids of the fixed table (32 hex digits). */
#define FAKE_L1       "11111111111111111111111111111111" /* tcp 50123, active, own */
#define FAKE_L2       "22222222222222222222222222222222" /* udp 50000-50010, ineffective, own */
#define FAKE_L3       "33333333333333333333333333333333" /* tcp 8080, repairing, other user */
#define FAKE_NEW      "44444444444444444444444444444444" /* the lease a REQUEST grants */
#define FAKE_PENDING  "55555555555555555555555555555555" /* the pending id */
#define FAKE_PENDING2 "66666666666666666666666666666666" /* second pending request (2nd page) */

struct fake_server {
    char name[64];     /* short pipe name: edgectl-test-<pid>-<n> */
    wchar_t wpipe[96]; /* \\.\pipe\<name> */
    /* Behaviour; set before the child runs. */
    uint32_t status[17];       /* per message type: non-zero answers that status instead */
    const char *detail;        /* detail of those error replies */
    uint32_t win32_error;      /* of those error replies */
    uint32_t retry_after;      /* of those error replies (and of PENDING_CONSENT) */
    bool grant_ineffective;    /* REQUEST grants an INEFFECTIVE lease with warnings */
    bool doctor_effective;     /* DOCTOR says rules_effective on (default off) */
    bool pending_empty;        /* PENDING lists nothing (default: two requests on two pages) */
    uint32_t explain_decision; /* EXPLAIN's decision (default EDGE_OK) */
    /* Seen */
    unsigned requests[17];
    char seen_reason[256];    /* reason of the last DENY or REVOKE */
    uint32_t seen_signed_len; /* signed_request length of the last REQUEST or EXPLAIN */
    bool seen_target_app;     /* the last REQUEST or EXPLAIN named target_app */
    /* private */
    HANDLE thread;
    volatile LONG stop;
};

/* Starts serving; asserts (cmocka) on failure. */
struct fake_server *fake_server_start(void);
/* Stops the thread and frees the server.  NULL is ignored. */
void fake_server_stop(struct fake_server *fs);

#endif /* EDGECTL_TEST_FAKE_SERVER_H */
