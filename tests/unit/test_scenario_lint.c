/* tests/unit/test_scenario_lint.c -- linting stays linear in the number of
 * cases (issue 16: 40k cases took 4 s, 200k did not finish): the duplicate
 * check is one hash-set lookup per case, proved by counting the slots the set
 * looks at (an operation count, not a time); and what hostile text gets:
 * a long line cut around the column, control bytes and NUL refused, a BOM
 * accepted, a duplicate found after an error dropped the first case. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario/scn_parse.h"
#include "td_test.h"
#include "tlsdrill/scenario.h"

static void test_name_set_is_linear(void)
{
    static const size_t sizes[] = {1000, 10000, 100000};
    char name[64];
    for (size_t k = 0; k < 3; k++) {
        scn_names s = {0};
        size_t n = sizes[k];
        bool dup = false;
        for (size_t i = 0; i < n; i++) {
            snprintf(name, sizeof(name), "case-%zu[p256]", i);
            TD_REQUIRE(scn_names_add(&s, name, &dup) == TD_OK);
            TD_EXPECT(!dup);
        }
        /* A set at most half full: on average under 2.5 slots per lookup. */
        TD_EXPECT(s.probes <= 3 * n);
        size_t before = s.probes;
        snprintf(name, sizeof(name), "case-%zu[p256]", n / 2);
        TD_EXPECT(scn_names_add(&s, name, &dup) == TD_OK && dup);
        TD_EXPECT(s.probes - before <= 64);
        TD_EXPECT_EQ(s.num, n);
        scn_names_free(&s);
    }
}

static char *cases_text(size_t n, size_t *out_len)
{
    static const char one[] = "scenario  c-%zu\nrule      FIN-BAD\nsut       server\n"
                              "bug       bad_finished\nexpect    rule\n\n";
    char *text = malloc(n * (sizeof(one) + 24) + 1);
    size_t len = 0;
    for (size_t i = 0; text != NULL && i < n; i++)
        len += (size_t)sprintf(text + len, one, i);
    *out_len = len;
    return text;
}

static void test_many_cases_and_one_duplicate(void)
{
    size_t len = 0;
    char *text = cases_text(20000, &len);
    TD_REQUIRE(text != NULL);
    /* The last case takes the name of case 7. */
    char *last = strstr(text + len - 120, "c-19999");
    TD_REQUIRE(last != NULL);
    memcpy(last, "c-7    ", 7);
    td_scn_diags diags = {0};
    td_scn_file *f = NULL;
    TD_EXPECT(td_scn_parse("many.scn", text, len, &f, &diags) == TD_OK);
    TD_REQUIRE(f != NULL);
    TD_EXPECT_EQ(f->num_cases, 19999);
    TD_REQUIRE(diags.num == 1);
    TD_EXPECT(strcmp(diags.list[0].message, "duplicate case name 'c-7'") == 0);
    td_scn_file_free(f);
    td_scn_diags_cleanup(&diags);
    free(text);
}

static void test_duplicate_after_a_dropped_case(void)
{
    const char *text =
        "scenario  twice\nrule      NO-SUCH-RULE\nsut       server\nexpect    rule\n\n"
        "scenario  twice\nrule      FIN-BAD\nsut       server\nbug       bad_finished\n"
        "expect    rule\n";
    td_scn_diags diags = {0};
    td_scn_file *f = NULL;
    TD_EXPECT(td_scn_parse("d.scn", text, strlen(text), &f, &diags) == TD_OK);
    bool found = false;
    for (size_t i = 0; i < diags.num; i++)
        found |= diags.list[i].line == 6 &&
                 strcmp(diags.list[i].message, "duplicate case name 'twice'") == 0;
    TD_EXPECT(found);
    td_scn_file_free(f);
    td_scn_diags_cleanup(&diags);
}

static void test_long_line_is_cut(void)
{
    size_t n = 10u << 20, len = 0;
    char *text = malloc(n + 64);
    TD_REQUIRE(text != NULL);
    len += (size_t)sprintf(text, "scenario  x\nrule      ");
    memset(text + len, 'A', n);
    len += n;
    len += (size_t)sprintf(text + len, "\nsut server\nexpect rule\n");
    td_scn_diags diags = {0};
    td_scn_file *f = NULL;
    TD_EXPECT(td_scn_parse("long.scn", text, len, &f, &diags) == TD_OK);
    TD_REQUIRE(diags.num >= 1);
    const td_scn_diag *d = &diags.list[0];
    TD_EXPECT_EQ(d->line, 2);
    TD_EXPECT(strlen(d->source) <= 200);
    TD_EXPECT(d->source_col >= 1 && (size_t)d->source_col <= strlen(d->source));
    td_scn_file_free(f);
    td_scn_diags_cleanup(&diags);
    free(text);
}

static void test_control_bytes_bom(void)
{
    static const struct {
        const char *text;
        size_t len;
        const char *message; /* NULL: clean */
        int col;
    } cases[] = {
#define T(s) s, sizeof(s) - 1
        {T("scenario  ab\0cd\nrule FIN-BAD\nsut server\nbug bad_finished\nexpect rule\n"),
         "NUL byte in the line (scenario files are text)", 13},
        {T("scenario  ev\x1b[31mil\nrule FIN-BAD\nsut server\nbug bad_finished\nexpect rule\n"),
         "control character \\x1b in the line (scenario files are text)", 13},
        {T("\xef\xbb\xbfscenario  bom\nrule FIN-BAD\nsut server\nbug bad_finished\nexpect rule\n"),
         NULL, 0},
#undef T
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        td_scn_diags diags = {0};
        td_scn_file *f = NULL;
        size_t len = cases[i].len;
        TD_EXPECT(td_scn_parse("t.scn", cases[i].text, len, &f, &diags) == TD_OK);
        TD_REQUIRE(f != NULL);
        if (cases[i].message == NULL) {
            TD_EXPECT_EQ(diags.num, 0);
            TD_EXPECT(f->num_cases == 1 && strcmp(f->cases[0].name, "bom") == 0);
        } else {
            TD_EXPECT(diags.num == 1 && strcmp(diags.list[0].message, cases[i].message) == 0);
            TD_EXPECT(diags.num == 1 && diags.list[0].col == cases[i].col);
            TD_EXPECT_EQ(f->num_cases, 0); /* the case is dropped, not run */
        }
        td_scn_file_free(f);
        td_scn_diags_cleanup(&diags);
    }
}

int main(void)
{
    TD_RUN(test_name_set_is_linear);
    TD_RUN(test_many_cases_and_one_duplicate);
    TD_RUN(test_duplicate_after_a_dropped_case);
    TD_RUN(test_long_line_is_cut);
    TD_RUN(test_control_bytes_bom);
    return td_test_report("test_scenario_lint");
}
