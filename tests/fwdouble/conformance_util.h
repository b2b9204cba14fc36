/*
 * Helpers of the firewall conformance suite. The suite uses the Windows Firewall COM API exactly as
 * an application does, so it runs against the double (Wine) and against real Windows alike. It only
 * creates rules in group CONF_GROUP and removes them again.
 */
#ifndef CONFORMANCE_UTIL_H
#define CONFORMANCE_UTIL_H

#define COBJMACROS
#include <windows.h>
#include <ole2.h>
#include <cguid.h>
#include <netfw.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#define CONF_GROUP       L"EdgeBrokerConformance"
#define CONF_E_NOT_FOUND HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)

extern INetFwPolicy2 *conf_policy;
extern INetFwRules *conf_rules;
extern BOOL conf_on_double;

/* cmocka fixtures: COM + policy per test, group cleanup and (on the double) fault reset. */
int conf_setup(void **state);
int conf_teardown(void **state);
/* Releases every COM object and the apartment (keeping the rules), then sets up again. */
void conf_reopen(void);

void conf_check_hr_(HRESULT got, HRESULT want, const char *expr, const char *file, int line);
#define check_hr(expr, want) conf_check_hr_((expr), (want), #expr, __FILE__, __LINE__)
void conf_check_wstr_(const wchar_t *got, const wchar_t *want, const char *expr, const char *file,
                      int line);
#define check_wstr(got, want) conf_check_wstr_((got), (want), #got, __FILE__, __LINE__)

/* Skips the current test unless it runs against the double. */
#define CONF_DOUBLE_ONLY()                                                                         \
    do {                                                                                           \
        if (!conf_on_double) {                                                                     \
            print_message("skipped: needs the firewall double\n");                                 \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* BSTRs returned by getters stay alive until the test's teardown. */
BSTR conf_keep(BSTR b);
/* A unique rule name for this process: "EdgeBrokerConformance-<pid>-<tag>". */
const wchar_t *conf_name(const wchar_t *tag);

/* A new CLSID_NetFwRule with Name and Grouping = CONF_GROUP set. */
INetFwRule *conf_new_rule(const wchar_t *name);
/* Creates and adds a rule (name, TCP, local port). */
void conf_add_rule(const wchar_t *name, const wchar_t *description);
LONG conf_count(void);
/* Item(name): the rule or NULL (checking the HRESULT is S_OK or CONF_E_NOT_FOUND). */
INetFwRule *conf_item(const wchar_t *name);
/* Removes every rule of CONF_GROUP. */
void conf_remove_group(void);

/* String property helpers (BSTR conversion). */
HRESULT conf_put_name(INetFwRule *r, const wchar_t *s);
HRESULT conf_put_description(INetFwRule *r, const wchar_t *s);
HRESULT conf_put_app(INetFwRule *r, const wchar_t *s);
HRESULT conf_put_lports(INetFwRule *r, const wchar_t *s);
HRESULT conf_put_rports(INetFwRule *r, const wchar_t *s);
HRESULT conf_put_laddrs(INetFwRule *r, const wchar_t *s);
HRESULT conf_put_grouping(INetFwRule *r, const wchar_t *s);
HRESULT conf_put_iftypes(INetFwRule *r, const wchar_t *s);
HRESULT conf_put_icmp(INetFwRule *r, const wchar_t *s);
HRESULT conf_remove(const wchar_t *name);
BSTR conf_get_name(INetFwRule *r);
BSTR conf_get_description(INetFwRule *r);
BSTR conf_get_lports(INetFwRule *r);

/* Runs a program from the test's directory, returns its exit code and stdout (kept short). */
DWORD conf_run_tool(const wchar_t *exe_and_args, char *out, size_t out_size);

#endif
