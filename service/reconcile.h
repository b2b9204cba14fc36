/*
 * Reconcile planner: compares the lease table with the rules of the EdgeBroker firewall group and
 * says what to do.  Pure: no COM, no I/O, no clock (now is passed in); the lease manager executes
 * the plan through firewall.h and audits each action.
 *
 * A lease is LIVE when its state is ACTIVE or RULE_PENDING and it has not expired (expires > now,
 * as edge/lease.h defines expiry).  Only live leases keep a rule.
 *
 * remove   every rule that must go:
 *            - name carries no lease id (not made by edge_fw_rule_name)  -> by name
 *            - lease id unknown to the table                              -> by lease id
 *            - lease ENDING, or expired at now                            -> by lease id
 *            - second and later rules carrying one live lease's id        -> by name
 *          The backend removes one rule of that name and group per call, so for duplicates it
 *          is unspecified WHICH copy goes: after executing duplicate removals, verify the lease's
 *          rule again (edge_fw_verify_rule) rather than trusting the repair bits of the survivor.
 * restore  live leases with no rule: create it (reconcile_spec_from_lease + edge_fw_add_rule).
 * repair   live leases whose (kept) rule differs, with the EDGE_FW_FIELD_* bits that differ.
 * forget   ENDING leases that have no rule: the rule is confirmed gone, so the lease manager may
 *          edge_lease_table_remove them.  (Expired, not yet ENDING leases are the expiry path's.)
 *
 * Cost: O(leases + rules) expected (a hash index of lease ids), plus the length of the strings
 * compared.  Thread-safety: reentrant; the table must not change during reconcile_plan_build.
 */
#ifndef EDGE_SVC_RECONCILE_H
#define EDGE_SVC_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edge/lease.h"
#include "edge/status.h"
#include "firewall.h"

typedef enum reconcile_remove_reason {
    RECONCILE_REMOVE_FOREIGN_NAME = 1,  /* name carries no lease id */
    RECONCILE_REMOVE_UNKNOWN_LEASE = 2, /* no such lease in the table */
    RECONCILE_REMOVE_LEASE_ENDING = 3,  /* lease is ENDING */
    RECONCILE_REMOVE_LEASE_EXPIRED = 4, /* lease expired at now (not yet ENDING) */
    RECONCILE_REMOVE_DUPLICATE = 5      /* another rule already carries this live lease's id */
} reconcile_remove_reason;

typedef struct reconcile_remove {
    reconcile_remove_reason reason;
    bool by_name;      /* true: edge_fw_remove_rule_named(name); false: edge_fw_remove_rule(id) */
    bool has_lease_id; /* lease_id is valid (every reason but FOREIGN_NAME) */
    uint8_t lease_id[EDGE_LEASE_ID_LEN];
    wchar_t *name; /* the rule's name; owned by the plan */
} reconcile_remove;

typedef struct reconcile_repair {
    uint8_t lease_id[EDGE_LEASE_ID_LEN];
    uint32_t fields; /* EDGE_FW_FIELD_* that differ; never 0 */
} reconcile_repair;

typedef struct reconcile_plan {
    size_t remove_count;
    reconcile_remove *remove; /* one entry per rule to remove */
    size_t restore_count;
    uint8_t (*restore)[EDGE_LEASE_ID_LEN];
    size_t repair_count;
    reconcile_repair *repair;
    size_t forget_count;
    uint8_t (*forget)[EDGE_LEASE_ID_LEN];
} reconcile_plan;

/*
 * Builds the plan.  rules may be NULL (no rules).  profiles are the EDGE_FW_PROFILE_* bits the
 * rules must carry (policy).  *out is NULL on entry and on failure; release with
 * reconcile_plan_free.  Returns EDGE_OK, EDGE_E_BAD_REQUEST (table or out NULL, a rule list with
 * count > 0 and no rules), EDGE_E_NO_MEMORY, or EDGE_E_INTERNAL (the table iterated more
 * leases than it counts).
 */
edge_status reconcile_plan_build(const edge_lease_table *table, const edge_fw_rule_list *rules,
                                 uint32_t profiles, uint64_t now, reconcile_plan **out);

/* Frees a plan.  NULL is ignored. */
void reconcile_plan_free(reconcile_plan *plan);

/*
 * The EDGE_FW_FIELD_* bits in which `rule` differs from the rule `lease` should have with
 * `profiles` (0 = matches).  Semantics as edge_fw_verify_rule: app path compared ignoring case
 * (the lease's UTF-8 path converted to UTF-16; a path that cannot be converted differs), ports
 * differ when they could not be parsed, owner compared only when rule->owner_known, a legacy
 * EdgeTraversal rule (edge_from_legacy) matches ALLOW and DEFER_TO_APP when it reads ALLOW,
 * profiles compared on the DOMAIN/PRIVATE/PUBLIC bits, and the rule must be enabled, inbound
 * and allow.  Returns EDGE_OK, EDGE_E_BAD_REQUEST (NULL argument) or EDGE_E_NO_MEMORY.
 */
edge_status reconcile_rule_diff(const edge_fw_listed_rule *rule, const edge_lease_info *lease,
                                uint32_t profiles, uint32_t *fields);

/*
 * Fills *out with the rule spec for lease: id, image path and owner SID converted from UTF-8 to
 * UTF-16 (MB_ERR_INVALID_CHARS), protocol, ports, edge mode = lease->edge_option, profiles.
 * This is the one definition of a lease's rule: the lease manager uses it to create rules and
 * the planner to compare them.  *out is zeroed on entry and on failure; release the strings with
 * reconcile_spec_free.  Returns EDGE_OK, EDGE_E_BAD_REQUEST (NULL argument, invalid UTF-8, empty
 * or too long path or SID) or EDGE_E_NO_MEMORY.
 */
edge_status reconcile_spec_from_lease(const edge_lease_info *lease, uint32_t profiles,
                                      edge_fw_rule_spec *out);

/* Frees the strings of a spec made by reconcile_spec_from_lease and NULLs them.  NULL ignored. */
void reconcile_spec_free(edge_fw_rule_spec *spec);

#endif /* EDGE_SVC_RECONCILE_H */
