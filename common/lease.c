/* The in-memory lease table; see edge/lease.h. */
#include "lease_internal.h"

#include "edge/path.h"

#include <stdlib.h>
#include <string.h>

typedef uint64_t (*lease_hash_fn)(const struct lease_hnode *node);

void *edge_lease_mem_alloc(edge_lease_table *t, size_t size)
{
    void *p = calloc(1, size);
    if (p)
        t->bytes += size;
    return p;
}

void edge_lease_mem_free(edge_lease_table *t, void *p, size_t size)
{
    if (!p)
        return;
    t->bytes -= size;
    free(p);
}

static uint64_t lease_load64(const uint8_t *p)
{
    uint64_t v = 0;
    int i;
    for (i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t lease_hash_id(const uint8_t id[EDGE_LEASE_ID_LEN])
{
    /* Ids come from the OS RNG, so a cheap mix spreads them well. */
    uint64_t h = lease_load64(id) ^ ((lease_load64(id + 8) << 29) | (lease_load64(id + 8) >> 35));
    h *= 0x9E3779B97F4A7C15u;
    return h ^ (h >> 32);
}

static uint64_t lease_fnv(uint64_t h, const void *data, size_t len, bool fold)
{
    const uint8_t *p = data;
    size_t i;
    for (i = 0; i < len; i++) {
        uint8_t c = p[i];
        if (fold && c >= 'A' && c <= 'Z')
            c = (uint8_t)(c - 'A' + 'a');
        h = (h ^ c) * 0x100000001B3u;
    }
    return h;
}

static uint64_t lease_hash_owner(const char *sid, size_t len)
{
    return lease_fnv(0xCBF29CE484222325u, sid, len, false);
}

static uint64_t lease_hash_image(const char *path, size_t len, const uint8_t *sha)
{
    return lease_fnv(lease_fnv(0xCBF29CE484222325u, path, len, true), sha, EDGE_LEASE_SHA256_LEN,
                     false);
}

static uint64_t lease_node_hash_lease(const struct lease_hnode *n)
{
    return lease_hash_id(((const struct lease *)(const void *)n)->id);
}

static uint64_t lease_node_hash_owner(const struct lease_hnode *n)
{
    return ((const struct lease_owner *)(const void *)n)->hash;
}

static uint64_t lease_node_hash_image(const struct lease_hnode *n)
{
    return ((const struct lease_image *)(const void *)n)->hash;
}

/* Grows h so that it can hold want entries at load <= 3/4.  On failure h is unchanged. */
static bool lease_htab_reserve(edge_lease_table *t, struct lease_htab *h, size_t want,
                               lease_hash_fn hf)
{
    size_t nb = h->nbuckets ? h->nbuckets : 16;
    struct lease_hnode **nbk;
    size_t i;

    while (want > nb / 4 * 3) {
        if (nb > SIZE_MAX / 2 / sizeof(*nbk))
            return false;
        nb *= 2;
    }
    if (nb == h->nbuckets)
        return true;
    nbk = edge_lease_mem_alloc(t, nb * sizeof(*nbk));
    if (!nbk)
        return false;
    for (i = 0; i < h->nbuckets; i++) {
        struct lease_hnode *n = h->buckets[i];
        while (n) {
            struct lease_hnode *next = n->next;
            size_t b = (size_t)hf(n) & (nb - 1);
            n->next = nbk[b];
            nbk[b] = n;
            n = next;
        }
    }
    edge_lease_mem_free(t, h->buckets, h->nbuckets * sizeof(*nbk));
    h->buckets = nbk;
    h->nbuckets = nb;
    return true;
}

/* Caller reserved room first, so nbuckets > 0. */
static void lease_htab_insert(struct lease_htab *h, struct lease_hnode *n, uint64_t hash)
{
    size_t b = (size_t)hash & (h->nbuckets - 1);
    n->next = h->buckets[b];
    h->buckets[b] = n;
    h->n++;
}

static void lease_htab_remove(struct lease_htab *h, struct lease_hnode *n, uint64_t hash)
{
    struct lease_hnode **pp = &h->buckets[(size_t)hash & (h->nbuckets - 1)];
    while (*pp && *pp != n)
        pp = &(*pp)->next;
    if (*pp) {
        *pp = n->next;
        h->n--;
    }
}

static struct lease *lease_find(const edge_lease_table *t, const uint8_t id[EDGE_LEASE_ID_LEN])
{
    struct lease_hnode *n;
    if (!t || !id || t->ids.nbuckets == 0)
        return NULL;
    n = t->ids.buckets[(size_t)lease_hash_id(id) & (t->ids.nbuckets - 1)];
    for (; n; n = n->next) {
        struct lease *l = (struct lease *)(void *)n;
        if (memcmp(l->id, id, EDGE_LEASE_ID_LEN) == 0)
            return l;
    }
    return NULL;
}

static struct lease_owner *lease_find_owner(const edge_lease_table *t, const char *sid, size_t len)
{
    uint64_t hash;
    struct lease_hnode *n;
    if (t->owners.nbuckets == 0)
        return NULL;
    hash = lease_hash_owner(sid, len);
    for (n = t->owners.buckets[(size_t)hash & (t->owners.nbuckets - 1)]; n; n = n->next) {
        struct lease_owner *o = (struct lease_owner *)(void *)n;
        if (o->hash == hash && o->sid_len == len && memcmp(o->sid, sid, len) == 0)
            return o;
    }
    return NULL;
}

static bool lease_path_ieq(const char *a, const char *b, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return false;
    }
    return true;
}

static struct lease_image *lease_find_image(const edge_lease_table *t, const char *path, size_t len,
                                            const uint8_t *sha)
{
    uint64_t hash;
    struct lease_hnode *n;
    if (t->images.nbuckets == 0)
        return NULL;
    hash = lease_hash_image(path, len, sha);
    for (n = t->images.buckets[(size_t)hash & (t->images.nbuckets - 1)]; n; n = n->next) {
        struct lease_image *im = (struct lease_image *)(void *)n;
        if (im->hash == hash && im->path_len == len &&
            memcmp(im->sha256, sha, EDGE_LEASE_SHA256_LEN) == 0 &&
            lease_path_ieq(im->path, path, len))
            return im;
    }
    return NULL;
}

/* ---- validation ---- */

/* Length of s if it is at most max bytes, else max + 1. */
static size_t lease_strnlen(const char *s, size_t max)
{
    size_t n = 0;
    while (n <= max && s[n])
        n++;
    return n;
}

/* "S-" followed by at least two '-'-separated runs of 1..20 digits (revision and authority). */
static bool lease_sid_valid(const char *sid, size_t len)
{
    size_t i = 1, groups = 0;
    if (len < 5 || sid[0] != 'S')
        return false;
    while (i < len) {
        size_t digits = 0;
        if (sid[i] != '-')
            return false;
        i++;
        while (i < len && sid[i] >= '0' && sid[i] <= '9') {
            digits++;
            i++;
        }
        if (digits == 0 || digits > 20)
            return false;
        groups++;
    }
    return groups >= 2;
}

static bool lease_state_valid(uint32_t s)
{
    return s == EDGE_LEASE_ACTIVE || s == EDGE_LEASE_RULE_PENDING || s == EDGE_LEASE_ENDING;
}

static bool lease_info_valid(const edge_lease_info *in, size_t *sid_len, size_t *path_len)
{
    if (!in->owner_sid || !in->image_path)
        return false;
    if (in->protocol != EDGE_LEASE_PROTO_TCP && in->protocol != EDGE_LEASE_PROTO_UDP)
        return false;
    if (in->port_lo == 0 || in->port_lo > in->port_hi)
        return false;
    if (in->edge_option != EDGE_LEASE_EDGE_ALLOW && in->edge_option != EDGE_LEASE_EDGE_DEFER_TO_APP)
        return false;
    if ((in->flags & ~EDGE_LEASE_FLAGS_KNOWN) != 0 || in->created > in->expires)
        return false;
    if (!lease_state_valid((uint32_t)in->state))
        return false;
    *sid_len = lease_strnlen(in->owner_sid, EDGE_LEASE_SID_MAX_LEN);
    if (*sid_len > EDGE_LEASE_SID_MAX_LEN || !lease_sid_valid(in->owner_sid, *sid_len))
        return false;
    *path_len = lease_strnlen(in->image_path, EDGE_PATH_MAX_BYTES);
    if (*path_len > EDGE_PATH_MAX_BYTES || !edge_path_is_canonical(in->image_path))
        return false;
    return true;
}

/* ---- public API ---- */

edge_status edge_lease_table_create(const edge_lease_table_params *params, edge_lease_table **out)
{
    edge_lease_table *t;

    if (!out)
        return EDGE_E_BAD_REQUEST;
    *out = NULL;
    t = calloc(1, sizeof(*t));
    if (!t)
        return EDGE_E_NO_MEMORY;
    t->bytes = sizeof(*t);
    if (params)
        t->params = *params;
    *out = t;
    return EDGE_OK;
}

void edge_lease_table_destroy(edge_lease_table *table)
{
    size_t i;
    if (!table)
        return;
    for (i = 0; i < table->ids.nbuckets; i++) {
        while (table->ids.buckets[i]) {
            struct lease *l = (struct lease *)(void *)table->ids.buckets[i];
            edge_lease_table_remove(table, l->id);
        }
    }
    free(table->ids.buckets);
    free(table->owners.buckets);
    free(table->images.buckets);
    free(table->heap);
    free(table);
}

edge_status edge_lease_table_reserve(edge_lease_table *table, uint32_t n)
{
    if (!table)
        return EDGE_E_BAD_REQUEST;
    if (!lease_htab_reserve(table, &table->ids, n, lease_node_hash_lease))
        return EDGE_E_NO_MEMORY;
    if (!edge_lease_heap_reserve(table, n))
        return EDGE_E_NO_MEMORY;
    return EDGE_OK;
}

static struct lease_owner *lease_new_owner(edge_lease_table *t, const char *sid, size_t len)
{
    struct lease_owner *o = edge_lease_mem_alloc(t, sizeof(*o) + len + 1);
    if (!o)
        return NULL;
    o->sid = (char *)(o + 1);
    memcpy(o->sid, sid, len);
    o->sid_len = len;
    o->hash = lease_hash_owner(sid, len);
    return o;
}

static struct lease_image *lease_new_image(edge_lease_table *t, const char *path, size_t len,
                                           const uint8_t *sha)
{
    struct lease_image *im = edge_lease_mem_alloc(t, sizeof(*im) + len + 1);
    if (!im)
        return NULL;
    im->path = (char *)(im + 1);
    memcpy(im->path, path, len);
    im->path_len = len;
    memcpy(im->sha256, sha, EDGE_LEASE_SHA256_LEN);
    im->hash = lease_hash_image(path, len, sha);
    return im;
}

edge_status edge_lease_table_add(edge_lease_table *table, const edge_lease_info *lease,
                                 const edge_lease_quota *quota)
{
    edge_lease_table *t = table;
    size_t sid_len = 0, path_len = 0;
    struct lease_owner *owner, *new_owner = NULL;
    struct lease_image *image, *new_image = NULL;
    struct lease *l = NULL;
    edge_lease_quota q;
    bool in_heap;

    if (!t || !lease || !lease_info_valid(lease, &sid_len, &path_len))
        return EDGE_E_BAD_REQUEST;
    if (lease_find(t, lease->id))
        return EDGE_E_BAD_REQUEST;
    if (t->params.max_leases && t->count >= t->params.max_leases)
        return EDGE_E_QUOTA;
    if (quota) {
        q = *quota;
    } else {
        q.max_per_owner = t->params.max_per_owner;
        q.max_per_image = t->params.max_per_image;
    }
    owner = lease_find_owner(t, lease->owner_sid, sid_len);
    image = lease_find_image(t, lease->image_path, path_len, lease->image_sha256);
    if (q.max_per_owner && owner && owner->count >= q.max_per_owner)
        return EDGE_E_QUOTA;
    if (q.max_per_image && image && image->count >= q.max_per_image)
        return EDGE_E_QUOTA;
    if (edge_lease_ports_conflict(t, lease->protocol, lease->port_lo, lease->port_hi, image))
        return EDGE_E_CONFLICT;

    /* Allocate everything before changing anything, so failure leaves the table as it was. */
    in_heap = lease->state != EDGE_LEASE_ENDING;
    if (!lease_htab_reserve(t, &t->ids, t->ids.n + 1, lease_node_hash_lease) ||
        (!owner && !lease_htab_reserve(t, &t->owners, t->owners.n + 1, lease_node_hash_owner)) ||
        (!image && !lease_htab_reserve(t, &t->images, t->images.n + 1, lease_node_hash_image)) ||
        (in_heap && !edge_lease_heap_reserve(t, t->heap_n + 1)))
        return EDGE_E_NO_MEMORY;
    l = edge_lease_mem_alloc(t, sizeof(*l));
    if (!l)
        goto nomem;
    if (!owner) {
        owner = new_owner = lease_new_owner(t, lease->owner_sid, sid_len);
        if (!owner)
            goto nomem;
    }
    if (!image) {
        image = new_image = lease_new_image(t, lease->image_path, path_len, lease->image_sha256);
        if (!image)
            goto nomem;
    }
    if (!edge_lease_ports_prepare(t, lease->protocol, lease->port_lo, lease->port_hi))
        goto nomem;

    memcpy(l->id, lease->id, EDGE_LEASE_ID_LEN);
    l->owner = owner;
    l->image = image;
    l->created = lease->created;
    l->expires = lease->expires;
    l->edge_option = lease->edge_option;
    l->flags = lease->flags;
    l->owner_pid = lease->owner_pid;
    l->port_lo = lease->port_lo;
    l->port_hi = lease->port_hi;
    l->protocol = lease->protocol;
    l->state = (uint8_t)lease->state;
    l->heap_index = LEASE_NO_HEAP;

    lease_htab_insert(&t->ids, &l->hn, lease_hash_id(l->id));
    if (new_owner)
        lease_htab_insert(&t->owners, &owner->hn, owner->hash);
    if (new_image)
        lease_htab_insert(&t->images, &image->hn, image->hash);
    l->onext = owner->head;
    if (owner->head)
        owner->head->oprev = l;
    owner->head = l;
    owner->count++;
    image->count++;
    edge_lease_ports_take(t, l);
    if (in_heap)
        edge_lease_heap_push(t, l);
    t->count++;
    return EDGE_OK;

nomem:
    if (new_image)
        edge_lease_mem_free(t, new_image, sizeof(*new_image) + path_len + 1);
    if (new_owner)
        edge_lease_mem_free(t, new_owner, sizeof(*new_owner) + sid_len + 1);
    edge_lease_mem_free(t, l, sizeof(*l));
    return EDGE_E_NO_MEMORY;
}

static void lease_fill(const struct lease *l, edge_lease_info *out)
{
    memcpy(out->id, l->id, EDGE_LEASE_ID_LEN);
    out->owner_sid = l->owner->sid;
    out->image_path = l->image->path;
    memcpy(out->image_sha256, l->image->sha256, EDGE_LEASE_SHA256_LEN);
    out->protocol = l->protocol;
    out->port_lo = l->port_lo;
    out->port_hi = l->port_hi;
    out->edge_option = l->edge_option;
    out->created = l->created;
    out->expires = l->expires;
    out->flags = l->flags;
    out->state = (edge_lease_state)l->state;
    out->owner_pid = l->owner_pid;
}

bool edge_lease_table_get(const edge_lease_table *table, const uint8_t id[EDGE_LEASE_ID_LEN],
                          edge_lease_info *out)
{
    const struct lease *l;
    if (!out)
        return false;
    memset(out, 0, sizeof(*out));
    l = lease_find(table, id);
    if (!l)
        return false;
    lease_fill(l, out);
    return true;
}

edge_status edge_lease_table_remove(edge_lease_table *table, const uint8_t id[EDGE_LEASE_ID_LEN])
{
    edge_lease_table *t = table;
    struct lease *l = lease_find(t, id);
    struct lease_owner *o;
    struct lease_image *im;

    if (!l)
        return EDGE_E_NOT_FOUND;
    o = l->owner;
    im = l->image;
    lease_htab_remove(&t->ids, &l->hn, lease_hash_id(l->id));
    edge_lease_heap_remove(t, l);
    edge_lease_ports_release(t, l);
    if (l->oprev)
        l->oprev->onext = l->onext;
    else
        o->head = l->onext;
    if (l->onext)
        l->onext->oprev = l->oprev;
    if (--o->count == 0) {
        lease_htab_remove(&t->owners, &o->hn, o->hash);
        edge_lease_mem_free(t, o, sizeof(*o) + o->sid_len + 1);
    }
    if (--im->count == 0) {
        lease_htab_remove(&t->images, &im->hn, im->hash);
        edge_lease_mem_free(t, im, sizeof(*im) + im->path_len + 1);
    }
    edge_lease_mem_free(t, l, sizeof(*l));
    t->count--;
    return EDGE_OK;
}

edge_status edge_lease_table_renew(edge_lease_table *table, const uint8_t id[EDGE_LEASE_ID_LEN],
                                   uint64_t now, uint64_t requested_seconds, uint64_t max_seconds,
                                   uint64_t *new_expires)
{
    struct lease *l;
    uint64_t d, e;

    if (new_expires)
        *new_expires = 0;
    l = lease_find(table, id);
    if (!l)
        return EDGE_E_NOT_FOUND;
    if (requested_seconds == 0 || max_seconds == 0)
        return EDGE_E_BAD_REQUEST;
    if (l->state == EDGE_LEASE_ENDING || l->expires <= now)
        return EDGE_E_EXPIRED;
    d = requested_seconds < max_seconds ? requested_seconds : max_seconds;
    e = now > UINT64_MAX - d ? UINT64_MAX : now + d;
    if (e > l->expires) {
        l->expires = e;
        edge_lease_heap_down(table, l->heap_index);
    }
    if (new_expires)
        *new_expires = l->expires;
    return EDGE_OK;
}

edge_status edge_lease_table_set_state(edge_lease_table *table, const uint8_t id[EDGE_LEASE_ID_LEN],
                                       edge_lease_state state)
{
    struct lease *l = lease_find(table, id);
    if (!l)
        return EDGE_E_NOT_FOUND;
    if (!lease_state_valid((uint32_t)state))
        return EDGE_E_BAD_REQUEST;
    if (l->state == (uint8_t)state)
        return EDGE_OK;
    if (l->state == EDGE_LEASE_ENDING)
        return EDGE_E_PROTOCOL_STATE;
    if (state == EDGE_LEASE_ENDING)
        edge_lease_heap_remove(table, l);
    l->state = (uint8_t)state;
    return EDGE_OK;
}

edge_status edge_lease_table_set_owner_pid(edge_lease_table *table,
                                           const uint8_t id[EDGE_LEASE_ID_LEN], uint32_t pid)
{
    struct lease *l = lease_find(table, id);
    if (!l)
        return EDGE_E_NOT_FOUND;
    l->owner_pid = pid;
    return EDGE_OK;
}

void edge_lease_table_foreach(const edge_lease_table *table, edge_lease_visit_fn fn, void *ctx)
{
    size_t i;
    edge_lease_info info;
    if (!table || !fn)
        return;
    for (i = 0; i < table->ids.nbuckets; i++) {
        const struct lease_hnode *n;
        for (n = table->ids.buckets[i]; n; n = n->next) {
            lease_fill((const struct lease *)(const void *)n, &info);
            if (!fn(&info, ctx))
                return;
        }
    }
}

void edge_lease_table_foreach_owner(const edge_lease_table *table, const char *owner_sid,
                                    edge_lease_visit_fn fn, void *ctx)
{
    const struct lease_owner *o;
    const struct lease *l;
    edge_lease_info info;
    size_t len;

    if (!table || !owner_sid || !fn)
        return;
    len = lease_strnlen(owner_sid, EDGE_LEASE_SID_MAX_LEN);
    o = lease_find_owner(table, owner_sid, len);
    if (!o)
        return;
    for (l = o->head; l; l = l->onext) {
        lease_fill(l, &info);
        if (!fn(&info, ctx))
            return;
    }
}

edge_status edge_lease_table_collect_expired(const edge_lease_table *table, uint64_t now,
                                             uint8_t (*ids)[EDGE_LEASE_ID_LEN], size_t cap,
                                             size_t *count, uint64_t *next_expiry)
{
    if (count)
        *count = 0;
    if (next_expiry)
        *next_expiry = UINT64_MAX;
    if (!table || !count || !next_expiry || (!ids && cap > 0))
        return EDGE_E_BAD_REQUEST;
    edge_lease_heap_collect(table, now, ids, cap, count, next_expiry);
    return EDGE_OK;
}

uint32_t edge_lease_table_count(const edge_lease_table *table)
{
    return table ? table->count : 0;
}

uint32_t edge_lease_table_count_owner(const edge_lease_table *table, const char *owner_sid)
{
    const struct lease_owner *o;
    if (!table || !owner_sid)
        return 0;
    o = lease_find_owner(table, owner_sid, lease_strnlen(owner_sid, EDGE_LEASE_SID_MAX_LEN));
    return o ? o->count : 0;
}

uint32_t edge_lease_table_count_image(const edge_lease_table *table, const char *image_path,
                                      const uint8_t image_sha256[EDGE_LEASE_SHA256_LEN])
{
    const struct lease_image *im;
    if (!table || !image_path || !image_sha256)
        return 0;
    im = lease_find_image(table, image_path, lease_strnlen(image_path, EDGE_PATH_MAX_BYTES),
                          image_sha256);
    return im ? im->count : 0;
}

size_t edge_lease_table_memory(const edge_lease_table *table)
{
    return table ? table->bytes : 0;
}

edge_lease_table_params edge_lease_table_get_params(const edge_lease_table *table)
{
    edge_lease_table_params p;
    memset(&p, 0, sizeof(p));
    if (table)
        p = table->params;
    return p;
}
