/*
 * instcheck: the checks of the MSI lifecycle test (tests/installer/installer-test), run inside
 * the installer test's Wine prefix after each msiexec step.  Steps:
 *
 * prepare: a Group Policy value under HKLM\SOFTWARE\Policies\EdgeBroker (uninstall must keep it).
 *
 * installed STATE VERSION: first install.  Product VERSION registered once, files in place (the
 * SDK too: ADDLOCAL=ALL), service configured and running, hello answered by edgebroker/VERSION,
 * a KEEP_AFTER_EXIT lease granted with its rule in the group, a local configuration value
 * written.  STATE (a file) records the lease id and the service's PID for the later steps.
 *
 * eventsource: the event source names edgebroker.exe, whose message table has the event ids.
 *
 * upgraded STATE VERSION: after an upgrade.  Only VERSION registered, the service restarted (new
 * PID) and running, the lease and its rule still there, local configuration and SDK kept.
 *
 * unchanged STATE VERSION: after a refused downgrade.  As upgraded, but the same service PID.
 *
 * replaced STATE VERSION: after Wine's own major upgrade.  Only VERSION registered, the service
 * restarted and answering (installer-test says why leases are not checked there).
 *
 * removed: after uninstall.  No product, no service, no rule in the group, no
 * %ProgramData%\EdgeBroker, no install directory, no HKLM\SOFTWARE\EdgeBroker, no event source;
 * the policy value still there.
 *
 * Every check prints "ok: ..." or "FAIL: ..."; the exit status is the number of failures (capped
 * at 100), 2 for a usage error.  Everything here is a plain Win32 or MSI API call, so a check
 * reads the state as Windows itself reports it.
 */
#include "itest.h"

#include <msi.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#ifndef INSTCHECK_UPGRADE_CODE
#error "INSTCHECK_UPGRADE_CODE must be the UpgradeCode of installer/edgebroker.wxs"
#endif

#define POLICY_KEY             L"SOFTWARE\\Policies\\EdgeBroker"
#define LOCAL_KEY              L"SOFTWARE\\EdgeBroker"
#define EVENT_KEY              L"SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\EdgeBroker"
#define POLICY_VALUE           L"AuditLevel"
#define LOCAL_VALUE            L"AuditLevel"
#define TEST_PORT              50123u
#define START_MS               30000u
#define EVENT_ID_SERVICE_START 1000u /* service/messages.mc, EDGE_MSG_SERVICE_START */

static int g_failures;

static void check(bool ok, const char *fmt, ...)
{
    va_list ap;

    printf("%s", ok ? "ok: " : "FAIL: ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    if (!ok)
        g_failures++;
}

/* ---- files and registry ------------------------------------------------------------------- */

static void expand(const wchar_t *in, wchar_t *out, DWORD cap)
{
    DWORD n = ExpandEnvironmentStringsW(in, out, cap);

    if (n == 0 || n > cap)
        out[0] = L'\0';
}

static bool path_exists(const wchar_t *env_path)
{
    wchar_t p[MAX_PATH];

    expand(env_path, p, MAX_PATH);
    return p[0] != L'\0' && GetFileAttributesW(p) != INVALID_FILE_ATTRIBUTES;
}

static void check_file(const wchar_t *env_path, bool want)
{
    check(path_exists(env_path) == want, "%ls %s", env_path, want ? "exists" : "is gone");
}

static bool key_exists(const wchar_t *key)
{
    HKEY h;

    if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, key, 0, KEY_READ | KEY_WOW64_64KEY, &h) != ERROR_SUCCESS)
        return false;
    RegCloseKey(h);
    return true;
}

/* REG_SZ / REG_EXPAND_SZ value, expanded; false when absent or of another type. */
static bool read_string(const wchar_t *key, const wchar_t *name, wchar_t *out, DWORD cap)
{
    wchar_t raw[MAX_PATH];
    DWORD type = 0, size = sizeof(raw) - sizeof(wchar_t);
    LSTATUS rc;

    memset(raw, 0, sizeof(raw));
    rc = RegGetValueW(HKEY_LOCAL_MACHINE, key, name,
                      RRF_RT_REG_SZ | RRF_RT_REG_EXPAND_SZ | RRF_NOEXPAND | RRF_SUBKEY_WOW6464KEY,
                      &type, raw, &size);
    if (rc != ERROR_SUCCESS)
        return false;
    expand(raw, out, cap);
    return out[0] != L'\0';
}

static bool read_dword(const wchar_t *key, const wchar_t *name, DWORD *out)
{
    DWORD size = sizeof(*out);

    return RegGetValueW(HKEY_LOCAL_MACHINE, key, name, RRF_RT_REG_DWORD | RRF_SUBKEY_WOW6464KEY,
                        NULL, out, &size) == ERROR_SUCCESS;
}

static LSTATUS write_string(const wchar_t *key, const wchar_t *name, const wchar_t *value)
{
    HKEY h;
    LSTATUS rc = RegCreateKeyExW(HKEY_LOCAL_MACHINE, key, 0, NULL, 0,
                                 KEY_SET_VALUE | KEY_WOW64_64KEY, NULL, &h, NULL);

    if (rc != ERROR_SUCCESS)
        return rc;
    rc = RegSetValueExW(h, name, 0, REG_SZ, (const BYTE *)value,
                        (DWORD)((wcslen(value) + 1) * sizeof(wchar_t)));
    RegCloseKey(h);
    return rc;
}

/* %ProgramData%\EdgeBroker as the service sees it (under Wine 8 services.exe's environment
 * differs from ours). */
static bool service_data_dir_exists(void)
{
    wchar_t p[MAX_PATH];

    return itest_service_data_path(L"EdgeBroker", p, MAX_PATH) == ERROR_SUCCESS &&
           GetFileAttributesW(p) != INVALID_FILE_ATTRIBUTES;
}

static void installed_exe(wchar_t *out, DWORD cap)
{
    expand(L"%ProgramFiles%\\EdgeBroker\\bin\\edgebroker.exe", out, cap);
}

/* ---- Windows Installer registration ----------------------------------------------------- */

/*
 * msi.dll is loaded at run time: the build's `msi` target (the package) takes the name that
 * target_link_libraries would need for the import library.
 */
typedef UINT(WINAPI *enum_related_fn)(LPCWSTR, DWORD, DWORD, LPWSTR);
typedef UINT(WINAPI *product_info_fn)(LPCWSTR, LPCWSTR, LPWSTR, LPDWORD);

/* Products registered under the package's UpgradeCode (-1 when msi.dll fails); the version of
 * the first in VERSION. */
static int related_products(char *version, size_t cap)
{
    HMODULE msi = LoadLibraryW(L"msi.dll");
    enum_related_fn enum_related = NULL;
    product_info_fn product_info = NULL;
    wchar_t code[39], v[64];
    DWORD i, n;
    int count = 0;

    if (version && cap)
        version[0] = '\0';
    if (msi) {
        enum_related =
            (enum_related_fn)(void (*)(void))GetProcAddress(msi, "MsiEnumRelatedProductsW");
        product_info = (product_info_fn)(void (*)(void))GetProcAddress(msi, "MsiGetProductInfoW");
    }
    if (!enum_related || !product_info) {
        if (msi)
            FreeLibrary(msi);
        return -1;
    }
    for (i = 0; enum_related(INSTCHECK_UPGRADE_CODE, 0, i, code) == ERROR_SUCCESS; i++) {
        count++;
        n = 64;
        if (version && count == 1 &&
            product_info(code, INSTALLPROPERTY_VERSIONSTRING, v, &n) == ERROR_SUCCESS)
            snprintf(version, cap, "%ls", v);
    }
    FreeLibrary(msi);
    return count;
}

static void check_registered(const char *want_version)
{
    char v[64];
    int n = related_products(v, sizeof(v));

    check(n == 1 && strcmp(v, want_version) == 0,
          "exactly one product of the upgrade code is registered, version %s (found %d, %s)",
          want_version, n, v[0] ? v : "-");
}

/* ---- service ------------------------------------------------------------------------------ */

static void check_service_config(void)
{
    SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    SC_HANDLE svc = scm ? OpenServiceW(scm, ITEST_SERVICE, SERVICE_QUERY_CONFIG) : NULL;
    union {
        QUERY_SERVICE_CONFIGW c;
        SERVICE_DESCRIPTIONW d;
        SERVICE_FAILURE_ACTIONSW f;
        BYTE raw[8192];
    } *buf = calloc(1, sizeof(*buf));
    wchar_t exe[MAX_PATH], bin[MAX_PATH + 2];
    DWORD need = 0;
    size_t len;

    check(svc != NULL, "service EdgeBroker exists (error %lu)", svc ? 0ul : GetLastError());
    if (!svc || !buf)
        goto out;
    if (!QueryServiceConfigW(svc, &buf->c, sizeof(*buf), &need)) {
        check(false, "QueryServiceConfigW (error %lu)", GetLastError());
        goto out;
    }
    check(buf->c.dwServiceType == SERVICE_WIN32_OWN_PROCESS, "service type own process (0x%lx)",
          buf->c.dwServiceType);
    check(buf->c.dwStartType == SERVICE_AUTO_START, "automatic start (%lu)", buf->c.dwStartType);
    check(buf->c.dwErrorControl == SERVICE_ERROR_NORMAL, "error control normal (%lu)",
          buf->c.dwErrorControl);
    check(buf->c.lpServiceStartName && _wcsicmp(buf->c.lpServiceStartName, L"LocalSystem") == 0,
          "runs as LocalSystem (%ls)",
          buf->c.lpServiceStartName ? buf->c.lpServiceStartName : L"-");
    check(buf->c.lpDisplayName && wcscmp(buf->c.lpDisplayName, L"Edge Traversal Broker") == 0,
          "display name \"Edge Traversal Broker\" (%ls)",
          buf->c.lpDisplayName ? buf->c.lpDisplayName : L"-");
    /*
     * The image is the installed edgebroker.exe.  Windows Installer quotes a path with spaces;
     * Wine 8's InstallServices does not, so both forms are accepted here (docs/deployment.md).
     */
    installed_exe(exe, MAX_PATH);
    wcsncpy(bin, buf->c.lpBinaryPathName ? buf->c.lpBinaryPathName : L"", MAX_PATH + 1);
    bin[MAX_PATH + 1] = L'\0';
    len = wcslen(bin);
    if (len >= 2 && bin[0] == L'"' && bin[len - 1] == L'"') {
        memmove(bin, bin + 1, (len - 2) * sizeof(wchar_t));
        bin[len - 2] = L'\0';
    }
    check(_wcsicmp(bin, exe) == 0, "service image is %ls (%ls)", exe,
          buf->c.lpBinaryPathName ? buf->c.lpBinaryPathName : L"-");
    if (QueryServiceConfig2W(svc, SERVICE_CONFIG_DESCRIPTION, buf->raw, sizeof(*buf), &need))
        check(buf->d.lpDescription && wcsstr(buf->d.lpDescription, L"Edge Traversal") != NULL,
              "service description set");
    else
        check(false, "QueryServiceConfig2W(DESCRIPTION) (error %lu)", GetLastError());
out:
    free(buf);
    if (svc)
        CloseServiceHandle(svc);
    if (scm)
        CloseServiceHandle(scm);
}

static DWORD check_running(void)
{
    DWORD state = 0, pid = 0, err = itest_svc_wait_state(SERVICE_RUNNING, START_MS);

    if (err == ERROR_SUCCESS)
        err = itest_svc_query(&state, &pid);
    check(err == ERROR_SUCCESS && state == SERVICE_RUNNING && pid != 0,
          "service running (state %lu, pid %lu, error %lu)", state, pid, err);
    return pid;
}

/* ---- pipe --------------------------------------------------------------------------------- */

static itc *connect_checked(const char *want_server)
{
    char want[64], got[EDGE_MAX_NAME + 1] = "";
    edge_msg req, rep;
    itc *c = itc_new();
    DWORD err = c ? itest_wait_ready(START_MS) : ERROR_OUTOFMEMORY;

    if (err == ERROR_SUCCESS)
        err = itc_open(c, NULL, ITEST_IO_MS);
    if (err == ERROR_SUCCESS) {
        memset(&req, 0, sizeof(req));
        req.type = EDGE_MSG_HELLO;
        req.u.hello_req.version_min = 1;
        req.u.hello_req.version_max = 1;
        req.u.hello_req.client_name = edge_str_from_cstr("edgebroker installer test");
        err = itc_call(c, &req, &rep, ITEST_IO_MS);
        if (err == ERROR_SUCCESS && rep.env.status == EDGE_OK) {
            size_t n = rep.u.hello_rep.server_version.len;
            if (n > EDGE_MAX_NAME)
                n = EDGE_MAX_NAME;
            memcpy(got, rep.u.hello_rep.server_version.ptr, n);
            got[n] = '\0';
        } else if (err == ERROR_SUCCESS) {
            err = ERROR_NOT_READY;
        }
    }
    check(err == ERROR_SUCCESS, "pipe answers hello (error %lu)", err);
    if (err == ERROR_SUCCESS && want_server) {
        snprintf(want, sizeof(want), "edgebroker/%s", want_server);
        check(strcmp(got, want) == 0, "hello names server %s (%s)", want, got);
    }
    if (err != ERROR_SUCCESS) {
        itc_free(c);
        return NULL;
    }
    return c;
}

static bool parse_hex_id(const char *hex, uint8_t id[EDGE_ID_SIZE])
{
    unsigned i, v;

    if (strlen(hex) != 2 * EDGE_ID_SIZE)
        return false;
    for (i = 0; i < EDGE_ID_SIZE; i++) {
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return false;
        id[i] = (uint8_t)v;
    }
    return true;
}

/*
 * The lease is listed (every user's leases) and in force: ACTIVE, or INEFFECTIVE where the
 * firewall's effective state defeats it (under Wine: no Teredo); and its rule is in the store.
 */
static void check_lease(itc *c, const uint8_t id[EDGE_ID_SIZE])
{
    itest_lease *all = NULL;
    uint32_t st = 0;
    size_t n = 0, i;
    int state = -1;
    DWORD err = itc_list(c, EDGE_LIST_F_ALL, &st, &all, &n);

    for (i = 0; err == ERROR_SUCCESS && st == EDGE_OK && i < n; i++) {
        if (memcmp(all[i].id, id, EDGE_ID_SIZE) == 0)
            state = all[i].state;
    }
    free(all);
    check(err == ERROR_SUCCESS && st == EDGE_OK && (state == 1 || state == 2),
          "the lease is listed and in force (error %lu, status %s, %lu leases, its state %d)", err,
          edge_status_name(st), (unsigned long)n, state);
    check(itest_fw_wait_rule(id, true, 10000), "the lease's firewall rule is in the store");
    check(itest_fw_group_count() == 1, "exactly one rule in the EdgeBroker group (%ld)",
          itest_fw_group_count());
}

/* ---- state file between steps --------------------------------------------------------- */

static bool state_read(const char *path, uint8_t id[EDGE_ID_SIZE], DWORD *pid)
{
    char hex[2 * EDGE_ID_SIZE + 2];
    unsigned long p = 0;
    FILE *f = fopen(path, "r");
    bool ok;

    if (!f)
        return false;
    ok = fscanf(f, "lease=%33s pid=%lu", hex, &p) == 2 && parse_hex_id(hex, id);
    fclose(f);
    *pid = (DWORD)p;
    return ok;
}

static bool state_write(const char *path, const uint8_t id[EDGE_ID_SIZE], DWORD pid)
{
    char hex[2 * EDGE_ID_SIZE + 1];
    FILE *f = fopen(path, "w");

    if (!f)
        return false;
    itest_hex_id(id, hex);
    fprintf(f, "lease=%s pid=%lu\n", hex, (unsigned long)pid);
    return fclose(f) == 0;
}

/* ---- steps -------------------------------------------------------------------------------- */

static void step_prepare(void)
{
    LSTATUS rc = write_string(POLICY_KEY, POLICY_VALUE, L"Minimal");

    check(rc == ERROR_SUCCESS, "policy value HKLM\\%ls\\%ls written (%ld)", POLICY_KEY,
          POLICY_VALUE, (long)rc);
    check(related_products(NULL, 0) == 0, "no product of the upgrade code is registered yet");
    check(!key_exists(L"SYSTEM\\CurrentControlSet\\Services\\EdgeBroker"),
          "no EdgeBroker service yet");
}

static void step_installed(const char *state, const char *version)
{
    itest_lease lease;
    edge_lease_req r;
    uint32_t st = 0;
    DWORD pid, err;
    itc *c;

    check_registered(version);
    check_file(L"%ProgramFiles%\\EdgeBroker\\bin\\edgebroker.exe", true);
    check_file(L"%ProgramFiles%\\EdgeBroker\\bin\\edgeclient.dll", true);
    check_file(L"%ProgramFiles%\\EdgeBroker\\include\\edgeclient.h", true);
    check_file(L"%ProgramFiles%\\EdgeBroker\\lib\\cmake\\edgeclient\\edgeclient-config.cmake",
               true);
    check_service_config();
    pid = check_running();
    c = connect_checked(version);
    if (!c)
        return;
    r = itest_lease_req(EDGE_IPPROTO_TCP, TEST_PORT);
    r.has_flags = true;
    r.flags = EDGE_LEASE_F_KEEP_AFTER_EXIT;
    memset(&lease, 0, sizeof(lease));
    err = itc_request(c, &r, &st, &lease);
    check(err == ERROR_SUCCESS && st == EDGE_OK, "a lease is granted (error %lu, status %s)", err,
          edge_status_name((edge_status)st));
    if (err == ERROR_SUCCESS && st == EDGE_OK) {
        check(service_data_dir_exists(),
              "the service keeps its state in %%ProgramData%%\\EdgeBroker");
        check_lease(c, lease.id);
        check(state_write(state, lease.id, pid), "state recorded in %s", state);
    }
    itc_free(c);
    /* A local configuration value, as an administrator would set one; the default anyway. */
    check(write_string(LOCAL_KEY, LOCAL_VALUE, L"Minimal") == ERROR_SUCCESS,
          "local configuration value written");
}

static void step_eventsource(void)
{
    wchar_t file[MAX_PATH], exe[MAX_PATH], *msg = NULL;
    DWORD types = 0;
    HMODULE h;

    installed_exe(exe, MAX_PATH);
    check(read_string(EVENT_KEY, L"EventMessageFile", file, MAX_PATH) && _wcsicmp(file, exe) == 0,
          "event source EventMessageFile names %ls", exe);
    check(read_dword(EVENT_KEY, L"TypesSupported", &types) && types == 7,
          "event source TypesSupported = 7 (%lu)", types);
    h = LoadLibraryExW(exe, NULL, LOAD_LIBRARY_AS_DATAFILE | LOAD_LIBRARY_AS_IMAGE_RESOURCE);
    check(h != NULL, "edgebroker.exe loads as a resource file (error %lu)",
          h ? 0ul : GetLastError());
    if (!h)
        return;
    FormatMessageW(FORMAT_MESSAGE_FROM_HMODULE | FORMAT_MESSAGE_IGNORE_INSERTS |
                       FORMAT_MESSAGE_ALLOCATE_BUFFER,
                   h, EVENT_ID_SERVICE_START, MAKELANGID(LANG_ENGLISH, SUBLANG_ENGLISH_US),
                   (LPWSTR)&msg, 0, NULL);
    check(msg && wcsstr(msg, L"service started") != NULL,
          "its message table has event %u (service/messages.mc compiled into edgebroker.exe)",
          EVENT_ID_SERVICE_START);
    LocalFree(msg);
    FreeLibrary(h);
}

enum after {
    AFTER_UPGRADE,   /* state, leases, configuration and SDK kept; service restarted */
    AFTER_DOWNGRADE, /* the refused downgrade changed nothing: same service process */
    AFTER_REPLACE    /* Wine's own major upgrade: product replaced, service restarted */
};

static void step_after(const char *state, const char *version, enum after what)
{
    uint8_t id[EDGE_ID_SIZE];
    DWORD old_pid = 0, pid;
    wchar_t v[32];
    itc *c;

    if (!state_read(state, id, &old_pid)) {
        check(false, "state from the previous step in %s", state);
        return;
    }
    check_registered(version);
    check_file(L"%ProgramFiles%\\EdgeBroker\\bin\\edgebroker.exe", true);
    check_service_config();
    pid = check_running();
    if (what == AFTER_DOWNGRADE)
        check(pid == old_pid, "the service kept running (pid %lu, before %lu)", pid, old_pid);
    else
        check(pid != old_pid, "the service was restarted (pid %lu, before %lu)", pid, old_pid);
    c = connect_checked(NULL);
    if (what != AFTER_REPLACE) {
        check_file(L"%ProgramFiles%\\EdgeBroker\\include\\edgeclient.h", true);
        check(read_string(LOCAL_KEY, LOCAL_VALUE, v, 32) && wcscmp(v, L"Minimal") == 0,
              "local configuration kept");
        if (c)
            check_lease(c, id);
    }
    itc_free(c);
    check(state_write(state, id, pid), "state recorded in %s", state);
}

static void step_removed(void)
{
    wchar_t v[32];
    DWORD state = 0, err = itest_svc_query(&state, NULL);

    check(related_products(NULL, 0) == 0, "no product of the upgrade code is registered");
    check(err == ERROR_SERVICE_DOES_NOT_EXIST, "service EdgeBroker is gone (error %lu)", err);
    check(itest_fw_group_count() == 0, "no rule left in the EdgeBroker group (%ld)",
          itest_fw_group_count());
    check(!service_data_dir_exists(), "the service's %%ProgramData%%\\EdgeBroker is gone");
    check_file(L"%ProgramData%\\EdgeBroker", false);
    check_file(L"%ProgramFiles%\\EdgeBroker", false);
    check(!key_exists(LOCAL_KEY), "HKLM\\%ls is gone", LOCAL_KEY);
    check(!key_exists(EVENT_KEY), "HKLM\\%ls is gone", EVENT_KEY);
    check(read_string(POLICY_KEY, POLICY_VALUE, v, 32) && wcscmp(v, L"Minimal") == 0,
          "HKLM\\%ls\\%ls is untouched", POLICY_KEY, POLICY_VALUE);
}

static int usage(void)
{
    fprintf(stderr, "usage: instcheck prepare | installed STATE VERSION | eventsource |\n"
                    "       upgraded STATE VERSION | unchanged STATE VERSION |\n"
                    "       replaced STATE VERSION | removed\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *step = argc > 1 ? argv[1] : "";

    if (itest_fw_use_service_store() != ERROR_SUCCESS) {
        printf("FAIL: cannot locate the firewall double's store as the service sees it\n");
        return 1;
    }
    if (strcmp(step, "prepare") == 0 && argc == 2)
        step_prepare();
    else if (strcmp(step, "installed") == 0 && argc == 4)
        step_installed(argv[2], argv[3]);
    else if (strcmp(step, "eventsource") == 0 && argc == 2)
        step_eventsource();
    else if (strcmp(step, "upgraded") == 0 && argc == 4)
        step_after(argv[2], argv[3], AFTER_UPGRADE);
    else if (strcmp(step, "unchanged") == 0 && argc == 4)
        step_after(argv[2], argv[3], AFTER_DOWNGRADE);
    else if (strcmp(step, "replaced") == 0 && argc == 4)
        step_after(argv[2], argv[3], AFTER_REPLACE);
    else if (strcmp(step, "removed") == 0 && argc == 2)
        step_removed();
    else
        return usage();
    printf("%s: %d failure(s)\n", step, g_failures);
    return g_failures > 100 ? 100 : g_failures;
}
