/*
 * The service's diagnostic logger (not the audit trail: see audit.h for decisions and changes).
 *
 * In --console mode lines go to a console/file handle (normally stderr):
 *     2024-05-01T12:00:00.123Z warning: text
 * Otherwise each message becomes one Event Log entry of the event source (default "EdgeBroker")
 * with the generic event id LOG_EVENT_ID (1002, "service message" in service/messages.mc), whose
 * message text is the formatted line; the level selects the entry type (error, warning,
 * information).  Before log_open, and after log_close, messages go to stderr.
 *
 * Messages are UTF-8 printf formats; text longer than LOG_MAX_MESSAGE bytes is cut at a character
 * boundary and ends with "...".  Every log_* call preserves GetLastError().  log_msg/log_win32 are
 * thread-safe; log_open/log_close/log_set_level must not race with each other (call them from the
 * service's start and stop paths).
 */
#ifndef EDGE_SVC_LOG_H
#define EDGE_SVC_LOG_H

#include <windows.h>

#include <stdbool.h>
#include <stdio.h> /* mingw: __MINGW_PRINTF_FORMAT matches the vsnprintf log.c calls */

/* Event id of every log message in the Event Log (messages.mc EDGE_MSG_SERVICE_MESSAGE). */
#define LOG_EVENT_ID 1002u

/* Longest message text in bytes, before the "..." of a cut message. */
#define LOG_MAX_MESSAGE 2048u

#if defined(__MINGW32__)
#define LOG_PRINTF_LIKE(fmt, args) __attribute__((format(__MINGW_PRINTF_FORMAT, fmt, args)))
#elif defined(__GNUC__)
#define LOG_PRINTF_LIKE(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define LOG_PRINTF_LIKE(fmt, args)
#endif

typedef enum log_level { LOG_ERROR = 0, LOG_WARNING = 1, LOG_INFO = 2, LOG_DEBUG = 3 } log_level;

/*
 * console != NULL: write lines to that handle (e.g. GetStdHandle(STD_ERROR_HANDLE)); the handle
 * stays the caller's.  console == NULL: report to the Event Log under event_source (NULL means
 * "EdgeBroker").  Messages above max_level are discarded.  Returns a Win32 error
 * (RegisterEventSourceW's); on failure logging falls back to stderr.
 */
DWORD log_open(HANDLE console, const wchar_t *event_source, log_level max_level);

/* Deregisters the event source; later messages go to stderr. */
void log_close(void);

void log_set_level(log_level max_level);

/* True when a message at this level would be written (to skip expensive formatting). */
bool log_enabled(log_level level);

void log_msg(log_level level, const char *fmt, ...) LOG_PRINTF_LIKE(2, 3);

/* log_msg with a UTF-16 format (wprintf rules: %ls for wide strings); for Win32 paths and names. */
void log_msgw(log_level level, const wchar_t *fmt, ...);

/* Like log_msg, then ": <system text for err> (error <err>)". */
void log_win32(log_level level, DWORD err, const char *fmt, ...) LOG_PRINTF_LIKE(3, 4);

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC, milliseconds) and its NUL. */
#define LOG_TIMESTAMP_LEN 25u

/* The current UTC time as ISO 8601 with milliseconds; shared with the audit trail. */
void log_timestamp_utc(char out[LOG_TIMESTAMP_LEN]);

/* Stable lower-case name: "error", "warning", "info", "debug". */
const char *log_level_name(log_level level);

/* The ReportEventW event type of a level. */
WORD log_level_event_type(log_level level);

#endif /* EDGE_SVC_LOG_H */
