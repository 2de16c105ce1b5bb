/* tools/cli/run_report.c -- the table, JSON and JUnit reports of
 * `tlsdrill run` and the tally behind its summary line (formats:
 * scenarios/README.md, "Reports"). */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include "run_report.h"

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* The table's columns. */
enum { COL_CASE, COL_RULE, COL_LEVEL, COL_EXPECTED, COL_ACTUAL, COL_GRADE, NUM_COLS };

struct td_cli_sink {
    td_cli_sink_opts o;
    int w[NUM_COLS]; /* column widths, fitted to the terminal */
    bool header;     /* the table's header is out (with the first row: a run that
                      * stops before its first case prints no empty table) */
    /* Reports are written to PATH.tmp-PID and renamed at close: an earlier
     * report stays whole until a new one is, whatever stops the run. */
    char *json_tmp, *junit_tmp;
    int signo;       /* the run was interrupted by this signal (0: it was not) */
    size_t selected; /* cases the run meant to run */
    FILE *json;
    bool json_first;
    FILE *junit;      /* the file, written at close: the suite's counts come first */
    FILE *junit_body; /* the testcases, in memory */
    char *junit_buf;
    size_t junit_len;
    size_t ju_failures, ju_errors, ju_skipped;
};

/* ---- tally ---- */

void td_cli_tally_add(td_cli_tally *t, td_cli_case_report *cr, bool lenient)
{
    td_scn_verdict g = cr->r->verdict;
    bool fails = td_scn_verdict_fails(g, lenient);
    if (cr->deviation != NULL) {
        /* A listed case: known as long as it still deviates as listed. */
        if (g == TD_SCN_PASS || g == TD_SCN_ADVISORY || g == TD_SCN_NA)
            cr->known = TD_CLI_KNOWN_XPASS;
        else if (cr->known != TD_CLI_KNOWN_CHANGED)
            cr->known = TD_CLI_KNOWN_XFAIL;
        fails = cr->known == TD_CLI_KNOWN_CHANGED;
    }
    cr->fails = fails;
    t->grades[g]++;
    t->ran++;
    t->failing += fails;
    t->xfail += cr->known == TD_CLI_KNOWN_XFAIL;
    t->xpass += cr->known == TD_CLI_KNOWN_XPASS;
    t->changed += cr->known == TD_CLI_KNOWN_CHANGED;
}

int td_cli_tally_rc(const td_cli_tally *t)
{
    return t->failing == 0 && t->ran > 0 ? 0 : 1;
}

/* ---- escaping ---- */

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void xml_str(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '<')
            fputs("&lt;", f);
        else if (c == '>')
            fputs("&gt;", f);
        else if (c == '&')
            fputs("&amp;", f);
        else if (c == '"')
            fputs("&quot;", f);
        else if (c == '\n')
            fputs("&#10;", f);
        else if (c < 0x20)
            fputc(' ', f);
        else
            fputc(c, f);
    }
}

/* ---- open ---- */

/* "PATH.tmp-PID" (owned), or NULL. */
static char *tmp_name(const char *path)
{
    size_t n = strlen(path) + 32;
    char *t = malloc(n);
    if (t != NULL)
        snprintf(t, n, "%s.tmp-%ld", path, (long)getpid());
    return t;
}

/* Natural widths (the longest case name and rule ID, the usual level,
 * EXPECTED and ACTUAL texts, the longest grade), fitted to |width|
 * terminal columns: a narrow terminal cuts cells (shown whole below the
 * rows that did not pass), a wide one gives EXPECTED and ACTUAL room. */
static void table_widths(td_cli_sink *s, int width)
{
    int rule = 4;
    for (int i = 1; i < TD_NUM_RULES; i++) {
        int n = (int)strlen(td_rule_get((td_rule)i)->id);
        rule = n > rule ? n : rule;
    }
    int name = s->o.name_width > 4 ? s->o.name_width : 4;
    int w[NUM_COLS] = {name, rule, 11, 22, 26, 13};
    /* A narrow terminal keeps 22 columns of a name, 12 of a rule ID, whole grades. */
    int min[NUM_COLS] = {name < 22 ? name : 22, rule < 12 ? rule : 12, 6, 10, 10, 13};
    int max[NUM_COLS] = {name, rule, 21, 96, 96, 13};
    td_cli_fit_columns(w, min, max, NUM_COLS, width);
    memcpy(s->w, w, sizeof(w));
}

int td_cli_sink_open(const td_cli_sink_opts *opts, td_cli_sink **out)
{
    *out = NULL;
    td_cli_sink *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        fprintf(stderr, "tlsdrill run: out of memory\n");
        return 2;
    }
    s->o = *opts;
    s->json_first = true;
    if (opts->json_path != NULL && ((s->json_tmp = tmp_name(opts->json_path)) == NULL ||
                                    (s->json = fopen(s->json_tmp, "w")) == NULL)) {
        fprintf(stderr, "tlsdrill run: cannot write %s\n", opts->json_path);
        td_cli_sink_free(s);
        return 2;
    }
    if (opts->junit_path != NULL &&
        ((s->junit_tmp = tmp_name(opts->junit_path)) == NULL ||
         (s->junit = fopen(s->junit_tmp, "w")) == NULL ||
         (s->junit_body = open_memstream(&s->junit_buf, &s->junit_len)) == NULL)) {
        fprintf(stderr, "tlsdrill run: cannot write %s\n", opts->junit_path);
        td_cli_sink_free(s);
        return 2;
    }
    if (s->json != NULL) {
        fprintf(s->json,
                "{\n  \"tool\": \"tlsdrill\", \"version\": \"%s\", \"format\": 2, \"peer\": ",
                TD_VERSION);
        json_str(s->json, opts->peer);
        fprintf(s->json, ", \"peer_version\": ");
        json_str(s->json, opts->peer_version);
        fprintf(s->json, ", \"mode\": \"%s\", \"seed\": %llu,\n  \"cases\": [",
                opts->lenient ? "lenient" : "strict", opts->seed);
    }
    table_widths(s, td_cli_term_width(STDOUT_FILENO));
    *out = s;
    return 0;
}

/* ---- one case ---- */

/* The last column of the table: the grade, in capitals when it fails the
 * run; a listed deviation is xfail / XPASS / CHANGED. */
static const char *label(const td_cli_case_report *cr, char *buf, size_t cap)
{
    switch (cr->known) {
    case TD_CLI_KNOWN_XFAIL: return "xfail";
    case TD_CLI_KNOWN_XPASS: return "XPASS";
    case TD_CLI_KNOWN_CHANGED: return "CHANGED";
    case TD_CLI_KNOWN_NONE: break;
    }
    const char *g = td_scn_verdict_name(cr->r->verdict);
    size_t i = 0;
    for (; g[i] && i + 1 < cap; i++)
        buf[i] = cr->fails && g[i] >= 'a' && g[i] <= 'z' ? (char)(g[i] - 32) : g[i];
    buf[i] = '\0';
    return buf;
}

static const char *first_rule(const td_scn_case *c)
{
    return c->num_rules ? td_rule_get(c->rules[0])->id : "-";
}

/* The peer's own log (an exec: shim's stderr) under a table row, indented. */
static void print_peer_log(const char *log)
{
    printf("    peer log:\n");
    for (const char *p = log; *p;) {
        size_t n = strcspn(p, "\n");
        printf("      %.*s\n", (int)n, p);
        p += n + (p[n] == '\n');
    }
}

/* |text| fitted into |width| columns of |out| (at least 256 bytes; "..."
 * at the end when cut); true if cut. */
static bool cell(char *out, int width, const char *text)
{
    size_t n = strlen(text), cap = (size_t)width + 1;
    if (cap > 256)
        cap = 256;
    if (n < cap) {
        memcpy(out, text, n + 1);
        return false;
    }
    snprintf(out, cap, "%.*s...", (int)(cap - 4), text);
    return true;
}

static void table_case(const td_cli_sink *s, const td_cli_case_report *cr)
{
    const td_scn_case *c = cr->c;
    const td_scn_result *r = cr->r;
    char buf[32];
    const char *on = "", *off = "";
    if (s->o.colour) {
        on = r->verdict == TD_SCN_PASS                      ? "\033[32m"
             : cr->known != TD_CLI_KNOWN_NONE || !cr->fails ? "\033[33m"
                                                            : "\033[1;31m";
        off = "\033[0m";
    }
    /* A cell wider than its column is cut in the row (the columns stay
     * aligned) and, unless the case passed, shown whole on a line of its own
     * below; --json and --junit always carry it whole. */
    const char *text[NUM_COLS - 1] = {c->name, first_rule(c), r->level, r->expected, r->actual};
    static const char *const what[NUM_COLS - 1] = {"case", "rule", "level", "expected", "actual"};
    char cells[NUM_COLS - 1][256];
    bool cut[NUM_COLS - 1];
    for (int i = 0; i < NUM_COLS - 1; i++)
        cut[i] = cell(cells[i], s->w[i], text[i]);
    printf("%-*s %-*s %-*s %-*s %-*s %s%s%s\n", s->w[COL_CASE], cells[COL_CASE], s->w[COL_RULE],
           cells[COL_RULE], s->w[COL_LEVEL], cells[COL_LEVEL], s->w[COL_EXPECTED],
           cells[COL_EXPECTED], s->w[COL_ACTUAL], cells[COL_ACTUAL], on,
           label(cr, buf, sizeof(buf)), off);
    for (int i = 0; i < NUM_COLS - 1; i++)
        if (cut[i] && r->verdict != TD_SCN_PASS)
            printf("    %s: %s\n", what[i], text[i]);
    /* A reason that carries its own location (a peer's message) is not prefixed again. */
    size_t fl = strlen(c->file);
    if (r->verdict != TD_SCN_PASS && strncmp(r->reason, c->file, fl) == 0 && r->reason[fl] == ':')
        printf("    %s\n", r->reason);
    else if (r->verdict != TD_SCN_PASS)
        printf("    %s:%d: %s\n", c->file, c->line, r->reason);
    if (r->premise[0] != '\0' && r->verdict != TD_SCN_PASS)
        printf("    premise: %s\n", r->premise);
    if (s->o.verbose && r->observed[0] != '\0')
        printf("    observed: %s\n", r->observed);
    if (r->peer_log[0] != '\0' &&
        (s->o.verbose || cr->fails || r->verdict == TD_SCN_FAIL || r->verdict == TD_SCN_ERROR))
        print_peer_log(r->peer_log);
    const char *ex = s->o.expect_path ? s->o.expect_path : "--expect";
    switch (cr->known) {
    case TD_CLI_KNOWN_CHANGED:
        printf("    the known deviation was '%s' (%s): the outcome changed\n", cr->pinned, ex);
        break;
    case TD_CLI_KNOWN_XFAIL: printf("    known deviation (%s): %s\n", ex, cr->deviation); break;
    case TD_CLI_KNOWN_XPASS:
        printf("    the known deviation now %s: remove '%s' from %s\n",
               r->verdict == TD_SCN_PASS ? "passes" : "no longer fails", c->name, ex);
        break;
    case TD_CLI_KNOWN_NONE: break;
    }
}

/* ---- the JSON row of a case: one table of its fields, in order ---- */

static void jv_name(FILE *j, const td_cli_case_report *cr)
{
    json_str(j, cr->c->name);
}
static void jv_file(FILE *j, const td_cli_case_report *cr)
{
    json_str(j, cr->c->file);
}
static void jv_line(FILE *j, const td_cli_case_report *cr)
{
    fprintf(j, "%d", cr->c->line);
}

static void jv_sut(FILE *j, const td_cli_case_report *cr)
{
    fprintf(j, "\"%s\"", cr->c->sut == TD_ROLE_SERVER ? "server" : "client");
}

static void jv_rules(FILE *j, const td_cli_case_report *cr)
{
    fprintf(j, "[");
    for (size_t k = 0; k < cr->c->num_rules; k++) {
        fprintf(j, "%s", k ? ", " : "");
        json_str(j, td_rule_get(cr->c->rules[k])->id);
    }
    fprintf(j, "]");
}

static void jv_expect(FILE *j, const td_cli_case_report *cr)
{
    fprintf(j, "\"%s\"", td_scn_expect_name(cr->c->expect));
}

/* "grade" and "verdict" (its older name) */
static void jv_grade(FILE *j, const td_cli_case_report *cr)
{
    fprintf(j, "\"%s\"", td_scn_verdict_name(cr->r->verdict));
}

static void jv_deviation(FILE *j, const td_cli_case_report *cr)
{
    if (cr->deviation != NULL)
        json_str(j, cr->deviation);
    else
        fprintf(j, "null");
}

static void jv_known(FILE *j, const td_cli_case_report *cr)
{
    static const char *const known[] = {"null", "\"xfail\"", "\"xpass\"", "\"changed\""};
    fprintf(j, "%s", known[cr->known]);
}

static void jv_fails(FILE *j, const td_cli_case_report *cr)
{
    fprintf(j, "%s", cr->fails ? "true" : "false");
}

static void jv_digest(FILE *j, const td_cli_case_report *cr)
{
    fprintf(j, "\"");
    for (size_t k = 0; k < sizeof(cr->r->digest); k++)
        fprintf(j, "%02x", cr->r->digest[k]);
    fprintf(j, "\"");
}

/* A field is a text of td_scn_result (|write| NULL: at |result_off|) or written by |write|.
 * No times among them: the JSON report of a seed is the same bytes on every run. */
#define JF_RESULT(key, field)                                                                      \
    {                                                                                              \
        key, offsetof(td_scn_result, field), NULL                                                  \
    }
static const struct json_field {
    const char *key;
    size_t result_off;
    void (*write)(FILE *j, const td_cli_case_report *cr);
} k_json_fields[] = {
    {"name", 0, jv_name},
    {"file", 0, jv_file},
    {"line", 0, jv_line},
    {"sut", 0, jv_sut},
    {"rules", 0, jv_rules},
    {"expect", 0, jv_expect},
    JF_RESULT("expected", expected),
    JF_RESULT("actual", actual),
    {"grade", 0, jv_grade},
    {"verdict", 0, jv_grade},
    JF_RESULT("level", level),
    JF_RESULT("premise", premise),
    JF_RESULT("sut_rule", sut_rule),
    JF_RESULT("sut_where", sut_where),
    JF_RESULT("sut_broke", sut_broke),
    JF_RESULT("reason", reason),
    JF_RESULT("observed", observed),
    JF_RESULT("peer_log", peer_log),
    {"deviation", 0, jv_deviation},
    {"known", 0, jv_known},
    {"fails", 0, jv_fails},
    {"digest", 0, jv_digest},
};
#undef JF_RESULT

static void json_case(td_cli_sink *s, const td_cli_case_report *cr)
{
    FILE *j = s->json;
    const td_scn_result *r = cr->r;
    fprintf(j, "%s\n    ", s->json_first ? "" : ",");
    s->json_first = false;
    for (size_t i = 0; i < sizeof(k_json_fields) / sizeof(k_json_fields[0]); i++) {
        const struct json_field *f = &k_json_fields[i];
        fprintf(j, "%s\"%s\": ", i ? ", " : "{", f->key);
        if (f->write != NULL)
            f->write(j, cr);
        else
            json_str(j, (const char *)r + f->result_off);
    }
    if (cr->stream >= 0) {
        /* --pcap: the TCP streams (tshark's tcp.stream) of this case's connections. */
        fprintf(j, ", \"streams\": [");
        for (unsigned k = 0; k < cr->num_streams; k++)
            fprintf(j, "%s%u", k ? ", " : "", (unsigned)cr->stream + k);
        fprintf(j, "]");
        /* The baseline probe's connection (run.c probe_ext) is the last of them. */
        if (r->probed && cr->num_streams > 0)
            fprintf(j, ", \"probe_stream\": %u", (unsigned)cr->stream + cr->num_streams - 1);
    }
    fprintf(j, "}");
}

/* JUnit (the Jenkins/Ant schema, tests/junit.xsd): one testcase per case,
 * classname = the scenario file (dots for slashes, without .scn). A known
 * deviation is <skipped message="known deviation: ...">, as pytest writes
 * an xfail; unsupported and n/a are skipped too; what fails the run in
 * this mode is a <failure> (an <error> for ERROR); the rest passes. The
 * grade, level and reason are in <system-out>. */
static void junit_case(td_cli_sink *s, const td_cli_case_report *cr)
{
    FILE *j = s->junit_body;
    const td_scn_case *c = cr->c;
    const td_scn_result *r = cr->r;
    char cls[512];
    size_t n = 0;
    for (const char *p = c->file; *p && n + 1 < sizeof(cls); p++)
        cls[n++] = *p == '/' ? '.' : *p;
    cls[n] = '\0';
    if (n > 4 && strcmp(cls + n - 4, ".scn") == 0)
        cls[n - 4] = '\0';
    fputs("    <testcase classname=\"", j);
    xml_str(j, cls);
    fputs("\" name=\"", j);
    xml_str(j, c->name);
    fprintf(j, "\" time=\"%.6f\" status=\"%s\">", cr->secs, td_scn_verdict_name(r->verdict));
    if (cr->known == TD_CLI_KNOWN_XFAIL) {
        fputs("<skipped message=\"known deviation: ", j);
        xml_str(j, cr->deviation);
        fputs("\"/>", j);
        s->ju_skipped++;
    } else if (r->verdict == TD_SCN_UNSUPPORTED || r->verdict == TD_SCN_NA) {
        fprintf(j, "<skipped message=\"%s: ", td_scn_verdict_name(r->verdict));
        xml_str(j, r->reason);
        fputs("\"/>", j);
        s->ju_skipped++;
    } else if (cr->fails && r->verdict == TD_SCN_ERROR) {
        fputs("<error type=\"error\" message=\"", j);
        xml_str(j, r->reason);
        fputs("\"/>", j);
        s->ju_errors++;
    } else if (cr->fails) {
        fprintf(j, "<failure type=\"%s\" message=\"",
                cr->known == TD_CLI_KNOWN_CHANGED ? "changed" : td_scn_verdict_name(r->verdict));
        if (cr->known == TD_CLI_KNOWN_CHANGED) {
            fputs("known deviation changed (was ", j);
            xml_str(j, cr->pinned);
            fputs("): ", j);
        }
        xml_str(j, r->reason);
        fputs("\"/>", j);
        s->ju_failures++;
    }
    fputs("<system-out>", j);
    fprintf(j, "file: ");
    xml_str(j, c->file);
    fprintf(j, ":%d&#10;rules:", c->line);
    for (size_t k = 0; k < c->num_rules; k++) {
        fputc(' ', j);
        xml_str(j, td_rule_get(c->rules[k])->id);
    }
    fprintf(j, "&#10;grade: %s&#10;level: ", td_scn_verdict_name(r->verdict));
    xml_str(j, r->level);
    fputs("&#10;expected: ", j);
    xml_str(j, r->expected);
    fputs("&#10;actual: ", j);
    xml_str(j, r->actual);
    if (r->premise[0] != '\0') {
        fputs("&#10;premise: ", j);
        xml_str(j, r->premise);
    }
    if (r->reason[0] != '\0') {
        fputs("&#10;reason: ", j);
        xml_str(j, r->reason);
    }
    if (cr->deviation != NULL) {
        fputs("&#10;known deviation: ", j);
        xml_str(j, cr->deviation);
    }
    fputs("</system-out></testcase>\n", j);
}

void td_cli_sink_case(td_cli_sink *s, const td_cli_case_report *cr)
{
    if (!s->header) {
        printf("%-*s %-*s %-*s %-*s %-*s %s\n", s->w[COL_CASE], "CASE", s->w[COL_RULE], "RULE",
               s->w[COL_LEVEL], "LEVEL", s->w[COL_EXPECTED], "EXPECTED", s->w[COL_ACTUAL], "ACTUAL",
               "GRADE");
        s->header = true;
    }
    table_case(s, cr);
    if (s->json != NULL)
        json_case(s, cr);
    if (s->junit_body != NULL)
        junit_case(s, cr);
}

/* ---- close ---- */

/* "729 cases: 700 pass, 3 alert-differs, ...; 2 failing (strict)" */
static void summary_line(FILE *f, const td_cli_tally *t, bool lenient)
{
    fprintf(f, "%zu case%s:", t->ran, t->ran == 1 ? "" : "s");
    for (int g = 0; g < TD_SCN_NUM_VERDICTS; g++)
        fprintf(f, "%s %zu %s", g ? "," : "", t->grades[g], td_scn_verdict_name((td_scn_verdict)g));
    fprintf(f, "; %zu failing (%s)", t->failing, lenient ? "lenient" : "strict");
    if (t->xfail)
        fprintf(f, ", %zu known deviation%s", t->xfail, t->xfail == 1 ? "" : "s");
    if (t->xpass)
        fprintf(f, ", %zu known deviation%s no longer fail%s", t->xpass, t->xpass == 1 ? "" : "s",
                t->xpass == 1 ? "s" : "");
    if (t->changed)
        fprintf(f, ", %zu known deviation%s changed", t->changed, t->changed == 1 ? "" : "s");
    fputc('\n', f);
}

void td_cli_sink_interrupted(td_cli_sink *s, int signo, size_t selected)
{
    s->signo = signo;
    s->selected = selected;
}

static const char *signal_name(int signo)
{
    return signo == SIGINT ? "SIGINT" : signo == SIGTERM ? "SIGTERM" : "a signal";
}

/* Moves a finished report from its temporary name to |path|. */
static int publish(char **tmp, const char *path)
{
    int rc = 0;
    if (*tmp != NULL && rename(*tmp, path) != 0) {
        remove(*tmp);
        rc = 2;
    }
    free(*tmp);
    *tmp = NULL;
    return rc;
}

int td_cli_sink_close(td_cli_sink *s, const td_cli_tally *t, double secs, bool stats)
{
    int rc = 0;
    if (s->signo != 0)
        printf("interrupted by %s: %zu of %zu cases ran\n", signal_name(s->signo), t->ran,
               s->selected);
    summary_line(stdout, t, s->o.lenient);
    if (stats)
        printf("%zu cases in %.3f s: %.0f cases/s\n", t->ran, secs,
               secs > 0 ? (double)t->ran / secs : 0.0);
    if (s->json != NULL) {
        fprintf(s->json, "\n  ],\n  \"summary\": {\"total\": %zu, \"grades\": {", t->ran);
        for (int g = 0; g < TD_SCN_NUM_VERDICTS; g++)
            fprintf(s->json, "%s\"%s\": %zu", g ? ", " : "", td_scn_verdict_name((td_scn_verdict)g),
                    t->grades[g]);
        fprintf(s->json,
                "}, \"failing\": %zu, \"known_deviations\": %zu, "
                "\"known_deviations_no_longer_failing\": %zu, \"known_deviations_changed\": %zu",
                t->failing, t->xfail, t->xpass, t->changed);
        /* A partial report says so: how far it got and why it stopped. */
        if (s->signo != 0)
            fprintf(s->json, ", \"interrupted\": \"%s\", \"selected\": %zu", signal_name(s->signo),
                    s->selected);
        fprintf(s->json, "}\n}\n");
        if (fclose(s->json) != 0)
            rc = 2;
        s->json = NULL;
        if (rc == 0)
            rc = publish(&s->json_tmp, s->o.json_path);
    }
    if (s->junit != NULL) {
        fclose(s->junit_body);
        s->junit_body = NULL;
        FILE *j = s->junit;
        fprintf(j,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites tests=\"%zu\" "
                "failures=\"%zu\" errors=\"%zu\" time=\"%.3f\">\n  <testsuite name=\"tlsdrill-",
                t->ran, s->ju_failures, s->ju_errors, secs);
        xml_str(j, s->o.peer);
        fprintf(j,
                "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"%.3f\">\n",
                t->ran, s->ju_failures, s->ju_errors, s->ju_skipped, secs);
        fputs("    <properties><property name=\"peer_version\" value=\"", j);
        xml_str(j, s->o.peer_version);
        fprintf(j, "\"/><property name=\"mode\" value=\"%s\"/>",
                s->o.lenient ? "lenient" : "strict");
        if (s->signo != 0)
            fprintf(j, "<property name=\"interrupted\" value=\"%s after %zu of %zu cases\"/>",
                    signal_name(s->signo), t->ran, s->selected);
        fputs("</properties>\n", j);
        if (s->junit_buf != NULL)
            fwrite(s->junit_buf, 1, s->junit_len, j);
        fprintf(j, "  </testsuite>\n</testsuites>\n");
        int jrc = fclose(j) != 0 ? 2 : 0;
        s->junit = NULL;
        if (jrc == 0)
            jrc = publish(&s->junit_tmp, s->o.junit_path);
        rc = rc ? rc : jrc;
    }
    if (rc != 0)
        fprintf(stderr, "tlsdrill run: cannot write a report\n");
    return rc;
}

void td_cli_sink_free(td_cli_sink *s)
{
    if (s == NULL)
        return;
    if (s->json != NULL)
        fclose(s->json);
    if (s->junit_body != NULL)
        fclose(s->junit_body);
    free(s->junit_buf);
    if (s->junit != NULL)
        fclose(s->junit);
    /* Not closed (the run failed): no half report, the previous one stays. */
    if (s->json_tmp != NULL)
        remove(s->json_tmp);
    if (s->junit_tmp != NULL)
        remove(s->junit_tmp);
    free(s->json_tmp);
    free(s->junit_tmp);
    free(s);
}
