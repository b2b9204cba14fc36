/* Tests of the registry policy source (service/policy_source.c) under Wine and on Windows. */
#include <windows.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <cmocka.h>

#include "audit.h"
#include "jsonl.h"
#include "policy_source.h"
#include "testfs.h"
#include "svct_audit.h"

#define TEST_PARENT L"SOFTWARE\\EdgeBrokerTest"

static wchar_t g_policy[128], g_local[128], g_audit_dir[MAX_PATH];
static audit_log *g_audit;
static struct policy_source *g_src;
static unsigned g_serial;
static volatile LONG g_changes;

static void on_change(const struct policy_snapshot *snap, void *ctx)
{
    (void)ctx;
    assert_non_null(snap);
    InterlockedIncrement(&g_changes);
}

static int setup(void **state)
{
    (void)state;
    wchar_t tmp[MAX_PATH];
    unsigned long long t = GetTickCount64();
    swprintf(g_policy, 128, TEST_PARENT L"\\Policies-%lu-%llu-%u", GetCurrentProcessId(), t,
             g_serial);
    swprintf(g_local, 128, TEST_PARENT L"\\Local-%lu-%llu-%u", GetCurrentProcessId(), t, g_serial);
    GetTempPathW(MAX_PATH, tmp);
    swprintf(g_audit_dir, MAX_PATH, L"%lsedge_polsrc_%lu_%llu_%u", tmp, GetCurrentProcessId(), t,
             g_serial++);
    HKEY k;
    assert_int_equal(RegCreateKeyExW(HKEY_LOCAL_MACHINE, TEST_PARENT, 0, NULL, 0,
                                     KEY_ALL_ACCESS | KEY_WOW64_64KEY, NULL, &k, NULL),
                     ERROR_SUCCESS);
    RegCloseKey(k);
    assert_int_equal(svct_audit_open(g_audit_dir, &g_audit), ERROR_SUCCESS);
    g_src = NULL;
    g_changes = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    policy_source_close(g_src);
    g_src = NULL;
    audit_close(g_audit);
    g_audit = NULL;
    RegDeleteTreeW(HKEY_LOCAL_MACHINE, g_policy);
    RegDeleteTreeW(HKEY_LOCAL_MACHINE, g_local);
    RegDeleteKeyExW(HKEY_LOCAL_MACHINE, TEST_PARENT, KEY_WOW64_64KEY, 0); /* only when empty */
    testfs_remove_flat_dir(g_audit_dir);
    return 0;
}

/* ---- registry helpers ---- */

static void set_value(const wchar_t *key, const wchar_t *name, DWORD type, const void *data,
                      DWORD size)
{
    HKEY k;
    assert_int_equal(RegCreateKeyExW(HKEY_LOCAL_MACHINE, key, 0, NULL, 0,
                                     KEY_SET_VALUE | KEY_WOW64_64KEY, NULL, &k, NULL),
                     ERROR_SUCCESS);
    assert_int_equal(RegSetValueExW(k, name, 0, type, data, size), ERROR_SUCCESS);
    RegCloseKey(k);
}

static void set_sz(const wchar_t *key, const wchar_t *name, const wchar_t *v)
{
    set_value(key, name, REG_SZ, v, (DWORD)((wcslen(v) + 1) * sizeof(wchar_t)));
}

/* v: entries separated by '|' */
static void set_multi(const wchar_t *key, const wchar_t *name, const wchar_t *v)
{
    wchar_t buf[1024];
    size_t n = wcslen(v);
    memcpy(buf, v, (n + 1) * sizeof(wchar_t));
    for (size_t i = 0; i < n; i++)
        if (buf[i] == L'|')
            buf[i] = L'\0';
    buf[n + 1] = L'\0';
    set_value(key, name, REG_MULTI_SZ, buf, (DWORD)((n + 2) * sizeof(wchar_t)));
}

static void set_dword(const wchar_t *key, const wchar_t *name, DWORD v)
{
    set_value(key, name, REG_DWORD, &v, sizeof(v));
}

static void delete_value(const wchar_t *key, const wchar_t *name)
{
    HKEY k;
    assert_int_equal(RegOpenKeyExW(HKEY_LOCAL_MACHINE, key, 0, KEY_SET_VALUE | KEY_WOW64_64KEY, &k),
                     ERROR_SUCCESS);
    assert_int_equal(RegDeleteValueW(k, name), ERROR_SUCCESS);
    RegCloseKey(k);
}

static void open_source(bool watch)
{
    struct policy_source_config cfg = {NULL, g_policy, g_local, g_audit, watch, on_change, NULL};
    assert_int_equal(policy_source_open(&cfg, &g_src), ERROR_SUCCESS);
    assert_non_null(g_src);
}

/* Counts audit records of kind whose detail contains needle (NULL: any). */
static int audit_count(const char *kind, const char *needle)
{
    wchar_t path[MAX_PATH];
    char *lines[512];
    size_t len = 0;
    int found = 0;
    assert_int_equal(audit_flush(g_audit, 5000), ERROR_SUCCESS);
    swprintf(path, MAX_PATH, L"%ls\\audit.jsonl", g_audit_dir);
    char *buf = jsonl_read_file(path, &len);
    if (!buf)
        return 0;
    size_t n = jsonl_split_lines(buf, len, lines, 512);
    for (size_t i = 0; i < n; i++) {
        jsonl_obj o;
        assert_true(jsonl_parse(lines[i], strlen(lines[i]), &o));
        if (strcmp(jsonl_str(&o, "kind"), kind) != 0)
            continue;
        if (needle && (jsonl_is(&o, "detail", "null") || !strstr(jsonl_str(&o, "detail"), needle)))
            continue;
        found++;
    }
    free(buf);
    return found;
}

/* ---- tests ---- */

static void test_defaults_without_keys(void **state)
{
    (void)state;
    open_source(false);
    const struct policy_snapshot *s = policy_source_acquire(g_src);
    assert_int_equal(s->generation, 1);
    assert_int_equal(s->malformed, 0);
    assert_int_equal(s->policy.mode, EDGE_POLICY_MODE_CONSENT);
    assert_int_equal(s->policy.max_lease_seconds, 86400);
    assert_int_equal(s->policy.port_count, 1);
    for (int v = 0; v < EDGE_POLICY_V_COUNT_; v++)
        assert_int_equal(s->policy.source[v], EDGE_POLICY_SRC_DEFAULT);
    policy_snapshot_release(s);
    assert_int_equal(audit_count("policy_loaded", "17 default"), 1);
}

static void test_local_values(void **state)
{
    (void)state;
    set_sz(g_local, L"Mode", L"AllowListOnly");
    set_dword(g_local, L"MaxLeaseSeconds", 7200);
    set_multi(g_local, L"AllowedPorts", L"5000|6000-6010");
    set_multi(g_local, L"AllowedImageHashes",
              L"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
    set_sz(g_local, L"AllowedProtocols", L"UDP"); /* REG_SZ for an SZ value */
    set_sz(g_local, L"AllowedPublishers", L"CN=Contoso Ltd, O=Contoso Ltd, C=US"); /* REG_SZ as
                                                                                    * a 1-list */
    open_source(false);
    const struct policy_snapshot *s = policy_source_acquire(g_src);
    assert_int_equal(s->malformed, 0);
    assert_int_equal(s->policy.mode, EDGE_POLICY_MODE_ALLOW_LIST_ONLY);
    assert_int_equal(s->policy.source[EDGE_POLICY_V_MODE], EDGE_POLICY_SRC_LOCAL);
    assert_int_equal(s->policy.max_lease_seconds, 7200);
    assert_int_equal(s->policy.port_count, 2);
    assert_int_equal(s->policy.ports[1].lo, 6000);
    assert_int_equal(s->policy.ports[1].hi, 6010);
    assert_int_equal(s->policy.image_hash_count, 1);
    assert_int_equal(s->policy.image_hashes[0][31], 0xff);
    assert_int_equal(s->policy.protocols, EDGE_POLICY_PROTO_UDP);
    assert_int_equal(s->policy.publishers.count, 1);
    assert_string_equal(s->policy.publishers.items[0], "CN=Contoso Ltd, O=Contoso Ltd, C=US");
    assert_int_equal(s->policy.source[EDGE_POLICY_V_DEFAULT_LEASE_SECONDS],
                     EDGE_POLICY_SRC_DEFAULT);
    policy_snapshot_release(s);
}

static void test_policy_wins_over_local(void **state)
{
    (void)state;
    set_sz(g_local, L"Mode", L"AllowListOnly");
    set_sz(g_policy, L"Mode", L"Off");
    set_dword(g_local, L"MaxLeasesPerUser", 3);
    set_dword(g_policy, L"ConsentTimeoutSeconds", 30);
    open_source(false);
    const struct policy_snapshot *s = policy_source_acquire(g_src);
    assert_int_equal(s->policy.mode, EDGE_POLICY_MODE_OFF);
    assert_int_equal(s->policy.source[EDGE_POLICY_V_MODE], EDGE_POLICY_SRC_POLICY);
    assert_int_equal(s->policy.max_leases_per_user, 3);
    assert_int_equal(s->policy.source[EDGE_POLICY_V_MAX_LEASES_PER_USER], EDGE_POLICY_SRC_LOCAL);
    assert_int_equal(s->policy.consent_timeout_seconds, 30);
    assert_int_equal(s->policy.source[EDGE_POLICY_V_CONSENT_TIMEOUT_SECONDS],
                     EDGE_POLICY_SRC_POLICY);

    struct policy_source_entry *e = NULL;
    size_t n = 0;
    assert_int_equal(policy_source_describe(s, &e, &n), ERROR_SUCCESS);
    assert_int_equal(n, EDGE_POLICY_V_COUNT_);
    assert_string_equal(e[EDGE_POLICY_V_MODE].name, "Mode");
    assert_string_equal(e[EDGE_POLICY_V_MODE].value, "Off");
    assert_string_equal(e[EDGE_POLICY_V_MODE].source, "policy");
    assert_string_equal(e[EDGE_POLICY_V_MAX_LEASES_PER_USER].value, "3");
    assert_string_equal(e[EDGE_POLICY_V_MAX_LEASES_PER_USER].source, "local");
    assert_string_equal(e[EDGE_POLICY_V_PROFILES].source, "default");
    assert_false(e[EDGE_POLICY_V_MODE].malformed);
    free(e);
    policy_snapshot_release(s);
}

/* Every kind of malformation, each in the policy key, with a VALID local value underneath: the
 * default applies (not the local value), and each is audited with its name and source. */
static void test_malformed_values_use_default(void **state)
{
    (void)state;
    set_dword(g_policy, L"Mode", 1);                                   /* wrong type for REG_SZ */
    set_sz(g_policy, L"EdgeTraversal", L"Sometimes");                  /* bad keyword */
    set_multi(g_policy, L"AllowedPorts", L"80|70000");                 /* out of range entry */
    set_sz(g_policy, L"MaxLeaseSeconds", L"100");                      /* REG_SZ for a DWORD */
    set_dword(g_policy, L"MaxLeasesPerUser", 0);                       /* out of range */
    set_dword(g_policy, L"ConsentTimeoutSeconds", 604801);             /* above the maximum */
    set_multi(g_policy, L"AllowedImageHashes", L"abc");                /* bad syntax */
    set_multi(g_policy, L"AllowedApplications", L"relative\\app.exe"); /* bad pattern */
    set_multi(g_policy, L"TrustedSignerKeys", L"05aa");                /* not a key */
    set_value(g_policy, L"Profiles", REG_BINARY, "\x01\x02", 2);       /* binary */
    uint64_t q = 5;
    set_value(g_policy, L"DefaultLeaseSeconds", REG_QWORD, &q, sizeof(q));
    set_value(g_policy, L"AuditLevel", REG_MULTI_SZ, L"Verbose\0", 18); /* MULTI for an SZ */
    set_sz(g_local, L"Mode", L"AllowListOnly");
    set_dword(g_local, L"MaxLeaseSeconds", 100);
    set_sz(g_local, L"EdgeTraversal", L"Allow");
    open_source(false);
    const struct policy_snapshot *s = policy_source_acquire(g_src);
    assert_int_equal(s->malformed, 12);
    assert_int_equal(s->policy.mode, EDGE_POLICY_MODE_CONSENT);
    assert_int_equal(s->policy.edge_option, EDGE_TRAVERSAL_DEFER_TO_APP);
    assert_int_equal(s->policy.port_count, 1);
    assert_int_equal(s->policy.ports[0].lo, 1024);
    assert_int_equal(s->policy.max_lease_seconds, 86400);
    assert_int_equal(s->policy.max_leases_per_user, 16);
    assert_int_equal(s->policy.consent_timeout_seconds, 600);
    assert_int_equal(s->policy.image_hash_count, 0);
    assert_int_equal(s->policy.app_patterns.count, 0);
    assert_int_equal(s->policy.key_count, 0);
    assert_int_equal(s->policy.default_lease_seconds, 3600);
    assert_int_equal(s->policy.audit_level, EDGE_POLICY_AUDIT_MINIMAL);
    for (int v = 0; v < EDGE_POLICY_V_COUNT_; v++) {
        bool bad = v != EDGE_POLICY_V_ALLOWED_PUBLISHERS && v != EDGE_POLICY_V_ALLOWED_PROTOCOLS &&
                   v != EDGE_POLICY_V_MAX_LEASES_PER_APP && v != EDGE_POLICY_V_CONSENT_BY &&
                   v != EDGE_POLICY_V_CONSENT_REMEMBER_SECONDS;
        assert_int_equal(s->policy.source[v], EDGE_POLICY_SRC_DEFAULT);
        assert_int_equal(s->malformed_in[v],
                         bad ? EDGE_POLICY_SRC_POLICY : EDGE_POLICY_SRC_DEFAULT);
    }
    struct policy_source_entry *e = NULL;
    size_t n = 0;
    assert_int_equal(policy_source_describe(s, &e, &n), ERROR_SUCCESS);
    assert_true(e[EDGE_POLICY_V_MODE].malformed);
    assert_string_equal(e[EDGE_POLICY_V_MODE].malformed_source, "policy");
    assert_string_equal(e[EDGE_POLICY_V_MODE].source, "default");
    free(e);
    policy_snapshot_release(s);

    assert_int_equal(audit_count("policy_value_malformed", NULL), 12);
    assert_int_equal(audit_count("policy_value_malformed", "Mode (policy): wrong registry type"),
                     1);
    assert_int_equal(audit_count("policy_value_malformed", "AllowedPorts (policy)"), 1);
    assert_int_equal(audit_count("policy_value_malformed", "70000"), 1);
    assert_int_equal(audit_count("policy_value_malformed", "MaxLeaseSeconds (policy): wrong"), 1);
    assert_int_equal(audit_count("policy_value_malformed", "Profiles (policy): wrong registry "
                                                           "type REG_BINARY"),
                     1);
    assert_int_equal(audit_count("policy_loaded", "12 malformed"), 1);
}

static void test_empty_port_list_is_malformed(void **state)
{
    (void)state;
    set_value(g_local, L"AllowedPorts", REG_MULTI_SZ, L"\0", 4);
    set_value(g_local, L"AllowedApplications", REG_MULTI_SZ, L"\0", 4); /* empty: valid */
    open_source(false);
    const struct policy_snapshot *s = policy_source_acquire(g_src);
    assert_int_equal(s->malformed, 1);
    assert_int_equal(s->malformed_in[EDGE_POLICY_V_ALLOWED_PORTS], EDGE_POLICY_SRC_LOCAL);
    assert_int_equal(s->policy.source[EDGE_POLICY_V_ALLOWED_APPLICATIONS], EDGE_POLICY_SRC_LOCAL);
    assert_int_equal(s->policy.app_patterns.count, 0);
    policy_snapshot_release(s);
}

static void test_environment_expanded_in_applications(void **state)
{
    (void)state;
    assert_true(SetEnvironmentVariableW(L"EDGE_TEST_APPS", L"C:\\Edge Apps"));
    wchar_t v[] = L"%EDGE_TEST_APPS%\\**\\srv.exe";
    set_value(g_local, L"AllowedApplications", REG_EXPAND_SZ, v, (DWORD)sizeof(v));
    set_multi(g_policy, L"AllowedApplications", L"C:\\Tools\\a.exe|%EDGE_TEST_APPS%\\b.exe");
    open_source(false);
    const struct policy_snapshot *s = policy_source_acquire(g_src);
    assert_int_equal(s->malformed, 0);
    assert_int_equal(s->policy.source[EDGE_POLICY_V_ALLOWED_APPLICATIONS], EDGE_POLICY_SRC_POLICY);
    assert_int_equal(s->policy.app_patterns.count, 2);
    assert_string_equal(s->policy.app_patterns.items[1], "C:\\Edge Apps\\b.exe");
    policy_snapshot_release(s);
    /* The local value alone (REG_EXPAND_SZ) once the policy value is gone. */
    delete_value(g_policy, L"AllowedApplications");
    assert_int_equal(policy_source_reload(g_src), ERROR_SUCCESS);
    s = policy_source_acquire(g_src);
    assert_int_equal(s->policy.app_patterns.count, 1);
    assert_string_equal(s->policy.app_patterns.items[0], "C:\\Edge Apps\\**\\srv.exe");
    policy_snapshot_release(s);
    /* An undefined variable stays unexpanded and the pattern check refuses the '%'. */
    SetEnvironmentVariableW(L"EDGE_TEST_APPS", NULL);
    assert_int_equal(policy_source_reload(g_src), ERROR_SUCCESS);
    s = policy_source_acquire(g_src);
    assert_int_equal(s->malformed_in[EDGE_POLICY_V_ALLOWED_APPLICATIONS], EDGE_POLICY_SRC_LOCAL);
    assert_int_equal(s->policy.app_patterns.count, 0);
    policy_snapshot_release(s);
}

/* A snapshot taken before a reload stays intact (and readable) while held. */
static void test_snapshot_outlives_reload(void **state)
{
    (void)state;
    set_dword(g_local, L"MaxLeaseSeconds", 111);
    open_source(false);
    const struct policy_snapshot *old = policy_source_acquire(g_src);
    set_dword(g_local, L"MaxLeaseSeconds", 222);
    assert_int_equal(policy_source_reload(g_src), ERROR_SUCCESS);
    const struct policy_snapshot *cur = policy_source_acquire(g_src);
    assert_ptr_not_equal(old, cur);
    assert_int_equal(old->policy.max_lease_seconds, 111);
    assert_int_equal(cur->policy.max_lease_seconds, 222);
    assert_int_equal(cur->generation, old->generation + 1);
    policy_snapshot_release(old);
    policy_snapshot_release(cur);
}

/* Polls the source until pred holds, at most ~5 s. */
static bool wait_for(bool (*pred)(const struct policy_snapshot *))
{
    for (int i = 0; i < 100; i++) {
        const struct policy_snapshot *s = policy_source_acquire(g_src);
        bool ok = pred(s);
        policy_snapshot_release(s);
        if (ok)
            return true;
        Sleep(50);
    }
    return false;
}

static bool max_lease_is_900(const struct policy_snapshot *s)
{
    return s->policy.max_lease_seconds == 900;
}
static bool mode_off_from_policy(const struct policy_snapshot *s)
{
    return s->policy.mode == EDGE_POLICY_MODE_OFF &&
           s->policy.source[EDGE_POLICY_V_MODE] == EDGE_POLICY_SRC_POLICY;
}
static bool mode_local_allowlist(const struct policy_snapshot *s)
{
    return s->policy.mode == EDGE_POLICY_MODE_ALLOW_LIST_ONLY &&
           s->policy.source[EDGE_POLICY_V_MODE] == EDGE_POLICY_SRC_LOCAL;
}
static bool mode_default(const struct policy_snapshot *s)
{
    return s->policy.mode == EDGE_POLICY_MODE_CONSENT &&
           s->policy.source[EDGE_POLICY_V_MODE] == EDGE_POLICY_SRC_DEFAULT;
}

static void test_live_reload_of_a_value(void **state)
{
    (void)state;
    set_dword(g_local, L"MaxLeaseSeconds", 600);
    open_source(true);
    set_dword(g_local, L"MaxLeaseSeconds", 900);
    assert_true(wait_for(max_lease_is_900));
    assert_true(g_changes >= 1);
    assert_true(audit_count("policy_loaded", NULL) >= 2);
}

/* Neither key exists at start; the policy key appears later, then its value goes away and the
 * local value shows through, then the whole policy key is deleted. */
static void test_keys_created_after_start(void **state)
{
    (void)state;
    open_source(true);
    set_sz(g_local, L"Mode", L"AllowListOnly");
    assert_true(wait_for(mode_local_allowlist));
    set_sz(g_policy, L"Mode", L"Off");
    assert_true(wait_for(mode_off_from_policy));
    delete_value(g_policy, L"Mode");
    assert_true(wait_for(mode_local_allowlist));
    set_sz(g_policy, L"Mode", L"Off");
    assert_true(wait_for(mode_off_from_policy));
    assert_int_equal(RegDeleteTreeW(HKEY_LOCAL_MACHINE, g_policy), ERROR_SUCCESS);
    RegDeleteKeyExW(HKEY_LOCAL_MACHINE, g_policy, KEY_WOW64_64KEY, 0); /* if the tree remained */
    assert_true(wait_for(mode_local_allowlist));
    assert_int_equal(RegDeleteTreeW(HKEY_LOCAL_MACHINE, g_local), ERROR_SUCCESS);
    RegDeleteKeyExW(HKEY_LOCAL_MACHINE, g_local, KEY_WOW64_64KEY, 0);
    assert_true(wait_for(mode_default));
    /* and back again: the watch moved to the parent and must follow the key once more */
    set_sz(g_policy, L"Mode", L"Off");
    assert_true(wait_for(mode_off_from_policy));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults_without_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policy_wins_over_local, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_values_use_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_port_list_is_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_environment_expanded_in_applications, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_outlives_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_live_reload_of_a_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_created_after_start, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
