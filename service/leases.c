/*
 * The lease manager: lifecycle, grant, renew, show, list, purge (see leases.h).
 */
#include "leases_internal.h"
#include "caller.h"
#include "reconcile.h"

#include "edge/path.h"

#include <bcrypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- lifecycle ----------------------------------------------------------------------------- */

static void audit_load_report(struct leases *m, const struct store_load_report *rep)
{
    struct lm_audit_event ev;
    char text[320];
    int i;

    if (!rep->recovered && !rep->all_rejected)
        return;
    text[0] = '\0';
    for (i = 0; i < STORE_SLOT_COUNT; i++) {
        const store_slot_report *s = &rep->slots[i];
        size_t used = strlen(text);
        if (s->status != STORE_SLOT_REJECTED)
            continue;
        (void)snprintf(text + used, sizeof(text) - used, "%sslot %c rejected (%s, generation %llu)",
                       used ? "; " : "", i == 0 ? 'a' : 'b', s->result_name ? s->result_name : "?",
                       (unsigned long long)s->generation);
    }
    memset(&ev, 0, sizeof(ev));
    ev.kind = AUDIT_STATE_RECOVERED;
    ev.status = rep->all_rejected ? EDGE_E_STORAGE : EDGE_OK;
    ev.detail = text;
    lm_audit(m, &ev);
}

static void audit_start(struct leases *m, const uint8_t *epoch, uint64_t generation)
{
    static const char hex[] = "0123456789abcdef";
    struct lm_audit_event ev;
    char e[2 * EDGE_ID_SIZE + 1];
    char text[200];
    int i;

    e[0] = '\0';
    if (epoch) {
        for (i = 0; i < (int)EDGE_ID_SIZE; i++) {
            e[2 * i] = hex[epoch[i] >> 4];
            e[2 * i + 1] = hex[epoch[i] & 0xF];
        }
        e[2 * EDGE_ID_SIZE] = '\0';
    }
    (void)snprintf(text, sizeof(text), "epoch %s; %lu leases loaded (state generation %llu)",
                   epoch ? e : "-", (unsigned long)edge_lease_table_count(m->table),
                   (unsigned long long)generation);
    memset(&ev, 0, sizeof(ev));
    ev.kind = AUDIT_SERVICE_START;
    ev.status = EDGE_OK;
    ev.detail = text;
    lm_audit(m, &ev);
}

edge_status leases_create(const struct leases_params *p, struct leases **out,
                          struct leases_result *res)
{
    struct store_load_report rep;
    edge_fw_result fwres;
    struct leases *m = NULL;
    edge_status st;

    memset(res, 0, sizeof(*res));
    if (out)
        *out = NULL;
    if (!p || !out || !p->state_dir || !p->state_dir[0]) {
        lm_result(res, EDGE_E_BAD_REQUEST, "no state directory");
        return EDGE_E_BAD_REQUEST;
    }
    m = calloc(1, sizeof(*m));
    if (!m) {
        lm_result(res, EDGE_E_NO_MEMORY, NULL);
        return EDGE_E_NO_MEMORY;
    }
    InitializeSRWLock(&m->gate);
    InitializeSRWLock(&m->lock);
    InitializeSRWLock(&m->fwstate_lock);
    m->cfg = p->config;
    lm_config_fix(&m->cfg);
    m->audit = p->audit;
    m->reconcile_interval_ms =
        p->reconcile_interval_ms ? p->reconcile_interval_ms : LEASES_DEFAULT_RECONCILE_MS;
    m->retry_initial_ms =
        p->retry_initial_ms ? p->retry_initial_ms : LEASES_DEFAULT_RETRY_INITIAL_MS;
    m->retry_max_ms = p->retry_max_ms ? p->retry_max_ms : LEASES_DEFAULT_RETRY_MAX_MS;
    if (m->retry_max_ms < m->retry_initial_ms)
        m->retry_max_ms = m->retry_initial_ms;
    m->fwstate_max_age_ms =
        p->fwstate_max_age_ms ? p->fwstate_max_age_ms : LEASES_DEFAULT_FWSTATE_MAX_AGE_MS;
    m->reconcile_status = EDGE_OK;

    st = store_open(p->state_dir, NULL, &m->store, &m->table, &rep);
    if (st != EDGE_OK) {
        lm_result(res, st, "state store in the data directory failed: %s",
                  rep.reason ? rep.reason : edge_status_message(st));
        if (rep.win32_error) {
            res->has_win32_error = true;
            res->win32_error = rep.win32_error;
        }
        goto fail;
    }
    audit_load_report(m, &rep);
    st = edge_fw_start(&p->fw, &m->fw, &fwres);
    if (st != EDGE_OK) {
        lm_result_fw(res, &fwres, "firewall backend failed to start");
        goto fail;
    }
    st = lm_timers_create(m);
    if (st == EDGE_OK)
        st = lm_reconcile_create(m);
    if (st != EDGE_OK) {
        lm_result(res, st, "threadpool objects could not be created");
        goto fail;
    }
    m->started = lm_now();
    audit_start(m, p->epoch, rep.generation);
    AcquireSRWLockExclusive(&m->lock);
    lm_expiry_rearm(m);
    ReleaseSRWLockExclusive(&m->lock);
    lm_reconcile_schedule(m, false);
    *out = m;
    return EDGE_OK;
fail:
    leases_destroy(m);
    return st;
}

void leases_destroy(struct leases *m)
{
    if (!m)
        return;
    AcquireSRWLockExclusive(&m->lock);
    m->stopping = true;
    ReleaseSRWLockExclusive(&m->lock);
    /* Callbacks blocked in a firewall call return at once; their leases stay ENDING on disk. */
    if (m->fw)
        edge_fw_begin_shutdown(m->fw);
    lm_reconcile_destroy(m);
    lm_timers_destroy(m);
    if (m->table && m->started) {
        struct lm_audit_event ev;
        memset(&ev, 0, sizeof(ev));
        ev.kind = AUDIT_SERVICE_STOP;
        ev.status = EDGE_OK;
        ev.detail = m->dirty ? "stopping with unsaved state (last state write failed)" : NULL;
        lm_audit(m, &ev);
    }
    edge_fw_stop(m->fw);
    store_close(m->store);
    edge_lease_table_destroy(m->table);
    free(m);
}

struct store *leases_store_for_test(struct leases *m)
{
    return m->store;
}

/* ---- grant --------------------------------------------------------------------------------- */

static edge_status validate_request(const struct leases_request *req, struct leases_result *res)
{
    if (req->protocol != EDGE_IPPROTO_TCP && req->protocol != EDGE_IPPROTO_UDP)
        lm_result(res, EDGE_E_BAD_REQUEST, "protocol must be 6 (TCP) or 17 (UDP)");
    else if (req->port_lo == 0 || req->port_hi < req->port_lo)
        lm_result(res, EDGE_E_BAD_REQUEST, "ports must satisfy 1 <= port_lo <= port_hi");
    else if (req->flags & ~(uint32_t)EDGE_LEASE_F_KNOWN)
        lm_result(res, EDGE_E_BAD_REQUEST, "unknown lease flags");
    else if (req->seconds == 0 || req->seconds > EDGE_LEASE_SECONDS_MAX)
        lm_result(res, EDGE_E_BAD_REQUEST, "seconds must be 1..31536000");
    else if (req->edge_option != EDGE_TRAVERSAL_ALLOW &&
             req->edge_option != EDGE_TRAVERSAL_DEFER_TO_APP)
        lm_result(res, EDGE_E_BAD_REQUEST, "edge option must be ALLOW or DEFER_TO_APP");
    else if (!req->owner_sid || !req->image_path || !req->image_sha256 ||
             !edge_path_is_canonical(req->image_path))
        lm_result(res, EDGE_E_BAD_REQUEST, "the lease names no usable owner or application");
    else
        return EDGE_OK;
    return res->status;
}

static void audit_grant(struct leases *m, audit_kind kind, edge_status st, const char *detail,
                        const struct caller_identity *caller, const edge_lease_info *lease,
                        const struct leases_request *req, const struct leases_result *res)
{
    struct lm_audit_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.kind = kind;
    ev.status = st;
    ev.detail = detail;
    ev.caller = caller;
    ev.lease = lease;
    ev.req = req;
    ev.verb = "request";
    ev.lease_seconds = req->seconds;
    if (res && res->has_win32_error) {
        ev.has_hresult = true;
        ev.hresult = res->win32_error;
    }
    lm_audit(m, &ev);
}

static struct leases_view *view_one(struct leases *m, const uint8_t id[EDGE_LEASE_ID_LEN],
                                    uint32_t ineffective, uint32_t warnings, const char *why)
{
    edge_lease_info info;
    const edge_lease_info *one = &info;
    struct leases_view *v = NULL;

    if (edge_lease_table_get(m->table, id, &info))
        v = lm_view_build(&one, 1, ineffective);
    if (v) {
        v->warnings = warnings;
        (void)snprintf(v->detail, sizeof(v->detail), "%s", why);
    }
    return v;
}

struct quota_scan {
    const edge_lease_info *like; /* owner and image of the refused lease */
    bool by_owner;               /* the per-user quota (else the per-application one) */
    uint64_t earliest;
};

static bool same_image(const edge_lease_info *a, const edge_lease_info *b)
{
    const char *p = a->image_path, *q = b->image_path;

    if (memcmp(a->image_sha256, b->image_sha256, EDGE_LEASE_SHA256_LEN) != 0)
        return false;
    for (; *p && *q; p++, q++) {
        char x = *p, y = *q;
        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return false;
    }
    return *p == *q;
}

static bool quota_visit(const edge_lease_info *l, void *arg)
{
    struct quota_scan *q = arg;

    if (l->state == EDGE_LEASE_ENDING || (!q->by_owner && !same_image(l, q->like)))
        return true;
    if (l->expires < q->earliest)
        q->earliest = l->expires;
    return true;
}

/* Seconds until the earliest lease counting against the exhausted quota expires (lock held). */
static uint32_t quota_retry_after(struct leases *m, const edge_lease_info *info, uint64_t now)
{
    struct quota_scan q;

    memset(&q, 0, sizeof(q));
    q.like = info;
    q.earliest = UINT64_MAX;
    q.by_owner = m->cfg.max_per_user &&
                 edge_lease_table_count_owner(m->table, info->owner_sid) >= m->cfg.max_per_user;
    if (q.by_owner)
        edge_lease_table_foreach_owner(m->table, info->owner_sid, quota_visit, &q);
    else
        edge_lease_table_foreach(m->table, quota_visit, &q);
    if (q.earliest == UINT64_MAX) /* the table's capacity: no single lease to wait for */
        return LEASES_QUOTA_RETRY_SECONDS;
    if (q.earliest <= now)
        return 1; /* expired, about to be ended by the expiry timer */
    return q.earliest - now > UINT32_MAX ? UINT32_MAX : (uint32_t)(q.earliest - now);
}

edge_status leases_grant(struct leases *m, const struct caller_identity *caller,
                         const struct leases_request *req, struct leases_view **out,
                         struct leases_result *res)
{
    char why[EDGE_MAX_TEXT + 1];
    edge_lease_quota quota;
    edge_lease_info info;
    edge_fw_rule_spec spec;
    edge_fw_result fwres;
    uint32_t ineffective = 0, warnings, retry = 0;
    bool gate = false;
    edge_status st;

    memset(res, 0, sizeof(*res));
    memset(&spec, 0, sizeof(spec));
    if (out)
        *out = NULL;
    if (!m || !req || !out)
        return lm_result(res, EDGE_E_BAD_REQUEST, NULL), EDGE_E_BAD_REQUEST;
    if (validate_request(req, res) != EDGE_OK) {
        audit_grant(m, AUDIT_REQUEST_DENIED, res->status, res->detail, caller, NULL, req, res);
        return res->status;
    }
    memset(&info, 0, sizeof(info));
    if (!BCRYPT_SUCCESS(
            BCryptGenRandom(NULL, info.id, sizeof(info.id), BCRYPT_USE_SYSTEM_PREFERRED_RNG)))
        return lm_result(res, EDGE_E_INTERNAL, "no random lease id"), EDGE_E_INTERNAL;
    info.owner_sid = req->owner_sid;
    info.image_path = req->image_path;
    memcpy(info.image_sha256, req->image_sha256, EDGE_SHA256_SIZE);
    info.protocol = req->protocol;
    info.port_lo = req->port_lo;
    info.port_hi = req->port_hi;
    info.edge_option = req->edge_option;
    info.created = lm_now();
    info.expires = info.created + req->seconds;
    info.flags = req->flags;
    info.state = EDGE_LEASE_RULE_PENDING;
    info.owner_pid = caller ? caller->pid : 0;

    /* Under the gate: the profiles (leases_set_config) cannot change until the rule is made. */
    AcquireSRWLockShared(&m->gate);
    gate = true;
    /* A reload between the decision and here has already ended what it refuses (under the gate,
     * leases_set_config): re-check the scope so that this lease cannot slip past it. */
    if (!lm_config_permits(&m->cfg, &info, why, sizeof(why))) {
        lm_result(res, EDGE_E_DENIED, "refused by the policy now in force: %s", why);
        goto denied;
    }
    st = reconcile_spec_from_lease(&info, m->cfg.profiles, &spec);
    if (st != EDGE_OK) {
        lm_result(res, st, "the lease cannot be expressed as a firewall rule");
        goto denied;
    }
    AcquireSRWLockExclusive(&m->lock);
    if (m->stopping) {
        ReleaseSRWLockExclusive(&m->lock);
        lm_result(res, EDGE_E_SHUTTING_DOWN, "the service is stopping");
        res->retry_after = 5;
        goto denied;
    }
    quota.max_per_owner = m->cfg.max_per_user;
    quota.max_per_image = m->cfg.max_per_app;
    st = edge_lease_table_add(m->table, &info, &quota);
    if (st == EDGE_E_QUOTA)
        retry = quota_retry_after(m, &info, info.created);
    if (st == EDGE_OK && lm_persist(m) != EDGE_OK) {
        (void)edge_lease_table_remove(m->table, info.id);
        st = EDGE_E_STORAGE;
    }
    ReleaseSRWLockExclusive(&m->lock);
    if (st != EDGE_OK) {
        if (st == EDGE_E_QUOTA)
            lm_result(res, st,
                      "quota reached: at most %lu leases per user (MaxLeasesPerUser) and %lu per "
                      "application (MaxLeasesPerApp)",
                      (unsigned long)quota.max_per_owner, (unsigned long)quota.max_per_image);
        else if (st == EDGE_E_CONFLICT)
            lm_result(res, st, "the ports are already leased to another application");
        else if (st == EDGE_E_STORAGE)
            lm_result(res, st, "the lease could not be persisted; nothing was changed");
        else
            lm_result(res, st, "the lease was refused by the lease table");
        if (st == EDGE_E_QUOTA)
            res->retry_after = retry;
        else if (st == EDGE_E_STORAGE)
            res->retry_after = 30;
        goto denied;
    }

    /* The COM call runs without the table lock: other requests proceed meanwhile. */
    st = edge_fw_add_rule(m->fw, &spec, &fwres);
    if (st != EDGE_OK) {
        lm_result_fw(res, &fwres, "the firewall rule could not be created");
        AcquireSRWLockExclusive(&m->lock);
        (void)edge_lease_table_remove(m->table, info.id);
        (void)lm_persist(m); /* on failure the store is dirty; the lease is gone in memory */
        ReleaseSRWLockExclusive(&m->lock);
        {
            struct lm_audit_event ev;
            memset(&ev, 0, sizeof(ev));
            ev.kind = AUDIT_FIREWALL_ERROR;
            ev.status = st;
            ev.detail = res->detail;
            ev.caller = caller;
            ev.lease = &info;
            ev.req = req;
            ev.verb = "request";
            ev.has_hresult = fwres.hresult != 0;
            ev.hresult = fwres.hresult;
            lm_audit(m, &ev);
        }
        /* A timed-out add may still land: reconcile removes the rule once it appears. */
        if (fwres.flags & EDGE_FW_RESULT_OUTCOME_UNKNOWN)
            lm_reconcile_schedule(m, true);
        goto denied;
    }
    AcquireSRWLockExclusive(&m->lock);
    (void)edge_lease_table_set_state(m->table, info.id, EDGE_LEASE_ACTIVE);
    st = lm_persist(m);
    if (st != EDGE_OK) {
        /* Nothing half-done: take the rule and the lease back. */
        (void)edge_lease_table_set_state(m->table, info.id, EDGE_LEASE_RULE_PENDING);
        ReleaseSRWLockExclusive(&m->lock);
        if (edge_fw_remove_rule(m->fw, info.id, &fwres) != EDGE_OK)
            lm_reconcile_schedule(m, true);
        AcquireSRWLockExclusive(&m->lock);
        (void)edge_lease_table_remove(m->table, info.id);
        (void)lm_persist(m);
        ReleaseSRWLockExclusive(&m->lock);
        lm_result(res, EDGE_E_STORAGE, "the lease could not be persisted; nothing was changed");
        res->retry_after = 30;
        goto denied;
    }
    lm_expiry_rearm(m);
    ReleaseSRWLockExclusive(&m->lock);
    ReleaseSRWLockShared(&m->gate);
    gate = false;
    reconcile_spec_free(&spec);

    warnings = lm_current_warnings(m, &ineffective, why, sizeof(why));
    AcquireSRWLockShared(&m->lock);
    *out = view_one(m, info.id, ineffective, warnings, why);
    ReleaseSRWLockShared(&m->lock);
    if (caller && !(info.flags & EDGE_LEASE_F_KEEP_AFTER_EXIT))
        lm_watch_process(m, caller);
    res->status = EDGE_OK;
    res->warnings = warnings;
    (void)snprintf(res->detail, sizeof(res->detail), "%s", req->reason ? req->reason : "");
    {
        struct lm_audit_event ev;
        memset(&ev, 0, sizeof(ev));
        ev.kind = AUDIT_RULE_CREATED;
        ev.status = EDGE_OK;
        ev.caller = caller;
        ev.lease = &info;
        ev.req = req;
        ev.verb = "request";
        ev.lease_seconds = req->seconds;
        ev.has_hresult = true;
        ev.hresult = 0;
        lm_audit(m, &ev);
    }
    audit_grant(m, AUDIT_REQUEST_GRANTED, EDGE_OK, req->reason, caller, &info, req, NULL);
    if (!*out) {
        /* Granted and in force; only the reply could not be built.  The client may SHOW it. */
        lm_result(res, EDGE_E_NO_MEMORY, "granted, but the reply could not be built");
        return EDGE_E_NO_MEMORY;
    }
    return EDGE_OK;
denied:
    if (gate)
        ReleaseSRWLockShared(&m->gate);
    reconcile_spec_free(&spec);
    audit_grant(m, AUDIT_REQUEST_DENIED, res->status, res->detail, caller, NULL, req, res);
    return res->status;
}

edge_status leases_adopt(struct leases *m, const struct caller_identity *caller,
                         const uint8_t id[EDGE_ID_SIZE])
{
    char sid[EDGE_LEASE_SID_MAX_LEN + 1];
    edge_lease_info info;
    bool ok, watch = false;

    if (!m || !caller || !lm_caller_sid(caller, sid, sizeof(sid)))
        return EDGE_E_NOT_FOUND;
    AcquireSRWLockExclusive(&m->lock);
    ok = edge_lease_table_get(m->table, id, &info) && info.state != EDGE_LEASE_ENDING &&
         strcmp(info.owner_sid, sid) == 0;
    if (ok) {
        (void)edge_lease_table_set_owner_pid(m->table, id, caller->pid);
        watch = !(info.flags & EDGE_LEASE_F_KEEP_AFTER_EXIT);
    }
    ReleaseSRWLockExclusive(&m->lock);
    if (watch)
        lm_watch_process(m, caller);
    return ok ? EDGE_OK : EDGE_E_NOT_FOUND;
}

/* ---- renew, show --------------------------------------------------------------------------- */

edge_status leases_renew(struct leases *m, const struct caller_identity *caller,
                         const uint8_t id[EDGE_ID_SIZE], bool has_seconds, uint32_t seconds,
                         struct leases_view **out, struct leases_result *res)
{
    char why[EDGE_MAX_TEXT + 1], refused[EDGE_MAX_TEXT + 1];
    char sid[EDGE_LEASE_SID_MAX_LEN + 1];
    edge_lease_info info, *old = NULL;
    uint32_t ineffective = 0, warnings;
    uint64_t want;
    edge_status st;

    memset(res, 0, sizeof(*res));
    *out = NULL;
    if (has_seconds && (seconds == 0 || seconds > EDGE_LEASE_SECONDS_MAX))
        return lm_result(res, EDGE_E_BAD_REQUEST, "seconds must be 1..31536000"), res->status;
    (void)lm_caller_sid(caller, sid, sizeof(sid));
    warnings = lm_current_warnings(m, &ineffective, why, sizeof(why));
    AcquireSRWLockExclusive(&m->lock);
    /* Absent seconds: DefaultLeaseSeconds (the original length is not recorded). */
    want = has_seconds ? seconds : m->cfg.default_seconds;
    if (!edge_lease_table_get(m->table, id, &info) || !lm_caller_may(caller, sid, &info) ||
        info.state == EDGE_LEASE_ENDING) {
        ReleaseSRWLockExclusive(&m->lock);
        return lm_result(res, EDGE_E_NOT_FOUND, "no such lease (it may have ended)"),
               EDGE_E_NOT_FOUND;
    }
    old = lm_lease_dup(&info);
    if (!old) {
        ReleaseSRWLockExclusive(&m->lock);
        return lm_result(res, EDGE_E_NO_MEMORY, NULL), EDGE_E_NO_MEMORY;
    }
    /* The scope the lease was granted for must still be permitted: a renewal is a new decision
     * on Mode, AllowedProtocols and AllowedPorts (cheap: no identity or hashing). */
    if (!lm_config_permits(&m->cfg, &info, refused, sizeof(refused)))
        st = EDGE_E_DENIED;
    else
        st = edge_lease_table_renew(m->table, id, lm_now(), want, m->cfg.max_seconds, NULL);
    if (st == EDGE_OK && lm_persist_renewal(m, old) != EDGE_OK) {
        lm_table_restore(m, old);
        (void)lm_persist(m);
        st = EDGE_E_STORAGE;
    }
    if (st == EDGE_OK) {
        lm_expiry_rearm(m);
        *out = view_one(m, id, ineffective, warnings, why);
    }
    ReleaseSRWLockExclusive(&m->lock);
    if (st == EDGE_OK && !*out)
        st = EDGE_E_NO_MEMORY;
    if (st == EDGE_E_DENIED)
        lm_result(res, st, "renewal refused by policy: %s", refused);
    else if (st == EDGE_E_EXPIRED)
        lm_result(res, st, "the lease has expired or is ending; request a new one");
    else if (st == EDGE_E_STORAGE)
        lm_result(res, st, "the renewal could not be persisted; nothing was changed");
    else
        lm_result(res, st, NULL);
    res->warnings = st == EDGE_OK ? warnings : 0;
    if (st == EDGE_E_STORAGE)
        res->retry_after = 30;
    {
        struct lm_audit_event ev;
        memset(&ev, 0, sizeof(ev));
        ev.kind = AUDIT_LEASE_RENEWED;
        ev.status = st;
        ev.detail = res->detail[0] ? res->detail : NULL;
        ev.caller = caller;
        ev.lease = old;
        ev.verb = "renew";
        ev.lease_seconds = (uint32_t)want;
        lm_audit(m, &ev);
    }
    free(old);
    return st;
}

edge_status leases_show(struct leases *m, const struct caller_identity *caller,
                        const uint8_t id[EDGE_ID_SIZE], struct leases_view **out,
                        struct leases_result *res)
{
    char why[EDGE_MAX_TEXT + 1];
    char sid[EDGE_LEASE_SID_MAX_LEN + 1];
    edge_lease_info info;
    uint32_t ineffective = 0, warnings;
    edge_status st = EDGE_OK;

    memset(res, 0, sizeof(*res));
    *out = NULL;
    (void)lm_caller_sid(caller, sid, sizeof(sid));
    warnings = lm_current_warnings(m, &ineffective, why, sizeof(why));
    AcquireSRWLockShared(&m->lock);
    if (!edge_lease_table_get(m->table, id, &info) || !lm_caller_may(caller, sid, &info))
        st = EDGE_E_NOT_FOUND;
    else if (!(*out = view_one(m, id, ineffective, warnings, why)))
        st = EDGE_E_NO_MEMORY;
    ReleaseSRWLockShared(&m->lock);
    lm_result(res, st, st == EDGE_E_NOT_FOUND ? "no such lease" : NULL);
    res->warnings = st == EDGE_OK ? warnings : 0;
    return st;
}
