/*
 * edgeclient.dll as an application sees it: linked through the import library with only
 * edgeclient.h.  Every declared function is imported (the link fails if one is not exported),
 * internals are not exported, the version resource matches the library version, and a whole
 * request/enable/release cycle works through the DLL.
 */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "edgeclient.h"
#include "fake_service.h"
#include "free_port.h"

static void test_every_function_imported(void **state)
{
    /* Taking each address makes the linker resolve it from the import library. */
    const void *fns[] = {
        (const void *)edge_strerror,
        (const void *)edge_result_name,
        (const void *)edge_result_is_transient,
        (const void *)edge_client_version,
        (const void *)edge_client_version_string,
        (const void *)edge_session_options_init,
        (const void *)edge_session_open,
        (const void *)edge_session_close,
        (const void *)edge_session_ping,
        (const void *)edge_session_server_info,
        (const void *)edge_session_last_detail,
        (const void *)edge_session_transact,
        (const void *)edge_free,
        (const void *)edge_lease_params_init,
        (const void *)edge_lease_request,
        (const void *)edge_lease_request_async,
        (const void *)edge_lease_renew,
        (const void *)edge_lease_release,
        (const void *)edge_lease_free,
        (const void *)edge_lease_open,
        (const void *)edge_lease_id,
        (const void *)edge_lease_image_path,
        (const void *)edge_lease_owner_sid,
        (const void *)edge_lease_protocol,
        (const void *)edge_lease_port_lo,
        (const void *)edge_lease_port_hi,
        (const void *)edge_lease_created,
        (const void *)edge_lease_expires,
        (const void *)edge_lease_state,
        (const void *)edge_lease_warnings,
        (const void *)edge_lease_flags,
        (const void *)edge_lease_edge_option,
        (const void *)edge_lease_list,
        (const void *)edge_lease_list_count,
        (const void *)edge_lease_list_at,
        (const void *)edge_lease_list_free,
        (const void *)edge_socket_enable,
        (const void *)edge_socket_enable_and_bind,
        (const void *)edge_socket_disable,
    };
    HMODULE dll = GetModuleHandleW(L"edgeclient.dll");
    size_t i;
    (void)state;
    assert_non_null(dll);
    for (i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
        assert_non_null(fns[i]);
    assert_non_null(GetProcAddress(dll, "edge_session_open"));
    /* The static core inside is private: no codec or internal symbol leaks out. */
    assert_null(GetProcAddress(dll, "edge_msg_decode"));
    assert_null(GetProcAddress(dll, "edge_status_name"));
    assert_null(GetProcAddress(dll, "verify_decide"));
    assert_null(GetProcAddress(dll, "session_call"));
}

static void test_version_resource(void **state)
{
    wchar_t path[MAX_PATH];
    DWORD handle = 0, size;
    void *data;
    VS_FIXEDFILEINFO *ffi = NULL;
    UINT len = 0;
    uint32_t v = edge_client_version();
    (void)state;
    assert_true(GetModuleFileNameW(GetModuleHandleW(L"edgeclient.dll"), path, MAX_PATH) > 0);
    size = GetFileVersionInfoSizeW(path, &handle);
    assert_true(size > 0);
    data = malloc(size);
    assert_true(GetFileVersionInfoW(path, 0, size, data));
    assert_true(VerQueryValueW(data, L"\\", (void **)&ffi, &len));
    assert_int_equal(ffi->dwFileVersionMS, ((v >> 16) << 16) | ((v >> 8) & 0xFF));
    assert_int_equal(ffi->dwFileVersionLS, (v & 0xFF) << 16);
    free(data);
}

static void test_cycle_through_dll(void **state)
{
    struct fake_service *fs = fake_start("dll");
    edge_session_options o;
    edge_session_t *s = NULL;
    edge_lease_params p;
    edge_lease_t *l = NULL;
    WSADATA wsa;
    SOCKET sock;
    (void)state;
    edge_session_options_init(&o);
    o.pipe_name = fs->pipe_name_utf8;
    assert_int_equal(edge_session_open(&o, &s), EDGE_CLIENT_E_FAKE_SERVER);
    o.flags = EDGE_SESSION_F_TRUST_ANY_SERVER_FOR_TESTING;
    assert_int_equal(edge_session_open(&o, &s), EDGE_OK);
    assert_int_equal(WSAStartup(MAKEWORD(2, 2), &wsa), 0);
    edge_lease_params_init(&p);
    p.protocol = EDGE_PROTOCOL_UDP;
    p.port_lo = free_port(SOCK_DGRAM, 1); /* the library binds it below */
    assert_int_equal(edge_lease_request(s, &p, 0, &l), EDGE_OK);
    sock = socket(AF_INET6, SOCK_DGRAM, IPPROTO_UDP);
    assert_int_equal(edge_socket_enable_and_bind(l, sock, 0), EDGE_OK);
    closesocket(sock);
    WSACleanup();
    assert_int_equal(edge_lease_release(l, 0), EDGE_OK);
    edge_lease_free(l);
    edge_session_close(s);
    fake_stop(fs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_function_imported),
        cmocka_unit_test(test_version_resource),
        cmocka_unit_test(test_cycle_through_dll),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
