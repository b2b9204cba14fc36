/* consent.bin: format (consent.h), parser, atomic save, load with set-aside of a corrupt file. */
#include "consent_internal.h"

#include <sddl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "edge/path.h"
#include "edge/sha256.h"
#include "edge/utf8.h"
#include "store.h"

#define MAGIC          "EDGECONS"
#define VERSION        1u
#define TYPE_PENDING   1u
#define TYPE_DECISION  2u
#define PENDING_FIXED  108u /* bytes before the strings, counting the length field */
#define DECISION_FIXED 64u
#define NAME_ATTEMPTS  100u
#define NAME_CHARS     64

/* ---- little-endian helpers ---- */

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* ---- serialize ---- */

static size_t pending_size(const struct consent_entry *e)
{
    return PENDING_FIXED + strlen(e->sid) + strlen(e->path);
}

static size_t decision_size(const struct consent_decision *d)
{
    return DECISION_FIXED + (d->sid ? strlen(d->sid) : 0) + strlen(d->path);
}

static uint8_t *serialize(const struct consent *c, size_t *len_out)
{
    size_t body = 0, i;
    for (i = 0; i < c->n_entries; i++)
        body += pending_size(&c->entries[i]);
    for (i = 0; i < c->n_decisions; i++)
        body += decision_size(&c->decisions[i]);
    uint8_t *buf = calloc(CONSENT_HEADER_LEN + body, 1);
    if (!buf)
        return NULL;
    uint8_t *p = buf + CONSENT_HEADER_LEN;
    for (i = 0; i < c->n_entries; i++) {
        const struct consent_entry *e = &c->entries[i];
        size_t sl = strlen(e->sid), pl = strlen(e->path);
        put32(p, (uint32_t)(pending_size(e) - 4));
        p[4] = TYPE_PENDING;
        p[5] = (uint8_t)e->state;
        p[6] = e->scope.protocol;
        p[7] = (uint8_t)((e->scope.has_seconds ? 1u : 0u) | (e->has_lease ? 2u : 0u));
        memcpy(p + 8, e->id, EDGE_ID_SIZE);
        memcpy(p + 24, e->sha, EDGE_SHA256_SIZE);
        put16(p + 56, e->scope.port_lo);
        put16(p + 58, e->scope.port_hi);
        put32(p + 60, e->scope.seconds);
        put32(p + 64, e->scope.flags);
        put32(p + 68, e->session);
        put64(p + 72, e->created);
        put64(p + 80, e->expires);
        memcpy(p + 88, e->lease_id, EDGE_ID_SIZE);
        put16(p + 104, (uint16_t)sl);
        put16(p + 106, (uint16_t)pl);
        memcpy(p + PENDING_FIXED, e->sid, sl);
        memcpy(p + PENDING_FIXED + sl, e->path, pl);
        p += PENDING_FIXED + sl + pl;
    }
    for (i = 0; i < c->n_decisions; i++) {
        const struct consent_decision *d = &c->decisions[i];
        size_t sl = d->sid ? strlen(d->sid) : 0, pl = strlen(d->path);
        put32(p, (uint32_t)(decision_size(d) - 4));
        p[4] = TYPE_DECISION;
        p[5] = d->approved ? 1 : 0;
        p[6] = d->protocol;
        p[7] = d->sid ? 1 : 0;
        memcpy(p + 8, d->sha, EDGE_SHA256_SIZE);
        put16(p + 40, d->port_lo);
        put16(p + 42, d->port_hi);
        put64(p + 44, d->created);
        put64(p + 52, d->expires);
        put16(p + 60, (uint16_t)sl);
        put16(p + 62, (uint16_t)pl);
        if (sl)
            memcpy(p + DECISION_FIXED, d->sid, sl);
        memcpy(p + DECISION_FIXED + sl, d->path, pl);
        p += DECISION_FIXED + sl + pl;
    }
    memcpy(buf, MAGIC, 8);
    put32(buf + 8, VERSION);
    put64(buf + 16, body);
    put32(buf + 24, (uint32_t)c->n_entries);
    put32(buf + 28, (uint32_t)c->n_decisions);
    edge_sha256_ctx h;
    edge_sha256_init(&h);
    edge_sha256_update(&h, buf, 32);
    edge_sha256_update(&h, buf + CONSENT_HEADER_LEN, body);
    edge_sha256_final(&h, buf + 32);
    *len_out = CONSENT_HEADER_LEN + body;
    return buf;
}

/* ---- parse ---- */

static char *dup_n(const uint8_t *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static bool sid_ok(const uint8_t *s, size_t n)
{
    if (n < 5 || n > EDGE_MAX_SID || memcmp(s, "S-1-", 4) != 0)
        return false;
    for (size_t i = 4; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}

static bool path_ok(const char *p, size_t n)
{
    return n >= 1 && n <= EDGE_MAX_PATH && edge_utf8_check((const uint8_t *)p, n) == EDGE_UTF8_OK &&
           edge_path_is_canonical(p);
}

static bool scope_ok(uint8_t proto, uint16_t lo, uint16_t hi)
{
    return (proto == EDGE_IPPROTO_TCP || proto == EDGE_IPPROTO_UDP) && lo >= 1 && lo <= hi;
}

const char *consent_file_parse(const uint8_t *data, size_t len, uint32_t max_pending,
                               uint32_t max_decisions, struct consent_entry **entries,
                               size_t *n_entries, struct consent_decision **decisions,
                               size_t *n_decisions)
{
    struct consent_entry *es = NULL;
    struct consent_decision *ds = NULL;
    size_t ne = 0, nd = 0, off = CONSENT_HEADER_LEN;
    const char *why = NULL;
    uint8_t sum[EDGE_SHA256_SIZE];

    *entries = NULL;
    *decisions = NULL;
    *n_entries = *n_decisions = 0;
    if (len < CONSENT_HEADER_LEN)
        return "shorter than its header";
    if (memcmp(data, MAGIC, 8) != 0)
        return "not a consent file (magic)";
    if (get32(data + 8) != VERSION)
        return "unknown format version";
    if (get32(data + 12) != 0)
        return "reserved flags set";
    uint64_t body = get64(data + 16);
    uint32_t cp = get32(data + 24), cd = get32(data + 28);
    if (body != len - CONSENT_HEADER_LEN)
        return "body length does not match the file size (torn write?)";
    if (cp > max_pending || cd > max_decisions)
        return "more records than the caps allow";
    edge_sha256_ctx h;
    edge_sha256_init(&h);
    edge_sha256_update(&h, data, 32);
    edge_sha256_update(&h, data + CONSENT_HEADER_LEN, (size_t)body);
    edge_sha256_final(&h, sum);
    if (memcmp(sum, data + 32, EDGE_SHA256_SIZE) != 0)
        return "checksum mismatch";
    es = calloc(cp ? cp : 1, sizeof(*es));
    ds = calloc(cd ? cd : 1, sizeof(*ds));
    if (!es || !ds) {
        why = "out of memory";
        goto fail;
    }
    for (uint32_t i = 0; i < cp + cd; i++) {
        bool pend = i < cp;
        size_t fixed = pend ? PENDING_FIXED : DECISION_FIXED;
        if (len - off < fixed) {
            why = "record overruns the file";
            goto fail;
        }
        const uint8_t *p = data + off;
        size_t rlen = (size_t)get32(p) + 4;
        if (rlen < fixed || rlen > len - off) {
            why = "record length invalid";
            goto fail;
        }
        if (p[4] != (pend ? TYPE_PENDING : TYPE_DECISION)) {
            why = "record type out of place";
            goto fail;
        }
        size_t sl = get16(p + (pend ? 104 : 60)), pl = get16(p + (pend ? 106 : 62));
        if (fixed + sl + pl != rlen) {
            why = "record string lengths inconsistent";
            goto fail;
        }
        const uint8_t *sid = p + fixed, *path = sid + sl;
        if (pend) {
            struct consent_entry *e = &es[ne];
            if (p[5] < CONSENT_WAITING || p[5] > CONSENT_DENIED || (p[7] & ~3u) ||
                !scope_ok(p[6], get16(p + 56), get16(p + 58)) || !sid_ok(sid, sl) ||
                get64(p + 72) > get64(p + 80)) {
                why = "pending record field invalid";
                goto fail;
            }
            e->sid = dup_n(sid, sl);
            e->path = dup_n(path, pl);
            ne++;
            if (!e->sid || !e->path) {
                why = "out of memory";
                goto fail;
            }
            if (!path_ok(e->path, pl)) {
                why = "pending record path invalid";
                goto fail;
            }
            e->state = (consent_state)p[5];
            e->scope.protocol = p[6];
            e->scope.has_seconds = (p[7] & 1u) != 0;
            e->has_lease = (p[7] & 2u) != 0;
            memcpy(e->id, p + 8, EDGE_ID_SIZE);
            memcpy(e->sha, p + 24, EDGE_SHA256_SIZE);
            e->scope.port_lo = get16(p + 56);
            e->scope.port_hi = get16(p + 58);
            e->scope.seconds = get32(p + 60);
            e->scope.flags = get32(p + 64);
            e->session = get32(p + 68);
            e->created = get64(p + 72);
            e->expires = get64(p + 80);
            memcpy(e->lease_id, p + 88, EDGE_ID_SIZE);
        } else {
            struct consent_decision *d = &ds[nd];
            bool scoped = (p[7] & 1u) != 0;
            if (p[5] > 1 || (p[7] & ~1u) || !scope_ok(p[6], get16(p + 40), get16(p + 42)) ||
                scoped != (sl > 0) || (scoped && !sid_ok(sid, sl)) ||
                get64(p + 44) > get64(p + 52)) {
                why = "decision record field invalid";
                goto fail;
            }
            d->sid = scoped ? dup_n(sid, sl) : NULL;
            d->path = dup_n(path, pl);
            nd++;
            if ((scoped && !d->sid) || !d->path) {
                why = "out of memory";
                goto fail;
            }
            if (!path_ok(d->path, pl)) {
                why = "decision record path invalid";
                goto fail;
            }
            d->approved = p[5] == 1;
            d->protocol = p[6];
            memcpy(d->sha, p + 8, EDGE_SHA256_SIZE);
            d->port_lo = get16(p + 40);
            d->port_hi = get16(p + 42);
            d->created = get64(p + 44);
            d->expires = get64(p + 52);
        }
        off += rlen;
    }
    if (off != len) {
        why = "trailing bytes after the last record";
        goto fail;
    }
    *entries = es;
    *decisions = ds;
    *n_entries = ne;
    *n_decisions = nd;
    return NULL;
fail:
    for (size_t i = 0; i < ne; i++)
        consent_entry_free(&es[i]);
    for (size_t i = 0; i < nd; i++)
        consent_decision_free(&ds[i]);
    free(es);
    free(ds);
    return why;
}

/* ---- files ---- */

static wchar_t *join(const wchar_t *dir, const wchar_t *name)
{
    size_t a = wcslen(dir), b = wcslen(name);
    wchar_t *p = malloc((a + b + 2) * sizeof(wchar_t));
    if (p)
        swprintf(p, a + b + 2, L"%ls\\%ls", dir, name);
    return p;
}

/* Renames a rejected file aside (never overwrites anything). */
static DWORD set_aside(const wchar_t *dir, const wchar_t *file)
{
    DWORD err = ERROR_FILE_EXISTS;
    for (unsigned n = 0; n < NAME_ATTEMPTS; n++) {
        wchar_t name[NAME_CHARS];
        swprintf(name, NAME_CHARS, CONSENT_FILE_NAME L".corrupt-%llu-%u",
                 (unsigned long long)GetTickCount64(), n);
        wchar_t *to = join(dir, name);
        if (!to)
            return ERROR_NOT_ENOUGH_MEMORY;
        err = MoveFileExW(file, to, MOVEFILE_WRITE_THROUGH) ? ERROR_SUCCESS : GetLastError();
        free(to);
        if (err != ERROR_ALREADY_EXISTS && err != ERROR_FILE_EXISTS)
            break;
    }
    return err;
}

/* Deletes leftover temporary files of interrupted saves. */
static void remove_temps(const wchar_t *dir)
{
    WIN32_FIND_DATAW fd;
    wchar_t *pattern = join(dir, CONSENT_TMP_PREFIX L"*");
    if (!pattern)
        return;
    HANDLE f = FindFirstFileW(pattern, &fd);
    free(pattern);
    if (f == INVALID_HANDLE_VALUE)
        return;
    do {
        wchar_t *p = join(dir, fd.cFileName);
        if (p)
            DeleteFileW(p);
        free(p);
    } while (FindNextFileW(f, &fd));
    FindClose(f);
}

edge_status consent_file_load(struct consent *c, uint64_t now, struct consent_load_report *rep)
{
    wchar_t *file = join(c->dir, CONSENT_FILE_NAME);
    HANDLE h = INVALID_HANDLE_VALUE;
    uint8_t *data = NULL;
    edge_status st = EDGE_OK;
    LARGE_INTEGER size;
    const char *why = NULL;

    if (!file)
        return EDGE_E_NO_MEMORY;
    remove_temps(c->dir);
    h = CreateFileW(file, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING,
                    FILE_FLAG_OPEN_REPARSE_POINT, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        DWORD err = GetLastError();
        if (err == ERROR_FILE_NOT_FOUND) {
            rep->first_start = true;
        } else {
            rep->win32_error = err;
            st = EDGE_E_STORAGE;
        }
        goto out;
    }
    if (!GetFileSizeEx(h, &size)) {
        rep->win32_error = GetLastError();
        st = EDGE_E_STORAGE;
        goto out;
    }
    if ((uint64_t)size.QuadPart > CONSENT_MAX_FILE_BYTES) {
        why = "file larger than the limit";
    } else {
        size_t len = (size_t)size.QuadPart, done = 0;
        data = malloc(len ? len : 1);
        if (!data) {
            st = EDGE_E_NO_MEMORY;
            goto out;
        }
        while (done < len) {
            DWORD n = 0;
            if (!ReadFile(h, data + done, (DWORD)(len - done), &n, NULL) || n == 0)
                break;
            done += n;
        }
        if (done != len) {
            rep->win32_error = GetLastError();
            st = EDGE_E_STORAGE;
            goto out;
        }
        why = consent_file_parse(data, len, CONSENT_HARD_MAX_PENDING, CONSENT_HARD_MAX_DECISIONS,
                                 &c->entries, &c->n_entries, &c->decisions, &c->n_decisions);
        if (why && strcmp(why, "out of memory") == 0) {
            st = EDGE_E_NO_MEMORY; /* transient: never discard the file for it */
            goto out;
        }
    }
    if (why) {
        CloseHandle(h);
        h = INVALID_HANDLE_VALUE;
        rep->corrupt = true;
        rep->reason = why;
        DWORD err = set_aside(c->dir, file);
        if (err != ERROR_SUCCESS) {
            rep->win32_error = err;
            st = EDGE_E_STORAGE;
        }
        goto out;
    }
    CloseHandle(h); /* before consent_expire may replace the file */
    h = INVALID_HANDLE_VALUE;
    rep->pending_loaded = (uint32_t)c->n_entries;
    rep->decisions_loaded = (uint32_t)c->n_decisions;
    rep->expired_dropped = (uint32_t)consent_expire(c, now);
out:
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    free(data);
    free(file);
    return st;
}

static DWORD write_all(HANDLE h, const uint8_t *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        DWORD n = 0, chunk = len - done > (1u << 30) ? (1u << 30) : (DWORD)(len - done);
        if (!WriteFile(h, buf + done, chunk, &n, NULL))
            return GetLastError();
        if (n == 0)
            return ERROR_WRITE_FAULT;
        done += n;
    }
    return ERROR_SUCCESS;
}

DWORD consent_file_save(struct consent *c)
{
    size_t len = 0;
    uint8_t *buf = serialize(c, &len);
    wchar_t *tmp = NULL, *file = join(c->dir, CONSENT_FILE_NAME);
    HANDLE h = INVALID_HANDLE_VALUE;
    DWORD err = ERROR_SUCCESS;

    if (!buf || !file) {
        err = ERROR_NOT_ENOUGH_MEMORY;
        goto out;
    }
    if (len > CONSENT_MAX_FILE_BYTES) {
        err = ERROR_FILE_TOO_LARGE; /* never write what could not be loaded back */
        goto out;
    }
    for (unsigned n = 0; n < NAME_ATTEMPTS; n++) {
        wchar_t name[NAME_CHARS];
        swprintf(name, NAME_CHARS, CONSENT_TMP_PREFIX L"%lu-%lu",
                 (unsigned long)GetCurrentProcessId(), (unsigned long)c->tmp_counter++);
        free(tmp);
        tmp = join(c->dir, name);
        if (!tmp) {
            err = ERROR_NOT_ENOUGH_MEMORY;
            goto out;
        }
        SECURITY_ATTRIBUTES sa = {sizeof(sa), c->file_sd[c->sd_choice], FALSE};
        h = CreateFileW(tmp, GENERIC_WRITE, 0, &sa, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
        if (h != INVALID_HANDLE_VALUE)
            break;
        err = GetLastError();
        if (err == ERROR_INVALID_OWNER && c->sd_choice == 0) {
            c->sd_choice = 1; /* not SYSTEM: let the owner default to the token's */
            continue;
        }
        if (err != ERROR_FILE_EXISTS && err != ERROR_ALREADY_EXISTS)
            break;
    }
    if (h == INVALID_HANDLE_VALUE) {
        free(tmp);
        tmp = NULL; /* nothing to delete */
        goto out;
    }
    err = write_all(h, buf, len);
    /* Durable before the rename makes it the file's content. */
    if (err == ERROR_SUCCESS && !FlushFileBuffers(h))
        err = GetLastError();
    CloseHandle(h);
    if (err == ERROR_SUCCESS &&
        !MoveFileExW(tmp, file, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
        err = GetLastError();
out:
    if (err != ERROR_SUCCESS && tmp)
        DeleteFileW(tmp);
    free(tmp);
    free(file);
    free(buf);
    c->last_save_error = err;
    return err;
}

DWORD consent_make_descriptors(struct consent *c)
{
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(STORE_FILE_SDDL, SDDL_REVISION_1,
                                                              &c->file_sd[0], NULL) ||
        !ConvertStringSecurityDescriptorToSecurityDescriptorW(STORE_FILE_DACL_SDDL, SDDL_REVISION_1,
                                                              &c->file_sd[1], NULL))
        return GetLastError();
    return ERROR_SUCCESS;
}
