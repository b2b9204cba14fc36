/* The lease store on disk: A/B slots, atomic replace, protected directory (see store.h). */
#include "store.h"

#include <sddl.h>

#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "datadir.h"

/* Directory names longer than this are refused before any allocation (Win32 paths max out at
 * 32,767 characters, and the store appends its own file names). */
#define STORE_MAX_DIR_CHARS 32000u
/* Attempts at a fresh temporary or aside name before giving up. */
#define STORE_NAME_ATTEMPTS 100u

static const wchar_t *const slot_names[STORE_SLOT_COUNT] = {STORE_SLOT_A_NAME, STORE_SLOT_B_NAME};

/* File security descriptors: [0] with owner SYSTEM, [1] the same DACL without an owner. */
enum { SD_OWNED = 0, SD_UNOWNED = 1 };

struct store {
    wchar_t *dir;      /* without trailing separators */
    HANDLE dir_handle; /* datadir_open's: the directory cannot be swapped while held */
    PSECURITY_DESCRIPTOR file_sd[2];
    int sd_choice; /* SD_UNOWNED once the OS refused owner SYSTEM (not running as SYSTEM) */
    /* io_lock: one write at a time; guards generation, newest_slot, last_error, write_limit,
     * tmp_counter and sd_choice.  pend_lock (taken inside io_lock, never the other way round):
     * the deferred state below.  The table's lock is taken before either. */
    SRWLOCK io_lock;
    uint64_t generation;
    int newest_slot;
    DWORD last_error;
    uint64_t write_limit; /* UINT64_MAX: no fault injected */
    uint32_t tmp_counter;

    SRWLOCK pend_lock;
    uint64_t next_generation; /* reserved by the next serialization; 0: exhausted */
    PTP_TIMER timer;
    uint32_t defer_ms;
    bool pending;     /* src_table is ahead of disk */
    bool timer_armed; /* a timer callback is due */
    bool closing;
    const edge_lease_table *src_table;
    SRWLOCK *src_lock;
    DWORD deferred_error;
    store_stats stats;
};

static VOID CALLBACK deferred_cb(PTP_CALLBACK_INSTANCE inst, PVOID ctx, PTP_TIMER timer);

/* dir + "\" + name, allocated; NULL when out of memory. */
static wchar_t *path_join(const wchar_t *dir, const wchar_t *name)
{
    size_t a = wcslen(dir), b = wcslen(name);
    wchar_t *p = malloc((a + 1 + b + 1) * sizeof(*p));
    if (!p)
        return NULL;
    memcpy(p, dir, a * sizeof(*p));
    p[a] = L'\\';
    memcpy(p + a + 1, name, (b + 1) * sizeof(*p));
    return p;
}

/* Deletes leftovers of saves interrupted by a crash; they are never loaded. */
static DWORD remove_temp_files(struct store *s, uint32_t *removed)
{
    WIN32_FIND_DATAW fd;
    DWORD err = ERROR_SUCCESS;
    wchar_t *pattern = path_join(s->dir, STORE_TMP_PREFIX L"*");
    if (!pattern)
        return ERROR_NOT_ENOUGH_MEMORY;
    HANDLE find = FindFirstFileW(pattern, &fd);
    free(pattern);
    if (find == INVALID_HANDLE_VALUE) {
        err = GetLastError();
        return err == ERROR_FILE_NOT_FOUND ? ERROR_SUCCESS : err;
    }
    do {
        if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
            continue;
        wchar_t *path = path_join(s->dir, fd.cFileName);
        if (!path) {
            err = ERROR_NOT_ENOUGH_MEMORY;
            break;
        }
        if (DeleteFileW(path))
            (*removed)++;
        else if (err == ERROR_SUCCESS)
            err = GetLastError();
        free(path);
    } while (FindNextFileW(find, &fd));
    FindClose(find);
    return err;
}

/*
 * Reads one slot.  A missing file leaves *data NULL.  A file that is empty or larger than the
 * format allows is marked rejected here, without reading it.  Other read failures are errors:
 * treating an unreadable newer slot as absent could later overwrite it with older state.
 */
static DWORD read_slot(struct store *s, int slot, uint8_t **data, size_t *len,
                       store_slot_report *rep)
{
    DWORD err = ERROR_SUCCESS;
    uint8_t *buf = NULL;
    LARGE_INTEGER size;
    BY_HANDLE_FILE_INFORMATION info;
    wchar_t *path = path_join(s->dir, slot_names[slot]);
    HANDLE h = INVALID_HANDLE_VALUE;

    *data = NULL;
    *len = 0;
    if (!path)
        return ERROR_NOT_ENOUGH_MEMORY;
    h = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING,
                    FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        err = GetLastError();
        if (err == ERROR_FILE_NOT_FOUND) {
            rep->status = STORE_SLOT_MISSING;
            rep->result = EDGE_SF_E_MISSING;
            err = ERROR_SUCCESS;
        }
        goto out;
    }
    if (!GetFileInformationByHandle(h, &info) || !GetFileSizeEx(h, &size)) {
        err = GetLastError();
        goto out;
    }
    if (info.dwFileAttributes & (FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_REPARSE_POINT)) {
        err = ERROR_BAD_FILE_TYPE;
        goto out;
    }
    rep->size = (uint64_t)size.QuadPart;
    rep->status = STORE_SLOT_REJECTED;
    if (size.QuadPart == 0) {
        rep->result = EDGE_SF_E_TRUNCATED; /* an existing empty slot is damage, not absence */
        goto out;
    }
    if ((uint64_t)size.QuadPart > STORE_MAX_FILE_BYTES) {
        rep->result = EDGE_SF_E_LIMITS;
        goto out;
    }
    buf = malloc((size_t)size.QuadPart);
    if (!buf) {
        err = ERROR_NOT_ENOUGH_MEMORY;
        goto out;
    }
    DWORD want = (DWORD)size.QuadPart, got = 0;
    while (got < want) {
        DWORD n = 0;
        if (!ReadFile(h, buf + got, want - got, &n, NULL)) {
            err = GetLastError();
            goto out;
        }
        if (n == 0)
            break; /* shrank since GetFileSizeEx: parse what is there (it will be rejected) */
        got += n;
    }
    rep->status = STORE_SLOT_MISSING; /* decided by edge_sf_select */
    *data = buf;
    *len = got;
    buf = NULL;
out:
    free(buf);
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    free(path);
    return err;
}

static uint64_t get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* The header's generation when the magic is there (verified only if the slot is valid). */
static uint64_t header_generation(const uint8_t *data, size_t len)
{
    if (!data || len < 24 || memcmp(data, EDGE_SF_MAGIC, 8) != 0)
        return 0;
    return get_le64(data + 16);
}

/* Renames a rejected slot to "<slot>.corrupt-<UTC time>[-n]" so it is kept, never overwritten. */
static DWORD set_aside(struct store *s, int slot, store_slot_report *rep)
{
    SYSTEMTIME t;
    DWORD err = ERROR_ALREADY_EXISTS;
    wchar_t *from = path_join(s->dir, slot_names[slot]);
    if (!from)
        return ERROR_NOT_ENOUGH_MEMORY;
    GetSystemTime(&t);
    for (unsigned n = 0;
         n < STORE_NAME_ATTEMPTS && (err == ERROR_ALREADY_EXISTS || err == ERROR_FILE_EXISTS);
         n++) {
        wchar_t name[STORE_NAME_CHARS];
        int r = swprintf(name, STORE_NAME_CHARS, L"%ls.corrupt-%04u%02u%02uT%02u%02u%02u%03uZ",
                         slot_names[slot], t.wYear, t.wMonth, t.wDay, t.wHour, t.wMinute, t.wSecond,
                         t.wMilliseconds);
        if (r > 0 && n > 0)
            r = swprintf(name + r, STORE_NAME_CHARS - (size_t)r, L"-%u", n);
        if (r < 0) {
            err = ERROR_FILENAME_EXCED_RANGE;
            break;
        }
        wchar_t *to = path_join(s->dir, name);
        if (!to) {
            err = ERROR_NOT_ENOUGH_MEMORY;
            break;
        }
        err = MoveFileExW(from, to, MOVEFILE_WRITE_THROUGH) ? ERROR_SUCCESS : GetLastError();
        free(to);
        if (err == ERROR_SUCCESS) {
            rep->set_aside = true;
            memcpy(rep->aside_name, name, ((size_t)wcslen(name) + 1) * sizeof(wchar_t));
        }
    }
    free(from);
    return err;
}

static DWORD make_descriptors(struct store *s)
{
    static const wchar_t *const file_sddl[2] = {STORE_FILE_SDDL, STORE_FILE_DACL_SDDL};
    for (int i = 0; i < 2; i++) {
        if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(file_sddl[i], SDDL_REVISION_1,
                                                                  &s->file_sd[i], NULL))
            return GetLastError();
    }
    return ERROR_SUCCESS;
}

static edge_status fail_open(store_load_report *report, DWORD err, const char *reason)
{
    report->win32_error = err;
    report->reason = reason;
    if (err == ERROR_NOT_ENOUGH_MEMORY || err == ERROR_OUTOFMEMORY)
        return EDGE_E_NO_MEMORY;
    return EDGE_E_STORAGE;
}

edge_status store_open(const wchar_t *dir, const edge_lease_table_params *params,
                       struct store **out, edge_lease_table **table_out,
                       struct store_load_report *report)
{
    edge_status st = EDGE_OK;
    struct store *s = NULL;
    edge_lease_table *table = NULL;
    uint8_t *data[STORE_SLOT_COUNT] = {NULL, NULL};
    size_t len[STORE_SLOT_COUNT] = {0, 0};
    edge_sf_candidate cand[STORE_SLOT_COUNT];
    edge_sf_result results[STORE_SLOT_COUNT];
    edge_sf_selection sel;
    const char *reason = NULL;
    DWORD err;
    int i;

    if (out)
        *out = NULL;
    if (table_out)
        *table_out = NULL;
    if (!report)
        return EDGE_E_BAD_REQUEST;
    memset(report, 0, sizeof(*report));
    report->loaded_slot = -1;
    for (i = 0; i < STORE_SLOT_COUNT; i++)
        report->slots[i].result_name = edge_sf_result_name(EDGE_SF_E_MISSING);
    if (!dir || !out || !table_out) {
        fail_open(report, ERROR_INVALID_PARAMETER, "invalid argument");
        return EDGE_E_BAD_REQUEST;
    }
    size_t dlen = wcsnlen(dir, STORE_MAX_DIR_CHARS + 1);
    while (dlen > 1 && (dir[dlen - 1] == L'\\' || dir[dlen - 1] == L'/'))
        dlen--;
    if (dlen == 0 || dlen > STORE_MAX_DIR_CHARS) {
        fail_open(report, ERROR_INVALID_PARAMETER, "empty or too long directory name");
        return EDGE_E_BAD_REQUEST;
    }

    s = calloc(1, sizeof(*s));
    if (!s || !(s->dir = malloc((dlen + 1) * sizeof(wchar_t)))) {
        st = fail_open(report, ERROR_NOT_ENOUGH_MEMORY, "out of memory");
        goto out;
    }
    memcpy(s->dir, dir, dlen * sizeof(wchar_t));
    s->dir[dlen] = L'\0';
    s->dir_handle = INVALID_HANDLE_VALUE;
    s->newest_slot = -1;
    s->write_limit = UINT64_MAX;
    s->sd_choice = SD_OWNED;
    s->next_generation = 1;
    s->defer_ms = STORE_DEFER_MS;
    InitializeSRWLock(&s->io_lock);
    InitializeSRWLock(&s->pend_lock);
    err = make_descriptors(s);
    if (err != ERROR_SUCCESS) {
        st = fail_open(report, err, "cannot build the security descriptors");
        goto out;
    }
    err = datadir_open(s->dir, &s->dir_handle, &reason);
    if (err != ERROR_SUCCESS) {
        st = fail_open(report, err, reason);
        goto out;
    }
    err = remove_temp_files(s, &report->temp_files_removed);
    if (err != ERROR_SUCCESS) {
        st = fail_open(report, err, "cannot delete a leftover temporary state file");
        goto out;
    }
    for (i = 0; i < STORE_SLOT_COUNT; i++) {
        err = read_slot(s, i, &data[i], &len[i], &report->slots[i]);
        if (err != ERROR_SUCCESS) {
            st = fail_open(report, err,
                           i == 0 ? "cannot read state.a.bin" : "cannot read state.b.bin");
            goto out;
        }
        cand[i].data = data[i];
        cand[i].len = len[i];
    }

    edge_sf_result sr = edge_sf_select(cand, STORE_SLOT_COUNT, NULL, params, results, &sel);
    if (sr == EDGE_SF_E_NO_MEMORY) {
        st = fail_open(report, ERROR_NOT_ENOUGH_MEMORY, "out of memory parsing the state");
        goto out;
    }
    if (sr != EDGE_SF_OK && sr != EDGE_SF_E_NONE_VALID) {
        st = EDGE_E_INTERNAL;
        report->reason = "edge_sf_select refused its arguments";
        goto out;
    }
    bool any_rejected = false;
    for (i = 0; i < STORE_SLOT_COUNT; i++) {
        store_slot_report *rep = &report->slots[i];
        if (data[i]) { /* read: edge_sf_select decided */
            rep->result = results[i];
            rep->status = results[i] == EDGE_SF_OK ? STORE_SLOT_VALID : STORE_SLOT_REJECTED;
            rep->generation = header_generation(data[i], len[i]);
        }
        rep->result_name = edge_sf_result_name(rep->result);
        any_rejected = any_rejected || rep->status == STORE_SLOT_REJECTED;
    }
    if (sr == EDGE_SF_OK) {
        table = sel.table;
        sel.table = NULL;
        report->loaded_slot = (int)sel.index;
        report->generation = sel.generation;
        report->recovered = any_rejected;
        s->generation = sel.generation;
        s->next_generation = sel.generation + 1; /* 0 after UINT64_MAX: exhausted */
        s->newest_slot = (int)sel.index;
    } else {
        /* Nothing valid.  Rejected slots are kept aside for inspection: the next saves must not
         * destroy the only copy of state that might still be recovered by hand. */
        for (i = 0; i < STORE_SLOT_COUNT; i++) {
            if (report->slots[i].status != STORE_SLOT_REJECTED)
                continue;
            err = set_aside(s, i, &report->slots[i]);
            if (err != ERROR_SUCCESS) {
                st = fail_open(report, err, "cannot set a corrupt state file aside");
                goto out;
            }
        }
        report->all_rejected = any_rejected;
        report->first_start = !any_rejected;
        st = edge_lease_table_create(params, &table);
        if (st != EDGE_OK) {
            report->reason = "cannot create the lease table";
            goto out;
        }
    }
    s->timer = CreateThreadpoolTimer(deferred_cb, s, NULL);
    if (!s->timer) {
        st = fail_open(report, GetLastError(), "cannot create the deferred-save timer");
        goto out;
    }
    *table_out = table;
    table = NULL;
    *out = s;
    s = NULL;
out:
    edge_lease_table_destroy(table);
    for (i = 0; i < STORE_SLOT_COUNT; i++)
        free(data[i]);
    store_close(s);
    return st;
}

/* Writes len bytes, honouring an injected write limit (see store_set_write_limit). */
static DWORD write_all(HANDLE h, const uint8_t *buf, size_t len, uint64_t limit)
{
    size_t allowed = (uint64_t)len > limit ? (size_t)limit : len;
    size_t done = 0;
    while (done < allowed) {
        DWORD n = 0;
        DWORD chunk = allowed - done > (1u << 30) ? (1u << 30) : (DWORD)(allowed - done);
        if (!WriteFile(h, buf + done, chunk, &n, NULL))
            return GetLastError();
        if (n == 0)
            return ERROR_WRITE_FAULT;
        done += n;
    }
    return allowed < len ? ERROR_DISK_FULL : ERROR_SUCCESS;
}

/* Creates a fresh temporary file in the directory; *path receives its allocated name. */
static DWORD create_temp(struct store *s, HANDLE *h, wchar_t **path)
{
    DWORD err = ERROR_FILE_EXISTS;
    *h = INVALID_HANDLE_VALUE;
    *path = NULL;
    for (unsigned n = 0;
         n < STORE_NAME_ATTEMPTS &&
         (err == ERROR_FILE_EXISTS || err == ERROR_ALREADY_EXISTS || err == ERROR_INVALID_OWNER);
         n++) {
        wchar_t name[STORE_NAME_CHARS];
        swprintf(name, STORE_NAME_CHARS, STORE_TMP_PREFIX L"%lu-%lu",
                 (unsigned long)GetCurrentProcessId(), (unsigned long)s->tmp_counter++);
        wchar_t *p = path_join(s->dir, name);
        if (!p)
            return ERROR_NOT_ENOUGH_MEMORY;
        SECURITY_ATTRIBUTES sa = {sizeof(sa), s->file_sd[s->sd_choice], FALSE};
        *h = CreateFileW(p, GENERIC_WRITE, 0, &sa, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
        if (*h != INVALID_HANDLE_VALUE) {
            *path = p;
            return ERROR_SUCCESS;
        }
        err = GetLastError();
        free(p);
        if (err == ERROR_INVALID_OWNER) {
            if (s->sd_choice == SD_UNOWNED)
                break;
            s->sd_choice = SD_UNOWNED; /* not SYSTEM: let the owner default to the token's */
        }
    }
    return err;
}

/* Serializes table as generation gen.  Returns a Win32 error; *st is set for non-storage ones. */
static DWORD serialize(const edge_lease_table *table, uint64_t gen, uint8_t **buf, size_t *len,
                       edge_status *st)
{
    edge_sf_result sr = edge_sf_serialize(table, gen, buf, len);
    if (sr == EDGE_SF_E_NO_MEMORY) {
        *st = EDGE_E_NO_MEMORY;
        return ERROR_NOT_ENOUGH_MEMORY;
    }
    /* Never write what store_open would refuse to read back. */
    if (sr == EDGE_SF_E_LIMITS || (sr == EDGE_SF_OK && (uint64_t)*len > STORE_MAX_FILE_BYTES))
        return ERROR_FILE_TOO_LARGE;
    if (sr != EDGE_SF_OK) {
        *st = EDGE_E_INTERNAL;
        return ERROR_INVALID_DATA;
    }
    return ERROR_SUCCESS;
}

/*
 * Writes a serialized generation GEN to the slot not holding the newest one (io_lock held):
 * temporary file, every byte, FlushFileBuffers, then the rename.  On failure nothing changed.
 */
static DWORD write_generation(struct store *s, const uint8_t *buf, size_t len, uint64_t gen,
                              uint64_t limit, edge_status *st)
{
    DWORD err = ERROR_SUCCESS;
    wchar_t *tmp = NULL, *slot_path = NULL;
    HANDLE h = INVALID_HANDLE_VALUE;
    int target = s->newest_slot == 0 ? 1 : 0;

    slot_path = path_join(s->dir, slot_names[target]);
    if (!slot_path) {
        *st = EDGE_E_NO_MEMORY;
        err = ERROR_NOT_ENOUGH_MEMORY;
        goto out;
    }
    err = create_temp(s, &h, &tmp);
    if (err != ERROR_SUCCESS)
        goto out;
    err = write_all(h, buf, len, limit);
    if (err != ERROR_SUCCESS)
        goto out;
    /* The data must be durable before the rename makes it the slot's content; otherwise a
     * power loss could leave a renamed but empty or torn file in place of the older generation. */
    if (!FlushFileBuffers(h)) {
        err = GetLastError();
        goto out;
    }
    BOOL closed = CloseHandle(h);
    h = INVALID_HANDLE_VALUE;
    if (!closed) {
        err = GetLastError();
        goto out;
    }
    if (!MoveFileExW(tmp, slot_path, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
        err = GetLastError();
        goto out;
    }
    s->generation = gen;
    s->newest_slot = target;
out:
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    if (err != ERROR_SUCCESS && tmp)
        DeleteFileW(tmp);
    free(tmp);
    free(slot_path);
    return err;
}

/* Reserves the next generation (pend_lock held).  False when the counter is exhausted. */
static bool reserve_generation(struct store *s, uint64_t *gen)
{
    if (s->next_generation == 0)
        return false;
    *gen = s->next_generation++;
    return true;
}

/* Gives back GEN when nothing was reserved after it (pend_lock held): no gap after a failure. */
static void unreserve_generation(struct store *s, uint64_t gen)
{
    if (s->next_generation == gen + 1)
        s->next_generation = gen;
}

/* Arms the deferred writer in ms unless it is due already or the store closes (pend_lock held). */
static void arm_timer(struct store *s, uint32_t ms)
{
    ULARGE_INTEGER due;
    FILETIME ft;

    if (s->closing || s->timer_armed || !s->timer)
        return;
    /* Negative = relative, in 100 ns units. */
    due.QuadPart = (ULONGLONG)(-(LONGLONG)((ms ? ms : 1u) * 10000ull));
    ft.dwLowDateTime = due.LowPart;
    ft.dwHighDateTime = due.HighPart;
    SetThreadpoolTimer(s->timer, &ft, 0, 0);
    s->timer_armed = true;
}

edge_status store_save(struct store *s, const edge_lease_table *table)
{
    edge_status st = EDGE_OK;
    DWORD err = ERROR_SUCCESS;
    uint8_t *buf = NULL;
    size_t len = 0;
    uint64_t gen = 0;
    bool was_pending;

    if (!s || !table)
        return EDGE_E_BAD_REQUEST;
    AcquireSRWLockExclusive(&s->io_lock);
    uint64_t limit = s->write_limit;
    s->write_limit = UINT64_MAX; /* one shot */

    /* The whole table is written: it covers any deferred change made before this call. */
    AcquireSRWLockExclusive(&s->pend_lock);
    was_pending = s->pending;
    s->pending = false;
    if (!reserve_generation(s, &gen))
        err = ERROR_ARITHMETIC_OVERFLOW;
    ReleaseSRWLockExclusive(&s->pend_lock);

    if (err == ERROR_SUCCESS)
        err = serialize(table, gen, &buf, &len, &st);
    if (err == ERROR_SUCCESS)
        err = write_generation(s, buf, len, gen, limit, &st);

    AcquireSRWLockExclusive(&s->pend_lock);
    if (err == ERROR_SUCCESS) {
        s->stats.saves++;
        s->deferred_error = ERROR_SUCCESS;
        if (was_pending)
            s->stats.superseded++;
    } else {
        s->stats.write_failures++;
        if (gen)
            unreserve_generation(s, gen);
        if (was_pending) { /* the deferred change is still not on disk */
            s->pending = true;
            arm_timer(s, s->defer_ms ? s->defer_ms : STORE_DEFER_MS);
        }
    }
    ReleaseSRWLockExclusive(&s->pend_lock);
    if (err != ERROR_SUCCESS && st == EDGE_OK)
        st = EDGE_E_STORAGE;
    s->last_error = err;
    ReleaseSRWLockExclusive(&s->io_lock);
    edge_sf_buffer_free(buf);
    return st;
}

/*
 * The deferred writer (timer callback, store_flush, store_close): snapshots the table under its
 * lock (shared), then writes it under io_lock.  A snapshot that a store_save overtook is dropped.
 */
static edge_status write_pending(struct store *s, bool from_timer)
{
    edge_status st = EDGE_OK;
    DWORD err = ERROR_SUCCESS;
    uint8_t *buf = NULL;
    size_t len = 0;
    uint64_t gen = 0;
    SRWLOCK *lock;

    AcquireSRWLockExclusive(&s->pend_lock);
    if (from_timer)
        s->timer_armed = false;
    lock = s->pending ? s->src_lock : NULL;
    ReleaseSRWLockExclusive(&s->pend_lock);
    if (!lock)
        return EDGE_OK;

    AcquireSRWLockShared(lock);
    AcquireSRWLockExclusive(&s->pend_lock);
    if (!s->pending) { /* a store_save wrote it meanwhile */
        ReleaseSRWLockExclusive(&s->pend_lock);
        ReleaseSRWLockShared(lock);
        return EDGE_OK;
    }
    s->pending = false;
    if (!reserve_generation(s, &gen))
        err = ERROR_ARITHMETIC_OVERFLOW;
    ReleaseSRWLockExclusive(&s->pend_lock);
    /* The table cannot change (its writers hold the lock exclusively) nor be swapped: a swap is
     * preceded by a store_save, which would have cleared pending. */
    if (err == ERROR_SUCCESS)
        err = serialize(s->src_table, gen, &buf, &len, &st);
    ReleaseSRWLockShared(lock);

    AcquireSRWLockExclusive(&s->io_lock);
    if (err == ERROR_SUCCESS && gen <= s->generation) {
        /* A store_save serialized later state and is on disk already. */
        AcquireSRWLockExclusive(&s->pend_lock);
        s->stats.superseded++;
        ReleaseSRWLockExclusive(&s->pend_lock);
        ReleaseSRWLockExclusive(&s->io_lock);
        edge_sf_buffer_free(buf);
        return EDGE_OK;
    }
    if (err == ERROR_SUCCESS) {
        uint64_t limit = s->write_limit;
        s->write_limit = UINT64_MAX;
        err = write_generation(s, buf, len, gen, limit, &st);
    }
    AcquireSRWLockExclusive(&s->pend_lock);
    if (err == ERROR_SUCCESS) {
        s->stats.deferred_writes++;
        s->deferred_error = ERROR_SUCCESS;
    } else {
        s->stats.write_failures++;
        s->deferred_error = err;
        if (gen)
            unreserve_generation(s, gen);
        /* Still ahead of disk unless something reserved after us (a store_save, which covers
         * this snapshot, or a newer snapshot).  The table is the same: only a store_save could
         * have swapped it. */
        if (!s->pending && (gen == 0 || s->next_generation == gen)) {
            s->pending = true;
            s->timer_armed = false;
            arm_timer(s, STORE_DEFER_RETRY_MS);
        }
    }
    ReleaseSRWLockExclusive(&s->pend_lock);
    s->last_error = err;
    ReleaseSRWLockExclusive(&s->io_lock);
    edge_sf_buffer_free(buf);
    if (err != ERROR_SUCCESS && st == EDGE_OK)
        st = EDGE_E_STORAGE;
    return st;
}

static VOID CALLBACK deferred_cb(PTP_CALLBACK_INSTANCE inst, PVOID ctx, PTP_TIMER timer)
{
    (void)inst;
    (void)timer;
    (void)write_pending(ctx, true);
}

edge_status store_save_deferred(struct store *s, const edge_lease_table *table, SRWLOCK *lock)
{
    if (!s || !table || !lock)
        return EDGE_E_BAD_REQUEST;
    AcquireSRWLockExclusive(&s->pend_lock);
    if (s->defer_ms == 0 || s->closing) {
        ReleaseSRWLockExclusive(&s->pend_lock);
        return store_save(s, table);
    }
    s->src_table = table;
    s->src_lock = lock;
    s->pending = true;
    s->stats.deferred_requests++;
    arm_timer(s, s->defer_ms);
    ReleaseSRWLockExclusive(&s->pend_lock);
    return EDGE_OK;
}

edge_status store_flush(struct store *s)
{
    return s ? write_pending(s, false) : EDGE_E_BAD_REQUEST;
}

DWORD store_deferred_error(const struct store *s)
{
    DWORD err;
    if (!s)
        return ERROR_INVALID_PARAMETER;
    AcquireSRWLockShared((SRWLOCK *)&s->pend_lock);
    err = s->deferred_error;
    ReleaseSRWLockShared((SRWLOCK *)&s->pend_lock);
    return err;
}

void store_set_defer_ms(struct store *s, uint32_t ms)
{
    if (!s)
        return;
    AcquireSRWLockExclusive(&s->pend_lock);
    s->defer_ms = ms;
    ReleaseSRWLockExclusive(&s->pend_lock);
}

void store_get_stats(const struct store *s, store_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!s)
        return;
    AcquireSRWLockShared((SRWLOCK *)&s->pend_lock);
    *out = s->stats;
    out->pending = s->pending;
    ReleaseSRWLockShared((SRWLOCK *)&s->pend_lock);
}

uint64_t store_generation(const struct store *s)
{
    uint64_t g;
    if (!s)
        return 0;
    AcquireSRWLockShared((SRWLOCK *)&s->io_lock);
    g = s->generation;
    ReleaseSRWLockShared((SRWLOCK *)&s->io_lock);
    return g;
}

int store_newest_slot(const struct store *s)
{
    int n;
    if (!s)
        return -1;
    AcquireSRWLockShared((SRWLOCK *)&s->io_lock);
    n = s->newest_slot;
    ReleaseSRWLockShared((SRWLOCK *)&s->io_lock);
    return n;
}

DWORD store_last_error(const struct store *s)
{
    DWORD e;
    if (!s)
        return ERROR_INVALID_PARAMETER;
    AcquireSRWLockShared((SRWLOCK *)&s->io_lock);
    e = s->last_error;
    ReleaseSRWLockShared((SRWLOCK *)&s->io_lock);
    return e;
}

void store_set_write_limit(struct store *s, uint64_t bytes)
{
    if (!s)
        return;
    AcquireSRWLockExclusive(&s->io_lock);
    s->write_limit = bytes;
    ReleaseSRWLockExclusive(&s->io_lock);
}

void store_close(struct store *s)
{
    if (!s)
        return;
    if (s->timer) {
        AcquireSRWLockExclusive(&s->pend_lock);
        s->closing = true;
        ReleaseSRWLockExclusive(&s->pend_lock);
        SetThreadpoolTimer(s->timer, NULL, 0, 0);
        WaitForThreadpoolTimerCallbacks(s->timer, TRUE);
        CloseThreadpoolTimer(s->timer);
        s->timer = NULL;
        (void)write_pending(s, false); /* the last deferred change, synchronously */
    }
    if (s->dir_handle && s->dir_handle != INVALID_HANDLE_VALUE)
        CloseHandle(s->dir_handle);
    for (int i = 0; i < 2; i++) {
        if (s->file_sd[i])
            LocalFree(s->file_sd[i]);
    }
    free(s->dir);
    free(s);
}
