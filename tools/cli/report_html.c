/* tools/cli/report_html.c -- the HTML of `tlsdrill report` (report.h):
 * summary (grade counts per peer), the rules x peers matrix grouped by rule
 * family, root causes per peer, and one detail block per case. Everything
 * is rendered here, so the page reads without JavaScript; the inlined
 * script (tools/report/report.js) only filters, folds and jumps. */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "tlsdrill/rules.h"

/* ---- small pieces ---- */

static void grade_span(FILE *f, const char *grade)
{
    fprintf(f, "<span class=\"g g-%s\">", rp_grades[rp_grade_index(grade)]);
    rp_esc(f, grade);
    fputs("</span>", f);
}

static const char *checker_name(td_checker c)
{
    switch (c) {
    case TD_CHECKER_CLIENT: return "the client checks";
    case TD_CHECKER_SERVER: return "the server checks";
    case TD_CHECKER_BOTH: return "both sides check";
    case TD_CHECKER_SELF: return "the sender itself";
    }
    return "";
}

/* ---- the rows of the matrix: rules by family, RFC section, catalogue order ---- */

static void family_of(const char *id, char *buf, size_t cap)
{
    if (*id == '\0') {
        snprintf(buf, cap, "baseline");
        return;
    }
    snprintf(buf, cap, "%.*s", (int)strcspn(id, "-"), id);
}

typedef struct rp_row {
    const char *id;   /* rule ID, "" for cases without a rule */
    size_t order;     /* catalogue order; unknown rules and baselines after */
    size_t fam_order; /* the first catalogue order of the rule's family */
    char sec[16];     /* the rule's own RFC 8446 section (first of its § column), "" if none */
    size_t *cases;    /* indices into r->cases */
    size_t num_cases;
} rp_row;

/* RFC 8446 section numbers in document order: "4.1.10" after "4.1.2",
 * appendices ("A.1") after the numbered sections, "" last. */
static int cmp_section(const char *a, const char *b)
{
    if (*a == '\0' || *b == '\0')
        return (*a == '\0') - (*b == '\0');
    for (;;) {
        size_t la = strcspn(a, "."), lb = strcspn(b, ".");
        bool da = a[0] >= '0' && a[0] <= '9', db = b[0] >= '0' && b[0] <= '9';
        if (da != db)
            return da ? -1 : 1;
        int c;
        if (da) {
            unsigned long x = strtoul(a, NULL, 10), y = strtoul(b, NULL, 10);
            c = x < y ? -1 : x > y;
        } else {
            c = strncmp(a, b, la < lb ? la : lb);
            if (c == 0 && la != lb)
                c = la < lb ? -1 : 1;
        }
        if (c != 0)
            return c;
        a += la;
        b += lb;
        if (*a == '\0' || *b == '\0')
            return (*a != '\0') - (*b != '\0');
        a++;
        b++;
    }
}

/* Family (in catalogue order), then RFC section within the family, then
 * the catalogue's order. */
static int cmp_row(const void *a, const void *b)
{
    const rp_row *x = a, *y = b;
    if (x->fam_order != y->fam_order)
        return x->fam_order < y->fam_order ? -1 : 1;
    int c = cmp_section(x->sec, y->sec);
    if (c != 0)
        return c;
    if (x->order != y->order)
        return x->order < y->order ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* A rule's own section: the first of its § column ("4.1.2, 4.2.10" ->
 * "4.1.2"; "6.2 (RFC 7507 §3)" -> "6.2"), "" when there is none. */
static void primary_section(const td_rule_info *ri, char *buf, size_t cap)
{
    const char *s = ri != NULL ? ri->section : "";
    size_t n = strcspn(s, ", (");
    snprintf(buf, cap, "%.*s", (int)n, s);
    if (td_rfc8446_title(buf) == NULL)
        buf[0] = '\0';
}

static rp_row *row_for(rp_row **rows, size_t *num, const char *id)
{
    for (size_t i = 0; i < *num; i++)
        if (strcmp((*rows)[i].id, id) == 0)
            return &(*rows)[i];
    rp_row *n = realloc(*rows, (*num + 1) * sizeof(*n));
    if (n == NULL)
        return NULL;
    *rows = n;
    td_rule rule = *id ? td_rule_by_id(id) : TD_RULE_NONE;
    n[*num] = (rp_row){.id = id,
                       .order = *id == '\0'            ? (size_t)TD_NUM_RULES + 2
                                : rule == TD_RULE_NONE ? (size_t)TD_NUM_RULES + 1
                                                       : (size_t)rule};
    primary_section(td_rule_get(rule), n[*num].sec, sizeof(n[*num].sec));
    return &n[(*num)++];
}

static rp_row *build_rows(const rp_report *r, size_t *out_num)
{
    rp_row *rows = NULL;
    size_t num = 0;
    for (size_t i = 0; i < r->num_cases; i++) {
        /* The rules of the first run that has the case. */
        const json_t *c = NULL;
        for (size_t k = 0; k < r->num_runs && c == NULL; k++)
            c = r->cases[i].in_run[k];
        const json_t *rules = json_object_get(c, "rules");
        size_t n = json_array_size(rules);
        for (size_t k = 0; k < (n ? n : 1); k++) {
            const char *id = n ? json_string_value(json_array_get(rules, k)) : "";
            rp_row *row = row_for(&rows, &num, id ? id : "");
            if (row == NULL)
                continue;
            size_t *p = realloc(row->cases, (row->num_cases + 1) * sizeof(*p));
            if (p == NULL)
                continue;
            row->cases = p;
            row->cases[row->num_cases++] = i;
        }
    }
    for (size_t i = 0; i < num; i++) {
        char fam[64], other[64];
        family_of(rows[i].id, fam, sizeof(fam));
        rows[i].fam_order = rows[i].order;
        for (size_t j = 0; j < num; j++) {
            family_of(rows[j].id, other, sizeof(other));
            if (rows[j].order < rows[i].fam_order && strcmp(fam, other) == 0)
                rows[i].fam_order = rows[j].order;
        }
    }
    if (num > 1)
        qsort(rows, num, sizeof(*rows), cmp_row);
    *out_num = num;
    return rows;
}

/* ---- summary ---- */

static void write_summary(FILE *f, const rp_report *r)
{
    size_t counts[64][RP_NUM_GRADES];
    size_t nr = r->num_runs < 64 ? r->num_runs : 64;
    bool other = false;
    memset(counts, 0, sizeof(counts));
    for (size_t k = 0; k < nr; k++)
        for (size_t i = 0; i < json_array_size(r->runs[k].cases); i++) {
            size_t g = rp_grade_index(rp_case_grade(json_array_get(r->runs[k].cases, i)));
            counts[k][g]++;
            other |= g == RP_NUM_GRADES - 1;
        }
    fputs("<section id=\"summary\"><h2>Grades per peer</h2>\n"
          "<table class=\"counts\"><thead><tr><th>peer</th><th>version</th><th>mode</th>"
          "<th>cases</th>",
          f);
    for (size_t g = 0; g < RP_NUM_GRADES; g++)
        if (g + 1 < RP_NUM_GRADES || other)
            fprintf(f, "<th class=\"g-%s\">%s</th>", rp_grades[g], rp_grades[g]);
    fputs("<th>known deviations</th><th>grades</th></tr></thead><tbody>\n", f);
    for (size_t k = 0; k < nr; k++) {
        const rp_run *run = &r->runs[k];
        size_t total = json_array_size(run->cases), known = 0;
        for (size_t i = 0; i < total; i++)
            known += rp_case_known(json_array_get(run->cases, i));
        fprintf(f, "<tr data-peer=\"%zu\"><th>", k);
        rp_esc(f, run->label);
        fputs("</th><td>", f);
        rp_esc(f, rp_str(run->root, "peer_version"));
        fputs("</td><td>", f);
        rp_esc(f, rp_str(run->root, "mode"));
        fprintf(f, "</td><td class=\"n\">%zu</td>", total);
        for (size_t g = 0; g < RP_NUM_GRADES; g++)
            if (g + 1 < RP_NUM_GRADES || other)
                fprintf(f, "<td class=\"n%s%s\" data-grade=\"%s\">%zu</td>",
                        counts[k][g] ? " gc g-" : "", counts[k][g] ? rp_grades[g] : "", rp_grades[g], counts[k][g]);
        fprintf(f, "<td class=\"n\">%zu</td><td>", known);
        /* A stacked bar of the grades, worst first. */
        fputs("<svg class=\"bar\" width=\"160\" height=\"14\" viewBox=\"0 0 160 14\" preserveAspectRatio=\"none\" "
              "role=\"img\" aria-label=\"grades\">",
              f);
        double x = 0;
        for (size_t g = 0; g < RP_NUM_GRADES && total > 0; g++) {
            double w = 160.0 * (double)counts[k][g] / (double)total;
            if (w <= 0)
                continue;
            fprintf(f, "<rect class=\"f-%s\" x=\"%.2f\" y=\"0\" width=\"%.2f\" height=\"14\">"
                       "<title>%s: %zu</title></rect>",
                    rp_grades[g], x, w, rp_grades[g], counts[k][g]);
            x += w;
        }
        fputs("</svg></td></tr>\n", f);
    }
    fputs("</tbody></table>\n<p class=\"legend\">", f);
    static const char *const meaning[RP_NUM_GRADES] = {
        "a MUST broken: the SUT went on, crashed, hung or sent bytes after its fatal alert",
        "no verdict: the run itself failed for this case",
        "the SUT refused, with another alert than the rule allows",
        "a SHOULD/MAY or sender-only rule not followed: shown, never failing",
        "the peer cannot be configured for the case",
        "the premise does not hold for this SUT",
        "the SUT did what the rule allows",
        "a grade this report does not know"};
    for (size_t g = 0; g < RP_NUM_GRADES; g++)
        if (g + 1 < RP_NUM_GRADES || other) {
            grade_span(f, rp_grades[g]);
            fprintf(f, " %s. ", meaning[g]);
        }
    fputs("</p>\n", f);
    for (size_t k = 0; k < r->num_runs; k++)
        if (r->runs[k].capture_note[0] != '\0') {
            fputs("<p class=\"note\">", f);
            rp_esc(f, r->runs[k].label);
            fputs(": ", f);
            rp_esc(f, r->runs[k].capture_note);
            fputs("</p>\n", f);
        }
    fputs("</section>\n", f);
}

/* ---- matrix ---- */

static size_t worst_in_row(const rp_report *r, const rp_row *row, size_t k, size_t *out_n,
                           size_t *out_pass)
{
    size_t worst = RP_NUM_GRADES, n = 0, pass = 0;
    for (size_t i = 0; i < row->num_cases; i++) {
        const json_t *c = r->cases[row->cases[i]].in_run[k];
        if (c == NULL)
            continue;
        size_t g = rp_grade_index(rp_case_grade(c));
        /* "other" sorts last but is worse than a pass. */
        size_t rank = g == RP_NUM_GRADES - 1 ? 2 : g;
        size_t wrank = worst == RP_NUM_GRADES - 1 ? 2 : worst;
        if (worst == RP_NUM_GRADES || rank < wrank)
            worst = g;
        n++;
        pass += strcmp(rp_grades[g], "pass") == 0;
    }
    *out_n = n;
    *out_pass = pass;
    return worst;
}

static void case_cell(FILE *f, const json_t *c, size_t k)
{
    if (c == NULL) {
        fprintf(f, "<td class=\"c none\" data-p=\"%zu\" data-g=\"\">&middot;</td>", k);
        return;
    }
    const char *g = rp_case_grade(c), *dev = rp_case_known(c) ? rp_str(c, "deviation") : "";
    fprintf(f, "<td class=\"c g-%s%s\" data-p=\"%zu\" data-g=\"%s\" title=\"", rp_grades[rp_grade_index(g)],
            *dev ? " known" : "", k, rp_grades[rp_grade_index(g)]);
    rp_esc(f, rp_str(c, "actual"));
    if (*dev) {
        fputs(" | known deviation: ", f);
        rp_esc(f, dev);
    }
    fputs("\">", f);
    rp_esc(f, g);
    if (*dev)
        fputs("&dagger;", f);
    fputs("</td>", f);
}

/* "§4.1.2 Client Hello" or "Appendix D.5 Security Restrictions ...", as
 * text (the section's heading in RFC 8446). */
static void write_section_name(FILE *f, const char *sec)
{
    const char *title = td_rfc8446_title(sec);
    fputs(sec[0] >= 'A' && sec[0] <= 'Z' ? "Appendix " : "&sect;", f);
    rp_esc(f, sec);
    if (title != NULL) {
        fputc(' ', f);
        rp_esc(f, title);
    }
}

/* A sub-heading of a family: the RFC 8446 section its next rules are in
 * (none for baselines and rules this build does not know). */
static void write_section_heading(FILE *f, const char *sec, size_t nrules, size_t cols)
{
    fprintf(f, "<tbody class=\"sec\" data-sec=\"");
    rp_esc(f, sec);
    fprintf(f, "\"><tr><th colspan=\"%zu\">", cols);
    write_section_name(f, sec);
    fprintf(f, " <small>%zu rule%s</small></th></tr></tbody>\n", nrules, nrules == 1 ? "" : "s");
}

static void write_matrix(FILE *f, const rp_report *r, const rp_row *rows, size_t num_rows)
{
    fputs("<section id=\"matrix\"><h2>Rules &times; peers</h2>\n"
          "<form id=\"filters\" class=\"filters\" hidden>"
          "<label>level <select id=\"f-level\"><option value=\"\">any</option>"
          "<option>MUST</option><option>SHOULD</option><option>MAY</option>"
          "<option>sender</option><option>baseline</option></select></label> "
          "<span class=\"fg\">grade",
          f);
    for (size_t g = 0; g < RP_NUM_GRADES; g++)
        fprintf(f, " <label class=\"g-%s\"><input type=\"checkbox\" name=\"grade\" value=\"%s\" "
                   "checked>%s</label>",
                rp_grades[g], rp_grades[g], rp_grades[g]);
    fputs("</span> <span class=\"fp\">peer", f);
    for (size_t k = 0; k < r->num_runs; k++) {
        fprintf(f, " <label><input type=\"checkbox\" name=\"peer\" value=\"%zu\" checked>", k);
        rp_esc(f, r->runs[k].label);
        fputs("</label>", f);
    }
    fputs(
        "</span> <label>text <input type=\"search\" id=\"f-text\" placeholder=\"case, rule, "
        "reason\"></label> <label><input type=\"checkbox\" id=\"f-cases\">every case</label>"
        " <span id=\"f-status\" class=\"status\"></span></form>\n"
        "<p class=\"hint\">One row per catalogue rule, grouped by rule family and, within it, by "
        "the RFC 8446 section the rule comes from; one column per run; a cell shows the worst "
        "grade of the rule's cases and how many passed. &dagger;: a known deviation "
        "(<code>--expect</code>). A rule's cases follow its row.</p>\n"
        "<table class=\"matrix\" id=\"matrix-table\"><thead><tr><th>rule / case</th><th>level</th>"
        "<th>RFC 8446 &sect; / file:line</th>",
        f);
    for (size_t k = 0; k < r->num_runs; k++) {
        fprintf(f, "<th class=\"c\" data-p=\"%zu\">", k);
        rp_esc(f, r->runs[k].label);
        fputs("</th>", f);
    }
    fputs("</tr></thead>\n", f);
    char fam[64] = "", cur[64] = "", cursec[16] = "";
    for (size_t ri = 0; ri < num_rows; ri++) {
        const rp_row *row = &rows[ri];
        family_of(row->id, fam, sizeof(fam));
        if (strcmp(fam, cur) != 0) {
            size_t nrules = 0;
            for (size_t j = ri; j < num_rows; j++) {
                char ff[64];
                family_of(rows[j].id, ff, sizeof(ff));
                if (strcmp(ff, fam) != 0)
                    break;
                nrules++;
            }
            fprintf(f, "<tbody class=\"fam\"><tr><th colspan=\"%zu\">", 3 + r->num_runs);
            rp_esc(f, fam);
            fprintf(f, " <small>%zu rule%s</small></th></tr></tbody>\n", nrules,
                    nrules == 1 ? "" : "s");
            snprintf(cur, sizeof(cur), "%s", fam);
            cursec[0] = '\1';
        }
        if (strcmp(row->sec, cursec) != 0 && row->sec[0] != '\0') {
            size_t nrules = 0;
            for (size_t j = ri; j < num_rows && strcmp(rows[j].sec, row->sec) == 0; j++) {
                char ff[64];
                family_of(rows[j].id, ff, sizeof(ff));
                if (strcmp(ff, fam) != 0)
                    break;
                nrules++;
            }
            write_section_heading(f, row->sec, nrules, 3 + r->num_runs);
            snprintf(cursec, sizeof(cursec), "%s", row->sec);
        }
        const td_rule_info *ri_ = *row->id ? td_rule_get(td_rule_by_id(row->id)) : NULL;
        const char *level = ri_ ? td_level_name(ri_->level) : *row->id ? "unknown" : "baseline";
        fprintf(f, "<tbody class=\"rule\" data-level=\"%s\"><tr class=\"r\" data-text=\"", level);
        rp_esc(f, *row->id ? row->id : "baseline");
        if (ri_ != NULL) {
            fputc(' ', f);
            rp_esc(f, ri_->condition);
        }
        fputs("\"><td class=\"id\"><button type=\"button\" class=\"tog\" "
              "aria-label=\"show the cases\"></button>",
              f);
        rp_esc(f, *row->id ? row->id : "(no rule: baselines)");
        fprintf(f, " <small>%zu case%s</small></td><td>%s</td><td>", row->num_cases,
                row->num_cases == 1 ? "" : "s", level);
        if (ri_ != NULL) {
            fputs("&sect;", f);
            rp_esc(f, ri_->section);
        }
        fputs("</td>", f);
        for (size_t k = 0; k < r->num_runs; k++) {
            size_t n, pass;
            size_t w = worst_in_row(r, row, k, &n, &pass);
            if (n == 0) {
                fprintf(f, "<td class=\"c none\" data-p=\"%zu\" data-g=\"\">&middot;</td>", k);
                continue;
            }
            fprintf(f, "<td class=\"c g-%s\" data-p=\"%zu\" data-g=\"%s\">%s <small>%zu/%zu</small></td>",
                    rp_grades[w], k, rp_grades[w], rp_grades[w], pass, n);
        }
        fputs("</tr>\n", f);
        for (size_t i = 0; i < row->num_cases; i++) {
            const rp_case *c = &r->cases[row->cases[i]];
            const json_t *first = NULL;
            for (size_t k = 0; k < r->num_runs && first == NULL; k++)
                first = c->in_run[k];
            fputs("<tr class=\"k\" data-text=\"", f);
            rp_esc(f, c->name);
            for (size_t k = 0; k < r->num_runs; k++)
                if (c->in_run[k] != NULL) {
                    fputc(' ', f);
                    rp_esc(f, rp_str(c->in_run[k], "reason"));
                    fputc(' ', f);
                    rp_esc(f, rp_str(c->in_run[k], "actual"));
                }
            fprintf(f, "\" data-level=\"%s\"><td class=\"id\"><a href=\"#case-%zu\">",
                    rp_case_level(first), row->cases[i]);
            rp_esc(f, c->name);
            fprintf(f, "</a></td><td>%s</td><td class=\"loc\">", rp_case_level(first));
            rp_esc(f, rp_str(first, "file"));
            fprintf(f, ":%lld</td>", (long long)json_integer_value(json_object_get(first, "line")));
            for (size_t k = 0; k < r->num_runs; k++)
                case_cell(f, c->in_run[k], k);
            fputs("</tr>\n", f);
        }
        fputs("</tbody>\n", f);
    }
    fputs("</table></section>\n", f);
}

/* ---- root causes ---- */

typedef struct rp_cause {
    const char *text; /* borrowed: the key of the map */
    json_t *cases;    /* borrowed: array of case indices */
    size_t worst;
} rp_cause;

static int cmp_cause(const void *a, const void *b)
{
    const rp_cause *x = a, *y = b;
    if (x->worst != y->worst)
        return x->worst < y->worst ? -1 : 1;
    size_t nx = json_array_size(x->cases), ny = json_array_size(y->cases);
    if (nx != ny)
        return nx > ny ? -1 : 1;
    return strcmp(x->text, y->text);
}

static void write_causes(FILE *f, const rp_report *r)
{
    fputs("<section id=\"causes\"><h2>Root causes</h2>\n<p class=\"hint\">Every case that did not "
          "pass, per peer, grouped by its root cause: the known deviation's reason "
          "(<code>--expect</code>), else what the SUT did; worst grade first, then the largest "
          "group.</p>\n",
          f);
    for (size_t k = 0; k < r->num_runs; k++) {
        json_t *map = json_object();
        char buf[512];
        for (size_t i = 0; i < r->num_cases; i++) {
            const json_t *c = r->cases[i].in_run[k];
            if (c == NULL || strcmp(rp_case_grade(c), "pass") == 0)
                continue;
            const char *cause = rp_case_cause(c, buf, sizeof(buf));
            json_t *list = json_object_get(map, cause);
            if (list == NULL) {
                list = json_array();
                json_object_set_new(map, cause, list);
            }
            json_array_append_new(list, json_integer((json_int_t)i));
        }
        size_t n = json_object_size(map), m = 0;
        rp_cause *causes = calloc(n ? n : 1, sizeof(*causes));
        const char *key;
        json_t *val;
        json_object_foreach(map, key, val)
        {
            if (causes == NULL)
                break;
            size_t worst = RP_NUM_GRADES - 1;
            for (size_t j = 0; j < json_array_size(val); j++) {
                size_t ci = (size_t)json_integer_value(json_array_get(val, j));
                size_t g = rp_grade_index(rp_case_grade(r->cases[ci].in_run[k]));
                worst = g < worst ? g : worst;
            }
            causes[m++] = (rp_cause){.text = key, .cases = val, .worst = worst};
        }
        if (m > 1)
            qsort(causes, m, sizeof(*causes), cmp_cause);
        fprintf(f, "<div class=\"peercauses\" data-p=\"%zu\"><h3>", k);
        rp_esc(f, r->runs[k].label);
        fprintf(f, " <small>%zu root cause%s</small></h3>\n", m, m == 1 ? "" : "s");
        if (m == 0)
            fputs("<p>Every case passed.</p>\n", f);
        for (size_t j = 0; j < m; j++) {
            size_t nc = json_array_size(causes[j].cases);
            fputs("<details class=\"cause\"><summary>", f);
            grade_span(f, rp_grades[causes[j].worst]);
            fputs(" ", f);
            rp_esc(f, causes[j].text);
            fprintf(f, " <small>%zu case%s</small></summary><ul>", nc, nc == 1 ? "" : "s");
            for (size_t q = 0; q < nc; q++) {
                size_t ci = (size_t)json_integer_value(json_array_get(causes[j].cases, q));
                const json_t *c = r->cases[ci].in_run[k];
                fprintf(f, "<li><a href=\"#case-%zu\">", ci);
                rp_esc(f, r->cases[ci].name);
                fputs("</a> ", f);
                grade_span(f, rp_case_grade(c));
                fputs(" ", f);
                rp_esc(f, rp_str(c, "actual"));
                fputs(" <small>", f);
                rp_esc(f, rp_str(c, "reason"));
                fputs("</small></li>", f);
            }
            fputs("</ul></details>\n", f);
        }
        fputs("</div>\n", f);
        free(causes);
        json_decref(map);
    }
    fputs("</section>\n", f);
}

/* ---- case details ---- */

/* The case's lines of its scenario file: the comment block just above the
 * `scenario` line, then the case up to the next `scenario` line (its own
 * trailing comments and blank lines belong to the next case). */
static void write_source(FILE *f, const rp_report *r, const json_t *c)
{
    const char *file = rp_str(c, "file");
    long line = (long)json_integer_value(json_object_get(c, "line"));
    const char *text = rp_source_text(r, file);
    fputs("<div class=\"src\"><h4>scenario <code>", f);
    rp_esc(f, file);
    fprintf(f, ":%ld</code></h4>", line);
    if (text == NULL || line <= 0) {
        fputs("<p class=\"note\">(the scenario file is not readable here)</p></div>", f);
        return;
    }
    /* Offsets of each line start. */
    size_t nlines = 1;
    for (const char *p = text; *p; p++)
        nlines += *p == '\n';
    const char **starts = malloc(nlines * sizeof(*starts));
    if (starts == NULL) {
        fputs("</div>", f);
        return;
    }
    size_t n = 0;
    starts[n++] = text;
    for (const char *p = text; *p; p++)
        if (*p == '\n' && n < nlines)
            starts[n++] = p + 1;
    size_t at = (size_t)line - 1;
    if (at >= n) {
        fputs("<p class=\"note\">(the line is past the end of the file)</p></div>", f);
        free(starts);
        return;
    }
#define LINE_LEN(i) (strcspn(starts[i], "\n"))
    size_t first = at;
    while (first > 0 && starts[first - 1][0] == '#')
        first--;
    size_t last = at;
    while (last + 1 < n && strncmp(starts[last + 1], "scenario", 8) != 0)
        last++;
    while (last > at && (LINE_LEN(last) == 0 || starts[last][0] == '#'))
        last--;
    fputs("<pre class=\"scn\">", f);
    for (size_t i = first; i <= last; i++) {
        fprintf(f, "<span class=\"ln%s\">%4zu</span> ", i == at ? " at" : "", i + 1);
        if (starts[i][0] == '#')
            fputs("<span class=\"cm\">", f);
        rp_esc_n(f, starts[i], LINE_LEN(i));
        if (starts[i][0] == '#')
            fputs("</span>", f);
        fputc('\n', f);
    }
#undef LINE_LEN
    fputs("</pre></div>", f);
    free(starts);
}

static void write_rule(FILE *f, const char *id)
{
    const td_rule_info *ri = td_rule_get(td_rule_by_id(id));
    fputs("<div class=\"rule\"><h4>rule <code>", f);
    rp_esc(f, id);
    fputs("</code>", f);
    if (ri == NULL) {
        fputs(" (not in this build's catalogue)</h4></div>", f);
        return;
    }
    fprintf(f, " <span class=\"lvl\">%s</span> RFC 8446 &sect;", td_level_name(ri->level));
    rp_esc(f, ri->section);
    fputs("</h4><p class=\"cond\">", f);
    rp_esc(f, ri->condition);
    fputs("</p>", f);
    const char *sec = NULL;
    const char *quote = td_rule_quote(td_rule_by_id(id), &sec);
    if (quote != NULL) {
        fputs("<blockquote class=\"rfc\"><p>", f);
        rp_esc(f, quote);
        fputs("</p><footer>RFC 8446 ", f);
        write_section_name(f, sec);
        fputs("</footer></blockquote>", f);
    }
    fputs("<p>alert: <code>", f);
    rp_esc(f, ri->alert_text && *ri->alert_text ? ri->alert_text : "(none named)");
    fprintf(f, "</code>; %s</p></div>", checker_name(ri->checker));
}

static void dd(FILE *f, const char *key, const char *value)
{
    if (value == NULL || *value == '\0')
        return;
    fprintf(f, "<dt>%s</dt><dd>", key);
    rp_esc(f, value);
    fputs("</dd>", f);
}

void rp_write_decoded(FILE *f, const char *text)
{
    fputs("<pre class=\"dis\">", f);
    for (const char *p = text; p != NULL && *p;) {
        size_t n = strcspn(p, "\n");
        const char *t = p + strspn(p, " ");
        const char *cls = strncmp(t, "record dir=C->S", 15) == 0   ? "c2s"
                          : strncmp(t, "record dir=S->C", 15) == 0 ? "s2c"
                          : strncmp(t, "handshake ", 10) == 0      ? "hs"
                          : strncmp(t, "alert ", 6) == 0           ? "al"
                          : strncmp(t, "stream ", 7) == 0          ? "st"
                          : strncmp(t, "error", 5) == 0            ? "er"
                                                                   : NULL;
        if (cls != NULL)
            fprintf(f, "<span class=\"%s\">", cls);
        rp_esc_n(f, p, n);
        if (cls != NULL)
            fputs("</span>", f);
        fputc('\n', f);
        p = p[n] ? p + n + 1 : NULL;
    }
    fputs("</pre>", f);
}

/* A dissected stream as text (td_dis_print_text). */
static void write_stream(FILE *f, const td_dis_node *s)
{
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (m == NULL)
        return;
    td_dis_print_text(s, m, 0);
    if (fclose(m) == 0)
        rp_write_decoded(f, text);
    free(text);
}

static void write_peer_detail(FILE *f, const rp_run *run, const json_t *c, bool decode)
{
    fputs("<div class=\"peer\"><h4>", f);
    rp_esc(f, run->label);
    fputs(" ", f);
    if (c == NULL) {
        fputs("</h4><p class=\"note\">not in this run</p></div>", f);
        return;
    }
    grade_span(f, rp_case_grade(c));
    fputs("</h4><dl>", f);
    dd(f, "level", rp_case_level(c));
    dd(f, "expected", rp_str(c, "expected"));
    dd(f, "actual", rp_str(c, "actual"));
    dd(f, "reason", rp_str(c, "reason"));
    dd(f, "premise", rp_str(c, "premise"));
    dd(f, "known deviation", rp_str(c, "deviation"));
    const char *sr = rp_str(c, "sut_rule");
    if (strcmp(sr, "-") != 0)
        dd(f, "SUT's rule", sr);
    dd(f, "SUT's check", rp_str(c, "sut_where"));
    dd(f, "verdict", rp_str(c, "verdict"));
    fputs("</dl>", f);
    const char *err = rp_case_stderr(c);
    if (*err) {
        fputs("<h5>the peer's log (a shim's stderr)</h5><pre class=\"stderr\">", f);
        rp_esc(f, err);
        fputs("</pre>", f);
    }
    const json_t *streams = json_object_get(c, "streams");
    if (run->tree == NULL) {
        if (run->capture == NULL)
            fputs("<p class=\"note\">no capture given for this run (<code>tlsdrill run --pcap P "
                  "--keylog K</code>, then <code>report RUN.json --capture P --keylog K</code>)</p>",
                  f);
    } else if (json_array_size(streams) == 0) {
        fputs("<p class=\"note\">no connection of this case in the capture</p>", f);
    } else if (!decode) {
        fputs("<p class=\"note\">not decoded here (<code>--decode all</code>): <code>tlsdrill "
              "dissect ",
              f);
        rp_esc(f, run->capture);
        if (run->keylog != NULL) {
            fputs(" --keylog ", f);
            rp_esc(f, run->keylog);
        }
        fprintf(f, " --stream %lld</code></p>",
                (long long)json_integer_value(json_array_get(streams, 0)));
    }
    for (size_t i = 0; decode && run->tree != NULL && i < json_array_size(streams); i++) {
        json_int_t s = json_integer_value(json_array_get(streams, i));
        fprintf(f, "<h5>connection %zu: TCP stream %lld</h5>", i + 1, (long long)s);
        if (s < 0 || (size_t)s >= run->num_streams || run->streams[s] == NULL)
            fputs("<p class=\"note\">not in the capture</p>", f);
        else
            write_stream(f, run->streams[s]);
    }
    fputs("</div>", f);
}

static void write_cases(FILE *f, const rp_report *r)
{
    fputs("<section id=\"cases\"><h2>Cases</h2>\n<p class=\"hint\">Per case: the scenario text, "
          "its rule, and per run what was expected, what happened and the decoded connection(s) "
          "(records and handshake messages, decrypted with the run's key log), side by side.</p>\n",
          f);
    for (size_t i = 0; i < r->num_cases; i++) {
        const rp_case *c = &r->cases[i];
        const json_t *first = NULL;
        for (size_t k = 0; k < r->num_runs && first == NULL; k++)
            first = c->in_run[k];
        fprintf(f, "<details class=\"case\" id=\"case-%zu\"><summary><span class=\"name\">", i);
        rp_esc(f, c->name);
        fputs("</span>", f);
        for (size_t k = 0; k < r->num_runs; k++)
            if (c->in_run[k] != NULL) {
                fputc(' ', f);
                grade_span(f, rp_case_grade(c->in_run[k]));
            }
        fputs("</summary><div class=\"cbody\">", f);
        write_source(f, r, first);
        const json_t *rules = json_object_get(first, "rules");
        for (size_t k = 0; k < json_array_size(rules); k++) {
            const char *id = json_string_value(json_array_get(rules, k));
            if (id != NULL)
                write_rule(f, id);
        }
        if (json_array_size(rules) == 0)
            fputs("<div class=\"rule\"><h4>no rule: a baseline</h4><p>The case checks that the "
                  "handshake works; it names no catalogue rule.</p></div>",
                  f);
        fprintf(f, "<div class=\"peers\" style=\"grid-template-columns: repeat(%zu, minmax(0, 1fr))\">",
                r->num_runs);
        bool decode = r->decode == RP_DECODE_ALL;
        for (size_t k = 0; k < r->num_runs && r->decode == RP_DECODE_NOT_PASS; k++)
            decode |= c->in_run[k] != NULL && strcmp(rp_case_grade(c->in_run[k]), "pass") != 0;
        for (size_t k = 0; k < r->num_runs; k++)
            write_peer_detail(f, &r->runs[k], c->in_run[k], decode);
        fputs("</div></div></details>\n", f);
    }
    fputs("</section>\n", f);
}

/* ---- the page ---- */

void rp_write_html(FILE *f, const rp_report *r)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          /* Nothing may load: no network, no other file. */
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
          "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; "
          "form-action 'none'; base-uri 'none'\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
          f);
    rp_esc(f, r->title);
    fputs("</title>\n<style>\n", f);
    fputs(td_report_report_css, f);
    fputs("</style></head>\n<body>\n<header><h1>", f);
    rp_esc(f, r->title);
    fprintf(f, "</h1><p class=\"meta\">tlsdrill %s", TD_VERSION);
    for (size_t k = 0; k < r->num_runs; k++) {
        fputs(" &middot; <code>", f);
        rp_esc(f, r->runs[k].path);
        fputs("</code>", f);
        if (r->runs[k].capture != NULL) {
            fputs(" + <code>", f);
            rp_esc(f, r->runs[k].capture);
            fputs("</code>", f);
        }
    }
    for (size_t k = 0; k < r->num_fuzz; k++) {
        fputs(" &middot; fuzz <code>", f);
        rp_esc(f, r->fuzz[k].dir);
        fputs("</code>", f);
    }
    fputs("</p><nav>", f);
    if (r->num_runs > 0)
        fputs("<a href=\"#summary\">grades</a> <a href=\"#matrix\">matrix</a> <a "
              "href=\"#causes\">root causes</a> <a href=\"#cases\">cases</a> ",
              f);
    if (r->num_fuzz > 0)
        fputs("<a href=\"#fuzz\">fuzz campaigns</a>", f);
    fputs("</nav></header>\n<main>\n", f);
    if (r->num_runs > 0) {
        size_t num_rows = 0;
        rp_row *rows = build_rows(r, &num_rows);
        write_summary(f, r);
        write_matrix(f, r, rows, num_rows);
        write_causes(f, r);
        write_cases(f, r);
        for (size_t i = 0; i < num_rows; i++)
            free(rows[i].cases);
        free(rows);
    }
    if (r->num_fuzz > 0)
        rp_write_fuzz(f, r);
    fputs("</main>\n<script>\n", f);
    fputs(td_report_report_js, f);
    fputs("</script>\n</body></html>\n", f);
}
