/*
 * codec_pipe_demo: round-trips protocol frames through a real Windows named pipe.
 *
 * A server thread answers on a private message-mode pipe; the client sends hello, ping and a
 * lease request, and one deliberately malformed frame.  Both sides use only the codec in common/
 * (edge/protocol.h), exactly as the service and the client library do.  It shows a newcomer what
 * a frame looks like on the wire and that a bad frame gets a clean error reply.  Exit code 0 means
 * every round trip decoded to what was sent.
 */
#include <windows.h>
#include <stdio.h>
#include <string.h>

#include "edge/protocol.h"
#include "edge/version.h"

#define DEMO_PIPE L"\\\\.\\pipe\\EdgeBrokerCodecDemo"

static const uint8_t demo_epoch[EDGE_ID_SIZE] = {0xed, 0x9e, 0xb0, 0x4e, 1, 2,  3,  4,
                                                 5,    6,    7,    8,    9, 10, 11, 12};

static void print_hex(const char *label, const uint8_t *p, size_t n)
{
    printf("    %s (%zu bytes):", label, n);
    for (size_t i = 0; i < n && i < 32; i++)
        printf(" %02x", p[i]);
    printf("%s\n", n > 32 ? " ..." : "");
}

/* Builds the reply the demo server gives to one decoded request. */
static edge_proto_err demo_answer(const uint8_t *frame, size_t len, uint8_t *out, size_t cap,
                                  size_t *out_len)
{
    edge_frame_header hdr;
    edge_msg req, rep;
    edge_proto_err err = edge_frame_parse_header(frame, len, &hdr);
    if (err == EDGE_PROTO_OK)
        err = edge_msg_decode(frame, len, EDGE_DIR_REQUEST, &req);
    if (err != EDGE_PROTO_OK) {
        char detail[160];
        snprintf(detail, sizeof detail, "frame rejected: %s", edge_proto_err_name(err));
        return edge_reply_encode_error(&hdr, demo_epoch, edge_proto_err_status(err), detail, 0,
                                       0, out, cap, out_len);
    }
    edge_msg_init_reply(&rep, &hdr, demo_epoch, EDGE_OK);
    switch (req.type) {
    case EDGE_MSG_HELLO:
        rep.u.hello_rep.version = EDGE_PROTO_VERSION;
        rep.u.hello_rep.capabilities = EDGE_CAP_NOTICES;
        rep.u.hello_rep.server_version = edge_str_from_cstr("codec-demo " EDGE_VERSION_STRING);
        break;
    case EDGE_MSG_PING:
        rep.u.ping = req.u.ping; /* echo the payload */
        break;
    case EDGE_MSG_REQUEST: {
        /* The demo grants nothing real: it answers with the lease the service would describe. */
        edge_lease *l = &rep.u.lease_rep.lease;
        rep.u.lease_rep.has_lease = true;
        memset(l->id, 0x42, sizeof l->id);
        l->owner_sid = edge_str_from_cstr("S-1-5-21-1-2-3-1001");
        l->image_path = edge_str_from_cstr("C:\\Program Files\\Demo\\demo.exe");
        l->protocol = req.u.lease_req.protocol;
        l->port_lo = req.u.lease_req.port_lo;
        l->port_hi = req.u.lease_req.port_hi;
        l->edge_option = EDGE_TRAVERSAL_DEFER_TO_APP;
        l->created = 1700000000u;
        l->expires = l->created + (req.u.lease_req.has_seconds ? req.u.lease_req.seconds : 3600u);
        l->state = EDGE_LEASE_STATE_ACTIVE;
        break;
    }
    default:
        return edge_reply_encode_error(&hdr, demo_epoch, EDGE_E_BAD_REQUEST,
                                       "verb not served by the demo", 0, 0, out, cap, out_len);
    }
    return edge_msg_encode(&rep, out, cap, out_len);
}

static DWORD WINAPI demo_server(void *arg)
{
    HANDLE pipe = (HANDLE)arg;
    static uint8_t in[EDGE_FRAME_MAX], out[EDGE_FRAME_MAX];
    if (!ConnectNamedPipe(pipe, NULL) && GetLastError() != ERROR_PIPE_CONNECTED)
        return GetLastError();
    for (;;) {
        DWORD got = 0, put = 0;
        size_t out_len = 0;
        if (!ReadFile(pipe, in, sizeof in, &got, NULL))
            break; /* client closed the pipe: the demo is over */
        if (demo_answer(in, got, out, sizeof out, &out_len) != EDGE_PROTO_OK)
            break;
        if (!WriteFile(pipe, out, (DWORD)out_len, &put, NULL) || put != out_len)
            break;
    }
    DisconnectNamedPipe(pipe);
    return 0;
}

/* Sends one frame and decodes the reply into *rep (views into reply_buf). */
static int round_trip(HANDLE pipe, const uint8_t *frame, size_t len, uint8_t *reply_buf,
                      size_t cap, edge_msg *rep)
{
    DWORD got = 0;
    print_hex("request frame", frame, len);
    if (!TransactNamedPipe(pipe, (void *)frame, (DWORD)len, reply_buf, (DWORD)cap, &got, NULL)) {
        printf("    TransactNamedPipe failed: %lu\n", GetLastError());
        return -1;
    }
    print_hex("reply frame", reply_buf, got);
    edge_proto_err err = edge_msg_decode(reply_buf, got, EDGE_DIR_REPLY, rep);
    if (err != EDGE_PROTO_OK) {
        printf("    reply did not decode: %s\n", edge_proto_err_name(err));
        return -1;
    }
    printf("    reply: %s, status %s", edge_msg_type_name(rep->type),
           edge_status_name(rep->env.status));
    if (rep->env.detail.ptr)
        printf(" (\"%.*s\")", (int)rep->env.detail.len, rep->env.detail.ptr);
    printf("\n");
    return 0;
}

static int send_msg(HANDLE pipe, const edge_msg *req, edge_msg *rep, uint8_t *reply_buf)
{
    static uint8_t frame[EDGE_FRAME_MAX];
    size_t len = 0;
    edge_proto_err err = edge_msg_encode(req, frame, sizeof frame, &len);
    if (err != EDGE_PROTO_OK) {
        printf("    encode failed: %s\n", edge_proto_err_name(err));
        return -1;
    }
    return round_trip(pipe, frame, len, reply_buf, EDGE_FRAME_MAX, rep);
}

int wmain(void); /* mingw declares no prototype for the Unicode entry point */

int wmain(void)
{
    static uint8_t reply[EDGE_FRAME_MAX];
    int failures = 0;
    edge_msg req, rep;

    printf("edgebroker codec demo %s: frames through a real named pipe under %s\n",
           EDGE_VERSION_STRING, "Windows (or Wine)");
    HANDLE server_end = CreateNamedPipeW(
        DEMO_PIPE, PIPE_ACCESS_DUPLEX | FILE_FLAG_FIRST_PIPE_INSTANCE,
        PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS, 1,
        EDGE_FRAME_MAX, EDGE_FRAME_MAX, 0, NULL);
    if (server_end == INVALID_HANDLE_VALUE) {
        printf("CreateNamedPipeW failed: %lu\n", GetLastError());
        return 1;
    }
    HANDLE thread = CreateThread(NULL, 0, demo_server, server_end, 0, NULL);
    HANDLE pipe = CreateFileW(DEMO_PIPE, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                              SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION, NULL);
    DWORD mode = PIPE_READMODE_MESSAGE;
    if (!thread || pipe == INVALID_HANDLE_VALUE || !SetNamedPipeHandleState(pipe, &mode, NULL, NULL)) {
        printf("could not connect to the demo pipe: %lu\n", GetLastError());
        return 1;
    }

    printf("\n1. hello: the client offers protocol versions 1..1\n");
    memset(&req, 0, sizeof req);
    req.type = EDGE_MSG_HELLO;
    req.request_id = 1;
    req.u.hello_req.version_min = 1;
    req.u.hello_req.version_max = 1;
    req.u.hello_req.client_name = edge_str_from_cstr("codec-demo");
    if (send_msg(pipe, &req, &rep, reply) || rep.env.status != EDGE_OK ||
        rep.request_id != 1 || rep.u.hello_rep.version != EDGE_PROTO_VERSION)
        failures++;
    else
        printf("    server speaks version %u: %.*s\n", rep.u.hello_rep.version,
               (int)rep.u.hello_rep.server_version.len, rep.u.hello_rep.server_version.ptr);

    printf("\n2. ping with a payload the server must echo\n");
    static const uint8_t payload[] = "edge";
    memset(&req, 0, sizeof req);
    req.type = EDGE_MSG_PING;
    req.request_id = 2;
    req.u.ping.payload.ptr = payload;
    req.u.ping.payload.len = sizeof payload;
    if (send_msg(pipe, &req, &rep, reply) || rep.u.ping.payload.len != sizeof payload ||
        memcmp(rep.u.ping.payload.ptr, payload, sizeof payload) != 0)
        failures++;

    printf("\n3. request a lease: UDP ports 50000-50010 for one hour\n");
    memset(&req, 0, sizeof req);
    req.type = EDGE_MSG_REQUEST;
    req.request_id = 3;
    req.u.lease_req.protocol = EDGE_IPPROTO_UDP;
    req.u.lease_req.port_lo = 50000;
    req.u.lease_req.has_port_hi = true;
    req.u.lease_req.port_hi = 50010;
    req.u.lease_req.has_seconds = true;
    req.u.lease_req.seconds = 3600;
    if (send_msg(pipe, &req, &rep, reply) || !rep.u.lease_rep.has_lease ||
        rep.u.lease_rep.lease.port_lo != 50000 || rep.u.lease_rep.lease.port_hi != 50010)
        failures++;
    else
        printf("    lease for UDP %u-%u, expires at %llu\n", rep.u.lease_rep.lease.port_lo,
               rep.u.lease_rep.lease.port_hi,
               (unsigned long long)rep.u.lease_rep.lease.expires);

    printf("\n4. a corrupted frame (wrong magic): the server must answer with an error\n");
    uint8_t bad[EDGE_FRAME_MAX];
    size_t bad_len = 0;
    memset(&req, 0, sizeof req);
    req.type = EDGE_MSG_PING;
    req.request_id = 4;
    if (edge_msg_encode(&req, bad, sizeof bad, &bad_len) != EDGE_PROTO_OK) {
        failures++;
    } else {
        bad[0] ^= 0xff;
        if (round_trip(pipe, bad, bad_len, reply, sizeof reply, &rep) ||
            rep.env.status != EDGE_E_BAD_REQUEST)
            failures++;
    }

    CloseHandle(pipe);
    WaitForSingleObject(thread, 5000);
    CloseHandle(thread);
    CloseHandle(server_end);
    printf("\n%s: %d of 4 round trips failed\n", failures ? "FAILED" : "OK", failures);
    return failures ? 1 : 0;
}
