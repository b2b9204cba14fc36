/*
 * Expiry and client exit: one threadpool timer armed for the earliest expiry, and one threadpool
 * wait per client process that holds leases which end with it.
 */
#include "leases_internal.h"
#include "caller.h"

#include <stdlib.h>
#include <string.h>

#define LM_EXPIRY_BATCH 32u
/* Slack after an expiry second so the callback never runs just before the lease has expired. */
#define LM_EXPIRY_SLACK_MS 20u
/* Retry delay when an expiry could not be processed (no memory): never spin. */
#define LM_EXPIRY_RETRY_MS 1000u

static void set_timer_ms(PTP_TIMER timer, uint64_t delay_ms)
{
    ULARGE_INTEGER due;
    FILETIME ft;

    /* Negative = relative, in 100 ns units; -1 rather than 0, which would be absolute. */
    due.QuadPart = (ULONGLONG)(-(LONGLONG)(delay_ms ? delay_ms * 10000u : 1u));
    ft.dwLowDateTime = due.LowPart;
    ft.dwHighDateTime = due.HighPart;
    SetThreadpoolTimer(timer, &ft, 0, 0);
}

void lm_expiry_rearm(struct leases *m)
{
    size_t count = 0;
    uint64_t next = UINT64_MAX, now_ms;

    if (m->stopping || !m->expiry_timer)
        return;
    now_ms = lm_now_ms();
    (void)edge_lease_table_collect_expired(m->table, now_ms / 1000u, NULL, 0, &count, &next);
    if (next == UINT64_MAX) {
        SetThreadpoolTimer(m->expiry_timer, NULL, 0, 0);
        return;
    }
    if (next > UINT64_MAX / 1000u)
        next = UINT64_MAX / 1000u;
    set_timer_ms(m->expiry_timer,
                 next * 1000u > now_ms ? next * 1000u - now_ms + LM_EXPIRY_SLACK_MS : 0);
}

static VOID CALLBACK expiry_cb(PTP_CALLBACK_INSTANCE inst, PVOID ctx, PTP_TIMER timer)
{
    struct leases *m = ctx;
    uint8_t ids[LM_EXPIRY_BATCH][EDGE_LEASE_ID_LEN];
    size_t count, i;
    uint64_t next;
    bool progress = true;

    (void)inst;
    (void)timer;
    while (progress) {
        progress = false;
        count = 0;
        AcquireSRWLockShared(&m->lock);
        if (m->stopping) {
            ReleaseSRWLockShared(&m->lock);
            return;
        }
        (void)edge_lease_table_collect_expired(m->table, lm_now(), ids, LM_EXPIRY_BATCH, &count,
                                               &next);
        ReleaseSRWLockShared(&m->lock);
        for (i = 0; i < count; i++) {
            edge_status st =
                lm_end_lease(m, ids[i], LM_END_EXPIRED, NULL, false, "lease expired", false, NULL);
            /* A firewall failure leaves the lease ENDING, which is progress: reconcile owns it. */
            if (st != EDGE_E_NO_MEMORY)
                progress = true;
        }
        if (count == 0)
            break;
    }
    AcquireSRWLockExclusive(&m->lock);
    if (!progress && count > 0) {
        if (!m->stopping)
            set_timer_ms(m->expiry_timer, LM_EXPIRY_RETRY_MS);
    } else {
        lm_expiry_rearm(m);
    }
    ReleaseSRWLockExclusive(&m->lock);
}

/* ---- client exit --------------------------------------------------------------------------- */

struct exit_ctx {
    DWORD pid;
    uint8_t (*ids)[EDGE_LEASE_ID_LEN];
    size_t count;
    size_t cap;
    bool no_memory;
};

static bool exit_visit(const edge_lease_info *l, void *arg)
{
    struct exit_ctx *c = arg;

    if (l->owner_pid != c->pid || (l->flags & EDGE_LEASE_FLAG_KEEP_AFTER_EXIT) ||
        l->state == EDGE_LEASE_ENDING)
        return true;
    if (c->count == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 8;
        uint8_t(*g)[EDGE_LEASE_ID_LEN] = realloc(c->ids, ncap * sizeof(*g));
        if (!g) {
            c->no_memory = true;
            return false;
        }
        c->ids = g;
        c->cap = ncap;
    }
    memcpy(c->ids[c->count++], l->id, EDGE_LEASE_ID_LEN);
    return true;
}

static VOID CALLBACK exit_cb(PTP_CALLBACK_INSTANCE inst, PVOID ctx, PTP_WAIT wait,
                             TP_WAIT_RESULT result)
{
    struct lease_watch *w = ctx;
    struct leases *m = w->m;
    struct exit_ctx c;
    size_t i;

    (void)inst;
    (void)wait;
    (void)result;
    memset(&c, 0, sizeof(c));
    c.pid = w->pid;
    AcquireSRWLockShared(&m->lock);
    if (m->stopping) {
        ReleaseSRWLockShared(&m->lock);
        return;
    }
    edge_lease_table_foreach(m->table, exit_visit, &c);
    ReleaseSRWLockShared(&m->lock);
    for (i = 0; i < c.count; i++)
        (void)lm_end_lease(m, c.ids[i], LM_END_CLIENT_EXITED, NULL, false, "client process exited",
                           false, NULL);
    free(c.ids);
    AcquireSRWLockExclusive(&m->lock);
    w->fired = true;
    ReleaseSRWLockExclusive(&m->lock);
}

static void watch_free(struct lease_watch *w, bool cancel)
{
    if (w->wait) {
        SetThreadpoolWait(w->wait, NULL, NULL);
        WaitForThreadpoolWaitCallbacks(w->wait, cancel ? TRUE : FALSE);
        CloseThreadpoolWait(w->wait);
    }
    if (w->process)
        CloseHandle(w->process);
    free(w);
}

/* Frees watches whose process has exited (their callback has finished its work). */
static void sweep_fired(struct leases *m)
{
    struct lease_watch *done = NULL, **pp, *w;

    AcquireSRWLockExclusive(&m->lock);
    for (pp = &m->watches; (w = *pp) != NULL;) {
        if (w->fired) {
            *pp = w->next;
            w->next = done;
            done = w;
            m->watch_count--;
        } else {
            pp = &w->next;
        }
    }
    ReleaseSRWLockExclusive(&m->lock);
    while (done) {
        w = done;
        done = w->next;
        watch_free(w, false);
    }
}

static bool watched(const struct leases *m, DWORD pid)
{
    const struct lease_watch *w;

    for (w = m->watches; w; w = w->next)
        if (w->pid == pid && !w->fired)
            return true;
    return false;
}

void lm_watch_process(struct leases *m, const struct caller_identity *caller)
{
    HANDLE process = caller_process_handle(caller);
    struct lease_watch *w;
    bool have;

    if (!process || !caller->pid)
        return;
    sweep_fired(m);
    AcquireSRWLockShared(&m->lock);
    have = m->stopping || watched(m, caller->pid);
    ReleaseSRWLockShared(&m->lock);
    if (have)
        return;
    w = calloc(1, sizeof(*w));
    if (!w)
        return; /* the lease then ends only by expiry, release or revocation */
    w->m = m;
    w->pid = caller->pid;
    /* Our own handle: the connection's closes with the connection, the lease outlives it. */
    if (!DuplicateHandle(GetCurrentProcess(), process, GetCurrentProcess(), &w->process,
                         SYNCHRONIZE, FALSE, 0) ||
        !(w->wait = CreateThreadpoolWait(exit_cb, w, NULL))) {
        watch_free(w, true);
        return;
    }
    AcquireSRWLockExclusive(&m->lock);
    if (m->stopping || watched(m, caller->pid)) {
        ReleaseSRWLockExclusive(&m->lock);
        watch_free(w, true);
        return;
    }
    w->next = m->watches;
    m->watches = w;
    m->watch_count++;
    SetThreadpoolWait(w->wait, w->process, NULL);
    ReleaseSRWLockExclusive(&m->lock);
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

edge_status lm_timers_create(struct leases *m)
{
    m->expiry_timer = CreateThreadpoolTimer(expiry_cb, m, NULL);
    return m->expiry_timer ? EDGE_OK : EDGE_E_INTERNAL;
}

void lm_timers_destroy(struct leases *m)
{
    struct lease_watch *list, *w;

    if (m->expiry_timer) {
        SetThreadpoolTimer(m->expiry_timer, NULL, 0, 0);
        WaitForThreadpoolTimerCallbacks(m->expiry_timer, TRUE);
        CloseThreadpoolTimer(m->expiry_timer);
        m->expiry_timer = NULL;
    }
    AcquireSRWLockExclusive(&m->lock);
    list = m->watches;
    m->watches = NULL;
    m->watch_count = 0;
    ReleaseSRWLockExclusive(&m->lock);
    while (list) {
        w = list;
        list = w->next;
        watch_free(w, true);
    }
}
