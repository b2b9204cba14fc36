/*
 * Firewall backend: the effective state that decides whether a granted rule can work at all —
 * firewall on/off per profile, current profiles, Group Policy's AllowLocalPolicyMerge, Teredo.
 * fw_state_read runs on the worker thread (it uses COM); edge_fw_state_assess is pure.
 */
/* winsock2.h must precede windows.h (included by firewall_internal.h). */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <iphlpapi.h>

#include "firewall_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* STATUS_NOT_SUPPORTED: the driver-side documentation of GetTeredoPort names NTSTATUS codes. */
#define FW_STATUS_NOT_SUPPORTED 0xC00000BBul
/* Bounds for the adapter list buffer (GetAdaptersAddresses asks for more when it grows). */
#define FW_ADAPTERS_INITIAL (16u * 1024u)
#define FW_ADAPTERS_MAX     (4u * 1024u * 1024u)

static const struct {
    long bit;
    const wchar_t *key;
    const char *label;
} fw_profiles[EDGE_FW_PROFILE_COUNT] = {
    {NET_FW_PROFILE2_DOMAIN, L"DomainProfile", "domain"},
    {NET_FW_PROFILE2_PRIVATE, L"PrivateProfile", "private"},
    {NET_FW_PROFILE2_PUBLIC, L"PublicProfile", "public"},
};

static void fw_item(edge_fw_state_item *item, edge_fw_tristate state, uint32_t error,
                    const char *reason)
{
    item->state = state;
    item->error = error;
    (void)snprintf(item->reason, sizeof(item->reason), "%s", reason);
}

void fw_state_read_merge(HKEY root, const wchar_t *policy_root, const wchar_t *profile_key,
                         edge_fw_state_item *item)
{
    wchar_t path[256];
    HKEY key = NULL;
    DWORD type = 0;
    DWORD value = 0;
    DWORD size = sizeof(value);
    LSTATUS err;
    char buf[160];

    if (wcslen(policy_root) + wcslen(profile_key) + 2 > sizeof(path) / sizeof(path[0])) {
        fw_item(item, EDGE_FW_UNKNOWN, ERROR_INVALID_PARAMETER, "policy key path too long");
        return;
    }
    wcscpy(path, policy_root);
    wcscat(path, L"\\");
    wcscat(path, profile_key);
    /* SOFTWARE\Policies is shared by both registry views; ask for the 64-bit one explicitly. */
    err = RegOpenKeyExW(root, path, 0, KEY_QUERY_VALUE | KEY_WOW64_64KEY, &key);
    if (err == ERROR_FILE_NOT_FOUND) {
        fw_item(item, EDGE_FW_ON, 0,
                "no firewall Group Policy for this profile: local rules apply");
        return;
    }
    if (err != ERROR_SUCCESS) {
        (void)snprintf(buf, sizeof(buf), "cannot open the firewall policy key (error %ld)",
                       (long)err);
        fw_item(item, EDGE_FW_UNKNOWN, (uint32_t)err, buf);
        return;
    }
    err = RegQueryValueExW(key, L"AllowLocalPolicyMerge", NULL, &type, (BYTE *)&value, &size);
    RegCloseKey(key);
    if (err == ERROR_FILE_NOT_FOUND) {
        fw_item(item, EDGE_FW_ON, 0,
                "policy does not set AllowLocalPolicyMerge: local rules apply");
        return;
    }
    if (err != ERROR_SUCCESS || type != REG_DWORD || size != sizeof(value)) {
        (void)snprintf(buf, sizeof(buf),
                       "AllowLocalPolicyMerge unreadable (error %ld, type %lu): unknown", (long)err,
                       (unsigned long)type);
        fw_item(item, EDGE_FW_UNKNOWN, (uint32_t)(err ? err : ERROR_INVALID_DATA), buf);
        return;
    }
    if (value == 0)
        fw_item(item, EDGE_FW_OFF, 0,
                "Group Policy sets AllowLocalPolicyMerge=0: locally created rules, ours "
                "included, are ignored");
    else
        fw_item(item, EDGE_FW_ON, 0, "Group Policy allows local rules (AllowLocalPolicyMerge=1)");
}

static void fw_state_read_firewall(fw_com *com, edge_fw_state *out)
{
    edge_fw_result res;
    VARIANT_BOOL on;
    long types = 0;
    bool failed = false;
    char buf[160];
    HRESULT hr;
    size_t i;

    memset(&res, 0, sizeof(res));
    if (!com || fw_com_connect(com, &res) != EDGE_OK) {
        (void)snprintf(buf, sizeof(buf), "firewall not reachable: %s",
                       com ? res.message : "no connection");
        for (i = 0; i < EDGE_FW_PROFILE_COUNT; i++)
            fw_item(&out->firewall[i], EDGE_FW_UNKNOWN, res.hresult, buf);
        fw_item(&out->current, EDGE_FW_UNKNOWN, res.hresult, buf);
        return;
    }
    for (i = 0; i < EDGE_FW_PROFILE_COUNT; i++) {
        on = VARIANT_FALSE;
        hr = INetFwPolicy2_get_FirewallEnabled(com->policy,
                                               (NET_FW_PROFILE_TYPE2)fw_profiles[i].bit, &on);
        if (FAILED(hr)) {
            failed = true;
            (void)snprintf(buf, sizeof(buf), "get_FirewallEnabled(%s) failed (0x%08lX)",
                           fw_profiles[i].label, (unsigned long)hr);
            fw_item(&out->firewall[i], EDGE_FW_UNKNOWN, (uint32_t)hr, buf);
        } else if (on) {
            fw_item(&out->firewall[i], EDGE_FW_ON, 0, "firewall enabled");
        } else {
            fw_item(&out->firewall[i], EDGE_FW_OFF, 0, "firewall disabled in this profile");
        }
    }
    hr = INetFwPolicy2_get_CurrentProfileTypes(com->policy, &types);
    if (FAILED(hr)) {
        failed = true;
        (void)snprintf(buf, sizeof(buf), "get_CurrentProfileTypes failed (0x%08lX)",
                       (unsigned long)hr);
        fw_item(&out->current, EDGE_FW_UNKNOWN, (uint32_t)hr, buf);
    } else {
        out->current_profiles = (uint32_t)types & 0x7u;
        (void)snprintf(buf, sizeof(buf), "current profiles:%s%s%s%s",
                       (types & NET_FW_PROFILE2_DOMAIN) ? " domain" : "",
                       (types & NET_FW_PROFILE2_PRIVATE) ? " private" : "",
                       (types & NET_FW_PROFILE2_PUBLIC) ? " public" : "",
                       (types & 0x7) ? "" : " none");
        fw_item(&out->current, EDGE_FW_ON, 0, buf);
    }
    if (failed)
        fw_com_disconnect(com); /* a failing connection is not kept for the next job */
}

typedef ULONG(WINAPI *fw_get_teredo_port_fn)(USHORT *port);

static void fw_state_teredo_adapters(edge_fw_state *out)
{
    IP_ADAPTER_ADDRESSES *list = NULL;
    IP_ADAPTER_ADDRESSES *a;
    ULONG size = FW_ADAPTERS_INITIAL;
    ULONG err = ERROR_BUFFER_OVERFLOW;
    bool present = false;
    bool up = false;
    char buf[160];
    int tries;

    for (tries = 0; tries < 4 && err == ERROR_BUFFER_OVERFLOW; tries++) {
        if (size > FW_ADAPTERS_MAX)
            break;
        free(list);
        list = malloc(size);
        if (!list) {
            fw_item(&out->teredo, EDGE_FW_UNKNOWN, ERROR_NOT_ENOUGH_MEMORY,
                    "no memory for the adapter list");
            return;
        }
        err = GetAdaptersAddresses(AF_UNSPEC,
                                   GAA_FLAG_SKIP_UNICAST | GAA_FLAG_SKIP_ANYCAST |
                                       GAA_FLAG_SKIP_MULTICAST | GAA_FLAG_SKIP_DNS_SERVER,
                                   NULL, list, &size);
    }
    if (err == ERROR_SUCCESS) {
        for (a = list; a; a = a->Next) {
            if (a->TunnelType == TUNNEL_TYPE_TEREDO) {
                present = true;
                if (a->OperStatus == IfOperStatusUp)
                    up = true;
            }
        }
    }
    free(list);
    if (err != ERROR_SUCCESS && err != ERROR_NO_DATA) {
        (void)snprintf(buf, sizeof(buf),
                       "GetTeredoPort not exported and GetAdaptersAddresses failed (%lu)",
                       (unsigned long)err);
        fw_item(&out->teredo, EDGE_FW_UNKNOWN, err, buf);
    } else if (up) {
        fw_item(&out->teredo, EDGE_FW_ON, 0, "Teredo tunnel adapter is up (adapter list)");
    } else if (present) {
        fw_item(&out->teredo, EDGE_FW_OFF, 0, "Teredo tunnel adapter present but not up");
    } else {
        fw_item(&out->teredo, EDGE_FW_OFF, 0, "no Teredo tunnel adapter (adapter list)");
    }
}

static void fw_state_read_teredo(edge_fw_state *out)
{
    fw_get_teredo_port_fn get_port = NULL;
    HMODULE ip;
    USHORT port = 0;
    ULONG err;
    char buf[160];

    /*
     * Resolved at run time: Wine's iphlpapi does not export GetTeredoPort, and a static import
     * would stop the whole service from loading there.  iphlpapi is already loaded (we import
     * GetAdaptersAddresses), so no search path is involved.
     */
    ip = GetModuleHandleW(L"iphlpapi.dll");
    if (ip)
        get_port = (fw_get_teredo_port_fn)(void (*)(void))GetProcAddress(ip, "GetTeredoPort");
    if (!get_port) {
        fw_state_teredo_adapters(out);
        return;
    }
    err = get_port(&port);
    if (err == NO_ERROR) {
        out->teredo_port = port;
        (void)snprintf(buf, sizeof(buf), "Teredo client running on UDP port %u", (unsigned)port);
        fw_item(&out->teredo, EDGE_FW_ON, 0, buf);
    } else if (err == ERROR_NOT_READY) {
        fw_item(&out->teredo, EDGE_FW_OFF, err, "Teredo client not started");
    } else if (err == ERROR_NOT_SUPPORTED || err == FW_STATUS_NOT_SUPPORTED) {
        fw_item(&out->teredo, EDGE_FW_OFF, err, "no IPv6 stack: Teredo not supported");
    } else {
        (void)snprintf(buf, sizeof(buf), "GetTeredoPort failed (%lu)", (unsigned long)err);
        fw_item(&out->teredo, EDGE_FW_UNKNOWN, err, buf);
    }
}

void fw_state_read(fw_com *com, edge_fw_state *out)
{
    size_t i;

    memset(out, 0, sizeof(*out));
    fw_state_read_firewall(com, out);
    for (i = 0; i < EDGE_FW_PROFILE_COUNT; i++)
        fw_state_read_merge(HKEY_LOCAL_MACHINE, FW_POLICY_ROOT, fw_profiles[i].key,
                            &out->local_merge[i]);
    fw_state_read_teredo(out);
}

/* Append s to why (bounded). */
static void fw_append(char *why, size_t size, const char *s)
{
    size_t used;

    if (!why || size == 0)
        return;
    used = strlen(why);
    if (used + 1 >= size)
        return;
    (void)snprintf(why + used, size - used, "%s%s", used ? " " : "", s);
}

uint32_t edge_fw_state_assess(const edge_fw_state *state, uint32_t rule_profiles, char *why,
                              size_t why_size)
{
    uint32_t rp = rule_profiles == EDGE_FW_PROFILE_ALL ? 0x7u : (rule_profiles & 0x7u);
    uint32_t bits = 0;
    bool all_off = true;
    size_t i;

    if (why && why_size)
        why[0] = '\0';
    if (!state)
        return 0;
    if (state->current.state == EDGE_FW_ON) {
        uint32_t cur = state->current_profiles;
        for (i = 0; i < EDGE_FW_PROFILE_COUNT; i++) {
            if ((cur & (uint32_t)fw_profiles[i].bit) && state->firewall[i].state != EDGE_FW_OFF)
                all_off = false;
        }
        /* With the firewall off in every current profile, nothing is filtered: rules are moot. */
        if (!all_off && (cur & rp) == 0) {
            bits |= EDGE_FW_INEFFECTIVE_NO_PROFILE;
            fw_append(why, why_size, "The rule covers none of the current network profiles.");
        }
        for (i = 0; i < EDGE_FW_PROFILE_COUNT; i++) {
            uint32_t bit = (uint32_t)fw_profiles[i].bit;
            if ((cur & rp & bit) && state->firewall[i].state != EDGE_FW_OFF &&
                state->local_merge[i].state == EDGE_FW_OFF &&
                !(bits & EDGE_FW_INEFFECTIVE_LOCAL_MERGE)) {
                bits |= EDGE_FW_INEFFECTIVE_LOCAL_MERGE;
                fw_append(why, why_size,
                          "Group Policy ignores locally created rules (AllowLocalPolicyMerge=0) "
                          "in a current profile.");
            }
        }
    }
    if (state->teredo.state == EDGE_FW_OFF) {
        bits |= EDGE_FW_INEFFECTIVE_NO_TEREDO;
        fw_append(why, why_size, "Teredo is not running, so no edge traffic can arrive.");
    }
    return bits;
}
