/*
 * IPV6_PROTECTION_LEVEL on the application's sockets, only under a confirmed lease.
 *
 * The library learns everything from the socket itself (family and protocol from
 * SO_PROTOCOL_INFOW, the port from getsockname) rather than trusting the caller to describe it,
 * so a lease for TCP port 5000 cannot be used to open a UDP socket or another port to the edge.
 */
#include "client.h"

#include <ws2tcpip.h>

#include <string.h>
#include <time.h>

struct sock_facts {
    int family;
    int protocol;
    bool bound;
    uint16_t port;
};

/* Winsock calls need WSAStartup in this process; pair it so the library adds no global state. */
static edge_result wsa_begin(void)
{
    WSADATA wsa;
    int err = WSAStartup(MAKEWORD(2, 2), &wsa);
    if (err != 0) {
        SetLastError((DWORD)err);
        return EDGE_CLIENT_E_SOCKET;
    }
    return EDGE_OK;
}

static edge_result socket_error(void)
{
    DWORD err = (DWORD)WSAGetLastError();
    WSACleanup();
    SetLastError(err); /* WSACleanup may have changed it */
    return EDGE_CLIENT_E_SOCKET;
}

static edge_result sock_inspect(SOCKET s, struct sock_facts *f)
{
    WSAPROTOCOL_INFOW info;
    struct sockaddr_storage ss;
    int len = sizeof(info);

    memset(f, 0, sizeof(*f));
    if (getsockopt(s, SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)&info, &len) != 0)
        return EDGE_CLIENT_E_SOCKET;
    f->family = info.iAddressFamily;
    f->protocol = info.iProtocol;
    len = sizeof(ss);
    memset(&ss, 0, sizeof(ss));
    if (getsockname(s, (struct sockaddr *)&ss, &len) == 0) {
        f->bound = true;
        if (ss.ss_family == AF_INET6)
            f->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    } else if (WSAGetLastError() != WSAEINVAL) {
        return EDGE_CLIENT_E_SOCKET; /* WSAEINVAL is how Winsock says "not bound yet" */
    }
    return EDGE_OK;
}

/* The coverage rule of edge_socket_enable, on facts already gathered. */
static edge_result covers(const edge_lease_t *l, const struct sock_facts *f, bool need_port,
                          uint16_t port)
{
    uint64_t now = (uint64_t)time(NULL);
    edge_result r = EDGE_OK;

    if (f->family != AF_INET6)
        return EDGE_CLIENT_E_NOT_COVERED;
    AcquireSRWLockShared(&l->session->state_lock);
    if (l->state != EDGE_LEASE_STATE_ACTIVE || l->expires <= now || f->protocol != l->protocol ||
        (need_port && (port < l->port_lo || port > l->port_hi)))
        r = EDGE_CLIENT_E_NOT_COVERED;
    ReleaseSRWLockShared(&l->session->state_lock);
    return r;
}

static edge_result set_level(SOCKET s, int level)
{
    if (setsockopt(s, IPPROTO_IPV6, IPV6_PROTECTION_LEVEL, (const char *)&level, sizeof(level)) !=
        0)
        return EDGE_CLIENT_E_SOCKET;
    return EDGE_OK;
}

edge_result edge_socket_enable(const edge_lease_t *lease, uintptr_t sock)
{
    SOCKET s = (SOCKET)sock;
    struct sock_facts f;
    edge_result r;

    if (!lease)
        return EDGE_CLIENT_E_INVALID_ARG;
    r = wsa_begin();
    if (r != EDGE_OK)
        return r;
    if (sock_inspect(s, &f) != EDGE_OK)
        return socket_error();
    r = covers(lease, &f, f.bound, f.port);
    if (r == EDGE_OK) {
        if (set_level(s, PROTECTION_LEVEL_UNRESTRICTED) != EDGE_OK)
            return socket_error();
        if (f.bound)
            r = EDGE_CLIENT_W_ALREADY_BOUND;
    }
    WSACleanup();
    return r;
}

edge_result edge_socket_enable_and_bind(const edge_lease_t *lease, uintptr_t sock, uint16_t port)
{
    SOCKET s = (SOCKET)sock;
    struct sockaddr_in6 sa;
    struct sock_facts f;
    edge_result r;

    if (!lease)
        return EDGE_CLIENT_E_INVALID_ARG;
    if (port == 0)
        port = edge_lease_port_lo(lease);
    r = wsa_begin();
    if (r != EDGE_OK)
        return r;
    if (sock_inspect(s, &f) != EDGE_OK)
        return socket_error();
    /* Binding is the point of this call: a bound socket would get the option too late. */
    r = f.bound ? EDGE_CLIENT_E_NOT_COVERED : covers(lease, &f, true, port);
    if (r == EDGE_OK) {
        if (set_level(s, PROTECTION_LEVEL_UNRESTRICTED) != EDGE_OK)
            return socket_error();
        memset(&sa, 0, sizeof(sa));
        sa.sin6_family = AF_INET6;
        sa.sin6_addr = in6addr_any;
        sa.sin6_port = htons(port);
        if (bind(s, (const struct sockaddr *)&sa, sizeof(sa)) != 0)
            return socket_error();
    }
    WSACleanup();
    return r;
}

edge_result edge_socket_disable(uintptr_t sock)
{
    SOCKET s = (SOCKET)sock;
    struct sock_facts f;
    edge_result r;

    r = wsa_begin();
    if (r != EDGE_OK)
        return r;
    if (sock_inspect(s, &f) != EDGE_OK)
        return socket_error();
    if (f.family != AF_INET6) {
        WSACleanup();
        return EDGE_CLIENT_E_NOT_COVERED;
    }
    /* Windows 7+ report an unspecified default that cannot be set back; EDGERESTRICTED is the
     * documented level that excludes Teredo, which is what "no longer enabled" must mean. */
    if (set_level(s, PROTECTION_LEVEL_EDGERESTRICTED) != EDGE_OK)
        return socket_error();
    WSACleanup();
    return EDGE_OK;
}
