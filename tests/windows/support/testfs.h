/* File-system fixture helpers for the Windows tests: private directories and junctions. */
#ifndef EDGE_TESTFS_H
#define EDGE_TESTFS_H

#include <stdbool.h>
#include <wchar.h>

/* Deletes the files of a flat directory, then the directory (a test's private state). */
void testfs_remove_flat_dir(const wchar_t *dir);

/*
 * Turns the existing empty directory DIR into a junction (mount point) to TARGET, a full path
 * without a trailing backslash.  False if the file system or Wine does not support it.
 */
bool testfs_make_junction(const wchar_t *dir, const wchar_t *target);

/*
 * Creates DIR owned by BUILTIN\Users, as a user would plant it (SeRestorePrivilege lets the
 * test set an owner other than itself).  Skips the test (cmocka skip) where the owner does not
 * stick: Wine does not keep file owners.
 */
void testfs_plant_users_dir_or_skip(const wchar_t *dir);

#endif /* EDGE_TESTFS_H */
