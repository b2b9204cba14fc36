/*
 * fwdouble_control.h — control API of the Windows Firewall conformance double, for tests.
 *
 * The double (fwdouble.dll) is an in-process COM server registered over CLSID_NetFwPolicy2 and
 * CLSID_NetFwRule in the test Wine prefix. It keeps its rules in a text file (the "store") and
 * reads fault-injection settings from "<store>.faults". This library manipulates both files
 * directly, without COM, so a test can arrange faults and assert on the stored rules while the
 * code under test (possibly another process, e.g. the service) talks COM to the double.
 *
 * Store path: %EDGE_FWDOUBLE_STORE% if set, else %ProgramData%\FwDouble\rules.txt. It is read
 * once per process, on first use; set the variable before the first call (and before the first
 * CoCreateInstance of the double).
 *
 * Every function is thread-safe and safe against concurrent use by other processes (they share a
 * named mutex derived from the store path). Functions returning HRESULT return S_OK or a failure
 * HRESULT (E_INVALIDARG, E_OUTOFMEMORY, HRESULT_FROM_WIN32(<Win32 error>)).
 */
#ifndef FWDOUBLE_CONTROL_H
#define FWDOUBLE_CONTROL_H

#include <windows.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * One stored rule, as the double keeps it. Strings are NULL when the property was never set
 * (the COM getter then returns a NULL BSTR). Numeric fields use the netfw.h values.
 */
typedef struct fwdc_rule {
    unsigned long long id; /* identity inside the store (not a Windows concept) */
    wchar_t *name;
    wchar_t *description;
    wchar_t *application_name;
    wchar_t *service_name;
    long protocol; /* 0..255, 256 = any (default) */
    wchar_t *local_ports;
    wchar_t *remote_ports;
    wchar_t *local_addresses;  /* default L"*" */
    wchar_t *remote_addresses; /* default L"*" */
    wchar_t *icmp_types_and_codes;
    long direction;           /* 1 in (default), 2 out */
    wchar_t *interfaces;      /* names joined with L'\n'; NULL = all */
    wchar_t *interface_types; /* default L"All" */
    int enabled;              /* 0/1, default 0 */
    wchar_t *grouping;
    long profiles;               /* default 0x7FFFFFFF */
    long action;                 /* 0 block, 1 allow (default) */
    long edge_traversal_options; /* 0 deny (default), 1 allow, 2 defer to app, 3 defer to user */
    wchar_t *local_app_package_id;
    wchar_t *local_user_owner;
    wchar_t *local_user_authorized_list;
    wchar_t *remote_user_authorized_list;
    wchar_t *remote_machine_authorized_list;
    long secure_flags;
} fwdc_rule;

/* Copies the store path in use (full path) into buf. HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER)
 * when buf_chars is too small. */
HRESULT fwdc_store_path(wchar_t *buf, size_t buf_chars);

/* Deletes every stored rule and restores the persisted firewall on/off state to "on". Faults are
 * not touched. */
HRESULT fwdc_store_reset(void);

/* Reads all stored rules, in store order (Add order). *rules_out is NULL and *count_out 0 on entry
 * and on failure. Release the array with fwdc_rules_free. */
HRESULT fwdc_store_read(fwdc_rule **rules_out, size_t *count_out);

/* Reads only the rules whose Grouping equals group (case-insensitive). */
HRESULT fwdc_store_read_group(const wchar_t *group, fwdc_rule **rules_out, size_t *count_out);

/* Appends copies of rules to the store in one write, without validation (for seeding large stores
 * quickly). The id fields are ignored; fresh ids are assigned. */
HRESULT fwdc_store_add(const fwdc_rule *rules, size_t count);

/* Frees an array returned by fwdc_store_read / fwdc_store_read_group. NULL is allowed. */
void fwdc_rules_free(fwdc_rule *rules, size_t count);

/* First rule named name (case-insensitive) in rules, or NULL. */
const fwdc_rule *fwdc_rules_find(const fwdc_rule *rules, size_t count, const wchar_t *name);

/* Number of rules named name in the store (duplicates count); -1 on failure. */
long fwdc_store_count_named(const wchar_t *name);

/*
 * Faults: "<store>.faults", one key=value per line. Keys (see docs/testing-fwdouble.md):
 *   fail_add fail_remove fail_item fail_enum fail_put fail_create   value "N:0xHRESULT"
 *   latency_ms=N  firewall_off=MASK  current_profiles=MASK  no_rule3=1  no_rule2=1  log=1
 * The "fail_*" counters are decremented in the file by the double, across processes.
 */

/* Sets key to value (replacing an existing line for key). value NULL removes the key. */
HRESULT fwdc_fault_set(const char *key, const char *value);

/* Makes the next n calls of op fail with hr. op: "add", "remove", "item", "enum", "put",
 * "create". */
HRESULT fwdc_fault_fail_next(const char *op, unsigned long n, HRESULT hr);

/* Copies the current value of key into buf (NUL-terminated). HRESULT_FROM_WIN32(ERROR_NOT_FOUND)
 * when the key is absent. */
HRESULT fwdc_fault_get(const char *key, char *buf, size_t buf_size);

/* Removes the faults file (no faults). */
HRESULT fwdc_faults_clear(void);

/* TRUE when CLSID_NetFwPolicy2's InprocServer32 (64-bit registry view) names fwdouble.dll, i.e.
 * CoCreateInstance(CLSID_NetFwPolicy2) reaches the double rather than the real firewall. */
BOOL fwdc_double_registered(void);

#ifdef __cplusplus
}
#endif

#endif
