/* fwdouble_control: the test-facing API over the store and faults files (no COM). */
#include "fwd_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

HRESULT fwdc_store_path(wchar_t *buf, size_t buf_chars)
{
    const wchar_t *p = fwd_store_path_get();
    size_t n = wcslen(p);

    if (buf == NULL || buf_chars == 0)
        return E_INVALIDARG;
    buf[0] = L'\0';
    if (n >= buf_chars)
        return HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER);
    memcpy(buf, p, (n + 1) * sizeof(wchar_t));
    return S_OK;
}

HRESULT fwdc_store_reset(void)
{
    fwd_store_data *d;
    HRESULT hr = fwd_store_lock(&d);

    if (SUCCEEDED(hr)) {
        unsigned long long next = d->next_id;
        fwd_store_data_clear(d);
        /* Keep ids increasing so a rule object from before the reset never matches a new rule. */
        d->next_id = next;
        hr = fwd_store_commit();
    }
    fwd_store_unlock();
    return hr;
}

void fwdc_rules_free(fwdc_rule *rules, size_t count)
{
    size_t i;

    if (rules == NULL)
        return;
    for (i = 0; i < count; i++)
        fwd_rule_clear(&rules[i]);
    free(rules);
}

static HRESULT fwdc_read_filtered(const wchar_t *group, fwdc_rule **rules_out, size_t *count_out)
{
    fwd_store_data *d;
    fwdc_rule *out = NULL;
    size_t n = 0, i;
    HRESULT hr;

    *rules_out = NULL;
    *count_out = 0;
    hr = fwd_store_lock(&d);
    if (FAILED(hr))
        goto out;
    if (d->count > 0) {
        out = calloc(d->count, sizeof(fwdc_rule));
        if (out == NULL) {
            hr = E_OUTOFMEMORY;
            goto out;
        }
    }
    for (i = 0; i < d->count; i++) {
        if (group != NULL && !fwd_str_ieq(d->rules[i].grouping, group))
            continue;
        hr = fwd_rule_copy(&out[n], &d->rules[i]);
        if (FAILED(hr))
            goto out;
        n++;
    }
    *rules_out = out;
    *count_out = n;
    out = NULL;
    n = 0;
out:
    fwd_store_unlock();
    fwdc_rules_free(out, n);
    return hr;
}

HRESULT fwdc_store_read(fwdc_rule **rules_out, size_t *count_out)
{
    if (rules_out == NULL || count_out == NULL)
        return E_POINTER;
    return fwdc_read_filtered(NULL, rules_out, count_out);
}

HRESULT fwdc_store_read_group(const wchar_t *group, fwdc_rule **rules_out, size_t *count_out)
{
    if (rules_out == NULL || count_out == NULL)
        return E_POINTER;
    if (group == NULL) {
        *rules_out = NULL;
        *count_out = 0;
        return E_INVALIDARG;
    }
    return fwdc_read_filtered(group, rules_out, count_out);
}

HRESULT fwdc_store_add(const fwdc_rule *rules, size_t count)
{
    fwd_store_data *d;
    size_t i, first;
    HRESULT hr;

    if (rules == NULL && count > 0)
        return E_INVALIDARG;
    hr = fwd_store_lock(&d);
    first = d != NULL ? d->count : 0;
    for (i = 0; i < count && SUCCEEDED(hr); i++)
        hr = fwd_store_append(d, &rules[i], NULL);
    if (SUCCEEDED(hr))
        hr = fwd_store_commit_appended(first);
    else if (d != NULL)
        fwd_store_commit_appended(first); /* keep file and cache consistent with the cache */
    fwd_store_unlock();
    return hr;
}

const fwdc_rule *fwdc_rules_find(const fwdc_rule *rules, size_t count, const wchar_t *name)
{
    size_t i;

    for (i = 0; i < count && rules != NULL; i++) {
        if (fwd_str_ieq(rules[i].name, name))
            return &rules[i];
    }
    return NULL;
}

long fwdc_store_count_named(const wchar_t *name)
{
    fwd_store_data *d;
    long n = 0;
    size_t i;
    HRESULT hr = fwd_store_lock(&d);

    if (SUCCEEDED(hr)) {
        for (i = 0; i < d->count; i++) {
            if (fwd_str_ieq(d->rules[i].name, name))
                n++;
        }
    }
    fwd_store_unlock();
    return SUCCEEDED(hr) ? n : -1;
}

HRESULT fwdc_fault_set(const char *key, const char *value)
{
    return fwd_faults_set(key, value);
}

HRESULT fwdc_fault_fail_next(const char *op, unsigned long n, HRESULT hr)
{
    char key[32];
    char value[64];
    size_t i;

    if (op == NULL)
        return E_INVALIDARG;
    for (i = 0; i < FWD_OP_COUNT_; i++) {
        if (strcmp(op, fwd_op_names[i]) == 0)
            break;
    }
    if (i == FWD_OP_COUNT_)
        return E_INVALIDARG;
    snprintf(key, sizeof(key), "fail_%s", op);
    snprintf(value, sizeof(value), "%lu:0x%08lX", n, (unsigned long)hr);
    return fwd_faults_set(key, value);
}

HRESULT fwdc_fault_get(const char *key, char *buf, size_t buf_size)
{
    return fwd_faults_read_key(key, buf, buf_size);
}

HRESULT fwdc_faults_clear(void)
{
    HRESULT hr = fwd_shared_lock();

    if (FAILED(hr))
        return hr;
    if (!DeleteFileW(fwd_faults_path()) && GetLastError() != ERROR_FILE_NOT_FOUND &&
        GetLastError() != ERROR_PATH_NOT_FOUND)
        hr = HRESULT_FROM_WIN32(GetLastError());
    InterlockedIncrement(fwd_shared_faults_gen());
    fwd_shared_unlock();
    return hr;
}

BOOL fwdc_double_registered(void)
{
    static const wchar_t key[] =
        L"Software\\Classes\\CLSID\\{E2B3C97F-6AE1-41AC-817A-F6F92166D7DD}\\InprocServer32";
    wchar_t value[MAX_PATH * 2];
    DWORD size = sizeof(value) - sizeof(wchar_t);
    const wchar_t *base;
    LSTATUS st;

    memset(value, 0, sizeof(value));
    st = RegGetValueW(HKEY_LOCAL_MACHINE, key, NULL,
                      RRF_RT_REG_SZ | RRF_RT_REG_EXPAND_SZ | RRF_NOEXPAND | RRF_SUBKEY_WOW6464KEY,
                      NULL, value, &size);
    if (st != ERROR_SUCCESS)
        return FALSE;
    base = wcsrchr(value, L'\\');
    base = base ? base + 1 : value;
    return fwd_str_ieq(base, L"fwdouble.dll");
}
