/*
 * Observing a Win32 call made by production code linked into a test executable, without test
 * seams in that code: replace the executable's import-table slot for dll!func.  Not thread-safe
 * against concurrent callers of the same import while patching; patch before starting them.
 */
#ifndef EDGE_TEST_IAT_PATCH_H
#define EDGE_TEST_IAT_PATCH_H

/*
 * Points this executable's import of func from dll (case-insensitive name, e.g. "advapi32.dll")
 * at replacement.  Returns the previous target (call it to forward; patch it back to restore),
 * or NULL when the executable does not import that function by name.
 */
void *iat_patch_import(const char *dll, const char *func, void *replacement);

#endif /* EDGE_TEST_IAT_PATCH_H */
