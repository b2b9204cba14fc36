/*
 * service/crypto.c under Wine (and Windows): CNG SHA-256 agrees with common's edge_sha256, and
 * ECDSA P-256 key generation, signing and verification work and fail as they must, end to end
 * with a signed request built by common/signed_request.c and decided by the policy engine.
 */
#include <windows.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "crypto.h"
#include "edge/policy.h"
#include "edge/sha256.h"
#include "edge/signed_request.h"

static void test_sha256_matches_common(void **state)
{
    static uint8_t big[200000];
    static const size_t lens[] = {0, 1, 3, 55, 56, 63, 64, 65, 127, 1000, sizeof big};
    uint8_t a[32], b[32];
    size_t i;
    (void)state;
    for (i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 131 + (i >> 8));
    for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        assert_int_equal(crypto_sha256(big, lens[i], a), ERROR_SUCCESS);
        edge_sha256(big, lens[i], b);
        assert_memory_equal(a, b, 32);
    }
    /* FIPS 180-2 "abc". */
    {
        static const uint8_t abc[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
                                        0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
                                        0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
                                        0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
        assert_int_equal(crypto_sha256("abc", 3, a), ERROR_SUCCESS);
        assert_memory_equal(a, abc, 32);
    }
    /* Incremental in uneven pieces. */
    {
        struct crypto_sha256_ctx ctx;
        size_t at = 0, step = 1;
        assert_int_equal(crypto_sha256_begin(&ctx), ERROR_SUCCESS);
        while (at < sizeof big) {
            size_t n = step < sizeof big - at ? step : sizeof big - at;
            assert_int_equal(crypto_sha256_update(&ctx, big + at, n), ERROR_SUCCESS);
            at += n;
            step = step * 3 + 1;
        }
        assert_int_equal(crypto_sha256_finish(&ctx, a), ERROR_SUCCESS);
        assert_null(ctx.hash);
        edge_sha256(big, sizeof big, b);
        assert_memory_equal(a, b, 32);
        assert_int_equal(crypto_sha256_update(&ctx, "x", 1), ERROR_INVALID_PARAMETER);
    }
}

static void test_sign_verify(void **state)
{
    uint8_t pub[65], priv[96], pub2[65], priv2[96], digest[32], sig[64], sig2[64], derived[65];
    (void)state;
    assert_int_equal(crypto_p256_generate(pub, priv), ERROR_SUCCESS);
    assert_int_equal(pub[0], 0x04);
    crypto_p256_public_of(priv, derived);
    assert_memory_equal(derived, pub, 65);
    assert_int_equal(crypto_p256_generate(pub2, priv2), ERROR_SUCCESS);
    assert_memory_not_equal(pub, pub2, 65);

    edge_sha256("message", 7, digest);
    assert_int_equal(crypto_p256_sign(priv, digest, sig), ERROR_SUCCESS);
    assert_int_equal(crypto_p256_verify(pub, digest, sig), ERROR_SUCCESS);
    /* Randomised ECDSA: a second signature differs and verifies too. */
    assert_int_equal(crypto_p256_sign(priv, digest, sig2), ERROR_SUCCESS);
    assert_memory_not_equal(sig, sig2, 64);
    assert_int_equal(crypto_p256_verify(pub, digest, sig2), ERROR_SUCCESS);

    /* Tampered digest, tampered signature (r and s halves), wrong key. */
    digest[0] ^= 1;
    assert_int_equal(crypto_p256_verify(pub, digest, sig), ERROR_INVALID_DATA);
    digest[0] ^= 1;
    sig[0] ^= 0x40;
    assert_int_equal(crypto_p256_verify(pub, digest, sig), ERROR_INVALID_DATA);
    sig[0] ^= 0x40;
    sig[63] ^= 1;
    assert_int_equal(crypto_p256_verify(pub, digest, sig), ERROR_INVALID_DATA);
    sig[63] ^= 1;
    assert_int_equal(crypto_p256_verify(pub2, digest, sig), ERROR_INVALID_DATA);
    assert_int_equal(crypto_p256_verify(pub, digest, sig), ERROR_SUCCESS);

    /* Not a point: wrong prefix is refused before CNG. */
    pub2[0] = 0x02;
    assert_int_equal(crypto_p256_verify(pub2, digest, sig), ERROR_INVALID_PARAMETER);
    SecureZeroMemory(priv, sizeof priv);
    SecureZeroMemory(priv2, sizeof priv2);
}

/* The whole path: edgectl-style signing with CNG, service-style verification with CNG. */
static void test_end_to_end_signed_request(void **state)
{
    static const char app[] = "C:\\Program Files\\Contoso\\chat.exe";
    static const uint8_t app_hash[32] = {7, 7, 7};
    static edge_policy_decision d;
    uint8_t pub[65], priv[96], body[1024], digest[32], cng_digest[32], sig[64];
    uint8_t blob[EDGE_MAX_SIGNED_REQUEST];
    char hex[131], b64[EDGE_MAX_SIGNED_REQUEST * 2];
    size_t body_len = 0, blob_len = 0, n = 0;
    edge_sr_fields f;
    edge_sr sr;
    edge_policy p;
    edge_str key_item;
    const edge_policy_key *key;
    edge_policy_identity id = {"S-1-5-21-1-2-3-1001", false, false, app, app_hash, NULL};
    edge_policy_request req;
    uint64_t now = 1700000000ull;
    (void)state;

    assert_int_equal(crypto_p256_generate(pub, priv), ERROR_SUCCESS);
    memset(&f, 0, sizeof f);
    f.version = EDGE_SR_VERSION;
    edge_sr_key_id(pub, f.key_id);
    f.has_image_sha256 = true;
    memcpy(f.image_sha256, app_hash, 32);
    f.image_path.ptr = app;
    f.image_path.len = (uint32_t)strlen(app);
    f.protocol = EDGE_IPPROTO_TCP;
    f.port_lo = f.port_hi = 40000;
    f.edge_option = EDGE_TRAVERSAL_DEFER_TO_APP;
    f.not_before = now - 60;
    f.not_after = now + 3600;
    assert_int_equal(edge_sr_build_body(&f, body, sizeof body, &body_len), EDGE_SR_OK);
    edge_sr_digest(body, body_len, digest);
    assert_int_equal(crypto_sha256(body, body_len, cng_digest), ERROR_SUCCESS);
    assert_memory_equal(digest, cng_digest, 32);
    assert_int_equal(crypto_p256_sign(priv, digest, sig), ERROR_SUCCESS);
    SecureZeroMemory(priv, sizeof priv);
    assert_int_equal(edge_sr_assemble(body, body_len, sig, blob, sizeof blob, &blob_len),
                     EDGE_SR_OK);
    /* Through the file format and back. */
    assert_int_equal(edge_sr_base64_encode(blob, blob_len, b64, sizeof b64), EDGE_SR_OK);
    memset(blob, 0, sizeof blob);
    assert_int_equal(edge_sr_base64_decode(b64, strlen(b64), blob, sizeof blob, &n), EDGE_SR_OK);
    assert_int_equal(n, blob_len);

    /* Service side: policy trusts the key; parse, find key, verify with CNG, decide. */
    edge_policy_init_defaults(&p);
    p.mode = EDGE_POLICY_MODE_SIGNED_OR_ALLOW_LISTED;
    edge_sr_hex_encode(pub, 65, hex, sizeof hex);
    key_item.ptr = hex;
    key_item.len = 130;
    assert_int_equal(edge_policy_set_strings(&p, EDGE_POLICY_V_TRUSTED_SIGNER_KEYS, &key_item, 1,
                                             EDGE_POLICY_SRC_POLICY, NULL),
                     EDGE_POLICY_PARSE_OK);
    assert_int_equal(edge_sr_parse(blob, blob_len, &sr), EDGE_SR_OK);
    key = edge_policy_find_key(&p, sr.fields.key_id);
    assert_non_null(key);
    edge_sr_digest(sr.body.ptr, sr.body.len, digest);
    assert_int_equal(crypto_p256_verify(key->point, digest, sr.signature), ERROR_SUCCESS);
    memset(&req, 0, sizeof req);
    req.protocol = EDGE_IPPROTO_TCP;
    req.port_lo = req.port_hi = 40000;
    req.signature.state = EDGE_POLICY_SIG_VERIFIED;
    req.signature.fields = &sr.fields;
    edge_policy_decide(&id, &req, &p, NULL, 0, now, &d);
    assert_int_equal(d.status, EDGE_OK);
    assert_int_equal(d.basis, EDGE_POLICY_BASIS_SIGNED);

    /* A tampered body (another port) still parses but no longer verifies. */
    {
        size_t i;
        for (i = 8; i + 10 <= blob_len; i++) {
            if (edge_le16(blob + i) == EDGE_SR_TAG_PORT_HI && blob[i + 2] == 2 &&
                edge_le16(blob + i + 8) == 40000) {
                edge_put_le16(blob + i + 8, 40001);
                break;
            }
        }
        assert_int_equal(edge_sr_parse(blob, blob_len, &sr), EDGE_SR_OK);
        assert_int_equal(sr.fields.port_hi, 40001);
        edge_sr_digest(sr.body.ptr, sr.body.len, digest);
        assert_int_equal(crypto_p256_verify(key->point, digest, sr.signature), ERROR_INVALID_DATA);
    }
    edge_policy_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_matches_common),
        cmocka_unit_test(test_sign_verify),
        cmocka_unit_test(test_end_to_end_signed_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
