/*
 * Private to common/lease*.c: the lease table's records and the functions its parts share.
 * lease.c owns the table, its hash indexes and the public API (edge/lease.h); lease_ports.c the
 * per-protocol port index used for conflicts; lease_heap.c the expiry heap.
 */
#ifndef EDGE_LEASE_INTERNAL_H
#define EDGE_LEASE_INTERNAL_H

#include "edge/lease.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LEASE_PAGE_PORTS 256u
#define LEASE_PAGES      256u
#define LEASE_NO_HEAP    UINT32_MAX

/* Intrusive chaining for the three hash indexes; always the first member of its record. */
struct lease_hnode {
    struct lease_hnode *next;
};

struct lease_htab {
    struct lease_hnode **buckets;
    size_t nbuckets; /* 0 or a power of two */
    size_t n;
};

struct lease_owner {
    struct lease_hnode hn;
    uint64_t hash;
    struct lease *head; /* this owner's leases, doubly linked through onext/oprev */
    uint32_t count;
    size_t sid_len;
    char *sid; /* stored right after the struct */
};

struct lease_image {
    struct lease_hnode hn;
    uint64_t hash;
    uint32_t count;
    size_t path_len;
    uint8_t sha256[EDGE_LEASE_SHA256_LEN];
    char *path; /* stored right after the struct */
};

struct lease {
    struct lease_hnode hn; /* id index */
    struct lease *onext, *oprev;
    struct lease_owner *owner;
    struct lease_image *image;
    uint64_t created, expires;
    uint32_t edge_option, flags, owner_pid;
    uint32_t heap_index; /* LEASE_NO_HEAP while ENDING */
    uint16_t port_lo, port_hi;
    uint8_t protocol, state;
    uint8_t id[EDGE_LEASE_ID_LEN];
};

/*
 * Which image holds each port, per protocol, in lazily allocated pages of 256 ports.  Conflicts
 * guarantee at most one image per port; refs counts that image's leases covering the port.
 */
struct lease_port_page {
    struct lease_image *image[LEASE_PAGE_PORTS];
    uint32_t refs[LEASE_PAGE_PORTS];
    uint32_t used; /* ports with refs > 0; the page is freed at 0 */
};

struct edge_lease_table {
    edge_lease_table_params params;
    struct lease_htab ids, owners, images;
    struct lease_port_page *ports[2][LEASE_PAGES]; /* [0] TCP, [1] UDP */
    struct lease **heap;                           /* min-heap on expires, non-ENDING leases */
    size_t heap_n, heap_cap;
    uint32_t count;
    size_t bytes;
};

/* calloc/free that keep t->bytes (edge_lease_table_memory) up to date; free ignores NULL. */
void *edge_lease_mem_alloc(edge_lease_table *t, size_t size);
void edge_lease_mem_free(edge_lease_table *t, void *p, size_t size);

/* ---- expiry heap (lease_heap.c): a min-heap on expires holding the non-ENDING leases ---- */

/* Grows the heap's array to hold want leases.  On failure the heap is unchanged. */
bool edge_lease_heap_reserve(edge_lease_table *t, size_t want);
/* Adds l; room was reserved by the caller. */
void edge_lease_heap_push(edge_lease_table *t, struct lease *l);
/* Removes l if it is in the heap (heap_index != LEASE_NO_HEAP). */
void edge_lease_heap_remove(edge_lease_table *t, struct lease *l);
/* Restores heap order after the lease at index i moved to a later expiry. */
void edge_lease_heap_down(edge_lease_table *t, size_t i);
/*
 * Writes up to cap ids of leases with expires <= now; *count gets their number, *next_expiry the
 * earliest expiry > now (UINT64_MAX if none), or now when more than cap leases have expired.
 */
void edge_lease_heap_collect(const edge_lease_table *t, uint64_t now,
                             uint8_t (*ids)[EDGE_LEASE_ID_LEN], size_t cap, size_t *count,
                             uint64_t *next_expiry);

/* ---- port index (lease_ports.c) ---- */

/* Whether a lease of another image than `image` holds a port of lo..hi on the protocol. */
bool edge_lease_ports_conflict(const edge_lease_table *t, uint8_t protocol, uint16_t lo,
                               uint16_t hi, const struct lease_image *image);
/* Allocates the pages lo..hi needs, so edge_lease_ports_take cannot fail.  On failure the index
 * is unchanged (pages it allocated are freed again). */
bool edge_lease_ports_prepare(edge_lease_table *t, uint8_t protocol, uint16_t lo, uint16_t hi);
/* Records l's ports; edge_lease_ports_prepare succeeded for its range. */
void edge_lease_ports_take(edge_lease_table *t, const struct lease *l);
/* Forgets l's ports, freeing pages that become empty. */
void edge_lease_ports_release(edge_lease_table *t, const struct lease *l);

#endif /* EDGE_LEASE_INTERNAL_H */
