/* tools/cli/cmd_serve.c -- `tlsdrill serve`: the engine as a TLS 1.3 server
 * on 127.0.0.1 for other tools (openssl s_client, gnutls-cli) to test.
 * Connections are served one at a time; each ends with one line: peer,
 * verdict (tls_io.h), negotiated parameters, alerts and the rule. Received
 * application data is echoed back. Every wait has a deadline (read, whole
 * connection, whole process with --lifetime); SIGTERM/SIGINT end it
 * cleanly (the capture and key log are written). */
#define _POSIX_C_SOURCE 200809L
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "tlsdrill/net.h"
#include "tls_io.h"
#include "tlsdrill/crypto.h"
#include "tlsdrill/transcript.h"

typedef struct serve_opts {
    const char *host, *certs_dir, *cert, *client_auth, *alpn, *groups, *seed, *pcap_path,
        *keylog_path;
    unsigned port, tickets, max_conns;
    uint32_t early_data;
    double lifetime_s, timeout_s, conn_timeout_s;
    bool hrr, cookie, quiet;
} serve_opts;

static const struct {
    const char *name, *chain, *key;
} cert_files[] = {
    {"p256", "server-p256.chain.pem", "server-p256.key"},
    {"rsa", "server-rsa2048.chain.pem", "server-rsa2048.key"},
    {"p384", "server-p384.chain.pem", "server-p384.key"},
    {"ed25519", "server-ed25519.chain.pem", "server-ed25519.key"},
};

static void serve_usage(FILE *f)
{
    fprintf(
        f,
        "usage: tlsdrill serve [--port P] [--host 127.0.0.1] [--cert p256|rsa|p384|ed25519] "
        "[--certs DIR]\n"
        "                      [--groups LIST] [--hrr] [--cookie] [--client-auth "
        "none|request|require] [--tickets "
        "N]\n"
        "                      [--early-data N] [--alpn LIST] [--max-conns N] [--lifetime "
        "SECONDS]\n"
        "                      [--timeout SECONDS] [--conn-timeout SECONDS] [--seed S]\n"
        "                      [--pcap FILE] [--keylog FILE] [--quiet]\n"
        "The engine as a TLS 1.3 server (one connection at a time; echoes application data).\n"
        "--groups: x25519,P-256,P-384,P-521,x448 in preference order (a client without a\n"
        "share for one of them gets a HelloRetryRequest; --hrr sends one always).\n"
        "--port 0 (the default) picks a free port; the first line says which. Certificates\n"
        "from $TD_VECTORS_DIR/certs (or --certs DIR). --timeout bounds each read (5 s),\n"
        "--conn-timeout a whole connection (30 s), --lifetime the process. One line per\n"
        "connection: verdict=ok|alert|garbage|timeout|closed, then the negotiated parameters.\n");
}

/* Parses "--name value" numbers; returns false on a malformed value. */
static bool parse_num(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static int parse_serve(int argc, char **argv, serve_opts *o)
{
    const char *vec = getenv("TD_VECTORS_DIR");
    static char certs_dir[1024];
    snprintf(certs_dir, sizeof(certs_dir), "%s/certs", vec != NULL ? vec : TD_VECTORS_DIR);
    *o = (serve_opts){.host = "127.0.0.1",
                      .certs_dir = certs_dir,
                      .cert = "p256",
                      .client_auth = "none",
                      .tickets = 1,
                      .timeout_s = 5,
                      .conn_timeout_s = 30};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        double d;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            serve_usage(stdout);
            return 0;
        } else if (strcmp(a, "--hrr") == 0) {
            o->hrr = true;
        } else if (strcmp(a, "--cookie") == 0) {
            o->cookie = true;
        } else if (strcmp(a, "--quiet") == 0) {
            o->quiet = true;
        } else if (v == NULL) {
            fprintf(stderr, "tlsdrill serve: unknown option or missing value: %s\n", a);
            return 2;
        } else if (strcmp(a, "--host") == 0) {
            o->host = v, i++;
        } else if (strcmp(a, "--certs") == 0) {
            o->certs_dir = v, i++;
        } else if (strcmp(a, "--cert") == 0) {
            o->cert = v, i++;
        } else if (strcmp(a, "--client-auth") == 0) {
            o->client_auth = v, i++;
        } else if (strcmp(a, "--alpn") == 0) {
            o->alpn = v, i++;
        } else if (strcmp(a, "--groups") == 0) {
            o->groups = v, i++;
        } else if (strcmp(a, "--seed") == 0) {
            o->seed = v, i++;
        } else if (strcmp(a, "--pcap") == 0) {
            o->pcap_path = v, i++;
        } else if (strcmp(a, "--keylog") == 0) {
            o->keylog_path = v, i++;
        } else if (strcmp(a, "--port") == 0 && parse_num(v, 0, 65535, &d)) {
            o->port = (unsigned)d, i++;
        } else if (strcmp(a, "--tickets") == 0 && parse_num(v, 0, 16, &d)) {
            o->tickets = (unsigned)d, i++;
        } else if (strcmp(a, "--max-conns") == 0 && parse_num(v, 0, 1e9, &d)) {
            o->max_conns = (unsigned)d, i++;
        } else if (strcmp(a, "--early-data") == 0 && parse_num(v, 0, 1 << 30, &d)) {
            o->early_data = (uint32_t)d, i++;
        } else if (strcmp(a, "--lifetime") == 0 && parse_num(v, 0.001, 1e7, &d)) {
            o->lifetime_s = d, i++;
        } else if (strcmp(a, "--timeout") == 0 && parse_num(v, 0.001, 1e5, &d)) {
            o->timeout_s = d, i++;
        } else if (strcmp(a, "--conn-timeout") == 0 && parse_num(v, 0.001, 1e5, &d)) {
            o->conn_timeout_s = d, i++;
        } else {
            fprintf(stderr, "tlsdrill serve: bad option or value: %s %s\n", a, v);
            return 2;
        }
    }
    if (strcmp(o->client_auth, "none") != 0 && strcmp(o->client_auth, "request") != 0 &&
        strcmp(o->client_auth, "require") != 0) {
        fprintf(stderr, "tlsdrill serve: --client-auth none|request|require\n");
        return 2;
    }
    return -1;
}

/* Everything a serve run holds; freed by serve_free. */
typedef struct serve_state {
    td_crypto *crypto;
    td_der *chain, *ca;
    size_t num_chain, num_ca;
    td_pkey *key;
    td_cert_key ck;
    char *alpn_buf;
    const char *alpn[16];
    uint8_t seed[32];
    uint16_t groups[8];
    td_config cfg;
    td_keylog *keylog;
    td_pcap *pcap;
    int sigfd, lfd;
} serve_state;

static void serve_free(serve_state *st)
{
    td_der_list_free(st->chain, st->num_chain);
    td_der_list_free(st->ca, st->num_ca);
    td_pkey_free(st->key);
    td_keylog_free(st->keylog);
    td_pcap_free(st->pcap);
    free(st->alpn_buf);
    td_crypto_free(st->crypto);
    if (st->lfd >= 0)
        close(st->lfd);
    if (st->sigfd >= 0)
        close(st->sigfd);
}

static bool load_pem(const char *dir, const char *file, char **out, size_t *len)
{
    char path[1200];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    *out = td_cli_read_file(path, len);
    if (*out == NULL)
        fprintf(stderr, "tlsdrill: cannot read %s\n", path);
    return *out != NULL;
}

static int serve_setup(const serve_opts *o, serve_state *st)
{
    size_t ci = 0;
    while (ci < sizeof(cert_files) / sizeof(cert_files[0]) &&
           strcmp(cert_files[ci].name, o->cert) != 0)
        ci++;
    if (ci == sizeof(cert_files) / sizeof(cert_files[0])) {
        fprintf(stderr, "tlsdrill serve: --cert p256|rsa|p384|ed25519\n");
        return 2;
    }
    if (td_crypto_new(&st->crypto) != TD_OK)
        return 1;
    char *chain = NULL, *key = NULL, *ca = NULL;
    size_t chain_len, key_len, ca_len;
    bool ok = load_pem(o->certs_dir, cert_files[ci].chain, &chain, &chain_len) &&
              load_pem(o->certs_dir, cert_files[ci].key, &key, &key_len) &&
              load_pem(o->certs_dir, "ca.pem", &ca, &ca_len) &&
              td_certs_from_pem(chain, chain_len, &st->chain, &st->num_chain) == TD_OK &&
              td_certs_from_pem(ca, ca_len, &st->ca, &st->num_ca) == TD_OK && st->num_ca > 0 &&
              td_pkey_from_pem(st->crypto, key, key_len, &st->key) == TD_OK;
    if (key != NULL)
        td_cleanse(key, key_len);
    free(chain), free(key), free(ca);
    if (!ok) {
        fprintf(stderr, "tlsdrill serve: cannot load the %s certificate from %s\n", o->cert,
                o->certs_dir);
        return 1;
    }
    st->ck = (td_cert_key){.chain = st->chain, .num_chain = st->num_chain, .key = st->key};
    td_config *c = &st->cfg;
    *c = (td_config){.role = TD_ROLE_SERVER,
                     .crypto = st->crypto,
                     .certs = &st->ck,
                     .num_certs = 1,
                     .trust_anchor = st->ca[0].data,
                     .trust_anchor_len = st->ca[0].len,
                     .hrr = o->hrr ? TD_HRR_ALWAYS : TD_HRR_AUTO,
                     .hrr_cookie = o->cookie,
                     .num_tickets = o->tickets,
                     .max_early_data = o->early_data,
                     .accept_early_data = o->early_data > 0,
                     .log_messages = true};
    c->client_auth = strcmp(o->client_auth, "require") == 0   ? TD_CLIENT_AUTH_REQUIRE
                     : strcmp(o->client_auth, "request") == 0 ? TD_CLIENT_AUTH_REQUEST
                                                              : TD_CLIENT_AUTH_NONE;
    /* The seed fixes every random value (and the ticket key, so tickets
     * survive across connections); without --seed it is fresh. */
    if (o->seed != NULL) {
        c->seed = (const uint8_t *)o->seed;
        c->seed_len = strlen(o->seed);
    } else {
        if (RAND_bytes(st->seed, sizeof(st->seed)) != 1)
            return 1;
        c->seed = st->seed;
        c->seed_len = sizeof(st->seed);
    }
    if (o->alpn != NULL) {
        st->alpn_buf = strdup(o->alpn);
        size_t n;
        if (st->alpn_buf == NULL || !td_cli_split_list(st->alpn_buf, st->alpn, 16, &n)) {
            fprintf(stderr, "tlsdrill serve: bad --alpn list\n");
            return 2;
        }
        c->alpn = st->alpn;
        c->num_alpn = n;
    }
    if (o->groups != NULL) {
        size_t n;
        if (!td_cli_parse_groups(o->groups, st->groups, 8, &n)) {
            fprintf(stderr, "tlsdrill serve: bad --groups %s\n", o->groups);
            return 2;
        }
        c->groups = st->groups;
        c->num_groups = n;
    }
    if (o->keylog_path != NULL) {
        if (td_keylog_new(&st->keylog) != TD_OK)
            return 1;
        c->keylog = td_keylog_append;
        c->keylog_arg = st->keylog;
    }
    if (o->pcap_path != NULL && td_pcap_new(0, &st->pcap) != TD_OK)
        return 1;
    return -1;
}

static void serve_save(const serve_opts *o, serve_state *st)
{
    size_t len;
    if (st->pcap != NULL) {
        const uint8_t *b = td_pcap_bytes(st->pcap, &len);
        if (!td_cli_write_file(o->pcap_path, b, len))
            fprintf(stderr, "tlsdrill serve: cannot write %s\n", o->pcap_path);
    }
    if (st->keylog != NULL) {
        const char *t = td_keylog_text(st->keylog, &len);
        if (t == NULL || !td_cli_write_file(o->keylog_path, t, len))
            fprintf(stderr, "tlsdrill serve: cannot write %s\n", o->keylog_path);
    }
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* One connection, start to end. Returns false if we were signalled. */
static bool serve_one(const serve_opts *o, serve_state *st, unsigned index, int fd,
                      const char *peer, int64_t life_deadline)
{
    char stream[32];
    snprintf(stream, sizeof(stream), "conn/%u", index);
    st->cfg.stream = stream;
    td_tls_io io = {.fd = fd, .sigfd = st->sigfd, .pcap = st->pcap, .clock_base = td_net_now_ms()};
    io.deadline = min64(io.clock_base + (int64_t)(o->conn_timeout_s * 1000), life_deadline);
    td_pcap_flow_init(&io.flow, index);
    if (td_conn_new(&st->cfg, &io.conn) != TD_OK || td_conn_start(io.conn) != TD_OK) {
        fprintf(stderr, "tlsdrill serve: cannot create a connection\n");
        td_conn_free(io.conn);
        return true;
    }
    int64_t read_ms = (int64_t)(o->timeout_s * 1000);
    bool idle = false;
    for (;;) {
        td_phase ph = td_conn_status(io.conn)->phase;
        if (ph == TD_PHASE_FAILED || ph == TD_PHASE_CLOSED)
            break;
        td_net_rc rc = td_tls_io_step(&io, td_net_now_ms() + read_ms);
        if (rc == TD_NET_TIMEOUT && io.handshake_done)
            idle = true;
        if (rc != TD_NET_OK)
            break;
        /* Echo (0-RTT data included, once connected). */
        uint8_t buf[4096];
        size_t n;
        while (td_conn_status(io.conn)->phase == TD_PHASE_CONNECTED &&
               (n = td_conn_read(io.conn, buf, sizeof(buf))) > 0)
            if (td_conn_write(io.conn, buf, n) != TD_OK)
                break;
        if (td_tls_io_flush(&io) != TD_NET_OK)
            break;
    }
    if (td_conn_status(io.conn)->phase == TD_PHASE_CONNECTED && !io.signalled && !io.peer_closed &&
        td_conn_close(io.conn) == TD_OK)
        (void)td_tls_io_flush(&io);
    if (io.pcap != NULL && td_pcap_close(io.pcap, &io.flow) != TD_OK)
        st->pcap = NULL; /* keep what was captured; stop capturing */
    close(fd);
    printf("conn=%u peer=%s verdict=%s end=%s ", index, peer, td_tls_io_verdict(&io),
           io.signalled     ? "signal"
           : io.peer_closed ? "peer-closed"
           : idle           ? "idle"
           : io.timed_out   ? "timeout"
                            : "done");
    td_cli_print_status(stdout, io.conn);
    if (!o->quiet)
        td_cli_print_transcript(stdout, io.conn);
    fflush(stdout);
    td_conn_free(io.conn);
    return !io.signalled;
}

int td_cli_serve(int argc, char **argv)
{
    serve_opts o;
    int rc = parse_serve(argc, argv, &o);
    if (rc >= 0)
        return rc;
    serve_state st = {.sigfd = -1, .lfd = -1};
    rc = serve_setup(&o, &st);
    if (rc >= 0) {
        serve_free(&st);
        return rc;
    }
    char err[256];
    uint16_t port = 0;
    st.sigfd = td_net_signals();
    st.lfd = td_net_listen(o.host, (uint16_t)o.port, &port, err, sizeof(err));
    if (st.sigfd < 0 || st.lfd < 0) {
        fprintf(stderr, "tlsdrill serve: %s\n", st.lfd < 0 ? err : "cannot set up signals");
        serve_free(&st);
        return 1;
    }
    printf("listening on %s:%u\n", o.host, port);
    fflush(stdout);
    int64_t life = o.lifetime_s > 0 ? td_net_now_ms() + (int64_t)(o.lifetime_s * 1000) : INT64_MAX;
    unsigned served = 0;
    const char *why = "max-conns";
    while (o.max_conns == 0 || served < o.max_conns) {
        int fd;
        char peer[64];
        td_net_rc nrc = td_net_accept(st.lfd, st.sigfd, life, &fd, peer, sizeof(peer));
        if (nrc != TD_NET_OK) {
            why = nrc == TD_NET_TIMEOUT ? "lifetime" : td_net_rc_name(nrc);
            break;
        }
        bool go_on = serve_one(&o, &st, ++served, fd, peer, life);
        serve_save(&o, &st);
        if (!go_on) {
            why = "signal";
            break;
        }
    }
    serve_save(&o, &st);
    printf("served %u connection%s (%s)\n", served, served == 1 ? "" : "s", why);
    serve_free(&st);
    return 0;
}
