/* engine/scenario/scn_judge.h -- the runner's judge: one outcome of a case,
 * graded (pass, alert-differs, fail, advisory, n/a) from the level of the
 * case's rules and what the SUT did. */
#ifndef TD_SCN_JUDGE_H
#define TD_SCN_JUDGE_H

#include "tlsdrill/scenario.h"

/* Fills |res| (expected, actual, level, premise, sut_rule, sut_where,
 * reason, verdict) for case |c| from outcome |o|. |res| is zeroed by the
 * caller. Borrows everything. */
void scn_judge(const td_scn_case *c, const td_scn_outcome *o, td_scn_result *res);

/* snprintf that may truncate: reasons are one line, cut if they must be. */
void scn_say(char *out, size_t cap, const char *fmt, ...) TD_PRINTF(3, 4);

#endif
