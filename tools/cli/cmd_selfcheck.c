/* tools/cli/cmd_selfcheck.c -- `tlsdrill selfcheck [--vectors PATH] [--verbose]`:
 * replays the RFC 8448 traces through the engine's key schedule and record
 * layer and prints one row per trace. Exit 0 if every check passes, 1 if
 * any fails, 2 for usage errors or an unreadable or malformed vectors file. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "tlsdrill/selfcheck.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: tlsdrill selfcheck [--vectors PATH] [--verbose]\n"
               "  Replays the RFC 8448 example traces: every secret, key, IV, Finished,\n"
               "  binder and record is recomputed and compared.\n"
               "  --vectors PATH  the vectors file (default %s)\n"
               "  --verbose       print every check\n",
            TD_VECTORS_DIR "/rfc8448.tsv");
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
    const char *path = TD_VECTORS_DIR "/rfc8448.tsv";
    bool verbose = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--vectors") == 0 && i + 1 < argc) {
            path = argv[++i];
        } else if (strcmp(argv[i], "--verbose") == 0 || strcmp(argv[i], "-v") == 0) {
            verbose = true;
        } else {
            fprintf(stderr, "tlsdrill selfcheck: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
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
