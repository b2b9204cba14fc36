/*
 * Local configuration of the lease manager (leases.h: leases_config_*).  Every value falls back
 * to a safe default when it is missing or malformed; malformed values are reported, never guessed.
 */
#include "leases.h"

#include <stdio.h>
#include <string.h>
#include <wchar.h>

void leases_config_defaults(struct leases_config *cfg)
{
    cfg->max_per_user = LEASES_DEFAULT_MAX_PER_USER;
    cfg->max_per_app = LEASES_DEFAULT_MAX_PER_APP;
    cfg->default_seconds = LEASES_DEFAULT_SECONDS;
    cfg->max_seconds = LEASES_DEFAULT_MAX_SECONDS;
    cfg->edge_option = EDGE_TRAVERSAL_DEFER_TO_APP;
    cfg->profiles = EDGE_FW_PROFILE_ALL;
}

static void note(char *problems, size_t size, const char *what)
{
    size_t used;

    if (!problems || size == 0)
        return;
    used = strlen(problems);
    if (used + 1 >= size)
        return;
    (void)snprintf(problems + used, size - used, "%s%s", used ? "; " : "", what);
}

/* 1: read into *v; 0: absent; -1: present but not a REG_DWORD. */
static int read_dword(HKEY key, const wchar_t *name, DWORD *v)
{
    DWORD type = 0, size = sizeof(*v);
    LSTATUS err = RegQueryValueExW(key, name, NULL, &type, (BYTE *)v, &size);

    if (err == ERROR_FILE_NOT_FOUND)
        return 0;
    if (err != ERROR_SUCCESS || type != REG_DWORD || size != sizeof(*v))
        return -1;
    return 1;
}

/* 1: read (NUL-terminated) into buf; 0: absent; -1: not a short REG_SZ. */
static int read_sz(HKEY key, const wchar_t *name, wchar_t *buf, DWORD chars)
{
    DWORD type = 0, size = (chars - 1) * sizeof(wchar_t);
    LSTATUS err;

    memset(buf, 0, chars * sizeof(wchar_t));
    err = RegQueryValueExW(key, name, NULL, &type, (BYTE *)buf, &size);
    if (err == ERROR_FILE_NOT_FOUND)
        return 0;
    if (err != ERROR_SUCCESS || type != REG_SZ)
        return -1;
    buf[chars - 1] = L'\0';
    return 1;
}

/* "Domain,Private,Public" (any order, case-insensitive, ',' ';' or spaces) or "All". */
static uint32_t parse_profiles(const wchar_t *s)
{
    uint32_t mask = 0;
    wchar_t word[16];
    size_t n = 0;

    for (;; s++) {
        if (*s == L',' || *s == L';' || *s == L' ' || *s == L'\0') {
            word[n] = L'\0';
            if (n) {
                if (_wcsicmp(word, L"Domain") == 0)
                    mask |= EDGE_FW_PROFILE_DOMAIN;
                else if (_wcsicmp(word, L"Private") == 0)
                    mask |= EDGE_FW_PROFILE_PRIVATE;
                else if (_wcsicmp(word, L"Public") == 0)
                    mask |= EDGE_FW_PROFILE_PUBLIC;
                else if (_wcsicmp(word, L"All") == 0)
                    mask |= 0x7u;
                else
                    return 0;
            }
            n = 0;
            if (*s == L'\0')
                break;
            continue;
        }
        if (n + 1 >= sizeof(word) / sizeof(word[0]))
            return 0;
        word[n++] = *s;
    }
    return mask == 0x7u ? EDGE_FW_PROFILE_ALL : mask;
}

uint32_t leases_config_load(HKEY root, const wchar_t *subkey, struct leases_config *cfg,
                            char *problems, size_t problems_size)
{
    HKEY key = NULL;
    DWORD v = 0;
    wchar_t text[64];
    uint32_t bad = 0;
    int r;

    leases_config_defaults(cfg);
    if (problems && problems_size)
        problems[0] = '\0';
    if (RegOpenKeyExW(root, subkey, 0, KEY_QUERY_VALUE | KEY_WOW64_64KEY, &key) != ERROR_SUCCESS)
        return 0;
    if ((r = read_dword(key, L"MaxLeasesPerUser", &v)) > 0)
        cfg->max_per_user = v;
    else if (r < 0 && ++bad)
        note(problems, problems_size, "MaxLeasesPerUser is not a REG_DWORD");
    if ((r = read_dword(key, L"MaxLeasesPerApp", &v)) > 0)
        cfg->max_per_app = v;
    else if (r < 0 && ++bad)
        note(problems, problems_size, "MaxLeasesPerApp is not a REG_DWORD");
    r = read_dword(key, L"MaxLeaseSeconds", &v);
    if (r > 0 && v >= 1 && v <= EDGE_LEASE_SECONDS_MAX)
        cfg->max_seconds = v;
    else if (r != 0 && ++bad)
        note(problems, problems_size, "MaxLeaseSeconds is not a REG_DWORD in 1..31536000");
    r = read_dword(key, L"DefaultLeaseSeconds", &v);
    if (r > 0 && v >= 1 && v <= EDGE_LEASE_SECONDS_MAX)
        cfg->default_seconds = v;
    else if (r != 0 && ++bad)
        note(problems, problems_size, "DefaultLeaseSeconds is not a REG_DWORD in 1..31536000");
    if (cfg->default_seconds > cfg->max_seconds)
        cfg->default_seconds = cfg->max_seconds; /* the maximum always wins */
    r = read_sz(key, L"EdgeTraversal", text, (DWORD)(sizeof(text) / sizeof(text[0])));
    if (r > 0 && _wcsicmp(text, L"DeferToApp") == 0)
        cfg->edge_option = EDGE_TRAVERSAL_DEFER_TO_APP;
    else if (r > 0 && _wcsicmp(text, L"Allow") == 0)
        cfg->edge_option = EDGE_TRAVERSAL_ALLOW;
    else if (r != 0 && ++bad)
        note(problems, problems_size, "EdgeTraversal is not \"DeferToApp\" or \"Allow\"");
    r = read_dword(key, L"Profiles", &v);
    if (r > 0 && v != 0 && (v & ~0x7u) == 0) {
        cfg->profiles = v == 0x7u ? EDGE_FW_PROFILE_ALL : v;
    } else if (r < 0) {
        uint32_t mask = 0;
        if (read_sz(key, L"Profiles", text, (DWORD)(sizeof(text) / sizeof(text[0]))) > 0)
            mask = parse_profiles(text);
        if (mask)
            cfg->profiles = mask;
        else if (++bad)
            note(problems, problems_size,
                 "Profiles is neither a REG_DWORD mask (1 domain, 2 private, 4 public) nor a "
                 "list such as \"Private,Public\"");
    } else if (r > 0 && ++bad) {
        note(problems, problems_size, "Profiles mask has no or unknown bits");
    }
    RegCloseKey(key);
    return bad;
}
