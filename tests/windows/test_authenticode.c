/*
 * Tests of Authenticode verification (service/authenticode.c).  The data (a test CA, a signing
 * certificate, unsigned / signed / tampered copies of this test's own exe) is made at test time
 * by tests/windows/data/sign-test-binary.sh (openssl + osslsigncode), a ctest fixture, into the
 * directory named by EDGE_AUTHENTICODE_DATA.  The test CA is trusted only while a test needs it
 * (LocalMachine\Root, removed in the teardown).
 */
#include <windows.h>

#include <wincrypt.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <cmocka.h>

#include "authenticode.h"
#include "wine_detect.h"

#define SUBJECT "CN=EdgeBroker Test Signer, O=EdgeBroker Test, C=US"

static wchar_t g_data[MAX_PATH];
static HCERTSTORE g_root;
static PCCERT_CONTEXT g_added;

static const wchar_t *data_file(const wchar_t *name)
{
    static wchar_t p[MAX_PATH];
    swprintf(p, MAX_PATH, L"%ls\\%ls", g_data, name);
    return p;
}

static int group_setup(void **state)
{
    (void)state;
    DWORD n = GetEnvironmentVariableW(L"EDGE_AUTHENTICODE_DATA", g_data, MAX_PATH);
    if (n == 0 || n >= MAX_PATH ||
        GetFileAttributesW(data_file(L"signed.exe")) == INVALID_FILE_ATTRIBUTES) {
        fprintf(stderr, "EDGE_AUTHENTICODE_DATA does not name the output of "
                        "tests/windows/data/sign-test-binary.sh (fixture authenticode_sign)\n");
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (g_added) {
        CertDeleteCertificateFromStore(g_added); /* frees the context */
        g_added = NULL;
    }
    if (g_root) {
        CertCloseStore(g_root, 0);
        g_root = NULL;
    }
    authenticode_cache_flush();
    return 0;
}

static void trust_test_root(void)
{
    BYTE der[4096];
    DWORD len = 0;
    HANDLE h = CreateFileW(data_file(L"ca.der"), GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING,
                           0, NULL);
    assert_true(h != INVALID_HANDLE_VALUE);
    assert_true(ReadFile(h, der, sizeof(der), &len, NULL));
    CloseHandle(h);
    g_root =
        CertOpenStore(CERT_STORE_PROV_SYSTEM_W, 0, 0,
                      CERT_SYSTEM_STORE_LOCAL_MACHINE | CERT_STORE_OPEN_EXISTING_FLAG, L"Root");
    assert_non_null(g_root);
    assert_true(CertAddEncodedCertificateToStore(g_root, X509_ASN_ENCODING, der, len,
                                                 CERT_STORE_ADD_REPLACE_EXISTING, &g_added));
    authenticode_cache_flush();
}

static void test_unsigned_is_not_verified(void **state)
{
    (void)state;
    struct authenticode_result r;
    assert_int_equal(authenticode_check(data_file(L"unsigned.exe"), &r), ERROR_SUCCESS);
    assert_false(r.verified);
    assert_string_equal(r.subject, "");
    assert_int_equal((unsigned long)r.trust_status, 0x800B0100ul); /* TRUST_E_NOSIGNATURE */
    assert_non_null(strstr(r.reason, "not signed"));
    assert_non_null(strstr(r.reason, "TRUST_E_NOSIGNATURE"));
}

static void test_missing_file_is_an_error(void **state)
{
    (void)state;
    struct authenticode_result r;
    assert_int_equal(authenticode_check(data_file(L"no-such.exe"), &r), ERROR_FILE_NOT_FOUND);
    assert_false(r.verified);
}

/* Signed by a CA nobody trusts: a verdict, not verified. */
static void test_untrusted_root_is_not_verified(void **state)
{
    (void)state;
    struct authenticode_result r;
    assert_int_equal(authenticode_check(data_file(L"signed.exe"), &r), ERROR_SUCCESS);
    if (r.verified && edge_test_under_wine())
        edge_test_skip_under_wine("Wine's WinVerifyTrust (softpub) accepts a chain whose root is "
                                  "not in any trusted store (returned 0 and the signer)");
    assert_false(r.verified);
    assert_int_not_equal(r.trust_status, 0);
    assert_string_equal(r.subject, "");
}

static void test_signed_with_trusted_root_gives_subject(void **state)
{
    (void)state;
    struct authenticode_result r;
    trust_test_root();
    assert_int_equal(authenticode_check(data_file(L"signed.exe"), &r), ERROR_SUCCESS);
    if (!r.verified && edge_test_under_wine()) {
        char why[300];
        snprintf(why, sizeof(why),
                 "Wine's WinVerifyTrust does not verify this chain even with the test root in "
                 "LocalMachine\\Root: %s",
                 r.reason);
        edge_test_skip_under_wine(why);
    }
    assert_true(r.verified);
    assert_int_equal(r.trust_status, 0);
    assert_string_equal(r.subject, SUBJECT);
    assert_false(r.cached);
    /* the second check of the unchanged file comes from the cache */
    assert_int_equal(authenticode_check(data_file(L"signed.exe"), &r), ERROR_SUCCESS);
    assert_true(r.cached);
    assert_true(r.verified);
    assert_string_equal(r.subject, SUBJECT);
}

static void test_tampered_is_not_verified(void **state)
{
    (void)state;
    struct authenticode_result r;
    trust_test_root();
    assert_int_equal(authenticode_check(data_file(L"tampered.exe"), &r), ERROR_SUCCESS);
    if (r.verified && edge_test_under_wine())
        edge_test_skip_under_wine("Wine's WinVerifyTrust does not check the image digest");
    assert_false(r.verified);
    assert_string_equal(r.subject, "");
    assert_int_not_equal(r.trust_status, 0);
}

/* A changed file is not served from the cache. */
static void test_cache_keyed_by_file_identity(void **state)
{
    (void)state;
    struct authenticode_result r;
    wchar_t tmp[MAX_PATH], copy[MAX_PATH];
    GetTempPathW(MAX_PATH, tmp);
    swprintf(copy, MAX_PATH, L"%lsedge_ac_%lu.exe", tmp, GetCurrentProcessId());
    assert_true(CopyFileW(data_file(L"unsigned.exe"), copy, FALSE));
    assert_int_equal(authenticode_check(copy, &r), ERROR_SUCCESS);
    assert_false(r.cached);
    assert_int_equal(authenticode_check(copy, &r), ERROR_SUCCESS);
    assert_true(r.cached);
    HANDLE h = CreateFileW(copy, FILE_APPEND_DATA, 0, NULL, OPEN_EXISTING, 0, NULL);
    assert_true(h != INVALID_HANDLE_VALUE);
    DWORD n;
    assert_true(WriteFile(h, "x", 1, &n, NULL));
    CloseHandle(h);
    assert_int_equal(authenticode_check(copy, &r), ERROR_SUCCESS);
    assert_false(r.cached);
    DeleteFileW(copy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_unsigned_is_not_verified, teardown),
        cmocka_unit_test_teardown(test_missing_file_is_an_error, teardown),
        cmocka_unit_test_teardown(test_untrusted_root_is_not_verified, teardown),
        cmocka_unit_test_teardown(test_signed_with_trusted_root_gives_subject, teardown),
        cmocka_unit_test_teardown(test_tampered_is_not_verified, teardown),
        cmocka_unit_test_teardown(test_cache_keyed_by_file_identity, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
