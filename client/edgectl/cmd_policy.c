/*
 * Policy verbs (docs/protocol.md §9.16-9.17): policy shows the effective policy with the source
 * of each value; explain asks how the service would decide a request, creating nothing.
 */
#include <stdio.h>
#include <string.h>

#include "edgectl.h"
#include "output.h"

/* Wire source names (docs/protocol.md §9.2) as administrators know them. */
static const char *source_shown(const char *s)
{
    if (strcmp(s, "policy") == 0)
        return "Group Policy";
    return s;
}

/* A view as a table cell: NUL-terminated, control characters shown as spaces. */
static const char *cell(edge_str s, char *buf, size_t cap, const char *if_empty)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1, i;
    if (!s.ptr || s.len == 0)
        return if_empty;
    memcpy(buf, s.ptr, n);
    buf[n] = '\0';
    for (i = 0; i < n; i++)
        if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
            buf[i] = ' ';
    return buf;
}

int cmd_policy(struct ctl *c, int argc, char **argv)
{
    static const char *const headers[] = {"NAME", "VALUE", "SOURCE"};
    static char name[EDGE_MAX_NAME + 1], value[EDGE_MAX_TEXT + 1], source[EDGE_MAX_NAME + 1];
    const char *pos[1];
    struct out_table *t = NULL;
    edge_list_iter it;
    edge_policy_entry e;
    edge_msg rep;
    void *frame = NULL;
    size_t npos;
    int rc;

    rc = ctl_parse_args(c, argc, argv, NULL, 0, pos, 0, 0, &npos);
    if (rc != CTL_EXIT_OK)
        return rc;
    rc = ctl_ask(c, EDGE_MSG_POLICY, &rep, &frame, "cannot read the effective policy");
    if (rc != CTL_EXIT_OK)
        return rc;
    edge_list_iter_init(&it, &rep.u.entries_rep.items);
    if (c->json) {
        json_writer *w = ctl_json_begin(c, true);
        json_key(w, "policy");
        json_array_begin(w);
        while (edge_list_next_policy(&it, &e)) {
            json_object_begin(w);
            json_key(w, "name");
            json_string_n(w, e.name.ptr, e.name.len);
            json_key(w, "value");
            json_string_n(w, e.value.ptr ? e.value.ptr : "", e.value.len);
            json_key(w, "source");
            json_string_n(w, e.source.ptr, e.source.len);
            json_object_end(w);
        }
        json_array_end(w);
        edge_free(frame);
        return ctl_json_end(c, CTL_EXIT_OK);
    }
    if (c->quiet) {
        edge_free(frame);
        return CTL_EXIT_OK;
    }
    t = out_table_new(3, headers);
    while (t && edge_list_next_policy(&it, &e)) {
        const char *cells[3];
        cells[0] = cell(e.name, name, sizeof(name), "?");
        cells[1] = cell(e.value, value, sizeof(value), "(empty)");
        cells[2] = source_shown(cell(e.source, source, sizeof(source), "?"));
        if (!out_table_add(t, cells)) {
            out_table_free(t);
            t = NULL;
        }
    }
    edge_free(frame);
    if (!t)
        return ctl_fail(c, EDGE_CLIENT_E_NO_MEMORY, "cannot show the effective policy");
    out_printf("Effective policy.  Sources: Group Policy (HKLM\\SOFTWARE\\Policies\\EdgeBroker) "
               "wins over local (HKLM\\SOFTWARE\\EdgeBroker); default where neither sets a "
               "valid value.\n\n");
    out_table_print(t, "");
    out_table_free(t);
    return CTL_EXIT_OK;
}

/* "granted", "waits for consent", "refused: ..." */
static void decision_text(edge_result d, char *buf, size_t cap)
{
    if (d == EDGE_OK)
        snprintf(buf, cap, "granted");
    else if (d == EDGE_PENDING_CONSENT)
        snprintf(buf, cap, "waits for an approver's consent (%s)", edge_result_name(d));
    else
        snprintf(buf, cap, "refused: %s (%s)", edge_strerror(d), edge_result_name(d));
}

int cmd_explain(struct ctl *c, int argc, char **argv)
{
    const char *pos[2], *app = NULL, *seconds_s = NULL, *signed_path = NULL;
    bool self = false;
    const struct ctl_optspec opts[] = {{"--app", &app, NULL},
                                       {"--self", NULL, &self},
                                       {"--seconds", &seconds_s, NULL},
                                       {"--signed", &signed_path, NULL}};
    static uint8_t blob[EDGE_MAX_SIGNED_REQUEST];
    static char line[EDGE_MAX_TEXT + 1], text[EDGE_MAX_TEXT + 64];
    uint32_t protocol = 0, seconds = 0;
    uint16_t lo = 0, hi = 0;
    size_t npos, blob_len = 0;
    edge_msg req, rep;
    edge_list_iter it;
    edge_str s;
    void *frame = NULL;
    edge_result r, d;
    int rc;

    rc = ctl_parse_args(c, argc, argv, opts, 4, pos, 2, 2, &npos);
    if (rc != CTL_EXIT_OK)
        return rc;
    if (!ctl_parse_protocol(pos[0], &protocol))
        return ctl_usage(c, "protocol must be tcp or udp, not '%s'", pos[0]);
    if (!ctl_parse_ports(pos[1], &lo, &hi))
        return ctl_usage(c, "'%s' is not a port or range (1-65535, e.g. 50123 or 50000-50010)",
                         pos[1]);
    if (seconds_s && !ctl_parse_u32(seconds_s, 1, EDGE_MAX_LEASE_SECONDS, &seconds))
        return ctl_usage(c, "--seconds must be between 1 and %lu",
                         (unsigned long)EDGE_MAX_LEASE_SECONDS);
    if (app && self)
        return ctl_usage(c, "give --app PATH or --self, not both");
    if (app && (!*app || strlen(app) > EDGE_MAX_PATH))
        return ctl_usage(c, "--app needs the path of an executable");
    if (signed_path) {
        rc = ctl_read_signed_request(c, signed_path, blob, &blob_len);
        if (rc != CTL_EXIT_OK)
            return rc;
    }
    rc = ctl_connect(c);
    if (rc != CTL_EXIT_OK)
        return rc;
    /* Exactly what `edgectl request` with the same arguments sends. */
    memset(&req, 0, sizeof(req));
    req.type = EDGE_MSG_EXPLAIN;
    req.u.lease_req.protocol = (uint8_t)protocol;
    req.u.lease_req.port_lo = lo;
    req.u.lease_req.has_port_hi = hi != lo;
    req.u.lease_req.port_hi = hi;
    req.u.lease_req.has_seconds = seconds != 0;
    req.u.lease_req.seconds = seconds;
    req.u.lease_req.has_flags = true;
    req.u.lease_req.flags = EDGE_LEASE_F_KEEP_AFTER_EXIT;
    req.u.lease_req.target_app = edge_str_from_cstr(app);
    if (blob_len) {
        req.u.lease_req.signed_request.ptr = blob;
        req.u.lease_req.signed_request.len = (uint32_t)blob_len;
    }
    r = ctl_transact(c, &req, &rep, &frame);
    if (r != EDGE_OK) {
        edge_free(frame);
        return ctl_fail(c, r, "cannot explain the request");
    }
    d = (edge_result)rep.u.explain_rep.decision;
    decision_text(d, text, sizeof(text));
    edge_list_iter_init(&it, &rep.u.explain_rep.trace);
    if (c->json) {
        json_writer *w = ctl_json_begin(c, true);
        json_key(w, "request");
        json_object_begin(w);
        json_kv_string(w, "protocol", out_protocol_name(protocol));
        json_kv_uint(w, "port_lo", lo);
        json_kv_uint(w, "port_hi", hi);
        if (app)
            json_kv_string(w, "app", app);
        else
            json_kv_null(w, "app");
        if (seconds)
            json_kv_uint(w, "seconds", seconds);
        else
            json_kv_null(w, "seconds");
        json_kv_bool(w, "signed", blob_len != 0);
        json_object_end(w);
        json_key(w, "decision");
        json_object_begin(w);
        json_kv_string(w, "code", edge_result_name(d));
        json_kv_int(w, "value", d);
        json_kv_string(w, "message", text);
        json_kv_int(w, "request_exit_code", ctl_exit_for(d));
        json_object_end(w);
        json_key(w, "trace");
        json_array_begin(w);
        while (edge_list_next_str(&it, &s))
            json_string_n(w, s.ptr, s.len);
        json_array_end(w);
        edge_free(frame);
        return ctl_json_end(c, CTL_EXIT_OK);
    }
    if (c->quiet) {
        out_printf("%s\n", edge_result_name(d));
        edge_free(frame);
        return CTL_EXIT_OK;
    }
    out_printf("Decision: %s\n", text);
    out_printf("Trace:\n");
    while (edge_list_next_str(&it, &s))
        out_printf("  %s\n", cell(s, line, sizeof(line), ""));
    edge_free(frame);
    out_printf("Nothing was created: this is how the service would decide `edgectl request %s "
               "%s%s%s%s`.\n",
               out_protocol_name(protocol), pos[1], app ? " --app " : "", app ? app : "",
               signed_path ? " --signed FILE" : "");
    return CTL_EXIT_OK;
}
