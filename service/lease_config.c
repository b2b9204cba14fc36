/*
 * The lease manager's configuration (leases.h: leases_config_*, leases_set_config).  The values
 * come from the effective policy only (policy_source.h reads the registry); this file maps them
 * and applies them live.
 */
#include "leases_internal.h"

#include "edge/policy.h"

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
