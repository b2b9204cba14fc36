/*
 * Sessions: the verified connection, hello and epoch tracking, and the one round-trip primitive
 * every verb uses.  A broken connection is re-opened by the next call; a new epoch on reconnect
 * means the service restarted, which the monitor thread (renew.c) follows up.
 */
#include "client.h"

#include <stdlib.h>
#include <string.h>

#include "edge/utf8.h"

void edge_session_options_init(edge_session_options *options)
{
    if (!options)
        return;
    memset(options, 0, sizeof(*options));
    options->size = sizeof(*options);
}

void session_addref(edge_session_t *s)
{
    InterlockedIncrement(&s->refs);
}

static void session_destroy(edge_session_t *s)
{
    struct client_event *e = s->events;
    while (e) {
        struct client_event *next = e->next;
        if (e->lease)
            lease_unref(e->lease);
        free(e);
        e = next;
    }
    if (s->pipe != INVALID_HANDLE_VALUE)
        CloseHandle(s->pipe);
    if (s->monitor)
        CloseHandle(s->monitor);
    if (s->async_idle_ev)
        CloseHandle(s->async_idle_ev);
    if (s->wake_ev)
        CloseHandle(s->wake_ev);
    if (s->close_ev)
        CloseHandle(s->close_ev);
    if (s->io_mutex)
        CloseHandle(s->io_mutex);
    free(s->rx);
    free(s->pipe_name);
    free(s->client_name);
    free(s);
}

void session_release(edge_session_t *s)
{
    if (s && InterlockedDecrement(&s->refs) == 0)
        session_destroy(s);
}

bool session_is_closed(const edge_session_t *s)
{
    return s->closed != 0;
}

bool session_timeout(const edge_session_t *s, uint32_t timeout_ms, uint32_t *out)
{
    if (timeout_ms == INFINITE)
        return false;
    *out = timeout_ms ? timeout_ms : s->timeout_ms;
    return true;
}

edge_result session_sleep(edge_session_t *s, DWORD ms)
{
    return WaitForSingleObject(s->close_ev, ms) == WAIT_OBJECT_0 ? EDGE_CLIENT_E_CLOSED : EDGE_OK;
}

void session_queue_event(edge_session_t *s, uint32_t event, edge_lease_t *lease, edge_result result)
{
    struct client_event *e;
    if (!s->on_event)
        return;
    e = calloc(1, sizeof(*e));
    if (!e)
        return; /* an event lost to memory exhaustion; the lease state is still updated */
    e->event = event;
    e->lease = lease;
    e->result = result;
    if (lease)
        lease_addref(lease);
    AcquireSRWLockExclusive(&s->state_lock);
    if (s->events_tail)
        s->events_tail->next = e;
    else
        s->events = e;
    s->events_tail = e;
    ReleaseSRWLockExclusive(&s->state_lock);
    SetEvent(s->wake_ev);
}

edge_result session_status_result(uint32_t status)
{
    if (status > (uint32_t)(EDGE_CLIENT_E_BASE - 1))
        return EDGE_CLIENT_E_PROTOCOL; /* a future status far outside the known range */
    return (edge_result)status;
}

static void drop_connection(edge_session_t *s)
{
    if (s->pipe != INVALID_HANDLE_VALUE) {
        CloseHandle(s->pipe);
        s->pipe = INVALID_HANDLE_VALUE;
    }
}

static uint32_t next_id(edge_session_t *s)
{
    if (++s->next_request_id == 0)
        s->next_request_id = 1; /* 0 is what notices carry */
    return s->next_request_id;
}

/* Writes req and reads until its reply; io_mutex held, connection open.  rep views s->rx. */
static edge_result exchange(edge_session_t *s, const uint8_t *frame, size_t len, uint16_t type,
                            uint32_t id, ULONGLONG deadline, edge_msg *rep, size_t *rep_len)
{
    edge_result r = transport_write(s->pipe, frame, len, deadline, s->close_ev);
    if (r != EDGE_OK)
        return r;
    for (;;) {
        size_t got = 0;
        edge_proto_err pe;
        r = transport_read(s->pipe, s->rx, EDGE_FRAME_MAX, &got, deadline, s->close_ev);
        if (r != EDGE_OK)
            return r;
        pe = edge_msg_decode(s->rx, got, EDGE_DIR_REPLY, rep);
        if (pe != EDGE_PROTO_OK)
            return client_from_proto(pe) == EDGE_CLIENT_E_NO_MEMORY ? EDGE_CLIENT_E_NO_MEMORY
                                                                    : EDGE_CLIENT_E_PROTOCOL;
        if (rep->type == EDGE_MSG_NOTICE) {
            monitor_on_notice(s, rep);
            continue;
        }
        /* One request is outstanding at a time, so anything else is a confused server. */
        if (rep->request_id != id || rep->type != type)
            return EDGE_CLIENT_E_PROTOCOL;
        *rep_len = got;
        return EDGE_OK;
    }
}

/* Records the epoch of a good reply; a change means the service restarted. */
static void note_epoch(edge_session_t *s, const uint8_t epoch[EDGE_ID_SIZE])
{
    bool restarted = false;
    AcquireSRWLockExclusive(&s->state_lock);
    if (s->have_epoch && memcmp(s->epoch, epoch, EDGE_ID_SIZE) != 0) {
        restarted = true;
        s->epoch_gen++;
    }
    memcpy(s->epoch, epoch, EDGE_ID_SIZE);
    s->have_epoch = true;
    ReleaseSRWLockExclusive(&s->state_lock);
    if (restarted)
        session_queue_event(s, EDGE_EVENT_SERVICE_RESTARTED, NULL, EDGE_OK);
    SetEvent(s->wake_ev);
}

static void note_reply(edge_session_t *s, const edge_msg *rep)
{
    size_t n;
    if (rep->env.status == EDGE_OK)
        return;
    AcquireSRWLockExclusive(&s->state_lock);
    n = rep->env.detail.ptr ? rep->env.detail.len : 0;
    if (n > EDGE_MAX_TEXT)
        n = EDGE_MAX_TEXT;
    if (n)
        memcpy(s->last_detail, rep->env.detail.ptr, n);
    s->last_detail[n] = '\0';
    s->last_win32 = rep->env.has_win32_error ? rep->env.win32_error : 0;
    s->last_retry = rep->env.has_retry_after ? rep->env.retry_after : 0;
    ReleaseSRWLockExclusive(&s->state_lock);
}

/* Opens, verifies and says hello; io_mutex held. */
static edge_result connect_locked(edge_session_t *s, ULONGLONG deadline)
{
    edge_msg req, rep;
    uint8_t frame[EDGE_MAX_NAME + 128];
    size_t len = 0, rep_len = 0;
    uint32_t id;
    edge_result r;

    r = transport_open(s->pipe_name, !(s->flags & EDGE_SESSION_F_TRUST_ANY_SERVER_FOR_TESTING),
                       deadline, s->close_ev, &s->pipe);
    if (r != EDGE_OK)
        return r;
    memset(&req, 0, sizeof(req));
    req.type = EDGE_MSG_HELLO;
    req.request_id = id = next_id(s);
    req.u.hello_req.version_min = EDGE_PROTO_VERSION;
    req.u.hello_req.version_max = EDGE_PROTO_VERSION;
    req.u.hello_req.capabilities = EDGE_CAP_NOTICES;
    req.u.hello_req.client_name = edge_str_from_cstr(s->client_name);
    if (edge_msg_encode(&req, frame, sizeof(frame), &len) != EDGE_PROTO_OK) {
        r = EDGE_CLIENT_E_INVALID_ARG;
        goto out;
    }
    r = exchange(s, frame, len, EDGE_MSG_HELLO, id, deadline, &rep, &rep_len);
    if (r != EDGE_OK)
        goto out;
    note_reply(s, &rep);
    if (rep.env.status != EDGE_OK) {
        r = session_status_result(rep.env.status);
        goto out;
    }
    if (rep.u.hello_rep.version != EDGE_PROTO_VERSION) {
        r = EDGE_CLIENT_E_PROTOCOL;
        goto out;
    }
    AcquireSRWLockExclusive(&s->state_lock);
    s->proto_version = rep.u.hello_rep.version;
    s->capabilities = rep.u.hello_rep.capabilities;
    memcpy(s->server_version, rep.u.hello_rep.server_version.ptr,
           rep.u.hello_rep.server_version.len);
    s->server_version[rep.u.hello_rep.server_version.len] = '\0';
    ReleaseSRWLockExclusive(&s->state_lock);
    s->loss_reported = false;
    note_epoch(s, rep.env.epoch);
out:
    if (r != EDGE_OK)
        drop_connection(s);
    return r;
}

static edge_result lock_io(edge_session_t *s, ULONGLONG deadline)
{
    HANDLE waits[2];
    DWORD w;
    waits[0] = s->close_ev;
    waits[1] = s->io_mutex;
    if (session_is_closed(s))
        return EDGE_CLIENT_E_CLOSED;
    w = WaitForMultipleObjects(2, waits, FALSE, transport_remaining(deadline));
    if (w == WAIT_OBJECT_0 + 1 || w == WAIT_ABANDONED_0 + 1)
        return EDGE_OK;
    if (w == WAIT_OBJECT_0)
        return EDGE_CLIENT_E_CLOSED;
    return EDGE_CLIENT_E_TIMEOUT;
}

/* Round trip of an encoded frame whose request id bytes (12..15) are patched here. */
static edge_result call_frame(edge_session_t *s, uint8_t *frame, size_t len, ULONGLONG deadline,
                              edge_msg *rep, uint8_t **out, size_t *out_len)
{
    uint16_t type = (uint16_t)(frame[6] | frame[7] << 8);
    bool fresh = false;
    size_t rep_len = 0;
    uint8_t *copy = NULL;
    edge_proto_err pe;
    edge_result r;
    int attempt;

    *out = NULL;
    r = lock_io(s, deadline);
    if (r != EDGE_OK)
        return r;
    for (attempt = 0; attempt < 2; attempt++) {
        uint32_t id;
        if (s->pipe == INVALID_HANDLE_VALUE) {
            r = connect_locked(s, deadline);
            if (r != EDGE_OK)
                goto out;
            fresh = true;
        }
        id = next_id(s);
        edge_put_le32(frame + 12, id);
        r = exchange(s, frame, len, type, id, deadline, rep, &rep_len);
        if (r == EDGE_OK)
            break;
        drop_connection(s);
        /* A connection that broke while idle (service restarted) fails at the first write; the
         * request never reached a live service, so one retry on a fresh connection is safe. */
        if (r != EDGE_CLIENT_E_DISCONNECTED || fresh)
            goto out;
    }
    copy = malloc(rep_len);
    if (!copy) {
        r = EDGE_CLIENT_E_NO_MEMORY;
        goto out;
    }
    memcpy(copy, s->rx, rep_len);
    pe = edge_msg_decode(copy, rep_len, EDGE_DIR_REPLY, rep); /* re-point the views at the copy */
    if (pe != EDGE_PROTO_OK) {
        r = EDGE_CLIENT_E_PROTOCOL;
        goto out;
    }
    note_reply(s, rep);
    note_epoch(s, rep->env.epoch);
    *out = copy;
    *out_len = rep_len;
    copy = NULL;
out:
    free(copy);
    ReleaseMutex(s->io_mutex);
    return r;
}

edge_result session_call(edge_session_t *s, edge_msg *req, ULONGLONG deadline, edge_msg *rep,
                         uint8_t **frame)
{
    uint8_t *buf = NULL;
    size_t len = 0, rep_len = 0;
    edge_proto_err pe;
    edge_result r;

    *frame = NULL;
    req->flags = 0;
    req->request_id = 0;
    pe = edge_msg_encode_alloc(req, &buf, &len);
    if (pe != EDGE_PROTO_OK)
        return pe == EDGE_PROTO_E_NO_MEMORY ? EDGE_CLIENT_E_NO_MEMORY : EDGE_CLIENT_E_INVALID_ARG;
    r = call_frame(s, buf, len, deadline, rep, frame, &rep_len);
    edge_proto_free(buf);
    return r;
}

edge_result session_poll(edge_session_t *s)
{
    ULONGLONG deadline = transport_deadline(s->timeout_ms);
    edge_result r = lock_io(s, transport_deadline(0));
    bool lost = false;

    if (r != EDGE_OK)
        return r == EDGE_CLIENT_E_TIMEOUT ? EDGE_OK : r; /* busy: a call is running anyway */
    if (s->pipe != INVALID_HANDLE_VALUE) {
        DWORD avail = 0;
        r = transport_peek(s->pipe, &avail);
        while (r == EDGE_OK && avail > 0) {
            size_t got = 0;
            edge_msg m;
            r = transport_read(s->pipe, s->rx, EDGE_FRAME_MAX, &got, deadline, s->close_ev);
            if (r != EDGE_OK)
                break;
            if (edge_msg_decode(s->rx, got, EDGE_DIR_REPLY, &m) != EDGE_PROTO_OK ||
                m.type != EDGE_MSG_NOTICE) {
                r = EDGE_CLIENT_E_PROTOCOL; /* nothing else may arrive while idle */
                break;
            }
            monitor_on_notice(s, &m);
            r = transport_peek(s->pipe, &avail);
        }
        if (r != EDGE_OK) {
            drop_connection(s);
            lost = true;
        }
    }
    if (s->pipe == INVALID_HANDLE_VALUE) {
        /* Reconnect at once: that is how a restart (new epoch) is noticed while idle. */
        r = connect_locked(s, deadline);
        if (r != EDGE_OK && r != EDGE_CLIENT_E_CLOSED && (lost || !s->loss_reported)) {
            s->loss_reported = true;
            session_queue_event(s, EDGE_EVENT_CONNECTION_LOST, NULL, r);
        }
    }
    ReleaseMutex(s->io_mutex);
    return r;
}

edge_result edge_session_open(const edge_session_options *options, edge_session_t **out)
{
    edge_session_options defaults;
    edge_session_t *s = NULL;
    edge_result r;

    if (out)
        *out = NULL;
    if (!options) {
        edge_session_options_init(&defaults);
        options = &defaults;
    }
    if (!out || options->size != sizeof(*options) ||
        (options->flags & ~EDGE_SESSION_F_TRUST_ANY_SERVER_FOR_TESTING) ||
        options->timeout_ms == INFINITE ||
        (options->client_name && strlen(options->client_name) > EDGE_MAX_CLIENT_NAME_BYTES))
        return EDGE_CLIENT_E_INVALID_ARG;
    s = calloc(1, sizeof(*s));
    if (!s)
        return EDGE_CLIENT_E_NO_MEMORY;
    s->refs = 1;
    s->pipe = INVALID_HANDLE_VALUE;
    InitializeSRWLock(&s->state_lock);
    s->flags = options->flags;
    s->timeout_ms = options->timeout_ms ? options->timeout_ms : EDGE_DEFAULT_TIMEOUT_MS;
    s->on_event = options->on_event;
    s->event_context = options->event_context;
    s->pipe_name =
        client_utf8_to_wide(options->pipe_name ? options->pipe_name : EDGE_DEFAULT_PIPE_NAME);
    if (!s->pipe_name) {
        r = EDGE_CLIENT_E_INVALID_ARG; /* not UTF-8 (or out of memory) */
        goto out;
    }
    if (options->client_name) {
        size_t n = strlen(options->client_name);
        if (edge_utf8_check((const uint8_t *)options->client_name, n) != EDGE_UTF8_OK) {
            r = EDGE_CLIENT_E_INVALID_ARG;
            goto out;
        }
        s->client_name = malloc(n + 1);
        if (!s->client_name) {
            r = EDGE_CLIENT_E_NO_MEMORY;
            goto out;
        }
        memcpy(s->client_name, options->client_name, n + 1);
    }
    s->rx = malloc(EDGE_FRAME_MAX);
    s->io_mutex = CreateMutexW(NULL, FALSE, NULL);
    s->close_ev = CreateEventW(NULL, TRUE, FALSE, NULL);
    s->wake_ev = CreateEventW(NULL, FALSE, FALSE, NULL);
    s->async_idle_ev = CreateEventW(NULL, TRUE, TRUE, NULL);
    if (!s->rx) {
        r = EDGE_CLIENT_E_NO_MEMORY;
        goto out;
    }
    if (!s->io_mutex || !s->close_ev || !s->wake_ev || !s->async_idle_ev) {
        r = EDGE_CLIENT_E_SYSTEM;
        goto out;
    }
    r = lock_io(s, transport_deadline(s->timeout_ms));
    if (r != EDGE_OK)
        goto out;
    r = connect_locked(s, transport_deadline(s->timeout_ms));
    ReleaseMutex(s->io_mutex);
    if (r != EDGE_OK)
        goto out;
    s->monitor = CreateThread(NULL, 0, monitor_thread, s, 0, &s->monitor_tid);
    if (!s->monitor) {
        r = EDGE_CLIENT_E_SYSTEM;
        goto out;
    }
    *out = s;
    s = NULL;
out:
    if (s) {
        DWORD err = GetLastError();
        session_destroy(s);
        SetLastError(err);
    }
    return r;
}

void edge_session_close(edge_session_t *s)
{
    if (!s || InterlockedExchange(&s->closed, 1) != 0)
        return;
    SetEvent(s->close_ev);
    /* An async request that saw closed == 0 counted itself under this lock: after this pair,
     * async_idle_ev reflects every request that will ever run. */
    AcquireSRWLockExclusive(&s->state_lock);
    ReleaseSRWLockExclusive(&s->state_lock);
    /* From the monitor's own callback the thread cannot be joined; it exits on return. */
    if (GetCurrentThreadId() != s->monitor_tid)
        WaitForSingleObject(s->monitor, INFINITE);
    WaitForSingleObject(s->async_idle_ev, INFINITE);
    WaitForSingleObject(s->io_mutex, INFINITE); /* every waiter saw close_ev and left */
    drop_connection(s);
    ReleaseMutex(s->io_mutex);
    session_release(s);
}

edge_result edge_session_ping(edge_session_t *s, uint32_t timeout_ms)
{
    edge_msg req, rep;
    uint8_t *frame = NULL;
    uint32_t t;
    edge_result r;

    if (!s || !session_timeout(s, timeout_ms, &t))
        return EDGE_CLIENT_E_INVALID_ARG;
    memset(&req, 0, sizeof(req));
    req.type = EDGE_MSG_PING;
    r = session_call(s, &req, transport_deadline(t), &rep, &frame);
    if (r == EDGE_OK)
        r = session_status_result(rep.env.status);
    free(frame);
    return r;
}

edge_result edge_session_server_info(edge_session_t *s, char *version, size_t version_cap,
                                     char *epoch, size_t epoch_cap, uint32_t *protocol_version,
                                     uint32_t *capabilities)
{
    edge_result r = EDGE_OK, r2 = EDGE_OK;
    char hex[2 * EDGE_ID_SIZE + 1];

    if (protocol_version)
        *protocol_version = 0;
    if (capabilities)
        *capabilities = 0;
    if (!s || (version && version_cap == 0) || (epoch && epoch_cap == 0))
        return EDGE_CLIENT_E_INVALID_ARG;
    AcquireSRWLockShared(&s->state_lock);
    if (version)
        r = client_copy_str(version, version_cap, s->server_version);
    client_hex(s->epoch, EDGE_ID_SIZE, hex);
    if (epoch)
        r2 = client_copy_str(epoch, epoch_cap, hex);
    if (protocol_version)
        *protocol_version = s->proto_version;
    if (capabilities)
        *capabilities = s->capabilities;
    ReleaseSRWLockShared(&s->state_lock);
    return r != EDGE_OK ? r : r2;
}

edge_result edge_session_last_detail(edge_session_t *s, char *detail, size_t detail_cap,
                                     uint32_t *win32_error, uint32_t *retry_after_s)
{
    edge_result r = EDGE_OK;
    if (win32_error)
        *win32_error = 0;
    if (retry_after_s)
        *retry_after_s = 0;
    if (!s || (detail && detail_cap == 0))
        return EDGE_CLIENT_E_INVALID_ARG;
    AcquireSRWLockShared(&s->state_lock);
    if (detail)
        r = client_copy_str(detail, detail_cap, s->last_detail);
    if (win32_error)
        *win32_error = s->last_win32;
    if (retry_after_s)
        *retry_after_s = s->last_retry;
    ReleaseSRWLockShared(&s->state_lock);
    return r;
}

edge_result edge_session_transact(edge_session_t *s, const void *request, size_t request_len,
                                  uint32_t timeout_ms, void **reply, size_t *reply_len)
{
    edge_msg check, rep;
    uint8_t *frame = NULL, *out = NULL;
    size_t out_len = 0;
    uint32_t t;
    edge_result r;

    if (reply)
        *reply = NULL;
    if (reply_len)
        *reply_len = 0;
    if (!s || !request || !reply || !reply_len || request_len < EDGE_FRAME_HEADER_SIZE ||
        request_len > EDGE_FRAME_MAX || !session_timeout(s, timeout_ms, &t))
        return EDGE_CLIENT_E_INVALID_ARG;
    /* Refuse anything the service would reject as malformed, and HELLO (the session owns it). */
    if (edge_msg_decode(request, request_len, EDGE_DIR_REQUEST, &check) != EDGE_PROTO_OK ||
        check.type == EDGE_MSG_HELLO)
        return EDGE_CLIENT_E_INVALID_ARG;
    frame = malloc(request_len);
    if (!frame)
        return EDGE_CLIENT_E_NO_MEMORY;
    memcpy(frame, request, request_len);
    r = call_frame(s, frame, request_len, transport_deadline(t), &rep, &out, &out_len);
    free(frame);
    if (r != EDGE_OK)
        return r;
    *reply = out;
    *reply_len = out_len;
    return EDGE_OK;
}

void edge_free(void *p)
{
    free(p);
}
