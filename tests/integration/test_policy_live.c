/*
 * Policy under the running service: values written to HKLM\SOFTWARE\EdgeBroker and
 * HKLM\SOFTWARE\Policies\EdgeBroker change its decisions without a restart (Mode Off -> requests
 * denied, removed -> granted again; Group Policy wins over the local value), a malformed value
 * leaves the service running on the default, and POLICY reports each value's source.  Under Wine
 * the test process is an elevated administrator, which every mode but Off grants.  The values the
 * test wrote are removed again (and the keys, when the test created them).
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

#include "itest.h"

#define LOCAL_KEY  L"SOFTWARE\\EdgeBroker"
#define POLICY_KEY L"SOFTWARE\\Policies\\EdgeBroker"
#define RELOAD_MS  10000u /* watcher settle time plus generous slack under Wine */
#define TEST_PORT  47100

static bool g_created_local, g_created_policy;

static HKEY open_key(const wchar_t *path, bool *created)
{
    DWORD disp = 0;
    HKEY k = NULL;

    assert_int_equal(RegCreateKeyExW(HKEY_LOCAL_MACHINE, path, 0, NULL, 0,
                                     KEY_ALL_ACCESS | KEY_WOW64_64KEY, NULL, &k, &disp),
                     ERROR_SUCCESS);
    if (disp == REG_CREATED_NEW_KEY)
        *created = true;
    return k;
}

static void set_sz(const wchar_t *path, bool *created, const wchar_t *name, const wchar_t *v)
{
    HKEY k = open_key(path, created);

    assert_int_equal(RegSetValueExW(k, name, 0, REG_SZ, (const BYTE *)v,
                                    (DWORD)((wcslen(v) + 1) * sizeof(wchar_t))),
                     ERROR_SUCCESS);
    RegCloseKey(k);
}

static void set_dword(const wchar_t *path, bool *created, const wchar_t *name, DWORD v)
{
    HKEY k = open_key(path, created);

    assert_int_equal(RegSetValueExW(k, name, 0, REG_DWORD, (const BYTE *)&v, sizeof(v)),
                     ERROR_SUCCESS);
    RegCloseKey(k);
}

static void delete_value(const wchar_t *path, const wchar_t *name)
{
    HKEY k;

    if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, path, 0, KEY_SET_VALUE | KEY_WOW64_64KEY, &k) == 0) {
        RegDeleteValueW(k, name);
        RegCloseKey(k);
    }
}

static void cleanup_keys(void)
{
    delete_value(LOCAL_KEY, L"Mode");
    delete_value(POLICY_KEY, L"Mode");
    if (g_created_local)
        RegDeleteKeyExW(HKEY_LOCAL_MACHINE, LOCAL_KEY, KEY_WOW64_64KEY, 0);
    if (g_created_policy)
        RegDeleteKeyExW(HKEY_LOCAL_MACHINE, POLICY_KEY, KEY_WOW64_64KEY, 0);
    g_created_local = g_created_policy = false;
}

/* One request for TEST_PORT; a granted lease is released again.  Returns the status. */
static uint32_t request_once(itc *c)
{
    edge_lease_req r = itest_lease_req(EDGE_IPPROTO_TCP, TEST_PORT);
    itest_lease l;
    uint32_t st = 0, rst = 0;

    assert_int_equal(itc_request(c, &r, &st, &l), ERROR_SUCCESS);
    if (st == EDGE_OK) {
        assert_int_equal(itc_release(c, l.id, &rst), ERROR_SUCCESS);
        assert_int_equal(rst, EDGE_OK);
    }
    return st;
}

/* Polls until a request gets WANT (the service reloads asynchronously), within RELOAD_MS. */
static bool request_until(itc *c, uint32_t want)
{
    ULONGLONG end = GetTickCount64() + RELOAD_MS;
    uint32_t st;

    do {
        st = request_once(c);
        if (st == want)
            return true;
        Sleep(200);
    } while (GetTickCount64() < end);
    print_message("last status %s, wanted %s\n", edge_status_name((edge_status)st),
                  edge_status_name((edge_status)want));
    return false;
}

/* Source and value text of one POLICY entry. */
static void policy_entry(itc *c, const char *name, char *value, size_t vcap, char *source,
                         size_t scap)
{
    edge_msg req, rep;
    edge_list_iter it;
    edge_policy_entry e;
    bool found = false;

    memset(&req, 0, sizeof(req));
    req.type = EDGE_MSG_POLICY;
    assert_int_equal(itc_call(c, &req, &rep, ITEST_IO_MS), ERROR_SUCCESS);
    assert_int_equal(rep.env.status, EDGE_OK);
    edge_list_iter_init(&it, &rep.u.entries_rep.items);
    while (edge_list_next_policy(&it, &e)) {
        if (e.name.len != strlen(name) || memcmp(e.name.ptr, name, e.name.len) != 0)
            continue;
        snprintf(value, vcap, "%.*s", (int)e.value.len, e.value.ptr);
        snprintf(source, scap, "%.*s", (int)e.source.len, e.source.ptr);
        found = true;
    }
    assert_true(found);
}

static int teardown(void **state)
{
    (void)state;
    cleanup_keys();
    return 0;
}

static void test_mode_changes_live(void **state)
{
    itc *c = itc_new();
    char value[EDGE_MAX_TEXT + 1], source[64];

    (void)state;
    assert_non_null(c);
    assert_int_equal(itc_connect(c, ITEST_IO_MS), ERROR_SUCCESS);
    assert_true(request_until(c, EDGE_OK));

    set_sz(LOCAL_KEY, &g_created_local, L"Mode", L"Off");
    assert_true(request_until(c, EDGE_E_DENIED));
    policy_entry(c, "Mode", value, sizeof(value), source, sizeof(source));
    assert_string_equal(value, "Off");
    assert_string_equal(source, "local");

    delete_value(LOCAL_KEY, L"Mode");
    assert_true(request_until(c, EDGE_OK));

    /* Group Policy wins over the local value. */
    set_sz(LOCAL_KEY, &g_created_local, L"Mode", L"AllowListOnly");
    set_sz(POLICY_KEY, &g_created_policy, L"Mode", L"Off");
    assert_true(request_until(c, EDGE_E_DENIED));
    policy_entry(c, "Mode", value, sizeof(value), source, sizeof(source));
    assert_string_equal(source, "policy");
    delete_value(POLICY_KEY, L"Mode");
    assert_true(request_until(c, EDGE_OK)); /* AllowListOnly: administrators are granted */
    itc_free(c);
}

static void test_malformed_value_keeps_service_running(void **state)
{
    itc *c = itc_new();
    char value[EDGE_MAX_TEXT + 1], source[64];
    DWORD svc = 0, pid = 0, pid_after = 0;

    (void)state;
    assert_non_null(c);
    assert_int_equal(itest_svc_query(&svc, &pid), ERROR_SUCCESS);
    assert_int_equal(svc, SERVICE_RUNNING);
    assert_int_equal(itc_connect(c, ITEST_IO_MS), ERROR_SUCCESS);
    set_sz(LOCAL_KEY, &g_created_local, L"Mode", L"Off");
    assert_true(request_until(c, EDGE_E_DENIED));
    /* Mode as a number: malformed, so its default (Consent) applies, not the old Off. */
    set_dword(LOCAL_KEY, &g_created_local, L"Mode", 0);
    assert_true(request_until(c, EDGE_OK));
    policy_entry(c, "Mode", value, sizeof(value), source, sizeof(source));
    assert_string_equal(source, "default");
    assert_non_null(strstr(value, "Consent"));
    assert_non_null(strstr(value, "malformed"));
    assert_int_equal(itest_svc_query(&svc, &pid_after), ERROR_SUCCESS);
    assert_int_equal(svc, SERVICE_RUNNING);
    assert_int_equal(pid_after, pid);
    itc_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_mode_changes_live, teardown),
        cmocka_unit_test_teardown(test_malformed_value_keeps_service_running, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
