/* engine/peers/gnutls.c -- GnuTLS in process as the system under test: an
 * adapter of the SUT adapter API (tlsdrill/sut.h), `--peer gnutls-lib`.
 * The session's transport is two memory buffers (push/pull functions);
 * engine/peers/sut.c moves the bytes between it and our td_conn. The
 * exec: shim tools/peers/gnutls.sh (matrix column `gnutls`) drives the same
 * library through gnutls-serv/gnutls-cli over TCP: the network cross-check.
 *
 * Configured from the SUT's td_config through a priority string (TLS 1.3
 * only; suites, groups, signature schemes), certificate credentials, ALPN,
 * SNI, client auth, tickets with a fixed key, 0-RTT; the rest is
 * TD_ERR_UNSUPPORTED with a reason.
 *
 * GnuTLS leaves the alert of a failed handshake to the application
 * (gnutls_handshake returns the error): the adapter sends
 * gnutls_alert_send_appropriate() as gnutls-serv and gnutls-cli do, so
 * the alert is GnuTLS's own choice (gnutls_error_to_alert). GnuTLS draws
 * its own randomness: the bytes differ between runs, the verdicts do not. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "peer_kinds.h"
#include "tlsdrill/peer_stream.h"
#include "tlsdrill/sut.h"

#define GT_MAX_READS 64 /* gnutls_record_recv calls per step */

/* What outlives one connection: the session data a GnuTLS client keeps
 * for the second connection of a `resume ticket` case. */
typedef struct gt_keep {
    gnutls_datum_t session;
    /* A server with 0-RTT: GnuTLS accepts none without an anti-replay
     * context, and none for a ticket made before the context was (its
     * start time): one context for the peer's whole life. */
    gnutls_anti_replay_t anti_replay;
} gt_keep;

typedef struct gt_conn {
    td_sut_conn_head h; /* first: the configurations, the reason of an unsupported one */
    gt_keep *keep;
    gnutls_certificate_credentials_t cred;
    gnutls_priority_t prio;
    gnutls_datum_t ticket_key;
    gnutls_datum_t alpn[8];
    size_t num_alpn;
    unsigned init_flags;
    gnutls_session_t s;
    td_sut_state phase;
    bool completed, early_sent, tickets_sent;
    int alert; /* the alert we had GnuTLS send; -1 none */
    td_peer_stream keylog;
    char error[96];
} gt_conn;

/* ---- names in GnuTLS priority strings ---- */

static const char *suite_name(uint16_t s)
{
    switch (s) {
    case 0x1301: return "AES-128-GCM";
    case 0x1302: return "AES-256-GCM";
    case 0x1303: return "CHACHA20-POLY1305";
    case 0x1304: return "AES-128-CCM";
    case 0x1305: return "AES-128-CCM-8";
    default: return NULL;
    }
}

static const char *group_name(uint16_t g)
{
    switch (g) {
    case 0x0017: return "SECP256R1";
    case 0x0018: return "SECP384R1";
    case 0x0019: return "SECP521R1";
    case 0x001d: return "X25519";
    case 0x001e: return "X448";
    case 0x0100: return "FFDHE2048";
    case 0x0101: return "FFDHE3072";
    case 0x0102: return "FFDHE4096";
    case 0x0103: return "FFDHE6144";
    case 0x0104: return "FFDHE8192";
    default: return NULL;
    }
}

static const char *sig_name(uint16_t s)
{
    switch (s) {
    case 0x0201: return "RSA-SHA1";
    case 0x0203: return "ECDSA-SHA1";
    case 0x0401: return "RSA-SHA256";
    case 0x0501: return "RSA-SHA384";
    case 0x0601: return "RSA-SHA512";
    case 0x0403: return "ECDSA-SECP256R1-SHA256";
    case 0x0503: return "ECDSA-SECP384R1-SHA384";
    case 0x0603: return "ECDSA-SECP521R1-SHA512";
    case 0x0804: return "RSA-PSS-RSAE-SHA256";
    case 0x0805: return "RSA-PSS-RSAE-SHA384";
    case 0x0806: return "RSA-PSS-RSAE-SHA512";
    case 0x0807: return "EdDSA-Ed25519";
    case 0x0808: return "EdDSA-Ed448";
    case 0x0809: return "RSA-PSS-SHA256";
    case 0x080a: return "RSA-PSS-SHA384";
    case 0x080b: return "RSA-PSS-SHA512";
    default: return NULL;
    }
}

/* The engine's defaults (td_config: NULL lists), so that GnuTLS offers and
 * accepts what the engine would. */
static const uint16_t default_suites[] = {0x1301, 0x1302, 0x1303};
static const uint16_t default_groups[] = {0x001d, 0x0017, 0x0018};
static const uint16_t default_sigalgs[] = {0x0403, 0x0503, 0x0804, 0x0805, 0x0806, 0x0807};

static td_err add(char *buf, size_t cap, const char *kind, const char *name)
{
    size_t n = strlen(buf);
    int w = snprintf(buf + n, cap - n, ":+%s%s", kind, name);
    return w > 0 && (size_t)w < cap - n ? TD_OK : TD_ERR_LIMIT;
}

/* NORMAL's key exchanges and MACs; everything else from the configuration. */
static td_err set_priority(gt_conn *g, const uint16_t *groups, size_t num_groups)
{
    const td_config *c = g->h.sut;
    char buf[1024] = "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:-GROUP-ALL:-SIGN-ALL";
    const uint16_t *l = c->num_suites ? c->suites : default_suites;
    size_t n = c->num_suites ? c->num_suites : 3;
    for (size_t i = 0; i < n; i++) {
        const char *name = suite_name(l[i]);
        if (name == NULL)
            return td_sut_unsupported(&g->h, "GnuTLS has no TLS 1.3 cipher suite 0x%04x", l[i]);
        TD_CHECK(add(buf, sizeof(buf), "", name));
    }
    for (size_t i = 0; i < num_groups; i++) {
        const char *name = group_name(groups[i]);
        if (name == NULL)
            return td_sut_unsupported(&g->h, "GnuTLS has no TLS 1.3 group 0x%04x", groups[i]);
        TD_CHECK(add(buf, sizeof(buf), "GROUP-", name));
    }
    l = c->num_sigalgs ? c->sigalgs : default_sigalgs;
    n = c->num_sigalgs ? c->num_sigalgs : 6;
    for (size_t i = 0; i < n; i++) {
        const char *name = sig_name(l[i]);
        if (name == NULL)
            return td_sut_unsupported(&g->h, "GnuTLS has no signature scheme 0x%04x", l[i]);
        TD_CHECK(add(buf, sizeof(buf), "SIGN-", name));
    }
    if (c->role == TD_ROLE_CLIENT && !c->compat_mode) {
        size_t len = strlen(buf);
        int w = snprintf(buf + len, sizeof(buf) - len, ":%%DISABLE_TLS13_COMPAT_MODE");
        if (w < 0 || (size_t)w >= sizeof(buf) - len)
            return TD_ERR_LIMIT;
    }
    const char *at = NULL;
    int r = gnutls_priority_init2(&g->prio, buf, &at, 0);
    if (r < 0)
        return td_sut_unsupported(&g->h, "GnuTLS refused the priority string at \"%.40s\" (%s)",
                                  at ? at : "?", gnutls_strerror(r));
    return TD_OK;
}

static td_err add_cert(gt_conn *g, const td_cert_key *ck)
{
    gnutls_x509_crt_t crts[8];
    gnutls_x509_privkey_t key = NULL;
    size_t n = 0;
    uint8_t *der = NULL;
    size_t der_len = 0;
    td_err ret = TD_OK;
    if (ck->num_chain == 0 || ck->num_chain > 8)
        return td_sut_unsupported(&g->h, "a certificate chain of %zu certificates", ck->num_chain);
    for (; n < ck->num_chain; n++) {
        gnutls_datum_t d = {(unsigned char *)ck->chain[n].data, (unsigned)ck->chain[n].len};
        if (gnutls_x509_crt_init(&crts[n]) < 0)
            TD_GUARD(TD_ERR_NOMEM);
        if (gnutls_x509_crt_import(crts[n], &d, GNUTLS_X509_FMT_DER) < 0) {
            n++;
            TD_GUARD(td_sut_unsupported(&g->h, "GnuTLS cannot parse certificate %zu of the chain",
                                        n - 1));
        }
    }
    TD_GUARD(td_sut_key_der(ck->key, &der, &der_len));
    gnutls_datum_t kd = {der, (unsigned)der_len};
    if (gnutls_x509_privkey_init(&key) < 0)
        TD_GUARD(TD_ERR_NOMEM);
    if (gnutls_x509_privkey_import2(key, &kd, GNUTLS_X509_FMT_DER, NULL, GNUTLS_PKCS_PLAIN) < 0)
        TD_GUARD(td_sut_unsupported(&g->h, "GnuTLS cannot import the private key"));
    int r = gnutls_certificate_set_x509_key(g->cred, crts, (unsigned)n, key);
    if (r < 0)
        TD_GUARD(td_sut_unsupported(&g->h, "GnuTLS refused the certificate and key (%s)",
                                    gnutls_strerror(r)));
out:
    for (size_t i = 0; i < n; i++)
        gnutls_x509_crt_deinit(crts[i]);
    if (key != NULL)
        gnutls_x509_privkey_deinit(key);
    td_sut_secret_free(der, der_len);
    return ret;
}

/* A certificate bound to a name (`server sni HOST`): no server_name ->
 * missing_extension (RFC 8446 §9.2), another name -> unrecognized_name
 * (RFC 6066 §3), as the engine's server is configured to do. */
static int post_client_hello(gnutls_session_t s)
{
    gt_conn *g = gnutls_session_get_ptr(s);
    char name[256];
    size_t len = sizeof(name);
    unsigned type = 0;
    if (gnutls_server_name_get(s, name, &len, &type, 0) < 0 || type != GNUTLS_NAME_DNS)
        return GNUTLS_E_MISSING_EXTENSION;
    return strcmp(name, g->h.sut->certs[0].sni) == 0 ? 0 : GNUTLS_E_UNRECOGNIZED_NAME;
}

/* GnuTLS's secrets as NSS key log lines (the alerts our side cannot read). */
static int keylog_cb(gnutls_session_t s, const char *label, const gnutls_datum_t *secret)
{
    gt_conn *g = gnutls_session_get_ptr(s);
    gnutls_datum_t cr, sr;
    gnutls_session_get_random(s, &cr, &sr);
    if (cr.size == 32 &&
        td_sut_keylog_add(&g->keylog, label, cr.data, secret->data, secret->size) != TD_OK)
        return 0; /* past the cap: the rest is not needed */
    return 0;
}

static ssize_t push(gnutls_transport_ptr_t p, const void *data, size_t len)
{
    gt_conn *g = p;
    if (td_peer_stream_add(&g->h.io.out, data, len) != TD_OK) {
        gnutls_transport_set_errno(g->s, ENOMEM);
        return -1;
    }
    return (ssize_t)len;
}

static ssize_t pull(gnutls_transport_ptr_t p, void *data, size_t len)
{
    gt_conn *g = p;
    size_t n = td_sut_pipe_read(&g->h.io, data, len);
    if (n == 0) {
        gnutls_transport_set_errno(g->s, EAGAIN);
        return -1;
    }
    return (ssize_t)n;
}

/* Every 0-RTT ClientHello is new to us: each connection is made fresh, so
 * a replay cache would only test itself (the openssl adapter turns libssl's
 * off the same way, SSL_OP_NO_ANTI_REPLAY). */
static int anti_replay_add(void *arg, time_t exp, const gnutls_datum_t *key,
                           const gnutls_datum_t *data)
{
    (void)arg, (void)exp, (void)key, (void)data;
    return 0;
}

/* The fixed ticket key of every GnuTLS server we make: a ticket from the
 * first connection of a `resume ticket` case opens in the second. */
static const unsigned char ticket_key[64] =
    "tlsdrill gnutls peer: fixed ticket master key, 64 bytes.........";

static td_err config_server(gt_conn *g)
{
    const td_config *c = g->h.sut, *ours = g->h.ours;
    if (c->hrr_cookie)
        return td_sut_unsupported(&g->h,
                                  "GnuTLS's server sends no cookie in its HelloRetryRequest");
    if (c->psks != NULL || c->inject != NULL)
        return td_sut_unsupported(&g->h, "external PSKs / injected values");
    if (c->post_handshake_auth != TD_CLIENT_AUTH_NONE)
        return td_sut_unsupported(
            &g->h, "post-handshake client authentication (not driven in memory yet)");
    if (c->num_certs == 0)
        return td_sut_unsupported(&g->h, "no server certificate");
    if (c->num_certs > 1)
        return td_sut_unsupported(&g->h, "several server certificates");
    if (c->max_fragment != 0)
        return td_sut_unsupported(&g->h,
                                  "GnuTLS limits its records only through record_size_limit");
    /* HRR on demand: GnuTLS only asks again when no share of the client is
     * in its groups, so leave the client's share groups out. */
    const uint16_t *gr = c->groups ? c->groups : default_groups;
    size_t ng = c->groups ? c->num_groups : 3;
    uint16_t keep[32];
    if (c->hrr == TD_HRR_ALWAYS) {
        size_t nk = td_sut_hrr_groups(ours, gr, ng, default_groups, 3, keep, 32);
        if (nk == 0)
            return td_sut_unsupported(&g->h,
                                      "hrr always: every group both sides share has a key share, "
                                      "GnuTLS would not ask again");
        gr = keep;
        ng = nk;
    }
    TD_CHECK(set_priority(g, gr, ng));
    TD_CHECK(add_cert(g, &c->certs[0]));
    g->init_flags = GNUTLS_SERVER | GNUTLS_NONBLOCK | GNUTLS_NO_AUTO_SEND_TICKET;
    if (c->num_tickets == 0)
        g->init_flags |= GNUTLS_NO_TICKETS;
    if (c->accept_early_data && c->max_early_data > 0) {
        g->init_flags |= GNUTLS_ENABLE_EARLY_DATA;
    }
    g->ticket_key = (gnutls_datum_t){(unsigned char *)ticket_key, sizeof(ticket_key)};
    return TD_OK;
}

static td_err config_client(gt_conn *g)
{
    const td_config *c = g->h.sut;
    const uint16_t *gr = c->groups ? c->groups : default_groups;
    size_t ng = c->groups ? c->num_groups : 3;
    /* GnuTLS sends key shares for its first group (and the first of the
     * other kind, EC or FFDHE): one list of ours only when it matches. */
    if (c->share_groups != NULL && !(c->num_share_groups == 1 && c->share_groups[0] == gr[0]))
        return td_sut_unsupported(
            &g->h, "GnuTLS chooses its own key shares (its first group of each kind)");
    if (c->psk_ke_only)
        return td_sut_unsupported(
            &g->h, "GnuTLS offers psk_ke only with PSK credentials, not for tickets");
    if (c->resume != NULL && c->resume->external)
        return td_sut_unsupported(&g->h,
                                  "the gnutls-lib adapter gives a GnuTLS client no external PSK");
    if (c->offer_post_handshake_auth)
        return td_sut_unsupported(&g->h, "post_handshake_auth (not driven in memory yet)");
    if (c->psks != NULL || c->inject != NULL || c->renegotiation_info || c->session_ticket_ext ||
        c->record_size_limit || c->ch_padding)
        return td_sut_unsupported(
            &g->h, "external PSKs, injected values or legacy ClientHello extensions");
    if (c->max_fragment != 0)
        return td_sut_unsupported(&g->h,
                                  "GnuTLS limits its records only through record_size_limit");
    TD_CHECK(set_priority(g, gr, ng));
    if (c->num_certs > 0)
        TD_CHECK(add_cert(g, &c->certs[0]));
    g->init_flags = GNUTLS_CLIENT | GNUTLS_NONBLOCK;
    if (c->resume != NULL && c->early_data_len > 0)
        g->init_flags |= GNUTLS_ENABLE_EARLY_DATA;
    return TD_OK;
}

static td_err make_cred(gt_conn *g)
{
    const td_config *c = g->h.sut;
    if (gnutls_certificate_allocate_credentials(&g->cred) < 0)
        return TD_ERR_NOMEM;
    if (c->trust_anchor != NULL) {
        gnutls_datum_t d = {(unsigned char *)c->trust_anchor, (unsigned)c->trust_anchor_len};
        if (gnutls_certificate_set_x509_trust_mem(g->cred, &d, GNUTLS_X509_FMT_DER) < 1)
            return td_sut_unsupported(&g->h, "GnuTLS refused the trust anchor");
    }
    for (size_t i = 0; i < c->num_alpn && i < 8; i++) {
        size_t len = strlen(c->alpn[i]);
        if (len == 0 || len > 255)
            return td_sut_unsupported(&g->h, "ALPN protocol GnuTLS cannot send");
        g->alpn[g->num_alpn++] = (gnutls_datum_t){(unsigned char *)c->alpn[i], (unsigned)len};
    }
    if (c->num_alpn > 8)
        return td_sut_unsupported(&g->h, "more than 8 ALPN protocols");
    return c->role == TD_ROLE_SERVER ? config_server(g) : config_client(g);
}

/* A fresh session on the credentials (conn_new, reset). */
static td_err make_session(gt_conn *g)
{
    const td_config *c = g->h.sut;
    g->phase = TD_SUT_HANDSHAKE;
    g->completed = g->early_sent = g->tickets_sent = false;
    g->alert = -1;
    g->error[0] = '\0';
    td_sut_pipe_clear(&g->h.io);
    g->keylog.len = 0;
    if (gnutls_init(&g->s, g->init_flags) < 0)
        return TD_ERR_NOMEM;
    gnutls_session_set_ptr(g->s, g);
    gnutls_transport_set_ptr(g->s, g);
    gnutls_transport_set_push_function(g->s, push);
    gnutls_transport_set_pull_function(g->s, pull);
    gnutls_session_set_keylog_function(g->s, keylog_cb);
    if (gnutls_priority_set(g->s, g->prio) < 0 ||
        gnutls_credentials_set(g->s, GNUTLS_CRD_CERTIFICATE, g->cred) < 0)
        return TD_ERR_CRYPTO;
    if (g->num_alpn > 0) {
        /* RFC 7301 §3.2 with server preference, no overlap fatal
         * (no_application_protocol), as the engine's server does. */
        unsigned fl =
            c->role == TD_ROLE_SERVER ? GNUTLS_ALPN_SERVER_PRECEDENCE | GNUTLS_ALPN_MANDATORY : 0;
        if (gnutls_alpn_set_protocols(g->s, g->alpn, (unsigned)g->num_alpn, fl) < 0)
            return TD_ERR_CRYPTO;
    }
    if (c->role == TD_ROLE_SERVER) {
        if (c->num_tickets > 0 && gnutls_session_ticket_enable_server(g->s, &g->ticket_key) < 0)
            return TD_ERR_CRYPTO;
        gnutls_db_set_cache_expiration(g->s, c->ticket_lifetime_s ? (int)c->ticket_lifetime_s
                                                                  : 7 * 86400);
        /* The tickets' max_early_data (RFC 8446 §4.6.1), whether this connection accepts 0-RTT or
         * not. */
        if (c->max_early_data > 0 &&
            gnutls_record_set_max_early_data_size(g->s, c->max_early_data) < 0)
            return TD_ERR_CRYPTO;
        if (g->init_flags & GNUTLS_ENABLE_EARLY_DATA)
            gnutls_anti_replay_enable(g->s, g->keep->anti_replay);
        if (c->certs[0].sni != NULL)
            gnutls_handshake_set_post_client_hello_function(g->s, post_client_hello);
        gnutls_certificate_server_set_request(
            g->s, c->client_auth == TD_CLIENT_AUTH_REQUIRE   ? GNUTLS_CERT_REQUIRE
                  : c->client_auth == TD_CLIENT_AUTH_REQUEST ? GNUTLS_CERT_REQUEST
                                                             : GNUTLS_CERT_IGNORE);
        if (c->client_auth != TD_CLIENT_AUTH_NONE)
            gnutls_session_set_verify_cert(g->s, NULL, 0);
        return TD_OK;
    }
    if (c->server_name != NULL &&
        gnutls_server_name_set(g->s, GNUTLS_NAME_DNS, c->server_name, strlen(c->server_name)) < 0)
        return td_sut_unsupported(&g->h, "GnuTLS refused server_name \"%s\"", c->server_name);
    if (!c->no_verify) {
        /* The name is checked when the case names one (verify_name), as the engine does. */
        gnutls_session_set_verify_cert(g->s, c->verify_name, 0);
    }
    if (c->resume != NULL) {
        if (g->keep->session.data == NULL)
            return td_sut_unsupported(&g->h, "resume: the first connection left GnuTLS no session");
        if (gnutls_session_set_data(g->s, g->keep->session.data, g->keep->session.size) < 0)
            return TD_ERR_CRYPTO;
    } else {
        gnutls_free(g->keep->session.data);
        g->keep->session = (gnutls_datum_t){NULL, 0};
    }
    return TD_OK;
}

/* ---- the exchange ---- */

/* A fatal GnuTLS error |r|: the alert GnuTLS says it stands for, sent as
 * gnutls-serv/gnutls-cli do (none for an alert received or a close). */
static void failed(gt_conn *g, int r)
{
    g->phase = TD_SUT_FAILED;
    if (g->error[0] == '\0')
        snprintf(g->error, sizeof(g->error), "%s", gnutls_strerror(r));
    if (r == GNUTLS_E_FATAL_ALERT_RECEIVED || r == GNUTLS_E_PREMATURE_TERMINATION ||
        r == GNUTLS_E_PUSH_ERROR)
        return;
    int level = 0;
    int desc = gnutls_error_to_alert(r, &level);
    if (desc >= 0 && gnutls_alert_send_appropriate(g->s, r) == 0)
        g->alert = desc;
}

/* A client's ticket (TLS 1.3: after the handshake, once a NewSessionTicket came). */
static void keep_session(gt_conn *g)
{
    if (g->h.sut->role != TD_ROLE_CLIENT ||
        !(gnutls_session_get_flags(g->s) & GNUTLS_SFLAGS_SESSION_TICKET))
        return;
    gnutls_datum_t d = {NULL, 0};
    if (gnutls_session_get_data2(g->s, &d) < 0)
        return;
    gnutls_free(g->keep->session.data);
    g->keep->session = d;
}

static td_err gt_step(void *conn, bool *out_changed)
{
    gt_conn *g = conn;
    td_sut_state before = g->phase;
    uint8_t buf[4096];
    int r;
    if (g->phase == TD_SUT_HANDSHAKE) {
        if ((g->init_flags & GNUTLS_ENABLE_EARLY_DATA) && g->h.sut->role == TD_ROLE_CLIENT &&
            !g->early_sent) {
            g->early_sent = true;
            if (gnutls_record_send_early_data(g->s, g->h.sut->early_data,
                                              g->h.sut->early_data_len) < 0)
                g->init_flags &= ~(unsigned)GNUTLS_ENABLE_EARLY_DATA; /* not offered */
        }
        /* GnuTLS may return GNUTLS_E_AGAIN with our bytes still unread (a
         * record it set aside): call again while it makes progress. Like
         * gnutls-cli and the documented loop, a non-fatal return (e.g.
         * GNUTLS_E_WARNING_ALERT_RECEIVED) goes on: whether the library
         * treats a warning-level error alert as the error RFC 8446 §6 says it
         * is ("MUST be treated as error alerts when received regardless of
         * the AlertLevel") is what the alert cases test. */
        for (int i = 0; i < 4096; i++) {
            size_t left = g->h.io.in.len - g->h.io.in_at;
            r = gnutls_handshake(g->s);
            if (r == 0)
                g->phase = TD_SUT_CONNECTED;
            else if (r != GNUTLS_E_AGAIN && r != GNUTLS_E_INTERRUPTED &&
                     gnutls_error_is_fatal(r))
                failed(g, r);
            if (g->phase != TD_SUT_HANDSHAKE || g->h.io.in.len - g->h.io.in_at == 0 ||
                g->h.io.in.len - g->h.io.in_at == left)
                break;
        }
        if (g->h.sut->role == TD_ROLE_SERVER && (g->init_flags & GNUTLS_ENABLE_EARLY_DATA))
            while (gnutls_record_recv_early_data(g->s, buf, sizeof(buf)) > 0)
                ; /* 0-RTT read and dropped */
    }
    if (g->phase == TD_SUT_CONNECTED) {
        g->completed = true;
        if (!g->tickets_sent && g->h.sut->role == TD_ROLE_SERVER && g->h.sut->num_tickets > 0) {
            g->tickets_sent = true;
            r = gnutls_session_ticket_send(g->s, g->h.sut->num_tickets, 0);
            if (r < 0 && r != GNUTLS_E_AGAIN)
                failed(g, r);
        }
        /* Post-handshake messages (tickets, KeyUpdate), data, close_notify. */
        for (int i = 0; i < GT_MAX_READS && g->phase == TD_SUT_CONNECTED; i++) {
            r = (int)gnutls_record_recv(g->s, buf, sizeof(buf));
            if (r == 0)
                g->phase = TD_SUT_CLOSED;
            else if ((r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) && g->h.io.in.len == 0)
                break; /* (with our bytes unread: again, as in the handshake) */
            else if (r < 0 && gnutls_error_is_fatal(r))
                failed(g, r);
        }
        keep_session(g);
    }
    *out_changed = g->phase != before;
    return TD_OK;
}

static void gt_status(void *conn, td_sut_status *out)
{
    gt_conn *g = conn;
    memset(out, 0, sizeof(*out));
    out->state = g->phase;
    out->completed = g->completed;
    out->resumed = g->completed && gnutls_session_is_resumed(g->s) != 0;
    out->alert_desc = g->alert;
    if (g->h.sut->role == TD_ROLE_CLIENT && g->keep->session.data != NULL) {
        /* TLS 1.3: the AEAD names the suite. */
        out->has_session = true;
        gnutls_cipher_algorithm_t ci = gnutls_cipher_get(g->s);
        out->session_suite = ci == GNUTLS_CIPHER_AES_256_GCM         ? 0x1302
                             : ci == GNUTLS_CIPHER_CHACHA20_POLY1305 ? 0x1303
                             : ci == GNUTLS_CIPHER_AES_128_CCM       ? 0x1304
                             : ci == GNUTLS_CIPHER_AES_128_CCM_8     ? 0x1305
                                                                     : 0x1301;
    }
    snprintf(out->error, sizeof(out->error), "%s", g->error);
}

static const char *gt_keylog(void *conn, size_t *out_len)
{
    gt_conn *g = conn;
    *out_len = g->keylog.len;
    return (const char *)g->keylog.data;
}

static void free_session(gt_conn *g)
{
    if (g->s != NULL)
        gnutls_deinit(g->s);
    g->s = NULL;
}

static void gt_conn_free(void *conn)
{
    gt_conn *g = conn;
    if (g == NULL)
        return;
    free_session(g);
    if (g->prio != NULL)
        gnutls_priority_deinit(g->prio);

    if (g->cred != NULL)
        gnutls_certificate_free_credentials(g->cred);
    td_sut_keylog_free(&g->keylog);
    td_sut_pipe_free(&g->h.io);
    free(g);
}

static td_err gt_reset(void *conn)
{
    gt_conn *g = conn;
    free_session(g);
    return make_session(g);
}

static td_err gt_setup(void *conn, void *keep)
{
    gt_conn *g = conn;
    g->keep = keep;
    td_err err = make_cred(g);
    return err == TD_OK ? make_session(g) : err;
}

static td_err gt_conn_new(void *keep, const td_config *sut, const td_config *ours, void **out,
                          char *why, size_t why_len)
{
    return td_sut_conn_new(sizeof(gt_conn), keep, sut, ours, why, why_len, gt_setup, gt_conn_free,
                           out);
}

static td_err gt_keep_new(void **out)
{
    gt_keep *k = calloc(1, sizeof(*k));
    *out = k;
    if (k == NULL)
        return TD_ERR_NOMEM;
    if (gnutls_anti_replay_init(&k->anti_replay) < 0) {
        free(k);
        *out = NULL;
        return TD_ERR_NOMEM;
    }
    gnutls_anti_replay_set_add_function(k->anti_replay, anti_replay_add);
    return TD_OK;
}

static void gt_keep_free(void *keep)
{
    gt_keep *k = keep;
    if (k == NULL)
        return;
    gnutls_free(k->session.data);
    gnutls_anti_replay_deinit(k->anti_replay);
    free(k);
}

static void gt_version(char *buf, size_t len)
{
    snprintf(buf, len, "GnuTLS %s", gnutls_check_version(NULL));
}

const td_sut_adapter td_sut_gnutls = {
    .name = "gnutls-lib",
    .library = "GnuTLS",
    .version = gt_version,
    .keep_new = gt_keep_new,
    .keep_free = gt_keep_free,
    .conn_new = gt_conn_new,
    .reset = gt_reset,
    .feed = td_sut_feed,
    .step = gt_step,
    .drain = td_sut_drain,
    .status = gt_status,
    .keylog = gt_keylog,
    .conn_free = gt_conn_free,
};
