/* Uninstall cleanup: the data-directory deletion (the whole cleanup runs in the installer tests). */
#include <windows.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <wchar.h>
#include <cmocka.h>

#include "uninstall.h"
#include "wine_detect.h"

static void make_temp_root(wchar_t *root, size_t cap)
{
    wchar_t tmp[MAX_PATH];
    assert_true(GetTempPathW(MAX_PATH, tmp) > 0);
    swprintf(root, cap, L"%lsedge-uninstall-%lu-%lu", tmp, GetCurrentProcessId(), GetTickCount());
    assert_true(CreateDirectoryW(root, NULL));
}

static void write_file(const wchar_t *path, DWORD attrs)
{
    HANDLE h = CreateFileW(path, GENERIC_WRITE, 0, NULL, CREATE_NEW, attrs, NULL);
    DWORD put = 0;
    assert_true(h != INVALID_HANDLE_VALUE);
    assert_true(WriteFile(h, "state", 5, &put, NULL));
    CloseHandle(h);
}

static void test_deletes_nested_tree_with_read_only_files(void **state)
{
    wchar_t root[MAX_PATH], p[MAX_PATH];
    (void)state;
    make_temp_root(root, MAX_PATH);
    swprintf(p, MAX_PATH, L"%ls\\state.a.bin", root);
    write_file(p, FILE_ATTRIBUTE_NORMAL);
    swprintf(p, MAX_PATH, L"%ls\\audit", root);
    assert_true(CreateDirectoryW(p, NULL));
    swprintf(p, MAX_PATH, L"%ls\\audit\\deeper", root);
    assert_true(CreateDirectoryW(p, NULL));
    swprintf(p, MAX_PATH, L"%ls\\audit\\deeper\\audit.1.jsonl", root);
    write_file(p, FILE_ATTRIBUTE_READONLY);
    swprintf(p, MAX_PATH, L"%ls\\audit\\audit.jsonl", root);
    write_file(p, FILE_ATTRIBUTE_NORMAL);

    assert_int_equal(uninstall_delete_tree(root), ERROR_SUCCESS);
    assert_int_equal(GetFileAttributesW(root), INVALID_FILE_ATTRIBUTES);
}

static void test_absent_directory_is_success(void **state)
{
    wchar_t root[MAX_PATH];
    (void)state;
    make_temp_root(root, MAX_PATH);
    assert_true(RemoveDirectoryW(root));
    assert_int_equal(uninstall_delete_tree(root), ERROR_SUCCESS);
    /* Twice in a row, as a repeated uninstall would. */
    assert_int_equal(uninstall_delete_tree(root), ERROR_SUCCESS);
}

static void test_file_in_place_of_directory_is_refused(void **state)
{
    wchar_t root[MAX_PATH], p[MAX_PATH];
    (void)state;
    make_temp_root(root, MAX_PATH);
    swprintf(p, MAX_PATH, L"%ls\\not-a-dir", root);
    write_file(p, FILE_ATTRIBUTE_NORMAL);
    assert_int_equal(uninstall_delete_tree(p), ERROR_DIRECTORY);
    assert_true(GetFileAttributesW(p) != INVALID_FILE_ATTRIBUTES); /* nothing was deleted */
    assert_int_equal(uninstall_delete_tree(root), ERROR_SUCCESS);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    assert_int_equal(uninstall_delete_tree(NULL), ERROR_INVALID_PARAMETER);
    assert_int_equal(uninstall_delete_tree(L""), ERROR_INVALID_PARAMETER);
}

static void test_link_inside_tree_is_not_followed(void **state)
{
    wchar_t root[MAX_PATH], outside[MAX_PATH], victim[MAX_PATH], link[MAX_PATH];
    (void)state;
    edge_test_skip_under_wine("Wine 8 cannot create directory symbolic links or junctions");
    make_temp_root(root, MAX_PATH);
    make_temp_root(outside, MAX_PATH);
    swprintf(victim, MAX_PATH, L"%ls\\keep.txt", outside);
    write_file(victim, FILE_ATTRIBUTE_NORMAL);
    swprintf(link, MAX_PATH, L"%ls\\planted", root);
    if (!CreateSymbolicLinkW(link, outside,
                             SYMBOLIC_LINK_FLAG_DIRECTORY |
                                 SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE)) {
        print_message("SKIP: cannot create a directory symlink here (error %lu)\n",
                      GetLastError());
        uninstall_delete_tree(root);
        uninstall_delete_tree(outside);
        skip();
    }
    assert_int_equal(uninstall_delete_tree(root), ERROR_SUCCESS);
    assert_true(GetFileAttributesW(victim) != INVALID_FILE_ATTRIBUTES);
    assert_int_equal(uninstall_delete_tree(outside), ERROR_SUCCESS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deletes_nested_tree_with_read_only_files),
        cmocka_unit_test(test_absent_directory_is_success),
        cmocka_unit_test(test_file_in_place_of_directory_is_refused),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_link_inside_tree_is_not_followed),
    };
    return cmocka_run_group_tests_name("uninstall", tests, NULL, NULL);
}
