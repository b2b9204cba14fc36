/*
 * The service's verbs (everything but hello and ping, which connection.c implements) and their
 * shared state: audit trail, local configuration, lease manager (see verbs.h).
 *
 * Data directory: %ProgramData%\EdgeBroker, or the directory named by the environment variable
 * EDGE_STATE_DIR (tests and development).  Local configuration: HKLM\SOFTWARE\EdgeBroker, or
 * HKCU\<EDGE_CONFIG_KEY> when that variable is set (tests).  Both variables come from the
 * service's own environment, which only administrators can change.
 *
 * Verbs not offered until the authorization issue lands (rows left empty, so they answer
 * EDGE_E_BAD_REQUEST): pending, approve, deny, policy, explain.
 */
#include "verbs.h"
#include "audit.h"
#include "caller.h"
#include "connection.h"
#include "grant_policy.h"
#include "leases.h"
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VERBS_DIR_CHARS 1024u
/* Room a LIST reply needs besides its records: envelope (status, epoch, detail, warnings) and
 * the list and cursor headers. */
#define VERBS_LIST_OVERHEAD                                                                        \
    (EDGE_FRAME_HEADER_SIZE + 12u + 24u + 8u + EDGE_MAX_TEXT + 12u + 8u + 12u)
#define VERBS_MAX_CHECKS 20u

struct verbs_ctx {
    audit_log *audit;
    struct grant_policy_config policy;
    struct leases *leases;
    wchar_t dir[VERBS_DIR_CHARS];
};

static struct verbs_ctx *ctx_of(struct connection *c)
{
    return (struct verbs_ctx *)c->service_ctx;
}

/* Hands a leases_result to the reply: status, detail (copied into an owned block), error. */
static edge_status reply_error(struct verb_reply *rep, const struct leases_result *res)
{
    char *detail = NULL;

    if (res->detail[0]) {
        size_t n = strlen(res->detail);
        detail = malloc(n + 1);
        if (detail)
            memcpy(detail, res->detail, n + 1);
    }
    free(rep->owned);
    rep->owned = detail;
    if (detail)
        rep->msg.env.detail = edge_str_from_cstr(detail);
    if (res->has_win32_error) {
        rep->msg.env.has_win32_error = true;
        rep->msg.env.win32_error = res->win32_error;
    }
    if (res->retry_after) {
        rep->msg.env.has_retry_after = true;
        rep->msg.env.retry_after = res->retry_after;
    }
    return res->status == EDGE_OK ? EDGE_E_INTERNAL : res->status;
}

static void set_warnings(struct verb_reply *rep, uint32_t warnings)
{
    if (warnings) {
        rep->msg.env.has_warnings = true;
        rep->msg.env.warnings = warnings;
    }
}

/* A one-lease reply (request, renew, show) from a view, which becomes the owned block. */
static edge_status reply_lease(struct verb_reply *rep, struct leases_view *v)
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

static edge_status verb_request(struct connection *c, const edge_msg *req, struct verb_reply *rep)
{
    const edge_lease_req *r = &req->u.lease_req;
    struct leases_request lr;
    struct leases_result res;
    struct leases_view *v = NULL;

    memset(&lr, 0, sizeof(lr));
    lr.protocol = r->protocol;
    lr.port_lo = r->port_lo;
    lr.port_hi = r->has_port_hi ? r->port_hi : r->port_lo;
    lr.has_seconds = r->has_seconds;
    lr.seconds = r->seconds;
    lr.flags = r->has_flags ? r->flags : 0;
    lr.target_app = r->target_app.ptr;
    lr.target_app_len = r->target_app.len;
    if (r->signed_request.ptr) {
        /* Not verified before the signed-request issue lands: never grant on its strength. */
        memset(&res, 0, sizeof(res));
        res.status = EDGE_E_BAD_SIGNATURE;
        (void)snprintf(res.detail, sizeof(res.detail),
                       "signed requests are not supported by this service version");
        return reply_error(rep, &res);
    }
    if (leases_grant(ctx_of(c)->leases, &c->caller, &lr, &v, &res) != EDGE_OK)
        return reply_error(rep, &res);
    return reply_lease(rep, v);
}

static edge_status verb_renew(struct connection *c, const edge_msg *req, struct verb_reply *rep)
{
    const edge_renew_req *r = &req->u.renew_req;
    struct leases_result res;
    struct leases_view *v = NULL;

    if (leases_renew(ctx_of(c)->leases, &c->caller, r->lease_id, r->has_seconds, r->seconds, &v,
                     &res) != EDGE_OK)
        return reply_error(rep, &res);
    return reply_lease(rep, v);
}

static edge_status verb_show(struct connection *c, const edge_msg *req, struct verb_reply *rep)
{
    struct leases_result res;
    struct leases_view *v = NULL;

    if (leases_show(ctx_of(c)->leases, &c->caller, req->u.id_req.id, &v, &res) != EDGE_OK)
        return reply_error(rep, &res);
    return reply_lease(rep, v);
}

static edge_status verb_release(struct connection *c, const edge_msg *req, struct verb_reply *rep)
{
    struct leases_result res;

    if (leases_release(ctx_of(c)->leases, &c->caller, req->u.id_req.id, &res) != EDGE_OK)
        return reply_error(rep, &res);
    return EDGE_OK;
}

static edge_status verb_revoke(struct connection *c, const edge_msg *req, struct verb_reply *rep)
{
    struct leases_result res;
    const edge_id_req *r = &req->u.id_req;

    if (leases_revoke(ctx_of(c)->leases, &c->caller, r->id, r->reason.ptr, r->reason.len, &res) !=
        EDGE_OK)
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

        if (leases_list(ctx_of(c)->leases, &c->caller, all, r->has_cursor ? r->cursor : 0,
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
    if (leases_purge(ctx_of(c)->leases, &c->caller, &removed, &res) != EDGE_OK)
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
    struct verbs_ctx *vc = ctx_of(c);
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
    rep->msg.u.status_rep.pending_requests = 0; /* consent arrives with the authorization issue */
    rep->msg.u.status_rep.started = s.started;
    return EDGE_OK;
}

static edge_status verb_doctor(struct connection *c, const edge_msg *req, struct verb_reply *rep)
{
    static const char *const fw_names[EDGE_FW_PROFILE_COUNT] = {
        "firewall.domain", "firewall.private", "firewall.public"};
    static const char *const merge_names[EDGE_FW_PROFILE_COUNT] = {
        "local_rules.domain", "local_rules.private", "local_rules.public"};
    struct verbs_ctx *vc = ctx_of(c);
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

static void config_location(HKEY *root, wchar_t *key, DWORD cap)
{
    DWORD n = GetEnvironmentVariableW(L"EDGE_CONFIG_KEY", key, cap);

    if (n > 0 && n < cap) {
        *root = HKEY_CURRENT_USER;
        return;
    }
    *root = HKEY_LOCAL_MACHINE;
    (void)wcsncpy(key, LEASES_CONFIG_KEY, cap - 1);
    key[cap - 1] = L'\0';
}

static void audit_local_config(struct verbs_ctx *vc, DWORD policy_err, uint32_t bad_cfg,
                               const char *cfg_problems, const struct leases_config *cfg)
{
    audit_record rec;
    char text[EDGE_MAX_TEXT + 1];

    memset(&rec, 0, sizeof(rec));
    if (policy_err != ERROR_SUCCESS || vc->policy.malformed || bad_cfg) {
        (void)snprintf(text, sizeof(text), "local configuration: %s%s%s%s",
                       policy_err ? "allow-lists unreadable (nothing allow-listed); " : "",
                       vc->policy.problems, vc->policy.problems[0] && bad_cfg ? "; " : "",
                       cfg_problems);
        rec.kind = AUDIT_POLICY_VALUE_MALFORMED;
        rec.status = EDGE_E_BAD_REQUEST;
        rec.detail = text;
        rec.has_hresult = policy_err != ERROR_SUCCESS;
        rec.hresult = HRESULT_FROM_WIN32(policy_err);
        (void)audit_emit(vc->audit, &rec);
    }
    (void)snprintf(text, sizeof(text),
                   "interim policy: admins and allow-listed applications (%lu paths, %lu hashes); "
                   "quotas %lu/user %lu/app; lease %lu s default, %lu s max; edge %s; profiles "
                   "0x%lx",
                   (unsigned long)vc->policy.app_pattern_count,
                   (unsigned long)vc->policy.image_hash_count, (unsigned long)cfg->max_per_user,
                   (unsigned long)cfg->max_per_app, (unsigned long)cfg->default_seconds,
                   (unsigned long)cfg->max_seconds,
                   cfg->edge_option == EDGE_TRAVERSAL_ALLOW ? "allow" : "defer-to-app",
                   (unsigned long)cfg->profiles);
    memset(&rec, 0, sizeof(rec));
    rec.kind = AUDIT_POLICY_LOADED;
    rec.status = EDGE_OK;
    rec.detail = text;
    (void)audit_emit(vc->audit, &rec);
}

DWORD verbs_startup(struct verb_table *t, void **ctx)
{
    struct verbs_ctx *vc;
    struct leases_params p;
    struct leases_result res;
    audit_config acfg;
    wchar_t key[256];
    char cfg_problems[512];
    HKEY root;
    DWORD err, policy_err;
    uint32_t bad_cfg;

    *ctx = NULL;
    vc = calloc(1, sizeof(*vc));
    if (!vc)
        return ERROR_NOT_ENOUGH_MEMORY;
    err = state_dir(vc->dir, VERBS_DIR_CHARS);
    if (err != ERROR_SUCCESS) {
        log_win32(LOG_ERROR, err, "cannot determine the data directory");
        goto fail;
    }
    audit_config_init(&acfg);
    acfg.directory = vc->dir;
    err = audit_open(&acfg, &vc->audit);
    if (err != ERROR_SUCCESS) {
        /* A service that cannot account for its decisions must not make any. */
        log_win32(LOG_ERROR, err, "cannot open the audit trail");
        goto fail;
    }
    config_location(&root, key, (DWORD)(sizeof(key) / sizeof(key[0])));
    policy_err = grant_policy_config_load(root, key, &vc->policy);
    memset(&p, 0, sizeof(p));
    bad_cfg = leases_config_load(root, key, &p.config, cfg_problems, sizeof(cfg_problems));
    audit_local_config(vc, policy_err, bad_cfg, cfg_problems, &p.config);
    p.state_dir = vc->dir;
    p.policy = &vc->policy;
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
    conn_verbs_register(t, EDGE_MSG_REQUEST, verb_request, VERB_ANY_CALLER, VERB_IN_HELLO_DONE);
    conn_verbs_register(t, EDGE_MSG_RENEW, verb_renew, VERB_ANY_CALLER, VERB_IN_HELLO_DONE);
    conn_verbs_register(t, EDGE_MSG_RELEASE, verb_release, VERB_ANY_CALLER, VERB_IN_HELLO_DONE);
    conn_verbs_register(t, EDGE_MSG_LIST, verb_list, VERB_ANY_CALLER, VERB_IN_HELLO_DONE);
    conn_verbs_register(t, EDGE_MSG_SHOW, verb_show, VERB_ANY_CALLER, VERB_IN_HELLO_DONE);
    conn_verbs_register(t, EDGE_MSG_STATUS, verb_status, VERB_ANY_CALLER, VERB_IN_HELLO_DONE);
    conn_verbs_register(t, EDGE_MSG_DOCTOR, verb_doctor, VERB_ANY_CALLER, VERB_IN_HELLO_DONE);
    conn_verbs_register(t, EDGE_MSG_REVOKE, verb_revoke, VERB_ADMIN, VERB_IN_HELLO_DONE);
    conn_verbs_register(t, EDGE_MSG_PURGE, verb_purge, VERB_ADMIN, VERB_IN_HELLO_DONE);
    t->on_close = NULL; /* no per-connection verb state: leases outlive connections */
    /* Start-up reconcile on a pool thread: the pipe comes up without waiting for the firewall. */
    leases_reconcile_async(vc->leases);
    *ctx = vc;
    return ERROR_SUCCESS;
fail:
    verbs_shutdown(vc);
    return err;
}

void verbs_shutdown(void *ctx)
{
    struct verbs_ctx *vc = ctx;

    if (!vc)
        return;
    /* Timers and waits, then the firewall, then the store (leases_destroy), then the audit. */
    leases_destroy(vc->leases);
    grant_policy_config_free(&vc->policy);
    audit_close(vc->audit);
    free(vc);
}
