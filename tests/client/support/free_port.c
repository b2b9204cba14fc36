/* Ports the system says are free (see free_port.h). */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>

#include "free_port.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#define FREE_PORT_MAX_COUNT 8u
#define FREE_PORT_ATTEMPTS  64

static SOCKET bind_port(int type, uint16_t port)
{
    struct sockaddr_in6 sa;
    SOCKET s = socket(AF_INET6, type, type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP);
    if (s == INVALID_SOCKET)
        return s;
    memset(&sa, 0, sizeof(sa));
    sa.sin6_family = AF_INET6;
    sa.sin6_addr = in6addr_any;
    sa.sin6_port = htons(port);
    if (bind(s, (const struct sockaddr *)&sa, sizeof(sa)) != 0) {
        closesocket(s);
        return INVALID_SOCKET;
    }
    return s;
}

uint16_t free_port(int type, unsigned count)
{
    int attempt;

    assert_true(count >= 1 && count <= FREE_PORT_MAX_COUNT);
    assert_true(type == SOCK_STREAM || type == SOCK_DGRAM);
    for (attempt = 0; attempt < FREE_PORT_ATTEMPTS; attempt++) {
        SOCKET held[FREE_PORT_MAX_COUNT];
        struct sockaddr_in6 sa;
        int len = sizeof(sa);
        unsigned n = 0, i;
        uint16_t base = 0;

        /* Hold every port of the candidate range at once, then let all go together. */
        held[n] = bind_port(type, 0);
        assert_true(held[n] != INVALID_SOCKET);
        if (getsockname(held[n], (struct sockaddr *)&sa, &len) == 0)
            base = ntohs(sa.sin6_port);
        n++;
        if (base > 1 && (unsigned)base + count - 1 <= 65535u) {
            while (n < count) {
                held[n] = bind_port(type, (uint16_t)(base + n));
                if (held[n] == INVALID_SOCKET)
                    break;
                n++;
            }
        }
        for (i = 0; i < n; i++)
            closesocket(held[i]);
        if (base > 1 && n == count)
            return base;
    }
    fail_msg("no %u free consecutive ports", count);
    return 0;
}
