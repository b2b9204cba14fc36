/*
 * The rule object: INetFwRule, INetFwRule2 and INetFwRule3 on one vtable (each extends the
 * previous one). A rule holds its own copy of the rule data. Once added (or when obtained from
 * Item or the enumerator) it is bound to a stored rule by id and every put_* updates the store,
 * as on Windows, where a rule object from the collection is live.
 */
#include "fwd_com.h"

#include <stdlib.h>
#include <string.h>
#include <wchar.h>

typedef struct fwd_rule_obj {
    INetFwRule3 iface;
    LONG refs;
    fwdc_rule data;
    unsigned long long store_id; /* 0: not in the store */
} fwd_rule_obj;

static const INetFwRule3Vtbl fwd_rule_vtbl;

static fwd_rule_obj *fwd_rule_from(INetFwRule3 *iface)
{
    return CONTAINING_RECORD(iface, fwd_rule_obj, iface);
}

static HRESULT STDMETHODCALLTYPE fwd_rule_qi(INetFwRule3 *iface, REFIID riid, void **out)
{
    fwd_faults f;

    if (out == NULL)
        return E_POINTER;
    *out = NULL;
    if (IsEqualIID(riid, &IID_INetFwRule2) || IsEqualIID(riid, &IID_INetFwRule3)) {
        /* no_rule2 / no_rule3 emulate Windows Vista and Windows 7. */
        fwd_faults_current(&f, FALSE);
        if (f.no_rule2 || (f.no_rule3 && IsEqualIID(riid, &IID_INetFwRule3)))
            return E_NOINTERFACE;
    } else if (!IsEqualIID(riid, &IID_IUnknown) && !IsEqualIID(riid, &IID_IDispatch) &&
               !IsEqualIID(riid, &IID_INetFwRule)) {
        return E_NOINTERFACE;
    }
    *out = iface;
    INetFwRule3_AddRef(iface);
    return S_OK;
}

static ULONG STDMETHODCALLTYPE fwd_rule_addref(INetFwRule3 *iface)
{
    return (ULONG)InterlockedIncrement(&fwd_rule_from(iface)->refs);
}

static ULONG STDMETHODCALLTYPE fwd_rule_release(INetFwRule3 *iface)
{
    fwd_rule_obj *o = fwd_rule_from(iface);
    LONG refs = InterlockedDecrement(&o->refs);

    if (refs == 0) {
        fwd_rule_clear(&o->data);
        free(o);
        fwd_module_release();
    }
    return (ULONG)refs;
}

static HRESULT STDMETHODCALLTYPE fwd_rule_tcount(INetFwRule3 *iface, UINT *count)
{
    (void)iface;
    return fwd_disp_count(count);
}

static HRESULT STDMETHODCALLTYPE fwd_rule_tinfo(INetFwRule3 *iface, UINT i, LCID lcid,
                                                ITypeInfo **out)
{
    (void)iface;
    (void)lcid;
    return fwd_disp_typeinfo(fwd_disp_rule_iid(), i, out);
}

static HRESULT STDMETHODCALLTYPE fwd_rule_ids(INetFwRule3 *iface, REFIID riid, LPOLESTR *names,
                                              UINT count, LCID lcid, DISPID *ids)
{
    (void)iface;
    (void)lcid;
    if (!IsEqualIID(riid, &IID_NULL))
        return DISP_E_UNKNOWNINTERFACE;
    return fwd_disp_ids(fwd_disp_rule_iid(), names, count, ids);
}

static HRESULT STDMETHODCALLTYPE fwd_rule_invoke(INetFwRule3 *iface, DISPID id, REFIID riid,
                                                 LCID lcid, WORD flags, DISPPARAMS *params,
                                                 VARIANT *result, EXCEPINFO *excep, UINT *arg)
{
    (void)lcid;
    if (!IsEqualIID(riid, &IID_NULL))
        return DISP_E_UNKNOWNINTERFACE;
    return fwd_disp_invoke(fwd_disp_rule_iid(), iface, id, flags, params, result, excep, arg);
}

/* ---- generic get/put ---- */

static HRESULT fwd_rule_get_str(INetFwRule3 *iface, fwd_prop prop, BSTR *out)
{
    fwd_rule_obj *o = fwd_rule_from(iface);
    const wchar_t *s;
    HRESULT hr;

    if (out == NULL)
        return E_POINTER;
    *out = NULL;
    hr = fwd_call(FWD_OP_NONE, "rule get");
    if (FAILED(hr))
        return hr;
    EnterCriticalSection(&fwd_obj_lock);
    s = *fwd_prop_str_slot(&o->data, prop);
    if (s != NULL) {
        *out = SysAllocString(s);
        if (*out == NULL)
            hr = E_OUTOFMEMORY;
    }
    LeaveCriticalSection(&fwd_obj_lock);
    return hr;
}

static HRESULT fwd_rule_get_long(INetFwRule3 *iface, size_t offset, LONG *out)
{
    fwd_rule_obj *o = fwd_rule_from(iface);
    HRESULT hr;

    if (out == NULL)
        return E_POINTER;
    *out = 0;
    hr = fwd_call(FWD_OP_NONE, "rule get");
    if (FAILED(hr))
        return hr;
    EnterCriticalSection(&fwd_obj_lock);
    *out = *(const long *)((const char *)&o->data + offset);
    LeaveCriticalSection(&fwd_obj_lock);
    return S_OK;
}

static HRESULT fwd_rule_put(INetFwRule3 *iface, fwd_prop prop, const fwd_value *v,
                            const char *method)
{
    fwd_rule_obj *o = fwd_rule_from(iface);
    fwd_store_data *d;
    fwdc_rule *rec, fresh;
    HRESULT hr = fwd_call(FWD_OP_PUT, method);

    if (FAILED(hr))
        return hr;
    EnterCriticalSection(&fwd_obj_lock);
    if (o->store_id == 0) {
        hr = fwd_rule_apply(&o->data, prop, v);
        LeaveCriticalSection(&fwd_obj_lock);
        return hr;
    }
    /* Bound rule: validate against and update the stored rule, then refresh our copy. */
    hr = fwd_store_lock(&d);
    if (SUCCEEDED(hr)) {
        rec = fwd_store_find_id(d, o->store_id);
        hr = rec ? fwd_rule_apply(rec, prop, v) : HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
        if (SUCCEEDED(hr))
            hr = fwd_store_commit();
        if (SUCCEEDED(hr) && SUCCEEDED(fwd_rule_copy(&fresh, rec))) {
            fwd_rule_clear(&o->data);
            o->data = fresh;
        }
    }
    fwd_store_unlock();
    LeaveCriticalSection(&fwd_obj_lock);
    fwd_log("%s on rule id %llu -> 0x%08lX", method, o->store_id, (unsigned long)hr);
    return hr;
}

#define FWD_RULE_STR(Name, PROP)                                                                   \
    static HRESULT STDMETHODCALLTYPE fwd_rule_get_##Name(INetFwRule3 *iface, BSTR *out)            \
    {                                                                                              \
        return fwd_rule_get_str(iface, PROP, out);                                                 \
    }                                                                                              \
    static HRESULT STDMETHODCALLTYPE fwd_rule_put_##Name(INetFwRule3 *iface, BSTR value)           \
    {                                                                                              \
        fwd_value v;                                                                               \
        v.str = value;                                                                             \
        v.num = 0;                                                                                 \
        return fwd_rule_put(iface, PROP, &v, "put_" #Name);                                        \
    }

#define FWD_RULE_LONG(Name, PROP, Type, member)                                                    \
    static HRESULT STDMETHODCALLTYPE fwd_rule_get_##Name(INetFwRule3 *iface, Type *out)            \
    {                                                                                              \
        LONG tmp = 0;                                                                              \
        HRESULT hr;                                                                                \
        if (out == NULL)                                                                           \
            return E_POINTER;                                                                      \
        hr = fwd_rule_get_long(iface, offsetof(fwdc_rule, member), &tmp);                          \
        *out = (Type)tmp;                                                                          \
        return hr;                                                                                 \
    }                                                                                              \
    static HRESULT STDMETHODCALLTYPE fwd_rule_put_##Name(INetFwRule3 *iface, Type value)           \
    {                                                                                              \
        fwd_value v;                                                                               \
        v.str = NULL;                                                                              \
        v.num = (long)value;                                                                       \
        return fwd_rule_put(iface, PROP, &v, "put_" #Name);                                        \
    }

FWD_RULE_STR(Name, FWD_P_NAME)
FWD_RULE_STR(Description, FWD_P_DESCRIPTION)
FWD_RULE_STR(ApplicationName, FWD_P_APPLICATION)
FWD_RULE_STR(ServiceName, FWD_P_SERVICE)
FWD_RULE_LONG(Protocol, FWD_P_PROTOCOL, LONG, protocol)
FWD_RULE_STR(LocalPorts, FWD_P_LOCAL_PORTS)
FWD_RULE_STR(RemotePorts, FWD_P_REMOTE_PORTS)
FWD_RULE_STR(LocalAddresses, FWD_P_LOCAL_ADDRESSES)
FWD_RULE_STR(RemoteAddresses, FWD_P_REMOTE_ADDRESSES)
FWD_RULE_STR(IcmpTypesAndCodes, FWD_P_ICMP)
FWD_RULE_LONG(Direction, FWD_P_DIRECTION, NET_FW_RULE_DIRECTION, direction)
FWD_RULE_STR(InterfaceTypes, FWD_P_INTERFACE_TYPES)
FWD_RULE_STR(Grouping, FWD_P_GROUPING)
FWD_RULE_LONG(Profiles, FWD_P_PROFILES, LONG, profiles)
FWD_RULE_LONG(Action, FWD_P_ACTION, NET_FW_ACTION, action)
FWD_RULE_LONG(EdgeTraversalOptions, FWD_P_EDGE_OPTIONS, LONG, edge_traversal_options)
FWD_RULE_STR(LocalAppPackageId, FWD_P_PACKAGE_ID)
FWD_RULE_STR(LocalUserOwner, FWD_P_OWNER)
FWD_RULE_STR(LocalUserAuthorizedList, FWD_P_LOCAL_USERS)
FWD_RULE_STR(RemoteUserAuthorizedList, FWD_P_REMOTE_USERS)
FWD_RULE_STR(RemoteMachineAuthorizedList, FWD_P_REMOTE_MACHINES)
FWD_RULE_LONG(SecureFlags, FWD_P_SECURE_FLAGS, LONG, secure_flags)

static HRESULT STDMETHODCALLTYPE fwd_rule_get_Enabled(INetFwRule3 *iface, VARIANT_BOOL *out)
{
    fwd_rule_obj *o = fwd_rule_from(iface);
    HRESULT hr;

    if (out == NULL)
        return E_POINTER;
    *out = VARIANT_FALSE;
    hr = fwd_call(FWD_OP_NONE, "rule get");
    if (FAILED(hr))
        return hr;
    EnterCriticalSection(&fwd_obj_lock);
    *out = o->data.enabled ? VARIANT_TRUE : VARIANT_FALSE;
    LeaveCriticalSection(&fwd_obj_lock);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE fwd_rule_put_Enabled(INetFwRule3 *iface, VARIANT_BOOL value)
{
    fwd_value v = {NULL, value != VARIANT_FALSE};
    return fwd_rule_put(iface, FWD_P_ENABLED, &v, "put_Enabled");
}

/* EdgeTraversal is a view of EdgeTraversalOptions: anything but DENY reads as TRUE. */
static HRESULT STDMETHODCALLTYPE fwd_rule_get_EdgeTraversal(INetFwRule3 *iface, VARIANT_BOOL *out)
{
    LONG v = 0;
    HRESULT hr;

    if (out == NULL)
        return E_POINTER;
    hr = fwd_rule_get_long(iface, offsetof(fwdc_rule, edge_traversal_options), &v);
    *out = v != FWD_EDGE_DENY ? VARIANT_TRUE : VARIANT_FALSE;
    return hr;
}

static HRESULT STDMETHODCALLTYPE fwd_rule_put_EdgeTraversal(INetFwRule3 *iface, VARIANT_BOOL value)
{
    fwd_value v = {NULL, value != VARIANT_FALSE};
    return fwd_rule_put(iface, FWD_P_EDGE, &v, "put_EdgeTraversal");
}

static HRESULT STDMETHODCALLTYPE fwd_rule_get_Interfaces(INetFwRule3 *iface, VARIANT *out)
{
    BSTR joined = NULL;
    SAFEARRAY *sa = NULL;
    LONG n = 0, i;
    const wchar_t *p;
    HRESULT hr;

    if (out == NULL)
        return E_POINTER;
    VariantInit(out);
    hr = fwd_rule_get_str(iface, FWD_P_INTERFACES, &joined);
    if (FAILED(hr) || joined == NULL)
        return hr;
    for (p = joined, n = 1; *p; p++)
        n += *p == L'\n';
    sa = SafeArrayCreateVector(VT_VARIANT, 0, (ULONG)n);
    if (sa == NULL) {
        SysFreeString(joined);
        return E_OUTOFMEMORY;
    }
    for (i = 0, p = joined; i < n && SUCCEEDED(hr); i++) {
        const wchar_t *nl = wcschr(p, L'\n');
        UINT len = nl ? (UINT)(nl - p) : (UINT)wcslen(p);
        VARIANT item;
        VariantInit(&item);
        V_VT(&item) = VT_BSTR;
        V_BSTR(&item) = SysAllocStringLen(p, len);
        hr = V_BSTR(&item) ? SafeArrayPutElement(sa, &i, &item) : E_OUTOFMEMORY;
        VariantClear(&item);
        p = nl ? nl + 1 : p + len;
    }
    SysFreeString(joined);
    if (FAILED(hr)) {
        SafeArrayDestroy(sa);
        return hr;
    }
    V_VT(out) = VT_ARRAY | VT_VARIANT;
    V_ARRAY(out) = sa;
    return S_OK;
}

/* Joins the BSTRs of a one-dimensional VT_ARRAY of VT_VARIANT or VT_BSTR with '\n'. */
static HRESULT fwd_join_names(const VARIANT *var, wchar_t **out)
{
    SAFEARRAY *sa = V_ARRAY(var);
    VARTYPE vt = V_VT(var) & ~VT_ARRAY;
    LONG lo, hi, i;
    size_t total = 1, used = 0;
    wchar_t *buf;
    HRESULT hr;

    *out = NULL;
    if (sa == NULL || SafeArrayGetDim(sa) != 1)
        return E_INVALIDARG;
    if (FAILED(SafeArrayGetLBound(sa, 1, &lo)) || FAILED(SafeArrayGetUBound(sa, 1, &hi)))
        return E_INVALIDARG;
    if (hi < lo || hi - lo > 1000)
        return E_INVALIDARG;
    buf = calloc(1, sizeof(wchar_t));
    if (buf == NULL)
        return E_OUTOFMEMORY;
    for (i = lo; i <= hi; i++) {
        VARIANT item;
        BSTR s = NULL;
        wchar_t *grown;
        size_t len;
        VariantInit(&item);
        if (vt == VT_VARIANT) {
            hr = SafeArrayGetElement(sa, &i, &item);
            s = SUCCEEDED(hr) && V_VT(&item) == VT_BSTR ? V_BSTR(&item) : NULL;
        } else {
            hr = SafeArrayGetElement(sa, &i, &s);
            V_VT(&item) = VT_BSTR;
            V_BSTR(&item) = s;
        }
        len = s ? wcslen(s) : 0;
        if (FAILED(hr) || len == 0 || wcschr(s, L'\n') || len > 1024) {
            VariantClear(&item);
            free(buf);
            return E_INVALIDARG;
        }
        total += len + 1;
        grown = realloc(buf, total * sizeof(wchar_t));
        if (grown == NULL) {
            VariantClear(&item);
            free(buf);
            return E_OUTOFMEMORY;
        }
        buf = grown;
        if (used > 0)
            buf[used++] = L'\n';
        memcpy(buf + used, s, len * sizeof(wchar_t));
        used += len;
        buf[used] = L'\0';
        VariantClear(&item);
    }
    *out = buf;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE fwd_rule_put_Interfaces(INetFwRule3 *iface, VARIANT value)
{
    wchar_t *joined = NULL;
    fwd_value v = {NULL, 0};
    HRESULT hr = S_OK;

    if (V_VT(&value) == (VT_ARRAY | VT_VARIANT) || V_VT(&value) == (VT_ARRAY | VT_BSTR))
        hr = fwd_join_names(&value, &joined);
    else if (V_VT(&value) != VT_EMPTY && V_VT(&value) != VT_NULL)
        hr = E_INVALIDARG;
    if (FAILED(hr))
        return hr;
    v.str = joined;
    hr = fwd_rule_put(iface, FWD_P_INTERFACES, &v, "put_Interfaces");
    free(joined);
    return hr;
}

static const INetFwRule3Vtbl fwd_rule_vtbl = {
    fwd_rule_qi,
    fwd_rule_addref,
    fwd_rule_release,
    fwd_rule_tcount,
    fwd_rule_tinfo,
    fwd_rule_ids,
    fwd_rule_invoke,
    fwd_rule_get_Name,
    fwd_rule_put_Name,
    fwd_rule_get_Description,
    fwd_rule_put_Description,
    fwd_rule_get_ApplicationName,
    fwd_rule_put_ApplicationName,
    fwd_rule_get_ServiceName,
    fwd_rule_put_ServiceName,
    fwd_rule_get_Protocol,
    fwd_rule_put_Protocol,
    fwd_rule_get_LocalPorts,
    fwd_rule_put_LocalPorts,
    fwd_rule_get_RemotePorts,
    fwd_rule_put_RemotePorts,
    fwd_rule_get_LocalAddresses,
    fwd_rule_put_LocalAddresses,
    fwd_rule_get_RemoteAddresses,
    fwd_rule_put_RemoteAddresses,
    fwd_rule_get_IcmpTypesAndCodes,
    fwd_rule_put_IcmpTypesAndCodes,
    fwd_rule_get_Direction,
    fwd_rule_put_Direction,
    fwd_rule_get_Interfaces,
    fwd_rule_put_Interfaces,
    fwd_rule_get_InterfaceTypes,
    fwd_rule_put_InterfaceTypes,
    fwd_rule_get_Enabled,
    fwd_rule_put_Enabled,
    fwd_rule_get_Grouping,
    fwd_rule_put_Grouping,
    fwd_rule_get_Profiles,
    fwd_rule_put_Profiles,
    fwd_rule_get_EdgeTraversal,
    fwd_rule_put_EdgeTraversal,
    fwd_rule_get_Action,
    fwd_rule_put_Action,
    fwd_rule_get_EdgeTraversalOptions,
    fwd_rule_put_EdgeTraversalOptions,
    fwd_rule_get_LocalAppPackageId,
    fwd_rule_put_LocalAppPackageId,
    fwd_rule_get_LocalUserOwner,
    fwd_rule_put_LocalUserOwner,
    fwd_rule_get_LocalUserAuthorizedList,
    fwd_rule_put_LocalUserAuthorizedList,
    fwd_rule_get_RemoteUserAuthorizedList,
    fwd_rule_put_RemoteUserAuthorizedList,
    fwd_rule_get_RemoteMachineAuthorizedList,
    fwd_rule_put_RemoteMachineAuthorizedList,
    fwd_rule_get_SecureFlags,
    fwd_rule_put_SecureFlags,
};

static HRESULT fwd_rule_new(fwd_rule_obj **out)
{
    fwd_rule_obj *o = calloc(1, sizeof(*o));

    *out = NULL;
    if (o == NULL)
        return E_OUTOFMEMORY;
    o->iface.lpVtbl = &fwd_rule_vtbl;
    o->refs = 1;
    fwd_rule_init(&o->data);
    fwd_module_add();
    *out = o;
    return S_OK;
}

HRESULT fwd_rule_create(REFIID riid, void **out)
{
    fwd_rule_obj *o;
    HRESULT hr = fwd_rule_new(&o);

    if (FAILED(hr))
        return hr;
    hr = fwd_rule_qi(&o->iface, riid, out);
    fwd_rule_release(&o->iface);
    return hr;
}

HRESULT fwd_rule_from_store(const fwdc_rule *data, INetFwRule **out)
{
    fwd_rule_obj *o;
    HRESULT hr;

    *out = NULL;
    hr = fwd_rule_new(&o);
    if (FAILED(hr))
        return hr;
    fwd_rule_clear(&o->data);
    hr = fwd_rule_copy(&o->data, data);
    if (FAILED(hr)) {
        fwd_rule_init(&o->data);
        fwd_rule_release(&o->iface);
        return hr;
    }
    o->store_id = data->id;
    *out = (INetFwRule *)&o->iface;
    return S_OK;
}

HRESULT fwd_rule_add_to_store(INetFwRule *rule)
{
    fwd_rule_obj *o;
    fwd_store_data *d;
    unsigned long long id = 0;
    HRESULT hr;

    /* Only the double's own rule objects can be added, as only FirewallAPI's can on Windows. */
    if (rule->lpVtbl != (const INetFwRuleVtbl *)&fwd_rule_vtbl)
        return E_INVALIDARG;
    o = fwd_rule_from((INetFwRule3 *)rule);
    EnterCriticalSection(&fwd_obj_lock);
    hr = fwd_store_lock(&d);
    if (SUCCEEDED(hr)) {
        if (o->store_id != 0 && fwd_store_find_id(d, o->store_id) != NULL)
            hr = E_UNEXPECTED;
        else
            hr = fwd_rule_check_for_add(&o->data);
        if (SUCCEEDED(hr))
            hr = fwd_store_append(d, &o->data, &id);
        if (SUCCEEDED(hr))
            hr = fwd_store_commit_appended(d->count - 1);
        if (SUCCEEDED(hr)) {
            o->store_id = id;
            o->data.id = id;
        }
    }
    fwd_store_unlock();
    LeaveCriticalSection(&fwd_obj_lock);
    return hr;
}
