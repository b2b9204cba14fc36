/*
 * The verbs (service/verbs.c) driven through conn_handle_frame exactly as the pipe server does,
 * with synthetic caller identities: every verb's reply fields, the permission rows (admin verbs,
 * list --all, verbs not offered), another executable refused, list pagination within the frame
 * limit.  verbs_startup_config runs against a private state directory and private policy keys
 * under HKCU (Mode AllowListOnly), with the firewall double.  The authorization verbs' behaviour
 * is in test_verbs_auth.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <windows.h>
#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caller.h"
#include "connection.h"
#include "firewall.h"
#include "fwdouble_control.h"
#include "leases.h"
#include "verbs.h"

#include "edge/protocol.h"
#include "testfs.h"
#include "svct_caller.h"
#include "svct_messages.h"

#define APP   L"C:\\Program Files\\Example\\app.exe"
#define OTHER L"C:\\Unlisted\\tool.exe"
#define USER1 "S-1-5-21-1004336348-1177238915-682003330-1001"
#define USER2 "S-1-5-21-1004336348-1177238915-682003330-1002"
#define ADMIN "S-1-5-21-1004336348-1177238915-682003330-500"

static struct verb_table g_table;
static void *g_ctx;
static wchar_t g_key[96], g_pkey[96];
static wchar_t g_dir[MAX_PATH];
static unsigned g_serial;
static uint32_t g_request_id;

/* One decoded reply and the frame it points into. */
struct reply {
    struct conn_reply raw;
    enum conn_action action;
    edge_msg msg;
};

static void connect_as(struct connection *c, const char *sid, const wchar_t *image, bool admin)
{
    svct_connect(c, ++g_serial, &g_table, g_ctx, sid, image, admin);
    c->caller.is_admin = admin;
}

/* Encodes REQ, runs it through the connection layer, decodes the reply. */
static void call(struct connection *c, edge_msg *req, struct reply *out)
{
    uint8_t *frame = NULL;
    size_t len = 0;

    req->flags = 0;
    req->request_id = ++g_request_id;
    assert_int_equal(edge_msg_encode_alloc(req, &frame, &len), EDGE_PROTO_OK);
    memset(out, 0, sizeof(*out));
    out->action = conn_handle_frame(c, frame, len, &out->raw);
    edge_proto_free(frame);
    assert_int_not_equal(out->action, CONN_ACTION_DROP);
    assert_true(out->raw.len <= EDGE_FRAME_MAX);
    assert_int_equal(edge_msg_decode(out->raw.data, out->raw.len, EDGE_DIR_REPLY, &out->msg),
                     EDGE_PROTO_OK);
    assert_int_equal(out->msg.type, req->type);
    assert_int_equal(out->msg.request_id, g_request_id);
    assert_memory_equal(out->msg.env.epoch, g_table.epoch, EDGE_ID_SIZE);
}

static uint32_t call_status(struct connection *c, edge_msg *req)
{
    struct reply r;
    uint32_t st;

    call(c, req, &r);
    st = r.msg.env.status;
    conn_reply_free(&r.raw);
    return st;
}

/* Requests a lease and returns its id (asserts OK). */
static void grant(struct connection *c, uint16_t lo, uint16_t hi, uint8_t id[EDGE_ID_SIZE])
{
    edge_msg m = svct_lease_request(lo, hi);
    struct reply r;

    call(c, &m, &r);
    if (r.msg.env.status != EDGE_OK)
        print_message("request: %s %.*s\n", edge_status_name(r.msg.env.status),
                      (int)r.msg.env.detail.len, r.msg.env.detail.ptr ? r.msg.env.detail.ptr : "");
    assert_int_equal(r.msg.env.status, EDGE_OK);
    assert_true(r.msg.u.lease_rep.has_lease);
    memcpy(id, r.msg.u.lease_rep.lease.id, EDGE_ID_SIZE);
    conn_reply_free(&r.raw);
}

static int setup(void **state)
{
    wchar_t tmp[MAX_PATH];
    static const wchar_t apps[] = L"C:\\Program Files\\**\\*.exe\0";
    static const wchar_t mode[] = L"AllowListOnly";
    DWORD many = 65535;
    struct verbs_config cfg;
    HKEY key;

    (void)state;
    if (!fwdc_double_registered() || FAILED(fwdc_faults_clear()) || FAILED(fwdc_store_reset()))
        return -1;
    GetTempPathW(MAX_PATH, tmp);
    swprintf(g_dir, MAX_PATH, L"%lsedge-verbs-%lu-%llu-%u", tmp, GetCurrentProcessId(),
             (unsigned long long)GetTickCount64(), ++g_serial);
    swprintf(g_key, 96, L"Software\\EdgeBrokerTest-verbs-%lu", GetCurrentProcessId());
    swprintf(g_pkey, 96, L"Software\\EdgeBrokerTest-verbs-policy-%lu", GetCurrentProcessId());
    if (RegCreateKeyExW(HKEY_CURRENT_USER, g_key, 0, NULL, 0, KEY_ALL_ACCESS, NULL, &key, NULL))
        return -1;
    /* High quotas (the paging test needs many leases); one allow-listed directory tree. */
    RegSetValueExW(key, L"MaxLeasesPerUser", 0, REG_DWORD, (const BYTE *)&many, sizeof(many));
    RegSetValueExW(key, L"MaxLeasesPerApp", 0, REG_DWORD, (const BYTE *)&many, sizeof(many));
    RegSetValueExW(key, L"AllowedApplications", 0, REG_MULTI_SZ, (const BYTE *)apps, sizeof(apps));
    RegSetValueExW(key, L"Mode", 0, REG_SZ, (const BYTE *)mode, sizeof(mode));
    RegCloseKey(key);
    memset(&cfg, 0, sizeof(cfg));
    cfg.state_dir = g_dir;
    cfg.policy_root = HKEY_CURRENT_USER;
    cfg.policy_key = g_pkey;
    cfg.local_key = g_key;
    if (conn_verbs_init(&g_table) != ERROR_SUCCESS ||
        verbs_startup_config(&g_table, &cfg, &g_ctx) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    verbs_shutdown(g_ctx);
    g_ctx = NULL;
    testfs_remove_flat_dir(g_dir);
    RegDeleteTreeW(HKEY_CURRENT_USER, g_key);
    RegDeleteTreeW(HKEY_CURRENT_USER, g_pkey);
    (void)fwdc_faults_clear();
    return 0;
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_rows(void **state)
{
    static const uint16_t any[] = {EDGE_MSG_REQUEST, EDGE_MSG_RENEW,  EDGE_MSG_RELEASE,
                                   EDGE_MSG_LIST,    EDGE_MSG_SHOW,   EDGE_MSG_STATUS,
                                   EDGE_MSG_DOCTOR,  EDGE_MSG_POLICY, EDGE_MSG_EXPLAIN};
    static const uint16_t admin_only[] = {EDGE_MSG_REVOKE, EDGE_MSG_PURGE, EDGE_MSG_PENDING,
                                          EDGE_MSG_APPROVE, EDGE_MSG_DENY};
    struct verb_table partial;
    struct connection c;
    struct reply r;
    edge_msg m;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(any) / sizeof(any[0]); i++) {
        assert_non_null(g_table.rows[any[i]].handler);
        assert_int_equal(g_table.rows[any[i]].who, VERB_ANY_CALLER);
        assert_int_equal(g_table.rows[any[i]].states, VERB_IN_HELLO_DONE);
    }
    for (i = 0; i < sizeof(admin_only) / sizeof(admin_only[0]); i++) {
        assert_non_null(g_table.rows[admin_only[i]].handler);
        assert_int_equal(g_table.rows[admin_only[i]].who, VERB_ADMIN);
    }
    assert_true(g_table.capabilities & EDGE_CAP_SIGNED_REQUESTS);
    /* A verb without a handler is refused with a detail saying so. */
    partial = g_table;
    partial.rows[EDGE_MSG_EXPLAIN].handler = NULL;
    connect_as(&c, ADMIN, APP, true);
    c.verbs = &partial;
    m = svct_lease_request(7000, 7000);
    m.type = EDGE_MSG_EXPLAIN;
    call(&c, &m, &r);
    assert_int_equal(r.msg.env.status, EDGE_E_BAD_REQUEST);
    assert_int_equal(r.msg.env.detail.len, strlen("verb not offered by this service"));
    assert_memory_equal(r.msg.env.detail.ptr, "verb not offered by this service",
                        r.msg.env.detail.len);
    conn_reply_free(&r.raw);
    c.verbs = &g_table;
    c.state = CONN_NEW; /* before hello nothing but hello */
    m = svct_lease_request(7000, 7000);
    assert_int_equal(call_status(&c, &m), EDGE_E_PROTOCOL_STATE);
    conn_release(&c);
}

static void test_request_show_renew_release(void **state)
{
    struct connection c;
    struct reply r;
    edge_msg m;
    uint8_t id[EDGE_ID_SIZE];
    uint64_t expires;
    wchar_t name[EDGE_FW_NAME_CHARS];

    (void)state;
    connect_as(&c, USER1, APP, false);
    m = svct_lease_request(7100, 7102);
    m.u.lease_req.flags = EDGE_LEASE_F_KEEP_AFTER_EXIT;
    m.u.lease_req.has_flags = true;
    call(&c, &m, &r);
    assert_int_equal(r.msg.env.status, EDGE_OK);
    {
        const edge_lease *l = &r.msg.u.lease_rep.lease;
        assert_int_equal(l->owner_sid.len, strlen(USER1));
        assert_memory_equal(l->owner_sid.ptr, USER1, strlen(USER1));
        assert_int_equal(l->protocol, EDGE_IPPROTO_TCP);
        assert_int_equal(l->port_lo, 7100);
        assert_int_equal(l->port_hi, 7102);
        assert_int_equal(l->flags, EDGE_LEASE_F_KEEP_AFTER_EXIT);
        assert_int_equal(l->expires - l->created, 600);
        /* Ineffective only ever together with a warning bit explaining it. */
        if (l->state == EDGE_LEASE_STATE_INEFFECTIVE)
            assert_true(r.msg.env.has_warnings && r.msg.env.warnings != 0);
        else
            assert_int_equal(l->state, EDGE_LEASE_STATE_ACTIVE);
        memcpy(id, l->id, EDGE_ID_SIZE);
        expires = l->expires;
    }
    conn_reply_free(&r.raw);
    edge_fw_rule_name(id, name);
    assert_int_equal(fwdc_store_count_named(name), 1);

    m = svct_id_message(EDGE_MSG_SHOW, id);
    call(&c, &m, &r);
    assert_int_equal(r.msg.env.status, EDGE_OK);
    assert_memory_equal(r.msg.u.lease_rep.lease.id, id, EDGE_ID_SIZE);
    conn_reply_free(&r.raw);

    m = svct_id_message(EDGE_MSG_RENEW, id);
    m.u.renew_req.has_seconds = true;
    m.u.renew_req.seconds = 3000;
    call(&c, &m, &r);
    assert_int_equal(r.msg.env.status, EDGE_OK);
    assert_true(r.msg.u.lease_rep.lease.expires >= expires + 2000);
    conn_reply_free(&r.raw);

    m = svct_id_message(EDGE_MSG_RELEASE, id);
    assert_int_equal(call_status(&c, &m), EDGE_OK);
    assert_int_equal(fwdc_store_count_named(name), 0);
    m = svct_id_message(EDGE_MSG_SHOW, id);
    assert_int_equal(call_status(&c, &m), EDGE_E_NOT_FOUND);
    conn_release(&c);
}

static void test_permissions(void **state)
{
    struct connection user, other, admin, unlisted;
    struct reply r;
    edge_msg m;
    uint8_t id[EDGE_ID_SIZE];

    (void)state;
    connect_as(&user, USER1, APP, false);
    connect_as(&other, USER2, APP, false);
    connect_as(&admin, ADMIN, OTHER, true);
    connect_as(&unlisted, USER2, OTHER, false);
    grant(&user, 7200, 7200, id);

    m = svct_lease_request(7300, 7300);
    call(&unlisted, &m, &r);
    assert_int_equal(r.msg.env.status, EDGE_E_DENIED);
    assert_non_null(r.msg.env.detail.ptr);
    conn_reply_free(&r.raw);
    m = svct_lease_request(7301, 7301);
    m.u.lease_req.target_app = edge_str_from_cstr("C:\\Unlisted\\tool.exe");
    assert_int_equal(call_status(&user, &m), EDGE_E_IDENTITY_MISMATCH);

    /* Another user's lease is invisible; administrators see and end it. */
    m = svct_id_message(EDGE_MSG_SHOW, id);
    assert_int_equal(call_status(&other, &m), EDGE_E_NOT_FOUND);
    m = svct_id_message(EDGE_MSG_RELEASE, id);
    assert_int_equal(call_status(&other, &m), EDGE_E_NOT_FOUND);
    m = svct_id_message(EDGE_MSG_REVOKE, id);
    assert_int_equal(call_status(&user, &m), EDGE_E_ACCESS_DENIED);
    m = svct_bare(EDGE_MSG_PURGE);
    assert_int_equal(call_status(&user, &m), EDGE_E_ACCESS_DENIED);
    m = svct_bare(EDGE_MSG_LIST);
    m.u.list_req.has_flags = true;
    m.u.list_req.flags = EDGE_LIST_F_ALL;
    assert_int_equal(call_status(&user, &m), EDGE_E_ACCESS_DENIED);
    m = svct_bare(EDGE_MSG_LIST);
    call(&other, &m, &r);
    assert_int_equal(r.msg.env.status, EDGE_OK);
    assert_int_equal(r.msg.u.list_rep.items.count, 0);
    conn_reply_free(&r.raw);
    m = svct_id_message(EDGE_MSG_SHOW, id);
    assert_int_equal(call_status(&admin, &m), EDGE_OK);
    m = svct_id_message(EDGE_MSG_REVOKE, id);
    m.u.id_req.reason = edge_str_from_cstr("policy change");
    assert_int_equal(call_status(&admin, &m), EDGE_OK);
    m = svct_id_message(EDGE_MSG_SHOW, id);
    assert_int_equal(call_status(&user, &m), EDGE_E_NOT_FOUND);
    m = svct_id_message(EDGE_MSG_REVOKE, id);
    assert_int_equal(call_status(&admin, &m), EDGE_E_NOT_FOUND);
    conn_release(&user);
    conn_release(&other);
    conn_release(&admin);
    conn_release(&unlisted);
}

static bool has_check(const edge_list *list, const char *name)
{
    edge_list_iter it;
    edge_check k;

    edge_list_iter_init(&it, list);
    while (edge_list_next_check(&it, &k))
        if (k.name.len == strlen(name) && memcmp(k.name.ptr, name, k.name.len) == 0)
            return true;
    return false;
}

static void test_status_doctor_purge(void **state)
{
    struct connection user, admin;
    struct reply r;
    edge_msg m;
    uint8_t id[EDGE_ID_SIZE];

    (void)state;
    connect_as(&user, USER1, APP, false);
    connect_as(&admin, ADMIN, APP, true);
    grant(&user, 7400, 7400, id);
    grant(&admin, 7401, 7401, id);
    m = svct_bare(EDGE_MSG_STATUS);
    call(&user, &m, &r);
    assert_int_equal(r.msg.env.status, EDGE_OK);
    assert_int_equal(r.msg.u.status_rep.active_leases, 2);
    assert_int_equal(r.msg.u.status_rep.pending_requests, 0);
    assert_true(r.msg.u.status_rep.started > 1600000000u);
    assert_true(has_check(&r.msg.u.status_rep.checks, "state_store"));
    assert_true(has_check(&r.msg.u.status_rep.checks, "reconcile"));
    conn_reply_free(&r.raw);

    /* Firewall off in the current profile: doctor says so and warns. */
    assert_int_equal(fwdc_fault_set("firewall_off", "7"), S_OK);
    m = svct_bare(EDGE_MSG_DOCTOR);
    call(&user, &m, &r);
    assert_int_equal(r.msg.env.status, EDGE_OK);
    assert_true(has_check(&r.msg.u.entries_rep.items, "firewall.private"));
    assert_true(has_check(&r.msg.u.entries_rep.items, "local_rules.public"));
    assert_true(has_check(&r.msg.u.entries_rep.items, "teredo"));
    assert_true(has_check(&r.msg.u.entries_rep.items, "rules_effective"));
    assert_true(r.msg.env.has_warnings);
    assert_true(r.msg.env.warnings & EDGE_WARN_FIREWALL_OFF);
    conn_reply_free(&r.raw);

    m = svct_bare(EDGE_MSG_PURGE);
    call(&admin, &m, &r);
    assert_int_equal(r.msg.env.status, EDGE_OK);
    assert_int_equal(r.msg.u.purge_rep.removed, 2);
    conn_reply_free(&r.raw);
    m = svct_bare(EDGE_MSG_STATUS);
    call(&user, &m, &r);
    assert_int_equal(r.msg.u.status_rep.active_leases, 0);
    conn_reply_free(&r.raw);
    conn_release(&user);
    conn_release(&admin);
}

#define PAGE_LEASES 90

static void test_list_paginates_within_frame(void **state)
{
    static uint8_t ids[PAGE_LEASES][EDGE_ID_SIZE];
    static uint8_t seen[PAGE_LEASES][EDGE_ID_SIZE];
    wchar_t *image;
    struct connection admin;
    struct reply r;
    edge_msg m;
    uint32_t cursor = 0, total = 0, pages = 0;
    bool more = true;
    size_t i, j;

    (void)state;
    /* Long image paths make big records, so a few dozen leases need several frames. */
    image = calloc(1700, sizeof(wchar_t));
    assert_non_null(image);
    wcscpy(image, L"C:\\Program Files");
    for (i = 0; i < 8; i++) {
        wcscat(image, L"\\");
        for (j = 0; j < 190; j++)
            wcscat(image, L"d");
    }
    wcscat(image, L"\\app.exe");
    connect_as(&admin, ADMIN, image, true);
    free(image);
    for (i = 0; i < PAGE_LEASES; i++)
        grant(&admin, (uint16_t)(20000 + i), (uint16_t)(20000 + i), ids[i]);
    while (more) {
        edge_list_iter it;
        edge_lease l;

        m = svct_bare(EDGE_MSG_LIST);
        m.u.list_req.has_flags = true;
        m.u.list_req.flags = EDGE_LIST_F_ALL;
        m.u.list_req.has_cursor = pages > 0;
        m.u.list_req.cursor = cursor;
        call(&admin, &m, &r);
        assert_int_equal(r.msg.env.status, EDGE_OK);
        assert_true(r.msg.u.list_rep.items.count > 0);
        edge_list_iter_init(&it, &r.msg.u.list_rep.items);
        while (edge_list_next_lease(&it, &l)) {
            assert_true(total < PAGE_LEASES);
            memcpy(seen[total++], l.id, EDGE_ID_SIZE);
        }
        more = r.msg.u.list_rep.has_next_cursor;
        cursor = r.msg.u.list_rep.next_cursor;
        pages++;
        conn_reply_free(&r.raw);
        assert_true(pages <= PAGE_LEASES);
    }
    assert_int_equal(total, PAGE_LEASES);
    assert_true(pages >= 2);
    for (i = 0; i < PAGE_LEASES; i++) {
        bool found = false;
        for (j = 0; j < PAGE_LEASES && !found; j++)
            found = memcmp(ids[i], seen[j], EDGE_ID_SIZE) == 0;
        assert_true(found);
    }
    conn_release(&admin);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_show_renew_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_permissions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_doctor_purge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_paginates_within_frame, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
