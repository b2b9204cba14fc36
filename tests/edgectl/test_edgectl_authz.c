/*
 * edgectl's consent and policy verbs against the fake service (golden files, like
 * test_edgectl_output.c): pending (two pages), approve, deny, policy and explain, in human and
 * JSON form, with their exit codes and the access-denied and not-found messages.  The replies
 * are the ones docs/protocol.md §9.13-9.17 defines.
 */
#include <windows.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fake_server.h"
#include "harness.h"

/* Runs without a golden file; the caller inspects r and frees it. */
static void run(struct fake_server *fs, const char *verb_args, struct ctl_run *r)
{
    char args[2048];
    snprintf(args, sizeof(args), "--pipe %s --insecure-test-server %s", fs->name, verb_args);
    ctl_run(args, fs->name, NULL, r);
}

static void test_pending_follows_pages(void **state)
{
    struct fake_server *fs = *state;
    ctl_golden_served(fs, "pending", "pending", 0);
    assert_int_equal(fs->requests[EDGE_MSG_PENDING], 2); /* both pages */
    ctl_golden_served(fs, "pending_json", "--json pending", 0);
    ctl_golden_served(fs, "pending_quiet", "pending --quiet", 0);
    assert_int_equal(fs->requests[EDGE_MSG_PENDING], 6);
}

static void test_pending_empty(void **state)
{
    struct fake_server *fs = *state;
    fs->pending_empty = true;
    ctl_golden_served(fs, "pending_empty", "pending", 0);
}

static void test_pending_needs_elevation(void **state)
{
    struct fake_server *fs = *state;
    fs->status[EDGE_MSG_PENDING] = EDGE_E_ACCESS_DENIED;
    fs->detail = "pending needs an elevated administrator";
    ctl_golden_served(fs, "pending_access_denied", "pending", 4);
    ctl_golden_served(fs, "pending_access_denied_json", "--json pending", 4);
}

static void test_approve(void **state)
{
    struct fake_server *fs = *state;
    ctl_golden_served(fs, "approve", "approve " FAKE_PENDING, 0);
    ctl_golden_served(fs, "approve_json", "--json approve " FAKE_PENDING, 0);
    ctl_golden_served(fs, "approve_quiet", "-q approve " FAKE_PENDING, 0);
    assert_int_equal(fs->requests[EDGE_MSG_APPROVE], 3);
    /* Decided or lapsed: not found, and the next step points at `pending`, not `list`. */
    ctl_golden_served(fs, "approve_not_found", "approve " FAKE_PENDING2, 7);
    ctl_golden_served(fs, "approve_bad_id", "approve 5555", 1);
    assert_int_equal(fs->requests[EDGE_MSG_APPROVE], 4); /* the bad id was never sent */
}

static void test_approve_needs_elevation(void **state)
{
    struct fake_server *fs = *state;
    fs->status[EDGE_MSG_APPROVE] = EDGE_E_ACCESS_DENIED;
    fs->detail = "approving needs an elevated administrator";
    ctl_golden_served(fs, "approve_access_denied", "approve " FAKE_PENDING, 4);
}

static void test_deny_passes_the_reason(void **state)
{
    struct fake_server *fs = *state;
    ctl_golden_served(fs, "deny", "deny " FAKE_PENDING " --reason \"not on this network\"", 0);
    assert_string_equal(fs->seen_reason, "not on this network");
    ctl_golden_served(fs, "deny_json", "--json deny " FAKE_PENDING, 0);
    assert_string_equal(fs->seen_reason, "");
    ctl_golden_served(fs, "deny_not_found", "--json deny " FAKE_PENDING2, 7);
    fs->status[EDGE_MSG_DENY] = EDGE_E_ACCESS_DENIED;
    fs->detail = "denying needs an elevated administrator";
    ctl_golden_served(fs, "deny_access_denied", "deny " FAKE_PENDING, 4);
}

static void test_policy(void **state)
{
    struct fake_server *fs = *state;
    ctl_golden_served(fs, "policy", "policy", 0);
    ctl_golden_served(fs, "policy_json", "--json policy", 0);
    assert_int_equal(fs->requests[EDGE_MSG_POLICY], 2);
}

static void test_explain(void **state)
{
    struct fake_server *fs = *state;
    ctl_golden_served(fs, "explain", "explain tcp 50123", 0);
    assert_false(fs->seen_target_app);
    fs->explain_decision = EDGE_E_DENIED;
    /* The decision is data: explain itself succeeded, so it exits 0 either way. */
    ctl_golden_served(fs, "explain_denied_json",
                      "--json explain udp 50000-50010 --app \"C:\\Games\\game.exe\" --seconds 600",
                      0);
    assert_true(fs->seen_target_app);
    assert_int_equal(fs->requests[EDGE_MSG_REQUEST], 0); /* nothing was requested */
    ctl_golden_served(fs, "explain_usage", "explain tcp 50123 --app C:\\x.exe --self", 1);
}

static void test_explain_for_another_app_needs_elevation(void **state)
{
    struct fake_server *fs = *state;
    fs->status[EDGE_MSG_EXPLAIN] = EDGE_E_ACCESS_DENIED;
    fs->detail = "explaining for another executable needs an elevated administrator";
    ctl_golden_served(fs, "explain_access_denied", "explain tcp 50123 --app C:\\Tools\\other.exe",
                      4);
}

/* request and explain send the blob of a real signed-request file (edgectl keygen + sign). */
static void test_signed_file_is_sent(void **state)
{
    struct fake_server *fs = *state;
    char dir[MAX_PATH * 2], file[MAX_PATH * 2], args[2048], name[MAX_PATH * 2];
    struct ctl_run r;
    WIN32_FIND_DATAA fd;
    HANDLE find;
    wchar_t tmp[MAX_PATH];

    assert_true(GetTempPathW(MAX_PATH, tmp) > 0);
    snprintf(dir, sizeof(dir), "%lsedgectl-authz-%lu", tmp, (unsigned long)GetCurrentProcessId());
    CreateDirectoryA(dir, NULL);
    snprintf(name, sizeof(name), "%s\\k", dir);
    snprintf(file, sizeof(file), "%s\\req.sig", dir);
    snprintf(args, sizeof(args), "%s.key", name);
    DeleteFileA(args);
    snprintf(args, sizeof(args), "%s.pub", name);
    DeleteFileA(args);
    snprintf(args, sizeof(args), "keygen --out \"%s\"", name);
    ctl_run(args, NULL, NULL, &r);
    assert_int_equal(r.exit_code, 0);
    ctl_run_free(&r);
    snprintf(args, sizeof(args),
             "sign --key \"%s.key\" --image-hash "
             "abababababababababababababababababababababababababababababababab --protocol tcp "
             "--ports 50123 --valid-for 1h --out \"%s\"",
             name, file);
    ctl_run(args, NULL, NULL, &r);
    assert_int_equal(r.exit_code, 0);
    ctl_run_free(&r);

    snprintf(args, sizeof(args), "explain tcp 50123 --signed \"%s\"", file);
    run(fs, args, &r);
    assert_int_equal(r.exit_code, 0);
    assert_non_null(strstr(r.out, "signed request present"));
    assert_non_null(strstr(r.out, "--signed FILE"));
    ctl_run_free(&r);
    /* The blob: a 64-byte signature, 16-byte key id, 32-byte hash and the fixed fields. */
    assert_true(fs->seen_signed_len > 120 && fs->seen_signed_len < 400);

    fs->seen_signed_len = 0;
    snprintf(args, sizeof(args), "request tcp 50123 --signed \"%s\"", file);
    run(fs, args, &r);
    assert_int_equal(r.exit_code, 0);
    ctl_run_free(&r);
    assert_true(fs->seen_signed_len > 120 && fs->seen_signed_len < 400);

    /* A file that is not a signed request is refused before anything is sent. */
    fs->seen_signed_len = 0;
    snprintf(args, sizeof(args), "request tcp 50123 --signed \"%s.pub\"", name);
    run(fs, args, &r);
    assert_int_equal(r.exit_code, 5);
    assert_non_null(strstr(r.err, "is not a signed request file"));
    ctl_run_free(&r);
    assert_int_equal(fs->requests[EDGE_MSG_REQUEST], 1);

    snprintf(args, sizeof(args), "%s\\*", dir);
    find = FindFirstFileA(args, &fd);
    if (find != INVALID_HANDLE_VALUE) {
        do {
            snprintf(args, sizeof(args), "%s\\%s", dir, fd.cFileName);
            DeleteFileA(args);
        } while (FindNextFileA(find, &fd));
        FindClose(find);
    }
    RemoveDirectoryA(dir);
}

#define SERVED(t) cmocka_unit_test_setup_teardown(t, ctl_serve_setup, ctl_serve_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        SERVED(test_pending_follows_pages),
        SERVED(test_pending_empty),
        SERVED(test_pending_needs_elevation),
        SERVED(test_approve),
        SERVED(test_approve_needs_elevation),
        SERVED(test_deny_passes_the_reason),
        SERVED(test_policy),
        SERVED(test_explain),
        SERVED(test_explain_for_another_app_needs_elevation),
        SERVED(test_signed_file_is_sent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
