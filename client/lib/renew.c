/*
 * The session's monitor thread: automatic renewal, re-requests, re-validation after a service
 * restart, notices that arrive while the application is idle, and event delivery.
 *
 * It never holds a lock across a round trip or a callback: it picks one lease that needs work
 * under state_lock, takes a reference, and acts on it unlocked.  Every action moves that lease's
 * next due time forward, so a failing lease cannot starve the others.
 */
#include "client.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RENEW_RETRY_MAX_MS 30000u
#define RENEW_RETRY_MIN_MS 1000u

static void queue_for_lease(edge_session_t *s, uint32_t event, edge_lease_t *l, edge_result r)
{
    session_queue_event(s, event, l, r);
}

void monitor_on_notice(edge_session_t *s, const edge_msg *m)
{
    const edge_notice *n = &m->u.notice;
    edge_lease_t *l = NULL;
    uint32_t event = 0;

    if (n->kind == EDGE_NOTICE_SHUTDOWN) {
        session_queue_event(s, EDGE_EVENT_SERVICE_SHUTDOWN, NULL, EDGE_E_SHUTTING_DOWN);
        return;
    }
    if (!n->has_lease_id)
        return;
    AcquireSRWLockExclusive(&s->state_lock);
    l = lease_find(s, n->lease_id);
    if (l && l->state != EDGE_LEASE_STATE_ENDED) {
        lease_addref(l);
        if (n->kind == EDGE_NOTICE_REVOKED || n->kind == EDGE_NOTICE_EXPIRED) {
            lease_mark_ended(l);
            event = n->kind == EDGE_NOTICE_REVOKED ? EDGE_EVENT_LEASE_REVOKED
                                                   : EDGE_EVENT_LEASE_EXPIRED;
        } else if (n->kind == EDGE_NOTICE_ENDING) {
            if (l->renew_at != 0)
                l->renew_at = GetTickCount64(); /* renew now rather than at the planned time */
            event = EDGE_EVENT_LEASE_ENDING;
        }
    } else {
        l = NULL;
    }
    ReleaseSRWLockExclusive(&s->state_lock);
    if (l) {
        if (event)
            queue_for_lease(s, event, l, EDGE_OK);
        lease_unref(l);
    }
}

static void dispatch_events(edge_session_t *s)
{
    for (;;) {
        struct client_event *e;
        AcquireSRWLockExclusive(&s->state_lock);
        e = s->events;
        if (e) {
            s->events = e->next;
            if (!s->events)
                s->events_tail = NULL;
        }
        ReleaseSRWLockExclusive(&s->state_lock);
        if (!e)
            return;
        if (!session_is_closed(s))
            s->on_event(s->event_context, e->event, e->lease, e->result);
        if (e->lease)
            lease_unref(e->lease);
        free(e);
    }
}

enum work { WORK_NONE, WORK_REVALIDATE, WORK_RENEW, WORK_REREQUEST };

/* Picks one lease that needs work now (with a reference), or reports when the next is due. */
static edge_lease_t *pick(edge_session_t *s, ULONGLONG now, enum work *what, ULONGLONG *next_due)
{
    edge_lease_t *l, *found = NULL;

    *what = WORK_NONE;
    AcquireSRWLockExclusive(&s->state_lock);
    for (l = s->leases; l && !found; l = l->next) {
        if (l->state != EDGE_LEASE_STATE_ENDED && l->epoch_gen != s->epoch_gen) {
            l->epoch_gen = s->epoch_gen;
            *what = WORK_REVALIDATE;
            found = l;
        } else if (l->renew_at && l->state != EDGE_LEASE_STATE_ENDED) {
            if (l->renew_at <= now) {
                *what = WORK_RENEW;
                found = l;
            } else if (l->renew_at < *next_due) {
                *next_due = l->renew_at;
            }
        } else if (l->rerequest_at && l->state == EDGE_LEASE_STATE_ENDED) {
            if (l->rerequest_at <= now) {
                *what = WORK_REREQUEST;
                found = l;
            } else if (l->rerequest_at < *next_due) {
                *next_due = l->rerequest_at;
            }
        }
    }
    if (found)
        lease_addref(found);
    ReleaseSRWLockExclusive(&s->state_lock);
    return found;
}

/* Returns false when the service could not be asked: the pass ends and resumes after a wait. */
static bool do_revalidate(edge_session_t *s, edge_lease_t *l)
{
    edge_result r = lease_show_now(l, transport_deadline(s->timeout_ms));
    if (r == EDGE_E_NOT_FOUND) {
        queue_for_lease(s, EDGE_EVENT_LEASE_LOST, l, r);
    } else if (r != EDGE_OK && edge_result_is_transient(r)) {
        /* Could not ask: try again at the next pass. */
        AcquireSRWLockExclusive(&s->state_lock);
        l->epoch_gen = s->epoch_gen - 1;
        ReleaseSRWLockExclusive(&s->state_lock);
        return false;
    } else if (r == EDGE_OK) {
        AcquireSRWLockShared(&s->state_lock);
        r = l->state == EDGE_LEASE_STATE_ENDED ? EDGE_E_NOT_FOUND : EDGE_OK;
        ReleaseSRWLockShared(&s->state_lock);
        if (r != EDGE_OK)
            queue_for_lease(s, EDGE_EVENT_LEASE_LOST, l, r);
    }
    return true;
}

static void do_renew(edge_session_t *s, edge_lease_t *l)
{
    edge_result r = lease_renew_now(l, 0, transport_deadline(s->timeout_ms));
    uint64_t now_s;
    bool expired = false;

    if (r == EDGE_E_NOT_FOUND)
        return; /* reported as LEASE_LOST by lease_renew_now */
    queue_for_lease(s, EDGE_EVENT_LEASE_RENEWED, l, r);
    if (EDGE_SUCCEEDED(r))
        return;
    now_s = (uint64_t)time(NULL);
    AcquireSRWLockExclusive(&s->state_lock);
    if (!edge_result_is_transient(r)) {
        l->renew_at = 0; /* a permanent refusal will not change by asking again */
    } else if (l->expires <= now_s) {
        lease_mark_ended(l);
        expired = true;
    } else {
        uint64_t left_ms = (l->expires - now_s) * 1000u / 4u;
        if (left_ms > RENEW_RETRY_MAX_MS)
            left_ms = RENEW_RETRY_MAX_MS;
        if (left_ms < RENEW_RETRY_MIN_MS)
            left_ms = RENEW_RETRY_MIN_MS;
        l->renew_at = GetTickCount64() + left_ms;
    }
    ReleaseSRWLockExclusive(&s->state_lock);
    if (expired)
        queue_for_lease(s, EDGE_EVENT_LEASE_EXPIRED, l, r);
}

static void do_rerequest(edge_session_t *s, edge_lease_t *l)
{
    uint32_t retry = 0;
    edge_result r = lease_request_once(l, transport_deadline(s->timeout_ms), &retry);
    bool final = EDGE_SUCCEEDED(r) || !edge_result_is_transient(r);

    AcquireSRWLockExclusive(&s->state_lock);
    if (final && !EDGE_SUCCEEDED(r)) {
        l->rerequest_at = 0;
    } else if (!final) {
        l->rerequest_at = GetTickCount64() + lease_retry_wait_s(retry) * 1000u;
    }
    l->epoch_gen = s->epoch_gen;
    ReleaseSRWLockExclusive(&s->state_lock);
    if (final)
        queue_for_lease(s, EDGE_EVENT_LEASE_REREQUESTED, l, r);
}

static bool has_watch(edge_session_t *s)
{
    bool any;
    AcquireSRWLockShared(&s->state_lock);
    any = s->leases != NULL || s->on_event != NULL;
    ReleaseSRWLockShared(&s->state_lock);
    return any;
}

DWORD WINAPI monitor_thread(void *arg)
{
    edge_session_t *s = arg;
    HANDLE waits[2];
    ULONGLONG next_poll = GetTickCount64() + CLIENT_POLL_MS;

    waits[0] = s->close_ev;
    waits[1] = s->wake_ev;
    for (;;) {
        ULONGLONG now = GetTickCount64(), next_due = now + 3600000u;
        enum work what;
        edge_lease_t *l;
        DWORD wait;

        dispatch_events(s);
        if (has_watch(s) && now >= next_poll) {
            session_poll(s);
            /* Idle connections are checked every second; reconnect attempts back off. */
            next_poll = GetTickCount64() +
                        (s->pipe == INVALID_HANDLE_VALUE ? CLIENT_RECONNECT_MS : CLIENT_POLL_MS);
            dispatch_events(s);
        }
        while (!session_is_closed(s) && (l = pick(s, GetTickCount64(), &what, &next_due)) != NULL) {
            bool more = true;
            if (what == WORK_REVALIDATE)
                more = do_revalidate(s, l);
            else if (what == WORK_RENEW)
                do_renew(s, l);
            else
                do_rerequest(s, l);
            lease_unref(l);
            dispatch_events(s);
            if (!more)
                break;
        }
        if (has_watch(s) && next_poll < next_due)
            next_due = next_poll;
        now = GetTickCount64();
        wait = next_due > now ? (DWORD)(next_due - now) : 0;
        if (WaitForMultipleObjects(2, waits, FALSE, wait) == WAIT_OBJECT_0)
            break;
    }
    return 0;
}
