/* Names, messages and retry classes of the stable status codes (see edge/status.h). */
#include "edge/status.h"

#include <stddef.h>

struct status_info {
    const char *name;
    const char *message;
    bool transient;
};

/* Indexed by value; the table order is the wire numbering and must never be rearranged. */
static const struct status_info status_table[EDGE_STATUS_COUNT_] = {
    [EDGE_OK] = {"EDGE_OK", "success", false},
    [EDGE_PENDING_CONSENT] = {"EDGE_PENDING_CONSENT", "waiting for consent from an approver", true},
    [EDGE_E_BAD_REQUEST] = {"EDGE_E_BAD_REQUEST", "malformed or invalid request", false},
    [EDGE_E_UNSUPPORTED_VERSION] = {"EDGE_E_UNSUPPORTED_VERSION", "unsupported protocol version",
                                    false},
    [EDGE_E_DENIED] = {"EDGE_E_DENIED", "denied by policy", false},
    [EDGE_E_ACCESS_DENIED] = {"EDGE_E_ACCESS_DENIED", "requires an elevated administrator", false},
    [EDGE_E_IDENTITY_MISMATCH] = {"EDGE_E_IDENTITY_MISMATCH",
                                  "request names an executable other than the caller's", false},
    [EDGE_E_BAD_SIGNATURE] = {"EDGE_E_BAD_SIGNATURE", "signature invalid or signer not trusted",
                              false},
    [EDGE_E_EXPIRED] = {"EDGE_E_EXPIRED", "outside the validity window", false},
    [EDGE_E_NOT_FOUND] = {"EDGE_E_NOT_FOUND", "no such lease or request", false},
    [EDGE_E_QUOTA] = {"EDGE_E_QUOTA", "quota reached", true},
    [EDGE_E_BUSY] = {"EDGE_E_BUSY", "busy or rate limited; retry later", true},
    [EDGE_E_FIREWALL] = {"EDGE_E_FIREWALL", "firewall operation failed", true},
    [EDGE_E_FIREWALL_ACCESS] = {"EDGE_E_FIREWALL_ACCESS",
                                "firewall refused access (service not elevated)", false},
    [EDGE_E_FIREWALL_UNAVAILABLE] = {"EDGE_E_FIREWALL_UNAVAILABLE",
                                     "firewall COM server missing or failed to load", false},
    [EDGE_E_FIREWALL_INVALID] = {"EDGE_E_FIREWALL_INVALID",
                                 "firewall rejected a rule property value", false},
    [EDGE_E_RULE_TAMPERED] = {"EDGE_E_RULE_TAMPERED",
                              "firewall rule vanished or was changed outside the service", true},
    [EDGE_E_INTERNAL] = {"EDGE_E_INTERNAL", "internal error", true},
    [EDGE_E_NO_MEMORY] = {"EDGE_E_NO_MEMORY", "out of memory", true},
    [EDGE_E_SHUTTING_DOWN] = {"EDGE_E_SHUTTING_DOWN", "service is shutting down", true},
    [EDGE_E_TIMEOUT] = {"EDGE_E_TIMEOUT", "timed out", true},
    [EDGE_E_STORAGE] = {"EDGE_E_STORAGE", "could not persist state; nothing was changed", true},
    [EDGE_E_CONSENT_DENIED] = {"EDGE_E_CONSENT_DENIED", "an approver denied the request", false},
    [EDGE_E_CONFLICT] = {"EDGE_E_CONFLICT", "ports already leased to another application", false},
    [EDGE_E_PROTOCOL_STATE] = {"EDGE_E_PROTOCOL_STATE",
                               "verb not allowed in this connection state", false},
    [EDGE_E_INEFFECTIVE] = {"EDGE_E_INEFFECTIVE",
                            "rule in place but defeated by firewall state or policy", false},
};

static const struct status_info *status_lookup(uint32_t status)
{
    if (status >= (uint32_t)EDGE_STATUS_COUNT_)
        return NULL;
    return &status_table[status];
}

const char *edge_status_name(uint32_t status)
{
    const struct status_info *info = status_lookup(status);
    return info ? info->name : "EDGE_STATUS_UNKNOWN";
}

const char *edge_status_message(uint32_t status)
{
    const struct status_info *info = status_lookup(status);
    return info ? info->message : "unknown status";
}

bool edge_status_is_transient(uint32_t status)
{
    const struct status_info *info = status_lookup(status);
    return info ? info->transient : false;
}
