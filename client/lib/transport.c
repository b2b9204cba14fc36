/*
 * The pipe transport: open with SQOS, verify the server, and overlapped message I/O whose every
 * wait is bounded by a deadline and interrupted by the session's close event.  Nothing here
 * blocks without a bound.
 */
#include "client.h"

ULONGLONG transport_deadline(uint32_t timeout_ms)
{
    return GetTickCount64() + timeout_ms;
}

DWORD transport_remaining(ULONGLONG deadline)
{
    ULONGLONG now = GetTickCount64();
    if (now >= deadline)
        return 0;
    if (deadline - now > 0x7FFFFFFFull)
        return 0x7FFFFFFFu;
    return (DWORD)(deadline - now);
}

static edge_result open_error(DWORD err)
{
    switch (err) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_BAD_PATHNAME:
        return EDGE_CLIENT_E_NO_SERVICE;
    case ERROR_ACCESS_DENIED:
        SetLastError(err);
        return EDGE_CLIENT_E_ACCESS_DENIED;
    case ERROR_PIPE_BUSY:
    case ERROR_SEM_TIMEOUT:
        return EDGE_CLIENT_E_TIMEOUT;
    case ERROR_INVALID_NAME:
        return EDGE_CLIENT_E_INVALID_ARG;
    default:
        SetLastError(err);
        return EDGE_CLIENT_E_SYSTEM;
    }
}

edge_result transport_open(const wchar_t *name, bool verify, ULONGLONG deadline, HANDLE cancel,
                           HANDLE *out)
{
    HANDLE h = INVALID_HANDLE_VALUE;
    DWORD mode = PIPE_READMODE_MESSAGE, err = ERROR_SUCCESS;
    edge_result r;

    *out = INVALID_HANDLE_VALUE;
    for (;;) {
        DWORD wait;
        /* SECURITY_IDENTIFICATION: the service may learn who we are but never act as us. */
        h = CreateFileW(name, TRANSPORT_PIPE_ACCESS, 0, NULL, OPEN_EXISTING,
                        FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION,
                        NULL);
        if (h != INVALID_HANDLE_VALUE)
            break;
        err = GetLastError();
        if (err != ERROR_PIPE_BUSY)
            return open_error(err);
        /* Every instance is serving someone: wait for one, in slices so close can interrupt. */
        wait = transport_remaining(deadline);
        if (wait == 0)
            return EDGE_CLIENT_E_TIMEOUT;
        if (WaitForSingleObject(cancel, 0) == WAIT_OBJECT_0)
            return EDGE_CLIENT_E_CLOSED;
        if (!WaitNamedPipeW(name, wait < 250 ? wait : 250)) {
            err = GetLastError();
            if (err != ERROR_SEM_TIMEOUT && err != ERROR_PIPE_BUSY)
                return open_error(err);
        }
    }
    if (verify) {
        r = verify_server(h);
        if (r != EDGE_OK)
            goto out;
    }
    if (!SetNamedPipeHandleState(h, &mode, NULL, NULL)) {
        err = GetLastError();
        r = EDGE_CLIENT_E_SYSTEM;
        goto out;
    }
    *out = h;
    h = INVALID_HANDLE_VALUE;
    r = EDGE_OK;
out:
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    if (r == EDGE_CLIENT_E_SYSTEM)
        SetLastError(err);
    return r;
}

static edge_result io_error(DWORD err)
{
    switch (err) {
    case ERROR_BROKEN_PIPE:
    case ERROR_NO_DATA:
    case ERROR_PIPE_NOT_CONNECTED:
    case ERROR_BAD_PIPE:
        return EDGE_CLIENT_E_DISCONNECTED;
    case ERROR_MORE_DATA:
        return EDGE_CLIENT_E_PROTOCOL; /* a message larger than any frame */
    default:
        SetLastError(err);
        return EDGE_CLIENT_E_SYSTEM;
    }
}

/*
 * Waits for an overlapped operation until the deadline or the cancel event.  On either, the I/O is
 * cancelled and waited for, so the OVERLAPPED and buffer on the caller's stack are never written
 * after return.
 */
static edge_result finish_io(HANDLE pipe, OVERLAPPED *ov, BOOL started, ULONGLONG deadline,
                             HANDLE cancel, DWORD *n)
{
    HANDLE waits[2];
    DWORD w, err;

    *n = 0;
    if (!started) {
        err = GetLastError();
        if (err != ERROR_IO_PENDING)
            return io_error(err);
    }
    waits[0] = ov->hEvent;
    waits[1] = cancel;
    w = WaitForMultipleObjects(2, waits, FALSE, transport_remaining(deadline));
    if (w != WAIT_OBJECT_0) {
        CancelIoEx(pipe, ov);
        /* The cancel may lose the race against completion: then the I/O did finish. */
        if (GetOverlappedResult(pipe, ov, n, TRUE))
            return EDGE_OK;
        return w == WAIT_OBJECT_0 + 1 ? EDGE_CLIENT_E_CLOSED : EDGE_CLIENT_E_TIMEOUT;
    }
    if (!GetOverlappedResult(pipe, ov, n, FALSE))
        return io_error(GetLastError());
    return EDGE_OK;
}

edge_result transport_write(HANDLE pipe, const uint8_t *buf, size_t len, ULONGLONG deadline,
                            HANDLE cancel)
{
    OVERLAPPED ov;
    DWORD n = 0;
    BOOL ok;
    edge_result r;

    memset(&ov, 0, sizeof(ov));
    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!ov.hEvent)
        return EDGE_CLIENT_E_SYSTEM;
    ok = WriteFile(pipe, buf, (DWORD)len, NULL, &ov);
    r = finish_io(pipe, &ov, ok, deadline, cancel, &n);
    if (r == EDGE_OK && n != len)
        r = EDGE_CLIENT_E_DISCONNECTED;
    CloseHandle(ov.hEvent);
    return r;
}

edge_result transport_read(HANDLE pipe, uint8_t *buf, size_t cap, size_t *got, ULONGLONG deadline,
                           HANDLE cancel)
{
    OVERLAPPED ov;
    DWORD n = 0;
    BOOL ok;
    edge_result r;

    *got = 0;
    memset(&ov, 0, sizeof(ov));
    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!ov.hEvent)
        return EDGE_CLIENT_E_SYSTEM;
    ok = ReadFile(pipe, buf, (DWORD)cap, NULL, &ov);
    r = finish_io(pipe, &ov, ok, deadline, cancel, &n);
    if (r == EDGE_OK)
        *got = n;
    CloseHandle(ov.hEvent);
    return r;
}

edge_result transport_peek(HANDLE pipe, DWORD *avail)
{
    DWORD total = 0, left = 0;

    *avail = 0;
    if (!PeekNamedPipe(pipe, NULL, 0, NULL, &total, &left))
        return io_error(GetLastError());
    /* In message mode `left` is what remains of the next message; total covers all of them. */
    *avail = left ? left : total;
    return EDGE_OK;
}
