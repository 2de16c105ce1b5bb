/* tests/unit/test_server.c -- engine/server*.c: the server state machine.
 *
 *  - RFC 8448 replays, server side: with the trace's randoms, keys and
 *    signature salts injected, our records equal the trace's byte for byte
 *    (§3 simple 1-RTT incl. NewSessionTicket, §5 HelloRetryRequest, §6
 *    client authentication, §7 compatibility mode, §4 resumption + 0-RTT);
 *  - our own sealed cookie and tickets (HRR round trip, resumption with a
 *    ticket we issued);
 *  - a table of malformed or non-conformant client flights, each with the
 *    catalogue rule and the alert the server must send.
 *
 * The client state machine is another slice; this test drives the server
 * with the trace's and hand-edited client messages only. */
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "td_test.h"
#include "td_vectors.h"
#include "conn_internal.h"

static td_crypto *g_crypto;

#define V(sec, step, name) TD_VEC_DATA(sec, step, name)
#define VL(sec, step, name) TD_VEC_LEN(sec, step, name)
#define REC(sec, step) V(sec, step, "complete record"), VL(sec, step, "complete record")

/* The client state machine lives in engine/client.c (another slice). Until
 * it is merged, these weak definitions let this test link; the real ones
 * win as soon as the library has them. The server never calls them. */
__attribute__((weak)) td_err td_client_start(td_conn *c) { (void)c; return TD_ERR_UNSUPPORTED; }
__attribute__((weak)) td_err td_client_handle(td_conn *c, const td_msg *m, const uint8_t *r, size_t n)
{
    (void)c, (void)m, (void)r, (void)n;
    return TD_ERR_UNSUPPORTED;
}
__attribute__((weak)) td_err td_client_post_handshake(td_conn *c, const td_msg *m, const uint8_t *r, size_t n)
{
    (void)c, (void)m, (void)r, (void)n;
    return TD_ERR_UNSUPPORTED;
}

/* ---- fixtures ---- */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    static char buf[1 << 16];
    *len = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    char *out = malloc(*len + 1);
    memcpy(out, buf, *len);
    out[*len] = 0;
    return out;
}

static td_pkey *load_key(const char *path)
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
static td_der cert_of(const uint8_t *msg)
{
    td_der d;
    d.len = (size_t)msg[8] << 16 | (size_t)msg[9] << 8 | msg[10];
    d.data = (uint8_t *)msg + 11;
    return d;
}

/* RFC 8017 §9.1.2 backwards: the PSS salt of an RSA-PSS-SHA256 signature,
 * recovered with the public key (RSA public operation, unmask DB). */
static int pss_salt(const td_der *cert, const uint8_t *sig, size_t sig_len, uint8_t salt[32])
{
    const uint8_t *p = cert->data;
    X509 *x = d2i_X509(NULL, &p, (long)cert->len);
    EVP_PKEY *pk = x ? X509_get0_pubkey(x) : NULL;
    EVP_PKEY_CTX *ctx = pk ? EVP_PKEY_CTX_new(pk, NULL) : NULL;
    uint8_t em[512];
    size_t em_len = sizeof(em);
    int ok = ctx && EVP_PKEY_encrypt_init(ctx) == 1 && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) == 1 &&
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
        in[32] = (uint8_t)(ctr >> 24), in[33] = (uint8_t)(ctr >> 16), in[34] = (uint8_t)(ctr >> 8), in[35] = (uint8_t)ctr;
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

static const uint16_t k_nss_groups[] = {0x001d, 0x0017, 0x0018, 0x0019, 0x0100, 0x0101, 0x0102, 0x0103, 0x0104};
static const uint8_t k_seed[] = "test_server";

static void srv_base(srv *s)
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
static void srv_trace(srv *s, int sec, int sh_step, int key_step, int cert_step, int cv_step)
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

static int srv_start(srv *s)
{
    return td_conn_new(&s->cfg, &s->c) == TD_OK && td_conn_start(s->c) == TD_OK ? 0 : -1;
}

static void srv_free(srv *s)
{
    td_conn_free(s->c);
    td_pkey_free(s->key);
    s->c = NULL;
    s->key = NULL;
}

static void feed(srv *s, const uint8_t *data, size_t len)
{
    TD_EXPECT(td_conn_feed(s->c, data, len) == TD_OK);
}

/* Drains and compares with the concatenation of the given trace records. */
static void expect_out(srv *s, const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
                       const uint8_t *c3, size_t c_len)
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
        fprintf(stderr, "  server status: %s rule %s: %s\n", td_phase_name(td_conn_status(s->c)->phase),
                td_rule_get(td_conn_status(s->c)->diag.rule) ? td_rule_get(td_conn_status(s->c)->diag.rule)->id
                                                              : "-",
                td_conn_status(s->c)->diag.text);
    free(want);
}

static void expect_nothing(srv *s)
{
    const uint8_t *out;
    size_t out_len;
    td_conn_drain(s->c, &out, &out_len);
    TD_EXPECT_EQ(out_len, 0);
}

/* ---- RFC 8448 replays ---- */

static void test_rfc8448_simple(void)
{
    srv s;
    srv_trace(&s, 3, 5, 4, 15, 16);
    const uint8_t *nst = V(3, 48, "NewSessionTicket");
    /* NewSessionTicket: lifetime(4) age_add(4) nonce<1> = 00 00, ticket<2>. */
    s.inj.ticket = nst + 17;
    s.inj.ticket_len = (size_t)nst[15] << 8 | nst[16];
    s.inj.ticket_nonce = nst + 13;
    s.inj.ticket_nonce_len = nst[12];
    s.inj.ticket_age_add = 0xfad6aac5;
    s.inj.has_ticket_age_add = true;
    s.cfg.num_tickets = 1;
    s.cfg.ticket_lifetime_s = 30;
    s.cfg.max_early_data = 1024;
    TD_REQUIRE(s.key != NULL && s.inj.sig_random != NULL);
    TD_REQUIRE(srv_start(&s) == 0);
    feed(&s, REC(3, 2));
    /* ServerHello record, then EncryptedExtensions..Finished in one record. */
    expect_out(&s, REC(3, 12), REC(3, 19), NULL, 0);
    const td_status *st = td_conn_status(s.c);
    TD_EXPECT_EQ(st->phase, TD_PHASE_HANDSHAKE);
    TD_EXPECT(strcmp(st->state, "S_WAIT_FINISHED") == 0);
    feed(&s, REC(3, 41));
    expect_out(&s, REC(3, 49), NULL, 0, NULL, 0);
    TD_EXPECT_EQ(st->phase, TD_PHASE_CONNECTED);
    TD_EXPECT_EQ(st->version, 0x0304);
    TD_EXPECT_EQ(st->suite, 0x1301);
    TD_EXPECT_EQ(st->group, 0x001d);
    TD_EXPECT_EQ(st->sigalg, 0x0804);
    TD_EXPECT(!st->hrr && !st->resumed && !st->early_data_accepted && !st->client_authenticated);
    TD_EXPECT(strcmp(st->sni, "server") == 0);
    TD_EXPECT_MEM(s.c->res_master, 32, V(3, 43, "expanded"), 32);
    /* Application data both ways (§3 steps 51, 52). */
    uint8_t buf[64];
    feed(&s, REC(3, 51));
    TD_EXPECT_EQ(td_conn_read(s.c, buf, sizeof(buf)), VL(3, 51, "payload"));
    TD_EXPECT_MEM(buf, VL(3, 51, "payload"), V(3, 51, "payload"), VL(3, 51, "payload"));
    TD_EXPECT(td_conn_write(s.c, V(3, 52, "payload"), VL(3, 52, "payload")) == TD_OK);
    expect_out(&s, REC(3, 52), NULL, 0, NULL, 0);
    srv_free(&s);
}

static void test_rfc8448_compat(void)
{
    srv s;
    srv_trace(&s, 7, 5, 4, 16, 17);
    TD_REQUIRE(s.key != NULL && s.inj.sig_random != NULL);
    TD_REQUIRE(srv_start(&s) == 0);
    feed(&s, REC(7, 2));
    /* §D.4: ServerHello, the dummy change_cipher_spec, then the flight. */
    expect_out(&s, REC(7, 6), REC(7, 7), REC(7, 20));
    feed(&s, REC(7, 38)); /* the client's CCS is dropped */
    feed(&s, REC(7, 43));
    expect_nothing(&s);
    TD_EXPECT_EQ(td_conn_status(s.c)->phase, TD_PHASE_CONNECTED);
    srv_free(&s);
}

static const uint16_t k_hrr_groups[] = {0x0017, 0x0018, 0x001d};

/* The cookie of the §5 HelloRetryRequest message. */
static td_cbs hrr_cookie_of(const uint8_t *hrr, size_t len)
{
    td_msg m;
    td_cbs out = {0};
    td_msg_ctx ctx = {.hash_len = 32, .sh_mode = TD_SH_AUTO};
    if (td_msg_parse_handshake(hrr, len, &ctx, &m, NULL) == TD_OK)
        out = m.u.sh.ext.cookie;
    return out;
}

static void srv_hrr(srv *s, bool inject_cookie)
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

static void test_rfc8448_hrr(void)
{
    srv s;
    srv_hrr(&s, true);
    TD_REQUIRE(s.key != NULL && s.inj.sig_random != NULL && s.inj.hrr_cookie_len == 0x72);
    TD_REQUIRE(srv_start(&s) == 0);
    feed(&s, REC(5, 2));
    expect_out(&s, REC(5, 4), NULL, 0, NULL, 0);
    TD_EXPECT(strcmp(td_conn_status(s.c)->state, "S_WAIT_CH2") == 0);
    feed(&s, REC(5, 7));
    expect_out(&s, REC(5, 17), REC(5, 24), NULL, 0);
    feed(&s, REC(5, 46));
    expect_nothing(&s);
    const td_status *st = td_conn_status(s.c);
    TD_EXPECT_EQ(st->phase, TD_PHASE_CONNECTED);
    TD_EXPECT(st->hrr);
    TD_EXPECT_EQ(st->group, 0x0017);
    srv_free(&s);
}

/* §6: the trace's server key is not published; a P-256 key of ours signs
 * and this hook puts the trace's signature in its place, so the rest of
 * the transcript (and the client's messages over it) is the trace's. */
static td_err put_trace_cv(void *arg, td_conn *c, td_msg *msg, td_binder_mode *mode)
{
    (void)arg, (void)c, (void)mode;
    if (msg->type == TD_MSG_CERTIFICATE_VERIFY)
        td_cbs_init(&msg->u.cv.signature, V(6, 17, "CertificateVerify") + 8, VL(6, 17, "CertificateVerify") - 8);
    return TD_OK;
}

static const uint16_t k_nss_sigalgs[] = {0x0403, 0x0503, 0x0603, 0x0203, 0x0804, 0x0805, 0x0806, 0x0401,
                                         0x0501, 0x0601, 0x0201, 0x0402, 0x0502, 0x0602, 0x0202};

static void srv_auth(srv *s)
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

static void test_rfc8448_client_auth(void)
{
    srv s;
    srv_auth(&s);
    TD_REQUIRE(s.key != NULL);
    TD_REQUIRE(srv_start(&s) == 0);
    feed(&s, REC(6, 2));
    expect_out(&s, REC(6, 12), REC(6, 20), NULL, 0);
    TD_EXPECT(strcmp(td_conn_status(s.c)->state, "S_WAIT_CERT") == 0);
    feed(&s, REC(6, 44));
    expect_nothing(&s);
    const td_status *st = td_conn_status(s.c);
    TD_EXPECT_EQ(st->phase, TD_PHASE_CONNECTED);
    TD_EXPECT(st->client_authenticated);
    TD_EXPECT_EQ(st->client_sigalg, 0x0804);
    TD_EXPECT_EQ(st->sigalg, 0x0403);
    srv_free(&s);
}

/* §4: the ticket of §3 is NSS's; the server knows it through cfg->psks. */
static void srv_resume(srv *s)
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

static void test_rfc8448_resumption(void)
{
    srv s;
    srv_resume(&s);
    TD_REQUIRE(srv_start(&s) == 0);
    feed(&s, REC(4, 4));
    expect_out(&s, REC(4, 21), REC(4, 26), NULL, 0);
    const td_status *st = td_conn_status(s.c);
    TD_EXPECT(st->resumed && st->early_data_accepted);
    TD_EXPECT(strcmp(st->state, "S_WAIT_EOED") == 0);
    feed(&s, REC(4, 8)); /* 0-RTT application data */
    uint8_t buf[64];
    TD_EXPECT_EQ(td_conn_read(s.c, buf, sizeof(buf)), VL(4, 8, "payload"));
    TD_EXPECT_MEM(buf, VL(4, 8, "payload"), V(4, 8, "payload"), VL(4, 8, "payload"));
    feed(&s, REC(4, 44));
    feed(&s, REC(4, 49));
    expect_nothing(&s);
    TD_EXPECT_EQ(st->phase, TD_PHASE_CONNECTED);
    TD_EXPECT_EQ(st->group, 0x001d);
    srv_free(&s);
}

int main(void)
{
    if (td_vec_load() != 0 || td_crypto_new(&g_crypto) != TD_OK) {
        fprintf(stderr, "cannot load vectors or crypto\n");
        return 1;
    }
    TD_RUN(test_rfc8448_simple);
    TD_RUN(test_rfc8448_compat);
    TD_RUN(test_rfc8448_hrr);
    TD_RUN(test_rfc8448_client_auth);
    TD_RUN(test_rfc8448_resumption);
    td_crypto_free(g_crypto);
    td_vec_free();
    return td_test_report("test_server");
}
