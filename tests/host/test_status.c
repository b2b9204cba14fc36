/* Status codes: stable names, messages and retry classes (docs/protocol.md, "Status codes"). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "edge/status.h"

static void test_every_code_has_a_distinct_name_and_message(void **state)
{
    (void)state;
    for (uint32_t a = 0; a < EDGE_STATUS_COUNT_; a++) {
        const char *name = edge_status_name(a);
        assert_non_null(name);
        assert_true(strncmp(name, "EDGE_", 5) == 0);
        assert_string_not_equal(name, "EDGE_STATUS_UNKNOWN");
        assert_string_not_equal(edge_status_message(a), "unknown status");
        for (uint32_t b = a + 1; b < EDGE_STATUS_COUNT_; b++)
            assert_string_not_equal(name, edge_status_name(b));
    }
}

static void test_numeric_values_are_stable(void **state)
{
    (void)state;
    /* These values are on the wire; changing one breaks every deployed client. */
    assert_int_equal(EDGE_OK, 0);
    assert_string_equal(edge_status_name(0), "EDGE_OK");
    assert_string_equal(edge_status_name(1), "EDGE_PENDING_CONSENT");
    assert_string_equal(edge_status_name(2), "EDGE_E_BAD_REQUEST");
    assert_string_equal(edge_status_name(10), "EDGE_E_QUOTA");
    assert_string_equal(edge_status_name(11), "EDGE_E_BUSY");
    assert_string_equal(edge_status_name(16), "EDGE_E_RULE_TAMPERED");
    assert_string_equal(edge_status_name(25), "EDGE_E_INEFFECTIVE");
}

static void test_retry_classes(void **state)
{
    (void)state;
    assert_true(edge_status_is_transient(EDGE_E_BUSY));
    assert_true(edge_status_is_transient(EDGE_E_QUOTA));
    assert_true(edge_status_is_transient(EDGE_E_TIMEOUT));
    assert_true(edge_status_is_transient(EDGE_PENDING_CONSENT));
    assert_false(edge_status_is_transient(EDGE_OK));
    assert_false(edge_status_is_transient(EDGE_E_DENIED));
    assert_false(edge_status_is_transient(EDGE_E_BAD_REQUEST));
    assert_false(edge_status_is_transient(EDGE_E_IDENTITY_MISMATCH));
}

static void test_unknown_values(void **state)
{
    (void)state;
    const uint32_t unknown[] = {EDGE_STATUS_COUNT_, 1000, UINT32_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        assert_string_equal(edge_status_name(unknown[i]), "EDGE_STATUS_UNKNOWN");
        assert_string_equal(edge_status_message(unknown[i]), "unknown status");
        assert_false(edge_status_is_transient(unknown[i]));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_code_has_a_distinct_name_and_message),
        cmocka_unit_test(test_numeric_values_are_stable),
        cmocka_unit_test(test_retry_classes),
        cmocka_unit_test(test_unknown_values),
    };
    return cmocka_run_group_tests_name("status", tests, NULL, NULL);
}
