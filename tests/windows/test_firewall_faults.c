/*
 * The firewall backend (service/firewall*.c) against the conformance double, when things go
 * wrong: injected COM faults and their status mapping, calls beyond their timeout, shutdown, and
 * detection of rules edited or deleted behind the backend's back.  Rule shape, removal, listing
 * and scale are in test_firewall_backend.c.  The fixture helpers below are the same as there;
 * faults are set and the store edited through the double's control API (fwdouble_control).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <windows.h>
#include <string.h>

#include "firewall.h"
#include "fwdouble_control.h"

#define APP   L"C:\\Program Files\\Example\\app.exe"
#define OWNER L"S-1-5-21-1004336348-1177238915-682003330-1001"

static edge_fw_backend *g_fw;

static edge_fw_rule_spec make_spec(uint32_t seed, uint32_t protocol, uint16_t lo, uint16_t hi,
                                   uint32_t profiles, uint32_t edge)
{
    edge_fw_rule_spec s;
    size_t i;

    memset(&s, 0, sizeof(s));
    /* Unique per seed (first three bytes), the rest varied so hex parsing sees every digit. */
    for (i = 0; i < EDGE_FW_LEASE_ID_SIZE; i++)
        s.lease_id[i] = (uint8_t)(seed * 31u + i * 17u);
    s.lease_id[0] = (uint8_t)seed;
    s.lease_id[1] = (uint8_t)(seed >> 8);
    s.lease_id[2] = (uint8_t)(seed >> 16);
    s.image_path = APP;
    s.owner_sid = OWNER;
    s.protocol = protocol;
    s.port_lo = lo;
    s.port_hi = hi;
    s.profiles = profiles;
    s.edge_mode = edge;
    return s;
}

static edge_fw_rule_spec default_spec(uint32_t seed)
{
    return make_spec(seed, EDGE_FW_PROTO_TCP, 5000, 5010,
                     EDGE_FW_PROFILE_PRIVATE | EDGE_FW_PROFILE_PUBLIC, EDGE_FW_EDGE_DEFER_TO_APP);
}

static void start_backend(uint32_t call_timeout_ms)
{
    edge_fw_config cfg;
    edge_fw_result res;

    cfg.call_timeout_ms = call_timeout_ms;
    cfg.stop_timeout_ms = 60000;
    assert_int_equal(edge_fw_start(&cfg, &g_fw, &res), EDGE_OK);
    assert_non_null(g_fw);
}

static int setup(void **state)
{
    (void)state;
    if (!fwdc_double_registered()) {
        print_message("the firewall double is not registered over CLSID_NetFwPolicy2\n");
        return -1;
    }
    if (FAILED(fwdc_faults_clear()) || FAILED(fwdc_store_reset()))
        return -1;
    start_backend(60000);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    edge_fw_stop(g_fw);
    g_fw = NULL;
    (void)fwdc_faults_clear();
    return 0;
}

/* All rules of the EdgeBroker group in the store. */
static fwdc_rule *stored_ours(size_t *count)
{
    fwdc_rule *rules = NULL;

    assert_int_equal(fwdc_store_read_group(EDGE_FW_GROUP, &rules, count), S_OK);
    return rules;
}

static void add_ok(const edge_fw_rule_spec *spec)
{
    edge_fw_result res;
    edge_status st = edge_fw_add_rule(g_fw, spec, &res);

    if (st != EDGE_OK)
        print_message("add failed: %s 0x%08lX %s\n", edge_status_name(st),
                      (unsigned long)res.hresult, res.message);
    assert_int_equal(st, EDGE_OK);
}

static void set_fault(const char *key, const char *value)
{
    assert_int_equal(fwdc_fault_set(key, value), S_OK);
}

/* Replace the store with `rules` (edits behind the backend's back, without COM). */
static void store_replace(const fwdc_rule *rules, size_t count)
{
    assert_int_equal(fwdc_store_reset(), S_OK);
    if (count)
        assert_int_equal(fwdc_store_add(rules, count), S_OK);
}

/* ---- faults ---- */

static void test_fault_access_denied_on_add(void **state)
{
    edge_fw_rule_spec s = default_spec(50);
    edge_fw_result res;
    size_t n = 0;
    fwdc_rule *rules;

    (void)state;
    set_fault("fail_add", "1:0x80070005");
    assert_int_equal(edge_fw_add_rule(g_fw, &s, &res), EDGE_E_FIREWALL_ACCESS);
    assert_int_equal(res.status, EDGE_E_FIREWALL_ACCESS);
    assert_int_equal(res.hresult, 0x80070005u);
    assert_non_null(strstr(res.message, "not elevated"));
    rules = stored_ours(&n);
    assert_int_equal(n, 0);
    fwdc_rules_free(rules, n);
    /* The fault was one-shot: the next add works (the backend reconnects as needed). */
    add_ok(&s);
}

static void test_fault_invalid_put_names_property(void **state)
{
    edge_fw_rule_spec s = default_spec(51);
    edge_fw_result res;

    (void)state;
    set_fault("fail_put", "1:0x80070057");
    assert_int_equal(edge_fw_add_rule(g_fw, &s, &res), EDGE_E_FIREWALL_INVALID);
    assert_int_equal(res.hresult, 0x80070057u);
    /* The first put_* is put_Name. */
    assert_non_null(strstr(res.message, "Name"));
}

static void test_fault_create_class_not_registered(void **state)
{
    edge_fw_rule_spec s = default_spec(52);
    edge_fw_result res;

    (void)state;
    set_fault("fail_create", "1:0x80040154");
    assert_int_equal(edge_fw_add_rule(g_fw, &s, &res), EDGE_E_FIREWALL_UNAVAILABLE);
    assert_int_equal(res.hresult, 0x80040154u);
    add_ok(&s);
}

static void test_fault_create_access_denied_diagnosed(void **state)
{
    edge_fw_rule_spec s = default_spec(53);
    edge_fw_result res;

    (void)state;
    /* The double's DLL is registered and present; under Wine the process is elevated, so the
     * backend must not blame elevation. */
    set_fault("fail_create", "1:0x80070005");
    assert_int_equal(edge_fw_add_rule(g_fw, &s, &res), EDGE_E_FIREWALL_UNAVAILABLE);
    assert_int_equal(res.hresult, 0x80070005u);
    assert_non_null(strstr(res.message, "elevated"));
    assert_null(strstr(res.message, "not elevated"));
}

static void test_fault_remove_keeps_rule_findable(void **state)
{
    edge_fw_rule_spec s = default_spec(54);
    wchar_t name[EDGE_FW_NAME_CHARS];
    edge_fw_result res;

    (void)state;
    add_ok(&s);
    set_fault("fail_remove", "1:0x800706BA");
    assert_int_equal(edge_fw_remove_rule(g_fw, s.lease_id, &res), EDGE_E_FIREWALL);
    assert_int_equal(res.hresult, 0x800706BAu);
    /* The temporary name was undone, so the lease's rule is still found by its name. */
    edge_fw_rule_name(s.lease_id, name);
    assert_int_equal(fwdc_store_count_named(name), 1);
    assert_int_equal(edge_fw_verify_rule(g_fw, &s, &res), EDGE_OK);
    assert_int_equal(edge_fw_remove_rule(g_fw, s.lease_id, &res), EDGE_OK);
    assert_int_equal(fwdc_store_count_named(name), 0);
}

static void test_fault_enum_and_item(void **state)
{
    edge_fw_rule_spec s = default_spec(55);
    edge_fw_rule_list *list = (edge_fw_rule_list *)1;
    edge_fw_result res;

    (void)state;
    add_ok(&s);
    set_fault("fail_enum", "1:0x8007000E");
    assert_int_equal(edge_fw_list_rules(g_fw, &list, &res), EDGE_E_NO_MEMORY);
    assert_null(list);
    assert_int_equal(res.hresult, 0x8007000Eu);
    set_fault("fail_enum", "1:0x80004005");
    assert_int_equal(edge_fw_list_rules(g_fw, &list, &res), EDGE_E_FIREWALL);
    assert_int_equal(res.hresult, 0x80004005u);
    set_fault("fail_item", "1:0x80010108");
    assert_int_equal(edge_fw_remove_rule(g_fw, s.lease_id, &res), EDGE_E_FIREWALL);
    assert_int_equal(res.hresult, 0x80010108u);
    assert_int_equal(edge_fw_list_rules(g_fw, &list, &res), EDGE_OK);
    assert_int_equal(list->count, 1);
    edge_fw_rule_list_free(list);
}

static void test_no_rule2_falls_back_to_edge_traversal(void **state)
{
    edge_fw_rule_spec s = default_spec(56);
    edge_fw_rule_list *list = NULL;
    edge_fw_result res;
    fwdc_rule *rules;
    size_t n = 0;

    (void)state;
    set_fault("no_rule2", "1");
    assert_int_equal(edge_fw_add_rule(g_fw, &s, &res), EDGE_OK);
    assert_true(res.flags & EDGE_FW_RESULT_EDGE_FALLBACK);
    rules = stored_ours(&n);
    assert_int_equal(n, 1);
    /* EdgeTraversal TRUE is stored as ALLOW. */
    assert_int_equal(rules[0].edge_traversal_options, 1);
    fwdc_rules_free(rules, n);
    assert_int_equal(edge_fw_list_rules(g_fw, &list, &res), EDGE_OK);
    assert_int_equal(list->count, 1);
    assert_true(list->rules[0].edge_from_legacy);
    assert_int_equal(list->rules[0].spec.edge_mode, EDGE_FW_EDGE_ALLOW);
    edge_fw_rule_list_free(list);
    /* Verify accepts the fallback as what add wrote. */
    assert_int_equal(edge_fw_verify_rule(g_fw, &s, &res), EDGE_OK);
}

static void test_no_rule3_no_owner_but_success(void **state)
{
    edge_fw_rule_spec s = default_spec(57);
    edge_fw_result res;
    fwdc_rule *rules;
    size_t n = 0;

    (void)state;
    set_fault("no_rule3", "1");
    assert_int_equal(edge_fw_add_rule(g_fw, &s, &res), EDGE_OK);
    assert_true(res.flags & EDGE_FW_RESULT_NO_OWNER);
    assert_false(res.flags & EDGE_FW_RESULT_EDGE_FALLBACK);
    rules = stored_ours(&n);
    assert_int_equal(n, 1);
    assert_true(rules[0].local_user_owner == NULL || rules[0].local_user_owner[0] == L'\0');
    assert_int_equal(rules[0].edge_traversal_options, 2);
    fwdc_rules_free(rules, n);
    assert_int_equal(edge_fw_verify_rule(g_fw, &s, &res), EDGE_OK);
}

static void test_latency_beyond_timeout(void **state)
{
    edge_fw_rule_spec s = default_spec(58);
    edge_fw_result res;

    (void)state;
    edge_fw_stop(g_fw);
    start_backend(400);
    set_fault("latency_ms", "1500");
    /* The first job runs (and is slow): its outcome is unknown when the caller gives up. */
    assert_int_equal(edge_fw_remove_rule(g_fw, s.lease_id, &res), EDGE_E_TIMEOUT);
    assert_true(res.flags & EDGE_FW_RESULT_OUTCOME_UNKNOWN);
    /* The second waits behind it and is withdrawn unstarted. */
    assert_int_equal(edge_fw_add_rule(g_fw, &s, &res), EDGE_E_TIMEOUT);
    assert_true(res.flags & EDGE_FW_RESULT_NOT_STARTED);
    set_fault("latency_ms", NULL);
    /* Once the slow job is through, calls work again; the withdrawn add left nothing. */
    Sleep(4000);
    assert_int_equal(edge_fw_verify_rule(g_fw, &s, &res), EDGE_E_RULE_TAMPERED);
    assert_true(res.flags & EDGE_FW_RESULT_VANISHED);
}

static void test_shutdown_refuses_jobs(void **state)
{
    edge_fw_rule_spec s = default_spec(59);
    edge_fw_result res;
    edge_fw_state st;

    (void)state;
    edge_fw_begin_shutdown(g_fw);
    assert_int_equal(edge_fw_add_rule(g_fw, &s, &res), EDGE_E_SHUTTING_DOWN);
    assert_int_equal(edge_fw_read_state(g_fw, &st, &res), EDGE_E_SHUTTING_DOWN);
    assert_int_equal(st.teredo.state, EDGE_FW_UNKNOWN);
    assert_true(st.teredo.reason[0] != '\0');
}

/* ---- tamper detection ---- */

static void test_verify_detects_vanished_and_edited(void **state)
{
    edge_fw_rule_spec a = default_spec(60);
    edge_fw_rule_spec b = default_spec(61);
    wchar_t name_a[EDGE_FW_NAME_CHARS];
    edge_fw_result res;
    fwdc_rule edited;
    fwdc_rule *rules;
    size_t n = 0, i;

    (void)state;
    add_ok(&a);
    add_ok(&b);
    assert_int_equal(edge_fw_verify_rule(g_fw, &a, &res), EDGE_OK);
    assert_int_equal(edge_fw_verify_rule(g_fw, &b, &res), EDGE_OK);

    /* Behind the backend's back: delete a, change b's ports. */
    edge_fw_rule_name(a.lease_id, name_a);
    assert_int_equal(fwdc_store_read(&rules, &n), S_OK);
    assert_int_equal(n, 2);
    i = wcscmp(rules[0].name, name_a) == 0 ? 1 : 0;
    edited = rules[i]; /* shallow: strings stay owned by rules */
    edited.local_ports = L"6000";
    store_replace(&edited, 1);
    fwdc_rules_free(rules, n);

    assert_int_equal(edge_fw_verify_rule(g_fw, &a, &res), EDGE_E_RULE_TAMPERED);
    assert_true(res.flags & EDGE_FW_RESULT_VANISHED);
    assert_int_equal(edge_fw_verify_rule(g_fw, &b, &res), EDGE_E_RULE_TAMPERED);
    assert_false(res.flags & EDGE_FW_RESULT_VANISHED);
    assert_int_equal(res.tampered, EDGE_FW_FIELD_PORTS);
    assert_non_null(strstr(res.message, "local ports"));
}

static void test_verify_detects_disabled_and_edge_change(void **state)
{
    edge_fw_rule_spec a = default_spec(62);
    edge_fw_result res;
    fwdc_rule edited;
    fwdc_rule *rules;
    size_t n = 0;

    (void)state;
    add_ok(&a);
    assert_int_equal(fwdc_store_read(&rules, &n), S_OK);
    assert_int_equal(n, 1);
    edited = rules[0]; /* shallow: strings stay owned by rules */
    edited.enabled = 0;
    edited.edge_traversal_options = 1;
    edited.application_name = L"C:\\Evil\\other.exe";
    store_replace(&edited, 1);
    fwdc_rules_free(rules, n);
    assert_int_equal(edge_fw_verify_rule(g_fw, &a, &res), EDGE_E_RULE_TAMPERED);
    assert_int_equal(res.tampered, EDGE_FW_FIELD_ENABLED | EDGE_FW_FIELD_EDGE | EDGE_FW_FIELD_APP);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fault_access_denied_on_add, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_invalid_put_names_property, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_create_class_not_registered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_create_access_denied_diagnosed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_remove_keeps_rule_findable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_enum_and_item, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_rule2_falls_back_to_edge_traversal, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_no_rule3_no_owner_but_success, setup, teardown),
        cmocka_unit_test_setup_teardown(test_latency_beyond_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_refuses_jobs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_detects_vanished_and_edited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_detects_disabled_and_edge_change, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
