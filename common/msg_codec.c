/* Table-driven message encoder/decoder and list iterators (see edge/protocol.h). */
#include "msg_schema.h"
#include "edge/utf8.h"

#include <string.h>

/* ---- shared helpers ---- */

/* Which status-conditional requirements apply (records nested in lists use none). */
struct ctx {
    bool is_reply;
    uint32_t status;
};

static bool field_required(const struct field *f, const struct ctx *c)
{
    if (f->flags & F_REQ)
        return true;
    if ((f->flags & F_REQ_OK) && c->is_reply && c->status == EDGE_OK)
        return true;
    return (f->flags & F_REQ_PEND) && c->is_reply && c->status == EDGE_PENDING_CONSENT;
}

static uint8_t wire_type(const struct field *f)
{
    static const uint8_t map[] = {
        [K_U8] = EDGE_TLV_U8,       [K_U16] = EDGE_TLV_U16,       [K_U32] = EDGE_TLV_U32,
        [K_U64] = EDGE_TLV_U64,     [K_STR] = EDGE_TLV_STRING,    [K_BYTES] = EDGE_TLV_BYTES,
        [K_FIXED] = EDGE_TLV_BYTES, [K_RECORD] = EDGE_TLV_RECORD, [K_LIST] = EDGE_TLV_LIST,
    };
    return map[f->kind];
}

static edge_proto_err check_uint(const struct field *f, uint64_t v)
{
    if (f->flags & F_PROTO)
        return v == EDGE_IPPROTO_TCP || v == EDGE_IPPROTO_UDP ? EDGE_PROTO_OK
                                                              : EDGE_PROTO_E_BAD_VALUE;
    if (f->flags & F_MASK)
        return (v & ~f->hi) == 0 ? EDGE_PROTO_OK : EDGE_PROTO_E_BAD_VALUE;
    return v >= f->lo && v <= f->hi ? EDGE_PROTO_OK : EDGE_PROTO_E_BAD_VALUE;
}

static edge_proto_err check_len(const struct field *f, uint32_t len)
{
    if (len > f->max)
        return EDGE_PROTO_E_TOO_LONG;
    return len < f->lo ? EDGE_PROTO_E_BAD_VALUE : EDGE_PROTO_OK;
}

static void *at(void *base, size_t off)
{
    return (char *)base + off;
}

static const void *cat(const void *base, size_t off)
{
    return (const char *)base + off;
}

/* Largest record struct, for decoding list elements one by one on the stack. */
union any_record {
    edge_lease lease;
    edge_pending pending;
    edge_check check;
    edge_policy_entry policy;
};

/* ---- decoding ---- */

/* One schema applied to one struct while walking a body; envelope and verb share a body. */
struct part {
    const struct schema *s;
    void *base;
    uint64_t seen; /* bit i: field i was present */
};

static edge_proto_err decode_record(const struct schema *s, const uint8_t *p, size_t len,
                                    void *obj);

static edge_proto_err decode_list(const struct field *f, const edge_tlv *t, edge_list *out)
{
    edge_tlv_reader r;
    uint32_t n = 0;
    uint8_t want = f->sub != NULL ? EDGE_TLV_RECORD : EDGE_TLV_STRING;

    edge_tlv_reader_init(&r, t->val, t->len);
    while (!edge_tlv_reader_done(&r)) {
        edge_tlv el;
        edge_proto_err err = edge_tlv_next(&r, &el);
        if (err != EDGE_PROTO_OK)
            return err;
        if (el.type != want)
            return EDGE_PROTO_E_BAD_TYPE;
        if (n >= f->max)
            return EDGE_PROTO_E_TOO_MANY;
        if (f->sub != NULL) {
            union any_record tmp;
            err = decode_record(f->sub, el.val, el.len, &tmp);
            if (err != EDGE_PROTO_OK)
                return err;
        } else if (el.len > f->hi) {
            return EDGE_PROTO_E_TOO_LONG;
        }
        n++;
    }
    out->items = NULL;
    out->count = n;
    out->raw.ptr = t->val;
    out->raw.len = t->len;
    return EDGE_PROTO_OK;
}

static edge_proto_err decode_field(const struct field *f, const edge_tlv *t, void *base)
{
    edge_proto_err err;
    uint64_t v;
    void *dst = at(base, f->off);

    if (t->type != wire_type(f))
        return EDGE_PROTO_E_BAD_TYPE;
    switch (f->kind) {
    case K_U8:
    case K_U16:
    case K_U32:
    case K_U64:
        err = edge_tlv_get_uint(t, &v);
        if (err == EDGE_PROTO_OK)
            err = check_uint(f, v);
        if (err != EDGE_PROTO_OK)
            return err;
        if (f->kind == K_U8)
            *(uint8_t *)dst = (uint8_t)v;
        else if (f->kind == K_U16)
            *(uint16_t *)dst = (uint16_t)v;
        else if (f->kind == K_U32)
            *(uint32_t *)dst = (uint32_t)v;
        else
            *(uint64_t *)dst = v;
        break;
    case K_STR:
        err = check_len(f, t->len);
        if (err != EDGE_PROTO_OK)
            return err;
        /* UTF-8 and NUL were checked by edge_tlv_validate for every STRING in the body. */
        ((edge_str *)dst)->ptr = (const char *)t->val;
        ((edge_str *)dst)->len = t->len;
        break;
    case K_BYTES:
        err = check_len(f, t->len);
        if (err != EDGE_PROTO_OK)
            return err;
        ((edge_bytes *)dst)->ptr = t->val;
        ((edge_bytes *)dst)->len = t->len;
        break;
    case K_FIXED:
        if (t->len != f->max)
            return EDGE_PROTO_E_BAD_LENGTH;
        memcpy(dst, t->val, f->max);
        break;
    case K_RECORD:
        err = decode_record(f->sub, t->val, t->len, dst);
        if (err != EDGE_PROTO_OK)
            return err;
        break;
    default: /* K_LIST */
        err = decode_list(f, t, dst);
        if (err != EDGE_PROTO_OK)
            return err;
        break;
    }
    if (f->has_off != NO_HAS)
        *(bool *)at(base, f->has_off) = true;
    return EDGE_PROTO_OK;
}

/*
 * Walks the TLVs of one level and stores known fields.  The structure (bounds, duplicates,
 * UTF-8) was already validated, but the reader still bounds-checks every step.
 */
static edge_proto_err decode_walk(struct part *parts, size_t nparts, const uint8_t *p, size_t len)
{
    edge_tlv_reader r;

    edge_tlv_reader_init(&r, p, len);
    while (!edge_tlv_reader_done(&r)) {
        edge_tlv t;
        bool known = false;
        edge_proto_err err = edge_tlv_next(&r, &t);
        if (err != EDGE_PROTO_OK)
            return err;
        for (size_t k = 0; k < nparts && !known; k++) {
            for (size_t i = 0; i < parts[k].s->count; i++) {
                const struct field *f = &parts[k].s->fields[i];
                if (f->tag != t.tag)
                    continue;
                if (parts[k].seen & ((uint64_t)1 << i))
                    return EDGE_PROTO_E_DUPLICATE_TAG;
                err = decode_field(f, &t, parts[k].base);
                if (err != EDGE_PROTO_OK)
                    return err;
                parts[k].seen |= (uint64_t)1 << i;
                known = true;
                break;
            }
        }
        if (!known && t.critical)
            return EDGE_PROTO_E_UNKNOWN_CRITICAL;
    }
    return EDGE_PROTO_OK;
}

static edge_proto_err decode_finish(const struct part *pt, const struct ctx *c)
{
    for (size_t i = 0; i < pt->s->count; i++) {
        if (!(pt->seen & ((uint64_t)1 << i)) && field_required(&pt->s->fields[i], c))
            return EDGE_PROTO_E_MISSING_FIELD;
    }
    return pt->s->check != NULL ? pt->s->check(pt->base) : EDGE_PROTO_OK;
}

static edge_proto_err decode_record(const struct schema *s, const uint8_t *p, size_t len, void *obj)
{
    static const struct ctx no_ctx = {false, 0};
    struct part pt = {s, obj, 0};
    edge_proto_err err;

    memset(obj, 0, s->size);
    err = decode_walk(&pt, 1, p, len);
    if (err != EDGE_PROTO_OK)
        return err;
    return decode_finish(&pt, &no_ctx);
}

edge_proto_err edge_msg_decode(const uint8_t *frame, size_t len, edge_direction dir, edge_msg *out)
{
    edge_frame_header hdr;
    edge_proto_err err;
    const struct schema *env, *verb;
    struct part parts[2];
    size_t nparts = 0;
    struct ctx c;
    const uint8_t *body;

    memset(out, 0, sizeof(*out));
    err = edge_frame_parse_header(frame, len, &hdr);
    out->type = hdr.type;
    out->flags = hdr.flags;
    out->request_id = hdr.request_id;
    if (err != EDGE_PROTO_OK)
        return err;
    /* body_len <= EDGE_BODY_MAX was checked, so the sum cannot overflow. */
    if (len != EDGE_FRAME_HEADER_SIZE + (size_t)hdr.body_len)
        return EDGE_PROTO_E_LENGTH_MISMATCH;
    err = edge_schema_select(hdr.type, hdr.flags, dir, &env, &verb);
    if (err != EDGE_PROTO_OK)
        return err;
    if (hdr.type == EDGE_MSG_NOTICE && hdr.request_id != 0)
        return EDGE_PROTO_E_BAD_VALUE;
    body = frame + EDGE_FRAME_HEADER_SIZE;
    err = edge_tlv_validate(body, hdr.body_len);
    if (err != EDGE_PROTO_OK)
        return err;
    if (env != NULL)
        parts[nparts++] = (struct part){env, &out->env, 0};
    parts[nparts++] = (struct part){verb, &out->u, 0};
    err = decode_walk(parts, nparts, body, hdr.body_len);
    if (err != EDGE_PROTO_OK)
        return err;
    c.is_reply = (hdr.flags & EDGE_FRAME_F_REPLY) != 0;
    c.status = out->env.status;
    for (size_t k = 0; k < nparts; k++) {
        err = decode_finish(&parts[k], &c);
        if (err != EDGE_PROTO_OK)
            return err;
    }
    /* An absent port_hi means a single port; make the struct say so explicitly. */
    if (verb == &edge_schema_lease_req && !out->u.lease_req.has_port_hi)
        out->u.lease_req.port_hi = out->u.lease_req.port_lo;
    return EDGE_PROTO_OK;
}

/* ---- encoding ---- */

static edge_proto_err encode_fields(edge_tlv_writer *w, const struct schema *s, const void *base,
                                    const struct ctx *c);

static edge_proto_err encode_list(edge_tlv_writer *w, uint16_t tag, const struct field *f,
                                  const edge_list *l)
{
    static const struct ctx no_ctx = {false, 0};
    size_t stride = f->sub != NULL ? f->sub->size : sizeof(edge_str);

    if (l->count > f->max)
        return EDGE_PROTO_E_TOO_MANY;
    if (l->count != 0 && l->items == NULL)
        return EDGE_PROTO_E_INVALID_ARG;
    edge_tlv_begin_list(w, tag, f->sub != NULL ? EDGE_TLV_RECORD : EDGE_TLV_STRING);
    for (uint32_t i = 0; i < l->count; i++) {
        const void *item = cat(l->items, (size_t)i * stride);
        if (f->sub != NULL) {
            edge_proto_err err;
            edge_tlv_begin_record(w, 0);
            err = encode_fields(w, f->sub, item, &no_ctx);
            if (err != EDGE_PROTO_OK)
                return err;
            edge_tlv_end(w);
        } else {
            const edge_str *str = item;
            if (str->ptr == NULL)
                return EDGE_PROTO_E_INVALID_ARG;
            if (str->len > f->hi)
                return EDGE_PROTO_E_TOO_LONG;
            edge_tlv_put_str(w, 0, str->ptr, str->len);
        }
    }
    edge_tlv_end(w);
    return EDGE_PROTO_OK;
}

static bool field_present(const struct field *f, const void *base, const struct ctx *c)
{
    const void *src = cat(base, f->off);

    if (f->has_off != NO_HAS)
        return *(const bool *)cat(base, f->has_off);
    switch (f->kind) {
    case K_STR:
        return ((const edge_str *)src)->ptr != NULL;
    case K_BYTES:
        return ((const edge_bytes *)src)->ptr != NULL;
    case K_LIST:
        return ((const edge_list *)src)->count != 0 || field_required(f, c);
    default:
        return field_required(f, c);
    }
}

static edge_proto_err encode_field(edge_tlv_writer *w, const struct field *f, const void *base)
{
    uint16_t tag = (uint16_t)(f->tag | ((f->flags & F_CRIT) ? EDGE_TLV_CRITICAL : 0));
    const void *src = cat(base, f->off);
    static const struct ctx no_ctx = {false, 0};
    edge_proto_err err = EDGE_PROTO_OK;

    switch (f->kind) {
    case K_U8:
        err = check_uint(f, *(const uint8_t *)src);
        edge_tlv_put_u8(w, tag, *(const uint8_t *)src);
        break;
    case K_U16:
        err = check_uint(f, *(const uint16_t *)src);
        edge_tlv_put_u16(w, tag, *(const uint16_t *)src);
        break;
    case K_U32:
        err = check_uint(f, *(const uint32_t *)src);
        edge_tlv_put_u32(w, tag, *(const uint32_t *)src);
        break;
    case K_U64:
        err = check_uint(f, *(const uint64_t *)src);
        edge_tlv_put_u64(w, tag, *(const uint64_t *)src);
        break;
    case K_STR:
        err = check_len(f, ((const edge_str *)src)->len);
        if (err == EDGE_PROTO_OK)
            edge_tlv_put_str(w, tag, ((const edge_str *)src)->ptr, ((const edge_str *)src)->len);
        break;
    case K_BYTES:
        err = check_len(f, ((const edge_bytes *)src)->len);
        if (err == EDGE_PROTO_OK)
            edge_tlv_put_bytes(w, tag, ((const edge_bytes *)src)->ptr,
                               ((const edge_bytes *)src)->len);
        break;
    case K_FIXED:
        edge_tlv_put_bytes(w, tag, src, f->max);
        break;
    case K_RECORD:
        edge_tlv_begin_record(w, tag);
        err = encode_fields(w, f->sub, src, &no_ctx);
        edge_tlv_end(w);
        break;
    default: /* K_LIST */
        err = encode_list(w, tag, f, src);
        break;
    }
    return err;
}

static edge_proto_err encode_fields(edge_tlv_writer *w, const struct schema *s, const void *base,
                                    const struct ctx *c)
{
    edge_proto_err err;

    for (size_t i = 0; i < s->count; i++) {
        const struct field *f = &s->fields[i];
        if (!field_present(f, base, c)) {
            if (field_required(f, c))
                return EDGE_PROTO_E_MISSING_FIELD;
            continue;
        }
        err = encode_field(w, f, base);
        if (err != EDGE_PROTO_OK)
            return err;
    }
    /* Cross-field rules after the per-field ones, in the decoder's order. */
    return s->check != NULL ? s->check(base) : EDGE_PROTO_OK;
}

edge_proto_err edge_msg_encode(const edge_msg *msg, uint8_t *buf, size_t cap, size_t *out_len)
{
    const struct schema *env, *verb;
    edge_tlv_writer w;
    edge_frame_header hdr;
    edge_proto_err err;
    struct ctx c;
    size_t body_len = 0;
    bool room = buf != NULL && cap >= EDGE_FRAME_HEADER_SIZE;

    *out_len = 0;
    if (msg == NULL)
        return EDGE_PROTO_E_INVALID_ARG;
    if ((msg->flags & ~EDGE_FRAME_F_KNOWN) != 0)
        return EDGE_PROTO_E_RESERVED_BITS;
    err = edge_schema_select(msg->type, msg->flags,
                             (msg->flags & EDGE_FRAME_F_REPLY) || msg->type == EDGE_MSG_NOTICE
                                 ? EDGE_DIR_REPLY
                                 : EDGE_DIR_REQUEST,
                             &env, &verb);
    if (err != EDGE_PROTO_OK)
        return err;
    if (msg->type == EDGE_MSG_NOTICE && msg->request_id != 0)
        return EDGE_PROTO_E_BAD_VALUE;
    edge_tlv_writer_init(&w, room ? buf + EDGE_FRAME_HEADER_SIZE : NULL,
                         room ? cap - EDGE_FRAME_HEADER_SIZE : 0);
    c.is_reply = (msg->flags & EDGE_FRAME_F_REPLY) != 0;
    c.status = msg->env.status;
    /* Envelope tags (1..15) precede verb tags (16..), so this order is canonical. */
    if (env != NULL) {
        err = encode_fields(&w, env, &msg->env, &c);
        if (err != EDGE_PROTO_OK)
            return err;
    }
    err = encode_fields(&w, verb, &msg->u, &c);
    if (err != EDGE_PROTO_OK)
        return err;
    err = edge_tlv_writer_finish(&w, &body_len);
    if (err == EDGE_PROTO_OK && body_len > EDGE_BODY_MAX)
        err = EDGE_PROTO_E_BODY_TOO_LARGE;
    if (err == EDGE_PROTO_E_BUFFER_TOO_SMALL && body_len > EDGE_BODY_MAX)
        err = EDGE_PROTO_E_BODY_TOO_LARGE;
    if (err == EDGE_PROTO_OK && !room)
        err = EDGE_PROTO_E_BUFFER_TOO_SMALL;
    if (err == EDGE_PROTO_E_BUFFER_TOO_SMALL) {
        *out_len = EDGE_FRAME_HEADER_SIZE + body_len;
        return err;
    }
    if (err != EDGE_PROTO_OK)
        return err;
    hdr.magic = EDGE_PROTO_MAGIC;
    hdr.version = EDGE_PROTO_VERSION;
    hdr.type = msg->type;
    hdr.flags = msg->flags;
    hdr.reserved = 0;
    hdr.request_id = msg->request_id;
    hdr.body_len = (uint32_t)body_len;
    edge_frame_write_header(&hdr, buf);
    *out_len = EDGE_FRAME_HEADER_SIZE + body_len;
    return EDGE_PROTO_OK;
}

/* ---- list iterators ---- */

void edge_list_iter_init(edge_list_iter *it, const edge_list *list)
{
    edge_tlv_reader_init(&it->r, list->raw.ptr, list->raw.len);
}

static bool next_record(edge_list_iter *it, const struct schema *s, void *out, size_t size)
{
    union any_record tmp;
    edge_tlv t;

    if (edge_tlv_reader_done(&it->r) || edge_tlv_next(&it->r, &t) != EDGE_PROTO_OK)
        return false;
    if (t.type != EDGE_TLV_RECORD || t.tag != 0 || t.critical)
        goto fail;
    /* Reject what edge_tlv_validate would reject, so raw lists from elsewhere are safe too. */
    if (edge_tlv_validate(t.val, t.len) != EDGE_PROTO_OK)
        goto fail;
    if (decode_record(s, t.val, t.len, &tmp) != EDGE_PROTO_OK)
        goto fail;
    memcpy(out, &tmp, size);
    return true;
fail:
    it->r.left = 0; /* stop for good at the first bad element */
    return false;
}

bool edge_list_next_lease(edge_list_iter *it, edge_lease *out)
{
    return next_record(it, &edge_schema_lease, out, sizeof(*out));
}

bool edge_list_next_pending(edge_list_iter *it, edge_pending *out)
{
    return next_record(it, &edge_schema_pending, out, sizeof(*out));
}

bool edge_list_next_check(edge_list_iter *it, edge_check *out)
{
    return next_record(it, &edge_schema_check, out, sizeof(*out));
}

bool edge_list_next_policy(edge_list_iter *it, edge_policy_entry *out)
{
    return next_record(it, &edge_schema_policy, out, sizeof(*out));
}

bool edge_list_next_str(edge_list_iter *it, edge_str *out)
{
    edge_tlv t;

    out->ptr = NULL;
    out->len = 0;
    if (edge_tlv_reader_done(&it->r) || edge_tlv_next(&it->r, &t) != EDGE_PROTO_OK)
        return false;
    if (t.type != EDGE_TLV_STRING || t.tag != 0 || t.critical ||
        edge_utf8_check(t.val, t.len) != EDGE_UTF8_OK) {
        it->r.left = 0;
        return false;
    }
    out->ptr = (const char *)t.val;
    out->len = t.len;
    return true;
}
