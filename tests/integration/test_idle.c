/*
 * 500 idle connections (connected, never a byte sent) do not keep a real client from being served
 * promptly, and the service drops them all after its handshake timeout.
 *
 * 500 stays below the service's total cap (PIPE_DEFAULT_MAX_CONNECTIONS 512), leaving room for
 * the real client; silent connections are not yet identified, so the per-user cap does not apply
 * to them.
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

#define IDLE        500
#define SERVE_BOUND 2000u  /* real client: open + hello + ping */
#define OPEN_BOUND  8000u  /* all idle connections, below the 10 s handshake timeout */
#define DROP_BOUND  20000u /* handshake timeout (10 s) plus timer slack and Wine */

static HANDLE open_idle(DWORD ms)
{
    ULONGLONG end = GetTickCount64() + ms;
    HANDLE h;

    for (;;) {
        h = CreateFileW(ITEST_PIPE, GENERIC_READ | FILE_WRITE_DATA | FILE_WRITE_ATTRIBUTES, 0, NULL, OPEN_EXISTING,
                        SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION, NULL);
        if (h != INVALID_HANDLE_VALUE || GetLastError() != ERROR_PIPE_BUSY ||
            GetTickCount64() >= end)
            return h;
        WaitNamedPipeW(ITEST_PIPE, 50);
    }
}

/* True while the server end is still open. */
static bool still_connected(HANDLE h)
{
    DWORD avail = 0;
    return PeekNamedPipe(h, NULL, 0, NULL, &avail, NULL) != FALSE;
}

static unsigned count_connected(HANDLE *h, unsigned n)
{
    unsigned i, live = 0;

    for (i = 0; i < n; i++)
        live += still_connected(h[i]) ? 1u : 0u;
    return live;
}

static void test_idle_connections_do_not_starve_a_client(void **state)
{
    HANDLE *h = calloc(IDLE, sizeof(*h));
    ULONGLONG t0, open_ms, serve_ms, end;
    itc *c = itc_new();
    uint32_t st = 0;
    unsigned i, live;

    (void)state;
    assert_non_null(h);
    assert_non_null(c);
    t0 = GetTickCount64();
    for (i = 0; i < IDLE; i++) {
        h[i] = open_idle(OPEN_BOUND);
        assert_true(h[i] != INVALID_HANDLE_VALUE);
    }
    open_ms = GetTickCount64() - t0;
    print_message("%d idle connections opened in %llu ms\n", IDLE, open_ms);
    assert_true(open_ms < OPEN_BOUND);
    assert_int_equal(count_connected(h, IDLE), IDLE);

    t0 = GetTickCount64();
    assert_int_equal(itc_connect(c, SERVE_BOUND), ERROR_SUCCESS);
    assert_int_equal(itc_ping(c, "x", 1, &st), ERROR_SUCCESS);
    assert_int_equal(st, EDGE_OK);
    serve_ms = GetTickCount64() - t0;
    print_message("real client served (hello + ping) in %llu ms\n", serve_ms);
    assert_true(serve_ms <= SERVE_BOUND);
    /* ...while every idle connection was still open. */
    assert_int_equal(count_connected(h, IDLE), IDLE);
    itc_free(c);

    /* The handshake timeout frees them. */
    end = GetTickCount64() + DROP_BOUND;
    do {
        live = count_connected(h, IDLE);
        if (live == 0)
            break;
        Sleep(250);
    } while (GetTickCount64() < end);
    print_message("%u idle connections left %u ms after the bound\n", live, DROP_BOUND);
    assert_int_equal(live, 0);
    for (i = 0; i < IDLE; i++)
        CloseHandle(h[i]);
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_connections_do_not_starve_a_client),
    };
    if (itest_fw_use_service_store() != ERROR_SUCCESS)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
