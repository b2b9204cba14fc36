/*
 * The policy engine (edge_policy_decide) and the administrator gate, table-driven over every mode
 * and element of docs/policy.md "Decision order", with the trace checked.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "edge/policy.h"
#include "edge/utf8.h"

#define NOW 1700000000ull

#define USER_SID  "S-1-5-21-111-222-333-1001"
#define OTHER_SID "S-1-5-21-111-222-333-1002"
#define PLAIN     "C:\\Users\\bob\\AppData\\Local\\chat\\chat.exe"
#define LISTED    "C:\\Program Files\\Allowed\\bin\\server.exe"
#define PUBLISHER "CN=Contoso Ltd, O=Contoso Ltd, C=US"

static const uint8_t plain_hash[32] = {0x11, 0x22};
static const uint8_t listed_hash[32] = {0x33, 0x44, 0x55};
static const uint8_t signed_key[65] = {0x04, 9, 9, 9};

enum who { W_USER, W_ADMIN, W_FILTERED_ADMIN, W_ELEVATED_NON_MEMBER };
enum app { A_PLAIN, A_PATH, A_HASH, A_PUBLISHER, A_NO_HASH };
enum consent {
    C_NONE,
    C_APPROVE,          /* UDP 5000-5010 approved, path + hash */
    C_DENY,             /* UDP 5005 denied */
    C_APPROVE_EXPIRED,  /* approval that expired at NOW */
    C_DENY_EXPIRED,     /* denial that expired before NOW */
    C_APPROVE_NARROW,   /* approval of 5000-5004 only */
    C_APPROVE_AND_DENY, /* approval covering, plus a denial touching 5010 */
    C_DENY_OTHER_PORTS, /* denial of 6000 only */
    C_APPROVE_OTHER_USER,
    C_APPROVE_HASH_ONLY, /* approval by image hash, any path */
    C_APPROVE_PATH_CASE, /* approval by path, different ASCII case */
    C_APPROVE_OTHER_HASH,
    C_APPROVE_TCP
};
enum sigk { S_NONE, S_VALID, S_EXPIRED, S_WRONG_IMAGE, S_INVALID, S_UNTRUSTED };

static void make_identity(enum who w, enum app a, edge_policy_identity *id)
{
    memset(id, 0, sizeof *id);
    id->user_sid = USER_SID;
    id->elevated = w == W_ADMIN || w == W_ELEVATED_NON_MEMBER;
    id->admin_member = w == W_ADMIN || w == W_FILTERED_ADMIN;
    id->image_path = a == A_PATH ? LISTED : PLAIN;
    id->image_sha256 = a == A_HASH ? listed_hash : a == A_NO_HASH ? NULL : plain_hash;
    id->publisher = a == A_PUBLISHER ? "cn=contoso ltd, o=contoso ltd, c=us" : NULL;
}

static size_t make_consent(enum consent c, edge_consent_record *r)
{
    edge_consent_record base;
    memset(&base, 0, sizeof base);
    base.approved = true;
    base.image_path = PLAIN;
    base.image_sha256 = plain_hash;
    base.protocol = EDGE_IPPROTO_UDP;
    base.port_lo = 5000;
    base.port_hi = 5010;
    base.expires = NOW + 100;
    r[0] = base;
    switch (c) {
    case C_NONE:
        return 0;
    case C_APPROVE:
        return 1;
    case C_DENY:
        r[0].approved = false;
        r[0].port_lo = r[0].port_hi = 5005;
        return 1;
    case C_APPROVE_EXPIRED:
        r[0].expires = NOW;
        return 1;
    case C_DENY_EXPIRED:
        r[0].approved = false;
        r[0].expires = NOW - 1;
        return 1;
    case C_APPROVE_NARROW:
        r[0].port_hi = 5004;
        return 1;
    case C_APPROVE_AND_DENY:
        r[1] = base;
        r[1].approved = false;
        r[1].port_lo = 5010;
        r[1].port_hi = 5020;
        return 2;
    case C_DENY_OTHER_PORTS:
        r[0].approved = false;
        r[0].port_lo = r[0].port_hi = 6000;
        return 1;
    case C_APPROVE_OTHER_USER:
        r[0].user_sid = OTHER_SID;
        return 1;
    case C_APPROVE_HASH_ONLY:
        r[0].image_path = NULL;
        return 1;
    case C_APPROVE_PATH_CASE:
        r[0].image_sha256 = NULL;
        r[0].image_path = "c:\\USERS\\Bob\\appdata\\local\\CHAT\\chat.EXE";
        return 1;
    case C_APPROVE_OTHER_HASH:
        r[0].image_sha256 = listed_hash;
        return 1;
    case C_APPROVE_TCP:
        r[0].protocol = EDGE_IPPROTO_TCP;
        return 1;
    }
    return 0;
}

static void make_policy(edge_policy *p, edge_policy_mode mode)
{
    static const edge_str pats[] = {{"C:\\Program Files\\Allowed\\**", 27}};
    static const edge_str ports[] = {{"5000-5010", 9}, {"6000", 4}};
    static const edge_str pubs[] = {{PUBLISHER, sizeof PUBLISHER - 1}};
    char hash_hex[65], key_hex[131];
    edge_str item;
    edge_policy_init_defaults(p);
    p->mode = mode;
    p->source[EDGE_POLICY_V_MODE] = EDGE_POLICY_SRC_POLICY;
    assert_int_equal(edge_policy_set_strings(p, EDGE_POLICY_V_ALLOWED_APPLICATIONS, pats, 1,
                                             EDGE_POLICY_SRC_LOCAL, NULL),
                     0);
    assert_int_equal(edge_policy_set_strings(p, EDGE_POLICY_V_ALLOWED_PORTS, ports, 2,
                                             EDGE_POLICY_SRC_POLICY, NULL),
                     0);
    assert_int_equal(edge_policy_set_strings(p, EDGE_POLICY_V_ALLOWED_PUBLISHERS, pubs, 1,
                                             EDGE_POLICY_SRC_POLICY, NULL),
                     0);
    edge_sr_hex_encode(listed_hash, 32, hash_hex, sizeof hash_hex);
    item.ptr = hash_hex;
    item.len = 64;
    assert_int_equal(edge_policy_set_strings(p, EDGE_POLICY_V_ALLOWED_IMAGE_HASHES, &item, 1,
                                             EDGE_POLICY_SRC_POLICY, NULL),
                     0);
    edge_sr_hex_encode(signed_key, 65, key_hex, sizeof key_hex);
    item.ptr = key_hex;
    item.len = 130;
    assert_int_equal(edge_policy_set_strings(p, EDGE_POLICY_V_TRUSTED_SIGNER_KEYS, &item, 1,
                                             EDGE_POLICY_SRC_POLICY, NULL),
                     0);
}

static void make_signature(enum sigk s, edge_sr_fields *f, edge_policy_signature *sig)
{
    memset(f, 0, sizeof *f);
    memset(sig, 0, sizeof *sig);
    f->version = EDGE_SR_VERSION;
    edge_sr_key_id(signed_key, f->key_id);
    f->has_image_sha256 = true;
    memcpy(f->image_sha256, s == S_WRONG_IMAGE ? listed_hash : plain_hash, 32);
    f->protocol = EDGE_IPPROTO_UDP;
    f->port_lo = 5000;
    f->port_hi = 5010;
    f->edge_option = EDGE_TRAVERSAL_DEFER_TO_APP;
    f->not_before = NOW - 10;
    f->not_after = s == S_EXPIRED ? NOW - 1000 : NOW + 10;
    if (s == S_UNTRUSTED)
        f->key_id[0] ^= 1;
    if (s == S_NONE)
        return;
    if (s == S_INVALID) {
        sig->state = EDGE_POLICY_SIG_INVALID;
        sig->invalid = EDGE_SR_E_BAD_SIGNATURE;
        return;
    }
    sig->state = EDGE_POLICY_SIG_VERIFIED;
    sig->fields = f;
}

struct row {
    const char *name;
    edge_policy_mode mode;
    enum who who;
    enum app app;
    uint16_t lo, hi;
    bool other_app;
    enum consent consent;
    enum sigk sig;
    edge_policy_verdict verdict;
    edge_status status;
    edge_policy_basis basis;
    const char *trace_has; /* a substring some trace line must contain, or NULL */
};

#define OFF   EDGE_POLICY_MODE_OFF
#define ALO   EDGE_POLICY_MODE_ALLOW_LIST_ONLY
#define SOA   EDGE_POLICY_MODE_SIGNED_OR_ALLOW_LISTED
#define CON   EDGE_POLICY_MODE_CONSENT
#define ALLOW EDGE_POLICY_ALLOW
#define DENY  EDGE_POLICY_DENY
#define PEND  EDGE_POLICY_PENDING

static const struct row rows[] = {
    /* Mode Off refuses everyone, administrators and allow-listed applications included. */
    {"off user", OFF, W_USER, A_PLAIN, 5000, 5010, false, C_APPROVE, S_VALID, DENY, EDGE_E_DENIED,
     EDGE_POLICY_BASIS_MODE_OFF, "Mode (policy): Off"},
    {"off admin", OFF, W_ADMIN, A_PATH, 5000, 5010, false, C_NONE, S_NONE, DENY, EDGE_E_DENIED,
     EDGE_POLICY_BASIS_MODE_OFF, NULL},
    {"off target", OFF, W_USER, A_PLAIN, 5000, 5010, true, C_NONE, S_NONE, DENY, EDGE_E_DENIED,
     EDGE_POLICY_BASIS_MODE_OFF, NULL},
    /* target_app: only an elevated administrator, in every mode, before any allow-list. */
    {"target user", CON, W_USER, A_PATH, 5000, 5010, true, C_NONE, S_NONE, DENY,
     EDGE_E_IDENTITY_MISMATCH, EDGE_POLICY_BASIS_TARGET_APP, "not an elevated administrator"},
    {"target filtered", ALO, W_FILTERED_ADMIN, A_PATH, 5000, 5010, true, C_NONE, S_VALID, DENY,
     EDGE_E_IDENTITY_MISMATCH, EDGE_POLICY_BASIS_TARGET_APP, NULL},
    {"target admin", ALO, W_ADMIN, A_PLAIN, 5000, 5010, true, C_NONE, S_NONE, ALLOW, EDGE_OK,
     EDGE_POLICY_BASIS_ADMIN, "caller is an elevated administrator"},
    /* Request sanity. */
    {"bad ports", CON, W_ADMIN, A_PLAIN, 5010, 5000, false, C_NONE, S_NONE, DENY,
     EDGE_E_BAD_REQUEST, EDGE_POLICY_BASIS_BAD_REQUEST, NULL},
    /* AllowedPorts edges: the whole range inside ONE entry; admins are not exempt. */
    {"ports lo edge", ALO, W_ADMIN, A_PLAIN, 5000, 5000, false, C_NONE, S_NONE, ALLOW, EDGE_OK,
     EDGE_POLICY_BASIS_ADMIN, "5000-5000 lies inside 5000-5010"},
    {"ports hi edge", ALO, W_ADMIN, A_PLAIN, 5010, 5010, false, C_NONE, S_NONE, ALLOW, EDGE_OK,
     EDGE_POLICY_BASIS_ADMIN, NULL},
    {"ports below", ALO, W_ADMIN, A_PLAIN, 4999, 5000, false, C_NONE, S_NONE, DENY, EDGE_E_DENIED,
     EDGE_POLICY_BASIS_PORTS, "not inside any of 2 range(s)"},
    {"ports above", CON, W_ADMIN, A_PATH, 5010, 5011, false, C_NONE, S_NONE, DENY, EDGE_E_DENIED,
     EDGE_POLICY_BASIS_PORTS, NULL},
    {"ports span", SOA, W_ADMIN, A_PLAIN, 5005, 6000, false, C_NONE, S_NONE, DENY, EDGE_E_DENIED,
     EDGE_POLICY_BASIS_PORTS, NULL},
    {"ports single", ALO, W_USER, A_PATH, 6000, 6000, false, C_NONE, S_NONE, ALLOW, EDGE_OK,
     EDGE_POLICY_BASIS_ALLOWED_PATH, NULL},
    /* Administrators: by elevation AND membership, never one alone. */
    {"admin alo", ALO, W_ADMIN, A_PLAIN, 5000, 5010, false, C_NONE, S_NONE, ALLOW, EDGE_OK,
     EDGE_POLICY_BASIS_ADMIN, NULL},
    {"filtered admin alo", ALO, W_FILTERED_ADMIN, A_PLAIN, 5000, 5010, false, C_NONE, S_NONE, DENY,
     EDGE_E_DENIED, EDGE_POLICY_BASIS_MODE, "not an elevated administrator"},
    {"elevated non-member", CON, W_ELEVATED_NON_MEMBER, A_PLAIN, 5000, 5010, false, C_NONE, S_NONE,
     PEND, EDGE_PENDING_CONSENT, EDGE_POLICY_BASIS_MODE, NULL},
    /* Allow-lists, in every mode but Off. */
    {"path alo", ALO, W_USER, A_PATH, 5000, 5010, false, C_NONE, S_NONE, ALLOW, EDGE_OK,
     EDGE_POLICY_BASIS_ALLOWED_PATH, "AllowedApplications (local): \"C:\\Program Files"},
    {"path soa", SOA, W_USER, A_PATH, 5000, 5010, false, C_NONE, S_NONE, ALLOW, EDGE_OK,
     EDGE_POLICY_BASIS_ALLOWED_PATH, NULL},
    {"path con", CON, W_USER, A_PATH, 5000, 5010, false, C_DENY, S_NONE, ALLOW, EDGE_OK,
     EDGE_POLICY_BASIS_ALLOWED_PATH, NULL},
    {"hash alo", ALO, W_USER, A_HASH, 5000, 5010, false, C_NONE, S_NONE, ALLOW, EDGE_OK,
     EDGE_POLICY_BASIS_ALLOWED_HASH, "AllowedImageHashes (policy): entry 0"},
    {"publisher soa", SOA, W_USER, A_PUBLISHER, 5000, 5010, false, C_NONE, S_NONE, ALLOW, EDGE_OK,
     EDGE_POLICY_BASIS_ALLOWED_PUBLISHER, "is the image's verified publisher"},
    {"no hash", ALO, W_USER, A_NO_HASH, 5000, 5010, false, C_NONE, S_NONE, DENY, EDGE_E_DENIED,
     EDGE_POLICY_BASIS_MODE, "image SHA-256 unknown"},
    /* Signed requests: SignedOrAllowListed and Consent only; refusals are final. */
    {"signed alo", ALO, W_USER, A_PLAIN, 5000, 5010, false, C_NONE, S_VALID, DENY, EDGE_E_DENIED,
     EDGE_POLICY_BASIS_MODE, "signed request: ignored (Mode = AllowListOnly)"},
    {"signed soa", SOA, W_USER, A_PLAIN, 5000, 5010, false, C_NONE, S_VALID, ALLOW, EDGE_OK,
     EDGE_POLICY_BASIS_SIGNED, "key id"},
    {"signed con", CON, W_USER, A_PLAIN, 5001, 5002, false, C_NONE, S_VALID, ALLOW, EDGE_OK,
     EDGE_POLICY_BASIS_SIGNED, NULL},
    {"signed beats denial", CON, W_USER, A_PLAIN, 5000, 5010, false, C_DENY, S_VALID, ALLOW,
     EDGE_OK, EDGE_POLICY_BASIS_SIGNED, NULL},
    {"signed expired", SOA, W_USER, A_PLAIN, 5000, 5010, false, C_NONE, S_EXPIRED, DENY,
     EDGE_E_EXPIRED, EDGE_POLICY_BASIS_SIGNED, "has expired"},
    {"signed expired con", CON, W_USER, A_PLAIN, 5000, 5010, false, C_APPROVE, S_EXPIRED, DENY,
     EDGE_E_EXPIRED, EDGE_POLICY_BASIS_SIGNED, NULL},
    {"signed wrong image", CON, W_USER, A_PLAIN, 5000, 5010, false, C_NONE, S_WRONG_IMAGE, DENY,
     EDGE_E_IDENTITY_MISMATCH, EDGE_POLICY_BASIS_SIGNED, NULL},
    {"signed invalid", SOA, W_USER, A_PLAIN, 5000, 5010, false, C_NONE, S_INVALID, DENY,
     EDGE_E_BAD_SIGNATURE, EDGE_POLICY_BASIS_SIGNED, "signature does not verify"},
    {"signed untrusted", SOA, W_USER, A_PLAIN, 5000, 5010, false, C_NONE, S_UNTRUSTED, DENY,
     EDGE_E_BAD_SIGNATURE, EDGE_POLICY_BASIS_SIGNED, "not trusted"},
    {"signed ports", SOA, W_USER, A_PLAIN, 6000, 6000, false, C_NONE, S_VALID, DENY,
     EDGE_E_BAD_SIGNATURE, EDGE_POLICY_BASIS_SIGNED, NULL},
    {"allow-list before bad sig", SOA, W_USER, A_HASH, 5000, 5010, false, C_NONE, S_INVALID, ALLOW,
     EDGE_OK, EDGE_POLICY_BASIS_ALLOWED_HASH, NULL},
    /* Remembered decisions: Consent mode only. */
    {"approve con", CON, W_USER, A_PLAIN, 5000, 5010, false, C_APPROVE, S_NONE, ALLOW, EDGE_OK,
     EDGE_POLICY_BASIS_REMEMBERED_APPROVAL, "approval of UDP 5000-5010"},
    {"approve alo", ALO, W_USER, A_PLAIN, 5000, 5010, false, C_APPROVE, S_NONE, DENY, EDGE_E_DENIED,
     EDGE_POLICY_BASIS_MODE, "not consulted (Mode = AllowListOnly)"},
    {"approve soa", SOA, W_USER, A_PLAIN, 5000, 5010, false, C_APPROVE, S_NONE, DENY, EDGE_E_DENIED,
     EDGE_POLICY_BASIS_MODE, NULL},
    {"deny con", CON, W_USER, A_PLAIN, 5000, 5010, false, C_DENY, S_NONE, DENY,
     EDGE_E_CONSENT_DENIED, EDGE_POLICY_BASIS_REMEMBERED_DENIAL, "denial of UDP 5005-5005"},
    {"deny beats approve", CON, W_USER, A_PLAIN, 5000, 5010, false, C_APPROVE_AND_DENY, S_NONE,
     DENY, EDGE_E_CONSENT_DENIED, EDGE_POLICY_BASIS_REMEMBERED_DENIAL, NULL},
    {"deny no overlap", CON, W_USER, A_PLAIN, 5000, 5010, false, C_DENY_OTHER_PORTS, S_NONE, PEND,
     EDGE_PENDING_CONSENT, EDGE_POLICY_BASIS_MODE, NULL},
    {"approve expired", CON, W_USER, A_PLAIN, 5000, 5010, false, C_APPROVE_EXPIRED, S_NONE, PEND,
     EDGE_PENDING_CONSENT, EDGE_POLICY_BASIS_MODE, "1 matching but expired"},
    {"deny expired", CON, W_USER, A_PLAIN, 5000, 5010, false, C_DENY_EXPIRED, S_NONE, PEND,
     EDGE_PENDING_CONSENT, EDGE_POLICY_BASIS_MODE, NULL},
    {"approve narrow", CON, W_USER, A_PLAIN, 5000, 5010, false, C_APPROVE_NARROW, S_NONE, PEND,
     EDGE_PENDING_CONSENT, EDGE_POLICY_BASIS_MODE, NULL},
    {"approve subset", CON, W_USER, A_PLAIN, 5003, 5004, false, C_APPROVE_NARROW, S_NONE, ALLOW,
     EDGE_OK, EDGE_POLICY_BASIS_REMEMBERED_APPROVAL, NULL},
    {"approve other user", CON, W_USER, A_PLAIN, 5000, 5010, false, C_APPROVE_OTHER_USER, S_NONE,
     PEND, EDGE_PENDING_CONSENT, EDGE_POLICY_BASIS_MODE, NULL},
    {"approve by hash", CON, W_USER, A_PLAIN, 5000, 5010, false, C_APPROVE_HASH_ONLY, S_NONE, ALLOW,
     EDGE_OK, EDGE_POLICY_BASIS_REMEMBERED_APPROVAL, NULL},
    {"approve by path", CON, W_USER, A_NO_HASH, 5000, 5010, false, C_APPROVE_PATH_CASE, S_NONE,
     ALLOW, EDGE_OK, EDGE_POLICY_BASIS_REMEMBERED_APPROVAL, NULL},
    {"approve other hash", CON, W_USER, A_PLAIN, 5000, 5010, false, C_APPROVE_OTHER_HASH, S_NONE,
     PEND, EDGE_PENDING_CONSENT, EDGE_POLICY_BASIS_MODE, NULL},
    {"approve hash, unknown", CON, W_USER, A_NO_HASH, 5000, 5010, false, C_APPROVE_HASH_ONLY,
     S_NONE, PEND, EDGE_PENDING_CONSENT, EDGE_POLICY_BASIS_MODE, NULL},
    {"approve tcp", CON, W_USER, A_PLAIN, 5000, 5010, false, C_APPROVE_TCP, S_NONE, PEND,
     EDGE_PENDING_CONSENT, EDGE_POLICY_BASIS_MODE, NULL},
    /* The modes' own verdicts, with a detail naming what would allow it. */
    {"alo plain", ALO, W_USER, A_PLAIN, 5000, 5010, false, C_NONE, S_NONE, DENY, EDGE_E_DENIED,
     EDGE_POLICY_BASIS_MODE, "add the image path to AllowedApplications"},
    {"soa plain", SOA, W_USER, A_PLAIN, 5000, 5010, false, C_NONE, S_NONE, DENY, EDGE_E_DENIED,
     EDGE_POLICY_BASIS_MODE, "TrustedSignerKeys"},
    {"con plain", CON, W_USER, A_PLAIN, 5000, 5010, false, C_NONE, S_NONE, PEND,
     EDGE_PENDING_CONSENT, EDGE_POLICY_BASIS_MODE, "waiting for an administrator"},
};

static bool trace_contains(const edge_policy_decision *d, const char *s)
{
    uint32_t i;
    for (i = 0; i < d->trace_count; i++)
        if (strstr(edge_policy_trace_line(d, i), s))
            return true;
    return false;
}

/* Invariants every decision's trace keeps. */
static void check_trace_shape(const edge_policy_decision *d)
{
    uint32_t i;
    const char *last;
    assert_true(d->trace_count >= 1 && d->trace_count <= EDGE_MAX_TRACE_LINES);
    for (i = 0; i < d->trace_count; i++) {
        const char *l = edge_policy_trace_line(d, i);
        assert_non_null(l);
        assert_true(strlen(l) <= EDGE_MAX_TEXT);
        assert_int_equal(edge_utf8_check((const uint8_t *)l, strlen(l)), EDGE_UTF8_OK);
    }
    assert_null(edge_policy_trace_line(d, d->trace_count));
    last = edge_policy_trace_line(d, d->trace_count - 1);
    assert_true(strncmp(last, "decision: ", 10) == 0);
    assert_non_null(strstr(last, edge_status_name(d->status)));
    {
        char head[65];
        snprintf(head, sizeof head, "%s", d->reason); /* the reason may be cut in the line */
        assert_non_null(strstr(last, head));
    }
    assert_true(strlen(d->reason) > 0);
}

static void test_table(void **state)
{
    static edge_policy_decision d;
    size_t i;
    (void)state;
    for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct row *r = &rows[i];
        edge_policy p;
        edge_policy_identity id;
        edge_policy_request req;
        edge_consent_record consent[4];
        edge_sr_fields f;
        size_t nc;

        make_policy(&p, r->mode);
        make_identity(r->who, r->app, &id);
        memset(&req, 0, sizeof req);
        req.protocol = EDGE_IPPROTO_UDP;
        req.port_lo = r->lo;
        req.port_hi = r->hi;
        req.other_app = r->other_app;
        make_signature(r->sig, &f, &req.signature);
        nc = make_consent(r->consent, consent);
        edge_policy_decide(&id, &req, &p, consent, nc, NOW, &d);
        if (d.verdict != r->verdict || d.status != r->status || d.basis != r->basis ||
            (r->trace_has && !trace_contains(&d, r->trace_has))) {
            uint32_t j;
            print_error("row \"%s\": verdict %d status %s basis %s\n", r->name, (int)d.verdict,
                        edge_status_name(d.status), edge_policy_basis_name(d.basis));
            for (j = 0; j < d.trace_count; j++)
                print_error("  | %s\n", edge_policy_trace_line(&d, j));
            fail();
        }
        check_trace_shape(&d);
        assert_int_equal(d.edge_option, EDGE_TRAVERSAL_DEFER_TO_APP);
        assert_int_equal(d.profiles, 7);
        edge_policy_free(&p);
    }
}

/* The trace names each element in decision order, with its source. */
static void test_trace_order(void **state)
{
    static edge_policy_decision d;
    static const char *const want[] = {
        "caller: user " USER_SID ", not an elevated administrator",
        "application: " PLAIN ", SHA-256 1122000000",
        "request: UDP 5000-5010",
        "Mode (policy): Consent",
        "target_app: none",
        "AllowedProtocols (default): UDP allowed",
        "AllowedPorts (policy): 5000-5010 lies inside 5000-5010",
        "lease: 3600 s from DefaultLeaseSeconds, MaxLeaseSeconds (default) 86400 -> 3600 s",
        "AllowedApplications (local): no match among 1 pattern(s)",
        "AllowedImageHashes (policy): no match among 1 hash(es)",
        "AllowedPublishers (policy): image has no verified Authenticode signature",
        "signed request: none",
        "remembered decisions: none applies (0 record(s), 0 matching but expired)",
        "decision: PENDING_CONSENT (EDGE_PENDING_CONSENT, mode): not pre-approved",
    };
    edge_policy p;
    edge_policy_identity id;
    edge_policy_request req;
    size_t i;
    (void)state;
    make_policy(&p, CON);
    make_identity(W_USER, A_PLAIN, &id);
    memset(&req, 0, sizeof req);
    req.protocol = EDGE_IPPROTO_UDP;
    req.port_lo = 5000;
    req.port_hi = 5010;
    edge_policy_decide(&id, &req, &p, NULL, 0, NOW, &d);
    assert_int_equal(d.trace_count, sizeof want / sizeof want[0]);
    for (i = 0; i < d.trace_count; i++) {
        const char *l = edge_policy_trace_line(&d, (uint32_t)i);
        if (strncmp(l, want[i], strlen(want[i])) != 0) {
            print_error("line %u: \"%s\"\n  want prefix \"%s\"\n", (unsigned)i, l, want[i]);
            fail();
        }
    }
    assert_false(d.trace_truncated);
    edge_policy_free(&p);
}

static void test_protocols_and_lease(void **state)
{
    static edge_policy_decision d;
    static const edge_str tcp = {"TCP", 3};
    edge_policy p;
    edge_policy_identity id;
    edge_policy_request req;
    (void)state;
    make_policy(&p, ALO);
    make_identity(W_ADMIN, A_PLAIN, &id);
    memset(&req, 0, sizeof req);
    req.protocol = EDGE_IPPROTO_UDP;
    req.port_lo = req.port_hi = 5000;
    assert_int_equal(edge_policy_set_strings(&p, EDGE_POLICY_V_ALLOWED_PROTOCOLS, &tcp, 1,
                                             EDGE_POLICY_SRC_LOCAL, NULL),
                     0);
    edge_policy_decide(&id, &req, &p, NULL, 0, NOW, &d);
    assert_int_equal(d.status, EDGE_E_DENIED);
    assert_int_equal(d.basis, EDGE_POLICY_BASIS_PROTOCOL);
    assert_true(trace_contains(&d, "AllowedProtocols (local): UDP not allowed"));
    req.protocol = EDGE_IPPROTO_TCP;
    /* Lease length: default, asked, capped, and a default above the cap. */
    edge_policy_decide(&id, &req, &p, NULL, 0, NOW, &d);
    assert_int_equal(d.status, EDGE_OK);
    assert_int_equal(d.lease_seconds, 3600);
    assert_false(d.seconds_capped);
    req.has_seconds = true;
    req.seconds = 86400;
    edge_policy_decide(&id, &req, &p, NULL, 0, NOW, &d);
    assert_int_equal(d.lease_seconds, 86400);
    assert_false(d.seconds_capped);
    req.seconds = 86401;
    edge_policy_decide(&id, &req, &p, NULL, 0, NOW, &d);
    assert_int_equal(d.lease_seconds, 86400);
    assert_true(d.seconds_capped);
    assert_true(trace_contains(&d, "(capped)"));
    req.has_seconds = false;
    p.default_lease_seconds = 100000;
    p.max_lease_seconds = 600;
    edge_policy_decide(&id, &req, &p, NULL, 0, NOW, &d);
    assert_int_equal(d.lease_seconds, 600);
    assert_true(d.seconds_capped);
    /* Edge option and profiles for the rule come from policy. */
    p.edge_option = EDGE_TRAVERSAL_ALLOW;
    p.profiles = EDGE_POLICY_PROFILE_PRIVATE;
    edge_policy_decide(&id, &req, &p, NULL, 0, NOW, &d);
    assert_int_equal(d.edge_option, EDGE_TRAVERSAL_ALLOW);
    assert_int_equal(d.profiles, EDGE_POLICY_PROFILE_PRIVATE);
    /* Invalid requests. */
    req.protocol = 1;
    edge_policy_decide(&id, &req, &p, NULL, 0, NOW, &d);
    assert_int_equal(d.status, EDGE_E_BAD_REQUEST);
    req.protocol = EDGE_IPPROTO_TCP;
    req.port_lo = req.port_hi = 0;
    edge_policy_decide(&id, &req, &p, NULL, 0, NOW, &d);
    assert_int_equal(d.status, EDGE_E_BAD_REQUEST);
    req.port_lo = req.port_hi = 5000;
    req.flags = 0x2;
    edge_policy_decide(&id, &req, &p, NULL, 0, NOW, &d);
    assert_int_equal(d.status, EDGE_E_BAD_REQUEST);
    req.flags = EDGE_LEASE_F_KEEP_AFTER_EXIT;
    req.has_seconds = true;
    req.seconds = 0;
    edge_policy_decide(&id, &req, &p, NULL, 0, NOW, &d);
    assert_int_equal(d.status, EDGE_E_BAD_REQUEST);
    /* Missing inputs never allow. */
    req.seconds = 10;
    edge_policy_decide(NULL, &req, &p, NULL, 0, NOW, &d);
    assert_int_equal(d.verdict, EDGE_POLICY_DENY);
    assert_int_equal(d.status, EDGE_E_INTERNAL);
    check_trace_shape(&d);
    edge_policy_decide(&id, &req, &p, NULL, 3, NOW, &d);
    assert_int_equal(d.status, EDGE_E_INTERNAL);
    edge_policy_free(&p);
}

/* Long and non-ASCII inputs: lines stay bounded and valid UTF-8. */
static void test_trace_bounds(void **state)
{
    static edge_policy_decision d;
    static char path[4100], pat[4100];
    edge_policy p;
    edge_policy_identity id;
    edge_policy_request req;
    edge_str item;
    size_t i;
    (void)state;
    strcpy(path, "C:\\");
    for (i = 3; i < 4000; i += 3)
        memcpy(path + i, "\xC3\xA9\\", 3); /* "é\" segments */
    strcpy(path + i, "x.exe");
    memcpy(pat, path, strlen(path) + 1);
    edge_policy_init_defaults(&p);
    item.ptr = pat;
    item.len = (uint32_t)strlen(pat);
    assert_int_equal(edge_policy_set_strings(&p, EDGE_POLICY_V_ALLOWED_APPLICATIONS, &item, 1,
                                             EDGE_POLICY_SRC_POLICY, NULL),
                     0);
    make_identity(W_USER, A_PLAIN, &id);
    id.image_path = path;
    id.publisher = "CN=\xC3\xA9\xC3\xA9";
    memset(&req, 0, sizeof req);
    req.protocol = EDGE_IPPROTO_TCP;
    req.port_lo = req.port_hi = 40000;
    edge_policy_decide(&id, &req, &p, NULL, 0, NOW, &d);
    assert_int_equal(d.basis, EDGE_POLICY_BASIS_ALLOWED_PATH);
    check_trace_shape(&d);
    /* Invalid UTF-8 from outside never reaches a trace line. */
    id.publisher = "CN=\xFF";
    path[strlen(path) - 5] = 'y';
    edge_policy_decide(&id, &req, &p, NULL, 0, NOW, &d);
    assert_int_equal(d.status, EDGE_PENDING_CONSENT);
    check_trace_shape(&d);
    assert_true(trace_contains(&d, "(not valid UTF-8)"));
    edge_policy_free(&p);
}

static void test_admin_gate(void **state)
{
    edge_policy_identity id;
    (void)state;
    memset(&id, 0, sizeof id);
    assert_false(edge_policy_may_administer(NULL));
    id.user_sid = USER_SID;
    id.elevated = true;
    id.admin_member = true;
    assert_true(edge_policy_may_administer(&id));
    id.user_sid = "S-1-5-18"; /* LocalSystem */
    assert_true(edge_policy_may_administer(&id));
    id.user_sid = USER_SID;
    id.elevated = false; /* UAC-filtered token */
    assert_false(edge_policy_may_administer(&id));
    id.elevated = true;
    id.admin_member = false; /* elevated, but not a member by SID */
    assert_false(edge_policy_may_administer(&id));
    id.admin_member = true;
    id.user_sid = "S-1-5-7"; /* anonymous */
    assert_false(edge_policy_may_administer(&id));
    id.user_sid = NULL;
    assert_false(edge_policy_may_administer(&id));
    id.user_sid = "Administrator"; /* a name is never accepted */
    assert_false(edge_policy_may_administer(&id));
    id.user_sid = "S-1-5--1";
    assert_false(edge_policy_may_administer(&id));
    id.user_sid = "S-1-5-21-";
    assert_false(edge_policy_may_administer(&id));
    id.user_sid = "S-1-";
    assert_false(edge_policy_may_administer(&id));
    id.user_sid = "s-1-5-18";
    assert_false(edge_policy_may_administer(&id));
    assert_string_equal(edge_policy_basis_name(EDGE_POLICY_BASIS_REMEMBERED_DENIAL),
                        "remembered-denial");
    assert_string_equal(edge_policy_basis_name(EDGE_POLICY_BASIS_COUNT_), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_trace_order),
        cmocka_unit_test(test_protocols_and_lease),
        cmocka_unit_test(test_trace_bounds),
        cmocka_unit_test(test_admin_gate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
