/*
 * The lease manager's configuration (leases.h: leases_config_*, leases_set_config).  The values
 * come from the effective policy only (policy_source.h reads the registry); this file maps them,
 * applies them live, and ends the leases a new policy no longer permits.
 */
#include "leases_internal.h"

#include "edge/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t profiles_of(uint32_t policy_mask)
{
    uint32_t m = policy_mask & (EDGE_POLICY_PROFILE_DOMAIN | EDGE_POLICY_PROFILE_PRIVATE |
                                EDGE_POLICY_PROFILE_PUBLIC);

    /* The policy bits are NET_FW_PROFILE_TYPE2 values; all three is the firewall's "all". */
    return (m == 0 || m == 0x7u) ? EDGE_FW_PROFILE_ALL : m;
}

void leases_config_from_policy(const struct edge_policy *p, struct leases_config *out)
{
    out->max_per_user = p->max_leases_per_user;
    out->max_per_app = p->max_leases_per_app;
    out->max_seconds = p->max_lease_seconds;
    out->default_seconds = p->default_lease_seconds;
    out->profiles = profiles_of(p->profiles);
    out->mode_off = p->mode == EDGE_POLICY_MODE_OFF;
    out->protocols = p->protocols;
    out->port_count = p->port_count <= EDGE_POLICY_MAX_PORT_RANGES ? p->port_count : 0;
    memcpy(out->ports, p->ports, sizeof(out->ports));
    lm_config_fix(out);
}

void leases_config_defaults(struct leases_config *cfg)
{
    edge_policy p;

    edge_policy_init_defaults(&p); /* allocates nothing */
    leases_config_from_policy(&p, cfg);
}

void lm_config_fix(struct leases_config *cfg)
{
    if (cfg->max_seconds == 0 || cfg->max_seconds > EDGE_LEASE_SECONDS_MAX)
        cfg->max_seconds = EDGE_LEASE_SECONDS_MAX;
    if (cfg->default_seconds == 0 || cfg->default_seconds > cfg->max_seconds)
        cfg->default_seconds = cfg->max_seconds; /* the maximum always wins (policy.md step 5) */
    if (cfg->profiles == 0)
        cfg->profiles = EDGE_FW_PROFILE_ALL;
    cfg->protocols &= EDGE_POLICY_PROTO_TCP | EDGE_POLICY_PROTO_UDP;
    if (cfg->protocols == 0) /* policy never has none (at least one keyword): not configured */
        cfg->protocols = EDGE_POLICY_PROTO_TCP | EDGE_POLICY_PROTO_UDP;
    if (cfg->port_count == 0 || cfg->port_count > EDGE_POLICY_MAX_PORT_RANGES) {
        memset(cfg->ports, 0, sizeof(cfg->ports));
        cfg->ports[0].lo = 1;
        cfg->ports[0].hi = 65535;
        cfg->port_count = 1;
    }
}

bool lm_config_permits(const struct leases_config *cfg, const edge_lease_info *l, char *why,
                       size_t cap)
{
    const char *proto = l->protocol == EDGE_IPPROTO_TCP ? "TCP" : "UDP";
    uint32_t bit = l->protocol == EDGE_IPPROTO_TCP ? EDGE_POLICY_PROTO_TCP : EDGE_POLICY_PROTO_UDP;
    uint32_t i;

    /* The same tests, in the same order, as edge_policy_decide's steps 1 and 4. */
    if (cfg->mode_off) {
        (void)snprintf(why, cap, "Mode is Off");
        return false;
    }
    if (!(cfg->protocols & bit)) {
        (void)snprintf(why, cap, "protocol %s is not in AllowedProtocols", proto);
        return false;
    }
    for (i = 0; i < cfg->port_count && i < EDGE_POLICY_MAX_PORT_RANGES; i++)
        if (cfg->ports[i].lo <= l->port_lo && l->port_hi <= cfg->ports[i].hi)
            return true;
    (void)snprintf(why, cap, "%s %u-%u is outside AllowedPorts", proto, (unsigned)l->port_lo,
                   (unsigned)l->port_hi);
    return false;
}

/* A lease the policy in force no longer permits, and why. */
struct refused {
    uint8_t id[EDGE_LEASE_ID_LEN];
    char why[EDGE_MAX_TEXT + 1];
};

struct refused_scan {
    const struct leases_config *cfg;
    struct refused *items;
    uint32_t count, cap;
};

static bool refused_visit(const edge_lease_info *l, void *arg)
{
    struct refused_scan *s = arg;
    char why[EDGE_MAX_TEXT + 1];

    if (l->state == EDGE_LEASE_ENDING || lm_config_permits(s->cfg, l, why, sizeof(why)))
        return true;
    if (s->count >= s->cap)
        return false;
    memcpy(s->items[s->count].id, l->id, EDGE_LEASE_ID_LEN);
    (void)snprintf(s->items[s->count].why, sizeof(s->items[s->count].why), "revoked by policy: %s",
                   why);
    s->count++;
    return true;
}

/*
 * Collected under the lock, ended one by one without it (lm_end_lease: gate shared, the firewall
 * call unlocked).  A lease released meanwhile is simply not found.  Persisting is not required:
 * like an expiry, the end must happen even with a broken store (which is then marked dirty).
 * Without memory for the list nothing is ended now; renewals are still refused, so such a lease
 * lasts its current length at most.
 */
uint32_t leases_end_refused(struct leases *m)
{
    struct leases_config cfg;
    struct refused_scan s;
    uint32_t i, n, ended = 0;

    memset(&s, 0, sizeof(s));
    s.cfg = &cfg;
    AcquireSRWLockShared(&m->lock);
    cfg = m->cfg;
    n = m->stopping ? 0 : edge_lease_table_count(m->table);
    if (n > 0)
        s.items = calloc(n, sizeof(*s.items)); /* calloc checks count * size */
    if (s.items) {
        s.cap = n;
        edge_lease_table_foreach(m->table, refused_visit, &s);
    }
    ReleaseSRWLockShared(&m->lock);
    for (i = 0; i < s.count; i++) {
        edge_status st = lm_end_lease(m, s.items[i].id, LM_END_REVOKED, NULL, false, s.items[i].why,
                                      false, NULL);
        /* A failed rule removal still ended the lease (ENDING; reconcile finishes it). */
        if (st != EDGE_E_NOT_FOUND && st != EDGE_E_NO_MEMORY)
            ended++;
    }
    free(s.items);
    return ended;
}

void leases_set_config(struct leases *m, const struct leases_config *cfg)
{
    struct leases_config c = *cfg;

    lm_config_fix(&c);
    /* Both locks: readers hold either the gate (grant, reconcile) or the lock (renew, quotas). */
    AcquireSRWLockExclusive(&m->gate);
    AcquireSRWLockExclusive(&m->lock);
    m->cfg = c;
    ReleaseSRWLockExclusive(&m->lock);
    ReleaseSRWLockExclusive(&m->gate);
}

void leases_get_config(struct leases *m, struct leases_config *out)
{
    AcquireSRWLockShared(&m->lock);
    *out = m->cfg;
    ReleaseSRWLockShared(&m->lock);
}
