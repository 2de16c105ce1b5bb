/* tools/cli/report_fuzz.c -- the fuzz campaigns of `tlsdrill report --fuzz
 * DIR` (report.h): per target exec/s and coverage over time as inline SVG,
 * corpus sizes, and the findings by bucket with their oracle line and the
 * decoded replay (fuzzctl's findings/<id>/log.txt and trace.txt).
 *
 * The time series: `series` of each target in findings.json (fuzzctl
 * samples its live stats: [seconds, execs, exec/s, coverage, features,
 * corpus]); a run written before fuzzctl kept it falls back to libFuzzer's
 * own progress lines in logs/<target>.log
 * ("#N: cov: C ft: F corp: K exec/s: E oom/timeout/crash: a/b/c time: Ts"). */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report.h"

#define RP_MAX_TEXT (96u * 1024u) /* bytes of a log or trace shown */

static const char *rp_str_at(const json_t *arr, size_t i)
{
    const char *s = json_string_value(json_array_get(arr, i));
    return s != NULL ? s : "";
}

typedef struct rp_sample {
    double t, execs, eps, cov, ft, corpus;
} rp_sample;

typedef struct rp_series {
    rp_sample *s;
    size_t num;
    const char *source; /* "fuzzctl" or "libFuzzer log" */
} rp_series;

static void push(rp_series *se, rp_sample x)
{
    rp_sample *n = realloc(se->s, (se->num + 1) * sizeof(*n));
    if (n == NULL)
        return;
    se->s = n;
    se->s[se->num++] = x;
}

static void load_series(const rp_fuzz *fz, const json_t *t, rp_series *se)
{
    const json_t *arr = json_object_get(t, "series");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *p = json_array_get(arr, i);
        if (json_array_size(p) < 4)
            continue;
        rp_sample x = {0};
        double *dst[] = {&x.t, &x.execs, &x.eps, &x.cov, &x.ft, &x.corpus};
        for (size_t k = 0; k < 6 && k < json_array_size(p); k++)
            *dst[k] = json_number_value(json_array_get(p, k));
        push(se, x);
    }
    if (se->num > 0) {
        se->source = "fuzzctl's samples";
        return;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/logs/%s.log", fz->dir, rp_str(t, "name"));
    size_t len;
    char *text = td_cli_read_file(path, &len);
    if (text == NULL)
        return;
    for (char *line = text; line != NULL && *line;) {
        char *nl = strchr(line, '\n');
        if (nl != NULL)
            *nl = '\0';
        unsigned long long n, cov, ft, corp, eps, a, b, c, secs;
        if (sscanf(line,
                   "#%llu: cov: %llu ft: %llu corp: %llu exec/s: %llu oom/timeout/crash: "
                   "%llu/%llu/%llu time: %llus",
                   &n, &cov, &ft, &corp, &eps, &a, &b, &c, &secs) == 9)
            push(se, (rp_sample){(double)secs, (double)n, (double)eps, (double)cov, (double)ft,
                                 (double)corp});
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    if (se->num > 0)
        se->source = "libFuzzer's log";
}

/* A line plot of one value over time; |off| picks the field of rp_sample. */
static void plot(FILE *f, const char *title, const rp_series *se, size_t off, const char *cls)
{
    const double W = 320, H = 130, L = 44, R = 8, T = 18, B = 20;
    fprintf(f, "<figure class=\"plot\"><svg width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
               "role=\"img\" aria-label=\"%s over time\">",
            W, H, W, H, title);
    fprintf(f, "<text x=\"%.0f\" y=\"12\" class=\"pt\">%s</text>", L, title);
    double tmax = 0, vmax = 0;
    for (size_t i = 0; i < se->num; i++) {
        double v = *(const double *)((const char *)&se->s[i] + off);
        tmax = se->s[i].t > tmax ? se->s[i].t : tmax;
        vmax = v > vmax ? v : vmax;
    }
    fprintf(f, "<line class=\"ax\" x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\"/>", L, H - B,
            W - R, H - B);
    fprintf(f, "<line class=\"ax\" x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\"/>", L, T, L,
            H - B);
    if (se->num == 0) {
        fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" class=\"pl\">no samples</text></svg></figure>",
                L + 20, H / 2);
        return;
    }
    if (tmax <= 0)
        tmax = 1;
    if (vmax <= 0)
        vmax = 1;
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" class=\"pl\" text-anchor=\"end\">%.0f</text>", L - 4,
            T + 4, vmax);
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" class=\"pl\" text-anchor=\"end\">0</text>", L - 4,
            H - B);
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" class=\"pl\" text-anchor=\"end\">%.0f s</text>",
            W - R, H - 6, tmax);
    fprintf(f, "<polyline class=\"%s\" points=\"", cls);
    for (size_t i = 0; i < se->num; i++) {
        double v = *(const double *)((const char *)&se->s[i] + off);
        fprintf(f, "%.1f,%.1f ", L + (W - L - R) * se->s[i].t / tmax,
                (H - B) - (H - B - T) * v / vmax);
    }
    fputs("\"/>", f);
    for (size_t i = 0; i < se->num && se->num <= 40; i++) {
        double v = *(const double *)((const char *)&se->s[i] + off);
        fprintf(f, "<circle class=\"%s\" r=\"2\" cx=\"%.1f\" cy=\"%.1f\"><title>%.0f s: %.0f</title></circle>",
                cls, L + (W - L - R) * se->s[i].t / tmax, (H - B) - (H - B - T) * v / vmax,
                se->s[i].t, v);
    }
    fputs("</svg></figure>", f);
}

/* The first `==tlsdrill-oracle==` line of a finding's log, else the
 * sanitizer's or libFuzzer's ERROR line. */
static void oracle_line(const char *log, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (log == NULL)
        return;
    const char *keys[] = {"==tlsdrill-oracle==", "ERROR: AddressSanitizer", "runtime error:",
                          "ERROR:", "SUMMARY:"};
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        const char *p = strstr(log, keys[k]);
        if (p == NULL)
            continue;
        while (p > log && p[-1] != '\n')
            p--;
        snprintf(buf, cap, "%.*s", (int)strcspn(p, "\n"), p);
        return;
    }
}

/* A finding's file: <DIR>/findings/<id>/NAME (the folder moved with the
 * run), else the absolute folder findings.json names. */
static char *finding_file(const rp_fuzz *fz, const json_t *fd, const char *name)
{
    char path[4096];
    size_t len;
    snprintf(path, sizeof(path), "%s/findings/%s/%s", fz->dir, rp_str(fd, "id"), name);
    char *text = td_cli_read_file(path, &len);
    if (text == NULL && *rp_str(fd, "dir") != '\0') {
        snprintf(path, sizeof(path), "%s/%s", rp_str(fd, "dir"), name);
        text = td_cli_read_file(path, &len);
    }
    if (text != NULL && len > RP_MAX_TEXT)
        strcpy(text + RP_MAX_TEXT - 40, "\n... (cut: see the file itself)\n");
    return text;
}

static void write_finding(FILE *f, const rp_fuzz *fz, const json_t *fd)
{
    bool is_new = json_is_true(json_object_get(fd, "new"));
    fprintf(f, "<details class=\"finding\"><summary><span class=\"badge %s\">%s</span> <b>",
            is_new ? "new" : "known", is_new ? "NEW" : "known");
    rp_esc(f, rp_str(fd, "kind"));
    fputs("</b> ", f);
    rp_esc(f, rp_str(fd, "headline"));
    fprintf(f, " <small>%lld input%s</small></summary><dl>",
            (long long)json_integer_value(json_object_get(fd, "count")),
            json_integer_value(json_object_get(fd, "count")) == 1 ? "" : "s");
    fputs("<dt>bucket</dt><dd><code>", f);
    rp_esc(f, rp_str(fd, "bucket"));
    fputs("</code></dd>", f);
    char *log = finding_file(fz, fd, "log.txt");
    char line[1024];
    oracle_line(log, line, sizeof(line));
    if (line[0]) {
        fputs("<dt>oracle line</dt><dd><code>", f);
        rp_esc(f, line);
        fputs("</code></dd>", f);
    }
    if (*rp_str(fd, "rule")) {
        fputs("<dt>rule</dt><dd>", f);
        rp_esc(f, rp_str(fd, "rule"));
        fputs(", alert ", f);
        rp_esc(f, rp_str(fd, "alert"));
        fputs(": ", f);
        rp_esc(f, rp_str(fd, "reason"));
        fputs("</dd>", f);
    }
    const json_t *frames = json_object_get(fd, "frames");
    if (json_array_size(frames) > 0) {
        fputs("<dt>top frames</dt><dd><code>", f);
        for (size_t i = 0; i < json_array_size(frames); i++) {
            fputs(i ? " &larr; " : "", f);
            rp_esc(f, rp_str_at(frames, i));
        }
        fputs("</code></dd>", f);
    }
    fprintf(f, "<dt>minimised</dt><dd>%lld &rarr; %lld bytes (%s, verdict %s)</dd>",
            (long long)json_integer_value(json_object_get(fd, "input_size")),
            (long long)json_integer_value(json_object_get(fd, "minimized_size")),
            rp_str(fd, "minimize_method"),
            json_is_true(json_object_get(fd, "verdict_preserved")) ? "preserved" : "NOT preserved");
    fputs("<dt>reproduce</dt><dd><code>", f);
    rp_esc(f, rp_str(fd, "reproduce"));
    fputs("</code></dd>", f);
    if (*rp_str(fd, "regression_file")) {
        fputs("<dt>regression</dt><dd><code>", f);
        rp_esc(f, rp_str(fd, "regression_file"));
        fputs("</code></dd>", f);
    }
    fputs("</dl>", f);
    char *trace = finding_file(fz, fd, "trace.txt");
    if (trace != NULL) {
        fputs("<h5>decoded replay <small>(", f);
        rp_esc(f, *rp_str(fd, "trace_tool") ? rp_str(fd, "trace_tool") : "trace.txt");
        fputs(")</small></h5>", f);
        rp_write_decoded(f, trace);
    }
    if (log != NULL) {
        fputs("<details class=\"log\"><summary>log.txt</summary><pre class=\"stderr\">", f);
        rp_esc(f, log);
        fputs("</pre></details>", f);
    }
    free(log);
    free(trace);
    fputs("</details>\n", f);
}

static void write_campaign(FILE *f, const rp_fuzz *fz, size_t idx)
{
    const json_t *root = fz->root, *targets = json_object_get(root, "targets");
    const json_t *findings = json_object_get(root, "findings");
    size_t nnew = 0;
    for (size_t i = 0; i < json_array_size(findings); i++)
        nnew += json_is_true(json_object_get(json_array_get(findings, i), "new"));
    fprintf(f, "<div class=\"campaign\" id=\"fuzz-%zu\"><h3><code>", idx);
    rp_esc(f, fz->dir);
    fprintf(f, "</code> <small>%zu target%s, %zu finding%s (%zu new)</small></h3><p class=\"meta\">",
            json_array_size(targets), json_array_size(targets) == 1 ? "" : "s",
            json_array_size(findings), json_array_size(findings) == 1 ? "" : "s", nnew);
    fputs("engine ", f);
    rp_esc(f, rp_str(root, "engine"));
    fprintf(f, ", budget %.0f s (fuzzing %.0f s), %lld job(s), started ",
            json_number_value(json_object_get(root, "budget")),
            json_number_value(json_object_get(root, "fuzz_seconds")),
            (long long)json_integer_value(json_object_get(root, "jobs")));
    rp_esc(f, rp_str(root, "started"));
    fputs("</p>\n<table class=\"fuzz\"><thead><tr><th>target</th><th>workers</th><th>seconds</th>"
          "<th>execs</th><th>exec/s</th><th>coverage</th><th>features</th>"
          "<th title=\"inputs in corpus/TARGET after the run\">corpus dir</th>"
          "<th title=\"inputs merged into it\">merged</th><th>findings</th></tr></thead><tbody>\n",
          f);
    for (size_t i = 0; i < json_array_size(targets); i++) {
        const json_t *t = json_array_get(targets, i);
        fputs("<tr><th>", f);
        rp_esc(f, rp_str(t, "name"));
        fputs("</th>", f);
        const char *keys[] = {"workers", "seconds", "execs",  "exec_per_sec", "coverage",
                              "features", "corpus", "merged", "findings"};
        for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
            fprintf(f, "<td class=\"n\">%.0f</td>", json_number_value(json_object_get(t, keys[k])));
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table>\n", f);
    for (size_t i = 0; i < json_array_size(targets); i++) {
        const json_t *t = json_array_get(targets, i);
        rp_series se = {0};
        load_series(fz, t, &se);
        fputs("<div class=\"target\"><h4>", f);
        rp_esc(f, rp_str(t, "name"));
        fprintf(f, " <small>%zu sample%s%s%s</small></h4><div class=\"plots\">", se.num,
                se.num == 1 ? "" : "s", se.source ? " from " : "", se.source ? se.source : "");
        plot(f, "exec/s", &se, offsetof(rp_sample, eps), "l-eps");
        plot(f, "coverage (edges)", &se, offsetof(rp_sample, cov), "l-cov");
        plot(f, "live corpus (inputs)", &se, offsetof(rp_sample, corpus), "l-corp");
        fputs("</div>", f);
        size_t nf = 0;
        for (size_t k = 0; k < json_array_size(findings); k++) {
            const json_t *fd = json_array_get(findings, k);
            if (strcmp(rp_str(fd, "target"), rp_str(t, "name")) != 0)
                continue;
            if (nf++ == 0)
                fputs("<h5>findings by bucket</h5>", f);
            write_finding(f, fz, fd);
        }
        fputs("</div>\n", f);
        free(se.s);
    }
    const json_t *broken = json_object_get(root, "failed_to_start");
    if (json_array_size(broken) > 0) {
        fputs("<p class=\"note\">the fuzzer did not start for:", f);
        for (size_t i = 0; i < json_array_size(broken); i++) {
            fputc(' ', f);
            rp_esc(f, rp_str_at(broken, i));
        }
        fputs("</p>", f);
    }
    fputs("</div>\n", f);
}

void rp_write_fuzz(FILE *f, const rp_report *r)
{
    fputs("<section id=\"fuzz\"><h2>Fuzz campaigns</h2>\n", f);
    for (size_t i = 0; i < r->num_fuzz; i++)
        write_campaign(f, &r->fuzz[i], i);
    fputs("</section>\n", f);
}
