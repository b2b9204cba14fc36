/* Lease verbs for scripts and administrators: request, renew, release, show. */
#include <stdio.h>
#include <string.h>

#include "edge/protocol.h"
#include "edgectl.h"
#include "output.h"

#define CTL_WAIT_MAX_S 86400u

static int bad_id(struct ctl *c, const char *id)
{
    return ctl_usage(c, "'%s' is not a lease id (32 hex digits, as `edgectl list` shows)", id);
}

/* "TCP port 50123" / "UDP ports 50000-50010", for messages. */
static void describe_ports(uint32_t protocol, uint16_t lo, uint16_t hi, char *buf, size_t cap)
{
    char ports[16];
    out_ports(lo, hi, ports, sizeof(ports));
    snprintf(buf, cap, "%s port%s %s", protocol == EDGE_PROTOCOL_TCP ? "TCP" : "UDP",
             hi > lo ? "s" : "", ports);
}

/* Prints a lease the verb obtained; exit code from the call's result (12 when ineffective). */
static int print_lease(struct ctl *c, const edge_lease_t *l, edge_result r, const char *heading)
{
    int rc = ctl_exit_for(r);
    char id[EDGE_LEASE_ID_CHARS] = "";

    edge_lease_id(l, id, sizeof(id));
    if (c->json) {
        json_writer *w = ctl_json_begin(c, true);
        json_key(w, "lease");
        out_lease_json(w, l);
        return ctl_json_end(c, rc);
    }
    if (c->quiet) {
        if (c->verb && strcmp(c->verb, "request") == 0)
            out_printf("%s\n", id); /* scripts capture the new lease's id */
    } else {
        if (heading)
            out_printf("%s\n", heading);
        out_lease_detail(l);
    }
    out_lease_warnings(l);
    return rc;
}

/*
 * The library reports "still pending" without the pending id, which the approver needs.
 * Repeating the identical request is how the protocol polls (docs/protocol.md §9.5), and its
 * reply carries the id; if the approval landed meanwhile, it carries the lease instead.
 */
static int report_pending(struct ctl *c, const edge_lease_params *p, const char *what)
{
    static struct ctl_err e;
    edge_msg req, rep;
    void *frame = NULL;
    edge_result r;

    memset(&req, 0, sizeof(req));
    req.type = EDGE_MSG_REQUEST;
    req.u.lease_req.protocol = (uint8_t)p->protocol;
    req.u.lease_req.port_lo = p->port_lo;
    req.u.lease_req.has_port_hi = p->port_hi != 0 && p->port_hi != p->port_lo;
    req.u.lease_req.port_hi = p->port_hi;
    req.u.lease_req.has_seconds = p->seconds != 0;
    req.u.lease_req.seconds = p->seconds;
    req.u.lease_req.has_flags = true;
    req.u.lease_req.flags = EDGE_LEASE_F_KEEP_AFTER_EXIT;
    req.u.lease_req.target_app = edge_str_from_cstr(p->target_app);
    if (p->signed_request) {
        req.u.lease_req.signed_request.ptr = p->signed_request;
        req.u.lease_req.signed_request.len = (uint32_t)p->signed_request_len;
    }
    r = ctl_transact(c, &req, &rep, &frame);
    if (r == EDGE_OK && rep.u.lease_rep.has_lease) {
        char id[2 * EDGE_ID_SIZE + 1];
        edge_lease_t *l = NULL;
        size_t i;
        for (i = 0; i < EDGE_ID_SIZE; i++)
            snprintf(id + 2 * i, 3, "%02x", rep.u.lease_rep.lease.id[i]);
        edge_free(frame);
        r = edge_lease_open(c->session, id, 0, &l);
        if (EDGE_SUCCEEDED(r)) {
            int rc = print_lease(c, l, r, "Granted (approved while edgectl waited).");
            edge_lease_free(l);
            return rc;
        }
        return ctl_fail(c, r, what);
    }
    if (r != EDGE_PENDING_CONSENT) {
        edge_free(frame);
        return ctl_fail(c, r, what);
    }
    memset(&e, 0, sizeof(e));
    e.exit_code = CTL_EXIT_CONSENT_PENDING;
    e.code = edge_result_name(EDGE_PENDING_CONSENT);
    e.value = EDGE_PENDING_CONSENT;
    if (rep.u.lease_rep.has_pending_id) {
        size_t i;
        for (i = 0; i < EDGE_ID_SIZE; i++)
            snprintf(e.pending_id + 2 * i, 3, "%02x", rep.u.lease_rep.pending_id[i]);
    }
    edge_free(frame);
    snprintf(e.message, sizeof(e.message),
             "%s: the request waits for an administrator's consent (pending id %s)", what,
             e.pending_id);
    snprintf(e.next, sizeof(e.next),
             "an administrator can approve it with `edgectl approve %s`; then run the same "
             "command again to pick up the lease (or add --wait SECONDS to wait longer)",
             e.pending_id);
    return ctl_report(c, &e);
}

int cmd_request(struct ctl *c, int argc, char **argv)
{
    const char *pos[2], *seconds_s = NULL, *app = NULL, *wait_s = NULL, *signed_path = NULL;
    const struct ctl_optspec opts[] = {{"--seconds", &seconds_s, NULL},
                                       {"--app", &app, NULL},
                                       {"--wait", &wait_s, NULL},
                                       {"--signed", &signed_path, NULL}};
    static uint8_t blob[EDGE_MAX_SIGNED_REQUEST];
    size_t blob_len = 0;
    edge_lease_params p;
    edge_lease_t *lease = NULL;
    uint32_t wait_s_n = 0, timeout;
    char what[96 + 4096], ports[64];
    size_t npos;
    edge_result r;
    int rc;

    rc = ctl_parse_args(c, argc, argv, opts, 4, pos, 2, 2, &npos);
    if (rc != CTL_EXIT_OK)
        return rc;
    edge_lease_params_init(&p);
    if (!ctl_parse_protocol(pos[0], &p.protocol))
        return ctl_usage(c, "protocol must be tcp or udp, not '%s'", pos[0]);
    if (!ctl_parse_ports(pos[1], &p.port_lo, &p.port_hi))
        return ctl_usage(c, "'%s' is not a port or range (1-65535, e.g. 50123 or 50000-50010)",
                         pos[1]);
    if (seconds_s && !ctl_parse_u32(seconds_s, 1, EDGE_MAX_LEASE_SECONDS, &p.seconds))
        return ctl_usage(c, "--seconds must be between 1 and %lu",
                         (unsigned long)EDGE_MAX_LEASE_SECONDS);
    if (wait_s && !ctl_parse_u32(wait_s, 0, CTL_WAIT_MAX_S, &wait_s_n))
        return ctl_usage(c, "--wait must be between 0 and %lu seconds",
                         (unsigned long)CTL_WAIT_MAX_S);
    if (app && !*app)
        return ctl_usage(c, "--app needs the path of an executable");
    if (p.port_hi == p.port_lo)
        p.port_hi = 0;
    /* edgectl exits at once; a lease bound to its process would end with it. */
    p.flags = EDGE_REQUEST_F_KEEP_AFTER_EXIT;
    p.target_app = app;
    if (signed_path) {
        /* Checked locally first, so a damaged file is reported as such, not as a refusal. */
        rc = ctl_read_signed_request(c, signed_path, blob, &blob_len);
        if (rc != CTL_EXIT_OK)
            return rc;
        p.signed_request = blob;
        p.signed_request_len = blob_len;
    }
    rc = ctl_connect(c);
    if (rc != CTL_EXIT_OK)
        return rc;
    describe_ports(p.protocol, p.port_lo, p.port_hi ? p.port_hi : p.port_lo, ports, sizeof(ports));
    if (app)
        snprintf(what, sizeof(what), "cannot get a lease on %s for %s", ports, app);
    else
        snprintf(what, sizeof(what), "cannot get a lease on %s", ports);
    timeout = wait_s_n * 1000u > c->timeout_ms ? wait_s_n * 1000u : c->timeout_ms;
    r = edge_lease_request(c->session, &p, timeout, &lease);
    if (r == EDGE_PENDING_CONSENT)
        return report_pending(c, &p, what);
    if (!EDGE_SUCCEEDED(r))
        return ctl_fail(c, r, what);
    rc = print_lease(c, lease, r, "Granted.");
    edge_lease_free(lease);
    return rc;
}

/* Opens the lease named by the verb's ID argument. */
static int open_lease(struct ctl *c, const char *id, const char *doing, edge_lease_t **out)
{
    char what[128];
    edge_result r;
    int rc;

    if (!ctl_valid_lease_id(id))
        return bad_id(c, id);
    rc = ctl_connect(c);
    if (rc != CTL_EXIT_OK)
        return rc;
    r = edge_lease_open(c->session, id, 0, out);
    if (r != EDGE_OK) {
        snprintf(what, sizeof(what), "cannot %s lease %s", doing, id);
        return ctl_fail(c, r, what);
    }
    return CTL_EXIT_OK;
}

int cmd_renew(struct ctl *c, int argc, char **argv)
{
    const char *pos[1], *seconds_s = NULL;
    const struct ctl_optspec opts[] = {{"--seconds", &seconds_s, NULL}};
    edge_lease_t *l = NULL;
    uint32_t seconds = 0;
    char what[128];
    size_t npos;
    edge_result r;
    int rc;

    rc = ctl_parse_args(c, argc, argv, opts, 1, pos, 1, 1, &npos);
    if (rc != CTL_EXIT_OK)
        return rc;
    if (seconds_s && !ctl_parse_u32(seconds_s, 1, EDGE_MAX_LEASE_SECONDS, &seconds))
        return ctl_usage(c, "--seconds must be between 1 and %lu",
                         (unsigned long)EDGE_MAX_LEASE_SECONDS);
    rc = open_lease(c, pos[0], "renew", &l);
    if (rc != CTL_EXIT_OK)
        return rc;
    r = edge_lease_renew(l, seconds, 0);
    if (EDGE_SUCCEEDED(r)) {
        rc = print_lease(c, l, r, "Renewed.");
    } else {
        snprintf(what, sizeof(what), "cannot renew lease %s", pos[0]);
        rc = ctl_fail(c, r, what);
    }
    edge_lease_free(l);
    return rc;
}

int cmd_release(struct ctl *c, int argc, char **argv)
{
    const char *pos[1];
    edge_lease_t *l = NULL;
    char what[128];
    size_t npos;
    edge_result r;
    int rc;

    rc = ctl_parse_args(c, argc, argv, NULL, 0, pos, 1, 1, &npos);
    if (rc != CTL_EXIT_OK)
        return rc;
    rc = open_lease(c, pos[0], "release", &l);
    if (rc != CTL_EXIT_OK)
        return rc;
    r = edge_lease_release(l, 0);
    edge_lease_free(l);
    if (r != EDGE_OK) {
        snprintf(what, sizeof(what), "cannot release lease %s", pos[0]);
        return ctl_fail(c, r, what);
    }
    return ctl_lease_gone(c, pos[0], "Released", "its firewall rule is gone.");
}

int ctl_lease_gone(struct ctl *c, const char *id, const char *done, const char *consequence)
{
    if (c->json) {
        json_writer *w = ctl_json_begin(c, true);
        json_kv_string(w, "lease_id", id);
        return ctl_json_end(c, CTL_EXIT_OK);
    }
    if (!c->quiet)
        out_printf("%s lease %s; %s\n", done, id, consequence);
    return CTL_EXIT_OK;
}

int cmd_show(struct ctl *c, int argc, char **argv)
{
    const char *pos[1];
    edge_lease_t *l = NULL;
    size_t npos;
    int rc;

    rc = ctl_parse_args(c, argc, argv, NULL, 0, pos, 1, 1, &npos);
    if (rc != CTL_EXIT_OK)
        return rc;
    rc = open_lease(c, pos[0], "show", &l);
    if (rc != CTL_EXIT_OK)
        return rc;
    rc = print_lease(c, l, EDGE_OK, NULL);
    edge_lease_free(l);
    return rc;
}
