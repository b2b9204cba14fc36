/*
 * itest_lease_child: a client process that takes a lease, lets go of its connection, and exits
 * when told (the lease tests check that the lease ends with the process, not the connection).
 *
 *   itest_lease_child OUTFILE PORT FLAGS EVENT
 *
 * Requests TCP PORT with lease FLAGS, writes "<status> <lease id hex>\n" to OUTFILE, closes its
 * connection, then waits (at most 60 s) for the named event EVENT before exiting.
 */
#include "itest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    char hex[2 * EDGE_ID_SIZE + 1] = "-";
    itest_lease lease;
    edge_lease_req r;
    itc *c = NULL;
    uint32_t st = EDGE_E_INTERNAL;
    HANDLE go = NULL;
    FILE *f;
    DWORD err;

    if (argc != 5)
        return 2;
    go = OpenEventA(SYNCHRONIZE, FALSE, argv[4]);
    c = itc_new();
    if (!go || !c)
        return 3;
    r = itest_lease_req(EDGE_IPPROTO_TCP, (uint16_t)atoi(argv[2]));
    r.has_flags = true;
    r.flags = (uint32_t)strtoul(argv[3], NULL, 0);
    err = itc_connect(c, ITEST_IO_MS);
    if (err == ERROR_SUCCESS)
        err = itc_request(c, &r, &st, &lease);
    if (err == ERROR_SUCCESS && st == EDGE_OK)
        itest_hex_id(lease.id, hex);
    itc_free(c);
    f = fopen(argv[1], "w");
    if (!f)
        return 4;
    fprintf(f, "%lu %s %lu\n", (unsigned long)st, hex, (unsigned long)err);
    fclose(f);
    WaitForSingleObject(go, 60000);
    CloseHandle(go);
    return err == ERROR_SUCCESS ? 0 : 1;
}
