/*
 * itest_svcctl: installs, starts, stops and removes the EdgeBroker service for the integration
 * fixture and the benchmark, through the SCM API (no parsing of sc.exe output).
 *
 *   itest_svcctl setup       remove a leftover service, `edgebroker.exe --install` (the
 *                            edgebroker.exe beside this tool), demand start, start, wait until
 *                            the pipe answers hello
 *   itest_svcctl teardown    stop (bounded) and delete the service; absent is fine
 *   itest_svcctl reset-state with the service removed: delete its data directory
 *                            (%ProgramData%\EdgeBroker as services see it) and empty the firewall
 *                            double's store that the service uses
 *   itest_svcctl start|stop|kill|status
 *
 * Exit status 0 on success, 1 on failure (with a message on stderr).
 */
#include "fwdouble_control.h"
#include "itest.h"

#include <stdio.h>
#include <string.h>
#include <wchar.h>

#define CTL_START_MS   30000u
#define CTL_STOP_MS    15000u
#define CTL_INSTALL_MS 30000u

static int fail(const char *what, DWORD err)
{
    fprintf(stderr, "itest_svcctl: %s: error %lu\n", what, (unsigned long)err);
    return 1;
}

static DWORD run_install(void)
{
    wchar_t exe[MAX_PATH], cmd[MAX_PATH + 32];
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    DWORD err, code = 1;

    err = itest_sibling_path(L"edgebroker.exe", exe, MAX_PATH);
    if (err != ERROR_SUCCESS)
        return err;
    swprintf(cmd, sizeof(cmd) / sizeof(cmd[0]), L"\"%ls\" --install", exe);
    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    if (!CreateProcessW(exe, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi))
        return GetLastError();
    if (WaitForSingleObject(pi.hProcess, CTL_INSTALL_MS) != WAIT_OBJECT_0) {
        TerminateProcess(pi.hProcess, 1);
        err = WAIT_TIMEOUT;
    } else if (!GetExitCodeProcess(pi.hProcess, &code)) {
        err = GetLastError();
    } else {
        err = code;
    }
    CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);
    return err;
}

/* Demand start: an auto-start service would come up at the next wineboot on its own. */
static DWORD set_demand_start(void)
{
    SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    SC_HANDLE svc = scm ? OpenServiceW(scm, ITEST_SERVICE, SERVICE_CHANGE_CONFIG) : NULL;
    DWORD err = ERROR_SUCCESS;

    if (!svc || !ChangeServiceConfigW(svc, SERVICE_NO_CHANGE, SERVICE_DEMAND_START,
                                      SERVICE_NO_CHANGE, NULL, NULL, NULL, NULL, NULL, NULL, NULL))
        err = GetLastError();
    if (svc)
        CloseServiceHandle(svc);
    if (scm)
        CloseServiceHandle(scm);
    return err;
}

static DWORD delete_service(void)
{
    SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    SC_HANDLE svc = scm ? OpenServiceW(scm, ITEST_SERVICE, DELETE) : NULL;
    DWORD err = ERROR_SUCCESS;

    if (!svc || !DeleteService(svc))
        err = GetLastError();
    if (err == ERROR_SERVICE_DOES_NOT_EXIST || err == ERROR_SERVICE_MARKED_FOR_DELETE)
        err = ERROR_SUCCESS;
    if (svc)
        CloseServiceHandle(svc);
    if (scm)
        CloseServiceHandle(scm);
    return err;
}

static int teardown(void)
{
    DWORD err = itest_svc_stop(CTL_STOP_MS, NULL);

    if (err == WAIT_TIMEOUT) {
        fprintf(stderr, "itest_svcctl: service did not stop in %u ms; killing it\n", CTL_STOP_MS);
        err = itest_svc_kill(CTL_STOP_MS);
    }
    if (err != ERROR_SUCCESS && err != ERROR_SERVICE_DOES_NOT_EXIST)
        return fail("stopping the service", err);
    err = delete_service();
    return err == ERROR_SUCCESS ? 0 : fail("deleting the service", err);
}

/* Deletes DIR's files and then DIR (the service keeps no subdirectories). */
static DWORD remove_dir(const wchar_t *dir)
{
    wchar_t pat[MAX_PATH], file[MAX_PATH];
    WIN32_FIND_DATAW fd;
    HANDLE h;
    DWORD err = ERROR_SUCCESS;

    swprintf(pat, MAX_PATH, L"%ls\\*", dir);
    h = FindFirstFileW(pat, &fd);
    if (h == INVALID_HANDLE_VALUE) {
        err = GetLastError();
        return err == ERROR_PATH_NOT_FOUND || err == ERROR_FILE_NOT_FOUND ? ERROR_SUCCESS : err;
    }
    do {
        if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
            continue;
        swprintf(file, MAX_PATH, L"%ls\\%ls", dir, fd.cFileName);
        SetFileAttributesW(file, FILE_ATTRIBUTE_NORMAL);
        if (!DeleteFileW(file) && err == ERROR_SUCCESS)
            err = GetLastError();
    } while (FindNextFileW(h, &fd));
    FindClose(h);
    if (err == ERROR_SUCCESS && !RemoveDirectoryW(dir))
        err = GetLastError();
    return err;
}

static int reset_state(void)
{
    wchar_t dir[MAX_PATH];
    DWORD err = itest_service_data_path(L"EdgeBroker", dir, MAX_PATH);
    HRESULT hr;

    if (err == ERROR_SUCCESS)
        err = remove_dir(dir);
    if (err != ERROR_SUCCESS)
        return fail("removing the service's data directory", err);
    err = itest_fw_use_service_store();
    if (err != ERROR_SUCCESS)
        return fail("locating the firewall double's store", err);
    hr = fwdc_store_reset();
    if (FAILED(hr))
        return fail("emptying the firewall double's store", (DWORD)hr);
    printf("itest_svcctl: removed %ls; emptied the double's store\n", dir);
    return 0;
}

static int setup(void)
{
    DWORD err, state = 0, pid = 0;

    if (itest_svc_query(&state, NULL) == ERROR_SUCCESS) {
        fprintf(stderr, "itest_svcctl: removing a leftover EdgeBroker service\n");
        if (teardown() != 0)
            return 1;
    }
    err = run_install();
    if (err != ERROR_SUCCESS)
        return fail("edgebroker.exe --install", err);
    err = set_demand_start();
    if (err != ERROR_SUCCESS)
        return fail("setting demand start", err);
    err = itest_svc_start(CTL_START_MS);
    if (err != ERROR_SUCCESS)
        return fail("starting the service and waiting for hello", err);
    itest_svc_query(&state, &pid);
    printf("itest_svcctl: EdgeBroker running (pid %lu) and answering hello\n", (unsigned long)pid);
    return 0;
}

int main(int argc, char **argv)
{
    DWORD err, state = 0, pid = 0, ms = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: itest_svcctl setup|teardown|reset-state|start|stop|kill|status\n");
        return 2;
    }
    if (strcmp(argv[1], "setup") == 0)
        return setup();
    if (strcmp(argv[1], "teardown") == 0)
        return teardown();
    if (strcmp(argv[1], "reset-state") == 0)
        return reset_state();
    if (strcmp(argv[1], "start") == 0) {
        err = itest_svc_start(CTL_START_MS);
        return err == ERROR_SUCCESS ? 0 : fail("start", err);
    }
    if (strcmp(argv[1], "stop") == 0) {
        err = itest_svc_stop(CTL_STOP_MS, &ms);
        printf("itest_svcctl: stop took %lu ms\n", (unsigned long)ms);
        return err == ERROR_SUCCESS ? 0 : fail("stop", err);
    }
    if (strcmp(argv[1], "kill") == 0) {
        err = itest_svc_kill(CTL_STOP_MS);
        return err == ERROR_SUCCESS ? 0 : fail("kill", err);
    }
    if (strcmp(argv[1], "status") == 0) {
        err = itest_svc_query(&state, &pid);
        if (err != ERROR_SUCCESS)
            return fail("query", err);
        printf("state %lu pid %lu\n", (unsigned long)state, (unsigned long)pid);
        return 0;
    }
    fprintf(stderr, "itest_svcctl: unknown command %s\n", argv[1]);
    return 2;
}
