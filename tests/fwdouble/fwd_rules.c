/* INetFwRules: the collection view of the store. Stateless apart from its reference count. */
#include "fwd_com.h"

#include <stdlib.h>

typedef struct fwd_rules_obj {
    INetFwRules iface;
    LONG refs;
} fwd_rules_obj;

static fwd_rules_obj *fwd_rules_from(INetFwRules *iface)
{
    return CONTAINING_RECORD(iface, fwd_rules_obj, iface);
}

static HRESULT STDMETHODCALLTYPE fwd_rules_qi(INetFwRules *iface, REFIID riid, void **out)
{
    if (out == NULL)
        return E_POINTER;
    *out = NULL;
    if (!IsEqualIID(riid, &IID_IUnknown) && !IsEqualIID(riid, &IID_IDispatch) &&
        !IsEqualIID(riid, &IID_INetFwRules))
        return E_NOINTERFACE;
    *out = iface;
    INetFwRules_AddRef(iface);
    return S_OK;
}

static ULONG STDMETHODCALLTYPE fwd_rules_addref(INetFwRules *iface)
{
    return (ULONG)InterlockedIncrement(&fwd_rules_from(iface)->refs);
}

static ULONG STDMETHODCALLTYPE fwd_rules_release(INetFwRules *iface)
{
    fwd_rules_obj *o = fwd_rules_from(iface);
    LONG refs = InterlockedDecrement(&o->refs);

    if (refs == 0) {
        free(o);
        fwd_module_release();
    }
    return (ULONG)refs;
}

static HRESULT STDMETHODCALLTYPE fwd_rules_tcount(INetFwRules *iface, UINT *count)
{
    (void)iface;
    return fwd_disp_count(count);
}

static HRESULT STDMETHODCALLTYPE fwd_rules_tinfo(INetFwRules *iface, UINT i, LCID lcid,
                                                 ITypeInfo **out)
{
    (void)iface;
    (void)lcid;
    return fwd_disp_typeinfo(&IID_INetFwRules, i, out);
}

static HRESULT STDMETHODCALLTYPE fwd_rules_ids(INetFwRules *iface, REFIID riid, LPOLESTR *names,
                                               UINT count, LCID lcid, DISPID *ids)
{
    (void)iface;
    (void)lcid;
    if (!IsEqualIID(riid, &IID_NULL))
        return DISP_E_UNKNOWNINTERFACE;
    return fwd_disp_ids(&IID_INetFwRules, names, count, ids);
}

static HRESULT STDMETHODCALLTYPE fwd_rules_invoke(INetFwRules *iface, DISPID id, REFIID riid,
                                                  LCID lcid, WORD flags, DISPPARAMS *params,
                                                  VARIANT *result, EXCEPINFO *excep, UINT *arg)
{
    (void)lcid;
    if (!IsEqualIID(riid, &IID_NULL))
        return DISP_E_UNKNOWNINTERFACE;
    return fwd_disp_invoke(&IID_INetFwRules, iface, id, flags, params, result, excep, arg);
}

static HRESULT STDMETHODCALLTYPE fwd_rules_get_Count(INetFwRules *iface, LONG *count)
{
    fwd_store_data *d;
    HRESULT hr;

    (void)iface;
    if (count == NULL)
        return E_POINTER;
    *count = 0;
    hr = fwd_call(FWD_OP_NONE, "get_Count");
    if (FAILED(hr))
        return hr;
    hr = fwd_store_lock(&d);
    if (SUCCEEDED(hr))
        *count = (LONG)d->count;
    fwd_store_unlock();
    return hr;
}

static HRESULT STDMETHODCALLTYPE fwd_rules_Add(INetFwRules *iface, INetFwRule *rule)
{
    HRESULT hr;

    (void)iface;
    if (rule == NULL)
        return E_POINTER;
    hr = fwd_call(FWD_OP_ADD, "Add");
    if (SUCCEEDED(hr))
        hr = fwd_rule_add_to_store(rule);
    fwd_log("Add -> 0x%08lX", (unsigned long)hr);
    return hr;
}

/* Removes the first rule with this name; a missing name is not an error (documented). */
static HRESULT STDMETHODCALLTYPE fwd_rules_Remove(INetFwRules *iface, BSTR name)
{
    fwd_store_data *d;
    size_t idx;
    HRESULT hr;

    (void)iface;
    hr = fwd_call(FWD_OP_REMOVE, "Remove");
    if (FAILED(hr))
        return hr;
    if (name == NULL || name[0] == L'\0')
        return S_OK;
    hr = fwd_store_lock(&d);
    if (SUCCEEDED(hr)) {
        idx = fwd_store_find_name(d, name);
        if (idx != (size_t)-1) {
            fwd_store_remove_at(d, idx);
            hr = fwd_store_commit();
        }
    }
    fwd_store_unlock();
    fwd_log("Remove %ls -> 0x%08lX", name, (unsigned long)hr);
    return hr;
}

static HRESULT STDMETHODCALLTYPE fwd_rules_Item(INetFwRules *iface, BSTR name, INetFwRule **rule)
{
    fwd_store_data *d;
    size_t idx;
    HRESULT hr;

    (void)iface;
    if (rule == NULL)
        return E_POINTER;
    *rule = NULL;
    hr = fwd_call(FWD_OP_ITEM, "Item");
    if (FAILED(hr))
        return hr;
    hr = fwd_store_lock(&d);
    if (SUCCEEDED(hr)) {
        idx = name ? fwd_store_find_name(d, name) : (size_t)-1;
        if (idx == (size_t)-1)
            hr = HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
        else
            hr = fwd_rule_from_store(&d->rules[idx], rule);
    }
    fwd_store_unlock();
    return hr;
}

void fwd_snapshot_release(fwd_snapshot *s)
{
    size_t i;

    if (s == NULL || InterlockedDecrement(&s->refs) != 0)
        return;
    for (i = 0; i < s->count; i++)
        fwd_rule_clear(&s->rules[i]);
    free(s->rules);
    free(s);
}

/* Copies the whole store once, so enumerating n rules costs O(n) whatever happens meanwhile. */
static HRESULT fwd_snapshot_take(fwd_snapshot **out)
{
    fwd_store_data *d;
    fwd_snapshot *s;
    HRESULT hr;

    *out = NULL;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return E_OUTOFMEMORY;
    s->refs = 1;
    hr = fwd_store_lock(&d);
    if (SUCCEEDED(hr) && d->count > 0) {
        s->rules = calloc(d->count, sizeof(fwdc_rule));
        if (s->rules == NULL)
            hr = E_OUTOFMEMORY;
        while (SUCCEEDED(hr) && s->count < d->count) {
            hr = fwd_rule_copy(&s->rules[s->count], &d->rules[s->count]);
            if (SUCCEEDED(hr))
                s->count++;
        }
    }
    fwd_store_unlock();
    if (FAILED(hr)) {
        fwd_snapshot_release(s);
        return hr;
    }
    *out = s;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE fwd_rules_get__NewEnum(INetFwRules *iface, IUnknown **out)
{
    fwd_snapshot *snap;
    IEnumVARIANT *e;
    HRESULT hr;

    (void)iface;
    if (out == NULL)
        return E_POINTER;
    *out = NULL;
    hr = fwd_call(FWD_OP_ENUM, "get__NewEnum");
    if (FAILED(hr))
        return hr;
    hr = fwd_snapshot_take(&snap);
    if (FAILED(hr))
        return hr;
    hr = fwd_enum_create(snap, 0, &e);
    fwd_snapshot_release(snap);
    if (FAILED(hr))
        return hr;
    *out = (IUnknown *)e;
    return S_OK;
}

static const INetFwRulesVtbl fwd_rules_vtbl = {
    fwd_rules_qi,    fwd_rules_addref, fwd_rules_release, fwd_rules_tcount,
    fwd_rules_tinfo, fwd_rules_ids,    fwd_rules_invoke,  fwd_rules_get_Count,
    fwd_rules_Add,   fwd_rules_Remove, fwd_rules_Item,    fwd_rules_get__NewEnum,
};

HRESULT fwd_rules_create(INetFwRules **out)
{
    fwd_rules_obj *o = calloc(1, sizeof(*o));

    *out = NULL;
    if (o == NULL)
        return E_OUTOFMEMORY;
    o->iface.lpVtbl = &fwd_rules_vtbl;
    o->refs = 1;
    fwd_module_add();
    *out = &o->iface;
    return S_OK;
}
