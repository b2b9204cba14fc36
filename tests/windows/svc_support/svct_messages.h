/* Request messages as a client would send them, for tests that drive the verbs directly. */
#ifndef EDGE_SVCT_MESSAGES_H
#define EDGE_SVCT_MESSAGES_H

#include <stdint.h>

#include "edge/protocol.h"

/* REQUEST for TCP ports lo..hi, 600 seconds. */
edge_msg svct_lease_request(uint16_t lo, uint16_t hi);

/* A message of TYPE carrying one id (the lease id of RENEW, the id of the others). */
edge_msg svct_id_message(uint16_t type, const uint8_t id[EDGE_ID_SIZE]);

/* A message of TYPE with no fields. */
edge_msg svct_bare(uint16_t type);

#endif /* EDGE_SVCT_MESSAGES_H */
