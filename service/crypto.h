/*
 * Cryptography through CNG (bcrypt.dll): SHA-256 and ECDSA P-256 for signed requests.
 *
 * Formats are those of common/include/edge/signed_request.h: public keys are 65-byte uncompressed
 * points (0x04 || X || Y), signatures are 64 bytes r || s (big-endian, as BCryptSignHash produces
 * them), digests are SHA-256.  A private key is handed around as 96 bytes X || Y || d, the body of
 * a BCRYPT_ECCPRIVATE_BLOB; callers wipe it with SecureZeroMemory when done (edgectl stores it in
 * a file with an owner-only ACL; the service never holds one).
 *
 * Errors are Win32 error codes: ERROR_INVALID_DATA for a signature that does not verify,
 * ERROR_INVALID_PARAMETER for bad arguments, otherwise the CNG NTSTATUS mapped to the nearest
 * Win32 code, or HRESULT_FROM_NT(status) when there is none.
 *
 * Thread-safety: every function may be called from any thread.  The algorithm providers are
 * opened once (InitOnce) and kept for the life of the process.
 */
#ifndef EDGE_SVC_CRYPTO_H
#define EDGE_SVC_CRYPTO_H

#include <windows.h>
#include <bcrypt.h>
#include <stddef.h>
#include <stdint.h>

#define CRYPTO_SHA256_LEN       32u
#define CRYPTO_P256_PUBLIC_LEN  65u
#define CRYPTO_P256_PRIVATE_LEN 96u
#define CRYPTO_P256_SIG_LEN     64u

/* One-shot SHA-256 of data[0..len) (data may be NULL when len is 0). */
DWORD crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN]);

/* Incremental SHA-256.  begin, any number of updates, then finish or abort (both release). */
struct crypto_sha256_ctx {
    BCRYPT_HASH_HANDLE hash;
};
DWORD crypto_sha256_begin(struct crypto_sha256_ctx *ctx);
DWORD crypto_sha256_update(struct crypto_sha256_ctx *ctx, const void *data, size_t len);
DWORD crypto_sha256_finish(struct crypto_sha256_ctx *ctx, uint8_t out[CRYPTO_SHA256_LEN]);
void crypto_sha256_abort(struct crypto_sha256_ctx *ctx);

/*
 * Generates a P-256 key pair from the system RNG.  pub receives the public point, priv the
 * private key (X || Y || d).  On failure both are zeroed.
 */
DWORD crypto_p256_generate(uint8_t pub[CRYPTO_P256_PUBLIC_LEN],
                           uint8_t priv[CRYPTO_P256_PRIVATE_LEN]);

/* The public point of a private key (0x04 || X || Y); no CNG call. */
void crypto_p256_public_of(const uint8_t priv[CRYPTO_P256_PRIVATE_LEN],
                           uint8_t pub[CRYPTO_P256_PUBLIC_LEN]);

/* Signs a 32-byte digest; sig receives r || s.  ECDSA is randomised: signatures differ per call. */
DWORD crypto_p256_sign(const uint8_t priv[CRYPTO_P256_PRIVATE_LEN],
                       const uint8_t digest[CRYPTO_SHA256_LEN], uint8_t sig[CRYPTO_P256_SIG_LEN]);

/*
 * Verifies sig over digest with the public key pub.  Returns ERROR_SUCCESS, ERROR_INVALID_DATA
 * (signature does not verify), ERROR_INVALID_PARAMETER (pub is not 0x04 || X || Y, or CNG refused
 * to import it, e.g. a point not on the curve) or another error.
 */
DWORD crypto_p256_verify(const uint8_t pub[CRYPTO_P256_PUBLIC_LEN],
                         const uint8_t digest[CRYPTO_SHA256_LEN],
                         const uint8_t sig[CRYPTO_P256_SIG_LEN]);

#endif /* EDGE_SVC_CRYPTO_H */
