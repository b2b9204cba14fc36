/* Tests of the reconcile planner (service/reconcile.c): pure logic over hand-made inputs. */
#include <windows.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <cmocka.h>

#include "edge/lease.h"
#include "firewall.h"
#include "reconcile.h"

#define SID_A    "S-1-5-21-100-200-300-1001"
#define SID_B    "S-1-5-21-100-200-300-1002"
#define NOW      1700000000u
#define PROFILES (EDGE_FW_PROFILE_PRIVATE | EDGE_FW_PROFILE_DOMAIN)

#define MAX_LEASES 10000u

static char g_paths[MAX_LEASES][40];

/* Lease n: its own image, its own port, expiring an hour after NOW. */
static edge_lease_info mk_lease(uint32_t n, edge_lease_state state)
{
    edge_lease_info l;
    memset(&l, 0, sizeof(l));
    memcpy(l.id, &n, sizeof(n));
    l.id[15] = 0x5A;
    snprintf(g_paths[n], sizeof(g_paths[n]), "C:\\Apps\\App%u.exe", (unsigned)n);
    l.owner_sid = SID_A;
    l.image_path = g_paths[n];
    memset(l.image_sha256, (int)(n & 0xFF), sizeof(l.image_sha256));
    l.protocol = (n & 1) ? EDGE_LEASE_PROTO_UDP : EDGE_LEASE_PROTO_TCP;
    l.port_lo = (uint16_t)(1 + n);
    l.port_hi = (uint16_t)(1 + n);
    l.edge_option = EDGE_LEASE_EDGE_DEFER_TO_APP;
    l.created = NOW - 100;
    l.expires = NOW + 3600;
    l.state = state;
    return l;
}

static edge_lease_table *new_table(void)
{
    edge_lease_table *t = NULL;
    assert_int_equal(edge_lease_table_create(NULL, &t), EDGE_OK);
    return t;
}

static edge_lease_info add(edge_lease_table *t, uint32_t n, edge_lease_state state)
{
    edge_lease_info l = mk_lease(n, state);
    assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_OK);
    return l;
}

/* A rule list the test fills; strings heap-allocated like edge_fw_list_rules' own. */
typedef struct rules {
    edge_fw_rule_list list;
    size_t cap;
} rules;

static void rules_init(rules *r, size_t cap)
{
    r->list.count = 0;
    r->list.rules = calloc(cap ? cap : 1, sizeof(*r->list.rules));
    r->cap = cap;
    assert_non_null(r->list.rules);
}

static wchar_t *wdup(const wchar_t *s)
{
    size_t n = wcslen(s) + 1;
    wchar_t *d = malloc(n * sizeof(*d));
    assert_non_null(d);
    memcpy(d, s, n * sizeof(*d));
    return d;
}

/* Appends the rule the lease should have, exactly as a healthy backend would list it. */
static edge_fw_listed_rule *rule_for(rules *r, const edge_lease_info *l)
{
    assert_true(r->list.count < r->cap);
    edge_fw_listed_rule *x = &r->list.rules[r->list.count++];
    wchar_t name[EDGE_FW_NAME_CHARS];
    memset(x, 0, sizeof(*x));
    assert_int_equal(reconcile_spec_from_lease(l, PROFILES, &x->spec), EDGE_OK);
    edge_fw_rule_name(l->id, name);
    x->name = wdup(name);
    x->has_lease_id = true;
    x->ports_parsed = true;
    x->enabled = true;
    x->owner_known = true;
    x->direction = 1;
    x->action = 1;
    return x;
}

/* Appends a rule whose name carries no lease id. */
static void foreign_rule(rules *r, const wchar_t *name)
{
    assert_true(r->list.count < r->cap);
    edge_fw_listed_rule *x = &r->list.rules[r->list.count++];
    memset(x, 0, sizeof(*x));
    x->name = wdup(name);
    x->spec.image_path = wdup(L"");
    x->spec.owner_sid = wdup(L"");
}

static void rules_free(rules *r)
{
    for (size_t i = 0; i < r->list.count; i++) {
        free(r->list.rules[i].name);
        reconcile_spec_free(&r->list.rules[i].spec);
    }
    free(r->list.rules);
}

static reconcile_plan *plan(edge_lease_table *t, rules *r)
{
    reconcile_plan *p = (reconcile_plan *)1;
    assert_int_equal(reconcile_plan_build(t, r ? &r->list : NULL, PROFILES, NOW, &p), EDGE_OK);
    assert_non_null(p);
    return p;
}

static void assert_counts(const reconcile_plan *p, size_t rm, size_t restore, size_t repair,
                          size_t forget)
{
    assert_int_equal(p->remove_count, rm);
    assert_int_equal(p->restore_count, restore);
    assert_int_equal(p->repair_count, repair);
    assert_int_equal(p->forget_count, forget);
}

/* ---- removals and restores ------------------------------------------------------------------- */

static void test_empty_and_empty(void **state)
{
    (void)state;
    edge_lease_table *t = new_table();
    rules r;
    rules_init(&r, 0);
    reconcile_plan *p = plan(t, &r);
    assert_counts(p, 0, 0, 0, 0);
    reconcile_plan_free(p);
    p = plan(t, NULL);
    assert_counts(p, 0, 0, 0, 0);
    reconcile_plan_free(p);
    /* Arguments. */
    p = (reconcile_plan *)1;
    assert_int_equal(reconcile_plan_build(NULL, &r.list, PROFILES, NOW, &p), EDGE_E_BAD_REQUEST);
    assert_null(p);
    edge_fw_rule_list broken = {1, NULL};
    assert_int_equal(reconcile_plan_build(t, &broken, PROFILES, NOW, &p), EDGE_E_BAD_REQUEST);
    rules_free(&r);
    edge_lease_table_destroy(t);
}

static void test_rule_without_lease_removed(void **state)
{
    (void)state;
    edge_lease_table *t = new_table();
    rules r;
    rules_init(&r, 1);
    edge_lease_info ghost = mk_lease(7, EDGE_LEASE_ACTIVE); /* not in the table */
    add(t, 8, EDGE_LEASE_ACTIVE);
    rule_for(&r, &ghost);
    reconcile_plan *p = plan(t, &r);
    assert_counts(p, 1, 1, 0, 0); /* lease 8 has no rule: restored */
    assert_int_equal(p->remove[0].reason, RECONCILE_REMOVE_UNKNOWN_LEASE);
    assert_false(p->remove[0].by_name);
    assert_true(p->remove[0].has_lease_id);
    assert_memory_equal(p->remove[0].lease_id, ghost.id, EDGE_LEASE_ID_LEN);
    assert_true(wcscmp(p->remove[0].name, r.list.rules[0].name) == 0);
    reconcile_plan_free(p);
    rules_free(&r);
    edge_lease_table_destroy(t);
}

static void test_non_lease_names_removed_by_name(void **state)
{
    (void)state;
    static const wchar_t *const names[] = {
        L"Some other rule", L"EdgeBroker lease ", L"EdgeBroker lease 0123",
        L"EdgeBroker lease 0123456789ABCDEF0123456789ABCDEF", L""};
    edge_lease_table *t = new_table();
    rules r;
    rules_init(&r, 5);
    for (size_t i = 0; i < 5; i++)
        foreign_rule(&r, names[i]);
    reconcile_plan *p = plan(t, &r);
    assert_counts(p, 5, 0, 0, 0);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(p->remove[i].reason, RECONCILE_REMOVE_FOREIGN_NAME);
        assert_true(p->remove[i].by_name);
        assert_false(p->remove[i].has_lease_id);
        assert_true(wcscmp(p->remove[i].name, names[i]) == 0);
        assert_true(p->remove[i].name != r.list.rules[i].name); /* a copy owned by the plan */
    }
    rules_free(&r); /* the plan does not borrow from the list */
    assert_true(wcscmp(p->remove[0].name, names[0]) == 0);
    reconcile_plan_free(p);
    edge_lease_table_destroy(t);
}

static void test_ending_lease(void **state)
{
    (void)state;
    edge_lease_table *t = new_table();
    rules r;
    rules_init(&r, 1);
    edge_lease_info with_rule = add(t, 1, EDGE_LEASE_ENDING);
    edge_lease_info without = add(t, 2, EDGE_LEASE_ENDING);
    rule_for(&r, &with_rule);
    reconcile_plan *p = plan(t, &r);
    assert_counts(p, 1, 0, 0, 1);
    assert_int_equal(p->remove[0].reason, RECONCILE_REMOVE_LEASE_ENDING);
    assert_false(p->remove[0].by_name);
    assert_memory_equal(p->remove[0].lease_id, with_rule.id, EDGE_LEASE_ID_LEN);
    assert_memory_equal(p->forget[0], without.id, EDGE_LEASE_ID_LEN); /* rule confirmed gone */
    reconcile_plan_free(p);
    rules_free(&r);
    edge_lease_table_destroy(t);
}

static void test_expired_lease(void **state)
{
    (void)state;
    edge_lease_table *t = new_table();
    rules r;
    rules_init(&r, 2);
    edge_lease_info a = mk_lease(1, EDGE_LEASE_ACTIVE), b = mk_lease(2, EDGE_LEASE_RULE_PENDING);
    edge_lease_info c = mk_lease(3, EDGE_LEASE_ACTIVE);
    a.expires = NOW; /* expiry is expires <= now */
    b.expires = NOW - 1;
    c.expires = NOW - 5; /* expired, no rule: neither restored nor forgotten */
    assert_int_equal(edge_lease_table_add(t, &a, NULL), EDGE_OK);
    assert_int_equal(edge_lease_table_add(t, &b, NULL), EDGE_OK);
    assert_int_equal(edge_lease_table_add(t, &c, NULL), EDGE_OK);
    rule_for(&r, &a);
    rule_for(&r, &b);
    reconcile_plan *p = plan(t, &r);
    assert_counts(p, 2, 0, 0, 0);
    assert_int_equal(p->remove[0].reason, RECONCILE_REMOVE_LEASE_EXPIRED);
    assert_int_equal(p->remove[1].reason, RECONCILE_REMOVE_LEASE_EXPIRED);
    assert_memory_equal(p->remove[0].lease_id, a.id, EDGE_LEASE_ID_LEN);
    assert_memory_equal(p->remove[1].lease_id, b.id, EDGE_LEASE_ID_LEN);
    reconcile_plan_free(p);
    rules_free(&r);
    edge_lease_table_destroy(t);
}

static void test_live_lease_without_rule_restored(void **state)
{
    (void)state;
    edge_lease_table *t = new_table();
    rules r;
    rules_init(&r, 1);
    edge_lease_info a = add(t, 1, EDGE_LEASE_ACTIVE);
    edge_lease_info b = add(t, 2, EDGE_LEASE_RULE_PENDING);
    edge_lease_info c = add(t, 3, EDGE_LEASE_ACTIVE);
    rule_for(&r, &c);
    reconcile_plan *p = plan(t, &r);
    assert_counts(p, 0, 2, 0, 0);
    bool saw_a = false, saw_b = false;
    for (size_t i = 0; i < 2; i++) {
        saw_a = saw_a || memcmp(p->restore[i], a.id, EDGE_LEASE_ID_LEN) == 0;
        saw_b = saw_b || memcmp(p->restore[i], b.id, EDGE_LEASE_ID_LEN) == 0;
    }
    assert_true(saw_a && saw_b);
    reconcile_plan_free(p);
    rules_free(&r);
    edge_lease_table_destroy(t);
}

/* ---- repairs --------------------------------------------------------------------------------- */

typedef void (*edit_fn)(edge_fw_listed_rule *rule, edge_lease_info *lease);

/* One lease with one rule, edited by `edit`; the plan must repair exactly `fields`. */
static void expect_repair(edit_fn edit, uint32_t fields)
{
    edge_lease_table *t = new_table();
    rules r;
    rules_init(&r, 1);
    edge_lease_info l = mk_lease(4, EDGE_LEASE_ACTIVE);
    edge_fw_listed_rule *x = rule_for(&r, &l);
    edit(x, &l);
    assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_OK);
    reconcile_plan *p = plan(t, &r);
    if (fields == 0) {
        assert_counts(p, 0, 0, 0, 0);
    } else {
        assert_counts(p, 0, 0, 1, 0);
        assert_memory_equal(p->repair[0].lease_id, l.id, EDGE_LEASE_ID_LEN);
        assert_int_equal(p->repair[0].fields, fields);
    }
    uint32_t f = 0xDEAD;
    edge_lease_info got;
    assert_true(edge_lease_table_get(t, l.id, &got));
    assert_int_equal(reconcile_rule_diff(x, &got, PROFILES, &f), EDGE_OK);
    assert_int_equal(f, fields);
    reconcile_plan_free(p);
    rules_free(&r);
    edge_lease_table_destroy(t);
}

static void set_wstr(wchar_t **s, const wchar_t *v)
{
    free(*s);
    *s = wdup(v);
}

static void e_none(edge_fw_listed_rule *x, edge_lease_info *l)
{
    (void)x, (void)l;
}
static void e_app(edge_fw_listed_rule *x, edge_lease_info *l)
{
    (void)l;
    set_wstr(&x->spec.image_path, L"C:\\Apps\\Other.exe");
}
static void e_app_case(edge_fw_listed_rule *x, edge_lease_info *l)
{
    (void)l;
    set_wstr(&x->spec.image_path, L"c:\\APPS\\app4.EXE");
}
static void e_app_unicode_case(edge_fw_listed_rule *x, edge_lease_info *l)
{
    l->image_path = "C:\\Apps\\Caf\xC3\xA9.exe"; /* U+00E9 */
    set_wstr(&x->spec.image_path, L"C:\\APPS\\CAF\x00C9.EXE");
}
static void e_protocol(edge_fw_listed_rule *x, edge_lease_info *l)
{
    (void)l;
    x->spec.protocol = EDGE_FW_PROTO_UDP;
}
static void e_ports(edge_fw_listed_rule *x, edge_lease_info *l)
{
    (void)l;
    x->spec.port_hi = (uint16_t)(x->spec.port_hi + 1);
}
static void e_ports_unparsed(edge_fw_listed_rule *x, edge_lease_info *l)
{
    (void)l;
    x->ports_parsed = false;
}
static void e_direction(edge_fw_listed_rule *x, edge_lease_info *l)
{
    (void)l;
    x->direction = 2;
}
static void e_action(edge_fw_listed_rule *x, edge_lease_info *l)
{
    (void)l;
    x->action = 0;
}
static void e_enabled(edge_fw_listed_rule *x, edge_lease_info *l)
{
    (void)l;
    x->enabled = false;
}
static void e_profiles(edge_fw_listed_rule *x, edge_lease_info *l)
{
    (void)l;
    x->spec.profiles = EDGE_FW_PROFILE_ALL;
}
static void e_edge(edge_fw_listed_rule *x, edge_lease_info *l)
{
    (void)l;
    x->spec.edge_mode = EDGE_FW_EDGE_ALLOW;
}
static void e_edge_legacy_ok(edge_fw_listed_rule *x, edge_lease_info *l)
{
    (void)l; /* EdgeTraversal TRUE stands for DEFER_TO_APP on a system without INetFwRule2 */
    x->edge_from_legacy = true;
    x->spec.edge_mode = EDGE_FW_EDGE_ALLOW;
}
static void e_edge_legacy_deny(edge_fw_listed_rule *x, edge_lease_info *l)
{
    (void)l;
    x->edge_from_legacy = true;
    x->spec.edge_mode = EDGE_FW_EDGE_DENY;
}
static void e_owner(edge_fw_listed_rule *x, edge_lease_info *l)
{
    (void)l;
    set_wstr(&x->spec.owner_sid, L"" SID_B);
}
static void e_owner_empty(edge_fw_listed_rule *x, edge_lease_info *l)
{
    (void)l;
    set_wstr(&x->spec.owner_sid, L"");
}
static void e_owner_unknown(edge_fw_listed_rule *x, edge_lease_info *l)
{
    (void)l; /* no INetFwRule3: the owner cannot be read, so it is not compared */
    x->owner_known = false;
    set_wstr(&x->spec.owner_sid, L"");
}
static void e_owner_case(edge_fw_listed_rule *x, edge_lease_info *l)
{
    (void)l;
    set_wstr(&x->spec.owner_sid, L"s-1-5-21-100-200-300-1001");
}
static void e_many(edge_fw_listed_rule *x, edge_lease_info *l)
{
    e_app(x, l);
    e_ports(x, l);
    e_enabled(x, l);
    e_owner(x, l);
}

static void test_each_edited_field_repaired(void **state)
{
    (void)state;
    expect_repair(e_none, 0);
    expect_repair(e_app, EDGE_FW_FIELD_APP);
    expect_repair(e_app_case, 0);
    expect_repair(e_app_unicode_case, 0);
    expect_repair(e_protocol, EDGE_FW_FIELD_PROTOCOL);
    expect_repair(e_ports, EDGE_FW_FIELD_PORTS);
    expect_repair(e_ports_unparsed, EDGE_FW_FIELD_PORTS);
    expect_repair(e_direction, EDGE_FW_FIELD_DIRECTION);
    expect_repair(e_action, EDGE_FW_FIELD_ACTION);
    expect_repair(e_enabled, EDGE_FW_FIELD_ENABLED);
    expect_repair(e_profiles, EDGE_FW_FIELD_PROFILES);
    expect_repair(e_edge, EDGE_FW_FIELD_EDGE);
    expect_repair(e_edge_legacy_ok, 0);
    expect_repair(e_edge_legacy_deny, EDGE_FW_FIELD_EDGE);
    expect_repair(e_owner, EDGE_FW_FIELD_OWNER);
    expect_repair(e_owner_empty, EDGE_FW_FIELD_OWNER);
    expect_repair(e_owner_unknown, 0);
    expect_repair(e_owner_case, 0);
    expect_repair(e_many, EDGE_FW_FIELD_APP | EDGE_FW_FIELD_PORTS | EDGE_FW_FIELD_ENABLED |
                              EDGE_FW_FIELD_OWNER);
}

/* EDGE_FW_PROFILE_ALL and the three bits are the same set of profiles. */
static void test_profiles_all_equals_three_bits(void **state)
{
    (void)state;
    edge_lease_table *t = new_table();
    rules r;
    rules_init(&r, 1);
    edge_lease_info l = add(t, 1, EDGE_LEASE_ACTIVE);
    rule_for(&r, &l)->spec.profiles = EDGE_FW_PROFILE_ALL;
    reconcile_plan *p = NULL;
    assert_int_equal(reconcile_plan_build(t, &r.list, 0x7u, NOW, &p), EDGE_OK);
    assert_counts(p, 0, 0, 0, 0);
    reconcile_plan_free(p);
    assert_int_equal(reconcile_plan_build(t, &r.list, EDGE_FW_PROFILE_PUBLIC, NOW, &p), EDGE_OK);
    assert_counts(p, 0, 0, 1, 0);
    reconcile_plan_free(p);
    rules_free(&r);
    edge_lease_table_destroy(t);
}

static void test_duplicates_removed_by_name(void **state)
{
    (void)state;
    edge_lease_table *t = new_table();
    rules r;
    rules_init(&r, 5);
    edge_lease_info a = add(t, 1, EDGE_LEASE_ACTIVE);
    edge_lease_info b = add(t, 2, EDGE_LEASE_ACTIVE);
    rule_for(&r, &a);
    rule_for(&r, &a);
    rule_for(&r, &a)->enabled = false;
    rule_for(&r, &b)->enabled = false; /* b: an edited copy first, then a good one */
    rule_for(&r, &b);
    reconcile_plan *p = plan(t, &r);
    assert_counts(p, 3, 0, 0, 0); /* the kept copies match: nothing to repair */
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(p->remove[i].reason, RECONCILE_REMOVE_DUPLICATE);
        assert_true(p->remove[i].by_name);
        assert_true(p->remove[i].has_lease_id);
    }
    assert_memory_equal(p->remove[0].lease_id, a.id, EDGE_LEASE_ID_LEN);
    assert_memory_equal(p->remove[1].lease_id, a.id, EDGE_LEASE_ID_LEN);
    assert_memory_equal(p->remove[2].lease_id, b.id, EDGE_LEASE_ID_LEN);
    assert_true(wcscmp(p->remove[2].name, r.list.rules[3].name) == 0);
    reconcile_plan_free(p);

    /* Every copy edited: one is kept and repaired, the rest removed. */
    r.list.rules[4].spec.port_lo = 9;
    p = plan(t, &r);
    assert_counts(p, 3, 0, 1, 0);
    assert_memory_equal(p->repair[0].lease_id, b.id, EDGE_LEASE_ID_LEN);
    reconcile_plan_free(p);
    rules_free(&r);
    edge_lease_table_destroy(t);
}

/* ---- the rule spec --------------------------------------------------------------------------- */

static void test_spec_from_lease(void **state)
{
    (void)state;
    edge_lease_info l = mk_lease(3, EDGE_LEASE_ACTIVE);
    edge_fw_rule_spec s;
    l.image_path = "C:\\Apps\\Caf\xC3\xA9 \xF0\x9F\x98\x80.exe"; /* U+00E9, U+1F600 */
    l.edge_option = EDGE_LEASE_EDGE_ALLOW;
    l.port_hi = 20;
    assert_int_equal(reconcile_spec_from_lease(&l, PROFILES, &s), EDGE_OK);
    assert_memory_equal(s.lease_id, l.id, EDGE_LEASE_ID_LEN);
    assert_true(wcscmp(s.image_path, L"C:\\Apps\\Caf\x00E9 \xD83D\xDE00.exe") == 0);
    assert_true(wcscmp(s.owner_sid, L"" SID_A) == 0);
    assert_int_equal(s.protocol, EDGE_FW_PROTO_UDP);
    assert_int_equal(s.port_lo, 4);
    assert_int_equal(s.port_hi, 20);
    assert_int_equal(s.profiles, PROFILES);
    assert_int_equal(s.edge_mode, EDGE_FW_EDGE_ALLOW);
    reconcile_spec_free(&s);
    assert_null(s.image_path);
    assert_null(s.owner_sid);
    reconcile_spec_free(NULL);

    /* Invalid UTF-8 (a lone continuation byte, an overlong '/') is refused, not replaced. */
    static const char *const bad[] = {"C:\\Apps\\\x80.exe", "C:\\Apps\\\xC0\xAF.exe", ""};
    for (size_t i = 0; i < 3; i++) {
        l.image_path = bad[i];
        s.image_path = (wchar_t *)1;
        assert_int_equal(reconcile_spec_from_lease(&l, PROFILES, &s), EDGE_E_BAD_REQUEST);
        assert_null(s.image_path);
        assert_null(s.owner_sid);
    }
    assert_int_equal(reconcile_spec_from_lease(NULL, PROFILES, &s), EDGE_E_BAD_REQUEST);
}

/* ---- scale ----------------------------------------------------------------------------------- */

static void test_ten_thousand(void **state)
{
    (void)state;
    edge_lease_table *t = new_table();
    rules r;
    rules_init(&r, MAX_LEASES);
    edge_lease_info *leases = calloc(MAX_LEASES, sizeof(*leases));
    assert_non_null(leases);
    for (uint32_t i = 0; i < MAX_LEASES; i++)
        leases[i] = add(t, i, i % 100 == 0 ? EDGE_LEASE_ENDING : EDGE_LEASE_ACTIVE);
    /* Rules for 9,000 leases (every 10th lease has none), every 7th of those edited, then 1,000
     * rules of leases that do not exist. */
    size_t edited = 0, ending_with_rule = 0, restore = 0, forget = 0;
    for (uint32_t i = 0; i < MAX_LEASES; i++) {
        bool ending = i % 100 == 0;
        if (i % 10 == 0) {
            if (ending)
                forget++;
            else
                restore++;
            continue;
        }
        edge_fw_listed_rule *x = rule_for(&r, &leases[i]);
        if (i % 7 == 0) {
            x->spec.port_lo = (uint16_t)(x->spec.port_lo + 1);
            edited++;
        }
        if (ending)
            ending_with_rule++;
    }
    for (uint32_t i = 0; i < 1000; i++) {
        edge_lease_info ghost = mk_lease(i, EDGE_LEASE_ACTIVE);
        ghost.id[14] = 0xEE;
        rule_for(&r, &ghost);
    }
    assert_int_equal(r.list.count, MAX_LEASES);
    assert_int_equal(ending_with_rule, 0); /* every 100th is also every 10th */

    LARGE_INTEGER f, t0, t1;
    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&t0);
    reconcile_plan *p = plan(t, &r);
    QueryPerformanceCounter(&t1);
    print_message("reconcile plan: %u leases, %u rules: %.2f ms\n", (unsigned)MAX_LEASES,
                  (unsigned)r.list.count,
                  (double)(t1.QuadPart - t0.QuadPart) * 1000.0 / (double)f.QuadPart);
    assert_counts(p, 1000, restore, edited, forget);
    for (size_t i = 0; i < p->remove_count; i++)
        assert_int_equal(p->remove[i].reason, RECONCILE_REMOVE_UNKNOWN_LEASE);
    for (size_t i = 0; i < p->repair_count; i++) {
        uint32_t n;
        memcpy(&n, p->repair[i].lease_id, sizeof(n));
        assert_int_equal(n % 7, 0);
        assert_int_equal(p->repair[i].fields, EDGE_FW_FIELD_PORTS);
    }
    for (size_t i = 0; i < p->restore_count; i++) {
        uint32_t n;
        memcpy(&n, p->restore[i], sizeof(n));
        assert_int_equal(n % 10, 0);
        assert_int_not_equal(n % 100, 0);
    }
    reconcile_plan_free(p);
    free(leases);
    rules_free(&r);
    edge_lease_table_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_and_empty),
        cmocka_unit_test(test_rule_without_lease_removed),
        cmocka_unit_test(test_non_lease_names_removed_by_name),
        cmocka_unit_test(test_ending_lease),
        cmocka_unit_test(test_expired_lease),
        cmocka_unit_test(test_live_lease_without_rule_restored),
        cmocka_unit_test(test_each_edited_field_repaired),
        cmocka_unit_test(test_profiles_all_equals_three_bits),
        cmocka_unit_test(test_duplicates_removed_by_name),
        cmocka_unit_test(test_spec_from_lease),
        cmocka_unit_test(test_ten_thousand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
