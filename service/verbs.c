/*
 * The service's lease and health verbs and the verbs' shared state: audit trail, authorization
 * (policy source, consent), lease manager (see verbs.h).  The authorization verbs (request,
 * pending, approve, deny, policy, explain) are in verbs_authz.c.
 *
 * Data directory: verbs_config.state_dir, else %ProgramData%\EdgeBroker or the directory named by
 * the environment variable EDGE_STATE_DIR (development; the service's own environment, which only
 * administrators can change).  Policy: verbs_config's keys, else HKLM\SOFTWARE\Policies\EdgeBroker
 * over HKLM\SOFTWARE\EdgeBroker (policy_source.h).
 */
#include "verbs_internal.h"
#include "audit.h"
#include "caller.h"
#include "connection.h"
#include "datadir.h"
#include "leases.h"
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VERBS_MAX_CHECKS 20u

struct verbs_ctx *verbs_ctx_of(struct connection *c)
{
    return (struct verbs_ctx *)c->service_ctx;
}

edge_status verbs_reply_text(struct verb_reply *rep, edge_status st, const char *detail,
                             bool has_win32_error, uint32_t win32_error, uint32_t retry_after)
{
    char *copy = NULL;

    if (detail && detail[0]) {
        size_t n = strlen(detail);
        copy = malloc(n + 1);
        if (copy)
            memcpy(copy, detail, n + 1);
    }
    free(rep->owned);
    rep->owned = copy;
    if (copy)
        rep->msg.env.detail = edge_str_from_cstr(copy);
    if (has_win32_error) {
        rep->msg.env.has_win32_error = true;
        rep->msg.env.win32_error = win32_error;
    }
    if (retry_after) {
        rep->msg.env.has_retry_after = true;
        rep->msg.env.retry_after = retry_after;
    }
    return st;
}

/* Hands a leases_result to the reply: status, detail (copied into an owned block), error. */
static edge_status reply_error(struct verb_reply *rep, const struct leases_result *res)
{
    return verbs_reply_text(rep, res->status == EDGE_OK ? EDGE_E_INTERNAL : res->status,
                            res->detail, res->has_win32_error, res->win32_error, res->retry_after);
}

static void set_warnings(struct verb_reply *rep, uint32_t warnings)
{
    if (warnings) {
        rep->msg.env.has_warnings = true;
        rep->msg.env.warnings = warnings;
    }
}

edge_status verbs_reply_lease(struct verb_reply *rep, struct leases_view *v)
{
    rep->owned = v;
    rep->msg.u.lease_rep.has_lease = true;
    rep->msg.u.lease_rep.lease = v->items[0];
    set_warnings(rep, v->warnings);
    /* "Granted but ineffective" is never silent: the reason rides along with the warning. */
    if (v->detail[0])
        rep->msg.env.detail = edge_str_from_cstr(v->detail);
    return EDGE_OK;
}

/* ---- lease verbs --------------------------------------------------------------------------- */

static edge_status verb_renew(struct connection *c, const edge_msg *req, struct verb_reply *rep)
{
    const edge_renew_req *r = &req->u.renew_req;
    struct leases_result res;
    struct leases_view *v = NULL;

    if (leases_renew(verbs_ctx_of(c)->leases, &c->caller, r->lease_id, r->has_seconds, r->seconds,
                     &v, &res) != EDGE_OK)
        return reply_error(rep, &res);
    return verbs_reply_lease(rep, v);
}

static edge_status verb_show(struct connection *c, const edge_msg *req, struct verb_reply *rep)
{
    struct leases_result res;
    struct leases_view *v = NULL;

    if (leases_show(verbs_ctx_of(c)->leases, &c->caller, req->u.id_req.id, &v, &res) != EDGE_OK)
        return reply_error(rep, &res);
    return verbs_reply_lease(rep, v);
}

static edge_status verb_release(struct connection *c, const edge_msg *req, struct verb_reply *rep)
{
    struct leases_result res;

    if (leases_release(verbs_ctx_of(c)->leases, &c->caller, req->u.id_req.id, &res) != EDGE_OK)
        return reply_error(rep, &res);
    return EDGE_OK;
}

static edge_status verb_revoke(struct connection *c, const edge_msg *req, struct verb_reply *rep)
{
    struct leases_result res;
    const edge_id_req *r = &req->u.id_req;

    if (leases_revoke(verbs_ctx_of(c)->leases, &c->caller, r->id, r->reason.ptr, r->reason.len,
                      &res) != EDGE_OK)
        return reply_error(rep, &res);
    return EDGE_OK;
}

static edge_status verb_list(struct connection *c, const edge_msg *req, struct verb_reply *rep)
{
    const edge_list_req *r = &req->u.list_req;
    bool all = r->has_flags && (r->flags & EDGE_LIST_F_ALL);
    size_t budget = EDGE_FRAME_MAX - VERBS_LIST_OVERHEAD;
    struct leases_result res;
    struct leases_view *v = NULL;
    int attempt;

    for (attempt = 0; attempt < 8; attempt++) {
        size_t len = 0;
        edge_proto_err perr;

        if (leases_list(verbs_ctx_of(c)->leases, &c->caller, all, r->has_cursor ? r->cursor : 0,
                        EDGE_MAX_LIST_ITEMS, budget, &v, &res) != EDGE_OK)
            return reply_error(rep, &res);
        free(rep->owned);
        rep->owned = v;
        memset(&rep->msg.u.list_rep, 0, sizeof(rep->msg.u.list_rep));
        rep->msg.u.list_rep.items.items = v->items;
        rep->msg.u.list_rep.items.count = v->count;
        rep->msg.u.list_rep.has_next_cursor = v->more;
        rep->msg.u.list_rep.next_cursor = v->next_cursor;
        set_warnings(rep, v->warnings);
        if (v->detail[0])
            rep->msg.env.detail = edge_str_from_cstr(v->detail);
        /* The size estimate is conservative; measuring makes the frame limit a certainty. */
        perr = edge_msg_encode(&rep->msg, NULL, 0, &len);
        if (perr == EDGE_PROTO_E_BUFFER_TOO_SMALL && len <= EDGE_FRAME_MAX)
            return EDGE_OK;
        if (perr != EDGE_PROTO_E_BODY_TOO_LARGE && perr != EDGE_PROTO_E_BUFFER_TOO_SMALL)
            return EDGE_OK; /* conn_handle_frame reports any other codec refusal */
        budget /= 2;
    }
    return EDGE_E_INTERNAL;
}

static edge_status verb_purge(struct connection *c, const edge_msg *req, struct verb_reply *rep)
{
    struct leases_result res;
    uint32_t removed = 0;

    (void)req;
    if (leases_purge(verbs_ctx_of(c)->leases, &c->caller, &removed, &res) != EDGE_OK)
        return reply_error(rep, &res);
    rep->msg.u.purge_rep.removed = removed;
    return EDGE_OK;
}

/* ---- status and doctor --------------------------------------------------------------------- */

struct checks {
    uint32_t count;
    edge_check items[VERBS_MAX_CHECKS];
    char reasons[VERBS_MAX_CHECKS][EDGE_MAX_TEXT + 1];
};

static void check_add(struct checks *k, const char *name, uint8_t state, const char *fmt, ...)
{
    va_list ap;
    char *r;

    if (k->count >= VERBS_MAX_CHECKS)
        return;
    r = k->reasons[k->count];
    va_start(ap, fmt);
    if (vsnprintf(r, EDGE_MAX_TEXT + 1, fmt, ap) < 0)
        r[0] = '\0';
    va_end(ap);
    k->items[k->count].name = edge_str_from_cstr(name);
    k->items[k->count].state = state;
    k->items[k->count].reason = r[0] ? edge_str_from_cstr(r) : edge_str_from_cstr(NULL);
    k->count++;
}

static void service_checks(struct verbs_ctx *vc, struct checks *k, const struct leases_stats *s)
{
    if (s->store_dirty)
        check_add(k, "state_store", EDGE_CHECK_OFF,
                  "the last state write failed (Win32 error %lu); memory is ahead of disk",
                  (unsigned long)s->store_error);
    else
        check_add(k, "state_store", EDGE_CHECK_ON, "state persisted");
    if (!s->reconcile_done)
        check_add(k, "reconcile", EDGE_CHECK_UNKNOWN, "start-up reconcile not finished yet");
    else if (s->reconcile_status != EDGE_OK)
        check_add(k, "reconcile", EDGE_CHECK_OFF, "last pass failed (%s); retrying in %lu ms",
                  edge_status_name(s->reconcile_status), (unsigned long)s->reconcile_retry_ms);
    else
        check_add(k, "reconcile", EDGE_CHECK_ON, "firewall group matches the leases");
    if (s->ending)
        check_add(k, "rule_removals", EDGE_CHECK_OFF,
                  "%lu ended leases still wait for their rule to be removed",
                  (unsigned long)s->ending);
    else
        check_add(k, "rule_removals", EDGE_CHECK_ON, "no rule removal pending");
    (void)vc;
}

static uint8_t check_state(edge_fw_tristate t)
{
    return t == EDGE_FW_ON ? EDGE_CHECK_ON : t == EDGE_FW_OFF ? EDGE_CHECK_OFF : EDGE_CHECK_UNKNOWN;
}

static edge_status verb_status(struct connection *c, const edge_msg *req, struct verb_reply *rep)
{
    struct verbs_ctx *vc = verbs_ctx_of(c);
    struct leases_stats s;
    struct checks *k = calloc(1, sizeof(*k));

    (void)req;
    if (!k)
        return EDGE_E_NO_MEMORY;
    leases_get_stats(vc->leases, &s);
    service_checks(vc, k, &s);
    rep->owned = k;
    rep->msg.u.status_rep.checks.items = k->items;
    rep->msg.u.status_rep.checks.count = k->count;
    rep->msg.u.status_rep.active_leases = s.leases - s.ending;
    rep->msg.u.status_rep.pending_requests =
        consent_pending_count(authz_consent(vc->authz), authz_now());
    rep->msg.u.status_rep.started = s.started;
    return EDGE_OK;
}

static edge_status verb_doctor(struct connection *c, const edge_msg *req, struct verb_reply *rep)
{
    static const char *const fw_names[EDGE_FW_PROFILE_COUNT] = {
        "firewall.domain", "firewall.private", "firewall.public"};
    static const char *const merge_names[EDGE_FW_PROFILE_COUNT] = {
        "local_rules.domain", "local_rules.private", "local_rules.public"};
    struct verbs_ctx *vc = verbs_ctx_of(c);
    struct leases_stats s;
    edge_fw_state fs;
    edge_status st;
    uint32_t ineffective = 0, warnings;
    char why[EDGE_MAX_TEXT + 1];
    struct checks *k = calloc(1, sizeof(*k));
    int i;

    (void)req;
    if (!k)
        return EDGE_E_NO_MEMORY;
    rep->owned = k;
    leases_get_stats(vc->leases, &s);
    service_checks(vc, k, &s);
    st = leases_firewall_state(vc->leases, true, &fs);
    if (st != EDGE_OK)
        check_add(k, "firewall_backend", EDGE_CHECK_OFF, "reading the firewall state failed: %s",
                  edge_status_name(st));
    for (i = 0; i < EDGE_FW_PROFILE_COUNT; i++)
        check_add(k, fw_names[i], check_state(fs.firewall[i].state), "%s", fs.firewall[i].reason);
    for (i = 0; i < EDGE_FW_PROFILE_COUNT; i++)
        check_add(k, merge_names[i], check_state(fs.local_merge[i].state), "%s",
                  fs.local_merge[i].reason);
    check_add(k, "current_profiles", check_state(fs.current.state), "%s (mask 0x%lx)",
              fs.current.reason, (unsigned long)fs.current_profiles);
    check_add(k, "teredo", check_state(fs.teredo.state), "%s", fs.teredo.reason);
    why[0] = '\0';
    warnings = st == EDGE_OK ? leases_assess(vc->leases, &fs, &ineffective, why, sizeof(why)) : 0;
    if (st != EDGE_OK)
        check_add(k, "rules_effective", EDGE_CHECK_UNKNOWN, "firewall state unknown");
    else if (ineffective)
        check_add(k, "rules_effective", EDGE_CHECK_OFF, "granted rules are not effective: %s", why);
    else
        check_add(k, "rules_effective", EDGE_CHECK_ON, "nothing defeats the rules");
    rep->msg.u.entries_rep.items.items = k->items;
    rep->msg.u.entries_rep.items.count = k->count;
    set_warnings(rep, warnings);
    return EDGE_OK;
}

/* ---- start-up and shutdown ----------------------------------------------------------------- */

/* The verbs' state plus the data directory's handle, which only start-up and shutdown touch.
 * vc comes first: the context handed out is &vc (verbs_ctx_of casts it back). */
struct verbs_owner {
    struct verbs_ctx vc;
    HANDLE dir_handle; /* datadir_open's, held until everything using the directory is closed */
};

/* Creates or vets the data directory before anything writes into it (datadir.h). */
static DWORD open_data_dir(struct verbs_owner *o)
{
    const char *reason = NULL;
    wchar_t why[128] = L"?";
    DWORD err = datadir_open(o->vc.dir, &o->dir_handle, &reason);

    if (err == ERROR_SUCCESS)
        return ERROR_SUCCESS;
    if (reason)
        MultiByteToWideChar(CP_UTF8, 0, reason, -1, why, (int)(sizeof(why) / sizeof(why[0])));
    why[sizeof(why) / sizeof(why[0]) - 1] = L'\0';
    log_msgw(LOG_ERROR,
             L"data directory %ls: %ls (error %lu); the service does not start (nothing, not even "
             L"the audit trail, is written there)",
             o->vc.dir, why, (unsigned long)err);
    return err;
}

static DWORD state_dir(wchar_t *out, DWORD cap)
{
    DWORD n = GetEnvironmentVariableW(L"EDGE_STATE_DIR", out, cap);

    if (n > 0 && n < cap)
        return ERROR_SUCCESS;
    n = ExpandEnvironmentStringsW(L"%ProgramData%\\EdgeBroker", out, cap);
    if (n == 0 || n > cap)
        return ERROR_FILENAME_EXCED_RANGE;
    if (wcschr(out, L'%')) /* ProgramData not set (should not happen for a service) */
        return ERROR_ENVVAR_NOT_FOUND;
    return ERROR_SUCCESS;
}

DWORD verbs_startup_config(struct verb_table *t, const struct verbs_config *cfg, void **ctx)
{
    const struct policy_snapshot *snap;
    struct authz_config ac;
    struct verbs_owner *o;
    struct verbs_ctx *vc;
    struct leases_params p;
    struct leases_result res;
    audit_config acfg;
    DWORD err;

    *ctx = NULL;
    o = calloc(1, sizeof(*o));
    if (!o)
        return ERROR_NOT_ENOUGH_MEMORY;
    o->dir_handle = INVALID_HANDLE_VALUE;
    vc = &o->vc;
    if (cfg && cfg->state_dir) {
        err = wcslen(cfg->state_dir) < VERBS_DIR_CHARS ? ERROR_SUCCESS : ERROR_FILENAME_EXCED_RANGE;
        if (err == ERROR_SUCCESS)
            wcscpy(vc->dir, cfg->state_dir);
    } else {
        err = state_dir(vc->dir, VERBS_DIR_CHARS);
    }
    if (err != ERROR_SUCCESS) {
        log_win32(LOG_ERROR, err, "cannot determine the data directory");
        goto fail;
    }
    /* First: the audit trail, the consent store and the lease store all write into it as
     * LocalSystem, so a directory a user planted must be refused before any of them opens. */
    err = open_data_dir(o);
    if (err != ERROR_SUCCESS)
        goto fail;
    audit_config_init(&acfg);
    acfg.directory = vc->dir;
    err = audit_open(&acfg, &vc->audit);
    if (err != ERROR_SUCCESS) {
        /* A service that cannot account for its decisions must not make any. */
        log_win32(LOG_ERROR, err, "cannot open the audit trail");
        goto fail;
    }
    memset(&ac, 0, sizeof(ac));
    ac.state_dir = vc->dir;
    ac.audit = vc->audit;
    ac.watch = true;
    if (cfg) {
        ac.policy_root = cfg->policy_root;
        ac.policy_key = cfg->policy_key;
        ac.local_key = cfg->local_key;
        ac.prompt = cfg->prompt;
        ac.console_session = cfg->console_session;
    }
    err = authz_open(&ac, &vc->authz);
    if (err != ERROR_SUCCESS)
        goto fail;
    memset(&p, 0, sizeof(p));
    snap = authz_policy(vc->authz);
    leases_config_from_policy(&snap->policy, &p.config);
    policy_snapshot_release(snap);
    p.state_dir = vc->dir;
    p.audit = vc->audit;
    p.epoch = t->epoch;
    if (leases_create(&p, &vc->leases, &res) != EDGE_OK) {
        log_msg(LOG_ERROR, "lease manager failed to start: %s: %s", edge_status_name(res.status),
                res.detail);
        err = res.status == EDGE_E_NO_MEMORY                      ? ERROR_NOT_ENOUGH_MEMORY
              : res.has_win32_error && res.win32_error < 0x10000u ? res.win32_error
                                                                  : ERROR_SERVICE_SPECIFIC_ERROR;
        goto fail;
    }
    authz_attach_leases(vc->authz, vc->leases);
    conn_verbs_register(t, EDGE_MSG_RENEW, verb_renew, VERB_ANY_CALLER, VERB_IN_HELLO_DONE);
    conn_verbs_register(t, EDGE_MSG_RELEASE, verb_release, VERB_ANY_CALLER, VERB_IN_HELLO_DONE);
    conn_verbs_register(t, EDGE_MSG_LIST, verb_list, VERB_ANY_CALLER, VERB_IN_HELLO_DONE);
    conn_verbs_register(t, EDGE_MSG_SHOW, verb_show, VERB_ANY_CALLER, VERB_IN_HELLO_DONE);
    conn_verbs_register(t, EDGE_MSG_STATUS, verb_status, VERB_ANY_CALLER, VERB_IN_HELLO_DONE);
    conn_verbs_register(t, EDGE_MSG_DOCTOR, verb_doctor, VERB_ANY_CALLER, VERB_IN_HELLO_DONE);
    conn_verbs_register(t, EDGE_MSG_REVOKE, verb_revoke, VERB_ADMIN, VERB_IN_HELLO_DONE);
    conn_verbs_register(t, EDGE_MSG_PURGE, verb_purge, VERB_ADMIN, VERB_IN_HELLO_DONE);
    verbs_authz_register(t);
    t->capabilities |= EDGE_CAP_SIGNED_REQUESTS | EDGE_CAP_USER_CONSENT;
    t->on_close = NULL; /* no per-connection verb state: leases outlive connections */
    /* Start-up reconcile on a pool thread: the pipe comes up without waiting for the firewall. */
    leases_reconcile_async(vc->leases);
    *ctx = vc;
    return ERROR_SUCCESS;
fail:
    verbs_shutdown(vc);
    return err;
}

DWORD verbs_startup(struct verb_table *t, void **ctx)
{
    return verbs_startup_config(t, NULL, ctx);
}

void verbs_shutdown(void *ctx)
{
    struct verbs_owner *o = ctx;
    struct verbs_ctx *vc = ctx;

    if (!vc)
        return;
    /* No reload may reach the lease manager once it is gone: the policy watcher stops first
     * (authz_close: consent, then the policy source).  Then timers and waits, the firewall, the
     * store (leases_destroy), the audit trail, and last the data directory's handle. */
    authz_close(vc->authz);
    leases_destroy(vc->leases);
    audit_close(vc->audit);
    if (o->dir_handle != INVALID_HANDLE_VALUE)
        CloseHandle(o->dir_handle);
    free(o);
}
