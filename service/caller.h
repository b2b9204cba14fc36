/*
 * Caller identity: who is on the other end of a pipe connection, derived only from the pipe and
 * the kernel, never from anything the client says.
 *
 *   pid      GetNamedPipeClientProcessId
 *   process  OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION | SYNCHRONIZE), kept open for the
 *            connection's life: it pins the PID against reuse and is signalled when the client
 *            exits (the lease manager waits on it)
 *   image    QueryFullProcessImageNameW, and the SHA-256 of that file (CNG), cached by file
 *            identity
 *   user     user SID, session id and elevated-administrator status from the impersonation token
 *
 * Thread-safety: every function may be called from any thread; the hash cache is locked inside.
 */
#ifndef EDGE_SVC_CALLER_H
#define EDGE_SVC_CALLER_H

#include <windows.h>
#include <stdbool.h>
#include <stdint.h>

#define CALLER_SHA256_LEN 32
#define CALLER_SID_MAX    SECURITY_MAX_SID_SIZE

struct caller_identity {
    DWORD pid;
    DWORD session_id;
    HANDLE process;      /* owned; waitable, signalled when the client exits */
    wchar_t *image_path; /* owned; Win32 form from QueryFullProcessImageNameW */
    uint8_t image_sha256[CALLER_SHA256_LEN];
    DWORD sid_len;
    BYTE sid[CALLER_SID_MAX]; /* user SID of the pipe client's token */
    bool elevated;            /* TokenElevation */
    bool admin_member;        /* CheckTokenMembership(BUILTIN\Administrators) */
    bool is_admin;            /* caller_may_administer: may call administrator verbs */
    bool image_hash_cached;   /* the hash came from the cache (diagnostics, tests) */
};

/*
 * Identifies the client of the connected server end PIPE.  CONNECTED_AT is when the connection
 * completed (GetSystemTimeAsFileTime); a process created after it cannot be the one that opened
 * the pipe, so a recycled PID is refused.  At least one frame must have been read from the pipe
 * (impersonation before that fails with ERROR_CANNOT_IMPERSONATE on Windows).
 * On success fills *OUT (release with caller_identity_clear) and returns ERROR_SUCCESS; otherwise
 * returns a Win32 error and leaves *OUT cleared.  Anonymous clients are refused.
 * Never returns while impersonating: if RevertToSelf fails the process terminates (see caller.c).
 */
DWORD caller_identify(HANDLE pipe, const FILETIME *connected_at, struct caller_identity *out);

/* Releases what caller_identify filled and zeroes *ID.  Safe on a zeroed or cleared struct. */
void caller_identity_clear(struct caller_identity *id);

/* The waitable process handle (not a copy: valid while ID is), or NULL. */
HANDLE caller_process_handle(const struct caller_identity *id);

/*
 * The administrator gate (admin verbs, target_app, LIST ALL): edge_policy_may_administer on the
 * token facts of ID (elevated, member of BUILTIN\Administrators by SID, a user SID that is not
 * anonymous).  caller_read_token sets is_admin from it; the verb table asks it directly.
 */
bool caller_may_administer(const struct caller_identity *id);

/* True when both identities carry the same user SID. */
bool caller_same_user(const struct caller_identity *a, const struct caller_identity *b);

/*
 * Evaluates a token the way caller_identify does: user SID, session, elevated, admin membership.
 * TOKEN must be an impersonation token with TOKEN_QUERY (CheckTokenMembership needs one); the
 * image and process fields of *OUT are left untouched.  Exposed so that tests can feed synthetic
 * tokens on real Windows.
 */
DWORD caller_read_token(HANDLE token, struct caller_identity *out);

/*
 * SHA-256 of the file at PATH through CNG, served from a bounded cache keyed by volume serial
 * number, file index, size, last-write and change time.  *CACHE_HIT (optional) reports whether
 * the cache answered.  Returns a Win32 error.
 */
DWORD caller_image_sha256(const wchar_t *path, uint8_t out[CALLER_SHA256_LEN], bool *cache_hit);

/* Empties the hash cache (tests; the service never needs it). */
void caller_cache_flush(void);

#endif /* EDGE_SVC_CALLER_H */
