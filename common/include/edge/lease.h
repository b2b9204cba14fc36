/*
 * The in-memory lease table: every grant the service has made, indexed for the service's needs.
 *
 * A lease is one firewall rule's reason to exist.  The table is pure bookkeeping: it never talks
 * to the firewall, never reads the clock (time is passed in as unix seconds) and never draws
 * random numbers (lease ids come from the caller, which takes them from the OS RNG).
 *
 * Lease states and their transitions (edge_lease_table_set_state enforces them):
 *
 *   RULE_PENDING  recorded; the firewall rule is not (or no longer) confirmed to exist.  New
 *                 grants start here; the firewall worker creates the rule, then moves it to ACTIVE.
 *   ACTIVE        the rule exists and was confirmed.  Reconcile moves it back to RULE_PENDING
 *                 when it finds the rule missing or edited (and repairs it).
 *   ENDING        released, expired, revoked or its client exited: the rule is being removed.
 *                 Terminal.  The lease stays (and is persisted) until the rule is confirmed gone,
 *                 then the service removes it with edge_lease_table_remove.
 *
 *   RULE_PENDING <-> ACTIVE,  RULE_PENDING -> ENDING,  ACTIVE -> ENDING.  Setting the current
 *   state again is a no-op.  ENDING leases are not renewable and are not reported as expired.
 *
 * Image identity: two leases are for the same image when their image SHA-256 values are equal
 * and their image paths are equal ignoring ASCII case.  Image paths must be canonical
 * (edge_path_is_canonical), so that comparison is the one edge/path.h defines.
 *
 * Conflicts: two leases with the same protocol and overlapping port ranges must be for the same
 * image; the table refuses anything else (EDGE_E_CONFLICT).  Leases of one image may overlap.
 *
 * Costs: lookup, add, remove, renew and state changes are O(1) average plus O(log n) for the
 * expiry heap, plus O(hi - lo + 1) for the port range of the lease being added or removed
 * (at most 65,536, independent of n).  Collecting k expired leases costs O(k), not O(n).
 * edge_lease_table_memory reports the bytes the table holds.
 *
 * Thread-safety: none.  The service serialises access with its own lock.  The pointers in an
 * edge_lease_info filled by the table stay valid until that lease is removed or the table is
 * destroyed, and must not be modified.
 */
#ifndef EDGE_LEASE_H
#define EDGE_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edge/status.h"

#define EDGE_LEASE_ID_LEN      16u
#define EDGE_LEASE_SHA256_LEN  32u
#define EDGE_LEASE_SID_MAX_LEN 184u /* longest string SID: "S-1-" + 48-bit + 15 sub-authorities */

#define EDGE_LEASE_PROTO_TCP 6u
#define EDGE_LEASE_PROTO_UDP 17u

#define EDGE_LEASE_EDGE_ALLOW        1u /* NET_FW_EDGE_TRAVERSAL_TYPE_ALLOW */
#define EDGE_LEASE_EDGE_DEFER_TO_APP 2u /* NET_FW_EDGE_TRAVERSAL_TYPE_DEFER_TO_APP */

/* The lease survives its client process; otherwise it ends when the client exits. */
#define EDGE_LEASE_FLAG_KEEP_AFTER_EXIT 0x1u
#define EDGE_LEASE_FLAGS_KNOWN          0x1u

/* Values are persisted in the state file; never renumber. */
typedef enum edge_lease_state {
    EDGE_LEASE_ACTIVE = 1,
    EDGE_LEASE_RULE_PENDING = 2,
    EDGE_LEASE_ENDING = 3
} edge_lease_state;

/* A lease's fields.  Input to edge_lease_table_add; output of get and the iterators. */
typedef struct edge_lease_info {
    uint8_t id[EDGE_LEASE_ID_LEN];
    const char *owner_sid;  /* "S-1-..." : 'S', '-', digits; NUL-terminated */
    const char *image_path; /* canonical UTF-8 path, NUL-terminated */
    uint8_t image_sha256[EDGE_LEASE_SHA256_LEN];
    uint8_t protocol; /* EDGE_LEASE_PROTO_TCP or EDGE_LEASE_PROTO_UDP */
    uint16_t port_lo; /* 1..65535, port_lo <= port_hi */
    uint16_t port_hi;
    uint32_t edge_option; /* EDGE_LEASE_EDGE_* */
    uint64_t created;     /* unix seconds */
    uint64_t expires;     /* unix seconds, >= created */
    uint32_t flags;       /* EDGE_LEASE_FLAG_*; unknown bits rejected */
    edge_lease_state state;
    uint32_t owner_pid; /* client process id; runtime only, never persisted; 0 = none */
} edge_lease_info;

/* Limits of a table.  0 in any field means "no limit". */
typedef struct edge_lease_table_params {
    uint32_t max_leases;    /* capacity of the whole table */
    uint32_t max_per_owner; /* leases one owner SID may hold */
    uint32_t max_per_image; /* leases one image (all owners together) may hold */
} edge_lease_table_params;

/* Per-call quotas for edge_lease_table_add; replace the table's values.  0 = no limit. */
typedef struct edge_lease_quota {
    uint32_t max_per_owner;
    uint32_t max_per_image;
} edge_lease_quota;

typedef struct edge_lease_table edge_lease_table;

/*
 * Return false to stop an iteration.  The callback must not add, remove, renew or change the
 * state of leases in the table being iterated (collect ids first, then act).
 */
typedef bool (*edge_lease_visit_fn)(const edge_lease_info *lease, void *ctx);

/*
 * Creates an empty table.  params may be NULL (no limits).  *out is NULL on entry and on failure.
 * Returns EDGE_OK, EDGE_E_BAD_REQUEST (out NULL) or EDGE_E_NO_MEMORY.
 * Release with edge_lease_table_destroy.
 */
edge_status edge_lease_table_create(const edge_lease_table_params *params, edge_lease_table **out);

/* Frees the table and every lease in it.  NULL is ignored. */
void edge_lease_table_destroy(edge_lease_table *table);

/*
 * Pre-sizes the id index for n leases, so loading n leases never rehashes.  Optional.
 * Returns EDGE_OK or EDGE_E_NO_MEMORY (the table is unchanged and still usable).
 */
edge_status edge_lease_table_reserve(edge_lease_table *table, uint32_t n);

/*
 * Adds a copy of *lease (strings are copied; owner SIDs and images are shared between leases).
 * quota NULL applies the table's per-owner and per-image limits; non-NULL replaces them for this
 * call (the table capacity always applies).  owner_pid and state are taken as given.
 * Returns:
 *   EDGE_OK
 *   EDGE_E_BAD_REQUEST  a field is invalid (protocol, ports, edge option, unknown flags,
 *                       created > expires, state, SID syntax or length, image path not
 *                       canonical), or a lease with this id already exists
 *   EDGE_E_CONFLICT     a lease of another image holds an overlapping port range on the protocol
 *   EDGE_E_QUOTA        the owner's or the image's quota, or the table capacity, would be exceeded
 *   EDGE_E_NO_MEMORY    allocation failed; the table is unchanged
 */
edge_status edge_lease_table_add(edge_lease_table *table, const edge_lease_info *lease,
                                 const edge_lease_quota *quota);

/*
 * Fills *out with the lease whose id is id.  Returns false (and zeroes *out) when there is none.
 */
bool edge_lease_table_get(const edge_lease_table *table, const uint8_t id[EDGE_LEASE_ID_LEN],
                          edge_lease_info *out);

/* Removes the lease.  Returns EDGE_OK or EDGE_E_NOT_FOUND. */
edge_status edge_lease_table_remove(edge_lease_table *table, const uint8_t id[EDGE_LEASE_ID_LEN]);

/*
 * Renews: new expiry = now + min(requested_seconds, max_seconds) (saturating), and the expiry
 * never moves earlier than it already is.  *new_expires (may be NULL) receives the resulting
 * expiry on success.
 * Returns EDGE_OK, EDGE_E_NOT_FOUND, EDGE_E_BAD_REQUEST (requested_seconds or max_seconds 0),
 * EDGE_E_EXPIRED (the lease has expired at now, i.e. expires <= now, or is ENDING).
 */
edge_status edge_lease_table_renew(edge_lease_table *table, const uint8_t id[EDGE_LEASE_ID_LEN],
                                   uint64_t now, uint64_t requested_seconds, uint64_t max_seconds,
                                   uint64_t *new_expires);

/*
 * Moves a lease to state (transitions in the comment at the top).
 * Returns EDGE_OK, EDGE_E_NOT_FOUND, EDGE_E_BAD_REQUEST (unknown state) or
 * EDGE_E_PROTOCOL_STATE (transition not allowed).
 */
edge_status edge_lease_table_set_state(edge_lease_table *table, const uint8_t id[EDGE_LEASE_ID_LEN],
                                       edge_lease_state state);

/* Records the client process id (0 = none).  Returns EDGE_OK or EDGE_E_NOT_FOUND. */
edge_status edge_lease_table_set_owner_pid(edge_lease_table *table,
                                           const uint8_t id[EDGE_LEASE_ID_LEN], uint32_t pid);

/* Calls fn for every lease, in unspecified order, until fn returns false. */
void edge_lease_table_foreach(const edge_lease_table *table, edge_lease_visit_fn fn, void *ctx);

/* Calls fn for every lease owned by owner_sid (exact match), until fn returns false. */
void edge_lease_table_foreach_owner(const edge_lease_table *table, const char *owner_sid,
                                    edge_lease_visit_fn fn, void *ctx);

/*
 * Lists leases that have expired at now (expires <= now), not counting ENDING leases, without
 * changing anything.  Writes up to cap ids to ids (16 bytes each) and their number to *count.
 * *next_expiry receives the earliest expiry still in the future (> now), or UINT64_MAX if none;
 * if more than cap leases have expired it receives now instead, meaning "call again" once the
 * listed leases have been moved to ENDING or removed.  Cost O(count + 1) amortised over the heap.
 * Returns EDGE_OK or EDGE_E_BAD_REQUEST (NULL count/next_expiry, or ids NULL with cap > 0).
 */
edge_status edge_lease_table_collect_expired(const edge_lease_table *table, uint64_t now,
                                             uint8_t (*ids)[EDGE_LEASE_ID_LEN], size_t cap,
                                             size_t *count, uint64_t *next_expiry);

/* Number of leases in the table. */
uint32_t edge_lease_table_count(const edge_lease_table *table);

/* Number of leases owned by owner_sid (0 for unknown owners or NULL). */
uint32_t edge_lease_table_count_owner(const edge_lease_table *table, const char *owner_sid);

/* Number of leases for the image (path compared ignoring ASCII case, hash exact). */
uint32_t edge_lease_table_count_image(const edge_lease_table *table, const char *image_path,
                                      const uint8_t image_sha256[EDGE_LEASE_SHA256_LEN]);

/* Bytes currently allocated by the table (structures, strings, indexes); for diagnostics. */
size_t edge_lease_table_memory(const edge_lease_table *table);

/* The table's limits as given at creation. */
edge_lease_table_params edge_lease_table_get_params(const edge_lease_table *table);

#endif /* EDGE_LEASE_H */
