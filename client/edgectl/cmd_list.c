/* Listing and administrator verbs: list, revoke, purge. */
#include <stdio.h>
#include <string.h>

#include "edge/protocol.h"
#include "edgectl.h"
#include "output.h"

int cmd_list(struct ctl *c, int argc, char **argv)
{
    bool all = false;
    const struct ctl_optspec opts[] = {{"--all", NULL, &all}};
    edge_lease_list_t *list = NULL;
    struct out_table *t = NULL;
    size_t i, n, npos;
    edge_result r;
    int rc;

    rc = ctl_parse_args(c, argc, argv, opts, 1, NULL, 0, 0, &npos);
    if (rc != CTL_EXIT_OK)
        return rc;
    rc = ctl_connect(c);
    if (rc != CTL_EXIT_OK)
        return rc;
    r = edge_lease_list(c->session, all ? EDGE_LIST_F_ALL : 0, 0, &list);
    if (r != EDGE_OK)
        return ctl_fail(c, r, all ? "cannot list every user's leases" : "cannot list your leases");
    n = edge_lease_list_count(list);
    if (c->json) {
        json_writer *w = ctl_json_begin(c, true);
        json_kv_bool(w, "all", all);
        json_key(w, "leases");
        json_array_begin(w);
        for (i = 0; i < n; i++)
            out_lease_json(w, edge_lease_list_at(list, i));
        json_array_end(w);
        rc = ctl_json_end(c, CTL_EXIT_OK);
        goto out;
    }
    if (c->quiet) {
        /* One id per line, for scripts. */
        for (i = 0; i < n; i++) {
            char id[EDGE_LEASE_ID_CHARS];
            if (edge_lease_id(edge_lease_list_at(list, i), id, sizeof(id)) == EDGE_OK)
                out_printf("%s\n", id);
        }
        goto out;
    }
    if (n == 0) {
        out_printf(all ? "No leases on this computer.\n" : "You have no leases.\n");
        goto out;
    }
    t = out_lease_table();
    for (i = 0; t && i < n; i++)
        if (!out_lease_row(t, edge_lease_list_at(list, i))) {
            out_table_free(t);
            t = NULL;
        }
    if (!t) {
        rc = ctl_fail(c, EDGE_CLIENT_E_NO_MEMORY, "cannot print the leases");
        goto out;
    }
    out_table_print(t, "");
    out_printf("%lu lease%s.\n", (unsigned long)n, n == 1 ? "" : "s");
out:
    out_table_free(t);
    edge_lease_list_free(list);
    return rc;
}

static bool unhex(const char *s, uint8_t out[EDGE_ID_SIZE])
{
    size_t i;
    for (i = 0; i < EDGE_ID_SIZE; i++) {
        unsigned v = 0, k;
        for (k = 0; k < 2; k++) {
            char ch = s[2 * i + k];
            v <<= 4;
            if (ch >= '0' && ch <= '9')
                v |= (unsigned)(ch - '0');
            else if (ch >= 'a' && ch <= 'f')
                v |= (unsigned)(ch - 'a' + 10);
            else if (ch >= 'A' && ch <= 'F')
                v |= (unsigned)(ch - 'A' + 10);
            else
                return false;
        }
        out[i] = (uint8_t)v;
    }
    return s[2 * EDGE_ID_SIZE] == '\0';
}

int cmd_revoke(struct ctl *c, int argc, char **argv)
{
    const char *pos[1], *reason = NULL;
    const struct ctl_optspec opts[] = {{"--reason", &reason, NULL}};
    edge_msg req, rep;
    void *frame = NULL;
    char what[128];
    size_t npos;
    edge_result r;
    int rc;

    rc = ctl_parse_args(c, argc, argv, opts, 1, pos, 1, 1, &npos);
    if (rc != CTL_EXIT_OK)
        return rc;
    memset(&req, 0, sizeof(req));
    req.type = EDGE_MSG_REVOKE;
    if (!ctl_valid_lease_id(pos[0]) || !unhex(pos[0], req.u.id_req.id))
        return ctl_usage(c,
                         "'%s' is not a lease id (32 hex digits, as `edgectl list --all` "
                         "shows)",
                         pos[0]);
    if (reason && strlen(reason) > EDGE_MAX_TEXT)
        return ctl_usage(c, "--reason is limited to %u bytes", (unsigned)EDGE_MAX_TEXT);
    req.u.id_req.reason = edge_str_from_cstr(reason);
    rc = ctl_connect(c);
    if (rc != CTL_EXIT_OK)
        return rc;
    r = ctl_transact(c, &req, &rep, &frame);
    edge_free(frame);
    if (r != EDGE_OK) {
        snprintf(what, sizeof(what), "cannot revoke lease %s", pos[0]);
        return ctl_fail(c, r, what);
    }
    return ctl_lease_gone(c, pos[0], "Revoked", "its firewall rule is gone and its owner is told.");
}

int cmd_purge(struct ctl *c, int argc, char **argv)
{
    bool yes = false;
    const struct ctl_optspec opts[] = {{"--yes", NULL, &yes}};
    edge_msg rep;
    void *frame = NULL;
    uint32_t removed;
    size_t npos;
    int rc;

    rc = ctl_parse_args(c, argc, argv, opts, 1, NULL, 0, 0, &npos);
    if (rc != CTL_EXIT_OK)
        return rc;
    if (!yes && !c->quiet && !c->json)
        return ctl_usage(c, "purge removes every firewall rule of the EdgeBroker service and ends "
                            "every lease of every user; add --yes to confirm");
    rc = ctl_ask(c, EDGE_MSG_PURGE, &rep, &frame, "cannot purge the service's rules");
    if (rc != CTL_EXIT_OK)
        return rc;
    removed = rep.u.purge_rep.removed;
    edge_free(frame);
    if (c->json) {
        json_writer *w = ctl_json_begin(c, true);
        json_kv_uint(w, "removed", removed);
        return ctl_json_end(c, CTL_EXIT_OK);
    }
    if (!c->quiet)
        out_printf("Removed %lu firewall rule%s; every lease has ended.\n", (unsigned long)removed,
                   removed == 1 ? "" : "s");
    return CTL_EXIT_OK;
}
