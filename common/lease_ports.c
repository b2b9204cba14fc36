/*
 * The lease table's port index: which image holds each port, per protocol, used to refuse
 * conflicting leases; see lease_internal.h.
 */
#include "lease_internal.h"

static size_t lease_proto_index(uint8_t protocol)
{
    return protocol == EDGE_LEASE_PROTO_TCP ? 0 : 1;
}

bool edge_lease_ports_conflict(const edge_lease_table *t, uint8_t protocol, uint16_t lo,
                               uint16_t hi, const struct lease_image *image)
{
    struct lease_port_page *const *pages = t->ports[lease_proto_index(protocol)];
    uint32_t p = lo;
    while (p <= hi) {
        const struct lease_port_page *pg = pages[p / LEASE_PAGE_PORTS];
        if (!pg) {
            p = (p / LEASE_PAGE_PORTS + 1) * LEASE_PAGE_PORTS;
            continue;
        }
        if (pg->refs[p % LEASE_PAGE_PORTS] && pg->image[p % LEASE_PAGE_PORTS] != image)
            return true;
        p++;
    }
    return false;
}

/* Frees pages in the range that hold nothing (used after a failed add). */
static void lease_ports_trim(edge_lease_table *t, uint8_t protocol, uint16_t lo, uint16_t hi)
{
    struct lease_port_page **pages = t->ports[lease_proto_index(protocol)];
    size_t pg;
    for (pg = lo / LEASE_PAGE_PORTS; pg <= (size_t)hi / LEASE_PAGE_PORTS; pg++) {
        if (pages[pg] && pages[pg]->used == 0) {
            edge_lease_mem_free(t, pages[pg], sizeof(*pages[pg]));
            pages[pg] = NULL;
        }
    }
}

bool edge_lease_ports_prepare(edge_lease_table *t, uint8_t protocol, uint16_t lo, uint16_t hi)
{
    struct lease_port_page **pages = t->ports[lease_proto_index(protocol)];
    size_t pg;
    for (pg = lo / LEASE_PAGE_PORTS; pg <= (size_t)hi / LEASE_PAGE_PORTS; pg++) {
        if (!pages[pg]) {
            pages[pg] = edge_lease_mem_alloc(t, sizeof(*pages[pg]));
            if (!pages[pg]) {
                lease_ports_trim(t, protocol, lo, hi);
                return false;
            }
        }
    }
    return true;
}

void edge_lease_ports_take(edge_lease_table *t, const struct lease *l)
{
    struct lease_port_page **pages = t->ports[lease_proto_index(l->protocol)];
    uint32_t p;
    for (p = l->port_lo; p <= l->port_hi; p++) {
        struct lease_port_page *pg = pages[p / LEASE_PAGE_PORTS];
        if (pg->refs[p % LEASE_PAGE_PORTS]++ == 0) {
            pg->image[p % LEASE_PAGE_PORTS] = l->image;
            pg->used++;
        }
    }
}

void edge_lease_ports_release(edge_lease_table *t, const struct lease *l)
{
    struct lease_port_page **pages = t->ports[lease_proto_index(l->protocol)];
    uint32_t p;
    for (p = l->port_lo; p <= l->port_hi; p++) {
        struct lease_port_page *pg = pages[p / LEASE_PAGE_PORTS];
        if (--pg->refs[p % LEASE_PAGE_PORTS] == 0) {
            pg->image[p % LEASE_PAGE_PORTS] = NULL;
            if (--pg->used == 0) {
                edge_lease_mem_free(t, pg, sizeof(*pg));
                pages[p / LEASE_PAGE_PORTS] = NULL;
            }
        }
    }
}
