/*
 * A stop through the SCM completes within 5 s with 50 clients connected and requests in flight,
 * every client then sees its pipe closed, and the next start announces a new epoch.
 *
 * 30 of the clients have said hello and 20 are connected but silent: the service admits at most
 * 32 identified connections per user (config.h, PIPE_DEFAULT_MAX_PER_USER), and under Wine every
 * process runs as the same user.
 */
#include <windows.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "itest.h"

#define CLIENTS       50
#define HELLO_CLIENTS 30
#define IN_FLIGHT     10
#define STOP_BOUND_MS 5000u

/* Reads until the pipe fails; false if it still delivers or stays open after MS. */
static bool sees_close(itc *c, DWORD ms)
{
    ULONGLONG end = GetTickCount64() + ms;
    DWORD got, err;

    for (;;) {
        ULONGLONG now = GetTickCount64();
        if (now >= end)
            return false;
        err = itc_recv_raw(c, &got, (DWORD)(end - now));
        if (err == WAIT_TIMEOUT)
            return false;
        if (err != ERROR_SUCCESS && err != ERROR_MORE_DATA)
            return true; /* broken pipe / pipe not connected */
        /* a reply to an in-flight ping, or a shutdown notice: keep reading */
    }
}

static void test_stop_with_50_clients_is_bounded(void **state)
{
    itc *c[CLIENTS];
    uint8_t old_epoch[EDGE_ID_SIZE];
    edge_msg ping;
    uint8_t *frame = NULL;
    size_t len = 0;
    DWORD elapsed = 0, err;
    unsigned i;

    (void)state;
    for (i = 0; i < CLIENTS; i++) {
        c[i] = itc_new();
        assert_non_null(c[i]);
        if (i < HELLO_CLIENTS)
            assert_int_equal(itc_connect(c[i], ITEST_IO_MS), ERROR_SUCCESS);
        else
            assert_int_equal(itc_open(c[i], NULL, ITEST_IO_MS), ERROR_SUCCESS);
    }
    memcpy(old_epoch, c[0]->epoch, EDGE_ID_SIZE);

    /* Requests in flight: written, replies never read before the stop. */
    memset(&ping, 0, sizeof(ping));
    ping.type = EDGE_MSG_PING;
    ping.request_id = 77;
    assert_int_equal(edge_msg_encode_alloc(&ping, &frame, &len), EDGE_PROTO_OK);
    for (i = 0; i < IN_FLIGHT; i++)
        assert_int_equal(itc_send_raw(c[i], frame, len, ITEST_IO_MS), ERROR_SUCCESS);
    edge_proto_free(frame);

    err = itest_svc_stop(3 * STOP_BOUND_MS, &elapsed);
    print_message("stop with %d clients took %lu ms\n", CLIENTS, (unsigned long)elapsed);
    assert_int_equal(err, ERROR_SUCCESS);
    assert_true(elapsed <= STOP_BOUND_MS);

    for (i = 0; i < CLIENTS; i++) {
        assert_true(sees_close(c[i], 3000));
        itc_free(c[i]);
    }

    /* Leave the service running for the next test; a new start has a new epoch. */
    assert_int_equal(itest_svc_start(30000), ERROR_SUCCESS);
    c[0] = itc_new();
    assert_non_null(c[0]);
    assert_int_equal(itc_connect(c[0], ITEST_IO_MS), ERROR_SUCCESS);
    assert_memory_not_equal(c[0]->epoch, old_epoch, EDGE_ID_SIZE);
    itc_free(c[0]);
}

/* Whatever happened above, the next test finds the service running. */
static int ensure_running(void **state)
{
    (void)state;
    return itest_svc_start(30000) == ERROR_SUCCESS ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stop_with_50_clients_is_bounded),
    };
    if (itest_fw_use_service_store() != ERROR_SUCCESS)
        return 1;
    return cmocka_run_group_tests(tests, NULL, ensure_running);
}
