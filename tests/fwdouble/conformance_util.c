/* Helpers of the firewall conformance suite (see conformance_util.h). */
#include "conformance_util.h"
#include "fwdouble_control.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

INetFwPolicy2 *conf_policy;
INetFwRules *conf_rules;
BOOL conf_on_double;

#define CONF_MAX_KEPT 256
static BSTR g_kept[CONF_MAX_KEPT];
static size_t g_kept_count;

void conf_check_hr_(HRESULT got, HRESULT want, const char *expr, const char *file, int line)
{
    if (got == want)
        return;
    print_error("%s: got 0x%08lX, expected 0x%08lX\n", expr, (unsigned long)got,
                (unsigned long)want);
    _fail(file, line);
}

void conf_check_wstr_(const wchar_t *got, const wchar_t *want, const char *expr, const char *file,
                      int line)
{
    if (got == NULL && want == NULL)
        return;
    if (got != NULL && want != NULL && wcscmp(got, want) == 0)
        return;
    print_error("%s: got \"%ls\", expected \"%ls\"\n", expr, got ? got : L"(null)",
                want ? want : L"(null)");
    _fail(file, line);
}

BSTR conf_keep(BSTR b)
{
    if (b != NULL) {
        assert_true(g_kept_count < CONF_MAX_KEPT);
        g_kept[g_kept_count++] = b;
    }
    return b;
}

const wchar_t *conf_name(const wchar_t *tag)
{
    static wchar_t bufs[8][128];
    static unsigned next;
    wchar_t *b = bufs[next++ % 8];

    _snwprintf(b, 127, L"%ls-%lu-%ls", CONF_GROUP, GetCurrentProcessId(), tag);
    b[127] = L'\0';
    return b;
}

int conf_setup(void **state)
{
    HRESULT hr;

    (void)state;
    hr = CoInitializeEx(NULL, COINIT_MULTITHREADED);
    if (FAILED(hr))
        return -1;
    hr = CoCreateInstance(&CLSID_NetFwPolicy2, NULL, CLSCTX_INPROC_SERVER, &IID_INetFwPolicy2,
                          (void **)&conf_policy);
    if (FAILED(hr)) {
        print_error("CoCreateInstance(CLSID_NetFwPolicy2): 0x%08lX\n", (unsigned long)hr);
        CoUninitialize();
        return -1;
    }
    hr = INetFwPolicy2_get_Rules(conf_policy, &conf_rules);
    if (FAILED(hr)) {
        INetFwPolicy2_Release(conf_policy);
        conf_policy = NULL;
        CoUninitialize();
        return -1;
    }
    return 0;
}

static void conf_release_all(void)
{
    size_t i;

    if (conf_rules != NULL) {
        INetFwRules_Release(conf_rules);
        conf_rules = NULL;
    }
    if (conf_policy != NULL) {
        INetFwPolicy2_Release(conf_policy);
        conf_policy = NULL;
    }
    for (i = 0; i < g_kept_count; i++)
        SysFreeString(g_kept[i]);
    g_kept_count = 0;
    CoUninitialize();
}

void conf_reopen(void)
{
    conf_release_all();
    assert_int_equal(conf_setup(NULL), 0);
}

int conf_teardown(void **state)
{
    (void)state;
    if (conf_on_double)
        fwdc_faults_clear();
    if (conf_rules != NULL)
        conf_remove_group();
    conf_release_all();
    return 0;
}

#define CONF_PUT_STR(fn, Prop)                                                                     \
    HRESULT fn(INetFwRule *r, const wchar_t *s)                                                    \
    {                                                                                              \
        BSTR b = s ? SysAllocString(s) : NULL;                                                     \
        HRESULT hr = INetFwRule_put_##Prop(r, b);                                                  \
        SysFreeString(b);                                                                          \
        return hr;                                                                                 \
    }

CONF_PUT_STR(conf_put_name, Name)
CONF_PUT_STR(conf_put_description, Description)
CONF_PUT_STR(conf_put_app, ApplicationName)
CONF_PUT_STR(conf_put_lports, LocalPorts)
CONF_PUT_STR(conf_put_rports, RemotePorts)
CONF_PUT_STR(conf_put_laddrs, LocalAddresses)
CONF_PUT_STR(conf_put_grouping, Grouping)
CONF_PUT_STR(conf_put_iftypes, InterfaceTypes)
CONF_PUT_STR(conf_put_icmp, IcmpTypesAndCodes)

#define CONF_GET_STR(fn, Prop)                                                                     \
    BSTR fn(INetFwRule *r)                                                                         \
    {                                                                                              \
        BSTR b = NULL;                                                                             \
        check_hr(INetFwRule_get_##Prop(r, &b), S_OK);                                              \
        return conf_keep(b);                                                                       \
    }

CONF_GET_STR(conf_get_name, Name)
CONF_GET_STR(conf_get_description, Description)
CONF_GET_STR(conf_get_lports, LocalPorts)

HRESULT conf_remove(const wchar_t *name)
{
    BSTR b = SysAllocString(name);
    HRESULT hr = INetFwRules_Remove(conf_rules, b);

    SysFreeString(b);
    return hr;
}

INetFwRule *conf_new_rule(const wchar_t *name)
{
    INetFwRule *r = NULL;

    check_hr(CoCreateInstance(&CLSID_NetFwRule, NULL, CLSCTX_INPROC_SERVER, &IID_INetFwRule,
                              (void **)&r),
             S_OK);
    if (name != NULL)
        check_hr(conf_put_name(r, name), S_OK);
    check_hr(conf_put_grouping(r, CONF_GROUP), S_OK);
    return r;
}

void conf_add_rule(const wchar_t *name, const wchar_t *description)
{
    INetFwRule *r = conf_new_rule(name);

    check_hr(INetFwRule_put_Protocol(r, NET_FW_IP_PROTOCOL_TCP), S_OK);
    check_hr(conf_put_lports(r, L"49152"), S_OK);
    if (description)
        check_hr(conf_put_description(r, description), S_OK);
    check_hr(INetFwRules_Add(conf_rules, r), S_OK);
    INetFwRule_Release(r);
}

LONG conf_count(void)
{
    LONG n = -1;

    check_hr(INetFwRules_get_Count(conf_rules, &n), S_OK);
    return n;
}

INetFwRule *conf_item(const wchar_t *name)
{
    INetFwRule *r = (INetFwRule *)(uintptr_t)1;
    BSTR b = SysAllocString(name);
    HRESULT hr = INetFwRules_Item(conf_rules, b, &r);

    SysFreeString(b);
    if (hr == CONF_E_NOT_FOUND) {
        assert_null(r);
        return NULL;
    }
    check_hr(hr, S_OK);
    assert_non_null(r);
    return r;
}

/* Collects the names in CONF_GROUP first, then removes them: removing while enumerating is not
 * something the API promises to support. */
void conf_remove_group(void)
{
    IUnknown *unk = NULL;
    IEnumVARIANT *e = NULL;
    BSTR names[512];
    size_t n = 0, i;
    VARIANT v;

    if (FAILED(INetFwRules_get__NewEnum(conf_rules, &unk)))
        return;
    if (FAILED(IUnknown_QueryInterface(unk, &IID_IEnumVARIANT, (void **)&e))) {
        IUnknown_Release(unk);
        return;
    }
    VariantInit(&v);
    while (n < 512 && IEnumVARIANT_Next(e, 1, &v, NULL) == S_OK) {
        INetFwRule *r = NULL;
        BSTR g = NULL, name = NULL;
        if (V_VT(&v) == VT_DISPATCH &&
            SUCCEEDED(IDispatch_QueryInterface(V_DISPATCH(&v), &IID_INetFwRule, (void **)&r))) {
            if (SUCCEEDED(INetFwRule_get_Grouping(r, &g)) && g && wcscmp(g, CONF_GROUP) == 0 &&
                SUCCEEDED(INetFwRule_get_Name(r, &name)) && name) {
                names[n++] = name;
                name = NULL;
            }
            SysFreeString(g);
            SysFreeString(name);
            INetFwRule_Release(r);
        }
        VariantClear(&v);
    }
    IEnumVARIANT_Release(e);
    IUnknown_Release(unk);
    for (i = 0; i < n; i++) {
        INetFwRules_Remove(conf_rules, names[i]);
        SysFreeString(names[i]);
    }
}

DWORD conf_run_tool(const wchar_t *exe_and_args, char *out, size_t out_size)
{
    wchar_t dir[MAX_PATH], cmd[MAX_PATH * 2];
    SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, TRUE};
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    HANDLE rd = NULL, wr = NULL;
    DWORD code = (DWORD)-1, got;
    size_t used = 0;
    wchar_t *slash;

    out[0] = '\0';
    GetModuleFileNameW(NULL, dir, MAX_PATH);
    slash = wcsrchr(dir, L'\\');
    if (slash)
        *slash = L'\0';
    _snwprintf(cmd, MAX_PATH * 2 - 1, L"\"%ls\\%ls", dir, exe_and_args);
    cmd[MAX_PATH * 2 - 1] = L'\0';
    /* Close the quote after the program name: "dir\prog.exe" args */
    slash = wcschr(cmd + 1, L' ');
    if (slash) {
        memmove(slash + 1, slash, (wcslen(slash) + 1) * sizeof(wchar_t));
        *slash = L'"';
    } else {
        wcscat(cmd, L"\"");
    }
    if (!CreatePipe(&rd, &wr, &sa, 0))
        return code;
    SetHandleInformation(rd, HANDLE_FLAG_INHERIT, 0);
    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdOutput = wr;
    si.hStdError = wr;
    si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    if (!CreateProcessW(NULL, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi)) {
        CloseHandle(rd);
        CloseHandle(wr);
        return code;
    }
    CloseHandle(wr);
    while (used + 1 < out_size &&
           ReadFile(rd, out + used, (DWORD)(out_size - used - 1), &got, NULL) && got > 0)
        used += got;
    out[used] = '\0';
    WaitForSingleObject(pi.hProcess, 60000);
    GetExitCodeProcess(pi.hProcess, &code);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
    CloseHandle(rd);
    return code;
}
