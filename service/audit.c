/* The audit trail: record formatting, the bounded queue and its writer thread (see audit.h). */
#include "audit.h"

#include "audit_file.h"
#include "log.h"

#include "edge/json.h"
#include "edge/status.h"
#include "edge/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

/* Most records fit here, so formatting needs no heap beyond the queue node. */
#define AUDIT_STACK_RECORD_BYTES 4096u

/* ReportEventW limits one insertion string to 31,839 characters. */
#define AUDIT_EVENT_STRING_MAX 31839

#define SHA256_BYTES   32u
#define LEASE_ID_BYTES 16u

struct audit_kind_info {
    const char *name;
    DWORD event_id; /* must match service/messages.mc */
    WORD event_type;
    audit_level level;
    const char *decision;
};

#define INFO_T  EVENTLOG_INFORMATION_TYPE
#define WARN_T  EVENTLOG_WARNING_TYPE
#define ERROR_T EVENTLOG_ERROR_TYPE
#define MIN_L   AUDIT_LEVEL_MINIMAL

static const struct audit_kind_info kind_table[AUDIT_KIND_COUNT_] = {
    [AUDIT_SERVICE_START] = {"service_start", 1000, INFO_T, MIN_L, NULL},
    [AUDIT_SERVICE_STOP] = {"service_stop", 1001, INFO_T, MIN_L, NULL},
    [AUDIT_REQUEST_GRANTED] = {"request_granted", 1100, INFO_T, MIN_L, "granted"},
    [AUDIT_REQUEST_DENIED] = {"request_denied", 1101, WARN_T, MIN_L, "denied"},
    [AUDIT_REQUEST_PENDING_CONSENT] = {"request_pending_consent", 1102, INFO_T, MIN_L, "pending"},
    [AUDIT_CONSENT_APPROVED] = {"consent_approved", 1103, INFO_T, MIN_L, "approved"},
    [AUDIT_CONSENT_DENIED] = {"consent_denied", 1104, WARN_T, MIN_L, "denied"},
    [AUDIT_LEASE_RENEWED] = {"lease_renewed", 1200, INFO_T, MIN_L, NULL},
    [AUDIT_LEASE_RELEASED] = {"lease_released", 1201, INFO_T, MIN_L, NULL},
    [AUDIT_LEASE_EXPIRED] = {"lease_expired", 1202, INFO_T, MIN_L, NULL},
    [AUDIT_LEASE_CLIENT_EXITED] = {"lease_client_exited", 1203, INFO_T, MIN_L, NULL},
    [AUDIT_LEASE_REVOKED] = {"lease_revoked", 1204, WARN_T, MIN_L, NULL},
    [AUDIT_RULE_CREATED] = {"rule_created", 1300, INFO_T, MIN_L, NULL},
    [AUDIT_RULE_REMOVED] = {"rule_removed", 1301, INFO_T, MIN_L, NULL},
    [AUDIT_FIREWALL_ERROR] = {"firewall_error", 1302, ERROR_T, MIN_L, NULL},
    [AUDIT_RECONCILE_REMOVED_ORPHAN] = {"reconcile_removed_orphan", 1400, WARN_T, MIN_L, NULL},
    [AUDIT_RECONCILE_RESTORED_RULE] = {"reconcile_restored_rule", 1401, WARN_T, MIN_L, NULL},
    [AUDIT_RECONCILE_REPAIRED_RULE] = {"reconcile_repaired_rule", 1402, WARN_T, MIN_L, NULL},
    [AUDIT_POLICY_LOADED] = {"policy_loaded", 1500, INFO_T, MIN_L, NULL},
    [AUDIT_POLICY_VALUE_MALFORMED] = {"policy_value_malformed", 1501, WARN_T, MIN_L, NULL},
    [AUDIT_STATE_RECOVERED] = {"state_recovered", 1600, WARN_T, MIN_L, NULL},
    [AUDIT_STATE_WRITE_FAILED] = {"state_write_failed", 1601, ERROR_T, MIN_L, NULL},
    [AUDIT_CLIENT_DROPPED] = {"client_dropped", 1700, WARN_T, AUDIT_LEVEL_VERBOSE, NULL},
    [AUDIT_PING] = {"ping", 1701, INFO_T, AUDIT_LEVEL_VERBOSE, NULL},
    [AUDIT_RECORDS_LOST] = {"audit_records_lost", 1900, WARN_T, MIN_L, NULL},
    [AUDIT_EXPLAIN] = {"explain", 1702, INFO_T, AUDIT_LEVEL_VERBOSE, NULL},
};

static const struct audit_kind_info *kind_info(audit_kind kind)
{
    if ((unsigned)kind >= (unsigned)AUDIT_KIND_COUNT_)
        return NULL;
    return &kind_table[kind];
}

const char *audit_kind_name(audit_kind kind)
{
    const struct audit_kind_info *k = kind_info(kind);
    return k ? k->name : "unknown";
}

DWORD audit_kind_event_id(audit_kind kind)
{
    const struct audit_kind_info *k = kind_info(kind);
    return k ? k->event_id : 0;
}

WORD audit_kind_event_type(audit_kind kind)
{
    const struct audit_kind_info *k = kind_info(kind);
    return k ? k->event_type : EVENTLOG_INFORMATION_TYPE;
}

audit_level audit_kind_level(audit_kind kind)
{
    const struct audit_kind_info *k = kind_info(kind);
    return k ? k->level : AUDIT_LEVEL_MINIMAL;
}

static const char *severity_name(WORD type)
{
    if (type == EVENTLOG_ERROR_TYPE)
        return "error";
    if (type == EVENTLOG_WARNING_TYPE)
        return "warning";
    return "info";
}

/* One formatted line waiting for the writer. */
typedef struct audit_node {
    struct audit_node *next;
    audit_kind kind;
    size_t len; /* bytes of line, including the final '\n' */
    char *line; /* JSON + '\n' + NUL, in the same allocation right after the node */
} audit_node;

struct audit_log {
    audit_config cfg;
    wchar_t *directory;
    audit_file file;     /* writer thread only, after audit_open */
    bool file_failing;   /* writer thread only: the last append failed */
    HANDLE event_source; /* RegisterEventSourceW, or NULL */
    HANDLE thread;
    volatile LONG level;
    volatile LONG64 seq;

    SRWLOCK lock;                /* guards everything below */
    CONDITION_VARIABLE work_cv;  /* writer: records queued, flush requested or stopping */
    CONDITION_VARIABLE space_cv; /* emitters: the queue has room */
    CONDITION_VARIABLE done_cv;  /* audit_flush: a batch was written and flushed */
    audit_node *head, *tail;
    uint32_t count;
    bool stopping;
    bool flush_requested;
    uint64_t lost_pending; /* lost since the last audit_records_lost record */
    uint64_t flushed_upto; /* emitted count covered by the last flush */
    audit_stats stats;
};

/* UTF-16 -> UTF-8 for the file.  Unpaired surrogates (legal in NTFS names) fail the strict
 * conversion; the lenient one replaces them with U+FFFD and *lossy tells the record. */
static DWORD utf8_dup(const wchar_t *s, char **out, bool *lossy)
{
    *out = NULL;
    *lossy = false;
    if (!s)
        return ERROR_SUCCESS;
    size_t wlen = wcslen(s);
    if (wlen > AUDIT_MAX_RECORD_BYTES)
        return ERROR_BUFFER_OVERFLOW;
    DWORD flags = WC_ERR_INVALID_CHARS;
    int n = WideCharToMultiByte(CP_UTF8, flags, s, (int)wlen, NULL, 0, NULL, NULL);
    if (n <= 0 && wlen > 0 && GetLastError() == ERROR_NO_UNICODE_TRANSLATION) {
        flags = 0;
        *lossy = true;
        n = WideCharToMultiByte(CP_UTF8, flags, s, (int)wlen, NULL, 0, NULL, NULL);
    }
    if (n < 0 || (n == 0 && wlen > 0))
        return GetLastError();
    char *buf = malloc((size_t)n + 1);
    if (!buf)
        return ERROR_NOT_ENOUGH_MEMORY;
    if (n > 0 && WideCharToMultiByte(CP_UTF8, flags, s, (int)wlen, buf, n, NULL, NULL) != n) {
        DWORD err = GetLastError();
        free(buf);
        return err;
    }
    buf[n] = '\0';
    *out = buf;
    return ERROR_SUCCESS;
}

/* The record's UTF-16 strings, converted once for however many formatting attempts. */
typedef struct wide_fields {
    char *caller_sid, *image_path, *rule_name, *lease_image;
    bool sid_lossy, path_lossy, rule_lossy, lease_image_lossy;
} wide_fields;

static void wide_fields_free(wide_fields *f)
{
    free(f->caller_sid);
    free(f->image_path);
    free(f->rule_name);
    free(f->lease_image);
    memset(f, 0, sizeof(*f));
}

static DWORD wide_fields_init(wide_fields *f, const audit_record *rec)
{
    memset(f, 0, sizeof(*f));
    DWORD err = utf8_dup(rec->caller_sid, &f->caller_sid, &f->sid_lossy);
    if (err == ERROR_SUCCESS)
        err = utf8_dup(rec->image_path, &f->image_path, &f->path_lossy);
    if (err == ERROR_SUCCESS)
        err = utf8_dup(rec->rule_name, &f->rule_name, &f->rule_lossy);
    if (err == ERROR_SUCCESS)
        err = utf8_dup(rec->lease_image_path, &f->lease_image, &f->lease_image_lossy);
    if (err != ERROR_SUCCESS)
        wide_fields_free(f);
    return err;
}

static bool utf8_ok(const char *s)
{
    return edge_utf8_check((const uint8_t *)s, strlen(s)) == EDGE_UTF8_OK;
}

static void kv_converted(json_writer *w, const char *key, const char *value, bool lossy,
                         const char *lossy_key)
{
    json_kv_string(w, key, value);
    if (lossy)
        json_kv_bool(w, lossy_key, true);
}

static void kv_request(json_writer *w, const audit_request *req)
{
    if (!req) {
        json_kv_null(w, "request");
        return;
    }
    json_key(w, "request");
    json_object_begin(w);
    bool verb_ok = req->verb && utf8_ok(req->verb);
    json_kv_string(w, "verb", verb_ok ? req->verb : NULL);
    char text[16];
    if (req->protocol == 6)
        json_kv_string(w, "protocol", "tcp");
    else if (req->protocol == 17)
        json_kv_string(w, "protocol", "udp");
    else {
        snprintf(text, sizeof(text), "%u", (unsigned)req->protocol);
        json_kv_string(w, "protocol", text);
    }
    json_key(w, "ports");
    json_array_begin(w);
    for (uint32_t i = 0; req->ports && i < req->port_count; i++) {
        const audit_port_range *r = &req->ports[i];
        if (r->first == r->last)
            snprintf(text, sizeof(text), "%u", (unsigned)r->first);
        else
            snprintf(text, sizeof(text), "%u-%u", (unsigned)r->first, (unsigned)r->last);
        json_string(w, text);
    }
    json_array_end(w);
    json_kv_uint(w, "lease_seconds", req->lease_seconds);
    json_kv_uint(w, "flags", req->flags);
    json_object_end(w);
}

/* Writes the whole record; the writer's sticky status tells whether it worked. */
static json_status format_record(json_writer *w, const audit_record *rec, const wide_fields *wf,
                                 uint64_t seq, uint64_t records_lost)
{
    const struct audit_kind_info *k = kind_info(rec->kind);
    char stamp[LOG_TIMESTAMP_LEN];
    log_timestamp_utc(stamp);
    json_object_begin(w);
    json_kv_string(w, "time", stamp);
    json_kv_uint(w, "seq", seq);
    json_kv_string(w, "kind", k->name);
    json_kv_uint(w, "event_id", k->event_id);
    json_kv_string(w, "severity", severity_name(k->event_type));
    json_kv_string(w, "decision", k->decision);
    json_kv_string(w, "status", edge_status_name(rec->status));
    json_kv_uint(w, "status_code", rec->status);
    if (rec->detail && !utf8_ok(rec->detail)) {
        json_kv_null(w, "detail");
        json_kv_bool(w, "detail_invalid_utf8", true);
    } else {
        json_kv_string(w, "detail", rec->detail);
    }
    kv_converted(w, "caller_sid", wf->caller_sid, wf->sid_lossy, "caller_sid_lossy");
    if (rec->pid)
        json_kv_uint(w, "pid", rec->pid);
    else
        json_kv_null(w, "pid");
    kv_converted(w, "image_path", wf->image_path, wf->path_lossy, "image_path_lossy");
    if (rec->image_sha256)
        json_kv_hex(w, "image_sha256", rec->image_sha256, SHA256_BYTES);
    else
        json_kv_null(w, "image_sha256");
    kv_request(w, rec->request);
    if (rec->lease_id)
        json_kv_hex(w, "lease_id", rec->lease_id, LEASE_ID_BYTES);
    else
        json_kv_null(w, "lease_id");
    kv_converted(w, "rule_name", wf->rule_name, wf->rule_lossy, "rule_name_lossy");
    kv_converted(w, "lease_image_path", wf->lease_image, wf->lease_image_lossy,
                 "lease_image_path_lossy");
    if (rec->lease_image_sha256)
        json_kv_hex(w, "lease_image_sha256", rec->lease_image_sha256, SHA256_BYTES);
    else
        json_kv_null(w, "lease_image_sha256");
    if (rec->has_hresult) {
        char hr[12];
        snprintf(hr, sizeof(hr), "0x%08lx", (unsigned long)(ULONG)rec->hresult);
        json_kv_string(w, "hresult", hr);
    } else {
        json_kv_null(w, "hresult");
    }
    if (rec->kind == AUDIT_RECORDS_LOST)
        json_kv_uint(w, "records_lost", records_lost);
    return json_object_end(w);
}

static audit_node *node_from(json_writer *w, audit_kind kind)
{
    const char *text;
    size_t len;
    if (json_finish(w, &text, &len) != JSON_OK)
        return NULL;
    audit_node *node = malloc(sizeof(*node) + len + 2);
    if (!node)
        return NULL;
    node->next = NULL;
    node->kind = kind;
    node->line = (char *)(node + 1);
    memcpy(node->line, text, len);
    node->line[len] = '\n';
    node->line[len + 1] = '\0';
    node->len = len + 1;
    return node;
}

/* Formats a record into a queue node: a stack buffer first, the heap up to the record cap, and
 * for a record that exceeds even that, the record without its long strings. */
static audit_node *format_node(const audit_record *rec, uint64_t seq, uint64_t records_lost)
{
    wide_fields wf;
    audit_node *node = NULL;
    json_writer w;
    char stack_buf[AUDIT_STACK_RECORD_BYTES];
    DWORD err = wide_fields_init(&wf, rec);
    if (err == ERROR_SUCCESS) {
        json_init_fixed(&w, stack_buf, sizeof(stack_buf));
        if (format_record(&w, rec, &wf, seq, records_lost) == JSON_OK) {
            node = node_from(&w, rec->kind);
            wide_fields_free(&wf);
            return node;
        }
        json_init_growable(&w, AUDIT_MAX_RECORD_BYTES);
        if (format_record(&w, rec, &wf, seq, records_lost) == JSON_OK)
            node = node_from(&w, rec->kind);
        json_dispose(&w);
        wide_fields_free(&wf);
        if (node || json_status_of(&w) == JSON_E_NO_MEMORY)
            return node;
    } else if (err == ERROR_NOT_ENOUGH_MEMORY) {
        return NULL;
    }
    /* Too large (or unconvertible): keep the decision, drop the strings, say so. */
    audit_record small = *rec;
    small.caller_sid = NULL;
    small.image_path = NULL;
    small.rule_name = NULL;
    small.lease_image_path = NULL;
    small.detail = "audit record too large or not convertible; its strings were omitted";
    memset(&wf, 0, sizeof(wf));
    json_init_fixed(&w, stack_buf, sizeof(stack_buf));
    if (format_record(&w, &small, &wf, seq, records_lost) == JSON_OK)
        node = node_from(&w, rec->kind);
    return node;
}

/* ---- writer thread --------------------------------------------------------------------------- */

static void report_event(audit_log *log, audit_kind kind, const char *line, size_t len)
{
    if (!log->event_source)
        return;
    /* The Event Log entry carries the same JSON line as the file, without its newline. */
    int text_len = len > 0 ? (int)len - 1 : 0;
    int n = MultiByteToWideChar(CP_UTF8, 0, line, text_len, NULL, 0);
    wchar_t *wide = NULL;
    const wchar_t *text = L"(audit record too long for the Event Log; see audit.jsonl)";
    if (n > 0 && n <= AUDIT_EVENT_STRING_MAX) {
        wide = malloc(((size_t)n + 1) * sizeof(wchar_t));
        if (wide && MultiByteToWideChar(CP_UTF8, 0, line, text_len, wide, n) == n) {
            wide[n] = L'\0';
            text = wide;
        }
    }
    const wchar_t *strings[1] = {text};
    if (!ReportEventW(log->event_source, audit_kind_event_type(kind), 0, audit_kind_event_id(kind),
                      NULL, 1, 0, strings, NULL)) {
        AcquireSRWLockExclusive(&log->lock);
        log->stats.eventlog_errors++;
        ReleaseSRWLockExclusive(&log->lock);
    }
    free(wide);
}

/* Writes one line to the file and the Event Log; returns whether the file took it. */
static bool write_line(audit_log *log, audit_kind kind, const char *line, size_t len)
{
    DWORD err = audit_file_append(&log->file, line, len);
    /* Once per failure streak, not per line: a full disk must not flood the Event Log. */
    if (err != ERROR_SUCCESS && !log->file_failing)
        log_win32(LOG_ERROR, err, "audit: writing to %ls failed; counting lost records",
                  log->directory);
    else if (err == ERROR_SUCCESS && log->file_failing)
        log_msgw(LOG_INFO, L"audit: writing to %ls works again", log->directory);
    log->file_failing = err != ERROR_SUCCESS;
    report_event(log, kind, line, len);
    return err == ERROR_SUCCESS;
}

/* Tells the trail how many records were lost since the last such record. */
static uint64_t write_lost_record(audit_log *log, uint64_t lost)
{
    audit_record rec;
    memset(&rec, 0, sizeof(rec));
    rec.kind = AUDIT_RECORDS_LOST;
    rec.status = EDGE_E_BUSY;
    rec.detail = "audit records were lost (queue full, out of memory or the file refused them)";
    uint64_t seq = (uint64_t)InterlockedIncrement64(&log->seq);
    audit_node *node = format_node(&rec, seq, lost);
    bool ok = node && write_line(log, node->kind, node->line, node->len);
    free(node);
    return ok ? 0 : lost; /* still unreported */
}

static DWORD WINAPI writer_main(void *arg)
{
    audit_log *log = arg;
    ULONGLONG last_flush = GetTickCount64();
    for (;;) {
        AcquireSRWLockExclusive(&log->lock);
        while (!log->head && !log->stopping && !log->flush_requested) {
            /* Sleep forever when idle and clean; wake to flush within the interval when dirty. */
            DWORD wait = log->file.dirty ? log->cfg.flush_interval_ms : INFINITE;
            if (!SleepConditionVariableSRW(&log->work_cv, &log->lock, wait, 0))
                break;
        }
        audit_node *batch = log->head;
        log->head = log->tail = NULL;
        log->count = 0;
        uint64_t lost = log->lost_pending;
        log->lost_pending = 0;
        uint64_t batch_upto = log->stats.emitted;
        bool stopping = log->stopping;
        bool flush_now = log->flush_requested;
        log->flush_requested = false;
        ReleaseSRWLockExclusive(&log->lock);
        WakeAllConditionVariable(&log->space_cv);

        uint64_t written = 0, refused = 0;
        while (batch) {
            audit_node *next = batch->next;
            if (write_line(log, batch->kind, batch->line, batch->len))
                written++;
            else
                refused++;
            free(batch);
            batch = next;
        }
        /* Records lost before or during this batch are reported right after it. */
        uint64_t unreported = lost + refused;
        if (unreported > 0)
            unreported = write_lost_record(log, unreported);

        ULONGLONG now = GetTickCount64();
        bool flushed = false;
        if (flush_now || stopping || now - last_flush >= log->cfg.flush_interval_ms) {
            audit_file_flush(&log->file);
            last_flush = now;
            flushed = true;
        }

        AcquireSRWLockExclusive(&log->lock);
        log->stats.written += written;
        log->stats.lost += refused;
        log->lost_pending += unreported;
        log->stats.rotations = log->file.rotations;
        log->stats.rotate_failures = log->file.rotate_failures;
        if (flushed)
            log->flushed_upto = batch_upto;
        bool done = stopping && !log->head;
        ReleaseSRWLockExclusive(&log->lock);
        WakeAllConditionVariable(&log->done_cv);
        if (done)
            break;
    }
    return 0;
}

/* ---- public API ------------------------------------------------------------------------------ */

void audit_config_init(audit_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->max_file_bytes = AUDIT_DEFAULT_MAX_FILE_BYTES;
    cfg->max_rotated_files = AUDIT_DEFAULT_MAX_ROTATED_FILES;
    cfg->event_source = AUDIT_DEFAULT_EVENT_SOURCE;
    cfg->level = AUDIT_LEVEL_MINIMAL;
    cfg->queue_max_records = AUDIT_DEFAULT_QUEUE_MAX_RECORDS;
    cfg->enqueue_wait_ms = AUDIT_DEFAULT_ENQUEUE_WAIT_MS;
    cfg->flush_interval_ms = AUDIT_DEFAULT_FLUSH_INTERVAL_MS;
}

static DWORD default_directory(wchar_t **out)
{
    *out = NULL;
    DWORD n = ExpandEnvironmentStringsW(L"%ProgramData%\\EdgeBroker", NULL, 0);
    if (n == 0)
        return GetLastError();
    wchar_t *dir = malloc((size_t)n * sizeof(wchar_t));
    if (!dir)
        return ERROR_NOT_ENOUGH_MEMORY;
    if (ExpandEnvironmentStringsW(L"%ProgramData%\\EdgeBroker", dir, n) != n || wcschr(dir, L'%')) {
        free(dir);
        return ERROR_ENVVAR_NOT_FOUND;
    }
    *out = dir;
    return ERROR_SUCCESS;
}

static void audit_free(audit_log *log)
{
    audit_file_close(&log->file);
    if (log->event_source)
        DeregisterEventSource(log->event_source);
    free(log->directory);
    free(log);
}

DWORD audit_open(const audit_config *cfg, audit_log **out)
{
    DWORD err = ERROR_SUCCESS;
    audit_log *log = NULL;
    *out = NULL;
    if (!cfg || cfg->max_file_bytes == 0 || cfg->max_rotated_files == 0 ||
        cfg->queue_max_records == 0 || cfg->level > AUDIT_LEVEL_VERBOSE) {
        err = ERROR_INVALID_PARAMETER;
        goto out;
    }
    log = calloc(1, sizeof(*log));
    if (!log) {
        err = ERROR_NOT_ENOUGH_MEMORY;
        goto out;
    }
    log->cfg = *cfg;
    log->cfg.directory = NULL; /* the caller's string is not kept */
    log->cfg.event_source = NULL;
    log->level = (LONG)cfg->level;
    InitializeSRWLock(&log->lock);
    InitializeConditionVariable(&log->work_cv);
    InitializeConditionVariable(&log->space_cv);
    InitializeConditionVariable(&log->done_cv);
    log->file.handle = INVALID_HANDLE_VALUE;
    if (cfg->directory) {
        log->directory = _wcsdup(cfg->directory);
        err = log->directory ? ERROR_SUCCESS : ERROR_NOT_ENOUGH_MEMORY;
    } else {
        err = default_directory(&log->directory);
    }
    if (err != ERROR_SUCCESS)
        goto out;
    err = audit_file_open(&log->file, log->directory, cfg->max_file_bytes, cfg->max_rotated_files);
    if (err != ERROR_SUCCESS)
        goto out;
    if (cfg->event_source && *cfg->event_source) {
        log->event_source = RegisterEventSourceW(NULL, cfg->event_source);
        if (!log->event_source) {
            err = GetLastError();
            goto out;
        }
    }
    log->thread = CreateThread(NULL, 0, writer_main, log, 0, NULL);
    if (!log->thread) {
        err = GetLastError();
        goto out;
    }
    *out = log;
    log = NULL;
out:
    if (log)
        audit_free(log);
    return err;
}

void audit_close(audit_log *log)
{
    if (!log)
        return;
    AcquireSRWLockExclusive(&log->lock);
    log->stopping = true;
    ReleaseSRWLockExclusive(&log->lock);
    WakeConditionVariable(&log->work_cv);
    WakeAllConditionVariable(&log->space_cv);
    /* The writer leaves only once stopping is set and the queue is empty; enqueue refuses new
     * records once stopping is set, so nothing is left behind. */
    WaitForSingleObject(log->thread, INFINITE);
    CloseHandle(log->thread);
    audit_free(log);
}

void audit_set_level(audit_log *log, audit_level level)
{
    if (log)
        InterlockedExchange(&log->level, (LONG)level);
}

static bool enqueue(audit_log *log, audit_node *node)
{
    bool queued = false;
    AcquireSRWLockExclusive(&log->lock);
    ULONGLONG deadline = GetTickCount64() + log->cfg.enqueue_wait_ms;
    while (!log->stopping && log->count >= log->cfg.queue_max_records) {
        ULONGLONG now = GetTickCount64();
        if (now >= deadline)
            break;
        SleepConditionVariableSRW(&log->space_cv, &log->lock, (DWORD)(deadline - now), 0);
    }
    if (!log->stopping && log->count < log->cfg.queue_max_records) {
        if (log->tail)
            log->tail->next = node;
        else
            log->head = node;
        log->tail = node;
        log->count++;
        log->stats.emitted++;
        queued = true;
    } else {
        log->lost_pending++;
        log->stats.lost++;
    }
    ReleaseSRWLockExclusive(&log->lock);
    if (queued)
        WakeConditionVariable(&log->work_cv);
    else
        free(node);
    return queued;
}

bool audit_emit(audit_log *log, const audit_record *rec)
{
    DWORD saved = GetLastError();
    bool ok = false;
    if (!log || !rec || !kind_info(rec->kind))
        goto out;
    if ((LONG)audit_kind_level(rec->kind) > InterlockedCompareExchange(&log->level, 0, 0)) {
        ok = true;
        goto out;
    }
    uint64_t seq = (uint64_t)InterlockedIncrement64(&log->seq);
    audit_node *node = format_node(rec, seq, 0);
    if (!node) {
        AcquireSRWLockExclusive(&log->lock);
        log->lost_pending++;
        log->stats.lost++;
        ReleaseSRWLockExclusive(&log->lock);
        goto out;
    }
    ok = enqueue(log, node);
out:
    SetLastError(saved);
    return ok;
}

DWORD audit_flush(audit_log *log, DWORD timeout_ms)
{
    DWORD err = ERROR_SUCCESS;
    if (!log)
        return ERROR_INVALID_PARAMETER;
    ULONGLONG deadline = GetTickCount64() + timeout_ms;
    AcquireSRWLockExclusive(&log->lock);
    uint64_t target = log->stats.emitted;
    log->flush_requested = true;
    WakeConditionVariable(&log->work_cv);
    while (log->flushed_upto < target || log->flush_requested) {
        ULONGLONG now = GetTickCount64();
        if (now >= deadline) {
            err = WAIT_TIMEOUT;
            break;
        }
        SleepConditionVariableSRW(&log->done_cv, &log->lock, (DWORD)(deadline - now), 0);
    }
    ReleaseSRWLockExclusive(&log->lock);
    return err;
}

void audit_get_stats(audit_log *log, audit_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!log)
        return;
    AcquireSRWLockExclusive(&log->lock);
    *out = log->stats;
    ReleaseSRWLockExclusive(&log->lock);
}

/* ---- event source registration --------------------------------------------------------------- */

static DWORD source_key_path(const wchar_t *source, wchar_t *out, size_t cch)
{
    if (!source || !*source || wcschr(source, L'\\'))
        return ERROR_INVALID_PARAMETER;
    int r = swprintf(out, cch, L"%ls%ls", AUDIT_EVENTLOG_KEY, source);
    return (r < 0 || (size_t)r >= cch) ? ERROR_INVALID_PARAMETER : ERROR_SUCCESS;
}

DWORD audit_register_event_source_named(const wchar_t *source, const wchar_t *message_file)
{
    wchar_t path[256];
    HKEY key = NULL;
    DWORD err = source_key_path(source, path, sizeof(path) / sizeof(path[0]));
    if (err != ERROR_SUCCESS)
        goto out;
    size_t len = message_file ? wcslen(message_file) : 0;
    if (len == 0 || len > 32767) {
        err = ERROR_INVALID_PARAMETER;
        goto out;
    }
    err = (DWORD)RegCreateKeyExW(HKEY_LOCAL_MACHINE, path, 0, NULL, REG_OPTION_NON_VOLATILE,
                                 KEY_SET_VALUE, NULL, &key, NULL);
    if (err != ERROR_SUCCESS)
        goto out;
    /* REG_EXPAND_SZ so an installer may write %SystemRoot%-relative paths. */
    err = (DWORD)RegSetValueExW(key, L"EventMessageFile", 0, REG_EXPAND_SZ,
                                (const BYTE *)message_file, (DWORD)((len + 1) * sizeof(wchar_t)));
    if (err != ERROR_SUCCESS)
        goto out;
    DWORD types = EVENTLOG_ERROR_TYPE | EVENTLOG_WARNING_TYPE | EVENTLOG_INFORMATION_TYPE;
    err = (DWORD)RegSetValueExW(key, L"TypesSupported", 0, REG_DWORD, (const BYTE *)&types,
                                sizeof(types));
out:
    if (key)
        RegCloseKey(key);
    return err;
}

DWORD audit_unregister_event_source_named(const wchar_t *source)
{
    wchar_t path[256];
    DWORD err = source_key_path(source, path, sizeof(path) / sizeof(path[0]));
    if (err != ERROR_SUCCESS)
        return err;
    err = (DWORD)RegDeleteKeyW(HKEY_LOCAL_MACHINE, path);
    return err == ERROR_FILE_NOT_FOUND ? ERROR_SUCCESS : err;
}

DWORD audit_register_event_source(const wchar_t *message_file)
{
    return audit_register_event_source_named(AUDIT_DEFAULT_EVENT_SOURCE, message_file);
}

DWORD audit_unregister_event_source(void)
{
    return audit_unregister_event_source_named(AUDIT_DEFAULT_EVENT_SOURCE);
}
