/*
 * Failure reports: every error says what happened and what to do next, as text on stderr or as
 * the "error" object of the --json document, with the stable exit code of docs/edgectl.md.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "edgectl.h"
#include "output.h"

static const struct {
    const char *name;
    const char *meaning;
} exit_codes[CTL_EXIT_COUNT_] = {
    {"ok", "success"},
    {"usage", "bad command line; see `edgectl help VERB`"},
    {"not_installed", "the EdgeBroker service is not installed"},
    {"not_running", "the EdgeBroker service is installed but not running"},
    {"access_denied", "access denied: the verb needs an elevated administrator"},
    {"policy_denied", "refused by policy, by an approver, or because the ports are taken"},
    {"consent_pending", "the request waits for an administrator's consent"},
    {"not_found", "no such lease"},
    {"transient", "temporary failure (busy, timeout, quota, restart); retry later"},
    {"fake_server", "the pipe is served by something other than the EdgeBroker service"},
    {"internal", "internal or unexpected error"},
    {"unavailable", "not available in this version of edgectl or of the service"},
    {"ineffective", "done, but the firewall rule cannot work right now; see `edgectl doctor`"},
};

const char *ctl_exit_name(int code)
{
    return code >= 0 && code < CTL_EXIT_COUNT_ ? exit_codes[code].name : "unknown";
}

const char *ctl_exit_meaning(int code)
{
    return code >= 0 && code < CTL_EXIT_COUNT_ ? exit_codes[code].meaning : "unknown";
}

int ctl_exit_for(edge_result r)
{
    switch (r) {
    case EDGE_OK:
        return CTL_EXIT_OK;
    case EDGE_CLIENT_W_INEFFECTIVE:
    case EDGE_E_INEFFECTIVE:
        return CTL_EXIT_INEFFECTIVE;
    case EDGE_PENDING_CONSENT:
        return CTL_EXIT_CONSENT_PENDING;
    case EDGE_E_ACCESS_DENIED:
    case EDGE_CLIENT_E_ACCESS_DENIED:
        return CTL_EXIT_ACCESS_DENIED;
    case EDGE_E_DENIED:
    case EDGE_E_CONSENT_DENIED:
    case EDGE_E_IDENTITY_MISMATCH:
    case EDGE_E_BAD_SIGNATURE:
    case EDGE_E_EXPIRED:
    case EDGE_E_CONFLICT:
        return CTL_EXIT_POLICY_DENIED;
    case EDGE_E_NOT_FOUND:
    case EDGE_CLIENT_E_LEASE_ENDED:
        return CTL_EXIT_NOT_FOUND;
    case EDGE_CLIENT_E_NO_SERVICE:
        return CTL_EXIT_NOT_RUNNING; /* refined by the SCM diagnosis in connect.c */
    case EDGE_CLIENT_E_FAKE_SERVER:
        return CTL_EXIT_FAKE_SERVER;
    case EDGE_E_UNSUPPORTED_VERSION:
        return CTL_EXIT_UNAVAILABLE;
    default:
        if (EDGE_SUCCEEDED(r))
            return CTL_EXIT_OK;
        return edge_result_is_transient(r) ? CTL_EXIT_TRANSIENT : CTL_EXIT_INTERNAL;
    }
}

/* What to do next, for results whose remedy does not depend on the verb. */
static const char *next_step_for(edge_result r)
{
    switch (r) {
    case EDGE_E_ACCESS_DENIED:
        return "run edgectl from an elevated prompt (Run as administrator)";
    case EDGE_CLIENT_E_ACCESS_DENIED:
        return "run edgectl as a local interactive user: the service refuses network and "
               "anonymous logons";
    case EDGE_E_DENIED:
        return "ask an administrator to allow this application, protocol and ports in the "
               "EdgeBroker policy (docs/policy.md)";
    case EDGE_E_CONSENT_DENIED:
        return "an approver refused the request; ask an administrator if it should be allowed";
    case EDGE_E_IDENTITY_MISMATCH:
        return "a lease is only for the calling executable; an elevated administrator can use "
               "`edgectl request --app PATH`";
    case EDGE_E_BAD_SIGNATURE:
    case EDGE_E_EXPIRED:
        return "obtain a freshly signed request from the key holder";
    case EDGE_E_CONFLICT:
        return "choose other ports, or ask an administrator who holds them (`edgectl list --all`)";
    case EDGE_E_NOT_FOUND:
    case EDGE_CLIENT_E_LEASE_ENDED:
        return "list the leases that exist: `edgectl list` (administrators: `edgectl list --all`)";
    case EDGE_E_QUOTA:
        return "release leases you no longer need (`edgectl list`, `edgectl release ID`), or "
               "retry later";
    case EDGE_E_FIREWALL_ACCESS:
    case EDGE_E_FIREWALL_UNAVAILABLE:
    case EDGE_E_FIREWALL_INVALID:
        return "check that the Windows Defender Firewall service (mpssvc) runs, then run "
               "`edgectl doctor`";
    case EDGE_E_INEFFECTIVE:
    case EDGE_CLIENT_W_INEFFECTIVE:
        return "run `edgectl doctor` to see what defeats the rule";
    case EDGE_E_UNSUPPORTED_VERSION:
        return "install matching versions of edgectl and the EdgeBroker service "
               "(`edgectl --version` shows both)";
    case EDGE_E_BAD_REQUEST:
    case EDGE_E_PROTOCOL_STATE:
    case EDGE_CLIENT_E_PROTOCOL:
        return "check that edgectl and the service come from the same release (`edgectl "
               "--version`); if they do, report a bug with the service's event log";
    case EDGE_CLIENT_E_TIMEOUT:
        return "retry later, or allow more time with --timeout MS; `edgectl status` shows "
               "whether the service is healthy";
    case EDGE_CLIENT_E_DISCONNECTED:
    case EDGE_E_SHUTTING_DOWN:
        return "the service stopped or restarted; retry in a few seconds (`sc query EdgeBroker`)";
    default:
        return edge_result_is_transient(r) ? "retry later"
                                           : "see the service's event log for details";
    }
}

void ctl_describe(struct ctl *c, edge_result r, const char *what, struct ctl_err *e)
{
    memset(e, 0, sizeof(*e));
    if (r == EDGE_CLIENT_E_NO_SERVICE || r == EDGE_CLIENT_E_FAKE_SERVER ||
        r == EDGE_CLIENT_E_ACCESS_DENIED) {
        /* A connection-level failure (also on a reconnect): same report as a failed open. */
        ctl_describe_open_failure(c, r, e);
        return;
    }
    e->exit_code = ctl_exit_for(r);
    e->code = edge_result_name(r);
    e->value = r;
    snprintf(e->message, sizeof(e->message), "%s: %s", what, edge_strerror(r));
    if (c->session && r > 0 && r < EDGE_CLIENT_E_BASE)
        edge_session_last_detail(c->session, e->detail, sizeof(e->detail), &e->win32_error,
                                 &e->retry_after);
    if (r == EDGE_CLIENT_E_TIMEOUT)
        snprintf(e->message, sizeof(e->message), "%s: the service did not answer within %lu ms",
                 what, (unsigned long)c->timeout_ms);
    if (e->retry_after && edge_result_is_transient(r))
        snprintf(e->next, sizeof(e->next), "retry in %lu seconds", (unsigned long)e->retry_after);
    else
        snprintf(e->next, sizeof(e->next), "%s", next_step_for(r));
}

int ctl_fail(struct ctl *c, edge_result r, const char *what)
{
    static struct ctl_err e; /* large; edgectl is single-threaded */
    ctl_describe(c, r, what, &e);
    return ctl_report(c, &e);
}

void ctl_json_error(json_writer *w, const struct ctl_err *e)
{
    json_key(w, "error");
    json_object_begin(w);
    json_kv_string(w, "code", e->code);
    json_kv_int(w, "value", e->value);
    json_kv_string(w, "message", e->message);
    json_kv_string(w, "next_step", e->next);
    if (e->detail[0])
        json_kv_string(w, "detail", e->detail);
    if (e->win32_error)
        json_kv_uint(w, "win32_error", e->win32_error);
    if (e->retry_after)
        json_kv_uint(w, "retry_after", e->retry_after);
    if (e->service_state)
        json_kv_string(w, "service_state", e->service_state);
    if (e->pending_id[0])
        json_kv_string(w, "pending_id", e->pending_id);
    json_object_end(w);
}

int ctl_report(struct ctl *c, const struct ctl_err *e)
{
    if (c->json) {
        ctl_json_error(ctl_json_begin(c, false), e);
        return ctl_json_end(c, e->exit_code);
    }
    out_eprintf("edgectl: %s\n", e->message);
    if (e->detail[0])
        out_eprintf("  Service says: %s\n", e->detail);
    if (e->win32_error)
        out_eprintf("  Windows error: %lu (0x%08lX)\n", (unsigned long)e->win32_error,
                    (unsigned long)e->win32_error);
    if (e->next[0])
        out_eprintf("  Next: %s\n", e->next);
    return e->exit_code;
}

int ctl_usage(struct ctl *c, const char *fmt, ...)
{
    static struct ctl_err e;
    va_list ap;

    memset(&e, 0, sizeof(e));
    e.exit_code = CTL_EXIT_USAGE;
    e.code = "EDGECTL_USAGE";
    e.value = -1;
    va_start(ap, fmt);
    vsnprintf(e.message, sizeof(e.message), fmt, ap);
    va_end(ap);
    if (c->verb && ctl_find_verb(c->verb))
        snprintf(e.next, sizeof(e.next), "see `edgectl help %s`", c->verb);
    else
        snprintf(e.next, sizeof(e.next), "see `edgectl help`");
    return ctl_report(c, &e);
}

/* ---- the JSON document ---- */

json_writer *ctl_json_begin(struct ctl *c, bool ok)
{
    json_reset(&c->jw);
    json_object_begin(&c->jw);
    json_kv_int(&c->jw, "schema", CTL_JSON_SCHEMA);
    json_kv_string(&c->jw, "command", c->verb ? c->verb : "");
    json_kv_bool(&c->jw, "ok", ok);
    return &c->jw;
}

int ctl_json_end(struct ctl *c, int exit_code)
{
    const char *doc = NULL;
    size_t len = 0;
    json_status js;

    json_kv_int(&c->jw, "exit_code", exit_code);
    json_object_end(&c->jw);
    js = json_finish(&c->jw, &doc, &len);
    if (js != JSON_OK) {
        /* Only an allocation failure or a bug gets here; say so in a document that fits. */
        out_printf("{\"schema\":%d,\"command\":\"\",\"ok\":false,\"exit_code\":%d,\"error\":"
                   "{\"code\":\"%s\",\"value\":%d,\"message\":\"cannot build the JSON output\","
                   "\"next_step\":\"retry; report a bug if it persists\"}}\n",
                   CTL_JSON_SCHEMA, CTL_EXIT_INTERNAL, json_status_name(js), (int)js);
        return CTL_EXIT_INTERNAL;
    }
    out_write(false, doc, len);
    out_write(false, "\n", 1);
    return exit_code;
}
