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
#include "opt.h"
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

/* The command line as parsed (opt.h), converted into serve_opts. */
typedef struct serve_flags {
    const char *host, *certs_dir, *cert, *client_auth, *alpn, *groups, *seed, *pcap_path,
        *keylog_path, *scenario, *case_name;
    uint64_t port, tickets, max_conns, early_data, lifetime_ms, timeout_ms, conn_timeout_ms;
    bool hrr, cookie, quiet;
} serve_flags;

#define SF(field) .offset = offsetof(serve_flags, field)
static const td_cli_opt serve_opts_table[] = {
    {.name = "--port",
     .kind = TD_CLI_OPT_UINT,
     SF(port),
     .max = 65535,
     .help = "TCP port (default 0: a free one; the first line says which)"},
    {.name = "--host",
     .kind = TD_CLI_OPT_STR,
     SF(host),
     .arg = "ADDR",
     .help = "address to listen on (127.0.0.1)"},
    {.name = "--cert",
     .kind = TD_CLI_OPT_CHOICE,
     SF(cert),
     .choices = "p256|rsa|rsa2048|p384|ed25519",
     .help = "the server certificate (p256; rsa = rsa2048, the name scenarios use)"},
    {.name = "--certs",
     .kind = TD_CLI_OPT_STR,
     SF(certs_dir),
     .arg = "DIR",
     .help = "certificate folder (default $TD_VECTORS_DIR/certs)"},
    {.name = "--groups",
     .kind = TD_CLI_OPT_STR,
     SF(groups),
     .arg = "LIST",
     .help = "x25519,P-256,P-384,P-521,x448 in preference order (a client without a\n"
             "share for one of them gets a HelloRetryRequest)"},
    {.name = "--hrr", .kind = TD_CLI_OPT_FLAG, SF(hrr), .help = "always send a HelloRetryRequest"},
    {.name = "--cookie",
     .kind = TD_CLI_OPT_FLAG,
     SF(cookie),
     .help = "a cookie in the HelloRetryRequest"},
    {.name = "--client-auth",
     .kind = TD_CLI_OPT_CHOICE,
     SF(client_auth),
     .choices = "none|request|require",
     .help = "ask for a client certificate (none)"},
    {.name = "--tickets",
     .kind = TD_CLI_OPT_UINT,
     SF(tickets),
     .max = 16,
     .help = "NewSessionTickets per connection (1)"},
    {.name = "--early-data",
     .kind = TD_CLI_OPT_UINT,
     SF(early_data),
     .max = 1u << 30,
     .help = "max_early_data_size of the tickets (0: no 0-RTT)"},
    {.name = "--alpn",
     .kind = TD_CLI_OPT_STR,
     SF(alpn),
     .arg = "LIST",
     .help = "ALPN protocols, comma-separated"},
    {.name = "--max-conns",
     .kind = TD_CLI_OPT_UINT,
     SF(max_conns),
     .max = 1000000000,
     .help = "exit after N connections (0: no limit)"},
    {.name = "--lifetime",
     .kind = TD_CLI_OPT_DURATION,
     SF(lifetime_ms),
     .min = 1,
     .max = 10000000000ull,
     .unit_ms = 1000,
     .help = "exit after this long (no limit)"},
    {.name = "--timeout",
     .kind = TD_CLI_OPT_DURATION,
     SF(timeout_ms),
     .min = 1,
     .max = 100000000,
     .unit_ms = 1000,
     .help = "bound of each read (5s)"},
    {.name = "--conn-timeout",
     .kind = TD_CLI_OPT_DURATION,
     SF(conn_timeout_ms),
     .min = 1,
     .max = 100000000,
     .unit_ms = 1000,
     .help = "bound of a whole connection (30s)"},
    {.name = "--seed",
     .kind = TD_CLI_OPT_STR,
     SF(seed),
     .arg = "TEXT",
     .help = "fixes every random value (default: random)"},
    {.name = "--pcap",
     .kind = TD_CLI_OPT_STR,
     SF(pcap_path),
     .arg = "FILE",
     .help = "every connection as a TCP stream of one capture"},
    {.name = "--keylog",
     .kind = TD_CLI_OPT_STR,
     SF(keylog_path),
     .arg = "FILE",
     .help = "the NSS key log that decrypts it"},
    {.name = "--quiet", .kind = TD_CLI_OPT_FLAG, SF(quiet), .help = "no per-connection lines"},
    {.name = "--scenario",
     .kind = TD_CLI_OPT_STR,
     SF(scenario),
     .arg = "FILE",
     .help = "the server side of a case's header (its first case, or --case NAME):\n"
             "suites, groups, sigalgs, ALPN, certificate, client auth, HRR, cookie, tickets,\n"
             "0-RTT, record size, and our bugs.def knobs when the case's SUT is a client\n"
             "(send-step edits are not applied); it replaces the flags above"},
    {.name = "--case",
     .kind = TD_CLI_OPT_STR,
     SF(case_name),
     .arg = "NAME",
     .help = "the case of --scenario"},
};
#undef SF

static const td_cli_cmd serve_cmd = {
    .name = "serve",
    .about = "The engine as a TLS 1.3 server (one connection at a time; echoes application\n"
             "data). One line per connection: verdict=ok|alert|garbage|timeout|closed, then the\n"
             "negotiated parameters. DURATION: 300ms, 5s, 2m (a bare number is seconds).",
    .opts = serve_opts_table,
    .num_opts = sizeof(serve_opts_table) / sizeof(serve_opts_table[0]),
};

static int parse_serve(int argc, char **argv, serve_opts *o)
{
    const char *vec = getenv("TD_VECTORS_DIR");
    static char certs_dir[1024];
    snprintf(certs_dir, sizeof(certs_dir), "%s/certs", vec != NULL ? vec : TD_VECTORS_DIR);
    serve_flags f = {.host = "127.0.0.1",
                     .certs_dir = certs_dir,
                     .cert = "p256",
                     .client_auth = "none",
                     .tickets = 1,
                     .timeout_ms = 5000,
                     .conn_timeout_ms = 30000};
    const char *args[1];
    size_t num_args;
    int rc = td_cli_opt_parse(&serve_cmd, argc, argv, &f, args, &num_args);
    if (rc != TD_CLI_CONTINUE)
        return rc;
    if (!td_cli_output_ok("serve", f.pcap_path) || !td_cli_output_ok("serve", f.keylog_path))
        return 2;
    *o = (serve_opts){.host = f.host,
                      .certs_dir = f.certs_dir,
                      .cert = strcmp(f.cert, "rsa2048") == 0 ? "rsa" : f.cert,
                      .client_auth = f.client_auth,
                      .alpn = f.alpn,
                      .groups = f.groups,
                      .seed = f.seed,
                      .pcap_path = f.pcap_path,
                      .keylog_path = f.keylog_path,
                      .scenario = f.scenario,
                      .case_name = f.case_name,
                      .port = (unsigned)f.port,
                      .tickets = (unsigned)f.tickets,
                      .max_conns = (unsigned)f.max_conns,
                      .early_data = (uint32_t)f.early_data,
                      .lifetime_s = (double)f.lifetime_ms / 1000.0,
                      .timeout_s = (double)f.timeout_ms / 1000.0,
                      .conn_timeout_s = (double)f.conn_timeout_ms / 1000.0,
                      .hrr = f.hrr,
                      .cookie = f.cookie,
                      .quiet = f.quiet};
    return TD_CLI_CONTINUE;
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
    serve_opts o = {0};
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
