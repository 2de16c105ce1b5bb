/* tools/cli/run_report.h -- the reports of `tlsdrill run`: the table on
 * stdout, --json FILE, --junit FILE, and the tally behind the summary line
 * and the exit code. One sink, fed one graded case at a time. */
#ifndef TD_CLI_RUN_REPORT_H
#define TD_CLI_RUN_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "tlsdrill/scenario.h"

/* How a case stands against the peer's known deviations (--expect FILE). */
typedef enum td_cli_known {
    TD_CLI_KNOWN_NONE,    /* not listed */
    TD_CLI_KNOWN_XFAIL,   /* listed, and still deviates as listed */
    TD_CLI_KNOWN_XPASS,   /* listed, but its grade no longer fails (pass, advisory, n/a) */
    TD_CLI_KNOWN_CHANGED, /* listed with an outcome, and the outcome changed: fails the run */
} td_cli_known;

/* One graded case as the reports see it (borrows everything). */
typedef struct td_cli_case_report {
    const td_scn_case *c;
    const td_scn_result *r;
    td_cli_known known;
    const char *deviation; /* the listed reason, or NULL */
    char pinned[96];       /* KNOWN_CHANGED: the outcome the deviation pinned */
    bool fails;            /* counts against the exit code in this mode */
    double secs;           /* wall time of the case */
    int stream;            /* --pcap: the first TCP stream of the case; -1 without --pcap */
    unsigned num_streams;
} td_cli_case_report;

/* The counts behind the summary line. */
typedef struct td_cli_tally {
    size_t grades[TD_SCN_NUM_VERDICTS]; /* every case, by grade (known deviations too) */
    size_t ran;
    size_t failing;               /* cases that fail the run in this mode */
    size_t xfail, xpass, changed; /* known deviations */
} td_cli_tally;

/* Classifies |cr| (known, fails) for a run in |lenient| mode and counts it. */
void td_cli_tally_add(td_cli_tally *t, td_cli_case_report *cr, bool lenient);
/* 0 when every selected case was fine in this mode (and there was one). */
int td_cli_tally_rc(const td_cli_tally *t);

typedef struct td_cli_sink_opts {
    const char *json_path, *junit_path; /* NULL = no such report */
    const char *peer, *peer_version;
    const char *expect_path; /* --expect FILE, named in the hints; may be NULL */
    bool lenient;
    unsigned long long seed;
    int name_width; /* width of the CASE column */
    bool colour;    /* grades in colour on the table */
    bool verbose;   /* the peer's log under every row, not only failing ones */
} td_cli_sink_opts;

typedef struct td_cli_sink td_cli_sink;

/* Opens the report files (the table header comes with the first row). Returns 0, or 2
 * with a message on stderr. |*out| is owned (td_cli_sink_free). */
int td_cli_sink_open(const td_cli_sink_opts *opts, td_cli_sink **out);
/* A table row (plus its reason lines), a JSON object, a JUnit testcase. */
void td_cli_sink_case(td_cli_sink *s, const td_cli_case_report *cr);
/* The run stopped early on |signo| (SIGINT, SIGTERM) with |selected| cases
 * meant: close then writes complete reports that say so (the table's line,
 * JSON summary "interrupted", a JUnit property). */
void td_cli_sink_interrupted(td_cli_sink *s, int signo, size_t selected);
/* The summary line (and --stats), the JSON summary, the JUnit file; each
 * report file is written under a temporary name and renamed when whole.
 * Returns 0, or 2 when a report could not be written. */
int td_cli_sink_close(td_cli_sink *s, const td_cli_tally *t, double secs, bool stats);
void td_cli_sink_free(td_cli_sink *s);

#endif
