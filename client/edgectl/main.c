/*
 * edgectl: the command-line tool of edgebroker (docs/edgectl.md).  wmain converts the command
 * line to UTF-8 once, reads the global options, and dispatches through the verb table.
 */
#include <windows.h>

#include <stdlib.h>
#include <string.h>

#include "edge/version.h"
#include "edgectl.h"
#include "output.h"

#define CTL_JSON_LIMIT (64u * 1024u * 1024u) /* a list of every lease fits comfortably */

static const char help_request[] =
    "Asks the service for a lease on the given ports.  Without --app the lease is for\n"
    "edgectl.exe itself, which is mostly useful to check that requests work; --app PATH asks\n"
    "for another executable and needs an elevated administrator (the service enforces it).\n"
    "edgectl exits right after the answer, so it always asks for a lease that survives its\n"
    "exit (KEEP_AFTER_EXIT): end it with `edgectl release ID`, or let it expire.\n"
    "\n"
    "  --seconds N     lease length in seconds (default: the policy's; policy may shorten it)\n"
    "  --app PATH      the executable the rule is for (elevated administrators only)\n"
    "  --wait SECONDS  how long to wait for an administrator's consent (default: --timeout)\n"
    "  --signed FILE   send a signed request (from `edgectl sign`) with it\n"
    "\n"
    "With --quiet only the lease id is printed.  Exit code 6 means the request waits for\n"
    "consent: an administrator approves it with `edgectl approve ID`; run the same command\n"
    "again to pick up the decision.  Exit code 12 means the lease was granted but cannot work\n"
    "right now (see `edgectl doctor`).\n";

static const char help_explain[] =
    "Sends the request `edgectl request` would send with the same arguments, and shows the\n"
    "decision the service would make and the trace of the policy elements that made it.\n"
    "Nothing is granted or created, and no pending request is made.\n"
    "\n"
    "  --app PATH      decide for another executable (elevated administrators only)\n"
    "  --self          decide for edgectl.exe itself (the default)\n"
    "  --seconds N     the lease length to ask for\n"
    "  --signed FILE   include a signed request (from `edgectl sign`)\n"
    "\n"
    "Exits 0 whenever the service explained the request, whatever the decision; with --json\n"
    "the decision's request_exit_code is the exit code `edgectl request` would get.\n";

static const char help_sign[] =
    "Makes a signed request: an offline pre-approval of one application for one protocol and\n"
    "port range, for a limited time (docs/signing.md).  The service grants it while the\n"
    "policy value TrustedSignerKeys lists the key.\n"
    "\n"
    "  --key NAME.key        the private key from `edgectl keygen`\n"
    "  --image PATH          bind the SHA-256 of this executable\n"
    "  --image-hash HEX      bind this SHA-256 (64 hex digits) instead\n"
    "  --path PATH           bind this full path (also alone, without a hash)\n"
    "  --protocol tcp|udp    the protocol\n"
    "  --ports P|LO-HI       the ports the application may ask for\n"
    "  --edge defer|allow    the edge option; must equal the policy's EdgeTraversal (default\n"
    "                        defer)\n"
    "  --not-before T        start of validity: now (default), Unix seconds or\n"
    "                        YYYY-MM-DDTHH:MM[:SS]Z (UTC)\n"
    "  --not-after T         end of validity, same forms\n"
    "  --valid-for D         or the length of validity: N seconds, Nm, Nh or Nd\n"
    "  --comment TEXT        a note for humans (signed too), at most 256 bytes\n"
    "  --out FILE            write the signed request to FILE (replaced if it exists);\n"
    "                        without it the base64 text goes to stdout\n"
    "\n"
    "The service allows 300 seconds of clock difference at both ends of the window.\n";

static const char help_verify[] =
    "Checks a signed request file offline: that it is well formed, made by the given key (the\n"
    "key id matches and the signature verifies) and valid now (300 seconds of clock skew\n"
    "allowed, as the service does).  Prints every signed field.  With --image PATH it also\n"
    "checks that the request binds that executable (its SHA-256 and, when bound, its path).\n"
    "\n"
    "Exit codes: 0 valid; 5 not valid (EDGE_E_BAD_SIGNATURE: malformed, another key or a\n"
    "changed file; EDGE_E_EXPIRED: outside its window; EDGE_E_IDENTITY_MISMATCH: does not\n"
    "bind the --image); 1 a file could not be read or the command line is wrong.\n";

const struct ctl_verb ctl_verbs[] = {
    {"status", cmd_status, "status",
     "Show whether the service runs, its version, leases and health checks",
     "Connects to the service and shows its version, start time, the number of active leases\n"
     "and pending requests, and its own health checks.  Anyone may run it.\n"},
    {"doctor", cmd_doctor, "doctor", "Check what could stop granted rules from working",
     "Asks the service for the effective firewall state: the firewall per profile, the current\n"
     "profiles, whether Group Policy ignores local rules, Teredo, and whether granted rules can\n"
     "work at all.  Exits with 12 (ineffective) when granted rules cannot work.\n"},
    {"request", cmd_request,
     "request tcp|udp PORT[-PORT] [--seconds N] [--app PATH] [--wait S] [--signed FILE]",
     "Request a lease: a firewall rule with edge traversal", help_request},
    {"renew", cmd_renew, "renew ID [--seconds N]", "Extend a lease",
     "Extends the lease by N seconds from now (default: its original length; policy may\n"
     "shorten it).  Your own leases, or any lease as an elevated administrator.\n"},
    {"release", cmd_release, "release ID", "End a lease and remove its firewall rule",
     "Ends the lease now; the service removes its firewall rule.  Your own leases, or any\n"
     "lease as an elevated administrator.\n"},
    {"show", cmd_show, "show ID", "Show one lease",
     "Shows every field of one lease.  Your own leases, or any lease as an elevated\n"
     "administrator.\n"},
    {"list", cmd_list, "list [--all]", "List your leases (--all: everyone's)",
     "Lists your leases as a table: id, protocol, ports, expiry (local time and time left),\n"
     "state, owner and application.  --all lists every user's leases and needs an elevated\n"
     "administrator.\n"},
    {"revoke", cmd_revoke, "revoke ID [--reason TEXT]", "End anyone's lease (administrators)",
     "Ends any user's lease and removes its rule; the reason is audited and passed on to the\n"
     "lease's owner.  Needs an elevated administrator.\n"},
    {"purge", cmd_purge, "purge [--yes]",
     "Remove every rule the service owns and end every lease (administrators)",
     "Removes every firewall rule in the EdgeBroker group and ends every lease of every user.\n"
     "Needs an elevated administrator.  Asks for --yes unless --quiet or --json is given.\n"},
    {"pending", cmd_pending, "pending", "List requests waiting for consent (administrators)",
     "Lists the requests that wait for an approver's decision: pending id, protocol, ports, the\n"
     "lease length asked for, when it was asked, when it lapses, the user and the application.\n"
     "Needs an elevated administrator.  With --quiet, one pending id per line.\n"},
    {"approve", cmd_approve, "approve PENDING_ID", "Approve a pending request (administrators)",
     "Grants the pending request: the service creates the lease and firewall rule, and the\n"
     "requester receives the lease at its next poll.  The decision is remembered for the\n"
     "application and scope (policy ConsentRememberSeconds).  Needs an elevated administrator.\n"
     "With --quiet only the new lease id is printed.\n"},
    {"deny", cmd_deny, "deny PENDING_ID [--reason TEXT]",
     "Refuse a pending request (administrators)",
     "Refuses the pending request; the requester's next poll gets \"refused by an approver\"\n"
     "(exit code 5).  The reason is audited.  The refusal is remembered like an approval.\n"
     "Needs an elevated administrator.\n"},
    {"policy", cmd_policy, "policy", "Show the effective policy and where each value comes from",
     "Shows every policy value the service decides with, and its source: Group Policy\n"
     "(HKLM\\SOFTWARE\\Policies\\EdgeBroker, which wins), local (HKLM\\SOFTWARE\\EdgeBroker) or\n"
     "default.  A value that is malformed where it is set shows its default.  Anyone may run it;\n"
     "docs/policy.md explains every value.\n"},
    {"explain", cmd_explain,
     "explain tcp|udp PORT[-PORT] [--app PATH | --self] [--seconds N] [--signed FILE]",
     "Show how policy would decide a request, creating nothing", help_explain},
    {"keygen", cmd_keygen, "keygen --out NAME", "Create a key pair for signed requests",
     "Creates an ECDSA P-256 key pair and prints its key id.  NAME.key holds the private key\n"
     "and is created readable only by you (an owner-only access list, set when the file is\n"
     "created); NAME.pub holds the public key, 130 hex digits, the format of the policy value\n"
     "TrustedSignerKeys.  Existing files are never replaced.  With --quiet only the key id is\n"
     "printed.\n"},
    {"sign", cmd_sign,
     "sign --key NAME.key [--image PATH | --image-hash HEX] [--path PATH] --protocol tcp|udp "
     "--ports P[-P] [--not-before T] (--not-after T | --valid-for D) [--edge defer|allow] "
     "[--comment TEXT] [--out FILE]",
     "Sign a request for an application", help_sign},
    {"verify", cmd_verify, "verify (--pub NAME.pub | --key-text HEX) FILE [--image PATH]",
     "Check a signed request", help_verify},
    {"help", cmd_help, "help [VERB]", "Show help for edgectl or for one verb",
     "Without a verb: every verb, the global options and the exit codes.\n"},
};
const size_t ctl_verb_count = sizeof(ctl_verbs) / sizeof(ctl_verbs[0]);

const struct ctl_verb *ctl_find_verb(const char *name)
{
    size_t i;
    for (i = 0; i < ctl_verb_count; i++)
        if (strcmp(ctl_verbs[i].name, name) == 0)
            return &ctl_verbs[i];
    return NULL;
}

static bool set_pipe(struct ctl *c, const char *name)
{
    static const char prefix[] = "\\\\.\\pipe\\";
    size_t n = strlen(name), p = sizeof(prefix) - 1;

    if (n >= p && _strnicmp(name, prefix, p) == 0) {
        if (n == p || n >= sizeof(c->pipe_buf))
            return false;
        memcpy(c->pipe_buf, name, n + 1);
    } else {
        if (n == 0 || n + p >= sizeof(c->pipe_buf) || strchr(name, '\\'))
            return false;
        memcpy(c->pipe_buf, prefix, p);
        memcpy(c->pipe_buf + p, name, n + 1);
    }
    c->pipe_name = c->pipe_buf;
    return true;
}

/*
 * One global option at argv[*i]: returns 1 when applied (*i advanced past its value), 0 when
 * argv[*i] is not a global option, or -1 after reporting a usage error (exit code in *rc).
 */
static int global_option(struct ctl *c, int argc, char **argv, int *i, int *rc)
{
    const char *a = argv[*i], *v = NULL;
    bool missing = false;

    if (strcmp(a, "--json") == 0) {
        c->json = true;
    } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
        c->quiet = true;
    } else if (strcmp(a, "--insecure-test-server") == 0) {
        c->insecure = true;
    } else if (ctl_opt_value(argc, argv, i, "--timeout", &v, &missing)) {
        if (missing || !ctl_parse_u32(v, 1, CTL_TIMEOUT_MAX_MS, &c->timeout_ms)) {
            *rc = ctl_usage(c, "--timeout needs milliseconds between 1 and %lu",
                            (unsigned long)CTL_TIMEOUT_MAX_MS);
            return -1;
        }
    } else if (ctl_opt_value(argc, argv, i, "--pipe", &v, &missing)) {
        if (missing || !set_pipe(c, v)) {
            *rc = ctl_usage(c, "--pipe needs a pipe name such as EdgeBroker-test or "
                               "\\\\.\\pipe\\EdgeBroker-test");
            return -1;
        }
    } else if (ctl_opt_value(argc, argv, i, "--service", &v, &missing)) {
        if (missing || !*v || strlen(v) > 256) {
            *rc = ctl_usage(c, "--service needs a service name");
            return -1;
        }
        c->service_name = v;
    } else {
        return 0;
    }
    return 1;
}

static char *to_utf8(const wchar_t *w)
{
    int n = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, -1, NULL, 0, NULL, NULL);
    char *s = n > 0 ? malloc((size_t)n) : NULL;
    if (s && WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, -1, s, n, NULL, NULL) != n) {
        free(s);
        s = NULL;
    }
    return s;
}

static int run(struct ctl *c, int argc, char **argv)
{
    const struct ctl_verb *v;
    int i = 1, rc = CTL_EXIT_OK, j;
    bool version = false;

    /* Global options before the verb; the verbs accept them after it too (ctl_parse_args). */
    while (i < argc && argv[i][0] == '-') {
        if (strcmp(argv[i], "--version") == 0) {
            version = true;
            i++;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            c->verb = "help";
            return cmd_help(c, 0, NULL);
        } else {
            int g = global_option(c, argc, argv, &i, &rc);
            if (g == 0)
                return ctl_usage(c, "unknown option %s", argv[i]);
            if (g < 0)
                return rc;
            i++;
        }
    }
    if (version) {
        c->verb = "version";
        return ctl_version(c);
    }
    if (i >= argc) {
        c->verb = "help";
        cmd_help(c, 0, NULL);
        return CTL_EXIT_USAGE;
    }
    c->verb = argv[i];
    v = ctl_find_verb(argv[i]);
    if (!v) {
        c->verb = NULL;
        return ctl_usage(c, "unknown verb '%s'", argv[i]);
    }
    for (j = i + 1; j < argc && strcmp(argv[j], "--") != 0; j++)
        if (strcmp(argv[j], "--help") == 0 || strcmp(argv[j], "-h") == 0) {
            ctl_print_verb_help(v);
            return CTL_EXIT_OK;
        }
    return v->run(c, argc - i - 1, argv + i + 1);
}

int ctl_verb_global(struct ctl *c, int argc, char **argv, int *i, int *rc)
{
    return global_option(c, argc, argv, i, rc);
}

int wmain(int argc, wchar_t **wargv); /* mingw declares no prototype for it */

int wmain(int argc, wchar_t **wargv)
{
    struct ctl c;
    char **argv = NULL;
    int i, rc;

    memset(&c, 0, sizeof(c));
    c.timeout_ms = EDGE_DEFAULT_TIMEOUT_MS;
    c.service_name = CTL_SERVICE_NAME;
    json_init_growable(&c.jw, CTL_JSON_LIMIT);
    argv = calloc((size_t)argc + 1, sizeof(char *));
    if (!argv) {
        out_eprintf("edgectl: out of memory\n");
        return CTL_EXIT_INTERNAL;
    }
    for (i = 0; i < argc; i++) {
        argv[i] = to_utf8(wargv[i]);
        if (!argv[i]) {
            rc = ctl_usage(&c, "argument %d is not valid Unicode text", i);
            goto out;
        }
    }
    rc = run(&c, argc, argv);
out:
    edge_session_close(c.session);
    json_dispose(&c.jw);
    for (i = 0; i < argc; i++)
        free(argv[i]);
    free(argv);
    return rc;
}
