/* Reconcile planner: lease table vs. the EdgeBroker rule group (see reconcile.h). */
#include <windows.h>

#include "reconcile.h"

#include "edge/path.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define NO_RULE SIZE_MAX

/* Limits of a lease path (UTF-8 bytes, as the lease table allows) and of a rule's
 * ApplicationName (UTF-16 units, as the firewall backend allows). */
#define PATH_BYTES EDGE_PATH_MAX_BYTES
#define PATH_CHARS (EDGE_FW_MAX_PATH_CHARS - 1u)

/* The three profile bits; EDGE_FW_PROFILE_ALL reads back as 0x7FFFFFFF and equals all three. */
#define PROFILE_BITS (EDGE_FW_PROFILE_DOMAIN | EDGE_FW_PROFILE_PRIVATE | EDGE_FW_PROFILE_PUBLIC)

typedef struct lease_entry {
    edge_lease_info info;
    size_t kept_rule; /* index of the rule kept for this live lease, or NO_RULE */
    uint32_t fields;  /* EDGE_FW_FIELD_* in which the kept rule differs */
    uint32_t rules;   /* rules seen carrying this lease id */
} lease_entry;

typedef struct lease_index {
    lease_entry *entries;
    size_t count;
    size_t cap;      /* entries allocated */
    uint32_t *slots; /* open addressing: entry index, or UINT32_MAX for empty */
    size_t mask;     /* slot count - 1; slot count is a power of two */
    bool overflow;   /* foreach produced more leases than counted */
} lease_index;

/* A UTF-16 buffer reused across leases, so a plan costs one conversion buffer, not n. */
typedef struct scratch {
    wchar_t *buf;
    size_t cap; /* in wchar_t */
} scratch;

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* Lease ids are random, but rule names come from the firewall: mix all 16 bytes anyway. */
static size_t id_hash(const uint8_t id[EDGE_LEASE_ID_LEN])
{
    uint64_t h = load_le64(id) ^ (load_le64(id + 8) * 0x9E3779B97F4A7C15ull);
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 32;
    return (size_t)h;
}

static bool collect_lease(const edge_lease_info *lease, void *ctx)
{
    lease_index *ix = ctx;
    if (ix->count == ix->cap) {
        ix->overflow = true;
        return false;
    }
    lease_entry *e = &ix->entries[ix->count++];
    e->info = *lease;
    e->kept_rule = NO_RULE;
    e->fields = 0;
    e->rules = 0;
    return true;
}

static lease_entry *index_find(const lease_index *ix, const uint8_t id[EDGE_LEASE_ID_LEN])
{
    for (size_t i = id_hash(id) & ix->mask;; i = (i + 1) & ix->mask) {
        uint32_t slot = ix->slots[i];
        if (slot == UINT32_MAX)
            return NULL;
        if (memcmp(ix->entries[slot].info.id, id, EDGE_LEASE_ID_LEN) == 0)
            return &ix->entries[slot];
    }
}

static edge_status index_build(const edge_lease_table *table, lease_index *ix)
{
    uint32_t n = edge_lease_table_count(table);
    size_t slots = 8;
    if (n >= UINT32_MAX / 2)
        return EDGE_E_NO_MEMORY;
    while (slots < (size_t)n * 2)
        slots *= 2; /* load factor <= 1/2 keeps probes short */
    ix->cap = n;
    ix->entries = n ? calloc(n, sizeof(*ix->entries)) : NULL;
    ix->slots = malloc(slots * sizeof(*ix->slots));
    if ((n && !ix->entries) || !ix->slots)
        return EDGE_E_NO_MEMORY;
    memset(ix->slots, 0xFF, slots * sizeof(*ix->slots));
    ix->mask = slots - 1;
    edge_lease_table_foreach(table, collect_lease, ix);
    if (ix->overflow)
        return EDGE_E_INTERNAL;
    for (size_t e = 0; e < ix->count; e++) {
        size_t i = id_hash(ix->entries[e].info.id) & ix->mask;
        while (ix->slots[i] != UINT32_MAX)
            i = (i + 1) & ix->mask;
        ix->slots[i] = (uint32_t)e;
    }
    return EDGE_OK;
}

/*
 * Converts NUL-terminated UTF-8 (at most max_bytes bytes, at most max_chars UTF-16 units) into
 * the scratch buffer; false when empty, invalid or too long, or with *no_memory set.
 */
static bool to_wide(scratch *sc, const char *utf8, size_t max_bytes, size_t max_chars,
                    bool *no_memory)
{
    size_t len = strnlen(utf8, max_bytes + 1);
    if (len == 0 || len > max_bytes || len >= INT_MAX)
        return false;
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, (int)len + 1, NULL, 0);
    if (n <= 1 || (size_t)n - 1 > max_chars)
        return false;
    if ((size_t)n > sc->cap) {
        wchar_t *grown = realloc(sc->buf, (size_t)n * sizeof(wchar_t));
        if (!grown) {
            *no_memory = true;
            return false;
        }
        sc->buf = grown;
        sc->cap = (size_t)n;
    }
    return MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, (int)len + 1, sc->buf, n) == n;
}

/* SIDs are ASCII ("S-1-5-..."); compare ignoring ASCII case, any non-ASCII differs. */
static bool sid_equal(const wchar_t *w, const char *a)
{
    for (;; w++, a++) {
        wchar_t cw = *w;
        unsigned char ca = (unsigned char)*a;
        if (cw > 0x7F || ca > 0x7F)
            return false;
        if (cw >= L'a' && cw <= L'z')
            cw = (wchar_t)(cw - L'a' + L'A');
        if (ca >= 'a' && ca <= 'z')
            ca = (unsigned char)(ca - 'a' + 'A');
        if ((unsigned)cw != ca)
            return false;
        if (ca == 0)
            return true;
    }
}

static bool edge_matches(const edge_fw_listed_rule *rule, uint32_t wanted)
{
    if (rule->edge_from_legacy) {
        /* Without INetFwRule2 only EdgeTraversal TRUE/FALSE exists, and TRUE is what the
         * backend sets for either mode (EDGE_FW_RESULT_EDGE_FALLBACK). */
        return rule->spec.edge_mode == EDGE_FW_EDGE_ALLOW &&
               (wanted == EDGE_FW_EDGE_ALLOW || wanted == EDGE_FW_EDGE_DEFER_TO_APP);
    }
    return rule->spec.edge_mode == wanted;
}

/* wpath: the lease's path in UTF-16, or NULL when it could not be converted (APP differs). */
static uint32_t diff(const edge_fw_listed_rule *rule, const edge_lease_info *lease,
                     uint32_t profiles, const wchar_t *wpath)
{
    uint32_t f = 0;
    const edge_fw_rule_spec *r = &rule->spec;
    if (!wpath || !r->image_path ||
        CompareStringOrdinal(wpath, -1, r->image_path, -1, TRUE) != CSTR_EQUAL)
        f |= EDGE_FW_FIELD_APP;
    if (r->protocol != lease->protocol)
        f |= EDGE_FW_FIELD_PROTOCOL;
    if (!rule->ports_parsed || r->port_lo != lease->port_lo || r->port_hi != lease->port_hi)
        f |= EDGE_FW_FIELD_PORTS;
    if (rule->direction != 1)
        f |= EDGE_FW_FIELD_DIRECTION;
    if (rule->action != 1)
        f |= EDGE_FW_FIELD_ACTION;
    if (!rule->enabled)
        f |= EDGE_FW_FIELD_ENABLED;
    if ((r->profiles & PROFILE_BITS) != (profiles & PROFILE_BITS))
        f |= EDGE_FW_FIELD_PROFILES;
    if (!edge_matches(rule, lease->edge_option))
        f |= EDGE_FW_FIELD_EDGE;
    if (rule->owner_known &&
        (!r->owner_sid || !lease->owner_sid || !sid_equal(r->owner_sid, lease->owner_sid)))
        f |= EDGE_FW_FIELD_OWNER;
    return f;
}

edge_status reconcile_rule_diff(const edge_fw_listed_rule *rule, const edge_lease_info *lease,
                                uint32_t profiles, uint32_t *fields)
{
    scratch sc = {NULL, 0};
    bool no_memory = false;
    if (fields)
        *fields = 0;
    if (!rule || !lease || !fields || !lease->image_path)
        return EDGE_E_BAD_REQUEST;
    bool ok = to_wide(&sc, lease->image_path, PATH_BYTES, PATH_CHARS, &no_memory);
    if (no_memory)
        return EDGE_E_NO_MEMORY;
    *fields = diff(rule, lease, profiles, ok ? sc.buf : NULL);
    free(sc.buf);
    return EDGE_OK;
}

static bool lease_live(const edge_lease_info *l, uint64_t now)
{
    return (l->state == EDGE_LEASE_ACTIVE || l->state == EDGE_LEASE_RULE_PENDING) &&
           l->expires > now;
}

static edge_status add_remove(reconcile_plan *plan, const edge_fw_listed_rule *rule,
                              reconcile_remove_reason reason, bool by_name)
{
    reconcile_remove *r = &plan->remove[plan->remove_count];
    size_t n = rule->name ? wcslen(rule->name) : 0;
    r->name = malloc((n + 1) * sizeof(wchar_t));
    if (!r->name)
        return EDGE_E_NO_MEMORY;
    if (n)
        memcpy(r->name, rule->name, n * sizeof(wchar_t));
    r->name[n] = L'\0';
    r->reason = reason;
    r->by_name = by_name;
    r->has_lease_id = rule->has_lease_id;
    if (rule->has_lease_id)
        memcpy(r->lease_id, rule->spec.lease_id, EDGE_LEASE_ID_LEN);
    plan->remove_count++;
    return EDGE_OK;
}

/* Files rule i under its lease; queues its removal when it must go. */
static edge_status place_rule(const edge_fw_rule_list *rules, size_t i, lease_index *ix,
                              uint32_t profiles, uint64_t now, scratch *sc, reconcile_plan *plan)
{
    const edge_fw_listed_rule *rule = &rules->rules[i];
    bool no_memory = false;
    if (!rule->has_lease_id)
        return add_remove(plan, rule, RECONCILE_REMOVE_FOREIGN_NAME, true);
    lease_entry *e = index_find(ix, rule->spec.lease_id);
    if (!e)
        return add_remove(plan, rule, RECONCILE_REMOVE_UNKNOWN_LEASE, false);
    e->rules++;
    if (e->info.state == EDGE_LEASE_ENDING)
        return add_remove(plan, rule, RECONCILE_REMOVE_LEASE_ENDING, false);
    if (!lease_live(&e->info, now))
        return add_remove(plan, rule, RECONCILE_REMOVE_LEASE_EXPIRED, false);

    bool ok = to_wide(sc, e->info.image_path, PATH_BYTES, PATH_CHARS, &no_memory);
    if (no_memory)
        return EDGE_E_NO_MEMORY;
    uint32_t f = diff(rule, &e->info, profiles, ok ? sc->buf : NULL);
    if (e->kept_rule == NO_RULE) {
        e->kept_rule = i;
        e->fields = f;
        return EDGE_OK;
    }
    /* A duplicate.  Prefer keeping a copy that matches, so no repair is planned needlessly. */
    size_t drop = i;
    if (e->fields != 0 && f == 0) {
        drop = e->kept_rule;
        e->kept_rule = i;
        e->fields = 0;
    }
    return add_remove(plan, &rules->rules[drop], RECONCILE_REMOVE_DUPLICATE, true);
}

edge_status reconcile_plan_build(const edge_lease_table *table, const edge_fw_rule_list *rules,
                                 uint32_t profiles, uint64_t now, reconcile_plan **out)
{
    edge_status st = EDGE_OK;
    lease_index ix;
    scratch sc = {NULL, 0};
    reconcile_plan *plan = NULL;
    size_t nrules = rules ? rules->count : 0;

    memset(&ix, 0, sizeof(ix));
    if (out)
        *out = NULL;
    if (!table || !out || (nrules > 0 && !rules->rules))
        return EDGE_E_BAD_REQUEST;
    st = index_build(table, &ix);
    if (st != EDGE_OK)
        goto out;
    plan = calloc(1, sizeof(*plan));
    if (!plan) {
        st = EDGE_E_NO_MEMORY;
        goto out;
    }
    /* Upper bounds: every rule removed; every lease restored, repaired or forgotten. */
    if ((nrules && !(plan->remove = calloc(nrules, sizeof(*plan->remove)))) ||
        (ix.count && (!(plan->restore = calloc(ix.count, sizeof(*plan->restore))) ||
                      !(plan->repair = calloc(ix.count, sizeof(*plan->repair))) ||
                      !(plan->forget = calloc(ix.count, sizeof(*plan->forget)))))) {
        st = EDGE_E_NO_MEMORY;
        goto out;
    }
    for (size_t i = 0; i < nrules; i++) {
        st = place_rule(rules, i, &ix, profiles, now, &sc, plan);
        if (st != EDGE_OK)
            goto out;
    }
    for (size_t e = 0; e < ix.count; e++) {
        const lease_entry *le = &ix.entries[e];
        if (lease_live(&le->info, now)) {
            if (le->kept_rule == NO_RULE) {
                memcpy(plan->restore[plan->restore_count++], le->info.id, EDGE_LEASE_ID_LEN);
            } else if (le->fields != 0) {
                reconcile_repair *r = &plan->repair[plan->repair_count++];
                memcpy(r->lease_id, le->info.id, EDGE_LEASE_ID_LEN);
                r->fields = le->fields;
            }
        } else if (le->info.state == EDGE_LEASE_ENDING && le->rules == 0) {
            memcpy(plan->forget[plan->forget_count++], le->info.id, EDGE_LEASE_ID_LEN);
        }
    }
    *out = plan;
    plan = NULL;
out:
    reconcile_plan_free(plan);
    free(sc.buf);
    free(ix.slots);
    free(ix.entries);
    return st;
}

void reconcile_plan_free(reconcile_plan *plan)
{
    if (!plan)
        return;
    for (size_t i = 0; i < plan->remove_count; i++)
        free(plan->remove[i].name);
    free(plan->remove);
    free(plan->restore);
    free(plan->repair);
    free(plan->forget);
    free(plan);
}

/* Allocating UTF-8 -> UTF-16; NULL with *bad set for invalid input, NULL alone for no memory. */
static wchar_t *dup_wide(const char *utf8, size_t max_bytes, size_t max_chars, bool *bad)
{
    scratch sc = {NULL, 0};
    bool no_memory = false;
    if (!to_wide(&sc, utf8, max_bytes, max_chars, &no_memory)) {
        *bad = !no_memory;
        free(sc.buf);
        return NULL;
    }
    return sc.buf;
}

edge_status reconcile_spec_from_lease(const edge_lease_info *lease, uint32_t profiles,
                                      edge_fw_rule_spec *out)
{
    edge_status st = EDGE_OK;
    edge_fw_rule_spec spec;
    bool bad = false;

    memset(&spec, 0, sizeof(spec));
    if (out)
        memset(out, 0, sizeof(*out));
    if (!lease || !out || !lease->image_path || !lease->owner_sid)
        return EDGE_E_BAD_REQUEST;
    memcpy(spec.lease_id, lease->id, EDGE_LEASE_ID_LEN);
    spec.image_path = dup_wide(lease->image_path, PATH_BYTES, PATH_CHARS, &bad);
    if (spec.image_path)
        spec.owner_sid =
            dup_wide(lease->owner_sid, EDGE_LEASE_SID_MAX_LEN, EDGE_FW_MAX_SID_CHARS - 1, &bad);
    if (!spec.image_path || !spec.owner_sid) {
        st = bad ? EDGE_E_BAD_REQUEST : EDGE_E_NO_MEMORY;
        goto out;
    }
    spec.protocol = lease->protocol;
    spec.port_lo = lease->port_lo;
    spec.port_hi = lease->port_hi;
    spec.profiles = profiles;
    spec.edge_mode = lease->edge_option;
    *out = spec;
    memset(&spec, 0, sizeof(spec));
out:
    reconcile_spec_free(&spec);
    return st;
}

void reconcile_spec_free(edge_fw_rule_spec *spec)
{
    if (!spec)
        return;
    free(spec->image_path);
    free(spec->owner_sid);
    spec->image_path = NULL;
    spec->owner_sid = NULL;
}
