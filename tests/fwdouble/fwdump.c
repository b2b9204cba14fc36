/*
 * fwdump: prints the firewall double's stored rules (no COM; reads the store file under its
 * mutex). Store path as for the double: %EDGE_FWDOUBLE_STORE% or %ProgramData%\FwDouble\rules.txt.
 *
 *   fwdump [--group NAME]   one line per rule: key fields
 *   fwdump --count [--group NAME]
 *   fwdump --reset          delete every stored rule
 *   fwdump --path           print the store path
 */
#include "fwdouble_control.h"

#include <stdio.h>
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
    fwprintf(stderr, L"usage: fwdump [--group NAME] [--count] | --reset | --path\n");
    return 2;
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
