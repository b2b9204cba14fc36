/*
 * The interim grant decision (service/grant_policy.c), table-driven over synthetic identities:
 * admin / non-admin, allow-listed path, pattern, hash, and requests naming another executable;
 * plus the allow-list builders and the registry loader (a private HKCU key).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caller.h"
#include "grant_policy.h"

#include "edge/utf8.h"

#define APP  "C:\\Program Files\\Example\\app.exe"
#define GAME "D:\\Games\\Vendor\\bin\\x64\\game.exe"

static const char *const k_patterns[] = {
    "c:\\program files\\example\\APP.EXE", /* exact path, other case */
    "C:\\Tools\\*\\peer*.exe",             /* '*' within segments */
    "D:\\Games\\**\\game.exe",             /* '**' over whole segments */
};

static uint8_t k_hash[EDGE_SHA256_SIZE];       /* allow-listed */
static uint8_t k_other_hash[EDGE_SHA256_SIZE]; /* not allow-listed */

struct row {
    const char *name;
    bool admin;
    bool elevated_only; /* elevated but not an administrator member: is_admin false */
    const char *path;
    const uint8_t *sha;
    bool other_app;
    bool with_config;
    edge_status want;
    enum grant_basis basis;
};

static void fill_hashes(void)
{
    size_t i;

    for (i = 0; i < EDGE_SHA256_SIZE; i++) {
        k_hash[i] = (uint8_t)(0xA0 + i);
        k_other_hash[i] = (uint8_t)(0x10 + i);
    }
}

static void make_config(struct grant_policy_config *cfg)
{
    char hex[2 * EDGE_SHA256_SIZE + 1];
    size_t i;

    memset(cfg, 0, sizeof(*cfg));
    for (i = 0; i < sizeof(k_patterns) / sizeof(k_patterns[0]); i++)
        assert_int_equal(grant_policy_add_pattern(cfg, k_patterns[i], strlen(k_patterns[i])),
                         EDGE_OK);
    for (i = 0; i < EDGE_SHA256_SIZE; i++)
        (void)snprintf(hex + 2 * i, 3, "%02X", k_hash[i]); /* upper case: accepted too */
    assert_int_equal(grant_policy_add_hash_hex(cfg, hex, strlen(hex)), EDGE_OK);
}

static void test_decision_table(void **state)
{
    const struct row rows[] = {
        {"admin, nothing listed", true, false, APP, k_other_hash, false, false, EDGE_OK,
         GRANT_BASIS_ADMIN},
        {"admin for another executable", true, false, GAME, NULL, true, true, EDGE_OK,
         GRANT_BASIS_ADMIN},
        {"user, nothing listed", false, false, APP, k_other_hash, false, false, EDGE_E_DENIED,
         GRANT_BASIS_NONE},
        {"user, exact path (case differs)", false, false, APP, k_other_hash, false, true, EDGE_OK,
         GRANT_BASIS_APP_PATH},
        {"user, '*' pattern", false, false, "C:\\Tools\\v2\\peerlink.exe", k_other_hash, false,
         true, EDGE_OK, GRANT_BASIS_APP_PATH},
        {"user, '*' pattern, wrong depth", false, false, "C:\\Tools\\v2\\x\\peerlink.exe",
         k_other_hash, false, true, EDGE_E_DENIED, GRANT_BASIS_NONE},
        {"user, '**' pattern", false, false, GAME, k_other_hash, false, true, EDGE_OK,
         GRANT_BASIS_APP_PATH},
        {"user, unlisted path", false, false, "C:\\Other\\app.exe", k_other_hash, false, true,
         EDGE_E_DENIED, GRANT_BASIS_NONE},
        {"user, hash listed", false, false, "C:\\Other\\app.exe", k_hash, false, true, EDGE_OK,
         GRANT_BASIS_APP_HASH},
        {"user, hash unknown", false, false, "C:\\Other\\app.exe", NULL, false, true, EDGE_E_DENIED,
         GRANT_BASIS_NONE},
        {"user names another (listed) exe", false, false, APP, k_hash, true, true,
         EDGE_E_IDENTITY_MISMATCH, GRANT_BASIS_NONE},
        {"elevated non-admin names another exe", false, true, APP, NULL, true, true,
         EDGE_E_IDENTITY_MISMATCH, GRANT_BASIS_NONE},
        {"elevated non-admin, unlisted", false, true, "C:\\Other\\app.exe", k_other_hash, false,
         true, EDGE_E_DENIED, GRANT_BASIS_NONE},
    };
    struct grant_policy_config cfg;
    size_t i;

    (void)state;
    fill_hashes();
    make_config(&cfg);
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct row *r = &rows[i];
        struct caller_identity id;
        struct grant_policy_request req;
        struct grant_decision d;

        memset(&id, 0, sizeof(id));
        id.elevated = r->admin || r->elevated_only;
        id.admin_member = r->admin;
        id.is_admin = r->admin;
        memset(&req, 0, sizeof(req));
        req.image_path = r->path;
        req.image_path_len = strlen(r->path);
        req.image_sha256 = r->sha;
        req.other_app = r->other_app;
        memset(&d, 0xCC, sizeof(d));
        grant_policy_decide(&id, &req, r->with_config ? &cfg : NULL, &d);
        if (d.status != r->want || d.basis != r->basis)
            print_message("row '%s': got %s/%s (%s)\n", r->name, edge_status_name(d.status),
                          grant_basis_name(d.basis), d.reason);
        assert_int_equal(d.status, r->want);
        assert_int_equal(d.basis, r->basis);
        assert_true(d.reason[0] != '\0');
        assert_int_equal(edge_utf8_check((const uint8_t *)d.reason, strlen(d.reason)),
                         EDGE_UTF8_OK);
        if (r->want == EDGE_E_DENIED) {
            /* The refusal says what to do about it. */
            assert_non_null(strstr(d.reason, r->path));
            assert_non_null(strstr(d.reason, "HKLM\\SOFTWARE\\EdgeBroker\\AllowedApplications"));
        }
    }
    grant_policy_config_free(&cfg);
    assert_int_equal(cfg.app_pattern_count, 0);
}

static void test_null_caller_is_not_admin(void **state)
{
    struct grant_policy_request req;
    struct grant_decision d;

    (void)state;
    memset(&req, 0, sizeof(req));
    req.image_path = APP;
    req.image_path_len = strlen(APP);
    grant_policy_decide(NULL, &req, NULL, &d);
    assert_int_equal(d.status, EDGE_E_DENIED);
    req.other_app = true;
    grant_policy_decide(NULL, &req, NULL, &d);
    assert_int_equal(d.status, EDGE_E_IDENTITY_MISMATCH);
    grant_policy_decide(NULL, NULL, NULL, &d);
    assert_int_equal(d.status, EDGE_E_DENIED);
}

static void test_reason_stays_within_limit(void **state)
{
    struct grant_policy_request req;
    struct grant_decision d;
    char *path = malloc(3000);
    size_t i;

    (void)state;
    assert_non_null(path);
    /* C:\ then 2-byte characters (U+00E9) so a naive cut would split one. */
    memcpy(path, "C:\\", 3);
    for (i = 3; i + 2 < 2990; i += 2) {
        path[i] = (char)0xC3;
        path[i + 1] = (char)0xA9;
    }
    memcpy(path + i, ".exe", 5);
    memset(&req, 0, sizeof(req));
    req.image_path = path;
    req.image_path_len = strlen(path);
    grant_policy_decide(NULL, &req, NULL, &d);
    assert_int_equal(d.status, EDGE_E_DENIED);
    assert_true(strlen(d.reason) <= EDGE_MAX_TEXT);
    assert_int_equal(edge_utf8_check((const uint8_t *)d.reason, strlen(d.reason)), EDGE_UTF8_OK);
    free(path);
}

static void test_builders_reject_malformed(void **state)
{
    struct grant_policy_config cfg;

    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    assert_int_equal(grant_policy_add_pattern(&cfg, "relative\\app.exe", 16), EDGE_E_BAD_REQUEST);
    assert_int_equal(grant_policy_add_pattern(&cfg, "%ProgramFiles%\\a.exe", 20),
                     EDGE_E_BAD_REQUEST);
    assert_int_equal(grant_policy_add_pattern(&cfg, "C:\\a\\..\\b.exe", 13), EDGE_E_BAD_REQUEST);
    assert_int_equal(grant_policy_add_hash_hex(&cfg, "abcd", 4), EDGE_E_BAD_REQUEST);
    assert_int_equal(
        grant_policy_add_hash_hex(
            &cfg, "zz00000000000000000000000000000000000000000000000000000000000000", 64),
        EDGE_E_BAD_REQUEST);
    assert_int_equal(cfg.app_pattern_count, 0);
    assert_int_equal(cfg.image_hash_count, 0);
    grant_policy_config_free(&cfg);
}

static void set_multi(HKEY key, const wchar_t *name, const wchar_t *list, size_t chars)
{
    assert_int_equal(RegSetValueExW(key, name, 0, REG_MULTI_SZ, (const BYTE *)list,
                                    (DWORD)(chars * sizeof(wchar_t))),
                     ERROR_SUCCESS);
}

static void test_registry_loader(void **state)
{
    static const wchar_t apps[] = L"C:\\Program Files\\Example\\app.exe\0"
                                  L"not a path\0"
                                  L"%SystemRoot%\\Tools\\*.exe\0";
    static const wchar_t hashes[] =
        L"A0A1A2A3A4A5A6A7A8A9AAABACADAEAFB0B1B2B3B4B5B6B7B8B9BABBBCBDBEBF\0"
        L"123\0";
    struct grant_policy_config cfg;
    struct grant_policy_request req;
    struct grant_decision d;
    struct caller_identity id;
    wchar_t sub[96], sysroot[MAX_PATH];
    char expanded[MAX_PATH * 2];
    HKEY key;

    (void)state;
    fill_hashes();
    memset(&cfg, 0, sizeof(cfg));
    swprintf(sub, 96, L"Software\\EdgeBrokerTest-grant-%lu", GetCurrentProcessId());
    /* Missing key: empty allow-lists, not an error. */
    assert_int_equal(grant_policy_config_load(HKEY_CURRENT_USER, sub, &cfg), ERROR_SUCCESS);
    assert_int_equal(cfg.app_pattern_count + cfg.image_hash_count + cfg.malformed, 0);
    assert_int_equal(
        RegCreateKeyExW(HKEY_CURRENT_USER, sub, 0, NULL, 0, KEY_ALL_ACCESS, NULL, &key, NULL),
        ERROR_SUCCESS);
    set_multi(key, L"AllowedApplications", apps, sizeof(apps) / sizeof(apps[0]));
    set_multi(key, L"AllowedImageHashes", hashes, sizeof(hashes) / sizeof(hashes[0]));
    assert_int_equal(grant_policy_config_load(HKEY_CURRENT_USER, sub, &cfg), ERROR_SUCCESS);
    assert_int_equal(cfg.app_pattern_count, 2);
    assert_int_equal(cfg.image_hash_count, 1);
    assert_int_equal(cfg.malformed, 2);
    assert_non_null(strstr(cfg.problems, "not a path"));
    assert_memory_equal(cfg.image_hashes[0], k_hash, EDGE_SHA256_SIZE);

    /* %SystemRoot% was expanded with the process environment before the pattern check. */
    assert_true(GetEnvironmentVariableW(L"SystemRoot", sysroot, MAX_PATH) > 0);
    assert_true(
        WideCharToMultiByte(CP_UTF8, 0, sysroot, -1, expanded, sizeof(expanded), NULL, NULL) > 0);
    strcat(expanded, "\\Tools\\netpeer.exe");
    memset(&id, 0, sizeof(id));
    memset(&req, 0, sizeof(req));
    req.image_path = expanded;
    req.image_path_len = strlen(expanded);
    grant_policy_decide(&id, &req, &cfg, &d);
    assert_int_equal(d.status, EDGE_OK);
    assert_int_equal(d.basis, GRANT_BASIS_APP_PATH);

    /* A value of the wrong type fails the load and leaves nothing allow-listed. */
    assert_int_equal(
        RegSetValueExW(key, L"AllowedImageHashes", 0, REG_BINARY, (const BYTE *)"\x01\x02", 2),
        ERROR_SUCCESS);
    assert_int_not_equal(grant_policy_config_load(HKEY_CURRENT_USER, sub, &cfg), ERROR_SUCCESS);
    assert_int_equal(cfg.app_pattern_count + cfg.image_hash_count, 0);
    RegCloseKey(key);
    assert_int_equal(RegDeleteTreeW(HKEY_CURRENT_USER, sub), ERROR_SUCCESS);
    grant_policy_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decision_table),
        cmocka_unit_test(test_null_caller_is_not_admin),
        cmocka_unit_test(test_reason_stays_within_limit),
        cmocka_unit_test(test_builders_reject_malformed),
        cmocka_unit_test(test_registry_loader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
