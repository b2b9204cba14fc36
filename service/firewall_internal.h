/*
 * Private to the firewall backend (firewall*.c, fw_guids.c): COM-level helpers that run on the
 * backend's worker thread only.  Nothing outside the backend includes this header; the rest of the
 * service uses firewall.h.
 */
#ifndef EDGE_SERVICE_FIREWALL_INTERNAL_H
#define EDGE_SERVICE_FIREWALL_INTERNAL_H

#ifndef COBJMACROS
#define COBJMACROS
#endif
#include <windows.h>
#include <ole2.h>
#include <netfw.h>

#include "firewall.h"

/* mingw-w64's icftypes.h lacks these. */
#ifndef NET_FW_IP_PROTOCOL_ANY
#define NET_FW_IP_PROTOCOL_ANY 256
#endif

/* Registry key (under HKLM) that COM reads to load the NetFwPolicy2 in-process server. */
#define FW_POLICY2_INPROC_KEY                                                                      \
    L"Software\\Classes\\CLSID\\{E2B3C97F-6AE1-41AC-817A-F6F92166D7DD}\\InprocServer32"

/* The worker's connection to the firewall; created lazily, dropped after firewall failures. */
typedef struct fw_com {
    INetFwPolicy2 *policy;
    INetFwRules *rules;
} fw_com;

/* ---- firewall_error.c: results and HRESULT mapping ---- */

/* Lets GCC check the format strings of fw_result_set callers; nothing on other compilers. */
#if defined(__MINGW_PRINTF_FORMAT)
#define FW_PRINTF_LIKE(f, a) __attribute__((format(__MINGW_PRINTF_FORMAT, f, a)))
#elif defined(__GNUC__)
#define FW_PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define FW_PRINTF_LIKE(f, a)
#endif

/* Fill res (if non-NULL): status, hresult, printf-style message.  Returns status. */
edge_status fw_result_set(edge_fw_result *res, edge_status status, HRESULT hr, const char *fmt, ...)
    FW_PRINTF_LIKE(4, 5);

/*
 * Map the failure of `what` (e.g. "INetFwRules::Add") to a status: E_ACCESSDENIED ->
 * EDGE_E_FIREWALL_ACCESS, E_INVALIDARG -> EDGE_E_FIREWALL_INVALID, E_OUTOFMEMORY ->
 * EDGE_E_NO_MEMORY, else EDGE_E_FIREWALL.  Fills res, returns the status.
 */
edge_status fw_fail(edge_fw_result *res, HRESULT hr, const char *what);

/* As fw_fail for INetFwRule::put_<property>; the message names the property. */
edge_status fw_fail_put(edge_fw_result *res, HRESULT hr, const char *property);

/*
 * Map a CoCreateInstance failure of `what`.  Class-not-registered / module-not-found class
 * HRESULTs give EDGE_E_FIREWALL_UNAVAILABLE.  E_ACCESSDENIED is ambiguous (COM also returns it
 * when the server DLL does not load), so the registration under HKLM\<inproc_key> is inspected:
 * value present, expanded, file exists, loadable as data file; then the token's elevation decides
 * between EDGE_E_FIREWALL_ACCESS and EDGE_E_FIREWALL_UNAVAILABLE.  The message says which.
 */
edge_status fw_fail_create(edge_fw_result *res, HRESULT hr, const char *what, HKEY root,
                           const wchar_t *inproc_key);

/* Convert to UTF-8 into out (always NUL-terminated; non-ASCII becomes '?' if it does not fit). */
void fw_utf8(const wchar_t *in, char *out, size_t out_size);

/* True when the process token is elevated; *known false when that cannot be determined. */
bool fw_token_elevated(bool *known);

/* ---- firewall_rule.c: one INetFwRule ---- */

/* Reject a spec the firewall must never see (checked before any COM call). */
edge_status fw_spec_check(const edge_fw_rule_spec *spec, edge_fw_result *res);

/* Create and fully configure (not yet added) the rule for spec.  *out = NULL on entry. */
edge_status fw_rule_build(const edge_fw_rule_spec *spec, INetFwRule **out, edge_fw_result *res);

/* Read a rule's name and grouping (either may come back NULL).  Caller frees with SysFreeString. */
edge_status fw_rule_name_group(INetFwRule *rule, BSTR *name, BSTR *group, edge_fw_result *res);

/*
 * Read every property of an EdgeBroker rule into out (zeroed first; strings owned).  known_name,
 * when non-NULL, is the rule's name already read by the caller (saves a round trip per rule).
 */
edge_status fw_rule_read(INetFwRule *rule, const wchar_t *known_name, edge_fw_listed_rule *out,
                         edge_fw_result *res);

/* Free the strings of a listed rule and zero it. */
void fw_listed_rule_clear(edge_fw_listed_rule *rule);

/* EDGE_FW_FIELD_* bits where actual differs from expected (see edge_fw_verify_rule). */
uint32_t fw_rule_compare(const edge_fw_listed_rule *actual, const edge_fw_rule_spec *expected);

/* Comma-separated names of the EDGE_FW_FIELD_* bits in fields, into buf. */
void fw_fields_describe(uint32_t fields, char *buf, size_t size);

/* ---- firewall_collection.c: INetFwRules operations ---- */

edge_status fw_com_connect(fw_com *com, edge_fw_result *res);
void fw_com_disconnect(fw_com *com);

edge_status fw_coll_add(fw_com *com, const edge_fw_rule_spec *spec, edge_fw_result *res);
/* *out = our rule named `name` (name AND group match), or NULL when there is none. */
edge_status fw_coll_find(fw_com *com, const wchar_t *name, INetFwRule **out, edge_fw_result *res);
edge_status fw_coll_remove_named(fw_com *com, const wchar_t *name, edge_fw_result *res);
edge_status fw_coll_remove_all(fw_com *com, size_t *removed, edge_fw_result *res);
edge_status fw_coll_list(fw_com *com, edge_fw_rule_list **out, edge_fw_result *res);
edge_status fw_coll_verify(fw_com *com, const edge_fw_rule_spec *expected, edge_fw_result *res);

/* ---- firewall_state.c ---- */

/* Fill *out.  com may be NULL or unconnected (firewall items then become UNKNOWN). */
void fw_state_read(fw_com *com, edge_fw_state *out);

/*
 * Read AllowLocalPolicyMerge for one profile from HKLM\<policy_root>\<ProfileName>.  policy_root
 * is normally FW_POLICY_ROOT; exposed so the decision table can be exercised on other keys.
 */
#define FW_POLICY_ROOT L"SOFTWARE\\Policies\\Microsoft\\WindowsFirewall"
void fw_state_read_merge(HKEY root, const wchar_t *policy_root, const wchar_t *profile_key,
                         edge_fw_state_item *item);

#endif /* EDGE_SERVICE_FIREWALL_INTERNAL_H */
