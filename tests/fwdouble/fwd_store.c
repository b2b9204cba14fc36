/*
 * The rule store shared by every process using the double: a text file (fwd_store_format.c),
 * guarded by a named mutex derived from its path, cached per process.
 *
 * Change detection is cheap: every writer bumps a generation counter in a named shared-memory
 * section, and readers also compare the file's size and write time (which catches hand edits).
 * Both checks avoid opening the file on every call.
 *
 * Writes: adding rules appends their lines (one WriteFile at the known end of the file, under
 * the mutex), so Add costs O(size of the rule) instead of O(size of the store); every other change
 * rewrites the file atomically (temporary file + rename), which also drops anything a crashed
 * append left behind. A process killed mid-append can leave at most a partial last line, which
 * the parser ignores; the rules before it are intact, and the Add it belonged to never returned.
 */
#include "fwd_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define FWD_LOCK_TIMEOUT_MS 30000

typedef struct fwd_shared_mem {
    volatile LONG store_gen;
    volatile LONG faults_gen;
} fwd_shared_mem;

static INIT_ONCE g_init_once = INIT_ONCE_STATIC_INIT;
static wchar_t g_store_path[MAX_PATH * 2];
static wchar_t g_faults_path[MAX_PATH * 2 + 16];
static HANDLE g_mutex;
static HANDLE g_mapping;
static fwd_shared_mem *g_shared;
static fwd_shared_mem g_shared_fallback;
static HRESULT g_init_hr;

static fwd_store_data g_cache;
static BOOL g_cache_valid;
static LONG g_cache_gen;
static fwd_file_stamp g_cache_stamp;
static BOOL g_cache_tail_ok; /* the file is empty or ends with a newline: appending is safe */

static void fwd_default_store_path(void)
{
    wchar_t base[MAX_PATH];
    DWORD n = GetEnvironmentVariableW(L"ProgramData", base, MAX_PATH);

    if (n == 0 || n >= MAX_PATH)
        wcscpy(base, L"C:\\ProgramData");
    _snwprintf(g_store_path, sizeof(g_store_path) / sizeof(wchar_t) - 1,
               L"%ls\\FwDouble\\rules.txt", base);
}

static unsigned long long fwd_path_hash(const wchar_t *p)
{
    unsigned long long h = 1469598103934665603ULL;

    for (; *p; p++) {
        wchar_t c = *p;
        if (c >= L'a' && c <= L'z')
            c = (wchar_t)(c - L'a' + L'A');
        if (c == L'/')
            c = L'\\';
        h = (h ^ (unsigned long long)c) * 1099511628211ULL;
    }
    return h;
}

static HANDLE fwd_open_named(const wchar_t *kind, unsigned long long hash, BOOL mapping)
{
    static const wchar_t *const prefixes[] = {L"Global\\", L""};
    wchar_t name[96];
    HANDLE h = NULL;
    size_t i;

    /* Global\ so a service in session 0 and a test in session 1 share it; creating global
     * objects needs SeCreateGlobalPrivilege on Windows, hence the fallback. */
    for (i = 0; i < 2 && h == NULL; i++) {
        _snwprintf(name, 95, L"%lsfwdouble-%ls-%016llx", prefixes[i], kind, hash);
        name[95] = L'\0';
        if (mapping)
            h = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, name);
        else
            h = CreateMutexW(NULL, FALSE, name);
    }
    return h;
}

static BOOL CALLBACK fwd_init_once(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
    wchar_t env[MAX_PATH * 2];
    DWORD n;
    unsigned long long hash;

    (void)once;
    (void)param;
    (void)ctx;
    n = GetEnvironmentVariableW(L"EDGE_FWDOUBLE_STORE", env, MAX_PATH * 2);
    if (n > 0 && n < MAX_PATH * 2) {
        n = GetFullPathNameW(env, MAX_PATH * 2, g_store_path, NULL);
        if (n == 0 || n >= MAX_PATH * 2)
            wcscpy(g_store_path, env);
    } else {
        fwd_default_store_path();
    }
    _snwprintf(g_faults_path, sizeof(g_faults_path) / sizeof(wchar_t) - 1, L"%ls.faults",
               g_store_path);
    hash = fwd_path_hash(g_store_path);
    g_mutex = fwd_open_named(L"mutex", hash, FALSE);
    if (g_mutex == NULL) {
        g_init_hr = HRESULT_FROM_WIN32(GetLastError());
        return TRUE;
    }
    g_mapping = fwd_open_named(L"gen", hash, TRUE);
    if (g_mapping != NULL)
        g_shared = MapViewOfFile(g_mapping, FILE_MAP_ALL_ACCESS, 0, 0, sizeof(fwd_shared_mem));
    /* Without shared memory, the file-stamp comparison alone still detects changes. */
    if (g_shared == NULL)
        g_shared = &g_shared_fallback;
    g_init_hr = S_OK;
    return TRUE;
}

static HRESULT fwd_init(void)
{
    InitOnceExecuteOnce(&g_init_once, fwd_init_once, NULL, NULL);
    return g_init_hr;
}

const wchar_t *fwd_store_path_get(void)
{
    fwd_init();
    return g_store_path;
}

const wchar_t *fwd_faults_path(void)
{
    fwd_init();
    return g_faults_path;
}

BOOL fwd_shared_is_cross_process(void)
{
    fwd_init();
    return g_shared != NULL && g_shared != &g_shared_fallback;
}

volatile LONG *fwd_shared_faults_gen(void)
{
    fwd_init();
    return g_shared ? &g_shared->faults_gen : &g_shared_fallback.faults_gen;
}

HRESULT fwd_shared_lock(void)
{
    DWORD w;
    HRESULT hr = fwd_init();

    if (FAILED(hr))
        return hr;
    w = WaitForSingleObject(g_mutex, FWD_LOCK_TIMEOUT_MS);
    /* An abandoned mutex is fine: writes are atomic renames, so the file is never torn. */
    if (w == WAIT_OBJECT_0 || w == WAIT_ABANDONED)
        return S_OK;
    if (w == WAIT_TIMEOUT)
        return HRESULT_FROM_WIN32(WAIT_TIMEOUT);
    return HRESULT_FROM_WIN32(GetLastError());
}

void fwd_shared_unlock(void)
{
    ReleaseMutex(g_mutex);
}

void fwd_file_stamp_get(const wchar_t *path, fwd_file_stamp *st)
{
    WIN32_FILE_ATTRIBUTE_DATA a;

    memset(st, 0, sizeof(*st));
    if (!GetFileAttributesExW(path, GetFileExInfoStandard, &a))
        return;
    st->exists = TRUE;
    st->mtime = a.ftLastWriteTime;
    st->size_low = a.nFileSizeLow;
    st->size_high = a.nFileSizeHigh;
}

BOOL fwd_file_stamp_equal(const fwd_file_stamp *a, const fwd_file_stamp *b)
{
    return a->exists == b->exists && a->size_low == b->size_low && a->size_high == b->size_high &&
           CompareFileTime(&a->mtime, &b->mtime) == 0;
}

void fwd_store_data_clear(fwd_store_data *d)
{
    size_t i;

    for (i = 0; i < d->count; i++)
        fwd_rule_clear(&d->rules[i]);
    free(d->rules);
    memset(d, 0, sizeof(*d));
}

static HRESULT fwd_store_reload(void)
{
    fwd_store_data fresh;
    fwd_file_stamp st;
    LONG gen = g_shared->store_gen;
    char *text = NULL;
    size_t len = 0;
    HRESULT hr;

    fwd_file_stamp_get(g_store_path, &st);
    if (g_cache_valid && gen == g_cache_gen && fwd_file_stamp_equal(&st, &g_cache_stamp))
        return S_OK;
    hr = fwd_file_read(g_store_path, FWD_MAX_STORE_BYTES, &text, &len);
    if (FAILED(hr))
        return hr;
    hr = fwd_format_parse(text ? text : "", len, &fresh);
    g_cache_tail_ok = len == 0 || text[len - 1] == '\n';
    free(text);
    if (FAILED(hr))
        return hr;
    fwd_store_data_clear(&g_cache);
    g_cache = fresh;
    g_cache_valid = TRUE;
    g_cache_gen = gen;
    g_cache_stamp = st;
    return S_OK;
}

HRESULT fwd_store_lock(fwd_store_data **data)
{
    HRESULT hr;

    *data = NULL;
    hr = fwd_shared_lock();
    if (FAILED(hr))
        return hr;
    hr = fwd_store_reload();
    if (FAILED(hr))
        return hr; /* the caller still calls fwd_store_unlock */
    *data = &g_cache;
    return S_OK;
}

void fwd_store_unlock(void)
{
    fwd_shared_unlock();
}

HRESULT fwd_store_commit(void)
{
    char *text = NULL;
    size_t len = 0;
    HRESULT hr = fwd_format_serialize(&g_cache, &text, &len);

    if (SUCCEEDED(hr))
        hr = fwd_file_write_atomic(g_store_path, text, len);
    free(text);
    if (FAILED(hr)) {
        /* The cache now differs from the file; drop it so the next lock re-reads the file. */
        g_cache_valid = FALSE;
        return hr;
    }
    g_cache_gen = InterlockedIncrement(&g_shared->store_gen);
    fwd_file_stamp_get(g_store_path, &g_cache_stamp);
    g_cache_tail_ok = TRUE;
    return S_OK;
}

HRESULT fwd_store_commit_appended(size_t first)
{
    unsigned long long size;
    char *text = NULL;
    size_t len = 0;
    HRESULT hr;

    /* The cache was (re)loaded from exactly this file under the lock we still hold. */
    if (!g_cache_valid || !g_cache_stamp.exists || !g_cache_tail_ok || first > g_cache.count)
        return fwd_store_commit();
    size = ((unsigned long long)g_cache_stamp.size_high << 32) | g_cache_stamp.size_low;
    hr = fwd_format_serialize_rules(&g_cache, first, &text, &len);
    if (SUCCEEDED(hr) && (len > FWD_MAX_STORE_BYTES || size > FWD_MAX_STORE_BYTES - len))
        hr = HRESULT_FROM_WIN32(ERROR_FILE_TOO_LARGE);
    if (SUCCEEDED(hr))
        hr = fwd_file_append(g_store_path, size, text, len);
    free(text);
    if (hr == HRESULT_FROM_WIN32(ERROR_INVALID_DATA))
        return fwd_store_commit(); /* changed behind the mutex (a hand edit): rewrite it */
    if (FAILED(hr)) {
        g_cache_valid = FALSE;
        return hr;
    }
    g_cache_gen = InterlockedIncrement(&g_shared->store_gen);
    fwd_file_stamp_get(g_store_path, &g_cache_stamp);
    return S_OK;
}

HRESULT fwd_store_append(fwd_store_data *d, const fwdc_rule *r, unsigned long long *id_out)
{
    fwdc_rule copy;
    HRESULT hr;

    if (d->count == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        fwdc_rule *p;
        if (cap > ((size_t)-1) / sizeof(fwdc_rule))
            return E_OUTOFMEMORY;
        p = realloc(d->rules, cap * sizeof(fwdc_rule));
        if (p == NULL)
            return E_OUTOFMEMORY;
        d->rules = p;
        d->cap = cap;
    }
    hr = fwd_rule_copy(&copy, r);
    if (FAILED(hr))
        return hr;
    if (d->next_id == 0)
        d->next_id = 1;
    copy.id = d->next_id++;
    d->rules[d->count++] = copy;
    if (id_out)
        *id_out = copy.id;
    return S_OK;
}

void fwd_store_remove_at(fwd_store_data *d, size_t index)
{
    if (index >= d->count)
        return;
    fwd_rule_clear(&d->rules[index]);
    memmove(&d->rules[index], &d->rules[index + 1], (d->count - index - 1) * sizeof(fwdc_rule));
    d->count--;
}

fwdc_rule *fwd_store_find_id(fwd_store_data *d, unsigned long long id)
{
    size_t i;

    for (i = 0; i < d->count; i++) {
        if (d->rules[i].id == id)
            return &d->rules[i];
    }
    return NULL;
}

size_t fwd_store_find_name(const fwd_store_data *d, const wchar_t *name)
{
    size_t i;

    for (i = 0; i < d->count; i++) {
        if (fwd_str_ieq(d->rules[i].name, name))
            return i;
    }
    return (size_t)-1;
}

HRESULT fwd_file_read(const wchar_t *path, size_t cap, char **out, size_t *out_len)
{
    HANDLE h;
    LARGE_INTEGER size;
    char *buf = NULL;
    size_t got = 0;
    DWORD err = ERROR_SUCCESS;

    *out = NULL;
    *out_len = 0;
    h = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                    NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        err = GetLastError();
        if (err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND)
            return S_OK;
        return HRESULT_FROM_WIN32(err);
    }
    if (!GetFileSizeEx(h, &size)) {
        err = GetLastError();
        goto out;
    }
    if (size.QuadPart < 0 || (unsigned long long)size.QuadPart > cap) {
        err = ERROR_FILE_TOO_LARGE;
        goto out;
    }
    buf = malloc((size_t)size.QuadPart + 1);
    if (buf == NULL) {
        err = ERROR_NOT_ENOUGH_MEMORY;
        goto out;
    }
    while (got < (size_t)size.QuadPart) {
        DWORD n = 0;
        if (!ReadFile(h, buf + got, (DWORD)((size_t)size.QuadPart - got), &n, NULL)) {
            err = GetLastError();
            goto out;
        }
        if (n == 0)
            break;
        got += n;
    }
    buf[got] = '\0';
    *out = buf;
    *out_len = got;
    buf = NULL;
out:
    free(buf);
    CloseHandle(h);
    return err == ERROR_SUCCESS ? S_OK : HRESULT_FROM_WIN32(err);
}

HRESULT fwd_file_append(const wchar_t *path, unsigned long long expected_size, const char *buf,
                        size_t len)
{
    HANDLE h;
    LARGE_INTEGER size, end;
    size_t done = 0;
    DWORD err = ERROR_SUCCESS;

    h = CreateFileW(path, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                    NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return HRESULT_FROM_WIN32(GetLastError());
    if (!GetFileSizeEx(h, &size)) {
        err = GetLastError();
        goto out;
    }
    if ((unsigned long long)size.QuadPart != expected_size) {
        err = ERROR_INVALID_DATA;
        goto out;
    }
    end.QuadPart = size.QuadPart;
    if (!SetFilePointerEx(h, end, NULL, FILE_BEGIN)) {
        err = GetLastError();
        goto out;
    }
    while (done < len) {
        DWORD chunk = len - done > 0x10000000 ? 0x10000000 : (DWORD)(len - done);
        DWORD n = 0;
        if (!WriteFile(h, buf + done, chunk, &n, NULL)) {
            err = GetLastError();
            break;
        }
        if (n == 0) {
            err = ERROR_WRITE_FAULT;
            break;
        }
        done += n;
    }
    if (err != ERROR_SUCCESS) {
        /* Cut a partial append off so the file holds whole lines again (best effort). */
        if (SetFilePointerEx(h, end, NULL, FILE_BEGIN))
            SetEndOfFile(h);
    }
out:
    CloseHandle(h);
    return err == ERROR_SUCCESS ? S_OK : HRESULT_FROM_WIN32(err);
}

static void fwd_create_parent_dir(const wchar_t *path)
{
    wchar_t dir[MAX_PATH * 2 + 16];
    wchar_t *slash;

    wcsncpy(dir, path, sizeof(dir) / sizeof(wchar_t) - 1);
    dir[sizeof(dir) / sizeof(wchar_t) - 1] = L'\0';
    slash = wcsrchr(dir, L'\\');
    if (slash == NULL)
        return;
    *slash = L'\0';
    CreateDirectoryW(dir, NULL);
}

HRESULT fwd_file_write_atomic(const wchar_t *path, const char *buf, size_t len)
{
    wchar_t tmp[MAX_PATH * 2 + 64];
    HANDLE h;
    size_t done = 0;
    DWORD err = ERROR_SUCCESS;
    int attempt;

    _snwprintf(tmp, sizeof(tmp) / sizeof(wchar_t) - 1, L"%ls.tmp%lu-%lu", path,
               GetCurrentProcessId(), GetCurrentThreadId());
    tmp[sizeof(tmp) / sizeof(wchar_t) - 1] = L'\0';
    h = CreateFileW(tmp, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE && GetLastError() == ERROR_PATH_NOT_FOUND) {
        fwd_create_parent_dir(path);
        h = CreateFileW(tmp, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    }
    if (h == INVALID_HANDLE_VALUE)
        return HRESULT_FROM_WIN32(GetLastError());
    while (done < len) {
        DWORD chunk = len - done > 0x10000000 ? 0x10000000 : (DWORD)(len - done);
        DWORD n = 0;
        if (!WriteFile(h, buf + done, chunk, &n, NULL)) {
            err = GetLastError();
            break;
        }
        done += n;
    }
    CloseHandle(h);
    if (err != ERROR_SUCCESS) {
        DeleteFileW(tmp);
        return HRESULT_FROM_WIN32(err);
    }
    /* A reader outside the mutex (an editor, fwdump on Windows) may briefly block the rename. */
    for (attempt = 0; attempt < 50; attempt++) {
        if (MoveFileExW(tmp, path, MOVEFILE_REPLACE_EXISTING))
            return S_OK;
        err = GetLastError();
        if (err != ERROR_ACCESS_DENIED && err != ERROR_SHARING_VIOLATION)
            break;
        Sleep(10);
    }
    DeleteFileW(tmp);
    return HRESULT_FROM_WIN32(err);
}
