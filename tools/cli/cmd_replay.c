/* tools/cli/cmd_replay.c -- `tlsdrill replay <target> FILES|DIRS [--pcap F]
 * [--keylog F] [--json F] [--quiet]`: runs fuzz inputs through a target
 * without a fuzzing engine (fuzz/harness.c, the same code as the fuzz
 * binaries) and prints, per input, the records both directions decoded by
 * the library dissector (dissect.h), the fuzzed side's ending
 * (rule, alert) and the oracle verdict. Every input runs twice
 * (determinism). The `differential` target (fuzz/differential.h) prints
 * what the engine's server and libssl's server each did and whether a
 * difference is a known row. Hidden, test-only: --plant-wrong-alert RULE
 * (the side under test answers RULE with an alert it does not allow) and
 * --plant-skip RULE (the side under test skips its check of RULE).
 * Exit 0: no finding; 1: at least one finding; 2: usage. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "differential.h"
#include "fuzz.h"
#include "opt.h"
#include "tlsdrill/dissect.h"
#include "tlsdrill/file.h"
#include "tlsdrill/transcript.h"

typedef struct replay {
    bool quiet;
    td_pcap *pcap;
    unsigned flows;
    td_keylog *keylog;
    FILE *json;
    size_t inputs, findings;
    const td_fz_target *t; /* NULL for differential */
    td_fz_ctx *ctx;
    td_diff_ctx *diff;   /* differential only */
    td_keylog *run_keys; /* the current run's key log (for the dissector) */
} replay;

/* The records both directions in the order they crossed, decoded by the
 * library dissector (dissect.h; handshake messages with every field,
 * alerts by name), encrypted ones decrypted with the run's key log. */
static void print_dissected(replay *rp, const td_fz_wire *wire, size_t n)
{
    td_dis_node *root = NULL;
    td_dis_conn *c = NULL;
    td_dis_keys *keys = NULL;
    td_diag diag;
    td_diag_clear(&diag);
    /* The _fm twins' records are fuzzer mode's plaintext. */
    td_dis_opts opts = {.fuzzer_mode = rp->t != NULL && rp->t->fuzzer_mode ? TD_DIS_FM_ON
                                                                           : TD_DIS_FM_OFF};
    size_t klen = 0;
    const char *ktext = rp->run_keys != NULL ? td_keylog_text(rp->run_keys, &klen) : NULL;
    td_err err = TD_OK;
    if (ktext != NULL && klen > 0)
        err = td_dis_keys_parse(ktext, klen, &keys, &diag);
    if (err == TD_OK)
        err = td_dis_node_new("records", NULL, &root);
    if (err == TD_OK)
        err = td_dis_conn_new(rp->ctx != NULL ? td_fz_ctx_crypto(rp->ctx) : NULL, keys, &opts, root,
                              &c);
    for (size_t i = 0; i < n && err == TD_OK; i++)
        err = td_dis_conn_feed(c, wire[i].dir, wire[i].bytes, wire[i].len);
    if (err == TD_OK)
        err = td_dis_conn_finish(c);
    if (err == TD_OK) {
        for (size_t i = 0; i < td_dis_num_children(root); i++)
            td_dis_print_text(td_dis_child_at(root, i), stdout, 1);
    } else {
        printf("  records: not decoded (%s)\n", td_err_name(err));
    }
    td_dis_conn_free(c);
    td_dis_node_free(root);
    td_dis_keys_free(keys);
}

/* Key log lines of both sides: this run's (for the dissector) and, with
 * --keylog, the file's. */
static void keylog_both(void *arg, const char *line)
{
    replay *rp = arg;
    td_keylog_append(rp->run_keys, line);
    if (rp->keylog != NULL)
        td_keylog_append(rp->keylog, line);
}

static void observe(void *arg, const td_fz_view *v)
{
    replay *rp = arg;
    if (rp->pcap != NULL && v->num_wire > 0) {
        td_pcap_flow flow;
        td_pcap_flow_init(&flow, rp->flows++);
        for (size_t i = 0; i < v->num_wire; i++)
            if (td_pcap_data(rp->pcap, &flow, v->wire[i].dir, v->wire[i].bytes, v->wire[i].len) !=
                TD_OK)
                break;
        if (td_pcap_close(rp->pcap, &flow) != TD_OK)
            fprintf(stderr, "tlsdrill replay: pcap: out of memory\n");
    }
    if (!rp->quiet)
        print_dissected(rp, v->wire, v->num_wire);
}

static void print_status(const td_fz_target *t, const td_fz_result *r)
{
    if (t->kind == TD_FZ_SCENARIO_PARSER) {
        printf("  scenario parser: %zu diagnostic(s)\n", r->num_diags);
        return;
    }
    const td_status *st = &r->status;
    if (r->program) {
        printf("  program: %zu op(s), %zu applied, %s", r->num_ops, r->num_applied,
               r->pure ? "pure" : "not pure");
        for (size_t i = 0; i < r->num_broken; i++)
            printf("%s%s", i ? ", " : "; breaks ", td_rule_get(r->broken[i])->id);
        printf("\n");
    }
    const td_rule_info *ri = td_rule_get(st->diag.rule);
    printf("  %s: %s, state %s", r->fuzzed_role == TD_ROLE_SERVER ? "server" : "client",
           td_phase_name(st->phase), st->state ? st->state : "-");
    if (st->resumed)
        printf(", resumed");
    if (st->phase == TD_PHASE_FAILED)
        printf(", rule %s, alert sent %s", ri ? ri->id : "-",
               st->alert_sent ? td_alert_name(st->alert_sent_desc) : "none");
    if (st->alert_received)
        printf(", alert received %s", td_alert_name(st->alert_received_desc)
                                          ? td_alert_name(st->alert_received_desc)
                                          : "?");
    printf("\n");
    if (st->state != NULL && strcmp(st->state, "unsupported") == 0 && st->diag.text[0])
        printf("  why: %s\n", st->diag.text); /* the adapter's reason (sut_ targets) */
    else if (st->phase == TD_PHASE_FAILED && st->diag.text[0])
        printf("  why: %s (%s:%d, offset %zu)\n", st->diag.text,
               st->diag.file ? st->diag.file : "?", st->diag.line, st->diag.offset);
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", (unsigned char)*s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

static int run_fz(replay *rp, const char *path, const uint8_t *buf, size_t len);
static int run_diff(replay *rp, const char *path, const uint8_t *buf, size_t len);

static int replay_file(replay *rp, const char *path)
{
    uint8_t *buf;
    size_t len;
    td_err err = td_file_read(path, 64u << 20, &buf, &len);
    if (err == TD_ERR_IO) {
        fprintf(stderr, "tlsdrill replay: cannot open %s\n", path);
        return 2;
    }
    if (err != TD_OK) {
        fprintf(stderr, "tlsdrill replay: %s: too large or out of memory\n", path);
        return 2;
    }
    if (!rp->quiet)
        printf("== %s (%zu bytes)\n", path, len);
    rp->inputs++;
    int rc = rp->diff != NULL ? run_diff(rp, path, buf, len) : run_fz(rp, path, buf, len);
    free(buf);
    return rc;
}

static int run_fz(replay *rp, const char *path, const uint8_t *buf, size_t len)
{
    const td_fz_target *t = rp->t;
    td_fz_opts o = {.log_messages = true, .determinism = 1, .observe = observe, .observe_arg = rp};
    o.keylog = keylog_both, o.keylog_arg = rp;
    td_fz_result r;
    td_err err = td_keylog_new(&rp->run_keys);
    if (err == TD_OK)
        err = td_fz_run(rp->ctx, t, buf, len, &o, &r);
    td_keylog_free(rp->run_keys);
    rp->run_keys = NULL;
    if (err != TD_OK) {
        printf("%s: error: %s\n", path, td_err_name(err));
        return 1;
    }
    if (!rp->quiet)
        print_status(t, &r);
    bool finding = r.oracle != TD_FZ_OK;
    rp->findings += finding;
    if (finding)
        printf("%s: ==tlsdrill-oracle== %s\n", path, r.line);
    else if (!rp->quiet)
        printf("  verdict: ok\n");
    if (rp->json != NULL) {
        fprintf(rp->json, "%s{\"file\": ", rp->inputs > 1 ? ",\n " : "");
        json_str(rp->json, path);
        const td_rule_info *ri = td_rule_get(finding ? r.rule : r.status.diag.rule);
        int alert = r.status.alert_sent ? r.status.alert_sent_desc : -1;
        fprintf(rp->json,
                ", \"target\": \"%s\", \"verdict\": \"%s\", \"phase\": \"%s\", \"rule\": ", t->name,
                td_fz_oracle_name(r.oracle), td_phase_name(r.status.phase));
        json_str(rp->json, ri ? ri->id : "");
        fprintf(rp->json, ", \"alert\": ");
        json_str(rp->json, alert >= 0 && td_alert_name((unsigned)alert)
                               ? td_alert_name((unsigned)alert)
                               : "");
        fprintf(rp->json, ", \"oracle\": ");
        json_str(rp->json, r.line);
        fprintf(rp->json, "}");
    }
    return finding ? 1 : 0;
}

static void print_side(const char *who, const td_diff_side *side)
{
    printf("  %s: %s", who, td_diff_side_name(side));
    if (side->kind == TD_DIFF_ALERT || side->kind == TD_DIFF_CLOSED)
        printf("%s, rule %s", side->after_hello ? " after its hello" : "", side->rule);
    if (side->text[0])
        printf(" (%s)", side->text);
    printf("\n");
}

static bool diff_same(const td_diff_result *a, const td_diff_result *b)
{
    return strcmp(td_diff_side_name(&a->ours), td_diff_side_name(&b->ours)) == 0 &&
           strcmp(td_diff_side_name(&a->theirs), td_diff_side_name(&b->theirs)) == 0 &&
           a->finding == b->finding;
}

/* differential: the same client bytes to the engine's server and to
 * libssl's server (fuzz/differential.h); a difference no known row explains
 * is a finding. Mutation programs are not inputs of this target (the fuzz
 * target skips them too). */
static int run_diff(replay *rp, const char *path, const uint8_t *buf, size_t len)
{
    td_fz_wire w = {.dir = TD_DIR_C2S, .bytes = buf, .len = len};
    td_diff_result r, again;
    char line[512] = "";
    bool program = len >= 4 && memcmp(buf, TD_FZ_MAGIC, 4) == 0;
    if (program) {
        if (!rp->quiet)
            printf("  a mutation program: not an input of this target, skipped\n  verdict: ok\n");
        memset(&r, 0, sizeof(r));
    } else {
        if (td_diff_run(rp->diff, buf, len, &r) != TD_OK ||
            td_diff_run(rp->diff, buf, len, &again) != TD_OK) {
            printf("%s: error: the differential harness failed\n", path);
            return 1;
        }
        if (!rp->quiet) {
            print_dissected(rp, &w, 1);
            print_side("ours (engine server)", &r.ours);
            print_side("theirs (libssl server)", &r.theirs);
            if (r.known != NULL)
                printf("  known: %s\n", r.known);
        }
        if (r.finding)
            td_diff_oracle_line(&r, line, sizeof(line));
        else if (!diff_same(&r, &again))
            snprintf(line, sizeof(line),
                     "==tlsdrill-oracle== differential: nondeterministic: rule %s alert none: "
                     "ours %s then %s, openssl %s then %s",
                     r.ours.rule, td_diff_side_name(&r.ours), td_diff_side_name(&again.ours),
                     td_diff_side_name(&r.theirs), td_diff_side_name(&again.theirs));
    }
    bool finding = line[0] != 0;
    rp->findings += finding;
    if (finding)
        printf("%s: %s\n", path, line);
    else if (!rp->quiet && !program)
        printf("  verdict: ok\n");
    if (rp->json != NULL) {
        fprintf(rp->json, "%s{\"file\": ", rp->inputs > 1 ? ",\n " : "");
        json_str(rp->json, path);
        fprintf(rp->json, ", \"target\": \"differential\", \"verdict\": \"%s\", \"ours\": ",
                program   ? "skipped"
                : finding ? "differential"
                          : "ok");
        json_str(rp->json, program ? "" : td_diff_side_name(&r.ours));
        fprintf(rp->json, ", \"theirs\": ");
        json_str(rp->json, program ? "" : td_diff_side_name(&r.theirs));
        fprintf(rp->json, ", \"rule\": ");
        json_str(rp->json, program || r.ours.rule == NULL ? "" : r.ours.rule);
        fprintf(rp->json, ", \"known\": ");
        json_str(rp->json, r.known ? r.known : "");
        fprintf(rp->json, ", \"oracle\": ");
        json_str(rp->json, finding ? line + strlen("==tlsdrill-oracle== ") : "");
        fprintf(rp->json, "}");
    }
    return finding ? 1 : 0;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay_path(replay *rp, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "tlsdrill replay: no such file or directory: %s\n", path);
        return 2;
    }
    if (!S_ISDIR(st.st_mode))
        return replay_file(rp, path);
    DIR *d = opendir(path);
    if (d == NULL)
        return 2;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strncmp(e->d_name, "README", 6) == 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, cap * sizeof(*nn));
            if (nn == NULL)
                break;
            names = nn;
        }
        size_t l = strlen(path) + strlen(e->d_name) + 2;
        if ((names[n] = malloc(l)) == NULL)
            break;
        snprintf(names[n++], l, "%s/%s", path, e->d_name);
    }
    closedir(d);
    if (n > 0)
        qsort(names, n, sizeof(*names), cmp);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        struct stat s2;
        if (stat(names[i], &s2) == 0 && S_ISREG(s2.st_mode)) {
            int r = replay_file(rp, names[i]);
            rc = r > rc ? r : rc;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

static void list_targets(FILE *f)
{
    size_t n;
    const td_fz_target *t = td_fz_targets(&n);
    fprintf(f, "targets:");
    for (size_t i = 0; i < n; i++)
        fprintf(f, " %s", t[i].name);
    fprintf(f, " differential\nexit: 0 no finding, 1 at least one finding, 2 usage error\n");
}

typedef struct replay_opts {
    const char *pcap, *keylog, *json, *plant, *plant_skip;
    bool quiet;
} replay_opts;

static const td_cli_opt replay_opts_table[] = {
    {.name = "--pcap",
     .kind = TD_CLI_OPT_STR,
     .offset = offsetof(replay_opts, pcap),
     .arg = "FILE",
     .help = "every input's connection as a TCP stream of one capture; a FILE ending\n"
             "in .pcapng embeds the key log"},
    {.name = "--keylog",
     .kind = TD_CLI_OPT_STR,
     .offset = offsetof(replay_opts, keylog),
     .arg = "FILE",
     .help = "the NSS key log that decrypts the capture"},
    {.name = "--json",
     .kind = TD_CLI_OPT_STR,
     .offset = offsetof(replay_opts, json),
     .arg = "FILE",
     .help = "per input: verdict, rule, alert, findings (JSON array)"},
    {.name = "--quiet",
     .alias = "-q",
     .kind = TD_CLI_OPT_FLAG,
     .offset = offsetof(replay_opts, quiet),
     .help = "no per-input trace, only findings and the summary"},
    /* Test-only: proves the oracle reports a wrong alert. */
    {.name = "--plant-wrong-alert",
     .kind = TD_CLI_OPT_STR,
     .offset = offsetof(replay_opts, plant),
     .arg = "RULE"},
    /* Test-only: proves the oracle reports an accepted broken input. */
    {.name = "--plant-skip",
     .kind = TD_CLI_OPT_STR,
     .offset = offsetof(replay_opts, plant_skip),
     .arg = "RULE"},
};

static const td_cli_cmd replay_cmd = {
    .name = "replay",
    .args = "TARGET FILE|DIR...",
    .min_args = 2,
    .max_args = SIZE_MAX,
    .about = "Replays fuzz inputs without a fuzzing engine: records both ways, messages, the\n"
             "alert and the oracle's verdict per input.",
    .more_fn = list_targets,
    .opts = replay_opts_table,
    .num_opts = sizeof(replay_opts_table) / sizeof(replay_opts_table[0]),
};

static int write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len) {
        fprintf(stderr, "tlsdrill replay: cannot write %s\n", path);
        if (f)
            fclose(f);
        return 2;
    }
    fclose(f);
    return 0;
}

int td_cli_replay(int argc, char **argv)
{
    replay rp = {0};
    td_rule plant = TD_RULE_NONE, plant_skip = TD_RULE_NONE;
    replay_opts o = {0};
    const char **args = calloc((size_t)argc, sizeof(*args));
    size_t num_args = 0;
    if (args == NULL)
        return 2;
    int prc = td_cli_opt_parse(&replay_cmd, argc, argv, &o, args, &num_args);
    if (prc != TD_CLI_CONTINUE) {
        free(args);
        return prc;
    }
    const char *pcap_path = o.pcap, *keylog_path = o.keylog, *json_path = o.json, *target = args[0];
    const char **paths = args + 1;
    size_t num_paths = num_args - 1;
    rp.quiet = o.quiet;
    if (o.plant != NULL && (plant = td_rule_by_id(o.plant)) == TD_RULE_NONE) {
        free(args);
        return td_cli_usage_error(&replay_cmd, "unknown rule '%s'", o.plant);
    }
    if (o.plant_skip != NULL && (plant_skip = td_rule_by_id(o.plant_skip)) == TD_RULE_NONE) {
        free(args);
        return td_cli_usage_error(&replay_cmd, "unknown rule '%s'", o.plant_skip);
    }
    bool differential = strcmp(target, "differential") == 0;
    rp.t = differential ? NULL : td_fz_target_find(target);
    if (!differential && rp.t == NULL) {
        free(args);
        td_cli_usage_error(&replay_cmd, "unknown target '%s'", target);
        list_targets(stderr);
        return 2;
    }
    if (!td_cli_output_ok("replay", pcap_path) || !td_cli_output_ok("replay", keylog_path) ||
        !td_cli_output_ok("replay", json_path)) {
        free(args);
        return 2;
    }
    int rc = 0;
    if (differential ? td_diff_ctx_new(&rp.diff) != TD_OK : td_fz_ctx_new(&rp.ctx) != TD_OK) {
        fprintf(stderr, "tlsdrill replay: cannot set up the fuzz context\n");
        free(args);
        return 2;
    }
    if (differential) {
        td_config *cfg = td_diff_ctx_engine_config(rp.diff);
        cfg->plant_wrong_alert = plant != TD_RULE_NONE;
        cfg->plant_rule = plant;
        cfg->plant_skip = plant_skip;
    } else {
        td_fz_ctx_plant_wrong_alert(rp.ctx, plant);
        td_fz_ctx_plant_skip(rp.ctx, plant_skip);
    }
    /* A .pcapng capture embeds the key log: collect it in any case. */
    bool ng = td_cli_is_pcapng(pcap_path);
    if ((pcap_path && (ng ? td_pcapng_new(0, &rp.pcap) : td_pcap_new(0, &rp.pcap)) != TD_OK) ||
        ((keylog_path || ng) && td_keylog_new(&rp.keylog) != TD_OK)) {
        rc = 2;
        goto out;
    }
    if (json_path != NULL && (rp.json = fopen(json_path, "w")) == NULL) {
        fprintf(stderr, "tlsdrill replay: cannot write %s\n", json_path);
        rc = 2;
        goto out;
    }
    if (rp.json)
        fprintf(rp.json, "[");
    for (size_t i = 0; i < num_paths; i++) {
        int r = replay_path(&rp, paths[i]);
        rc = r > rc ? r : rc;
    }
    if (rp.json)
        fprintf(rp.json, "]\n");
    printf("%s: %zu input(s), %zu finding(s)\n", target, rp.inputs, rp.findings);
    if (pcap_path) {
        size_t n;
        const char *keys = ng ? td_keylog_text(rp.keylog, &n) : NULL;
        if (keys != NULL && td_pcap_secrets(rp.pcap, keys, n) != TD_OK)
            fprintf(stderr, "tlsdrill replay: out of memory: %s holds no keys\n", pcap_path);
        const uint8_t *b = td_pcap_bytes(rp.pcap, &n);
        if (write_file(pcap_path, b, n) != 0)
            rc = 2;
    }
    if (keylog_path != NULL) {
        size_t n;
        const char *text = td_keylog_text(rp.keylog, &n);
        if (text == NULL || write_file(keylog_path, text, n) != 0)
            rc = 2;
    }
out:
    free(args);
    if (rp.json)
        fclose(rp.json);
    td_pcap_free(rp.pcap);
    td_keylog_free(rp.keylog);
    td_fz_ctx_free(rp.ctx);
    td_diff_ctx_free(rp.diff);
    return rc;
}
