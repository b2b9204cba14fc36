/* Frame header, frame-level decode errors, error replies, helpers (docs/protocol.md §2, §7). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "edge/protocol.h"

static const uint8_t epoch[EDGE_ID_SIZE] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

/* A valid PING request frame with an empty body. */
static size_t make_ping(uint8_t *buf)
{
    edge_frame_header h = {EDGE_PROTO_MAGIC, EDGE_PROTO_VERSION, EDGE_MSG_PING, 0, 0, 77, 0};
    edge_frame_write_header(&h, buf);
    return EDGE_FRAME_HEADER_SIZE;
}

/* protocol.md §2.1: the header layout, byte for byte. */
static void test_header_layout(void **state)
{
    uint8_t b[EDGE_FRAME_HEADER_SIZE];
    edge_frame_header h = {EDGE_PROTO_MAGIC, 1, 0x0203, 0x0001, 0, 0x0a0b0c0d, 0x11223344};
    const uint8_t want[EDGE_FRAME_HEADER_SIZE] = {
        'E', 'D', 'G', 'B', 1, 0, 3, 2, 1, 0, 0, 0, 0x0d, 0x0c, 0x0b, 0x0a, 0x44, 0x33, 0x22, 0x11};
    (void)state;
    edge_frame_write_header(&h, b);
    assert_memory_equal(b, want, sizeof(want));
}

/* protocol.md §2.2: each header check, in order, with the header still reported. */
static void test_header_checks(void **state)
{
    uint8_t b[64];
    edge_frame_header h;
    (void)state;

    make_ping(b);
    assert_int_equal(edge_frame_parse_header(b, EDGE_FRAME_HEADER_SIZE, &h), EDGE_PROTO_OK);
    assert_int_equal(h.request_id, 77);
    assert_int_equal(h.type, EDGE_MSG_PING);

    assert_int_equal(edge_frame_parse_header(b, EDGE_FRAME_HEADER_SIZE - 1, &h),
                     EDGE_PROTO_E_TRUNCATED_HEADER);
    assert_int_equal(h.request_id, 0);
    assert_int_equal(edge_frame_parse_header(NULL, 0, &h), EDGE_PROTO_E_TRUNCATED_HEADER);

    make_ping(b);
    b[0] = 'e';
    assert_int_equal(edge_frame_parse_header(b, 20, &h), EDGE_PROTO_E_BAD_MAGIC);

    make_ping(b);
    b[4] = 2;
    assert_int_equal(edge_frame_parse_header(b, 20, &h), EDGE_PROTO_E_BAD_VERSION);
    assert_int_equal(h.request_id, 77); /* so the service can still answer */
    assert_int_equal(h.version, 2);
    make_ping(b);
    b[4] = 0;
    assert_int_equal(edge_frame_parse_header(b, 20, &h), EDGE_PROTO_E_BAD_VERSION);

    make_ping(b);
    b[8] = 0x02; /* unknown flag bit */
    assert_int_equal(edge_frame_parse_header(b, 20, &h), EDGE_PROTO_E_RESERVED_BITS);
    make_ping(b);
    b[9] = 0x80;
    assert_int_equal(edge_frame_parse_header(b, 20, &h), EDGE_PROTO_E_RESERVED_BITS);
    make_ping(b);
    b[11] = 1; /* reserved field */
    assert_int_equal(edge_frame_parse_header(b, 20, &h), EDGE_PROTO_E_RESERVED_BITS);

    make_ping(b);
    edge_put_le32(b + 16, EDGE_BODY_MAX);
    assert_int_equal(edge_frame_parse_header(b, 20, &h), EDGE_PROTO_OK);
    edge_put_le32(b + 16, EDGE_BODY_MAX + 1);
    assert_int_equal(edge_frame_parse_header(b, 20, &h), EDGE_PROTO_E_BODY_TOO_LARGE);
    edge_put_le32(b + 16, 0xffffffffu);
    assert_int_equal(edge_frame_parse_header(b, 20, &h), EDGE_PROTO_E_BODY_TOO_LARGE);
}

/* protocol.md §2.3: the frame must be exactly header + body_len bytes. */
static void test_length_rules(void **state)
{
    uint8_t b[64] = {0};
    edge_msg m;
    size_t n;
    (void)state;

    n = make_ping(b);
    assert_int_equal(edge_msg_decode(b, n, EDGE_DIR_REQUEST, &m), EDGE_PROTO_OK);
    assert_int_equal(m.request_id, 77);
    assert_int_equal(edge_msg_decode(b, n + 1, EDGE_DIR_REQUEST, &m), EDGE_PROTO_E_LENGTH_MISMATCH);
    edge_put_le32(b + 16, 8);
    assert_int_equal(edge_msg_decode(b, n, EDGE_DIR_REQUEST, &m), EDGE_PROTO_E_LENGTH_MISMATCH);
    assert_int_equal(m.request_id, 77); /* header fields kept for the error reply */
    edge_put_le32(b + 16, 0xffffffffu);
    assert_int_equal(edge_msg_decode(b, n, EDGE_DIR_REQUEST, &m), EDGE_PROTO_E_BODY_TOO_LARGE);
    assert_int_equal(edge_msg_decode(b, 5, EDGE_DIR_REQUEST, &m), EDGE_PROTO_E_TRUNCATED_HEADER);
}

/* protocol.md §9: message types outside the table are refused. */
static void test_unknown_types(void **state)
{
    const uint16_t bad[] = {0, 17, 63, 65, 0x8001, 0xffff};
    uint8_t b[32];
    edge_msg m;
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        make_ping(b);
        edge_put_le16(b + 6, bad[i]);
        assert_int_equal(edge_msg_decode(b, 20, EDGE_DIR_REQUEST, &m), EDGE_PROTO_E_UNKNOWN_TYPE);
        assert_int_equal(edge_msg_decode(b, 20, EDGE_DIR_REPLY, &m), EDGE_PROTO_E_UNKNOWN_TYPE);
    }
}

/* protocol.md §2.1, §9.19: requests flow to the service, replies and notices to clients. */
static void test_direction(void **state)
{
    uint8_t b[64];
    edge_msg m;
    size_t n;
    (void)state;

    n = make_ping(b);
    assert_int_equal(edge_msg_decode(b, n, EDGE_DIR_REPLY, &m), EDGE_PROTO_E_WRONG_DIRECTION);
    b[8] = EDGE_FRAME_F_REPLY;
    assert_int_equal(edge_msg_decode(b, n, EDGE_DIR_REQUEST, &m), EDGE_PROTO_E_WRONG_DIRECTION);

    /* NOTICE: never F_REPLY, only towards the client, request id 0. */
    make_ping(b);
    edge_put_le16(b + 6, EDGE_MSG_NOTICE);
    assert_int_equal(edge_msg_decode(b, n, EDGE_DIR_REQUEST, &m), EDGE_PROTO_E_WRONG_DIRECTION);
    b[8] = EDGE_FRAME_F_REPLY;
    assert_int_equal(edge_msg_decode(b, n, EDGE_DIR_REPLY, &m), EDGE_PROTO_E_WRONG_DIRECTION);
    b[8] = 0;
    assert_int_equal(edge_msg_decode(b, n, EDGE_DIR_REPLY, &m), EDGE_PROTO_E_BAD_VALUE);
}

/* protocol.md §9.1: error replies carry status, epoch, detail, win32 error, retry-after. */
static void test_error_reply(void **state)
{
    uint8_t b[EDGE_ERROR_REPLY_MAX];
    edge_frame_header req = {EDGE_PROTO_MAGIC, 1, EDGE_MSG_REQUEST, 0, 0, 4242, 0};
    edge_msg m;
    size_t n = 0;
    (void)state;

    assert_int_equal(edge_reply_encode_error(&req, epoch, EDGE_E_FIREWALL, "COM call failed",
                                             0x80070005u, 30, b, sizeof(b), &n),
                     EDGE_PROTO_OK);
    assert_int_equal(edge_msg_decode(b, n, EDGE_DIR_REPLY, &m), EDGE_PROTO_OK);
    assert_int_equal(m.type, EDGE_MSG_REQUEST);
    assert_int_equal(m.flags, EDGE_FRAME_F_REPLY);
    assert_int_equal(m.request_id, 4242);
    assert_int_equal(m.env.status, EDGE_E_FIREWALL);
    assert_memory_equal(m.env.epoch, epoch, EDGE_ID_SIZE);
    assert_int_equal(m.env.detail.len, strlen("COM call failed"));
    assert_memory_equal(m.env.detail.ptr, "COM call failed", m.env.detail.len);
    assert_true(m.env.has_win32_error);
    assert_int_equal(m.env.win32_error, 0x80070005u);
    assert_true(m.env.has_retry_after);
    assert_int_equal(m.env.retry_after, 30);
    assert_false(m.u.lease_rep.has_lease); /* not required with an error status */

    /* Zero win32 error / retry-after and NULL detail are omitted. */
    assert_int_equal(
        edge_reply_encode_error(&req, epoch, EDGE_E_DENIED, NULL, 0, 0, b, sizeof(b), &n),
        EDGE_PROTO_OK);
    assert_int_equal(edge_msg_decode(b, n, EDGE_DIR_REPLY, &m), EDGE_PROTO_OK);
    assert_null(m.env.detail.ptr);
    assert_false(m.env.has_win32_error);
    assert_false(m.env.has_retry_after);

    /* Measuring and short buffers report the size. */
    assert_int_equal(edge_reply_encode_error(&req, epoch, EDGE_E_DENIED, "x", 0, 0, NULL, 0, &n),
                     EDGE_PROTO_E_BUFFER_TOO_SMALL);
    {
        size_t need = n;
        assert_int_equal(
            edge_reply_encode_error(&req, epoch, EDGE_E_DENIED, "x", 0, 0, b, need - 1, &n),
            EDGE_PROTO_E_BUFFER_TOO_SMALL);
        assert_int_equal(n, need);
    }

    /* A type the service does not know can still be answered; type 0 and NOTICE cannot. */
    req.type = 999;
    assert_int_equal(
        edge_reply_encode_error(&req, epoch, EDGE_E_BAD_REQUEST, NULL, 0, 0, b, sizeof(b), &n),
        EDGE_PROTO_OK);
    assert_int_equal(edge_le16(b + 6), 999);
    req.type = 0;
    assert_int_equal(
        edge_reply_encode_error(&req, epoch, EDGE_E_BAD_REQUEST, NULL, 0, 0, b, sizeof(b), &n),
        EDGE_PROTO_E_INVALID_ARG);
    req.type = EDGE_MSG_NOTICE;
    assert_int_equal(
        edge_reply_encode_error(&req, epoch, EDGE_E_BAD_REQUEST, NULL, 0, 0, b, sizeof(b), &n),
        EDGE_PROTO_E_INVALID_ARG);
}

/* protocol.md §9.1, §6: long detail is cut at a character boundary; bad detail is dropped. */
static void test_error_reply_detail(void **state)
{
    uint8_t b[EDGE_ERROR_REPLY_MAX];
    char detail[3000];
    edge_frame_header req = {EDGE_PROTO_MAGIC, 1, EDGE_MSG_RENEW, 0, 0, 1, 0};
    edge_msg m;
    size_t n = 0;
    (void)state;

    /* 'a' then 1499 two-byte characters: the 1024-byte cut falls inside one. */
    detail[0] = 'a';
    for (size_t i = 0; i < 1499; i++) {
        detail[1 + 2 * i] = (char)0xc3;
        detail[2 + 2 * i] = (char)0xa9;
    }
    detail[2999] = '\0';
    assert_int_equal(edge_reply_encode_error(&req, epoch, EDGE_E_INTERNAL, detail, 0xffffffffu,
                                             0xffffffffu, b, sizeof(b), &n),
                     EDGE_PROTO_OK); /* EDGE_ERROR_REPLY_MAX suffices for the worst case */
    assert_int_equal(edge_msg_decode(b, n, EDGE_DIR_REPLY, &m), EDGE_PROTO_OK);
    assert_int_equal(m.env.detail.len, 1023);

    assert_int_equal(edge_reply_encode_error(&req, epoch, EDGE_E_INTERNAL, "bad \xff text", 0, 0, b,
                                             sizeof(b), &n),
                     EDGE_PROTO_OK);
    assert_int_equal(edge_msg_decode(b, n, EDGE_DIR_REPLY, &m), EDGE_PROTO_OK);
    assert_null(m.env.detail.ptr);
}

/* protocol.md §7: decode errors map to status codes. */
static void test_err_status_and_names(void **state)
{
    (void)state;
    assert_int_equal(edge_proto_err_status(EDGE_PROTO_OK), EDGE_OK);
    assert_int_equal(edge_proto_err_status(EDGE_PROTO_E_BAD_VERSION), EDGE_E_UNSUPPORTED_VERSION);
    assert_int_equal(edge_proto_err_status(EDGE_PROTO_E_NO_MEMORY), EDGE_E_NO_MEMORY);
    assert_int_equal(edge_proto_err_status(EDGE_PROTO_E_BUFFER_TOO_SMALL), EDGE_E_INTERNAL);
    for (int e = EDGE_PROTO_E_TRUNCATED_HEADER; e <= EDGE_PROTO_E_BAD_VALUE; e++) {
        if (e != EDGE_PROTO_E_BAD_VERSION)
            assert_int_equal(edge_proto_err_status((edge_proto_err)e), EDGE_E_BAD_REQUEST);
    }
    for (int e = 0; e < EDGE_PROTO_ERR_COUNT_; e++) {
        const char *name = edge_proto_err_name((edge_proto_err)e);
        assert_non_null(name);
        assert_int_equal(strncmp(name, "EDGE_PROTO_", 11), 0);
        for (int f = 0; f < e; f++)
            assert_string_not_equal(name, edge_proto_err_name((edge_proto_err)f));
    }
    assert_string_equal(edge_proto_err_name(EDGE_PROTO_E_DUPLICATE_TAG),
                        "EDGE_PROTO_E_DUPLICATE_TAG");
    assert_string_equal(edge_proto_err_name(EDGE_PROTO_ERR_COUNT_), "EDGE_PROTO_E_UNKNOWN");
    assert_string_equal(edge_msg_type_name(EDGE_MSG_EXPLAIN), "explain");
    assert_string_equal(edge_msg_type_name(EDGE_MSG_NOTICE), "notice");
    assert_string_equal(edge_msg_type_name(17), "unknown");
    assert_true(edge_msg_type_is_request(EDGE_MSG_HELLO));
    assert_true(edge_msg_type_is_request(EDGE_MSG_PURGE));
    assert_false(edge_msg_type_is_request(EDGE_MSG_NOTICE));
    assert_false(edge_msg_type_is_request(0));
}

/* protocol.md §2.3: the allocating encoder returns exactly the frame. */
static void test_encode_alloc(void **state)
{
    edge_msg m;
    uint8_t *frame = NULL;
    size_t n = 0;
    edge_msg back;
    (void)state;

    memset(&m, 0, sizeof(m));
    m.type = EDGE_MSG_PING;
    m.request_id = 5;
    m.u.ping.payload.ptr = (const uint8_t *)"abc";
    m.u.ping.payload.len = 3;
    assert_int_equal(edge_msg_encode_alloc(&m, &frame, &n), EDGE_PROTO_OK);
    assert_non_null(frame);
    assert_int_equal(n, EDGE_FRAME_HEADER_SIZE + 8 + 3);
    assert_int_equal(edge_msg_decode(frame, n, EDGE_DIR_REQUEST, &back), EDGE_PROTO_OK);
    assert_int_equal(back.u.ping.payload.len, 3);
    edge_proto_free(frame);

    m.u.ping.payload.len = EDGE_MAX_PING_PAYLOAD + 1;
    frame = (uint8_t *)&m; /* must be reset to NULL on error */
    assert_int_equal(edge_msg_encode_alloc(&m, &frame, &n), EDGE_PROTO_E_TOO_LONG);
    assert_null(frame);
    assert_int_equal(n, 0);
    edge_proto_free(NULL);
}

/* protocol.md §9: str helper. */
static void test_str_from_cstr(void **state)
{
    edge_str s = edge_str_from_cstr("abc");
    (void)state;
    assert_int_equal(s.len, 3);
    s = edge_str_from_cstr(NULL);
    assert_null(s.ptr);
    assert_int_equal(s.len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_layout),      cmocka_unit_test(test_header_checks),
        cmocka_unit_test(test_length_rules),       cmocka_unit_test(test_unknown_types),
        cmocka_unit_test(test_direction),          cmocka_unit_test(test_error_reply),
        cmocka_unit_test(test_error_reply_detail), cmocka_unit_test(test_err_status_and_names),
        cmocka_unit_test(test_encode_alloc),       cmocka_unit_test(test_str_from_cstr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
