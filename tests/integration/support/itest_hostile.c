/*
 * Malformed-frame generator for test_hostile (itest_hostile.h).
 */
#include "itest_hostile.h"

#include "edge/signed_request.h"

#include <string.h>

#define REPLY_MS   3000u
#define TARGET_APP "C:\\AAAAAAAAAAAAAAAA.exe"
#define MARK       "AAAAAAAAAAAAAAAA"

static uint32_t rnd_(uint32_t *rng)
{
    /* xorshift32: deterministic for a printed seed */
    *rng ^= *rng << 13;
    *rng ^= *rng >> 17;
    *rng ^= *rng << 5;
    return *rng;
}

#define rnd() rnd_(rng)

const char *hostile_kind_name(enum hostile_kind k)
{
    static const char *const names[HOSTILE_KIND_COUNT] = {
        "random",   "short",    "truncated", "magic",       "version",
        "hdr_bits", "body_len", "tlv_len",   "tlv_type",    "dup_tag",
        "critical", "bad_utf8", "nul",       "signed_blob", "oversize"};
    return (unsigned)k < HOSTILE_KIND_COUNT ? names[k] : "?";
}

enum hostile_kind hostile_pick(unsigned i)
{
    return i % 100 == 99 ? HK_OVERSIZE : (enum hostile_kind)(i % HK_OVERSIZE);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)v);
    put16(p + 2, (uint16_t)(v >> 16));
}

static size_t encode(const edge_lease_req *r, uint8_t *buf, uint32_t *rng)
{
    edge_msg m;
    size_t len = 0;

    memset(&m, 0, sizeof(m));
    m.type = EDGE_MSG_REQUEST;
    m.request_id = rnd();
    m.u.lease_req = *r;
    return edge_msg_encode(&m, buf, HOSTILE_FRAME_CAP, &len) == EDGE_PROTO_OK ? len : 0;
}

static size_t base_frame(uint8_t *buf, uint32_t *rng)
{
    edge_lease_req r = itest_lease_req(EDGE_IPPROTO_TCP, 46001);

    r.target_app = edge_str_from_cstr(TARGET_APP);
    return encode(&r, buf, rng);
}

/* Offset of the target_app string bytes in a base frame. */
static size_t mark_at(const uint8_t *buf, size_t len)
{
    size_t i, n = sizeof(MARK) - 1;

    for (i = 0; i + n <= len; i++)
        if (memcmp(buf + i, MARK, n) == 0)
            return i;
    return 0;
}

/* A REQUEST carrying a signed_request that cannot verify: random bytes, or a well-formed blob
 * for this request with an unknown key whose body was then damaged. */
static size_t blob_frame(uint8_t *buf, uint32_t *rng)
{
    uint8_t blob[EDGE_MAX_SIGNED_REQUEST], body[EDGE_MAX_SIGNED_REQUEST];
    edge_lease_req r = itest_lease_req(EDGE_IPPROTO_TCP, 46002);
    size_t n = 0, blen = 0, i;

    if (rnd() & 1) {
        n = 1 + rnd() % EDGE_MAX_SIGNED_REQUEST;
        for (i = 0; i < n; i++)
            blob[i] = (uint8_t)rnd();
    } else {
        edge_sr_fields f;
        uint8_t sig[EDGE_SR_SIG_LEN];
        memset(&f, 0, sizeof(f));
        f.version = EDGE_SR_VERSION;
        for (i = 0; i < EDGE_SR_KEY_ID_LEN; i++)
            f.key_id[i] = (uint8_t)rnd();
        f.image_path = edge_str_from_cstr(TARGET_APP);
        f.protocol = EDGE_IPPROTO_TCP;
        f.port_lo = f.port_hi = 46002;
        f.edge_option = EDGE_TRAVERSAL_DEFER_TO_APP;
        f.not_before = 0;
        f.not_after = 0xFFFFFFFFull;
        for (i = 0; i < EDGE_SR_SIG_LEN; i++)
            sig[i] = (uint8_t)rnd();
        if (edge_sr_build_body(&f, body, sizeof(body), &blen) != EDGE_SR_OK ||
            edge_sr_assemble(body, blen, sig, blob, sizeof(blob), &n) != EDGE_SR_OK)
            return 0;
        blob[8 + rnd() % (n - 8)] ^= (uint8_t)(1 + rnd() % 255);
    }
    /* The target does not exist: whatever decides first (a broken blob, or under Wine the
     * administrator's target_app, which must be hashed), the request is refused. */
    r.target_app = edge_str_from_cstr(TARGET_APP);
    r.signed_request.ptr = blob;
    r.signed_request.len = (uint32_t)n;
    return encode(&r, buf, rng);
}

size_t hostile_frame(enum hostile_kind k, uint8_t *buf, unsigned *expect, uint32_t *rng)
{
    static const uint8_t bad_utf8[][3] = {{0xC0, 0xAF, 'A'}, {0xED, 0xB0, 0x80}, {0xF8, 0x88, 0x80},
                                          {0xBF, 'A', 'A'},  {0xE0, 0x80, 0x80}, {0xF0, 0x9F, 'A'}};
    size_t len = base_frame(buf, rng), at = mark_at(buf, len), i;

    *expect = HOSTILE_BAD_REQUEST;
    switch (k) {
    case HK_RANDOM:
        len = 1 + rnd() % 512;
        for (i = 0; i < len; i++)
            buf[i] = (uint8_t)rnd();
        buf[0] = (uint8_t)('E' + 1 + rnd() % 200);
        *expect = HOSTILE_DROP;
        break;
    case HK_SHORT:
        len = 1 + rnd() % (EDGE_FRAME_HEADER_SIZE - 1);
        *expect = HOSTILE_DROP;
        break;
    case HK_TRUNCATED:
        len = EDGE_FRAME_HEADER_SIZE + rnd() % (len - EDGE_FRAME_HEADER_SIZE);
        break;
    case HK_MAGIC:
        buf[rnd() % 4] ^= (uint8_t)(1 + rnd() % 255);
        *expect = HOSTILE_DROP;
        break;
    case HK_VERSION:
        put16(buf + 4, (uint16_t)((rnd() & 1) ? 0 : 2 + rnd() % 65534));
        *expect = HOSTILE_BAD_VERSION;
        break;
    case HK_HEADER_BITS:
        switch (rnd() % 3) {
        case 0:
            put16(buf + 10, (uint16_t)(1 + rnd() % 65535)); /* reserved */
            break;
        case 1:
            put16(buf + 8, (uint16_t)(2u << (rnd() % 15))); /* reserved flag bit */
            break;
        default:
            put16(buf + 8, EDGE_FRAME_F_REPLY); /* a reply sent to the service */
            break;
        }
        break;
    case HK_BODY_LEN:
        put32(buf + 16, (rnd() & 1) ? 0xFFFFFFFFu - rnd() % 64
                                    : (uint32_t)(len - EDGE_FRAME_HEADER_SIZE + 1 + rnd() % 100));
        break;
    case HK_TLV_LEN:
        put32(buf + EDGE_FRAME_HEADER_SIZE + 4, (uint32_t)(len + rnd() % 0x7FFFFFF0u));
        break;
    case HK_TLV_TYPE:
        buf[EDGE_FRAME_HEADER_SIZE + 2] =
            (uint8_t)(buf[EDGE_FRAME_HEADER_SIZE + 2] + 1 + rnd() % 6);
        break;
    case HK_DUP_TAG: {
        /* the first TLV (protocol, 8 + 1 bytes) repeated at the end */
        memcpy(buf + len, buf + EDGE_FRAME_HEADER_SIZE, 9);
        len += 9;
        put32(buf + 16, (uint32_t)(len - EDGE_FRAME_HEADER_SIZE));
        break;
    }
    case HK_CRITICAL:
        put16(buf + len, (uint16_t)(0x8000u | (300u + rnd() % 20000u)));
        buf[len + 2] = 3; /* U32 */
        buf[len + 3] = 0;
        put32(buf + len + 4, 4);
        put32(buf + len + 8, rnd());
        len += 12;
        put32(buf + 16, (uint32_t)(len - EDGE_FRAME_HEADER_SIZE));
        break;
    case HK_BAD_UTF8:
        memcpy(buf + at + rnd() % (sizeof(MARK) - 3), bad_utf8[rnd() % 6], 3);
        break;
    case HK_NUL:
        buf[at + rnd() % (sizeof(MARK) - 1)] = 0;
        break;
    case HK_SIGNED_BLOB:
        len = blob_frame(buf, rng);
        *expect = HOSTILE_BAD_SIG | HOSTILE_REFUSED;
        break;
    case HK_OVERSIZE:
    default:
        len = EDGE_FRAME_MAX + 1 + rnd() % 4096;
        memset(buf + EDGE_FRAME_HEADER_SIZE, 'A', len - EDGE_FRAME_HEADER_SIZE);
        put32(buf + 16, (uint32_t)(len - EDGE_FRAME_HEADER_SIZE));
        *expect = HOSTILE_DROP;
        break;
    }
    return len;
}

unsigned hostile_send(itc *c, const uint8_t *frame, size_t len, unsigned expect,
                      struct hostile_last *last)
{
    edge_msg rep;
    DWORD got = 0, err;
    unsigned outcome;

    last->status = 0;
    if (len == 0)
        return HOSTILE_OTHER;
    err = itc_send_raw(c, frame, len, REPLY_MS);
    last->error = err;
    if (err != ERROR_SUCCESS) /* an oversize message may be refused mid-write */
        return len > EDGE_FRAME_MAX && err != WAIT_TIMEOUT ? HOSTILE_DROP : HOSTILE_OTHER;
    err = itc_recv_raw(c, &got, REPLY_MS);
    last->error = err;
    if (err == WAIT_TIMEOUT)
        return HOSTILE_OTHER; /* neither answered nor dropped promptly */
    if (err != ERROR_SUCCESS)
        return HOSTILE_DROP;
    if (edge_msg_decode(c->buf, got, EDGE_DIR_REPLY, &rep) != EDGE_PROTO_OK)
        return HOSTILE_OTHER;
    last->status = rep.env.status;
    switch (rep.env.status) {
    case EDGE_E_BUSY:
        return rep.env.has_retry_after ? HOSTILE_BUSY : HOSTILE_OTHER;
    case EDGE_E_BAD_SIGNATURE:
        return HOSTILE_BAD_SIG;
    case EDGE_E_BAD_REQUEST:
        outcome = HOSTILE_BAD_REQUEST;
        break;
    case EDGE_E_UNSUPPORTED_VERSION:
        outcome = HOSTILE_BAD_VERSION;
        break;
    case EDGE_OK:
        return HOSTILE_OTHER;
    default:
        return HOSTILE_REFUSED;
    }
    /* A protocol error ends the connection after the reply; a refused request does not. */
    if (!(expect & (HOSTILE_BAD_REQUEST | HOSTILE_BAD_VERSION)))
        return rep.env.status == EDGE_E_BAD_REQUEST ? HOSTILE_REFUSED : HOSTILE_OTHER;
    err = itc_recv_raw(c, &got, REPLY_MS);
    if (err == WAIT_TIMEOUT && rep.env.status == EDGE_E_BAD_REQUEST)
        return HOSTILE_REFUSED;
    return err != ERROR_SUCCESS && err != WAIT_TIMEOUT ? outcome : HOSTILE_OTHER;
}
