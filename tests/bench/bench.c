/*
 * edge_bench: round-trip latency of the installed service against a bare named-pipe echo, in one
 * run (docs/performance.md).
 *
 *   edge_bench [--iterations N] [--warmup W] [--payload BYTES] [--rate REQ_PER_S] [--out FILE]
 *   edge_bench --echo-server PIPE      (internal: the bare echo, started by edge_bench itself)
 *
 * Measured, each as median and p99 over N iterations after W warm-up rounds:
 *   bare_ping   a bare echo carrying exactly the bytes of a PING request and its reply
 *   ping        PING on an open, hello'd connection to \\.\pipe\EdgeBroker
 *   bare_renew  a bare echo of the RENEW request and reply sizes
 *   renew       RENEW of a lease this program holds (skipped when REQUEST is refused)
 *
 * The bare echo runs in a separate process (this program re-started with --echo-server): the
 * service is another process too, so both round trips pay the same cross-process wake-ups, and the
 * ratio isolates what the service adds (completion port dispatch, decode, permission check,
 * handler, encode).  The echo server is the floor: one thread, synchronous ReadFile/WriteFile on a
 * message-mode pipe; the client side is identical for all four (pre-encoded frames, overlapped
 * I/O, an event wait).  Each bare message starts with the length of the reply it asks for.
 *
 * The service rate-limits each user (config.h: 20 requests/s, burst 40), so iterations are paced
 * at --rate service requests per second (default 18), and the bare echoes run interleaved in the
 * same loop under the same pacing, rotating the order.  A BUSY reply is counted and its sample
 * dropped.  Output: a table on stdout and, with --out, a JSON list of
 * {"name","value","unit","ratio_to_bare"}.
 */
#include "itest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define BENCH_BUF (EDGE_FRAME_MAX + 16u)

struct series {
    const char *name;
    double *us;
    unsigned n;
};

static double g_tick_us;

static double now_us(void)
{
    LARGE_INTEGER t;

    QueryPerformanceCounter(&t);
    return (double)t.QuadPart * g_tick_us;
}

/* ---- bare echo server (child process) ------------------------------------------------------- */

static int echo_server(const wchar_t *name)
{
    static uint8_t in[BENCH_BUF], out[BENCH_BUF];
    HANDLE p = CreateNamedPipeW(name, PIPE_ACCESS_DUPLEX,
                                PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT |
                                    PIPE_REJECT_REMOTE_CLIENTS,
                                1, 4096, 4096, 0, NULL);
    DWORD got, len, put;

    if (p == INVALID_HANDLE_VALUE)
        return 1;
    if (!ConnectNamedPipe(p, NULL) && GetLastError() != ERROR_PIPE_CONNECTED)
        return 1;
    memset(out, 0x5a, sizeof(out));
    while (ReadFile(p, in, sizeof(in), &got, NULL) && got >= 4) {
        len = (DWORD)in[0] | (DWORD)in[1] << 8 | (DWORD)in[2] << 16 | (DWORD)in[3] << 24;
        if (len > sizeof(out) || !WriteFile(p, out, len, &put, NULL))
            break;
    }
    CloseHandle(p);
    return 0;
}

static HANDLE start_echo(const wchar_t *name, HANDLE *pipe, HANDLE *proc)
{
    wchar_t self[MAX_PATH], cmd[2 * MAX_PATH];
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    ULONGLONG end;
    DWORD mode = PIPE_READMODE_MESSAGE;

    *pipe = INVALID_HANDLE_VALUE;
    *proc = NULL;
    if (!GetModuleFileNameW(NULL, self, MAX_PATH))
        return NULL;
    swprintf(cmd, 2 * MAX_PATH, L"\"%ls\" --echo-server %ls", self, name);
    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    if (!CreateProcessW(self, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi))
        return NULL;
    CloseHandle(pi.hThread);
    *proc = pi.hProcess;
    end = GetTickCount64() + 10000;
    while (*pipe == INVALID_HANDLE_VALUE && GetTickCount64() < end) {
        *pipe = CreateFileW(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                            FILE_FLAG_OVERLAPPED, NULL);
        if (*pipe == INVALID_HANDLE_VALUE)
            Sleep(20);
    }
    if (*pipe != INVALID_HANDLE_VALUE)
        SetNamedPipeHandleState(*pipe, &mode, NULL, NULL);
    return *pipe;
}

/* ---- one round trip -------------------------------------------------------------------------- */

/* Sends FRAME, reads the reply into IN; returns microseconds or a negative value on failure. */
static double round_trip(HANDLE h, HANDLE ev, uint8_t *frame, DWORD len, uint8_t *in, DWORD *got)
{
    double t0 = now_us();

    if (itest_pipe_io(h, ev, true, frame, len, NULL, ITEST_IO_MS) != ERROR_SUCCESS)
        return -1;
    if (itest_pipe_io(h, ev, false, in, BENCH_BUF, got, ITEST_IO_MS) != ERROR_SUCCESS)
        return -1;
    return now_us() - t0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(struct series *s, double p)
{
    size_t i;

    if (s->n == 0)
        return 0;
    qsort(s->us, s->n, sizeof(double), cmp_double);
    i = (size_t)(p * (double)(s->n - 1) + 0.5);
    return s->us[i];
}

/* ---- main ------------------------------------------------------------------------------------ */

struct bench {
    itc *svc;
    HANDLE echo, ev;
    uint8_t ping[BENCH_BUF], renew[BENCH_BUF], bare_ping[BENCH_BUF], bare_renew[BENCH_BUF];
    DWORD ping_len, renew_len, ping_rep_len, renew_rep_len;
    uint8_t in[BENCH_BUF];
    unsigned busy, failed;
    uint32_t next_id;
    bool have_renew;
};

static DWORD encode(const edge_msg *m, uint8_t *buf)
{
    size_t len = 0;
    return edge_msg_encode(m, buf, BENCH_BUF, &len) == EDGE_PROTO_OK ? (DWORD)len : 0;
}

/* One service round trip; false on BUSY (counted) or failure. */
static bool svc_once(struct bench *b, uint8_t *frame, DWORD len, double *us, DWORD *rep_len)
{
    edge_msg rep;
    DWORD got = 0;
    uint32_t id = b->next_id++;

    frame[12] = (uint8_t)id;
    frame[13] = (uint8_t)(id >> 8);
    frame[14] = (uint8_t)(id >> 16);
    frame[15] = (uint8_t)(id >> 24);
    *us = round_trip(b->svc->h, b->ev, frame, len, b->in, &got);
    if (*us < 0 || edge_msg_decode(b->in, got, EDGE_DIR_REPLY, &rep) != EDGE_PROTO_OK ||
        rep.request_id != id) {
        b->failed++;
        return false;
    }
    if (rep.env.status == EDGE_E_BUSY) {
        b->busy++;
        return false;
    }
    if (rep.env.status != EDGE_OK) {
        b->failed++;
        return false;
    }
    *rep_len = got;
    return true;
}

static bool bare_once(struct bench *b, uint8_t *frame, DWORD len, DWORD want, double *us)
{
    DWORD got = 0;

    frame[0] = (uint8_t)want;
    frame[1] = (uint8_t)(want >> 8);
    frame[2] = (uint8_t)(want >> 16);
    frame[3] = (uint8_t)(want >> 24);
    *us = round_trip(b->echo, b->ev, frame, len, b->in, &got);
    if (*us < 0 || got != want) {
        b->failed++;
        return false;
    }
    return true;
}

static void emit(FILE *f, bool *first, const char *name, double v, const char *unit, double ratio)
{
    fprintf(f, "%s\n  {\"name\": \"%s\", \"value\": %.1f, \"unit\": \"%s\", \"ratio_to_bare\": ",
            *first ? "" : ",", name, v, unit);
    if (ratio > 0)
        fprintf(f, "%.3f}", ratio);
    else
        fprintf(f, "null}");
    *first = false;
}

int wmain(int argc, wchar_t **argv);

int wmain(int argc, wchar_t **argv)
{
    static struct bench b;
    unsigned iters = 300, warm = 30, payload = 32, rate = 18, i, k;
    const wchar_t *out = NULL;
    wchar_t echo_name[80];
    struct series s[4] = {
        {"bare_ping", NULL, 0}, {"ping", NULL, 0}, {"bare_renew", NULL, 0}, {"renew", NULL, 0}};
    LARGE_INTEGER freq;
    HANDLE echo_proc = NULL;
    itest_lease lease;
    edge_lease_req lr;
    edge_msg m;
    uint8_t *pl;
    uint32_t st = 0;
    double gap_us, next, med[4], p99[4];
    bool first = true;
    FILE *f;

    for (i = 1; i < (unsigned)argc; i++) {
        if (wcscmp(argv[i], L"--echo-server") == 0 && i + 1 < (unsigned)argc)
            return echo_server(argv[i + 1]);
        if (i + 1 >= (unsigned)argc)
            goto usage;
        if (wcscmp(argv[i], L"--iterations") == 0)
            iters = (unsigned)_wtoi(argv[++i]);
        else if (wcscmp(argv[i], L"--warmup") == 0)
            warm = (unsigned)_wtoi(argv[++i]);
        else if (wcscmp(argv[i], L"--payload") == 0)
            payload = (unsigned)_wtoi(argv[++i]);
        else if (wcscmp(argv[i], L"--rate") == 0)
            rate = (unsigned)_wtoi(argv[++i]);
        else if (wcscmp(argv[i], L"--out") == 0)
            out = argv[++i];
        else
            goto usage;
    }
    if (iters == 0 || iters > 100000 || payload > EDGE_MAX_PING_PAYLOAD || rate == 0)
        goto usage;
    QueryPerformanceFrequency(&freq);
    g_tick_us = 1e6 / (double)freq.QuadPart;
    for (k = 0; k < 4; k++) {
        s[k].us = calloc(iters, sizeof(double));
        if (!s[k].us)
            return 1;
    }
    memset(&lease, 0, sizeof(lease));
    b.next_id = 1;
    b.ev = CreateEventW(NULL, TRUE, FALSE, NULL);
    b.svc = itc_new();
    if (!b.ev || !b.svc || itc_connect(b.svc, ITEST_IO_MS) != ERROR_SUCCESS) {
        fprintf(stderr, "edge_bench: the EdgeBroker service does not answer hello\n");
        return 1;
    }
    swprintf(echo_name, 80, L"\\\\.\\pipe\\edge-bench-echo-%lu", GetCurrentProcessId());
    if (!start_echo(echo_name, &b.echo, &echo_proc)) {
        fprintf(stderr, "edge_bench: cannot start the bare echo server\n");
        return 1;
    }

    /* Pre-encoded requests; the bare echoes carry the same request sizes. */
    pl = calloc(1, payload ? payload : 1);
    memset(&m, 0, sizeof(m));
    m.type = EDGE_MSG_PING;
    m.u.ping.payload.ptr = payload ? pl : NULL;
    m.u.ping.payload.len = payload;
    b.ping_len = encode(&m, b.ping);
    lr = itest_lease_req(EDGE_IPPROTO_TCP, 49152);
    lr.has_seconds = true;
    lr.seconds = 3600;
    b.have_renew = itc_request(b.svc, &lr, &st, &lease) == ERROR_SUCCESS && st == EDGE_OK;
    if (!b.have_renew)
        fprintf(stderr, "edge_bench: REQUEST answered status %lu; renew not measured\n",
                (unsigned long)st);
    memset(&m, 0, sizeof(m));
    m.type = EDGE_MSG_RENEW;
    memcpy(m.u.renew_req.lease_id, lease.id, EDGE_ID_SIZE);
    m.u.renew_req.has_seconds = true;
    m.u.renew_req.seconds = 3600;
    b.renew_len = b.have_renew ? encode(&m, b.renew) : 0;
    if (!b.ping_len || (b.have_renew && !b.renew_len))
        return 1;

    /* The reply sizes the bare echo must return: learn them from one real round trip each. */
    Sleep(1000 * 2); /* let the rate limiter's bucket refill after the set-up requests */
    {
        double us;
        if (!svc_once(&b, b.ping, b.ping_len, &us, &b.ping_rep_len) ||
            (b.have_renew && !svc_once(&b, b.renew, b.renew_len, &us, &b.renew_rep_len))) {
            fprintf(stderr, "edge_bench: a first ping/renew failed\n");
            return 1;
        }
    }

    gap_us = 1e6 * (b.have_renew ? 2.0 : 1.0) / (double)rate;
    next = now_us();
    for (i = 0; i < warm + iters; i++) {
        double us[4] = {-1, -1, -1, -1};
        DWORD rl;
        for (k = 0; k < 4; k++) {
            unsigned which = (i + k) % 4; /* rotate the order */
            switch (which) {
            case 0:
                bare_once(&b, b.bare_ping, b.ping_len, b.ping_rep_len, &us[0]);
                break;
            case 1:
                if (!svc_once(&b, b.ping, b.ping_len, &us[1], &rl))
                    us[1] = -1;
                break;
            case 2:
                if (b.have_renew)
                    bare_once(&b, b.bare_renew, b.renew_len, b.renew_rep_len, &us[2]);
                break;
            default:
                if (b.have_renew && !svc_once(&b, b.renew, b.renew_len, &us[3], &rl))
                    us[3] = -1;
                break;
            }
        }
        if (i >= warm)
            for (k = 0; k < 4; k++)
                if (us[k] >= 0)
                    s[k].us[s[k].n++] = us[k];
        next += gap_us;
        while (now_us() < next)
            Sleep(1);
    }

    for (k = 0; k < 4; k++) {
        med[k] = pct(&s[k], 0.5);
        p99[k] = pct(&s[k], 0.99);
    }
    printf("\nedge_bench: %u iterations after %u warm-up, ping payload %u B, paced at %u service "
           "requests/s\n",
           iters, warm, payload, rate);
    printf("  ping frames %lu/%lu B, renew frames %lu/%lu B (request/reply); %u BUSY, %u failed\n",
           (unsigned long)b.ping_len, (unsigned long)b.ping_rep_len, (unsigned long)b.renew_len,
           (unsigned long)b.renew_rep_len, b.busy, b.failed);
    printf("  %-12s %8s %12s %12s %10s %10s\n", "measure", "samples", "median us", "p99 us",
           "x bare", "p99 x bare");
    for (k = 0; k < 4; k++) {
        unsigned bare = k & ~1u;
        if (s[k].n == 0)
            continue;
        printf("  %-12s %8u %12.1f %12.1f %10.2f %10.2f\n", s[k].name, s[k].n, med[k], p99[k],
               med[bare] > 0 ? med[k] / med[bare] : 0, p99[bare] > 0 ? p99[k] / p99[bare] : 0);
    }
    printf("  targets (DESIGN.md): ping <= 1.25 x bare, renew <= 1.5 x bare\n");

    if (out) {
        f = _wfopen(out, L"w");
        if (!f) {
            fprintf(stderr, "edge_bench: cannot write %ls\n", out);
            return 1;
        }
        fprintf(f, "[");
        for (k = 0; k < 4; k++) {
            char name[64];
            unsigned bare = k & ~1u;
            if (s[k].n == 0)
                continue;
            emit(f, &first, s[k].name, med[k], "us", med[bare] > 0 ? med[k] / med[bare] : 0);
            snprintf(name, sizeof(name), "%s_p99", s[k].name);
            emit(f, &first, name, p99[k], "us", p99[bare] > 0 ? p99[k] / p99[bare] : 0);
        }
        emit(f, &first, "iterations", (double)iters, "count", 0);
        emit(f, &first, "busy_replies", (double)b.busy, "count", 0);
        fprintf(f, "\n]\n");
        fclose(f);
    }

    if (b.have_renew)
        itc_release(b.svc, lease.id, &st);
    itc_free(b.svc);
    CloseHandle(b.echo);
    if (echo_proc) {
        WaitForSingleObject(echo_proc, 5000);
        CloseHandle(echo_proc);
    }
    free(pl);
    for (k = 0; k < 4; k++)
        free(s[k].us);
    return b.failed ? 1 : 0;

usage:
    fprintf(stderr, "usage: edge_bench [--iterations N] [--warmup W] [--payload BYTES] "
                    "[--rate REQ_PER_S] [--out FILE]\n");
    return 2;
}
