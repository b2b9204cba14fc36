/* Tests of the lease store on disk (service/store.c) under Wine and on Windows. */
#include <windows.h>

#include <aclapi.h>
#include <sddl.h>
#include <winioctl.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <cmocka.h>

#include "edge/lease.h"
#include "edge/state_file.h"
#include "store.h"
#include "wine_detect.h"
#include "testfs.h"

#define TEST_SID "S-1-5-21-100-200-300-1001"

/* Per-test fixture: a unique directory name under the temp directory (not created), and the
 * objects a test opens, closed by the teardown even when an assertion fails. */
static wchar_t g_dir[MAX_PATH];
static struct store *g_store;
static edge_lease_table *g_table;
static unsigned g_serial;

static wchar_t *path_of(const wchar_t *name)
{
    static wchar_t buf[MAX_PATH];
    swprintf(buf, MAX_PATH, L"%ls\\%ls", g_dir, name);
    return buf;
}

static void remove_tree(const wchar_t *dir)
{
    wchar_t pattern[MAX_PATH], p[MAX_PATH];
    WIN32_FIND_DATAW fd;
    swprintf(pattern, MAX_PATH, L"%ls\\*", dir);
    HANDLE f = FindFirstFileW(pattern, &fd);
    if (f != INVALID_HANDLE_VALUE) {
        do {
            if (wcscmp(fd.cFileName, L".") == 0 || wcscmp(fd.cFileName, L"..") == 0)
                continue;
            swprintf(p, MAX_PATH, L"%ls\\%ls", dir, fd.cFileName);
            if (!DeleteFileW(p))
                RemoveDirectoryW(p);
        } while (FindNextFileW(f, &fd));
        FindClose(f);
    }
    if (!RemoveDirectoryW(dir))
        DeleteFileW(dir); /* the "file instead of a directory" case */
}

static int setup(void **state)
{
    (void)state;
    wchar_t tmp[MAX_PATH];
    GetTempPathW(MAX_PATH, tmp);
    swprintf(g_dir, MAX_PATH, L"%lsedge_store_%lu_%llu_%u", tmp,
             (unsigned long)GetCurrentProcessId(), (unsigned long long)GetTickCount64(),
             g_serial++);
    g_store = NULL;
    g_table = NULL;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    store_close(g_store);
    edge_lease_table_destroy(g_table);
    g_store = NULL;
    g_table = NULL;
    remove_tree(g_dir);
    return 0;
}

/* Opens g_dir into g_store/g_table (closing earlier ones), asserting success. */
static void open_ok(store_load_report *rep)
{
    store_close(g_store);
    edge_lease_table_destroy(g_table);
    g_store = NULL;
    g_table = NULL;
    edge_status st = store_open(g_dir, NULL, &g_store, &g_table, rep);
    if (st != EDGE_OK)
        fail_msg("store_open: %s (%s, error %lu)", edge_status_name(st),
                 rep->reason ? rep->reason : "-", (unsigned long)rep->win32_error);
    assert_non_null(g_store);
    assert_non_null(g_table);
}

static char g_paths[1000][40];

static void add_leases(edge_lease_table *t, uint32_t first, uint32_t n)
{
    for (uint32_t i = first; i < first + n; i++) {
        edge_lease_info l;
        memset(&l, 0, sizeof(l));
        for (int b = 0; b < 4; b++)
            l.id[b] = (uint8_t)(i >> (8 * b));
        l.id[15] = 0xA5;
        snprintf(g_paths[i], sizeof(g_paths[i]), "C:\\Apps\\app%u.exe", (unsigned)i);
        l.owner_sid = TEST_SID;
        l.image_path = g_paths[i];
        memset(l.image_sha256, (int)(i & 0xFF), sizeof(l.image_sha256));
        l.protocol = (i & 1) ? EDGE_LEASE_PROTO_UDP : EDGE_LEASE_PROTO_TCP;
        l.port_lo = (uint16_t)(2000 + 4 * i);
        l.port_hi = (uint16_t)(l.port_lo + i % 3);
        l.edge_option = (i & 2) ? EDGE_LEASE_EDGE_ALLOW : EDGE_LEASE_EDGE_DEFER_TO_APP;
        l.created = 1700000000u + i;
        l.expires = 1700003600u + i;
        l.state = (i % 3 == 0) ? EDGE_LEASE_RULE_PENDING : EDGE_LEASE_ACTIVE;
        l.flags = (i & 4) ? EDGE_LEASE_FLAG_KEEP_AFTER_EXIT : 0;
        assert_int_equal(edge_lease_table_add(t, &l, NULL), EDGE_OK);
    }
}

static bool same_lease(const edge_lease_info *lease, void *ctx)
{
    edge_lease_info got;
    assert_true(edge_lease_table_get(ctx, lease->id, &got));
    assert_string_equal(got.owner_sid, lease->owner_sid);
    assert_string_equal(got.image_path, lease->image_path);
    assert_memory_equal(got.image_sha256, lease->image_sha256, EDGE_LEASE_SHA256_LEN);
    assert_int_equal(got.protocol, lease->protocol);
    assert_int_equal(got.port_lo, lease->port_lo);
    assert_int_equal(got.port_hi, lease->port_hi);
    assert_int_equal(got.edge_option, lease->edge_option);
    assert_int_equal(got.created, lease->created);
    assert_int_equal(got.expires, lease->expires);
    assert_int_equal(got.flags, lease->flags);
    assert_int_equal(got.state, lease->state);
    return true;
}

static void assert_tables_equal(edge_lease_table *want, edge_lease_table *got)
{
    assert_int_equal(edge_lease_table_count(got), edge_lease_table_count(want));
    edge_lease_table_foreach(want, same_lease, got);
}

/* Reads a file of g_dir whole; *len receives its size.  NULL when it does not exist. */
static uint8_t *slurp(const wchar_t *name, size_t *len)
{
    *len = 0;
    HANDLE h =
        CreateFileW(path_of(name), GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return NULL;
    LARGE_INTEGER size;
    assert_true(GetFileSizeEx(h, &size));
    uint8_t *buf = malloc((size_t)size.QuadPart + 1);
    DWORD got = 0;
    assert_non_null(buf);
    assert_true(ReadFile(h, buf, (DWORD)size.QuadPart, &got, NULL));
    assert_int_equal(got, (DWORD)size.QuadPart);
    CloseHandle(h);
    *len = got;
    return buf;
}

static void spit(const wchar_t *name, const uint8_t *data, size_t len)
{
    HANDLE h = CreateFileW(path_of(name), GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
    DWORD n = 0;
    assert_true(h != INVALID_HANDLE_VALUE);
    assert_true(WriteFile(h, data, (DWORD)len, &n, NULL));
    assert_int_equal(n, (DWORD)len);
    CloseHandle(h);
}

static uint64_t file_generation(const wchar_t *name)
{
    size_t len;
    uint8_t *b = slurp(name, &len);
    uint64_t g = 0;
    assert_non_null(b);
    assert_true(len >= EDGE_SF_HEADER_LEN);
    for (int i = 7; i >= 0; i--)
        g = (g << 8) | b[16 + i];
    free(b);
    return g;
}

static unsigned count_files(const wchar_t *glob)
{
    WIN32_FIND_DATAW fd;
    unsigned n = 0;
    HANDLE f = FindFirstFileW(path_of(glob), &fd);
    if (f == INVALID_HANDLE_VALUE)
        return 0;
    do
        n++;
    while (FindNextFileW(f, &fd));
    FindClose(f);
    return n;
}

/* Saves `count` generations; generation k holds k leases. */
static void save_generations(edge_lease_table *t, uint32_t count)
{
    for (uint32_t k = 1; k <= count; k++) {
        add_leases(t, k - 1, 1);
        assert_int_equal(store_save(g_store, t), EDGE_OK);
        assert_int_equal(store_generation(g_store), k);
    }
}

/* ---- loading --------------------------------------------------------------------------------- */

static void test_first_start_is_empty(void **state)
{
    (void)state;
    store_load_report rep;
    open_ok(&rep);
    assert_int_equal(edge_lease_table_count(g_table), 0);
    assert_true(rep.first_start);
    assert_false(rep.recovered || rep.all_rejected);
    assert_int_equal(rep.loaded_slot, -1);
    assert_int_equal(rep.generation, 0);
    for (int i = 0; i < STORE_SLOT_COUNT; i++) {
        assert_int_equal(rep.slots[i].status, STORE_SLOT_MISSING);
        assert_string_equal(rep.slots[i].result_name, "EDGE_SF_E_MISSING");
    }
    assert_int_equal(store_generation(g_store), 0);
    assert_int_equal(store_newest_slot(g_store), -1);
    DWORD attr = GetFileAttributesW(g_dir);
    assert_true(attr != INVALID_FILE_ATTRIBUTES && (attr & FILE_ATTRIBUTE_DIRECTORY));
}

static void round_trip(uint32_t n)
{
    store_load_report rep;
    open_ok(&rep);
    edge_lease_table *want = NULL;
    assert_int_equal(edge_lease_table_create(NULL, &want), EDGE_OK);
    add_leases(want, 0, n);
    assert_int_equal(store_save(g_store, want), EDGE_OK);
    open_ok(&rep);
    assert_int_equal(rep.loaded_slot, 0);
    assert_int_equal(rep.generation, 1);
    assert_false(rep.first_start || rep.recovered || rep.all_rejected);
    assert_int_equal(rep.slots[0].status, STORE_SLOT_VALID);
    assert_string_equal(rep.slots[0].result_name, "EDGE_SF_OK");
    assert_int_equal(rep.slots[1].status, STORE_SLOT_MISSING);
    assert_tables_equal(want, g_table);
    edge_lease_table_destroy(want);
}

static void test_round_trip_0(void **state)
{
    (void)state;
    round_trip(0);
}

static void test_round_trip_1(void **state)
{
    (void)state;
    round_trip(1);
}

static void test_round_trip_1000(void **state)
{
    (void)state;
    round_trip(1000);
}

static void test_generations_alternate_slots(void **state)
{
    (void)state;
    store_load_report rep;
    open_ok(&rep);
    for (uint64_t k = 1; k <= 5; k++) {
        add_leases(g_table, (uint32_t)k - 1, 1);
        assert_int_equal(store_save(g_store, g_table), EDGE_OK);
        assert_int_equal(store_generation(g_store), k);
        assert_int_equal(store_last_error(g_store), ERROR_SUCCESS);
        int slot = (int)((k - 1) % 2); /* 1 -> a, 2 -> b, 3 -> a ... */
        assert_int_equal(store_newest_slot(g_store), slot);
        assert_int_equal(file_generation(slot ? STORE_SLOT_B_NAME : STORE_SLOT_A_NAME), k);
        if (k > 1)
            assert_int_equal(file_generation(slot ? STORE_SLOT_A_NAME : STORE_SLOT_B_NAME), k - 1);
    }
    open_ok(&rep);
    assert_int_equal(rep.generation, 5);
    assert_int_equal(rep.loaded_slot, 0);
    assert_int_equal(rep.slots[0].status, STORE_SLOT_VALID);
    assert_int_equal(rep.slots[1].status, STORE_SLOT_VALID);
    assert_int_equal(rep.slots[1].generation, 4);
    assert_false(rep.recovered);
    assert_int_equal(edge_lease_table_count(g_table), 5);
    /* The next write goes to the older slot and continues the count. */
    assert_int_equal(store_save(g_store, g_table), EDGE_OK);
    assert_int_equal(file_generation(STORE_SLOT_B_NAME), 6);
}

/* Generation 1 (one lease) in slot a, generation 2 (two leases) in slot b; damage b. */
static void recover_after(void (*damage)(void), edge_sf_result expected)
{
    store_load_report rep;
    open_ok(&rep);
    save_generations(g_table, 2);
    damage();
    open_ok(&rep);
    assert_int_equal(rep.loaded_slot, 0);
    assert_int_equal(rep.generation, 1);
    assert_true(rep.recovered);
    assert_false(rep.all_rejected || rep.first_start);
    assert_int_equal(rep.slots[0].status, STORE_SLOT_VALID);
    assert_int_equal(rep.slots[1].status, STORE_SLOT_REJECTED);
    assert_int_equal(rep.slots[1].result, expected);
    assert_string_equal(rep.slots[1].result_name, edge_sf_result_name(expected));
    assert_int_equal(edge_lease_table_count(g_table), 1);
    /* The damaged slot is the one overwritten next; the good one stays. */
    assert_int_equal(store_save(g_store, g_table), EDGE_OK);
    assert_int_equal(file_generation(STORE_SLOT_B_NAME), 2);
    assert_int_equal(file_generation(STORE_SLOT_A_NAME), 1);
}

static void flip_b(void)
{
    size_t len;
    uint8_t *b = slurp(STORE_SLOT_B_NAME, &len);
    assert_non_null(b);
    b[len - 3] ^= 0x40;
    spit(STORE_SLOT_B_NAME, b, len);
    free(b);
}

static void truncate_b(void)
{
    size_t len;
    uint8_t *b = slurp(STORE_SLOT_B_NAME, &len);
    assert_non_null(b);
    spit(STORE_SLOT_B_NAME, b, len / 2);
    free(b);
}

/* Bigger than the format allows: rejected from its size alone (a sparse file; never read). */
static void oversize_b(void)
{
    HANDLE h =
        CreateFileW(path_of(STORE_SLOT_B_NAME), GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    LARGE_INTEGER pos;
    assert_true(h != INVALID_HANDLE_VALUE);
    pos.QuadPart = (LONGLONG)STORE_MAX_FILE_BYTES + 1;
    assert_true(SetFilePointerEx(h, pos, NULL, FILE_BEGIN));
    assert_true(SetEndOfFile(h));
    CloseHandle(h);
}

static void test_corrupt_newest_loads_previous(void **state)
{
    (void)state;
    recover_after(flip_b, EDGE_SF_E_CHECKSUM);
}

static void test_truncated_newest_loads_previous(void **state)
{
    (void)state;
    recover_after(truncate_b, EDGE_SF_E_TRUNCATED);
}

static void test_oversized_slot_rejected_unread(void **state)
{
    (void)state;
    recover_after(oversize_b, EDGE_SF_E_LIMITS);
}

static void test_both_corrupt_start_empty_and_keep_files(void **state)
{
    (void)state;
    store_load_report rep;
    size_t la, lb, len;
    open_ok(&rep);
    save_generations(g_table, 2);
    flip_b();
    uint8_t *a = slurp(STORE_SLOT_A_NAME, &la);
    a[EDGE_SF_HEADER_LEN + 5] ^= 1;
    spit(STORE_SLOT_A_NAME, a, la);
    uint8_t *b = slurp(STORE_SLOT_B_NAME, &lb);

    open_ok(&rep);
    assert_int_equal(edge_lease_table_count(g_table), 0);
    assert_true(rep.all_rejected);
    assert_false(rep.first_start || rep.recovered);
    assert_int_equal(rep.loaded_slot, -1);
    for (int i = 0; i < STORE_SLOT_COUNT; i++) {
        assert_int_equal(rep.slots[i].status, STORE_SLOT_REJECTED);
        assert_int_equal(rep.slots[i].result, EDGE_SF_E_CHECKSUM);
        assert_true(rep.slots[i].set_aside);
        assert_int_equal(rep.slots[i].generation, (uint64_t)i + 1); /* header, unverified */
    }
    assert_true(wcsncmp(rep.slots[0].aside_name, L"state.a.bin.corrupt-", 20) == 0);
    assert_true(wcsncmp(rep.slots[1].aside_name, L"state.b.bin.corrupt-", 20) == 0);
    /* The corrupt bytes are kept, under their aside names, and the slots are free. */
    uint8_t *ka = slurp(rep.slots[0].aside_name, &len);
    assert_int_equal(len, la);
    assert_memory_equal(ka, a, la);
    free(ka);
    uint8_t *kb = slurp(rep.slots[1].aside_name, &len);
    assert_int_equal(len, lb);
    assert_memory_equal(kb, b, lb);
    free(kb);
    assert_int_equal(GetFileAttributesW(path_of(STORE_SLOT_A_NAME)), INVALID_FILE_ATTRIBUTES);
    assert_int_equal(GetFileAttributesW(path_of(STORE_SLOT_B_NAME)), INVALID_FILE_ATTRIBUTES);

    /* Saving again starts a fresh history and leaves the kept files alone. */
    add_leases(g_table, 10, 1);
    assert_int_equal(store_save(g_store, g_table), EDGE_OK);
    assert_int_equal(file_generation(STORE_SLOT_A_NAME), 1);
    assert_int_equal(count_files(L"state.?.bin.corrupt-*"), 2);
    free(a);
    free(b);
}

static void test_leftover_temp_files_removed(void **state)
{
    (void)state;
    store_load_report rep;
    open_ok(&rep);
    store_close(g_store);
    g_store = NULL;
    static const uint8_t junk[] = "half a state file";
    spit(L"state.tmp-4242-7", junk, sizeof(junk));
    spit(L"state.tmp-1-1", junk, sizeof(junk));
    spit(L"unrelated.txt", junk, sizeof(junk));
    open_ok(&rep);
    assert_int_equal(rep.temp_files_removed, 2);
    assert_int_equal(count_files(STORE_TMP_PREFIX L"*"), 0);
    assert_int_equal(count_files(L"unrelated.txt"), 1);
    assert_true(rep.first_start); /* temp files are never taken for state */
}

/* ---- failing writes -------------------------------------------------------------------------- */

typedef struct snapshot {
    uint8_t *a, *b;
    size_t la, lb;
} snapshot;

static void snap(snapshot *s)
{
    s->a = slurp(STORE_SLOT_A_NAME, &s->la);
    s->b = slurp(STORE_SLOT_B_NAME, &s->lb);
}

static void assert_unchanged(snapshot *s)
{
    snapshot now;
    snap(&now);
    assert_int_equal(now.la, s->la);
    assert_int_equal(now.lb, s->lb);
    assert_memory_equal(now.a, s->a, s->la);
    assert_memory_equal(now.b, s->b, s->lb);
    free(now.a);
    free(now.b);
    free(s->a);
    free(s->b);
    assert_int_equal(count_files(STORE_TMP_PREFIX L"*"), 0);
}

static void test_disk_full_changes_nothing(void **state)
{
    (void)state;
    static const uint64_t limits[] = {0, 1, 100, EDGE_SF_HEADER_LEN};
    store_load_report rep;
    snapshot s;
    open_ok(&rep);
    save_generations(g_table, 2);
    add_leases(g_table, 50, 20);
    for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
        snap(&s);
        store_set_write_limit(g_store, limits[i]);
        assert_int_equal(store_save(g_store, g_table), EDGE_E_STORAGE);
        assert_int_equal(store_last_error(g_store), ERROR_DISK_FULL);
        assert_int_equal(store_generation(g_store), 2);
        assert_int_equal(store_newest_slot(g_store), 1);
        assert_unchanged(&s);
    }
    /* The limit was one-shot: the next save goes through, to the right slot. */
    assert_int_equal(store_save(g_store, g_table), EDGE_OK);
    assert_int_equal(store_last_error(g_store), ERROR_SUCCESS);
    assert_int_equal(store_generation(g_store), 3);
    assert_int_equal(file_generation(STORE_SLOT_A_NAME), 3);
    open_ok(&rep);
    assert_int_equal(rep.generation, 3);
    assert_int_equal(edge_lease_table_count(g_table), 22);
}

/* A real failure of the final rename: the target slot is held open without sharing. */
static void test_locked_slot_changes_nothing(void **state)
{
    (void)state;
    store_load_report rep;
    snapshot s;
    open_ok(&rep);
    save_generations(g_table, 2);
    snap(&s);
    HANDLE lock =
        CreateFileW(path_of(STORE_SLOT_A_NAME), GENERIC_READ, 0, NULL, OPEN_EXISTING, 0, NULL);
    assert_true(lock != INVALID_HANDLE_VALUE);
    add_leases(g_table, 20, 1);
    assert_int_equal(store_save(g_store, g_table), EDGE_E_STORAGE);
    assert_int_not_equal(store_last_error(g_store), ERROR_SUCCESS);
    print_message("locked slot: save failed with Win32 error %lu\n",
                  (unsigned long)store_last_error(g_store));
    assert_int_equal(store_generation(g_store), 2);
    CloseHandle(lock);
    assert_unchanged(&s);
    assert_int_equal(store_save(g_store, g_table), EDGE_OK);
    assert_int_equal(file_generation(STORE_SLOT_A_NAME), 3);
}

/* ---- protection of the directory and files --------------------------------------------------- */

/* Every ACE must be for SYSTEM or Administrators.  Wine does not store security descriptors on
 * this file system and synthesises a DACL from the Unix mode, with the owner standing for the
 * mode's user bits: accepted there, and only there. */
static void assert_protected(const wchar_t *path, bool dir)
{
    HANDLE h = CreateFileW(path, READ_CONTROL, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                           OPEN_EXISTING, dir ? FILE_FLAG_BACKUP_SEMANTICS : 0, NULL);
    PSECURITY_DESCRIPTOR sd = NULL;
    PACL dacl = NULL;
    PSID owner = NULL;
    bool wine = edge_test_under_wine(), system = false;
    assert_true(h != INVALID_HANDLE_VALUE);
    assert_int_equal(GetSecurityInfo(h, SE_FILE_OBJECT,
                                     DACL_SECURITY_INFORMATION | OWNER_SECURITY_INFORMATION, &owner,
                                     NULL, &dacl, NULL, &sd),
                     ERROR_SUCCESS);
    CloseHandle(h);
    assert_non_null(dacl);
    for (WORD i = 0; i < dacl->AceCount; i++) {
        ACCESS_ALLOWED_ACE *ace = NULL;
        assert_true(GetAce(dacl, i, (void **)&ace));
        assert_int_equal(ace->Header.AceType, ACCESS_ALLOWED_ACE_TYPE);
        PSID sid = (PSID)&ace->SidStart;
        if (IsWellKnownSid(sid, WinLocalSystemSid)) {
            system = true;
            assert_int_equal(ace->Mask & FILE_ALL_ACCESS, FILE_ALL_ACCESS);
        } else if (!IsWellKnownSid(sid, WinBuiltinAdministratorsSid) &&
                   !(wine && EqualSid(sid, owner))) {
            LPWSTR s = NULL;
            ConvertSidToStringSidW(sid, &s);
            fail_msg("unexpected ACE for %ls on %ls", s ? s : L"?", path);
        }
    }
    assert_true(system);
    if (!wine) {
        SECURITY_DESCRIPTOR_CONTROL control = 0;
        DWORD rev = 0;
        assert_true(GetSecurityDescriptorControl(sd, &control, &rev));
        assert_true(control & SE_DACL_PROTECTED);
        assert_int_equal(dacl->AceCount, 2);
        assert_true(IsWellKnownSid(owner, WinLocalSystemSid) ||
                    IsWellKnownSid(owner, WinBuiltinAdministratorsSid));
    }
    LocalFree(sd);
}

static void test_directory_and_files_protected(void **state)
{
    (void)state;
    store_load_report rep;
    open_ok(&rep);
    assert_int_equal(store_save(g_store, g_table), EDGE_OK);
    assert_int_equal(store_save(g_store, g_table), EDGE_OK);
    assert_protected(g_dir, true);
    assert_protected(path_of(STORE_SLOT_A_NAME), false);
    assert_protected(path_of(STORE_SLOT_B_NAME), false);

    /* Control: a directory made without a descriptor fails the same check under Wine (Everyone
     * may read it), so the check above can tell the difference. */
    if (edge_test_under_wine()) {
        wchar_t plain[MAX_PATH];
        PSECURITY_DESCRIPTOR sd = NULL;
        PACL dacl = NULL;
        bool everyone = false;
        swprintf(plain, MAX_PATH, L"%ls_plain", g_dir);
        assert_true(CreateDirectoryW(plain, NULL));
        assert_int_equal(GetNamedSecurityInfoW(plain, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION,
                                               NULL, NULL, &dacl, NULL, &sd),
                         ERROR_SUCCESS);
        for (WORD i = 0; dacl && i < dacl->AceCount; i++) {
            ACCESS_ALLOWED_ACE *ace = NULL;
            assert_true(GetAce(dacl, i, (void **)&ace));
            everyone = everyone || IsWellKnownSid((PSID)&ace->SidStart, WinWorldSid);
        }
        LocalFree(sd);
        RemoveDirectoryW(plain);
        assert_true(everyone);
    }
}

static void expect_refused(DWORD error)
{
    store_load_report rep;
    struct store *s = (struct store *)1;
    edge_lease_table *t = (edge_lease_table *)1;
    assert_int_equal(store_open(g_dir, NULL, &s, &t, &rep), EDGE_E_STORAGE);
    assert_null(s);
    assert_null(t);
    assert_int_equal(rep.win32_error, error);
    assert_non_null(rep.reason);
    print_message("refused as expected: %s\n", rep.reason);
}

static void test_file_instead_of_directory_refused(void **state)
{
    (void)state;
    HANDLE h = CreateFileW(g_dir, GENERIC_WRITE, 0, NULL, CREATE_NEW, 0, NULL);
    assert_true(h != INVALID_HANDLE_VALUE);
    CloseHandle(h);
    expect_refused(ERROR_DIRECTORY);
    assert_true(!(GetFileAttributesW(g_dir) & FILE_ATTRIBUTE_DIRECTORY)); /* left alone */
}

/* Turns the empty directory g_dir into a junction to the temp directory; false if unsupported. */
static bool make_junction(void)
{
    wchar_t target[MAX_PATH];
    GetTempPathW(MAX_PATH, target);
    target[wcslen(target) - 1] = L'\0'; /* no trailing backslash */
    return testfs_make_junction(g_dir, target);
}

static void test_reparse_point_refused(void **state)
{
    (void)state;
    assert_true(CreateDirectoryW(g_dir, NULL));
    if (!make_junction()) {
        DWORD jerr = GetLastError();
        /* A symbolic link needs a privilege, but may work where junctions do not. */
        wchar_t target[MAX_PATH];
        GetTempPathW(MAX_PATH, target);
        RemoveDirectoryW(g_dir);
        BOOL ok = CreateSymbolicLinkW(g_dir, target, SYMBOLIC_LINK_FLAG_DIRECTORY);
        DWORD attr = GetFileAttributesW(g_dir);
        if (!ok || attr == INVALID_FILE_ATTRIBUTES || !(attr & FILE_ATTRIBUTE_REPARSE_POINT)) {
            print_message("SKIP: cannot create a junction (FSCTL_SET_REPARSE_POINT error %lu) or a "
                          "symbolic link (CreateSymbolicLinkW returned %d, attributes 0x%lx) "
                          "here; Wine 8 implements neither\n",
                          (unsigned long)jerr, (int)ok, (unsigned long)attr);
            skip();
        }
    }
    expect_refused(STORE_ERROR_REPARSE_POINT);
}

/* A directory a user created first (so owns) must not be used.  Needs an owner that sticks. */
static void test_foreign_owner_refused(void **state)
{
    (void)state;
    testfs_plant_users_dir_or_skip(g_dir);
    expect_refused(ERROR_INVALID_OWNER);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    store_load_report rep;
    struct store *s = NULL;
    edge_lease_table *t = NULL;
    assert_int_equal(store_open(g_dir, NULL, &s, &t, NULL), EDGE_E_BAD_REQUEST);
    assert_int_equal(store_open(NULL, NULL, &s, &t, &rep), EDGE_E_BAD_REQUEST);
    assert_int_equal(rep.win32_error, ERROR_INVALID_PARAMETER);
    assert_int_equal(store_open(L"", NULL, &s, &t, &rep), EDGE_E_BAD_REQUEST);
    assert_null(s);
    assert_null(t);
    assert_int_equal(store_save(NULL, NULL), EDGE_E_BAD_REQUEST);
    assert_int_equal(GetFileAttributesW(g_dir), INVALID_FILE_ATTRIBUTES); /* nothing created */
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_first_start_is_empty),
        T(test_round_trip_0),
        T(test_round_trip_1),
        T(test_round_trip_1000),
        T(test_generations_alternate_slots),
        T(test_corrupt_newest_loads_previous),
        T(test_truncated_newest_loads_previous),
        T(test_oversized_slot_rejected_unread),
        T(test_both_corrupt_start_empty_and_keep_files),
        T(test_leftover_temp_files_removed),
        T(test_disk_full_changes_nothing),
        T(test_locked_slot_changes_nothing),
        T(test_directory_and_files_protected),
        T(test_file_instead_of_directory_refused),
        T(test_reparse_point_refused),
        T(test_foreign_owner_refused),
        T(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
