/* The fake EdgeBroker service of the client tests (see fake_service.h). */
#include "fake_service.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#define FAKE_OWNER_SID  "S-1-5-21-1-2-3-1001"
#define FAKE_IMAGE_PATH "C:\\fake\\app.exe"

static volatile LONG fake_counter;

void fake_lock(struct fake_service *fs)
{
    EnterCriticalSection(&fs->lock);
}

void fake_unlock(struct fake_service *fs)
{
    LeaveCriticalSection(&fs->lock);
}

static void new_epoch(struct fake_service *fs)
{
    LONG n = InterlockedIncrement(&fake_counter);
    memset(fs->epoch, 0, sizeof(fs->epoch));
    memcpy(fs->epoch, &n, sizeof(n));
    fs->epoch[8] = (uint8_t)GetCurrentProcessId();
    fs->epoch[15] = 0xE7;
}

static HANDLE create_instance(struct fake_service *fs)
{
    return CreateNamedPipeW(fs->pipe_name, PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED,
                            PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT,
                            PIPE_UNLIMITED_INSTANCES, EDGE_FRAME_MAX, EDGE_FRAME_MAX, 0, NULL);
}

static void write_frame(HANDLE pipe, const uint8_t *buf, size_t len)
{
    OVERLAPPED ov;
    DWORD n = 0;
    memset(&ov, 0, sizeof(ov));
    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!WriteFile(pipe, buf, (DWORD)len, NULL, &ov) && GetLastError() != ERROR_IO_PENDING) {
        CloseHandle(ov.hEvent);
        return;
    }
    GetOverlappedResult(pipe, &ov, &n, TRUE);
    CloseHandle(ov.hEvent);
}

static void fill_record(const struct fake_lease *fl, edge_lease *rec)
{
    memset(rec, 0, sizeof(*rec));
    memcpy(rec->id, fl->id, EDGE_ID_SIZE);
    rec->owner_sid = edge_str_from_cstr(FAKE_OWNER_SID);
    rec->image_path = edge_str_from_cstr(FAKE_IMAGE_PATH);
    rec->protocol = fl->protocol;
    rec->port_lo = fl->lo;
    rec->port_hi = fl->hi;
    rec->edge_option = EDGE_TRAVERSAL_DEFER_TO_APP;
    rec->created = fl->created;
    rec->expires = fl->expires;
    rec->flags = fl->flags;
    rec->state = fl->state;
}

static struct fake_lease *find_lease(struct fake_service *fs, const uint8_t *id)
{
    int i;
    for (i = 0; i < FAKE_MAX_LEASES; i++)
        if (fs->leases[i].used && memcmp(fs->leases[i].id, id, EDGE_ID_SIZE) == 0)
            return &fs->leases[i];
    return NULL;
}

static void on_request(struct fake_service *fs, const edge_msg *req, edge_msg *rep,
                       const uint8_t *frame, size_t len)
{
    struct fake_config *c = &fs->cfg;
    const edge_lease_req *lr = &req->u.lease_req;
    uint64_t now = (uint64_t)time(NULL);
    struct fake_lease *fl = NULL;
    int i;

    c->requests++;
    if (fs->first_request_len == 0) {
        memcpy(fs->first_request, frame, len);
        fs->first_request_len = len;
        c->requests_identical = true;
    } else if (len != fs->first_request_len ||
               memcmp(fs->first_request + EDGE_FRAME_HEADER_SIZE, frame + EDGE_FRAME_HEADER_SIZE,
                      len - EDGE_FRAME_HEADER_SIZE) != 0) {
        c->requests_identical = false;
    }
    if (c->request_status) {
        rep->env.status = c->request_status;
        return;
    }
    if (c->pending_polls > 0) {
        c->pending_polls--;
        rep->env.status = EDGE_PENDING_CONSENT;
        rep->u.lease_rep.has_pending_id = true;
        memset(rep->u.lease_rep.pending_id, 0x77, EDGE_ID_SIZE);
        rep->env.has_retry_after = c->retry_after != 0;
        rep->env.retry_after = c->retry_after;
        return;
    }
    for (i = 0; i < FAKE_MAX_LEASES && !fl; i++)
        if (!fs->leases[i].used)
            fl = &fs->leases[i];
    if (!fl) {
        rep->env.status = EDGE_E_QUOTA;
        return;
    }
    memset(fl, 0, sizeof(*fl));
    fl->used = true;
    memcpy(fl->id, fs->epoch, EDGE_ID_SIZE);
    fl->id[0] = (uint8_t)InterlockedIncrement(&fake_counter);
    fl->id[1] = 0xA5;
    fl->protocol = lr->protocol;
    fl->lo = (uint16_t)(lr->port_lo + c->grant_port_shift);
    fl->hi = (uint16_t)(lr->port_hi + c->grant_port_shift);
    fl->flags = lr->has_flags ? lr->flags : 0;
    fl->created = now;
    fl->expires = now + (lr->has_seconds ? lr->seconds : c->lease_seconds);
    fl->state = c->grant_state;
    rep->u.lease_rep.has_lease = true;
    fill_record(fl, &rep->u.lease_rep.lease);
    rep->env.has_warnings = c->grant_warnings != 0;
    rep->env.warnings = c->grant_warnings;
}

static void on_list(struct fake_service *fs, const edge_msg *req, edge_msg *rep, edge_lease *page)
{
    uint32_t start = req->u.list_req.has_cursor ? req->u.list_req.cursor : 0, n = 0, i;
    fs->cfg.lists++;
    fs->cfg.last_list_flags = req->u.list_req.has_flags ? req->u.list_req.flags : 0;
    for (i = start; i < FAKE_MAX_LEASES; i++) {
        if (!fs->leases[i].used)
            continue;
        if (n == fs->cfg.list_page) {
            rep->u.list_rep.has_next_cursor = true;
            rep->u.list_rep.next_cursor = i;
            break;
        }
        fill_record(&fs->leases[i], &page[n++]);
    }
    rep->u.list_rep.items.items = page;
    rep->u.list_rep.items.count = n;
}

/* Builds and sends the answer to one frame (or nothing, per the mode). */
static void serve_frame(struct fake_service *fs, HANDLE pipe, const uint8_t *buf, size_t len)
{
    static const uint8_t garbage[] = "this is not an edgebroker frame";
    edge_frame_header hdr;
    edge_msg req, rep;
    edge_lease page[FAKE_MAX_LEASES];
    uint8_t out[EDGE_FRAME_MAX];
    size_t out_len = 0;
    enum fake_mode mode;
    struct fake_lease *fl;

    fake_lock(fs);
    fs->cfg.frames++;
    if (edge_frame_parse_header(buf, len, &hdr) != EDGE_PROTO_OK ||
        edge_msg_decode(buf, len, EDGE_DIR_REQUEST, &req) != EDGE_PROTO_OK) {
        fake_unlock(fs);
        return;
    }
    mode = req.type == EDGE_MSG_HELLO ? fs->cfg.hello_mode : fs->cfg.mode;
    edge_msg_init_reply(&rep, &hdr, fs->epoch, EDGE_OK);
    switch (req.type) {
    case EDGE_MSG_HELLO:
        fs->cfg.hellos++;
        rep.env.status = fs->cfg.hello_status;
        rep.u.hello_rep.version = 1;
        rep.u.hello_rep.capabilities = EDGE_CAP_NOTICES;
        rep.u.hello_rep.server_version = edge_str_from_cstr("fake 9.9");
        break;
    case EDGE_MSG_PING:
        fs->cfg.pings++;
        rep.u.ping = req.u.ping;
        break;
    case EDGE_MSG_REQUEST:
        on_request(fs, &req, &rep, buf, len);
        break;
    case EDGE_MSG_RENEW:
        fs->cfg.renews++;
        fs->cfg.last_renew_seconds = req.u.renew_req.has_seconds ? req.u.renew_req.seconds : 0;
        fl = find_lease(fs, req.u.renew_req.lease_id);
        if (fs->cfg.renew_status) {
            rep.env.status = fs->cfg.renew_status;
        } else if (!fl) {
            rep.env.status = EDGE_E_NOT_FOUND;
        } else {
            fl->expires =
                (uint64_t)time(NULL) +
                (req.u.renew_req.has_seconds ? req.u.renew_req.seconds : fs->cfg.lease_seconds);
            rep.u.lease_rep.has_lease = true;
            fill_record(fl, &rep.u.lease_rep.lease);
        }
        break;
    case EDGE_MSG_RELEASE:
    case EDGE_MSG_SHOW:
        if (req.type == EDGE_MSG_RELEASE)
            fs->cfg.releases++;
        else
            fs->cfg.shows++;
        fl = find_lease(fs, req.u.id_req.id);
        if (!fl) {
            rep.env.status = EDGE_E_NOT_FOUND;
        } else if (req.type == EDGE_MSG_RELEASE) {
            fl->used = false;
        } else {
            rep.u.lease_rep.has_lease = true;
            fill_record(fl, &rep.u.lease_rep.lease);
        }
        break;
    case EDGE_MSG_LIST:
        on_list(fs, &req, &rep, page);
        break;
    case EDGE_MSG_STATUS:
        rep.u.status_rep.active_leases = fake_lease_count(fs);
        rep.u.status_rep.started = 1700000000u;
        break;
    default:
        rep.env.status = EDGE_E_ACCESS_DENIED;
        break;
    }
    if (rep.env.status != EDGE_OK) {
        rep.env.detail = edge_str_from_cstr(fs->cfg.detail);
        rep.env.has_win32_error = fs->cfg.win32_error != 0;
        rep.env.win32_error = fs->cfg.win32_error;
    }
    if (mode == FAKE_WRONG_ID)
        rep.request_id += 1000;
    fake_unlock(fs);
    if (mode == FAKE_SILENT)
        return;
    if (mode == FAKE_GARBAGE) {
        write_frame(pipe, garbage, sizeof(garbage));
        return;
    }
    if (edge_msg_encode(&rep, out, sizeof(out), &out_len) == EDGE_PROTO_OK)
        write_frame(pipe, out, out_len);
}

/* Serves one connected client until it leaves or a command drops it. */
static void serve_client(struct fake_service *fs, HANDLE pipe)
{
    static uint8_t buf[EDGE_FRAME_MAX];
    OVERLAPPED ov;
    HANDLE waits[3];
    bool reading = false;

    memset(&ov, 0, sizeof(ov));
    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    waits[0] = ov.hEvent;
    waits[1] = fs->stop_ev;
    waits[2] = fs->cmd_ev;
    for (;;) {
        DWORD w, n = 0;
        unsigned i;
        bool drop;
        if (!reading) {
            ResetEvent(ov.hEvent);
            if (!ReadFile(pipe, buf, sizeof(buf), NULL, &ov) && GetLastError() != ERROR_IO_PENDING)
                break;
            reading = true;
        }
        w = WaitForMultipleObjects(3, waits, FALSE, INFINITE);
        if (w == WAIT_OBJECT_0) {
            reading = false;
            if (!GetOverlappedResult(pipe, &ov, &n, FALSE))
                break;
            serve_frame(fs, pipe, buf, n);
            continue;
        }
        if (w == WAIT_OBJECT_0 + 1)
            break;
        fake_lock(fs);
        for (i = 0; i < fs->notice_count; i++)
            write_frame(pipe, fs->notices[i], fs->notice_len[i]);
        fs->notice_count = 0;
        drop = fs->drop_client;
        fs->drop_client = false;
        fake_unlock(fs);
        if (drop)
            break;
    }
    if (reading) {
        DWORD ignored = 0;
        CancelIoEx(pipe, &ov);
        GetOverlappedResult(pipe, &ov, &ignored, TRUE);
    }
    CloseHandle(ov.hEvent);
}

static DWORD WINAPI fake_thread(void *arg)
{
    struct fake_service *fs = arg;
    OVERLAPPED ov;
    HANDLE waits[3];

    memset(&ov, 0, sizeof(ov));
    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    waits[0] = ov.hEvent;
    waits[1] = fs->stop_ev;
    waits[2] = fs->cmd_ev;
    for (;;) {
        DWORD w, n = 0;
        bool connected;
        if (fs->stopped_serving) {
            if (WaitForSingleObject(fs->stop_ev, INFINITE) == WAIT_OBJECT_0)
                break;
        }
        ResetEvent(ov.hEvent);
        connected = ConnectNamedPipe(fs->pipe, &ov) != 0;
        if (!connected) {
            DWORD err = GetLastError();
            /* Every instance accepts clients from its creation on, before ConnectNamedPipe.
             * ERROR_NO_DATA: one connected and already left (a refused open closes at once).
             * It is served like any client — serve_client sees it gone and the instance is
             * recycled; ending the thread here left the next client unanswered. */
            if (err == ERROR_PIPE_CONNECTED || err == ERROR_NO_DATA)
                connected = true;
            else if (err != ERROR_IO_PENDING)
                break;
        }
        while (!connected) {
            w = WaitForMultipleObjects(3, waits, FALSE, INFINITE);
            if (w == WAIT_OBJECT_0) {
                connected = GetOverlappedResult(fs->pipe, &ov, &n, FALSE) != 0;
                break;
            }
            if (w == WAIT_OBJECT_0 + 1)
                goto out;
            fake_lock(fs);
            fs->drop_client = false;
            fs->notice_count = 0;
            fake_unlock(fs);
            if (fs->stopped_serving) {
                CancelIoEx(fs->pipe, &ov);
                GetOverlappedResult(fs->pipe, &ov, &n, TRUE);
                CloseHandle(fs->pipe);
                CloseHandle(fs->next_pipe);
                fs->pipe = fs->next_pipe = INVALID_HANDLE_VALUE;
                break;
            }
        }
        if (fs->stopped_serving)
            continue;
        if (connected) {
            fake_lock(fs);
            fs->cfg.connections++;
            fake_unlock(fs);
            serve_client(fs, fs->pipe);
        }
        DisconnectNamedPipe(fs->pipe);
        CloseHandle(fs->pipe);
        fs->pipe = fs->next_pipe;
        fs->next_pipe = fs->stopped_serving ? INVALID_HANDLE_VALUE : create_instance(fs);
        if (fs->stopped_serving && fs->pipe != INVALID_HANDLE_VALUE) {
            CloseHandle(fs->pipe);
            fs->pipe = INVALID_HANDLE_VALUE;
        }
        if (WaitForSingleObject(fs->stop_ev, 0) == WAIT_OBJECT_0)
            break;
    }
out:
    CloseHandle(ov.hEvent);
    return 0;
}

struct fake_service *fake_start(const char *tag)
{
    struct fake_service *fs = calloc(1, sizeof(*fs));
    assert_non_null(fs);
    InitializeCriticalSection(&fs->lock);
    snprintf(fs->pipe_name_utf8, sizeof(fs->pipe_name_utf8),
             "\\\\.\\pipe\\edgeclient-test-%lu-%s-%ld", (unsigned long)GetCurrentProcessId(), tag,
             (long)InterlockedIncrement(&fake_counter));
    MultiByteToWideChar(CP_UTF8, 0, fs->pipe_name_utf8, -1, fs->pipe_name, 96);
    new_epoch(fs);
    fs->cfg.grant_state = EDGE_LEASE_STATE_ACTIVE;
    fs->cfg.lease_seconds = 3600;
    fs->cfg.list_page = FAKE_MAX_LEASES;
    fs->cfg.detail = "fake detail";
    fs->stop_ev = CreateEventW(NULL, TRUE, FALSE, NULL);
    fs->cmd_ev = CreateEventW(NULL, FALSE, FALSE, NULL);
    /* Two instances from the start: a reconnecting client always finds the name. */
    fs->pipe = create_instance(fs);
    fs->next_pipe = create_instance(fs);
    assert_true(fs->pipe != INVALID_HANDLE_VALUE && fs->next_pipe != INVALID_HANDLE_VALUE);
    fs->thread = CreateThread(NULL, 0, fake_thread, fs, 0, NULL);
    assert_non_null(fs->thread);
    return fs;
}

void fake_stop(struct fake_service *fs)
{
    if (!fs)
        return;
    SetEvent(fs->stop_ev);
    WaitForSingleObject(fs->thread, 10000);
    CloseHandle(fs->thread);
    if (fs->pipe != INVALID_HANDLE_VALUE)
        CloseHandle(fs->pipe);
    if (fs->next_pipe != INVALID_HANDLE_VALUE)
        CloseHandle(fs->next_pipe);
    CloseHandle(fs->stop_ev);
    CloseHandle(fs->cmd_ev);
    DeleteCriticalSection(&fs->lock);
    free(fs);
}

void fake_notify(struct fake_service *fs, uint8_t kind, const uint8_t lease_id[EDGE_ID_SIZE])
{
    edge_msg m;
    size_t len = 0;
    memset(&m, 0, sizeof(m));
    m.type = EDGE_MSG_NOTICE;
    m.u.notice.kind = kind;
    fake_lock(fs);
    memcpy(m.env.epoch, fs->epoch, EDGE_ID_SIZE);
    if (lease_id) {
        m.u.notice.has_lease_id = true;
        memcpy(m.u.notice.lease_id, lease_id, EDGE_ID_SIZE);
    }
    if (kind == EDGE_NOTICE_ENDING) {
        m.u.notice.has_seconds = true;
        m.u.notice.seconds = 30;
    }
    if (lease_id && (kind == EDGE_NOTICE_REVOKED || kind == EDGE_NOTICE_EXPIRED)) {
        struct fake_lease *fl = find_lease(fs, lease_id);
        if (fl)
            fl->used = false;
    }
    assert_int_equal(
        edge_msg_encode(&m, fs->notices[fs->notice_count], sizeof(fs->notices[0]), &len),
        EDGE_PROTO_OK);
    fs->notice_len[fs->notice_count++] = len;
    fake_unlock(fs);
    SetEvent(fs->cmd_ev);
}

void fake_restart(struct fake_service *fs, bool keep_leases)
{
    fake_lock(fs);
    new_epoch(fs);
    if (!keep_leases)
        memset(fs->leases, 0, sizeof(fs->leases));
    fs->drop_client = true;
    fake_unlock(fs);
    SetEvent(fs->cmd_ev);
}

void fake_stop_serving(struct fake_service *fs)
{
    fake_lock(fs);
    fs->drop_client = true;
    fs->stopped_serving = true;
    fake_unlock(fs);
    SetEvent(fs->cmd_ev);
}

unsigned fake_lease_count(struct fake_service *fs)
{
    unsigned n = 0;
    int i;
    for (i = 0; i < FAKE_MAX_LEASES; i++)
        if (fs->leases[i].used)
            n++;
    return n;
}

void fake_forget(struct fake_service *fs, const uint8_t id[EDGE_ID_SIZE])
{
    struct fake_lease *fl;
    fake_lock(fs);
    fl = find_lease(fs, id);
    if (fl)
        fl->used = false;
    fake_unlock(fs);
}
