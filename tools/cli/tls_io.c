/* tools/cli/tls_io.c -- a td_conn over a socket (tls_io.h). */
#define _POSIX_C_SOURCE 200809L /* strtok_r under -std=c11 */
#include "tls_io.h"
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "tlsdrill/crypto.h"
#include "tlsdrill/msg.h"
#include "tlsdrill/rules.h"

static td_dir our_dir(const td_tls_io *io)
{
    return td_conn_config(io->conn)->role == TD_ROLE_CLIENT ? TD_DIR_C2S : TD_DIR_S2C;
}

static void capture(td_tls_io *io, td_dir dir, const uint8_t *data, size_t len)
{
    if (io->pcap != NULL && td_pcap_data(io->pcap, &io->flow, dir, data, len) != TD_OK) {
        fprintf(stderr, "tlsdrill: pcap capture failed (out of memory); capture stopped\n");
        io->pcap = NULL;
    }
}

/* Did both Finished messages cross (the log is always on in the CLI)? */
static void note_progress(td_tls_io *io)
{
    const td_status *s = td_conn_status(io->conn);
    if (s->phase == TD_PHASE_CONNECTED) {
        io->handshake_done = true;
        return;
    }
    if (s->phase != TD_PHASE_CLOSED)
        return;
    size_t num = 0;
    bool sent = false, received = false;
    const td_msg_record *m = td_conn_messages(io->conn, &num);
    for (size_t i = 0; i < num; i++)
        if (m[i].type == TD_MSG_FINISHED)
            *(m[i].sent ? &sent : &received) = true;
    if (sent && received)
        io->handshake_done = true;
}

td_net_rc td_tls_io_flush(td_tls_io *io)
{
    const uint8_t *out;
    size_t len;
    td_conn_drain(io->conn, &out, &len);
    if (len == 0)
        return TD_NET_OK;
    capture(io, our_dir(io), out, len);
    td_net_rc rc = td_net_send_all(io->fd, io->sigfd, io->deadline, out, len);
    if (rc == TD_NET_CLOSED)
        io->peer_closed = true;
    else if (rc == TD_NET_TIMEOUT && !io->handshake_done)
        io->timed_out = true;
    else if (rc == TD_NET_SIGNAL)
        io->signalled = true;
    return rc;
}

void td_tls_io_sync_clock(td_tls_io *io)
{
    td_clock *clk = td_conn_clock(io->conn);
    int64_t now = td_net_now_ms() - io->clock_base;
    if (now > 0 && (uint64_t)now > td_clock_now_ms(clk))
        td_clock_advance(clk, (uint64_t)now - td_clock_now_ms(clk));
}

bool td_tls_io_input(td_tls_io *io, const uint8_t *buf, size_t n)
{
    td_dir peer = our_dir(io) == TD_DIR_C2S ? TD_DIR_S2C : TD_DIR_C2S;
    capture(io, peer, buf, n);
    /* RFC 8446 §5.1: a record starts with a ContentType (20..23, 24 is
     * heartbeat) and legacy_record_version 0x03xx. */
    for (size_t i = 0; i < n && io->num_first < 2; i++) {
        uint8_t b = buf[i];
        if ((io->num_first == 0 && (b < 20 || b > 24)) || (io->num_first == 1 && b != 3))
            io->garbage = true;
        io->first[io->num_first++] = b;
    }
    td_tls_io_sync_clock(io);
    if (td_conn_feed(io->conn, buf, n) != TD_OK) {
        io->failed_local = true;
        return false;
    }
    note_progress(io);
    return true;
}

void td_tls_io_output(td_tls_io *io, const uint8_t **out, size_t *len)
{
    td_conn_drain(io->conn, out, len);
    if (*len > 0)
        capture(io, our_dir(io), *out, *len);
    note_progress(io);
}

td_net_rc td_tls_io_step(td_tls_io *io, int64_t deadline)
{
    if (deadline > io->deadline)
        deadline = io->deadline;
    uint8_t buf[16384];
    size_t n = 0;
    td_net_rc rc = td_net_recv(io->fd, io->sigfd, deadline, buf, sizeof(buf), &n);
    switch (rc) {
    case TD_NET_OK: break;
    case TD_NET_TIMEOUT:
        if (!io->handshake_done)
            io->timed_out = true;
        return rc;
    case TD_NET_CLOSED: io->peer_closed = true; return rc;
    case TD_NET_SIGNAL: io->signalled = true; return rc;
    case TD_NET_ERROR: io->failed_local = true; return rc;
    }
    if (!td_tls_io_input(io, buf, n))
        return TD_NET_ERROR;
    rc = td_tls_io_flush(io);
    note_progress(io);
    return rc;
}

const char *td_tls_io_verdict(const td_tls_io *io)
{
    const td_status *s = td_conn_status(io->conn);
    /* A handshake that completed and then ended in an error alert (e.g. a
     * server refusing our empty Certificate after our Finished) is an
     * alert, not a success. */
    if (io->handshake_done && s->phase != TD_PHASE_FAILED)
        return "ok";
    if (io->garbage)
        return "garbage";
    if (s->alert_sent || (s->alert_received && s->alert_received_desc != TD_ALERT_close_notify))
        return "alert";
    if (io->timed_out)
        return "timeout";
    if (io->peer_closed || s->phase == TD_PHASE_CLOSED)
        return "closed";
    if (io->signalled)
        return "signal";
    return "error";
}

void td_cli_alert_str(bool present, uint8_t level, uint8_t desc, char *buf, size_t len)
{
    if (!present) {
        snprintf(buf, len, "-");
        return;
    }
    const char *name = td_alert_name(desc);
    const char *lv = level == 1 ? "warning" : level == 2 ? "fatal" : "level?";
    if (name != NULL)
        snprintf(buf, len, "%s:%s", lv, name);
    else
        snprintf(buf, len, "%s:%u", lv, desc);
}

static const char *or_dash(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : "-";
}

void td_cli_print_status(FILE *f, const td_conn *conn)
{
    const td_status *s = td_conn_status(conn);
    const td_suite *suite = td_suite_get(s->suite);
    char as[64], ar[64];
    td_cli_alert_str(s->alert_sent, s->alert_sent_level, s->alert_sent_desc, as, sizeof(as));
    td_cli_alert_str(s->alert_received, s->alert_received_level, s->alert_received_desc, ar,
                     sizeof(ar));
    const td_rule_info *rule = td_rule_get(s->diag.rule);
    fprintf(f,
            "phase=%s version=%s suite=%s group=%s sigalg=%s alpn=%s sni=%s hrr=%s resumed=%s "
            "early_data=%s client_auth=%s alert_sent=%s alert_received=%s rule=%s in=%llu out=%llu",
            td_phase_name(s->phase),
            s->version == 0x0304 ? "TLSv1.3"
            : s->version         ? "?"
                                 : "-",
            suite ? suite->name : "-", or_dash(s->group ? td_group_name(s->group) : NULL),
            or_dash(s->sigalg ? td_sig_name(s->sigalg) : NULL), or_dash(s->alpn), or_dash(s->sni),
            s->hrr ? "yes" : "no", s->resumed ? "yes" : "no", s->early_data_accepted ? "yes" : "no",
            s->client_authenticated ? "yes" : "no", as, ar, rule ? rule->id : "-",
            (unsigned long long)s->bytes_in, (unsigned long long)s->bytes_out);
    /* RFC 8446 §4.6.2: post-handshake authentications, when offered. */
    if (s->post_handshake_auth)
        fprintf(f, " pha=%u", s->post_handshake_auths);
    if (s->diag.text[0] != '\0')
        fprintf(f, " why=\"%s\"", s->diag.text);
    fputc('\n', f);
}

void td_cli_print_transcript(FILE *f, td_conn *conn)
{
    size_t num = 0;
    const td_msg_record *m = td_conn_messages(conn, &num);
    for (size_t i = 0; i < num; i++) {
        const char *name = td_msg_type_name(m[i].type);
        fprintf(f, "  %s %s (%zu bytes)\n", m[i].sent ? ">" : "<", name ? name : "unknown",
                m[i].len);
    }
    const td_status *s = td_conn_status(conn);
    char buf[64];
    const td_rule_info *rule = td_rule_get(s->diag.rule);
    if (s->alert_received) {
        td_cli_alert_str(true, s->alert_received_level, s->alert_received_desc, buf, sizeof(buf));
        fprintf(f, "  < alert %s\n", buf);
    }
    if (s->alert_sent) {
        td_cli_alert_str(true, s->alert_sent_level, s->alert_sent_desc, buf, sizeof(buf));
        fprintf(f, "  > alert %s (rule %s: %s)\n", buf, rule ? rule->id : "-", s->diag.text);
    }
}
