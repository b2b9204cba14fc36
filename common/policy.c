/*
 * The authorization decision and the administrator gate; see edge/policy.h and the "Decision
 * order" section of docs/policy.md, which this file implements step by step.
 */
#include "edge/policy.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "edge/utf8.h"

static const char *const basis_names[EDGE_POLICY_BASIS_COUNT_] = {
    "none",
    "mode-off",
    "target-app",
    "bad-request",
    "protocol",
    "ports",
    "admin",
    "allowed-path",
    "allowed-hash",
    "allowed-publisher",
    "signed",
    "remembered-denial",
    "remembered-approval",
    "mode",
};

const char *edge_policy_basis_name(edge_policy_basis basis)
{
    if ((unsigned)basis >= (unsigned)EDGE_POLICY_BASIS_COUNT_)
        return "unknown";
    return basis_names[basis];
}

const char *edge_policy_trace_line(const edge_policy_decision *d, uint32_t i)
{
    if (!d || i >= d->trace_count)
        return NULL;
    return d->trace_buf + d->trace_at[i];
}

/* ---- trace ---- */

#if defined(__GNUC__) || defined(__clang__)
#define TR_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TR_PRINTF(f, a)
#endif

static size_t tr_used(const edge_policy_decision *d)
{
    if (d->trace_count == 0)
        return 0;
    return d->trace_at[d->trace_count - 1] +
           strlen(d->trace_buf + d->trace_at[d->trace_count - 1]) + 1;
}

static void tr_append(edge_policy_decision *d, const char *line, size_t n)
{
    size_t used = tr_used(d);
    memcpy(d->trace_buf + used, line, n);
    d->trace_buf[used + n] = '\0';
    d->trace_at[d->trace_count++] = (uint16_t)used;
}

/*
 * Adds one line, cut at a character boundary to EDGE_MAX_TEXT bytes.  Room for one final
 * (decision) line is always kept: when a line would eat into it, "(trace truncated)" is written
 * once instead and later lines are dropped.
 */
static void tr_vadd(edge_policy_decision *d, bool final, const char *fmt, va_list ap)
    TR_PRINTF(3, 0);
static void tr_vadd(edge_policy_decision *d, bool final, const char *fmt, va_list ap)
{
    char tmp[2 * EDGE_MAX_TEXT];
    int r = vsnprintf(tmp, sizeof tmp, fmt, ap);
    size_t n, used, room_lines, room_bytes;
    if (r < 0)
        return;
    n = (size_t)r < sizeof tmp ? (size_t)r : sizeof tmp - 1;
    n = edge_utf8_truncate((const uint8_t *)tmp, n, EDGE_MAX_TEXT);
    used = tr_used(d);
    room_lines = EDGE_MAX_TRACE_LINES - d->trace_count;
    room_bytes = EDGE_POLICY_TRACE_BYTES - used;
    if (final) {
        if (room_lines >= 1 && room_bytes >= n + 1)
            tr_append(d, tmp, n);
        return;
    }
    if (d->trace_truncated)
        return;
    if (room_lines >= 3 && room_bytes >= n + 1 + 2 * (EDGE_MAX_TEXT + 1)) {
        tr_append(d, tmp, n);
        return;
    }
    d->trace_truncated = true;
    tr_append(d, "(trace truncated)", 17);
}

static void tr(edge_policy_decision *d, const char *fmt, ...) TR_PRINTF(2, 3);
static void tr(edge_policy_decision *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tr_vadd(d, false, fmt, ap);
    va_end(ap);
}

static void tr_final(edge_policy_decision *d, const char *fmt, ...) TR_PRINTF(2, 3);
static void tr_final(edge_policy_decision *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tr_vadd(d, true, fmt, ap);
    va_end(ap);
}

/* Text from outside common/ goes into wire strings, so it must be valid UTF-8. */
static const char *tr_text(const char *s)
{
    if (!s)
        return "(none)";
    if (edge_utf8_check((const uint8_t *)s, strlen(s)) != EDGE_UTF8_OK)
        return "(not valid UTF-8)";
    return s;
}

static const char *src_name(const edge_policy *p, edge_policy_value v)
{
    return edge_policy_source_name(p->source[v]);
}

static const char *proto_name(uint8_t proto)
{
    return proto == EDGE_IPPROTO_TCP ? "TCP" : proto == EDGE_IPPROTO_UDP ? "UDP" : "?";
}

static const char *verdict_name(edge_policy_verdict v)
{
    return v == EDGE_POLICY_ALLOW ? "ALLOW" : v == EDGE_POLICY_PENDING ? "PENDING_CONSENT" : "DENY";
}

/* Records the outcome, its reason (also the final trace line) and returns. */
static void finish(edge_policy_decision *d, edge_policy_verdict verdict, edge_status status,
                   edge_policy_basis basis, const char *fmt, ...) TR_PRINTF(5, 6);
static void finish(edge_policy_decision *d, edge_policy_verdict verdict, edge_status status,
                   edge_policy_basis basis, const char *fmt, ...)
{
    char tmp[2 * EDGE_MAX_TEXT];
    va_list ap;
    int r;
    size_t n;

    d->verdict = verdict;
    d->status = status;
    d->basis = basis;
    va_start(ap, fmt);
    r = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    n = r < 0 ? 0 : (size_t)r < sizeof tmp ? (size_t)r : sizeof tmp - 1;
    n = edge_utf8_truncate((const uint8_t *)tmp, n, EDGE_MAX_TEXT);
    memcpy(d->reason, tmp, n);
    d->reason[n] = '\0';
    tr_final(d, "decision: %s (%s, %s): %s", verdict_name(verdict), edge_status_name(status),
             edge_policy_basis_name(basis), d->reason);
}

static bool ascii_ieq(const char *a, const char *b)
{
    for (;; a++, b++) {
        char x = *a, y = *b;
        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return false;
        if (x == '\0')
            return true;
    }
}

/* ---- administrator gate ---- */

/* "S-1-" then dash-separated decimal numbers: the only SID form the service produces. */
static bool sid_syntax_ok(const char *s)
{
    size_t i, len;
    if (!s || strncmp(s, "S-1-", 4) != 0)
        return false;
    len = strlen(s);
    if (len > EDGE_MAX_SID || len == 4 || s[len - 1] == '-')
        return false;
    for (i = 4; i < len; i++) {
        if (s[i] == '-') {
            if (s[i - 1] == '-')
                return false;
        } else if (s[i] < '0' || s[i] > '9') {
            return false;
        }
    }
    return true;
}

bool edge_policy_may_administer(const edge_policy_identity *id)
{
    if (!id || !sid_syntax_ok(id->user_sid))
        return false;
    /* The anonymous logon SID never administers, whatever its token claims. */
    if (strcmp(id->user_sid, "S-1-5-7") == 0)
        return false;
    /* A UAC-filtered token is a member of Administrators for deny only: not elevated. */
    return id->elevated && id->admin_member;
}

/* ---- remembered decisions ---- */

static bool consent_identity_matches(const edge_consent_record *c, const edge_policy_identity *id)
{
    if (!c->image_path && !c->image_sha256)
        return false; /* a record must name the application */
    if (c->image_sha256 &&
        (!id->image_sha256 || memcmp(c->image_sha256, id->image_sha256, EDGE_SHA256_SIZE) != 0))
        return false;
    if (c->image_path && (!id->image_path || !ascii_ieq(c->image_path, id->image_path)))
        return false;
    if (c->user_sid && (!id->user_sid || !ascii_ieq(c->user_sid, id->user_sid)))
        return false;
    return true;
}

/* ---- the decision ---- */

static void hex32(const uint8_t *h, char out[2 * EDGE_SHA256_SIZE + 1])
{
    if (!h) {
        strcpy(out, "unknown");
        return;
    }
    (void)edge_sr_hex_encode(h, EDGE_SHA256_SIZE, out, 2 * EDGE_SHA256_SIZE + 1);
}

static bool step_allow_list(const edge_policy_identity *id, const edge_policy *p,
                            edge_policy_decision *d)
{
    uint32_t i;
    size_t path_len = strlen(id->image_path);
    bool path_ok = true;

    for (i = 0; i < p->app_patterns.count && path_ok; i++) {
        const char *pat = p->app_patterns.items[i];
        bool matched = false;
        edge_path_result r = edge_path_match(pat, strlen(pat), id->image_path, path_len, &matched);
        if (r != EDGE_PATH_OK) {
            /* Patterns were checked when loaded, so this is the image path: it never matches. */
            tr(d, "AllowedApplications (%s): image path rejected (%s); no pattern can match",
               src_name(p, EDGE_POLICY_V_ALLOWED_APPLICATIONS), edge_path_result_name(r));
            path_ok = false;
        } else if (matched) {
            tr(d, "AllowedApplications (%s): \"%s\" matches the image path",
               src_name(p, EDGE_POLICY_V_ALLOWED_APPLICATIONS), pat);
            finish(d, EDGE_POLICY_ALLOW, EDGE_OK, EDGE_POLICY_BASIS_ALLOWED_PATH,
                   "the image path matches AllowedApplications entry \"%s\"", pat);
            return true;
        }
    }
    if (path_ok)
        tr(d, "AllowedApplications (%s): no match among %u pattern(s)",
           src_name(p, EDGE_POLICY_V_ALLOWED_APPLICATIONS), (unsigned)p->app_patterns.count);

    if (!id->image_sha256) {
        tr(d, "AllowedImageHashes (%s): image SHA-256 unknown; not consulted",
           src_name(p, EDGE_POLICY_V_ALLOWED_IMAGE_HASHES));
    } else {
        for (i = 0; i < p->image_hash_count; i++) {
            if (memcmp(p->image_hashes[i], id->image_sha256, EDGE_SHA256_SIZE) == 0) {
                tr(d, "AllowedImageHashes (%s): entry %u equals the image SHA-256",
                   src_name(p, EDGE_POLICY_V_ALLOWED_IMAGE_HASHES), (unsigned)i);
                finish(d, EDGE_POLICY_ALLOW, EDGE_OK, EDGE_POLICY_BASIS_ALLOWED_HASH,
                       "the image SHA-256 is in AllowedImageHashes");
                return true;
            }
        }
        tr(d, "AllowedImageHashes (%s): no match among %u hash(es)",
           src_name(p, EDGE_POLICY_V_ALLOWED_IMAGE_HASHES), (unsigned)p->image_hash_count);
    }

    if (!id->publisher) {
        tr(d, "AllowedPublishers (%s): image has no verified Authenticode signature",
           src_name(p, EDGE_POLICY_V_ALLOWED_PUBLISHERS));
        return false;
    }
    for (i = 0; i < p->publishers.count; i++) {
        if (ascii_ieq(p->publishers.items[i], id->publisher)) {
            tr(d, "AllowedPublishers (%s): \"%s\" is the image's verified publisher",
               src_name(p, EDGE_POLICY_V_ALLOWED_PUBLISHERS), p->publishers.items[i]);
            finish(d, EDGE_POLICY_ALLOW, EDGE_OK, EDGE_POLICY_BASIS_ALLOWED_PUBLISHER,
                   "the image is signed by AllowedPublishers entry \"%s\"", p->publishers.items[i]);
            return true;
        }
    }
    tr(d, "AllowedPublishers (%s): publisher \"%s\" not among %u entr%s",
       src_name(p, EDGE_POLICY_V_ALLOWED_PUBLISHERS), tr_text(id->publisher),
       (unsigned)p->publishers.count, p->publishers.count == 1 ? "y" : "ies");
    return false;
}

/* Returns true when the signed request decided (allow or refusal). */
static bool step_signature(const edge_policy_identity *id, const edge_policy_request *req,
                           const edge_policy *p, uint64_t now, edge_policy_decision *d)
{
    const edge_policy_signature *sig = &req->signature;
    const edge_sr_fields *f = sig->fields;
    char kid[2 * EDGE_SR_KEY_ID_LEN + 1];
    edge_sr_subject subj;
    edge_sr_result r;

    if (sig->state == EDGE_POLICY_SIG_NONE) {
        tr(d, "signed request: none");
        return false;
    }
    if (p->mode == EDGE_POLICY_MODE_ALLOW_LIST_ONLY) {
        tr(d, "signed request: ignored (Mode = AllowListOnly)");
        return false;
    }
    if (sig->state != EDGE_POLICY_SIG_VERIFIED || !f) {
        r = sig->state == EDGE_POLICY_SIG_INVALID ? sig->invalid : EDGE_SR_E_ARG;
        if (r == EDGE_SR_OK)
            r = EDGE_SR_E_BAD_SIGNATURE; /* "invalid" without a reason is still invalid */
        tr(d, "signed request: refused before evaluation: %s", edge_sr_result_message(r));
        finish(d, EDGE_POLICY_DENY, edge_sr_result_status(r), EDGE_POLICY_BASIS_SIGNED,
               "signed request refused: %s", edge_sr_result_message(r));
        return true;
    }
    (void)edge_sr_hex_encode(f->key_id, EDGE_SR_KEY_ID_LEN, kid, sizeof kid);
    if (!edge_policy_find_key(p, f->key_id)) {
        tr(d, "TrustedSignerKeys (%s): key id %s not trusted",
           src_name(p, EDGE_POLICY_V_TRUSTED_SIGNER_KEYS), kid);
        finish(d, EDGE_POLICY_DENY, EDGE_E_BAD_SIGNATURE, EDGE_POLICY_BASIS_SIGNED,
               "signed request refused: key %s is not in TrustedSignerKeys", kid);
        return true;
    }
    tr(d, "TrustedSignerKeys (%s): key id %s trusted",
       src_name(p, EDGE_POLICY_V_TRUSTED_SIGNER_KEYS), kid);
    subj.image_path = id->image_path;
    subj.image_path_len = strlen(id->image_path);
    subj.image_sha256 = id->image_sha256;
    subj.protocol = req->protocol;
    subj.port_lo = req->port_lo;
    subj.port_hi = req->port_hi;
    subj.edge_option = p->edge_option;
    r = edge_sr_check(f, &subj, now, EDGE_SR_CLOCK_SKEW);
    if (r != EDGE_SR_OK) {
        tr(d, "signed request: %s (valid %llu..%llu, now %llu, skew %u s)",
           edge_sr_result_message(r), (unsigned long long)f->not_before,
           (unsigned long long)f->not_after, (unsigned long long)now, EDGE_SR_CLOCK_SKEW);
        finish(d, EDGE_POLICY_DENY, edge_sr_result_status(r), EDGE_POLICY_BASIS_SIGNED,
               "signed request refused: %s", edge_sr_result_message(r));
        return true;
    }
    tr(d, "signed request: binds this image, %s %u-%u, edge option %u; valid until %llu",
       proto_name(f->protocol), (unsigned)f->port_lo, (unsigned)f->port_hi,
       (unsigned)f->edge_option, (unsigned long long)f->not_after);
    finish(d, EDGE_POLICY_ALLOW, EDGE_OK, EDGE_POLICY_BASIS_SIGNED,
           "the request is signed by trusted key %s", kid);
    return true;
}

static bool step_remembered(const edge_policy_identity *id, const edge_policy_request *req,
                            const edge_policy *p, const edge_consent_record *consent, size_t count,
                            uint64_t now, edge_policy_decision *d)
{
    size_t i, expired = 0;
    const edge_consent_record *approval = NULL;

    if (p->mode != EDGE_POLICY_MODE_CONSENT) {
        tr(d, "remembered decisions: not consulted (Mode = %s)", edge_policy_mode_name(p->mode));
        return false;
    }
    for (i = 0; i < count; i++) {
        const edge_consent_record *c = &consent[i];
        if (!consent_identity_matches(c, id) || c->protocol != req->protocol)
            continue;
        if (c->expires <= now) {
            expired++;
            continue;
        }
        /* A denial that touches any requested port wins over every approval. */
        if (!c->approved && c->port_lo <= req->port_hi && req->port_lo <= c->port_hi) {
            tr(d, "remembered decisions: denial of %s %u-%u until %llu applies",
               proto_name(c->protocol), (unsigned)c->port_lo, (unsigned)c->port_hi,
               (unsigned long long)c->expires);
            finish(d, EDGE_POLICY_DENY, EDGE_E_CONSENT_DENIED, EDGE_POLICY_BASIS_REMEMBERED_DENIAL,
                   "an approver denied this application %s %u-%u (remembered until %llu); "
                   "an administrator can revoke the decision",
                   proto_name(c->protocol), (unsigned)c->port_lo, (unsigned)c->port_hi,
                   (unsigned long long)c->expires);
            return true;
        }
        if (c->approved && !approval && c->port_lo <= req->port_lo && req->port_hi <= c->port_hi)
            approval = c;
    }
    if (approval) {
        tr(d, "remembered decisions: approval of %s %u-%u until %llu covers the request",
           proto_name(approval->protocol), (unsigned)approval->port_lo, (unsigned)approval->port_hi,
           (unsigned long long)approval->expires);
        finish(d, EDGE_POLICY_ALLOW, EDGE_OK, EDGE_POLICY_BASIS_REMEMBERED_APPROVAL,
               "an approver approved this application %s %u-%u (remembered until %llu)",
               proto_name(approval->protocol), (unsigned)approval->port_lo,
               (unsigned)approval->port_hi, (unsigned long long)approval->expires);
        return true;
    }
    tr(d, "remembered decisions: none applies (%u record(s), %u matching but expired)",
       (unsigned)count, (unsigned)expired);
    return false;
}

static void step_mode(const edge_policy_identity *id, const edge_policy *p, edge_policy_decision *d)
{
    char h[2 * EDGE_SHA256_SIZE + 1];
    hex32(id->image_sha256, h);
    switch (p->mode) {
    case EDGE_POLICY_MODE_ALLOW_LIST_ONLY:
        finish(d, EDGE_POLICY_DENY, EDGE_E_DENIED, EDGE_POLICY_BASIS_MODE,
               "not allow-listed (Mode = AllowListOnly): add the image path to "
               "AllowedApplications, its SHA-256 %s to AllowedImageHashes, or its publisher to "
               "AllowedPublishers",
               h);
        break;
    case EDGE_POLICY_MODE_SIGNED_OR_ALLOW_LISTED:
        finish(d, EDGE_POLICY_DENY, EDGE_E_DENIED, EDGE_POLICY_BASIS_MODE,
               "not allow-listed and not signed (Mode = SignedOrAllowListed): add the image path "
               "to AllowedApplications, its SHA-256 %s to AllowedImageHashes, or its publisher "
               "to AllowedPublishers, or present a request signed by a key in TrustedSignerKeys",
               h);
        break;
    default:
        finish(d, EDGE_POLICY_PENDING, EDGE_PENDING_CONSENT, EDGE_POLICY_BASIS_MODE,
               "not pre-approved (Mode = Consent): waiting for %s to approve",
               p->consent_by == EDGE_POLICY_CONSENT_BY_INTERACTIVE_USER
                   ? "the interactive user or an administrator"
                   : "an administrator");
        break;
    }
}

/* Steps 1-5: refusals that no allow-list, signature or consent can override. */
static bool step_gates(const edge_policy_identity *id, const edge_policy_request *req,
                       const edge_policy *p, edge_policy_decision *d)
{
    uint32_t bit, i;

    tr(d, "Mode (%s): %s", src_name(p, EDGE_POLICY_V_MODE), edge_policy_mode_name(p->mode));
    if (p->mode == EDGE_POLICY_MODE_OFF) {
        finish(d, EDGE_POLICY_DENY, EDGE_E_DENIED, EDGE_POLICY_BASIS_MODE_OFF,
               "edgebroker is switched off by policy (Mode = Off)");
        return true;
    }
    if (req->other_app) {
        if (!edge_policy_may_administer(id)) {
            tr(d, "target_app: names another executable; caller is not an elevated "
                  "administrator");
            finish(d, EDGE_POLICY_DENY, EDGE_E_IDENTITY_MISMATCH, EDGE_POLICY_BASIS_TARGET_APP,
                   "only an elevated administrator may request a rule for another executable");
            return true;
        }
        tr(d, "target_app: names another executable; caller is an elevated administrator");
    } else {
        tr(d, "target_app: none (the rule is for the caller's own image)");
    }
    if ((req->protocol != EDGE_IPPROTO_TCP && req->protocol != EDGE_IPPROTO_UDP) ||
        req->port_lo == 0 || req->port_lo > req->port_hi ||
        (req->has_seconds && req->seconds == 0) || (req->flags & ~EDGE_LEASE_F_KNOWN) != 0) {
        finish(d, EDGE_POLICY_DENY, EDGE_E_BAD_REQUEST, EDGE_POLICY_BASIS_BAD_REQUEST,
               "invalid request: protocol %u, ports %u-%u, seconds %u, flags 0x%x",
               (unsigned)req->protocol, (unsigned)req->port_lo, (unsigned)req->port_hi,
               (unsigned)req->seconds, (unsigned)req->flags);
        return true;
    }
    bit = req->protocol == EDGE_IPPROTO_TCP ? EDGE_POLICY_PROTO_TCP : EDGE_POLICY_PROTO_UDP;
    if (!(p->protocols & bit)) {
        tr(d, "AllowedProtocols (%s): %s not allowed", src_name(p, EDGE_POLICY_V_ALLOWED_PROTOCOLS),
           proto_name(req->protocol));
        finish(d, EDGE_POLICY_DENY, EDGE_E_DENIED, EDGE_POLICY_BASIS_PROTOCOL,
               "protocol %s is not in AllowedProtocols", proto_name(req->protocol));
        return true;
    }
    tr(d, "AllowedProtocols (%s): %s allowed", src_name(p, EDGE_POLICY_V_ALLOWED_PROTOCOLS),
       proto_name(req->protocol));
    for (i = 0; i < p->port_count; i++) {
        if (p->ports[i].lo <= req->port_lo && req->port_hi <= p->ports[i].hi) {
            tr(d, "AllowedPorts (%s): %u-%u lies inside %u-%u",
               src_name(p, EDGE_POLICY_V_ALLOWED_PORTS), (unsigned)req->port_lo,
               (unsigned)req->port_hi, (unsigned)p->ports[i].lo, (unsigned)p->ports[i].hi);
            return false;
        }
    }
    tr(d, "AllowedPorts (%s): %u-%u not inside any of %u range(s)",
       src_name(p, EDGE_POLICY_V_ALLOWED_PORTS), (unsigned)req->port_lo, (unsigned)req->port_hi,
       (unsigned)p->port_count);
    finish(d, EDGE_POLICY_DENY, EDGE_E_DENIED, EDGE_POLICY_BASIS_PORTS,
           "ports %u-%u do not lie inside one AllowedPorts entry", (unsigned)req->port_lo,
           (unsigned)req->port_hi);
    return true;
}

static void step_lease(const edge_policy_request *req, const edge_policy *p,
                       edge_policy_decision *d)
{
    uint32_t asked = req->has_seconds ? req->seconds : p->default_lease_seconds;
    d->lease_seconds = asked;
    if (asked > p->max_lease_seconds) {
        d->lease_seconds = p->max_lease_seconds;
        d->seconds_capped = true;
    }
    tr(d, "lease: %u s %s, MaxLeaseSeconds (%s) %u -> %u s%s", (unsigned)asked,
       req->has_seconds ? "asked" : "from DefaultLeaseSeconds",
       src_name(p, EDGE_POLICY_V_MAX_LEASE_SECONDS), (unsigned)p->max_lease_seconds,
       (unsigned)d->lease_seconds, d->seconds_capped ? " (capped)" : "");
}

void edge_policy_decide(const edge_policy_identity *id, const edge_policy_request *req,
                        const edge_policy *p, const edge_consent_record *consent,
                        size_t consent_count, uint64_t now, edge_policy_decision *out)
{
    char h[2 * EDGE_SHA256_SIZE + 1];

    if (!out)
        return;
    memset(out, 0, offsetof(edge_policy_decision, trace_buf));
    out->trace_buf[0] = '\0';
    if (!id || !req || !p || !id->image_path || (!consent && consent_count != 0)) {
        finish(out, EDGE_POLICY_DENY, EDGE_E_INTERNAL, EDGE_POLICY_BASIS_NONE,
               "internal error: incomplete decision input");
        return;
    }
    out->edge_option = p->edge_option;
    out->profiles = p->profiles;
    hex32(id->image_sha256, h);
    tr(out, "caller: user %s, %s", tr_text(id->user_sid),
       edge_policy_may_administer(id) ? "elevated administrator" : "not an elevated administrator");
    tr(out, "application: %s, SHA-256 %s, publisher %s", tr_text(id->image_path), h,
       tr_text(id->publisher));
    tr(out, "request: %s %u-%u", proto_name(req->protocol), (unsigned)req->port_lo,
       (unsigned)req->port_hi);

    if (step_gates(id, req, p, out))
        return;
    step_lease(req, p, out);
    if (edge_policy_may_administer(id)) {
        finish(out, EDGE_POLICY_ALLOW, EDGE_OK, EDGE_POLICY_BASIS_ADMIN,
               "the caller is an elevated administrator");
        return;
    }
    if (step_allow_list(id, p, out))
        return;
    if (step_signature(id, req, p, now, out))
        return;
    if (step_remembered(id, req, p, consent, consent_count, now, out))
        return;
    step_mode(id, p, out);
}
