/*
 * regsvr32 support. Registration points HKLM\Software\Classes\CLSID\{clsid}\InprocServer32 at
 * this DLL (ThreadingModel Both) for CLSID_NetFwPolicy2 and CLSID_NetFwRule, after saving the
 * previous default value and ThreadingModel (Wine's builtin hnetcfg) under the subkey
 * FwDoubleSaved; unregistration restores them.
 */
#include "fwd_com.h"

#include <string.h>
#include <wchar.h>

#define FWD_SAVED_KEY L"FwDoubleSaved"

static const wchar_t *const fwd_clsid_keys[] = {
    L"Software\\Classes\\CLSID\\{E2B3C97F-6AE1-41AC-817A-F6F92166D7DD}",
    L"Software\\Classes\\CLSID\\{2C5BC43E-3369-4C33-AB0C-BE9469677AF4}",
};

extern IMAGE_DOS_HEADER __ImageBase;

HRESULT STDAPICALLTYPE DllRegisterServer(void);
HRESULT STDAPICALLTYPE DllUnregisterServer(void);

static DWORD fwd_module_path(wchar_t *buf, DWORD chars)
{
    DWORD n = GetModuleFileNameW((HMODULE)&__ImageBase, buf, chars);
    if (n == 0)
        return GetLastError();
    if (n >= chars)
        return ERROR_INSUFFICIENT_BUFFER;
    return ERROR_SUCCESS;
}

/* Reads a string value; *type 0 when absent. */
static LSTATUS fwd_reg_read(HKEY key, const wchar_t *name, wchar_t *buf, DWORD bytes, DWORD *type)
{
    DWORD size = bytes - sizeof(wchar_t);
    LSTATUS st;

    memset(buf, 0, bytes);
    *type = 0;
    st = RegQueryValueExW(key, name, NULL, type, (BYTE *)buf, &size);
    if (st == ERROR_FILE_NOT_FOUND) {
        *type = 0;
        return ERROR_SUCCESS;
    }
    if (st == ERROR_SUCCESS && *type != REG_SZ && *type != REG_EXPAND_SZ)
        return ERROR_INVALID_DATA;
    return st;
}

static LSTATUS fwd_reg_write(HKEY key, const wchar_t *name, DWORD type, const wchar_t *value)
{
    return RegSetValueExW(key, name, 0, type, (const BYTE *)value,
                          (DWORD)((wcslen(value) + 1) * sizeof(wchar_t)));
}

static BOOL fwd_is_ours(const wchar_t *value, const wchar_t *self)
{
    return CompareStringOrdinal(value, -1, self, -1, TRUE) == CSTR_EQUAL;
}

static LSTATUS fwd_register_one(const wchar_t *clsid_key, const wchar_t *self)
{
    wchar_t path[MAX_PATH * 2];
    wchar_t old[MAX_PATH * 2];
    wchar_t tm[64];
    DWORD old_type, tm_type;
    HKEY inproc = NULL, saved = NULL;
    LSTATUS st;

    _snwprintf(path, MAX_PATH * 2 - 1, L"%ls\\InprocServer32", clsid_key);
    path[MAX_PATH * 2 - 1] = L'\0';
    st = RegCreateKeyExW(HKEY_LOCAL_MACHINE, path, 0, NULL, 0, KEY_ALL_ACCESS | KEY_WOW64_64KEY,
                         NULL, &inproc, NULL);
    if (st != ERROR_SUCCESS)
        goto out;
    st = fwd_reg_read(inproc, NULL, old, sizeof(old), &old_type);
    if (st == ERROR_SUCCESS)
        st = fwd_reg_read(inproc, L"ThreadingModel", tm, sizeof(tm), &tm_type);
    if (st != ERROR_SUCCESS)
        goto out;
    /* Registering twice must not save ourselves as the "previous" server. */
    if (old_type == 0 || !fwd_is_ours(old, self)) {
        _snwprintf(path, MAX_PATH * 2 - 1, L"%ls\\" FWD_SAVED_KEY, clsid_key);
        st = RegCreateKeyExW(HKEY_LOCAL_MACHINE, path, 0, NULL, 0, KEY_ALL_ACCESS | KEY_WOW64_64KEY,
                             NULL, &saved, NULL);
        if (st != ERROR_SUCCESS)
            goto out;
        RegDeleteValueW(saved, L"InprocServer32");
        RegDeleteValueW(saved, L"ThreadingModel");
        if (old_type != 0)
            st = fwd_reg_write(saved, L"InprocServer32", old_type, old);
        if (st == ERROR_SUCCESS && tm_type != 0)
            st = fwd_reg_write(saved, L"ThreadingModel", tm_type, tm);
        if (st != ERROR_SUCCESS)
            goto out;
    }
    st = fwd_reg_write(inproc, NULL, REG_SZ, self);
    if (st == ERROR_SUCCESS)
        st = fwd_reg_write(inproc, L"ThreadingModel", REG_SZ, L"Both");
out:
    if (saved)
        RegCloseKey(saved);
    if (inproc)
        RegCloseKey(inproc);
    return st;
}

static LSTATUS fwd_unregister_one(const wchar_t *clsid_key, const wchar_t *self)
{
    wchar_t path[MAX_PATH * 2];
    wchar_t cur[MAX_PATH * 2], old[MAX_PATH * 2];
    wchar_t tm[64];
    DWORD cur_type, old_type = 0, tm_type = 0;
    HKEY inproc = NULL, saved = NULL;
    LSTATUS st;

    _snwprintf(path, MAX_PATH * 2 - 1, L"%ls\\InprocServer32", clsid_key);
    path[MAX_PATH * 2 - 1] = L'\0';
    st = RegOpenKeyExW(HKEY_LOCAL_MACHINE, path, 0, KEY_ALL_ACCESS | KEY_WOW64_64KEY, &inproc);
    if (st == ERROR_FILE_NOT_FOUND)
        return ERROR_SUCCESS;
    if (st != ERROR_SUCCESS)
        return st;
    st = fwd_reg_read(inproc, NULL, cur, sizeof(cur), &cur_type);
    if (st != ERROR_SUCCESS)
        goto out;
    _snwprintf(path, MAX_PATH * 2 - 1, L"%ls\\" FWD_SAVED_KEY, clsid_key);
    if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, path, 0, KEY_READ | KEY_WOW64_64KEY, &saved) ==
        ERROR_SUCCESS) {
        st = fwd_reg_read(saved, L"InprocServer32", old, sizeof(old), &old_type);
        if (st == ERROR_SUCCESS)
            st = fwd_reg_read(saved, L"ThreadingModel", tm, sizeof(tm), &tm_type);
        if (st != ERROR_SUCCESS)
            goto out;
    }
    /* Only undo our own registration (wineboot -u may have restored the builtin already). */
    if (cur_type != 0 && fwd_is_ours(cur, self)) {
        if (old_type != 0)
            st = fwd_reg_write(inproc, NULL, old_type, old);
        else
            RegDeleteValueW(inproc, NULL);
        if (st == ERROR_SUCCESS && tm_type != 0)
            st = fwd_reg_write(inproc, L"ThreadingModel", tm_type, tm);
        else if (st == ERROR_SUCCESS)
            RegDeleteValueW(inproc, L"ThreadingModel");
        if (st != ERROR_SUCCESS)
            goto out;
    }
    if (saved) {
        RegCloseKey(saved);
        saved = NULL;
        RegDeleteKeyExW(HKEY_LOCAL_MACHINE, path, KEY_WOW64_64KEY, 0);
    }
out:
    if (saved)
        RegCloseKey(saved);
    RegCloseKey(inproc);
    return st;
}

HRESULT STDAPICALLTYPE DllRegisterServer(void)
{
    wchar_t self[MAX_PATH * 2];
    DWORD err = fwd_module_path(self, MAX_PATH * 2);
    size_t i;

    for (i = 0; i < 2 && err == ERROR_SUCCESS; i++)
        err = (DWORD)fwd_register_one(fwd_clsid_keys[i], self);
    return err == ERROR_SUCCESS ? S_OK : HRESULT_FROM_WIN32(err);
}

HRESULT STDAPICALLTYPE DllUnregisterServer(void)
{
    wchar_t self[MAX_PATH * 2];
    DWORD err = fwd_module_path(self, MAX_PATH * 2);
    DWORD first = ERROR_SUCCESS;
    size_t i;

    if (err != ERROR_SUCCESS)
        return HRESULT_FROM_WIN32(err);
    for (i = 0; i < 2; i++) {
        err = (DWORD)fwd_unregister_one(fwd_clsid_keys[i], self);
        if (first == ERROR_SUCCESS)
            first = err;
    }
    return first == ERROR_SUCCESS ? S_OK : HRESULT_FROM_WIN32(first);
}
