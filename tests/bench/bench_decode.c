/*
 * edge_bench_decode (host): the request handling that lives in common/, run N times so that
 * callgrind can count instructions per request (docs/performance.md, `make bench`).
 *
 *   edge_bench_decode [N]     (default 10000)
 *
 * One request = what the service does in common/ for a REQUEST frame from a pre-approved
 * application: edge_msg_decode (header, TLVs, field validation), the lease checks of the verb
 * (protocol, ports, flags, seconds), the caller's UTF-16 image path to canonical UTF-8
 * (edge_utf16_to_utf8 + edge_path_canonicalize), and edge_policy_decide against an allow-list of
 * eight patterns, the last one matching.  All of it happens inside run_requests, which
 * tests/bench/run-bench gives to callgrind as --toggle-collect, so set-up is not counted; the
 * instruction count divided by N is the figure.
 */
#include "edge/path.h"
#include "edge/policy.h"
#include "edge/protocol.h"
#include "edge/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMAGE "C:\\Program Files\\Example Corp\\Game\\bin\\game.exe"
#define SID   "S-1-5-21-1004336348-1177238915-682003330-1001"

static const char *const patterns[] = {
    "C:\\Program Files\\Alpha\\**",     "C:\\Program Files\\Beta\\*.exe",
    "C:\\Tools\\**\\server.exe",        "D:\\Games\\**",
    "C:\\Program Files (x86)\\Old\\**", "C:\\Users\\*\\AppData\\Local\\Peer\\peer.exe",
    "E:\\Portable\\**\\*.exe",          "C:\\Program Files\\Example Corp\\**\\*.exe"};

struct ctx {
    uint8_t frame[EDGE_FRAME_MAX];
    size_t frame_len;
    uint16_t image16[128];
    size_t image16_len;
    uint8_t sha[EDGE_SHA256_SIZE];
    edge_policy policy;
    edge_policy_decision dec;
};

/* One request; returns 1 when it was granted. */
static int one_request(struct ctx *c)
{
    edge_msg m;
    char utf8[EDGE_MAX_PATH + 1], canon[EDGE_MAX_PATH + 1];
    size_t n = 0;
    edge_policy_identity id;
    edge_policy_request req;
    const edge_lease_req *r;

    if (edge_msg_decode(c->frame, c->frame_len, EDGE_DIR_REQUEST, &m) != EDGE_PROTO_OK ||
        m.type != EDGE_MSG_REQUEST)
        return 0;
    r = &m.u.lease_req;
    if ((r->protocol != EDGE_IPPROTO_TCP && r->protocol != EDGE_IPPROTO_UDP) || r->port_lo == 0 ||
        r->port_hi < r->port_lo || (r->flags & ~(uint32_t)EDGE_LEASE_F_KNOWN) ||
        (r->has_seconds && (r->seconds == 0 || r->seconds > EDGE_LEASE_SECONDS_MAX)))
        return 0;
    if (edge_utf16_to_utf8(c->image16, c->image16_len, (uint8_t *)utf8, sizeof(utf8) - 1, &n) !=
        EDGE_UTF8_OK)
        return 0;
    if (edge_path_canonicalize(utf8, n, canon, sizeof(canon), NULL) != EDGE_PATH_OK)
        return 0;
    memset(&id, 0, sizeof(id));
    id.user_sid = SID;
    id.image_path = canon;
    id.image_sha256 = c->sha;
    memset(&req, 0, sizeof(req));
    req.protocol = r->protocol;
    req.port_lo = r->port_lo;
    req.port_hi = r->port_hi;
    req.has_seconds = r->has_seconds;
    req.seconds = r->seconds;
    req.flags = r->flags;
    edge_policy_decide(&id, &req, &c->policy, NULL, 0, 1700000000u, &c->dec);
    return c->dec.status == EDGE_OK;
}

/* Everything callgrind counts (--toggle-collect=run_requests).  Not static: keeps its symbol. */
unsigned long run_requests(struct ctx *c, unsigned long n);
unsigned long run_requests(struct ctx *c, unsigned long n)
{
    unsigned long granted = 0, i;

    for (i = 0; i < n; i++)
        granted += (unsigned long)one_request(c);
    return granted;
}

int main(int argc, char **argv)
{
    static struct ctx c;
    edge_str pats[sizeof(patterns) / sizeof(patterns[0])];
    edge_msg m;
    unsigned long (*volatile run)(struct ctx *, unsigned long) = run_requests;
    unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000ul, granted;
    size_t i;

    for (i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++)
        pats[i] = edge_str_from_cstr(patterns[i]);
    edge_policy_init_defaults(&c.policy);
    c.policy.mode = EDGE_POLICY_MODE_ALLOW_LIST_ONLY;
    if (edge_policy_set_strings(&c.policy, EDGE_POLICY_V_ALLOWED_APPLICATIONS, pats,
                                sizeof(pats) / sizeof(pats[0]), EDGE_POLICY_SRC_LOCAL,
                                NULL) != EDGE_POLICY_PARSE_OK) {
        fprintf(stderr, "edge_bench_decode: policy set-up failed\n");
        return 1;
    }
    memset(&m, 0, sizeof(m));
    m.type = EDGE_MSG_REQUEST;
    m.request_id = 7;
    m.u.lease_req.protocol = EDGE_IPPROTO_UDP;
    m.u.lease_req.port_lo = 49152;
    m.u.lease_req.has_port_hi = true;
    m.u.lease_req.port_hi = 49153;
    m.u.lease_req.has_seconds = true;
    m.u.lease_req.seconds = 3600;
    m.u.lease_req.has_flags = true;
    m.u.lease_req.flags = 0;
    if (edge_msg_encode(&m, c.frame, sizeof(c.frame), &c.frame_len) != EDGE_PROTO_OK) {
        fprintf(stderr, "edge_bench_decode: encode failed\n");
        return 1;
    }
    for (i = 0; IMAGE[i] && i < sizeof(c.image16) / sizeof(c.image16[0]); i++)
        c.image16[i] = (uint16_t)(unsigned char)IMAGE[i];
    c.image16_len = i;
    memset(c.sha, 0xab, sizeof(c.sha));

    /* Called through a volatile pointer so that it is never inlined into main (its symbol is
     * what callgrind toggles on). */
    granted = run(&c, n);
    printf("edge_bench_decode: %lu requests (%zu-byte REQUEST frame), %lu granted\n", n,
           c.frame_len, granted);
    edge_policy_free(&c.policy);
    return granted == n ? 0 : 1;
}
