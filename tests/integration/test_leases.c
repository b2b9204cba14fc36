/*
 * Lease flows against the installed service, checked in the firewall double's store: a request
 * creates a rule of the documented shape; renew extends the lease; release, the client process
 * exiting and expiry each remove the rule; an administrator may lease for another executable and
 * that grant is audited.
 */
#include <windows.h>
#include <sddl.h>
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
#include "wine_detect.h"

#define RULE_GONE_MS 5000u /* client exit / expiry: timer or wait callback, then the COM call */

static itc *connected(void)
{
    itc *c = itc_new();

    assert_non_null(c);
    assert_int_equal(itc_connect(c, ITEST_IO_MS), ERROR_SUCCESS);
    return c;
}

static void own_image_utf8(char *out, size_t cap)
{
    wchar_t w[MAX_PATH];
    DWORD n = GetModuleFileNameW(NULL, w, MAX_PATH);

    assert_true(n > 0 && n < MAX_PATH);
    assert_true(WideCharToMultiByte(CP_UTF8, 0, w, -1, out, (int)cap, NULL, NULL) > 0);
}

static void own_sid_string(wchar_t *out, size_t cap)
{
    HANDLE tok = NULL;
    BYTE buf[512];
    DWORD n = 0;
    wchar_t *s = NULL;

    assert_true(OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &tok));
    assert_true(GetTokenInformation(tok, TokenUser, buf, sizeof(buf), &n));
    assert_true(ConvertSidToStringSidW(((TOKEN_USER *)buf)->User.Sid, &s));
    assert_true(wcslen(s) < cap);
    wcscpy(out, s);
    LocalFree(s);
    CloseHandle(tok);
}

/* The lease's rule as the double stores it (caller frees with fwdc_rules_free(r, n)). */
static const fwdc_rule *find_rule(const uint8_t id[EDGE_ID_SIZE], fwdc_rule **all, size_t *n)
{
    wchar_t name[64];

    itest_rule_name(id, name, 64);
    assert_true(SUCCEEDED(fwdc_store_read_group(ITEST_GROUP, all, n)));
    return fwdc_rules_find(*all, *n, name);
}

static bool listed(itc *c, const uint8_t id[EDGE_ID_SIZE])
{
    itest_lease *l = NULL;
    size_t n = 0, i;
    uint32_t st = 0;
    bool found = false;

    assert_int_equal(itc_list(c, EDGE_LIST_F_ALL, &st, &l, &n), ERROR_SUCCESS);
    assert_int_equal(st, EDGE_OK);
    for (i = 0; i < n; i++)
        found = found || memcmp(l[i].id, id, EDGE_ID_SIZE) == 0;
    free(l);
    return found;
}

static void release_ok(itc *c, const uint8_t id[EDGE_ID_SIZE])
{
    uint32_t st = 0;

    assert_int_equal(itc_release(c, id, &st), ERROR_SUCCESS);
    assert_int_equal(st, EDGE_OK);
    /* The reply means the rule is gone, not that it will be. */
    assert_true(itest_fw_wait_rule(id, false, 0));
}

static void check_rule_shape(const itest_lease *l, const wchar_t *ports, long proto)
{
    fwdc_rule *all = NULL;
    size_t n = 0;
    const fwdc_rule *r = find_rule(l->id, &all, &n);
    wchar_t sid[256], app[EDGE_MAX_PATH + 1];
    char hex[2 * EDGE_ID_SIZE + 1];
    wchar_t whex[2 * EDGE_ID_SIZE + 1];

    own_sid_string(sid, 256);
    itest_hex_id(l->id, hex);
    assert_true(MultiByteToWideChar(CP_UTF8, 0, hex, -1, whex, 2 * EDGE_ID_SIZE + 1) > 0);
    assert_true(MultiByteToWideChar(CP_UTF8, 0, l->image_path, -1, app, EDGE_MAX_PATH + 1) > 0);
    assert_non_null(r);
    assert_int_equal(fwdc_store_count_named(r->name), 1);
    assert_true(r->grouping && _wcsicmp(r->grouping, ITEST_GROUP) == 0);
    assert_true(r->application_name && _wcsicmp(r->application_name, app) == 0);
    assert_int_equal(r->protocol, proto);
    assert_true(r->local_ports && wcscmp(r->local_ports, ports) == 0);
    assert_int_equal(r->direction, 1); /* in */
    assert_int_equal(r->action, 1);    /* allow */
    assert_int_equal(r->enabled, 1);
    assert_int_equal(r->edge_traversal_options, (long)l->edge_option);
    assert_true(r->local_user_owner && _wcsicmp(r->local_user_owner, sid) == 0);
    assert_true(r->description && wcsstr(r->description, whex) && wcsstr(r->description, sid));
    fwdc_rules_free(all, n);
}

static void test_request_creates_rule_of_documented_shape(void **state)
{
    itc *c = connected();
    edge_lease_req r = itest_lease_req(EDGE_IPPROTO_TCP, 47001);
    itest_lease l;
    char self[MAX_PATH * 3], sid8[256];
    wchar_t sid[256];
    uint32_t st = 0;

    (void)state;
    r.has_seconds = true;
    r.seconds = 600;
    assert_int_equal(itc_request(c, &r, &st, &l), ERROR_SUCCESS);
    assert_int_equal(st, EDGE_OK);
    own_image_utf8(self, sizeof(self));
    own_sid_string(sid, 256);
    assert_true(WideCharToMultiByte(CP_UTF8, 0, sid, -1, sid8, 256, NULL, NULL) > 0);
    assert_true(_stricmp(l.image_path, self) == 0);
    assert_string_equal(l.owner_sid, sid8);
    assert_int_equal(l.protocol, EDGE_IPPROTO_TCP);
    assert_int_equal(l.port_lo, 47001);
    assert_int_equal(l.port_hi, 47001);
    /* The rule is in place; INEFFECTIVE says what Wine lacks (Teredo), with a warning. */
    assert_true(l.state == EDGE_LEASE_STATE_ACTIVE || l.state == EDGE_LEASE_STATE_INEFFECTIVE);
    assert_true(l.expires > l.created && l.expires - l.created <= 600);
    assert_true(l.edge_option == EDGE_TRAVERSAL_DEFER_TO_APP ||
                l.edge_option == EDGE_TRAVERSAL_ALLOW);
    check_rule_shape(&l, L"47001", 6);
    assert_true(listed(c, l.id));
    release_ok(c, l.id);
    assert_false(listed(c, l.id));

    /* A UDP port range. */
    r = itest_lease_req(EDGE_IPPROTO_UDP, 47010);
    r.has_port_hi = true;
    r.port_hi = 47012;
    assert_int_equal(itc_request(c, &r, &st, &l), ERROR_SUCCESS);
    assert_int_equal(st, EDGE_OK);
    check_rule_shape(&l, L"47010-47012", 17);
    release_ok(c, l.id);
    itc_free(c);
}

static void test_renew_extends_and_release_is_final(void **state)
{
    itc *c = connected();
    edge_lease_req r = itest_lease_req(EDGE_IPPROTO_TCP, 47020);
    itest_lease l, l2;
    static const uint8_t nobody[EDGE_ID_SIZE] = {0xde, 0xad};
    uint32_t st = 0;

    (void)state;
    r.has_seconds = true;
    r.seconds = 60;
    assert_int_equal(itc_request(c, &r, &st, &l), ERROR_SUCCESS);
    assert_int_equal(st, EDGE_OK);
    assert_int_equal(itc_renew(c, l.id, 900, &st, &l2), ERROR_SUCCESS);
    assert_int_equal(st, EDGE_OK);
    assert_memory_equal(l2.id, l.id, EDGE_ID_SIZE);
    assert_true(l2.expires > l.expires);
    assert_true(l2.expires - l.created >= 900 - 5);
    check_rule_shape(&l2, L"47020", 6);

    assert_int_equal(itc_renew(c, nobody, 60, &st, NULL), ERROR_SUCCESS);
    assert_int_equal(st, EDGE_E_NOT_FOUND);

    release_ok(c, l.id);
    assert_int_equal(itc_release(c, l.id, &st), ERROR_SUCCESS);
    assert_int_equal(st, EDGE_E_NOT_FOUND);
    assert_int_equal(itc_renew(c, l.id, 60, &st, NULL), ERROR_SUCCESS);
    assert_int_equal(st, EDGE_E_NOT_FOUND);
    itc_free(c);
}

/* Runs itest_lease_child; returns its process with the lease id parsed from its report. */
static HANDLE spawn_child(uint16_t port, uint32_t flags, HANDLE go, const char *go_name,
                          uint8_t id[EDGE_ID_SIZE])
{
    wchar_t exe[MAX_PATH], cmd[2 * MAX_PATH], tmp[MAX_PATH], out[MAX_PATH];
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    ULONGLONG end = GetTickCount64() + 15000;
    unsigned long st = 99, err = 99;
    char hex[64] = "";
    FILE *f = NULL;
    unsigned i;

    (void)go;
    assert_int_equal(itest_sibling_path(L"itest_lease_child.exe", exe, MAX_PATH), ERROR_SUCCESS);
    assert_true(GetTempPathW(MAX_PATH, tmp) > 0);
    assert_true(GetTempFileNameW(tmp, L"itl", 0, out) != 0);
    DeleteFileW(out);
    swprintf(cmd, 2 * MAX_PATH, L"\"%ls\" \"%ls\" %u %lu %hs", exe, out, (unsigned)port,
             (unsigned long)flags, go_name);
    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    assert_true(CreateProcessW(exe, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi));
    CloseHandle(pi.hThread);
    while (!f && GetTickCount64() < end) {
        Sleep(50);
        f = _wfopen(out, L"r");
        if (f && fscanf(f, "%lu %63s %lu", &st, hex, &err) != 3) {
            fclose(f); /* still being written */
            f = NULL;
        }
    }
    assert_non_null(f);
    fclose(f);
    DeleteFileW(out);
    assert_int_equal(err, 0);
    assert_int_equal(st, EDGE_OK);
    assert_int_equal(strlen(hex), 2 * EDGE_ID_SIZE);
    for (i = 0; i < EDGE_ID_SIZE; i++) {
        unsigned v = 0;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        id[i] = (uint8_t)v;
    }
    return pi.hProcess;
}

static void test_client_exit_ends_lease(void **state)
{
    char go_name[64];
    HANDLE go, child;
    uint8_t id[EDGE_ID_SIZE];
    itc *c = connected();

    (void)state;
    sprintf(go_name, "itest-go-%lu", (unsigned long)GetCurrentProcessId());
    go = CreateEventA(NULL, TRUE, FALSE, go_name);
    assert_non_null(go);
    child = spawn_child(47030, 0, go, go_name, id);
    assert_true(itest_fw_wait_rule(id, true, 0));
    /* The child has closed its connection: the lease follows the process, not the pipe. */
    Sleep(500);
    assert_true(itest_fw_wait_rule(id, true, 0));
    assert_true(listed(c, id));
    SetEvent(go);
    assert_int_equal(WaitForSingleObject(child, 10000), WAIT_OBJECT_0);
    CloseHandle(child);
    assert_true(itest_fw_wait_rule(id, false, RULE_GONE_MS));
    assert_false(listed(c, id));

    /* KEEP_AFTER_EXIT: the lease and its rule outlive the process. */
    ResetEvent(go);
    child = spawn_child(47031, EDGE_LEASE_F_KEEP_AFTER_EXIT, go, go_name, id);
    SetEvent(go);
    assert_int_equal(WaitForSingleObject(child, 10000), WAIT_OBJECT_0);
    CloseHandle(child);
    Sleep(1000);
    assert_true(itest_fw_wait_rule(id, true, 0));
    assert_true(listed(c, id));
    release_ok(c, id); /* same user: the owner may end it */
    CloseHandle(go);
    itc_free(c);
}

static void test_expiry_ends_lease(void **state)
{
    itc *c = connected();
    edge_lease_req r = itest_lease_req(EDGE_IPPROTO_TCP, 47040);
    itest_lease l;
    uint32_t st = 0;

    (void)state;
    r.has_seconds = true;
    r.seconds = 2;
    assert_int_equal(itc_request(c, &r, &st, &l), ERROR_SUCCESS);
    assert_int_equal(st, EDGE_OK);
    assert_true(l.expires - l.created <= 2);
    assert_true(itest_fw_wait_rule(l.id, true, 0));
    assert_true(itest_fw_wait_rule(l.id, false, 2000 + RULE_GONE_MS));
    assert_false(listed(c, l.id));
    assert_int_equal(itc_renew(c, l.id, 60, &st, NULL), ERROR_SUCCESS);
    assert_int_equal(st, EDGE_E_NOT_FOUND);
    itc_free(c);
}

static bool audit_has(const char *needle1, const char *needle2, DWORD ms)
{
    wchar_t path[MAX_PATH];
    ULONGLONG end = GetTickCount64() + ms;
    char line[8192];
    bool found = false;
    FILE *f;

    assert_int_equal(itest_service_data_path(L"EdgeBroker\\audit.jsonl", path, MAX_PATH),
                     ERROR_SUCCESS);
    do {
        f = _wfopen(path, L"r");
        if (f) {
            while (!found && fgets(line, sizeof(line), f))
                found = strstr(line, needle1) && strstr(line, needle2);
            fclose(f);
        }
        if (!found)
            Sleep(100);
    } while (!found && GetTickCount64() < end);
    return found;
}

static bool process_is_elevated_admin(void)
{
    HANDLE tok = NULL;
    TOKEN_ELEVATION el = {0};
    DWORD n = 0;
    BYTE sid[SECURITY_MAX_SID_SIZE];
    DWORD sid_len = sizeof(sid);
    BOOL member = FALSE;

    assert_true(OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &tok));
    assert_true(GetTokenInformation(tok, TokenElevation, &el, sizeof(el), &n));
    CloseHandle(tok);
    assert_true(CreateWellKnownSid(WinBuiltinAdministratorsSid, NULL, sid, &sid_len));
    assert_true(CheckTokenMembership(NULL, sid, &member));
    return el.TokenIsElevated && member;
}

/* Under Wine every process is an elevated administrator, who may act for another executable. */
static void test_admin_may_lease_for_another_executable(void **state)
{
    itc *c;
    edge_lease_req r = itest_lease_req(EDGE_IPPROTO_TCP, 47050);
    wchar_t target[MAX_PATH];
    char target8[MAX_PATH * 3], hex[2 * EDGE_ID_SIZE + 1];
    itest_lease l;
    uint32_t st = 0;

    (void)state;
    if (!process_is_elevated_admin()) {
        print_message("SKIP: this test process is not an elevated administrator\n");
        skip();
    }
    c = connected();
    assert_int_equal(itest_sibling_path(L"fwdump.exe", target, MAX_PATH), ERROR_SUCCESS);
    assert_true(WideCharToMultiByte(CP_UTF8, 0, target, -1, target8, sizeof(target8), NULL, NULL) >
                0);
    r.target_app = edge_str_from_cstr(target8);
    assert_int_equal(itc_request(c, &r, &st, &l), ERROR_SUCCESS);
    assert_int_equal(st, EDGE_OK);
    assert_true(_stricmp(l.image_path, target8) == 0);
    check_rule_shape(&l, L"47050", 6);
    itest_hex_id(l.id, hex);
    assert_true(audit_has("\"request_granted\"", hex, 3000));
    release_ok(c, l.id);
    itc_free(c);
}

static void test_non_admin_refused_for_another_executable(void **state)
{
    itc *c;
    edge_lease_req r = itest_lease_req(EDGE_IPPROTO_TCP, 47060);
    wchar_t target[MAX_PATH];
    char target8[MAX_PATH * 3];
    long before;
    uint32_t st = 0;

    (void)state;
    edge_test_skip_under_wine("every Wine process is an elevated administrator, so the refusal of "
                              "target_app for a non-administrator cannot be shown here; unit tests "
                              "cover it with synthetic identities");
    if (process_is_elevated_admin()) {
        print_message("SKIP: needs a non-administrator client (run this test unelevated)\n");
        skip();
    }
    c = connected();
    assert_int_equal(itest_sibling_path(L"fwdump.exe", target, MAX_PATH), ERROR_SUCCESS);
    assert_true(WideCharToMultiByte(CP_UTF8, 0, target, -1, target8, sizeof(target8), NULL, NULL) >
                0);
    r.target_app = edge_str_from_cstr(target8);
    before = itest_fw_group_count();
    assert_int_equal(itc_request(c, &r, &st, NULL), ERROR_SUCCESS);
    assert_int_equal(st, EDGE_E_ACCESS_DENIED);
    assert_int_equal(itest_fw_group_count(), before);
    itc_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_creates_rule_of_documented_shape),
        cmocka_unit_test(test_renew_extends_and_release_is_final),
        cmocka_unit_test(test_client_exit_ends_lease),
        cmocka_unit_test(test_expiry_ends_lease),
        cmocka_unit_test(test_admin_may_lease_for_another_executable),
        cmocka_unit_test(test_non_admin_refused_for_another_executable),
    };
    if (itest_fw_use_service_store() != ERROR_SUCCESS)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
