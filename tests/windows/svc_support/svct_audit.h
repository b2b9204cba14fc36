/*
 * An audit log for tests: JSON lines in a test's own directory, no Event Log source (tests must
 * not write records into the machine's Application log under the product's source name).
 */
#ifndef EDGE_SVCT_AUDIT_H
#define EDGE_SVCT_AUDIT_H

#include <windows.h>

#include "audit.h"

/* audit_open with the defaults, directory DIR and no event source.  Returns audit_open's error. */
DWORD svct_audit_open(const wchar_t *dir, audit_log **out);

#endif /* EDGE_SVCT_AUDIT_H */
