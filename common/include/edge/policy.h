/*
 * Authorization policy: the effective policy values (docs/policy.md), their strict parsers, and
 * the decision function.
 *
 * Everything here is pure: no registry, no clock, no I/O.  The service's registry source reads
 * each value (Group Policy key, else local key, else default), hands the raw value to
 * edge_policy_set_strings / edge_policy_set_dword, and on a parse error logs and audits the
 * message in edge_policy_parse_info and keeps the value's default (the "malformed value -> safe
 * default" rule: a value is applied whole or not at all, never partly).
 *
 * edge_policy_decide evaluates one request in the order documented in docs/policy.md
 * ("Decision order") and records a trace of every element it looked at.  Quotas
 * (MaxLeasesPerUser / MaxLeasesPerApp) are NOT applied here: they depend on the live lease table,
 * which applies them when the lease is added (edge_lease_table_add).
 *
 * Thread-safety: all functions are reentrant; an edge_policy that is no longer modified may be
 * read by any number of threads at once.
 */
#ifndef EDGE_POLICY_H
#define EDGE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edge/path.h"
#include "edge/protocol.h"
#include "edge/signed_request.h"
#include "edge/status.h"

/* ---- values ---- */

/* Policy value ids, in docs/policy.md table order. */
typedef enum edge_policy_value {
    EDGE_POLICY_V_MODE = 0,
    EDGE_POLICY_V_ALLOWED_APPLICATIONS,
    EDGE_POLICY_V_ALLOWED_IMAGE_HASHES,
    EDGE_POLICY_V_ALLOWED_PUBLISHERS,
    EDGE_POLICY_V_TRUSTED_SIGNER_KEYS,
    EDGE_POLICY_V_ALLOWED_PROTOCOLS,
    EDGE_POLICY_V_ALLOWED_PORTS,
    EDGE_POLICY_V_DEFAULT_LEASE_SECONDS,
    EDGE_POLICY_V_MAX_LEASE_SECONDS,
    EDGE_POLICY_V_MAX_LEASES_PER_USER,
    EDGE_POLICY_V_MAX_LEASES_PER_APP,
    EDGE_POLICY_V_EDGE_TRAVERSAL,
    EDGE_POLICY_V_PROFILES,
    EDGE_POLICY_V_CONSENT_BY,
    EDGE_POLICY_V_CONSENT_TIMEOUT_SECONDS,
    EDGE_POLICY_V_CONSENT_REMEMBER_SECONDS,
    EDGE_POLICY_V_AUDIT_LEVEL,
    EDGE_POLICY_V_COUNT_ /* not a value; the number of values */
} edge_policy_value;

/* Registry type of a value. */
typedef enum edge_policy_kind {
    EDGE_POLICY_KIND_SZ = 1,       /* REG_SZ: exactly one string */
    EDGE_POLICY_KIND_MULTI_SZ = 2, /* REG_MULTI_SZ: zero or more strings (REG_SZ = one item) */
    EDGE_POLICY_KIND_DWORD = 3     /* REG_DWORD */
} edge_policy_kind;

/* Where an effective value came from.  Names are those of the POLICY reply's source field. */
typedef enum edge_policy_source {
    EDGE_POLICY_SRC_DEFAULT = 0, /* "default" */
    EDGE_POLICY_SRC_LOCAL = 1,   /* "local": HKLM\SOFTWARE\EdgeBroker */
    EDGE_POLICY_SRC_POLICY = 2   /* "policy": HKLM\SOFTWARE\Policies\EdgeBroker (Group Policy) */
} edge_policy_source;

typedef enum edge_policy_mode {
    EDGE_POLICY_MODE_OFF = 0,
    EDGE_POLICY_MODE_ALLOW_LIST_ONLY = 1,
    EDGE_POLICY_MODE_SIGNED_OR_ALLOW_LISTED = 2,
    EDGE_POLICY_MODE_CONSENT = 3
} edge_policy_mode;

typedef enum edge_policy_consent_by {
    EDGE_POLICY_CONSENT_BY_ADMINISTRATORS = 1,
    EDGE_POLICY_CONSENT_BY_INTERACTIVE_USER = 2
} edge_policy_consent_by;

typedef enum edge_policy_audit_level {
    EDGE_POLICY_AUDIT_MINIMAL = 1,
    EDGE_POLICY_AUDIT_VERBOSE = 2
} edge_policy_audit_level;

/* AllowedProtocols bits. */
#define EDGE_POLICY_PROTO_TCP 0x1u
#define EDGE_POLICY_PROTO_UDP 0x2u

/* Profiles bits: the values of NET_FW_PROFILE_TYPE2, so the firewall can take them as they are. */
#define EDGE_POLICY_PROFILE_DOMAIN  0x1u
#define EDGE_POLICY_PROFILE_PRIVATE 0x2u
#define EDGE_POLICY_PROFILE_PUBLIC  0x4u

#define EDGE_POLICY_MAX_LIST        1024u /* entries in one list value */
#define EDGE_POLICY_MAX_PORT_RANGES 64u   /* entries in AllowedPorts */
#define EDGE_POLICY_MAX_PUBLISHER   EDGE_MAX_TEXT

typedef struct edge_port_range {
    uint16_t lo; /* 1..65535 */
    uint16_t hi; /* lo..65535 */
} edge_port_range;

/* A list of NUL-terminated UTF-8 strings in one allocation (items and text); free(items). */
typedef struct edge_policy_strings {
    char **items;
    uint32_t count;
} edge_policy_strings;

typedef struct edge_policy_key {
    uint8_t id[EDGE_SR_KEY_ID_LEN];    /* edge_sr_key_id(point) */
    uint8_t point[EDGE_SR_PUBKEY_LEN]; /* 0x04 || X || Y */
} edge_policy_key;

/*
 * The effective policy.  Initialise with edge_policy_init_defaults, change with the setters,
 * release with edge_policy_free.  Fields may be read directly; lists are owned by the struct.
 */
typedef struct edge_policy {
    edge_policy_source source[EDGE_POLICY_V_COUNT_];
    edge_policy_mode mode;
    edge_policy_strings app_patterns; /* each passed edge_path_pattern_check */
    uint8_t (*image_hashes)[EDGE_SHA256_SIZE];
    uint32_t image_hash_count;
    edge_policy_strings publishers; /* Authenticode subjects, compared ASCII case-insensitively */
    edge_policy_key *keys;
    uint32_t key_count;
    uint32_t protocols; /* EDGE_POLICY_PROTO_* */
    edge_port_range ports[EDGE_POLICY_MAX_PORT_RANGES];
    uint32_t port_count;
    uint32_t default_lease_seconds;
    uint32_t max_lease_seconds;
    uint32_t max_leases_per_user;
    uint32_t max_leases_per_app;
    uint8_t edge_option; /* EDGE_TRAVERSAL_ALLOW / _DEFER_TO_APP */
    uint32_t profiles;   /* EDGE_POLICY_PROFILE_* */
    edge_policy_consent_by consent_by;
    uint32_t consent_timeout_seconds;
    uint32_t consent_remember_seconds; /* 0: decisions are not remembered */
    edge_policy_audit_level audit_level;
} edge_policy;

typedef enum edge_policy_parse_err {
    EDGE_POLICY_PARSE_OK = 0,
    EDGE_POLICY_PARSE_E_ARG = 1,        /* NULL argument, unknown value id, wrong setter */
    EDGE_POLICY_PARSE_E_EMPTY = 2,      /* value or list entry empty where not allowed */
    EDGE_POLICY_PARSE_E_ENCODING = 3,   /* not UTF-8, contains NUL or a control character */
    EDGE_POLICY_PARSE_E_KEYWORD = 4,    /* not one of the value's keywords */
    EDGE_POLICY_PARSE_E_DUPLICATE = 5,  /* keyword repeated in a comma list */
    EDGE_POLICY_PARSE_E_SYNTAX = 6,     /* not a number / range / hex string */
    EDGE_POLICY_PARSE_E_RANGE = 7,      /* number outside the value's range, or lo > hi */
    EDGE_POLICY_PARSE_E_KEY = 8,        /* public key not an uncompressed point (0x04 ...) */
    EDGE_POLICY_PARSE_E_PATTERN = 9,    /* path pattern rejected; see path_result */
    EDGE_POLICY_PARSE_E_TOO_MANY = 10,  /* more entries than the list allows */
    EDGE_POLICY_PARSE_E_TOO_LONG = 11,  /* an entry above its length limit */
    EDGE_POLICY_PARSE_E_NO_MEMORY = 12, /* allocation failed */
    EDGE_POLICY_PARSE_ERR_COUNT_ = 13
} edge_policy_parse_err;

/* Details of a parse error, for the service's log and audit entry. */
typedef struct edge_policy_parse_info {
    edge_policy_parse_err err;
    uint32_t item;                   /* index of the offending list entry (0 for single values) */
    edge_path_result path_result;    /* with EDGE_POLICY_PARSE_E_PATTERN */
    char message[EDGE_MAX_TEXT + 1]; /* e.g. "AllowedPorts[1] \"70000\": port outside 1-65535" */
} edge_policy_parse_info;

/* "EDGE_POLICY_PARSE_E_RANGE", or "EDGE_POLICY_PARSE_UNKNOWN". */
const char *edge_policy_parse_err_name(edge_policy_parse_err err);

/* Value name as in the registry ("MaxLeaseSeconds"); NULL for an unknown id. */
const char *edge_policy_value_name(edge_policy_value id);

/* Id of a value name (ASCII case-insensitive, as the registry is); -1 when unknown. */
int edge_policy_value_from_name(const char *name, size_t len);

/* Registry type of a value; 0 for an unknown id. */
edge_policy_kind edge_policy_value_kind(edge_policy_value id);

/* "default", "local", "policy"; "unknown" otherwise. */
const char *edge_policy_source_name(edge_policy_source src);

/* Keywords as written in the registry: "Off", "AllowListOnly", ...; "?" for unknown values. */
const char *edge_policy_mode_name(edge_policy_mode mode);

/* Sets every value to its docs/policy.md default with source "default".  Allocates nothing. */
void edge_policy_init_defaults(edge_policy *p);

/* Frees the lists and re-initialises *p to the defaults.  NULL is ignored. */
void edge_policy_free(edge_policy *p);

/*
 * Parses a string value (SZ: count must be 1; MULTI_SZ: any count, REG_SZ passed as one item) and
 * on success replaces value id in *p, recording src.  On failure *p is unchanged and *info (may
 * be NULL) says why.  Items need not be NUL-terminated; an item containing NUL is malformed.
 */
edge_policy_parse_err edge_policy_set_strings(edge_policy *p, edge_policy_value id,
                                              const edge_str *items, size_t count,
                                              edge_policy_source src, edge_policy_parse_info *info);

/* As edge_policy_set_strings for DWORD values; ranges are in docs/policy.md "Value syntax". */
edge_policy_parse_err edge_policy_set_dword(edge_policy *p, edge_policy_value id, uint32_t v,
                                            edge_policy_source src, edge_policy_parse_info *info);

/*
 * Formats the effective value id of *p as text for the POLICY reply: at most EDGE_MAX_TEXT bytes
 * of UTF-8, NUL-terminated; long lists are cut and end in "... (N entries)".  cap must be
 * >= EDGE_MAX_TEXT + 1.  Returns false for an unknown id or a short buffer.
 */
bool edge_policy_format_value(const edge_policy *p, edge_policy_value id, char *out, size_t cap);

/* Individual parsers (used by the setters; exposed for edgectl and tests).  len-delimited. */
edge_policy_parse_err edge_policy_parse_mode(const char *s, size_t len, edge_policy_mode *out,
                                             edge_policy_parse_info *info);
edge_policy_parse_err edge_policy_parse_protocols(const char *s, size_t len, uint32_t *mask,
                                                  edge_policy_parse_info *info);
edge_policy_parse_err edge_policy_parse_profiles(const char *s, size_t len, uint32_t *mask,
                                                 edge_policy_parse_info *info);
edge_policy_parse_err edge_policy_parse_edge_traversal(const char *s, size_t len, uint8_t *out,
                                                       edge_policy_parse_info *info);
edge_policy_parse_err edge_policy_parse_consent_by(const char *s, size_t len,
                                                   edge_policy_consent_by *out,
                                                   edge_policy_parse_info *info);
edge_policy_parse_err edge_policy_parse_audit_level(const char *s, size_t len,
                                                    edge_policy_audit_level *out,
                                                    edge_policy_parse_info *info);
/* Writes up to cap ranges; *n receives the count. */
edge_policy_parse_err edge_policy_parse_ports(const edge_str *items, size_t count,
                                              edge_port_range *out, size_t cap, uint32_t *n,
                                              edge_policy_parse_info *info);
/* Allocating list parsers: on success *out owns the result (free()), else *out is NULL. */
edge_policy_parse_err edge_policy_parse_hashes(const edge_str *items, size_t count,
                                               uint8_t (**out)[EDGE_SHA256_SIZE], uint32_t *n,
                                               edge_policy_parse_info *info);
edge_policy_parse_err edge_policy_parse_keys(const edge_str *items, size_t count,
                                             edge_policy_key **out, uint32_t *n,
                                             edge_policy_parse_info *info);
edge_policy_parse_err edge_policy_parse_patterns(const edge_str *items, size_t count,
                                                 edge_policy_strings *out,
                                                 edge_policy_parse_info *info);
edge_policy_parse_err edge_policy_parse_publishers(const edge_str *items, size_t count,
                                                   edge_policy_strings *out,
                                                   edge_policy_parse_info *info);
/* Range check of a DWORD value. */
edge_policy_parse_err edge_policy_check_dword(edge_policy_value id, uint32_t v,
                                              edge_policy_parse_info *info);

/* The trusted key with this id, or NULL. */
const edge_policy_key *edge_policy_find_key(const edge_policy *p,
                                            const uint8_t id[EDGE_SR_KEY_ID_LEN]);

/* ---- decision ---- */

/*
 * Who asks, and the application the rule would be for.  The service fills it from the pipe
 * (caller.c), never from the message.  When the request names another executable (target_app),
 * the image fields describe that executable; the SID and admin fields always describe the caller.
 */
typedef struct edge_policy_identity {
    const char *user_sid;   /* "S-1-..." NUL-terminated; NULL = unknown (never an administrator) */
    bool elevated;          /* TokenElevation */
    bool admin_member;      /* CheckTokenMembership on S-1-5-32-544 (by SID, never by name) */
    const char *image_path; /* canonical UTF-8 path, NUL-terminated; required */
    const uint8_t *image_sha256; /* EDGE_SHA256_SIZE bytes, or NULL when unknown */
    const char *publisher; /* verified Authenticode subject (WinVerifyTrust passed), or NULL */
} edge_policy_identity;

typedef enum edge_policy_sig_state {
    EDGE_POLICY_SIG_NONE = 0,     /* no signed request */
    EDGE_POLICY_SIG_VERIFIED = 1, /* parsed, and its signature verified with the key of key_id */
    EDGE_POLICY_SIG_INVALID = 2   /* present but refused before the engine (parse, key, ECDSA) */
} edge_policy_sig_state;

/*
 * What the service learned about a signed request before deciding:
 *   edge_sr_parse fails            -> INVALID, invalid = the parse result
 *   edge_policy_find_key is NULL   -> INVALID, invalid = EDGE_SR_E_UNKNOWN_KEY
 *   ECDSA fails (crypto_p256_verify) -> INVALID, invalid = EDGE_SR_E_BAD_SIGNATURE
 *   otherwise                      -> VERIFIED, fields = &parsed.fields
 * The engine checks the key id against the policy again (the policy may have changed since) and
 * checks what the signature binds (edge_sr_check).
 */
typedef struct edge_policy_signature {
    edge_policy_sig_state state;
    const edge_sr_fields *fields; /* VERIFIED */
    edge_sr_result invalid;       /* INVALID */
} edge_policy_signature;

typedef struct edge_policy_request {
    uint8_t protocol; /* EDGE_IPPROTO_TCP / _UDP */
    uint16_t port_lo;
    uint16_t port_hi;
    bool has_seconds; /* false: DefaultLeaseSeconds */
    uint32_t seconds;
    uint32_t flags; /* EDGE_LEASE_F_*; carried, not judged */
    bool other_app; /* target_app names an executable other than the caller's */
    edge_policy_signature signature;
} edge_policy_request;

/*
 * One remembered consent decision (docs/policy.md "Decision order").  Identity: image_sha256
 * and/or image_path (at least one; when both are set both must match); user_sid NULL means any
 * user.  An approval applies when its range contains the requested range; a denial applies when
 * the ranges overlap.  Both apply only while now < expires.
 */
typedef struct edge_consent_record {
    bool approved;
    const char *user_sid;        /* NULL: any user */
    const char *image_path;      /* canonical, or NULL */
    const uint8_t *image_sha256; /* or NULL */
    uint8_t protocol;
    uint16_t port_lo;
    uint16_t port_hi;
    uint64_t expires; /* unix seconds */
} edge_consent_record;

typedef enum edge_policy_verdict {
    EDGE_POLICY_ALLOW = 1,
    EDGE_POLICY_DENY = 2,
    EDGE_POLICY_PENDING = 3 /* becomes a pending request for an approver */
} edge_policy_verdict;

/* Which element decided (for the audit log). */
typedef enum edge_policy_basis {
    EDGE_POLICY_BASIS_NONE = 0,
    EDGE_POLICY_BASIS_MODE_OFF,
    EDGE_POLICY_BASIS_TARGET_APP,
    EDGE_POLICY_BASIS_BAD_REQUEST,
    EDGE_POLICY_BASIS_PROTOCOL,
    EDGE_POLICY_BASIS_PORTS,
    EDGE_POLICY_BASIS_ADMIN,
    EDGE_POLICY_BASIS_ALLOWED_PATH,
    EDGE_POLICY_BASIS_ALLOWED_HASH,
    EDGE_POLICY_BASIS_ALLOWED_PUBLISHER,
    EDGE_POLICY_BASIS_SIGNED,
    EDGE_POLICY_BASIS_REMEMBERED_DENIAL,
    EDGE_POLICY_BASIS_REMEMBERED_APPROVAL,
    EDGE_POLICY_BASIS_MODE, /* nothing pre-approved it: the mode's verdict */
    EDGE_POLICY_BASIS_COUNT_
} edge_policy_basis;

/* "admin", "allowed-path", ...; "unknown" otherwise. */
const char *edge_policy_basis_name(edge_policy_basis basis);

#define EDGE_POLICY_TRACE_BYTES 16384u

typedef struct edge_policy_decision {
    edge_policy_verdict verdict;
    edge_status status; /* EDGE_OK, EDGE_PENDING_CONSENT or the refusal */
    edge_policy_basis basis;
    char reason[EDGE_MAX_TEXT + 1]; /* one sentence, UTF-8; names what would allow a refusal */
    uint32_t lease_seconds;         /* effective lease length (default applied, capped) */
    bool seconds_capped;            /* the asked (or default) length exceeded MaxLeaseSeconds */
    uint8_t edge_option;            /* for the rule: policy EdgeTraversal */
    uint32_t profiles;              /* for the rule: policy Profiles */
    uint32_t trace_count;           /* <= EDGE_MAX_TRACE_LINES */
    bool trace_truncated;           /* lines were dropped; the last line is still the decision */
    uint16_t trace_at[EDGE_MAX_TRACE_LINES];
    char trace_buf[EDGE_POLICY_TRACE_BYTES]; /* NUL-separated lines, each <= EDGE_MAX_TEXT */
} edge_policy_decision;

/* Line i of the trace (NUL-terminated, valid UTF-8, <= EDGE_MAX_TEXT bytes); NULL if i >= count. */
const char *edge_policy_trace_line(const edge_policy_decision *d, uint32_t i);

/*
 * Decides req for id under p, given the remembered decisions consent[0..consent_count) (may be
 * NULL when the count is 0) at time now (unix seconds).  Fills *out completely.  Every argument
 * is read only; no I/O, no clock, no globals.  A NULL id, req or p yields DENY with
 * EDGE_E_INTERNAL.  The order of evaluation is documented in docs/policy.md.
 */
void edge_policy_decide(const edge_policy_identity *id, const edge_policy_request *req,
                        const edge_policy *p, const edge_consent_record *consent,
                        size_t consent_count, uint64_t now, edge_policy_decision *out);

/*
 * The administrator gate for admin verbs (REVOKE, PENDING, APPROVE, DENY, PURGE, LIST ALL,
 * target_app): true only for an elevated token that is a member of BUILTIN\Administrators
 * (S-1-5-32-544) and has a user SID that is not anonymous (S-1-5-7).  Decided on SIDs and token
 * facts only, never on names.
 */
bool edge_policy_may_administer(const edge_policy_identity *id);

#endif /* EDGE_POLICY_H */
