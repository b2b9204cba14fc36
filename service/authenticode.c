/* Authenticode verification of an image and its signer's subject (see authenticode.h). */
#include "authenticode.h"
#include "file_identity.h"

#include <softpub.h>
#include <wincrypt.h>
#include <wintrust.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Absent from mingw-w64's wintrust.h. */
#ifndef WTD_DISABLE_MD2_MD4
#define WTD_DISABLE_MD2_MD4 0x00002000
#endif

/* ---- wintrust / crypt32, loaded on first use ---- */

typedef LONG(WINAPI *win_verify_trust_fn)(HWND, GUID *, LPVOID);
typedef CRYPT_PROVIDER_DATA *(WINAPI *prov_data_fn)(HANDLE);
typedef CRYPT_PROVIDER_SGNR *(WINAPI *prov_signer_fn)(CRYPT_PROVIDER_DATA *, DWORD, BOOL, DWORD);
typedef DWORD(WINAPI *name_to_str_fn)(DWORD, PCERT_NAME_BLOB, DWORD, LPWSTR, DWORD);

static INIT_ONCE g_load_once = INIT_ONCE_STATIC_INIT;
static DWORD g_load_error;
static win_verify_trust_fn p_WinVerifyTrust;
static prov_data_fn p_WTHelperProvDataFromStateData;
static prov_signer_fn p_WTHelperGetProvSignerFromChain;
static name_to_str_fn p_CertNameToStrW;

/* GetProcAddress's FARPROC goes through a generic function pointer type to the real one. */
typedef void (*generic_fn)(void);

static generic_fn sym(HMODULE m, const char *name)
{
    return (generic_fn)(void *)GetProcAddress(m, name);
}

static BOOL CALLBACK load_libs(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
    (void)once;
    (void)param;
    (void)ctx;
    HMODULE wt = LoadLibraryExW(L"wintrust.dll", NULL, LOAD_LIBRARY_SEARCH_SYSTEM32);
    HMODULE c32 = LoadLibraryExW(L"crypt32.dll", NULL, LOAD_LIBRARY_SEARCH_SYSTEM32);
    if (!wt || !c32) {
        g_load_error = GetLastError();
        return TRUE; /* remembered: every check reports it */
    }
    p_WinVerifyTrust = (win_verify_trust_fn)sym(wt, "WinVerifyTrust");
    p_WTHelperProvDataFromStateData = (prov_data_fn)sym(wt, "WTHelperProvDataFromStateData");
    p_WTHelperGetProvSignerFromChain = (prov_signer_fn)sym(wt, "WTHelperGetProvSignerFromChain");
    p_CertNameToStrW = (name_to_str_fn)sym(c32, "CertNameToStrW");
    if (!p_WinVerifyTrust || !p_WTHelperProvDataFromStateData ||
        !p_WTHelperGetProvSignerFromChain || !p_CertNameToStrW)
        g_load_error = ERROR_PROC_NOT_FOUND;
    return TRUE;
}

/* ---- cache ---- */

struct cache_entry {
    bool valid;
    struct file_identity key;
    ULONGLONG inserted;
    ULONGLONG last_used;
    struct authenticode_result result;
};

static SRWLOCK g_cache_lock = SRWLOCK_INIT;
static struct cache_entry g_cache[AUTHENTICODE_CACHE_ENTRIES];

static bool cache_lookup(const struct file_identity *key, struct authenticode_result *out)
{
    bool hit = false;
    ULONGLONG now = GetTickCount64();
    AcquireSRWLockExclusive(&g_cache_lock);
    for (unsigned i = 0; i < AUTHENTICODE_CACHE_ENTRIES; i++) {
        struct cache_entry *e = &g_cache[i];
        if (!e->valid || !file_identity_equal(&e->key, key))
            continue;
        if (now - e->inserted >= AUTHENTICODE_CACHE_TTL_MS) {
            e->valid = false;
            break;
        }
        e->last_used = now;
        *out = e->result;
        hit = true;
        break;
    }
    ReleaseSRWLockExclusive(&g_cache_lock);
    return hit;
}

static void cache_insert(const struct file_identity *key, const struct authenticode_result *r)
{
    ULONGLONG now = GetTickCount64();
    AcquireSRWLockExclusive(&g_cache_lock);
    struct cache_entry *victim = &g_cache[0];
    for (unsigned i = 0; i < AUTHENTICODE_CACHE_ENTRIES; i++) {
        struct cache_entry *e = &g_cache[i];
        if (!e->valid) {
            victim = e;
            break;
        }
        if (e->last_used < victim->last_used)
            victim = e;
    }
    victim->valid = true;
    victim->key = *key;
    victim->inserted = victim->last_used = now;
    victim->result = *r;
    victim->result.cached = false;
    ReleaseSRWLockExclusive(&g_cache_lock);
}

void authenticode_cache_flush(void)
{
    AcquireSRWLockExclusive(&g_cache_lock);
    memset(g_cache, 0, sizeof(g_cache));
    ReleaseSRWLockExclusive(&g_cache_lock);
}

/* ---- verification ---- */

const char *authenticode_status_name(LONG status)
{
    switch ((unsigned long)status) {
    case 0:
        return "ERROR_SUCCESS";
    case 0x800B0100ul:
        return "TRUST_E_NOSIGNATURE";
    case 0x80096010ul:
        return "TRUST_E_BAD_DIGEST";
    case 0x800B0109ul:
        return "CERT_E_UNTRUSTEDROOT";
    case 0x800B010Aul:
        return "CERT_E_CHAINING";
    case 0x800B0101ul:
        return "CERT_E_EXPIRED";
    case 0x800B010Cul:
        return "CERT_E_REVOKED";
    case 0x800B0111ul:
        return "TRUST_E_EXPLICIT_DISTRUST";
    case 0x80096004ul:
        return "TRUST_E_CERT_SIGNATURE";
    case 0x800B0004ul:
        return "TRUST_E_SUBJECT_NOT_TRUSTED";
    case 0x800B0003ul:
        return "TRUST_E_SUBJECT_FORM_UNKNOWN";
    case 0x800B0001ul:
        return "TRUST_E_PROVIDER_UNKNOWN";
    case 0x80092026ul:
        return "CRYPT_E_SECURITY_SETTINGS";
    case 0x800B0110ul:
        return "CERT_E_WRONG_USAGE";
    default:
        return "unknown";
    }
}

/* The signer's subject of a verified state, as UTF-8; false when it cannot be had. */
static bool signer_subject(HANDLE state, char *out, size_t cap)
{
    CRYPT_PROVIDER_DATA *prov = p_WTHelperProvDataFromStateData(state);
    CRYPT_PROVIDER_SGNR *sgnr = prov ? p_WTHelperGetProvSignerFromChain(prov, 0, FALSE, 0) : NULL;
    wchar_t name[EDGE_MAX_TEXT + 1];
    if (!sgnr || sgnr->csCertChain == 0 || !sgnr->pasCertChain || !sgnr->pasCertChain[0].pCert ||
        !sgnr->pasCertChain[0].pCert->pCertInfo)
        return false;
    DWORD n = p_CertNameToStrW(
        X509_ASN_ENCODING | PKCS_7_ASN_ENCODING, &sgnr->pasCertChain[0].pCert->pCertInfo->Subject,
        CERT_X500_NAME_STR | CERT_NAME_STR_REVERSE_FLAG, name, EDGE_MAX_TEXT + 1);
    if (n <= 1)
        return false;
    /* Longer subjects are cut by CertNameToStrW; a cut subject must not match anything. */
    if (n >= EDGE_MAX_TEXT + 1)
        return false;
    int m = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, name, -1, out, (int)cap, NULL, NULL);
    return m > 1;
}

DWORD authenticode_check(const wchar_t *image_path, struct authenticode_result *out)
{
    struct file_identity key, after;
    DWORD err;
    HANDLE file;

    if (!out)
        return ERROR_INVALID_PARAMETER;
    memset(out, 0, sizeof(*out));
    if (!image_path)
        return ERROR_INVALID_PARAMETER;
    InitOnceExecuteOnce(&g_load_once, load_libs, NULL, NULL);
    if (g_load_error != ERROR_SUCCESS)
        return g_load_error;
    /* No FILE_SHARE_WRITE: the verified bytes cannot change under the check. */
    file = CreateFileW(image_path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_DELETE, NULL,
                       OPEN_EXISTING, 0, NULL);
    if (file == INVALID_HANDLE_VALUE)
        return GetLastError();
    err = file_identity_read(file, &key);
    if (err != ERROR_SUCCESS)
        goto done;
    if (cache_lookup(&key, out)) {
        out->cached = true;
        goto done;
    }

    WINTRUST_FILE_INFO fi;
    memset(&fi, 0, sizeof(fi));
    fi.cbStruct = sizeof(fi);
    fi.pcwszFilePath = image_path;
    fi.hFile = file; /* verify the handle whose identity keys the cache */
    WINTRUST_DATA wd;
    memset(&wd, 0, sizeof(wd));
    wd.cbStruct = sizeof(wd);
    wd.dwUIChoice = WTD_UI_NONE;
    wd.fdwRevocationChecks = WTD_REVOKE_NONE;
    wd.dwUnionChoice = WTD_CHOICE_FILE;
    wd.pFile = &fi;
    wd.dwStateAction = WTD_STATEACTION_VERIFY;
    wd.dwProvFlags = WTD_CACHE_ONLY_URL_RETRIEVAL | WTD_REVOCATION_CHECK_NONE | WTD_DISABLE_MD2_MD4;
    GUID action = WINTRUST_ACTION_GENERIC_VERIFY_V2;
    LONG status = p_WinVerifyTrust((HWND)INVALID_HANDLE_VALUE, &action, &wd);
    out->trust_status = status;
    if (status == 0) {
        if (signer_subject(wd.hWVTStateData, out->subject, sizeof(out->subject)))
            out->verified = true;
        else
            snprintf(out->reason, sizeof(out->reason),
                     "signature valid but the signer's subject cannot be read");
    } else {
        snprintf(out->reason, sizeof(out->reason), "%s (%s 0x%08lx)",
                 (unsigned long)status == 0x800B0100ul ? "not signed" : "signature not trusted",
                 authenticode_status_name(status), (unsigned long)status);
    }
    if (!out->verified)
        out->subject[0] = '\0';
    wd.dwStateAction = WTD_STATEACTION_CLOSE;
    p_WinVerifyTrust((HWND)INVALID_HANDLE_VALUE, &action, &wd);
    if (file_identity_read(file, &after) == ERROR_SUCCESS && file_identity_equal(&key, &after))
        cache_insert(&key, out);
done:
    CloseHandle(file);
    return err;
}
