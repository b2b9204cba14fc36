/*
 * Synthetic caller identities for tests that drive the lease manager or the verbs without a real
 * pipe client: a SID from its string form and an image path, nothing else.
 */
#ifndef EDGE_SVCT_CALLER_H
#define EDGE_SVCT_CALLER_H

#include <stdbool.h>
#include <stdint.h>
#include <wchar.h>

#include "caller.h"
#include "connection.h"

/*
 * Zeroes *id and fills in the SID (string form) and a copy of image (owned by id).  The hash,
 * pid and admin flags are left zero for the caller to set.  False if the SID does not parse or
 * the copy fails.
 */
bool svct_identity(struct caller_identity *id, const char *sid, const wchar_t *image);

/*
 * Initialises c as a connection that completed HELLO and was identified as (sid, image): image
 * hash bytes all image[3], elevated and admin_member = admin.  is_admin is left to the test
 * (some tests set it directly, others through caller_may_administer).  Asserts on failure.
 */
void svct_connect(struct connection *c, uint64_t id, const struct verb_table *verbs, void *ctx,
                  const char *sid, const wchar_t *image, bool admin);

#endif /* EDGE_SVCT_CALLER_H */
