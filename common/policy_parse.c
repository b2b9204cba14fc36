/* Policy values: names, defaults, strict parsers, setters and display; see edge/policy.h. */
#include "edge/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/utf8.h"

struct value_def {
    const char *name;
    edge_policy_kind kind;
    uint32_t min, max; /* DWORD range */
};

static const struct value_def value_defs[EDGE_POLICY_V_COUNT_] = {
    {"Mode", EDGE_POLICY_KIND_SZ, 0, 0},
    {"AllowedApplications", EDGE_POLICY_KIND_MULTI_SZ, 0, 0},
    {"AllowedImageHashes", EDGE_POLICY_KIND_MULTI_SZ, 0, 0},
    {"AllowedPublishers", EDGE_POLICY_KIND_MULTI_SZ, 0, 0},
    {"TrustedSignerKeys", EDGE_POLICY_KIND_MULTI_SZ, 0, 0},
    {"AllowedProtocols", EDGE_POLICY_KIND_SZ, 0, 0},
    {"AllowedPorts", EDGE_POLICY_KIND_MULTI_SZ, 0, 0},
    {"DefaultLeaseSeconds", EDGE_POLICY_KIND_DWORD, 1, EDGE_LEASE_SECONDS_MAX},
    {"MaxLeaseSeconds", EDGE_POLICY_KIND_DWORD, 1, EDGE_LEASE_SECONDS_MAX},
    {"MaxLeasesPerUser", EDGE_POLICY_KIND_DWORD, 1, 65535},
    {"MaxLeasesPerApp", EDGE_POLICY_KIND_DWORD, 1, 65535},
    {"EdgeTraversal", EDGE_POLICY_KIND_SZ, 0, 0},
    {"Profiles", EDGE_POLICY_KIND_SZ, 0, 0},
    {"ConsentBy", EDGE_POLICY_KIND_SZ, 0, 0},
    {"ConsentTimeoutSeconds", EDGE_POLICY_KIND_DWORD, 1, 604800},
    {"ConsentRememberSeconds", EDGE_POLICY_KIND_DWORD, 0, EDGE_LEASE_SECONDS_MAX},
    {"AuditLevel", EDGE_POLICY_KIND_SZ, 0, 0},
};

static const char *const parse_err_names[EDGE_POLICY_PARSE_ERR_COUNT_] = {
    "EDGE_POLICY_PARSE_OK",          "EDGE_POLICY_PARSE_E_ARG",
    "EDGE_POLICY_PARSE_E_EMPTY",     "EDGE_POLICY_PARSE_E_ENCODING",
    "EDGE_POLICY_PARSE_E_KEYWORD",   "EDGE_POLICY_PARSE_E_DUPLICATE",
    "EDGE_POLICY_PARSE_E_SYNTAX",    "EDGE_POLICY_PARSE_E_RANGE",
    "EDGE_POLICY_PARSE_E_KEY",       "EDGE_POLICY_PARSE_E_PATTERN",
    "EDGE_POLICY_PARSE_E_TOO_MANY",  "EDGE_POLICY_PARSE_E_TOO_LONG",
    "EDGE_POLICY_PARSE_E_NO_MEMORY",
};

const char *edge_policy_parse_err_name(edge_policy_parse_err err)
{
    if ((unsigned)err >= (unsigned)EDGE_POLICY_PARSE_ERR_COUNT_)
        return "EDGE_POLICY_PARSE_UNKNOWN";
    return parse_err_names[err];
}

const char *edge_policy_value_name(edge_policy_value id)
{
    if ((unsigned)id >= (unsigned)EDGE_POLICY_V_COUNT_)
        return NULL;
    return value_defs[id].name;
}

edge_policy_kind edge_policy_value_kind(edge_policy_value id)
{
    if ((unsigned)id >= (unsigned)EDGE_POLICY_V_COUNT_)
        return (edge_policy_kind)0;
    return value_defs[id].kind;
}

static char pp_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool pp_ieq(const char *a, size_t alen, const char *b)
{
    size_t i;
    if (alen != strlen(b))
        return false;
    for (i = 0; i < alen; i++)
        if (pp_lower(a[i]) != pp_lower(b[i]))
            return false;
    return true;
}

int edge_policy_value_from_name(const char *name, size_t len)
{
    int i;
    if (!name)
        return -1;
    for (i = 0; i < (int)EDGE_POLICY_V_COUNT_; i++)
        if (pp_ieq(name, len, value_defs[i].name))
            return i;
    return -1;
}

const char *edge_policy_source_name(edge_policy_source src)
{
    switch (src) {
    case EDGE_POLICY_SRC_DEFAULT:
        return "default";
    case EDGE_POLICY_SRC_LOCAL:
        return "local";
    case EDGE_POLICY_SRC_POLICY:
        return "policy";
    }
    return "unknown";
}

/* ---- error reporting ---- */

static edge_policy_parse_err pp_fail(edge_policy_parse_info *info, edge_policy_parse_err err,
                                     edge_policy_value id, size_t item, bool list, const char *s,
                                     size_t len, const char *what)
{
    char shown[68];
    size_t i, n = len < 64 ? len : 64;
    if (!info)
        return err;
    info->err = err;
    info->item = (uint32_t)item;
    /* Only printable ASCII of the offending text goes to the log: it is unvalidated input. */
    for (i = 0; i < n; i++)
        shown[i] = (s[i] >= 0x20 && s[i] < 0x7F && s[i] != '"') ? s[i] : '?';
    if (len > n) {
        memcpy(shown + n, "...", 3);
        n += 3;
    }
    shown[n] = '\0';
    if (list)
        snprintf(info->message, sizeof info->message, "%s[%u] \"%s\": %s",
                 edge_policy_value_name(id), (unsigned)item, shown, what);
    else
        snprintf(info->message, sizeof info->message, "%s \"%s\": %s", edge_policy_value_name(id),
                 shown, what);
    return err;
}

static void pp_info_ok(edge_policy_parse_info *info)
{
    if (info) {
        memset(info, 0, sizeof *info);
        info->path_result = EDGE_PATH_OK;
    }
}

/* Text checks shared by every string value: valid UTF-8, no NUL, no control characters. */
static bool pp_text_ok(const char *s, size_t len)
{
    size_t i;
    if (len > 0 && edge_utf8_check((const uint8_t *)s, len) != EDGE_UTF8_OK)
        return false;
    for (i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7F)
            return false;
    return true;
}

/* The checks every value and list item starts with: given (or empty), and text. */
static edge_policy_parse_err pp_text(edge_policy_parse_info *info, edge_policy_value id,
                                     size_t item, bool list, const char *s, size_t len)
{
    if (!s && len != 0)
        return pp_fail(info, EDGE_POLICY_PARSE_E_ARG, id, item, list, "", 0, "no value");
    if (!pp_text_ok(s, len))
        return pp_fail(info, EDGE_POLICY_PARSE_E_ENCODING, id, item, list, s, len,
                       "not UTF-8 text without control characters");
    return EDGE_POLICY_PARSE_OK;
}

static void pp_trim(const char **s, size_t *len)
{
    while (*len > 0 && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
        (*len)--;
}

/* ---- keyword values ---- */

struct keyword {
    const char *word;
    uint32_t value;
};

static edge_policy_parse_err pp_keyword(edge_policy_value id, const struct keyword *kw, size_t nkw,
                                        const char *s, size_t len, uint32_t *out,
                                        edge_policy_parse_info *info)
{
    const char *t = s;
    size_t tlen = len, i;
    edge_policy_parse_err e;
    pp_info_ok(info);
    e = pp_text(info, id, 0, false, s, len);
    if (e != EDGE_POLICY_PARSE_OK)
        return e;
    pp_trim(&t, &tlen);
    if (tlen == 0)
        return pp_fail(info, EDGE_POLICY_PARSE_E_EMPTY, id, 0, false, s, len, "empty");
    for (i = 0; i < nkw; i++) {
        if (pp_ieq(t, tlen, kw[i].word)) {
            *out = kw[i].value;
            return EDGE_POLICY_PARSE_OK;
        }
    }
    return pp_fail(info, EDGE_POLICY_PARSE_E_KEYWORD, id, 0, false, s, len, "unknown keyword");
}

/* Comma-separated keywords, each at most once, at least one: a bit mask. */
static edge_policy_parse_err pp_keyword_set(edge_policy_value id, const struct keyword *kw,
                                            size_t nkw, const char *s, size_t len, uint32_t *out,
                                            edge_policy_parse_info *info)
{
    size_t start = 0, item = 0;
    uint32_t mask = 0;
    edge_policy_parse_err e;
    pp_info_ok(info);
    e = pp_text(info, id, 0, false, s, len);
    if (e != EDGE_POLICY_PARSE_OK)
        return e;
    for (;;) {
        size_t end = start, i;
        const char *t;
        size_t tlen;
        bool found = false;
        while (end < len && s[end] != ',')
            end++;
        t = s + start;
        tlen = end - start;
        pp_trim(&t, &tlen);
        if (tlen == 0)
            return pp_fail(info, EDGE_POLICY_PARSE_E_EMPTY, id, item, false, s, len,
                           "empty entry in comma list");
        for (i = 0; i < nkw && !found; i++) {
            if (pp_ieq(t, tlen, kw[i].word)) {
                if (mask & kw[i].value)
                    return pp_fail(info, EDGE_POLICY_PARSE_E_DUPLICATE, id, item, false, s, len,
                                   "keyword repeated");
                mask |= kw[i].value;
                found = true;
            }
        }
        if (!found)
            return pp_fail(info, EDGE_POLICY_PARSE_E_KEYWORD, id, item, false, s, len,
                           "unknown keyword");
        if (end >= len)
            break;
        start = end + 1;
        item++;
    }
    *out = mask;
    return EDGE_POLICY_PARSE_OK;
}

static const struct keyword mode_kw[] = {
    {"Off", EDGE_POLICY_MODE_OFF},
    {"AllowListOnly", EDGE_POLICY_MODE_ALLOW_LIST_ONLY},
    {"SignedOrAllowListed", EDGE_POLICY_MODE_SIGNED_OR_ALLOW_LISTED},
    {"Consent", EDGE_POLICY_MODE_CONSENT},
};
static const struct keyword proto_kw[] = {
    {"TCP", EDGE_POLICY_PROTO_TCP},
    {"UDP", EDGE_POLICY_PROTO_UDP},
};
static const struct keyword profile_kw[] = {
    {"Domain", EDGE_POLICY_PROFILE_DOMAIN},
    {"Private", EDGE_POLICY_PROFILE_PRIVATE},
    {"Public", EDGE_POLICY_PROFILE_PUBLIC},
};
static const struct keyword edge_kw[] = {
    {"DeferToApp", EDGE_TRAVERSAL_DEFER_TO_APP},
    {"Allow", EDGE_TRAVERSAL_ALLOW},
};
static const struct keyword consent_kw[] = {
    {"Administrators", EDGE_POLICY_CONSENT_BY_ADMINISTRATORS},
    {"InteractiveUser", EDGE_POLICY_CONSENT_BY_INTERACTIVE_USER},
};
static const struct keyword audit_kw[] = {
    {"Minimal", EDGE_POLICY_AUDIT_MINIMAL},
    {"Verbose", EDGE_POLICY_AUDIT_VERBOSE},
};

#define PP_COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *pp_keyword_name(const struct keyword *kw, size_t nkw, uint32_t v)
{
    size_t i;
    for (i = 0; i < nkw; i++)
        if (kw[i].value == v)
            return kw[i].word;
    return "?";
}

const char *edge_policy_mode_name(edge_policy_mode mode)
{
    return pp_keyword_name(mode_kw, PP_COUNT(mode_kw), (uint32_t)mode);
}

edge_policy_parse_err edge_policy_parse_mode(const char *s, size_t len, edge_policy_mode *out,
                                             edge_policy_parse_info *info)
{
    uint32_t v = 0;
    edge_policy_parse_err e;
    if (!out)
        return EDGE_POLICY_PARSE_E_ARG;
    e = pp_keyword(EDGE_POLICY_V_MODE, mode_kw, PP_COUNT(mode_kw), s, len, &v, info);
    if (e == EDGE_POLICY_PARSE_OK)
        *out = (edge_policy_mode)v;
    return e;
}

edge_policy_parse_err edge_policy_parse_protocols(const char *s, size_t len, uint32_t *mask,
                                                  edge_policy_parse_info *info)
{
    if (!mask)
        return EDGE_POLICY_PARSE_E_ARG;
    return pp_keyword_set(EDGE_POLICY_V_ALLOWED_PROTOCOLS, proto_kw, PP_COUNT(proto_kw), s, len,
                          mask, info);
}

edge_policy_parse_err edge_policy_parse_profiles(const char *s, size_t len, uint32_t *mask,
                                                 edge_policy_parse_info *info)
{
    if (!mask)
        return EDGE_POLICY_PARSE_E_ARG;
    return pp_keyword_set(EDGE_POLICY_V_PROFILES, profile_kw, PP_COUNT(profile_kw), s, len, mask,
                          info);
}

edge_policy_parse_err edge_policy_parse_edge_traversal(const char *s, size_t len, uint8_t *out,
                                                       edge_policy_parse_info *info)
{
    uint32_t v = 0;
    edge_policy_parse_err e;
    if (!out)
        return EDGE_POLICY_PARSE_E_ARG;
    e = pp_keyword(EDGE_POLICY_V_EDGE_TRAVERSAL, edge_kw, PP_COUNT(edge_kw), s, len, &v, info);
    if (e == EDGE_POLICY_PARSE_OK)
        *out = (uint8_t)v;
    return e;
}

edge_policy_parse_err edge_policy_parse_consent_by(const char *s, size_t len,
                                                   edge_policy_consent_by *out,
                                                   edge_policy_parse_info *info)
{
    uint32_t v = 0;
    edge_policy_parse_err e;
    if (!out)
        return EDGE_POLICY_PARSE_E_ARG;
    e = pp_keyword(EDGE_POLICY_V_CONSENT_BY, consent_kw, PP_COUNT(consent_kw), s, len, &v, info);
    if (e == EDGE_POLICY_PARSE_OK)
        *out = (edge_policy_consent_by)v;
    return e;
}

edge_policy_parse_err edge_policy_parse_audit_level(const char *s, size_t len,
                                                    edge_policy_audit_level *out,
                                                    edge_policy_parse_info *info)
{
    uint32_t v = 0;
    edge_policy_parse_err e;
    if (!out)
        return EDGE_POLICY_PARSE_E_ARG;
    e = pp_keyword(EDGE_POLICY_V_AUDIT_LEVEL, audit_kw, PP_COUNT(audit_kw), s, len, &v, info);
    if (e == EDGE_POLICY_PARSE_OK)
        *out = (edge_policy_audit_level)v;
    return e;
}

/* ---- numbers and lists ---- */

/* Strict decimal port: digits only, no sign, no leading zero, 1..65535. */
static edge_policy_parse_err pp_port(const char *s, size_t len, uint16_t *out)
{
    uint32_t v = 0;
    size_t i;
    if (len == 0)
        return EDGE_POLICY_PARSE_E_SYNTAX;
    for (i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return EDGE_POLICY_PARSE_E_SYNTAX;
    if (s[0] == '0')
        return len == 1 ? EDGE_POLICY_PARSE_E_RANGE : EDGE_POLICY_PARSE_E_SYNTAX;
    if (len > 5)
        return EDGE_POLICY_PARSE_E_RANGE;
    for (i = 0; i < len; i++)
        v = v * 10 + (uint32_t)(s[i] - '0');
    if (v > 65535)
        return EDGE_POLICY_PARSE_E_RANGE;
    *out = (uint16_t)v;
    return EDGE_POLICY_PARSE_OK;
}

/* Common checks of a list item: present, text, trimmed, non-empty; returns the trimmed view. */
static edge_policy_parse_err pp_item(edge_policy_value id, const edge_str *it, size_t i,
                                     size_t max_len, const char **t, size_t *tlen,
                                     edge_policy_parse_info *info)
{
    edge_policy_parse_err e = pp_text(info, id, i, true, it->ptr, it->len);
    if (e != EDGE_POLICY_PARSE_OK)
        return e;
    *t = it->ptr;
    *tlen = it->len;
    pp_trim(t, tlen);
    if (*tlen == 0)
        return pp_fail(info, EDGE_POLICY_PARSE_E_EMPTY, id, i, true, it->ptr, it->len,
                       "empty entry");
    if (*tlen > max_len)
        return pp_fail(info, EDGE_POLICY_PARSE_E_TOO_LONG, id, i, true, it->ptr, it->len,
                       "entry too long");
    return EDGE_POLICY_PARSE_OK;
}

edge_policy_parse_err edge_policy_parse_ports(const edge_str *items, size_t count,
                                              edge_port_range *out, size_t cap, uint32_t *n,
                                              edge_policy_parse_info *info)
{
    const edge_policy_value id = EDGE_POLICY_V_ALLOWED_PORTS;
    size_t i;
    pp_info_ok(info);
    if (!n || !out || (!items && count != 0))
        return pp_fail(info, EDGE_POLICY_PARSE_E_ARG, id, 0, false, "", 0, "no value");
    *n = 0;
    if (count == 0)
        return pp_fail(info, EDGE_POLICY_PARSE_E_EMPTY, id, 0, false, "", 0, "no port ranges");
    if (count > cap || count > EDGE_POLICY_MAX_PORT_RANGES)
        return pp_fail(info, EDGE_POLICY_PARSE_E_TOO_MANY, id, 0, false, "", 0,
                       "more than 64 port ranges");
    for (i = 0; i < count; i++) {
        const char *t;
        size_t tlen, dash = 0;
        uint16_t lo = 0, hi = 0;
        edge_policy_parse_err e = pp_item(id, &items[i], i, 11, &t, &tlen, info);
        if (e != EDGE_POLICY_PARSE_OK) {
            *n = 0;
            return e;
        }
        while (dash < tlen && t[dash] != '-')
            dash++;
        e = pp_port(t, dash, &lo);
        hi = lo;
        if (e == EDGE_POLICY_PARSE_OK && dash < tlen)
            e = pp_port(t + dash + 1, tlen - dash - 1, &hi);
        if (e == EDGE_POLICY_PARSE_OK && lo > hi)
            e = EDGE_POLICY_PARSE_E_RANGE;
        if (e != EDGE_POLICY_PARSE_OK) {
            *n = 0;
            return pp_fail(info, e, id, i, true, items[i].ptr, items[i].len,
                           e == EDGE_POLICY_PARSE_E_RANGE
                               ? "port outside 1-65535, or range with lo > hi"
                               : "expected a port \"p\" or a range \"lo-hi\" in decimal");
        }
        out[i].lo = lo;
        out[i].hi = hi;
    }
    *n = (uint32_t)count;
    return EDGE_POLICY_PARSE_OK;
}

static edge_policy_parse_err pp_hex_item(edge_policy_value id, const edge_str *it, size_t i,
                                         uint8_t *out, size_t out_len, edge_policy_parse_info *info)
{
    const char *t;
    size_t tlen, n = 0;
    edge_policy_parse_err e = pp_item(id, it, i, 2 * out_len + 64, &t, &tlen, info);
    if (e != EDGE_POLICY_PARSE_OK)
        return e;
    if (tlen != 2 * out_len || edge_sr_hex_decode(t, tlen, out, out_len, &n) != EDGE_SR_OK)
        return pp_fail(info, EDGE_POLICY_PARSE_E_SYNTAX, id, i, true, it->ptr, it->len,
                       out_len == EDGE_SHA256_SIZE ? "expected 64 hex digits"
                                                   : "expected 130 hex digits");
    return EDGE_POLICY_PARSE_OK;
}

static edge_policy_parse_err pp_list_count(edge_policy_value id, const edge_str *items,
                                           size_t count, edge_policy_parse_info *info)
{
    if (!items && count != 0)
        return pp_fail(info, EDGE_POLICY_PARSE_E_ARG, id, 0, false, "", 0, "no value");
    if (count > EDGE_POLICY_MAX_LIST)
        return pp_fail(info, EDGE_POLICY_PARSE_E_TOO_MANY, id, 0, false, "", 0,
                       "more than 1024 entries");
    return EDGE_POLICY_PARSE_OK;
}

/* Checks a list's count and allocates its count zeroed entries; NULL with *e OK when empty. */
static void *pp_list_alloc(edge_policy_value id, const edge_str *items, size_t count, size_t size,
                           edge_policy_parse_err *e, edge_policy_parse_info *info)
{
    void *p;
    *e = pp_list_count(id, items, count, info);
    if (*e != EDGE_POLICY_PARSE_OK || count == 0)
        return NULL;
    p = calloc(count, size);
    if (!p)
        *e = pp_fail(info, EDGE_POLICY_PARSE_E_NO_MEMORY, id, 0, false, "", 0, "out of memory");
    return p;
}

edge_policy_parse_err edge_policy_parse_hashes(const edge_str *items, size_t count,
                                               uint8_t (**out)[EDGE_SHA256_SIZE], uint32_t *n,
                                               edge_policy_parse_info *info)
{
    const edge_policy_value id = EDGE_POLICY_V_ALLOWED_IMAGE_HASHES;
    uint8_t(*h)[EDGE_SHA256_SIZE] = NULL;
    edge_policy_parse_err e;
    size_t i;

    pp_info_ok(info);
    if (!out || !n)
        return EDGE_POLICY_PARSE_E_ARG;
    *out = NULL;
    *n = 0;
    h = pp_list_alloc(id, items, count, sizeof *h, &e, info);
    if (!h)
        return e;
    for (i = 0; i < count; i++) {
        e = pp_hex_item(id, &items[i], i, h[i], EDGE_SHA256_SIZE, info);
        if (e != EDGE_POLICY_PARSE_OK)
            goto out;
    }
    *out = h;
    h = NULL;
    *n = (uint32_t)count;
out:
    free(h);
    return e;
}

edge_policy_parse_err edge_policy_parse_keys(const edge_str *items, size_t count,
                                             edge_policy_key **out, uint32_t *n,
                                             edge_policy_parse_info *info)
{
    const edge_policy_value id = EDGE_POLICY_V_TRUSTED_SIGNER_KEYS;
    edge_policy_key *k = NULL;
    edge_policy_parse_err e;
    size_t i;

    pp_info_ok(info);
    if (!out || !n)
        return EDGE_POLICY_PARSE_E_ARG;
    *out = NULL;
    *n = 0;
    k = pp_list_alloc(id, items, count, sizeof *k, &e, info);
    if (!k)
        return e;
    for (i = 0; i < count; i++) {
        e = pp_hex_item(id, &items[i], i, k[i].point, EDGE_SR_PUBKEY_LEN, info);
        if (e != EDGE_POLICY_PARSE_OK)
            goto out;
        if (k[i].point[0] != 0x04) {
            e = pp_fail(info, EDGE_POLICY_PARSE_E_KEY, id, i, true, items[i].ptr, items[i].len,
                        "not an uncompressed P-256 point (must start with 04)");
            goto out;
        }
        edge_sr_key_id(k[i].point, k[i].id);
    }
    *out = k;
    k = NULL;
    *n = (uint32_t)count;
out:
    free(k);
    return e;
}

/* Copies the trimmed items into one allocation: count pointers, then the NUL-terminated texts. */
static edge_policy_parse_err pp_strings(edge_policy_value id, const edge_str *items, size_t count,
                                        const size_t *starts, const size_t *lens,
                                        edge_policy_strings *out, edge_policy_parse_info *info)
{
    size_t total = count * sizeof(char *), i;
    char **v;
    char *text;
    for (i = 0; i < count; i++)
        total += lens[i] + 1; /* each <= EDGE_PATH_MAX_BYTES, count <= 1024: no overflow */
    v = malloc(total);
    if (!v)
        return pp_fail(info, EDGE_POLICY_PARSE_E_NO_MEMORY, id, 0, false, "", 0, "out of memory");
    text = (char *)(v + count);
    for (i = 0; i < count; i++) {
        memcpy(text, items[i].ptr + starts[i], lens[i]);
        text[lens[i]] = '\0';
        v[i] = text;
        text += lens[i] + 1;
    }
    out->items = v;
    out->count = (uint32_t)count;
    return EDGE_POLICY_PARSE_OK;
}

static edge_policy_parse_err pp_string_list(edge_policy_value id, const edge_str *items,
                                            size_t count, edge_policy_strings *out,
                                            edge_policy_parse_info *info)
{
    size_t starts[EDGE_POLICY_MAX_LIST], lens[EDGE_POLICY_MAX_LIST], i;
    edge_policy_parse_err e;
    bool pattern = id == EDGE_POLICY_V_ALLOWED_APPLICATIONS;

    pp_info_ok(info);
    if (!out)
        return EDGE_POLICY_PARSE_E_ARG;
    out->items = NULL;
    out->count = 0;
    e = pp_list_count(id, items, count, info);
    if (e != EDGE_POLICY_PARSE_OK || count == 0)
        return e;
    for (i = 0; i < count; i++) {
        const char *t;
        size_t tlen;
        e = pp_item(id, &items[i], i, pattern ? EDGE_PATH_MAX_BYTES : EDGE_POLICY_MAX_PUBLISHER, &t,
                    &tlen, info);
        if (e != EDGE_POLICY_PARSE_OK)
            return e;
        if (pattern) {
            edge_path_result pr = edge_path_pattern_check(t, tlen);
            if (pr != EDGE_PATH_OK) {
                e = pp_fail(info, EDGE_POLICY_PARSE_E_PATTERN, id, i, true, items[i].ptr,
                            items[i].len, edge_path_result_name(pr));
                if (info)
                    info->path_result = pr;
                return e;
            }
        } else if (!memchr(t, '=', tlen)) {
            return pp_fail(info, EDGE_POLICY_PARSE_E_SYNTAX, id, i, true, items[i].ptr,
                           items[i].len, "expected a distinguished name such as \"CN=...\"");
        }
        starts[i] = (size_t)(t - items[i].ptr);
        lens[i] = tlen;
    }
    return pp_strings(id, items, count, starts, lens, out, info);
}

edge_policy_parse_err edge_policy_parse_patterns(const edge_str *items, size_t count,
                                                 edge_policy_strings *out,
                                                 edge_policy_parse_info *info)
{
    return pp_string_list(EDGE_POLICY_V_ALLOWED_APPLICATIONS, items, count, out, info);
}

edge_policy_parse_err edge_policy_parse_publishers(const edge_str *items, size_t count,
                                                   edge_policy_strings *out,
                                                   edge_policy_parse_info *info)
{
    return pp_string_list(EDGE_POLICY_V_ALLOWED_PUBLISHERS, items, count, out, info);
}

edge_policy_parse_err edge_policy_check_dword(edge_policy_value id, uint32_t v,
                                              edge_policy_parse_info *info)
{
    char num[16];
    pp_info_ok(info);
    if ((unsigned)id >= (unsigned)EDGE_POLICY_V_COUNT_ ||
        value_defs[id].kind != EDGE_POLICY_KIND_DWORD)
        return EDGE_POLICY_PARSE_E_ARG;
    if (v < value_defs[id].min || v > value_defs[id].max) {
        char what[64];
        snprintf(num, sizeof num, "%u", (unsigned)v);
        snprintf(what, sizeof what, "outside %u-%u", (unsigned)value_defs[id].min,
                 (unsigned)value_defs[id].max);
        return pp_fail(info, EDGE_POLICY_PARSE_E_RANGE, id, 0, false, num, strlen(num), what);
    }
    return EDGE_POLICY_PARSE_OK;
}
