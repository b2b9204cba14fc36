/*
 * The firewall backend (service/firewall*.c) against the conformance double: rule shape, exact
 * removal under name collisions, listing, concurrent callers and listing at scale.  Injected
 * faults, timeouts, shutdown and tamper detection are in test_firewall_faults.c.  The double is
 * reached through COM registration only; the test inspects the double's store directly
 * (fwdouble_control) to see what the backend really wrote.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <windows.h>
#include <process.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firewall.h"
#include "fw_fixture.h"
#include "fwdouble_control.h"

#define APP   FWFIX_APP
#define OWNER FWFIX_OWNER

static void test_add_shape_defer_to_app(void **state)
{
    edge_fw_rule_spec spec = fwfix_default_spec(1);
    wchar_t name[EDGE_FW_NAME_CHARS];
    edge_fw_result res;
    fwdc_rule *rules;
    size_t n = 0;

    (void)state;
    assert_int_equal(edge_fw_add_rule(fwfix_fw, &spec, &res), EDGE_OK);
    assert_int_equal(res.status, EDGE_OK);
    assert_int_equal(res.flags, 0);
    rules = fwfix_stored_ours(&n);
    assert_int_equal(n, 1);
    edge_fw_rule_name(spec.lease_id, name);
    assert_true(wcscmp(rules[0].name, name) == 0);
    assert_true(wcsncmp(name, L"EdgeBroker lease ", 17) == 0);
    assert_int_equal(wcslen(name), 17 + 32);
    assert_true(wcscmp(rules[0].grouping, L"EdgeBroker") == 0);
    assert_true(wcscmp(rules[0].application_name, APP) == 0);
    assert_int_equal(rules[0].protocol, 6);
    assert_true(wcscmp(rules[0].local_ports, L"5000-5010") == 0);
    assert_int_equal(rules[0].direction, 1);
    assert_int_equal(rules[0].action, 1);
    assert_int_equal(rules[0].enabled, 1);
    assert_int_equal(rules[0].profiles, 6);
    assert_int_equal(rules[0].edge_traversal_options, 2);
    assert_non_null(rules[0].local_user_owner);
    assert_true(wcscmp(rules[0].local_user_owner, OWNER) == 0);
    /* The description names the lease and the owner. */
    assert_non_null(rules[0].description);
    assert_non_null(wcsstr(rules[0].description, name + 17));
    assert_non_null(wcsstr(rules[0].description, OWNER));
    fwdc_rules_free(rules, n);
}

static void test_add_shape_allow_udp_single_port(void **state)
{
    edge_fw_rule_spec spec =
        fwfix_make_spec(2, EDGE_FW_PROTO_UDP, 7777, 7777, EDGE_FW_PROFILE_ALL, EDGE_FW_EDGE_ALLOW);
    fwdc_rule *rules;
    size_t n = 0;

    (void)state;
    fwfix_add_ok(&spec);
    rules = fwfix_stored_ours(&n);
    assert_int_equal(n, 1);
    assert_int_equal(rules[0].protocol, 17);
    assert_true(wcscmp(rules[0].local_ports, L"7777") == 0);
    assert_int_equal(rules[0].edge_traversal_options, 1);
    assert_int_equal((unsigned long)rules[0].profiles, 0x7FFFFFFFul);
    fwdc_rules_free(rules, n);
}

static void test_add_rejects_bad_spec_before_com(void **state)
{
    edge_fw_rule_spec spec;
    edge_fw_result res;
    fwdc_rule *rules;
    size_t n = 0;

    (void)state;
    spec = fwfix_make_spec(3, 1 /* ICMP */, 1, 1, EDGE_FW_PROFILE_ALL, EDGE_FW_EDGE_ALLOW);
    assert_int_equal(edge_fw_add_rule(fwfix_fw, &spec, &res), EDGE_E_BAD_REQUEST);
    spec = fwfix_make_spec(3, EDGE_FW_PROTO_TCP, 0, 5, EDGE_FW_PROFILE_ALL, EDGE_FW_EDGE_ALLOW);
    assert_int_equal(edge_fw_add_rule(fwfix_fw, &spec, &res), EDGE_E_BAD_REQUEST);
    spec = fwfix_make_spec(3, EDGE_FW_PROTO_TCP, 9, 5, EDGE_FW_PROFILE_ALL, EDGE_FW_EDGE_ALLOW);
    assert_int_equal(edge_fw_add_rule(fwfix_fw, &spec, &res), EDGE_E_BAD_REQUEST);
    spec = fwfix_make_spec(3, EDGE_FW_PROTO_TCP, 5, 5, 0x10, EDGE_FW_EDGE_ALLOW);
    assert_int_equal(edge_fw_add_rule(fwfix_fw, &spec, &res), EDGE_E_BAD_REQUEST);
    spec = fwfix_make_spec(3, EDGE_FW_PROTO_TCP, 5, 5, EDGE_FW_PROFILE_ALL,
                           EDGE_FW_EDGE_DEFER_TO_USER);
    assert_int_equal(edge_fw_add_rule(fwfix_fw, &spec, &res), EDGE_E_BAD_REQUEST);
    spec = fwfix_default_spec(3);
    spec.image_path = L"C:\\a|b.exe";
    assert_int_equal(edge_fw_add_rule(fwfix_fw, &spec, &res), EDGE_E_BAD_REQUEST);
    spec = fwfix_default_spec(3);
    spec.owner_sid = L"Administrator";
    assert_int_equal(edge_fw_add_rule(fwfix_fw, &spec, &res), EDGE_E_BAD_REQUEST);
    assert_int_equal(res.hresult, 0);
    assert_int_equal(fwdc_store_read(&rules, &n), S_OK);
    assert_int_equal(n, 0);
    fwdc_rules_free(rules, n);
}

static void test_remove(void **state)
{
    edge_fw_rule_spec a = fwfix_default_spec(10);
    edge_fw_rule_spec b = fwfix_default_spec(11);
    wchar_t name[EDGE_FW_NAME_CHARS];
    edge_fw_result res;
    fwdc_rule *rules;
    size_t n = 0;

    (void)state;
    fwfix_add_ok(&a);
    fwfix_add_ok(&b);
    assert_int_equal(edge_fw_remove_rule(fwfix_fw, a.lease_id, &res), EDGE_OK);
    assert_int_equal(res.flags & EDGE_FW_RESULT_WAS_ABSENT, 0);
    edge_fw_rule_name(a.lease_id, name);
    assert_int_equal(fwdc_store_count_named(name), 0);
    rules = fwfix_stored_ours(&n);
    assert_int_equal(n, 1); /* b untouched, and no renamed leftover */
    edge_fw_rule_name(b.lease_id, name);
    assert_true(wcscmp(rules[0].name, name) == 0);
    fwdc_rules_free(rules, n);
}

static void test_remove_absent(void **state)
{
    edge_fw_rule_spec a = fwfix_default_spec(12);
    edge_fw_result res;

    (void)state;
    assert_int_equal(edge_fw_remove_rule(fwfix_fw, a.lease_id, &res), EDGE_OK);
    assert_true(res.flags & EDGE_FW_RESULT_WAS_ABSENT);
    /* Twice: a second removal of a removed rule is also "absent". */
    fwfix_add_ok(&a);
    assert_int_equal(edge_fw_remove_rule(fwfix_fw, a.lease_id, &res), EDGE_OK);
    assert_false(res.flags & EDGE_FW_RESULT_WAS_ABSENT);
    assert_int_equal(edge_fw_remove_rule(fwfix_fw, a.lease_id, &res), EDGE_OK);
    assert_true(res.flags & EDGE_FW_RESULT_WAS_ABSENT);
}

/* A foreign rule with exactly our name, in another group. */
static fwdc_rule foreign_rule(const wchar_t *name, const wchar_t *group)
{
    fwdc_rule r;

    memset(&r, 0, sizeof(r));
    r.name = (wchar_t *)name;
    r.grouping = (wchar_t *)group;
    r.application_name = L"C:\\Other\\other.exe";
    r.protocol = 6;
    r.local_ports = L"5000";
    r.direction = 1;
    r.enabled = 1;
    r.profiles = 0x7FFFFFFF;
    r.action = 1;
    return r;
}

static void check_collision(bool foreign_first)
{
    edge_fw_rule_spec a = fwfix_default_spec(foreign_first ? 20 : 21);
    wchar_t name[EDGE_FW_NAME_CHARS];
    edge_fw_result res;
    fwdc_rule foreign;
    fwdc_rule *rules;
    size_t n = 0;

    edge_fw_rule_name(a.lease_id, name);
    foreign = foreign_rule(name, L"Someone Else");
    if (foreign_first)
        assert_int_equal(fwdc_store_add(&foreign, 1), S_OK);
    fwfix_add_ok(&a);
    if (!foreign_first)
        assert_int_equal(fwdc_store_add(&foreign, 1), S_OK);
    assert_int_equal(fwdc_store_count_named(name), 2);

    assert_int_equal(edge_fw_remove_rule(fwfix_fw, a.lease_id, &res), EDGE_OK);
    assert_false(res.flags & EDGE_FW_RESULT_WAS_ABSENT);
    assert_int_equal(fwdc_store_read(&rules, &n), S_OK);
    assert_int_equal(n, 1);
    assert_true(wcscmp(rules[0].name, name) == 0);
    assert_true(wcscmp(rules[0].grouping, L"Someone Else") == 0);
    fwdc_rules_free(rules, n);

    /* Only the foreign one is left: ours is absent, and the foreign one survives again. */
    assert_int_equal(edge_fw_remove_rule(fwfix_fw, a.lease_id, &res), EDGE_OK);
    assert_true(res.flags & EDGE_FW_RESULT_WAS_ABSENT);
    assert_int_equal(fwdc_store_count_named(name), 1);
    /* And our verify does not mistake the foreign rule for ours. */
    assert_int_equal(edge_fw_verify_rule(fwfix_fw, &a, &res), EDGE_E_RULE_TAMPERED);
    assert_true(res.flags & EDGE_FW_RESULT_VANISHED);
}

static void test_remove_collision_foreign_first(void **state)
{
    (void)state;
    check_collision(true);
}

static void test_remove_collision_foreign_after(void **state)
{
    (void)state;
    check_collision(false);
}

static void test_list_only_our_group(void **state)
{
    edge_fw_rule_spec specs[3];
    edge_fw_rule_list *list = NULL;
    edge_fw_result res;
    fwdc_rule seeded[3];
    size_t i, j, with_id = 0;

    (void)state;
    specs[0] = fwfix_default_spec(30);
    specs[1] = fwfix_make_spec(31, EDGE_FW_PROTO_UDP, 9000, 9000, EDGE_FW_PROFILE_DOMAIN,
                               EDGE_FW_EDGE_ALLOW);
    specs[2] = fwfix_make_spec(32, EDGE_FW_PROTO_TCP, 1, 65535, EDGE_FW_PROFILE_ALL,
                               EDGE_FW_EDGE_DEFER_TO_APP);
    seeded[0] = foreign_rule(L"Other rule", L"Other group");
    seeded[1] = foreign_rule(L"No group at all", NULL);
    seeded[2] = foreign_rule(L"Hand-made rule in our group", L"EdgeBroker");
    assert_int_equal(fwdc_store_add(&seeded[0], 2), S_OK);
    for (i = 0; i < 3; i++)
        fwfix_add_ok(&specs[i]);
    assert_int_equal(fwdc_store_add(&seeded[2], 1), S_OK);

    assert_int_equal(edge_fw_list_rules(fwfix_fw, &list, &res), EDGE_OK);
    assert_non_null(list);
    assert_int_equal(list->count, 4);
    for (i = 0; i < list->count; i++) {
        const edge_fw_listed_rule *r = &list->rules[i];
        if (!r->has_lease_id) {
            assert_true(wcscmp(r->name, L"Hand-made rule in our group") == 0);
            continue;
        }
        with_id++;
        for (j = 0; j < 3; j++) {
            if (memcmp(r->spec.lease_id, specs[j].lease_id, EDGE_FW_LEASE_ID_SIZE) == 0)
                break;
        }
        assert_true(j < 3);
        assert_true(wcscmp(r->spec.image_path, APP) == 0);
        assert_true(wcscmp(r->spec.owner_sid, OWNER) == 0);
        assert_true(r->owner_known);
        assert_true(r->ports_parsed);
        assert_int_equal(r->spec.protocol, specs[j].protocol);
        assert_int_equal(r->spec.port_lo, specs[j].port_lo);
        assert_int_equal(r->spec.port_hi, specs[j].port_hi);
        assert_int_equal(r->spec.profiles, specs[j].profiles);
        assert_int_equal(r->spec.edge_mode, specs[j].edge_mode);
        assert_false(r->edge_from_legacy);
        assert_true(r->enabled);
        assert_int_equal(r->direction, 1);
        assert_int_equal(r->action, 1);
    }
    assert_int_equal(with_id, 3);
    edge_fw_rule_list_free(list);

    /* The hand-made rule can be removed by name; the foreign ones stay. */
    assert_int_equal(edge_fw_remove_rule_named(fwfix_fw, L"Hand-made rule in our group", &res),
                     EDGE_OK);
    assert_int_equal(edge_fw_remove_rule_named(fwfix_fw, L"Other rule", &res), EDGE_OK);
    assert_true(res.flags & EDGE_FW_RESULT_WAS_ABSENT);
    assert_int_equal(fwdc_store_count_named(L"Other rule"), 1);
    assert_int_equal(fwdc_store_count_named(L"Hand-made rule in our group"), 0);
}

static void test_remove_all(void **state)
{
    edge_fw_rule_spec s;
    edge_fw_result res;
    fwdc_rule foreign = foreign_rule(L"Keep me", L"Other group");
    fwdc_rule *rules;
    size_t removed = 0, n = 0;
    uint32_t i;

    (void)state;
    assert_int_equal(fwdc_store_add(&foreign, 1), S_OK);
    for (i = 0; i < 5; i++) {
        s = fwfix_default_spec(40 + i);
        fwfix_add_ok(&s);
    }
    assert_int_equal(edge_fw_remove_all(fwfix_fw, &removed, &res), EDGE_OK);
    assert_int_equal(removed, 5);
    assert_int_equal(fwdc_store_read(&rules, &n), S_OK);
    assert_int_equal(n, 1);
    assert_true(wcscmp(rules[0].name, L"Keep me") == 0);
    fwdc_rules_free(rules, n);
}

/* ---- concurrency ---- */

typedef struct adder_arg {
    uint32_t base;
    int failures;
} adder_arg;

static unsigned __stdcall adder(void *p)
{
    adder_arg *a = p;
    edge_fw_rule_spec s;
    edge_fw_result res;
    uint32_t i;

    for (i = 0; i < 50; i++) {
        s = fwfix_default_spec(a->base + i);
        if (edge_fw_add_rule(fwfix_fw, &s, &res) != EDGE_OK)
            a->failures++;
    }
    return 0;
}

static void test_concurrent_callers(void **state)
{
    adder_arg args[4];
    HANDLE threads[4];
    edge_fw_rule_list *list = NULL;
    edge_fw_result res;
    int i;

    (void)state;
    for (i = 0; i < 4; i++) {
        args[i].base = 1000u + (uint32_t)i * 100u;
        args[i].failures = 0;
        threads[i] = (HANDLE)_beginthreadex(NULL, 0, adder, &args[i], 0, NULL);
        assert_non_null(threads[i]);
    }
    assert_int_equal(WaitForMultipleObjects(4, threads, TRUE, 120000), WAIT_OBJECT_0);
    for (i = 0; i < 4; i++) {
        CloseHandle(threads[i]);
        assert_int_equal(args[i].failures, 0);
    }
    assert_int_equal(edge_fw_list_rules(fwfix_fw, &list, &res), EDGE_OK);
    assert_int_equal(list->count, 200);
    edge_fw_rule_list_free(list);
}

/* ---- scale ---- */

static double now_ms(void)
{
    LARGE_INTEGER f, c;

    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&c);
    return (double)c.QuadPart * 1000.0 / (double)f.QuadPart;
}

static int cmp_ids(const void *a, const void *b)
{
    return memcmp(a, b, EDGE_FW_LEASE_ID_SIZE);
}

/* List and check that exactly the leases seeded 0..count-1 are there, each once. */
static void list_and_check(uint32_t count, double *elapsed)
{
    edge_fw_rule_list *list = NULL;
    edge_fw_result res;
    uint8_t(*ids)[EDGE_FW_LEASE_ID_SIZE];
    edge_fw_rule_spec s;
    double t0;
    uint32_t i;

    t0 = now_ms();
    assert_int_equal(edge_fw_list_rules(fwfix_fw, &list, &res), EDGE_OK);
    *elapsed = now_ms() - t0;
    assert_int_equal(list->count, count);
    ids = malloc((size_t)count * EDGE_FW_LEASE_ID_SIZE);
    assert_non_null(ids);
    for (i = 0; i < count; i++) {
        assert_true(list->rules[i].has_lease_id);
        memcpy(ids[i], list->rules[i].spec.lease_id, EDGE_FW_LEASE_ID_SIZE);
    }
    qsort(ids, count, EDGE_FW_LEASE_ID_SIZE, cmp_ids);
    for (i = 0; i < count; i++) {
        s = fwfix_make_spec(i, EDGE_FW_PROTO_TCP, 20000, 20000, EDGE_FW_PROFILE_ALL,
                            EDGE_FW_EDGE_DEFER_TO_APP);
        assert_non_null(bsearch(s.lease_id, ids, count, EDGE_FW_LEASE_ID_SIZE, cmp_ids));
    }
    free(ids);
    edge_fw_rule_list_free(list);
}

static void add_range(uint32_t from, uint32_t to)
{
    edge_fw_rule_spec s;
    uint32_t i;

    for (i = from; i < to; i++) {
        s = fwfix_make_spec(i, EDGE_FW_PROTO_TCP, 20000, 20000, EDGE_FW_PROFILE_ALL,
                            EDGE_FW_EDGE_DEFER_TO_APP);
        fwfix_add_ok(&s);
    }
}

/*
 * Seed rules from..to-1 straight into the store, shaped exactly like the backend's own rule
 * `tmpl` (only name and description differ).  The double rewrites its whole store on every Add,
 * so adding 9,000 rules one by one through COM measures the double, not the backend.
 */
static void seed_range(const fwdc_rule *tmpl, uint32_t from, uint32_t to)
{
    size_t count = to - from;
    fwdc_rule *rules = calloc(count, sizeof(*rules));
    wchar_t(*names)[EDGE_FW_NAME_CHARS] = calloc(count, sizeof(*names));
    edge_fw_rule_spec s;
    size_t i;

    assert_non_null(rules);
    assert_non_null(names);
    for (i = 0; i < count; i++) {
        s = fwfix_make_spec(from + (uint32_t)i, EDGE_FW_PROTO_TCP, 20000, 20000,
                            EDGE_FW_PROFILE_ALL, EDGE_FW_EDGE_DEFER_TO_APP);
        edge_fw_rule_name(s.lease_id, names[i]);
        rules[i] = *tmpl;
        rules[i].name = names[i];
        rules[i].description = names[i];
    }
    assert_int_equal(fwdc_store_add(rules, count), S_OK);
    free(names);
    free(rules);
}

static void test_scale_1000_and_10000(void **state)
{
    double t0, add_1k, list_1k, seed_ms, add_100, list_10k;
    fwdc_rule *stored;
    size_t n = 0;

    (void)state;
    t0 = now_ms();
    add_range(0, 1000);
    add_1k = now_ms() - t0;
    list_and_check(1000, &list_1k);

    assert_int_equal(fwdc_store_read(&stored, &n), S_OK);
    assert_int_equal(n, 1000);
    t0 = now_ms();
    seed_range(&stored[0], 1000, 9900);
    seed_ms = now_ms() - t0;
    fwdc_rules_free(stored, n);
    /* The last 100 through the backend again, with 9,900 rules already present. */
    t0 = now_ms();
    add_range(9900, 10000);
    add_100 = now_ms() - t0;
    list_and_check(10000, &list_10k);
    print_message("TIMING firewall backend vs double: add 1000 (empty store): %.0f ms; list 1000: "
                  "%.0f ms; add 100 more at 9900 existing: %.0f ms; list 10000: %.0f ms "
                  "(8900 seeded directly in %.0f ms)\n",
                  add_1k, list_1k, add_100, list_10k, seed_ms);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_add_shape_defer_to_app, fwfix_setup, fwfix_teardown),
        cmocka_unit_test_setup_teardown(test_add_shape_allow_udp_single_port, fwfix_setup,
                                        fwfix_teardown),
        cmocka_unit_test_setup_teardown(test_add_rejects_bad_spec_before_com, fwfix_setup,
                                        fwfix_teardown),
        cmocka_unit_test_setup_teardown(test_remove, fwfix_setup, fwfix_teardown),
        cmocka_unit_test_setup_teardown(test_remove_absent, fwfix_setup, fwfix_teardown),
        cmocka_unit_test_setup_teardown(test_remove_collision_foreign_first, fwfix_setup,
                                        fwfix_teardown),
        cmocka_unit_test_setup_teardown(test_remove_collision_foreign_after, fwfix_setup,
                                        fwfix_teardown),
        cmocka_unit_test_setup_teardown(test_list_only_our_group, fwfix_setup, fwfix_teardown),
        cmocka_unit_test_setup_teardown(test_remove_all, fwfix_setup, fwfix_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_callers, fwfix_setup, fwfix_teardown),
        cmocka_unit_test_setup_teardown(test_scale_1000_and_10000, fwfix_setup, fwfix_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
