/* tools/cli/cmd_serve.c -- `tlsdrill serve`: the engine as a TLS 1.3 server
 * on 127.0.0.1 for other tools (openssl s_client, gnutls-cli) to test.
 * Connections are served one at a time; each ends with one line: peer,
 * verdict (tls_io.h), negotiated parameters, alerts and the rule. Received
 * application data is echoed back. Every wait has a deadline (read, whole
 * connection, whole process with --lifetime); SIGTERM/SIGINT end it
 * cleanly (the capture and key log are written). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "endpoint.h"
#include "tls_io.h"
#include "tlsdrill/crypto.h"
#include "tlsdrill/net.h"
#include "tlsdrill/scenario.h"
#include "tlsdrill/transcript.h"

typedef struct serve_opts {
    const char *host, *certs_dir, *cert, *client_auth, *alpn, *groups, *seed, *pcap_path,
        *keylog_path, *scenario, *case_name;
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
        f, "usage: tlsdrill serve [--port P] [--host 127.0.0.1] [--cert p256|rsa|p384|ed25519] "
           "[--certs DIR]\n"
           "                      [--groups LIST] [--hrr] [--cookie] [--client-auth "
           "none|request|require] [--tickets "
           "N]\n"
           "                      [--early-data N] [--alpn LIST] [--max-conns N] [--lifetime "
           "SECONDS]\n"
           "                      [--timeout SECONDS] [--conn-timeout SECONDS] [--seed S]\n"
           "                      [--pcap FILE] [--keylog FILE] [--quiet] [--scenario FILE [--case "
           "NAME]]\n"
           "The engine as a TLS 1.3 server (one connection at a time; echoes application data).\n"
           "--groups: x25519,P-256,P-384,P-521,x448 in preference order (a client without a\n"
           "share for one of them gets a HelloRetryRequest; --hrr sends one always).\n"
           "--port 0 (the default) picks a free port; the first line says which. Certificates\n"
           "from $TD_VECTORS_DIR/certs (or --certs DIR). --timeout bounds each read (5 s),\n"
           "--conn-timeout a whole connection (30 s), --lifetime the process. One line per\n"
           "connection: verdict=ok|alert|garbage|timeout|closed, then the negotiated parameters.\n"
           "--scenario FILE: the server side of a case's header (its first case, or --case NAME):\n"
           "suites, groups, sigalgs, ALPN, certificate, client auth, HRR, cookie, tickets, 0-RTT,\n"
           "record size, and our bugs.def knobs when the case's SUT is a client (send-step edits\n"
           "are not applied); it replaces the flags above.\n");
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
        } else if (strcmp(a, "--scenario") == 0) {
            o->scenario = v, i++;
        } else if (strcmp(a, "--case") == 0) {
            o->case_name = v, i++;
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
    td_cli_endpoint ep;
    td_config cfg;
    td_scn_file *scn;      /* --scenario: the parsed file, */
    td_scn_runner *runner; /* its certificates, */
    void *scn_env;         /* and the configuration built from it */
    int sigfd, lfd;
} serve_state;

static void serve_free(serve_state *st)
{
    free(st->scn_env);
    td_scn_runner_free(st->runner);
    td_scn_file_free(st->scn);
    td_cli_endpoint_cleanup(&st->ep);
    if (st->lfd >= 0)
        close(st->lfd);
    if (st->sigfd >= 0)
        close(st->sigfd);
}

/* --scenario FILE [--case NAME]: the server side of the case's header. */
static int serve_from_scenario(const serve_opts *o, serve_state *st)
{
    td_scn_diags diags = {0};
    td_err err = td_scn_parse_file(o->scenario, &st->scn, &diags);
    td_scn_diags_print(&diags, stderr);
    size_t nd = diags.num;
    td_scn_diags_cleanup(&diags);
    if (err != TD_OK || nd > 0 || st->scn == NULL || st->scn->num_cases == 0) {
        fprintf(stderr, "tlsdrill serve: %s: no usable case\n", o->scenario);
        return 2;
    }
    const td_scn_case *c = NULL;
    for (size_t i = 0; i < st->scn->num_cases && c == NULL; i++)
        if (o->case_name == NULL || strcmp(st->scn->cases[i].name, o->case_name) == 0)
            c = &st->scn->cases[i];
    if (c == NULL) {
        fprintf(stderr, "tlsdrill serve: %s: no case named '%s'\n", o->scenario, o->case_name);
        return 2;
    }
    td_scn_opts so = {.crypto = st->ep.crypto, .cert_dir = o->certs_dir};
    td_config *sc = NULL;
    if (td_scn_runner_new(&so, &st->runner) != TD_OK ||
        td_scn_runner_side_config(st->runner, c, TD_ROLE_SERVER, &sc, &st->scn_env) != TD_OK) {
        fprintf(stderr, "tlsdrill serve: cannot configure case %s (certificates under %s?)\n",
                c->name, o->certs_dir);
        return 1;
    }
    /* The case's server side; ours: crypto, seed, key log, message log. */
    td_config keep = st->cfg;
    st->cfg = *sc;
    st->cfg.crypto = keep.crypto;
    st->cfg.seed = keep.seed;
    st->cfg.seed_len = keep.seed_len;
    st->cfg.keylog = keep.keylog;
    st->cfg.keylog_arg = keep.keylog_arg;
    st->cfg.log_messages = true;
    if (c->sut == TD_ROLE_CLIENT)
        st->cfg.bugs = c->bugs; /* our side's deliberate misbehaviour */
    printf("scenario %s:%d: serving the server side of %s\n", c->file, c->line, c->name);
    return -1;
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
    char chain[1200], key[1200], ca[1200];
    snprintf(chain, sizeof(chain), "%s/%s", o->certs_dir, cert_files[ci].chain);
    snprintf(key, sizeof(key), "%s/%s", o->certs_dir, cert_files[ci].key);
    snprintf(ca, sizeof(ca), "%s/ca.pem", o->certs_dir);
    td_config *c = &st->cfg;
    *c = (td_config){.role = TD_ROLE_SERVER,
                     .hrr = o->hrr ? TD_HRR_ALWAYS : TD_HRR_AUTO,
                     .hrr_cookie = o->cookie,
                     .num_tickets = o->tickets,
                     .max_early_data = o->early_data,
                     .accept_early_data = o->early_data > 0,
                     .log_messages = true};
    c->client_auth = strcmp(o->client_auth, "require") == 0   ? TD_CLIENT_AUTH_REQUIRE
                     : strcmp(o->client_auth, "request") == 0 ? TD_CLIENT_AUTH_REQUEST
                                                              : TD_CLIENT_AUTH_NONE;
    td_cli_endpoint_opts eo = {.cmd = "serve",
                               .chain = chain,
                               .key = key,
                               .ca = ca,
                               .alpn = o->alpn,
                               .groups = o->groups,
                               .seed = o->seed,
                               .pcap = o->pcap_path != NULL,
                               .keylog = o->keylog_path != NULL};
    int rc = td_cli_endpoint_setup(&eo, &st->ep, c);
    if (rc < 0 && o->scenario != NULL)
        rc = serve_from_scenario(o, st);
    return rc;
}

static void serve_save(const serve_opts *o, serve_state *st)
{
    td_cli_endpoint_save(&st->ep, "serve", o->pcap_path, o->keylog_path);
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
    td_tls_io io = {
        .fd = fd, .sigfd = st->sigfd, .pcap = st->ep.pcap, .clock_base = td_net_now_ms()};
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
    /* RFC 8446 §6.1: each party MUST send a close_notify before closing its
     * write side -- also in answer to the peer's close_notify (phase CLOSED;
     * td_conn_close sends ours once). */
    td_phase end = td_conn_status(io.conn)->phase;
    if (!io.signalled &&
        (end == TD_PHASE_CLOSED || (end == TD_PHASE_CONNECTED && !io.peer_closed)) &&
        td_conn_close(io.conn) == TD_OK)
        (void)td_tls_io_flush(&io);
    if (io.pcap != NULL && td_pcap_close(io.pcap, &io.flow) != TD_OK)
        st->ep.pcap = NULL; /* keep what was captured; stop capturing */
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
