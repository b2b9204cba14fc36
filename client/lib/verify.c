/*
 * Server verification: before the library trusts a single reply, it proves that the pipe it
 * opened is served by the EdgeBroker service and not by a process that created the same pipe
 * name first (any local user can create a pipe of any free name).
 *
 * Two independent facts must both hold:
 *   1. The pipe's owner is LocalSystem, the service SID (NT SERVICE\EdgeBroker), or
 *      BUILTIN\Administrators.  An ordinary user cannot make any of these the owner of an object
 *      it creates.  Administrators is accepted because an elevated administrator could replace the
 *      service anyway, and because Wine runs services with an administrator token (the service's
 *      pipe server then picks O:BA).
 *   2. GetNamedPipeServerProcessId equals the process id the SCM reports for the running
 *      EdgeBroker service.  This binds the pipe to the service process itself, not merely to
 *      some privileged process.
 */
#include "client.h"

#include <aclapi.h>
#include <bcrypt.h>
#include <wchar.h>

edge_result verify_decide(bool owner_trusted, DWORD server_pid, DWORD scm_pid)
{
    if (!owner_trusted || scm_pid == 0 || server_pid != scm_pid)
        return EDGE_CLIENT_E_FAKE_SERVER;
    return EDGE_OK;
}

/*
 * Service SIDs are S-1-5-80 followed by the five little-endian 32-bit words of the SHA-1 of the
 * service name, upper-cased, in UTF-16LE.  Computing it avoids LookupAccountNameW, which needs
 * the service to be installed and is not implemented for service names by every Windows look-alike.
 */
DWORD verify_service_sid(const wchar_t *service, BYTE *sid, DWORD cap)
{
    SID_IDENTIFIER_AUTHORITY nt = SECURITY_NT_AUTHORITY;
    wchar_t upper[257];
    BYTE digest[20];
    DWORD sub[5];
    size_t n = wcslen(service), i;
    NTSTATUS st;
    PSID tmp = NULL;
    DWORD err = ERROR_SUCCESS;

    if (n == 0 || n >= sizeof(upper) / sizeof(upper[0]))
        return ERROR_INVALID_PARAMETER;
    /* Invariant upper-casing, as the SCM does (kernel32 only: no user32 in the application). */
    if (LCMapStringEx(LOCALE_NAME_INVARIANT, LCMAP_UPPERCASE, service, (int)n, upper, (int)n, NULL,
                      NULL, 0) != (int)n)
        return GetLastError();
    {
        BCRYPT_ALG_HANDLE alg = NULL;
        st = BCryptOpenAlgorithmProvider(&alg, BCRYPT_SHA1_ALGORITHM, NULL, 0);
        if (st == 0) {
            st = BCryptHash(alg, NULL, 0, (PUCHAR)upper, (ULONG)(n * sizeof(wchar_t)), digest,
                            sizeof(digest));
            BCryptCloseAlgorithmProvider(alg, 0);
        }
        if (st != 0)
            return ERROR_NOT_SUPPORTED;
    }
    for (i = 0; i < 5; i++)
        sub[i] = (DWORD)digest[4 * i] | (DWORD)digest[4 * i + 1] << 8 |
                 (DWORD)digest[4 * i + 2] << 16 | (DWORD)digest[4 * i + 3] << 24;
    if (!AllocateAndInitializeSid(&nt, 6, SECURITY_SERVICE_ID_BASE_RID, sub[0], sub[1], sub[2],
                                  sub[3], sub[4], 0, 0, &tmp))
        return GetLastError();
    if (!CopySid(cap, sid, tmp))
        err = GetLastError();
    FreeSid(tmp);
    return err;
}

bool verify_owner_trusted(PSID owner)
{
    BYTE service_sid[SECURITY_MAX_SID_SIZE];

    if (!owner || !IsValidSid(owner))
        return false;
    if (IsWellKnownSid(owner, WinLocalSystemSid) ||
        IsWellKnownSid(owner, WinBuiltinAdministratorsSid))
        return true;
    if (verify_service_sid(VERIFY_SERVICE_NAME, service_sid, sizeof(service_sid)) ==
            ERROR_SUCCESS &&
        EqualSid(owner, service_sid))
        return true;
    return false;
}

DWORD verify_scm_pid(const wchar_t *service)
{
    SC_HANDLE scm, svc;
    SERVICE_STATUS_PROCESS ssp;
    DWORD need = 0, pid = 0;

    scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    if (!scm)
        return 0;
    svc = OpenServiceW(scm, service, SERVICE_QUERY_STATUS);
    if (svc) {
        if (QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, (LPBYTE)&ssp, sizeof(ssp), &need) &&
            ssp.dwCurrentState != SERVICE_STOPPED)
            pid = ssp.dwProcessId;
        CloseServiceHandle(svc);
    }
    CloseServiceHandle(scm);
    return pid;
}

edge_result verify_server(HANDLE pipe)
{
    PSID owner = NULL;
    PSECURITY_DESCRIPTOR sd = NULL;
    ULONG server_pid = 0;
    bool trusted = false;

    /* A failure to read either fact counts as "not proven", never as a pass. */
    if (GetSecurityInfo(pipe, SE_KERNEL_OBJECT, OWNER_SECURITY_INFORMATION, &owner, NULL, NULL,
                        NULL, &sd) == ERROR_SUCCESS)
        trusted = verify_owner_trusted(owner);
    if (sd)
        LocalFree(sd);
    if (!GetNamedPipeServerProcessId(pipe, &server_pid))
        server_pid = 0;
    return verify_decide(trusted, server_pid, verify_scm_pid(VERIFY_SERVICE_NAME));
}
