#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <windows.h>
#include <aclapi.h>
#include <winioctl.h>
#include <stdio.h>
#include <string.h>

#include "testfs.h"

void testfs_remove_flat_dir(const wchar_t *dir)
{
    WIN32_FIND_DATAW fd;
    wchar_t pattern[MAX_PATH], path[MAX_PATH];
    HANDLE h;

    swprintf(pattern, MAX_PATH, L"%ls\\*", dir);
    h = FindFirstFileW(pattern, &fd);
    if (h != INVALID_HANDLE_VALUE) {
        do {
            if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
                continue;
            swprintf(path, MAX_PATH, L"%ls\\%ls", dir, fd.cFileName);
            DeleteFileW(path);
        } while (FindNextFileW(h, &fd));
        FindClose(h);
    }
    RemoveDirectoryW(dir);
}

bool testfs_make_junction(const wchar_t *dir, const wchar_t *target)
{
    wchar_t nt[MAX_PATH + 8];
    union {
        REPARSE_GUID_DATA_BUFFER align;
        BYTE bytes[4096];
    } u;
    BYTE *b = u.bytes;
    USHORT sub, prn = 0, data_len;
    DWORD tag = IO_REPARSE_TAG_MOUNT_POINT, got = 0, attr;
    HANDLE h;
    BOOL ok;

    swprintf(nt, MAX_PATH + 8, L"\\??\\%ls", target);
    sub = (USHORT)(wcslen(nt) * sizeof(wchar_t));
    memset(b, 0, sizeof(u.bytes));
    /* REPARSE_DATA_BUFFER (mount point): tag, data length, reserved, then the names. */
    data_len = (USHORT)(8 + sub + sizeof(wchar_t) + prn + sizeof(wchar_t));
    {
        USHORT hdr[6] = {data_len, 0, 0, sub, (USHORT)(sub + sizeof(wchar_t)), prn};
        memcpy(b, &tag, 4);
        memcpy(b + 4, hdr, sizeof(hdr));
    }
    memcpy(b + 16, nt, sub);
    h = CreateFileW(dir, GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                    FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT, NULL);
    ok = h != INVALID_HANDLE_VALUE &&
         DeviceIoControl(h, FSCTL_SET_REPARSE_POINT, b, 8u + data_len, NULL, 0, &got, NULL);
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    attr = GetFileAttributesW(dir);
    return ok && attr != INVALID_FILE_ATTRIBUTES && (attr & FILE_ATTRIBUTE_REPARSE_POINT);
}

void testfs_plant_users_dir_or_skip(const wchar_t *dir)
{
    HANDLE token;
    TOKEN_PRIVILEGES tp = {1, {{{0, 0}, SE_PRIVILEGE_ENABLED}}};
    BYTE users[SECURITY_MAX_SID_SIZE];
    DWORD cb = sizeof(users), err;
    PSID owner = NULL;
    PSECURITY_DESCRIPTOR sd = NULL;
    bool stuck;

    assert_true(CreateDirectoryW(dir, NULL));
    assert_true(OpenProcessToken(GetCurrentProcess(), TOKEN_ADJUST_PRIVILEGES, &token));
    if (LookupPrivilegeValueW(NULL, SE_RESTORE_NAME, &tp.Privileges[0].Luid))
        AdjustTokenPrivileges(token, FALSE, &tp, 0, NULL, NULL);
    CloseHandle(token);
    assert_true(CreateWellKnownSid(WinBuiltinUsersSid, NULL, users, &cb));
    err = SetNamedSecurityInfoW((wchar_t *)dir, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION, users,
                                NULL, NULL, NULL);
    assert_int_equal(GetNamedSecurityInfoW(dir, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION, &owner,
                                           NULL, NULL, NULL, &sd),
                     ERROR_SUCCESS);
    stuck = err == ERROR_SUCCESS && EqualSid(owner, users);
    LocalFree(sd);
    if (!stuck) {
        print_message("SKIP: cannot make BUILTIN\\Users the directory's owner here (error %lu, "
                      "Wine does not keep file owners)\n",
                      (unsigned long)err);
        skip();
    }
}
