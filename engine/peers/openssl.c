/* engine/peers/openssl.c -- OpenSSL's libssl in process as the system under
 * test: the first adapter of the SUT adapter API (tlsdrill/sut.h). The SUT
 * is an SSL object over memory BIOs; engine/peers/sut.c moves the bytes
 * between it and our td_conn.
 *
 * The SSL is configured from the SUT's td_config as far as libssl can
 * express it (TLS 1.3 only, suites, groups, signature algorithms, the test
 * certificates, trust anchor, ALPN, SNI, client auth, tickets, 0-RTT, HRR
 * forced through the groups, HRR cookies through SSL_stateless() and its
 * cookie callbacks). What it cannot express is reported as
 * TD_ERR_UNSUPPORTED with a reason, so the runner says `unsupported`
 * instead of failing the SUT for our inability to configure it.
 *
 * Our side holds the keys: the alert libssl sends is read from our
 * td_conn's status (alert_received), decrypted; libssl's key log (its
 * callback) opens the alerts our side cannot. libssl draws its own
 * randomness, so with this peer runs are not byte-for-byte reproducible. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "peer_kinds.h"
#include "tlsdrill/peer_stream.h"
#include "tlsdrill/sut.h"

#define OSSL_MAX_READS 64 /* SSL_read calls per step */

/* What outlives one connection: the session an openssl client keeps for
 * the second connection of a `resume ticket` case. */
typedef struct ossl_keep {
    SSL_SESSION *session;
} ossl_keep;

typedef enum ossl_phase {
    OP_STATELESS, /* SSL_stateless(): an HRR with a cookie until a ClientHello echoes it */
    OP_EARLY_WRITE,
    OP_EARLY_READ,
    OP_HANDSHAKE,
    OP_CONNECTED,
    OP_FAILED,
    OP_CLOSED
} ossl_phase;

typedef td_peer_stream stream;

/* One connection: the SUT's SSL and its context. */
typedef struct link {
    td_sut_conn_head h; /* first: the configurations, the reason of an unsupported one */
    ossl_keep *keep;
    SSL_CTX *ctx;
    SSL *ssl;
    BIO *rbio, *wbio; /* the SSL reads rbio (our bytes) and writes wbio */
    ossl_phase phase, start_phase;
    bool completed;
    stream keylog;  /* the SUT's NSS key log lines of the current connection */
    stream drained; /* the last drain() */
    char error[96];
} link;

/* ---- small helpers ---- */

static const char *suite_name(uint16_t s)
{
    switch (s) {
    case 0x1301: return "TLS_AES_128_GCM_SHA256";
    case 0x1302: return "TLS_AES_256_GCM_SHA384";
    case 0x1303: return "TLS_CHACHA20_POLY1305_SHA256";
    case 0x1304: return "TLS_AES_128_CCM_SHA256";
    case 0x1305: return "TLS_AES_128_CCM_8_SHA256";
    default: return NULL;
    }
}

static int group_nid(uint16_t g)
{
    switch (g) {
    case 0x0017: return NID_X9_62_prime256v1;
    case 0x0018: return NID_secp384r1;
    case 0x0019: return NID_secp521r1;
    case 0x001d: return NID_X25519;
    case 0x001e: return NID_X448;
    case 0x0100: return NID_ffdhe2048;
    case 0x0101: return NID_ffdhe3072;
    case 0x0102: return NID_ffdhe4096;
    case 0x0103: return NID_ffdhe6144;
    case 0x0104: return NID_ffdhe8192;
    default: return NID_undef;
    }
}

/* The engine's defaults (td_config: NULL lists), set explicitly so that
 * libssl offers and accepts the same as the engine would (libssl's own
 * defaults add x448, secp521r1, ffdhe and PKCS#1/SHA-1 schemes). */
static const uint16_t default_suites[] = {0x1301, 0x1302, 0x1303};
static const uint16_t default_groups[] = {0x001d, 0x0017, 0x0018};
static const uint16_t default_sigalgs[] = {0x0403, 0x0503, 0x0804, 0x0805, 0x0806, 0x0807};

/* ---- configuration ---- */

static td_err set_suites(link *l)
{
    const td_config *c = l->h.sut;
    const uint16_t *list = c->num_suites ? c->suites : default_suites;
    size_t num = c->num_suites ? c->num_suites : 3;
    char buf[512] = "";
    for (size_t i = 0; i < num; i++) {
        const char *n = suite_name(list[i]);
        if (n == NULL)
            return td_sut_unsupported(&l->h, "libssl has no TLS 1.3 cipher suite 0x%04x", list[i]);
        if (strlen(buf) + strlen(n) + 2 > sizeof(buf))
            return TD_ERR_LIMIT;
        if (buf[0] != '\0')
            strcat(buf, ":");
        strcat(buf, n);
    }
    return SSL_CTX_set_ciphersuites(l->ctx, buf) == 1
               ? TD_OK
               : td_sut_unsupported(&l->h, "libssl refused suites %s", buf);
}

static td_err set_groups(link *l, const uint16_t *groups, size_t n)
{
    int nids[32];
    if (n > 32)
        return TD_ERR_LIMIT;
    for (size_t i = 0; i < n; i++) {
        nids[i] = group_nid(groups[i]);
        if (nids[i] == NID_undef)
            return td_sut_unsupported(&l->h, "libssl has no TLS 1.3 group 0x%04x", groups[i]);
    }
    return SSL_CTX_set1_groups(l->ctx, nids, (long)n) == 1
               ? TD_OK
               : td_sut_unsupported(&l->h, "libssl refused the groups");
}

static td_err set_sigalgs(link *l)
{
    const td_config *c = l->h.sut;
    const uint16_t *list = c->num_sigalgs ? c->sigalgs : default_sigalgs;
    size_t num = c->num_sigalgs ? c->num_sigalgs : 6;
    char buf[1024] = "";
    for (size_t i = 0; i < num; i++) {
        const char *n = td_sig_name(list[i]);
        if (n == NULL)
            return td_sut_unsupported(&l->h, "no name for signature scheme 0x%04x", list[i]);
        if (strlen(buf) + strlen(n) + 2 > sizeof(buf))
            return TD_ERR_LIMIT;
        if (buf[0] != '\0')
            strcat(buf, ":");
        strcat(buf, n);
    }
    if (SSL_CTX_set1_sigalgs_list(l->ctx, buf) != 1 ||
        SSL_CTX_set1_client_sigalgs_list(l->ctx, buf) != 1)
        return td_sut_unsupported(&l->h, "libssl refused signature algorithms %s", buf);
    return TD_OK;
}

static td_err set_cert(link *l, const td_cert_key *ck)
{
    EVP_PKEY *pk = td_pkey_evp(ck->key);
    if (ck->num_chain == 0 || pk == NULL)
        return TD_ERR_ARG;
    for (size_t i = 0; i < ck->num_chain; i++) {
        const unsigned char *p = ck->chain[i].data;
        X509 *x = d2i_X509(NULL, &p, (long)ck->chain[i].len);
        if (x == NULL)
            return TD_ERR_FORMAT;
        int ok = i == 0 ? SSL_CTX_use_certificate(l->ctx, x) : SSL_CTX_add1_chain_cert(l->ctx, x);
        X509_free(x);
        if (ok != 1)
            return td_sut_unsupported(
                &l->h, "libssl refused certificate %zu of the chain (security level?)", i);
    }
    if (SSL_CTX_use_PrivateKey(l->ctx, pk) != 1 || SSL_CTX_check_private_key(l->ctx) != 1)
        return td_sut_unsupported(&l->h, "libssl refused the private key");
    return TD_OK;
}

static td_err set_trust(link *l)
{
    const td_config *c = l->h.sut;
    if (c->trust_anchor == NULL)
        return TD_OK;
    const unsigned char *p = c->trust_anchor;
    X509 *x = d2i_X509(NULL, &p, (long)c->trust_anchor_len);
    if (x == NULL)
        return TD_ERR_FORMAT;
    int ok = X509_STORE_add_cert(SSL_CTX_get_cert_store(l->ctx), x);
    X509_free(x);
    return ok == 1 ? TD_OK : TD_ERR_CRYPTO;
}

/* RFC 7301 §3.2 with server preference, as the engine does: the first of
 * our protocols the client offered; none in common: no_application_protocol. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    const td_config *c = arg;
    (void)ssl;
    for (size_t i = 0; i < c->num_alpn; i++) {
        size_t n = strlen(c->alpn[i]);
        for (unsigned int o = 0; o < inlen;) {
            unsigned int len = in[o];
            if (o + 1 + len > inlen)
                break;
            if (len == n && memcmp(in + o + 1, c->alpn[i], n) == 0) {
                *out = in + o + 1;
                *outlen = (unsigned char)len;
                return SSL_TLSEXT_ERR_OK;
            }
            o += 1 + len;
        }
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* A certificate bound to a name (`server sni HOST`): no server_name ->
 * missing_extension (RFC 8446 §9.2), another name -> unrecognized_name
 * (RFC 6066 §3), as the engine's server is configured to do. */
static int servername_cb(SSL *ssl, int *alert, void *arg)
{
    const td_config *c = arg;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    const char *want = c->certs[0].sni;
    if (name == NULL) {
        *alert = SSL_AD_MISSING_EXTENSION;
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    if (strcmp(name, want) != 0) {
        *alert = SSL_AD_UNRECOGNIZED_NAME;
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    return SSL_TLSEXT_ERR_OK;
}

/* libssl's key log (NSS format), kept to read alerts our side cannot decrypt. */
static void keylog_cb(const SSL *ssl, const char *line)
{
    link *l = SSL_get_app_data(ssl);
    if (td_peer_stream_add(&l->keylog, (const uint8_t *)line, strlen(line)) != TD_OK ||
        td_peer_stream_add(&l->keylog, (const uint8_t *)"\n", 1) != TD_OK)
        return; /* past the cap: the rest is not needed */
}

static int new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
    link *l = SSL_get_app_data(ssl);
    SSL_SESSION_free(l->keep->session);
    l->keep->session = sess;
    return 1; /* we keep the reference */
}

/* The fixed ticket key of every openssl server we make: a ticket from the
 * first connection of a `resume ticket` case opens in the second. */
static const unsigned char ticket_keys[80] =
    "tlsdrill openssl peer: ticket name, HMAC and AES keys, fixed.....";

/* The application part of libssl's stateless cookie (libssl adds the
 * transcript hash and an HMAC over the whole). */
static const unsigned char app_cookie[] = "tlsdrill-cookie";

static int cookie_generate(SSL *ssl, unsigned char *cookie, size_t *len)
{
    (void)ssl;
    memcpy(cookie, app_cookie, sizeof(app_cookie));
    *len = sizeof(app_cookie);
    return 1;
}

static int cookie_verify(SSL *ssl, const unsigned char *cookie, size_t len)
{
    (void)ssl;
    return len == sizeof(app_cookie) && memcmp(cookie, app_cookie, len) == 0;
}

static td_err config_server(link *l)
{
    const td_config *c = l->h.sut, *ours = l->h.ours;
    /* RFC 8446 §4.2.2 cookies: libssl sends them from SSL_stateless() only,
     * which answers every ClientHello without a valid cookie with an HRR. */
    if (c->hrr_cookie && c->accept_early_data)
        return td_sut_unsupported(&l->h, "libssl's stateless (cookie) mode and 0-RTT together");
    /* SSL_stateless() keeps nothing of the connection after its HRR, so the
     * client's middlebox-compatibility change_cipher_spec (RFC 8446 D.4) is,
     * to it, a record before any ClientHello, which RFC 8446 §5 says a
     * stateless server may not tell from an allowed one: not a verdict on
     * libssl's ordinary (stateful) server. */
    if (c->hrr_cookie && ours->compat_mode)
        return td_sut_unsupported(&l->h,
                                  "libssl's stateless (cookie) mode and a middlebox-compatibility "
                                  "change_cipher_spec from the client");
    if (c->psks != NULL || c->inject != NULL)
        return td_sut_unsupported(&l->h, "external PSKs / injected values");
    if (c->num_certs > 1)
        return td_sut_unsupported(&l->h, "several server certificates");
    if (c->post_handshake_auth != TD_CLIENT_AUTH_NONE)
        return td_sut_unsupported(
            &l->h, "post-handshake client authentication (not driven in memory yet)");
    /* HRR on demand: libssl only asks again when no share of the client
     * is in its groups, so leave the client's share groups out. */
    const uint16_t *g = c->groups ? c->groups : default_groups;
    size_t ng = c->groups ? c->num_groups : 3;
    if (c->hrr == TD_HRR_ALWAYS) {
        uint16_t keep[32];
        size_t nk = td_sut_hrr_groups(ours, g, ng, default_groups, 3, keep, 32);
        if (nk == 0)
            return td_sut_unsupported(&l->h,
                                      "hrr always: every group both sides share has a key share, "
                                      "libssl would not ask again");
        TD_CHECK(set_groups(l, keep, nk));
    } else {
        TD_CHECK(set_groups(l, g, ng));
    }
    if (c->num_certs == 0)
        return td_sut_unsupported(&l->h, "no server certificate");
    TD_CHECK(set_cert(l, &c->certs[0]));
    if (c->certs[0].sni != NULL)
        SSL_CTX_set_tlsext_servername_callback(l->ctx, servername_cb),
            SSL_CTX_set_tlsext_servername_arg(l->ctx, (void *)c);
    if (c->num_alpn > 0)
        SSL_CTX_set_alpn_select_cb(l->ctx, alpn_select, (void *)c);
    switch (c->client_auth) {
    case TD_CLIENT_AUTH_NONE: break;
    case TD_CLIENT_AUTH_REQUEST: SSL_CTX_set_verify(l->ctx, SSL_VERIFY_PEER, NULL); break;
    case TD_CLIENT_AUTH_REQUIRE:
        SSL_CTX_set_verify(l->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        break;
    }
    if (SSL_CTX_set_num_tickets(l->ctx, c->num_tickets) != 1 ||
        SSL_CTX_set_tlsext_ticket_keys(l->ctx, (void *)ticket_keys, sizeof(ticket_keys)) != 1 ||
        SSL_CTX_set_session_id_context(l->ctx, (const unsigned char *)"tlsdrill", 8) != 1)
        return TD_ERR_CRYPTO;
    SSL_CTX_set_timeout(l->ctx, c->ticket_lifetime_s ? (long)c->ticket_lifetime_s : 7 * 86400L);
    /* Every connection has a fresh SSL_CTX, so libssl's replay cache would
     * reject every 0-RTT: the single-use check is not what a case tests. */
    SSL_CTX_set_options(l->ctx, SSL_OP_NO_ANTI_REPLAY);
    /* The engine's server resumes with psk_ke too (RFC 8446 §4.2.9); libssl only when allowed. */
    SSL_CTX_set_options(l->ctx, SSL_OP_ALLOW_NO_DHE_KEX);
    uint32_t med = c->accept_early_data ? c->max_early_data : 0;
    if (SSL_CTX_set_max_early_data(l->ctx, med) != 1)
        return TD_ERR_CRYPTO;
    l->phase = med > 0 ? OP_EARLY_READ : OP_HANDSHAKE;
    if (c->hrr_cookie) {
        SSL_CTX_set_stateless_cookie_generate_cb(l->ctx, cookie_generate);
        SSL_CTX_set_stateless_cookie_verify_cb(l->ctx, cookie_verify);
        l->phase = OP_STATELESS;
    }
    return TD_OK;
}

static td_err config_client(link *l)
{
    const td_config *c = l->h.sut;
    const uint16_t *g = c->groups ? c->groups : default_groups;
    size_t ng = c->groups ? c->num_groups : 3;
    TD_CHECK(set_groups(l, g, ng));
    /* libssl sends one key share, for its first group. */
    if (c->share_groups != NULL && !(c->num_share_groups == 1 && c->share_groups[0] == g[0]))
        return td_sut_unsupported(&l->h, "libssl sends exactly one key share, for its first group");
    if (c->psk_ke_only)
        return td_sut_unsupported(&l->h, "libssl always offers psk_dhe_ke");
    if (c->offer_post_handshake_auth)
        return td_sut_unsupported(&l->h, "post_handshake_auth (not driven in memory yet)");
    if (c->psks != NULL || c->inject != NULL || c->renegotiation_info || c->session_ticket_ext ||
        c->record_size_limit || c->ch_padding)
        return td_sut_unsupported(
            &l->h, "external PSKs, injected values or legacy ClientHello extensions");
    if (c->psk_ke)
        SSL_CTX_set_options(l->ctx, SSL_OP_ALLOW_NO_DHE_KEX);
    if (c->compat_mode)
        SSL_CTX_set_options(l->ctx, SSL_OP_ENABLE_MIDDLEBOX_COMPAT);
    else
        SSL_CTX_clear_options(l->ctx, SSL_OP_ENABLE_MIDDLEBOX_COMPAT);
    if (c->num_certs > 0)
        TD_CHECK(set_cert(l, &c->certs[0]));
    if (c->num_alpn > 0) {
        unsigned char wire[512];
        size_t n = 0;
        for (size_t i = 0; i < c->num_alpn; i++) {
            size_t len = strlen(c->alpn[i]);
            if (len == 0 || len > 255 || n + 1 + len > sizeof(wire))
                return td_sut_unsupported(&l->h, "ALPN protocol list libssl cannot send");
            wire[n++] = (unsigned char)len;
            memcpy(wire + n, c->alpn[i], len);
            n += len;
        }
        if (SSL_CTX_set_alpn_protos(l->ctx, wire, (unsigned int)n) != 0)
            return TD_ERR_CRYPTO;
    }
    SSL_CTX_set_verify(l->ctx, c->no_verify ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_session_cache_mode(l->ctx,
                                   SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(l->ctx, new_session_cb);
    l->phase = OP_HANDSHAKE;
    return TD_OK;
}

/* The SSL_CTX of the connection, configured once (reset() keeps it). */
static td_err make_ctx(link *l)
{
    const td_config *c = l->h.sut;
    bool server = c->role == TD_ROLE_SERVER;
    l->ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (l->ctx == NULL)
        return TD_ERR_NOMEM;
    if (SSL_CTX_set_min_proto_version(l->ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(l->ctx, TLS1_3_VERSION) != 1)
        return TD_ERR_CRYPTO;
    if (c->max_fragment != 0) {
        if (c->max_fragment < 512 || c->max_fragment > 16384)
            return td_sut_unsupported(&l->h, "libssl's record size is 512..16384, not %zu",
                                      c->max_fragment);
        SSL_CTX_set_max_send_fragment(l->ctx, (long)c->max_fragment);
    }
    SSL_CTX_set_keylog_callback(l->ctx, keylog_cb);
    TD_CHECK(set_suites(l));
    TD_CHECK(set_sigalgs(l));
    TD_CHECK(set_trust(l));
    TD_CHECK(server ? config_server(l) : config_client(l));
    l->start_phase = l->phase;
    return TD_OK;
}

/* A fresh SSL on the context (conn_new, reset). */
static td_err make_ssl(link *l)
{
    const td_config *c = l->h.sut;
    bool server = c->role == TD_ROLE_SERVER;
    l->phase = l->start_phase;
    l->completed = false;
    l->error[0] = '\0';
    l->keylog.len = 0;
    l->drained.len = 0;
    l->ssl = SSL_new(l->ctx);
    l->rbio = BIO_new(BIO_s_mem());
    l->wbio = BIO_new(BIO_s_mem());
    if (l->ssl == NULL || l->rbio == NULL || l->wbio == NULL) {
        BIO_free(l->rbio);
        BIO_free(l->wbio);
        l->rbio = l->wbio = NULL;
        return TD_ERR_NOMEM;
    }
    BIO_set_mem_eof_return(l->rbio, -1);
    BIO_set_mem_eof_return(l->wbio, -1);
    SSL_set_bio(l->ssl, l->rbio, l->wbio);
    SSL_set_app_data(l->ssl, l);
    if (server) {
        SSL_set_accept_state(l->ssl);
        return TD_OK;
    }
    SSL_set_connect_state(l->ssl);
    if (c->server_name != NULL && SSL_set_tlsext_host_name(l->ssl, c->server_name) != 1)
        return td_sut_unsupported(&l->h, "libssl refused server_name \"%s\"", c->server_name);
    /* An external PSK is no session of libssl's own: resuming the kept one
     * (another case's) would test something else. */
    if (c->resume != NULL && c->resume->external)
        return td_sut_unsupported(&l->h,
                                  "an external PSK on a libssl client (the adapter offers only "
                                  "libssl's own tickets)");
    if (c->resume != NULL) {
        if (l->keep->session == NULL)
            return td_sut_unsupported(&l->h, "resume: the first connection left libssl no session");
        if (SSL_set_session(l->ssl, l->keep->session) != 1)
            return TD_ERR_CRYPTO;
        if (c->early_data_len > 0 && SSL_SESSION_get_max_early_data(l->keep->session) > 0)
            l->phase = OP_EARLY_WRITE;
    } else {
        SSL_SESSION_free(l->keep->session);
        l->keep->session = NULL;
    }
    return TD_OK;
}

/* ---- the exchange ---- */

/* A libssl call returned |r| <= 0: waiting for bytes, or the end. */
static void ssl_stopped(link *l, int r)
{
    switch (SSL_get_error(l->ssl, r)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE: break;
    case SSL_ERROR_ZERO_RETURN: l->phase = OP_CLOSED; break;
    default:
        l->phase = OP_FAILED;
        if (l->error[0] == '\0' && ERR_peek_error() != 0)
            ERR_error_string_n(ERR_peek_error(), l->error, sizeof(l->error));
        break;
    }
    ERR_clear_error();
}

/* Lets libssl process what it has. */
static td_err ossl_step(void *conn, bool *out_changed)
{
    link *l = conn;
    ossl_phase before = l->phase;
    uint8_t buf[4096];
    size_t n = 0;
    int r;
    ERR_clear_error();
    switch (l->phase) {
    case OP_STATELESS:
        /* 1: a ClientHello with our cookie, go on; 0: an HRR went out. */
        r = SSL_stateless(l->ssl);
        if (r == 1)
            l->phase = OP_HANDSHAKE;
        else if (r < 0)
            ssl_stopped(l, r);
        break;
    case OP_EARLY_WRITE:
        r = SSL_write_early_data(l->ssl, l->h.sut->early_data, l->h.sut->early_data_len, &n);
        if (r == 1)
            l->phase = OP_HANDSHAKE;
        else
            ssl_stopped(l, r);
        break;
    case OP_EARLY_READ:
        for (int i = 0; i < OSSL_MAX_READS && l->phase == OP_EARLY_READ; i++) {
            r = SSL_read_early_data(l->ssl, buf, sizeof(buf), &n);
            if (r == SSL_READ_EARLY_DATA_FINISH)
                l->phase = OP_HANDSHAKE;
            else if (r == SSL_READ_EARLY_DATA_ERROR) {
                ssl_stopped(l, 0);
                break;
            }
        }
        break;
    case OP_HANDSHAKE:
    case OP_CONNECTED:
    case OP_FAILED:
    case OP_CLOSED: break;
    }
    if (l->phase == OP_HANDSHAKE) {
        r = SSL_do_handshake(l->ssl);
        if (r == 1)
            l->phase = OP_CONNECTED;
        else
            ssl_stopped(l, r);
    }
    if (l->phase == OP_CONNECTED) {
        l->completed = true;
        /* Post-handshake messages (tickets, KeyUpdate), data, close_notify. */
        for (int i = 0; i < OSSL_MAX_READS && l->phase == OP_CONNECTED; i++) {
            r = SSL_read(l->ssl, buf, sizeof(buf));
            if (r <= 0) {
                ssl_stopped(l, r);
                break;
            }
        }
        /* A KeyUpdate libssl owes (the peer requested one) waits for its
         * next write; SSL_do_handshake sends it now (SSL_key_update(3)). */
        if (l->phase == OP_CONNECTED && SSL_get_key_update_type(l->ssl) != SSL_KEY_UPDATE_NONE) {
            r = SSL_do_handshake(l->ssl);
            if (r <= 0)
                ssl_stopped(l, r);
        }
    }
    ERR_clear_error();
    *out_changed = l->phase != before;
    return TD_OK;
}

static td_err ossl_feed(void *conn, const uint8_t *p, size_t n)
{
    link *l = conn;
    if (n > INT32_MAX || BIO_write(l->rbio, p, (int)n) != (int)n)
        return TD_ERR_NOMEM;
    return TD_OK;
}

static void ossl_drain(void *conn, const uint8_t **out, size_t *out_len)
{
    link *l = conn;
    uint8_t buf[4096];
    l->drained.len = 0;
    while (BIO_ctrl_pending(l->wbio) > 0) {
        int r = BIO_read(l->wbio, buf, sizeof(buf));
        if (r <= 0 || td_peer_stream_add(&l->drained, buf, (size_t)r) != TD_OK)
            break; /* past TD_PEER_MAX_STREAM in one drain: the rest is runaway output */
    }
    *out = l->drained.data;
    *out_len = l->drained.len;
}

static void ossl_status(void *conn, td_sut_status *out)
{
    link *l = conn;
    memset(out, 0, sizeof(*out));
    out->state = l->phase == OP_CONNECTED ? TD_SUT_CONNECTED
                 : l->phase == OP_FAILED  ? TD_SUT_FAILED
                 : l->phase == OP_CLOSED  ? TD_SUT_CLOSED
                                          : TD_SUT_HANDSHAKE;
    out->completed = l->completed;
    out->resumed = SSL_session_reused(l->ssl) == 1;
    out->alert_desc = -1;
    /* libssl marks a session not resumable when a connection that used it
     * sends or gets a fatal alert (SSL_CTX_remove_session); SSL_set_session
     * still takes it, but the ClientHello then offers no PSK. */
    if (l->h.sut->role == TD_ROLE_CLIENT && l->keep->session != NULL &&
        SSL_SESSION_is_resumable(l->keep->session) == 1) {
        out->has_session = true;
        out->session_suite =
            (uint16_t)SSL_CIPHER_get_protocol_id(SSL_SESSION_get0_cipher(l->keep->session));
    }
    snprintf(out->error, sizeof(out->error), "%s", l->error);
}

static const char *ossl_keylog(void *conn, size_t *out_len)
{
    link *l = conn;
    *out_len = l->keylog.len;
    return (const char *)l->keylog.data;
}

static void free_ssl(link *l)
{
    /* SSL_free of a connection that was not shut down marks its session
     * not resumable (ssl_clear_bad_session): the kept ticket would die. */
    if (l->ssl != NULL && l->phase == OP_CONNECTED)
        SSL_set_shutdown(l->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(l->ssl); /* frees the BIOs too */
    if (l->ssl == NULL) {
        BIO_free(l->rbio);
        BIO_free(l->wbio);
    }
    l->ssl = NULL;
    l->rbio = l->wbio = NULL;
    ERR_clear_error();
}

static void ossl_conn_free(void *conn)
{
    link *l = conn;
    if (l == NULL)
        return;
    free_ssl(l);
    SSL_CTX_free(l->ctx);
    td_sut_keylog_free(&l->keylog);
    free(l->drained.data);
    free(l);
}

static td_err ossl_reset(void *conn)
{
    link *l = conn;
    free_ssl(l);
    return make_ssl(l);
}

static td_err ossl_setup(void *conn, void *keep)
{
    link *l = conn;
    l->keep = keep;
    td_err err = make_ctx(l);
    if (err == TD_OK)
        err = make_ssl(l);
    ERR_clear_error();
    return err;
}

static td_err ossl_conn_new(void *keep, const td_config *sut, const td_config *ours, void **out,
                            char *why, size_t why_len)
{
    return td_sut_conn_new(sizeof(link), keep, sut, ours, why, why_len, ossl_setup, ossl_conn_free,
                           out);
}

static td_err ossl_keep_new(void **out)
{
    *out = calloc(1, sizeof(ossl_keep));
    return *out != NULL ? TD_OK : TD_ERR_NOMEM;
}

static void ossl_keep_free(void *keep)
{
    ossl_keep *k = keep;
    if (k == NULL)
        return;
    SSL_SESSION_free(k->session);
    free(k);
}

static void ossl_version(char *buf, size_t len)
{
    snprintf(buf, len, "%s", OpenSSL_version(OPENSSL_VERSION));
}

const td_sut_adapter td_sut_openssl = {
    .name = "openssl",
    .library = "OpenSSL libssl",
    .version = ossl_version,
    .keep_new = ossl_keep_new,
    .keep_free = ossl_keep_free,
    .conn_new = ossl_conn_new,
    .reset = ossl_reset,
    .feed = ossl_feed,
    .step = ossl_step,
    .drain = ossl_drain,
    .status = ossl_status,
    .keylog = ossl_keylog,
    .conn_free = ossl_conn_free,
};
