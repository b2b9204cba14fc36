/*
 * The session to the service, the diagnosis of a failed connection (through the Service Control
 * Manager: "not installed" and "not running" need different remedies), and raw verbs over
 * edge_session_transact for the administrator verbs the library does not wrap.
 */
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/protocol.h"
#include "edge/version.h"
#include "edgectl.h"

enum svc_state {
    SVC_UNKNOWN = 0, /* the SCM could not be asked */
    SVC_NOT_INSTALLED,
    SVC_STOPPED,
    SVC_START_PENDING,
    SVC_STOP_PENDING,
    SVC_RUNNING,
    SVC_PAUSED
};

static const char *const svc_state_names[] = {
    "unknown", "not_installed", "stopped", "start_pending", "stop_pending", "running", "paused"};

static enum svc_state query_service(const char *name, DWORD *err)
{
    SC_HANDLE scm = NULL, svc = NULL;
    SERVICE_STATUS_PROCESS st;
    DWORD needed = 0;
    wchar_t wname[257];
    enum svc_state r = SVC_UNKNOWN;

    *err = ERROR_SUCCESS;
    if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, name, -1, wname, 257) == 0) {
        *err = GetLastError();
        return SVC_UNKNOWN;
    }
    scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    if (!scm) {
        *err = GetLastError();
        goto out;
    }
    svc = OpenServiceW(scm, wname, SERVICE_QUERY_STATUS);
    if (!svc) {
        *err = GetLastError();
        if (*err == ERROR_SERVICE_DOES_NOT_EXIST)
            r = SVC_NOT_INSTALLED;
        goto out;
    }
    if (!QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, (BYTE *)&st, sizeof(st), &needed)) {
        *err = GetLastError();
        goto out;
    }
    switch (st.dwCurrentState) {
    case SERVICE_STOPPED:
        r = SVC_STOPPED;
        break;
    case SERVICE_START_PENDING:
    case SERVICE_CONTINUE_PENDING:
        r = SVC_START_PENDING;
        break;
    case SERVICE_STOP_PENDING:
        r = SVC_STOP_PENDING;
        break;
    case SERVICE_RUNNING:
        r = SVC_RUNNING;
        break;
    default:
        r = SVC_PAUSED;
        break;
    }
out:
    if (svc)
        CloseServiceHandle(svc);
    if (scm)
        CloseServiceHandle(scm);
    return r;
}

static const char *pipe_shown(const struct ctl *c)
{
    return c->pipe_name ? c->pipe_name : EDGE_DEFAULT_PIPE_NAME;
}

static void describe_no_service(struct ctl *c, struct ctl_err *e)
{
    const char *svc = c->service_name;
    DWORD err = 0;
    enum svc_state st = query_service(svc, &err);

    e->service_state = svc_state_names[st];
    switch (st) {
    case SVC_NOT_INSTALLED:
        e->exit_code = CTL_EXIT_NOT_INSTALLED;
        snprintf(e->message, sizeof(e->message),
                 "the %s service is not installed on this computer (nothing serves %s)", svc,
                 pipe_shown(c));
        snprintf(e->next, sizeof(e->next),
                 "install it with `msiexec /i edgebroker.msi`, or run `edgebroker.exe --install` "
                 "from an elevated prompt");
        break;
    case SVC_STOPPED:
    case SVC_PAUSED:
    case SVC_STOP_PENDING:
        e->exit_code = CTL_EXIT_NOT_RUNNING;
        snprintf(e->message, sizeof(e->message),
                 "the %s service is installed but not running (%s), so nothing serves %s", svc,
                 st == SVC_STOP_PENDING ? "stopping"
                 : st == SVC_PAUSED     ? "paused"
                                        : "stopped",
                 pipe_shown(c));
        snprintf(e->next, sizeof(e->next), "start it from an elevated prompt: `sc start %s`", svc);
        break;
    case SVC_START_PENDING:
        e->exit_code = CTL_EXIT_TRANSIENT;
        snprintf(e->message, sizeof(e->message),
                 "the %s service is starting and does not serve %s yet", svc, pipe_shown(c));
        snprintf(e->next, sizeof(e->next), "retry in a few seconds");
        break;
    case SVC_RUNNING:
        if (c->pipe_name) {
            e->exit_code = CTL_EXIT_NOT_RUNNING;
            snprintf(e->message, sizeof(e->message),
                     "nothing serves %s (the %s service runs, but not on that pipe)", pipe_shown(c),
                     svc);
            snprintf(e->next, sizeof(e->next),
                     "check the --pipe name, or start a server on it: "
                     "`edgebroker.exe --console --pipe NAME`");
        } else {
            e->exit_code = CTL_EXIT_TRANSIENT;
            snprintf(e->message, sizeof(e->message),
                     "the %s service is running but its pipe %s does not exist", svc,
                     pipe_shown(c));
            snprintf(e->next, sizeof(e->next),
                     "retry in a few seconds; if it persists, restart the service from an "
                     "elevated prompt (`sc stop %s`, then `sc start %s`) and read its event log",
                     svc, svc);
        }
        break;
    default:
        e->exit_code = CTL_EXIT_NOT_RUNNING;
        e->win32_error = err;
        snprintf(e->message, sizeof(e->message),
                 "nothing serves %s, and the service control manager could not tell whether the "
                 "%s service is installed",
                 pipe_shown(c), svc);
        snprintf(e->next, sizeof(e->next), "check the service with `sc query %s`", svc);
        break;
    }
}

void ctl_describe_open_failure(struct ctl *c, edge_result r, struct ctl_err *e)
{
    memset(e, 0, sizeof(*e));
    e->code = edge_result_name(r);
    e->value = r;
    switch (r) {
    case EDGE_CLIENT_E_NO_SERVICE:
        describe_no_service(c, e);
        return;
    case EDGE_CLIENT_E_FAKE_SERVER:
        e->exit_code = CTL_EXIT_FAKE_SERVER;
        snprintf(e->message, sizeof(e->message),
                 "refusing to talk to %s: it is served by a process that is not the %s service "
                 "(nothing was sent to it)",
                 pipe_shown(c), c->service_name);
        if (c->pipe_name)
            snprintf(e->next, sizeof(e->next),
                     "if this is your own test server, add --insecure-test-server "
                     "(development only)");
        else
            snprintf(e->next, sizeof(e->next),
                     "find and stop the process that serves the pipe (for example with "
                     "Sysinternals `handle -a EdgeBroker`), then restart the service from an "
                     "elevated prompt: `sc stop %s`, `sc start %s`",
                     c->service_name, c->service_name);
        return;
    case EDGE_CLIENT_E_ACCESS_DENIED:
        e->exit_code = CTL_EXIT_ACCESS_DENIED;
        e->win32_error = ERROR_ACCESS_DENIED;
        snprintf(e->message, sizeof(e->message), "the pipe %s refused this user", pipe_shown(c));
        snprintf(e->next, sizeof(e->next),
                 "run edgectl as a local interactive user: the service refuses network and "
                 "anonymous logons");
        return;
    default:
        ctl_describe(c, r, "cannot connect to the EdgeBroker service", e);
        return;
    }
}

edge_result ctl_open_session(struct ctl *c)
{
    edge_session_options o;

    edge_session_options_init(&o);
    o.pipe_name = c->pipe_name;
    o.client_name = "edgectl " EDGE_VERSION_STRING;
    o.timeout_ms = c->timeout_ms;
    /* Trusting any server is only ever allowed on a pipe the user named (see ctl_connect). */
    if (c->insecure && c->pipe_name)
        o.flags |= EDGE_SESSION_F_TRUST_ANY_SERVER_FOR_TESTING;
    return edge_session_open(&o, &c->session);
}

int ctl_check_insecure(struct ctl *c)
{
    if (c->insecure && !c->pipe_name)
        return ctl_usage(c, "--insecure-test-server is only allowed together with --pipe: the "
                            "default pipe is always verified");
    return CTL_EXIT_OK;
}

int ctl_connect(struct ctl *c)
{
    static struct ctl_err e;
    edge_result r;
    int rc = ctl_check_insecure(c);

    if (rc != CTL_EXIT_OK)
        return rc;
    r = ctl_open_session(c);
    if (r == EDGE_OK)
        return CTL_EXIT_OK;
    ctl_describe_open_failure(c, r, &e);
    return ctl_report(c, &e);
}

int ctl_ask(struct ctl *c, uint16_t type, edge_msg *rep, void **frame, const char *what)
{
    edge_msg req;
    edge_result r;
    int rc;

    *frame = NULL;
    rc = ctl_connect(c);
    if (rc != CTL_EXIT_OK)
        return rc;
    memset(&req, 0, sizeof(req));
    req.type = type;
    r = ctl_transact(c, &req, rep, frame);
    if (r != EDGE_OK) {
        edge_free(*frame);
        *frame = NULL;
        return ctl_fail(c, r, what);
    }
    return CTL_EXIT_OK;
}

edge_result ctl_transact(struct ctl *c, edge_msg *req, edge_msg *rep, void **frame)
{
    uint8_t *buf = NULL;
    size_t len = 0, rep_len = 0;
    edge_result r;

    *frame = NULL;
    memset(rep, 0, sizeof(*rep));
    req->flags = 0;
    req->request_id = 1; /* replaced by the library */
    if (edge_msg_encode_alloc(req, &buf, &len) != EDGE_PROTO_OK)
        return EDGE_CLIENT_E_INVALID_ARG;
    r = edge_session_transact(c->session, buf, len, 0, frame, &rep_len);
    edge_proto_free(buf);
    if (r != EDGE_OK)
        return r;
    /* The library returned it because it decodes; decoding again points the views at our copy. */
    if (edge_msg_decode(*frame, rep_len, EDGE_DIR_REPLY, rep) != EDGE_PROTO_OK) {
        edge_free(*frame);
        *frame = NULL;
        return EDGE_CLIENT_E_PROTOCOL;
    }
    if (rep->env.status > 0xFFFFu)
        return EDGE_CLIENT_E_PROTOCOL;
    return (edge_result)rep->env.status;
}
