/* The Wine detector that decides which tests report SKIP must agree with an independent sign of
 * Wine: the HKLM\Software\Wine key that every Wine prefix has and Windows never does. */
#include <windows.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "wine_detect.h"

static bool wine_registry_key_exists(void)
{
    HKEY key;
    if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, L"Software\\Wine", 0, KEY_READ, &key) != ERROR_SUCCESS)
        return false;
    RegCloseKey(key);
    return true;
}

static void test_detector_agrees_with_registry(void **state)
{
    (void)state;
    assert_int_equal(edge_test_under_wine(), wine_registry_key_exists());
}

static void test_version_present_only_under_wine(void **state)
{
    (void)state;
    if (edge_test_under_wine()) {
        assert_non_null(edge_test_wine_version());
        assert_true(edge_test_wine_version()[0] != '\0');
    } else {
        assert_null(edge_test_wine_version());
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detector_agrees_with_registry),
        cmocka_unit_test(test_version_present_only_under_wine),
    };
    return cmocka_run_group_tests_name("wine_detect", tests, NULL, NULL);
}
