/*
 * Runs edgectl.exe as a child process with redirected stdout and stderr, normalises what it
 * printed (times, the test's pipe and service names, the product version) and compares it with
 * a golden file in tests/edgectl/golden/.  Set EDGECTL_UPDATE_GOLDEN=1 to rewrite the golden
 * files from the actual output instead (then review the diff before committing).
 */
#ifndef EDGECTL_TEST_HARNESS_H
#define EDGECTL_TEST_HARNESS_H

#include <stddef.h>

struct ctl_run {
    int exit_code;
    char *out; /* stdout, NUL-terminated, normalised */
    char *err; /* stderr, likewise */
};

/*
 * Runs `edgectl <args>` (args in UTF-8, split on spaces; an argument in double quotes may hold
 * spaces).  `pipe` and `service` are the test's unique names, replaced by fixed placeholders in
 * the normalised output (NULL: none).  Asserts on harness failures.
 */
void ctl_run(const char *args, const char *pipe, const char *service, struct ctl_run *out);
void ctl_run_free(struct ctl_run *r);

/*
 * Runs like ctl_run and checks exit code and output against golden/<name>.txt, which records
 * the command line, the exit code, stdout and stderr.  Returns the exit code.
 */
int ctl_golden(const char *name, const char *args, const char *pipe, const char *service);

struct fake_server;

/* cmocka per-test fixture: *state is a fake service started on a unique pipe, then stopped. */
int ctl_serve_setup(void **state);
int ctl_serve_teardown(void **state);

/*
 * `edgectl --pipe <fs> --insecure-test-server <verb_args>` against golden/<name>.txt (ctl_golden);
 * asserts the exit code is want.
 */
void ctl_golden_served(const struct fake_server *fs, const char *name, const char *verb_args,
                       int want);

#endif /* EDGECTL_TEST_HARNESS_H */
