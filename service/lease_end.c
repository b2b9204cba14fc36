/*
 * The end of a lease, whatever its cause: ENDING + persist -> remove the rule -> remove the lease
 * + persist.  Release, revoke and purge are the verbs; expiry and client exit call lm_end_lease
 * from lease_timers.c.
 */
#include "leases_internal.h"
#include "caller.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static audit_kind end_kind(enum lm_end_reason reason)
{
    switch (reason) {
    case LM_END_RELEASED:
        return AUDIT_LEASE_RELEASED;
    case LM_END_EXPIRED:
        return AUDIT_LEASE_EXPIRED;
    case LM_END_CLIENT_EXITED:
        return AUDIT_LEASE_CLIENT_EXITED;
    case LM_END_REVOKED:
    case LM_END_PURGED:
    default:
        return AUDIT_LEASE_REVOKED;
    }
}

static const char *end_verb(enum lm_end_reason reason)
{
    switch (reason) {
    case LM_END_RELEASED:
        return "release";
    case LM_END_REVOKED:
        return "revoke";
    case LM_END_PURGED:
        return "purge";
    case LM_END_EXPIRED:
        return "expire";
    case LM_END_CLIENT_EXITED:
    default:
        return "client-exit";
    }
}

edge_status lm_finish_ending(struct leases *m, const edge_lease_info *lease,
                             const struct caller_identity *caller, edge_fw_result *fwres)
{
    struct lm_audit_event ev;
    edge_status st;

    st = edge_fw_remove_rule(m->fw, lease->id, fwres);
    memset(&ev, 0, sizeof(ev));
    ev.caller = caller;
    ev.lease = lease;
    ev.has_hresult = true;
    ev.hresult = fwres->hresult;
    ev.status = st;
    if (st != EDGE_OK) {
        ev.kind = AUDIT_FIREWALL_ERROR;
        ev.detail = fwres->message[0] ? fwres->message : "rule removal failed; will be retried";
        lm_audit(m, &ev);
        return st;
    }
    ev.kind = AUDIT_RULE_REMOVED;
    ev.detail = (fwres->flags & EDGE_FW_RESULT_WAS_ABSENT) ? "rule was already gone" : NULL;
    lm_audit(m, &ev);
    AcquireSRWLockExclusive(&m->lock);
    (void)edge_lease_table_remove(m->table, lease->id);
    /* A failure leaves the store dirty: on disk the lease is ENDING, which reconcile forgets. */
    (void)lm_persist(m);
    ReleaseSRWLockExclusive(&m->lock);
    return EDGE_OK;
}

edge_status lm_end_locked(struct leases *m, const uint8_t id[EDGE_LEASE_ID_LEN],
                          enum lm_end_reason reason, const struct caller_identity *caller,
                          bool check_owner, const char *detail, bool require_persist,
                          struct leases_result *res)
{
    struct leases_result local;
    struct lm_audit_event ev;
    edge_fw_result fwres;
    edge_lease_info info, *old;
    char sid[EDGE_LEASE_SID_MAX_LEN + 1];
    edge_status st;

    if (!res)
        res = &local;
    memset(res, 0, sizeof(*res));
    sid[0] = '\0';
    if (check_owner)
        (void)lm_caller_sid(caller, sid, sizeof(sid));
    AcquireSRWLockExclusive(&m->lock);
    if (!edge_lease_table_get(m->table, id, &info) ||
        (check_owner && !lm_caller_may(caller, sid, &info))) {
        ReleaseSRWLockExclusive(&m->lock);
        lm_result(res, EDGE_E_NOT_FOUND, "no such lease");
        return EDGE_E_NOT_FOUND;
    }
    if (reason == LM_END_EXPIRED && (info.state == EDGE_LEASE_ENDING || info.expires > lm_now())) {
        ReleaseSRWLockExclusive(&m->lock); /* renewed (or already ending) meanwhile */
        return EDGE_OK;
    }
    old = lm_lease_dup(&info);
    if (!old) {
        ReleaseSRWLockExclusive(&m->lock);
        lm_result(res, EDGE_E_NO_MEMORY, NULL);
        return EDGE_E_NO_MEMORY;
    }
    if (info.state != EDGE_LEASE_ENDING) {
        (void)edge_lease_table_set_state(m->table, id, EDGE_LEASE_ENDING);
        if (lm_persist(m) != EDGE_OK && require_persist) {
            lm_table_restore(m, old);
            (void)lm_persist(m);
            ReleaseSRWLockExclusive(&m->lock);
            lm_result(res, EDGE_E_STORAGE, "the change could not be persisted; nothing changed");
            res->retry_after = 30;
            free(old);
            return EDGE_E_STORAGE;
        }
        old->state = EDGE_LEASE_ENDING;
        memset(&ev, 0, sizeof(ev));
        ev.kind = end_kind(reason);
        ev.status = EDGE_OK;
        ev.detail = detail;
        ev.caller = caller;
        ev.lease = old;
        ev.verb = end_verb(reason);
        lm_audit(m, &ev);
    }
    ReleaseSRWLockExclusive(&m->lock);

    st = lm_finish_ending(m, old, caller, &fwres);
    if (st != EDGE_OK) {
        lm_result_fw(res, &fwres, "the lease has ended, but removing its rule failed (retried)");
        lm_reconcile_schedule(m, true);
    } else {
        lm_result(res, EDGE_OK, NULL);
    }
    free(old);
    return st;
}

edge_status lm_end_lease(struct leases *m, const uint8_t id[EDGE_LEASE_ID_LEN],
                         enum lm_end_reason reason, const struct caller_identity *caller,
                         bool check_owner, const char *detail, bool require_persist,
                         struct leases_result *res)
{
    edge_status st;

    AcquireSRWLockShared(&m->gate);
    st = lm_end_locked(m, id, reason, caller, check_owner, detail, require_persist, res);
    ReleaseSRWLockShared(&m->gate);
    return st;
}

edge_status leases_release(struct leases *m, const struct caller_identity *caller,
                           const uint8_t id[EDGE_ID_SIZE], struct leases_result *res)
{
    return lm_end_lease(m, id, LM_END_RELEASED, caller, true, NULL, true, res);
}

edge_status leases_revoke(struct leases *m, const struct caller_identity *caller,
                          const uint8_t id[EDGE_ID_SIZE], const char *reason, size_t reason_len,
                          struct leases_result *res)
{
    char text[EDGE_MAX_TEXT + 1];
    size_t n = reason_len < EDGE_MAX_TEXT ? reason_len : EDGE_MAX_TEXT;

    if (!caller || !caller->is_admin) {
        memset(res, 0, sizeof(*res));
        lm_result(res, EDGE_E_ACCESS_DENIED, "revoking needs an elevated administrator");
        return EDGE_E_ACCESS_DENIED;
    }
    /* The reason arrives as a validated wire string (UTF-8, no NUL); cut at the text limit. */
    if (reason && n)
        memcpy(text, reason, n);
    text[reason && n ? n : 0] = '\0';
    return lm_end_lease(m, id, LM_END_REVOKED, caller, false, text[0] ? text : "revoked", true,
                        res);
}

/* ---- purge --------------------------------------------------------------------------------- */

struct purge_ctx {
    edge_lease_info **leases;
    uint32_t count;
    bool no_memory;
};

static bool purge_visit(const edge_lease_info *l, void *arg)
{
    struct purge_ctx *c = arg;
    edge_lease_info *d = lm_lease_dup(l);

    if (!d) {
        c->no_memory = true;
        return false;
    }
    c->leases[c->count++] = d;
    return true;
}

edge_status leases_purge(struct leases *m, const struct caller_identity *caller,
                         uint32_t *rules_removed, struct leases_result *res)
{
    struct purge_ctx c;
    edge_lease_table *empty = NULL, *old_table = NULL;
    edge_fw_result fwres;
    size_t removed = 0;
    uint32_t i, n;
    edge_status st;

    memset(res, 0, sizeof(*res));
    memset(&c, 0, sizeof(c));
    *rules_removed = 0;
    if (!caller || !caller->is_admin) {
        lm_result(res, EDGE_E_ACCESS_DENIED, "purge needs an elevated administrator");
        return EDGE_E_ACCESS_DENIED;
    }
    if (edge_lease_table_create(NULL, &empty) != EDGE_OK)
        return lm_result(res, EDGE_E_NO_MEMORY, NULL), EDGE_E_NO_MEMORY;
    AcquireSRWLockExclusive(&m->gate);
    AcquireSRWLockExclusive(&m->lock);
    n = edge_lease_table_count(m->table);
    c.leases = calloc(n ? n : 1, sizeof(*c.leases));
    if (c.leases)
        edge_lease_table_foreach(m->table, purge_visit, &c);
    if (!c.leases || c.no_memory) {
        ReleaseSRWLockExclusive(&m->lock);
        st = EDGE_E_NO_MEMORY;
        lm_result(res, st, NULL);
        goto out;
    }
    /* Leases first: once no lease is on disk, any rule left behind is an orphan reconcile
     * removes; the other order could let a crash resurrect purged leases. */
    if (store_save(m->store, empty) != EDGE_OK) {
        m->store_error = store_last_error(m->store);
        ReleaseSRWLockExclusive(&m->lock);
        st = EDGE_E_STORAGE;
        lm_result(res, st, "the purge could not be persisted; nothing was changed");
        res->retry_after = 30;
        goto out;
    }
    old_table = m->table;
    m->table = empty;
    empty = NULL;
    m->dirty = false;
    lm_expiry_rearm(m);
    ReleaseSRWLockExclusive(&m->lock);
    for (i = 0; i < c.count; i++) {
        struct lm_audit_event ev;
        memset(&ev, 0, sizeof(ev));
        ev.kind = AUDIT_LEASE_REVOKED;
        ev.status = EDGE_OK;
        ev.detail = "purged";
        ev.caller = caller;
        ev.lease = c.leases[i];
        ev.verb = "purge";
        lm_audit(m, &ev);
    }
    st = edge_fw_remove_all(m->fw, &removed, &fwres);
    *rules_removed = removed > UINT32_MAX ? UINT32_MAX : (uint32_t)removed;
    {
        struct lm_audit_event ev;
        char text[96];
        memset(&ev, 0, sizeof(ev));
        (void)snprintf(text, sizeof(text), "purge removed %lu rules of the group",
                       (unsigned long)*rules_removed);
        ev.kind = st == EDGE_OK ? AUDIT_RULE_REMOVED : AUDIT_FIREWALL_ERROR;
        ev.status = st;
        ev.detail = st == EDGE_OK ? text : fwres.message;
        ev.caller = caller;
        ev.has_hresult = true;
        ev.hresult = fwres.hresult;
        lm_audit(m, &ev);
    }
    if (st != EDGE_OK) {
        lm_result_fw(res, &fwres,
                     "every lease was removed, but removing the rules failed "
                     "(reconcile retries)");
        lm_reconcile_schedule(m, true);
    } else {
        lm_result(res, EDGE_OK, NULL);
    }
out:
    ReleaseSRWLockExclusive(&m->gate);
    for (i = 0; i < c.count; i++)
        free(c.leases[i]);
    free(c.leases);
    edge_lease_table_destroy(old_table);
    edge_lease_table_destroy(empty);
    return st;
}
