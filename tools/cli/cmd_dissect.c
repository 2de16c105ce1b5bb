/* tools/cli/cmd_dissect.c -- `tlsdrill dissect`: a capture (the --pcap of
 * run/serve/connect, or any classic pcap / pcapng of TLS over TCP) as a
 * decoded tree (engine/dissect/), decrypted with an NSS key log. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "opt.h"
#include "tlsdrill/dissect.h"
#include "tlsdrill/file.h"

#define DISSECT_MAX_FILE (1ull << 30)

typedef struct dissect_opts {
    const char *keylog, *run, *records, *fuzzer_mode;
    bool json, full, app_data;
    uint64_t stream;
} dissect_opts;

static const td_cli_opt dissect_opts_table[] = {
    {.name = "--keylog",
     .kind = TD_CLI_OPT_STR,
     .offset = offsetof(dissect_opts, keylog),
     .arg = "FILE",
     .help = "NSS key log (run/serve/connect --keylog): decrypt the records\n"
             "(without it, a pcapng's decryption secrets block is used)"},
    {.name = "--json",
     .kind = TD_CLI_OPT_FLAG,
     .offset = offsetof(dissect_opts, json),
     .help = "the same tree as JSON"},
    {.name = "--stream",
     .kind = TD_CLI_OPT_UINT,
     .offset = offsetof(dissect_opts, stream),
     .max = 0x7fffffff,
     .help = "only TCP stream N (tshark's tcp.stream)"},
    {.name = "--run",
     .kind = TD_CLI_OPT_STR,
     .offset = offsetof(dissect_opts, run),
     .arg = "RUN.json",
     .help = "name each stream by its case (a `tlsdrill run --pcap --json` report)"},
    {.name = "--full",
     .kind = TD_CLI_OPT_FLAG,
     .offset = offsetof(dissect_opts, full),
     .help = "every byte of hex values (default: the first 32)"},
    {.name = "--app-data",
     .kind = TD_CLI_OPT_FLAG,
     .offset = offsetof(dissect_opts, app_data),
     .help = "decrypted application data as hex (default: its length)"},
    {.name = "--records",
     .kind = TD_CLI_OPT_CHOICE,
     .offset = offsetof(dissect_opts, records),
     .choices = "client|server",
     .help = "FILE is not a capture but the raw TLS records that side sent\n"
             "(a record-level corpus or crash file)"},
    {.name = "--fuzzer-mode",
     .kind = TD_CLI_OPT_CHOICE,
     .offset = offsetof(dissect_opts, fuzzer_mode),
     .choices = "auto|on|off",
     .help = "protected records are fuzzer mode's plaintext with a zero tag\n"
             "(`tlsdrill replay X_fm --pcap`); auto (default): a connection is\n"
             "read so from its first record that no logged key opens and\n"
             "that ends in such a tag"},
};

static const td_cli_cmd dissect_cmd = {
    .name = "dissect",
    .args = "FILE|-",
    .min_args = 1,
    .max_args = 1,
    .about = "Prints a capture (classic pcap or pcapng; Ethernet, raw IP, loopback or Linux\n"
             "cooked; IPv4/IPv6 + TCP) as a tree: per TCP stream, every TLS record (direction,\n"
             "type, version, length, protection), handshake messages with every field and\n"
             "extension by name, alerts by name.",
    .more = "A capture cut short is decoded up to the cut (the part of the cut packet\n"
            "that is there too) and says where it stopped: \"truncated at byte N, packet K\".\n"
            "exit: 0 decoded, 1 malformed or truncated capture (message on stderr; the tree\n"
            "of what was decoded is printed), 2 usage or I/O error\n",
    .opts = dissect_opts_table,
    .num_opts = sizeof(dissect_opts_table) / sizeof(dissect_opts_table[0]),
};

/* The whole file, NUL-terminated; NULL with a message on failure. */
static uint8_t *slurp(const char *path, size_t *out_len)
{
    bool std_in = strcmp(path, "-") == 0;
    FILE *f = std_in ? stdin : fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "tlsdrill dissect: cannot read %s: %s\n", path, strerror(errno));
        return NULL;
    }
    uint8_t *b = NULL;
    td_err err = td_file_read_stream(f, DISSECT_MAX_FILE, &b, out_len);
    if (!std_in)
        fclose(f);
    if (err == TD_ERR_LIMIT)
        fprintf(stderr, "tlsdrill dissect: %s: larger than 1 GiB\n", path);
    else if (err != TD_OK)
        fprintf(stderr, "tlsdrill dissect: cannot read %s\n", path);
    return b;
}

/* ---- --run RUN.json: stream labels ---- */

typedef struct labels {
    char **name; /* by stream index */
    size_t num;
} labels;

static void labels_free(labels *l)
{
    for (size_t i = 0; i < l->num; i++)
        free(l->name[i]);
    free(l->name);
}

/* A JSON string at |p| (after its opening quote) into a new C string. */
static char *json_string(const char *p, const char **end)
{
    size_t n = 0;
    char *out = malloc(strlen(p) + 1);
    if (out == NULL)
        return NULL;
    for (; *p && *p != '"'; p++) {
        if (*p == '\\' && p[1] != '\0') {
            p++;
            out[n++] = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p == 'u' ? '?' : *p;
            if (*p == 'u')
                for (int k = 0; k < 4 && p[1]; k++)
                    p++;
        } else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
    *end = p;
    return out;
}

/* The report of `tlsdrill run --json F --pcap P` has one case per line:
 * {"name": "...", ..., "streams": [i, j]}. */
static int load_labels(const char *path, labels *l)
{
    size_t len = 0;
    char *text = (char *)slurp(path, &len);
    if (text == NULL)
        return -1;
    int rc = 0, found = 0;
    for (char *line = text; line != NULL && *line;) {
        char *nl = strchr(line, '\n');
        if (nl != NULL)
            *nl = '\0';
        const char *n = strstr(line, "{\"name\": \"");
        const char *st = strstr(line, "\"streams\": [");
        if (n != NULL && st != NULL) {
            const char *end;
            char *name = json_string(n + 10, &end);
            for (const char *p = st + 12; name != NULL && *p && *p != ']';) {
                char *e;
                unsigned long v = strtoul(p, &e, 10);
                if (e == p || v > (1ul << 20))
                    break;
                if (v >= l->num) {
                    char **q = realloc(l->name, (v + 1) * sizeof(*q));
                    if (q == NULL)
                        break;
                    memset(q + l->num, 0, (v + 1 - l->num) * sizeof(*q));
                    l->name = q;
                    l->num = v + 1;
                }
                free(l->name[v]);
                l->name[v] = malloc(strlen(name) + 1);
                if (l->name[v] != NULL)
                    strcpy(l->name[v], name);
                found++;
                p = e + strspn(e, ", ");
            }
            free(name);
        }
        line = nl ? nl + 1 : NULL;
    }
    if (found == 0) {
        fprintf(stderr,
                "tlsdrill dissect: %s: no case names a stream (write it with `tlsdrill run --json "
                "F --pcap P`)\n",
                path);
        rc = -1;
    }
    free(text);
    return rc;
}

/* --records: |data| is the raw TLS records one side sent (a corpus or crash
 * file of record-level input). */
static td_err dissect_records(td_crypto *crypto, const uint8_t *data, size_t len,
                              const td_dis_keys *keys, const td_dis_opts *o, bool client,
                              td_dis_node **out)
{
    td_dis_node *root = NULL;
    td_dis_conn *c = NULL;
    td_err err = td_dis_node_new("records", NULL, &root);
    if (err == TD_OK)
        err = td_dis_attr(root, "from", "%s", client ? "client" : "server");
    if (err == TD_OK)
        err = td_dis_attr(root, "bytes", "%zu", len);
    if (err == TD_OK)
        err = td_dis_conn_new(crypto, keys, o, root, &c);
    if (err == TD_OK)
        err = td_dis_conn_feed(c, client ? TD_DIR_C2S : TD_DIR_S2C, data, len);
    if (err == TD_OK)
        err = td_dis_conn_finish(c);
    td_dis_conn_free(c);
    if (err != TD_OK) {
        td_dis_node_free(root);
        return err;
    }
    *out = root;
    return TD_OK;
}

int td_cli_dissect(int argc, char **argv)
{
    dissect_opts o = {.stream = UINT64_MAX};
    const char *args[1];
    size_t num_args;
    int prc = td_cli_opt_parse(&dissect_cmd, argc, argv, &o, args, &num_args);
    if (prc != TD_CLI_CONTINUE)
        return prc;
    const char *path = args[0], *keylog = o.keylog, *run = o.run, *records = o.records;
    bool json = o.json;
    td_dis_capture_opts opts = {.stream = o.stream == UINT64_MAX ? -1 : (long)o.stream};
    if (o.full)
        opts.conn.max_hex = SIZE_MAX;
    if (o.fuzzer_mode != NULL)
        opts.conn.fuzzer_mode = strcmp(o.fuzzer_mode, "on") == 0    ? TD_DIS_FM_ON
                                : strcmp(o.fuzzer_mode, "off") == 0 ? TD_DIS_FM_OFF
                                                                    : TD_DIS_FM_AUTO;
    opts.conn.show_app_data = o.app_data;

    int rc = 2;
    size_t len = 0, klen = 0;
    uint8_t *data = NULL, *ktext = NULL;
    td_dis_keys *keys = NULL;
    td_crypto *crypto = NULL;
    td_dis_node *tree = NULL;
    labels lab = {0};
    td_diag diag;
    td_diag_clear(&diag);
    if ((data = slurp(path, &len)) == NULL)
        goto out;
    size_t ws = strspn((const char *)data, " \t\r\n");
    if (records == NULL && ws < len && (data[ws] == '{' || data[ws] == '[')) {
        fprintf(stderr,
                "tlsdrill dissect: %s is JSON: a `tlsdrill run --json` report holds verdicts, not "
                "records.\n  The transcript of a run is its capture: tlsdrill run ... --pcap P "
                "--keylog K --json %s,\n  then tlsdrill dissect P --keylog K --run %s\n",
                path, path, path);
        rc = 1;
        goto out;
    }
    if (keylog != NULL) {
        if ((ktext = slurp(keylog, &klen)) == NULL)
            goto out;
        td_err err = td_dis_keys_parse((const char *)ktext, klen, &keys, &diag);
        if (err != TD_OK) {
            fprintf(stderr, "tlsdrill dissect: %s: %s\n", keylog,
                    err == TD_ERR_NOMEM ? "out of memory" : diag.text);
            goto out;
        }
    }
    if (run != NULL) {
        if (load_labels(run, &lab) != 0)
            goto out;
        opts.labels = (const char *const *)lab.name;
        opts.num_labels = lab.num;
    }
    if (td_crypto_new(&crypto) != TD_OK) {
        fprintf(stderr, "tlsdrill dissect: cannot initialise crypto\n");
        goto out;
    }
    td_err err = records != NULL ? dissect_records(crypto, data, len, keys, &opts.conn,
                                                   strcmp(records, "client") == 0, &tree)
                                 : td_dissect_capture(crypto, data, len, keys, &opts, &tree, &diag);
    if (err != TD_OK) {
        fprintf(stderr, "tlsdrill dissect: %s: %s\n", path,
                err == TD_ERR_NOMEM ? "out of memory" : diag.text);
        rc = err == TD_ERR_NOMEM ? 2 : 1;
        goto out;
    }
    if (opts.stream >= 0 && td_dis_num_children(tree) == 0) {
        fprintf(stderr, "tlsdrill dissect: %s: no TCP stream %ld\n", path, opts.stream);
        rc = 1;
        goto out;
    }
    if (json) {
        td_dis_print_json(tree, stdout);
        fputc('\n', stdout);
    } else {
        td_dis_print_text(tree, stdout, 0);
    }
    fflush(stdout);
    rc = td_dis_get(tree, "malformed") != NULL || td_dis_get(tree, "truncated") != NULL ? 1 : 0;
    if (td_dis_get(tree, "malformed") != NULL)
        fprintf(stderr, "tlsdrill dissect: %s: malformed packets: %s\n", path,
                td_dis_get(tree, "malformed"));
    if (td_dis_get(tree, "truncated") != NULL)
        fprintf(stderr, "tlsdrill dissect: %s: truncated %s\n", path,
                td_dis_get(tree, "truncated"));
out:
    td_dis_node_free(tree);
    td_dis_keys_free(keys);
    td_crypto_free(crypto);
    if (ktext != NULL)
        td_cleanse(ktext, klen);
    free(ktext);
    free(data);
    labels_free(&lab);
    return rc;
}
