/*
 * The audit trail's files: audit.jsonl and its rotated generations audit.1.jsonl .. audit.N.jsonl
 * (1 is the newest), created with an explicit protected DACL (SYSTEM and Administrators full
 * control, nothing for anyone else).  Private to audit.c: one writer thread owns an audit_file; it
 * is not thread-safe.
 */
#ifndef EDGE_SVC_AUDIT_FILE_H
#define EDGE_SVC_AUDIT_FILE_H

#include <windows.h>

#include <stdbool.h>
#include <stdint.h>

/* DACL of the audit files and of the directory when audit creates it. */
#define AUDIT_FILE_SDDL L"D:P(A;;FA;;;SY)(A;;FA;;;BA)"
#define AUDIT_DIR_SDDL  L"D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"

/* File names inside the directory; rotated generations insert ".<n>" before the extension. */
#define AUDIT_FILE_STEM L"audit"
#define AUDIT_FILE_EXT  L".jsonl"

typedef struct audit_file {
    HANDLE handle; /* INVALID_HANDLE_VALUE while closed */
    wchar_t *dir;  /* heap, no trailing backslash */
    uint64_t size; /* bytes in the current file */
    uint64_t max_bytes;
    uint32_t max_rotated;
    PSECURITY_DESCRIPTOR file_sd; /* LocalAlloc'd, from AUDIT_FILE_SDDL */
    bool dirty;                   /* written since the last FlushFileBuffers */
    uint32_t rotations;           /* successful rotations */
    uint32_t rotate_failures;     /* rotations that failed; writing continued in the same file */
    ULONGLONG rotate_after_tick;  /* after a failed rotation, no new attempt before this tick */
} audit_file;

/*
 * Creates dir if missing (with AUDIT_DIR_SDDL; an existing directory is left as it is), then opens
 * or creates dir\audit.jsonl for appending and (re)applies AUDIT_FILE_SDDL to it.
 * Returns a Win32 error; on failure f is left closed and audit_file_close is still safe.
 */
DWORD audit_file_open(audit_file *f, const wchar_t *dir, uint64_t max_bytes, uint32_t max_rotated);

/*
 * Appends one complete line.  Rotates first when the line would take the file past max_bytes (a
 * line larger than max_bytes goes alone into a fresh file: lines are never split).  A short write
 * is cut back so the file never holds a torn line.  Returns a Win32 error.
 */
DWORD audit_file_append(audit_file *f, const char *line, size_t len);

/* FlushFileBuffers when anything was written since the last flush. */
DWORD audit_file_flush(audit_file *f);

/* Flushes, closes and frees; safe on a zeroed or already closed audit_file. */
void audit_file_close(audit_file *f);

/* Path of generation n (0 = audit.jsonl) in dir, into out (cch wchar_ts).  Returns a Win32 error.
 */
DWORD audit_file_path(const wchar_t *dir, uint32_t n, wchar_t *out, size_t cch);

#endif /* EDGE_SVC_AUDIT_FILE_H */
