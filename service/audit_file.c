/* The audit trail's files: append, size-capped rotation, explicit DACL (see audit_file.h). */
#include "audit_file.h"

#include <aclapi.h>
#include <sddl.h>

#include <stdlib.h>
#include <string.h>
#include <wchar.h>

/* After a failed rotation (a reader holding an old generation open without FILE_SHARE_DELETE),
 * keep appending to the current file and try again only after this long, not on every line. */
#define ROTATE_RETRY_MS 10000u

/* Room for "\\" + stem + ".4294967295" + extension + NUL beyond the directory. */
#define PATH_EXTRA_CCH 40u

DWORD audit_file_path(const wchar_t *dir, uint32_t n, wchar_t *out, size_t cch)
{
    int r;
    if (n == 0)
        r = swprintf(out, cch, L"%ls\\%ls%ls", dir, AUDIT_FILE_STEM, AUDIT_FILE_EXT);
    else
        r = swprintf(out, cch, L"%ls\\%ls.%lu%ls", dir, AUDIT_FILE_STEM, (unsigned long)n,
                     AUDIT_FILE_EXT);
    return (r < 0 || (size_t)r >= cch) ? ERROR_FILENAME_EXCED_RANGE : ERROR_SUCCESS;
}

static wchar_t *path_alloc(const audit_file *f, uint32_t n)
{
    size_t cch = wcslen(f->dir) + PATH_EXTRA_CCH;
    wchar_t *p = malloc(cch * sizeof(*p));
    if (p && audit_file_path(f->dir, n, p, cch) != ERROR_SUCCESS) {
        free(p);
        p = NULL;
    }
    return p;
}

/* Writes all of buf at the current position; a short write counts as failure. */
static DWORD write_all(HANDLE h, const void *buf, DWORD len)
{
    DWORD written = 0;
    if (!WriteFile(h, buf, len, &written, NULL))
        return GetLastError();
    return written == len ? ERROR_SUCCESS : ERROR_WRITE_FAULT;
}

/*
 * A crash in the middle of a WriteFile can leave a last line without its newline; end it so the
 * next record starts a line of its own (the torn line stays visible, the new one stays parseable).
 */
static DWORD terminate_torn_line(audit_file *f)
{
    if (f->size == 0)
        return ERROR_SUCCESS;
    LARGE_INTEGER pos;
    pos.QuadPart = (LONGLONG)f->size - 1;
    char last = 0;
    DWORD got = 0;
    if (!SetFilePointerEx(f->handle, pos, NULL, FILE_BEGIN) ||
        !ReadFile(f->handle, &last, 1, &got, NULL))
        return GetLastError();
    pos.QuadPart = 0;
    if (!SetFilePointerEx(f->handle, pos, NULL, FILE_END))
        return GetLastError();
    if (got == 1 && last == '\n')
        return ERROR_SUCCESS;
    DWORD err = write_all(f->handle, "\n", 1);
    if (err == ERROR_SUCCESS)
        f->size++;
    return err;
}

static DWORD open_current(audit_file *f)
{
    DWORD err = ERROR_SUCCESS;
    wchar_t *path = path_alloc(f, 0);
    HANDLE h = INVALID_HANDLE_VALUE;
    if (!path) {
        err = ERROR_NOT_ENOUGH_MEMORY;
        goto out;
    }
    SECURITY_ATTRIBUTES sa = {sizeof(sa), f->file_sd, FALSE};
    /* Readers may look while the service runs; nobody else may write or rename it meanwhile. */
    h = CreateFileW(path, GENERIC_READ | GENERIC_WRITE | WRITE_DAC, FILE_SHARE_READ, &sa,
                    OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        err = GetLastError();
        goto out;
    }
    /*
     * CreateFileW applies sa only to a file it creates.  An existing file keeps whatever DACL it
     * has, perhaps one inherited from an older %ProgramData% ACL that lets Users read it, so set
     * ours explicitly; the audit names other users' programs.
     */
    BOOL present = FALSE, defaulted = FALSE;
    PACL dacl = NULL;
    if (!GetSecurityDescriptorDacl(f->file_sd, &present, &dacl, &defaulted)) {
        err = GetLastError();
        goto out;
    }
    err = SetSecurityInfo(h, SE_FILE_OBJECT,
                          DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION, NULL,
                          NULL, dacl, NULL);
    if (err != ERROR_SUCCESS)
        goto out;
    LARGE_INTEGER size;
    if (!GetFileSizeEx(h, &size)) {
        err = GetLastError();
        goto out;
    }
    f->handle = h;
    h = INVALID_HANDLE_VALUE;
    f->size = (uint64_t)size.QuadPart;
    err = terminate_torn_line(f);
    if (err != ERROR_SUCCESS) {
        CloseHandle(f->handle);
        f->handle = INVALID_HANDLE_VALUE;
    }
out:
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    free(path);
    return err;
}

static void close_current(audit_file *f)
{
    if (f->handle == INVALID_HANDLE_VALUE)
        return;
    if (f->dirty)
        FlushFileBuffers(f->handle);
    f->dirty = false;
    CloseHandle(f->handle);
    f->handle = INVALID_HANDLE_VALUE;
}

/* audit.(N-1) -> audit.N, ..., audit.jsonl -> audit.1.jsonl, then a fresh audit.jsonl. */
static DWORD rotate(audit_file *f)
{
    DWORD err = ERROR_SUCCESS;
    close_current(f);
    for (uint32_t n = f->max_rotated; n >= 1 && err == ERROR_SUCCESS; n--) {
        wchar_t *src = path_alloc(f, n - 1);
        wchar_t *dst = path_alloc(f, n);
        if (!src || !dst)
            err = ERROR_NOT_ENOUGH_MEMORY;
        else if (!MoveFileExW(src, dst, MOVEFILE_REPLACE_EXISTING)) {
            err = GetLastError();
            /* Gaps in the older generations are normal until N rotations have happened. */
            if (n > 1 && (err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND))
                err = ERROR_SUCCESS;
        }
        free(src);
        free(dst);
    }
    /* Whether or not the renames worked, keep a current file to append to. */
    DWORD open_err = open_current(f);
    return err != ERROR_SUCCESS ? err : open_err;
}

DWORD audit_file_open(audit_file *f, const wchar_t *dir, uint64_t max_bytes, uint32_t max_rotated)
{
    DWORD err = ERROR_SUCCESS;
    PSECURITY_DESCRIPTOR dir_sd = NULL;
    memset(f, 0, sizeof(*f));
    f->handle = INVALID_HANDLE_VALUE;
    f->max_bytes = max_bytes;
    f->max_rotated = max_rotated;
    if (!dir || !*dir || max_bytes == 0 || max_rotated == 0) {
        err = ERROR_INVALID_PARAMETER;
        goto out;
    }
    size_t len = wcslen(dir);
    while (len > 1 && (dir[len - 1] == L'\\' || dir[len - 1] == L'/'))
        len--;
    if (len > 32767) {
        err = ERROR_FILENAME_EXCED_RANGE;
        goto out;
    }
    f->dir = malloc((len + 1) * sizeof(wchar_t));
    if (!f->dir) {
        err = ERROR_NOT_ENOUGH_MEMORY;
        goto out;
    }
    memcpy(f->dir, dir, len * sizeof(wchar_t));
    f->dir[len] = L'\0';
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(AUDIT_FILE_SDDL, SDDL_REVISION_1,
                                                              &f->file_sd, NULL) ||
        !ConvertStringSecurityDescriptorToSecurityDescriptorW(AUDIT_DIR_SDDL, SDDL_REVISION_1,
                                                              &dir_sd, NULL)) {
        err = GetLastError();
        goto out;
    }
    /* The data directory may be shared with the state store; when it exists it is not ours to
     * re-ACL.  When audit creates it, it gets the same protection as the files. */
    SECURITY_ATTRIBUTES sa = {sizeof(sa), dir_sd, FALSE};
    if (!CreateDirectoryW(f->dir, &sa) && GetLastError() != ERROR_ALREADY_EXISTS) {
        err = GetLastError();
        goto out;
    }
    err = open_current(f);
out:
    if (dir_sd)
        LocalFree(dir_sd);
    return err;
}

DWORD audit_file_append(audit_file *f, const char *line, size_t len)
{
    DWORD err;
    if (len > MAXDWORD)
        return ERROR_INVALID_PARAMETER;
    if (f->handle == INVALID_HANDLE_VALUE) {
        /* An earlier failure closed the file; try again, it may have been transient. */
        err = open_current(f);
        if (err != ERROR_SUCCESS)
            return err;
    }
    ULONGLONG now = GetTickCount64();
    if (f->size > 0 && len > f->max_bytes - (f->size < f->max_bytes ? f->size : f->max_bytes) &&
        now >= f->rotate_after_tick) {
        err = rotate(f);
        if (err == ERROR_SUCCESS) {
            f->rotations++;
        } else {
            f->rotate_failures++;
            f->rotate_after_tick = now + ROTATE_RETRY_MS;
            if (f->handle == INVALID_HANDLE_VALUE)
                return err;
        }
    }
    err = write_all(f->handle, line, (DWORD)len);
    if (err != ERROR_SUCCESS) {
        /* Cut a partial line back off (disk full, quota) so every line in the file is whole. */
        LARGE_INTEGER pos;
        pos.QuadPart = (LONGLONG)f->size;
        if (!SetFilePointerEx(f->handle, pos, NULL, FILE_BEGIN) || !SetEndOfFile(f->handle))
            close_current(f); /* reopening terminates whatever is left as a torn line */
        return err;
    }
    f->size += len;
    f->dirty = true;
    return ERROR_SUCCESS;
}

DWORD audit_file_flush(audit_file *f)
{
    if (f->handle == INVALID_HANDLE_VALUE || !f->dirty)
        return ERROR_SUCCESS;
    if (!FlushFileBuffers(f->handle))
        return GetLastError();
    f->dirty = false;
    return ERROR_SUCCESS;
}

void audit_file_close(audit_file *f)
{
    if (f->handle != NULL)
        close_current(f);
    f->handle = INVALID_HANDLE_VALUE;
    if (f->file_sd)
        LocalFree(f->file_sd);
    f->file_sd = NULL;
    free(f->dir);
    f->dir = NULL;
}
