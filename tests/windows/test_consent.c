/* Tests of consent (service/consent*.c): pending requests, decisions, persistence, prompt. */
#include <windows.h>

#include <wtsapi32.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include <cmocka.h>

#include "audit.h"
#include "consent.h"
#include "edge/policy.h"
#include "jsonl.h"
#include "wine_detect.h"
#include "testfs.h"
#include "svct_audit.h"

#define SID_A "S-1-5-21-100-200-300-1001"
#define SID_B "S-1-5-21-100-200-300-1002"
#define SID_C "S-1-5-21-100-200-300-1003"
#define APP1  "C:\\Apps\\one.exe"
#define APP2  "C:\\Apps\\two.exe"
#define T0    1700000000u

static const uint8_t HASH1[32] = {1, 1, 1};
static const uint8_t HASH2[32] = {2, 2, 2};

static wchar_t g_dir[MAX_PATH];
static audit_log *g_audit;
static struct consent *g_c;
static unsigned g_serial;

/* Injected prompt and console session. */
static volatile LONG g_prompts_shown;
static DWORD g_prompt_answer;
static DWORD g_console = 1;
static wchar_t g_prompt_text[2048];

static DWORD fake_prompt(DWORD session, const wchar_t *title, const wchar_t *text,
                         DWORD timeout_seconds, DWORD *response)
{
    (void)session;
    (void)title;
    (void)timeout_seconds;
    wcsncpy(g_prompt_text, text, 2047);
    InterlockedIncrement(&g_prompts_shown);
    *response = g_prompt_answer;
    return ERROR_SUCCESS;
}

static DWORD WINAPI fake_console(void)
{
    return g_console;
}

static int setup(void **state)
{
    (void)state;
    wchar_t tmp[MAX_PATH];
    GetTempPathW(MAX_PATH, tmp);
    swprintf(g_dir, MAX_PATH, L"%lsedge_consent_%lu_%llu_%u", tmp, GetCurrentProcessId(),
             (unsigned long long)GetTickCount64(), g_serial++);
    assert_true(CreateDirectoryW(g_dir, NULL));
    assert_int_equal(svct_audit_open(g_dir, &g_audit), ERROR_SUCCESS);
    g_c = NULL;
    g_prompts_shown = 0;
    g_prompt_answer = IDYES;
    g_console = 1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    consent_close(g_c);
    g_c = NULL;
    audit_close(g_audit);
    g_audit = NULL;
    testfs_remove_flat_dir(g_dir);
    return 0;
}

static struct consent_load_report open_c(uint32_t max_pending, uint32_t per_user, uint64_t now)
{
    struct consent_config cfg;
    struct consent_load_report rep;
    memset(&cfg, 0, sizeof(cfg));
    cfg.dir = g_dir;
    cfg.audit = g_audit;
    cfg.max_pending = max_pending;
    cfg.max_pending_per_user = per_user;
    cfg.prompt = fake_prompt;
    cfg.console_session = fake_console;
    assert_int_equal(consent_open(&cfg, now, &g_c, &rep), EDGE_OK);
    assert_non_null(g_c);
    return rep;
}

static struct consent_requester who(const char *sid, const char *path, const uint8_t *hash)
{
    struct consent_requester w = {sid, path, hash, 1};
    return w;
}

static struct consent_scope tcp(uint16_t lo, uint16_t hi)
{
    struct consent_scope s = {EDGE_IPPROTO_TCP, lo, hi, false, 0, 0};
    return s;
}

static const struct consent_submit_params PARAMS = {600, 3600, false};

static struct consent_pending_info *submit_ok(const char *sid, const char *path,
                                              const uint8_t *hash, uint16_t lo, uint16_t hi,
                                              uint64_t now)
{
    static struct consent_pending_info info;
    struct consent_requester w = who(sid, path, hash);
    struct consent_scope s = tcp(lo, hi);
    assert_int_equal(consent_submit(g_c, &w, &s, &PARAMS, now, &info), EDGE_OK);
    return &info;
}

/* The engine's verdict for a request under the default policy (mode Consent) and the records. */
static edge_status decide(const char *sid, const char *path, const uint8_t *hash, uint16_t lo,
                          uint16_t hi, uint64_t now, edge_policy_basis *basis)
{
    static edge_policy_decision d;
    edge_policy p;
    struct consent_records *r = NULL;
    edge_policy_identity id = {sid, false, false, path, hash, NULL};
    edge_policy_request req;
    memset(&req, 0, sizeof(req));
    req.protocol = EDGE_IPPROTO_TCP;
    req.port_lo = lo;
    req.port_hi = hi;
    edge_policy_init_defaults(&p);
    assert_int_equal(consent_records(g_c, now, &r), EDGE_OK);
    edge_policy_decide(&id, &req, &p, r->items, r->count, now, &d);
    consent_records_free(r);
    if (basis)
        *basis = d.basis;
    return d.status;
}

static int audit_count(const char *kind)
{
    wchar_t path[MAX_PATH];
    char *lines[512];
    size_t len = 0;
    int found = 0;
    assert_int_equal(audit_flush(g_audit, 5000), ERROR_SUCCESS);
    swprintf(path, MAX_PATH, L"%ls\\audit.jsonl", g_dir);
    char *buf = jsonl_read_file(path, &len);
    if (!buf)
        return 0;
    size_t n = jsonl_split_lines(buf, len, lines, 512);
    for (size_t i = 0; i < n; i++) {
        jsonl_obj o;
        assert_true(jsonl_parse(lines[i], strlen(lines[i]), &o));
        if (strcmp(jsonl_str(&o, "kind"), kind) == 0)
            found++;
    }
    free(buf);
    return found;
}

/* ---- tests ---- */

static void test_pending_created_matched_and_listed(void **state)
{
    (void)state;
    struct consent_load_report rep = open_c(0, 0, T0);
    assert_true(rep.first_start);
    struct consent_pending_info a = *submit_ok(SID_A, APP1, HASH1, 5000, 5000, T0);
    assert_true(a.created_now);
    assert_int_equal(a.state, CONSENT_WAITING);
    assert_int_equal(a.expires, T0 + 600);
    /* the poll: identical request, same requester -> same entry */
    struct consent_pending_info again = *submit_ok(SID_A, APP1, HASH1, 5000, 5000, T0 + 5);
    assert_false(again.created_now);
    assert_memory_equal(again.id, a.id, EDGE_ID_SIZE);
    /* different ports, different user, different image: new entries */
    struct consent_pending_info b = *submit_ok(SID_A, APP1, HASH1, 5001, 5001, T0 + 6);
    assert_true(b.created_now);
    assert_memory_not_equal(b.id, a.id, EDGE_ID_SIZE);
    assert_true(submit_ok(SID_B, APP1, HASH1, 5000, 5000, T0 + 7)->created_now);
    assert_true(submit_ok(SID_A, APP1, HASH2, 5000, 5000, T0 + 8)->created_now);

    struct consent_pending_info *items = NULL;
    size_t n = 0;
    assert_int_equal(consent_list(g_c, T0 + 10, &items, &n), EDGE_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(items[0].id, a.id, EDGE_ID_SIZE);
    assert_string_equal(items[0].user_sid, SID_A);
    assert_string_equal(items[0].image_path, APP1);
    assert_int_equal(items[0].scope.port_lo, 5000);
    free(items);
    assert_int_equal(consent_pending_count(g_c, T0 + 10), 4);
    /* while waiting, the engine still says pending */
    assert_int_equal(decide(SID_A, APP1, HASH1, 5000, 5000, T0 + 10, NULL), EDGE_PENDING_CONSENT);
    assert_int_equal(audit_count("request_pending_consent"), 4);
}

static void test_approve_remembers_matching_scope_only(void **state)
{
    (void)state;
    edge_policy_basis basis;
    open_c(0, 0, T0);
    struct consent_pending_info a = *submit_ok(SID_A, APP1, HASH1, 6000, 6010, T0);
    struct consent_pending_info out;
    assert_int_equal(consent_approve(g_c, a.id, SID_B, false, 3600, T0 + 1, &out), EDGE_OK);
    assert_int_equal(out.state, CONSENT_APPROVED);
    assert_int_equal(consent_approve(g_c, a.id, SID_B, false, 3600, T0 + 1, NULL),
                     EDGE_E_NOT_FOUND);
    assert_int_equal(consent_pending_count(g_c, T0 + 1), 0);
    /* the poll is allowed, as is a sub-range, for any user (administrator's decision) */
    assert_int_equal(decide(SID_A, APP1, HASH1, 6000, 6010, T0 + 2, &basis), EDGE_OK);
    assert_int_equal(basis, EDGE_POLICY_BASIS_REMEMBERED_APPROVAL);
    assert_int_equal(decide(SID_C, APP1, HASH1, 6005, 6005, T0 + 2, NULL), EDGE_OK);
    /* other ports, protocol-wide range, other image hash or path: not covered */
    assert_int_equal(decide(SID_A, APP1, HASH1, 6000, 6011, T0 + 2, NULL), EDGE_PENDING_CONSENT);
    assert_int_equal(decide(SID_A, APP1, HASH2, 6000, 6010, T0 + 2, NULL), EDGE_PENDING_CONSENT);
    assert_int_equal(decide(SID_A, APP2, HASH1, 6000, 6010, T0 + 2, NULL), EDGE_PENDING_CONSENT);
    /* settle drops the decided entry; the remembered decision remains until it expires */
    struct consent_requester w = who(SID_A, APP1, HASH1);
    struct consent_scope s = tcp(6000, 6010);
    assert_true(consent_settle(g_c, &w, &s));
    assert_false(consent_settle(g_c, &w, &s));
    assert_int_equal(decide(SID_A, APP1, HASH1, 6000, 6010, T0 + 3599, NULL), EDGE_OK);
    assert_int_equal(decide(SID_A, APP1, HASH1, 6000, 6010, T0 + 3601, NULL), EDGE_PENDING_CONSENT);
    assert_int_equal(audit_count("consent_approved"), 1);
}

static void test_deny_and_not_remembered(void **state)
{
    (void)state;
    open_c(0, 0, T0);
    struct consent_pending_info a = *submit_ok(SID_A, APP1, HASH1, 7000, 7000, T0);
    assert_int_equal(consent_deny(g_c, a.id, SID_B, "no", false, 0, T0 + 1, NULL), EDGE_OK);
    /* ConsentRememberSeconds 0: the requester's next poll still learns the denial ... */
    assert_int_equal(decide(SID_A, APP1, HASH1, 7000, 7000, T0 + 2, NULL), EDGE_E_CONSENT_DENIED);
    /* ... but nobody else's request is affected, and nothing remains once it was delivered */
    assert_int_equal(decide(SID_B, APP1, HASH1, 7000, 7000, T0 + 2, NULL), EDGE_PENDING_CONSENT);
    struct consent_requester w = who(SID_A, APP1, HASH1);
    struct consent_scope s = tcp(7000, 7000);
    assert_true(consent_settle(g_c, &w, &s));
    assert_int_equal(decide(SID_A, APP1, HASH1, 7000, 7000, T0 + 3, NULL), EDGE_PENDING_CONSENT);
    /* a remembered denial covers overlapping ranges for every user */
    a = *submit_ok(SID_A, APP1, HASH1, 7000, 7000, T0 + 4);
    assert_int_equal(consent_deny(g_c, a.id, SID_B, NULL, false, 100, T0 + 5, NULL), EDGE_OK);
    assert_true(consent_settle(g_c, &w, &s));
    assert_int_equal(decide(SID_C, APP1, HASH1, 6990, 7005, T0 + 6, NULL), EDGE_E_CONSENT_DENIED);
    assert_int_equal(audit_count("consent_denied"), 2);
}

static void test_expiry(void **state)
{
    (void)state;
    struct consent_submit_params p = {5, 3600, false};
    open_c(0, 0, T0);
    struct consent_requester w = who(SID_A, APP1, HASH1);
    struct consent_scope s = tcp(8000, 8000);
    struct consent_pending_info a;
    assert_int_equal(consent_submit(g_c, &w, &s, &p, T0, &a), EDGE_OK);
    assert_int_equal(consent_pending_count(g_c, T0 + 4), 1);
    assert_int_equal(consent_pending_count(g_c, T0 + 5), 0);
    assert_int_equal(consent_approve(g_c, a.id, SID_B, false, 3600, T0 + 5, NULL),
                     EDGE_E_NOT_FOUND);
    /* after expiry the same request makes a fresh entry */
    struct consent_pending_info b;
    assert_int_equal(consent_submit(g_c, &w, &s, &p, T0 + 6, &b), EDGE_OK);
    assert_true(b.created_now);
    assert_memory_not_equal(a.id, b.id, EDGE_ID_SIZE);
}

static void test_persisted_across_restart(void **state)
{
    (void)state;
    open_c(0, 0, T0);
    struct consent_pending_info a = *submit_ok(SID_A, APP1, HASH1, 9000, 9000, T0);
    struct consent_pending_info b = *submit_ok(SID_B, APP2, HASH2, 9100, 9200, T0);
    assert_int_equal(consent_approve(g_c, b.id, SID_C, false, 3600, T0 + 1, NULL), EDGE_OK);
    uint8_t lease[EDGE_ID_SIZE] = {9, 9, 9};
    assert_int_equal(consent_attach_lease(g_c, b.id, lease), EDGE_OK);
    consent_close(g_c);
    g_c = NULL;

    struct consent_load_report rep = open_c(0, 0, T0 + 2);
    assert_false(rep.first_start);
    assert_false(rep.corrupt);
    assert_int_equal(rep.pending_loaded, 2);
    assert_int_equal(rep.decisions_loaded, 1);
    struct consent_pending_info *items = NULL;
    size_t n = 0;
    assert_int_equal(consent_list(g_c, T0 + 2, &items, &n), EDGE_OK);
    assert_int_equal(n, 1);
    assert_memory_equal(items[0].id, a.id, EDGE_ID_SIZE);
    assert_string_equal(items[0].image_path, APP1);
    assert_memory_equal(items[0].image_sha256, HASH1, 32);
    free(items);
    /* the approval and the attached lease survived */
    assert_int_equal(decide(SID_A, APP2, HASH2, 9150, 9150, T0 + 3, NULL), EDGE_OK);
    struct consent_requester w = who(SID_B, APP2, HASH2);
    struct consent_scope s = tcp(9100, 9200);
    uint8_t got[EDGE_ID_SIZE];
    assert_int_equal(consent_take_lease(g_c, &w, &s, T0 + 3, got), EDGE_OK);
    assert_memory_equal(got, lease, EDGE_ID_SIZE);
    assert_int_equal(consent_take_lease(g_c, &w, &s, T0 + 3, got), EDGE_E_NOT_FOUND);
    /* entries that expired while the service was down are dropped at load */
    consent_close(g_c);
    g_c = NULL;
    rep = open_c(0, 0, T0 + 100000);
    assert_int_equal(rep.pending_loaded, 1);
    assert_int_equal(rep.expired_dropped, 2);
    assert_int_equal(consent_last_save_error(g_c), ERROR_SUCCESS); /* the drop was written */
    consent_close(g_c);
    g_c = NULL;
    rep = open_c(0, 0, T0 + 100000);
    assert_int_equal(rep.pending_loaded, 0);
    assert_int_equal(rep.decisions_loaded, 0);
}

static void write_file(const wchar_t *name, const void *data, DWORD len)
{
    wchar_t p[MAX_PATH];
    swprintf(p, MAX_PATH, L"%ls\\%ls", g_dir, name);
    HANDLE h = CreateFileW(p, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
    assert_true(h != INVALID_HANDLE_VALUE);
    DWORD n;
    assert_true(WriteFile(h, data, len, &n, NULL));
    CloseHandle(h);
}

static bool aside_exists(void)
{
    wchar_t p[MAX_PATH];
    WIN32_FIND_DATAW fd;
    swprintf(p, MAX_PATH, L"%ls\\consent.bin.corrupt-*", g_dir);
    HANDLE f = FindFirstFileW(p, &fd);
    if (f == INVALID_HANDLE_VALUE)
        return false;
    FindClose(f);
    return true;
}

static void test_corrupt_file_starts_empty(void **state)
{
    (void)state;
    write_file(L"consent.bin",
               "garbage, not a consent file, but longer than a header is. "
               "garbage, not a consent file.",
               86);
    struct consent_load_report rep = open_c(0, 0, T0);
    assert_true(rep.corrupt);
    assert_non_null(rep.reason);
    assert_true(aside_exists());
    assert_int_equal(consent_pending_count(g_c, T0), 0);
    /* a valid file with one flipped byte is rejected by the checksum */
    submit_ok(SID_A, APP1, HASH1, 5000, 5000, T0);
    consent_close(g_c);
    g_c = NULL;
    wchar_t p[MAX_PATH];
    swprintf(p, MAX_PATH, L"%ls\\consent.bin", g_dir);
    size_t len = 0;
    char *buf = jsonl_read_file(p, &len);
    assert_non_null(buf);
    assert_true(len > CONSENT_HEADER_LEN + 10);
    buf[CONSENT_HEADER_LEN + 10] ^= 0x40;
    write_file(L"consent.bin", buf, (DWORD)len);
    free(buf);
    rep = open_c(0, 0, T0);
    assert_true(rep.corrupt);
    assert_string_equal(rep.reason, "checksum mismatch");
    assert_int_equal(consent_pending_count(g_c, T0), 0);
}

static void test_caps(void **state)
{
    (void)state;
    open_c(3, 2, T0);
    struct consent_requester w = who(SID_A, APP1, HASH1);
    struct consent_scope s = tcp(1, 1);
    struct consent_pending_info info;
    submit_ok(SID_A, APP1, HASH1, 100, 100, T0);
    submit_ok(SID_A, APP1, HASH1, 101, 101, T0);
    assert_int_equal(consent_submit(g_c, &w, &s, &PARAMS, T0, &info), EDGE_E_QUOTA);
    /* polling an existing entry still works at the cap */
    assert_false(submit_ok(SID_A, APP1, HASH1, 100, 100, T0)->created_now);
    submit_ok(SID_B, APP1, HASH1, 100, 100, T0);
    w.user_sid = SID_C;
    assert_int_equal(consent_submit(g_c, &w, &s, &PARAMS, T0, &info), EDGE_E_QUOTA);
    assert_int_equal(consent_pending_count(g_c, T0), 3);
}

static void test_revoke(void **state)
{
    (void)state;
    open_c(0, 0, T0);
    struct consent_pending_info a = *submit_ok(SID_A, APP1, HASH1, 2100, 2100, T0);
    struct consent_pending_info b = *submit_ok(SID_A, APP2, HASH2, 2100, 2100, T0);
    assert_int_equal(consent_approve(g_c, a.id, SID_B, false, 3600, T0, NULL), EDGE_OK);
    assert_int_equal(consent_approve(g_c, b.id, SID_B, false, 3600, T0, NULL), EDGE_OK);
    struct consent_requester w1 = who(SID_A, APP1, HASH1), w2 = who(SID_A, APP2, HASH2);
    struct consent_scope s = tcp(2100, 2100);
    consent_settle(g_c, &w1, &s);
    consent_settle(g_c, &w2, &s);
    assert_int_equal(consent_revoke(g_c, "c:\\apps\\ONE.exe", NULL), 1);
    assert_int_equal(decide(SID_A, APP1, HASH1, 2100, 2100, T0 + 1, NULL), EDGE_PENDING_CONSENT);
    assert_int_equal(decide(SID_A, APP2, HASH2, 2100, 2100, T0 + 1, NULL), EDGE_OK);
    assert_int_equal(consent_revoke(g_c, NULL, NULL), 1);
    assert_int_equal(decide(SID_A, APP2, HASH2, 2100, 2100, T0 + 1, NULL), EDGE_PENDING_CONSENT);
}

/* ConsentBy = InteractiveUser: the prompt (injected) answers, the answer is applied and
 * remembered for that user only; no prompt when the requester is not on the console. */
static void test_interactive_prompt_answers(void **state)
{
    (void)state;
    struct consent_submit_params p = {600, 3600, true};
    open_c(0, 0, T0);
    struct consent_requester w = who(SID_A, APP1, HASH1);
    struct consent_scope s = tcp(4000, 4000);
    struct consent_pending_info a;
    uint64_t now = (uint64_t)time(NULL);
    assert_int_equal(consent_submit(g_c, &w, &s, &p, now, &a), EDGE_OK);
    assert_true(consent_wait_prompts(g_c, 5000));
    assert_int_equal(g_prompts_shown, 1);
    assert_non_null(wcsstr(g_prompt_text, L"C:\\Apps\\one.exe"));
    assert_non_null(wcsstr(g_prompt_text, L"TCP port 4000"));
    assert_int_equal(consent_pending_count(g_c, now), 0);
    consent_settle(g_c, &w, &s);
    assert_int_equal(decide(SID_A, APP1, HASH1, 4000, 4000, now + 1, NULL), EDGE_OK);
    assert_int_equal(decide(SID_B, APP1, HASH1, 4000, 4000, now + 1, NULL), EDGE_PENDING_CONSENT);

    g_prompt_answer = IDNO;
    s = tcp(4001, 4001);
    assert_int_equal(consent_submit(g_c, &w, &s, &p, now, &a), EDGE_OK);
    assert_true(consent_wait_prompts(g_c, 5000));
    assert_int_equal(decide(SID_A, APP1, HASH1, 4001, 4001, now + 1, NULL), EDGE_E_CONSENT_DENIED);

    g_prompt_answer = IDTIMEOUT;
    s = tcp(4002, 4002);
    assert_int_equal(consent_submit(g_c, &w, &s, &p, now, &a), EDGE_OK);
    assert_true(consent_wait_prompts(g_c, 5000));
    assert_int_equal(g_prompts_shown, 3);
    assert_int_equal(consent_pending_count(g_c, now), 1); /* still waiting for an admin */

    g_console = 2; /* requester in session 1, console in session 2 */
    s = tcp(4003, 4003);
    assert_int_equal(consent_submit(g_c, &w, &s, &p, now, &a), EDGE_OK);
    assert_true(consent_wait_prompts(g_c, 5000));
    assert_int_equal(g_prompts_shown, 3);
}

/* What the real WTSSendMessageW does here.  On Windows a box shows for 1 s and times out. */
static void test_wts_prompt_real(void **state)
{
    (void)state;
    DWORD session = WTSGetActiveConsoleSessionId(), response = 0;
    DWORD err =
        consent_prompt_wts(session, L"EdgeBroker test", L"Test prompt (times out)", 1, &response);
    if (edge_test_under_wine()) {
        char why[200];
        snprintf(why, sizeof(why),
                 "Wine has no interactive session prompt: WTSGetActiveConsoleSessionId=%lu, "
                 "WTSSendMessageW -> error %lu, response %lu",
                 (unsigned long)session, (unsigned long)err, (unsigned long)response);
        edge_test_skip_under_wine(why);
    }
    assert_int_equal(err, ERROR_SUCCESS);
    assert_int_equal(response, IDTIMEOUT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pending_created_matched_and_listed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_approve_remembers_matching_scope_only, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_deny_and_not_remembered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_persisted_across_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_file_starts_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_caps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoke, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interactive_prompt_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wts_prompt_real, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
