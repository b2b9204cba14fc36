/* `edgectl help [VERB]`. */
#include <stdio.h>
#include <string.h>

#include "edge/version.h"
#include "edgectl.h"
#include "output.h"

static const char global_options[] =
    "Global options (before or after the verb):\n"
    "  --json                  machine output: one JSON document on stdout (docs/edgectl.md)\n"
    "  --quiet, -q             print only what scripts need; errors still go to stderr\n"
    "  --timeout MS            the most a call to the service may take (default 10000)\n"
    "  --version               versions of edgectl, the library and the service\n"
    "  -h, --help              this help; `edgectl help VERB` for one verb\n"
    "\n"
    "Development options:\n"
    "  --pipe NAME             talk to \\\\.\\pipe\\NAME instead of \\\\.\\pipe\\EdgeBroker\n"
    "  --insecure-test-server  with --pipe only: skip the check that the pipe is served by the\n"
    "                          real EdgeBroker service (never use it outside tests)\n"
    "  --service NAME          service name used to explain a missing pipe (default EdgeBroker)\n";

static void print_exit_codes(void)
{
    int i;
    out_printf("Exit codes:\n");
    for (i = 0; i < CTL_EXIT_COUNT_; i++)
        out_printf("  %2d  %-16s %s\n", i, ctl_exit_name(i), ctl_exit_meaning(i));
}

static void print_general_help(void)
{
    size_t i, width = 0;

    out_printf("edgectl %s: control the EdgeBroker service (Edge Traversal Broker)\n\n",
               EDGE_VERSION_STRING);
    out_printf("Usage: edgectl [OPTIONS] VERB [ARGUMENTS]\n\nVerbs:\n");
    for (i = 0; i < ctl_verb_count; i++)
        if (strlen(ctl_verbs[i].name) > width)
            width = strlen(ctl_verbs[i].name);
    for (i = 0; i < ctl_verb_count; i++)
        out_printf("  %-*s  %s\n", (int)width, ctl_verbs[i].name, ctl_verbs[i].summary);
    out_printf("\n%s\n", global_options);
    print_exit_codes();
}

void ctl_print_verb_help(const struct ctl_verb *v)
{
    out_printf("Usage: edgectl %s\n\n%s.\n", v->usage, v->summary);
    if (v->help)
        out_printf("\n%s", v->help);
    out_printf("\nGlobal options (--json, --quiet, --timeout, ...) apply too: see `edgectl "
               "help`.\n");
}

static int help_json(struct ctl *c, const struct ctl_verb *only)
{
    json_writer *w = ctl_json_begin(c, true);
    size_t i;
    int k;

    json_key(w, "verbs");
    json_array_begin(w);
    for (i = 0; i < ctl_verb_count; i++) {
        const struct ctl_verb *v = &ctl_verbs[i];
        if (only && only != v)
            continue;
        json_object_begin(w);
        json_kv_string(w, "name", v->name);
        json_kv_string(w, "usage", v->usage);
        json_kv_string(w, "summary", v->summary);
        json_kv_bool(w, "available", true); /* schema 1 field; every verb is offered now */
        json_object_end(w);
    }
    json_array_end(w);
    json_key(w, "exit_codes");
    json_array_begin(w);
    for (k = 0; k < CTL_EXIT_COUNT_; k++) {
        json_object_begin(w);
        json_kv_int(w, "code", k);
        json_kv_string(w, "name", ctl_exit_name(k));
        json_kv_string(w, "meaning", ctl_exit_meaning(k));
        json_object_end(w);
    }
    json_array_end(w);
    return ctl_json_end(c, CTL_EXIT_OK);
}

int cmd_help(struct ctl *c, int argc, char **argv)
{
    const struct ctl_verb *v = NULL;
    const char *pos[1];
    size_t npos = 0;
    int rc;

    if (argc > 0) {
        rc = ctl_parse_args(c, argc, argv, NULL, 0, pos, 0, 1, &npos);
        if (rc != CTL_EXIT_OK)
            return rc;
    }
    if (npos == 1) {
        v = ctl_find_verb(pos[0]);
        if (!v)
            return ctl_usage(c, "unknown verb '%s'", pos[0]);
    }
    if (c->json)
        return help_json(c, v);
    if (v)
        ctl_print_verb_help(v);
    else
        print_general_help();
    return CTL_EXIT_OK;
}
