/* fwdouble.dll entry points: DllMain, class factories, DllGetClassObject, DllCanUnloadNow. */
#include "fwd_com.h"

#include <stdio.h>

CRITICAL_SECTION fwd_obj_lock;
static LONG g_module_refs;

void fwd_module_add(void)
{
    InterlockedIncrement(&g_module_refs);
}

void fwd_module_release(void)
{
    InterlockedDecrement(&g_module_refs);
}

HRESULT fwd_call(fwd_op op, const char *method)
{
    fwd_faults f;
    HRESULT hr;

    /* Calls that can be failed by a fail_<op> key see hand edits of the faults file at once. */
    fwd_faults_current(&f, op != FWD_OP_NONE);
    if (f.latency_ms > 0)
        Sleep(f.latency_ms > 600000 ? 600000 : f.latency_ms);
    if (op == FWD_OP_NONE || f.fail_count[op] == 0)
        return S_OK;
    hr = fwd_faults_take(op);
    if (FAILED(hr))
        fwd_log("%s: injected 0x%08lX", method, (unsigned long)hr);
    return hr;
}

typedef struct fwd_factory {
    IClassFactory iface;
    HRESULT (*create)(REFIID riid, void **out);
} fwd_factory;

static fwd_factory *fwd_factory_from(IClassFactory *iface)
{
    return CONTAINING_RECORD(iface, fwd_factory, iface);
}

static HRESULT STDMETHODCALLTYPE fwd_factory_qi(IClassFactory *iface, REFIID riid, void **out)
{
    if (out == NULL)
        return E_POINTER;
    *out = NULL;
    if (!IsEqualIID(riid, &IID_IUnknown) && !IsEqualIID(riid, &IID_IClassFactory))
        return E_NOINTERFACE;
    *out = iface;
    IClassFactory_AddRef(iface);
    return S_OK;
}

/* The factories are static; their references only keep the module loaded. */
static ULONG STDMETHODCALLTYPE fwd_factory_addref(IClassFactory *iface)
{
    (void)iface;
    fwd_module_add();
    return 2;
}

static ULONG STDMETHODCALLTYPE fwd_factory_release(IClassFactory *iface)
{
    (void)iface;
    fwd_module_release();
    return 1;
}

static HRESULT STDMETHODCALLTYPE fwd_factory_create(IClassFactory *iface, IUnknown *outer,
                                                    REFIID riid, void **out)
{
    HRESULT hr;

    if (out == NULL)
        return E_POINTER;
    *out = NULL;
    if (outer != NULL)
        return CLASS_E_NOAGGREGATION;
    hr = fwd_call(FWD_OP_CREATE, "CreateInstance");
    if (FAILED(hr))
        return hr;
    return fwd_factory_from(iface)->create(riid, out);
}

static HRESULT STDMETHODCALLTYPE fwd_factory_lock(IClassFactory *iface, BOOL lock)
{
    (void)iface;
    if (lock)
        fwd_module_add();
    else
        fwd_module_release();
    return S_OK;
}

static const IClassFactoryVtbl fwd_factory_vtbl = {
    fwd_factory_qi, fwd_factory_addref, fwd_factory_release, fwd_factory_create, fwd_factory_lock,
};

static fwd_factory g_policy_factory = {{&fwd_factory_vtbl}, fwd_policy_create};
static fwd_factory g_rule_factory = {{&fwd_factory_vtbl}, fwd_rule_create};

HRESULT STDAPICALLTYPE DllGetClassObject(REFCLSID clsid, REFIID riid, void **out);
HRESULT STDAPICALLTYPE DllCanUnloadNow(void);

HRESULT STDAPICALLTYPE DllGetClassObject(REFCLSID clsid, REFIID riid, void **out)
{
    fwd_factory *f;

    if (out == NULL)
        return E_POINTER;
    *out = NULL;
    if (IsEqualCLSID(clsid, &CLSID_NetFwPolicy2))
        f = &g_policy_factory;
    else if (IsEqualCLSID(clsid, &CLSID_NetFwRule))
        f = &g_rule_factory;
    else
        return CLASS_E_CLASSNOTAVAILABLE;
    return IClassFactory_QueryInterface(&f->iface, riid, out);
}

HRESULT STDAPICALLTYPE DllCanUnloadNow(void)
{
    return g_module_refs == 0 ? S_OK : S_FALSE;
}

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved);

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
    (void)reserved;
    if (reason == DLL_PROCESS_ATTACH) {
        DisableThreadLibraryCalls(inst);
        InitializeCriticalSection(&fwd_obj_lock);
    } else if (reason == DLL_PROCESS_DETACH && reserved == NULL) {
        DeleteCriticalSection(&fwd_obj_lock);
    }
    return TRUE;
}
