/*
 * listener: an IPv6 TCP and UDP echo server that is reachable over Teredo, written the way a
 * real application should use edgeclient.  Read it top to bottom; each step prints what it does.
 *
 *   listener [PORT] [SECONDS]      defaults: port 50123, serve for 60 seconds (0: until Ctrl+C)
 *
 * 1. Open a session with the EdgeBroker service (the library checks it is the real service).
 * 2. Request a lease for TCP and one for UDP on PORT: the service creates firewall rules with
 *    edge traversal for THIS executable.  The call waits if an administrator must consent.
 * 3. Create the sockets and set the IPv6 protection level BEFORE bind (edge_socket_enable_and_bind
 *    does both, in that order): packets that arrive before the option are edge-restricted.
 * 4. Serve: echo what arrives, until the time is up or Ctrl+C.
 * 5. Release the leases (the rules go away) — also on Ctrl+C or when the console closes.
 */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgeclient.h"

#define DEFAULT_PORT    50123
#define DEFAULT_SECONDS 60
#define CONSENT_WAIT_MS 120000u /* how long we let an administrator take to approve */

static volatile LONG stop_requested;
static HANDLE cleanup_done;

/* Runs on a thread the system creates for the console event: ask main to stop, then give it a
 * few seconds to release the leases before the process is torn down (console close). */
static BOOL WINAPI on_console_event(DWORD type)
{
    (void)type;
    InterlockedExchange(&stop_requested, 1);
    WaitForSingleObject(cleanup_done, 5000);
    return TRUE;
}

static int fail(const char *step, edge_result r)
{
    fprintf(stderr, "listener: %s failed: %s (%s)\n", step, edge_strerror(r), edge_result_name(r));
    return 1;
}

/* Step 2: one lease, reported in plain words. */
static edge_result request_lease(edge_session_t *s, uint32_t protocol, uint16_t port,
                                 edge_lease_t **out)
{
    const char *name = protocol == EDGE_PROTOCOL_TCP ? "TCP" : "UDP";
    char id[EDGE_LEASE_ID_CHARS];
    edge_lease_params p;
    edge_result r;

    edge_lease_params_init(&p);
    p.protocol = protocol;
    p.port_lo = port;
    p.flags = EDGE_REQUEST_F_AUTO_RENEW; /* the library renews it while we run */
    printf("[2] Requesting a lease for %s port %u (waits up to %u s for consent)...\n", name, port,
           CONSENT_WAIT_MS / 1000);
    r = edge_lease_request(s, &p, CONSENT_WAIT_MS, out);
    if (!EDGE_SUCCEEDED(r))
        return r;
    edge_lease_id(*out, id, sizeof(id));
    printf("    granted: lease %s\n", id);
    if (r == EDGE_CLIENT_W_INEFFECTIVE)
        printf("    warning: the rule exists but cannot work right now (firewall off, local "
               "rules ignored, or no Teredo); `edgectl doctor` says why\n");
    return EDGE_OK;
}

/* Step 3: a socket with edge traversal enabled before bind. */
static SOCKET open_socket(const edge_lease_t *lease, int type, uint16_t port)
{
    const char *name = type == SOCK_STREAM ? "TCP" : "UDP";
    SOCKET s = socket(AF_INET6, type, type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP);
    edge_result r = EDGE_OK;
    if (s == INVALID_SOCKET)
        return INVALID_SOCKET;
    if (edge_lease_state(lease) == EDGE_STATE_ACTIVE) {
        r = edge_socket_enable_and_bind(lease, (uintptr_t)s, port);
        if (EDGE_SUCCEEDED(r))
            printf("[3] %s socket: IPV6_PROTECTION_LEVEL set to unrestricted, then bound to "
                   "[::]:%u\n",
                   name, port);
    } else {
        /* The library refuses to enable a socket for a lease that cannot work; serve what can
         * still arrive (local and global IPv6) and say why Teredo traffic will not. */
        struct sockaddr_in6 any;
        memset(&any, 0, sizeof(any));
        any.sin6_family = AF_INET6;
        any.sin6_port = htons(port);
        if (bind(s, (struct sockaddr *)&any, sizeof(any)) != 0)
            r = EDGE_CLIENT_E_SOCKET;
        else
            printf("[3] %s socket: the lease is not effective, so the socket stays "
                   "edge-restricted; bound to [::]:%u\n",
                   name, port);
    }
    if (!EDGE_SUCCEEDED(r) || (type == SOCK_STREAM && listen(s, SOMAXCONN) != 0)) {
        fprintf(stderr, "listener: cannot set up the %s socket: %s (Winsock error %d)\n", name,
                edge_strerror(r), WSAGetLastError());
        closesocket(s);
        return INVALID_SOCKET;
    }
    return s;
}

/* Step 4: one round of serving; returns after at most a second so Ctrl+C is noticed. */
static void serve_once(SOCKET tcp, SOCKET udp)
{
    struct timeval tv = {1, 0};
    char buf[1500];
    fd_set rd;

    FD_ZERO(&rd);
    FD_SET(tcp, &rd);
    FD_SET(udp, &rd);
    if (select(0, &rd, NULL, NULL, &tv) <= 0)
        return;
    if (FD_ISSET(tcp, &rd)) {
        SOCKET c = accept(tcp, NULL, NULL);
        if (c != INVALID_SOCKET) {
            DWORD ms = 2000; /* a silent client must not stall the server */
            int n;
            setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, (const char *)&ms, sizeof(ms));
            n = recv(c, buf, sizeof(buf), 0);
            if (n > 0)
                send(c, buf, n, 0);
            printf("    TCP: echoed %d bytes to a client\n", n > 0 ? n : 0);
            closesocket(c);
        }
    }
    if (FD_ISSET(udp, &rd)) {
        struct sockaddr_in6 from;
        int fromlen = sizeof(from);
        int n = recvfrom(udp, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fromlen);
        if (n > 0) {
            sendto(udp, buf, n, 0, (struct sockaddr *)&from, fromlen);
            printf("    UDP: echoed %d bytes\n", n);
        }
    }
}

int main(int argc, char **argv)
{
    edge_session_t *session = NULL;
    edge_lease_t *tcp_lease = NULL, *udp_lease = NULL;
    edge_session_options opts;
    SOCKET tcp = INVALID_SOCKET, udp = INVALID_SOCKET;
    WSADATA wsa;
    ULONGLONG deadline;
    long port = argc > 1 ? strtol(argv[1], NULL, 10) : DEFAULT_PORT;
    long seconds = argc > 2 ? strtol(argv[2], NULL, 10) : DEFAULT_SECONDS;
    edge_result r;
    int rc = 1;

    if (port < 1 || port > 65535 || seconds < 0) {
        fprintf(stderr, "usage: listener [PORT] [SECONDS]   (SECONDS 0: until Ctrl+C)\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IONBF, 0); /* show each step as it happens, also when redirected */
    cleanup_done = CreateEventW(NULL, TRUE, FALSE, NULL);
    SetConsoleCtrlHandler(on_console_event, TRUE);
    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0)
        return 1;

    printf("[1] Opening a session with the EdgeBroker service...\n");
    edge_session_options_init(&opts);
    opts.client_name = "listener example";
    r = edge_session_open(&opts, &session);
    if (r != EDGE_OK) {
        rc = fail("opening the session", r);
        goto out;
    }
    printf("    connected (it is the real service: the library verified the pipe's owner)\n");

    r = request_lease(session, EDGE_PROTOCOL_TCP, (uint16_t)port, &tcp_lease);
    if (r == EDGE_OK)
        r = request_lease(session, EDGE_PROTOCOL_UDP, (uint16_t)port, &udp_lease);
    if (r != EDGE_OK) {
        rc = fail("requesting a lease", r);
        goto out;
    }

    tcp = open_socket(tcp_lease, SOCK_STREAM, (uint16_t)port);
    udp = open_socket(udp_lease, SOCK_DGRAM, (uint16_t)port);
    if (tcp == INVALID_SOCKET || udp == INVALID_SOCKET)
        goto out;

    if (seconds > 0)
        printf("[4] Echoing on TCP and UDP port %ld for %ld seconds (Ctrl+C stops)...\n", port,
               seconds);
    else
        printf("[4] Echoing on TCP and UDP port %ld until Ctrl+C...\n", port);
    deadline = GetTickCount64() + (ULONGLONG)seconds * 1000u;
    while (!stop_requested && (seconds == 0 || GetTickCount64() < deadline))
        serve_once(tcp, udp);
    if (stop_requested)
        printf("    stop requested\n");
    rc = 0;

out:
    if (tcp != INVALID_SOCKET)
        closesocket(tcp);
    if (udp != INVALID_SOCKET)
        closesocket(udp);
    if (tcp_lease || udp_lease)
        printf("[5] Releasing the leases; the service removes the firewall rules\n");
    /* Release (end it on the service) and free (the handle) are separate on purpose. */
    if (tcp_lease && (r = edge_lease_release(tcp_lease, 0)) != EDGE_OK)
        rc = fail("releasing the TCP lease", r);
    if (udp_lease && (r = edge_lease_release(udp_lease, 0)) != EDGE_OK)
        rc = fail("releasing the UDP lease", r);
    edge_lease_free(tcp_lease);
    edge_lease_free(udp_lease);
    edge_session_close(session);
    WSACleanup();
    printf("Done.\n");
    SetEvent(cleanup_done);
    return rc;
}
