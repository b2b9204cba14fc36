/* SHA-256 against the FIPS 180-2 example vectors, one-shot and streamed in odd pieces. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "edge/sha256.h"

static void hex(const uint8_t d[EDGE_SHA256_DIGEST_LEN], char out[65])
{
    size_t i;
    for (i = 0; i < EDGE_SHA256_DIGEST_LEN; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void check(const void *data, size_t len, const char *expect)
{
    uint8_t d[EDGE_SHA256_DIGEST_LEN];
    char h[65];
    edge_sha256(data, len, d);
    hex(d, h);
    assert_string_equal(h, expect);
}

static void test_empty(void **state)
{
    (void)state;
    check("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check(NULL, 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_abc(void **state)
{
    (void)state;
    check("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static const char vec448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
static const char vec448_hash[] =
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";

static void test_448_bits(void **state)
{
    (void)state;
    assert_int_equal(strlen(vec448), 56);
    check(vec448, 56, vec448_hash);
}

/* Every split point of the 448-bit vector, so the block-buffering paths are all exercised. */
static void test_streaming_splits(void **state)
{
    size_t split;
    (void)state;
    for (split = 0; split <= 56; split++) {
        edge_sha256_ctx ctx;
        uint8_t d[EDGE_SHA256_DIGEST_LEN];
        char h[65];
        edge_sha256_init(&ctx);
        edge_sha256_update(&ctx, vec448, split);
        edge_sha256_update(&ctx, NULL, 0);
        edge_sha256_update(&ctx, vec448 + split, 56 - split);
        edge_sha256_final(&ctx, d);
        hex(d, h);
        assert_string_equal(h, vec448_hash);
    }
}

static void test_million_a(void **state)
{
    static uint8_t chunk[1000];
    edge_sha256_ctx ctx;
    uint8_t d[EDGE_SHA256_DIGEST_LEN];
    char h[65];
    int i;
    (void)state;
    memset(chunk, 'a', sizeof(chunk));
    edge_sha256_init(&ctx);
    /* 1000 chunks of 1000, fed in unequal pieces to cross block boundaries at varying offsets. */
    for (i = 0; i < 1000; i++) {
        edge_sha256_update(&ctx, chunk, 333);
        edge_sha256_update(&ctx, chunk, 667);
    }
    edge_sha256_final(&ctx, d);
    hex(d, h);
    assert_string_equal(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Lengths around the padding boundary (55, 56, 63, 64 bytes) against known digests. */
static void test_padding_boundaries(void **state)
{
    static uint8_t a[64];
    (void)state;
    memset(a, 'a', sizeof(a));
    check(a, 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
    check(a, 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
    check(a, 63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34");
    check(a, 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),     cmocka_unit_test(test_abc),
        cmocka_unit_test(test_448_bits),  cmocka_unit_test(test_streaming_splits),
        cmocka_unit_test(test_million_a), cmocka_unit_test(test_padding_boundaries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
