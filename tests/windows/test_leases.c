/*
 * The lease manager (service/leases*.c, lease_*.c) against the firewall conformance double and a
 * private state directory: grant -> rule shape, renew, release, expiry, client exit, restart,
 * reconcile (orphans, deleted and edited rules, ENDING leftovers, back-off), firewall and storage
 * failures leaving nothing behind, quotas, conflicts, listing pages, purge, ineffective leases,
 * the policy scope re-checked at renewal, grant and reload (leases_end_refused).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <windows.h>
#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "caller.h"
#include "firewall.h"
#include "fwdouble_control.h"
#include "leases.h"
#include "store.h"
#include "testfs.h"
#include "svct_caller.h"
#include "svct_audit.h"

#define APP1  L"C:\\Program Files\\Example\\app.exe"
#define APP1U "C:\\Program Files\\Example\\app.exe"
#define APP2  L"C:\\Program Files\\Other\\peer.exe"
#define DENY  L"C:\\Unlisted\\tool.exe"
#define USER1 "S-1-5-21-1004336348-1177238915-682003330-1001"
#define USER2 "S-1-5-21-1004336348-1177238915-682003330-1002"
#define ADMIN "S-1-5-21-1004336348-1177238915-682003330-500"

struct fixture {
    wchar_t dir[MAX_PATH];
    struct leases_config cfg;
    audit_log *audit;
    struct leases *m;
    HANDLE child; /* a process a test started: terminated in teardown even after a failure */
};

static struct fixture g;
static unsigned g_serial;

/* ---- helpers ------------------------------------------------------------------------------- */

static void identity(struct caller_identity *id, const char *sid, const wchar_t *image, bool admin)
{
    size_t i;

    assert_true(svct_identity(id, sid, image));
    for (i = 0; i < CALLER_SHA256_LEN; i++)
        id->image_sha256[i] = (uint8_t)(image[wcslen(image) - 5] + i);
    id->pid = 0;
    id->elevated = id->admin_member = id->is_admin = admin;
}

static void start(void)
{
    struct leases_params p;
    struct leases_result res;

    memset(&p, 0, sizeof(p));
    p.state_dir = g.dir;
    p.config = g.cfg;
    p.audit = g.audit;
    p.reconcile_interval_ms = 600000; /* tests drive passes with leases_reconcile_now */
    p.retry_initial_ms = 60000;
    p.retry_max_ms = 240000;
    p.fwstate_max_age_ms = 1;
    if (leases_create(&p, &g.m, &res) != EDGE_OK)
        print_message("leases_create: %s %s\n", edge_status_name(res.status), res.detail);
    assert_non_null(g.m);
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
    swprintf(g.dir, MAX_PATH, L"%lsedge-leases-%lu-%llu-%u", tmp, GetCurrentProcessId(),
             (unsigned long long)GetTickCount64(), ++g_serial);
    leases_config_defaults(&g.cfg);
    if (svct_audit_open(g.dir, &g.audit) != ERROR_SUCCESS) {
        print_message("audit_open failed\n");
        return -1;
    }
    return 0;
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
    audit_close(g.audit);
    testfs_remove_flat_dir(g.dir);
    (void)fwdc_faults_clear();
    return 0;
}

/* A request as the policy engine allowed it; seconds 0: the default length. */
static struct leases_request tcp(uint16_t lo, uint16_t hi, uint32_t seconds, uint32_t flags)
{
    struct leases_request r;

    memset(&r, 0, sizeof(r));
    r.protocol = EDGE_IPPROTO_TCP;
    r.port_lo = lo;
    r.port_hi = hi;
    r.seconds = seconds ? seconds : g.cfg.default_seconds;
    r.flags = flags;
    r.edge_option = EDGE_TRAVERSAL_DEFER_TO_APP;
    return r;
}

/* Owner and application of a lease for a caller (storage for one request at a time). */
static struct leases_request for_caller(const struct caller_identity *id, struct leases_request r)
{
    static char sid[256], path[EDGE_MAX_PATH + 1];
    char *s = NULL;

    assert_true(ConvertSidToStringSidA((PSID)id->sid, &s));
    snprintf(sid, sizeof(sid), "%s", s);
    LocalFree(s);
    assert_true(
        WideCharToMultiByte(CP_UTF8, 0, id->image_path, -1, path, sizeof(path), NULL, NULL) > 0);
    r.owner_sid = sid;
    r.image_path = path;
    r.image_sha256 = id->image_sha256;
    return r;
}

/* Grants and returns the lease id; asserts the status. */
static void grant(const struct caller_identity *id, struct leases_request r, edge_status want,
                  uint8_t lease_id[16])
{
    struct leases_view *v = NULL;
    struct leases_result res;
    edge_status st;

    r = for_caller(id, r);
    st = leases_grant(g.m, id, &r, &v, &res);

    if (st != want)
        print_message("grant: %s (%s)\n", edge_status_name(st), res.detail);
    assert_int_equal(st, want);
    assert_int_equal(res.status, st);
    if (want == EDGE_OK) {
        assert_non_null(v);
        assert_int_equal(v->count, 1);
        if (lease_id)
            memcpy(lease_id, v->items[0].id, 16);
    } else {
        assert_null(v);
    }
    free(v);
}

static fwdc_rule *ours(size_t *n)
{
    fwdc_rule *rules = NULL;

    assert_int_equal(fwdc_store_read_group(EDGE_FW_GROUP, &rules, n), S_OK);
    return rules;
}

static size_t rule_count(void)
{
    size_t n = 0;
    fwdc_rule *r = ours(&n);

    fwdc_rules_free(r, n);
    return n;
}

static bool has_rule(const uint8_t id[16])
{
    wchar_t name[EDGE_FW_NAME_CHARS];

    edge_fw_rule_name(id, name);
    return fwdc_store_count_named(name) == 1;
}

static struct leases_stats stats(void)
{
    struct leases_stats s;

    leases_get_stats(g.m, &s);
    return s;
}

static bool wait_for(bool (*cond)(void), DWORD ms)
{
    DWORD t0 = GetTickCount();

    while (!cond()) {
        if (GetTickCount() - t0 > ms)
            return false;
        Sleep(50);
    }
    return true;
}

static bool no_leases(void)
{
    return stats().leases == 0 && rule_count() == 0;
}

static bool audit_has(const char *text)
{
    wchar_t path[MAX_PATH];
    char buf[65536];
    DWORD n = 0;
    HANDLE f;

    (void)audit_flush(g.audit, 5000);
    swprintf(path, MAX_PATH, L"%ls\\audit.jsonl", g.dir);
    f = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0,
                    NULL);
    if (f == INVALID_HANDLE_VALUE)
        return false;
    (void)ReadFile(f, buf, sizeof(buf) - 1, &n, NULL);
    CloseHandle(f);
    buf[n] = '\0';
    return strstr(buf, text) != NULL;
}

/* Rewrites the double's store with every rule transformed by fn (false = drop it). */
static void edit_rules(bool (*fn)(fwdc_rule *r, void *ctx), void *ctx)
{
    fwdc_rule *all = NULL, *keep;
    size_t n = 0, i, k = 0;

    assert_int_equal(fwdc_store_read(&all, &n), S_OK);
    keep = calloc(n ? n : 1, sizeof(*keep));
    assert_non_null(keep);
    for (i = 0; i < n; i++)
        if (fn(&all[i], ctx))
            keep[k++] = all[i]; /* shallow: the strings stay owned by `all` */
    assert_int_equal(fwdc_store_reset(), S_OK);
    if (k)
        assert_int_equal(fwdc_store_add(keep, k), S_OK);
    free(keep);
    fwdc_rules_free(all, n);
}

/* ---- grant, renew, release ----------------------------------------------------------------- */

static void test_grant_creates_rule_with_shape(void **state)
{
    struct caller_identity u1;
    struct leases_request r = tcp(5000, 5010, 120, 0);
    struct leases_view *v = NULL;
    struct leases_result res;
    wchar_t name[EDGE_FW_NAME_CHARS];
    const fwdc_rule *rule;
    fwdc_rule *rules;
    edge_fw_state fs;
    uint32_t inef = 0, warn;
    size_t n = 0;

    (void)state;
    start();
    identity(&u1, USER1, APP1, false);
    u1.pid = GetCurrentProcessId();
    assert_true(DuplicateHandle(GetCurrentProcess(), GetCurrentProcess(), GetCurrentProcess(),
                                &u1.process, SYNCHRONIZE, FALSE, 0));
    r = for_caller(&u1, r);
    assert_int_equal(leases_grant(g.m, &u1, &r, &v, &res), EDGE_OK);
    assert_string_equal(v->items[0].owner_sid.ptr, USER1);
    assert_string_equal(v->items[0].image_path.ptr, APP1U);
    assert_memory_equal(v->items[0].image_sha256, u1.image_sha256, 32);
    assert_int_equal(v->items[0].port_lo, 5000);
    assert_int_equal(v->items[0].port_hi, 5010);
    assert_int_equal(v->items[0].edge_option, EDGE_TRAVERSAL_DEFER_TO_APP);
    assert_int_equal(v->items[0].expires - v->items[0].created, 120);
    /* Granted but ineffective never looks like success: state and warnings agree with doctor. */
    assert_int_equal(leases_firewall_state(g.m, true, &fs), EDGE_OK);
    warn = leases_assess(g.m, &fs, &inef, NULL, 0);
    assert_int_equal(res.warnings, warn);
    assert_int_equal(v->warnings, warn);
    assert_int_equal(v->items[0].state,
                     inef ? EDGE_LEASE_STATE_INEFFECTIVE : EDGE_LEASE_STATE_ACTIVE);
    if (inef)
        assert_true(v->detail[0] != '\0');

    rules = ours(&n);
    assert_int_equal(n, 1);
    edge_fw_rule_name(v->items[0].id, name);
    rule = fwdc_rules_find(rules, n, name);
    assert_non_null(rule);
    assert_int_equal(_wcsicmp(rule->application_name, APP1), 0);
    assert_int_equal(rule->protocol, 6);
    assert_int_equal(wcscmp(rule->local_ports, L"5000-5010"), 0);
    assert_int_equal(rule->direction, 1);
    assert_int_equal(rule->action, 1);
    assert_int_equal(rule->enabled, 1);
    assert_int_equal(rule->edge_traversal_options, 2);
    assert_int_equal(wcscmp(rule->local_user_owner, L"" USER1), 0);
    fwdc_rules_free(rules, n);
    assert_int_equal(stats().active, 1);
    assert_int_equal(stats().watches, 1); /* non-KEEP lease: the client process is watched */
    assert_true(audit_has("\"request_granted\""));
    assert_true(audit_has("\"rule_created\""));
    free(v);
    caller_identity_clear(&u1);
}

/* A lease an approver made (no caller): bound to no process until its owner adopts it. */
static void test_approved_lease_adopted_by_owner(void **state)
{
    struct caller_identity owner, other;
    struct leases_request r = tcp(5100, 5100, 0, 0);
    struct leases_view *v = NULL;
    struct leases_result res;
    uint8_t id[16];

    (void)state;
    start();
    identity(&owner, USER1, APP1, false);
    identity(&other, USER2, APP1, false);
    r = for_caller(&owner, r);
    assert_int_equal(leases_grant(g.m, NULL, &r, &v, &res), EDGE_OK);
    memcpy(id, v->items[0].id, 16);
    assert_int_equal(v->items[0].expires - v->items[0].created, g.cfg.default_seconds);
    free(v);
    assert_int_equal(stats().watches, 0);
    other.pid = owner.pid = GetCurrentProcessId();
    assert_true(DuplicateHandle(GetCurrentProcess(), GetCurrentProcess(), GetCurrentProcess(),
                                &owner.process, SYNCHRONIZE, FALSE, 0));
    assert_true(DuplicateHandle(GetCurrentProcess(), GetCurrentProcess(), GetCurrentProcess(),
                                &other.process, SYNCHRONIZE, FALSE, 0));
    assert_int_equal(leases_adopt(g.m, &other, id), EDGE_E_NOT_FOUND); /* not the owner */
    assert_int_equal(stats().watches, 0);
    assert_int_equal(leases_adopt(g.m, &owner, id), EDGE_OK);
    assert_int_equal(stats().watches, 1); /* non-KEEP: ends with the adopting process */
    caller_identity_clear(&owner);
    caller_identity_clear(&other);
}

/* EDGE_E_QUOTA carries how long until the earliest counted lease expires. */
static void test_quota_retry_after(void **state)
{
    struct caller_identity u1;
    struct leases_request r;
    struct leases_view *v = NULL;
    struct leases_result res;

    (void)state;
    g.cfg.max_per_user = 2;
    start();
    identity(&u1, USER1, APP1, false);
    grant(&u1, tcp(5150, 5150, 900, 0), EDGE_OK, NULL);
    grant(&u1, tcp(5151, 5151, 300, 0), EDGE_OK, NULL);
    r = for_caller(&u1, tcp(5152, 5152, 600, 0));
    assert_int_equal(leases_grant(g.m, &u1, &r, &v, &res), EDGE_E_QUOTA);
    assert_true(res.retry_after >= 298 && res.retry_after <= 300);
    assert_non_null(strstr(res.detail, "MaxLeasesPerUser"));
    /* Raised live (policy reload): the same request now fits. */
    g.cfg.max_per_user = 3;
    leases_set_config(g.m, &g.cfg);
    grant(&u1, tcp(5152, 5152, 600, 0), EDGE_OK, NULL);
    caller_identity_clear(&u1);
}

static void test_renew_show_permissions(void **state)
{
    struct caller_identity u1, u2, admin;
    struct leases_view *v = NULL;
    struct leases_result res;
    uint8_t id[16];
    uint64_t before;

    (void)state;
    g.cfg.max_seconds = 1000;
    start();
    identity(&u1, USER1, APP1, false);
    identity(&u2, USER2, APP1, false);
    identity(&admin, ADMIN, APP2, true);
    grant(&u1, tcp(5300, 5300, 60, 0), EDGE_OK, id);
    assert_int_equal(leases_show(g.m, &u1, id, &v, &res), EDGE_OK);
    before = v->items[0].expires;
    free(v);
    assert_int_equal(leases_show(g.m, &u2, id, &v, &res), EDGE_E_NOT_FOUND);
    assert_int_equal(leases_renew(g.m, &u2, id, true, 600, &v, &res), EDGE_E_NOT_FOUND);
    assert_int_equal(leases_renew(g.m, &u1, id, true, 600, &v, &res), EDGE_OK);
    assert_true(v->items[0].expires >= before + 500);
    free(v);
    /* Above the maximum: capped, never refused. */
    assert_int_equal(leases_renew(g.m, &admin, id, true, 5000, &v, &res), EDGE_OK);
    assert_true(v->items[0].expires <= v->items[0].created + 1000 + 60 + 5);
    free(v);
    assert_int_equal(leases_renew(g.m, &u1, id, true, 0, &v, &res), EDGE_E_BAD_REQUEST);
    assert_true(audit_has("\"lease_renewed\""));
    caller_identity_clear(&u1);
    caller_identity_clear(&u2);
    caller_identity_clear(&admin);
}

static void test_release_and_restart(void **state)
{
    struct caller_identity u1, u2;
    struct leases_result res;
    uint8_t a[16], b[16];

    (void)state;
    start();
    identity(&u1, USER1, APP1, false);
    identity(&u2, USER2, APP1, false);
    grant(&u1, tcp(5400, 5400, 600, 0), EDGE_OK, a);
    grant(&u1, tcp(5401, 5401, 600, EDGE_LEASE_F_KEEP_AFTER_EXIT), EDGE_OK, b);
    assert_int_equal(leases_release(g.m, &u2, a, &res), EDGE_E_NOT_FOUND);
    assert_true(has_rule(a));
    assert_int_equal(leases_release(g.m, &u1, a, &res), EDGE_OK);
    assert_false(has_rule(a));
    assert_int_equal(leases_release(g.m, &u1, a, &res), EDGE_E_NOT_FOUND);
    assert_true(audit_has("\"lease_released\""));
    /* Restart on the same directory: the remaining lease and its rule come back as they were. */
    stop();
    start();
    assert_int_equal(stats().leases, 1);
    {
        struct leases_reconcile_report rep;
        assert_int_equal(leases_reconcile_now(g.m, &rep), EDGE_OK);
        assert_int_equal(rep.rules_listed, 1);
        assert_int_equal(rep.restored + rep.repaired + rep.orphans_removed, 0);
    }
    assert_true(has_rule(b));
    /* Deleted while the service was down: restored at the next pass. */
    stop();
    assert_int_equal(fwdc_store_reset(), S_OK);
    start();
    assert_int_equal(leases_reconcile_now(g.m, NULL), EDGE_OK);
    assert_true(has_rule(b));
    assert_true(audit_has("\"reconcile_restored_rule\""));
    caller_identity_clear(&u1);
    caller_identity_clear(&u2);
}

/* ---- expiry and client exit ---------------------------------------------------------------- */

static void test_expiry_removes_rule(void **state)
{
    struct caller_identity u1;
    uint8_t id[16];

    (void)state;
    start();
    identity(&u1, USER1, APP1, false);
    grant(&u1, tcp(5500, 5500, 2, EDGE_LEASE_F_KEEP_AFTER_EXIT), EDGE_OK, id);
    assert_true(has_rule(id));
    assert_true(wait_for(no_leases, 10000));
    assert_true(audit_has("\"lease_expired\""));
    caller_identity_clear(&u1);
}

static bool only_keep_left(void)
{
    return stats().leases == 1 && rule_count() == 1;
}

static void test_client_exit_ends_non_keep_leases(void **state)
{
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    struct caller_identity child;
    wchar_t self[MAX_PATH];
    uint8_t gone[16], kept[16];

    (void)state;
    start();
    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    GetModuleFileNameW(NULL, self, MAX_PATH);
    /* A suspended copy of this test is a live process that does nothing until terminated. */
    assert_true(
        CreateProcessW(self, NULL, NULL, NULL, FALSE, CREATE_SUSPENDED, NULL, NULL, &si, &pi));
    CloseHandle(pi.hThread);
    identity(&child, USER1, APP1, false);
    child.pid = pi.dwProcessId;
    g.child = pi.hProcess;
    assert_true(DuplicateHandle(GetCurrentProcess(), pi.hProcess, GetCurrentProcess(),
                                &child.process, SYNCHRONIZE, FALSE, 0));
    grant(&child, tcp(5600, 5600, 600, 0), EDGE_OK, gone);
    grant(&child, tcp(5601, 5601, 600, EDGE_LEASE_F_KEEP_AFTER_EXIT), EDGE_OK, kept);
    assert_int_equal(stats().watches, 1);
    assert_true(TerminateProcess(pi.hProcess, 0));
    assert_true(wait_for(only_keep_left, 10000));
    assert_false(has_rule(gone));
    assert_true(has_rule(kept));
    assert_true(audit_has("\"lease_client_exited\""));
    caller_identity_clear(&child);
}

/* ---- reconcile ----------------------------------------------------------------------------- */

static bool drop_first(fwdc_rule *r, void *ctx)
{
    return !(_wcsicmp(r->name, (const wchar_t *)ctx) == 0);
}

static bool widen_ports(fwdc_rule *r, void *ctx)
{
    if (_wcsicmp(r->name, (const wchar_t *)ctx) == 0) {
        free(r->local_ports);
        r->local_ports = _wcsdup(L"1-65535");
    }
    return true;
}

static void test_reconcile_orphans_missing_edited(void **state)
{
    struct caller_identity u1;
    struct leases_reconcile_report rep;
    uint8_t a[16], b[16], stray[16];
    wchar_t name_a[EDGE_FW_NAME_CHARS], name_b[EDGE_FW_NAME_CHARS];
    wchar_t stray_name[EDGE_FW_NAME_CHARS];
    fwdc_rule extra[3];
    fwdc_rule *rules;
    size_t n = 0;

    (void)state;
    start();
    identity(&u1, USER1, APP1, false);
    grant(&u1, tcp(5700, 5700, 600, 0), EDGE_OK, a);
    grant(&u1, tcp(5701, 5702, 600, 0), EDGE_OK, b);
    edge_fw_rule_name(a, name_a);
    edge_fw_rule_name(b, name_b);
    memset(stray, 0x5A, sizeof(stray));
    edge_fw_rule_name(stray, stray_name);
    memset(extra, 0, sizeof(extra));
    extra[0].name = stray_name; /* our group, a lease id nobody holds */
    extra[0].grouping = (wchar_t *)EDGE_FW_GROUP;
    extra[1].name = (wchar_t *)L"hand-made rule"; /* our group, no lease id */
    extra[1].grouping = (wchar_t *)EDGE_FW_GROUP;
    extra[2].name = (wchar_t *)L"someone else's rule"; /* other group: never touched */
    extra[2].grouping = (wchar_t *)L"Other";
    assert_int_equal(fwdc_store_add(extra, 3), S_OK);
    edit_rules(drop_first, name_a);  /* deleted behind our back */
    edit_rules(widen_ports, name_b); /* edited behind our back */

    assert_int_equal(leases_reconcile_now(g.m, &rep), EDGE_OK);
    assert_int_equal(rep.orphans_removed, 2);
    assert_int_equal(rep.restored, 1);
    assert_int_equal(rep.repaired, 1);
    assert_int_equal(rep.failures, 0);
    rules = ours(&n);
    assert_int_equal(n, 2);
    assert_non_null(fwdc_rules_find(rules, n, name_a));
    assert_int_equal(wcscmp(fwdc_rules_find(rules, n, name_b)->local_ports, L"5701-5702"), 0);
    fwdc_rules_free(rules, n);
    assert_int_equal(fwdc_store_count_named(L"someone else's rule"), 1);
    assert_int_equal(stats().active, 2);
    assert_true(audit_has("\"reconcile_removed_orphan\""));
    assert_true(audit_has("\"reconcile_repaired_rule\""));
    /* A second pass finds nothing to do. */
    assert_int_equal(leases_reconcile_now(g.m, &rep), EDGE_OK);
    assert_int_equal(rep.orphans_removed + rep.restored + rep.repaired, 0);
    caller_identity_clear(&u1);
}

static void test_failed_removal_left_ending_then_finished(void **state)
{
    struct caller_identity u1;
    struct leases_view *v = NULL;
    struct leases_result res;
    struct leases_reconcile_report rep;
    struct leases_stats s;
    uint8_t id[16];

    (void)state;
    start();
    identity(&u1, USER1, APP1, false);
    grant(&u1, tcp(5800, 5800, 600, 0), EDGE_OK, id);
    assert_int_equal(fwdc_fault_fail_next("remove", 5, E_FAIL), S_OK);
    assert_int_not_equal(leases_release(g.m, &u1, id, &res), EDGE_OK);
    assert_true(res.status >= EDGE_E_FIREWALL && res.status <= EDGE_E_FIREWALL_INVALID);
    s = stats();
    assert_int_equal(s.ending, 1);
    assert_true(has_rule(id));
    /* Over for its owner: not listed, not renewable, shown as ENDED. */
    assert_int_equal(leases_list(g.m, &u1, false, 0, 0, 65536, &v, &res), EDGE_OK);
    assert_int_equal(v->count, 0);
    free(v);
    assert_int_equal(leases_renew(g.m, &u1, id, true, 60, &v, &res), EDGE_E_NOT_FOUND);
    assert_int_equal(leases_show(g.m, &u1, id, &v, &res), EDGE_OK);
    assert_int_equal(v->items[0].state, EDGE_LEASE_STATE_ENDED);
    free(v);
    /* Reconcile keeps failing: counted, retried with back-off that grows, never fatal. */
    assert_int_not_equal(leases_reconcile_now(g.m, &rep), EDGE_OK);
    assert_true(rep.failures > 0);
    s = stats();
    assert_true(s.reconcile_retry_ms >= 60000);
    (void)leases_reconcile_now(g.m, &rep);
    assert_true(stats().reconcile_retry_ms > s.reconcile_retry_ms);
    assert_int_equal(fwdc_faults_clear(), S_OK);
    assert_int_equal(leases_reconcile_now(g.m, &rep), EDGE_OK);
    assert_int_equal(rep.endings_finished, 1);
    assert_true(no_leases());
    assert_int_equal(stats().reconcile_retry_ms, 0);
    caller_identity_clear(&u1);
}

/* ---- failures leave nothing behind --------------------------------------------------------- */

static void test_firewall_add_failure_leaves_nothing(void **state)
{
    struct caller_identity u1;
    struct leases_request r = tcp(5900, 5900, 600, 0);
    struct leases_view *v = NULL;
    struct leases_result res;
    edge_status st;

    (void)state;
    start();
    identity(&u1, USER1, APP1, false);
    assert_int_equal(fwdc_fault_fail_next("add", 1, E_FAIL), S_OK);
    r = for_caller(&u1, r);
    st = leases_grant(g.m, &u1, &r, &v, &res);
    assert_true(st >= EDGE_E_FIREWALL && st <= EDGE_E_FIREWALL_INVALID);
    assert_null(v);
    assert_true(res.has_win32_error);
    assert_int_equal(res.win32_error, (uint32_t)E_FAIL);
    assert_true(no_leases());
    stop(); /* nothing was persisted either */
    start();
    assert_int_equal(stats().leases, 0);
    caller_identity_clear(&u1);
}

static void test_storage_failure_changes_nothing(void **state)
{
    struct caller_identity u1;
    struct leases_request r = tcp(6000, 6000, 600, 0);
    struct leases_view *v = NULL;
    struct leases_result res;
    uint8_t id[16];
    uint64_t expires;

    (void)state;
    start();
    identity(&u1, USER1, APP1, false);
    store_set_write_limit(leases_store_for_test(g.m), 10);
    r = for_caller(&u1, r);
    assert_int_equal(leases_grant(g.m, &u1, &r, &v, &res), EDGE_E_STORAGE);
    assert_true(no_leases());
    grant(&u1, r, EDGE_OK, id);
    assert_int_equal(leases_show(g.m, &u1, id, &v, &res), EDGE_OK);
    expires = v->items[0].expires;
    free(v);
    /* Renewals are deferred saves (test_persist_batch); with deferral off they are synchronous. */
    store_set_defer_ms(leases_store_for_test(g.m), 0);
    store_set_write_limit(leases_store_for_test(g.m), 10);
    assert_int_equal(leases_renew(g.m, &u1, id, true, 5000, &v, &res), EDGE_E_STORAGE);
    assert_int_equal(leases_show(g.m, &u1, id, &v, &res), EDGE_OK);
    assert_int_equal(v->items[0].expires, expires);
    free(v);
    store_set_write_limit(leases_store_for_test(g.m), 10);
    assert_int_equal(leases_release(g.m, &u1, id, &res), EDGE_E_STORAGE);
    assert_true(has_rule(id));
    assert_int_equal(stats().active, 1);
    assert_true(audit_has("\"state_write_failed\""));
    caller_identity_clear(&u1);
}

/* ---- quotas, conflicts, list, purge -------------------------------------------------------- */

static void test_quotas_and_conflicts(void **state)
{
    struct caller_identity u1, u2, p1;
    uint8_t id[16];

    (void)state;
    g.cfg.max_per_user = 2;
    g.cfg.max_per_app = 3;
    start();
    identity(&u1, USER1, APP1, false);
    identity(&u2, USER2, APP1, false);
    identity(&p1, USER2, APP2, false);
    grant(&u1, tcp(6100, 6100, 0, 0), EDGE_OK, NULL);
    grant(&u1, tcp(6101, 6101, 0, 0), EDGE_OK, NULL);
    grant(&u1, tcp(6102, 6102, 0, 0), EDGE_E_QUOTA, NULL); /* per user */
    grant(&u2, tcp(6103, 6103, 0, 0), EDGE_OK, NULL);
    grant(&u2, tcp(6104, 6104, 0, 0), EDGE_E_QUOTA, NULL); /* per application */
    /* Another image on ports the first one holds. */
    grant(&p1, tcp(6099, 6100, 0, 0), EDGE_E_CONFLICT, NULL);
    grant(&p1, tcp(6100, 6100, 0, 0), EDGE_E_CONFLICT, NULL);
    {
        struct leases_request udp = tcp(6100, 6100, 0, 0);
        udp.protocol = EDGE_IPPROTO_UDP; /* other protocol: no conflict */
        grant(&p1, udp, EDGE_OK, id);
    }
    assert_int_equal(rule_count(), 4);
    caller_identity_clear(&u1);
    caller_identity_clear(&u2);
    caller_identity_clear(&p1);
}

static void test_list_pages_and_purge(void **state)
{
    struct caller_identity u1, u2, admin;
    struct leases_view *v = NULL;
    struct leases_result res;
    uint8_t ids[7][16], seen[7][16];
    uint32_t cursor = 0, pages = 0, total = 0, removed = 0, i;
    fwdc_rule stray;

    (void)state;
    start();
    identity(&u1, USER1, APP1, false);
    identity(&u2, USER2, APP1, false);
    identity(&admin, ADMIN, APP2, true);
    for (i = 0; i < 6; i++)
        grant(&u1, tcp((uint16_t)(6200 + i), (uint16_t)(6200 + i), 0, 0), EDGE_OK, ids[i]);
    grant(&u2, tcp(6300, 6300, 0, 0), EDGE_OK, ids[6]);
    /* Own leases only, in id order, pages of whatever fits the budget: each exactly once. */
    for (;;) {
        assert_int_equal(leases_list(g.m, &u1, false, cursor, 1024, 2 * 260, &v, &res), EDGE_OK);
        assert_true(v->count >= 1 && v->count <= 2);
        for (i = 0; i < v->count; i++) {
            assert_string_equal(v->items[i].owner_sid.ptr, USER1);
            if (total)
                assert_true(memcmp(seen[total - 1], v->items[i].id, 16) < 0);
            memcpy(seen[total++], v->items[i].id, 16);
        }
        pages++;
        if (!v->more) {
            free(v);
            break;
        }
        cursor = v->next_cursor;
        free(v);
        assert_true(pages < 10);
    }
    assert_int_equal(total, 6);
    assert_true(pages >= 3);
    assert_int_equal(leases_list(g.m, &u1, true, 0, 0, 65536, &v, &res), EDGE_E_ACCESS_DENIED);
    assert_int_equal(leases_list(g.m, &admin, true, 0, 0, 65536, &v, &res), EDGE_OK);
    assert_int_equal(v->count, 7);
    assert_false(v->more);
    free(v);

    memset(&stray, 0, sizeof(stray));
    stray.name = (wchar_t *)L"left over";
    stray.grouping = (wchar_t *)EDGE_FW_GROUP;
    assert_int_equal(fwdc_store_add(&stray, 1), S_OK);
    assert_int_equal(leases_purge(g.m, &u1, &removed, &res), EDGE_E_ACCESS_DENIED);
    assert_int_equal(stats().leases, 7);
    assert_int_equal(leases_purge(g.m, &admin, &removed, &res), EDGE_OK);
    assert_int_equal(removed, 8);
    assert_true(no_leases());
    stop();
    start();
    assert_int_equal(stats().leases, 0);
    caller_identity_clear(&u1);
    caller_identity_clear(&u2);
    caller_identity_clear(&admin);
}

static void test_ineffective_when_no_current_profile(void **state)
{
    struct caller_identity u1;
    struct leases_request r = tcp(6400, 6400, 0, 0);
    struct leases_view *v = NULL;
    struct leases_result res;

    (void)state;
    g.cfg.profiles = EDGE_FW_PROFILE_PRIVATE;
    start();
    identity(&u1, USER1, APP1, false);
    /* The machine is on a public network: a private-only rule cannot take effect. */
    assert_int_equal(fwdc_fault_set("current_profiles", "4"), S_OK);
    r = for_caller(&u1, r);
    assert_int_equal(leases_grant(g.m, &u1, &r, &v, &res), EDGE_OK);
    assert_int_equal(v->items[0].state, EDGE_LEASE_STATE_INEFFECTIVE);
    assert_non_null(strstr(v->detail, "not effective"));
    free(v);
    caller_identity_clear(&u1);
}

/* Renewal and reload re-check the scope: Mode, AllowedProtocols, AllowedPorts (policy.md). */
static void renew_expect(const struct caller_identity *id, const uint8_t lease[16],
                         edge_status want, const char *detail)
{
    struct leases_view *v = NULL, *before = NULL, *after = NULL;
    struct leases_result res;

    assert_int_equal(leases_show(g.m, id, lease, &before, &res), EDGE_OK);
    assert_int_equal(leases_renew(g.m, id, lease, true, 5000, &v, &res), want);
    if (detail)
        assert_non_null(strstr(res.detail, detail));
    assert_int_equal(leases_show(g.m, id, lease, &after, &res), EDGE_OK);
    if (want != EDGE_OK) /* refused: the lease and its rule are as they were */
        assert_int_equal(after->items[0].expires, before->items[0].expires);
    else
        assert_true(after->items[0].expires > before->items[0].expires);
    assert_true(has_rule(lease));
    free(v);
    free(before);
    free(after);
}

static void test_policy_scope_on_renew_and_reload(void **state)
{
    struct caller_identity u1;
    struct leases_request r;
    struct leases_view *v = NULL;
    struct leases_result res;
    uint8_t a[16], b[16];

    (void)state;
    start();
    identity(&u1, USER1, APP1, false);
    grant(&u1, tcp(5400, 5410, 60, 0), EDGE_OK, a);
    grant(&u1, tcp(6000, 6000, 60, 0), EDGE_OK, b);
    renew_expect(&u1, a, EDGE_OK, NULL); /* unchanged policy */

    g.cfg.port_count = 1;
    g.cfg.ports[0].lo = g.cfg.ports[0].hi = 6000;
    leases_set_config(g.m, &g.cfg);
    renew_expect(&u1, a, EDGE_E_DENIED, "TCP 5400-5410 is outside AllowedPorts");
    renew_expect(&u1, b, EDGE_OK, NULL);
    /* A grant decided before the reload cannot slip past it. */
    r = for_caller(&u1, tcp(5500, 5500, 60, 0));
    assert_int_equal(leases_grant(g.m, &u1, &r, &v, &res), EDGE_E_DENIED);
    assert_null(v);
    /* The reload ends what it refuses: rule removed, audited as revoked by policy. */
    assert_int_equal(leases_end_refused(g.m), 1);
    assert_int_equal(leases_show(g.m, &u1, a, &v, &res), EDGE_E_NOT_FOUND);
    assert_false(has_rule(a));
    assert_true(has_rule(b));
    assert_true(audit_has("revoked by policy: TCP 5400-5410 is outside AllowedPorts"));

    g.cfg.protocols = EDGE_POLICY_PROTO_UDP;
    leases_set_config(g.m, &g.cfg);
    renew_expect(&u1, b, EDGE_E_DENIED, "protocol TCP is not in AllowedProtocols");
    g.cfg.protocols = EDGE_POLICY_PROTO_TCP;
    g.cfg.mode_off = true;
    leases_set_config(g.m, &g.cfg);
    renew_expect(&u1, b, EDGE_E_DENIED, "Mode is Off");
    assert_int_equal(leases_end_refused(g.m), 1);
    assert_true(no_leases());
    assert_true(audit_has("revoked by policy: Mode is Off"));
    caller_identity_clear(&u1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_grant_creates_rule_with_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_approved_lease_adopted_by_owner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quota_retry_after, setup, teardown),
        cmocka_unit_test_setup_teardown(test_renew_show_permissions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_and_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry_removes_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_exit_ends_non_keep_leases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconcile_orphans_missing_edited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_removal_left_ending_then_finished, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_firewall_add_failure_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_storage_failure_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quotas_and_conflicts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_pages_and_purge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ineffective_when_no_current_profile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policy_scope_on_renew_and_reload, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
