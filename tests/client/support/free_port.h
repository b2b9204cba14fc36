/*
 * Ports for tests that bind.  Fixed port numbers are not safe: on Windows 49152-65535 is the
 * dynamic range any process's outgoing connection may take, and concurrent test programs (ctest
 * -j, two builds on one machine) bind too.  The system picks the port instead.
 */
#ifndef EDGE_TEST_FREE_PORT_H
#define EDGE_TEST_FREE_PORT_H

#include <stdint.h>

/*
 * A port p such that p .. p+count-1 (count 1..8) can all be bound on [::] with a socket of type
 * SOCK_STREAM or SOCK_DGRAM at the time of the call, p > 1.  Each candidate is a port the system
 * chose for a bind to port 0.  Needs WSAStartup.  Asserts when none is found.
 */
uint16_t free_port(int type, unsigned count);

#endif /* EDGE_TEST_FREE_PORT_H */
