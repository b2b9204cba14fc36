/*
 * Authorization: the service's request path from a decoded REQUEST to a lease, a refusal or a
 * pending request, and the approver verbs.  It wires the policy engine (edge/policy.h,
 * edge_policy_decide) to its inputs and outputs:
 *
 *   policy      policy_source.h: effective policy snapshot, live reload (the lease manager's
 *               quotas, lengths and profiles follow every reload: leases_set_config)
 *   identity    the caller from the pipe (caller.h), its canonical image path and SHA-256, or for
 *               an elevated administrator's target_app that file; the verified Authenticode
 *               publisher (authenticode.h), checked only when AllowedPublishers is not empty
 *   signature   a signed_request blob: edge_sr_parse, the key from TrustedSignerKeys
 *               (edge_policy_find_key), ECDSA P-256 over edge_sr_digest (crypto.h); the engine
 *               then checks what it binds
 *   consent     consent.h: remembered decisions in, pending requests out
 *   leases      leases.h: the lease an allowed request gets
 *
 * REQUEST (authz_request), in order: identity -> snapshot -> signature -> an APPROVE already made
 * the lease (consent_take_lease: reply with it, bound to the polling process) -> consent records
 * -> edge_policy_decide -> allow: leases_grant with the decision's length, edge option (profiles
 * and quotas: the lease manager's configuration from the same policy) | pending: consent_submit,
 * EDGE_PENDING_CONSENT with the pending id and retry_after AUTHZ_POLL_SECONDS | refusal.  A
 * decided consent entry is settled once its outcome was delivered.  Every decision is audited
 * with the engine's reason and trace (request_granted by the lease manager, request_denied here;
 * request_pending_consent, consent_approved and consent_denied by consent.c, never twice).
 *
 * APPROVE creates the lease at once, for the requester (its SID and image, the scope it asked),
 * decided again by the engine on the policy in force (so a mode or port change made while the
 * request waited still applies).  The requester may be gone, so the lease is bound to no process
 * until the requester's next poll collects it (leases_adopt); from then on a lease without
 * KEEP_AFTER_EXIT ends with that process.  A lease never collected lasts its length.
 *
 * EXPLAIN runs the same decision (identity, signature, remembered decisions, engine) and creates
 * nothing: no lease, no pending request, no request_* audit record (only "explain", verbose).
 *
 * Thread-safety: every function but open/close may be called from any thread.
 */
#ifndef EDGE_SVC_AUTHZ_H
#define EDGE_SVC_AUTHZ_H

#include <windows.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "consent.h"
#include "edge/policy.h"
#include "edge/protocol.h"
#include "edge/status.h"
#include "policy_source.h"

struct caller_identity;
struct leases;
struct leases_view;
struct authz;

#define AUTHZ_POLL_SECONDS       5u    /* retry_after of EDGE_PENDING_CONSENT */
#define AUTHZ_CONSENT_FULL_RETRY 60u   /* retry_after when the pending-request caps are reached */
#define AUTHZ_AUDIT_TRACE_BYTES  4096u /* reason + trace in one audit detail, at most */

struct authz_config {
    const wchar_t *state_dir; /* required: consent.bin lives here */
    audit_log *audit;         /* may be NULL */
    /* The policy keys; NULL: HKEY_LOCAL_MACHINE, POLICY_SOURCE_POLICY_KEY, POLICY_SOURCE_LOCAL_KEY.
     * Tests name their own keys here; the service passes NULLs. */
    HKEY policy_root;
    const wchar_t *policy_key;
    const wchar_t *local_key;
    bool watch; /* live reload (the service: true) */
    /* The interactive prompt and console session (consent_config); NULL: the real ones. */
    consent_prompt_fn prompt;
    DWORD(WINAPI *console_session)(void);
};

/*
 * Opens the policy source and the consent store.  *out NULL on entry and on failure.  Returns a
 * Win32 error (resources, or the consent file unreadable: ERROR_READ_FAULT).  A corrupt
 * consent.bin is set aside and audited (state_recovered), not an error.
 */
DWORD authz_open(const struct authz_config *cfg, struct authz **out);

/* Stops the consent prompts and the policy watcher and frees.  NULL is ignored. */
void authz_close(struct authz *a);

/*
 * Hands the lease manager to authz (after leases_create) and applies the current policy to it;
 * from then on every reload does (leases_set_config, and a reconcile pass when Profiles changed).
 */
void authz_attach_leases(struct authz *a, struct leases *m);

/* The current policy snapshot (policy_source_acquire); release with policy_snapshot_release. */
const struct policy_snapshot *authz_policy(struct authz *a);

/* The policy source (tests: policy_source_reload). */
struct policy_source *authz_policy_source(struct authz *a);

/* The consent store (STATUS: consent_pending_count; tests). */
struct consent *authz_consent(struct authz *a);

/* What a verb replies besides its status. */
struct authz_outcome {
    edge_status status;
    char detail[EDGE_MAX_TEXT + 1];
    uint32_t retry_after;
    bool has_win32_error;
    uint32_t win32_error;
    struct leases_view *lease; /* EDGE_OK of request/approve: one lease; the caller frees it */
    bool has_pending_id;       /* EDGE_PENDING_CONSENT */
    uint8_t pending_id[EDGE_ID_SIZE];
};

/* REQUEST (see the top).  *out always filled; returns out->status. */
edge_status authz_request(struct authz *a, const struct caller_identity *caller,
                          const edge_lease_req *r, struct authz_outcome *out);

/*
 * EXPLAIN: the decision REQUEST r would get now, and its trace, creating nothing.  *decision
 * receives a malloc'd decision (free()) on EDGE_OK; otherwise *out says why there is none (the
 * identity could not be established).  Returns EDGE_OK or that status.
 */
edge_status authz_explain(struct authz *a, const struct caller_identity *caller,
                          const edge_lease_req *r, edge_policy_decision **decision,
                          struct authz_outcome *out);

/* APPROVE (the verb table admits elevated administrators only). */
edge_status authz_approve(struct authz *a, const struct caller_identity *admin,
                          const uint8_t id[EDGE_ID_SIZE], struct authz_outcome *out);

/* DENY; reason (may be NULL) is reason_len bytes of UTF-8, audited. */
edge_status authz_deny(struct authz *a, const struct caller_identity *admin,
                       const uint8_t id[EDGE_ID_SIZE], const char *reason, size_t reason_len,
                       struct authz_outcome *out);

/* Unix seconds now (the clock every decision uses). */
uint64_t authz_now(void);

/* ---- authz_identity.c: the engine's inputs ---- */

/* The application and user a request is decided for.  Large: allocate it. */
struct authz_subject {
    char sid[EDGE_MAX_SID + 1];       /* the caller's user SID */
    char own_path[EDGE_MAX_PATH + 1]; /* the caller's canonical image path */
    char path[EDGE_MAX_PATH + 1];     /* the image the rule is for (own or target_app) */
    uint8_t sha256[EDGE_SHA256_SIZE]; /* of path, when have_hash */
    bool have_hash;
    bool other_app;                    /* target_app names another executable */
    char publisher[EDGE_MAX_TEXT + 1]; /* verified Authenticode subject, or "" */
    edge_policy_identity id;           /* points into this struct */
    edge_sr sr;                        /* the parsed signed request (views into the frame) */
    edge_policy_request req;           /* the engine's request; signature.fields -> sr.fields */
};

/*
 * Fills *s for caller and r under policy p: SID, canonical image paths, the target's hash (only
 * when the caller is an elevated administrator: nobody else may make the service read a file),
 * the Authenticode publisher (only when p allows publishers), the request and its signature
 * (authz_verify_signature).  Returns EDGE_OK, or EDGE_E_BAD_REQUEST / EDGE_E_NO_MEMORY with
 * detail (cap bytes) saying why.
 */
edge_status authz_subject_build(const struct caller_identity *caller, const edge_lease_req *r,
                                const edge_policy *p, struct authz_subject *s, char *detail,
                                size_t cap);

/*
 * The signature state the engine needs for blob (may be empty: NONE): parse strictly, find the
 * key in p, verify ECDSA P-256 over the body's SHA-256.  parsed receives the parse (views into
 * blob); out->fields points into it when VERIFIED.
 */
void authz_verify_signature(const edge_bytes *blob, const edge_policy *p, edge_sr *parsed,
                            edge_policy_signature *out);

/* The caller's user SID as "S-1-..." into out (cap >= EDGE_MAX_SID + 1).  False if unusable. */
bool authz_sid_string(const struct caller_identity *caller, char *out, size_t cap);

#endif /* EDGE_SVC_AUTHZ_H */
