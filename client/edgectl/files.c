/*
 * Files of the signing verbs (docs/signing.md, "Files"): reading small text files, creating files
 * (the private key with an owner-only DACL set at creation), hashing an image, and reading a
 * signed-request file for `request --signed` and `explain --signed`.
 */
#include <windows.h>
#include <sddl.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "edge/signed_request.h"
#include "edgectl.h"

#define CTL_SIGNED_FILE_MAX (64u * 1024u) /* base64 of 4,096 bytes is 5,464; allow wrapping */
#define CTL_HASH_CHUNK      (64u * 1024u)

wchar_t *ctl_widen(const char *utf8)
{
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, -1, NULL, 0);
    wchar_t *w = n > 0 ? malloc((size_t)n * sizeof(wchar_t)) : NULL;
    if (w && MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, -1, w, n) != n) {
        free(w);
        w = NULL;
    }
    return w;
}

DWORD ctl_file_read(const char *path, size_t cap, char **data, size_t *len)
{
    wchar_t *wpath = ctl_widen(path);
    HANDLE h = INVALID_HANDLE_VALUE;
    LARGE_INTEGER size;
    char *buf = NULL;
    DWORD err = ERROR_SUCCESS, got = 0;

    *data = NULL;
    *len = 0;
    if (!wpath)
        return ERROR_INVALID_NAME;
    h = CreateFileW(wpath, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING,
                    FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        err = GetLastError();
        goto out;
    }
    if (!GetFileSizeEx(h, &size)) {
        err = GetLastError();
        goto out;
    }
    /* The cap is checked before anything is allocated. */
    if (size.QuadPart < 0 || (unsigned long long)size.QuadPart > cap) {
        err = ERROR_FILE_TOO_LARGE;
        goto out;
    }
    buf = malloc((size_t)size.QuadPart + 1);
    if (!buf) {
        err = ERROR_NOT_ENOUGH_MEMORY;
        goto out;
    }
    if (size.QuadPart > 0 &&
        (!ReadFile(h, buf, (DWORD)size.QuadPart, &got, NULL) || got != (DWORD)size.QuadPart)) {
        err = got != (DWORD)size.QuadPart ? ERROR_READ_FAULT : GetLastError();
        SecureZeroMemory(buf, (size_t)size.QuadPart);
        free(buf);
        buf = NULL;
        goto out;
    }
    buf[got] = '\0';
    *len = got;
    *data = buf;
    buf = NULL;
out:
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    free(wpath);
    return err;
}

/* "O:<user>D:P(A;;FA;;;<user>)": owned by and open only to the current user, nothing inherited. */
static DWORD owner_only_sd(PSECURITY_DESCRIPTOR *out)
{
    HANDLE token = NULL;
    union {
        TOKEN_USER tu;
        BYTE raw[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
    } user;
    DWORD n = 0, err = ERROR_SUCCESS;
    wchar_t *sid = NULL, sddl[256];

    *out = NULL;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token))
        return GetLastError();
    if (!GetTokenInformation(token, TokenUser, &user, sizeof(user), &n) ||
        !ConvertSidToStringSidW(user.tu.User.Sid, &sid)) {
        err = GetLastError();
        goto out;
    }
    if (_snwprintf(sddl, sizeof(sddl) / sizeof(sddl[0]), L"O:%lsD:P(A;;FA;;;%ls)", sid, sid) < 0) {
        err = ERROR_BUFFER_OVERFLOW;
        goto out;
    }
    sddl[sizeof(sddl) / sizeof(sddl[0]) - 1] = L'\0';
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, out, NULL))
        err = GetLastError();
out:
    if (sid)
        LocalFree(sid);
    CloseHandle(token);
    return err;
}

DWORD ctl_file_create(const char *path, bool owner_only, bool overwrite, HANDLE *out)
{
    SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, FALSE};
    PSECURITY_DESCRIPTOR sd = NULL;
    wchar_t *wpath = ctl_widen(path);
    DWORD err = ERROR_SUCCESS;

    *out = INVALID_HANDLE_VALUE;
    if (!wpath)
        return ERROR_INVALID_NAME;
    if (owner_only) {
        /* Set at creation, so there is no moment in which the key is readable by others. */
        err = owner_only_sd(&sd);
        if (err != ERROR_SUCCESS)
            goto out;
        sa.lpSecurityDescriptor = sd;
    }
    *out = CreateFileW(wpath, GENERIC_WRITE, 0, &sa, overwrite ? CREATE_ALWAYS : CREATE_NEW,
                       FILE_ATTRIBUTE_NORMAL, NULL);
    if (*out == INVALID_HANDLE_VALUE)
        err = GetLastError();
out:
    if (sd)
        LocalFree(sd);
    free(wpath);
    return err;
}

DWORD ctl_file_write(HANDLE h, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        DWORD n = len > 0x40000000u ? 0x40000000u : (DWORD)len, done = 0;
        if (!WriteFile(h, p, n, &done, NULL))
            return GetLastError();
        if (done == 0)
            return ERROR_WRITE_FAULT;
        p += done;
        len -= done;
    }
    return FlushFileBuffers(h) ? ERROR_SUCCESS : GetLastError();
}

void ctl_file_remove(const char *path)
{
    wchar_t *wpath = ctl_widen(path);
    if (wpath)
        DeleteFileW(wpath);
    free(wpath);
}

DWORD ctl_file_sha256(const char *path, uint8_t out[EDGE_SHA256_SIZE])
{
    struct crypto_sha256_ctx ctx;
    wchar_t *wpath = ctl_widen(path);
    HANDLE h = INVALID_HANDLE_VALUE;
    uint8_t *buf = NULL;
    DWORD err, got = 0;

    memset(out, 0, EDGE_SHA256_SIZE);
    ctx.hash = NULL;
    if (!wpath)
        return ERROR_INVALID_NAME;
    h = CreateFileW(wpath, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
                    FILE_FLAG_SEQUENTIAL_SCAN, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        err = GetLastError();
        goto out;
    }
    buf = malloc(CTL_HASH_CHUNK);
    if (!buf) {
        err = ERROR_NOT_ENOUGH_MEMORY;
        goto out;
    }
    err = crypto_sha256_begin(&ctx);
    /* Streamed: an image may be far larger than anything worth holding in memory. */
    while (err == ERROR_SUCCESS) {
        if (!ReadFile(h, buf, CTL_HASH_CHUNK, &got, NULL)) {
            err = GetLastError();
            break;
        }
        if (got == 0)
            break;
        err = crypto_sha256_update(&ctx, buf, got);
    }
    if (err == ERROR_SUCCESS)
        err = crypto_sha256_finish(&ctx, out);
out:
    crypto_sha256_abort(&ctx);
    free(buf);
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    free(wpath);
    return err;
}

static const char *file_error_text(DWORD err)
{
    switch (err) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
        return "no such file";
    case ERROR_FILE_EXISTS:
    case ERROR_ALREADY_EXISTS:
        return "the file already exists";
    case ERROR_ACCESS_DENIED:
        return "access denied";
    case ERROR_SHARING_VIOLATION:
        return "another program has the file open";
    case ERROR_FILE_TOO_LARGE:
        return "the file is too large to be what was asked for";
    case ERROR_INVALID_NAME:
        return "not a valid file name";
    default:
        return "the file could not be used";
    }
}

int ctl_file_fail(struct ctl *c, DWORD err, const char *doing, const char *path, const char *next)
{
    static struct ctl_err e;
    memset(&e, 0, sizeof(e));
    e.exit_code = CTL_EXIT_USAGE;
    e.code = "EDGECTL_FILE";
    e.value = -1;
    /* The descriptive cases need no number; anything else shows the Windows error. */
    if (err != ERROR_FILE_NOT_FOUND && err != ERROR_PATH_NOT_FOUND && err != ERROR_FILE_EXISTS &&
        err != ERROR_ALREADY_EXISTS && err != ERROR_FILE_TOO_LARGE)
        e.win32_error = err;
    snprintf(e.message, sizeof(e.message), "cannot %s %s: %s", doing, path, file_error_text(err));
    snprintf(e.next, sizeof(e.next), "%s",
             next ? next : "check the file name and that you may use the file");
    return ctl_report(c, &e);
}

int ctl_sr_fail(struct ctl *c, edge_result status, const char *fmt, ...)
{
    static struct ctl_err e;
    va_list ap;

    memset(&e, 0, sizeof(e));
    e.exit_code = ctl_exit_for(status);
    e.code = edge_result_name(status);
    e.value = status;
    va_start(ap, fmt);
    vsnprintf(e.message, sizeof(e.message), fmt, ap);
    va_end(ap);
    switch (status) {
    case EDGE_E_EXPIRED:
        snprintf(e.next, sizeof(e.next),
                 "ask the key holder for a request valid now (`edgectl sign ... --valid-for`)");
        break;
    case EDGE_E_IDENTITY_MISMATCH:
        snprintf(e.next, sizeof(e.next),
                 "sign a request for this image (`edgectl sign --image PATH ...`)");
        break;
    default:
        snprintf(e.next, sizeof(e.next),
                 "obtain a freshly signed request from the key holder (`edgectl sign`)");
        break;
    }
    return ctl_report(c, &e);
}

int ctl_read_signed_request(struct ctl *c, const char *path, uint8_t *blob, size_t *len)
{
    char *text = NULL;
    size_t tlen = 0;
    edge_sr parsed;
    edge_sr_result sr;
    DWORD err;

    *len = 0;
    err = ctl_file_read(path, CTL_SIGNED_FILE_MAX, &text, &tlen);
    if (err != ERROR_SUCCESS)
        return ctl_file_fail(c, err, "read the signed request", path,
                             "name the file `edgectl sign --out FILE` wrote");
    sr = edge_sr_base64_decode(text, tlen, blob, EDGE_MAX_SIGNED_REQUEST, len);
    free(text);
    if (sr == EDGE_SR_OK && *len == 0)
        sr = EDGE_SR_E_TOO_LARGE;
    if (sr != EDGE_SR_OK) {
        *len = 0;
        return ctl_sr_fail(
            c, EDGE_E_BAD_SIGNATURE,
            "%s is not a signed request file (%s): it must hold the base64 text "
            "`edgectl sign` writes",
            path, sr == EDGE_SR_E_BUFFER ? "larger than 4,096 bytes" : edge_sr_result_message(sr));
    }
    sr = edge_sr_parse(blob, *len, &parsed);
    if (sr != EDGE_SR_OK) {
        *len = 0;
        return ctl_sr_fail(c, EDGE_E_BAD_SIGNATURE, "%s is not a valid signed request: %s", path,
                           edge_sr_result_message(sr));
    }
    return CTL_EXIT_OK;
}
