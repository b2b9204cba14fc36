/*
 * Local configuration, restart, memory and audit helpers for the hardening tests (itest_cfg.h).
 */
#include "itest_cfg.h"
#include "itest.h"

#include <psapi.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

static DWORD open_cfg(HKEY *key)
{
    return (DWORD)RegCreateKeyExW(HKEY_LOCAL_MACHINE, ITEST_CFG_KEY, 0, NULL, 0,
                                  KEY_QUERY_VALUE | KEY_SET_VALUE | KEY_WOW64_64KEY, NULL, key,
                                  NULL);
}

DWORD itest_cfg_set(itest_cfg_saved *saved, const wchar_t *name, DWORD value)
{
    HKEY key = NULL;
    DWORD err = open_cfg(&key);
    unsigned i;

    if (err != ERROR_SUCCESS)
        return err;
    for (i = 0; i < saved->n; i++)
        if (wcscmp(saved->v[i].name, name) == 0)
            break;
    if (i == saved->n) {
        if (saved->n == ITEST_CFG_MAX || wcslen(name) >= 64) {
            RegCloseKey(key);
            return ERROR_INSUFFICIENT_BUFFER;
        }
        wcscpy(saved->v[i].name, name);
        saved->v[i].size = sizeof(saved->v[i].data);
        err = (DWORD)RegQueryValueExW(key, name, NULL, &saved->v[i].type, saved->v[i].data,
                                      &saved->v[i].size);
        if (err != ERROR_SUCCESS && err != ERROR_FILE_NOT_FOUND) {
            RegCloseKey(key);
            return err;
        }
        saved->v[i].existed = err == ERROR_SUCCESS;
        saved->n++;
    }
    err = (DWORD)RegSetValueExW(key, name, 0, REG_DWORD, (const BYTE *)&value, sizeof(value));
    RegCloseKey(key);
    return err;
}

DWORD itest_cfg_restore(itest_cfg_saved *saved)
{
    HKEY key = NULL;
    DWORD err = open_cfg(&key), e;
    unsigned i;

    if (err != ERROR_SUCCESS)
        return err;
    for (i = 0; i < saved->n; i++) {
        if (saved->v[i].existed)
            e = (DWORD)RegSetValueExW(key, saved->v[i].name, 0, saved->v[i].type, saved->v[i].data,
                                      saved->v[i].size);
        else
            e = (DWORD)RegDeleteValueW(key, saved->v[i].name);
        if (e == ERROR_FILE_NOT_FOUND)
            e = ERROR_SUCCESS;
        if (err == ERROR_SUCCESS)
            err = e;
    }
    saved->n = 0;
    /* Wine writes the registry to disk lazily; a server killed before that (`wineserver -k`)
     * would bring the test values back in the next run, before the tests that expect defaults. */
    e = (DWORD)RegFlushKey(key);
    if (err == ERROR_SUCCESS)
        err = e;
    RegCloseKey(key);
    return err;
}

DWORD itest_svc_restart(void)
{
    DWORD err = itest_svc_stop(ITEST_STOP_MS, NULL);

    if (err == WAIT_TIMEOUT)
        err = itest_svc_kill(ITEST_STOP_MS);
    if (err != ERROR_SUCCESS)
        return err;
    return itest_svc_start(ITEST_START_MS);
}

DWORD itest_svc_private_bytes(SIZE_T *bytes, DWORD *pid_out)
{
    PROCESS_MEMORY_COUNTERS_EX pmc;
    DWORD state = 0, pid = 0, err;
    HANDLE h;

    *bytes = 0;
    if (pid_out)
        *pid_out = 0;
    err = itest_svc_query(&state, &pid);
    if (err != ERROR_SUCCESS)
        return err;
    if (pid == 0)
        return ERROR_SERVICE_NOT_ACTIVE;
    h = OpenProcess(PROCESS_QUERY_INFORMATION | PROCESS_VM_READ, FALSE, pid);
    if (!h)
        return GetLastError();
    memset(&pmc, 0, sizeof(pmc));
    if (!GetProcessMemoryInfo(h, (PROCESS_MEMORY_COUNTERS *)&pmc, sizeof(pmc)))
        err = GetLastError();
    CloseHandle(h);
    if (err == ERROR_SUCCESS) {
        /* Wine 8 reports another process's PrivateUsage as its swap use (0); its WorkingSetSize
         * is the Linux RSS, the closest measure of growth it offers. */
        *bytes = pmc.PrivateUsage ? pmc.PrivateUsage : pmc.WorkingSetSize;
        if (pid_out)
            *pid_out = pid;
    }
    return err;
}

DWORD itest_state_path(const wchar_t *name, wchar_t *out, size_t out_chars)
{
    wchar_t rel[MAX_PATH];

    if (swprintf(rel, MAX_PATH, L"EdgeBroker\\%ls", name) < 0)
        return ERROR_INSUFFICIENT_BUFFER;
    return itest_service_data_path(rel, out, out_chars);
}

/* Counts the audit trail's complete lines; *FOUND when one after SKIP holds both needles. */
static size_t scan_audit(size_t skip, const char *n1, const char *n2, bool *found)
{
    static char line[16384];
    wchar_t path[MAX_PATH];
    size_t count = 0;
    FILE *f;

    *found = false;
    if (itest_state_path(L"audit.jsonl", path, MAX_PATH) != ERROR_SUCCESS)
        return 0;
    f = _wfopen(path, L"rb");
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f)) {
        if (!strchr(line, '\n'))
            continue; /* a line still being written, or longer than the buffer */
        if (count++ < skip || *found)
            continue;
        *found = (!n1 || strstr(line, n1)) && (!n2 || strstr(line, n2));
    }
    fclose(f);
    return count;
}

size_t itest_audit_lines(void)
{
    bool found;

    return scan_audit(0, NULL, NULL, &found);
}

bool itest_audit_has(size_t skip_lines, const char *n1, const char *n2, DWORD ms)
{
    ULONGLONG end = GetTickCount64() + ms;
    bool found = false;

    for (;;) {
        (void)scan_audit(skip_lines, n1, n2, &found);
        if (found || GetTickCount64() >= end)
            return found;
        Sleep(100);
    }
}
