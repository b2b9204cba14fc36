/*
 * edgectl output: UTF-8 text to the console or to a redirected handle, aligned tables, and the
 * human renderings of times and leases.  Nothing here goes through the C runtime's stdio, whose
 * code-page translation would mangle non-ASCII paths.
 */
#ifndef EDGECTL_OUTPUT_H
#define EDGECTL_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h> /* __MINGW_PRINTF_FORMAT */

#include "edge/status.h"
#include "edgeclient.h"
#include "edge/json.h"

#if defined(__MINGW32__)
#define OUT_PRINTF_LIKE(f, a) __attribute__((format(__MINGW_PRINTF_FORMAT, f, a)))
#elif defined(__GNUC__)
#define OUT_PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define OUT_PRINTF_LIKE(f, a)
#endif

/*
 * Writes n bytes of UTF-8 to stdout (or stderr).  On a console it converts to UTF-16 and uses
 * WriteConsoleW, so any code page shows the text right; when redirected to a file or pipe it
 * writes the UTF-8 bytes unchanged.
 */
void out_write(bool to_stderr, const char *utf8, size_t n);
void out_printf(const char *fmt, ...) OUT_PRINTF_LIKE(1, 2);
void out_eprintf(const char *fmt, ...) OUT_PRINTF_LIKE(1, 2);

/* Number of characters (code points) of UTF-8 text, for column widths. */
size_t out_text_width(const char *utf8);

/* A table printed with every column as wide as its widest cell, two spaces apart. */
struct out_table;
/* headers: ncols strings (copied).  NULL on allocation failure. */
struct out_table *out_table_new(size_t ncols, const char *const *headers);
/* Appends a row of ncols cells (copied; NULL cells print as "-").  false when out of memory. */
bool out_table_add(struct out_table *t, const char *const *cells);
/* Prints the header and rows to stdout, each line prefixed by indent. */
void out_table_print(const struct out_table *t, const char *indent);
void out_table_free(struct out_table *t);

/* "2025-03-01 14:05" in local time. */
void out_local_time(uint64_t unix_s, char *buf, size_t cap);
/* "45s", "12m", "2h 30m", "3d 4h" (rounded down). */
void out_duration(uint64_t seconds, char *buf, size_t cap);
/* "2025-03-01 14:05 (in 2h 30m)" or "... (expired)". */
void out_expiry(uint64_t expires, char *buf, size_t cap);
/* "2025-03-01 14:05 (2h 30m ago)". */
void out_since(uint64_t when, char *buf, size_t cap);
/* Current time, Unix seconds (UTC). */
uint64_t out_now(void);

/* ---- leases (lease_view.c) ---- */

const char *out_protocol_name(uint32_t protocol); /* "tcp", "udp", "?" */
const char *out_state_name(uint32_t state);       /* "active", "ineffective", ... */
void out_ports(uint16_t lo, uint16_t hi, char *buf, size_t cap);
/* A table with the lease columns; add rows with out_lease_row. */
struct out_table *out_lease_table(void);
bool out_lease_row(struct out_table *t, const edge_lease_t *l);
/* "Lease ...\n  Protocol: ...": the full record, for show/request/renew. */
void out_lease_detail(const edge_lease_t *l);
/* The lease as a JSON object (the schema of docs/edgectl.md, "lease object"). */
void out_lease_json(json_writer *w, const edge_lease_t *l);
/* Human warnings ("granted but ineffective: ...") to stderr; nothing when there are none. */
void out_lease_warnings(const edge_lease_t *l);

#endif /* EDGECTL_OUTPUT_H */
