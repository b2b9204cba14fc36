/*
 * Private state of the lease manager, shared by its files:
 *   leases.c           create/destroy, grant, renew, show, list, stats
 *   lease_end.c        the end of a lease: release, revoke, expiry, client exit, purge
 *   lease_timers.c     the expiry timer and the client-exit waits
 *   lease_reconcile.c  reconcile passes, back-off, the periodic timer
 *   lease_support.c    persistence, audit records, views, time, firewall-state cache
 *   lease_config.c     configuration from the effective policy, applied live
 *
 * Locks, always taken in this order and never the other way round:
 *   gate  SRWLOCK.  Shared by every operation that changes a lease AND touches the firewall
 *         (grant, end), exclusive for a reconcile pass and purge.  A pass therefore never sees a
 *         lease whose rule is being made or removed, and never mistakes such a rule for an orphan.
 *   lock  SRWLOCK.  The table, the store, the watch list, counters.  Never held across a firewall
 *         call or a wait for a threadpool callback.
 *   fwstate_lock  the cached firewall state only.
 */
#ifndef EDGE_SVC_LEASES_INTERNAL_H
#define EDGE_SVC_LEASES_INTERNAL_H

#include "leases.h"

#include "edge/lease.h"
#include "store.h"

struct lease_watch {
    struct lease_watch *next;
    struct leases *m;
    DWORD pid;
    HANDLE process; /* our duplicate, SYNCHRONIZE */
    PTP_WAIT wait;
    bool fired; /* the process exited and its leases were ended; awaiting sweep */
};

struct leases {
    SRWLOCK gate;
    SRWLOCK lock;
    edge_lease_table *table;
    struct store *store;
    edge_fw_backend *fw;
    audit_log *audit;
    struct leases_config cfg; /* written under gate AND lock exclusive (leases_set_config) */
    uint32_t reconcile_interval_ms;
    uint32_t retry_initial_ms;
    uint32_t retry_max_ms;
    uint32_t fwstate_max_age_ms;
    uint64_t started;
    bool stopping;
    bool dirty;        /* memory is ahead of disk: the last persist failed */
    DWORD store_error; /* Win32 error of that persist */

    PTP_TIMER expiry_timer;
    PTP_TIMER reconcile_timer;
    PTP_WORK reconcile_work;
    uint32_t retry_ms; /* current back-off; 0 when the last pass succeeded */
    bool reconcile_done;
    edge_status reconcile_status;
    uint64_t reconcile_last;

    struct lease_watch *watches;
    uint32_t watch_count;

    SRWLOCK fwstate_lock;
    bool fwstate_valid;
    ULONGLONG fwstate_tick;
    edge_fw_state fwstate;
};

/* Why a lease ends (selects the audit kind). */
enum lm_end_reason {
    LM_END_RELEASED = 0,
    LM_END_REVOKED = 1,
    LM_END_EXPIRED = 2,
    LM_END_CLIENT_EXITED = 3,
    LM_END_PURGED = 4
};

/* ---- lease_config.c ---- */

/* Corrects out-of-range values (0 or above the protocol maximum) to safe ones. */
void lm_config_fix(struct leases_config *cfg);

/*
 * Does CFG still permit lease L's scope (Mode, AllowedProtocols, AllowedPorts)?  Pure and cheap:
 * no hashing, no allocation.  When not, why (cap bytes) names the value, e.g. "Mode is Off".
 */
bool lm_config_permits(const struct leases_config *cfg, const edge_lease_info *l, char *why,
                       size_t cap);

/* ---- lease_support.c ---- */

uint64_t lm_now(void);    /* unix seconds */
uint64_t lm_now_ms(void); /* unix milliseconds */

/* Persists the table (lock held exclusively).  Clears/sets dirty.  EDGE_OK or EDGE_E_STORAGE. */
edge_status lm_persist(struct leases *m);

/*
 * Persists a renewal of OLD (the lease as it was before; lock held exclusively).  A renewal that
 * moved the expiry later is a deferred save (store_save_deferred: on disk within STORE_DEFER_MS,
 * flushed at leases_destroy): a crash before then only leaves the previous expiry on disk, which
 * the lease had already been granted; the client learns it by re-validating after the restart
 * (new epoch), and expiry ends the lease if that time has passed.  A renewal that shortened the
 * expiry is saved synchronously (lm_persist), so a crash can never lengthen a lease.
 * EDGE_OK, or EDGE_E_STORAGE only from a synchronous save (then as lm_persist).
 */
edge_status lm_persist_renewal(struct leases *m, const edge_lease_info *old);

/* Sets the result; detail is a printf format (may be NULL). */
void lm_result(struct leases_result *res, edge_status st, const char *fmt, ...);
void lm_result_fw(struct leases_result *res, const edge_fw_result *fw, const char *what);

/* The string SID of a caller (ASCII), into out (EDGE_LEASE_SID_MAX_LEN + 1).  False if unusable. */
bool lm_caller_sid(const struct caller_identity *caller, char *out, size_t cap);

/* May CALLER see/act on LEASE?  Owner (same SID) or administrator. */
bool lm_caller_may(const struct caller_identity *caller, const char *caller_sid,
                   const edge_lease_info *lease);

/* Wire state of a lease given the current ineffective bits. */
uint8_t lm_wire_state(edge_lease_state st, uint32_t ineffective);

/* A view of the given leases (lock held at least shared).  NULL on no memory. */
struct leases_view *lm_view_build(const edge_lease_info *const *leases, uint32_t count,
                                  uint32_t ineffective);

/* Encoded size of one lease record inside a LIST. */
size_t lm_record_size(const edge_lease_info *l);

/*
 * Warnings and ineffective bits from the cached state (refreshing it if older than max age);
 * why (may be NULL) receives the explanation when the rule would be ineffective.
 */
uint32_t lm_current_warnings(struct leases *m, uint32_t *ineffective, char *why, size_t why_size);

/* One audit event.  Every pointer may be NULL. */
struct lm_audit_event {
    audit_kind kind;
    edge_status status;
    const char *detail;
    const struct caller_identity *caller; /* NULL: service-originated; the lease's owner is used */
    const edge_lease_info *lease;
    const uint8_t *lease_id;  /* when lease is NULL */
    const wchar_t *rule_name; /* when the rule has no lease (orphans) */
    const struct leases_request *req;
    const char *verb;
    uint32_t lease_seconds;
    bool has_hresult;
    uint32_t hresult;
};
void lm_audit(struct leases *m, const struct lm_audit_event *ev);

/* Duplicates a table lease into malloc'd storage (strings included); free with free(). */
edge_lease_info *lm_lease_dup(const edge_lease_info *l);

/*
 * Puts a lease back exactly as OLD describes it (rollback of a change that could not be
 * persisted).  Lock held exclusively.  OLD must not point into the table (use lm_lease_dup).
 */
void lm_table_restore(struct leases *m, const edge_lease_info *old);

/* ---- lease_end.c ---- */

/*
 * Ends lease ID for REASON.  The caller holds the gate (shared or exclusive), not the lock.
 * CALLER (may be NULL) is audited, and when check_owner is set must own the lease or be an admin
 * (else EDGE_E_NOT_FOUND).  With require_persist (release, revoke) a failed persist of ENDING
 * restores the lease and returns EDGE_E_STORAGE; otherwise the end proceeds with the store marked
 * dirty.  An EXPIRED end of a lease renewed meanwhile does nothing.  res may be NULL.
 */
edge_status lm_end_locked(struct leases *m, const uint8_t id[EDGE_LEASE_ID_LEN],
                          enum lm_end_reason reason, const struct caller_identity *caller,
                          bool check_owner, const char *detail, bool require_persist,
                          struct leases_result *res);

/* lm_end_locked with the gate taken shared around it. */
edge_status lm_end_lease(struct leases *m, const uint8_t id[EDGE_LEASE_ID_LEN],
                         enum lm_end_reason reason, const struct caller_identity *caller,
                         bool check_owner, const char *detail, bool require_persist,
                         struct leases_result *res);

/*
 * Removes the rule of the ENDING lease LEASE (a copy, not a table pointer), then the lease, and
 * persists.  Gate held by the caller.  Returns the firewall status; on failure the lease stays
 * ENDING for reconcile.
 */
edge_status lm_finish_ending(struct leases *m, const edge_lease_info *lease,
                             const struct caller_identity *caller, edge_fw_result *fwres);

/* ---- lease_timers.c ---- */

edge_status lm_timers_create(struct leases *m);
/* Stops and frees the expiry timer and every watch, waiting for running callbacks. */
void lm_timers_destroy(struct leases *m);
/* Re-arms the expiry timer for the earliest expiry (lock held exclusively or shared). */
void lm_expiry_rearm(struct leases *m);
/* Starts watching CALLER's process (non-KEEP lease granted).  Lock NOT held. */
void lm_watch_process(struct leases *m, const struct caller_identity *caller);

/* ---- lease_reconcile.c ---- */

edge_status lm_reconcile_create(struct leases *m);
void lm_reconcile_destroy(struct leases *m);
/* Schedules the next pass after the back-off (failure) or the interval (success). */
void lm_reconcile_schedule(struct leases *m, bool failed);

#endif /* EDGE_SVC_LEASES_INTERNAL_H */
