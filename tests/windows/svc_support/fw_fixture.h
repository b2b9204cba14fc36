/*
 * The firewall-backend fixture of test_firewall_backend.c and test_firewall_faults.c: a backend
 * started over the conformance double (reached through COM registration), rule specs, and the
 * double's store read back directly (fwdouble_control).
 */
#ifndef EDGE_FW_FIXTURE_H
#define EDGE_FW_FIXTURE_H

#include <stdint.h>

#include "firewall.h"
#include "fwdouble_control.h"

#define FWFIX_APP   L"C:\\Program Files\\Example\\app.exe"
#define FWFIX_OWNER L"S-1-5-21-1004336348-1177238915-682003330-1001"

/* The backend of the running test; started by fwfix_setup, stopped by fwfix_teardown. */
extern edge_fw_backend *fwfix_fw;

/* A rule for FWFIX_APP / FWFIX_OWNER whose lease id is unique per seed. */
edge_fw_rule_spec fwfix_make_spec(uint32_t seed, uint32_t protocol, uint16_t lo, uint16_t hi,
                                  uint32_t profiles, uint32_t edge);
/* TCP 5000-5010, private and public, edge traversal deferred to the app. */
edge_fw_rule_spec fwfix_default_spec(uint32_t seed);

/* Starts fwfix_fw with this per-call timeout (asserts). */
void fwfix_start_backend(uint32_t call_timeout_ms);

/* Per-test cmocka fixture: clean double (no faults, empty store), backend started. */
int fwfix_setup(void **state);
int fwfix_teardown(void **state);

/* All rules of the EdgeBroker group in the double's store (free with fwdc_rules_free). */
fwdc_rule *fwfix_stored_ours(size_t *count);

/* Adds spec through fwfix_fw; prints the failure and asserts EDGE_OK. */
void fwfix_add_ok(const edge_fw_rule_spec *spec);

#endif /* EDGE_FW_FIXTURE_H */
