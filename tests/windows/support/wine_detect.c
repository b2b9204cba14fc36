#include <windows.h>

#include "wine_detect.h"

typedef const char *(__cdecl *wine_get_version_fn)(void);

static wine_get_version_fn wine_version_export(void)
{
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    if (!ntdll)
        return NULL;
    /* Casting through FARPROC is the documented way to call an export by name. */
    return (wine_get_version_fn)(void (*)(void))GetProcAddress(ntdll, "wine_get_version");
}

bool edge_test_under_wine(void)
{
    return wine_version_export() != NULL;
}

const char *edge_test_wine_version(void)
{
    wine_get_version_fn fn = wine_version_export();
    return fn ? fn() : NULL;
}
