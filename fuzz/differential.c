/* fuzz/differential.c -- the `differential` fuzz target: the same client
 * record stream (a ClientHello flight) to the engine's server and to OpenSSL
 * libssl's TLS 1.3-only server, both configured alike (suites 1301 1302
 * 1303; groups x25519 secp256r1 secp384r1; the engine's default signature
 * schemes; the P-256 test certificate; ALPN h2, http/1.1; no tickets, no
 * 0-RTT). What each sent first is compared: a ServerHello, a
 * HelloRetryRequest, an alert (which one), nothing. A disagreement that
 * fuzz/differential_known.def does not list is a finding:
 *
 *   ==tlsdrill-oracle== differential: differential: rule R alert A: openssl sent B, ...
 *
 * then abort(). Inputs are the raw bytes the client sends; inputs starting
 * with "TDP1" (mutation programs of the other targets) are skipped.
 *
 * State: the harness context (crypto, certificates, the SSL_CTX) is built
 * once per process -- the only mutable static of the target, as libFuzzer's
 * entry points take no context. Each input gets a fresh td_conn (fixed
 * seed) and a fresh SSL; the SSL_CTX keeps no sessions (cache off, no
 * tickets), so one input cannot change the verdict of the next. libssl
 * draws its own randomness, which changes no accept/reject decision. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "differential.h"
#include "fuzz_certs.h"
#include "mutator.h"
#include "tlsdrill/conn.h"
#include "tlsdrill/record.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);
size_t LLVMFuzzerCustomCrossOver(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
                                 uint8_t *out, size_t max_out, unsigned int seed);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size) __attribute__((weak));

#define DIFF_MAX_OUT (1u << 20) /* bytes of server output we look at, per side */

static const uint16_t k_suites[] = {0x1301, 0x1302, 0x1303};
static const uint16_t k_groups[] = {0x001d, 0x0017, 0x0018};
static const uint16_t k_sigalgs[] = {0x0403, 0x0503, 0x0804, 0x0805, 0x0806, 0x0807};
static const char *const k_alpn[] = {"h2", "http/1.1"};
static const uint8_t k_seed[] = "tlsdrill differential";

struct td_diff_ctx {
    td_crypto *crypto;
    td_der *chain;
    size_t num_chain;
    td_pkey *key;
    td_cert_key ck;
    td_config cfg;
    SSL_CTX *ssl_ctx;
};

/* RFC 7301 §3.2, server preference, as the engine does: the first of our
 * protocols the client offered; none in common: no_application_protocol. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    for (size_t i = 0; i < sizeof(k_alpn) / sizeof(k_alpn[0]); i++) {
        size_t n = strlen(k_alpn[i]);
        for (unsigned int o = 0; o < inlen;) {
            unsigned int len = in[o];
            if (o + 1 + len > inlen)
                break;
            if (len == n && memcmp(in + o + 1, k_alpn[i], n) == 0) {
                *out = in + o + 1;
                *outlen = (unsigned char)len;
                return SSL_TLSEXT_ERR_OK;
            }
            o += 1 + len;
        }
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static td_err make_ssl_ctx(td_diff_ctx *c)
{
    EVP_PKEY *pk = td_pkey_evp(c->key);
    SSL_CTX *x = SSL_CTX_new(TLS_server_method());
    if (x == NULL || pk == NULL)
        goto fail;
    c->ssl_ctx = x;
    if (SSL_CTX_set_min_proto_version(x, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(x, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_ciphersuites(
            x, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256") != 1 ||
        SSL_CTX_set1_groups_list(x, "X25519:P-256:P-384") != 1 ||
        SSL_CTX_set1_sigalgs_list(x, "ecdsa_secp256r1_sha256:ecdsa_secp384r1_sha384:"
                                     "rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:"
                                     "rsa_pss_rsae_sha512:ed25519") != 1)
        goto fail;
    for (size_t i = 0; i < c->num_chain; i++) {
        const unsigned char *p = c->chain[i].data;
        X509 *cert = d2i_X509(NULL, &p, (long)c->chain[i].len);
        int ok = cert != NULL && (i == 0 ? SSL_CTX_use_certificate(x, cert)
                                         : SSL_CTX_add1_chain_cert(x, cert)) == 1;
        X509_free(cert);
        if (!ok)
            goto fail;
    }
    if (SSL_CTX_use_PrivateKey(x, pk) != 1 || SSL_CTX_check_private_key(x) != 1 ||
        SSL_CTX_set_num_tickets(x, 0) != 1 || SSL_CTX_set_max_early_data(x, 0) != 1)
        goto fail;
    SSL_CTX_set_alpn_select_cb(x, alpn_select, NULL);
    SSL_CTX_set_session_cache_mode(x, SSL_SESS_CACHE_OFF);
    /* As the scenario peer does (engine/peers/openssl.c): the engine
     * resumes with psk_ke too; no replay cache across inputs. */
    SSL_CTX_set_options(x, SSL_OP_ALLOW_NO_DHE_KEX | SSL_OP_NO_ANTI_REPLAY);
    return TD_OK;
fail:
    ERR_clear_error();
    return TD_ERR_CRYPTO;
}

td_err td_diff_ctx_new(td_diff_ctx **out)
{
    td_diff_ctx *c = calloc(1, sizeof(*c));
    td_err ret = TD_ERR_NOMEM;
    *out = NULL;
    if (c == NULL)
        return TD_ERR_NOMEM;
    TD_GUARD(td_crypto_new(&c->crypto));
    TD_GUARD(td_certs_from_pem((const char *)td_fz_diff_server_chain_pem, td_fz_diff_server_chain_pem_len,
                               &c->chain, &c->num_chain));
    TD_GUARD(td_pkey_from_pem(c->crypto, (const char *)td_fz_diff_server_key_pem,
                              td_fz_diff_server_key_pem_len, &c->key));
    c->ck = (td_cert_key){.chain = c->chain, .num_chain = c->num_chain, .key = c->key};
    c->cfg = (td_config){.role = TD_ROLE_SERVER,
                         .crypto = c->crypto,
                         .seed = k_seed,
                         .seed_len = sizeof(k_seed) - 1,
                         .suites = k_suites,
                         .num_suites = 3,
                         .groups = k_groups,
                         .num_groups = 3,
                         .sigalgs = k_sigalgs,
                         .num_sigalgs = 6,
                         .alpn = k_alpn,
                         .num_alpn = 2,
                         .certs = &c->ck,
                         .num_certs = 1};
    TD_GUARD(make_ssl_ctx(c));
    *out = c;
    c = NULL;
out:
    td_diff_ctx_free(c);
    return ret;
}

td_config *td_diff_ctx_engine_config(td_diff_ctx *c)
{
    return &c->cfg;
}

void td_diff_ctx_free(td_diff_ctx *c)
{
    if (c == NULL)
        return;
    SSL_CTX_free(c->ssl_ctx);
    td_pkey_free(c->key);
    td_der_list_free(c->chain, c->num_chain);
    td_crypto_free(c->crypto);
    free(c);
}

/* ---- how a server ended ---- */

/* What the first record of |p| is (no failure): SH, HRR, other, nothing. */
static td_diff_kind first_record(const uint8_t *p, size_t n)
{
    td_rec_frame rec;
    if (!td_rec_frame_read(p, n, &rec))
        return TD_DIFF_NOTHING;
    size_t len = rec.avail_len;
    const uint8_t *f = rec.body;
    if (rec.type != TD_CT_HANDSHAKE || len < 4 + 2 + TD_RANDOM_LEN || f[0] != TD_MSG_SERVER_HELLO)
        return TD_DIFF_OTHER;
    /* RFC 8446 §4.1.3: a HelloRetryRequest is a ServerHello with the
     * special random. */
    return memcmp(f + 6, td_hrr_random, TD_RANDOM_LEN) == 0 ? TD_DIFF_HRR : TD_DIFF_SH;
}

static void settle(td_diff_side *s, const uint8_t *out, size_t n, bool failed, bool alerted,
                   uint8_t alert)
{
    td_diff_kind first = first_record(out, n);
    s->after_hello = first == TD_DIFF_SH || first == TD_DIFF_HRR;
    if (failed) {
        s->kind = alerted ? TD_DIFF_ALERT : TD_DIFF_CLOSED;
        s->alert = alert;
    } else {
        s->kind = first;
    }
}

static td_err run_engine(td_diff_ctx *c, const uint8_t *data, size_t size, td_diff_side *s)
{
    td_conn *conn = NULL;
    const uint8_t *out;
    size_t n;
    TD_CHECK(td_conn_new(&c->cfg, &conn));
    td_err ret = td_conn_start(conn);
    if (ret == TD_OK)
        ret = td_conn_feed(conn, data, size);
    if (ret == TD_OK) {
        td_conn_drain(conn, &out, &n);
        const td_status *st = td_conn_status(conn);
        bool failed = st->phase == TD_PHASE_FAILED;
        settle(s, out, n, failed, st->alert_sent, st->alert_sent_desc);
        const td_rule_info *ri = td_rule_get(st->diag.rule);
        s->rule = failed && ri != NULL ? ri->id : "none";
        snprintf(s->text, sizeof(s->text), "%s", failed ? st->diag.text : "");
    }
    td_conn_free(conn);
    return ret;
}

/* The first alert libssl writes (plaintext or not). */
typedef struct ossl_alert {
    bool sent;
    uint8_t desc;
} ossl_alert;

static void info_cb(const SSL *ssl, int where, int ret)
{
    ossl_alert *a = SSL_get_app_data(ssl);
    if ((where & SSL_CB_WRITE_ALERT) == SSL_CB_WRITE_ALERT && a != NULL && !a->sent) {
        a->sent = true;
        a->desc = (uint8_t)(ret & 0xff);
    }
}

static td_err run_openssl(td_diff_ctx *c, const uint8_t *data, size_t size, td_diff_side *s)
{
    SSL *ssl = SSL_new(c->ssl_ctx);
    BIO *rbio = BIO_new(BIO_s_mem()), *wbio = BIO_new(BIO_s_mem());
    ossl_alert alert = {false, 0};
    td_err ret = TD_ERR_NOMEM;
    if (ssl == NULL || rbio == NULL || wbio == NULL) {
        BIO_free(rbio);
        BIO_free(wbio);
        goto out;
    }
    BIO_set_mem_eof_return(rbio, -1);
    BIO_set_mem_eof_return(wbio, -1);
    SSL_set_bio(ssl, rbio, wbio);
    SSL_set_app_data(ssl, &alert);
    SSL_set_info_callback(ssl, info_cb);
    SSL_set_accept_state(ssl);
    if (size > INT32_MAX || (size > 0 && BIO_write(rbio, data, (int)size) != (int)size))
        goto out;
    int r = SSL_do_handshake(ssl);
    int e = r == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl, r);
    unsigned long why = ERR_peek_last_error();
    const char *reason = why != 0 ? ERR_reason_error_string(why) : NULL;
    snprintf(s->text, sizeof(s->text), "%s", reason != NULL ? reason : "");
    ERR_clear_error();
    bool failed = e == SSL_ERROR_SSL || e == SSL_ERROR_SYSCALL;
    s->rule = failed ? "failed" : "none";
    const uint8_t *out = NULL;
    long n = BIO_get_mem_data(wbio, (char **)&out);
    settle(s, out, n > 0 ? (size_t)n : 0, failed, alert.sent, alert.desc);
    ret = TD_OK;
out:
    SSL_free(ssl);
    return ret;
}

/* ---- the known-divergence table ---- */

typedef struct known {
    int ext;   /* the first ClientHello must carry this extension; -1: any input */
    int first; /* the first record must have this content type; -1: any */
    const char *rule, *ours, *theirs, *why, *reason;
} known;

static const known k_known[] = {
#define TD_DIFF_KNOWN(rule, ours, theirs, why, reason) {-1, -1, rule, ours, theirs, why, reason},
#define TD_DIFF_KNOWN_EXT(ext, rule, ours, theirs, why, reason)                                    \
    {ext, -1, rule, ours, theirs, why, reason},
#define TD_DIFF_KNOWN_FIRST(type, rule, ours, theirs, why, reason)                                 \
    {-1, type, rule, ours, theirs, why, reason},
#include "differential_known.def"
#undef TD_DIFF_KNOWN
#undef TD_DIFF_KNOWN_EXT
#undef TD_DIFF_KNOWN_FIRST
    {-1, -1, NULL, NULL, NULL, NULL, NULL},
};

/* True if the first handshake message of |data|'s first run of handshake
 * records is a ClientHello whose extension block (read as far as it goes)
 * has an extension of |type|. */
static bool first_ch_has_ext(const uint8_t *data, size_t size, uint16_t type)
{
    uint8_t buf[4096];
    size_t len = 0, o = 0;
    td_rec_frame rec;
    while (td_rec_frame_read(data + o, size - o, &rec) && rec.type == TD_CT_HANDSHAKE &&
           len < sizeof(buf)) {
        size_t n = rec.avail_len;
        if (n > sizeof(buf) - len)
            n = sizeof(buf) - len;
        memcpy(buf + len, data + o + TD_REC_HEADER_LEN, n);
        len += n;
        o += TD_REC_HEADER_LEN + n;
    }
    td_cbs in, sid, suites, comp, exts;
    uint8_t mt;
    uint32_t ml;
    td_cbs_init(&in, buf, len);
    if (!td_cbs_get_u8(&in, &mt) || mt != TD_MSG_CLIENT_HELLO || !td_cbs_get_u24(&in, &ml) ||
        !td_cbs_skip(&in, 2 + TD_RANDOM_LEN) || !td_cbs_get_u8_prefixed(&in, &sid) ||
        !td_cbs_get_u16_prefixed(&in, &suites) || !td_cbs_get_u8_prefixed(&in, &comp) ||
        !td_cbs_get_u16_prefixed(&in, &exts))
        return false;
    for (;;) {
        uint16_t t;
        td_cbs body;
        if (!td_cbs_get_u16(&exts, &t) || !td_cbs_get_u16_prefixed(&exts, &body))
            return false;
        if (t == type)
            return true;
    }
}

const char *td_diff_side_name(const td_diff_side *s)
{
    switch (s->kind) {
    case TD_DIFF_NOTHING: return "nothing";
    case TD_DIFF_SH: return "server_hello";
    case TD_DIFF_HRR: return "hello_retry_request";
    case TD_DIFF_OTHER: return "other";
    case TD_DIFF_CLOSED: return "closed";
    case TD_DIFF_ALERT: {
        const char *n = td_alert_name(s->alert);
        return n != NULL ? n : "unknown_alert";
    }
    }
    return "other";
}

static bool side_matches(const char *pat, const td_diff_side *s)
{
    if (strcmp(pat, "*") == 0)
        return true;
    if (strcmp(pat, "accept") == 0)
        return s->kind == TD_DIFF_SH || s->kind == TD_DIFF_HRR;
    if (strcmp(pat, "alert") == 0)
        return s->kind == TD_DIFF_ALERT;
    if (strcmp(pat, "refuse") == 0)
        return s->kind == TD_DIFF_ALERT || s->kind == TD_DIFF_CLOSED;
    return strcmp(pat, td_diff_side_name(s)) == 0;
}

/* "*", "RULE-ID", or "RULE-ID:text" (a substring of our diag text). */
static bool rule_matches(const char *pat, const td_diff_side *ours)
{
    if (strcmp(pat, "*") == 0)
        return true;
    const char *colon = strchr(pat, ':');
    size_t n = colon != NULL ? (size_t)(colon - pat) : strlen(pat);
    if (strlen(ours->rule) != n || strncmp(pat, ours->rule, n) != 0)
        return false;
    return colon == NULL || strstr(ours->text, colon + 1) != NULL;
}

static bool same(const td_diff_side *a, const td_diff_side *b)
{
    return a->kind == b->kind && (a->kind != TD_DIFF_ALERT || a->alert == b->alert);
}

td_err td_diff_run(td_diff_ctx *c, const uint8_t *data, size_t size, td_diff_result *out)
{
    memset(out, 0, sizeof(*out));
    TD_CHECK(run_engine(c, data, size, &out->ours));
    TD_CHECK(run_openssl(c, data, size, &out->theirs));
    if (same(&out->ours, &out->theirs))
        return TD_OK;
    /* Both refused, and the rule our server named allows libssl's alert
     * too (e.g. EXT-DUPLICATE: decode_error or illegal_parameter). */
    if (out->ours.kind == TD_DIFF_ALERT && out->theirs.kind == TD_DIFF_ALERT &&
        td_rule_allows(td_rule_by_id(out->ours.rule), (td_alert)out->theirs.alert)) {
        out->known = "rfc: the rule allows both alerts (rules.def)";
        return TD_OK;
    }
    for (const known *k = k_known; k->rule != NULL; k++) {
        if ((k->ext < 0 || first_ch_has_ext(data, size, (uint16_t)k->ext)) &&
            (k->first < 0 || (size > 0 && data[0] == k->first)) &&
            rule_matches(k->rule, &out->ours) && side_matches(k->ours, &out->ours) &&
            side_matches(k->theirs, &out->theirs) &&
            (strcmp(k->why, "*") == 0 || strstr(out->theirs.text, k->why) != NULL)) {
            out->known = k->reason;
            return TD_OK;
        }
    }
    out->finding = true;
    return TD_OK;
}

void td_diff_oracle_line(const td_diff_result *r, char *buf, size_t cap)
{
    const char *ours = td_diff_side_name(&r->ours);
    snprintf(buf, cap,
             "==tlsdrill-oracle== differential: differential: rule %s alert %s: openssl sent %s, "
             "we sent %s (ours: %s; openssl: %s)",
             r->ours.rule, r->ours.kind == TD_DIFF_ALERT ? ours : "none",
             td_diff_side_name(&r->theirs), ours, r->ours.text[0] ? r->ours.text : "-",
             r->theirs.text[0] ? r->theirs.text : "-");
}

/* ---- libFuzzer entry points ---- */

static td_diff_ctx *g_ctx; /* the harness context (see the header comment) */

static void ctx_release(void)
{
    td_diff_ctx_free(g_ctx);
    g_ctx = NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (g_ctx == NULL) {
        if (td_diff_ctx_new(&g_ctx) != TD_OK) {
            fprintf(stderr, "differential: cannot set up the servers\n");
            abort();
        }
        atexit(ctx_release);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    td_diff_result r;
    char line[512];
    if (size >= 4 && memcmp(data, "TDP1", 4) == 0)
        return 0;
    if (g_ctx == NULL)
        LLVMFuzzerInitialize(NULL, NULL);
    if (td_diff_run(g_ctx, data, size, &r) != TD_OK) {
        fprintf(stderr, "differential: harness error (not a finding of the input)\n");
        abort();
    }
    if (r.finding) {
        td_diff_oracle_line(&r, line, sizeof(line));
        fprintf(stderr, "%s\n", line);
#ifndef TD_DIFF_REPORT_ONLY /* the A/B benchmark builds report and go on */
        abort();
#endif
    }
    return 0;
}

#ifndef TD_DIFF_NO_CUSTOM_MUTATOR /* the A/B baseline build (fuzz/mutator.cmake) */
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    size_t n = td_fz_mutate_records(data, size, max_size, seed);
    if (n == 0 && LLVMFuzzerMutate != NULL)
        n = LLVMFuzzerMutate(data, size, max_size);
    return n;
}

size_t LLVMFuzzerCustomCrossOver(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
                                 uint8_t *out, size_t max_out, unsigned int seed)
{
    return td_fz_crossover_records(a, a_len, b, b_len, out, max_out, seed);
}
#endif
