/*
 * edgectl golden-output tests: edgectl.exe runs as a child process against the fake service of
 * fake_server.c (or against nothing), and its exit code, stdout and stderr must match
 * golden/<name>.txt after normalisation (harness.c).  The golden files are the reviewed contract
 * of docs/edgectl.md: human tables, the --json schema, exit codes and the "what happened / what
 * to do next" messages.
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

/* ---- help and usage (no service involved) ---- */

static void test_help_lists_verbs_options_and_exit_codes(void **state)
{
    (void)state;
    assert_int_equal(ctl_golden("help", "help", NULL, NULL), 0);
    assert_int_equal(ctl_golden("help_verb", "request --help", NULL, NULL), 0);
    assert_int_equal(ctl_golden("help_json", "--json help list", NULL, NULL), 0);
    /* No verb: the help, but a usage exit code for scripts that forgot one. */
    assert_int_equal(ctl_golden("no_verb", "", NULL, NULL), 1);
}

static void test_usage_errors(void **state)
{
    (void)state;
    assert_int_equal(ctl_golden("usage_unknown_verb", "frobnicate", NULL, NULL), 1);
    assert_int_equal(ctl_golden("usage_bad_port", "request tcp 70000", NULL, NULL), 1);
    assert_int_equal(ctl_golden("usage_missing_arg", "--json show", NULL, NULL), 1);
    /* The default pipe is always verified: trusting any server needs an explicit test pipe. */
    assert_int_equal(
        ctl_golden("usage_insecure_default_pipe", "--insecure-test-server status", NULL, NULL), 1);
}

/* ---- verbs against the fake service ---- */

static void test_list_table_and_json(void **state)
{
    struct fake_server *fs = *state;
    ctl_golden_served(fs, "list", "list", 0);
    ctl_golden_served(fs, "list_all_json", "--json list --all", 0);
    ctl_golden_served(fs, "list_quiet", "list -q", 0);
    assert_int_equal(fs->requests[EDGE_MSG_LIST], 3);
}

static void test_show(void **state)
{
    struct fake_server *fs = *state;
    ctl_golden_served(fs, "show", "show " FAKE_L1, 0);
    ctl_golden_served(fs, "show_json", "show " FAKE_L2 " --json", 0);
    ctl_golden_served(fs, "show_not_found", "show 99999999999999999999999999999999", 7);
}

static void test_status(void **state)
{
    struct fake_server *fs = *state;
    ctl_golden_served(fs, "status", "status", 0);
    ctl_golden_served(fs, "status_json", "--json status", 0);
}

static void test_doctor_exit_code_follows_rules_effective(void **state)
{
    struct fake_server *fs = *state;
    ctl_golden_served(fs, "doctor_ineffective", "doctor", 12);
    fs->doctor_effective = true;
    ctl_golden_served(fs, "doctor_json", "--json doctor", 0);
}

static void test_request_granted(void **state)
{
    struct fake_server *fs = *state;
    ctl_golden_served(fs, "request", "request tcp 50123 --seconds 3600", 0);
    /* The JSON shows keep_after_exit true: edgectl always asks for it (the fake echoes flags). */
    ctl_golden_served(fs, "request_json", "--json request udp 50000-50010", 0);
    ctl_golden_served(fs, "request_quiet", "--quiet request tcp 50124", 0);
}

static void test_request_ineffective_is_not_success(void **state)
{
    struct fake_server *fs = *state;
    fs->grant_ineffective = true;
    ctl_golden_served(fs, "request_ineffective", "request tcp 50123", 12);
}

static void test_request_pending_names_the_approve_command(void **state)
{
    struct fake_server *fs = *state;
    fs->status[EDGE_MSG_REQUEST] = EDGE_PENDING_CONSENT;
    fs->retry_after = 1;
    ctl_golden_served(fs, "request_pending", "--timeout 1500 request tcp 50123", 6);
    ctl_golden_served(fs, "request_pending_json", "--json --timeout 1500 request tcp 50123", 6);
}

static void test_request_for_another_app_needs_elevation(void **state)
{
    struct fake_server *fs = *state;
    fs->status[EDGE_MSG_REQUEST] = EDGE_E_ACCESS_DENIED;
    fs->detail = "requesting for another executable needs an elevated administrator";
    ctl_golden_served(fs, "access_denied", "request tcp 50123 --app \"C:\\Tools\\other app.exe\"",
                      4);
}

static void test_request_denied_by_policy(void **state)
{
    struct fake_server *fs = *state;
    fs->status[EDGE_MSG_REQUEST] = EDGE_E_DENIED;
    fs->detail = "mode is allow-list only and C:\\x.exe is not listed";
    ctl_golden_served(fs, "policy_denied", "request udp 3544", 5);
}

static void test_renew_release_revoke(void **state)
{
    struct fake_server *fs = *state;
    ctl_golden_served(fs, "renew", "renew " FAKE_L1 " --seconds 600", 0);
    ctl_golden_served(fs, "release", "release " FAKE_L1, 0);
    ctl_golden_served(fs, "revoke", "revoke " FAKE_L3 " --reason \"port needed for maintenance\"",
                      0);
    assert_int_equal(fs->requests[EDGE_MSG_RELEASE], 1);
    assert_int_equal(fs->requests[EDGE_MSG_REVOKE], 1);
}

static void test_revoke_access_denied_json(void **state)
{
    struct fake_server *fs = *state;
    fs->status[EDGE_MSG_REVOKE] = EDGE_E_ACCESS_DENIED;
    fs->detail = "revoke needs an elevated administrator";
    fs->win32_error = 5;
    ctl_golden_served(fs, "revoke_access_denied_json", "--json revoke " FAKE_L3, 4);
}

static void test_purge_needs_yes(void **state)
{
    struct fake_server *fs = *state;
    ctl_golden_served(fs, "purge_without_yes", "purge", 1);
    assert_int_equal(fs->requests[EDGE_MSG_PURGE], 0); /* refused before anything was sent */
    ctl_golden_served(fs, "purge", "purge --yes", 0);
    ctl_golden_served(fs, "purge_json", "--json purge", 0); /* --json confirms, as --quiet does */
    assert_int_equal(fs->requests[EDGE_MSG_PURGE], 2);
}

static void test_transient_failure_says_when_to_retry(void **state)
{
    struct fake_server *fs = *state;
    fs->status[EDGE_MSG_STATUS] = EDGE_E_BUSY;
    fs->detail = "rate limit reached";
    fs->retry_after = 5;
    ctl_golden_served(fs, "busy", "status", 8);
}

static void test_version_shows_all_three(void **state)
{
    struct fake_server *fs = *state;
    ctl_golden_served(fs, "version", "--version", 0);
}

/* ---- no service, fake server ---- */

static void test_fake_server_refused(void **state)
{
    struct fake_server *fs = *state;
    char args[256];
    /* Without --insecure-test-server the library verifies the server and refuses this one. */
    snprintf(args, sizeof(args), "--pipe %s status", fs->name);
    assert_int_equal(ctl_golden("fake_server", args, fs->name, NULL), 9);
    assert_int_equal(fs->requests[EDGE_MSG_HELLO], 0); /* nothing was sent */
}

static void test_no_service_not_installed(void **state)
{
    char pipe[64], svc[64], args[256];
    (void)state;
    snprintf(pipe, sizeof(pipe), "edgectl-test-%lu-absent", (unsigned long)GetCurrentProcessId());
    snprintf(svc, sizeof(svc), "edgectl-test-svc-%lu", (unsigned long)GetCurrentProcessId());
    snprintf(args, sizeof(args), "--pipe %s --service %s list", pipe, svc);
    assert_int_equal(ctl_golden("not_installed", args, pipe, svc), 2);
    snprintf(args, sizeof(args), "--json --pipe %s --service %s status", pipe, svc);
    assert_int_equal(ctl_golden("not_installed_json", args, pipe, svc), 2);
    /* --version still works, and says why the service's version is missing. */
    snprintf(args, sizeof(args), "--pipe %s --service %s --version", pipe, svc);
    assert_int_equal(ctl_golden("version_no_service", args, pipe, svc), 0);
}

#define SERVED(t) cmocka_unit_test_setup_teardown(t, ctl_serve_setup, ctl_serve_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_lists_verbs_options_and_exit_codes),
        cmocka_unit_test(test_usage_errors),
        SERVED(test_list_table_and_json),
        SERVED(test_show),
        SERVED(test_status),
        SERVED(test_doctor_exit_code_follows_rules_effective),
        SERVED(test_request_granted),
        SERVED(test_request_ineffective_is_not_success),
        SERVED(test_request_pending_names_the_approve_command),
        SERVED(test_request_for_another_app_needs_elevation),
        SERVED(test_request_denied_by_policy),
        SERVED(test_renew_release_revoke),
        SERVED(test_revoke_access_denied_json),
        SERVED(test_purge_needs_yes),
        SERVED(test_transient_failure_says_when_to_retry),
        SERVED(test_version_shows_all_three),
        SERVED(test_fake_server_refused),
        cmocka_unit_test(test_no_service_not_installed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
