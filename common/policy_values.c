/* The effective policy struct: defaults, setters, lookup and display; see edge/policy.h. */
#include "edge/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void edge_policy_init_defaults(edge_policy *p)
{
    size_t i;
    if (!p)
        return;
    memset(p, 0, sizeof *p);
    for (i = 0; i < EDGE_POLICY_V_COUNT_; i++)
        p->source[i] = EDGE_POLICY_SRC_DEFAULT;
    p->mode = EDGE_POLICY_MODE_CONSENT;
    p->protocols = EDGE_POLICY_PROTO_TCP | EDGE_POLICY_PROTO_UDP;
    p->ports[0].lo = 1024;
    p->ports[0].hi = 65535;
    p->port_count = 1;
    p->default_lease_seconds = 3600;
    p->max_lease_seconds = 86400;
    p->max_leases_per_user = 16;
    p->max_leases_per_app = 8;
    p->edge_option = EDGE_TRAVERSAL_DEFER_TO_APP;
    p->profiles =
        EDGE_POLICY_PROFILE_DOMAIN | EDGE_POLICY_PROFILE_PRIVATE | EDGE_POLICY_PROFILE_PUBLIC;
    p->consent_by = EDGE_POLICY_CONSENT_BY_ADMINISTRATORS;
    p->consent_timeout_seconds = 600;
    p->consent_remember_seconds = 2592000;
    p->audit_level = EDGE_POLICY_AUDIT_MINIMAL;
}

void edge_policy_free(edge_policy *p)
{
    if (!p)
        return;
    free(p->app_patterns.items);
    free(p->image_hashes);
    free(p->publishers.items);
    free(p->keys);
    edge_policy_init_defaults(p);
}

edge_policy_parse_err edge_policy_set_strings(edge_policy *p, edge_policy_value id,
                                              const edge_str *items, size_t count,
                                              edge_policy_source src, edge_policy_parse_info *info)
{
    edge_policy_parse_err e = EDGE_POLICY_PARSE_E_ARG;
    edge_policy_kind kind = edge_policy_value_kind(id);

    if (info) {
        memset(info, 0, sizeof *info);
        info->err = EDGE_POLICY_PARSE_E_ARG;
    }
    if (!p || (kind != EDGE_POLICY_KIND_SZ && kind != EDGE_POLICY_KIND_MULTI_SZ) ||
        (kind == EDGE_POLICY_KIND_SZ && count != 1) || (!items && count != 0))
        return EDGE_POLICY_PARSE_E_ARG;

    switch (id) {
    case EDGE_POLICY_V_MODE:
        e = edge_policy_parse_mode(items[0].ptr, items[0].len, &p->mode, info);
        break;
    case EDGE_POLICY_V_ALLOWED_PROTOCOLS:
        e = edge_policy_parse_protocols(items[0].ptr, items[0].len, &p->protocols, info);
        break;
    case EDGE_POLICY_V_PROFILES:
        e = edge_policy_parse_profiles(items[0].ptr, items[0].len, &p->profiles, info);
        break;
    case EDGE_POLICY_V_EDGE_TRAVERSAL:
        e = edge_policy_parse_edge_traversal(items[0].ptr, items[0].len, &p->edge_option, info);
        break;
    case EDGE_POLICY_V_CONSENT_BY:
        e = edge_policy_parse_consent_by(items[0].ptr, items[0].len, &p->consent_by, info);
        break;
    case EDGE_POLICY_V_AUDIT_LEVEL:
        e = edge_policy_parse_audit_level(items[0].ptr, items[0].len, &p->audit_level, info);
        break;
    case EDGE_POLICY_V_ALLOWED_PORTS: {
        edge_port_range tmp[EDGE_POLICY_MAX_PORT_RANGES];
        uint32_t n = 0;
        e = edge_policy_parse_ports(items, count, tmp, EDGE_POLICY_MAX_PORT_RANGES, &n, info);
        if (e == EDGE_POLICY_PARSE_OK) {
            memcpy(p->ports, tmp, n * sizeof tmp[0]);
            p->port_count = n;
        }
        break;
    }
    case EDGE_POLICY_V_ALLOWED_IMAGE_HASHES: {
        uint8_t(*h)[EDGE_SHA256_SIZE] = NULL;
        uint32_t n = 0;
        e = edge_policy_parse_hashes(items, count, &h, &n, info);
        if (e == EDGE_POLICY_PARSE_OK) {
            free(p->image_hashes);
            p->image_hashes = h;
            p->image_hash_count = n;
        }
        break;
    }
    case EDGE_POLICY_V_TRUSTED_SIGNER_KEYS: {
        edge_policy_key *k = NULL;
        uint32_t n = 0;
        e = edge_policy_parse_keys(items, count, &k, &n, info);
        if (e == EDGE_POLICY_PARSE_OK) {
            free(p->keys);
            p->keys = k;
            p->key_count = n;
        }
        break;
    }
    case EDGE_POLICY_V_ALLOWED_APPLICATIONS:
    case EDGE_POLICY_V_ALLOWED_PUBLISHERS: {
        edge_policy_strings s = {NULL, 0};
        edge_policy_strings *dst =
            id == EDGE_POLICY_V_ALLOWED_APPLICATIONS ? &p->app_patterns : &p->publishers;
        e = id == EDGE_POLICY_V_ALLOWED_APPLICATIONS
                ? edge_policy_parse_patterns(items, count, &s, info)
                : edge_policy_parse_publishers(items, count, &s, info);
        if (e == EDGE_POLICY_PARSE_OK) {
            free(dst->items);
            *dst = s;
        }
        break;
    }
    default:
        return EDGE_POLICY_PARSE_E_ARG;
    }
    if (e == EDGE_POLICY_PARSE_OK)
        p->source[id] = src;
    return e;
}

edge_policy_parse_err edge_policy_set_dword(edge_policy *p, edge_policy_value id, uint32_t v,
                                            edge_policy_source src, edge_policy_parse_info *info)
{
    edge_policy_parse_err e;
    if (!p) {
        if (info) {
            memset(info, 0, sizeof *info);
            info->err = EDGE_POLICY_PARSE_E_ARG;
        }
        return EDGE_POLICY_PARSE_E_ARG;
    }
    e = edge_policy_check_dword(id, v, info);
    if (e != EDGE_POLICY_PARSE_OK)
        return e;
    switch (id) {
    case EDGE_POLICY_V_DEFAULT_LEASE_SECONDS:
        p->default_lease_seconds = v;
        break;
    case EDGE_POLICY_V_MAX_LEASE_SECONDS:
        p->max_lease_seconds = v;
        break;
    case EDGE_POLICY_V_MAX_LEASES_PER_USER:
        p->max_leases_per_user = v;
        break;
    case EDGE_POLICY_V_MAX_LEASES_PER_APP:
        p->max_leases_per_app = v;
        break;
    case EDGE_POLICY_V_CONSENT_TIMEOUT_SECONDS:
        p->consent_timeout_seconds = v;
        break;
    case EDGE_POLICY_V_CONSENT_REMEMBER_SECONDS:
        p->consent_remember_seconds = v;
        break;
    default:
        return EDGE_POLICY_PARSE_E_ARG;
    }
    p->source[id] = src;
    return EDGE_POLICY_PARSE_OK;
}

const edge_policy_key *edge_policy_find_key(const edge_policy *p,
                                            const uint8_t id[EDGE_SR_KEY_ID_LEN])
{
    uint32_t i;
    if (!p || !id)
        return NULL;
    for (i = 0; i < p->key_count; i++)
        if (memcmp(p->keys[i].id, id, EDGE_SR_KEY_ID_LEN) == 0)
            return &p->keys[i];
    return NULL;
}

/* ---- display ---- */

struct fmt {
    char *buf;
    size_t len;
    size_t limit; /* EDGE_MAX_TEXT: bytes of text, terminator excluded */
};

static bool fmt_put(struct fmt *f, const char *s, size_t n)
{
    if (n > f->limit - f->len)
        return false;
    memcpy(f->buf + f->len, s, n);
    f->len += n;
    f->buf[f->len] = '\0';
    return true;
}

static void fmt_str(struct fmt *f, const char *s)
{
    (void)fmt_put(f, s, strlen(s));
}

/*
 * Appends items[0..n) separated by sep; total is the size of the whole list (>= n).  An item that
 * does not fit whole (keeping room for the " ... (N entries)" tail) ends the list, so the text
 * never ends inside a UTF-8 sequence; the tail also follows when n < total.
 */
static void fmt_list(struct fmt *f, const char *const *items, uint32_t n, uint32_t total,
                     const char *sep)
{
    char tail[48];
    uint32_t i;
    size_t reserve;
    snprintf(tail, sizeof tail, " ... (%u entries)", (unsigned)total);
    reserve = strlen(tail);
    for (i = 0; i < n; i++) {
        size_t need = strlen(items[i]) + (i ? strlen(sep) : 0);
        if (need + reserve > f->limit - f->len)
            break;
        if (i)
            fmt_str(f, sep);
        fmt_str(f, items[i]);
    }
    if (i < total)
        fmt_str(f, tail);
}

static void fmt_flags(struct fmt *f, uint32_t mask, const char *const *names, size_t n)
{
    size_t i;
    bool first = true;
    for (i = 0; i < n; i++) {
        if (mask & (1u << i)) {
            if (!first)
                fmt_str(f, ",");
            fmt_str(f, names[i]);
            first = false;
        }
    }
}

#define FMT_HEX_MAX 32u /* more 64-digit items than fit into EDGE_MAX_TEXT */

/* Hex items of a byte-array list (element i at base + i * stride, len bytes). */
static void fmt_hex_list(struct fmt *f, const uint8_t *base, size_t stride, size_t len,
                         uint32_t count)
{
    char text[FMT_HEX_MAX][2 * EDGE_SHA256_SIZE + 1];
    const char *ptrs[FMT_HEX_MAX];
    uint32_t shown = count < FMT_HEX_MAX ? count : FMT_HEX_MAX, i;
    for (i = 0; i < shown; i++) {
        (void)edge_sr_hex_encode(base + (size_t)i * stride, len, text[i], sizeof text[i]);
        ptrs[i] = text[i];
    }
    fmt_list(f, ptrs, shown, count, "; ");
}

bool edge_policy_format_value(const edge_policy *p, edge_policy_value id, char *out, size_t cap)
{
    static const char *const proto_names[] = {"TCP", "UDP"};
    static const char *const profile_names[] = {"Domain", "Private", "Public"};
    struct fmt f;
    char num[16];
    uint32_t i;

    if (!out || cap < EDGE_MAX_TEXT + 1)
        return false;
    out[0] = '\0';
    if (!p || (unsigned)id >= (unsigned)EDGE_POLICY_V_COUNT_)
        return false;
    f.buf = out;
    f.len = 0;
    f.limit = EDGE_MAX_TEXT;
    switch (id) {
    case EDGE_POLICY_V_MODE:
        fmt_str(&f, edge_policy_mode_name(p->mode));
        break;
    case EDGE_POLICY_V_ALLOWED_APPLICATIONS:
        fmt_list(&f, (const char *const *)p->app_patterns.items, p->app_patterns.count,
                 p->app_patterns.count, "; ");
        break;
    case EDGE_POLICY_V_ALLOWED_PUBLISHERS:
        fmt_list(&f, (const char *const *)p->publishers.items, p->publishers.count,
                 p->publishers.count, "; ");
        break;
    case EDGE_POLICY_V_ALLOWED_IMAGE_HASHES:
        fmt_hex_list(&f, (const uint8_t *)p->image_hashes, EDGE_SHA256_SIZE, EDGE_SHA256_SIZE,
                     p->image_hash_count);
        break;
    case EDGE_POLICY_V_TRUSTED_SIGNER_KEYS:
        /* The 130-digit points would not fit; key ids identify them (edgectl verify shows ids). */
        fmt_str(&f, p->key_count ? "key ids: " : "");
        fmt_hex_list(&f, p->keys ? p->keys[0].id : NULL, sizeof(edge_policy_key),
                     EDGE_SR_KEY_ID_LEN, p->key_count);
        break;
    case EDGE_POLICY_V_ALLOWED_PROTOCOLS:
        fmt_flags(&f, p->protocols, proto_names, 2);
        break;
    case EDGE_POLICY_V_PROFILES:
        fmt_flags(&f, p->profiles, profile_names, 3);
        break;
    case EDGE_POLICY_V_ALLOWED_PORTS:
        for (i = 0; i < p->port_count; i++) {
            char r[16];
            if (p->ports[i].lo == p->ports[i].hi)
                snprintf(r, sizeof r, "%s%u", i ? "; " : "", (unsigned)p->ports[i].lo);
            else
                snprintf(r, sizeof r, "%s%u-%u", i ? "; " : "", (unsigned)p->ports[i].lo,
                         (unsigned)p->ports[i].hi);
            fmt_str(&f, r); /* 64 ranges x <= 13 bytes always fit */
        }
        break;
    case EDGE_POLICY_V_EDGE_TRAVERSAL:
        fmt_str(&f, p->edge_option == EDGE_TRAVERSAL_ALLOW ? "Allow" : "DeferToApp");
        break;
    case EDGE_POLICY_V_CONSENT_BY:
        fmt_str(&f, p->consent_by == EDGE_POLICY_CONSENT_BY_INTERACTIVE_USER ? "InteractiveUser"
                                                                             : "Administrators");
        break;
    case EDGE_POLICY_V_AUDIT_LEVEL:
        fmt_str(&f, p->audit_level == EDGE_POLICY_AUDIT_VERBOSE ? "Verbose" : "Minimal");
        break;
    default: {
        uint32_t v = 0;
        if (id == EDGE_POLICY_V_DEFAULT_LEASE_SECONDS)
            v = p->default_lease_seconds;
        else if (id == EDGE_POLICY_V_MAX_LEASE_SECONDS)
            v = p->max_lease_seconds;
        else if (id == EDGE_POLICY_V_MAX_LEASES_PER_USER)
            v = p->max_leases_per_user;
        else if (id == EDGE_POLICY_V_MAX_LEASES_PER_APP)
            v = p->max_leases_per_app;
        else if (id == EDGE_POLICY_V_CONSENT_TIMEOUT_SECONDS)
            v = p->consent_timeout_seconds;
        else
            v = p->consent_remember_seconds;
        snprintf(num, sizeof num, "%u", (unsigned)v);
        fmt_str(&f, num);
        break;
    }
    }
    return true;
}
