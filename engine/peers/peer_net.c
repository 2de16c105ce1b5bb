/* engine/peers/peer_net.c -- systems under test over TCP (peer_net.h):
 * `tcp:HOST:PORT`, `listen:[HOST:]PORT` and `exec:CMD`. Our side is a
 * td_conn driven over a socket with deadlines (tlsdrill/net.h); the SUT is
 * whatever answers. Only our side's status is known (has_sut_status stays
 * false): the runner judges by the alert our side received (decrypted, our
 * side holds the keys) and by how the transport ended. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>

#include "observe.h"
#include "peer_kinds.h"
#include "peer_net_internal.h"
#include "tlsdrill/crypto.h"
#include "tlsdrill/file.h"
#include "tlsdrill/msg.h"
#include "tlsdrill/net.h"
#include "tlsdrill/peer_net.h"
#include "tlsdrill/peer_stream.h"

typedef enum net_kind { NET_TCP, NET_LISTEN, NET_EXEC } net_kind;

typedef struct net_peer {
    net_kind kind;
    char host[256];
    uint16_t port;
    td_peer_opts o;
    td_exec exec;
    int lfd; /* listen:, and exec: with a client SUT: our listening socket */
    uint16_t lport;
    unsigned port_step; /* exec: next port of the range to try */
    uint16_t claimed;   /* exec: the port this process holds in the port lock file (0: none) */
    bool exec_server;   /* the running child is a server SUT */
    bool reached;       /* tcp: one connection came up (later failures are the SUT's) */
    int64_t epoch; /* td_net_now_ms() at creation: our side's clocks follow real time from it */
    td_der *ref_cert, *ref_ca;
    size_t num_ref_cert, num_ref_ca;
    char name[300];
} net_peer;

typedef td_peer_stream stream;

/* One connection: our td_conn over |fd|. */
typedef struct xfer {
    net_peer *p;
    int fd;
    td_conn *conn;
    int64_t clock_base, deadline;
    stream in, out;
    uint8_t first[2];
    size_t num_first;
    bool garbage;
    const char *ended; /* "timeout", "closed" or NULL */
    /* The whole connection (td_scn_outcome: completed, sut_confirmed, end ...). */
    bool completed, confirmed, we_closed, reset;
    td_status snap; /* our status when the exchange ended, before our close_notify */
    bool has_snap;
    uint64_t in_at_done; /* our side's bytes_in when it completed */
    size_t in_at_abort;  /* bytes of the SUT's stream received before our side's own abort */
    size_t in_at_snap;   /* bytes of the SUT's stream received when the exchange ended */
    size_t fed;          /* bytes of the SUT's stream fed to our side */
    bool aborted;
    td_scn_end end;
    bool end_after;
} xfer;

static td_err unsupported(td_scn_outcome *out, const char *fmt, ...) TD_PRINTF(2, 3);
static td_err unsupported(td_scn_outcome *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->note, sizeof(out->note), fmt, ap);
    va_end(ap);
    return TD_ERR_UNSUPPORTED;
}

/* ---- the reference configuration of a remote peer ---- */

static bool same_der(const td_der *a, const uint8_t *b, size_t blen)
{
    return a->len == blen && memcmp(a->data, b, blen) == 0;
}

/* A remote server (tcp:) runs as it was started: the case must not need
 * anything of it but the defaults (peer_net.h). */
static td_err check_remote_server(const net_peer *p, const td_config *s, td_scn_outcome *out)
{
    const char *what = NULL;
    if (s->suites != NULL)
        what = "cipher suites";
    else if (s->groups != NULL)
        what = "groups";
    else if (s->sigalgs != NULL)
        what = "signature algorithms";
    else if (s->num_alpn > 0)
        what = "ALPN";
    else if (s->client_auth != TD_CLIENT_AUTH_NONE)
        what = "client authentication";
    else if (s->post_handshake_auth != TD_CLIENT_AUTH_NONE)
        what = "post-handshake client authentication";
    else if (s->hrr != TD_HRR_AUTO)
        what = "a forced HelloRetryRequest";
    else if (s->hrr_cookie)
        what = "an HRR cookie";
    else if (s->accept_early_data)
        what = "0-RTT";
    else if (s->max_fragment != 0)
        what = "a record size";
    else if (s->num_tickets == 0)
        what = "no tickets";
    else if (s->ticket_lifetime_s != 0)
        what = "a ticket lifetime";
    else if (s->psks != NULL || s->inject != NULL)
        what = "external PSKs / injected values";
    else if (s->num_certs != 1)
        what = "several server certificates";
    else if (p->num_ref_cert > 0 &&
             !same_der(&p->ref_cert[0], s->certs[0].chain[0].data, s->certs[0].chain[0].len))
        what = "a certificate other than server-p256";
    else if (s->certs[0].sni != NULL)
        return unsupported(out,
                           "the remote server's configuration cannot be set (case needs its "
                           "certificate bound to server_name %.60s: refused for other names)",
                           s->certs[0].sni);
    if (what == NULL)
        return TD_OK;
    return unsupported(out, "the remote server's configuration cannot be set (case needs %s)",
                       what);
}

static td_err check_remote_client(const net_peer *p, const td_config *c, td_scn_outcome *out)
{
    const char *what = NULL;
    if (c->suites != NULL)
        what = "cipher suites";
    else if (c->groups != NULL || c->share_groups != NULL)
        what = "groups / key shares";
    else if (c->sigalgs != NULL)
        what = "signature algorithms";
    else if (c->num_alpn > 0)
        what = "ALPN";
    else if (c->num_certs > 0)
        what = "a client certificate";
    else if (c->offer_post_handshake_auth)
        what = "post_handshake_auth";
    else if (c->early_data_len > 0)
        what = "0-RTT";
    else if (c->psk_ke || c->psk_ke_only)
        what = "psk_ke";
    else if (c->server_name == NULL || strcmp(c->server_name, "server.example") != 0)
        what = "a server_name other than server.example";
    else if (c->max_fragment != 0)
        what = "a record size";
    else if (c->psks != NULL || c->inject != NULL || c->renegotiation_info ||
             c->session_ticket_ext || c->record_size_limit || c->ch_padding)
        what = "external PSKs, injected values or legacy extensions";
    else if (c->no_verify || (p->num_ref_ca > 0 &&
                              (c->trust_anchor == NULL ||
                               !same_der(&p->ref_ca[0], c->trust_anchor, c->trust_anchor_len))))
        what = "a trust anchor other than ca.pem";
    if (what == NULL)
        return TD_OK;
    return unsupported(out, "the remote client's configuration cannot be set (case needs %s)",
                       what);
}

/* What no exec shim is given: the engine-only knobs. */
static td_err check_exec(const td_config *c, td_scn_outcome *out)
{
    /* External PSKs go through TD_PSK_* (one per side); injected values never. */
    if (c->inject != NULL)
        return unsupported(out, "injected values (fixed traces)");
    if (c->num_psks > 1)
        return unsupported(out, "several external PSKs");
    if (c->num_certs > 1)
        return unsupported(out, "several server certificates");
    /* The shim contract (tools/peers/README.md) has no post-handshake
     * authentication (RFC 8446 §4.6.2). */
    if (c->offer_post_handshake_auth || c->post_handshake_auth != TD_CLIENT_AUTH_NONE)
        return unsupported(out, "post-handshake client authentication (not in the shim contract)");
    if (c->role == TD_ROLE_CLIENT &&
        (c->renegotiation_info || c->session_ticket_ext || c->record_size_limit || c->ch_padding))
        return unsupported(out, "legacy ClientHello extensions of the engine");
    return TD_OK;
}

/* ---- the exchange ---- */

static void sync_clock(xfer *x)
{
    td_clock *clk = td_conn_clock(x->conn);
    int64_t now = td_net_now_ms() - x->clock_base;
    if (now > 0 && (uint64_t)now > td_clock_now_ms(clk))
        td_clock_advance(clk, (uint64_t)now - td_clock_now_ms(clk));
}

/* Sends what our side queued. */
static td_err flush(xfer *x, bool *gone)
{
    const uint8_t *data = NULL;
    size_t len = 0;
    td_conn_drain(x->conn, &data, &len);
    if (len == 0)
        return TD_OK;
    TD_CHECK(td_peer_stream_add(&x->out, data, len));
    td_net_rc rc = td_net_send_all(x->fd, -1, x->deadline, data, len);
    if (rc == TD_NET_OK)
        return TD_OK;
    if (rc == TD_NET_ERROR)
        return TD_ERR_IO;
    *gone = true;
    if (td_conn_status(x->conn)->phase == TD_PHASE_HANDSHAKE)
        x->ended = rc == TD_NET_TIMEOUT ? "timeout" : "closed";
    if (x->end == TD_SCN_END_NONE) {
        x->end = rc == TD_NET_TIMEOUT ? TD_SCN_END_TIMEOUT : TD_SCN_END_EOF;
        x->end_after = x->completed;
    }
    return TD_OK;
}

static bool got_ticket(const xfer *x)
{
    td_session s;
    bool yes = td_conn_session(x->conn, &s);
    td_cleanse(&s, sizeof(s));
    return yes;
}

/* Our side just completed its handshake. */
static void mark_completed(xfer *x)
{
    x->completed = true;
    x->in_at_done = td_conn_status(x->conn)->bytes_in;
    /* A client SUT completed first: our server checked its Finished. */
    x->confirmed = td_conn_config(x->conn)->role == TD_ROLE_SERVER;
}

/* One read of the SUT's bytes by |wait|, fed to our side. *rc says how the
 * read ended (TD_NET_OK: bytes were fed). */
static td_err read_some(xfer *x, int64_t wait, td_net_rc *rc, bool *gone)
{
    uint8_t buf[16384];
    size_t n = 0;
    if (wait > x->deadline)
        wait = x->deadline;
    errno = 0;
    *rc = td_net_recv(x->fd, -1, wait, buf, sizeof(buf), &n);
    if (*rc == TD_NET_ERROR)
        return TD_ERR_IO;
    if (*rc != TD_NET_OK) {
        if (*rc == TD_NET_CLOSED)
            x->reset = errno == ECONNRESET;
        return TD_OK;
    }
    /* RFC 8446 §5.1: a record starts with a ContentType (20..24) and a
     * legacy_record_version 0x03xx; anything else is not TLS. */
    for (size_t i = 0; i < n && x->num_first < 2; i++) {
        uint8_t b = buf[i];
        if ((x->num_first == 0 && (b < 20 || b > 24)) || (x->num_first == 1 && b != 3))
            x->garbage = true;
        x->first[x->num_first++] = b;
    }
    TD_CHECK(td_peer_stream_add(&x->in, buf, n));
    sync_clock(x);
    /* One record at a time, so that a handshake that completes and is
     * closed in the same read (a client's Finished and its close_notify) is
     * seen completing (RFC 8446 §5.1: a record is a 5-byte header and
     * |length| bytes). */
    while (x->fed < x->in.len) {
        size_t end = x->in.len;
        if (x->fed + 5 <= x->in.len) {
            size_t rec_end =
                x->fed + 5 + ((size_t)x->in.data[x->fed + 3] << 8 | x->in.data[x->fed + 4]);
            if (rec_end <= x->in.len)
                end = rec_end;
        }
        TD_CHECK(td_conn_feed(x->conn, x->in.data + x->fed, end - x->fed));
        x->fed = end;
        if (!x->completed && td_conn_status(x->conn)->phase == TD_PHASE_CONNECTED)
            mark_completed(x);
    }
    const td_status *st = td_conn_status(x->conn);
    if (st->phase == TD_PHASE_FAILED && !st->alert_received && !x->aborted) {
        /* Our own abort: what the SUT sent up to here came before it. */
        x->aborted = true;
        x->in_at_abort = x->in.len;
    }
    /* A server SUT confirms it completed by its close_notify (RFC 8446 §6.1)
     * after our side completed: it read our Finished and everything after it
     * under the application keys. A ticket proves nothing (§4.6.1: a server
     * without client auth MAY send one before the client's Finished). */
    if (x->completed && !x->confirmed && st->alert_received && st->alert_received_desc == 0)
        x->confirmed = true;
    return flush(x, gone);
}

/* How the SUT ended the connection, from the last read and our status. */
static void note_end(xfer *x, td_net_rc rc)
{
    const td_status *st = td_conn_status(x->conn);
    td_scn_end e = TD_SCN_END_NONE;
    if (st->alert_received)
        e = st->alert_received_desc == 0 ? TD_SCN_END_CLOSE_NOTIFY : TD_SCN_END_ALERT;
    else if (x->garbage)
        e = TD_SCN_END_GARBAGE;
    else if (rc == TD_NET_CLOSED)
        e = x->reset ? TD_SCN_END_RESET : TD_SCN_END_EOF;
    else if (rc == TD_NET_TIMEOUT && st->phase == TD_PHASE_HANDSHAKE)
        e = TD_SCN_END_TIMEOUT;
    if (x->end == TD_SCN_END_NONE && e != TD_SCN_END_NONE) {
        x->end = e;
        x->end_after = x->completed;
    }
}

/* The observation window after the SUT's error alert or our own abort:
 * read until EOF or a quiet time, so that whatever the SUT still sends
 * (bytes after its fatal alert: RFC 8446 §6, AL-CLOSE-AFTER-FATAL) is
 * always counted, not only when it shares a read with the alert. */
static td_err drain_window(xfer *x, unsigned quiet_ms)
{
    bool gone = false;
    for (;;) {
        td_net_rc rc;
        TD_CHECK(read_some(x, td_net_now_ms() + (int64_t)quiet_ms, &rc, &gone));
        if (rc != TD_NET_OK) {
            note_end(x, rc);
            return TD_OK;
        }
    }
}

/* Plays the connection: the handshake with a read deadline per wait, then
 * our post-handshake actions, then quiet time for what the SUT still says
 * (tickets, an alert about our last flight); then the observation windows:
 * after an alert (either side's), read to EOF or quiet; after a completed
 * exchange, our close_notify and read to EOF or quiet. */
static td_err exchange(xfer *x, const td_config *ours, td_scn_post_fn post, void *post_arg)
{
    const td_peer_opts *o = &x->p->o;
    bool gone = false, posted = false;
    int64_t last = td_net_now_ms();
    td_net_rc rc = TD_NET_OK;
    TD_CHECK(flush(x, &gone));
    while (!gone) {
        const td_status *st = td_conn_status(x->conn);
        if (st->phase == TD_PHASE_FAILED || st->phase == TD_PHASE_CLOSED)
            break;
        int64_t now = td_net_now_ms(), wait;
        if (st->phase == TD_PHASE_CONNECTED) {
            if (!x->completed)
                mark_completed(x);
            if (post != NULL) {
                TD_CHECK(post(post_arg, x->conn));
                post = NULL;
                posted = true;
                TD_CHECK(flush(x, &gone));
                last = now;
                continue;
            }
            /* Quiet time for late alerts and tickets; a client that has its
             * ticket (sent after the server checked our last flight) and
             * awaits no answer to post-handshake messages needs only a little. */
            wait = last + (int64_t)(ours->role == TD_ROLE_CLIENT && !posted && got_ticket(x)
                                        ? 20
                                        : o->linger_ms);
            if (wait <= now)
                break;
        } else {
            wait = now + (int64_t)o->read_ms;
        }
        TD_CHECK(read_some(x, wait, &rc, &gone));
        if (rc == TD_NET_TIMEOUT && td_conn_status(x->conn)->phase == TD_PHASE_CONNECTED &&
            td_net_now_ms() < x->deadline)
            continue; /* the quiet time of a completed connection is over: see above */
        if (rc != TD_NET_OK) {
            if (td_conn_status(x->conn)->phase == TD_PHASE_HANDSHAKE)
                x->ended = rc == TD_NET_CLOSED ? "closed" : "timeout";
            note_end(x, rc);
            gone = true;
            break;
        }
        last = td_net_now_ms();
    }
    const td_status *st = td_conn_status(x->conn);
    if (x->end == TD_SCN_END_NONE)
        note_end(x, TD_NET_OK);
    x->snap = *st;
    x->has_snap = true;
    x->in_at_snap = x->in.len;
    if (gone)
        return TD_OK;
    if (st->phase == TD_PHASE_FAILED) /* an alert went one way or the other */
        return drain_window(x, o->linger_ms);
    if (st->phase == TD_PHASE_CONNECTED) {
        /* Done: our close_notify (RFC 8446 §6.1), then what the SUT does
         * within the window. Sent as a record, not with td_conn_close, so
         * that our side keeps reading (TLS 1.3 closes one direction). */
        static const uint8_t close_notify[2] = {1, 0};
        TD_CHECK(td_conn_inject_record(x->conn, 21, close_notify, sizeof(close_notify), 0));
        TD_CHECK(flush(x, &gone));
        x->we_closed = true;
        if (!gone)
            TD_CHECK(drain_window(x, o->linger_ms));
        /* A server SUT that said nothing after our Finished, not even to our
         * close_notify, never showed it completed: it stalled. */
        if (!x->confirmed && x->end == TD_SCN_END_NONE) {
            x->end = TD_SCN_END_TIMEOUT;
            x->end_after = true;
        }
    }
    return TD_OK;
}

static void fill_outcome(xfer *x, const td_config *ours, td_scn_outcome *out)
{
    out->ours = x->has_snap ? x->snap : *td_conn_status(x->conn);
    /* What came after the snapshot (bytes after the SUT's alert, read in
     * the window) still counts. */
    out->ours.bytes_after_alert = td_conn_status(x->conn)->bytes_after_alert;
    out->completed = x->completed;
    out->sut_confirmed = x->confirmed;
    /* After our own abort, how the SUT ended answers our alert, not the case. */
    out->end = x->aborted && x->end != TD_SCN_END_ALERT ? TD_SCN_END_NONE : x->end;
    out->end_after_completed = x->end_after;
    out->we_closed = x->we_closed;
    if (out->end == TD_SCN_END_ALERT && td_conn_status(x->conn)->alert_received) {
        out->end_alert_known = true;
        out->end_alert_desc = td_conn_status(x->conn)->alert_received_desc;
    }
    out->window_ms = x->p->o.linger_ms;
    if (ours->role == TD_ROLE_SERVER)
        td_peer_note_hello(x->in.data, x->in.len, out);
    if (x->garbage && !out->ours.alert_received)
        snprintf(out->ended, sizeof(out->ended), "garbage");
    else if (x->ended != NULL)
        snprintf(out->ended, sizeof(out->ended), "%s", x->ended);
    /* The SUT went away in the handshake without an alert: tell the story
     * as closed, not as our side still waiting. */
    if (x->ended != NULL && strcmp(x->ended, "closed") == 0 &&
        out->ours.phase == TD_PHASE_HANDSHAKE && !out->ours.alert_received)
        out->ours.phase = TD_PHASE_CLOSED;
    if (ours->role == TD_ROLE_CLIENT)
        out->has_session = td_conn_session(x->conn, &out->session);
    td_peer_note_received(x->conn, out);
    const stream *c2s = ours->role == TD_ROLE_CLIENT ? &x->out : &x->in;
    const stream *s2c = ours->role == TD_ROLE_CLIENT ? &x->in : &x->out;
    /* Failure leaves the digest zero: it only serves determinism checks. */
    if (td_scn_outcome_digest(ours->crypto, c2s->data, c2s->len, s2c->data, s2c->len, out) != TD_OK)
        memset(out->digest, 0, sizeof(out->digest));
}

/* Runs our side over |fd| (owned: closed here; -1 when the transport never
 * came up, |ended| saying why). */
static td_err run_conn(net_peer *p, int fd, const char *ended, int64_t start, const td_config *ours,
                       td_scn_post_fn post, void *post_arg, td_scn_outcome *out)
{
    xfer x = {.p = p,
              .fd = fd,
              .ended = ended,
              /* Real time since the peer began (a clock never goes back: a
               * connection starting later than that keeps its start), so that
               * ticket ages agree with the SUT's clock across connections. */
              .clock_base = p->epoch,
              .deadline = start + (int64_t)p->o.case_ms};
    td_err err = td_conn_new(ours, &x.conn);
    if (err == TD_OK && fd >= 0)
        err = td_conn_start(x.conn);
    if (err == TD_OK && fd >= 0)
        err = exchange(&x, ours, post, post_arg);
    if (err == TD_OK)
        fill_outcome(&x, ours, out);
    if (err == TD_OK && fd < 0 && ended != NULL)
        out->end = strcmp(ended, "timeout") == 0 ? TD_SCN_END_TIMEOUT : TD_SCN_END_EOF;
    if (err == TD_OK && p->kind == NET_EXEC) {
        /* The shim's own words, and the SUT's key log: an alert our side could
         * not read is read with the SUT's keys. */
        td_exec_log(&p->exec, out->peer_log, sizeof(out->peer_log));
        size_t klen = 0;
        char *klog = td_exec_keylog(&p->exec, &klen);
        out->sut_keylog = klog != NULL;
        bool sut_client = ours->role == TD_ROLE_SERVER;
        /* Only for an exchange our side could not finish reading: its own abort, or
         * a stall (a record it could not place); never the windows' bytes. */
        if (klog != NULL && !out->ours.alert_received && (x.aborted || x.ended != NULL))
            td_peer_sut_alert(
                ours->crypto, klog, klen, sut_client ? x.in.data : x.out.data,
                sut_client ? x.in.len : x.out.len, sut_client ? x.out.data : x.in.data,
                sut_client ? x.out.len : x.in.len, sut_client ? TD_DIR_C2S : TD_DIR_S2C,
                x.aborted ? x.in_at_abort : x.in_at_snap, out);
        if (out->alert_from_sut_keylog) {
            out->end = TD_SCN_END_ALERT;
            out->end_after_completed = false;
        }
        if (klog != NULL)
            td_cleanse(klog, klen);
        free(klog);
    }
    if (fd >= 0)
        close(fd);
    td_conn_free(x.conn);
    free(x.in.data);
    free(x.out.data);
    return err;
}

/* ---- exec: the child ---- */

/* Whether PORT binds on 127.0.0.1 and on every interface (servers like
 * gnutls-serv bind them all); errno of the failure in *why. */
static bool port_free(uint16_t port, int *why)
{
    for (int any = 0; any < 2; any++) {
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0) {
            *why = errno;
            return false;
        }
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
        sa.sin_addr.s_addr = htonl(any ? INADDR_ANY : INADDR_LOOPBACK);
        bool ok = bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0;
        if (!ok)
            *why = errno;
        close(s);
        if (!ok)
            return false;
    }
    return true;
}

/* The ports given to server SUTs are claimed in one file shared by every
 * tlsdrill process of the host (the -j workers of a run, other runs): a
 * write lock on byte PORT of $TMPDIR/tlsdrill-ports.lock. The free-port
 * check alone leaves a window between our check and the child's bind in
 * which another process's child takes the port; our child then fails to
 * bind (gnutls-serv goes on with IPv6 alone) and our connection reaches the
 * other one. fcntl locks belong to the process: they end with it, and the
 * child does not inherit them. Best effort: without the file, ports are only
 * checked. */
static int port_lock_fd(void)
{
    static int fd = -2;
    if (fd == -2) {
        const char *dir = getenv("TMPDIR");
        char path[512];
        snprintf(path, sizeof(path), "%s/tlsdrill-ports.lock", dir != NULL && *dir ? dir : "/tmp");
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        if (fd < 0)
            fd = -1;
    }
    return fd;
}

/* Claims PORT for this peer (releasing its last claim); false if another
 * process holds it. */
static bool port_claim(net_peer *p, uint16_t port)
{
    int fd = port_lock_fd();
    if (fd < 0)
        return true;
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = port, .l_len = 1};
    if (fcntl(fd, F_SETLK, &fl) != 0)
        return false;
    if (p->claimed != 0 && p->claimed != port) {
        struct flock un = {.l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = p->claimed, .l_len = 1};
        (void)fcntl(fd, F_SETLK, &un);
    }
    p->claimed = port;
    return true;
}

/* A port for a server SUT: one of the range free on every interface and
 * claimed by no other tlsdrill process, else one the kernel hands out (a
 * busy or restricted range must not decline the case); we connect to
 * 127.0.0.1 only. 0 with errno's text in WHY. */
static uint16_t pick_port(net_peer *p, char *why, size_t why_len)
{
    unsigned lo = p->o.port_lo, span = (unsigned)p->o.port_hi - lo + 1;
    int err = 0;
    for (unsigned tries = 0; tries < 200; tries++) {
        uint16_t port = (uint16_t)(lo + (p->port_step++ * 7919u + (unsigned)getpid()) % span);
        if (port_free(port, &err) && port_claim(p, port))
            return port;
    }
    for (unsigned tries = 0; tries < 20; tries++) {
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET};
        socklen_t sl = sizeof(sa);
        sa.sin_addr.s_addr = htonl(INADDR_ANY);
        bool ok = s >= 0 && bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
                  getsockname(s, (struct sockaddr *)&sa, &sl) == 0;
        if (!ok)
            err = errno;
        if (s >= 0)
            close(s);
        if (ok && port_free(ntohs(sa.sin_port), &err) && port_claim(p, ntohs(sa.sin_port)))
            return ntohs(sa.sin_port);
    }
    snprintf(why, why_len, "%s", strerror(err));
    return 0;
}

/* The child ended before the connection: unsupported (exit 89), else a
 * peer failure with its stderr as the note. */
static td_err child_gone(net_peer *p, td_scn_outcome *out)
{
    td_exec_log(&p->exec, out->peer_log, sizeof(out->peer_log));
    if (td_exec_unsupported(&p->exec, out->note, sizeof(out->note)))
        return TD_ERR_UNSUPPORTED;
    if (td_exec_cannot_execute(&p->exec, out->note, sizeof(out->note))) {
        out->unreachable = true; /* no case can run */
        return TD_ERR_IO;
    }
    char tail[120];
    td_exec_stderr_tail(&p->exec, tail, sizeof(tail));
    snprintf(out->note, sizeof(out->note), "the child exited before the connection: %s",
             tail[0] ? tail : "(no stderr)");
    return TD_ERR_IO;
}

/* A running child that was not up within its start-up wait (peers.h
 * startup_ms): a peer failure that says so (its stderr is the peer log). */
static td_err not_up(net_peer *p, td_scn_outcome *out, bool server, unsigned port)
{
    td_exec_log(&p->exec, out->peer_log, sizeof(out->peer_log));
    snprintf(out->note, sizeof(out->note),
             "start-up timeout: the %s SUT did not %s 127.0.0.1:%u within %u ms of its start "
             "(--startup-timeout)",
             server ? "server" : "client", server ? "listen on" : "connect to", port,
             p->o.startup_ms);
    return TD_ERR_IO;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* Our side is the client: (re)start the server SUT unless this is the
 * resumption of the last connection, then connect until it listens. */
static td_err exec_server(net_peer *p, const td_config *ours, const td_config *sut,
                          td_scn_post_fn post, void *post_arg, td_scn_outcome *out)
{
    /* A ticket resumption reuses the server that issued the ticket; an
     * external PSK of our client is a fresh connection like any other. */
    bool again = ours->resume != NULL && !ours->resume->external && p->exec_server &&
                 td_exec_running(&p->exec);
    if (!again) {
        char why[96];
        p->port = pick_port(p, why, sizeof(why));
        if (p->port == 0)
            return unsupported(out, "no free port in %u..%u nor from the kernel (%s)",
                               p->o.port_lo, p->o.port_hi, why);
        TD_CHECK(td_exec_start(&p->exec, ours, sut, p->port, ""));
        p->exec_server = true;
    }
    /* A fresh child has its start-up wait (peers.h), a running one connect_ms. */
    int64_t start = td_net_now_ms(),
            deadline = start + (int64_t)(again ? p->o.connect_ms : p->o.startup_ms);
    int fd = -1, pause = 0;
    char err[256];
    for (;;) {
        td_net_rc rc =
            td_net_connect("127.0.0.1", p->port, -1,
                           td_net_now_ms() + 500 < deadline ? td_net_now_ms() + 500 : deadline, &fd,
                           err, sizeof(err));
        if (rc == TD_NET_OK)
            break;
        if (!td_exec_running(&p->exec))
            return child_gone(p, out);
        if (td_net_now_ms() >= deadline && !again)
            return not_up(p, out, true, p->port);
        if (td_net_now_ms() >= deadline)
            return run_conn(p, -1, "timeout", start, ours, post, post_arg, out);
        /* Not listening yet: again after 1, 2, 3, 4, then every 5 ms (a
         * shim listens after tens of ms; the case waits for the poll). */
        sleep_ms(pause < 5 ? ++pause : pause);
    }
    return run_conn(p, fd, NULL, td_net_now_ms(), ours, post, post_arg, out);
}

/* Closes connections nobody will serve (a previous child's leftovers). */
static void drain_backlog(int lfd)
{
    int fd;
    while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0)
        close(fd);
}

/* Our side is the server: start the client SUT (or, for the second
 * connection of a resumption, keep the one that resumes itself), accept. */
static td_err exec_client(net_peer *p, const td_config *ours, const td_config *sut,
                          td_scn_post_fn post, void *post_arg, td_scn_outcome *out)
{
    /* Only a ticket is resumed (TD_RESUME); an external PSK is TD_PSK_*. */
    bool second = sut->resume != NULL && !sut->resume->external;
    /* The runner's prerequisite connection of `resume ticket` carries no
     * hooks: a resumption follows on the next connection. */
    bool first = !second && ours->msg_hook == NULL && post == NULL;
    bool started = p->exec_server || !second || !td_exec_running(&p->exec);
    if (started) {
        td_exec_stop(&p->exec);
        drain_backlog(p->lfd);
        TD_CHECK(td_exec_start(&p->exec, ours, sut, p->lport,
                               first    ? "first"
                               : second ? "second"
                                        : ""));
        p->exec_server = false;
    }
    /* A fresh child has its start-up wait (peers.h), a running one connect_ms. */
    int64_t start = td_net_now_ms(),
            deadline = start + (int64_t)(started ? p->o.startup_ms : p->o.connect_ms);
    int fd = -1;
    char peer[64];
    bool restarted = false;
    for (;;) {
        int64_t slice = td_net_now_ms() + 50;
        td_net_rc rc =
            td_net_accept(p->lfd, -1, slice < deadline ? slice : deadline, &fd, peer, sizeof(peer));
        if (rc == TD_NET_OK)
            break;
        if (rc != TD_NET_TIMEOUT)
            return TD_ERR_IO;
        if (!td_exec_running(&p->exec)) {
            /* The first client did not resume by itself (it saved its
             * session and ended): a second one resumes from the file. */
            if (second && !restarted &&
                !td_exec_unsupported(&p->exec, out->note, sizeof(out->note))) {
                TD_CHECK(td_exec_start(&p->exec, ours, sut, p->lport, "second"));
                restarted = started = true;
                deadline = td_net_now_ms() + (int64_t)p->o.startup_ms;
                continue;
            }
            return child_gone(p, out);
        }
        if (td_net_now_ms() >= deadline && started)
            return not_up(p, out, false, p->lport);
        if (td_net_now_ms() >= deadline)
            return run_conn(p, -1, "timeout", start, ours, post, post_arg, out);
    }
    td_err err = run_conn(p, fd, NULL, td_net_now_ms(), ours, post, post_arg, out);
    if (err == TD_OK && first)
        out->has_session = td_exec_has_session(&p->exec) || td_exec_running(&p->exec);
    /* A client that resumes by itself (first) keeps running; else it is done. */
    if (!first)
        td_exec_stop(&p->exec);
    return err;
}

/* ---- the td_scn_peer ---- */

static td_err net_run(void *arg, const td_config *ours, const td_config *sut, unsigned max_rounds,
                      td_scn_post_fn post, void *post_arg, td_scn_outcome *out)
{
    net_peer *p = arg;
    (void)max_rounds; /* bounded by time here */
    memset(out, 0, sizeof(*out));
    if (ours->role == sut->role)
        return TD_ERR_ARG;
    bool sut_server = sut->role == TD_ROLE_SERVER;
    switch (p->kind) {
    case NET_TCP: {
        if (!sut_server)
            return unsupported(out, "the SUT there is a server; this case tests a client");
        TD_CHECK(check_remote_server(p, sut, out));
        int64_t start = td_net_now_ms();
        int fd = -1;
        char err[256];
        td_net_rc rc = td_net_connect(p->host, p->port, -1, start + (int64_t)p->o.connect_ms, &fd,
                                      err, sizeof(err));
        if (rc == TD_NET_ERROR || (!p->reached && rc != TD_NET_OK)) {
            /* Nothing answers there at all (refused, no route, no name, silence):
             * one error for the run, not a verdict per case. */
            snprintf(out->note, sizeof(out->note), "cannot connect to %.60s:%u: %.60s", p->host,
                     p->port,
                     rc == TD_NET_CLOSED    ? "connection refused"
                     : rc == TD_NET_TIMEOUT ? "no answer within the connect timeout"
                                            : err);
            out->unreachable = !p->reached;
            return TD_ERR_IO;
        }
        p->reached = true;
        return run_conn(p, rc == TD_NET_OK ? fd : -1,
                        rc == TD_NET_OK        ? NULL
                        : rc == TD_NET_TIMEOUT ? "timeout"
                                               : "closed",
                        start, ours, post, post_arg, out);
    }
    case NET_LISTEN: {
        if (sut_server)
            return unsupported(out, "the SUT there is a client; this case tests a server");
        if (sut->resume != NULL || (ours->msg_hook == NULL && post == NULL))
            return unsupported(out, "a resumption needs the client to resume: it cannot be asked");
        TD_CHECK(check_remote_client(p, sut, out));
        int64_t start = td_net_now_ms();
        int fd = -1;
        char peer[64];
        td_net_rc rc =
            td_net_accept(p->lfd, -1, start + (int64_t)p->o.case_ms, &fd, peer, sizeof(peer));
        if (rc == TD_NET_ERROR)
            return TD_ERR_IO;
        return run_conn(p, rc == TD_NET_OK ? fd : -1, rc == TD_NET_OK ? NULL : "timeout", start,
                        ours, post, post_arg, out);
    }
    case NET_EXEC:
        TD_CHECK(check_exec(sut, out));
        return sut_server ? exec_server(p, ours, sut, post, post_arg, out)
                          : exec_client(p, ours, sut, post, post_arg, out);
    }
    return TD_ERR_ARG;
}

bool td_scn_peer_net_spec(const char *spec)
{
    return strncmp(spec, "tcp:", 4) == 0 || strncmp(spec, "listen:", 7) == 0 ||
           strncmp(spec, "exec:", 5) == 0;
}

static td_err load_ref(const char *dir, const char *file, td_der **out, size_t *num)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    return td_certs_from_pem_file(path, out, num);
}

static td_err fail(char *err, size_t err_len, const char *fmt, ...) TD_PRINTF(3, 4);
static td_err fail(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
    return TD_ERR_ARG;
}

static td_err parse_spec(net_peer *p, const char *spec, char *err, size_t err_len)
{
    if (strncmp(spec, "tcp:", 4) == 0) {
        p->kind = NET_TCP;
        if (!td_net_split_hostport(spec + 4, p->host, sizeof(p->host), &p->port))
            return fail(err, err_len, "tcp:HOST:PORT expected, not '%s'", spec);
        return TD_OK;
    }
    if (strncmp(spec, "listen:", 7) == 0) {
        p->kind = NET_LISTEN;
        const char *a = spec + 7;
        if (strchr(a, ':') == NULL) {
            char buf[300];
            snprintf(buf, sizeof(buf), "127.0.0.1:%s", a);
            if (!td_net_split_hostport(buf, p->host, sizeof(p->host), &p->port))
                return fail(err, err_len, "listen:[HOST:]PORT expected, not '%s'", spec);
        } else if (!td_net_split_hostport(a, p->host, sizeof(p->host), &p->port)) {
            return fail(err, err_len, "listen:[HOST:]PORT expected, not '%s'", spec);
        }
        return TD_OK;
    }
    if (strncmp(spec, "exec:", 5) == 0 && spec[5] != '\0') {
        p->kind = NET_EXEC;
        return TD_OK;
    }
    return fail(err, err_len, "unknown peer '%s' (tcp:HOST:PORT, listen:[HOST:]PORT, exec:CMD)",
                spec);
}

td_err td_scn_peer_net_new(const char *spec, const td_peer_opts *opts, td_scn_peer *out, char *err,
                           size_t err_len)
{
    memset(out, 0, sizeof(*out));
    net_peer *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return TD_ERR_NOMEM;
    p->lfd = -1;
    p->exec.stdin_fd = -1;
    p->epoch = td_net_now_ms();
    if (opts != NULL)
        p->o = *opts;
    if (p->o.connect_ms == 0)
        p->o.connect_ms = 5000;
    if (p->o.startup_ms == 0)
        p->o.startup_ms = 10000;
    if (p->o.read_ms == 0)
        p->o.read_ms = 3000;
    if (p->o.case_ms == 0)
        p->o.case_ms = 15000;
    if (p->o.linger_ms == 0)
        p->o.linger_ms = 200;
    if (p->o.port_lo == 0 || p->o.port_hi < p->o.port_lo) {
        p->o.port_lo = 20000;
        p->o.port_hi = 29999;
    }
    snprintf(p->name, sizeof(p->name), "%.*s", (int)sizeof(p->name) - 1, spec);
    out->arg = p;
    out->name = p->name;
    out->run = net_run;
    td_err e = parse_spec(p, spec, err, err_len);
    if (e == TD_OK && p->kind == NET_EXEC) {
        e = td_exec_init(&p->exec, spec + 5);
        if (e != TD_OK)
            fail(err, err_len, "exec: cannot make a temporary directory");
    }
    if (e == TD_OK && (p->kind == NET_LISTEN || p->kind == NET_EXEC)) {
        p->lfd = td_net_listen(p->kind == NET_LISTEN ? p->host : "127.0.0.1",
                               p->kind == NET_LISTEN ? p->port : 0, &p->lport, err, err_len);
        if (p->lfd < 0)
            e = TD_ERR_IO;
    }
    if (e == TD_OK && opts != NULL && opts->cert_dir != NULL &&
        (load_ref(opts->cert_dir, "server-p256.chain.pem", &p->ref_cert, &p->num_ref_cert) !=
             TD_OK ||
         load_ref(opts->cert_dir, "ca.pem", &p->ref_ca, &p->num_ref_ca) != TD_OK))
        e = fail(err, err_len, "cannot read the reference certificates under %s", opts->cert_dir);
    if (e != TD_OK)
        td_scn_peer_net_free(out);
    return e;
}

void td_scn_peer_net_free(td_scn_peer *peer)
{
    if (peer == NULL || peer->arg == NULL)
        return;
    net_peer *p = peer->arg;
    if (p->kind == NET_EXEC || p->exec.cmd != NULL)
        td_exec_cleanup(&p->exec);
    if (p->lfd >= 0)
        close(p->lfd);
    td_der_list_free(p->ref_cert, p->num_ref_cert);
    td_der_list_free(p->ref_ca, p->num_ref_ca);
    free(p);
    peer->arg = NULL;
}

td_err td_peer_net_new(const char *spec, const td_peer_opts *opts, td_scn_peer *out, char *err,
                       size_t err_len)
{
    return td_scn_peer_net_new(spec, opts, out, err, err_len);
}

void td_peer_net_free(td_scn_peer *peer)
{
    td_scn_peer_net_free(peer);
}
