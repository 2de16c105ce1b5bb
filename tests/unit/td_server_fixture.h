/* tests/unit/td_server_fixture.h -- shared by test_server.c and
 * test_server_checks.c: server configurations for the RFC 8448 traces (the
 * trace's randoms, keys, PSS salts and tickets injected), builders of
 * client flights (edited ClientHellos, records sealed under the trace's
 * client secrets) and the failure check. Include once per test program. */
#ifndef TD_SERVER_FIXTURE_H
#define TD_SERVER_FIXTURE_H

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "conn_internal.h"
#include "td_test.h"
#include "td_test_file.h"
#include "td_vectors.h"

static td_crypto *g_crypto;

#define V(sec, step, name) TD_VEC_DATA(sec, step, name)
#define VL(sec, step, name) TD_VEC_LEN(sec, step, name)
#define REC(sec, step) V(sec, step, "complete record"), VL(sec, step, "complete record")

/* ---- fixtures ---- */

static inline char *read_file(const char *path, size_t *len)
{
    return td_test_read(path, len);
}

static inline td_pkey *load_key(const char *path)
{
    size_t len;
    char *pem = read_file(path, &len);
    td_pkey *key = NULL;
    if (pem == NULL || td_pkey_from_pem(g_crypto, pem, len, &key) != TD_OK)
        key = NULL;
    free(pem);
    return key;
}

/* The first certificate of a Certificate handshake message (header,
 * empty context, u24 list, u24 cert_data). */
static inline td_der cert_of(const uint8_t *msg)
{
    td_der d;
    d.len = (size_t)msg[8] << 16 | (size_t)msg[9] << 8 | msg[10];
    d.data = (uint8_t *)msg + 11;
    return d;
}

/* RFC 8017 §9.1.2 backwards: the PSS salt of an RSA-PSS-SHA256 signature,
 * recovered with the public key (RSA public operation, unmask DB). */
static inline int pss_salt(const td_der *cert, const uint8_t *sig, size_t sig_len, uint8_t salt[32])
{
    const uint8_t *p = cert->data;
    X509 *x = d2i_X509(NULL, &p, (long)cert->len);
    EVP_PKEY *pk = x ? X509_get0_pubkey(x) : NULL;
    EVP_PKEY_CTX *ctx = pk ? EVP_PKEY_CTX_new(pk, NULL) : NULL;
    uint8_t em[512];
    size_t em_len = sizeof(em);
    int ok = ctx && EVP_PKEY_encrypt_init(ctx) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) == 1 &&
             EVP_PKEY_encrypt(ctx, em, &em_len, sig, sig_len) == 1;
    EVP_PKEY_CTX_free(ctx);
    X509_free(x);
    if (!ok || em_len != sig_len || em[em_len - 1] != 0xbc)
        return -1;
    /* EM = maskedDB || H || 0xbc; DB = maskedDB xor MGF1(H). */
    size_t db_len = em_len - 32 - 1;
    const uint8_t *h = em + db_len;
    uint8_t mask[512];
    for (uint32_t ctr = 0; ctr * 32 < db_len; ctr++) {
        uint8_t in[36], out[32];
        memcpy(in, h, 32);
        in[32] = (uint8_t)(ctr >> 24), in[33] = (uint8_t)(ctr >> 16), in[34] = (uint8_t)(ctr >> 8),
        in[35] = (uint8_t)ctr;
        if (EVP_Digest(in, sizeof(in), out, NULL, EVP_sha256(), NULL) != 1)
            return -1;
        memcpy(mask + ctr * 32, out, (db_len - ctr * 32) < 32 ? db_len - ctr * 32 : 32);
    }
    for (size_t i = 0; i < db_len; i++)
        em[i] ^= mask[i];
    memcpy(salt, em + db_len - 32, 32);
    return 0;
}

/* A server connection and the storage its config points to. */
typedef struct srv {
    td_config cfg;
    td_inject inj;
    td_cert_key ck;
    td_der chain[1];
    td_pkey *key;
    const uint8_t *priv[1];
    size_t priv_len[1];
    uint8_t salt[32];
    td_psk_entry psk;
    td_conn *c;
} srv;

static const uint16_t k_nss_groups[] = {0x001d, 0x0017, 0x0018, 0x0019, 0x0100,
                                        0x0101, 0x0102, 0x0103, 0x0104};
static const uint8_t k_seed[] = "test_server";

static inline void srv_base(srv *s)
{
    memset(s, 0, sizeof(*s));
    s->cfg.role = TD_ROLE_SERVER;
    s->cfg.crypto = g_crypto;
    s->cfg.seed = k_seed;
    s->cfg.seed_len = sizeof(k_seed);
    s->cfg.clock_start_ms = 1000000;
    s->cfg.groups = k_nss_groups;
    s->cfg.num_groups = sizeof(k_nss_groups) / sizeof(k_nss_groups[0]);
    s->cfg.certs = &s->ck;
    s->cfg.num_certs = 1;
    s->ck.chain = s->chain;
    s->ck.num_chain = 1;
}

/* §3-style server: the §2 RSA key and the trace's certificate; the
 * injections of section |sec| (server random in the ServerHello at
 * |sh_step|, x25519/P-256 key at |key_step|, PSS salt from |cv_step|). */
static inline void srv_trace(srv *s, int sec, int sh_step, int key_step, int cert_step, int cv_step)
{
    srv_base(s);
    s->key = load_key(TD_VECTORS_DIR "/rfc8448-server-key.pem");
    s->ck.key = s->key;
    if (cert_step > 0)
        s->chain[0] = cert_of(V(sec, cert_step, "Certificate"));
    s->inj.random = V(sec, sh_step, "ServerHello") + 6;
    s->priv[0] = V(sec, key_step, "private key");
    s->priv_len[0] = VL(sec, key_step, "private key");
    s->inj.share_private = s->priv;
    s->inj.share_private_len = s->priv_len;
    s->inj.num_share_private = 1;
    if (cv_step > 0 && pss_salt(&s->chain[0], V(sec, cv_step, "CertificateVerify") + 8,
                                VL(sec, cv_step, "CertificateVerify") - 8, s->salt) == 0) {
        s->inj.sig_random = s->salt;
        s->inj.sig_random_len = 32;
    }
    s->cfg.inject = &s->inj;
}

static inline int srv_start(srv *s)
{
    return td_conn_new(&s->cfg, &s->c) == TD_OK && td_conn_start(s->c) == TD_OK ? 0 : -1;
}

static inline void srv_free(srv *s)
{
    td_conn_free(s->c);
    td_pkey_free(s->key);
    s->c = NULL;
    s->key = NULL;
}

static inline void feed(srv *s, const uint8_t *data, size_t len)
{
    TD_EXPECT(td_conn_feed(s->c, data, len) == TD_OK);
}

/* Drains and compares with the concatenation of the given trace records. */
static inline void expect_out(srv *s, const uint8_t *a, size_t a_len, const uint8_t *b,
                              size_t b_len, const uint8_t *c3, size_t c_len)
{
    const uint8_t *out;
    size_t out_len;
    td_conn_drain(s->c, &out, &out_len);
    uint8_t *want = malloc(a_len + b_len + c_len + 1);
    memcpy(want, a, a_len);
    if (b_len)
        memcpy(want + a_len, b, b_len);
    if (c_len)
        memcpy(want + a_len + b_len, c3, c_len);
    TD_EXPECT_MEM(out, out_len, want, a_len + b_len + c_len);
    if (out_len != a_len + b_len + c_len || memcmp(out, want, out_len) != 0) {
        for (size_t i = 0; i < out_len && i < 64; i++)
            fprintf(stderr, "%02x", out[i]);
        fprintf(stderr, "\n");
    }
    if (out_len != a_len + b_len + c_len || memcmp(out, want, out_len) != 0)
        fprintf(stderr, "  server status: %s rule %s: %s\n",
                td_phase_name(td_conn_status(s->c)->phase),
                td_rule_get(td_conn_status(s->c)->diag.rule)
                    ? td_rule_get(td_conn_status(s->c)->diag.rule)->id
                    : "-",
                td_conn_status(s->c)->diag.text);
    free(want);
}

static inline void expect_nothing(srv *s)
{
    const uint8_t *out;
    size_t out_len;
    td_conn_drain(s->c, &out, &out_len);
    TD_EXPECT_EQ(out_len, 0);
}

static const uint16_t k_hrr_groups[] = {0x0017, 0x0018, 0x001d};

/* The cookie of the §5 HelloRetryRequest message. */
static inline td_cbs hrr_cookie_of(const uint8_t *hrr, size_t len)
{
    td_msg m;
    td_cbs out = {0};
    td_msg_ctx ctx = {.hash_len = 32, .sh_mode = TD_SH_AUTO};
    if (td_msg_parse_handshake(hrr, len, &ctx, &m, NULL) == TD_OK)
        out = m.u.sh.ext.cookie;
    return out;
}

static inline void srv_hrr(srv *s, bool inject_cookie)
{
    srv_trace(s, 5, 10, 9, 20, 21);
    s->cfg.groups = k_hrr_groups;
    s->cfg.num_groups = 3;
    s->cfg.hrr = TD_HRR_ALWAYS;
    if (inject_cookie) {
        td_cbs ck = hrr_cookie_of(V(5, 3, "ServerHello"), VL(5, 3, "ServerHello"));
        s->inj.hrr_cookie = td_cbs_data(&ck);
        s->inj.hrr_cookie_len = td_cbs_len(&ck);
    }
}

/* §6: the trace's server key is not published; a P-256 key of ours signs
 * and this hook puts the trace's signature in its place, so the rest of
 * the transcript (and the client's messages over it) is the trace's. */
static inline td_err put_trace_cv(void *arg, td_conn *c, td_msg *msg, td_binder_mode *mode)
{
    (void)arg, (void)c, (void)mode;
    if (msg->type == TD_MSG_CERTIFICATE_VERIFY)
        td_cbs_init(&msg->u.cv.signature, V(6, 17, "CertificateVerify") + 8,
                    VL(6, 17, "CertificateVerify") - 8);
    return TD_OK;
}

static const uint16_t k_nss_sigalgs[] = {0x0403, 0x0503, 0x0603, 0x0203, 0x0804,
                                         0x0805, 0x0806, 0x0401, 0x0501, 0x0601,
                                         0x0201, 0x0402, 0x0502, 0x0602, 0x0202};

static inline void srv_auth(srv *s)
{
    srv_trace(s, 6, 5, 4, 16, 0);
    td_pkey_free(s->key);
    s->key = load_key(TD_VECTORS_DIR "/certs/server-p256.key");
    s->ck.key = s->key;
    s->cfg.sigalgs = k_nss_sigalgs;
    s->cfg.num_sigalgs = sizeof(k_nss_sigalgs) / sizeof(k_nss_sigalgs[0]);
    s->cfg.client_auth = TD_CLIENT_AUTH_REQUIRE;
    s->cfg.msg_hook = put_trace_cv;
    /* The client's certificate is self-signed: it is its own anchor. */
    td_der client = cert_of(V(6, 40, "Certificate"));
    s->cfg.trust_anchor = client.data;
    s->cfg.trust_anchor_len = client.len;
}

/* §4: the ticket of §3 is NSS's; the server knows it through cfg->psks. */
static inline void srv_resume(srv *s)
{
    srv_trace(s, 4, 14, 11, 0, 0);
    s->cfg.num_certs = 0;
    const uint8_t *nst = V(3, 48, "NewSessionTicket");
    s->psk.identity = nst + 17;
    s->psk.identity_len = (size_t)nst[15] << 8 | nst[16];
    s->psk.psk = V(3, 47, "expanded");
    s->psk.psk_len = 32;
    s->psk.suite = 0x1301;
    s->psk.resumption = true;
    s->psk.max_early_data = 1024;
    s->psk.age_add = 0xfad6aac5;
    s->psk.lifetime_s = 30;
    s->psk.issued_ms = s->cfg.clock_start_ms - 6; /* obfuscated age 0xfad6aacb: 6 ms */
    s->cfg.psks = &s->psk;
    s->cfg.num_psks = 1;
    s->cfg.accept_early_data = true;
}

/* ---- building client flights ---- */

/* Wraps a handshake message into a plaintext record. */
static inline size_t plain_record(const uint8_t *msg, size_t len, uint8_t *out, size_t cap)
{
    td_cbb cbb;
    uint8_t *data;
    size_t n = 0;
    if (!td_cbb_init_fixed(&cbb, out, cap) ||
        td_rec_write_plain(&cbb, TD_CT_HANDSHAKE, 0x0303, msg, len) != TD_OK ||
        !td_cbb_finish(&cbb, &data, &n))
        return 0;
    return n;
}

/* Seals handshake bytes (one record) under a client traffic secret, as the
 * |seq|-th record under it. */
static inline size_t sealed_record(const uint8_t *secret, uint64_t seq, uint8_t type,
                                   const uint8_t *msg, size_t len, uint8_t *out, size_t cap)
{
    td_rec_cipher rc;
    td_cbb cbb;
    uint8_t *data;
    size_t n = 0;
    memset(&rc, 0, sizeof(rc));
    if (td_rec_cipher_init(&rc, g_crypto, td_suite_get(0x1301), secret) != TD_OK)
        return 0;
    rc.seq = seq;
    if (!td_cbb_init_fixed(&cbb, out, cap) ||
        td_rec_seal(&rc, &cbb, type, msg, len, 0, 0, NULL) != TD_OK ||
        !td_cbb_finish(&cbb, &data, &n))
        n = 0;
    td_rec_cipher_cleanup(&rc);
    return n;
}

typedef void (*ch_edit_fn)(td_msg *m);

/* A ClientHello record: the trace message |ch| after |edit|. */
static inline size_t ch_record(const uint8_t *ch, size_t len, ch_edit_fn edit, uint8_t *out,
                               size_t cap)
{
    static td_msg m;
    td_msg_ctx ctx = {.hash_len = 32, .sh_mode = TD_SH_AUTO};
    td_cbb cbb;
    uint8_t *data;
    size_t n;
    if (td_msg_parse_handshake(ch, len, &ctx, &m, NULL) != TD_OK)
        return 0;
    if (edit != NULL)
        edit(&m);
    if (!td_cbb_init(&cbb, 1024) || td_msg_build(&m, &cbb) != TD_OK ||
        !td_cbb_finish(&cbb, &data, &n)) {
        td_cbb_cleanup(&cbb);
        return 0;
    }
    size_t r = plain_record(data, n, out, cap);
    free(data);
    return r;
}

static inline void remove_ext(td_msg *m, uint16_t type)
{
    int i = td_exts_index(&m->u.ch.exts, type);
    if (i >= 0 && td_exts_remove(&m->u.ch.exts, (size_t)i) != TD_OK)
        abort();
}

static inline void typed(td_msg *m, uint16_t type)
{
    td_ext *e = td_exts_find(&m->u.ch.exts, type);
    if (e != NULL)
        e->from_typed = true;
}

static inline void expect_failed(srv *s, const char *name, const char *rule, td_alert alert)
{
    const td_status *st = td_conn_status(s->c);
    const td_rule_info *ri = td_rule_get(st->diag.rule);
    td_test_checks++;
    if (st->phase != TD_PHASE_FAILED || ri == NULL || strcmp(ri->id, rule) != 0 ||
        !st->alert_sent || st->alert_sent_desc != alert) {
        td_test_failures++;
        fprintf(stderr, "%s: row \"%s\": want %s/%s, got phase %s rule %s alert %s (%s)\n",
                td_test_current, name, rule, td_alert_name(alert), td_phase_name(st->phase),
                ri ? ri->id : "-", st->alert_sent ? td_alert_name(st->alert_sent_desc) : "none",
                st->diag.text);
    }
}

/* Opens one protected record (|seq| under |secret|) into |out|. */
static inline size_t open_record(const uint8_t *secret, uint64_t seq, const uint8_t *rec,
                                 size_t len, uint8_t *out, size_t cap)
{
    td_rec_cipher rc;
    td_record r;
    uint8_t type;
    td_cbs content;
    size_t n = 0;
    memset(&rc, 0, sizeof(rc));
    if (td_rec_cipher_init(&rc, g_crypto, td_suite_get(0x1301), secret) != TD_OK)
        return 0;
    rc.seq = seq;
    if (td_rec_parse(rec, len, true, &r, NULL) == TD_OK && r.fragment_len <= cap &&
        td_rec_open(&rc, &r, out, cap, &type, &content, NULL) == TD_OK) {
        n = td_cbs_len(&content);
        memmove(out, td_cbs_data(&content), n);
    }
    td_rec_cipher_cleanup(&rc);
    return n;
}

#endif
