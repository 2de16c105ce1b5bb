/* tools/cli/cmd_dissect.c -- `tlsdrill dissect`: a capture (the --pcap of
 * run/serve/connect, or any classic pcap / pcapng of TLS over TCP) as a
 * decoded tree (engine/dissect/), decrypted with an NSS key log. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tlsdrill/dissect.h"

#define DISSECT_MAX_FILE (1ull << 30)

static int usage(FILE *f, int rc)
{
    fprintf(
        f,
        "usage: tlsdrill dissect FILE|- [--keylog FILE] [--json] [--stream N] [--run RUN.json]\n"
        "                        [--full] [--app-data] [--records client|server]\n"
        "  prints a capture (classic pcap or pcapng; Ethernet, raw IP, loopback or Linux\n"
        "  cooked; IPv4/IPv6 + TCP) as a tree: per TCP stream, every TLS record (direction,\n"
        "  type, version, length, protection), handshake messages with every field and\n"
        "  extension by name, alerts by name\n"
        "  --keylog FILE   NSS key log (run/serve/connect --keylog): decrypt the records\n"
        "                  (without it, a pcapng's decryption secrets block is used)\n"
        "  --json          the same tree as JSON\n"
        "  --stream N      only TCP stream N (tshark's tcp.stream)\n"
        "  --run RUN.json  name each stream by its case (a `tlsdrill run --pcap --json` report)\n"
        "  --full          every byte of hex values (default: the first 32)\n"
        "  --app-data      decrypted application data as hex (default: its length)\n"
        "  --records client|server  FILE is not a capture but the raw TLS records that side\n"
        "                  sent (a record-level corpus or crash file)\n"
        "exit: 0 decoded, 1 malformed capture (message on stderr), 2 usage or I/O error\n");
    return rc;
}

/* The whole file, NUL-terminated; NULL with a message on failure. */
static uint8_t *slurp(const char *path, size_t *out_len)
{
    bool std_in = strcmp(path, "-") == 0;
    FILE *f = std_in ? stdin : fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "tlsdrill dissect: cannot read %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    uint8_t *b = malloc(cap + 1);
    while (b != NULL) {
        size_t n = fread(b + len, 1, cap - len, f);
        len += n;
        if (len < cap)
            break;
        if (cap >= DISSECT_MAX_FILE) {
            fprintf(stderr, "tlsdrill dissect: %s: larger than 1 GiB\n", path);
            free(b);
            b = NULL;
            break;
        }
        cap *= 2;
        uint8_t *p = realloc(b, cap + 1);
        if (p == NULL)
            free(b);
        b = p;
    }
    bool bad = ferror(f);
    if (!std_in)
        fclose(f);
    if (b == NULL || bad) {
        if (bad)
            fprintf(stderr, "tlsdrill dissect: cannot read %s\n", path);
        free(b);
        return NULL;
    }
    b[len] = '\0';
    *out_len = len;
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
    const char *path = NULL, *keylog = NULL, *run = NULL, *records = NULL;
    bool json = false;
    td_dis_capture_opts opts = {.stream = -1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return usage(stdout, 0);
        if (strcmp(a, "--json") == 0)
            json = true;
        else if (strcmp(a, "--full") == 0)
            opts.conn.max_hex = SIZE_MAX;
        else if (strcmp(a, "--app-data") == 0)
            opts.conn.show_app_data = true;
        else if (strcmp(a, "--keylog") == 0 && has)
            keylog = argv[++i];
        else if (strcmp(a, "--run") == 0 && has)
            run = argv[++i];
        else if (strcmp(a, "--records") == 0 && has) {
            records = argv[++i];
            if (strcmp(records, "client") != 0 && strcmp(records, "server") != 0) {
                fprintf(stderr, "tlsdrill dissect: --records client|server, not '%s'\n", records);
                return 2;
            }
        } else if (strcmp(a, "--stream") == 0 && has) {
            char *end;
            opts.stream = strtol(argv[++i], &end, 10);
            if (*end != '\0' || end == argv[i] || opts.stream < 0) {
                fprintf(stderr, "tlsdrill dissect: bad stream number '%s'\n", argv[i]);
                return 2;
            }
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "tlsdrill dissect: unexpected argument '%s'\n", a);
            return usage(stderr, 2);
        } else if (path == NULL)
            path = a;
        else {
            fprintf(stderr, "tlsdrill dissect: one capture at a time ('%s')\n", a);
            return 2;
        }
    }
    if (path == NULL)
        return usage(stderr, 2);

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
    rc = td_dis_get(tree, "malformed") != NULL ? 1 : 0;
    if (rc != 0)
        fprintf(stderr, "tlsdrill dissect: %s: malformed packets: %s\n", path,
                td_dis_get(tree, "malformed"));
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
