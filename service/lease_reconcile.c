/*
 * Reconcile: make the EdgeBroker firewall group equal the live leases (plan: reconcile.h), at
 * start, periodically and on demand.  Firewall failures are counted, audited and retried with
 * exponential back-off; they never stop the service.
 */
#include "leases_internal.h"
#include "reconcile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, EDGE_LEASE_ID_LEN);
}

static bool id_in(const uint8_t (*ids)[EDGE_LEASE_ID_LEN], size_t n, const uint8_t *id)
{
    return n && bsearch(id, ids, n, EDGE_LEASE_ID_LEN, cmp_id) != NULL;
}

struct pass {
    struct leases *m;
    struct leases_reconcile_report *r;
    edge_status first; /* first failure */
};

static void fail(struct pass *p, edge_status st, const edge_fw_result *fw, const uint8_t *id,
                 const wchar_t *rule_name, const char *what)
{
    struct lm_audit_event ev;
    char text[EDGE_FW_MESSAGE_MAX + 64];

    p->r->failures++;
    if (p->first == EDGE_OK) {
        p->first = st;
        p->r->hresult = fw ? fw->hresult : 0;
    }
    (void)snprintf(text, sizeof(text), "reconcile: %s: %s", what,
                   fw && fw->message[0] ? fw->message : edge_status_name(st));
    memset(&ev, 0, sizeof(ev));
    ev.kind = AUDIT_FIREWALL_ERROR;
    ev.status = st;
    ev.detail = text;
    ev.lease_id = id;
    ev.rule_name = rule_name;
    ev.has_hresult = fw != NULL;
    ev.hresult = fw ? fw->hresult : 0;
    lm_audit(p->m, &ev);
}

static void audit_action(struct leases *m, audit_kind kind, const edge_lease_info *lease,
                         const uint8_t *id, const wchar_t *rule_name, const char *detail)
{
    struct lm_audit_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.kind = kind;
    ev.status = EDGE_OK;
    ev.detail = detail;
    ev.lease = lease;
    ev.lease_id = id;
    ev.rule_name = rule_name;
    ev.verb = "reconcile";
    ev.has_hresult = true;
    lm_audit(m, &ev);
}

/* A copy of a lease (NULL when it is gone). */
static edge_lease_info *lease_copy(struct leases *m, const uint8_t *id)
{
    edge_lease_info info, *d = NULL;

    AcquireSRWLockShared(&m->lock);
    if (edge_lease_table_get(m->table, id, &info))
        d = lm_lease_dup(&info);
    ReleaseSRWLockShared(&m->lock);
    return d;
}

static void removals(struct pass *p, const reconcile_plan *plan, uint8_t (*expired)[16],
                     size_t *n_expired)
{
    struct leases *m = p->m;
    edge_fw_result fw;
    size_t i;

    for (i = 0; i < plan->remove_count; i++) {
        const reconcile_remove *rm = &plan->remove[i];
        edge_lease_info *lease = NULL;
        edge_status st;

        if (rm->reason == RECONCILE_REMOVE_LEASE_EXPIRED) {
            /* The end path audits, persists and removes it like any expiry. */
            memcpy(expired[(*n_expired)++], rm->lease_id, EDGE_LEASE_ID_LEN);
            continue;
        }
        if (rm->reason == RECONCILE_REMOVE_LEASE_ENDING) {
            lease = lease_copy(m, rm->lease_id);
            if (lease) {
                st = lm_finish_ending(m, lease, NULL, &fw);
                if (st == EDGE_OK)
                    p->r->endings_finished++;
                else
                    fail(p, st, &fw, rm->lease_id, rm->name, "finishing an ending lease");
                free(lease);
                continue;
            }
        }
        st = rm->by_name ? edge_fw_remove_rule_named(m->fw, rm->name, &fw)
                         : edge_fw_remove_rule(m->fw, rm->lease_id, &fw);
        if (st != EDGE_OK) {
            fail(p, st, &fw, rm->has_lease_id ? rm->lease_id : NULL, rm->name, "removing a rule");
            continue;
        }
        if (rm->reason != RECONCILE_REMOVE_DUPLICATE)
            p->r->orphans_removed++;
        audit_action(m, AUDIT_RECONCILE_REMOVED_ORPHAN, NULL,
                     rm->has_lease_id ? rm->lease_id : NULL, rm->name,
                     rm->reason == RECONCILE_REMOVE_DUPLICATE      ? "duplicate rule removed"
                     : rm->reason == RECONCILE_REMOVE_FOREIGN_NAME ? "rule without a lease id"
                                                                   : "rule without a lease");
    }
}

static void forget(struct pass *p, const reconcile_plan *plan)
{
    struct leases *m = p->m;
    edge_lease_info info;
    size_t i, n = 0;

    AcquireSRWLockExclusive(&m->lock);
    for (i = 0; i < plan->forget_count; i++) {
        if (edge_lease_table_get(m->table, plan->forget[i], &info) &&
            info.state == EDGE_LEASE_ENDING) {
            audit_action(m, AUDIT_RULE_REMOVED, &info, NULL, NULL,
                         "rule already gone; ending lease removed");
            (void)edge_lease_table_remove(m->table, plan->forget[i]);
            n++;
        }
    }
    if (n)
        (void)lm_persist(m);
    ReleaseSRWLockExclusive(&m->lock);
    p->r->endings_finished += (uint32_t)n;
}

/* Creates (repair: replaces) the rule of a live lease.  True on success. */
static bool make_rule(struct pass *p, const uint8_t *id, bool repair, uint32_t fields)
{
    struct leases *m = p->m;
    edge_lease_info *lease = lease_copy(m, id);
    edge_fw_rule_spec spec;
    edge_fw_result fw;
    edge_status st;
    char text[96];

    if (!lease)
        return false;
    st = reconcile_spec_from_lease(lease, m->cfg.profiles, &spec);
    if (st == EDGE_OK && repair) {
        st = edge_fw_remove_rule(m->fw, id, &fw);
        if (st != EDGE_OK)
            fail(p, st, &fw, id, NULL, "removing an edited rule");
    }
    if (st == EDGE_OK) {
        st = edge_fw_add_rule(m->fw, &spec, &fw);
        if (st != EDGE_OK)
            fail(p, st, &fw, id, NULL, repair ? "re-creating an edited rule" : "restoring a rule");
    }
    reconcile_spec_free(&spec);
    if (st == EDGE_OK) {
        (void)snprintf(text, sizeof(text), "%s (fields 0x%03lx)",
                       repair ? "rule edited outside the service; re-created" : "rule restored",
                       (unsigned long)fields);
        audit_action(m, repair ? AUDIT_RECONCILE_REPAIRED_RULE : AUDIT_RECONCILE_RESTORED_RULE,
                     lease, NULL, NULL, text);
    }
    free(lease);
    return st == EDGE_OK;
}

struct confirm_ctx {
    uint8_t (*ids)[EDGE_LEASE_ID_LEN];
    size_t count, cap;
    uint64_t now;
};

static bool pending_visit(const edge_lease_info *l, void *arg)
{
    struct confirm_ctx *c = arg;

    if (l->state != EDGE_LEASE_RULE_PENDING || l->expires <= c->now || c->count == c->cap)
        return true;
    memcpy(c->ids[c->count++], l->id, EDGE_LEASE_ID_LEN);
    return true;
}

/*
 * Restores and repairs, then marks ACTIVE every live RULE_PENDING lease that now has its rule:
 * those just fixed, and those the plan found in order (e.g. loaded from disk mid-grant).
 */
static void fix_rules(struct pass *p, const reconcile_plan *plan, uint64_t now)
{
    struct leases *m = p->m;
    uint8_t(*bad)[EDGE_LEASE_ID_LEN] = NULL;
    struct confirm_ctx c;
    size_t i, nbad = 0, total = plan->restore_count + plan->repair_count;

    memset(&c, 0, sizeof(c));
    c.now = now;
    if (total)
        bad = calloc(total, EDGE_LEASE_ID_LEN);
    if (total && !bad) {
        fail(p, EDGE_E_NO_MEMORY, NULL, NULL, NULL, "no memory to restore rules");
        return;
    }
    /* Mark them first (REPAIRING on the wire) with one persist, not one per lease. */
    AcquireSRWLockExclusive(&m->lock);
    for (i = 0; i < plan->restore_count; i++)
        (void)edge_lease_table_set_state(m->table, plan->restore[i], EDGE_LEASE_RULE_PENDING);
    for (i = 0; i < plan->repair_count; i++)
        (void)edge_lease_table_set_state(m->table, plan->repair[i].lease_id,
                                         EDGE_LEASE_RULE_PENDING);
    if (total)
        (void)lm_persist(m);
    ReleaseSRWLockExclusive(&m->lock);
    for (i = 0; i < plan->restore_count; i++) {
        if (make_rule(p, plan->restore[i], false, 0))
            p->r->restored++;
        else
            memcpy(bad[nbad++], plan->restore[i], EDGE_LEASE_ID_LEN);
    }
    for (i = 0; i < plan->repair_count; i++) {
        if (make_rule(p, plan->repair[i].lease_id, true, plan->repair[i].fields))
            p->r->repaired++;
        else
            memcpy(bad[nbad++], plan->repair[i].lease_id, EDGE_LEASE_ID_LEN);
    }
    if (nbad > 1)
        qsort(bad, nbad, EDGE_LEASE_ID_LEN, cmp_id);
    AcquireSRWLockExclusive(&m->lock);
    c.cap = edge_lease_table_count(m->table);
    c.ids = calloc(c.cap ? c.cap : 1, EDGE_LEASE_ID_LEN);
    if (c.ids)
        edge_lease_table_foreach(m->table, pending_visit, &c);
    for (i = 0; i < c.count; i++)
        if (!id_in((const uint8_t(*)[EDGE_LEASE_ID_LEN])bad, nbad, c.ids[i]))
            (void)edge_lease_table_set_state(m->table, c.ids[i], EDGE_LEASE_ACTIVE);
    if (c.count || m->dirty)
        (void)lm_persist(m);
    ReleaseSRWLockExclusive(&m->lock);
    free(c.ids);
    free(bad);
}

/* After duplicate removals it is unspecified which copy survived: verify each such lease. */
static void recheck_duplicates(struct pass *p, const reconcile_plan *plan)
{
    struct leases *m = p->m;
    size_t i;

    for (i = 0; i < plan->remove_count; i++) {
        const reconcile_remove *rm = &plan->remove[i];
        edge_lease_info *lease;
        edge_fw_rule_spec spec;
        edge_fw_result fw;
        edge_status st;

        if (rm->reason != RECONCILE_REMOVE_DUPLICATE || !rm->has_lease_id)
            continue;
        lease = lease_copy(m, rm->lease_id);
        if (!lease)
            continue;
        if (reconcile_spec_from_lease(lease, m->cfg.profiles, &spec) == EDGE_OK) {
            st = edge_fw_verify_rule(m->fw, &spec, &fw);
            reconcile_spec_free(&spec);
            if (st == EDGE_E_RULE_TAMPERED) {
                bool vanished = (fw.flags & EDGE_FW_RESULT_VANISHED) != 0;
                if (make_rule(p, rm->lease_id, !vanished, fw.tampered)) {
                    if (vanished)
                        p->r->restored++;
                    else
                        p->r->repaired++;
                }
            } else if (st != EDGE_OK) {
                fail(p, st, &fw, rm->lease_id, NULL, "verifying a de-duplicated rule");
            }
        }
        free(lease);
    }
}

edge_status leases_reconcile_now(struct leases *m, struct leases_reconcile_report *report)
{
    struct leases_reconcile_report local;
    struct pass p;
    edge_fw_rule_list *rules = NULL;
    reconcile_plan *plan = NULL;
    uint8_t(*expired)[EDGE_LEASE_ID_LEN] = NULL;
    size_t n_expired = 0, i;
    edge_fw_result fw;
    uint64_t now;
    edge_status st;

    if (!report)
        report = &local;
    memset(report, 0, sizeof(*report));
    memset(&p, 0, sizeof(p));
    p.m = m;
    p.r = report;
    p.first = EDGE_OK;
    AcquireSRWLockExclusive(&m->gate);
    if (m->stopping) {
        ReleaseSRWLockExclusive(&m->gate);
        report->status = EDGE_E_SHUTTING_DOWN;
        return EDGE_E_SHUTTING_DOWN;
    }
    st = edge_fw_list_rules(m->fw, &rules, &fw);
    if (st != EDGE_OK) {
        fail(&p, st, &fw, NULL, NULL, "listing the group's rules");
        goto done;
    }
    report->rules_listed = (uint32_t)rules->count;
    now = lm_now();
    AcquireSRWLockShared(&m->lock);
    st = reconcile_plan_build(m->table, rules, m->cfg.profiles, now, &plan);
    ReleaseSRWLockShared(&m->lock);
    if (st != EDGE_OK) {
        fail(&p, st, NULL, NULL, NULL, "building the plan");
        goto done;
    }
    expired = calloc(plan->remove_count ? plan->remove_count : 1, EDGE_LEASE_ID_LEN);
    if (!expired) {
        fail(&p, EDGE_E_NO_MEMORY, NULL, NULL, NULL, "no memory");
        goto done;
    }
    removals(&p, plan, expired, &n_expired);
    forget(&p, plan);
    for (i = 0; i < n_expired; i++) {
        st =
            lm_end_locked(m, expired[i], LM_END_EXPIRED, NULL, false, "lease expired", false, NULL);
        if (st == EDGE_OK)
            report->expired_ended++;
        else if (st != EDGE_E_NOT_FOUND)
            fail(&p, st, NULL, expired[i], NULL, "ending an expired lease");
    }
    recheck_duplicates(&p, plan);
    fix_rules(&p, plan, now);
done:
    ReleaseSRWLockExclusive(&m->gate);
    free(expired);
    reconcile_plan_free(plan);
    edge_fw_rule_list_free(rules);
    report->status = p.first;
    AcquireSRWLockExclusive(&m->lock);
    m->reconcile_done = true;
    m->reconcile_status = p.first;
    m->reconcile_last = lm_now();
    ReleaseSRWLockExclusive(&m->lock);
    lm_reconcile_schedule(m, report->failures > 0);
    return p.first;
}

/* ---- scheduling ---------------------------------------------------------------------------- */

static VOID CALLBACK reconcile_timer_cb(PTP_CALLBACK_INSTANCE inst, PVOID ctx, PTP_TIMER timer)
{
    (void)inst;
    (void)timer;
    (void)leases_reconcile_now(ctx, NULL);
}

static VOID CALLBACK reconcile_work_cb(PTP_CALLBACK_INSTANCE inst, PVOID ctx, PTP_WORK work)
{
    (void)inst;
    (void)work;
    (void)leases_reconcile_now(ctx, NULL);
}

void lm_reconcile_schedule(struct leases *m, bool failed)
{
    ULARGE_INTEGER due;
    FILETIME ft;
    uint32_t delay;

    AcquireSRWLockExclusive(&m->lock);
    if (m->stopping || !m->reconcile_timer) {
        ReleaseSRWLockExclusive(&m->lock);
        return;
    }
    if (failed) {
        /* 1 s, 2 s, 4 s ... capped: a firewall outage costs a few calls, not a busy loop. */
        if (m->retry_ms == 0)
            m->retry_ms = m->retry_initial_ms;
        else
            m->retry_ms = m->retry_ms > m->retry_max_ms / 2 ? m->retry_max_ms : m->retry_ms * 2;
        delay = m->retry_ms;
    } else {
        m->retry_ms = 0;
        delay = m->reconcile_interval_ms;
    }
    due.QuadPart = (ULONGLONG)(-(LONGLONG)delay * 10000);
    ft.dwLowDateTime = due.LowPart;
    ft.dwHighDateTime = due.HighPart;
    SetThreadpoolTimer(m->reconcile_timer, &ft, 0, 0);
    ReleaseSRWLockExclusive(&m->lock);
}

void leases_reconcile_async(struct leases *m)
{
    AcquireSRWLockShared(&m->lock);
    if (!m->stopping && m->reconcile_work)
        SubmitThreadpoolWork(m->reconcile_work);
    ReleaseSRWLockShared(&m->lock);
}

edge_status lm_reconcile_create(struct leases *m)
{
    m->reconcile_timer = CreateThreadpoolTimer(reconcile_timer_cb, m, NULL);
    m->reconcile_work = CreateThreadpoolWork(reconcile_work_cb, m, NULL);
    return m->reconcile_timer && m->reconcile_work ? EDGE_OK : EDGE_E_INTERNAL;
}

void lm_reconcile_destroy(struct leases *m)
{
    if (m->reconcile_work) {
        WaitForThreadpoolWorkCallbacks(m->reconcile_work, TRUE);
        CloseThreadpoolWork(m->reconcile_work);
        m->reconcile_work = NULL;
    }
    if (m->reconcile_timer) {
        SetThreadpoolTimer(m->reconcile_timer, NULL, 0, 0);
        WaitForThreadpoolTimerCallbacks(m->reconcile_timer, TRUE);
        CloseThreadpoolTimer(m->reconcile_timer);
        m->reconcile_timer = NULL;
    }
}
