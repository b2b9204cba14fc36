/*
 * Policy values: defaults (docs/policy.md table), strict parsers with specific errors, setters
 * that leave the value untouched on error, and the display text for `edgectl policy`.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "edge/policy.h"

static edge_str S(const char *s)
{
    edge_str v;
    v.ptr = s;
    v.len = (uint32_t)strlen(s);
    return v;
}

static edge_policy_parse_err set1(edge_policy *p, edge_policy_value id, const char *s,
                                  edge_policy_parse_info *info)
{
    edge_str v = S(s);
    return edge_policy_set_strings(p, id, &v, 1, EDGE_POLICY_SRC_POLICY, info);
}

static void test_defaults(void **state)
{
    edge_policy p;
    char text[EDGE_MAX_TEXT + 1];
    size_t i;
    static const char *const want[EDGE_POLICY_V_COUNT_] = {
        "Consent",
        "",
        "",
        "",
        "",
        "TCP,UDP",
        "1024-65535",
        "3600",
        "86400",
        "16",
        "8",
        "DeferToApp",
        "Domain,Private,Public",
        "Administrators",
        "600",
        "2592000",
        "Minimal",
    };
    (void)state;
    edge_policy_init_defaults(&p);
    for (i = 0; i < EDGE_POLICY_V_COUNT_; i++) {
        assert_int_equal(p.source[i], EDGE_POLICY_SRC_DEFAULT);
        assert_true(edge_policy_format_value(&p, (edge_policy_value)i, text, sizeof text));
        assert_string_equal(text, want[i]);
        assert_int_equal(
            edge_policy_value_from_name(edge_policy_value_name((edge_policy_value)i),
                                        strlen(edge_policy_value_name((edge_policy_value)i))),
            (int)i);
    }
    assert_int_equal(edge_policy_value_from_name("maxleaseseconds", 15),
                     EDGE_POLICY_V_MAX_LEASE_SECONDS);
    assert_int_equal(edge_policy_value_from_name("MaxLeaseSecond", 14), -1);
    assert_null(edge_policy_value_name(EDGE_POLICY_V_COUNT_));
    assert_int_equal(edge_policy_value_kind(EDGE_POLICY_V_ALLOWED_PORTS),
                     EDGE_POLICY_KIND_MULTI_SZ);
    assert_int_equal(edge_policy_value_kind(EDGE_POLICY_V_PROFILES), EDGE_POLICY_KIND_SZ);
    assert_int_equal(edge_policy_value_kind(EDGE_POLICY_V_MAX_LEASES_PER_APP),
                     EDGE_POLICY_KIND_DWORD);
    assert_string_equal(edge_policy_source_name(EDGE_POLICY_SRC_POLICY), "policy");
    assert_string_equal(edge_policy_source_name(EDGE_POLICY_SRC_LOCAL), "local");
    assert_false(edge_policy_format_value(&p, EDGE_POLICY_V_MODE, text, EDGE_MAX_TEXT));
    edge_policy_free(&p);
}

static void test_keywords(void **state)
{
    edge_policy p;
    edge_policy_parse_info info;
    edge_policy_mode m = EDGE_POLICY_MODE_OFF;
    uint32_t mask = 0;
    (void)state;
    edge_policy_init_defaults(&p);
    assert_int_equal(set1(&p, EDGE_POLICY_V_MODE, " allowlistonly ", &info), 0);
    assert_int_equal(p.mode, EDGE_POLICY_MODE_ALLOW_LIST_ONLY);
    assert_int_equal(p.source[EDGE_POLICY_V_MODE], EDGE_POLICY_SRC_POLICY);
    assert_int_equal(edge_policy_parse_mode("Off", 3, &m, NULL), 0);
    assert_int_equal(m, EDGE_POLICY_MODE_OFF);
    assert_int_equal(edge_policy_parse_mode("SignedOrAllowListed", 19, &m, NULL), 0);
    assert_int_equal(m, EDGE_POLICY_MODE_SIGNED_OR_ALLOW_LISTED);
    /* Malformed: specific error, message naming the value, value unchanged. */
    assert_int_equal(set1(&p, EDGE_POLICY_V_MODE, "Permissive", &info),
                     EDGE_POLICY_PARSE_E_KEYWORD);
    assert_int_equal(info.err, EDGE_POLICY_PARSE_E_KEYWORD);
    assert_string_equal(info.message, "Mode \"Permissive\": unknown keyword");
    assert_int_equal(p.mode, EDGE_POLICY_MODE_ALLOW_LIST_ONLY);
    assert_int_equal(set1(&p, EDGE_POLICY_V_MODE, "  ", &info), EDGE_POLICY_PARSE_E_EMPTY);
    assert_int_equal(set1(&p, EDGE_POLICY_V_MODE, "Off\n", &info), EDGE_POLICY_PARSE_E_ENCODING);
    assert_int_equal(set1(&p, EDGE_POLICY_V_MODE, "Of\xC3", &info), EDGE_POLICY_PARSE_E_ENCODING);
    {
        edge_str nul = {"Off\0x", 5};
        assert_int_equal(
            edge_policy_set_strings(&p, EDGE_POLICY_V_MODE, &nul, 1, EDGE_POLICY_SRC_LOCAL, &info),
            EDGE_POLICY_PARSE_E_ENCODING);
    }
    /* An SZ value takes exactly one item. */
    {
        edge_str two[2] = {S("Off"), S("Off")};
        assert_int_equal(
            edge_policy_set_strings(&p, EDGE_POLICY_V_MODE, two, 2, EDGE_POLICY_SRC_LOCAL, &info),
            EDGE_POLICY_PARSE_E_ARG);
    }
    /* Comma lists. */
    assert_int_equal(edge_policy_parse_protocols("udp", 3, &mask, NULL), 0);
    assert_int_equal(mask, EDGE_POLICY_PROTO_UDP);
    assert_int_equal(edge_policy_parse_protocols("TCP , UDP", 9, &mask, NULL), 0);
    assert_int_equal(mask, 3);
    assert_int_equal(edge_policy_parse_protocols("TCP,TCP", 7, &mask, &info),
                     EDGE_POLICY_PARSE_E_DUPLICATE);
    assert_int_equal(edge_policy_parse_protocols("TCP,", 4, &mask, &info),
                     EDGE_POLICY_PARSE_E_EMPTY);
    assert_int_equal(edge_policy_parse_protocols("", 0, &mask, &info), EDGE_POLICY_PARSE_E_EMPTY);
    assert_int_equal(edge_policy_parse_protocols("ICMP", 4, &mask, &info),
                     EDGE_POLICY_PARSE_E_KEYWORD);
    assert_int_equal(set1(&p, EDGE_POLICY_V_PROFILES, "Private,Public", &info), 0);
    assert_int_equal(p.profiles, EDGE_POLICY_PROFILE_PRIVATE | EDGE_POLICY_PROFILE_PUBLIC);
    assert_int_equal(set1(&p, EDGE_POLICY_V_PROFILES, "Private;Public", &info),
                     EDGE_POLICY_PARSE_E_KEYWORD);
    assert_int_equal(set1(&p, EDGE_POLICY_V_PROFILES, "All", &info), EDGE_POLICY_PARSE_E_KEYWORD);
    assert_int_equal(p.profiles, EDGE_POLICY_PROFILE_PRIVATE | EDGE_POLICY_PROFILE_PUBLIC);
    assert_int_equal(set1(&p, EDGE_POLICY_V_EDGE_TRAVERSAL, "Allow", &info), 0);
    assert_int_equal(p.edge_option, EDGE_TRAVERSAL_ALLOW);
    assert_int_equal(set1(&p, EDGE_POLICY_V_EDGE_TRAVERSAL, "DeferToUser", &info),
                     EDGE_POLICY_PARSE_E_KEYWORD);
    assert_int_equal(set1(&p, EDGE_POLICY_V_CONSENT_BY, "InteractiveUser", &info), 0);
    assert_int_equal(p.consent_by, EDGE_POLICY_CONSENT_BY_INTERACTIVE_USER);
    assert_int_equal(set1(&p, EDGE_POLICY_V_CONSENT_BY, "Users", &info),
                     EDGE_POLICY_PARSE_E_KEYWORD);
    assert_int_equal(set1(&p, EDGE_POLICY_V_AUDIT_LEVEL, "VERBOSE", &info), 0);
    assert_int_equal(p.audit_level, EDGE_POLICY_AUDIT_VERBOSE);
    assert_int_equal(set1(&p, EDGE_POLICY_V_AUDIT_LEVEL, "Debug", &info),
                     EDGE_POLICY_PARSE_E_KEYWORD);
    edge_policy_free(&p);
}

static void test_ports(void **state)
{
    edge_policy p;
    edge_policy_parse_info info;
    edge_str v[3];
    static const struct {
        const char *text;
        edge_policy_parse_err err;
    } bad[] = {
        {"0", EDGE_POLICY_PARSE_E_RANGE},
        {"65536", EDGE_POLICY_PARSE_E_RANGE},
        {"100000", EDGE_POLICY_PARSE_E_RANGE},
        {"10-5", EDGE_POLICY_PARSE_E_RANGE},
        {"080", EDGE_POLICY_PARSE_E_SYNTAX},
        {"+80", EDGE_POLICY_PARSE_E_SYNTAX},
        {"80-", EDGE_POLICY_PARSE_E_SYNTAX},
        {"-80", EDGE_POLICY_PARSE_E_SYNTAX},
        {"1-2-3", EDGE_POLICY_PARSE_E_SYNTAX},
        {"80 - 90", EDGE_POLICY_PARSE_E_SYNTAX},
        {"0x50", EDGE_POLICY_PARSE_E_SYNTAX},
        {"", EDGE_POLICY_PARSE_E_EMPTY},
        {"123456789012", EDGE_POLICY_PARSE_E_TOO_LONG},
    };
    size_t i;
    (void)state;
    edge_policy_init_defaults(&p);
    v[0] = S("1");
    v[1] = S(" 5000-5010 ");
    v[2] = S("65535");
    assert_int_equal(edge_policy_set_strings(&p, EDGE_POLICY_V_ALLOWED_PORTS, v, 3,
                                             EDGE_POLICY_SRC_LOCAL, &info),
                     0);
    assert_int_equal(p.port_count, 3);
    assert_int_equal(p.ports[0].lo, 1);
    assert_int_equal(p.ports[0].hi, 1);
    assert_int_equal(p.ports[1].lo, 5000);
    assert_int_equal(p.ports[1].hi, 5010);
    assert_int_equal(p.ports[2].lo, 65535);
    assert_int_equal(p.source[EDGE_POLICY_V_ALLOWED_PORTS], EDGE_POLICY_SRC_LOCAL);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v[1] = S(bad[i].text);
        if (edge_policy_set_strings(&p, EDGE_POLICY_V_ALLOWED_PORTS, v, 2, EDGE_POLICY_SRC_POLICY,
                                    &info) != bad[i].err) {
            print_error("\"%s\": %s\n", bad[i].text, edge_policy_parse_err_name(info.err));
            fail();
        }
        assert_int_equal(info.item, 1);
        assert_int_equal(p.port_count, 3); /* unchanged */
        assert_int_equal(p.source[EDGE_POLICY_V_ALLOWED_PORTS], EDGE_POLICY_SRC_LOCAL);
    }
    v[1] = S("70000");
    edge_policy_set_strings(&p, EDGE_POLICY_V_ALLOWED_PORTS, v, 2, EDGE_POLICY_SRC_POLICY, &info);
    assert_string_equal(info.message,
                        "AllowedPorts[1] \"70000\": port outside 1-65535, or range with lo > hi");
    /* An empty port list is malformed (the default applies), not "no ports". */
    assert_int_equal(edge_policy_set_strings(&p, EDGE_POLICY_V_ALLOWED_PORTS, NULL, 0,
                                             EDGE_POLICY_SRC_POLICY, &info),
                     EDGE_POLICY_PARSE_E_EMPTY);
    {
        edge_str many[EDGE_POLICY_MAX_PORT_RANGES + 1];
        for (i = 0; i < EDGE_POLICY_MAX_PORT_RANGES + 1; i++)
            many[i] = S("80");
        assert_int_equal(edge_policy_set_strings(&p, EDGE_POLICY_V_ALLOWED_PORTS, many,
                                                 EDGE_POLICY_MAX_PORT_RANGES,
                                                 EDGE_POLICY_SRC_POLICY, &info),
                         0);
        assert_int_equal(edge_policy_set_strings(&p, EDGE_POLICY_V_ALLOWED_PORTS, many,
                                                 EDGE_POLICY_MAX_PORT_RANGES + 1,
                                                 EDGE_POLICY_SRC_POLICY, &info),
                         EDGE_POLICY_PARSE_E_TOO_MANY);
    }
    edge_policy_free(&p);
}

static void test_hashes_keys(void **state)
{
    edge_policy p;
    edge_policy_parse_info info;
    char key[131];
    uint8_t point[65], id[16];
    edge_str v[2];
    size_t i;
    (void)state;
    edge_policy_init_defaults(&p);
    v[0] = S("00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff");
    v[1] = S("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
    assert_int_equal(edge_policy_set_strings(&p, EDGE_POLICY_V_ALLOWED_IMAGE_HASHES, v, 2,
                                             EDGE_POLICY_SRC_POLICY, &info),
                     0);
    assert_int_equal(p.image_hash_count, 2);
    assert_int_equal(p.image_hashes[0][10], 0xAA);
    assert_int_equal(p.image_hashes[1][31], 0xFF);
    v[1] = S("fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
    assert_int_equal(edge_policy_set_strings(&p, EDGE_POLICY_V_ALLOWED_IMAGE_HASHES, v, 2,
                                             EDGE_POLICY_SRC_POLICY, &info),
                     EDGE_POLICY_PARSE_E_SYNTAX);
    assert_int_equal(info.item, 1);
    assert_int_equal(p.image_hash_count, 2);
    v[1] = S("gfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
    assert_int_equal(edge_policy_set_strings(&p, EDGE_POLICY_V_ALLOWED_IMAGE_HASHES, v, 2,
                                             EDGE_POLICY_SRC_POLICY, &info),
                     EDGE_POLICY_PARSE_E_SYNTAX);
    /* An empty list is a valid, empty allow-list. */
    assert_int_equal(edge_policy_set_strings(&p, EDGE_POLICY_V_ALLOWED_IMAGE_HASHES, NULL, 0,
                                             EDGE_POLICY_SRC_LOCAL, &info),
                     0);
    assert_int_equal(p.image_hash_count, 0);
    assert_null(p.image_hashes);

    memset(point, 0, sizeof point);
    point[0] = 4;
    for (i = 1; i < 65; i++)
        point[i] = (uint8_t)i;
    edge_sr_hex_encode(point, 65, key, sizeof key);
    v[0] = S(key);
    assert_int_equal(edge_policy_set_strings(&p, EDGE_POLICY_V_TRUSTED_SIGNER_KEYS, v, 1,
                                             EDGE_POLICY_SRC_POLICY, &info),
                     0);
    assert_int_equal(p.key_count, 1);
    assert_memory_equal(p.keys[0].point, point, 65);
    edge_sr_key_id(point, id);
    assert_memory_equal(p.keys[0].id, id, 16);
    assert_ptr_equal(edge_policy_find_key(&p, id), &p.keys[0]);
    id[15] ^= 1;
    assert_null(edge_policy_find_key(&p, id));
    key[1] = '2'; /* compressed-point prefix 02 */
    assert_int_equal(edge_policy_set_strings(&p, EDGE_POLICY_V_TRUSTED_SIGNER_KEYS, v, 1,
                                             EDGE_POLICY_SRC_POLICY, &info),
                     EDGE_POLICY_PARSE_E_KEY);
    key[128] = '\0';
    v[0] = S(key);
    assert_int_equal(edge_policy_set_strings(&p, EDGE_POLICY_V_TRUSTED_SIGNER_KEYS, v, 1,
                                             EDGE_POLICY_SRC_POLICY, &info),
                     EDGE_POLICY_PARSE_E_SYNTAX);
    assert_int_equal(p.key_count, 1);
    edge_policy_free(&p);
}

static void test_patterns_publishers(void **state)
{
    edge_policy p;
    edge_policy_parse_info info;
    edge_str v[3];
    (void)state;
    edge_policy_init_defaults(&p);
    v[0] = S("C:\\Program Files\\Contoso\\**\\*.exe");
    v[1] = S(" \\\\fileserver\\apps\\chat.exe ");
    assert_int_equal(edge_policy_set_strings(&p, EDGE_POLICY_V_ALLOWED_APPLICATIONS, v, 2,
                                             EDGE_POLICY_SRC_POLICY, &info),
                     0);
    assert_int_equal(p.app_patterns.count, 2);
    assert_string_equal(p.app_patterns.items[1], "\\\\fileserver\\apps\\chat.exe");
    v[1] = S("%ProgramFiles%\\x.exe");
    assert_int_equal(edge_policy_set_strings(&p, EDGE_POLICY_V_ALLOWED_APPLICATIONS, v, 2,
                                             EDGE_POLICY_SRC_POLICY, &info),
                     EDGE_POLICY_PARSE_E_PATTERN);
    assert_int_equal(info.path_result, EDGE_PATH_E_UNEXPANDED);
    assert_int_equal(info.item, 1);
    v[1] = S("relative\\x.exe");
    assert_int_equal(edge_policy_set_strings(&p, EDGE_POLICY_V_ALLOWED_APPLICATIONS, v, 2,
                                             EDGE_POLICY_SRC_POLICY, &info),
                     EDGE_POLICY_PARSE_E_PATTERN);
    assert_int_equal(info.path_result, EDGE_PATH_E_RELATIVE);
    assert_int_equal(p.app_patterns.count, 2);

    v[0] = S("CN=Contoso Ltd, O=Contoso Ltd, C=US");
    v[1] = S("CN=Fabrikam");
    assert_int_equal(edge_policy_set_strings(&p, EDGE_POLICY_V_ALLOWED_PUBLISHERS, v, 2,
                                             EDGE_POLICY_SRC_LOCAL, &info),
                     0);
    assert_int_equal(p.publishers.count, 2);
    v[2] = S("Fabrikam");
    assert_int_equal(edge_policy_set_strings(&p, EDGE_POLICY_V_ALLOWED_PUBLISHERS, v, 3,
                                             EDGE_POLICY_SRC_LOCAL, &info),
                     EDGE_POLICY_PARSE_E_SYNTAX);
    assert_int_equal(info.item, 2);
    v[2] = S("CN=a\tb");
    assert_int_equal(edge_policy_set_strings(&p, EDGE_POLICY_V_ALLOWED_PUBLISHERS, v, 3,
                                             EDGE_POLICY_SRC_LOCAL, &info),
                     EDGE_POLICY_PARSE_E_ENCODING);
    assert_int_equal(p.publishers.count, 2);
    /* Lists are capped. */
    {
        static edge_str many[EDGE_POLICY_MAX_LIST + 1];
        size_t i;
        for (i = 0; i <= EDGE_POLICY_MAX_LIST; i++)
            many[i] = S("CN=x");
        assert_int_equal(edge_policy_set_strings(&p, EDGE_POLICY_V_ALLOWED_PUBLISHERS, many,
                                                 EDGE_POLICY_MAX_LIST + 1, EDGE_POLICY_SRC_LOCAL,
                                                 &info),
                         EDGE_POLICY_PARSE_E_TOO_MANY);
        assert_int_equal(edge_policy_set_strings(&p, EDGE_POLICY_V_ALLOWED_PUBLISHERS, many,
                                                 EDGE_POLICY_MAX_LIST, EDGE_POLICY_SRC_LOCAL,
                                                 &info),
                         0);
    }
    edge_policy_free(&p);
}

static void test_dwords(void **state)
{
    edge_policy p;
    edge_policy_parse_info info;
    (void)state;
    edge_policy_init_defaults(&p);
    assert_int_equal(edge_policy_set_dword(&p, EDGE_POLICY_V_MAX_LEASE_SECONDS, 31536000,
                                           EDGE_POLICY_SRC_POLICY, &info),
                     0);
    assert_int_equal(p.max_lease_seconds, 31536000);
    assert_int_equal(edge_policy_set_dword(&p, EDGE_POLICY_V_MAX_LEASE_SECONDS, 31536001,
                                           EDGE_POLICY_SRC_POLICY, &info),
                     EDGE_POLICY_PARSE_E_RANGE);
    assert_string_equal(info.message, "MaxLeaseSeconds \"31536001\": outside 1-31536000");
    assert_int_equal(edge_policy_set_dword(&p, EDGE_POLICY_V_DEFAULT_LEASE_SECONDS, 0,
                                           EDGE_POLICY_SRC_POLICY, &info),
                     EDGE_POLICY_PARSE_E_RANGE);
    assert_int_equal(p.default_lease_seconds, 3600);
    assert_int_equal(edge_policy_set_dword(&p, EDGE_POLICY_V_MAX_LEASES_PER_USER, 0,
                                           EDGE_POLICY_SRC_POLICY, &info),
                     EDGE_POLICY_PARSE_E_RANGE);
    assert_int_equal(edge_policy_set_dword(&p, EDGE_POLICY_V_MAX_LEASES_PER_APP, 65535,
                                           EDGE_POLICY_SRC_LOCAL, &info),
                     0);
    assert_int_equal(p.max_leases_per_app, 65535);
    assert_int_equal(edge_policy_set_dword(&p, EDGE_POLICY_V_CONSENT_REMEMBER_SECONDS, 0,
                                           EDGE_POLICY_SRC_LOCAL, &info),
                     0);
    assert_int_equal(edge_policy_set_dword(&p, EDGE_POLICY_V_CONSENT_TIMEOUT_SECONDS, 604801,
                                           EDGE_POLICY_SRC_LOCAL, &info),
                     EDGE_POLICY_PARSE_E_RANGE);
    /* A DWORD setter on a string value, and the reverse, are API errors. */
    assert_int_equal(edge_policy_set_dword(&p, EDGE_POLICY_V_MODE, 1, EDGE_POLICY_SRC_LOCAL, &info),
                     EDGE_POLICY_PARSE_E_ARG);
    assert_int_equal(set1(&p, EDGE_POLICY_V_MAX_LEASE_SECONDS, "5", &info),
                     EDGE_POLICY_PARSE_E_ARG);
    assert_int_equal(p.source[EDGE_POLICY_V_MAX_LEASES_PER_APP], EDGE_POLICY_SRC_LOCAL);
    assert_int_equal(p.source[EDGE_POLICY_V_MAX_LEASES_PER_USER], EDGE_POLICY_SRC_DEFAULT);
    edge_policy_free(&p);
}

static void test_format_long_lists(void **state)
{
    static edge_str many[200];
    static char hashes[200][65];
    edge_policy p;
    char text[EDGE_MAX_TEXT + 1];
    size_t i;
    (void)state;
    edge_policy_init_defaults(&p);
    for (i = 0; i < 200; i++) {
        snprintf(hashes[i], sizeof hashes[i], "%064x", (unsigned)i);
        many[i] = S(hashes[i]);
    }
    assert_int_equal(edge_policy_set_strings(&p, EDGE_POLICY_V_ALLOWED_IMAGE_HASHES, many, 200,
                                             EDGE_POLICY_SRC_POLICY, NULL),
                     0);
    assert_true(
        edge_policy_format_value(&p, EDGE_POLICY_V_ALLOWED_IMAGE_HASHES, text, sizeof text));
    assert_true(strlen(text) <= EDGE_MAX_TEXT);
    assert_non_null(strstr(text, " ... (200 entries)"));
    assert_true(strncmp(text, hashes[0], 64) == 0);
    for (i = 0; i < 200; i++)
        many[i] = S("C:\\Program Files\\A Rather Long Vendor Name\\Product\\bin\\app.exe");
    assert_int_equal(edge_policy_set_strings(&p, EDGE_POLICY_V_ALLOWED_APPLICATIONS, many, 200,
                                             EDGE_POLICY_SRC_POLICY, NULL),
                     0);
    assert_true(
        edge_policy_format_value(&p, EDGE_POLICY_V_ALLOWED_APPLICATIONS, text, sizeof text));
    assert_true(strlen(text) <= EDGE_MAX_TEXT);
    assert_non_null(strstr(text, "app.exe ... (200 entries)"));
    edge_policy_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_keywords),
        cmocka_unit_test(test_ports),
        cmocka_unit_test(test_hashes_keys),
        cmocka_unit_test(test_patterns_publishers),
        cmocka_unit_test(test_dwords),
        cmocka_unit_test(test_format_long_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
