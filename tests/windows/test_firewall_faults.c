/*
 * The firewall backend (service/firewall*.c) against the conformance double, when things go
 * wrong: injected COM faults and their status mapping, calls beyond their timeout, shutdown, and
 * detection of rules edited or deleted behind the backend's back.  Rule shape, removal, listing
 * and scale are in test_firewall_backend.c.  The fixture is shared with it
 * (svc_support/fw_fixture.c); faults are set and the store edited through the double's control API
 * (fwdouble_control).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <windows.h>
#include <string.h>

#include "firewall.h"
#include "fw_fixture.h"
#include "fwdouble_control.h"

#define APP   FWFIX_APP
#define OWNER FWFIX_OWNER

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
    edge_fw_rule_spec s = fwfix_default_spec(50);
    edge_fw_result res;
    size_t n = 0;
    fwdc_rule *rules;

    (void)state;
    set_fault("fail_add", "1:0x80070005");
    assert_int_equal(edge_fw_add_rule(fwfix_fw, &s, &res), EDGE_E_FIREWALL_ACCESS);
    assert_int_equal(res.status, EDGE_E_FIREWALL_ACCESS);
    assert_int_equal(res.hresult, 0x80070005u);
    assert_non_null(strstr(res.message, "not elevated"));
    rules = fwfix_stored_ours(&n);
    assert_int_equal(n, 0);
    fwdc_rules_free(rules, n);
    /* The fault was one-shot: the next add works (the backend reconnects as needed). */
    fwfix_add_ok(&s);
}

static void test_fault_invalid_put_names_property(void **state)
{
    edge_fw_rule_spec s = fwfix_default_spec(51);
    edge_fw_result res;

    (void)state;
    set_fault("fail_put", "1:0x80070057");
    assert_int_equal(edge_fw_add_rule(fwfix_fw, &s, &res), EDGE_E_FIREWALL_INVALID);
    assert_int_equal(res.hresult, 0x80070057u);
    /* The first put_* is put_Name. */
    assert_non_null(strstr(res.message, "Name"));
}

static void test_fault_create_class_not_registered(void **state)
{
    edge_fw_rule_spec s = fwfix_default_spec(52);
    edge_fw_result res;

    (void)state;
    set_fault("fail_create", "1:0x80040154");
    assert_int_equal(edge_fw_add_rule(fwfix_fw, &s, &res), EDGE_E_FIREWALL_UNAVAILABLE);
    assert_int_equal(res.hresult, 0x80040154u);
    fwfix_add_ok(&s);
}

static void test_fault_create_access_denied_diagnosed(void **state)
{
    edge_fw_rule_spec s = fwfix_default_spec(53);
    edge_fw_result res;

    (void)state;
    /* The double's DLL is registered and present; under Wine the process is elevated, so the
     * backend must not blame elevation. */
    set_fault("fail_create", "1:0x80070005");
    assert_int_equal(edge_fw_add_rule(fwfix_fw, &s, &res), EDGE_E_FIREWALL_UNAVAILABLE);
    assert_int_equal(res.hresult, 0x80070005u);
    assert_non_null(strstr(res.message, "elevated"));
    assert_null(strstr(res.message, "not elevated"));
}

static void test_fault_remove_keeps_rule_findable(void **state)
{
    edge_fw_rule_spec s = fwfix_default_spec(54);
    wchar_t name[EDGE_FW_NAME_CHARS];
    edge_fw_result res;

    (void)state;
    fwfix_add_ok(&s);
    set_fault("fail_remove", "1:0x800706BA");
    assert_int_equal(edge_fw_remove_rule(fwfix_fw, s.lease_id, &res), EDGE_E_FIREWALL);
    assert_int_equal(res.hresult, 0x800706BAu);
    /* The temporary name was undone, so the lease's rule is still found by its name. */
    edge_fw_rule_name(s.lease_id, name);
    assert_int_equal(fwdc_store_count_named(name), 1);
    assert_int_equal(edge_fw_verify_rule(fwfix_fw, &s, &res), EDGE_OK);
    assert_int_equal(edge_fw_remove_rule(fwfix_fw, s.lease_id, &res), EDGE_OK);
    assert_int_equal(fwdc_store_count_named(name), 0);
}

static void test_fault_enum_and_item(void **state)
{
    edge_fw_rule_spec s = fwfix_default_spec(55);
    edge_fw_rule_list *list = (edge_fw_rule_list *)1;
    edge_fw_result res;

    (void)state;
    fwfix_add_ok(&s);
    set_fault("fail_enum", "1:0x8007000E");
    assert_int_equal(edge_fw_list_rules(fwfix_fw, &list, &res), EDGE_E_NO_MEMORY);
    assert_null(list);
    assert_int_equal(res.hresult, 0x8007000Eu);
    set_fault("fail_enum", "1:0x80004005");
    assert_int_equal(edge_fw_list_rules(fwfix_fw, &list, &res), EDGE_E_FIREWALL);
    assert_int_equal(res.hresult, 0x80004005u);
    set_fault("fail_item", "1:0x80010108");
    assert_int_equal(edge_fw_remove_rule(fwfix_fw, s.lease_id, &res), EDGE_E_FIREWALL);
    assert_int_equal(res.hresult, 0x80010108u);
    assert_int_equal(edge_fw_list_rules(fwfix_fw, &list, &res), EDGE_OK);
    assert_int_equal(list->count, 1);
    edge_fw_rule_list_free(list);
}

static void test_no_rule2_falls_back_to_edge_traversal(void **state)
{
    edge_fw_rule_spec s = fwfix_default_spec(56);
    edge_fw_rule_list *list = NULL;
    edge_fw_result res;
    fwdc_rule *rules;
    size_t n = 0;

    (void)state;
    set_fault("no_rule2", "1");
    assert_int_equal(edge_fw_add_rule(fwfix_fw, &s, &res), EDGE_OK);
    assert_true(res.flags & EDGE_FW_RESULT_EDGE_FALLBACK);
    rules = fwfix_stored_ours(&n);
    assert_int_equal(n, 1);
    /* EdgeTraversal TRUE is stored as ALLOW. */
    assert_int_equal(rules[0].edge_traversal_options, 1);
    fwdc_rules_free(rules, n);
    assert_int_equal(edge_fw_list_rules(fwfix_fw, &list, &res), EDGE_OK);
    assert_int_equal(list->count, 1);
    assert_true(list->rules[0].edge_from_legacy);
    assert_int_equal(list->rules[0].spec.edge_mode, EDGE_FW_EDGE_ALLOW);
    edge_fw_rule_list_free(list);
    /* Verify accepts the fallback as what add wrote. */
    assert_int_equal(edge_fw_verify_rule(fwfix_fw, &s, &res), EDGE_OK);
}

static void test_no_rule3_no_owner_but_success(void **state)
{
    edge_fw_rule_spec s = fwfix_default_spec(57);
    edge_fw_result res;
    fwdc_rule *rules;
    size_t n = 0;

    (void)state;
    set_fault("no_rule3", "1");
    assert_int_equal(edge_fw_add_rule(fwfix_fw, &s, &res), EDGE_OK);
    assert_true(res.flags & EDGE_FW_RESULT_NO_OWNER);
    assert_false(res.flags & EDGE_FW_RESULT_EDGE_FALLBACK);
    rules = fwfix_stored_ours(&n);
    assert_int_equal(n, 1);
    assert_true(rules[0].local_user_owner == NULL || rules[0].local_user_owner[0] == L'\0');
    assert_int_equal(rules[0].edge_traversal_options, 2);
    fwdc_rules_free(rules, n);
    assert_int_equal(edge_fw_verify_rule(fwfix_fw, &s, &res), EDGE_OK);
}

static void test_latency_beyond_timeout(void **state)
{
    edge_fw_rule_spec s = fwfix_default_spec(58);
    edge_fw_result res;

    (void)state;
    edge_fw_stop(fwfix_fw);
    fwfix_start_backend(400);
    set_fault("latency_ms", "1500");
    /* The first job runs (and is slow): its outcome is unknown when the caller gives up. */
    assert_int_equal(edge_fw_remove_rule(fwfix_fw, s.lease_id, &res), EDGE_E_TIMEOUT);
    assert_true(res.flags & EDGE_FW_RESULT_OUTCOME_UNKNOWN);
    /* The second waits behind it and is withdrawn unstarted. */
    assert_int_equal(edge_fw_add_rule(fwfix_fw, &s, &res), EDGE_E_TIMEOUT);
    assert_true(res.flags & EDGE_FW_RESULT_NOT_STARTED);
    set_fault("latency_ms", NULL);
    /* Once the slow job is through, calls work again; the withdrawn add left nothing. */
    Sleep(4000);
    assert_int_equal(edge_fw_verify_rule(fwfix_fw, &s, &res), EDGE_E_RULE_TAMPERED);
    assert_true(res.flags & EDGE_FW_RESULT_VANISHED);
}

static void test_shutdown_refuses_jobs(void **state)
{
    edge_fw_rule_spec s = fwfix_default_spec(59);
    edge_fw_result res;
    edge_fw_state st;

    (void)state;
    edge_fw_begin_shutdown(fwfix_fw);
    assert_int_equal(edge_fw_add_rule(fwfix_fw, &s, &res), EDGE_E_SHUTTING_DOWN);
    assert_int_equal(edge_fw_read_state(fwfix_fw, &st, &res), EDGE_E_SHUTTING_DOWN);
    assert_int_equal(st.teredo.state, EDGE_FW_UNKNOWN);
    assert_true(st.teredo.reason[0] != '\0');
}

/* ---- tamper detection ---- */

static void test_verify_detects_vanished_and_edited(void **state)
{
    edge_fw_rule_spec a = fwfix_default_spec(60);
    edge_fw_rule_spec b = fwfix_default_spec(61);
    wchar_t name_a[EDGE_FW_NAME_CHARS];
    edge_fw_result res;
    fwdc_rule edited;
    fwdc_rule *rules;
    size_t n = 0, i;

    (void)state;
    fwfix_add_ok(&a);
    fwfix_add_ok(&b);
    assert_int_equal(edge_fw_verify_rule(fwfix_fw, &a, &res), EDGE_OK);
    assert_int_equal(edge_fw_verify_rule(fwfix_fw, &b, &res), EDGE_OK);

    /* Behind the backend's back: delete a, change b's ports. */
    edge_fw_rule_name(a.lease_id, name_a);
    assert_int_equal(fwdc_store_read(&rules, &n), S_OK);
    assert_int_equal(n, 2);
    i = wcscmp(rules[0].name, name_a) == 0 ? 1 : 0;
    edited = rules[i]; /* shallow: strings stay owned by rules */
    edited.local_ports = L"6000";
    store_replace(&edited, 1);
    fwdc_rules_free(rules, n);

    assert_int_equal(edge_fw_verify_rule(fwfix_fw, &a, &res), EDGE_E_RULE_TAMPERED);
    assert_true(res.flags & EDGE_FW_RESULT_VANISHED);
    assert_int_equal(edge_fw_verify_rule(fwfix_fw, &b, &res), EDGE_E_RULE_TAMPERED);
    assert_false(res.flags & EDGE_FW_RESULT_VANISHED);
    assert_int_equal(res.tampered, EDGE_FW_FIELD_PORTS);
    assert_non_null(strstr(res.message, "local ports"));
}

static void test_verify_detects_disabled_and_edge_change(void **state)
{
    edge_fw_rule_spec a = fwfix_default_spec(62);
    edge_fw_result res;
    fwdc_rule edited;
    fwdc_rule *rules;
    size_t n = 0;

    (void)state;
    fwfix_add_ok(&a);
    assert_int_equal(fwdc_store_read(&rules, &n), S_OK);
    assert_int_equal(n, 1);
    edited = rules[0]; /* shallow: strings stay owned by rules */
    edited.enabled = 0;
    edited.edge_traversal_options = 1;
    edited.application_name = L"C:\\Evil\\other.exe";
    store_replace(&edited, 1);
    fwdc_rules_free(rules, n);
    assert_int_equal(edge_fw_verify_rule(fwfix_fw, &a, &res), EDGE_E_RULE_TAMPERED);
    assert_int_equal(res.tampered, EDGE_FW_FIELD_ENABLED | EDGE_FW_FIELD_EDGE | EDGE_FW_FIELD_APP);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fault_access_denied_on_add, fwfix_setup,
                                        fwfix_teardown),
        cmocka_unit_test_setup_teardown(test_fault_invalid_put_names_property, fwfix_setup,
                                        fwfix_teardown),
        cmocka_unit_test_setup_teardown(test_fault_create_class_not_registered, fwfix_setup,
                                        fwfix_teardown),
        cmocka_unit_test_setup_teardown(test_fault_create_access_denied_diagnosed, fwfix_setup,
                                        fwfix_teardown),
        cmocka_unit_test_setup_teardown(test_fault_remove_keeps_rule_findable, fwfix_setup,
                                        fwfix_teardown),
        cmocka_unit_test_setup_teardown(test_fault_enum_and_item, fwfix_setup, fwfix_teardown),
        cmocka_unit_test_setup_teardown(test_no_rule2_falls_back_to_edge_traversal, fwfix_setup,
                                        fwfix_teardown),
        cmocka_unit_test_setup_teardown(test_no_rule3_no_owner_but_success, fwfix_setup,
                                        fwfix_teardown),
        cmocka_unit_test_setup_teardown(test_latency_beyond_timeout, fwfix_setup, fwfix_teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_refuses_jobs, fwfix_setup, fwfix_teardown),
        cmocka_unit_test_setup_teardown(test_verify_detects_vanished_and_edited, fwfix_setup,
                                        fwfix_teardown),
        cmocka_unit_test_setup_teardown(test_verify_detects_disabled_and_edge_change, fwfix_setup,
                                        fwfix_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
