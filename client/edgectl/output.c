/* Console and redirected UTF-8 output, aligned tables, and time rendering. */
#include <windows.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

void out_write(bool to_stderr, const char *utf8, size_t n)
{
    HANDLE h = GetStdHandle(to_stderr ? STD_ERROR_HANDLE : STD_OUTPUT_HANDLE);
    DWORD mode = 0, done = 0;

    if (h == NULL || h == INVALID_HANDLE_VALUE || n == 0 || n > 0x7FFFFFFFu)
        return;
    if (GetConsoleMode(h, &mode)) {
        /* A console: hand it UTF-16 so the text shows right whatever the console code page. */
        int wn = MultiByteToWideChar(CP_UTF8, 0, utf8, (int)n, NULL, 0);
        wchar_t *w = wn > 0 ? malloc((size_t)wn * sizeof(wchar_t)) : NULL;
        if (w && MultiByteToWideChar(CP_UTF8, 0, utf8, (int)n, w, wn) == wn) {
            WriteConsoleW(h, w, (DWORD)wn, &done, NULL);
            free(w);
            return;
        }
        free(w);
    }
    /* Redirected: the bytes are UTF-8 by contract (docs/edgectl.md). */
    while (n > 0) {
        if (!WriteFile(h, utf8, (DWORD)n, &done, NULL) || done == 0)
            return;
        utf8 += done;
        n -= done;
    }
}

static void out_vprintf(bool to_stderr, const char *fmt, va_list ap)
{
    char small[1024];
    char *big = NULL;
    va_list ap2;
    int n;

    va_copy(ap2, ap);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    if (n < 0) {
        va_end(ap2);
        return;
    }
    if ((size_t)n < sizeof(small)) {
        out_write(to_stderr, small, (size_t)n);
    } else {
        big = malloc((size_t)n + 1);
        if (big && vsnprintf(big, (size_t)n + 1, fmt, ap2) == n)
            out_write(to_stderr, big, (size_t)n);
        free(big);
    }
    va_end(ap2);
}

void out_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    out_vprintf(false, fmt, ap);
    va_end(ap);
}

void out_eprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    out_vprintf(true, fmt, ap);
    va_end(ap);
}

size_t out_text_width(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) /* count lead bytes, skip continuations */
            n++;
    return n;
}

/* ---- tables ---- */

struct out_table {
    size_t ncols, nrows, cap;
    char **cells; /* (nrows + 1) * ncols, row 0 the header */
};

static char *dup_cell(const char *s)
{
    size_t n;
    char *d;
    if (!s)
        s = "-";
    n = strlen(s);
    d = malloc(n + 1);
    if (d)
        memcpy(d, s, n + 1);
    return d;
}

struct out_table *out_table_new(size_t ncols, const char *const *headers)
{
    struct out_table *t = calloc(1, sizeof(*t));
    if (!t || ncols == 0)
        goto fail;
    t->ncols = ncols;
    if (!out_table_add(t, headers))
        goto fail;
    t->nrows = 0; /* the header is not a row */
    return t;
fail:
    out_table_free(t);
    return NULL;
}

bool out_table_add(struct out_table *t, const char *const *cells)
{
    size_t used = (t->nrows + (t->cells ? 1 : 0)) * t->ncols, i;
    if (used + t->ncols > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : t->ncols * 8;
        char **p;
        if (cap > SIZE_MAX / sizeof(char *))
            return false;
        p = realloc(t->cells, cap * sizeof(char *));
        if (!p)
            return false;
        t->cells = p;
        t->cap = cap;
    }
    for (i = 0; i < t->ncols; i++) {
        t->cells[used + i] = dup_cell(cells[i]);
        if (!t->cells[used + i]) {
            while (i-- > 0)
                free(t->cells[used + i]);
            return false;
        }
    }
    if (used > 0)
        t->nrows++;
    return true;
}

void out_table_print(const struct out_table *t, const char *indent)
{
    size_t widths[16] = {0};
    size_t r, col, ncols = t->ncols < 16 ? t->ncols : 16;

    for (r = 0; r <= t->nrows; r++)
        for (col = 0; col < ncols; col++) {
            size_t w = out_text_width(t->cells[r * t->ncols + col]);
            if (w > widths[col])
                widths[col] = w;
        }
    for (r = 0; r <= t->nrows; r++) {
        out_printf("%s", indent);
        for (col = 0; col < ncols; col++) {
            const char *cell = t->cells[r * t->ncols + col];
            bool last = col + 1 == ncols;
            /* Pad by characters, not bytes, so non-ASCII cells stay aligned; no trailing blanks. */
            size_t pad = last ? 0 : widths[col] - out_text_width(cell) + 2;
            out_printf("%s%*s", cell, (int)pad, "");
        }
        out_printf("\n");
    }
}

void out_table_free(struct out_table *t)
{
    size_t i;
    if (!t)
        return;
    if (t->cells)
        for (i = 0; i < (t->nrows + 1) * t->ncols; i++)
            free(t->cells[i]);
    free(t->cells);
    free(t);
}

/* ---- times ---- */

uint64_t out_now(void)
{
    FILETIME ft;
    ULARGE_INTEGER u;
    GetSystemTimeAsFileTime(&ft);
    u.LowPart = ft.dwLowDateTime;
    u.HighPart = ft.dwHighDateTime;
    return u.QuadPart / 10000000ull - 11644473600ull;
}

void out_local_time(uint64_t unix_s, char *buf, size_t cap)
{
    ULARGE_INTEGER u;
    FILETIME ft;
    SYSTEMTIME utc, local;

    /* Beyond year 30827 FILETIME overflows; such a value is nonsense anyway. */
    if (unix_s > 910692730085ull) {
        snprintf(buf, cap, "?");
        return;
    }
    u.QuadPart = (unix_s + 11644473600ull) * 10000000ull;
    ft.dwLowDateTime = u.LowPart;
    ft.dwHighDateTime = u.HighPart;
    if (!FileTimeToSystemTime(&ft, &utc) || !SystemTimeToTzSpecificLocalTime(NULL, &utc, &local)) {
        snprintf(buf, cap, "?");
        return;
    }
    snprintf(buf, cap, "%04u-%02u-%02u %02u:%02u", local.wYear, local.wMonth, local.wDay,
             local.wHour, local.wMinute);
}

void out_duration(uint64_t s, char *buf, size_t cap)
{
    unsigned long long d = s / 86400, h = s % 86400 / 3600, m = s % 3600 / 60;
    if (s < 60)
        snprintf(buf, cap, "%llus", (unsigned long long)s);
    else if (s < 3600)
        snprintf(buf, cap, "%llum", m);
    else if (s < 86400)
        snprintf(buf, cap, "%lluh %02llum", h, m);
    else
        snprintf(buf, cap, "%llud %lluh", d, h);
}

void out_expiry(uint64_t expires, char *buf, size_t cap)
{
    char when[64], left[32];
    uint64_t now = out_now();
    out_local_time(expires, when, sizeof(when));
    if (expires <= now) {
        snprintf(buf, cap, "%s (expired)", when);
        return;
    }
    out_duration(expires - now, left, sizeof(left));
    snprintf(buf, cap, "%s (in %s)", when, left);
}

void out_since(uint64_t when_s, char *buf, size_t cap)
{
    char when[64], ago[32];
    uint64_t now = out_now();
    out_local_time(when_s, when, sizeof(when));
    out_duration(now > when_s ? now - when_s : 0, ago, sizeof(ago));
    snprintf(buf, cap, "%s (%s ago)", when, ago);
}
