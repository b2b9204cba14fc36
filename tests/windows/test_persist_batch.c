/*
 * Deferred persistence of renewals (store_save_deferred, lm_persist_renewal): a renewal that moves
 * an expiry later reaches disk within the defer delay or at shutdown, bursts coalesce into few
 * writes, grants and ends stay durable before they return, a crash (the process terminated)
 * loses at most the deferred renewal, and a failed deferred write is reported and retried.
 * (Renewals never shorten a lease: edge_lease_table_renew keeps the later expiry.)
 *
 * "What is on disk" is read by opening a second store on the same directory, which reads exactly
 * what a restart after a crash at that instant would read.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <windows.h>
#include <sddl.h>
#include <shellapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caller.h"
#include "edge/lease.h"
#include "fwdouble_control.h"
#include "leases.h"
#include "store.h"
#include "testfs.h"
#include "svct_caller.h"

#define APP1          L"C:\\Program Files\\Example\\app.exe"
#define APP1U         "C:\\Program Files\\Example\\app.exe"
#define USER1         "S-1-5-21-1004336348-1177238915-682003330-1001"
#define LONG_DEFER_MS 600000u /* nothing but a flush or close writes within a test */

struct fixture {
    wchar_t dir[MAX_PATH];
    struct leases *m;
    struct caller_identity u1;
    HANDLE child;
};

static struct fixture g;
static unsigned g_serial;

static bool identity(struct caller_identity *id, const char *sid, const wchar_t *image)
{
    size_t i;

    if (!svct_identity(id, sid, image))
        return false;
    for (i = 0; i < CALLER_SHA256_LEN; i++)
        id->image_sha256[i] = (uint8_t)(0x40 + i);
    return true;
}

static edge_status start_manager(const wchar_t *dir, struct leases **out)
{
    struct leases_params p;
    struct leases_result res;
    edge_status st;

    memset(&p, 0, sizeof(p));
    p.state_dir = dir;
    leases_config_defaults(&p.config);
    p.reconcile_interval_ms = 600000;
    p.retry_initial_ms = 60000;
    p.retry_max_ms = 240000;
    st = leases_create(&p, out, &res);
    if (st != EDGE_OK)
        print_message("leases_create: %s %s\n", edge_status_name(res.status), res.detail);
    return st;
}

static void start(void)
{
    assert_int_equal(start_manager(g.dir, &g.m), EDGE_OK);
}

static void stop(void)
{
    leases_destroy(g.m);
    g.m = NULL;
}

static int setup(void **state)
{
    wchar_t tmp[MAX_PATH];

    (void)state;
    if (!fwdc_double_registered() || FAILED(fwdc_faults_clear()) || FAILED(fwdc_store_reset()))
        return -1;
    memset(&g, 0, sizeof(g));
    GetTempPathW(MAX_PATH, tmp);
    swprintf(g.dir, MAX_PATH, L"%lsedge-persist-%lu-%llu-%u", tmp, GetCurrentProcessId(),
             (unsigned long long)GetTickCount64(), ++g_serial);
    return identity(&g.u1, USER1, APP1) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    stop();
    if (g.child) {
        TerminateProcess(g.child, 1);
        WaitForSingleObject(g.child, 5000);
        CloseHandle(g.child);
    }
    caller_identity_clear(&g.u1);
    testfs_remove_flat_dir(g.dir);
    (void)fwdc_store_reset();
    return 0;
}

/* A request as the policy engine would have allowed it, for USER1's APP1. */
static struct leases_request tcp(const struct caller_identity *id, uint16_t port, uint32_t seconds)
{
    struct leases_request r;

    memset(&r, 0, sizeof(r));
    r.protocol = EDGE_IPPROTO_TCP;
    r.port_lo = r.port_hi = port;
    r.seconds = seconds;
    r.flags = EDGE_LEASE_F_KEEP_AFTER_EXIT;
    r.edge_option = EDGE_TRAVERSAL_DEFER_TO_APP;
    r.owner_sid = USER1;
    r.image_path = APP1U;
    r.image_sha256 = id->image_sha256;
    return r;
}

static uint64_t grant(struct leases *m, const struct caller_identity *id, uint16_t port,
                      uint32_t seconds, uint8_t lease_id[16])
{
    struct leases_request r = tcp(id, port, seconds);
    struct leases_view *v = NULL;
    struct leases_result res;
    uint64_t expires;

    assert_int_equal(leases_grant(m, id, &r, &v, &res), EDGE_OK);
    memcpy(lease_id, v->items[0].id, 16);
    expires = v->items[0].expires;
    free(v);
    return expires;
}

static uint64_t renew(struct leases *m, const struct caller_identity *id, const uint8_t lease[16],
                      uint32_t seconds)
{
    struct leases_view *v = NULL;
    struct leases_result res;
    uint64_t expires;

    assert_int_equal(leases_renew(m, id, lease, true, seconds, &v, &res), EDGE_OK);
    expires = v->items[0].expires;
    free(v);
    return expires;
}

/* The lease's expiry as a restart would load it now (0: not on disk). */
static uint64_t disk_expiry(const uint8_t lease[16])
{
    struct store *s = NULL;
    edge_lease_table *t = NULL;
    struct store_load_report rep;
    edge_lease_info info;
    uint64_t e = 0;

    assert_int_equal(store_open(g.dir, NULL, &s, &t, &rep), EDGE_OK);
    if (edge_lease_table_get(t, lease, &info))
        e = info.expires;
    store_close(s);
    edge_lease_table_destroy(t);
    return e;
}

static store_stats stats(void)
{
    store_stats s;
    store_get_stats(leases_store_for_test(g.m), &s);
    return s;
}

/* ---- the lease manager --------------------------------------------------------------------- */

static void test_renewal_deferred_then_flushed_at_destroy(void **state)
{
    uint8_t id[16];
    uint64_t granted, renewed;

    (void)state;
    start();
    store_set_defer_ms(leases_store_for_test(g.m), LONG_DEFER_MS);
    granted = grant(g.m, &g.u1, 7000, 600, id);
    assert_int_equal(disk_expiry(id), granted); /* a grant is durable when it returns */
    renewed = renew(g.m, &g.u1, id, 5000);
    assert_true(renewed > granted);
    assert_true(stats().pending);
    assert_int_equal(stats().deferred_requests, 1);
    /* A crash now would find the previous, complete generation: the renewal alone is lost. */
    assert_int_equal(disk_expiry(id), granted);
    stop(); /* service stop: the pending renewal is written */
    assert_int_equal(disk_expiry(id), renewed);
    start();
    {
        struct leases_view *v = NULL;
        struct leases_result res;
        assert_int_equal(leases_show(g.m, &g.u1, id, &v, &res), EDGE_OK);
        assert_int_equal(v->items[0].expires, renewed);
        free(v);
    }
}

/* The deferred write has happened: nothing is owed AND the write is counted.  `pending` alone
 * is not enough: the writer clears it when it takes its snapshot, before the file is written. */
static bool deferred_write_done(const store_stats *before)
{
    store_stats now = stats();
    return !now.pending && now.deferred_writes > before->deferred_writes;
}

static void test_burst_of_renewals_coalesces(void **state)
{
    uint8_t id[16];
    uint64_t last = 0;
    store_stats before, after;
    DWORD t0;
    int i;

    (void)state;
    start();
    (void)grant(g.m, &g.u1, 7001, 600, id);
    before = stats();
    for (i = 0; i < 100; i++)
        last = renew(g.m, &g.u1, id, 1000u + (uint32_t)i * 60u); /* each one later */
    assert_int_equal(stats().deferred_requests - before.deferred_requests, 100);
    /* The default delay: on disk within about STORE_DEFER_MS, with no flush asked for. */
    t0 = GetTickCount();
    while (!deferred_write_done(&before) && GetTickCount() - t0 < 10u * STORE_DEFER_MS)
        Sleep(20);
    after = stats();
    assert_false(after.pending);
    print_message("100 renewals -> %llu file writes\n",
                  (unsigned long long)(after.saves + after.deferred_writes - before.saves -
                                       before.deferred_writes));
    assert_int_equal(after.saves, before.saves); /* no synchronous save at all */
    assert_true(after.deferred_writes - before.deferred_writes >= 1);
    assert_true(after.deferred_writes - before.deferred_writes <= 10);
    assert_int_equal(disk_expiry(id), last);
}

static void test_grant_and_release_stay_synchronous(void **state)
{
    uint8_t a[16], b[16];
    struct leases_result res;
    uint64_t ea;
    store_stats s0;

    (void)state;
    start();
    store_set_defer_ms(leases_store_for_test(g.m), LONG_DEFER_MS);
    ea = grant(g.m, &g.u1, 7002, 600, a);
    (void)renew(g.m, &g.u1, a, 3000); /* pending */
    s0 = stats();
    assert_true(s0.pending);
    /* A grant writes the whole table, the pending renewal included. */
    (void)grant(g.m, &g.u1, 7003, 600, b);
    assert_false(stats().pending);
    assert_true(stats().superseded > s0.superseded);
    assert_true(disk_expiry(a) > ea);
    assert_true(disk_expiry(b) != 0);
    assert_int_equal(leases_release(g.m, &g.u1, b, &res), EDGE_OK);
    assert_int_equal(disk_expiry(b), 0); /* an end is durable when it returns */
}

static void test_failed_deferred_write_reported_and_retried(void **state)
{
    struct store *s;
    uint8_t id[16];
    uint64_t granted, renewed;
    struct leases_stats ls;

    (void)state;
    start();
    s = leases_store_for_test(g.m);
    store_set_defer_ms(s, LONG_DEFER_MS);
    granted = grant(g.m, &g.u1, 7005, 600, id);
    renewed = renew(g.m, &g.u1, id, 5000);
    store_set_write_limit(s, 10);
    assert_int_equal(store_flush(s), EDGE_E_STORAGE);
    assert_int_equal(store_deferred_error(s), ERROR_DISK_FULL);
    assert_true(stats().pending); /* still owed */
    assert_int_equal(disk_expiry(id), granted);
    /* The next renewal tells the manager: status/doctor show the store dirty. */
    renewed = renew(g.m, &g.u1, id, 5001);
    leases_get_stats(g.m, &ls);
    assert_true(ls.store_dirty);
    assert_int_equal(store_flush(s), EDGE_OK);
    assert_int_equal(store_deferred_error(s), ERROR_SUCCESS);
    assert_false(stats().pending);
    assert_int_equal(disk_expiry(id), renewed);
}

/* ---- a real crash: a child process terminated with a renewal pending ------------------------ */

/* Child: grant, renew (deferred for 10 minutes), report both expiries, then wait to be killed. */
static int crash_child(const wchar_t *dir, const wchar_t *report)
{
    struct caller_identity id;
    struct leases *m = NULL;
    uint8_t lease[16];
    uint64_t granted, renewed;
    wchar_t tmp[MAX_PATH];
    char text[160];
    DWORD n;
    HANDLE f;

    if (!identity(&id, USER1, APP1) || start_manager(dir, &m) != EDGE_OK)
        return 2;
    store_set_defer_ms(leases_store_for_test(m), LONG_DEFER_MS);
    granted = grant(m, &id, 7010, 600, lease);
    renewed = renew(m, &id, lease, 5000);
    snprintf(text, sizeof(text), "%llu %llu ", (unsigned long long)granted,
             (unsigned long long)renewed);
    for (n = 0; n < 16; n++)
        snprintf(text + strlen(text), sizeof(text) - strlen(text), "%02x", lease[n]);
    swprintf(tmp, MAX_PATH, L"%ls.tmp", report);
    f = CreateFileW(tmp, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
    if (f == INVALID_HANDLE_VALUE || !WriteFile(f, text, (DWORD)strlen(text), &n, NULL))
        return 3;
    CloseHandle(f);
    if (!MoveFileExW(tmp, report, MOVEFILE_REPLACE_EXISTING))
        return 4;
    Sleep(INFINITE); /* terminated by the parent: leases_destroy never runs */
    return 0;
}

static void test_crash_loses_only_the_renewal(void **state)
{
    wchar_t self[MAX_PATH], cmd[3 * MAX_PATH], report[MAX_PATH];
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    unsigned long long granted = 0, renewed = 0;
    uint8_t id[16];
    char text[160], hex[40];
    DWORD n = 0, t0;
    HANDLE f = INVALID_HANDLE_VALUE;
    int i;

    (void)state;
    swprintf(report, MAX_PATH, L"%ls.child", g.dir);
    DeleteFileW(report);
    assert_true(GetModuleFileNameW(NULL, self, MAX_PATH) > 0);
    swprintf(cmd, 3 * MAX_PATH, L"\"%ls\" --crash-child \"%ls\" \"%ls\"", self, g.dir, report);
    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    assert_true(CreateProcessW(self, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi));
    CloseHandle(pi.hThread);
    g.child = pi.hProcess;
    t0 = GetTickCount();
    while (GetTickCount() - t0 < 30000 && WaitForSingleObject(g.child, 0) == WAIT_TIMEOUT) {
        f = CreateFileW(report, GENERIC_READ, 0, NULL, OPEN_EXISTING, 0, NULL);
        if (f != INVALID_HANDLE_VALUE)
            break;
        Sleep(50);
    }
    assert_true(f != INVALID_HANDLE_VALUE);
    assert_true(ReadFile(f, text, sizeof(text) - 1, &n, NULL));
    CloseHandle(f);
    DeleteFileW(report);
    text[n] = '\0';
    assert_int_equal(sscanf(text, "%llu %llu %32s", &granted, &renewed, hex), 3);
    for (i = 0; i < 16; i++) {
        unsigned v = 0;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        id[i] = (uint8_t)v;
    }
    assert_true(renewed > granted);
    /* The crash. */
    assert_true(TerminateProcess(g.child, 9));
    assert_int_equal(WaitForSingleObject(g.child, 10000), WAIT_OBJECT_0);
    CloseHandle(g.child);
    g.child = NULL;

    /* The restart loads the last complete generation: the lease with its granted expiry. */
    assert_int_equal(disk_expiry(id), granted);
    start();
    {
        struct leases_view *v = NULL;
        struct leases_result res;
        struct leases_reconcile_report rr;
        wchar_t name[EDGE_FW_NAME_CHARS];
        assert_int_equal(leases_show(g.m, &g.u1, id, &v, &res), EDGE_OK);
        assert_int_equal(v->items[0].expires, granted);
        free(v);
        /* Its rule is there and reconcile keeps rules and leases equal. */
        assert_int_equal(leases_reconcile_now(g.m, &rr), EDGE_OK);
        edge_fw_rule_name(id, name);
        assert_int_equal(fwdc_store_count_named(name), 1);
        assert_int_equal(rr.orphans_removed, 0);
    }
}

/* ---- the store alone ----------------------------------------------------------------------- */

static void test_store_save_supersedes_and_flush_is_idempotent(void **state)
{
    struct store *s = NULL;
    edge_lease_table *t = NULL;
    struct store_load_report rep;
    edge_lease_info info;
    SRWLOCK lock = SRWLOCK_INIT;
    store_stats st;

    (void)state;
    assert_int_equal(store_open(g.dir, NULL, &s, &t, &rep), EDGE_OK);
    memset(&info, 0, sizeof(info));
    info.id[0] = 1;
    info.owner_sid = USER1;
    info.image_path = "C:\\Program Files\\Example\\app.exe";
    info.protocol = EDGE_LEASE_PROTO_TCP;
    info.port_lo = info.port_hi = 7100;
    info.edge_option = EDGE_LEASE_EDGE_DEFER_TO_APP;
    info.created = 1700000000u;
    info.expires = 1700003600u;
    info.state = EDGE_LEASE_ACTIVE;
    assert_int_equal(edge_lease_table_add(t, &info, NULL), EDGE_OK);
    store_set_defer_ms(s, LONG_DEFER_MS);
    AcquireSRWLockExclusive(&lock);
    assert_int_equal(store_save_deferred(s, t, &lock), EDGE_OK);
    assert_int_equal(store_save_deferred(s, t, &lock), EDGE_OK);
    ReleaseSRWLockExclusive(&lock);
    assert_int_equal(store_generation(s), 0);
    store_get_stats(s, &st);
    assert_true(st.pending);
    assert_int_equal(st.deferred_requests, 2);
    assert_int_equal(store_save(s, t), EDGE_OK);
    assert_int_equal(store_generation(s), 1);
    store_get_stats(s, &st);
    assert_false(st.pending);
    assert_int_equal(st.saves, 1);
    assert_int_equal(st.superseded, 1);
    assert_int_equal(store_flush(s), EDGE_OK); /* nothing left to write */
    assert_int_equal(store_generation(s), 1);
    /* Deferred then flushed: the next generation, +1 (no gap). */
    AcquireSRWLockExclusive(&lock);
    assert_int_equal(store_save_deferred(s, t, &lock), EDGE_OK);
    ReleaseSRWLockExclusive(&lock);
    assert_int_equal(store_flush(s), EDGE_OK);
    assert_int_equal(store_generation(s), 2);
    store_get_stats(s, &st);
    assert_int_equal(st.deferred_writes, 1);
    /* Delay 0: store_save_deferred is store_save. */
    store_set_defer_ms(s, 0);
    AcquireSRWLockExclusive(&lock);
    assert_int_equal(store_save_deferred(s, t, &lock), EDGE_OK);
    ReleaseSRWLockExclusive(&lock);
    assert_int_equal(store_generation(s), 3);
    store_close(s);
    edge_lease_table_destroy(t);
}

/* Child mode (--crash-child DIR REPORT) before cmocka, else the tests. */
int main(void)
{
    int argc = 0;
    wchar_t **argv = CommandLineToArgvW(GetCommandLineW(), &argc);

    if (argv && argc == 4 && wcscmp(argv[1], L"--crash-child") == 0)
        return crash_child(argv[2], argv[3]);
    LocalFree(argv);
    {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_renewal_deferred_then_flushed_at_destroy, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_burst_of_renewals_coalesces, setup, teardown),
            cmocka_unit_test_setup_teardown(test_grant_and_release_stay_synchronous, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_failed_deferred_write_reported_and_retried, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_crash_loses_only_the_renewal, setup, teardown),
            cmocka_unit_test_setup_teardown(test_store_save_supersedes_and_flush_is_idempotent,
                                            setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
    }
}
