/* Strict parsing of command-line values: anything not exactly valid is a usage error. */
#include <string.h>

#include "edgectl.h"

bool ctl_parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
    uint64_t v = 0;
    if (!s || !*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > hi)
            return false;
    }
    if (v < lo)
        return false;
    *out = (uint32_t)v;
    return true;
}

static bool eq_nocase(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = (*a >= 'A' && *a <= 'Z') ? (char)(*a + 32) : *a;
        if (x != *b)
            return false;
    }
    return *a == *b;
}

bool ctl_parse_protocol(const char *s, uint32_t *out)
{
    if (eq_nocase(s, "tcp"))
        *out = EDGE_PROTOCOL_TCP;
    else if (eq_nocase(s, "udp"))
        *out = EDGE_PROTOCOL_UDP;
    else
        return false;
    return true;
}

bool ctl_parse_ports(const char *s, uint16_t *lo, uint16_t *hi)
{
    char first[8];
    const char *dash = strchr(s, '-');
    uint32_t a, b;
    if (!dash) {
        if (!ctl_parse_u32(s, 1, 65535, &a))
            return false;
        *lo = *hi = (uint16_t)a;
        return true;
    }
    if ((size_t)(dash - s) >= sizeof(first))
        return false;
    memcpy(first, s, (size_t)(dash - s));
    first[dash - s] = '\0';
    if (!ctl_parse_u32(first, 1, 65535, &a) || !ctl_parse_u32(dash + 1, 1, 65535, &b) || b < a)
        return false;
    *lo = (uint16_t)a;
    *hi = (uint16_t)b;
    return true;
}

bool ctl_valid_lease_id(const char *s)
{
    size_t i;
    for (i = 0; s[i]; i++) {
        char ch = s[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F')))
            return false;
    }
    return i == 32;
}

bool ctl_opt_value(int argc, char **argv, int *i, const char *name, const char **value,
                   bool *missing)
{
    const char *a = argv[*i];
    size_t n = strlen(name);

    *missing = false;
    if (strncmp(a, name, n) != 0)
        return false;
    if (a[n] == '=') {
        *value = a + n + 1;
        return true;
    }
    if (a[n] != '\0')
        return false;
    if (*i + 1 >= argc) {
        *value = NULL;
        *missing = true;
        return true;
    }
    *value = argv[++*i];
    return true;
}

int ctl_parse_args(struct ctl *c, int argc, char **argv, const struct ctl_optspec *opts,
                   size_t nopts, const char **pos, size_t min_pos, size_t max_pos, size_t *npos)
{
    bool positional_only = false;
    int i, rc = CTL_EXIT_OK;

    *npos = 0;
    for (i = 0; i < argc; i++) {
        const char *a = argv[i];
        size_t k;
        bool matched = false;
        if (!positional_only && strcmp(a, "--") == 0) {
            positional_only = true;
            continue;
        }
        if (positional_only || a[0] != '-' || a[1] == '\0') {
            if (*npos >= max_pos)
                return ctl_usage(c, "unexpected argument '%s'", a);
            pos[(*npos)++] = a;
            continue;
        }
        for (k = 0; k < nopts && !matched; k++) {
            bool missing = false;
            if (!opts[k].value) {
                if (strcmp(a, opts[k].name) == 0) {
                    *opts[k].flag = true;
                    matched = true;
                }
            } else if (ctl_opt_value(argc, argv, &i, opts[k].name, opts[k].value, &missing)) {
                if (missing)
                    return ctl_usage(c, "%s needs a value", opts[k].name);
                matched = true;
            }
        }
        if (matched)
            continue;
        switch (ctl_verb_global(c, argc, argv, &i, &rc)) {
        case 1:
            continue;
        case 0:
            return ctl_usage(c, "unknown option %s", a);
        default:
            return rc;
        }
    }
    if (*npos < min_pos) {
        const struct ctl_verb *v = c->verb ? ctl_find_verb(c->verb) : NULL;
        return ctl_usage(c, "missing argument; usage: edgectl %s", v ? v->usage : "VERB");
    }
    return CTL_EXIT_OK;
}
