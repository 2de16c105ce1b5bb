/* tools/cli/cmd_selfcheck.c -- `tlsdrill selfcheck [--vectors PATH] [--verbose]`:
 * replays the RFC 8448 traces through the engine's key schedule and record
 * layer and prints one row per trace. Exit 0 if every check passes, 1 if
 * any fails, 2 for usage errors or an unreadable or malformed vectors file. */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "opt.h"
#include "tlsdrill/selfcheck.h"

typedef struct selfcheck_opts {
    const char *vectors;
    bool verbose;
} selfcheck_opts;

static const td_cli_opt selfcheck_opts_table[] = {
    {.name = "--vectors", .kind = TD_CLI_OPT_STR, .offset = offsetof(selfcheck_opts, vectors), .arg = "FILE",
     .help = "the vectors file (default: $TD_VECTORS_DIR/rfc8448.tsv, else tests/vectors/rfc8448.tsv\n"
             "under the current directory, else the one the binary was built with)"},
    {.name = "--verbose", .alias = "-v", .kind = TD_CLI_OPT_FLAG, .offset = offsetof(selfcheck_opts, verbose),
     .help = "print every check"},
};

static const td_cli_cmd selfcheck_cmd = {
    .name = "selfcheck",
    .about = "Replays the RFC 8448 example traces: every secret, key, IV, Finished, binder and\n"
             "record is recomputed and compared. Exit 0 if every check passes, 1 if one fails.",
    .opts = selfcheck_opts_table,
    .num_opts = sizeof(selfcheck_opts_table) / sizeof(selfcheck_opts_table[0]),
};

/* Like `run`, relative to the current directory first; the path compiled in last. */
static const char *default_vectors(char *buf, size_t len)
{
    const char *env = getenv("TD_VECTORS_DIR");
    if (env != NULL && *env) {
        snprintf(buf, len, "%s/rfc8448.tsv", env);
        return buf;
    }
    if (access("tests/vectors/rfc8448.tsv", R_OK) == 0)
        return "tests/vectors/rfc8448.tsv";
    return TD_VECTORS_DIR "/rfc8448.tsv";
}

static void print_items(const td_selfcheck_report *rep, bool all)
{
    for (size_t i = 0; i < rep->num_items; i++) {
        const td_selfcheck_item *it = &rep->items[i];
        if (!all && it->ok)
            continue;
        if (it->step >= 0)
            printf("  %s §%d step %-3d %s: %s\n", it->ok ? "ok  " : "FAIL", it->section, it->step,
                   it->name, it->detail);
        else
            printf("  %s §%d          %s: %s\n", it->ok ? "ok  " : "FAIL", it->section, it->name,
                   it->detail);
    }
}

int td_cli_selfcheck(int argc, char **argv)
{
    selfcheck_opts o = {0};
    const char *args[1];
    size_t num_args;
    int rc = td_cli_opt_parse(&selfcheck_cmd, argc, argv, &o, args, &num_args);
    if (rc != TD_CLI_CONTINUE)
        return rc;
    char buf[4096];
    const char *path = o.vectors != NULL ? o.vectors : default_vectors(buf, sizeof(buf));
    bool verbose = o.verbose;
    td_selfcheck_report rep;
    td_err err = td_selfcheck_rfc8448(path, &rep);
    if (err != TD_OK) {
        if (rep.error[0])
            fprintf(stderr, "%s\n", rep.error);
        else
            fprintf(stderr, "tlsdrill selfcheck: %s: %s\n", path, td_err_name(err));
        td_selfcheck_report_free(&rep);
        return 2;
    }
    if (verbose)
        print_items(&rep, true);
    printf("RFC 8448 self-check (%s)\n", path);
    printf("  %-4s %-26s %9s  %s\n", "sect", "trace", "passed", "result");
    for (int i = 0; i < TD_SELFCHECK_NUM_SECTIONS; i++) {
        const td_selfcheck_section *sec = &rep.sections[i];
        bool ok = sec->total > 0 && sec->passed == sec->total;
        printf("  §%-3d %-26s %4zu/%-4zu  %s\n", sec->section, sec->title, sec->passed,
               sec->total, ok ? "pass" : "FAIL");
    }
    bool all = td_selfcheck_all_passed(&rep);
    printf("  %-31s %4zu/%-4zu  %s\n", "total", rep.passed, rep.total, all ? "pass" : "FAIL");
    if (rep.notes[0])
        printf("notes:\n%s", rep.notes);
    if (!all && !verbose) {
        printf("failed checks:\n");
        print_items(&rep, false);
    }
    td_selfcheck_report_free(&rep);
    return all ? 0 : 1;
}
