/* The registry policy source: precedence, strict parsing, snapshots, live reload. */
#include "policy_source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "edge/utf8.h"
#include "log.h"

/* Without a working change notification the watcher re-reads the keys this often. */
#define POLICY_SOURCE_FALLBACK_POLL_MS 30000u
#define WHY_LEN                        (EDGE_MAX_TEXT + 1)

enum { W_POLICY = 0, W_LOCAL = 1, W_COUNT = 2 };

/*
 * Two watches per key path: "self" on the key (values and subkeys, whole subtree) while it
 * exists, and "parent" on its nearest existing ancestor (creation or deletion of children), which
 * notices the key appearing or being deleted (Wine does not complete a notification on a key
 * that is deleted).
 */
#define WATCH_COUNT (2 * W_COUNT)

struct watch {
    const wchar_t *path;
    bool parent;
    HKEY key;
    bool armed;
    bool failed;  /* RegNotifyChangeKeyValue refused: the watcher falls back to polling */
    HANDLE event; /* auto-reset */
};

struct policy_source {
    SRWLOCK lock;        /* guards cur: held for the pointer swap and acquire's increment only */
    SRWLOCK reload_lock; /* serialises reloads (watcher and explicit callers) */
    struct policy_snapshot *cur;
    uint64_t generation;
    HKEY root;
    wchar_t *keys[W_COUNT];
    audit_log *audit;
    policy_source_changed_fn on_change;
    void *ctx;
    HANDLE stop;
    HANDLE thread;
    struct watch w[WATCH_COUNT]; /* [2k] self, [2k + 1] parent of keys[k] */
};

static const edge_policy_source key_source[W_COUNT] = {EDGE_POLICY_SRC_POLICY,
                                                       EDGE_POLICY_SRC_LOCAL};

/* ---- reading one value --------------------------------------------------------------------- */

enum read_result { RV_ABSENT = 0, RV_OK = 1, RV_BAD = 2 };

/* A value's strings: UTF-8 views, each into its own allocation (texts[i]). */
struct strings {
    edge_str *items;
    char **texts;
    size_t count;
};

static void strings_free(struct strings *s)
{
    for (size_t i = 0; s->texts && i < s->count; i++)
        free(s->texts[i]);
    free(s->texts);
    free(s->items);
    memset(s, 0, sizeof(*s));
}

/* Reads the raw value (capped before allocation).  *data has 4 extra zero bytes. */
static enum read_result read_raw(HKEY key, const wchar_t *name, DWORD *type, BYTE **data,
                                 DWORD *size, char *why)
{
    *data = NULL;
    for (int attempt = 0; attempt < 4; attempt++) {
        DWORD sz = 0;
        LSTATUS err = RegQueryValueExW(key, name, NULL, type, NULL, &sz);
        if (err == ERROR_FILE_NOT_FOUND)
            return RV_ABSENT;
        if (err != ERROR_SUCCESS) {
            snprintf(why, WHY_LEN, "cannot be read (error %lu)", (unsigned long)err);
            return RV_BAD;
        }
        if (sz > POLICY_SOURCE_MAX_VALUE_BYTES) {
            snprintf(why, WHY_LEN, "value is %lu bytes, above the limit of %u", (unsigned long)sz,
                     POLICY_SOURCE_MAX_VALUE_BYTES);
            return RV_BAD;
        }
        BYTE *buf = calloc((size_t)sz + 4, 1);
        if (!buf) {
            snprintf(why, WHY_LEN, "out of memory reading it");
            return RV_BAD;
        }
        DWORD got = sz;
        err = RegQueryValueExW(key, name, NULL, type, buf, &got);
        if (err == ERROR_SUCCESS && got <= sz) {
            *data = buf;
            *size = got;
            return RV_OK;
        }
        free(buf);
        if (err == ERROR_FILE_NOT_FOUND)
            return RV_ABSENT; /* deleted between the two calls */
        if (err != ERROR_MORE_DATA) {
            snprintf(why, WHY_LEN, "cannot be read (error %lu)", (unsigned long)err);
            return RV_BAD;
        }
        /* grew between the two calls: ask again */
    }
    snprintf(why, WHY_LEN, "keeps changing size while being read");
    return RV_BAD;
}

static const char *type_name(DWORD type)
{
    switch (type) {
    case REG_SZ:
        return "REG_SZ";
    case REG_EXPAND_SZ:
        return "REG_EXPAND_SZ";
    case REG_MULTI_SZ:
        return "REG_MULTI_SZ";
    case REG_DWORD:
        return "REG_DWORD";
    case REG_QWORD:
        return "REG_QWORD";
    case REG_BINARY:
        return "REG_BINARY";
    default:
        return "another type";
    }
}

/* Expands %VARIABLES% in a NUL-terminated entry; malloc'd result or NULL. */
static wchar_t *expand(const wchar_t *s)
{
    DWORD n = ExpandEnvironmentStringsW(s, NULL, 0);
    if (n == 0 || n > 32768)
        return NULL;
    wchar_t *out = calloc((size_t)n + 1, sizeof(wchar_t));
    if (!out)
        return NULL;
    DWORD m = ExpandEnvironmentStringsW(s, out, n + 1);
    if (m == 0 || m > n + 1) {
        free(out);
        return NULL;
    }
    return out;
}

/*
 * Splits string data (REG_SZ: one entry; REG_MULTI_SZ: entries up to the terminating empty
 * string) into UTF-8 strings.  Embedded NULs inside REG_SZ are malformed; an empty entry inside a
 * REG_MULTI_SZ is passed on (the parser refuses it); trailing NUL padding is accepted.
 */
static enum read_result split_strings(const BYTE *data, DWORD size, bool multi, bool do_expand,
                                      struct strings *out, char *why)
{
    const wchar_t *w = (const wchar_t *)data;
    size_t units = size / sizeof(wchar_t), end = units, i, n = 0, pos = 0;
    struct strings s = {NULL, NULL, 0};

    if (size % sizeof(wchar_t)) {
        snprintf(why, WHY_LEN, "string data of odd length %lu", (unsigned long)size);
        return RV_BAD;
    }
    while (end > 0 && w[end - 1] == L'\0')
        end--; /* terminators and padding */
    if (!multi) {
        if (wmemchr(w, L'\0', end)) {
            snprintf(why, WHY_LEN, "REG_SZ contains a NUL character");
            return RV_BAD;
        }
        n = 1;
    } else if (end > 0) {
        n = 1;
        for (i = 0; i < end; i++) {
            if (w[i] != L'\0')
                continue;
            if (n >= EDGE_POLICY_MAX_LIST) {
                snprintf(why, WHY_LEN, "more than %u entries", EDGE_POLICY_MAX_LIST);
                return RV_BAD;
            }
            n++;
        }
    }
    if (n == 0)
        return RV_OK; /* empty REG_MULTI_SZ: an empty list */
    s.items = calloc(n, sizeof(*s.items));
    s.texts = calloc(n, sizeof(*s.texts));
    if (!s.items || !s.texts)
        goto nomem;
    /* read_raw leaves zero padding after the data, so every entry is NUL-terminated in place. */
    for (i = 0; i < n; i++) {
        const wchar_t *entry = w + pos;
        size_t len = wcslen(entry), need = 0;
        wchar_t *ex = NULL;
        pos += len + 1;
        s.count = i + 1; /* texts[i] is freed by strings_free from here on */
        if (do_expand && wmemchr(entry, L'%', len)) {
            ex = expand(entry);
            if (!ex) {
                snprintf(why, WHY_LEN, "entry %zu: environment variables cannot be expanded", i);
                strings_free(&s);
                return RV_BAD;
            }
            entry = ex;
            len = wcslen(ex);
        }
        edge_utf8_result r = edge_utf16_to_utf8((const uint16_t *)entry, len, NULL, 0, &need);
        if (r == EDGE_UTF8_OK || r == EDGE_UTF8_TOO_SMALL) {
            s.texts[i] = malloc(need + 1);
            if (!s.texts[i]) {
                free(ex);
                goto nomem;
            }
            r = edge_utf16_to_utf8((const uint16_t *)entry, len, (uint8_t *)s.texts[i], need,
                                   &need);
            s.texts[i][need] = '\0';
            s.items[i].ptr = s.texts[i];
            s.items[i].len = (uint32_t)need;
        }
        free(ex);
        if (r != EDGE_UTF8_OK) {
            snprintf(why, WHY_LEN, "entry %zu is not valid UTF-16 (unpaired surrogate)", i);
            strings_free(&s);
            return RV_BAD;
        }
    }
    *out = s;
    return RV_OK;
nomem:
    strings_free(&s);
    snprintf(why, WHY_LEN, "out of memory reading it");
    return RV_BAD;
}

/*
 * Reads value id from key and, when present and well-formed, applies it to *p with source src.
 * Returns RV_ABSENT, RV_OK or RV_BAD (*p unchanged, why says what is wrong).
 */
static enum read_result apply_value(HKEY key, edge_policy_value id, edge_policy_source src,
                                    edge_policy *p, char *why)
{
    const char *name8 = edge_policy_value_name(id);
    wchar_t name[64];
    DWORD type = REG_NONE, size = 0;
    BYTE *data = NULL;
    edge_policy_kind kind = edge_policy_value_kind(id);
    edge_policy_parse_info info;
    enum read_result rr;

    swprintf(name, 64, L"%hs", name8);
    rr = read_raw(key, name, &type, &data, &size, why);
    if (rr != RV_OK)
        return rr;
    if (kind == EDGE_POLICY_KIND_DWORD) {
        if (type != REG_DWORD || size != sizeof(DWORD)) {
            snprintf(why, WHY_LEN, "wrong registry type %s (%lu bytes), expected REG_DWORD",
                     type_name(type), (unsigned long)size);
            rr = RV_BAD;
        } else {
            DWORD v;
            memcpy(&v, data, sizeof(v));
            if (edge_policy_set_dword(p, id, v, src, &info) != EDGE_POLICY_PARSE_OK) {
                snprintf(why, WHY_LEN, "%s", info.message);
                rr = RV_BAD;
            }
        }
    } else {
        bool apps = id == EDGE_POLICY_V_ALLOWED_APPLICATIONS;
        bool ok_type = type == REG_SZ ||
                       (kind == EDGE_POLICY_KIND_MULTI_SZ && type == REG_MULTI_SZ) ||
                       (apps && type == REG_EXPAND_SZ);
        struct strings s = {NULL, NULL, 0};
        if (!ok_type) {
            snprintf(why, WHY_LEN, "wrong registry type %s, expected %s", type_name(type),
                     kind == EDGE_POLICY_KIND_SZ ? "REG_SZ" : "REG_MULTI_SZ");
            rr = RV_BAD;
        } else {
            rr = split_strings(data, size, type == REG_MULTI_SZ, apps, &s, why);
            if (rr == RV_OK && kind == EDGE_POLICY_KIND_SZ && s.count != 1) {
                snprintf(why, WHY_LEN, "empty");
                rr = RV_BAD;
            }
            if (rr == RV_OK && edge_policy_set_strings(p, id, s.items, s.count, src, &info) !=
                                   EDGE_POLICY_PARSE_OK) {
                snprintf(why, WHY_LEN, "%s", info.message);
                rr = RV_BAD;
            }
            strings_free(&s);
        }
    }
    free(data);
    return rr;
}

static void report_malformed(audit_log *audit, edge_policy_value id, edge_policy_source src,
                             const char *why)
{
    char detail[EDGE_MAX_TEXT + 1];
    snprintf(detail, sizeof(detail), "%s (%s): %s; the default applies", edge_policy_value_name(id),
             edge_policy_source_name(src), why);
    log_msg(LOG_WARNING, "policy value malformed: %s", detail);
    audit_record rec;
    memset(&rec, 0, sizeof(rec));
    rec.kind = AUDIT_POLICY_VALUE_MALFORMED;
    rec.status = EDGE_E_BAD_REQUEST;
    rec.detail = detail;
    audit_emit(audit, &rec);
}

static HKEY open_key(HKEY root, const wchar_t *path, REGSAM access, LSTATUS *err)
{
    HKEY k = NULL;
    *err = RegOpenKeyExW(root, path, 0, access | KEY_WOW64_64KEY, &k);
    return *err == ERROR_SUCCESS ? k : NULL;
}

uint32_t policy_source_load(HKEY root, const wchar_t *policy_key, const wchar_t *local_key,
                            audit_log *audit, edge_policy *out,
                            edge_policy_source malformed_in[EDGE_POLICY_V_COUNT_])
{
    const wchar_t *paths[W_COUNT] = {policy_key, local_key};
    HKEY keys[W_COUNT] = {NULL, NULL};
    uint32_t malformed = 0;
    char why[WHY_LEN];

    edge_policy_init_defaults(out);
    if (malformed_in)
        for (int v = 0; v < EDGE_POLICY_V_COUNT_; v++)
            malformed_in[v] = EDGE_POLICY_SRC_DEFAULT;
    for (int k = 0; k < W_COUNT; k++) {
        LSTATUS err;
        keys[k] = open_key(root, paths[k], KEY_QUERY_VALUE, &err);
        if (!keys[k] && err != ERROR_FILE_NOT_FOUND) {
            /* An unreadable key is treated as absent, loudly: its values cannot be honoured. */
            snprintf(why, sizeof(why),
                     "%s key cannot be opened (error %lu); its values are ignored",
                     edge_policy_source_name(key_source[k]), (unsigned long)err);
            log_msg(LOG_WARNING, "policy: %s", why);
            audit_record rec;
            memset(&rec, 0, sizeof(rec));
            rec.kind = AUDIT_POLICY_VALUE_MALFORMED;
            rec.status = EDGE_E_BAD_REQUEST;
            rec.detail = why;
            audit_emit(audit, &rec);
        }
    }
    for (int v = 0; v < EDGE_POLICY_V_COUNT_; v++) {
        for (int k = 0; k < W_COUNT; k++) {
            if (!keys[k])
                continue;
            enum read_result rr =
                apply_value(keys[k], (edge_policy_value)v, key_source[k], out, why);
            if (rr == RV_ABSENT)
                continue;
            if (rr == RV_BAD) {
                malformed++;
                if (malformed_in)
                    malformed_in[v] = key_source[k];
                report_malformed(audit, (edge_policy_value)v, key_source[k], why);
            }
            break; /* the highest-precedence key holding the value decides, even when malformed */
        }
    }
    for (int k = 0; k < W_COUNT; k++)
        if (keys[k])
            RegCloseKey(keys[k]);
    return malformed;
}

/* ---- snapshots ----------------------------------------------------------------------------- */

static void snapshot_free(struct policy_snapshot *snap)
{
    edge_policy_free(&snap->policy);
    free(snap);
}

void policy_snapshot_release(const struct policy_snapshot *snap)
{
    struct policy_snapshot *s = (struct policy_snapshot *)snap;
    if (s && InterlockedDecrement(&s->refs) == 0)
        snapshot_free(s);
}

const struct policy_snapshot *policy_source_acquire(struct policy_source *s)
{
    struct policy_snapshot *snap;
    if (!s)
        return NULL;
    AcquireSRWLockShared(&s->lock);
    snap = s->cur;
    InterlockedIncrement(&snap->refs);
    ReleaseSRWLockShared(&s->lock);
    return snap;
}

static void audit_loaded(struct policy_source *s, const struct policy_snapshot *snap)
{
    uint32_t counts[3] = {0, 0, 0};
    char detail[EDGE_MAX_TEXT + 1];
    for (int v = 0; v < EDGE_POLICY_V_COUNT_; v++)
        if ((unsigned)snap->policy.source[v] < 3)
            counts[snap->policy.source[v]]++;
    snprintf(detail, sizeof(detail),
             "generation %llu: Mode=%s (%s); %u values from policy, %u local, %u default; "
             "%u malformed",
             (unsigned long long)snap->generation, edge_policy_mode_name(snap->policy.mode),
             edge_policy_source_name(snap->policy.source[EDGE_POLICY_V_MODE]),
             counts[EDGE_POLICY_SRC_POLICY], counts[EDGE_POLICY_SRC_LOCAL],
             counts[EDGE_POLICY_SRC_DEFAULT], snap->malformed);
    log_msg(LOG_INFO, "policy loaded, %s", detail);
    audit_record rec;
    memset(&rec, 0, sizeof(rec));
    rec.kind = AUDIT_POLICY_LOADED;
    rec.status = EDGE_OK;
    rec.detail = detail;
    audit_emit(s->audit, &rec);
    audit_set_level(s->audit, snap->policy.audit_level == EDGE_POLICY_AUDIT_VERBOSE
                                  ? AUDIT_LEVEL_VERBOSE
                                  : AUDIT_LEVEL_MINIMAL);
}

DWORD policy_source_reload(struct policy_source *s)
{
    struct policy_snapshot *snap, *old;
    if (!s)
        return ERROR_INVALID_PARAMETER;
    snap = calloc(1, sizeof(*snap));
    if (!snap)
        return ERROR_NOT_ENOUGH_MEMORY;
    AcquireSRWLockExclusive(&s->reload_lock);
    snap->refs = 1; /* the source's own reference */
    snap->malformed = policy_source_load(s->root, s->keys[W_POLICY], s->keys[W_LOCAL], s->audit,
                                         &snap->policy, snap->malformed_in);
    snap->generation = ++s->generation;
    AcquireSRWLockExclusive(&s->lock);
    old = s->cur;
    s->cur = snap;
    ReleaseSRWLockExclusive(&s->lock);
    audit_loaded(s, snap);
    ReleaseSRWLockExclusive(&s->reload_lock);
    policy_snapshot_release(old);
    return ERROR_SUCCESS;
}

/* ---- watcher ------------------------------------------------------------------------------- */

static void watch_close(struct watch *w)
{
    if (w->key)
        RegCloseKey(w->key);
    w->key = NULL;
    w->armed = false;
}

static void watch_notify(struct watch *w, BOOL subtree, DWORD filter)
{
    LSTATUS err = RegNotifyChangeKeyValue(w->key, subtree, filter, w->event, TRUE);
    w->armed = err == ERROR_SUCCESS;
    w->failed = !w->armed;
    if (w->failed)
        log_msg(LOG_WARNING,
                "policy: cannot watch the registry for changes (error %lu); "
                "re-reading every %u s instead",
                (unsigned long)err, POLICY_SOURCE_FALLBACK_POLL_MS / 1000u);
}

/*
 * (Re)arms w.  A registration completes once, so a watch is re-armed after it fired; an existing
 * handle on the right, still existing key is reused, because closing a handle with a pending
 * registration may complete it and cause a spurious reload.
 */
static void watch_arm(struct policy_source *s, struct watch *w)
{
    LSTATUS err;
    HKEY k;
    if (!w->parent) {
        if (w->key && RegQueryInfoKeyW(w->key, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                                       NULL, NULL) == ERROR_SUCCESS) {
            if (!w->armed)
                watch_notify(w, TRUE, REG_NOTIFY_CHANGE_NAME | REG_NOTIFY_CHANGE_LAST_SET);
            return;
        }
        watch_close(w); /* deleted (ERROR_KEY_DELETED) or never opened */
        w->failed = false;
        k = open_key(s->root, w->path, KEY_NOTIFY, &err);
        if (!k)
            return; /* does not exist: the parent watch sees it appear */
        w->key = k;
        watch_notify(w, TRUE, REG_NOTIFY_CHANGE_NAME | REG_NOTIFY_CHANGE_LAST_SET);
        return;
    }
    size_t n = wcslen(w->path);
    wchar_t *anc = malloc((n + 1) * sizeof(wchar_t));
    watch_close(w);
    if (!anc) {
        w->failed = true;
        return;
    }
    memcpy(anc, w->path, (n + 1) * sizeof(wchar_t));
    do {
        wchar_t *cut = wcsrchr(anc, L'\\');
        if (cut)
            *cut = L'\0';
        else
            anc[0] = L'\0';
        k = open_key(s->root, anc, KEY_NOTIFY, &err);
    } while (!k && anc[0] != L'\0');
    free(anc);
    if (!k) {
        w->failed = true;
        return;
    }
    w->key = k;
    watch_notify(w, FALSE, REG_NOTIFY_CHANGE_NAME);
}

static DWORD WINAPI watcher_main(void *arg)
{
    struct policy_source *s = arg;
    HANDLE h[1 + WATCH_COUNT];
    h[0] = s->stop;
    for (int i = 0; i < WATCH_COUNT; i++)
        h[1 + i] = s->w[i].event;
    for (;;) {
        bool polling = false;
        for (int i = 0; i < WATCH_COUNT; i++)
            polling = polling || s->w[i].failed;
        DWORD r = WaitForMultipleObjects(1 + WATCH_COUNT, h, FALSE,
                                         polling ? POLICY_SOURCE_FALLBACK_POLL_MS : INFINITE);
        if (r == WAIT_OBJECT_0 || r == WAIT_FAILED)
            break;
        bool fired[WATCH_COUNT];
        for (int i = 0; i < WATCH_COUNT; i++)
            fired[i] = r == WAIT_OBJECT_0 + 1 + (DWORD)i;
        /* Let a burst of writes finish before reading. */
        if (WaitForSingleObject(s->stop, POLICY_SOURCE_SETTLE_MS) == WAIT_OBJECT_0)
            break;
        for (int i = 0; i < WATCH_COUNT; i++)
            if (WaitForSingleObject(s->w[i].event, 0) == WAIT_OBJECT_0)
                fired[i] = true;
        /* Re-arm BEFORE reading, so a change during the reload triggers another one.  Either
         * watch of a key firing re-checks both (the key may have appeared or gone). */
        for (int k = 0; k < W_COUNT; k++) {
            bool any =
                fired[2 * k] || fired[2 * k + 1] || s->w[2 * k].failed || s->w[2 * k + 1].failed;
            if (!any)
                continue;
            if (fired[2 * k])
                s->w[2 * k].armed = false;
            if (fired[2 * k + 1] || s->w[2 * k + 1].failed)
                watch_arm(s, &s->w[2 * k + 1]);
            watch_arm(s, &s->w[2 * k]);
        }
        if (policy_source_reload(s) == ERROR_SUCCESS && s->on_change) {
            const struct policy_snapshot *snap = policy_source_acquire(s);
            s->on_change(snap, s->ctx);
            policy_snapshot_release(snap);
        }
    }
    return 0;
}

/* ---- lifetime ------------------------------------------------------------------------------ */

static wchar_t *wdup(const wchar_t *s)
{
    size_t n = wcslen(s) + 1;
    wchar_t *d = malloc(n * sizeof(wchar_t));
    if (d)
        memcpy(d, s, n * sizeof(wchar_t));
    return d;
}

DWORD policy_source_open(const struct policy_source_config *cfg, struct policy_source **out)
{
    struct policy_source *s = NULL;
    DWORD err = ERROR_SUCCESS;

    if (!out)
        return ERROR_INVALID_PARAMETER;
    *out = NULL;
    if (!cfg)
        return ERROR_INVALID_PARAMETER;
    s = calloc(1, sizeof(*s));
    if (!s)
        return ERROR_NOT_ENOUGH_MEMORY;
    InitializeSRWLock(&s->lock);
    InitializeSRWLock(&s->reload_lock);
    s->root = cfg->root ? cfg->root : HKEY_LOCAL_MACHINE;
    s->keys[W_POLICY] = wdup(cfg->policy_key ? cfg->policy_key : POLICY_SOURCE_POLICY_KEY);
    s->keys[W_LOCAL] = wdup(cfg->local_key ? cfg->local_key : POLICY_SOURCE_LOCAL_KEY);
    s->audit = cfg->audit;
    s->on_change = cfg->on_change;
    s->ctx = cfg->ctx;
    if (!s->keys[W_POLICY] || !s->keys[W_LOCAL]) {
        err = ERROR_NOT_ENOUGH_MEMORY;
        goto out;
    }
    if (cfg->watch) {
        s->stop = CreateEventW(NULL, TRUE, FALSE, NULL);
        if (!s->stop) {
            err = GetLastError();
            goto out;
        }
        for (int i = 0; i < WATCH_COUNT; i++) {
            s->w[i].path = s->keys[i / 2];
            s->w[i].parent = (i % 2) != 0;
            s->w[i].event = CreateEventW(NULL, FALSE, FALSE, NULL);
            if (!s->w[i].event) {
                err = GetLastError();
                goto out;
            }
            /* Armed before the first load, so no change between load and watch is missed. */
            watch_arm(s, &s->w[i]);
        }
    }
    err = policy_source_reload(s);
    if (err != ERROR_SUCCESS)
        goto out;
    if (cfg->watch) {
        s->thread = CreateThread(NULL, 0, watcher_main, s, 0, NULL);
        if (!s->thread) {
            err = GetLastError();
            goto out;
        }
    }
    *out = s;
    s = NULL;
out:
    policy_source_close(s);
    return err;
}

void policy_source_close(struct policy_source *s)
{
    if (!s)
        return;
    if (s->thread) {
        SetEvent(s->stop);
        WaitForSingleObject(s->thread, INFINITE);
        CloseHandle(s->thread);
    }
    for (int i = 0; i < WATCH_COUNT; i++) {
        watch_close(&s->w[i]);
        if (s->w[i].event)
            CloseHandle(s->w[i].event);
    }
    if (s->stop)
        CloseHandle(s->stop);
    policy_snapshot_release(s->cur);
    free(s->keys[W_POLICY]);
    free(s->keys[W_LOCAL]);
    free(s);
}

/* ---- describe ------------------------------------------------------------------------------ */

DWORD policy_source_describe(const struct policy_snapshot *snap,
                             struct policy_source_entry **entries, size_t *count)
{
    struct policy_source_entry *e;
    if (entries)
        *entries = NULL;
    if (count)
        *count = 0;
    if (!snap || !entries || !count)
        return ERROR_INVALID_PARAMETER;
    e = calloc(EDGE_POLICY_V_COUNT_, sizeof(*e));
    if (!e)
        return ERROR_NOT_ENOUGH_MEMORY;
    for (int v = 0; v < EDGE_POLICY_V_COUNT_; v++) {
        e[v].name = edge_policy_value_name((edge_policy_value)v);
        e[v].source = edge_policy_source_name(snap->policy.source[v]);
        e[v].malformed = snap->malformed_in[v] != EDGE_POLICY_SRC_DEFAULT;
        e[v].malformed_source =
            e[v].malformed ? edge_policy_source_name(snap->malformed_in[v]) : NULL;
        if (!edge_policy_format_value(&snap->policy, (edge_policy_value)v, e[v].value,
                                      sizeof(e[v].value)))
            e[v].value[0] = '\0';
    }
    *entries = e;
    *count = EDGE_POLICY_V_COUNT_;
    return ERROR_SUCCESS;
}
