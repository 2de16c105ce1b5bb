/* engine/peers/wolfssl.c -- wolfSSL in process as the system under test:
 * an adapter of the SUT adapter API (tlsdrill/sut.h), `--peer wolfssl`.
 * The WOLFSSL object's I/O callbacks read and write two memory buffers;
 * engine/peers/sut.c moves the bytes between it and our td_conn.
 *
 * Configured from the SUT's td_config as far as wolfSSL can express it:
 * TLS 1.3 only (wolfTLSv1_3_*_method), suites, groups, the client's key
 * shares (wolfSSL_UseKeyShare), signature schemes, certificates, trust
 * anchor, ALPN, SNI, client auth, HRR cookies (wolfSSL_send_hrr_cookie),
 * tickets (a fixed-key callback, so a ticket of the first connection
 * opens in the second); the rest is TD_ERR_UNSUPPORTED with a reason.
 * Debian's build has no WOLFSSL_EARLY_DATA (no 0-RTT) and no key log
 * callback (HAVE_SECRET_CALLBACK): our side reads every alert it can
 * decrypt, the others stay unread.
 *
 * This file never includes OpenSSL's headers (wolfSSL's compatibility
 * layer defines the same names): it is its own object library in CMake.
 * wolfSSL draws its own randomness: the bytes differ between runs, the
 * verdicts do not. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/hmac.h>

#include "peer_kinds.h"
#include "tlsdrill/peer_stream.h"
#include "tlsdrill/sut.h"

#define WS_MAX_READS 64 /* wolfSSL_read calls per step */

/* What outlives one connection: a wolfSSL client's session (its ticket)
 * for the second connection of a `resume ticket` case. */
typedef struct ws_keep {
    WOLFSSL_SESSION *session;
} ws_keep;

typedef struct ws_conn {
    td_sut_conn_head h; /* first: the configurations, the reason of an unsupported one */
    ws_keep *keep;
    WOLFSSL_CTX *ctx;
    WOLFSSL *ssl;
    td_sut_state phase;
    bool completed;
    char alpn[512]; /* "a,b": wolfSSL_UseALPN's list */
    char error[96];
} ws_conn;

static const char *suite_name(uint16_t s)
{
    switch (s) {
    case 0x1301: return "TLS13-AES128-GCM-SHA256";
    case 0x1302: return "TLS13-AES256-GCM-SHA384";
    case 0x1303: return "TLS13-CHACHA20-POLY1305-SHA256";
    case 0x1304: return "TLS13-AES128-CCM-SHA256";
    case 0x1305: return "TLS13-AES128-CCM-8-SHA256";
    default: return NULL;
    }
}

/* wolfSSL_set1_sigalgs_list's "KEY+HASH" names. */
static const char *sig_name(uint16_t s)
{
    switch (s) {
    case 0x0401: return "RSA+SHA256";
    case 0x0501: return "RSA+SHA384";
    case 0x0601: return "RSA+SHA512";
    case 0x0403: return "ECDSA+SHA256";
    case 0x0503: return "ECDSA+SHA384";
    case 0x0603: return "ECDSA+SHA512";
    case 0x0804: return "RSA-PSS+SHA256";
    case 0x0805: return "RSA-PSS+SHA384";
    case 0x0806: return "RSA-PSS+SHA512";
    case 0x0807: return "ED25519";
    case 0x0808: return "ED448";
    default: return NULL;
    }
}

static bool group_known(uint16_t g)
{
    switch (g) {
    case 0x0017:
    case 0x0018:
    case 0x0019:
    case 0x001d:
    case 0x001e:
    case 0x0100:
    case 0x0101: return true;
    default: return false;
    }
}

static const uint16_t default_suites[] = {0x1301, 0x1302, 0x1303};
static const uint16_t default_groups[] = {0x001d, 0x0017, 0x0018};
static const uint16_t default_sigalgs[] = {0x0403, 0x0503, 0x0804, 0x0805, 0x0806, 0x0807};

/* ---- I/O over the memory buffers ---- */

static int io_recv(WOLFSSL *ssl, char *buf, int sz, void *arg)
{
    ws_conn *w = arg;
    (void)ssl;
    size_t n = sz > 0 ? td_sut_pipe_read(&w->h.io, (uint8_t *)buf, (size_t)sz) : 0;
    if (n == 0)
        return WOLFSSL_CBIO_ERR_WANT_READ;
    return (int)n;
}

static int io_send(WOLFSSL *ssl, char *buf, int sz, void *arg)
{
    ws_conn *w = arg;
    (void)ssl;
    if (sz < 0 || td_peer_stream_add(&w->h.io.out, (const uint8_t *)buf, (size_t)sz) != TD_OK)
        return WOLFSSL_CBIO_ERR_GENERAL;
    return sz;
}

/* ---- tickets: fixed keys, so that every wolfSSL server we make opens
 * the tickets of the others (the default callback keys per WOLFSSL_CTX).
 * wolfSSL insists the state be transformed: it is XORed with an
 * HMAC-SHA256 key stream (counter mode) and authenticated with HMAC-SHA256
 * (encrypt-then-MAC); a test peer's tickets need no more secrecy than
 * that, an edited ticket is still refused. */

static const unsigned char ticket_name[WOLFSSL_TICKET_NAME_SZ] = "tlsdrill-wolfssl";
static const unsigned char ticket_mac_key[32] = "tlsdrill wolfssl ticket MAC key";
static const unsigned char ticket_enc_key[32] = "tlsdrill wolfssl ticket enc key";

static int hmac(const unsigned char *key, const unsigned char *a, size_t a_len,
                const unsigned char *b, size_t b_len, const unsigned char *c, size_t c_len,
                unsigned char out[32])
{
    Hmac h;
    int r = wc_HmacInit(&h, NULL, INVALID_DEVID);
    if (r == 0)
        r = wc_HmacSetKey(&h, WC_SHA256, key, 32);
    if (r == 0)
        r = wc_HmacUpdate(&h, a, (word32)a_len);
    if (r == 0 && b_len > 0)
        r = wc_HmacUpdate(&h, b, (word32)b_len);
    if (r == 0 && c_len > 0)
        r = wc_HmacUpdate(&h, c, (word32)c_len);
    if (r == 0)
        r = wc_HmacFinal(&h, out);
    wc_HmacFree(&h);
    return r;
}

static int ticket_xor(const unsigned char *iv, unsigned char *body, int len)
{
    unsigned char block[32];
    for (int at = 0; at < len; at += 32) {
        unsigned char ctr[4] = {(unsigned char)(at >> 24), (unsigned char)(at >> 16),
                                (unsigned char)(at >> 8), (unsigned char)at};
        if (hmac(ticket_enc_key, iv, WOLFSSL_TICKET_IV_SZ, ctr, 4, NULL, 0, block) != 0)
            return -1;
        for (int i = 0; i < 32 && at + i < len; i++)
            body[at + i] ^= block[i];
    }
    return 0;
}

static int ticket_cb(WOLFSSL *ssl, unsigned char key_name[WOLFSSL_TICKET_NAME_SZ],
                     unsigned char iv[WOLFSSL_TICKET_IV_SZ],
                     unsigned char mac[WOLFSSL_TICKET_MAC_SZ], int enc, unsigned char *ticket,
                     int in_len, int *out_len, void *arg)
{
    (void)ssl;
    (void)arg;
    unsigned char want[WOLFSSL_TICKET_MAC_SZ];
    if (enc) {
        memcpy(key_name, ticket_name, sizeof(ticket_name));
        if (wolfSSL_RAND_bytes(iv, WOLFSSL_TICKET_IV_SZ) != WOLFSSL_SUCCESS ||
            ticket_xor(iv, ticket, in_len) != 0 ||
            hmac(ticket_mac_key, ticket_name, sizeof(ticket_name), iv, WOLFSSL_TICKET_IV_SZ, ticket,
                 (size_t)in_len, mac) != 0)
            return WOLFSSL_TICKET_RET_FATAL;
        *out_len = in_len;
        return WOLFSSL_TICKET_RET_OK;
    }
    if (memcmp(key_name, ticket_name, sizeof(ticket_name)) != 0 ||
        hmac(ticket_mac_key, ticket_name, sizeof(ticket_name), iv, WOLFSSL_TICKET_IV_SZ, ticket,
             (size_t)in_len, want) != 0 ||
        memcmp(want, mac, sizeof(want)) != 0 || ticket_xor(iv, ticket, in_len) != 0)
        return WOLFSSL_TICKET_RET_REJECT;
    *out_len = in_len;
    return WOLFSSL_TICKET_RET_OK;
}

/* ---- configuration ---- */

static td_err set_lists(ws_conn *w, const uint16_t *groups, size_t num_groups)
{
    const td_config *c = w->h.sut;
    char buf[512] = "";
    const uint16_t *l = c->num_suites ? c->suites : default_suites;
    size_t n = c->num_suites ? c->num_suites : 3;
    for (size_t i = 0; i < n; i++) {
        const char *name = suite_name(l[i]);
        if (name == NULL)
            return td_sut_unsupported(&w->h, "wolfSSL has no TLS 1.3 cipher suite 0x%04x", l[i]);
        size_t len = strlen(buf);
        snprintf(buf + len, sizeof(buf) - len, "%s%s", len ? ":" : "", name);
    }
    if (wolfSSL_CTX_set_cipher_list(w->ctx, buf) != WOLFSSL_SUCCESS)
        return td_sut_unsupported(&w->h, "wolfSSL refused suites %s", buf);
    int gl[32];
    if (num_groups > 32)
        return TD_ERR_LIMIT;
    for (size_t i = 0; i < num_groups; i++) {
        if (!group_known(groups[i]))
            return td_sut_unsupported(&w->h, "wolfSSL (Debian build) has no TLS 1.3 group 0x%04x",
                                      groups[i]);
        gl[i] = groups[i];
    }
    if (wolfSSL_CTX_set_groups(w->ctx, gl, (int)num_groups) != WOLFSSL_SUCCESS)
        return td_sut_unsupported(&w->h, "wolfSSL refused the groups");
    l = c->num_sigalgs ? c->sigalgs : default_sigalgs;
    n = c->num_sigalgs ? c->num_sigalgs : 6;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *name = sig_name(l[i]);
        if (name == NULL)
            return td_sut_unsupported(&w->h, "wolfSSL has no signature scheme 0x%04x for TLS 1.3",
                                      l[i]);
        size_t len = strlen(buf);
        snprintf(buf + len, sizeof(buf) - len, "%s%s", len ? ":" : "", name);
    }
    if (wolfSSL_CTX_set1_sigalgs_list(w->ctx, buf) != WOLFSSL_SUCCESS)
        return td_sut_unsupported(&w->h, "wolfSSL refused signature schemes %s", buf);
    return TD_OK;
}

static td_err set_cert(ws_conn *w, const td_cert_key *ck)
{
    td_peer_stream pem = {0};
    uint8_t *key = NULL;
    size_t key_len = 0;
    td_err ret = TD_OK;
    for (size_t i = 0; i < ck->num_chain; i++)
        TD_GUARD(td_sut_pem_add(&pem, "CERTIFICATE", ck->chain[i].data, ck->chain[i].len));
    if (wolfSSL_CTX_use_certificate_chain_buffer_format(w->ctx, pem.data, (long)pem.len - 1,
                                                        WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS)
        TD_GUARD(td_sut_unsupported(&w->h, "wolfSSL refused the certificate chain"));
    TD_GUARD(td_sut_key_der(ck->key, &key, &key_len));
    if (wolfSSL_CTX_use_PrivateKey_buffer(w->ctx, key, (long)key_len, WOLFSSL_FILETYPE_ASN1) !=
        WOLFSSL_SUCCESS)
        TD_GUARD(td_sut_unsupported(&w->h, "wolfSSL refused the private key"));
out:
    free(pem.data);
    td_sut_secret_free(key, key_len);
    return ret;
}

static td_err config_server(ws_conn *w)
{
    const td_config *c = w->h.sut, *ours = w->h.ours;
    if (c->psks != NULL || c->inject != NULL)
        return td_sut_unsupported(&w->h, "external PSKs / injected values");
    if (c->post_handshake_auth != TD_CLIENT_AUTH_NONE)
        return td_sut_unsupported(
            &w->h, "post-handshake client authentication (not driven in memory yet)");
    if (c->accept_early_data)
        return td_sut_unsupported(&w->h,
                                  "0-RTT: Debian's wolfSSL is built without WOLFSSL_EARLY_DATA");
    if (c->num_certs == 0)
        return td_sut_unsupported(&w->h, "no server certificate");
    if (c->num_certs > 1 || c->certs[0].sni != NULL)
        return td_sut_unsupported(&w->h,
                                  "several server certificates / a certificate bound to a name");
    const uint16_t *gr = c->groups ? c->groups : default_groups;
    size_t ng = c->groups ? c->num_groups : 3;
    uint16_t keep[32];
    if (c->hrr == TD_HRR_ALWAYS) {
        /* HRR on demand: wolfSSL asks again when no share of the client is
         * in its groups, so leave the client's share groups out. */
        size_t nk = td_sut_hrr_groups(ours, gr, ng, default_groups, 3, keep, 32);
        if (nk == 0)
            return td_sut_unsupported(&w->h,
                                      "hrr always: every group both sides share has a key share, "
                                      "wolfSSL would not ask again");
        gr = keep;
        ng = nk;
    }
    TD_CHECK(set_lists(w, gr, ng));
    TD_CHECK(set_cert(w, &c->certs[0]));
    switch (c->client_auth) {
    case TD_CLIENT_AUTH_NONE: wolfSSL_CTX_set_verify(w->ctx, WOLFSSL_VERIFY_NONE, NULL); break;
    case TD_CLIENT_AUTH_REQUEST: wolfSSL_CTX_set_verify(w->ctx, WOLFSSL_VERIFY_PEER, NULL); break;
    case TD_CLIENT_AUTH_REQUIRE:
        wolfSSL_CTX_set_verify(w->ctx, WOLFSSL_VERIFY_PEER | WOLFSSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                               NULL);
        break;
    }
    if (wolfSSL_CTX_set_TicketEncCb(w->ctx, ticket_cb) != WOLFSSL_SUCCESS)
        return TD_ERR_CRYPTO;
    if (c->num_tickets > 0 &&
        wolfSSL_CTX_set_num_tickets(w->ctx, c->num_tickets) != WOLFSSL_SUCCESS)
        return TD_ERR_CRYPTO;
    if (c->ticket_lifetime_s != 0 &&
        wolfSSL_CTX_set_TicketHint(w->ctx, (int)c->ticket_lifetime_s) != WOLFSSL_SUCCESS)
        return TD_ERR_CRYPTO;
    return TD_OK;
}

static td_err config_client(ws_conn *w)
{
    const td_config *c = w->h.sut;
    const uint16_t *gr = c->groups ? c->groups : default_groups;
    size_t ng = c->groups ? c->num_groups : 3;
    if (c->resume != NULL && c->resume->external)
        return td_sut_unsupported(&w->h,
                                  "the wolfssl adapter gives a wolfSSL client no external PSK");
    if (c->early_data_len > 0)
        return td_sut_unsupported(&w->h,
                                  "0-RTT: Debian's wolfSSL is built without WOLFSSL_EARLY_DATA");
    if (c->psk_ke && !c->psk_ke_only)
        return td_sut_unsupported(
            &w->h, "wolfSSL offers psk_dhe_ke or (wolfSSL_no_dhe_psk) psk_ke, not both");
    if (c->compat_mode)
        return td_sut_unsupported(
            &w->h, "Debian's wolfSSL is built without WOLFSSL_TLS13_MIDDLEBOX_COMPAT");
    if (c->offer_post_handshake_auth)
        return td_sut_unsupported(&w->h, "post_handshake_auth (not driven in memory yet)");
    if (c->psks != NULL || c->inject != NULL || c->renegotiation_info || c->session_ticket_ext ||
        c->record_size_limit || c->ch_padding)
        return td_sut_unsupported(
            &w->h, "external PSKs, injected values or legacy ClientHello extensions");
    TD_CHECK(set_lists(w, gr, ng));
    if (c->num_certs > 0)
        TD_CHECK(set_cert(w, &c->certs[0]));
    wolfSSL_CTX_set_verify(w->ctx, c->no_verify ? WOLFSSL_VERIFY_NONE : WOLFSSL_VERIFY_PEER, NULL);
    return TD_OK;
}

static td_err make_ctx(ws_conn *w)
{
    const td_config *c = w->h.sut;
    bool server = c->role == TD_ROLE_SERVER;
    w->ctx = wolfSSL_CTX_new(server ? wolfTLSv1_3_server_method() : wolfTLSv1_3_client_method());
    if (w->ctx == NULL)
        return TD_ERR_NOMEM;
    if (c->max_fragment != 0)
        return td_sut_unsupported(&w->h,
                                  "wolfSSL limits its records only through max_fragment_length");
    wolfSSL_CTX_SetIORecv(w->ctx, io_recv);
    wolfSSL_CTX_SetIOSend(w->ctx, io_send);
    if (c->trust_anchor != NULL &&
        wolfSSL_CTX_load_verify_buffer(w->ctx, c->trust_anchor, (long)c->trust_anchor_len,
                                       WOLFSSL_FILETYPE_ASN1) != WOLFSSL_SUCCESS)
        return td_sut_unsupported(&w->h, "wolfSSL refused the trust anchor");
    size_t n = 0;
    for (size_t i = 0; i < c->num_alpn; i++) {
        int k = snprintf(w->alpn + n, sizeof(w->alpn) - n, "%s%s", i ? "," : "", c->alpn[i]);
        if (k < 0 || (size_t)k >= sizeof(w->alpn) - n || strchr(c->alpn[i], ',') != NULL)
            return td_sut_unsupported(&w->h, "ALPN list wolfSSL cannot take");
        n += (size_t)k;
    }
    return server ? config_server(w) : config_client(w);
}

/* A fresh WOLFSSL on the context (conn_new, reset). */
static td_err make_ssl(ws_conn *w)
{
    const td_config *c = w->h.sut;
    w->phase = TD_SUT_HANDSHAKE;
    w->completed = false;
    w->error[0] = '\0';
    td_sut_pipe_clear(&w->h.io);
    w->ssl = wolfSSL_new(w->ctx);
    if (w->ssl == NULL)
        return TD_ERR_NOMEM;
    wolfSSL_SetIOReadCtx(w->ssl, w);
    wolfSSL_SetIOWriteCtx(w->ssl, w);
    if (w->alpn[0] != '\0') {
        /* Server: RFC 7301 §3.2, no overlap fatal (no_application_protocol). */
        unsigned char opt = c->role == TD_ROLE_SERVER ? WOLFSSL_ALPN_FAILED_ON_MISMATCH
                                                      : WOLFSSL_ALPN_CONTINUE_ON_MISMATCH;
        if (wolfSSL_UseALPN(w->ssl, w->alpn, (unsigned)strlen(w->alpn), opt) != WOLFSSL_SUCCESS)
            return td_sut_unsupported(&w->h, "wolfSSL refused ALPN %s", w->alpn);
    }
    if (c->role == TD_ROLE_SERVER) {
        if (c->num_tickets == 0 && wolfSSL_no_ticket_TLSv13(w->ssl) < 0)
            return TD_ERR_CRYPTO;
        /* RFC 8446 §4.2.2: wolfSSL puts a cookie (an HMAC of the first
         * ClientHello's hash) in its HelloRetryRequest. */
        if (c->hrr_cookie && wolfSSL_send_hrr_cookie(w->ssl, NULL, 0) < 0)
            return td_sut_unsupported(&w->h, "wolfSSL refused to send HRR cookies");
        return TD_OK;
    }
    if (c->server_name != NULL &&
        wolfSSL_UseSNI(w->ssl, WOLFSSL_SNI_HOST_NAME, c->server_name,
                       (unsigned short)strlen(c->server_name)) != WOLFSSL_SUCCESS)
        return td_sut_unsupported(&w->h, "wolfSSL refused server_name \"%s\"", c->server_name);
    /* The name is checked when the case names one (verify_name), as the engine does. */
    if (!c->no_verify && c->verify_name != NULL &&
        wolfSSL_check_domain_name(w->ssl, c->verify_name) != WOLFSSL_SUCCESS)
        return TD_ERR_CRYPTO;
    if (c->psk_ke_only && wolfSSL_no_dhe_psk(w->ssl) < 0)
        return TD_ERR_CRYPTO;
    if (c->share_groups != NULL) {
        /* RFC 8446 §4.2.8: the shares our case asks for, in its order. */
        if (wolfSSL_NoKeyShares(w->ssl) != WOLFSSL_SUCCESS)
            return TD_ERR_CRYPTO;
        for (size_t i = 0; i < c->num_share_groups; i++)
            if (wolfSSL_UseKeyShare(w->ssl, c->share_groups[i]) != WOLFSSL_SUCCESS)
                return td_sut_unsupported(&w->h, "wolfSSL cannot send a key share for group 0x%04x",
                                          c->share_groups[i]);
    }
    if (c->resume != NULL) {
        if (w->keep->session == NULL)
            return td_sut_unsupported(&w->h,
                                      "resume: the first connection left wolfSSL no session");
        if (wolfSSL_set_session(w->ssl, w->keep->session) != WOLFSSL_SUCCESS)
            return TD_ERR_CRYPTO;
    } else {
        wolfSSL_SESSION_free(w->keep->session);
        w->keep->session = NULL;
    }
    return TD_OK;
}

/* ---- the exchange ---- */

/* A wolfSSL call returned |r| (not success): waiting for bytes, or the end
 * (wolfSSL sends its fatal alert itself). */
static void stopped(ws_conn *w, int r)
{
    int e = wolfSSL_get_error(w->ssl, r);
    if (e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE)
        return;
    w->phase = e == WOLFSSL_ERROR_ZERO_RETURN ? TD_SUT_CLOSED : TD_SUT_FAILED;
    if (w->phase == TD_SUT_FAILED && w->error[0] == '\0')
        wolfSSL_ERR_error_string_n((unsigned long)e, w->error, sizeof(w->error));
}

static void keep_session(ws_conn *w)
{
    if (w->h.sut->role != TD_ROLE_CLIENT)
        return;
    WOLFSSL_SESSION *s = wolfSSL_get1_session(w->ssl);
    if (s == NULL)
        return;
    if (!wolfSSL_SESSION_has_ticket(s)) {
        wolfSSL_SESSION_free(s);
        return;
    }
    wolfSSL_SESSION_free(w->keep->session);
    w->keep->session = s;
}

static td_err ws_step(void *conn, bool *out_changed)
{
    ws_conn *w = conn;
    td_sut_state before = w->phase;
    char buf[4096];
    if (w->phase == TD_SUT_HANDSHAKE) {
        int r = w->h.sut->role == TD_ROLE_SERVER ? wolfSSL_accept(w->ssl) : wolfSSL_connect(w->ssl);
        if (r == WOLFSSL_SUCCESS)
            w->phase = TD_SUT_CONNECTED;
        else
            stopped(w, r);
    }
    if (w->phase == TD_SUT_CONNECTED) {
        w->completed = true;
        /* Post-handshake messages (tickets, KeyUpdate), data, close_notify. */
        for (int i = 0; i < WS_MAX_READS && w->phase == TD_SUT_CONNECTED; i++) {
            int r = wolfSSL_read(w->ssl, buf, sizeof(buf));
            if (r <= 0) {
                stopped(w, r);
                if (w->phase == TD_SUT_CONNECTED && w->h.io.in.len == 0)
                    break;
            }
        }
        keep_session(w);
    }
    *out_changed = w->phase != before;
    return TD_OK;
}

static void ws_status(void *conn, td_sut_status *out)
{
    ws_conn *w = conn;
    memset(out, 0, sizeof(*out));
    out->state = w->phase;
    out->completed = w->completed;
    out->resumed = w->completed && wolfSSL_session_reused(w->ssl) == 1;
    out->alert_desc = -1;
    WOLFSSL_ALERT_HISTORY h;
    if (wolfSSL_get_alert_history(w->ssl, &h) == WOLFSSL_SUCCESS && h.last_tx.code > 0 &&
        h.last_tx.level == 2)
        out->alert_desc = h.last_tx.code;
    if (w->h.sut->role == TD_ROLE_CLIENT && w->keep->session != NULL) {
        out->has_session = true;
        const char *name = wolfSSL_get_cipher_name(w->ssl);
        out->session_suite = name == NULL                     ? 0x1301
                             : strstr(name, "AES256") != NULL ? 0x1302
                             : strstr(name, "CHACHA") != NULL ? 0x1303
                             : strstr(name, "CCM-8") != NULL  ? 0x1305
                             : strstr(name, "CCM") != NULL    ? 0x1304
                                                              : 0x1301;
    }
    snprintf(out->error, sizeof(out->error), "%s", w->error);
}

static void free_ssl(ws_conn *w)
{
    if (w->ssl != NULL)
        wolfSSL_free(w->ssl);
    w->ssl = NULL;
}

static void ws_conn_free(void *conn)
{
    ws_conn *w = conn;
    if (w == NULL)
        return;
    free_ssl(w);
    if (w->ctx != NULL)
        wolfSSL_CTX_free(w->ctx);
    td_sut_pipe_free(&w->h.io);
    free(w);
}

static td_err ws_reset(void *conn)
{
    ws_conn *w = conn;
    free_ssl(w);
    return make_ssl(w);
}

static td_err ws_setup(void *conn, void *keep)
{
    ws_conn *w = conn;
    w->keep = keep;
    td_err err = make_ctx(w);
    return err == TD_OK ? make_ssl(w) : err;
}

static td_err ws_conn_new(void *keep, const td_config *sut, const td_config *ours, void **out,
                          char *why, size_t why_len)
{
    return td_sut_conn_new(sizeof(ws_conn), keep, sut, ours, why, why_len, ws_setup, ws_conn_free,
                           out);
}

static td_err ws_keep_new(void **out)
{
    /* wolfSSL_Init counts its callers; ws_keep_free undoes it. */
    if (wolfSSL_Init() != WOLFSSL_SUCCESS)
        return TD_ERR_CRYPTO;
    *out = calloc(1, sizeof(ws_keep));
    if (*out == NULL) {
        wolfSSL_Cleanup();
        return TD_ERR_NOMEM;
    }
    return TD_OK;
}

static void ws_keep_free(void *keep)
{
    ws_keep *k = keep;
    if (k == NULL)
        return;
    wolfSSL_SESSION_free(k->session);
    free(k);
    wolfSSL_Cleanup();
}

static void ws_version(char *buf, size_t len)
{
    snprintf(buf, len, "wolfSSL %s", wolfSSL_lib_version());
}

const td_sut_adapter td_sut_wolfssl = {
    .name = "wolfssl",
    .library = "wolfSSL",
    .version = ws_version,
    .keep_new = ws_keep_new,
    .keep_free = ws_keep_free,
    .conn_new = ws_conn_new,
    .reset = ws_reset,
    .feed = td_sut_feed,
    .step = ws_step,
    .drain = td_sut_drain,
    .status = ws_status,
    .keylog = NULL,
    .conn_free = ws_conn_free,
};
