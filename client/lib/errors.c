/* Result codes as text, the library version, and small text helpers shared by the library. */
#include "client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/utf8.h"
#include "edge/version.h"

struct client_code {
    edge_result code;
    const char *name;
    const char *text;
};

static const struct client_code client_codes[] = {
    {EDGE_CLIENT_E_INVALID_ARG, "EDGE_CLIENT_E_INVALID_ARG",
     "invalid argument (NULL, out of range, unknown flag or wrong struct size)"},
    {EDGE_CLIENT_E_NO_MEMORY, "EDGE_CLIENT_E_NO_MEMORY", "out of memory in the application"},
    {EDGE_CLIENT_E_NO_SERVICE, "EDGE_CLIENT_E_NO_SERVICE",
     "the EdgeBroker service is not installed or not running (its pipe does not exist)"},
    {EDGE_CLIENT_E_ACCESS_DENIED, "EDGE_CLIENT_E_ACCESS_DENIED",
     "the EdgeBroker pipe refused this user"},
    {EDGE_CLIENT_E_FAKE_SERVER, "EDGE_CLIENT_E_FAKE_SERVER",
     "the pipe is not served by the EdgeBroker service; nothing was sent to it"},
    {EDGE_CLIENT_E_TIMEOUT, "EDGE_CLIENT_E_TIMEOUT", "the service did not answer in time"},
    {EDGE_CLIENT_E_PROTOCOL, "EDGE_CLIENT_E_PROTOCOL",
     "the service sent an invalid reply; the connection was dropped"},
    {EDGE_CLIENT_E_CLOSED, "EDGE_CLIENT_E_CLOSED", "the session is closed"},
    {EDGE_CLIENT_E_DISCONNECTED, "EDGE_CLIENT_E_DISCONNECTED",
     "the connection to the service broke (service stopped or restarted); retry"},
    {EDGE_CLIENT_E_NOT_COVERED, "EDGE_CLIENT_E_NOT_COVERED",
     "no confirmed lease covers this socket's family, protocol and port"},
    {EDGE_CLIENT_E_SOCKET, "EDGE_CLIENT_E_SOCKET", "a socket call failed"},
    {EDGE_CLIENT_E_BUFFER_TOO_SMALL, "EDGE_CLIENT_E_BUFFER_TOO_SMALL",
     "the output buffer is too small"},
    {EDGE_CLIENT_E_LEASE_ENDED, "EDGE_CLIENT_E_LEASE_ENDED",
     "the lease has ended (released, revoked, expired or lost)"},
    {EDGE_CLIENT_E_SYSTEM, "EDGE_CLIENT_E_SYSTEM", "a Windows call failed in the library"},
    {EDGE_CLIENT_W_ALREADY_BOUND, "EDGE_CLIENT_W_ALREADY_BOUND",
     "warning: the socket was already bound; packets received before the option were "
     "edge-restricted"},
    {EDGE_CLIENT_W_INEFFECTIVE, "EDGE_CLIENT_W_INEFFECTIVE",
     "warning: the lease was granted but is ineffective (firewall off, local rules ignored by "
     "policy, or no Teredo)"},
};

static const struct client_code *client_lookup(edge_result code)
{
    size_t i;
    for (i = 0; i < sizeof(client_codes) / sizeof(client_codes[0]); i++)
        if (client_codes[i].code == code)
            return &client_codes[i];
    return NULL;
}

const char *edge_strerror(edge_result code)
{
    const struct client_code *c;
    if (code >= 0 && code < EDGE_STATUS_COUNT_)
        return edge_status_message((uint32_t)code);
    c = client_lookup(code);
    return c ? c->text : "unknown error";
}

const char *edge_result_name(edge_result code)
{
    const struct client_code *c;
    if (code >= 0 && code < EDGE_STATUS_COUNT_)
        return edge_status_name((uint32_t)code);
    c = client_lookup(code);
    return c ? c->name : "EDGE_UNKNOWN";
}

int edge_result_is_transient(edge_result code)
{
    if (code >= 0 && code < EDGE_CLIENT_E_BASE)
        return edge_status_is_transient((uint32_t)code) ? 1 : 0;
    return code == EDGE_CLIENT_E_TIMEOUT || code == EDGE_CLIENT_E_DISCONNECTED ||
           code == EDGE_CLIENT_E_NO_SERVICE;
}

uint32_t edge_client_version(void)
{
    return ((uint32_t)EDGE_VERSION_MAJOR << 16) | ((uint32_t)EDGE_VERSION_MINOR << 8) |
           (uint32_t)EDGE_VERSION_PATCH;
}

const char *edge_client_version_string(void)
{
    return EDGE_VERSION_STRING;
}

/* A decode failure of a reply is the service's fault: the caller sees a protocol error. */
edge_result client_from_proto(edge_proto_err err)
{
    if (err == EDGE_PROTO_OK)
        return EDGE_OK;
    if (err == EDGE_PROTO_E_NO_MEMORY)
        return EDGE_CLIENT_E_NO_MEMORY;
    if (err == EDGE_PROTO_E_INVALID_ARG)
        return EDGE_CLIENT_E_INVALID_ARG;
    return EDGE_CLIENT_E_PROTOCOL;
}

edge_result client_copy_str(char *dst, size_t cap, const char *src)
{
    size_t n;
    if (!dst || cap == 0)
        return EDGE_CLIENT_E_INVALID_ARG;
    n = strlen(src);
    if (n >= cap) {
        dst[0] = '\0';
        return EDGE_CLIENT_E_BUFFER_TOO_SMALL;
    }
    memcpy(dst, src, n + 1);
    return EDGE_OK;
}

void client_hex(const uint8_t *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 0xF];
    }
    out[2 * n] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool client_unhex(const char *hex, uint8_t *out, size_t n)
{
    size_t i;
    if (!hex || strlen(hex) != 2 * n)
        return false;
    for (i = 0; i < n; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

/* NULL for NULL or for text that is not strict UTF-8 (callers report EDGE_CLIENT_E_INVALID_ARG). */
wchar_t *client_utf8_to_wide(const char *s)
{
    size_t len, units = 0;
    wchar_t *w;
    if (!s)
        return NULL;
    len = strlen(s);
    if (len > 32767 ||
        edge_utf8_to_utf16((const uint8_t *)s, len, NULL, 0, &units) == EDGE_UTF8_INVALID)
        return NULL;
    w = calloc(units + 1, sizeof(*w));
    if (!w)
        return NULL;
    if (edge_utf8_to_utf16((const uint8_t *)s, len, (uint16_t *)w, units, &units) != EDGE_UTF8_OK) {
        free(w);
        return NULL;
    }
    w[units] = L'\0';
    return w;
}
