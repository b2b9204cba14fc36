/*
 * Service lifecycle (see service.h).
 */
#include "service.h"
#include "config.h"
#include "log.h"
#include "pipe_server.h"
#include "verbs.h"

#include <aclapi.h>
#include <sddl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

static const wchar_t *g_pipe_name = SVC_PIPE_NAME;
static HANDLE g_stop_event;
static SERVICE_STATUS_HANDLE g_status_handle;
static SERVICE_STATUS g_status;

/* ---- hardening ----------------------------------------------------------------------------- */

typedef BOOL(WINAPI *set_mitigation_fn)(PROCESS_MITIGATION_POLICY, PVOID, SIZE_T);

static void mitigate(set_mitigation_fn fn, PROCESS_MITIGATION_POLICY which, void *policy,
                     size_t size, const wchar_t *name)
{
    if (!fn(which, policy, size))
        log_msgw(LOG_WARNING, L"mitigation %ls not applied: error %lu", name, GetLastError());
}

void svc_harden_process(void)
{
    HMODULE k32 = GetModuleHandleW(L"kernel32.dll");
    set_mitigation_fn set_policy;

    /* DLLs from System32 only: no current directory, no PATH, no application directory plants. */
    if (!SetDefaultDllDirectories(LOAD_LIBRARY_SEARCH_SYSTEM32))
        log_msgw(LOG_WARNING, L"SetDefaultDllDirectories failed: error %lu", GetLastError());
    if (!HeapSetInformation(NULL, HeapEnableTerminationOnCorruption, NULL, 0))
        log_msgw(LOG_WARNING, L"HeapSetInformation failed: error %lu", GetLastError());
    /* Windows 8+; resolved at run time so that the binary still loads where it is missing. */
    set_policy =
        k32 ? (set_mitigation_fn)(void (*)(void))GetProcAddress(k32, "SetProcessMitigationPolicy")
            : NULL;
    if (!set_policy) {
        log_msgw(LOG_WARNING, L"SetProcessMitigationPolicy unavailable");
        return;
    }
    {
        /* Using a closed or bogus handle raises at once instead of acting on a recycled one. */
        PROCESS_MITIGATION_STRICT_HANDLE_CHECK_POLICY p;
        memset(&p, 0, sizeof(p));
        p.RaiseExceptionOnInvalidHandleReference = 1;
        p.HandleExceptionsPermanentlyEnabled = 1;
        mitigate(set_policy, ProcessStrictHandleCheckPolicy, &p, sizeof(p), L"strict-handle");
    }
    {
        /* No AppInit DLLs, legacy hooks or IMEs injected into a LocalSystem process. */
        PROCESS_MITIGATION_EXTENSION_POINT_DISABLE_POLICY p;
        memset(&p, 0, sizeof(p));
        p.DisableExtensionPoints = 1;
        mitigate(set_policy, ProcessExtensionPointDisablePolicy, &p, sizeof(p),
                 L"extension-points");
    }
    {
        /* Never map images from network shares or low-integrity files. */
        PROCESS_MITIGATION_IMAGE_LOAD_POLICY p;
        memset(&p, 0, sizeof(p));
        p.NoRemoteImages = 1;
        p.NoLowMandatoryLabelImages = 1;
        p.PreferSystem32Images = 1;
        mitigate(set_policy, ProcessImageLoadPolicy, &p, sizeof(p), L"image-load");
    }
    {
        /* The service draws nothing; font parsing is attack surface it does not need. */
        PROCESS_MITIGATION_FONT_DISABLE_POLICY p;
        memset(&p, 0, sizeof(p));
        p.DisableNonSystemFonts = 1;
        mitigate(set_policy, ProcessFontDisablePolicy, &p, sizeof(p), L"fonts");
    }
    /*
     * Not applied: MicrosoftSignedOnly (the test prefix loads the unsigned firewall double
     * in-process) and ProhibitDynamicCode (COM and RPC internals of some Windows versions need
     * it; a failure there would be a firewall outage).
     */
}

/* ---- single instance ----------------------------------------------------------------------- */

/* The token's user SID into SID (SECURITY_MAX_SID_SIZE bytes); false on failure. */
static bool own_user_sid(BYTE *sid)
{
    union {
        TOKEN_USER user;
        BYTE raw[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
    } tu;
    HANDLE token;
    DWORD len;
    bool ok = false;

    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token))
        return false;
    if (GetTokenInformation(token, TokenUser, &tu, sizeof(tu), &len))
        ok = CopySid(SECURITY_MAX_SID_SIZE, sid, tu.user.User.Sid) != FALSE;
    CloseHandle(token);
    return ok;
}

static bool sid_is_own_user(PSID sid)
{
    BYTE own[SECURITY_MAX_SID_SIZE];
    return own_user_sid(own) && EqualSid(sid, own);
}

/* Explicit owner for objects we create: SYSTEM as the service, Administrators for an admin. */
static const wchar_t *owner_sddl(void)
{
    BYTE own[SECURITY_MAX_SID_SIZE], admins[SECURITY_MAX_SID_SIZE];
    DWORD alen = sizeof(admins);
    BOOL member = FALSE;

    if (own_user_sid(own) && IsWellKnownSid(own, WinLocalSystemSid))
        return L"O:SY";
    if (CreateWellKnownSid(WinBuiltinAdministratorsSid, NULL, admins, &alen) &&
        CheckTokenMembership(NULL, admins, &member) && member)
        return L"O:BA";
    return L"";
}

/* SYSTEM, Administrators, or our own account (a --console run; Wine makes the user the owner). */
static bool owner_is_trusted(HANDLE h)
{
    PSID owner = NULL;
    PSECURITY_DESCRIPTOR sd = NULL;
    bool ok = false;

    if (GetSecurityInfo(h, SE_KERNEL_OBJECT, OWNER_SECURITY_INFORMATION, &owner, NULL, NULL, NULL,
                        &sd) == ERROR_SUCCESS &&
        owner)
        ok = IsWellKnownSid(owner, WinLocalSystemSid) ||
             IsWellKnownSid(owner, WinBuiltinAdministratorsSid) || sid_is_own_user(owner);
    if (sd)
        LocalFree(sd);
    return ok;
}

/*
 * Global\ is writable by every user, so an existing object of that name is only proof of a second
 * instance when a trusted account owns it; a mutex squatted by someone else (or one whose
 * DACL shuts us out, which ours never does) is reported and ignored rather than allowed to keep
 * the service from starting.  The pipe's FILE_FLAG_FIRST_PIPE_INSTANCE is the second line.
 */
static DWORD acquire_instance(HANDLE *out)
{
    SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, FALSE};
    wchar_t sddl[64];
    HANDLE h;
    DWORD err;

    *out = NULL;
    /* SYSTEM and Administrators only; nobody else may open, wait on or release it. */
    swprintf(sddl, sizeof(sddl) / sizeof(sddl[0]), L"%lsD:P(A;;GA;;;SY)(A;;GA;;;BA)", owner_sddl());
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1,
                                                              &sa.lpSecurityDescriptor, NULL))
        return GetLastError();
    h = CreateMutexW(&sa, FALSE, SVC_INSTANCE_MUTEX);
    err = GetLastError();
    LocalFree(sa.lpSecurityDescriptor);
    if (!h) {
        if (err == ERROR_ACCESS_DENIED) {
            log_msgw(LOG_WARNING,
                     L"instance mutex %ls is held by an unprivileged process; ignoring it",
                     SVC_INSTANCE_MUTEX);
            return ERROR_SUCCESS;
        }
        return err;
    }
    if (err == ERROR_ALREADY_EXISTS) {
        if (owner_is_trusted(h)) {
            CloseHandle(h);
            return ERROR_ALREADY_EXISTS;
        }
        log_msgw(LOG_WARNING,
                 L"instance mutex %ls was created by an unprivileged process; ignoring it",
                 SVC_INSTANCE_MUTEX);
    }
    *out = h;
    return ERROR_SUCCESS;
}

/* ---- limits from local configuration ------------------------------------------------------- */

struct limit_def {
    const wchar_t *name;
    size_t offset; /* of an unsigned field of struct pipe_server_config */
    unsigned lo, hi;
};

static const struct limit_def g_limits[] = {
    {L"RequestsPerSecondPerUser", offsetof(struct pipe_server_config, rate_per_sec),
     SVC_LIMIT_RATE_PER_SEC_MIN, SVC_LIMIT_RATE_PER_SEC_MAX},
    {L"RequestBurstPerUser", offsetof(struct pipe_server_config, rate_burst),
     SVC_LIMIT_RATE_BURST_MIN, SVC_LIMIT_RATE_BURST_MAX},
    {L"MaxConnectionsPerUser", offsetof(struct pipe_server_config, max_per_user),
     SVC_LIMIT_MAX_PER_USER_MIN, SVC_LIMIT_MAX_PER_USER_MAX},
    {L"MaxConnections", offsetof(struct pipe_server_config, max_connections),
     SVC_LIMIT_MAX_CONNECTIONS_MIN, SVC_LIMIT_MAX_CONNECTIONS_MAX},
    {L"HandshakeTimeoutMs", offsetof(struct pipe_server_config, handshake_timeout_ms),
     SVC_LIMIT_HANDSHAKE_MS_MIN, SVC_LIMIT_HANDSHAKE_MS_MAX},
    {L"IdleTimeoutMs", offsetof(struct pipe_server_config, idle_timeout_ms), SVC_LIMIT_IDLE_MS_MIN,
     SVC_LIMIT_IDLE_MS_MAX},
};

/*
 * Overrides the pipe server's limits with the REG_DWORD values under HKLM\SVC_LIMITS_KEY (see
 * config.h).  A missing key or value keeps the default silently; anything else that is not a
 * REG_DWORD inside its bounds keeps the default with a warning, so a typo never removes a limit.
 */
static void load_local_limits(struct pipe_server_config *cfg)
{
    HKEY key = NULL;
    unsigned overridden = 0;
    size_t i;

    if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, SVC_LIMITS_KEY, 0, KEY_QUERY_VALUE | KEY_WOW64_64KEY,
                      &key) != ERROR_SUCCESS)
        return;
    for (i = 0; i < sizeof(g_limits) / sizeof(g_limits[0]); i++) {
        const struct limit_def *d = &g_limits[i];
        unsigned *field = (unsigned *)((char *)cfg + d->offset);
        DWORD type = REG_NONE, value = 0, size = sizeof(value);
        LSTATUS err = RegQueryValueExW(key, d->name, NULL, &type, (BYTE *)&value, &size);

        if (err == ERROR_FILE_NOT_FOUND)
            continue;
        if (err != ERROR_SUCCESS || type != REG_DWORD || size != sizeof(value)) {
            log_msgw(LOG_WARNING, L"%ls\\%ls is not a REG_DWORD (error %ld); using %u",
                     SVC_LIMITS_KEY, d->name, (long)err, *field);
            continue;
        }
        if (value < d->lo || value > d->hi) {
            log_msgw(LOG_WARNING, L"%ls\\%ls = %lu is outside %u..%u; using %u", SVC_LIMITS_KEY,
                     d->name, (unsigned long)value, d->lo, d->hi, *field);
            continue;
        }
        *field = value;
        overridden++;
    }
    RegCloseKey(key);
    if (cfg->max_per_user > cfg->max_connections) {
        log_msgw(LOG_WARNING, L"MaxConnectionsPerUser %u exceeds MaxConnections %u; using %u",
                 cfg->max_per_user, cfg->max_connections, cfg->max_connections);
        cfg->max_per_user = cfg->max_connections;
    }
    if (overridden)
        log_msgw(LOG_INFO,
                 L"limits (%u from local configuration): %u req/s per user, burst %u, %u "
                 L"connections per user, %u in total, handshake %u ms, idle %u ms",
                 overridden, cfg->rate_per_sec, cfg->rate_burst, cfg->max_per_user,
                 cfg->max_connections, cfg->handshake_timeout_ms, cfg->idle_timeout_ms);
}

/* ---- server lifetime shared by service and console ----------------------------------------- */

struct svc_runtime {
    HANDLE instance;
    struct verb_table verbs;
    void *verbs_ctx;
    bool verbs_started;
    struct pipe_server *server;
};

static DWORD runtime_start(struct svc_runtime *rt)
{
    struct pipe_server_config cfg;
    DWORD err;

    memset(rt, 0, sizeof(*rt));
    err = acquire_instance(&rt->instance);
    if (err == ERROR_ALREADY_EXISTS) {
        log_msgw(LOG_ERROR,
                 L"another EdgeBroker instance is already running on this machine; not starting");
        return err;
    }
    if (err != ERROR_SUCCESS) {
        log_msgw(LOG_ERROR, L"cannot create the instance mutex: error %lu", err);
        return err;
    }
    err = conn_verbs_init(&rt->verbs);
    if (err != ERROR_SUCCESS) {
        log_msgw(LOG_ERROR, L"cannot draw the service epoch: error %lu", err);
        return err;
    }
    err = verbs_startup(&rt->verbs, &rt->verbs_ctx);
    if (err != ERROR_SUCCESS) {
        log_msgw(LOG_ERROR, L"verbs failed to start: error %lu", err);
        return err;
    }
    rt->verbs_started = true;
    pipe_server_config_init(&cfg);
    load_local_limits(&cfg);
    cfg.pipe_name = g_pipe_name;
    cfg.verbs = &rt->verbs;
    cfg.verb_context = rt->verbs_ctx;
    err = pipe_server_start(&cfg, &rt->server);
    if (err == ERROR_ACCESS_DENIED || err == ERROR_PIPE_BUSY)
        log_msgw(LOG_ERROR,
                 L"pipe %ls is already served by another process (error %lu); not starting",
                 g_pipe_name, err);
    else if (err != ERROR_SUCCESS)
        log_msgw(LOG_ERROR, L"pipe server failed to start on %ls: error %lu", g_pipe_name, err);
    else
        log_msgw(LOG_INFO, L"serving %ls", g_pipe_name);
    return err;
}

static void runtime_stop(struct svc_runtime *rt)
{
    ULONGLONG t0 = GetTickCount64();
    bool was_serving = rt->server != NULL;

    if (rt->server && !pipe_server_stop(rt->server))
        log_msgw(LOG_WARNING, L"pipe server did not drain within its bound; exiting anyway");
    rt->server = NULL;
    if (rt->verbs_started)
        verbs_shutdown(rt->verbs_ctx);
    rt->verbs_started = false;
    if (rt->instance)
        CloseHandle(rt->instance);
    rt->instance = NULL;
    if (was_serving)
        log_msgw(LOG_INFO, L"stopped in %llu ms", (unsigned long long)(GetTickCount64() - t0));
}

/* ---- SCM ----------------------------------------------------------------------------------- */

static void report(DWORD state, DWORD exit_code, DWORD wait_hint)
{
    g_status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    g_status.dwCurrentState = state;
    g_status.dwWin32ExitCode = exit_code;
    g_status.dwWaitHint = wait_hint;
    g_status.dwControlsAccepted =
        state == SERVICE_RUNNING
            ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN | SERVICE_ACCEPT_PRESHUTDOWN
            : 0;
    if (state == SERVICE_RUNNING || state == SERVICE_STOPPED)
        g_status.dwCheckPoint = 0;
    else
        g_status.dwCheckPoint++;
    if (g_status_handle && !SetServiceStatus(g_status_handle, &g_status))
        log_msgw(LOG_WARNING, L"SetServiceStatus failed: error %lu", GetLastError());
}

static DWORD WINAPI control_handler(DWORD control, DWORD type, LPVOID data, LPVOID ctx)
{
    (void)type;
    (void)data;
    (void)ctx;
    switch (control) {
    case SERVICE_CONTROL_STOP:
    case SERVICE_CONTROL_SHUTDOWN:
    case SERVICE_CONTROL_PRESHUTDOWN:
        report(SERVICE_STOP_PENDING, NO_ERROR, PIPE_DEFAULT_DRAIN_TIMEOUT_MS + SVC_WAIT_HINT_MS);
        SetEvent(g_stop_event);
        return NO_ERROR;
    case SERVICE_CONTROL_INTERROGATE:
        return NO_ERROR;
    default:
        return ERROR_CALL_NOT_IMPLEMENTED;
    }
}

static void configure_self(void)
{
    SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    SC_HANDLE svc = scm ? OpenServiceW(scm, SVC_NAME, SERVICE_CHANGE_CONFIG) : NULL;

    if (!svc)
        log_msgw(LOG_WARNING, L"cannot open own service to configure it: error %lu",
                 GetLastError());
    else
        svc_configure(svc);
    if (svc)
        CloseServiceHandle(svc);
    if (scm)
        CloseServiceHandle(scm);
}

static void WINAPI service_main(DWORD argc, LPWSTR *argv)
{
    struct svc_runtime rt;
    DWORD err;

    (void)argc;
    (void)argv;
    log_open(NULL, NULL, LOG_INFO); /* Event Log; falls back to stderr on failure */
    g_status_handle = RegisterServiceCtrlHandlerExW(SVC_NAME, control_handler, NULL);
    if (!g_status_handle) {
        log_msgw(LOG_ERROR, L"RegisterServiceCtrlHandlerExW failed: error %lu", GetLastError());
        return;
    }
    report(SERVICE_START_PENDING, NO_ERROR, SVC_WAIT_HINT_MS);
    configure_self();
    report(SERVICE_START_PENDING, NO_ERROR, SVC_WAIT_HINT_MS);
    err = runtime_start(&rt);
    if (err != ERROR_SUCCESS) {
        runtime_stop(&rt);
        /* A non-crash failure: with FailureActionsOnNonCrashFailures the SCM still recovers. */
        report(SERVICE_STOPPED, err, 0);
        log_close();
        return;
    }
    report(SERVICE_RUNNING, NO_ERROR, 0);
    WaitForSingleObject(g_stop_event, INFINITE);
    report(SERVICE_STOP_PENDING, NO_ERROR, PIPE_DEFAULT_DRAIN_TIMEOUT_MS + SVC_WAIT_HINT_MS);
    runtime_stop(&rt);
    report(SERVICE_STOPPED, NO_ERROR, 0);
    log_close();
}

int svc_run_service(const wchar_t *pipe_name)
{
    SERVICE_TABLE_ENTRYW table[] = {{(LPWSTR)SVC_NAME, service_main}, {NULL, NULL}};

    g_pipe_name = pipe_name ? pipe_name : SVC_PIPE_NAME;
    g_stop_event = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!g_stop_event)
        return (int)GetLastError();
    if (!StartServiceCtrlDispatcherW(table)) {
        DWORD err = GetLastError();
        if (err == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT)
            fwprintf(stderr, L"edgebroker: not started by the service control manager; use "
                             L"--console to run in the foreground, or --help\n");
        else
            fwprintf(stderr, L"edgebroker: StartServiceCtrlDispatcherW failed: error %lu\n", err);
        return (int)err;
    }
    return 0;
}

/* ---- console ------------------------------------------------------------------------------- */

static BOOL WINAPI console_handler(DWORD type)
{
    switch (type) {
    case CTRL_C_EVENT:
    case CTRL_BREAK_EVENT:
    case CTRL_CLOSE_EVENT:
    case CTRL_SHUTDOWN_EVENT:
        SetEvent(g_stop_event);
        return TRUE;
    default:
        return FALSE;
    }
}

int svc_run_console(const wchar_t *pipe_name)
{
    struct svc_runtime rt;
    DWORD err;

    log_open(GetStdHandle(STD_ERROR_HANDLE), NULL, LOG_INFO);
    g_pipe_name = pipe_name ? pipe_name : SVC_PIPE_NAME;
    g_stop_event = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!g_stop_event || !SetConsoleCtrlHandler(console_handler, TRUE))
        return (int)GetLastError();
    err = runtime_start(&rt);
    if (err != ERROR_SUCCESS) {
        runtime_stop(&rt);
        return (int)err;
    }
    log_msgw(LOG_INFO, L"running in the foreground; Ctrl+C stops");
    WaitForSingleObject(g_stop_event, INFINITE);
    log_msgw(LOG_WARNING, L"stopping");
    runtime_stop(&rt);
    return 0;
}

/* ---- configuration, install, uninstall ----------------------------------------------------- */

DWORD svc_configure(SC_HANDLE service)
{
    SC_ACTION actions[3] = {{SC_ACTION_RESTART, SVC_RESTART_DELAY_1_MS},
                            {SC_ACTION_RESTART, SVC_RESTART_DELAY_2_MS},
                            {SC_ACTION_RESTART, SVC_RESTART_DELAY_3_MS}};
    SERVICE_FAILURE_ACTIONSW fa;
    SERVICE_FAILURE_ACTIONS_FLAG flag;
    SERVICE_SID_INFO sid;
    SERVICE_REQUIRED_PRIVILEGES_INFOW privs;
    DWORD first = ERROR_SUCCESS;

    memset(&fa, 0, sizeof(fa));
    fa.dwResetPeriod = SVC_FAILURE_RESET_S;
    fa.cActions = 3;
    fa.lpsaActions = actions;
    flag.fFailureActionsOnNonCrashFailures = TRUE;
    /* Unrestricted: the service SID is added to the token, so objects can grant it by SID. */
    sid.dwServiceSidType = SERVICE_SID_TYPE_UNRESTRICTED;
    privs.pmszRequiredPrivileges = (LPWSTR)SVC_REQUIRED_PRIVILEGES;
    if (!ChangeServiceConfig2W(service, SERVICE_CONFIG_FAILURE_ACTIONS, &fa)) {
        first = GetLastError();
        log_msgw(LOG_WARNING, L"setting recovery actions failed: error %lu", first);
    }
    if (!ChangeServiceConfig2W(service, SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, &flag)) {
        DWORD e = GetLastError();
        first = first ? first : e;
        log_msgw(LOG_WARNING, L"setting failure-actions flag failed: error %lu", e);
    }
    if (!ChangeServiceConfig2W(service, SERVICE_CONFIG_SERVICE_SID_INFO, &sid)) {
        DWORD e = GetLastError();
        first = first ? first : e;
        log_msgw(LOG_WARNING, L"setting service SID type failed: error %lu", e);
    }
    if (!ChangeServiceConfig2W(service, SERVICE_CONFIG_REQUIRED_PRIVILEGES_INFO, &privs)) {
        DWORD e = GetLastError();
        first = first ? first : e;
        log_msgw(LOG_WARNING, L"setting required privileges failed: error %lu", e);
    }
    return first;
}

int svc_install(void)
{
    wchar_t path[MAX_PATH + 2], cmd[MAX_PATH + 4];
    SERVICE_DESCRIPTIONW desc = {(LPWSTR)SVC_DESCRIPTION};
    SC_HANDLE scm = NULL, svc = NULL;
    DWORD n, err = ERROR_SUCCESS;

    log_open(GetStdHandle(STD_ERROR_HANDLE), NULL, LOG_INFO);
    n = GetModuleFileNameW(NULL, path, MAX_PATH + 1);
    if (n == 0 || n > MAX_PATH)
        return (int)(n == 0 ? GetLastError() : ERROR_FILENAME_EXCED_RANGE);
    /* Quoted: an unquoted path with spaces is the classic service hijack. */
    swprintf(cmd, sizeof(cmd) / sizeof(cmd[0]), L"\"%ls\"", path);
    scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CREATE_SERVICE);
    if (!scm) {
        err = GetLastError();
        log_msgw(LOG_ERROR, L"cannot open the service control manager: error %lu", err);
        goto out;
    }
    svc = CreateServiceW(scm, SVC_NAME, SVC_DISPLAY_NAME, SERVICE_ALL_ACCESS,
                         SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START, SERVICE_ERROR_NORMAL, cmd,
                         NULL, NULL, NULL, NULL /* LocalSystem */, NULL);
    if (!svc) {
        err = GetLastError();
        log_msgw(LOG_ERROR, L"CreateServiceW failed: error %lu", err);
        goto out;
    }
    if (!ChangeServiceConfig2W(svc, SERVICE_CONFIG_DESCRIPTION, &desc))
        log_msgw(LOG_WARNING, L"setting the description failed: error %lu", GetLastError());
    svc_configure(svc);
    log_msgw(LOG_INFO, L"installed service %ls (%ls)", SVC_NAME, cmd);
out:
    if (svc)
        CloseServiceHandle(svc);
    if (scm)
        CloseServiceHandle(scm);
    return (int)err;
}

int svc_uninstall(void)
{
    SC_HANDLE scm = NULL, svc = NULL;
    SERVICE_STATUS st;
    DWORD err = ERROR_SUCCESS;
    int i;

    log_open(GetStdHandle(STD_ERROR_HANDLE), NULL, LOG_INFO);
    scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    svc = scm ? OpenServiceW(scm, SVC_NAME, DELETE | SERVICE_STOP | SERVICE_QUERY_STATUS) : NULL;
    if (!svc) {
        err = GetLastError();
        log_msgw(LOG_ERROR, L"cannot open service %ls: error %lu", SVC_NAME, err);
        goto out;
    }
    if (ControlService(svc, SERVICE_CONTROL_STOP, &st)) {
        for (i = 0; i < 100 && st.dwCurrentState != SERVICE_STOPPED; i++) {
            Sleep(100);
            if (!QueryServiceStatus(svc, &st))
                break;
        }
    }
    if (!DeleteService(svc)) {
        err = GetLastError();
        log_msgw(LOG_ERROR, L"DeleteService failed: error %lu", err);
        goto out;
    }
    log_msgw(LOG_INFO, L"uninstalled service %ls", SVC_NAME);
out:
    if (svc)
        CloseServiceHandle(svc);
    if (scm)
        CloseServiceHandle(scm);
    return (int)err;
}
