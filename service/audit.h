/*
 * The audit trail: every decision and every change, as JSON lines in a file and as Event Log
 * entries with a distinct event id per kind of event.
 *
 * File: <directory>\audit.jsonl (default directory %ProgramData%\EdgeBroker), one JSON object per
 * line, UTF-8.  When a line would take audit.jsonl past max_file_bytes (default 10 MiB) the files
 * rotate: audit.jsonl -> audit.1.jsonl -> ... -> audit.<max_rotated_files>.jsonl (default 5), the
 * oldest is deleted.  The files carry a protected DACL: SYSTEM and Administrators full control,
 * nothing for users (the trail names other users' programs).
 *
 * Record fields (every key is always present; null when it does not apply):
 *   time          UTC ISO 8601 with milliseconds, "2024-05-01T12:00:00.123Z" (when emitted)
 *   seq           per-process record number, unique and increasing (a gap means lost records)
 *   kind          stable name, e.g. "request_granted" (audit_kind_name)
 *   event_id      the Event Log event id of the kind (table in audit.c and messages.mc)
 *   severity      "info" | "warning" | "error"
 *   decision      "granted" | "denied" | "pending" | "approved" | null
 *   status        edge_status name ("EDGE_E_DENIED"), status_code its number
 *   detail        free text or null
 *   caller_sid    string SID or null;  pid  client process id or null
 *   image_path    caller's executable or null;  image_sha256  64 hex digits or null
 *   request       null or {"verb","protocol" ("tcp"|"udp"|decimal),"ports" (["80","1000-2000"]),
 *                 "lease_seconds","flags"}
 *   lease_id      32 hex digits or null;  rule_name  firewall rule name or null
 *   lease_image_path, lease_image_sha256
 *                 the executable the lease (and its rule) is for, or null; differs from
 *                 image_path when an administrator acts for another executable
 *   hresult       "0x8007xxxx" or null (firewall operations)
 * plus, only when the value had to be altered: "<field>_lossy": true (UTF-16 with unpaired
 * surrogates, converted with U+FFFD) or "detail_invalid_utf8": true (detail dropped), and in
 * audit_records_lost records "records_lost": N.
 *
 * Threads: audit_emit is thread-safe and cheap.  It formats the record in the caller's thread and
 * appends it to a bounded in-memory queue; one writer thread drains the queue into the file and
 * the Event Log.  The queue (rather than a lock around the file) keeps disk writes, rotation and
 * the Event Log RPC off the pipe workers' path and lets the writer batch its flushes.  When the
 * queue is full a caller waits at most enqueue_wait_ms for room; after that the record is dropped.
 * Dropped records, records that failed to format and lines the file refused are counted, never
 * silent: after the batch in which they happened the writer writes an "audit_records_lost"
 * record (event 1900) carrying the count, and the seq gap shows where.
 *
 * Durability: each line is written with its own WriteFile as soon as the writer dequeues it, so a
 * crash of the service loses only records still in the queue (normally none or the last few
 * emitted within the same millisecond; at most queue_max_records).  FlushFileBuffers runs at most
 * flush_interval_ms (default 1 s) after a write, at rotation, on audit_flush and on audit_close, so
 * a crash of Windows itself loses at most about that much more.
 */
#ifndef EDGE_SVC_AUDIT_H
#define EDGE_SVC_AUDIT_H

#include <windows.h>

#include <stdbool.h>
#include <stdint.h>

/* Kinds of audit record; the order is not stable, the names and event ids are. */
typedef enum audit_kind {
    AUDIT_SERVICE_START,
    AUDIT_SERVICE_STOP,
    AUDIT_REQUEST_GRANTED,
    AUDIT_REQUEST_DENIED,
    AUDIT_REQUEST_PENDING_CONSENT,
    AUDIT_CONSENT_APPROVED,
    AUDIT_CONSENT_DENIED,
    AUDIT_LEASE_RENEWED,
    AUDIT_LEASE_RELEASED,
    AUDIT_LEASE_EXPIRED,
    AUDIT_LEASE_CLIENT_EXITED,
    AUDIT_LEASE_REVOKED,
    AUDIT_RULE_CREATED,
    AUDIT_RULE_REMOVED,
    AUDIT_FIREWALL_ERROR,
    AUDIT_RECONCILE_REMOVED_ORPHAN,
    AUDIT_RECONCILE_RESTORED_RULE,
    AUDIT_RECONCILE_REPAIRED_RULE,
    AUDIT_POLICY_LOADED,
    AUDIT_POLICY_VALUE_MALFORMED,
    AUDIT_STATE_RECOVERED, /* state file recovered from the previous generation */
    AUDIT_STATE_WRITE_FAILED,
    AUDIT_CLIENT_DROPPED, /* verbose only: protocol violation / timeout / rate limit */
    AUDIT_PING,           /* verbose only: status/ping requests */
    AUDIT_RECORDS_LOST,   /* written by the audit writer itself */
    AUDIT_EXPLAIN,        /* verbose only: a decision explained (nothing created) */
    AUDIT_KIND_COUNT_
} audit_kind;

typedef enum audit_level {
    AUDIT_LEVEL_MINIMAL = 0, /* decisions and changes */
    AUDIT_LEVEL_VERBOSE = 1  /* also client drops and pings */
} audit_level;

typedef struct audit_port_range {
    uint16_t first;
    uint16_t last;
} audit_port_range;

/* The request a record is about, as the service understood it. */
typedef struct audit_request {
    const char *verb;              /* protocol verb name (UTF-8), or NULL */
    uint8_t protocol;              /* IANA protocol number: 6 tcp, 17 udp */
    const audit_port_range *ports; /* port_count entries */
    uint32_t port_count;
    uint32_t lease_seconds;
    uint32_t flags;
} audit_request;

/* One event.  Every pointer may be NULL (written as null); the record is copied by audit_emit. */
typedef struct audit_record {
    audit_kind kind;
    uint32_t status;             /* edge_status (edge/status.h) */
    const char *detail;          /* UTF-8 free text */
    const wchar_t *caller_sid;   /* string SID, e.g. from ConvertSidToStringSidW */
    DWORD pid;                   /* client process id; 0 = none */
    const wchar_t *image_path;   /* caller's executable */
    const uint8_t *image_sha256; /* 32 bytes */
    const audit_request *request;
    const uint8_t *lease_id; /* 16 bytes */
    const wchar_t *rule_name;
    const wchar_t *lease_image_path;   /* the executable the lease is for */
    const uint8_t *lease_image_sha256; /* 32 bytes */
    bool has_hresult;
    HRESULT hresult;
} audit_record;

/* Defaults, set by audit_config_init. */
#define AUDIT_DEFAULT_MAX_FILE_BYTES    (10u * 1024u * 1024u)
#define AUDIT_DEFAULT_MAX_ROTATED_FILES 5u
#define AUDIT_DEFAULT_QUEUE_MAX_RECORDS 4096u
#define AUDIT_DEFAULT_ENQUEUE_WAIT_MS   100u
#define AUDIT_DEFAULT_FLUSH_INTERVAL_MS 1000u
#define AUDIT_DEFAULT_EVENT_SOURCE      L"EdgeBroker"
/* Largest formatted record; a larger one is replaced by a record saying so. */
#define AUDIT_MAX_RECORD_BYTES (256u * 1024u)

typedef struct audit_config {
    const wchar_t *directory;    /* NULL: %ProgramData%\EdgeBroker */
    uint64_t max_file_bytes;     /* >= 1 */
    uint32_t max_rotated_files;  /* >= 1 */
    const wchar_t *event_source; /* NULL: no Event Log (tests); the service uses the default */
    audit_level level;
    uint32_t queue_max_records; /* >= 1 */
    uint32_t enqueue_wait_ms;   /* 0: never wait, drop at once when full */
    uint32_t flush_interval_ms;
} audit_config;

typedef struct audit_stats {
    uint64_t emitted;         /* records accepted into the queue */
    uint64_t written;         /* lines written to the file */
    uint64_t lost;            /* dropped (queue full, no memory) or refused by the file */
    uint64_t eventlog_errors; /* ReportEventW failures (not counted as lost) */
    uint32_t rotations;
    uint32_t rotate_failures;
} audit_stats;

typedef struct audit_log audit_log;

/* Fills the defaults above; event_source = AUDIT_DEFAULT_EVENT_SOURCE, level minimal. */
void audit_config_init(audit_config *cfg);

/*
 * Opens the trail: creates the directory if needed, opens audit.jsonl, registers the event source
 * handle (when cfg->event_source) and starts the writer thread.  *out = NULL on entry.  Returns a
 * Win32 error; ERROR_INVALID_PARAMETER for out-of-range configuration.
 */
DWORD audit_open(const audit_config *cfg, audit_log **out);

/* Writes everything still queued, flushes, stops the writer and frees.  NULL is a no-op. */
void audit_close(audit_log *log);

/* Changes the detail level (policy reload); thread-safe. */
void audit_set_level(audit_log *log, audit_level level);

/*
 * Records one event; thread-safe; preserves GetLastError.  Returns true when the record was queued
 * or is below the current level, false when it was lost (counted; see above) or log is NULL.
 */
bool audit_emit(audit_log *log, const audit_record *rec);

/*
 * Waits until every record queued before the call has been handled (written, or counted lost when
 * the file refused it) and the file flushed to disk.  Returns ERROR_SUCCESS or WAIT_TIMEOUT.
 */
DWORD audit_flush(audit_log *log, DWORD timeout_ms);

void audit_get_stats(audit_log *log, audit_stats *out);

/* Stable name ("lease_expired"), event id (1202), ReportEventW type and minimum level of a kind;
 * "unknown" / 0 / EVENTLOG_INFORMATION_TYPE / minimal for values out of range. */
const char *audit_kind_name(audit_kind kind);
DWORD audit_kind_event_id(audit_kind kind);
WORD audit_kind_event_type(audit_kind kind);
audit_level audit_kind_level(audit_kind kind);

/*
 * Registers the event source "EdgeBroker" under
 * HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application\EdgeBroker with EventMessageFile =
 * message_file (REG_EXPAND_SZ; the exe that carries messages.mc) and TypesSupported = error |
 * warning | information.  Needs an administrator.  Used by `edgebroker --install` and the MSI.
 * Returns a Win32 error.
 */
DWORD audit_register_event_source(const wchar_t *message_file);

/* Deletes that key; ERROR_SUCCESS when it is already gone.  Returns a Win32 error. */
DWORD audit_unregister_event_source(void);

/* The same for another source name (tests register a private one). */
DWORD audit_register_event_source_named(const wchar_t *source, const wchar_t *message_file);
DWORD audit_unregister_event_source_named(const wchar_t *source);

/* Registry path of a source's key below HKLM (for tests and the installer). */
#define AUDIT_EVENTLOG_KEY L"SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\"

#endif /* EDGE_SVC_AUDIT_H */
