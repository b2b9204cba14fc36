/*
 * libFuzzer target for the policy value parsers.  Byte 0 picks the value; DWORD values take the
 * next 4 bytes, string values split the rest at '\n' into items.  Checks: a failed set leaves the
 * policy exactly as it was, an accepted value formats to bounded text, keyword values re-parse
 * from their own display text, and a decision under the resulting policy keeps its trace bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edge/policy.h"
#include "edge/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX_ITEMS (EDGE_POLICY_MAX_LIST + 8)

static void fz_decide(const edge_policy *p)
{
    static edge_policy_decision d;
    static const uint8_t hash[32] = {1, 2, 3};
    edge_policy_identity id = {
        "S-1-5-21-1-1001", false, false, "C:\\Program Files\\App\\app.exe", hash, "CN=App"};
    edge_policy_request req;
    uint32_t i;
    memset(&req, 0, sizeof req);
    req.protocol = 6;
    req.port_lo = 1024;
    req.port_hi = 2048;
    edge_policy_decide(&id, &req, p, NULL, 0, 1700000000u, &d);
    if (d.trace_count == 0 || d.trace_count > EDGE_MAX_TRACE_LINES)
        abort();
    for (i = 0; i < d.trace_count; i++) {
        const char *l = edge_policy_trace_line(&d, i);
        if (strlen(l) > EDGE_MAX_TEXT ||
            edge_utf8_check((const uint8_t *)l, strlen(l)) != EDGE_UTF8_OK)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static edge_str items[FZ_MAX_ITEMS];
    static char before[EDGE_MAX_TEXT + 1], after[EDGE_MAX_TEXT + 1];
    edge_policy p;
    edge_policy_parse_info info;
    edge_policy_value id;
    edge_policy_parse_err e;
    size_t count = 0, start, i;

    if (size == 0)
        return 0;
    id = (edge_policy_value)(data[0] % EDGE_POLICY_V_COUNT_);
    data++;
    size--;
    edge_policy_init_defaults(&p);
    if (!edge_policy_format_value(&p, id, before, sizeof before))
        abort();
    if (edge_policy_value_kind(id) == EDGE_POLICY_KIND_DWORD) {
        uint32_t v = 0;
        if (size < 4)
            return 0;
        memcpy(&v, data, 4);
        e = edge_policy_set_dword(&p, id, v, EDGE_POLICY_SRC_POLICY, &info);
    } else {
        for (start = 0, i = 0; i <= size && count < FZ_MAX_ITEMS; i++) {
            if (i == size || data[i] == '\n') {
                items[count].ptr = (const char *)data + start;
                items[count].len = (uint32_t)(i - start);
                count++;
                start = i + 1;
            }
        }
        if (edge_policy_value_kind(id) == EDGE_POLICY_KIND_SZ)
            count = 1;
        e = edge_policy_set_strings(&p, id, items, count, EDGE_POLICY_SRC_POLICY, &info);
    }
    if (e != info.err)
        abort();
    if (!edge_policy_format_value(&p, id, after, sizeof after) || strlen(after) > EDGE_MAX_TEXT ||
        edge_utf8_check((const uint8_t *)after, strlen(after)) != EDGE_UTF8_OK)
        abort();
    if (e != EDGE_POLICY_PARSE_OK) {
        if (strcmp(before, after) != 0 || p.source[id] != EDGE_POLICY_SRC_DEFAULT ||
            info.message[0] == '\0' || strlen(info.message) > EDGE_MAX_TEXT)
            abort();
    } else if (edge_policy_value_kind(id) == EDGE_POLICY_KIND_SZ) {
        /* Display text of a keyword value is itself a valid value with the same meaning. */
        edge_policy q;
        edge_str t;
        char again[EDGE_MAX_TEXT + 1];
        edge_policy_init_defaults(&q);
        t.ptr = after;
        t.len = (uint32_t)strlen(after);
        if (edge_policy_set_strings(&q, id, &t, 1, EDGE_POLICY_SRC_LOCAL, NULL) != 0 ||
            !edge_policy_format_value(&q, id, again, sizeof again) || strcmp(again, after) != 0)
            abort();
        edge_policy_free(&q);
    }
    fz_decide(&p);
    edge_policy_free(&p);
    return 0;
}
