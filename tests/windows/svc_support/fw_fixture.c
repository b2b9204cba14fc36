#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <windows.h>
#include <string.h>

#include "fw_fixture.h"
#include "fwdouble_control.h"

edge_fw_backend *fwfix_fw;

edge_fw_rule_spec fwfix_make_spec(uint32_t seed, uint32_t protocol, uint16_t lo, uint16_t hi,
                                  uint32_t profiles, uint32_t edge)
{
    edge_fw_rule_spec s;
    size_t i;

    memset(&s, 0, sizeof(s));
    /* Unique per seed (first three bytes), the rest varied so hex parsing sees every digit. */
    for (i = 0; i < EDGE_FW_LEASE_ID_SIZE; i++)
        s.lease_id[i] = (uint8_t)(seed * 31u + i * 17u);
    s.lease_id[0] = (uint8_t)seed;
    s.lease_id[1] = (uint8_t)(seed >> 8);
    s.lease_id[2] = (uint8_t)(seed >> 16);
    s.image_path = FWFIX_APP;
    s.owner_sid = FWFIX_OWNER;
    s.protocol = protocol;
    s.port_lo = lo;
    s.port_hi = hi;
    s.profiles = profiles;
    s.edge_mode = edge;
    return s;
}

edge_fw_rule_spec fwfix_default_spec(uint32_t seed)
{
    return fwfix_make_spec(seed, EDGE_FW_PROTO_TCP, 5000, 5010,
                           EDGE_FW_PROFILE_PRIVATE | EDGE_FW_PROFILE_PUBLIC,
                           EDGE_FW_EDGE_DEFER_TO_APP);
}

void fwfix_start_backend(uint32_t call_timeout_ms)
{
    edge_fw_config cfg;
    edge_fw_result res;

    cfg.call_timeout_ms = call_timeout_ms;
    cfg.stop_timeout_ms = 60000;
    assert_int_equal(edge_fw_start(&cfg, &fwfix_fw, &res), EDGE_OK);
    assert_non_null(fwfix_fw);
}

int fwfix_setup(void **state)
{
    (void)state;
    if (!fwdc_double_registered()) {
        print_message("the firewall double is not registered over CLSID_NetFwPolicy2\n");
        return -1;
    }
    if (FAILED(fwdc_faults_clear()) || FAILED(fwdc_store_reset()))
        return -1;
    fwfix_start_backend(60000);
    return 0;
}

int fwfix_teardown(void **state)
{
    (void)state;
    edge_fw_stop(fwfix_fw);
    fwfix_fw = NULL;
    (void)fwdc_faults_clear();
    return 0;
}

/* All rules of the EdgeBroker group in the store. */
fwdc_rule *fwfix_stored_ours(size_t *count)
{
    fwdc_rule *rules = NULL;

    assert_int_equal(fwdc_store_read_group(EDGE_FW_GROUP, &rules, count), S_OK);
    return rules;
}

void fwfix_add_ok(const edge_fw_rule_spec *spec)
{
    edge_fw_result res;
    edge_status st = edge_fw_add_rule(fwfix_fw, spec, &res);

    if (st != EDGE_OK)
        print_message("add failed: %s 0x%08lX %s\n", edge_status_name(st),
                      (unsigned long)res.hresult, res.message);
    assert_int_equal(st, EDGE_OK);
}
