/*
 * Minimal protocol client for the integration tests and the benchmark (see itest.h).
 */
#include "itest.h"

#include <stdlib.h>
#include <string.h>

itc *itc_new(void)
{
    itc *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->h = INVALID_HANDLE_VALUE;
    c->ev = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!c->ev) {
        free(c);
        return NULL;
    }
    c->next_id = 1;
    return c;
}

void itc_free(itc *c)
{
    if (!c)
        return;
    itc_close(c);
    CloseHandle(c->ev);
    free(c);
}

DWORD itc_open(itc *c, const wchar_t *pipe, DWORD timeout_ms)
{
    ULONGLONG end = GetTickCount64() + timeout_ms;
    DWORD mode = PIPE_READMODE_MESSAGE, err;
    HANDLE h;

    itc_close(c);
    if (!pipe)
        pipe = ITEST_PIPE;
    for (;;) {
        h = CreateFileW(pipe, GENERIC_READ | FILE_WRITE_DATA | FILE_WRITE_ATTRIBUTES, 0, NULL, OPEN_EXISTING,
                        FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION,
                        NULL);
        if (h != INVALID_HANDLE_VALUE)
            break;
        err = GetLastError();
        if ((err != ERROR_PIPE_BUSY && err != ERROR_FILE_NOT_FOUND) || GetTickCount64() >= end)
            return err;
        if (err == ERROR_PIPE_BUSY)
            WaitNamedPipeW(pipe, 100);
        else
            Sleep(20);
    }
    if (!SetNamedPipeHandleState(h, &mode, NULL, NULL)) {
        err = GetLastError();
        CloseHandle(h);
        return err;
    }
    c->h = h;
    return ERROR_SUCCESS;
}

void itc_close(itc *c)
{
    if (c->h != INVALID_HANDLE_VALUE)
        CloseHandle(c->h);
    c->h = INVALID_HANDLE_VALUE;
}

DWORD itest_pipe_io(HANDLE h, HANDLE ev, bool write, void *buf, DWORD n, DWORD *done, DWORD ms)
{
    OVERLAPPED ov;
    DWORD err = ERROR_SUCCESS, got = 0;
    BOOL ok;

    memset(&ov, 0, sizeof(ov));
    ov.hEvent = ev;
    ResetEvent(ev);
    ok = write ? WriteFile(h, buf, n, NULL, &ov) : ReadFile(h, buf, n, NULL, &ov);
    if (!ok && GetLastError() != ERROR_IO_PENDING) {
        err = GetLastError();
        goto out;
    }
    if (WaitForSingleObject(ev, ms) != WAIT_OBJECT_0) {
        CancelIoEx(h, &ov);
        GetOverlappedResult(h, &ov, &got, TRUE);
        got = 0;
        err = WAIT_TIMEOUT;
        goto out;
    }
    if (!GetOverlappedResult(h, &ov, &got, FALSE))
        err = GetLastError();
out:
    if (done)
        *done = got;
    return err;
}

DWORD itc_send_raw(itc *c, const void *p, size_t n, DWORD ms)
{
    DWORD done = 0, err;

    if (n > EDGE_FRAME_MAX * 2u)
        return ERROR_INVALID_PARAMETER;
    err = itest_pipe_io(c->h, c->ev, true, (void *)p, (DWORD)n, &done, ms);
    if (err == ERROR_SUCCESS && done != n)
        err = ERROR_WRITE_FAULT;
    return err;
}

DWORD itc_recv_raw(itc *c, DWORD *got, DWORD ms)
{
    return itest_pipe_io(c->h, c->ev, false, c->buf, sizeof(c->buf), got, ms);
}

DWORD itc_call(itc *c, edge_msg *req, edge_msg *rep, DWORD ms)
{
    ULONGLONG end = GetTickCount64() + ms;
    uint8_t *frame = NULL;
    size_t len = 0;
    DWORD err, got;

    memset(rep, 0, sizeof(*rep));
    req->request_id = c->next_id++;
    req->flags = 0;
    if (edge_msg_encode_alloc(req, &frame, &len) != EDGE_PROTO_OK)
        return ERROR_INVALID_PARAMETER;
    for (;;) {
        ULONGLONG now = GetTickCount64();
        if (now >= end) {
            err = WAIT_TIMEOUT;
            goto out;
        }
        err = itc_send_raw(c, frame, len, (DWORD)(end - now));
        if (err != ERROR_SUCCESS)
            goto out;
        for (;;) {
            now = GetTickCount64();
            err = now >= end ? WAIT_TIMEOUT : itc_recv_raw(c, &got, (DWORD)(end - now));
            if (err != ERROR_SUCCESS)
                goto out;
            if (edge_msg_decode(c->buf, got, EDGE_DIR_REPLY, rep) != EDGE_PROTO_OK) {
                err = ERROR_INVALID_DATA;
                goto out;
            }
            if (rep->type != EDGE_MSG_NOTICE)
                break;
        }
        if (rep->type != req->type || rep->request_id != req->request_id) {
            err = ERROR_INVALID_DATA;
            goto out;
        }
        memcpy(c->epoch, rep->env.epoch, EDGE_ID_SIZE);
        if (rep->env.status != EDGE_E_BUSY || c->no_busy_wait)
            break;
        /* Rate limited: wait as told (whole seconds on the wire), then send the same request. */
        c->busy_retries++;
        now = GetTickCount64();
        {
            ULONGLONG wait = rep->env.has_retry_after ? rep->env.retry_after * 1000ull : 100ull;
            if (now + wait >= end) {
                err = ERROR_SUCCESS; /* hand the BUSY reply to the caller */
                goto out;
            }
            Sleep((DWORD)wait);
        }
    }
    err = ERROR_SUCCESS;
out:
    edge_proto_free(frame);
    return err;
}

DWORD itc_hello(itc *c, uint32_t *status)
{
    edge_msg req, rep;
    DWORD err;

    memset(&req, 0, sizeof(req));
    req.type = EDGE_MSG_HELLO;
    req.u.hello_req.version_min = 1;
    req.u.hello_req.version_max = 1;
    req.u.hello_req.client_name = edge_str_from_cstr("edgebroker integration test");
    err = itc_call(c, &req, &rep, ITEST_IO_MS);
    *status = rep.env.status;
    if (err == ERROR_SUCCESS && rep.env.status == EDGE_OK && rep.u.hello_rep.version != 1)
        err = ERROR_INVALID_DATA;
    return err;
}

DWORD itc_connect(itc *c, DWORD timeout_ms)
{
    uint32_t st = 0;
    DWORD err = itc_open(c, NULL, timeout_ms);

    if (err == ERROR_SUCCESS)
        err = itc_hello(c, &st);
    if (err == ERROR_SUCCESS && st != EDGE_OK)
        err = ERROR_NOT_READY;
    if (err != ERROR_SUCCESS)
        itc_close(c);
    return err;
}

DWORD itc_ping(itc *c, const void *payload, uint32_t len, uint32_t *status)
{
    edge_msg req, rep;
    DWORD err;

    memset(&req, 0, sizeof(req));
    req.type = EDGE_MSG_PING;
    req.u.ping.payload.ptr = payload;
    req.u.ping.payload.len = payload ? len : 0;
    err = itc_call(c, &req, &rep, ITEST_IO_MS);
    *status = rep.env.status;
    if (err == ERROR_SUCCESS && rep.env.status == EDGE_OK && payload &&
        (rep.u.ping.payload.len != len || memcmp(rep.u.ping.payload.ptr, payload, len) != 0))
        err = ERROR_INVALID_DATA;
    return err;
}

static void copy_str(char *dst, size_t cap, edge_str s)
{
    size_t n = s.ptr ? s.len : 0;

    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, s.ptr, n);
    dst[n] = '\0';
}

void itest_lease_copy(itest_lease *dst, const edge_lease *src)
{
    memset(dst, 0, sizeof(*dst));
    memcpy(dst->id, src->id, EDGE_ID_SIZE);
    copy_str(dst->owner_sid, sizeof(dst->owner_sid), src->owner_sid);
    copy_str(dst->image_path, sizeof(dst->image_path), src->image_path);
    dst->protocol = src->protocol;
    dst->port_lo = src->port_lo;
    dst->port_hi = src->port_hi;
    dst->edge_option = src->edge_option;
    dst->created = src->created;
    dst->expires = src->expires;
    dst->flags = src->flags;
    dst->state = src->state;
}

edge_lease_req itest_lease_req(uint8_t protocol, uint16_t port)
{
    edge_lease_req r;

    memset(&r, 0, sizeof(r));
    r.protocol = protocol;
    r.port_lo = port;
    return r;
}

static DWORD lease_call(itc *c, edge_msg *req, uint32_t *status, itest_lease *out)
{
    edge_msg rep;
    DWORD err = itc_call(c, req, &rep, ITEST_IO_MS);

    *status = rep.env.status;
    if (err != ERROR_SUCCESS || rep.env.status != EDGE_OK || !out)
        return err;
    if (!rep.u.lease_rep.has_lease)
        return ERROR_INVALID_DATA;
    itest_lease_copy(out, &rep.u.lease_rep.lease);
    return ERROR_SUCCESS;
}

DWORD itc_request(itc *c, const edge_lease_req *r, uint32_t *status, itest_lease *out)
{
    edge_msg req;

    memset(&req, 0, sizeof(req));
    req.type = EDGE_MSG_REQUEST;
    req.u.lease_req = *r;
    return lease_call(c, &req, status, out);
}

DWORD itc_renew(itc *c, const uint8_t id[EDGE_ID_SIZE], uint32_t seconds, uint32_t *status,
                itest_lease *out)
{
    edge_msg req;

    memset(&req, 0, sizeof(req));
    req.type = EDGE_MSG_RENEW;
    memcpy(req.u.renew_req.lease_id, id, EDGE_ID_SIZE);
    req.u.renew_req.has_seconds = seconds != 0;
    req.u.renew_req.seconds = seconds;
    return lease_call(c, &req, status, out);
}

DWORD itc_release(itc *c, const uint8_t id[EDGE_ID_SIZE], uint32_t *status)
{
    edge_msg req;

    memset(&req, 0, sizeof(req));
    req.type = EDGE_MSG_RELEASE;
    memcpy(req.u.id_req.id, id, EDGE_ID_SIZE);
    return lease_call(c, &req, status, NULL);
}

DWORD itc_list(itc *c, uint32_t flags, uint32_t *status, itest_lease **out, size_t *n)
{
    itest_lease *all = NULL;
    size_t count = 0, cap = 0;
    edge_msg req, rep;
    edge_list_iter it;
    edge_lease l;
    DWORD err = ERROR_SUCCESS;
    bool more = true;
    uint32_t cursor = 0, pages = 0;

    *out = NULL;
    *n = 0;
    *status = EDGE_OK;
    while (more) {
        if (++pages > 1000) {
            err = ERROR_INVALID_DATA; /* a cursor that never ends */
            goto out;
        }
        memset(&req, 0, sizeof(req));
        req.type = EDGE_MSG_LIST;
        req.u.list_req.has_flags = flags != 0;
        req.u.list_req.flags = flags;
        req.u.list_req.has_cursor = pages > 1;
        req.u.list_req.cursor = cursor;
        err = itc_call(c, &req, &rep, ITEST_IO_MS);
        *status = rep.env.status;
        if (err != ERROR_SUCCESS || rep.env.status != EDGE_OK)
            goto out;
        edge_list_iter_init(&it, &rep.u.list_rep.items);
        while (edge_list_next_lease(&it, &l)) {
            if (count == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                itest_lease *p = realloc(all, ncap * sizeof(*p));
                if (!p) {
                    err = ERROR_NOT_ENOUGH_MEMORY;
                    goto out;
                }
                all = p;
                cap = ncap;
            }
            itest_lease_copy(&all[count++], &l);
        }
        more = rep.u.list_rep.has_next_cursor;
        cursor = rep.u.list_rep.next_cursor;
    }
    *out = all;
    *n = count;
    all = NULL;
out:
    free(all);
    return err;
}
