/*
 * The authorization verbs (docs/protocol.md §9.5, §9.13-§9.17): request, pending, approve, deny,
 * policy, explain.  The decisions are authz.c's; this file turns them into replies.
 *
 * Who may call: request, policy and explain anyone (target_app: the engine refuses it to anyone
 * but an elevated administrator); pending, approve and deny elevated administrators (the verb
 * table's VERB_ADMIN, caller_may_administer).  POLICY is open to every caller: the effective
 * policy is what decides their requests, and nothing in it is secret (public keys, path patterns,
 * hashes, numbers); docs/policy.md says so.
 */
#include "verbs_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static edge_status reply_outcome(struct verb_reply *rep, const struct authz_outcome *o)
{
    if (o->status == EDGE_OK && o->lease) {
        struct leases_view *v = o->lease;
        /* Ineffectiveness (the view's detail) comes first; else say why it was granted. */
        if (!v->detail[0])
            (void)snprintf(v->detail, sizeof(v->detail), "%s", o->detail);
        return verbs_reply_lease(rep, v);
    }
    if (o->status == EDGE_PENDING_CONSENT) {
        rep->msg.u.lease_rep.has_pending_id = true;
        memcpy(rep->msg.u.lease_rep.pending_id, o->pending_id, EDGE_ID_SIZE);
    }
    return verbs_reply_text(rep, o->status == EDGE_OK ? EDGE_E_INTERNAL : o->status, o->detail,
                            o->has_win32_error, o->win32_error, o->retry_after);
}

static edge_status verb_request(struct connection *c, const edge_msg *req, struct verb_reply *rep)
{
    struct authz_outcome o;

    (void)authz_request(verbs_ctx_of(c)->authz, &c->caller, &req->u.lease_req, &o);
    return reply_outcome(rep, &o);
}

static edge_status verb_approve(struct connection *c, const edge_msg *req, struct verb_reply *rep)
{
    struct authz_outcome o;

    (void)authz_approve(verbs_ctx_of(c)->authz, &c->caller, req->u.id_req.id, &o);
    return reply_outcome(rep, &o);
}

static edge_status verb_deny(struct connection *c, const edge_msg *req, struct verb_reply *rep)
{
    const edge_id_req *r = &req->u.id_req;
    struct authz_outcome o;

    (void)authz_deny(verbs_ctx_of(c)->authz, &c->caller, r->id, r->reason.ptr, r->reason.len, &o);
    return o.status == EDGE_OK ? EDGE_OK : reply_outcome(rep, &o);
}

/* ---- explain ---- */

static edge_status verb_explain(struct connection *c, const edge_msg *req, struct verb_reply *rep)
{
    struct explain_block {
        edge_policy_decision d;
        edge_str lines[EDGE_MAX_TRACE_LINES];
    } * b;
    edge_policy_decision *d = NULL;
    struct authz_outcome o;
    uint32_t i;

    if (authz_explain(verbs_ctx_of(c)->authz, &c->caller, &req->u.lease_req, &d, &o) != EDGE_OK)
        return reply_outcome(rep, &o);
    b = malloc(sizeof(*b));
    if (!b) {
        free(d);
        return EDGE_E_NO_MEMORY;
    }
    b->d = *d;
    free(d);
    for (i = 0; i < b->d.trace_count && i < EDGE_MAX_TRACE_LINES; i++)
        b->lines[i] = edge_str_from_cstr(edge_policy_trace_line(&b->d, i));
    rep->owned = b;
    rep->msg.u.explain_rep.decision = (uint32_t)b->d.status;
    rep->msg.u.explain_rep.trace.items = b->lines;
    rep->msg.u.explain_rep.trace.count = i;
    return EDGE_OK;
}

/* ---- policy ---- */

/* Cuts s (NUL-terminated) to at most max bytes without splitting a UTF-8 sequence. */
static void cut_utf8(char *s, size_t max)
{
    size_t n = strlen(s);

    if (n <= max)
        return;
    while (max > 0 && ((unsigned char)s[max] & 0xC0u) == 0x80u)
        max--;
    s[max] = '\0';
}

static edge_status verb_policy(struct connection *c, const edge_msg *req, struct verb_reply *rep)
{
    struct policy_block {
        edge_policy_entry items[EDGE_POLICY_V_COUNT_];
        char values[EDGE_POLICY_V_COUNT_][EDGE_MAX_TEXT + 1];
    } * b;
    const struct policy_snapshot *snap;
    struct policy_source_entry *e = NULL;
    size_t n = 0, i;
    DWORD err;

    (void)req;
    b = calloc(1, sizeof(*b));
    if (!b)
        return EDGE_E_NO_MEMORY;
    snap = authz_policy(verbs_ctx_of(c)->authz);
    err = policy_source_describe(snap, &e, &n);
    policy_snapshot_release(snap);
    if (err != ERROR_SUCCESS || n > EDGE_POLICY_V_COUNT_) {
        free(b);
        free(e);
        return err == ERROR_NOT_ENOUGH_MEMORY ? EDGE_E_NO_MEMORY : EDGE_E_INTERNAL;
    }
    for (i = 0; i < n; i++) {
        char note[96] = "";
        if (e[i].malformed)
            (void)snprintf(note, sizeof(note), " [malformed in the %s key; the default applies]",
                           e[i].malformed_source);
        (void)snprintf(b->values[i], sizeof(b->values[i]), "%s", e[i].value);
        cut_utf8(b->values[i], EDGE_MAX_TEXT - strlen(note));
        strcat(b->values[i], note);
        b->items[i].name = edge_str_from_cstr(e[i].name);
        b->items[i].value = edge_str_from_cstr(b->values[i]);
        b->items[i].source = edge_str_from_cstr(e[i].source);
    }
    free(e);
    rep->owned = b;
    rep->msg.u.entries_rep.items.items = b->items;
    rep->msg.u.entries_rep.items.count = (uint32_t)n;
    return EDGE_OK;
}

/* ---- pending ---- */

/* One page of pending requests in ONE block (records, then their strings). */
static void *pending_page(const struct consent_pending_info *all, size_t total, size_t start,
                          size_t budget, uint32_t default_seconds, edge_pending **items,
                          uint32_t *count)
{
    size_t i, end = start, used = 0, text = 0;
    edge_pending *p;
    char *s;

    *items = NULL;
    *count = 0;
    /* An upper bound of a record's encoding: fixed fields with their TLV headers, plus text. */
    while (end < total && end - start < EDGE_MAX_LIST_ITEMS) {
        size_t rec = 160u + strlen(all[end].user_sid) + strlen(all[end].image_path);
        if (end > start && used + rec > budget)
            break;
        used += rec;
        text += strlen(all[end].user_sid) + strlen(all[end].image_path) + 2;
        end++;
    }
    p = malloc((end - start) * sizeof(*p) + text + 1);
    if (!p)
        return NULL;
    s = (char *)(p + (end - start));
    for (i = start; i < end; i++) {
        edge_pending *x = &p[i - start];
        size_t ls = strlen(all[i].user_sid) + 1, lp = strlen(all[i].image_path) + 1;
        memset(x, 0, sizeof(*x));
        memcpy(x->id, all[i].id, EDGE_ID_SIZE);
        memcpy(s, all[i].user_sid, ls);
        x->owner_sid = edge_str_from_cstr(s);
        s += ls;
        memcpy(s, all[i].image_path, lp);
        x->image_path = edge_str_from_cstr(s);
        s += lp;
        memcpy(x->image_sha256, all[i].image_sha256, EDGE_SHA256_SIZE);
        x->protocol = all[i].scope.protocol;
        x->port_lo = all[i].scope.port_lo;
        x->port_hi = all[i].scope.port_hi;
        /* "as asked"; a request that named no length shows the default it would get. */
        x->seconds = all[i].scope.has_seconds ? all[i].scope.seconds : default_seconds;
        x->flags = all[i].scope.flags;
        x->created = all[i].created;
        x->expires = all[i].expires;
    }
    *items = p;
    *count = (uint32_t)(end - start);
    return p;
}

static edge_status verb_pending(struct connection *c, const edge_msg *req, struct verb_reply *rep)
{
    const edge_list_req *r = &req->u.list_req;
    struct consent_pending_info *all = NULL;
    const struct policy_snapshot *snap;
    size_t total = 0, start = r->has_cursor ? r->cursor : 0;
    size_t budget = EDGE_FRAME_MAX - VERBS_LIST_OVERHEAD;
    uint32_t default_seconds;
    edge_status st;
    int attempt;

    st = consent_list(authz_consent(verbs_ctx_of(c)->authz), authz_now(), &all, &total);
    if (st != EDGE_OK)
        return st;
    snap = authz_policy(verbs_ctx_of(c)->authz);
    default_seconds = snap->policy.default_lease_seconds;
    policy_snapshot_release(snap);
    if (start > total)
        start = total;
    for (attempt = 0; attempt < 8; attempt++) {
        edge_pending *items = NULL;
        uint32_t count = 0;
        size_t len = 0;
        edge_proto_err perr;
        void *block = pending_page(all, total, start, budget, default_seconds, &items, &count);

        if (!block) {
            free(all);
            return EDGE_E_NO_MEMORY;
        }
        free(rep->owned);
        rep->owned = block;
        memset(&rep->msg.u.list_rep, 0, sizeof(rep->msg.u.list_rep));
        rep->msg.u.list_rep.items.items = items;
        rep->msg.u.list_rep.items.count = count;
        rep->msg.u.list_rep.has_next_cursor = start + count < total;
        rep->msg.u.list_rep.next_cursor = (uint32_t)(start + count);
        perr = edge_msg_encode(&rep->msg, NULL, 0, &len);
        if ((perr == EDGE_PROTO_E_BUFFER_TOO_SMALL && len <= EDGE_FRAME_MAX) ||
            (perr != EDGE_PROTO_E_BODY_TOO_LARGE && perr != EDGE_PROTO_E_BUFFER_TOO_SMALL)) {
            free(all);
            return EDGE_OK; /* conn_handle_frame reports any other codec refusal */
        }
        budget /= 2;
    }
    free(all);
    return EDGE_E_INTERNAL;
}

void verbs_authz_register(struct verb_table *t)
{
    conn_verbs_register(t, EDGE_MSG_REQUEST, verb_request, VERB_ANY_CALLER, VERB_IN_HELLO_DONE);
    conn_verbs_register(t, EDGE_MSG_EXPLAIN, verb_explain, VERB_ANY_CALLER, VERB_IN_HELLO_DONE);
    conn_verbs_register(t, EDGE_MSG_POLICY, verb_policy, VERB_ANY_CALLER, VERB_IN_HELLO_DONE);
    conn_verbs_register(t, EDGE_MSG_PENDING, verb_pending, VERB_ADMIN, VERB_IN_HELLO_DONE);
    conn_verbs_register(t, EDGE_MSG_APPROVE, verb_approve, VERB_ADMIN, VERB_IN_HELLO_DONE);
    conn_verbs_register(t, EDGE_MSG_DENY, verb_deny, VERB_ADMIN, VERB_IN_HELLO_DONE);
}
