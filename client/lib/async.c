/*
 * edge_lease_request_async: the blocking request on a library thread.  The session counts running
 * requests so that edge_session_close can wait until every callback has run.
 */
#include "client.h"

#include <stdlib.h>
#include <string.h>

struct async_request {
    edge_session_t *session; /* holds a reference */
    edge_lease_params params;
    void *signed_request; /* the copy params.signed_request points to */
    char *target_app;     /* the copy params.target_app points to */
    uint32_t timeout_ms;
    edge_lease_done_fn done;
    void *context;
};

static void async_free(struct async_request *a)
{
    free(a->signed_request);
    free(a->target_app);
    free(a);
}

static void async_finished(edge_session_t *s)
{
    AcquireSRWLockExclusive(&s->state_lock);
    if (--s->async_running == 0)
        SetEvent(s->async_idle_ev);
    ReleaseSRWLockExclusive(&s->state_lock);
}

static DWORD WINAPI async_thread(void *arg)
{
    struct async_request *a = arg;
    edge_session_t *s = a->session;
    edge_lease_t *lease = NULL;
    edge_result r = edge_lease_request(s, &a->params, a->timeout_ms, &lease);

    a->done(a->context, r, lease);
    async_free(a);
    async_finished(s);
    session_release(s);
    return 0;
}

edge_result edge_lease_request_async(edge_session_t *s, const edge_lease_params *params,
                                     uint32_t timeout_ms, edge_lease_done_fn done, void *context)
{
    struct async_request *a = NULL;
    uint32_t t;
    HANDLE th;
    edge_result r;

    if (!s || !params || !done || params->size != sizeof(*params) ||
        !session_timeout(s, timeout_ms, &t))
        return EDGE_CLIENT_E_INVALID_ARG;
    a = calloc(1, sizeof(*a));
    if (!a)
        return EDGE_CLIENT_E_NO_MEMORY;
    a->params = *params;
    a->timeout_ms = t;
    a->done = done;
    a->context = context;
    /* The caller's buffers need not outlive this call: copy what the params point to. */
    if (params->signed_request && params->signed_request_len > 0 &&
        params->signed_request_len <= EDGE_MAX_SIGNED_REQUEST_BYTES) {
        a->signed_request = malloc(params->signed_request_len);
        if (!a->signed_request) {
            r = EDGE_CLIENT_E_NO_MEMORY;
            goto out;
        }
        memcpy(a->signed_request, params->signed_request, params->signed_request_len);
        a->params.signed_request = a->signed_request;
    }
    if (params->target_app) {
        size_t n = strlen(params->target_app);
        a->target_app = malloc(n + 1);
        if (!a->target_app) {
            r = EDGE_CLIENT_E_NO_MEMORY;
            goto out;
        }
        memcpy(a->target_app, params->target_app, n + 1);
        a->params.target_app = a->target_app;
    }
    AcquireSRWLockExclusive(&s->state_lock);
    if (session_is_closed(s)) {
        ReleaseSRWLockExclusive(&s->state_lock);
        r = EDGE_CLIENT_E_CLOSED;
        goto out;
    }
    /* Counted under the lock that close's check-then-wait also relies on: no callback escapes. */
    if (s->async_running++ == 0)
        ResetEvent(s->async_idle_ev);
    ReleaseSRWLockExclusive(&s->state_lock);
    session_addref(s);
    a->session = s;
    th = CreateThread(NULL, 0, async_thread, a, 0, NULL);
    if (!th) {
        DWORD err = GetLastError();
        a->session = NULL;
        session_release(s);
        async_finished(s);
        SetLastError(err);
        r = EDGE_CLIENT_E_SYSTEM;
        goto out;
    }
    CloseHandle(th);
    return EDGE_OK;
out:
    async_free(a);
    return r;
}
