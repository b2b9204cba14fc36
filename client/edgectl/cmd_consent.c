/*
 * Consent verbs for approvers (docs/protocol.md §9.13-9.15): pending lists the requests waiting
 * for a decision, approve grants one (the service creates the lease), deny refuses one.  The
 * library does not wrap these administrator verbs; they go over ctl_transact.
 */
#include <stdio.h>
#include <string.h>

#include "edgectl.h"
#include "output.h"

#define PENDING_PAGES_MAX 64u /* 64 full pages is far beyond the service's 256 pending requests */

static void hex_id(const uint8_t id[EDGE_ID_SIZE], char out[2 * EDGE_ID_SIZE + 1])
{
    size_t i;
    for (i = 0; i < EDGE_ID_SIZE; i++)
        snprintf(out + 2 * i, 3, "%02x", id[i]);
}

static bool parse_id(const char *s, uint8_t id[EDGE_ID_SIZE])
{
    size_t i;
    if (!ctl_valid_lease_id(s))
        return false;
    for (i = 0; i < EDGE_ID_SIZE; i++) {
        unsigned v = 0;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return false;
        id[i] = (uint8_t)v;
    }
    return true;
}

/* Service failures of the consent verbs; "not found" means something else than for leases. */
static int consent_fail(struct ctl *c, edge_result r, const char *what)
{
    static struct ctl_err e;
    ctl_describe(c, r, what, &e);
    if (r == EDGE_E_NOT_FOUND)
        snprintf(e.next, sizeof(e.next),
                 "it may have been decided already or have lapsed; `edgectl pending` lists the "
                 "requests still waiting");
    return ctl_report(c, &e);
}

static void print_pending_json(json_writer *w, const edge_pending *p)
{
    char id[2 * EDGE_ID_SIZE + 1];
    hex_id(p->id, id);
    json_object_begin(w);
    json_kv_string(w, "id", id);
    json_key(w, "owner_sid");
    json_string_n(w, p->owner_sid.ptr, p->owner_sid.len);
    json_key(w, "image_path");
    json_string_n(w, p->image_path.ptr, p->image_path.len);
    json_kv_hex(w, "image_sha256", p->image_sha256, EDGE_SHA256_SIZE);
    json_kv_string(w, "protocol", out_protocol_name(p->protocol));
    json_kv_uint(w, "port_lo", p->port_lo);
    json_kv_uint(w, "port_hi", p->port_hi);
    json_kv_uint(w, "seconds", p->seconds);
    json_kv_bool(w, "keep_after_exit", (p->flags & EDGE_LEASE_F_KEEP_AFTER_EXIT) != 0);
    json_kv_uint(w, "created", p->created);
    json_kv_uint(w, "expires", p->expires);
    json_object_end(w);
}

/* Copies a string view into a NUL-terminated cell (views are not terminated). */
static const char *cell(edge_str s, char *buf, size_t cap)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    memcpy(buf, s.ptr ? s.ptr : "", n);
    buf[n] = '\0';
    return buf;
}

static bool add_pending_row(struct out_table *t, const edge_pending *p)
{
    static char sid[EDGE_MAX_SID + 1], image[EDGE_MAX_PATH + 1];
    char id[2 * EDGE_ID_SIZE + 1], ports[16], length[32], asked[96], lapses[96];
    const char *cells[8];
    hex_id(p->id, id);
    out_ports(p->port_lo, p->port_hi, ports, sizeof(ports));
    out_duration(p->seconds, length, sizeof(length));
    out_since(p->created, asked, sizeof(asked));
    out_expiry(p->expires, lapses, sizeof(lapses));
    cells[0] = id;
    cells[1] = out_protocol_name(p->protocol);
    cells[2] = ports;
    cells[3] = length;
    cells[4] = asked;
    cells[5] = lapses;
    cells[6] = cell(p->owner_sid, sid, sizeof(sid));
    cells[7] = cell(p->image_path, image, sizeof(image));
    return out_table_add(t, cells);
}

int cmd_pending(struct ctl *c, int argc, char **argv)
{
    static const char *const headers[] = {"ID",    "PROTO",  "PORTS", "LENGTH",
                                          "ASKED", "LAPSES", "USER",  "APPLICATION"};
    const char *pos[1];
    struct out_table *t = NULL;
    json_writer *w = NULL;
    edge_msg req, rep;
    void *frame = NULL;
    size_t npos, count = 0, pages;
    edge_result r = EDGE_OK;
    int rc;

    rc = ctl_parse_args(c, argc, argv, NULL, 0, pos, 0, 0, &npos);
    if (rc != CTL_EXIT_OK)
        return rc;
    rc = ctl_connect(c);
    if (rc != CTL_EXIT_OK)
        return rc;
    if (c->json) {
        w = ctl_json_begin(c, true);
        json_key(w, "pending");
        json_array_begin(w);
    } else if (!c->quiet) {
        t = out_table_new(8, headers);
        if (!t)
            return ctl_fail(c, EDGE_CLIENT_E_NO_MEMORY, "cannot list pending requests");
    }
    memset(&req, 0, sizeof(req));
    req.type = EDGE_MSG_PENDING;
    /* Paged like LIST (§9.8): follow next_cursor, bounded in case a service never stops. */
    for (pages = 0; pages < PENDING_PAGES_MAX; pages++) {
        edge_list_iter it;
        edge_pending p;
        r = ctl_transact(c, &req, &rep, &frame);
        if (r != EDGE_OK)
            break;
        edge_list_iter_init(&it, &rep.u.list_rep.items);
        while (edge_list_next_pending(&it, &p)) {
            char id[2 * EDGE_ID_SIZE + 1];
            count++;
            if (w) {
                print_pending_json(w, &p);
            } else if (t) {
                if (!add_pending_row(t, &p))
                    r = EDGE_CLIENT_E_NO_MEMORY;
            } else {
                hex_id(p.id, id);
                out_printf("%s\n", id);
            }
        }
        req.u.list_req.has_cursor = rep.u.list_rep.has_next_cursor;
        req.u.list_req.cursor = rep.u.list_rep.next_cursor;
        edge_free(frame);
        frame = NULL;
        if (r != EDGE_OK || !req.u.list_req.has_cursor)
            break;
    }
    if (r == EDGE_OK && pages == PENDING_PAGES_MAX)
        r = EDGE_CLIENT_E_PROTOCOL;
    if (r != EDGE_OK) {
        out_table_free(t);
        return consent_fail(c, r, "cannot list pending requests");
    }
    if (w) {
        json_array_end(w);
        return ctl_json_end(c, CTL_EXIT_OK);
    }
    if (t) {
        if (count == 0) {
            out_printf("No requests are waiting for consent.\n");
        } else {
            out_table_print(t, "");
            out_printf(
                "\nDecide with `edgectl approve ID` or `edgectl deny ID [--reason TEXT]`.\n");
        }
        out_table_free(t);
    }
    return CTL_EXIT_OK;
}

/* APPROVE / DENY of pos[0]; *frame keeps the reply's views alive (edge_free). */
static int decide(struct ctl *c, uint16_t type, const char *id_text, const char *reason,
                  edge_msg *rep, void **frame, char id_out[2 * EDGE_ID_SIZE + 1])
{
    char what[128];
    edge_msg req;
    edge_result r;
    int rc;

    *frame = NULL;
    memset(&req, 0, sizeof(req));
    req.type = type;
    if (!parse_id(id_text, req.u.id_req.id))
        return ctl_usage(c, "'%s' is not a pending id (32 hex digits, as `edgectl pending` shows)",
                         id_text);
    hex_id(req.u.id_req.id, id_out); /* lower case, as everywhere else */
    if (reason && strlen(reason) > EDGE_MAX_TEXT)
        return ctl_usage(c, "--reason is longer than %u bytes", EDGE_MAX_TEXT);
    req.u.id_req.reason = edge_str_from_cstr(reason);
    rc = ctl_connect(c);
    if (rc != CTL_EXIT_OK)
        return rc;
    r = ctl_transact(c, &req, rep, frame);
    if (r != EDGE_OK) {
        edge_free(*frame);
        *frame = NULL;
        snprintf(what, sizeof(what), "cannot %s pending request %s",
                 type == EDGE_MSG_APPROVE ? "approve" : "deny", id_text);
        return consent_fail(c, r, what);
    }
    return CTL_EXIT_OK;
}

int cmd_approve(struct ctl *c, int argc, char **argv)
{
    const char *pos[1];
    char lease_id[2 * EDGE_ID_SIZE + 1], id[2 * EDGE_ID_SIZE + 1];
    edge_lease_t *l = NULL;
    edge_msg rep;
    void *frame = NULL;
    size_t npos;
    int rc;

    rc = ctl_parse_args(c, argc, argv, NULL, 0, pos, 1, 1, &npos);
    if (rc != CTL_EXIT_OK)
        return rc;
    rc = decide(c, EDGE_MSG_APPROVE, pos[0], NULL, &rep, &frame, id);
    if (rc != CTL_EXIT_OK)
        return rc;
    hex_id(rep.u.lease_rep.lease.id, lease_id);
    edge_free(frame);
    /* The reply's record is the lease; the library's view of it renders like `show`. */
    if (!EDGE_SUCCEEDED(edge_lease_open(c->session, lease_id, 0, &l)))
        l = NULL;
    if (c->json) {
        json_writer *w = ctl_json_begin(c, true);
        json_kv_string(w, "pending_id", id);
        json_kv_string(w, "lease_id", lease_id);
        if (l) {
            json_key(w, "lease");
            out_lease_json(w, l);
        }
        edge_lease_free(l);
        return ctl_json_end(c, CTL_EXIT_OK);
    }
    if (c->quiet) {
        out_printf("%s\n", lease_id);
    } else {
        out_printf("Approved pending request %s; the requester gets the lease at its next poll.\n",
                   id);
        if (l)
            out_lease_detail(l);
        else
            out_printf("Lease %s\n", lease_id);
    }
    edge_lease_free(l);
    return CTL_EXIT_OK;
}

int cmd_deny(struct ctl *c, int argc, char **argv)
{
    const char *pos[1], *reason = NULL;
    const struct ctl_optspec opts[] = {{"--reason", &reason, NULL}};
    char id[2 * EDGE_ID_SIZE + 1];
    edge_msg rep;
    void *frame = NULL;
    size_t npos;
    int rc;

    rc = ctl_parse_args(c, argc, argv, opts, 1, pos, 1, 1, &npos);
    if (rc != CTL_EXIT_OK)
        return rc;
    rc = decide(c, EDGE_MSG_DENY, pos[0], reason, &rep, &frame, id);
    if (rc != CTL_EXIT_OK)
        return rc;
    edge_free(frame);
    if (c->json) {
        json_writer *w = ctl_json_begin(c, true);
        json_kv_string(w, "pending_id", id);
        return ctl_json_end(c, CTL_EXIT_OK);
    }
    if (!c->quiet)
        out_printf("Denied pending request %s; the requester learns it at its next poll "
                   "(refused by an approver).\n",
                   id);
    return CTL_EXIT_OK;
}
