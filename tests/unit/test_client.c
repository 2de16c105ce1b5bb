/* tests/unit/test_client.c -- the client state machine (engine/client.c,
 * engine/client_hello.c) against the RFC 8448 traces, byte for byte, and a
 * table of server messages with one defect each (expected rule and alert). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "td_test.h"
#include "td_vectors.h"

#include "conn_internal.h"

static td_crypto *g_crypto;

#define VEC(s, st, n) TD_VEC_DATA(s, st, n), TD_VEC_LEN(s, st, n)
#define EXPECT_VEC(a, a_len, s, st, n)                                                             \
    TD_EXPECT_MEM(a, a_len, TD_VEC_DATA(s, st, n), TD_VEC_LEN(s, st, n))

/* The client configuration of the traces (NSS's lists). */
static const uint16_t k_suites[] = {0x1301, 0x1303, 0x1302};
static const uint16_t k_groups[] = {0x001d, 0x0017, 0x0018, 0x0019, 0x0100,
                                    0x0101, 0x0102, 0x0103, 0x0104};
static const uint16_t k_groups5[] = {0x001d, 0x0017, 0x0018};
static const uint16_t k_sigalgs[] = {0x0403, 0x0503, 0x0603, 0x0203, 0x0804, 0x0805, 0x0806, 0x0401,
                                     0x0501, 0x0601, 0x0201, 0x0402, 0x0502, 0x0602, 0x0202};

typedef struct trace_cfg {
    td_config cfg;
    td_inject inj;
    const uint8_t *priv[2];
    size_t priv_len[2];
    uint8_t random[32];
    uint8_t sid[32];
    td_session session;
} trace_cfg;

/* §4's first step prints only the binder prefix; the record payload is the whole ClientHello. */
static const uint8_t *trace_ch(int sec, size_t *len)
{
    if (sec == 4) {
        *len = TD_VEC_LEN(4, 4, "payload");
        return TD_VEC_DATA(4, 4, "payload");
    }
    *len = TD_VEC_LEN(sec, 1, "ClientHello");
    return TD_VEC_DATA(sec, 1, "ClientHello");
}

static void trace_setup(trace_cfg *t, int sec)
{
    memset(t, 0, sizeof(*t));
    td_config *c = &t->cfg;
    c->role = TD_ROLE_CLIENT;
    c->crypto = g_crypto;
    c->suites = k_suites;
    c->num_suites = 3;
    c->groups = sec == 5 ? k_groups5 : k_groups;
    c->num_groups = sec == 5 ? 3 : 9;
    c->sigalgs = k_sigalgs;
    c->num_sigalgs = sizeof(k_sigalgs) / sizeof(k_sigalgs[0]);
    c->server_name = "server";
    c->renegotiation_info = true;
    c->session_ticket_ext = sec == 3;
    c->record_size_limit = 0x4001;
    c->ch_padding = true;
    c->no_verify = true;
    c->clock_start_ms = 1000000;
    size_t ch_len;
    const uint8_t *ch = trace_ch(sec, &ch_len);
    memcpy(t->random, ch + 6, 32);
    t->inj.random = t->random;
    if (sec == 7) {
        memcpy(t->sid, ch + 39, 32);
        t->inj.session_id = t->sid;
        t->inj.session_id_len = 32;
        c->compat_mode = true;
    }
    t->priv[0] = TD_VEC_DATA(sec, 0, "private key");
    t->priv_len[0] = TD_VEC_LEN(sec, 0, "private key");
    t->inj.num_share_private = 1;
    if (sec == 5) {
        t->priv[1] = TD_VEC_DATA(5, 5, "private key");
        t->priv_len[1] = TD_VEC_LEN(5, 5, "private key");
        t->inj.num_share_private = 2;
    }
    t->inj.share_private = t->priv;
    t->inj.share_private_len = t->priv_len;
    c->inject = &t->inj;
}

/* The §3 ticket as a client session: PSK from "generate resumption
 * secret", ticket/age_add/max_early_data from the NewSessionTicket, and
 * received_ms chosen so that the obfuscated age equals §4's. */
static void section4_session(trace_cfg *t)
{
    const uint8_t *nst = TD_VEC_DATA(3, 48, "NewSessionTicket");
    td_msg m;
    td_diag d;
    if (td_msg_parse_handshake(nst, TD_VEC_LEN(3, 48, "NewSessionTicket"), NULL, &m, &d) != TD_OK)
        abort();
    td_session *s = &t->session;
    s->suite = 0x1301;
    memcpy(s->psk, TD_VEC_DATA(3, 47, "expanded"), 32);
    s->psk_len = 32;
    memcpy(s->ticket, td_cbs_data(&m.u.nst.ticket), td_cbs_len(&m.u.nst.ticket));
    s->ticket_len = td_cbs_len(&m.u.nst.ticket);
    s->lifetime_s = m.u.nst.ticket_lifetime;
    s->age_add = m.u.nst.ticket_age_add;
    s->max_early_data = m.u.nst.ext.max_early_data_size;
    size_t ch_len;
    const uint8_t *ch = trace_ch(4, &ch_len);
    td_msg chm;
    if (td_msg_parse_handshake(ch, ch_len, NULL, &chm, &d) != TD_OK)
        abort();
    uint32_t age_ms = chm.u.ch.ext.psk_identities[0].obfuscated_ticket_age - s->age_add;
    s->received_ms = t->cfg.clock_start_ms - age_ms;
    t->cfg.resume = s;
}

static td_conn *start(const td_config *cfg)
{
    td_conn *c = NULL;
    if (td_conn_new(cfg, &c) != TD_OK || td_conn_start(c) != TD_OK) {
        td_conn_free(c);
        return NULL;
    }
    return c;
}

static void drain(td_conn *c, const uint8_t **out, size_t *len)
{
    td_conn_drain(c, out, len);
}

static void feed(td_conn *c, const uint8_t *data, size_t len)
{
    TD_EXPECT(td_conn_feed(c, data, len) == TD_OK);
}

/* ---- the RFC 8448 traces ---- */

static void test_section3_full_handshake(void)
{
    trace_cfg t;
    trace_setup(&t, 3);
    /* The server's certificate is self-signed: it is its own trust anchor. */
    const uint8_t *cert = TD_VEC_DATA(3, 15, "Certificate");
    t.cfg.no_verify = false;
    t.cfg.trust_anchor = cert + 11;
    t.cfg.trust_anchor_len = ((size_t)cert[8] << 16) | ((size_t)cert[9] << 8) | cert[10];
    td_conn *c = start(&t.cfg);
    TD_REQUIRE(c != NULL);
    const uint8_t *out;
    size_t len;
    drain(c, &out, &len);
    EXPECT_VEC(out, len, 3, 2, "complete record");
    feed(c, VEC(3, 12, "complete record"));
    feed(c, VEC(3, 19, "complete record"));
    drain(c, &out, &len);
    EXPECT_VEC(out, len, 3, 41, "complete record");
    const td_status *st = td_conn_status(c);
    TD_EXPECT_EQ(st->phase, TD_PHASE_CONNECTED);
    TD_EXPECT_EQ(st->version, 0x0304);
    TD_EXPECT_EQ(st->suite, 0x1301);
    TD_EXPECT_EQ(st->group, 0x001d);
    TD_EXPECT_EQ(st->sigalg, 0x0804);
    TD_EXPECT(!st->resumed && !st->hrr);
    EXPECT_VEC(c->res_master, 32, 3, 43, "expanded");
    feed(c, VEC(3, 49, "complete record"));
    td_session s;
    TD_REQUIRE(td_conn_session(c, &s));
    EXPECT_VEC(s.psk, s.psk_len, 3, 47, "expanded");
    TD_EXPECT_EQ(s.lifetime_s, 0x1e);
    TD_EXPECT_EQ(s.max_early_data, 0x400);
    TD_EXPECT_EQ(s.received_ms, 1000000);
    /* Application data both ways. */
    static const uint8_t app_len = 50;
    feed(c, VEC(3, 52, "complete record"));
    uint8_t buf[64];
    TD_EXPECT_EQ(td_conn_read(c, buf, sizeof(buf)), app_len);
    EXPECT_VEC(buf, app_len, 3, 52, "payload");
    TD_EXPECT(td_conn_write(c, VEC(3, 51, "payload")) == TD_OK);
    drain(c, &out, &len);
    EXPECT_VEC(out, len, 3, 51, "complete record");
    TD_EXPECT(td_conn_close(c) == TD_OK);
    drain(c, &out, &len);
    EXPECT_VEC(out, len, 3, 53, "complete record");
    td_conn_free(c);
}

static void test_section4_resumed_0rtt(void)
{
    trace_cfg t;
    trace_setup(&t, 4);
    section4_session(&t);
    t.cfg.early_data = TD_VEC_DATA(4, 8, "payload");
    t.cfg.early_data_len = TD_VEC_LEN(4, 8, "payload");
    td_conn *c = start(&t.cfg);
    TD_REQUIRE(c != NULL);
    const uint8_t *out;
    size_t len;
    drain(c, &out, &len);
    size_t ch_rec = TD_VEC_LEN(4, 4, "complete record");
    TD_REQUIRE(len == ch_rec + TD_VEC_LEN(4, 8, "complete record"));
    EXPECT_VEC(out, ch_rec, 4, 4, "complete record");
    EXPECT_VEC(out + ch_rec, len - ch_rec, 4, 8, "complete record");
    feed(c, VEC(4, 21, "complete record"));
    feed(c, VEC(4, 26, "complete record"));
    drain(c, &out, &len);
    size_t eoed = TD_VEC_LEN(4, 44, "complete record");
    TD_REQUIRE(len == eoed + TD_VEC_LEN(4, 49, "complete record"));
    EXPECT_VEC(out, eoed, 4, 44, "complete record");
    EXPECT_VEC(out + eoed, len - eoed, 4, 49, "complete record");
    const td_status *st = td_conn_status(c);
    TD_EXPECT_EQ(st->phase, TD_PHASE_CONNECTED);
    TD_EXPECT(st->resumed && st->early_data_accepted);
    TD_EXPECT_EQ(st->group, 0x001d);
    TD_EXPECT(td_conn_write(c, VEC(4, 56, "payload")) == TD_OK);
    drain(c, &out, &len);
    EXPECT_VEC(out, len, 4, 56, "complete record");
    td_conn_free(c);
}

static void test_section5_hrr(void)
{
    trace_cfg t;
    trace_setup(&t, 5);
    td_conn *c = start(&t.cfg);
    TD_REQUIRE(c != NULL);
    const uint8_t *out;
    size_t len;
    drain(c, &out, &len);
    EXPECT_VEC(out, len, 5, 2, "complete record");
    feed(c, VEC(5, 4, "complete record"));
    drain(c, &out, &len);
    EXPECT_VEC(out, len, 5, 7, "complete record");
    feed(c, VEC(5, 17, "complete record"));
    feed(c, VEC(5, 24, "complete record"));
    drain(c, &out, &len);
    EXPECT_VEC(out, len, 5, 46, "complete record");
    const td_status *st = td_conn_status(c);
    TD_EXPECT_EQ(st->phase, TD_PHASE_CONNECTED);
    TD_EXPECT(st->hrr);
    TD_EXPECT_EQ(st->group, 0x0017);
    td_conn_free(c);
}

static td_der *load_pem_certs(const char *path, size_t *num)
{
    td_der *list = NULL;
    return td_certs_from_pem_file(path, &list, num) == TD_OK ? list : NULL;
}

static td_pkey *load_key(const char *path)
{
    td_pkey *k = NULL;
    return td_pkey_from_pem_file(g_crypto, path, &k) == TD_OK ? k : NULL;
}

/* §6: the trace's client key is not published, so the ClientHello and the
 * acceptance of the server's flight (ECDSA, CertificateRequest) are
 * checked byte for byte, and our answer is checked by decrypting it with
 * the trace's client handshake keys: Certificate (our test chain), a
 * CertificateVerify that verifies, and a Finished of the right size. */
static void test_section6_client_auth(void)
{
    trace_cfg t;
    trace_setup(&t, 6);
    size_t num_chain = 0;
    td_der *chain = load_pem_certs(TD_VECTORS_DIR "/certs/client-p256.pem", &num_chain);
    td_pkey *key = load_key(TD_VECTORS_DIR "/certs/client-p256.key");
    TD_REQUIRE(chain != NULL && key != NULL);
    td_cert_key ck = {.chain = chain, .num_chain = num_chain, .key = key};
    t.cfg.certs = &ck;
    t.cfg.num_certs = 1;
    td_conn *c = start(&t.cfg);
    TD_REQUIRE(c != NULL);
    const uint8_t *out;
    size_t len;
    drain(c, &out, &len);
    EXPECT_VEC(out, len, 6, 2, "complete record");
    feed(c, VEC(6, 12, "complete record"));
    feed(c, VEC(6, 20, "complete record"));
    drain(c, &out, &len);
    const td_status *st = td_conn_status(c);
    TD_EXPECT_EQ(st->phase, TD_PHASE_CONNECTED);
    TD_EXPECT_EQ(st->sigalg, 0x0403);
    TD_EXPECT_EQ(st->client_sigalg, 0x0403);
    TD_EXPECT(st->client_authenticated);
    /* Decrypt our flight with the client handshake traffic secret. */
    td_rec_cipher rc;
    TD_REQUIRE(td_rec_cipher_init(&rc, g_crypto, td_suite_get(0x1301), c->c_hs) == TD_OK);
    td_record rec;
    td_diag d;
    TD_REQUIRE(td_rec_parse(out, len, true, &rec, &d) == TD_OK);
    uint8_t *buf = malloc(rec.fragment_len);
    uint8_t inner = 0;
    td_cbs content;
    TD_REQUIRE(td_rec_open(&rc, &rec, buf, rec.fragment_len, &inner, &content, &d) == TD_OK);
    TD_EXPECT_EQ(inner, TD_CT_HANDSHAKE);
    td_cbs rest = content, body, whole;
    uint8_t type;
    TD_EXPECT(td_msg_next(&rest, &type, &body, &whole) == TD_OK && type == TD_MSG_CERTIFICATE);
    td_msg m;
    TD_EXPECT(td_msg_parse(type, td_cbs_data(&body), td_cbs_len(&body), NULL, &m, &d) == TD_OK);
    TD_EXPECT_EQ(m.u.cert.num_entries, 1);
    TD_EXPECT_MEM(td_cbs_data(&m.u.cert.entries[0].cert_data),
                  td_cbs_len(&m.u.cert.entries[0].cert_data), chain[0].data, chain[0].len);
    TD_EXPECT(td_msg_next(&rest, &type, &body, &whole) == TD_OK &&
              type == TD_MSG_CERTIFICATE_VERIFY);
    TD_EXPECT(td_msg_next(&rest, &type, &body, &whole) == TD_OK && type == TD_MSG_FINISHED);
    TD_EXPECT_EQ(td_cbs_len(&body), 32);
    TD_EXPECT_EQ(td_cbs_len(&rest), 0);
    free(buf);
    td_rec_cipher_cleanup(&rc);
    td_conn_free(c);
    td_pkey_free(key);
    td_der_list_free(chain, num_chain);
}

static void test_section7_compat(void)
{
    trace_cfg t;
    trace_setup(&t, 7);
    td_conn *c = start(&t.cfg);
    TD_REQUIRE(c != NULL);
    const uint8_t *out;
    size_t len;
    drain(c, &out, &len);
    EXPECT_VEC(out, len, 7, 2, "complete record");
    feed(c, VEC(7, 6, "complete record"));
    feed(c, VEC(7, 7, "complete record"));
    feed(c, VEC(7, 20, "complete record"));
    drain(c, &out, &len);
    size_t ccs = TD_VEC_LEN(7, 38, "complete record");
    TD_REQUIRE(len == ccs + TD_VEC_LEN(7, 43, "complete record"));
    EXPECT_VEC(out, ccs, 7, 38, "complete record");
    EXPECT_VEC(out + ccs, len - ccs, 7, 43, "complete record");
    TD_EXPECT_EQ(td_conn_status(c)->phase, TD_PHASE_CONNECTED);
    td_conn_free(c);
}

/* ---- negative table: one defect per row, expected rule and alert ---- */

typedef void (*mut_fn)(td_msg *m);

typedef struct neg_msg {
    int sec, step;
    const char *name; /* trace message to start from (NULL: |raw|) */
    mut_fn mut;       /* edit applied to the parsed message (NULL: as is) */
    const uint8_t *raw;
    size_t raw_len;
} neg_msg;

typedef enum neg_at {
    AT_SH,      /* messages sent in plaintext right after our ClientHello */
    AT_FLIGHT,  /* after the trace's ServerHello, sealed under the server handshake keys */
    AT_POST,    /* after the whole trace handshake, sealed under the server application keys */
    AT_FLIGHT3, /* after §3's ServerHello (whatever the section), sealed under the server handshake
                   keys */
} neg_at;

typedef struct neg_case {
    const char *name;
    int sec;
    neg_at at;
    void (*tweak)(td_config *cfg);
    neg_msg msgs[4];
    td_rule rule;
    uint8_t alert;
} neg_case;

static const uint8_t k_one[1] = {1};
static const uint8_t k_p256_point[65] = {4, 1, 2, 3};
static const uint8_t k_zero32[32] = {0};
static const uint8_t k_short31[31] = {9};
static const uint8_t k_cookie_body[4] = {0, 2, 0xab, 0xcd};
static const uint8_t k_psk_body[2] = {0, 0};
static const uint8_t k_alpn_body[5] = {0, 3, 2, 'h', '2'};
static const uint8_t k_alpn_other[11] = {0, 9, 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
static const uint8_t k_ks_body[2] = {0, 0x1d};
static const uint8_t k_key_update[5] = {24, 0, 0, 1, 0};
static const uint8_t k_eoed[4] = {5, 0, 0, 0};
static const uint8_t k_downgrade12[8] = {0x44, 0x4F, 0x57, 0x4E, 0x47, 0x52, 0x44, 0x01};

static void ins_raw(td_exts *e, uint16_t type, const uint8_t *body, size_t len)
{
    td_cbs b;
    td_cbs_init(&b, body, len);
    if (td_exts_insert_raw(e, e->num, type, b) != TD_OK)
        abort();
}

static void del_ext(td_exts *e, uint16_t type)
{
    int i = td_exts_index(e, type);
    if (i < 0 || td_exts_remove(e, (size_t)i) != TD_OK)
        abort();
}

static void typed(td_exts *e, uint16_t type)
{
    td_exts_find(e, type)->from_typed = true;
}

static void m_sid(td_msg *m)
{
    td_cbs_init(&m->u.sh.legacy_session_id_echo, k_one, 1);
}
static void m_suite_1304(td_msg *m)
{
    m->u.sh.cipher_suite = 0x1304;
}
static void m_suite_1302(td_msg *m)
{
    m->u.sh.cipher_suite = 0x1302;
}
static void m_suite_1303(td_msg *m)
{
    m->u.sh.cipher_suite = 0x1303;
}
static void m_comp(td_msg *m)
{
    m->u.sh.legacy_compression_method = 1;
}
static void m_no_sv(td_msg *m)
{
    del_ext(&m->u.sh.exts, TD_EXT_SUPPORTED_VERSIONS);
}
static void m_sv_0303(td_msg *m)
{
    m->u.sh.ext.selected_version = 0x0303;
    typed(&m->u.sh.exts, TD_EXT_SUPPORTED_VERSIONS);
}
static void m_legacy_13(td_msg *m)
{
    m_no_sv(m);
    m->u.sh.legacy_version = 0x0304;
}
static void m_sentinel(td_msg *m)
{
    m_no_sv(m);
    memcpy(m->u.sh.random + 24, k_downgrade12, 8);
}
static void m_legacy_0302(td_msg *m)
{
    m->u.sh.legacy_version = 0x0302;
}
static void m_unknown_ext(td_msg *m)
{
    td_ext_data *d;
    ins_raw(td_msg_exts(m, &d), 0x1234, NULL, 0);
}
static void m_cookie(td_msg *m)
{
    ins_raw(&m->u.sh.exts, TD_EXT_COOKIE, k_cookie_body, sizeof(k_cookie_body));
}
static void m_psk(td_msg *m)
{
    ins_raw(&m->u.sh.exts, TD_EXT_PRE_SHARED_KEY, k_psk_body, sizeof(k_psk_body));
}
static void m_share(td_msg *m, uint16_t group, const uint8_t *ke, size_t len)
{
    m->u.sh.ext.server_share.group = group;
    td_cbs_init(&m->u.sh.ext.server_share.key_exchange, ke, len);
    typed(&m->u.sh.exts, TD_EXT_KEY_SHARE);
}
static void m_share_p256(td_msg *m)
{
    m_share(m, 0x0017, k_p256_point, sizeof(k_p256_point));
}
static void m_share_zero(td_msg *m)
{
    m_share(m, 0x001d, k_zero32, sizeof(k_zero32));
}
static void m_share_short(td_msg *m)
{
    m_share(m, 0x001d, k_short31, sizeof(k_short31));
}
static void m_no_ks(td_msg *m)
{
    del_ext(&m->u.sh.exts, TD_EXT_KEY_SHARE);
}
static void m_psk_identity_1(td_msg *m)
{
    m->u.sh.ext.psk_selected_identity = 1;
    typed(&m->u.sh.exts, TD_EXT_PRE_SHARED_KEY);
}
static void m_hrr_group(td_msg *m, uint16_t g)
{
    m->u.sh.ext.hrr_selected_group = g;
    typed(&m->u.sh.exts, TD_EXT_KEY_SHARE);
}
static void m_hrr_x25519(td_msg *m)
{
    m_hrr_group(m, 0x001d);
}
static void m_hrr_p521(td_msg *m)
{
    m_hrr_group(m, 0x0019);
}
static void m_hrr_no_change(td_msg *m)
{
    del_ext(&m->u.sh.exts, TD_EXT_KEY_SHARE);
    del_ext(&m->u.sh.exts, TD_EXT_COOKIE);
}
static void m_ee_early(td_msg *m)
{
    ins_raw(&m->u.ee.exts, TD_EXT_EARLY_DATA, NULL, 0);
}
static void m_ee_alpn(td_msg *m)
{
    ins_raw(&m->u.ee.exts, TD_EXT_ALPN, k_alpn_body, sizeof(k_alpn_body));
}
static void m_ee_alpn_other(td_msg *m)
{
    ins_raw(&m->u.ee.exts, TD_EXT_ALPN, k_alpn_other, sizeof(k_alpn_other));
}
static void m_ee_key_share(td_msg *m)
{
    ins_raw(&m->u.ee.exts, TD_EXT_KEY_SHARE, k_ks_body, sizeof(k_ks_body));
}
static void m_cert_empty(td_msg *m)
{
    m->u.cert.num_entries = 0;
}
static void m_cert_ctx(td_msg *m)
{
    td_cbs_init(&m->u.cert.context, k_one, 1);
}
static void m_cr_ctx(td_msg *m)
{
    td_cbs_init(&m->u.cr.context, k_one, 1);
}
static void m_cr_no_sigalgs(td_msg *m)
{
    del_ext(&m->u.cr.exts, TD_EXT_SIGNATURE_ALGORITHMS);
    ins_raw(&m->u.cr.exts, 0x1234, NULL, 0);
}
static void m_cv_alg(td_msg *m, uint16_t a)
{
    m->u.cv.algorithm = a;
}
static void m_cv_pkcs1(td_msg *m)
{
    m_cv_alg(m, 0x0401);
}
static void m_cv_sha1(td_msg *m)
{
    m_cv_alg(m, 0x0201);
}
static void m_cv_ecdsa(td_msg *m)
{
    m_cv_alg(m, 0x0403);
}
static void m_cv_ed448(td_msg *m)
{
    m_cv_alg(m, 0x0808);
}
static uint8_t g_flip[512];
static void m_cv_flip(td_msg *m)
{
    size_t n = td_cbs_len(&m->u.cv.signature);
    memcpy(g_flip, td_cbs_data(&m->u.cv.signature), n);
    g_flip[n / 2] ^= 0x01;
    td_cbs_init(&m->u.cv.signature, g_flip, n);
}
static void m_fin_flip(td_msg *m)
{
    size_t n = td_cbs_len(&m->u.fin.verify_data);
    memcpy(g_flip, td_cbs_data(&m->u.fin.verify_data), n);
    g_flip[n - 1] ^= 0x80;
    td_cbs_init(&m->u.fin.verify_data, g_flip, n);
}
static const uint8_t k_key_update_bad[5] = {24, 0, 0, 1, 2};
static const uint8_t k_entry_ext[4] = {0x12, 0x34, 0, 0};
static void m_ssl3(td_msg *m)
{
    m_no_sv(m);
    m->u.sh.legacy_version = 0x0300;
}
static void m_ks_hrr_form(td_msg *m)
{
    td_exts_find(&m->u.sh.exts, TD_EXT_KEY_SHARE)->body = (td_cbs){k_ks_body, 2};
}
static const uint8_t k_full_entry[8] = {0, 0x17, 0, 4, 1, 2, 3, 4};
static void m_hrr_full_entry(td_msg *m)
{
    td_exts_find(&m->u.sh.exts, TD_EXT_KEY_SHARE)->body =
        (td_cbs){k_full_entry, sizeof(k_full_entry)};
}
static void m_cert_entry_ext(td_msg *m)
{
    td_cbs_init(&m->u.cert.entries[0].extensions, k_entry_ext, 4);
}
static void m_nst_lifetime(td_msg *m)
{
    m->u.nst.ticket_lifetime = 604801;
}

static void t_alpn(td_config *cfg)
{
    static const char *const protos[] = {"h2"};
    cfg->alpn = protos;
    cfg->num_alpn = 1;
}
static void t_early(td_config *cfg)
{
    cfg->early_data = TD_VEC_DATA(4, 8, "payload");
    cfg->early_data_len = TD_VEC_LEN(4, 8, "payload");
}
static void t_psk_ke_only(td_config *cfg)
{
    cfg->psk_ke_only = true;
}
static void t_other_anchor(td_config *cfg)
{
    static td_der *anchor;
    static size_t num;
    if (anchor == NULL)
        anchor = load_pem_certs(TD_VECTORS_DIR "/certs/ca.pem", &num);
    if (anchor == NULL)
        abort();
    cfg->no_verify = false;
    cfg->trust_anchor = anchor[0].data;
    cfg->trust_anchor_len = anchor[0].len;
}

/* The §3 server certificate (self-signed) as our trust anchor, with a
 * name it does not hold: the chain verifies, the name check refuses it. */
static void t_self_anchor_other_name(td_config *cfg)
{
    static uint8_t der[2048];
    static size_t der_len;
    if (der_len == 0) {
        td_msg m;
        td_diag d;
        if (td_msg_parse_handshake(TD_VEC_DATA(3, 15, "Certificate"),
                                   TD_VEC_LEN(3, 15, "Certificate"), NULL, &m, &d) != TD_OK ||
            m.u.cert.num_entries == 0 || td_cbs_len(&m.u.cert.entries[0].cert_data) > sizeof(der))
            abort();
        der_len = td_cbs_len(&m.u.cert.entries[0].cert_data);
        memcpy(der, td_cbs_data(&m.u.cert.entries[0].cert_data), der_len);
        td_msg_cleanup(&m);
    }
    cfg->no_verify = false;
    cfg->trust_anchor = der;
    cfg->trust_anchor_len = der_len;
    cfg->verify_name = "other.example";
}
/* An end-entity "certificate" that is not DER at all. */
static const uint8_t k_not_der[8] = {0x30, 0x82, 0xff, 0xff, 1, 2, 3, 4};
static void m_cert_not_der(td_msg *m)
{
    td_cbs_init(&m->u.cert.entries[0].cert_data, k_not_der, sizeof(k_not_der));
}

#define SH3(mut)                                                                                   \
    {                                                                                              \
        3, 5, "ServerHello", mut, NULL, 0                                                          \
    }
#define SH4(mut)                                                                                   \
    {                                                                                              \
        4, 14, "ServerHello", mut, NULL, 0                                                         \
    }
#define HRR5(mut)                                                                                  \
    {                                                                                              \
        5, 3, "ServerHello", mut, NULL, 0                                                          \
    }
#define SH5(mut)                                                                                   \
    {                                                                                              \
        5, 10, "ServerHello", mut, NULL, 0                                                         \
    }
#define EE3(mut)                                                                                   \
    {                                                                                              \
        3, 14, "EncryptedExtensions", mut, NULL, 0                                                 \
    }
#define EE4(mut)                                                                                   \
    {                                                                                              \
        4, 23, "EncryptedExtensions", mut, NULL, 0                                                 \
    }
#define CERT3(mut)                                                                                 \
    {                                                                                              \
        3, 15, "Certificate", mut, NULL, 0                                                         \
    }
#define CV3(mut)                                                                                   \
    {                                                                                              \
        3, 16, "CertificateVerify", mut, NULL, 0                                                   \
    }
#define FIN3(mut)                                                                                  \
    {                                                                                              \
        3, 18, "Finished", mut, NULL, 0                                                            \
    }
#define CR6(mut)                                                                                   \
    {                                                                                              \
        6, 15, "CertificateRequest", mut, NULL, 0                                                  \
    }
#define NST3(mut)                                                                                  \
    {                                                                                              \
        3, 48, "NewSessionTicket", mut, NULL, 0                                                    \
    }
#define RAW(b)                                                                                     \
    {                                                                                              \
        0, 0, NULL, NULL, b, sizeof(b)                                                             \
    }
#define A(x) TD_ALERT_##x
#define R(x) TD_RULE_##x

/* clang-format off */
static const neg_case k_neg[] = {
    /* ServerHello (§4.1.3, §4.2) */
    {"sh-session-id", 3, AT_SH, NULL, {SH3(m_sid)}, R(SH_SESSION_ID), A(illegal_parameter)},
    {"sh-suite-not-offered", 3, AT_SH, NULL, {SH3(m_suite_1304)}, R(SH_CIPHER_NOT_OFFERED), A(illegal_parameter)},
    {"sh-compression", 3, AT_SH, NULL, {SH3(m_comp)}, R(SH_COMPRESSION), A(illegal_parameter)},
    {"sh-no-supported-versions", 3, AT_SH, NULL, {SH3(m_no_sv)}, R(SV_CLIENT_REJECTS_VERSION), A(protocol_version)},
    {"sh-sv-0303", 3, AT_SH, NULL, {SH3(m_sv_0303)}, R(SV_SH_INVALID), A(illegal_parameter)},
    {"sh-13-without-sv", 3, AT_SH, NULL, {SH3(m_legacy_13)}, R(SV_SH_MISSING), A(missing_extension)},
    {"sh-downgrade-sentinel", 3, AT_SH, NULL, {SH3(m_sentinel)}, R(SH_DOWNGRADE_SENTINEL), A(illegal_parameter)},
    {"sh-legacy-version", 3, AT_SH, NULL, {SH3(m_legacy_0302)}, R(SH_LEGACY_VERSION), A(illegal_parameter)},
    {"sh-unsolicited-ext", 3, AT_SH, NULL, {SH3(m_unknown_ext)}, R(EXT_UNSOLICITED), A(unsupported_extension)},
    {"sh-unsolicited-psk", 3, AT_SH, NULL, {SH3(m_psk)}, R(EXT_UNSOLICITED), A(unsupported_extension)},
    {"sh-cookie", 3, AT_SH, NULL, {SH3(m_cookie)}, R(COOKIE_IN_SH), A(unsupported_extension)},
    {"sh-share-other-group", 3, AT_SH, NULL, {SH3(m_share_p256)}, R(KS_SH_GROUP_NOT_OFFERED), A(illegal_parameter)},
    {"sh-share-zero", 3, AT_SH, NULL, {SH3(m_share_zero)}, R(KS_X_ZERO_SECRET), A(illegal_parameter)},
    {"sh-share-short", 3, AT_SH, NULL, {SH3(m_share_short)}, R(KS_BAD_LENGTH), A(illegal_parameter)},
    {"sh-no-key-exchange", 3, AT_SH, NULL, {SH3(m_no_ks)}, R(SH_NO_KEY_EXCHANGE), A(missing_extension)},
    {"sh-psk-identity-range", 4, AT_SH, NULL, {SH4(m_psk_identity_1)}, R(PSK_SH_IDENTITY_RANGE), A(illegal_parameter)},
    {"sh-psk-hash-mismatch", 4, AT_SH, NULL, {SH4(m_suite_1302)}, R(PSK_SH_HASH_MISMATCH), A(illegal_parameter)},
    {"sh-psk-keyshare-required", 4, AT_SH, NULL, {SH4(m_no_ks)}, R(PSK_SH_KEYSHARE_REQUIRED), A(illegal_parameter)},
    {"wait-sh-ee", 3, AT_SH, NULL, {EE3(NULL)}, R(GEN_UNEXPECTED_ORDER), A(unexpected_message)},
    /* HelloRetryRequest (§4.1.4, §4.2.8) */
    {"ee-early-data-psk-no-0rtt", 4, AT_FLIGHT, NULL, {EE4(NULL)}, R(EXT_UNSOLICITED), A(unsupported_extension)},
    {"hrr-second", 5, AT_SH, NULL, {HRR5(NULL), HRR5(NULL)}, R(HRR_SECOND), A(unexpected_message)},
    {"hrr-group-already-sent", 5, AT_SH, NULL, {HRR5(m_hrr_x25519)}, R(KS_HRR_GROUP_ALREADY_SENT), A(illegal_parameter)},
    {"hrr-group-not-offered", 5, AT_SH, NULL, {HRR5(m_hrr_p521)}, R(KS_HRR_GROUP_NOT_SUPPORTED), A(illegal_parameter)},
    {"hrr-no-change", 5, AT_SH, NULL, {HRR5(m_hrr_no_change)}, R(HRR_NO_CHANGE), A(illegal_parameter)},
    {"hrr-session-id", 5, AT_SH, NULL, {HRR5(m_sid)}, R(HRR_SESSION_ID), A(illegal_parameter)},
    {"hrr-suite-not-offered", 5, AT_SH, NULL, {HRR5(m_suite_1304)}, R(HRR_CIPHER_NOT_OFFERED), A(illegal_parameter)},
    {"hrr-unsolicited-ext", 5, AT_SH, NULL, {HRR5(m_unknown_ext)}, R(HRR_EXT_UNSOLICITED), A(unsupported_extension)},
    {"hrr-legacy-version", 5, AT_SH, NULL, {HRR5(m_legacy_0302)}, R(HRR_LEGACY_FIELDS), A(illegal_parameter)},
    {"hrr-compression", 5, AT_SH, NULL, {HRR5(m_comp)}, R(HRR_LEGACY_FIELDS), A(illegal_parameter)},
    {"hrr-sv-0303", 5, AT_SH, NULL, {HRR5(m_sv_0303)}, R(SV_HRR_INVALID), A(illegal_parameter)},
    {"sh-after-hrr-other-group", 5, AT_SH, NULL, {HRR5(NULL), SH3(NULL)}, R(KS_SH_GROUP_NE_HRR), A(illegal_parameter)},
    {"sh-after-hrr-suite-changed", 5, AT_SH, NULL, {HRR5(NULL), SH5(m_suite_1303)}, R(SH_CIPHER_CHANGED), A(illegal_parameter)},
    {"sh-after-hrr-sv-changed", 5, AT_SH, NULL, {HRR5(NULL), SH5(m_sv_0303)}, R(SV_HRR_SH_CHANGED), A(illegal_parameter)},
    {"after-ch2-not-sh", 5, AT_SH, NULL, {HRR5(NULL), EE3(NULL)}, R(GEN_UNEXPECTED_ORDER), A(unexpected_message)},
    /* EncryptedExtensions (§4.3.1, §4.2) */
    {"ee-early-data-not-offered", 3, AT_FLIGHT, NULL, {EE3(m_ee_early)}, R(EXT_UNSOLICITED), A(unsupported_extension)},
    {"ee-alpn-not-offered", 3, AT_FLIGHT, NULL, {EE3(m_ee_alpn)}, R(EXT_UNSOLICITED), A(unsupported_extension)},
    {"ee-alpn-other-protocol", 3, AT_FLIGHT, t_alpn, {EE3(m_ee_alpn_other)}, R(ALPN_NOT_OFFERED), A(illegal_parameter)},
    {"ee-key-share", 3, AT_FLIGHT, NULL, {EE3(m_ee_key_share)}, R(EE_FORBIDDEN_EXT), A(illegal_parameter)},
    {"ee-missing", 3, AT_FLIGHT, NULL, {CERT3(NULL)}, R(EE_NOT_AFTER_SH), A(unexpected_message)},
    {"nst-before-finished", 3, AT_FLIGHT, NULL, {NST3(NULL)}, R(NST_BEFORE_FINISHED), A(unexpected_message)},
    {"eoed-to-client", 3, AT_FLIGHT, NULL, {RAW(k_eoed)}, R(ED_EOED_TO_CLIENT), A(unexpected_message)},
    {"key-update-before-finished", 3, AT_FLIGHT, NULL, {RAW(k_key_update)}, R(KU_BEFORE_FINISHED), A(unexpected_message)},
    /* CertificateRequest, Certificate (§4.3.2, §4.4.2) */
    {"cr-context", 3, AT_FLIGHT, NULL, {EE3(NULL), CR6(m_cr_ctx)}, R(CR_CONTEXT_NONEMPTY), A(illegal_parameter)},
    {"cr-no-sigalgs", 3, AT_FLIGHT, NULL, {EE3(NULL), CR6(m_cr_no_sigalgs)}, R(SIGALG_MISSING_CR), A(missing_extension)},
    {"cr-in-psk-handshake", 4, AT_FLIGHT, t_early, {EE4(NULL), CR6(NULL)}, R(CR_IN_PSK_HANDSHAKE), A(unexpected_message)},
    {"cert-in-psk-handshake", 4, AT_FLIGHT, t_early, {EE4(NULL), CERT3(NULL)}, R(GEN_UNEXPECTED_ORDER), A(unexpected_message)},
    {"cert-missing-cv", 3, AT_FLIGHT, NULL, {EE3(NULL), CV3(NULL)}, R(CT_SERVER_MISSING), A(unexpected_message)},
    {"cert-missing-fin", 3, AT_FLIGHT, NULL, {EE3(NULL), FIN3(NULL)}, R(CT_SERVER_MISSING), A(unexpected_message)},
    {"cert-empty", 3, AT_FLIGHT, NULL, {EE3(NULL), CERT3(m_cert_empty)}, R(CT_SERVER_EMPTY), A(decode_error)},
    {"cert-context", 3, AT_FLIGHT, NULL, {EE3(NULL), CERT3(m_cert_ctx)}, R(CT_CONTEXT), A(illegal_parameter)},
    {"cert-untrusted", 3, AT_FLIGHT, t_other_anchor, {EE3(NULL), CERT3(NULL)}, R(CT_SERVER_CHAIN_UNACCEPTABLE), A(bad_certificate)},
    {"cert-other-name", 3, AT_FLIGHT, t_self_anchor_other_name, {EE3(NULL), CERT3(NULL)}, R(CT_SERVER_CHAIN_UNACCEPTABLE), A(bad_certificate)},
    {"cert-not-der", 3, AT_FLIGHT, NULL, {EE3(NULL), CERT3(m_cert_not_der)}, R(CT_SERVER_CHAIN_UNACCEPTABLE), A(bad_certificate)},
    /* CertificateVerify (§4.4.3) */
    {"cv-missing", 3, AT_FLIGHT, NULL, {EE3(NULL), CERT3(NULL), FIN3(NULL)}, R(CV_MISSING), A(unexpected_message)},
    {"cv-rsa-pkcs1", 3, AT_FLIGHT, NULL, {EE3(NULL), CERT3(NULL), CV3(m_cv_pkcs1)}, R(CV_RSA_PKCS1), A(illegal_parameter)},
    {"cv-sha1", 3, AT_FLIGHT, NULL, {EE3(NULL), CERT3(NULL), CV3(m_cv_sha1)}, R(CV_SHA1), A(illegal_parameter)},
    {"cv-key-mismatch", 3, AT_FLIGHT, NULL, {EE3(NULL), CERT3(NULL), CV3(m_cv_ecdsa)}, R(CV_KEY_MISMATCH), A(illegal_parameter)},
    {"cv-scheme-not-offered", 3, AT_FLIGHT, NULL, {EE3(NULL), CERT3(NULL), CV3(m_cv_ed448)}, R(CV_SCHEME_NOT_OFFERED), A(illegal_parameter)},
    {"cv-bad-signature", 3, AT_FLIGHT, NULL, {EE3(NULL), CERT3(NULL), CV3(m_cv_flip)}, R(CV_BAD_SIGNATURE), A(decrypt_error)},
    /* Finished (§4.4.4) */
    {"fin-bad", 3, AT_FLIGHT, NULL, {EE3(NULL), CERT3(NULL), CV3(NULL), FIN3(m_fin_flip)}, R(FIN_BAD), A(decrypt_error)},
    {"wait-fin-cert", 3, AT_FLIGHT, NULL, {EE3(NULL), CERT3(NULL), CV3(NULL), CERT3(NULL)}, R(GEN_UNEXPECTED_ORDER), A(unexpected_message)},
    /* Post-handshake (§4.6) */
    {"nst-lifetime", 3, AT_POST, NULL, {NST3(m_nst_lifetime)}, R(NST_LIFETIME), A(illegal_parameter)},
    {"post-cr", 3, AT_POST, NULL, {CR6(NULL)}, R(PHA_CR_WITHOUT_EXT), A(unexpected_message)},
    {"post-ee", 3, AT_POST, NULL, {EE3(NULL)}, R(PH_UNEXPECTED_MSG), A(unexpected_message)},
    {"post-eoed", 3, AT_POST, NULL, {RAW(k_eoed)}, R(ED_EOED_TO_CLIENT), A(unexpected_message)},
    /* More ServerHello / HRR / flight defects */
    {"sh-ssl3", 3, AT_SH, NULL, {SH3(m_ssl3)}, R(SV_LEGACY_SSL3), A(protocol_version)},
    {"sh-tls12-after-0rtt", 4, AT_SH, t_early, {SH4(m_no_sv)}, R(ED_TLS12_AFTER_0RTT), A(protocol_version)},
    {"sh-psk-ke-with-share", 4, AT_SH, t_psk_ke_only, {SH4(NULL)}, R(KS_PSK_KE_WITH_SHARE), A(illegal_parameter)},
    {"sh-hrr-form-key-share", 3, AT_SH, NULL, {SH3(m_ks_hrr_form)}, R(GEN_DECODE), A(decode_error)},
    {"hrr-full-key-share-entry", 5, AT_SH, NULL, {HRR5(m_hrr_full_entry)}, R(GEN_DECODE), A(decode_error)},
    {"ee-early-data-psk-rejected", 4, AT_FLIGHT3, t_early, {EE4(NULL)}, R(ED_SELECTED_IDENTITY), A(illegal_parameter)},
    {"cert-entry-ext-unsolicited", 3, AT_FLIGHT, NULL, {EE3(NULL), CERT3(m_cert_entry_ext)}, R(CT_EXT_UNSOLICITED), A(unsupported_extension)},
    {"post-key-update-bad-request", 3, AT_POST, NULL, {RAW(k_key_update_bad)}, R(KU_BAD_REQUEST), A(illegal_parameter)},
};
/* clang-format on */

/* The message of |nm|, edited, serialised into a malloc'd buffer. */
static uint8_t *make_msg(const neg_msg *nm, size_t *out_len)
{
    const uint8_t *raw = nm->raw;
    size_t len = nm->raw_len;
    if (nm->name != NULL) {
        raw = TD_VEC_DATA(nm->sec, nm->step, nm->name);
        len = TD_VEC_LEN(nm->sec, nm->step, nm->name);
    }
    uint8_t *out = NULL;
    if (nm->mut == NULL) {
        out = malloc(len);
        memcpy(out, raw, len);
        *out_len = len;
        return out;
    }
    td_msg *m = calloc(1, sizeof(*m));
    td_diag d;
    td_msg_ctx ctx = {.hash_len = 32, .sh_mode = TD_SH_AUTO};
    td_cbb cbb;
    if (td_msg_parse_handshake(raw, len, &ctx, m, &d) != TD_OK)
        abort();
    nm->mut(m);
    if (!td_cbb_init(&cbb, len + 256) || td_msg_build(m, &cbb) != TD_OK ||
        !td_cbb_finish(&cbb, &out, out_len))
        abort();
    free(m);
    return out;
}

static void feed_plain(td_conn *c, const uint8_t *msg, size_t len)
{
    uint8_t *rec = malloc(len + 5);
    rec[0] = TD_CT_HANDSHAKE;
    rec[1] = 3;
    rec[2] = 3;
    rec[3] = (uint8_t)(len >> 8);
    rec[4] = (uint8_t)len;
    memcpy(rec + 5, msg, len);
    feed(c, rec, len + 5);
    free(rec);
}

static void feed_sealed(td_conn *c, td_rec_cipher *rc, const uint8_t *msg, size_t len)
{
    td_cbb cbb;
    uint8_t *rec;
    size_t rec_len;
    if (!td_cbb_init(&cbb, len + 64) ||
        td_rec_seal(rc, &cbb, TD_CT_HANDSHAKE, msg, len, 0, 0, NULL) != TD_OK ||
        !td_cbb_finish(&cbb, &rec, &rec_len))
        abort();
    feed(c, rec, rec_len);
    free(rec);
}

static void run_neg_case(const neg_case *nc)
{
    trace_cfg t;
    trace_setup(&t, nc->sec);
    if (nc->sec == 4)
        section4_session(&t);
    if (nc->tweak != NULL)
        nc->tweak(&t.cfg);
    td_conn *c = start(&t.cfg);
    TD_REQUIRE(c != NULL);
    const uint8_t *out;
    size_t len;
    drain(c, &out, &len);
    td_rec_cipher rc;
    bool sealed = nc->at != AT_SH;
    if (nc->at == AT_FLIGHT || nc->at == AT_FLIGHT3) {
        bool sh4 = nc->sec == 4 && nc->at == AT_FLIGHT;
        feed(c, sh4 ? TD_VEC_DATA(4, 21, "complete record") : TD_VEC_DATA(3, 12, "complete record"),
             sh4 ? TD_VEC_LEN(4, 21, "complete record") : TD_VEC_LEN(3, 12, "complete record"));
        TD_REQUIRE(c->state == TD_HS_C_WAIT_EE);
        TD_REQUIRE(td_rec_cipher_init(&rc, g_crypto, c->suite, c->s_hs) == TD_OK);
    } else if (nc->at == AT_POST) {
        feed(c, VEC(3, 12, "complete record"));
        feed(c, VEC(3, 19, "complete record"));
        TD_REQUIRE(c->state == TD_HS_CONNECTED);
        TD_REQUIRE(td_rec_cipher_init(&rc, g_crypto, c->suite, c->s_ap) == TD_OK);
    }
    for (size_t i = 0; i < 4 && (nc->msgs[i].name != NULL || nc->msgs[i].raw != NULL); i++) {
        size_t mlen;
        uint8_t *msg = make_msg(&nc->msgs[i], &mlen);
        if (sealed)
            feed_sealed(c, &rc, msg, mlen);
        else
            feed_plain(c, msg, mlen);
        free(msg);
    }
    const td_status *st = td_conn_status(c);
    td_test_current = nc->name;
    /* AL-KEYS (A.1): once the handshake keys are on, our alert is protected. */
    const uint8_t *o;
    size_t olen, last = 0, at = 0;
    drain(c, &o, &olen);
    while (at + 5 <= olen) {
        last = at;
        at += 5 + (((size_t)o[at + 3] << 8) | o[at + 4]);
    }
    TD_EXPECT(at == olen && olen > 0);
    if (olen > 0)
        TD_EXPECT_EQ(o[last], c->write_protected ? TD_CT_APPLICATION_DATA : TD_CT_ALERT);
    if (nc->at != AT_SH)
        TD_EXPECT(c->write_protected);
    TD_EXPECT_EQ(st->phase, TD_PHASE_FAILED);
    TD_EXPECT_EQ(st->diag.rule, nc->rule);
    TD_EXPECT(st->alert_sent);
    TD_EXPECT_EQ(st->alert_sent_desc, nc->alert);
    if (st->diag.rule != nc->rule)
        fprintf(stderr, "  %s: got rule %s (%s)\n", nc->name,
                td_rule_get(st->diag.rule) ? td_rule_get(st->diag.rule)->id : "NONE",
                st->diag.text);
    if (sealed)
        td_rec_cipher_cleanup(&rc);
    td_conn_free(c);
}

static void test_negative_table(void)
{
    for (size_t i = 0; i < sizeof(k_neg) / sizeof(k_neg[0]); i++)
        run_neg_case(&k_neg[i]);
}

/* ---- knobs (bugs.def), 0-RTT after HRR, psk_ke, post-handshake ---- */

/* Parses the handshake message in the first record of |out|. */
static bool first_record_msg(const uint8_t *out, size_t len, td_msg *m, size_t *rec_len)
{
    td_diag d;
    if (len < 5)
        return false;
    size_t n = ((size_t)out[3] << 8) | out[4];
    if (5 + n > len || out[0] != TD_CT_HANDSHAKE)
        return false;
    if (rec_len != NULL)
        *rec_len = 5 + n;
    return td_msg_parse_handshake(out + 5, n, NULL, m, &d) == TD_OK;
}

static td_msg g_m;

static void test_knob_omit_supported_versions(void)
{
    trace_cfg t;
    trace_setup(&t, 3);
    t.cfg.bugs.omit_supported_versions = true;
    td_conn *c = start(&t.cfg);
    TD_REQUIRE(c != NULL);
    const uint8_t *out;
    size_t len;
    drain(c, &out, &len);
    TD_REQUIRE(first_record_msg(out, len, &g_m, NULL));
    TD_EXPECT(td_exts_find_const(&g_m.u.ch.exts, TD_EXT_SUPPORTED_VERSIONS) == NULL);
    TD_EXPECT(td_exts_find_const(&g_m.u.ch.exts, TD_EXT_KEY_SHARE) != NULL);
    td_conn_free(c);
}

static void test_knob_duplicate_key_share(void)
{
    trace_cfg t;
    trace_setup(&t, 3);
    t.cfg.bugs.duplicate_key_share = true;
    td_conn *c = start(&t.cfg);
    TD_REQUIRE(c != NULL);
    const uint8_t *out;
    size_t len;
    drain(c, &out, &len);
    TD_REQUIRE(first_record_msg(out, len, &g_m, NULL));
    TD_EXPECT_EQ(g_m.u.ch.ext.num_key_shares, 2);
    TD_EXPECT_EQ(g_m.u.ch.ext.key_shares[1].group, g_m.u.ch.ext.key_shares[0].group);
    td_conn_free(c);
}

static void test_knob_psk_first(void)
{
    trace_cfg t;
    trace_setup(&t, 4);
    section4_session(&t);
    t.cfg.bugs.psk_first = true;
    td_conn *c = start(&t.cfg);
    TD_REQUIRE(c != NULL);
    const uint8_t *out;
    size_t len;
    drain(c, &out, &len);
    TD_REQUIRE(len > 5 && out[0] == TD_CT_HANDSHAKE);
    /* The codec refuses such a ClientHello (PSK-NOT-LAST): that is the point. */
    td_msg m;
    td_diag d;
    TD_EXPECT(td_msg_parse_handshake(out + 5, len - 5, NULL, &m, &d) == TD_ERR_ILLEGAL_PARAMETER);
    TD_EXPECT_EQ(d.rule, TD_RULE_PSK_NOT_LAST);
    td_conn_free(c);
}

/* §4 (0-RTT) client answered with §5's HelloRetryRequest (P-256, cookie):
 * ClientHello2 in plaintext, early_data removed, cookie echoed, one P-256
 * share, and a binder recomputed over message_hash(CH1) + HRR + CH2 prefix. */
static td_conn *section4_then_hrr(trace_cfg *t, const uint8_t **ch2, size_t *ch2_len)
{
    trace_setup(t, 4);
    section4_session(t);
    t->cfg.early_data = TD_VEC_DATA(4, 8, "payload");
    t->cfg.early_data_len = TD_VEC_LEN(4, 8, "payload");
    td_conn *c = start(&t->cfg);
    if (c == NULL)
        return NULL;
    const uint8_t *out;
    size_t len;
    drain(c, &out, &len);
    feed(c, VEC(5, 4, "complete record"));
    drain(c, ch2, ch2_len);
    return c;
}

static void test_hrr_after_0rtt(void)
{
    trace_cfg t;
    const uint8_t *out;
    size_t len, rec_len;
    td_conn *c = section4_then_hrr(&t, &out, &len);
    TD_REQUIRE(c != NULL);
    TD_REQUIRE(first_record_msg(out, len, &g_m, &rec_len));
    TD_EXPECT_EQ(rec_len, len);
    TD_EXPECT(out[1] == 3 && out[2] == 3); /* §5.1: 0x0303 for ClientHello2 */
    const td_client_hello *ch = &g_m.u.ch;
    TD_EXPECT(td_exts_find_const(&ch->exts, TD_EXT_EARLY_DATA) == NULL);
    TD_EXPECT(td_exts_find_const(&ch->exts, TD_EXT_COOKIE) != NULL);
    TD_EXPECT_EQ(ch->ext.num_key_shares, 1);
    TD_EXPECT_EQ(ch->ext.key_shares[0].group, 0x0017);
    TD_EXPECT_EQ(ch->exts.list[ch->exts.num - 1].type, TD_EXT_PRE_SHARED_KEY);
    TD_EXPECT_EQ(td_conn_status(c)->phase, TD_PHASE_HANDSHAKE);
    /* The binder, recomputed independently. */
    td_transcript tr;
    td_keysched ks;
    uint8_t hash[32], binder_key[32], binder[32], zero[32] = {0};
    size_t prefix;
    td_transcript_init(&tr, g_crypto, 0);
    td_keysched_init(&ks, g_crypto, TD_HASH_SHA256);
    TD_EXPECT(td_transcript_add(&tr, VEC(4, 4, "payload")) == TD_OK);
    TD_EXPECT(td_transcript_set_hash(&tr, TD_HASH_SHA256) == TD_OK);
    TD_EXPECT(td_transcript_hrr_replace(&tr) == TD_OK);
    TD_EXPECT(td_transcript_add(&tr, VEC(5, 3, "ServerHello")) == TD_OK);
    TD_EXPECT(td_msg_ch_binder_prefix_len(&g_m, out + 5, &prefix) == TD_OK);
    TD_EXPECT(td_transcript_peek_with(&tr, out + 5, prefix, hash, NULL) == TD_OK);
    TD_EXPECT(td_keysched_early(&ks, TD_VEC_DATA(3, 47, "expanded"), 32) == TD_OK);
    TD_EXPECT(td_keysched_derive(&ks, TD_KEYSCHED_RES_BINDER, zero, binder_key) == TD_OK);
    TD_EXPECT(td_keysched_binder(g_crypto, TD_HASH_SHA256, binder_key, hash, binder) == TD_OK);
    TD_EXPECT_EQ(ch->ext.num_psk_binders, 1);
    TD_EXPECT_MEM(td_cbs_data(&ch->ext.psk_binders[0]), td_cbs_len(&ch->ext.psk_binders[0]), binder,
                  32);
    td_transcript_cleanup(&tr);
    td_keysched_cleanup(&ks);
    td_conn_free(c);
}

static void test_knob_early_data_in_ch2(void)
{
    trace_cfg t;
    trace_setup(&t, 4);
    section4_session(&t);
    t.cfg.early_data = TD_VEC_DATA(4, 8, "payload");
    t.cfg.early_data_len = TD_VEC_LEN(4, 8, "payload");
    t.cfg.bugs.early_data_in_ch2 = true;
    td_conn *c = start(&t.cfg);
    TD_REQUIRE(c != NULL);
    const uint8_t *out;
    size_t len;
    drain(c, &out, &len);
    feed(c, VEC(5, 4, "complete record"));
    drain(c, &out, &len);
    TD_REQUIRE(first_record_msg(out, len, &g_m, NULL));
    TD_EXPECT(td_exts_find_const(&g_m.u.ch.exts, TD_EXT_EARLY_DATA) != NULL);
    td_conn_free(c);
}

static void hrr_knob(void (*set)(td_bugs *b), td_msg *ch1, td_msg *ch2, bool *ok)
{
    trace_cfg t;
    trace_setup(&t, 5);
    set(&t.cfg.bugs);
    *ok = false;
    td_conn *c = start(&t.cfg);
    if (c == NULL)
        return;
    const uint8_t *out;
    size_t len;
    drain(c, &out, &len);
    /* ch1's views point into the connection's output: copy first. */
    static uint8_t ch1_bytes[1024];
    memcpy(ch1_bytes, out, len < sizeof(ch1_bytes) ? len : sizeof(ch1_bytes));
    bool ok1 = first_record_msg(ch1_bytes, len, ch1, NULL);
    feed(c, VEC(5, 4, "complete record"));
    drain(c, &out, &len);
    static uint8_t ch2_bytes[1024];
    memcpy(ch2_bytes, out, len < sizeof(ch2_bytes) ? len : sizeof(ch2_bytes));
    *ok = ok1 && first_record_msg(ch2_bytes, len, ch2, NULL);
    td_conn_free(c);
}

static void set_change_suites(td_bugs *b)
{
    b->ch2_change_suites = true;
}
static void set_wrong_group(td_bugs *b)
{
    b->ch2_wrong_share_group = true;
}
static td_msg g_m1;

static void test_knob_ch2_change_suites(void)
{
    bool ok;
    hrr_knob(set_change_suites, &g_m1, &g_m, &ok);
    TD_REQUIRE(ok);
    TD_EXPECT_EQ(g_m1.u.ch.num_cipher_suites, 3);
    TD_EXPECT_EQ(g_m.u.ch.num_cipher_suites, 2);
    TD_EXPECT_EQ(g_m.u.ch.cipher_suites[0], g_m1.u.ch.cipher_suites[1]);
}

static void test_knob_ch2_wrong_share_group(void)
{
    bool ok;
    hrr_knob(set_wrong_group, &g_m1, &g_m, &ok);
    TD_REQUIRE(ok);
    TD_EXPECT_EQ(g_m.u.ch.ext.num_key_shares, 1);
    TD_EXPECT(g_m.u.ch.ext.key_shares[0].group != 0x0017);
}

static void test_knob_no_ccs_compat(void)
{
    trace_cfg t;
    trace_setup(&t, 7);
    t.cfg.bugs.no_ccs_compat = true;
    td_conn *c = start(&t.cfg);
    TD_REQUIRE(c != NULL);
    const uint8_t *out;
    size_t len;
    drain(c, &out, &len);
    feed(c, VEC(7, 6, "complete record"));
    feed(c, VEC(7, 7, "complete record"));
    feed(c, VEC(7, 20, "complete record"));
    drain(c, &out, &len);
    /* Only the Finished record: the CCS is not part of the transcript. */
    EXPECT_VEC(out, len, 7, 43, "complete record");
    td_conn_free(c);
}

/* Opens the one record in |out| with |secret| into |buf|. */
static bool open_record_seq(const uint8_t *secret, uint64_t seq, const uint8_t *out, size_t len,
                            uint8_t *buf, td_cbs *content)
{
    td_rec_cipher rc;
    td_record rec;
    td_diag d;
    uint8_t inner;
    if (td_rec_cipher_init(&rc, g_crypto, td_suite_get(0x1301), secret) != TD_OK)
        return false;
    rc.seq = seq;
    bool ok = td_rec_parse(out, len, true, &rec, &d) == TD_OK && rec.total_len == len &&
              td_rec_open(&rc, &rec, buf, rec.fragment_len, &inner, content, &d) == TD_OK &&
              inner == TD_CT_HANDSHAKE;
    td_rec_cipher_cleanup(&rc);
    return ok;
}

static bool open_record(const uint8_t *secret, const uint8_t *out, size_t len, uint8_t *buf,
                        td_cbs *content)
{
    return open_record_seq(secret, 0, out, len, buf, content);
}

static void test_knob_bad_finished(void)
{
    trace_cfg t;
    trace_setup(&t, 3);
    t.cfg.bugs.bad_finished = true;
    td_conn *c = start(&t.cfg);
    TD_REQUIRE(c != NULL);
    const uint8_t *out;
    size_t len;
    drain(c, &out, &len);
    feed(c, VEC(3, 12, "complete record"));
    feed(c, VEC(3, 19, "complete record"));
    drain(c, &out, &len);
    uint8_t buf[128];
    td_cbs content;
    TD_REQUIRE(open_record(TD_VEC_DATA(3, 8, "expanded"), out, len, buf, &content));
    const uint8_t *good = TD_VEC_DATA(3, 40, "Finished");
    TD_REQUIRE(td_cbs_len(&content) == 36);
    TD_EXPECT_EQ(td_cbs_data(&content)[4], good[4] ^ 0x80);
    TD_EXPECT(memcmp(td_cbs_data(&content) + 5, good + 5, 31) == 0);
    td_conn_free(c);
}

static void test_knob_bad_signature(void)
{
    trace_cfg t;
    trace_setup(&t, 6);
    size_t num_chain = 0;
    td_der *chain = load_pem_certs(TD_VECTORS_DIR "/certs/client-p256.pem", &num_chain);
    td_pkey *key = load_key(TD_VECTORS_DIR "/certs/client-p256.key");
    td_pkey *pub = NULL;
    TD_REQUIRE(chain != NULL && key != NULL);
    TD_REQUIRE(td_pkey_from_cert_der(g_crypto, chain[0].data, chain[0].len, &pub) == TD_OK);
    td_cert_key ck = {.chain = chain, .num_chain = num_chain, .key = key};
    t.cfg.certs = &ck;
    t.cfg.num_certs = 1;
    for (int bad = 0; bad < 2; bad++) {
        t.cfg.bugs.bad_signature = bad;
        td_conn *c = start(&t.cfg);
        TD_REQUIRE(c != NULL);
        const uint8_t *out;
        size_t len;
        drain(c, &out, &len);
        feed(c, VEC(6, 12, "complete record"));
        /* The CertificateVerify content: over the transcript up to our Certificate. */
        feed(c, VEC(6, 20, "complete record"));
        drain(c, &out, &len);
        uint8_t *buf = malloc(len);
        td_cbs content, rest, body, whole;
        uint8_t type;
        TD_REQUIRE(open_record(c->c_hs, out, len, buf, &content));
        rest = content;
        td_transcript tr;
        td_transcript_init(&tr, g_crypto, 0);
        TD_EXPECT(td_transcript_add(&tr, VEC(6, 1, "ClientHello")) == TD_OK);
        TD_EXPECT(td_transcript_set_hash(&tr, TD_HASH_SHA256) == TD_OK);
        static const struct {
            int step;
            const char *name;
        } server_msgs[] = {{5, "ServerHello"},         {14, "EncryptedExtensions"},
                           {15, "CertificateRequest"}, {16, "Certificate"},
                           {17, "CertificateVerify"},  {19, "Finished"}};
        for (size_t i = 0; i < 6; i++)
            TD_EXPECT(td_transcript_add(&tr, VEC(6, server_msgs[i].step, server_msgs[i].name)) ==
                      TD_OK);
        TD_EXPECT(td_msg_next(&rest, &type, &body, &whole) == TD_OK && type == TD_MSG_CERTIFICATE);
        TD_EXPECT(td_transcript_add(&tr, td_cbs_data(&whole), td_cbs_len(&whole)) == TD_OK);
        TD_EXPECT(td_msg_next(&rest, &type, &body, &whole) == TD_OK &&
                  type == TD_MSG_CERTIFICATE_VERIFY);
        td_msg m;
        td_diag d;
        TD_EXPECT(td_msg_parse(type, td_cbs_data(&body), td_cbs_len(&body), NULL, &m, &d) == TD_OK);
        uint8_t cv[64 + 34 + 32];
        memset(cv, 0x20, 64);
        memcpy(cv + 64, "TLS 1.3, client CertificateVerify", 33);
        cv[97] = 0;
        TD_EXPECT(td_transcript_peek(&tr, cv + 98, NULL) == TD_OK);
        td_err err = td_verify(g_crypto, pub, m.u.cv.algorithm, cv, sizeof(cv),
                               td_cbs_data(&m.u.cv.signature), td_cbs_len(&m.u.cv.signature));
        TD_EXPECT_EQ(err, bad ? TD_ERR_DECRYPT : TD_OK);
        td_transcript_cleanup(&tr);
        free(buf);
        td_conn_free(c);
    }
    td_pkey_free(pub);
    td_pkey_free(key);
    td_der_list_free(chain, num_chain);
}

/* psk_ke (§4.2.9): the §4 ServerHello without key_share; the server's
 * Finished is computed here from the connection's own transcript. */
static void test_psk_ke_resumption(void)
{
    trace_cfg t;
    trace_setup(&t, 4);
    section4_session(&t);
    t.cfg.psk_ke = true;
    t.cfg.early_data = TD_VEC_DATA(4, 8, "payload");
    t.cfg.early_data_len = TD_VEC_LEN(4, 8, "payload");
    td_conn *c = start(&t.cfg);
    TD_REQUIRE(c != NULL);
    const uint8_t *out;
    size_t len;
    drain(c, &out, &len);
    neg_msg sh = SH4(m_no_ks);
    size_t n;
    uint8_t *msg = make_msg(&sh, &n);
    feed_plain(c, msg, n);
    free(msg);
    TD_REQUIRE(c->state == TD_HS_C_WAIT_EE);
    TD_EXPECT_EQ(td_conn_status(c)->group, 0);
    td_rec_cipher rc;
    TD_REQUIRE(td_rec_cipher_init(&rc, g_crypto, c->suite, c->s_hs) == TD_OK);
    feed_sealed(c, &rc, VEC(4, 23, "EncryptedExtensions"));
    TD_REQUIRE(c->state == TD_HS_C_WAIT_FINISHED);
    uint8_t fin[36] = {20, 0, 0, 32}, hash[32];
    TD_EXPECT(td_transcript_peek(&c->transcript, hash, NULL) == TD_OK);
    TD_EXPECT(td_keysched_finished(g_crypto, TD_HASH_SHA256, c->s_hs, hash, fin + 4) == TD_OK);
    feed_sealed(c, &rc, fin, sizeof(fin));
    const td_status *st = td_conn_status(c);
    TD_EXPECT_EQ(st->phase, TD_PHASE_CONNECTED);
    TD_EXPECT(st->resumed && st->early_data_accepted);
    /* EndOfEarlyData under the early keys, then Finished under c_hs. */
    drain(c, &out, &len);
    uint8_t buf[128];
    td_cbs content;
    TD_REQUIRE(len > 26);
    /* Sequence 1: the early data record was 0. */
    TD_EXPECT(open_record_seq(c->c_early, 1, out, 26, buf, &content) && td_cbs_len(&content) == 4 &&
              td_cbs_data(&content)[0] == TD_MSG_END_OF_EARLY_DATA);
    TD_EXPECT(open_record(c->c_hs, out + 26, len - 26, buf, &content) &&
              td_cbs_len(&content) == 36 && td_cbs_data(&content)[0] == TD_MSG_FINISHED);
    td_rec_cipher_cleanup(&rc);
    td_conn_free(c);
}

/* §4.6.3: a KeyUpdate asking for ours: we answer under the old keys, then
 * switch; and read with the next server secret. */
static void test_post_key_update(void)
{
    trace_cfg t;
    trace_setup(&t, 3);
    td_conn *c = start(&t.cfg);
    TD_REQUIRE(c != NULL);
    const uint8_t *out;
    size_t len;
    drain(c, &out, &len);
    feed(c, VEC(3, 12, "complete record"));
    feed(c, VEC(3, 19, "complete record"));
    drain(c, &out, &len);
    TD_REQUIRE(c->state == TD_HS_CONNECTED);
    uint8_t s_ap0[32], c_ap0[32];
    memcpy(s_ap0, c->s_ap, 32);
    memcpy(c_ap0, c->c_ap, 32);
    td_rec_cipher rc;
    TD_REQUIRE(td_rec_cipher_init(&rc, g_crypto, c->suite, s_ap0) == TD_OK);
    static const uint8_t ku[5] = {24, 0, 0, 1, 1};
    feed_sealed(c, &rc, ku, sizeof(ku));
    TD_EXPECT_EQ(td_conn_status(c)->phase, TD_PHASE_CONNECTED);
    drain(c, &out, &len);
    uint8_t buf[64];
    td_cbs content;
    TD_EXPECT(open_record(c_ap0, out, len, buf, &content) && td_cbs_len(&content) == 5 &&
              td_cbs_data(&content)[0] == TD_MSG_KEY_UPDATE && td_cbs_data(&content)[4] == 0);
    uint8_t next[32];
    TD_EXPECT(td_keysched_next_traffic_secret(g_crypto, TD_HASH_SHA256, c_ap0, next) == TD_OK);
    TD_EXPECT_MEM(c->c_ap, 32, next, 32);
    TD_EXPECT(td_keysched_next_traffic_secret(g_crypto, TD_HASH_SHA256, s_ap0, next) == TD_OK);
    TD_EXPECT_MEM(c->s_ap, 32, next, 32);
    td_rec_cipher_cleanup(&rc);
    td_conn_free(c);
}

/* TOL-HS-FRAGMENTATION: the §3 server bytes fed one at a time. */
static void test_section3_byte_by_byte(void)
{
    trace_cfg t;
    trace_setup(&t, 3);
    td_conn *c = start(&t.cfg);
    TD_REQUIRE(c != NULL);
    const uint8_t *out;
    size_t len;
    drain(c, &out, &len);
    const uint8_t *sh = TD_VEC_DATA(3, 12, "complete record"),
                  *fl = TD_VEC_DATA(3, 19, "complete record");
    for (size_t i = 0; i < TD_VEC_LEN(3, 12, "complete record"); i++)
        feed(c, sh + i, 1);
    for (size_t i = 0; i < TD_VEC_LEN(3, 19, "complete record"); i++)
        feed(c, fl + i, 1);
    drain(c, &out, &len);
    EXPECT_VEC(out, len, 3, 41, "complete record");
    td_conn_free(c);
}

/* Determinism: same seed, same bytes; another seed, other bytes. Defaults
 * (no inject) give a compat-free ClientHello with one x25519 share. */
static void test_default_hello_deterministic(void)
{
    static const uint8_t seed_a[] = "seed-a", seed_b[] = "seed-b";
    td_config cfg = {.role = TD_ROLE_CLIENT, .crypto = g_crypto, .seed = seed_a, .seed_len = 6};
    uint8_t first[1024];
    size_t first_len = 0;
    for (int i = 0; i < 3; i++) {
        cfg.seed = i == 2 ? seed_b : seed_a;
        td_conn *c = start(&cfg);
        TD_REQUIRE(c != NULL);
        const uint8_t *out;
        size_t len;
        drain(c, &out, &len);
        TD_REQUIRE(len > 0 && len <= sizeof(first));
        if (i == 0) {
            memcpy(first, out, len);
            first_len = len;
            TD_REQUIRE(first_record_msg(out, len, &g_m, NULL));
            TD_EXPECT_EQ(td_cbs_len(&g_m.u.ch.legacy_session_id), 0);
            TD_EXPECT_EQ(g_m.u.ch.ext.num_key_shares, 1);
            TD_EXPECT_EQ(g_m.u.ch.ext.key_shares[0].group, TD_GROUP_X25519);
            TD_EXPECT(td_exts_find_const(&g_m.u.ch.exts, TD_EXT_SERVER_NAME) == NULL);
            TD_EXPECT(out[1] == 3 && out[2] == 1); /* §5.1: 0x0301 for ClientHello1 */
        } else if (i == 1) {
            TD_EXPECT_MEM(out, len, first, first_len);
        } else {
            TD_EXPECT(len != first_len || memcmp(out, first, len) != 0);
        }
        td_conn_free(c);
    }
}

static void test_drbg_primed(void)
{
    static const uint8_t salt[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    td_drbg d;
    uint8_t out[40];
    td_drbg_init_primed(&d, salt, sizeof(salt), "x");
    td_drbg_bytes(&d, out, sizeof(out));
    TD_EXPECT_MEM(out, 32, salt, 32);
    td_drbg_cleanup(&d);
}

/* ---- tolerance (table 3) and the key log ---- */

static void m_nst_unknown_ext(td_msg *m)
{
    ins_raw(&m->u.nst.exts, 0x1234, k_one, 1);
}
static void m_nst_lifetime_max(td_msg *m)
{
    m->u.nst.ticket_lifetime = 604800;
}
static void m_nst_lifetime_zero(td_msg *m)
{
    m->u.nst.ticket_lifetime = 0;
}
static const uint8_t k_oid_filters[9] = {0, 7, 3, 0x2a, 0x03, 0x04, 0, 1, 0xff};
static void m_cr_unknown_exts(td_msg *m)
{
    ins_raw(&m->u.cr.exts, 0x1234, k_one, 1);
    ins_raw(&m->u.cr.exts, TD_EXT_OID_FILTERS, k_oid_filters, sizeof(k_oid_filters));
}

/* Runs §3 to |at| and feeds |msg| sealed; returns the connection. */
static td_conn *section3_feed(trace_cfg *t, neg_at at, neg_msg msgs[2])
{
    trace_setup(t, 3);
    td_conn *c = start(&t->cfg);
    if (c == NULL)
        return NULL;
    const uint8_t *out;
    size_t len;
    drain(c, &out, &len);
    feed(c, VEC(3, 12, "complete record"));
    if (at == AT_POST)
        feed(c, VEC(3, 19, "complete record"));
    td_rec_cipher rc;
    if (td_rec_cipher_init(&rc, g_crypto, c->suite, at == AT_POST ? c->s_ap : c->s_hs) != TD_OK)
        abort();
    for (int i = 0; i < 2 && msgs[i].name != NULL; i++) {
        size_t n;
        uint8_t *m = make_msg(&msgs[i], &n);
        feed_sealed(c, &rc, m, n);
        free(m);
    }
    td_rec_cipher_cleanup(&rc);
    return c;
}

static void test_tolerance(void)
{
    trace_cfg t;
    td_session s;
    /* TOL-UNKNOWN-EXT-CR-NST: unknown NewSessionTicket extensions are ignored. */
    td_conn *c = section3_feed(&t, AT_POST, (neg_msg[2]){NST3(m_nst_unknown_ext)});
    TD_REQUIRE(c != NULL);
    TD_EXPECT_EQ(td_conn_status(c)->phase, TD_PHASE_CONNECTED);
    TD_EXPECT(td_conn_session(c, &s) && s.max_early_data == 0x400);
    td_conn_free(c);
    /* §4.6.1: exactly 7 days is allowed; 0 means "do not keep". */
    c = section3_feed(&t, AT_POST, (neg_msg[2]){NST3(m_nst_lifetime_max)});
    TD_REQUIRE(c != NULL);
    TD_EXPECT(td_conn_session(c, &s) && s.lifetime_s == 604800);
    td_conn_free(c);
    c = section3_feed(&t, AT_POST, (neg_msg[2]){NST3(m_nst_lifetime_zero)});
    TD_REQUIRE(c != NULL);
    TD_EXPECT_EQ(td_conn_status(c)->phase, TD_PHASE_CONNECTED);
    TD_EXPECT(!td_conn_session(c, &s));
    td_conn_free(c);
    /* TOL-UNKNOWN-EXT-CR-NST, TOL-OIDF-UNKNOWN: a CertificateRequest with an
     * unknown extension and an unknown OID filter is taken. */
    c = section3_feed(&t, AT_FLIGHT, (neg_msg[2]){EE3(NULL), CR6(m_cr_unknown_exts)});
    TD_REQUIRE(c != NULL);
    TD_EXPECT_EQ(td_conn_status(c)->phase, TD_PHASE_HANDSHAKE);
    TD_EXPECT_EQ(c->state, TD_HS_C_WAIT_CERT);
    TD_EXPECT(c->cert_requested);
    td_conn_free(c);
}

typedef struct keylog_sink {
    char text[2048];
    size_t len;
} keylog_sink;

static void keylog_cb(void *arg, const char *line)
{
    keylog_sink *k = arg;
    size_t n = strlen(line);
    if (k->len + n < sizeof(k->text)) {
        memcpy(k->text + k->len, line, n);
        k->len += n;
    }
}

static void hex(char *out, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

/* NSS key log: the four traffic secrets and the exporter secret of §3. */
static void test_keylog_section3(void)
{
    trace_cfg t;
    keylog_sink k = {.len = 0};
    trace_setup(&t, 3);
    t.cfg.keylog = keylog_cb;
    t.cfg.keylog_arg = &k;
    td_conn *c = start(&t.cfg);
    TD_REQUIRE(c != NULL);
    const uint8_t *out;
    size_t len;
    drain(c, &out, &len);
    feed(c, VEC(3, 12, "complete record"));
    feed(c, VEC(3, 19, "complete record"));
    TD_EXPECT_EQ(td_conn_status(c)->phase, TD_PHASE_CONNECTED);
    static const struct {
        const char *label;
        int step;
    } want[] = {{"CLIENT_HANDSHAKE_TRAFFIC_SECRET", 8},
                {"SERVER_HANDSHAKE_TRAFFIC_SECRET", 9},
                {"CLIENT_TRAFFIC_SECRET_0", 20},
                {"SERVER_TRAFFIC_SECRET_0", 21},
                {"EXPORTER_SECRET", 22}};
    char rnd[65], sec[65], line[200];
    hex(rnd, t.random, 32);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        hex(sec, TD_VEC_DATA(3, want[i].step, "expanded"), 32);
        snprintf(line, sizeof(line), "%s %s %s\n", want[i].label, rnd, sec);
        TD_EXPECT(strstr(k.text, line) != NULL);
    }
    td_conn_free(c);
}

int main(void)
{
    if (td_crypto_new(&g_crypto) != TD_OK || td_vec_load() != 0) {
        fprintf(stderr, "fixture setup failed\n");
        return 1;
    }
    /* Pass 0 without the crypto memo, passes 1 and 2 with it (pass 2 hits
     * what pass 1 stored): the RFC 8448 traces are matched byte for byte
     * either way, so the memo is transparent (crypto.h). */
    for (int pass = 0; pass < 3; pass++) {
        if (td_crypto_set_memo(g_crypto, pass > 0) != TD_OK)
            return 1;
        TD_RUN(test_section3_full_handshake);
        TD_RUN(test_section4_resumed_0rtt);
        TD_RUN(test_section5_hrr);
        TD_RUN(test_section6_client_auth);
        TD_RUN(test_section7_compat);
        TD_RUN(test_negative_table);
        TD_RUN(test_knob_omit_supported_versions);
        TD_RUN(test_knob_duplicate_key_share);
        TD_RUN(test_knob_psk_first);
        TD_RUN(test_hrr_after_0rtt);
        TD_RUN(test_knob_early_data_in_ch2);
        TD_RUN(test_knob_ch2_change_suites);
        TD_RUN(test_knob_ch2_wrong_share_group);
        TD_RUN(test_knob_no_ccs_compat);
        TD_RUN(test_knob_bad_finished);
        TD_RUN(test_knob_bad_signature);
        TD_RUN(test_psk_ke_resumption);
        TD_RUN(test_post_key_update);
        TD_RUN(test_section3_byte_by_byte);
        TD_RUN(test_default_hello_deterministic);
        TD_RUN(test_drbg_primed);
        TD_RUN(test_tolerance);
        TD_RUN(test_keylog_section3);
    }
    td_crypto_memo_stats st;
    td_crypto_memo_stats_get(g_crypto, TD_MEMO_ECDH, &st);
    TD_EXPECT(st.hits > 0);

    td_vec_free();
    td_crypto_free(g_crypto);
    return td_test_report("test_client");
}
