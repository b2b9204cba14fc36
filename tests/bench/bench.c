/*
 * edge_bench: every figure of `make bench` in one run (docs/performance.md), beside a bare
 * named-pipe echo.
 *
 *   edge_bench [--iterations N] [--warmup W] [--payload BYTES] [--rate REQ_PER_S]
 *              [--tput-seconds S] [--reconcile COUNT[,COUNT...]] [--quick] [--out FILE]
 *   edge_bench --echo-server PIPE      (internal: the bare echo, started by edge_bench itself)
 *
 * Latency, each as median and p99 over N iterations after W warm-up rounds:
 *   bare_ping   a bare echo carrying exactly the bytes of a PING request and its reply
 *   ping        PING on an open, hello'd connection to \\.\pipe\EdgeBroker
 *   bare_renew  a bare echo of the RENEW request and reply sizes
 *   renew       RENEW of a lease this program holds
 *   bare_grant  a bare echo of the REQUEST request and reply sizes
 *   grant       REQUEST of a new lease by this (allow-listed) program; released untimed after
 *   fw_add      edge_fw_add_rule in this process, through the production backend, against the same
 *               firewall double and store the service uses (removed untimed after)
 *   grant_minus_fw  grant - fw_add (medians): everything but the firewall call
 *   state_save  one synchronous store_save in this process (a grant makes two)
 *   renew_handler_in_process  leases_renew called directly in this process (no pipe, no audit)
 *   renew_handler_audited_in_process  the same with an audit log (file only, no Event Log)
 * Then throughput (bench_tput.c), memory and start-up reconcile (bench_state.c).
 *
 * The bare echo runs in a separate process (this program re-started with --echo-server): the
 * service is another process too, so both round trips pay the same cross-process wake-ups, and the
 * ratio isolates what the service adds (completion port dispatch, decode, permission check,
 * handler, encode).  The echo server is the floor: one thread, synchronous ReadFile/WriteFile on a
 * message-mode pipe; the client side is identical for all (pre-encoded frames, overlapped I/O, an
 * event wait).  Each bare message starts with the length of the reply it asks for.
 *
 * Latency iterations are paced at --rate service requests per second (default 18, under the
 * service's default per-user limit of 20/s, so the figures stay comparable with runs where the
 * limit is not raised), and the bare echoes run interleaved in the same loop under the same
 * pacing, rotating the order.  A BUSY reply is counted and its sample dropped.  Output: a table on
 * stdout and, with --out, a JSON list of {"name","value","unit","ratio_to_bare"}.
 */
#include "bench.h"

#include "edge/lease.h"
#include "caller.h"
#include "firewall.h"
#include "leases.h"
#include "store.h"

#include <bcrypt.h>
#include <sddl.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define BENCH_BUF       (EDGE_FRAME_MAX + 16u)
#define NSERIES         6u /* bare_ping ping bare_renew renew bare_grant grant */
#define FW_ROUNDS       100u
#define BENCH_OWNER_SID "S-1-5-21-1004336348-1177238915-682003330-1001"

struct series {
    const char *name;
    double *us;
    unsigned n;
};

static double g_tick_us;
static struct bench_result g_results[BENCH_MAX_RESULTS];
static unsigned g_nresults;

void bench_clock_init(void)
{
    LARGE_INTEGER freq;

    QueryPerformanceFrequency(&freq);
    g_tick_us = 1e6 / (double)freq.QuadPart;
}

double bench_now_us(void)
{
    LARGE_INTEGER t;

    QueryPerformanceCounter(&t);
    return (double)t.QuadPart * g_tick_us;
}

void bench_add(const char *name, double value, const char *unit, double ratio)
{
    struct bench_result *r;

    if (g_nresults >= BENCH_MAX_RESULTS)
        return;
    r = &g_results[g_nresults++];
    snprintf(r->name, sizeof(r->name), "%s", name);
    snprintf(r->unit, sizeof(r->unit), "%s", unit);
    r->value = value;
    r->ratio = ratio;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double bench_pct(double *v, unsigned n, double p)
{
    size_t i;

    if (n == 0)
        return 0;
    qsort(v, n, sizeof(double), cmp_double);
    i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i];
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
    double t0 = bench_now_us();

    if (itest_pipe_io(h, ev, true, frame, len, NULL, ITEST_IO_MS) != ERROR_SUCCESS)
        return -1;
    if (itest_pipe_io(h, ev, false, in, BENCH_BUF, got, ITEST_IO_MS) != ERROR_SUCCESS)
        return -1;
    return bench_now_us() - t0;
}

/* ---- latency --------------------------------------------------------------------------------- */

struct bench {
    itc *svc;
    HANDLE echo, ev;
    uint8_t frame[NSERIES][BENCH_BUF]; /* service frames at odd indexes, bare at even */
    DWORD len[NSERIES], rep_len[NSERIES];
    uint8_t in[BENCH_BUF];
    unsigned busy, failed;
    uint32_t next_id;
    bool have_renew;
    uint8_t granted[EDGE_ID_SIZE]; /* the last grant's lease id, released after the sample */
};

static DWORD encode(const edge_msg *m, uint8_t *buf)
{
    size_t len = 0;
    return edge_msg_encode(m, buf, BENCH_BUF, &len) == EDGE_PROTO_OK ? (DWORD)len : 0;
}

/* One service round trip; false on BUSY (counted) or failure. */
static bool svc_once(struct bench *b, unsigned k, double *us)
{
    edge_msg rep;
    DWORD got = 0;
    uint32_t id = b->next_id++;
    uint8_t *frame = b->frame[k];

    frame[12] = (uint8_t)id;
    frame[13] = (uint8_t)(id >> 8);
    frame[14] = (uint8_t)(id >> 16);
    frame[15] = (uint8_t)(id >> 24);
    *us = round_trip(b->svc->h, b->ev, frame, b->len[k], b->in, &got);
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
        fprintf(stderr, "edge_bench: %s answered %s\n", k == 5 ? "REQUEST" : "a request",
                edge_status_name((edge_status)rep.env.status));
        b->failed++;
        return false;
    }
    if (rep.type == EDGE_MSG_REQUEST)
        memcpy(b->granted, rep.u.lease_rep.lease.id, EDGE_ID_SIZE);
    b->rep_len[k] = got;
    return true;
}

static bool bare_once(struct bench *b, unsigned k, double *us)
{
    DWORD got = 0, want = b->rep_len[k + 1];
    uint8_t *frame = b->frame[k];

    frame[0] = (uint8_t)want;
    frame[1] = (uint8_t)(want >> 8);
    frame[2] = (uint8_t)(want >> 16);
    frame[3] = (uint8_t)(want >> 24);
    *us = round_trip(b->echo, b->ev, frame, b->len[k], b->in, &got);
    if (*us < 0 || got != want) {
        b->failed++;
        return false;
    }
    return true;
}

/* Releases the lease of the last grant (untimed). */
static void release_granted(struct bench *b)
{
    uint32_t st = 0;

    if (itc_release(b->svc, b->granted, &st) != ERROR_SUCCESS || st != EDGE_OK)
        b->failed++;
}

/* The firewall call alone: edge_fw_add_rule in this process (rule removed untimed). */
static bool measure_fw_add(double *median, double *p99)
{
    static double us[FW_ROUNDS];
    edge_fw_config cfg;
    edge_fw_backend *fw = NULL;
    edge_fw_result res;
    edge_fw_rule_spec spec;
    wchar_t self[MAX_PATH];
    unsigned i, n = 0;

    memset(&cfg, 0, sizeof(cfg));
    if (edge_fw_start(&cfg, &fw, &res) != EDGE_OK || !GetModuleFileNameW(NULL, self, MAX_PATH))
        return false;
    memset(&spec, 0, sizeof(spec));
    spec.image_path = self;
    spec.owner_sid = L"S-1-5-21-1004336348-1177238915-682003330-1001";
    spec.protocol = EDGE_FW_PROTO_UDP;
    spec.profiles = EDGE_FW_PROFILE_ALL;
    spec.edge_mode = EDGE_FW_EDGE_DEFER_TO_APP;
    for (i = 0; i < FW_ROUNDS; i++) {
        double t0;
        (void)BCryptGenRandom(NULL, spec.lease_id, sizeof(spec.lease_id),
                              BCRYPT_USE_SYSTEM_PREFERRED_RNG);
        spec.port_lo = spec.port_hi = (uint16_t)(61000 + i);
        t0 = bench_now_us();
        if (edge_fw_add_rule(fw, &spec, &res) != EDGE_OK)
            continue;
        us[n++] = bench_now_us() - t0;
        (void)edge_fw_remove_rule(fw, spec.lease_id, &res);
    }
    edge_fw_stop(fw);
    *median = bench_pct(us, n, 0.5);
    *p99 = bench_pct(us, n, 0.99);
    return n > 0;
}

/*
 * One synchronous state write (store_save of a one-lease table: temporary file, FlushFileBuffers,
 * MoveFileExW) in this process, in a private directory under %TEMP%: a grant makes two of them
 * (RULE_PENDING, then ACTIVE) before it answers.
 */
static bool measure_state_save(double *median)
{
    static double us[FW_ROUNDS];
    wchar_t dir[MAX_PATH], tmp[MAX_PATH], path[MAX_PATH];
    struct store *s = NULL;
    edge_lease_table *t = NULL;
    struct store_load_report rep;
    edge_lease_info l;
    unsigned i, n = 0;

    if (!GetTempPathW(MAX_PATH, tmp))
        return false;
    swprintf(dir, MAX_PATH, L"%lsedge-bench-store-%lu", tmp, GetCurrentProcessId());
    if (store_open(dir, NULL, &s, &t, &rep) != EDGE_OK)
        return false;
    memset(&l, 0, sizeof(l));
    l.id[0] = 1;
    l.owner_sid = "S-1-5-21-1004336348-1177238915-682003330-1001";
    l.image_path = "C:\\Program Files\\EdgeBench\\bench-app.exe";
    l.protocol = EDGE_LEASE_PROTO_UDP;
    l.port_lo = l.port_hi = 49160;
    l.edge_option = EDGE_LEASE_EDGE_DEFER_TO_APP;
    l.created = 1700000000u;
    l.expires = 1700003600u;
    l.state = EDGE_LEASE_ACTIVE;
    if (edge_lease_table_add(t, &l, NULL) == EDGE_OK) {
        for (i = 0; i < FW_ROUNDS / 2; i++) {
            double t0 = bench_now_us();
            if (store_save(s, t) == EDGE_OK)
                us[n++] = bench_now_us() - t0;
        }
    }
    store_close(s);
    edge_lease_table_destroy(t);
    swprintf(path, MAX_PATH, L"%ls\\state.a.bin", dir);
    DeleteFileW(path);
    swprintf(path, MAX_PATH, L"%ls\\state.b.bin", dir);
    DeleteFileW(path);
    RemoveDirectoryW(dir);
    *median = bench_pct(us, n, 0.5);
    return n > 0;
}

/*
 * The renewal handler alone: leases_renew on a lease manager in this process (private state
 * directory, the same double; AUDITED: with an audit log in that directory, as the service has), so
 * that its CPU cost can be told apart from the cross-thread and cross-process costs a round trip
 * adds.
 */
static bool measure_renew_in_process(bool audited, double *median)
{
    static double us[FW_ROUNDS * 2];
    wchar_t dir[MAX_PATH], tmp[MAX_PATH], self[MAX_PATH];
    struct leases_params p;
    struct leases_result res;
    struct leases_request rq;
    struct leases_view *v = NULL;
    struct caller_identity id;
    struct leases *m = NULL;
    audit_log *audit = NULL;
    uint8_t lease[EDGE_ID_SIZE];
    PSID sid = NULL;
    unsigned i, n = 0;

    if (!GetTempPathW(MAX_PATH, tmp) || !GetModuleFileNameW(NULL, self, MAX_PATH) ||
        !ConvertStringSidToSidA(BENCH_OWNER_SID, &sid))
        return false;
    swprintf(dir, MAX_PATH, L"%lsedge-bench-renew-%lu", tmp, GetCurrentProcessId());
    memset(&id, 0, sizeof(id));
    id.sid_len = GetLengthSid(sid);
    CopySid(sizeof(id.sid), id.sid, sid);
    LocalFree(sid);
    id.image_path = self;
    memset(&p, 0, sizeof(p));
    p.state_dir = dir;
    leases_config_defaults(&p.config);
    if (audited) {
        audit_config acfg;
        audit_config_init(&acfg);
        acfg.directory = dir;
        acfg.event_source = NULL;
        CreateDirectoryW(dir, NULL);
        if (audit_open(&acfg, &audit) != ERROR_SUCCESS)
            return false;
        p.audit = audit;
    }
    if (leases_create(&p, &m, &res) != EDGE_OK) {
        audit_close(audit);
        return false;
    }
    memset(&rq, 0, sizeof(rq));
    rq.protocol = EDGE_IPPROTO_UDP;
    rq.port_lo = rq.port_hi = 61500;
    rq.seconds = 600;
    rq.flags = EDGE_LEASE_F_KEEP_AFTER_EXIT;
    rq.edge_option = EDGE_TRAVERSAL_DEFER_TO_APP;
    rq.owner_sid = BENCH_OWNER_SID;
    rq.image_path = "C:\\Program Files\\EdgeBench\\bench-app.exe";
    rq.image_sha256 = id.image_sha256;
    if (leases_grant(m, &id, &rq, &v, &res) == EDGE_OK) {
        memcpy(lease, v->items[0].id, EDGE_ID_SIZE);
        free(v);
        for (i = 0; i < FW_ROUNDS * 2; i++) {
            double t0 = bench_now_us();
            if (leases_renew(m, &id, lease, true, 3600, &v, &res) == EDGE_OK)
                us[n++] = bench_now_us() - t0;
            free(v);
            v = NULL;
        }
        (void)leases_release(m, &id, lease, &res);
    }
    leases_destroy(m);
    audit_close(audit);
    swprintf(tmp, MAX_PATH, L"%ls\\audit.jsonl", dir);
    DeleteFileW(tmp);
    swprintf(tmp, MAX_PATH, L"%ls\\state.a.bin", dir);
    DeleteFileW(tmp);
    swprintf(tmp, MAX_PATH, L"%ls\\state.b.bin", dir);
    DeleteFileW(tmp);
    RemoveDirectoryW(dir);
    *median = bench_pct(us, n, 0.5);
    return n > 0;
}

/* ---- output ---------------------------------------------------------------------------------- */

static void print_table(void)
{
    unsigned i;

    printf("\n  %-28s %14s %-6s %8s\n", "name", "value", "unit", "x bare");
    for (i = 0; i < g_nresults; i++) {
        const struct bench_result *r = &g_results[i];
        if (r->ratio > 0)
            printf("  %-28s %14.1f %-6s %8.2f\n", r->name, r->value, r->unit, r->ratio);
        else
            printf("  %-28s %14.1f %-6s %8s\n", r->name, r->value, r->unit, "");
    }
    printf("  targets (DESIGN.md): ping <= 1.25 x bare, renew <= 1.5 x bare, grant_minus_fw <= 2 x "
           "bare; tput_32_clients >= 1.5 x tput_1_client; private bytes <= 8 MiB idle, <= 32 MiB "
           "with 10,000 leases; reconcile of 10,000 rules <= 2 s and linear\n");
}

static bool write_json(const wchar_t *out)
{
    FILE *f = _wfopen(out, L"w");
    unsigned i;

    if (!f) {
        fprintf(stderr, "edge_bench: cannot write %ls\n", out);
        return false;
    }
    fprintf(f, "[");
    for (i = 0; i < g_nresults; i++) {
        const struct bench_result *r = &g_results[i];
        fprintf(f,
                "%s\n  {\"name\": \"%s\", \"value\": %.1f, \"unit\": \"%s\", \"ratio_to_bare\": ",
                i ? "," : "", r->name, r->value, r->unit);
        if (r->ratio > 0)
            fprintf(f, "%.3f}", r->ratio);
        else
            fprintf(f, "null}");
    }
    fprintf(f, "\n]\n");
    return fclose(f) == 0;
}

/* ---- main ------------------------------------------------------------------------------------ */

/* "1000,10000" -> counts; false when malformed. */
static bool parse_counts(const wchar_t *s, unsigned *counts, unsigned *n)
{
    *n = 0;
    while (*s && *n < 4) {
        wchar_t *end = NULL;
        unsigned long v = wcstoul(s, &end, 10);
        if (end == s || v > 100000)
            return false;
        counts[(*n)++] = (unsigned)v;
        s = *end == L',' ? end + 1 : end;
        if (*end && *end != L',')
            return false;
    }
    return true;
}

int wmain(int argc, wchar_t **argv);

int wmain(int argc, wchar_t **argv)
{
    static struct bench b;
    static const char *const names[NSERIES] = {"bare_ping", "ping",       "bare_renew",
                                               "renew",     "bare_grant", "grant"};
    unsigned iters = 300, warm = 30, payload = 32, rate = 18, i, k, per_iter;
    unsigned counts[4] = {1000, 10000}, ncounts = 2;
    double tput_seconds = 3.0;
    const wchar_t *out = NULL;
    wchar_t echo_name[80];
    struct series s[NSERIES];
    HANDLE echo_proc = NULL;
    itest_lease lease;
    edge_lease_req lr;
    edge_msg m;
    uint8_t *pl;
    uint32_t st = 0;
    double gap_us, next, med[NSERIES], p99[NSERIES], fw_med = 0, fw_p99 = 0;
    bool ok = true;

    for (i = 1; i < (unsigned)argc; i++) {
        if (wcscmp(argv[i], L"--echo-server") == 0 && i + 1 < (unsigned)argc)
            return echo_server(argv[i + 1]);
        if (wcscmp(argv[i], L"--quick") == 0) { /* bench_smoke: latency only, few rounds */
            ncounts = 0;
            tput_seconds = 0;
            continue;
        }
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
        else if (wcscmp(argv[i], L"--tput-seconds") == 0)
            tput_seconds = _wtof(argv[++i]);
        else if (wcscmp(argv[i], L"--reconcile") == 0) {
            if (!parse_counts(argv[++i], counts, &ncounts))
                goto usage;
        } else if (wcscmp(argv[i], L"--out") == 0)
            out = argv[++i];
        else
            goto usage;
    }
    if (iters == 0 || iters > 100000 || payload > EDGE_MAX_PING_PAYLOAD || rate == 0 ||
        tput_seconds < 0 || tput_seconds > 60)
        goto usage;
    bench_clock_init();
    /* The backend measured in this process must use the double's store the service uses. */
    if (itest_fw_use_service_store() != ERROR_SUCCESS)
        return 1;
    for (k = 0; k < NSERIES; k++) {
        s[k].name = names[k];
        s[k].n = 0;
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
    {
        /* Idle: started, one connection, no lease.  The echo server is a minimal Wine process
         * of the same kind: the floor every process pays under Wine. */
        double svc = bench_service_private_bytes(), bare = bench_process_private_bytes(echo_proc);
        bench_add("private_bytes_idle", svc / 1024.0, "KiB", bare > 0 ? svc / bare : 0);
        bench_add("private_bytes_bare_process", bare / 1024.0, "KiB", 0);
        bench_add("private_bytes_idle_minus_bare", (svc - bare) / 1024.0, "KiB", 0);
    }

    /* Pre-encoded requests; the bare echoes carry the same request sizes. */
    pl = calloc(1, payload ? payload : 1);
    memset(&m, 0, sizeof(m));
    m.type = EDGE_MSG_PING;
    m.u.ping.payload.ptr = payload ? pl : NULL;
    m.u.ping.payload.len = payload;
    b.len[0] = b.len[1] = encode(&m, b.frame[1]);
    lr = itest_lease_req(EDGE_IPPROTO_TCP, 49152);
    lr.has_seconds = true;
    lr.seconds = 3600;
    b.have_renew = itc_request(b.svc, &lr, &st, &lease) == ERROR_SUCCESS && st == EDGE_OK;
    if (!b.have_renew) {
        fprintf(stderr, "edge_bench: REQUEST answered status %lu; renew and grant not measured\n",
                (unsigned long)st);
        ok = false;
    }
    memset(&m, 0, sizeof(m));
    m.type = EDGE_MSG_RENEW;
    memcpy(m.u.renew_req.lease_id, lease.id, EDGE_ID_SIZE);
    m.u.renew_req.has_seconds = true;
    m.u.renew_req.seconds = 3600;
    b.len[2] = b.len[3] = encode(&m, b.frame[3]);
    memset(&m, 0, sizeof(m));
    m.type = EDGE_MSG_REQUEST;
    m.u.lease_req = itest_lease_req(EDGE_IPPROTO_UDP, 49160);
    m.u.lease_req.has_seconds = true;
    m.u.lease_req.seconds = 600;
    b.len[4] = b.len[5] = encode(&m, b.frame[5]);
    if (!b.len[1] || !b.len[3] || !b.len[5])
        return 1;

    /* The reply sizes the bare echo must return: learn them from one real round trip each. */
    Sleep(1000 * 2); /* let the rate limiter's bucket refill after the set-up requests */
    {
        double us;
        if (!svc_once(&b, 1, &us) ||
            (b.have_renew && (!svc_once(&b, 3, &us) || !svc_once(&b, 5, &us)))) {
            fprintf(stderr, "edge_bench: a first ping/renew/request failed\n");
            return 1;
        }
        if (b.have_renew)
            release_granted(&b);
    }

    per_iter = b.have_renew ? 4u : 1u; /* ping, renew, request, release */
    gap_us = 1e6 * (double)per_iter / (double)rate;
    next = bench_now_us();
    for (i = 0; i < warm + iters; i++) {
        double us[NSERIES];
        for (k = 0; k < NSERIES; k++)
            us[k] = -1;
        for (k = 0; k < NSERIES; k++) {
            unsigned which = (i + k) % NSERIES; /* rotate the order */
            if (which >= 2 && !b.have_renew)
                continue;
            if (which % 2 == 0)
                (void)bare_once(&b, which, &us[which]);
            else if (!svc_once(&b, which, &us[which]))
                us[which] = -1;
        }
        /* After the round, so that its firewall call and state writes disturb no sample. */
        if (us[5] >= 0)
            release_granted(&b);
        if (i >= warm)
            for (k = 0; k < NSERIES; k++)
                if (us[k] >= 0)
                    s[k].us[s[k].n++] = us[k];
        next += gap_us;
        while (bench_now_us() < next)
            Sleep(1);
    }
    for (k = 0; k < NSERIES; k++) {
        med[k] = bench_pct(s[k].us, s[k].n, 0.5);
        p99[k] = bench_pct(s[k].us, s[k].n, 0.99);
    }
    printf("\nedge_bench: %u iterations after %u warm-up, ping payload %u B, paced at %u service "
           "requests/s; %u BUSY, %u failed\n",
           iters, warm, payload, rate, b.busy, b.failed);
    printf("  frames request/reply: ping %lu/%lu B, renew %lu/%lu B, request %lu/%lu B\n",
           (unsigned long)b.len[1], (unsigned long)b.rep_len[1], (unsigned long)b.len[3],
           (unsigned long)b.rep_len[3], (unsigned long)b.len[5], (unsigned long)b.rep_len[5]);
    for (k = 0; k < NSERIES; k++) {
        char name[64];
        unsigned bare = k & ~1u;
        if (s[k].n == 0)
            continue;
        bench_add(s[k].name, med[k], "us", med[bare] > 0 ? med[k] / med[bare] : 0);
        snprintf(name, sizeof(name), "%s_p99", s[k].name);
        bench_add(name, p99[k], "us", p99[bare] > 0 ? p99[k] / p99[bare] : 0);
    }
    if (b.have_renew && measure_fw_add(&fw_med, &fw_p99)) {
        bench_add("fw_add", fw_med, "us", 0);
        bench_add("fw_add_p99", fw_p99, "us", 0);
        bench_add("grant_minus_fw", med[5] - fw_med, "us",
                  med[4] > 0 ? (med[5] - fw_med) / med[4] : 0);
    } else if (b.have_renew) {
        fprintf(stderr,
                "edge_bench: the in-process firewall backend failed; fw_add not measured\n");
        ok = false;
    }
    {
        double save = 0;
        if (measure_state_save(&save))
            bench_add("state_save", save, "us", 0);
        if (measure_renew_in_process(false, &save))
            bench_add("renew_handler_in_process", save, "us", 0);
        if (measure_renew_in_process(true, &save))
            bench_add("renew_handler_audited_in_process", save, "us", 0);
    }
    bench_add("iterations", (double)iters, "count", 0);
    bench_add("busy_replies", (double)b.busy, "count", 0);
    if (b.have_renew)
        itc_release(b.svc, lease.id, &st);
    itc_free(b.svc);
    CloseHandle(b.echo);
    if (echo_proc) {
        WaitForSingleObject(echo_proc, 5000);
        CloseHandle(echo_proc);
    }

    if (tput_seconds > 0 && !bench_throughput(tput_seconds))
        ok = false;
    if (ncounts && !bench_reconcile(counts, ncounts))
        ok = false;

    print_table();
    if (out && !write_json(out))
        ok = false;
    free(pl);
    for (k = 0; k < NSERIES; k++)
        free(s[k].us);
    return ok && b.failed == 0 ? 0 : 1;

usage:
    fprintf(stderr, "usage: edge_bench [--iterations N] [--warmup W] [--payload BYTES] "
                    "[--rate REQ_PER_S] [--tput-seconds S] [--reconcile N,N] [--quick] "
                    "[--out FILE]\n");
    return 2;
}
