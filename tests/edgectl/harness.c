/* Child-process runs of edgectl.exe and golden-file comparison (see harness.h). */
#include <windows.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "edge/version.h"
#include "fake_server.h"
#include "harness.h"

#ifndef EDGECTL_GOLDEN_DIR
#error EDGECTL_GOLDEN_DIR must name tests/edgectl/golden
#endif

static HANDLE temp_file(const wchar_t *tag)
{
    static LONG n;
    wchar_t dir[MAX_PATH], path[MAX_PATH + 64];
    SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, TRUE};
    HANDLE h;
    assert_true(GetTempPathW(MAX_PATH, dir) > 0);
    swprintf(path, sizeof(path) / sizeof(path[0]), L"%lsedgectl-test-%lu-%ld-%ls.txt", dir,
             (unsigned long)GetCurrentProcessId(), (long)InterlockedIncrement(&n), tag);
    /* Deleted on close; the child inherits the handle, not the name. */
    h = CreateFileW(path, GENERIC_READ | GENERIC_WRITE,
                    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, &sa, CREATE_ALWAYS,
                    FILE_ATTRIBUTE_TEMPORARY | FILE_FLAG_DELETE_ON_CLOSE, NULL);
    assert_true(h != INVALID_HANDLE_VALUE);
    return h;
}

static char *read_all(HANDLE h)
{
    DWORD size, got = 0;
    char *buf;
    size = GetFileSize(h, NULL);
    assert_true(size != INVALID_FILE_SIZE && size < 16u * 1024u * 1024u);
    buf = malloc(size + 1);
    assert_non_null(buf);
    SetFilePointer(h, 0, NULL, FILE_BEGIN);
    assert_true(size == 0 || ReadFile(h, buf, size, &got, NULL));
    assert_int_equal(got, size);
    buf[size] = '\0';
    return buf;
}

/* Replaces every occurrence of from with to; returns a new string and frees s. */
static char *replace_all(char *s, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), count = 0, n;
    const char *p;
    char *out, *o;
    if (fl == 0)
        return s;
    for (p = strstr(s, from); p; p = strstr(p + fl, from))
        count++;
    if (count == 0)
        return s;
    n = strlen(s) + count * tl + 1;
    out = malloc(n);
    assert_non_null(out);
    o = out;
    for (p = s;;) {
        const char *hit = strstr(p, from);
        if (!hit)
            break;
        memcpy(o, p, (size_t)(hit - p));
        o += hit - p;
        memcpy(o, to, tl);
        o += tl;
        p = hit + fl;
    }
    strcpy(o, p);
    free(s);
    return out;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Local times "2025-03-01 14:05" (same width) and JSON Unix times become fixed text. */
static char *mask_times(char *s)
{
    static const char *const keys[] = {"\"created\":", "\"expires\":", "\"started\":"};
    static const char pattern[] = "dddd-dd-dd dd:dd";
    size_t i, k;
    char *p;

    for (p = s; *p; p++) {
        for (k = 0; pattern[k] && p[k]; k++)
            if (pattern[k] == 'd' ? !is_digit(p[k]) : p[k] != pattern[k])
                break;
        if (pattern[k] == '\0')
            memcpy(p, "YYYY-MM-DD hh:mm", sizeof(pattern) - 1);
    }
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        size_t kl = strlen(keys[i]);
        for (p = strstr(s, keys[i]); p; p = strstr(p + kl, keys[i])) {
            char *d = p + kl, *e = d;
            while (is_digit(*e))
                e++;
            if (e > d) {
                *d = 'T';
                memmove(d + 1, e, strlen(e) + 1);
            }
        }
    }
    return s;
}

static char *normalise(char *s, const char *pipe, const char *service)
{
    s = replace_all(s, "\r\n", "\n");
    if (pipe)
        s = replace_all(s, pipe, "edgectl-test-PIPE");
    if (service)
        s = replace_all(s, service, "edgectl-test-SVC");
    s = replace_all(s, EDGE_VERSION_STRING, "<VERSION>");
    return mask_times(s);
}

void ctl_run(const char *args, const char *pipe, const char *service, struct ctl_run *out)
{
    wchar_t exe[MAX_PATH], *slash, *cmd;
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    HANDLE fout = temp_file(L"out"), ferr = temp_file(L"err"), nul;
    SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, TRUE};
    DWORD code = 0;
    size_t n;
    int wn;

    memset(out, 0, sizeof(*out));
    /* Every exe of the build lands in <build>/bin, next to this test. */
    assert_true(GetModuleFileNameW(NULL, exe, MAX_PATH) > 0);
    slash = wcsrchr(exe, L'\\');
    assert_non_null(slash);
    wcscpy(slash + 1, L"edgectl.exe");
    n = strlen(args);
    cmd = malloc((wcslen(exe) + n + 8) * sizeof(wchar_t));
    assert_non_null(cmd);
    swprintf(cmd, wcslen(exe) + 4, L"\"%ls\" ", exe);
    wn = MultiByteToWideChar(CP_UTF8, 0, args, -1, cmd + wcslen(cmd), (int)n + 1);
    assert_true(wn > 0);
    nul = CreateFileW(L"NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa, OPEN_EXISTING,
                      0, NULL);
    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = nul;
    si.hStdOutput = fout;
    si.hStdError = ferr;
    assert_true(CreateProcessW(exe, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi));
    free(cmd);
    assert_int_equal(WaitForSingleObject(pi.hProcess, 60000), WAIT_OBJECT_0);
    assert_true(GetExitCodeProcess(pi.hProcess, &code));
    CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);
    if (nul != INVALID_HANDLE_VALUE)
        CloseHandle(nul);
    out->exit_code = (int)code;
    out->out = normalise(read_all(fout), pipe, service);
    out->err = normalise(read_all(ferr), pipe, service);
    CloseHandle(fout);
    CloseHandle(ferr);
}

void ctl_run_free(struct ctl_run *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

static char *read_golden(const char *path)
{
    FILE *f = fopen(path, "rb");
    long size;
    char *buf;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)size + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
    buf[size] = '\0';
    fclose(f);
    return buf;
}

int ctl_golden(const char *name, const char *args, const char *pipe, const char *service)
{
    struct ctl_run r;
    char path[512], *want, *got, *shown_args;
    const char *update = getenv("EDGECTL_UPDATE_GOLDEN");
    size_t n;
    int code;

    ctl_run(args, pipe, service, &r);
    n = strlen(args) + 1;
    shown_args = malloc(n);
    assert_non_null(shown_args);
    memcpy(shown_args, args, n);
    shown_args = normalise(shown_args, pipe, service);
    n = strlen(shown_args) + strlen(r.out) + strlen(r.err) + 128;
    got = malloc(n);
    assert_non_null(got);
    snprintf(got, n, "$ edgectl %s\nexit %d\n--- stdout\n%s--- stderr\n%s", shown_args, r.exit_code,
             r.out, r.err);
    snprintf(path, sizeof(path), "%s/%s.txt", EDGECTL_GOLDEN_DIR, name);
    if (update && strcmp(update, "1") == 0) {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        fwrite(got, 1, strlen(got), f);
        fclose(f);
    }
    want = read_golden(path);
    if (!want || strcmp(want, got) != 0) {
        print_message("golden %s differs.\n--- expected ---\n%s\n--- actual ---\n%s\n", name,
                      want ? want : "(missing file)", got);
        fail_msg("output of `edgectl %s` differs from golden/%s.txt", shown_args, name);
    }
    code = r.exit_code;
    free(want);
    free(got);
    free(shown_args);
    ctl_run_free(&r);
    return code;
}

int ctl_serve_setup(void **state)
{
    *state = fake_server_start();
    return 0;
}

int ctl_serve_teardown(void **state)
{
    fake_server_stop(*state);
    return 0;
}

void ctl_golden_served(const struct fake_server *fs, const char *name, const char *verb_args,
                       int want)
{
    char args[1024];
    snprintf(args, sizeof(args), "--pipe %s --insecure-test-server %s", fs->name, verb_args);
    assert_int_equal(ctl_golden(name, args, fs->name, NULL), want);
}
