/*
 * edgeclient server verification (client/lib/verify.c): the decision, the service SID, the
 * owner rule, the SCM lookup, and the whole check against a pipe served by this (ordinary) process.
 */
#include <winsock2.h>
#include <windows.h>
#include <aclapi.h>
#include <sddl.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "client.h"
#include "wine_detect.h"

static void test_decide_requires_both_facts(void **state)
{
    (void)state;
    assert_int_equal(verify_decide(true, 1234, 1234), EDGE_OK);
    assert_int_equal(verify_decide(false, 1234, 1234), EDGE_CLIENT_E_FAKE_SERVER); /* owner */
    assert_int_equal(verify_decide(true, 1234, 999), EDGE_CLIENT_E_FAKE_SERVER);   /* other pid */
    assert_int_equal(verify_decide(true, 0, 0), EDGE_CLIENT_E_FAKE_SERVER); /* service absent */
    assert_int_equal(verify_decide(true, 1234, 0), EDGE_CLIENT_E_FAKE_SERVER);
}

static void sid_string(PSID sid, char *out, size_t cap)
{
    LPSTR s = NULL;
    assert_true(ConvertSidToStringSidA(sid, &s));
    snprintf(out, cap, "%s", s);
    LocalFree(s);
}

static void test_service_sid_known_value(void **state)
{
    BYTE sid[SECURITY_MAX_SID_SIZE];
    char text[256];
    (void)state;
    /* The documented service SID of TrustedInstaller: the algorithm must reproduce it, in any
     * case of the name (the SCM upper-cases it). */
    assert_int_equal(verify_service_sid(L"TrustedInstaller", sid, sizeof(sid)), ERROR_SUCCESS);
    sid_string(sid, text, sizeof(text));
    assert_string_equal(text, "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464");
    assert_int_equal(verify_service_sid(L"trustedinstaller", sid, sizeof(sid)), ERROR_SUCCESS);
    sid_string(sid, text, sizeof(text));
    assert_string_equal(text, "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464");
    assert_int_equal(verify_service_sid(L"", sid, sizeof(sid)), ERROR_INVALID_PARAMETER);
}

static void test_owner_rule(void **state)
{
    BYTE sid[SECURITY_MAX_SID_SIZE];
    DWORD len = sizeof(sid);
    PSID user = NULL;
    (void)state;
    assert_true(CreateWellKnownSid(WinLocalSystemSid, NULL, sid, &len));
    assert_true(verify_owner_trusted(sid));
    len = sizeof(sid);
    assert_true(CreateWellKnownSid(WinBuiltinAdministratorsSid, NULL, sid, &len));
    assert_true(verify_owner_trusted(sid));
    assert_int_equal(verify_service_sid(L"EdgeBroker", sid, sizeof(sid)), ERROR_SUCCESS);
    assert_true(verify_owner_trusted(sid));
    assert_int_equal(verify_service_sid(L"OtherService", sid, sizeof(sid)), ERROR_SUCCESS);
    assert_false(verify_owner_trusted(sid));
    len = sizeof(sid);
    assert_true(CreateWellKnownSid(WinBuiltinUsersSid, NULL, sid, &len));
    assert_false(verify_owner_trusted(sid));
    assert_true(ConvertStringSidToSidA("S-1-5-21-1-2-3-1001", &user));
    assert_false(verify_owner_trusted(user));
    LocalFree(user);
    assert_false(verify_owner_trusted(NULL));
}

static void test_scm_pid_of_absent_service(void **state)
{
    (void)state;
    assert_int_equal(verify_scm_pid(L"EdgeBrokerTestNoSuchService"), 0);
}

/* A pipe of this test process with the given SDDL; the client handle is returned in *client. */
static HANDLE serve_pipe(const wchar_t *name, const wchar_t *sddl, HANDLE *client)
{
    SECURITY_ATTRIBUTES sa;
    PSECURITY_DESCRIPTOR sd = NULL;
    HANDLE server;
    memset(&sa, 0, sizeof(sa));
    sa.nLength = sizeof(sa);
    if (sddl) {
        assert_true(
            ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, &sd, NULL));
        sa.lpSecurityDescriptor = sd;
    }
    server = CreateNamedPipeW(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE,
                              2, 4096, 4096, 0, sddl ? &sa : NULL);
    assert_true(server != INVALID_HANDLE_VALUE);
    if (sd)
        LocalFree(sd);
    *client = CreateFileW(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                          SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION, NULL);
    assert_true(*client != INVALID_HANDLE_VALUE);
    return server;
}

static void test_own_pipe_is_refused(void **state)
{
    HANDLE client, server;
    (void)state;
    server = serve_pipe(L"\\\\.\\pipe\\edgeclient-verify-plain", NULL, &client);
    /* Served by this process, and no EdgeBroker service in the test prefix: refused. */
    assert_int_equal(verify_server(client), EDGE_CLIENT_E_FAKE_SERVER);
    CloseHandle(client);
    CloseHandle(server);
}

static void test_owner_of_service_style_pipe(void **state)
{
    HANDLE client, server;
    PSID owner = NULL;
    PSECURITY_DESCRIPTOR sd = NULL;
    ULONG pid = 0;
    char text[256];
    (void)state;
    /* The service's pipe server asks for O:SY as LocalSystem and O:BA otherwise (service/
     * pipe_server.c); under Wine, services run with an administrator token, so O:BA is what a
     * client sees there.  Read it back through the client handle, as verify_server does. */
    server = serve_pipe(L"\\\\.\\pipe\\edgeclient-verify-ba", L"O:BAD:(A;;GA;;;WD)", &client);
    assert_int_equal(GetSecurityInfo(client, SE_KERNEL_OBJECT, OWNER_SECURITY_INFORMATION, &owner,
                                     NULL, NULL, NULL, &sd),
                     ERROR_SUCCESS);
    sid_string(owner, text, sizeof(text));
    print_message("owner read back through the client handle: %s\n", text);
    assert_string_equal(text, "S-1-5-32-544");
    assert_true(verify_owner_trusted(owner));
    LocalFree(sd);
    /* The other fact: the server PID is readable and is this process. */
    assert_true(GetNamedPipeServerProcessId(client, &pid));
    assert_int_equal(pid, GetCurrentProcessId());
    /* Owner fine, PID not the service's: still refused. */
    assert_int_equal(verify_server(client), EDGE_CLIENT_E_FAKE_SERVER);
    CloseHandle(client);
    CloseHandle(server);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decide_requires_both_facts),
        cmocka_unit_test(test_service_sid_known_value),
        cmocka_unit_test(test_owner_rule),
        cmocka_unit_test(test_scm_pid_of_absent_service),
        cmocka_unit_test(test_own_pipe_is_refused),
        cmocka_unit_test(test_owner_of_service_style_pipe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
