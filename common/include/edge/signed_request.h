/*
 * Signed requests (docs/signing.md): an administrator's offline pre-approval of one application
 * for one protocol and port range, for a limited time, signed with an ECDSA P-256 key that
 * central policy trusts (TrustedSignerKeys).
 *
 * Blob (what REQUEST's signed_request field carries, <= EDGE_MAX_SIGNED_REQUEST bytes) = a TLV
 * sequence (edge/tlv.h) with exactly two fields, in this order:
 *     1  body       RECORD    the signed fields below, canonical
 *     2  signature  BYTES 64  ECDSA P-256 over SHA-256(body value bytes), raw r || s (big-endian)
 * Body fields (tags ascending; critical bit clear everywhere; no other tags):
 *     1  version      U8        EDGE_SR_VERSION (required)
 *     2  key_id       BYTES 16  edge_sr_key_id of the signing key (required)
 *     3  image_sha256 BYTES 32  \ at least one of the two; when both are present both must match
 *     4  image_path   STRING    / canonical image path (edge_path_is_canonical), <= EDGE_MAX_PATH
 *     5  protocol     U8        6 / 17
 *     6  port_lo      U16       1..65535
 *     7  port_hi      U16       port_lo..65535
 *     8  edge_option  U8        EDGE_TRAVERSAL_ALLOW / _DEFER_TO_APP
 *     9  not_before   U64       unix seconds
 *     10 not_after    U64       unix seconds, >= not_before
 *     11 nonce        BYTES     optional, 1..EDGE_SR_NONCE_MAX
 *     12 comment      STRING    optional, <= EDGE_SR_COMMENT_MAX bytes
 *
 * Parsing is strict: the blob must be exactly what edge_sr_assemble would produce for the fields
 * it carries (canonical order, no unknown or duplicate tags, no critical bits, exact widths), so
 * one set of fields has exactly one encoding.  Parsing allocates nothing; views point into the
 * blob.  The ECDSA verification itself lives in the service (service/crypto.c, CNG); this module
 * only produces the digest to verify and checks what the signature binds.
 *
 * All functions are pure and reentrant.
 */
#ifndef EDGE_SIGNED_REQUEST_H
#define EDGE_SIGNED_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edge/protocol.h"
#include "edge/status.h"

#define EDGE_SR_VERSION        1u
#define EDGE_SR_KEY_ID_LEN     16u /* first 16 bytes of SHA-256 of the public key */
#define EDGE_SR_PUBKEY_LEN     65u /* uncompressed P-256 point: 0x04 || X || Y */
#define EDGE_SR_SIG_LEN        64u /* r || s, 32 bytes each, big-endian */
#define EDGE_SR_NONCE_MAX      32u
#define EDGE_SR_COMMENT_MAX    256u
#define EDGE_SR_CLOCK_SKEW     300u /* seconds of clock difference tolerated at both ends */
#define EDGE_SR_PUBKEY_HEX_LEN (2u * EDGE_SR_PUBKEY_LEN) /* 130 */

/* Outer and body tag numbers (docs/signing.md). */
enum { EDGE_SR_TAG_BODY = 1, EDGE_SR_TAG_SIGNATURE = 2 };
enum {
    EDGE_SR_TAG_VERSION = 1,
    EDGE_SR_TAG_KEY_ID = 2,
    EDGE_SR_TAG_IMAGE_SHA256 = 3,
    EDGE_SR_TAG_IMAGE_PATH = 4,
    EDGE_SR_TAG_PROTOCOL = 5,
    EDGE_SR_TAG_PORT_LO = 6,
    EDGE_SR_TAG_PORT_HI = 7,
    EDGE_SR_TAG_EDGE_OPTION = 8,
    EDGE_SR_TAG_NOT_BEFORE = 9,
    EDGE_SR_TAG_NOT_AFTER = 10,
    EDGE_SR_TAG_NONCE = 11,
    EDGE_SR_TAG_COMMENT = 12
};

typedef enum edge_sr_result {
    EDGE_SR_OK = 0,
    EDGE_SR_E_ARG = 1,            /* NULL argument or API misuse */
    EDGE_SR_E_TOO_LARGE = 2,      /* blob empty or above EDGE_MAX_SIGNED_REQUEST */
    EDGE_SR_E_MALFORMED = 3,      /* TLV structure invalid (edge_tlv_validate failed) */
    EDGE_SR_E_NOT_CANONICAL = 4,  /* fields out of order, or a critical bit set */
    EDGE_SR_E_UNKNOWN_FIELD = 5,  /* a tag this version does not define */
    EDGE_SR_E_BAD_FIELD = 6,      /* known tag with the wrong type or length */
    EDGE_SR_E_MISSING_FIELD = 7,  /* a required field is absent (incl. no image at all) */
    EDGE_SR_E_BAD_VERSION = 8,    /* version field is not EDGE_SR_VERSION */
    EDGE_SR_E_BAD_VALUE = 9,      /* protocol, ports, edge option, window, nonce, comment */
    EDGE_SR_E_BAD_PATH = 10,      /* image_path not a canonical image path */
    EDGE_SR_E_BUFFER = 11,        /* output buffer too small (size reported where stated) */
    EDGE_SR_E_EXPIRED = 12,       /* now > not_after + skew */
    EDGE_SR_E_NOT_YET_VALID = 13, /* now + skew < not_before */
    EDGE_SR_E_WRONG_IMAGE_HASH =
        14, /* bound hash differs from (or cannot be compared to) the image */
    EDGE_SR_E_WRONG_IMAGE_PATH = 15, /* bound path differs from the image path */
    EDGE_SR_E_WRONG_PROTOCOL = 16,
    EDGE_SR_E_WRONG_PORTS = 17,       /* requested range not inside the signed range */
    EDGE_SR_E_WRONG_EDGE_OPTION = 18, /* signed edge option differs from the effective one */
    EDGE_SR_E_UNKNOWN_KEY = 19,       /* key id not among the trusted keys */
    EDGE_SR_E_BAD_SIGNATURE = 20,     /* ECDSA verification failed */
    EDGE_SR_E_TEXT = 21,              /* hex/base64 text malformed */
    EDGE_SR_RESULT_COUNT_ = 22        /* not a result; one past the last value */
} edge_sr_result;

/* Stable symbolic name ("EDGE_SR_E_EXPIRED"); "EDGE_SR_UNKNOWN" for other values. */
const char *edge_sr_result_name(edge_sr_result r);

/* One short English phrase for humans and trace lines; never NULL. */
const char *edge_sr_result_message(edge_sr_result r);

/*
 * The wire status a request gets when its signed request fails with r: EDGE_E_EXPIRED for the
 * validity window, EDGE_E_IDENTITY_MISMATCH for a wrong image, EDGE_E_BAD_SIGNATURE for every
 * other failure, EDGE_OK for EDGE_SR_OK.
 */
edge_status edge_sr_result_status(edge_sr_result r);

/* The signed fields.  Strings and byte strings are views (not NUL-terminated). */
typedef struct edge_sr_fields {
    uint8_t version; /* EDGE_SR_VERSION */
    uint8_t key_id[EDGE_SR_KEY_ID_LEN];
    bool has_image_sha256;
    uint8_t image_sha256[EDGE_SHA256_SIZE];
    edge_str image_path; /* absent when ptr is NULL */
    uint8_t protocol;    /* EDGE_IPPROTO_TCP / _UDP */
    uint16_t port_lo;
    uint16_t port_hi;
    uint8_t edge_option; /* EDGE_TRAVERSAL_* */
    uint64_t not_before;
    uint64_t not_after;
    edge_bytes nonce; /* optional */
    edge_str comment; /* optional */
} edge_sr_fields;

/* A parsed blob. */
typedef struct edge_sr {
    edge_sr_fields fields;
    edge_bytes body; /* the signed bytes: value of the body TLV, inside the blob */
    uint8_t signature[EDGE_SR_SIG_LEN];
} edge_sr;

/*
 * Checks fields against every rule the parser applies (ranges, lengths, UTF-8, canonical path,
 * at least one image field).  Returns EDGE_SR_OK or the error the parser would report.
 */
edge_sr_result edge_sr_fields_check(const edge_sr_fields *f);

/*
 * Writes the canonical body for f into buf[0..cap).  *out_len receives its length, or the size
 * needed with EDGE_SR_E_BUFFER (buf may be NULL with cap 0 to measure), 0 on other errors.
 * Returns EDGE_SR_OK, EDGE_SR_E_ARG, EDGE_SR_E_BUFFER or an edge_sr_fields_check error.
 */
edge_sr_result edge_sr_build_body(const edge_sr_fields *f, uint8_t *buf, size_t cap,
                                  size_t *out_len);

/* SHA-256 of body[0..len): the message digest the signature is made over. */
void edge_sr_digest(const uint8_t *body, size_t len, uint8_t out[EDGE_SHA256_SIZE]);

/*
 * Assembles a blob from a body made by edge_sr_build_body and a 64-byte signature.  The body is
 * re-parsed so that only valid blobs are produced.  Size reporting as edge_sr_build_body; the
 * result is at most EDGE_MAX_SIGNED_REQUEST bytes (EDGE_SR_E_TOO_LARGE otherwise).
 */
edge_sr_result edge_sr_assemble(const uint8_t *body, size_t body_len,
                                const uint8_t sig[EDGE_SR_SIG_LEN], uint8_t *buf, size_t cap,
                                size_t *out_len);

/*
 * Parses blob[0..len) strictly (see the top of this file) into *out, which is zeroed first and
 * whose views point into blob.  Checks the length cap before anything else.
 */
edge_sr_result edge_sr_parse(const uint8_t *blob, size_t len, edge_sr *out);

/* What a signed request is checked against: the application and the rule that would be made. */
typedef struct edge_sr_subject {
    const char *image_path; /* canonical image path of the application; may be NULL if unknown */
    size_t image_path_len;
    const uint8_t *image_sha256; /* EDGE_SHA256_SIZE bytes, or NULL if unknown */
    uint8_t protocol;
    uint16_t port_lo;
    uint16_t port_hi;
    uint8_t edge_option; /* the option the rule would get (policy EdgeTraversal) */
} edge_sr_subject;

/*
 * Checks what the signature binds, in this order: validity window (now within
 * [not_before - skew, not_after + skew], saturating), image hash (exact), image path (ASCII
 * case-insensitive, both canonical), protocol (equal), ports (requested range inside the signed
 * one), edge option (equal).  Returns EDGE_SR_OK or the first EDGE_SR_E_* mismatch.  Does not
 * look at the key or the signature.
 */
edge_sr_result edge_sr_check(const edge_sr_fields *f, const edge_sr_subject *s, uint64_t now,
                             uint32_t skew);

/* Key id of a 65-byte uncompressed public key: the first 16 bytes of SHA-256 of those 65 bytes. */
void edge_sr_key_id(const uint8_t pub[EDGE_SR_PUBKEY_LEN], uint8_t id[EDGE_SR_KEY_ID_LEN]);

/* Hex encoding: lower-case, NUL-terminated; cap >= 2 * len + 1, else EDGE_SR_E_BUFFER. */
edge_sr_result edge_sr_hex_encode(const uint8_t *p, size_t len, char *out, size_t cap);

/*
 * Decodes exactly text_len hex digits (even, either case, nothing else) into out; *out_len
 * receives text_len / 2.  EDGE_SR_E_TEXT for odd length or a non-hex character, EDGE_SR_E_BUFFER
 * when out_cap is too small.
 */
edge_sr_result edge_sr_hex_decode(const char *text, size_t text_len, uint8_t *out, size_t out_cap,
                                  size_t *out_len);

/*
 * Standard base64 (RFC 4648 §4, with padding), one line, NUL-terminated.  cap must be at least
 * edge_sr_base64_len(len) + 1.
 */
size_t edge_sr_base64_len(size_t len);
edge_sr_result edge_sr_base64_encode(const uint8_t *p, size_t len, char *out, size_t cap);

/*
 * Decodes base64 text, ignoring ASCII whitespace (space, tab, CR, LF) anywhere.  Strict
 * otherwise: standard alphabet only, padding required and only at the end, unused bits of the
 * last group zero.  *out_len receives the decoded length.  EDGE_SR_E_TEXT or EDGE_SR_E_BUFFER.
 */
edge_sr_result edge_sr_base64_decode(const char *text, size_t text_len, uint8_t *out,
                                     size_t out_cap, size_t *out_len);

/*
 * Parses a public key file's text: 130 hex digits (0x04 || X || Y), optionally surrounded by ASCII
 * whitespace.  EDGE_SR_E_TEXT for anything else, EDGE_SR_E_BAD_VALUE if the first byte is not
 * 0x04.  (Whether the point is on the curve is checked by the CNG import when verifying.)
 */
edge_sr_result edge_sr_pubkey_from_text(const char *text, size_t len,
                                        uint8_t pub[EDGE_SR_PUBKEY_LEN]);

#endif /* EDGE_SIGNED_REQUEST_H */
