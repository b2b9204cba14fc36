/*
 * Conformance tests of the double itself: the store file, cross-process visibility, fwdump and
 * every fault key. Each skips unless CLSID_NetFwPolicy2 is served by fwdouble.dll.
 */
#include "conformance_util.h"
#include "conformance_double.h"
#include "fwdouble_control.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define HR_DENIED ((HRESULT)0x80070005)

static void expect_fault_value(const char *key, const char *want)
{
    char buf[64];

    check_hr(fwdc_fault_get(key, buf, sizeof(buf)), S_OK);
    assert_string_equal(buf, want);
}

/* The whole file at path (NUL-terminated copy; *len without the NUL). */
static char *read_whole_file(const wchar_t *path, size_t *len)
{
    HANDLE h =
        CreateFileW(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                    NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    LARGE_INTEGER size;
    DWORD n = 0;
    char *buf;

    assert_true(h != INVALID_HANDLE_VALUE);
    assert_true(GetFileSizeEx(h, &size));
    assert_true(size.QuadPart < 64 * 1024 * 1024);
    buf = malloc((size_t)size.QuadPart + 1);
    assert_non_null(buf);
    assert_true(ReadFile(h, buf, (DWORD)size.QuadPart, &n, NULL));
    CloseHandle(h);
    assert_int_equal(n, (DWORD)size.QuadPart);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static void append_to_file(const wchar_t *path, const char *text)
{
    HANDLE h = CreateFileW(path, FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                           OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    DWORD n = 0;

    assert_true(h != INVALID_HANDLE_VALUE);
    assert_true(WriteFile(h, text, (DWORD)strlen(text), &n, NULL));
    CloseHandle(h);
}

void test_double_store_file(void **state)
{
    const wchar_t *name = conf_name(L"stored");
    wchar_t path[1024];
    fwdc_rule *rules = NULL;
    const fwdc_rule *r;
    size_t n = 0;

    (void)state;
    CONF_DOUBLE_ONLY();
    conf_add_rule(name, L"in the file");
    check_hr(fwdc_store_path(path, 1024), S_OK);
    assert_true(GetFileAttributesW(path) != INVALID_FILE_ATTRIBUTES);
    check_hr(fwdc_store_read_group(CONF_GROUP, &rules, &n), S_OK);
    r = fwdc_rules_find(rules, n, name);
    assert_non_null(r);
    check_wstr(r->description, L"in the file");
    assert_int_equal(r->protocol, 6);
    check_wstr(r->local_ports, L"49152");
    check_wstr(r->local_addresses, L"*");
    assert_int_equal(r->enabled, 0);
    assert_int_equal(fwdc_store_count_named(name), 1);
    fwdc_rules_free(rules, n);
}

void test_double_store_escaping(void **state)
{
    const wchar_t *name = conf_name(L"escape");
    const wchar_t *desc = L"tab\there\r\nnew line 100% \x00e9\x4e2d=x";
    fwdc_rule *rules = NULL;
    const fwdc_rule *r;
    size_t n = 0;

    (void)state;
    CONF_DOUBLE_ONLY();
    conf_add_rule(name, desc);
    /* The control library has its own cache, so this parses the file. */
    check_hr(fwdc_store_read(&rules, &n), S_OK);
    r = fwdc_rules_find(rules, n, name);
    assert_non_null(r);
    check_wstr(r->description, desc);
    fwdc_rules_free(rules, n);
}

void test_double_external_changes_visible(void **state)
{
    fwdc_rule seed;
    wchar_t name[128], group[] = CONF_GROUP;
    INetFwRule *r;

    (void)state;
    CONF_DOUBLE_ONLY();
    memset(&seed, 0, sizeof(seed));
    wcscpy(name, conf_name(L"seeded"));
    seed.name = name;
    seed.grouping = group;
    seed.protocol = 256;
    seed.direction = 1;
    seed.profiles = 0x7FFFFFFF;
    seed.action = 1;
    seed.edge_traversal_options = 2;
    check_hr(fwdc_store_add(&seed, 1), S_OK);
    r = conf_item(name);
    assert_non_null(r);
    INetFwRule_Release(r);
    check_hr(fwdc_store_reset(), S_OK);
    assert_int_equal(conf_count(), 0);
}

void test_double_fwdump_cross_process(void **state)
{
    char out[8192];

    (void)state;
    CONF_DOUBLE_ONLY();
    conf_add_rule(conf_name(L"dump1"), NULL);
    conf_add_rule(conf_name(L"dump2"), NULL);
    assert_int_equal(conf_run_tool(L"fwdump.exe --count --group " CONF_GROUP, out, sizeof(out)), 0);
    assert_int_equal(atoi(out), 2);
    assert_int_equal(conf_run_tool(L"fwdump.exe --group " CONF_GROUP, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "-dump1\tgroup=EdgeBrokerConformance\tdisabled\tin\tproto=6"));
    assert_non_null(strstr(out, "-dump2"));
    /* Another process empties the store; this process's double sees it. */
    assert_int_equal(conf_run_tool(L"fwdump.exe --reset", out, sizeof(out)), 0);
    assert_int_equal(conf_count(), 0);
    assert_int_equal(conf_run_tool(L"fwdump.exe --bogus", out, sizeof(out)), 2);
}

void test_double_fail_counters(void **state)
{
    const wchar_t *name = conf_name(L"faults");
    INetFwRule *r = conf_new_rule(conf_name(L"faults-new")), *item = NULL;
    IUnknown *unk = NULL;
    BSTR b = SysAllocString(name);

    (void)state;
    CONF_DOUBLE_ONLY();
    conf_add_rule(name, NULL);

    check_hr(fwdc_fault_fail_next("add", 1, HR_DENIED), S_OK);
    check_hr(INetFwRules_Add(conf_rules, r), HR_DENIED);
    expect_fault_value("fail_add", "0:0x80070005");
    check_hr(INetFwRules_Add(conf_rules, r), S_OK);

    check_hr(fwdc_fault_fail_next("item", 1, E_OUTOFMEMORY), S_OK);
    check_hr(INetFwRules_Item(conf_rules, b, &item), E_OUTOFMEMORY);
    assert_null(item);
    check_hr(INetFwRules_Item(conf_rules, b, &item), S_OK);

    check_hr(fwdc_fault_fail_next("put", 1, HR_DENIED), S_OK);
    check_hr(INetFwRule_put_Enabled(item, VARIANT_TRUE), HR_DENIED);
    check_hr(INetFwRule_put_Enabled(item, VARIANT_TRUE), S_OK);
    INetFwRule_Release(item);

    check_hr(fwdc_fault_fail_next("enum", 1, E_FAIL), S_OK);
    check_hr(INetFwRules_get__NewEnum(conf_rules, &unk), E_FAIL);
    assert_null(unk);
    check_hr(INetFwRules_get__NewEnum(conf_rules, &unk), S_OK);
    IUnknown_Release(unk);

    check_hr(fwdc_fault_fail_next("remove", 1, HR_DENIED), S_OK);
    check_hr(INetFwRules_Remove(conf_rules, b), HR_DENIED);
    assert_int_equal(fwdc_store_count_named(name), 1);
    check_hr(INetFwRules_Remove(conf_rules, b), S_OK);
    assert_int_equal(fwdc_store_count_named(name), 0);

    check_hr(fwdc_fault_fail_next("bogus", 1, E_FAIL), E_INVALIDARG);
    SysFreeString(b);
    INetFwRule_Release(r);
}

void test_double_fail_counter_counts_down(void **state)
{
    LONG before;

    (void)state;
    CONF_DOUBLE_ONLY();
    before = conf_count();
    check_hr(fwdc_fault_fail_next("add", 2, HR_DENIED), S_OK);
    {
        INetFwRule *r = conf_new_rule(conf_name(L"countdown"));
        check_hr(INetFwRules_Add(conf_rules, r), HR_DENIED);
        expect_fault_value("fail_add", "1:0x80070005");
        check_hr(INetFwRules_Add(conf_rules, r), HR_DENIED);
        check_hr(INetFwRules_Add(conf_rules, r), S_OK);
        INetFwRule_Release(r);
    }
    assert_int_equal(conf_count(), before + 1);
}

void test_double_fail_create(void **state)
{
    INetFwRule *r = NULL;

    (void)state;
    CONF_DOUBLE_ONLY();
    check_hr(fwdc_fault_fail_next("create", 1, HR_DENIED), S_OK);
    check_hr(CoCreateInstance(&CLSID_NetFwRule, NULL, CLSCTX_INPROC_SERVER, &IID_INetFwRule,
                              (void **)&r),
             HR_DENIED);
    assert_null(r);
    check_hr(CoCreateInstance(&CLSID_NetFwRule, NULL, CLSCTX_INPROC_SERVER, &IID_INetFwRule,
                              (void **)&r),
             S_OK);
    INetFwRule_Release(r);
}

void test_double_faults_file_by_hand(void **state)
{
    static const char text[] = "# written by hand\r\n  fail_item = 1:0x8007000E  \r\nlog=1\r\n";
    wchar_t path[1100];
    INetFwRule *r = NULL;
    BSTR b = SysAllocString(L"whatever");
    HANDLE h;
    DWORD n;

    (void)state;
    CONF_DOUBLE_ONLY();
    check_hr(fwdc_store_path(path, 1024), S_OK);
    wcscat(path, L".faults");
    h = CreateFileW(path, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    assert_true(h != INVALID_HANDLE_VALUE);
    assert_true(WriteFile(h, text, (DWORD)strlen(text), &n, NULL));
    CloseHandle(h);
    check_hr(INetFwRules_Item(conf_rules, b, &r), E_OUTOFMEMORY);
    check_hr(INetFwRules_Item(conf_rules, b, &r), CONF_E_NOT_FOUND);
    /* log=1 wrote a call log next to the store. */
    check_hr(fwdc_store_path(path, 1024), S_OK);
    wcscat(path, L".log");
    assert_true(GetFileAttributesW(path) != INVALID_FILE_ATTRIBUTES);
    SysFreeString(b);
}

void test_double_latency(void **state)
{
    ULONGLONG t0;

    (void)state;
    CONF_DOUBLE_ONLY();
    /* The injected delay is the behaviour under test, so it is measured; the margin between a
     * call that sleeps a second and one that does not is wide enough for a loaded machine. */
    check_hr(fwdc_fault_set("latency_ms", "1000"), S_OK);
    t0 = GetTickCount64();
    conf_count();
    assert_true(GetTickCount64() - t0 >= 950);
    check_hr(fwdc_fault_set("latency_ms", NULL), S_OK);
    t0 = GetTickCount64();
    conf_count();
    assert_true(GetTickCount64() - t0 < 950);
}

void test_double_profiles_faults(void **state)
{
    VARIANT_BOOL vb = VARIANT_FALSE;
    LONG cur = 0;

    (void)state;
    CONF_DOUBLE_ONLY();
    check_hr(INetFwPolicy2_get_FirewallEnabled(conf_policy, NET_FW_PROFILE2_PUBLIC, &vb), S_OK);
    assert_int_equal(vb, VARIANT_TRUE);
    check_hr(fwdc_fault_set("firewall_off", "0x4"), S_OK);
    check_hr(fwdc_fault_set("current_profiles", "5"), S_OK);
    check_hr(INetFwPolicy2_get_FirewallEnabled(conf_policy, NET_FW_PROFILE2_PUBLIC, &vb), S_OK);
    assert_int_equal(vb, VARIANT_FALSE);
    check_hr(INetFwPolicy2_get_FirewallEnabled(conf_policy, NET_FW_PROFILE2_PRIVATE, &vb), S_OK);
    assert_int_equal(vb, VARIANT_TRUE);
    check_hr(INetFwPolicy2_get_CurrentProfileTypes(conf_policy, &cur), S_OK);
    assert_int_equal(cur, 5);
}

void test_double_no_rule2_no_rule3(void **state)
{
    INetFwRule *r = conf_new_rule(NULL);
    INetFwRule2 *r2 = NULL;
    INetFwRule3 *r3 = NULL;

    (void)state;
    CONF_DOUBLE_ONLY();
    check_hr(fwdc_fault_set("no_rule3", "1"), S_OK);
    check_hr(INetFwRule_QueryInterface(r, &IID_INetFwRule3, (void **)&r3), E_NOINTERFACE);
    check_hr(INetFwRule_QueryInterface(r, &IID_INetFwRule2, (void **)&r2), S_OK);
    INetFwRule2_Release(r2);
    check_hr(CoCreateInstance(&CLSID_NetFwRule, NULL, CLSCTX_INPROC_SERVER, &IID_INetFwRule3,
                              (void **)&r3),
             E_NOINTERFACE);
    check_hr(fwdc_fault_set("no_rule2", "1"), S_OK);
    check_hr(INetFwRule_QueryInterface(r, &IID_INetFwRule2, (void **)&r2), E_NOINTERFACE);
    check_hr(fwdc_faults_clear(), S_OK);
    check_hr(INetFwRule_QueryInterface(r, &IID_INetFwRule3, (void **)&r3), S_OK);
    INetFwRule3_Release(r3);
    INetFwRule_Release(r);
}

void test_double_firewall_enabled_persists(void **state)
{
    VARIANT_BOOL vb = VARIANT_TRUE;

    (void)state;
    CONF_DOUBLE_ONLY();
    check_hr(INetFwPolicy2_put_FirewallEnabled(conf_policy, NET_FW_PROFILE2_DOMAIN, VARIANT_FALSE),
             S_OK);
    conf_reopen();
    check_hr(INetFwPolicy2_get_FirewallEnabled(conf_policy, NET_FW_PROFILE2_DOMAIN, &vb), S_OK);
    assert_int_equal(vb, VARIANT_FALSE);
    check_hr(INetFwPolicy2_put_FirewallEnabled(conf_policy, NET_FW_PROFILE2_DOMAIN, VARIANT_TRUE),
             S_OK);
    check_hr(INetFwPolicy2_get_FirewallEnabled(conf_policy, NET_FW_PROFILE2_DOMAIN, &vb), S_OK);
    assert_int_equal(vb, VARIANT_TRUE);
}

void test_double_put_on_removed_rule(void **state)
{
    const wchar_t *name = conf_name(L"gone");
    INetFwRule *r;

    (void)state;
    CONF_DOUBLE_ONLY();
    conf_add_rule(name, NULL);
    r = conf_item(name);
    check_hr(conf_remove(name), S_OK);
    check_hr(INetFwRule_put_Enabled(r, VARIANT_TRUE), CONF_E_NOT_FOUND);
    /* A removed rule object can be added again, as a new rule. */
    check_hr(INetFwRules_Add(conf_rules, r), S_OK);
    assert_int_equal(fwdc_store_count_named(name), 1);
    INetFwRule_Release(r);
}

/* The properties service/firewall_rule.c reads from each listed rule. */
static void read_like_backend(INetFwRule *r)
{
    BSTR b = NULL;
    LONG l = 0;
    NET_FW_RULE_DIRECTION dir;
    NET_FW_ACTION action;
    VARIANT_BOOL vb;
    INetFwRule3 *r3 = NULL;

    check_hr(INetFwRule_get_Grouping(r, &b), S_OK);
    SysFreeString(b);
    check_hr(INetFwRule_get_ApplicationName(r, &b), S_OK);
    SysFreeString(b);
    check_hr(INetFwRule_get_Protocol(r, &l), S_OK);
    check_hr(INetFwRule_get_LocalPorts(r, &b), S_OK);
    SysFreeString(b);
    check_hr(INetFwRule_get_Direction(r, &dir), S_OK);
    check_hr(INetFwRule_get_Action(r, &action), S_OK);
    check_hr(INetFwRule_get_Enabled(r, &vb), S_OK);
    check_hr(INetFwRule_get_Profiles(r, &l), S_OK);
    check_hr(INetFwRule_QueryInterface(r, &IID_INetFwRule3, (void **)&r3), S_OK);
    check_hr(INetFwRule3_get_EdgeTraversalOptions(r3, &l), S_OK);
    check_hr(INetFwRule3_get_LocalUserOwner(r3, &b), S_OK);
    SysFreeString(b);
    INetFwRule3_Release(r3);
}

void test_double_listing_10000(void **state)
{
    enum { N = 10000 };
    fwdc_rule *seed = calloc(N, sizeof(fwdc_rule));
    wchar_t(*names)[48] = calloc(N, sizeof(*names));
    wchar_t group[] = L"EdgeBrokerConformanceBulk";
    IUnknown *unk = NULL;
    IEnumVARIANT *e = NULL;
    VARIANT v[100];
    ULONG got = 0, i;
    LONG seen = 0;
    ULONGLONG t0;
    INetFwRule *last;

    (void)state;
    CONF_DOUBLE_ONLY();
    assert_non_null(seed);
    assert_non_null(names);
    for (i = 0; i < N; i++) {
        _snwprintf(names[i], 47, L"bulk-%05lu", i);
        seed[i].name = names[i];
        seed[i].grouping = group;
        seed[i].protocol = 17;
        seed[i].direction = 1;
        seed[i].profiles = 0x7FFFFFFF;
        seed[i].action = 1;
    }
    check_hr(fwdc_store_add(seed, N), S_OK);
    t0 = GetTickCount64();
    assert_true(conf_count() >= N);
    check_hr(INetFwRules_get__NewEnum(conf_rules, &unk), S_OK);
    check_hr(IUnknown_QueryInterface(unk, &IID_IEnumVARIANT, (void **)&e), S_OK);
    for (;;) {
        HRESULT hr = IEnumVARIANT_Next(e, 100, v, &got);
        for (i = 0; i < got; i++) {
            INetFwRule *r = (INetFwRule *)V_DISPATCH(&v[i]);
            BSTR name = NULL;
            check_hr(INetFwRule_get_Name(r, &name), S_OK);
            seen += name != NULL;
            SysFreeString(name);
            read_like_backend(r);
            VariantClear(&v[i]);
        }
        if (hr != S_OK)
            break;
    }
    last = conf_item(L"bulk-09999");
    assert_non_null(last);
    INetFwRule_Release(last);
    print_message("listed %ld rules (12 properties each) in %llu ms\n", seen,
                  GetTickCount64() - t0);
    /* Correctness only: the time is printed for docs/performance.md and measured by make bench;
     * tests never assert timings. */
    assert_true(seen >= N);
    IEnumVARIANT_Release(e);
    IUnknown_Release(unk);
    check_hr(fwdc_store_reset(), S_OK);
    free(names);
    free(seed);
}

void test_double_add_appends_to_store(void **state)
{
    wchar_t path[1024];
    char *before, *after;
    size_t before_len = 0, after_len = 0;

    (void)state;
    CONF_DOUBLE_ONLY();
    conf_add_rule(conf_name(L"append1"), NULL);
    check_hr(fwdc_store_path(path, 1024), S_OK);
    before = read_whole_file(path, &before_len);
    conf_add_rule(conf_name(L"append2"), L"second");
    after = read_whole_file(path, &after_len);
    /* Add wrote one line after the existing bytes and left them untouched (no rewrite). */
    assert_true(after_len > before_len);
    assert_memory_equal(after, before, before_len);
    assert_non_null(strstr(after + before_len, "-append2\t"));
    assert_ptr_equal(strchr(after + before_len, '\n'), after + after_len - 1);
    assert_int_equal(fwdc_store_count_named(conf_name(L"append2")), 1);
    free(after);
    free(before);
}

void test_double_torn_append_ignored(void **state)
{
    const wchar_t *kept = conf_name(L"kept");
    wchar_t path[1024];
    char *text;
    size_t len = 0;
    LONG count;
    INetFwRule *r;

    (void)state;
    CONF_DOUBLE_ONLY();
    conf_add_rule(kept, NULL);
    count = conf_count();
    /* What a writer killed in the middle of an append leaves: a line without its newline. */
    check_hr(fwdc_store_path(path, 1024), S_OK);
    append_to_file(path, "rule\tid=999999\tname=EdgeBrokerConformance-torn\tgrouping=Edge");
    assert_int_equal(conf_count(), count);
    assert_null(conf_item(L"EdgeBrokerConformance-torn"));
    /* The next Add must not glue its line to the torn one: the store is rewritten whole. */
    conf_add_rule(conf_name(L"afterwards"), NULL);
    assert_int_equal(conf_count(), count + 1);
    r = conf_item(kept);
    assert_non_null(r);
    INetFwRule_Release(r);
    text = read_whole_file(path, &len);
    assert_null(strstr(text, "-torn"));
    assert_true(len >= 2 && text[len - 1] == '\n');
    free(text);
}

void test_double_faults_hand_edit_reaches_getters(void **state)
{
    static const char text[] = "latency_ms=1000\r\n";
    INetFwRule *r = conf_new_rule(conf_name(L"getter"));
    wchar_t path[1100];
    ULONGLONG t0;
    BSTR b = NULL;
    HANDLE h;
    DWORD n;

    (void)state;
    CONF_DOUBLE_ONLY();
    check_hr(fwdc_store_path(path, 1024), S_OK);
    wcscat(path, L".faults");
    h = CreateFileW(path, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    assert_true(h != INVALID_HANDLE_VALUE);
    assert_true(WriteFile(h, text, (DWORD)strlen(text), &n, NULL));
    CloseHandle(h);
    /* Property getters look at the file itself at most every 50 ms (docs/testing.md). */
    Sleep(120);
    t0 = GetTickCount64();
    check_hr(INetFwRule_get_Name(r, &b), S_OK);
    assert_true(GetTickCount64() - t0 >= 950); /* the hand-edited 1 s delay was applied */
    SysFreeString(b);
    /* An edit through the control library is seen by the very next getter. */
    check_hr(fwdc_fault_set("latency_ms", NULL), S_OK);
    t0 = GetTickCount64();
    check_hr(INetFwRule_get_Name(r, &b), S_OK);
    assert_true(GetTickCount64() - t0 < 950); /* ...and its removal: no second-long sleep */
    SysFreeString(b);
    INetFwRule_Release(r);
}
