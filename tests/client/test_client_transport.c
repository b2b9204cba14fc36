/*
 * The access the library asks for on the service's pipe must be within what the service's DACL
 * grants a standard user (Authenticated Users: 0x12018b, service/pipe_server.c).  Wine does not
 * enforce pipe DACLs, so a wider request would pass here and fail for every standard user on
 * Windows; the granted access of the handle shows what was asked for on both.
 */
#include <winsock2.h>
#include <windows.h>
#include <winternl.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "client.h"
#include "fake_service.h"

/* What (A;;0x12018b;;;AU) in the service's SDDL grants. */
#define AUTHENTICATED_USERS_PIPE_GRANT 0x0012018Bu

typedef NTSTATUS(NTAPI *nt_query_object_fn)(HANDLE, OBJECT_INFORMATION_CLASS, PVOID, ULONG,
                                            PULONG);

static ACCESS_MASK granted_access(HANDLE h)
{
    nt_query_object_fn q = (nt_query_object_fn)(void (*)(void))GetProcAddress(
        GetModuleHandleW(L"ntdll.dll"), "NtQueryObject");
    PUBLIC_OBJECT_BASIC_INFORMATION info;
    ULONG len = 0;
    assert_non_null(q);
    assert_int_equal(q(h, ObjectBasicInformation, &info,
                       sizeof(info), &len),
                     0);
    return info.GrantedAccess;
}

static void test_pipe_access_within_standard_user_grant(void **state)
{
    struct fake_service *fs = fake_start("access");
    HANDLE cancel = CreateEventW(NULL, TRUE, FALSE, NULL);
    HANDLE h = INVALID_HANDLE_VALUE;
    ACCESS_MASK got;

    (void)state;
    assert_non_null(cancel);
    assert_int_equal(transport_open(fs->pipe_name, false, GetTickCount64() + 10000, cancel, &h),
                     EDGE_OK);
    got = granted_access(h);
    print_message("granted access on the pipe: 0x%08lx\n", (unsigned long)got);
    /* Nothing beyond the standard user's grant: no FILE_APPEND_DATA (create instance), no
     * FILE_WRITE_EA, no WRITE_DAC... */
    assert_int_equal(got & ~(ACCESS_MASK)AUTHENTICATED_USERS_PIPE_GRANT, 0);
    /* ...and what the protocol needs: read, write data, set message mode. */
    assert_true(got & FILE_READ_DATA);
    assert_true(got & FILE_WRITE_DATA);
    assert_true(got & FILE_WRITE_ATTRIBUTES);
    CloseHandle(h);
    CloseHandle(cancel);
    fake_stop(fs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipe_access_within_standard_user_grant),
    };
    return cmocka_run_group_tests_name("client_transport", tests, NULL, NULL);
}
