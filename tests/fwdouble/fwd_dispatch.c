/*
 * IDispatch for the double's objects, through the firewall type library (LIBID_NetFwPublicTypeLib)
 * when it is registered — Wine registers it from its builtin hnetcfg.dll, Windows from
 * FirewallAPI.dll. Without it GetTypeInfoCount reports 0 and the rest returns E_NOTIMPL.
 */
#include "fwd_com.h"

static HRESULT fwd_typelib(ITypeLib **out)
{
    return LoadRegTypeLib(&LIBID_NetFwPublicTypeLib, 1, 0, LOCALE_NEUTRAL, out);
}

static HRESULT fwd_typeinfo_of(REFIID iid, ITypeInfo **out)
{
    ITypeLib *lib = NULL;
    HRESULT hr;

    *out = NULL;
    hr = fwd_typelib(&lib);
    if (FAILED(hr))
        return hr;
    hr = ITypeLib_GetTypeInfoOfGuid(lib, iid, out);
    ITypeLib_Release(lib);
    return hr;
}

REFIID fwd_disp_rule_iid(void)
{
    static REFIID const candidates[] = {&IID_INetFwRule3, &IID_INetFwRule2, &IID_INetFwRule};
    ITypeInfo *ti;
    size_t i;

    for (i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
        if (SUCCEEDED(fwd_typeinfo_of(candidates[i], &ti))) {
            ITypeInfo_Release(ti);
            return candidates[i];
        }
    }
    return &IID_INetFwRule;
}

HRESULT fwd_disp_count(UINT *count)
{
    ITypeLib *lib = NULL;

    if (count == NULL)
        return E_POINTER;
    *count = 0;
    if (SUCCEEDED(fwd_typelib(&lib))) {
        ITypeLib_Release(lib);
        *count = 1;
    }
    return S_OK;
}

HRESULT fwd_disp_typeinfo(REFIID iid, UINT index, ITypeInfo **out)
{
    HRESULT hr;

    if (out == NULL)
        return E_POINTER;
    *out = NULL;
    if (index != 0)
        return DISP_E_BADINDEX;
    hr = fwd_typeinfo_of(iid, out);
    return FAILED(hr) ? E_NOTIMPL : S_OK;
}

HRESULT fwd_disp_ids(REFIID iid, LPOLESTR *names, UINT count, DISPID *ids)
{
    ITypeInfo *ti;
    HRESULT hr;

    if (names == NULL || ids == NULL)
        return E_POINTER;
    if (FAILED(fwd_typeinfo_of(iid, &ti)))
        return E_NOTIMPL;
    hr = ITypeInfo_GetIDsOfNames(ti, names, count, ids);
    ITypeInfo_Release(ti);
    return hr;
}

HRESULT fwd_disp_invoke(REFIID iid, void *iface, DISPID id, WORD flags, DISPPARAMS *params,
                        VARIANT *result, EXCEPINFO *excep, UINT *arg_err)
{
    ITypeInfo *ti;
    HRESULT hr;

    if (FAILED(fwd_typeinfo_of(iid, &ti)))
        return E_NOTIMPL;
    hr = ITypeInfo_Invoke(ti, iface, id, flags, params, result, excep, arg_err);
    ITypeInfo_Release(ti);
    return hr;
}
