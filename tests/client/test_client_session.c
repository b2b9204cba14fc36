/*
 * edgeclient sessions: argument checks, no service, fake-server refusal, hello, timeouts, garbage,
 * reconnect, server info, last detail, raw transact, and close interrupting a wait.
 */
#include <winsock2.h>
#include <windows.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "client.h"
#include "fake_service.h"

static edge_result open_fake(struct fake_service *fs, uint32_t timeout_ms, edge_session_t **s)
{
    edge_session_options o;
    edge_session_options_init(&o);
    o.flags = EDGE_SESSION_F_TRUST_ANY_SERVER_FOR_TESTING;
    o.pipe_name = fs->pipe_name_utf8;
    o.client_name = "client tests";
    o.timeout_ms = timeout_ms;
    return edge_session_open(&o, s);
}

static void test_open_bad_args(void **state)
{
    edge_session_options o;
    edge_session_t *s = (edge_session_t *)&o;
    char long_name[EDGE_MAX_CLIENT_NAME_BYTES + 2];
    (void)state;
    assert_int_equal(edge_session_open(NULL, NULL), EDGE_CLIENT_E_INVALID_ARG);
    edge_session_options_init(&o);
    o.size = sizeof(o) - 1;
    assert_int_equal(edge_session_open(&o, &s), EDGE_CLIENT_E_INVALID_ARG);
    assert_null(s); /* output reset on entry */
    edge_session_options_init(&o);
    o.flags = 0x80;
    assert_int_equal(edge_session_open(&o, &s), EDGE_CLIENT_E_INVALID_ARG);
    edge_session_options_init(&o);
    o.timeout_ms = INFINITE;
    assert_int_equal(edge_session_open(&o, &s), EDGE_CLIENT_E_INVALID_ARG);
    edge_session_options_init(&o);
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    o.client_name = long_name;
    assert_int_equal(edge_session_open(&o, &s), EDGE_CLIENT_E_INVALID_ARG);
    edge_session_options_init(&o);
    o.client_name = "bad \xC0\xAF utf-8";
    assert_int_equal(edge_session_open(&o, &s), EDGE_CLIENT_E_INVALID_ARG);
    edge_session_options_init(&o);
    o.pipe_name = "\\\\.\\pipe\\bad\xFF";
    assert_int_equal(edge_session_open(&o, &s), EDGE_CLIENT_E_INVALID_ARG);
    assert_null(s);
    edge_session_close(NULL); /* ignored */
}

static void test_no_service(void **state)
{
    edge_session_options o;
    edge_session_t *s = NULL;
    (void)state;
    edge_session_options_init(&o);
    o.pipe_name = "\\\\.\\pipe\\edgeclient-test-nobody-serves-this";
    assert_int_equal(edge_session_open(&o, &s), EDGE_CLIENT_E_NO_SERVICE);
    assert_null(s);
    o.flags = EDGE_SESSION_F_TRUST_ANY_SERVER_FOR_TESTING; /* trust changes nothing here */
    assert_int_equal(edge_session_open(&o, &s), EDGE_CLIENT_E_NO_SERVICE);
}

static void test_fake_server_refused(void **state)
{
    struct fake_service *fs = fake_start("fake");
    edge_session_options o;
    edge_session_t *s = NULL;
    (void)state;
    edge_session_options_init(&o);
    o.pipe_name = fs->pipe_name_utf8; /* an ordinary process serves it; no trust flag */
    assert_int_equal(edge_session_open(&o, &s), EDGE_CLIENT_E_FAKE_SERVER);
    assert_null(s);
    Sleep(200);
    fake_lock(fs);
    assert_int_equal(fs->cfg.frames, 0); /* not a byte of the protocol reached the impostor */
    fake_unlock(fs);
    fake_stop(fs);
}

/* A raw client of the fake's pipe, as a refused edge_session_open is: connects and leaves. */
static HANDLE raw_connect(const struct fake_service *fs)
{
    HANDLE h =
        CreateFileW(fs->pipe_name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    assert_true(h != INVALID_HANDLE_VALUE);
    return h;
}

/*
 * Clients that connect and leave before the server listened on their instance (a refused open is
 * one: verification closes the handle at once) must not stop the server.  Two of them, the second
 * gone first, leave the instance the fake listens on next already closed by its client, whatever
 * the thread's timing: ConnectNamedPipe then fails with ERROR_NO_DATA, and the next open must
 * still be served rather than time out.
 */
static void test_clients_gone_before_listen(void **state)
{
    struct fake_service *fs = fake_start("gone-early");
    edge_session_t *s = NULL;
    HANDLE a, b;
    (void)state;
    a = raw_connect(fs);
    b = raw_connect(fs);
    CloseHandle(b);
    CloseHandle(a);
    assert_int_equal(open_fake(fs, 0, &s), EDGE_OK);
    assert_int_equal(edge_session_ping(s, 0), EDGE_OK);
    fake_lock(fs);
    assert_int_equal(fs->cfg.connections, 3);
    fake_unlock(fs);
    edge_session_close(s);
    fake_stop(fs);
}

static void test_open_and_server_info(void **state)
{
    struct fake_service *fs = fake_start("info");
    edge_session_t *s = NULL;
    char version[EDGE_MAX_CLIENT_NAME_BYTES + 1], epoch[EDGE_EPOCH_CHARS], want[EDGE_EPOCH_CHARS];
    char small[8];
    uint32_t pv = 9, caps = 9;
    (void)state;
    assert_int_equal(open_fake(fs, 5000, &s), EDGE_OK);
    assert_non_null(s);
    assert_int_equal(
        edge_session_server_info(s, version, sizeof(version), epoch, sizeof(epoch), &pv, &caps),
        EDGE_OK);
    assert_string_equal(version, "fake 9.9");
    client_hex(fs->epoch, EDGE_ID_SIZE, want);
    assert_string_equal(epoch, want);
    assert_int_equal(pv, 1);
    assert_int_equal(caps, EDGE_CAPABILITY_NOTICES);
    assert_int_equal(edge_session_server_info(s, NULL, 0, small, sizeof(small), NULL, NULL),
                     EDGE_CLIENT_E_BUFFER_TOO_SMALL);
    assert_string_equal(small, "");
    assert_int_equal(edge_session_server_info(NULL, NULL, 0, NULL, 0, &pv, NULL),
                     EDGE_CLIENT_E_INVALID_ARG);
    assert_int_equal(pv, 0);
    assert_int_equal(edge_session_ping(s, 0), EDGE_OK);
    assert_int_equal(edge_session_ping(s, INFINITE), EDGE_CLIENT_E_INVALID_ARG);
    assert_int_equal(edge_session_ping(NULL, 0), EDGE_CLIENT_E_INVALID_ARG);
    fake_lock(fs);
    assert_int_equal(fs->cfg.hellos, 1);
    assert_int_equal(fs->cfg.pings, 1);
    fake_unlock(fs);
    edge_session_close(s);
    fake_stop(fs);
}

static void test_hello_refused(void **state)
{
    struct fake_service *fs = fake_start("hello");
    edge_session_t *s = NULL;
    (void)state;
    fs->cfg.hello_status = EDGE_E_UNSUPPORTED_VERSION;
    assert_int_equal(open_fake(fs, 5000, &s), EDGE_E_UNSUPPORTED_VERSION);
    assert_null(s);
    fake_stop(fs);
}

static void test_open_timeout_against_silent_server(void **state)
{
    struct fake_service *fs = fake_start("silent");
    edge_session_t *s = NULL;
    ULONGLONG t0 = GetTickCount64();
    (void)state;
    fs->cfg.hello_mode = FAKE_SILENT;
    assert_int_equal(open_fake(fs, 400, &s), EDGE_CLIENT_E_TIMEOUT);
    assert_null(s);
    assert_true(GetTickCount64() - t0 < 5000);
    fake_stop(fs);
}

static void test_open_garbage(void **state)
{
    struct fake_service *fs = fake_start("garbage");
    edge_session_t *s = NULL;
    (void)state;
    fs->cfg.hello_mode = FAKE_GARBAGE;
    assert_int_equal(open_fake(fs, 3000, &s), EDGE_CLIENT_E_PROTOCOL);
    assert_null(s);
    fake_stop(fs);
}

static void test_call_timeout_then_reconnect(void **state)
{
    struct fake_service *fs = fake_start("reconnect");
    edge_session_t *s = NULL;
    ULONGLONG t0;
    (void)state;
    assert_int_equal(open_fake(fs, 5000, &s), EDGE_OK);
    fake_lock(fs);
    fs->cfg.mode = FAKE_SILENT;
    fake_unlock(fs);
    t0 = GetTickCount64();
    assert_int_equal(edge_session_ping(s, 300), EDGE_CLIENT_E_TIMEOUT);
    assert_true(GetTickCount64() - t0 < 3000);
    fake_lock(fs);
    fs->cfg.mode = FAKE_NORMAL;
    fake_unlock(fs);
    /* The timed-out connection was dropped (a late reply must not answer the next request). */
    assert_int_equal(edge_session_ping(s, 3000), EDGE_OK);
    fake_lock(fs);
    assert_int_equal(fs->cfg.connections, 2);
    assert_int_equal(fs->cfg.hellos, 2);
    fs->cfg.mode = FAKE_GARBAGE;
    fake_unlock(fs);
    assert_int_equal(edge_session_ping(s, 3000), EDGE_CLIENT_E_PROTOCOL);
    fake_lock(fs);
    fs->cfg.mode = FAKE_WRONG_ID;
    fake_unlock(fs);
    assert_int_equal(edge_session_ping(s, 3000), EDGE_CLIENT_E_PROTOCOL);
    fake_lock(fs);
    fs->cfg.mode = FAKE_NORMAL;
    fake_unlock(fs);
    assert_int_equal(edge_session_ping(s, 3000), EDGE_OK);
    edge_session_close(s);
    fake_stop(fs);
}

static void test_disconnected_when_service_goes_away(void **state)
{
    struct fake_service *fs = fake_start("gone");
    edge_session_t *s = NULL;
    (void)state;
    assert_int_equal(open_fake(fs, 3000, &s), EDGE_OK);
    fake_stop_serving(fs);
    Sleep(300);
    /* The old connection is broken and no instance is left: the retry finds no pipe. */
    assert_int_equal(edge_session_ping(s, 2000), EDGE_CLIENT_E_NO_SERVICE);
    edge_session_close(s);
    fake_stop(fs);
}

static void test_last_detail(void **state)
{
    struct fake_service *fs = fake_start("detail");
    edge_session_t *s = NULL;
    edge_lease_t *l = NULL;
    edge_lease_params p;
    char detail[EDGE_MAX_DETAIL_BYTES + 1], tiny[4];
    uint32_t w32 = 0, retry = 9;
    (void)state;
    assert_int_equal(open_fake(fs, 3000, &s), EDGE_OK);
    assert_int_equal(edge_session_last_detail(s, detail, sizeof(detail), &w32, &retry), EDGE_OK);
    assert_string_equal(detail, "");
    fs->cfg.request_status = EDGE_E_DENIED;
    fs->cfg.detail = "policy says no";
    fs->cfg.win32_error = 5;
    edge_lease_params_init(&p);
    p.protocol = EDGE_PROTOCOL_TCP;
    p.port_lo = 40000;
    assert_int_equal(edge_lease_request(s, &p, 0, &l), EDGE_E_DENIED);
    assert_null(l);
    assert_int_equal(edge_session_last_detail(s, detail, sizeof(detail), &w32, &retry), EDGE_OK);
    assert_string_equal(detail, "policy says no");
    assert_int_equal(w32, 5);
    assert_int_equal(retry, 0);
    assert_int_equal(edge_session_last_detail(s, tiny, sizeof(tiny), NULL, NULL),
                     EDGE_CLIENT_E_BUFFER_TOO_SMALL);
    assert_int_equal(edge_session_last_detail(NULL, NULL, 0, NULL, NULL),
                     EDGE_CLIENT_E_INVALID_ARG);
    edge_session_close(s);
    fake_stop(fs);
}

static void test_transact(void **state)
{
    struct fake_service *fs = fake_start("transact");
    edge_session_t *s = NULL;
    edge_msg m, rep;
    uint8_t frame[256];
    size_t len = 0, rep_len = 0;
    void *reply = NULL;
    (void)state;
    assert_int_equal(open_fake(fs, 3000, &s), EDGE_OK);
    memset(&m, 0, sizeof(m));
    m.type = EDGE_MSG_STATUS;
    m.request_id = 4242;
    assert_int_equal(edge_msg_encode(&m, frame, sizeof(frame), &len), EDGE_PROTO_OK);
    assert_int_equal(edge_session_transact(s, frame, len, 0, &reply, &rep_len), EDGE_OK);
    assert_non_null(reply);
    assert_int_equal(edge_msg_decode(reply, rep_len, EDGE_DIR_REPLY, &rep), EDGE_PROTO_OK);
    assert_int_equal(rep.type, EDGE_MSG_STATUS);
    assert_int_equal(rep.env.status, EDGE_OK);
    edge_free(reply);
    reply = NULL;
    /* A verb the fake refuses: still EDGE_OK, the status is in the reply. */
    m.type = EDGE_MSG_PURGE;
    assert_int_equal(edge_msg_encode(&m, frame, sizeof(frame), &len), EDGE_PROTO_OK);
    assert_int_equal(edge_session_transact(s, frame, len, 0, &reply, &rep_len), EDGE_OK);
    assert_int_equal(edge_msg_decode(reply, rep_len, EDGE_DIR_REPLY, &rep), EDGE_PROTO_OK);
    assert_int_equal(rep.env.status, EDGE_E_ACCESS_DENIED);
    edge_free(reply);
    reply = NULL;
    /* HELLO belongs to the session; malformed frames are never sent. */
    memset(&m, 0, sizeof(m));
    m.type = EDGE_MSG_HELLO;
    m.u.hello_req.version_min = m.u.hello_req.version_max = 1;
    assert_int_equal(edge_msg_encode(&m, frame, sizeof(frame), &len), EDGE_PROTO_OK);
    assert_int_equal(edge_session_transact(s, frame, len, 0, &reply, &rep_len),
                     EDGE_CLIENT_E_INVALID_ARG);
    memcpy(frame, "garbage garbage garbage!", 24);
    assert_int_equal(edge_session_transact(s, frame, 24, 0, &reply, &rep_len),
                     EDGE_CLIENT_E_INVALID_ARG);
    assert_null(reply);
    assert_int_equal(edge_session_transact(s, frame, 24, 0, NULL, &rep_len),
                     EDGE_CLIENT_E_INVALID_ARG);
    edge_free(NULL);
    edge_session_close(s);
    fake_stop(fs);
}

struct waiter {
    edge_session_t *s;
    edge_result r;
};

static DWORD WINAPI wait_for_consent(void *arg)
{
    struct waiter *w = arg;
    edge_lease_params p;
    edge_lease_t *l = NULL;
    edge_lease_params_init(&p);
    p.protocol = EDGE_PROTOCOL_UDP;
    p.port_lo = 41000;
    w->r = edge_lease_request(w->s, &p, 60000, &l);
    edge_lease_free(l);
    return 0;
}

static void test_close_interrupts_consent_wait(void **state)
{
    struct fake_service *fs = fake_start("close");
    struct waiter w;
    HANDLE th;
    ULONGLONG t0;
    (void)state;
    fs->cfg.pending_polls = 100000;
    fs->cfg.retry_after = 30;
    memset(&w, 0, sizeof(w));
    assert_int_equal(open_fake(fs, 3000, &w.s), EDGE_OK);
    th = CreateThread(NULL, 0, wait_for_consent, &w, 0, NULL);
    Sleep(500); /* the request is now asleep until the 30 s retry-after */
    t0 = GetTickCount64();
    edge_session_close(w.s);
    assert_int_equal(WaitForSingleObject(th, 5000), WAIT_OBJECT_0);
    assert_true(GetTickCount64() - t0 < 5000);
    assert_int_equal(w.r, EDGE_CLIENT_E_CLOSED);
    CloseHandle(th);
    fake_stop(fs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_bad_args),
        cmocka_unit_test(test_no_service),
        cmocka_unit_test(test_fake_server_refused),
        cmocka_unit_test(test_clients_gone_before_listen),
        cmocka_unit_test(test_open_and_server_info),
        cmocka_unit_test(test_hello_refused),
        cmocka_unit_test(test_open_timeout_against_silent_server),
        cmocka_unit_test(test_open_garbage),
        cmocka_unit_test(test_call_timeout_then_reconnect),
        cmocka_unit_test(test_disconnected_when_service_goes_away),
        cmocka_unit_test(test_last_detail),
        cmocka_unit_test(test_transact),
        cmocka_unit_test(test_close_interrupts_consent_wait),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
