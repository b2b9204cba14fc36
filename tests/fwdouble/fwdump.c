/*
 * fwdump: prints the firewall double's stored rules (no COM; reads the store file under its
 * mutex). Store path as for the double: %EDGE_FWDOUBLE_STORE% or %ProgramData%\FwDouble\rules.txt.
 *
 *   fwdump [--group NAME]   one line per rule: key fields
 *   fwdump --count [--group NAME]
 *   fwdump --reset          delete every stored rule
 *   fwdump --path           print the store path
 *   fwdump --service ...    any of the above on the store a service uses (its %ProgramData%)
 */
#include "fwdouble_control.h"

#include <stdio.h>
#include <userenv.h>
#include <wchar.h>

int wmain(int argc, wchar_t **argv);

static const wchar_t *fwdump_str(const wchar_t *s)
{
    return s ? s : L"-";
}

static const wchar_t *fwdump_edge(long v)
{
    switch (v) {
    case 0:
        return L"deny";
    case 1:
        return L"allow";
    case 2:
        return L"defer-app";
    case 3:
        return L"defer-user";
    default:
        return L"?";
    }
}

static void fwdump_print(const fwdc_rule *r)
{
    wprintf(L"%ls\tgroup=%ls\t%ls\t%ls\tproto=%ld\tlport=%ls\trport=%ls\tprofiles=0x%lX\t"
            L"edge=%ls\tapp=%ls\towner=%ls\tdesc=%ls\n",
            fwdump_str(r->name), fwdump_str(r->grouping), r->enabled ? L"enabled" : L"disabled",
            r->direction == 2 ? L"out" : L"in", r->protocol, fwdump_str(r->local_ports),
            fwdump_str(r->remote_ports), (unsigned long)r->profiles,
            fwdump_edge(r->edge_traversal_options), fwdump_str(r->application_name),
            fwdump_str(r->local_user_owner), fwdump_str(r->description));
}

static int fwdump_usage(void)
{
    fwprintf(stderr, L"usage: fwdump [--service] [--group NAME] [--count] | --reset | --path\n"
                     L"  --service  use the store a service sees (a service's %%ProgramData%% comes\n"
                     L"             from the system environment; under Wine it differs from ours)\n");
    return 2;
}

/* Reads the store a service uses: its default store lives under %ProgramData% as the SCM sets
 * it for services (the system environment block), not as this process inherited it. */
static BOOL fwdump_adopt_service_environment(void)
{
    static const wchar_t key[] = L"ProgramData=";
    const size_t klen = sizeof(key) / sizeof(key[0]) - 1;
    void *block = NULL;
    const wchar_t *p;
    BOOL ok = FALSE;

    if (!CreateEnvironmentBlock(&block, NULL, FALSE))
        return FALSE;
    for (p = block; *p; p += wcslen(p) + 1) {
        if (_wcsnicmp(p, key, klen) == 0) {
            ok = SetEnvironmentVariableW(L"ProgramData", p + klen) &&
                 (SetEnvironmentVariableW(L"EDGE_FWDOUBLE_STORE", NULL) ||
                  GetLastError() == ERROR_ENVVAR_NOT_FOUND);
            break;
        }
    }
    DestroyEnvironmentBlock(block);
    return ok;
}

int wmain(int argc, wchar_t **argv)
{
    const wchar_t *group = NULL;
    BOOL count_only = FALSE;
    fwdc_rule *rules = NULL;
    size_t n = 0, i;
    wchar_t path[1024];
    HRESULT hr;
    int a;

    if (argc > 1 && wcscmp(argv[1], L"--service") == 0) {
        if (!fwdump_adopt_service_environment()) {
            fwprintf(stderr, L"fwdump: cannot read the system environment: %lu\n", GetLastError());
            return 1;
        }
        argv++;
        argc--;
    }
    for (a = 1; a < argc; a++) {
        if (wcscmp(argv[a], L"--group") == 0 && a + 1 < argc) {
            group = argv[++a];
        } else if (wcscmp(argv[a], L"--count") == 0) {
            count_only = TRUE;
        } else if (wcscmp(argv[a], L"--reset") == 0 && argc == 2) {
            hr = fwdc_store_reset();
            if (FAILED(hr)) {
                fwprintf(stderr, L"fwdump: reset failed: 0x%08lX\n", (unsigned long)hr);
                return 1;
            }
            return 0;
        } else if (wcscmp(argv[a], L"--path") == 0 && argc == 2) {
            hr = fwdc_store_path(path, sizeof(path) / sizeof(path[0]));
            if (FAILED(hr))
                return 1;
            wprintf(L"%ls\n", path);
            return 0;
        } else {
            return fwdump_usage();
        }
    }
    hr = group ? fwdc_store_read_group(group, &rules, &n) : fwdc_store_read(&rules, &n);
    if (FAILED(hr)) {
        fwprintf(stderr, L"fwdump: cannot read the store: 0x%08lX\n", (unsigned long)hr);
        return 1;
    }
    if (count_only) {
        wprintf(L"%lu\n", (unsigned long)n);
    } else {
        for (i = 0; i < n; i++)
            fwdump_print(&rules[i]);
    }
    fwdc_rules_free(rules, n);
    return 0;
}
