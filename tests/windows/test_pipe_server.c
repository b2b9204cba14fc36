/*
 * The pipe server in-process on a unique pipe name, driven by real pipe clients speaking the wire
 * codec: round trips, DACL, timeouts, frame limits, garbage, concurrency beyond 64 handles, caps,
 * rate limit, early disconnects, bounded stop; and the verb permission check as a pure function.
 */
#include <windows.h>
#include <aclapi.h>
#include <sddl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "connection.h"
#include "pipe_server.h"
#include "verbs.h"
#include "edge/protocol.h"
#include "wine_detect.h"

#define IO_TIMEOUT_MS 5000u
#define CLIENT_RIGHTS (GENERIC_READ | FILE_WRITE_DATA | FILE_WRITE_ATTRIBUTES)

/* ---- test server --------------------------------------------------------------------------- */

static volatile LONG g_slow_ms;      /* how long the SHOW test verb sleeps */
static volatile LONG g_slow_running; /* SHOW handlers currently inside the sleep */

static edge_status verb_admin_purge(struct connection *c, const edge_msg *req,
                                    struct verb_reply *rep)
{
    (void)c;
    (void)req;
    rep->msg.u.purge_rep.removed = 7;
    return EDGE_OK;
}

static edge_status verb_slow_show(struct connection *c, const edge_msg *req, struct verb_reply *rep)
{
    (void)c;
    (void)req;
    (void)rep;
    InterlockedIncrement(&g_slow_running);
    Sleep((DWORD)g_slow_ms);
    InterlockedDecrement(&g_slow_running);
    return EDGE_E_NOT_FOUND;
}

struct tsrv {
    struct verb_table verbs;
    struct pipe_server_config cfg;
    struct pipe_server *srv;
    wchar_t name[96];
};

static void tsrv_config(struct tsrv *t)
{
    static LONG seq;

    memset(t, 0, sizeof(*t));
    assert_int_equal(conn_verbs_init(&t->verbs), ERROR_SUCCESS);
    assert_true(conn_verbs_register(&t->verbs, EDGE_MSG_PURGE, verb_admin_purge, VERB_ADMIN,
                                    VERB_IN_HELLO_DONE));
    assert_true(conn_verbs_register(&t->verbs, EDGE_MSG_SHOW, verb_slow_show, VERB_ANY_CALLER,
                                    VERB_IN_HELLO_DONE));
    swprintf(t->name, 96, L"\\\\.\\pipe\\edgetest-%lu-%ld", GetCurrentProcessId(),
             InterlockedIncrement(&seq));
    pipe_server_config_init(&t->cfg);
    t->cfg.pipe_name = t->name;
    t->cfg.verbs = &t->verbs;
}

static void tsrv_start(struct tsrv *t)
{
    assert_int_equal(pipe_server_start(&t->cfg, &t->srv), ERROR_SUCCESS);
}

static void tsrv_stop(struct tsrv *t)
{
    assert_true(pipe_server_stop(t->srv));
    t->srv = NULL;
}

static struct pipe_server_stats stats(struct tsrv *t)
{
    struct pipe_server_stats s;
    pipe_server_get_stats(t->srv, &s);
    return s;
}

/* Polls until the server reports at most MAX connected clients (it learns of closes async). */
static bool wait_connected_at_most(struct tsrv *t, unsigned max, DWORD ms)
{
    ULONGLONG end = GetTickCount64() + ms;
    do {
        if (stats(t).connected <= max)
            return true;
        Sleep(10);
    } while (GetTickCount64() < end);
    return false;
}

/* ---- client -------------------------------------------------------------------------------- */

static HANDLE cl_open(const wchar_t *name)
{
    ULONGLONG end = GetTickCount64() + IO_TIMEOUT_MS;
    DWORD mode = PIPE_READMODE_MESSAGE;
    HANDLE h;

    for (;;) {
        h = CreateFileW(name, CLIENT_RIGHTS, 0, NULL, OPEN_EXISTING,
                        FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION,
                        NULL);
        if (h != INVALID_HANDLE_VALUE)
            break;
        if (GetLastError() != ERROR_PIPE_BUSY || GetTickCount64() > end)
            return INVALID_HANDLE_VALUE;
        WaitNamedPipeW(name, 200);
    }
    if (!SetNamedPipeHandleState(h, &mode, NULL, NULL)) {
        CloseHandle(h);
        return INVALID_HANDLE_VALUE;
    }
    return h;
}

/* Overlapped I/O with a timeout.  Returns ERROR_SUCCESS, a pipe error, or WAIT_TIMEOUT. */
static DWORD cl_io(HANDLE h, bool write, void *buf, DWORD n, DWORD *done, DWORD ms)
{
    OVERLAPPED ov;
    DWORD err = ERROR_SUCCESS, got = 0;
    BOOL ok;

    memset(&ov, 0, sizeof(ov));
    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    ok = write ? WriteFile(h, buf, n, NULL, &ov) : ReadFile(h, buf, n, NULL, &ov);
    if (!ok && GetLastError() != ERROR_IO_PENDING) {
        err = GetLastError();
        goto out;
    }
    if (WaitForSingleObject(ov.hEvent, ms) != WAIT_OBJECT_0) {
        CancelIoEx(h, &ov);
        GetOverlappedResult(h, &ov, &got, TRUE);
        err = WAIT_TIMEOUT;
        goto out;
    }
    if (!GetOverlappedResult(h, &ov, &got, FALSE))
        err = GetLastError();
out:
    if (done)
        *done = got;
    CloseHandle(ov.hEvent);
    return err;
}

static DWORD cl_send(HANDLE h, const void *p, size_t n)
{
    return cl_io(h, true, (void *)p, (DWORD)n, NULL, IO_TIMEOUT_MS);
}

static DWORD cl_send_msg(HANDLE h, const edge_msg *m)
{
    uint8_t *frame = NULL;
    size_t len = 0;
    DWORD err;

    assert_int_equal(edge_msg_encode_alloc(m, &frame, &len), EDGE_PROTO_OK);
    err = cl_send(h, frame, len);
    edge_proto_free(frame);
    return err;
}

/* Reads one reply into buf and decodes it into *rep (views into buf). */
static DWORD cl_recv_msg(HANDLE h, uint8_t *buf, size_t cap, edge_msg *rep, DWORD ms)
{
    DWORD got = 0, err = cl_io(h, false, buf, (DWORD)cap, &got, ms);
    if (err != ERROR_SUCCESS)
        return err;
    assert_int_equal(edge_msg_decode(buf, got, EDGE_DIR_REPLY, rep), EDGE_PROTO_OK);
    return ERROR_SUCCESS;
}

static void mk_hello(edge_msg *m, uint32_t id)
{
    memset(m, 0, sizeof(*m));
    m->type = EDGE_MSG_HELLO;
    m->request_id = id;
    m->u.hello_req.version_min = 1;
    m->u.hello_req.version_max = 1;
    m->u.hello_req.client_name = edge_str_from_cstr("test_pipe_server");
}

static void mk_ping(edge_msg *m, uint32_t id, const void *payload, uint32_t len)
{
    memset(m, 0, sizeof(*m));
    m->type = EDGE_MSG_PING;
    m->request_id = id;
    m->u.ping.payload.ptr = payload;
    m->u.ping.payload.len = len;
}

static void mk_bare(edge_msg *m, uint16_t type, uint32_t id)
{
    memset(m, 0, sizeof(*m));
    m->type = type;
    m->request_id = id;
}

/* Sends REQ and returns the reply's status (asserting it answers REQ). */
static uint32_t cl_call(HANDLE h, const edge_msg *req, edge_msg *rep, uint8_t *buf, size_t cap)
{
    assert_int_equal(cl_send_msg(h, req), ERROR_SUCCESS);
    assert_int_equal(cl_recv_msg(h, buf, cap, rep, IO_TIMEOUT_MS), ERROR_SUCCESS);
    assert_int_equal(rep->type, req->type);
    assert_int_equal(rep->request_id, req->request_id);
    return rep->env.status;
}

static HANDLE cl_hello(const wchar_t *name)
{
    uint8_t buf[4096];
    edge_msg req, rep;
    HANDLE h = cl_open(name);

    assert_true(h != INVALID_HANDLE_VALUE);
    mk_hello(&req, 1);
    assert_int_equal(cl_call(h, &req, &rep, buf, sizeof(buf)), EDGE_OK);
    return h;
}

static void cl_ping_ok(HANDLE h, uint32_t id)
{
    uint8_t buf[4096];
    edge_msg req, rep;

    mk_ping(&req, id, "abc", 3);
    assert_int_equal(cl_call(h, &req, &rep, buf, sizeof(buf)), EDGE_OK);
}

/* True when the server closed the connection (read fails with a pipe error, no data). */
static bool cl_closed_by_server(HANDLE h, DWORD ms)
{
    uint8_t buf[256];
    DWORD got = 0, err = cl_io(h, false, buf, sizeof(buf), &got, ms);
    return err == ERROR_BROKEN_PIPE || err == ERROR_PIPE_NOT_CONNECTED || err == ERROR_NO_DATA;
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_hello_ping_round_trip(void **state)
{
    static uint8_t payload[8000]; /* larger than the first read buffer: exercises growth */
    uint8_t buf[16384];
    struct tsrv t;
    edge_msg req, rep;
    HANDLE h, h2;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)(i * 7);
    tsrv_config(&t);
    tsrv_start(&t);
    h = cl_open(t.name);
    assert_true(h != INVALID_HANDLE_VALUE);
    mk_hello(&req, 41);
    assert_int_equal(cl_call(h, &req, &rep, buf, sizeof(buf)), EDGE_OK);
    assert_true(rep.flags & EDGE_FRAME_F_REPLY);
    assert_int_equal(rep.u.hello_rep.version, EDGE_PROTO_VERSION);
    assert_int_equal(rep.u.hello_rep.capabilities, t.verbs.capabilities);
    assert_memory_equal(rep.env.epoch, t.verbs.epoch, EDGE_ID_SIZE);
    mk_ping(&req, 42, payload, sizeof(payload));
    assert_int_equal(cl_call(h, &req, &rep, buf, sizeof(buf)), EDGE_OK);
    assert_int_equal(rep.u.ping.payload.len, sizeof(payload));
    assert_memory_equal(rep.u.ping.payload.ptr, payload, sizeof(payload));
    /* The test caller is an elevated administrator under Wine: the admin verb runs. */
    if (edge_test_under_wine()) {
        mk_bare(&req, EDGE_MSG_PURGE, 43);
        assert_int_equal(cl_call(h, &req, &rep, buf, sizeof(buf)), EDGE_OK);
        assert_int_equal(rep.u.purge_rep.removed, 7);
    }
    /* A second hello is out of state: refused, and the connection is closed. */
    mk_hello(&req, 44);
    assert_int_equal(cl_call(h, &req, &rep, buf, sizeof(buf)), EDGE_E_PROTOCOL_STATE);
    assert_true(cl_closed_by_server(h, IO_TIMEOUT_MS));
    CloseHandle(h);
    /* Ping before hello: refused with PROTOCOL_STATE, connection closed. */
    h2 = cl_open(t.name);
    mk_ping(&req, 5, NULL, 0);
    assert_int_equal(cl_call(h2, &req, &rep, buf, sizeof(buf)), EDGE_E_PROTOCOL_STATE);
    assert_true(cl_closed_by_server(h2, IO_TIMEOUT_MS));
    CloseHandle(h2);
    tsrv_stop(&t);
}

static bool same_ace(const void *a, const void *b)
{
    const ACE_HEADER *ha = a, *hb = b;
    const ACCESS_ALLOWED_ACE *xa = a, *xb = b; /* allowed and denied ACEs share this layout */

    return ha->AceType == hb->AceType && xa->Mask == xb->Mask &&
           EqualSid((PSID)&xa->SidStart, (PSID)&xb->SidStart);
}

static void test_pipe_dacl_matches_sddl(void **state)
{
    PSECURITY_DESCRIPTOR want_sd = NULL, got_sd = NULL;
    PACL want = NULL, got = NULL;
    PSID owner = NULL;
    BOOL present = FALSE, defaulted = FALSE;
    struct tsrv t;
    HANDLE h;
    DWORD i;

    (void)state;
    tsrv_config(&t);
    tsrv_start(&t);
    h = cl_open(t.name);
    assert_true(h != INVALID_HANDLE_VALUE);
    assert_int_equal(GetSecurityInfo(h, SE_KERNEL_OBJECT,
                                     OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, &owner,
                                     NULL, &got, NULL, &got_sd),
                     ERROR_SUCCESS);
    assert_true(ConvertStringSecurityDescriptorToSecurityDescriptorW(
        pipe_server_dacl_sddl, SDDL_REVISION_1, &want_sd, NULL));
    assert_true(GetSecurityDescriptorDacl(want_sd, &present, &want, &defaulted));
    assert_non_null(got);
    assert_int_equal(got->AceCount, want->AceCount);
    for (i = 0; i < want->AceCount; i++) {
        void *a, *b;
        assert_true(GetAce(want, i, &a));
        assert_true(GetAce(got, i, &b));
        assert_true(same_ace(a, b));
    }
    /* Owner: SYSTEM when the service runs as LocalSystem; Administrators for an admin test. */
    assert_non_null(owner);
    assert_true(IsWellKnownSid(owner, WinLocalSystemSid) ||
                IsWellKnownSid(owner, WinBuiltinAdministratorsSid));
    LocalFree(want_sd);
    LocalFree(got_sd);
    CloseHandle(h);
    tsrv_stop(&t);
}

static void test_silent_client_dropped(void **state)
{
    struct tsrv t;
    ULONGLONG t0, dt;
    HANDLE quiet, ok;

    (void)state;
    tsrv_config(&t);
    t.cfg.handshake_timeout_ms = 300;
    tsrv_start(&t);
    quiet = cl_open(t.name);
    assert_true(quiet != INVALID_HANDLE_VALUE);
    t0 = GetTickCount64();
    assert_true(cl_closed_by_server(quiet, IO_TIMEOUT_MS));
    dt = GetTickCount64() - t0;
    print_message("silent client dropped after %llu ms (timeout 300 ms)\n", (unsigned long long)dt);
    assert_true(dt >= 250 && dt < 3000);
    assert_true(stats(&t).timeouts >= 1);
    /* A client that talks in time is unaffected. */
    ok = cl_hello(t.name);
    cl_ping_ok(ok, 2);
    CloseHandle(ok);
    CloseHandle(quiet);
    tsrv_stop(&t);
}

static void test_oversize_frame_drops_only_that_client(void **state)
{
    static uint8_t big[8192];
    struct tsrv t;
    HANDLE a, b;
    DWORD err;

    (void)state;
    tsrv_config(&t);
    t.cfg.max_frame = 1024;
    tsrv_start(&t);
    a = cl_hello(t.name);
    b = cl_hello(t.name);
    memset(big, 'x', sizeof(big));
    /* The write itself may already fail: the server drops B without reading the rest. */
    err = cl_send(b, big, sizeof(big));
    assert_true(err == ERROR_SUCCESS || err == ERROR_BROKEN_PIPE || err == ERROR_NO_DATA);
    assert_true(cl_closed_by_server(b, IO_TIMEOUT_MS));
    assert_int_equal(stats(&t).oversize, 1);
    cl_ping_ok(a, 2);
    CloseHandle(a);
    CloseHandle(b);
    tsrv_stop(&t);
}

static void test_garbage_drops_only_that_client(void **state)
{
    static const char garbage[] = "GET / HTTP/1.1\r\nHost: edgebroker\r\n\r\n";
    uint8_t frame[64], buf[4096];
    edge_frame_header hdr;
    edge_msg rep;
    struct tsrv t;
    HANDLE a, b, c;

    (void)state;
    tsrv_config(&t);
    tsrv_start(&t);
    a = cl_hello(t.name);
    /* Not our protocol: dropped without an answer. */
    b = cl_hello(t.name);
    assert_int_equal(cl_send(b, garbage, sizeof(garbage) - 1), ERROR_SUCCESS);
    assert_true(cl_closed_by_server(b, IO_TIMEOUT_MS));
    /* A valid header with a body that is not TLV: answered BAD_REQUEST, then closed. */
    c = cl_hello(t.name);
    memset(&hdr, 0, sizeof(hdr));
    hdr.magic = EDGE_PROTO_MAGIC;
    hdr.version = EDGE_PROTO_VERSION;
    hdr.type = EDGE_MSG_PING;
    hdr.request_id = 9;
    hdr.body_len = 5;
    edge_frame_write_header(&hdr, frame);
    memcpy(frame + EDGE_FRAME_HEADER_SIZE, "\xff\xff\xff\xff\xff", 5);
    assert_int_equal(cl_send(c, frame, EDGE_FRAME_HEADER_SIZE + 5), ERROR_SUCCESS);
    assert_int_equal(cl_recv_msg(c, buf, sizeof(buf), &rep, IO_TIMEOUT_MS), ERROR_SUCCESS);
    assert_int_equal(rep.request_id, 9);
    assert_int_equal(rep.env.status, EDGE_E_BAD_REQUEST);
    assert_true(cl_closed_by_server(c, IO_TIMEOUT_MS));
    cl_ping_ok(a, 2);
    assert_true(stats(&t).dropped >= 1);
    CloseHandle(a);
    CloseHandle(b);
    CloseHandle(c);
    tsrv_stop(&t);
}

/* protocol.md §7: header errors other than a short frame or a wrong magic are answered, then the
 * connection is closed; so is a request of a type this service does not know. */
static void test_header_errors_answered_then_closed(void **state)
{
    uint8_t frame[EDGE_FRAME_HEADER_SIZE], buf[4096];
    edge_frame_header hdr, rh;
    edge_msg rep;
    DWORD got = 0;
    struct tsrv t;
    HANDLE a, b, c;

    (void)state;
    tsrv_config(&t);
    tsrv_start(&t);
    a = cl_hello(t.name);

    /* Reserved header field set on a known type: EDGE_E_BAD_REQUEST, then closed. */
    b = cl_hello(t.name);
    memset(&hdr, 0, sizeof(hdr));
    hdr.magic = EDGE_PROTO_MAGIC;
    hdr.version = EDGE_PROTO_VERSION;
    hdr.type = EDGE_MSG_PING;
    hdr.reserved = 1;
    hdr.request_id = 21;
    edge_frame_write_header(&hdr, frame);
    assert_int_equal(cl_send(b, frame, sizeof(frame)), ERROR_SUCCESS);
    assert_int_equal(cl_recv_msg(b, buf, sizeof(buf), &rep, IO_TIMEOUT_MS), ERROR_SUCCESS);
    assert_int_equal(rep.request_id, 21);
    assert_int_equal(rep.env.status, EDGE_E_BAD_REQUEST);
    assert_true(cl_closed_by_server(b, IO_TIMEOUT_MS));

    /* A type from a newer protocol revision: still answered (a reply frame for that request
     * id), then closed.  This client's decoder cannot decode the unknown type, so read the
     * header only. */
    c = cl_hello(t.name);
    hdr.reserved = 0;
    hdr.type = 0x3f;
    hdr.request_id = 22;
    edge_frame_write_header(&hdr, frame);
    assert_int_equal(cl_send(c, frame, sizeof(frame)), ERROR_SUCCESS);
    assert_int_equal(cl_io(c, false, buf, sizeof(buf), &got, IO_TIMEOUT_MS), ERROR_SUCCESS);
    assert_int_equal(edge_frame_parse_header(buf, got, &rh), EDGE_PROTO_OK);
    assert_int_equal(rh.type, 0x3f);
    assert_int_equal(rh.request_id, 22);
    assert_true(rh.flags & EDGE_FRAME_F_REPLY);
    assert_true(cl_closed_by_server(c, IO_TIMEOUT_MS));

    cl_ping_ok(a, 3);
    CloseHandle(a);
    CloseHandle(b);
    CloseHandle(c);
    tsrv_stop(&t);
}

/* A refusal (rate limit, caps) answers any frame with our magic, even one whose header is
 * otherwise bad: the client learns it is busy rather than being dropped without a word. */
static void test_refusal_answers_bad_header(void **state)
{
    uint8_t frame[EDGE_FRAME_HEADER_SIZE];
    edge_frame_header hdr;
    struct verb_table vt;
    struct connection c;
    struct conn_reply out;
    edge_msg rep;

    (void)state;
    assert_int_equal(conn_verbs_init(&vt), ERROR_SUCCESS);
    conn_init(&c, 1, &vt, NULL);
    memset(&hdr, 0, sizeof(hdr));
    hdr.magic = EDGE_PROTO_MAGIC;
    hdr.version = EDGE_PROTO_VERSION;
    hdr.type = EDGE_MSG_PING;
    hdr.reserved = 7;
    hdr.request_id = 31;
    edge_frame_write_header(&hdr, frame);
    assert_int_equal(conn_refuse_frame(&c, frame, sizeof(frame), EDGE_E_BUSY, 1500, &out),
                     CONN_ACTION_REPLY);
    assert_int_equal(edge_msg_decode(out.data, out.len, EDGE_DIR_REPLY, &rep), EDGE_PROTO_OK);
    assert_int_equal(rep.request_id, 31);
    assert_int_equal(rep.env.status, EDGE_E_BUSY);
    assert_true(rep.env.has_retry_after);
    assert_int_equal(rep.env.retry_after, 2); /* 1500 ms rounds up, never down to "now" */
    conn_reply_free(&out);

    frame[0] ^= 0xff; /* not our magic: nothing to answer */
    assert_int_equal(conn_refuse_frame(&c, frame, sizeof(frame), EDGE_E_BUSY, 1500, &out),
                     CONN_ACTION_DROP);
    assert_null(out.data);
    conn_release(&c);
}

#define MANY 200

static void test_200_concurrent_clients(void **state)
{
    static HANDLE h[MANY];
    struct tsrv t;
    unsigned i, round;

    (void)state;
    tsrv_config(&t);
    t.cfg.max_per_user = MANY + 8;
    t.cfg.rate_burst = 4 * MANY;
    t.cfg.rate_per_sec = 4 * MANY;
    tsrv_start(&t);
    for (i = 0; i < MANY; i++)
        h[i] = cl_hello(t.name);
    assert_int_equal(stats(&t).connected, MANY);
    for (round = 0; round < 2; round++)
        for (i = 0; i < MANY; i++)
            cl_ping_ok(h[i], 100 + i);
    for (i = 0; i < MANY; i++)
        CloseHandle(h[i]);
    assert_true(wait_connected_at_most(&t, 0, IO_TIMEOUT_MS));
    tsrv_stop(&t);
}

static void test_per_user_connection_cap(void **state)
{
    uint8_t buf[4096];
    struct tsrv t;
    edge_msg req, rep;
    HANDLE h[3], extra, later;
    unsigned i;

    (void)state;
    tsrv_config(&t);
    t.cfg.max_per_user = 3;
    tsrv_start(&t);
    for (i = 0; i < 3; i++)
        h[i] = cl_hello(t.name);
    extra = cl_open(t.name);
    mk_hello(&req, 1);
    assert_int_equal(cl_call(extra, &req, &rep, buf, sizeof(buf)), EDGE_E_BUSY);
    assert_true(rep.env.has_retry_after && rep.env.retry_after >= 1);
    assert_true(cl_closed_by_server(extra, IO_TIMEOUT_MS));
    CloseHandle(extra);
    /* Below the cap again once one leaves. */
    CloseHandle(h[0]);
    assert_true(wait_connected_at_most(&t, 2, IO_TIMEOUT_MS));
    later = cl_hello(t.name);
    cl_ping_ok(later, 2);
    CloseHandle(later);
    CloseHandle(h[1]);
    CloseHandle(h[2]);
    tsrv_stop(&t);
}

static void test_rate_limit_busy_with_retry_after(void **state)
{
    uint8_t buf[4096];
    struct tsrv t;
    edge_msg req, rep;
    HANDLE h;
    unsigned i;

    (void)state;
    tsrv_config(&t);
    t.cfg.rate_burst = 5;
    t.cfg.rate_per_sec = 2;
    tsrv_start(&t);
    h = cl_hello(t.name); /* token 1 */
    for (i = 0; i < 4; i++)
        cl_ping_ok(h, 10 + i); /* tokens 2..5 */
    mk_ping(&req, 20, NULL, 0);
    assert_int_equal(cl_call(h, &req, &rep, buf, sizeof(buf)), EDGE_E_BUSY);
    assert_true(rep.env.has_retry_after);
    assert_true(rep.env.retry_after >= 1 && rep.env.retry_after <= 2);
    assert_true(stats(&t).busy >= 1);
    /* The connection stays usable: after the advised wait the request succeeds. */
    Sleep(rep.env.retry_after * 1000u);
    cl_ping_ok(h, 21);
    CloseHandle(h);
    tsrv_stop(&t);
}

static void test_immediate_disconnects_do_not_disturb(void **state)
{
    struct tsrv t;
    struct pipe_server_stats s;
    HANDLE h;
    unsigned i;

    (void)state;
    tsrv_config(&t);
    tsrv_start(&t);
    for (i = 0; i < 100; i++) {
        h = cl_open(t.name);
        if (h == INVALID_HANDLE_VALUE) /* 2 = the name had no instance at all for a moment */
            print_message("open %u failed: error %lu\n", i, (unsigned long)GetLastError());
        assert_true(h != INVALID_HANDLE_VALUE);
        CloseHandle(h);
    }
    assert_true(wait_connected_at_most(&t, 0, IO_TIMEOUT_MS));
    h = cl_hello(t.name);
    cl_ping_ok(h, 2);
    s = stats(&t);
    print_message("after 100 early disconnects: accepted %llu, gone before read %llu, "
                  "listening %u\n",
                  (unsigned long long)s.accepted, (unsigned long long)s.gone_before_read,
                  s.listening);
    assert_true(s.listening >= 1);
    CloseHandle(h);
    tsrv_stop(&t);
}

#define STOP_CLIENTS 50
#define STOP_BUSY    4

static void test_stop_with_clients_is_bounded(void **state)
{
    static HANDLE h[STOP_CLIENTS];
    edge_msg req;
    struct tsrv t;
    ULONGLONG t0, dt;
    unsigned i;

    (void)state;
    tsrv_config(&t);
    t.cfg.max_per_user = STOP_CLIENTS + 8;
    t.cfg.rate_burst = 1000;
    tsrv_start(&t);
    for (i = 0; i < STOP_CLIENTS; i++)
        h[i] = cl_hello(t.name);
    /* A few requests in flight inside a slow handler when stop begins. */
    g_slow_ms = 800;
    for (i = 0; i < STOP_BUSY; i++) {
        memset(&req, 0, sizeof(req));
        req.type = EDGE_MSG_SHOW;
        req.request_id = 500 + i;
        assert_int_equal(cl_send_msg(h[i], &req), ERROR_SUCCESS);
    }
    for (i = 0; i < 200 && g_slow_running == 0; i++)
        Sleep(10);
    assert_true(g_slow_running > 0);
    t0 = GetTickCount64();
    assert_true(pipe_server_stop(t.srv));
    dt = GetTickCount64() - t0;
    print_message("stop with %u clients (%ld in a handler) took %llu ms\n", STOP_CLIENTS,
                  (long)STOP_BUSY, (unsigned long long)dt);
    assert_true(dt < 5000);
    assert_int_equal(g_slow_running, 0);
    for (i = STOP_BUSY; i < STOP_CLIENTS; i++)
        assert_true(cl_closed_by_server(h[i], IO_TIMEOUT_MS));
    for (i = 0; i < STOP_CLIENTS; i++)
        CloseHandle(h[i]);
    g_slow_ms = 0;
}

static void test_permission_check_is_pure(void **state)
{
    struct caller_identity user, admin;
    struct verb_table tbl;
    const struct verb_row *hello, *ping, *purge, *none;

    (void)state;
    memset(&user, 0, sizeof(user));
    memset(&admin, 0, sizeof(admin));
    admin.elevated = admin.admin_member = admin.is_admin = true;
    {
        PSID sid = NULL;
        assert_true(ConvertStringSidToSidA("S-1-5-21-1004336348-1177238915-682003330-500", &sid));
        admin.sid_len = GetLengthSid(sid);
        assert_true(CopySid(sizeof(admin.sid), admin.sid, sid));
        LocalFree(sid);
    }
    user = admin;
    user.elevated = user.is_admin = false; /* a UAC-filtered administrator: member, not elevated */
    assert_int_equal(conn_verbs_init(&tbl), ERROR_SUCCESS);
    assert_true(conn_verbs_register(&tbl, EDGE_MSG_PURGE, verb_admin_purge, VERB_ADMIN,
                                    VERB_IN_HELLO_DONE));
    assert_false(conn_verbs_register(&tbl, EDGE_MSG_NOTICE, verb_admin_purge, VERB_ANY_CALLER,
                                     VERB_IN_HELLO_DONE));
    assert_false(conn_verbs_register(&tbl, 0, verb_admin_purge, VERB_ANY_CALLER, VERB_IN_NEW));
    hello = &tbl.rows[EDGE_MSG_HELLO];
    ping = &tbl.rows[EDGE_MSG_PING];
    purge = &tbl.rows[EDGE_MSG_PURGE];
    none = &tbl.rows[EDGE_MSG_REVOKE];
    /* Before hello only hello. */
    assert_int_equal(conn_verb_check(hello, &user, CONN_NEW), EDGE_OK);
    assert_int_equal(conn_verb_check(ping, &user, CONN_NEW), EDGE_E_PROTOCOL_STATE);
    assert_int_equal(conn_verb_check(purge, &admin, CONN_NEW), EDGE_E_PROTOCOL_STATE);
    /* After hello: no second hello; admin verbs for elevated administrators only. */
    assert_int_equal(conn_verb_check(hello, &admin, CONN_HELLO_DONE), EDGE_E_PROTOCOL_STATE);
    assert_int_equal(conn_verb_check(ping, &user, CONN_HELLO_DONE), EDGE_OK);
    assert_int_equal(conn_verb_check(purge, &user, CONN_HELLO_DONE), EDGE_E_ACCESS_DENIED);
    assert_int_equal(conn_verb_check(purge, NULL, CONN_HELLO_DONE), EDGE_E_ACCESS_DENIED);
    assert_int_equal(conn_verb_check(purge, &admin, CONN_HELLO_DONE), EDGE_OK);
    /* Closing: nothing.  Unregistered verb or no row: bad request. */
    assert_int_equal(conn_verb_check(ping, &admin, CONN_CLOSING), EDGE_E_PROTOCOL_STATE);
    assert_int_equal(conn_verb_check(none, &admin, CONN_HELLO_DONE), EDGE_E_BAD_REQUEST);
    assert_int_equal(conn_verb_check(NULL, &admin, CONN_HELLO_DONE), EDGE_E_BAD_REQUEST);
    /* The gate is edge_policy_may_administer on the token facts, not a stored flag: elevated
     * AND a member of Administrators AND a (non-anonymous) user SID. */
    admin.is_admin = false;
    assert_int_equal(conn_verb_check(purge, &admin, CONN_HELLO_DONE), EDGE_OK);
    admin.admin_member = false;
    admin.is_admin = true;
    assert_int_equal(conn_verb_check(purge, &admin, CONN_HELLO_DONE), EDGE_E_ACCESS_DENIED);
    admin.admin_member = true;
    admin.sid_len = 0;
    assert_int_equal(conn_verb_check(purge, &admin, CONN_HELLO_DONE), EDGE_E_ACCESS_DENIED);
}

static void test_epoch_is_random_per_start(void **state)
{
    struct verb_table a, b;

    (void)state;
    assert_int_equal(conn_verbs_init(&a), ERROR_SUCCESS);
    assert_int_equal(conn_verbs_init(&b), ERROR_SUCCESS);
    assert_memory_not_equal(a.epoch, b.epoch, EDGE_ID_SIZE);
}

static void test_first_instance_squatting_refused(void **state)
{
    struct tsrv t;
    struct pipe_server *srv = NULL;
    HANDLE squat;

    (void)state;
    edge_test_skip_under_wine("Wine does not enforce FILE_FLAG_FIRST_PIPE_INSTANCE, so a "
                              "squatted name cannot be detected there");
    tsrv_config(&t);
    /* Someone else created the name first (here: this process, before the server). */
    squat = CreateNamedPipeW(t.name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE,
                             PIPE_UNLIMITED_INSTANCES, 512, 512, 0, NULL);
    assert_true(squat != INVALID_HANDLE_VALUE);
    assert_int_equal(pipe_server_start(&t.cfg, &srv), ERROR_ACCESS_DENIED);
    assert_null(srv);
    CloseHandle(squat);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_permission_check_is_pure),
        cmocka_unit_test(test_epoch_is_random_per_start),
        cmocka_unit_test(test_hello_ping_round_trip),
        cmocka_unit_test(test_pipe_dacl_matches_sddl),
        cmocka_unit_test(test_silent_client_dropped),
        cmocka_unit_test(test_oversize_frame_drops_only_that_client),
        cmocka_unit_test(test_garbage_drops_only_that_client),
        cmocka_unit_test(test_header_errors_answered_then_closed),
        cmocka_unit_test(test_refusal_answers_bad_header),
        cmocka_unit_test(test_200_concurrent_clients),
        cmocka_unit_test(test_per_user_connection_cap),
        cmocka_unit_test(test_rate_limit_busy_with_retry_after),
        cmocka_unit_test(test_immediate_disconnects_do_not_disturb),
        cmocka_unit_test(test_stop_with_clients_is_bounded),
        cmocka_unit_test(test_first_instance_squatting_refused),
    };
    const char *filter = getenv("EDGE_TEST_FILTER"); /* run one test by name while debugging */

    if (filter && *filter)
        cmocka_set_test_filter(filter);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
