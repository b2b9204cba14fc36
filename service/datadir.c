/* The data directory: created protected, or vetted through a handle (see datadir.h). */
#include "datadir.h"

#include <aclapi.h>
#include <sddl.h>

#include <stdbool.h>
#include <stdlib.h>

static bool sid_is_token_user(PSID sid)
{
    HANDLE token = NULL;
    TOKEN_USER *user = NULL;
    DWORD need = 0;
    bool same = false;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token))
        return false;
    if (!GetTokenInformation(token, TokenUser, NULL, 0, &need) &&
        GetLastError() == ERROR_INSUFFICIENT_BUFFER && need > 0 && need < 4096) {
        user = malloc(need);
        if (user && GetTokenInformation(token, TokenUser, user, need, &need))
            same = EqualSid(sid, user->User.Sid) != FALSE;
    }
    free(user);
    CloseHandle(token);
    return same;
}

/* Its owner could rewrite the DACL and every file in it, so only trusted owners are accepted. */
static DWORD check_owner(HANDLE h)
{
    PSID owner = NULL;
    PSECURITY_DESCRIPTOR sd = NULL;
    DWORD err = GetSecurityInfo(h, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION, &owner, NULL, NULL,
                                NULL, &sd);
    if (err != ERROR_SUCCESS)
        return err;
    if (!owner || !(IsWellKnownSid(owner, WinLocalSystemSid) ||
                    IsWellKnownSid(owner, WinBuiltinAdministratorsSid) || sid_is_token_user(owner)))
        err = ERROR_INVALID_OWNER;
    LocalFree(sd);
    return err;
}

/* Creates DIR with DATADIR_SDDL (or its DACL alone); an existing path is not an error here. */
static DWORD create_dir(const wchar_t *dir)
{
    static const wchar_t *const sddl[2] = {DATADIR_SDDL, DATADIR_DACL_SDDL};
    DWORD err = ERROR_INVALID_OWNER;
    for (int i = 0; i < 2 && err == ERROR_INVALID_OWNER; i++) {
        PSECURITY_DESCRIPTOR sd = NULL;
        if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl[i], SDDL_REVISION_1, &sd,
                                                                  NULL))
            return GetLastError();
        SECURITY_ATTRIBUTES sa = {sizeof(sa), sd, FALSE};
        err = CreateDirectoryW(dir, &sa) ? ERROR_SUCCESS : GetLastError();
        LocalFree(sd);
    }
    return err == ERROR_ALREADY_EXISTS ? ERROR_SUCCESS : err;
}

DWORD datadir_open(const wchar_t *dir, HANDLE *handle, const char **reason)
{
    BY_HANDLE_FILE_INFORMATION info;
    HANDLE h = INVALID_HANDLE_VALUE;
    const char *why = NULL;
    DWORD err;

    if (reason)
        *reason = NULL;
    if (handle)
        *handle = INVALID_HANDLE_VALUE;
    if (!dir || !*dir || !handle) {
        why = "invalid argument";
        err = ERROR_INVALID_PARAMETER;
        goto out;
    }
    err = create_dir(dir);
    if (err != ERROR_SUCCESS) {
        why = "cannot create the data directory";
        goto out;
    }
    /* The path may have been replaced since CreateDirectoryW: everything below is decided on
     * the handle, which names the object itself (a link is opened, not followed). */
    h = CreateFileW(dir, FILE_LIST_DIRECTORY | FILE_READ_ATTRIBUTES | READ_CONTROL,
                    FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING,
                    FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        err = GetLastError();
        why = "cannot open the data directory";
        goto out;
    }
    if (!GetFileInformationByHandle(h, &info)) {
        err = GetLastError();
        why = "cannot query the data directory";
        goto out;
    }
    if (info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) {
        err = DATADIR_ERROR_REPARSE_POINT;
        why = "the data directory is a reparse point (junction or symbolic link); refused";
        goto out;
    }
    if (!(info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)) {
        err = ERROR_DIRECTORY;
        why = "the data directory path names a file, not a directory; refused";
        goto out;
    }
    err = check_owner(h);
    if (err == ERROR_INVALID_OWNER)
        why = "the data directory is owned by neither SYSTEM, Administrators nor the service";
    else if (err != ERROR_SUCCESS)
        why = "cannot read the data directory's owner";
    if (err != ERROR_SUCCESS)
        goto out;
    *handle = h;
    h = INVALID_HANDLE_VALUE;
out:
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    if (reason)
        *reason = why;
    return err;
}
