/* tools/cli/run_jobs.h -- `tlsdrill run -j N`: the selected cases played by
 * N worker processes, their results handed back in case order.
 *
 * Workers are forked from the run after the cases are parsed, so they share
 * the parsed cases and the parent's settings; each sets up its own peer and
 * runner (setup), then plays the cases the parent hands it one at a time
 * (play). The parent hands out cases in order, round by round (every worker
 * gets a case before any gets a second), each worker about 20 ms of cases
 * ahead by their mean time so far (2 to 64 cases: exec: peers' cases take
 * tens of ms, in-process ones under a millisecond, and a worker that waits
 * for the parent after every case loses more than the case on a busy
 * machine), and delivers each result (deliver) only when every earlier case has been
 * delivered: the reports see the same cases, in the same order, with the
 * same results as a run with one job.
 *
 * A worker answers in small batches (the parent wakes once per batch).
 *
 * Processes rather than threads: a case may start and wait for child
 * processes (exec: peers), and a worker that crashes takes only its case
 * with it (an ERROR row naming the signal; a new worker takes over): when
 * it dies with several cases unanswered, each is played again alone in a
 * new worker, and the one that dies again is the ERROR.
 *
 * Signals: a worker does not stop on SIGINT/SIGTERM (a terminal's ^C
 * reaches the whole process group); when |*stop| becomes non-zero, the
 * parent hands out no further case, delivers every case already handed out
 * (each has its own deadline), and returns. A worker whose parent dies is
 * killed (Linux: PR_SET_PDEATHSIG) or ends at its next read. */
#ifndef TD_CLI_RUN_JOBS_H
#define TD_CLI_RUN_JOBS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "tlsdrill/scenario.h"

typedef struct td_cli_jobs {
    unsigned num_jobs; /* >= 2 */
    size_t num_cases;  /* cases 0 .. num_cases-1, in report order */
    void *arg;         /* given to every callback */
    /* In a new worker |worker| (0 .. num_jobs-1, and again for a worker that
     * replaces a dead one): set up what play needs. Non-zero: the worker
     * ends, and its cases are errors. */
    int (*setup)(void *arg, unsigned worker);
    /* In a worker, before it ends: frees what setup made (NULL: nothing). */
    void (*teardown)(void *arg);
    /* In a worker: plays case |index| into |out| (td_scn_run_case). */
    td_err (*play)(void *arg, size_t index, td_scn_result *out);
    /* In the parent, in case order: the result of case |index| and its wall
     * time. Returns non-zero to stop the run at once (workers are ended). */
    int (*deliver)(void *arg, size_t index, td_err err, const td_scn_result *r, double secs);
    /* In the parent before each case is handed out (NULL: none), e.g. for
     * a progress line. */
    void (*started)(void *arg, size_t index);
} td_cli_jobs;

/* Runs the cases. Returns 0 when every case was delivered, 1 when |*stop|
 * ended the run early (every case handed out was delivered: a prefix of the
 * cases), 2 when deliver stopped it or the workers could not be started or
 * kept running (a message on stderr). */
int td_cli_jobs_run(const td_cli_jobs *jobs, const volatile sig_atomic_t *stop);

/* The number of jobs by default: the online processors (at least 1). */
unsigned td_cli_jobs_default(void);

#endif
