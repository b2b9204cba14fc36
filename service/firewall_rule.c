/*
 * Firewall backend: one INetFwRule — building it from a spec, reading it back, comparing.
 * Runs on the backend's worker thread only (the name helpers are pure).
 */
#include "firewall_internal.h"

#include <stdlib.h>
#include <string.h>

#define FW_DESC_PREFIX L"EdgeBroker lease "
#define FW_DESC_OWNER  L" owned by "

static const wchar_t fw_hex[] = L"0123456789abcdef";

void edge_fw_rule_name(const uint8_t lease_id[EDGE_FW_LEASE_ID_SIZE],
                       wchar_t name[EDGE_FW_NAME_CHARS])
{
    size_t prefix = wcslen(EDGE_FW_NAME_PREFIX);
    size_t i;

    memcpy(name, EDGE_FW_NAME_PREFIX, prefix * sizeof(wchar_t));
    for (i = 0; i < EDGE_FW_LEASE_ID_SIZE; i++) {
        name[prefix + 2 * i] = fw_hex[lease_id[i] >> 4];
        name[prefix + 2 * i + 1] = fw_hex[lease_id[i] & 0xF];
    }
    name[prefix + 2 * EDGE_FW_LEASE_ID_SIZE] = L'\0';
}

static int fw_hex_value(wchar_t c)
{
    if (c >= L'0' && c <= L'9')
        return c - L'0';
    if (c >= L'a' && c <= L'f')
        return c - L'a' + 10;
    return -1; /* upper case is not ours: edge_fw_rule_name writes lower case only */
}

bool edge_fw_parse_rule_name(const wchar_t *name, uint8_t lease_id[EDGE_FW_LEASE_ID_SIZE])
{
    size_t prefix = wcslen(EDGE_FW_NAME_PREFIX);
    uint8_t id[EDGE_FW_LEASE_ID_SIZE];
    size_t i;

    if (!name || wcsncmp(name, EDGE_FW_NAME_PREFIX, prefix) != 0)
        return false;
    name += prefix;
    for (i = 0; i < 2 * EDGE_FW_LEASE_ID_SIZE; i++) {
        if (fw_hex_value(name[i]) < 0)
            return false;
    }
    if (name[2 * EDGE_FW_LEASE_ID_SIZE] != L'\0')
        return false;
    for (i = 0; i < EDGE_FW_LEASE_ID_SIZE; i++)
        id[i] = (uint8_t)((fw_hex_value(name[2 * i]) << 4) | fw_hex_value(name[2 * i + 1]));
    memcpy(lease_id, id, sizeof(id));
    return true;
}

/* Length of s if it is shorter than cap characters; otherwise cap. */
static size_t fw_wcsnlen(const wchar_t *s, size_t cap)
{
    size_t n = 0;

    while (n < cap && s[n])
        n++;
    return n;
}

edge_status fw_spec_check(const edge_fw_rule_spec *spec, edge_fw_result *res)
{
    size_t n;

    if (!spec)
        return fw_result_set(res, EDGE_E_BAD_REQUEST, 0, "no rule spec");
    if (!spec->image_path || spec->image_path[0] == L'\0')
        return fw_result_set(res, EDGE_E_BAD_REQUEST, 0, "rule spec has no image path");
    n = fw_wcsnlen(spec->image_path, EDGE_FW_MAX_PATH_CHARS);
    if (n >= EDGE_FW_MAX_PATH_CHARS)
        return fw_result_set(res, EDGE_E_BAD_REQUEST, 0, "image path too long");
    /* '|' is the firewall's own field separator: it is refused in names and descriptions. */
    if (wcschr(spec->image_path, L'|'))
        return fw_result_set(res, EDGE_E_BAD_REQUEST, 0, "image path contains '|'");
    if (!spec->owner_sid || spec->owner_sid[0] == L'\0')
        return fw_result_set(res, EDGE_E_BAD_REQUEST, 0, "rule spec has no owner SID");
    n = fw_wcsnlen(spec->owner_sid, EDGE_FW_MAX_SID_CHARS);
    if (n >= EDGE_FW_MAX_SID_CHARS || wcsncmp(spec->owner_sid, L"S-", 2) != 0 ||
        wcschr(spec->owner_sid, L'|'))
        return fw_result_set(res, EDGE_E_BAD_REQUEST, 0, "owner SID is not an S-... string");
    if (spec->protocol != EDGE_FW_PROTO_TCP && spec->protocol != EDGE_FW_PROTO_UDP)
        return fw_result_set(res, EDGE_E_BAD_REQUEST, 0, "protocol %lu is neither TCP nor UDP",
                             (unsigned long)spec->protocol);
    if (spec->port_lo == 0 || spec->port_hi < spec->port_lo)
        return fw_result_set(res, EDGE_E_BAD_REQUEST, 0, "invalid port range %u-%u",
                             (unsigned)spec->port_lo, (unsigned)spec->port_hi);
    if (spec->profiles != EDGE_FW_PROFILE_ALL &&
        (spec->profiles == 0 || (spec->profiles & ~(uint32_t)0x7) != 0))
        return fw_result_set(res, EDGE_E_BAD_REQUEST, 0, "invalid profiles 0x%lx",
                             (unsigned long)spec->profiles);
    /* DEFER_TO_USER needs a rule without ports and DENY is no grant at all: neither is ours. */
    if (spec->edge_mode != EDGE_FW_EDGE_ALLOW && spec->edge_mode != EDGE_FW_EDGE_DEFER_TO_APP)
        return fw_result_set(res, EDGE_E_BAD_REQUEST, 0, "unsupported edge mode %lu",
                             (unsigned long)spec->edge_mode);
    return EDGE_OK;
}

/* Append the decimal form of v at *p. */
static void fw_put_decimal(wchar_t **p, unsigned v)
{
    wchar_t digits[8];
    int n = 0;

    do {
        digits[n++] = (wchar_t)(L'0' + v % 10);
        v /= 10;
    } while (v && n < 8);
    while (n > 0)
        *(*p)++ = digits[--n];
}

/* "p" for one port, "lo-hi" for a range. */
static void fw_format_ports(uint16_t lo, uint16_t hi, wchar_t out[16])
{
    wchar_t *p = out;

    fw_put_decimal(&p, lo);
    if (hi != lo) {
        *p++ = L'-';
        fw_put_decimal(&p, hi);
    }
    *p = L'\0';
}

typedef HRESULT(STDMETHODCALLTYPE *fw_put_bstr_fn)(INetFwRule *, BSTR);

static edge_status fw_put_string(INetFwRule *rule, fw_put_bstr_fn put, const wchar_t *value,
                                 const char *property, edge_fw_result *res)
{
    BSTR b = SysAllocString(value);
    HRESULT hr;

    if (!b)
        return fw_result_set(res, EDGE_E_NO_MEMORY, E_OUTOFMEMORY, "no memory for %s", property);
    hr = put(rule, b);
    SysFreeString(b);
    if (FAILED(hr))
        return fw_fail_put(res, hr, property);
    return EDGE_OK;
}

/* Edge traversal: INetFwRule2 where present, else the boolean of INetFwRule. */
static edge_status fw_put_edge(INetFwRule *rule, uint32_t mode, edge_fw_result *res)
{
    INetFwRule2 *rule2 = NULL;
    HRESULT hr;

    hr = INetFwRule_QueryInterface(rule, &IID_INetFwRule2, (void **)&rule2);
    if (SUCCEEDED(hr) && rule2) {
        hr = INetFwRule2_put_EdgeTraversalOptions(rule2, (LONG)mode);
        INetFwRule2_Release(rule2);
        if (FAILED(hr))
            return fw_fail_put(res, hr, "EdgeTraversalOptions");
        return EDGE_OK;
    }
    /*
     * Without INetFwRule2 there is no DEFER_TO_APP; EdgeTraversal TRUE is what Microsoft's sample
     * falls back to.  It is broader than DEFER_TO_APP, so the caller is told (flag).
     */
    hr = INetFwRule_put_EdgeTraversal(rule, VARIANT_TRUE);
    if (FAILED(hr))
        return fw_fail_put(res, hr, "EdgeTraversal");
    if (res)
        res->flags |= EDGE_FW_RESULT_EDGE_FALLBACK;
    return EDGE_OK;
}

/* LocalUserOwner through INetFwRule3 where present; absent is not an error (flag). */
static edge_status fw_put_owner(INetFwRule *rule, const wchar_t *sid, edge_fw_result *res)
{
    INetFwRule3 *rule3 = NULL;
    HRESULT hr;
    BSTR b;

    hr = INetFwRule_QueryInterface(rule, &IID_INetFwRule3, (void **)&rule3);
    if (FAILED(hr) || !rule3) {
        if (res)
            res->flags |= EDGE_FW_RESULT_NO_OWNER;
        return EDGE_OK;
    }
    b = SysAllocString(sid);
    if (!b) {
        INetFwRule3_Release(rule3);
        return fw_result_set(res, EDGE_E_NO_MEMORY, E_OUTOFMEMORY, "no memory for owner");
    }
    hr = INetFwRule3_put_LocalUserOwner(rule3, b);
    SysFreeString(b);
    INetFwRule3_Release(rule3);
    if (FAILED(hr))
        return fw_fail_put(res, hr, "LocalUserOwner");
    return EDGE_OK;
}

edge_status fw_rule_build(const edge_fw_rule_spec *spec, INetFwRule **out, edge_fw_result *res)
{
    INetFwRule *rule = NULL;
    wchar_t name[EDGE_FW_NAME_CHARS];
    wchar_t ports[16];
    wchar_t *desc = NULL;
    size_t desc_len;
    edge_status st;
    HRESULT hr;

    *out = NULL;
    st = fw_spec_check(spec, res);
    if (st != EDGE_OK)
        return st;
    edge_fw_rule_name(spec->lease_id, name);
    fw_format_ports(spec->port_lo, spec->port_hi, ports);
    /* The SID is capped by fw_spec_check, so this cannot overflow. */
    desc_len = wcslen(name) + wcslen(FW_DESC_OWNER) + wcslen(spec->owner_sid) + 1;
    desc = malloc(desc_len * sizeof(wchar_t));
    if (!desc)
        return fw_result_set(res, EDGE_E_NO_MEMORY, E_OUTOFMEMORY, "no memory for description");
    wcscpy(desc, name);
    wcscat(desc, FW_DESC_OWNER);
    wcscat(desc, spec->owner_sid);

    hr = CoCreateInstance(&CLSID_NetFwRule, NULL, CLSCTX_INPROC_SERVER, &IID_INetFwRule,
                          (void **)&rule);
    if (FAILED(hr) || !rule) {
        st = fw_fail_create(res, FAILED(hr) ? hr : E_POINTER, "CoCreateInstance(NetFwRule)",
                            HKEY_LOCAL_MACHINE,
                            L"Software\\Classes\\CLSID\\{2C5BC43E-3369-4C33-AB0C-BE9469677AF4}"
                            L"\\InprocServer32");
        rule = NULL;
        goto out;
    }
    /* Every put_* is validated on the spot, so the order below matters. */
    st = fw_put_string(rule, rule->lpVtbl->put_Name, name, "Name", res);
    if (st == EDGE_OK)
        st = fw_put_string(rule, rule->lpVtbl->put_Description, desc, "Description", res);
    if (st == EDGE_OK)
        st = fw_put_string(rule, rule->lpVtbl->put_Grouping, EDGE_FW_GROUP, "Grouping", res);
    if (st == EDGE_OK)
        st = fw_put_string(rule, rule->lpVtbl->put_ApplicationName, spec->image_path,
                           "ApplicationName", res);
    if (st != EDGE_OK)
        goto out;
    /* Protocol before ports: LocalPorts is rejected while the protocol is still "any" (256). */
    hr = INetFwRule_put_Protocol(rule, (LONG)spec->protocol);
    if (FAILED(hr)) {
        st = fw_fail_put(res, hr, "Protocol");
        goto out;
    }
    st = fw_put_string(rule, rule->lpVtbl->put_LocalPorts, ports, "LocalPorts", res);
    if (st != EDGE_OK)
        goto out;
    hr = INetFwRule_put_Direction(rule, NET_FW_RULE_DIR_IN);
    if (FAILED(hr)) {
        st = fw_fail_put(res, hr, "Direction");
        goto out;
    }
    hr = INetFwRule_put_Action(rule, NET_FW_ACTION_ALLOW);
    if (FAILED(hr)) {
        st = fw_fail_put(res, hr, "Action");
        goto out;
    }
    hr = INetFwRule_put_Profiles(rule, (LONG)spec->profiles);
    if (FAILED(hr)) {
        st = fw_fail_put(res, hr, "Profiles");
        goto out;
    }
    /*
     * Edge traversal after application, protocol and ports: the DEFER_* options are checked
     * against those (DEFER_TO_USER needs an application and no ports).
     */
    st = fw_put_edge(rule, spec->edge_mode, res);
    if (st != EDGE_OK)
        goto out;
    st = fw_put_owner(rule, spec->owner_sid, res);
    if (st != EDGE_OK)
        goto out;
    /*
     * Enabled last: put_* on a rule that is already in the collection takes effect at once, so
     * keeping "enabled" for the very end keeps the invariant "an enabled rule is a complete rule"
     * whatever the order of Add and configuration, and a failure above never leaves an enabled
     * half-built rule behind.
     */
    hr = INetFwRule_put_Enabled(rule, VARIANT_TRUE);
    if (FAILED(hr)) {
        st = fw_fail_put(res, hr, "Enabled");
        goto out;
    }
    *out = rule;
    rule = NULL;
    st = EDGE_OK;
out:
    if (rule)
        INetFwRule_Release(rule);
    free(desc);
    return st;
}

edge_status fw_rule_name_group(INetFwRule *rule, BSTR *name, BSTR *group, edge_fw_result *res)
{
    HRESULT hr;

    *name = NULL;
    *group = NULL;
    hr = INetFwRule_get_Grouping(rule, group);
    if (FAILED(hr)) {
        *group = NULL;
        return fw_fail(res, hr, "INetFwRule::get_Grouping");
    }
    hr = INetFwRule_get_Name(rule, name);
    if (FAILED(hr)) {
        SysFreeString(*group);
        *group = NULL;
        *name = NULL;
        return fw_fail(res, hr, "INetFwRule::get_Name");
    }
    return EDGE_OK;
}

/* Owned copy of a BSTR (NULL becomes ""); NULL on allocation failure or absurd length. */
static wchar_t *fw_dup_bstr(BSTR b)
{
    size_t n = b ? SysStringLen(b) : 0;
    wchar_t *copy;

    if (n >= EDGE_FW_MAX_PATH_CHARS)
        n = EDGE_FW_MAX_PATH_CHARS - 1;
    copy = malloc((n + 1) * sizeof(wchar_t));
    if (!copy)
        return NULL;
    if (n)
        memcpy(copy, b, n * sizeof(wchar_t));
    copy[n] = L'\0';
    return copy;
}

/* Owned copy of a NUL-terminated string (NULL becomes ""), truncated at the path cap. */
static wchar_t *fw_dup_wcs(const wchar_t *s)
{
    size_t n = s ? fw_wcsnlen(s, EDGE_FW_MAX_PATH_CHARS - 1) : 0;
    wchar_t *copy = malloc((n + 1) * sizeof(wchar_t));

    if (!copy)
        return NULL;
    if (n)
        memcpy(copy, s, n * sizeof(wchar_t));
    copy[n] = L'\0';
    return copy;
}

/* Parse "p" or "lo-hi" with 1 <= lo <= hi <= 65535 and nothing else. */
static bool fw_parse_ports(const wchar_t *s, uint16_t *lo, uint16_t *hi)
{
    unsigned long v[2] = {0, 0};
    int part = 0;
    int digits = 0;

    if (!s)
        return false;
    for (; *s; s++) {
        if (*s >= L'0' && *s <= L'9') {
            v[part] = v[part] * 10 + (unsigned long)(*s - L'0');
            if (++digits > 5 || v[part] > 65535)
                return false;
        } else if (*s == L'-' && part == 0 && digits > 0) {
            part = 1;
            digits = 0;
        } else {
            return false;
        }
    }
    if (digits == 0)
        return false;
    if (part == 0)
        v[1] = v[0];
    if (v[0] == 0 || v[1] < v[0])
        return false;
    *lo = (uint16_t)v[0];
    *hi = (uint16_t)v[1];
    return true;
}

static edge_status fw_read_edge(INetFwRule *rule, edge_fw_listed_rule *out, edge_fw_result *res)
{
    INetFwRule2 *rule2 = NULL;
    VARIANT_BOOL on = VARIANT_FALSE;
    LONG options = 0;
    HRESULT hr;

    hr = INetFwRule_QueryInterface(rule, &IID_INetFwRule2, (void **)&rule2);
    if (SUCCEEDED(hr) && rule2) {
        hr = INetFwRule2_get_EdgeTraversalOptions(rule2, &options);
        INetFwRule2_Release(rule2);
        if (FAILED(hr))
            return fw_fail(res, hr, "INetFwRule2::get_EdgeTraversalOptions");
        out->spec.edge_mode = (uint32_t)options;
        return EDGE_OK;
    }
    hr = INetFwRule_get_EdgeTraversal(rule, &on);
    if (FAILED(hr))
        return fw_fail(res, hr, "INetFwRule::get_EdgeTraversal");
    out->edge_from_legacy = true;
    out->spec.edge_mode = on ? EDGE_FW_EDGE_ALLOW : EDGE_FW_EDGE_DENY;
    return EDGE_OK;
}

static edge_status fw_read_owner(INetFwRule *rule, edge_fw_listed_rule *out, edge_fw_result *res)
{
    INetFwRule3 *rule3 = NULL;
    BSTR owner = NULL;
    HRESULT hr;

    hr = INetFwRule_QueryInterface(rule, &IID_INetFwRule3, (void **)&rule3);
    if (FAILED(hr) || !rule3) {
        out->spec.owner_sid = fw_dup_bstr(NULL);
        goto done;
    }
    hr = INetFwRule3_get_LocalUserOwner(rule3, &owner);
    INetFwRule3_Release(rule3);
    if (FAILED(hr))
        return fw_fail(res, hr, "INetFwRule3::get_LocalUserOwner");
    out->owner_known = true;
    out->spec.owner_sid = fw_dup_bstr(owner);
    SysFreeString(owner);
done:
    if (!out->spec.owner_sid)
        return fw_result_set(res, EDGE_E_NO_MEMORY, E_OUTOFMEMORY, "no memory for owner");
    return EDGE_OK;
}

edge_status fw_rule_read(INetFwRule *rule, const wchar_t *known_name, edge_fw_listed_rule *out,
                         edge_fw_result *res)
{
    BSTR name = NULL;
    BSTR app = NULL;
    BSTR ports = NULL;
    LONG protocol = 0;
    LONG profiles = 0;
    NET_FW_RULE_DIRECTION dir = NET_FW_RULE_DIR_IN;
    NET_FW_ACTION action = NET_FW_ACTION_BLOCK;
    VARIANT_BOOL enabled = VARIANT_FALSE;
    edge_status st;
    HRESULT hr;

    memset(out, 0, sizeof(*out));
    if (!known_name) {
        hr = INetFwRule_get_Name(rule, &name);
        if (FAILED(hr))
            return fw_fail(res, hr, "INetFwRule::get_Name");
        known_name = name;
    }
    out->name = fw_dup_wcs(known_name);
    if (!out->name) {
        st = fw_result_set(res, EDGE_E_NO_MEMORY, E_OUTOFMEMORY, "no memory for rule name");
        goto out;
    }
    out->has_lease_id = edge_fw_parse_rule_name(out->name, out->spec.lease_id);
    hr = INetFwRule_get_ApplicationName(rule, &app);
    if (FAILED(hr)) {
        st = fw_fail(res, hr, "INetFwRule::get_ApplicationName");
        goto out;
    }
    out->spec.image_path = fw_dup_bstr(app);
    if (!out->spec.image_path) {
        st = fw_result_set(res, EDGE_E_NO_MEMORY, E_OUTOFMEMORY, "no memory for image path");
        goto out;
    }
    hr = INetFwRule_get_Protocol(rule, &protocol);
    if (FAILED(hr)) {
        st = fw_fail(res, hr, "INetFwRule::get_Protocol");
        goto out;
    }
    out->spec.protocol = (uint32_t)protocol;
    hr = INetFwRule_get_LocalPorts(rule, &ports);
    if (FAILED(hr)) {
        st = fw_fail(res, hr, "INetFwRule::get_LocalPorts");
        goto out;
    }
    out->ports_parsed = fw_parse_ports(ports, &out->spec.port_lo, &out->spec.port_hi);
    hr = INetFwRule_get_Direction(rule, &dir);
    if (FAILED(hr)) {
        st = fw_fail(res, hr, "INetFwRule::get_Direction");
        goto out;
    }
    out->direction = (uint32_t)dir;
    hr = INetFwRule_get_Action(rule, &action);
    if (FAILED(hr)) {
        st = fw_fail(res, hr, "INetFwRule::get_Action");
        goto out;
    }
    out->action = (uint32_t)action;
    hr = INetFwRule_get_Enabled(rule, &enabled);
    if (FAILED(hr)) {
        st = fw_fail(res, hr, "INetFwRule::get_Enabled");
        goto out;
    }
    out->enabled = enabled != VARIANT_FALSE;
    hr = INetFwRule_get_Profiles(rule, &profiles);
    if (FAILED(hr)) {
        st = fw_fail(res, hr, "INetFwRule::get_Profiles");
        goto out;
    }
    out->spec.profiles = (uint32_t)profiles;
    st = fw_read_edge(rule, out, res);
    if (st == EDGE_OK)
        st = fw_read_owner(rule, out, res);
out:
    SysFreeString(ports);
    SysFreeString(app);
    SysFreeString(name);
    if (st != EDGE_OK)
        fw_listed_rule_clear(out);
    return st;
}

void fw_listed_rule_clear(edge_fw_listed_rule *rule)
{
    free(rule->spec.owner_sid);
    free(rule->spec.image_path);
    free(rule->name);
    memset(rule, 0, sizeof(*rule));
}

static bool fw_same_ci(const wchar_t *a, const wchar_t *b)
{
    return CompareStringOrdinal(a ? a : L"", -1, b ? b : L"", -1, TRUE) == CSTR_EQUAL;
}

/* The firewall may report "all profiles" either way. */
static uint32_t fw_norm_profiles(uint32_t p)
{
    return p == EDGE_FW_PROFILE_ALL ? 0x7u : p;
}

uint32_t fw_rule_compare(const edge_fw_listed_rule *actual, const edge_fw_rule_spec *expected)
{
    uint32_t diff = 0;

    if (!fw_same_ci(actual->spec.image_path, expected->image_path))
        diff |= EDGE_FW_FIELD_APP;
    if (actual->spec.protocol != expected->protocol)
        diff |= EDGE_FW_FIELD_PROTOCOL;
    if (!actual->ports_parsed || actual->spec.port_lo != expected->port_lo ||
        actual->spec.port_hi != expected->port_hi)
        diff |= EDGE_FW_FIELD_PORTS;
    if (actual->direction != NET_FW_RULE_DIR_IN)
        diff |= EDGE_FW_FIELD_DIRECTION;
    if (actual->action != NET_FW_ACTION_ALLOW)
        diff |= EDGE_FW_FIELD_ACTION;
    if (!actual->enabled)
        diff |= EDGE_FW_FIELD_ENABLED;
    if (fw_norm_profiles(actual->spec.profiles) != fw_norm_profiles(expected->profiles))
        diff |= EDGE_FW_FIELD_PROFILES;
    if (actual->edge_from_legacy) {
        /* Only the boolean exists: TRUE is what add wrote for either mode. */
        if (actual->spec.edge_mode != EDGE_FW_EDGE_ALLOW)
            diff |= EDGE_FW_FIELD_EDGE;
    } else if (actual->spec.edge_mode != expected->edge_mode) {
        diff |= EDGE_FW_FIELD_EDGE;
    }
    if (actual->owner_known && expected->owner_sid && expected->owner_sid[0] &&
        !fw_same_ci(actual->spec.owner_sid, expected->owner_sid))
        diff |= EDGE_FW_FIELD_OWNER;
    return diff;
}

void fw_fields_describe(uint32_t fields, char *buf, size_t size)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } names[] = {
        {EDGE_FW_FIELD_APP, "application"},   {EDGE_FW_FIELD_PROTOCOL, "protocol"},
        {EDGE_FW_FIELD_PORTS, "local ports"}, {EDGE_FW_FIELD_DIRECTION, "direction"},
        {EDGE_FW_FIELD_ACTION, "action"},     {EDGE_FW_FIELD_ENABLED, "enabled"},
        {EDGE_FW_FIELD_PROFILES, "profiles"}, {EDGE_FW_FIELD_EDGE, "edge traversal"},
        {EDGE_FW_FIELD_OWNER, "owner"},
    };
    size_t used = 0;
    size_t i;

    if (size == 0)
        return;
    buf[0] = '\0';
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        size_t len;
        if (!(fields & names[i].bit))
            continue;
        len = strlen(names[i].name);
        if (size - used < len + 3)
            break;
        if (used) {
            memcpy(buf + used, ", ", 2);
            used += 2;
        }
        memcpy(buf + used, names[i].name, len);
        used += len;
        buf[used] = '\0';
    }
}
