/*
 * The interim authorization decision and its allow-list loader (see grant_policy.h).
 */
#include "grant_policy.h"
#include "caller.h"

#include "edge/path.h"
#include "edge/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the decision -------------------------------------------------------------------------- */

const char *grant_basis_name(enum grant_basis basis)
{
    switch (basis) {
    case GRANT_BASIS_ADMIN:
        return "admin";
    case GRANT_BASIS_APP_PATH:
        return "allowed-path";
    case GRANT_BASIS_APP_HASH:
        return "allowed-hash";
    case GRANT_BASIS_NONE:
    default:
        return "none";
    }
}

/* Appends the UTF-8 text s[0..n) to out (size cap), never cutting a character in two. */
static void reason_append(char *out, size_t cap, const char *s, size_t n)
{
    size_t used = strlen(out);
    size_t room, take;

    if (used + 1 >= cap)
        return;
    room = cap - 1 - used;
    take = edge_utf8_truncate((const uint8_t *)s, n, room);
    memcpy(out + used, s, take);
    out[used + take] = '\0';
}

static void reason_set(struct grant_decision *out, const char *a, const char *path, size_t path_len,
                       const char *b)
{
    out->reason[0] = '\0';
    reason_append(out->reason, sizeof(out->reason), a, strlen(a));
    if (path)
        reason_append(out->reason, sizeof(out->reason), path, path_len);
    if (b)
        reason_append(out->reason, sizeof(out->reason), b, strlen(b));
}

static bool path_allowed(const struct grant_policy_config *cfg, const char *path, size_t len)
{
    size_t i;

    for (i = 0; i < cfg->app_pattern_count; i++) {
        bool matched = false;
        const char *p = cfg->app_patterns[i];
        if (edge_path_match(p, strlen(p), path, len, &matched) == EDGE_PATH_OK && matched)
            return true;
    }
    return false;
}

static bool hash_allowed(const struct grant_policy_config *cfg, const uint8_t *sha)
{
    size_t i;

    for (i = 0; i < cfg->image_hash_count; i++)
        if (memcmp(cfg->image_hashes[i], sha, EDGE_SHA256_SIZE) == 0)
            return true;
    return false;
}

void grant_policy_decide(const struct caller_identity *caller,
                         const struct grant_policy_request *req,
                         const struct grant_policy_config *cfg, struct grant_decision *out)
{
    bool admin = caller && caller->is_admin;

    memset(out, 0, sizeof(*out));
    out->status = EDGE_E_DENIED;
    out->basis = GRANT_BASIS_NONE;
    if (!req || !req->image_path || req->image_path_len == 0) {
        reason_set(out, "no application identity to decide on", NULL, 0, NULL);
        return;
    }
    /* Identity first: policy must never be consulted for a rule naming someone else's binary. */
    if (req->other_app && !admin) {
        out->status = EDGE_E_IDENTITY_MISMATCH;
        reason_set(out,
                   "the request names another executable; only an elevated administrator may "
                   "ask for a rule for ",
                   req->image_path, req->image_path_len, NULL);
        return;
    }
    if (admin) {
        out->status = EDGE_OK;
        out->basis = GRANT_BASIS_ADMIN;
        reason_set(out, "caller is an elevated administrator", NULL, 0, NULL);
        return;
    }
    if (cfg && path_allowed(cfg, req->image_path, req->image_path_len)) {
        out->status = EDGE_OK;
        out->basis = GRANT_BASIS_APP_PATH;
        reason_set(out, "application path is allow-listed in AllowedApplications", NULL, 0, NULL);
        return;
    }
    if (cfg && req->image_sha256 && hash_allowed(cfg, req->image_sha256)) {
        out->status = EDGE_OK;
        out->basis = GRANT_BASIS_APP_HASH;
        reason_set(out, "application image hash is allow-listed in AllowedImageHashes", NULL, 0,
                   NULL);
        return;
    }
    reason_set(out, "application not allow-listed; ask an administrator to add ", req->image_path,
               req->image_path_len,
               " to HKLM\\SOFTWARE\\EdgeBroker\\AllowedApplications (or its SHA-256 to "
               "AllowedImageHashes)");
}

/* ---- building a config --------------------------------------------------------------------- */

static void problem(struct grant_policy_config *cfg, const char *what, const char *entry,
                    size_t entry_len)
{
    char line[160];
    int n;

    cfg->malformed++;
    if (cfg->problems[0])
        reason_append(cfg->problems, sizeof(cfg->problems), "; ", 2);
    n = snprintf(line, sizeof(line), "%s: ", what);
    if (n > 0)
        reason_append(cfg->problems, sizeof(cfg->problems), line, strlen(line));
    if (entry)
        reason_append(cfg->problems, sizeof(cfg->problems), entry,
                      entry_len > 96 ? edge_utf8_truncate((const uint8_t *)entry, entry_len, 96)
                                     : entry_len);
}

edge_status grant_policy_add_pattern(struct grant_policy_config *cfg, const char *pattern,
                                     size_t len)
{
    char **grown;
    char *copy;

    if (!cfg || !pattern || len == 0 || cfg->app_pattern_count >= GRANT_POLICY_MAX_ENTRIES)
        return EDGE_E_BAD_REQUEST;
    if (edge_path_pattern_check(pattern, len) != EDGE_PATH_OK)
        return EDGE_E_BAD_REQUEST;
    copy = malloc(len + 1);
    if (!copy)
        return EDGE_E_NO_MEMORY;
    memcpy(copy, pattern, len);
    copy[len] = '\0';
    grown = realloc(cfg->app_patterns, (cfg->app_pattern_count + 1) * sizeof(*grown));
    if (!grown) {
        free(copy);
        return EDGE_E_NO_MEMORY;
    }
    cfg->app_patterns = grown;
    cfg->app_patterns[cfg->app_pattern_count++] = copy;
    return EDGE_OK;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

edge_status grant_policy_add_hash_hex(struct grant_policy_config *cfg, const char *hex, size_t len)
{
    uint8_t sha[EDGE_SHA256_SIZE];
    uint8_t(*grown)[EDGE_SHA256_SIZE];
    size_t i;

    if (!cfg || !hex || len != 2 * EDGE_SHA256_SIZE ||
        cfg->image_hash_count >= GRANT_POLICY_MAX_ENTRIES)
        return EDGE_E_BAD_REQUEST;
    for (i = 0; i < EDGE_SHA256_SIZE; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return EDGE_E_BAD_REQUEST;
        sha[i] = (uint8_t)((hi << 4) | lo);
    }
    grown = realloc(cfg->image_hashes, (cfg->image_hash_count + 1) * sizeof(*grown));
    if (!grown)
        return EDGE_E_NO_MEMORY;
    cfg->image_hashes = grown;
    memcpy(cfg->image_hashes[cfg->image_hash_count++], sha, EDGE_SHA256_SIZE);
    return EDGE_OK;
}

void grant_policy_config_free(struct grant_policy_config *cfg)
{
    size_t i;

    if (!cfg)
        return;
    for (i = 0; i < cfg->app_pattern_count; i++)
        free(cfg->app_patterns[i]);
    free(cfg->app_patterns);
    free(cfg->image_hashes);
    memset(cfg, 0, sizeof(*cfg));
}

/* ---- registry ------------------------------------------------------------------------------ */

/*
 * Reads a REG_MULTI_SZ or REG_SZ value as a malloc'd, doubly NUL-terminated list.  *out is NULL
 * when the value is absent (ERROR_SUCCESS).  The size is capped before the buffer is allocated.
 */
static DWORD read_multi_sz(HKEY key, const wchar_t *name, wchar_t **out)
{
    DWORD type = 0, size = 0, err;
    wchar_t *buf;
    size_t chars;

    *out = NULL;
    err = RegQueryValueExW(key, name, NULL, &type, NULL, &size);
    if (err == ERROR_FILE_NOT_FOUND)
        return ERROR_SUCCESS;
    if (err != ERROR_SUCCESS)
        return err;
    if (type != REG_MULTI_SZ && type != REG_SZ && type != REG_EXPAND_SZ)
        return ERROR_INVALID_DATATYPE;
    if (size > GRANT_POLICY_MAX_VALUE)
        return ERROR_FILE_TOO_LARGE;
    chars = size / sizeof(wchar_t);
    /* Room for two terminators the registry does not guarantee. */
    buf = calloc(chars + 2, sizeof(wchar_t));
    if (!buf)
        return ERROR_NOT_ENOUGH_MEMORY;
    err = RegQueryValueExW(key, name, NULL, &type, (BYTE *)buf, &size);
    if (err != ERROR_SUCCESS) {
        free(buf);
        return err == ERROR_MORE_DATA ? ERROR_FILE_TOO_LARGE : err;
    }
    buf[size / sizeof(wchar_t)] = L'\0';
    if (type != REG_MULTI_SZ) {
        /* One string: make sure it is followed by the list terminator. */
        buf[wcslen(buf) + 1] = L'\0';
    }
    *out = buf;
    return ERROR_SUCCESS;
}

/* Expands %VARIABLES% and converts to UTF-8.  Returns a malloc'd string or NULL. */
static char *entry_to_utf8(const wchar_t *entry, bool expand)
{
    wchar_t *expanded = NULL;
    const wchar_t *src = entry;
    char *utf8 = NULL;
    size_t need = 0;
    edge_utf8_result r;

    if (expand && wcschr(entry, L'%')) {
        DWORD n = ExpandEnvironmentStringsW(entry, NULL, 0);
        if (n == 0 || n > 32768)
            return NULL;
        expanded = calloc(n + 1, sizeof(wchar_t));
        if (!expanded || ExpandEnvironmentStringsW(entry, expanded, n + 1) == 0 ||
            expanded[n] != L'\0') {
            free(expanded);
            return NULL;
        }
        src = expanded;
    }
    r = edge_utf16_to_utf8((const uint16_t *)src, wcslen(src), NULL, 0, &need);
    if (r != EDGE_UTF8_TOO_SMALL && r != EDGE_UTF8_OK)
        goto out; /* unpaired surrogate or NUL: not a path anyone can match */
    utf8 = malloc(need + 1);
    if (utf8 && edge_utf16_to_utf8((const uint16_t *)src, wcslen(src), (uint8_t *)utf8, need,
                                   &need) != EDGE_UTF8_OK) {
        free(utf8);
        utf8 = NULL;
    }
    if (utf8)
        utf8[need] = '\0';
out:
    free(expanded);
    return utf8;
}

static DWORD load_list(HKEY key, const wchar_t *name, bool patterns,
                       struct grant_policy_config *cfg)
{
    wchar_t *list = NULL, *p;
    DWORD err = read_multi_sz(key, name, &list);

    if (err != ERROR_SUCCESS || !list)
        return err;
    for (p = list; *p; p += wcslen(p) + 1) {
        char *u = entry_to_utf8(p, patterns);
        edge_status st;
        size_t n;
        if (!u) {
            problem(cfg,
                    patterns ? "AllowedApplications entry not convertible"
                             : "AllowedImageHashes entry not convertible",
                    NULL, 0);
            continue;
        }
        n = strlen(u);
        st = patterns ? grant_policy_add_pattern(cfg, u, n) : grant_policy_add_hash_hex(cfg, u, n);
        if (st == EDGE_E_NO_MEMORY) {
            free(u);
            free(list);
            return ERROR_NOT_ENOUGH_MEMORY;
        }
        if (st != EDGE_OK)
            problem(cfg,
                    patterns ? "AllowedApplications entry is not a valid path pattern"
                             : "AllowedImageHashes entry is not 64 hex digits",
                    u, n);
        free(u);
    }
    free(list);
    return ERROR_SUCCESS;
}

DWORD grant_policy_config_load(HKEY root, const wchar_t *subkey, struct grant_policy_config *cfg)
{
    HKEY key = NULL;
    DWORD err;

    grant_policy_config_free(cfg);
    err = RegOpenKeyExW(root, subkey, 0, KEY_QUERY_VALUE | KEY_WOW64_64KEY, &key);
    if (err == ERROR_FILE_NOT_FOUND)
        return ERROR_SUCCESS; /* no local configuration: nothing is allow-listed */
    if (err != ERROR_SUCCESS)
        return err;
    err = load_list(key, L"AllowedApplications", true, cfg);
    if (err == ERROR_SUCCESS)
        err = load_list(key, L"AllowedImageHashes", false, cfg);
    RegCloseKey(key);
    if (err != ERROR_SUCCESS)
        grant_policy_config_free(cfg); /* a half-read allow-list is never used */
    return err;
}
