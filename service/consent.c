/* Consent: pending requests, approver decisions and remembered decisions (see consent.h). */
#include "consent_internal.h"

#include <bcrypt.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

void consent_entry_free(struct consent_entry *e)
{
    free(e->sid);
    free(e->path);
    memset(e, 0, sizeof(*e));
}

void consent_decision_free(struct consent_decision *d)
{
    free(d->sid);
    free(d->path);
    memset(d, 0, sizeof(*d));
}

static char *dup_s(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static bool ascii_ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a, y = *b;
        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return false;
    }
    return *a == *b;
}

static void hex16(const uint8_t id[EDGE_ID_SIZE], char out[2 * EDGE_ID_SIZE + 1])
{
    for (unsigned i = 0; i < EDGE_ID_SIZE; i++)
        snprintf(out + 2 * i, 3, "%02x", id[i]);
}

/* ---- audit ---- */

static wchar_t *wide(const char *s)
{
    int n = s ? MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0) : 0;
    wchar_t *w = n > 0 ? malloc((size_t)n * sizeof(wchar_t)) : NULL;
    if (w && MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n) != n) {
        free(w);
        w = NULL;
    }
    return w;
}

static void audit_entry(struct consent *c, audit_kind kind, edge_status st,
                        const struct consent_entry *e, const char *detail)
{
    wchar_t *sid = wide(e->sid), *path = wide(e->path);
    audit_port_range ports = {e->scope.port_lo, e->scope.port_hi};
    audit_request req = {"request", e->scope.protocol, &ports, 1, e->scope.seconds, e->scope.flags};
    audit_record rec;
    memset(&rec, 0, sizeof(rec));
    rec.kind = kind;
    rec.status = st;
    rec.detail = detail;
    rec.caller_sid = sid;
    rec.image_path = path;
    rec.image_sha256 = e->sha;
    rec.request = &req;
    audit_emit(c->audit, &rec);
    free(sid);
    free(path);
}

/* Persists; a failure is logged and audited, the in-memory change stays (see consent.h). */
static void save_locked(struct consent *c)
{
    DWORD err = consent_file_save(c);
    if (err == ERROR_SUCCESS)
        return;
    log_win32(LOG_ERROR, err, "consent: cannot save %ls", CONSENT_FILE_NAME);
    audit_record rec;
    memset(&rec, 0, sizeof(rec));
    rec.kind = AUDIT_STATE_WRITE_FAILED;
    rec.status = EDGE_E_STORAGE;
    rec.detail = "consent.bin could not be written; pending requests and remembered decisions "
                 "made since the last good write are lost at the next restart";
    audit_emit(c->audit, &rec);
}

/* ---- lifetime ---- */

edge_status consent_open(const struct consent_config *cfg, uint64_t now, struct consent **out,
                         struct consent_load_report *report)
{
    struct consent *c = NULL;
    edge_status st;

    if (out)
        *out = NULL;
    if (report)
        memset(report, 0, sizeof(*report));
    if (!cfg || !out || !report || !cfg->dir || !cfg->dir[0])
        return EDGE_E_BAD_REQUEST;
    if (cfg->max_pending > CONSENT_HARD_MAX_PENDING ||
        cfg->max_decisions > CONSENT_HARD_MAX_DECISIONS)
        return EDGE_E_BAD_REQUEST;
    c = calloc(1, sizeof(*c));
    if (!c)
        return EDGE_E_NO_MEMORY;
    InitializeSRWLock(&c->lock);
    c->refs = 1;
    c->audit = cfg->audit;
    c->max_pending = cfg->max_pending ? cfg->max_pending : CONSENT_DEFAULT_MAX_PENDING;
    c->max_pending_per_user = cfg->max_pending_per_user ? cfg->max_pending_per_user
                                                        : CONSENT_DEFAULT_MAX_PENDING_PER_USER;
    c->max_decisions = cfg->max_decisions ? cfg->max_decisions : CONSENT_DEFAULT_MAX_DECISIONS;
    c->prompt = cfg->prompt ? cfg->prompt : consent_prompt_wts;
    c->console_session = cfg->console_session ? cfg->console_session : WTSGetActiveConsoleSessionId;
    size_t n = wcslen(cfg->dir) + 1;
    c->dir = malloc(n * sizeof(wchar_t));
    if (!c->dir) {
        st = EDGE_E_NO_MEMORY;
        goto out;
    }
    memcpy(c->dir, cfg->dir, n * sizeof(wchar_t));
    report->win32_error = consent_make_descriptors(c);
    if (report->win32_error != ERROR_SUCCESS) {
        st = EDGE_E_INTERNAL;
        goto out;
    }
    st = consent_file_load(c, now, report);
    if (st != EDGE_OK)
        goto out;
    if (report->corrupt)
        log_msg(LOG_WARNING, "consent: %ls was corrupt (%s); set aside, starting empty",
                CONSENT_FILE_NAME, report->reason);
    *out = c;
    c = NULL;
out:
    consent_close(c);
    return st;
}

bool consent_retain_for_prompt(struct consent *c)
{
    bool ok = false;
    AcquireSRWLockExclusive(&c->lock);
    if (!c->closed && (uint32_t)c->prompts < CONSENT_MAX_PROMPTS) {
        InterlockedIncrement(&c->refs);
        InterlockedIncrement(&c->prompts);
        ok = true;
    }
    ReleaseSRWLockExclusive(&c->lock);
    return ok;
}

void consent_release(struct consent *c)
{
    if (!c || InterlockedDecrement(&c->refs) != 0)
        return;
    for (size_t i = 0; i < c->n_entries; i++)
        consent_entry_free(&c->entries[i]);
    for (size_t i = 0; i < c->n_decisions; i++)
        consent_decision_free(&c->decisions[i]);
    free(c->entries);
    free(c->decisions);
    for (int i = 0; i < 2; i++)
        if (c->file_sd[i])
            LocalFree(c->file_sd[i]);
    free(c->dir);
    free(c);
}

void consent_close(struct consent *c)
{
    if (!c)
        return;
    AcquireSRWLockExclusive(&c->lock);
    c->closed = true;
    ReleaseSRWLockExclusive(&c->lock);
    consent_release(c);
}

bool consent_is_closed(struct consent *c)
{
    AcquireSRWLockShared(&c->lock);
    bool closed = c->closed;
    ReleaseSRWLockShared(&c->lock);
    return closed;
}

consent_prompt_fn consent_prompt_function(const struct consent *c)
{
    return c->prompt;
}

DWORD consent_console_session(const struct consent *c)
{
    return c->console_session();
}

bool consent_wait_prompts(struct consent *c, DWORD timeout_ms)
{
    ULONGLONG end = GetTickCount64() + timeout_ms;
    while (InterlockedCompareExchange(&c->prompts, 0, 0) != 0) {
        if (GetTickCount64() >= end)
            return false;
        Sleep(10);
    }
    return true;
}

/* ---- matching and expiry ---- */

static bool same_request(const struct consent_entry *e, const struct consent_requester *who,
                         const struct consent_scope *s)
{
    return ascii_ieq(e->sid, who->user_sid) && strcmp(e->path, who->image_path) == 0 &&
           memcmp(e->sha, who->image_sha256, EDGE_SHA256_SIZE) == 0 &&
           e->scope.protocol == s->protocol && e->scope.port_lo == s->port_lo &&
           e->scope.port_hi == s->port_hi && e->scope.has_seconds == s->has_seconds &&
           (!s->has_seconds || e->scope.seconds == s->seconds) && e->scope.flags == s->flags;
}

static void remove_entry(struct consent *c, size_t i)
{
    consent_entry_free(&c->entries[i]);
    memmove(&c->entries[i], &c->entries[i + 1], (c->n_entries - i - 1) * sizeof(c->entries[0]));
    c->n_entries--;
}

static void remove_decision(struct consent *c, size_t i)
{
    consent_decision_free(&c->decisions[i]);
    memmove(&c->decisions[i], &c->decisions[i + 1],
            (c->n_decisions - i - 1) * sizeof(c->decisions[0]));
    c->n_decisions--;
}

/* Drops what expired (expires <= now); returns how many.  Lock held (or not yet published). */
static size_t expire_locked(struct consent *c, uint64_t now)
{
    size_t removed = 0;
    for (size_t i = c->n_entries; i-- > 0;)
        if (c->entries[i].expires <= now) {
            remove_entry(c, i);
            removed++;
        }
    for (size_t i = c->n_decisions; i-- > 0;)
        if (c->decisions[i].expires <= now) {
            remove_decision(c, i);
            removed++;
        }
    return removed;
}

size_t consent_expire(struct consent *c, uint64_t now)
{
    if (!c)
        return 0;
    AcquireSRWLockExclusive(&c->lock);
    size_t n = expire_locked(c, now);
    if (n && !c->closed)
        save_locked(c);
    ReleaseSRWLockExclusive(&c->lock);
    return n;
}

static void info_of(const struct consent_entry *e, struct consent_pending_info *out)
{
    memset(out, 0, sizeof(*out));
    memcpy(out->id, e->id, EDGE_ID_SIZE);
    snprintf(out->user_sid, sizeof(out->user_sid), "%s", e->sid);
    snprintf(out->image_path, sizeof(out->image_path), "%s", e->path);
    memcpy(out->image_sha256, e->sha, EDGE_SHA256_SIZE);
    out->session_id = e->session;
    out->scope = e->scope;
    out->created = e->created;
    out->expires = e->expires;
    out->state = e->state;
    out->has_lease = e->has_lease;
    memcpy(out->lease_id, e->lease_id, EDGE_ID_SIZE);
}

/* ---- submit ---- */

static bool requester_ok(const struct consent_requester *w, const struct consent_scope *s)
{
    return w && s && w->user_sid && w->image_path && w->image_sha256 &&
           strncmp(w->user_sid, "S-1-", 4) == 0 && strlen(w->user_sid) <= EDGE_MAX_SID &&
           w->image_path[0] && strlen(w->image_path) <= EDGE_MAX_PATH &&
           (s->protocol == EDGE_IPPROTO_TCP || s->protocol == EDGE_IPPROTO_UDP) &&
           s->port_lo >= 1 && s->port_lo <= s->port_hi;
}

edge_status consent_submit(struct consent *c, const struct consent_requester *who,
                           const struct consent_scope *scope,
                           const struct consent_submit_params *params, uint64_t now,
                           struct consent_pending_info *out)
{
    edge_status st = EDGE_OK;
    struct consent_entry e;
    size_t mine = 0, waiting = 0;
    bool prompt = false;

    if (out)
        memset(out, 0, sizeof(*out));
    if (!c || !params || !out || !requester_ok(who, scope) || params->timeout_seconds == 0)
        return EDGE_E_BAD_REQUEST;
    memset(&e, 0, sizeof(e));
    AcquireSRWLockExclusive(&c->lock);
    bool changed = expire_locked(c, now) > 0;
    for (size_t i = 0; i < c->n_entries; i++) {
        if (same_request(&c->entries[i], who, scope)) {
            info_of(&c->entries[i], out);
            goto out;
        }
        if (c->entries[i].state != CONSENT_WAITING)
            continue;
        waiting++;
        if (ascii_ieq(c->entries[i].sid, who->user_sid))
            mine++;
    }
    if (mine >= c->max_pending_per_user || waiting >= c->max_pending ||
        c->n_entries >= CONSENT_HARD_MAX_PENDING) {
        st = EDGE_E_QUOTA;
        goto out;
    }
    if (!BCRYPT_SUCCESS(
            BCryptGenRandom(NULL, e.id, EDGE_ID_SIZE, BCRYPT_USE_SYSTEM_PREFERRED_RNG))) {
        st = EDGE_E_INTERNAL;
        goto out;
    }
    struct consent_entry *grown = realloc(c->entries, (c->n_entries + 1) * sizeof(*grown));
    if (grown)
        c->entries = grown;
    e.sid = dup_s(who->user_sid);
    e.path = dup_s(who->image_path);
    if (!grown || !e.sid || !e.path) {
        consent_entry_free(&e);
        st = EDGE_E_NO_MEMORY;
        goto out;
    }
    memcpy(e.sha, who->image_sha256, EDGE_SHA256_SIZE);
    e.session = who->session_id;
    e.scope = *scope;
    if (!scope->has_seconds)
        e.scope.seconds = 0;
    e.created = now;
    e.expires = now + params->timeout_seconds;
    e.state = CONSENT_WAITING;
    c->entries[c->n_entries++] = e;
    info_of(&e, out);
    out->created_now = true;
    changed = true;
    char id[2 * EDGE_ID_SIZE + 1], detail[160];
    hex16(e.id, id);
    snprintf(detail, sizeof(detail), "pending request %s; waits %lu s for an approver", id,
             (unsigned long)params->timeout_seconds);
    audit_entry(c, AUDIT_REQUEST_PENDING_CONSENT, EDGE_PENDING_CONSENT, &e, detail);
    if (params->prompt_user) {
        DWORD console = c->console_session();
        prompt = console != 0xFFFFFFFFu && console == who->session_id;
        if (!prompt)
            log_msg(LOG_INFO,
                    "consent: no prompt for %s: the requester's session %lu is not the active "
                    "console session (%lu)",
                    id, (unsigned long)who->session_id, (unsigned long)console);
    }
out:
    if (changed && !c->closed)
        save_locked(c);
    ReleaseSRWLockExclusive(&c->lock);
    if (prompt)
        consent_prompt_start(c, out, params->timeout_seconds, params->remember_seconds);
    return st;
}

/* ---- decisions ---- */

/* Adds a remembered decision; when full, the one expiring first makes room. */
static bool remember_locked(struct consent *c, const struct consent_entry *e, bool approved,
                            bool user_scoped, uint32_t seconds, uint64_t now)
{
    struct consent_decision d;
    memset(&d, 0, sizeof(d));
    if (c->n_decisions >= c->max_decisions && c->n_decisions > 0) {
        size_t oldest = 0;
        for (size_t i = 1; i < c->n_decisions; i++)
            if (c->decisions[i].expires < c->decisions[oldest].expires)
                oldest = i;
        remove_decision(c, oldest);
    }
    struct consent_decision *grown = realloc(c->decisions, (c->n_decisions + 1) * sizeof(*grown));
    if (grown)
        c->decisions = grown;
    d.sid = user_scoped ? dup_s(e->sid) : NULL;
    d.path = dup_s(e->path);
    if (!grown || !d.path || (user_scoped && !d.sid)) {
        consent_decision_free(&d);
        return false;
    }
    d.approved = approved;
    memcpy(d.sha, e->sha, EDGE_SHA256_SIZE);
    d.protocol = e->scope.protocol;
    d.port_lo = e->scope.port_lo;
    d.port_hi = e->scope.port_hi;
    d.created = now;
    d.expires = now + seconds;
    c->decisions[c->n_decisions++] = d;
    return true;
}

static edge_status decide(struct consent *c, const uint8_t id[EDGE_ID_SIZE], bool approve,
                          const char *approver, const char *reason, bool user_scoped,
                          uint32_t remember_seconds, uint64_t now, struct consent_pending_info *out)
{
    edge_status st = EDGE_E_NOT_FOUND;
    if (out)
        memset(out, 0, sizeof(*out));
    if (!c || !id)
        return EDGE_E_BAD_REQUEST;
    AcquireSRWLockExclusive(&c->lock);
    if (c->closed)
        goto out;
    bool changed = expire_locked(c, now) > 0;
    for (size_t i = 0; i < c->n_entries; i++) {
        struct consent_entry *e = &c->entries[i];
        if (memcmp(e->id, id, EDGE_ID_SIZE) != 0 || e->state != CONSENT_WAITING)
            continue;
        e->state = approve ? CONSENT_APPROVED : CONSENT_DENIED;
        e->expires = now + CONSENT_OUTCOME_SECONDS;
        bool remembered = remember_seconds > 0 &&
                          remember_locked(c, e, approve, user_scoped, remember_seconds, now);
        e = &c->entries[i];
        char hex[2 * EDGE_ID_SIZE + 1], detail[EDGE_MAX_TEXT + 1];
        hex16(id, hex);
        snprintf(detail, sizeof(detail), "pending request %s %s by %s; %s%s%s", hex,
                 approve ? "approved" : "denied", approver ? approver : "an approver",
                 remembered
                     ? (user_scoped ? "remembered for this user" : "remembered for all users")
                     : "not remembered",
                 reason ? "; reason: " : "", reason ? reason : "");
        audit_entry(c, approve ? AUDIT_CONSENT_APPROVED : AUDIT_CONSENT_DENIED,
                    approve ? EDGE_OK : EDGE_E_CONSENT_DENIED, e, detail);
        if (out)
            info_of(e, out);
        changed = true;
        st = EDGE_OK;
        break;
    }
    if (changed)
        save_locked(c);
out:
    ReleaseSRWLockExclusive(&c->lock);
    return st;
}

edge_status consent_approve(struct consent *c, const uint8_t id[EDGE_ID_SIZE], const char *approver,
                            bool user_scoped, uint32_t remember_seconds, uint64_t now,
                            struct consent_pending_info *out)
{
    return decide(c, id, true, approver, NULL, user_scoped, remember_seconds, now, out);
}

edge_status consent_deny(struct consent *c, const uint8_t id[EDGE_ID_SIZE], const char *approver,
                         const char *reason, bool user_scoped, uint32_t remember_seconds,
                         uint64_t now, struct consent_pending_info *out)
{
    return decide(c, id, false, approver, reason, user_scoped, remember_seconds, now, out);
}

edge_status consent_attach_lease(struct consent *c, const uint8_t id[EDGE_ID_SIZE],
                                 const uint8_t lease_id[EDGE_ID_SIZE])
{
    edge_status st = EDGE_E_NOT_FOUND;
    if (!c || !id || !lease_id)
        return EDGE_E_BAD_REQUEST;
    AcquireSRWLockExclusive(&c->lock);
    for (size_t i = 0; i < c->n_entries; i++) {
        struct consent_entry *e = &c->entries[i];
        if (memcmp(e->id, id, EDGE_ID_SIZE) == 0 && e->state == CONSENT_APPROVED) {
            e->has_lease = true;
            memcpy(e->lease_id, lease_id, EDGE_ID_SIZE);
            if (!c->closed)
                save_locked(c);
            st = EDGE_OK;
            break;
        }
    }
    ReleaseSRWLockExclusive(&c->lock);
    return st;
}

edge_status consent_take_lease(struct consent *c, const struct consent_requester *who,
                               const struct consent_scope *scope, uint64_t now,
                               uint8_t lease_id[EDGE_ID_SIZE])
{
    edge_status st = EDGE_E_NOT_FOUND;
    if (!c || !lease_id || !requester_ok(who, scope))
        return EDGE_E_BAD_REQUEST;
    AcquireSRWLockExclusive(&c->lock);
    bool changed = expire_locked(c, now) > 0;
    for (size_t i = 0; i < c->n_entries; i++) {
        struct consent_entry *e = &c->entries[i];
        if (e->state == CONSENT_APPROVED && e->has_lease && same_request(e, who, scope)) {
            memcpy(lease_id, e->lease_id, EDGE_ID_SIZE);
            remove_entry(c, i);
            changed = true;
            st = EDGE_OK;
            break;
        }
    }
    if (changed && !c->closed)
        save_locked(c);
    ReleaseSRWLockExclusive(&c->lock);
    return st;
}

bool consent_settle(struct consent *c, const struct consent_requester *who,
                    const struct consent_scope *scope)
{
    bool removed = false;
    if (!c || !requester_ok(who, scope))
        return false;
    AcquireSRWLockExclusive(&c->lock);
    for (size_t i = c->n_entries; i-- > 0;) {
        if (c->entries[i].state != CONSENT_WAITING && same_request(&c->entries[i], who, scope)) {
            remove_entry(c, i);
            removed = true;
        }
    }
    if (removed && !c->closed)
        save_locked(c);
    ReleaseSRWLockExclusive(&c->lock);
    return removed;
}

/* ---- queries ---- */

edge_status consent_records(struct consent *c, uint64_t now, struct consent_records **out)
{
    struct consent_records *r = NULL;
    size_t n = 0, text = 0, i;
    if (out)
        *out = NULL;
    if (!c || !out)
        return EDGE_E_BAD_REQUEST;
    AcquireSRWLockShared(&c->lock);
    for (i = 0; i < c->n_decisions; i++)
        if (c->decisions[i].expires > now) {
            n++;
            text += (c->decisions[i].sid ? strlen(c->decisions[i].sid) + 1 : 0) +
                    strlen(c->decisions[i].path) + 1 + EDGE_SHA256_SIZE;
        }
    for (i = 0; i < c->n_entries; i++)
        if (c->entries[i].state != CONSENT_WAITING && c->entries[i].expires > now) {
            n++;
            text += strlen(c->entries[i].sid) + strlen(c->entries[i].path) + 2 + EDGE_SHA256_SIZE;
        }
    /* One block: the struct, the records, then the strings and hashes they point to. */
    size_t head = sizeof(*r) + n * sizeof(edge_consent_record);
    r = calloc(1, head + text);
    if (!r) {
        ReleaseSRWLockShared(&c->lock);
        return EDGE_E_NO_MEMORY;
    }
    r->items = n ? (edge_consent_record *)(r + 1) : NULL;
    char *p = (char *)r + head;
#define PUT_STR(dst, s)                                                                            \
    do {                                                                                           \
        size_t l_ = strlen(s) + 1;                                                                 \
        memcpy(p, (s), l_);                                                                        \
        (dst) = p;                                                                                 \
        p += l_;                                                                                   \
    } while (0)
    for (i = 0; i < c->n_decisions; i++) {
        const struct consent_decision *d = &c->decisions[i];
        if (d->expires <= now)
            continue;
        edge_consent_record *rec = &r->items[r->count++];
        rec->approved = d->approved;
        if (d->sid)
            PUT_STR(rec->user_sid, d->sid);
        PUT_STR(rec->image_path, d->path);
        memcpy(p, d->sha, EDGE_SHA256_SIZE);
        rec->image_sha256 = (const uint8_t *)p;
        p += EDGE_SHA256_SIZE;
        rec->protocol = d->protocol;
        rec->port_lo = d->port_lo;
        rec->port_hi = d->port_hi;
        rec->expires = d->expires;
    }
    for (i = 0; i < c->n_entries; i++) {
        const struct consent_entry *e = &c->entries[i];
        if (e->state == CONSENT_WAITING || e->expires <= now)
            continue;
        edge_consent_record *rec = &r->items[r->count++];
        rec->approved = e->state == CONSENT_APPROVED;
        PUT_STR(rec->user_sid, e->sid);
        PUT_STR(rec->image_path, e->path);
        memcpy(p, e->sha, EDGE_SHA256_SIZE);
        rec->image_sha256 = (const uint8_t *)p;
        p += EDGE_SHA256_SIZE;
        rec->protocol = e->scope.protocol;
        rec->port_lo = e->scope.port_lo;
        rec->port_hi = e->scope.port_hi;
        rec->expires = e->expires;
    }
#undef PUT_STR
    ReleaseSRWLockShared(&c->lock);
    *out = r;
    return EDGE_OK;
}

void consent_records_free(struct consent_records *r)
{
    free(r);
}

edge_status consent_list(struct consent *c, uint64_t now, struct consent_pending_info **items,
                         size_t *count)
{
    size_t n = 0;
    if (items)
        *items = NULL;
    if (count)
        *count = 0;
    if (!c || !items || !count)
        return EDGE_E_BAD_REQUEST;
    AcquireSRWLockShared(&c->lock);
    struct consent_pending_info *arr = calloc(c->n_entries ? c->n_entries : 1, sizeof(*arr));
    if (!arr) {
        ReleaseSRWLockShared(&c->lock);
        return EDGE_E_NO_MEMORY;
    }
    /* entries are appended, so array order is creation order */
    for (size_t i = 0; i < c->n_entries; i++)
        if (c->entries[i].state == CONSENT_WAITING && c->entries[i].expires > now)
            info_of(&c->entries[i], &arr[n++]);
    ReleaseSRWLockShared(&c->lock);
    *items = arr;
    *count = n;
    return EDGE_OK;
}

uint32_t consent_pending_count(struct consent *c, uint64_t now)
{
    uint32_t n = 0;
    if (!c)
        return 0;
    AcquireSRWLockShared(&c->lock);
    for (size_t i = 0; i < c->n_entries; i++)
        if (c->entries[i].state == CONSENT_WAITING && c->entries[i].expires > now)
            n++;
    ReleaseSRWLockShared(&c->lock);
    return n;
}

size_t consent_revoke(struct consent *c, const char *image_path, const uint8_t *image_sha256)
{
    size_t removed = 0;
    if (!c)
        return 0;
    AcquireSRWLockExclusive(&c->lock);
    for (size_t i = c->n_decisions; i-- > 0;) {
        const struct consent_decision *d = &c->decisions[i];
        if ((image_path && !ascii_ieq(d->path, image_path)) ||
            (image_sha256 && memcmp(d->sha, image_sha256, EDGE_SHA256_SIZE) != 0))
            continue;
        remove_decision(c, i);
        removed++;
    }
    if (removed && !c->closed)
        save_locked(c);
    ReleaseSRWLockExclusive(&c->lock);
    return removed;
}

DWORD consent_last_save_error(const struct consent *c)
{
    return c ? c->last_save_error : ERROR_INVALID_PARAMETER;
}
