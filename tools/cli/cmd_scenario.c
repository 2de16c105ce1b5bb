/* tools/cli/cmd_scenario.c -- `tlsdrill lint` and `tlsdrill run`: the
 * scenario suites (scenarios/README.md) against a peer under test. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, strdup-free dirent under -std=c11 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "tlsdrill/peers.h"
#include "tlsdrill/scenario.h"

#include "run_capture.h"

typedef struct file_list {
    char **paths;
    size_t num, cap;
} file_list;

static int push_path(file_list *l, const char *p)
{
    if (l->num == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        char **n = realloc(l->paths, cap * sizeof(*n));
        if (n == NULL)
            return -1;
        l->paths = n;
        l->cap = cap;
    }
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

int td_cli_lint(int argc, char **argv)
{
    file_list l = {0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            printf("usage: tlsdrill lint FILE|DIR...\n  checks scenario files; exit 0 clean, 1 "
                   "with diagnostics\n");
            free_list(&l);
            return 0;
        }
        if (argv[i][0] == '-') {
            fprintf(stderr, "tlsdrill lint: unexpected argument '%s'\n", argv[i]);
            free_list(&l);
            return 2;
        }
        if (collect(&l, argv[i], true) != 0) {
            free_list(&l);
            return 2;
        }
    }
    if (argc < 2) {
        fprintf(stderr, "usage: tlsdrill lint FILE|DIR...\n");
        return 2;
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
    printf("%zu files, %zu cases, %ld error%s\n", l.num, cases, n, n == 1 ? "" : "s");
    free_list(&l);
    return n == 0 ? 0 : 1;
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void xml_str(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '<')
            fputs("&lt;", f);
        else if (c == '>')
            fputs("&gt;", f);
        else if (c == '&')
            fputs("&amp;", f);
        else if (c == '"')
            fputs("&quot;", f);
        else if (c < 0x20)
            fputc(' ', f);
        else
            fputc(c, f);
    }
}

/* JUnit: one testcase per case, classname = the file (dots for slashes). */
static void junit_case(FILE *j, const td_scn_case *c, const td_scn_result *r)
{
    char cls[512];
    size_t n = 0;
    for (const char *s = c->file; *s && n + 1 < sizeof(cls); s++)
        cls[n++] = *s == '/' ? '.' : *s;
    cls[n] = '\0';
    if (n > 4 && strcmp(cls + n - 4, ".scn") == 0)
        cls[n - 4] = '\0';
    fputs("    <testcase classname=\"", j);
    xml_str(j, cls);
    fputs("\" name=\"", j);
    xml_str(j, c->name);
    fprintf(j, "\" file=\"");
    xml_str(j, c->file);
    fprintf(j, "\" line=\"%d\">", c->line);
    fputs("<properties>", j);
    for (size_t k = 0; k < c->num_rules; k++) {
        fputs("<property name=\"rule\" value=\"", j);
        xml_str(j, td_rule_get(c->rules[k])->id);
        fputs("\"/>", j);
    }
    fputs("<property name=\"actual\" value=\"", j);
    xml_str(j, r->actual);
    fputs("\"/></properties>", j);
    if (r->verdict != TD_SCN_PASS) {
        fprintf(j, "<%s message=\"", r->verdict == TD_SCN_FAIL          ? "failure"
                                     : r->verdict == TD_SCN_UNSUPPORTED ? "skipped"
                                                                        : "error");
        xml_str(j, r->reason);
        fprintf(j, "\"/>");
    }
    fputs("</testcase>\n", j);
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
    unsigned timeout_ms, linger_ms;
    td_rule rule;
    const char *pcap, *keylog; /* --pcap, --keylog: the run's capture */
    bool quiet;                /* no progress line */
    bool verbose;              /* -v: the peer's log (shim stderr) under every row */
    bool lenient, stats, list;
    unsigned long long seed;
    bool plant;        /* hidden --plant-wrong-alert RULE (test-only) */
    td_rule plant_rule;
} run_args;

static int run_usage(FILE *f, int rc)
{
    fprintf(f, "usage: tlsdrill run [FILE|DIR...] [--peer PEER] [--strict|--lenient] [--filter SUBSTR]\n"
               "                    [--rule ID] [--seed N] [--expect FILE] [--json FILE] [--junit FILE] [--stats] [--list]\n"
               "                    [--timeout-ms N] [--linger-ms N] [--peer-version TEXT]\n"
               "  runs scenario cases (default: scenarios/); exit 0 only if every case passed\n"
               "  --list: print the selected cases (file, line, name, rules; tab-separated) and run nothing\n"
               "  --peer engine (default) | openssl: OpenSSL's libssl in process as the SUT\n"
               "    | tcp:HOST:PORT: a TLS server there (our side the client)\n"
               "    | listen:[HOST:]PORT: per case, one connection of a client SUT (our side the server)\n"
               "    | exec:CMD: per case a child process, {port} {role} substituted, configured through\n"
               "      TD_* variables (tools/peers/*.sh; exit 89 = unsupported); unconfigurable cases: unsupported\n"
               "  --timeout-ms N: network peers: connect and each read wait N ms (3000), a connection 5N;\n"
               "    a silent peer is `timeout`, a closing/resetting one `closed`, a non-TLS one `garbage`\n"
               "  --linger-ms N: network peers: quiet time awaited after the handshake (200)\n"
               "  --expect FILE: known deviations of the peer, one per line: CASE-NAME REASON; a REASON that\n"
               "    starts with the outcome (an alert name, none, closed, stalled, our-abort, unsupported)\n"
               "    also fails the case when the outcome changes\n");
    fprintf(f, "  [--pcap FILE] [--keylog FILE] [--quiet]\n"
               "  --pcap FILE: every connection of every case as its own TCP stream of one capture\n"
               "    (stream N: 10.0.0.1:49152+N -> 10.0.0.2:443); --keylog FILE: the NSS key log that\n"
               "    decrypts it (tshark -o tls.keylog_file:FILE, or tlsdrill dissect FILE --keylog FILE);\n"
               "    a FILE ending in .pcapng names each stream's case in a packet comment and embeds the\n"
               "    key log (Wireshark decrypts it alone)\n"
               "  --quiet: no progress line (it is shown on stderr only when stderr is a terminal)\n"
               "  -v, --verbose: the peer's own log (an exec: shim's stderr) under every row (else\n"
               "    under FAIL/ERROR rows only; always in the --json report as peer_log)\n");
    return rc;
}

static int parse_run_args(int argc, char **argv, run_args *a, file_list *l)
{
    a->peer = "engine";
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        bool has = i + 1 < argc;
        if (strcmp(o, "--help") == 0)
            return run_usage(stdout, 0) - 1;
        else if (strcmp(o, "--strict") == 0)
            a->lenient = false;
        else if (strcmp(o, "--lenient") == 0)
            a->lenient = true;
        else if (strcmp(o, "--stats") == 0)
            a->stats = true;
        else if (strcmp(o, "--quiet") == 0 || strcmp(o, "-q") == 0)
            a->quiet = true;
        else if (strcmp(o, "--verbose") == 0 || strcmp(o, "-v") == 0)
            a->verbose = true;
        else if (strcmp(o, "--pcap") == 0 && has)
            a->pcap = argv[++i];
        else if (strcmp(o, "--keylog") == 0 && has)
            a->keylog = argv[++i];
        else if (strcmp(o, "--list") == 0)
            a->list = true;
        else if (strcmp(o, "--peer") == 0 && has)
            a->peer = argv[++i];
        else if (strcmp(o, "--peer-version") == 0 && has)
            a->peer_version = argv[++i];
        else if ((strcmp(o, "--timeout-ms") == 0 || strcmp(o, "--linger-ms") == 0) && has) {
            char *end = NULL;
            unsigned long v = strtoul(argv[++i], &end, 10);
            if (end == argv[i] || *end != '\0' || v == 0 || v > 600000) {
                fprintf(stderr, "tlsdrill run: bad %s '%s' (1..600000)\n", o, argv[i]);
                return 2;
            }
            *(strcmp(o, "--timeout-ms") == 0 ? &a->timeout_ms : &a->linger_ms) = (unsigned)v;
        }
        else if (strcmp(o, "--filter") == 0 && has)
            a->filter = argv[++i];
        else if (strcmp(o, "--json") == 0 && has)
            a->json = argv[++i];
        else if (strcmp(o, "--junit") == 0 && has)
            a->junit = argv[++i];
        else if (strcmp(o, "--expect") == 0 && has)
            a->expect = argv[++i];
        else if (strcmp(o, "--rule") == 0 && has) {
            a->rule = td_rule_by_id(argv[++i]);
            if (a->rule == TD_RULE_NONE) {
                fprintf(stderr, "tlsdrill run: unknown rule '%s'\n", argv[i]);
                return 2;
            }
        } else if (strcmp(o, "--seed") == 0 && has) {
            char *end = NULL;
            a->seed = strtoull(argv[++i], &end, 0);
            if (end == argv[i] || *end != '\0') {
                fprintf(stderr, "tlsdrill run: bad seed '%s'\n", argv[i]);
                return 2;
            }
        } else if (strcmp(o, "--plant-wrong-alert") == 0 && has) {
            /* Hidden, test-only: the engine SUT answers this rule with a wrong alert. */
            a->plant_rule = td_rule_by_id(argv[++i]);
            a->plant = true;
            if (a->plant_rule == TD_RULE_NONE) {
                fprintf(stderr, "tlsdrill run: unknown rule '%s'\n", argv[i]);
                return 2;
            }
        } else if (o[0] == '-') {
            fprintf(stderr, "tlsdrill run: unexpected argument '%s'\n", o);
            return run_usage(stderr, 2);
        } else if (collect(l, o, true) != 0) {
            return 2;
        }
    }
    if (td_peer_find(a->peer) == NULL) {
        char why[512];
        td_scn_peer none;
        if (td_peer_new(a->peer, NULL, &none, NULL, why, sizeof(why)) == TD_OK)
            snprintf(why, sizeof(why), "unknown peer '%s'", a->peer);
        fprintf(stderr, "tlsdrill run: %s\n", why);
        return 2;
    }
    if (l->num == 0 && collect(l, "scenarios", true) != 0)
        return 2;
    return 0;
}

/* --expect FILE: known deviations of a peer, one per line: CASE-NAME REASON. */
typedef struct deviation {
    char *name, *reason;
} deviation;

typedef struct deviations {
    deviation *list;
    size_t num;
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
        deviation *nl = realloc(d->list, (d->num + 1) * sizeof(*nl));
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

static void json_case(FILE *j, bool first, const td_scn_case *c, const td_scn_result *r,
                      const deviation *dev, int stream, unsigned num_streams)
{
    fprintf(j, "%s\n    {\"name\": ", first ? "" : ",");
    json_str(j, c->name);
    fprintf(j, ", \"file\": ");
    json_str(j, c->file);
    fprintf(j, ", \"line\": %d, \"sut\": \"%s\", \"rules\": [", c->line,
            c->sut == TD_ROLE_SERVER ? "server" : "client");
    for (size_t k = 0; k < c->num_rules; k++) {
        fprintf(j, "%s", k ? ", " : "");
        json_str(j, td_rule_get(c->rules[k])->id);
    }
    fprintf(j, "], \"expect\": \"%s\", \"expected\": ", td_scn_expect_name(c->expect));
    json_str(j, r->expected);
    fprintf(j, ", \"actual\": ");
    json_str(j, r->actual);
    fprintf(j, ", \"verdict\": \"%s\", \"sut_rule\": ",
            r->verdict == TD_SCN_PASS          ? "pass"
            : r->verdict == TD_SCN_FAIL        ? "fail"
            : r->verdict == TD_SCN_UNSUPPORTED ? "unsupported"
                                               : "error");
    json_str(j, r->sut_rule);
    fprintf(j, ", \"sut_where\": ");
    json_str(j, r->sut_where);
    fprintf(j, ", \"reason\": ");
    json_str(j, r->reason);
    fprintf(j, ", \"deviation\": ");
    if (dev != NULL)
        json_str(j, dev->reason);
    else
        fprintf(j, "null");
    fprintf(j, ", \"observed\": ");
    json_str(j, r->observed);
    fprintf(j, ", \"peer_log\": ");
    json_str(j, r->peer_log);
    fprintf(j, ", \"digest\": \"");
    for (size_t k = 0; k < sizeof(r->digest); k++)
        fprintf(j, "%02x", r->digest[k]);
    fprintf(j, "\"");
    if (stream >= 0) {
        /* --pcap: the TCP streams (tshark's tcp.stream) of this case's connections. */
        fprintf(j, ", \"streams\": [");
        for (unsigned k = 0; k < num_streams; k++)
            fprintf(j, "%s%u", k ? ", " : "", (unsigned)stream + k);
        fprintf(j, "]");
    }
    fprintf(j, "}");
}

/* The peer's own log (an exec: shim's stderr) under a table row, indented. */
static void print_peer_log(const char *log)
{
    printf("    peer log:\n");
    for (const char *p = log; *p;) {
        size_t n = strcspn(p, "\n");
        printf("      %.*s\n", (int)n, p);
        p += n + (p[n] == '\n');
    }
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

int td_cli_run(int argc, char **argv)
{
    run_args a = {0};
    file_list l = {0};
    int rc = parse_run_args(argc, argv, &a, &l);
    if (rc != 0) {
        free_list(&l);
        return rc < 0 ? 0 : rc;
    }
    td_scn_file **files = calloc(l.num ? l.num : 1, sizeof(*files));
    size_t total = 0;
    long nd = files ? parse_all(&l, files, &total) : -1;
    td_crypto *crypto = NULL;
    td_scn_runner *runner = NULL;
    FILE *j = NULL, *ju = NULL;
    char *ju_body = NULL;
    size_t ju_len = 0;
    FILE *ju_mem = NULL;
    size_t passed = 0, failed = 0, errors = 0, ran = 0, xfailed = 0, xpassed = 0, unsup = 0;
    td_cli_capture cap = {0};
    progress prog = {0};
    deviations devs = {0};
    td_scn_peer peer = {0};
    const td_peer_kind *kind = NULL;
    if (nd != 0) {
        fprintf(stderr, "tlsdrill run: fix the diagnostics above first (tlsdrill lint)\n");
        rc = nd < 0 ? 2 : 1;
        goto out;
    }
    if (a.list) {
        for (size_t f = 0; f < l.num; f++)
            for (size_t i = 0; i < files[f]->num_cases; i++) {
                const td_scn_case *c = &files[f]->cases[i];
                if (!case_selected(c, a.filter, a.rule))
                    continue;
                printf("%s\t%d\t%s\t", c->file, c->line, c->name);
                for (size_t k = 0; k < c->num_rules; k++)
                    printf("%s%s", k ? "," : "", td_rule_get(c->rules[k])->id);
                printf("\n");
            }
        rc = 0;
        goto out;
    }
    if (a.expect != NULL && load_deviations(a.expect, &devs) != 0) {
        rc = 2;
        goto out;
    }
    td_scn_opts opts = {.lenient = a.lenient, .seed = a.seed, .cert_dir = TD_VECTORS_DIR "/certs"};
    opts.plant_wrong_alert = a.plant;
    opts.plant_rule = a.plant_rule;
    if (td_crypto_new(&crypto) != TD_OK) {
        fprintf(stderr, "tlsdrill run: cannot initialise crypto\n");
        rc = 2;
        goto out;
    }
    opts.crypto = crypto;
    if (a.pcap != NULL || a.keylog != NULL) {
        /* A pcapng capture embeds the key log, so collect it in any case. */
        size_t pl = a.pcap != NULL ? strlen(a.pcap) : 0;
        bool ng = pl > 7 && strcmp(a.pcap + pl - 7, ".pcapng") == 0;
        if (td_cli_capture_init(&cap, a.pcap != NULL, a.keylog != NULL || ng) != TD_OK) {
            fprintf(stderr, "tlsdrill run: out of memory\n");
            rc = 2;
            goto out;
        }
        opts.tap = &cap.tap;
    }
    {
        char why[512] = "";
        unsigned t = a.timeout_ms ? a.timeout_ms : 3000;
        td_peer_opts po = {.connect_ms = t,
                           .read_ms = t,
                           .case_ms = 5 * t,
                           .linger_ms = a.linger_ms,
                           .cert_dir = opts.cert_dir};
        if (td_peer_new(a.peer, &po, &peer, &kind, why, sizeof(why)) != TD_OK) {
            fprintf(stderr, "tlsdrill run: --peer %s: %s\n", a.peer, why[0] ? why : "cannot set up");
            rc = 2;
            goto out;
        }
        opts.peer = &peer;
    }
    if (td_scn_runner_new(&opts, &runner) != TD_OK) {
        fprintf(stderr, "tlsdrill run: cannot load certificates from %s\n", opts.cert_dir);
        rc = 2;
        goto out;
    }
    if (a.json != NULL && (j = fopen(a.json, "w")) == NULL) {
        fprintf(stderr, "tlsdrill run: cannot write %s\n", a.json);
        rc = 2;
        goto out;
    }
    if (a.junit != NULL && ((ju = fopen(a.junit, "w")) == NULL ||
                            (ju_mem = open_memstream(&ju_body, &ju_len)) == NULL)) {
        fprintf(stderr, "tlsdrill run: cannot write %s\n", a.junit);
        rc = 2;
        goto out;
    }
    if (j != NULL) {
        fprintf(j, "{\n  \"tool\": \"tlsdrill\", \"version\": \"%s\", \"peer\": ", TD_VERSION);
        json_str(j, a.peer);
        fprintf(j, ", \"peer_version\": ");
        char pv[256];
        bool known = a.peer_version == NULL && kind->version != NULL &&
                     kind->version(a.peer, pv, sizeof(pv));
        json_str(j, a.peer_version != NULL ? a.peer_version : known ? pv : a.peer);
        fprintf(j, ", \"mode\": \"%s\", \"seed\": %llu,\n  \"cases\": [", a.lenient ? "lenient" : "strict",
                a.seed);
    }
    int w = 4; /* the CASE column fits the longest selected name */
    for (size_t f = 0; f < l.num; f++)
        for (size_t i = 0; i < files[f]->num_cases; i++)
            if (case_selected(&files[f]->cases[i], a.filter, a.rule) &&
                (int)strlen(files[f]->cases[i].name) > w)
                w = (int)strlen(files[f]->cases[i].name);
    if (w > 56)
        w = 56; /* longer names overflow their column */
    printf("%-*s %-26s %-22s %-26s %s\n", w, "CASE", "RULE", "EXPECTED", "ACTUAL", "VERDICT");
    bool colour = isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;
    prog.on = !a.quiet && isatty(STDERR_FILENO);
    prog.colour = prog.on && getenv("NO_COLOR") == NULL;
    for (size_t f = 0; f < l.num; f++)
        for (size_t i = 0; i < files[f]->num_cases; i++)
            prog.total += case_selected(&files[f]->cases[i], a.filter, a.rule);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t f = 0; f < l.num; f++) {
        for (size_t i = 0; i < files[f]->num_cases; i++) {
            const td_scn_case *c = &files[f]->cases[i];
            if (!case_selected(c, a.filter, a.rule))
                continue;
            td_scn_result r;
            unsigned first_stream = cap.num_flows;
            progress_show(&prog, ran, passed, failed + errors, c->name);
            td_err cerr = td_scn_run_case(runner, c, &r);
            if (cerr == TD_ERR_IO) {
                /* The peer cannot be reached at all: one error, not one per case. */
                progress_clear(&prog);
                fprintf(stderr, "tlsdrill run: --peer %s: %s\n", a.peer, r.reason);
                rc = 2;
                goto out;
            }
            if (cerr != TD_OK) {
                r.verdict = TD_SCN_ERROR;
                snprintf(r.reason, sizeof(r.reason), "%s", td_err_name(cerr));
            }
            if (opts.tap != NULL && td_cli_capture_end(&cap) != TD_OK &&
                r.verdict != TD_SCN_ERROR) {
                r.verdict = TD_SCN_ERROR;
                snprintf(r.reason, sizeof(r.reason), "capture: %s", td_err_name(cap.err));
            }
            progress_clear(&prog);
            const deviation *dev = find_deviation(&devs, c->name);
            const char *label = td_scn_verdict_name(r.verdict);
            char want[96] = "";
            bool changed = dev != NULL && r.verdict != TD_SCN_PASS && deviation_changed(dev, &r, want, sizeof(want));
            if (dev != NULL)
                label = r.verdict == TD_SCN_PASS ? "XPASS" : changed ? "FAIL" : "xfail";
            /* Colour the verdict on a terminal (NO_COLOR turns it off). */
            const char *on = "", *off = "";
            if (colour) {
                on = r.verdict == TD_SCN_PASS ? "\033[32m"
                     : dev != NULL            ? "\033[33m"
                                              : "\033[1;31m";
                off = "\033[0m";
            }
            printf("%-*s %-26s %-22s %-26s %s%s%s\n", w, c->name,
                   c->num_rules ? td_rule_get(c->rules[0])->id : "-", r.expected, r.actual, on,
                   label, off);
            if (r.verdict != TD_SCN_PASS)
                printf("    %s:%d: %s\n", c->file, c->line, r.reason);
            if (a.verbose && r.observed[0] != '\0')
                printf("    observed: %s\n", r.observed);
            if (r.peer_log[0] != '\0' && (a.verbose || r.verdict == TD_SCN_FAIL ||
                                           r.verdict == TD_SCN_ERROR || changed))
                print_peer_log(r.peer_log);
            if (changed)
                printf("    the known deviation was '%s' (%s): the outcome changed\n", want, a.expect);
            else if (dev != NULL && r.verdict != TD_SCN_PASS)
                printf("    known deviation (%s): %s\n", a.expect, dev->reason);
            else if (dev != NULL)
                printf("    the known deviation now passes: remove '%s' from %s\n", c->name,
                       a.expect);
            if (j != NULL)
                json_case(j, ran == 0, c, &r, dev, a.pcap != NULL ? (int)first_stream : -1,
                          cap.num_flows - first_stream);
            if (ju_mem != NULL)
                junit_case(ju_mem, c, &r);
            ran++;
            if (changed) {
                failed++;
                continue;
            }
            if (dev != NULL) {
                xfailed += r.verdict != TD_SCN_PASS;
                xpassed += r.verdict == TD_SCN_PASS;
                continue;
            }
            passed += r.verdict == TD_SCN_PASS;
            failed += r.verdict == TD_SCN_FAIL;
            errors += r.verdict == TD_SCN_ERROR;
            unsup += r.verdict == TD_SCN_UNSUPPORTED; /* no verdict on the SUT: reported, not failed */
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    progress_clear(&prog);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%zu passed, %zu failed", passed, failed);
    if (errors)
        printf(", %zu errors", errors);
    if (xfailed)
        printf(", %zu known deviations", xfailed);
    if (xpassed)
        printf(", %zu known deviations now pass", xpassed);
    if (unsup)
        printf(", %zu unsupported", unsup);
    printf("\n");
    if (a.stats)
        printf("%zu cases in %.3f s: %.0f cases/s\n", ran, secs,
               secs > 0 ? (double)ran / secs : 0.0);
    if (j != NULL)
        fprintf(j,
                "\n  ],\n  \"summary\": {\"total\": %zu, \"passed\": %zu, \"failed\": %zu, \"errors\": %zu, "
                "\"deviations\": %zu, \"deviations_passing\": %zu, \"unsupported\": %zu}\n}\n",
                ran, passed, failed, errors, xfailed, xpassed, unsup);
    if (ju != NULL) {
        fclose(ju_mem);
        ju_mem = NULL;
        fprintf(ju,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite "
                "name=\"tlsdrill-");
        xml_str(ju, a.peer);
        fprintf(ju, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" time=\"%.3f\">\n", ran, failed,
                errors, secs);
        if (ju_body != NULL)
            fwrite(ju_body, 1, ju_len, ju);
        fprintf(ju, "  </testsuite>\n</testsuites>\n");
    }
    rc = (failed == 0 && errors == 0 && ran > 0) ? 0 : 1;
    if (opts.tap != NULL && td_cli_capture_write(&cap, a.pcap, a.keylog) != 0)
        rc = 2;
    for (size_t k = 0; k < devs.num; k++) {
        bool known = false;
        for (size_t f = 0; f < l.num && !known; f++)
            for (size_t i = 0; i < files[f]->num_cases && !known; i++)
                known = strcmp(files[f]->cases[i].name, devs.list[k].name) == 0;
        if (!known)
            fprintf(stderr, "tlsdrill run: %s: no case named '%s'\n", a.expect, devs.list[k].name);
    }
out:
    td_cli_capture_cleanup(&cap);
    free_deviations(&devs);
    if (ju_mem != NULL)
        fclose(ju_mem);
    free(ju_body);
    if (ju != NULL)
        fclose(ju);
    if (j != NULL)
        fclose(j);
    td_scn_runner_free(runner);
    td_peer_free(kind, &peer);
    td_crypto_free(crypto);
    for (size_t i = 0; i < l.num && files; i++)
        td_scn_file_free(files[i]);
    free(files);
    free_list(&l);
    return rc;
}
