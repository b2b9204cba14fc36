/* SHA-256 and ECDSA P-256 through CNG; see crypto.h. */
#include "crypto.h"

#include <string.h>

#ifndef STATUS_INVALID_SIGNATURE
#define STATUS_INVALID_SIGNATURE ((NTSTATUS)0xC000A000L)
#endif
#ifndef HRESULT_FROM_NT
#define HRESULT_FROM_NT(x) ((HRESULT)((x) | 0x10000000))
#endif

#define CRYPTO_COORD_LEN 32u

static INIT_ONCE crypto_once = INIT_ONCE_STATIC_INIT;
static BCRYPT_ALG_HANDLE crypto_sha256_alg;
static BCRYPT_ALG_HANDLE crypto_ecdsa_alg;
static NTSTATUS crypto_open_status;

static DWORD crypto_error(NTSTATUS st)
{
    switch ((ULONG)st) {
    case 0:
        return ERROR_SUCCESS;
    case 0xC000A000u: /* STATUS_INVALID_SIGNATURE */
        return ERROR_INVALID_DATA;
    case 0xC0000017u: /* STATUS_NO_MEMORY */
        return ERROR_NOT_ENOUGH_MEMORY;
    case 0xC000000Du: /* STATUS_INVALID_PARAMETER */
        return ERROR_INVALID_PARAMETER;
    case 0xC0000008u: /* STATUS_INVALID_HANDLE */
        return ERROR_INVALID_HANDLE;
    case 0xC0000023u: /* STATUS_BUFFER_TOO_SMALL */
        return ERROR_INSUFFICIENT_BUFFER;
    case 0xC00000BBu: /* STATUS_NOT_SUPPORTED */
        return ERROR_NOT_SUPPORTED;
    case 0xC0000225u: /* STATUS_NOT_FOUND */
        return ERROR_NOT_FOUND;
    default:
        return (DWORD)HRESULT_FROM_NT(st);
    }
}

static BOOL CALLBACK crypto_open(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
    NTSTATUS st;
    (void)once;
    (void)param;
    (void)ctx;
    st = BCryptOpenAlgorithmProvider(&crypto_sha256_alg, BCRYPT_SHA256_ALGORITHM, NULL, 0);
    if (st == 0)
        st = BCryptOpenAlgorithmProvider(&crypto_ecdsa_alg, BCRYPT_ECDSA_P256_ALGORITHM, NULL, 0);
    crypto_open_status = st;
    /* Success either way: a failure is remembered and reported by every call, not retried. */
    return TRUE;
}

static DWORD crypto_init(void)
{
    if (!InitOnceExecuteOnce(&crypto_once, crypto_open, NULL, NULL))
        return GetLastError();
    return crypto_error(crypto_open_status);
}

/* ---- SHA-256 ---- */

DWORD crypto_sha256_begin(struct crypto_sha256_ctx *ctx)
{
    DWORD err;
    if (!ctx)
        return ERROR_INVALID_PARAMETER;
    ctx->hash = NULL;
    err = crypto_init();
    if (err != ERROR_SUCCESS)
        return err;
    return crypto_error(BCryptCreateHash(crypto_sha256_alg, &ctx->hash, NULL, 0, NULL, 0, 0));
}

DWORD crypto_sha256_update(struct crypto_sha256_ctx *ctx, const void *data, size_t len)
{
    const UCHAR *p = data;
    if (!ctx || !ctx->hash || (!data && len != 0))
        return ERROR_INVALID_PARAMETER;
    /* BCryptHashData takes a ULONG length; feed larger inputs in pieces. */
    while (len > 0) {
        ULONG n = len > 0x40000000u ? 0x40000000u : (ULONG)len;
        NTSTATUS st = BCryptHashData(ctx->hash, (PUCHAR)p, n, 0);
        if (st != 0)
            return crypto_error(st);
        p += n;
        len -= n;
    }
    return ERROR_SUCCESS;
}

DWORD crypto_sha256_finish(struct crypto_sha256_ctx *ctx, uint8_t out[CRYPTO_SHA256_LEN])
{
    NTSTATUS st;
    if (!ctx || !ctx->hash || !out)
        return ERROR_INVALID_PARAMETER;
    st = BCryptFinishHash(ctx->hash, out, CRYPTO_SHA256_LEN, 0);
    crypto_sha256_abort(ctx);
    if (st != 0)
        SecureZeroMemory(out, CRYPTO_SHA256_LEN);
    return crypto_error(st);
}

void crypto_sha256_abort(struct crypto_sha256_ctx *ctx)
{
    if (ctx && ctx->hash) {
        BCryptDestroyHash(ctx->hash);
        ctx->hash = NULL;
    }
}

DWORD crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN])
{
    struct crypto_sha256_ctx ctx;
    DWORD err;
    if (!out)
        return ERROR_INVALID_PARAMETER;
    err = crypto_sha256_begin(&ctx);
    if (err != ERROR_SUCCESS)
        return err;
    err = crypto_sha256_update(&ctx, data, len);
    if (err != ERROR_SUCCESS) {
        crypto_sha256_abort(&ctx);
        return err;
    }
    return crypto_sha256_finish(&ctx, out);
}

/* ---- ECDSA P-256 ---- */

struct crypto_ecc_blob {
    BCRYPT_ECCKEY_BLOB hdr;
    UCHAR key[CRYPTO_P256_PRIVATE_LEN]; /* X || Y [|| d] */
};

void crypto_p256_public_of(const uint8_t priv[CRYPTO_P256_PRIVATE_LEN],
                           uint8_t pub[CRYPTO_P256_PUBLIC_LEN])
{
    pub[0] = 0x04;
    memcpy(pub + 1, priv, 2 * CRYPTO_COORD_LEN);
}

DWORD crypto_p256_generate(uint8_t pub[CRYPTO_P256_PUBLIC_LEN],
                           uint8_t priv[CRYPTO_P256_PRIVATE_LEN])
{
    BCRYPT_KEY_HANDLE key = NULL;
    struct crypto_ecc_blob blob;
    ULONG n = 0;
    DWORD err;
    NTSTATUS st;

    if (!pub || !priv)
        return ERROR_INVALID_PARAMETER;
    SecureZeroMemory(pub, CRYPTO_P256_PUBLIC_LEN);
    SecureZeroMemory(priv, CRYPTO_P256_PRIVATE_LEN);
    err = crypto_init();
    if (err != ERROR_SUCCESS)
        return err;
    st = BCryptGenerateKeyPair(crypto_ecdsa_alg, &key, 256, 0);
    if (st == 0)
        st = BCryptFinalizeKeyPair(key, 0);
    if (st == 0)
        st = BCryptExportKey(key, NULL, BCRYPT_ECCPRIVATE_BLOB, (PUCHAR)&blob, sizeof blob, &n, 0);
    if (st == 0 && (n != sizeof blob || blob.hdr.dwMagic != BCRYPT_ECDSA_PRIVATE_P256_MAGIC ||
                    blob.hdr.cbKey != CRYPTO_COORD_LEN))
        st = (NTSTATUS)0xC000000DL; /* unexpected blob shape */
    if (st == 0) {
        memcpy(priv, blob.key, CRYPTO_P256_PRIVATE_LEN);
        crypto_p256_public_of(priv, pub);
    }
    SecureZeroMemory(&blob, sizeof blob);
    if (key)
        BCryptDestroyKey(key);
    return crypto_error(st);
}

DWORD crypto_p256_sign(const uint8_t priv[CRYPTO_P256_PRIVATE_LEN],
                       const uint8_t digest[CRYPTO_SHA256_LEN], uint8_t sig[CRYPTO_P256_SIG_LEN])
{
    BCRYPT_KEY_HANDLE key = NULL;
    struct crypto_ecc_blob blob;
    ULONG n = 0;
    DWORD err;
    NTSTATUS st;

    if (!priv || !digest || !sig)
        return ERROR_INVALID_PARAMETER;
    SecureZeroMemory(sig, CRYPTO_P256_SIG_LEN);
    err = crypto_init();
    if (err != ERROR_SUCCESS)
        return err;
    blob.hdr.dwMagic = BCRYPT_ECDSA_PRIVATE_P256_MAGIC;
    blob.hdr.cbKey = CRYPTO_COORD_LEN;
    memcpy(blob.key, priv, CRYPTO_P256_PRIVATE_LEN);
    st = BCryptImportKeyPair(crypto_ecdsa_alg, NULL, BCRYPT_ECCPRIVATE_BLOB, &key, (PUCHAR)&blob,
                             sizeof blob, 0);
    SecureZeroMemory(&blob, sizeof blob);
    if (st == 0)
        st = BCryptSignHash(key, NULL, (PUCHAR)digest, CRYPTO_SHA256_LEN, sig, CRYPTO_P256_SIG_LEN,
                            &n, 0);
    if (st == 0 && n != CRYPTO_P256_SIG_LEN)
        st = (NTSTATUS)0xC000000DL;
    if (st != 0)
        SecureZeroMemory(sig, CRYPTO_P256_SIG_LEN);
    if (key)
        BCryptDestroyKey(key);
    return crypto_error(st);
}

DWORD crypto_p256_verify(const uint8_t pub[CRYPTO_P256_PUBLIC_LEN],
                         const uint8_t digest[CRYPTO_SHA256_LEN],
                         const uint8_t sig[CRYPTO_P256_SIG_LEN])
{
    BCRYPT_KEY_HANDLE key = NULL;
    struct crypto_ecc_blob blob;
    DWORD err;
    NTSTATUS st;

    if (!pub || !digest || !sig || pub[0] != 0x04)
        return ERROR_INVALID_PARAMETER;
    err = crypto_init();
    if (err != ERROR_SUCCESS)
        return err;
    memset(&blob, 0, sizeof blob);
    blob.hdr.dwMagic = BCRYPT_ECDSA_PUBLIC_P256_MAGIC;
    blob.hdr.cbKey = CRYPTO_COORD_LEN;
    memcpy(blob.key, pub + 1, 2 * CRYPTO_COORD_LEN);
    st = BCryptImportKeyPair(crypto_ecdsa_alg, NULL, BCRYPT_ECCPUBLIC_BLOB, &key, (PUCHAR)&blob,
                             (ULONG)(sizeof blob.hdr + 2 * CRYPTO_COORD_LEN), 0);
    if (st != 0)
        return ERROR_INVALID_PARAMETER; /* not a usable public key (e.g. not on the curve) */
    st = BCryptVerifySignature(key, NULL, (PUCHAR)digest, CRYPTO_SHA256_LEN, (PUCHAR)sig,
                               CRYPTO_P256_SIG_LEN, 0);
    BCryptDestroyKey(key);
    return crypto_error(st);
}
