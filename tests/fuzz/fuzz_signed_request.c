/*
 * libFuzzer target for signed requests.  The first byte picks a mode:
 *   even: the input is a blob.  Whatever parses must be the unique encoding of its fields:
 *         rebuilding the body from the parsed fields and re-assembling it with the signature
 *         gives back the input byte for byte; the binding check never crashes.
 *   odd:  the input is file text: base64 and public-key parsing; what decodes re-encodes and
 *         decodes to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edge/signed_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fz_blob(const uint8_t *p, size_t n)
{
    static uint8_t body[EDGE_MAX_SIGNED_REQUEST], again[EDGE_MAX_SIGNED_REQUEST];
    edge_sr sr;
    size_t body_len = 0, len = 0;
    edge_sr_subject s;
    edge_sr_result r = edge_sr_parse(p, n, &sr);

    if (r != EDGE_SR_OK) {
        if (sr.body.ptr || sr.fields.version != 0)
            abort(); /* *out is zeroed on failure */
        return;
    }
    if (edge_sr_fields_check(&sr.fields) != EDGE_SR_OK)
        abort();
    if (edge_sr_build_body(&sr.fields, body, sizeof body, &body_len) != EDGE_SR_OK ||
        body_len != sr.body.len || memcmp(body, sr.body.ptr, body_len) != 0)
        abort();
    if (edge_sr_assemble(body, body_len, sr.signature, again, sizeof again, &len) != EDGE_SR_OK ||
        len != n || memcmp(again, p, n) != 0)
        abort();
    memset(&s, 0, sizeof s);
    s.image_path = sr.fields.image_path.ptr;
    s.image_path_len = sr.fields.image_path.len;
    s.image_sha256 = sr.fields.has_image_sha256 ? sr.fields.image_sha256 : NULL;
    s.protocol = sr.fields.protocol;
    s.port_lo = sr.fields.port_lo;
    s.port_hi = sr.fields.port_hi;
    s.edge_option = sr.fields.edge_option;
    /* Its own bindings always match inside the window. */
    if (edge_sr_check(&sr.fields, &s, sr.fields.not_before, 0) != EDGE_SR_OK)
        abort();
    (void)edge_sr_check(&sr.fields, &s, sr.fields.not_after + 1, EDGE_SR_CLOCK_SKEW);
}

static void fz_text(const uint8_t *p, size_t n)
{
    static uint8_t out[EDGE_MAX_SIGNED_REQUEST * 2], back[EDGE_MAX_SIGNED_REQUEST * 2];
    static char text[EDGE_MAX_SIGNED_REQUEST * 4];
    uint8_t pub[EDGE_SR_PUBKEY_LEN];
    size_t len = 0, len2 = 0;

    if (edge_sr_base64_decode((const char *)p, n, out, sizeof out, &len) == EDGE_SR_OK) {
        if (edge_sr_base64_encode(out, len, text, sizeof text) != EDGE_SR_OK)
            abort();
        if (edge_sr_base64_decode(text, strlen(text), back, sizeof back, &len2) != EDGE_SR_OK ||
            len2 != len || memcmp(back, out, len) != 0)
            abort();
        fz_blob(out, len);
    }
    if (edge_sr_hex_decode((const char *)p, n, out, sizeof out, &len) == EDGE_SR_OK) {
        if (edge_sr_hex_encode(out, len, text, sizeof text) != EDGE_SR_OK || strlen(text) != n)
            abort();
    }
    if (edge_sr_pubkey_from_text((const char *)p, n, pub) == EDGE_SR_OK && pub[0] != 0x04)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1)
        fz_text(data + 1, size - 1);
    else
        fz_blob(data + 1, size - 1);
    return 0;
}
