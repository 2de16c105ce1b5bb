/* tools/cli/cmd_rules.c -- `tlsdrill rules [PREFIX] [--checker client|server|both]
 * [--coverage [DIR]] [--fuzz FILE] [--sites [--source DIR]]`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "rule_sites.h"
#include "opt.h"
#include "tlsdrill/rules.h"
#include "tlsdrill/scenario.h"

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

/* The rules a listing shows: ID prefix and checking side (NULL: any). */
static bool listed(const td_rule_info *r, const char *prefix, const char *checker)
{
    return (prefix == NULL || strncmp(r->id, prefix, strlen(prefix)) == 0) &&
           (checker == NULL || strcmp(checker_name(r->checker), checker) == 0);
}

/* Which scenario files name each rule, for which SUT side. */
typedef struct rule_cov {
    unsigned server_cases, client_cases;
    char files[256];
    char fuzz[160]; /* "client_hello:12 record:3": corpora that reach it (--fuzz FILE) */
} rule_cov;

/* Reads a rule coverage file (tools/fuzzctl coverage: rules-reached.tsv):
 * "# tlsdrill-rule-coverage 1" first, then RULE-ID<TAB>fuzz:<target><TAB>COUNT
 * lines; '#' lines are comments. Errors name file:line. */
static int read_fuzz_reach(const char *path, rule_cov *cov)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "%s: cannot open\n", path);
        return -1;
    }
    char line[512];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (lineno == 1) {
            if (strcmp(line, "# tlsdrill-rule-coverage 1") != 0) {
                fprintf(stderr, "%s:1:1: error: not a rule coverage file (expected '# tlsdrill-rule-coverage 1')\n",
                        path);
                rc = -1;
            }
            continue;
        }
        if (line[0] == '#' || line[0] == '\0')
            continue;
        char *rule = line, *source = strchr(line, '\t');
        char *count = source ? strchr(source + 1, '\t') : NULL;
        if (count == NULL) {
            fprintf(stderr, "%s:%d:1: error: expected RULE-ID<TAB>SOURCE<TAB>COUNT\n", path, lineno);
            rc = -1;
            break;
        }
        *source++ = '\0';
        *count++ = '\0';
        td_rule id = td_rule_by_id(rule);
        char *end = NULL;
        unsigned long n = strtoul(count, &end, 10);
        if (id == TD_RULE_NONE) {
            fprintf(stderr, "%s:%d:1: error: unknown rule ID '%s'\n", path, lineno, rule);
            rc = -1;
        } else if (strncmp(source, "fuzz:", 5) != 0 || source[5] == '\0') {
            fprintf(stderr, "%s:%d:%d: error: source must be fuzz:<target>\n", path, lineno,
                    (int)(source - line) + 1);
            rc = -1;
        } else if (end == count || *end != '\0') {
            fprintf(stderr, "%s:%d:%d: error: bad count '%s'\n", path, lineno, (int)(count - line) + 1,
                    count);
            rc = -1;
        } else {
            char *dst = cov[id].fuzz;
            size_t used = strlen(dst);
            if (used + strlen(source) + 24 < sizeof(cov[id].fuzz))
                snprintf(dst + used, sizeof(cov[id].fuzz) - used, "%s%s:%lu", used ? " " : "", source + 5, n);
        }
    }
    fclose(f);
    return rc;
}

static int coverage(const char *dir, rule_cov *cov)
{
    char **paths = NULL;
    size_t num = 0;
    if (td_cli_scn_files(dir, &paths, &num) != 0)
        return -1;
    td_scn_diags diags = {0};
    for (size_t i = 0; i < num; i++) {
        td_scn_file *f = NULL;
        if (td_scn_parse_file(paths[i], &f, &diags) == TD_OK && f != NULL) {
            for (size_t c = 0; c < f->num_cases; c++)
                for (size_t r = 0; r < f->cases[c].num_rules; r++) {
                    rule_cov *rc = &cov[f->cases[c].rules[r]];
                    if (f->cases[c].sut == TD_ROLE_SERVER)
                        rc->server_cases++;
                    else
                        rc->client_cases++;
                    const char *base = strstr(paths[i], "scenarios/");
                    base = base ? base + 10 : paths[i];
                    if (strstr(rc->files, base) == NULL && strlen(rc->files) + strlen(base) + 2 < sizeof(rc->files))
                        snprintf(rc->files + strlen(rc->files), sizeof(rc->files) - strlen(rc->files), "%s%s",
                                 rc->files[0] ? " " : "", base);
                }
        }
        td_scn_file_free(f);
        free(paths[i]);
    }
    free(paths);
    td_scn_diags_print(&diags, stderr);
    size_t bad = diags.num;
    td_scn_diags_cleanup(&diags);
    return bad ? -1 : 0;
}

static int rules_coverage(const char *dir, const char *fuzz, const char *prefix, const char *checker)
{
    rule_cov *cov = calloc(TD_NUM_RULES, sizeof(*cov));
    if (cov == NULL || coverage(dir, cov) != 0) {
        fprintf(stderr, "tlsdrill rules: cannot read the scenarios under %s\n", dir);
        free(cov);
        return 2;
    }
    if (fuzz != NULL && read_fuzz_reach(fuzz, cov) != 0) {
        free(cov);
        return 2;
    }
    int shown = 0, covered = 0, reached = 0, width = td_cli_term_width(STDOUT_FILENO);
    char uncovered[8192] = "";
    size_t un_len = 0;
    int num_uncovered = 0;
    if (fuzz != NULL)
        printf("%-28s %-6s %6s %6s  %-30s %s\n", "RULE", "CHECK", "SUT=S", "SUT=C", "FUZZ (corpus:inputs)",
               "FILES");
    else
        printf("%-28s %-6s %6s %6s  %s\n", "RULE", "CHECK", "SUT=S", "SUT=C", "FILES");
    for (int i = 1; i < TD_NUM_RULES; i++) {
        const td_rule_info *r = td_rule_get((td_rule)i);
        if (r->kind == TD_RULE_KIND_LOCAL)
            continue;
        if (!listed(r, prefix, checker))
            continue;
        const rule_cov *c = &cov[i];
        /* The FILES list wraps under its column at the terminal's width. */
        if (fuzz != NULL)
            printf("%-28s %-6s %6u %6u  %-30s ", r->id, checker_name(r->checker), c->server_cases,
                   c->client_cases, c->fuzz[0] ? c->fuzz : "-");
        else
            printf("%-28s %-6s %6u %6u  ", r->id, checker_name(r->checker), c->server_cases,
                   c->client_cases);
        td_cli_print_wrapped(stdout, c->files[0] ? c->files : "-", fuzz != NULL ? 82 : 51, width);
        shown++;
        reached += c->fuzz[0] != '\0';
        if (c->server_cases + c->client_cases > 0) {
            covered++;
        } else {
            num_uncovered++;
            if (un_len + strlen(r->id) + 2 < sizeof(uncovered))
                un_len += (size_t)snprintf(uncovered + un_len, sizeof(uncovered) - un_len, "%s%s", un_len ? " " : "",
                                           r->id);
        }
    }
    printf("%d of %d rules covered by scenarios, %d uncovered\n", covered, shown, num_uncovered);
    if (fuzz != NULL)
        printf("%d of %d rules reached by the fuzz corpora (%s)\n", reached, shown, fuzz);
    if (num_uncovered)
        printf("uncovered: %s\n", uncovered);
    free(cov);
    return 0;
}

/* `rules --sites`: per rule, where the engine checks it (file:line and the
 * alert of the site's class), the scenario cases that name it and the fuzz
 * corpora that reach it; a rule with no check site in the engine says where
 * it is judged instead. */
static int rules_sites(const char *source, const char *dir, const char *fuzz, const char *prefix,
                       const char *checker)
{
    td_rule_site *sites = NULL;
    size_t num = 0;
    char errbuf[512] = "";
    if (td_rule_sites_scan(source, &sites, &num, errbuf, sizeof(errbuf)) != TD_OK) {
        fprintf(stderr, "tlsdrill rules: %s (--source DIR: the source tree)\n", errbuf);
        return 2;
    }
    rule_cov *cov = calloc(TD_NUM_RULES, sizeof(*cov));
    if (cov == NULL || coverage(dir, cov) != 0 || (fuzz != NULL && read_fuzz_reach(fuzz, cov) != 0)) {
        fprintf(stderr, "tlsdrill rules: cannot read the scenarios under %s\n", dir);
        free(cov);
        free(sites);
        return 2;
    }
    int shown = 0, with_sites = 0;
    for (int i = 1; i < TD_NUM_RULES; i++) {
        const td_rule_info *r = td_rule_get((td_rule)i);
        if (!listed(r, prefix, checker))
            continue;
        printf("%s  RFC 8446 §%s\n", r->id, r->section);
        int n = 0;
        for (size_t s = 0; s < num; s++) {
            if (sites[s].rule != (td_rule)i)
                continue;
            printf("  %s%s:%d", n++ ? "          " : "checked:  ", sites[s].file, sites[s].line);
            if (sites[s].assigned)
                printf(" (rule set on the diagnostic)\n");
            else
                printf(" (%s)\n", sites[s].err_literal ? td_alert_name(td_err_alert(sites[s].err)) : "?");
        }
        if (n == 0 && r->kind == TD_RULE_KIND_TOLERATE)
            printf("  checked:  nowhere in the engine: a tolerance rule, judged by the scenario runner\n"
                   "            (engine/scenario/judge.c: the SUT must not abort)\n");
        else if (n == 0)
            printf("  checked:  nowhere in the engine: judged by the scenario runner\n"
                   "            (engine/scenario/judge.c) from what the SUT sent\n");
        with_sites += n > 0;
        const rule_cov *c = &cov[i];
        printf("  cases:    %u (SUT server), %u (SUT client)%s%s\n", c->server_cases, c->client_cases,
               c->files[0] ? ": " : "", c->files);
        if (fuzz != NULL)
            printf("  fuzz:     %s\n", c->fuzz[0] ? c->fuzz : "-");
        shown++;
    }
    printf("%d rules, %d with a check site in the engine\n", shown, with_sites);
    free(cov);
    free(sites);
    return shown > 0 ? 0 : 1;
}

typedef struct rules_opts {
    const char *checker, *coverage, *fuzz, *source;
    bool sites;
} rules_opts;

static const td_cli_opt rules_opts_table[] = {
    {.name = "--checker", .kind = TD_CLI_OPT_CHOICE, .offset = offsetof(rules_opts, checker),
     .choices = "client|server|both|self", .help = "only the rules this side checks"},
    {.name = "--coverage", .kind = TD_CLI_OPT_STR_OPT, .offset = offsetof(rules_opts, coverage), .arg = "DIR",
     .choices = "scenarios",
     .help = "per rule, the scenario cases (SUT server / SUT client) and files that name it\n"
             "(DIR defaults to scenarios/), then counts and the uncovered rules"},
    {.name = "--sites", .kind = TD_CLI_OPT_FLAG, .offset = offsetof(rules_opts, sites),
     .help = "per rule, its check sites in the engine (file:line, the alert that goes out),\n"
             "the cases naming it (--coverage DIR) and the fuzz corpora reaching it (--fuzz FILE);\n"
             "a rule with no check site says where it is judged"},
    {.name = "--source", .kind = TD_CLI_OPT_STR, .offset = offsetof(rules_opts, source), .arg = "DIR",
     .help = "the source tree --sites reads (default: the one this binary was built from)"},
    {.name = "--fuzz", .kind = TD_CLI_OPT_STR, .offset = offsetof(rules_opts, fuzz), .arg = "FILE",
     .help = "also which fuzz corpora reach each rule (rules-reached.tsv of\n"
             "`tools/fuzzctl coverage`, build/coverage/report/); implies --coverage"},
};

static const td_cli_cmd rules_cmd = {
    .name = "rules",
    .args = "[ID-PREFIX]",
    .max_args = 1,
    .about = "The rule catalogue: ID, RFC 8446 section, checking side, level, alert.\n"
             "With a whole rule ID: that rule in full, with the alerts other RFC sentences\n"
             "allow on top of its own (engine/catalogue/allowances.md) and their citations.",
    .opts = rules_opts_table,
    .num_opts = sizeof(rules_opts_table) / sizeof(rules_opts_table[0]),
};

/* `tlsdrill rules ID`: one rule in full, with the alerts other RFC
 * sentences allow on top of its own (engine/catalogue/allowances.md). */
static int rule_detail(td_rule rule)
{
    const td_rule_info *r = td_rule_get(rule);
    printf("%s  RFC 8446 §%s\n", r->id, r->section);
    printf("  checker:    %s\n", checker_name(r->checker));
    printf("  level:      %s%s\n", td_level_name(r->level),
           r->level == TD_LEVEL_SENDER ? " (binds the sender only: the receiver's reaction is advisory)"
                                       : "");
    printf("  kind:       %s\n", r->kind == TD_RULE_KIND_TOLERATE ? "tolerance (must not abort)"
                                  : r->kind == TD_RULE_KIND_LOCAL  ? "local"
                                                                   : "abort");
    printf("  alert:      %s\n", r->kind == TD_RULE_KIND_TOLERATE ? "-" : r->alert_text);
    if (strncmp(r->alert_text, "(none named", 11) == 0)
        printf("              no alert named: by RFC 8446 §6.2 the choice of alert is a SHOULD\n");
    printf("  condition:  %s\n", r->condition);
    const char *sec = NULL;
    const char *quote = td_rule_quote(rule, &sec);
    if (quote != NULL)
        printf("  RFC says:   RFC 8446 %s%s: \"%s\"\n", sec[0] >= 'A' ? "Appendix " : "§", sec,
               quote);
    const td_rule_allowance *a = td_rule_allowance_next(rule, NULL);
    printf("  also allowed:%s\n", a == NULL ? " none" : "");
    for (; a != NULL; a = td_rule_allowance_next(rule, a)) {
        printf("    %s: when %s\n", td_alert_name(a->alert), a->when);
        printf("      %s\n", a->source);
        quote = td_rule_allowance_quote(a, &sec);
        if (quote != NULL)
            printf("      RFC 8446 %s%s: \"%s\"\n", sec[0] >= 'A' ? "Appendix " : "§", sec, quote);
    }
    return 0;
}

int td_cli_rules(int argc, char **argv)
{
    rules_opts o = {0};
    const char *args[1] = {NULL};
    size_t num_args = 0;
    int rc = td_cli_opt_parse(&rules_cmd, argc, argv, &o, args, &num_args);
    if (rc != TD_CLI_CONTINUE)
        return rc;
    const char *prefix = args[0], *checker = o.checker, *cov_dir = o.coverage, *fuzz = o.fuzz;
    if (o.sites)
        return rules_sites(o.source ? o.source : TD_SOURCE_DIR, cov_dir ? cov_dir : "scenarios", fuzz,
                           prefix, checker);
    if (cov_dir == NULL && fuzz != NULL)
        cov_dir = "scenarios";
    if (cov_dir != NULL)
        return rules_coverage(cov_dir, fuzz, prefix, checker);
    if (prefix != NULL && checker == NULL && td_rule_by_id(prefix) != TD_RULE_NONE)
        return rule_detail(td_rule_by_id(prefix));
    /* ID and section columns as wide as the longest listed. On a terminal
     * (or with COLUMNS) the section and the alert text wrap in their own
     * columns so that each line fits; the alert keeps at least 30. */
    int id_w = 4, sec_w = 4, shown = 0, width = td_cli_term_width(STDOUT_FILENO);
    for (int i = 1; i < TD_NUM_RULES; i++) {
        const td_rule_info *r = td_rule_get((td_rule)i);
        if (listed(r, prefix, checker)) {
            id_w = (int)strlen(r->id) > id_w ? (int)strlen(r->id) : id_w;
            sec_w = (int)strlen(r->section) > sec_w ? (int)strlen(r->section) : sec_w;
        }
    }
    int room = width > 0 ? width - 1 - (id_w + 2 + sec_w + 15) : 0;
    if (width > 0 && room < 30) {
        int give = 30 - room < sec_w - 10 ? 30 - room : sec_w - 10;
        sec_w -= give > 0 ? give : 0;
        room += give > 0 ? give : 0;
    }
    for (int i = 1; i < TD_NUM_RULES; i++) {
        const td_rule_info *r = td_rule_get((td_rule)i);
        if (!listed(r, prefix, checker))
            continue;
        td_cli_span sec[8], alert[32];
        const char *text = r->kind == TD_RULE_KIND_TOLERATE ? "(must not abort)" : r->alert_text;
        size_t ns = td_cli_wrap(r->section, width > 0 ? sec_w : 0, sec, 8);
        /* Too narrow for an alert column: the alert goes on lines of its own. */
        bool below = width > 0 && room < 24;
        size_t na = below ? 0 : td_cli_wrap(text, width > 0 ? room : 0, alert, 32);
        for (size_t k = 0; k < ns || k < na; k++) {
            const td_cli_span none = {"", 0};
            const td_cli_span *sp = k < ns ? &sec[k] : &none, *ap = k < na ? &alert[k] : &none;
            char line[1024];
            int n = snprintf(line, sizeof(line), "%-*s %s%.*s%*s %-6s %-6s %.*s", id_w,
                             k ? "" : r->id, k ? " " : "§", sp->len, sp->p, sec_w - sp->len, "",
                             k ? "" : checker_name(r->checker), k ? "" : td_level_name(r->level),
                             ap->len, ap->p);
            if (n < 0 || (size_t)n >= sizeof(line))
                n = (int)strlen(line);
            while (n > 0 && line[n - 1] == ' ')
                n--;
            printf("%.*s\n", n, line);
        }
        if (below) {
            printf("    ");
            td_cli_print_wrapped(stdout, text, 4, width);
        }
        shown++;
    }
    printf("%d rules\n", shown);
    return shown > 0 ? 0 : 1;
}
