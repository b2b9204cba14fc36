/* Tests of the audit trail's files (service/audit_file.c): rotation, DACL, torn lines. */
#include <windows.h>

#include <aclapi.h>
#include <sddl.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <cmocka.h>

#include "audit_file.h"
#include "iat_patch.h"
#include "jsonl.h"
#include "wine_detect.h"

static wchar_t test_dir[MAX_PATH];

static void make_test_dir(const wchar_t *tag)
{
    wchar_t tmp[MAX_PATH];
    assert_true(GetTempPathW(MAX_PATH, tmp) > 0);
    swprintf(test_dir, MAX_PATH, L"%lsedge-auditfile-%ls-%lu-%llu", tmp, tag, GetCurrentProcessId(),
             (unsigned long long)GetTickCount64());
}

static void gen_path(uint32_t n, wchar_t *out)
{
    assert_int_equal(audit_file_path(test_dir, n, out, MAX_PATH), ERROR_SUCCESS);
}

static void remove_test_dir(void)
{
    wchar_t path[MAX_PATH];
    for (uint32_t n = 0; n <= 10; n++) {
        gen_path(n, path);
        DeleteFileW(path);
    }
    RemoveDirectoryW(test_dir);
}

static char *read_generation(uint32_t n, size_t *len)
{
    wchar_t path[MAX_PATH];
    gen_path(n, path);
    return jsonl_read_file(path, len);
}

static void append_numbered(audit_file *f, int i)
{
    char line[160];
    int n = snprintf(line, sizeof(line), "{\"n\":%d,\"pad\":\"%080d\"}\n", i, i);
    assert_int_equal(audit_file_append(f, line, (size_t)n), ERROR_SUCCESS);
}

/* Reads generations oldest first and checks "n" runs on without a gap; returns the next n. */
static int check_generations(uint32_t keep, uint64_t cap, size_t *total)
{
    int expect = -1;
    *total = 0;
    for (int g = (int)keep; g >= 0; g--) {
        size_t len;
        char *buf = read_generation((uint32_t)g, &len);
        if (!buf)
            fail_msg("generation %d missing", g);
        assert_true(len > 0 && len <= cap);
        char *lines[64];
        size_t n = jsonl_split_lines(buf, len, lines, 64);
        for (size_t i = 0; i < n; i++) {
            jsonl_obj o;
            assert_true(jsonl_parse(lines[i], strlen(lines[i]), &o));
            int v = (int)jsonl_num(&o, "n");
            if (expect >= 0)
                assert_int_equal(v, expect);
            expect = v + 1;
        }
        *total += n;
        free(buf);
    }
    return expect;
}

static void test_rotation_keeps_n_files_and_newest_lines(void **state)
{
    (void)state;
    enum { CAP = 4096, KEEP = 3, LINES = 200 };
    make_test_dir(L"rotate");
    audit_file f;
    assert_int_equal(audit_file_open(&f, test_dir, CAP, KEEP), ERROR_SUCCESS);
    for (int i = 0; i < LINES; i++)
        append_numbered(&f, i);
    assert_true(f.rotations >= KEEP);
    assert_int_equal(f.rotate_failures, 0);
    audit_file_close(&f);

    size_t total;
    assert_int_equal(check_generations(KEEP, CAP, &total), LINES); /* the newest line survived */
    assert_true(total < LINES);                                    /* the oldest rotated away */
    size_t len;
    assert_null(read_generation(KEEP + 1, &len));

    /* Reopening appends to the current file; a line larger than the cap goes alone into a fresh
     * file (lines are never split), and the next line starts another. */
    assert_int_equal(audit_file_open(&f, test_dir, CAP, KEEP), ERROR_SUCCESS);
    char *huge = malloc(CAP * 2);
    assert_non_null(huge);
    memset(huge, 'h', CAP * 2);
    huge[0] = '[';
    huge[CAP * 2 - 2] = ']';
    huge[CAP * 2 - 1] = '\n';
    assert_int_equal(audit_file_append(&f, huge, CAP * 2), ERROR_SUCCESS);
    append_numbered(&f, LINES);
    audit_file_close(&f);
    free(huge);
    char *buf = read_generation(1, &len);
    char *lines[4];
    assert_int_equal(jsonl_split_lines(buf, len, lines, 4), 1);
    assert_int_equal(strlen(lines[0]), CAP * 2 - 1);
    free(buf);
    buf = read_generation(0, &len);
    assert_int_equal(jsonl_split_lines(buf, len, lines, 4), 1);
    jsonl_obj o;
    assert_true(jsonl_parse(lines[0], strlen(lines[0]), &o));
    assert_int_equal(jsonl_num(&o, "n"), LINES);
    free(buf);
    remove_test_dir();
}

/* A reader holding audit.1.jsonl without FILE_SHARE_DELETE blocks the rename: writing goes on in
 * the current file, nothing is lost, and rotation is tried again later. */
static void test_rotation_failure_keeps_writing(void **state)
{
    (void)state;
    enum { CAP = 1024, KEEP = 2 };
    make_test_dir(L"rotfail");
    audit_file f;
    assert_int_equal(audit_file_open(&f, test_dir, CAP, KEEP), ERROR_SUCCESS);
    int i = 0;
    while (f.rotations == 0)
        append_numbered(&f, i++);
    wchar_t path[MAX_PATH];
    gen_path(1, path);
    HANDLE reader = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                                OPEN_EXISTING, 0, NULL);
    assert_true(reader != INVALID_HANDLE_VALUE);
    int first_blocked = i;
    while (f.rotate_failures == 0 && i < first_blocked + 100)
        append_numbered(&f, i++);
    if (f.rotate_failures == 0) {
        CloseHandle(reader);
        audit_file_close(&f);
        remove_test_dir();
        print_message(
            "SKIP: this platform let a file open without FILE_SHARE_DELETE be replaced\n");
        skip();
    }
    for (int k = 0; k < 20; k++)
        append_numbered(&f, i++);
    uint32_t failures = f.rotate_failures;
    CloseHandle(reader);
    /* The retry waits ROTATE_RETRY_MS; simulate its passing instead of sleeping. */
    f.rotate_after_tick = 0;
    append_numbered(&f, i++);
    assert_int_equal(f.rotate_failures, failures);
    uint32_t rotations = f.rotations;
    audit_file_close(&f);

    assert_int_equal(rotations, 2); /* the first one, then the retry */
    /* Every line is present exactly once, in order, across the generations. */
    int expect = -1;
    for (int g = KEEP; g >= 0; g--) {
        size_t len;
        char *buf = read_generation((uint32_t)g, &len);
        if (!buf)
            continue;
        char *lines[256];
        size_t n = jsonl_split_lines(buf, len, lines, 256);
        for (size_t k = 0; k < n; k++) {
            jsonl_obj o;
            assert_true(jsonl_parse(lines[k], strlen(lines[k]), &o));
            int v = (int)jsonl_num(&o, "n");
            if (expect < 0)
                expect = v; /* the oldest lines may have rotated out */
            assert_int_equal(v, expect);
            expect++;
        }
        free(buf);
    }
    assert_int_equal(expect, i);
    remove_test_dir();
}

/* ---- DACL ------------------------------------------------------------------------------------ */

/* Exactly: allow SYSTEM full, allow Administrators full. */
static void check_dacl(const ACL *dacl)
{
    assert_non_null(dacl);
    assert_int_equal(dacl->AceCount, 2);
    bool system = false, admins = false;
    for (WORD i = 0; i < dacl->AceCount; i++) {
        ACCESS_ALLOWED_ACE *ace = NULL;
        assert_true(GetAce((PACL)dacl, i, (void **)&ace));
        assert_int_equal(ace->Header.AceType, ACCESS_ALLOWED_ACE_TYPE);
        assert_int_equal(ace->Mask & FILE_ALL_ACCESS, FILE_ALL_ACCESS);
        PSID sid = (PSID)&ace->SidStart;
        if (IsWellKnownSid(sid, WinLocalSystemSid))
            system = true;
        else if (IsWellKnownSid(sid, WinBuiltinAdministratorsSid))
            admins = true;
        else
            fail_msg("unexpected ACE in the audit DACL");
    }
    assert_true(system && admins);
}

typedef DWORD(WINAPI *set_security_info_fn)(HANDLE, SE_OBJECT_TYPE, SECURITY_INFORMATION, PSID,
                                            PSID, PACL, PACL);
static set_security_info_fn real_set_security_info;
static int set_calls;
static SECURITY_INFORMATION set_info;
static BYTE set_dacl[256];

static DWORD WINAPI hook_set_security_info(HANDLE h, SE_OBJECT_TYPE type, SECURITY_INFORMATION info,
                                           PSID owner, PSID group, PACL dacl, PACL sacl)
{
    set_calls++;
    set_info = info;
    assert_int_equal(type, SE_FILE_OBJECT);
    if (dacl && dacl->AclSize <= sizeof(set_dacl))
        memcpy(set_dacl, dacl, dacl->AclSize);
    return real_set_security_info(h, type, info, owner, group, dacl, sacl);
}

/* What the service asks for, checked on every platform: a protected DACL of SYSTEM + Admins,
 * applied even to a file that already existed with a permissive DACL. */
static void test_dacl_is_applied_to_existing_file(void **state)
{
    (void)state;
    make_test_dir(L"dacl");
    assert_true(CreateDirectoryW(test_dir, NULL));
    wchar_t path[MAX_PATH];
    gen_path(0, path);
    PSECURITY_DESCRIPTOR open_sd = NULL;
    assert_true(ConvertStringSecurityDescriptorToSecurityDescriptorW(
        L"D:(A;;FA;;;WD)(A;;FA;;;BU)", SDDL_REVISION_1, &open_sd, NULL));
    SECURITY_ATTRIBUTES sa = {sizeof(sa), open_sd, FALSE};
    HANDLE h = CreateFileW(path, GENERIC_WRITE, 0, &sa, CREATE_NEW, 0, NULL);
    assert_true(h != INVALID_HANDLE_VALUE);
    CloseHandle(h);
    LocalFree(open_sd);

    void *prev =
        iat_patch_import("advapi32.dll", "SetSecurityInfo", (void *)hook_set_security_info);
    assert_non_null(prev);
    real_set_security_info = (set_security_info_fn)prev;
    set_calls = 0;
    audit_file f;
    DWORD err = audit_file_open(&f, test_dir, 4096, 2);
    iat_patch_import("advapi32.dll", "SetSecurityInfo", prev);
    assert_int_equal(err, ERROR_SUCCESS);
    audit_file_close(&f);
    assert_int_equal(set_calls, 1);
    assert_int_equal(set_info, DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION);
    check_dacl((const ACL *)set_dacl);
    remove_test_dir();
}

static void check_object_dacl(const wchar_t *path)
{
    PACL dacl = NULL;
    PSECURITY_DESCRIPTOR sd = NULL;
    HANDLE h =
        CreateFileW(path, READ_CONTROL, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                    NULL, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
    assert_true(h != INVALID_HANDLE_VALUE);
    assert_int_equal(
        GetSecurityInfo(h, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, &dacl, NULL, &sd),
        ERROR_SUCCESS);
    CloseHandle(h);
    SECURITY_DESCRIPTOR_CONTROL control = 0;
    DWORD rev = 0;
    assert_true(GetSecurityDescriptorControl(sd, &control, &rev));
    assert_true(control & SE_DACL_PROTECTED); /* nothing inherited from %ProgramData% */
    check_dacl(dacl);
    LocalFree(sd);
}

/* Real Windows only: read the DACL back from the file and the directory audit created. */
static void test_dacl_read_back(void **state)
{
    (void)state;
    edge_test_skip_under_wine("Wine 8 does not store file DACLs; GetSecurityInfo returns one "
                              "synthesized from Unix mode bits");
    make_test_dir(L"daclread");
    audit_file f;
    assert_int_equal(audit_file_open(&f, test_dir, 4096, 2), ERROR_SUCCESS);
    wchar_t path[MAX_PATH];
    gen_path(0, path);
    check_object_dacl(path);
    check_object_dacl(test_dir);
    /* Rotated generations keep it: a rename moves the security descriptor with the file. */
    char line[] = "{}\n";
    for (int i = 0; i < 2000; i++)
        assert_int_equal(audit_file_append(&f, line, 3), ERROR_SUCCESS);
    audit_file_close(&f);
    gen_path(1, path);
    check_object_dacl(path);
    remove_test_dir();
}

/* ---- a torn last line from a crash ----------------------------------------------------------- */

static void test_torn_last_line_is_terminated(void **state)
{
    (void)state;
    make_test_dir(L"torn");
    assert_true(CreateDirectoryW(test_dir, NULL));
    wchar_t path[MAX_PATH];
    gen_path(0, path);
    HANDLE h = CreateFileW(path, GENERIC_WRITE, 0, NULL, CREATE_NEW, 0, NULL);
    assert_true(h != INVALID_HANDLE_VALUE);
    DWORD written;
    assert_true(WriteFile(h, "{\"time\":\"2024", 13, &written, NULL));
    CloseHandle(h);

    audit_file f;
    assert_int_equal(audit_file_open(&f, test_dir, 4096, 2), ERROR_SUCCESS);
    assert_int_equal(f.size, 14);
    append_numbered(&f, 7);
    audit_file_close(&f);
    /* A clean file is left alone on the next open. */
    assert_int_equal(audit_file_open(&f, test_dir, 4096, 2), ERROR_SUCCESS);
    append_numbered(&f, 8);
    audit_file_close(&f);

    size_t len;
    char *buf = read_generation(0, &len);
    char *lines[4];
    assert_int_equal(jsonl_split_lines(buf, len, lines, 4), 3);
    assert_string_equal(lines[0], "{\"time\":\"2024");
    jsonl_obj o;
    assert_true(jsonl_parse(lines[1], strlen(lines[1]), &o));
    assert_int_equal(jsonl_num(&o, "n"), 7);
    assert_true(jsonl_parse(lines[2], strlen(lines[2]), &o));
    assert_int_equal(jsonl_num(&o, "n"), 8);
    free(buf);
    remove_test_dir();
}

/* ---- a disk that refuses writes -------------------------------------------------------------- */

typedef BOOL(WINAPI *write_file_fn)(HANDLE, LPCVOID, DWORD, LPDWORD, LPOVERLAPPED);
static write_file_fn real_write_file;
static int write_mode; /* 0 normal, 1 fail, 2 write half then fail */

static BOOL WINAPI hook_write_file(HANDLE h, LPCVOID buf, DWORD len, LPDWORD written,
                                   LPOVERLAPPED ov)
{
    if (write_mode == 0 || len < 2)
        return real_write_file(h, buf, len, written, ov);
    DWORD part = 0;
    if (write_mode == 2)
        real_write_file(h, buf, len / 2, &part, ov);
    if (written)
        *written = part;
    SetLastError(ERROR_DISK_FULL);
    return FALSE;
}

/* A failed or short write leaves no partial line behind and reports the error. */
static void test_failed_write_leaves_whole_lines(void **state)
{
    (void)state;
    make_test_dir(L"diskfull");
    audit_file f;
    assert_int_equal(audit_file_open(&f, test_dir, 1 << 20, 2), ERROR_SUCCESS);
    append_numbered(&f, 1);
    void *prev = iat_patch_import("kernel32.dll", "WriteFile", (void *)hook_write_file);
    assert_non_null(prev);
    real_write_file = (write_file_fn)prev;
    char line[] = "{\"n\":99}\n";
    write_mode = 2;
    DWORD short_err = audit_file_append(&f, line, sizeof(line) - 1);
    write_mode = 1;
    DWORD fail_err = audit_file_append(&f, line, sizeof(line) - 1);
    write_mode = 0;
    iat_patch_import("kernel32.dll", "WriteFile", prev);
    assert_int_equal(short_err, ERROR_DISK_FULL);
    assert_int_equal(fail_err, ERROR_DISK_FULL);
    append_numbered(&f, 2);
    audit_file_close(&f);

    size_t len;
    char *buf = read_generation(0, &len);
    char *lines[4];
    assert_int_equal(jsonl_split_lines(buf, len, lines, 4), 2);
    for (int i = 0; i < 2; i++) {
        jsonl_obj o;
        assert_true(jsonl_parse(lines[i], strlen(lines[i]), &o));
        assert_int_equal(jsonl_num(&o, "n"), i + 1);
    }
    free(buf);
    remove_test_dir();
}

static void test_open_rejects_bad_arguments(void **state)
{
    (void)state;
    audit_file f;
    assert_int_equal(audit_file_open(&f, NULL, 4096, 2), ERROR_INVALID_PARAMETER);
    audit_file_close(&f);
    assert_int_equal(audit_file_open(&f, L"", 4096, 2), ERROR_INVALID_PARAMETER);
    audit_file_close(&f);
    assert_int_equal(audit_file_open(&f, L"C:\\x", 0, 2), ERROR_INVALID_PARAMETER);
    audit_file_close(&f);
    assert_int_equal(audit_file_open(&f, L"C:\\x", 4096, 0), ERROR_INVALID_PARAMETER);
    audit_file_close(&f);
    /* A parent that does not exist is an error, not a silent success. */
    assert_int_not_equal(audit_file_open(&f, L"C:\\edge-no-such-dir\\sub\\dir", 4096, 2),
                         ERROR_SUCCESS);
    audit_file_close(&f);
    wchar_t small[8];
    assert_int_equal(audit_file_path(L"C:\\dir", 3, small, 8), ERROR_FILENAME_EXCED_RANGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rotation_keeps_n_files_and_newest_lines),
        cmocka_unit_test(test_rotation_failure_keeps_writing),
        cmocka_unit_test(test_dacl_is_applied_to_existing_file),
        cmocka_unit_test(test_dacl_read_back),
        cmocka_unit_test(test_torn_last_line_is_terminated),
        cmocka_unit_test(test_failed_write_leaves_whole_lines),
        cmocka_unit_test(test_open_rejects_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
