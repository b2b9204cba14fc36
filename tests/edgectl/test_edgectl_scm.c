/*
 * edgectl's diagnosis of a missing pipe through the Service Control Manager: a service that is
 * registered but stopped must be reported as "not running" (exit 3, "sc start ..."), not as "not
 * installed".  A throwaway service entry is created (never started) and deleted again; the test
 * holds the ctest resource lock `service` because it changes the prefix's SCM database.
 */
#include <windows.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

static char svc[64], pipe[64];

/* Creates the throwaway entry; the teardown deletes it even when the test fails. */
static int create_stopped_service(void **state)
{
    wchar_t exe[MAX_PATH], wsvc[64];
    SC_HANDLE scm, h;

    snprintf(svc, sizeof(svc), "edgectl-test-svc-%lu", (unsigned long)GetCurrentProcessId());
    snprintf(pipe, sizeof(pipe), "edgectl-test-%lu-absent", (unsigned long)GetCurrentProcessId());
    MultiByteToWideChar(CP_UTF8, 0, svc, -1, wsvc, 64);
    if (GetModuleFileNameW(NULL, exe, MAX_PATH) == 0)
        return -1;
    scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CREATE_SERVICE);
    if (!scm)
        return -1;
    /* Any executable will do: the service is never started. */
    h = CreateServiceW(scm, wsvc, wsvc, SERVICE_QUERY_STATUS | DELETE, SERVICE_WIN32_OWN_PROCESS,
                       SERVICE_DEMAND_START, SERVICE_ERROR_IGNORE, exe, NULL, NULL, NULL, NULL,
                       NULL);
    CloseServiceHandle(scm);
    if (!h)
        return -1;
    *state = h;
    return 0;
}

static int delete_service(void **state)
{
    SC_HANDLE h = *state;
    DeleteService(h);
    CloseServiceHandle(h);
    return 0;
}

static void test_stopped_service_is_not_running(void **state)
{
    char args[256];
    (void)state;
    snprintf(args, sizeof(args), "--pipe %s --service %s status", pipe, svc);
    assert_int_equal(ctl_golden("service_stopped", args, pipe, svc), 3);
    snprintf(args, sizeof(args), "--json --pipe %s --service %s list", pipe, svc);
    assert_int_equal(ctl_golden("service_stopped_json", args, pipe, svc), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stopped_service_is_not_running, create_stopped_service,
                                        delete_service),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
