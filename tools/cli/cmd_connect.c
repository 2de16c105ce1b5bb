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
#include "tls_io.h"
#include "tlsdrill/crypto.h"
#include "tlsdrill/net.h"
#include "tlsdrill/transcript.h"

typedef struct connect_opts {
    char host[256];
    uint16_t port;
    const char *sni, *alpn, *groups, *ca, *early_data, *send, *seed, *pcap_path, *keylog_path,
        *cert, *key;
    bool no_verify, resume;
    double timeout_s;
} connect_opts;

static void connect_usage(FILE *f)
{
    fprintf(
        f, "usage: tlsdrill connect HOST:PORT [--sni NAME] [--alpn LIST] [--groups LIST]\n"
           "                        [--ca FILE | --no-verify] [--cert CHAIN.pem --key KEY.pem]\n"
           "                        [--resume] [--early-data TEXT]\n"
           "                        [--send TEXT] [--seed S] [--pcap FILE] [--keylog FILE] "
           "[--timeout S]\n"
           "The engine as a TLS 1.3 client. Prints the verdict (ok|alert|garbage|timeout|closed),\n"
           "the negotiated parameters and every handshake message. --groups: x25519,P-256,P-384,\n"
           "P-521,x448 (key share for the first). --ca defaults to $TD_VECTORS_DIR/certs/ca.pem;\n"
           "--sni defaults to HOST when it is a name. --resume: a second connection resuming the\n"
           "first one's ticket (with --early-data as 0-RTT). --cert/--key: our certificate for\n"
           "client authentication (e.g. $TD_VECTORS_DIR/certs/client-p256.chain.pem and\n"
           "client-p256.key). --timeout bounds each connection\n"
           "(connect included; default 10 s). Exit 0 if every handshake completed, else 1.\n");
}

static int parse_connect(int argc, char **argv, connect_opts *o)
{
    static char ca[1024];
    const char *vec = getenv("TD_VECTORS_DIR");
    snprintf(ca, sizeof(ca), "%s/certs/ca.pem", vec != NULL ? vec : TD_VECTORS_DIR);
    *o = (connect_opts){.ca = ca, .timeout_s = 10};
    const char *target = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            connect_usage(stdout);
            return 0;
        } else if (strcmp(a, "--no-verify") == 0) {
            o->no_verify = true;
        } else if (strcmp(a, "--resume") == 0) {
            o->resume = true;
        } else if (a[0] != '-') {
            if (target != NULL) {
                fprintf(stderr, "tlsdrill connect: one HOST:PORT only\n");
                return 2;
            }
            target = a;
        } else if (v == NULL) {
            fprintf(stderr, "tlsdrill connect: unknown option or missing value: %s\n", a);
            return 2;
        } else if (strcmp(a, "--sni") == 0) {
            o->sni = v, i++;
        } else if (strcmp(a, "--alpn") == 0) {
            o->alpn = v, i++;
        } else if (strcmp(a, "--groups") == 0) {
            o->groups = v, i++;
        } else if (strcmp(a, "--ca") == 0) {
            o->ca = v, i++;
        } else if (strcmp(a, "--cert") == 0) {
            o->cert = v, i++;
        } else if (strcmp(a, "--key") == 0) {
            o->key = v, i++;
        } else if (strcmp(a, "--early-data") == 0) {
            o->early_data = v, i++;
        } else if (strcmp(a, "--send") == 0) {
            o->send = v, i++;
        } else if (strcmp(a, "--seed") == 0) {
            o->seed = v, i++;
        } else if (strcmp(a, "--pcap") == 0) {
            o->pcap_path = v, i++;
        } else if (strcmp(a, "--keylog") == 0) {
            o->keylog_path = v, i++;
        } else if (strcmp(a, "--timeout") == 0) {
            char *end;
            o->timeout_s = strtod(v, &end);
            if (end == v || *end != '\0' || !(o->timeout_s > 0 && o->timeout_s < 1e5)) {
                fprintf(stderr, "tlsdrill connect: bad --timeout %s\n", v);
                return 2;
            }
            i++;
        } else {
            fprintf(stderr, "tlsdrill connect: unknown option %s\n", a);
            return 2;
        }
    }
    if (target == NULL || !td_net_split_hostport(target, o->host, sizeof(o->host), &o->port)) {
        fprintf(stderr, "tlsdrill connect: HOST:PORT required\n");
        connect_usage(stderr);
        return 2;
    }
    if (o->sni == NULL && strspn(o->host, "0123456789.") != strlen(o->host))
        o->sni = o->host;
    return -1;
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
                     .no_verify = o->no_verify,
                     .log_messages = true};
    td_cli_endpoint_opts eo = {.cmd = "connect",
                               .chain = o->cert,
                               .key = o->key,
                               .ca = o->no_verify ? NULL : o->ca,
                               .alpn = o->alpn,
                               .groups = o->groups,
                               .seed = o->seed,
                               .pcap = o->pcap_path != NULL,
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
                    .deadline = start + (int64_t)(o->timeout_s * 1000)};
    td_pcap_flow_init(&io.flow, index);
    printf("connection %u to %s:%u\n", index, o->host, o->port);
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
        int64_t sent_at = 0;
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
    connect_opts o;
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
