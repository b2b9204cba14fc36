/*
 * The interim authorization decision: who gets a lease until the policy engine (authorization
 * issue) replaces this module.
 *
 * The rule, in order:
 *   1. a request naming an executable other than the caller's own (target_app) is refused with
 *      EDGE_E_IDENTITY_MISMATCH unless the caller is an elevated administrator;
 *   2. an elevated administrator is granted;
 *   3. an application whose canonical image path matches an AllowedApplications pattern, or whose
 *      image SHA-256 is in AllowedImageHashes, is granted;
 *   4. everything else is refused with EDGE_E_DENIED and a detail that says what an administrator
 *      would have to add.
 *
 * grant_policy_decide is ONE pure function of its arguments, so that tests can drive it with
 * synthetic identities and so that the policy engine can replace it without touching its callers.
 * Loading the allow-lists from the registry is separate (grant_policy_config_load).
 *
 * Local configuration (HKLM\SOFTWARE\EdgeBroker, 64-bit view):
 *   AllowedApplications  REG_MULTI_SZ (or REG_SZ): image paths or path patterns (edge/path.h:
 *                        '*' within a segment, '**' for whole segments); %VARIABLES% are expanded
 *                        with the service's environment before the pattern is checked.
 *   AllowedImageHashes   REG_MULTI_SZ (or REG_SZ): SHA-256 values, 64 hex digits each.
 * Malformed entries are skipped and counted (never widen the allow-list by guessing).
 *
 * Thread-safety: decide is reentrant; a loaded config is read-only and may be shared by threads.
 */
#ifndef EDGE_SVC_GRANT_POLICY_H
#define EDGE_SVC_GRANT_POLICY_H

#include <windows.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edge/protocol.h"
#include "edge/status.h"

struct caller_identity;

#define GRANT_POLICY_KEY           L"SOFTWARE\\EdgeBroker"
#define GRANT_POLICY_MAX_ENTRIES   1024u          /* per list; more are counted as malformed */
#define GRANT_POLICY_MAX_VALUE     (256u * 1024u) /* bytes of one registry value */
#define GRANT_POLICY_PROBLEMS_SIZE 512u

/* The allow-lists.  Zero-initialise, fill with the add functions or the loader, then free. */
struct grant_policy_config {
    char **app_patterns; /* UTF-8, NUL-terminated, each passed edge_path_pattern_check */
    size_t app_pattern_count;
    uint8_t (*image_hashes)[EDGE_SHA256_SIZE];
    size_t image_hash_count;
    uint32_t malformed;                        /* entries skipped by the loader */
    char problems[GRANT_POLICY_PROBLEMS_SIZE]; /* first problems found, for the audit trail */
};

/* The facts of one request that the decision looks at. */
struct grant_policy_request {
    const char *image_path; /* canonical UTF-8 path of the application the rule is for */
    size_t image_path_len;
    const uint8_t *image_sha256; /* EDGE_SHA256_SIZE bytes, or NULL when unknown */
    bool other_app;              /* target_app names an executable other than the caller's */
};

enum grant_basis {
    GRANT_BASIS_NONE = 0,     /* refused */
    GRANT_BASIS_ADMIN = 1,    /* elevated administrator */
    GRANT_BASIS_APP_PATH = 2, /* AllowedApplications matched */
    GRANT_BASIS_APP_HASH = 3  /* AllowedImageHashes matched */
};

struct grant_decision {
    edge_status status; /* EDGE_OK, EDGE_E_DENIED or EDGE_E_IDENTITY_MISMATCH */
    enum grant_basis basis;
    char reason[EDGE_MAX_TEXT + 1]; /* valid UTF-8 sentence, always NUL-terminated */
};

/*
 * Decides REQ for CALLER under CFG (either may be NULL: a NULL caller is never an administrator,
 * a NULL config allow-lists nothing).  Fills *OUT completely.  Pure: no I/O, no clock, no globals.
 */
void grant_policy_decide(const struct caller_identity *caller,
                         const struct grant_policy_request *req,
                         const struct grant_policy_config *cfg, struct grant_decision *out);

/*
 * Adds one AllowedApplications entry (UTF-8, len bytes, no %VARIABLES%).  Returns EDGE_OK,
 * EDGE_E_BAD_REQUEST (not a valid pattern, or the list is full) or EDGE_E_NO_MEMORY.
 */
edge_status grant_policy_add_pattern(struct grant_policy_config *cfg, const char *pattern,
                                     size_t len);

/* Adds one AllowedImageHashes entry (64 hex digits, either case).  As add_pattern. */
edge_status grant_policy_add_hash_hex(struct grant_policy_config *cfg, const char *hex, size_t len);

/*
 * Reads AllowedApplications and AllowedImageHashes from ROOT\SUBKEY (64-bit view; the service
 * passes HKEY_LOCAL_MACHINE and GRANT_POLICY_KEY) into *CFG, which is freed and reset first.  A
 * missing key or value is an empty list.  Malformed entries are skipped, counted in
 * cfg->malformed and described in cfg->problems.  Returns ERROR_SUCCESS or the Win32 error that
 * stopped the load (the config is then empty: nothing is allow-listed).
 */
DWORD grant_policy_config_load(HKEY root, const wchar_t *subkey, struct grant_policy_config *cfg);

/* Frees what the config holds and zeroes it.  Safe on a zeroed config. */
void grant_policy_config_free(struct grant_policy_config *cfg);

/* Stable lower-case name of a basis ("admin", "allowed-path", ...). */
const char *grant_basis_name(enum grant_basis basis);

#endif /* EDGE_SVC_GRANT_POLICY_H */
