/*
 * Caller identity from the pipe and the kernel (see caller.h).
 */
#include "caller.h"
#include "config.h"
#include "file_identity.h"
#include "edge/policy.h"

#include <sddl.h>

#include <bcrypt.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define CALLER_PATH_MAX  32768u
#define CALLER_HASH_READ (64u * 1024u)

/* ---- image hash cache ---------------------------------------------------------------------- */

struct cache_entry {
    bool valid;
    struct file_identity key;
    ULONGLONG inserted;  /* GetTickCount64 */
    ULONGLONG last_used; /* for LRU eviction */
    uint8_t sha256[CALLER_SHA256_LEN];
};

static SRWLOCK g_cache_lock = SRWLOCK_INIT;
static struct cache_entry g_cache[CALLER_CACHE_ENTRIES];

static INIT_ONCE g_sha_once = INIT_ONCE_STATIC_INIT;
static BCRYPT_ALG_HANDLE g_sha_alg;

static BOOL CALLBACK open_sha256(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
    (void)once;
    (void)param;
    (void)ctx;
    return BCRYPT_SUCCESS(
        BCryptOpenAlgorithmProvider(&g_sha_alg, BCRYPT_SHA256_ALGORITHM, NULL, 0));
}

static bool cache_lookup(const struct file_identity *key, uint8_t out[CALLER_SHA256_LEN])
{
    ULONGLONG now = GetTickCount64();
    bool hit = false;
    size_t i;

    AcquireSRWLockExclusive(&g_cache_lock);
    for (i = 0; i < CALLER_CACHE_ENTRIES; i++) {
        struct cache_entry *e = &g_cache[i];
        if (!e->valid || !file_identity_equal(&e->key, key))
            continue;
        if (now - e->inserted > CALLER_CACHE_MAX_AGE_MS) {
            e->valid = false;
            break;
        }
        e->last_used = now;
        memcpy(out, e->sha256, CALLER_SHA256_LEN);
        hit = true;
        break;
    }
    ReleaseSRWLockExclusive(&g_cache_lock);
    return hit;
}

static void cache_insert(const struct file_identity *key, const uint8_t sha[CALLER_SHA256_LEN])
{
    ULONGLONG now = GetTickCount64();
    struct cache_entry *victim = &g_cache[0];
    size_t i;

    AcquireSRWLockExclusive(&g_cache_lock);
    for (i = 0; i < CALLER_CACHE_ENTRIES; i++) {
        struct cache_entry *e = &g_cache[i];
        if (e->valid && file_identity_equal(&e->key, key)) {
            victim = e;
            break;
        }
        if (!e->valid) {
            victim = e;
            break;
        }
        if (e->last_used < victim->last_used)
            victim = e;
    }
    victim->valid = true;
    victim->key = *key;
    victim->inserted = now;
    victim->last_used = now;
    memcpy(victim->sha256, sha, CALLER_SHA256_LEN);
    ReleaseSRWLockExclusive(&g_cache_lock);
}

void caller_cache_flush(void)
{
    AcquireSRWLockExclusive(&g_cache_lock);
    memset(g_cache, 0, sizeof(g_cache));
    ReleaseSRWLockExclusive(&g_cache_lock);
}

static DWORD hash_file(HANDLE file, uint8_t out[CALLER_SHA256_LEN])
{
    BCRYPT_HASH_HANDLE hash = NULL;
    BYTE *buf = NULL;
    DWORD err = ERROR_SUCCESS;
    DWORD got;
    LARGE_INTEGER zero;

    if (!InitOnceExecuteOnce(&g_sha_once, open_sha256, NULL, NULL))
        return ERROR_NOT_SUPPORTED;
    buf = malloc(CALLER_HASH_READ);
    if (!buf)
        return ERROR_NOT_ENOUGH_MEMORY;
    zero.QuadPart = 0;
    if (!SetFilePointerEx(file, zero, NULL, FILE_BEGIN)) {
        err = GetLastError();
        goto out;
    }
    if (!BCRYPT_SUCCESS(BCryptCreateHash(g_sha_alg, &hash, NULL, 0, NULL, 0, 0))) {
        err = ERROR_NOT_SUPPORTED;
        goto out;
    }
    for (;;) {
        if (!ReadFile(file, buf, CALLER_HASH_READ, &got, NULL)) {
            err = GetLastError();
            goto out;
        }
        if (got == 0)
            break;
        if (!BCRYPT_SUCCESS(BCryptHashData(hash, buf, got, 0))) {
            err = ERROR_INVALID_DATA;
            goto out;
        }
    }
    if (!BCRYPT_SUCCESS(BCryptFinishHash(hash, out, CALLER_SHA256_LEN, 0)))
        err = ERROR_INVALID_DATA;
out:
    if (hash)
        BCryptDestroyHash(hash);
    free(buf);
    return err;
}

DWORD caller_image_sha256(const wchar_t *path, uint8_t out[CALLER_SHA256_LEN], bool *cache_hit)
{
    HANDLE file;
    struct file_identity key, after;
    DWORD err;

    memset(out, 0, CALLER_SHA256_LEN);
    if (cache_hit)
        *cache_hit = false;
    /* No FILE_SHARE_WRITE: a file someone is writing right now is not hashed. */
    file = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
                       FILE_FLAG_SEQUENTIAL_SCAN, NULL);
    if (file == INVALID_HANDLE_VALUE)
        return GetLastError();
    err = file_identity_read(file, &key);
    if (err != ERROR_SUCCESS)
        goto out;
    if (cache_lookup(&key, out)) {
        if (cache_hit)
            *cache_hit = true;
        goto out;
    }
    /* Hash through the same handle whose identity was read, so key and content match. */
    err = hash_file(file, out);
    if (err != ERROR_SUCCESS)
        goto out;
    err = file_identity_read(file, &after);
    if (err != ERROR_SUCCESS)
        goto out;
    if (file_identity_equal(&key, &after))
        cache_insert(&key, out);
out:
    if (err != ERROR_SUCCESS)
        memset(out, 0, CALLER_SHA256_LEN);
    CloseHandle(file);
    return err;
}

/* ---- token --------------------------------------------------------------------------------- */

DWORD caller_read_token(HANDLE token, struct caller_identity *out)
{
    union {
        TOKEN_USER user;
        BYTE raw[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
    } user;
    TOKEN_ELEVATION elevation;
    BYTE admins[SECURITY_MAX_SID_SIZE];
    DWORD admins_len = sizeof(admins);
    DWORD len, session = 0;
    BOOL member = FALSE;

    out->sid_len = 0;
    out->elevated = out->admin_member = out->is_admin = false;
    if (!GetTokenInformation(token, TokenUser, &user, sizeof(user), &len))
        return GetLastError();
    if (!IsValidSid(user.user.User.Sid) || IsWellKnownSid(user.user.User.Sid, WinAnonymousSid))
        return ERROR_ACCESS_DENIED;
    len = GetLengthSid(user.user.User.Sid);
    if (len > sizeof(out->sid) || !CopySid(sizeof(out->sid), out->sid, user.user.User.Sid))
        return ERROR_INVALID_SID;
    if (!GetTokenInformation(token, TokenSessionId, &session, sizeof(session), &len))
        return GetLastError();
    if (!GetTokenInformation(token, TokenElevation, &elevation, sizeof(elevation), &len))
        return GetLastError();
    /* By SID, never by name: names are localised and can be spoofed by local accounts. */
    if (!CreateWellKnownSid(WinBuiltinAdministratorsSid, NULL, admins, &admins_len))
        return GetLastError();
    /* Deny-only groups (a UAC-filtered admin token) do not count as membership here. */
    if (!CheckTokenMembership(token, admins, &member))
        return GetLastError();
    out->sid_len = GetLengthSid(out->sid);
    out->session_id = session;
    out->elevated = elevation.TokenIsElevated != 0;
    out->admin_member = member != FALSE;
    out->is_admin = caller_may_administer(out);
    return ERROR_SUCCESS;
}

bool caller_may_administer(const struct caller_identity *id)
{
    edge_policy_identity pid;
    char *sid = NULL;
    bool ok;

    if (!id || id->sid_len == 0 || !IsValidSid((PSID)id->sid) ||
        !ConvertSidToStringSidA((PSID)id->sid, &sid))
        return false;
    memset(&pid, 0, sizeof(pid));
    pid.user_sid = sid;
    pid.elevated = id->elevated;
    pid.admin_member = id->admin_member;
    pid.image_path = "";
    ok = edge_policy_may_administer(&pid);
    LocalFree(sid);
    return ok;
}

/*
 * Captures the client's token.  The thread impersonates only for OpenThreadToken.  If RevertToSelf
 * fails the thread would go on running service code under the client's identity -- every later
 * request on this pool thread would be checked and executed as that user (or, worse, as an
 * administrator who connected earlier).  There is no safe way to continue, so the process is
 * terminated; the SCM's recovery actions restart it.
 */
static DWORD capture_client_token(HANDLE pipe, HANDLE *token)
{
    DWORD err = ERROR_SUCCESS;

    *token = NULL;
    if (!ImpersonateNamedPipeClient(pipe))
        return GetLastError();
    /* OpenAsSelf: the access check on the thread token uses the service's own identity. */
    if (!OpenThreadToken(GetCurrentThread(), TOKEN_QUERY, TRUE, token)) {
        err = GetLastError();
        *token = NULL;
    }
    if (!RevertToSelf())
        TerminateProcess(GetCurrentProcess(), ERROR_CANNOT_IMPERSONATE);
    return err;
}

/* ---- identify ------------------------------------------------------------------------------ */

static DWORD query_image_path(HANDLE process, wchar_t **path)
{
    wchar_t *buf;
    DWORD len = CALLER_PATH_MAX;
    DWORD err = ERROR_SUCCESS;

    *path = NULL;
    buf = malloc(CALLER_PATH_MAX * sizeof(wchar_t));
    if (!buf)
        return ERROR_NOT_ENOUGH_MEMORY;
    if (!QueryFullProcessImageNameW(process, 0, buf, &len)) {
        err = GetLastError();
        goto out;
    }
    *path = _wcsdup(buf);
    if (!*path)
        err = ERROR_NOT_ENOUGH_MEMORY;
out:
    free(buf);
    return err;
}

DWORD caller_identify(HANDLE pipe, const FILETIME *connected_at, struct caller_identity *out)
{
    struct caller_identity id;
    HANDLE token = NULL;
    FILETIME created, exited, kernel, user;
    bool hit = false;
    DWORD err;

    memset(out, 0, sizeof(*out));
    memset(&id, 0, sizeof(id));
    if (!GetNamedPipeClientProcessId(pipe, &id.pid)) {
        err = GetLastError();
        goto out;
    }
    id.process = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION | SYNCHRONIZE, FALSE, id.pid);
    if (!id.process) {
        err = GetLastError();
        goto out;
    }
    /*
     * The PID is only pinned from here on.  A process that has already exited, or that was
     * created after the connection completed, is not the one that opened the pipe (the PID was
     * recycled, or the opener died and left the handle to another process): refuse.
     */
    if (WaitForSingleObject(id.process, 0) != WAIT_TIMEOUT) {
        err = ERROR_ACCESS_DENIED;
        goto out;
    }
    if (!GetProcessTimes(id.process, &created, &exited, &kernel, &user)) {
        err = GetLastError();
        goto out;
    }
    if (connected_at && CompareFileTime(&created, connected_at) > 0) {
        err = ERROR_ACCESS_DENIED;
        goto out;
    }
    err = query_image_path(id.process, &id.image_path);
    if (err != ERROR_SUCCESS)
        goto out;
    err = caller_image_sha256(id.image_path, id.image_sha256, &hit);
    if (err != ERROR_SUCCESS)
        goto out;
    id.image_hash_cached = hit;
    err = capture_client_token(pipe, &token);
    if (err != ERROR_SUCCESS)
        goto out;
    err = caller_read_token(token, &id);
    if (err != ERROR_SUCCESS)
        goto out;
    *out = id;
    memset(&id, 0, sizeof(id));
out:
    if (token)
        CloseHandle(token);
    caller_identity_clear(&id);
    return err;
}

void caller_identity_clear(struct caller_identity *id)
{
    if (!id)
        return;
    if (id->process)
        CloseHandle(id->process);
    free(id->image_path);
    memset(id, 0, sizeof(*id));
}

HANDLE caller_process_handle(const struct caller_identity *id)
{
    return id ? id->process : NULL;
}

bool caller_same_user(const struct caller_identity *a, const struct caller_identity *b)
{
    return a && b && a->sid_len != 0 && a->sid_len == b->sid_len &&
           memcmp(a->sid, b->sid, a->sid_len) == 0;
}
