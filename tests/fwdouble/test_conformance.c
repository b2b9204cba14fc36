/*
 * Windows Firewall COM conformance suite. Written as an application uses the API (CoCreateInstance
 * of CLSID_NetFwPolicy2 / CLSID_NetFwRule, nothing else), so the same executable checks the double
 * under Wine and real Windows Firewall on a Windows machine (run it elevated there). Rules are only
 * created in group "EdgeBrokerConformance" and removed again. Tests that only make sense against
 * the double (faults, the store file) are in conformance_double.c and skip elsewhere.
 */
#include <windows.h>
#include <initguid.h>
#include "conformance_util.h"
#include "conformance_double.h"
#include "fwdouble_control.h"

#include <sddl.h>
#include <stdio.h>
#include <wchar.h>

#define PROTO_ANY 256

static void test_new_rule_defaults(void **state)
{
    INetFwRule *r = conf_new_rule(NULL);
    INetFwRule2 *r2 = NULL;
    VARIANT_BOOL vb = VARIANT_TRUE;
    NET_FW_RULE_DIRECTION dir = 0;
    NET_FW_ACTION act = 0;
    LONG v = -1;
    BSTR s = NULL;

    (void)state;
    check_hr(INetFwRule_get_Enabled(r, &vb), S_OK);
    assert_int_equal(vb, VARIANT_FALSE);
    check_hr(INetFwRule_get_Direction(r, &dir), S_OK);
    assert_int_equal(dir, NET_FW_RULE_DIR_IN);
    check_hr(INetFwRule_get_Protocol(r, &v), S_OK);
    assert_int_equal(v, PROTO_ANY);
    check_hr(INetFwRule_get_Action(r, &act), S_OK);
    assert_int_equal(act, NET_FW_ACTION_ALLOW);
    check_hr(INetFwRule_get_Profiles(r, &v), S_OK);
    assert_int_equal(v, NET_FW_PROFILE2_ALL);
    check_hr(INetFwRule_get_LocalAddresses(r, &s), S_OK);
    check_wstr(conf_keep(s), L"*");
    check_hr(INetFwRule_get_RemoteAddresses(r, &s), S_OK);
    check_wstr(conf_keep(s), L"*");
    check_hr(INetFwRule_get_EdgeTraversal(r, &vb), S_OK);
    assert_int_equal(vb, VARIANT_FALSE);
    check_wstr(conf_get_description(r), NULL);
    if (SUCCEEDED(INetFwRule_QueryInterface(r, &IID_INetFwRule2, (void **)&r2))) {
        check_hr(INetFwRule2_get_EdgeTraversalOptions(r2, &v), S_OK);
        assert_int_equal(v, 0);
        INetFwRule2_Release(r2);
    }
    INetFwRule_Release(r);
}

static void test_name_and_description_validation(void **state)
{
    INetFwRule *r = conf_new_rule(NULL);

    (void)state;
    check_hr(conf_put_name(r, NULL), E_INVALIDARG);
    check_hr(conf_put_name(r, L""), E_INVALIDARG);
    check_hr(conf_put_name(r, L"a|b"), E_INVALIDARG);
    check_hr(conf_put_name(r, L"all"), E_INVALIDARG);
    check_hr(conf_put_name(r, L"ALL"), E_INVALIDARG);
    check_wstr(conf_get_name(r), NULL);
    check_hr(conf_put_name(r, conf_name(L"valid")), S_OK);
    check_wstr(conf_get_name(r), conf_name(L"valid"));
    check_hr(conf_put_description(r, L"x|y"), E_INVALIDARG);
    check_hr(conf_put_description(r, L"free text, with: punctuation"), S_OK);
    check_wstr(conf_get_description(r), L"free text, with: punctuation");
    INetFwRule_Release(r);
}

static void test_protocol_and_enum_validation(void **state)
{
    INetFwRule *r = conf_new_rule(NULL);
    LONG v = 0;

    (void)state;
    check_hr(INetFwRule_put_Protocol(r, -1), E_INVALIDARG);
    check_hr(INetFwRule_put_Protocol(r, 257), E_INVALIDARG);
    check_hr(INetFwRule_get_Protocol(r, &v), S_OK);
    assert_int_equal(v, PROTO_ANY);
    check_hr(INetFwRule_put_Protocol(r, 0), S_OK);
    check_hr(INetFwRule_put_Protocol(r, 17), S_OK);
    check_hr(INetFwRule_put_Protocol(r, PROTO_ANY), S_OK);
    check_hr(INetFwRule_put_Direction(r, 0), E_INVALIDARG);
    check_hr(INetFwRule_put_Direction(r, 3), E_INVALIDARG);
    check_hr(INetFwRule_put_Direction(r, NET_FW_RULE_DIR_OUT), S_OK);
    check_hr(INetFwRule_put_Action(r, 2), E_INVALIDARG);
    check_hr(INetFwRule_put_Action(r, NET_FW_ACTION_BLOCK), S_OK);
    check_hr(INetFwRule_put_Profiles(r, 0), E_INVALIDARG);
    check_hr(INetFwRule_put_Profiles(r, 8), E_INVALIDARG);
    check_hr(INetFwRule_put_Profiles(r, NET_FW_PROFILE2_PRIVATE | NET_FW_PROFILE2_PUBLIC), S_OK);
    check_hr(INetFwRule_get_Profiles(r, &v), S_OK);
    assert_int_equal(v, NET_FW_PROFILE2_PRIVATE | NET_FW_PROFILE2_PUBLIC);
    check_hr(conf_put_iftypes(r, L"Lan,Wireless"), S_OK);
    check_hr(conf_put_iftypes(r, L"Ethernet"), E_INVALIDARG);
    check_hr(conf_put_laddrs(r, L"LocalSubnet,10.0.0.0/8,192.168.1.1-192.168.1.9,fe80::1"), S_OK);
    check_hr(conf_put_laddrs(r, L"not-an-address"), E_INVALIDARG);
    INetFwRule_Release(r);
}

static void test_ports_need_tcp_or_udp(void **state)
{
    INetFwRule *r = conf_new_rule(NULL);

    (void)state;
    /* Protocol must be set before ports: with "any" or ICMP a port list is rejected. */
    check_hr(conf_put_lports(r, L"80"), E_INVALIDARG);
    check_hr(conf_put_rports(r, L"80"), E_INVALIDARG);
    check_hr(INetFwRule_put_Protocol(r, 1), S_OK);
    check_hr(conf_put_lports(r, L"80"), E_INVALIDARG);
    check_hr(conf_put_icmp(r, L"8:*"), S_OK);
    check_hr(conf_put_icmp(r, L""), S_OK);
    check_hr(INetFwRule_put_Protocol(r, NET_FW_IP_PROTOCOL_TCP), S_OK);
    check_hr(conf_put_icmp(r, L"8:*"), E_INVALIDARG);
    check_hr(conf_put_lports(r, L"80"), S_OK);
    check_hr(conf_put_rports(r, L"1024-65535"), S_OK);
    check_wstr(conf_get_lports(r), L"80");
    /* Changing to a protocol without ports while ports are set fails; clear them first. */
    check_hr(INetFwRule_put_Protocol(r, 1), E_INVALIDARG);
    check_hr(INetFwRule_put_Protocol(r, NET_FW_IP_PROTOCOL_UDP), S_OK);
    check_hr(conf_put_lports(r, NULL), S_OK);
    check_hr(conf_put_rports(r, NULL), S_OK);
    check_hr(INetFwRule_put_Protocol(r, 1), S_OK);
    INetFwRule_Release(r);
}

static void test_port_syntax(void **state)
{
    static const wchar_t *const good[] = {L"80",        L"0",     L"65535",  L"80,443",
                                          L"1000-2000", L"*",     L"RPC",    L"RPC-EPMap",
                                          L"Teredo",    L"5-5,7", L"rpc,80", NULL};
    static const wchar_t *const bad[] = {L"80 ,443",   L" 80",  L"80,", L",80", L"65536",
                                         L"2000-1000", L"abc",  L"80-", L"-80", L"1-2-3",
                                         L"80;443",    L"*,80", NULL};
    INetFwRule *r = conf_new_rule(NULL);
    size_t i;

    (void)state;
    check_hr(INetFwRule_put_Protocol(r, NET_FW_IP_PROTOCOL_UDP), S_OK);
    for (i = 0; good[i]; i++) {
        print_message("local ports \"%ls\"\n", good[i]);
        check_hr(conf_put_lports(r, good[i]), S_OK);
    }
    for (i = 0; bad[i]; i++) {
        print_message("local ports \"%ls\"\n", bad[i]);
        check_hr(conf_put_lports(r, bad[i]), E_INVALIDARG);
    }
    /* Keywords name local endpoints only. */
    check_hr(conf_put_rports(r, L"Teredo"), E_INVALIDARG);
    check_hr(conf_put_rports(r, L"3544"), S_OK);
    INetFwRule_Release(r);
}

static void test_edge_traversal_mapping(void **state)
{
    INetFwRule *r = conf_new_rule(NULL);
    INetFwRule2 *r2 = NULL;
    VARIANT_BOOL vb = VARIANT_FALSE;
    LONG opt = -1;

    (void)state;
    check_hr(INetFwRule_QueryInterface(r, &IID_INetFwRule2, (void **)&r2), S_OK);
    check_hr(INetFwRule_put_EdgeTraversal(r, VARIANT_TRUE), S_OK);
    check_hr(INetFwRule2_get_EdgeTraversalOptions(r2, &opt), S_OK);
    assert_int_equal(opt, 1);
    check_hr(INetFwRule_put_EdgeTraversal(r, VARIANT_FALSE), S_OK);
    check_hr(INetFwRule2_get_EdgeTraversalOptions(r2, &opt), S_OK);
    assert_int_equal(opt, 0);
    check_hr(INetFwRule2_put_EdgeTraversalOptions(r2, 2), S_OK);
    check_hr(INetFwRule_get_EdgeTraversal(r, &vb), S_OK);
    assert_int_equal(vb, VARIANT_TRUE);
    check_hr(INetFwRule2_put_EdgeTraversalOptions(r2, 1), S_OK);
    check_hr(INetFwRule_get_EdgeTraversal(r, &vb), S_OK);
    assert_int_equal(vb, VARIANT_TRUE);
    check_hr(INetFwRule2_put_EdgeTraversalOptions(r2, 0), S_OK);
    check_hr(INetFwRule_get_EdgeTraversal(r, &vb), S_OK);
    assert_int_equal(vb, VARIANT_FALSE);
    check_hr(INetFwRule2_put_EdgeTraversalOptions(r2, 4), E_INVALIDARG);
    check_hr(INetFwRule2_put_EdgeTraversalOptions(r2, -1), E_INVALIDARG);
    INetFwRule2_Release(r2);
    INetFwRule_Release(r);
}

static void test_defer_to_user_requirements(void **state)
{
    INetFwRule *r = conf_new_rule(NULL);
    INetFwRule2 *r2 = NULL;

    (void)state;
    check_hr(INetFwRule_QueryInterface(r, &IID_INetFwRule2, (void **)&r2), S_OK);
    check_hr(INetFwRule2_put_EdgeTraversalOptions(r2, 3), E_INVALIDARG); /* no app */
    check_hr(conf_put_app(r, L"C:\\Program Files\\Example\\app.exe"), S_OK);
    check_hr(INetFwRule2_put_EdgeTraversalOptions(r2, 3), E_INVALIDARG); /* protocol any */
    check_hr(INetFwRule_put_Protocol(r, NET_FW_IP_PROTOCOL_UDP), S_OK);
    check_hr(conf_put_lports(r, L"3544"), S_OK);
    check_hr(INetFwRule2_put_EdgeTraversalOptions(r2, 3), E_INVALIDARG); /* ports */
    check_hr(conf_put_lports(r, NULL), S_OK);
    check_hr(INetFwRule2_put_EdgeTraversalOptions(r2, 3), S_OK);
    check_hr(conf_put_lports(r, L"3544"), E_INVALIDARG);
    check_hr(conf_put_app(r, NULL), E_INVALIDARG);
    check_hr(INetFwRule_put_Protocol(r, PROTO_ANY), E_INVALIDARG);
    INetFwRule2_Release(r2);
    INetFwRule_Release(r);
}

static void test_null_out_params(void **state)
{
    INetFwRule *r = conf_new_rule(NULL);
    IUnknown *unk = NULL;
    BSTR name = SysAllocString(L"x");

    (void)state;
    check_hr(INetFwRules_Item(conf_rules, name, NULL), E_POINTER);
    check_hr(INetFwRules_get_Count(conf_rules, NULL), E_POINTER);
    check_hr(INetFwRules_get__NewEnum(conf_rules, NULL), E_POINTER);
    check_hr(INetFwPolicy2_get_Rules(conf_policy, NULL), E_POINTER);
    check_hr(INetFwPolicy2_get_CurrentProfileTypes(conf_policy, NULL), E_POINTER);
    check_hr(INetFwRule_get_Name(r, NULL), E_POINTER);
    check_hr(INetFwRule_QueryInterface(r, &IID_IUnknown, (void **)&unk), S_OK);
    IUnknown_Release(unk);
    SysFreeString(name);
    INetFwRule_Release(r);
}

static void test_rules_object_identity(void **state)
{
    INetFwRules *again = NULL;
    INetFwRules *via_qi = (INetFwRules *)(uintptr_t)1;

    (void)state;
    check_hr(INetFwPolicy2_get_Rules(conf_policy, &again), S_OK);
    assert_ptr_equal(again, conf_rules);
    INetFwRules_Release(again);
    check_hr(INetFwPolicy2_QueryInterface(conf_policy, &IID_INetFwRules, (void **)&via_qi),
             E_NOINTERFACE);
    assert_null(via_qi);
}

static void test_add_item_roundtrip(void **state)
{
    const wchar_t *name = conf_name(L"roundtrip");
    INetFwRule *r = conf_new_rule(name), *got;
    LONG before = conf_count(), v = 0;
    VARIANT_BOOL vb = VARIANT_FALSE;
    BSTR s = NULL;

    (void)state;
    check_hr(conf_put_description(r, L"lease 42 for S-1-5-21-1"), S_OK);
    check_hr(conf_put_app(r, L"C:\\Apps\\peer.exe"), S_OK);
    check_hr(INetFwRule_put_Protocol(r, NET_FW_IP_PROTOCOL_UDP), S_OK);
    check_hr(conf_put_lports(r, L"3544,50000-50010"), S_OK);
    check_hr(INetFwRule_put_Enabled(r, VARIANT_TRUE), S_OK);
    check_hr(INetFwRule_put_Profiles(r, NET_FW_PROFILE2_PRIVATE), S_OK);
    check_hr(INetFwRule_put_EdgeTraversal(r, VARIANT_TRUE), S_OK);
    check_hr(INetFwRules_Add(conf_rules, r), S_OK);
    INetFwRule_Release(r);
    assert_int_equal(conf_count(), before + 1);

    got = conf_item(name);
    assert_non_null(got);
    check_wstr(conf_get_name(got), name);
    check_wstr(conf_get_description(got), L"lease 42 for S-1-5-21-1");
    check_hr(INetFwRule_get_ApplicationName(got, &s), S_OK);
    check_wstr(conf_keep(s), L"C:\\Apps\\peer.exe");
    check_hr(INetFwRule_get_Protocol(got, &v), S_OK);
    assert_int_equal(v, NET_FW_IP_PROTOCOL_UDP);
    check_wstr(conf_get_lports(got), L"3544,50000-50010");
    check_hr(INetFwRule_get_Enabled(got, &vb), S_OK);
    assert_int_equal(vb, VARIANT_TRUE);
    check_hr(INetFwRule_get_Profiles(got, &v), S_OK);
    assert_int_equal(v, NET_FW_PROFILE2_PRIVATE);
    check_hr(INetFwRule_get_EdgeTraversal(got, &vb), S_OK);
    assert_int_equal(vb, VARIANT_TRUE);
    check_hr(INetFwRule_get_Grouping(got, &s), S_OK);
    check_wstr(conf_keep(s), CONF_GROUP);
    INetFwRule_Release(got);
}

static void test_add_rules(void **state)
{
    INetFwRule *unnamed = conf_new_rule(NULL);
    INetFwRule *r = conf_new_rule(conf_name(L"twice"));
    LONG before = conf_count();

    (void)state;
    check_hr(INetFwRules_Add(conf_rules, NULL), E_POINTER);
    check_hr(INetFwRules_Add(conf_rules, unnamed), E_INVALIDARG); /* Name is required */
    assert_int_equal(conf_count(), before);
    check_hr(INetFwRules_Add(conf_rules, r), S_OK);
    check_hr(INetFwRules_Add(conf_rules, r), E_UNEXPECTED); /* already in the collection */
    assert_int_equal(conf_count(), before + 1);
    INetFwRule_Release(r);
    INetFwRule_Release(unnamed);
}

static void test_duplicates_remove_first_match(void **state)
{
    const wchar_t *name = conf_name(L"dup");
    LONG before = conf_count();
    INetFwRule *r;

    (void)state;
    conf_add_rule(name, L"first");
    conf_add_rule(name, L"second");
    assert_int_equal(conf_count(), before + 2);
    r = conf_item(name);
    check_wstr(conf_get_description(r), L"first");
    INetFwRule_Release(r);
    check_hr(conf_remove(name), S_OK);
    assert_int_equal(conf_count(), before + 1);
    r = conf_item(name);
    assert_non_null(r);
    check_wstr(conf_get_description(r), L"second");
    INetFwRule_Release(r);
    check_hr(conf_remove(name), S_OK);
    assert_null(conf_item(name));
    assert_int_equal(conf_count(), before);
}

static void test_remove_and_item_missing(void **state)
{
    INetFwRule *r = (INetFwRule *)(uintptr_t)1;
    BSTR name = SysAllocString(conf_name(L"never-added"));
    LONG before = conf_count();

    (void)state;
    check_hr(INetFwRules_Remove(conf_rules, name), S_OK);
    assert_int_equal(conf_count(), before);
    check_hr(INetFwRules_Item(conf_rules, name, &r), CONF_E_NOT_FOUND);
    assert_null(r);
    SysFreeString(name);
}

/* Enumerates the collection and returns how many of names[0..n) it saw; checks item types. */
static size_t conf_enum_seen(IEnumVARIANT *e, const wchar_t *const *names, size_t n)
{
    size_t seen = 0, i;
    VARIANT v;

    VariantInit(&v);
    while (IEnumVARIANT_Next(e, 1, &v, NULL) == S_OK) {
        INetFwRule *r = NULL;
        assert_int_equal(V_VT(&v), VT_DISPATCH);
        check_hr(IDispatch_QueryInterface(V_DISPATCH(&v), &IID_INetFwRule, (void **)&r), S_OK);
        for (i = 0; i < n; i++) {
            BSTR name = conf_get_name(r);
            if (name && wcscmp(name, names[i]) == 0)
                seen++;
        }
        INetFwRule_Release(r);
        VariantClear(&v);
    }
    return seen;
}

static void test_enumeration(void **state)
{
    const wchar_t *names[3];
    IUnknown *unk = NULL;
    IEnumVARIANT *e = NULL, *clone = NULL;
    VARIANT vs[4];
    ULONG fetched = 99;
    LONG total;
    size_t i;

    (void)state;
    for (i = 0; i < 3; i++) {
        wchar_t tag[16];
        _snwprintf(tag, 15, L"enum%u", (unsigned)i);
        tag[15] = L'\0';
        names[i] = conf_name(tag);
        conf_add_rule(names[i], NULL);
    }
    total = conf_count();
    check_hr(INetFwRules_get__NewEnum(conf_rules, &unk), S_OK);
    check_hr(IUnknown_QueryInterface(unk, &IID_IEnumVARIANT, (void **)&e), S_OK);
    assert_int_equal(conf_enum_seen(e, names, 3), 3);
    /* At the end: S_FALSE and nothing fetched. */
    VariantInit(&vs[0]);
    check_hr(IEnumVARIANT_Next(e, 1, vs, &fetched), S_FALSE);
    assert_int_equal(fetched, 0);
    check_hr(IEnumVARIANT_Reset(e), S_OK);
    check_hr(IEnumVARIANT_Skip(e, (ULONG)total + 1), S_FALSE);
    check_hr(IEnumVARIANT_Reset(e), S_OK);
    if (total >= 2) {
        check_hr(IEnumVARIANT_Skip(e, (ULONG)total - 2), S_OK);
        check_hr(IEnumVARIANT_Clone(e, &clone), S_OK);
        /* Asking for 4 with 2 left: S_FALSE, 2 fetched, both dispatch pointers. */
        check_hr(IEnumVARIANT_Next(e, 4, vs, &fetched), S_FALSE);
        assert_int_equal(fetched, 2);
        for (i = 0; i < 2; i++) {
            assert_int_equal(V_VT(&vs[i]), VT_DISPATCH);
            VariantClear(&vs[i]);
        }
        /* The clone kept its own position. */
        check_hr(IEnumVARIANT_Next(clone, 2, vs, &fetched), S_OK);
        assert_int_equal(fetched, 2);
        VariantClear(&vs[0]);
        VariantClear(&vs[1]);
        IEnumVARIANT_Release(clone);
    }
    IEnumVARIANT_Release(e);
    IUnknown_Release(unk);
}

static void test_rule_outlives_removal(void **state)
{
    const wchar_t *name = conf_name(L"outlive");
    INetFwRule *r;

    (void)state;
    conf_add_rule(name, L"kept");
    r = conf_item(name);
    assert_non_null(r);
    check_hr(conf_remove(name), S_OK);
    assert_null(conf_item(name));
    /* Our reference keeps the object valid; its data is still readable. */
    check_wstr(conf_get_name(r), name);
    check_wstr(conf_get_description(r), L"kept");
    assert_int_equal(INetFwRule_AddRef(r) >= 2, 1);
    INetFwRule_Release(r);
    INetFwRule_Release(r);
}

static void test_live_rule_rename_then_remove(void **state)
{
    const wchar_t *old_name = conf_name(L"live-old");
    const wchar_t *new_name = conf_name(L"live-new");
    LONG before;
    INetFwRule *r, *again;
    VARIANT_BOOL vb = VARIANT_FALSE;

    (void)state;
    conf_add_rule(old_name, NULL);
    before = conf_count();
    r = conf_item(old_name);
    /* A rule from the collection is live: puts change the stored rule (Chromium relies on it to
     * delete one specific duplicate by renaming it to a fresh UUID first). */
    check_hr(conf_put_name(r, new_name), S_OK);
    check_hr(INetFwRule_put_Enabled(r, VARIANT_TRUE), S_OK);
    check_hr(conf_put_lports(r, L"bad port"), E_INVALIDARG);
    assert_null(conf_item(old_name));
    again = conf_item(new_name);
    assert_non_null(again);
    check_hr(INetFwRule_get_Enabled(again, &vb), S_OK);
    assert_int_equal(vb, VARIANT_TRUE);
    check_wstr(conf_get_lports(again), L"49152");
    INetFwRule_Release(again);
    check_hr(conf_remove(new_name), S_OK);
    assert_int_equal(conf_count(), before - 1);
    INetFwRule_Release(r);
}

static void test_rule3_local_user_owner(void **state)
{
    const wchar_t *name = conf_name(L"owner");
    INetFwRule *r = conf_new_rule(name), *got;
    INetFwRule3 *r3 = NULL;
    BSTR sid = SysAllocString(L"S-1-5-21-1004336348-1177238915-682003330-512");
    BSTR bad = SysAllocString(L"not-a-sid");
    BSTR s = NULL;
    HRESULT hr;

    (void)state;
    hr = INetFwRule_QueryInterface(r, &IID_INetFwRule3, (void **)&r3);
    if (hr == E_NOINTERFACE && !conf_on_double) {
        print_message("skipped: INetFwRule3 needs Windows 8 or later\n");
        INetFwRule_Release(r);
        SysFreeString(sid);
        SysFreeString(bad);
        skip();
    }
    check_hr(hr, S_OK);
    check_hr(INetFwRule3_put_LocalUserOwner(r3, bad), E_INVALIDARG);
    check_hr(INetFwRule3_put_LocalUserOwner(r3, sid), S_OK);
    check_hr(INetFwRule3_get_LocalUserOwner(r3, &s), S_OK);
    check_wstr(conf_keep(s), sid);
    check_hr(INetFwRules_Add(conf_rules, r), S_OK);
    got = conf_item(name);
    INetFwRule3_Release(r3);
    check_hr(INetFwRule_QueryInterface(got, &IID_INetFwRule3, (void **)&r3), S_OK);
    check_hr(INetFwRule3_get_LocalUserOwner(r3, &s), S_OK);
    check_wstr(conf_keep(s), sid);
    INetFwRule3_Release(r3);
    INetFwRule_Release(got);
    INetFwRule_Release(r);
    SysFreeString(sid);
    SysFreeString(bad);
}

static void test_rule_groups(void **state)
{
    BSTR group = SysAllocString(CONF_GROUP);
    BSTR none = SysAllocString(L"EdgeBrokerConformanceNoSuchGroup");
    VARIANT_BOOL vb = VARIANT_TRUE;
    INetFwRule *r;

    (void)state;
    check_hr(INetFwPolicy2_EnableRuleGroup(conf_policy, NET_FW_PROFILE2_ALL, none, VARIANT_TRUE),
             S_FALSE);
    conf_add_rule(conf_name(L"group1"), NULL);
    conf_add_rule(conf_name(L"group2"), NULL);
    check_hr(INetFwPolicy2_EnableRuleGroup(conf_policy, NET_FW_PROFILE2_ALL, group, VARIANT_TRUE),
             S_OK);
    r = conf_item(conf_name(L"group2"));
    check_hr(INetFwRule_get_Enabled(r, &vb), S_OK);
    assert_int_equal(vb, VARIANT_TRUE);
    INetFwRule_Release(r);
    check_hr(INetFwPolicy2_get_IsRuleGroupCurrentlyEnabled(conf_policy, group, &vb), S_OK);
    assert_int_equal(vb, VARIANT_TRUE);
    check_hr(INetFwPolicy2_EnableRuleGroup(conf_policy, NET_FW_PROFILE2_ALL, group, VARIANT_FALSE),
             S_OK);
    check_hr(INetFwPolicy2_get_IsRuleGroupCurrentlyEnabled(conf_policy, group, &vb), S_OK);
    assert_int_equal(vb, VARIANT_FALSE);
    SysFreeString(group);
    SysFreeString(none);
}

static void test_profiles(void **state)
{
    static const NET_FW_PROFILE_TYPE2 each[] = {NET_FW_PROFILE2_DOMAIN, NET_FW_PROFILE2_PRIVATE,
                                                NET_FW_PROFILE2_PUBLIC};
    VARIANT_BOOL vb;
    LONG cur = 0;
    size_t i;

    (void)state;
    check_hr(INetFwPolicy2_get_CurrentProfileTypes(conf_policy, &cur), S_OK);
    assert_true(cur != 0 && (cur & ~7) == 0);
    for (i = 0; i < 3; i++)
        check_hr(INetFwPolicy2_get_FirewallEnabled(conf_policy, each[i], &vb), S_OK);
    check_hr(INetFwPolicy2_get_FirewallEnabled(conf_policy, (NET_FW_PROFILE_TYPE2)3, &vb),
             E_INVALIDARG);
}

static void test_persistence_across_com_sessions(void **state)
{
    const wchar_t *name = conf_name(L"persist");
    INetFwRule *r;

    (void)state;
    conf_add_rule(name, L"survives");
    /* Drop every object and the COM apartment, then start over. */
    conf_reopen();
    r = conf_item(name);
    assert_non_null(r);
    check_wstr(conf_get_description(r), L"survives");
    INetFwRule_Release(r);
}

static void test_dispatch(void **state)
{
    INetFwRule *r = conf_new_rule(conf_name(L"disp"));
    LPOLESTR member = L"Name";
    DISPPARAMS none = {NULL, NULL, 0, 0};
    DISPID id = 0;
    VARIANT result;
    UINT n = 99;

    (void)state;
    check_hr(INetFwRule_GetTypeInfoCount(r, &n), S_OK);
    if (n == 0) {
        print_message("no firewall type library registered: IDispatch reports E_NOTIMPL\n");
        check_hr(INetFwRule_GetIDsOfNames(r, &IID_NULL, &member, 1, 0, &id), E_NOTIMPL);
        INetFwRule_Release(r);
        return;
    }
    assert_int_equal(n, 1);
    check_hr(INetFwRule_GetIDsOfNames(r, &IID_NULL, &member, 1, 0, &id), S_OK);
    VariantInit(&result);
    check_hr(
        INetFwRule_Invoke(r, id, &IID_NULL, 0, DISPATCH_PROPERTYGET, &none, &result, NULL, NULL),
        S_OK);
    assert_int_equal(V_VT(&result), VT_BSTR);
    check_wstr(V_BSTR(&result), conf_name(L"disp"));
    VariantClear(&result);
    INetFwRule_Release(r);
}

typedef struct conf_thread_arg {
    int index;
    HRESULT hr;
} conf_thread_arg;

static DWORD WINAPI conf_adder_thread(void *p)
{
    conf_thread_arg *a = p;
    INetFwRule *r = NULL;
    wchar_t tag[32];
    int i;

    /* Same MTA as the main thread: the objects are free-threaded (ThreadingModel Both). */
    a->hr = CoInitializeEx(NULL, COINIT_MULTITHREADED);
    for (i = 0; i < 10 && SUCCEEDED(a->hr); i++) {
        BSTR name, group;
        _snwprintf(tag, 31, L"mt%d-%d", a->index, i);
        tag[31] = L'\0';
        a->hr = CoCreateInstance(&CLSID_NetFwRule, NULL, CLSCTX_INPROC_SERVER, &IID_INetFwRule,
                                 (void **)&r);
        if (FAILED(a->hr))
            break;
        name = SysAllocString(conf_name(tag));
        group = SysAllocString(CONF_GROUP);
        a->hr = INetFwRule_put_Name(r, name);
        if (SUCCEEDED(a->hr))
            a->hr = INetFwRule_put_Grouping(r, group);
        if (SUCCEEDED(a->hr))
            a->hr = INetFwRules_Add(conf_rules, r);
        SysFreeString(name);
        SysFreeString(group);
        INetFwRule_Release(r);
    }
    CoUninitialize();
    return 0;
}

static void test_concurrent_adds(void **state)
{
    conf_thread_arg args[4];
    HANDLE threads[4];
    LONG before = conf_count();
    int i;

    (void)state;
    for (i = 0; i < 4; i++) {
        args[i].index = i;
        args[i].hr = E_FAIL;
        threads[i] = CreateThread(NULL, 0, conf_adder_thread, &args[i], 0, NULL);
        assert_non_null(threads[i]);
    }
    assert_int_equal(WaitForMultipleObjects(4, threads, TRUE, 120000), WAIT_OBJECT_0);
    for (i = 0; i < 4; i++) {
        CloseHandle(threads[i]);
        check_hr(args[i].hr, S_OK);
    }
    assert_int_equal(conf_count(), before + 40);
}

#define T(f) cmocka_unit_test_setup_teardown(f, conf_setup, conf_teardown)

int wmain(int argc, wchar_t **argv);

int wmain(int argc, wchar_t **argv)
{
    const struct CMUnitTest tests[] = {
        T(test_new_rule_defaults),
        T(test_name_and_description_validation),
        T(test_protocol_and_enum_validation),
        T(test_ports_need_tcp_or_udp),
        T(test_port_syntax),
        T(test_edge_traversal_mapping),
        T(test_defer_to_user_requirements),
        T(test_null_out_params),
        T(test_rules_object_identity),
        T(test_add_item_roundtrip),
        T(test_add_rules),
        T(test_duplicates_remove_first_match),
        T(test_remove_and_item_missing),
        T(test_enumeration),
        T(test_rule_outlives_removal),
        T(test_live_rule_rename_then_remove),
        T(test_rule3_local_user_owner),
        T(test_rule_groups),
        T(test_profiles),
        T(test_persistence_across_com_sessions),
        T(test_dispatch),
        T(test_concurrent_adds),
        CONF_DOUBLE_TESTS(T),
    };

    (void)argc;
    (void)argv;
    conf_on_double = fwdc_double_registered();
    printf("running against %s\n", conf_on_double ? "the firewall double" : "Windows Firewall");
    if (conf_on_double) {
        fwdc_faults_clear();
        fwdc_store_reset();
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
