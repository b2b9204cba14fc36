/*
 * Reads of the firewall double's store, as the service's rules appear there (see itest.h).
 */
#include "itest.h"

#include "fwdouble_control.h"

#include <stdio.h>
#include <string.h>
#include <userenv.h>
#include <wchar.h>

DWORD itest_service_programdata(wchar_t *out, size_t out_chars)
{
    static const wchar_t key[] = L"ProgramData=";
    const size_t klen = sizeof(key) / sizeof(key[0]) - 1;
    void *block = NULL;
    const wchar_t *p;
    DWORD err = ERROR_ENVVAR_NOT_FOUND;

    /* The system environment, as the SCM builds it for a service (not this process's own). */
    if (!CreateEnvironmentBlock(&block, NULL, FALSE))
        return GetLastError();
    for (p = block; *p; p += wcslen(p) + 1) {
        if (_wcsnicmp(p, key, klen) == 0) {
            err = wcslen(p + klen) < out_chars ? ERROR_SUCCESS : ERROR_INSUFFICIENT_BUFFER;
            if (err == ERROR_SUCCESS)
                wcscpy(out, p + klen);
            break;
        }
    }
    DestroyEnvironmentBlock(block);
    return err;
}

DWORD itest_service_data_path(const wchar_t *rel, wchar_t *out, size_t out_chars)
{
    DWORD err = itest_service_programdata(out, out_chars);

    if (err != ERROR_SUCCESS)
        return err;
    if (wcslen(out) + 1 + wcslen(rel) + 1 > out_chars)
        return ERROR_INSUFFICIENT_BUFFER;
    wcscat(out, L"\\");
    wcscat(out, rel);
    return ERROR_SUCCESS;
}

DWORD itest_fw_use_service_store(void)
{
    wchar_t path[MAX_PATH];
    DWORD err = itest_service_data_path(L"FwDouble\\rules.txt", path, MAX_PATH);

    /* The service runs under services.exe: it never sees a per-test store variable and uses the
     * double's default store under its own %ProgramData%, which under Wine 8 is not ours. */
    if (err == ERROR_SUCCESS && !SetEnvironmentVariableW(L"EDGE_FWDOUBLE_STORE", path))
        err = GetLastError();
    return err;
}

void itest_hex_id(const uint8_t id[EDGE_ID_SIZE], char out[2 * EDGE_ID_SIZE + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned i;

    for (i = 0; i < EDGE_ID_SIZE; i++) {
        out[2 * i] = hex[id[i] >> 4];
        out[2 * i + 1] = hex[id[i] & 15];
    }
    out[2 * EDGE_ID_SIZE] = '\0';
}

void itest_rule_name(const uint8_t id[EDGE_ID_SIZE], wchar_t *out, size_t out_chars)
{
    char hex[2 * EDGE_ID_SIZE + 1];

    itest_hex_id(id, hex);
    swprintf(out, out_chars, L"EdgeBroker lease %hs", hex);
}

long itest_fw_group_count(void)
{
    fwdc_rule *rules = NULL;
    size_t n = 0;

    if (FAILED(fwdc_store_read_group(ITEST_GROUP, &rules, &n)))
        return -1;
    fwdc_rules_free(rules, n);
    return (long)n;
}

bool itest_fw_wait_rule(const uint8_t id[EDGE_ID_SIZE], bool want, DWORD ms)
{
    ULONGLONG end = GetTickCount64() + ms;
    wchar_t name[64];
    long n;

    itest_rule_name(id, name, 64);
    for (;;) {
        n = fwdc_store_count_named(name);
        if (n >= 0 && (n > 0) == want)
            return true;
        if (GetTickCount64() >= end)
            return false;
        Sleep(50);
    }
}
