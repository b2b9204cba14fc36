/* The lease table's expiry heap; see lease_internal.h. */
#include "lease_internal.h"

#include <string.h>

static void lease_heap_set(edge_lease_table *t, size_t i, struct lease *l)
{
    t->heap[i] = l;
    l->heap_index = (uint32_t)i;
}

static void lease_heap_up(edge_lease_table *t, size_t i)
{
    struct lease *l = t->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (t->heap[parent]->expires <= l->expires)
            break;
        lease_heap_set(t, i, t->heap[parent]);
        i = parent;
    }
    lease_heap_set(t, i, l);
}

void edge_lease_heap_down(edge_lease_table *t, size_t i)
{
    struct lease *l = t->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= t->heap_n)
            break;
        if (c + 1 < t->heap_n && t->heap[c + 1]->expires < t->heap[c]->expires)
            c++;
        if (l->expires <= t->heap[c]->expires)
            break;
        lease_heap_set(t, i, t->heap[c]);
        i = c;
    }
    lease_heap_set(t, i, l);
}

bool edge_lease_heap_reserve(edge_lease_table *t, size_t want)
{
    size_t cap = t->heap_cap ? t->heap_cap : 16;
    struct lease **nh;
    while (cap < want) {
        if (cap > SIZE_MAX / 2 / sizeof(*nh))
            return false;
        cap *= 2;
    }
    if (cap == t->heap_cap)
        return true;
    nh = edge_lease_mem_alloc(t, cap * sizeof(*nh));
    if (!nh)
        return false;
    if (t->heap_n)
        memcpy(nh, t->heap, t->heap_n * sizeof(*nh));
    edge_lease_mem_free(t, t->heap, t->heap_cap * sizeof(*nh));
    t->heap = nh;
    t->heap_cap = cap;
    return true;
}

/* Room was reserved by the caller. */
void edge_lease_heap_push(edge_lease_table *t, struct lease *l)
{
    lease_heap_set(t, t->heap_n++, l);
    lease_heap_up(t, t->heap_n - 1);
}

void edge_lease_heap_remove(edge_lease_table *t, struct lease *l)
{
    size_t i = l->heap_index;
    struct lease *moved;
    if (i == LEASE_NO_HEAP)
        return;
    l->heap_index = LEASE_NO_HEAP;
    t->heap_n--;
    if (i == t->heap_n)
        return;
    moved = t->heap[t->heap_n];
    lease_heap_set(t, i, moved);
    lease_heap_up(t, i);
    edge_lease_heap_down(t, moved->heap_index);
}

struct lease_collect {
    uint64_t now;
    uint8_t (*ids)[EDGE_LEASE_ID_LEN];
    size_t cap, count;
    uint64_t next;
    bool overflow;
};

/* Visits only heap nodes with expires <= now plus their direct children: O(k). */
static void lease_collect_at(const edge_lease_table *t, size_t i, struct lease_collect *c)
{
    const struct lease *l;
    if (i >= t->heap_n || c->overflow)
        return;
    l = t->heap[i];
    if (l->expires > c->now) {
        if (l->expires < c->next)
            c->next = l->expires;
        return;
    }
    if (c->count == c->cap) {
        c->overflow = true;
        return;
    }
    memcpy(c->ids[c->count++], l->id, EDGE_LEASE_ID_LEN);
    lease_collect_at(t, 2 * i + 1, c);
    lease_collect_at(t, 2 * i + 2, c);
}

void edge_lease_heap_collect(const edge_lease_table *t, uint64_t now,
                             uint8_t (*ids)[EDGE_LEASE_ID_LEN], size_t cap, size_t *count,
                             uint64_t *next_expiry)
{
    struct lease_collect c;

    c.now = now;
    c.ids = ids;
    c.cap = cap;
    c.count = 0;
    c.next = UINT64_MAX;
    c.overflow = false;
    lease_collect_at(t, 0, &c);
    *count = c.count;
    *next_expiry = c.overflow ? now : c.next;
}
