/*
 * edgectl internals: the state every verb shares, the verb table, and the helpers the verb
 * families (cmd_*.c) use.  The user-facing contract — verbs, options, exit codes and the --json
 * schema — is documented in docs/edgectl.md and must change only as that file says.
 */
#ifndef EDGECTL_H
#define EDGECTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <windows.h>

#include "edge/protocol.h"
#include "edge/status.h"
#include "edgeclient.h"
#include "edge/json.h"

/* Version of the --json document layout (docs/edgectl.md, "JSON output").  Bump only for a change
 * that breaks a consumer; adding fields does not. */
#define CTL_JSON_SCHEMA 1

/* Exit codes: stable, listed by `edgectl help` and docs/edgectl.md. */
enum ctl_exit {
    CTL_EXIT_OK = 0,
    CTL_EXIT_USAGE = 1,
    CTL_EXIT_NOT_INSTALLED = 2,
    CTL_EXIT_NOT_RUNNING = 3,
    CTL_EXIT_ACCESS_DENIED = 4,
    CTL_EXIT_POLICY_DENIED = 5,
    CTL_EXIT_CONSENT_PENDING = 6,
    CTL_EXIT_NOT_FOUND = 7,
    CTL_EXIT_TRANSIENT = 8,
    CTL_EXIT_FAKE_SERVER = 9,
    CTL_EXIT_INTERNAL = 10,
    CTL_EXIT_UNAVAILABLE = 11,
    CTL_EXIT_INEFFECTIVE = 12,
    CTL_EXIT_COUNT_
};

#define CTL_SERVICE_NAME   "EdgeBroker"
#define CTL_TIMEOUT_MAX_MS 3600000u

/* Global options and the state of one run. */
struct ctl {
    bool json;
    bool quiet;
    bool insecure;            /* --insecure-test-server (only together with --pipe) */
    const char *pipe_name;    /* full UTF-8 pipe name; NULL: the library's default */
    const char *service_name; /* SCM name used to diagnose a missing pipe */
    uint32_t timeout_ms;
    const char *verb;
    edge_session_t *session; /* after ctl_connect */
    json_writer jw;          /* the --json document */
    char pipe_buf[300];
};

/* One verb of the table. */
struct ctl_verb {
    const char *name;
    int (*run)(struct ctl *c, int argc, char **argv);
    const char *usage;   /* "list [--all]" */
    const char *summary; /* one line */
    const char *help;    /* the rest of `edgectl help VERB` */
};

extern const struct ctl_verb ctl_verbs[];
extern const size_t ctl_verb_count;
const struct ctl_verb *ctl_find_verb(const char *name);

/* ---- errors (errors.c) ---- */

/* Everything a failure report carries: what happened, what to do next, and the service's words. */
struct ctl_err {
    int exit_code;
    const char *code; /* stable symbolic name, e.g. "EDGE_E_NOT_FOUND" */
    int64_t value;    /* numeric result code */
    char message[768];
    char next[768];
    char detail[EDGE_MAX_DETAIL_BYTES + 1];
    uint32_t win32_error;
    uint32_t retry_after;
    const char *service_state; /* SCM diagnosis, or NULL */
    char pending_id[EDGE_LEASE_ID_CHARS];
};

/* The exit code a library/service result maps to. */
int ctl_exit_for(edge_result r);
/* Stable name of an exit code ("ok", "not_found", ...). */
const char *ctl_exit_name(int exit_code);
/* What an exit code means, one line. */
const char *ctl_exit_meaning(int exit_code);

/*
 * Reports a failed call: `what` says what edgectl was doing ("cannot show lease X"); the rest
 * comes from r and from the session's last reply detail.  Prints (stderr, or the JSON document on
 * stdout) and returns the exit code.
 */
int ctl_fail(struct ctl *c, edge_result r, const char *what);
/* Fills e with the report ctl_fail would print. */
void ctl_describe(struct ctl *c, edge_result r, const char *what, struct ctl_err *e);
/* Same, from a prepared report (for cases ctl_fail does not know). */
int ctl_report(struct ctl *c, const struct ctl_err *e);
/* Writes e as the "error" member of the JSON document (for verbs that add fields to a failure). */
void ctl_json_error(json_writer *w, const struct ctl_err *e);
/* A usage error (exit 1): prints the message and how to get help for the verb. */
int ctl_usage(struct ctl *c, const char *fmt, ...);

/* ---- connection (connect.c) ---- */

/* Opens c->session; returns the library's result and reports nothing. */
edge_result ctl_open_session(struct ctl *c);
/* Usage error (reported, exit code returned) for --insecure-test-server without --pipe. */
int ctl_check_insecure(struct ctl *c);
/* Opens c->session; on failure reports why (SCM diagnosis for a missing pipe) and returns the
 * exit code; returns CTL_EXIT_OK on success. */
int ctl_connect(struct ctl *c);
/* Fills e with the report for a failed session open (diagnosis included). */
void ctl_describe_open_failure(struct ctl *c, edge_result r, struct ctl_err *e);

/* ---- raw verbs over edge_session_transact (connect.c) ---- */

struct edge_msg;
/* Encodes req, sends it on the session, decodes the reply into *rep (views into *frame, which
 * the caller frees with edge_free).  Returns the transport result, or the reply's status. */
edge_result ctl_transact(struct ctl *c, struct edge_msg *req, struct edge_msg *rep, void **frame);
/* Connects and sends a verb without arguments (type EDGE_MSG_*).  On failure frees the reply,
 * reports it with `what` (as ctl_fail) and returns the exit code; else CTL_EXIT_OK with the reply
 * in *rep (views into *frame: edge_free it). */
int ctl_ask(struct ctl *c, uint16_t type, struct edge_msg *rep, void **frame, const char *what);

/* ---- JSON document (errors.c) ---- */

/* Starts the document: {"schema":1,"command":...,"ok":ok, ...; the verb adds its fields. */
json_writer *ctl_json_begin(struct ctl *c, bool ok);
/* Closes the document with "exit_code", prints it, returns exit_code (or CTL_EXIT_INTERNAL when
 * the document could not be built). */
int ctl_json_end(struct ctl *c, int exit_code);

/* ---- lease verbs (cmd_lease.c) ---- */

/* Success report of a verb that ended lease `id`: {"lease_id":id}, or "<done> lease <id>;
 * <consequence>" unless --quiet.  Returns CTL_EXIT_OK (or the JSON document's failure code). */
int ctl_lease_gone(struct ctl *c, const char *id, const char *done, const char *consequence);

/* ---- argument helpers (args.c) ---- */

/* Parses a decimal number in [lo, hi]; false on anything else. */
bool ctl_parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out);
/* "tcp"/"udp" (any case) to EDGE_PROTOCOL_*. */
bool ctl_parse_protocol(const char *s, uint32_t *out);
/* "N" or "N-M", 1..65535, N <= M. */
bool ctl_parse_ports(const char *s, uint16_t *lo, uint16_t *hi);
/* 32 hex digits. */
bool ctl_valid_lease_id(const char *s);
/*
 * Verb option scanner: returns true when argv[*i] is `--name` (value in the next argument) or
 * `--name=value`, storing the value and advancing *i past what it consumed.  A missing value is a
 * usage error: *value is NULL and *missing is set.
 */
bool ctl_opt_value(int argc, char **argv, int *i, const char *name, const char **value,
                   bool *missing);

/*
 * For a verb's option loop: applies a global option given after the verb.  Returns 1 when applied
 * (*i left on the last argument it consumed), 0 when argv[*i] is not a global option, -1 after
 * reporting a usage error (exit code in *rc).  (main.c)
 */
int ctl_verb_global(struct ctl *c, int argc, char **argv, int *i, int *rc);

/* A verb option: `--name` alone sets *flag; `--name VALUE` or `--name=VALUE` sets *value. */
struct ctl_optspec {
    const char *name;
    const char **value; /* NULL for a flag */
    bool *flag;
};

/*
 * Parses a verb's arguments: its options (opts), global options, `--` (the rest is positional)
 * and between min_pos and max_pos positional arguments (stored in pos[], count in *npos).
 * Returns CTL_EXIT_OK, or the exit code of the usage error it reported.
 */
int ctl_parse_args(struct ctl *c, int argc, char **argv, const struct ctl_optspec *opts,
                   size_t nopts, const char **pos, size_t min_pos, size_t max_pos, size_t *npos);

/* ---- files of the signing verbs (files.c) ---- */

/* A new UTF-16 copy of a UTF-8 string (free()), or NULL. */
wchar_t *ctl_widen(const char *utf8);
/* Reads a whole file of at most cap bytes (ERROR_FILE_TOO_LARGE otherwise, checked before any
 * allocation) into *data, NUL-terminated (free(); wipe secrets first).  Returns a Win32 error. */
DWORD ctl_file_read(const char *path, size_t cap, char **data, size_t *len);
/* Creates a file for writing: CREATE_NEW, or CREATE_ALWAYS with overwrite.  owner_only gives it
 * a protected DACL that grants only the current user, with that user as owner, at creation. */
DWORD ctl_file_create(const char *path, bool owner_only, bool overwrite, HANDLE *out);
/* Writes all of data and flushes. */
DWORD ctl_file_write(HANDLE h, const void *data, size_t len);
/* Deletes a file edgectl created (cleanup after a failure); errors are ignored. */
void ctl_file_remove(const char *path);
/* SHA-256 of a file's content, streamed through CNG. */
DWORD ctl_file_sha256(const char *path, uint8_t out[EDGE_SHA256_SIZE]);
/* Reports a file failure (exit 1, code "EDGECTL_FILE"): "cannot <doing> <path>: <why>". */
int ctl_file_fail(struct ctl *c, DWORD err, const char *doing, const char *path, const char *next);
/* Reports a signed-request failure with the status the service would give (exit 5). */
int ctl_sr_fail(struct ctl *c, edge_result status, const char *fmt, ...);
/* Reads a signed-request file (base64 text) into blob[EDGE_MAX_SIGNED_REQUEST] and checks that
 * it parses (edge_sr_parse).  Returns CTL_EXIT_OK, or the exit code of the failure it reported. */
int ctl_read_signed_request(struct ctl *c, const char *path, uint8_t *blob, size_t *len);

/* ---- verbs ---- */

int cmd_status(struct ctl *c, int argc, char **argv);
int cmd_doctor(struct ctl *c, int argc, char **argv);
int cmd_request(struct ctl *c, int argc, char **argv);
int cmd_renew(struct ctl *c, int argc, char **argv);
int cmd_release(struct ctl *c, int argc, char **argv);
int cmd_show(struct ctl *c, int argc, char **argv);
int cmd_list(struct ctl *c, int argc, char **argv);
int cmd_revoke(struct ctl *c, int argc, char **argv);
int cmd_purge(struct ctl *c, int argc, char **argv);
int cmd_pending(struct ctl *c, int argc, char **argv);
int cmd_approve(struct ctl *c, int argc, char **argv);
int cmd_deny(struct ctl *c, int argc, char **argv);
int cmd_policy(struct ctl *c, int argc, char **argv);
int cmd_explain(struct ctl *c, int argc, char **argv);
int cmd_keygen(struct ctl *c, int argc, char **argv);
int cmd_sign(struct ctl *c, int argc, char **argv);
int cmd_verify(struct ctl *c, int argc, char **argv);
int cmd_help(struct ctl *c, int argc, char **argv);
/* Prints `edgectl help VERB` for one verb (human) into stdout. */
void ctl_print_verb_help(const struct ctl_verb *v);
/* --version: edgectl, library and (when reachable) service versions; always exit 0. */
int ctl_version(struct ctl *c);

#endif /* EDGECTL_H */
