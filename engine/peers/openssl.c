/* engine/peers/openssl.c -- OpenSSL's libssl in process as the system under
 * test: our side is a td_conn, the SUT an SSL object; bytes move between
 * them through memory BIOs, a bounded number of rounds.
 *
 * The SSL is configured from the SUT's td_config as far as libssl can
 * express it (TLS 1.3 only, suites, groups, signature algorithms, the test
 * certificates, trust anchor, ALPN, SNI, client auth, tickets, 0-RTT, HRR
 * forced through the groups, HRR cookies through SSL_stateless() and its
 * cookie callbacks). What it cannot express is reported as
 * TD_ERR_UNSUPPORTED with a note, so the runner says `unsupported` instead
 * of failing the SUT for our inability to configure it.
 *
 * Our side holds the keys: the alert libssl sends is read from our
 * td_conn's status (alert_received), decrypted. libssl draws its own
 * randomness, so with this peer runs are not byte-for-byte reproducible. */
#include <stdarg.h>
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
#include "peer_stream.h"
#include "observe.h"
#include "tlsdrill/peer_openssl.h"

#define OSSL_MAX_READS 64          /* SSL_read calls per round */

typedef struct ossl_state {
    SSL_SESSION *session; /* an openssl client's last ticket (for `resume ticket`) */
    td_peer_stream keylog; /* the SUT's NSS key log lines of the current connection */
} ossl_state;

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

/* One connection: our td_conn and the SUT's SSL. */
typedef struct link {
    ossl_state *st;
    const td_config *ours, *sut;
    td_scn_outcome *out;
    SSL_CTX *ctx;
    SSL *ssl;
    BIO *rbio, *wbio; /* the SSL reads rbio (our bytes) and writes wbio */
    td_conn *conn;
    ossl_phase phase;
    stream c2s, s2c;
    bool completed, confirmed; /* our side / libssl reached CONNECTED */
    size_t in_at_abort;        /* bytes of libssl's stream fed before our own abort */
    bool aborted;
} link;

/* ---- small helpers ---- */

static td_err unsupported(link *l, const char *fmt, ...) TD_PRINTF(2, 3);
static td_err unsupported(link *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->out->note, sizeof(l->out->note), fmt, ap);
    va_end(ap);
    return TD_ERR_UNSUPPORTED;
}

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
    const td_config *c = l->sut;
    const uint16_t *list = c->num_suites ? c->suites : default_suites;
    size_t num = c->num_suites ? c->num_suites : 3;
    char buf[512] = "";
    for (size_t i = 0; i < num; i++) {
        const char *n = suite_name(list[i]);
        if (n == NULL)
            return unsupported(l, "libssl has no TLS 1.3 cipher suite 0x%04x", list[i]);
        if (strlen(buf) + strlen(n) + 2 > sizeof(buf))
            return TD_ERR_LIMIT;
        if (buf[0] != '\0')
            strcat(buf, ":");
        strcat(buf, n);
    }
    return SSL_CTX_set_ciphersuites(l->ctx, buf) == 1
               ? TD_OK
               : unsupported(l, "libssl refused suites %s", buf);
}

static td_err set_groups(link *l, const uint16_t *groups, size_t n)
{
    int nids[32];
    if (n > 32)
        return TD_ERR_LIMIT;
    for (size_t i = 0; i < n; i++) {
        nids[i] = group_nid(groups[i]);
        if (nids[i] == NID_undef)
            return unsupported(l, "libssl has no TLS 1.3 group 0x%04x", groups[i]);
    }
    return SSL_CTX_set1_groups(l->ctx, nids, (long)n) == 1
               ? TD_OK
               : unsupported(l, "libssl refused the groups");
}

static td_err set_sigalgs(link *l)
{
    const td_config *c = l->sut;
    const uint16_t *list = c->num_sigalgs ? c->sigalgs : default_sigalgs;
    size_t num = c->num_sigalgs ? c->num_sigalgs : 6;
    char buf[1024] = "";
    for (size_t i = 0; i < num; i++) {
        const char *n = td_sig_name(list[i]);
        if (n == NULL)
            return unsupported(l, "no name for signature scheme 0x%04x", list[i]);
        if (strlen(buf) + strlen(n) + 2 > sizeof(buf))
            return TD_ERR_LIMIT;
        if (buf[0] != '\0')
            strcat(buf, ":");
        strcat(buf, n);
    }
    if (SSL_CTX_set1_sigalgs_list(l->ctx, buf) != 1 ||
        SSL_CTX_set1_client_sigalgs_list(l->ctx, buf) != 1)
        return unsupported(l, "libssl refused signature algorithms %s", buf);
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
            return unsupported(l, "libssl refused certificate %zu of the chain (security level?)",
                               i);
    }
    if (SSL_CTX_use_PrivateKey(l->ctx, pk) != 1 || SSL_CTX_check_private_key(l->ctx) != 1)
        return unsupported(l, "libssl refused the private key");
    return TD_OK;
}

static td_err set_trust(link *l)
{
    const td_config *c = l->sut;
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
    ossl_state *st = SSL_get_app_data(ssl);
    if (td_peer_stream_add(&st->keylog, (const uint8_t *)line, strlen(line)) != TD_OK ||
        td_peer_stream_add(&st->keylog, (const uint8_t *)"\n", 1) != TD_OK)
        return; /* past the cap: the rest is not needed */
}

static int new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
    ossl_state *st = SSL_get_app_data(ssl);
    SSL_SESSION_free(st->session);
    st->session = sess;
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
    const td_config *c = l->sut, *ours = l->ours;
    /* RFC 8446 §4.2.2 cookies: libssl sends them from SSL_stateless() only,
     * which answers every ClientHello without a valid cookie with an HRR. */
    if (c->hrr_cookie && c->accept_early_data)
        return unsupported(l, "libssl's stateless (cookie) mode and 0-RTT together");
    /* SSL_stateless() keeps nothing of the connection after its HRR, so the
     * client's middlebox-compatibility change_cipher_spec (RFC 8446 D.4) is,
     * to it, a record before any ClientHello, which RFC 8446 §5 says a
     * stateless server may not tell from an allowed one: not a verdict on
     * libssl's ordinary (stateful) server. */
    if (c->hrr_cookie && ours->compat_mode)
        return unsupported(l, "libssl's stateless (cookie) mode and a middlebox-compatibility "
                              "change_cipher_spec from the client");
    if (c->psks != NULL || c->inject != NULL)
        return unsupported(l, "external PSKs / injected values");
    if (c->num_certs > 1)
        return unsupported(l, "several server certificates");
    if (c->post_handshake_auth != TD_CLIENT_AUTH_NONE)
        return unsupported(l, "post-handshake client authentication (not driven in memory yet)");
    /* HRR on demand: libssl only asks again when no share of the client
     * is in its groups, so leave the client's share groups out. */
    const uint16_t *g = c->groups ? c->groups : default_groups;
    size_t ng = c->groups ? c->num_groups : 3;
    if (c->hrr == TD_HRR_ALWAYS) {
        uint16_t keep[32];
        size_t nk = 0;
        const uint16_t *shares = ours->share_groups;
        size_t ns = ours->num_share_groups;
        const uint16_t *cg = ours->groups ? ours->groups : default_groups;
        size_t ncg = ours->groups ? ours->num_groups : 3;
        uint16_t first = cg[0];
        if (shares == NULL) {
            shares = &first;
            ns = 1;
        }
        for (size_t i = 0; i < ng && nk < 32; i++)
            if (!td_u16_in(shares, ns, g[i]) && td_u16_in(cg, ncg, g[i]))
                keep[nk++] = g[i];
        if (nk == 0)
            return unsupported(l, "hrr always: every group both sides share has a key share, "
                                  "libssl would not ask again");
        TD_CHECK(set_groups(l, keep, nk));
    } else {
        TD_CHECK(set_groups(l, g, ng));
    }
    if (c->num_certs == 0)
        return unsupported(l, "no server certificate");
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
    const td_config *c = l->sut;
    const uint16_t *g = c->groups ? c->groups : default_groups;
    size_t ng = c->groups ? c->num_groups : 3;
    TD_CHECK(set_groups(l, g, ng));
    /* libssl sends one key share, for its first group. */
    if (c->share_groups != NULL && !(c->num_share_groups == 1 && c->share_groups[0] == g[0]))
        return unsupported(l, "libssl sends exactly one key share, for its first group");
    if (c->psk_ke_only)
        return unsupported(l, "libssl always offers psk_dhe_ke");
    if (c->offer_post_handshake_auth)
        return unsupported(l, "post_handshake_auth (not driven in memory yet)");
    if (c->psks != NULL || c->inject != NULL || c->renegotiation_info || c->session_ticket_ext ||
        c->record_size_limit || c->ch_padding)
        return unsupported(l, "external PSKs, injected values or legacy ClientHello extensions");
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
                return unsupported(l, "ALPN protocol list libssl cannot send");
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

static td_err make_ssl(link *l)
{
    const td_config *c = l->sut;
    bool server = c->role == TD_ROLE_SERVER;
    l->ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (l->ctx == NULL)
        return TD_ERR_NOMEM;
    if (SSL_CTX_set_min_proto_version(l->ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(l->ctx, TLS1_3_VERSION) != 1)
        return TD_ERR_CRYPTO;
    if (c->max_fragment != 0) {
        if (c->max_fragment < 512 || c->max_fragment > 16384)
            return unsupported(l, "libssl's record size is 512..16384, not %zu", c->max_fragment);
        SSL_CTX_set_max_send_fragment(l->ctx, (long)c->max_fragment);
    }
    SSL_CTX_set_keylog_callback(l->ctx, keylog_cb);
    TD_CHECK(set_suites(l));
    TD_CHECK(set_sigalgs(l));
    TD_CHECK(set_trust(l));
    TD_CHECK(server ? config_server(l) : config_client(l));
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
    SSL_set_app_data(l->ssl, l->st);
    if (server) {
        SSL_set_accept_state(l->ssl);
        return TD_OK;
    }
    SSL_set_connect_state(l->ssl);
    if (c->server_name != NULL && SSL_set_tlsext_host_name(l->ssl, c->server_name) != 1)
        return unsupported(l, "libssl refused server_name \"%s\"", c->server_name);
    if (c->resume != NULL) {
        if (l->st->session == NULL)
            return unsupported(l, "resume: the first connection left libssl no session");
        if (SSL_set_session(l->ssl, l->st->session) != 1)
            return TD_ERR_CRYPTO;
        if (c->early_data_len > 0 && SSL_SESSION_get_max_early_data(l->st->session) > 0)
            l->phase = OP_EARLY_WRITE;
    } else {
        SSL_SESSION_free(l->st->session);
        l->st->session = NULL;
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
    default: l->phase = OP_FAILED; break;
    }
    ERR_clear_error();
}

/* Lets libssl process what it has; returns whether its phase changed. */
static bool ssl_step(link *l)
{
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
        r = SSL_write_early_data(l->ssl, l->sut->early_data, l->sut->early_data_len, &n);
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
    return l->phase != before;
}

/* Our bytes to libssl; returns how many. */
static td_err to_ssl(link *l, size_t *moved)
{
    const uint8_t *p = NULL;
    size_t n = 0;
    td_conn_drain(l->conn, &p, &n);
    *moved = n;
    if (n == 0)
        return TD_OK;
    TD_CHECK(td_peer_stream_add(l->ours->role == TD_ROLE_CLIENT ? &l->c2s : &l->s2c, p, n));
    if (n > INT32_MAX || BIO_write(l->rbio, p, (int)n) != (int)n)
        return TD_ERR_NOMEM;
    return TD_OK;
}

/* libssl's bytes to us. */
static td_err from_ssl(link *l, size_t *moved)
{
    uint8_t buf[4096];
    *moved = 0;
    while (BIO_ctrl_pending(l->wbio) > 0) {
        int r = BIO_read(l->wbio, buf, sizeof(buf));
        if (r <= 0)
            break;
        *moved += (size_t)r;
        stream *in = l->ours->role == TD_ROLE_CLIENT ? &l->s2c : &l->c2s;
        TD_CHECK(td_peer_stream_add(in, buf, (size_t)r));
        TD_CHECK(td_conn_feed(l->conn, buf, (size_t)r));
        const td_status *st = td_conn_status(l->conn);
        if (st->phase == TD_PHASE_CONNECTED)
            l->completed = true;
        if (st->phase == TD_PHASE_FAILED && !st->alert_received && !l->aborted) {
            l->aborted = true;
            l->in_at_abort = in->len;
        }
    }
    return TD_OK;
}

static td_err exchange(link *l, unsigned max_rounds, td_scn_post_fn post, void *post_arg)
{
    unsigned limit = (max_rounds ? max_rounds : 32) * 2;
    TD_CHECK(td_conn_new(l->ours, &l->conn));
    TD_CHECK(td_conn_start(l->conn));
    for (unsigned round = 0; round < limit; round++) {
        size_t a = 0, b = 0;
        TD_CHECK(to_ssl(l, &a));
        bool changed = ssl_step(l);
        l->confirmed |= l->phase == OP_CONNECTED;
        TD_CHECK(from_ssl(l, &b));
        if (post != NULL && l->phase == OP_CONNECTED &&
            td_conn_status(l->conn)->phase == TD_PHASE_CONNECTED) {
            /* Once, when both sides are done: our post-handshake actions
             * (KeyUpdate ...); the next rounds deliver them and the answers. */
            TD_CHECK(post(post_arg, l->conn));
            post = NULL;
            changed = true;
        }
        if (a == 0 && b == 0 && !changed)
            break; /* quiet: both wait (or both ended) */
    }
    return TD_OK;
}

static void fill_outcome(link *l)
{
    td_scn_outcome *o = l->out;
    o->ours = *td_conn_status(l->conn);
    /* libssl gave up without an alert (e.g. a first record whose version
     * is not 3.x): over a socket it would close it; tell our side's story
     * the same way instead of leaving it waiting. */
    if ((l->phase == OP_FAILED || l->phase == OP_CLOSED) && o->ours.phase == TD_PHASE_HANDSHAKE &&
        !o->ours.alert_received)
        o->ours.phase = TD_PHASE_CLOSED;
    /* The SUT's own view, for the record; the runner judges by ours
     * (has_sut_status stays false: libssl names no catalogue rule). */
    o->sut.phase = l->phase == OP_CONNECTED ? TD_PHASE_CONNECTED
                   : l->phase == OP_FAILED  ? TD_PHASE_FAILED
                   : l->phase == OP_CLOSED  ? TD_PHASE_CLOSED
                                            : TD_PHASE_HANDSHAKE;
    o->sut.resumed = SSL_session_reused(l->ssl) == 1;
    if (l->ours->role == TD_ROLE_SERVER)
        td_peer_note_hello(l->c2s.data, l->c2s.len, o);
    /* The whole connection (libssl's own phase is known). */
    o->completed = l->completed || o->ours.phase == TD_PHASE_CONNECTED;
    o->sut_confirmed = o->completed && l->confirmed;
    if (o->ours.alert_received)
        o->end = o->ours.alert_received_desc == 0 ? TD_SCN_END_CLOSE_NOTIFY : TD_SCN_END_ALERT;
    else if ((l->phase == OP_FAILED || l->phase == OP_CLOSED) && !l->aborted)
        o->end = TD_SCN_END_EOF; /* after our own abort, its end answers ours: none */
    o->end_after_completed = o->completed && o->end != TD_SCN_END_NONE;
    /* An alert our side could not read (other keys, a plaintext alert where
     * it expected 0-RTT keys): read it with libssl's own key log. */
    bool sut_client = l->ours->role == TD_ROLE_SERVER;
    const stream *sin = sut_client ? &l->c2s : &l->s2c;
    o->sut_keylog = l->st->keylog.len > 0;
    if (!o->ours.alert_received && (l->aborted || o->ours.phase == TD_PHASE_HANDSHAKE) &&
        l->st->keylog.len > 0)
        td_peer_sut_alert(l->ours->crypto, (const char *)l->st->keylog.data, l->st->keylog.len,
                          l->c2s.data, l->c2s.len, l->s2c.data, l->s2c.len,
                          sut_client ? TD_DIR_C2S : TD_DIR_S2C,
                          l->aborted ? l->in_at_abort : sin->len, o);
    if (o->alert_from_sut_keylog) {
        o->end = TD_SCN_END_ALERT;
        o->end_after_completed = false;
    }
    if (l->ours->role == TD_ROLE_CLIENT) {
        o->has_session = td_conn_session(l->conn, &o->session);
    } else if (l->st->session != NULL) {
        /* The runner only needs to know there is one: the openssl client
         * resumes with its own SSL_SESSION (make_ssl). */
        o->has_session = true;
        o->session.suite =
            (uint16_t)SSL_CIPHER_get_protocol_id(SSL_SESSION_get0_cipher(l->st->session));
    }
    size_t nlog = 0;
    const td_msg_record *log = td_conn_messages(l->conn, &nlog);
    for (size_t i = 0; i < nlog && o->num_received < sizeof(o->received); i++) {
        if (log[i].sent)
            continue;
        o->received[o->num_received] = log[i].type;
        /* RFC 8446 §4.1.3: an HRR is a ServerHello with the special random. */
        o->received_hrr[o->num_received] =
            log[i].type == TD_MSG_SERVER_HELLO && log[i].len >= 38 &&
            memcmp(log[i].bytes + 6, td_hrr_random, TD_RANDOM_LEN) == 0;
        o->num_received++;
    }
    /* Failure leaves the digest zero: it only serves determinism checks. */
    if (td_scn_outcome_digest(l->ours->crypto, l->c2s.data, l->c2s.len, l->s2c.data, l->s2c.len, o) !=
        TD_OK)
        memset(o->digest, 0, sizeof(o->digest));
}

static td_err openssl_run(void *arg, const td_config *ours, const td_config *sut,
                          unsigned max_rounds, td_scn_post_fn post, void *post_arg,
                          td_scn_outcome *out)
{
    memset(out, 0, sizeof(*out));
    if (ours->role == sut->role)
        return TD_ERR_ARG;
    link l = {.st = arg, .ours = ours, .sut = sut, .out = out};
    if (l.st->keylog.data != NULL)
        td_cleanse(l.st->keylog.data, l.st->keylog.cap);
    l.st->keylog.len = 0;
    td_err err = make_ssl(&l);
    if (err == TD_OK)
        err = exchange(&l, max_rounds, post, post_arg);
    if (err == TD_OK)
        fill_outcome(&l);
    td_conn_free(l.conn);
    /* SSL_free of a connection that was not shut down marks its session
     * not resumable (ssl_clear_bad_session): the kept ticket would die. */
    if (l.ssl != NULL && l.phase == OP_CONNECTED)
        SSL_set_shutdown(l.ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(l.ssl); /* frees the BIOs too */
    if (l.ssl == NULL) {
        BIO_free(l.rbio);
        BIO_free(l.wbio);
    }
    SSL_CTX_free(l.ctx);
    free(l.c2s.data);
    free(l.s2c.data);
    ERR_clear_error();
    return err;
}

td_err td_scn_peer_openssl(td_scn_peer *out)
{
    ossl_state *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return TD_ERR_NOMEM;
    out->name = "openssl";
    out->arg = st;
    out->run = openssl_run;
    return TD_OK;
}

void td_scn_peer_openssl_free(td_scn_peer *peer)
{
    if (peer == NULL || peer->arg == NULL)
        return;
    ossl_state *st = peer->arg;
    SSL_SESSION_free(st->session);
    if (st->keylog.data != NULL)
        td_cleanse(st->keylog.data, st->keylog.cap);
    free(st->keylog.data);
    free(st);
    peer->arg = NULL;
}

const char *td_scn_peer_openssl_version(void)
{
    return OpenSSL_version(OPENSSL_VERSION);
}

td_err td_peer_openssl_new(const char *spec, const td_peer_opts *opts, td_scn_peer *out,
                           char *err, size_t err_len)
{
    (void)spec;
    (void)opts;
    td_err e = td_scn_peer_openssl(out);
    if (e != TD_OK)
        snprintf(err, err_len, "out of memory");
    return e;
}

void td_peer_openssl_free(td_scn_peer *peer)
{
    td_scn_peer_openssl_free(peer);
}

bool td_peer_openssl_version(const char *spec, char *buf, size_t len)
{
    (void)spec;
    snprintf(buf, len, "%s", td_scn_peer_openssl_version());
    return true;
}
