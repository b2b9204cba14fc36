/*
 * Fault injection, controlled from outside the process through "<store>.faults": key=value
 * lines, '#' comments. "fail_<op>=N:0xHRESULT" makes the next N calls of <op> fail; the counter
 * is decremented in the file itself, under the store mutex, so it counts across processes.
 */
#include "fwd_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const fwd_op_names[FWD_OP_COUNT_] = {"add", "remove", "item", "enum", "put", "create"};

/* The cache below is written with the named mutex AND g_faults_srw (exclusive) held, so a reader
 * holding either one sees it whole. fwd_faults_current reads it under the SRW lock only. */
static SRWLOCK g_faults_srw = SRWLOCK_INIT;
static fwd_faults g_faults;
static BOOL g_faults_valid;
static LONG g_faults_gen;
static fwd_file_stamp g_faults_stamp;
static ULONGLONG g_faults_checked; /* GetTickCount64 of the last stamp comparison */
static wchar_t g_log_path[MAX_PATH * 2 + 16];

static void fwd_faults_reset(fwd_faults *f)
{
    memset(f, 0, sizeof(*f));
    f->current_profiles = -1;
}

static BOOL fwd_parse_fail(const char *v, unsigned long *count, HRESULT *hr)
{
    char *end;
    unsigned long n = strtoul(v, &end, 10);

    if (end == v || *end != ':')
        return FALSE;
    *count = n;
    *hr = (HRESULT)strtoul(end + 1, NULL, 0);
    return TRUE;
}

static void fwd_faults_apply(fwd_faults *f, const char *key, const char *v)
{
    size_t i;

    if (strncmp(key, "fail_", 5) == 0) {
        for (i = 0; i < FWD_OP_COUNT_; i++) {
            if (strcmp(key + 5, fwd_op_names[i]) == 0 &&
                !fwd_parse_fail(v, &f->fail_count[i], &f->fail_hr[i]))
                f->fail_count[i] = 0;
        }
    } else if (strcmp(key, "latency_ms") == 0) {
        f->latency_ms = strtoul(v, NULL, 0);
    } else if (strcmp(key, "firewall_off") == 0) {
        f->firewall_off = (long)strtoul(v, NULL, 0);
    } else if (strcmp(key, "current_profiles") == 0) {
        f->current_profiles = (long)strtoul(v, NULL, 0);
    } else if (strcmp(key, "no_rule2") == 0) {
        f->no_rule2 = strtoul(v, NULL, 0) != 0;
    } else if (strcmp(key, "no_rule3") == 0) {
        f->no_rule3 = strtoul(v, NULL, 0) != 0;
    } else if (strcmp(key, "log") == 0) {
        f->log = strtoul(v, NULL, 0) != 0;
    }
}

/* Calls fn for each key=value line (key and value trimmed, NUL-terminated copies). */
static void fwd_faults_each(const char *text, size_t len,
                            void (*fn)(void *, const char *, const char *), void *ctx)
{
    size_t pos = 0;

    while (pos < len) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        char buf[512];
        char *eq, *k, *v, *e;

        pos += n + 1;
        if (n >= sizeof(buf))
            continue;
        memcpy(buf, line, n);
        buf[n] = '\0';
        eq = strchr(buf, '=');
        if (buf[0] == '#' || eq == NULL)
            continue;
        *eq = '\0';
        k = buf;
        v = eq + 1;
        while (*k == ' ' || *k == '\t')
            k++;
        for (e = eq; e > k && (e[-1] == ' ' || e[-1] == '\t'); e--)
            e[-1] = '\0';
        while (*v == ' ' || *v == '\t')
            v++;
        for (e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'); e--)
            e[-1] = '\0';
        fn(ctx, k, v);
    }
}

static void fwd_faults_apply_cb(void *ctx, const char *k, const char *v)
{
    fwd_faults_apply(ctx, k, v);
}

static void fwd_faults_reload_locked(void)
{
    volatile LONG *gen = fwd_shared_faults_gen();
    LONG g = *gen;
    fwd_file_stamp st;
    char *text = NULL;
    size_t len = 0;
    fwd_faults parsed;
    ULONGLONG now = GetTickCount64();

    fwd_file_stamp_get(fwd_faults_path(), &st);
    if (g_faults_valid && g == g_faults_gen && fwd_file_stamp_equal(&st, &g_faults_stamp)) {
        AcquireSRWLockExclusive(&g_faults_srw);
        g_faults_checked = now;
        ReleaseSRWLockExclusive(&g_faults_srw);
        return;
    }
    fwd_faults_reset(&parsed);
    if (SUCCEEDED(fwd_file_read(fwd_faults_path(), FWD_MAX_FAULT_BYTES, &text, &len)) && text)
        fwd_faults_each(text, len, fwd_faults_apply_cb, &parsed);
    free(text);
    AcquireSRWLockExclusive(&g_faults_srw);
    g_faults = parsed;
    g_faults_valid = TRUE;
    g_faults_gen = g;
    g_faults_stamp = st;
    g_faults_checked = now;
    ReleaseSRWLockExclusive(&g_faults_srw);
}

void fwd_faults_get(fwd_faults *out)
{
    if (FAILED(fwd_shared_lock())) {
        fwd_faults_reset(out);
        return;
    }
    fwd_faults_reload_locked();
    *out = g_faults;
    fwd_shared_unlock();
}

/*
 * The fast path of every COM call (~13 per rule when a rule is read back): no named mutex, and
 * a stat of the faults file only when exact or when the last one is FWD_FAULTS_RECHECK_MS old.
 * Edits through this library bump the shared generation, so they are seen by the next call in
 * every process whatever exact says; only hand edits of the file wait for the stat.
 */
void fwd_faults_current(fwd_faults *out, BOOL exact)
{
    LONG g = *fwd_shared_faults_gen();
    ULONGLONG now = GetTickCount64();
    fwd_file_stamp cached, st;
    BOOL valid, hit = FALSE;

    if (!fwd_shared_is_cross_process())
        exact = TRUE; /* no shared generation: only the stamp shows other processes' edits */
    AcquireSRWLockShared(&g_faults_srw);
    valid = g_faults_valid && g == g_faults_gen;
    if (valid && !exact && now - g_faults_checked < FWD_FAULTS_RECHECK_MS) {
        *out = g_faults;
        hit = TRUE;
    }
    cached = g_faults_stamp;
    ReleaseSRWLockShared(&g_faults_srw);
    if (hit)
        return;
    if (valid) {
        fwd_file_stamp_get(fwd_faults_path(), &st);
        if (fwd_file_stamp_equal(&st, &cached)) {
            AcquireSRWLockExclusive(&g_faults_srw);
            hit = g_faults_valid && g == g_faults_gen && fwd_file_stamp_equal(&st, &g_faults_stamp);
            if (hit) {
                g_faults_checked = now;
                *out = g_faults;
            }
            ReleaseSRWLockExclusive(&g_faults_srw);
            if (hit)
                return;
        }
    }
    fwd_faults_get(out);
}

typedef struct fwd_edit_ctx {
    const char *key;
    const char *value;
    BOOL done;
    char *out;
    size_t len;
    size_t cap;
    BOOL oom;
} fwd_edit_ctx;

static void fwd_edit_put(fwd_edit_ctx *c, const char *k, const char *v)
{
    size_t need = strlen(k) + strlen(v) + 3;
    if (c->oom)
        return;
    if (c->len + need + 1 > c->cap) {
        size_t cap = (c->cap + need) * 2 + 256;
        char *p = realloc(c->out, cap);
        if (p == NULL) {
            c->oom = TRUE;
            return;
        }
        c->out = p;
        c->cap = cap;
    }
    c->len += (size_t)sprintf(c->out + c->len, "%s=%s\r\n", k, v);
}

static void fwd_edit_cb(void *ctx, const char *k, const char *v)
{
    fwd_edit_ctx *c = ctx;

    if (strcmp(k, c->key) == 0) {
        if (c->done || c->value == NULL)
            return;
        c->done = TRUE;
        fwd_edit_put(c, k, c->value);
        return;
    }
    fwd_edit_put(c, k, v);
}

/* Rewrites the faults file with key set to value (NULL: removed). Must hold the shared lock. */
static HRESULT fwd_faults_edit_locked(const char *key, const char *value)
{
    fwd_edit_ctx c;
    char *text = NULL;
    size_t len = 0;
    HRESULT hr = fwd_file_read(fwd_faults_path(), FWD_MAX_FAULT_BYTES, &text, &len);

    if (FAILED(hr))
        return hr;
    memset(&c, 0, sizeof(c));
    c.key = key;
    c.value = value;
    if (text)
        fwd_faults_each(text, len, fwd_edit_cb, &c);
    free(text);
    if (!c.done && value != NULL)
        fwd_edit_put(&c, key, value);
    if (c.oom) {
        free(c.out);
        return E_OUTOFMEMORY;
    }
    hr = fwd_file_write_atomic(fwd_faults_path(), c.out ? c.out : "", c.len);
    free(c.out);
    InterlockedIncrement(fwd_shared_faults_gen());
    AcquireSRWLockExclusive(&g_faults_srw);
    g_faults_valid = FALSE;
    ReleaseSRWLockExclusive(&g_faults_srw);
    return hr;
}

HRESULT fwd_faults_set(const char *key, const char *value)
{
    HRESULT hr;

    if (key == NULL || key[0] == '\0' || strchr(key, '=') || strchr(key, '\n') ||
        (value && (strchr(value, '\n') || strchr(value, '\r'))) || strlen(key) > 100 ||
        (value && strlen(value) > 300))
        return E_INVALIDARG;
    hr = fwd_shared_lock();
    if (FAILED(hr))
        return hr;
    hr = fwd_faults_edit_locked(key, value);
    fwd_shared_unlock();
    return hr;
}

typedef struct fwd_find_ctx {
    const char *key;
    char *buf;
    size_t size;
    HRESULT hr;
} fwd_find_ctx;

static void fwd_find_cb(void *ctx, const char *k, const char *v)
{
    fwd_find_ctx *c = ctx;

    if (strcmp(k, c->key) != 0)
        return;
    if (strlen(v) >= c->size) {
        c->hr = HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER);
        return;
    }
    strcpy(c->buf, v);
    c->hr = S_OK;
}

HRESULT fwd_faults_read_key(const char *key, char *buf, size_t buf_size)
{
    fwd_find_ctx c;
    char *text = NULL;
    size_t len = 0;
    HRESULT hr;

    if (buf == NULL || buf_size == 0 || key == NULL)
        return E_INVALIDARG;
    buf[0] = '\0';
    hr = fwd_shared_lock();
    if (FAILED(hr))
        return hr;
    hr = fwd_file_read(fwd_faults_path(), FWD_MAX_FAULT_BYTES, &text, &len);
    fwd_shared_unlock();
    if (FAILED(hr))
        return hr;
    c.key = key;
    c.buf = buf;
    c.size = buf_size;
    c.hr = HRESULT_FROM_WIN32(ERROR_NOT_FOUND);
    if (text)
        fwd_faults_each(text, len, fwd_find_cb, &c);
    free(text);
    return c.hr;
}

HRESULT fwd_faults_take(fwd_op op)
{
    char key[32];
    char value[64];
    HRESULT hr, result = S_OK;

    if (op >= FWD_OP_COUNT_)
        return S_OK;
    hr = fwd_shared_lock();
    if (FAILED(hr))
        return S_OK;
    fwd_faults_reload_locked();
    if (g_faults.fail_count[op] > 0) {
        /* The cache is current (checked under the lock), so decrementing it is exact. */
        result = g_faults.fail_hr[op];
        snprintf(key, sizeof(key), "fail_%s", fwd_op_names[op]);
        snprintf(value, sizeof(value), "%lu:0x%08lX", g_faults.fail_count[op] - 1,
                 (unsigned long)result);
        hr = fwd_faults_edit_locked(key, value);
        if (FAILED(hr))
            fwd_log("faults: cannot decrement %s: 0x%08lX", key, (unsigned long)hr);
    }
    fwd_shared_unlock();
    return result;
}

void fwd_log(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    int n;
    HANDLE h;
    DWORD written;

    if (!g_faults.log)
        return;
    n = snprintf(line, sizeof(line), "%lu %lu ", GetCurrentProcessId(), GetCurrentThreadId());
    if (n < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n - 2, fmt, ap);
    va_end(ap);
    strcat(line, "\r\n");
    if (g_log_path[0] == L'\0')
        _snwprintf(g_log_path, sizeof(g_log_path) / sizeof(wchar_t) - 1, L"%ls.log",
                   fwd_store_path_get());
    h = CreateFileW(g_log_path, FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                    OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return;
    WriteFile(h, line, (DWORD)strlen(line), &written, NULL);
    CloseHandle(h);
}
