/*
 * Shared between the verb files: verbs.c (lease and health verbs, start-up) and verbs_authz.c
 * (request, pending, approve, deny, policy, explain).
 */
#ifndef EDGE_SVC_VERBS_INTERNAL_H
#define EDGE_SVC_VERBS_INTERNAL_H

#include "audit.h"
#include "authz.h"
#include "connection.h"
#include "leases.h"
#include "verbs.h"

#define VERBS_DIR_CHARS 1024u
/* Room a paged reply (LIST, PENDING) needs besides its records: envelope (status, epoch, detail,
 * warnings) and the list and cursor headers. */
#define VERBS_LIST_OVERHEAD                                                                        \
    (EDGE_FRAME_HEADER_SIZE + 12u + 24u + 8u + EDGE_MAX_TEXT + 12u + 8u + 12u)

struct verbs_ctx {
    audit_log *audit;
    struct authz *authz;
    struct leases *leases;
    wchar_t dir[VERBS_DIR_CHARS];
};

struct verbs_ctx *verbs_ctx_of(struct connection *c);

/* An envelope-only answer: status ST with a copy of DETAIL (may be NULL) as the owned block. */
edge_status verbs_reply_text(struct verb_reply *rep, edge_status st, const char *detail,
                             bool has_win32_error, uint32_t win32_error, uint32_t retry_after);

/* A one-lease reply (request, renew, show, approve) from a view, which becomes the owned block. */
edge_status verbs_reply_lease(struct verb_reply *rep, struct leases_view *v);

/* verbs_authz.c: registers request, pending, approve, deny, policy and explain. */
void verbs_authz_register(struct verb_table *t);

#endif /* EDGE_SVC_VERBS_INTERNAL_H */
