/*
 * libFuzzer target for the state-file parser.  Each input is parsed twice: as given (header and
 * checksum checks) and with its checksum recomputed, so the record parser sees mutated records
 * instead of stopping at the checksum.  Whatever loads must serialize and load again identically.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edge/sha256.h"
#include "edge/state_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz_cmp {
    const edge_lease_table *other;
    int mismatch;
};

static bool fz_cmp_cb(const edge_lease_info *a, void *ctx)
{
    struct fz_cmp *c = ctx;
    edge_lease_info b;
    if (!edge_lease_table_get(c->other, a->id, &b) || strcmp(a->owner_sid, b.owner_sid) != 0 ||
        strcmp(a->image_path, b.image_path) != 0 || a->expires != b.expires ||
        a->created != b.created || a->port_lo != b.port_lo || a->port_hi != b.port_hi ||
        a->protocol != b.protocol || a->state != b.state || a->flags != b.flags ||
        a->edge_option != b.edge_option ||
        memcmp(a->image_sha256, b.image_sha256, sizeof(a->image_sha256)) != 0)
        c->mismatch = 1;
    return !c->mismatch;
}

static void fz_roundtrip(const edge_lease_table *t, uint64_t gen)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    edge_lease_table *again = NULL;
    uint64_t gen2 = 0;
    struct fz_cmp c;

    if (edge_sf_serialize(t, gen, &buf, &len) != EDGE_SF_OK)
        abort();
    if (edge_sf_parse(buf, len, NULL, NULL, &again, &gen2) != EDGE_SF_OK || gen2 != gen ||
        edge_lease_table_count(again) != edge_lease_table_count(t))
        abort();
    c.other = again;
    c.mismatch = 0;
    edge_lease_table_foreach(t, fz_cmp_cb, &c);
    if (c.mismatch)
        abort();
    edge_lease_table_destroy(again);
    edge_sf_buffer_free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    edge_lease_table *t = NULL;
    uint64_t gen = 0;
    uint8_t *copy;
    edge_sf_candidate cands[2];
    edge_sf_result results[2];
    edge_sf_selection sel;

    if (edge_sf_parse(data, size, NULL, NULL, &t, &gen) == EDGE_SF_OK) {
        fz_roundtrip(t, gen);
        edge_lease_table_destroy(t);
        t = NULL;
    }
    if (size < EDGE_SF_HEADER_LEN)
        return 0;
    copy = malloc(size);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    {
        edge_sha256_ctx ctx;
        edge_sha256_init(&ctx);
        edge_sha256_update(&ctx, copy, 40);
        edge_sha256_update(&ctx, copy + EDGE_SF_HEADER_LEN, size - EDGE_SF_HEADER_LEN);
        edge_sha256_final(&ctx, copy + 40);
    }
    if (edge_sf_parse(copy, size, NULL, NULL, &t, &gen) == EDGE_SF_OK) {
        fz_roundtrip(t, gen);
        edge_lease_table_destroy(t);
    }
    cands[0].data = data;
    cands[0].len = size;
    cands[1].data = copy;
    cands[1].len = size;
    if (edge_sf_select(cands, 2, NULL, NULL, results, &sel) == EDGE_SF_OK) {
        if (results[sel.index] != EDGE_SF_OK)
            abort();
        edge_lease_table_destroy(sel.table);
    }
    free(copy);
    return 0;
}
