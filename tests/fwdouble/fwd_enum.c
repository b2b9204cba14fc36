/*
 * IEnumVARIANT over a snapshot of the store taken by get__NewEnum. Items are VT_DISPATCH rule
 * objects bound to the stored rules. Clones share the (immutable) snapshot.
 */
#include "fwd_com.h"

#include <stdlib.h>

typedef struct fwd_enum_obj {
    IEnumVARIANT iface;
    LONG refs;
    fwd_snapshot *snap;
    size_t pos; /* guarded by fwd_obj_lock */
} fwd_enum_obj;

static fwd_enum_obj *fwd_enum_from(IEnumVARIANT *iface)
{
    return CONTAINING_RECORD(iface, fwd_enum_obj, iface);
}

static HRESULT STDMETHODCALLTYPE fwd_enum_qi(IEnumVARIANT *iface, REFIID riid, void **out)
{
    if (out == NULL)
        return E_POINTER;
    *out = NULL;
    if (!IsEqualIID(riid, &IID_IUnknown) && !IsEqualIID(riid, &IID_IEnumVARIANT))
        return E_NOINTERFACE;
    *out = iface;
    IEnumVARIANT_AddRef(iface);
    return S_OK;
}

static ULONG STDMETHODCALLTYPE fwd_enum_addref(IEnumVARIANT *iface)
{
    return (ULONG)InterlockedIncrement(&fwd_enum_from(iface)->refs);
}

static ULONG STDMETHODCALLTYPE fwd_enum_release(IEnumVARIANT *iface)
{
    fwd_enum_obj *o = fwd_enum_from(iface);
    LONG refs = InterlockedDecrement(&o->refs);

    if (refs == 0) {
        fwd_snapshot_release(o->snap);
        free(o);
        fwd_module_release();
    }
    return (ULONG)refs;
}

static HRESULT STDMETHODCALLTYPE fwd_enum_Next(IEnumVARIANT *iface, ULONG celt, VARIANT *items,
                                               ULONG *fetched)
{
    fwd_enum_obj *o = fwd_enum_from(iface);
    ULONG got = 0, i;
    HRESULT hr;

    if (fetched)
        *fetched = 0;
    if (items == NULL || (celt > 1 && fetched == NULL))
        return E_POINTER;
    for (i = 0; i < celt; i++)
        VariantInit(&items[i]);
    hr = fwd_call(FWD_OP_NONE, "IEnumVARIANT::Next");
    if (FAILED(hr))
        return hr;
    EnterCriticalSection(&fwd_obj_lock);
    while (got < celt && o->pos < o->snap->count) {
        INetFwRule *rule;
        hr = fwd_rule_from_store(&o->snap->rules[o->pos], &rule);
        if (FAILED(hr))
            break;
        V_VT(&items[got]) = VT_DISPATCH;
        V_DISPATCH(&items[got]) = (IDispatch *)rule;
        got++;
        o->pos++;
    }
    LeaveCriticalSection(&fwd_obj_lock);
    if (FAILED(hr)) {
        for (i = 0; i < got; i++)
            VariantClear(&items[i]);
        return hr;
    }
    if (fetched)
        *fetched = got;
    return got == celt ? S_OK : S_FALSE;
}

static HRESULT STDMETHODCALLTYPE fwd_enum_Skip(IEnumVARIANT *iface, ULONG celt)
{
    fwd_enum_obj *o = fwd_enum_from(iface);
    size_t left;
    HRESULT hr;

    EnterCriticalSection(&fwd_obj_lock);
    left = o->snap->count - o->pos;
    if (celt <= left) {
        o->pos += celt;
        hr = S_OK;
    } else {
        o->pos = o->snap->count;
        hr = S_FALSE;
    }
    LeaveCriticalSection(&fwd_obj_lock);
    return hr;
}

static HRESULT STDMETHODCALLTYPE fwd_enum_Reset(IEnumVARIANT *iface)
{
    fwd_enum_obj *o = fwd_enum_from(iface);

    EnterCriticalSection(&fwd_obj_lock);
    o->pos = 0;
    LeaveCriticalSection(&fwd_obj_lock);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE fwd_enum_Clone(IEnumVARIANT *iface, IEnumVARIANT **out)
{
    fwd_enum_obj *o = fwd_enum_from(iface);
    size_t pos;

    if (out == NULL)
        return E_POINTER;
    *out = NULL;
    EnterCriticalSection(&fwd_obj_lock);
    pos = o->pos;
    LeaveCriticalSection(&fwd_obj_lock);
    return fwd_enum_create(o->snap, pos, out);
}

static const IEnumVARIANTVtbl fwd_enum_vtbl = {
    fwd_enum_qi,   fwd_enum_addref, fwd_enum_release, fwd_enum_Next,
    fwd_enum_Skip, fwd_enum_Reset,  fwd_enum_Clone,
};

HRESULT fwd_enum_create(fwd_snapshot *snap, size_t pos, IEnumVARIANT **out)
{
    fwd_enum_obj *o = calloc(1, sizeof(*o));

    *out = NULL;
    if (o == NULL)
        return E_OUTOFMEMORY;
    o->iface.lpVtbl = &fwd_enum_vtbl;
    o->refs = 1;
    InterlockedIncrement(&snap->refs);
    o->snap = snap;
    o->pos = pos;
    fwd_module_add();
    *out = &o->iface;
    return S_OK;
}
