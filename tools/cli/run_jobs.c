/* tools/cli/run_jobs.c -- `tlsdrill run -j N` (run_jobs.h): worker processes,
 * one pipe each way per worker, results reordered into case order. */
#define _POSIX_C_SOURCE 200809L
#include "run_jobs.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

enum {
    JOBS_QUEUE = 2,      /* cases handed to a worker ahead, at least: one playing, one waiting */
    JOBS_QUEUE_MAX = 64, /* ... and at most (short cases, below) */
    JOBS_WINDOW = 256,   /* cases handed out beyond the first one not delivered yet */
    JOBS_RESPAWNS = 32,  /* workers replaced after dying, per run (a crash of a batch costs two) */
};

/* How much work, in seconds of the cases' mean wall time so far, a worker
 * is handed ahead. With one case of about 0.4 ms ahead (the in-process
 * peers) a worker waits for the parent to be scheduled each time it ends a
 * case, which on a busy machine costs more than the case; a case of an
 * exec: peer (tens of ms) keeps the queue at JOBS_QUEUE. The cases a worker
 * plays change, never the reports (delivered in case order). */
#define JOBS_AHEAD_SECS 0.02

/* A worker holds back its answers while more of its cases are already
 * queued, for at most JOBS_BATCH answers or JOBS_BATCH_SECS of their time,
 * and sends them at once: the parent wakes once for them, not per case. */
enum { JOBS_BATCH = 8 };
#define JOBS_BATCH_SECS 0.005

/* In a case index sent to a worker: a case whose worker died with others
 * unanswered, played alone (nothing else queued, answered at once), so
 * that a crash is pinned on its own case. */
#define JOBS_ALONE (UINT64_C(1) << 63)

/* A worker's answer: one per case, in the order the cases were handed to it. */
typedef struct job_msg {
    uint64_t index;
    int32_t err; /* td_err */
    double secs;
    td_scn_result r;
} job_msg;

typedef struct worker {
    pid_t pid; /* 0: none */
    int to_fd, from_fd;
    size_t queue[JOBS_QUEUE_MAX]; /* cases handed out, oldest (playing) first */
    size_t num_queued;
    bool alone; /* it plays one case of a dead worker, alone (JOBS_ALONE) */
} worker;

typedef struct slot {
    bool done;
    td_err err;
    double secs;
    td_scn_result r;
} slot;

unsigned td_cli_jobs_default(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 256 ? 256 : (unsigned)n;
}

/* Moves exactly |len| bytes to (|out|) or from |fd|, retrying after a
 * signal; false at end of file or on an error. */
static bool move_all(int fd, uint8_t *p, size_t len, bool out)
{
    while (len > 0) {
        ssize_t n = out ? write(fd, p, len) : read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static bool write_all(int fd, const void *buf, size_t len)
{
    return move_all(fd, (uint8_t *)buf, len, true);
}

static bool read_all(int fd, void *buf, size_t len)
{
    return move_all(fd, buf, len, false);
}

static double now_secs(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void on_worker_signal(int signo)
{
    (void)signo;
}

/* More input is waiting on |fd| (or its end): reading will not block. */
static bool input_waiting(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n;
    while ((n = poll(&p, 1, 0)) < 0 && errno == EINTR)
        ;
    return n > 0;
}

/* The worker process: cases in, results out (JOBS_BATCH), until its input ends. */
static void worker_main(const td_cli_jobs *jobs, unsigned id, pid_t parent, int in_fd, int out_fd)
{
    /* The parent decides when to stop: a terminal's ^C reaches every process
     * of the group, and this one must finish its case and answer. A handler
     * that does nothing, not SIG_IGN: an ignored signal stays ignored across
     * exec, and the peers' child processes must still end on SIGTERM. */
    struct sigaction sa = {.sa_handler = on_worker_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
    if (getppid() != parent)
        _exit(1);
    /* stdout belongs to the parent's table. */
    int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null_fd >= 0) {
        dup2(null_fd, STDOUT_FILENO);
        close(null_fd);
    }
    if (jobs->setup(jobs->arg, id) != 0)
        _exit(2);
    job_msg *batch = calloc(JOBS_BATCH, sizeof(*batch));
    size_t num = 0;
    double held = 0;
    uint64_t v;
    bool ok = batch != NULL;
    while (ok && read_all(in_fd, &v, sizeof(v))) {
        job_msg *m = &batch[num++];
        memset(m, 0, sizeof(*m));
        m->index = v & ~JOBS_ALONE;
        double t0 = now_secs();
        m->err = (int32_t)jobs->play(jobs->arg, (size_t)m->index, &m->r);
        m->secs = now_secs() - t0;
        held += m->secs;
        if (num == JOBS_BATCH || held >= JOBS_BATCH_SECS || (v & JOBS_ALONE) ||
            !input_waiting(in_fd)) {
            ok = write_all(out_fd, batch, num * sizeof(*batch));
            num = 0;
            held = 0;
        }
    }
    if (ok && num > 0)
        (void)write_all(out_fd, batch, num * sizeof(*batch));
    free(batch);
    if (jobs->teardown != NULL)
        jobs->teardown(jobs->arg);
    _exit(0);
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

typedef struct jobs_run {
    const td_cli_jobs *jobs;
    worker *w;
    slot *slots; /* JOBS_WINDOW, by index % JOBS_WINDOW */
    size_t next_hand, next_deliver;
    size_t *retry; /* cases of dead workers not yet played (num_jobs * JOBS_QUEUE_MAX) */
    size_t num_retry;
    unsigned respawns;
    double secs;         /* wall time of the cases answered so far */
    size_t num_answered; /* ... and their number */
} jobs_run;

/* Starts worker |id| of |jr| into |w|. */
static bool worker_start(jobs_run *jr, worker *w, unsigned id)
{
    int to[2], from[2];
    if (pipe(to) != 0)
        return false;
    if (pipe(from) != 0) {
        close(to[0]), close(to[1]);
        return false;
    }
    /* Child processes (exec: peers) must not hold any of them. */
    for (int i = 0; i < 2; i++) {
        fcntl(to[i], F_SETFD, FD_CLOEXEC);
        fcntl(from[i], F_SETFD, FD_CLOEXEC);
    }
    /* Nothing buffered may be written twice. */
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        close(to[1]);
        close(from[0]);
        /* Only the parent may hold another worker's pipes: that worker sees
         * the end of its input when the parent closes it. */
        for (unsigned i = 0; i < jr->jobs->num_jobs; i++)
            if (i != id && jr->w[i].pid > 0) {
                close(jr->w[i].to_fd);
                close(jr->w[i].from_fd);
            }
        worker_main(jr->jobs, id, parent, to[0], from[1]);
    }
    close(to[0]);
    close(from[1]);
    if (pid < 0) {
        close(to[1]);
        close(from[0]);
        return false;
    }
    *w = (worker){.pid = pid, .to_fd = to[1], .from_fd = from[0]};
    return true;
}

/* Ends |w|: closes its input (it finishes its case and exits) and reaps it.
 * Returns its wait status. */
static int worker_end(worker *w)
{
    int status = 0;
    close_fd(&w->to_fd);
    close_fd(&w->from_fd);
    if (w->pid > 0)
        while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
            ;
    w->pid = 0;
    return status;
}

/* Case |index| as an ERROR: the worker playing it ended with |status|. */
static void slot_error(jobs_run *jr, size_t index, int status)
{
    slot *s = &jr->slots[index % JOBS_WINDOW];
    memset(s, 0, sizeof(*s));
    s->done = true;
    s->r.verdict = TD_SCN_ERROR;
    snprintf(s->r.level, sizeof(s->r.level), "-");
    if (WIFSIGNALED(status))
        snprintf(s->r.reason, sizeof(s->r.reason),
                 "the worker process playing this case died (signal %d)", WTERMSIG(status));
    else
        snprintf(s->r.reason, sizeof(s->r.reason),
                 "the worker process playing this case exited (status %d)",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* A worker ended without answering. With one case unanswered (or one
 * played alone) that case is an error; with more, any of them may be the
 * one it died in (answers come in batches): each is played again, alone
 * (hand_out). A new worker takes its place. Returns false when no new
 * worker can be had. */
static bool worker_died(jobs_run *jr, unsigned id)
{
    worker *w = &jr->w[id];
    size_t queued[JOBS_QUEUE_MAX], num = w->num_queued;
    memcpy(queued, w->queue, sizeof(queued));
    int status = worker_end(w);
    if (num == 1)
        slot_error(jr, queued[0], status);
    for (size_t i = 0; num > 1 && i < num; i++)
        jr->retry[jr->num_retry++] = queued[i];
    if (jr->respawns++ == JOBS_RESPAWNS) {
        fprintf(stderr, "tlsdrill run: worker processes keep dying (%u replaced)\n", JOBS_RESPAWNS);
        return false;
    }
    if (!worker_start(jr, w, id)) {
        fprintf(stderr, "tlsdrill run: cannot start a worker process: %s\n", strerror(errno));
        return false;
    }
    return true;
}

/* Cases a worker is handed ahead: JOBS_AHEAD_SECS of the mean case so
 * far, within JOBS_QUEUE..JOBS_QUEUE_MAX. */
static size_t queue_depth(const jobs_run *jr)
{
    if (jr->num_answered == 0)
        return JOBS_QUEUE;
    double mean = jr->secs / (double)jr->num_answered;
    if (mean * JOBS_QUEUE_MAX <= JOBS_AHEAD_SECS)
        return JOBS_QUEUE_MAX;
    size_t n = (size_t)(JOBS_AHEAD_SECS / mean);
    return n < JOBS_QUEUE ? JOBS_QUEUE : n;
}

/* Hands out cases to workers with room, one per worker per round (each
 * worker has a case before any has a second): cases of dead workers first,
 * each alone to an idle worker, then the next ones in order (none once
 * |stopping|), within the window. */
static void hand_out(jobs_run *jr, bool stopping)
{
    const td_cli_jobs *jobs = jr->jobs;
    size_t depth = queue_depth(jr);
    for (size_t round = 0; round < depth; round++)
        for (unsigned id = 0; id < jobs->num_jobs; id++) {
            worker *w = &jr->w[id];
            if (w->pid <= 0 || w->num_queued > round || w->alone)
                continue;
            size_t index;
            uint64_t v;
            if (jr->num_retry > 0 && w->num_queued == 0) {
                index = jr->retry[0];
                memmove(jr->retry, jr->retry + 1, --jr->num_retry * sizeof(jr->retry[0]));
                w->alone = true;
                v = index | JOBS_ALONE;
            } else if (jr->num_retry == 0 && !stopping && jr->next_hand < jobs->num_cases &&
                       jr->next_hand - jr->next_deliver < JOBS_WINDOW) {
                /* (While cases of a dead worker wait, queues drain for them.) */
                index = jr->next_hand++;
                v = index;
            } else {
                continue;
            }
            if (jobs->started != NULL)
                jobs->started(jobs->arg, index);
            w->queue[w->num_queued++] = index;
            /* A failed write shows as the worker's end of file below. */
            (void)write_all(w->to_fd, &v, sizeof(v));
        }
}

/* Reads one answer of worker |id|. Returns false if the worker is gone. */
static bool take_answer(jobs_run *jr, unsigned id, job_msg *m)
{
    worker *w = &jr->w[id];
    if (!read_all(w->from_fd, m, sizeof(*m)) || w->num_queued == 0 || m->index != w->queue[0])
        return false;
    memmove(w->queue, w->queue + 1, --w->num_queued * sizeof(w->queue[0]));
    w->alone = false;
    slot *s = &jr->slots[m->index % JOBS_WINDOW];
    s->done = true;
    s->err = (td_err)m->err;
    s->secs = m->secs;
    s->r = m->r;
    jr->secs += m->secs;
    jr->num_answered++;
    return true;
}

int td_cli_jobs_run(const td_cli_jobs *jobs, const volatile sig_atomic_t *stop)
{
    jobs_run jr = {.jobs = jobs};
    int rc = 0;
    job_msg *m = calloc(1, sizeof(*m));
    struct pollfd *fds = calloc(jobs->num_jobs, sizeof(*fds));
    unsigned *ids = calloc(jobs->num_jobs, sizeof(*ids));
    jr.w = calloc(jobs->num_jobs, sizeof(*jr.w));
    jr.slots = calloc(JOBS_WINDOW, sizeof(*jr.slots));
    jr.retry = calloc((size_t)jobs->num_jobs * JOBS_QUEUE_MAX, sizeof(*jr.retry));
    if (m == NULL || fds == NULL || ids == NULL || jr.w == NULL || jr.slots == NULL ||
        jr.retry == NULL || jobs->num_jobs > 256) {
        fprintf(stderr, "tlsdrill run: out of memory\n");
        rc = 2;
        goto out;
    }
    for (unsigned id = 0; id < jobs->num_jobs; id++) {
        jr.w[id].to_fd = jr.w[id].from_fd = -1;
        if (!worker_start(&jr, &jr.w[id], id)) {
            fprintf(stderr, "tlsdrill run: cannot start a worker process: %s\n", strerror(errno));
            rc = 2;
            goto out;
        }
    }
    for (;;) {
        bool stopping = *stop != 0;
        hand_out(&jr, stopping);
        nfds_t n = 0;
        for (unsigned id = 0; id < jobs->num_jobs; id++)
            if (jr.w[id].num_queued > 0) {
                fds[n] = (struct pollfd){.fd = jr.w[id].from_fd, .events = POLLIN};
                ids[n++] = id;
            }
        if (n == 0)
            break; /* everything handed out was delivered */
        if (poll(fds, n, -1) < 0) {
            if (errno == EINTR)
                continue; /* a signal: |stop| is looked at above */
            fprintf(stderr, "tlsdrill run: poll: %s\n", strerror(errno));
            rc = 2;
            goto out;
        }
        for (nfds_t i = 0; i < n; i++) {
            if (fds[i].revents == 0)
                continue;
            if (!take_answer(&jr, ids[i], m) && !worker_died(&jr, ids[i])) {
                rc = 2;
                goto out;
            }
        }
        while (jr.next_deliver < jr.next_hand && jr.slots[jr.next_deliver % JOBS_WINDOW].done) {
            slot *s = &jr.slots[jr.next_deliver % JOBS_WINDOW];
            s->done = false;
            if (jobs->deliver(jobs->arg, jr.next_deliver, s->err, &s->r, s->secs) != 0) {
                rc = 2;
                goto out;
            }
            jr.next_deliver++;
        }
    }
    if (rc == 0 && jr.next_deliver < jobs->num_cases)
        rc = 1;
out:
    for (unsigned id = 0; jr.w != NULL && id < jobs->num_jobs; id++)
        if (jr.w[id].pid > 0)
            (void)worker_end(&jr.w[id]);
    free(jr.retry);
    free(jr.slots);
    free(jr.w);
    free(ids);
    free(fds);
    free(m);
    return rc;
}
