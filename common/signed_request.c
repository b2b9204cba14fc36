/* Signed-request format: build, strict parse, binding checks; see edge/signed_request.h. */
#include "edge/signed_request.h"

#include <string.h>

#include "edge/path.h"
#include "edge/sha256.h"
#include "edge/tlv.h"
#include "edge/utf8.h"

static const char *const sr_names[EDGE_SR_RESULT_COUNT_] = {
    "EDGE_SR_OK",
    "EDGE_SR_E_ARG",
    "EDGE_SR_E_TOO_LARGE",
    "EDGE_SR_E_MALFORMED",
    "EDGE_SR_E_NOT_CANONICAL",
    "EDGE_SR_E_UNKNOWN_FIELD",
    "EDGE_SR_E_BAD_FIELD",
    "EDGE_SR_E_MISSING_FIELD",
    "EDGE_SR_E_BAD_VERSION",
    "EDGE_SR_E_BAD_VALUE",
    "EDGE_SR_E_BAD_PATH",
    "EDGE_SR_E_BUFFER",
    "EDGE_SR_E_EXPIRED",
    "EDGE_SR_E_NOT_YET_VALID",
    "EDGE_SR_E_WRONG_IMAGE_HASH",
    "EDGE_SR_E_WRONG_IMAGE_PATH",
    "EDGE_SR_E_WRONG_PROTOCOL",
    "EDGE_SR_E_WRONG_PORTS",
    "EDGE_SR_E_WRONG_EDGE_OPTION",
    "EDGE_SR_E_UNKNOWN_KEY",
    "EDGE_SR_E_BAD_SIGNATURE",
    "EDGE_SR_E_TEXT",
};

static const char *const sr_messages[EDGE_SR_RESULT_COUNT_] = {
    "valid",
    "invalid argument",
    "signed request is empty or too large",
    "signed request is not a well-formed TLV sequence",
    "signed request is not canonically encoded",
    "signed request contains an unknown field",
    "signed request field has the wrong type or length",
    "signed request lacks a required field",
    "signed request format version not supported",
    "signed request field value out of range",
    "signed request image path is not a canonical image path",
    "buffer too small",
    "signed request has expired",
    "signed request is not valid yet",
    "signed request is for another image (SHA-256 differs)",
    "signed request is for another image (path differs)",
    "signed request is for another protocol",
    "requested ports are outside the signed port range",
    "signed request names another edge traversal option",
    "signed request key is not trusted by policy",
    "signature does not verify",
    "malformed hex or base64 text",
};

const char *edge_sr_result_name(edge_sr_result r)
{
    if ((unsigned)r >= (unsigned)EDGE_SR_RESULT_COUNT_)
        return "EDGE_SR_UNKNOWN";
    return sr_names[r];
}

const char *edge_sr_result_message(edge_sr_result r)
{
    if ((unsigned)r >= (unsigned)EDGE_SR_RESULT_COUNT_)
        return "unknown signed-request result";
    return sr_messages[r];
}

edge_status edge_sr_result_status(edge_sr_result r)
{
    switch (r) {
    case EDGE_SR_OK:
        return EDGE_OK;
    case EDGE_SR_E_EXPIRED:
    case EDGE_SR_E_NOT_YET_VALID:
        return EDGE_E_EXPIRED;
    case EDGE_SR_E_WRONG_IMAGE_HASH:
    case EDGE_SR_E_WRONG_IMAGE_PATH:
        return EDGE_E_IDENTITY_MISMATCH;
    default:
        return EDGE_E_BAD_SIGNATURE;
    }
}

static bool sr_ascii_ieq(const char *a, const char *b, size_t len)
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

/* True when p[0..len) is a valid image path already in canonical form; no allocation. */
static bool sr_path_is_canonical(const char *p, size_t len)
{
    char buf[EDGE_MAX_PATH + 1];
    size_t out_len = 0;
    if (len == 0 || len > EDGE_MAX_PATH)
        return false;
    if (edge_path_canonicalize(p, len, buf, sizeof buf, &out_len) != EDGE_PATH_OK)
        return false;
    return out_len == len && memcmp(buf, p, len) == 0;
}

edge_sr_result edge_sr_fields_check(const edge_sr_fields *f)
{
    if (!f)
        return EDGE_SR_E_ARG;
    if (f->version != EDGE_SR_VERSION)
        return EDGE_SR_E_BAD_VERSION;
    if (!f->has_image_sha256 && !f->image_path.ptr)
        return EDGE_SR_E_MISSING_FIELD;
    if (f->image_path.ptr && !sr_path_is_canonical(f->image_path.ptr, f->image_path.len))
        return EDGE_SR_E_BAD_PATH;
    if (f->protocol != EDGE_IPPROTO_TCP && f->protocol != EDGE_IPPROTO_UDP)
        return EDGE_SR_E_BAD_VALUE;
    if (f->port_lo == 0 || f->port_hi < f->port_lo)
        return EDGE_SR_E_BAD_VALUE;
    if (f->edge_option != EDGE_TRAVERSAL_ALLOW && f->edge_option != EDGE_TRAVERSAL_DEFER_TO_APP)
        return EDGE_SR_E_BAD_VALUE;
    if (f->not_before > f->not_after)
        return EDGE_SR_E_BAD_VALUE;
    if (f->nonce.ptr && (f->nonce.len == 0 || f->nonce.len > EDGE_SR_NONCE_MAX))
        return EDGE_SR_E_BAD_VALUE;
    if (f->comment.ptr &&
        (f->comment.len > EDGE_SR_COMMENT_MAX ||
         edge_utf8_check((const uint8_t *)f->comment.ptr, f->comment.len) != EDGE_UTF8_OK))
        return EDGE_SR_E_BAD_VALUE;
    return EDGE_SR_OK;
}

static edge_sr_result sr_writer_result(edge_tlv_writer *w, size_t *out_len)
{
    size_t n = 0;
    edge_proto_err e = edge_tlv_writer_finish(w, &n);
    *out_len = 0;
    if (e == EDGE_PROTO_E_BUFFER_TOO_SMALL) {
        *out_len = n;
        return EDGE_SR_E_BUFFER;
    }
    if (e != EDGE_PROTO_OK)
        return EDGE_SR_E_BAD_VALUE;
    *out_len = n;
    return EDGE_SR_OK;
}

static void sr_write_fields(edge_tlv_writer *w, const edge_sr_fields *f)
{
    edge_tlv_put_u8(w, EDGE_SR_TAG_VERSION, f->version);
    edge_tlv_put_bytes(w, EDGE_SR_TAG_KEY_ID, f->key_id, EDGE_SR_KEY_ID_LEN);
    if (f->has_image_sha256)
        edge_tlv_put_bytes(w, EDGE_SR_TAG_IMAGE_SHA256, f->image_sha256, EDGE_SHA256_SIZE);
    if (f->image_path.ptr)
        edge_tlv_put_str(w, EDGE_SR_TAG_IMAGE_PATH, f->image_path.ptr, f->image_path.len);
    edge_tlv_put_u8(w, EDGE_SR_TAG_PROTOCOL, f->protocol);
    edge_tlv_put_u16(w, EDGE_SR_TAG_PORT_LO, f->port_lo);
    edge_tlv_put_u16(w, EDGE_SR_TAG_PORT_HI, f->port_hi);
    edge_tlv_put_u8(w, EDGE_SR_TAG_EDGE_OPTION, f->edge_option);
    edge_tlv_put_u64(w, EDGE_SR_TAG_NOT_BEFORE, f->not_before);
    edge_tlv_put_u64(w, EDGE_SR_TAG_NOT_AFTER, f->not_after);
    if (f->nonce.ptr)
        edge_tlv_put_bytes(w, EDGE_SR_TAG_NONCE, f->nonce.ptr, f->nonce.len);
    if (f->comment.ptr)
        edge_tlv_put_str(w, EDGE_SR_TAG_COMMENT, f->comment.ptr, f->comment.len);
}

edge_sr_result edge_sr_build_body(const edge_sr_fields *f, uint8_t *buf, size_t cap,
                                  size_t *out_len)
{
    edge_tlv_writer w;
    edge_sr_result r;

    if (!out_len)
        return EDGE_SR_E_ARG;
    *out_len = 0;
    if (!f || (!buf && cap != 0))
        return EDGE_SR_E_ARG;
    r = edge_sr_fields_check(f);
    if (r != EDGE_SR_OK)
        return r;
    edge_tlv_writer_init(&w, buf, cap);
    sr_write_fields(&w, f);
    return sr_writer_result(&w, out_len);
}

void edge_sr_digest(const uint8_t *body, size_t len, uint8_t out[EDGE_SHA256_SIZE])
{
    edge_sha256(body, len, out);
}

edge_sr_result edge_sr_assemble(const uint8_t *body, size_t body_len,
                                const uint8_t sig[EDGE_SR_SIG_LEN], uint8_t *buf, size_t cap,
                                size_t *out_len)
{
    uint8_t tmp[EDGE_MAX_SIGNED_REQUEST];
    edge_sr parsed;
    size_t n = 0;
    edge_sr_result r;
    size_t i;

    if (!out_len)
        return EDGE_SR_E_ARG;
    *out_len = 0;
    if (!body || !sig || (!buf && cap != 0))
        return EDGE_SR_E_ARG;
    if (body_len > EDGE_MAX_SIGNED_REQUEST)
        return EDGE_SR_E_TOO_LARGE;
    /*
     * The TLV writer cannot splice an encoded body into a record, so the two headers are written
     * by hand into a private buffer, and the result is parsed before anything reaches buf.
     */
    if (body_len + 2u * EDGE_TLV_HEADER_SIZE + EDGE_SR_SIG_LEN > EDGE_MAX_SIGNED_REQUEST)
        return EDGE_SR_E_TOO_LARGE;
    edge_put_le16(tmp, EDGE_SR_TAG_BODY);
    tmp[2] = (uint8_t)EDGE_TLV_RECORD;
    tmp[3] = 0;
    edge_put_le32(tmp + 4, (uint32_t)body_len);
    memcpy(tmp + EDGE_TLV_HEADER_SIZE, body, body_len);
    n = EDGE_TLV_HEADER_SIZE + body_len;
    edge_put_le16(tmp + n, EDGE_SR_TAG_SIGNATURE);
    tmp[n + 2] = (uint8_t)EDGE_TLV_BYTES;
    tmp[n + 3] = 0;
    edge_put_le32(tmp + n + 4, EDGE_SR_SIG_LEN);
    for (i = 0; i < EDGE_SR_SIG_LEN; i++)
        tmp[n + EDGE_TLV_HEADER_SIZE + i] = sig[i];
    n += EDGE_TLV_HEADER_SIZE + EDGE_SR_SIG_LEN;

    r = edge_sr_parse(tmp, n, &parsed);
    if (r != EDGE_SR_OK)
        return r;
    *out_len = n;
    if (cap < n)
        return EDGE_SR_E_BUFFER;
    memcpy(buf, tmp, n);
    return EDGE_SR_OK;
}

/* Reads one body field into f; the TLV's tag is known to be in 1..12. */
static edge_sr_result sr_read_field(const edge_tlv *t, edge_sr_fields *f)
{
    uint64_t v = 0;
    switch (t->tag) {
    case EDGE_SR_TAG_VERSION:
    case EDGE_SR_TAG_PROTOCOL:
    case EDGE_SR_TAG_EDGE_OPTION:
        if (t->type != EDGE_TLV_U8 || edge_tlv_get_uint(t, &v) != EDGE_PROTO_OK)
            return EDGE_SR_E_BAD_FIELD;
        if (t->tag == EDGE_SR_TAG_VERSION)
            f->version = (uint8_t)v;
        else if (t->tag == EDGE_SR_TAG_PROTOCOL)
            f->protocol = (uint8_t)v;
        else
            f->edge_option = (uint8_t)v;
        return EDGE_SR_OK;
    case EDGE_SR_TAG_PORT_LO:
    case EDGE_SR_TAG_PORT_HI:
        if (t->type != EDGE_TLV_U16 || edge_tlv_get_uint(t, &v) != EDGE_PROTO_OK)
            return EDGE_SR_E_BAD_FIELD;
        if (t->tag == EDGE_SR_TAG_PORT_LO)
            f->port_lo = (uint16_t)v;
        else
            f->port_hi = (uint16_t)v;
        return EDGE_SR_OK;
    case EDGE_SR_TAG_NOT_BEFORE:
    case EDGE_SR_TAG_NOT_AFTER:
        if (t->type != EDGE_TLV_U64 || edge_tlv_get_uint(t, &v) != EDGE_PROTO_OK)
            return EDGE_SR_E_BAD_FIELD;
        if (t->tag == EDGE_SR_TAG_NOT_BEFORE)
            f->not_before = v;
        else
            f->not_after = v;
        return EDGE_SR_OK;
    case EDGE_SR_TAG_KEY_ID:
        if (t->type != EDGE_TLV_BYTES || t->len != EDGE_SR_KEY_ID_LEN)
            return EDGE_SR_E_BAD_FIELD;
        memcpy(f->key_id, t->val, EDGE_SR_KEY_ID_LEN);
        return EDGE_SR_OK;
    case EDGE_SR_TAG_IMAGE_SHA256:
        if (t->type != EDGE_TLV_BYTES || t->len != EDGE_SHA256_SIZE)
            return EDGE_SR_E_BAD_FIELD;
        memcpy(f->image_sha256, t->val, EDGE_SHA256_SIZE);
        f->has_image_sha256 = true;
        return EDGE_SR_OK;
    case EDGE_SR_TAG_IMAGE_PATH:
    case EDGE_SR_TAG_COMMENT:
        if (t->type != EDGE_TLV_STRING)
            return EDGE_SR_E_BAD_FIELD;
        if (t->tag == EDGE_SR_TAG_IMAGE_PATH) {
            /* A non-NULL pointer marks presence even for an empty value (rejected later). */
            f->image_path.ptr = t->len ? (const char *)t->val : "";
            f->image_path.len = t->len;
        } else {
            f->comment.ptr = t->len ? (const char *)t->val : "";
            f->comment.len = t->len;
        }
        return EDGE_SR_OK;
    case EDGE_SR_TAG_NONCE:
        if (t->type != EDGE_TLV_BYTES)
            return EDGE_SR_E_BAD_FIELD;
        f->nonce.ptr = t->len ? t->val : (const uint8_t *)"";
        f->nonce.len = t->len;
        return EDGE_SR_OK;
    default:
        return EDGE_SR_E_UNKNOWN_FIELD;
    }
}

#define SR_REQUIRED_MASK                                                                           \
    ((1u << EDGE_SR_TAG_VERSION) | (1u << EDGE_SR_TAG_KEY_ID) | (1u << EDGE_SR_TAG_PROTOCOL) |     \
     (1u << EDGE_SR_TAG_PORT_LO) | (1u << EDGE_SR_TAG_PORT_HI) | (1u << EDGE_SR_TAG_EDGE_OPTION) | \
     (1u << EDGE_SR_TAG_NOT_BEFORE) | (1u << EDGE_SR_TAG_NOT_AFTER))

static edge_sr_result sr_parse_body(const uint8_t *p, size_t len, edge_sr_fields *f)
{
    edge_tlv_reader rd;
    uint32_t seen = 0;

    edge_tlv_reader_init(&rd, p, len);
    while (!edge_tlv_reader_done(&rd)) {
        edge_tlv t;
        edge_sr_result r;
        if (edge_tlv_next(&rd, &t) != EDGE_PROTO_OK)
            return EDGE_SR_E_MALFORMED;
        if (t.tag < EDGE_SR_TAG_VERSION || t.tag > EDGE_SR_TAG_COMMENT)
            return EDGE_SR_E_UNKNOWN_FIELD;
        if (t.critical)
            return EDGE_SR_E_NOT_CANONICAL;
        r = sr_read_field(&t, f);
        if (r != EDGE_SR_OK)
            return r;
        seen |= 1u << t.tag;
    }
    if ((seen & SR_REQUIRED_MASK) != SR_REQUIRED_MASK)
        return EDGE_SR_E_MISSING_FIELD;
    return edge_sr_fields_check(f);
}

edge_sr_result edge_sr_parse(const uint8_t *blob, size_t len, edge_sr *out)
{
    uint8_t canon[EDGE_MAX_SIGNED_REQUEST];
    size_t canon_len = 0;
    edge_tlv_reader rd;
    edge_tlv body, sig;

    if (!out)
        return EDGE_SR_E_ARG;
    memset(out, 0, sizeof *out);
    if (!blob && len != 0)
        return EDGE_SR_E_ARG;
    if (len == 0 || len > EDGE_MAX_SIGNED_REQUEST)
        return EDGE_SR_E_TOO_LARGE;
    if (edge_tlv_validate(blob, len) != EDGE_PROTO_OK)
        return EDGE_SR_E_MALFORMED;
    /* One encoding per request: re-canonicalise and demand the very same bytes. */
    if (edge_tlv_canonicalize(blob, len, canon, sizeof canon, &canon_len) != EDGE_PROTO_OK)
        return EDGE_SR_E_MALFORMED;
    if (canon_len != len || memcmp(canon, blob, len) != 0)
        return EDGE_SR_E_NOT_CANONICAL;

    edge_tlv_reader_init(&rd, blob, len);
    if (edge_tlv_reader_done(&rd) || edge_tlv_next(&rd, &body) != EDGE_PROTO_OK)
        return EDGE_SR_E_MISSING_FIELD;
    if (body.tag != EDGE_SR_TAG_BODY)
        return body.tag > EDGE_SR_TAG_SIGNATURE ? EDGE_SR_E_UNKNOWN_FIELD : EDGE_SR_E_MISSING_FIELD;
    if (body.critical)
        return EDGE_SR_E_NOT_CANONICAL;
    if (body.type != EDGE_TLV_RECORD)
        return EDGE_SR_E_BAD_FIELD;
    if (edge_tlv_reader_done(&rd) || edge_tlv_next(&rd, &sig) != EDGE_PROTO_OK)
        return EDGE_SR_E_MISSING_FIELD;
    if (sig.tag != EDGE_SR_TAG_SIGNATURE)
        return EDGE_SR_E_UNKNOWN_FIELD;
    if (sig.critical)
        return EDGE_SR_E_NOT_CANONICAL;
    if (sig.type != EDGE_TLV_BYTES || sig.len != EDGE_SR_SIG_LEN)
        return EDGE_SR_E_BAD_FIELD;
    if (!edge_tlv_reader_done(&rd))
        return EDGE_SR_E_UNKNOWN_FIELD;

    {
        edge_sr_result r = sr_parse_body(body.val, body.len, &out->fields);
        if (r != EDGE_SR_OK) {
            memset(out, 0, sizeof *out);
            return r;
        }
    }
    out->body.ptr = body.val;
    out->body.len = body.len;
    memcpy(out->signature, sig.val, EDGE_SR_SIG_LEN);
    return EDGE_SR_OK;
}

edge_sr_result edge_sr_check(const edge_sr_fields *f, const edge_sr_subject *s, uint64_t now,
                             uint32_t skew)
{
    uint64_t lower, upper;

    if (!f || !s)
        return EDGE_SR_E_ARG;
    lower = f->not_before > skew ? f->not_before - skew : 0;
    upper = f->not_after > UINT64_MAX - skew ? UINT64_MAX : f->not_after + skew;
    if (now < lower)
        return EDGE_SR_E_NOT_YET_VALID;
    if (now > upper)
        return EDGE_SR_E_EXPIRED;
    if (f->has_image_sha256 &&
        (!s->image_sha256 || memcmp(f->image_sha256, s->image_sha256, EDGE_SHA256_SIZE) != 0))
        return EDGE_SR_E_WRONG_IMAGE_HASH;
    if (f->image_path.ptr && (!s->image_path || s->image_path_len != f->image_path.len ||
                              !sr_ascii_ieq(f->image_path.ptr, s->image_path, f->image_path.len)))
        return EDGE_SR_E_WRONG_IMAGE_PATH;
    if (f->protocol != s->protocol)
        return EDGE_SR_E_WRONG_PROTOCOL;
    if (s->port_lo > s->port_hi || s->port_lo < f->port_lo || s->port_hi > f->port_hi)
        return EDGE_SR_E_WRONG_PORTS;
    if (f->edge_option != s->edge_option)
        return EDGE_SR_E_WRONG_EDGE_OPTION;
    return EDGE_SR_OK;
}

void edge_sr_key_id(const uint8_t pub[EDGE_SR_PUBKEY_LEN], uint8_t id[EDGE_SR_KEY_ID_LEN])
{
    uint8_t d[EDGE_SHA256_SIZE];
    edge_sha256(pub, EDGE_SR_PUBKEY_LEN, d);
    memcpy(id, d, EDGE_SR_KEY_ID_LEN);
}

/* ---- text encodings ---- */

edge_sr_result edge_sr_hex_encode(const uint8_t *p, size_t len, char *out, size_t cap)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;
    if (!out || (!p && len != 0))
        return EDGE_SR_E_ARG;
    if (len > (SIZE_MAX - 1) / 2 || cap < 2 * len + 1) {
        if (cap > 0)
            out[0] = '\0';
        return EDGE_SR_E_BUFFER;
    }
    for (i = 0; i < len; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 0xF];
    }
    out[2 * len] = '\0';
    return EDGE_SR_OK;
}

static int sr_hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

edge_sr_result edge_sr_hex_decode(const char *text, size_t text_len, uint8_t *out, size_t out_cap,
                                  size_t *out_len)
{
    size_t i;
    if (!out_len)
        return EDGE_SR_E_ARG;
    *out_len = 0;
    if ((!text && text_len != 0) || (!out && out_cap != 0))
        return EDGE_SR_E_ARG;
    if (text_len % 2 != 0)
        return EDGE_SR_E_TEXT;
    for (i = 0; i < text_len; i++)
        if (sr_hex_val(text[i]) < 0)
            return EDGE_SR_E_TEXT;
    if (out_cap < text_len / 2)
        return EDGE_SR_E_BUFFER;
    for (i = 0; i < text_len / 2; i++)
        out[i] = (uint8_t)((sr_hex_val(text[2 * i]) << 4) | sr_hex_val(text[2 * i + 1]));
    *out_len = text_len / 2;
    return EDGE_SR_OK;
}

static const char sr_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t edge_sr_base64_len(size_t len)
{
    return (len / 3 + (len % 3 != 0)) * 4;
}

edge_sr_result edge_sr_base64_encode(const uint8_t *p, size_t len, char *out, size_t cap)
{
    size_t i, o = 0;
    if (!out || (!p && len != 0))
        return EDGE_SR_E_ARG;
    if (len > (SIZE_MAX / 4) * 3 - 3 || cap < edge_sr_base64_len(len) + 1) {
        if (cap > 0)
            out[0] = '\0';
        return EDGE_SR_E_BUFFER;
    }
    for (i = 0; i + 2 < len; i += 3) {
        uint32_t v = ((uint32_t)p[i] << 16) | ((uint32_t)p[i + 1] << 8) | p[i + 2];
        out[o++] = sr_b64[(v >> 18) & 63];
        out[o++] = sr_b64[(v >> 12) & 63];
        out[o++] = sr_b64[(v >> 6) & 63];
        out[o++] = sr_b64[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        out[o++] = sr_b64[(v >> 18) & 63];
        out[o++] = sr_b64[(v >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (len - i == 2) {
        uint32_t v = ((uint32_t)p[i] << 16) | ((uint32_t)p[i + 1] << 8);
        out[o++] = sr_b64[(v >> 18) & 63];
        out[o++] = sr_b64[(v >> 12) & 63];
        out[o++] = sr_b64[(v >> 6) & 63];
        out[o++] = '=';
    }
    out[o] = '\0';
    return EDGE_SR_OK;
}

static int sr_b64_val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

static bool sr_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

edge_sr_result edge_sr_base64_decode(const char *text, size_t text_len, uint8_t *out,
                                     size_t out_cap, size_t *out_len)
{
    int quad[4];
    size_t q = 0, i, o = 0, pad = 0;
    bool ended = false;

    if (!out_len)
        return EDGE_SR_E_ARG;
    *out_len = 0;
    if ((!text && text_len != 0) || (!out && out_cap != 0))
        return EDGE_SR_E_ARG;
    for (i = 0; i < text_len; i++) {
        char c = text[i];
        int v;
        if (sr_is_space(c))
            continue;
        if (ended)
            return EDGE_SR_E_TEXT; /* data after the padded final group */
        if (c == '=') {
            if (q < 2)
                return EDGE_SR_E_TEXT;
            v = 0;
            pad++;
        } else {
            if (pad)
                return EDGE_SR_E_TEXT; /* '=' inside the group */
            v = sr_b64_val(c);
            if (v < 0)
                return EDGE_SR_E_TEXT;
        }
        quad[q++] = v;
        if (q < 4)
            continue;
        {
            uint32_t w = ((uint32_t)quad[0] << 18) | ((uint32_t)quad[1] << 12) |
                         ((uint32_t)quad[2] << 6) | (uint32_t)quad[3];
            size_t n = 3 - pad;
            /* Non-zero unused bits would give a second spelling of the same bytes. */
            if ((pad == 1 && (w & 0xFFu) != 0) || (pad == 2 && (w & 0xFFFFu) != 0))
                return EDGE_SR_E_TEXT;
            if (out_cap - o < n) {
                *out_len = 0;
                return EDGE_SR_E_BUFFER;
            }
            out[o++] = (uint8_t)(w >> 16);
            if (n > 1)
                out[o++] = (uint8_t)(w >> 8);
            if (n > 2)
                out[o++] = (uint8_t)w;
            if (pad)
                ended = true;
            q = 0;
        }
    }
    if (q != 0)
        return EDGE_SR_E_TEXT;
    *out_len = o;
    return EDGE_SR_OK;
}

edge_sr_result edge_sr_pubkey_from_text(const char *text, size_t len,
                                        uint8_t pub[EDGE_SR_PUBKEY_LEN])
{
    size_t start = 0, end = len, n = 0;
    edge_sr_result r;

    if (!pub || (!text && len != 0))
        return EDGE_SR_E_ARG;
    memset(pub, 0, EDGE_SR_PUBKEY_LEN);
    while (start < end && sr_is_space(text[start]))
        start++;
    while (end > start && sr_is_space(text[end - 1]))
        end--;
    if (end - start != EDGE_SR_PUBKEY_HEX_LEN)
        return EDGE_SR_E_TEXT;
    r = edge_sr_hex_decode(text + start, end - start, pub, EDGE_SR_PUBKEY_LEN, &n);
    if (r != EDGE_SR_OK)
        return r;
    if (pub[0] != 0x04) {
        memset(pub, 0, EDGE_SR_PUBKEY_LEN);
        return EDGE_SR_E_BAD_VALUE;
    }
    return EDGE_SR_OK;
}
