/* tools/cli/cmd_connect.c -- `tlsdrill connect HOST:PORT`: the engine as a
 * TLS 1.3 client against any server. Prints, per connection, the verdict
 * and negotiated parameters (tls_io.h), every handshake message sent and
 * received by name, the alerts with the rule, and the application data
 * received. --resume makes a second connection with the first one's
 * ticket. Exit 0 if every handshake completed, 1 if one failed (alert,
 * closed, timeout, garbage, or an error alert right after the handshake),
 * 2 on a usage error. */
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
#include "tlsdrill/transcript.h"

/* The command line as parsed (opt.h), then HOST:PORT split and the name to verify chosen. */
typedef struct connect_opts {
    char host[256];
    uint16_t port;
    const char *sni, *alpn, *groups, *ca, *early_data, *send, *seed, *pcap_path, *keylog_path,
        *cert, *key;
    const char *verify_name; /* --verify-name; after parse_connect, NULL: no name check */
    bool no_verify, no_verify_name, resume, pha;
    uint64_t timeout_ms;
} connect_opts;

#define CF(field) .offset = offsetof(connect_opts, field)
static const td_cli_opt connect_opts_table[] = {
    {.name = "--sni",
     .kind = TD_CLI_OPT_STR,
     CF(sni),
     .arg = "NAME",
     .help = "server_name to send (default: HOST when it is a name)"},
    {.name = "--alpn",
     .kind = TD_CLI_OPT_STR,
     CF(alpn),
     .arg = "LIST",
     .help = "ALPN protocols, comma-separated"},
    {.name = "--groups",
     .kind = TD_CLI_OPT_STR,
     CF(groups),
     .arg = "LIST",
     .help = "x25519,P-256,P-384,P-521,x448 (key share for the first)"},
    {.name = "--ca",
     .kind = TD_CLI_OPT_STR,
     CF(ca),
     .arg = "FILE",
     .help = "trust anchor (default $TD_VECTORS_DIR/certs/ca.pem)"},
    {.name = "--no-verify",
     .kind = TD_CLI_OPT_FLAG,
     CF(no_verify),
     .help = "accept any certificate (no chain, no host name check)"},
    {.name = "--verify-name",
     .kind = TD_CLI_OPT_STR,
     CF(verify_name),
     .arg = "NAME",
     .help = "the name the certificate must carry (default: --sni, else HOST; RFC 6125:\n"
             "subjectAltName DNS entries, one left-most wildcard, IP literals as iPAddress)"},
    {.name = "--no-verify-name",
     .kind = TD_CLI_OPT_FLAG,
     CF(no_verify_name),
     .help = "check the chain but not the name"},
    {.name = "--cert",
     .kind = TD_CLI_OPT_STR,
     CF(cert),
     .arg = "CHAIN.pem",
     .help = "our certificate for client authentication (with --key), e.g.\n"
             "$TD_VECTORS_DIR/certs/client-p256.chain.pem and client-p256.key"},
    {.name = "--key",
     .kind = TD_CLI_OPT_STR,
     CF(key),
     .arg = "KEY.pem",
     .help = "the key of --cert"},
    {.name = "--post-handshake-auth",
     .kind = TD_CLI_OPT_FLAG,
     CF(pha),
     .help = "offer post_handshake_auth (RFC 8446 4.6.2) and answer a CertificateRequest\n"
             "after the handshake with --cert (an empty Certificate without it); waits up\n"
             "to 2 s for one. The line shows pha=N (requests answered)"},
    {.name = "--resume",
     .kind = TD_CLI_OPT_FLAG,
     CF(resume),
     .help = "a second connection resuming the first one's ticket (with --early-data as 0-RTT)"},
    {.name = "--early-data",
     .kind = TD_CLI_OPT_STR,
     CF(early_data),
     .arg = "TEXT",
     .help = "0-RTT data of --resume"},
    {.name = "--send",
     .kind = TD_CLI_OPT_STR,
     CF(send),
     .arg = "TEXT",
     .help = "application data to send"},
    TD_CLI_OPTS_SEED_CAPTURE(connect_opts),
    TD_CLI_OPT_SECONDS(
        "--timeout", connect_opts, timeout_ms,
        "bound of each connection, connect included (10s; a bare number is seconds)"),
};
#undef CF

static const td_cli_cmd connect_cmd = {
    .name = "connect",
    .args = "HOST:PORT",
    .min_args = 1,
    .max_args = 1,
    .about =
        "The engine as a TLS 1.3 client. Prints the verdict (ok|alert|garbage|timeout|closed),\n"
        "the negotiated parameters and every handshake message. HOST: a name, an IPv4\n"
        "address or [IPv6]. Exit 0 if every handshake completed, 1 if one failed, 2 on a\n"
        "usage error.",
    .opts = connect_opts_table,
    .num_opts = sizeof(connect_opts_table) / sizeof(connect_opts_table[0]),
};

static int parse_connect(int argc, char **argv, connect_opts *o)
{
    static char ca[1024];
    const char *vec = getenv("TD_VECTORS_DIR");
    snprintf(ca, sizeof(ca), "%s/certs/ca.pem", vec != NULL ? vec : TD_VECTORS_DIR);
    *o = (connect_opts){.ca = ca, .timeout_ms = 10000};
    const char *args[1];
    size_t num_args;
    int rc = td_cli_opt_parse(&connect_cmd, argc, argv, o, args, &num_args);
    if (rc != TD_CLI_CONTINUE)
        return rc;
    if (!td_net_split_hostport(args[0], o->host, sizeof(o->host), &o->port))
        return td_cli_usage_error(&connect_cmd, "'%s' is not HOST:PORT", args[0]);
    if (!td_cli_output_ok("connect", o->pcap_path) || !td_cli_output_ok("connect", o->keylog_path))
        return 2;
    if (o->sni == NULL && strspn(o->host, "0123456789.") != strlen(o->host) &&
        strchr(o->host, ':') == NULL)
        o->sni = o->host;
    /* The name the certificate must carry: what we asked for (SNI), else the
     * host we dialled (a name or an IP literal). */
    if (o->no_verify || o->no_verify_name)
        o->verify_name = NULL;
    else if (o->verify_name == NULL)
        o->verify_name = o->sni != NULL ? o->sni : o->host;
    return TD_CLI_CONTINUE;
}

typedef struct connect_state {
    td_cli_endpoint ep;
    td_config cfg;
    int sigfd;
    td_session session;
} connect_state;

static int connect_setup(const connect_opts *o, connect_state *st)
{
    td_config *c = &st->cfg;
    *c = (td_config){.role = TD_ROLE_CLIENT,
                     .server_name = o->sni,
                     .verify_name = o->verify_name,
                     .no_verify = o->no_verify,
                     .offer_post_handshake_auth = o->pha,
                     .log_messages = true};
    td_cli_endpoint_opts eo = {.cmd = "connect",
                               .chain = o->cert,
                               .key = o->key,
                               .ca = o->no_verify ? NULL : o->ca,
                               .alpn = o->alpn,
                               .groups = o->groups,
                               .seed = o->seed,
                               .pcap = o->pcap_path != NULL,
                               .pcapng = td_cli_is_pcapng(o->pcap_path),
                               .keylog = o->keylog_path != NULL};
    int rc = td_cli_endpoint_setup(&eo, &st->ep, c);
    if (rc >= 0)
        return rc;
    st->sigfd = td_net_signals();
    return -1;
}

static void print_data(const uint8_t *d, size_t n)
{
    printf("  < application data (%zu bytes): \"", n);
    for (size_t i = 0; i < n && i < 512; i++) {
        if (d[i] >= 0x20 && d[i] < 0x7f && d[i] != '"' && d[i] != '\\')
            putchar(d[i]);
        else
            printf("\\x%02x", d[i]);
    }
    printf("%s\"\n", n > 512 ? "..." : "");
}

/* One connection. Returns true if its handshake completed. */
static bool connect_one(const connect_opts *o, connect_state *st, unsigned index)
{
    char stream[32], err[256];
    snprintf(stream, sizeof(stream), "conn/%u", index);
    st->cfg.stream = stream;
    int64_t start = td_net_now_ms();
    td_tls_io io = {.fd = -1,
                    .sigfd = st->sigfd,
                    .pcap = st->ep.pcap,
                    .clock_base = start,
                    .deadline = start + (int64_t)o->timeout_ms};
    td_pcap_flow_init(&io.flow, index);
    bool v6 = strchr(o->host, ':') != NULL;
    printf("connection %u to %s%s%s:%u\n", index, v6 ? "[" : "", o->host, v6 ? "]" : "", o->port);
    td_net_rc rc =
        td_net_connect(o->host, o->port, st->sigfd, io.deadline, &io.fd, err, sizeof(err));
    if (rc != TD_NET_OK) {
        printf("verdict=%s %s\n", rc == TD_NET_TIMEOUT ? "timeout" : "closed", err);
        return false;
    }
    if (td_conn_new(&st->cfg, &io.conn) != TD_OK || td_conn_start(io.conn) != TD_OK) {
        fprintf(stderr, "tlsdrill connect: cannot create a connection\n");
        td_conn_free(io.conn);
        close(io.fd);
        return false;
    }
    rc = td_tls_io_flush(&io);
    while (rc == TD_NET_OK && !io.handshake_done &&
           td_conn_status(io.conn)->phase == TD_PHASE_HANDSHAKE)
        rc = td_tls_io_step(&io, io.deadline);
    uint8_t data[16384];
    size_t data_len = 0;
    if (io.handshake_done && rc == TD_NET_OK) {
        int64_t sent_at = 0, hs_at = td_net_now_ms();
        if (o->send != NULL &&
            td_conn_write(io.conn, (const uint8_t *)o->send, strlen(o->send)) == TD_OK) {
            rc = td_tls_io_flush(&io);
            sent_at = td_net_now_ms();
        }
        /* Linger for what follows the handshake: tickets (wanted with
         * --resume), the answer to --send (up to 2 s), else 200 ms. */
        while (rc == TD_NET_OK && td_conn_status(io.conn)->phase == TD_PHASE_CONNECTED) {
            td_session tmp;
            bool need_ticket = o->resume && index == 1 && !td_conn_session(io.conn, &tmp);
            bool need_reply = sent_at != 0 && data_len == 0 && td_net_now_ms() - sent_at < 2000;
            /* --post-handshake-auth: a CertificateRequest may follow (§4.6.2). */
            bool need_cr = o->pha && td_conn_status(io.conn)->post_handshake_auths == 0 &&
                           td_net_now_ms() - hs_at < 2000;
            need_reply |= need_cr;
            rc = td_tls_io_step(&io, td_net_now_ms() + (need_ticket || need_reply ? 2000 : 200));
            data_len += td_conn_read(io.conn, data + data_len, sizeof(data) - data_len);
            if (rc == TD_NET_TIMEOUT && (need_ticket || need_reply) &&
                td_net_now_ms() < io.deadline)
                rc = TD_NET_OK; /* the 2 s window is re-checked above */
        }
        if (td_conn_status(io.conn)->phase == TD_PHASE_CONNECTED && td_conn_close(io.conn) == TD_OK)
            (void)td_tls_io_flush(&io);
    }
    close(io.fd);
    if (io.pcap != NULL && td_pcap_close(io.pcap, &io.flow) != TD_OK)
        st->ep.pcap = NULL;
    printf("verdict=%s ", td_tls_io_verdict(&io));
    td_cli_print_status(stdout, io.conn);
    td_cli_print_transcript(stdout, io.conn);
    if (data_len > 0)
        print_data(data, data_len);
    if (index == 1)
        (void)td_conn_session(io.conn, &st->session);
    bool ok = strcmp(td_tls_io_verdict(&io), "ok") == 0;
    td_conn_free(io.conn);
    return ok;
}

int td_cli_connect(int argc, char **argv)
{
    connect_opts o = {0};
    int rc = parse_connect(argc, argv, &o);
    if (rc >= 0)
        return rc;
    connect_state st = {.sigfd = -1};
    rc = connect_setup(&o, &st);
    if (rc < 0) {
        bool ok = connect_one(&o, &st, 1);
        if (ok && o.resume) {
            if (st.session.ticket_len == 0) {
                printf("no ticket received: cannot resume\n");
                ok = false;
            } else {
                st.cfg.resume = &st.session;
                if (o.early_data != NULL) {
                    st.cfg.early_data = (const uint8_t *)o.early_data;
                    st.cfg.early_data_len = strlen(o.early_data);
                }
                ok = connect_one(&o, &st, 2);
            }
        }
        td_cli_endpoint_save(&st.ep, "connect", o.pcap_path, o.keylog_path);
        rc = ok ? 0 : 1;
    }
    td_cleanse(&st.session, sizeof(st.session));
    td_cli_endpoint_cleanup(&st.ep);
    if (st.sigfd >= 0)
        close(st.sigfd);
    return rc;
}
