/* State file format: serializer, parser and generation selection; see edge/state_file.h. */
#include "edge/state_file.h"
#include "edge/path.h"
#include "edge/sha256.h"

#include <stdlib.h>
#include <string.h>

#define SF_OFF_VERSION    8u
#define SF_OFF_FLAGS      12u
#define SF_OFF_GENERATION 16u
#define SF_OFF_BODY_LEN   24u
#define SF_OFF_COUNT      32u
#define SF_OFF_RESERVED   36u
#define SF_OFF_SHA        40u
#define SF_MIN_SID_LEN    5u /* "S-1-5" */
#define SF_MIN_PATH_LEN   4u /* "C:\a" */

static const char *const sf_result_names[EDGE_SF_RESULT_COUNT_] = {
    "EDGE_SF_OK",          "EDGE_SF_E_ARG",         "EDGE_SF_E_MISSING",      "EDGE_SF_E_TRUNCATED",
    "EDGE_SF_E_BAD_MAGIC", "EDGE_SF_E_BAD_VERSION", "EDGE_SF_E_BAD_HEADER",   "EDGE_SF_E_CHECKSUM",
    "EDGE_SF_E_LENGTH",    "EDGE_SF_E_BAD_RECORD",  "EDGE_SF_E_DUPLICATE_ID", "EDGE_SF_E_CONFLICT",
    "EDGE_SF_E_LIMITS",    "EDGE_SF_E_NO_MEMORY",   "EDGE_SF_E_NONE_VALID",
};

const char *edge_sf_result_name(edge_sf_result result)
{
    if ((unsigned)result >= (unsigned)EDGE_SF_RESULT_COUNT_)
        return "EDGE_SF_UNKNOWN";
    return sf_result_names[result];
}

static void sf_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void sf_put32(uint8_t *p, uint32_t v)
{
    sf_put16(p, (uint16_t)v);
    sf_put16(p + 2, (uint16_t)(v >> 16));
}

static void sf_put64(uint8_t *p, uint64_t v)
{
    sf_put32(p, (uint32_t)v);
    sf_put32(p + 4, (uint32_t)(v >> 32));
}

static uint16_t sf_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t sf_get32(const uint8_t *p)
{
    return (uint32_t)sf_get16(p) | ((uint32_t)sf_get16(p + 2) << 16);
}

static uint64_t sf_get64(const uint8_t *p)
{
    return (uint64_t)sf_get32(p) | ((uint64_t)sf_get32(p + 4) << 32);
}

/* The checksum covers the header up to the digest field, then the body. */
static void sf_digest(const uint8_t *file, const uint8_t *body, size_t body_len,
                      uint8_t out[EDGE_SHA256_DIGEST_LEN])
{
    edge_sha256_ctx ctx;
    edge_sha256_init(&ctx);
    edge_sha256_update(&ctx, file, SF_OFF_SHA);
    edge_sha256_update(&ctx, body, body_len);
    edge_sha256_final(&ctx, out);
}

struct sf_writer {
    uint8_t *buf;
    size_t pos, cap;
    size_t body_len;
    uint32_t count;
    bool overflow;
};

static bool sf_measure(const edge_lease_info *l, void *ctx)
{
    struct sf_writer *w = ctx;
    size_t add = EDGE_SF_RECORD_FIXED_LEN + strlen(l->owner_sid) + strlen(l->image_path);
    if (w->body_len > SIZE_MAX - EDGE_SF_HEADER_LEN - add || w->count == UINT32_MAX) {
        w->overflow = true;
        return false;
    }
    w->body_len += add;
    w->count++;
    return true;
}

static bool sf_write_record(const edge_lease_info *l, void *ctx)
{
    struct sf_writer *w = ctx;
    size_t sid_len = strlen(l->owner_sid), path_len = strlen(l->image_path);
    size_t rec = EDGE_SF_RECORD_FIXED_LEN + sid_len + path_len;
    uint8_t *p;

    /* The table may not change between the two passes; guard anyway rather than overrun. */
    if (w->cap - w->pos < rec) {
        w->overflow = true;
        return false;
    }
    p = w->buf + w->pos;
    sf_put32(p, (uint32_t)(rec - 4));
    sf_put16(p + 4, EDGE_SF_RECORD_TYPE_LEASE);
    sf_put16(p + 6, 0);
    memcpy(p + 8, l->id, EDGE_LEASE_ID_LEN);
    memcpy(p + 24, l->image_sha256, EDGE_LEASE_SHA256_LEN);
    sf_put64(p + 56, l->created);
    sf_put64(p + 64, l->expires);
    sf_put32(p + 72, l->edge_option);
    sf_put32(p + 76, l->flags);
    p[80] = l->protocol;
    p[81] = (uint8_t)l->state;
    sf_put16(p + 82, l->port_lo);
    sf_put16(p + 84, l->port_hi);
    sf_put16(p + 86, (uint16_t)sid_len);
    sf_put32(p + 88, (uint32_t)path_len);
    memcpy(p + 92, l->owner_sid, sid_len);
    memcpy(p + 92 + sid_len, l->image_path, path_len);
    w->pos += rec;
    return true;
}

edge_sf_result edge_sf_serialize(const edge_lease_table *table, uint64_t generation, uint8_t **out,
                                 size_t *out_len)
{
    struct sf_writer w;
    uint8_t *buf = NULL;
    edge_sf_result r = EDGE_SF_OK;

    if (out)
        *out = NULL;
    if (out_len)
        *out_len = 0;
    if (!table || !out || !out_len)
        return EDGE_SF_E_ARG;
    memset(&w, 0, sizeof(w));
    edge_lease_table_foreach(table, sf_measure, &w);
    if (w.overflow)
        return EDGE_SF_E_LIMITS;
    buf = calloc(1, EDGE_SF_HEADER_LEN + w.body_len);
    if (!buf)
        return EDGE_SF_E_NO_MEMORY;
    w.buf = buf;
    w.pos = EDGE_SF_HEADER_LEN;
    w.cap = EDGE_SF_HEADER_LEN + w.body_len;
    edge_lease_table_foreach(table, sf_write_record, &w);
    if (w.overflow || w.pos != w.cap) {
        r = EDGE_SF_E_LIMITS;
        goto out;
    }
    memcpy(buf, EDGE_SF_MAGIC, 8);
    sf_put32(buf + SF_OFF_VERSION, EDGE_SF_VERSION);
    sf_put32(buf + SF_OFF_FLAGS, 0);
    sf_put64(buf + SF_OFF_GENERATION, generation);
    sf_put64(buf + SF_OFF_BODY_LEN, (uint64_t)w.body_len);
    sf_put32(buf + SF_OFF_COUNT, w.count);
    sf_put32(buf + SF_OFF_RESERVED, 0);
    sf_digest(buf, buf + EDGE_SF_HEADER_LEN, w.body_len, buf + SF_OFF_SHA);
    *out = buf;
    *out_len = w.cap;
    buf = NULL;
out:
    free(buf);
    return r;
}

void edge_sf_buffer_free(uint8_t *buf)
{
    free(buf);
}

/* Checks everything that can be checked without allocating: header, lengths, checksum. */
static edge_sf_result sf_check_header(const uint8_t *data, size_t len, const edge_sf_limits *lim,
                                      uint64_t *body_len, uint32_t *count)
{
    uint8_t digest[EDGE_SHA256_DIGEST_LEN];
    uint64_t bl;
    uint32_t n;

    if (len < EDGE_SF_HEADER_LEN)
        return EDGE_SF_E_TRUNCATED;
    if (memcmp(data, EDGE_SF_MAGIC, 8) != 0)
        return EDGE_SF_E_BAD_MAGIC;
    if (sf_get32(data + SF_OFF_VERSION) != EDGE_SF_VERSION)
        return EDGE_SF_E_BAD_VERSION;
    if (sf_get32(data + SF_OFF_FLAGS) != 0 || sf_get32(data + SF_OFF_RESERVED) != 0)
        return EDGE_SF_E_BAD_HEADER;
    bl = sf_get64(data + SF_OFF_BODY_LEN);
    n = sf_get32(data + SF_OFF_COUNT);
    if (bl > len - EDGE_SF_HEADER_LEN)
        return bl > lim->max_body_bytes ? EDGE_SF_E_LIMITS : EDGE_SF_E_TRUNCATED;
    if (bl < len - EDGE_SF_HEADER_LEN)
        return EDGE_SF_E_LENGTH;
    if (bl > lim->max_body_bytes || n > lim->max_leases)
        return EDGE_SF_E_LIMITS;
    if (n > bl / EDGE_SF_RECORD_FIXED_LEN)
        return EDGE_SF_E_LENGTH;
    sf_digest(data, data + EDGE_SF_HEADER_LEN, (size_t)bl, digest);
    if (memcmp(digest, data + SF_OFF_SHA, EDGE_SHA256_DIGEST_LEN) != 0)
        return EDGE_SF_E_CHECKSUM;
    *body_len = bl;
    *count = n;
    return EDGE_SF_OK;
}

/*
 * Decodes one record at body[*pos]; path_buf has room for EDGE_PATH_MAX_BYTES + 1 bytes.  Lease
 * field semantics are left to edge_lease_table_add, the one place that defines them.
 */
static edge_sf_result sf_read_record(const uint8_t *body, size_t body_len, size_t *pos,
                                     char *sid_buf, char *path_buf, edge_lease_info *l)
{
    size_t avail = body_len - *pos;
    const uint8_t *p = body + *pos;
    uint32_t rec_len, path_len;
    uint16_t sid_len;

    if (avail < 4)
        return EDGE_SF_E_LENGTH;
    rec_len = sf_get32(p);
    if (rec_len > avail - 4)
        return EDGE_SF_E_LENGTH;
    if (rec_len < EDGE_SF_RECORD_FIXED_LEN - 4)
        return EDGE_SF_E_BAD_RECORD;
    if (sf_get16(p + 4) != EDGE_SF_RECORD_TYPE_LEASE || sf_get16(p + 6) != 0)
        return EDGE_SF_E_BAD_RECORD;
    sid_len = sf_get16(p + 86);
    path_len = sf_get32(p + 88);
    if (sid_len > EDGE_LEASE_SID_MAX_LEN || path_len > EDGE_PATH_MAX_BYTES)
        return EDGE_SF_E_LIMITS;
    if (sid_len < SF_MIN_SID_LEN || path_len < SF_MIN_PATH_LEN)
        return EDGE_SF_E_BAD_RECORD;
    /* Both lengths are capped above, so this sum cannot overflow. */
    if ((size_t)rec_len != EDGE_SF_RECORD_FIXED_LEN - 4 + (size_t)sid_len + (size_t)path_len)
        return EDGE_SF_E_LENGTH;
    if (memchr(p + 92, 0, sid_len) || memchr(p + 92 + sid_len, 0, path_len))
        return EDGE_SF_E_BAD_RECORD;
    memcpy(sid_buf, p + 92, sid_len);
    sid_buf[sid_len] = '\0';
    memcpy(path_buf, p + 92 + sid_len, path_len);
    path_buf[path_len] = '\0';

    memset(l, 0, sizeof(*l));
    memcpy(l->id, p + 8, EDGE_LEASE_ID_LEN);
    memcpy(l->image_sha256, p + 24, EDGE_LEASE_SHA256_LEN);
    l->created = sf_get64(p + 56);
    l->expires = sf_get64(p + 64);
    l->edge_option = sf_get32(p + 72);
    l->flags = sf_get32(p + 76);
    l->protocol = p[80];
    /* Stored as a byte; an unknown value stays unknown and add rejects it. */
    l->state = (edge_lease_state)p[81];
    l->port_lo = sf_get16(p + 82);
    l->port_hi = sf_get16(p + 84);
    l->owner_sid = sid_buf;
    l->image_path = path_buf;
    l->owner_pid = 0;
    *pos += 4 + (size_t)rec_len;
    return EDGE_SF_OK;
}

static edge_sf_result sf_from_status(edge_status st)
{
    switch (st) {
    case EDGE_OK:
        return EDGE_SF_OK;
    case EDGE_E_CONFLICT:
        return EDGE_SF_E_CONFLICT;
    case EDGE_E_QUOTA:
        return EDGE_SF_E_LIMITS;
    case EDGE_E_NO_MEMORY:
        return EDGE_SF_E_NO_MEMORY;
    default:
        return EDGE_SF_E_BAD_RECORD;
    }
}

edge_sf_result edge_sf_parse(const uint8_t *data, size_t len, const edge_sf_limits *limits,
                             const edge_lease_table_params *params, edge_lease_table **table_out,
                             uint64_t *generation_out)
{
    edge_sf_limits lim = {EDGE_SF_DEFAULT_MAX_LEASES, EDGE_SF_DEFAULT_MAX_BODY};
    static const edge_lease_quota no_quota = {0, 0};
    edge_lease_table *t = NULL;
    char sid_buf[EDGE_LEASE_SID_MAX_LEN + 1];
    char *path_buf = NULL;
    edge_lease_info info, existing;
    uint64_t body_len = 0;
    uint32_t count = 0, i;
    size_t pos = 0;
    edge_sf_result r;

    if (table_out)
        *table_out = NULL;
    if (generation_out)
        *generation_out = 0;
    if (!table_out || (!data && len > 0))
        return EDGE_SF_E_ARG;
    if (!data || len == 0)
        return EDGE_SF_E_MISSING;
    if (limits)
        lim = *limits;
    r = sf_check_header(data, len, &lim, &body_len, &count);
    if (r != EDGE_SF_OK)
        return r;
    if (params && params->max_leases && count > params->max_leases)
        return EDGE_SF_E_LIMITS;

    r = sf_from_status(edge_lease_table_create(params, &t));
    if (r != EDGE_SF_OK)
        goto out;
    r = sf_from_status(edge_lease_table_reserve(t, count));
    if (r != EDGE_SF_OK)
        goto out;
    path_buf = malloc(EDGE_PATH_MAX_BYTES + 1);
    if (!path_buf) {
        r = EDGE_SF_E_NO_MEMORY;
        goto out;
    }
    for (i = 0; i < count; i++) {
        r = sf_read_record(data + EDGE_SF_HEADER_LEN, (size_t)body_len, &pos, sid_buf, path_buf,
                           &info);
        if (r != EDGE_SF_OK)
            goto out;
        if (edge_lease_table_get(t, info.id, &existing)) {
            r = EDGE_SF_E_DUPLICATE_ID;
            goto out;
        }
        r = sf_from_status(edge_lease_table_add(t, &info, &no_quota));
        if (r != EDGE_SF_OK)
            goto out;
    }
    if (pos != body_len) {
        r = EDGE_SF_E_LENGTH;
        goto out;
    }
    if (generation_out)
        *generation_out = sf_get64(data + SF_OFF_GENERATION);
    *table_out = t;
    t = NULL;
out:
    free(path_buf);
    edge_lease_table_destroy(t);
    return r;
}

edge_sf_result edge_sf_select(const edge_sf_candidate *candidates, size_t n,
                              const edge_sf_limits *limits, const edge_lease_table_params *params,
                              edge_sf_result *results, edge_sf_selection *out)
{
    edge_sf_selection best;
    bool no_memory = false;
    size_t i;

    if (out) {
        out->index = EDGE_SF_NONE;
        out->generation = 0;
        out->table = NULL;
    }
    if (!out || (!candidates && n > 0))
        return EDGE_SF_E_ARG;
    best = *out;
    for (i = 0; i < n; i++) {
        edge_lease_table *t = NULL;
        uint64_t gen = 0;
        edge_sf_result r =
            edge_sf_parse(candidates[i].data, candidates[i].len, limits, params, &t, &gen);
        if (results)
            results[i] = r;
        if (r == EDGE_SF_E_NO_MEMORY)
            no_memory = true;
        if (r != EDGE_SF_OK)
            continue;
        if (best.index == EDGE_SF_NONE || gen > best.generation) {
            edge_lease_table_destroy(best.table);
            best.index = i;
            best.generation = gen;
            best.table = t;
        } else {
            edge_lease_table_destroy(t);
        }
    }
    if (no_memory) {
        edge_lease_table_destroy(best.table);
        return EDGE_SF_E_NO_MEMORY;
    }
    if (best.index == EDGE_SF_NONE)
        return EDGE_SF_E_NONE_VALID;
    *out = best;
    return EDGE_SF_OK;
}
