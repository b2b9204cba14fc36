/* Service state verbs: status, doctor, and the service half of --version. */
#include <stdio.h>
#include <string.h>

#include "edge/protocol.h"
#include "edge/version.h"
#include "edgectl.h"
#include "output.h"

#define CTL_TEXT_CAP (EDGE_MAX_TEXT + 1)

static const char *check_state_name(uint8_t s)
{
    return s == EDGE_CHECK_ON ? "on" : s == EDGE_CHECK_OFF ? "off" : "unknown";
}

/* A view (not NUL-terminated) copied into buf; the codec caps every string at EDGE_MAX_TEXT. */
static const char *cstr(edge_str s, char *buf, size_t cap)
{
    size_t n = s.ptr ? s.len : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(buf, s.ptr, n);
    buf[n] = '\0';
    return buf;
}

static void checks_json(json_writer *w, const edge_list *list)
{
    static char name[CTL_TEXT_CAP], reason[CTL_TEXT_CAP];
    edge_list_iter it;
    edge_check k;

    json_array_begin(w);
    edge_list_iter_init(&it, list);
    while (edge_list_next_check(&it, &k)) {
        json_object_begin(w);
        json_kv_string(w, "name", cstr(k.name, name, sizeof(name)));
        json_kv_string(w, "state", check_state_name(k.state));
        json_kv_string(w, "reason", cstr(k.reason, reason, sizeof(reason)));
        json_object_end(w);
    }
    json_array_end(w);
}

static bool checks_table(const edge_list *list, const char *indent)
{
    static const char *const headers[] = {"CHECK", "STATE", "DETAIL"};
    static char name[CTL_TEXT_CAP], reason[CTL_TEXT_CAP];
    struct out_table *t = out_table_new(3, headers);
    edge_list_iter it;
    edge_check k;

    if (!t)
        return false;
    edge_list_iter_init(&it, list);
    while (edge_list_next_check(&it, &k)) {
        const char *cells[3];
        cells[0] = cstr(k.name, name, sizeof(name));
        cells[1] = check_state_name(k.state);
        cells[2] = cstr(k.reason, reason, sizeof(reason));
        if (!out_table_add(t, cells)) {
            out_table_free(t);
            return false;
        }
    }
    out_table_print(t, indent);
    out_table_free(t);
    return true;
}

static const char *const cap_names[] = {"signed_requests", "user_consent", "notices"};

struct server_info {
    char version[EDGE_MAX_CLIENT_NAME_BYTES + 1];
    char epoch[EDGE_EPOCH_CHARS];
    uint32_t protocol, caps;
};

static void server_info(struct ctl *c, struct server_info *si)
{
    memset(si, 0, sizeof(*si));
    edge_session_server_info(c->session, si->version, sizeof(si->version), si->epoch,
                             sizeof(si->epoch), &si->protocol, &si->caps);
}

static void server_json(json_writer *w, const struct server_info *si)
{
    size_t i;
    json_object_begin(w);
    json_kv_string(w, "version", si->version);
    json_kv_uint(w, "protocol", si->protocol);
    json_kv_string(w, "epoch", si->epoch);
    json_key(w, "capabilities");
    json_array_begin(w);
    for (i = 0; i < 3; i++)
        if (si->caps & (1u << i))
            json_string(w, cap_names[i]);
    json_array_end(w);
    json_object_end(w);
}

static void caps_text(uint32_t caps, char *buf, size_t cap)
{
    size_t i;
    buf[0] = '\0';
    for (i = 0; i < 3; i++)
        if (caps & (1u << i))
            snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s", buf[0] ? ", " : "",
                     cap_names[i]);
    if (!buf[0])
        snprintf(buf, cap, "none");
}

int cmd_status(struct ctl *c, int argc, char **argv)
{
    struct server_info si;
    edge_msg rep;
    void *frame = NULL;
    char since[96], caps[96];
    size_t npos;
    int rc;

    rc = ctl_parse_args(c, argc, argv, NULL, 0, NULL, 0, 0, &npos);
    if (rc != CTL_EXIT_OK)
        return rc;
    rc = ctl_ask(c, EDGE_MSG_STATUS, &rep, &frame, "cannot read the service's status");
    if (rc != CTL_EXIT_OK)
        return rc;
    server_info(c, &si);
    if (c->json) {
        json_writer *w = ctl_json_begin(c, true);
        json_key(w, "service");
        server_json(w, &si);
        json_kv_uint(w, "started", rep.u.status_rep.started);
        json_kv_uint(w, "active_leases", rep.u.status_rep.active_leases);
        json_kv_uint(w, "pending_requests", rep.u.status_rep.pending_requests);
        json_key(w, "checks");
        checks_json(w, &rep.u.status_rep.checks);
        rc = ctl_json_end(c, CTL_EXIT_OK);
    } else if (!c->quiet) {
        out_since(rep.u.status_rep.started, since, sizeof(since));
        caps_text(si.caps, caps, sizeof(caps));
        out_printf("The %s service is running.\n", c->service_name);
        out_printf("  Version:           %s (protocol %lu; %s)\n", si.version,
                   (unsigned long)si.protocol, caps);
        out_printf("  Started:           %s\n", since);
        out_printf("  Epoch:             %s\n", si.epoch);
        out_printf("  Active leases:     %lu\n", (unsigned long)rep.u.status_rep.active_leases);
        out_printf("  Pending requests:  %lu\n", (unsigned long)rep.u.status_rep.pending_requests);
        out_printf("\n");
        if (!checks_table(&rep.u.status_rep.checks, "  "))
            rc = ctl_fail(c, EDGE_CLIENT_E_NO_MEMORY, "cannot print the checks");
    }
    edge_free(frame);
    return rc;
}

/* The service's verdict on granted rules: the check named rules_effective. */
static int rules_effective(const edge_list *list, char *reason, size_t cap)
{
    edge_list_iter it;
    edge_check k;
    edge_list_iter_init(&it, list);
    while (edge_list_next_check(&it, &k))
        if (k.name.len == 15 && memcmp(k.name.ptr, "rules_effective", 15) == 0) {
            cstr(k.reason, reason, cap);
            return k.state;
        }
    reason[0] = '\0';
    return EDGE_CHECK_UNKNOWN;
}

int cmd_doctor(struct ctl *c, int argc, char **argv)
{
    static char reason[CTL_TEXT_CAP];
    edge_msg rep;
    void *frame = NULL;
    size_t npos;
    int rc, eff;

    rc = ctl_parse_args(c, argc, argv, NULL, 0, NULL, 0, 0, &npos);
    if (rc != CTL_EXIT_OK)
        return rc;
    rc = ctl_ask(c, EDGE_MSG_DOCTOR, &rep, &frame, "cannot run the service's checks");
    if (rc != CTL_EXIT_OK)
        return rc;
    eff = rules_effective(&rep.u.entries_rep.items, reason, sizeof(reason));
    rc = eff == EDGE_CHECK_OFF ? CTL_EXIT_INEFFECTIVE : CTL_EXIT_OK;
    if (c->json) {
        json_writer *w = ctl_json_begin(c, true);
        json_key(w, "checks");
        checks_json(w, &rep.u.entries_rep.items);
        if (eff == EDGE_CHECK_UNKNOWN)
            json_kv_null(w, "rules_effective");
        else
            json_kv_bool(w, "rules_effective", eff == EDGE_CHECK_ON);
        rc = ctl_json_end(c, rc);
    } else {
        if (!c->quiet && !checks_table(&rep.u.entries_rep.items, "")) {
            edge_free(frame);
            return ctl_fail(c, EDGE_CLIENT_E_NO_MEMORY, "cannot print the checks");
        }
        if (eff == EDGE_CHECK_OFF)
            out_eprintf("edgectl: granted rules cannot work right now: %s\n"
                        "  Next: fix what the checks above show as off (firewall profiles, Group "
                        "Policy's local rule merge, Teredo), then run `edgectl doctor` again.\n",
                        reason);
        else if (!c->quiet)
            out_printf(eff == EDGE_CHECK_ON ? "\nGranted rules can work.\n"
                                            : "\nWhether granted rules can work is unknown.\n");
    }
    edge_free(frame);
    return rc;
}

int ctl_version(struct ctl *c)
{
    static struct ctl_err e;
    struct server_info si;
    edge_result r;
    int rc = ctl_check_insecure(c);

    if (rc != CTL_EXIT_OK)
        return rc;
    r = ctl_open_session(c);
    if (r == EDGE_OK)
        server_info(c, &si);
    else
        ctl_describe_open_failure(c, r, &e);
    if (c->json) {
        json_writer *w = ctl_json_begin(c, true);
        json_kv_string(w, "edgectl", EDGE_VERSION_STRING);
        json_kv_string(w, "library", edge_client_version_string());
        json_key(w, "service");
        if (r == EDGE_OK) {
            server_json(w, &si);
        } else {
            json_null(w);
            json_key(w, "service_error");
            json_object_begin(w);
            json_kv_string(w, "code", e.code);
            json_kv_string(w, "message", e.message);
            json_object_end(w);
        }
        return ctl_json_end(c, CTL_EXIT_OK);
    }
    out_printf("edgectl %s\n", EDGE_VERSION_STRING);
    out_printf("edgeclient library %s\n", edge_client_version_string());
    if (r == EDGE_OK)
        out_printf("%s service %s (protocol %lu)\n", c->service_name, si.version,
                   (unsigned long)si.protocol);
    else
        out_printf("%s service: unavailable\n  %s\n", c->service_name, e.message);
    return CTL_EXIT_OK;
}
