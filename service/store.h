/*
 * The lease store: the persisted lease table on disk (format and selection: edge/state_file.h).
 *
 * Files, in the data directory (the service passes %ProgramData%\EdgeBroker):
 *   state.a.bin, state.b.bin   the two slots; the newest valid generation wins at open
 *   state.tmp-<pid>-<n>        a write in progress; leftovers of a crash are deleted at open
 *   state.?.bin.corrupt-<UTC>  a slot set aside because no slot was valid (kept for forensics)
 *
 * The directory is created with STORE_DIR_SDDL and every file with STORE_FILE_SDDL: owner SYSTEM,
 * SYSTEM and Administrators full control, nothing for anyone else, not inherited.  The state file
 * decides which applications get firewall rules (reconcile restores what it lists), so a user who
 * could write it could open ports for any program; and it names other users' programs.  The DACL
 * is protected because %ProgramData% grants Users the right to create and write files below it.
 * When the process may not assign owner SYSTEM (an elevated administrator running tests or the
 * console mode), the descriptors are applied without the owner, which then defaults to the token's.
 *
 * The directory is created or vetted by datadir_open (datadir.h): an existing one must be a real
 * directory (not a file, not a reparse point: a user could plant a junction to redirect the
 * service's writes) owned by SYSTEM, Administrators or the process's own user.  The store keeps
 * datadir_open's handle (no FILE_SHARE_DELETE) for its lifetime, so the directory cannot be
 * renamed or replaced underneath the store.  The service has already vetted it once before the
 * audit trail and the consent store used it (verbs_startup_config).
 *
 * Writes: store_save writes generation + 1 to the slot not holding the newest valid generation,
 * through a temporary file (CREATE_NEW), WriteFile of every byte, FlushFileBuffers and
 * MoveFileExW(MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH).  A crash at any instant leaves
 * the old or the new generation loadable; a failed save changes nothing on disk.
 *
 * Deferred saves (store_save_deferred): a change whose loss in a crash is harmless (a renewal
 * that moves an expiry later) only marks the table as ahead of disk.  A threadpool timer writes
 * it STORE_DEFER_MS later, as one generation exactly like store_save, however many changes came
 * in between (they coalesce).  So:
 *   - store_save returns after the generation is durable (unchanged), and also covers every
 *     deferred change made before it: it writes the whole table.
 *   - a deferred change is durable at most STORE_DEFER_MS (+ one write) after the call; a crash
 *     before that loses it (and only it and other deferred changes of that window): the disk
 *     still holds the previous generation, which is complete and valid.
 *   - store_flush and store_close write a pending deferred change at once (service stop).
 *   - a failed deferred write is retried every STORE_DEFER_RETRY_MS; store_deferred_error tells.
 * Generations on disk still only increase; they may skip a number after a failed or superseded
 * write (edge_sf_select takes the highest).
 *
 * Thread-safety: store_save, store_save_deferred and store_set_* are serialised by the caller
 * (the lease manager's lock); the store's own locks order them against the deferred writer, which
 * runs on a threadpool thread.  The getters may be called from any thread.
 */
#ifndef EDGE_SVC_STORE_H
#define EDGE_SVC_STORE_H

#include <windows.h>

#include <stdbool.h>
#include <stdint.h>

#include "edge/lease.h"
#include "edge/state_file.h"
#include "edge/status.h"

#include "datadir.h"

/* The DACLs alone (used when the owner cannot be assigned), and the full descriptors. */
#define STORE_DIR_DACL_SDDL  DATADIR_DACL_SDDL
#define STORE_FILE_DACL_SDDL L"D:P(A;;FA;;;SY)(A;;FA;;;BA)"
#define STORE_DIR_SDDL       DATADIR_SDDL
#define STORE_FILE_SDDL      L"O:SY" STORE_FILE_DACL_SDDL

#define STORE_SLOT_COUNT  2
#define STORE_SLOT_A_NAME L"state.a.bin"
#define STORE_SLOT_B_NAME L"state.b.bin"
#define STORE_TMP_PREFIX  L"state.tmp-"
/* A slot file larger than this is rejected (EDGE_SF_E_LIMITS) without being read. */
#define STORE_MAX_FILE_BYTES ((uint64_t)EDGE_SF_HEADER_LEN + EDGE_SF_DEFAULT_MAX_BODY)
/* Longest file name the store makes in the directory, with its NUL (an aside name). */
#define STORE_NAME_CHARS 64

/* ERROR_REPARSE_POINT_ENCOUNTERED (datadir_open's refusal of a link). */
#define STORE_ERROR_REPARSE_POINT DATADIR_ERROR_REPARSE_POINT

typedef enum store_slot_status {
    STORE_SLOT_MISSING = 0, /* no such file */
    STORE_SLOT_VALID = 1,   /* parsed completely (loaded or older than the loaded slot) */
    STORE_SLOT_REJECTED = 2 /* exists but failed validation: empty, too large, torn, corrupt */
} store_slot_status;

typedef struct store_slot_report {
    store_slot_status status;
    edge_sf_result result;   /* EDGE_SF_OK for a valid slot; the reason for a rejected one */
    const char *result_name; /* edge_sf_result_name(result), static */
    uint64_t size;           /* file size in bytes; 0 when missing */
    uint64_t generation;     /* valid: its generation.  rejected: the header's value when the
                              * magic was readable (unverified, for the audit text), else 0 */
    bool set_aside;          /* renamed to aside_name because no slot was valid */
    wchar_t aside_name[STORE_NAME_CHARS]; /* file name in the directory, or empty */
} store_slot_report;

/* What store_open found; filled on success and failure (zeroed on entry). */
typedef struct store_load_report {
    int loaded_slot;             /* 0 (state.a.bin), 1 (state.b.bin), or -1: started empty */
    uint64_t generation;         /* generation loaded; 0 when started empty */
    bool first_start;            /* both slots missing: a normal first start */
    bool recovered;              /* a slot was loaded while the other was rejected: audit
                                  * "state recovered from previous generation" (the rejected one
                                  * may have been the newer write) */
    bool all_rejected;           /* no slot valid, at least one rejected: started EMPTY, rejected
                                  * slots set aside; audit "state file corrupt" */
    uint32_t temp_files_removed; /* leftovers of an interrupted save, deleted */
    store_slot_report slots[STORE_SLOT_COUNT];
    DWORD win32_error;  /* on failure: the Win32 error behind it, or 0 */
    const char *reason; /* on failure: static English text naming the step; else NULL */
} store_load_report;

struct store;

/*
 * Opens (creating when missing) the data directory `dir` with datadir_open, deletes leftover
 * temporary files, reads both slots (each bounded by STORE_MAX_FILE_BYTES before reading) and
 * selects the newest valid generation with edge_sf_select.  *table_out receives the loaded
 * leases, or an empty table created with params (params may be NULL: no limits) when nothing was
 * valid.  When slots exist but none is valid, they are renamed aside (never overwritten) before
 * returning EDGE_OK.
 * *out and *table_out are NULL on entry and on failure; report (required) is always filled.
 * Release with store_close and edge_lease_table_destroy.
 * Returns:
 *   EDGE_OK
 *   EDGE_E_BAD_REQUEST  a NULL argument, an empty or too long dir
 *   EDGE_E_STORAGE      the directory could not be created or opened, is not a directory, is a
 *                       reparse point, has a foreign owner, a slot could not be read (other than
 *                       "not found"), or a rejected slot could not be set aside; report->reason
 *                       and report->win32_error say which
 *   EDGE_E_NO_MEMORY    allocation failed (also when a slot could not be parsed for lack of
 *                       memory: falling back to an older generation would silently lose state)
 */
edge_status store_open(const wchar_t *dir, const edge_lease_table_params *params,
                       struct store **out, edge_lease_table **table_out,
                       struct store_load_report *report);

/*
 * Persists every lease of table as a generation above store_generation(s) (normally + 1; see the
 * top comment), synchronously; a pending deferred change is covered by it.
 * Returns EDGE_OK; EDGE_E_STORAGE when any step failed (the temporary file is deleted, both slots
 * are as before, the generation does not advance; store_last_error tells the Win32 error, and
 * ERROR_FILE_TOO_LARGE when the serialized table exceeds STORE_MAX_FILE_BYTES, which could never
 * be loaded back); EDGE_E_NO_MEMORY; EDGE_E_BAD_REQUEST for NULL arguments.
 */
edge_status store_save(struct store *s, const edge_lease_table *table);

/* Delay between a deferred change and its write, and the retry delay after a failed one. */
#define STORE_DEFER_MS       1000u
#define STORE_DEFER_RETRY_MS 5000u

/*
 * Marks TABLE as ahead of disk and returns at once; the deferred writer persists it within the
 * defer delay (see the top comment).  The caller holds *LOCK exclusively (the lock that guards
 * TABLE); the writer takes it shared while it serializes.  TABLE and LOCK must stay valid until a
 * later store_save or store_save_deferred names another table, or store_close; pass the same lock
 * every time.  With a defer delay of 0 (store_set_defer_ms) this is store_save.
 * Returns EDGE_OK (a failure of the later write shows in store_deferred_error), EDGE_E_BAD_REQUEST
 * for NULL arguments, or, with delay 0, what store_save returns.
 */
edge_status store_save_deferred(struct store *s, const edge_lease_table *table, SRWLOCK *lock);

/*
 * Writes a pending deferred change now (nothing to do: EDGE_OK).  The caller must NOT hold the
 * table's lock.  Returns EDGE_OK, EDGE_E_STORAGE (store_deferred_error tells; retried later),
 * EDGE_E_NO_MEMORY.
 */
edge_status store_flush(struct store *s);

/* Win32 error of the last failed deferred write; ERROR_SUCCESS once any later write succeeded. */
DWORD store_deferred_error(const struct store *s);

/* Sets the defer delay (default STORE_DEFER_MS; 0 disables deferral).  For tests and tuning. */
void store_set_defer_ms(struct store *s, uint32_t ms);

typedef struct store_stats {
    uint64_t saves;             /* generations written by store_save */
    uint64_t deferred_requests; /* store_save_deferred calls accepted */
    uint64_t deferred_writes;   /* generations written for deferred changes (timer, flush, close) */
    uint64_t superseded;        /* deferred snapshots dropped: a store_save already covered them */
    uint64_t write_failures;    /* failed writes of either kind */
    bool pending;               /* a deferred change is not on disk yet */
} store_stats;

/* Counters since store_open (zeroed *out first).  Files written = saves + deferred_writes. */
void store_get_stats(const struct store *s, store_stats *out);

/* Generation of the newest valid slot on disk (0 before the first save of a fresh store). */
uint64_t store_generation(const struct store *s);

/* Slot (0 = a, 1 = b) holding the newest generation, or -1 when none is on disk yet. */
int store_newest_slot(const struct store *s);

/* Win32 error of the last failed store_save, ERROR_SUCCESS after a successful one. */
DWORD store_last_error(const struct store *s);

/*
 * Fault injection for tests of "disk full during a state write": the NEXT store_save writes at
 * most `bytes` bytes of its temporary file, then fails as WriteFile does on a full disk
 * (ERROR_DISK_FULL), and the limit is cleared.  Nothing is simulated unless this is called;
 * the service never calls it.  (No real way to fill a disk exists in the Wine test prefix.)
 */
void store_set_write_limit(struct store *s, uint64_t bytes);

/*
 * Stops the deferred writer, writes a pending deferred change (its failure cannot be reported:
 * call store_flush first to know), closes the directory handle and frees s.  The table of the
 * last store_save_deferred must still be valid, its lock not held.  NULL is ignored.
 */
void store_close(struct store *s);

#endif /* EDGE_SVC_STORE_H */
