/*
 * Lease manager support: time, persistence, results, views, audit records and the cached
 * firewall state (see leases_internal.h).
 */
#include "leases_internal.h"
#include "caller.h"

#include "edge/utf8.h"

#include <sddl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 100 ns intervals between 1601-01-01 and 1970-01-01. */
#define LM_EPOCH_DIFF 116444736000000000ull

uint64_t lm_now_ms(void)
{
    FILETIME ft;
    ULARGE_INTEGER u;

    GetSystemTimeAsFileTime(&ft);
    u.LowPart = ft.dwLowDateTime;
    u.HighPart = ft.dwHighDateTime;
    return u.QuadPart < LM_EPOCH_DIFF ? 0 : (u.QuadPart - LM_EPOCH_DIFF) / 10000u;
}

uint64_t lm_now(void)
{
    return lm_now_ms() / 1000u;
}

/* ---- persistence --------------------------------------------------------------------------- */

/* Marks the store dirty with ERR and audits the failed write. */
static void persist_failed(struct leases *m, edge_status st, DWORD err, const char *what)
{
    struct lm_audit_event ev;
    char text[128];

    m->dirty = true;
    m->store_error = err;
    memset(&ev, 0, sizeof(ev));
    (void)snprintf(text, sizeof(text), "%s failed: %s, Win32 error %lu", what, edge_status_name(st),
                   (unsigned long)err);
    ev.kind = AUDIT_STATE_WRITE_FAILED;
    ev.status = EDGE_E_STORAGE;
    ev.detail = text;
    ev.has_hresult = err != 0;
    ev.hresult = HRESULT_FROM_WIN32(err);
    lm_audit(m, &ev);
}

edge_status lm_persist(struct leases *m)
{
    edge_status st = store_save(m->store, m->table);

    if (st == EDGE_OK) {
        m->dirty = false;
        m->store_error = ERROR_SUCCESS;
        return EDGE_OK;
    }
    persist_failed(m, st, store_last_error(m->store), "state write");
    return EDGE_E_STORAGE;
}

edge_status lm_persist_renewal(struct leases *m, const edge_lease_info *old)
{
    edge_lease_info now;
    edge_status st;
    DWORD err;

    /* Shortened (or unknown): the old, later expiry must not come back after a crash. */
    if (!edge_lease_table_get(m->table, old->id, &now) || now.expires < old->expires)
        return lm_persist(m);
    st = store_save_deferred(m->store, m->table, &m->lock);
    if (st != EDGE_OK) { /* only with deferral disabled: it was a synchronous save */
        persist_failed(m, st, store_last_error(m->store), "state write");
        return EDGE_E_STORAGE;
    }
    /* A failed deferred write is retried by the store; tell status/doctor and the audit log once.
     * The next successful lm_persist (any grant or end, or a reconcile pass) clears it. */
    err = store_deferred_error(m->store);
    if (err != ERROR_SUCCESS && !m->dirty)
        persist_failed(m, EDGE_E_STORAGE, err, "deferred state write (renewals)");
    return EDGE_OK;
}

/* ---- results ------------------------------------------------------------------------------- */

static void text_fix_utf8(char *s)
{
    size_t n = strlen(s);
    size_t keep;

    /* vsnprintf may have cut a multi-byte character (paths are UTF-8); never send half of one. */
    keep = edge_utf8_truncate((const uint8_t *)s, n, n);
    s[keep] = '\0';
    if (edge_utf8_check((const uint8_t *)s, keep) != EDGE_UTF8_OK)
        s[0] = '\0';
}

void lm_result(struct leases_result *res, edge_status st, const char *fmt, ...)
{
    va_list ap;

    res->status = st;
    if (!fmt)
        return;
    va_start(ap, fmt);
    if (vsnprintf(res->detail, sizeof(res->detail), fmt, ap) < 0)
        res->detail[0] = '\0';
    va_end(ap);
    text_fix_utf8(res->detail);
}

void lm_result_fw(struct leases_result *res, const edge_fw_result *fw, const char *what)
{
    lm_result(res, fw->status, "%s: %s%s%s", what, edge_status_message(fw->status),
              fw->message[0] ? ": " : "", fw->message);
    if (fw->hresult) {
        res->has_win32_error = true;
        res->win32_error = fw->hresult;
    }
    if (edge_status_is_transient(fw->status) && !res->retry_after)
        res->retry_after = 5;
}

/* ---- identity ------------------------------------------------------------------------------ */

bool lm_caller_sid(const struct caller_identity *caller, char *out, size_t cap)
{
    char *s = NULL;
    size_t n;

    if (cap)
        out[0] = '\0';
    if (!caller || caller->sid_len == 0 || !IsValidSid((PSID)caller->sid))
        return false;
    if (!ConvertSidToStringSidA((PSID)caller->sid, &s))
        return false;
    n = strlen(s);
    if (n >= cap || n > EDGE_LEASE_SID_MAX_LEN) {
        LocalFree(s);
        return false;
    }
    memcpy(out, s, n + 1);
    LocalFree(s);
    return true;
}

bool lm_caller_may(const struct caller_identity *caller, const char *caller_sid,
                   const edge_lease_info *lease)
{
    if (caller && caller->is_admin)
        return true;
    return caller_sid && caller_sid[0] && strcmp(caller_sid, lease->owner_sid) == 0;
}

uint8_t lm_wire_state(edge_lease_state st, uint32_t ineffective)
{
    switch (st) {
    case EDGE_LEASE_ACTIVE:
        return ineffective ? EDGE_LEASE_STATE_INEFFECTIVE : EDGE_LEASE_STATE_ACTIVE;
    case EDGE_LEASE_RULE_PENDING:
        return EDGE_LEASE_STATE_REPAIRING;
    case EDGE_LEASE_ENDING:
    default:
        return EDGE_LEASE_STATE_ENDED;
    }
}

/* ---- views --------------------------------------------------------------------------------- */

size_t lm_record_size(const edge_lease_info *l)
{
    /* LIST element header + 12 field headers + fixed values (16+32+1+2+2+1+8+8+4+1) + strings. */
    return EDGE_TLV_HEADER_SIZE + 12u * EDGE_TLV_HEADER_SIZE + 75u + strlen(l->owner_sid) +
           strlen(l->image_path);
}

#define LM_ALIGN(n) (((n) + 15u) & ~(size_t)15u)

struct leases_view *lm_view_build(const edge_lease_info *const *leases, uint32_t count,
                                  uint32_t ineffective)
{
    size_t head = LM_ALIGN(sizeof(struct leases_view));
    size_t total = head + LM_ALIGN((size_t)count * sizeof(edge_lease));
    struct leases_view *v;
    char *strings;
    uint32_t i;

    for (i = 0; i < count; i++)
        total += strlen(leases[i]->owner_sid) + strlen(leases[i]->image_path) + 2;
    v = calloc(1, total);
    if (!v)
        return NULL;
    v->count = count;
    v->items = (edge_lease *)((char *)v + head);
    strings = (char *)v + head + LM_ALIGN((size_t)count * sizeof(edge_lease));
    for (i = 0; i < count; i++) {
        const edge_lease_info *l = leases[i];
        edge_lease *o = &v->items[i];
        size_t sl = strlen(l->owner_sid), pl = strlen(l->image_path);

        memcpy(o->id, l->id, EDGE_ID_SIZE);
        memcpy(strings, l->owner_sid, sl + 1);
        o->owner_sid.ptr = strings;
        o->owner_sid.len = (uint32_t)sl;
        strings += sl + 1;
        memcpy(strings, l->image_path, pl + 1);
        o->image_path.ptr = strings;
        o->image_path.len = (uint32_t)pl;
        strings += pl + 1;
        memcpy(o->image_sha256, l->image_sha256, EDGE_SHA256_SIZE);
        o->protocol = l->protocol;
        o->port_lo = l->port_lo;
        o->port_hi = l->port_hi;
        o->edge_option = (uint8_t)l->edge_option;
        o->created = l->created;
        o->expires = l->expires;
        o->flags = l->flags;
        o->state = lm_wire_state(l->state, ineffective);
    }
    return v;
}

void leases_view_free(struct leases_view *v)
{
    free(v);
}

edge_lease_info *lm_lease_dup(const edge_lease_info *l)
{
    size_t sl = strlen(l->owner_sid), pl = strlen(l->image_path);
    edge_lease_info *d = malloc(sizeof(*d) + sl + pl + 2);
    char *p;

    if (!d)
        return NULL;
    *d = *l;
    p = (char *)(d + 1);
    memcpy(p, l->owner_sid, sl + 1);
    d->owner_sid = p;
    memcpy(p + sl + 1, l->image_path, pl + 1);
    d->image_path = p + sl + 1;
    return d;
}

void lm_table_restore(struct leases *m, const edge_lease_info *old)
{
    edge_lease_info *copy = lm_lease_dup(old);

    if (!copy)
        return; /* the change stays in memory; the store is dirty and reconcile retries */
    (void)edge_lease_table_remove(m->table, copy->id);
    (void)edge_lease_table_add(m->table, copy, NULL);
    free(copy);
}

/* ---- firewall state ------------------------------------------------------------------------ */

edge_status leases_firewall_state(struct leases *m, bool fresh, edge_fw_state *out)
{
    edge_fw_result res;
    edge_status st;

    AcquireSRWLockShared(&m->fwstate_lock);
    if (!fresh && m->fwstate_valid &&
        GetTickCount64() - m->fwstate_tick < (ULONGLONG)m->fwstate_max_age_ms) {
        *out = m->fwstate;
        ReleaseSRWLockShared(&m->fwstate_lock);
        return EDGE_OK;
    }
    ReleaseSRWLockShared(&m->fwstate_lock);
    st = edge_fw_read_state(m->fw, out, &res);
    if (st == EDGE_OK) {
        AcquireSRWLockExclusive(&m->fwstate_lock);
        m->fwstate = *out;
        m->fwstate_tick = GetTickCount64();
        m->fwstate_valid = true;
        ReleaseSRWLockExclusive(&m->fwstate_lock);
    }
    return st;
}

uint32_t leases_assess(const struct leases *m, const edge_fw_state *state, uint32_t *ineffective,
                       char *why, size_t why_size)
{
    uint32_t bits = edge_fw_state_assess(state, m->cfg.profiles, why, why_size);
    uint32_t rule = m->cfg.profiles == EDGE_FW_PROFILE_ALL ? 0x7u : (m->cfg.profiles & 0x7u);
    uint32_t cur = state->current_profiles & 0x7u;
    uint32_t warn = 0;
    int i;

    if (ineffective)
        *ineffective = bits;
    if (bits & EDGE_FW_INEFFECTIVE_LOCAL_MERGE)
        warn |= EDGE_WARN_LOCAL_RULES_IGNORED;
    if (bits & EDGE_FW_INEFFECTIVE_NO_TEREDO)
        warn |= EDGE_WARN_TEREDO_UNAVAILABLE;
    /* Firewall off does not defeat the rule, but the user should know nothing is filtered. */
    for (i = 0; i < EDGE_FW_PROFILE_COUNT; i++) {
        uint32_t bit = 1u << i;
        if (!((cur ? cur : rule) & bit))
            continue;
        if (state->firewall[i].state == EDGE_FW_OFF)
            warn |= EDGE_WARN_FIREWALL_OFF;
    }
    return warn;
}

uint32_t lm_current_warnings(struct leases *m, uint32_t *ineffective, char *why, size_t why_size)
{
    edge_fw_state st;
    char text[EDGE_MAX_TEXT + 1];
    uint32_t warn;

    *ineffective = 0;
    if (why && why_size)
        why[0] = '\0';
    if (leases_firewall_state(m, false, &st) != EDGE_OK)
        return 0; /* unknown state: nothing to claim either way (doctor shows it) */
    text[0] = '\0';
    warn = leases_assess(m, &st, ineffective, text, sizeof(text));
    if (why && why_size && (*ineffective || warn)) {
        (void)snprintf(why, why_size, "%s%s%s",
                       *ineffective ? "the rule is in place but not effective: " : "",
                       *ineffective ? text : "",
                       (warn & EDGE_WARN_FIREWALL_OFF)
                           ? (*ineffective ? " The firewall is off in a current profile."
                                           : "The firewall is off in a current profile.")
                           : "");
        text_fix_utf8(why);
    }
    return warn;
}

/* ---- audit --------------------------------------------------------------------------------- */

/* UTF-8 to a malloc'd UTF-16 string; NULL on failure. */
static wchar_t *widen(const char *s)
{
    size_t need = 0;
    uint16_t *w;

    if (!s)
        return NULL;
    if (edge_utf8_to_utf16((const uint8_t *)s, strlen(s), NULL, 0, &need) == EDGE_UTF8_INVALID)
        return NULL;
    w = calloc(need + 1, sizeof(uint16_t));
    if (w && edge_utf8_to_utf16((const uint8_t *)s, strlen(s), w, need, &need) != EDGE_UTF8_OK) {
        free(w);
        return NULL;
    }
    return (wchar_t *)w;
}

void lm_audit(struct leases *m, const struct lm_audit_event *ev)
{
    audit_record rec;
    audit_request areq;
    audit_port_range range;
    wchar_t rule[EDGE_FW_NAME_CHARS];
    wchar_t *sid_w = NULL, *image_w = NULL, *owner_w = NULL;
    const uint8_t *id = ev->lease ? ev->lease->id : ev->lease_id;

    if (!m->audit)
        return;
    memset(&rec, 0, sizeof(rec));
    rec.kind = ev->kind;
    rec.status = (uint32_t)ev->status;
    rec.detail = ev->detail;
    if (ev->caller) {
        if (ev->caller->sid_len && IsValidSid((PSID)ev->caller->sid))
            (void)ConvertSidToStringSidW((PSID)ev->caller->sid, &sid_w);
        rec.caller_sid = sid_w;
        rec.pid = ev->caller->pid;
        rec.image_path = ev->caller->image_path;
        rec.image_sha256 = ev->caller->image_sha256;
    } else if (ev->lease) {
        owner_w = widen(ev->lease->owner_sid);
        rec.caller_sid = owner_w;
        rec.pid = ev->lease->owner_pid;
    }
    if (ev->lease) {
        /* The executable the lease is for: the caller's own, or another one an administrator
         * named; without a caller it is also the record's image. */
        image_w = widen(ev->lease->image_path);
        rec.lease_image_path = image_w;
        rec.lease_image_sha256 = ev->lease->image_sha256;
        if (!ev->caller) {
            rec.image_path = image_w;
            rec.image_sha256 = ev->lease->image_sha256;
        }
    }
    memset(&areq, 0, sizeof(areq));
    if (ev->req) {
        range.first = ev->req->port_lo;
        range.last = ev->req->port_hi;
        areq.verb = ev->verb;
        areq.protocol = ev->req->protocol;
        areq.ports = &range;
        areq.port_count = 1;
        areq.lease_seconds = ev->lease_seconds ? ev->lease_seconds : ev->req->seconds;
        areq.flags = ev->req->flags;
        rec.request = &areq;
    } else if (ev->lease) {
        range.first = ev->lease->port_lo;
        range.last = ev->lease->port_hi;
        areq.verb = ev->verb;
        areq.protocol = ev->lease->protocol;
        areq.ports = &range;
        areq.port_count = 1;
        areq.lease_seconds = ev->lease_seconds;
        areq.flags = ev->lease->flags;
        rec.request = &areq;
    }
    rec.lease_id = id;
    if (ev->rule_name) {
        rec.rule_name = ev->rule_name;
    } else if (id) {
        edge_fw_rule_name(id, rule);
        rec.rule_name = rule;
    }
    rec.has_hresult = ev->has_hresult;
    rec.hresult = (HRESULT)ev->hresult;
    (void)audit_emit(m->audit, &rec);
    if (sid_w)
        LocalFree(sid_w);
    free(owner_w);
    free(image_w);
}
