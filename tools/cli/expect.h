/* tools/cli/expect.h -- expectations files (scenarios/expectations/PEER.txt):
 * the known deviations of a peer from the RFC-strict verdicts.
 *
 * One line per deviation, `#` comments:
 *     KEY  ACTUAL  REASON...
 * KEY is a case name (after matrix expansion) or a rule ID (every case of
 * that rule); ACTUAL is what the peer really does: an alert name
 * (`decode_error`), `none` (no alert: a completed handshake), `closed`,
 * `stalled`, `our-abort` or `unsupported` (the peer cannot be configured
 * for the case). REASON says why (real deviation, or not configurable). */
#ifndef TD_CLI_EXPECT_H
#define TD_CLI_EXPECT_H

#include <stdbool.h>
#include <stddef.h>

#include "tlsdrill/scenario.h"

typedef struct td_expect_line {
    char *key;                  /* owned */
    char *actual;               /* owned */
    char *reason;               /* owned */
    int line;
    td_rule rule;               /* KEY is a rule ID; TD_RULE_NONE: a case name */
    unsigned selected;          /* cases of this run it applies to */
    unsigned used;              /* deviations it excused */
} td_expect_line;

typedef struct td_expectations {
    const char *path;           /* borrowed */
    td_expect_line *lines;      /* owned */
    size_t num, cap;
} td_expectations;

/* Reads |path|; prints `path:line: error: ...` and returns -1 on a bad line. */
int td_expect_load(const char *path, td_expectations *out);
void td_expect_free(td_expectations *e);
/* The line for case |c| (its name first, then its rules); NULL if none.
 * Counts the case in the line's |selected|. */
td_expect_line *td_expect_find(td_expectations *e, const td_scn_case *c);
/* The ACTUAL token of a result ("decode_error", "none", "closed", ...). */
void td_expect_actual(const td_scn_result *r, char *out, size_t cap);

#endif
