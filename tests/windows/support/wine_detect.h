/* Tells a Windows test whether it runs under Wine, so tests of what only real Windows does can
 * report SKIP with the reason instead of passing vacuously or failing. */
#ifndef EDGE_TEST_WINE_DETECT_H
#define EDGE_TEST_WINE_DETECT_H

#include <stdbool.h>

/* True when ntdll exports wine_get_version, i.e. the process runs under Wine. */
bool edge_test_under_wine(void);

/* The Wine version string ("8.0"), or NULL on real Windows. */
const char *edge_test_wine_version(void);

/*
 * For use inside a cmocka test: when under Wine, prints "SKIP: <reason>" and skips the test
 * (cmocka's skip()).  Returns normally on real Windows.
 */
#define edge_test_skip_under_wine(reason)                                                          \
    do {                                                                                           \
        if (edge_test_under_wine()) {                                                              \
            print_message("SKIP under Wine %s: %s\n", edge_test_wine_version(), (reason));        \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

#endif /* EDGE_TEST_WINE_DETECT_H */
