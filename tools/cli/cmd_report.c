/* tools/cli/cmd_report.c -- `tlsdrill report RUN.json... [--capture PCAP
 * [--keylog KEYS]] [--fuzz FUZZCTL_OUT...] -o report.html`: loads the
 * inputs (report.h) and writes one self-contained HTML file. */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "opt.h"
#include "report.h"
#include "tlsdrill/array.h"
#include "tlsdrill/rules.h"

const char *const rp_grades[RP_NUM_GRADES] = {"fail",        "error", "alert-differs", "advisory",
                                              "unsupported", "n/a",   "pass",          "other"};

size_t rp_grade_index(const char *grade)
{
    for (size_t i = 0; i + 1 < RP_NUM_GRADES; i++)
        if (strcmp(grade, rp_grades[i]) == 0)
            return i;
    return RP_NUM_GRADES - 1;
}

const char *rp_str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s != NULL ? s : "";
}

const char *rp_case_grade(const json_t *c)
{
    const char *g = rp_str(c, "grade");
    if (*g != '\0')
        return g;
    g = rp_str(c, "verdict");
    return *g != '\0' ? g : "other";
}

const char *rp_case_level(const json_t *c)
{
    const char *l = rp_str(c, "level");
    if (*l != '\0' && strcmp(l, "-") != 0)
        return l;
    const char *id = json_string_value(json_array_get(json_object_get(c, "rules"), 0));
    if (id == NULL)
        return "baseline";
    const td_rule_info *ri = td_rule_get(td_rule_by_id(id));
    return ri != NULL ? td_level_name(ri->level) : "unknown";
}

/* A root cause named by the report ("root_cause": a string, or an object
 * with an id and a text); else the known deviation's reviewed reason (the
 * expectations files reuse a reason word for word for every case it
 * explains, as MATRIX.md groups them); else what the SUT did (the same
 * alert, a completed handshake, a stall). */
const char *rp_case_cause(const json_t *c, char *buf, size_t cap)
{
    if (strcmp(rp_case_grade(c), "pass") == 0)
        return "";
    const json_t *rc = json_object_get(c, "root_cause");
    if (json_is_string(rc))
        return json_string_value(rc);
    if (json_is_object(rc)) {
        const char *id = rp_str(rc, "id"), *text = rp_str(rc, "text");
        snprintf(buf, cap, "%s%s%s", id, *id && *text ? ": " : "", text);
        if (*buf != '\0')
            return buf;
    }
    const char *dev = rp_str(c, "deviation");
    if (*dev != '\0')
        return dev;
    const char *sut_rule = rp_str(c, "sut_rule");
    snprintf(buf, cap, "%s%s%s%s", *rp_str(c, "actual") ? rp_str(c, "actual") : rp_case_grade(c),
             *sut_rule && strcmp(sut_rule, "-") != 0 ? " (the SUT's rule " : "",
             strcmp(sut_rule, "-") != 0 ? sut_rule : "",
             *sut_rule && strcmp(sut_rule, "-") != 0 ? ")" : "");
    return buf;
}

bool rp_case_known(const json_t *c)
{
    const json_t *known = json_object_get(c, "known");
    if (json_is_string(known))
        return strcmp(json_string_value(known), "xfail") == 0;
    return known == NULL && *rp_str(c, "deviation") != '\0';
}

const char *rp_case_stderr(const json_t *c)
{
    static const char *const keys[] = {"peer_log", "stderr", "shim_stderr"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (*rp_str(c, keys[i]) != '\0')
            return rp_str(c, keys[i]);
    return "";
}

void rp_esc_n(FILE *f, const char *s, size_t n)
{
    for (size_t i = 0; i < n && s[i] != '\0'; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default:
            if (c < 0x20 && c != '\n' && c != '\t')
                fprintf(f, "\\x%02x", c);
            else
                fputc(c, f);
        }
    }
}

void rp_esc(FILE *f, const char *s)
{
    rp_esc_n(f, s, strlen(s));
}

const char *rp_source_text(const rp_report *r, const char *file)
{
    for (size_t i = 0; i < r->num_sources; i++)
        if (strcmp(r->sources[i].path, file) == 0)
            return r->sources[i].text;
    return NULL;
}

/* ---- loading ---- */

/* The option table parses and validates every option and prints the usage;
 * --capture and --keylog belong to the RUN.json before them, so they are
 * CALL options that see the positional arguments so far. */
typedef struct report_opts {
    const char *out, *title, *decode;
    rp_report *r;  /* runs and fuzz folders, room for argc each */
    char why[320]; /* a refused value's reason */
} report_opts;

/* --capture / --keylog: the run is the last RUN.json given before it. */
static const char *attach_to_run(report_opts *o, const char *v, const char *const *args,
                                 size_t num_args, bool capture)
{
    const char *name = capture ? "--capture" : "--keylog";
    if (num_args == 0)
        return "give it after the RUN.json it belongs to";
    rp_run *run = &o->r->runs[num_args - 1];
    const char **slot = capture ? &run->capture : &run->keylog;
    if (*slot != NULL) {
        snprintf(o->why, sizeof(o->why), "%s already has %s %s: one %s per RUN.json",
                 args[num_args - 1], name, *slot, name);
        return o->why;
    }
    *slot = v;
    return NULL;
}

static const char *opt_capture(void *dst, const char *v, const char *const *args, size_t num_args)
{
    return attach_to_run(dst, v, args, num_args, true);
}

static const char *opt_keylog(void *dst, const char *v, const char *const *args, size_t num_args)
{
    return attach_to_run(dst, v, args, num_args, false);
}

static const char *opt_fuzz(void *dst, const char *v, const char *const *args, size_t num_args)
{
    (void)args;
    (void)num_args;
    report_opts *o = dst;
    o->r->fuzz[o->r->num_fuzz++].dir = v;
    return NULL;
}

static const td_cli_opt report_opts_table[] = {
    {.name = "--output",
     .alias = "-o",
     .kind = TD_CLI_OPT_STR,
     .offset = offsetof(report_opts, out),
     .arg = "FILE",
     .help = "the HTML file to write ('-': stdout); required"},
    {.name = "--capture",
     .kind = TD_CLI_OPT_CALL,
     .call = opt_capture,
     .arg = "PCAP",
     .help = "the `run --pcap` capture of the RUN.json before it on the command line"},
    {.name = "--keylog",
     .kind = TD_CLI_OPT_CALL,
     .call = opt_keylog,
     .arg = "KEYS",
     .help = "the `run --keylog` key log of that capture (a .pcapng embeds it)"},
    {.name = "--fuzz",
     .kind = TD_CLI_OPT_CALL,
     .call = opt_fuzz,
     .arg = "DIR",
     .help = "a `tools/fuzzctl run` output folder (findings.json, findings/, logs/), repeatable:\n"
             "per target exec/s, coverage and corpus over time, corpus sizes, findings by\n"
             "bucket with the oracle line and the decoded replay"},
    {.name = "--decode",
     .kind = TD_CLI_OPT_CHOICE,
     .offset = offsetof(report_opts, decode),
     .choices = "all|not-pass|none",
     .help = "the cases whose connections are decoded in the page: all, not-pass (cases\n"
             "some run did not pass) or none; default: all up to 200 cases, else not-pass\n"
             "(a full suite decoded is ~20 kB per case and run)"},
    {.name = "--title",
     .kind = TD_CLI_OPT_STR,
     .offset = offsetof(report_opts, title),
     .arg = "TEXT",
     .help = "the page's title (default: tlsdrill report)"},
};

static const td_cli_cmd report_cmd = {
    .name = "report",
    .args = "[RUN.json [--capture PCAP [--keylog KEYS]]]...",
    .min_args = 0,
    .max_args = SIZE_MAX,
    .about = "One self-contained HTML file (inline CSS, JS and SVG; it loads nothing): grade\n"
             "counts per peer, the rules x peers matrix (one column per RUN.json, a `tlsdrill\n"
             "run --json` report), root causes, and per case the scenario text, the rule,\n"
             "expected vs actual, the peer's log and the decoded connections side by side.",
    .more = "exit: 0 written, 1 an input does not load (file:line:col on stderr), 2 usage\n",
    .opts = report_opts_table,
    .num_opts = sizeof(report_opts_table) / sizeof(report_opts_table[0]),
};

static int load_run(rp_run *run)
{
    json_error_t e;
    run->root = json_load_file(run->path, 0, &e);
    if (run->root == NULL) {
        fprintf(stderr, "tlsdrill report: %s:%d:%d: %s\n", run->path, e.line, e.column, e.text);
        return -1;
    }
    run->cases = json_object_get(run->root, "cases");
    if (!json_is_array(run->cases)) {
        fprintf(stderr,
                "tlsdrill report: %s: no \"cases\" array: not a `tlsdrill run --json` report\n",
                run->path);
        return -1;
    }
    for (size_t i = 0; i < json_array_size(run->cases); i++)
        if (*rp_str(json_array_get(run->cases, i), "name") == '\0') {
            fprintf(stderr, "tlsdrill report: %s: case %zu has no name\n", run->path, i);
            return -1;
        }
    return 0;
}

/* Column headings: the peer (and its version), with the file name when two
 * runs have the same peer. */
static void label_runs(rp_report *r)
{
    for (size_t i = 0; i < r->num_runs; i++) {
        const char *peer = rp_str(r->runs[i].root, "peer");
        snprintf(r->runs[i].label, sizeof(r->runs[i].label), "%s", *peer ? peer : r->runs[i].path);
    }
    for (size_t i = 0; i < r->num_runs; i++) {
        bool dup = false;
        for (size_t k = 0; k < r->num_runs; k++)
            dup |= k != i && strcmp(rp_str(r->runs[k].root, "peer"),
                                    rp_str(r->runs[i].root, "peer")) == 0;
        if (dup) {
            const char *base = strrchr(r->runs[i].path, '/');
            size_t n = strlen(r->runs[i].label);
            snprintf(r->runs[i].label + n, sizeof(r->runs[i].label) - n, " (%.100s)",
                     base ? base + 1 : r->runs[i].path);
        }
    }
}

/* Dissects the run's capture; a capture that does not load is a note in the
 * report (the verdicts stand without it), not a failure. */
static void load_capture(rp_run *run, td_crypto *crypto)
{
    size_t len = 0, klen = 0;
    char *data = td_cli_read_file(run->capture, &len), *ktext = NULL;
    td_dis_keys *keys = NULL;
    td_diag diag;
    td_diag_clear(&diag);
    if (data == NULL) {
        snprintf(run->capture_note, sizeof(run->capture_note), "cannot read %s: %s", run->capture,
                 strerror(errno));
        goto out;
    }
    if (run->keylog != NULL) {
        ktext = td_cli_read_file(run->keylog, &klen);
        if (ktext == NULL) {
            snprintf(run->capture_note, sizeof(run->capture_note), "cannot read %s: %s",
                     run->keylog, strerror(errno));
            goto out;
        }
        if (td_dis_keys_parse(ktext, klen, &keys, &diag) != TD_OK) {
            snprintf(run->capture_note, sizeof(run->capture_note), "%s: %s", run->keylog,
                     diag.text);
            goto out;
        }
    }
    td_dis_capture_opts o = {.stream = -1};
    if (td_dissect_capture(crypto, (const uint8_t *)data, len, keys, &o, &run->tree, &diag) !=
        TD_OK) {
        snprintf(run->capture_note, sizeof(run->capture_note), "%s: %s", run->capture, diag.text);
        goto out;
    }
    size_t n = td_dis_num_children(run->tree);
    run->streams = calloc(n ? n : 1, sizeof(*run->streams));
    for (size_t i = 0; i < n && run->streams != NULL; i++) {
        td_dis_node *s = td_dis_child_at(run->tree, i);
        const char *idx = td_dis_get(s, "index");
        if (strcmp(td_dis_node_name(s), "stream") != 0 || idx == NULL)
            continue;
        unsigned long k = strtoul(idx, NULL, 10);
        if (k < n)
            run->streams[k] = s;
        if (k + 1 > run->num_streams)
            run->num_streams = k + 1;
    }
    if (run->keylog == NULL && strstr(run->capture, ".pcapng") == NULL)
        snprintf(run->capture_note, sizeof(run->capture_note),
                 "no --keylog for %s: encrypted records stay encrypted", run->capture);
out:
    td_dis_keys_free(keys);
    if (ktext != NULL)
        td_cleanse(ktext, klen);
    free(ktext);
    free(data);
}

static int load_fuzz(rp_fuzz *fz)
{
    char path[4096];
    json_error_t e;
    snprintf(path, sizeof(path), "%s/findings.json", fz->dir);
    fz->root = json_load_file(path, 0, &e);
    if (fz->root == NULL) {
        if (e.line > 0)
            fprintf(stderr, "tlsdrill report: %s:%d:%d: %s\n", path, e.line, e.column, e.text);
        else
            fprintf(stderr, "tlsdrill report: %s: %s (a `tools/fuzzctl run --out` folder?)\n",
                    path, e.text);
        return -1;
    }
    if (!json_is_array(json_object_get(fz->root, "targets"))) {
        fprintf(stderr, "tlsdrill report: %s: no \"targets\" array: not fuzzctl's findings.json\n",
                path);
        return -1;
    }
    return 0;
}

/* One rp_case per distinct case name, in the order of first appearance. */
static int index_cases(rp_report *r)
{
    json_t *seen = json_object();
    if (seen == NULL)
        return -1;
    size_t cap = 0;
    for (size_t ri = 0; ri < r->num_runs; ri++) {
        json_t *cases = r->runs[ri].cases;
        for (size_t i = 0; i < json_array_size(cases); i++) {
            json_t *c = json_array_get(cases, i);
            const char *name = rp_str(c, "name");
            json_t *at = json_object_get(seen, name);
            size_t k;
            if (at != NULL) {
                k = (size_t)json_integer_value(at);
            } else {
                rp_case *n = td_array_grow(r->cases, r->num_cases, &cap, sizeof(*n), 256);
                if (n == NULL)
                    goto fail;
                r->cases = n;
                k = r->num_cases;
                r->cases[k].name = name;
                r->cases[k].in_run = calloc(r->num_runs, sizeof(json_t *));
                if (r->cases[k].in_run == NULL)
                    goto fail;
                r->num_cases++;
                if (json_object_set_new(seen, name, json_integer((json_int_t)k)) != 0)
                    goto fail;
            }
            r->cases[k].in_run[ri] = c;
        }
    }
    json_decref(seen);
    return 0;
fail:
    json_decref(seen);
    return -1;
}

/* The scenario files the cases name: as given (relative to the working
 * directory, as `tlsdrill run` wrote them), else under the source tree. */
static void load_sources(rp_report *r)
{
    for (size_t i = 0; i < r->num_cases; i++)
        for (size_t k = 0; k < r->num_runs; k++) {
            const char *file = rp_str(r->cases[i].in_run[k], "file");
            if (*file == '\0' || rp_source_text(r, file) != NULL)
                continue;
            bool known = false;
            for (size_t s = 0; s < r->num_sources && !known; s++)
                known = strcmp(r->sources[s].path, file) == 0;
            if (known)
                continue;
            rp_source *n =
                td_array_grow(r->sources, r->num_sources, &r->cap_sources, sizeof(*n), 16);
            if (n == NULL)
                return;
            r->sources = n;
            size_t len;
            char alt[4096];
            char *text = td_cli_read_file(file, &len);
            if (text == NULL && file[0] != '/') {
                snprintf(alt, sizeof(alt), "%s/%s", TD_SOURCE_DIR, file);
                text = td_cli_read_file(alt, &len);
            }
            n[r->num_sources].path = strdup(file);
            n[r->num_sources].text = text;
            r->num_sources++;
        }
}

static void free_report(rp_report *r)
{
    for (size_t i = 0; i < r->num_runs; i++) {
        json_decref(r->runs[i].root);
        td_dis_node_free(r->runs[i].tree);
        free(r->runs[i].streams);
    }
    for (size_t i = 0; i < r->num_fuzz; i++)
        json_decref(r->fuzz[i].root);
    for (size_t i = 0; i < r->num_cases; i++)
        free(r->cases[i].in_run);
    for (size_t i = 0; i < r->num_sources; i++) {
        free(r->sources[i].path);
        free(r->sources[i].text);
    }
    free(r->runs);
    free(r->fuzz);
    free(r->cases);
    free(r->sources);
}

int td_cli_report(int argc, char **argv)
{
    rp_report r = {.title = "tlsdrill report"};
    const char *out = NULL;
    int rc = 2;
    td_crypto *crypto = NULL;
    r.runs = calloc((size_t)argc, sizeof(*r.runs));
    r.fuzz = calloc((size_t)argc, sizeof(*r.fuzz));
    if (r.runs == NULL || r.fuzz == NULL)
        goto out;
    report_opts o = {.r = &r};
    const char **args = calloc((size_t)argc, sizeof(*args));
    size_t num_args = 0;
    if (args == NULL)
        goto out;
    rc = td_cli_opt_parse(&report_cmd, argc, argv, &o, args, &num_args);
    for (size_t i = 0; rc == TD_CLI_CONTINUE && i < num_args; i++)
        r.runs[r.num_runs++].path = args[i];
    free(args);
    if (rc != TD_CLI_CONTINUE)
        goto out;
    rc = 2;
    if (o.out == NULL) {
        rc = td_cli_usage_error(&report_cmd, "-o FILE is required");
        goto out;
    }
    for (size_t i = 0; i < r.num_runs; i++)
        if (r.runs[i].keylog != NULL && r.runs[i].capture == NULL) {
            rc = td_cli_usage_error(&report_cmd, "%s: --keylog without --capture", r.runs[i].path);
            goto out;
        }
    if (r.num_runs == 0 && r.num_fuzz == 0) {
        rc = td_cli_usage_error(&report_cmd, "nothing to report: give RUN.json or --fuzz DIR");
        goto out;
    }
    out = o.out;
    if (o.title != NULL)
        r.title = o.title;
    if (o.decode != NULL)
        r.decode = strcmp(o.decode, "all") == 0        ? RP_DECODE_ALL
                   : strcmp(o.decode, "not-pass") == 0 ? RP_DECODE_NOT_PASS
                                                       : RP_DECODE_NONE;
    rc = 1;
    for (size_t i = 0; i < r.num_runs; i++)
        if (load_run(&r.runs[i]) != 0)
            goto out;
    for (size_t i = 0; i < r.num_fuzz; i++)
        if (load_fuzz(&r.fuzz[i]) != 0)
            goto out;
    label_runs(&r);
    if (td_crypto_new(&crypto) != TD_OK) {
        fprintf(stderr, "tlsdrill report: cannot initialise crypto\n");
        rc = 2;
        goto out;
    }
    for (size_t i = 0; i < r.num_runs; i++)
        if (r.runs[i].capture != NULL) {
            load_capture(&r.runs[i], crypto);
            if (r.runs[i].capture_note[0] != '\0')
                fprintf(stderr, "tlsdrill report: warning: %s\n", r.runs[i].capture_note);
        }
    if (index_cases(&r) != 0) {
        fprintf(stderr, "tlsdrill report: out of memory\n");
        rc = 2;
        goto out;
    }
    load_sources(&r);
    if (r.decode == RP_DECODE_AUTO)
        r.decode = r.num_cases <= RP_DECODE_AUTO_MAX ? RP_DECODE_ALL : RP_DECODE_NOT_PASS;
    char *html = NULL;
    size_t html_len = 0;
    FILE *mem = open_memstream(&html, &html_len);
    if (mem == NULL) {
        rc = 2;
        goto out;
    }
    rp_write_html(mem, &r);
    bool ok = fclose(mem) == 0;
    if (ok && strcmp(out, "-") == 0)
        ok = fwrite(html, 1, html_len, stdout) == html_len;
    else if (ok)
        ok = td_cli_write_file(out, html, html_len);
    free(html);
    if (!ok) {
        fprintf(stderr, "tlsdrill report: cannot write %s\n", out);
        rc = 2;
        goto out;
    }
    rc = 0;
out:
    td_crypto_free(crypto);
    free_report(&r);
    return rc;
}
