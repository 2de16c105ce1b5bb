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
 * The server is driven with the trace's and hand-edited client messages;
 * test_pair-style runs against engine/client.c are at the end. */
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

/* ---- building client flights ---- */

/* Wraps a handshake message into a plaintext record. */
static size_t plain_record(const uint8_t *msg, size_t len, uint8_t *out, size_t cap)
{
    td_cbb cbb;
    uint8_t *data;
    size_t n = 0;
    if (!td_cbb_init_fixed(&cbb, out, cap) || td_rec_write_plain(&cbb, TD_CT_HANDSHAKE, 0x0303, msg, len) != TD_OK ||
        !td_cbb_finish(&cbb, &data, &n))
        return 0;
    return n;
}

/* Seals handshake bytes (one record) under a client traffic secret, as the
 * |seq|-th record under it. */
static size_t sealed_record(const uint8_t *secret, uint64_t seq, uint8_t type, const uint8_t *msg, size_t len,
                            uint8_t *out, size_t cap)
{
    td_rec_cipher rc;
    td_cbb cbb;
    uint8_t *data;
    size_t n = 0;
    memset(&rc, 0, sizeof(rc));
    if (td_rec_cipher_init(&rc, g_crypto, td_suite_get(0x1301), secret) != TD_OK)
        return 0;
    rc.seq = seq;
    if (!td_cbb_init_fixed(&cbb, out, cap) || td_rec_seal(&rc, &cbb, type, msg, len, 0, 0, NULL) != TD_OK ||
        !td_cbb_finish(&cbb, &data, &n))
        n = 0;
    td_rec_cipher_cleanup(&rc);
    return n;
}

typedef void (*ch_edit_fn)(td_msg *m);

/* A ClientHello record: the trace message |ch| after |edit|. */
static size_t ch_record(const uint8_t *ch, size_t len, ch_edit_fn edit, uint8_t *out, size_t cap)
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
    if (!td_cbb_init(&cbb, 1024) || td_msg_build(&m, &cbb) != TD_OK || !td_cbb_finish(&cbb, &data, &n)) {
        td_cbb_cleanup(&cbb);
        return 0;
    }
    size_t r = plain_record(data, n, out, cap);
    free(data);
    return r;
}

static void remove_ext(td_msg *m, uint16_t type)
{
    int i = td_exts_index(&m->u.ch.exts, type);
    if (i >= 0 && td_exts_remove(&m->u.ch.exts, (size_t)i) != TD_OK)
        abort();
}

static void typed(td_msg *m, uint16_t type)
{
    td_ext *e = td_exts_find(&m->u.ch.exts, type);
    if (e != NULL)
        e->from_typed = true;
}

static const uint8_t k_zero32[32];
static const uint8_t k_one_byte[] = {0x01};

static void e_no_sv(td_msg *m) { remove_ext(m, TD_EXT_SUPPORTED_VERSIONS); }
static void e_no_sv_13(td_msg *m) { remove_ext(m, TD_EXT_SUPPORTED_VERSIONS); m->u.ch.legacy_version = 0x0304; }
static void e_sv_12(td_msg *m) { m->u.ch.ext.versions[0] = 0x0303; m->u.ch.ext.num_versions = 1; typed(m, TD_EXT_SUPPORTED_VERSIONS); }
static void e_sv_unknown(td_msg *m) { m->u.ch.ext.versions[0] = 0x7f1c; m->u.ch.ext.num_versions = 1; typed(m, TD_EXT_SUPPORTED_VERSIONS); }
static void e_ssl3(td_msg *m) { m->u.ch.legacy_version = 0x0300; }
static void e_compression(td_msg *m) { td_cbs_init(&m->u.ch.legacy_compression_methods, k_one_byte, 1); }
static void e_no_suite(td_msg *m) { m->u.ch.cipher_suites[0] = 0x1304; m->u.ch.num_cipher_suites = 1; }
static void e_no_group(td_msg *m)
{
    m->u.ch.ext.groups[0] = 0x0100;
    m->u.ch.ext.num_groups = 1;
    m->u.ch.ext.num_key_shares = 0;
    typed(m, TD_EXT_SUPPORTED_GROUPS);
    typed(m, TD_EXT_KEY_SHARE);
}
static void e_ks_not_in_sg(td_msg *m)
{
    m->u.ch.ext.groups[0] = 0x0017;
    m->u.ch.ext.num_groups = 1;
    typed(m, TD_EXT_SUPPORTED_GROUPS);
}
static void e_dup_share(td_msg *m)
{
    m->u.ch.ext.key_shares[1] = m->u.ch.ext.key_shares[0];
    m->u.ch.ext.num_key_shares = 2;
    typed(m, TD_EXT_KEY_SHARE);
}
static void e_short_share(td_msg *m) { td_cbs_init(&m->u.ch.ext.key_shares[0].key_exchange, k_zero32, 31); typed(m, TD_EXT_KEY_SHARE); }
static void e_zero_share(td_msg *m) { td_cbs_init(&m->u.ch.ext.key_shares[0].key_exchange, k_zero32, 32); typed(m, TD_EXT_KEY_SHARE); }
static void e_no_sigalgs(td_msg *m) { remove_ext(m, TD_EXT_SIGNATURE_ALGORITHMS); }
static void e_no_groups(td_msg *m) { remove_ext(m, TD_EXT_SUPPORTED_GROUPS); }
static void e_no_key_share(td_msg *m) { remove_ext(m, TD_EXT_KEY_SHARE); }
static void e_only_pkcs1(td_msg *m) { m->u.ch.ext.sigalgs[0] = 0x0401; m->u.ch.ext.num_sigalgs = 1; typed(m, TD_EXT_SIGNATURE_ALGORITHMS); }
static const uint8_t k_http11[] = "http/1.1";
static void e_alpn(td_msg *m)
{
    td_ext *e;
    if (td_exts_insert_raw(&m->u.ch.exts, 0, TD_EXT_ALPN, (td_cbs){0}) != TD_OK)
        abort();
    e = td_exts_find(&m->u.ch.exts, TD_EXT_ALPN);
    e->from_typed = true;
    td_cbs_init(&m->u.ch.ext.alpn[0], k_http11, 8);
    m->u.ch.ext.num_alpn = 1;
}
/* §4 (PSK) ClientHello edits. */
static void e_no_psk_modes(td_msg *m) { remove_ext(m, TD_EXT_PSK_KEY_EXCHANGE_MODES); }
static void e_psk_first(td_msg *m)
{
    int i = td_exts_index(&m->u.ch.exts, TD_EXT_PRE_SHARED_KEY);
    if (td_exts_move(&m->u.ch.exts, (size_t)i, 0) != TD_OK)
        abort();
}
static uint8_t g_binder[32];
static void e_flip_binder(td_msg *m)
{
    memcpy(g_binder, td_cbs_data(&m->u.ch.ext.psk_binders[0]), 32);
    g_binder[5] ^= 0x10;
    td_cbs_init(&m->u.ch.ext.psk_binders[0], g_binder, 32);
    typed(m, TD_EXT_PRE_SHARED_KEY);
}

static void e_no_sni(td_msg *m) { remove_ext(m, TD_EXT_SERVER_NAME); }
static void e_psk_only(td_msg *m)
{
    remove_ext(m, TD_EXT_KEY_SHARE);
    remove_ext(m, TD_EXT_SUPPORTED_GROUPS);
}

typedef void (*cfg_edit_fn)(srv *s);
static const char *const k_h2[] = {"h2"};
static void c_alpn(srv *s) { s->cfg.alpn = k_h2; s->cfg.num_alpn = 1; }
static void c_sni(srv *s) { s->ck.sni = "example.com"; }
static void c_no_psks(srv *s) { s->cfg.num_psks = 0; }

typedef struct ch_row {
    const char *name;
    int sec;               /* 3: §3 ClientHello, 4: §4 (PSK) ClientHello */
    ch_edit_fn edit;
    cfg_edit_fn cfg;
    const char *rule;
    td_alert alert;
} ch_row;

static const ch_row k_ch_rows[] = {
    {"no supported_versions", 3, e_no_sv, NULL, "SV-ABSENT-TOO-OLD", TD_ALERT_protocol_version},
    {"no supported_versions, legacy 1.3", 3, e_no_sv_13, NULL, "SV-ABSENT-LEGACY-13", TD_ALERT_protocol_version},
    {"1.3 not offered", 3, e_sv_12, NULL, "SV-SERVER-NO-COMMON", TD_ALERT_protocol_version},
    {"only unknown versions", 3, e_sv_unknown, NULL, "SV-SERVER-NO-COMMON", TD_ALERT_protocol_version},
    {"legacy_version SSL 3.0", 3, e_ssl3, NULL, "SV-LEGACY-SSL3", TD_ALERT_protocol_version},
    {"compression method 1", 3, e_compression, NULL, "CH-COMPRESSION", TD_ALERT_illegal_parameter},
    {"no common suite", 3, e_no_suite, NULL, "GEN-NO-COMMON-PARAMS", TD_ALERT_handshake_failure},
    {"no common group", 3, e_no_group, NULL, "SG-NO-OVERLAP", TD_ALERT_handshake_failure},
    {"share not in supported_groups", 3, e_ks_not_in_sg, NULL, "KS-GROUP-NOT-IN-SUPPORTED", TD_ALERT_illegal_parameter},
    {"duplicate share group", 3, e_dup_share, NULL, "KS-DUPLICATE-GROUP", TD_ALERT_illegal_parameter},
    {"x25519 share of 31 bytes", 3, e_short_share, NULL, "KS-BAD-LENGTH", TD_ALERT_illegal_parameter},
    {"x25519 all-zero share", 3, e_zero_share, NULL, "KS-X-ZERO-SECRET", TD_ALERT_illegal_parameter},
    {"no signature_algorithms", 3, e_no_sigalgs, NULL, "CH-MANDATORY-EXT", TD_ALERT_missing_extension},
    {"no supported_groups", 3, e_no_groups, NULL, "CH-MANDATORY-EXT", TD_ALERT_missing_extension},
    {"no key_share", 3, e_no_key_share, NULL, "CH-MANDATORY-EXT", TD_ALERT_missing_extension},
    {"only rsa_pkcs1 sigalgs", 3, e_only_pkcs1, NULL, "SIGALG-NO-OVERLAP", TD_ALERT_handshake_failure},
    {"ALPN without overlap", 3, e_alpn, c_alpn, "ALPN-NO-OVERLAP", TD_ALERT_no_application_protocol},
    {"no certificate for the SNI", 3, NULL, c_sni, "SNI-UNRECOGNIZED", TD_ALERT_unrecognized_name},
    {"PSK without psk_key_exchange_modes", 4, e_no_psk_modes, NULL, "PSKM-MISSING", TD_ALERT_missing_extension},
    {"pre_shared_key not last", 4, e_psk_first, NULL, "PSK-NOT-LAST", TD_ALERT_illegal_parameter},
    {"binder flipped", 4, e_flip_binder, NULL, "PSK-BINDER-INVALID", TD_ALERT_decrypt_error},
    {"unknown PSK, no signature_algorithms", 4, e_no_sigalgs, c_no_psks, "SIGALG-MISSING-CH",
     TD_ALERT_missing_extension},
    {"unknown PSK, no key_share", 4, e_psk_only, c_no_psks, "PSK-UNKNOWN-IDENTITY", TD_ALERT_decrypt_error},
    {"no SNI, only named certificates", 3, e_no_sni, c_sni, "SNI-REQUIRED-MISSING", TD_ALERT_missing_extension},
};

/* TOL-UNKNOWN-CIPHER, TOL-UNKNOWN-EXT-CH, TOL-UNKNOWN-VERSION,
 * TOL-CH-LEGACY-VERSION, TOL-STATUS-REQUEST-V2: ignored, the handshake goes on. */
static const uint8_t k_unknown_body[] = {0xde, 0xad};
static void e_tolerated(td_msg *m)
{
    td_client_hello *ch = &m->u.ch;
    memmove(ch->cipher_suites + 1, ch->cipher_suites, ch->num_cipher_suites * sizeof(uint16_t));
    ch->cipher_suites[0] = 0x0a0a;
    ch->num_cipher_suites++;
    ch->legacy_version = 0x0301;
    ch->ext.versions[ch->ext.num_versions++] = 0x7a7a;
    typed(m, TD_EXT_SUPPORTED_VERSIONS);
    td_cbs body;
    td_cbs_init(&body, k_unknown_body, sizeof(k_unknown_body));
    if (td_exts_insert_raw(&ch->exts, 0, 0x1a1a, body) != TD_OK ||
        td_exts_insert_raw(&ch->exts, 1, TD_EXT_STATUS_REQUEST_V2, body) != TD_OK)
        abort();
}
/* TOL-KEY-SHARE-SUBSET: an empty key_share list is answered with an HRR. */
static void e_empty_key_share(td_msg *m)
{
    m->u.ch.ext.num_key_shares = 0;
    typed(m, TD_EXT_KEY_SHARE);
}

static void test_tolerated_client_hellos(void)
{
    static uint8_t rec[4096];
    srv s;
    srv_trace(&s, 3, 5, 4, 15, 16);
    TD_REQUIRE(srv_start(&s) == 0);
    size_t n = ch_record(V(3, 1, "ClientHello"), VL(3, 1, "ClientHello"), e_tolerated, rec, sizeof(rec));
    feed(&s, rec, n);
    TD_EXPECT_EQ(td_conn_status(s.c)->phase, TD_PHASE_HANDSHAKE);
    TD_EXPECT(strcmp(td_conn_status(s.c)->state, "S_WAIT_FINISHED") == 0);
    srv_free(&s);
    srv_trace(&s, 3, 5, 4, 15, 16);
    TD_REQUIRE(srv_start(&s) == 0);
    n = ch_record(V(3, 1, "ClientHello"), VL(3, 1, "ClientHello"), e_empty_key_share, rec, sizeof(rec));
    feed(&s, rec, n);
    TD_EXPECT(strcmp(td_conn_status(s.c)->state, "S_WAIT_CH2") == 0);
    TD_EXPECT_EQ(s.c->hrr_group, 0x001d);
    srv_free(&s);
}

static void expect_failed(srv *s, const char *name, const char *rule, td_alert alert)
{
    const td_status *st = td_conn_status(s->c);
    const td_rule_info *ri = td_rule_get(st->diag.rule);
    td_test_checks++;
    if (st->phase != TD_PHASE_FAILED || ri == NULL || strcmp(ri->id, rule) != 0 || !st->alert_sent ||
        st->alert_sent_desc != alert) {
        td_test_failures++;
        fprintf(stderr, "%s: row \"%s\": want %s/%s, got phase %s rule %s alert %s (%s)\n", td_test_current, name,
                rule, td_alert_name(alert), td_phase_name(st->phase), ri ? ri->id : "-",
                st->alert_sent ? td_alert_name(st->alert_sent_desc) : "none", st->diag.text);
    }
}

static void test_bad_client_hellos(void)
{
    static uint8_t rec[4096];
    for (size_t i = 0; i < sizeof(k_ch_rows) / sizeof(k_ch_rows[0]); i++) {
        const ch_row *r = &k_ch_rows[i];
        srv s;
        if (r->sec == 3)
            srv_trace(&s, 3, 5, 4, 15, 16);
        else
            srv_resume(&s);
        if (r->cfg)
            r->cfg(&s);
        size_t n = r->sec == 3 ? ch_record(V(3, 1, "ClientHello"), VL(3, 1, "ClientHello"), r->edit, rec, sizeof(rec))
                               : ch_record(V(4, 4, "payload"), VL(4, 4, "payload"), r->edit, rec, sizeof(rec));
        TD_EXPECT(n > 0);
        if (n > 0 && srv_start(&s) == 0) {
            feed(&s, rec, n);
            expect_failed(&s, r->name, r->rule, r->alert);
        }
        srv_free(&s);
    }
}

/* Unedited, the rebuilt ClientHellos are the trace's: the edits above are the only change. */
static void test_rebuild_identity(void)
{
    static uint8_t rec[4096];
    size_t n = ch_record(V(3, 1, "ClientHello"), VL(3, 1, "ClientHello"), NULL, rec, sizeof(rec));
    TD_EXPECT_MEM(rec + 5, n - 5, V(3, 2, "payload"), VL(3, 2, "payload"));
    n = ch_record(V(5, 6, "ClientHello"), VL(5, 6, "ClientHello"), NULL, rec, sizeof(rec));
    TD_EXPECT_MEM(rec + 5, n - 5, V(5, 7, "payload"), VL(5, 7, "payload"));
}

/* ---- second ClientHello ---- */

static uint8_t g_cookie[256];
static void e2_two_shares(td_msg *m)
{
    m->u.ch.ext.key_shares[1] = m->u.ch.ext.key_shares[0];
    m->u.ch.ext.key_shares[1].group = 0x001d;
    td_cbs_init(&m->u.ch.ext.key_shares[1].key_exchange, V(5, 0, "public key"), 32);
    m->u.ch.ext.num_key_shares = 2;
    typed(m, TD_EXT_KEY_SHARE);
}
static void e2_wrong_group(td_msg *m)
{
    m->u.ch.ext.key_shares[0].group = 0x001d;
    td_cbs_init(&m->u.ch.ext.key_shares[0].key_exchange, V(5, 0, "public key"), 32);
    typed(m, TD_EXT_KEY_SHARE);
}
static void e2_early_data(td_msg *m)
{
    if (td_exts_add(&m->u.ch.exts, TD_EXT_EARLY_DATA, NULL) != TD_OK)
        abort();
}
static void e2_suites(td_msg *m) { m->u.ch.cipher_suites[0] = m->u.ch.cipher_suites[1]; m->u.ch.num_cipher_suites--; }
static void e2_random(td_msg *m) { m->u.ch.random[0] ^= 1; }
static void e2_sigalgs(td_msg *m) { m->u.ch.ext.num_sigalgs--; typed(m, TD_EXT_SIGNATURE_ALGORITHMS); }
static void e2_cookie_flip(td_msg *m)
{
    size_t n = td_cbs_len(&m->u.ch.ext.cookie);
    memcpy(g_cookie, td_cbs_data(&m->u.ch.ext.cookie), n);
    g_cookie[n - 1] ^= 1;
    td_cbs_init(&m->u.ch.ext.cookie, g_cookie, n);
    typed(m, TD_EXT_COOKIE);
}
static void e2_no_cookie(td_msg *m) { remove_ext(m, TD_EXT_COOKIE); }

static const ch_row k_ch2_rows[] = {
    {"CH2 with two shares", 5, e2_two_shares, NULL, "CH2-KEYSHARE", TD_ALERT_illegal_parameter},
    {"CH2 share for another group", 5, e2_wrong_group, NULL, "CH2-KEYSHARE", TD_ALERT_illegal_parameter},
    {"CH2 with early_data", 5, e2_early_data, NULL, "CH2-EARLY-DATA", TD_ALERT_illegal_parameter},
    {"CH2 changed cipher suites", 5, e2_suites, NULL, "CH2-NOT-CONFORMANT", TD_ALERT_illegal_parameter},
    {"CH2 changed random", 5, e2_random, NULL, "CH2-NOT-CONFORMANT", TD_ALERT_illegal_parameter},
    {"CH2 changed signature_algorithms", 5, e2_sigalgs, NULL, "CH2-NOT-CONFORMANT", TD_ALERT_illegal_parameter},
    {"CH2 cookie altered", 5, e2_cookie_flip, NULL, "COOKIE-CH2-MISMATCH", TD_ALERT_illegal_parameter},
    {"CH2 without the cookie", 5, e2_no_cookie, NULL, "COOKIE-CH2-MISMATCH", TD_ALERT_illegal_parameter},
};

static void test_bad_second_client_hellos(void)
{
    static uint8_t rec[4096];
    for (size_t i = 0; i < sizeof(k_ch2_rows) / sizeof(k_ch2_rows[0]); i++) {
        const ch_row *r = &k_ch2_rows[i];
        srv s;
        srv_hrr(&s, true);
        size_t n = ch_record(V(5, 6, "ClientHello"), VL(5, 6, "ClientHello"), r->edit, rec, sizeof(rec));
        TD_EXPECT(n > 0);
        if (n > 0 && srv_start(&s) == 0) {
            feed(&s, REC(5, 2));
            expect_out(&s, REC(5, 4), NULL, 0, NULL, 0);
            feed(&s, rec, n);
            expect_failed(&s, r->name, r->rule, r->alert);
        }
        srv_free(&s);
    }
}

/* ---- messages in the wrong state, bad client authentication ---- */

static const uint8_t k_eoed[] = {0x05, 0x00, 0x00, 0x00};
static const uint8_t k_key_update[] = {0x18, 0x00, 0x00, 0x01, 0x00};
static const uint8_t k_nst[] = {0x04, 0x00, 0x00, 0x0f, 0, 0, 0, 1, 0, 0, 0, 0, 0x01, 0x00, 0x00, 0x01, 0x2a, 0, 0};
static const uint8_t k_ee[] = {0x08, 0x00, 0x00, 0x02, 0x00, 0x00};
static const uint8_t k_empty_cert[] = {0x0b, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00};

static void test_wrong_state_messages(void)
{
    uint8_t rec[2048], msg[1024];
    size_t n;
    srv s;
    /* S_WAIT_CH: EndOfEarlyData. */
    srv_trace(&s, 3, 5, 4, 15, 16);
    TD_REQUIRE(srv_start(&s) == 0);
    n = plain_record(k_eoed, sizeof(k_eoed), rec, sizeof(rec));
    feed(&s, rec, n);
    expect_failed(&s, "EOED in S_WAIT_CH", "GEN-UNEXPECTED-ORDER", TD_ALERT_unexpected_message);
    srv_free(&s);
    /* S_WAIT_CH2: EndOfEarlyData. */
    srv_hrr(&s, true);
    TD_REQUIRE(srv_start(&s) == 0);
    feed(&s, REC(5, 2));
    feed(&s, rec, n);
    expect_failed(&s, "EOED in S_WAIT_CH2", "GEN-UNEXPECTED-ORDER", TD_ALERT_unexpected_message);
    srv_free(&s);
    /* S_WAIT_FINISHED (§3): each wrong message under the client handshake keys. */
    struct { const char *name; const uint8_t *msg; size_t len; const char *rule; } rows[] = {
        {"unsolicited Certificate", k_empty_cert, sizeof(k_empty_cert), "CT-CLIENT-UNSOLICITED"},
        {"KeyUpdate before Finished", k_key_update, sizeof(k_key_update), "KU-BEFORE-FINISHED"},
        {"EndOfEarlyData without 0-RTT", k_eoed, sizeof(k_eoed), "ED-EOED-UNEXPECTED"},
        {"NewSessionTicket from the client", k_nst, sizeof(k_nst), "NST-FROM-CLIENT"},
        {"EncryptedExtensions from the client", k_ee, sizeof(k_ee), "GEN-UNEXPECTED-ORDER"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        srv_trace(&s, 3, 5, 4, 15, 16);
        TD_REQUIRE(srv_start(&s) == 0);
        feed(&s, REC(3, 2));
        n = sealed_record(V(3, 8, "expanded"), 0, TD_CT_HANDSHAKE, rows[i].msg, rows[i].len, rec, sizeof(rec));
        feed(&s, rec, n);
        expect_failed(&s, rows[i].name, rows[i].rule, TD_ALERT_unexpected_message);
        srv_free(&s);
    }
    /* A bad client Finished (§4.4.4). */
    srv_trace(&s, 3, 5, 4, 15, 16);
    TD_REQUIRE(srv_start(&s) == 0);
    feed(&s, REC(3, 2));
    memcpy(msg, V(3, 40, "Finished"), 36);
    msg[10] ^= 0x04;
    n = sealed_record(V(3, 8, "expanded"), 0, TD_CT_HANDSHAKE, msg, 36, rec, sizeof(rec));
    feed(&s, rec, n);
    expect_failed(&s, "bad client Finished", "FIN-BAD", TD_ALERT_decrypt_error);
    srv_free(&s);
    /* After the handshake (§3, client application keys). */
    struct { const char *name; const uint8_t *msg; size_t len; const char *rule; } post[] = {
        {"ClientHello after the handshake", V(3, 1, "ClientHello"), VL(3, 1, "ClientHello"), "PH-CLIENTHELLO"},
        {"NewSessionTicket after the handshake", k_nst, sizeof(k_nst), "NST-FROM-CLIENT"},
        {"EncryptedExtensions after the handshake", k_ee, sizeof(k_ee), "PH-UNEXPECTED-MSG"},
    };
    for (size_t i = 0; i < sizeof(post) / sizeof(post[0]); i++) {
        srv_trace(&s, 3, 5, 4, 15, 16);
        TD_REQUIRE(srv_start(&s) == 0);
        feed(&s, REC(3, 2));
        feed(&s, REC(3, 41));
        TD_EXPECT_EQ(td_conn_status(s.c)->phase, TD_PHASE_CONNECTED);
        n = sealed_record(V(3, 20, "expanded"), 0, TD_CT_HANDSHAKE, post[i].msg, post[i].len, rec, sizeof(rec));
        feed(&s, rec, n);
        expect_failed(&s, post[i].name, post[i].rule, TD_ALERT_unexpected_message);
        srv_free(&s);
    }
    /* A KeyUpdate after the handshake is fine (and answered when requested). */
    srv_trace(&s, 3, 5, 4, 15, 16);
    TD_REQUIRE(srv_start(&s) == 0);
    feed(&s, REC(3, 2));
    feed(&s, REC(3, 41));
    n = sealed_record(V(3, 20, "expanded"), 0, TD_CT_HANDSHAKE, k_key_update, sizeof(k_key_update), rec, sizeof(rec));
    feed(&s, rec, n);
    TD_EXPECT_EQ(td_conn_status(s.c)->phase, TD_PHASE_CONNECTED);
    srv_free(&s);
}

/* §6 client flights: Certificate, CertificateVerify, Finished as the test says. */
static size_t concat(uint8_t *out, const uint8_t *a, size_t al, const uint8_t *b, size_t bl, const uint8_t *c, size_t cl)
{
    memcpy(out, a, al);
    if (bl)
        memcpy(out + al, b, bl);
    if (cl)
        memcpy(out + al + bl, c, cl);
    return al + bl + cl;
}

static void run_auth_row(const char *name, cfg_edit_fn cfg, const uint8_t *msgs, size_t len, const char *rule,
                         td_alert alert)
{
    uint8_t rec[2048];
    srv s;
    srv_auth(&s);
    if (cfg)
        cfg(&s);
    TD_REQUIRE(srv_start(&s) == 0);
    feed(&s, REC(6, 2));
    size_t n = sealed_record(V(6, 8, "expanded"), 0, TD_CT_HANDSHAKE, msgs, len, rec, sizeof(rec));
    feed(&s, rec, n);
    expect_failed(&s, name, rule, alert);
    srv_free(&s);
}

static uint8_t g_anchor[4096];
static size_t g_anchor_len;
static void c_other_anchor(srv *s)
{
    s->cfg.trust_anchor = g_anchor;
    s->cfg.trust_anchor_len = g_anchor_len;
}

static void c_request(srv *s) { s->cfg.client_auth = TD_CLIENT_AUTH_REQUEST; }

static void test_bad_client_auth(void)
{
    uint8_t msgs[2048], cv[256];
    size_t n;
#define CERT6 V(6, 40, "Certificate"), VL(6, 40, "Certificate")
#define CV6 V(6, 41, "CertificateVerify"), VL(6, 41, "CertificateVerify")
#define FIN6 V(6, 43, "Finished"), VL(6, 43, "Finished")
    n = concat(msgs, FIN6, NULL, 0, NULL, 0);
    run_auth_row("Finished instead of Certificate", NULL, msgs, n, "GEN-UNEXPECTED-ORDER", TD_ALERT_unexpected_message);
    n = concat(msgs, CERT6, FIN6, NULL, 0);
    run_auth_row("Certificate then Finished", NULL, msgs, n, "CV-MISSING", TD_ALERT_unexpected_message);
    n = concat(msgs, k_empty_cert, sizeof(k_empty_cert), FIN6, NULL, 0);
    run_auth_row("empty Certificate with REQUIRE", NULL, msgs, n, "CT-CLIENT-EMPTY", TD_ALERT_certificate_required);
    n = concat(msgs, k_empty_cert, sizeof(k_empty_cert), CV6, NULL, 0);
    run_auth_row("CertificateVerify after an empty Certificate", c_request, msgs, n, "CV-AFTER-EMPTY-CERT",
                 TD_ALERT_unexpected_message);
    memcpy(cv, V(6, 41, "CertificateVerify"), VL(6, 41, "CertificateVerify"));
    cv[40] ^= 0x01;
    n = concat(msgs, CERT6, cv, VL(6, 41, "CertificateVerify"), FIN6);
    run_auth_row("CertificateVerify signature flipped", NULL, msgs, n, "CV-BAD-SIGNATURE", TD_ALERT_decrypt_error);
    struct { uint16_t scheme; const char *rule; } schemes[] = {
        {0x0807, "CV-SCHEME-NOT-OFFERED"}, {0x0401, "CV-RSA-PKCS1"}, {0x0201, "CV-SHA1"}, {0x0403, "CV-KEY-MISMATCH"}};
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        memcpy(cv, V(6, 41, "CertificateVerify"), VL(6, 41, "CertificateVerify"));
        cv[4] = (uint8_t)(schemes[i].scheme >> 8);
        cv[5] = (uint8_t)schemes[i].scheme;
        n = concat(msgs, CERT6, cv, VL(6, 41, "CertificateVerify"), FIN6);
        run_auth_row(schemes[i].rule, NULL, msgs, n, schemes[i].rule, TD_ALERT_illegal_parameter);
    }
    /* The client Certificate with a context, or with an entry extension we did not ask for. */
    static const uint8_t ctx1[] = {0x2a}, unknown_ext[] = {0x77, 0x77, 0x00, 0x00};
    for (int variant = 0; variant < 2; variant++) {
        td_msg m;
        td_msg_ctx mctx = {.hash_len = 32, .sh_mode = TD_SH_AUTO};
        td_cbb cbb;
        uint8_t *data;
        size_t len;
        TD_REQUIRE(td_msg_parse_handshake(CERT6, &mctx, &m, NULL) == TD_OK);
        if (variant == 0)
            td_cbs_init(&m.u.cert.context, ctx1, sizeof(ctx1));
        else
            td_cbs_init(&m.u.cert.entries[0].extensions, unknown_ext, sizeof(unknown_ext));
        TD_REQUIRE(td_cbb_init(&cbb, 1024) && td_msg_build(&m, &cbb) == TD_OK && td_cbb_finish(&cbb, &data, &len));
        n = concat(msgs, data, len, CV6, FIN6);
        free(data);
        if (variant == 0)
            run_auth_row("certificate_request_context not echoed", NULL, msgs, n, "CT-CONTEXT", TD_ALERT_illegal_parameter);
        else
            run_auth_row("unsolicited CertificateEntry extension", NULL, msgs, n, "CT-EXT-UNSOLICITED",
                         TD_ALERT_unsupported_extension);
    }
    /* A chain that does not reach our anchor. */
    size_t pem_len;
    char *pem = read_file(TD_VECTORS_DIR "/certs/other-ca.pem", &pem_len);
    td_der *list = NULL;
    size_t num = 0;
    TD_REQUIRE(pem != NULL && td_certs_from_pem(pem, pem_len, &list, &num) == TD_OK && num == 1);
    memcpy(g_anchor, list[0].data, list[0].len);
    g_anchor_len = list[0].len;
    td_der_list_free(list, num);
    free(pem);
    n = concat(msgs, CERT6, CV6, FIN6);
    run_auth_row("untrusted client chain", c_other_anchor, msgs, n, "CT-CLIENT-CHAIN-UNACCEPTABLE",
                 TD_ALERT_bad_certificate);
}

/* ---- our own cookies and tickets ---- */

/* Opens one protected record (|seq| under |secret|) into |out|. */
static size_t open_record(const uint8_t *secret, uint64_t seq, const uint8_t *rec, size_t len, uint8_t *out,
                          size_t cap)
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

static td_cbs g_new_cookie;
static void e2_our_cookie(td_msg *m)
{
    m->u.ch.ext.cookie = g_new_cookie;
    typed(m, TD_EXT_COOKIE);
}

static void test_own_cookie(void)
{
    static uint8_t rec[4096], hrr[1024];
    srv s;
    srv_hrr(&s, false);
    s.cfg.hrr_cookie = true;
    TD_REQUIRE(srv_start(&s) == 0);
    feed(&s, REC(5, 2));
    const uint8_t *out;
    size_t out_len;
    td_conn_drain(s.c, &out, &out_len);
    TD_REQUIRE(out_len > 5 && out_len - 5 <= sizeof(hrr));
    memcpy(hrr, out + 5, out_len - 5);
    g_new_cookie = hrr_cookie_of(hrr, out_len - 5);
    TD_REQUIRE(td_cbs_len(&g_new_cookie) > 0);
    /* The trace's CH2 with our cookie in place of NSS's. */
    size_t n = ch_record(V(5, 6, "ClientHello"), VL(5, 6, "ClientHello"), e2_our_cookie, rec, sizeof(rec));
    feed(&s, rec, n);
    const td_status *st = td_conn_status(s.c);
    TD_EXPECT_EQ(st->phase, TD_PHASE_HANDSHAKE);
    TD_EXPECT(strcmp(st->state, "S_WAIT_FINISHED") == 0);
    TD_EXPECT(st->hrr);
    srv_free(&s);
    /* NSS's cookie is not ours. */
    srv_hrr(&s, false);
    s.cfg.hrr_cookie = true;
    TD_REQUIRE(srv_start(&s) == 0);
    feed(&s, REC(5, 2));
    feed(&s, REC(5, 7));
    expect_failed(&s, "foreign cookie", "COOKIE-CH2-MISMATCH", TD_ALERT_illegal_parameter);
    srv_free(&s);
    /* No cookie sent: a cookie in CH2 is a change the HRR did not ask for. */
    srv_hrr(&s, false);
    TD_REQUIRE(srv_start(&s) == 0);
    feed(&s, REC(5, 2));
    feed(&s, REC(5, 7));
    expect_failed(&s, "cookie not asked for", "CH2-NOT-CONFORMANT", TD_ALERT_illegal_parameter);
    srv_free(&s);
}

/* A ticket issued by a §3 server of ours. */
typedef struct issued {
    uint8_t ticket[512];
    size_t ticket_len;
    uint8_t nonce[255];
    size_t nonce_len;
    uint32_t age_add, lifetime;
    uint8_t psk[32];
} issued;

static int issue_ticket(issued *t)
{
    srv s;
    uint8_t msg[1024];
    srv_trace(&s, 3, 5, 4, 15, 16);
    s.cfg.num_tickets = 2;
    s.cfg.max_early_data = 1024;
    s.cfg.ticket_lifetime_s = 3600;
    if (srv_start(&s) != 0)
        return -1;
    feed(&s, REC(3, 2));
    const uint8_t *out;
    size_t out_len;
    td_conn_drain(s.c, &out, &out_len);
    feed(&s, REC(3, 41));
    td_conn_drain(s.c, &out, &out_len);
    /* Two tickets in one record; the first is used. */
    size_t n = open_record(V(3, 21, "expanded"), 0, out, out_len, msg, sizeof(msg));
    td_msg m;
    td_msg_ctx ctx = {.hash_len = 32, .sh_mode = TD_SH_AUTO};
    int ret = -1;
    size_t first = n >= 4 ? 4 + ((size_t)msg[1] << 16 | (size_t)msg[2] << 8 | msg[3]) : 0;
    if (first > 4 && first < n && td_msg_parse_handshake(msg, first, &ctx, &m, NULL) == TD_OK &&
        m.type == TD_MSG_NEW_SESSION_TICKET) {
        t->ticket_len = td_cbs_len(&m.u.nst.ticket);
        memcpy(t->ticket, td_cbs_data(&m.u.nst.ticket), t->ticket_len);
        t->nonce_len = td_cbs_len(&m.u.nst.ticket_nonce);
        memcpy(t->nonce, td_cbs_data(&m.u.nst.ticket_nonce), t->nonce_len);
        t->age_add = m.u.nst.ticket_age_add;
        t->lifetime = m.u.nst.ticket_lifetime;
        ret = td_ks_resumption_psk(g_crypto, TD_HASH_SHA256, V(3, 43, "expanded"), t->nonce, t->nonce_len, t->psk) ==
                      TD_OK
                  ? 0
                  : -1;
    }
    srv_free(&s);
    return ret;
}

static const issued *g_ticket;
static uint32_t g_age_ms;
static bool g_psk_ke_only, g_second_identity;
static const uint8_t k_junk_identity[] = "not a ticket of ours";
static void e_our_ticket(td_msg *m)
{
    td_ext_data *d = &m->u.ch.ext;
    td_cbs_init(&d->psk_identities[0].identity, g_ticket->ticket, g_ticket->ticket_len);
    d->psk_identities[0].obfuscated_ticket_age = g_ticket->age_add + g_age_ms;
    if (g_second_identity) {
        /* An unknown identity first, ours second (its binder is the last one). */
        d->psk_identities[1] = d->psk_identities[0];
        td_cbs_init(&d->psk_identities[0].identity, k_junk_identity, sizeof(k_junk_identity));
        d->psk_binders[1] = d->psk_binders[0];
        d->num_psk_identities = d->num_psk_binders = 2;
    }
    typed(m, TD_EXT_PRE_SHARED_KEY);
    if (g_psk_ke_only) {
        static const uint8_t ke = 0;
        d->psk_modes[0] = ke;
        d->num_psk_modes = 1;
        typed(m, TD_EXT_PSK_KEY_EXCHANGE_MODES);
        remove_ext(m, TD_EXT_KEY_SHARE);
        remove_ext(m, TD_EXT_SUPPORTED_GROUPS);
    }
}

/* The §4 ClientHello offering |t| (binder computed with its PSK). */
static size_t resumption_ch(const issued *t, uint8_t *rec, size_t cap)
{
    static td_msg m;
    td_msg_ctx ctx = {.hash_len = 32, .sh_mode = TD_SH_AUTO};
    td_cbb cbb;
    uint8_t *data, hash[32], key[32], binder[32];
    size_t n, prefix;
    td_keysched ks;
    g_ticket = t;
    if (td_msg_parse_handshake(V(4, 4, "payload"), VL(4, 4, "payload"), &ctx, &m, NULL) != TD_OK)
        return 0;
    e_our_ticket(&m);
    if (!td_cbb_init(&cbb, 1024) || td_msg_build_ch_truncated(&m, &cbb, &prefix) != TD_OK ||
        !td_cbb_finish(&cbb, &data, &n)) {
        td_cbb_cleanup(&cbb);
        return 0;
    }
    td_keysched_init(&ks, g_crypto, TD_HASH_SHA256);
    if (td_keysched_early(&ks, t->psk, 32) != TD_OK || td_keysched_derive(&ks, TD_KS_RES_BINDER, NULL, key) != TD_OK ||
        td_hash(g_crypto, TD_HASH_SHA256, data, prefix, hash) != TD_OK ||
        td_ks_binder(g_crypto, TD_HASH_SHA256, key, hash, binder) != TD_OK)
        n = 0;
    td_keysched_cleanup(&ks);
    if (n > 0)
        memcpy(data + n - 32, binder, 32);
    size_t r = n > 0 ? plain_record(data, n, rec, cap) : 0;
    free(data);
    return r;
}

static unsigned g_max_ids;
static void resume_with(const issued *t, uint64_t advance_ms, uint32_t age_ms, const uint8_t *seed, bool *resumed,
                        bool *early, uint16_t *group, td_phase *phase)
{
    static uint8_t rec[4096];
    srv s;
    srv_trace(&s, 3, 5, 4, 15, 16);
    s.cfg.inject = NULL;
    s.cfg.max_psk_identities = g_max_ids;
    s.cfg.accept_early_data = true;
    if (seed != NULL)
        s.cfg.seed = seed;
    g_age_ms = age_ms;
    size_t n = resumption_ch(t, rec, sizeof(rec));
    TD_REQUIRE(n > 0 && srv_start(&s) == 0);
    td_clock_advance(td_conn_clock(s.c), advance_ms);
    feed(&s, rec, n);
    const td_status *st = td_conn_status(s.c);
    *resumed = st->resumed;
    *early = st->early_data_accepted;
    *group = st->group;
    *phase = st->phase;
    if (st->phase == TD_PHASE_FAILED)
        fprintf(stderr, "  resumption failed: %s\n", st->diag.text);
    srv_free(&s);
}

static void test_own_tickets(void)
{
    issued t;
    bool resumed, early;
    uint16_t group;
    td_phase phase;
    TD_REQUIRE(issue_ticket(&t) == 0);
    TD_EXPECT_EQ(t.lifetime, 3600);
    TD_EXPECT(t.ticket_len > 50);
    /* Fresh: PSK accepted with (EC)DHE, 0-RTT accepted. */
    resume_with(&t, 2000, 2000, NULL, &resumed, &early, &group, &phase);
    TD_EXPECT(resumed && early && group == 0x001d && phase == TD_PHASE_HANDSHAKE);
    /* TOL-TICKET-AGE: an age 30 s off: PSK accepted, 0-RTT refused. */
    resume_with(&t, 2000, 32000, NULL, &resumed, &early, &group, &phase);
    TD_EXPECT(resumed && !early && phase == TD_PHASE_HANDSHAKE);
    /* Expired (lifetime 3600 s): a full handshake. */
    resume_with(&t, 3601000, 3601000, NULL, &resumed, &early, &group, &phase);
    TD_EXPECT(!resumed && !early && phase == TD_PHASE_HANDSHAKE);
    /* TOL-UNKNOWN-PSK: another server's ticket key: a full handshake. */
    static const uint8_t other_seed[] = "another server";
    resume_with(&t, 2000, 2000, other_seed, &resumed, &early, &group, &phase);
    TD_EXPECT(!resumed && !early && phase == TD_PHASE_HANDSHAKE);
    /* psk_ke only (no key_share, no supported_groups): no (EC)DHE. */
    g_psk_ke_only = true;
    resume_with(&t, 2000, 2000, NULL, &resumed, &early, &group, &phase);
    g_psk_ke_only = false;
    TD_EXPECT(resumed && group == 0 && phase == TD_PHASE_HANDSHAKE);
    /* Our ticket as the second identity: used (no 0-RTT: not the first);
     * beyond max_psk_identities = 1 it is not even looked at. */
    g_second_identity = true;
    resume_with(&t, 2000, 2000, NULL, &resumed, &early, &group, &phase);
    TD_EXPECT(resumed && !early && phase == TD_PHASE_HANDSHAKE);
    g_max_ids = 1;
    resume_with(&t, 2000, 2000, NULL, &resumed, &early, &group, &phase);
    TD_EXPECT(!resumed && !early && phase == TD_PHASE_HANDSHAKE);
    g_max_ids = 0;
    g_second_identity = false;
}

/* §4.2.10 rejected 0-RTT is skipped (TOL-EARLY-DATA-REJECT); accepted
 * 0-RTT beyond max_early_data_size fails (ED-TOO-MUCH). */
static void test_early_data_limits(void)
{
    static uint8_t rec[4096], big[2000];
    srv s;
    srv_resume(&s);
    s.cfg.accept_early_data = false;
    s.cfg.num_certs = 0;
    TD_REQUIRE(srv_start(&s) == 0);
    feed(&s, REC(4, 4));
    TD_EXPECT(td_conn_status(s.c)->resumed && !td_conn_status(s.c)->early_data_accepted);
    feed(&s, REC(4, 8));  /* 0-RTT data: skipped */
    feed(&s, REC(4, 44)); /* EndOfEarlyData under early keys: skipped too */
    TD_EXPECT_EQ(td_conn_status(s.c)->phase, TD_PHASE_HANDSHAKE);
    TD_EXPECT(strcmp(td_conn_status(s.c)->state, "S_WAIT_FINISHED") == 0);
    srv_free(&s);
    srv_resume(&s);
    TD_REQUIRE(srv_start(&s) == 0);
    feed(&s, REC(4, 4));
    memset(big, 'x', sizeof(big));
    size_t n = sealed_record(V(4, 5, "expanded"), 0, TD_CT_APPLICATION_DATA, big, 1025, rec, sizeof(rec));
    feed(&s, rec, n);
    expect_failed(&s, "1025 bytes of 0-RTT, max 1024", "ED-TOO-MUCH", TD_ALERT_unexpected_message);
    srv_free(&s);
    srv_resume(&s);
    TD_REQUIRE(srv_start(&s) == 0);
    feed(&s, REC(4, 4));
    memcpy(rec, V(4, 8, "complete record"), VL(4, 8, "complete record"));
    rec[10] ^= 0x01;
    feed(&s, rec, VL(4, 8, "complete record"));
    expect_failed(&s, "accepted 0-RTT record that does not decrypt", "ED-BAD-MAC", TD_ALERT_bad_record_mac);
    srv_free(&s);
}

static int g_keylog_lines;
static char g_keylog_first[256];
static void keylog(void *arg, const char *line)
{
    (void)arg;
    if (g_keylog_lines++ == 0)
        snprintf(g_keylog_first, sizeof(g_keylog_first), "%s", line);
}

static void test_keylog_and_alpn(void)
{
    static const char *const alpn[] = {"h2", "http/1.1"};
    static uint8_t rec[4096];
    srv s;
    srv_trace(&s, 3, 5, 4, 15, 16);
    s.cfg.keylog = keylog;
    s.cfg.alpn = alpn;
    s.cfg.num_alpn = 2;
    TD_REQUIRE(srv_start(&s) == 0);
    size_t n = ch_record(V(3, 1, "ClientHello"), VL(3, 1, "ClientHello"), e_alpn, rec, sizeof(rec));
    feed(&s, rec, n);
    const td_status *st = td_conn_status(s.c);
    TD_EXPECT_EQ(st->phase, TD_PHASE_HANDSHAKE);
    TD_EXPECT(strcmp(st->alpn, "http/1.1") == 0);
    TD_EXPECT_EQ(g_keylog_lines, 5);
    TD_EXPECT(strncmp(g_keylog_first, "CLIENT_HANDSHAKE_TRAFFIC_SECRET ", 32) == 0);
    srv_free(&s);
}

/* ---- against engine/client.c (two independent state machines) ---- */

typedef struct pki {
    td_der *server_chain, *client_chain, *ca;
    size_t num_server, num_client, num_ca;
    td_pkey *server_key, *client_key;
    td_cert_key server_ck, client_ck;
} pki;

static int load_chain(const char *path, td_der **list, size_t *num)
{
    size_t len;
    char *pem = read_file(path, &len);
    int ok = pem != NULL && td_certs_from_pem(pem, len, list, num) == TD_OK ? 0 : -1;
    free(pem);
    return ok;
}

static int pki_load(pki *k)
{
    memset(k, 0, sizeof(*k));
    if (load_chain(TD_VECTORS_DIR "/certs/server-p256.chain.pem", &k->server_chain, &k->num_server) != 0 ||
        load_chain(TD_VECTORS_DIR "/certs/client-p256.chain.pem", &k->client_chain, &k->num_client) != 0 ||
        load_chain(TD_VECTORS_DIR "/certs/ca.pem", &k->ca, &k->num_ca) != 0)
        return -1;
    k->server_key = load_key(TD_VECTORS_DIR "/certs/server-p256.key");
    k->client_key = load_key(TD_VECTORS_DIR "/certs/client-p256.key");
    k->server_ck = (td_cert_key){k->server_chain, k->num_server, k->server_key, NULL};
    k->client_ck = (td_cert_key){k->client_chain, k->num_client, k->client_key, NULL};
    return k->server_key && k->client_key ? 0 : -1;
}

static void pki_free(pki *k)
{
    td_der_list_free(k->server_chain, k->num_server);
    td_der_list_free(k->client_chain, k->num_client);
    td_der_list_free(k->ca, k->num_ca);
    td_pkey_free(k->server_key);
    td_pkey_free(k->client_key);
}

static void pair_configs(const pki *k, td_config *cc, td_config *sc)
{
    memset(cc, 0, sizeof(*cc));
    memset(sc, 0, sizeof(*sc));
    cc->role = TD_ROLE_CLIENT;
    sc->role = TD_ROLE_SERVER;
    cc->crypto = sc->crypto = g_crypto;
    cc->seed = sc->seed = k_seed;
    cc->seed_len = sc->seed_len = sizeof(k_seed);
    cc->clock_start_ms = sc->clock_start_ms = 5000000;
    cc->server_name = "server.tlsdrill.test";
    cc->trust_anchor = sc->trust_anchor = k->ca[0].data;
    cc->trust_anchor_len = sc->trust_anchor_len = k->ca[0].len;
    sc->certs = &k->server_ck;
    sc->num_certs = 1;
    cc->certs = &k->client_ck;
    cc->num_certs = 1;
}

/* Runs both until neither has anything to say; the client's ends in |*out_c|. */
static void pair_run(const td_config *cc, const td_config *sc, td_conn **out_c, td_conn **out_s)
{
    td_conn *c = NULL, *s = NULL;
    *out_c = *out_s = NULL;
    if (td_conn_new(cc, &c) != TD_OK || td_conn_new(sc, &s) != TD_OK || td_conn_start(c) != TD_OK) {
        td_conn_free(c);
        td_conn_free(s);
        return;
    }
    for (int round = 0; round < 16; round++) {
        const uint8_t *out;
        size_t n1, n2;
        td_conn_drain(c, &out, &n1);
        if (n1 > 0 && td_conn_feed(s, out, n1) != TD_OK)
            break;
        td_conn_drain(s, &out, &n2);
        if (n2 > 0 && td_conn_feed(c, out, n2) != TD_OK)
            break;
        if (n1 == 0 && n2 == 0)
            break;
    }
    *out_c = c;
    *out_s = s;
}

static void report_pair(const char *name, const td_conn *c, const td_conn *s)
{
    const td_status *cs = td_conn_status(c), *ss = td_conn_status(s);
    if (cs->phase != TD_PHASE_CONNECTED || ss->phase != TD_PHASE_CONNECTED)
        fprintf(stderr, "  %s: client %s (%s) / server %s (%s)\n", name, td_phase_name(cs->phase), cs->diag.text,
                td_phase_name(ss->phase), ss->diag.text);
}

static void test_pair_handshakes(void)
{
    pki k;
    td_config cc, sc;
    td_conn *c, *s;
    uint8_t buf[64];
    TD_REQUIRE(pki_load(&k) == 0);
    /* Plain full handshake, data both ways. */
    pair_configs(&k, &cc, &sc);
    pair_run(&cc, &sc, &c, &s);
    TD_REQUIRE(c != NULL && s != NULL);
    report_pair("plain", c, s);
    TD_EXPECT_EQ(td_conn_status(s)->phase, TD_PHASE_CONNECTED);
    TD_EXPECT_EQ(td_conn_status(c)->phase, TD_PHASE_CONNECTED);
    TD_EXPECT_EQ(td_conn_status(s)->sigalg, 0x0403);
    TD_EXPECT(strcmp(td_conn_status(s)->sni, "server.tlsdrill.test") == 0);
    TD_EXPECT(td_conn_write(c, (const uint8_t *)"ping", 4) == TD_OK);
    const uint8_t *out;
    size_t n;
    td_conn_drain(c, &out, &n);
    TD_EXPECT(td_conn_feed(s, out, n) == TD_OK);
    TD_EXPECT_EQ(td_conn_read(s, buf, sizeof(buf)), 4);
    td_conn_free(c);
    td_conn_free(s);

    /* HRR (the server takes only P-256; the client's first share is x25519) with our cookie,
     * client authentication and compatibility mode. */
    static const uint16_t p256[] = {TD_GROUP_SECP256R1};
    pair_configs(&k, &cc, &sc);
    sc.groups = p256;
    sc.num_groups = 1;
    sc.hrr_cookie = true;
    sc.client_auth = TD_CLIENT_AUTH_REQUIRE;
    cc.compat_mode = true;
    pair_run(&cc, &sc, &c, &s);
    TD_REQUIRE(c != NULL && s != NULL);
    report_pair("hrr+auth+compat", c, s);
    TD_EXPECT_EQ(td_conn_status(s)->phase, TD_PHASE_CONNECTED);
    TD_EXPECT_EQ(td_conn_status(c)->phase, TD_PHASE_CONNECTED);
    TD_EXPECT(td_conn_status(s)->hrr && td_conn_status(s)->client_authenticated);
    TD_EXPECT_EQ(td_conn_status(s)->group, TD_GROUP_SECP256R1);
    td_conn_free(c);
    td_conn_free(s);

    /* CertificateRequest answered with an empty Certificate: fine with REQUEST. */
    pair_configs(&k, &cc, &sc);
    cc.num_certs = 0;
    sc.client_auth = TD_CLIENT_AUTH_REQUEST;
    pair_run(&cc, &sc, &c, &s);
    TD_REQUIRE(c != NULL && s != NULL);
    report_pair("request, no client cert", c, s);
    TD_EXPECT_EQ(td_conn_status(s)->phase, TD_PHASE_CONNECTED);
    TD_EXPECT(!td_conn_status(s)->client_authenticated);
    td_conn_free(c);
    td_conn_free(s);

    /* Resumption with a ticket we issued, 0-RTT accepted. */
    td_session sess;
    pair_configs(&k, &cc, &sc);
    sc.num_tickets = 2;
    sc.max_early_data = 1024;
    sc.accept_early_data = true;
    pair_run(&cc, &sc, &c, &s);
    TD_REQUIRE(c != NULL && s != NULL);
    TD_EXPECT(td_conn_session(c, &sess));
    td_conn_free(c);
    td_conn_free(s);
    cc.resume = &sess;
    cc.early_data = (const uint8_t *)"early!";
    cc.early_data_len = 6;
    pair_run(&cc, &sc, &c, &s);
    TD_REQUIRE(c != NULL && s != NULL);
    report_pair("resumption", c, s);
    TD_EXPECT_EQ(td_conn_status(s)->phase, TD_PHASE_CONNECTED);
    TD_EXPECT(td_conn_status(s)->resumed && td_conn_status(s)->early_data_accepted);
    TD_EXPECT(td_conn_status(c)->resumed && td_conn_status(c)->early_data_accepted);
    TD_EXPECT_EQ(td_conn_read(s, buf, sizeof(buf)), 6);
    td_conn_free(c);
    td_conn_free(s);
    /* The same ticket, 0-RTT not accepted: the early data is skipped. */
    sc.accept_early_data = false;
    pair_run(&cc, &sc, &c, &s);
    TD_REQUIRE(c != NULL && s != NULL);
    report_pair("resumption, 0-RTT rejected", c, s);
    TD_EXPECT_EQ(td_conn_status(s)->phase, TD_PHASE_CONNECTED);
    TD_EXPECT(td_conn_status(s)->resumed && !td_conn_status(s)->early_data_accepted);
    TD_EXPECT_EQ(td_conn_read(s, buf, sizeof(buf)), 0);
    td_conn_free(c);
    td_conn_free(s);
    pki_free(&k);
}

/* Every server-side bugs.def knob makes our client fail with the rule the knob names. */
static void test_pair_server_bugs(void)
{
    pki k;
    td_config cc, sc;
    td_conn *c, *s;
    static const uint16_t p256[] = {TD_GROUP_SECP256R1};
    struct { const char *knob; const char *rule; bool hrr; bool resume; } rows[] = {
        {"second_hrr", "HRR-SECOND", true, false},
        {"sh_omit_supported_versions", "SV-SH-MISSING", false, false},
        {"sh_change_suite_after_hrr", "SH-CIPHER-CHANGED", true, false},
        {"cookie_in_sh", "COOKIE-IN-SH", false, false},
        {"psk_identity_out_of_range", "PSK-SH-IDENTITY-RANGE", false, true},
        {"hrr_offered_share_group", "KS-HRR-GROUP-ALREADY-SENT", true, false},
        {"sh_wrong_session_id", "SH-SESSION-ID", false, false},
        {"bad_finished", "FIN-BAD", false, false},
        {"bad_signature", "CV-BAD-SIGNATURE", false, false},
    };
    td_session sess;
    TD_REQUIRE(pki_load(&k) == 0);
    pair_configs(&k, &cc, &sc);
    sc.num_tickets = 1;
    pair_run(&cc, &sc, &c, &s);
    TD_REQUIRE(c != NULL && td_conn_session(c, &sess));
    td_conn_free(c);
    td_conn_free(s);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        pair_configs(&k, &cc, &sc);
        TD_REQUIRE(td_bugs_set(&sc.bugs, rows[i].knob, true));
        if (rows[i].hrr) {
            sc.groups = p256;
            sc.num_groups = 1;
        }
        if (rows[i].resume)
            cc.resume = &sess;
        pair_run(&cc, &sc, &c, &s);
        TD_REQUIRE(c != NULL && s != NULL);
        const td_status *cs = td_conn_status(c);
        const td_rule_info *ri = td_rule_get(cs->diag.rule);
        td_test_checks++;
        if (cs->phase != TD_PHASE_FAILED || ri == NULL || strcmp(ri->id, rows[i].rule) != 0) {
            td_test_failures++;
            fprintf(stderr, "%s: knob %s: client %s with %s (%s), want %s\n", td_test_current, rows[i].knob,
                    td_phase_name(cs->phase), ri ? ri->id : "-", cs->diag.text, rows[i].rule);
        }
        /* The server saw the client's alert. */
        TD_EXPECT(td_conn_status(s)->alert_received);
        if (!td_conn_status(s)->alert_received)
            fprintf(stderr, "  knob %s: server %s, client alert sent %d (%s)\n", rows[i].knob,
                    td_phase_name(td_conn_status(s)->phase), cs->alert_sent, td_conn_status(s)->diag.text);
        td_conn_free(c);
        td_conn_free(s);
    }
    pki_free(&k);
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
    TD_RUN(test_rebuild_identity);
    TD_RUN(test_bad_client_hellos);
    TD_RUN(test_tolerated_client_hellos);
    TD_RUN(test_bad_second_client_hellos);
    TD_RUN(test_wrong_state_messages);
    TD_RUN(test_bad_client_auth);
    TD_RUN(test_own_cookie);
    TD_RUN(test_own_tickets);
    TD_RUN(test_early_data_limits);
    TD_RUN(test_keylog_and_alpn);
    TD_RUN(test_pair_handshakes);
    TD_RUN(test_pair_server_bugs);
    td_crypto_free(g_crypto);
    td_vec_free();
    return td_test_report("test_server");
}
