/* tools/cli/cmd_rules.c -- `tlsdrill rules [PREFIX] [--checker client|server|both]`. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "tlsdrill/rules.h"

static const char *checker_name(td_checker c)
{
    switch (c) {
    case TD_CHECKER_CLIENT: return "client";
    case TD_CHECKER_SERVER: return "server";
    case TD_CHECKER_BOTH: return "both";
    case TD_CHECKER_SELF: return "self";
    }
    return "?";
}

static const char *level_name(td_level l)
{
    switch (l) {
    case TD_LEVEL_MUST: return "MUST";
    case TD_LEVEL_SHOULD: return "SHOULD";
    case TD_LEVEL_MAY: return "MAY";
    case TD_LEVEL_SENDER: return "sender";
    }
    return "?";
}

int td_cli_rules(int argc, char **argv)
{
    const char *prefix = NULL, *checker = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            printf("usage: tlsdrill rules [ID-PREFIX] [--checker client|server|both|self]\n");
            return 0;
        } else if (strcmp(argv[i], "--checker") == 0 && i + 1 < argc) {
            checker = argv[++i];
        } else if (argv[i][0] != '-' && prefix == NULL) {
            prefix = argv[i];
        } else {
            fprintf(stderr, "tlsdrill rules: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    int shown = 0;
    for (int i = 1; i < TD_NUM_RULES; i++) {
        const td_rule_info *r = td_rule_get((td_rule)i);
        if (prefix && strncmp(r->id, prefix, strlen(prefix)) != 0)
            continue;
        if (checker && strcmp(checker_name(r->checker), checker) != 0)
            continue;
        printf("%-28s §%-14s %-6s %-6s %s\n", r->id, r->section, checker_name(r->checker),
               level_name(r->level), r->kind == TD_RULE_KIND_TOLERATE ? "(must not abort)" : r->alert_text);
        shown++;
    }
    printf("%d rules\n", shown);
    return shown > 0 ? 0 : 1;
}
