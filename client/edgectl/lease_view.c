/* Human and JSON renderings of a lease, shared by list, show, request and renew. */
#include <stdio.h>
#include <string.h>

#include "output.h"

#define VIEW_PATH_CAP 4097u /* EDGE_MAX_PATH + NUL, as edge_lease_image_path documents */
#define VIEW_SID_CAP  257u

const char *out_protocol_name(uint32_t protocol)
{
    return protocol == EDGE_PROTOCOL_TCP ? "tcp" : protocol == EDGE_PROTOCOL_UDP ? "udp" : "?";
}

const char *out_state_name(uint32_t state)
{
    switch (state) {
    case EDGE_STATE_ACTIVE:
        return "active";
    case EDGE_STATE_INEFFECTIVE:
        return "ineffective";
    case EDGE_STATE_REPAIRING:
        return "repairing";
    case EDGE_STATE_ENDED:
        return "ended";
    default:
        return "unknown";
    }
}

void out_ports(uint16_t lo, uint16_t hi, char *buf, size_t cap)
{
    if (hi > lo)
        snprintf(buf, cap, "%u-%u", (unsigned)lo, (unsigned)hi);
    else
        snprintf(buf, cap, "%u", (unsigned)lo);
}

static const char *edge_option_name(uint32_t v)
{
    return v == 1 ? "allow" : v == 2 ? "defer_to_app" : "unknown";
}

static const struct {
    uint32_t bit;
    const char *name;
    const char *text;
} warnings[] = {
    {EDGE_WARNING_FIREWALL_OFF, "firewall_off", "the firewall is off in a current profile"},
    {EDGE_WARNING_LOCAL_RULES_IGNORED, "local_rules_ignored",
     "Group Policy ignores locally created firewall rules (AllowLocalPolicyMerge = 0)"},
    {EDGE_WARNING_TEREDO_UNAVAILABLE, "teredo_unavailable",
     "there is no Teredo interface, so nothing arrives over it"},
};

struct lease_text {
    char id[EDGE_LEASE_ID_CHARS];
    char ports[16];
    char expires[96];
    char created[64];
    char owner[VIEW_SID_CAP];
    char image[VIEW_PATH_CAP];
};

/* The library guarantees these buffers suffice; a failure leaves "" which prints as such. */
static void lease_text(const edge_lease_t *l, struct lease_text *t)
{
    memset(t, 0, sizeof(*t));
    edge_lease_id(l, t->id, sizeof(t->id));
    edge_lease_owner_sid(l, t->owner, sizeof(t->owner));
    edge_lease_image_path(l, t->image, sizeof(t->image));
    out_ports(edge_lease_port_lo(l), edge_lease_port_hi(l), t->ports, sizeof(t->ports));
    out_expiry(edge_lease_expires(l), t->expires, sizeof(t->expires));
    out_local_time(edge_lease_created(l), t->created, sizeof(t->created));
}

struct out_table *out_lease_table(void)
{
    static const char *const headers[] = {"ID",    "PROTO", "PORTS", "EXPIRES",
                                          "STATE", "OWNER", "IMAGE"};
    return out_table_new(7, headers);
}

bool out_lease_row(struct out_table *t, const edge_lease_t *l)
{
    static struct lease_text lt; /* large; edgectl is single-threaded */
    const char *cells[7];
    lease_text(l, &lt);
    cells[0] = lt.id;
    cells[1] = out_protocol_name(edge_lease_protocol(l));
    cells[2] = lt.ports;
    cells[3] = lt.expires;
    cells[4] = out_state_name(edge_lease_state(l));
    cells[5] = lt.owner;
    cells[6] = lt.image;
    return out_table_add(t, cells);
}

void out_lease_detail(const edge_lease_t *l)
{
    static struct lease_text lt;
    uint32_t flags = edge_lease_flags(l);
    lease_text(l, &lt);
    out_printf("Lease %s\n", lt.id);
    out_printf("  Protocol:     %s\n", out_protocol_name(edge_lease_protocol(l)));
    out_printf("  Ports:        %s\n", lt.ports);
    out_printf("  State:        %s\n", out_state_name(edge_lease_state(l)));
    out_printf("  Created:      %s\n", lt.created);
    out_printf("  Expires:      %s\n", lt.expires);
    out_printf("  Owner:        %s\n", lt.owner);
    out_printf("  Application:  %s\n", lt.image);
    out_printf("  Edge option:  %s\n", edge_option_name(edge_lease_edge_option(l)));
    out_printf("  After exit:   %s\n", (flags & EDGE_REQUEST_F_KEEP_AFTER_EXIT)
                                           ? "kept (ends on release, expiry or revocation)"
                                           : "ends when the application exits");
}

void out_lease_json(json_writer *w, const edge_lease_t *l)
{
    static struct lease_text lt;
    uint32_t warn = edge_lease_warnings(l);
    size_t i;
    lease_text(l, &lt);
    json_object_begin(w);
    json_kv_string(w, "id", lt.id);
    json_kv_string(w, "protocol", out_protocol_name(edge_lease_protocol(l)));
    json_kv_uint(w, "port_lo", edge_lease_port_lo(l));
    json_kv_uint(w, "port_hi", edge_lease_port_hi(l));
    json_kv_string(w, "state", out_state_name(edge_lease_state(l)));
    json_kv_uint(w, "created", edge_lease_created(l));
    json_kv_uint(w, "expires", edge_lease_expires(l));
    json_kv_string(w, "owner_sid", lt.owner);
    json_kv_string(w, "image_path", lt.image);
    json_kv_string(w, "edge_option", edge_option_name(edge_lease_edge_option(l)));
    json_kv_bool(w, "keep_after_exit", (edge_lease_flags(l) & EDGE_REQUEST_F_KEEP_AFTER_EXIT) != 0);
    json_key(w, "warnings");
    json_array_begin(w);
    for (i = 0; i < sizeof(warnings) / sizeof(warnings[0]); i++)
        if (warn & warnings[i].bit)
            json_string(w, warnings[i].name);
    json_array_end(w);
    json_object_end(w);
}

void out_lease_warnings(const edge_lease_t *l)
{
    uint32_t warn = edge_lease_warnings(l);
    size_t i;
    if (edge_lease_state(l) != EDGE_STATE_INEFFECTIVE && warn == 0)
        return;
    out_eprintf("edgectl: warning: the lease was granted but cannot work right now:\n");
    for (i = 0; i < sizeof(warnings) / sizeof(warnings[0]); i++)
        if (warn & warnings[i].bit)
            out_eprintf("  - %s\n", warnings[i].text);
    out_eprintf("  Next: run `edgectl doctor` to see what defeats the rule, and fix that first.\n");
}
