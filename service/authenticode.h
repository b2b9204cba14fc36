/*
 * Authenticode: is the caller's image validly signed, and by whom (AllowedPublishers,
 * docs/policy.md).
 *
 * authenticode_check opens the file (share read, no delete), runs WinVerifyTrust with
 * WINTRUST_ACTION_GENERIC_VERIFY_V2 on that handle, and on success takes the signer certificate
 * (WTHelperProvDataFromStateData -> WTHelperGetProvSignerFromChain -> chain element 0) and formats
 * its subject with CertNameToStrW(CERT_X500_NAME_STR | CERT_NAME_STR_REVERSE_FLAG):
 * "CN=Contoso Ltd, O=Contoso Ltd, C=US".  The reverse flag gives RFC 4514 order (most specific
 * first) for the usual certificate that encodes C, ..., O, CN; it is the string PowerShell's
 * Get-AuthenticodeSignature shows as SignerCertificate.Subject.  Values containing separators are
 * quoted ("O=\"Contoso, Inc.\""), so a crafted CN cannot imitate a whole subject.
 *
 * Revocation: WTD_REVOKE_NONE plus WTD_CACHE_ONLY_URL_RETRIEVAL.  The service runs as LocalSystem
 * on a pipe worker's path and must never block on CRL/OCSP/AIA downloads (a captive or offline
 * network would stall every request and, with revocation required, fail every signed image).  The
 * cost: a revoked publisher certificate keeps matching until the administrator removes it from
 * AllowedPublishers (or pins images by hash instead).
 *
 * Results are cached by file identity (volume serial, file index, size, last-write and change
 * time; the same key caller.c uses for hashes) for AUTHENTICODE_CACHE_TTL_MS, so a replaced or
 * modified file is re-verified, and trust-store changes are seen within the TTL.
 *
 * wintrust.dll and crypt32.dll are loaded on first use from System32 (LoadLibraryExW with
 * LOAD_LIBRARY_SEARCH_SYSTEM32): the service only needs them for AllowedPublishers, and the
 * build links no import library for them.
 *
 * Thread-safety: any thread; the cache is locked inside.
 */
#ifndef EDGE_SVC_AUTHENTICODE_H
#define EDGE_SVC_AUTHENTICODE_H

#include <windows.h>

#include <stdbool.h>
#include <stdint.h>

#include "edge/protocol.h"

#define AUTHENTICODE_CACHE_ENTRIES 128u
#define AUTHENTICODE_CACHE_TTL_MS  (10u * 60u * 1000u)

struct authenticode_result {
    bool verified;     /* WinVerifyTrust returned 0 and a signer certificate was found */
    LONG trust_status; /* WinVerifyTrust's result (HRESULT), e.g. TRUST_E_NOSIGNATURE */
    char subject[EDGE_MAX_TEXT + 1]; /* UTF-8 signer subject when verified, else "" */
    char reason[256]; /* when not verified: "not signed (TRUST_E_NOSIGNATURE 0x800b0100)" */
    bool cached;      /* served from the cache */
};

/*
 * Verifies image_path.  Fills *out (zeroed on entry).  Returns ERROR_SUCCESS when a verdict was
 * reached (verified or not: an unsigned or badly signed image is a verdict, not an error), or the
 * Win32 error that prevented checking (file cannot be opened, wintrust missing, no memory).
 */
DWORD authenticode_check(const wchar_t *image_path, struct authenticode_result *out);

/* Empties the cache (tests; after a trust-store change). */
void authenticode_cache_flush(void);

/* Symbolic name of common WinVerifyTrust results ("TRUST_E_NOSIGNATURE"), or "unknown". */
const char *authenticode_status_name(LONG status);

#endif /* EDGE_SVC_AUTHENTICODE_H */
