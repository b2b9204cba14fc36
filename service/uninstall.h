/*
 * What an uninstall removes besides the files the MSI owns: every rule in the EdgeBroker firewall
 * group, the data directory (%ProgramData%\EdgeBroker: state and audit) and the local
 * configuration key HKLM\SOFTWARE\EdgeBroker.  HKLM\SOFTWARE\Policies\EdgeBroker is never touched:
 * Group Policy owns it.  Run by the MSI as `edgebroker.exe --uninstall-cleanup` (LocalSystem,
 * after the service was stopped and deleted); idempotent.
 */
#ifndef EDGE_SVC_UNINSTALL_H
#define EDGE_SVC_UNINSTALL_H

#include <windows.h>

/*
 * Deletes the directory tree at DIR.  Reparse points inside it (junctions, symbolic links) are
 * removed as links, never followed, so a link planted in the tree cannot redirect the deletion.
 * A DIR that does not exist is success.  Returns ERROR_SUCCESS or the first Win32 error.
 */
DWORD uninstall_delete_tree(const wchar_t *dir);

/*
 * The whole cleanup: rules, data directory, local configuration key.  Every step runs even when
 * an earlier one failed; progress and failures are written to stderr.  Returns ERROR_SUCCESS, or
 * the first failing step's Win32 error (the MSI then rolls the uninstall back, so rules are never
 * left behind silently).
 */
DWORD uninstall_cleanup(void);

#endif /* EDGE_SVC_UNINSTALL_H */
