/* tools/cli/report.h -- `tlsdrill report`: run reports (tlsdrill run --json),
 * their captures and fuzzctl outputs as one self-contained HTML file.
 *
 * cmd_report.c loads the inputs (Jansson for JSON, the dissector for
 * captures), report_html.c writes the summary, matrix, root causes and case
 * details, report_fuzz.c the fuzz campaigns with their SVG plots. The page
 * never loads anything: CSS and JS are inlined (tools/report/, embedded at
 * build time), plots are inline SVG, and a Content-Security-Policy of
 * default-src 'none' makes the browser refuse any request the page could
 * still make. */
#ifndef TD_CLI_REPORT_H
#define TD_CLI_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "tlsdrill/dissect.h"
#include "tlsdrill/rules.h"

/* One RUN.json (a column of the matrix). */
typedef struct rp_run {
    const char *path;      /* borrowed from argv */
    json_t *root;          /* owned */
    json_t *cases;         /* borrowed from root: the "cases" array */
    char label[160];       /* column heading: the peer, made unique */
    const char *capture;   /* --capture after this run (argv), NULL without */
    const char *keylog;    /* --keylog after this run (argv), NULL without */
    td_dis_node *tree;     /* owned: the dissected capture, NULL without */
    td_dis_node **streams; /* owned array of borrowed nodes, by TCP stream index */
    size_t num_streams;
    char capture_note[320]; /* why the capture is missing or partial, "" if fine */
} rp_run;

/* One FUZZCTL_OUT folder (findings.json, findings/, logs/). */
typedef struct rp_fuzz {
    const char *dir; /* borrowed from argv */
    json_t *root;    /* owned: findings.json */
} rp_fuzz;

/* One case name across every run. */
typedef struct rp_case {
    const char *name; /* borrowed from the first run that has the case */
    json_t **in_run;  /* owned array [num_runs] of borrowed case objects, NULL where absent */
} rp_case;

/* A scenario file read once for the case details. */
typedef struct rp_source {
    char *path; /* owned: the path as the run report names it */
    char *text; /* owned: NULL if the file could not be found */
} rp_source;

/* Which cases show their decoded connections (--decode). */
typedef enum rp_decode {
    RP_DECODE_AUTO,    /* every case up to RP_DECODE_AUTO_MAX cases, else RP_DECODE_NOT_PASS */
    RP_DECODE_ALL,     /* every case */
    RP_DECODE_NOT_PASS, /* cases that did not pass in some run */
    RP_DECODE_NONE
} rp_decode;
#define RP_DECODE_AUTO_MAX 200

typedef struct rp_report {
    rp_run *runs;
    size_t num_runs;
    rp_fuzz *fuzz;
    size_t num_fuzz;
    rp_case *cases;
    size_t num_cases;
    rp_source *sources;
    size_t num_sources, cap_sources;
    const char *title;
    rp_decode decode;
} rp_report;

/* The grades of a run report, worst first (the order of the matrix cells). */
#define RP_NUM_GRADES 8
extern const char *const rp_grades[RP_NUM_GRADES]; /* ..., "other" last */
/* Index into rp_grades of |grade| ("other" for a word we do not know). */
size_t rp_grade_index(const char *grade);

/* A string member of |obj|; "" when absent, null or not a string. */
const char *rp_str(const json_t *obj, const char *key);
/* A case's grade: "grade" when the report has it, else its "verdict"
 * (pass, fail, unsupported, error) as a grade. */
const char *rp_case_grade(const json_t *c);
/* A case's requirement level: "level" when present, else the catalogue's
 * level of its first rule (MUST, SHOULD, MAY, sender), "baseline" without a
 * rule. */
const char *rp_case_level(const json_t *c);
/* The root cause a case's failure is filed under ("" for a pass). */
const char *rp_case_cause(const json_t *c, char *buf, size_t cap);
/* A known deviation that still deviates ("known": "xfail"; older reports:
 * a "deviation" at all). */
bool rp_case_known(const json_t *c);
/* The SUT's stderr kept for the case (shim processes), "" if none. */
const char *rp_case_stderr(const json_t *c);

/* HTML text / attribute escaping. */
void rp_esc(FILE *f, const char *s);
void rp_esc_n(FILE *f, const char *s, size_t n);

/* The scenario text of the case at |file|:|line|, or NULL. */
const char *rp_source_text(const rp_report *r, const char *file);

/* Decoded TLS as text (the dissector's or `tlsdrill replay`'s) in a <pre>,
 * each record, handshake message and alert line marked for colour. */
void rp_write_decoded(FILE *f, const char *text);

void rp_write_html(FILE *f, const rp_report *r);
/* The fuzz campaigns section (report_fuzz.c). */
void rp_write_fuzz(FILE *f, const rp_report *r);

extern const char td_report_report_css[];
extern const char td_report_report_js[];

#endif
