/*
 * Load: 64 concurrent clients, each on its own connection, each sending OPS mixed requests to
 * the installed service, with zero errors allowed; p50/p99 latency per verb is printed
 * (docs/performance.md, "Load").  The mix is a client's life: it takes a lease first (and at
 * most two), then mostly pings (45.5 %), renews (20 %), shows (20 %) and lists (13.5 %); new
 * leases and releases are 0.5 % each.  Those two cost a firewall call (about 10 ms against the
 * double under Wine, on one COM thread), so a heavier share would measure only the double.
 *
 * OPS is 1,000 (ctest integration_load).  The long variant integration_load_long (label `long`,
 * `make check-long`) sets EDGE_LOAD_OPS=10000 and runs only when EDGE_LOAD_LONG=1; otherwise it
 * reports SKIP (exit 77) so that a plain `make check` does not spend ten minutes on it.
 *
 * The per-user limits are raised in local configuration first (all Wine processes are one user:
 * at the production 20 requests/s the whole run would be throttled) and restored afterwards.
 */
#include <windows.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fwdouble_control.h"
#include "itest.h"
#include "itest_cfg.h"

#define MAX_CLIENTS 64u
#define DEFAULT_OPS 1000u
#define PORT_BASE   30000u
#define HELD_MAX    2u

enum verb { V_PING, V_RENEW, V_SHOW, V_LIST, V_REQUEST, V_RELEASE, V_COUNT };
static const char *const verb_names[V_COUNT] = {"ping", "renew",   "show",
                                                "list", "request", "release"};

struct client {
    unsigned index, ops;
    uint32_t rng;
    uint32_t *lat[V_COUNT]; /* microseconds, one per call of the verb */
    unsigned n[V_COUNT];
    unsigned errors;
    char first_error[200];
    uint8_t held[HELD_MAX][EDGE_ID_SIZE];
    unsigned nheld, next_port;
};

static itest_cfg_saved g_saved;
static unsigned g_ops = DEFAULT_OPS;
static unsigned CLIENTS = MAX_CLIENTS;
static LARGE_INTEGER g_freq;

static uint32_t rnd(struct client *cl)
{
    cl->rng ^= cl->rng << 13;
    cl->rng ^= cl->rng >> 17;
    cl->rng ^= cl->rng << 5;
    return cl->rng;
}

static void error(struct client *cl, enum verb v, DWORD err, uint32_t st)
{
    if (cl->errors++ == 0)
        snprintf(cl->first_error, sizeof(cl->first_error), "client %u, %s: error %lu, status %s",
                 cl->index, verb_names[v], (unsigned long)err, edge_status_name((edge_status)st));
}

static enum verb pick(struct client *cl)
{
    uint32_t r = rnd(cl) % 1000;
    enum verb v = r < 455   ? V_PING
                  : r < 655 ? V_RENEW
                  : r < 855 ? V_SHOW
                  : r < 990 ? V_LIST
                  : r < 995 ? V_REQUEST
                            : V_RELEASE;

    if (cl->nheld == 0 && (v == V_RENEW || v == V_SHOW || v == V_RELEASE))
        return V_REQUEST;
    if (cl->nheld == HELD_MAX && v == V_REQUEST)
        return V_RELEASE;
    return v;
}

static void one_op(itc *c, struct client *cl, enum verb v)
{
    edge_msg req, rep;
    itest_lease l;
    uint32_t st = 0;
    DWORD err = ERROR_SUCCESS;
    unsigned k = cl->nheld ? rnd(cl) % cl->nheld : 0;

    switch (v) {
    case V_PING:
        err = itc_ping(c, "load", 4, &st);
        break;
    case V_RENEW:
        err = itc_renew(c, cl->held[k], 600 + rnd(cl) % 600, &st, NULL);
        break;
    case V_SHOW:
        memset(&req, 0, sizeof(req));
        req.type = EDGE_MSG_SHOW;
        memcpy(req.u.id_req.id, cl->held[k], EDGE_ID_SIZE);
        err = itc_call(c, &req, &rep, ITEST_IO_MS);
        st = rep.env.status;
        break;
    case V_LIST: {
        itest_lease *all = NULL;
        size_t n = 0;
        err = itc_list(c, 0, &st, &all, &n);
        free(all);
        break;
    }
    case V_REQUEST: {
        /* Ports cycle through the client's own 16, so no two live leases share one. */
        edge_lease_req r = itest_lease_req(
            EDGE_IPPROTO_TCP, (uint16_t)(PORT_BASE + cl->index * 16u + cl->next_port++ % 16u));
        r.has_seconds = true;
        r.seconds = 600;
        err = itc_request(c, &r, &st, &l);
        if (err == ERROR_SUCCESS && st == EDGE_OK)
            memcpy(cl->held[cl->nheld++], l.id, EDGE_ID_SIZE);
        break;
    }
    case V_RELEASE:
    default:
        err = itc_release(c, cl->held[k], &st);
        if (err == ERROR_SUCCESS && st == EDGE_OK)
            memcpy(cl->held[k], cl->held[--cl->nheld], EDGE_ID_SIZE);
        break;
    }
    if (err != ERROR_SUCCESS || st != EDGE_OK)
        error(cl, v, err, st);
}

static DWORD WINAPI client_main(void *arg)
{
    struct client *cl = arg;
    itc *c = itc_new();
    unsigned i;

    if (!c || itc_connect(c, ITEST_IO_MS) != ERROR_SUCCESS) {
        error(cl, V_PING, c ? ERROR_NOT_READY : ERROR_NOT_ENOUGH_MEMORY, 0);
        itc_free(c);
        return 0;
    }
    c->no_busy_wait = true; /* a BUSY answer is an error here */
    for (i = 0; i < cl->ops; i++) {
        enum verb v = pick(cl);
        LARGE_INTEGER t0, t1;
        QueryPerformanceCounter(&t0);
        one_op(c, cl, v);
        QueryPerformanceCounter(&t1);
        cl->lat[v][cl->n[v]++] =
            (uint32_t)((t1.QuadPart - t0.QuadPart) * 1000000 / g_freq.QuadPart);
    }
    while (cl->nheld)
        one_op(c, cl, V_RELEASE);
    itc_free(c);
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void report(struct client *cls, ULONGLONG ms)
{
    unsigned v, i, total = 0;

    print_message("%u clients x %u requests in %llu ms\n", CLIENTS, g_ops, ms);
    print_message("%-8s %8s %10s %10s %10s\n", "verb", "count", "p50 us", "p99 us", "max us");
    for (v = 0; v < V_COUNT; v++) {
        unsigned n = 0, at = 0;
        uint32_t *all;
        for (i = 0; i < CLIENTS; i++)
            n += cls[i].n[v];
        if (n == 0)
            continue;
        all = malloc(n * sizeof(*all));
        assert_non_null(all);
        for (i = 0; i < CLIENTS; i++) {
            memcpy(all + at, cls[i].lat[v], cls[i].n[v] * sizeof(*all));
            at += cls[i].n[v];
        }
        qsort(all, n, sizeof(*all), cmp_u32);
        print_message("%-8s %8u %10lu %10lu %10lu\n", verb_names[v], n, (unsigned long)all[n / 2],
                      (unsigned long)all[(size_t)n * 99 / 100], (unsigned long)all[n - 1]);
        total += n;
        free(all);
    }
    print_message("throughput: %.0f requests/s\n", ms ? total * 1000.0 / (double)ms : 0.0);
}

static void test_load_mixed(void **state)
{
    struct client *cls = calloc(CLIENTS, sizeof(*cls));
    HANDLE th[MAX_CLIENTS];
    ULONGLONG t0;
    unsigned i, v, errors = 0;

    (void)state;
    assert_non_null(cls);
    QueryPerformanceFrequency(&g_freq);
    for (i = 0; i < CLIENTS; i++) {
        cls[i].index = i;
        cls[i].ops = g_ops;
        cls[i].rng = (uint32_t)(GetTickCount64() * 2654435761u) ^ (i + 1) * 0x9E3779B9u;
        if (!cls[i].rng)
            cls[i].rng = 1;
        for (v = 0; v < V_COUNT; v++)
            assert_non_null(cls[i].lat[v] = calloc(g_ops + HELD_MAX, sizeof(uint32_t)));
    }
    t0 = GetTickCount64();
    for (i = 0; i < CLIENTS; i++)
        assert_non_null(th[i] = CreateThread(NULL, 64 * 1024, client_main, &cls[i],
                                             STACK_SIZE_PARAM_IS_A_RESERVATION, NULL));
    assert_int_equal(WaitForMultipleObjects(CLIENTS, th, TRUE, g_ops * 300u), WAIT_OBJECT_0);
    report(cls, GetTickCount64() - t0);
    for (i = 0; i < CLIENTS; i++) {
        CloseHandle(th[i]);
        if (cls[i].errors)
            print_message("%u errors; first: %s\n", cls[i].errors, cls[i].first_error);
        errors += cls[i].errors;
        for (v = 0; v < V_COUNT; v++)
            free(cls[i].lat[v]);
    }
    free(cls);
    assert_int_equal(errors, 0);
    assert_int_equal(itest_fw_group_count(), 0); /* every lease released, every rule gone */
}

static int group_setup(void **state)
{
    (void)state;
    memset(&g_saved, 0, sizeof(g_saved));
    if (itest_fw_use_service_store() != ERROR_SUCCESS ||
        itest_cfg_set(&g_saved, L"RequestsPerSecondPerUser", 100000) != ERROR_SUCCESS ||
        itest_cfg_set(&g_saved, L"RequestBurstPerUser", 100000) != ERROR_SUCCESS ||
        itest_cfg_set(&g_saved, L"MaxConnectionsPerUser", 256) != ERROR_SUCCESS ||
        itest_cfg_set(&g_saved, L"MaxConnections", 512) != ERROR_SUCCESS ||
        itest_cfg_set(&g_saved, L"MaxLeasesPerUser", 1024) != ERROR_SUCCESS ||
        itest_cfg_set(&g_saved, L"MaxLeasesPerApp", 1024) != ERROR_SUCCESS)
        return -1;
    return itest_svc_restart() == ERROR_SUCCESS ? 0 : -1;
}

static int group_teardown(void **state)
{
    DWORD e1, e2;

    (void)state;
    e1 = itest_cfg_restore(&g_saved);
    e2 = itest_svc_restart();
    return e1 == ERROR_SUCCESS && e2 == ERROR_SUCCESS ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_mixed),
    };
    char buf[32];
    DWORD n = GetEnvironmentVariableA("EDGE_LOAD_OPS", buf, sizeof(buf));

    if (n > 0 && n < sizeof(buf)) {
        char long_on[8];
        DWORD m = GetEnvironmentVariableA("EDGE_LOAD_LONG", long_on, sizeof(long_on));
        if (m != 1 || long_on[0] != '1') {
            printf("SKIP: the long load run needs EDGE_LOAD_LONG=1 (make check-long)\n");
            return 77;
        }
        g_ops = (unsigned)strtoul(buf, NULL, 10);
        n = GetEnvironmentVariableA("EDGE_LOAD_CLIENTS", buf, sizeof(buf));
        if (n > 0 && n < sizeof(buf) && strtoul(buf, NULL, 10) >= 1 &&
            strtoul(buf, NULL, 10) <= MAX_CLIENTS)
            CLIENTS = (unsigned)strtoul(buf, NULL, 10);
        if (g_ops == 0 || g_ops > 1000000)
            g_ops = DEFAULT_OPS;
    }
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
