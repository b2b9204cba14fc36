/*
 * edgebroker.exe entry point: command line, then the SCM dispatcher or the foreground server.
 *
 *   edgebroker                 run under the service control manager (service "EdgeBroker")
 *   edgebroker --console       run the same server in the foreground; Ctrl+C stops it
 *   edgebroker --install       create the service (development; the MSI does this in production)
 *   edgebroker --uninstall     stop and delete the service
 *   edgebroker --uninstall-cleanup
 *                              remove every EdgeBroker firewall rule, the data directory and the
 *                              local configuration key (run by the MSI on uninstall)
 *   --pipe NAME                serve \\.\pipe\NAME instead of \\.\pipe\EdgeBroker (tests)
 */
#include "config.h"
#include "service.h"
#include "uninstall.h"

#include <stdio.h>
#include <string.h>
#include <wchar.h>

#define MAIN_PIPE_NAME_MAX 240

static int usage(FILE *to, int code)
{
    fwprintf(to,
             L"usage: edgebroker [--console] [--pipe NAME] | --install | --uninstall |\n"
             L"       --uninstall-cleanup\n"
             L"  --console    run in the foreground instead of under the SCM\n"
             L"  --pipe NAME  serve \\\\.\\pipe\\NAME (default EdgeBroker)\n"
             L"  --install    create the %ls service (LocalSystem, automatic start)\n"
             L"  --uninstall  stop and delete the service\n"
             L"  --uninstall-cleanup  remove every rule of the EdgeBroker firewall group, the\n"
             L"               data directory and HKLM\\SOFTWARE\\EdgeBroker (Policies stays)\n",
             SVC_NAME);
    return code;
}

int wmain(int argc, wchar_t **argv);

int wmain(int argc, wchar_t **argv)
{
    static wchar_t pipe[MAIN_PIPE_NAME_MAX + 16];
    const wchar_t *pipe_name = NULL;
    bool console = false, install = false, uninstall = false, cleanup = false;
    int i;

    svc_harden_process();
    for (i = 1; i < argc; i++) {
        if (wcscmp(argv[i], L"--console") == 0) {
            console = true;
        } else if (wcscmp(argv[i], L"--install") == 0) {
            install = true;
        } else if (wcscmp(argv[i], L"--uninstall") == 0) {
            uninstall = true;
        } else if (wcscmp(argv[i], L"--uninstall-cleanup") == 0) {
            cleanup = true;
        } else if (wcscmp(argv[i], L"--pipe") == 0 && i + 1 < argc) {
            const wchar_t *n = argv[++i];
            if (n[0] == L'\0' || wcslen(n) > MAIN_PIPE_NAME_MAX || wcschr(n, L'\\'))
                return usage(stderr, ERROR_INVALID_PARAMETER);
            swprintf(pipe, sizeof(pipe) / sizeof(pipe[0]), L"\\\\.\\pipe\\%ls", n);
            pipe_name = pipe;
        } else if (wcscmp(argv[i], L"--help") == 0 || wcscmp(argv[i], L"-h") == 0) {
            return usage(stdout, 0);
        } else {
            return usage(stderr, ERROR_INVALID_PARAMETER);
        }
    }
    if (install + uninstall + console + cleanup > 1)
        return usage(stderr, ERROR_INVALID_PARAMETER);
    if (install)
        return svc_install();
    if (uninstall)
        return svc_uninstall();
    if (cleanup)
        return (int)uninstall_cleanup();
    if (console)
        return svc_run_console(pipe_name);
    return svc_run_service(pipe_name);
}
