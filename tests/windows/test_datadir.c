/*
 * The data directory is vetted before anything writes into it (service/datadir.c, and its call
 * at the top of verbs_startup_config): datadir_open itself (create protected, refuse a file, keep
 * a handle that blocks a rename), and the service start-up refusing a planted directory with a
 * service-log message and without writing the audit trail into it.  A foreign owner and a
 * junction need real Windows (Wine keeps no owners and makes no links): those cases SKIP there.
 */
#include <windows.h>

#include <aclapi.h>
#include <sddl.h>
#include <winioctl.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <cmocka.h>

#include "connection.h"
#include "consent.h"
#include "datadir.h"
#include "fwdouble_control.h"
#include "log.h"
#include "verbs.h"
#include "wine_detect.h"
#include "testfs.h"

/* Per test: a unique directory name under the temp directory (not created), a second one for a
 * junction's target, private policy keys, and what a test opened (closed by the teardown). */
static wchar_t g_dir[MAX_PATH];
static wchar_t g_target[MAX_PATH];
static wchar_t g_key[96];
static wchar_t g_pkey[96];
static HANDLE g_handle = INVALID_HANDLE_VALUE;
static void *g_ctx;
static unsigned g_serial;

static void path_in(wchar_t *out, const wchar_t *dir, const wchar_t *name)
{
    swprintf(out, MAX_PATH, L"%ls\\%ls", dir, name);
}

static bool exists(const wchar_t *path)
{
    return GetFileAttributesW(path) != INVALID_FILE_ATTRIBUTES;
}

/* Removes a flat directory (or a junction, or a file in its place). */
static void remove_path(const wchar_t *dir)
{
    wchar_t pattern[MAX_PATH], p[MAX_PATH];
    WIN32_FIND_DATAW fd;
    DWORD attr = GetFileAttributesW(dir);
    if (attr == INVALID_FILE_ATTRIBUTES)
        return;
    if (!(attr & FILE_ATTRIBUTE_DIRECTORY)) {
        DeleteFileW(dir);
        return;
    }
    if (!(attr & FILE_ATTRIBUTE_REPARSE_POINT)) { /* never delete through a link */
        swprintf(pattern, MAX_PATH, L"%ls\\*", dir);
        HANDLE f = FindFirstFileW(pattern, &fd);
        if (f != INVALID_HANDLE_VALUE) {
            do {
                if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
                    continue;
                path_in(p, dir, fd.cFileName);
                DeleteFileW(p);
            } while (FindNextFileW(f, &fd));
            FindClose(f);
        }
    }
    RemoveDirectoryW(dir);
}

static int setup(void **state)
{
    wchar_t tmp[MAX_PATH];
    (void)state;
    GetTempPathW(MAX_PATH, tmp);
    swprintf(g_dir, MAX_PATH, L"%lsedge_datadir_%lu_%llu_%u", tmp,
             (unsigned long)GetCurrentProcessId(), (unsigned long long)GetTickCount64(),
             ++g_serial);
    swprintf(g_target, MAX_PATH, L"%ls_target", g_dir);
    swprintf(g_key, 96, L"Software\\EdgeBrokerTest-datadir-%lu", GetCurrentProcessId());
    swprintf(g_pkey, 96, L"Software\\EdgeBrokerTest-datadir-policy-%lu", GetCurrentProcessId());
    g_handle = INVALID_HANDLE_VALUE;
    g_ctx = NULL;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    verbs_shutdown(g_ctx);
    g_ctx = NULL;
    if (g_handle != INVALID_HANDLE_VALUE)
        CloseHandle(g_handle);
    g_handle = INVALID_HANDLE_VALUE;
    remove_path(g_dir);
    remove_path(g_target);
    RegDeleteTreeW(HKEY_CURRENT_USER, g_key);
    RegDeleteTreeW(HKEY_CURRENT_USER, g_pkey);
    return 0;
}

/* Runs verbs_startup_config on g_dir with private policy keys; the service log's text (ERROR
 * level and up) lands in log_out.  Returns its Win32 error. */
static DWORD start(char *log_out, size_t cap)
{
    struct verb_table table;
    struct verbs_config cfg;
    wchar_t logname[MAX_PATH];
    HKEY key;
    DWORD got = 0;

    swprintf(logname, MAX_PATH, L"%ls_log.txt", g_dir);
    HANDLE lh = CreateFileW(logname, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
                            FILE_ATTRIBUTE_TEMPORARY | FILE_FLAG_DELETE_ON_CLOSE, NULL);
    assert_true(lh != INVALID_HANDLE_VALUE);
    assert_int_equal(
        RegCreateKeyExW(HKEY_CURRENT_USER, g_key, 0, NULL, 0, KEY_ALL_ACCESS, NULL, &key, NULL),
        ERROR_SUCCESS);
    RegCloseKey(key);
    memset(&cfg, 0, sizeof(cfg));
    cfg.state_dir = g_dir;
    cfg.policy_root = HKEY_CURRENT_USER;
    cfg.policy_key = g_pkey;
    cfg.local_key = g_key;
    assert_int_equal(conn_verbs_init(&table), ERROR_SUCCESS);
    assert_int_equal(log_open(lh, NULL, LOG_ERROR), ERROR_SUCCESS);
    DWORD err = verbs_startup_config(&table, &cfg, &g_ctx);
    log_close();
    SetFilePointer(lh, 0, NULL, FILE_BEGIN);
    assert_true(ReadFile(lh, log_out, (DWORD)cap - 1, &got, NULL));
    log_out[got] = '\0';
    CloseHandle(lh);
    return err;
}

/* The start-up is refused with ERR, names the directory problem in the service log, and leaves
 * no audit trail in DIR (the planted directory, or a junction's target). */
static void expect_start_refused(DWORD err, const wchar_t *dir)
{
    char log_text[4096];
    wchar_t audit[MAX_PATH];
    assert_int_equal(start(log_text, sizeof(log_text)), err);
    assert_null(g_ctx);
    print_message("service log: %s", log_text);
    assert_non_null(strstr(log_text, "error: data directory"));
    assert_non_null(strstr(log_text, "the service does not start"));
    path_in(audit, dir, L"audit.jsonl");
    assert_false(exists(audit));
}

/* The directory's DACL is DATADIR_DACL_SDDL's: SYSTEM and Administrators only, protected.  Wine
 * keeps no descriptors on this file system and synthesises a DACL from the Unix mode, with the
 * owner standing for the user bits: accepted there only (a directory created without a descriptor
 * also grants Everyone there, which fails this check: test_store.c's control). */
static void assert_protected(const wchar_t *path)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    PACL dacl = NULL;
    PSID owner = NULL;
    bool wine = edge_test_under_wine(), system = false;
    assert_int_equal(GetNamedSecurityInfoW(path, SE_FILE_OBJECT,
                                           DACL_SECURITY_INFORMATION | OWNER_SECURITY_INFORMATION,
                                           &owner, NULL, &dacl, NULL, &sd),
                     ERROR_SUCCESS);
    assert_non_null(dacl);
    for (WORD i = 0; i < dacl->AceCount; i++) {
        ACCESS_ALLOWED_ACE *ace = NULL;
        assert_true(GetAce(dacl, i, (void **)&ace));
        assert_int_equal(ace->Header.AceType, ACCESS_ALLOWED_ACE_TYPE);
        PSID sid = (PSID)&ace->SidStart;
        if (IsWellKnownSid(sid, WinLocalSystemSid))
            system = true;
        else
            assert_true(IsWellKnownSid(sid, WinBuiltinAdministratorsSid) ||
                        (wine && EqualSid(sid, owner)));
    }
    assert_true(system);
    if (!wine) {
        SECURITY_DESCRIPTOR_CONTROL control = 0;
        DWORD rev = 0;
        assert_true(GetSecurityDescriptorControl(sd, &control, &rev));
        assert_true(control & SE_DACL_PROTECTED);
        assert_int_equal(dacl->AceCount, 2);
    }
    LocalFree(sd);
}

static void make_file(const wchar_t *path)
{
    HANDLE h = CreateFileW(path, GENERIC_WRITE, 0, NULL, CREATE_NEW, 0, NULL);
    assert_true(h != INVALID_HANDLE_VALUE);
    CloseHandle(h);
}

/* g_dir as a user would plant it: a junction to g_target (a directory the user controls). */
static void plant_junction_or_skip(void)
{
    assert_true(CreateDirectoryW(g_target, NULL));
    assert_true(CreateDirectoryW(g_dir, NULL));
    if (!testfs_make_junction(g_dir, g_target)) {
        print_message("SKIP: cannot create a junction here (error %lu); Wine 8 implements no "
                      "FSCTL_SET_REPARSE_POINT\n",
                      (unsigned long)GetLastError());
        skip();
    }
}

/* ---- datadir_open --------------------------------------------------------------------------- */

static void test_open_creates_protected_and_holds(void **state)
{
    const char *reason = "unset";
    wchar_t moved[MAX_PATH];
    (void)state;
    assert_int_equal(datadir_open(g_dir, &g_handle, &reason), ERROR_SUCCESS);
    assert_true(g_handle != INVALID_HANDLE_VALUE);
    assert_null(reason);
    assert_true(GetFileAttributesW(g_dir) & FILE_ATTRIBUTE_DIRECTORY);
    assert_protected(g_dir);
    /* Held without FILE_SHARE_DELETE: the directory cannot be renamed away and replaced. */
    swprintf(moved, MAX_PATH, L"%ls_moved", g_dir);
    assert_false(MoveFileW(g_dir, moved));
    assert_false(exists(moved));
    /* An existing, vetted directory opens again (the lease store's own handle). */
    HANDLE again = INVALID_HANDLE_VALUE;
    assert_int_equal(datadir_open(g_dir, &again, NULL), ERROR_SUCCESS);
    assert_true(again != INVALID_HANDLE_VALUE);
    CloseHandle(again);
}

static void test_open_refuses_file(void **state)
{
    const char *reason = NULL;
    HANDLE h = (HANDLE)1;
    (void)state;
    make_file(g_dir);
    assert_int_equal(datadir_open(g_dir, &h, &reason), ERROR_DIRECTORY);
    assert_true(h == INVALID_HANDLE_VALUE);
    assert_non_null(reason);
    assert_false(GetFileAttributesW(g_dir) & FILE_ATTRIBUTE_DIRECTORY); /* left alone */
}

static void test_open_bad_arguments(void **state)
{
    const char *reason = NULL;
    HANDLE h = (HANDLE)1;
    (void)state;
    assert_int_equal(datadir_open(NULL, &h, &reason), ERROR_INVALID_PARAMETER);
    assert_true(h == INVALID_HANDLE_VALUE);
    assert_non_null(reason);
    assert_int_equal(datadir_open(L"", &h, NULL), ERROR_INVALID_PARAMETER);
    assert_int_equal(datadir_open(g_dir, NULL, NULL), ERROR_INVALID_PARAMETER);
    assert_false(exists(g_dir));
}

/* ---- the service start-up ------------------------------------------------------------------- */

static void test_start_creates_protected_dir(void **state)
{
    char log_text[4096];
    wchar_t audit[MAX_PATH];
    (void)state;
    if (!fwdc_double_registered() || FAILED(fwdc_faults_clear()) || FAILED(fwdc_store_reset()))
        fail_msg("the firewall double is not registered");
    assert_false(exists(g_dir));
    assert_int_equal(start(log_text, sizeof(log_text)), ERROR_SUCCESS);
    assert_non_null(g_ctx);
    assert_true(GetFileAttributesW(g_dir) & FILE_ATTRIBUTE_DIRECTORY);
    assert_protected(g_dir);
    path_in(audit, g_dir, L"audit.jsonl");
    assert_true(exists(audit));
}

/* Before the fix this failed in audit_open (ERROR_PATH_NOT_FOUND), not in the directory check. */
static void test_start_refuses_file(void **state)
{
    (void)state;
    make_file(g_dir);
    expect_start_refused(ERROR_DIRECTORY, g_dir);
    assert_false(GetFileAttributesW(g_dir) & FILE_ATTRIBUTE_DIRECTORY); /* left alone */
}

/* Before the fix audit.jsonl was created (and re-ACLed) as LocalSystem in the user's directory,
 * and only then did the lease store refuse it. */
static void test_start_refuses_foreign_owner(void **state)
{
    (void)state;
    testfs_plant_users_dir_or_skip(g_dir); /* as a user would plant it */
    expect_start_refused(ERROR_INVALID_OWNER, g_dir);
}

/* Before the fix the audit trail was written through the junction into its target. */
static void test_start_refuses_junction(void **state)
{
    wchar_t p[MAX_PATH];
    (void)state;
    plant_junction_or_skip();
    expect_start_refused(DATADIR_ERROR_REPARSE_POINT, g_target);
    path_in(p, g_target, CONSENT_FILE_NAME);
    assert_false(exists(p));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_open_creates_protected_and_holds),
        T(test_open_refuses_file),
        T(test_open_bad_arguments),
        T(test_start_creates_protected_dir),
        T(test_start_refuses_file),
        T(test_start_refuses_foreign_owner),
        T(test_start_refuses_junction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
