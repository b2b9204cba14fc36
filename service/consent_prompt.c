/*
 * The interactive-user consent prompt (ConsentBy = InteractiveUser): a yes/no message box on the
 * active console session, shown by WTSSendMessageW from a worker thread so that no pipe worker
 * waits for a human.  Yes approves, No denies (both remembered for that user only); a timeout or
 * a failure leaves the request pending for an administrator.
 *
 * Wine 8: WTSGetActiveConsoleSessionId returns the process's session id, and WTSSendMessageW is
 * a stub that shows nothing (see docs/policy.md "Consent" and tests/windows/test_consent.c for
 * what the test observed); the prompt path is therefore exercised under Wine with an injected
 * prompt function, and the real dialog only on Windows.
 */
#include "consent_internal.h"

#include <wtsapi32.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define PROMPT_TITLE L"EdgeBroker: allow incoming connections?"

DWORD consent_prompt_wts(DWORD session, const wchar_t *title, const wchar_t *text,
                         DWORD timeout_seconds, DWORD *response)
{
    *response = 0;
    /* Lengths are in bytes, without the terminator. */
    if (!WTSSendMessageW(WTS_CURRENT_SERVER_HANDLE, session, (LPWSTR)title,
                         (DWORD)(wcslen(title) * sizeof(wchar_t)), (LPWSTR)text,
                         (DWORD)(wcslen(text) * sizeof(wchar_t)),
                         MB_YESNO | MB_ICONQUESTION | MB_DEFBUTTON2 | MB_SETFOREGROUND | MB_TOPMOST,
                         timeout_seconds, response, TRUE))
        return GetLastError();
    return ERROR_SUCCESS;
}

struct prompt_job {
    struct consent *c;
    uint8_t id[EDGE_ID_SIZE];
    DWORD session;
    DWORD timeout;
    uint32_t remember;
    wchar_t text[1024 + EDGE_MAX_PATH];
};

static DWORD WINAPI prompt_main(void *arg)
{
    struct prompt_job *job = arg;
    struct consent *c = job->c;
    DWORD response = 0;
    DWORD err =
        consent_prompt_function(c)(job->session, PROMPT_TITLE, job->text, job->timeout, &response);
    /* The time of the answer, not of the request: remembered decisions run from the decision. */
    uint64_t now = 0;
    FILETIME ft;
    GetSystemTimeAsFileTime(&ft);
    now = ((((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime) / 10000000u) - 11644473600u;

    if (err != ERROR_SUCCESS)
        log_win32(LOG_WARNING, err,
                  "consent: the prompt could not be shown in session %lu; the request stays "
                  "pending for an administrator",
                  (unsigned long)job->session);
    else if (response == IDYES)
        consent_approve(c, job->id, "the interactive user (prompt)", true, job->remember, now,
                        NULL);
    else if (response == IDNO)
        consent_deny(c, job->id, "the interactive user (prompt)", NULL, true, job->remember, now,
                     NULL);
    else
        log_msg(LOG_INFO, "consent: prompt answered %lu (timeout or dismissed); still pending",
                (unsigned long)response);
    free(job);
    InterlockedDecrement(&c->prompts);
    consent_release(c);
    return 0;
}

static const wchar_t *proto_name(uint8_t p)
{
    return p == EDGE_IPPROTO_TCP ? L"TCP" : p == EDGE_IPPROTO_UDP ? L"UDP" : L"?";
}

void consent_prompt_start(struct consent *c, const struct consent_pending_info *entry,
                          uint32_t timeout_seconds, uint32_t remember_seconds)
{
    struct prompt_job *job;
    wchar_t path[EDGE_MAX_PATH + 1];
    HANDLE t;

    if (!consent_retain_for_prompt(c)) {
        log_msg(LOG_INFO,
                "consent: %u prompts already on screen (or closing); the request waits "
                "for an administrator",
                CONSENT_MAX_PROMPTS);
        return;
    }
    job = calloc(1, sizeof(*job));
    if (!job)
        goto fail;
    job->c = c;
    memcpy(job->id, entry->id, EDGE_ID_SIZE);
    job->session = entry->session_id;
    job->timeout = timeout_seconds;
    job->remember = remember_seconds;
    if (MultiByteToWideChar(CP_UTF8, 0, entry->image_path, -1, path, EDGE_MAX_PATH + 1) == 0)
        goto fail;
    if (entry->scope.port_lo == entry->scope.port_hi)
        swprintf(job->text, sizeof(job->text) / sizeof(job->text[0]),
                 L"%ls\n\nasks to accept connections from other computers, including the "
                 L"Internet, on %ls port %u.\n\nAllow it?",
                 path, proto_name(entry->scope.protocol), (unsigned)entry->scope.port_lo);
    else
        swprintf(job->text, sizeof(job->text) / sizeof(job->text[0]),
                 L"%ls\n\nasks to accept connections from other computers, including the "
                 L"Internet, on %ls ports %u-%u.\n\nAllow it?",
                 path, proto_name(entry->scope.protocol), (unsigned)entry->scope.port_lo,
                 (unsigned)entry->scope.port_hi);
    t = CreateThread(NULL, 0, prompt_main, job, 0, NULL);
    if (!t)
        goto fail;
    CloseHandle(t);
    return;
fail:
    log_msg(LOG_WARNING,
            "consent: cannot start the prompt; the request waits for an administrator");
    free(job);
    InterlockedDecrement(&c->prompts);
    consent_release(c);
}
