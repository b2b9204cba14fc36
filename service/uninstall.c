/* Uninstall cleanup (see uninstall.h). */
#include "uninstall.h"

#include <stdio.h>
#include <userenv.h>
#include <wchar.h>

#include "firewall.h"

#define UNINSTALL_LOCAL_KEY L"EdgeBroker" /* under HKLM\SOFTWARE */

/* Deletes one directory level; recursion depth is bounded by the path length limit. */
static DWORD delete_tree_rec(wchar_t *path, size_t len, size_t cap)
{
    WIN32_FIND_DATAW fd;
    HANDLE find;
    DWORD err = ERROR_SUCCESS;

    if (len + 3 >= cap)
        return ERROR_FILENAME_EXCED_RANGE;
    wcscpy(path + len, L"\\*");
    find = FindFirstFileExW(path, FindExInfoBasic, &fd, FindExSearchNameMatch, NULL, 0);
    path[len] = L'\0';
    if (find == INVALID_HANDLE_VALUE) {
        err = GetLastError();
        return err == ERROR_FILE_NOT_FOUND ? ERROR_SUCCESS : err;
    }
    do {
        size_t nlen = wcslen(fd.cFileName);
        DWORD e = ERROR_SUCCESS;
        if (wcscmp(fd.cFileName, L".") == 0 || wcscmp(fd.cFileName, L"..") == 0)
            continue;
        if (len + 1 + nlen + 1 > cap) {
            e = ERROR_FILENAME_EXCED_RANGE;
        } else {
            path[len] = L'\\';
            wcscpy(path + len + 1, fd.cFileName);
            if (fd.dwFileAttributes & FILE_ATTRIBUTE_READONLY)
                SetFileAttributesW(path, fd.dwFileAttributes & ~(DWORD)FILE_ATTRIBUTE_READONLY);
            if ((fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) &&
                !(fd.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)) {
                e = delete_tree_rec(path, len + 1 + nlen, cap);
            } else if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) {
                /* A junction or directory symlink: remove the link, never what it points to. */
                e = RemoveDirectoryW(path) ? ERROR_SUCCESS : GetLastError();
            } else {
                e = DeleteFileW(path) ? ERROR_SUCCESS : GetLastError();
            }
            path[len] = L'\0';
        }
        if (e != ERROR_SUCCESS && err == ERROR_SUCCESS)
            err = e;
    } while (FindNextFileW(find, &fd));
    FindClose(find);
    if (!RemoveDirectoryW(path) && err == ERROR_SUCCESS)
        err = GetLastError();
    return err;
}

DWORD uninstall_delete_tree(const wchar_t *dir)
{
    wchar_t path[MAX_PATH * 4];
    DWORD attrs;
    size_t len;

    if (!dir || !dir[0])
        return ERROR_INVALID_PARAMETER;
    len = wcslen(dir);
    if (len >= sizeof(path) / sizeof(path[0]))
        return ERROR_FILENAME_EXCED_RANGE;
    attrs = GetFileAttributesW(dir);
    if (attrs == INVALID_FILE_ATTRIBUTES) {
        DWORD err = GetLastError();
        return (err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND) ? ERROR_SUCCESS : err;
    }
    if (!(attrs & FILE_ATTRIBUTE_DIRECTORY))
        return ERROR_DIRECTORY;
    if (attrs & FILE_ATTRIBUTE_REPARSE_POINT)
        return RemoveDirectoryW(dir) ? ERROR_SUCCESS : GetLastError();
    wcscpy(path, dir);
    while (len > 0 && path[len - 1] == L'\\')
        path[--len] = L'\0';
    return delete_tree_rec(path, len, sizeof(path) / sizeof(path[0]));
}

static DWORD status_to_win32(edge_status st)
{
    switch (st) {
    case EDGE_OK:
        return ERROR_SUCCESS;
    case EDGE_E_FIREWALL_ACCESS:
        return ERROR_ACCESS_DENIED;
    case EDGE_E_TIMEOUT:
        return ERROR_TIMEOUT;
    case EDGE_E_NO_MEMORY:
        return ERROR_OUTOFMEMORY;
    default:
        return ERROR_GEN_FAILURE;
    }
}

static DWORD remove_rules(void)
{
    edge_fw_backend *fw = NULL;
    edge_fw_result res;
    size_t removed = 0;
    edge_status st = edge_fw_start(NULL, &fw, &res);
    if (st == EDGE_OK)
        st = edge_fw_remove_all(fw, &removed, &res);
    edge_fw_stop(fw);
    if (st != EDGE_OK) {
        fprintf(stderr, "uninstall: removing the EdgeBroker firewall rules failed: %s (%s, 0x%08lx)\n",
                res.message, edge_status_name((uint32_t)st), (unsigned long)res.hresult);
        return status_to_win32(st);
    }
    printf("uninstall: removed %zu firewall rule(s) of group EdgeBroker\n", removed);
    return ERROR_SUCCESS;
}

static DWORD remove_data_dir(void)
{
    wchar_t dir[MAX_PATH * 2];
    DWORD n = ExpandEnvironmentStringsW(L"%ProgramData%\\EdgeBroker", dir, MAX_PATH * 2);
    DWORD err;
    if (n == 0 || n > MAX_PATH * 2 || wcschr(dir, L'%')) {
        fprintf(stderr, "uninstall: cannot resolve %%ProgramData%%\n");
        return ERROR_ENVVAR_NOT_FOUND;
    }
    err = uninstall_delete_tree(dir);
    if (err != ERROR_SUCCESS)
        fprintf(stderr, "uninstall: deleting %ls failed: error %lu\n", dir, err);
    else
        printf("uninstall: removed %ls\n", dir);
    return err;
}

static DWORD remove_local_config(void)
{
    HKEY software;
    DWORD err = RegOpenKeyExW(HKEY_LOCAL_MACHINE, L"SOFTWARE", 0,
                              KEY_WOW64_64KEY | DELETE | KEY_ENUMERATE_SUB_KEYS | KEY_QUERY_VALUE |
                                  KEY_SET_VALUE,
                              &software);
    if (err != ERROR_SUCCESS) {
        fprintf(stderr, "uninstall: opening HKLM\\SOFTWARE failed: error %lu\n", err);
        return err;
    }
    /* Only the local key: SOFTWARE\Policies\EdgeBroker belongs to Group Policy and stays. */
    err = RegDeleteTreeW(software, UNINSTALL_LOCAL_KEY);
    if (err == ERROR_SUCCESS)
        err = RegDeleteKeyExW(software, UNINSTALL_LOCAL_KEY, KEY_WOW64_64KEY, 0);
    RegCloseKey(software);
    if (err == ERROR_FILE_NOT_FOUND)
        err = ERROR_SUCCESS;
    if (err != ERROR_SUCCESS)
        fprintf(stderr, "uninstall: deleting HKLM\\SOFTWARE\\EdgeBroker failed: error %lu\n", err);
    else
        printf("uninstall: removed HKLM\\SOFTWARE\\EdgeBroker (policy key left to Group Policy)\n");
    return err;
}

/*
 * The cleanup must see %ProgramData% exactly as the service does.  Windows Installer runs custom
 * actions with its own environment, and under Wine 8 that differs from the system environment
 * the SCM gives services (C:\ProgramData vs C:\users\Public).  Take the variable from the system
 * environment block, which is what the SCM builds a service's environment from; on Windows both
 * are the same directory.  COM servers loaded later in this process inherit it too.
 */
static void adopt_service_environment(void)
{
    static const wchar_t key[] = L"ProgramData=";
    const size_t klen = sizeof(key) / sizeof(key[0]) - 1;
    void *block = NULL;
    const wchar_t *p;

    if (!CreateEnvironmentBlock(&block, NULL, FALSE))
        return; /* keep our own value: still right on Windows */
    for (p = block; *p; p += wcslen(p) + 1) {
        if (_wcsnicmp(p, key, klen) == 0) {
            SetEnvironmentVariableW(L"ProgramData", p + klen);
            break;
        }
    }
    DestroyEnvironmentBlock(block);
}

DWORD uninstall_cleanup(void)
{
    DWORD first;

    adopt_service_environment();
    first = remove_rules();
    DWORD err = remove_data_dir();
    if (first == ERROR_SUCCESS)
        first = err;
    err = remove_local_config();
    if (first == ERROR_SUCCESS)
        first = err;
    return first;
}
