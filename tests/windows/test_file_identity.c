/*
 * File identity (service/file_identity.h), the key of the image-hash and Authenticode caches:
 * stable for an unchanged file, different after a write or for another file, an error for a
 * handle that is not a file.
 */
#include <windows.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>
#include <cmocka.h>

#include "file_identity.h"

/* A new temporary file with the given content, open for read and write; its path in path. */
static HANDLE temp_file(wchar_t path[MAX_PATH], const char *content)
{
    wchar_t dir[MAX_PATH];
    DWORD wrote = 0;
    HANDLE h;

    assert_true(GetTempPathW(MAX_PATH, dir) > 0);
    assert_true(GetTempFileNameW(dir, L"fid", 0, path) != 0);
    h = CreateFileW(path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ, NULL, CREATE_ALWAYS,
                    FILE_ATTRIBUTE_NORMAL, NULL);
    assert_true(h != INVALID_HANDLE_VALUE);
    assert_true(WriteFile(h, content, (DWORD)strlen(content), &wrote, NULL));
    assert_true(FlushFileBuffers(h));
    return h;
}

static void test_unchanged_file_is_equal(void **state)
{
    struct file_identity a, b;
    wchar_t path[MAX_PATH];
    HANDLE h = temp_file(path, "abc");
    (void)state;

    assert_int_equal(file_identity_read(h, &a), ERROR_SUCCESS);
    assert_int_equal(file_identity_read(h, &b), ERROR_SUCCESS);
    assert_true(file_identity_equal(&a, &b));
    assert_true(a.size == 3);
    CloseHandle(h);
    DeleteFileW(path);
}

static void test_write_changes_identity(void **state)
{
    struct file_identity a, b;
    wchar_t path[MAX_PATH];
    DWORD wrote = 0;
    HANDLE h = temp_file(path, "abc");
    (void)state;

    assert_int_equal(file_identity_read(h, &a), ERROR_SUCCESS);
    assert_true(WriteFile(h, "d", 1, &wrote, NULL));
    assert_true(FlushFileBuffers(h));
    assert_int_equal(file_identity_read(h, &b), ERROR_SUCCESS);
    assert_false(file_identity_equal(&a, &b));
    CloseHandle(h);
    DeleteFileW(path);
}

static void test_other_file_differs(void **state)
{
    struct file_identity a, b;
    wchar_t p1[MAX_PATH], p2[MAX_PATH];
    HANDLE h1 = temp_file(p1, "same");
    HANDLE h2 = temp_file(p2, "same");
    (void)state;

    assert_int_equal(file_identity_read(h1, &a), ERROR_SUCCESS);
    assert_int_equal(file_identity_read(h2, &b), ERROR_SUCCESS);
    assert_false(file_identity_equal(&a, &b));
    CloseHandle(h1);
    CloseHandle(h2);
    DeleteFileW(p1);
    DeleteFileW(p2);
}

static void test_bad_handle_is_an_error(void **state)
{
    struct file_identity a;
    (void)state;

    memset(&a, 0xA5, sizeof(a));
    assert_int_not_equal(file_identity_read(INVALID_HANDLE_VALUE, &a), ERROR_SUCCESS);
    assert_int_equal(a.volume_serial, 0); /* zeroed on entry */
    assert_true(a.size == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unchanged_file_is_equal),
        cmocka_unit_test(test_write_changes_identity),
        cmocka_unit_test(test_other_file_differs),
        cmocka_unit_test(test_bad_handle_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
