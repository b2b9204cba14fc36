/*
 * Stable status codes shared by the wire protocol, the service and the client.
 *
 * The numeric values are part of the wire protocol (docs/protocol.md, "Status codes") and never
 * change meaning once released: new codes are appended, old ones are never reused.  Each code
 * carries a class that tells a client whether retrying the same request can help (transient) or
 * not (permanent), in the spirit of PCP's short-lived and long-lived errors (RFC 6887).
 */
#ifndef EDGE_STATUS_H
#define EDGE_STATUS_H

#include <stdbool.h>
#include <stdint.h>

/* Values are fixed; the wire carries them as uint32.  client/include/edgeclient.h carries an
 * identical copy (applications get no common/ headers) under the same guard macro, so the two
 * headers can be included in either order; tests/client/test_client_errors.c checks the copy. */
#ifndef EDGE_STATUS_VALUES_DEFINED
#define EDGE_STATUS_VALUES_DEFINED
typedef enum edge_status {
    EDGE_OK = 0,                      /* success */
    EDGE_PENDING_CONSENT = 1,         /* waiting for an approver; poll or wait */
    EDGE_E_BAD_REQUEST = 2,           /* malformed frame or invalid field value */
    EDGE_E_UNSUPPORTED_VERSION = 3,   /* protocol version not spoken by this peer */
    EDGE_E_DENIED = 4,                /* central or local policy refuses the request */
    EDGE_E_ACCESS_DENIED = 5,         /* verb needs an elevated administrator */
    EDGE_E_IDENTITY_MISMATCH = 6,     /* request names an executable other than the caller's */
    EDGE_E_BAD_SIGNATURE = 7,         /* signed request fails verification or key untrusted */
    EDGE_E_EXPIRED = 8,               /* signed request outside its validity window */
    EDGE_E_NOT_FOUND = 9,             /* no such lease / pending request */
    EDGE_E_QUOTA = 10,                /* per-user or per-application quota reached */
    EDGE_E_BUSY = 11,                 /* rate limited or server at capacity; see retry-after */
    EDGE_E_FIREWALL = 12,             /* firewall call failed (HRESULT in the reply) */
    EDGE_E_FIREWALL_ACCESS = 13,      /* firewall refused: caller of INetFwPolicy2 not elevated */
    EDGE_E_FIREWALL_UNAVAILABLE = 14, /* firewall COM server missing or failed to load */
    EDGE_E_FIREWALL_INVALID = 15,     /* firewall rejected a rule property value */
    EDGE_E_RULE_TAMPERED = 16,        /* rule vanished or was edited behind the service's back */
    EDGE_E_INTERNAL = 17,             /* unexpected internal failure */
    EDGE_E_NO_MEMORY = 18,            /* allocation failed */
    EDGE_E_SHUTTING_DOWN = 19,        /* service is stopping */
    EDGE_E_TIMEOUT = 20,              /* operation did not finish in time */
    EDGE_E_STORAGE = 21,              /* persisting state failed; nothing was changed */
    EDGE_E_CONSENT_DENIED = 22,       /* an approver refused the request */
    EDGE_E_CONFLICT = 23,             /* the ports are already leased to another application */
    EDGE_E_PROTOCOL_STATE = 24,       /* verb not allowed in the connection's current state */
    EDGE_E_INEFFECTIVE = 25,          /* rule exists but policy/firewall/Teredo defeat it */
    EDGE_STATUS_COUNT_ = 26           /* not a status; one past the last value */
} edge_status;
#endif

/* Stable symbolic name, e.g. "EDGE_E_QUOTA"; "EDGE_STATUS_UNKNOWN" for values not listed. */
const char *edge_status_name(uint32_t status);

/* One-line English meaning for humans; never NULL. */
const char *edge_status_message(uint32_t status);

/*
 * True when retrying the same request later can succeed (busy, quota, transient firewall or
 * storage failure, timeout, shutting down, pending consent).  Unknown values are permanent.
 */
bool edge_status_is_transient(uint32_t status);

#endif /* EDGE_STATUS_H */
