/*
 * Throughput of the installed service (edge_bench, docs/performance.md): 1, 8, 32 and 64 clients,
 * each a thread with its own hello'd connection, sending PING back to back (no pacing) for a fixed
 * time after a common start signal.  Counted: EDGE_OK replies per second over the window, and
 * BUSY replies (the per-user rate limit or connection cap; run-bench raises both through
 * HKLM\SOFTWARE\EdgeBroker, since under Wine every client is the same user).
 */
#include "bench.h"

#include <stdlib.h>
#include <string.h>

#define TPUT_MAX_CLIENTS 64u

struct tput_client {
    itc *c;
    HANDLE start;
    volatile LONG *stop;
    uint64_t ok, busy, failed;
};

static DWORD WINAPI tput_thread(void *arg)
{
    struct tput_client *t = arg;
    uint8_t payload[32];
    edge_msg req, rep;

    memset(payload, 0x42, sizeof(payload));
    WaitForSingleObject(t->start, INFINITE);
    while (!*t->stop) {
        memset(&req, 0, sizeof(req));
        req.type = EDGE_MSG_PING;
        req.u.ping.payload.ptr = payload;
        req.u.ping.payload.len = sizeof(payload);
        if (itc_call(t->c, &req, &rep, ITEST_IO_MS) != ERROR_SUCCESS) {
            t->failed++;
            break;
        }
        if (rep.env.status == EDGE_OK)
            t->ok++;
        else if (rep.env.status == EDGE_E_BUSY)
            t->busy++;
        else
            t->failed++;
    }
    return 0;
}

/* One round with N clients; *rps the EDGE_OK replies per second.  False when it could not run. */
static bool tput_round(unsigned n, double seconds, double *rps, uint64_t *busy)
{
    static struct tput_client cl[TPUT_MAX_CLIENTS];
    HANDLE th[TPUT_MAX_CLIENTS];
    HANDLE start = CreateEventW(NULL, TRUE, FALSE, NULL);
    volatile LONG stop = 0;
    unsigned i, made = 0;
    uint64_t ok = 0, failed = 0;
    double t0, t1;

    *rps = 0;
    *busy = 0;
    if (!start)
        return false;
    memset(cl, 0, sizeof(cl));
    for (i = 0; i < n; i++) {
        cl[i].c = itc_new();
        cl[i].start = start;
        cl[i].stop = &stop;
        if (!cl[i].c || itc_connect(cl[i].c, 10000) != ERROR_SUCCESS)
            break;
        /* BUSY must be counted, not waited out: that would hide the limit. */
        cl[i].c->no_busy_wait = true;
        th[i] = CreateThread(NULL, 0, tput_thread, &cl[i], 0, NULL);
        if (!th[i])
            break;
        made++;
    }
    if (made == n) {
        t0 = bench_now_us();
        SetEvent(start);
        Sleep((DWORD)(seconds * 1000.0));
        InterlockedExchange((LONG *)&stop, 1);
        WaitForMultipleObjects(made, th, TRUE, 30000);
        t1 = bench_now_us();
    } else {
        fprintf(stderr, "edge_bench: only %u of %u throughput clients connected\n", made, n);
        InterlockedExchange((LONG *)&stop, 1);
        SetEvent(start);
        if (made)
            WaitForMultipleObjects(made, th, TRUE, 30000);
        t0 = t1 = 0;
    }
    for (i = 0; i < n; i++) {
        if (i < made) {
            CloseHandle(th[i]);
            ok += cl[i].ok;
            *busy += cl[i].busy;
            failed += cl[i].failed;
        }
        itc_free(cl[i].c);
    }
    CloseHandle(start);
    if (made != n || t1 <= t0)
        return false;
    *rps = (double)ok * 1e6 / (t1 - t0);
    if (failed)
        fprintf(stderr, "edge_bench: %llu throughput requests failed with %u clients\n",
                (unsigned long long)failed, n);
    return true;
}

bool bench_throughput(double seconds)
{
    static const unsigned counts[] = {1, 8, 32, 64};
    double one = 0;
    bool ok = true;
    unsigned i;

    for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        char name[48];
        double rps = 0;
        uint64_t busy = 0;
        Sleep(500); /* let the previous round's connections close */
        if (!tput_round(counts[i], seconds, &rps, &busy)) {
            ok = false;
            continue;
        }
        if (counts[i] == 1)
            one = rps;
        snprintf(name, sizeof(name), "tput_%u_client%s", counts[i], counts[i] == 1 ? "" : "s");
        bench_add(name, rps, "req/s", 0);
        printf("  throughput %2u clients: %8.0f req/s (%.2f x one client), %llu BUSY\n", counts[i],
               rps, one > 0 ? rps / one : 0, (unsigned long long)busy);
        if (counts[i] > 1 && one > 0) {
            snprintf(name, sizeof(name), "tput_%u_clients_x_one", counts[i]);
            bench_add(name, rps / one, "ratio", 0);
        }
        snprintf(name, sizeof(name), "tput_%u_busy", counts[i]);
        bench_add(name, (double)busy, "count", 0);
    }
    return ok;
}
