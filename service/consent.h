/*
 * Consent: pending requests waiting for an approver, and remembered decisions (docs/policy.md
 * "Consent").  The policy engine (edge_policy_decide) answers EDGE_PENDING_CONSENT; this module
 * keeps the request, lets an approver decide it, and hands the decisions back to the engine as
 * edge_consent_record input.  The engine stays the single place where a request is decided.
 *
 * Pending entry: id (16 random bytes, BCryptGenRandom), requester (user SID, canonical image
 * path, image SHA-256, session id), scope (protocol, ports, seconds, flags), created, expires
 * (created + ConsentTimeoutSeconds), state WAITING / APPROVED / DENIED, optionally the id of the
 * lease the APPROVE verb created.  The same requester re-sending the identical request (the
 * client's poll, docs/protocol.md §9.5) matches the existing entry instead of creating another.
 * Caps: max_pending (all users) and max_pending_per_user WAITING entries; beyond them
 * consent_submit answers EDGE_E_QUOTA.
 *
 * Decisions: approve/deny set the entry's state (and keep it CONSENT_OUTCOME_SECONDS so the
 * requester's next poll learns the outcome) and, when remember_seconds > 0, add a remembered
 * decision for the application identity (image SHA-256 AND canonical path) and scope (protocol
 * and the requested port range), expiring after remember_seconds.  Decisions by an administrator
 * apply to every user; a decision taken in the interactive-user prompt applies only to that user.
 * consent_records returns both the remembered decisions and the decided pending entries (the
 * latter scoped to the requester) in the engine's format.  At most max_decisions are kept; when
 * full, the one expiring first is dropped.  consent_revoke removes remembered decisions by
 * application or all of them.
 *
 * The REQUEST verb's use, in order (see the report / docs/policy.md "Consent"):
 *   1. consent_take_lease      an APPROVE already created the lease: reply with it, done
 *   2. consent_records         -> edge_policy_decide(..., recs->items, recs->count, now, &d)
 *   3. ALLOW or CONSENT_DENIED: consent_settle (drops the decided entry once delivered)
 *      PENDING: consent_submit -> reply EDGE_PENDING_CONSENT with info.id, retry_after
 * APPROVE verb: consent_approve, create the lease from the returned entry, consent_attach_lease.
 * DENY verb: consent_deny.  PENDING verb: consent_list.  STATUS: consent_pending_count.
 *
 * Audit: this module emits request_pending_consent (new entry only), consent_approved and
 * consent_denied (with the approver in the detail); callers must not emit them again.
 *
 * PERSISTENCE: <dir>\consent.bin, replaced atomically (temporary consent.tmp-<pid>-<n> written,
 * FlushFileBuffers, MoveFileExW REPLACE_EXISTING | WRITE_THROUGH) after every change, created
 * with the lease store's protected DACL (store.h STORE_FILE_SDDL).  Format version 1, all
 * integers little-endian:
 *   Header, 64 bytes: 0 magic "EDGECONS" | 8 u32 version 1 | 12 u32 flags 0 | 16 u64 body length
 *     | 24 u32 pending count | 28 u32 decision count | 32 SHA-256 over header [0,32) + body.
 *   Pending record: 0 u32 length of what follows | 4 u8 type 1 | 5 u8 state 1..3 | 6 u8 protocol
 *     | 7 u8 bits (0 has_seconds, 1 has_lease) | 8 id[16] | 24 sha256[32] | 56 u16 port_lo
 *     | 58 u16 port_hi | 60 u32 seconds | 64 u32 lease flags | 68 u32 session | 72 u64 created
 *     | 80 u64 expires | 88 lease_id[16] | 104 u16 sid length | 106 u16 path length | 108 SID
 *     (ASCII) then path (UTF-8, canonical).
 *   Decision record: 0 u32 length | 4 u8 type 2 | 5 u8 approved 0/1 | 6 u8 protocol | 7 u8 bits
 *     (0 user-scoped: a SID follows) | 8 sha256[32] | 40 u16 port_lo | 42 u16 port_hi
 *     | 44 u64 created | 52 u64 expires | 60 u16 sid length (0 unless user-scoped)
 *     | 62 u16 path length | 64 SID then path.
 * A file that fails any check (size, magic, version, checksum, lengths, field values, counts
 * above the caps) is renamed aside to consent.bin.corrupt-<n> and the module starts empty; the
 * load report says so.  Expired entries are dropped at load.
 *
 * Thread-safety: every function may be called from any thread (one SRW lock inside; the file is
 * written under it).  Times are unix seconds passed in by the caller.
 */
#ifndef EDGE_SVC_CONSENT_H
#define EDGE_SVC_CONSENT_H

#include <windows.h>

#include <stdbool.h>
#include <stdint.h>

#include "audit.h"
#include "edge/policy.h"
#include "edge/protocol.h"
#include "edge/status.h"

#define CONSENT_FILE_NAME                    L"consent.bin"
#define CONSENT_TMP_PREFIX                   L"consent.tmp-"
#define CONSENT_DEFAULT_MAX_PENDING          256u
#define CONSENT_DEFAULT_MAX_PENDING_PER_USER 8u
#define CONSENT_DEFAULT_MAX_DECISIONS        4096u
#define CONSENT_HARD_MAX_PENDING             4096u /* caps on what a file may hold */
#define CONSENT_HARD_MAX_DECISIONS           16384u
#define CONSENT_MAX_FILE_BYTES               (96u * 1024u * 1024u)
#define CONSENT_OUTCOME_SECONDS              600u /* a decided entry waits this long for a poll */
#define CONSENT_HEADER_LEN                   64u
#define CONSENT_MAX_PROMPTS                  4u /* prompts on screen at once */

typedef enum consent_state {
    CONSENT_WAITING = 1,
    CONSENT_APPROVED = 2,
    CONSENT_DENIED = 3
} consent_state;

/* What a request asks for (the engine's edge_policy_request, without the signature). */
struct consent_scope {
    uint8_t protocol; /* EDGE_IPPROTO_TCP / _UDP */
    uint16_t port_lo;
    uint16_t port_hi;
    bool has_seconds;
    uint32_t seconds;
    uint32_t flags;
};

/* Who asks: user SID "S-1-...", canonical UTF-8 image path, image SHA-256 (all required). */
struct consent_requester {
    const char *user_sid;
    const char *image_path;
    const uint8_t *image_sha256;
    DWORD session_id; /* for the interactive prompt */
};

/* A copy of one pending entry. */
struct consent_pending_info {
    uint8_t id[EDGE_ID_SIZE];
    char user_sid[EDGE_MAX_SID + 1];
    char image_path[EDGE_MAX_PATH + 1];
    uint8_t image_sha256[EDGE_SHA256_SIZE];
    DWORD session_id;
    struct consent_scope scope;
    uint64_t created;
    uint64_t expires;
    consent_state state;
    bool has_lease;
    uint8_t lease_id[EDGE_ID_SIZE];
    bool created_now; /* consent_submit: this call created the entry */
};

/* Remembered decisions and decided pending entries, in the engine's format, with storage. */
struct consent_records {
    edge_consent_record *items;
    size_t count;
};

/* Shows a yes/no prompt in a session; *response receives IDYES, IDNO, IDTIMEOUT, ... */
typedef DWORD (*consent_prompt_fn)(DWORD session, const wchar_t *title, const wchar_t *text,
                                   DWORD timeout_seconds, DWORD *response);

struct consent_config {
    const wchar_t *dir;            /* the state directory (store_open has created and vetted it) */
    audit_log *audit;              /* may be NULL */
    uint32_t max_pending;          /* 0: default; at most CONSENT_HARD_MAX_PENDING */
    uint32_t max_pending_per_user; /* 0: default */
    uint32_t max_decisions;        /* 0: default; at most CONSENT_HARD_MAX_DECISIONS */
    consent_prompt_fn prompt;      /* NULL: consent_prompt_wts (tests inject their own) */
    /* The active console session; NULL: WTSGetActiveConsoleSessionId (tests inject). */
    DWORD(WINAPI *console_session)(void);
};

struct consent_load_report {
    bool first_start;   /* no file */
    bool corrupt;       /* file rejected, set aside, started empty */
    const char *reason; /* static text when corrupt */
    uint32_t pending_loaded;
    uint32_t decisions_loaded;
    uint32_t expired_dropped;
    DWORD win32_error; /* open failure */
};

struct consent;

/*
 * Opens the store in cfg->dir (loading consent.bin; see above).  *out NULL on entry and failure;
 * report (required) always filled.  now: unix seconds (to drop expired entries).
 * Returns EDGE_OK, EDGE_E_BAD_REQUEST, EDGE_E_NO_MEMORY or EDGE_E_STORAGE (the file exists but
 * cannot be read, or a corrupt one cannot be set aside).
 */
edge_status consent_open(const struct consent_config *cfg, uint64_t now, struct consent **out,
                         struct consent_load_report *report);

/* Stops accepting prompt answers and frees (prompt threads still on screen finish on their own
 * and then release the object).  NULL is ignored. */
void consent_close(struct consent *c);

/* Parameters of consent_submit taken from the effective policy snapshot. */
struct consent_submit_params {
    uint32_t timeout_seconds;  /* ConsentTimeoutSeconds */
    uint32_t remember_seconds; /* ConsentRememberSeconds (for the prompt's answer) */
    bool prompt_user;          /* ConsentBy = InteractiveUser */
};

/*
 * Creates a pending entry for the request, or returns the existing one of the same requester with
 * the identical scope (any state).  A new entry is persisted and audited, and when
 * params->prompt_user and the requester sits at the active console session, a prompt is shown
 * from a worker thread.  Returns EDGE_OK (*out filled), EDGE_E_QUOTA (caps), EDGE_E_BAD_REQUEST,
 * EDGE_E_NO_MEMORY or EDGE_E_INTERNAL (no random id).  A failed save is logged and audited
 * (state_write_failed) but does not fail the request.
 */
edge_status consent_submit(struct consent *c, const struct consent_requester *who,
                           const struct consent_scope *scope,
                           const struct consent_submit_params *params, uint64_t now,
                           struct consent_pending_info *out);

/*
 * Approves / denies WAITING entry id.  approver: text for the audit detail (e.g. the admin's SID);
 * user_scoped: the remembered decision applies to the requester only (interactive prompt).
 * reason (deny; may be NULL) goes to the audit detail.  *out (may be NULL) receives the entry
 * after the change.  Returns EDGE_OK, EDGE_E_NOT_FOUND (unknown, expired or already decided).
 */
edge_status consent_approve(struct consent *c, const uint8_t id[EDGE_ID_SIZE], const char *approver,
                            bool user_scoped, uint32_t remember_seconds, uint64_t now,
                            struct consent_pending_info *out);
edge_status consent_deny(struct consent *c, const uint8_t id[EDGE_ID_SIZE], const char *approver,
                         const char *reason, bool user_scoped, uint32_t remember_seconds,
                         uint64_t now, struct consent_pending_info *out);

/* Records the lease the APPROVE verb created for APPROVED entry id.  EDGE_OK / EDGE_E_NOT_FOUND. */
edge_status consent_attach_lease(struct consent *c, const uint8_t id[EDGE_ID_SIZE],
                                 const uint8_t lease_id[EDGE_ID_SIZE]);

/* When the requester's identical request has an APPROVED entry carrying a lease: copies the lease
 * id, removes the entry, returns EDGE_OK.  Otherwise EDGE_E_NOT_FOUND. */
edge_status consent_take_lease(struct consent *c, const struct consent_requester *who,
                               const struct consent_scope *scope, uint64_t now,
                               uint8_t lease_id[EDGE_ID_SIZE]);

/* Removes the requester's decided (APPROVED / DENIED) entry for the identical request, once its
 * outcome was delivered.  Returns true when one was removed. */
bool consent_settle(struct consent *c, const struct consent_requester *who,
                    const struct consent_scope *scope);

/* Unexpired remembered decisions + decided pending entries.  *out NULL on entry; free with
 * consent_records_free.  Returns EDGE_OK or EDGE_E_NO_MEMORY. */
edge_status consent_records(struct consent *c, uint64_t now, struct consent_records **out);
void consent_records_free(struct consent_records *r);

/* WAITING, unexpired entries, oldest first.  *items: malloc'd (free()); *count.  EDGE_OK or
 * EDGE_E_NO_MEMORY. */
edge_status consent_list(struct consent *c, uint64_t now, struct consent_pending_info **items,
                         size_t *count);

/* Number of WAITING unexpired entries (STATUS reply). */
uint32_t consent_pending_count(struct consent *c, uint64_t now);

/* Removes remembered decisions for the application (image_path, compared ASCII-case-insensitively,
 * and/or image_sha256; both NULL: all).  Returns the number removed. */
size_t consent_revoke(struct consent *c, const char *image_path, const uint8_t *image_sha256);

/* Drops expired entries and decisions now (also done by every call).  Returns how many. */
size_t consent_expire(struct consent *c, uint64_t now);

/* Win32 error of the last failed save, ERROR_SUCCESS after a good one. */
DWORD consent_last_save_error(const struct consent *c);

/* ---- consent_prompt.c ---- */

/* The real prompt: WTSSendMessageW(MB_YESNO, timeout) in `session`.  Returns a Win32 error. */
DWORD consent_prompt_wts(DWORD session, const wchar_t *title, const wchar_t *text,
                         DWORD timeout_seconds, DWORD *response);

/* Internal (consent.c -> consent_prompt.c): starts a worker thread for entry id. */
void consent_prompt_start(struct consent *c, const struct consent_pending_info *entry,
                          uint32_t timeout_seconds, uint32_t remember_seconds);

/* Internal (consent_prompt.c -> consent.c): reference counting for prompt threads, and the
 * configured prompt functions. */
bool consent_retain_for_prompt(struct consent *c);
void consent_release(struct consent *c);
consent_prompt_fn consent_prompt_function(const struct consent *c);
DWORD consent_console_session(const struct consent *c);
bool consent_is_closed(struct consent *c);

/* Waits until no prompt thread of c is running (tests), at most timeout_ms.  True when idle. */
bool consent_wait_prompts(struct consent *c, DWORD timeout_ms);

#endif /* EDGE_SVC_CONSENT_H */
