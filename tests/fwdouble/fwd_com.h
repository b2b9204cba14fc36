/* COM objects of fwdouble.dll: policy, rules collection, rule, enumerator. */
#ifndef FWD_COM_H
#define FWD_COM_H

#ifndef COBJMACROS
#define COBJMACROS
#endif
#ifndef CONST_VTABLE
#define CONST_VTABLE /* vtables are static const */
#endif
#include <winsock2.h>
#include <windows.h>
#include <ole2.h>
#include <oleauto.h>
#include <netfw.h>

#include "fwd_internal.h"

/* mingw's icftypes.h lacks these; the Windows SDK names are avoided so MSVC builds too. */
#define FWD_EDGE_DENY          0
#define FWD_EDGE_ALLOW         1
#define FWD_EDGE_DEFER_TO_APP  2
#define FWD_EDGE_DEFER_TO_USER 3

/* ---- module (fwd_dll.c) ---- */

void fwd_module_add(void);
void fwd_module_release(void);
/* Guards object-local state (rule copies, enumerator positions). Taken before the store lock. */
extern CRITICAL_SECTION fwd_obj_lock;
/* Start of every COM method: applies latency_ms and, for op, a pending fail_<op> fault. */
HRESULT fwd_call(fwd_op op, const char *method);

/* ---- IDispatch through the registered firewall type library (fwd_dispatch.c) ---- */

HRESULT fwd_disp_count(UINT *count);
HRESULT fwd_disp_typeinfo(REFIID iid, UINT index, ITypeInfo **out);
HRESULT fwd_disp_ids(REFIID iid, LPOLESTR *names, UINT count, DISPID *ids);
HRESULT fwd_disp_invoke(REFIID iid, void *iface, DISPID id, WORD flags, DISPPARAMS *params,
                        VARIANT *result, EXCEPINFO *excep, UINT *arg_err);
/* The most derived INetFwRule interface the type library describes. */
REFIID fwd_disp_rule_iid(void);

/* ---- objects ---- */

HRESULT fwd_policy_create(REFIID riid, void **out);
HRESULT fwd_rules_create(INetFwRules **out);
/* A new rule with the documented defaults, not in the store. */
HRESULT fwd_rule_create(REFIID riid, void **out);
/* A rule object bound to stored rule data (its id): later put_* calls update the store. */
HRESULT fwd_rule_from_store(const fwdc_rule *data, INetFwRule **out);
/* For Add: checks that rule is one of ours and stores it, binding it. */
HRESULT fwd_rule_add_to_store(INetFwRule *rule);

typedef struct fwd_snapshot {
    LONG refs;
    size_t count;
    fwdc_rule *rules;
} fwd_snapshot;

void fwd_snapshot_release(fwd_snapshot *s);
HRESULT fwd_enum_create(fwd_snapshot *snap, size_t pos, IEnumVARIANT **out);

/* ---- property validation (fwd_validate.c) ---- */

typedef enum fwd_prop {
    FWD_P_NAME,
    FWD_P_DESCRIPTION,
    FWD_P_APPLICATION,
    FWD_P_SERVICE,
    FWD_P_PROTOCOL,
    FWD_P_LOCAL_PORTS,
    FWD_P_REMOTE_PORTS,
    FWD_P_LOCAL_ADDRESSES,
    FWD_P_REMOTE_ADDRESSES,
    FWD_P_ICMP,
    FWD_P_DIRECTION,
    FWD_P_INTERFACES, /* str: names joined with '\n' */
    FWD_P_INTERFACE_TYPES,
    FWD_P_ENABLED,
    FWD_P_GROUPING,
    FWD_P_PROFILES,
    FWD_P_EDGE,
    FWD_P_ACTION,
    FWD_P_EDGE_OPTIONS,
    FWD_P_PACKAGE_ID,
    FWD_P_OWNER,
    FWD_P_LOCAL_USERS,
    FWD_P_REMOTE_USERS,
    FWD_P_REMOTE_MACHINES,
    FWD_P_SECURE_FLAGS
} fwd_prop;

typedef struct fwd_value {
    const wchar_t *str;
    long num;
} fwd_value;

/* Validates one put_* against the current rule r and applies it. E_INVALIDARG when invalid (r
 * unchanged), E_OUTOFMEMORY. */
HRESULT fwd_rule_apply(fwdc_rule *r, fwd_prop prop, const fwd_value *v);
/* The string field behind prop, NULL for numeric properties. */
wchar_t **fwd_prop_str_slot(fwdc_rule *r, fwd_prop prop);
/* Whole-rule checks done by INetFwRules::Add. */
HRESULT fwd_rule_check_for_add(const fwdc_rule *r);

#endif
