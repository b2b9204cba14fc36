/*
 * Portable SHA-256 (FIPS 180-4).
 *
 * Used by the state file's checksum and by host tests.  The service hashes executables with CNG
 * (BCrypt) instead; both must give identical digests, which the FIPS vectors in
 * tests/host/test_sha256.c pin down.  Not constant-time with respect to anything secret: it only
 * ever hashes public data.
 */
#ifndef EDGE_SHA256_H
#define EDGE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define EDGE_SHA256_DIGEST_LEN 32u
#define EDGE_SHA256_BLOCK_LEN  64u

/* Streaming state.  Treat as opaque; it is public only so callers can keep it on the stack. */
typedef struct edge_sha256_ctx {
    uint32_t h[8];
    uint64_t total_len; /* bytes fed so far */
    uint8_t block[EDGE_SHA256_BLOCK_LEN];
    size_t block_len; /* bytes buffered in block, always < 64 */
} edge_sha256_ctx;

/* Starts a new digest.  ctx must not be NULL. */
void edge_sha256_init(edge_sha256_ctx *ctx);

/*
 * Feeds len bytes.  data may be NULL only when len is 0.  May be called any number of times
 * between init and final.
 */
void edge_sha256_update(edge_sha256_ctx *ctx, const void *data, size_t len);

/*
 * Writes the 32-byte digest to out and wipes ctx; call edge_sha256_init before reusing ctx.
 */
void edge_sha256_final(edge_sha256_ctx *ctx, uint8_t out[EDGE_SHA256_DIGEST_LEN]);

/* One-shot digest of len bytes at data (data may be NULL only when len is 0). */
void edge_sha256(const void *data, size_t len, uint8_t out[EDGE_SHA256_DIGEST_LEN]);

#endif /* EDGE_SHA256_H */
