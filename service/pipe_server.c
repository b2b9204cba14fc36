/*
 * Named-pipe server: completion port, worker pool, per-client I/O state machine, limits.
 *
 * Ownership rule: a client has at most one I/O (connect, read or write) outstanding, and the
 * worker that dequeues its completion owns it until it posts the next I/O or closes it.  The lock
 * protects only the client list, the counters and the per-user slots; the timer and stop() reach a
 * client only under the lock and only to cancel its I/O, and a client leaves the list (under the
 * lock) before its handle is closed and its memory freed.
 */
#include "pipe_server.h"
#include "config.h"
#include "connection.h"
#include "verbs.h"

#include <sddl.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

/*
 * The pipe's DACL, in this order on purpose (ACEs are evaluated in order):
 *   (D;;FA;;;NU)       Network logons get nothing, even administrators: the pipe is local only
 *                      (PIPE_REJECT_REMOTE_CLIENTS says the same at the transport).
 *   (D;;FA;;;AN)       Anonymous gets nothing.
 *   (A;;FA;;;SY)       LocalSystem: full, including FILE_CREATE_PIPE_INSTANCE, which the service
 *   (A;;FA;;;BA)       itself (or an administrator's --console run) needs for every instance.
 *   (D;;0x4;;;WD)      Everyone is denied FILE_CREATE_PIPE_INSTANCE (== FILE_APPEND_DATA), so no
 *                      one else can create a server instance and squat the name (CVE-2024-4877).
 *                      It follows the SYSTEM/Administrators ACEs because in canonical order it
 *                      would deny the service its own instances.
 *   (A;;0x12018b;;;AU) Authenticated Users: FILE_GENERIC_READ | FILE_WRITE_DATA |
 *                      FILE_WRITE_ATTRIBUTES -- read, write messages, and set message read mode.
 *                      Not GENERIC_WRITE: that includes FILE_APPEND_DATA.  Clients therefore
 *                      open with exactly these rights.
 * P: protected, nothing inherited.  No mandatory label: the default (medium, no-write-up) keeps
 * low-integrity and AppContainer processes out.
 */
const wchar_t pipe_server_dacl_sddl[] =
    L"D:P(D;;FA;;;NU)(D;;FA;;;AN)(A;;FA;;;SY)(A;;FA;;;BA)(D;;0x4;;;WD)(A;;0x12018b;;;AU)";

#define PIPE_OVERFLOW_SLACK 16u /* connections above the cap that are still answered BUSY */
#define PIPE_BUSY_RETRY_MS  1000u

enum pc_io { PC_LISTENING, PC_READING, PC_HANDLING, PC_WRITING };

struct user_slot {
    bool used;
    DWORD sid_len;
    BYTE sid[CALLER_SID_MAX];
    unsigned conns;
    uint64_t milli_tokens; /* token bucket, in thousandths of a request */
    ULONGLONG refilled;    /* GetTickCount64 of the last refill */
};

struct pipe_client {
    OVERLAPPED ov;
    struct pipe_client *prev, *next;
    struct pipe_server *srv;
    HANDLE pipe;
    enum pc_io io;
    bool cancelled; /* timer or stop cancelled the I/O: close on completion */
    bool timed_out;
    bool over_cap; /* answer the first frame BUSY, then close */
    bool close_after_write;
    ULONGLONG deadline; /* GetTickCount64; 0 = none */
    uint8_t *buf;
    size_t cap, len;
    struct conn_reply reply;
    struct user_slot *user;
    struct connection conn;
};

struct pipe_server {
    struct pipe_server_config cfg;
    wchar_t *name;
    PSECURITY_DESCRIPTOR sd;
    HANDLE iocp;
    HANDLE workers[PIPE_MAX_WORKERS];
    unsigned nworkers;
    PTP_TIMER timer;
    SRWLOCK lock;
    struct pipe_client *clients; /* every instance, listening or connected */
    unsigned nclients;
    unsigned listening;
    unsigned connected;
    struct user_slot *users;
    unsigned nusers; /* slots allocated */
    volatile LONG stopping;
    HANDLE drained; /* manual-reset; set when stopping and no client is left */
    uint64_t next_id;
    struct pipe_server_stats stats;
};

void pipe_server_config_init(struct pipe_server_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->pipe_name = SVC_PIPE_NAME;
    cfg->pending_instances = PIPE_DEFAULT_PENDING_INSTANCES;
    cfg->max_connections = PIPE_DEFAULT_MAX_CONNECTIONS;
    cfg->max_per_user = PIPE_DEFAULT_MAX_PER_USER;
    cfg->max_frame = PIPE_DEFAULT_MAX_FRAME;
    cfg->handshake_timeout_ms = PIPE_DEFAULT_HANDSHAKE_TIMEOUT_MS;
    cfg->idle_timeout_ms = PIPE_DEFAULT_IDLE_TIMEOUT_MS;
    cfg->rate_burst = PIPE_DEFAULT_RATE_BURST;
    cfg->rate_per_sec = PIPE_DEFAULT_RATE_PER_SEC;
    cfg->drain_timeout_ms = PIPE_DEFAULT_DRAIN_TIMEOUT_MS;
}

/* ---- security descriptor ------------------------------------------------------------------- */

/*
 * Owner SYSTEM when running as LocalSystem; an administrator's --console run (or a test) cannot
 * assign SYSTEM as owner and gets Administrators instead; anyone else gets the default owner.
 */
static DWORD build_sd(PSECURITY_DESCRIPTOR *out)
{
    static const wchar_t *const owners[] = {L"O:SY", L"O:BA", L""};
    HANDLE token = NULL;
    union {
        TOKEN_USER user;
        BYTE raw[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
    } tu;
    DWORD len;
    size_t pick = 2;
    wchar_t sddl[256];

    *out = NULL;
    if (OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) {
        BYTE admins[SECURITY_MAX_SID_SIZE];
        DWORD alen = sizeof(admins);
        BOOL member = FALSE;
        if (GetTokenInformation(token, TokenUser, &tu, sizeof(tu), &len) &&
            IsWellKnownSid(tu.user.User.Sid, WinLocalSystemSid))
            pick = 0;
        else if (CreateWellKnownSid(WinBuiltinAdministratorsSid, NULL, admins, &alen) &&
                 CheckTokenMembership(NULL, admins, &member) && member)
            pick = 1;
        CloseHandle(token);
    }
    if (swprintf(sddl, sizeof(sddl) / sizeof(sddl[0]), L"%ls%ls", owners[pick],
                 pipe_server_dacl_sddl) < 0)
        return ERROR_INSUFFICIENT_BUFFER;
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, out, NULL))
        return GetLastError();
    return ERROR_SUCCESS;
}

/* ---- client list and user slots (call with the lock held) ----------------------------------- */

static void list_add(struct pipe_server *srv, struct pipe_client *pc)
{
    pc->prev = NULL;
    pc->next = srv->clients;
    if (srv->clients)
        srv->clients->prev = pc;
    srv->clients = pc;
    srv->nclients++;
}

static void list_remove(struct pipe_server *srv, struct pipe_client *pc)
{
    if (pc->prev)
        pc->prev->next = pc->next;
    else
        srv->clients = pc->next;
    if (pc->next)
        pc->next->prev = pc->prev;
    pc->prev = pc->next = NULL;
    srv->nclients--;
}

static void bucket_refill(const struct pipe_server *srv, struct user_slot *u, ULONGLONG now)
{
    uint64_t cap = (uint64_t)srv->cfg.rate_burst * 1000u;
    uint64_t add = (now - u->refilled) * srv->cfg.rate_per_sec; /* ms * req/s = milli-req */

    u->refilled = now;
    u->milli_tokens = (cap - u->milli_tokens < add) ? cap : u->milli_tokens + add;
}

/*
 * A slot outlives its last connection so that reconnecting does not refill the bucket; it is
 * reused once the bucket would be full again, or, under pressure, the longest-idle empty slot.
 */
static struct user_slot *user_find(struct pipe_server *srv, const struct caller_identity *id)
{
    ULONGLONG now = GetTickCount64();
    struct user_slot *free_slot = NULL;
    unsigned i;

    for (i = 0; i < srv->nusers; i++) {
        struct user_slot *u = &srv->users[i];
        if (u->used && u->sid_len == id->sid_len && memcmp(u->sid, id->sid, id->sid_len) == 0)
            return u;
    }
    for (i = 0; i < srv->nusers; i++) {
        struct user_slot *u = &srv->users[i];
        if (!u->used) {
            free_slot = u;
            break;
        }
        if (u->conns == 0 && (!free_slot || u->refilled < free_slot->refilled))
            free_slot = u;
    }
    if (!free_slot)
        return NULL;
    memset(free_slot, 0, sizeof(*free_slot));
    free_slot->used = true;
    free_slot->sid_len = id->sid_len;
    memcpy(free_slot->sid, id->sid, id->sid_len);
    free_slot->milli_tokens = (uint64_t)srv->cfg.rate_burst * 1000u;
    free_slot->refilled = now;
    return free_slot;
}

/* Takes one request token; on refusal returns the milliseconds until one is available. */
static uint32_t user_take_token(struct pipe_server *srv, struct user_slot *u)
{
    bucket_refill(srv, u, GetTickCount64());
    if (u->milli_tokens >= 1000u) {
        u->milli_tokens -= 1000u;
        return 0;
    }
    if (srv->cfg.rate_per_sec == 0)
        return PIPE_BUSY_RETRY_MS;
    return (uint32_t)((1000u - u->milli_tokens + srv->cfg.rate_per_sec - 1) /
                      srv->cfg.rate_per_sec) +
           1u;
}

/* ---- instances ----------------------------------------------------------------------------- */

static void client_free(struct pipe_client *pc)
{
    conn_reply_free(&pc->reply);
    conn_release(&pc->conn);
    if (pc->pipe != INVALID_HANDLE_VALUE)
        CloseHandle(pc->pipe);
    free(pc->buf);
    free(pc);
}

/* Unlinks, accounts and frees a client; the worker owns it (no I/O outstanding). */
static void client_close(struct pipe_client *pc)
{
    struct pipe_server *srv = pc->srv;
    bool signal;

    AcquireSRWLockExclusive(&srv->lock);
    list_remove(srv, pc);
    if (pc->io == PC_LISTENING)
        srv->listening--;
    else
        srv->connected--;
    if (pc->user && pc->user->conns > 0)
        pc->user->conns--;
    signal = srv->stopping && srv->nclients == 0;
    ReleaseSRWLockExclusive(&srv->lock);
    client_free(pc);
    if (signal)
        SetEvent(srv->drained);
}

static DWORD create_instance(struct pipe_server *srv, bool first)
{
    SECURITY_ATTRIBUTES sa = {sizeof(sa), srv->sd, FALSE};
    struct pipe_client *pc;
    DWORD open_mode = PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED;
    DWORD err = ERROR_SUCCESS;

    if (first)
        open_mode |= FILE_FLAG_FIRST_PIPE_INSTANCE;
    pc = calloc(1, sizeof(*pc));
    if (!pc)
        return ERROR_NOT_ENOUGH_MEMORY;
    pc->srv = srv;
    pc->io = PC_LISTENING;
    pc->pipe = CreateNamedPipeW(
        srv->name, open_mode,
        PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
        PIPE_UNLIMITED_INSTANCES, PIPE_INITIAL_READ_BUFFER, PIPE_INITIAL_READ_BUFFER, 0, &sa);
    if (pc->pipe == INVALID_HANDLE_VALUE) {
        err = GetLastError();
        free(pc);
        return err;
    }
    if (!CreateIoCompletionPort(pc->pipe, srv->iocp, (ULONG_PTR)pc, 0)) {
        err = GetLastError();
        client_free(pc);
        return err;
    }
    AcquireSRWLockExclusive(&srv->lock);
    list_add(srv, pc);
    srv->listening++;
    ReleaseSRWLockExclusive(&srv->lock);
    for (;;) {
        if (ConnectNamedPipe(pc->pipe, &pc->ov))
            err = ERROR_PIPE_CONNECTED;
        else
            err = GetLastError();
        if (err != ERROR_NO_DATA)
            break;
        /*
         * A client connected to this fresh instance and already left (OpenVPN's service stopped
         * altogether here in 2025).  Disconnect it and listen again on the SAME instance: closing
         * it and creating another would leave a moment with no instance of the name at all, in
         * which every other client's CreateFile fails with ERROR_FILE_NOT_FOUND ("service not
         * running").  Each turn of this loop is one departed client, so it ends with them.
         */
        AcquireSRWLockExclusive(&srv->lock);
        srv->stats.gone_before_read++;
        ReleaseSRWLockExclusive(&srv->lock);
        if (!DisconnectNamedPipe(pc->pipe)) {
            err = GetLastError();
            break;
        }
    }
    switch (err) {
    case ERROR_IO_PENDING:
        return ERROR_SUCCESS;
    case ERROR_PIPE_CONNECTED:
        /* Connected between create and connect: no completion is queued, queue one. */
        if (!PostQueuedCompletionStatus(srv->iocp, 0, (ULONG_PTR)pc, &pc->ov)) {
            err = GetLastError();
            client_close(pc);
            return err;
        }
        return ERROR_SUCCESS;
    default:
        client_close(pc);
        return err;
    }
}

/* Brings the number of listening instances back to the target; failures wait for the timer. */
static void replenish(struct pipe_server *srv)
{
    unsigned need;

    for (;;) {
        AcquireSRWLockShared(&srv->lock);
        need = (!srv->stopping && srv->listening < srv->cfg.pending_instances);
        ReleaseSRWLockShared(&srv->lock);
        if (!need || create_instance(srv, false) != ERROR_SUCCESS)
            return;
    }
}

/* ---- per-client I/O ------------------------------------------------------------------------ */

static void arm_read(struct pipe_client *pc, bool continuation)
{
    struct pipe_server *srv = pc->srv;
    DWORD err;

    AcquireSRWLockExclusive(&srv->lock);
    if (srv->stopping) {
        ReleaseSRWLockExclusive(&srv->lock);
        client_close(pc);
        return;
    }
    pc->io = PC_READING;
    if (!continuation) {
        unsigned ms = pc->conn.state == CONN_HELLO_DONE ? srv->cfg.idle_timeout_ms
                                                        : srv->cfg.handshake_timeout_ms;
        pc->len = 0;
        pc->deadline = GetTickCount64() + ms;
    }
    ReleaseSRWLockExclusive(&srv->lock);
    memset(&pc->ov, 0, sizeof(pc->ov));
    /* ERROR_MORE_DATA also queues a completion (it is a warning status): handled there. */
    if (!ReadFile(pc->pipe, pc->buf + pc->len, (DWORD)(pc->cap - pc->len), NULL, &pc->ov)) {
        err = GetLastError();
        if (err != ERROR_IO_PENDING && err != ERROR_MORE_DATA)
            client_close(pc);
    }
}

static void start_write(struct pipe_client *pc)
{
    struct pipe_server *srv = pc->srv;
    DWORD err;

    AcquireSRWLockExclusive(&srv->lock);
    if (srv->stopping) {
        ReleaseSRWLockExclusive(&srv->lock);
        client_close(pc);
        return;
    }
    /* A client that stops reading its replies must not pin the connection: same bound. */
    pc->io = PC_WRITING;
    pc->deadline = GetTickCount64() + srv->cfg.handshake_timeout_ms;
    ReleaseSRWLockExclusive(&srv->lock);
    memset(&pc->ov, 0, sizeof(pc->ov));
    if (!WriteFile(pc->pipe, pc->reply.data, (DWORD)pc->reply.len, NULL, &pc->ov)) {
        err = GetLastError();
        if (err != ERROR_IO_PENDING)
            client_close(pc);
    }
}

static void count(struct pipe_server *srv, uint64_t *counter)
{
    AcquireSRWLockExclusive(&srv->lock);
    (*counter)++;
    ReleaseSRWLockExclusive(&srv->lock);
}

static void finish_action(struct pipe_client *pc, enum conn_action act)
{
    if (act == CONN_ACTION_DROP) {
        count(pc->srv, &pc->srv->stats.dropped);
        client_close(pc);
        return;
    }
    pc->close_after_write = (act == CONN_ACTION_REPLY_CLOSE);
    start_write(pc);
}

static void refuse(struct pipe_client *pc, edge_status st, uint32_t retry_ms, bool close)
{
    enum conn_action act;

    act = conn_refuse_frame(&pc->conn, pc->buf, pc->len, st, retry_ms, &pc->reply);
    if (act == CONN_ACTION_REPLY && close)
        act = CONN_ACTION_REPLY_CLOSE;
    finish_action(pc, act);
}

/* First frame: identify the caller from the pipe and admit it under the per-user cap. */
static bool admit(struct pipe_client *pc)
{
    struct pipe_server *srv = pc->srv;
    struct user_slot *u;
    bool busy = false;

    if (caller_identify(pc->pipe, &pc->conn.connected_at, &pc->conn.caller) != ERROR_SUCCESS) {
        refuse(pc, EDGE_E_ACCESS_DENIED, 0, true);
        return false;
    }
    pc->conn.identified = true;
    AcquireSRWLockExclusive(&srv->lock);
    u = user_find(srv, &pc->conn.caller);
    if (!u || u->conns >= srv->cfg.max_per_user || pc->over_cap) {
        busy = true;
        srv->stats.busy++;
    } else {
        u->conns++;
        pc->user = u;
    }
    ReleaseSRWLockExclusive(&srv->lock);
    if (busy) {
        refuse(pc, EDGE_E_BUSY, PIPE_BUSY_RETRY_MS, true);
        return false;
    }
    return true;
}

static void on_frame(struct pipe_client *pc)
{
    struct pipe_server *srv = pc->srv;
    uint32_t retry_ms;

    if (srv->stopping) {
        client_close(pc);
        return;
    }
    AcquireSRWLockExclusive(&srv->lock);
    pc->io = PC_HANDLING;
    pc->deadline = 0;
    srv->stats.frames++;
    ReleaseSRWLockExclusive(&srv->lock);
    if (!pc->conn.identified && !admit(pc))
        return;
    AcquireSRWLockExclusive(&srv->lock);
    retry_ms = user_take_token(srv, pc->user);
    if (retry_ms)
        srv->stats.busy++;
    ReleaseSRWLockExclusive(&srv->lock);
    if (retry_ms) {
        refuse(pc, EDGE_E_BUSY, retry_ms, false);
        return;
    }
    finish_action(pc, conn_handle_frame(&pc->conn, pc->buf, pc->len, &pc->reply));
}

static void on_connected(struct pipe_client *pc)
{
    struct pipe_server *srv = pc->srv;
    bool over = false, reject = false;

    AcquireSRWLockExclusive(&srv->lock);
    srv->listening--;
    srv->connected++;
    srv->stats.accepted++;
    pc->io = PC_HANDLING;
    conn_init(&pc->conn, ++srv->next_id, srv->cfg.verbs, srv->cfg.verb_context);
    if (srv->connected > srv->cfg.max_connections) {
        over = true;
        reject = srv->connected > srv->cfg.max_connections + PIPE_OVERFLOW_SLACK;
    }
    ReleaseSRWLockExclusive(&srv->lock);
    GetSystemTimeAsFileTime(&pc->conn.connected_at);
    replenish(srv);
    if (reject) {
        count(srv, &srv->stats.busy);
        client_close(pc);
        return;
    }
    pc->over_cap = over;
    pc->cap = PIPE_INITIAL_READ_BUFFER < srv->cfg.max_frame ? PIPE_INITIAL_READ_BUFFER
                                                            : srv->cfg.max_frame;
    pc->buf = malloc(pc->cap);
    if (!pc->buf) {
        client_close(pc);
        return;
    }
    arm_read(pc, false);
}

/* A message longer than the buffer: grow up to max_frame, else drop the client. */
static void on_more_data(struct pipe_client *pc)
{
    struct pipe_server *srv = pc->srv;
    size_t ncap;
    uint8_t *nbuf;

    if (pc->cap >= srv->cfg.max_frame) {
        count(srv, &srv->stats.oversize);
        client_close(pc);
        return;
    }
    ncap = pc->cap * 2 < srv->cfg.max_frame ? pc->cap * 2 : srv->cfg.max_frame;
    nbuf = realloc(pc->buf, ncap);
    if (!nbuf) {
        client_close(pc);
        return;
    }
    pc->buf = nbuf;
    pc->cap = ncap;
    arm_read(pc, true);
}

static void on_completion(struct pipe_client *pc, BOOL ok, DWORD bytes, DWORD err)
{
    struct pipe_server *srv = pc->srv;
    bool cancelled, timed_out;

    AcquireSRWLockShared(&srv->lock);
    cancelled = pc->cancelled || srv->stopping;
    timed_out = pc->timed_out;
    ReleaseSRWLockShared(&srv->lock);
    if (timed_out)
        count(srv, &srv->stats.timeouts);
    switch (pc->io) {
    case PC_LISTENING:
        if (!ok || cancelled) {
            if (!cancelled && err == ERROR_NO_DATA)
                count(srv, &srv->stats.gone_before_read);
            client_close(pc);
            replenish(srv);
            return;
        }
        on_connected(pc);
        return;
    case PC_READING:
        if (!cancelled && !ok && err == ERROR_MORE_DATA) {
            pc->len += bytes;
            on_more_data(pc);
        } else if (cancelled || !ok || bytes == 0) {
            client_close(pc);
        } else {
            pc->len += bytes;
            on_frame(pc);
        }
        return;
    case PC_WRITING:
        conn_reply_free(&pc->reply);
        if (!ok || cancelled || pc->close_after_write)
            client_close(pc);
        else
            arm_read(pc, false);
        return;
    case PC_HANDLING:
    default:
        client_close(pc);
        return;
    }
}

static DWORD WINAPI worker_main(LPVOID arg)
{
    struct pipe_server *srv = arg;

    for (;;) {
        DWORD bytes = 0, err = ERROR_SUCCESS;
        ULONG_PTR key = 0;
        OVERLAPPED *ov = NULL;
        BOOL ok = GetQueuedCompletionStatus(srv->iocp, &bytes, &key, &ov, INFINITE);

        if (!ok)
            err = GetLastError();
        if (!ov) {
            if (!ok && err != ERROR_ABANDONED_WAIT_0)
                continue;
            return 0; /* key 0 with no OVERLAPPED: stop() asks the worker to leave */
        }
        on_completion((struct pipe_client *)key, ok, bytes, err);
    }
}

/* ---- timer: deadlines and instance top-up -------------------------------------------------- */

static void CALLBACK on_tick(PTP_CALLBACK_INSTANCE inst, PVOID ctx, PTP_TIMER timer)
{
    struct pipe_server *srv = ctx;
    ULONGLONG now = GetTickCount64();
    struct pipe_client *pc;

    (void)inst;
    (void)timer;
    AcquireSRWLockExclusive(&srv->lock);
    for (pc = srv->clients; pc; pc = pc->next) {
        if ((pc->io == PC_READING || pc->io == PC_WRITING) && pc->deadline && now >= pc->deadline &&
            !pc->cancelled) {
            pc->cancelled = pc->timed_out = true;
            CancelIoEx(pc->pipe, &pc->ov);
        }
    }
    ReleaseSRWLockExclusive(&srv->lock);
    replenish(srv);
}

/* ---- start / stop -------------------------------------------------------------------------- */

/* The configured count, or one per processor; clamped to PIPE_MIN_WORKERS..PIPE_MAX_WORKERS. */
static unsigned worker_count(const struct pipe_server_config *cfg)
{
    SYSTEM_INFO si;
    unsigned n = cfg->workers;

    if (n == 0) {
        GetSystemInfo(&si);
        n = si.dwNumberOfProcessors;
    }
    return n < PIPE_MIN_WORKERS ? PIPE_MIN_WORKERS : (n > PIPE_MAX_WORKERS ? PIPE_MAX_WORKERS : n);
}

static void server_free(struct pipe_server *srv)
{
    if (srv->iocp)
        CloseHandle(srv->iocp);
    if (srv->drained)
        CloseHandle(srv->drained);
    if (srv->sd)
        LocalFree(srv->sd);
    free(srv->users);
    free(srv->name);
    free(srv);
}

/* A quarter of the shorter timeout, so a deadline is noticed at most 25% late; 25 ms..1 s. */
static unsigned tick_ms(const struct pipe_server_config *cfg)
{
    unsigned t = min(cfg->handshake_timeout_ms, cfg->idle_timeout_ms) / 4;
    return t < 25 ? 25 : (t > 1000 ? 1000 : t);
}

DWORD pipe_server_start(const struct pipe_server_config *cfg, struct pipe_server **out)
{
    struct pipe_server *srv;
    FILETIME due;
    LARGE_INTEGER rel;
    DWORD err;
    unsigned i, period;

    *out = NULL;
    if (!cfg || !cfg->pipe_name || !cfg->verbs || cfg->pending_instances == 0 ||
        cfg->max_connections == 0 || cfg->max_per_user == 0 || cfg->max_frame < 64 ||
        cfg->handshake_timeout_ms == 0 || cfg->idle_timeout_ms == 0)
        return ERROR_INVALID_PARAMETER;
    srv = calloc(1, sizeof(*srv));
    if (!srv)
        return ERROR_NOT_ENOUGH_MEMORY;
    srv->cfg = *cfg;
    InitializeSRWLock(&srv->lock);
    srv->name = _wcsdup(cfg->pipe_name);
    srv->nusers = cfg->max_connections + PIPE_OVERFLOW_SLACK;
    srv->users = calloc(srv->nusers, sizeof(*srv->users));
    srv->drained = CreateEventW(NULL, TRUE, FALSE, NULL);
    srv->iocp = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0);
    if (!srv->name || !srv->users || !srv->drained || !srv->iocp) {
        err = srv->name && srv->users ? GetLastError() : ERROR_NOT_ENOUGH_MEMORY;
        server_free(srv);
        return err;
    }
    srv->cfg.pipe_name = srv->name;
    err = build_sd(&srv->sd);
    if (err != ERROR_SUCCESS) {
        server_free(srv);
        return err;
    }
    srv->nworkers = worker_count(cfg);
    for (i = 0; i < srv->nworkers; i++) {
        srv->workers[i] = CreateThread(NULL, 0, worker_main, srv, 0, NULL);
        if (!srv->workers[i]) {
            srv->nworkers = i;
            err = GetLastError();
            pipe_server_stop(srv);
            return err;
        }
    }
    /* The first instance proves the name is ours: anyone already serving it makes this fail. */
    err = create_instance(srv, true);
    if (err != ERROR_SUCCESS) {
        pipe_server_stop(srv);
        return err;
    }
    replenish(srv);
    srv->timer = CreateThreadpoolTimer(on_tick, srv, NULL);
    if (!srv->timer) {
        err = GetLastError();
        pipe_server_stop(srv);
        return err;
    }
    period = tick_ms(cfg);
    rel.QuadPart = -(LONGLONG)period * 10000;
    due.dwLowDateTime = (DWORD)rel.QuadPart;
    due.dwHighDateTime = (DWORD)(rel.QuadPart >> 32);
    SetThreadpoolTimer(srv->timer, &due, period, period / 4);
    *out = srv;
    return ERROR_SUCCESS;
}

bool pipe_server_stop(struct pipe_server *srv)
{
    struct pipe_client *pc;
    ULONGLONG start = GetTickCount64();
    DWORD bound, left;
    bool empty, clean = true;
    unsigned i;

    if (!srv)
        return true;
    AcquireSRWLockExclusive(&srv->lock);
    srv->stopping = 1;
    ReleaseSRWLockExclusive(&srv->lock);
    if (srv->timer) {
        SetThreadpoolTimer(srv->timer, NULL, 0, 0);
        WaitForThreadpoolTimerCallbacks(srv->timer, TRUE);
        CloseThreadpoolTimer(srv->timer);
        srv->timer = NULL;
    }
    /*
     * Cancel every outstanding connect, read and write; handlers running now finish first.  The
     * pass repeats: an I/O that a worker was about to post when the first pass ran is caught by
     * the next one (arm_read/start_write refuse to post once stopping is set).
     */
    bound = srv->cfg.drain_timeout_ms ? srv->cfg.drain_timeout_ms : PIPE_DEFAULT_DRAIN_TIMEOUT_MS;
    for (;;) {
        AcquireSRWLockExclusive(&srv->lock);
        for (pc = srv->clients; pc; pc = pc->next) {
            pc->cancelled = true;
            if (pc->io != PC_HANDLING)
                CancelIoEx(pc->pipe, NULL);
        }
        empty = srv->nclients == 0;
        ReleaseSRWLockExclusive(&srv->lock);
        if (empty || srv->nworkers == 0)
            break;
        if (WaitForSingleObject(srv->drained, 50) == WAIT_OBJECT_0)
            break;
        if (GetTickCount64() - start >= bound) {
            clean = false;
            break;
        }
    }
    if (!empty && srv->nworkers == 0)
        clean = false;
    for (i = 0; i < srv->nworkers; i++)
        PostQueuedCompletionStatus(srv->iocp, 0, 0, NULL);
    left = (DWORD)(GetTickCount64() - start);
    left = left < bound ? bound - left : 0;
    if (srv->nworkers > 0 &&
        WaitForMultipleObjects(srv->nworkers, srv->workers, TRUE, left + 500) != WAIT_OBJECT_0)
        clean = false;
    for (i = 0; i < srv->nworkers; i++)
        CloseHandle(srv->workers[i]);
    if (!clean)
        return false; /* a handler still holds client memory; leak rather than free under it */
    server_free(srv);
    return true;
}

void pipe_server_get_stats(struct pipe_server *srv, struct pipe_server_stats *out)
{
    unsigned i;

    AcquireSRWLockShared(&srv->lock);
    *out = srv->stats;
    out->users = 0;
    for (i = 0; i < srv->nusers; i++)
        out->users += srv->users[i].used && srv->users[i].conns > 0;
    out->listening = srv->listening;
    out->connected = srv->connected;
    ReleaseSRWLockShared(&srv->lock);
}
