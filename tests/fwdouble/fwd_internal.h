/*
 * Internals shared by fwdouble.dll, the fwdouble_control library and fwdump: rule records, the
 * store file and the faults file. No COM here.
 */
#ifndef FWD_INTERNAL_H
#define FWD_INTERNAL_H

#include "fwdouble_control.h"

#define FWD_PROTOCOL_ANY    256
#define FWD_PROFILES_ALL    0x7FFFFFFF
#define FWD_PROFILES_VALID  0x7
#define FWD_MAX_STORE_BYTES (256u * 1024u * 1024u)
#define FWD_MAX_FAULT_BYTES (64u * 1024u)

/* ---- rule records (fwd_rule_data.c) ---- */

typedef enum fwd_field_kind { FWD_FIELD_STR, FWD_FIELD_LONG, FWD_FIELD_BOOL } fwd_field_kind;

typedef struct fwd_field {
    const char *key; /* key in the store file */
    fwd_field_kind kind;
    size_t offset; /* offset in fwdc_rule */
} fwd_field;

extern const fwd_field fwd_fields[];
extern const size_t fwd_field_count;

void fwd_rule_init(fwdc_rule *r);
void fwd_rule_clear(fwdc_rule *r);
HRESULT fwd_rule_copy(fwdc_rule *dst, const fwdc_rule *src);
HRESULT fwd_str_dup(const wchar_t *s, wchar_t **out);
/* Replaces *slot with a copy of s (NULL or empty stores NULL). */
HRESULT fwd_str_set(wchar_t **slot, const wchar_t *s);
BOOL fwd_str_ieq(const wchar_t *a, const wchar_t *b);
wchar_t **fwd_field_str(fwdc_rule *r, const fwd_field *f);
long *fwd_field_long(fwdc_rule *r, const fwd_field *f);
int *fwd_field_bool(fwdc_rule *r, const fwd_field *f);

/* ---- store (fwd_store.c, fwd_store_format.c) ---- */

/* The store's in-process cache, valid between fwd_store_lock and fwd_store_unlock. */
typedef struct fwd_store_data {
    fwdc_rule *rules;
    size_t count;
    size_t cap;
    unsigned long long next_id;
    long firewall_off; /* persisted put_FirewallEnabled(FALSE) mask */
} fwd_store_data;

const wchar_t *fwd_store_path_get(void);
/* Acquires the cross-process lock (recursive per thread) and reloads the cache if the file
 * changed. On success *data points at the cache; call fwd_store_unlock in every case. */
HRESULT fwd_store_lock(fwd_store_data **data);
void fwd_store_unlock(void);
/* Writes the cache atomically. Must hold the lock. On failure the cache is dropped. */
HRESULT fwd_store_commit(void);
/* As fwd_store_commit when the only change since the lock is rules [first, count) appended by
 * fwd_store_append: appends their lines to the file instead of rewriting it (falls back to
 * fwd_store_commit when the file is not exactly what the cache was read from). */
HRESULT fwd_store_commit_appended(size_t first);
/* Appends a copy of r with a fresh id. */
HRESULT fwd_store_append(fwd_store_data *d, const fwdc_rule *r, unsigned long long *id_out);
void fwd_store_remove_at(fwd_store_data *d, size_t index);
fwdc_rule *fwd_store_find_id(fwd_store_data *d, unsigned long long id);
/* Index of the first rule named name, or (size_t)-1. */
size_t fwd_store_find_name(const fwd_store_data *d, const wchar_t *name);
void fwd_store_data_clear(fwd_store_data *d);

HRESULT fwd_format_serialize(const fwd_store_data *d, char **out, size_t *out_len);
/* The "rule" lines of d->rules[first..count), without the header. */
HRESULT fwd_format_serialize_rules(const fwd_store_data *d, size_t first, char **out,
                                   size_t *out_len);
HRESULT fwd_format_parse(const char *text, size_t len, fwd_store_data *d);

/* Process-wide lock for the named mutex and shared generation counters (fwd_store.c). */
HRESULT fwd_shared_lock(void);
void fwd_shared_unlock(void);
volatile LONG *fwd_shared_faults_gen(void);
/* FALSE when the shared-memory section could not be created and the generation counters are
 * private to this process (then only file stamps reveal other processes' changes). */
BOOL fwd_shared_is_cross_process(void);

typedef struct fwd_file_stamp {
    BOOL exists;
    FILETIME mtime;
    DWORD size_low;
    DWORD size_high;
} fwd_file_stamp;

void fwd_file_stamp_get(const wchar_t *path, fwd_file_stamp *st);
BOOL fwd_file_stamp_equal(const fwd_file_stamp *a, const fwd_file_stamp *b);

/* Reads a whole file (cap bytes at most). Missing file: S_OK with *out NULL. */
HRESULT fwd_file_read(const wchar_t *path, size_t cap, char **out, size_t *out_len);
/* Writes via a temporary file and MoveFileExW(MOVEFILE_REPLACE_EXISTING). */
HRESULT fwd_file_write_atomic(const wchar_t *path, const char *buf, size_t len);
/* Appends buf at offset `expected_size`, which must be the file's current size (else
 * HRESULT_FROM_WIN32(ERROR_INVALID_DATA), nothing written). A failed write is cut off again. */
HRESULT fwd_file_append(const wchar_t *path, unsigned long long expected_size, const char *buf,
                        size_t len);

/* ---- faults (fwd_faults.c) ---- */

typedef enum fwd_op {
    FWD_OP_ADD,
    FWD_OP_REMOVE,
    FWD_OP_ITEM,
    FWD_OP_ENUM,
    FWD_OP_PUT,
    FWD_OP_CREATE,
    FWD_OP_COUNT_,
    FWD_OP_NONE = FWD_OP_COUNT_
} fwd_op;

typedef struct fwd_faults {
    unsigned long latency_ms;
    long firewall_off;
    long current_profiles; /* -1: not set */
    BOOL no_rule2;
    BOOL no_rule3;
    BOOL log;
    unsigned long fail_count[FWD_OP_COUNT_];
    HRESULT fail_hr[FWD_OP_COUNT_];
} fwd_faults;

extern const char *const fwd_op_names[FWD_OP_COUNT_];

/* Current faults (file re-read when it changed). Takes the named mutex. */
void fwd_faults_get(fwd_faults *out);
/* Hand edits of the faults file (no generation bump) are noticed by fwd_faults_current within
 * this many milliseconds when not exact. */
#define FWD_FAULTS_RECHECK_MS 50
/* As fwd_faults_get, cheaply, for the start of every COM call: the named mutex is taken only
 * when something changed. Edits made through fwd_faults_set / fwdc_* (any process) are always
 * seen; a hand edit of the file is seen at once when exact, else within FWD_FAULTS_RECHECK_MS. */
void fwd_faults_current(fwd_faults *out, BOOL exact);
/* For op: when a "fail_<op>" counter is positive, decrements it in the file and returns its
 * HRESULT; otherwise S_OK. */
HRESULT fwd_faults_take(fwd_op op);
const wchar_t *fwd_faults_path(void);
/* Sets (value non-NULL) or removes one key in the faults file. Takes the shared lock. */
HRESULT fwd_faults_set(const char *key, const char *value);
/* Reads one key's value into buf; HRESULT_FROM_WIN32(ERROR_NOT_FOUND) when absent. */
HRESULT fwd_faults_read_key(const char *key, char *buf, size_t buf_size);
/* Appends one line to "<store>.log" when log=1. */
void fwd_log(const char *fmt, ...);

#endif
