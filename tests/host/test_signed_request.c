/*
 * Signed requests: format (build, strict parse, canonical encoding), binding checks, text
 * helpers, and the path through the policy engine the service takes.  ECDSA is replaced by a
 * deterministic fake "signature" (SHA-256 based, keyed by the public key) so the host can test
 * every verification outcome; the real ECDSA is tested in tests/windows/test_crypto.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "edge/policy.h"
#include "edge/sha256.h"
#include "edge/signed_request.h"
#include "edge/tlv.h"

#define NOW     1700000000ull
#define APP     "C:\\Program Files\\Contoso\\chat.exe"
#define APP_LEN (sizeof APP - 1)

static const uint8_t app_hash[32] = {0xAA, 1, 2, 3, 4, 5, 6, 7, 8, 9};
static const uint8_t other_hash[32] = {0xBB, 1, 2, 3};

/* ---- fake signer: pub = 04 || SHA256(seed) || SHA256(SHA256(seed)); sig = H(pub||d) || H(d||pub)
 */

struct fake_key {
    uint8_t pub[EDGE_SR_PUBKEY_LEN];
};

static void fake_keygen(uint8_t seed, struct fake_key *k)
{
    uint8_t s[1] = {seed};
    k->pub[0] = 0x04;
    edge_sha256(s, 1, k->pub + 1);
    edge_sha256(k->pub + 1, 32, k->pub + 33);
}

static void fake_sign(const uint8_t pub[65], const uint8_t digest[32], uint8_t sig[64])
{
    uint8_t m[97];
    memcpy(m, pub, 65);
    memcpy(m + 65, digest, 32);
    edge_sha256(m, sizeof m, sig);
    memcpy(m, digest, 32);
    memcpy(m + 32, pub, 65);
    edge_sha256(m, sizeof m, sig + 32);
}

static bool fake_verify(const uint8_t pub[65], const uint8_t digest[32], const uint8_t sig[64])
{
    uint8_t expect[64];
    fake_sign(pub, digest, expect);
    return memcmp(expect, sig, 64) == 0;
}

static void base_fields(edge_sr_fields *f, const struct fake_key *k)
{
    memset(f, 0, sizeof *f);
    f->version = EDGE_SR_VERSION;
    edge_sr_key_id(k->pub, f->key_id);
    f->has_image_sha256 = true;
    memcpy(f->image_sha256, app_hash, 32);
    f->image_path.ptr = APP;
    f->image_path.len = (uint32_t)APP_LEN;
    f->protocol = EDGE_IPPROTO_UDP;
    f->port_lo = 5000;
    f->port_hi = 5010;
    f->edge_option = EDGE_TRAVERSAL_DEFER_TO_APP;
    f->not_before = NOW - 3600;
    f->not_after = NOW + 3600;
}

/* Builds, fake-signs and assembles a blob. */
static size_t make_blob(const edge_sr_fields *f, const struct fake_key *k, uint8_t *blob)
{
    uint8_t body[EDGE_MAX_SIGNED_REQUEST], digest[32], sig[64];
    size_t body_len = 0, len = 0;
    assert_int_equal(edge_sr_build_body(f, body, sizeof body, &body_len), EDGE_SR_OK);
    edge_sr_digest(body, body_len, digest);
    fake_sign(k->pub, digest, sig);
    assert_int_equal(edge_sr_assemble(body, body_len, sig, blob, EDGE_MAX_SIGNED_REQUEST, &len),
                     EDGE_SR_OK);
    return len;
}

static void policy_with_key(edge_policy *p, const struct fake_key *k)
{
    char hex[EDGE_SR_PUBKEY_HEX_LEN + 1];
    edge_str item;
    edge_policy_init_defaults(p);
    p->mode = EDGE_POLICY_MODE_SIGNED_OR_ALLOW_LISTED;
    if (!k)
        return;
    assert_int_equal(edge_sr_hex_encode(k->pub, 65, hex, sizeof hex), EDGE_SR_OK);
    item.ptr = hex;
    item.len = EDGE_SR_PUBKEY_HEX_LEN;
    assert_int_equal(edge_policy_set_strings(p, EDGE_POLICY_V_TRUSTED_SIGNER_KEYS, &item, 1,
                                             EDGE_POLICY_SRC_POLICY, NULL),
                     EDGE_POLICY_PARSE_OK);
}

/* What the service does with a blob before deciding (the ECDSA step is the fake here). */
static void service_verify(const uint8_t *blob, size_t len, const edge_policy *p, edge_sr *sr,
                           edge_policy_signature *sig)
{
    const edge_policy_key *key;
    uint8_t digest[32];
    edge_sr_result r = edge_sr_parse(blob, len, sr);
    memset(sig, 0, sizeof *sig);
    sig->state = EDGE_POLICY_SIG_INVALID;
    sig->invalid = r;
    if (r != EDGE_SR_OK)
        return;
    key = edge_policy_find_key(p, sr->fields.key_id);
    if (!key) {
        sig->invalid = EDGE_SR_E_UNKNOWN_KEY;
        return;
    }
    edge_sr_digest(sr->body.ptr, sr->body.len, digest);
    if (!fake_verify(key->point, digest, sr->signature)) {
        sig->invalid = EDGE_SR_E_BAD_SIGNATURE;
        return;
    }
    sig->state = EDGE_POLICY_SIG_VERIFIED;
    sig->fields = &sr->fields;
    sig->invalid = EDGE_SR_OK;
}

struct outcome {
    edge_policy_verdict verdict;
    edge_status status;
    edge_policy_basis basis;
};

/* Decides a UDP 5000-5010 request (or the given ports) from APP by an ordinary user. */
static struct outcome decide_full(const uint8_t *blob, size_t len, const edge_policy *verify_p,
                                  const edge_policy *decide_p, const char *path,
                                  const uint8_t *hash, uint16_t lo, uint16_t hi, uint64_t now)
{
    static edge_policy_decision d;
    edge_policy_identity id = {"S-1-5-21-1-2-3-1001", false, false, path, hash, NULL};
    edge_policy_request req;
    edge_sr sr;
    struct outcome o;
    memset(&req, 0, sizeof req);
    req.protocol = EDGE_IPPROTO_UDP;
    req.port_lo = lo;
    req.port_hi = hi;
    if (blob)
        service_verify(blob, len, verify_p, &sr, &req.signature);
    edge_policy_decide(&id, &req, decide_p, NULL, 0, now, &d);
    o.verdict = d.verdict;
    o.status = d.status;
    o.basis = d.basis;
    return o;
}

static struct outcome decide(const uint8_t *blob, size_t len, const edge_policy *p, uint64_t now)
{
    return decide_full(blob, len, p, p, APP, app_hash, 5000, 5010, now);
}

static void expect(struct outcome o, edge_policy_verdict v, edge_status s, edge_policy_basis b)
{
    assert_int_equal(o.verdict, v);
    assert_int_equal(o.status, s);
    assert_int_equal(o.basis, b);
}

/* ---- format ---- */

static void test_roundtrip(void **state)
{
    struct fake_key k;
    edge_sr_fields f;
    uint8_t blob[EDGE_MAX_SIGNED_REQUEST], body[EDGE_MAX_SIGNED_REQUEST], d1[32], d2[32];
    size_t len, body_len = 0;
    edge_sr sr;
    (void)state;
    fake_keygen(1, &k);
    base_fields(&f, &k);
    f.nonce.ptr = (const uint8_t *)"n0nce";
    f.nonce.len = 5;
    f.comment.ptr = "for the chat pilot";
    f.comment.len = (uint32_t)strlen(f.comment.ptr);
    len = make_blob(&f, &k, blob);
    assert_int_equal(edge_sr_parse(blob, len, &sr), EDGE_SR_OK);
    assert_memory_equal(sr.fields.key_id, f.key_id, 16);
    assert_true(sr.fields.has_image_sha256);
    assert_memory_equal(sr.fields.image_sha256, app_hash, 32);
    assert_int_equal(sr.fields.image_path.len, APP_LEN);
    assert_memory_equal(sr.fields.image_path.ptr, APP, APP_LEN);
    assert_int_equal(sr.fields.protocol, EDGE_IPPROTO_UDP);
    assert_int_equal(sr.fields.port_lo, 5000);
    assert_int_equal(sr.fields.port_hi, 5010);
    assert_int_equal(sr.fields.not_before, NOW - 3600);
    assert_int_equal(sr.fields.not_after, NOW + 3600);
    assert_int_equal(sr.fields.nonce.len, 5);
    assert_memory_equal(sr.fields.comment.ptr, "for the chat pilot", 18);
    /* The body in the blob is exactly the built body, and the digest is SHA-256 of it. */
    assert_int_equal(edge_sr_build_body(&f, body, sizeof body, &body_len), EDGE_SR_OK);
    assert_int_equal(sr.body.len, body_len);
    assert_memory_equal(sr.body.ptr, body, body_len);
    edge_sr_digest(sr.body.ptr, sr.body.len, d1);
    edge_sha256(body, body_len, d2);
    assert_memory_equal(d1, d2, 32);
    /* The blob layout: body RECORD (tag 1) first, then a 64-byte signature (tag 2). */
    assert_int_equal(edge_le16(blob), 1);
    assert_int_equal(blob[2], EDGE_TLV_RECORD);
    assert_int_equal(edge_le16(blob + 8 + body_len), 2);
    assert_int_equal(edge_le32(blob + 8 + body_len + 4), 64);
}

static void test_build_measure_and_errors(void **state)
{
    struct fake_key k;
    edge_sr_fields f;
    size_t need = 0, n = 0;
    uint8_t small[8];
    (void)state;
    fake_keygen(1, &k);
    base_fields(&f, &k);
    assert_int_equal(edge_sr_build_body(&f, NULL, 0, &need), EDGE_SR_E_BUFFER);
    assert_true(need > 100);
    assert_int_equal(edge_sr_build_body(&f, small, sizeof small, &n), EDGE_SR_E_BUFFER);
    assert_int_equal(n, need);
    f.version = 2;
    assert_int_equal(edge_sr_build_body(&f, NULL, 0, &n), EDGE_SR_E_BAD_VERSION);
    base_fields(&f, &k);
    f.has_image_sha256 = false;
    f.image_path.ptr = NULL;
    assert_int_equal(edge_sr_build_body(&f, NULL, 0, &n), EDGE_SR_E_MISSING_FIELD);
    base_fields(&f, &k);
    f.image_path.ptr = "C:\\a\\..\\b.exe";
    f.image_path.len = 13;
    assert_int_equal(edge_sr_build_body(&f, NULL, 0, &n), EDGE_SR_E_BAD_PATH);
    f.image_path.ptr = "c:/x/y.exe"; /* valid but not canonical (separators) */
    f.image_path.len = 10;
    assert_int_equal(edge_sr_build_body(&f, NULL, 0, &n), EDGE_SR_E_BAD_PATH);
    base_fields(&f, &k);
    f.protocol = 1;
    assert_int_equal(edge_sr_build_body(&f, NULL, 0, &n), EDGE_SR_E_BAD_VALUE);
    base_fields(&f, &k);
    f.port_lo = 0;
    assert_int_equal(edge_sr_build_body(&f, NULL, 0, &n), EDGE_SR_E_BAD_VALUE);
    base_fields(&f, &k);
    f.port_hi = 4999;
    assert_int_equal(edge_sr_build_body(&f, NULL, 0, &n), EDGE_SR_E_BAD_VALUE);
    base_fields(&f, &k);
    f.edge_option = 3;
    assert_int_equal(edge_sr_build_body(&f, NULL, 0, &n), EDGE_SR_E_BAD_VALUE);
    base_fields(&f, &k);
    f.not_before = f.not_after + 1;
    assert_int_equal(edge_sr_build_body(&f, NULL, 0, &n), EDGE_SR_E_BAD_VALUE);
    base_fields(&f, &k);
    f.nonce.ptr = (const uint8_t *)"0123456789abcdef0123456789abcdefX";
    f.nonce.len = 33;
    assert_int_equal(edge_sr_build_body(&f, NULL, 0, &n), EDGE_SR_E_BAD_VALUE);
    base_fields(&f, &k);
    f.comment.ptr = "\xC0\x80";
    f.comment.len = 2;
    assert_int_equal(edge_sr_build_body(&f, NULL, 0, &n), EDGE_SR_E_BAD_VALUE);
}

/* Hand encoder for malformed blobs. */
static size_t put(uint8_t *b, size_t pos, uint16_t tagword, uint8_t type, const void *v, size_t len)
{
    edge_put_le16(b + pos, tagword);
    b[pos + 2] = type;
    b[pos + 3] = 0;
    edge_put_le32(b + pos + 4, (uint32_t)len);
    if (len)
        memcpy(b + pos + 8, v, len);
    return pos + 8 + len;
}

/* A blob from raw body TLVs and a signature TLV of sig_len bytes. */
static size_t wrap(uint8_t *out, const uint8_t *body, size_t body_len, size_t sig_len)
{
    uint8_t sig[80] = {0};
    size_t pos = put(out, 0, 1, EDGE_TLV_RECORD, body, body_len);
    return put(out, pos, 2, EDGE_TLV_BYTES, sig, sig_len);
}

/* The minimal valid body, fields in the given tag order (each tag once). */
static size_t body_in_order(uint8_t *b, const int *order, size_t n, uint16_t crit_tag)
{
    static const uint8_t kid[16] = {1}, hash[32] = {2};
    uint8_t u8v, le[8];
    size_t pos = 0, i;
    for (i = 0; i < n; i++) {
        uint16_t tw = (uint16_t)order[i] | (order[i] == crit_tag ? EDGE_TLV_CRITICAL : 0);
        switch (order[i]) {
        case 1:
            u8v = 1;
            pos = put(b, pos, tw, EDGE_TLV_U8, &u8v, 1);
            break;
        case 2:
            pos = put(b, pos, tw, EDGE_TLV_BYTES, kid, 16);
            break;
        case 3:
            pos = put(b, pos, tw, EDGE_TLV_BYTES, hash, 32);
            break;
        case 5:
            u8v = 17;
            pos = put(b, pos, tw, EDGE_TLV_U8, &u8v, 1);
            break;
        case 6:
        case 7:
            edge_put_le16(le, 5000);
            pos = put(b, pos, tw, EDGE_TLV_U16, le, 2);
            break;
        case 8:
            u8v = 2;
            pos = put(b, pos, tw, EDGE_TLV_U8, &u8v, 1);
            break;
        case 9:
        case 10:
            edge_put_le64(le, NOW);
            pos = put(b, pos, tw, EDGE_TLV_U64, le, 8);
            break;
        default:
            u8v = 0;
            pos = put(b, pos, tw, EDGE_TLV_U8, &u8v, 1);
            break;
        }
    }
    return pos;
}

static void test_strict_parse(void **state)
{
    static const int canon[] = {1, 2, 3, 5, 6, 7, 8, 9, 10};
    static const int swapped[] = {1, 2, 3, 5, 7, 6, 8, 9, 10};
    static const int unknown[] = {1, 2, 3, 5, 6, 7, 8, 9, 10, 13};
    static const int no_image[] = {1, 2, 5, 6, 7, 8, 9, 10};
    static const int no_window[] = {1, 2, 3, 5, 6, 7, 8, 9};
    uint8_t body[512], blob[600], big[EDGE_MAX_SIGNED_REQUEST + 1];
    size_t bl, n;
    edge_sr sr;
    (void)state;

    bl = body_in_order(body, canon, 9, 0);
    n = wrap(blob, body, bl, 64);
    assert_int_equal(edge_sr_parse(blob, n, &sr), EDGE_SR_OK);
    /* Every strict rule, one at a time. */
    bl = body_in_order(body, swapped, 9, 0);
    n = wrap(blob, body, bl, 64);
    assert_int_equal(edge_sr_parse(blob, n, &sr), EDGE_SR_E_NOT_CANONICAL);
    assert_int_equal(sr.fields.port_lo, 0); /* *out zeroed on failure */
    bl = body_in_order(body, canon, 9, 6);
    n = wrap(blob, body, bl, 64);
    assert_int_equal(edge_sr_parse(blob, n, &sr), EDGE_SR_E_NOT_CANONICAL);
    bl = body_in_order(body, unknown, 10, 0);
    n = wrap(blob, body, bl, 64);
    assert_int_equal(edge_sr_parse(blob, n, &sr), EDGE_SR_E_UNKNOWN_FIELD);
    bl = body_in_order(body, no_image, 8, 0);
    n = wrap(blob, body, bl, 64);
    assert_int_equal(edge_sr_parse(blob, n, &sr), EDGE_SR_E_MISSING_FIELD);
    bl = body_in_order(body, no_window, 8, 0);
    n = wrap(blob, body, bl, 64);
    assert_int_equal(edge_sr_parse(blob, n, &sr), EDGE_SR_E_MISSING_FIELD);
    bl = body_in_order(body, canon, 9, 0);
    n = wrap(blob, body, bl, 63);
    assert_int_equal(edge_sr_parse(blob, n, &sr), EDGE_SR_E_BAD_FIELD);
    /* Duplicate tag: the generic TLV validation refuses it. */
    {
        static const int dup[] = {1, 2, 3, 5, 6, 6, 7, 8, 9, 10};
        bl = body_in_order(body, dup, 10, 0);
        n = wrap(blob, body, bl, 64);
        assert_int_equal(edge_sr_parse(blob, n, &sr), EDGE_SR_E_MALFORMED);
    }
    /* Wrong type for a known tag (port_lo as U32). */
    {
        uint8_t le[4];
        bl = body_in_order(body, canon, 4, 0); /* 1,2,3,5 */
        edge_put_le32(le, 5000);
        bl = put(body, bl, 6, EDGE_TLV_U32, le, 4);
        bl += body_in_order(body + bl, canon + 5, 4, 0);
        n = wrap(blob, body, bl, 64);
        assert_int_equal(edge_sr_parse(blob, n, &sr), EDGE_SR_E_BAD_FIELD);
    }
    /* Version 2. */
    bl = body_in_order(body, canon, 9, 0);
    body[8] = 2;
    n = wrap(blob, body, bl, 64);
    assert_int_equal(edge_sr_parse(blob, n, &sr), EDGE_SR_E_BAD_VERSION);
    /* Outer structure: extra field, signature first, truncated, trailing byte. */
    bl = body_in_order(body, canon, 9, 0);
    n = wrap(blob, body, bl, 64);
    {
        size_t m = put(blob, n, 3, EDGE_TLV_U8, "x", 1);
        assert_int_equal(edge_sr_parse(blob, m, &sr), EDGE_SR_E_UNKNOWN_FIELD);
    }
    assert_int_equal(edge_sr_parse(blob, n - 1, &sr), EDGE_SR_E_MALFORMED);
    blob[n] = 0;
    assert_int_equal(edge_sr_parse(blob, n + 1, &sr), EDGE_SR_E_MALFORMED);
    assert_int_equal(edge_sr_parse(blob, 8 + bl, &sr), EDGE_SR_E_MISSING_FIELD);
    {
        uint8_t sig[64] = {0};
        size_t m = put(blob, 0, 2, EDGE_TLV_BYTES, sig, 64);
        assert_int_equal(edge_sr_parse(blob, m, &sr), EDGE_SR_E_MISSING_FIELD);
    }
    /* Limits before anything else. */
    assert_int_equal(edge_sr_parse(blob, 0, &sr), EDGE_SR_E_TOO_LARGE);
    memset(big, 0, sizeof big);
    assert_int_equal(edge_sr_parse(big, sizeof big, &sr), EDGE_SR_E_TOO_LARGE);
    assert_int_equal(edge_sr_parse(NULL, 5, &sr), EDGE_SR_E_ARG);
}

static void test_assemble(void **state)
{
    struct fake_key k;
    edge_sr_fields f;
    uint8_t body[1024], blob[EDGE_MAX_SIGNED_REQUEST], sig[64] = {0};
    size_t bl = 0, n = 0, need = 0;
    (void)state;
    fake_keygen(1, &k);
    base_fields(&f, &k);
    assert_int_equal(edge_sr_build_body(&f, body, sizeof body, &bl), EDGE_SR_OK);
    assert_int_equal(edge_sr_assemble(body, bl, sig, NULL, 0, &need), EDGE_SR_E_BUFFER);
    assert_int_equal(need, bl + 16 + 64);
    assert_int_equal(edge_sr_assemble(body, bl, sig, blob, sizeof blob, &n), EDGE_SR_OK);
    assert_int_equal(n, need);
    /* A body that is not a valid signed body is refused. */
    assert_int_equal(edge_sr_assemble(body, bl - 1, sig, blob, sizeof blob, &n),
                     EDGE_SR_E_MALFORMED);
    assert_int_equal(n, 0);
}

/* ---- binding checks ---- */

static void test_check(void **state)
{
    struct fake_key k;
    edge_sr_fields f;
    edge_sr_subject s = {
        APP, APP_LEN, app_hash, EDGE_IPPROTO_UDP, 5000, 5010, EDGE_TRAVERSAL_DEFER_TO_APP};
    edge_sr_subject t;
    (void)state;
    fake_keygen(1, &k);
    base_fields(&f, &k);
    assert_int_equal(edge_sr_check(&f, &s, NOW, 300), EDGE_SR_OK);
    /* Window edges with the skew. */
    assert_int_equal(edge_sr_check(&f, &s, f.not_after + 300, 300), EDGE_SR_OK);
    assert_int_equal(edge_sr_check(&f, &s, f.not_after + 301, 300), EDGE_SR_E_EXPIRED);
    assert_int_equal(edge_sr_check(&f, &s, f.not_before - 300, 300), EDGE_SR_OK);
    assert_int_equal(edge_sr_check(&f, &s, f.not_before - 301, 300), EDGE_SR_E_NOT_YET_VALID);
    f.not_before = 10;
    assert_int_equal(edge_sr_check(&f, &s, 0, 300), EDGE_SR_OK); /* no underflow */
    f.not_after = UINT64_MAX;
    assert_int_equal(edge_sr_check(&f, &s, UINT64_MAX, 300), EDGE_SR_OK); /* no overflow */
    base_fields(&f, &k);
    /* Image. */
    t = s;
    t.image_sha256 = other_hash;
    assert_int_equal(edge_sr_check(&f, &t, NOW, 300), EDGE_SR_E_WRONG_IMAGE_HASH);
    t.image_sha256 = NULL;
    assert_int_equal(edge_sr_check(&f, &t, NOW, 300), EDGE_SR_E_WRONG_IMAGE_HASH);
    t = s;
    t.image_path = "C:\\Program Files\\Contoso\\chat2.exe";
    t.image_path_len = strlen(t.image_path);
    assert_int_equal(edge_sr_check(&f, &t, NOW, 300), EDGE_SR_E_WRONG_IMAGE_PATH);
    t.image_path = "c:\\PROGRAM FILES\\contoso\\CHAT.EXE";
    t.image_path_len = strlen(t.image_path);
    assert_int_equal(edge_sr_check(&f, &t, NOW, 300), EDGE_SR_OK);
    /* Path-only request: the hash is not consulted. */
    f.has_image_sha256 = false;
    t = s;
    t.image_sha256 = other_hash;
    assert_int_equal(edge_sr_check(&f, &t, NOW, 300), EDGE_SR_OK);
    base_fields(&f, &k);
    /* Protocol, ports (subset allowed), edge option. */
    t = s;
    t.protocol = EDGE_IPPROTO_TCP;
    assert_int_equal(edge_sr_check(&f, &t, NOW, 300), EDGE_SR_E_WRONG_PROTOCOL);
    t = s;
    t.port_lo = 5001;
    t.port_hi = 5001;
    assert_int_equal(edge_sr_check(&f, &t, NOW, 300), EDGE_SR_OK);
    t.port_hi = 5011;
    assert_int_equal(edge_sr_check(&f, &t, NOW, 300), EDGE_SR_E_WRONG_PORTS);
    t.port_lo = 4999;
    t.port_hi = 5000;
    assert_int_equal(edge_sr_check(&f, &t, NOW, 300), EDGE_SR_E_WRONG_PORTS);
    t = s;
    t.edge_option = EDGE_TRAVERSAL_ALLOW;
    assert_int_equal(edge_sr_check(&f, &t, NOW, 300), EDGE_SR_E_WRONG_EDGE_OPTION);
    /* Status mapping. */
    assert_int_equal(edge_sr_result_status(EDGE_SR_E_EXPIRED), EDGE_E_EXPIRED);
    assert_int_equal(edge_sr_result_status(EDGE_SR_E_NOT_YET_VALID), EDGE_E_EXPIRED);
    assert_int_equal(edge_sr_result_status(EDGE_SR_E_WRONG_IMAGE_PATH), EDGE_E_IDENTITY_MISMATCH);
    assert_int_equal(edge_sr_result_status(EDGE_SR_E_WRONG_PORTS), EDGE_E_BAD_SIGNATURE);
    assert_int_equal(edge_sr_result_status(EDGE_SR_E_NOT_CANONICAL), EDGE_E_BAD_SIGNATURE);
    assert_string_equal(edge_sr_result_name(EDGE_SR_E_TEXT), "EDGE_SR_E_TEXT");
    assert_string_equal(edge_sr_result_name(EDGE_SR_RESULT_COUNT_), "EDGE_SR_UNKNOWN");
}

/* ---- through the policy engine, as the service runs it ---- */

static void test_engine_valid_and_tampered(void **state)
{
    struct fake_key k;
    edge_sr_fields f;
    edge_policy p;
    uint8_t blob[EDGE_MAX_SIGNED_REQUEST];
    size_t n, i, port_at = 0;
    edge_sr sr;
    (void)state;
    fake_keygen(1, &k);
    policy_with_key(&p, &k);
    base_fields(&f, &k);
    n = make_blob(&f, &k, blob);
    expect(decide(blob, n, &p, NOW), EDGE_POLICY_ALLOW, EDGE_OK, EDGE_POLICY_BASIS_SIGNED);
    /* Without the signature the same request is refused (the mode's verdict). */
    expect(decide(NULL, 0, &p, NOW), EDGE_POLICY_DENY, EDGE_E_DENIED, EDGE_POLICY_BASIS_MODE);

    /* Tampered body: widen port_hi in place; the blob still parses but the digest changed. */
    assert_int_equal(edge_sr_parse(blob, n, &sr), EDGE_SR_OK);
    for (i = 8; i + 8 <= n; i++)
        if (edge_le16(blob + i) == EDGE_SR_TAG_PORT_HI && blob[i + 2] == EDGE_TLV_U16 &&
            edge_le16(blob + i + 8) == 5010)
            port_at = i + 8;
    assert_true(port_at != 0);
    edge_put_le16(blob + port_at, 6000);
    assert_int_equal(edge_sr_parse(blob, n, &sr), EDGE_SR_OK);
    assert_int_equal(sr.fields.port_hi, 6000);
    expect(decide_full(blob, n, &p, &p, APP, app_hash, 5000, 6000, NOW), EDGE_POLICY_DENY,
           EDGE_E_BAD_SIGNATURE, EDGE_POLICY_BASIS_SIGNED);
    edge_put_le16(blob + port_at, 5010);
    expect(decide(blob, n, &p, NOW), EDGE_POLICY_ALLOW, EDGE_OK, EDGE_POLICY_BASIS_SIGNED);

    /* Tampered signature: every byte matters. */
    blob[n - 1] ^= 1;
    expect(decide(blob, n, &p, NOW), EDGE_POLICY_DENY, EDGE_E_BAD_SIGNATURE,
           EDGE_POLICY_BASIS_SIGNED);
    blob[n - 1] ^= 1;
    blob[n - 64] ^= 0x80;
    expect(decide(blob, n, &p, NOW), EDGE_POLICY_DENY, EDGE_E_BAD_SIGNATURE,
           EDGE_POLICY_BASIS_SIGNED);
    edge_policy_free(&p);
}

static void test_engine_keys(void **state)
{
    struct fake_key k1, k2;
    edge_sr_fields f;
    edge_policy with, without;
    uint8_t blob[EDGE_MAX_SIGNED_REQUEST];
    size_t n;
    (void)state;
    fake_keygen(1, &k1);
    fake_keygen(2, &k2);
    policy_with_key(&with, &k1);
    policy_with_key(&without, NULL);
    /* Unknown key: signed by k2, which policy does not trust. */
    base_fields(&f, &k2);
    n = make_blob(&f, &k2, blob);
    expect(decide(blob, n, &with, NOW), EDGE_POLICY_DENY, EDGE_E_BAD_SIGNATURE,
           EDGE_POLICY_BASIS_SIGNED);
    /* Claiming k1's id with k2's signature fails verification. */
    edge_sr_key_id(k1.pub, f.key_id);
    n = make_blob(&f, &k2, blob);
    expect(decide(blob, n, &with, NOW), EDGE_POLICY_DENY, EDGE_E_BAD_SIGNATURE,
           EDGE_POLICY_BASIS_SIGNED);
    /* Key removed from policy between verification and decision: the engine re-checks. */
    base_fields(&f, &k1);
    n = make_blob(&f, &k1, blob);
    expect(decide_full(blob, n, &with, &without, APP, app_hash, 5000, 5010, NOW), EDGE_POLICY_DENY,
           EDGE_E_BAD_SIGNATURE, EDGE_POLICY_BASIS_SIGNED);
    /* And removed before: unknown key. */
    expect(decide(blob, n, &without, NOW), EDGE_POLICY_DENY, EDGE_E_BAD_SIGNATURE,
           EDGE_POLICY_BASIS_SIGNED);
    edge_policy_free(&with);
    edge_policy_free(&without);
}

static void test_engine_window_and_identity(void **state)
{
    struct fake_key k;
    edge_sr_fields f;
    edge_policy p;
    uint8_t blob[EDGE_MAX_SIGNED_REQUEST];
    size_t n;
    (void)state;
    fake_keygen(1, &k);
    policy_with_key(&p, &k);
    base_fields(&f, &k);
    n = make_blob(&f, &k, blob);
    expect(decide(blob, n, &p, f.not_after + EDGE_SR_CLOCK_SKEW), EDGE_POLICY_ALLOW, EDGE_OK,
           EDGE_POLICY_BASIS_SIGNED);
    expect(decide(blob, n, &p, f.not_after + EDGE_SR_CLOCK_SKEW + 1), EDGE_POLICY_DENY,
           EDGE_E_EXPIRED, EDGE_POLICY_BASIS_SIGNED);
    expect(decide(blob, n, &p, f.not_before - EDGE_SR_CLOCK_SKEW), EDGE_POLICY_ALLOW, EDGE_OK,
           EDGE_POLICY_BASIS_SIGNED);
    expect(decide(blob, n, &p, f.not_before - EDGE_SR_CLOCK_SKEW - 1), EDGE_POLICY_DENY,
           EDGE_E_EXPIRED, EDGE_POLICY_BASIS_SIGNED);
    /* A valid request presented by a different executable. */
    expect(decide_full(blob, n, &p, &p, APP, other_hash, 5000, 5010, NOW), EDGE_POLICY_DENY,
           EDGE_E_IDENTITY_MISMATCH, EDGE_POLICY_BASIS_SIGNED);
    expect(decide_full(blob, n, &p, &p, "C:\\Users\\eve\\chat.exe", app_hash, 5000, 5010, NOW),
           EDGE_POLICY_DENY, EDGE_E_IDENTITY_MISMATCH, EDGE_POLICY_BASIS_SIGNED);
    /* Other ports than signed. */
    expect(decide_full(blob, n, &p, &p, APP, app_hash, 5000, 5011, NOW), EDGE_POLICY_DENY,
           EDGE_E_BAD_SIGNATURE, EDGE_POLICY_BASIS_SIGNED);
    /* The signed edge option must equal policy's EdgeTraversal. */
    p.edge_option = EDGE_TRAVERSAL_ALLOW;
    expect(decide(blob, n, &p, NOW), EDGE_POLICY_DENY, EDGE_E_BAD_SIGNATURE,
           EDGE_POLICY_BASIS_SIGNED);
    p.edge_option = EDGE_TRAVERSAL_DEFER_TO_APP;
    /* AllowListOnly ignores signatures. */
    p.mode = EDGE_POLICY_MODE_ALLOW_LIST_ONLY;
    expect(decide(blob, n, &p, NOW), EDGE_POLICY_DENY, EDGE_E_DENIED, EDGE_POLICY_BASIS_MODE);
    /* Consent mode honours them. */
    p.mode = EDGE_POLICY_MODE_CONSENT;
    expect(decide(blob, n, &p, NOW), EDGE_POLICY_ALLOW, EDGE_OK, EDGE_POLICY_BASIS_SIGNED);
    /* A malformed blob is refused, not ignored. */
    blob[3] = 1;
    expect(decide(blob, n, &p, NOW), EDGE_POLICY_DENY, EDGE_E_BAD_SIGNATURE,
           EDGE_POLICY_BASIS_SIGNED);
    edge_policy_free(&p);
}

/* ---- text helpers ---- */

static void test_text(void **state)
{
    static const uint8_t bytes[] = {0x00, 0xFF, 0x10, 0xAB, 0x7F};
    char text[64];
    uint8_t out[16], pub[65];
    size_t n = 0, i;
    struct fake_key k;
    char hex[131 + 4];
    (void)state;
    assert_int_equal(edge_sr_hex_encode(bytes, 5, text, sizeof text), EDGE_SR_OK);
    assert_string_equal(text, "00ff10ab7f");
    assert_int_equal(edge_sr_hex_encode(bytes, 5, text, 10), EDGE_SR_E_BUFFER);
    assert_int_equal(edge_sr_hex_decode("00FF10aB7f", 10, out, sizeof out, &n), EDGE_SR_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(out, bytes, 5);
    assert_int_equal(edge_sr_hex_decode("0g", 2, out, sizeof out, &n), EDGE_SR_E_TEXT);
    assert_int_equal(edge_sr_hex_decode("abc", 3, out, sizeof out, &n), EDGE_SR_E_TEXT);
    assert_int_equal(edge_sr_hex_decode("abcd", 4, out, 1, &n), EDGE_SR_E_BUFFER);

    /* RFC 4648 §10 vectors. */
    {
        static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
        static const char *const b64[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                          "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
        for (i = 0; i < 7; i++) {
            assert_int_equal(
                edge_sr_base64_encode((const uint8_t *)in[i], strlen(in[i]), text, sizeof text),
                EDGE_SR_OK);
            assert_string_equal(text, b64[i]);
            assert_int_equal(edge_sr_base64_len(strlen(in[i])), strlen(b64[i]));
            assert_int_equal(edge_sr_base64_decode(b64[i], strlen(b64[i]), out, sizeof out, &n),
                             EDGE_SR_OK);
            assert_int_equal(n, strlen(in[i]));
            assert_memory_equal(out, in[i], n);
        }
    }
    assert_int_equal(edge_sr_base64_decode(" Zm9v\r\nYmFy\n", 12, out, sizeof out, &n), EDGE_SR_OK);
    assert_int_equal(n, 6);
    assert_int_equal(edge_sr_base64_decode("Zm9", 3, out, sizeof out, &n), EDGE_SR_E_TEXT);
    assert_int_equal(edge_sr_base64_decode("Zh==", 4, out, sizeof out, &n), EDGE_SR_E_TEXT);
    assert_int_equal(edge_sr_base64_decode("Zm9=", 4, out, sizeof out, &n), EDGE_SR_E_TEXT);
    assert_int_equal(edge_sr_base64_decode("Zg==Zg==", 8, out, sizeof out, &n), EDGE_SR_E_TEXT);
    assert_int_equal(edge_sr_base64_decode("Z===", 4, out, sizeof out, &n), EDGE_SR_E_TEXT);
    assert_int_equal(edge_sr_base64_decode("Zm-v", 4, out, sizeof out, &n), EDGE_SR_E_TEXT);
    assert_int_equal(edge_sr_base64_decode("Zm9vYmFy", 8, out, 5, &n), EDGE_SR_E_BUFFER);

    /* Public key text and key id. */
    fake_keygen(3, &k);
    assert_int_equal(edge_sr_hex_encode(k.pub, 65, hex + 1, 131), EDGE_SR_OK);
    hex[0] = ' ';
    strcat(hex, "\r\n");
    assert_int_equal(edge_sr_pubkey_from_text(hex, strlen(hex), pub), EDGE_SR_OK);
    assert_memory_equal(pub, k.pub, 65);
    assert_int_equal(edge_sr_pubkey_from_text(hex + 1, 129, pub), EDGE_SR_E_TEXT);
    hex[2] = '2'; /* "02...": a compressed-point prefix */
    assert_int_equal(edge_sr_pubkey_from_text(hex, strlen(hex), pub), EDGE_SR_E_BAD_VALUE);
    {
        uint8_t id[16], d[32];
        edge_sr_key_id(k.pub, id);
        edge_sha256(k.pub, 65, d);
        assert_memory_equal(id, d, 16);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),    cmocka_unit_test(test_build_measure_and_errors),
        cmocka_unit_test(test_strict_parse), cmocka_unit_test(test_assemble),
        cmocka_unit_test(test_check),        cmocka_unit_test(test_engine_valid_and_tampered),
        cmocka_unit_test(test_engine_keys),  cmocka_unit_test(test_engine_window_and_identity),
        cmocka_unit_test(test_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
