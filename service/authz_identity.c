/*
 * The policy engine's inputs for one request (authz.h, "authz_identity.c"): who asks, for which
 * application, and what its signed request proves.  Identity comes from the pipe only.
 */
#include "authz.h"
#include "authenticode.h"
#include "caller.h"
#include "crypto.h"

#include "edge/path.h"
#include "edge/utf8.h"

#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool authz_sid_string(const struct caller_identity *caller, char *out, size_t cap)
{
    char *s = NULL;
    size_t n;

    if (cap)
        out[0] = '\0';
    if (!caller || caller->sid_len == 0 || !IsValidSid((PSID)caller->sid) ||
        !ConvertSidToStringSidA((PSID)caller->sid, &s))
        return false;
    n = strlen(s);
    if (n + 1 > cap) {
        LocalFree(s);
        return false;
    }
    memcpy(out, s, n + 1);
    LocalFree(s);
    return true;
}

/* Canonical UTF-8 form of a UTF-16 image path into out (cap bytes).  EDGE_PATH_* result. */
static edge_path_result canon_wide(const wchar_t *w, char *out, size_t cap)
{
    size_t need = 0, n = w ? wcslen(w) : 0;
    edge_path_result r;
    char *u;

    if (!w || n == 0 || n > EDGE_PATH_MAX_BYTES)
        return EDGE_PATH_E_EMPTY;
    if (edge_utf16_to_utf8((const uint16_t *)w, n, NULL, 0, &need) != EDGE_UTF8_TOO_SMALL)
        return EDGE_PATH_E_ENCODING;
    u = malloc(need + 1);
    if (!u)
        return EDGE_PATH_E_NO_MEMORY;
    if (edge_utf16_to_utf8((const uint16_t *)w, n, (uint8_t *)u, need, &need) != EDGE_UTF8_OK) {
        free(u);
        return EDGE_PATH_E_ENCODING;
    }
    r = edge_path_canonicalize(u, need, out, cap, NULL);
    free(u);
    return r;
}

/* UTF-8 to a malloc'd UTF-16 string; NULL on failure. */
static wchar_t *widen(const char *s)
{
    size_t need = 0;
    uint16_t *w;

    if (edge_utf8_to_utf16((const uint8_t *)s, strlen(s), NULL, 0, &need) == EDGE_UTF8_INVALID)
        return NULL;
    w = calloc(need + 1, sizeof(uint16_t));
    if (w && edge_utf8_to_utf16((const uint8_t *)s, strlen(s), w, need, &need) != EDGE_UTF8_OK) {
        free(w);
        return NULL;
    }
    return (wchar_t *)w;
}

static bool same_file(const char *a, const char *b)
{
    char ka[EDGE_MAX_PATH + 1], kb[EDGE_MAX_PATH + 1];

    if (edge_path_key(a, strlen(a), ka, sizeof(ka), NULL) != EDGE_PATH_OK ||
        edge_path_key(b, strlen(b), kb, sizeof(kb), NULL) != EDGE_PATH_OK)
        return false;
    return strcmp(ka, kb) == 0;
}

void authz_verify_signature(const edge_bytes *blob, const edge_policy *p, edge_sr *parsed,
                            edge_policy_signature *out)
{
    uint8_t digest[EDGE_SHA256_SIZE];
    const edge_policy_key *key;
    edge_sr_result r;

    memset(out, 0, sizeof(*out));
    memset(parsed, 0, sizeof(*parsed));
    if (!blob->ptr) {
        out->state = EDGE_POLICY_SIG_NONE;
        return;
    }
    out->state = EDGE_POLICY_SIG_INVALID;
    r = edge_sr_parse(blob->ptr, blob->len, parsed);
    if (r != EDGE_SR_OK) {
        out->invalid = r;
        return;
    }
    key = edge_policy_find_key(p, parsed->fields.key_id);
    if (!key) {
        out->invalid = EDGE_SR_E_UNKNOWN_KEY;
        return;
    }
    edge_sr_digest(parsed->body.ptr, parsed->body.len, digest);
    if (crypto_p256_verify(key->point, digest, parsed->signature) != ERROR_SUCCESS) {
        out->invalid = EDGE_SR_E_BAD_SIGNATURE;
        return;
    }
    out->state = EDGE_POLICY_SIG_VERIFIED;
    out->fields = &parsed->fields;
}

/* The target's SHA-256 (administrator acting for another executable). */
static edge_status hash_path(struct authz_subject *s, char *detail, size_t cap)
{
    wchar_t *w = widen(s->path);
    DWORD err;

    if (!w)
        return snprintf(detail, cap, "target_app is not valid UTF-8"), EDGE_E_BAD_REQUEST;
    err = caller_image_sha256(w, s->sha256, NULL);
    free(w);
    if (err != ERROR_SUCCESS) {
        (void)snprintf(detail, cap, "target_app %s cannot be read to hash it (Win32 error %lu)",
                       s->path, (unsigned long)err);
        return EDGE_E_BAD_REQUEST;
    }
    s->have_hash = true;
    return EDGE_OK;
}

edge_status authz_subject_build(const struct caller_identity *caller, const edge_lease_req *r,
                                const edge_policy *p, struct authz_subject *s, char *detail,
                                size_t cap)
{
    edge_path_result pr;
    edge_status st;

    memset(s, 0, sizeof(*s));
    detail[0] = '\0';
    if (!authz_sid_string(caller, s->sid, sizeof(s->sid)))
        return snprintf(detail, cap, "the caller's SID is not usable"), EDGE_E_BAD_REQUEST;
    pr = canon_wide(caller->image_path, s->own_path, sizeof(s->own_path));
    if (pr != EDGE_PATH_OK) {
        (void)snprintf(detail, cap, "the caller's image path is not usable (%s)",
                       edge_path_result_name(pr));
        return pr == EDGE_PATH_E_NO_MEMORY ? EDGE_E_NO_MEMORY : EDGE_E_BAD_REQUEST;
    }
    memcpy(s->path, s->own_path, sizeof(s->path));
    if (r->target_app.ptr) {
        pr = edge_path_canonicalize(r->target_app.ptr, r->target_app.len, s->path, sizeof(s->path),
                                    NULL);
        if (pr != EDGE_PATH_OK) {
            (void)snprintf(detail, cap, "target_app is not an acceptable absolute path (%s)",
                           edge_path_result_name(pr));
            return EDGE_E_BAD_REQUEST;
        }
        s->other_app = !same_file(s->path, s->own_path);
    }
    if (!s->other_app) {
        memcpy(s->sha256, caller->image_sha256, EDGE_SHA256_SIZE);
        s->have_hash = true;
    } else if (caller_may_administer(caller)) {
        st = hash_path(s, detail, cap);
        if (st != EDGE_OK)
            return st;
    }
    /* The publisher of the caller's own image; another executable is decided for an
     * administrator, whom the engine allows before it looks at publishers. */
    if (p->publishers.count > 0 && !s->other_app) {
        struct authenticode_result ar;
        if (authenticode_check(caller->image_path, &ar) == ERROR_SUCCESS && ar.verified)
            (void)snprintf(s->publisher, sizeof(s->publisher), "%s", ar.subject);
    }
    s->id.user_sid = s->sid;
    s->id.elevated = caller->elevated;
    s->id.admin_member = caller->admin_member;
    s->id.image_path = s->path;
    s->id.image_sha256 = s->have_hash ? s->sha256 : NULL;
    s->id.publisher = s->publisher[0] ? s->publisher : NULL;
    s->req.protocol = r->protocol;
    s->req.port_lo = r->port_lo;
    s->req.port_hi = r->has_port_hi ? r->port_hi : r->port_lo;
    s->req.has_seconds = r->has_seconds;
    s->req.seconds = r->seconds;
    s->req.flags = r->has_flags ? r->flags : 0;
    s->req.other_app = s->other_app;
    authz_verify_signature(&r->signed_request, p, &s->sr, &s->req.signature);
    return EDGE_OK;
}
