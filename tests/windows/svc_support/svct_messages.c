#include <string.h>

#include "svct_messages.h"

edge_msg svct_lease_request(uint16_t lo, uint16_t hi)
{
    edge_msg m;

    memset(&m, 0, sizeof(m));
    m.type = EDGE_MSG_REQUEST;
    m.u.lease_req.protocol = EDGE_IPPROTO_TCP;
    m.u.lease_req.port_lo = lo;
    m.u.lease_req.has_port_hi = true;
    m.u.lease_req.port_hi = hi;
    m.u.lease_req.has_seconds = true;
    m.u.lease_req.seconds = 600;
    return m;
}

edge_msg svct_id_message(uint16_t type, const uint8_t id[EDGE_ID_SIZE])
{
    edge_msg m;

    memset(&m, 0, sizeof(m));
    m.type = type;
    if (type == EDGE_MSG_RENEW)
        memcpy(m.u.renew_req.lease_id, id, EDGE_ID_SIZE);
    else
        memcpy(m.u.id_req.id, id, EDGE_ID_SIZE);
    return m;
}

edge_msg svct_bare(uint16_t type)
{
    edge_msg m;

    memset(&m, 0, sizeof(m));
    m.type = type;
    return m;
}
