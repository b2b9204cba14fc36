/*
 * Caller identity: this test process as seen through a pipe (pid, image, hash, SID, session,
 * admin), the image-hash cache (hit, miss after change), the recycled-PID refusal, and a
 * non-administrator token (real Windows only).
 */
#include <windows.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <cmocka.h>

#include "caller.h"
#include "edge/sha256.h"
#include "wine_detect.h"

struct pipe_pair {
    HANDLE server, client;
    FILETIME connected_at;
};

/* A connected pipe in this process, with one byte read by the server (impersonation needs it). */
static void pair_open(struct pipe_pair *p)
{
    static LONG seq;
    wchar_t name[96];
    uint8_t b = 0x5a;
    DWORD n = 0;

    swprintf(name, 96, L"\\\\.\\pipe\\edgetest-caller-%lu-%ld", GetCurrentProcessId(),
             InterlockedIncrement(&seq));
    p->server = CreateNamedPipeW(name, PIPE_ACCESS_DUPLEX,
                                 PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT, 1, 512, 512,
                                 0, NULL);
    assert_true(p->server != INVALID_HANDLE_VALUE);
    p->client = CreateFileW(name, GENERIC_READ | FILE_WRITE_DATA | FILE_WRITE_ATTRIBUTES, 0, NULL,
                            OPEN_EXISTING, SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION, NULL);
    assert_true(p->client != INVALID_HANDLE_VALUE);
    GetSystemTimeAsFileTime(&p->connected_at);
    assert_true(WriteFile(p->client, &b, 1, &n, NULL));
    assert_true(ReadFile(p->server, &b, 1, &n, NULL));
    assert_int_equal(n, 1);
}

static void pair_close(struct pipe_pair *p)
{
    CloseHandle(p->client);
    CloseHandle(p->server);
}

/* SHA-256 of a file through the portable implementation: independent of CNG and of caller.c. */
static void independent_sha256(const wchar_t *path, uint8_t out[32])
{
    edge_sha256_ctx ctx;
    uint8_t buf[65536];
    DWORD n;
    HANDLE f = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_DELETE, NULL,
                           OPEN_EXISTING, 0, NULL);

    assert_true(f != INVALID_HANDLE_VALUE);
    edge_sha256_init(&ctx);
    while (ReadFile(f, buf, sizeof(buf), &n, NULL) && n > 0)
        edge_sha256_update(&ctx, buf, n);
    edge_sha256_final(&ctx, out);
    CloseHandle(f);
}

static void own_user_sid(BYTE *sid, DWORD cap)
{
    union {
        TOKEN_USER user;
        BYTE raw[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
    } tu;
    HANDLE token;
    DWORD len;

    assert_true(OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token));
    assert_true(GetTokenInformation(token, TokenUser, &tu, sizeof(tu), &len));
    assert_true(CopySid(cap, sid, tu.user.User.Sid));
    CloseHandle(token);
}

static void test_own_identity_through_pipe(void **state)
{
    struct pipe_pair p;
    struct caller_identity id;
    wchar_t self[MAX_PATH];
    uint8_t want[32];
    BYTE sid[SECURITY_MAX_SID_SIZE];
    DWORD session = 0;

    (void)state;
    pair_open(&p);
    assert_int_equal(caller_identify(p.server, &p.connected_at, &id), ERROR_SUCCESS);
    assert_int_equal(id.pid, GetCurrentProcessId());
    assert_non_null(id.process);
    assert_int_equal(WaitForSingleObject(caller_process_handle(&id), 0), WAIT_TIMEOUT);
    assert_true(GetModuleFileNameW(NULL, self, MAX_PATH) > 0);
    print_message("image: %ls\n", id.image_path);
    assert_int_equal(_wcsicmp(id.image_path, self), 0);
    independent_sha256(self, want);
    assert_memory_equal(id.image_sha256, want, 32);
    own_user_sid(sid, sizeof(sid));
    assert_int_equal(id.sid_len, GetLengthSid(sid));
    assert_true(EqualSid((PSID)id.sid, sid));
    assert_true(ProcessIdToSessionId(GetCurrentProcessId(), &session));
    assert_int_equal(id.session_id, session);
    assert_true(id.is_admin == (id.elevated && id.admin_member));
    if (edge_test_under_wine())
        assert_true(id.is_admin); /* every Wine process is an elevated administrator */
    caller_identity_clear(&id);
    assert_null(id.process);
    assert_null(id.image_path);
    pair_close(&p);
}

static void test_hash_cache_hit_on_second_lookup(void **state)
{
    struct pipe_pair p;
    struct caller_identity a, b;

    (void)state;
    caller_cache_flush();
    pair_open(&p);
    assert_int_equal(caller_identify(p.server, &p.connected_at, &a), ERROR_SUCCESS);
    assert_false(a.image_hash_cached);
    assert_int_equal(caller_identify(p.server, &p.connected_at, &b), ERROR_SUCCESS);
    assert_true(b.image_hash_cached);
    assert_memory_equal(a.image_sha256, b.image_sha256, 32);
    caller_identity_clear(&a);
    caller_identity_clear(&b);
    pair_close(&p);
}

/* Copies our own image to a temporary file, to have a real binary we may modify. */
static void temp_copy_of_self(wchar_t *path)
{
    wchar_t self[MAX_PATH], dir[MAX_PATH];

    assert_true(GetModuleFileNameW(NULL, self, MAX_PATH) > 0);
    assert_true(GetTempPathW(MAX_PATH, dir) > 0);
    assert_true(GetTempFileNameW(dir, L"edg", 0, path) != 0);
    assert_true(CopyFileW(self, path, FALSE));
}

static void overwrite_first_byte(const wchar_t *path, uint8_t v, const FILETIME *restore)
{
    HANDLE f =
        CreateFileW(path, GENERIC_WRITE | FILE_WRITE_ATTRIBUTES, 0, NULL, OPEN_EXISTING, 0, NULL);
    DWORD n;

    assert_true(f != INVALID_HANDLE_VALUE);
    assert_true(WriteFile(f, &v, 1, &n, NULL));
    if (restore)
        assert_true(SetFileTime(f, NULL, NULL, restore));
    CloseHandle(f);
}

static void test_hash_cache_miss_after_change(void **state)
{
    wchar_t path[MAX_PATH];
    uint8_t h1[32], h2[32], h3[32], want[32];
    WIN32_FILE_ATTRIBUTE_DATA attr;
    bool hit = true;

    (void)state;
    caller_cache_flush();
    temp_copy_of_self(path);
    assert_int_equal(caller_image_sha256(path, h1, &hit), ERROR_SUCCESS);
    assert_false(hit);
    assert_int_equal(caller_image_sha256(path, h2, &hit), ERROR_SUCCESS);
    assert_true(hit);
    assert_memory_equal(h1, h2, 32);
    /* Same size, new content: the last-write time moves, the cache must miss. */
    Sleep(20);
    overwrite_first_byte(path, 'X', NULL);
    assert_int_equal(caller_image_sha256(path, h3, &hit), ERROR_SUCCESS);
    assert_false(hit);
    independent_sha256(path, want);
    assert_memory_equal(h3, want, 32);
    assert_memory_not_equal(h1, h3, 32);
    /* Content changed again and the last-write time put back: the change time still differs. */
    assert_true(GetFileAttributesExW(path, GetFileExInfoStandard, &attr));
    Sleep(20);
    overwrite_first_byte(path, 'Y', &attr.ftLastWriteTime);
    assert_int_equal(caller_image_sha256(path, h3, &hit), ERROR_SUCCESS);
    assert_false(hit);
    independent_sha256(path, want);
    assert_memory_equal(h3, want, 32);
    assert_true(DeleteFileW(path));
}

static void test_process_newer_than_connection_refused(void **state)
{
    struct pipe_pair p;
    struct caller_identity id;
    FILETIME long_ago = {0, 0}; /* 1601: any process was created after this "connection" */

    (void)state;
    pair_open(&p);
    /* As if the PID had been recycled: the process is younger than the connection. */
    assert_int_equal(caller_identify(p.server, &long_ago, &id), ERROR_ACCESS_DENIED);
    assert_null(id.process);
    assert_null(id.image_path);
    pair_close(&p);
}

static void test_missing_image_reports_error(void **state)
{
    uint8_t h[32];
    bool hit = true;

    (void)state;
    assert_int_equal(caller_image_sha256(L"C:\\no\\such\\edgebroker-test.exe", h, &hit),
                     ERROR_PATH_NOT_FOUND);
    assert_false(hit);
}

/*
 * A token with Administrators as deny-only, as UAC gives a standard session: it must not be an
 * administrator even though the group is present.
 */
static void test_non_admin_token_is_not_admin(void **state)
{
    BYTE admins[SECURITY_MAX_SID_SIZE];
    DWORD alen = sizeof(admins);
    SID_AND_ATTRIBUTES deny;
    HANDLE token, restricted, imp;
    struct caller_identity id;

    (void)state;
    edge_test_skip_under_wine("Wine cannot create non-administrator tokens: every Wine process "
                              "is an elevated administrator");
    assert_true(CreateWellKnownSid(WinBuiltinAdministratorsSid, NULL, admins, &alen));
    deny.Sid = admins;
    deny.Attributes = 0;
    assert_true(OpenProcessToken(GetCurrentProcess(), TOKEN_ALL_ACCESS, &token));
    assert_true(CreateRestrictedToken(token, 0, 1, &deny, 0, NULL, 0, NULL, &restricted));
    assert_true(DuplicateToken(restricted, SecurityIdentification, &imp));
    memset(&id, 0, sizeof(id));
    assert_int_equal(caller_read_token(imp, &id), ERROR_SUCCESS);
    assert_false(id.admin_member);
    assert_false(id.is_admin);
    CloseHandle(imp);
    CloseHandle(restricted);
    CloseHandle(token);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_own_identity_through_pipe),
        cmocka_unit_test(test_hash_cache_hit_on_second_lookup),
        cmocka_unit_test(test_hash_cache_miss_after_change),
        cmocka_unit_test(test_process_newer_than_connection_refused),
        cmocka_unit_test(test_missing_image_reports_error),
        cmocka_unit_test(test_non_admin_token_is_not_admin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
