/*
 * The lease manager: the service's brain between the verbs and the firewall.
 *
 * It owns the lease table (edge/lease.h) behind one SRWLOCK, the store (store.h: every change is
 * persisted before it is acted on; a change that cannot be persisted is rolled back and answered
 * EDGE_E_STORAGE), and the firewall backend (firewall.h).  It audits every decision and change to
 * a borrowed audit log.
 *
 * Grant (of a request the policy engine already allowed; service/authz.c decides): validate ->
 * quotas -> random lease id -> table (RULE_PENDING) + persist -> firewall rule (no lock held during
 * the COM call) -> ACTIVE + persist -> reply.  If the firewall fails, the lease is removed again
 * and the firewall status and HRESULT are returned.
 *
 * Durability (docs/performance.md, "Renewal persistence"): grants and every end of a lease are on
 * disk before they are answered.  A renewal only moves an expiry later (edge_lease_table_renew)
 * and is a deferred save (lm_persist_renewal, store_save_deferred): on disk within STORE_DEFER_MS
 * (1 s) or at leases_destroy, coalesced with the other renewals of that second.  A crash before
 * then loses only those renewals: the previous generation, with the previous expiry, loads.  With
 * the store's defer delay 0 renewals are synchronous again.
 *
 * Configuration: the values the manager needs from the effective policy (quotas, default and
 * maximum lease, profiles) are copied in at create and replaced live by leases_set_config when the
 * policy source reloads; the policy source (policy_source.h) is their only reader.
 *
 * End (release, revoke, expiry, client exit, purge): ENDING + persist -> remove the rule -> remove
 * the lease + persist.  When the rule cannot be removed the lease stays ENDING and reconcile
 * finishes it.  Expiry runs on one threadpool timer armed for the earliest expiry; client exit on
 * one threadpool wait per client process (a duplicate of the connection's process handle).
 *
 * Reconcile (at start on a worker, every reconcile_interval_ms, and on demand) lists the
 * EdgeBroker group, plans with reconcile.h, removes orphans, restores missing rules, repairs
 * edited ones, finishes ENDING leases.  Firewall failures are retried with exponential back-off
 * (retry_initial_ms doubling up to retry_max_ms) and are never fatal.  A reconcile pass excludes
 * lease operations that touch the firewall (a gate lock), so it never sees a rule half-made.
 *
 * Thread-safety: every function except create/destroy may be called from any thread.
 */
#ifndef EDGE_SVC_LEASES_H
#define EDGE_SVC_LEASES_H

#include <windows.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "edge/policy.h"
#include "edge/protocol.h"
#include "edge/status.h"
#include "firewall.h"

struct caller_identity;
struct edge_policy;
struct leases;

#define LEASES_DEFAULT_RECONCILE_MS       (5u * 60u * 1000u)
#define LEASES_DEFAULT_RETRY_INITIAL_MS   1000u
#define LEASES_DEFAULT_RETRY_MAX_MS       (5u * 60u * 1000u)
#define LEASES_DEFAULT_FWSTATE_MAX_AGE_MS 30000u
/* retry_after of EDGE_E_QUOTA when the whole table is full (no one lease to wait for). */
#define LEASES_QUOTA_RETRY_SECONDS 30u

/* What the manager takes from the effective policy (docs/policy.md). */
struct leases_config {
    uint32_t max_per_user; /* MaxLeasesPerUser */
    uint32_t max_per_app;  /* MaxLeasesPerApp */
    uint32_t
        default_seconds;  /* DefaultLeaseSeconds, capped to max_seconds (renew without seconds) */
    uint32_t max_seconds; /* MaxLeaseSeconds (renew) */
    uint32_t profiles;    /* Profiles: EDGE_FW_PROFILE_* mask, or EDGE_FW_PROFILE_ALL */
    /* The scope policy permits, re-checked at every renewal and after every reload (policy.md,
     * "Renewal").  Zero values (a configuration built by hand) permit everything. */
    bool mode_off;       /* Mode is Off: no lease may be renewed or kept */
    uint32_t protocols;  /* AllowedProtocols: EDGE_POLICY_PROTO_* (0: TCP and UDP) */
    uint32_t port_count; /* AllowedPorts entries in ports (0: 1-65535) */
    edge_port_range ports[EDGE_POLICY_MAX_PORT_RANGES];
};

/* The values of a policy (edge/policy.h), e.g. of a policy_source snapshot. */
void leases_config_from_policy(const struct edge_policy *p, struct leases_config *out);

/* The documented policy defaults (edge_policy_init_defaults). */
void leases_config_defaults(struct leases_config *cfg);

/*
 * Replaces the configuration in force (policy reload).  Grants and renewals that start afterwards
 * use it (a renewal or grant whose scope it no longer permits is EDGE_E_DENIED); a reconcile pass
 * re-applies the profiles to existing rules.  Values out of range are corrected as at create.
 */
void leases_set_config(struct leases *m, const struct leases_config *cfg);

/*
 * Ends every lease the configuration in force no longer permits (Mode Off, protocol not in
 * AllowedProtocols, ports not inside one AllowedPorts entry), in the calling thread: rule
 * removed, audited lease_revoked "revoked by policy: <why>".  Called after leases_set_config on a
 * reload; may wait for the firewall.  Returns the number of leases ended.
 */
uint32_t leases_end_refused(struct leases *m);

struct leases_params {
    const wchar_t *state_dir; /* required: the store's directory */
    struct leases_config config;
    audit_log *audit;               /* borrowed; may be NULL */
    const uint8_t *epoch;           /* EDGE_ID_SIZE bytes for the start record, or NULL */
    edge_fw_config fw;              /* firewall backend timeouts (0 = defaults) */
    uint32_t reconcile_interval_ms; /* 0 = LEASES_DEFAULT_RECONCILE_MS */
    uint32_t retry_initial_ms;      /* 0 = LEASES_DEFAULT_RETRY_INITIAL_MS */
    uint32_t retry_max_ms;          /* 0 = LEASES_DEFAULT_RETRY_MAX_MS */
    uint32_t fwstate_max_age_ms;    /* 0 = LEASES_DEFAULT_FWSTATE_MAX_AGE_MS */
};

/*
 * A reply-ready set of leases in ONE malloc'd block: items (count records) and the strings their
 * views point to all live inside it, so the block can be handed to a verb reply as `owned`.
 * Release with free() (or leases_view_free).
 */
struct leases_view {
    uint32_t count;
    bool more;                      /* list: more leases follow; next_cursor is valid */
    uint32_t next_cursor;           /* list: the cursor of the next page */
    uint32_t warnings;              /* EDGE_WARN_* that apply to these leases */
    edge_lease *items;              /* edge_lease.state is the wire state (EDGE_LEASE_STATE_*) */
    char detail[EDGE_MAX_TEXT + 1]; /* why the leases are ineffective, or empty */
};

/* Outcome details of a call, for the reply envelope and the audit trail. */
struct leases_result {
    edge_status status;
    bool has_win32_error;
    uint32_t win32_error; /* HRESULT (firewall) or Win32 error (storage) */
    uint32_t retry_after; /* seconds; with transient statuses */
    uint32_t warnings;    /* EDGE_WARN_* */
    char detail[EDGE_MAX_TEXT + 1];
};

/*
 * A lease to create, as the policy engine allowed it (service/authz.c): for whom, for which
 * application, and the effective values the decision returned.
 */
struct leases_request {
    uint8_t protocol; /* EDGE_IPPROTO_TCP / _UDP */
    uint16_t port_lo;
    uint16_t port_hi;
    uint32_t seconds;            /* effective length (edge_policy_decision.lease_seconds) */
    uint32_t flags;              /* EDGE_LEASE_F_* */
    uint8_t edge_option;         /* EDGE_TRAVERSAL_* (edge_policy_decision.edge_option) */
    const char *owner_sid;       /* the user the lease is for, "S-1-..." */
    const char *image_path;      /* canonical UTF-8 path of the application */
    const uint8_t *image_sha256; /* EDGE_SHA256_SIZE bytes */
    const char *reason; /* why it was allowed (audited with request_granted); may be NULL */
};

/*
 * Opens the store in params->state_dir (loading the leases), starts the firewall backend and the
 * timers, audits the start (with the epoch) and any state recovery.  Does NOT reconcile: call
 * leases_reconcile_async (service) or leases_reconcile_now (tests).  *out is NULL on entry and on
 * failure.  Returns EDGE_OK, EDGE_E_BAD_REQUEST, EDGE_E_STORAGE (res->detail says why),
 * EDGE_E_NO_MEMORY, EDGE_E_INTERNAL or a firewall start status.
 */
edge_status leases_create(const struct leases_params *params, struct leases **out,
                          struct leases_result *res);

/*
 * Stops timers, waits and reconcile work (waiting for running callbacks), then the firewall
 * backend, then the store.  Leases stay on disk; rules stay in the firewall.  NULL is ignored.
 */
void leases_destroy(struct leases *m);

/*
 * Creates the lease REQ describes (already allowed by policy).  CALLER (identity from the pipe) is
 * audited and, unless KEEP_AFTER_EXIT, the lease ends when its process exits; CALLER NULL (a lease
 * an approver created) binds it to no process until leases_adopt.  On EDGE_OK *out receives a
 * view of one lease (free it).  Other statuses: EDGE_E_BAD_REQUEST, EDGE_E_QUOTA (retry_after =
 * seconds until the earliest lease counting against the exhausted quota expires), EDGE_E_DENIED
 * (a reload since the decision no longer permits the scope: lm_config_permits), EDGE_E_CONFLICT,
 * EDGE_E_STORAGE, EDGE_E_FIREWALL*, EDGE_E_TIMEOUT, EDGE_E_NO_MEMORY, EDGE_E_SHUTTING_DOWN.
 * res (required) is always filled.
 */
edge_status leases_grant(struct leases *m, const struct caller_identity *caller,
                         const struct leases_request *req, struct leases_view **out,
                         struct leases_result *res);

/*
 * The requester collected a lease an approver created for it (consent): binds lease ID to
 * CALLER's process, which must be the owner (same SID), so that unless KEEP_AFTER_EXIT it ends
 * when that process exits.  Returns EDGE_OK or EDGE_E_NOT_FOUND (gone, ending, another owner).
 */
edge_status leases_adopt(struct leases *m, const struct caller_identity *caller,
                         const uint8_t id[EDGE_ID_SIZE]);

/*
 * Renews lease ID (owner or administrator) by SECONDS (has_seconds false: DefaultLeaseSeconds;
 * the original length is not recorded), capped by MaxLeaseSeconds.  *out as for grant.
 * EDGE_E_DENIED, lease unchanged, when the configuration in force no longer permits its scope
 * (Mode Off, AllowedProtocols, AllowedPorts; detail names the value).  EDGE_E_NOT_FOUND also when
 * the caller may not see the lease or it has ended (ENDING); EDGE_E_EXPIRED for an expired lease;
 * EDGE_E_STORAGE.
 */
edge_status leases_renew(struct leases *m, const struct caller_identity *caller,
                         const uint8_t id[EDGE_ID_SIZE], bool has_seconds, uint32_t seconds,
                         struct leases_view **out, struct leases_result *res);

/* Ends lease ID at its owner's (or an administrator's) request.  EDGE_E_NOT_FOUND, _STORAGE. */
edge_status leases_release(struct leases *m, const struct caller_identity *caller,
                           const uint8_t id[EDGE_ID_SIZE], struct leases_result *res);

/* Ends lease ID as an administrator's revocation (caller must be an admin: else ACCESS_DENIED). */
edge_status leases_revoke(struct leases *m, const struct caller_identity *caller,
                          const uint8_t id[EDGE_ID_SIZE], const char *reason, size_t reason_len,
                          struct leases_result *res);

/* One lease the caller may see (owner or administrator), ENDING ones as state ENDED. */
edge_status leases_show(struct leases *m, const struct caller_identity *caller,
                        const uint8_t id[EDGE_ID_SIZE], struct leases_view **out,
                        struct leases_result *res);

/*
 * One page of the caller's leases (ALL: every lease; administrators only, else
 * EDGE_E_ACCESS_DENIED), ordered by lease id, starting at CURSOR (0 = start).  Ended (ENDING)
 * leases are left out: they are over for their owner (SHOW still reports them as ENDED, and
 * leases_get_stats counts the rule removals pending).  The page holds at
 * most max_items records whose encoded size (edge_lease records in a LIST) stays within
 * budget_bytes; more/next_cursor say whether and where to continue.  The cursor is the first four
 * bytes of the next lease id, and a page never ends between two leases sharing those bytes, so a
 * page sequence neither repeats nor skips a lease that exists throughout.
 */
edge_status leases_list(struct leases *m, const struct caller_identity *caller, bool all,
                        uint32_t cursor, uint32_t max_items, size_t budget_bytes,
                        struct leases_view **out, struct leases_result *res);

/* Removes every rule of the EdgeBroker group and every lease (administrators only). */
edge_status leases_purge(struct leases *m, const struct caller_identity *caller,
                         uint32_t *rules_removed, struct leases_result *res);

/* What a reconcile pass did. */
struct leases_reconcile_report {
    edge_status status; /* EDGE_OK, or the first firewall/storage failure (will be retried) */
    uint32_t hresult;
    uint32_t rules_listed;
    uint32_t orphans_removed;
    uint32_t restored;
    uint32_t repaired;
    uint32_t endings_finished;
    uint32_t expired_ended;
    uint32_t failures;
};

/* Runs one reconcile pass in the calling thread.  report may be NULL. */
edge_status leases_reconcile_now(struct leases *m, struct leases_reconcile_report *report);

/* Queues a reconcile pass on the thread pool (start-up, on demand); returns at once. */
void leases_reconcile_async(struct leases *m);

/* Counters for status/doctor and tests. */
struct leases_stats {
    uint32_t leases;              /* every lease in the table */
    uint32_t active;              /* ACTIVE */
    uint32_t rule_pending;        /* RULE_PENDING (being created or restored) */
    uint32_t ending;              /* ENDING (rule removal pending) */
    uint32_t watches;             /* client processes watched */
    uint64_t started;             /* unix seconds */
    bool store_dirty;             /* the last persist failed; memory is ahead of disk */
    DWORD store_error;            /* Win32 error of the last failed persist */
    bool reconcile_done;          /* at least one pass finished */
    edge_status reconcile_status; /* of the last pass */
    uint64_t reconcile_last;      /* unix seconds of the last pass, 0 = none */
    uint32_t reconcile_retry_ms;  /* current back-off; 0 when the last pass succeeded */
};
void leases_get_stats(struct leases *m, struct leases_stats *out);

/*
 * The firewall's effective state, cached for params->fwstate_max_age_ms (fresh = true forces a
 * read).  Returns edge_fw_read_state's status; *out is always filled.
 */
edge_status leases_firewall_state(struct leases *m, bool fresh, edge_fw_state *out);

/*
 * Warning bits (EDGE_WARN_*) and the EDGE_FW_INEFFECTIVE_* bits for a rule with the configured
 * profiles under STATE (pure).  why may be NULL.
 */
uint32_t leases_assess(const struct leases *m, const edge_fw_state *state, uint32_t *ineffective,
                       char *why, size_t why_size);

/* The configuration in force (create, then leases_set_config). */
void leases_get_config(struct leases *m, struct leases_config *out);

/* The store, for tests that inject write faults (store_set_write_limit); not for the service. */
struct store *leases_store_for_test(struct leases *m);

/* Frees a view; NULL is ignored. */
void leases_view_free(struct leases_view *v);

#endif /* EDGE_SVC_LEASES_H */
