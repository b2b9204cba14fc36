/* Conformance tests that only make sense against the double (faults, store file, fwdump). */
#ifndef CONFORMANCE_DOUBLE_H
#define CONFORMANCE_DOUBLE_H

void test_double_store_file(void **state);
void test_double_store_escaping(void **state);
void test_double_external_changes_visible(void **state);
void test_double_fwdump_cross_process(void **state);
void test_double_fail_counters(void **state);
void test_double_fail_counter_counts_down(void **state);
void test_double_fail_create(void **state);
void test_double_faults_file_by_hand(void **state);
void test_double_latency(void **state);
void test_double_profiles_faults(void **state);
void test_double_no_rule2_no_rule3(void **state);
void test_double_firewall_enabled_persists(void **state);
void test_double_put_on_removed_rule(void **state);
void test_double_listing_10000(void **state);
void test_double_add_appends_to_store(void **state);
void test_double_torn_append_ignored(void **state);
void test_double_faults_hand_edit_reaches_getters(void **state);

#define CONF_DOUBLE_TESTS(T)                                                                       \
    T(test_double_store_file), T(test_double_store_escaping),                                      \
        T(test_double_external_changes_visible), T(test_double_fwdump_cross_process),              \
        T(test_double_fail_counters), T(test_double_fail_counter_counts_down),                     \
        T(test_double_fail_create), T(test_double_faults_file_by_hand), T(test_double_latency),    \
        T(test_double_profiles_faults), T(test_double_no_rule2_no_rule3),                          \
        T(test_double_firewall_enabled_persists), T(test_double_put_on_removed_rule),              \
        T(test_double_listing_10000), T(test_double_add_appends_to_store),                         \
        T(test_double_torn_append_ignored), T(test_double_faults_hand_edit_reaches_getters)

#endif
