/* The service's diagnostic logger: console lines or Event Log entries (see log.h). */
#include "log.h"

#include "edge/utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

#define LOG_DEFAULT_SOURCE L"EdgeBroker"

/* Room for the message, a cut marker and a system error text. */
#define LOG_LINE_MAX (LOG_MAX_MESSAGE + 4u + 600u)

static SRWLOCK log_lock = SRWLOCK_INIT;
static HANDLE log_console;      /* caller's handle, or NULL */
static HANDLE log_event_source; /* RegisterEventSourceW, or NULL */
static volatile LONG log_max_level = LOG_INFO;

const char *log_level_name(log_level level)
{
    switch (level) {
    case LOG_ERROR:
        return "error";
    case LOG_WARNING:
        return "warning";
    case LOG_INFO:
        return "info";
    case LOG_DEBUG:
        return "debug";
    }
    return "unknown";
}

WORD log_level_event_type(log_level level)
{
    switch (level) {
    case LOG_ERROR:
        return EVENTLOG_ERROR_TYPE;
    case LOG_WARNING:
        return EVENTLOG_WARNING_TYPE;
    default:
        return EVENTLOG_INFORMATION_TYPE;
    }
}

DWORD log_open(HANDLE console, const wchar_t *event_source, log_level max_level)
{
    DWORD err = ERROR_SUCCESS;
    log_close();
    AcquireSRWLockExclusive(&log_lock);
    InterlockedExchange(&log_max_level, (LONG)max_level);
    if (console) {
        log_console = console;
    } else {
        log_event_source =
            RegisterEventSourceW(NULL, event_source ? event_source : LOG_DEFAULT_SOURCE);
        if (!log_event_source)
            err = GetLastError();
    }
    ReleaseSRWLockExclusive(&log_lock);
    return err;
}

void log_close(void)
{
    AcquireSRWLockExclusive(&log_lock);
    if (log_event_source)
        DeregisterEventSource(log_event_source);
    log_event_source = NULL;
    log_console = NULL;
    ReleaseSRWLockExclusive(&log_lock);
}

void log_set_level(log_level max_level)
{
    InterlockedExchange(&log_max_level, (LONG)max_level);
}

bool log_enabled(log_level level)
{
    return (LONG)level <= InterlockedCompareExchange(&log_max_level, 0, 0);
}

/* UTF-8 -> UTF-16 for the console or the Event Log; invalid bytes become U+FFFD. */
static int widen(const char *s, int len, wchar_t *out, int cch)
{
    int n = MultiByteToWideChar(CP_UTF8, 0, s, len, out, cch - 1);
    if (n <= 0)
        n = 0;
    out[n] = L'\0';
    return n;
}

static void write_console(HANDLE h, const char *line, size_t len)
{
    DWORD mode;
    if (GetConsoleMode(h, &mode)) {
        /* A console shows UTF-16 correctly whatever its code page. */
        static wchar_t wide[LOG_LINE_MAX + 64];
        int n = widen(line, (int)len, wide, (int)(sizeof(wide) / sizeof(wide[0])));
        DWORD written;
        WriteConsoleW(h, wide, (DWORD)n, &written, NULL);
        return;
    }
    DWORD written;
    WriteFile(h, line, (DWORD)len, &written, NULL);
}

static void emit(log_level level, const char *text, size_t len)
{
    AcquireSRWLockExclusive(&log_lock);
    if (log_event_source) {
        static wchar_t wide[LOG_LINE_MAX];
        widen(text, (int)len, wide, (int)(sizeof(wide) / sizeof(wide[0])));
        const wchar_t *strings[1] = {wide};
        ReportEventW(log_event_source, log_level_event_type(level), 0, LOG_EVENT_ID, NULL, 1, 0,
                     strings, NULL);
    } else {
        HANDLE h = log_console ? log_console : GetStdHandle(STD_ERROR_HANDLE);
        if (h && h != INVALID_HANDLE_VALUE) {
            char line[LOG_LINE_MAX + 64];
            char stamp[LOG_TIMESTAMP_LEN];
            log_timestamp_utc(stamp);
            int n = snprintf(line, sizeof(line), "%s %s: %s\n", stamp, log_level_name(level), text);
            if (n > 0)
                write_console(h, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
        }
    }
    ReleaseSRWLockExclusive(&log_lock);
}

/* Formats the message, appends the system text of err when asked, and emits it. */
static void log_v(log_level level, bool with_err, DWORD err, const char *fmt, va_list ap)
{
    char text[LOG_LINE_MAX];
    /* One byte beyond the limit is kept so the cut can see whether it splits a character. */
    int r = vsnprintf(text, LOG_MAX_MESSAGE + 2, fmt, ap);
    size_t len = r < 0 ? 0 : (size_t)r;
    if (r < 0)
        text[0] = '\0';
    if (len > LOG_MAX_MESSAGE) {
        len = edge_utf8_truncate((const uint8_t *)text, len, LOG_MAX_MESSAGE);
        memcpy(text + len, "...", 4);
        len += 3;
    }
    if (with_err) {
        wchar_t sys[256];
        char sys8[512];
        DWORD n = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
                                 err, 0, sys, (DWORD)(sizeof(sys) / sizeof(sys[0])), NULL);
        while (n > 0 && (sys[n - 1] == L'\r' || sys[n - 1] == L'\n' || sys[n - 1] == L' ' ||
                         sys[n - 1] == L'.'))
            n--;
        int m = n ? WideCharToMultiByte(CP_UTF8, 0, sys, (int)n, sys8, sizeof(sys8) - 1, NULL, NULL)
                  : 0;
        sys8[m > 0 ? m : 0] = '\0';
        const char *what = m > 0 ? sys8 : "unknown error";
        /* HRESULTs read best in hex, Win32 error codes in decimal. */
        if (err > 0xFFFFu)
            r = snprintf(text + len, sizeof(text) - len, ": %s (0x%08lx)", what,
                         (unsigned long)err);
        else
            r = snprintf(text + len, sizeof(text) - len, ": %s (error %lu)", what,
                         (unsigned long)err);
        if (r > 0)
            len += (size_t)r < sizeof(text) - len ? (size_t)r : sizeof(text) - len - 1;
    }
    emit(level, text, len);
}

void log_msg(log_level level, const char *fmt, ...)
{
    DWORD saved = GetLastError();
    if (log_enabled(level)) {
        va_list ap;
        va_start(ap, fmt);
        log_v(level, false, 0, fmt, ap);
        va_end(ap);
    }
    SetLastError(saved);
}

void log_msgw(log_level level, const wchar_t *fmt, ...)
{
    DWORD saved = GetLastError();
    if (log_enabled(level)) {
        wchar_t wide[LOG_MAX_MESSAGE + 1] = {0};
        char text[LOG_MAX_MESSAGE * 3 + 8];
        va_list ap;
        va_start(ap, fmt);
        int r = vswprintf(wide, sizeof(wide) / sizeof(wide[0]), fmt, ap);
        va_end(ap);
        /* vswprintf fails rather than truncates; keep what fits and mark the cut. */
        bool cut = r < 0;
        wide[LOG_MAX_MESSAGE] = L'\0';
        size_t wlen = cut ? wcsnlen(wide, LOG_MAX_MESSAGE) : (size_t)r;
        int n = WideCharToMultiByte(CP_UTF8, 0, wide, (int)wlen, text, (int)sizeof(text) - 4, NULL,
                                    NULL);
        size_t len = n > 0 ? (size_t)n : 0;
        if (cut) {
            memcpy(text + len, "...", 3);
            len += 3;
        }
        text[len] = '\0';
        emit(level, text, len);
    }
    SetLastError(saved);
}

void log_win32(log_level level, DWORD err, const char *fmt, ...)
{
    DWORD saved = GetLastError();
    if (log_enabled(level)) {
        va_list ap;
        va_start(ap, fmt);
        log_v(level, true, err, fmt, ap);
        va_end(ap);
    }
    SetLastError(saved);
}

void log_timestamp_utc(char out[LOG_TIMESTAMP_LEN])
{
    FILETIME ft;
    SYSTEMTIME st;
    GetSystemTimeAsFileTime(&ft);
    if (!FileTimeToSystemTime(&ft, &st))
        memset(&st, 0, sizeof(st));
    snprintf(out, LOG_TIMESTAMP_LEN, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ", st.wYear % 10000u,
             st.wMonth % 100u, st.wDay % 100u, st.wHour % 100u, st.wMinute % 100u,
             st.wSecond % 100u, st.wMilliseconds % 1000u);
}
