/* tools/cli/cmd_serve.c -- `tlsdrill serve`: the engine as a TLS 1.3 server
 * on 127.0.0.1 for other tools (openssl s_client, gnutls-cli) to test.
 * Connections are served one at a time; each ends with one line: peer,
 * verdict (tls_io.h), negotiated parameters, alerts and the rule. Received
 * application data is echoed back. Every wait has a deadline (read, whole
 * connection, whole process with --lifetime); SIGTERM/SIGINT end it
 * cleanly (the capture and key log are written). */
#define _GNU_SOURCE /* accept4, strncasecmp */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "endpoint.h"
#include "opt.h"
#include "tls_io.h"
#include "tlsdrill/crypto.h"
#include "tlsdrill/net.h"
#include "tlsdrill/scenario.h"
#include "tlsdrill/transcript.h"

#define SERVE_MAX_CERTS 8

/* The command line as parsed (opt.h); durations in milliseconds. */
typedef struct serve_opts {
    td_cli_strs certs, psks; /* --cert NAME..., --psk ID:HEX[:SUITE]... */
    const char *host, *certs_dir, *client_auth, *pha, *alpn, *groups, *seed, *pcap_path,
        *keylog_path, *scenario, *case_name;
    uint64_t port, tickets, max_conns, early_data, lifetime_ms, timeout_ms, conn_timeout_ms,
        handshake_timeout_ms, max_active;
    bool hrr, cookie, quiet, http;
} serve_opts;

static const struct {
    const char *name, *chain, *key;
} cert_files[] = {
    {"p256", "server-p256.chain.pem", "server-p256.key"},
    {"rsa", "server-rsa2048.chain.pem", "server-rsa2048.key"},
    {"p384", "server-p384.chain.pem", "server-p384.key"},
    {"ed25519", "server-ed25519.chain.pem", "server-ed25519.key"},
    {"p256-sha384", "server-p256-sha384.chain.pem", "server-p256.key"},
};

#define SF(field) .offset = offsetof(serve_opts, field)
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
     .help = "address to listen on: IPv4, or IPv6 (::1 or [::1]) (127.0.0.1)"},
    {.name = "--cert",
     .kind = TD_CLI_OPT_STRS,
     SF(certs),
     .arg = "[HOST=]NAME|CHAIN.pem,KEY.pem",
     .max = SERVE_MAX_CERTS,
     .help = "a server certificate: a test one by NAME (p256, rsa = rsa2048, p384,\n"
             "ed25519, p256-sha384: the P-256 key certified with ecdsa-with-SHA384) or\n"
             "a chain and key file pair; HOST= serves it only to clients whose\n"
             "server_name is HOST (RFC 6066; others get the unbound ones). Repeat it to\n"
             "serve several: each handshake gets the first, bound ones first, that can\n"
             "sign with a scheme of the client's signature_algorithms and whose chain is\n"
             "signed as its signature_algorithms_cert asks (else the first that can sign;\n"
             "RFC 8446 4.4.2.2)"},
    {.name = "--psk",
     .kind = TD_CLI_OPT_STRS,
     SF(psks),
     .arg = "ID:HEX[:SUITE]",
     .help = "an external PSK (RFC 8446 4.2.11): identity ID (text), key HEX (32 bytes\n"
             "for SHA-256 suites, 48 for SHA-384), the suite it is for (default: by the\n"
             "key's length); psk_ke and psk_dhe_ke as the client asks. Repeatable"},
    {.name = "--certs",
     .kind = TD_CLI_OPT_STR,
     SF(certs_dir),
     .arg = "DIR",
     .help = "certificate folder (default $TD_VECTORS_DIR/certs)"},
    {.name = "--groups",
     .kind = TD_CLI_OPT_STR,
     SF(groups),
     .arg = "LIST",
     .help = "x25519,P-256,P-384,P-521,x448,ffdhe2048,ffdhe3072,ffdhe4096 in preference\n"
             "order (default: all of them; a client without a share for one gets a\n"
             "HelloRetryRequest)"},
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
    {.name = "--post-handshake-auth",
     .kind = TD_CLI_OPT_CHOICE,
     SF(pha),
     .choices = "none|request|require",
     .help = "once the handshake is done, ask a client that offered post_handshake_auth\n"
             "for a certificate (RFC 8446 4.6.2; none); require: an empty Certificate\n"
             "is answered with certificate_required. The line shows pha=N (answers taken)"},
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
    TD_CLI_OPT_SECONDS("--timeout", serve_opts, timeout_ms, "bound of each wait for the peer (5s)"),
    TD_CLI_OPT_SECONDS("--handshake-timeout", serve_opts, handshake_timeout_ms,
                       "bound of a handshake (10s): a client trickling bytes is cut off"),
    TD_CLI_OPT_SECONDS("--conn-timeout", serve_opts, conn_timeout_ms,
                       "bound of a whole connection (30s)"),
    {.name = "--max-active",
     .kind = TD_CLI_OPT_UINT,
     SF(max_active),
     .min = 1,
     .max = 60000,
     .help = "connections open at once (1024); more wait in the listen backlog"},
    {.name = "--http",
     .kind = TD_CLI_OPT_FLAG,
     SF(http),
     .help = "answer each HTTP/1.x request with one response (like s_server -www)\n"
             "instead of echoing"},
    TD_CLI_OPTS_SEED_CAPTURE(serve_opts),
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
    .about = "The engine as a TLS 1.3 server: many connections at once (one event loop; a slow\n"
             "client delays no other), echoing what each receives (all that arrived, in one\n"
             "write). One line per connection when it ends: verdict=ok|alert|garbage|timeout|\n"
             "closed, then the negotiated parameters; --pcap/--keylog are written as\n"
             "connections go. DURATION: 300ms, 5s, 2m (a bare number is seconds).",
    .opts = serve_opts_table,
    .num_opts = sizeof(serve_opts_table) / sizeof(serve_opts_table[0]),
};

static int parse_serve(int argc, char **argv, serve_opts *o)
{
    const char *vec = getenv("TD_VECTORS_DIR");
    static char certs_dir[1024];
    snprintf(certs_dir, sizeof(certs_dir), "%s/certs", vec != NULL ? vec : TD_VECTORS_DIR);
    *o = (serve_opts){.host = "127.0.0.1",
                      .certs_dir = certs_dir,
                      .client_auth = "none",
                      .pha = "none",
                      .tickets = 1,
                      .timeout_ms = 5000,
                      .conn_timeout_ms = 30000,
                      .handshake_timeout_ms = 10000,
                      .max_active = 1024};
    const char *args[1];
    size_t num_args;
    int rc = td_cli_opt_parse(&serve_cmd, argc, argv, o, args, &num_args);
    if (rc != TD_CLI_CONTINUE)
        return rc;
    if (!td_cli_output_ok("serve", o->pcap_path) || !td_cli_output_ok("serve", o->keylog_path))
        return 2;
    return TD_CLI_CONTINUE;
}

/* Everything a serve run holds; freed by serve_free. */
typedef struct serve_state {
    td_cli_endpoint ep;
    td_config cfg;
    /* --cert (the endpoint holds the first one's chain and key) and --psk. */
    td_cert_key cks[SERVE_MAX_CERTS];
    td_der *chains[SERVE_MAX_CERTS];
    size_t num_chains[SERVE_MAX_CERTS];
    td_pkey *keys[SERVE_MAX_CERTS];
    char cert_hosts[SERVE_MAX_CERTS][256];
    td_psk_entry psks[TD_CLI_MAX_STRS];
    uint8_t psk_keys[TD_CLI_MAX_STRS][TD_MAX_HASH_LEN];
    td_scn_file *scn;      /* --scenario: the parsed file, */
    td_scn_runner *runner; /* its certificates, */
    void *scn_env;         /* and the configuration built from it */
    int sigfd, lfd;
} serve_state;

static void serve_free(serve_state *st)
{
    for (size_t i = 0; i < SERVE_MAX_CERTS; i++) {
        td_der_list_free(st->chains[i], st->num_chains[i]);
        td_pkey_free(st->keys[i]);
    }
    td_cleanse(st->psk_keys, sizeof(st->psk_keys));
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

/* One --cert [HOST=]NAME|CHAIN,KEY: its files (under --certs for a NAME)
 * and the server_name it is bound to ("" = any). False if NAME is unknown. */
typedef struct cert_spec {
    char chain[1200], key[1200], host[256];
} cert_spec;

static bool cert_resolve(const serve_opts *o, const char *spec, cert_spec *out)
{
    memset(out, 0, sizeof(*out));
    const char *eq = strchr(spec, '=');
    if (eq != NULL && eq > spec && memchr(spec, '/', (size_t)(eq - spec)) == NULL &&
        memchr(spec, ',', (size_t)(eq - spec)) == NULL) {
        if ((size_t)(eq - spec) >= sizeof(out->host))
            return false;
        memcpy(out->host, spec, (size_t)(eq - spec));
        spec = eq + 1;
    }
    const char *comma = strchr(spec, ',');
    if (comma != NULL) {
        snprintf(out->chain, sizeof(out->chain), "%.*s", (int)(comma - spec), spec);
        snprintf(out->key, sizeof(out->key), "%s", comma + 1);
        return out->chain[0] != 0 && out->key[0] != 0;
    }
    const char *name = strcmp(spec, "rsa2048") == 0 ? "rsa" : spec;
    for (size_t ci = 0; ci < sizeof(cert_files) / sizeof(cert_files[0]); ci++)
        if (strcmp(cert_files[ci].name, name) == 0) {
            snprintf(out->chain, sizeof(out->chain), "%s/%s", o->certs_dir, cert_files[ci].chain);
            snprintf(out->key, sizeof(out->key), "%s/%s", o->certs_dir, cert_files[ci].key);
            return true;
        }
    return false;
}

/* Another --cert: its chain and key, as st->cks[i]. */
static bool load_cert(serve_state *st, size_t i, const cert_spec *cs)
{
    size_t len = 0;
    char *pem = td_cli_read_file(cs->chain, &len);
    bool ok = pem != NULL && td_certs_from_pem(pem, len, &st->chains[i], &st->num_chains[i]) ==
                                 TD_OK && st->num_chains[i] > 0;
    free(pem);
    pem = ok ? td_cli_read_file(cs->key, &len) : NULL;
    ok = pem != NULL && td_pkey_from_pem(st->ep.crypto, pem, len, &st->keys[i]) == TD_OK;
    if (pem != NULL)
        td_cleanse(pem, len);
    free(pem);
    if (!ok) {
        fprintf(stderr, "tlsdrill serve: cannot load the certificate %s with key %s\n", cs->chain,
                cs->key);
        return false;
    }
    st->cks[i] = (td_cert_key){.chain = st->chains[i], .num_chain = st->num_chains[i],
                               .key = st->keys[i]};
    return true;
}

/* --psk ID:HEX[:SUITE] (RFC 8446 §4.2.11: an external PSK, "ext binder"). */
static bool parse_psk(const char *spec, size_t i, serve_state *st)
{
    const char *c1 = strchr(spec, ':');
    const char *c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
    size_t hex_len = c1 == NULL ? 0 : c2 != NULL ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1);
    if (c1 == NULL || c1 == spec || hex_len % 2 != 0 || hex_len / 2 > TD_MAX_HASH_LEN) {
        fprintf(stderr, "tlsdrill serve: --psk ID:HEX[:SUITE], got '%s'\n", spec);
        return false;
    }
    size_t n = hex_len / 2;
    for (size_t k = 0; k < n; k++) {
        unsigned v;
        char two[3] = {c1[1 + 2 * k], c1[2 + 2 * k], 0};
        if (!isxdigit((unsigned char)two[0]) || !isxdigit((unsigned char)two[1]) ||
            sscanf(two, "%2x", &v) != 1) {
            fprintf(stderr, "tlsdrill serve: --psk %s: the key is not hex\n", spec);
            return false;
        }
        st->psk_keys[i][k] = (uint8_t)v;
    }
    uint16_t suite = n == 32 ? 0x1301 : n == 48 ? 0x1302 : 0;
    if (c2 != NULL) {
        suite = 0;
        for (uint16_t id = 0x1301; id <= 0x1305 && suite == 0; id++)
            if (td_suite_get(id) != NULL && strcmp(td_suite_get(id)->name, c2 + 1) == 0)
                suite = id;
    }
    /* §4.2.11: the PSK is for one hash: its length is that hash's. */
    if (suite == 0 || td_hash_len(td_suite_get(suite)->hash) != n) {
        fprintf(stderr,
                "tlsdrill serve: --psk %s: a 32-byte key (SHA-256 suites) or 48 (SHA-384), "
                "and a TLS 1.3 suite name of that hash\n",
                spec);
        return false;
    }
    st->psks[i] = (td_psk_entry){.identity = (const uint8_t *)spec,
                                 .identity_len = (size_t)(c1 - spec),
                                 .psk = st->psk_keys[i],
                                 .psk_len = n,
                                 .suite = suite};
    return true;
}

static int serve_setup(const serve_opts *o, serve_state *st)
{
    size_t num_certs = o->certs.num > 0 ? o->certs.num : 1;
    cert_spec *specs = calloc(num_certs, sizeof(*specs));
    if (specs == NULL)
        return 1;
    for (size_t i = 0; i < num_certs; i++)
        if (!cert_resolve(o, o->certs.num > 0 ? o->certs.v[i] : "p256", &specs[i])) {
            fprintf(stderr,
                    "tlsdrill serve: --cert [HOST=]p256|rsa|p384|ed25519|p256-sha384 or "
                    "[HOST=]CHAIN.pem,KEY.pem, got '%s'\n",
                    o->certs.v[i]);
            free(specs);
            return 2;
        }
    char ca[1200];
    snprintf(ca, sizeof(ca), "%s/ca.pem", o->certs_dir);
    td_config *c = &st->cfg;
    *c = (td_config){.role = TD_ROLE_SERVER,
                     .hrr = o->hrr ? TD_HRR_ALWAYS : TD_HRR_AUTO,
                     .hrr_cookie = o->cookie,
                     .num_tickets = (unsigned)o->tickets,
                     .max_early_data = (uint32_t)o->early_data,
                     .accept_early_data = o->early_data > 0,
                     .log_messages = true};
    c->client_auth = strcmp(o->client_auth, "require") == 0   ? TD_CLIENT_AUTH_REQUIRE
                     : strcmp(o->client_auth, "request") == 0 ? TD_CLIENT_AUTH_REQUEST
                                                              : TD_CLIENT_AUTH_NONE;
    c->post_handshake_auth = strcmp(o->pha, "require") == 0   ? TD_CLIENT_AUTH_REQUIRE
                             : strcmp(o->pha, "request") == 0 ? TD_CLIENT_AUTH_REQUEST
                                                              : TD_CLIENT_AUTH_NONE;
    td_cli_endpoint_opts eo = {.cmd = "serve",
                               .chain = specs[0].chain,
                               .key = specs[0].key,
                               .ca = ca,
                               .alpn = o->alpn,
                               .groups = o->groups,
                               .seed = o->seed,
                               .pcap = o->pcap_path != NULL,
                               .pcapng = td_cli_is_pcapng(o->pcap_path),
                               .keylog = o->keylog_path != NULL};
    int rc = td_cli_endpoint_setup(&eo, &st->ep, c);
    if (rc < 0) {
        st->cks[0] = st->ep.ck;
        for (size_t i = 1; i < num_certs; i++)
            if (!load_cert(st, i, &specs[i])) {
                free(specs);
                return 1;
            }
        /* RFC 6066 §3: HOST= binds the certificate to that server_name. */
        for (size_t i = 0; i < num_certs; i++)
            if (specs[i].host[0] != 0) {
                memcpy(st->cert_hosts[i], specs[i].host, sizeof(st->cert_hosts[i]));
                st->cks[i].sni = st->cert_hosts[i];
            }
        c->certs = st->cks;
        c->num_certs = num_certs;
    }
    free(specs);
    for (size_t i = 0; rc < 0 && i < o->psks.num; i++)
        if (!parse_psk(o->psks.v[i], i, st))
            return 2;
    if (rc < 0 && o->psks.num > 0) {
        c->psks = st->psks;
        c->num_psks = o->psks.num;
    }
    /* Without --groups: every group we implement, ours first, so that a
     * client offering only one of them (P-521, an RFC 7919 group) gets a
     * handshake -- after a HelloRetryRequest if it sent no share for it. */
    static const uint16_t k_serve_groups[] = {
        TD_GROUP_X25519,    TD_GROUP_SECP256R1, TD_GROUP_SECP384R1, TD_GROUP_SECP521R1,
        TD_GROUP_X448,      TD_GROUP_FFDHE2048, TD_GROUP_FFDHE3072, TD_GROUP_FFDHE4096};
    if (rc < 0 && o->groups == NULL) {
        c->groups = k_serve_groups;
        c->num_groups = sizeof(k_serve_groups) / sizeof(k_serve_groups[0]);
    }
    if (rc < 0 && o->scenario != NULL)
        rc = serve_from_scenario(o, st);
    return rc;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* ---- the event loop ----
 * One poll(2) loop over the listening socket, the signal fd and every open
 * connection; the engine does no I/O, so each td_conn is fed what its socket
 * delivers and drained into a per-connection output buffer. A connection
 * never waits for another: a slow or silent client costs only its own
 * deadlines (handshake, idle, whole connection). */

typedef struct sconn {
    td_tls_io io;       /* conn, fd, pcap flow, what happened (verdict) */
    td_config cfg;      /* a copy: the connection borrows it, with its own stream label */
    char stream[32], peer[64];
    unsigned index;
    int64_t hs_deadline, idle_deadline, end_deadline;
    uint8_t *out;       /* drained from the connection, not yet sent */
    size_t out_len, out_off, out_cap;
    uint8_t *app;       /* application data received, not yet answered */
    size_t app_len, app_cap;
    const char *end;    /* set once we decided to close: why */
    int64_t linger;     /* after |end|: until when pending output may still go */
} sconn;

static bool buf_add(uint8_t **b, size_t *len, size_t *cap, const uint8_t *p, size_t n)
{
    if (n == 0)
        return true;
    if (*len + n > *cap) {
        size_t c = *cap ? *cap : 4096;
        while (c < *len + n)
            c *= 2;
        uint8_t *nb = realloc(*b, c);
        if (nb == NULL)
            return false;
        *b = nb;
        *cap = c;
    }
    memcpy(*b + *len, p, n);
    *len += n;
    return true;
}

/* Moves what the connection has to say into |sc->out|. */
static void sconn_take(sconn *sc)
{
    const uint8_t *p;
    size_t n;
    td_tls_io_output(&sc->io, &p, &n);
    if (sc->out_off == sc->out_len)
        sc->out_off = sc->out_len = 0;
    if (!buf_add(&sc->out, &sc->out_len, &sc->out_cap, p, n))
        sc->io.failed_local = true;
}

/* Sends what it can without blocking. */
static void sconn_send(sconn *sc)
{
    while (sc->out_off < sc->out_len) {
        ssize_t n = send(sc->io.fd, sc->out + sc->out_off, sc->out_len - sc->out_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            sc->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        sc->io.peer_closed = true; /* reset or broken pipe */
        sc->out_off = sc->out_len;
        return;
    }
}

/* HTTP/1.x (--http): one response per request, as `openssl s_server -www`
 * does for GET; the request's body (Content-Length) is read and ignored.
 * Returns false while no whole request is buffered. */
static bool http_answer(sconn *sc)
{
    size_t end = 0;
    for (size_t i = 0; i + 3 < sc->app_len; i++)
        if (memcmp(sc->app + i, "\r\n\r\n", 4) == 0) {
            end = i + 4;
            break;
        }
    if (end == 0)
        return false;
    size_t body = 0;
    bool keep = false;
    const char *p = (const char *)sc->app;
    /* The request line's version: HTTP/1.1 keeps the connection open. */
    const char *eol = memchr(p, '\r', end);
    if (eol != NULL && eol - p >= 8 && memcmp(eol - 8, "HTTP/1.1", 8) == 0)
        keep = true;
    for (const char *l = eol; l != NULL && l + 2 < p + end;) {
        l += 2;
        const char *le = memchr(l, '\r', (size_t)(p + end - l));
        if (le == NULL)
            break;
        size_t ll = (size_t)(le - l);
        if (ll > 15 && strncasecmp(l, "content-length:", 15) == 0)
            body = strtoul(l + 15, NULL, 10);
        if (ll >= 17 && strncasecmp(l, "connection: close", 17) == 0)
            keep = false;
        if (ll >= 22 && strncasecmp(l, "connection: keep-alive", 22) == 0)
            keep = true;
        l = le;
    }
    if (sc->app_len < end + body)
        return false;
    const td_status *s = td_conn_status(sc->io.conn);
    const td_suite *suite = td_suite_get(s->suite);
    char text[512];
    int tn = snprintf(text, sizeof(text),
                      "tlsdrill serve: connection %u\nprotocol: TLSv1.3\ncipher suite: %s\n"
                      "group: %s\nsignature scheme: %s\nresumed: %s\nrequest: %.*s\n",
                      sc->index, suite ? suite->name : "-",
                      s->group ? td_group_name(s->group) : "-",
                      s->sigalg ? td_sig_name(s->sigalg) : "-", s->resumed ? "yes" : "no",
                      eol != NULL ? (int)(eol - p) : 0, p);
    if (tn < 0 || (size_t)tn >= sizeof(text))
        tn = (int)strlen(text);
    char head[256];
    int hn = snprintf(head, sizeof(head),
                      "HTTP/1.%c 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                      "Connection: %s\r\n\r\n",
                      keep ? '1' : '0', tn, keep ? "keep-alive" : "close");
    if (td_conn_write(sc->io.conn, (const uint8_t *)head, (size_t)hn) != TD_OK ||
        td_conn_write(sc->io.conn, (const uint8_t *)text, (size_t)tn) != TD_OK)
        return false;
    memmove(sc->app, sc->app + end + body, sc->app_len - end - body);
    sc->app_len -= end + body;
    if (!keep && td_conn_close(sc->io.conn) == TD_OK)
        sc->end = "done";
    return !keep ? false : true;
}

/* Application data: echoed back as one write of all that arrived (the
 * connection fragments it into records), or answered as HTTP. */
static void sconn_app(const serve_opts *o, sconn *sc)
{
    uint8_t buf[16384];
    size_t n;
    while (td_conn_status(sc->io.conn)->phase == TD_PHASE_CONNECTED &&
           (n = td_conn_read(sc->io.conn, buf, sizeof(buf))) > 0)
        if (!buf_add(&sc->app, &sc->app_len, &sc->app_cap, buf, n)) {
            sc->io.failed_local = true;
            return;
        }
    if (td_conn_status(sc->io.conn)->phase != TD_PHASE_CONNECTED || sc->app_len == 0)
        return;
    if (o->http) {
        while (sc->end == NULL && http_answer(sc))
            ;
        return;
    }
    if (td_conn_write(sc->io.conn, sc->app, sc->app_len) != TD_OK)
        sc->io.failed_local = true;
    sc->app_len = 0;
}

static sconn *sconn_new(const serve_opts *o, serve_state *st, unsigned index, int fd,
                        const char *peer, int64_t now, int64_t life)
{
    sconn *sc = calloc(1, sizeof(*sc));
    if (sc == NULL)
        return NULL;
    sc->index = index;
    snprintf(sc->peer, sizeof(sc->peer), "%s", peer);
    snprintf(sc->stream, sizeof(sc->stream), "conn/%u", index);
    sc->cfg = st->cfg;
    sc->cfg.stream = sc->stream;
    sc->io = (td_tls_io){.fd = fd, .sigfd = -1, .pcap = st->ep.pcap, .clock_base = now};
    sc->io.deadline = min64(now + (int64_t)o->conn_timeout_ms, life);
    sc->end_deadline = sc->io.deadline;
    sc->hs_deadline = min64(now + (int64_t)o->handshake_timeout_ms, sc->end_deadline);
    sc->idle_deadline = now + (int64_t)o->timeout_ms;
    td_pcap_flow_init(&sc->io.flow, index);
    if (td_conn_new(&sc->cfg, &sc->io.conn) != TD_OK || td_conn_start(sc->io.conn) != TD_OK) {
        td_conn_free(sc->io.conn);
        free(sc);
        return NULL;
    }
    return sc;
}

/* The per-connection lines go through a buffer written to stdout without
 * blocking (O_NONBLOCK when stdout is a pipe or a socket, restored at the
 * end): a reader that falls behind never stalls the event loop. What does
 * not fit in SERVE_OUT_MAX is dropped and counted (said on stderr at exit). */
#define SERVE_OUT_MAX (64u << 20)

typedef struct serve_out {
    char *buf;
    size_t len, off, cap;
    int fd, saved_flags; /* saved_flags >= 0: we set O_NONBLOCK */
    unsigned long long dropped;
} serve_out;

static void out_init(serve_out *so)
{
    *so = (serve_out){.fd = STDOUT_FILENO, .saved_flags = -1};
    struct stat sb;
    int fl = fcntl(so->fd, F_GETFL);
    if (fstat(so->fd, &sb) == 0 && (S_ISFIFO(sb.st_mode) || S_ISSOCK(sb.st_mode)) && fl >= 0 &&
        !(fl & O_NONBLOCK) && fcntl(so->fd, F_SETFL, fl | O_NONBLOCK) == 0)
        so->saved_flags = fl;
}

/* Writes what it can now; never waits (unless stdout blocks by nature: a
 * file or a terminal). */
static void out_flush(serve_out *so)
{
    while (so->off < so->len) {
        ssize_t n = write(so->fd, so->buf + so->off, so->len - so->off);
        if (n > 0) {
            so->off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        so->off = so->len; /* stdout is gone (EPIPE): nothing more to say */
    }
    so->off = so->len = 0;
}

static void out_add(serve_out *so, const char *text, size_t n)
{
    if (so->off > 0 && so->off == so->len)
        so->off = so->len = 0;
    if (so->off > 0 && so->len + n > so->cap) {
        memmove(so->buf, so->buf + so->off, so->len - so->off);
        so->len -= so->off;
        so->off = 0;
    }
    if (so->len + n > SERVE_OUT_MAX) {
        so->dropped++;
        return;
    }
    if (!buf_add((uint8_t **)&so->buf, &so->len, &so->cap, (const uint8_t *)text, n))
        so->dropped++;
}

/* At exit: back to blocking, everything written. */
static void out_finish(serve_out *so)
{
    if (so->saved_flags >= 0)
        (void)fcntl(so->fd, F_SETFL, so->saved_flags);
    out_flush(so);
    if (so->dropped > 0)
        fprintf(stderr, "tlsdrill serve: %llu lines not written (stdout too slow)\n", so->dropped);
    free(so->buf);
}

/* Ends a connection: its line, its capture flow, its memory. */
static void sconn_finish(const serve_opts *o, serve_state *st, sconn *sc, serve_out *so)
{
    if (sc->io.pcap != NULL && st->ep.pcap != NULL &&
        td_pcap_close(sc->io.pcap, &sc->io.flow) != TD_OK)
        st->ep.pcap = NULL; /* keep what was captured; stop capturing */
    close(sc->io.fd);
    char *text = NULL;
    size_t text_len = 0;
    FILE *m = open_memstream(&text, &text_len);
    if (m != NULL) {
        fprintf(m, "conn=%u peer=%s verdict=%s end=%s ", sc->index, sc->peer,
                td_tls_io_verdict(&sc->io), sc->end != NULL ? sc->end : "done");
        td_cli_print_status(m, sc->io.conn);
        if (!o->quiet)
            td_cli_print_transcript(m, sc->io.conn);
        if (fclose(m) == 0)
            out_add(so, text, text_len);
        else
            so->dropped++;
    } else {
        so->dropped++;
    }
    free(text);
    td_conn_free(sc->io.conn);
    free(sc->out);
    free(sc->app);
    free(sc);
}

/* We end the connection (|why|): our close_notify if the handshake is done
 * or the peer's came first (RFC 8446 §6.1), then a short linger for what
 * is still queued. */
static void sconn_end(sconn *sc, const char *why, int64_t now)
{
    if (sc->end != NULL)
        return;
    sc->end = why;
    td_phase ph = td_conn_status(sc->io.conn)->phase;
    if (!sc->io.peer_closed && (ph == TD_PHASE_CONNECTED || ph == TD_PHASE_CLOSED) &&
        td_conn_close(sc->io.conn) == TD_OK)
        sconn_take(sc);
    sc->linger = now + 1000;
}

/* Reads what the socket has (bounded per round, for fairness) and lets the
 * connection answer. */
static void sconn_read(const serve_opts *o, sconn *sc, int64_t now)
{
    uint8_t buf[16384];
    for (int round = 0; round < 4 && sc->end == NULL; round++) {
        ssize_t n = recv(sc->io.fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            sc->io.peer_closed = true;
            sconn_end(sc, "peer-closed", now);
            break;
        }
        sc->idle_deadline = now + (int64_t)o->timeout_ms;
        if (!td_tls_io_input(&sc->io, buf, (size_t)n)) {
            sconn_end(sc, "done", now);
            break;
        }
        sconn_app(o, sc);
        sconn_take(sc);
        td_phase ph = td_conn_status(sc->io.conn)->phase;
        /* §6.1: the peer's close_notify is answered with ours (sconn_end). */
        if (ph == TD_PHASE_FAILED || ph == TD_PHASE_CLOSED)
            sconn_end(sc, "done", now);
    }
}

/* Deadlines; returns the next one of this connection. */
static int64_t sconn_deadlines(sconn *sc, int64_t now)
{
    if (sc->end == NULL) {
        /* Every wait for the peer is bounded by --timeout (a silent peer),
         * a handshake by --handshake-timeout (a slow one), the whole
         * connection by --conn-timeout. */
        bool hs = sc->io.handshake_done;
        if ((!hs && now >= sc->hs_deadline) || now >= sc->end_deadline ||
            now >= sc->idle_deadline) {
            if (!hs)
                sc->io.timed_out = true;
            sconn_end(sc, hs && now >= sc->idle_deadline ? "idle" : "timeout", now);
        }
    }
    if (sc->end != NULL)
        return sc->linger;
    int64_t next = min64(sc->end_deadline, sc->idle_deadline);
    return sc->io.handshake_done ? next : min64(next, sc->hs_deadline);
}

/* --pcap/--keylog: what was captured so far goes to the files and leaves
 * memory (RSS stays flat however many connections are served). */
typedef struct serve_files {
    FILE *pcap, *keylog;
} serve_files;

static void serve_stream(serve_state *st, serve_files *f)
{
    size_t len;
    /* pcapng: the keys logged so far go into the file before the packets
     * not yet written (a key is logged before any packet it decrypts). */
    if (f->pcap != NULL && st->ep.pcap != NULL && st->ep.pcapng && st->ep.keylog != NULL) {
        const char *t = td_keylog_text(st->ep.keylog, &len);
        if (t != NULL && len > 0 && td_pcap_secrets(st->ep.pcap, t, len) == TD_OK &&
            f->keylog == NULL)
            td_keylog_discard(st->ep.keylog, len);
    }
    if (f->pcap != NULL && st->ep.pcap != NULL) {
        const uint8_t *b = td_pcap_bytes(st->ep.pcap, &len);
        if (len > 0 && fwrite(b, 1, len, f->pcap) == len && fflush(f->pcap) == 0)
            td_pcap_discard(st->ep.pcap, len);
    }
    if (f->keylog != NULL && st->ep.keylog != NULL) {
        const char *t = td_keylog_text(st->ep.keylog, &len);
        if (t != NULL && len > 0 && fwrite(t, 1, len, f->keylog) == len && fflush(f->keylog) == 0)
            td_keylog_discard(st->ep.keylog, len);
    }
}

static FILE *open_out(const char *path)
{
    if (path == NULL)
        return NULL;
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        fprintf(stderr, "tlsdrill serve: cannot write %s\n", path);
    return f;
}

/* Signals, the listening socket (its line on stdout) and the capture files; false (said on
 * stderr) when one of them cannot be had, nothing left open. */
static bool serve_listen(const serve_opts *o, serve_state *st, serve_files *files)
{
    char err[256];
    uint16_t port = 0;
    st->sigfd = td_net_signals();
    st->lfd = td_net_listen(o->host, (uint16_t)o->port, &port, err, sizeof(err));
    *files = (serve_files){open_out(o->pcap_path), open_out(o->keylog_path)};
    if (st->sigfd < 0 || st->lfd < 0 || (o->pcap_path != NULL && files->pcap == NULL) ||
        (o->keylog_path != NULL && files->keylog == NULL)) {
        if (st->sigfd < 0 || st->lfd < 0)
            fprintf(stderr, "tlsdrill serve: %s\n", st->lfd < 0 ? err : "cannot set up signals");
        if (files->pcap != NULL)
            fclose(files->pcap);
        if (files->keylog != NULL)
            fclose(files->keylog);
        return false;
    }
    bool v6 = strchr(o->host, ':') != NULL && o->host[0] != '[';
    printf("listening on %s%s%s:%u\n", v6 ? "[" : "", o->host, v6 ? "]" : "", port);
    fflush(stdout);
    return true;
}

/* Accepts the connections waiting on the listening socket, at most 64, while |num| <
 * --max-active and --max-conns allows; returns the new number of |conns|. */
static size_t serve_accept(const serve_opts *o, serve_state *st, sconn **conns, size_t num,
                           unsigned *accepted, int64_t now, int64_t life)
{
    for (int k = 0;
         k < 64 && num < o->max_active && (o->max_conns == 0 || *accepted < o->max_conns); k++) {
        struct sockaddr_storage sa;
        socklen_t sl = sizeof(sa);
        int fd = accept4(st->lfd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            break;
        char peer[64];
        td_net_peer_name(&sa, peer, sizeof(peer));
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        sconn *sc = sconn_new(o, st, ++*accepted, fd, peer, now, life);
        if (sc == NULL) {
            fprintf(stderr, "tlsdrill serve: cannot create a connection\n");
            close(fd);
            continue;
        }
        sconn_take(sc);
        conns[num++] = sc;
    }
    return num;
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
    serve_files files;
    if (!serve_listen(&o, &st, &files)) {
        serve_free(&st);
        return 1;
    }
    serve_out out;
    out_init(&out);
    int64_t life = o.lifetime_ms > 0 ? td_net_now_ms() + (int64_t)o.lifetime_ms : INT64_MAX;
    unsigned accepted = 0;
    const char *why = "max-conns";
    sconn **conns = calloc(o.max_active, sizeof(*conns));
    struct pollfd *pfd = calloc(o.max_active + 3, sizeof(*pfd));
    size_t num = 0;
    bool accepting = conns != NULL && pfd != NULL, signalled = false;
    if (!accepting)
        why = "out of memory";
    while (accepting || num > 0) {
        int64_t now = td_net_now_ms();
        if (accepting && now >= life) {
            accepting = false;
            why = "lifetime";
        }
        if (accepting && o.max_conns > 0 && accepted >= o.max_conns)
            accepting = false;
        int64_t next = accepting ? life : INT64_MAX;
        for (size_t i = 0; i < num; i++) {
            if (!accepting && now >= life)
                sconn_end(conns[i], "timeout", now);
            next = min64(next, sconn_deadlines(conns[i], now));
        }
        /* Finished connections leave (their output sent, or the linger over). */
        for (size_t i = 0; i < num;) {
            sconn *sc = conns[i];
            if (sc->end != NULL && (sc->out_off == sc->out_len || now >= sc->linger)) {
                sconn_finish(&o, &st, sc, &out);
                conns[i] = conns[--num];
                continue;
            }
            i++;
        }
        out_flush(&out);
        serve_stream(&st, &files);
        if (!accepting && num == 0)
            break;
        size_t np = 0;
        pfd[np++] = (struct pollfd){.fd = st.sigfd, .events = POLLIN};
        bool listening = accepting && num < o.max_active;
        pfd[np++] = (struct pollfd){.fd = listening ? st.lfd : -1, .events = POLLIN};
        for (size_t i = 0; i < num; i++) {
            sconn *sc = conns[i];
            short ev = sc->end == NULL ? POLLIN : 0;
            if (sc->out_off < sc->out_len)
                ev |= POLLOUT;
            pfd[np++] = (struct pollfd){.fd = sc->io.fd, .events = ev};
        }
        /* stdout, when lines wait for a slow reader (last: the connections'
         * pollfds stay at 2..). */
        bool out_polled = out.off < out.len;
        if (out_polled)
            pfd[np++] = (struct pollfd){.fd = out.fd, .events = POLLOUT};
        now = td_net_now_ms();
        int64_t wait = next == INT64_MAX ? 1000 : next - now;
        int n = poll(pfd, np, wait < 0 ? 0 : wait > 1000 ? 1000 : (int)wait);
        if (n < 0 && errno != EINTR) {
            why = "error";
            break;
        }
        now = td_net_now_ms();
        if (n > 0 && (pfd[0].revents & POLLIN)) {
            signalled = true;
            why = "signal";
            accepting = false;
            for (size_t i = 0; i < num; i++) {
                conns[i]->io.signalled = true;
                conns[i]->end = "signal";
                conns[i]->linger = now;
            }
            continue;
        }
        /* Connections first (the pollfds match conns[0..num) as built). */
        size_t polled = np - 2 - (out_polled ? 1 : 0);
        for (size_t i = 0; n > 0 && i < polled && i < num; i++) {
            sconn *sc = conns[i];
            short re = pfd[2 + i].revents;
            if (re & (POLLIN | POLLHUP | POLLERR))
                sconn_read(&o, sc, now);
            if (sc->out_off < sc->out_len)
                sconn_send(sc);
            if (sc->io.peer_closed && sc->end == NULL)
                sconn_end(sc, "peer-closed", now);
        }
        /* Then new connections, as many as are waiting (up to the limit). */
        if (listening && n > 0 && (pfd[1].revents & POLLIN))
            num = serve_accept(&o, &st, conns, num, &accepted, now, life);
    }
    for (size_t i = 0; i < num; i++)
        sconn_finish(&o, &st, conns[i], &out);
    serve_stream(&st, &files);
    if (files.pcap != NULL)
        fclose(files.pcap);
    if (files.keylog != NULL)
        fclose(files.keylog);
    free(conns);
    free(pfd);
    (void)signalled;
    char last[128];
    int ln = snprintf(last, sizeof(last), "served %u connection%s (%s)\n", accepted,
                      accepted == 1 ? "" : "s", why);
    out_add(&out, last, (size_t)ln);
    out_finish(&out);
    serve_free(&st);
    return 0;
}
