/*
 * More support for the hardening tests (test_hostile, test_faults, test_load): local configuration
 * of the service in HKLM\SOFTWARE\EdgeBroker (set before a restart, restored after), service
 * restart, the service process's memory, the audit trail and the state files.
 *
 * Like itest.h: no cmocka, every wait bounded, Win32 errors returned.
 */
#ifndef EDGE_ITEST_CFG_H
#define EDGE_ITEST_CFG_H

#include <windows.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ITEST_CFG_KEY  L"SOFTWARE\\EdgeBroker"
#define ITEST_CFG_MAX  16u
#define ITEST_START_MS 30000u
#define ITEST_STOP_MS  15000u

/* Values changed by itest_cfg_set, with what they were before (for itest_cfg_restore). */
typedef struct itest_cfg_saved {
    unsigned n;
    struct {
        wchar_t name[64];
        bool existed;
        DWORD type, size;
        BYTE data[256];
    } v[ITEST_CFG_MAX];
} itest_cfg_saved;

/* Sets the REG_DWORD NAME under HKLM\ITEST_CFG_KEY (64-bit view); the first change of each name
 * records its previous value in SAVED. */
DWORD itest_cfg_set(itest_cfg_saved *saved, const wchar_t *name, DWORD value);

/* Puts every value recorded in SAVED back (deleting those that did not exist); empties SAVED. */
DWORD itest_cfg_restore(itest_cfg_saved *saved);

/* Stop (bounded), start, wait until hello is answered.  Limits are read at start. */
DWORD itest_svc_restart(void);

/*
 * Private bytes of the service process (PROCESS_MEMORY_COUNTERS_EX.PrivateUsage for the PID the
 * SCM reports; under Wine 8, which reports 0 there for another process, its working set).  *PID
 * (optional) receives that PID.
 */
DWORD itest_svc_private_bytes(SIZE_T *bytes, DWORD *pid);

/*
 * True when a line of the service's audit trail (audit.jsonl in its data directory) contains
 * every non-NULL needle, polled until MS expires.  Lines before SKIP_LINES are ignored
 * (itest_audit_lines gives the current count).
 */
bool itest_audit_has(size_t skip_lines, const char *n1, const char *n2, DWORD ms);
size_t itest_audit_lines(void);

/* Full path of a file in the service's data directory (%ProgramData%\EdgeBroker\NAME). */
DWORD itest_state_path(const wchar_t *name, wchar_t *out, size_t out_chars);

#endif /* EDGE_ITEST_CFG_H */
