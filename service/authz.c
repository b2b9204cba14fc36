/*
 * Authorization: policy source + consent + the policy engine in front of the lease manager (see
 * authz.h).
 */
#include "authz.h"
#include "caller.h"
#include "leases.h"
#include "log.h"

#include <sddl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct authz {
    audit_log *audit;
    struct policy_source *policy;
    struct consent *consent;
    /* Exclusive: APPROVE (approve -> lease -> attach).  Shared: a REQUEST's consent steps.  So a
     * poll never sees an approved entry whose lease is still being made (it would make another). */
    SRWLOCK approve_lock;
    SRWLOCK leases_lock; /* guards leases and profiles against the policy watcher */
    struct leases *leases;
    uint32_t profiles; /* the lease manager's profiles, to see whether a reload changed them */
};

/* One decision's working set (big: heap).  d first: EXPLAIN hands the block over as d. */
struct authz_work {
    edge_policy_decision d;
    struct authz_subject s;
    char audit_detail[AUTHZ_AUDIT_TRACE_BYTES];
};

uint64_t authz_now(void)
{
    FILETIME ft;
    ULARGE_INTEGER u;

    GetSystemTimeAsFileTime(&ft);
    u.LowPart = ft.dwLowDateTime;
    u.HighPart = ft.dwHighDateTime;
    return (u.QuadPart - 116444736000000000ull) / 10000000ull;
}

static void set_outcome(struct authz_outcome *o, edge_status st, const char *fmt, ...)
{
    va_list ap;

    o->status = st;
    if (!fmt)
        return;
    va_start(ap, fmt);
    if (vsnprintf(o->detail, sizeof(o->detail), fmt, ap) < 0)
        o->detail[0] = '\0';
    va_end(ap);
}

/* ---- policy ---- */

static void apply_policy(struct authz *a, const struct policy_snapshot *snap)
{
    struct leases_config cfg;
    bool reconcile;

    leases_config_from_policy(&snap->policy, &cfg);
    AcquireSRWLockExclusive(&a->leases_lock);
    if (a->leases) {
        reconcile = a->profiles != cfg.profiles;
        a->profiles = cfg.profiles;
        leases_set_config(a->leases, &cfg);
        /* Leases whose scope this policy refuses end now (docs/policy.md, "Renewal"). */
        (void)leases_end_refused(a->leases);
        /* Existing rules take the new profiles at the next pass; run it now. */
        if (reconcile)
            leases_reconcile_async(a->leases);
    }
    ReleaseSRWLockExclusive(&a->leases_lock);
}

static void on_policy_changed(const struct policy_snapshot *snap, void *ctx)
{
    apply_policy(ctx, snap);
}

void authz_attach_leases(struct authz *a, struct leases *m)
{
    const struct policy_snapshot *snap;
    struct leases_config cfg;

    AcquireSRWLockExclusive(&a->leases_lock);
    a->leases = m;
    if (m) {
        leases_get_config(m, &cfg);
        a->profiles = cfg.profiles;
    }
    ReleaseSRWLockExclusive(&a->leases_lock);
    /* A reload between leases_create and now must not be lost. */
    snap = policy_source_acquire(a->policy);
    apply_policy(a, snap);
    policy_snapshot_release(snap);
}

const struct policy_snapshot *authz_policy(struct authz *a)
{
    return policy_source_acquire(a->policy);
}

struct policy_source *authz_policy_source(struct authz *a)
{
    return a->policy;
}

struct consent *authz_consent(struct authz *a)
{
    return a->consent;
}

static void audit_text(struct authz *a, audit_kind kind, edge_status st, const char *detail)
{
    audit_record rec;

    memset(&rec, 0, sizeof(rec));
    rec.kind = kind;
    rec.status = (uint32_t)st;
    rec.detail = detail;
    (void)audit_emit(a->audit, &rec);
}

DWORD authz_open(const struct authz_config *cfg, struct authz **out)
{
    struct policy_source_config pc;
    struct consent_config cc;
    struct consent_load_report rep;
    struct authz *a;
    edge_status st;
    DWORD err;

    *out = NULL;
    if (!cfg || !cfg->state_dir)
        return ERROR_INVALID_PARAMETER;
    a = calloc(1, sizeof(*a));
    if (!a)
        return ERROR_NOT_ENOUGH_MEMORY;
    InitializeSRWLock(&a->approve_lock);
    InitializeSRWLock(&a->leases_lock);
    a->audit = cfg->audit;
    memset(&pc, 0, sizeof(pc));
    pc.root = cfg->policy_root;
    pc.policy_key = cfg->policy_key;
    pc.local_key = cfg->local_key;
    pc.audit = cfg->audit;
    pc.watch = cfg->watch;
    pc.on_change = on_policy_changed;
    pc.ctx = a;
    err = policy_source_open(&pc, &a->policy);
    if (err != ERROR_SUCCESS) {
        log_win32(LOG_ERROR, err, "the policy source failed to start");
        goto fail;
    }
    memset(&cc, 0, sizeof(cc));
    cc.dir = cfg->state_dir;
    cc.audit = cfg->audit;
    cc.prompt = cfg->prompt;
    cc.console_session = cfg->console_session;
    st = consent_open(&cc, authz_now(), &a->consent, &rep);
    if (st != EDGE_OK) {
        log_msg(LOG_ERROR, "the consent store failed to open: %s (Win32 error %lu)",
                edge_status_name(st), (unsigned long)rep.win32_error);
        err = st == EDGE_E_NO_MEMORY ? ERROR_NOT_ENOUGH_MEMORY : ERROR_READ_FAULT;
        goto fail;
    }
    if (rep.corrupt) {
        char text[EDGE_MAX_TEXT + 1];
        (void)snprintf(text, sizeof(text),
                       "consent.bin was corrupt (%s); set aside, starting with no pending requests "
                       "and no remembered decisions",
                       rep.reason ? rep.reason : "unknown reason");
        log_msg(LOG_WARNING, "%s", text);
        audit_text(a, AUDIT_STATE_RECOVERED, EDGE_E_STORAGE, text);
    }
    *out = a;
    return ERROR_SUCCESS;
fail:
    authz_close(a);
    return err;
}

void authz_close(struct authz *a)
{
    if (!a)
        return;
    consent_close(a->consent);
    policy_source_close(a->policy);
    free(a);
}

/* ---- decisions ---- */

/* "reason | trace: line; line; ..." bounded to the audit detail. */
static const char *trace_text(struct authz_work *w)
{
    size_t used;
    uint32_t i;

    (void)snprintf(w->audit_detail, sizeof(w->audit_detail), "%s | trace:", w->d.reason);
    used = strlen(w->audit_detail);
    for (i = 0; i < w->d.trace_count; i++) {
        const char *line = edge_policy_trace_line(&w->d, i);
        int n;
        if (!line || used + 1 >= sizeof(w->audit_detail))
            break;
        n = snprintf(w->audit_detail + used, sizeof(w->audit_detail) - used, " %s;", line);
        if (n < 0 || (size_t)n >= sizeof(w->audit_detail) - used) {
            w->audit_detail[used] = '\0'; /* never half a line (nor half a UTF-8 sequence) */
            break;
        }
        used += (size_t)n;
    }
    return w->audit_detail;
}

static void audit_denied(struct authz *a, const struct caller_identity *caller,
                         const edge_lease_req *r, edge_status st, const char *detail,
                         uint32_t seconds)
{
    audit_port_range ports;
    audit_request req;
    audit_record rec;
    wchar_t *sid = NULL;

    memset(&rec, 0, sizeof(rec));
    memset(&req, 0, sizeof(req));
    ports.first = r->port_lo;
    ports.last = r->has_port_hi ? r->port_hi : r->port_lo;
    req.verb = "request";
    req.protocol = r->protocol;
    req.ports = &ports;
    req.port_count = 1;
    req.lease_seconds = seconds ? seconds : r->seconds;
    req.flags = r->has_flags ? r->flags : 0;
    rec.kind = AUDIT_REQUEST_DENIED;
    rec.status = (uint32_t)st;
    rec.detail = detail;
    if (caller->sid_len && IsValidSid((PSID)caller->sid))
        (void)ConvertSidToStringSidW((PSID)caller->sid, &sid);
    rec.caller_sid = sid;
    rec.pid = caller->pid;
    rec.image_path = caller->image_path;
    rec.image_sha256 = caller->image_sha256;
    rec.request = &req;
    (void)audit_emit(a->audit, &rec);
    LocalFree(sid);
}

static void requester_of(const struct authz_subject *s, const struct caller_identity *caller,
                         struct consent_requester *who, struct consent_scope *scope)
{
    memset(who, 0, sizeof(*who));
    memset(scope, 0, sizeof(*scope));
    who->user_sid = s->sid;
    who->image_path = s->path;
    who->image_sha256 = s->sha256;
    who->session_id = caller->session_id;
    scope->protocol = s->req.protocol;
    scope->port_lo = s->req.port_lo;
    scope->port_hi = s->req.port_hi;
    scope->has_seconds = s->req.has_seconds;
    scope->seconds = s->req.seconds;
    scope->flags = s->req.flags;
}

/* Identity, snapshot, signature, remembered decisions, engine.  *snap is held on return. */
static edge_status decide(struct authz *a, const struct caller_identity *caller,
                          const edge_lease_req *r, struct authz_work *w,
                          const struct policy_snapshot **snap, uint64_t now,
                          struct authz_outcome *out)
{
    struct consent_records *recs = NULL;
    edge_status st;

    *snap = policy_source_acquire(a->policy);
    st = authz_subject_build(caller, r, &(*snap)->policy, &w->s, out->detail, sizeof(out->detail));
    if (st != EDGE_OK)
        return out->status = st;
    st = consent_records(a->consent, now, &recs);
    if (st != EDGE_OK)
        return set_outcome(out, st, "the remembered decisions could not be read"), st;
    edge_policy_decide(&w->s.id, &w->s.req, &(*snap)->policy, recs->items, recs->count, now, &w->d);
    consent_records_free(recs);
    return EDGE_OK;
}

static void lease_request_of(const struct authz_subject *s, const edge_policy_decision *d,
                             const char *owner_sid, const char *reason, struct leases_request *lr)
{
    memset(lr, 0, sizeof(*lr));
    lr->protocol = s->req.protocol;
    lr->port_lo = s->req.port_lo;
    lr->port_hi = s->req.port_hi;
    lr->seconds = d->lease_seconds;
    lr->flags = s->req.flags;
    lr->edge_option = d->edge_option;
    lr->owner_sid = owner_sid;
    lr->image_path = s->path;
    lr->image_sha256 = s->sha256;
    lr->reason = reason;
}

static void from_leases(struct authz_outcome *out, const struct leases_result *res)
{
    out->status = res->status;
    (void)snprintf(out->detail, sizeof(out->detail), "%s", res->detail);
    out->retry_after = res->retry_after;
    out->has_win32_error = res->has_win32_error;
    out->win32_error = res->win32_error;
}

/* An approver's lease for this requester exists: bind it to the poller and reply with it. */
static bool collect_approved(struct authz *a, const struct caller_identity *caller,
                             const struct consent_requester *who, const struct consent_scope *scope,
                             uint64_t now, struct authz_outcome *out)
{
    struct leases_result res;
    uint8_t id[EDGE_ID_SIZE];

    if (consent_take_lease(a->consent, who, scope, now, id) != EDGE_OK)
        return false;
    if (leases_adopt(a->leases, caller, id) != EDGE_OK ||
        leases_show(a->leases, caller, id, &out->lease, &res) != EDGE_OK)
        return false; /* revoked or expired meanwhile: decide afresh */
    set_outcome(out, EDGE_OK, "approved by an administrator");
    return true;
}

edge_status authz_request(struct authz *a, const struct caller_identity *caller,
                          const edge_lease_req *r, struct authz_outcome *out)
{
    const struct policy_snapshot *snap = NULL;
    struct consent_requester who;
    struct consent_scope scope;
    struct leases_request lr;
    struct leases_result res;
    struct authz_work *w;
    uint64_t now = authz_now();
    edge_status st;

    memset(out, 0, sizeof(*out));
    w = calloc(1, sizeof(*w));
    if (!w)
        return set_outcome(out, EDGE_E_NO_MEMORY, NULL), EDGE_E_NO_MEMORY;
    AcquireSRWLockShared(&a->approve_lock);
    st = decide(a, caller, r, w, &snap, now, out);
    if (st != EDGE_OK && out->status == EDGE_E_BAD_REQUEST) {
        audit_denied(a, caller, r, out->status, out->detail, 0);
        goto done;
    }
    if (st != EDGE_OK)
        goto done;
    requester_of(&w->s, caller, &who, &scope);
    if (!w->s.other_app && collect_approved(a, caller, &who, &scope, now, out))
        goto done;
    switch (w->d.verdict) {
    case EDGE_POLICY_ALLOW:
        lease_request_of(&w->s, &w->d, w->s.sid, trace_text(w), &lr);
        if (leases_grant(a->leases, caller, &lr, &out->lease, &res) == EDGE_OK)
            set_outcome(out, EDGE_OK, "%s", w->d.reason);
        else
            from_leases(out, &res);
        if (out->status == EDGE_OK && !w->s.other_app)
            (void)consent_settle(a->consent, &who, &scope);
        break;
    case EDGE_POLICY_PENDING: {
        struct consent_submit_params sp;
        struct consent_pending_info *info = calloc(1, sizeof(*info));
        if (!info) {
            set_outcome(out, EDGE_E_NO_MEMORY, NULL);
            break;
        }
        sp.timeout_seconds = snap->policy.consent_timeout_seconds;
        sp.remember_seconds = snap->policy.consent_remember_seconds;
        sp.prompt_user = snap->policy.consent_by == EDGE_POLICY_CONSENT_BY_INTERACTIVE_USER;
        st = consent_submit(a->consent, &who, &scope, &sp, now, info);
        if (st == EDGE_OK) {
            set_outcome(out, EDGE_PENDING_CONSENT, "%s", w->d.reason);
            out->has_pending_id = true;
            memcpy(out->pending_id, info->id, EDGE_ID_SIZE);
            out->retry_after = AUTHZ_POLL_SECONDS;
        } else if (st == EDGE_E_QUOTA) {
            set_outcome(out, st,
                        "too many requests are waiting for an approver (at most %lu per user)",
                        (unsigned long)CONSENT_DEFAULT_MAX_PENDING_PER_USER);
            out->retry_after = AUTHZ_CONSENT_FULL_RETRY;
            audit_denied(a, caller, r, st, out->detail, w->d.lease_seconds);
        } else {
            set_outcome(out, st, "the request could not be queued for an approver");
            audit_denied(a, caller, r, st, out->detail, w->d.lease_seconds);
        }
        free(info);
        break;
    }
    default:
        set_outcome(out, w->d.status, "%s", w->d.reason);
        if (w->d.status == EDGE_E_CONSENT_DENIED && !w->s.other_app)
            (void)consent_settle(a->consent, &who, &scope); /* the denial was delivered */
        audit_denied(a, caller, r, w->d.status, trace_text(w), w->d.lease_seconds);
        break;
    }
done:
    ReleaseSRWLockShared(&a->approve_lock);
    policy_snapshot_release(snap);
    free(w);
    return out->status;
}

edge_status authz_explain(struct authz *a, const struct caller_identity *caller,
                          const edge_lease_req *r, edge_policy_decision **decision,
                          struct authz_outcome *out)
{
    const struct policy_snapshot *snap = NULL;
    struct authz_work *w;
    edge_status st;

    memset(out, 0, sizeof(*out));
    *decision = NULL;
    w = calloc(1, sizeof(*w));
    if (!w)
        return set_outcome(out, EDGE_E_NO_MEMORY, NULL), EDGE_E_NO_MEMORY;
    st = decide(a, caller, r, w, &snap, authz_now(), out);
    policy_snapshot_release(snap);
    if (st == EDGE_OK) {
        char text[EDGE_MAX_TEXT + 1];
        (void)snprintf(text, sizeof(text), "explain for %s: %s (%s)", w->s.path,
                       edge_status_name(w->d.status), w->d.reason);
        audit_text(a, AUDIT_EXPLAIN, w->d.status, text);
        *decision = &w->d; /* the start of the block: free() releases all of it */
        out->status = EDGE_OK;
        return EDGE_OK;
    }
    free(w);
    return st;
}

/* ---- approver verbs ---- */

edge_status authz_approve(struct authz *a, const struct caller_identity *admin,
                          const uint8_t id[EDGE_ID_SIZE], struct authz_outcome *out)
{
    const struct policy_snapshot *snap;
    struct consent_pending_info *info;
    struct leases_request lr;
    struct leases_result res;
    struct authz_work *w;
    char approver[EDGE_MAX_SID + 1];
    char reason[EDGE_MAX_TEXT + 1];
    uint64_t now = authz_now();
    struct consent_records *recs = NULL;
    edge_status st;

    memset(out, 0, sizeof(*out));
    w = calloc(1, sizeof(*w));
    info = calloc(1, sizeof(*info));
    if (!w || !info) {
        free(w);
        free(info);
        return set_outcome(out, EDGE_E_NO_MEMORY, NULL), EDGE_E_NO_MEMORY;
    }
    if (!authz_sid_string(admin, approver, sizeof(approver)))
        (void)snprintf(approver, sizeof(approver), "an administrator");
    snap = policy_source_acquire(a->policy);
    AcquireSRWLockExclusive(&a->approve_lock);
    st = consent_approve(a->consent, id, approver, false, snap->policy.consent_remember_seconds,
                         now, info);
    if (st != EDGE_OK) {
        set_outcome(out, st, "no such pending request (unknown, expired or already decided)");
        goto done;
    }
    /* Decided again for the requester on the policy in force, the approval now among the
     * records: a mode or port change made while the request waited still applies. */
    (void)snprintf(w->s.sid, sizeof(w->s.sid), "%s", info->user_sid);
    (void)snprintf(w->s.path, sizeof(w->s.path), "%s", info->image_path);
    memcpy(w->s.sha256, info->image_sha256, EDGE_SHA256_SIZE);
    w->s.have_hash = true;
    w->s.id.user_sid = w->s.sid;
    w->s.id.image_path = w->s.path;
    w->s.id.image_sha256 = w->s.sha256;
    w->s.req.protocol = info->scope.protocol;
    w->s.req.port_lo = info->scope.port_lo;
    w->s.req.port_hi = info->scope.port_hi;
    w->s.req.has_seconds = info->scope.has_seconds;
    w->s.req.seconds = info->scope.seconds;
    w->s.req.flags = info->scope.flags;
    st = consent_records(a->consent, now, &recs);
    if (st != EDGE_OK) {
        set_outcome(out, st, "approved; the lease is made at the requester's next request");
        goto done;
    }
    edge_policy_decide(&w->s.id, &w->s.req, &snap->policy, recs->items, recs->count, now, &w->d);
    consent_records_free(recs);
    if (w->d.verdict != EDGE_POLICY_ALLOW) {
        set_outcome(out, w->d.status, "approved, but policy now refuses the request: %s",
                    w->d.reason);
        goto done;
    }
    (void)snprintf(reason, sizeof(reason), "approved by %s: %s", approver, trace_text(w));
    lease_request_of(&w->s, &w->d, w->s.sid, reason, &lr);
    if (leases_grant(a->leases, NULL, &lr, &out->lease, &res) != EDGE_OK) {
        from_leases(out, &res);
        goto done;
    }
    (void)consent_attach_lease(a->consent, id, out->lease->items[0].id);
    set_outcome(out, EDGE_OK, "approved; the lease is the requester's");
done:
    ReleaseSRWLockExclusive(&a->approve_lock);
    policy_snapshot_release(snap);
    free(info);
    free(w);
    return out->status;
}

edge_status authz_deny(struct authz *a, const struct caller_identity *admin,
                       const uint8_t id[EDGE_ID_SIZE], const char *reason, size_t reason_len,
                       struct authz_outcome *out)
{
    const struct policy_snapshot *snap;
    char approver[EDGE_MAX_SID + 1];
    char why[EDGE_MAX_TEXT + 1];
    edge_status st;

    memset(out, 0, sizeof(*out));
    if (!authz_sid_string(admin, approver, sizeof(approver)))
        (void)snprintf(approver, sizeof(approver), "an administrator");
    if (reason_len > EDGE_MAX_TEXT)
        reason_len = EDGE_MAX_TEXT;
    if (reason)
        memcpy(why, reason, reason_len);
    why[reason ? reason_len : 0] = '\0';
    snap = policy_source_acquire(a->policy);
    st = consent_deny(a->consent, id, approver, reason ? why : NULL, false,
                      snap->policy.consent_remember_seconds, authz_now(), NULL);
    policy_snapshot_release(snap);
    if (st != EDGE_OK)
        set_outcome(out, st, "no such pending request (unknown, expired or already decided)");
    else
        set_outcome(out, EDGE_OK, NULL);
    return out->status;
}
