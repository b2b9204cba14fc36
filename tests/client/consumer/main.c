/*
 * An out-of-tree application built against the edgeclient package.  It checks what any
 * application can rely on without a service: the version, error texts, and that a session on a
 * pipe nobody serves fails with EDGE_CLIENT_E_NO_SERVICE.  Exit 0 on success.
 */
#include <stdio.h>
#include <string.h>

#include <edgeclient.h>

int main(void)
{
    edge_session_options o;
    edge_session_t *s = (edge_session_t *)&o; /* must be reset to NULL by the failing call */
    edge_result r;

    printf("edgeclient %s (0x%06x)\n", edge_client_version_string(),
           (unsigned)edge_client_version());
    if (edge_client_version() == 0 || strlen(edge_client_version_string()) < 5)
        return 1;
    edge_session_options_init(&o);
    o.pipe_name = "\\\\.\\pipe\\edgeclient-consumer-nobody-serves-this";
    o.timeout_ms = 2000;
    r = edge_session_open(&o, &s);
    printf("open: %s: %s\n", edge_result_name(r), edge_strerror(r));
    if (r != EDGE_CLIENT_E_NO_SERVICE || s != NULL)
        return 2;
    if (EDGE_SUCCEEDED(r) || !EDGE_SUCCEEDED(EDGE_CLIENT_W_ALREADY_BOUND))
        return 3;
    return 0;
}
