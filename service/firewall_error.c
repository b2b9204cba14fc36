/*
 * Firewall backend: converting HRESULTs into edge_status + message, once, at the COM boundary.
 */
#include "firewall_internal.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

edge_status fw_result_set(edge_fw_result *res, edge_status status, HRESULT hr, const char *fmt, ...)
{
    va_list ap;

    if (!res)
        return status;
    res->status = status;
    res->hresult = (uint32_t)hr;
    res->message[0] = '\0';
    if (fmt) {
        va_start(ap, fmt);
        (void)vsnprintf(res->message, sizeof(res->message), fmt, ap);
        va_end(ap);
    }
    return status;
}

static edge_status fw_map(HRESULT hr)
{
    switch (hr) {
    case E_ACCESSDENIED:
        return EDGE_E_FIREWALL_ACCESS;
    case E_INVALIDARG:
        return EDGE_E_FIREWALL_INVALID;
    case E_OUTOFMEMORY:
        return EDGE_E_NO_MEMORY;
    default:
        return EDGE_E_FIREWALL;
    }
}

edge_status fw_fail(edge_fw_result *res, HRESULT hr, const char *what)
{
    edge_status st = fw_map(hr);

    switch (st) {
    case EDGE_E_FIREWALL_ACCESS:
        return fw_result_set(res, st, hr, "%s: access denied (0x%08lX): process not elevated", what,
                             (unsigned long)hr);
    case EDGE_E_FIREWALL_INVALID:
        return fw_result_set(res, st, hr, "%s: invalid argument (0x%08lX)", what,
                             (unsigned long)hr);
    default:
        return fw_result_set(res, st, hr, "%s failed (0x%08lX)", what, (unsigned long)hr);
    }
}

edge_status fw_fail_put(edge_fw_result *res, HRESULT hr, const char *property)
{
    edge_status st = fw_map(hr);

    if (st == EDGE_E_FIREWALL_INVALID)
        return fw_result_set(res, st, hr, "firewall rejected rule property %s (0x%08lX)", property,
                             (unsigned long)hr);
    if (st == EDGE_E_FIREWALL_ACCESS)
        return fw_result_set(res, st, hr,
                             "setting rule property %s: access denied (0x%08lX): not elevated",
                             property, (unsigned long)hr);
    return fw_result_set(res, st, hr, "setting rule property %s failed (0x%08lX)", property,
                         (unsigned long)hr);
}

bool fw_token_elevated(bool *known)
{
    HANDLE token = NULL;
    TOKEN_ELEVATION elevation;
    DWORD len = 0;
    bool elevated = false;

    *known = false;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token))
        return false;
    if (GetTokenInformation(token, TokenElevation, &elevation, sizeof(elevation), &len)) {
        *known = true;
        elevated = elevation.TokenIsElevated != 0;
    }
    CloseHandle(token);
    return elevated;
}

/* True for HRESULTs that can only mean "the server is not there / cannot be loaded". */
static bool fw_hr_is_unavailable(HRESULT hr)
{
    return hr == REGDB_E_CLASSNOTREG || hr == CLASS_E_CLASSNOTAVAILABLE || hr == CO_E_DLLNOTFOUND ||
           hr == CO_E_ERRORINDLL || hr == HRESULT_FROM_WIN32(ERROR_MOD_NOT_FOUND) ||
           hr == HRESULT_FROM_WIN32(ERROR_PROC_NOT_FOUND) ||
           hr == HRESULT_FROM_WIN32(ERROR_BAD_EXE_FORMAT) ||
           hr == HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND) ||
           hr == HRESULT_FROM_WIN32(ERROR_SERVICE_DISABLED) ||
           hr == HRESULT_FROM_WIN32(ERROR_SERVICE_NOT_ACTIVE) || hr == E_NOINTERFACE;
}

/*
 * Read the default value of HKLM\<inproc_key> the way COM does (REG_EXPAND_SZ expanded, quotes
 * stripped) into path.  Returns a Win32 error.
 */
static DWORD fw_read_inproc_path(HKEY root, const wchar_t *inproc_key, wchar_t *path,
                                 DWORD path_chars)
{
    wchar_t raw[MAX_PATH + 2];
    DWORD type = 0;
    DWORD size = sizeof(raw) - sizeof(wchar_t);
    HKEY key = NULL;
    DWORD err;
    wchar_t *start;
    wchar_t *end;

    path[0] = L'\0';
    /* Default registry view on purpose: it is the view COM itself uses for this process. */
    err = (DWORD)RegOpenKeyExW(root, inproc_key, 0, KEY_QUERY_VALUE, &key);
    if (err != ERROR_SUCCESS)
        return err;
    err = (DWORD)RegQueryValueExW(key, NULL, NULL, &type, (BYTE *)raw, &size);
    RegCloseKey(key);
    if (err != ERROR_SUCCESS)
        return err;
    if (type != REG_SZ && type != REG_EXPAND_SZ)
        return ERROR_INVALID_DATA;
    raw[size / sizeof(wchar_t)] = L'\0';
    start = raw;
    if (*start == L'"') {
        start++;
        end = wcschr(start, L'"');
        if (end)
            *end = L'\0';
    }
    if (type == REG_EXPAND_SZ) {
        DWORD n = ExpandEnvironmentStringsW(start, path, path_chars);
        if (n == 0)
            return GetLastError();
        if (n > path_chars)
            return ERROR_MORE_DATA;
        return ERROR_SUCCESS;
    }
    if (wcslen(start) >= path_chars)
        return ERROR_MORE_DATA;
    wcscpy(path, start);
    return ERROR_SUCCESS;
}

void fw_utf8(const wchar_t *in, char *out, size_t out_size)
{
    int n;

    if (out_size == 0)
        return;
    out[0] = '\0';
    if (!in || out_size > INT_MAX)
        return;
    n = WideCharToMultiByte(CP_UTF8, 0, in, -1, out, (int)out_size, NULL, NULL);
    if (n <= 0) {
        /* Too long for out: keep what fits rather than nothing (cut at a character boundary). */
        size_t i = 0;
        for (; in[i] && i + 1 < out_size; i++)
            out[i] = (in[i] < 0x80) ? (char)in[i] : '?';
        out[i] = '\0';
    }
}

edge_status fw_fail_create(edge_fw_result *res, HRESULT hr, const char *what, HKEY root,
                           const wchar_t *inproc_key)
{
    wchar_t path[MAX_PATH + 1];
    char path8[3 * MAX_PATH + 1];
    HMODULE mod;
    DWORD err;
    bool known = false;
    bool elevated;

    if (fw_hr_is_unavailable(hr))
        return fw_result_set(res, EDGE_E_FIREWALL_UNAVAILABLE, hr,
                             "%s failed (0x%08lX): firewall COM server not registered or not "
                             "loadable",
                             what, (unsigned long)hr);
    if (hr == E_OUTOFMEMORY)
        return fw_result_set(res, EDGE_E_NO_MEMORY, hr, "%s: out of memory", what);
    if (hr != E_ACCESSDENIED)
        return fw_result_set(res, EDGE_E_FIREWALL, hr, "%s failed (0x%08lX)", what,
                             (unsigned long)hr);

    /*
     * E_ACCESSDENIED from CoCreateInstance is ambiguous: Windows returns it for a caller that may
     * not use the server, but COM (Wine's combase, and Windows for some load failures) also
     * returns it when the in-process server DLL cannot be loaded.  Look at the registration and
     * the file before blaming elevation.
     */
    err = fw_read_inproc_path(root, inproc_key, path, (DWORD)(sizeof(path) / sizeof(path[0])));
    if (err != ERROR_SUCCESS)
        return fw_result_set(res, EDGE_E_FIREWALL_UNAVAILABLE, hr,
                             "%s: access denied (0x%08lX), and the firewall CLSID has no usable "
                             "InprocServer32 registration (error %lu): server not registered",
                             what, (unsigned long)hr, (unsigned long)err);
    fw_utf8(path, path8, sizeof(path8));
    if (GetFileAttributesW(path) == INVALID_FILE_ATTRIBUTES) {
        err = GetLastError();
        return fw_result_set(res, EDGE_E_FIREWALL_UNAVAILABLE, hr,
                             "%s: access denied (0x%08lX) because the registered firewall server "
                             "DLL %s does not exist (error %lu)",
                             what, (unsigned long)hr, path8, (unsigned long)err);
    }
    mod = LoadLibraryExW(path, NULL, LOAD_LIBRARY_AS_DATAFILE);
    if (!mod) {
        err = GetLastError();
        return fw_result_set(res, EDGE_E_FIREWALL_UNAVAILABLE, hr,
                             "%s: access denied (0x%08lX) because the registered firewall server "
                             "DLL %s cannot be read (error %lu)",
                             what, (unsigned long)hr, path8, (unsigned long)err);
    }
    FreeLibrary(mod);
    elevated = fw_token_elevated(&known);
    if (known && !elevated)
        return fw_result_set(res, EDGE_E_FIREWALL_ACCESS, hr,
                             "%s: access denied (0x%08lX): process not elevated", what,
                             (unsigned long)hr);
    if (known)
        return fw_result_set(res, EDGE_E_FIREWALL_UNAVAILABLE, hr,
                             "%s: access denied (0x%08lX) although the process is elevated and "
                             "%s is present: the server DLL failed to load or initialise",
                             what, (unsigned long)hr, path8);
    return fw_result_set(res, EDGE_E_FIREWALL_ACCESS, hr,
                         "%s: access denied (0x%08lX); server DLL %s present, elevation "
                         "unknown: probably not elevated",
                         what, (unsigned long)hr, path8);
}
