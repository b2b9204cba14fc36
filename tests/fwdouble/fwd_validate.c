/*
 * Validation of INetFwRule put_* calls. Windows validates each put immediately against the rule
 * as it stands, so the order of puts matters (Protocol before ports, ApplicationName and Protocol
 * before EdgeTraversalOptions = DEFER_TO_USER); this file reproduces that.
 */
#include "fwd_com.h"

#include <sddl.h>
#include <ws2tcpip.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define FWD_MAX_TOKEN 128

static BOOL fwd_protocol_has_ports(long p)
{
    return p == 6 || p == 17;
}

static BOOL fwd_protocol_has_icmp(long p)
{
    return p == 1 || p == 58;
}

static BOOL fwd_is_empty(const wchar_t *s)
{
    return s == NULL || s[0] == L'\0';
}

/* Ports that restrict anything (NULL, empty and "*" mean any port). */
static BOOL fwd_has_ports(const wchar_t *s)
{
    return !fwd_is_empty(s) && wcscmp(s, L"*") != 0;
}

/* Splits s at ',' and calls check on each token; FALSE on an empty or oversized token. */
static BOOL fwd_each_token(const wchar_t *s, BOOL (*check)(const wchar_t *tok, void *ctx),
                           void *ctx)
{
    wchar_t tok[FWD_MAX_TOKEN];

    for (;;) {
        const wchar_t *comma = wcschr(s, L',');
        size_t n = comma ? (size_t)(comma - s) : wcslen(s);
        if (n == 0 || n >= FWD_MAX_TOKEN)
            return FALSE;
        memcpy(tok, s, n * sizeof(wchar_t));
        tok[n] = L'\0';
        if (!check(tok, ctx))
            return FALSE;
        if (comma == NULL)
            return TRUE;
        s = comma + 1;
    }
}

static BOOL fwd_parse_uint(const wchar_t *s, size_t n, unsigned long max, unsigned long *out)
{
    unsigned long v = 0;
    size_t i;

    if (n == 0 || n > 10)
        return FALSE;
    for (i = 0; i < n; i++) {
        if (s[i] < L'0' || s[i] > L'9')
            return FALSE;
        v = v * 10 + (unsigned long)(s[i] - L'0');
        if (v > max)
            return FALSE;
    }
    *out = v;
    return TRUE;
}

static BOOL fwd_port_token(const wchar_t *tok, void *ctx)
{
    static const wchar_t *const keywords[] = {L"RPC", L"RPC-EPMap", L"Teredo", L"IPHTTPS"};
    BOOL local = *(BOOL *)ctx;
    const wchar_t *dash;
    unsigned long a, b;
    size_t i;

    for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
        if (fwd_str_ieq(tok, keywords[i]))
            return local;
    }
    dash = wcschr(tok, L'-');
    if (dash == NULL)
        return fwd_parse_uint(tok, wcslen(tok), 65535, &a);
    return fwd_parse_uint(tok, (size_t)(dash - tok), 65535, &a) &&
           fwd_parse_uint(dash + 1, wcslen(dash + 1), 65535, &b) && a <= b;
}

static BOOL fwd_valid_ports(const wchar_t *s, BOOL local)
{
    if (wcscmp(s, L"*") == 0)
        return TRUE;
    return fwd_each_token(s, fwd_port_token, &local);
}

/* Address family of a literal address (AF_INET / AF_INET6), 0 when not an address. */
static int fwd_addr_family(const wchar_t *s)
{
    unsigned char buf[16];

    if (InetPtonW(AF_INET, s, buf) == 1)
        return AF_INET;
    if (InetPtonW(AF_INET6, s, buf) == 1)
        return AF_INET6;
    return 0;
}

static BOOL fwd_address_token(const wchar_t *tok, void *ctx)
{
    static const wchar_t *const keywords[] = {L"Defaultgateway", L"DHCP", L"DNS", L"WINS",
                                              L"LocalSubnet"};
    wchar_t left[FWD_MAX_TOKEN];
    const wchar_t *sep;
    size_t i;
    int fam;

    (void)ctx;
    for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
        if (fwd_str_ieq(tok, keywords[i]))
            return TRUE;
    }
    sep = wcschr(tok, L'/');
    if (sep == NULL)
        sep = wcschr(tok, L'-');
    if (sep == NULL)
        return fwd_addr_family(tok) != 0;
    memcpy(left, tok, (size_t)(sep - tok) * sizeof(wchar_t));
    left[sep - tok] = L'\0';
    fam = fwd_addr_family(left);
    if (fam == 0)
        return FALSE;
    if (*sep == L'-')
        return fwd_addr_family(sep + 1) == fam;
    {
        unsigned long bits;
        if (fwd_parse_uint(sep + 1, wcslen(sep + 1), fam == AF_INET ? 32 : 128, &bits))
            return TRUE;
        return fam == AF_INET && fwd_addr_family(sep + 1) == AF_INET; /* dotted mask */
    }
}

static BOOL fwd_valid_addresses(const wchar_t *s)
{
    if (wcscmp(s, L"*") == 0)
        return TRUE;
    return fwd_each_token(s, fwd_address_token, NULL);
}

static BOOL fwd_iftype_token(const wchar_t *tok, void *ctx)
{
    (void)ctx;
    return fwd_str_ieq(tok, L"RemoteAccess") || fwd_str_ieq(tok, L"Wireless") ||
           fwd_str_ieq(tok, L"Lan");
}

static BOOL fwd_valid_interface_types(const wchar_t *s)
{
    if (fwd_str_ieq(s, L"All"))
        return TRUE;
    return fwd_each_token(s, fwd_iftype_token, NULL);
}

static BOOL fwd_icmp_token(const wchar_t *tok, void *ctx)
{
    const wchar_t *colon = wcschr(tok, L':');
    unsigned long v;

    (void)ctx;
    if (colon == NULL)
        return FALSE;
    if (!fwd_parse_uint(tok, (size_t)(colon - tok), 255, &v))
        return FALSE;
    return wcscmp(colon + 1, L"*") == 0 || fwd_parse_uint(colon + 1, wcslen(colon + 1), 255, &v);
}

static BOOL fwd_valid_icmp(const wchar_t *s)
{
    if (wcscmp(s, L"*") == 0)
        return TRUE;
    return fwd_each_token(s, fwd_icmp_token, NULL);
}

static BOOL fwd_valid_sid(const wchar_t *s)
{
    PSID sid = NULL;

    if (!ConvertStringSidToSidW(s, &sid))
        return FALSE;
    LocalFree(sid);
    return TRUE;
}

static BOOL fwd_valid_name(const wchar_t *s)
{
    return !fwd_is_empty(s) && wcschr(s, L'|') == NULL && !fwd_str_ieq(s, L"all");
}

static BOOL fwd_valid_profiles(long p)
{
    return p == FWD_PROFILES_ALL || (p != 0 && (p & ~FWD_PROFILES_VALID) == 0);
}

/* Checks value v for prop against rule r; TRUE when the put may proceed. */
static BOOL fwd_put_allowed(const fwdc_rule *r, fwd_prop prop, const fwd_value *v)
{
    const wchar_t *s = v->str;
    long n = v->num;

    switch (prop) {
    case FWD_P_NAME:
        return fwd_valid_name(s);
    case FWD_P_DESCRIPTION:
        return s == NULL || wcschr(s, L'|') == NULL;
    case FWD_P_APPLICATION:
        return !(fwd_is_empty(s) && r->edge_traversal_options == FWD_EDGE_DEFER_TO_USER);
    case FWD_P_PROTOCOL:
        if (n < 0 || n > FWD_PROTOCOL_ANY)
            return FALSE;
        if ((!fwd_is_empty(r->local_ports) || !fwd_is_empty(r->remote_ports)) &&
            !fwd_protocol_has_ports(n))
            return FALSE;
        if (!fwd_is_empty(r->icmp_types_and_codes) && !fwd_protocol_has_icmp(n))
            return FALSE;
        return !(n == FWD_PROTOCOL_ANY && r->edge_traversal_options == FWD_EDGE_DEFER_TO_USER);
    case FWD_P_LOCAL_PORTS:
    case FWD_P_REMOTE_PORTS:
        if (fwd_is_empty(s))
            return TRUE;
        if (!fwd_protocol_has_ports(r->protocol))
            return FALSE;
        if (fwd_has_ports(s) && r->edge_traversal_options == FWD_EDGE_DEFER_TO_USER)
            return FALSE;
        return fwd_valid_ports(s, prop == FWD_P_LOCAL_PORTS);
    case FWD_P_LOCAL_ADDRESSES:
    case FWD_P_REMOTE_ADDRESSES:
        return fwd_is_empty(s) || fwd_valid_addresses(s);
    case FWD_P_ICMP:
        if (fwd_is_empty(s))
            return TRUE;
        return fwd_protocol_has_icmp(r->protocol) && fwd_valid_icmp(s);
    case FWD_P_DIRECTION:
        return n == NET_FW_RULE_DIR_IN || n == NET_FW_RULE_DIR_OUT;
    case FWD_P_INTERFACES:
        return TRUE; /* checked while converting the VARIANT */
    case FWD_P_INTERFACE_TYPES:
        return fwd_is_empty(s) || fwd_valid_interface_types(s);
    case FWD_P_ENABLED:
    case FWD_P_EDGE:
    case FWD_P_GROUPING:
    case FWD_P_SERVICE:
    case FWD_P_LOCAL_USERS:
    case FWD_P_REMOTE_USERS:
    case FWD_P_REMOTE_MACHINES:
        return TRUE;
    case FWD_P_PROFILES:
        return fwd_valid_profiles(n);
    case FWD_P_ACTION:
        return n == NET_FW_ACTION_BLOCK || n == NET_FW_ACTION_ALLOW;
    case FWD_P_EDGE_OPTIONS:
        if (n < FWD_EDGE_DENY || n > FWD_EDGE_DEFER_TO_USER)
            return FALSE;
        /* Documented: defer-to-user needs an application path and a protocol, and no ports. */
        if (n == FWD_EDGE_DEFER_TO_USER)
            return !fwd_is_empty(r->application_name) && r->protocol != FWD_PROTOCOL_ANY &&
                   !fwd_has_ports(r->local_ports) && !fwd_has_ports(r->remote_ports);
        return TRUE;
    case FWD_P_PACKAGE_ID:
    case FWD_P_OWNER:
        return fwd_is_empty(s) || fwd_valid_sid(s);
    case FWD_P_SECURE_FLAGS:
        return n >= 0;
    }
    return FALSE;
}

wchar_t **fwd_prop_str_slot(fwdc_rule *r, fwd_prop prop)
{
    switch (prop) {
    case FWD_P_NAME:
        return &r->name;
    case FWD_P_DESCRIPTION:
        return &r->description;
    case FWD_P_APPLICATION:
        return &r->application_name;
    case FWD_P_SERVICE:
        return &r->service_name;
    case FWD_P_LOCAL_PORTS:
        return &r->local_ports;
    case FWD_P_REMOTE_PORTS:
        return &r->remote_ports;
    case FWD_P_LOCAL_ADDRESSES:
        return &r->local_addresses;
    case FWD_P_REMOTE_ADDRESSES:
        return &r->remote_addresses;
    case FWD_P_ICMP:
        return &r->icmp_types_and_codes;
    case FWD_P_INTERFACES:
        return &r->interfaces;
    case FWD_P_INTERFACE_TYPES:
        return &r->interface_types;
    case FWD_P_GROUPING:
        return &r->grouping;
    case FWD_P_PACKAGE_ID:
        return &r->local_app_package_id;
    case FWD_P_OWNER:
        return &r->local_user_owner;
    case FWD_P_LOCAL_USERS:
        return &r->local_user_authorized_list;
    case FWD_P_REMOTE_USERS:
        return &r->remote_user_authorized_list;
    case FWD_P_REMOTE_MACHINES:
        return &r->remote_machine_authorized_list;
    default:
        return NULL;
    }
}

HRESULT fwd_rule_apply(fwdc_rule *r, fwd_prop prop, const fwd_value *v)
{
    wchar_t **slot;
    const wchar_t *s = v->str;

    if (!fwd_put_allowed(r, prop, v))
        return E_INVALIDARG;
    slot = fwd_prop_str_slot(r, prop);
    if (slot != NULL) {
        /* Clearing addresses means "any"; clearing interface types means "All". */
        if (fwd_is_empty(s) && (prop == FWD_P_LOCAL_ADDRESSES || prop == FWD_P_REMOTE_ADDRESSES))
            s = L"*";
        else if (fwd_is_empty(s) && prop == FWD_P_INTERFACE_TYPES)
            s = L"All";
        return fwd_str_set(slot, s);
    }
    switch (prop) {
    case FWD_P_PROTOCOL:
        r->protocol = v->num;
        break;
    case FWD_P_DIRECTION:
        r->direction = v->num;
        break;
    case FWD_P_ENABLED:
        r->enabled = v->num != 0;
        break;
    case FWD_P_PROFILES:
        r->profiles = v->num;
        break;
    case FWD_P_EDGE:
        r->edge_traversal_options = v->num ? FWD_EDGE_ALLOW : FWD_EDGE_DENY;
        break;
    case FWD_P_ACTION:
        r->action = v->num;
        break;
    case FWD_P_EDGE_OPTIONS:
        r->edge_traversal_options = v->num;
        break;
    case FWD_P_SECURE_FLAGS:
        r->secure_flags = v->num;
        break;
    default:
        return E_INVALIDARG;
    }
    return S_OK;
}

HRESULT fwd_rule_check_for_add(const fwdc_rule *r)
{
    return fwd_valid_name(r->name) ? S_OK : E_INVALIDARG;
}
