/*
 * The identity of a file's content as the file system reports it, for caches of per-file work
 * (image hashes in caller.c, Authenticode verdicts in authenticode.c): the same volume, file id,
 * size, last-write and change times.
 *
 * The change time is part of it as well as the last-write time: SetFileTime can put back a
 * last-write time after an in-place edit, the change time needs NtSetInformationFile with write
 * access to the very file.  Caches should still age entries out, to bound the window in which a
 * file rewritten with both times restored could be served a stale result.
 */
#ifndef EDGE_SVC_FILE_IDENTITY_H
#define EDGE_SVC_FILE_IDENTITY_H

#include <windows.h>

#include <stdbool.h>

struct file_identity {
    DWORD volume_serial;
    DWORD index_high;
    DWORD index_low;
    ULONGLONG size;
    FILETIME last_write;
    LARGE_INTEGER change_time;
};

/* Reads the identity of an open file; zeroes *id first.  Returns a Win32 error. */
DWORD file_identity_read(HANDLE file, struct file_identity *id);
/* True when both name the same file with the same size and times. */
bool file_identity_equal(const struct file_identity *a, const struct file_identity *b);

#endif
