/*
 * Persistence and reconcile across service restarts, seen through the SCM and the firewall
 * double: a clean stop/start restores leases and rules (a rule deleted while the service was down
 * comes back, an orphan rule in the group goes); and the service killed at random points during
 * 200 mixed request/renew/release operations always comes back with the rules in its group equal
 * to its live leases, every acknowledged change kept.
 *
 * Leases here are KEEP_AFTER_EXIT: after a restart the service no longer watches the process of a
 * lease's client (docs/protocol.md §11), and this test is about persistence, not exit tracking.
 */
#include <windows.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fwdouble_control.h"
#include "itest.h"

#define START_MS    30000u
#define SETTLE_MS   10000u /* start-up reconcile */
#define TOTAL_OPS   200u
#define MAX_LIVE    8u /* well under the per-user quota (16) */
#define MAX_TRACKED 64u
#define PORT_BASE   48000u

struct tracked {
    uint8_t id[EDGE_ID_SIZE];
    bool uncertain; /* an operation on it was cut off: it may or may not exist */
};

struct model {
    struct tracked t[MAX_TRACKED];
    unsigned n;
};

static uint32_t g_rng;

static uint32_t rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 17;
    g_rng ^= g_rng << 5;
    return g_rng;
}

static void model_remove(struct model *m, unsigned i)
{
    m->t[i] = m->t[--m->n];
}

static int model_find(const struct model *m, const uint8_t id[EDGE_ID_SIZE])
{
    unsigned i;

    for (i = 0; i < m->n; i++)
        if (memcmp(m->t[i].id, id, EDGE_ID_SIZE) == 0)
            return (int)i;
    return -1;
}

static itc *connected(void)
{
    itc *c = itc_new();

    assert_non_null(c);
    assert_int_equal(itc_connect(c, ITEST_IO_MS), ERROR_SUCCESS);
    return c;
}

static edge_lease_req keep_req(uint16_t port)
{
    edge_lease_req r = itest_lease_req(EDGE_IPPROTO_TCP, port);

    r.has_flags = true;
    r.flags = EDGE_LEASE_F_KEEP_AFTER_EXIT;
    r.has_seconds = true;
    r.seconds = 3600;
    return r;
}

/* True when the group's rules are exactly the rules of LEASES (by name, no duplicates). */
static bool rules_equal_leases(const itest_lease *leases, size_t n, size_t *nrules)
{
    fwdc_rule *rules = NULL;
    size_t nr = 0, i;
    wchar_t name[64];
    bool eq;

    if (FAILED(fwdc_store_read_group(ITEST_GROUP, &rules, &nr)))
        return false;
    *nrules = nr;
    eq = nr == n;
    for (i = 0; eq && i < n; i++) {
        itest_rule_name(leases[i].id, name, 64);
        eq = fwdc_rules_find(rules, nr, name) != NULL && fwdc_store_count_named(name) == 1;
    }
    fwdc_rules_free(rules, nr);
    return eq;
}

/*
 * Polls (start-up reconcile runs on a worker) until the group's rules are exactly those of the
 * live leases; returns the live leases.  A listed lease in state ENDED has, by definition
 * (docs/protocol.md §8), no rule: it is not live.
 */
static itest_lease *settle(itc *c, size_t *n)
{
    ULONGLONG end = GetTickCount64() + SETTLE_MS;
    itest_lease *l = NULL;
    size_t nrules = 0, i, live;
    uint32_t st = 0;

    for (;;) {
        free(l);
        l = NULL;
        assert_int_equal(itc_list(c, EDGE_LIST_F_ALL, &st, &l, n), ERROR_SUCCESS);
        assert_int_equal(st, EDGE_OK);
        for (i = live = 0; i < *n; i++)
            if (l[i].state != EDGE_LEASE_STATE_ENDED)
                l[live++] = l[i];
        *n = live;
        if (rules_equal_leases(l, *n, &nrules))
            return l;
        if (GetTickCount64() >= end)
            fail_msg("after %u ms the group holds %u rules for %u leases", SETTLE_MS,
                     (unsigned)nrules, (unsigned)*n);
        Sleep(100);
    }
}

static void test_restart_restores_leases_and_rules(void **state)
{
    itc *c = connected();
    itest_lease mine[3], *after = NULL;
    fwdc_rule *rules = NULL, orphan;
    size_t nr = 0, n = 0, i;
    wchar_t name[64];
    uint32_t st = 0;
    edge_lease_req r;
    static const uint8_t ghost[EDGE_ID_SIZE] = {0x0b, 0xad, 0xf0, 0x0d};

    (void)state;
    for (i = 0; i < 3; i++) {
        r = keep_req((uint16_t)(PORT_BASE + i));
        assert_int_equal(itc_request(c, &r, &st, &mine[i]), ERROR_SUCCESS);
        assert_int_equal(st, EDGE_OK);
    }
    itc_free(c);
    assert_int_equal(itest_svc_stop(15000, NULL), ERROR_SUCCESS);

    /* Behind the stopped service's back: lose lease 1's rule, plant an orphan in the group. */
    assert_true(SUCCEEDED(fwdc_store_read(&rules, &nr)));
    assert_true(SUCCEEDED(fwdc_store_reset()));
    itest_rule_name(mine[1].id, name, 64);
    for (i = 0; i < nr; i++)
        if (!rules[i].name || wcscmp(rules[i].name, name) != 0)
            assert_true(SUCCEEDED(fwdc_store_add(&rules[i], 1)));
    itest_rule_name(mine[0].id, name, 64);
    orphan = *fwdc_rules_find(rules, nr, name);
    itest_rule_name(ghost, name, 64);
    orphan.name = name;
    assert_true(SUCCEEDED(fwdc_store_add(&orphan, 1)));
    fwdc_rules_free(rules, nr);
    assert_false(itest_fw_wait_rule(mine[1].id, true, 0));

    assert_int_equal(itest_svc_start(START_MS), ERROR_SUCCESS);
    c = connected();
    after = settle(c, &n);
    assert_int_equal(n, 3);
    for (i = 0; i < 3; i++) {
        size_t j;
        bool found = false;
        for (j = 0; j < n; j++) {
            if (memcmp(after[j].id, mine[i].id, EDGE_ID_SIZE) == 0) {
                found = true;
                assert_int_equal(after[j].port_lo, mine[i].port_lo);
                assert_int_equal(after[j].expires, mine[i].expires);
            }
        }
        assert_true(found);
        assert_int_equal(itc_release(c, mine[i].id, &st), ERROR_SUCCESS);
        assert_int_equal(st, EDGE_OK);
    }
    assert_false(itest_fw_wait_rule(ghost, true, 0));
    assert_int_equal(itest_fw_group_count(), 0);
    free(after);
    itc_free(c);
}

struct killer {
    DWORD delay_ms;
    DWORD err;
};

static DWORD WINAPI killer_main(void *arg)
{
    struct killer *k = arg;

    Sleep(k->delay_ms);
    k->err = itest_svc_kill(15000);
    return 0;
}

/* One operation; false when the service went away under it (the kill). */
static bool one_op(itc *c, struct model *m, unsigned *port)
{
    unsigned pick = rnd() % 3, i;
    itest_lease l;
    uint32_t st = 0;
    DWORD err;

    if (m->n == 0 || (pick == 0 && m->n < MAX_LIVE)) {
        edge_lease_req r = keep_req((uint16_t)(PORT_BASE + 100 + (*port)++ % 1000));
        err = itc_request(c, &r, &st, &l);
        if (err != ERROR_SUCCESS)
            return false;
        assert_int_equal(st, EDGE_OK);
        assert_true(m->n < MAX_TRACKED);
        memcpy(m->t[m->n].id, l.id, EDGE_ID_SIZE);
        m->t[m->n++].uncertain = false;
        return true;
    }
    i = rnd() % m->n;
    if (pick == 1) {
        err = itc_renew(c, m->t[i].id, 600 + rnd() % 600, &st, NULL);
        if (err != ERROR_SUCCESS)
            return false;
        assert_true(st == EDGE_OK || (m->t[i].uncertain && st == EDGE_E_NOT_FOUND));
        if (st == EDGE_E_NOT_FOUND)
            model_remove(m, i);
        return true;
    }
    err = itc_release(c, m->t[i].id, &st);
    if (err != ERROR_SUCCESS) {
        m->t[i].uncertain = true;
        return false;
    }
    assert_true(st == EDGE_OK || (m->t[i].uncertain && st == EDGE_E_NOT_FOUND));
    model_remove(m, i);
    return true;
}

static void test_kill_during_mixed_operations(void **state)
{
    struct model m;
    unsigned ops = 0, rounds = 0, port = 0, i;
    itest_lease *live = NULL;
    size_t n = 0, j;
    uint32_t st = 0;

    (void)state;
    memset(&m, 0, sizeof(m));
    g_rng = (uint32_t)GetTickCount64() | 1u;
    print_message("seed %lu\n", (unsigned long)g_rng);
    while (ops < TOTAL_OPS) {
        struct killer k = {50 + rnd() % 1500, ERROR_SUCCESS};
        HANDLE th = CreateThread(NULL, 0, killer_main, &k, 0, NULL);
        itc *c = itc_new();
        unsigned done = 0;
        bool up;

        assert_non_null(th);
        assert_non_null(c);
        up = itc_connect(c, ITEST_IO_MS) == ERROR_SUCCESS; /* the kill may come first */
        while (up && ops < TOTAL_OPS && one_op(c, &m, &port)) {
            ops++;
            done++;
        }
        itc_free(c);
        assert_int_equal(WaitForSingleObject(th, 30000), WAIT_OBJECT_0);
        CloseHandle(th);
        /* The last round may finish its operations before the kill: that is fine. */
        assert_int_equal(k.err, ERROR_SUCCESS);
        rounds++;
        print_message("round %u: killed after %lu ms, %u operations done\n", rounds,
                      (unsigned long)k.delay_ms, done);

        assert_int_equal(itest_svc_start(START_MS), ERROR_SUCCESS);
        c = connected();
        live = settle(c, &n);
        /* Every acknowledged lease is there; anything else was cut off mid-operation. */
        for (i = 0; i < m.n; i++) {
            bool found = false;
            for (j = 0; j < n; j++)
                found = found || memcmp(live[j].id, m.t[i].id, EDGE_ID_SIZE) == 0;
            assert_true(found || m.t[i].uncertain);
            if (!found)
                model_remove(&m, i--);
        }
        for (j = 0; j < n; j++) {
            if (model_find(&m, live[j].id) < 0) {
                /* a request whose reply the kill swallowed: adopt it */
                assert_true(m.n < MAX_TRACKED);
                memcpy(m.t[m.n].id, live[j].id, EDGE_ID_SIZE);
                m.t[m.n++].uncertain = false;
            }
        }
        for (i = 0; i < m.n; i++)
            m.t[i].uncertain = false;
        free(live);
        itc_free(c);
    }
    assert_true(rounds >= 3);

    /* Clean up: everything released, nothing left in the group. */
    {
        itc *c = connected();
        for (i = 0; i < m.n; i++) {
            assert_int_equal(itc_release(c, m.t[i].id, &st), ERROR_SUCCESS);
            assert_int_equal(st, EDGE_OK);
        }
        assert_int_equal(itest_fw_group_count(), 0);
        itc_free(c);
    }
}

static int ensure_running(void **state)
{
    (void)state;
    return itest_svc_start(START_MS) == ERROR_SUCCESS ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_restart_restores_leases_and_rules, ensure_running),
        cmocka_unit_test_teardown(test_kill_during_mixed_operations, ensure_running),
    };
    if (itest_fw_use_service_store() != ERROR_SUCCESS)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
