/* edgeclient: result codes, their texts and names, the version query and the init helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

/* edgeclient.h first, then the service's status.h: the reverse of the library's own order
 * (client/lib/client.h), so both orders are compiled. */
#include "edgeclient.h"
#include "edge/status.h"
#include "edge/version.h"

#define SAME_AS_SERVICE(code) assert_string_equal(edge_status_name((uint32_t)(code)), #code)

static void test_status_values_match_service(void **state)
{
    (void)state;
    /* edgeclient.h redeclares the service statuses; a drifted value would show here. */
    SAME_AS_SERVICE(EDGE_OK);
    SAME_AS_SERVICE(EDGE_PENDING_CONSENT);
    SAME_AS_SERVICE(EDGE_E_BAD_REQUEST);
    SAME_AS_SERVICE(EDGE_E_UNSUPPORTED_VERSION);
    SAME_AS_SERVICE(EDGE_E_DENIED);
    SAME_AS_SERVICE(EDGE_E_ACCESS_DENIED);
    SAME_AS_SERVICE(EDGE_E_IDENTITY_MISMATCH);
    SAME_AS_SERVICE(EDGE_E_BAD_SIGNATURE);
    SAME_AS_SERVICE(EDGE_E_EXPIRED);
    SAME_AS_SERVICE(EDGE_E_NOT_FOUND);
    SAME_AS_SERVICE(EDGE_E_QUOTA);
    SAME_AS_SERVICE(EDGE_E_BUSY);
    SAME_AS_SERVICE(EDGE_E_FIREWALL);
    SAME_AS_SERVICE(EDGE_E_FIREWALL_ACCESS);
    SAME_AS_SERVICE(EDGE_E_FIREWALL_UNAVAILABLE);
    SAME_AS_SERVICE(EDGE_E_FIREWALL_INVALID);
    SAME_AS_SERVICE(EDGE_E_RULE_TAMPERED);
    SAME_AS_SERVICE(EDGE_E_INTERNAL);
    SAME_AS_SERVICE(EDGE_E_NO_MEMORY);
    SAME_AS_SERVICE(EDGE_E_SHUTTING_DOWN);
    SAME_AS_SERVICE(EDGE_E_TIMEOUT);
    SAME_AS_SERVICE(EDGE_E_STORAGE);
    SAME_AS_SERVICE(EDGE_E_CONSENT_DENIED);
    SAME_AS_SERVICE(EDGE_E_CONFLICT);
    SAME_AS_SERVICE(EDGE_E_PROTOCOL_STATE);
    SAME_AS_SERVICE(EDGE_E_INEFFECTIVE);
    /* The header's copy ends where the service's table ends: a status appended to status.h
     * without the copy in edgeclient.h fails here. */
    assert_string_not_equal(edge_status_name(EDGE_STATUS_COUNT_ - 1), "EDGE_STATUS_UNKNOWN");
    assert_string_equal(edge_status_name(EDGE_STATUS_COUNT_), "EDGE_STATUS_UNKNOWN");
}

static const edge_result client_codes[] = {
    EDGE_CLIENT_E_INVALID_ARG,   EDGE_CLIENT_E_NO_MEMORY,   EDGE_CLIENT_E_NO_SERVICE,
    EDGE_CLIENT_E_ACCESS_DENIED, EDGE_CLIENT_E_FAKE_SERVER, EDGE_CLIENT_E_TIMEOUT,
    EDGE_CLIENT_E_PROTOCOL,      EDGE_CLIENT_E_CLOSED,      EDGE_CLIENT_E_DISCONNECTED,
    EDGE_CLIENT_E_NOT_COVERED,   EDGE_CLIENT_E_SOCKET,      EDGE_CLIENT_E_BUFFER_TOO_SMALL,
    EDGE_CLIENT_E_LEASE_ENDED,   EDGE_CLIENT_E_SYSTEM,      EDGE_CLIENT_W_ALREADY_BOUND,
    EDGE_CLIENT_W_INEFFECTIVE,
};

static void test_every_client_code_has_name_and_text(void **state)
{
    size_t i, j;
    (void)state;
    for (i = 0; i < sizeof(client_codes) / sizeof(client_codes[0]); i++) {
        const char *name = edge_result_name(client_codes[i]);
        assert_true(client_codes[i] >= 0x10000); /* cannot collide with a service status */
        assert_true(strncmp(name, "EDGE_CLIENT_", 12) == 0);
        assert_string_not_equal(edge_strerror(client_codes[i]), "unknown error");
        for (j = 0; j < i; j++)
            assert_string_not_equal(name, edge_result_name(client_codes[j]));
    }
    assert_string_equal(edge_result_name(EDGE_CLIENT_E_FAKE_SERVER), "EDGE_CLIENT_E_FAKE_SERVER");
    assert_non_null(strstr(edge_strerror(EDGE_CLIENT_E_NO_SERVICE), "not installed"));
}

static void test_service_codes_use_service_text(void **state)
{
    (void)state;
    assert_string_equal(edge_result_name(EDGE_E_QUOTA), "EDGE_E_QUOTA");
    assert_true(strlen(edge_strerror(EDGE_E_QUOTA)) > 5);
    assert_string_equal(edge_result_name(EDGE_OK), "EDGE_OK");
}

static void test_unknown_codes(void **state)
{
    (void)state;
    assert_string_equal(edge_result_name(-1), "EDGE_UNKNOWN");
    assert_string_equal(edge_result_name(0x7777), "EDGE_UNKNOWN");
    assert_string_equal(edge_result_name(0x10000), "EDGE_UNKNOWN");
    assert_string_equal(edge_strerror(0x1FFFF), "unknown error");
    assert_non_null(edge_strerror(-5));
}

static void test_succeeded_macro(void **state)
{
    (void)state;
    assert_true(EDGE_SUCCEEDED(EDGE_OK));
    assert_true(EDGE_SUCCEEDED(EDGE_CLIENT_W_ALREADY_BOUND));
    assert_true(EDGE_SUCCEEDED(EDGE_CLIENT_W_INEFFECTIVE));
    assert_false(EDGE_SUCCEEDED(EDGE_PENDING_CONSENT));
    assert_false(EDGE_SUCCEEDED(EDGE_E_DENIED));
    assert_false(EDGE_SUCCEEDED(EDGE_CLIENT_E_TIMEOUT));
    assert_false(EDGE_SUCCEEDED(EDGE_CLIENT_W_BASE));
}

static void test_transient(void **state)
{
    (void)state;
    assert_true(edge_result_is_transient(EDGE_E_BUSY));
    assert_true(edge_result_is_transient(EDGE_PENDING_CONSENT));
    assert_false(edge_result_is_transient(EDGE_E_DENIED));
    assert_true(edge_result_is_transient(EDGE_CLIENT_E_TIMEOUT));
    assert_true(edge_result_is_transient(EDGE_CLIENT_E_DISCONNECTED));
    assert_true(edge_result_is_transient(EDGE_CLIENT_E_NO_SERVICE));
    assert_false(edge_result_is_transient(EDGE_CLIENT_E_FAKE_SERVER));
    assert_false(edge_result_is_transient(EDGE_CLIENT_E_INVALID_ARG));
    assert_false(edge_result_is_transient(EDGE_OK));
}

static void test_version(void **state)
{
    (void)state;
    assert_int_equal(edge_client_version(),
                     (EDGE_VERSION_MAJOR << 16) | (EDGE_VERSION_MINOR << 8) | EDGE_VERSION_PATCH);
    assert_string_equal(edge_client_version_string(), EDGE_VERSION_STRING);
}

static void test_init_helpers(void **state)
{
    edge_session_options o;
    edge_lease_params p;
    (void)state;
    memset(&o, 0xAB, sizeof(o));
    memset(&p, 0xAB, sizeof(p));
    edge_session_options_init(&o);
    edge_lease_params_init(&p);
    assert_int_equal(o.size, sizeof(o));
    assert_int_equal(o.flags, 0);
    assert_null(o.pipe_name);
    assert_null(o.on_event);
    assert_int_equal(p.size, sizeof(p));
    assert_int_equal(p.port_lo, 0);
    assert_null(p.signed_request);
    edge_session_options_init(NULL); /* ignored, no crash */
    edge_lease_params_init(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_values_match_service),
        cmocka_unit_test(test_every_client_code_has_name_and_text),
        cmocka_unit_test(test_service_codes_use_service_text),
        cmocka_unit_test(test_unknown_codes),
        cmocka_unit_test(test_succeeded_macro),
        cmocka_unit_test(test_transient),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_init_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
