/*
 * INetFwPolicy2: the rules collection (one object per policy), profiles, firewall on/off and rule
 * groups. Firewall on/off set through put_FirewallEnabled is kept in the store; the faults file
 * can force profiles off (firewall_off) and choose the current profiles (current_profiles).
 */
#include "fwd_com.h"

#include <stdlib.h>

#define FWD_DEFAULT_CURRENT_PROFILES NET_FW_PROFILE2_PRIVATE

typedef struct fwd_policy_obj {
    INetFwPolicy2 iface;
    LONG refs;
    INetFwRules *rules;
} fwd_policy_obj;

static fwd_policy_obj *fwd_policy_from(INetFwPolicy2 *iface)
{
    return CONTAINING_RECORD(iface, fwd_policy_obj, iface);
}

static HRESULT STDMETHODCALLTYPE fwd_policy_qi(INetFwPolicy2 *iface, REFIID riid, void **out)
{
    if (out == NULL)
        return E_POINTER;
    *out = NULL;
    if (!IsEqualIID(riid, &IID_IUnknown) && !IsEqualIID(riid, &IID_IDispatch) &&
        !IsEqualIID(riid, &IID_INetFwPolicy2))
        return E_NOINTERFACE;
    *out = iface;
    INetFwPolicy2_AddRef(iface);
    return S_OK;
}

static ULONG STDMETHODCALLTYPE fwd_policy_addref(INetFwPolicy2 *iface)
{
    return (ULONG)InterlockedIncrement(&fwd_policy_from(iface)->refs);
}

static ULONG STDMETHODCALLTYPE fwd_policy_release(INetFwPolicy2 *iface)
{
    fwd_policy_obj *o = fwd_policy_from(iface);
    LONG refs = InterlockedDecrement(&o->refs);

    if (refs == 0) {
        INetFwRules_Release(o->rules);
        free(o);
        fwd_module_release();
    }
    return (ULONG)refs;
}

static HRESULT STDMETHODCALLTYPE fwd_policy_tcount(INetFwPolicy2 *iface, UINT *count)
{
    (void)iface;
    return fwd_disp_count(count);
}

static HRESULT STDMETHODCALLTYPE fwd_policy_tinfo(INetFwPolicy2 *iface, UINT i, LCID lcid,
                                                  ITypeInfo **out)
{
    (void)iface;
    (void)lcid;
    return fwd_disp_typeinfo(&IID_INetFwPolicy2, i, out);
}

static HRESULT STDMETHODCALLTYPE fwd_policy_ids(INetFwPolicy2 *iface, REFIID riid, LPOLESTR *names,
                                                UINT count, LCID lcid, DISPID *ids)
{
    (void)iface;
    (void)lcid;
    if (!IsEqualIID(riid, &IID_NULL))
        return DISP_E_UNKNOWNINTERFACE;
    return fwd_disp_ids(&IID_INetFwPolicy2, names, count, ids);
}

static HRESULT STDMETHODCALLTYPE fwd_policy_invoke(INetFwPolicy2 *iface, DISPID id, REFIID riid,
                                                   LCID lcid, WORD flags, DISPPARAMS *params,
                                                   VARIANT *result, EXCEPINFO *excep, UINT *arg)
{
    (void)lcid;
    if (!IsEqualIID(riid, &IID_NULL))
        return DISP_E_UNKNOWNINTERFACE;
    return fwd_disp_invoke(&IID_INetFwPolicy2, iface, id, flags, params, result, excep, arg);
}

static long fwd_current_profiles(void)
{
    fwd_faults f;

    fwd_faults_get(&f);
    return f.current_profiles >= 0 ? f.current_profiles : FWD_DEFAULT_CURRENT_PROFILES;
}

static HRESULT STDMETHODCALLTYPE fwd_policy_get_CurrentProfileTypes(INetFwPolicy2 *iface,
                                                                    LONG *profile)
{
    HRESULT hr;

    (void)iface;
    if (profile == NULL)
        return E_POINTER;
    *profile = 0;
    hr = fwd_call(FWD_OP_NONE, "get_CurrentProfileTypes");
    if (SUCCEEDED(hr))
        *profile = fwd_current_profiles();
    return hr;
}

static BOOL fwd_single_profile(NET_FW_PROFILE_TYPE2 p)
{
    return p == NET_FW_PROFILE2_DOMAIN || p == NET_FW_PROFILE2_PRIVATE ||
           p == NET_FW_PROFILE2_PUBLIC;
}

static HRESULT STDMETHODCALLTYPE fwd_policy_get_FirewallEnabled(INetFwPolicy2 *iface,
                                                                NET_FW_PROFILE_TYPE2 profile,
                                                                VARIANT_BOOL *enabled)
{
    fwd_store_data *d;
    fwd_faults f;
    HRESULT hr;

    (void)iface;
    if (enabled == NULL)
        return E_POINTER;
    *enabled = VARIANT_FALSE;
    if (!fwd_single_profile(profile))
        return E_INVALIDARG;
    hr = fwd_call(FWD_OP_NONE, "get_FirewallEnabled");
    if (FAILED(hr))
        return hr;
    fwd_faults_get(&f);
    hr = fwd_store_lock(&d);
    if (SUCCEEDED(hr))
        *enabled = ((d->firewall_off | f.firewall_off) & profile) ? VARIANT_FALSE : VARIANT_TRUE;
    fwd_store_unlock();
    return hr;
}

static HRESULT STDMETHODCALLTYPE fwd_policy_put_FirewallEnabled(INetFwPolicy2 *iface,
                                                                NET_FW_PROFILE_TYPE2 profile,
                                                                VARIANT_BOOL enabled)
{
    fwd_store_data *d;
    HRESULT hr;

    (void)iface;
    if (!fwd_single_profile(profile))
        return E_INVALIDARG;
    hr = fwd_call(FWD_OP_NONE, "put_FirewallEnabled");
    if (FAILED(hr))
        return hr;
    hr = fwd_store_lock(&d);
    if (SUCCEEDED(hr)) {
        if (enabled != VARIANT_FALSE)
            d->firewall_off &= ~(long)profile;
        else
            d->firewall_off |= (long)profile;
        hr = fwd_store_commit();
    }
    fwd_store_unlock();
    return hr;
}

static BOOL fwd_valid_mask(LONG mask)
{
    return mask == NET_FW_PROFILE2_ALL || (mask != 0 && (mask & ~FWD_PROFILES_VALID) == 0);
}

static HRESULT STDMETHODCALLTYPE fwd_policy_EnableRuleGroup(INetFwPolicy2 *iface, LONG mask,
                                                            BSTR group, VARIANT_BOOL enable)
{
    fwd_store_data *d;
    BOOL found = FALSE, changed = FALSE;
    size_t i;
    HRESULT hr;

    (void)iface;
    if (group == NULL || group[0] == L'\0' || !fwd_valid_mask(mask))
        return E_INVALIDARG;
    hr = fwd_call(FWD_OP_NONE, "EnableRuleGroup");
    if (FAILED(hr))
        return hr;
    hr = fwd_store_lock(&d);
    for (i = 0; SUCCEEDED(hr) && i < d->count; i++) {
        fwdc_rule *r = &d->rules[i];
        if (!fwd_str_ieq(r->grouping, group))
            continue;
        found = TRUE;
        if ((r->profiles & mask) != 0 && r->enabled != (enable != VARIANT_FALSE)) {
            r->enabled = enable != VARIANT_FALSE;
            changed = TRUE;
        }
    }
    if (SUCCEEDED(hr) && changed)
        hr = fwd_store_commit();
    fwd_store_unlock();
    if (SUCCEEDED(hr) && !found)
        hr = S_FALSE;
    return hr;
}

/* TRUE when every rule of group active in mask is enabled; S_FALSE when no rule has the group. */
static HRESULT fwd_group_enabled(LONG mask, BSTR group, VARIANT_BOOL *enabled)
{
    fwd_store_data *d;
    BOOL found = FALSE, all = TRUE;
    size_t i;
    HRESULT hr;

    hr = fwd_store_lock(&d);
    for (i = 0; SUCCEEDED(hr) && i < d->count; i++) {
        const fwdc_rule *r = &d->rules[i];
        if (!fwd_str_ieq(r->grouping, group) || (r->profiles & mask) == 0)
            continue;
        found = TRUE;
        if (!r->enabled)
            all = FALSE;
    }
    fwd_store_unlock();
    if (FAILED(hr))
        return hr;
    *enabled = found && all ? VARIANT_TRUE : VARIANT_FALSE;
    return found ? S_OK : S_FALSE;
}

static HRESULT STDMETHODCALLTYPE fwd_policy_IsRuleGroupEnabled(INetFwPolicy2 *iface, LONG mask,
                                                               BSTR group, VARIANT_BOOL *enabled)
{
    HRESULT hr;

    (void)iface;
    if (enabled == NULL)
        return E_POINTER;
    *enabled = VARIANT_FALSE;
    if (group == NULL || group[0] == L'\0' || !fwd_valid_mask(mask))
        return E_INVALIDARG;
    hr = fwd_call(FWD_OP_NONE, "IsRuleGroupEnabled");
    return FAILED(hr) ? hr : fwd_group_enabled(mask, group, enabled);
}

static HRESULT STDMETHODCALLTYPE fwd_policy_get_IsRuleGroupCurrentlyEnabled(INetFwPolicy2 *iface,
                                                                            BSTR group,
                                                                            VARIANT_BOOL *enabled)
{
    HRESULT hr;

    (void)iface;
    if (enabled == NULL)
        return E_POINTER;
    *enabled = VARIANT_FALSE;
    if (group == NULL || group[0] == L'\0')
        return E_INVALIDARG;
    hr = fwd_call(FWD_OP_NONE, "get_IsRuleGroupCurrentlyEnabled");
    return FAILED(hr) ? hr : fwd_group_enabled(fwd_current_profiles(), group, enabled);
}

static HRESULT STDMETHODCALLTYPE fwd_policy_get_Rules(INetFwPolicy2 *iface, INetFwRules **rules)
{
    fwd_policy_obj *o = fwd_policy_from(iface);
    HRESULT hr;

    if (rules == NULL)
        return E_POINTER;
    *rules = NULL;
    hr = fwd_call(FWD_OP_NONE, "get_Rules");
    if (FAILED(hr))
        return hr;
    INetFwRules_AddRef(o->rules);
    *rules = o->rules;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE fwd_policy_get_LocalPolicyModifyState(INetFwPolicy2 *iface,
                                                                       NET_FW_MODIFY_STATE *st)
{
    (void)iface;
    if (st == NULL)
        return E_POINTER;
    *st = NET_FW_MODIFY_STATE_OK;
    return S_OK;
}

/* The rest of INetFwPolicy2 is outside what the project uses: E_NOTIMPL, outputs cleared. */
static HRESULT STDMETHODCALLTYPE fwd_policy_get_vb(INetFwPolicy2 *i, NET_FW_PROFILE_TYPE2 p,
                                                   VARIANT_BOOL *out)
{
    (void)i;
    (void)p;
    if (out)
        *out = VARIANT_FALSE;
    return E_NOTIMPL;
}

static HRESULT STDMETHODCALLTYPE fwd_policy_put_vb(INetFwPolicy2 *i, NET_FW_PROFILE_TYPE2 p,
                                                   VARIANT_BOOL v)
{
    (void)i;
    (void)p;
    (void)v;
    return E_NOTIMPL;
}

static HRESULT STDMETHODCALLTYPE fwd_policy_get_excl(INetFwPolicy2 *i, NET_FW_PROFILE_TYPE2 p,
                                                     VARIANT *out)
{
    (void)i;
    (void)p;
    if (out)
        VariantInit(out);
    return E_NOTIMPL;
}

static HRESULT STDMETHODCALLTYPE fwd_policy_put_excl(INetFwPolicy2 *i, NET_FW_PROFILE_TYPE2 p,
                                                     VARIANT v)
{
    (void)i;
    (void)p;
    (void)v;
    return E_NOTIMPL;
}

static HRESULT STDMETHODCALLTYPE fwd_policy_get_sr(INetFwPolicy2 *i, INetFwServiceRestriction **out)
{
    (void)i;
    if (out)
        *out = NULL;
    return E_NOTIMPL;
}

static HRESULT STDMETHODCALLTYPE fwd_policy_restore(INetFwPolicy2 *i)
{
    (void)i;
    return E_NOTIMPL;
}

static HRESULT STDMETHODCALLTYPE fwd_policy_get_action(INetFwPolicy2 *i, NET_FW_PROFILE_TYPE2 p,
                                                       NET_FW_ACTION *out)
{
    (void)i;
    (void)p;
    if (out)
        *out = NET_FW_ACTION_BLOCK;
    return E_NOTIMPL;
}

static HRESULT STDMETHODCALLTYPE fwd_policy_put_action(INetFwPolicy2 *i, NET_FW_PROFILE_TYPE2 p,
                                                       NET_FW_ACTION a)
{
    (void)i;
    (void)p;
    (void)a;
    return E_NOTIMPL;
}

static const INetFwPolicy2Vtbl fwd_policy_vtbl = {
    fwd_policy_qi,
    fwd_policy_addref,
    fwd_policy_release,
    fwd_policy_tcount,
    fwd_policy_tinfo,
    fwd_policy_ids,
    fwd_policy_invoke,
    fwd_policy_get_CurrentProfileTypes,
    fwd_policy_get_FirewallEnabled,
    fwd_policy_put_FirewallEnabled,
    fwd_policy_get_excl,
    fwd_policy_put_excl,
    fwd_policy_get_vb, /* BlockAllInboundTraffic */
    fwd_policy_put_vb,
    fwd_policy_get_vb, /* NotificationsDisabled */
    fwd_policy_put_vb,
    fwd_policy_get_vb, /* UnicastResponsesToMulticastBroadcastDisabled */
    fwd_policy_put_vb,
    fwd_policy_get_Rules,
    fwd_policy_get_sr,
    fwd_policy_EnableRuleGroup,
    fwd_policy_IsRuleGroupEnabled,
    fwd_policy_restore,
    fwd_policy_get_action, /* DefaultInboundAction */
    fwd_policy_put_action,
    fwd_policy_get_action, /* DefaultOutboundAction */
    fwd_policy_put_action,
    fwd_policy_get_IsRuleGroupCurrentlyEnabled,
    fwd_policy_get_LocalPolicyModifyState,
};

HRESULT fwd_policy_create(REFIID riid, void **out)
{
    fwd_policy_obj *o = calloc(1, sizeof(*o));
    HRESULT hr;

    if (o == NULL)
        return E_OUTOFMEMORY;
    o->iface.lpVtbl = &fwd_policy_vtbl;
    o->refs = 1;
    hr = fwd_rules_create(&o->rules);
    if (FAILED(hr)) {
        free(o);
        return hr;
    }
    fwd_module_add();
    hr = fwd_policy_qi(&o->iface, riid, out);
    fwd_policy_release(&o->iface);
    return hr;
}
