/*
 * The data directory (%ProgramData%\EdgeBroker), vetted once, before anything writes into it.
 *
 * %ProgramData% lets any user create a subdirectory, and its creator owns it.  A user who makes
 * EdgeBroker there before the service first starts (or after an uninstall) could plant links in
 * it, or turn it into a junction, and have LocalSystem create, re-ACL or rename files wherever the
 * links lead.  So the service start-up (verbs_startup_config) calls datadir_open before the audit
 * trail, the consent store or the lease store touch the directory, and keeps the handle until
 * they are all closed; the lease store calls it again for its own handle (store_open).
 *
 * A missing directory is created with DATADIR_SDDL: owner SYSTEM, SYSTEM and Administrators full
 * control (inherited by files and subdirectories), nothing for anyone else, protected from
 * %ProgramData%'s inheritable ACEs.  When the process may not assign owner SYSTEM (an elevated
 * administrator running tests or the console mode), DATADIR_DACL_SDDL is applied instead and the
 * owner defaults to the token's.
 *
 * An existing path must be a real directory (not a file, not a junction or symbolic link) owned by
 * SYSTEM, Administrators or the process's own user.  It is checked through a handle opened with
 * FILE_FLAG_OPEN_REPARSE_POINT (the link itself, never its target), so no name can be swapped
 * between the check and the use; the handle is opened without FILE_SHARE_DELETE, so the directory
 * cannot be renamed or replaced while it is held.
 */
#ifndef EDGE_SVC_DATADIR_H
#define EDGE_SVC_DATADIR_H

#include <windows.h>

/* The directory's descriptor, and its DACL alone (used when the owner cannot be assigned). */
#define DATADIR_DACL_SDDL L"D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
#define DATADIR_SDDL      L"O:SY" DATADIR_DACL_SDDL

/* ERROR_REPARSE_POINT_ENCOUNTERED, absent from older SDKs. */
#define DATADIR_ERROR_REPARSE_POINT 4395u

/*
 * Creates DIR when missing, then opens and vets it (see the top comment).  *HANDLE is
 * INVALID_HANDLE_VALUE on entry and on failure; on success it is a handle on the directory
 * (FILE_LIST_DIRECTORY | FILE_READ_ATTRIBUTES | READ_CONTROL, shared for read and write, never
 * for delete), which the caller closes with CloseHandle when it no longer uses the directory.
 * *REASON (REASON may be NULL) is NULL on success, else static English text naming the step.
 * Nothing is created or changed inside an existing directory.  Thread-safe.
 * Returns:
 *   ERROR_SUCCESS
 *   ERROR_INVALID_PARAMETER      DIR or HANDLE is NULL, DIR is empty
 *   ERROR_DIRECTORY              DIR names a file
 *   DATADIR_ERROR_REPARSE_POINT  DIR is a junction or symbolic link
 *   ERROR_INVALID_OWNER          DIR is owned by neither SYSTEM, Administrators nor this user
 *   other                        the Win32 error of the step that failed (create, open, query)
 */
DWORD datadir_open(const wchar_t *dir, HANDLE *handle, const char **reason);

#endif /* EDGE_SVC_DATADIR_H */
