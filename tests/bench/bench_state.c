/*
 * Memory and start-up reconcile of the installed service (edge_bench, docs/performance.md).
 *
 * Reconcile: for each count N (0 first, for the fixed cost of a start), the service is stopped,
 * its state file is replaced by one holding N leases (ACTIVE, KEEP_AFTER_EXIT, distinct ports, one
 * image, expiring in two hours) and the firewall double's store by exactly their N rules, made
 * through the production backend in this process (edge_fw_add_rule of reconcile_spec_from_lease,
 * so the shapes are the service's own and reconcile finds nothing to repair).  Then the clock runs
 * from StartService until a STATUS reply shows the "reconcile" check done (polled every 2 ms on
 * one connection): process start, state load, firewall listing, comparison.  Each count is
 * started RECONCILE_REPEATS times (the same state and rules: passes that change nothing) and the
 * medians are kept.  Figures: reconcile_<N>_ms (start -> done), reconcile_<N>_after_ready_ms
 * (the pipe's first answer -> done; zero when the pass ended before the pipe opened).  Process
 * start under a loaded Wine varies by tens of milliseconds, more than 1,000 rules cost, so the
 * growth with the count is measured in process (timed_pass_in_process).
 */
#include "bench.h"

#include "edge/lease.h"
#include "edge/state_file.h"
#include "firewall.h"
#include "fwdouble_control.h"
#include "leases.h"
#include "reconcile.h"

#include <psapi.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_IMAGE       "C:\\Program Files\\EdgeBench\\bench-app.exe"
#define BENCH_SID         "S-1-5-21-1004336348-1177238915-682003330-1001"
#define RECONCILE_WAIT_MS 120000u

/*
 * Windows fills PrivateUsage (= PagefileUsage, the commit charge).  Wine 8 leaves PrivateUsage 0
 * for another process and reports as PagefileUsage its anonymous resident memory (RssAnon +
 * VmSwap from /proc), the closest it has; the larger of the two is taken.
 */
double bench_process_private_bytes(HANDLE h)
{
    PROCESS_MEMORY_COUNTERS_EX pmc;

    memset(&pmc, 0, sizeof(pmc));
    pmc.cb = sizeof(pmc);
    if (!GetProcessMemoryInfo(h, (PROCESS_MEMORY_COUNTERS *)&pmc, sizeof(pmc))) {
        fprintf(stderr, "edge_bench: GetProcessMemoryInfo: error %lu\n", GetLastError());
        return 0;
    }
    return (double)(pmc.PrivateUsage > pmc.PagefileUsage ? pmc.PrivateUsage : pmc.PagefileUsage);
}

double bench_service_private_bytes(void)
{
    DWORD state = 0, pid = 0;
    HANDLE h;
    double v;

    if (itest_svc_query(&state, &pid) != ERROR_SUCCESS || pid == 0)
        return 0;
    h = OpenProcess(PROCESS_QUERY_INFORMATION | PROCESS_VM_READ, FALSE, pid);
    if (!h) {
        fprintf(stderr, "edge_bench: OpenProcess(%lu): error %lu\n", (unsigned long)pid,
                GetLastError());
        return 0;
    }
    v = bench_process_private_bytes(h);
    CloseHandle(h);
    return v;
}

DWORD bench_status(itc *c, uint8_t *reconcile_state, uint32_t *active)
{
    edge_msg req, rep;
    edge_list_iter it;
    edge_check chk;
    DWORD err;

    *reconcile_state = EDGE_CHECK_UNKNOWN;
    *active = 0;
    memset(&req, 0, sizeof(req));
    req.type = EDGE_MSG_STATUS;
    err = itc_call(c, &req, &rep, ITEST_IO_MS);
    if (err != ERROR_SUCCESS)
        return err;
    if (rep.env.status != EDGE_OK)
        return ERROR_INVALID_DATA;
    *active = rep.u.status_rep.active_leases;
    edge_list_iter_init(&it, &rep.u.status_rep.checks);
    while (edge_list_next_check(&it, &chk))
        if (chk.name.len == 9 && memcmp(chk.name.ptr, "reconcile", 9) == 0)
            *reconcile_state = chk.state;
    return ERROR_SUCCESS;
}

static void lease_of(unsigned i, uint64_t now, edge_lease_info *l)
{
    memset(l, 0, sizeof(*l));
    l->id[0] = 0xBE;
    l->id[1] = 0x7C;
    l->id[2] = (uint8_t)i;
    l->id[3] = (uint8_t)(i >> 8);
    l->id[4] = (uint8_t)(i >> 16);
    l->id[15] = 0x5A;
    l->owner_sid = BENCH_SID;
    l->image_path = BENCH_IMAGE;
    l->protocol = (i & 1) ? EDGE_LEASE_PROTO_UDP : EDGE_LEASE_PROTO_TCP;
    l->port_lo = l->port_hi = (uint16_t)(20000 + i / 2);
    l->edge_option = EDGE_LEASE_EDGE_DEFER_TO_APP;
    l->created = now;
    l->expires = now + 7200;
    l->flags = EDGE_LEASE_FLAG_KEEP_AFTER_EXIT;
    l->state = EDGE_LEASE_ACTIVE;
}

static DWORD write_file(const wchar_t *path, const uint8_t *buf, size_t len)
{
    HANDLE f = CreateFileW(path, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
    DWORD put = 0, err = ERROR_SUCCESS;

    if (f == INVALID_HANDLE_VALUE)
        return GetLastError();
    if (!WriteFile(f, buf, (DWORD)len, &put, NULL) || put != len)
        err = GetLastError() ? GetLastError() : ERROR_WRITE_FAULT;
    CloseHandle(f);
    return err;
}

/* State file with N leases, the double's store with their N rules (service stopped). */
static bool seed(unsigned n)
{
    edge_lease_table *t = NULL;
    edge_fw_backend *fw = NULL;
    edge_fw_config cfg;
    edge_fw_result res;
    wchar_t dir[MAX_PATH], path[MAX_PATH];
    uint64_t now = (uint64_t)time(NULL);
    uint8_t *buf = NULL;
    size_t len = 0;
    bool ok = false;
    unsigned i;

    if (itest_service_data_path(L"EdgeBroker", dir, MAX_PATH) != ERROR_SUCCESS ||
        edge_lease_table_create(NULL, &t) != EDGE_OK)
        goto out;
    memset(&cfg, 0, sizeof(cfg));
    if (fwdc_store_reset() != S_OK || edge_fw_start(&cfg, &fw, &res) != EDGE_OK)
        goto out;
    for (i = 0; i < n; i++) {
        edge_lease_info l;
        edge_fw_rule_spec spec;
        lease_of(i, now, &l);
        if (edge_lease_table_add(t, &l, NULL) != EDGE_OK ||
            reconcile_spec_from_lease(&l, EDGE_FW_PROFILE_ALL, &spec) != EDGE_OK)
            goto out;
        if (edge_fw_add_rule(fw, &spec, &res) != EDGE_OK) {
            reconcile_spec_free(&spec);
            goto out;
        }
        reconcile_spec_free(&spec);
    }
    if (edge_sf_serialize(t, 1, &buf, &len) != EDGE_SF_OK)
        goto out;
    swprintf(path, MAX_PATH, L"%ls\\state.b.bin", dir);
    DeleteFileW(path);
    swprintf(path, MAX_PATH, L"%ls\\state.a.bin", dir);
    ok = write_file(path, buf, len) == ERROR_SUCCESS;
out:
    if (!ok)
        fprintf(stderr, "edge_bench: seeding %u leases and rules failed\n", n);
    edge_sf_buffer_free(buf);
    edge_fw_stop(fw);
    edge_lease_table_destroy(t);
    return ok;
}

/* StartService -> reconcile done (*ms) and first hello -> reconcile done (*after_ready_ms). */
static bool timed_start(double *ms, double *after_ready_ms, uint32_t *active)
{
    double t0 = bench_now_us(), ready = 0;
    uint8_t rs = EDGE_CHECK_UNKNOWN;
    itc *c = itc_new();
    bool ok = false;

    if (!c)
        return false;
    if (itest_svc_start(60000) != ERROR_SUCCESS) {
        fprintf(stderr, "edge_bench: the service did not start\n");
        goto out;
    }
    while (bench_now_us() - t0 < RECONCILE_WAIT_MS * 1000.0) {
        if (c->h == INVALID_HANDLE_VALUE) {
            if (itc_connect(c, 5000) != ERROR_SUCCESS)
                goto out;
            ready = bench_now_us();
        }
        if (bench_status(c, &rs, active) == ERROR_SUCCESS && rs != EDGE_CHECK_UNKNOWN)
            break;
        Sleep(2);
    }
    *ms = (bench_now_us() - t0) / 1000.0;
    *after_ready_ms = (bench_now_us() - ready) / 1000.0;
    ok = rs == EDGE_CHECK_ON;
    if (!ok)
        fprintf(stderr, "edge_bench: reconcile did not finish cleanly (check state %u)\n", rs);
out:
    itc_free(c);
    return ok;
}

/*
 * The same work without the process start, whose noise (tens of ms under a loaded Wine) hides
 * what grows with the rules: in this process, on the service's state directory and the double's
 * store (service stopped), leases_create (state load, firewall backend start) and one
 * leases_reconcile_now (list the group, plan, act: nothing to change), timed apart; the minimum
 * of five runs is kept.
 */
static bool timed_pass_in_process(double *load_ms, double *pass_ms)
{
    struct leases_params p;
    struct leases_result res;
    struct leases_reconcile_report rep;
    struct leases *m = NULL;
    wchar_t dir[MAX_PATH];
    double t0, t1;
    bool ok;

    if (itest_service_data_path(L"EdgeBroker", dir, MAX_PATH) != ERROR_SUCCESS)
        return false;
    memset(&p, 0, sizeof(p));
    p.state_dir = dir;
    leases_config_defaults(&p.config);
    t0 = bench_now_us();
    if (leases_create(&p, &m, &res) != EDGE_OK) {
        fprintf(stderr, "edge_bench: leases_create: %s\n", res.detail);
        return false;
    }
    t1 = bench_now_us();
    ok = leases_reconcile_now(m, &rep) == EDGE_OK && rep.restored == 0 && rep.repaired == 0 &&
         rep.orphans_removed == 0;
    *pass_ms = (bench_now_us() - t1) / 1000.0;
    *load_ms = (t1 - t0) / 1000.0;
    if (!ok)
        fprintf(stderr,
                "edge_bench: in-process pass: %s, %lu listed, %lu restored, %lu repaired, "
                "%lu orphans\n",
                edge_status_name(rep.status), (unsigned long)rep.rules_listed,
                (unsigned long)rep.restored, (unsigned long)rep.repaired,
                (unsigned long)rep.orphans_removed);
    leases_destroy(m);
    return ok;
}

#define RECONCILE_REPEATS 3u

bool bench_reconcile(const unsigned *counts, unsigned ncounts)
{
    double pass_first = 0, pass_last = 0, pass_base = 0;
    unsigned i, k, r, all[5], nall = 0, largest = 0;
    bool ok = true;

    all[nall++] = 0;
    for (i = 0; i < ncounts && nall < 5; i++)
        if (counts[i])
            all[nall++] = counts[i];
    for (k = 0; k < nall && ok; k++) {
        char name[48];
        double ms[RECONCILE_REPEATS], after[RECONCILE_REPEATS], med, med_after;
        uint32_t active = 0;
        long rules;
        if (itest_svc_stop(30000, NULL) != ERROR_SUCCESS || !seed(all[k])) {
            ok = false;
            break;
        }
        {
            /* Minimum of 5: the uncontended cost (this machine is shared; medians wander). */
            double load[5], pass[5], ml, mp;
            for (r = 0; r < 5 && ok; r++)
                ok = timed_pass_in_process(&load[r], &pass[r]);
            if (!ok)
                break;
            ml = bench_pct(load, 5, 0);
            mp = bench_pct(pass, 5, 0);
            printf("  in process, %5u leases and rules: load %8.1f ms, reconcile pass %8.1f ms\n",
                   all[k], ml, mp);
            snprintf(name, sizeof(name), "load_%u_in_process_ms", all[k]);
            bench_add(name, ml, "ms", 0);
            snprintf(name, sizeof(name), "pass_%u_in_process_ms", all[k]);
            bench_add(name, mp, "ms", 0);
            /* Per lease, the empty start's fixed cost taken off. */
            if (all[k] == 0)
                pass_base = ml + mp;
            else if (pass_first == 0)
                pass_first = (ml + mp - pass_base) / all[k];
            else
                pass_last = (ml + mp - pass_base) / all[k];
        }
        /* The same state and rules each time: a pass that finds nothing to change. */
        for (r = 0; r < RECONCILE_REPEATS && ok; r++) {
            if (r > 0 && itest_svc_stop(30000, NULL) != ERROR_SUCCESS)
                ok = false;
            else if (!timed_start(&ms[r], &after[r], &active))
                ok = false;
        }
        if (!ok)
            break;
        med = bench_pct(ms, RECONCILE_REPEATS, 0.5);
        med_after = bench_pct(after, RECONCILE_REPEATS, 0.5);
        rules = itest_fw_group_count();
        printf("  start-up reconcile, %5u leases and rules: %8.1f ms from start, %8.1f ms after "
               "the pipe answered (medians of %u; active %lu, rules %ld)\n",
               all[k], med, med_after, RECONCILE_REPEATS, (unsigned long)active, rules);
        if (active != all[k] || rules != (long)all[k]) {
            fprintf(stderr, "edge_bench: after reconcile %lu leases, %ld rules; expected %u\n",
                    (unsigned long)active, rules, all[k]);
            ok = false;
        }
        snprintf(name, sizeof(name), "reconcile_%u_ms", all[k]);
        bench_add(name, med, "ms", 0);
        snprintf(name, sizeof(name), "reconcile_%u_after_ready_ms", all[k]);
        bench_add(name, med_after, "ms", 0);
        largest = all[k];
    }
    /* Load + pass per lease (minus the empty start) at the largest count over the smallest non-zero
     * one: 1.0 is linear, below 1 the fixed costs still show at the smaller count. */
    if (ok && pass_first > 0 && pass_last > 0)
        bench_add("reconcile_in_process_linearity", pass_last / pass_first, "ratio", 0);
    if (ok && largest) {
        char name[48];
        snprintf(name, sizeof(name), "private_bytes_%u_leases", largest);
        bench_add(name, bench_service_private_bytes() / 1024.0, "KiB", 0);
    }
    return ok;
}
