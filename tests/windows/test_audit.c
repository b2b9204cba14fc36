/* Tests of the audit trail (service/audit.c, audit_file.c) under Wine and on Windows. */
#include <windows.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <cmocka.h>

#include "audit.h"
#include "audit_file.h"
#include "log.h"
#include "iat_patch.h"
#include "jsonl.h"
#include "wine_detect.h"

#define TEST_SOURCE L"EdgeBrokerAuditTest"

/* ---- files ----------------------------------------------------------------------------------- */

static wchar_t test_dir[MAX_PATH];

static void make_test_dir(const wchar_t *tag)
{
    wchar_t tmp[MAX_PATH];
    assert_true(GetTempPathW(MAX_PATH, tmp) > 0);
    swprintf(test_dir, MAX_PATH, L"%lsedge-audit-%ls-%lu-%llu", tmp, tag, GetCurrentProcessId(),
             (unsigned long long)GetTickCount64());
}

static void remove_test_dir(void)
{
    wchar_t path[MAX_PATH];
    for (uint32_t n = 0; n <= 10; n++) {
        assert_int_equal(audit_file_path(test_dir, n, path, MAX_PATH), ERROR_SUCCESS);
        DeleteFileW(path);
    }
    RemoveDirectoryW(test_dir);
}

static char *read_generation(uint32_t n, size_t *len)
{
    wchar_t path[MAX_PATH];
    assert_int_equal(audit_file_path(test_dir, n, path, MAX_PATH), ERROR_SUCCESS);
    return jsonl_read_file(path, len);
}

static audit_log *open_log(audit_config *cfg)
{
    audit_log *log = (audit_log *)1;
    assert_int_equal(audit_open(cfg, &log), ERROR_SUCCESS);
    assert_non_null(log);
    return log;
}

static void test_config(audit_config *cfg, const wchar_t *tag)
{
    make_test_dir(tag);
    audit_config_init(cfg);
    cfg->directory = test_dir;
    cfg->event_source = NULL;
}

/* ---- kinds and message table ----------------------------------------------------------------- */

static void test_kinds_have_distinct_names_and_event_ids(void **state)
{
    (void)state;
    for (int a = 0; a < AUDIT_KIND_COUNT_; a++) {
        const char *name = audit_kind_name((audit_kind)a);
        assert_true(strlen(name) > 0 && strcmp(name, "unknown") != 0);
        assert_true(audit_kind_event_id((audit_kind)a) >= 1000);
        assert_int_not_equal(audit_kind_event_id((audit_kind)a), LOG_EVENT_ID);
        for (int b = a + 1; b < AUDIT_KIND_COUNT_; b++) {
            assert_int_not_equal(audit_kind_event_id((audit_kind)a),
                                 audit_kind_event_id((audit_kind)b));
            assert_string_not_equal(name, audit_kind_name((audit_kind)b));
        }
    }
    assert_int_equal(audit_kind_event_id(AUDIT_REQUEST_GRANTED), 1100);
    assert_int_equal(audit_kind_event_type(AUDIT_FIREWALL_ERROR), EVENTLOG_ERROR_TYPE);
    assert_int_equal(audit_kind_event_type(AUDIT_REQUEST_DENIED), EVENTLOG_WARNING_TYPE);
    assert_int_equal(audit_kind_level(AUDIT_CLIENT_DROPPED), AUDIT_LEVEL_VERBOSE);
    assert_int_equal(audit_kind_level(AUDIT_PING), AUDIT_LEVEL_VERBOSE);
    assert_string_equal(audit_kind_name(AUDIT_KIND_COUNT_), "unknown");
    assert_int_equal(audit_kind_event_id(AUDIT_KIND_COUNT_), 0);
}

/* edgebroker.exe (built beside the tests) carries messages.mc: every id must have its text. */
static void test_message_table_has_every_event_id(void **state)
{
    (void)state;
    wchar_t exe[MAX_PATH];
    DWORD n = GetModuleFileNameW(NULL, exe, MAX_PATH);
    assert_true(n > 0 && n < MAX_PATH);
    wchar_t *slash = wcsrchr(exe, L'\\');
    assert_non_null(slash);
    wcscpy(slash + 1, L"edgebroker.exe");
    HMODULE mod = LoadLibraryExW(exe, NULL, LOAD_LIBRARY_AS_DATAFILE);
    if (!mod) {
        print_message("SKIP: %ls not built (error %lu)\n", exe, GetLastError());
        skip();
    }
    const wchar_t *insert = L"{\"probe\":1}";
    DWORD_PTR args[1] = {(DWORD_PTR)insert};
    for (int k = 0; k < AUDIT_KIND_COUNT_ + 1; k++) {
        DWORD id = k < AUDIT_KIND_COUNT_ ? audit_kind_event_id((audit_kind)k) : LOG_EVENT_ID;
        wchar_t text[1024];
        DWORD len = FormatMessageW(FORMAT_MESSAGE_FROM_HMODULE | FORMAT_MESSAGE_ARGUMENT_ARRAY, mod,
                                   id, MAKELANGID(LANG_ENGLISH, SUBLANG_ENGLISH_US), text, 1024,
                                   (va_list *)args);
        if (len == 0)
            fail_msg("event id %lu has no message in edgebroker.exe (error %lu): is "
                     "service/messages.mc compiled into it?",
                     id, GetLastError());
        assert_non_null(wcsstr(text, insert));
        if (k < AUDIT_KIND_COUNT_) {
            /* The text names its kind, so a swapped id in the table cannot go unnoticed. */
            wchar_t want[64];
            swprintf(want, 64, L"(%hs)", audit_kind_name((audit_kind)k));
            if (!wcsstr(text, want))
                fail_msg("message %lu does not name %ls", id, want);
        }
    }
    FreeLibrary(mod);
}

/* ---- record content -------------------------------------------------------------------------- */

static const uint8_t sha[32] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
                                0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5,
                                0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff};
static const uint8_t lease[16] = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

static void test_record_has_every_field(void **state)
{
    (void)state;
    audit_config cfg;
    test_config(&cfg, L"fields");
    audit_log *log = open_log(&cfg);

    const audit_port_range ports[2] = {{443, 443}, {50000, 50100}};
    const audit_request req = {"request", 17, ports, 2, 3600, 5};
    audit_record rec = {0};
    rec.kind = AUDIT_FIREWALL_ERROR;
    rec.status = 12; /* EDGE_E_FIREWALL */
    rec.detail = "put_EdgeTraversalOptions failed: \"access\"\n\xc3\xa9";
    rec.caller_sid = L"S-1-5-21-1-2-3-1001";
    rec.pid = 4242;
    rec.image_path = L"C:\\Users\\Zo\x00eb\\app\\p2p.exe";
    rec.image_sha256 = sha;
    rec.request = &req;
    rec.lease_id = lease;
    rec.rule_name = L"EdgeBroker lease deadbeef";
    rec.lease_image_path = L"C:\\Program Files\\Other\\other.exe";
    rec.lease_image_sha256 = sha;
    rec.has_hresult = true;
    rec.hresult = (HRESULT)0x80070005;
    assert_true(audit_emit(log, &rec));

    audit_record bare = {0};
    bare.kind = AUDIT_SERVICE_START;
    assert_true(audit_emit(log, &bare));

    /* An unpaired surrogate (legal in NTFS names) and a detail that is not UTF-8. */
    audit_record odd = {0};
    odd.kind = AUDIT_REQUEST_DENIED;
    odd.status = 4;
    odd.image_path = L"C:\\bad\xd800name.exe";
    odd.detail = "bad \xff byte";
    assert_true(audit_emit(log, &odd));

    assert_int_equal(audit_flush(log, 10000), ERROR_SUCCESS);
    audit_stats st;
    audit_get_stats(log, &st);
    assert_int_equal(st.emitted, 3);
    assert_int_equal(st.written, 3);
    assert_int_equal(st.lost, 0);
    audit_close(log);

    size_t len;
    char *buf = read_generation(0, &len);
    assert_non_null(buf);
    char *lines[8];
    assert_int_equal(jsonl_split_lines(buf, len, lines, 8), 3);
    jsonl_obj o, r;

    assert_true(jsonl_parse(lines[0], strlen(lines[0]), &o));
    jsonl_check_time(jsonl_str(&o, "time"));
    assert_int_equal(jsonl_num(&o, "seq"), 1);
    assert_string_equal(jsonl_str(&o, "kind"), "firewall_error");
    assert_int_equal(jsonl_num(&o, "event_id"), 1302);
    assert_string_equal(jsonl_str(&o, "severity"), "error");
    assert_true(jsonl_is(&o, "decision", "null"));
    assert_string_equal(jsonl_str(&o, "status"), "EDGE_E_FIREWALL");
    assert_int_equal(jsonl_num(&o, "status_code"), 12);
    assert_string_equal(jsonl_str(&o, "detail"), rec.detail);
    assert_string_equal(jsonl_str(&o, "caller_sid"), "S-1-5-21-1-2-3-1001");
    assert_int_equal(jsonl_num(&o, "pid"), 4242);
    assert_string_equal(jsonl_str(&o, "image_path"), "C:\\Users\\Zo\xc3\xab\\app\\p2p.exe");
    assert_string_equal(jsonl_str(&o, "image_sha256"),
                        "000102030405060708090a0b0c0d0e0ff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
    assert_string_equal(jsonl_str(&o, "lease_id"), "deadbeef0102030405060708090a0b0c");
    assert_string_equal(jsonl_str(&o, "rule_name"), "EdgeBroker lease deadbeef");
    assert_string_equal(jsonl_str(&o, "lease_image_path"), "C:\\Program Files\\Other\\other.exe");
    assert_non_null(jsonl_str(&o, "lease_image_sha256"));
    assert_string_equal(jsonl_str(&o, "hresult"), "0x80070005");
    const jsonl_field *rf = jsonl_get(&o, "request");
    assert_non_null(rf);
    assert_true(jsonl_parse(rf->val, rf->len, &r));
    assert_string_equal(jsonl_str(&r, "verb"), "request");
    assert_string_equal(jsonl_str(&r, "protocol"), "udp");
    assert_true(jsonl_is(&r, "ports", "[\"443\",\"50000-50100\"]"));
    assert_int_equal(jsonl_num(&r, "lease_seconds"), 3600);
    assert_int_equal(jsonl_num(&r, "flags"), 5);
    assert_int_equal(o.n, 19);

    assert_true(jsonl_parse(lines[1], strlen(lines[1]), &o));
    assert_int_equal(jsonl_num(&o, "seq"), 2);
    assert_string_equal(jsonl_str(&o, "kind"), "service_start");
    assert_int_equal(jsonl_num(&o, "event_id"), 1000);
    assert_string_equal(jsonl_str(&o, "status"), "EDGE_OK");
    static const char *const nulls[] = {"decision",   "detail",       "caller_sid", "pid",
                                        "image_path", "image_sha256", "request",    "lease_id",
                                        "rule_name",  "hresult",      "lease_image_path",
                                        "lease_image_sha256"};
    for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
        if (!jsonl_is(&o, nulls[i], "null"))
            fail_msg("%s should be null in a bare record", nulls[i]);
    assert_int_equal(o.n, 19);

    assert_true(jsonl_parse(lines[2], strlen(lines[2]), &o));
    assert_string_equal(jsonl_str(&o, "decision"), "denied");
    assert_string_equal(jsonl_str(&o, "image_path"), "C:\\bad\xef\xbf\xbdname.exe");
    assert_true(jsonl_is(&o, "image_path_lossy", "true"));
    assert_true(jsonl_is(&o, "detail", "null"));
    assert_true(jsonl_is(&o, "detail_invalid_utf8", "true"));
    free(buf);
    remove_test_dir();
}

static void test_level_filters_verbose_kinds(void **state)
{
    (void)state;
    audit_config cfg;
    test_config(&cfg, L"level");
    audit_log *log = open_log(&cfg);
    audit_record drop = {0}, ping = {0}, grant = {0};
    drop.kind = AUDIT_CLIENT_DROPPED;
    drop.status = 11;
    ping.kind = AUDIT_PING;
    grant.kind = AUDIT_REQUEST_GRANTED;
    assert_true(audit_emit(log, &drop)); /* filtered, not lost */
    assert_true(audit_emit(log, &ping));
    assert_true(audit_emit(log, &grant));
    audit_set_level(log, AUDIT_LEVEL_VERBOSE);
    assert_true(audit_emit(log, &drop));
    assert_true(audit_emit(log, &ping));
    assert_int_equal(audit_flush(log, 10000), ERROR_SUCCESS);
    audit_close(log);
    size_t len;
    char *buf = read_generation(0, &len);
    char *lines[8];
    assert_int_equal(jsonl_split_lines(buf, len, lines, 8), 3);
    jsonl_obj o;
    static const char *const want[] = {"request_granted", "client_dropped", "ping"};
    for (int i = 0; i < 3; i++) {
        assert_true(jsonl_parse(lines[i], strlen(lines[i]), &o));
        assert_string_equal(jsonl_str(&o, "kind"), want[i]);
    }
    free(buf);
    remove_test_dir();
}

static void test_emit_preserves_last_error(void **state)
{
    (void)state;
    audit_config cfg;
    test_config(&cfg, L"lasterr");
    audit_log *log = open_log(&cfg);
    audit_record rec = {0};
    rec.kind = AUDIT_RULE_CREATED;
    rec.image_path = L"C:\\x.exe";
    SetLastError(12345);
    assert_true(audit_emit(log, &rec));
    assert_int_equal(GetLastError(), 12345);
    SetLastError(54321);
    assert_false(audit_emit(NULL, &rec));
    assert_int_equal(GetLastError(), 54321);
    audit_close(log);
    remove_test_dir();
}

/* ---- concurrency and loss accounting --------------------------------------------------------- */

#define THREADS    8
#define PER_THREAD 500

typedef struct emitter {
    audit_log *log;
    int thread;
    int ok; /* audit_emit returned true */
} emitter;

static DWORD WINAPI emitter_main(void *arg)
{
    emitter *e = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        char detail[32];
        snprintf(detail, sizeof(detail), "t%d-i%d", e->thread, i);
        audit_record rec = {0};
        rec.kind = AUDIT_LEASE_RENEWED;
        rec.detail = detail;
        rec.image_path = L"C:\\Program Files\\Some App\\app.exe";
        rec.lease_id = lease;
        if (audit_emit(e->log, &rec))
            e->ok++;
    }
    return 0;
}

static void run_emitters(audit_log *log, emitter *e)
{
    HANDLE threads[THREADS];
    for (int t = 0; t < THREADS; t++) {
        e[t].log = log;
        e[t].thread = t;
        e[t].ok = 0;
        threads[t] = CreateThread(NULL, 0, emitter_main, &e[t], 0, NULL);
        assert_non_null(threads[t]);
    }
    assert_int_equal(WaitForMultipleObjects(THREADS, threads, TRUE, 60000), WAIT_OBJECT_0);
    for (int t = 0; t < THREADS; t++)
        CloseHandle(threads[t]);
}

static void test_concurrent_writers_lose_nothing(void **state)
{
    (void)state;
    audit_config cfg;
    test_config(&cfg, L"concurrent");
    cfg.max_file_bytes = 64u * 1024u * 1024u; /* no rotation in this test */
    cfg.enqueue_wait_ms = 30000;              /* this test is about integrity, not back-pressure */
    audit_log *log = open_log(&cfg);
    emitter e[THREADS];
    run_emitters(log, e);
    assert_int_equal(audit_flush(log, 30000), ERROR_SUCCESS);
    audit_stats st;
    audit_get_stats(log, &st);
    audit_close(log);
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(e[t].ok, PER_THREAD);
    assert_int_equal(st.lost, 0);
    assert_int_equal(st.written, THREADS * PER_THREAD);

    size_t len;
    char *buf = read_generation(0, &len);
    assert_non_null(buf);
    static char *lines[THREADS * PER_THREAD + 1];
    assert_int_equal(jsonl_split_lines(buf, len, lines, THREADS * PER_THREAD + 1),
                     THREADS * PER_THREAD);
    static uint8_t seen[THREADS][PER_THREAD];
    static uint8_t seqs[THREADS * PER_THREAD + 1];
    memset(seen, 0, sizeof(seen));
    memset(seqs, 0, sizeof(seqs));
    jsonl_obj o;
    for (size_t i = 0; i < THREADS * PER_THREAD; i++) {
        if (!jsonl_parse(lines[i], strlen(lines[i]), &o))
            fail_msg("line %lu is not one JSON object: %s", (unsigned long)i, lines[i]);
        int t = -1, k = -1;
        assert_int_equal(sscanf(jsonl_str(&o, "detail"), "t%d-i%d", &t, &k), 2);
        assert_true(t >= 0 && t < THREADS && k >= 0 && k < PER_THREAD);
        assert_int_equal(seen[t][k]++, 0);
        uint64_t seq = jsonl_num(&o, "seq");
        assert_true(seq >= 1 && seq <= THREADS * PER_THREAD);
        assert_int_equal(seqs[seq]++, 0);
    }
    free(buf);
    remove_test_dir();
}

/* ---- ReportEventW, observed through this executable's import table --------------------------- */

typedef BOOL(WINAPI *report_event_fn)(HANDLE, WORD, WORD, DWORD, PSID, WORD, DWORD, LPCWSTR *,
                                      LPVOID);

static report_event_fn real_report_event;
static SRWLOCK calls_lock = SRWLOCK_INIT;
static struct {
    WORD type;
    DWORD id;
    char text[2048];
} calls[64];
static int call_count;
static HANDLE hook_entered, hook_release; /* when set, the hook blocks the audit writer */

static BOOL WINAPI hook_report_event(HANDLE src, WORD type, WORD cat, DWORD id, PSID sid, WORD nstr,
                                     DWORD size, LPCWSTR *strs, LPVOID data)
{
    AcquireSRWLockExclusive(&calls_lock);
    if (call_count < (int)(sizeof(calls) / sizeof(calls[0]))) {
        calls[call_count].type = type;
        calls[call_count].id = id;
        calls[call_count].text[0] = '\0';
        if (nstr >= 1 && strs && strs[0])
            WideCharToMultiByte(CP_UTF8, 0, strs[0], -1, calls[call_count].text,
                                sizeof(calls[0].text), NULL, NULL);
    }
    call_count++;
    ReleaseSRWLockExclusive(&calls_lock);
    HANDLE release = hook_release;
    if (release) {
        SetEvent(hook_entered);
        WaitForSingleObject(release, 30000);
    }
    return real_report_event(src, type, cat, id, sid, nstr, size, strs, data);
}

static int hook_setup(void **state)
{
    (void)state;
    void *prev = iat_patch_import("advapi32.dll", "ReportEventW", (void *)hook_report_event);
    assert_non_null(prev);
    real_report_event = (report_event_fn)prev;
    call_count = 0;
    return 0;
}

static int hook_teardown(void **state)
{
    (void)state;
    iat_patch_import("advapi32.dll", "ReportEventW", (void *)real_report_event);
    return 0;
}

static void test_report_event_uses_distinct_ids(void **state)
{
    (void)state;
    audit_config cfg;
    test_config(&cfg, L"eventlog");
    cfg.event_source = TEST_SOURCE;
    cfg.level = AUDIT_LEVEL_VERBOSE;
    audit_log *log = open_log(&cfg);
    for (int k = 0; k < AUDIT_KIND_COUNT_; k++) {
        audit_record rec = {0};
        rec.kind = (audit_kind)k;
        rec.detail = audit_kind_name((audit_kind)k);
        assert_true(audit_emit(log, &rec));
    }
    assert_int_equal(audit_flush(log, 10000), ERROR_SUCCESS);
    audit_close(log);

    size_t len;
    char *buf = read_generation(0, &len);
    char *lines[AUDIT_KIND_COUNT_ + 1];
    assert_int_equal(jsonl_split_lines(buf, len, lines, AUDIT_KIND_COUNT_ + 1), AUDIT_KIND_COUNT_);
    assert_int_equal(call_count, AUDIT_KIND_COUNT_);
    for (int k = 0; k < AUDIT_KIND_COUNT_; k++) {
        assert_int_equal(calls[k].id, audit_kind_event_id((audit_kind)k));
        assert_int_equal(calls[k].type, audit_kind_event_type((audit_kind)k));
        /* The Event Log entry carries exactly the file's line. */
        assert_string_equal(calls[k].text, lines[k]);
    }
    free(buf);
    remove_test_dir();
}

/* A stalled writer: records beyond the queue are dropped, counted, and reported right after. */
static void test_lost_records_are_reported(void **state)
{
    (void)state;
    audit_config cfg;
    test_config(&cfg, L"lost");
    cfg.event_source = TEST_SOURCE;
    cfg.queue_max_records = 4;
    cfg.enqueue_wait_ms = 0;
    audit_log *log = open_log(&cfg);
    hook_entered = CreateEventW(NULL, FALSE, FALSE, NULL);
    hook_release = CreateEventW(NULL, TRUE, FALSE, NULL);
    audit_record rec = {0};
    rec.kind = AUDIT_LEASE_EXPIRED;
    assert_true(audit_emit(log, &rec));
    /* The writer now sits in ReportEventW for record 1 with an empty queue. */
    assert_int_equal(WaitForSingleObject(hook_entered, 10000), WAIT_OBJECT_0);
    int queued = 0, dropped = 0;
    for (int i = 0; i < 10; i++)
        audit_emit(log, &rec) ? queued++ : dropped++;
    assert_int_equal(queued, 4);
    assert_int_equal(dropped, 6);
    HANDLE release = hook_release;
    hook_release = NULL;
    SetEvent(release);
    assert_int_equal(audit_flush(log, 10000), ERROR_SUCCESS);
    audit_stats st;
    audit_get_stats(log, &st);
    assert_int_equal(st.lost, 6);
    audit_close(log);
    CloseHandle(release);
    CloseHandle(hook_entered);

    size_t len;
    char *buf = read_generation(0, &len);
    char *lines[16];
    assert_int_equal(jsonl_split_lines(buf, len, lines, 16), 6);
    jsonl_obj o;
    for (int i = 0; i < 5; i++) {
        assert_true(jsonl_parse(lines[i], strlen(lines[i]), &o));
        assert_string_equal(jsonl_str(&o, "kind"), "lease_expired");
    }
    assert_true(jsonl_parse(lines[5], strlen(lines[5]), &o));
    assert_string_equal(jsonl_str(&o, "kind"), "audit_records_lost");
    assert_int_equal(jsonl_num(&o, "event_id"), 1900);
    assert_int_equal(jsonl_num(&o, "records_lost"), 6);
    /* The seq gap shows where: 1..5 written, 6..11 lost, the report is 12. */
    assert_int_equal(jsonl_num(&o, "seq"), 12);
    assert_int_equal(calls[call_count - 1].id, 1900);
    free(buf);
    remove_test_dir();
}

typedef struct late_emit {
    audit_log *log;
    bool ok;
} late_emit;

static DWORD WINAPI late_emit_main(void *arg)
{
    late_emit *e = arg;
    audit_record rec = {0};
    rec.kind = AUDIT_LEASE_RELEASED;
    e->ok = audit_emit(e->log, &rec);
    return 0;
}

/* A full queue makes the caller wait (up to enqueue_wait_ms) rather than drop at once. */
static void test_full_queue_waits_for_room(void **state)
{
    (void)state;
    audit_config cfg;
    test_config(&cfg, L"wait");
    cfg.event_source = TEST_SOURCE;
    cfg.queue_max_records = 1;
    cfg.enqueue_wait_ms = 20000;
    audit_log *log = open_log(&cfg);
    hook_entered = CreateEventW(NULL, FALSE, FALSE, NULL);
    hook_release = CreateEventW(NULL, TRUE, FALSE, NULL);
    audit_record rec = {0};
    rec.kind = AUDIT_LEASE_RELEASED;
    assert_true(audit_emit(log, &rec));
    assert_int_equal(WaitForSingleObject(hook_entered, 10000), WAIT_OBJECT_0);
    assert_true(audit_emit(log, &rec)); /* fills the queue */
    late_emit e = {log, false};
    HANDLE t = CreateThread(NULL, 0, late_emit_main, &e, 0, NULL);
    assert_non_null(t);
    assert_int_equal(WaitForSingleObject(t, 300), WAIT_TIMEOUT); /* waiting for room */
    HANDLE release = hook_release;
    hook_release = NULL;
    SetEvent(release);
    assert_int_equal(WaitForSingleObject(t, 10000), WAIT_OBJECT_0);
    CloseHandle(t);
    assert_true(e.ok);
    assert_int_equal(audit_flush(log, 10000), ERROR_SUCCESS);
    audit_stats st;
    audit_get_stats(log, &st);
    audit_close(log);
    CloseHandle(release);
    CloseHandle(hook_entered);
    assert_int_equal(st.written, 3);
    assert_int_equal(st.lost, 0);
    remove_test_dir();
}

/* Lines the file refuses (disk full) are counted and reported once the file works again; the
 * Event Log still received them. */
typedef BOOL(WINAPI *write_file_fn)(HANDLE, LPCVOID, DWORD, LPDWORD, LPOVERLAPPED);
static write_file_fn real_write_file;
static volatile LONG disk_full;

static BOOL WINAPI hook_write_file(HANDLE h, LPCVOID buf, DWORD len, LPDWORD written,
                                   LPOVERLAPPED ov)
{
    if (InterlockedCompareExchange(&disk_full, 0, 0)) {
        if (written)
            *written = 0;
        SetLastError(ERROR_DISK_FULL);
        return FALSE;
    }
    return real_write_file(h, buf, len, written, ov);
}

static void test_refused_lines_are_reported(void **state)
{
    (void)state;
    audit_config cfg;
    test_config(&cfg, L"refused");
    cfg.event_source = TEST_SOURCE;
    audit_log *log = open_log(&cfg);
    void *prev = iat_patch_import("kernel32.dll", "WriteFile", (void *)hook_write_file);
    assert_non_null(prev);
    real_write_file = (write_file_fn)prev;
    audit_record rec = {0};
    rec.kind = AUDIT_RULE_CREATED;
    InterlockedExchange(&disk_full, 1);
    for (int i = 0; i < 3; i++)
        assert_true(audit_emit(log, &rec));
    assert_int_equal(audit_flush(log, 10000), ERROR_SUCCESS);
    InterlockedExchange(&disk_full, 0);
    rec.kind = AUDIT_RULE_REMOVED;
    assert_true(audit_emit(log, &rec));
    assert_int_equal(audit_flush(log, 10000), ERROR_SUCCESS);
    audit_stats st;
    audit_get_stats(log, &st);
    audit_close(log);
    iat_patch_import("kernel32.dll", "WriteFile", prev);
    assert_int_equal(st.lost, 3);
    assert_int_equal(st.written, 1);

    size_t len;
    char *buf = read_generation(0, &len);
    char *lines[4];
    assert_int_equal(jsonl_split_lines(buf, len, lines, 4), 2);
    jsonl_obj o;
    assert_true(jsonl_parse(lines[0], strlen(lines[0]), &o));
    assert_string_equal(jsonl_str(&o, "kind"), "rule_removed");
    assert_true(jsonl_parse(lines[1], strlen(lines[1]), &o));
    assert_string_equal(jsonl_str(&o, "kind"), "audit_records_lost");
    assert_int_equal(jsonl_num(&o, "records_lost"), 3);
    /* Three rule_created entries reached the Event Log while the disk was full. */
    int created = 0;
    for (int i = 0; i < call_count && i < 64; i++)
        created += calls[i].id == 1300;
    assert_int_equal(created, 3);
    free(buf);
    remove_test_dir();
}

/* A record beyond AUDIT_MAX_RECORD_BYTES keeps its decision and says its strings were dropped. */
static void test_oversized_record_is_replaced_not_lost(void **state)
{
    (void)state;
    audit_config cfg;
    test_config(&cfg, L"oversize");
    audit_log *log = open_log(&cfg);
    size_t n = AUDIT_MAX_RECORD_BYTES + 16;
    char *detail = malloc(n + 1);
    assert_non_null(detail);
    memset(detail, 'd', n);
    detail[n] = '\0';
    audit_record rec = {0};
    rec.kind = AUDIT_REQUEST_DENIED;
    rec.status = 4;
    rec.detail = detail;
    rec.lease_id = lease;
    assert_true(audit_emit(log, &rec));
    assert_int_equal(audit_flush(log, 10000), ERROR_SUCCESS);
    audit_close(log);
    free(detail);
    size_t len;
    char *buf = read_generation(0, &len);
    char *lines[4];
    assert_int_equal(jsonl_split_lines(buf, len, lines, 4), 1);
    jsonl_obj o;
    assert_true(jsonl_parse(lines[0], strlen(lines[0]), &o));
    assert_string_equal(jsonl_str(&o, "kind"), "request_denied");
    assert_string_equal(jsonl_str(&o, "status"), "EDGE_E_DENIED");
    assert_string_equal(jsonl_str(&o, "lease_id"), "deadbeef0102030405060708090a0b0c");
    assert_non_null(strstr(jsonl_str(&o, "detail"), "too large"));
    free(buf);
    remove_test_dir();
}

/* ---- event source registration --------------------------------------------------------------- */

static void test_event_source_registration(void **state)
{
    (void)state;
    const wchar_t *msg_file = L"%ProgramFiles%\\EdgeBroker\\edgebroker.exe";
    wchar_t key_path[256];
    swprintf(key_path, 256, L"%ls%ls", AUDIT_EVENTLOG_KEY, TEST_SOURCE);
    assert_int_equal(audit_unregister_event_source_named(TEST_SOURCE), ERROR_SUCCESS);
    assert_int_equal(audit_register_event_source_named(TEST_SOURCE, msg_file), ERROR_SUCCESS);

    HKEY key;
    assert_int_equal(RegOpenKeyExW(HKEY_LOCAL_MACHINE, key_path, 0, KEY_QUERY_VALUE, &key),
                     ERROR_SUCCESS);
    wchar_t value[MAX_PATH];
    DWORD type = 0, size = sizeof(value);
    assert_int_equal(RegQueryValueExW(key, L"EventMessageFile", NULL, &type, (BYTE *)value, &size),
                     ERROR_SUCCESS);
    assert_int_equal(type, REG_EXPAND_SZ);
    assert_true(wcscmp(value, msg_file) == 0);
    DWORD types = 0;
    size = sizeof(types);
    assert_int_equal(RegQueryValueExW(key, L"TypesSupported", NULL, &type, (BYTE *)&types, &size),
                     ERROR_SUCCESS);
    assert_int_equal(type, REG_DWORD);
    assert_int_equal(types,
                     EVENTLOG_ERROR_TYPE | EVENTLOG_WARNING_TYPE | EVENTLOG_INFORMATION_TYPE);
    RegCloseKey(key);

    assert_int_equal(audit_unregister_event_source_named(TEST_SOURCE), ERROR_SUCCESS);
    assert_int_equal(RegOpenKeyExW(HKEY_LOCAL_MACHINE, key_path, 0, KEY_QUERY_VALUE, &key),
                     ERROR_FILE_NOT_FOUND);
    /* Idempotent, and the name cannot climb out of the Application log's key. */
    assert_int_equal(audit_unregister_event_source_named(TEST_SOURCE), ERROR_SUCCESS);
    assert_int_equal(audit_register_event_source_named(L"..\\System", msg_file),
                     ERROR_INVALID_PARAMETER);
    assert_int_equal(audit_register_event_source_named(L"", msg_file), ERROR_INVALID_PARAMETER);
    assert_int_equal(audit_register_event_source_named(TEST_SOURCE, L""), ERROR_INVALID_PARAMETER);
}

/* Real Windows only: the entry arrives in the Application log with its id and text. */
static void test_event_log_readback(void **state)
{
    (void)state;
    edge_test_skip_under_wine("Wine's event log stores nothing (ReadEventLogW returns no records)");
    wchar_t exe[MAX_PATH];
    assert_true(GetModuleFileNameW(NULL, exe, MAX_PATH) > 0);
    wcscpy(wcsrchr(exe, L'\\') + 1, L"edgebroker.exe");
    assert_int_equal(audit_register_event_source_named(TEST_SOURCE, exe), ERROR_SUCCESS);
    audit_config cfg;
    test_config(&cfg, L"readback");
    cfg.event_source = TEST_SOURCE;
    audit_log *log = open_log(&cfg);
    char marker[64];
    snprintf(marker, sizeof(marker), "readback-%lu-%llu", GetCurrentProcessId(),
             (unsigned long long)GetTickCount64());
    audit_record rec = {0};
    rec.kind = AUDIT_LEASE_REVOKED;
    rec.detail = marker;
    assert_true(audit_emit(log, &rec));
    assert_int_equal(audit_flush(log, 10000), ERROR_SUCCESS);
    audit_close(log);

    HANDLE ev = OpenEventLogW(NULL, L"Application");
    assert_non_null(ev);
    bool found = false;
    static BYTE buf[0x10000];
    DWORD got = 0, need = 0;
    wchar_t wmarker[64];
    swprintf(wmarker, 64, L"%hs", marker);
    while (!found && ReadEventLogW(ev, EVENTLOG_SEQUENTIAL_READ | EVENTLOG_BACKWARDS_READ, 0, buf,
                                   sizeof(buf), &got, &need)) {
        for (DWORD off = 0; off < got && !found;) {
            EVENTLOGRECORD *r = (EVENTLOGRECORD *)(buf + off);
            const wchar_t *source = (const wchar_t *)(r + 1);
            const wchar_t *text = (const wchar_t *)((BYTE *)r + r->StringOffset);
            if (wcscmp(source, TEST_SOURCE) == 0 && r->NumStrings == 1 && wcsstr(text, wmarker)) {
                assert_int_equal(r->EventID & 0xFFFF, 1204);
                assert_int_equal(r->EventType, EVENTLOG_WARNING_TYPE);
                found = true;
            }
            off += r->Length;
        }
    }
    CloseEventLog(ev);
    assert_int_equal(audit_unregister_event_source_named(TEST_SOURCE), ERROR_SUCCESS);
    assert_true(found);
    remove_test_dir();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds_have_distinct_names_and_event_ids),
        cmocka_unit_test(test_message_table_has_every_event_id),
        cmocka_unit_test(test_record_has_every_field),
        cmocka_unit_test(test_level_filters_verbose_kinds),
        cmocka_unit_test(test_emit_preserves_last_error),
        cmocka_unit_test(test_concurrent_writers_lose_nothing),
        cmocka_unit_test_setup_teardown(test_report_event_uses_distinct_ids, hook_setup,
                                        hook_teardown),
        cmocka_unit_test_setup_teardown(test_lost_records_are_reported, hook_setup, hook_teardown),
        cmocka_unit_test_setup_teardown(test_full_queue_waits_for_room, hook_setup, hook_teardown),
        cmocka_unit_test_setup_teardown(test_refused_lines_are_reported, hook_setup, hook_teardown),
        cmocka_unit_test(test_oversized_record_is_replaced_not_lost),
        cmocka_unit_test(test_event_source_registration),
        cmocka_unit_test(test_event_log_readback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
