/*
 * Firewall backend: the only part of the service that talks to Windows Firewall (COM
 * INetFwPolicy2).
 *
 * One dedicated worker thread owns COM (multi-threaded apartment) and makes every INetFwPolicy2 /
 * INetFwRules / INetFwRule call.  Every other thread submits a job through the functions below;
 * the caller blocks until the worker has finished the job or the backend's call timeout expires.
 * Nothing COM-shaped crosses this header: strings are NUL-terminated wchar_t, HRESULTs are handed
 * back as raw uint32_t next to an edge_status, lease ids are 16 bytes.
 *
 * Which firewall is reached (Windows Firewall, or the conformance double in the test Wine prefix)
 * is decided by the COM registration of CLSID_NetFwPolicy2 / CLSID_NetFwRule alone; there is no
 * test-only path in this module.
 *
 * Rules created here have the shape
 *   Name        "EdgeBroker lease <32 lowercase hex digits of the lease id>"
 *   Grouping    "EdgeBroker"
 *   Description "EdgeBroker lease <hex> owned by <owner SID>"
 *   Application the image path, Protocol TCP/UDP, LocalPorts "p" or "lo-hi", Direction in,
 *   Action allow, Profiles from the spec, EdgeTraversalOptions from the spec (INetFwRule2; falls
 *   back to EdgeTraversal TRUE), LocalUserOwner = owner SID (INetFwRule3 where present), Enabled.
 *
 * Windows rule names are not unique.  This module therefore identifies "our" rule by name AND
 * group, and removes it by renaming that very object to a fresh GUID name first (see
 * edge_fw_remove_rule).
 *
 * Results: every call returning edge_status also fills the caller's edge_fw_result (when non-NULL)
 * with the same status, the raw HRESULT of the call that failed (0 when no COM call failed), a
 * short UTF-8 message and flags.  Statuses common to every job function:
 *   EDGE_E_BAD_REQUEST          an argument is invalid (checked before any COM call)
 *   EDGE_E_NO_MEMORY            allocation failed
 *   EDGE_E_SHUTTING_DOWN        edge_fw_begin_shutdown/edge_fw_stop was called; nothing was done
 *   EDGE_E_TIMEOUT              the call timeout expired.  With EDGE_FW_RESULT_NOT_STARTED nothing
 *                               was done; with EDGE_FW_RESULT_OUTCOME_UNKNOWN the job is still
 *                               running and its effect is unknown (reconcile settles it)
 *   EDGE_E_FIREWALL_UNAVAILABLE the firewall COM server is missing or failed to load
 *   EDGE_E_FIREWALL_ACCESS      the firewall refused because the process is not elevated
 *   EDGE_E_FIREWALL_INVALID     the firewall rejected a property value (message names it)
 *   EDGE_E_FIREWALL             any other firewall failure (HRESULT kept)
 *   EDGE_E_INTERNAL             Win32 failure inside the backend itself (thread, event)
 *
 * Thread-safety: after edge_fw_start returns, all job functions and edge_fw_begin_shutdown may be
 * called concurrently from any number of threads.  edge_fw_stop must be called once, after every
 * other call on the backend has returned.
 */
#ifndef EDGE_SERVICE_FIREWALL_H
#define EDGE_SERVICE_FIREWALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

#include "edge/status.h"

#define EDGE_FW_GROUP         L"EdgeBroker"
#define EDGE_FW_NAME_PREFIX   L"EdgeBroker lease "
#define EDGE_FW_LEASE_ID_SIZE 16
/* Characters in a rule name including the terminating NUL: prefix + 32 hex + NUL. */
#define EDGE_FW_NAME_CHARS  50
#define EDGE_FW_MESSAGE_MAX 256

/* Caps applied to caller strings before any allocation or COM call. */
#define EDGE_FW_MAX_PATH_CHARS 32767
#define EDGE_FW_MAX_SID_CHARS  184

/* IP protocols accepted for rules. */
#define EDGE_FW_PROTO_TCP 6u
#define EDGE_FW_PROTO_UDP 17u

/* Profile bits (NET_FW_PROFILE_TYPE2). */
#define EDGE_FW_PROFILE_DOMAIN  0x1u
#define EDGE_FW_PROFILE_PRIVATE 0x2u
#define EDGE_FW_PROFILE_PUBLIC  0x4u
#define EDGE_FW_PROFILE_ALL     0x7FFFFFFFu

/* NET_FW_EDGE_TRAVERSAL_TYPE values. */
typedef enum edge_fw_edge_mode {
    EDGE_FW_EDGE_DENY = 0,
    EDGE_FW_EDGE_ALLOW = 1,
    EDGE_FW_EDGE_DEFER_TO_APP = 2,
    EDGE_FW_EDGE_DEFER_TO_USER = 3
} edge_fw_edge_mode;

/*
 * What one lease's rule should look like (input of add/verify) or what was read back (list).
 * As input every string is borrowed and copied by the call.  In an edge_fw_rule_list the strings
 * are owned by the list.
 */
typedef struct edge_fw_rule_spec {
    uint8_t lease_id[EDGE_FW_LEASE_ID_SIZE];
    wchar_t *image_path; /* ApplicationName; required, non-empty, < EDGE_FW_MAX_PATH_CHARS */
    wchar_t *owner_sid;  /* "S-1-5-..." string; required for add (< EDGE_FW_MAX_SID_CHARS) */
    uint32_t protocol;   /* EDGE_FW_PROTO_TCP or EDGE_FW_PROTO_UDP */
    uint16_t port_lo;    /* 1..65535 */
    uint16_t port_hi;    /* port_lo..65535; equal to port_lo for one port */
    uint32_t profiles;   /* non-empty subset of the EDGE_FW_PROFILE_* bits, or _ALL */
    uint32_t edge_mode;  /* EDGE_FW_EDGE_ALLOW or EDGE_FW_EDGE_DEFER_TO_APP */
} edge_fw_rule_spec;

/* edge_fw_result.flags */
#define EDGE_FW_RESULT_WAS_ABSENT      0x01u /* remove: there was no such rule (still success) */
#define EDGE_FW_RESULT_VANISHED        0x02u /* verify: the rule no longer exists */
#define EDGE_FW_RESULT_EDGE_FALLBACK   0x04u /* add: no INetFwRule2; EdgeTraversal TRUE was used */
#define EDGE_FW_RESULT_NO_OWNER        0x08u /* add: no INetFwRule3; LocalUserOwner not set */
#define EDGE_FW_RESULT_NOT_STARTED     0x10u /* timeout: the job was withdrawn before it ran */
#define EDGE_FW_RESULT_OUTCOME_UNKNOWN 0x20u /* timeout: the job is still running */

/* edge_fw_result.tampered and edge_fw_listed_rule.mismatch: which properties differ. */
#define EDGE_FW_FIELD_APP       0x001u
#define EDGE_FW_FIELD_PROTOCOL  0x002u
#define EDGE_FW_FIELD_PORTS     0x004u
#define EDGE_FW_FIELD_DIRECTION 0x008u
#define EDGE_FW_FIELD_ACTION    0x010u
#define EDGE_FW_FIELD_ENABLED   0x020u
#define EDGE_FW_FIELD_PROFILES  0x040u
#define EDGE_FW_FIELD_EDGE      0x080u
#define EDGE_FW_FIELD_OWNER     0x100u

typedef struct edge_fw_result {
    edge_status status;
    uint32_t hresult;                  /* HRESULT of the failing COM call; 0 when none */
    uint32_t flags;                    /* EDGE_FW_RESULT_* */
    uint32_t tampered;                 /* verify: EDGE_FW_FIELD_* that differ */
    char message[EDGE_FW_MESSAGE_MAX]; /* UTF-8, always NUL-terminated; may be empty */
} edge_fw_result;

/* One rule of the EdgeBroker group as read back by edge_fw_list_rules. */
typedef struct edge_fw_listed_rule {
    wchar_t *name;     /* owned; the rule's Name */
    bool has_lease_id; /* name is "EdgeBroker lease <32 lowercase hex>"; spec.lease_id valid */
    bool ports_parsed; /* LocalPorts was "p" or "lo-hi"; spec.port_lo/hi valid */
    bool enabled;
    bool edge_from_legacy;  /* no INetFwRule2: edge_mode derived from EdgeTraversal (ALLOW/DENY) */
    bool owner_known;       /* INetFwRule3 present; spec.owner_sid read (may be empty) */
    uint32_t direction;     /* 1 in, 2 out */
    uint32_t action;        /* 0 block, 1 allow */
    edge_fw_rule_spec spec; /* image_path / owner_sid owned, never NULL (may be empty) */
} edge_fw_listed_rule;

typedef struct edge_fw_rule_list {
    size_t count;
    edge_fw_listed_rule *rules;
} edge_fw_rule_list;

/* Effective firewall state. */
typedef enum edge_fw_tristate {
    EDGE_FW_UNKNOWN = 0,
    EDGE_FW_ON = 1,
    EDGE_FW_OFF = 2
} edge_fw_tristate;

typedef struct edge_fw_state_item {
    edge_fw_tristate state;
    uint32_t error;   /* HRESULT or Win32 error behind UNKNOWN (or behind the answer); 0 if none */
    char reason[160]; /* UTF-8, NUL-terminated, always set */
} edge_fw_state_item;

/* Index into the per-profile arrays of edge_fw_state. */
#define EDGE_FW_PROFILE_INDEX_DOMAIN  0
#define EDGE_FW_PROFILE_INDEX_PRIVATE 1
#define EDGE_FW_PROFILE_INDEX_PUBLIC  2
#define EDGE_FW_PROFILE_COUNT         3

typedef struct edge_fw_state {
    edge_fw_state_item firewall[EDGE_FW_PROFILE_COUNT];    /* ON = firewall enabled in profile */
    edge_fw_state_item local_merge[EDGE_FW_PROFILE_COUNT]; /* OFF = AllowLocalPolicyMerge=0 */
    edge_fw_state_item current;                            /* ON when current_profiles was read */
    uint32_t current_profiles; /* EDGE_FW_PROFILE_* bits; 0 when unknown */
    edge_fw_state_item teredo; /* ON = Teredo client running */
    uint16_t teredo_port;      /* from GetTeredoPort when ON via that function; else 0 */
} edge_fw_state;

/* edge_fw_state_assess bits: why a rule with the given profiles cannot work now. */
#define EDGE_FW_INEFFECTIVE_NO_PROFILE  0x1u /* rule covers none of the current profiles */
#define EDGE_FW_INEFFECTIVE_LOCAL_MERGE 0x2u /* policy ignores local rules in a current profile */
#define EDGE_FW_INEFFECTIVE_NO_TEREDO   0x4u /* Teredo is off: no edge traffic can arrive */

typedef struct edge_fw_config {
    uint32_t call_timeout_ms; /* per job; 0 = 30000 */
    uint32_t stop_timeout_ms; /* edge_fw_stop's wait for a running job; 0 = 10000 */
} edge_fw_config;

typedef struct edge_fw_backend edge_fw_backend;

/*
 * Start the backend: create the worker thread and enter the COM MTA on it.  The firewall itself
 * is reached lazily on the first job (and again after a job fails for a firewall-side reason), so
 * a missing firewall does not stop the service from starting; the first job reports it.
 * cfg may be NULL (defaults).  *out is set to NULL on entry and receives the backend on EDGE_OK;
 * release it with edge_fw_stop.  Statuses: EDGE_OK, EDGE_E_NO_MEMORY, EDGE_E_INTERNAL,
 * EDGE_E_FIREWALL (CoInitializeEx failed; HRESULT kept).  Thread-safe.
 */
edge_status edge_fw_start(const edge_fw_config *cfg, edge_fw_backend **out, edge_fw_result *res);

/*
 * Refuse new jobs (EDGE_E_SHUTTING_DOWN) and fail every queued job with EDGE_E_SHUTTING_DOWN.
 * A job already running finishes normally.  Idempotent; safe concurrently with job calls.
 */
void edge_fw_begin_shutdown(edge_fw_backend *fw);

/*
 * Shut down (as edge_fw_begin_shutdown), wait up to stop_timeout_ms for the worker to finish its
 * current job and leave COM, and free the backend.  If the worker is stuck in a COM call past
 * that time it is left to finish on its own and frees the shared state itself.  fw may be NULL.
 * Must not be called concurrently with any other call on fw.
 */
void edge_fw_stop(edge_fw_backend *fw);

/*
 * Create the rule for spec->lease_id.  Does not look for an existing rule first: lease ids are
 * random 128-bit values and the caller adds a lease's rule once (or again after verify reports it
 * vanished).  Flags: EDGE_FW_RESULT_EDGE_FALLBACK (no INetFwRule2: EdgeTraversal TRUE used, which
 * is ALLOW even when DEFER_TO_APP was asked), EDGE_FW_RESULT_NO_OWNER (no INetFwRule3).
 * Statuses: EDGE_OK or a common one above.
 */
edge_status edge_fw_add_rule(edge_fw_backend *fw, const edge_fw_rule_spec *spec,
                             edge_fw_result *res);

/*
 * Remove the rule of lease_id exactly: find the rule whose name AND group are ours, rename that
 * object to a fresh GUID-based name, then Remove that name, so a foreign rule with the same name
 * is never touched.  A rule that is already gone is EDGE_OK with EDGE_FW_RESULT_WAS_ABSENT.  If
 * Remove fails after the rename the original name is put back (best effort).
 * Statuses: EDGE_OK or a common one above.
 */
edge_status edge_fw_remove_rule(edge_fw_backend *fw, const uint8_t lease_id[EDGE_FW_LEASE_ID_SIZE],
                                edge_fw_result *res);

/*
 * As edge_fw_remove_rule, for a rule of the EdgeBroker group named `name` (e.g. one whose name
 * carries no lease id, found by edge_fw_list_rules).  name is borrowed and copied; at most 1023
 * characters (longer: EDGE_E_BAD_REQUEST).
 */
edge_status edge_fw_remove_rule_named(edge_fw_backend *fw, const wchar_t *name,
                                      edge_fw_result *res);

/*
 * Remove every rule of the EdgeBroker group (uninstall).  Enumerates once.  *removed (optional)
 * receives how many were removed, also on failure.  Statuses: EDGE_OK or a common one above.
 */
edge_status edge_fw_remove_all(edge_fw_backend *fw, size_t *removed, edge_fw_result *res);

/*
 * List the rules whose Grouping is exactly "EdgeBroker", parsed back (lease id from the name,
 * ports, profiles, edge mode, owner...).  Enumerates the collection once with _NewEnum and
 * batched IEnumVARIANT::Next: linear in the number of rules.  *out is set to NULL on entry and
 * receives a list (possibly count 0) on EDGE_OK; free it with edge_fw_rule_list_free.
 * Statuses: EDGE_OK or a common one above.
 */
edge_status edge_fw_list_rules(edge_fw_backend *fw, edge_fw_rule_list **out, edge_fw_result *res);

/* Free a list from edge_fw_list_rules; NULL is ignored.  Thread-safe (no shared state). */
void edge_fw_rule_list_free(edge_fw_rule_list *list);

/*
 * Check that the lease's rule exists and matches `expected` (app path compared
 * case-insensitively; owner only when the rule exposes INetFwRule3; without INetFwRule2 an
 * EdgeTraversal TRUE matches ALLOW and DEFER_TO_APP).  Statuses: EDGE_OK;
 * EDGE_E_RULE_TAMPERED with EDGE_FW_RESULT_VANISHED when the rule is gone, or with res->tampered
 * naming the edited properties (also named in the message); or a common one above.
 */
edge_status edge_fw_verify_rule(edge_fw_backend *fw, const edge_fw_rule_spec *expected,
                                edge_fw_result *res);

/*
 * Read the effective state: firewall on/off per profile, current profiles, AllowLocalPolicyMerge
 * policy per profile, Teredo.  Each item is ON / OFF / UNKNOWN with a reason, so a firewall that
 * cannot be reached still yields the registry and Teredo items.  *out is always filled (zeroed
 * first; on failure every item is UNKNOWN with the failure as reason).  Statuses: EDGE_OK (items
 * may still be UNKNOWN), EDGE_E_BAD_REQUEST, EDGE_E_SHUTTING_DOWN, EDGE_E_TIMEOUT,
 * EDGE_E_NO_MEMORY, EDGE_E_INTERNAL.
 */
edge_status edge_fw_read_state(edge_fw_backend *fw, edge_fw_state *out, edge_fw_result *res);

/*
 * Pure: which EDGE_FW_INEFFECTIVE_* reasons make a rule with `rule_profiles` ineffective under
 * `state` (UNKNOWN items never count).  When why is non-NULL a sentence is written there.
 * Thread-safe.
 */
uint32_t edge_fw_state_assess(const edge_fw_state *state, uint32_t rule_profiles, char *why,
                              size_t why_size);

/* Pure: write EDGE_FW_NAME_PREFIX + 32 lowercase hex of lease_id into name. Thread-safe. */
void edge_fw_rule_name(const uint8_t lease_id[EDGE_FW_LEASE_ID_SIZE],
                       wchar_t name[EDGE_FW_NAME_CHARS]);

/* Pure: parse a rule name made by edge_fw_rule_name; false for anything else. Thread-safe. */
bool edge_fw_parse_rule_name(const wchar_t *name, uint8_t lease_id[EDGE_FW_LEASE_ID_SIZE]);

#endif /* EDGE_SERVICE_FIREWALL_H */
