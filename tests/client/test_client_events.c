/*
 * edgeclient's session thread: automatic renewal, revocation and expiry notices, re-requests,
 * service restart (epoch change), shutdown notice and connection loss, reported through the
 * event callback.
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

#define MAX_EVENTS 64

struct recorder {
    CRITICAL_SECTION lock;
    HANDLE signal;
    unsigned count;
    uint32_t events[MAX_EVENTS];
    edge_result results[MAX_EVENTS];
    edge_lease_t *leases[MAX_EVENTS];
    DWORD thread;
};

static struct recorder rec;

static void on_event(void *context, uint32_t event, edge_lease_t *lease, edge_result result)
{
    struct recorder *r = context;
    EnterCriticalSection(&r->lock);
    if (r->count < MAX_EVENTS) {
        r->events[r->count] = event;
        r->results[r->count] = result;
        r->leases[r->count] = lease;
        r->count++;
    }
    r->thread = GetCurrentThreadId();
    LeaveCriticalSection(&r->lock);
    SetEvent(r->signal);
}

/* Waits until `event` was recorded (for `lease`, unless NULL); returns its index or -1. */
static int wait_event(uint32_t event, const edge_lease_t *lease, DWORD ms)
{
    ULONGLONG end = GetTickCount64() + ms;
    for (;;) {
        unsigned i;
        EnterCriticalSection(&rec.lock);
        for (i = 0; i < rec.count; i++)
            if (rec.events[i] == event && (!lease || rec.leases[i] == lease)) {
                LeaveCriticalSection(&rec.lock);
                return (int)i;
            }
        LeaveCriticalSection(&rec.lock);
        if (GetTickCount64() >= end)
            return -1;
        WaitForSingleObject(rec.signal, 50);
    }
}

static void reset_recorder(void)
{
    EnterCriticalSection(&rec.lock);
    rec.count = 0;
    LeaveCriticalSection(&rec.lock);
}

static edge_session_t *open_with_events(struct fake_service *fs)
{
    edge_session_options o;
    edge_session_t *s = NULL;
    edge_session_options_init(&o);
    o.flags = EDGE_SESSION_F_TRUST_ANY_SERVER_FOR_TESTING;
    o.pipe_name = fs->pipe_name_utf8;
    o.timeout_ms = 3000;
    o.on_event = on_event;
    o.event_context = &rec;
    assert_int_equal(edge_session_open(&o, &s), EDGE_OK);
    reset_recorder();
    return s;
}

static edge_lease_t *request(edge_session_t *s, uint16_t port, uint32_t seconds, uint32_t flags)
{
    edge_lease_params p;
    edge_lease_t *l = NULL;
    edge_lease_params_init(&p);
    p.protocol = EDGE_PROTOCOL_TCP;
    p.port_lo = port;
    p.seconds = seconds;
    p.flags = flags;
    assert_int_equal(edge_lease_request(s, &p, 0, &l), EDGE_OK);
    return l;
}

static void test_auto_renew(void **state)
{
    struct fake_service *fs = fake_start("renew");
    edge_session_t *s = open_with_events(fs);
    edge_lease_t *l = request(s, 60000, 2, EDGE_REQUEST_F_AUTO_RENEW), *plain;
    int i;
    (void)state;
    plain = request(s, 60001, 2, 0);
    /* 2 s lease: the first renewal is due after ~1 s (half the remaining time), well before
     * the lease would expire. */
    i = wait_event(EDGE_EVENT_LEASE_RENEWED, l, 1800);
    assert_true(i >= 0);
    assert_int_equal(rec.results[i], EDGE_OK);
    assert_int_not_equal(rec.thread, GetCurrentThreadId()); /* the session's thread */
    fake_lock(fs);
    assert_true(fs->cfg.renews >= 1);
    fake_unlock(fs);
    assert_int_equal(edge_lease_state(l), EDGE_STATE_ACTIVE);
    /* Release stops it: no renewal after that. */
    assert_int_equal(edge_lease_release(l, 0), EDGE_OK);
    fake_lock(fs);
    {
        unsigned renews = fs->cfg.renews;
        fake_unlock(fs);
        Sleep(2500);
        fake_lock(fs);
        assert_int_equal(fs->cfg.renews, renews);
    }
    fake_unlock(fs);
    assert_true(wait_event(EDGE_EVENT_LEASE_RENEWED, plain, 0) < 0); /* not asked for */
    edge_lease_free(l);
    edge_lease_free(plain);
    edge_session_close(s);
    fake_stop(fs);
}

static void test_revoke_notice(void **state)
{
    struct fake_service *fs = fake_start("revoke");
    edge_session_t *s = open_with_events(fs);
    edge_lease_t *l = request(s, 60100, 600, 0);
    (void)state;
    fake_notify(fs, EDGE_NOTICE_REVOKED, fs->leases[0].id);
    /* Idle application: the session thread picks the notice up within its poll period. */
    assert_true(wait_event(EDGE_EVENT_LEASE_REVOKED, l, 4000) >= 0);
    assert_int_equal(edge_lease_state(l), EDGE_STATE_ENDED);
    assert_int_equal(edge_lease_renew(l, 0, 0), EDGE_CLIENT_E_LEASE_ENDED);
    edge_lease_free(l);
    edge_session_close(s);
    fake_stop(fs);
}

static void test_expired_and_ending_notices(void **state)
{
    struct fake_service *fs = fake_start("expire");
    edge_session_t *s = open_with_events(fs);
    edge_lease_t *a = request(s, 60200, 600, 0), *b = request(s, 60201, 600, 0);
    (void)state;
    fake_notify(fs, EDGE_NOTICE_ENDING, fs->leases[1].id);
    fake_notify(fs, EDGE_NOTICE_EXPIRED, fs->leases[0].id);
    /* A call in progress also sees notices that arrive before its reply. */
    assert_int_equal(edge_session_ping(s, 0), EDGE_OK);
    assert_true(wait_event(EDGE_EVENT_LEASE_EXPIRED, a, 4000) >= 0);
    assert_true(wait_event(EDGE_EVENT_LEASE_ENDING, b, 4000) >= 0);
    assert_int_equal(edge_lease_state(a), EDGE_STATE_ENDED);
    assert_int_equal(edge_lease_state(b), EDGE_STATE_ACTIVE);
    fake_notify(fs, EDGE_NOTICE_SHUTDOWN, NULL);
    assert_true(wait_event(EDGE_EVENT_SERVICE_SHUTDOWN, NULL, 4000) >= 0);
    edge_lease_free(a);
    edge_lease_free(b);
    edge_session_close(s);
    fake_stop(fs);
}

static void test_rerequest_after_revoke(void **state)
{
    struct fake_service *fs = fake_start("rerequest");
    edge_session_t *s = open_with_events(fs);
    edge_lease_t *l = request(s, 60300, 600, EDGE_REQUEST_F_REREQUEST);
    char before[EDGE_LEASE_ID_CHARS], after[EDGE_LEASE_ID_CHARS];
    int i;
    (void)state;
    assert_int_equal(edge_lease_id(l, before, sizeof(before)), EDGE_OK);
    /* The first re-request needs consent again: the library keeps polling. */
    fake_lock(fs);
    fs->cfg.pending_polls = 1;
    fs->cfg.retry_after = 1;
    fake_unlock(fs);
    fake_notify(fs, EDGE_NOTICE_REVOKED, fs->leases[0].id);
    assert_true(wait_event(EDGE_EVENT_LEASE_REVOKED, l, 4000) >= 0);
    i = wait_event(EDGE_EVENT_LEASE_REREQUESTED, l, 8000);
    assert_true(i >= 0);
    assert_int_equal(rec.results[i], EDGE_OK);
    assert_int_equal(edge_lease_state(l), EDGE_STATE_ACTIVE);
    assert_int_equal(edge_lease_id(l, after, sizeof(after)), EDGE_OK);
    assert_string_not_equal(before, after); /* same handle, new lease */
    assert_int_equal(edge_lease_port_lo(l), 60300);
    fake_lock(fs);
    assert_int_equal(fs->cfg.requests, 3); /* original, pending poll, grant */
    fake_unlock(fs);
    assert_int_equal(edge_lease_release(l, 0), EDGE_OK);
    edge_lease_free(l);
    edge_session_close(s);
    fake_stop(fs);
}

static void test_restart_loses_leases(void **state)
{
    struct fake_service *fs = fake_start("restart");
    edge_session_t *s = open_with_events(fs);
    edge_lease_t *l = request(s, 60400, 600, 0);
    char epoch1[EDGE_EPOCH_CHARS], epoch2[EDGE_EPOCH_CHARS];
    int i;
    (void)state;
    assert_int_equal(edge_session_server_info(s, NULL, 0, epoch1, sizeof(epoch1), NULL, NULL),
                     EDGE_OK);
    fake_restart(fs, false); /* new epoch, and the lease did not survive */
    assert_true(wait_event(EDGE_EVENT_SERVICE_RESTARTED, NULL, 6000) >= 0);
    i = wait_event(EDGE_EVENT_LEASE_LOST, l, 6000);
    assert_true(i >= 0);
    assert_int_equal(rec.results[i], EDGE_E_NOT_FOUND);
    assert_int_equal(edge_lease_state(l), EDGE_STATE_ENDED);
    assert_int_equal(edge_session_server_info(s, NULL, 0, epoch2, sizeof(epoch2), NULL, NULL),
                     EDGE_OK);
    assert_string_not_equal(epoch1, epoch2);
    edge_lease_free(l);
    edge_session_close(s);
    fake_stop(fs);
}

static void test_restart_keeps_leases(void **state)
{
    struct fake_service *fs = fake_start("restart-keep");
    edge_session_t *s = open_with_events(fs);
    edge_lease_t *l = request(s, 60500, 600, 0);
    (void)state;
    fake_restart(fs, true);
    assert_true(wait_event(EDGE_EVENT_SERVICE_RESTARTED, NULL, 6000) >= 0);
    /* Re-validated with SHOW: still there, nothing lost. */
    Sleep(1500);
    fake_lock(fs);
    assert_true(fs->cfg.shows >= 1);
    fake_unlock(fs);
    assert_true(wait_event(EDGE_EVENT_LEASE_LOST, l, 0) < 0);
    assert_int_equal(edge_lease_state(l), EDGE_STATE_ACTIVE);
    assert_int_equal(edge_lease_renew(l, 0, 0), EDGE_OK);
    edge_lease_free(l);
    edge_session_close(s);
    fake_stop(fs);
}

static void test_connection_lost(void **state)
{
    struct fake_service *fs = fake_start("lost");
    edge_session_t *s = open_with_events(fs);
    edge_lease_t *l = request(s, 60600, 600, 0);
    int i;
    (void)state;
    fake_stop_serving(fs);
    i = wait_event(EDGE_EVENT_CONNECTION_LOST, NULL, 6000);
    assert_true(i >= 0);
    assert_int_equal(rec.results[i], EDGE_CLIENT_E_NO_SERVICE);
    /* Reported once per loss, not at every reconnect attempt. */
    Sleep(1200);
    EnterCriticalSection(&rec.lock);
    {
        unsigned n = 0, j;
        for (j = 0; j < rec.count; j++)
            n += rec.events[j] == EDGE_EVENT_CONNECTION_LOST;
        assert_int_equal(n, 1);
    }
    LeaveCriticalSection(&rec.lock);
    edge_lease_free(l);
    edge_session_close(s);
    fake_stop(fs);
}

static int group_setup(void **state)
{
    (void)state;
    InitializeCriticalSection(&rec.lock);
    rec.signal = CreateEventW(NULL, FALSE, FALSE, NULL);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auto_renew),
        cmocka_unit_test(test_revoke_notice),
        cmocka_unit_test(test_expired_and_ending_notices),
        cmocka_unit_test(test_rerequest_after_revoke),
        cmocka_unit_test(test_restart_loses_leases),
        cmocka_unit_test(test_restart_keeps_leases),
        cmocka_unit_test(test_connection_lost),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
