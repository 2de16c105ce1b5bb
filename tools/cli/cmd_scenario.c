/* tools/cli/cmd_scenario.c -- `tlsdrill lint` and `tlsdrill run`: the
 * scenario suites (scenarios/README.md) against a peer under test. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, strdup-free dirent under -std=c11 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "opt.h"
#include "tlsdrill/array.h"
#include "tlsdrill/peers.h"
#include "tlsdrill/scenario.h"

#include "run_capture.h"
#include "run_jobs.h"
#include "run_report.h"

typedef struct file_list {
    char **paths;
    size_t num, cap;
} file_list;

static int push_path(file_list *l, const char *p)
{
    char **paths = td_array_grow(l->paths, l->num, &l->cap, sizeof(*paths), 32);
    if (paths == NULL)
        return -1;
    l->paths = paths;
    size_t n = strlen(p);
    l->paths[l->num] = malloc(n + 1);
    if (l->paths[l->num] != NULL)
        memcpy(l->paths[l->num], p, n + 1);
    return l->paths[l->num++] ? 0 : -1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds |path| (a *.scn file, or a directory searched recursively). */
static int collect(file_list *l, const char *path, bool top)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "tlsdrill: %s: no such file or directory\n", path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        size_t n = strlen(path);
        if (top || (n > 4 && strcmp(path + n - 4, ".scn") == 0))
            return push_path(l, path);
        return 0;
    }
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    file_list sub = {0};
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL && rc == 0) {
        if (e->d_name[0] == '.')
            continue;
        char child[4096];
        snprintf(child, sizeof(child), "%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/",
                 e->d_name);
        rc = push_path(&sub, child);
    }
    closedir(d);
    qsort(sub.paths, sub.num, sizeof(char *), cmp_str);
    for (size_t i = 0; i < sub.num; i++) {
        if (rc == 0)
            rc = collect(l, sub.paths[i], false);
        free(sub.paths[i]);
    }
    free(sub.paths);
    return rc;
}

static void free_list(file_list *l)
{
    for (size_t i = 0; i < l->num; i++)
        free(l->paths[i]);
    free(l->paths);
}

int td_cli_scn_files(const char *path, char ***out, size_t *num)
{
    file_list l = {0};
    if (collect(&l, path, true) != 0) {
        free_list(&l);
        return -1;
    }
    *out = l.paths;
    *num = l.num;
    return 0;
}

/* Parses every file; prints diagnostics to stderr. Returns the number of
 * diagnostics, -1 on a fatal error. */
static long parse_all(const file_list *l, td_scn_file **files, size_t *num_cases)
{
    td_scn_diags diags = {0};
    *num_cases = 0;
    for (size_t i = 0; i < l->num; i++) {
        td_err err = td_scn_parse_file(l->paths[i], &files[i], &diags);
        if (err == TD_ERR_NOMEM) {
            td_scn_diags_cleanup(&diags);
            return -1;
        }
        if (files[i] != NULL)
            *num_cases += files[i]->num_cases;
    }
    td_scn_diags_print(&diags, stderr);
    long n = (long)diags.num;
    td_scn_diags_cleanup(&diags);
    return n;
}

static const td_cli_cmd lint_cmd = {
    .name = "lint",
    .args = "FILE|DIR...",
    .min_args = 1,
    .max_args = SIZE_MAX,
    .about = "Checks scenario files (*.scn under each DIR): file:line:col diagnostics on stderr,\n"
             "then 'N files, N cases, N errors'. Exit 0 clean, 1 with diagnostics or no case at all.",
};

int td_cli_lint(int argc, char **argv)
{
    file_list l = {0};
    const char **args = calloc((size_t)argc, sizeof(*args));
    size_t num_args = 0;
    if (args == NULL)
        return 2;
    int rc = td_cli_opt_parse(&lint_cmd, argc, argv, NULL, args, &num_args);
    for (size_t i = 0; i < num_args && rc == TD_CLI_CONTINUE; i++)
        if (collect(&l, args[i], true) != 0)
            rc = 2;
    free(args);
    if (rc != TD_CLI_CONTINUE) {
        free_list(&l);
        return rc;
    }
    td_scn_file **files = calloc(l.num ? l.num : 1, sizeof(*files));
    size_t cases = 0;
    long n = files ? parse_all(&l, files, &cases) : -1;
    for (size_t i = 0; i < l.num && files; i++)
        td_scn_file_free(files[i]);
    free(files);
    if (n < 0) {
        free_list(&l);
        return 2;
    }
    printf("%zu file%s, %zu case%s, %ld error%s\n", l.num, l.num == 1 ? "" : "s", cases,
           cases == 1 ? "" : "s", n, n == 1 ? "" : "s");
    if (cases == 0 && n == 0)
        fprintf(stderr, "tlsdrill lint: no cases in %s%s\n", argc > 2 ? "the arguments" : argv[1],
                l.num == 0 ? " (no *.scn file)" : "");
    free_list(&l);
    return n == 0 && cases > 0 ? 0 : 1;
}

static bool case_selected(const td_scn_case *c, const char *filter, td_rule rule)
{
    if (filter != NULL && strstr(c->name, filter) == NULL)
        return false;
    if (rule == TD_RULE_NONE)
        return true;
    for (size_t i = 0; i < c->num_rules; i++)
        if (c->rules[i] == rule)
            return true;
    return false;
}

typedef struct run_args {
    const char *filter, *json, *junit, *peer, *expect, *peer_version;
    unsigned timeout_ms, linger_ms, startup_ms;
    td_rule rule;
    unsigned jobs;             /* -j N; 0 = the default (run_jobs_for) */
    const char *pcap, *keylog; /* --pcap, --keylog: the run's capture */
    bool quiet;                /* no progress line */
    bool verbose;              /* -v: the peer's log (shim stderr) under every row */
    bool lenient, stats, list;
    size_t num_paths; /* FILE|DIR arguments given */
    unsigned long long seed;
    bool plant;        /* hidden --plant-wrong-alert RULE (test-only) */
    td_rule plant_rule;
    td_rule plant_skip;      /* hidden --plant-skip RULE (test-only) */
    bool plant_hrr;          /* hidden --plant-hrr (test-only) */
    bool check_edits;        /* hidden --check-edits (test-only) */
    bool jobs_always;        /* hidden --jobs-always: workers even for a small in-process run (test-only) */
    uint16_t plant_drop_ext; /* hidden --plant-drop-ext N (test-only) */
    uint8_t plant_skip_msg;  /* hidden --plant-skip-message N (test-only) */
} run_args;

/* The command line as parsed (opt.h), converted into run_args. */
typedef struct run_flags {
    const char *filter, *json, *junit, *peer, *expect, *peer_version, *rule, *pcap, *keylog, *plant;
    const char *plant_skip;
    uint64_t timeout_ms, linger_ms, startup_ms, seed, plant_drop_ext, plant_skip_msg, jobs;
    bool plant_hrr, check_edits, jobs_always;
    int lenient;
    bool quiet, stats, list, verbose;
} run_flags;

#define RF(field) .offset = offsetof(run_flags, field)
static const td_cli_opt run_opts_table[] = {
    {.name = "--peer", .kind = TD_CLI_OPT_STR, RF(peer), .arg = "PEER",
     .help = "engine (default) | openssl: OpenSSL's libssl in process as the SUT\n"
             "| tcp:HOST:PORT: a TLS server there (our side the client)\n"
             "| listen:[HOST:]PORT: per case, one connection of a client SUT (our side the server)\n"
             "| exec:CMD: per case a child process, {port} {role} substituted, configured\n"
             "  through TD_* variables (tools/peers/*.sh; exit 89 = unsupported)"},
    {.name = "--strict", .kind = TD_CLI_OPT_SET, RF(lenient), .set = 0,
     .help = "fail the run on fail, alert-differs and error grades (default)"},
    {.name = "--lenient", .kind = TD_CLI_OPT_SET, RF(lenient), .set = 1,
     .help = "fail the run on fail and error only: alert-differs (another alert, or a\n"
             "close without one) is reported, not failed"},
    {.name = "--filter", .kind = TD_CLI_OPT_STR, RF(filter), .arg = "SUBSTR",
     .help = "only cases whose name contains SUBSTR"},
    {.name = "--rule", .kind = TD_CLI_OPT_STR, RF(rule), .arg = "ID", .help = "only cases that name this rule"},
    {.name = "--jobs", .alias = "-j", .kind = TD_CLI_OPT_UINT, RF(jobs), .min = 1, .max = 256,
     .help = "cases played by N worker processes at once (default: the number of\n"
             "processors; 1 for tcp: and listen: peers and with --pcap/--keylog; an\n"
             "in-process peer's cases are played by this process while less than 0.5 s\n"
             "of CPU is left, which workers would not pay for); the reports are the\n"
             "same, in the same order, as with -j 1"},
    {.name = "--seed", .kind = TD_CLI_OPT_UINT, RF(seed), .max = UINT64_MAX,
     .help = "the DRBG seed of every case (0; decimal or 0x hex)"},
    {.name = "--expect", .kind = TD_CLI_OPT_STR, RF(expect), .arg = "FILE",
     .help = "known deviations of the peer, one per line: CASE-NAME REASON; a REASON that\n"
             "starts with the outcome (an alert name, none, closed, stalled, our-abort,\n"
             "unsupported) also fails the case when the outcome changes"},
    {.name = "--json", .kind = TD_CLI_OPT_STR, RF(json), .arg = "FILE", .help = "the report as JSON"},
    {.name = "--junit", .kind = TD_CLI_OPT_STR, RF(junit), .arg = "FILE", .help = "the report as JUnit XML"},
    {.name = "--stats", .kind = TD_CLI_OPT_FLAG, RF(stats), .help = "counts per rule group after the table"},
    {.name = "--list", .kind = TD_CLI_OPT_FLAG, RF(list),
     .help = "print the selected cases (file, line, name, rules; tab-separated), run nothing"},
    {.name = "--timeout", .kind = TD_CLI_OPT_DURATION, RF(timeout_ms), .min = 1, .max = 600000, .unit_ms = 1000,
     .help = "network peers: connect and each read wait this long (3s), a connection 5x;\n"
             "a silent peer is `timeout`, a closing/resetting one `closed`, a non-TLS one `garbage`"},
    {.name = "--timeout-ms", .kind = TD_CLI_OPT_DURATION, RF(timeout_ms), .min = 1, .max = 600000, .unit_ms = 1},
    {.name = "--startup-timeout", .kind = TD_CLI_OPT_DURATION, RF(startup_ms), .min = 1, .max = 600000,
     .unit_ms = 1000,
     .help = "exec: peers: a child's start-up, until a server SUT listens or a client SUT\n"
             "connects (10s), apart from --timeout; not up by then: the case is an error"},
    {.name = "--linger", .kind = TD_CLI_OPT_DURATION, RF(linger_ms), .min = 1, .max = 600000, .unit_ms = 1000,
     .help = "network peers: quiet time awaited after the handshake (200ms)"},
    {.name = "--linger-ms", .kind = TD_CLI_OPT_DURATION, RF(linger_ms), .min = 1, .max = 600000, .unit_ms = 1},
    {.name = "--peer-version", .kind = TD_CLI_OPT_STR, RF(peer_version), .arg = "TEXT",
     .help = "the peer's version for the report"},
    {.name = "--pcap", .kind = TD_CLI_OPT_STR, RF(pcap), .arg = "FILE",
     .help = "every connection of every case as its own TCP stream of one capture\n"
             "(stream N: 10.0.0.1:49152+N -> 10.0.0.2:443); a FILE ending in .pcapng names\n"
             "each stream's case in a packet comment and embeds the key log"},
    {.name = "--keylog", .kind = TD_CLI_OPT_STR, RF(keylog), .arg = "FILE",
     .help = "the NSS key log that decrypts it (tshark -o tls.keylog_file:FILE,\n"
             "or tlsdrill dissect FILE --keylog FILE)"},
    {.name = "--quiet", .alias = "-q", .kind = TD_CLI_OPT_FLAG, RF(quiet),
     .help = "no progress line (it is shown on stderr only when stderr is a terminal)"},
    {.name = "--verbose", .alias = "-v", .kind = TD_CLI_OPT_FLAG, RF(verbose),
     .help = "the peer's own log (an exec: shim's stderr) under every row (else under\n"
             "FAIL/ERROR rows only; always in the --json report as peer_log)"},
    /* Test-only: the engine SUT answers this rule with a wrong alert. */
    {.name = "--plant-wrong-alert", .kind = TD_CLI_OPT_STR, RF(plant), .arg = "RULE"},
    /* Test-only: the engine SUT skips its check for RULE / answers every
     * ClientHello with an HRR / leaves extension N out of its ClientHello. */
    {.name = "--plant-skip", .kind = TD_CLI_OPT_STR, RF(plant_skip), .arg = "RULE"},
    {.name = "--plant-hrr", .kind = TD_CLI_OPT_FLAG, RF(plant_hrr)},
    /* Test-only: -j N forks its workers even for a small in-process selection. */
    {.name = "--jobs-always", .kind = TD_CLI_OPT_FLAG, RF(jobs_always)},
    /* Test-only: every edited message must parse unless a rule allows decode_error. */
    {.name = "--check-edits", .kind = TD_CLI_OPT_FLAG, RF(check_edits)},
    {.name = "--plant-drop-ext", .kind = TD_CLI_OPT_UINT, RF(plant_drop_ext), .min = 1, .max = 65535},
    /* Test-only: the engine SUT does not send its handshake message of type N. */
    {.name = "--plant-skip-message", .kind = TD_CLI_OPT_UINT, RF(plant_skip_msg), .min = 1, .max = 255},
};
#undef RF

static const td_cli_cmd run_cmd = {
    .name = "run",
    .args = "[FILE|DIR...]",
    .max_args = SIZE_MAX,
    .about = "Runs scenario cases (default: scenarios/; a path holding no .scn file is an\n"
             "error) against a peer and grades each: pass, alert-differs, fail, advisory, n/a,\n"
             "unsupported, error; exit 1 if a case fails in the mode. DURATION: 300ms, 5s, 2m (a bare number: seconds; milliseconds for\n"
             "the old spellings --timeout-ms and --linger-ms).",
    .opts = run_opts_table,
    .num_opts = sizeof(run_opts_table) / sizeof(run_opts_table[0]),
};

static int parse_run_args(int argc, char **argv, run_args *a, file_list *l)
{
    run_flags f = {.peer = "engine"};
    const char **args = calloc((size_t)argc, sizeof(*args));
    size_t num_args = 0;
    if (args == NULL)
        return 2;
    int rc = td_cli_opt_parse(&run_cmd, argc, argv, &f, args, &num_args);
    if (rc == 0) {
        free(args);
        return -1; /* --help: done, exit 0 */
    }
    for (size_t i = 0; i < num_args && rc == TD_CLI_CONTINUE; i++) {
        /* A path that holds no scenario file is a mistake (a typo in CI
         * must not turn green by running something else): exit 2. */
        size_t before = l->num;
        if (collect(l, args[i], true) != 0) {
            rc = 2;
        } else if (l->num == before) {
            fprintf(stderr, "tlsdrill run: %s: no .scn file there\n", args[i]);
            rc = 2;
        }
    }
    size_t num_paths = num_args;
    free(args);
    if (rc != TD_CLI_CONTINUE)
        return rc;
    *a = (run_args){.filter = f.filter,
                    .json = f.json,
                    .junit = f.junit,
                    .peer = f.peer,
                    .expect = f.expect,
                    .peer_version = f.peer_version,
                    .timeout_ms = (unsigned)f.timeout_ms,
                    .linger_ms = (unsigned)f.linger_ms,
                    .startup_ms = (unsigned)f.startup_ms,
                    .pcap = f.pcap,
                    .keylog = f.keylog,
                    .quiet = f.quiet,
                    .lenient = f.lenient != 0,
                    .stats = f.stats,
                    .list = f.list,
                    .verbose = f.verbose,
                    .seed = f.seed,
                    .jobs = (unsigned)f.jobs,
                    .num_paths = num_paths};
    if (f.rule != NULL && (a->rule = td_rule_by_id(f.rule)) == TD_RULE_NONE)
        return td_cli_usage_error(&run_cmd, "unknown rule '%s'", f.rule);
    if (f.plant != NULL && (a->plant_rule = td_rule_by_id(f.plant)) == TD_RULE_NONE)
        return td_cli_usage_error(&run_cmd, "unknown rule '%s'", f.plant);
    a->plant = f.plant != NULL;
    if (f.plant_skip != NULL && (a->plant_skip = td_rule_by_id(f.plant_skip)) == TD_RULE_NONE)
        return td_cli_usage_error(&run_cmd, "unknown rule '%s'", f.plant_skip);
    a->plant_hrr = f.plant_hrr;
    a->check_edits = f.check_edits;
    a->jobs_always = f.jobs_always;
    a->plant_drop_ext = (uint16_t)f.plant_drop_ext;
    a->plant_skip_msg = (uint8_t)f.plant_skip_msg;
    if (!td_cli_output_ok("run", a->json) || !td_cli_output_ok("run", a->junit) ||
        !td_cli_output_ok("run", a->pcap) || !td_cli_output_ok("run", a->keylog))
        return 2;
    bool one_port = strncmp(a->peer, "listen:", 7) == 0;
    if (a->jobs > 1 && one_port)
        return td_cli_usage_error(&run_cmd, "-j %u: a listen: peer connects to one port; use -j 1",
                                  a->jobs);
    if (a->jobs > 1 && (a->pcap != NULL || a->keylog != NULL))
        return td_cli_usage_error(&run_cmd,
                                  "-j %u: --pcap/--keylog number connections in case order; "
                                  "use -j 1",
                                  a->jobs);
    if (td_peer_find(a->peer) == NULL) {
        char why[512];
        td_scn_peer none;
        if (td_peer_new(a->peer, NULL, &none, NULL, why, sizeof(why)) == TD_OK)
            snprintf(why, sizeof(why), "unknown peer '%s'", a->peer);
        fprintf(stderr, "tlsdrill run: %s\n", why);
        return 2;
    }
    if (a->num_paths == 0 && collect(l, "scenarios", true) != 0)
        return 2;
    return 0;
}

/* --expect FILE: known deviations of a peer, one per line: CASE-NAME REASON. */
typedef struct deviation {
    char *name, *reason;
} deviation;

typedef struct deviations {
    deviation *list;
    size_t num, cap;
} deviations;

static void free_deviations(deviations *d)
{
    for (size_t i = 0; i < d->num; i++) {
        free(d->list[i].name);
        free(d->list[i].reason);
    }
    free(d->list);
}

static char *dup_range(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static int load_deviations(const char *path, deviations *d)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    int no = 0;
    if (f == NULL) {
        fprintf(stderr, "tlsdrill run: cannot read %s\n", path);
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        no++;
        char *s = line + strspn(line, " \t");
        s[strcspn(s, "\r\n")] = '\0';
        if (*s == '\0' || *s == '#')
            continue;
        size_t n = strcspn(s, " \t");
        const char *reason = s + n + strspn(s + n, " \t");
        if (*reason == '\0') {
            fprintf(stderr, "%s:%d: error: a deviation needs a reason after the case name\n", path,
                    no);
            fclose(f);
            return -1;
        }
        deviation *nl = td_array_grow(d->list, d->num, &d->cap, sizeof(*nl), 16);
        if (nl == NULL) {
            fclose(f);
            return -1;
        }
        d->list = nl;
        d->list[d->num].name = dup_range(s, n);
        d->list[d->num].reason = dup_range(reason, strlen(reason));
        d->num++;
    }
    fclose(f);
    return 0;
}

static const deviation *find_deviation(const deviations *d, const char *name)
{
    for (size_t i = 0; i < d->num; i++)
        if (d->list[i].name != NULL && strcmp(d->list[i].name, name) == 0)
            return &d->list[i];
    return NULL;
}

/* The outcome of |r| as one word: an alert name, `none` (no alert: the
 * handshake completed), `closed`, `stalled`, `timeout`, `garbage`,
 * `our-abort` or `unsupported`. */
static void actual_word(const td_scn_result *r, char *out, size_t cap)
{
    const char *a = r->actual;
    if (r->verdict == TD_SCN_UNSUPPORTED)
        snprintf(out, cap, "unsupported");
    else if (strncmp(a, "alert ", 6) == 0)
        snprintf(out, cap, "%s", a + 6);
    else if (strncmp(a, "handshake", 9) == 0 || strncmp(a, "resumed", 7) == 0)
        snprintf(out, cap, "none"); /* also "resumed +0-RTT": completed, no alert */
    else if (strncmp(a, "our abort", 9) == 0)
        snprintf(out, cap, "our-abort");
    else
        snprintf(out, cap, "%.*s", (int)strcspn(a, " "), a);
}

/* A deviation whose reason starts with an outcome word (`decode_error
 * real deviation: ...`, `none ...`, `unsupported ...`) pins that outcome:
 * a different one is a failure, so a changed verdict shows. Returns
 * whether |dev| pins an outcome other than |r|'s. */
static bool deviation_changed(const deviation *dev, const td_scn_result *r, char *want, size_t cap)
{
    static const char *const words[] = {"none",    "closed",  "stalled",    "our-abort",
                                        "timeout", "garbage", "unsupported"};
    size_t n = strcspn(dev->reason, " \t");
    snprintf(want, cap, "%.*s", (int)n, dev->reason);
    bool pinned = td_alert_by_name(want) >= 0;
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]) && !pinned; i++)
        pinned = strcmp(want, words[i]) == 0;
    if (!pinned)
        return false;
    char got[96];
    actual_word(r, got, sizeof(got));
    return strcmp(got, want) != 0;
}

/* The progress line of a long run: on stderr, rewritten in place with \r,
 * only when stderr is a terminal (and not --quiet); cleared before each
 * table row so the table on stdout stays intact when both share a tty. */
typedef struct progress {
    bool on, colour, shown;
    size_t total;
} progress;

static void progress_show(progress *p, size_t done, size_t ok, size_t bad, const char *name)
{
    if (!p->on)
        return;
    int cols = 80;
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
        cols = ws.ws_col;
    char head[128];
    int n =
        snprintf(head, sizeof(head), "[%zu/%zu] %zu passed, %zu failed  ", done, p->total, ok, bad);
    int room = cols - 1 - (n > 0 ? n : 0);
    if (room < 0)
        room = 0;
    if (p->colour)
        fprintf(stderr, "\r\033[K[%zu/%zu] \033[32m%zu passed\033[0m, %s%zu failed%s  %.*s", done,
                p->total, ok, bad ? "\033[1;31m" : "", bad, bad ? "\033[0m" : "", room, name);
    else
        fprintf(stderr, "\r\033[K%s%.*s", head, room, name);
    fflush(stderr);
    p->shown = true;
}

static void progress_clear(progress *p)
{
    if (!p->on || !p->shown)
        return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    p->shown = false;
}

/* The peer under test (--peer), from the peer registry. Returns 0, or 2
 * with a message on stderr. */
typedef struct run_peers {
    td_scn_peer peer;
    const td_peer_kind *kind;
    char version[256]; /* for the reports */
} run_peers;

/* The peer options of a run; worker |worker| of |num_jobs| (-j) gets its
 * own slice of the ports an exec: server SUT is started on (peers.h: 0 =
 * 20000..29999), so that no two workers pick the same one. */
static td_peer_opts peer_opts(const run_args *a, const td_scn_opts *opts, unsigned worker,
                              unsigned num_jobs)
{
    unsigned t = a->timeout_ms ? a->timeout_ms : 3000;
    td_peer_opts po = {.connect_ms = t,
                       .read_ms = t,
                       .case_ms = 5 * t,
                       .linger_ms = a->linger_ms,
                       .startup_ms = a->startup_ms,
                       .cert_dir = opts->cert_dir};
    if (num_jobs > 1) {
        unsigned span = 10000 / num_jobs;
        po.port_lo = (uint16_t)(20000 + worker * span);
        po.port_hi = (uint16_t)(po.port_lo + span - 1);
    }
    return po;
}

static int peer_setup(const run_args *a, td_scn_opts *opts, run_peers *p)
{
    char why[512] = "";
    td_peer_opts po = peer_opts(a, opts, 0, 1);
    if (td_peer_new(a->peer, &po, &p->peer, &p->kind, why, sizeof(why)) != TD_OK) {
        fprintf(stderr, "tlsdrill run: --peer %s: %s\n", a->peer, why[0] ? why : "cannot set up");
        return 2;
    }
    opts->peer = &p->peer;
    if (a->peer_version != NULL)
        snprintf(p->version, sizeof(p->version), "%s", a->peer_version);
    else if (p->kind->version == NULL ||
             !p->kind->version(a->peer, p->version, sizeof(p->version)))
        snprintf(p->version, sizeof(p->version), "%s", a->peer);
    return 0;
}

static void peer_cleanup(run_peers *p)
{
    td_peer_free(p->kind, &p->peer);
    p->kind = NULL;
}

static void list_cases(const file_list *l, td_scn_file **files, const run_args *a)
{
    for (size_t f = 0; f < l->num; f++)
        for (size_t i = 0; i < files[f]->num_cases; i++) {
            const td_scn_case *c = &files[f]->cases[i];
            if (!case_selected(c, a->filter, a->rule))
                continue;
            printf("%s\t%d\t%s\t", c->file, c->line, c->name);
            for (size_t k = 0; k < c->num_rules; k++)
                printf("%s%s", k ? "," : "", td_rule_get(c->rules[k])->id);
            printf("\n");
        }
}

/* Deviations naming no case of the run: reported, they rot otherwise. */
static void unknown_deviations(const deviations *devs, const file_list *l, td_scn_file **files,
                               const char *path)
{
    for (size_t k = 0; k < devs->num; k++) {
        bool known = false;
        for (size_t f = 0; f < l->num && !known; f++)
            for (size_t i = 0; i < files[f]->num_cases && !known; i++)
                known = strcmp(files[f]->cases[i].name, devs->list[k].name) == 0;
        if (!known)
            fprintf(stderr, "tlsdrill run: %s: no case named '%s'\n", path, devs->list[k].name);
    }
}

static double elapsed(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Everything a run holds, so that one cleanup frees it. */
typedef struct run_state {
    run_args a;
    file_list l;
    td_scn_file **files;
    td_crypto *crypto;
    td_scn_runner *runner;
    run_peers peers;
    td_cli_capture cap;
    deviations devs;
    td_cli_sink *sink;
    progress prog;
    td_cli_tally tally;
    /* -j N with N > 1: the selected cases in order, and what workers use. */
    const td_scn_case **sel;
    size_t num_sel;
    size_t sel_shift; /* cases played before the workers (sel - sel_shift is the array) */
    unsigned num_jobs;
    td_scn_opts *opts;
} run_state;

/* The reports' part of case |c| played into |r| (td_scn_run_case's |cerr|,
 * |secs| of wall time): the capture's end, the deviation, the tally and the
 * sink. Returns 0, or 2 when the peer cannot be reached at all (the run
 * stops). */
static int finish_case(run_state *st, const td_scn_opts *opts, const td_scn_case *c,
                       td_scn_result *r, td_err cerr, double secs, unsigned first_stream)
{
    td_cli_case_report cr = {.c = c, .r = r, .stream = -1, .secs = secs};
    if (cerr == TD_ERR_IO) {
        /* The peer cannot be reached at all: one error, not one per case. */
        progress_clear(&st->prog);
        fprintf(stderr, "tlsdrill run: --peer %s: %s\n", st->a.peer, r->reason);
        return 2;
    }
    if (cerr != TD_OK) {
        r->verdict = TD_SCN_ERROR;
        snprintf(r->level, sizeof(r->level), "-");
        snprintf(r->reason, sizeof(r->reason), "%s", td_err_name(cerr));
    }
    if (opts->tap != NULL && td_cli_capture_end(&st->cap) != TD_OK && r->verdict != TD_SCN_ERROR) {
        r->verdict = TD_SCN_ERROR;
        snprintf(r->reason, sizeof(r->reason), "capture: %s", td_err_name(st->cap.err));
    }
    progress_clear(&st->prog);
    const deviation *dev = find_deviation(&st->devs, c->name);
    if (dev != NULL) {
        cr.deviation = dev->reason;
        if (deviation_changed(dev, r, cr.pinned, sizeof(cr.pinned)))
            cr.known = TD_CLI_KNOWN_CHANGED;
    }
    if (st->a.pcap != NULL) {
        cr.stream = (int)first_stream;
        cr.num_streams = st->cap.num_flows - first_stream;
    }
    td_cli_tally_add(&st->tally, &cr, st->a.lenient);
    td_cli_sink_case(st->sink, &cr);
    return 0;
}

/* Plays one case here and hands it to the reports (finish_case). */
static int run_one(run_state *st, const td_scn_opts *opts, const td_scn_case *c)
{
    td_scn_result r;
    unsigned first_stream = st->cap.num_flows;
    progress_show(&st->prog, st->tally.ran, st->tally.grades[TD_SCN_PASS], st->tally.failing,
                  c->name);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    td_err cerr = td_scn_run_case(st->runner, c, &r);
    return finish_case(st, opts, c, &r, cerr, elapsed(&t0), first_stream);
}

/* SIGINT/SIGTERM during `run`: the one piece of mutable file-scope state a
 * signal handler needs. The case under way finishes (every wait has a
 * deadline), no further case starts, and the reports are closed whole,
 * saying they were interrupted; a second signal acts as usual
 * (SA_RESETHAND), and an earlier report is still whole then (reports are
 * renamed into place only when complete). */
static volatile sig_atomic_t run_signal;

static void on_run_signal(int signo)
{
    run_signal = signo;
}

/* ---- -j N: the cases in worker processes (run_jobs.h) ---- */

/* In a worker: its own peer (its own ports, child processes and listening
 * socket) and runner; the parent's were freed before the workers started. */
static int job_setup(void *arg, unsigned worker)
{
    run_state *st = arg;
    char why[512] = "";
    td_peer_opts po = peer_opts(&st->a, st->opts, worker, st->num_jobs);
    if (td_peer_new(st->a.peer, &po, &st->peers.peer, &st->peers.kind, why, sizeof(why)) !=
        TD_OK) {
        fprintf(stderr, "tlsdrill run: --peer %s: %s\n", st->a.peer, why[0] ? why : "cannot set up");
        return 2;
    }
    st->opts->peer = &st->peers.peer;
    return td_scn_runner_new(st->opts, &st->runner) == TD_OK ? 0 : 2;
}

static void job_teardown(void *arg)
{
    run_state *st = arg;
    td_scn_runner_free(st->runner);
    st->runner = NULL;
    peer_cleanup(&st->peers);
}

static td_err job_play(void *arg, size_t index, td_scn_result *out)
{
    run_state *st = arg;
    return td_scn_run_case(st->runner, st->sel[index], out);
}

static int job_deliver(void *arg, size_t index, td_err err, const td_scn_result *r, double secs)
{
    run_state *st = arg;
    td_scn_result copy = *r;
    int rc = finish_case(st, st->opts, st->sel[index], &copy, err, secs, 0);
    if (rc == 0 && index + 1 < st->num_sel)
        progress_show(&st->prog, st->tally.ran, st->tally.grades[TD_SCN_PASS], st->tally.failing,
                      st->sel[index + 1]->name);
    return rc;
}

#define RUN_PROBE_CPU 0.06       /* seconds of CPU: in-process cases timed before deciding */
#define RUN_PARALLEL_MIN_CPU 0.5 /* ... and the CPU left that pays for workers */

/* This process's CPU time so far, in seconds. */
static double cpu_secs(void)
{
    struct timespec t;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t) != 0)
        return 0;
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The selected cases played by st->num_jobs workers (an in-process peer's
 * first ones, or all of a small selection, here). Returns 0, or 2 (a
 * message on stderr); a signal ends it early with a prefix delivered. */
static int run_parallel(run_state *st, td_scn_opts *opts)
{
    st->sel = calloc(st->prog.total ? st->prog.total : 1, sizeof(*st->sel));
    if (st->sel == NULL)
        return 2;
    for (size_t f = 0; f < st->l.num; f++)
        for (size_t i = 0; i < st->files[f]->num_cases; i++)
            if (case_selected(&st->files[f]->cases[i], st->a.filter, st->a.rule))
                st->sel[st->num_sel++] = &st->files[f]->cases[i];
    /* An in-process peer's cases are played here first, and workers are
     * forked only when what is left would take RUN_PARALLEL_MIN_CPU of
     * CPU or more here (by the mean of the cases played after the first,
     * which pays for setting up, once they took RUN_PROBE_CPU): a worker's
     * fork, setup and first touch of its memory cost some 25 ms of CPU, as
     * much as 60 engine cases, and on a busy machine two workers of a
     * small selection finish later than one process. The engine suite
     * (some 0.3 s of CPU) is played here, an in-process library's (0.7 s
     * or more) by workers. */
    bool in_process = strncmp(st->a.peer, "tcp:", 4) != 0 &&
                      strncmp(st->a.peer, "listen:", 7) != 0 &&
                      strncmp(st->a.peer, "exec:", 5) != 0 && !st->a.jobs_always;
    double cpu0 = 0;
    while (in_process && st->num_sel > 0 && !run_signal) {
        if (st->sel_shift == 1) {
            cpu0 = cpu_secs(); /* after the first case */
        } else if (st->sel_shift > 1) {
            double spent = cpu_secs() - cpu0;
            if (spent >= RUN_PROBE_CPU &&
                spent / (double)(st->sel_shift - 1) * (double)st->num_sel >= RUN_PARALLEL_MIN_CPU)
                break;
        }
        if (run_one(st, opts, st->sel[0]) != 0)
            return 2;
        st->sel++;
        st->num_sel--;
        st->sel_shift++;
    }
    if (st->num_sel == 0 || run_signal)
        return 0;
    if (st->num_jobs > st->num_sel)
        st->num_jobs = (unsigned)st->num_sel;
    /* Each worker makes its own peer and runner (run_setup made the
     * parent's to check the peer and ask its version). */
    td_scn_runner_free(st->runner);
    st->runner = NULL;
    peer_cleanup(&st->peers);
    opts->peer = NULL;
    st->opts = opts;
    progress_show(&st->prog, st->tally.ran, st->tally.grades[TD_SCN_PASS], st->tally.failing,
                  st->sel[0]->name);
    td_cli_jobs jobs = {.num_jobs = st->num_jobs,
                        .num_cases = st->num_sel,
                        .arg = st,
                        .setup = job_setup,
                        .teardown = job_teardown,
                        .play = job_play,
                        .deliver = job_deliver};
    int rc = td_cli_jobs_run(&jobs, &run_signal);
    return rc == 2 ? 2 : 0;
}

/* How many workers play the cases: -j N, or by default one per processor
 * except for a tcp: peer, one server we do not start and that may serve one
 * connection at a time (openssl s_server does: a second case would wait out
 * the first one's deadlines), and listen: and captures, which refuse -j > 1
 * (run_parse). exec: peers run in parallel: each worker starts its own
 * children on its own ports (peer_opts) in its own temporary directory, and
 * their verdicts are the same as with -j 1 (what differs from run to run is
 * the SUT's own randomness, `unpinned` in its expectations file). Never
 * more than the cases. */
static unsigned run_jobs_for(const run_args *a, size_t selected)
{
    unsigned n = a->jobs;
    if (n == 0)
        n = strncmp(a->peer, "tcp:", 4) == 0 || strncmp(a->peer, "listen:", 7) == 0 ||
                    a->pcap != NULL || a->keylog != NULL
                ? 1
                : td_cli_jobs_default();
    return selected < n ? (selected ? (unsigned)selected : 1) : n;
}

/* The width of the CASE column: the longest selected name, within 4..56. */
static int name_width(const run_state *st, size_t *selected)
{
    int w = 4;
    *selected = 0;
    for (size_t f = 0; f < st->l.num; f++)
        for (size_t i = 0; i < st->files[f]->num_cases; i++) {
            const td_scn_case *c = &st->files[f]->cases[i];
            if (!case_selected(c, st->a.filter, st->a.rule))
                continue;
            (*selected)++;
            if ((int)strlen(c->name) > w)
                w = (int)strlen(c->name);
        }
    return w > 56 ? 56 : w; /* longer names overflow their column */
}

/* Sets up crypto, the capture tap, the peer and the runner. */
static int run_setup(run_state *st, td_scn_opts *opts)
{
    const run_args *a = &st->a;
    if (a->expect != NULL && load_deviations(a->expect, &st->devs) != 0)
        return 2;
    if (td_crypto_new(&st->crypto) != TD_OK) {
        fprintf(stderr, "tlsdrill run: cannot initialise crypto\n");
        return 2;
    }
    opts->crypto = st->crypto;
    if (a->pcap != NULL || a->keylog != NULL) {
        /* A pcapng capture embeds the key log, so collect it in any case. */
        size_t pl = a->pcap != NULL ? strlen(a->pcap) : 0;
        bool ng = pl > 7 && strcmp(a->pcap + pl - 7, ".pcapng") == 0;
        if (td_cli_capture_init(&st->cap, a->pcap != NULL, a->keylog != NULL || ng) != TD_OK) {
            fprintf(stderr, "tlsdrill run: out of memory\n");
            return 2;
        }
        opts->tap = &st->cap.tap;
    }
    int rc = peer_setup(a, opts, &st->peers);
    if (rc != 0)
        return rc;
    if (td_scn_runner_new(opts, &st->runner) != TD_OK) {
        fprintf(stderr, "tlsdrill run: cannot load certificates from %s\n", opts->cert_dir);
        return 2;
    }
    return 0;
}

static int run_cases(run_state *st, td_scn_opts *opts)
{
    const run_args *a = &st->a;
    size_t selected = 0;
    td_cli_sink_opts so = {.json_path = a->json,
                           .junit_path = a->junit,
                           .peer = a->peer,
                           .peer_version = st->peers.version,
                           .verbose = a->verbose,
                           .expect_path = a->expect,
                           .lenient = a->lenient,
                           .seed = a->seed,
                           .colour = isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL};
    so.name_width = name_width(st, &selected);
    int rc = td_cli_sink_open(&so, &st->sink);
    if (rc != 0)
        return rc;
    st->prog.on = !a->quiet && isatty(STDERR_FILENO);
    st->prog.colour = st->prog.on && getenv("NO_COLOR") == NULL;
    st->prog.total = selected;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    st->num_jobs = run_jobs_for(a, selected);
    if (st->num_jobs > 1 && run_parallel(st, opts) != 0)
        return 2; /* the summary of a run that could not happen would mislead */
    for (size_t f = 0; f < st->l.num && !run_signal && st->num_jobs <= 1; f++)
        for (size_t i = 0; i < st->files[f]->num_cases && !run_signal; i++)
            if (case_selected(&st->files[f]->cases[i], a->filter, a->rule) &&
                run_one(st, opts, &st->files[f]->cases[i]) != 0) {
                /* The summary of a run that could not happen would mislead. */
                return 2;
            }
    int signo = run_signal;
    progress_clear(&st->prog);
    if (signo != 0)
        td_cli_sink_interrupted(st->sink, signo, selected);
    rc = td_cli_sink_close(st->sink, &st->tally, elapsed(&t0), a->stats);
    if (rc == 0)
        rc = signo != 0 ? 128 + signo : td_cli_tally_rc(&st->tally);
    if (opts->tap != NULL && td_cli_capture_write(&st->cap, a->pcap, a->keylog) != 0)
        rc = 2;
    if (a->expect != NULL)
        unknown_deviations(&st->devs, &st->l, st->files, a->expect);
    return rc;
}

int td_cli_run(int argc, char **argv)
{
    run_state *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return 2;
    int rc = parse_run_args(argc, argv, &st->a, &st->l);
    if (rc != 0) {
        free_list(&st->l);
        free(st);
        return rc < 0 ? 0 : rc;
    }
    size_t total = 0;
    st->files = calloc(st->l.num ? st->l.num : 1, sizeof(*st->files));
    long nd = st->files ? parse_all(&st->l, st->files, &total) : -1;
    td_scn_opts opts = {.seed = st->a.seed, .cert_dir = TD_VECTORS_DIR "/certs"};
    opts.plant_wrong_alert = st->a.plant;
    opts.plant_rule = st->a.plant_rule;
    opts.plant_skip = st->a.plant_skip;
    opts.plant_hrr = st->a.plant_hrr;
    opts.check_edits = st->a.check_edits;
    opts.plant_drop_ext = st->a.plant_drop_ext;
    opts.plant_skip_msg = st->a.plant_skip_msg;
    if (nd != 0) {
        fprintf(stderr, "tlsdrill run: fix the diagnostics above first (tlsdrill lint)\n");
        rc = nd < 0 ? 2 : 1;
    } else if (total == 0) {
        fprintf(stderr, "tlsdrill run: no cases in %s\n",
                st->l.num == 1 ? st->l.paths[0] : "the files given");
        rc = 2;
    } else if (st->a.list) {
        list_cases(&st->l, st->files, &st->a);
        rc = 0;
    } else {
        /* From here on a signal stops the run cleanly (see run_signal). */
        struct sigaction sa = {.sa_handler = on_run_signal, .sa_flags = SA_RESETHAND}, old_int,
                         old_term;
        sigemptyset(&sa.sa_mask);
        run_signal = 0;
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);
        if ((rc = run_setup(st, &opts)) == 0)
            rc = run_cases(st, &opts);
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
    }
    td_cli_sink_free(st->sink);
    td_cli_capture_cleanup(&st->cap);
    free_deviations(&st->devs);
    free(st->sel != NULL ? st->sel - st->sel_shift : NULL);
    td_scn_runner_free(st->runner);
    peer_cleanup(&st->peers);
    td_crypto_free(st->crypto);
    for (size_t i = 0; i < st->l.num && st->files; i++)
        td_scn_file_free(st->files[i]);
    free(st->files);
    free_list(&st->l);
    free(st);
    return rc;
}
