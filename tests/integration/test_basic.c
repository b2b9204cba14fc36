/*
 * The installed service answers on \\.\pipe\EdgeBroker: hello and ping round trips, the pipe's
 * server is the process the SCM reports for EdgeBroker, verbs before hello are refused, and the
 * epoch is one per service start.
 */
#include <windows.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "itest.h"

static itc *connected(void)
{
    itc *c = itc_new();

    assert_non_null(c);
    assert_int_equal(itc_connect(c, ITEST_IO_MS), ERROR_SUCCESS);
    return c;
}

static void test_hello_reply(void **state)
{
    itc *c = itc_new();
    edge_msg req, rep;
    static const uint8_t zero[EDGE_ID_SIZE];

    (void)state;
    assert_non_null(c);
    assert_int_equal(itc_open(c, NULL, ITEST_IO_MS), ERROR_SUCCESS);
    memset(&req, 0, sizeof(req));
    req.type = EDGE_MSG_HELLO;
    req.u.hello_req.version_min = 1;
    req.u.hello_req.version_max = 3;
    assert_int_equal(itc_call(c, &req, &rep, ITEST_IO_MS), ERROR_SUCCESS);
    assert_int_equal(rep.env.status, EDGE_OK);
    assert_int_equal(rep.u.hello_rep.version, 1);
    assert_true(rep.u.hello_rep.server_version.len > 0);
    assert_memory_not_equal(rep.env.epoch, zero, EDGE_ID_SIZE);
    itc_free(c);
}

static void test_ping_echoes_payloads(void **state)
{
    static const uint32_t sizes[] = {0, 1, 64, 1000, EDGE_MAX_PING_PAYLOAD};
    uint8_t *payload = malloc(EDGE_MAX_PING_PAYLOAD);
    itc *c = connected();
    uint32_t st = 0;
    unsigned i, j;

    (void)state;
    assert_non_null(payload);
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        for (j = 0; j < sizes[i]; j++)
            payload[j] = (uint8_t)(j * 31u + i);
        assert_int_equal(itc_ping(c, sizes[i] ? payload : NULL, sizes[i], &st), ERROR_SUCCESS);
        assert_int_equal(st, EDGE_OK);
    }
    free(payload);
    itc_free(c);
}

/* A client verifies it reached the real service (DESIGN.md, "Security model"). */
static void test_pipe_server_is_the_service(void **state)
{
    itc *c = connected();
    ULONG server_pid = 0;
    DWORD scm_state = 0, scm_pid = 0;

    (void)state;
    assert_true(GetNamedPipeServerProcessId(c->h, &server_pid));
    assert_int_equal(itest_svc_query(&scm_state, &scm_pid), ERROR_SUCCESS);
    assert_int_equal(scm_state, SERVICE_RUNNING);
    assert_int_not_equal(scm_pid, 0);
    assert_int_equal(server_pid, scm_pid);
    assert_int_not_equal(server_pid, GetCurrentProcessId());
    itc_free(c);
}

static void test_ping_before_hello_refused(void **state)
{
    itc *c = itc_new();
    uint32_t st = 0;
    DWORD got = 0;

    (void)state;
    assert_non_null(c);
    assert_int_equal(itc_open(c, NULL, ITEST_IO_MS), ERROR_SUCCESS);
    assert_int_equal(itc_ping(c, NULL, 0, &st), ERROR_SUCCESS);
    assert_int_equal(st, EDGE_E_PROTOCOL_STATE);
    /* A protocol-state violation closes the connection. */
    assert_int_not_equal(itc_recv_raw(c, &got, ITEST_IO_MS), ERROR_SUCCESS);
    itc_free(c);
}

static void test_epoch_is_stable_while_running(void **state)
{
    itc *a = connected();
    itc *b = connected();

    (void)state;
    assert_memory_equal(a->epoch, b->epoch, EDGE_ID_SIZE);
    itc_free(a);
    itc_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_reply),
        cmocka_unit_test(test_ping_echoes_payloads),
        cmocka_unit_test(test_pipe_server_is_the_service),
        cmocka_unit_test(test_ping_before_hello_refused),
        cmocka_unit_test(test_epoch_is_stable_while_running),
    };
    if (itest_fw_use_service_store() != ERROR_SUCCESS)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
