/*
 * libFuzzer target for the frame decoder and the canonical re-encoder (docs/protocol.md §2-§9).
 *
 * For each input, in both directions, and once more with the header patched to be valid so the
 * body parser is reached more often:
 *   - edge_msg_decode must not crash, read out of bounds or leak;
 *   - a frame that decodes must re-encode (lists re-materialised through the iterators), the
 *     re-encoded frame must decode, and encoding that again must give identical bytes;
 *   - canonicalising a valid body twice gives the same bytes, and the frame with the canonical
 *     body decodes exactly when the original does (field order never matters).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edge/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t patched[EDGE_FRAME_MAX];
static uint8_t enc1[EDGE_FRAME_MAX];
static uint8_t enc2[EDGE_FRAME_MAX];
static uint8_t canon[EDGE_FRAME_MAX];
static uint8_t canon2[EDGE_FRAME_MAX];

static edge_lease leases[EDGE_MAX_LIST_ITEMS];
static edge_pending pendings[EDGE_MAX_LIST_ITEMS];
static edge_check checks[EDGE_MAX_LIST_ITEMS];
static edge_policy_entry policies[EDGE_MAX_LIST_ITEMS];
static edge_str lines[EDGE_MAX_LIST_ITEMS];

/* Which list (if any) a decoded message carries, and which iterator reads it. */
enum list_kind { L_NONE, L_LEASE, L_PENDING, L_CHECK, L_POLICY, L_STR };

static edge_list *list_of(edge_msg *m, enum list_kind *kind)
{
    *kind = L_NONE;
    if (!(m->flags & EDGE_FRAME_F_REPLY))
        return NULL;
    switch (m->type) {
    case EDGE_MSG_LIST:
        *kind = L_LEASE;
        return &m->u.list_rep.items;
    case EDGE_MSG_PENDING:
        *kind = L_PENDING;
        return &m->u.list_rep.items;
    case EDGE_MSG_STATUS:
        *kind = L_CHECK;
        return &m->u.status_rep.checks;
    case EDGE_MSG_DOCTOR:
        *kind = L_CHECK;
        return &m->u.entries_rep.items;
    case EDGE_MSG_POLICY:
        *kind = L_POLICY;
        return &m->u.entries_rep.items;
    case EDGE_MSG_EXPLAIN:
        *kind = L_STR;
        return &m->u.explain_rep.trace;
    default:
        return NULL;
    }
}

/* Turns a decoded list view into an item array so the message can be encoded again. */
static void materialise(edge_msg *m)
{
    enum list_kind kind;
    edge_list *l = list_of(m, &kind);
    edge_list_iter it;
    uint32_t n = 0;
    bool ok = true;
    edge_str extra;

    if (l == NULL || l->count == 0)
        return;
    edge_list_iter_init(&it, l);
    while (n < l->count && ok) {
        switch (kind) {
        case L_LEASE:
            ok = edge_list_next_lease(&it, &leases[n]);
            l->items = leases;
            break;
        case L_PENDING:
            ok = edge_list_next_pending(&it, &pendings[n]);
            l->items = pendings;
            break;
        case L_CHECK:
            ok = edge_list_next_check(&it, &checks[n]);
            l->items = checks;
            break;
        case L_POLICY:
            ok = edge_list_next_policy(&it, &policies[n]);
            l->items = policies;
            break;
        default:
            ok = edge_list_next_str(&it, &lines[n]);
            l->items = lines;
            break;
        }
        if (ok)
            n++;
    }
    /* Every element of a decoded list must iterate, and nothing may follow the last. */
    if (n != l->count || edge_list_next_str(&it, &extra))
        abort();
}

static void check_reencode(const uint8_t *frame, size_t size, edge_direction dir)
{
    edge_msg m, m2;
    size_t n1 = 0, n2 = 0, clen = 0, clen2 = 0;
    edge_proto_err err = edge_msg_decode(frame, size, dir, &m);
    edge_proto_err cerr;

    if (err == EDGE_PROTO_OK) {
        materialise(&m);
        if (edge_msg_encode(&m, enc1, sizeof(enc1), &n1) != EDGE_PROTO_OK)
            abort(); /* whatever decodes must encode */
        if (edge_msg_decode(enc1, n1, dir, &m2) != EDGE_PROTO_OK)
            abort();
        materialise(&m2);
        if (edge_msg_encode(&m2, enc2, sizeof(enc2), &n2) != EDGE_PROTO_OK)
            abort();
        if (n1 != n2 || memcmp(enc1, enc2, n1) != 0)
            abort(); /* decode -> encode is a fixed point after one step */
        /* Encoder output is canonical. */
        if (edge_tlv_canonicalize(enc1 + EDGE_FRAME_HEADER_SIZE, n1 - EDGE_FRAME_HEADER_SIZE, canon,
                                  sizeof(canon), &clen) != EDGE_PROTO_OK ||
            clen != n1 - EDGE_FRAME_HEADER_SIZE ||
            memcmp(canon, enc1 + EDGE_FRAME_HEADER_SIZE, clen) != 0)
            abort();
    }

    if (size < EDGE_FRAME_HEADER_SIZE)
        return;
    cerr = edge_tlv_canonicalize(frame + EDGE_FRAME_HEADER_SIZE, size - EDGE_FRAME_HEADER_SIZE,
                                 canon + EDGE_FRAME_HEADER_SIZE,
                                 sizeof(canon) - EDGE_FRAME_HEADER_SIZE, &clen);
    if (cerr != EDGE_PROTO_OK) {
        /* A body that is not structurally valid can never decode. */
        if (err == EDGE_PROTO_OK)
            abort();
        return;
    }
    if (clen != size - EDGE_FRAME_HEADER_SIZE)
        abort();
    if (edge_tlv_canonicalize(canon + EDGE_FRAME_HEADER_SIZE, clen, canon2, sizeof(canon2),
                              &clen2) != EDGE_PROTO_OK ||
        clen2 != clen || memcmp(canon2, canon + EDGE_FRAME_HEADER_SIZE, clen) != 0)
        abort(); /* canonicalisation is idempotent */
    memcpy(canon, frame, EDGE_FRAME_HEADER_SIZE);
    if ((edge_msg_decode(canon, size, dir, &m2) == EDGE_PROTO_OK) != (err == EDGE_PROTO_OK))
        abort(); /* reordering fields never changes whether a frame is accepted */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    edge_frame_header h;

    if (size > EDGE_FRAME_MAX)
        return 0;
    (void)edge_frame_parse_header(data, size, &h);
    check_reencode(data, size, EDGE_DIR_REQUEST);
    check_reencode(data, size, EDGE_DIR_REPLY);

    if (size >= EDGE_FRAME_HEADER_SIZE) {
        memcpy(patched, data, size);
        edge_put_le32(patched, EDGE_PROTO_MAGIC);
        edge_put_le16(patched + 4, EDGE_PROTO_VERSION);
        edge_put_le16(patched + 8, (uint16_t)(edge_le16(patched + 8) & EDGE_FRAME_F_KNOWN));
        edge_put_le16(patched + 10, 0);
        edge_put_le32(patched + 16, (uint32_t)(size - EDGE_FRAME_HEADER_SIZE));
        check_reencode(patched, size, EDGE_DIR_REQUEST);
        check_reencode(patched, size, EDGE_DIR_REPLY);
    }
    return 0;
}
