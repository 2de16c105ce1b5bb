/* tests/unit/test_keysched.c -- engine/keysched.c: HKDF-Expand-Label and
 * the secret chain against the RFC 8448 traces, the transcript (buffering,
 * HelloRetryRequest message_hash), binders, Finished, resumption PSK,
 * KeyUpdate and exporters against HKDF computed directly, key log lines. */
#include "td_test.h"
#include "td_vectors.h"
#include "tlsdrill/keysched.h"
#include "tlsdrill/msg.h"

static td_crypto *g_crypto;

#define H32 32
#define V(sec, step, name) TD_VEC_DATA(sec, step, name)
#define VL(sec, step, name) TD_VEC_LEN(sec, step, name)

/* The binder prefix as the engine gets it: parse the ClientHello with the
 * codec, then td_msg_ch_binder_prefix_len. td_msg is ~6.5 KB: on the heap. */
static td_err binder_prefix_len(const uint8_t *ch, size_t len, size_t *out, td_diag *diag)
{
    td_msg *m = malloc(sizeof(*m));
    if (m == NULL)
        return TD_ERR_NOMEM;
    td_err ret = td_msg_parse_handshake(ch, len, NULL, m, diag);
    if (ret == TD_OK)
        ret = td_msg_ch_binder_prefix_len(m, ch, out);
    free(m);
    return ret;
}

/* HkdfLabel built by hand for the independent computations below. */
static size_t manual_info(uint8_t *out, uint16_t len, const char *label, const uint8_t *ctx,
                          size_t ctx_len)
{
    size_t n = 0, ll = strlen(label);
    out[n++] = (uint8_t)(len >> 8);
    out[n++] = (uint8_t)len;
    out[n++] = (uint8_t)(6 + ll);
    memcpy(out + n, "tls13 ", 6);
    memcpy(out + n + 6, label, ll);
    n += 6 + ll;
    out[n++] = (uint8_t)ctx_len;
    if (ctx_len)
        memcpy(out + n, ctx, ctx_len);
    return n + ctx_len;
}

/* ---- §7.1 primitives against §3 ---- */

static void test_hkdf_label_vectors(void)
{
    /* §3 step 6: derive secret for handshake "tls13 derived". */
    uint8_t info[TD_KEYSCHED_MAX_HKDF_LABEL_LEN], out[H32];
    size_t n = 0;
    TD_REQUIRE(td_keysched_hkdf_label(32, (const uint8_t *)"derived", 7, V(3, 6, "hash"), 32, info,
                                sizeof(info), &n) == TD_OK);
    TD_EXPECT_MEM(info, n, V(3, 6, "info"), VL(3, 6, "info"));
    TD_EXPECT(td_keysched_expand_label(g_crypto, TD_HASH_SHA256, V(3, 6, "PRK"), "derived",
                                 V(3, 6, "hash"), 32, out, 32) == TD_OK);
    TD_EXPECT_MEM(out, 32, V(3, 6, "expanded"), 32);
    /* Derive-Secret with the transcript hash: §3 step 8, "c hs traffic". */
    TD_EXPECT(td_keysched_derive_secret(g_crypto, TD_HASH_SHA256, V(3, 8, "PRK"), "c hs traffic",
                                  V(3, 8, "hash"), out) == TD_OK);
    TD_EXPECT_MEM(out, 32, V(3, 8, "expanded"), 32);
    TD_EXPECT(td_keysched_derive_secret_empty(g_crypto, TD_HASH_SHA256, V(3, 10, "PRK"), "derived",
                                        out) == TD_OK);
    TD_EXPECT_MEM(out, 32, V(3, 10, "expanded"), 32);
    /* Traffic keys, §3 step 13 (server handshake write keys). */
    uint8_t key[16], iv[12];
    TD_EXPECT(td_keysched_traffic_keys(g_crypto, td_suite_get(0x1301), V(3, 13, "PRK"), key, iv) == TD_OK);
    TD_EXPECT_MEM(key, 16, V(3, 13, "key expanded"), 16);
    TD_EXPECT_MEM(iv, 12, V(3, 13, "iv expanded"), 12);
    TD_REQUIRE(td_keysched_hkdf_label(16, (const uint8_t *)"key", 3, NULL, 0, info, sizeof(info), &n) == TD_OK);
    TD_EXPECT_MEM(info, n, V(3, 13, "key info"), VL(3, 13, "key info"));
}

static void test_hkdf_label_limits(void)
{
    uint8_t label[256], ctx[256], info[TD_KEYSCHED_MAX_HKDF_LABEL_LEN + 8];
    size_t n = 0;
    memset(label, 'a', sizeof(label));
    memset(ctx, 1, sizeof(ctx));
    /* §7.1: label<7..255> holds "tls13 " + Label, context<0..255>. */
    TD_EXPECT(td_keysched_hkdf_label(32, label, 249, ctx, 255, info, sizeof(info), &n) == TD_OK);
    TD_EXPECT_EQ(n, TD_KEYSCHED_MAX_HKDF_LABEL_LEN);
    TD_EXPECT_EQ(info[2], 255);
    TD_EXPECT_EQ(td_keysched_hkdf_label(32, label, 250, ctx, 0, info, sizeof(info), &n), TD_ERR_ARG);
    TD_EXPECT_EQ(td_keysched_hkdf_label(32, label, 1, ctx, 256, info, sizeof(info), &n), TD_ERR_ARG);
    TD_EXPECT_EQ(td_keysched_hkdf_label(32, label, 5, ctx, 5, info, 10, &n), TD_ERR_ARG);
    uint8_t out[32];
    /* L > 255 * HashLen cannot be expanded. */
    static uint8_t big[255 * 32 + 1];
    TD_EXPECT_EQ(td_keysched_expand_label(g_crypto, TD_HASH_SHA256, V(3, 6, "PRK"), "x", NULL, 0, big,
                                    sizeof(big)),
                 TD_ERR_ARG);
    TD_EXPECT_EQ(td_keysched_expand_label(g_crypto, TD_HASH_SHA256, V(3, 6, "PRK"), NULL, NULL, 0, out, 32),
                 TD_ERR_ARG);
}

/* ---- the secret chain, §3 ---- */

static void test_chain_section3(void)
{
    td_keysched ks;
    uint8_t out[H32], salt[H32];
    td_keysched_init(&ks, g_crypto, TD_HASH_SHA256);
    /* Out of order use is refused. */
    TD_EXPECT_EQ(td_keysched_handshake(&ks, NULL, 0), TD_ERR_ARG);
    TD_EXPECT_EQ(td_keysched_derive(&ks, TD_KEYSCHED_C_HS_TRAFFIC, V(3, 8, "hash"), out), TD_ERR_ARG);
    TD_REQUIRE(td_keysched_early(&ks, NULL, 0) == TD_OK);
    TD_EXPECT_MEM(ks.early, 32, V(3, 3, "secret"), 32);
    TD_EXPECT_EQ(td_keysched_master(&ks), TD_ERR_ARG);
    TD_EXPECT_EQ(td_keysched_derive(&ks, TD_KEYSCHED_C_AP_TRAFFIC, V(3, 20, "hash"), out), TD_ERR_ARG);
    TD_REQUIRE(td_keysched_derived_salt(&ks, TD_KEYSCHED_STAGE_EARLY, salt) == TD_OK);
    TD_EXPECT_MEM(salt, 32, V(3, 7, "salt"), 32);
    TD_REQUIRE(td_keysched_handshake(&ks, V(3, 7, "IKM"), 32) == TD_OK);
    TD_EXPECT_MEM(ks.handshake, 32, V(3, 7, "secret"), 32);
    TD_EXPECT(td_keysched_derive(&ks, TD_KEYSCHED_C_HS_TRAFFIC, V(3, 8, "hash"), out) == TD_OK);
    TD_EXPECT_MEM(out, 32, V(3, 8, "expanded"), 32);
    TD_EXPECT(td_keysched_derive(&ks, TD_KEYSCHED_S_HS_TRAFFIC, V(3, 9, "hash"), out) == TD_OK);
    TD_EXPECT_MEM(out, 32, V(3, 9, "expanded"), 32);
    TD_REQUIRE(td_keysched_master(&ks) == TD_OK);
    TD_EXPECT_MEM(ks.master, 32, V(3, 11, "secret"), 32);
    TD_EXPECT(td_keysched_derive(&ks, TD_KEYSCHED_C_AP_TRAFFIC, V(3, 20, "hash"), out) == TD_OK);
    TD_EXPECT_MEM(out, 32, V(3, 20, "expanded"), 32);
    TD_EXPECT(td_keysched_derive(&ks, TD_KEYSCHED_S_AP_TRAFFIC, V(3, 21, "hash"), out) == TD_OK);
    TD_EXPECT_MEM(out, 32, V(3, 21, "expanded"), 32);
    TD_EXPECT(td_keysched_derive(&ks, TD_KEYSCHED_EXPORTER, V(3, 22, "hash"), out) == TD_OK);
    TD_EXPECT_MEM(out, 32, V(3, 22, "expanded"), 32);
    TD_EXPECT(td_keysched_derive(&ks, TD_KEYSCHED_RES_MASTER, V(3, 43, "hash"), out) == TD_OK);
    TD_EXPECT_MEM(out, 32, V(3, 43, "expanded"), 32);
    TD_EXPECT_EQ(td_keysched_derive(&ks, (td_keysched_secret)99, V(3, 43, "hash"), out), TD_ERR_ARG);
    td_keysched_cleanup(&ks);
    /* Cleanup wipes every secret. */
    static const uint8_t zeros[TD_MAX_HASH_LEN];
    TD_EXPECT_MEM(ks.early, sizeof(zeros), zeros, sizeof(zeros));
    TD_EXPECT_MEM(ks.master, sizeof(zeros), zeros, sizeof(zeros));
    TD_EXPECT_EQ(ks.stage, TD_KEYSCHED_STAGE_NONE);
}

/* ---- transcript ---- */

static void test_transcript_buffered(void)
{
    /* §3: ClientHello arrives before the suite is known; hash of CH..SH is
     * the c hs traffic context. */
    const td_tsv_row *ch = td_vec(3, 1, "ClientHello"), *sh = td_vec(3, 5, "ServerHello");
    td_transcript t;
    uint8_t h[TD_MAX_HASH_LEN], direct[TD_MAX_HASH_LEN];
    size_t hl = 0;
    td_transcript_init(&t, g_crypto, 0);
    TD_EXPECT(!td_transcript_has_hash(&t));
    TD_REQUIRE(td_transcript_add(&t, ch->data, ch->len) == TD_OK);
    TD_EXPECT_EQ(td_transcript_peek(&t, h, &hl), TD_ERR_ARG);
    TD_REQUIRE(td_transcript_set_hash(&t, TD_HASH_SHA256) == TD_OK);
    TD_EXPECT(td_transcript_set_hash(&t, TD_HASH_SHA256) == TD_OK);
    TD_EXPECT_EQ(td_transcript_set_hash(&t, TD_HASH_SHA384), TD_ERR_ARG);
    TD_REQUIRE(td_transcript_peek(&t, h, &hl) == TD_OK);
    TD_EXPECT_EQ(hl, 32);
    TD_REQUIRE(td_hash(g_crypto, TD_HASH_SHA256, ch->data, ch->len, direct) == TD_OK);
    TD_EXPECT_MEM(h, 32, direct, 32);
    TD_REQUIRE(td_transcript_add(&t, sh->data, sh->len) == TD_OK);
    TD_REQUIRE(td_transcript_peek(&t, h, NULL) == TD_OK);
    TD_EXPECT_MEM(h, 32, V(3, 8, "hash"), 32);
    /* peek_with leaves the transcript alone. */
    TD_REQUIRE(td_transcript_peek_with(&t, (const uint8_t *)"x", 1, direct, NULL) == TD_OK);
    TD_EXPECT(memcmp(direct, h, 32) != 0);
    TD_REQUIRE(td_transcript_peek(&t, direct, NULL) == TD_OK);
    TD_EXPECT_MEM(direct, 32, h, 32);
    /* Not a HelloRetryRequest situation: two messages. */
    TD_EXPECT_EQ(td_transcript_hrr_replace(&t), TD_ERR_ARG);
    td_transcript_cleanup(&t);
}

static void test_transcript_hrr_section5(void)
{
    const td_tsv_row *ch1 = td_vec(5, 1, "ClientHello"), *hrr = td_vec(5, 3, "ServerHello");
    const td_tsv_row *ch2 = td_vec(5, 6, "ClientHello"), *sh = td_vec(5, 10, "ServerHello");
    td_transcript t;
    uint8_t h[TD_MAX_HASH_LEN];
    td_transcript_init(&t, g_crypto, 0);
    TD_REQUIRE(td_transcript_add(&t, ch1->data, ch1->len) == TD_OK);
    TD_EXPECT_EQ(td_transcript_hrr_replace(&t), TD_ERR_ARG); /* hash not known yet */
    TD_REQUIRE(td_transcript_set_hash(&t, TD_HASH_SHA256) == TD_OK);
    TD_REQUIRE(td_transcript_hrr_replace(&t) == TD_OK);
    TD_EXPECT_EQ(td_transcript_hrr_replace(&t), TD_ERR_ARG); /* only once */
    /* §4.4.1: the transcript is now exactly message_hash(CH1). */
    uint8_t mh[4 + 32], direct[32];
    mh[0] = 0xfe, mh[1] = 0, mh[2] = 0, mh[3] = 32;
    TD_REQUIRE(td_hash(g_crypto, TD_HASH_SHA256, ch1->data, ch1->len, mh + 4) == TD_OK);
    TD_REQUIRE(td_hash(g_crypto, TD_HASH_SHA256, mh, sizeof(mh), direct) == TD_OK);
    TD_REQUIRE(td_transcript_peek(&t, h, NULL) == TD_OK);
    TD_EXPECT_MEM(h, 32, direct, 32);
    TD_REQUIRE(td_transcript_add(&t, hrr->data, hrr->len) == TD_OK);
    TD_REQUIRE(td_transcript_add(&t, ch2->data, ch2->len) == TD_OK);
    TD_REQUIRE(td_transcript_add(&t, sh->data, sh->len) == TD_OK);
    TD_REQUIRE(td_transcript_peek(&t, h, NULL) == TD_OK);
    /* The trace's "c hs traffic" context is this transcript hash. */
    TD_EXPECT_MEM(h, 32, V(5, 13, "hash"), 32);
    td_transcript_cleanup(&t);
}

static void test_transcript_limit(void)
{
    td_transcript t;
    uint8_t msg[100] = {1};
    td_transcript_init(&t, g_crypto, 150);
    TD_EXPECT(td_transcript_add(&t, msg, 100) == TD_OK);
    TD_EXPECT_EQ(td_transcript_add(&t, msg, 51), TD_ERR_LIMIT); /* reported, not truncated */
    TD_EXPECT(td_transcript_add(&t, msg, 50) == TD_OK);
    /* Once hashing, nothing is buffered: no cap applies. */
    TD_REQUIRE(td_transcript_set_hash(&t, TD_HASH_SHA384) == TD_OK);
    TD_EXPECT(td_transcript_add(&t, msg, 100) == TD_OK);
    size_t hl = 0;
    uint8_t h[TD_MAX_HASH_LEN];
    TD_EXPECT(td_transcript_peek(&t, h, &hl) == TD_OK && hl == 48);
    td_transcript_cleanup(&t);
    td_transcript_cleanup(NULL);
}

/* ---- binders, Finished, resumption ---- */

static void test_binder_section4(void)
{
    /* §3's ticket: PSK = HKDF-Expand-Label(res master, "resumption", nonce). */
    uint8_t psk[H32], out[H32], bh[H32];
    TD_REQUIRE(td_keysched_resumption_psk(g_crypto, TD_HASH_SHA256, V(3, 47, "PRK"), V(3, 47, "hash"),
                                    VL(3, 47, "hash"), psk) == TD_OK);
    TD_EXPECT_MEM(psk, 32, V(3, 47, "expanded"), 32);
    TD_EXPECT_MEM(psk, 32, V(4, 1, "IKM"), 32);
    td_keysched ks;
    td_keysched_init(&ks, g_crypto, TD_HASH_SHA256);
    TD_REQUIRE(td_keysched_early(&ks, psk, sizeof(psk)) == TD_OK);
    TD_EXPECT_MEM(ks.early, 32, V(4, 1, "secret"), 32);
    uint8_t bk[H32];
    TD_REQUIRE(td_keysched_derive(&ks, TD_KEYSCHED_RES_BINDER, NULL, bk) == TD_OK);
    TD_EXPECT_MEM(bk, 32, V(4, 3, "PRK"), 32);
    TD_REQUIRE(td_keysched_derive(&ks, TD_KEYSCHED_EXT_BINDER, NULL, out) == TD_OK);
    TD_EXPECT(memcmp(out, bk, 32) != 0); /* a different label */
    /* Truncate the full ClientHello (the record payload, §4 step 4). */
    const td_tsv_row *full = td_vec(4, 4, "payload");
    size_t prefix = 0;
    td_diag diag;
    td_diag_clear(&diag);
    TD_REQUIRE(binder_prefix_len(full->data, full->len, &prefix, &diag) == TD_OK);
    TD_EXPECT_EQ(prefix, 477);
    TD_EXPECT_MEM(full->data, prefix, V(4, 3, "ClientHello prefix"), VL(4, 3, "ClientHello prefix"));
    td_transcript t;
    td_transcript_init(&t, g_crypto, 0);
    /* Before the suite is known: the PSK's hash over the buffered prefix. */
    TD_REQUIRE(td_transcript_peek_as(&t, TD_HASH_SHA256, full->data, prefix, bh) == TD_OK);
    TD_EXPECT_MEM(bh, 32, V(4, 3, "binder hash"), 32);
    TD_EXPECT(!td_transcript_has_hash(&t));
    uint8_t bh384[48], want384[48];
    TD_REQUIRE(td_transcript_peek_as(&t, TD_HASH_SHA384, full->data, prefix, bh384) == TD_OK);
    TD_REQUIRE(td_hash(g_crypto, TD_HASH_SHA384, full->data, prefix, want384) == TD_OK);
    TD_EXPECT_MEM(bh384, 48, want384, 48);
    TD_REQUIRE(td_transcript_set_hash(&t, TD_HASH_SHA256) == TD_OK);
    TD_REQUIRE(td_transcript_peek_with(&t, full->data, prefix, bh, NULL) == TD_OK);
    TD_EXPECT_MEM(bh, 32, V(4, 3, "binder hash"), 32);
    TD_EXPECT_EQ(td_transcript_peek_as(&t, TD_HASH_SHA384, NULL, 0, bh384), TD_ERR_ARG);
    TD_REQUIRE(td_keysched_binder(g_crypto, TD_HASH_SHA256, bk, bh, out) == TD_OK);
    TD_EXPECT_MEM(out, 32, V(4, 3, "finished"), 32);
    TD_EXPECT_MEM(out, 32, full->data + full->len - 32, 32); /* the binder the CH carries */
    td_transcript_cleanup(&t);
    td_keysched_cleanup(&ks);
}

static void test_binder_after_hrr(void)
{
    /* §4.2.11.2: after an HRR the binder hash covers message_hash(CH1), the
     * HRR and the truncated CH2. Built from §5's messages and §4's CH as the
     * "second" ClientHello; expected value by hashing the bytes directly. */
    const td_tsv_row *ch1 = td_vec(5, 1, "ClientHello"), *hrr = td_vec(5, 3, "ServerHello");
    const td_tsv_row *ch2 = td_vec(4, 4, "payload");
    size_t prefix = 0;
    TD_REQUIRE(binder_prefix_len(ch2->data, ch2->len, &prefix, NULL) == TD_OK);
    td_transcript t;
    uint8_t got[H32], want[H32];
    td_transcript_init(&t, g_crypto, 0);
    TD_REQUIRE(td_transcript_add(&t, ch1->data, ch1->len) == TD_OK);
    TD_REQUIRE(td_transcript_set_hash(&t, TD_HASH_SHA256) == TD_OK);
    TD_REQUIRE(td_transcript_hrr_replace(&t) == TD_OK);
    TD_REQUIRE(td_transcript_add(&t, hrr->data, hrr->len) == TD_OK);
    TD_REQUIRE(td_transcript_peek_with(&t, ch2->data, prefix, got, NULL) == TD_OK);
    size_t n = 4 + 32 + hrr->len + prefix;
    uint8_t *all = malloc(n);
    TD_REQUIRE(all != NULL);
    all[0] = 0xfe, all[1] = 0, all[2] = 0, all[3] = 32;
    TD_REQUIRE(td_hash(g_crypto, TD_HASH_SHA256, ch1->data, ch1->len, all + 4) == TD_OK);
    memcpy(all + 36, hrr->data, hrr->len);
    memcpy(all + 36 + hrr->len, ch2->data, prefix);
    TD_REQUIRE(td_hash(g_crypto, TD_HASH_SHA256, all, n, want) == TD_OK);
    TD_EXPECT_MEM(got, 32, want, 32);
    free(all);
    td_transcript_cleanup(&t);
}

static void test_binder_prefix_malformed(void)
{
    const td_tsv_row *full = td_vec(4, 4, "payload");
    const td_tsv_row *nopsk = td_vec(3, 1, "ClientHello");
    size_t prefix = 0;
    td_diag diag;
    td_diag_clear(&diag);
    /* It parses, but has no pre_shared_key: a caller error. */
    TD_EXPECT_EQ(binder_prefix_len(nopsk->data, nopsk->len, &prefix, &diag), TD_ERR_ARG);
    TD_EXPECT_EQ(diag.rule, TD_RULE_NONE);
    for (size_t cut = 0; cut < full->len; cut += 37) {
        td_diag_clear(&diag);
        TD_EXPECT_EQ(binder_prefix_len(full->data, cut, &prefix, &diag), TD_ERR_DECODE);
    }
    /* pre_shared_key not last: append an empty extension after it (fix up
     * the message and extensions lengths). */
    uint8_t *m = malloc(full->len + 4);
    TD_REQUIRE(m != NULL);
    memcpy(m, full->data, full->len);
    memcpy(m + full->len, "\x00\x17\x00\x00", 4); /* extended_master_secret, empty */
    size_t body = full->len - 4 + 4;
    m[1] = (uint8_t)(body >> 16), m[2] = (uint8_t)(body >> 8), m[3] = (uint8_t)body;
    /* extensions length: after 4+2+32, session id, suites, compression. */
    size_t off = 4 + 2 + 32;
    off += 1 + m[off];
    off += 2 + ((size_t)m[off] << 8 | m[off + 1]);
    off += 1 + m[off];
    size_t ext_len = ((size_t)m[off] << 8 | m[off + 1]) + 4;
    m[off] = (uint8_t)(ext_len >> 8), m[off + 1] = (uint8_t)ext_len;
    td_diag_clear(&diag);
    TD_EXPECT_EQ(binder_prefix_len(m, full->len + 4, &prefix, &diag),
                 TD_ERR_ILLEGAL_PARAMETER);
    TD_EXPECT_EQ(diag.rule, TD_RULE_PSK_NOT_LAST);
    free(m);
}

static void test_finished_section3(void)
{
    /* Server Finished: transcript CH..CertificateVerify, key s hs traffic. */
    static const struct {
        int step;
        const char *name;
    } msgs[] = {{1, "ClientHello"}, {5, "ServerHello"}, {14, "EncryptedExtensions"},
                {15, "Certificate"}, {16, "CertificateVerify"}};
    td_transcript t;
    uint8_t th[H32], vd[H32], fk[H32];
    td_transcript_init(&t, g_crypto, 0);
    for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
        const td_tsv_row *r = td_vec(3, msgs[i].step, msgs[i].name);
        TD_REQUIRE(td_transcript_add(&t, r->data, r->len) == TD_OK);
    }
    TD_REQUIRE(td_transcript_set_hash(&t, TD_HASH_SHA256) == TD_OK);
    TD_REQUIRE(td_transcript_peek(&t, th, NULL) == TD_OK);
    TD_REQUIRE(td_keysched_finished_key(g_crypto, TD_HASH_SHA256, V(3, 17, "PRK"), fk) == TD_OK);
    TD_EXPECT_MEM(fk, 32, V(3, 17, "expanded"), 32);
    TD_REQUIRE(td_keysched_finished(g_crypto, TD_HASH_SHA256, V(3, 17, "PRK"), th, vd) == TD_OK);
    TD_EXPECT_MEM(vd, 32, V(3, 17, "finished"), 32);
    TD_EXPECT_MEM(vd, 32, V(3, 18, "Finished") + 4, 32);
    /* After the server Finished: the application secrets' context. */
    TD_REQUIRE(td_transcript_add(&t, V(3, 18, "Finished"), 36) == TD_OK);
    TD_REQUIRE(td_transcript_peek(&t, th, NULL) == TD_OK);
    TD_EXPECT_MEM(th, 32, V(3, 20, "hash"), 32);
    td_transcript_cleanup(&t);
}

/* ---- KeyUpdate and exporters: HKDF computed directly ---- */

static void test_next_traffic_secret(void)
{
    const uint8_t *s0 = V(3, 20, "expanded"); /* client_application_traffic_secret_0 */
    uint8_t info[64], want[H32], got[H32];
    size_t n = manual_info(info, 32, "traffic upd", NULL, 0);
    TD_REQUIRE(td_hkdf_expand(g_crypto, TD_HASH_SHA256, s0, 32, info, n, want, 32) == TD_OK);
    TD_REQUIRE(td_keysched_next_traffic_secret(g_crypto, TD_HASH_SHA256, s0, got) == TD_OK);
    TD_EXPECT_MEM(got, 32, want, 32);
    TD_EXPECT(memcmp(got, s0, 32) != 0);
    /* Secret N+2 chains from N+1. */
    TD_REQUIRE(td_hkdf_expand(g_crypto, TD_HASH_SHA256, got, 32, info, n, want, 32) == TD_OK);
    TD_REQUIRE(td_keysched_next_traffic_secret(g_crypto, TD_HASH_SHA256, got, got) == TD_OK);
    TD_EXPECT_MEM(got, 32, want, 32);
}

static void test_exporter(void)
{
    const uint8_t *ems = V(3, 22, "expanded"); /* exporter_master_secret */
    uint8_t empty[H32], ctxh[H32], info[128], derived[H32], want[40], got[40];
    TD_REQUIRE(td_hash(g_crypto, TD_HASH_SHA256, NULL, 0, empty) == TD_OK);
    TD_REQUIRE(td_hash(g_crypto, TD_HASH_SHA256, (const uint8_t *)"ctx", 3, ctxh) == TD_OK);
    size_t n = manual_info(info, 32, "EXPERIMENTAL x", empty, 32);
    TD_REQUIRE(td_hkdf_expand(g_crypto, TD_HASH_SHA256, ems, 32, info, n, derived, 32) == TD_OK);
    n = manual_info(info, 40, "exporter", ctxh, 32);
    TD_REQUIRE(td_hkdf_expand(g_crypto, TD_HASH_SHA256, derived, 32, info, n, want, 40) == TD_OK);
    TD_REQUIRE(td_keysched_exporter(g_crypto, TD_HASH_SHA256, ems, (const uint8_t *)"EXPERIMENTAL x", 14,
                              (const uint8_t *)"ctx", 3, got, 40) == TD_OK);
    TD_EXPECT_MEM(got, 40, want, 40);
    /* §7.5: no context and an empty context are the same. */
    uint8_t a[16], b[16];
    TD_REQUIRE(td_keysched_exporter(g_crypto, TD_HASH_SHA256, ems, (const uint8_t *)"L", 1, NULL, 0, a,
                              16) == TD_OK);
    TD_REQUIRE(td_keysched_exporter(g_crypto, TD_HASH_SHA256, ems, (const uint8_t *)"L", 1,
                              (const uint8_t *)"", 0, b, 16) == TD_OK);
    TD_EXPECT_MEM(a, 16, b, 16);
    static uint8_t label[250];
    TD_EXPECT_EQ(td_keysched_exporter(g_crypto, TD_HASH_SHA256, ems, label, 250, NULL, 0, a, 16),
                 TD_ERR_ARG);
    TD_EXPECT_EQ(td_keysched_exporter(g_crypto, TD_HASH_SHA256, ems, label, 1, NULL, 5, a, 16),
                 TD_ERR_ARG);
}

static void test_sha384_chain(void)
{
    /* TLS_AES_256_GCM_SHA384: Hash.length 48 everywhere, checked against
     * HKDF directly. */
    td_keysched ks;
    uint8_t zeros[48] = {0}, want[48], got[48], empty[48], th[48], info[128];
    td_keysched_init(&ks, g_crypto, TD_HASH_SHA384);
    TD_REQUIRE(td_keysched_early(&ks, NULL, 0) == TD_OK);
    TD_REQUIRE(td_hkdf_extract(g_crypto, TD_HASH_SHA384, NULL, 0, zeros, 48, want) == TD_OK);
    TD_EXPECT_MEM(ks.early, 48, want, 48);
    TD_REQUIRE(td_hash(g_crypto, TD_HASH_SHA384, (const uint8_t *)"m", 1, th) == TD_OK);
    TD_REQUIRE(td_keysched_derive(&ks, TD_KEYSCHED_C_EARLY_TRAFFIC, th, got) == TD_OK);
    size_t n = manual_info(info, 48, "c e traffic", th, 48);
    TD_REQUIRE(td_hkdf_expand(g_crypto, TD_HASH_SHA384, ks.early, 48, info, n, want, 48) == TD_OK);
    TD_EXPECT_MEM(got, 48, want, 48);
    TD_REQUIRE(td_hash(g_crypto, TD_HASH_SHA384, NULL, 0, empty) == TD_OK);
    TD_REQUIRE(td_keysched_handshake(&ks, NULL, 0) == TD_OK); /* psk_ke: zeros */
    n = manual_info(info, 48, "derived", empty, 48);
    uint8_t salt[48];
    TD_REQUIRE(td_hkdf_expand(g_crypto, TD_HASH_SHA384, ks.early, 48, info, n, salt, 48) == TD_OK);
    TD_REQUIRE(td_hkdf_extract(g_crypto, TD_HASH_SHA384, salt, 48, zeros, 48, want) == TD_OK);
    TD_EXPECT_MEM(ks.handshake, 48, want, 48);
    uint8_t key[32], iv[12];
    TD_REQUIRE(td_keysched_traffic_keys(g_crypto, td_suite_get(0x1302), got, key, iv) == TD_OK);
    n = manual_info(info, 32, "key", NULL, 0);
    TD_REQUIRE(td_hkdf_expand(g_crypto, TD_HASH_SHA384, got, 48, info, n, want, 32) == TD_OK);
    TD_EXPECT_MEM(key, 32, want, 32);
    TD_EXPECT_EQ(td_keysched_traffic_keys(g_crypto, NULL, got, key, iv), TD_ERR_ARG);
    td_keysched_cleanup(&ks);
}

/* ---- key log ---- */

static void test_keylog_line(void)
{
    uint8_t random[32], secret[32];
    for (int i = 0; i < 32; i++) {
        random[i] = (uint8_t)i;
        secret[i] = (uint8_t)(0xf0 + (i & 15));
    }
    char line[TD_KEYLOG_LINE_MAX];
    size_t n = 0;
    TD_REQUIRE(td_keylog_line(TD_KEYLOG_CLIENT_HANDSHAKE_TRAFFIC_SECRET, random, secret, 32, line,
                              sizeof(line), &n) == TD_OK);
    static const char want[] =
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET "
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f "
        "f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff\n";
    TD_EXPECT_EQ(n, strlen(want));
    TD_EXPECT(strcmp(line, want) == 0);
    static const char *const names[] = {"CLIENT_EARLY_TRAFFIC_SECRET",
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EARLY_EXPORTER_SECRET",
        "EXPORTER_SECRET"};
    for (int i = 0; i < 7; i++) {
        TD_EXPECT(strcmp(td_keylog_label_name((td_keylog_label)i), names[i]) == 0);
        uint8_t s48[48] = {0};
        TD_EXPECT(td_keylog_line((td_keylog_label)i, random, s48, 48, line, sizeof(line), &n) == TD_OK);
        TD_EXPECT_EQ(n, strlen(names[i]) + 1 + 64 + 1 + 96 + 1);
    }
    TD_EXPECT(td_keylog_label_name((td_keylog_label)7) == NULL);
    td_keylog_label l = TD_KEYLOG_EXPORTER_SECRET;
    TD_EXPECT(td_keysched_secret_keylog_label(TD_KEYSCHED_S_HS_TRAFFIC, &l) &&
              l == TD_KEYLOG_SERVER_HANDSHAKE_TRAFFIC_SECRET);
    TD_EXPECT(td_keysched_secret_keylog_label(TD_KEYSCHED_C_AP_TRAFFIC, &l) && l == TD_KEYLOG_CLIENT_TRAFFIC_SECRET_0);
    TD_EXPECT(td_keysched_secret_keylog_label(TD_KEYSCHED_EARLY_EXPORTER, &l) &&
              l == TD_KEYLOG_EARLY_EXPORTER_SECRET);
    TD_EXPECT(!td_keysched_secret_keylog_label(TD_KEYSCHED_RES_MASTER, &l));
    TD_EXPECT(!td_keysched_secret_keylog_label(TD_KEYSCHED_RES_BINDER, &l));
    TD_EXPECT_EQ(td_keylog_line(TD_KEYLOG_EXPORTER_SECRET, random, secret, 32, line, 50, &n),
                 TD_ERR_ARG);
    TD_EXPECT_EQ(td_keylog_line(TD_KEYLOG_EXPORTER_SECRET, random, secret, 49, line, sizeof(line), &n),
                 TD_ERR_ARG);
}

int main(void)
{
    if (td_crypto_new(&g_crypto) != TD_OK || td_vec_load() != 0) {
        fprintf(stderr, "fixture setup failed\n");
        return 1;
    }
    TD_RUN(test_hkdf_label_vectors);
    TD_RUN(test_hkdf_label_limits);
    TD_RUN(test_chain_section3);
    TD_RUN(test_transcript_buffered);
    TD_RUN(test_transcript_hrr_section5);
    TD_RUN(test_transcript_limit);
    TD_RUN(test_binder_section4);
    TD_RUN(test_binder_after_hrr);
    TD_RUN(test_binder_prefix_malformed);
    TD_RUN(test_finished_section3);
    TD_RUN(test_next_traffic_secret);
    TD_RUN(test_exporter);
    TD_RUN(test_sha384_chain);
    TD_RUN(test_keylog_line);
    td_vec_free();
    td_crypto_free(g_crypto);
    return td_test_report("test_keysched");
}
