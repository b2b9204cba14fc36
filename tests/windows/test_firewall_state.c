/*
 * The firewall backend's effective-state reading and error diagnosis: firewall on/off and
 * current profiles (through the double), AllowLocalPolicyMerge in the registry, Teredo,
 * edge_fw_state_assess, and how an ambiguous CoCreateInstance E_ACCESSDENIED is told apart.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "firewall_internal.h"
#include "fwdouble_control.h"
#include "wine_detect.h"

static edge_fw_backend *g_fw;

static int setup(void **state)
{
    edge_fw_config cfg = {60000, 60000};
    edge_fw_result res;

    (void)state;
    if (!fwdc_double_registered())
        return -1;
    if (FAILED(fwdc_faults_clear()) || FAILED(fwdc_store_reset()))
        return -1;
    if (edge_fw_start(&cfg, &g_fw, &res) != EDGE_OK)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    edge_fw_stop(g_fw);
    g_fw = NULL;
    (void)fwdc_faults_clear();
    (void)fwdc_store_reset();
    return 0;
}

static void read_state(edge_fw_state *st)
{
    edge_fw_result res;

    assert_int_equal(edge_fw_read_state(g_fw, st, &res), EDGE_OK);
}

static void test_firewall_off_and_current_profiles(void **state)
{
    edge_fw_state st;

    (void)state;
    assert_int_equal(fwdc_fault_set("firewall_off", "2"), S_OK);
    assert_int_equal(fwdc_fault_set("current_profiles", "6"), S_OK);
    read_state(&st);
    assert_int_equal(st.firewall[EDGE_FW_PROFILE_INDEX_DOMAIN].state, EDGE_FW_ON);
    assert_int_equal(st.firewall[EDGE_FW_PROFILE_INDEX_PRIVATE].state, EDGE_FW_OFF);
    assert_int_equal(st.firewall[EDGE_FW_PROFILE_INDEX_PUBLIC].state, EDGE_FW_ON);
    assert_true(st.firewall[EDGE_FW_PROFILE_INDEX_PRIVATE].reason[0] != '\0');
    assert_int_equal(st.current.state, EDGE_FW_ON);
    assert_int_equal(st.current_profiles, 6);
    assert_non_null(strstr(st.current.reason, "private"));

    assert_int_equal(fwdc_fault_set("firewall_off", "5"), S_OK);
    assert_int_equal(fwdc_fault_set("current_profiles", "1"), S_OK);
    read_state(&st);
    assert_int_equal(st.firewall[EDGE_FW_PROFILE_INDEX_DOMAIN].state, EDGE_FW_OFF);
    assert_int_equal(st.firewall[EDGE_FW_PROFILE_INDEX_PRIVATE].state, EDGE_FW_ON);
    assert_int_equal(st.firewall[EDGE_FW_PROFILE_INDEX_PUBLIC].state, EDGE_FW_OFF);
    assert_int_equal(st.current_profiles, 1);
}

static void test_firewall_unreachable_keeps_other_items(void **state)
{
    edge_fw_state st;
    size_t i;

    (void)state;
    assert_int_equal(fwdc_fault_set("fail_create", "1:0x80040154"), S_OK);
    read_state(&st);
    for (i = 0; i < EDGE_FW_PROFILE_COUNT; i++) {
        assert_int_equal(st.firewall[i].state, EDGE_FW_UNKNOWN);
        assert_int_equal(st.firewall[i].error, 0x80040154u);
        assert_non_null(strstr(st.firewall[i].reason, "not reachable"));
        assert_int_not_equal(st.local_merge[i].state, EDGE_FW_UNKNOWN);
    }
    assert_int_equal(st.current.state, EDGE_FW_UNKNOWN);
    assert_true(st.teredo.reason[0] != '\0');
    /* One-shot fault: the next read reaches the firewall again. */
    read_state(&st);
    assert_int_equal(st.firewall[0].state, EDGE_FW_ON);
}

/* ---- AllowLocalPolicyMerge ---- */

#define POLICY_KEY L"SOFTWARE\\Policies\\Microsoft\\WindowsFirewall"

static void test_local_merge_policy_in_registry(void **state)
{
    HKEY fwkey = NULL, pub = NULL;
    DWORD disp_fw = 0, disp_pub = 0, zero = 0;
    edge_fw_state st;
    char why[512];
    uint32_t bits;

    (void)state;
    assert_int_equal(RegCreateKeyExW(HKEY_LOCAL_MACHINE, POLICY_KEY, 0, NULL, 0,
                                     KEY_ALL_ACCESS | KEY_WOW64_64KEY, NULL, &fwkey, &disp_fw),
                     ERROR_SUCCESS);
    assert_int_equal(RegCreateKeyExW(fwkey, L"PublicProfile", 0, NULL, 0,
                                     KEY_ALL_ACCESS | KEY_WOW64_64KEY, NULL, &pub, &disp_pub),
                     ERROR_SUCCESS);
    assert_int_equal(
        RegSetValueExW(pub, L"AllowLocalPolicyMerge", 0, REG_DWORD, (BYTE *)&zero, sizeof(zero)),
        ERROR_SUCCESS);
    assert_int_equal(fwdc_fault_set("current_profiles", "4"), S_OK);

    read_state(&st);

    /* Restore before asserting, so a failure cannot leave the policy behind. */
    (void)RegDeleteValueW(pub, L"AllowLocalPolicyMerge");
    RegCloseKey(pub);
    if (disp_pub == REG_CREATED_NEW_KEY)
        (void)RegDeleteKeyExW(fwkey, L"PublicProfile", KEY_WOW64_64KEY, 0);
    RegCloseKey(fwkey);
    if (disp_fw == REG_CREATED_NEW_KEY)
        (void)RegDeleteKeyExW(HKEY_LOCAL_MACHINE, POLICY_KEY, KEY_WOW64_64KEY, 0);

    assert_int_equal(st.local_merge[EDGE_FW_PROFILE_INDEX_PUBLIC].state, EDGE_FW_OFF);
    assert_non_null(
        strstr(st.local_merge[EDGE_FW_PROFILE_INDEX_PUBLIC].reason, "AllowLocalPolicyMerge=0"));
    assert_int_not_equal(st.local_merge[EDGE_FW_PROFILE_INDEX_DOMAIN].state, EDGE_FW_OFF);
    assert_int_not_equal(st.local_merge[EDGE_FW_PROFILE_INDEX_PRIVATE].state, EDGE_FW_OFF);

    bits = edge_fw_state_assess(&st, EDGE_FW_PROFILE_PUBLIC, why, sizeof(why));
    assert_true(bits & EDGE_FW_INEFFECTIVE_LOCAL_MERGE);
    assert_non_null(strstr(why, "AllowLocalPolicyMerge=0"));
    bits = edge_fw_state_assess(&st, EDGE_FW_PROFILE_PRIVATE, why, sizeof(why));
    assert_false(bits & EDGE_FW_INEFFECTIVE_LOCAL_MERGE);
    assert_true(bits & EDGE_FW_INEFFECTIVE_NO_PROFILE);

    /* And it is gone again. */
    read_state(&st);
    assert_int_not_equal(st.local_merge[EDGE_FW_PROFILE_INDEX_PUBLIC].state, EDGE_FW_OFF);
}

static void test_local_merge_decision_table(void **state)
{
    wchar_t root[96];
    HKEY key = NULL;
    DWORD v;
    edge_fw_state_item item;

    (void)state;
    swprintf(root, sizeof(root) / sizeof(root[0]), L"Software\\EdgeBrokerTest\\merge%lu",
             (unsigned long)GetCurrentProcessId());
    (void)RegDeleteTreeW(HKEY_CURRENT_USER, root);

    fw_state_read_merge(HKEY_CURRENT_USER, root, L"PublicProfile", &item);
    assert_int_equal(item.state, EDGE_FW_ON); /* no policy key */

    {
        wchar_t sub[128];
        swprintf(sub, sizeof(sub) / sizeof(sub[0]), L"%ls\\PublicProfile", root);
        assert_int_equal(
            RegCreateKeyExW(HKEY_CURRENT_USER, sub, 0, NULL, 0, KEY_ALL_ACCESS, NULL, &key, NULL),
            ERROR_SUCCESS);
    }
    fw_state_read_merge(HKEY_CURRENT_USER, root, L"PublicProfile", &item);
    assert_int_equal(item.state, EDGE_FW_ON); /* key without the value */

    v = 0;
    RegSetValueExW(key, L"AllowLocalPolicyMerge", 0, REG_DWORD, (BYTE *)&v, sizeof(v));
    fw_state_read_merge(HKEY_CURRENT_USER, root, L"PublicProfile", &item);
    assert_int_equal(item.state, EDGE_FW_OFF);

    v = 1;
    RegSetValueExW(key, L"AllowLocalPolicyMerge", 0, REG_DWORD, (BYTE *)&v, sizeof(v));
    fw_state_read_merge(HKEY_CURRENT_USER, root, L"PublicProfile", &item);
    assert_int_equal(item.state, EDGE_FW_ON);

    RegSetValueExW(key, L"AllowLocalPolicyMerge", 0, REG_SZ, (const BYTE *)L"0", 2 * sizeof(WCHAR));
    fw_state_read_merge(HKEY_CURRENT_USER, root, L"PublicProfile", &item);
    assert_int_equal(item.state, EDGE_FW_UNKNOWN);
    assert_true(item.reason[0] != '\0');

    RegCloseKey(key);
    (void)RegDeleteTreeW(HKEY_CURRENT_USER, L"Software\\EdgeBrokerTest");
}

/* ---- assess ---- */

static void set_item(edge_fw_state_item *it, edge_fw_tristate s)
{
    it->state = s;
    snprintf(it->reason, sizeof(it->reason), "test");
}

static void base_state(edge_fw_state *st)
{
    size_t i;

    memset(st, 0, sizeof(*st));
    for (i = 0; i < EDGE_FW_PROFILE_COUNT; i++) {
        set_item(&st->firewall[i], EDGE_FW_ON);
        set_item(&st->local_merge[i], EDGE_FW_ON);
    }
    set_item(&st->current, EDGE_FW_ON);
    st->current_profiles = EDGE_FW_PROFILE_PRIVATE;
    set_item(&st->teredo, EDGE_FW_ON);
}

static void test_assess(void **state)
{
    edge_fw_state st;
    char why[256];

    (void)state;
    base_state(&st);
    assert_int_equal(edge_fw_state_assess(&st, EDGE_FW_PROFILE_ALL, why, sizeof(why)), 0);
    assert_string_equal(why, "");
    assert_int_equal(edge_fw_state_assess(&st, EDGE_FW_PROFILE_PUBLIC, why, sizeof(why)),
                     EDGE_FW_INEFFECTIVE_NO_PROFILE);
    assert_true(why[0] != '\0');

    st.local_merge[EDGE_FW_PROFILE_INDEX_PRIVATE].state = EDGE_FW_OFF;
    assert_int_equal(edge_fw_state_assess(&st, EDGE_FW_PROFILE_ALL, NULL, 0),
                     EDGE_FW_INEFFECTIVE_LOCAL_MERGE);
    /* With the firewall off where the policy applies, nothing is filtered: not ineffective. */
    st.firewall[EDGE_FW_PROFILE_INDEX_PRIVATE].state = EDGE_FW_OFF;
    assert_int_equal(edge_fw_state_assess(&st, EDGE_FW_PROFILE_ALL, NULL, 0), 0);
    assert_int_equal(edge_fw_state_assess(&st, EDGE_FW_PROFILE_PUBLIC, NULL, 0), 0);

    base_state(&st);
    st.teredo.state = EDGE_FW_OFF;
    assert_int_equal(edge_fw_state_assess(&st, EDGE_FW_PROFILE_ALL, why, sizeof(why)),
                     EDGE_FW_INEFFECTIVE_NO_TEREDO);
    assert_non_null(strstr(why, "Teredo"));
    /* Unknown never counts as a defeat. */
    base_state(&st);
    st.teredo.state = EDGE_FW_UNKNOWN;
    st.current.state = EDGE_FW_UNKNOWN;
    st.local_merge[EDGE_FW_PROFILE_INDEX_PRIVATE].state = EDGE_FW_OFF;
    assert_int_equal(edge_fw_state_assess(&st, EDGE_FW_PROFILE_PUBLIC, NULL, 0), 0);
}

static void test_teredo_item(void **state)
{
    edge_fw_state st;

    (void)state;
    read_state(&st);
    assert_true(st.teredo.reason[0] != '\0');
    if (edge_test_under_wine()) {
        /* Wine does not export GetTeredoPort: the adapter list answers, and it has no Teredo. */
        assert_null(GetProcAddress(GetModuleHandleW(L"iphlpapi.dll"), "GetTeredoPort"));
        assert_int_equal(st.teredo.state, EDGE_FW_OFF);
        assert_non_null(strstr(st.teredo.reason, "adapter"));
    }
}

/* ---- CoCreateInstance failure diagnosis ---- */

#define DIAG_KEY L"Software\\EdgeBrokerTest\\diag"

static void set_inproc(DWORD type, const wchar_t *value)
{
    HKEY key = NULL;

    assert_int_equal(
        RegCreateKeyExW(HKEY_CURRENT_USER, DIAG_KEY, 0, NULL, 0, KEY_ALL_ACCESS, NULL, &key, NULL),
        ERROR_SUCCESS);
    assert_int_equal(RegSetValueExW(key, NULL, 0, type, (const BYTE *)value,
                                    (DWORD)((wcslen(value) + 1) * sizeof(wchar_t))),
                     ERROR_SUCCESS);
    RegCloseKey(key);
}

static void test_create_failure_diagnosis(void **state)
{
    edge_fw_result res;
    wchar_t tmp[MAX_PATH], file[MAX_PATH];
    HANDLE h;
    DWORD written = 0;
    bool known = false;
    bool elevated = fw_token_elevated(&known);
    edge_status st;

    (void)state;
    (void)RegDeleteTreeW(HKEY_CURRENT_USER, L"Software\\EdgeBrokerTest");
    /* Unambiguous codes need no registry look-up. */
    assert_int_equal(
        fw_fail_create(&res, REGDB_E_CLASSNOTREG, "create", HKEY_CURRENT_USER, DIAG_KEY),
        EDGE_E_FIREWALL_UNAVAILABLE);
    assert_int_equal(res.hresult, 0x80040154u);
    assert_int_equal(fw_fail_create(&res, HRESULT_FROM_WIN32(ERROR_MOD_NOT_FOUND), "create",
                                    HKEY_CURRENT_USER, DIAG_KEY),
                     EDGE_E_FIREWALL_UNAVAILABLE);
    assert_int_equal(
        fw_fail_create(&res, (HRESULT)0x800706BA, "create", HKEY_CURRENT_USER, DIAG_KEY),
        EDGE_E_FIREWALL);
    assert_int_equal(res.hresult, 0x800706BAu);

    /* E_ACCESSDENIED with no registration at all. */
    assert_int_equal(fw_fail_create(&res, E_ACCESSDENIED, "create", HKEY_CURRENT_USER, DIAG_KEY),
                     EDGE_E_FIREWALL_UNAVAILABLE);
    assert_non_null(strstr(res.message, "not registered"));

    /* ... registered to a file that does not exist. */
    set_inproc(REG_SZ, L"C:\\nowhere\\missing-firewall.dll");
    assert_int_equal(fw_fail_create(&res, E_ACCESSDENIED, "create", HKEY_CURRENT_USER, DIAG_KEY),
                     EDGE_E_FIREWALL_UNAVAILABLE);
    assert_non_null(strstr(res.message, "does not exist"));
    assert_non_null(strstr(res.message, "missing-firewall.dll"));

    /* ... registered to a file that is not a loadable image. */
    assert_true(GetTempPathW(MAX_PATH, tmp) > 0);
    assert_true(GetTempFileNameW(tmp, L"efw", 0, file) != 0);
    h = CreateFileW(file, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    assert_true(h != INVALID_HANDLE_VALUE);
    assert_true(WriteFile(h, "not a PE image", 14, &written, NULL));
    CloseHandle(h);
    set_inproc(REG_SZ, file);
    st = fw_fail_create(&res, E_ACCESSDENIED, "create", HKEY_CURRENT_USER, DIAG_KEY);
    DeleteFileW(file);
    assert_int_equal(st, EDGE_E_FIREWALL_UNAVAILABLE);
    assert_non_null(strstr(res.message, "cannot be read"));

    /* ... registered (REG_EXPAND_SZ, quoted) to a real DLL: then elevation decides. */
    set_inproc(REG_EXPAND_SZ, L"\"%SystemRoot%\\system32\\kernel32.dll\"");
    st = fw_fail_create(&res, E_ACCESSDENIED, "create", HKEY_CURRENT_USER, DIAG_KEY);
    assert_true(known);
    if (elevated) {
        assert_int_equal(st, EDGE_E_FIREWALL_UNAVAILABLE);
        assert_non_null(strstr(res.message, "although the process is elevated"));
    } else {
        assert_int_equal(st, EDGE_E_FIREWALL_ACCESS);
        assert_non_null(strstr(res.message, "not elevated"));
    }
    assert_int_equal(res.hresult, 0x80070005u);
    (void)RegDeleteTreeW(HKEY_CURRENT_USER, L"Software\\EdgeBrokerTest");
}

static void test_rule_name_round_trip(void **state)
{
    uint8_t id[EDGE_FW_LEASE_ID_SIZE], back[EDGE_FW_LEASE_ID_SIZE];
    wchar_t name[EDGE_FW_NAME_CHARS];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(id); i++)
        id[i] = (uint8_t)(0xF0 + i * 0x1D);
    edge_fw_rule_name(id, name);
    assert_int_equal(wcslen(name), wcslen(EDGE_FW_NAME_PREFIX) + 32);
    assert_true(edge_fw_parse_rule_name(name, back));
    assert_memory_equal(id, back, sizeof(id));
    assert_false(edge_fw_parse_rule_name(L"EdgeBroker lease 00", back));
    assert_false(
        edge_fw_parse_rule_name(L"EdgeBroker lease 0123456789ABCDEF0123456789abcdef", back));
    assert_false(
        edge_fw_parse_rule_name(L"EdgeBroker lease 0123456789abcdef0123456789abcdef0", back));
    assert_false(edge_fw_parse_rule_name(L"Other 0123456789abcdef0123456789abcdef", back));
    assert_true(
        edge_fw_parse_rule_name(L"EdgeBroker lease 0123456789abcdef0123456789abcdef", back));
    assert_int_equal(back[0], 0x01);
    assert_int_equal(back[15], 0xef);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_firewall_off_and_current_profiles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_firewall_unreachable_keeps_other_items, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_local_merge_policy_in_registry, setup, teardown),
        cmocka_unit_test(test_local_merge_decision_table),
        cmocka_unit_test(test_assess),
        cmocka_unit_test_setup_teardown(test_teredo_item, setup, teardown),
        cmocka_unit_test(test_create_failure_diagnosis),
        cmocka_unit_test(test_rule_name_round_trip),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
