/* TLV reader, canonical writer, validation and canonicalisation (see edge/tlv.h). */
#include "edge/tlv.h"
#include "edge/utf8.h"

#include <string.h>

void edge_tlv_reader_init(edge_tlv_reader *r, const uint8_t *p, size_t len)
{
    r->p = p;
    r->left = len;
}

bool edge_tlv_reader_done(const edge_tlv_reader *r)
{
    return r->left == 0;
}

edge_proto_err edge_tlv_next(edge_tlv_reader *r, edge_tlv *out)
{
    uint32_t len;

    if (r->left < EDGE_TLV_HEADER_SIZE)
        return EDGE_PROTO_E_TLV_OVERRUN;
    len = edge_le32(r->p + 4);
    /* left >= header size here, so the subtraction cannot wrap. */
    if (len > r->left - EDGE_TLV_HEADER_SIZE)
        return EDGE_PROTO_E_TLV_OVERRUN;
    if (r->p[3] != 0)
        return EDGE_PROTO_E_RESERVED_BITS;
    out->tag = (uint16_t)(edge_le16(r->p) & EDGE_TLV_TAG_MASK);
    out->critical = (edge_le16(r->p) & EDGE_TLV_CRITICAL) != 0;
    out->type = r->p[2];
    out->len = len;
    out->val = r->p + EDGE_TLV_HEADER_SIZE;
    r->p += EDGE_TLV_HEADER_SIZE + (size_t)len;
    r->left -= EDGE_TLV_HEADER_SIZE + (size_t)len;
    return EDGE_PROTO_OK;
}

/* Fixed value length of an integer type, 0 for other types. */
static uint32_t uint_width(uint8_t type)
{
    switch (type) {
    case EDGE_TLV_U8:
        return 1;
    case EDGE_TLV_U16:
        return 2;
    case EDGE_TLV_U32:
        return 4;
    case EDGE_TLV_U64:
        return 8;
    default:
        return 0;
    }
}

edge_proto_err edge_tlv_get_uint(const edge_tlv *t, uint64_t *v)
{
    uint32_t width = uint_width(t->type);

    *v = 0;
    if (width == 0)
        return EDGE_PROTO_E_BAD_TYPE;
    if (t->len != width)
        return EDGE_PROTO_E_BAD_LENGTH;
    switch (width) {
    case 1:
        *v = t->val[0];
        break;
    case 2:
        *v = edge_le16(t->val);
        break;
    case 4:
        *v = edge_le32(t->val);
        break;
    default:
        *v = edge_le64(t->val);
        break;
    }
    return EDGE_PROTO_OK;
}

static edge_proto_err validate_level(const uint8_t *p, size_t len, unsigned depth, bool is_list);

static edge_proto_err validate_value(const edge_tlv *t, unsigned depth)
{
    uint32_t width = uint_width(t->type);

    if (width != 0)
        return t->len == width ? EDGE_PROTO_OK : EDGE_PROTO_E_BAD_LENGTH;
    switch (t->type) {
    case EDGE_TLV_STRING:
        switch (edge_utf8_check(t->val, t->len)) {
        case EDGE_UTF8_OK:
            return EDGE_PROTO_OK;
        case EDGE_UTF8_NUL:
            return EDGE_PROTO_E_EMBEDDED_NUL;
        default:
            return EDGE_PROTO_E_BAD_UTF8;
        }
    case EDGE_TLV_RECORD:
    case EDGE_TLV_LIST:
        if (depth >= EDGE_TLV_MAX_DEPTH)
            return EDGE_PROTO_E_TOO_DEEP;
        return validate_level(t->val, t->len, depth + 1, t->type == EDGE_TLV_LIST);
    default:
        return EDGE_PROTO_OK; /* BYTES and future types are opaque */
    }
}

/*
 * One container level.  Duplicates are found with a small per-level array because the field
 * count is capped; that keeps validation allocation-free and O(64^2) per record at worst.
 */
static edge_proto_err validate_level(const uint8_t *p, size_t len, unsigned depth, bool is_list)
{
    uint16_t seen[EDGE_TLV_MAX_FIELDS];
    uint32_t n = 0;
    uint8_t elem_type = 0;
    edge_tlv_reader r;

    edge_tlv_reader_init(&r, p, len);
    while (!edge_tlv_reader_done(&r)) {
        edge_tlv t;
        edge_proto_err err = edge_tlv_next(&r, &t);
        if (err != EDGE_PROTO_OK)
            return err;
        if (is_list) {
            if (t.tag != 0 || t.critical)
                return EDGE_PROTO_E_BAD_TAG;
            if (n >= EDGE_TLV_MAX_ITEMS)
                return EDGE_PROTO_E_TOO_MANY;
            if (n == 0)
                elem_type = t.type;
            else if (t.type != elem_type)
                return EDGE_PROTO_E_BAD_TYPE;
        } else {
            if (t.tag == 0)
                return EDGE_PROTO_E_BAD_TAG;
            for (uint32_t i = 0; i < n; i++) {
                if (seen[i] == t.tag)
                    return EDGE_PROTO_E_DUPLICATE_TAG;
            }
            if (n >= EDGE_TLV_MAX_FIELDS)
                return EDGE_PROTO_E_TOO_MANY;
            seen[n] = t.tag;
        }
        n++;
        err = validate_value(&t, depth);
        if (err != EDGE_PROTO_OK)
            return err;
    }
    return EDGE_PROTO_OK;
}

edge_proto_err edge_tlv_validate(const uint8_t *body, size_t len)
{
    if (body == NULL && len != 0)
        return EDGE_PROTO_E_INVALID_ARG;
    if (len > EDGE_TLV_MAX_INPUT)
        return EDGE_PROTO_E_BODY_TOO_LARGE;
    return validate_level(body, len, 0, false);
}

static void canon_level(const uint8_t *p, size_t len, bool is_list, uint8_t *out, size_t *pos);

/* Copies one validated TLV, canonicalising nested containers. */
static void canon_tlv(const edge_tlv *t, uint8_t *out, size_t *pos)
{
    memcpy(out + *pos, t->val - EDGE_TLV_HEADER_SIZE, EDGE_TLV_HEADER_SIZE);
    *pos += EDGE_TLV_HEADER_SIZE;
    if (t->type == EDGE_TLV_RECORD || t->type == EDGE_TLV_LIST) {
        canon_level(t->val, t->len, t->type == EDGE_TLV_LIST, out, pos);
    } else {
        if (t->len != 0)
            memcpy(out + *pos, t->val, t->len);
        *pos += t->len;
    }
}

/*
 * Emits a validated level.  Records are emitted by repeated selection of the smallest tag above
 * the previous one: no sort buffer is needed, and with unique tags (validated) and at most
 * EDGE_TLV_MAX_FIELDS per record the quadratic scan stays small.
 */
static void canon_level(const uint8_t *p, size_t len, bool is_list, uint8_t *out, size_t *pos)
{
    edge_tlv_reader r;
    edge_tlv t;
    uint32_t prev = 0;

    if (is_list) {
        edge_tlv_reader_init(&r, p, len);
        while (!edge_tlv_reader_done(&r) && edge_tlv_next(&r, &t) == EDGE_PROTO_OK)
            canon_tlv(&t, out, pos);
        return;
    }
    for (;;) {
        edge_tlv best;
        bool found = false;

        edge_tlv_reader_init(&r, p, len);
        while (!edge_tlv_reader_done(&r) && edge_tlv_next(&r, &t) == EDGE_PROTO_OK) {
            if (t.tag > prev && (!found || t.tag < best.tag)) {
                best = t;
                found = true;
            }
        }
        if (!found)
            return;
        canon_tlv(&best, out, pos);
        prev = best.tag;
    }
}

edge_proto_err edge_tlv_canonicalize(const uint8_t *body, size_t len, uint8_t *out, size_t cap,
                                     size_t *out_len)
{
    edge_proto_err err;
    size_t pos = 0;

    *out_len = 0;
    err = edge_tlv_validate(body, len);
    if (err != EDGE_PROTO_OK)
        return err;
    if (len > 0 && out == NULL)
        return EDGE_PROTO_E_INVALID_ARG;
    if (cap < len)
        return EDGE_PROTO_E_BUFFER_TOO_SMALL;
    canon_level(body, len, false, out, &pos);
    *out_len = pos;
    return EDGE_PROTO_OK;
}

/* ---- writer ---- */

void edge_tlv_writer_init(edge_tlv_writer *w, uint8_t *buf, size_t cap)
{
    memset(w, 0, sizeof(*w));
    w->buf = buf;
    w->cap = buf != NULL ? cap : 0;
}

static void writer_fail(edge_tlv_writer *w, edge_proto_err err)
{
    if (w->err == EDGE_PROTO_OK)
        w->err = err;
}

/* Checks the tag rules of the current level and reserves room for header + value. */
static bool writer_header(edge_tlv_writer *w, uint16_t tag, uint8_t type, size_t len)
{
    unsigned d = w->depth;
    uint16_t num = (uint16_t)(tag & EDGE_TLV_TAG_MASK);
    uint8_t hdr[EDGE_TLV_HEADER_SIZE];

    if (w->err != EDGE_PROTO_OK)
        return false;
    if (w->list_type[d] != 0) {
        if (tag != 0 || type != w->list_type[d] || w->count[d] >= EDGE_TLV_MAX_ITEMS) {
            writer_fail(w, tag != 0 || type != w->list_type[d] ? EDGE_PROTO_E_ORDER
                                                               : EDGE_PROTO_E_TOO_MANY);
            return false;
        }
    } else {
        if (num == 0 || num <= w->last_tag[d]) {
            writer_fail(w, EDGE_PROTO_E_ORDER);
            return false;
        }
        if (w->count[d] >= EDGE_TLV_MAX_FIELDS) {
            writer_fail(w, EDGE_PROTO_E_TOO_MANY);
            return false;
        }
        w->last_tag[d] = num;
    }
    /* pos <= EDGE_TLV_MAX_INPUT always holds, so these sums cannot overflow. */
    if (len > EDGE_TLV_MAX_INPUT || w->pos + EDGE_TLV_HEADER_SIZE + len > EDGE_TLV_MAX_INPUT) {
        writer_fail(w, EDGE_PROTO_E_BODY_TOO_LARGE);
        return false;
    }
    w->count[d]++;
    edge_put_le16(hdr, tag);
    hdr[2] = type;
    hdr[3] = 0;
    edge_put_le32(hdr + 4, (uint32_t)len);
    if (w->pos + EDGE_TLV_HEADER_SIZE <= w->cap)
        memcpy(w->buf + w->pos, hdr, EDGE_TLV_HEADER_SIZE);
    w->pos += EDGE_TLV_HEADER_SIZE;
    return true;
}

static void writer_value(edge_tlv_writer *w, const void *p, size_t len)
{
    if (len != 0 && w->pos + len <= w->cap)
        memcpy(w->buf + w->pos, p, len);
    w->pos += len;
}

void edge_tlv_put_u8(edge_tlv_writer *w, uint16_t tag, uint8_t v)
{
    if (writer_header(w, tag, EDGE_TLV_U8, 1))
        writer_value(w, &v, 1);
}

void edge_tlv_put_u16(edge_tlv_writer *w, uint16_t tag, uint16_t v)
{
    uint8_t b[2];
    edge_put_le16(b, v);
    if (writer_header(w, tag, EDGE_TLV_U16, sizeof(b)))
        writer_value(w, b, sizeof(b));
}

void edge_tlv_put_u32(edge_tlv_writer *w, uint16_t tag, uint32_t v)
{
    uint8_t b[4];
    edge_put_le32(b, v);
    if (writer_header(w, tag, EDGE_TLV_U32, sizeof(b)))
        writer_value(w, b, sizeof(b));
}

void edge_tlv_put_u64(edge_tlv_writer *w, uint16_t tag, uint64_t v)
{
    uint8_t b[8];
    edge_put_le64(b, v);
    if (writer_header(w, tag, EDGE_TLV_U64, sizeof(b)))
        writer_value(w, b, sizeof(b));
}

void edge_tlv_put_bytes(edge_tlv_writer *w, uint16_t tag, const void *p, size_t len)
{
    if (p == NULL && len != 0) {
        writer_fail(w, EDGE_PROTO_E_INVALID_ARG);
        return;
    }
    if (writer_header(w, tag, EDGE_TLV_BYTES, len))
        writer_value(w, p, len);
}

void edge_tlv_put_str(edge_tlv_writer *w, uint16_t tag, const char *s, size_t len)
{
    if (s == NULL && len != 0) {
        writer_fail(w, EDGE_PROTO_E_INVALID_ARG);
        return;
    }
    switch (edge_utf8_check((const uint8_t *)s, len)) {
    case EDGE_UTF8_OK:
        break;
    case EDGE_UTF8_NUL:
        writer_fail(w, EDGE_PROTO_E_EMBEDDED_NUL);
        return;
    default:
        writer_fail(w, EDGE_PROTO_E_BAD_UTF8);
        return;
    }
    if (writer_header(w, tag, EDGE_TLV_STRING, len))
        writer_value(w, s, len);
}

static void writer_begin(edge_tlv_writer *w, uint16_t tag, uint8_t type, uint8_t elem_type)
{
    size_t at = w->pos;

    if (w->err != EDGE_PROTO_OK)
        return;
    if (w->depth >= EDGE_TLV_MAX_DEPTH) {
        writer_fail(w, EDGE_PROTO_E_TOO_DEEP);
        return;
    }
    if (!writer_header(w, tag, type, 0))
        return;
    w->open_at[w->depth] = at;
    w->depth++;
    w->last_tag[w->depth] = 0;
    w->list_type[w->depth] = elem_type;
    w->count[w->depth] = 0;
}

void edge_tlv_begin_record(edge_tlv_writer *w, uint16_t tag)
{
    writer_begin(w, tag, EDGE_TLV_RECORD, 0);
}

void edge_tlv_begin_list(edge_tlv_writer *w, uint16_t tag, uint8_t elem_type)
{
    if (elem_type == 0) {
        writer_fail(w, EDGE_PROTO_E_INVALID_ARG);
        return;
    }
    writer_begin(w, tag, EDGE_TLV_LIST, elem_type);
}

void edge_tlv_end(edge_tlv_writer *w)
{
    size_t at, len;

    if (w->err != EDGE_PROTO_OK)
        return;
    if (w->depth == 0) {
        writer_fail(w, EDGE_PROTO_E_INVALID_ARG);
        return;
    }
    w->depth--;
    at = w->open_at[w->depth];
    len = w->pos - at - EDGE_TLV_HEADER_SIZE;
    /* Patch the container's length now that its content is known. */
    if (at + EDGE_TLV_HEADER_SIZE <= w->cap)
        edge_put_le32(w->buf + at + 4, (uint32_t)len);
}

edge_proto_err edge_tlv_writer_finish(edge_tlv_writer *w, size_t *len)
{
    *len = 0;
    if (w->err != EDGE_PROTO_OK)
        return w->err;
    if (w->depth != 0)
        return EDGE_PROTO_E_INVALID_ARG;
    *len = w->pos;
    if (w->pos > w->cap)
        return EDGE_PROTO_E_BUFFER_TOO_SMALL;
    return EDGE_PROTO_OK;
}
