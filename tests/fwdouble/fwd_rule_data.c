/* Rule records: defaults, copying, and the field table the store format and fwdump walk. */
#include "fwd_internal.h"

#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define FWD_STR(k, m)                                                                              \
    {                                                                                              \
        k, FWD_FIELD_STR, offsetof(fwdc_rule, m)                                                   \
    }
#define FWD_LONG(k, m)                                                                             \
    {                                                                                              \
        k, FWD_FIELD_LONG, offsetof(fwdc_rule, m)                                                  \
    }
#define FWD_BOOL(k, m)                                                                             \
    {                                                                                              \
        k, FWD_FIELD_BOOL, offsetof(fwdc_rule, m)                                                  \
    }

const fwd_field fwd_fields[] = {
    FWD_STR("name", name),
    FWD_STR("description", description),
    FWD_STR("application", application_name),
    FWD_STR("service", service_name),
    FWD_LONG("protocol", protocol),
    FWD_STR("local_ports", local_ports),
    FWD_STR("remote_ports", remote_ports),
    FWD_STR("local_addresses", local_addresses),
    FWD_STR("remote_addresses", remote_addresses),
    FWD_STR("icmp", icmp_types_and_codes),
    FWD_LONG("direction", direction),
    FWD_STR("interfaces", interfaces),
    FWD_STR("interface_types", interface_types),
    FWD_BOOL("enabled", enabled),
    FWD_STR("grouping", grouping),
    FWD_LONG("profiles", profiles),
    FWD_LONG("action", action),
    FWD_LONG("edge", edge_traversal_options),
    FWD_STR("package_id", local_app_package_id),
    FWD_STR("owner", local_user_owner),
    FWD_STR("local_users", local_user_authorized_list),
    FWD_STR("remote_users", remote_user_authorized_list),
    FWD_STR("remote_machines", remote_machine_authorized_list),
    FWD_LONG("secure_flags", secure_flags),
};
const size_t fwd_field_count = sizeof(fwd_fields) / sizeof(fwd_fields[0]);

wchar_t **fwd_field_str(fwdc_rule *r, const fwd_field *f)
{
    return (wchar_t **)((char *)r + f->offset);
}

long *fwd_field_long(fwdc_rule *r, const fwd_field *f)
{
    return (long *)((char *)r + f->offset);
}

int *fwd_field_bool(fwdc_rule *r, const fwd_field *f)
{
    return (int *)((char *)r + f->offset);
}

HRESULT fwd_str_dup(const wchar_t *s, wchar_t **out)
{
    size_t n;
    wchar_t *p;

    *out = NULL;
    if (s == NULL)
        return S_OK;
    n = wcslen(s);
    if (n > ((size_t)-1) / sizeof(wchar_t) - 1)
        return E_OUTOFMEMORY;
    p = malloc((n + 1) * sizeof(wchar_t));
    if (p == NULL)
        return E_OUTOFMEMORY;
    memcpy(p, s, (n + 1) * sizeof(wchar_t));
    *out = p;
    return S_OK;
}

HRESULT fwd_str_set(wchar_t **slot, const wchar_t *s)
{
    wchar_t *copy = NULL;
    HRESULT hr;

    if (s != NULL && s[0] != L'\0') {
        hr = fwd_str_dup(s, &copy);
        if (FAILED(hr))
            return hr;
    }
    free(*slot);
    *slot = copy;
    return S_OK;
}

BOOL fwd_str_ieq(const wchar_t *a, const wchar_t *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return CompareStringOrdinal(a, -1, b, -1, TRUE) == CSTR_EQUAL;
}

static HRESULT fwd_rule_set_default_strings(fwdc_rule *r)
{
    HRESULT hr = fwd_str_set(&r->local_addresses, L"*");
    if (SUCCEEDED(hr))
        hr = fwd_str_set(&r->remote_addresses, L"*");
    if (SUCCEEDED(hr))
        hr = fwd_str_set(&r->interface_types, L"All");
    return hr;
}

void fwd_rule_init(fwdc_rule *r)
{
    memset(r, 0, sizeof(*r));
    r->protocol = FWD_PROTOCOL_ANY;
    r->direction = 1;
    r->enabled = 0;
    r->profiles = FWD_PROFILES_ALL;
    r->action = 1;
    r->edge_traversal_options = 0;
    /* Out of memory here leaves the defaults NULL, which readers treat as "*" / "All". */
    (void)fwd_rule_set_default_strings(r);
}

void fwd_rule_clear(fwdc_rule *r)
{
    size_t i;

    for (i = 0; i < fwd_field_count; i++) {
        if (fwd_fields[i].kind == FWD_FIELD_STR) {
            wchar_t **s = fwd_field_str(r, &fwd_fields[i]);
            free(*s);
            *s = NULL;
        }
    }
}

HRESULT fwd_rule_copy(fwdc_rule *dst, const fwdc_rule *src)
{
    size_t i;
    HRESULT hr = S_OK;

    *dst = *src;
    for (i = 0; i < fwd_field_count; i++) {
        if (fwd_fields[i].kind == FWD_FIELD_STR)
            *fwd_field_str(dst, &fwd_fields[i]) = NULL;
    }
    for (i = 0; i < fwd_field_count && SUCCEEDED(hr); i++) {
        if (fwd_fields[i].kind == FWD_FIELD_STR) {
            const wchar_t *s = *fwd_field_str((fwdc_rule *)src, &fwd_fields[i]);
            hr = fwd_str_dup(s, fwd_field_str(dst, &fwd_fields[i]));
        }
    }
    if (FAILED(hr))
        fwd_rule_clear(dst);
    return hr;
}
