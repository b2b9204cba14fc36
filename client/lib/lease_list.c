/* edge_lease_list: every page of LIST (docs/protocol.md §9.8) gathered into one snapshot. */
#include "client.h"

#include <stdlib.h>
#include <string.h>

struct edgeclient_lease_list {
    edge_lease_t **items;
    size_t count, cap;
};

void edge_lease_list_free(edge_lease_list_t *list)
{
    size_t i;
    if (!list)
        return;
    for (i = 0; i < list->count; i++)
        lease_unref(list->items[i]);
    free(list->items);
    free(list);
}

static edge_result list_add(edge_lease_list_t *list, edge_session_t *s, const edge_lease *rec,
                            uint32_t warnings)
{
    edge_lease_t *l;
    edge_result r;
    if (list->count == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 16;
        edge_lease_t **items;
        if (cap > CLIENT_MAX_LIST_LEASES)
            return EDGE_CLIENT_E_PROTOCOL;
        items = realloc(list->items, cap * sizeof(*items)); /* cap <= 1e6: cannot overflow */
        if (!items)
            return EDGE_CLIENT_E_NO_MEMORY;
        list->items = items;
        list->cap = cap;
    }
    l = lease_new(s);
    if (!l)
        return EDGE_CLIENT_E_NO_MEMORY;
    l->in_list = true;
    AcquireSRWLockExclusive(&s->state_lock);
    r = lease_store(l, rec, warnings);
    ReleaseSRWLockExclusive(&s->state_lock);
    if (r != EDGE_OK) {
        lease_unref(l);
        return r;
    }
    list->items[list->count++] = l;
    return EDGE_OK;
}

edge_result edge_lease_list(edge_session_t *s, uint32_t flags, uint32_t timeout_ms,
                            edge_lease_list_t **out)
{
    edge_lease_list_t *list = NULL;
    ULONGLONG deadline;
    uint32_t t, cursor = 0, pages;
    bool has_cursor = false;
    edge_result r = EDGE_OK;

    if (out)
        *out = NULL;
    if (!s || !out || (flags & ~EDGE_LIST_F_ALL) || !session_timeout(s, timeout_ms, &t))
        return EDGE_CLIENT_E_INVALID_ARG;
    if (session_is_closed(s))
        return EDGE_CLIENT_E_CLOSED;
    deadline = transport_deadline(t);
    list = calloc(1, sizeof(*list));
    if (!list)
        return EDGE_CLIENT_E_NO_MEMORY;
    for (pages = 0; pages < CLIENT_MAX_LIST_PAGES; pages++) {
        edge_msg req, rep;
        edge_list_iter it;
        edge_lease rec;
        uint8_t *frame = NULL;

        memset(&req, 0, sizeof(req));
        req.type = EDGE_MSG_LIST;
        req.u.list_req.has_flags = flags != 0;
        req.u.list_req.flags = flags;
        req.u.list_req.has_cursor = has_cursor;
        req.u.list_req.cursor = cursor;
        r = session_call(s, &req, deadline, &rep, &frame);
        if (r == EDGE_OK)
            r = session_status_result(rep.env.status);
        if (r == EDGE_OK) {
            edge_list_iter_init(&it, &rep.u.list_rep.items);
            while (r == EDGE_OK && edge_list_next_lease(&it, &rec))
                r = list_add(list, s, &rec, 0);
            has_cursor = rep.u.list_rep.has_next_cursor;
            cursor = rep.u.list_rep.next_cursor;
            /* An empty page that still promises more would loop until the page cap. */
            if (has_cursor && rep.u.list_rep.items.count == 0)
                r = EDGE_CLIENT_E_PROTOCOL;
        }
        free(frame);
        if (r != EDGE_OK || !has_cursor)
            break;
    }
    if (r == EDGE_OK && has_cursor)
        r = EDGE_CLIENT_E_PROTOCOL;
    if (r == EDGE_OK) {
        *out = list;
        list = NULL;
    }
    edge_lease_list_free(list);
    return r;
}

size_t edge_lease_list_count(const edge_lease_list_t *list)
{
    return list ? list->count : 0;
}

edge_lease_t *edge_lease_list_at(const edge_lease_list_t *list, size_t index)
{
    if (!list || index >= list->count)
        return NULL;
    return list->items[index];
}
