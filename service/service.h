/*
 * Service lifecycle of edgebroker.exe: process hardening, single-instance guard, SCM dispatch and
 * control handling, --console mode, and --install / --uninstall for development.
 */
#ifndef EDGE_SVC_SERVICE_H
#define EDGE_SVC_SERVICE_H

#include <windows.h>
#include <stdbool.h>

/*
 * Start-up hardening: System32-only DLL search, terminate on heap corruption, process mitigation
 * policies where the OS has them.  Failures are logged (log.h) and ignored (older Windows, Wine).
 */
void svc_harden_process(void);

/* Runs under the SCM (StartServiceCtrlDispatcherW).  Returns a process exit code. */
int svc_run_service(const wchar_t *pipe_name);

/* Runs the same server in the foreground until Ctrl+C / Ctrl+Break / console close. */
int svc_run_console(const wchar_t *pipe_name);

/* Creates the service (own process, auto start, LocalSystem) and configures it.  Exit code. */
int svc_install(void);

/* Stops (bounded wait) and deletes the service.  Exit code. */
int svc_uninstall(void);

/*
 * Applies recovery actions, service SID type and required privileges to the service.  Idempotent;
 * each failure is logged and the others are still tried.  Returns the first error, if any.
 */
DWORD svc_configure(SC_HANDLE service);

#endif /* EDGE_SVC_SERVICE_H */
