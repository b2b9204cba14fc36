/*
 * Leases: request (with the consent wait), renew, release, open by id, and the bookkeeping that
 * keeps the library's copy of each lease current.
 */
#include "client.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edge/utf8.h"

void edge_lease_params_init(edge_lease_params *params)
{
    if (!params)
        return;
    memset(params, 0, sizeof(*params));
    params->size = sizeof(*params);
}

edge_lease_t *lease_new(edge_session_t *s)
{
    edge_lease_t *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->refs = 1;
    l->session = s;
    session_addref(s);
    return l;
}

void lease_addref(edge_lease_t *l)
{
    InterlockedIncrement(&l->refs);
}

void lease_unref(edge_lease_t *l)
{
    edge_session_t *s;
    if (!l || InterlockedDecrement(&l->refs) != 0)
        return;
    s = l->session;
    free(l->image_path);
    free(l->signed_request);
    free(l->target_app);
    free(l);
    session_release(s);
}

static void lease_link(edge_lease_t *l)
{
    edge_session_t *s = l->session;
    AcquireSRWLockExclusive(&s->state_lock);
    l->prev = NULL;
    l->next = s->leases;
    if (s->leases)
        s->leases->prev = l;
    s->leases = l;
    l->linked = true;
    l->epoch_gen = s->epoch_gen;
    ReleaseSRWLockExclusive(&s->state_lock);
    SetEvent(s->wake_ev); /* the monitor may have a renewal to plan */
}

void edge_lease_free(edge_lease_t *l)
{
    edge_session_t *s;
    if (!l || l->in_list)
        return;
    s = l->session;
    AcquireSRWLockExclusive(&s->state_lock);
    if (l->linked) {
        if (l->prev)
            l->prev->next = l->next;
        else
            s->leases = l->next;
        if (l->next)
            l->next->prev = l->prev;
        l->linked = false;
    }
    l->renew_at = 0;
    l->rerequest_at = 0;
    ReleaseSRWLockExclusive(&s->state_lock);
    lease_unref(l);
}

edge_lease_t *lease_find(edge_session_t *s, const uint8_t id[EDGE_ID_SIZE])
{
    edge_lease_t *l;
    for (l = s->leases; l; l = l->next)
        if (memcmp(l->id, id, EDGE_ID_SIZE) == 0)
            return l;
    return NULL;
}

edge_result lease_store(edge_lease_t *l, const edge_lease *rec, uint32_t warnings)
{
    char *path = malloc((size_t)rec->image_path.len + 1);
    if (!path)
        return EDGE_CLIENT_E_NO_MEMORY;
    memcpy(path, rec->image_path.ptr, rec->image_path.len);
    path[rec->image_path.len] = '\0';
    free(l->image_path);
    l->image_path = path;
    memcpy(l->id, rec->id, EDGE_ID_SIZE);
    memcpy(l->owner_sid, rec->owner_sid.ptr, rec->owner_sid.len);
    l->owner_sid[rec->owner_sid.len] = '\0';
    l->protocol = rec->protocol;
    l->port_lo = rec->port_lo;
    l->port_hi = rec->port_hi;
    l->edge_option = rec->edge_option;
    l->created = rec->created;
    l->expires = rec->expires;
    l->flags = (l->flags & (EDGE_REQUEST_F_AUTO_RENEW | EDGE_REQUEST_F_REREQUEST)) | rec->flags;
    l->state = rec->state;
    l->warnings = warnings;
    l->rerequest_at = 0;
    if (rec->state == EDGE_LEASE_STATE_ENDED)
        lease_mark_ended(l);
    else
        lease_plan_renewal(l);
    return EDGE_OK;
}

void lease_mark_ended(edge_lease_t *l)
{
    l->state = EDGE_LEASE_STATE_ENDED;
    l->renew_at = 0;
    if ((l->flags & EDGE_REQUEST_F_REREQUEST) && l->linked && l->rerequest_at == 0)
        l->rerequest_at = GetTickCount64();
}

void lease_plan_renewal(edge_lease_t *l)
{
    uint64_t now = (uint64_t)time(NULL), left;
    if (!(l->flags & EDGE_REQUEST_F_AUTO_RENEW) || l->state == EDGE_LEASE_STATE_ENDED) {
        l->renew_at = 0;
        return;
    }
    /* Half the remaining time leaves room for a retry or two before expiry. */
    left = l->expires > now ? l->expires - now : 0;
    if (left > 0x7FFFFFFFull / 1000)
        left = 0x7FFFFFFFull / 1000;
    l->renew_at = GetTickCount64() + left * 500u + 1;
}

edge_result lease_grant_result(const edge_lease_t *l)
{
    if (l->state != EDGE_LEASE_STATE_ACTIVE || l->warnings != 0)
        return EDGE_CLIENT_W_INEFFECTIVE;
    return EDGE_OK;
}

/* Validates params and stores a copy of the request in l. */
static edge_result lease_set_request(edge_lease_t *l, const edge_lease_params *p)
{
    const uint32_t known =
        EDGE_REQUEST_F_KEEP_AFTER_EXIT | EDGE_REQUEST_F_AUTO_RENEW | EDGE_REQUEST_F_REREQUEST;
    if (p->size != sizeof(*p) ||
        (p->protocol != EDGE_PROTOCOL_TCP && p->protocol != EDGE_PROTOCOL_UDP) || p->port_lo == 0 ||
        (p->port_hi != 0 && p->port_hi < p->port_lo) || p->seconds > EDGE_MAX_LEASE_SECONDS ||
        (p->flags & ~known))
        return EDGE_CLIENT_E_INVALID_ARG;
    if (p->signed_request) {
        if (p->signed_request_len == 0 || p->signed_request_len > EDGE_MAX_SIGNED_REQUEST_BYTES)
            return EDGE_CLIENT_E_INVALID_ARG;
        l->signed_request = malloc(p->signed_request_len);
        if (!l->signed_request)
            return EDGE_CLIENT_E_NO_MEMORY;
        memcpy(l->signed_request, p->signed_request, p->signed_request_len);
        l->signed_request_len = p->signed_request_len;
    } else if (p->signed_request_len != 0) {
        return EDGE_CLIENT_E_INVALID_ARG;
    }
    if (p->target_app) {
        size_t n = strlen(p->target_app);
        if (n == 0 || n > EDGE_MAX_PATH ||
            edge_utf8_check((const uint8_t *)p->target_app, n) != EDGE_UTF8_OK)
            return EDGE_CLIENT_E_INVALID_ARG;
        l->target_app = malloc(n + 1);
        if (!l->target_app)
            return EDGE_CLIENT_E_NO_MEMORY;
        memcpy(l->target_app, p->target_app, n + 1);
    }
    l->protocol = (uint8_t)p->protocol;
    l->port_lo = p->port_lo;
    l->port_hi = p->port_hi ? p->port_hi : p->port_lo;
    l->req_seconds = p->seconds;
    l->flags = p->flags;
    return EDGE_OK;
}

uint32_t lease_retry_wait_s(uint32_t retry_after_s)
{
    if (retry_after_s == 0)
        return CLIENT_RETRY_DEFAULT_S;
    return retry_after_s > CLIENT_RETRY_MAX_S ? CLIENT_RETRY_MAX_S : retry_after_s;
}

edge_result lease_request_once(edge_lease_t *l, ULONGLONG deadline, uint32_t *retry_after_s)
{
    edge_session_t *s = l->session;
    edge_msg req, rep;
    uint8_t *frame = NULL;
    edge_result r;

    *retry_after_s = 0;
    memset(&req, 0, sizeof(req));
    req.type = EDGE_MSG_REQUEST;
    /* The request is rebuilt from the stored copy, so every poll repeats it identically. */
    req.u.lease_req.protocol = l->protocol;
    req.u.lease_req.port_lo = l->port_lo;
    req.u.lease_req.has_port_hi = l->port_hi != l->port_lo;
    req.u.lease_req.port_hi = l->port_hi;
    req.u.lease_req.has_seconds = l->req_seconds != 0;
    req.u.lease_req.seconds = l->req_seconds;
    req.u.lease_req.has_flags = (l->flags & EDGE_LEASE_F_KNOWN) != 0;
    req.u.lease_req.flags = l->flags & EDGE_LEASE_F_KNOWN;
    req.u.lease_req.target_app = edge_str_from_cstr(l->target_app);
    req.u.lease_req.signed_request.ptr = l->signed_request;
    req.u.lease_req.signed_request.len = (uint32_t)l->signed_request_len;
    r = session_call(s, &req, deadline, &rep, &frame);
    if (r != EDGE_OK)
        return r;
    r = session_status_result(rep.env.status);
    if (rep.env.has_retry_after)
        *retry_after_s = rep.env.retry_after;
    if (r == EDGE_OK) {
        /* A grant for something other than what was asked is a broken or hostile service. */
        const edge_lease *g = &rep.u.lease_rep.lease;
        if (g->protocol != l->protocol || g->port_lo != l->port_lo || g->port_hi != l->port_hi) {
            r = EDGE_CLIENT_E_PROTOCOL;
        } else {
            AcquireSRWLockExclusive(&s->state_lock);
            r = lease_store(l, g, rep.env.has_warnings ? rep.env.warnings : 0);
            if (r == EDGE_OK)
                r = lease_grant_result(l);
            ReleaseSRWLockExclusive(&s->state_lock);
        }
    }
    free(frame);
    return r;
}

edge_result edge_lease_request(edge_session_t *s, const edge_lease_params *params,
                               uint32_t timeout_ms, edge_lease_t **out)
{
    edge_lease_t *l = NULL;
    ULONGLONG deadline;
    uint32_t t;
    edge_result r;

    if (out)
        *out = NULL;
    if (!s || !params || !out || !session_timeout(s, timeout_ms, &t))
        return EDGE_CLIENT_E_INVALID_ARG;
    if (session_is_closed(s))
        return EDGE_CLIENT_E_CLOSED;
    deadline = transport_deadline(t);
    l = lease_new(s);
    if (!l)
        return EDGE_CLIENT_E_NO_MEMORY;
    r = lease_set_request(l, params);
    while (r == EDGE_OK || r == EDGE_PENDING_CONSENT) {
        uint32_t retry = 0;
        DWORD wait, left;
        r = lease_request_once(l, deadline, &retry);
        if (r != EDGE_PENDING_CONSENT)
            break;
        /* docs/protocol.md §9.5: wait retry_after, then repeat the identical request. */
        retry = lease_retry_wait_s(retry);
        left = transport_remaining(deadline);
        if (left == 0)
            break; /* still pending: the caller may call again to keep waiting */
        wait = retry * 1000u < left ? retry * 1000u : left;
        if (session_sleep(s, wait) != EDGE_OK) {
            r = EDGE_CLIENT_E_CLOSED;
            break;
        }
        if (transport_remaining(deadline) == 0)
            break; /* a poll now could only time out; report what we know: still pending */
    }
    if (EDGE_SUCCEEDED(r)) {
        lease_link(l);
        *out = l;
        l = NULL;
    }
    lease_unref(l);
    return r;
}

/*
 * Applies the reply r/rep to a RENEW or SHOW that named sent_id (state_lock held exclusively).
 * NOT_FOUND ends l only while l still is that lease: a re-request may have replaced its id since.
 */
static edge_result lease_apply_reply(edge_lease_t *l, edge_result r, const edge_msg *rep,
                                     const uint8_t sent_id[EDGE_ID_SIZE])
{
    if (r == EDGE_OK) {
        if (memcmp(rep->u.lease_rep.lease.id, sent_id, EDGE_ID_SIZE) != 0)
            return EDGE_CLIENT_E_PROTOCOL;
        return lease_store(l, &rep->u.lease_rep.lease,
                           rep->env.has_warnings ? rep->env.warnings : 0);
    }
    if (r == EDGE_E_NOT_FOUND && memcmp(l->id, sent_id, EDGE_ID_SIZE) == 0)
        lease_mark_ended(l);
    return r;
}

edge_result lease_renew_now(edge_lease_t *l, uint32_t seconds, ULONGLONG deadline)
{
    edge_session_t *s = l->session;
    edge_msg req, rep;
    uint8_t *frame = NULL;
    edge_result r;

    memset(&req, 0, sizeof(req));
    req.type = EDGE_MSG_RENEW;
    AcquireSRWLockShared(&s->state_lock);
    memcpy(req.u.renew_req.lease_id, l->id, EDGE_ID_SIZE);
    if (seconds == 0)
        seconds = l->req_seconds;
    ReleaseSRWLockShared(&s->state_lock);
    req.u.renew_req.has_seconds = seconds != 0;
    req.u.renew_req.seconds = seconds;
    r = session_call(s, &req, deadline, &rep, &frame);
    if (r != EDGE_OK)
        return r;
    r = session_status_result(rep.env.status);
    AcquireSRWLockExclusive(&s->state_lock);
    r = lease_apply_reply(l, r, &rep, req.u.renew_req.lease_id);
    if (r == EDGE_OK)
        r = lease_grant_result(l);
    ReleaseSRWLockExclusive(&s->state_lock);
    if (r == EDGE_E_NOT_FOUND && l->linked)
        session_queue_event(s, EDGE_EVENT_LEASE_LOST, l, r);
    free(frame);
    return r;
}

static edge_result lease_check_usable(edge_lease_t *l, uint32_t timeout_ms, uint32_t *t)
{
    bool ended;
    if (!l || !session_timeout(l->session, timeout_ms, t))
        return EDGE_CLIENT_E_INVALID_ARG;
    if (session_is_closed(l->session))
        return EDGE_CLIENT_E_CLOSED;
    AcquireSRWLockShared(&l->session->state_lock);
    ended = l->state == EDGE_LEASE_STATE_ENDED;
    ReleaseSRWLockShared(&l->session->state_lock);
    return ended ? EDGE_CLIENT_E_LEASE_ENDED : EDGE_OK;
}

edge_result edge_lease_renew(edge_lease_t *l, uint32_t seconds, uint32_t timeout_ms)
{
    uint32_t t = 0;
    edge_result r = lease_check_usable(l, timeout_ms, &t);
    if (r != EDGE_OK)
        return r;
    if (seconds > EDGE_MAX_LEASE_SECONDS)
        return EDGE_CLIENT_E_INVALID_ARG;
    return lease_renew_now(l, seconds, transport_deadline(t));
}

edge_result edge_lease_release(edge_lease_t *l, uint32_t timeout_ms)
{
    edge_session_t *s;
    edge_msg req, rep;
    uint8_t *frame = NULL;
    uint32_t t = 0;
    edge_result r = lease_check_usable(l, timeout_ms, &t);

    if (r == EDGE_CLIENT_E_LEASE_ENDED)
        return EDGE_OK;
    if (r != EDGE_OK)
        return r;
    s = l->session;
    memset(&req, 0, sizeof(req));
    req.type = EDGE_MSG_RELEASE;
    AcquireSRWLockExclusive(&s->state_lock);
    memcpy(req.u.id_req.id, l->id, EDGE_ID_SIZE);
    /* Stop renewing and re-requesting first: a release must not race a renewal back to life. */
    l->flags &= ~(uint32_t)(EDGE_REQUEST_F_AUTO_RENEW | EDGE_REQUEST_F_REREQUEST);
    l->renew_at = 0;
    ReleaseSRWLockExclusive(&s->state_lock);
    r = session_call(s, &req, transport_deadline(t), &rep, &frame);
    if (r == EDGE_OK) {
        r = session_status_result(rep.env.status);
        if (r == EDGE_E_NOT_FOUND)
            r = EDGE_OK; /* already gone: what the caller wanted */
        if (r == EDGE_OK) {
            AcquireSRWLockExclusive(&s->state_lock);
            lease_mark_ended(l);
            ReleaseSRWLockExclusive(&s->state_lock);
        }
    }
    free(frame);
    return r;
}

edge_result lease_show_now(edge_lease_t *l, ULONGLONG deadline)
{
    edge_session_t *s = l->session;
    edge_msg req, rep;
    uint8_t *frame = NULL;
    edge_result r;

    memset(&req, 0, sizeof(req));
    req.type = EDGE_MSG_SHOW;
    AcquireSRWLockShared(&s->state_lock);
    memcpy(req.u.id_req.id, l->id, EDGE_ID_SIZE);
    ReleaseSRWLockShared(&s->state_lock);
    r = session_call(s, &req, deadline, &rep, &frame);
    if (r != EDGE_OK)
        return r;
    r = session_status_result(rep.env.status);
    AcquireSRWLockExclusive(&s->state_lock);
    r = lease_apply_reply(l, r, &rep, req.u.id_req.id);
    ReleaseSRWLockExclusive(&s->state_lock);
    free(frame);
    return r;
}

edge_result edge_lease_open(edge_session_t *s, const char *id_hex, uint32_t timeout_ms,
                            edge_lease_t **out)
{
    edge_lease_t *l = NULL;
    uint32_t t;
    edge_result r;

    if (out)
        *out = NULL;
    if (!s || !out || !session_timeout(s, timeout_ms, &t))
        return EDGE_CLIENT_E_INVALID_ARG;
    if (session_is_closed(s))
        return EDGE_CLIENT_E_CLOSED;
    l = lease_new(s);
    if (!l)
        return EDGE_CLIENT_E_NO_MEMORY;
    if (!client_unhex(id_hex, l->id, EDGE_ID_SIZE))
        r = EDGE_CLIENT_E_INVALID_ARG;
    else
        r = lease_show_now(l, transport_deadline(t));
    if (r == EDGE_OK) {
        lease_link(l);
        *out = l;
        l = NULL;
    }
    lease_unref(l);
    return r;
}

/* ---- accessors ---- */

#define LEASE_READ(l, expr, zero)                                                                  \
    do {                                                                                           \
        if (!(l))                                                                                  \
            return (zero);                                                                         \
        AcquireSRWLockShared(&(l)->session->state_lock);                                           \
        v = (expr);                                                                                \
        ReleaseSRWLockShared(&(l)->session->state_lock);                                           \
        return v;                                                                                  \
    } while (0)

edge_result edge_lease_id(const edge_lease_t *l, char *id, size_t id_cap)
{
    char hex[2 * EDGE_ID_SIZE + 1];
    if (!l || !id || id_cap == 0)
        return EDGE_CLIENT_E_INVALID_ARG;
    AcquireSRWLockShared(&l->session->state_lock);
    client_hex(l->id, EDGE_ID_SIZE, hex);
    ReleaseSRWLockShared(&l->session->state_lock);
    return client_copy_str(id, id_cap, hex);
}

edge_result edge_lease_image_path(const edge_lease_t *l, char *path, size_t path_cap)
{
    edge_result r;
    if (!l || !path || path_cap == 0)
        return EDGE_CLIENT_E_INVALID_ARG;
    AcquireSRWLockShared(&l->session->state_lock);
    r = client_copy_str(path, path_cap, l->image_path ? l->image_path : "");
    ReleaseSRWLockShared(&l->session->state_lock);
    return r;
}

edge_result edge_lease_owner_sid(const edge_lease_t *l, char *sid, size_t sid_cap)
{
    edge_result r;
    if (!l || !sid || sid_cap == 0)
        return EDGE_CLIENT_E_INVALID_ARG;
    AcquireSRWLockShared(&l->session->state_lock);
    r = client_copy_str(sid, sid_cap, l->owner_sid);
    ReleaseSRWLockShared(&l->session->state_lock);
    return r;
}

uint32_t edge_lease_protocol(const edge_lease_t *l)
{
    uint32_t v;
    LEASE_READ(l, l->protocol, 0);
}

uint16_t edge_lease_port_lo(const edge_lease_t *l)
{
    uint16_t v;
    LEASE_READ(l, l->port_lo, 0);
}

uint16_t edge_lease_port_hi(const edge_lease_t *l)
{
    uint16_t v;
    LEASE_READ(l, l->port_hi, 0);
}

uint64_t edge_lease_created(const edge_lease_t *l)
{
    uint64_t v;
    LEASE_READ(l, l->created, 0);
}

uint64_t edge_lease_expires(const edge_lease_t *l)
{
    uint64_t v;
    LEASE_READ(l, l->expires, 0);
}

uint32_t edge_lease_state(const edge_lease_t *l)
{
    uint32_t v;
    LEASE_READ(l, l->state, 0);
}

uint32_t edge_lease_warnings(const edge_lease_t *l)
{
    uint32_t v;
    LEASE_READ(l, l->warnings, 0);
}

uint32_t edge_lease_flags(const edge_lease_t *l)
{
    uint32_t v;
    LEASE_READ(l, l->flags, 0);
}

uint32_t edge_lease_edge_option(const edge_lease_t *l)
{
    uint32_t v;
    LEASE_READ(l, l->edge_option, 0);
}
