/*
 * edgeclient leases: parameter checks, grant and accessors, "granted but ineffective", refusals,
 * the consent wait (identical re-sends), renew, release, open by id, listing with paging, and the
 * asynchronous request.
 */
#include <winsock2.h>
#include <windows.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "client.h"
#include "fake_service.h"

struct fixture {
    struct fake_service *fs;
    edge_session_t *s;
};

static int setup(void **state)
{
    static struct fixture f;
    edge_session_options o;
    f.fs = fake_start("lease");
    edge_session_options_init(&o);
    o.flags = EDGE_SESSION_F_TRUST_ANY_SERVER_FOR_TESTING;
    o.pipe_name = f.fs->pipe_name_utf8;
    o.timeout_ms = 5000;
    if (edge_session_open(&o, &f.s) != EDGE_OK)
        return -1;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    edge_session_close(f->s);
    fake_stop(f->fs);
    return 0;
}

static void tcp_params(edge_lease_params *p, uint16_t lo, uint16_t hi)
{
    edge_lease_params_init(p);
    p->protocol = EDGE_PROTOCOL_TCP;
    p->port_lo = lo;
    p->port_hi = hi;
}

static void test_request_bad_args(void **state)
{
    struct fixture *f = *state;
    edge_lease_params p;
    edge_lease_t *l = (edge_lease_t *)&p;
    static const uint8_t blob[4] = {1, 2, 3, 4};

    tcp_params(&p, 50000, 0);
    assert_int_equal(edge_lease_request(NULL, &p, 0, &l), EDGE_CLIENT_E_INVALID_ARG);
    assert_null(l);
    assert_int_equal(edge_lease_request(f->s, NULL, 0, &l), EDGE_CLIENT_E_INVALID_ARG);
    assert_int_equal(edge_lease_request(f->s, &p, 0, NULL), EDGE_CLIENT_E_INVALID_ARG);
    assert_int_equal(edge_lease_request(f->s, &p, INFINITE, &l), EDGE_CLIENT_E_INVALID_ARG);
    p.size--;
    assert_int_equal(edge_lease_request(f->s, &p, 0, &l), EDGE_CLIENT_E_INVALID_ARG);
    tcp_params(&p, 50000, 0);
    p.protocol = 1;
    assert_int_equal(edge_lease_request(f->s, &p, 0, &l), EDGE_CLIENT_E_INVALID_ARG);
    tcp_params(&p, 0, 0);
    assert_int_equal(edge_lease_request(f->s, &p, 0, &l), EDGE_CLIENT_E_INVALID_ARG);
    tcp_params(&p, 50000, 49999);
    assert_int_equal(edge_lease_request(f->s, &p, 0, &l), EDGE_CLIENT_E_INVALID_ARG);
    tcp_params(&p, 50000, 0);
    p.flags = 0x8000;
    assert_int_equal(edge_lease_request(f->s, &p, 0, &l), EDGE_CLIENT_E_INVALID_ARG);
    tcp_params(&p, 50000, 0);
    p.seconds = EDGE_MAX_LEASE_SECONDS + 1;
    assert_int_equal(edge_lease_request(f->s, &p, 0, &l), EDGE_CLIENT_E_INVALID_ARG);
    tcp_params(&p, 50000, 0);
    p.signed_request = blob;
    assert_int_equal(edge_lease_request(f->s, &p, 0, &l), EDGE_CLIENT_E_INVALID_ARG); /* len 0 */
    p.signed_request_len = EDGE_MAX_SIGNED_REQUEST_BYTES + 1;
    assert_int_equal(edge_lease_request(f->s, &p, 0, &l), EDGE_CLIENT_E_INVALID_ARG);
    tcp_params(&p, 50000, 0);
    p.signed_request_len = 4; /* length without a blob */
    assert_int_equal(edge_lease_request(f->s, &p, 0, &l), EDGE_CLIENT_E_INVALID_ARG);
    tcp_params(&p, 50000, 0);
    p.target_app = "C:\\bad\xFF.exe";
    assert_int_equal(edge_lease_request(f->s, &p, 0, &l), EDGE_CLIENT_E_INVALID_ARG);
    assert_null(l);
    assert_int_equal(f->fs->cfg.requests, 0); /* nothing invalid reached the service */
}

static void test_grant_and_accessors(void **state)
{
    struct fixture *f = *state;
    edge_lease_params p;
    edge_lease_t *l = NULL;
    char id[EDGE_LEASE_ID_CHARS], want[EDGE_LEASE_ID_CHARS], text[4200], small[10];
    uint64_t now = (uint64_t)time(NULL);
    static const uint8_t blob[3] = {9, 8, 7};

    tcp_params(&p, 50000, 50010);
    p.seconds = 600;
    p.flags = EDGE_REQUEST_F_KEEP_AFTER_EXIT;
    p.signed_request = blob;
    p.signed_request_len = sizeof(blob);
    assert_int_equal(edge_lease_request(f->s, &p, 0, &l), EDGE_OK);
    assert_non_null(l);
    assert_int_equal(edge_lease_id(l, id, sizeof(id)), EDGE_OK);
    client_hex(f->fs->leases[0].id, EDGE_ID_SIZE, want);
    assert_string_equal(id, want);
    assert_int_equal(strlen(id), 32);
    assert_int_equal(edge_lease_protocol(l), EDGE_PROTOCOL_TCP);
    assert_int_equal(edge_lease_port_lo(l), 50000);
    assert_int_equal(edge_lease_port_hi(l), 50010);
    assert_true(edge_lease_expires(l) >= now + 599 && edge_lease_expires(l) <= now + 700);
    assert_true(edge_lease_created(l) >= now - 5);
    assert_int_equal(edge_lease_state(l), EDGE_STATE_ACTIVE);
    assert_int_equal(edge_lease_warnings(l), 0);
    assert_int_equal(edge_lease_flags(l), EDGE_REQUEST_F_KEEP_AFTER_EXIT);
    assert_int_equal(edge_lease_edge_option(l), 2);
    assert_int_equal(edge_lease_image_path(l, text, sizeof(text)), EDGE_OK);
    assert_string_equal(text, "C:\\fake\\app.exe");
    assert_int_equal(edge_lease_owner_sid(l, text, sizeof(text)), EDGE_OK);
    assert_string_equal(text, "S-1-5-21-1-2-3-1001");
    assert_int_equal(edge_lease_id(l, small, sizeof(small)), EDGE_CLIENT_E_BUFFER_TOO_SMALL);
    assert_string_equal(small, "");
    assert_int_equal(edge_lease_id(NULL, id, sizeof(id)), EDGE_CLIENT_E_INVALID_ARG);
    assert_int_equal(edge_lease_id(l, NULL, 0), EDGE_CLIENT_E_INVALID_ARG);
    assert_int_equal(edge_lease_port_lo(NULL), 0);
    assert_int_equal(edge_lease_state(NULL), 0);
    /* The service saw a single-port-range request with the flag and blob it was given. */
    assert_int_equal(f->fs->leases[0].flags, EDGE_LEASE_F_KEEP_AFTER_EXIT);
    assert_int_equal(edge_lease_release(l, 0), EDGE_OK);
    assert_int_equal(edge_lease_state(l), EDGE_STATE_ENDED);
    assert_int_equal(fake_lease_count(f->fs), 0);
    assert_int_equal(edge_lease_release(l, 0), EDGE_OK); /* again: still what the caller wants */
    assert_int_equal(edge_lease_renew(l, 0, 0), EDGE_CLIENT_E_LEASE_ENDED);
    edge_lease_free(l);
    edge_lease_free(NULL);
}

static void test_single_port_and_default_seconds(void **state)
{
    struct fixture *f = *state;
    edge_lease_params p;
    edge_lease_t *l = NULL;
    uint64_t now = (uint64_t)time(NULL);

    tcp_params(&p, 51000, 0);
    p.protocol = EDGE_PROTOCOL_UDP;
    assert_int_equal(edge_lease_request(f->s, &p, 0, &l), EDGE_OK);
    assert_int_equal(edge_lease_port_hi(l), 51000);
    assert_int_equal(edge_lease_protocol(l), EDGE_PROTOCOL_UDP);
    assert_true(edge_lease_expires(l) >= now + 3599); /* the fake's "policy default" */
    assert_int_equal(edge_lease_release(l, 0), EDGE_OK);
    edge_lease_free(l);
}

static void test_granted_but_ineffective(void **state)
{
    struct fixture *f = *state;
    edge_lease_params p;
    edge_lease_t *l = NULL;

    tcp_params(&p, 52000, 0);
    f->fs->cfg.grant_warnings = EDGE_WARN_FIREWALL_OFF;
    assert_int_equal(edge_lease_request(f->s, &p, 0, &l), EDGE_CLIENT_W_INEFFECTIVE);
    assert_non_null(l);
    assert_int_equal(edge_lease_warnings(l), EDGE_WARNING_FIREWALL_OFF);
    assert_int_equal(edge_lease_release(l, 0), EDGE_OK);
    edge_lease_free(l);
    f->fs->cfg.grant_warnings = 0;
    f->fs->cfg.grant_state = EDGE_LEASE_STATE_INEFFECTIVE;
    assert_int_equal(edge_lease_request(f->s, &p, 0, &l), EDGE_CLIENT_W_INEFFECTIVE);
    assert_int_equal(edge_lease_state(l), EDGE_STATE_INEFFECTIVE);
    f->fs->cfg.grant_state = EDGE_LEASE_STATE_ACTIVE;
    /* Renewal reports it too. */
    f->fs->leases[0].state = EDGE_LEASE_STATE_INEFFECTIVE;
    assert_int_equal(edge_lease_renew(l, 0, 0), EDGE_CLIENT_W_INEFFECTIVE);
    assert_int_equal(edge_lease_release(l, 0), EDGE_OK);
    edge_lease_free(l);
}

static void test_refusals_pass_through(void **state)
{
    struct fixture *f = *state;
    static const uint32_t statuses[] = {EDGE_E_DENIED, EDGE_E_CONSENT_DENIED, EDGE_E_CONFLICT,
                                        EDGE_E_QUOTA,  EDGE_E_BAD_SIGNATURE,  EDGE_E_FIREWALL};
    edge_lease_params p;
    edge_lease_t *l = NULL;
    size_t i;

    tcp_params(&p, 53000, 0);
    for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
        f->fs->cfg.request_status = statuses[i];
        assert_int_equal(edge_lease_request(f->s, &p, 0, &l), (edge_result)statuses[i]);
        assert_null(l);
    }
    f->fs->cfg.request_status = 0;
}

static void test_lying_grant_is_protocol_error(void **state)
{
    struct fixture *f = *state;
    edge_lease_params p;
    edge_lease_t *l = NULL;

    tcp_params(&p, 53500, 0);
    f->fs->cfg.grant_port_shift = 1; /* grants 53501 for 53500 */
    assert_int_equal(edge_lease_request(f->s, &p, 0, &l), EDGE_CLIENT_E_PROTOCOL);
    assert_null(l);
    f->fs->cfg.grant_port_shift = 0;
    memset(f->fs->leases, 0, sizeof(f->fs->leases));
}

static void test_consent_wait_repeats_identical_request(void **state)
{
    struct fixture *f = *state;
    edge_lease_params p;
    edge_lease_t *l = NULL;
    ULONGLONG t0 = GetTickCount64();

    fake_lock(f->fs);
    f->fs->first_request_len = 0;
    f->fs->cfg.requests = 0;
    f->fs->cfg.pending_polls = 2;
    f->fs->cfg.retry_after = 1;
    fake_unlock(f->fs);
    tcp_params(&p, 54000, 54001);
    p.seconds = 120;
    assert_int_equal(edge_lease_request(f->s, &p, 10000, &l), EDGE_OK);
    assert_true(GetTickCount64() - t0 >= 1900); /* two retry-afters of 1 s were honoured */
    fake_lock(f->fs);
    assert_int_equal(f->fs->cfg.requests, 3);
    assert_true(f->fs->cfg.requests_identical);
    fake_unlock(f->fs);
    assert_int_equal(edge_lease_release(l, 0), EDGE_OK);
    edge_lease_free(l);
}

static void test_consent_still_pending_at_timeout(void **state)
{
    struct fixture *f = *state;
    edge_lease_params p;
    edge_lease_t *l = NULL;
    ULONGLONG t0 = GetTickCount64();

    f->fs->cfg.pending_polls = 1000;
    f->fs->cfg.retry_after = 1;
    tcp_params(&p, 54100, 0);
    assert_int_equal(edge_lease_request(f->s, &p, 1500, &l), EDGE_PENDING_CONSENT);
    assert_null(l);
    assert_true(GetTickCount64() - t0 < 4000);
    f->fs->cfg.pending_polls = 0;
    /* Calling again continues: the approver said yes meanwhile. */
    assert_int_equal(edge_lease_request(f->s, &p, 1500, &l), EDGE_OK);
    assert_int_equal(edge_lease_release(l, 0), EDGE_OK);
    edge_lease_free(l);
}

static void test_renew(void **state)
{
    struct fixture *f = *state;
    edge_lease_params p;
    edge_lease_t *l = NULL;
    uint64_t now = (uint64_t)time(NULL);

    tcp_params(&p, 55000, 0);
    p.seconds = 60;
    assert_int_equal(edge_lease_request(f->s, &p, 0, &l), EDGE_OK);
    assert_int_equal(edge_lease_renew(l, 900, 0), EDGE_OK);
    assert_int_equal(f->fs->cfg.last_renew_seconds, 900);
    assert_true(edge_lease_expires(l) >= now + 899);
    assert_int_equal(edge_lease_renew(l, 0, 0), EDGE_OK); /* 0: the original length, 60 s */
    assert_int_equal(f->fs->cfg.last_renew_seconds, 60);
    assert_true(edge_lease_expires(l) <= (uint64_t)time(NULL) + 61);
    assert_int_equal(edge_lease_renew(l, EDGE_MAX_LEASE_SECONDS + 1, 0), EDGE_CLIENT_E_INVALID_ARG);
    assert_int_equal(edge_lease_renew(l, 0, INFINITE), EDGE_CLIENT_E_INVALID_ARG);
    assert_int_equal(edge_lease_renew(NULL, 0, 0), EDGE_CLIENT_E_INVALID_ARG);
    f->fs->cfg.renew_status = EDGE_E_BUSY;
    assert_int_equal(edge_lease_renew(l, 0, 0), EDGE_E_BUSY);
    assert_int_equal(edge_lease_state(l), EDGE_STATE_ACTIVE);
    f->fs->cfg.renew_status = 0;
    /* The service forgot it (revoked, or lost): renew says NOT_FOUND and the lease ends. */
    fake_forget(f->fs, f->fs->leases[0].id);
    assert_int_equal(edge_lease_renew(l, 0, 0), EDGE_E_NOT_FOUND);
    assert_int_equal(edge_lease_state(l), EDGE_STATE_ENDED);
    assert_int_equal(edge_lease_release(l, 0), EDGE_OK);
    edge_lease_free(l);
}

static void test_open_by_id(void **state)
{
    struct fixture *f = *state;
    edge_lease_params p;
    edge_lease_t *l = NULL, *o = (edge_lease_t *)&p;
    char id[EDGE_LEASE_ID_CHARS], upper[EDGE_LEASE_ID_CHARS];
    size_t i;

    tcp_params(&p, 56000, 0);
    assert_int_equal(edge_lease_request(f->s, &p, 0, &l), EDGE_OK);
    assert_int_equal(edge_lease_id(l, id, sizeof(id)), EDGE_OK);
    for (i = 0; i <= strlen(id); i++)
        upper[i] = (char)(id[i] >= 'a' && id[i] <= 'f' ? id[i] - 32 : id[i]);
    assert_int_equal(edge_lease_open(f->s, upper, 0, &o), EDGE_OK);
    assert_int_equal(edge_lease_port_lo(o), 56000);
    assert_int_equal(edge_lease_release(o, 0), EDGE_OK); /* a tool releases what the app got */
    assert_int_equal(fake_lease_count(f->fs), 0);
    edge_lease_free(o);
    o = NULL;
    assert_int_equal(edge_lease_open(f->s, id, 0, &o), EDGE_E_NOT_FOUND);
    assert_null(o);
    assert_int_equal(edge_lease_open(f->s, "abc", 0, &o), EDGE_CLIENT_E_INVALID_ARG);
    assert_int_equal(edge_lease_open(f->s, "zz000000000000000000000000000000", 0, &o),
                     EDGE_CLIENT_E_INVALID_ARG);
    assert_int_equal(edge_lease_open(f->s, NULL, 0, &o), EDGE_CLIENT_E_INVALID_ARG);
    edge_lease_free(l);
}

static void test_list_pages(void **state)
{
    struct fixture *f = *state;
    edge_lease_params p;
    edge_lease_t *l[5];
    edge_lease_list_t *list = (edge_lease_list_t *)&p;
    unsigned lists_before;
    size_t i;

    for (i = 0; i < 5; i++) {
        tcp_params(&p, (uint16_t)(57000 + i), 0);
        assert_int_equal(edge_lease_request(f->s, &p, 0, &l[i]), EDGE_OK);
    }
    f->fs->cfg.list_page = 2;
    lists_before = f->fs->cfg.lists;
    assert_int_equal(edge_lease_list(f->s, 0, 0, &list), EDGE_OK);
    assert_int_equal(f->fs->cfg.lists - lists_before, 3); /* 2 + 2 + 1, cursor followed */
    assert_int_equal(edge_lease_list_count(list), 5);
    for (i = 0; i < 5; i++)
        assert_int_equal(edge_lease_port_lo(edge_lease_list_at(list, i)), 57000 + i);
    assert_null(edge_lease_list_at(list, 5));
    /* A listed lease is a full lease: it can be released. */
    assert_int_equal(edge_lease_release(edge_lease_list_at(list, 4), 0), EDGE_OK);
    edge_lease_list_free(list);
    list = NULL;
    assert_int_equal(edge_lease_list(f->s, EDGE_LIST_F_ALL, 0, &list), EDGE_OK);
    assert_int_equal(f->fs->cfg.last_list_flags, EDGE_LIST_F_ALL);
    assert_int_equal(edge_lease_list_count(list), 4);
    edge_lease_list_free(list);
    list = (edge_lease_list_t *)&p;
    assert_int_equal(edge_lease_list(f->s, 0x10, 0, &list), EDGE_CLIENT_E_INVALID_ARG);
    assert_null(list);
    assert_int_equal(edge_lease_list_count(NULL), 0);
    assert_null(edge_lease_list_at(NULL, 0));
    edge_lease_list_free(NULL);
    for (i = 0; i < 5; i++) {
        assert_int_equal(edge_lease_release(l[i], 0), EDGE_OK);
        edge_lease_free(l[i]);
    }
    f->fs->cfg.list_page = FAKE_MAX_LEASES;
}

struct async_result {
    HANDLE done;
    edge_result r;
    edge_lease_t *lease;
    DWORD thread;
};

static void on_done(void *context, edge_result r, edge_lease_t *lease)
{
    struct async_result *a = context;
    a->r = r;
    a->lease = lease;
    a->thread = GetCurrentThreadId();
    SetEvent(a->done);
}

static void test_async_request(void **state)
{
    struct fixture *f = *state;
    struct async_result a;
    edge_lease_params p;

    memset(&a, 0, sizeof(a));
    a.done = CreateEventW(NULL, TRUE, FALSE, NULL);
    f->fs->cfg.pending_polls = 1;
    f->fs->cfg.retry_after = 1;
    tcp_params(&p, 58000, 0);
    assert_int_equal(edge_lease_request_async(f->s, &p, 10000, on_done, &a), EDGE_OK);
    tcp_params(&p, 1, 1); /* the params were copied: changing them now changes nothing */
    assert_int_equal(WaitForSingleObject(a.done, 10000), WAIT_OBJECT_0);
    assert_int_equal(a.r, EDGE_OK);
    assert_non_null(a.lease);
    assert_int_equal(edge_lease_port_lo(a.lease), 58000);
    assert_int_not_equal(a.thread, GetCurrentThreadId());
    assert_int_equal(edge_lease_release(a.lease, 0), EDGE_OK);
    edge_lease_free(a.lease);
    assert_int_equal(edge_lease_request_async(f->s, &p, 0, NULL, &a), EDGE_CLIENT_E_INVALID_ARG);
    p.size = 3;
    assert_int_equal(edge_lease_request_async(f->s, &p, 0, on_done, &a), EDGE_CLIENT_E_INVALID_ARG);
    CloseHandle(a.done);
}

static void test_async_callback_runs_before_close_returns(void **state)
{
    struct fake_service *fs = fake_start("async-close");
    edge_session_options o;
    edge_session_t *s = NULL;
    struct async_result a;
    edge_lease_params p;
    (void)state;

    edge_session_options_init(&o);
    o.flags = EDGE_SESSION_F_TRUST_ANY_SERVER_FOR_TESTING;
    o.pipe_name = fs->pipe_name_utf8;
    assert_int_equal(edge_session_open(&o, &s), EDGE_OK);
    memset(&a, 0, sizeof(a));
    a.r = -1;
    a.done = CreateEventW(NULL, TRUE, FALSE, NULL);
    fs->cfg.pending_polls = 100000;
    fs->cfg.retry_after = 30;
    tcp_params(&p, 58100, 0);
    assert_int_equal(edge_lease_request_async(s, &p, 60000, on_done, &a), EDGE_OK);
    Sleep(300);
    edge_session_close(s);
    /* Already called, with CLOSED, by the time close returned. */
    assert_int_equal(WaitForSingleObject(a.done, 0), WAIT_OBJECT_0);
    assert_int_equal(a.r, EDGE_CLIENT_E_CLOSED);
    assert_null(a.lease);
    CloseHandle(a.done);
    fake_stop(fs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_bad_args),
        cmocka_unit_test(test_grant_and_accessors),
        cmocka_unit_test(test_single_port_and_default_seconds),
        cmocka_unit_test(test_granted_but_ineffective),
        cmocka_unit_test(test_refusals_pass_through),
        cmocka_unit_test(test_lying_grant_is_protocol_error),
        cmocka_unit_test(test_consent_wait_repeats_identical_request),
        cmocka_unit_test(test_consent_still_pending_at_timeout),
        cmocka_unit_test(test_renew),
        cmocka_unit_test(test_open_by_id),
        cmocka_unit_test(test_list_pages),
        cmocka_unit_test(test_async_request),
        cmocka_unit_test(test_async_callback_runs_before_close_returns),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
