/* Tests of the service's diagnostic logger (service/log.c). */
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

#include "iat_patch.h"
#include "jsonl.h"
#include "log.h"

#define TEST_SOURCE L"EdgeBrokerLogTest"

/* Points the logger at a pipe; capture_end returns what it wrote. */
static void capture_start(HANDLE *rd, HANDLE *wr, log_level level)
{
    assert_true(CreatePipe(rd, wr, NULL, 1 << 16));
    assert_int_equal(log_open(*wr, NULL, level), ERROR_SUCCESS);
}

static char *capture_end(HANDLE rd, HANDLE wr, size_t *len)
{
    log_close();
    CloseHandle(wr);
    static char out[1 << 16];
    DWORD total = 0, got;
    while (ReadFile(rd, out + total, sizeof(out) - 1 - total, &got, NULL) && got > 0)
        total += got;
    out[total] = '\0';
    CloseHandle(rd);
    *len = total;
    return out;
}

static void test_console_lines(void **state)
{
    (void)state;
    HANDLE rd, wr;
    capture_start(&rd, &wr, LOG_INFO);
    log_msg(LOG_WARNING, "disk %s at %d%%", "C:", 97);
    log_msg(LOG_DEBUG, "not shown");
    log_win32(LOG_ERROR, ERROR_ACCESS_DENIED, "open %s", "state.bin");
    log_win32(LOG_ERROR, (DWORD)0x80070005, "put_Enabled");
    log_msgw(LOG_INFO, L"path %ls", L"C:\\Zo\x00eb.exe");
    log_set_level(LOG_DEBUG);
    assert_true(log_enabled(LOG_DEBUG));
    log_msg(LOG_DEBUG, "now shown");
    size_t len;
    char *out = capture_end(rd, wr, &len);
    char *lines[8];
    assert_int_equal(jsonl_split_lines(out, len, lines, 8), 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(lines[i][24], ' ');
        lines[i][24] = '\0';
        jsonl_check_time(lines[i]);
        lines[i] += 25;
    }
    assert_string_equal(lines[0], "warning: disk C: at 97%");
    /* The system's text varies by platform and language; the code and the shape do not. */
    assert_true(strncmp(lines[1], "error: open state.bin: ", 23) == 0);
    assert_non_null(strstr(lines[1], " (error 5)"));
    assert_true(strncmp(lines[2], "error: put_Enabled: ", 20) == 0);
    assert_non_null(strstr(lines[2], " (0x80070005)"));
    assert_string_equal(lines[3], "info: path C:\\Zo\xc3\xab.exe");
    assert_string_equal(lines[4], "debug: now shown");
}

static void test_long_messages_are_cut_at_a_character(void **state)
{
    (void)state;
    /* 'x' then two-byte characters, so the cut falls inside one unless it backs up. */
    size_t n = LOG_MAX_MESSAGE + 100;
    char *text = malloc(n + 1);
    assert_non_null(text);
    text[0] = 'x';
    for (size_t i = 1; i + 1 < n; i += 2) {
        text[i] = (char)0xc3;
        text[i + 1] = (char)0xa9;
    }
    text[n - (n % 2 == 0 ? 1 : 0)] = '\0';
    HANDLE rd, wr;
    capture_start(&rd, &wr, LOG_INFO);
    log_msg(LOG_INFO, "%s", text);
    size_t len;
    char *out = capture_end(rd, wr, &len);
    free(text);
    char *lines[2];
    assert_int_equal(jsonl_split_lines(out, len, lines, 2), 1);
    const char *msg = lines[0] + 25 + strlen("info: ");
    size_t mlen = strlen(msg);
    assert_true(mlen <= LOG_MAX_MESSAGE + 3);
    assert_true(mlen >= LOG_MAX_MESSAGE - 1 + 3);
    assert_string_equal(msg + mlen - 3, "...");
    /* What precedes "..." is whole characters: the last one is a complete é. */
    assert_int_equal((unsigned char)msg[mlen - 5], 0xc3);
    assert_int_equal((unsigned char)msg[mlen - 4], 0xa9);
}

typedef BOOL(WINAPI *report_event_fn)(HANDLE, WORD, WORD, DWORD, PSID, WORD, DWORD, LPCWSTR *,
                                      LPVOID);
static report_event_fn real_report_event;
static struct {
    WORD type;
    DWORD id;
    char text[256];
} calls[8];
static int call_count;

static BOOL WINAPI hook_report_event(HANDLE src, WORD type, WORD cat, DWORD id, PSID sid, WORD nstr,
                                     DWORD size, LPCWSTR *strs, LPVOID data)
{
    if (call_count < 8) {
        calls[call_count].type = type;
        calls[call_count].id = id;
        calls[call_count].text[0] = '\0';
        if (nstr == 1 && strs[0])
            WideCharToMultiByte(CP_UTF8, 0, strs[0], -1, calls[call_count].text,
                                sizeof(calls[0].text), NULL, NULL);
    }
    call_count++;
    return real_report_event(src, type, cat, id, sid, nstr, size, strs, data);
}

static void test_event_log_uses_service_message_id(void **state)
{
    (void)state;
    void *prev = iat_patch_import("advapi32.dll", "ReportEventW", (void *)hook_report_event);
    assert_non_null(prev);
    real_report_event = (report_event_fn)prev;
    call_count = 0;
    assert_int_equal(log_open(NULL, TEST_SOURCE, LOG_INFO), ERROR_SUCCESS);
    log_msg(LOG_ERROR, "boom %d", 1);
    log_msg(LOG_WARNING, "careful");
    log_msgw(LOG_INFO, L"fine %ls", L"\x00e9");
    log_msg(LOG_DEBUG, "hidden");
    log_close();
    iat_patch_import("advapi32.dll", "ReportEventW", prev);
    assert_int_equal(call_count, 3);
    static const WORD types[] = {EVENTLOG_ERROR_TYPE, EVENTLOG_WARNING_TYPE,
                                 EVENTLOG_INFORMATION_TYPE};
    static const char *const texts[] = {"boom 1", "careful", "fine \xc3\xa9"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(calls[i].id, LOG_EVENT_ID);
        assert_int_equal(calls[i].type, types[i]);
        assert_string_equal(calls[i].text, texts[i]);
    }
}

static void test_logging_preserves_last_error(void **state)
{
    (void)state;
    HANDLE rd, wr;
    capture_start(&rd, &wr, LOG_INFO);
    SetLastError(777);
    log_msg(LOG_DEBUG, "filtered %d", 1);
    assert_int_equal(GetLastError(), 777);
    log_msg(LOG_ERROR, "written %d", 2);
    assert_int_equal(GetLastError(), 777);
    log_win32(LOG_ERROR, ERROR_FILE_NOT_FOUND, "lookup");
    assert_int_equal(GetLastError(), 777);
    log_msgw(LOG_ERROR, L"wide");
    assert_int_equal(GetLastError(), 777);
    size_t len;
    capture_end(rd, wr, &len);
    assert_true(len > 0);
}

static void test_level_names(void **state)
{
    (void)state;
    assert_string_equal(log_level_name(LOG_ERROR), "error");
    assert_string_equal(log_level_name(LOG_WARNING), "warning");
    assert_string_equal(log_level_name(LOG_INFO), "info");
    assert_string_equal(log_level_name(LOG_DEBUG), "debug");
    assert_int_equal(log_level_event_type(LOG_DEBUG), EVENTLOG_INFORMATION_TYPE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_console_lines),
        cmocka_unit_test(test_long_messages_are_cut_at_a_character),
        cmocka_unit_test(test_event_log_uses_service_message_id),
        cmocka_unit_test(test_logging_preserves_last_error),
        cmocka_unit_test(test_level_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
