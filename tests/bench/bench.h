/*
 * Shared parts of edge_bench (bench.c, bench_tput.c, bench_state.c): the clock, the results
 * list, and the phases that live in their own files.  See bench.c for what is measured and
 * docs/performance.md for method.
 */
#ifndef EDGE_BENCH_H
#define EDGE_BENCH_H

#include "itest.h"

#include <stdbool.h>
#include <stdio.h>

/* One figure of results.json.  ratio <= 0 is written as null. */
struct bench_result {
    char name[48];
    double value;
    char unit[12];
    double ratio;
};

#define BENCH_MAX_RESULTS 64u

/* Microseconds from QueryPerformanceCounter (bench_clock_init first). */
void bench_clock_init(void);
double bench_now_us(void);

/* Appends a figure (ignored beyond BENCH_MAX_RESULTS). */
void bench_add(const char *name, double value, const char *unit, double ratio);

/* Median (p = 0.5) or another percentile of n samples (sorts them). */
double bench_pct(double *v, unsigned n, double p);

/*
 * Throughput (bench_tput.c): for each client count, that many threads, each on its own hello'd
 * connection, send PING back to back for SECONDS; figures tput_<n>_clients (requests/s), ratio to
 * one client's.  Returns false when a phase could not run at all.
 */
bool bench_throughput(double seconds);

/* Private bytes of a process (see bench_state.c for what Wine reports); 0 when unknown. */
double bench_process_private_bytes(HANDLE process);
/* The same for the installed service's process. */
double bench_service_private_bytes(void);

/*
 * Start-up reconcile (bench_state.c): for each count (0 first), stops the service, writes a state
 * file with that many leases and the double's store with their rules, starts the service and
 * times StartService -> STATUS reporting the reconcile check done.  After the largest count,
 * records the private bytes with those leases active.  Leaves the service running with them.
 */
bool bench_reconcile(const unsigned *counts, unsigned ncounts);

/* A STATUS call: *reconcile_state the "reconcile" check (EDGE_CHECK_*), *active the count. */
DWORD bench_status(itc *c, uint8_t *reconcile_state, uint32_t *active);

#endif /* EDGE_BENCH_H */
