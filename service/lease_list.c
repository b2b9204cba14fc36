/*
 * The lease manager's read side for many leases: paged listing and counters (see leases.h).
 */
#include "leases_internal.h"
#include "caller.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- list ---------------------------------------------------------------------------------- */

struct list_ctx {
    edge_lease_info *items;
    uint32_t count;
    uint32_t cap;
    uint32_t cursor;
    bool no_memory;
};

static uint32_t id_prefix(const uint8_t *id)
{
    return ((uint32_t)id[0] << 24) | ((uint32_t)id[1] << 16) | ((uint32_t)id[2] << 8) | id[3];
}

static bool list_visit(const edge_lease_info *l, void *arg)
{
    struct list_ctx *c = arg;

    /* An ENDING lease is over for its owner (doctor counts the rule removals still pending). */
    if (id_prefix(l->id) < c->cursor || l->state == EDGE_LEASE_ENDING)
        return true;
    if (c->count == c->cap) {
        uint32_t ncap = c->cap ? c->cap * 2 : 64;
        edge_lease_info *g = realloc(c->items, (size_t)ncap * sizeof(*g));
        if (!g) {
            c->no_memory = true;
            return false;
        }
        c->items = g;
        c->cap = ncap;
    }
    c->items[c->count++] = *l;
    return true;
}

static int cmp_id(const void *a, const void *b)
{
    return memcmp(((const edge_lease_info *)a)->id, ((const edge_lease_info *)b)->id,
                  EDGE_LEASE_ID_LEN);
}

edge_status leases_list(struct leases *m, const struct caller_identity *caller, bool all,
                        uint32_t cursor, uint32_t max_items, size_t budget_bytes,
                        struct leases_view **out, struct leases_result *res)
{
    char why[EDGE_MAX_TEXT + 1];
    char sid[EDGE_LEASE_SID_MAX_LEN + 1];
    struct list_ctx c;
    const edge_lease_info **page = NULL;
    uint32_t ineffective = 0, warnings, n = 0, i;
    size_t used = 0;
    edge_status st = EDGE_OK;

    memset(res, 0, sizeof(*res));
    memset(&c, 0, sizeof(c));
    *out = NULL;
    if (all && !(caller && caller->is_admin))
        return lm_result(res, EDGE_E_ACCESS_DENIED,
                         "listing every user's leases needs an elevated administrator"),
               EDGE_E_ACCESS_DENIED;
    if (!all && !lm_caller_sid(caller, sid, sizeof(sid)))
        return lm_result(res, EDGE_E_BAD_REQUEST, "the caller's SID is not usable"),
               EDGE_E_BAD_REQUEST;
    if (max_items == 0 || max_items > EDGE_MAX_LIST_ITEMS)
        max_items = EDGE_MAX_LIST_ITEMS;
    c.cursor = cursor;
    warnings = lm_current_warnings(m, &ineffective, why, sizeof(why));
    AcquireSRWLockShared(&m->lock);
    if (all)
        edge_lease_table_foreach(m->table, list_visit, &c);
    else
        edge_lease_table_foreach_owner(m->table, sid, list_visit, &c);
    if (c.no_memory) {
        st = EDGE_E_NO_MEMORY;
        goto out;
    }
    qsort(c.items, c.count, sizeof(*c.items), cmp_id);
    page = malloc((size_t)(c.count ? c.count : 1) * sizeof(*page));
    if (!page) {
        st = EDGE_E_NO_MEMORY;
        goto out;
    }
    for (n = 0; n < c.count && n < max_items; n++) {
        size_t sz = lm_record_size(&c.items[n]);
        if (used + sz > budget_bytes)
            break;
        used += sz;
        page[n] = &c.items[n];
    }
    /* Never end a page inside a group of leases sharing the cursor prefix (see leases.h). */
    if (n < c.count && n > 0) {
        uint32_t next = id_prefix(c.items[n].id);
        i = n;
        while (i > 0 && id_prefix(c.items[i - 1].id) == next)
            i--;
        if (i > 0)
            n = i;
    }
    *out = lm_view_build(page, n, ineffective);
    if (!*out) {
        st = EDGE_E_NO_MEMORY;
        goto out;
    }
    (*out)->warnings = warnings;
    (void)snprintf((*out)->detail, sizeof((*out)->detail), "%s", why);
    if (n < c.count) {
        (*out)->more = true;
        (*out)->next_cursor = id_prefix(c.items[n].id);
    }
out:
    ReleaseSRWLockShared(&m->lock);
    free(page);
    free(c.items);
    lm_result(res, st, NULL);
    res->warnings = st == EDGE_OK ? warnings : 0;
    return st;
}

/* ---- stats --------------------------------------------------------------------------------- */

static bool count_visit(const edge_lease_info *l, void *arg)
{
    struct leases_stats *s = arg;

    s->leases++;
    if (l->state == EDGE_LEASE_ACTIVE)
        s->active++;
    else if (l->state == EDGE_LEASE_RULE_PENDING)
        s->rule_pending++;
    else
        s->ending++;
    return true;
}

void leases_get_stats(struct leases *m, struct leases_stats *out)
{
    memset(out, 0, sizeof(*out));
    AcquireSRWLockShared(&m->lock);
    edge_lease_table_foreach(m->table, count_visit, out);
    out->watches = m->watch_count;
    out->started = m->started;
    out->store_dirty = m->dirty;
    out->store_error = m->store_error;
    out->reconcile_done = m->reconcile_done;
    out->reconcile_status = m->reconcile_status;
    out->reconcile_last = m->reconcile_last;
    out->reconcile_retry_ms = m->retry_ms;
    ReleaseSRWLockShared(&m->lock);
}
