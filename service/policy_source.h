/*
 * The policy source: reads the effective policy (docs/policy.md) from the registry, publishes it
 * as an immutable reference-counted snapshot, and reloads it when the keys change.
 *
 * Precedence, per value: HKLM\SOFTWARE\Policies\EdgeBroker (Group Policy) wins over
 * HKLM\SOFTWARE\EdgeBroker (local) over the default (64-bit registry view).  A value present in a
 * key is parsed with the strict parsers of edge/policy.h; when it is malformed (wrong registry
 * type, unreadable, too large, bad syntax, out of range) it is logged (warning) and audited
 * (policy_value_malformed, detail "<Name> (<source>): <reason>") and the value's DEFAULT applies
 * (not the lower-precedence key: a broken central value must not hand control back to local
 * configuration).  Loading never fails because of a value.
 *
 * Accepted registry types: REG_SZ values need REG_SZ; REG_MULTI_SZ values take REG_MULTI_SZ or a
 * REG_SZ (one entry); AllowedApplications also takes REG_EXPAND_SZ, and every entry of it has its
 * %VARIABLES% expanded (ExpandEnvironmentStringsW, the service's environment) before the pattern
 * check; REG_DWORD values need REG_DWORD of exactly 4 bytes.  A value larger than
 * POLICY_SOURCE_MAX_VALUE_BYTES is malformed without being read.
 *
 * Snapshots: policy_source_acquire returns the current snapshot with a reference taken; readers
 * decide with it without holding any lock and release it afterwards.  A reload builds a new
 * snapshot completely, then swaps the pointer (under an SRW lock held only for the swap and for
 * the acquire's pointer read + increment) and drops the source's reference to the old one, which
 * is freed when its last reader releases it.
 *
 * Live reload: a watcher thread arms RegNotifyChangeKeyValue (asynchronous, with an event) twice
 * per key: on the key itself (REG_NOTIFY_CHANGE_NAME | REG_NOTIFY_CHANGE_LAST_SET, whole subtree)
 * while it exists, and on its nearest existing ancestor (REG_NOTIFY_CHANGE_NAME, that key only),
 * which sees the key created or deleted (Wine completes no notification on a deleted key).  Each
 * registration is re-armed after it fired.  After a change the watcher waits
 * POLICY_SOURCE_SETTLE_MS for further changes (Group Policy writes many values at once),
 * re-arms, reloads, audits policy_loaded with a summary, sets the audit level from AuditLevel
 * (audit_set_level), and calls the on_change callback on the watcher thread.  When a
 * registration is refused the watcher re-reads every 30 s instead.
 *
 * Thread-safety: acquire/release/describe from any thread; open/close from one thread.
 */
#ifndef EDGE_SVC_POLICY_SOURCE_H
#define EDGE_SVC_POLICY_SOURCE_H

#include <windows.h>

#include <stdbool.h>
#include <stdint.h>

#include "audit.h"
#include "edge/policy.h"

#define POLICY_SOURCE_POLICY_KEY      L"SOFTWARE\\Policies\\EdgeBroker"
#define POLICY_SOURCE_LOCAL_KEY       L"SOFTWARE\\EdgeBroker"
#define POLICY_SOURCE_MAX_VALUE_BYTES (4u * 1024u * 1024u)
#define POLICY_SOURCE_SETTLE_MS       100u

/* One loaded effective policy.  Never modified after publication. */
struct policy_snapshot {
    volatile LONG refs;
    edge_policy policy;
    uint64_t generation; /* 1 for the first load, +1 per reload */
    uint32_t malformed;  /* values that fell back to the default because they were malformed */
    /* Per value: the source whose value was malformed (POLICY or LOCAL), or DEFAULT when none. */
    edge_policy_source malformed_in[EDGE_POLICY_V_COUNT_];
};

struct policy_source;

/* Called on the watcher thread after every reload (not after the initial load). */
typedef void (*policy_source_changed_fn)(const struct policy_snapshot *snap, void *ctx);

struct policy_source_config {
    HKEY root;                          /* NULL: HKEY_LOCAL_MACHINE */
    const wchar_t *policy_key;          /* NULL: POLICY_SOURCE_POLICY_KEY */
    const wchar_t *local_key;           /* NULL: POLICY_SOURCE_LOCAL_KEY */
    audit_log *audit;                   /* may be NULL */
    bool watch;                         /* start the watcher thread (live reload) */
    policy_source_changed_fn on_change; /* may be NULL */
    void *ctx;
};

/*
 * Loads the policy once and, when cfg->watch, starts the watcher.  *out is NULL on entry and on
 * failure.  Returns a Win32 error only for resources (memory, event, thread); registry problems
 * are never errors (see above).
 */
DWORD policy_source_open(const struct policy_source_config *cfg, struct policy_source **out);

/* Stops the watcher (waits for it) and drops the source's reference.  NULL is ignored. */
void policy_source_close(struct policy_source *s);

/* Current snapshot with a reference taken; never NULL for an open source. */
const struct policy_snapshot *policy_source_acquire(struct policy_source *s);

/* Drops a reference from policy_source_acquire.  NULL is ignored. */
void policy_snapshot_release(const struct policy_snapshot *snap);

/* Reloads now (also what the watcher calls).  Returns a Win32 error for resources only. */
DWORD policy_source_reload(struct policy_source *s);

/*
 * One-shot load without a source (edgectl-style callers, tests): fills *out (which must not hold
 * lists: it is initialised here) from the two keys under root.  malformed_in may be NULL.
 * Returns the number of malformed values.
 */
uint32_t policy_source_load(HKEY root, const wchar_t *policy_key, const wchar_t *local_key,
                            audit_log *audit, edge_policy *out,
                            edge_policy_source malformed_in[EDGE_POLICY_V_COUNT_]);

/* One POLICY reply entry (docs/protocol.md §9.16): value name, value text, source name. */
struct policy_source_entry {
    const char *name;              /* static, e.g. "MaxLeaseSeconds" */
    const char *source;            /* static: "policy", "local" or "default" */
    bool malformed;                /* a key held a malformed value; the default applies */
    const char *malformed_source;  /* static "policy"/"local" when malformed, else NULL */
    char value[EDGE_MAX_TEXT + 1]; /* edge_policy_format_value, UTF-8 */
};

/*
 * The effective value of every policy value with its source, in edge_policy_value order, for
 * `edgectl policy`.  *entries receives a malloc'd array of EDGE_POLICY_V_COUNT_ entries (free()).
 * Returns ERROR_SUCCESS, ERROR_INVALID_PARAMETER or ERROR_NOT_ENOUGH_MEMORY.
 */
DWORD policy_source_describe(const struct policy_snapshot *snap,
                             struct policy_source_entry **entries, size_t *count);

#endif /* EDGE_SVC_POLICY_SOURCE_H */
