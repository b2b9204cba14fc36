/*
 * Malformed-frame generator and one-shot sender for test_hostile (no cmocka).
 *
 * Every frame starts from a valid REQUEST for a rule (TCP port 46001, target_app
 * "C:\AAAAAAAAAAAAAAAA.exe" so that its string bytes can be found and damaged), so a frame the
 * service wrongly accepted would show up as a rule in the firewall double.  The expected
 * treatment follows docs/protocol.md §7.
 */
#ifndef EDGE_ITEST_HOSTILE_H
#define EDGE_ITEST_HOSTILE_H

#include "itest.h"

#define HOSTILE_FRAME_CAP (EDGE_FRAME_MAX + 8192u)

enum hostile_kind {
    HK_RANDOM,      /* random bytes, never the magic: dropped */
    HK_SHORT,       /* fewer than 20 bytes of a valid frame: dropped */
    HK_TRUNCATED,   /* a valid frame cut after its header: BAD_REQUEST */
    HK_MAGIC,       /* wrong magic: dropped */
    HK_VERSION,     /* version other than 1: UNSUPPORTED_VERSION */
    HK_HEADER_BITS, /* reserved field or flag bits, reply flag: BAD_REQUEST */
    HK_BODY_LEN,    /* body_len disagrees with the message size: BAD_REQUEST */
    HK_TLV_LEN,     /* a TLV running past the body: BAD_REQUEST */
    HK_TLV_TYPE,    /* wrong value type for a known tag: BAD_REQUEST */
    HK_DUP_TAG,     /* a tag repeated: BAD_REQUEST */
    HK_CRITICAL,    /* unknown critical tag: BAD_REQUEST */
    HK_BAD_UTF8,    /* ill-formed UTF-8 in target_app: BAD_REQUEST */
    HK_NUL,         /* U+0000 in target_app: BAD_REQUEST */
    HK_SIGNED_BLOB, /* well-formed REQUEST whose signed_request is garbage: refused */
    HK_OVERSIZE,    /* a message above the frame limit: dropped */
    HOSTILE_KIND_COUNT
};

/* Outcomes (bit set); HOSTILE_BUSY (0) is a rate-limit answer. */
#define HOSTILE_BUSY        0u
#define HOSTILE_DROP        1u  /* no reply, pipe closed */
#define HOSTILE_BAD_REQUEST 2u  /* EDGE_E_BAD_REQUEST, then closed */
#define HOSTILE_BAD_VERSION 4u  /* EDGE_E_UNSUPPORTED_VERSION, then closed */
#define HOSTILE_BAD_SIG     8u  /* EDGE_E_BAD_SIGNATURE (connection stays usable) */
#define HOSTILE_REFUSED     16u /* another error status; the connection stays usable */
#define HOSTILE_OTHER       32u /* anything else: EDGE_OK, a timeout, an undecodable reply */

struct hostile_tally {
    unsigned sent, busy;
    unsigned by_kind[HOSTILE_KIND_COUNT];
};

/* The reply status and Win32 error of a hostile_send (for failure messages). */
struct hostile_last {
    uint32_t status;
    DWORD error;
};

const char *hostile_kind_name(enum hostile_kind k);

/* The kind of frame number I (all kinds in turn; oversize one in 100). */
enum hostile_kind hostile_pick(unsigned i);

/*
 * Builds a frame of kind K into BUF (HOSTILE_FRAME_CAP bytes); *EXPECT the allowed outcomes.
 * RNG: xorshift32 state (non-zero), advanced; one per thread.
 */
size_t hostile_frame(enum hostile_kind k, uint8_t *buf, unsigned *expect, uint32_t *rng);

/*
 * Sends FRAME on C (open; hello done or not) and returns the outcome (HOSTILE_*).  EXPECT (from
 * hostile_frame) says whether an error reply must be followed by the service hanging up.
 */
unsigned hostile_send(itc *c, const uint8_t *frame, size_t len, unsigned expect,
                      struct hostile_last *last);

#endif /* EDGE_ITEST_HOSTILE_H */
