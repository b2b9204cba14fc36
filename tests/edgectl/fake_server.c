/* The fake service behind edgectl's golden tests (see fake_server.h). */
#include "fake_server.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#define OWN_SID   "S-1-5-21-1111111111-2222222222-3333333333-1001"
#define OTHER_SID "S-1-5-21-1111111111-2222222222-3333333333-1002"

static const uint8_t fake_epoch[EDGE_ID_SIZE] = {0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7,
                                                 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef};

static uint64_t now_s(void)
{
    return (uint64_t)time(NULL);
}

/* The fixed lease table; n = 1..3, 4 = the granted one. */
static void fixed_lease(int n, edge_lease *l)
{
    uint64_t now = now_s();
    memset(l, 0, sizeof(*l));
    memset(l->id, 0x11 * n, EDGE_ID_SIZE);
    l->owner_sid = edge_str_from_cstr(OWN_SID);
    l->edge_option = EDGE_TRAVERSAL_DEFER_TO_APP;
    l->created = 1700000000u;
    l->state = EDGE_LEASE_STATE_ACTIVE;
    /* 30 s of margin: edgectl rounds the time left down to minutes. */
    l->expires = now + 2 * 3600 + 30 * 60 + 30;
    switch (n) {
    case 1:
        l->image_path = edge_str_from_cstr("C:\\Program Files\\Z\xc3\xbcrich Tools\\listener.exe");
        l->protocol = EDGE_IPPROTO_TCP;
        l->port_lo = l->port_hi = 50123;
        break;
    case 2:
        l->image_path = edge_str_from_cstr("C:\\Games\\game.exe");
        l->protocol = EDGE_IPPROTO_UDP;
        l->port_lo = 50000;
        l->port_hi = 50010;
        l->state = EDGE_LEASE_STATE_INEFFECTIVE;
        l->expires = now + 86400 + 3600 + 30;
        l->flags = EDGE_LEASE_F_KEEP_AFTER_EXIT;
        break;
    case 3:
        l->owner_sid = edge_str_from_cstr(OTHER_SID);
        l->image_path = edge_str_from_cstr("C:\\Tools\\server.exe");
        l->protocol = EDGE_IPPROTO_TCP;
        l->port_lo = l->port_hi = 8080;
        l->state = EDGE_LEASE_STATE_REPAIRING;
        l->expires = now + 150;
        l->edge_option = EDGE_TRAVERSAL_ALLOW;
        break;
    default:
        l->image_path = edge_str_from_cstr("C:\\Program Files\\EdgeBroker\\edgectl.exe");
        l->flags = EDGE_LEASE_F_KEEP_AFTER_EXIT;
        break;
    }
}

static int lease_by_id(const uint8_t id[EDGE_ID_SIZE])
{
    int n;
    for (n = 1; n <= 4; n++) {
        uint8_t want[EDGE_ID_SIZE];
        memset(want, 0x11 * n, EDGE_ID_SIZE);
        if (memcmp(want, id, EDGE_ID_SIZE) == 0)
            return n;
    }
    return 0;
}

/* Pending requests: n = 0 (0x55..., page 1) or 1 (0x66..., page 2). */
static void fixed_pending(int n, edge_pending *p)
{
    uint64_t now = now_s();
    memset(p, 0, sizeof(*p));
    memset(p->id, n == 0 ? 0x55 : 0x66, EDGE_ID_SIZE);
    memset(p->image_sha256, 0xab, EDGE_SHA256_SIZE);
    p->owner_sid = edge_str_from_cstr(n == 0 ? OWN_SID : OTHER_SID);
    p->image_path = edge_str_from_cstr(
        n == 0 ? "C:\\Program Files\\Z\xc3\xbcrich Tools\\listener.exe" : "C:\\Games\\game.exe");
    p->protocol = n == 0 ? EDGE_IPPROTO_TCP : EDGE_IPPROTO_UDP;
    p->port_lo = n == 0 ? 50123 : 50000;
    p->port_hi = n == 0 ? 50123 : 50010;
    p->seconds = n == 0 ? 3600 : 86400;
    p->flags = n == 0 ? EDGE_LEASE_F_KEEP_AFTER_EXIT : 0;
    /* 30 s of margin either way, so the rounded "ago" and "in" texts are stable. */
    p->created = now - (n == 0 ? 2 * 60 + 30 : 60 * 60 + 30);
    p->expires = now + (n == 0 ? 7 * 60 + 30 : 50 * 60 + 30);
}

static void remember_text(char *dst, size_t cap, edge_str s)
{
    size_t n = s.ptr ? (s.len < cap - 1 ? s.len : cap - 1) : 0;
    if (n)
        memcpy(dst, s.ptr, n);
    dst[n] = '\0';
}

/* Builds the reply to one decoded request into out; returns its length (0: drop the client). */
static size_t answer(struct fake_server *fs, const edge_msg *req, const edge_frame_header *hdr,
                     uint8_t *out, size_t cap)
{
    static edge_lease leases[3];
    static edge_check checks[4];
    static edge_pending pendings[1];
    static edge_policy_entry entries[5];
    static edge_str trace[4];
    static char trace_request[256], trace_decision[128];
    edge_msg rep;
    size_t len = 0;
    uint32_t st = req->type < 17 ? fs->status[req->type] : 0;
    int n;

    if (req->type < 17)
        fs->requests[req->type]++;
    if (req->type == EDGE_MSG_REQUEST || req->type == EDGE_MSG_EXPLAIN) {
        fs->seen_signed_len = req->u.lease_req.signed_request.len;
        fs->seen_target_app = req->u.lease_req.target_app.ptr != NULL;
    }
    if (req->type == EDGE_MSG_DENY || req->type == EDGE_MSG_REVOKE)
        remember_text(fs->seen_reason, sizeof(fs->seen_reason), req->u.id_req.reason);
    if (req->type == EDGE_MSG_HELLO)
        st = 0;
    if (st != 0 && st != EDGE_PENDING_CONSENT) {
        edge_reply_encode_error(hdr, fake_epoch, st, fs->detail, fs->win32_error, fs->retry_after,
                                out, cap, &len);
        return len;
    }
    edge_msg_init_reply(&rep, hdr, fake_epoch, EDGE_OK);
    switch (req->type) {
    case EDGE_MSG_HELLO:
        rep.u.hello_rep.version = EDGE_PROTO_VERSION;
        rep.u.hello_rep.capabilities = EDGE_CAP_USER_CONSENT | EDGE_CAP_NOTICES;
        rep.u.hello_rep.server_version = edge_str_from_cstr("9.8.7-fake");
        break;
    case EDGE_MSG_PING:
        rep.u.ping = req->u.ping;
        break;
    case EDGE_MSG_STATUS:
        checks[0].name = edge_str_from_cstr("state_store");
        checks[0].state = EDGE_CHECK_ON;
        checks[0].reason = edge_str_from_cstr("state persisted");
        checks[1].name = edge_str_from_cstr("reconcile");
        checks[1].state = EDGE_CHECK_ON;
        checks[1].reason = edge_str_from_cstr("firewall group matches the leases");
        rep.u.status_rep.checks.items = checks;
        rep.u.status_rep.checks.count = 2;
        rep.u.status_rep.active_leases = 2;
        rep.u.status_rep.pending_requests = 1;
        rep.u.status_rep.started = now_s() - (2 * 3600 + 30 * 60 + 30);
        break;
    case EDGE_MSG_DOCTOR:
        checks[0].name = edge_str_from_cstr("firewall_public");
        checks[0].state = EDGE_CHECK_ON;
        checks[0].reason = edge_str_from_cstr("firewall enabled");
        checks[1].name = edge_str_from_cstr("local_merge_public");
        checks[1].state = EDGE_CHECK_ON;
        checks[1].reason = edge_str_from_cstr("local rules are merged");
        checks[2].name = edge_str_from_cstr("teredo");
        checks[2].state = fs->doctor_effective ? EDGE_CHECK_ON : EDGE_CHECK_OFF;
        checks[2].reason = edge_str_from_cstr(fs->doctor_effective ? "qualified on port 3544"
                                                                   : "no Teredo interface");
        checks[3].name = edge_str_from_cstr("rules_effective");
        checks[3].state = fs->doctor_effective ? EDGE_CHECK_ON : EDGE_CHECK_OFF;
        checks[3].reason = edge_str_from_cstr(fs->doctor_effective ? "nothing defeats the rules"
                                                                   : "Teredo is unavailable");
        rep.u.entries_rep.items.items = checks;
        rep.u.entries_rep.items.count = 4;
        break;
    case EDGE_MSG_LIST:
        fixed_lease(1, &leases[0]);
        fixed_lease(2, &leases[1]);
        fixed_lease(3, &leases[2]);
        rep.u.list_rep.items.items = leases;
        rep.u.list_rep.items.count = (req->u.list_req.flags & EDGE_LIST_F_ALL) ? 3 : 2;
        break;
    case EDGE_MSG_SHOW:
    case EDGE_MSG_RENEW:
    case EDGE_MSG_RELEASE:
    case EDGE_MSG_REVOKE:
        n = lease_by_id(req->type == EDGE_MSG_RENEW ? req->u.renew_req.lease_id : req->u.id_req.id);
        if (n == 0) {
            edge_reply_encode_error(hdr, fake_epoch, EDGE_E_NOT_FOUND, "no lease with this id", 0,
                                    0, out, cap, &len);
            return len;
        }
        if (req->type == EDGE_MSG_SHOW || req->type == EDGE_MSG_RENEW) {
            rep.u.lease_rep.has_lease = true;
            fixed_lease(n, &rep.u.lease_rep.lease);
        }
        break;
    case EDGE_MSG_REQUEST:
        if (st == EDGE_PENDING_CONSENT) {
            rep.env.status = EDGE_PENDING_CONSENT;
            rep.env.has_retry_after = fs->retry_after != 0;
            rep.env.retry_after = fs->retry_after;
            rep.u.lease_rep.has_pending_id = true;
            memset(rep.u.lease_rep.pending_id, 0x55, EDGE_ID_SIZE);
            break;
        }
        rep.u.lease_rep.has_lease = true;
        fixed_lease(4, &rep.u.lease_rep.lease);
        rep.u.lease_rep.lease.protocol = req->u.lease_req.protocol;
        rep.u.lease_rep.lease.port_lo = req->u.lease_req.port_lo;
        rep.u.lease_rep.lease.port_hi = req->u.lease_req.port_hi;
        rep.u.lease_rep.lease.flags = req->u.lease_req.flags;
        if (req->u.lease_req.target_app.ptr)
            rep.u.lease_rep.lease.image_path = req->u.lease_req.target_app;
        if (fs->grant_ineffective) {
            rep.u.lease_rep.lease.state = EDGE_LEASE_STATE_INEFFECTIVE;
            rep.env.has_warnings = true;
            rep.env.warnings = EDGE_WARN_TEREDO_UNAVAILABLE;
        }
        break;
    case EDGE_MSG_PURGE:
        rep.u.purge_rep.removed = 3;
        break;
    case EDGE_MSG_PENDING:
        /* Two pages, to prove edgectl follows next_cursor (docs/protocol.md §9.13). */
        if (fs->pending_empty)
            break;
        fixed_pending(req->u.list_req.has_cursor ? 1 : 0, &pendings[0]);
        rep.u.list_rep.items.items = pendings;
        rep.u.list_rep.items.count = 1;
        rep.u.list_rep.has_next_cursor = !req->u.list_req.has_cursor;
        rep.u.list_rep.next_cursor = 1;
        break;
    case EDGE_MSG_APPROVE:
    case EDGE_MSG_DENY: {
        uint8_t want[EDGE_ID_SIZE];
        memset(want, 0x55, EDGE_ID_SIZE);
        if (memcmp(want, req->u.id_req.id, EDGE_ID_SIZE) != 0) {
            edge_reply_encode_error(hdr, fake_epoch, EDGE_E_NOT_FOUND,
                                    "no pending request with this id", 0, 0, out, cap, &len);
            return len;
        }
        if (req->type == EDGE_MSG_APPROVE) {
            /* The lease the pending request (fixed_pending 0) asked for. */
            rep.u.lease_rep.has_lease = true;
            fixed_lease(1, &rep.u.lease_rep.lease);
        }
        break;
    }
    case EDGE_MSG_POLICY:
        entries[0].name = edge_str_from_cstr("Mode");
        entries[0].value = edge_str_from_cstr("AllowListOnly");
        entries[0].source = edge_str_from_cstr("policy");
        entries[1].name = edge_str_from_cstr("AllowedApplications");
        entries[1].value = edge_str_from_cstr("C:\\Program Files\\Z\xc3\xbcrich Tools\\**\\*.exe");
        entries[1].source = edge_str_from_cstr("local");
        entries[2].name = edge_str_from_cstr("AllowedPorts");
        entries[2].value = edge_str_from_cstr("1024-65535");
        entries[2].source = edge_str_from_cstr("default");
        entries[3].name = edge_str_from_cstr("TrustedSignerKeys");
        entries[3].value = edge_str_from_cstr("");
        entries[3].source = edge_str_from_cstr("default");
        entries[4].name = edge_str_from_cstr("EdgeTraversal");
        entries[4].value = edge_str_from_cstr("DeferToApp");
        entries[4].source = edge_str_from_cstr("default");
        rep.u.entries_rep.items.items = entries;
        rep.u.entries_rep.items.count = 5;
        break;
    case EDGE_MSG_EXPLAIN:
        /* The trace echoes the request, so the golden files show what edgectl sent. */
        snprintf(trace_request, sizeof(trace_request),
                 "request: protocol %u, ports %u-%u, seconds %s, app %.*s, signed request %s",
                 (unsigned)req->u.lease_req.protocol, (unsigned)req->u.lease_req.port_lo,
                 (unsigned)req->u.lease_req.port_hi,
                 req->u.lease_req.has_seconds ? "asked" : "default",
                 req->u.lease_req.target_app.ptr ? (int)req->u.lease_req.target_app.len : 6,
                 req->u.lease_req.target_app.ptr ? req->u.lease_req.target_app.ptr : "caller",
                 req->u.lease_req.signed_request.ptr ? "present" : "none");
        snprintf(trace_decision, sizeof(trace_decision), "decision: %s",
                 edge_status_name(fs->explain_decision));
        trace[0] = edge_str_from_cstr("Mode = AllowListOnly (policy)");
        trace[1] = edge_str_from_cstr(trace_request);
        trace[2] = edge_str_from_cstr(fs->explain_decision == EDGE_OK
                                          ? "AllowedApplications (local): the image matches"
                                          : "AllowedApplications (local): no pattern matches");
        trace[3] = edge_str_from_cstr(trace_decision);
        rep.u.explain_rep.decision = fs->explain_decision;
        rep.u.explain_rep.trace.items = trace;
        rep.u.explain_rep.trace.count = 4;
        break;
    default:
        edge_reply_encode_error(hdr, fake_epoch, EDGE_E_BAD_REQUEST, "not in the fake", 0, 0, out,
                                cap, &len);
        return len;
    }
    if (edge_msg_encode(&rep, out, cap, &len) != EDGE_PROTO_OK)
        return 0;
    return len;
}

static void serve_client(struct fake_server *fs, HANDLE pipe)
{
    static uint8_t in[EDGE_FRAME_MAX], out[EDGE_FRAME_MAX];
    for (;;) {
        DWORD got = 0, put = 0;
        edge_frame_header hdr;
        edge_msg req;
        size_t len;
        if (!ReadFile(pipe, in, sizeof(in), &got, NULL) || fs->stop)
            return;
        if (edge_frame_parse_header(in, got, &hdr) != EDGE_PROTO_OK ||
            edge_msg_decode(in, got, EDGE_DIR_REQUEST, &req) != EDGE_PROTO_OK)
            return;
        len = answer(fs, &req, &hdr, out, sizeof(out));
        if (len == 0 || !WriteFile(pipe, out, (DWORD)len, &put, NULL))
            return;
    }
}

static HANDLE new_instance(struct fake_server *fs)
{
    return CreateNamedPipeW(fs->wpipe, PIPE_ACCESS_DUPLEX,
                            PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT,
                            PIPE_UNLIMITED_INSTANCES, EDGE_FRAME_MAX, EDGE_FRAME_MAX, 0, NULL);
}

static DWORD WINAPI fake_thread(void *arg)
{
    struct fake_server *fs = arg;
    HANDLE next = new_instance(fs);
    while (next != INVALID_HANDLE_VALUE && !fs->stop) {
        HANDLE pipe = next;
        bool connected = ConnectNamedPipe(pipe, NULL) || GetLastError() == ERROR_PIPE_CONNECTED;
        /* The next instance exists before this client is served, so a child started right after
         * the previous one exited never finds the pipe missing. */
        next = new_instance(fs);
        if (connected && !fs->stop)
            serve_client(fs, pipe);
        DisconnectNamedPipe(pipe);
        CloseHandle(pipe);
    }
    if (next != INVALID_HANDLE_VALUE)
        CloseHandle(next);
    return 0;
}

struct fake_server *fake_server_start(void)
{
    static LONG counter;
    struct fake_server *fs = calloc(1, sizeof(*fs));
    assert_non_null(fs);
    snprintf(fs->name, sizeof(fs->name), "edgectl-test-%lu-%ld",
             (unsigned long)GetCurrentProcessId(), (long)InterlockedIncrement(&counter));
    swprintf(fs->wpipe, sizeof(fs->wpipe) / sizeof(fs->wpipe[0]), L"\\\\.\\pipe\\%hs", fs->name);
    fs->thread = CreateThread(NULL, 0, fake_thread, fs, 0, NULL);
    assert_non_null(fs->thread);
    /* Ready once the first instance exists. */
    while (!WaitNamedPipeW(fs->wpipe, 50) && GetLastError() == ERROR_FILE_NOT_FOUND)
        Sleep(10);
    return fs;
}

void fake_server_stop(struct fake_server *fs)
{
    HANDLE h;
    if (!fs)
        return;
    InterlockedExchange(&fs->stop, 1);
    /* Unblock ConnectNamedPipe (or a ReadFile of a lingering client) with a connection. */
    h = CreateFileW(fs->wpipe, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    if (WaitForSingleObject(fs->thread, 10000) != WAIT_OBJECT_0)
        TerminateThread(fs->thread, 1);
    CloseHandle(fs->thread);
    free(fs);
}
