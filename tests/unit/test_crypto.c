/* tests/unit/test_crypto.c -- engine/crypto*.c: hashes, HMAC, HKDF, AEAD,
 * suites, key exchange, signatures, PEM and chains, against published
 * vectors (FIPS 180, RFC 4231, RFC 5869, RFC 8439, the GCM spec, RFC 7748,
 * RFC 8448) and the test certificates in tests/vectors/certs. */
#include "td_test.h"
#include "td_test_file.h"
#include "td_vectors.h"
#include "tlsdrill/crypto.h"

static td_crypto *g_crypto; /* the one shared fixture, made in main() */

/* ---- RFC 8448 values (td_vectors.h, loaded in main) ----
 * Returns a malloc'd copy of the value of the first row whose section,
 * who, step text prefix and value name match; NULL if none. */
static uint8_t *tsv_get(int section, const char *who, const char *step, const char *name,
                        size_t *out_len)
{
    td_tsv_who w = strcmp(who, "client") == 0 ? TD_TSV_CLIENT : TD_TSV_SERVER;
    for (size_t i = 0; i < td_vec_tsv.num_rows; i++) {
        const td_tsv_row *r = &td_vec_tsv.rows[i];
        if (r->section != section || r->who != w || strncmp(r->desc, step, strlen(step)) != 0 ||
            r->name == NULL || strcmp(r->name, name) != 0)
            continue;
        uint8_t *ret = malloc(r->len > 0 ? r->len : 1);
        if (ret != NULL && r->len > 0)
            memcpy(ret, r->data, r->len);
        *out_len = r->len;
        return ret;
    }
    return NULL;
}

static uint8_t *unhex(const char *hex, size_t *len)
{
    uint8_t *p = td_test_unhex(hex, len);
    if (p == NULL) {
        fprintf(stderr, "bad hex in test\n");
        abort();
    }
    return p;
}

/* ---- hashes ---- */

static void test_hash_kat(void)
{
    static const char *const abc256 =
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    static const char *const empty256 =
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    static const char *const abc384 =
        "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
        "8086072ba1e7cc2358baeca134c825a7";
    uint8_t out[TD_MAX_HASH_LEN];
    size_t n;
    uint8_t *want;
    TD_EXPECT_EQ(td_hash_len(TD_HASH_SHA256), 32);
    TD_EXPECT_EQ(td_hash_len(TD_HASH_SHA384), 48);

    TD_EXPECT_EQ(td_hash(g_crypto, TD_HASH_SHA256, (const uint8_t *)"abc", 3, out), TD_OK);
    want = unhex(abc256, &n);
    TD_EXPECT_MEM(out, 32, want, n);
    free(want);

    TD_EXPECT_EQ(td_hash(g_crypto, TD_HASH_SHA256, NULL, 0, out), TD_OK);
    want = unhex(empty256, &n);
    TD_EXPECT_MEM(out, 32, want, n);
    free(want);

    TD_EXPECT_EQ(td_hash(g_crypto, TD_HASH_SHA384, (const uint8_t *)"abc", 3, out), TD_OK);
    want = unhex(abc384, &n);
    TD_EXPECT_MEM(out, 48, want, n);
    free(want);

    TD_EXPECT_EQ(td_hash(g_crypto, TD_HASH_SHA256, NULL, 5, out), TD_ERR_ARG);
    TD_EXPECT_EQ(td_hash(g_crypto, (td_hash_alg)7, (const uint8_t *)"abc", 3, out), TD_ERR_ARG);
}

static void test_hash_ctx(void)
{
    static const char *const abc256 =
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    uint8_t out[TD_MAX_HASH_LEN], out2[TD_MAX_HASH_LEN], ab[TD_MAX_HASH_LEN];
    size_t n;
    uint8_t *want = unhex(abc256, &n);
    td_hash_ctx *h = NULL, *d = NULL;
    TD_REQUIRE(td_hash_ctx_new(g_crypto, TD_HASH_SHA256, &h) == TD_OK);
    TD_EXPECT_EQ(td_hash_ctx_alg(h), TD_HASH_SHA256);
    TD_EXPECT_EQ(td_hash_ctx_update(h, (const uint8_t *)"a", 1), TD_OK);
    TD_EXPECT_EQ(td_hash_ctx_update(h, NULL, 0), TD_OK);
    TD_EXPECT_EQ(td_hash_ctx_update(h, (const uint8_t *)"b", 1), TD_OK);
    /* Peek does not end the running hash; a dup continues independently. */
    TD_EXPECT_EQ(td_hash_ctx_peek(h, ab), TD_OK);
    TD_EXPECT_EQ(td_hash_ctx_dup(h, &d), TD_OK);
    TD_EXPECT_EQ(td_hash_ctx_update(h, (const uint8_t *)"c", 1), TD_OK);
    TD_EXPECT_EQ(td_hash_ctx_peek(h, out), TD_OK);
    TD_EXPECT_MEM(out, 32, want, n);
    TD_EXPECT_EQ(td_hash_ctx_peek(h, out2), TD_OK);
    TD_EXPECT_MEM(out2, 32, want, n);
    TD_EXPECT_EQ(td_hash_ctx_peek(d, out2), TD_OK);
    TD_EXPECT_MEM(out2, 32, ab, 32);
    TD_EXPECT_EQ(td_hash(g_crypto, TD_HASH_SHA256, (const uint8_t *)"ab", 2, out), TD_OK);
    TD_EXPECT_MEM(out2, 32, out, 32);
    TD_EXPECT_EQ(td_hash_ctx_update(h, NULL, 1), TD_ERR_ARG);
    td_hash_ctx_free(h);
    td_hash_ctx_free(d);
    td_hash_ctx_free(NULL);
    free(want);
}

/* ---- HMAC and HKDF ---- */

static void test_hmac_rfc4231(void)
{
    /* RFC 4231 §4.3, test case 2. */
    static const char *const want256 =
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
    static const char *const want384 =
        "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
        "8e2240ca5e69e2c78b3239ecfab21649";
    static const char data[] = "what do ya want for nothing?";
    uint8_t out[TD_MAX_HASH_LEN];
    size_t n;
    uint8_t *want;
    TD_EXPECT_EQ(td_hmac(g_crypto, TD_HASH_SHA256, (const uint8_t *)"Jefe", 4,
                         (const uint8_t *)data, sizeof(data) - 1, out),
                 TD_OK);
    want = unhex(want256, &n);
    TD_EXPECT_MEM(out, 32, want, n);
    free(want);
    TD_EXPECT_EQ(td_hmac(g_crypto, TD_HASH_SHA384, (const uint8_t *)"Jefe", 4,
                         (const uint8_t *)data, sizeof(data) - 1, out),
                 TD_OK);
    want = unhex(want384, &n);
    TD_EXPECT_MEM(out, 48, want, n);
    free(want);
    /* Empty key and empty message are legal HMAC inputs (value from
     * Python's hmac module). */
    TD_EXPECT_EQ(td_hmac(g_crypto, TD_HASH_SHA256, NULL, 0, NULL, 0, out), TD_OK);
    want = unhex("b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad", &n);
    TD_EXPECT_MEM(out, 32, want, n);
    free(want);
}

static void test_hkdf_rfc5869(void)
{
    static const struct {
        const char *ikm, *salt, *info, *prk, *okm;
    } cases[] = {
        {/* RFC 5869 A.1 */ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
         "000102030405060708090a0b0c", "f0f1f2f3f4f5f6f7f8f9",
         "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
         "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"},
        {/* RFC 5869 A.3: no salt, no info */ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "",
         "", "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
         "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t ikm_len, salt_len, info_len, prk_len, okm_len;
        uint8_t *ikm = unhex(cases[i].ikm, &ikm_len), *salt = unhex(cases[i].salt, &salt_len);
        uint8_t *info = unhex(cases[i].info, &info_len), *prk = unhex(cases[i].prk, &prk_len);
        uint8_t *okm = unhex(cases[i].okm, &okm_len);
        uint8_t got_prk[TD_MAX_HASH_LEN], got_okm[64];
        TD_EXPECT_EQ(td_hkdf_extract(g_crypto, TD_HASH_SHA256, salt_len ? salt : NULL, salt_len,
                                     ikm, ikm_len, got_prk),
                     TD_OK);
        TD_EXPECT_MEM(got_prk, 32, prk, prk_len);
        TD_EXPECT_EQ(td_hkdf_expand(g_crypto, TD_HASH_SHA256, prk, prk_len, info_len ? info : NULL,
                                    info_len, got_okm, okm_len),
                     TD_OK);
        TD_EXPECT_MEM(got_okm, okm_len, okm, okm_len);
        free(ikm), free(salt), free(info), free(prk), free(okm);
    }
    /* RFC 5869 §2.3: L <= 255*HashLen. */
    uint8_t prk[32] = {1}, big[1];
    TD_EXPECT_EQ(td_hkdf_expand(g_crypto, TD_HASH_SHA256, prk, 32, NULL, 0, big, 255 * 32 + 1),
                 TD_ERR_ARG);
    TD_EXPECT_EQ(td_hkdf_expand(g_crypto, TD_HASH_SHA256, prk, 32, NULL, 0, NULL, 0), TD_OK);
}

/* HKDF-Expand-Label outputs of the RFC 8448 §3 trace: PRK + info -> key, iv. */
static void test_hkdf_rfc8448(void)
{
    static const char *const step = "derive write traffic keys for handshake data";
    size_t prk_len = 0, ki_len = 0, k_len = 0, ii_len = 0, iv_len = 0;
    uint8_t *prk = tsv_get(3, "server", step, "PRK", &prk_len);
    uint8_t *ki = tsv_get(3, "server", step, "key info", &ki_len);
    uint8_t *k = tsv_get(3, "server", step, "key expanded", &k_len);
    uint8_t *ii = tsv_get(3, "server", step, "iv info", &ii_len);
    uint8_t *iv = tsv_get(3, "server", step, "iv expanded", &iv_len);
    uint8_t out[32];
    TD_EXPECT(prk && ki && k && ii && iv);
    if (prk && ki && k && ii && iv) {
        TD_EXPECT_EQ(td_hkdf_expand(g_crypto, TD_HASH_SHA256, prk, prk_len, ki, ki_len, out, k_len),
                     TD_OK);
        TD_EXPECT_MEM(out, k_len, k, k_len);
        TD_EXPECT_EQ(
            td_hkdf_expand(g_crypto, TD_HASH_SHA256, prk, prk_len, ii, ii_len, out, iv_len), TD_OK);
        TD_EXPECT_MEM(out, iv_len, iv, iv_len);
    }
    free(prk), free(ki), free(k), free(ii), free(iv);
}

/* ---- AEAD ---- */

static const struct {
    const char *what;
    td_aead_alg alg;
    const char *key, *nonce, *ad, *pt, *ct_tag;
} aead_kats[] = {
    {"RFC 8439 2.8.2", TD_AEAD_CHACHA20_POLY1305,
     "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f", "070000004041424344454647",
     "50515253c0c1c2c3c4c5c6c7",
     "4c616469657320616e642047656e746c656d656e206f662074686520636c617373206f66202739393a20496620492"
     "0"
     "636f756c64206f6666657220796f75206f6e6c79206f6e652074697020666f7220746865206675747572652c20737"
     "5"
     "6e73637265656e20776f756c642062652069742e",
     "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da927"
     "2"
     "8b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b483"
     "1"
     "d7bc3ff4def08e4b7a9de576d26586cec64b6116"
     "1ae10b594f09e26a7e902ecbd0600691"},
    {"GCM spec test case 4", TD_AEAD_AES_128_GCM, "feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b"
     "5"
     "25b16aedf5aa0de657ba637b39",
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84a"
     "a"
     "051ba30b396a0aac973d58e091"
     "5bc94fbc3221a5db94fae95ae7121a47"},
    {"GCM spec test case 16", TD_AEAD_AES_256_GCM,
     "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b"
     "5"
     "25b16aedf5aa0de657ba637b39",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828"
     "8"
     "38c5f61e6393ba7a0abcc9f662"
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

static void test_aead_kat(void)
{
    for (size_t i = 0; i < sizeof(aead_kats) / sizeof(aead_kats[0]); i++) {
        size_t key_len, nonce_len, ad_len, pt_len, ct_len;
        uint8_t *key = unhex(aead_kats[i].key, &key_len),
                *nonce = unhex(aead_kats[i].nonce, &nonce_len);
        uint8_t *ad = unhex(aead_kats[i].ad, &ad_len), *pt = unhex(aead_kats[i].pt, &pt_len);
        uint8_t *ct = unhex(aead_kats[i].ct_tag, &ct_len);
        uint8_t buf[256];
        td_aead *a = NULL;
        td_test_current = aead_kats[i].what;
        TD_EXPECT_EQ(td_aead_key_len(aead_kats[i].alg), key_len);
        TD_EXPECT_EQ(td_aead_new(g_crypto, aead_kats[i].alg, key, key_len, &a), TD_OK);
        if (a != NULL && pt_len + TD_AEAD_TAG_LEN == ct_len && ct_len <= sizeof(buf)) {
            /* Twice, to prove the per-record nonce reset leaves no state behind. */
            for (int round = 0; round < 2; round++) {
                TD_EXPECT_EQ(td_aead_seal(a, nonce, ad, ad_len, pt, pt_len, buf), TD_OK);
                TD_EXPECT_MEM(buf, ct_len, ct, ct_len);
                TD_EXPECT_EQ(td_aead_open(a, nonce, ad, ad_len, ct, ct_len, buf), TD_OK);
                TD_EXPECT_MEM(buf, pt_len, pt, pt_len);
            }
        } else {
            TD_EXPECT(!"vector sizes");
        }
        td_aead_free(a);
        free(key), free(nonce), free(ad), free(pt), free(ct);
    }
}

/* RFC 8448 §3: the server's first encrypted record, opened with the
 * handshake key and iv of the trace (sequence number 0, so nonce = iv). */
static void test_aead_rfc8448_record(void)
{
    static const char *const kstep = "derive write traffic keys for handshake data";
    size_t k_len = 0, iv_len = 0;
    uint8_t *k = tsv_get(3, "server", kstep, "key expanded", &k_len);
    uint8_t *iv = tsv_get(3, "server", kstep, "iv expanded", &iv_len);
    /* The first "send handshake record" of the server is the plaintext
     * ServerHello; the encrypted flight is the second (step 19). */
    const td_tsv_row *plr = td_vec(3, 19, "payload"), *recr = td_vec(3, 19, "complete record");
    const uint8_t *pl = plr->data, *rec = recr->data;
    size_t pl_len = plr->len, rec_len = recr->len;
    td_aead *a = NULL;
    if (k && iv && pl && rec && k_len == 16 && iv_len == 12 && rec_len == 5 + pl_len + 1 + 16) {
        uint8_t *buf = malloc(rec_len);
        TD_EXPECT_EQ(td_aead_new(g_crypto, TD_AEAD_AES_128_GCM, k, k_len, &a), TD_OK);
        /* RFC 8446 §5.2: AD is the record header; inner plaintext is
         * content || content type (handshake, 22). */
        TD_EXPECT_EQ(td_aead_open(a, iv, rec, 5, rec + 5, rec_len - 5, buf), TD_OK);
        TD_EXPECT_MEM(buf, pl_len, pl, pl_len);
        TD_EXPECT_EQ(buf[pl_len], 22);
        memcpy(buf, pl, pl_len);
        buf[pl_len] = 22;
        TD_EXPECT_EQ(td_aead_seal(a, iv, rec, 5, buf, pl_len + 1, buf), TD_OK); /* in place */
        TD_EXPECT_MEM(buf, rec_len - 5, rec + 5, rec_len - 5);
        free(buf);
    } else {
        TD_EXPECT(!"RFC 8448 §3 record vectors present");
    }
    td_aead_free(a);
    free(k), free(iv);
}

static void test_aead_tamper(void)
{
    static const td_aead_alg algs[] = {TD_AEAD_AES_128_GCM, TD_AEAD_AES_256_GCM,
                                       TD_AEAD_CHACHA20_POLY1305};
    uint8_t key[32], nonce[12], ad[5] = {0x17, 3, 3, 0, 33}, pt[17], ct[33], buf[33];
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)(i * 7 + 1);
    for (size_t i = 0; i < sizeof(nonce); i++)
        nonce[i] = (uint8_t)(0xa0 + i);
    for (size_t i = 0; i < sizeof(pt); i++)
        pt[i] = (uint8_t)i;
    for (size_t ai = 0; ai < sizeof(algs) / sizeof(algs[0]); ai++) {
        td_aead *s = NULL, *o = NULL;
        size_t kl = td_aead_key_len(algs[ai]);
        TD_EXPECT_EQ(td_aead_new(g_crypto, algs[ai], key, kl + 1, &s), TD_ERR_ARG);
        TD_EXPECT(s == NULL);
        TD_REQUIRE(td_aead_new(g_crypto, algs[ai], key, kl, &s) == TD_OK);
        TD_REQUIRE(td_aead_new(g_crypto, algs[ai], key, kl, &o) == TD_OK);
        TD_EXPECT_EQ(td_aead_seal(s, nonce, ad, sizeof(ad), pt, sizeof(pt), ct), TD_OK);
        TD_EXPECT_EQ(td_aead_open(o, nonce, ad, sizeof(ad), ct, sizeof(ct), buf), TD_OK);
        TD_EXPECT_MEM(buf, sizeof(pt), pt, sizeof(pt));
        /* In place, both ways. */
        memcpy(buf, pt, sizeof(pt));
        TD_EXPECT_EQ(td_aead_seal(s, nonce, ad, sizeof(ad), buf, sizeof(pt), buf), TD_OK);
        TD_EXPECT_MEM(buf, sizeof(ct), ct, sizeof(ct));
        TD_EXPECT_EQ(td_aead_open(o, nonce, ad, sizeof(ad), buf, sizeof(buf), buf), TD_OK);
        TD_EXPECT_MEM(buf, sizeof(pt), pt, sizeof(pt));
        /* Any flipped bit -- tag, ciphertext, AD, nonce -- fails with bad_record_mac. */
        static const size_t flips[] = {0, 16, 17, 32};
        for (size_t f = 0; f < sizeof(flips) / sizeof(flips[0]); f++) {
            memcpy(buf, ct, sizeof(ct));
            buf[flips[f]] ^= 0x01;
            TD_EXPECT_EQ(td_aead_open(o, nonce, ad, sizeof(ad), buf, sizeof(buf), buf),
                         TD_ERR_BAD_RECORD_MAC);
        }
        ad[4] ^= 1;
        TD_EXPECT_EQ(td_aead_open(o, nonce, ad, sizeof(ad), ct, sizeof(ct), buf),
                     TD_ERR_BAD_RECORD_MAC);
        ad[4] ^= 1;
        nonce[11] ^= 1;
        TD_EXPECT_EQ(td_aead_open(o, nonce, ad, sizeof(ad), ct, sizeof(ct), buf),
                     TD_ERR_BAD_RECORD_MAC);
        nonce[11] ^= 1;
        /* Truncated: shorter than the tag, or the tag cut short. */
        TD_EXPECT_EQ(td_aead_open(o, nonce, ad, sizeof(ad), ct, 0, buf), TD_ERR_BAD_RECORD_MAC);
        TD_EXPECT_EQ(td_aead_open(o, nonce, ad, sizeof(ad), NULL, 0, buf), TD_ERR_BAD_RECORD_MAC);
        TD_EXPECT_EQ(td_aead_open(o, nonce, ad, sizeof(ad), ct, 15, buf), TD_ERR_BAD_RECORD_MAC);
        TD_EXPECT_EQ(td_aead_open(o, nonce, ad, sizeof(ad), ct, sizeof(ct) - 1, buf),
                     TD_ERR_BAD_RECORD_MAC);
        /* The failures left no state behind: the good record still opens. */
        TD_EXPECT_EQ(td_aead_open(o, nonce, ad, sizeof(ad), ct, sizeof(ct), buf), TD_OK);
        TD_EXPECT_MEM(buf, sizeof(pt), pt, sizeof(pt));
        /* Empty plaintext, no AD: a bare tag. */
        TD_EXPECT_EQ(td_aead_seal(s, nonce, NULL, 0, NULL, 0, buf), TD_OK);
        TD_EXPECT_EQ(td_aead_open(o, nonce, NULL, 0, buf, TD_AEAD_TAG_LEN, buf + 16), TD_OK);
        td_aead_free(s);
        td_aead_free(o);
    }
    td_aead_free(NULL);
}

static void test_suites(void)
{
    const td_suite *s = td_suite_get(TD_TLS_AES_128_GCM_SHA256);
    TD_REQUIRE(s != NULL);
    TD_EXPECT(s->aead == TD_AEAD_AES_128_GCM && s->hash == TD_HASH_SHA256 && s->key_len == 16);
    TD_EXPECT(strcmp(s->name, "TLS_AES_128_GCM_SHA256") == 0);
    s = td_suite_get(TD_TLS_AES_256_GCM_SHA384);
    TD_REQUIRE(s != NULL);
    TD_EXPECT(s->aead == TD_AEAD_AES_256_GCM && s->hash == TD_HASH_SHA384 && s->key_len == 32);
    s = td_suite_get(TD_TLS_CHACHA20_POLY1305_SHA256);
    TD_REQUIRE(s != NULL);
    TD_EXPECT(s->aead == TD_AEAD_CHACHA20_POLY1305 && s->hash == TD_HASH_SHA256 &&
              s->key_len == 32);
    TD_EXPECT(td_suite_get(0x1304) == NULL); /* TLS_AES_128_CCM_SHA256: not implemented */
    TD_EXPECT(td_suite_get(0x0000) == NULL);
    TD_EXPECT(td_suite_get(0x1300) == NULL);
}

/* ---- key exchange ---- */

static void test_groups(void)
{
    TD_EXPECT(td_group_supported(TD_GROUP_X25519));
    TD_EXPECT(td_group_supported(TD_GROUP_SECP256R1));
    TD_EXPECT(td_group_supported(TD_GROUP_SECP384R1));
    TD_EXPECT(td_group_supported(TD_GROUP_X448));
    TD_EXPECT(td_group_supported(TD_GROUP_SECP521R1));
    TD_EXPECT(td_group_supported(TD_GROUP_FFDHE2048));
    TD_EXPECT(td_group_supported(TD_GROUP_FFDHE3072));
    TD_EXPECT(td_group_supported(TD_GROUP_FFDHE4096));
    TD_EXPECT(!td_group_supported(0x0103)); /* ffdhe6144 */
    TD_EXPECT_EQ(td_group_share_len(TD_GROUP_FFDHE2048), 256);
    TD_EXPECT_EQ(td_group_share_len(TD_GROUP_FFDHE3072), 384);
    TD_EXPECT_EQ(td_group_share_len(TD_GROUP_FFDHE4096), 512);
    TD_EXPECT_EQ(td_group_share_len(TD_GROUP_SECP521R1), 133);
    TD_EXPECT_EQ(td_group_share_len(TD_GROUP_X25519), 32);
    TD_EXPECT_EQ(td_group_share_len(TD_GROUP_X448), 56);
    TD_EXPECT_EQ(td_group_share_len(TD_GROUP_SECP256R1), 65);
    TD_EXPECT_EQ(td_group_share_len(TD_GROUP_SECP384R1), 97);
    TD_EXPECT_EQ(td_group_share_len(0x1234), 0);
    TD_EXPECT(strcmp(td_group_name(TD_GROUP_X25519), "x25519") == 0);
    TD_EXPECT(strcmp(td_group_name(TD_GROUP_SECP384R1), "secp384r1") == 0);
    TD_EXPECT(td_group_name(0x1234) == NULL);
}

/* Both sides from their private keys: each public key as published, and
 * each side's derive gives |shared|. */
static void check_kex_pair(uint16_t group, const uint8_t *a_priv, const uint8_t *a_pub,
                           const uint8_t *b_priv, const uint8_t *b_pub, size_t priv_len,
                           size_t pub_len, const uint8_t *shared, size_t shared_len)
{
    td_kex *a = NULL, *b = NULL;
    uint8_t pub[TD_MAX_SHARE_LEN], s1[TD_MAX_ECDH_LEN], s2[TD_MAX_ECDH_LEN];
    size_t n = 0, n1 = 0, n2 = 0;
    td_diag diag;
    TD_REQUIRE(td_kex_from_private(g_crypto, group, a_priv, priv_len, &a) == TD_OK);
    TD_EXPECT_EQ(td_kex_group(a), group);
    TD_EXPECT_EQ(td_kex_from_private(g_crypto, group, b_priv, priv_len, &b), TD_OK);
    TD_EXPECT_EQ(td_kex_public(a, pub, sizeof(pub), &n), TD_OK);
    TD_EXPECT_MEM(pub, n, a_pub, pub_len);
    TD_EXPECT_EQ(td_kex_public(a, pub, pub_len - 1, &n), TD_ERR_ARG);
    TD_EXPECT_EQ(td_kex_public(b, pub, sizeof(pub), &n), TD_OK);
    TD_EXPECT_MEM(pub, n, b_pub, pub_len);
    td_diag_clear(&diag);
    TD_EXPECT_EQ(td_kex_derive(a, b_pub, pub_len, s1, sizeof(s1), &n1, &diag), TD_OK);
    TD_EXPECT_EQ(td_kex_derive(b, a_pub, pub_len, s2, sizeof(s2), &n2, NULL), TD_OK);
    TD_EXPECT_MEM(s1, n1, shared, shared_len);
    TD_EXPECT_MEM(s2, n2, shared, shared_len);
    TD_EXPECT_EQ(diag.err, TD_OK);
    TD_EXPECT_EQ(td_kex_derive(a, b_pub, pub_len, s1, shared_len - 1, &n1, NULL), TD_ERR_ARG);
    td_kex_free(a);
    td_kex_free(b);
}

static void test_x448_rfc7748(void)
{
    /* RFC 7748 §6.2. */
    size_t n, l1, l2, l3, l4;
    uint8_t *ap = unhex("9a8f4925d1519f5775cf46b04b5800d4ee9ee8bae8bc5565d498c28d"
                        "d9c9baf574a9419744897391006382a6f127ab1d9ac2d8c0a598726b",
                        &l1);
    uint8_t *aq = unhex("9b08f7cc31b7e3e67d22d5aea121074a273bd2b83de09c63faa73d2c"
                        "22c5d9bbc836647241d953d40c5b12da88120d53177f80e532c41fa0",
                        &l2);
    uint8_t *bp = unhex("1c306a7ac2a0e2e0990b294470cba339e6453772b075811d8fad0d1d"
                        "6927c120bb5ee8972b0d3e21374c9c921b09d1b0366f10b65173992d",
                        &l3);
    uint8_t *bq = unhex("3eb7a829b0cd20f5bcfc0b599b6feccf6da4627107bdb0d4f345b430"
                        "27d8b972fc3e34fb4232a13ca706dcb57aec3dae07bdc1c67bf33609",
                        &l4);
    uint8_t *k = unhex("07fff4181ac6cc95ec1c16a94a0f74d12da232ce40a77552281d282b"
                       "b60c0b56fd2464c335543936521c24403085d59a449a5037514a879d",
                       &n);
    check_kex_pair(TD_GROUP_X448, ap, aq, bp, bq, 56, 56, k, n);
    free(ap), free(aq), free(bp), free(bq), free(k);
}

static void test_x25519_rfc7748(void)
{
    /* RFC 7748 §6.1. */
    size_t n, l1, l2, l3, l4;
    uint8_t *ap = unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", &l1);
    uint8_t *aq = unhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", &l2);
    uint8_t *bp = unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", &l3);
    uint8_t *bq = unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", &l4);
    uint8_t *k = unhex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", &n);
    check_kex_pair(TD_GROUP_X25519, ap, aq, bp, bq, 32, 32, k, n);
    free(ap), free(aq), free(bp), free(bq), free(k);
}

/* An RFC 8448 trace's key pairs for |group|: the client's and server's
 * "create an ephemeral ... key pair" steps, and the ECDHE secret (the IKM
 * of the server's handshake-secret extraction). */
static void check_rfc8448_kex(int section, uint16_t group, const char *step)
{
    size_t l1 = 0, l2 = 0, l3 = 0, l4 = 0, l5 = 0;
    uint8_t *cp = tsv_get(section, "client", step, "private key", &l1);
    uint8_t *cq = tsv_get(section, "client", step, "public key", &l2);
    uint8_t *sp = tsv_get(section, "server", step, "private key", &l3);
    uint8_t *sq = tsv_get(section, "server", step, "public key", &l4);
    uint8_t *ikm = tsv_get(section, "server", "extract secret \"handshake\"", "IKM", &l5);
    TD_EXPECT(cp && cq && sp && sq && ikm);
    if (cp && cq && sp && sq && ikm && l1 == l3 && l2 == l4)
        check_kex_pair(group, cp, cq, sp, sq, l1, l2, ikm, l5);
    free(cp), free(cq), free(sp), free(sq), free(ikm);
}

static void test_kex_rfc8448(void)
{
    check_rfc8448_kex(3, TD_GROUP_X25519, "create an ephemeral x25519 key pair");
    check_rfc8448_kex(5, TD_GROUP_SECP256R1, "create an ephemeral P-256 key pair");
}

static void test_kex_generate(void)
{
    static const uint16_t groups[] = {TD_GROUP_X25519, TD_GROUP_SECP256R1, TD_GROUP_SECP384R1,
                                      TD_GROUP_X448};
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
        td_drbg d1, d2, d3;
        td_kex *k1 = NULL, *k2 = NULL, *k3 = NULL;
        uint8_t p1[TD_MAX_SHARE_LEN], p2[TD_MAX_SHARE_LEN], p3[TD_MAX_SHARE_LEN];
        uint8_t s1[TD_MAX_ECDH_LEN], s2[TD_MAX_ECDH_LEN];
        size_t n1 = 0, n2 = 0, n3 = 0, m1 = 0, m2 = 0;
        td_drbg_init(&d1, (const uint8_t *)"kex", 3, "a");
        td_drbg_init(&d2, (const uint8_t *)"kex", 3, "a");
        td_drbg_init(&d3, (const uint8_t *)"kex", 3, "b");
        TD_REQUIRE(td_kex_generate(g_crypto, groups[i], &d1, &k1) == TD_OK);
        TD_REQUIRE(td_kex_generate(g_crypto, groups[i], &d2, &k2) == TD_OK);
        TD_REQUIRE(td_kex_generate(g_crypto, groups[i], &d3, &k3) == TD_OK);
        TD_EXPECT_EQ(td_kex_public(k1, p1, sizeof(p1), &n1), TD_OK);
        TD_EXPECT_EQ(td_kex_public(k2, p2, sizeof(p2), &n2), TD_OK);
        TD_EXPECT_EQ(td_kex_public(k3, p3, sizeof(p3), &n3), TD_OK);
        TD_EXPECT_EQ(n1, td_group_share_len(groups[i]));
        TD_EXPECT_MEM(p1, n1, p2, n2);                  /* same DRBG state, same key */
        TD_EXPECT(n1 != n3 || memcmp(p1, p3, n1) != 0); /* different stream, different key */
        /* Two fresh parties agree. */
        TD_EXPECT_EQ(td_kex_derive(k1, p3, n3, s1, sizeof(s1), &m1, NULL), TD_OK);
        TD_EXPECT_EQ(td_kex_derive(k3, p1, n1, s2, sizeof(s2), &m2, NULL), TD_OK);
        TD_EXPECT_MEM(s1, m1, s2, m2);
        /* The DRBG advanced by exactly the private key length (no retry is
         * expected for these seeds). */
        TD_EXPECT_EQ(d1.total, groups[i] == TD_GROUP_SECP384R1 ? 48
                               : groups[i] == TD_GROUP_X448    ? 56
                                                               : 32);
        td_kex_free(k1), td_kex_free(k2), td_kex_free(k3);
    }
    td_drbg d;
    td_kex *k = NULL;
    td_drbg_init(&d, NULL, 0, "x");
    TD_EXPECT_EQ(td_kex_generate(g_crypto, 0x0103 /* ffdhe6144 */, &d, &k), TD_ERR_UNSUPPORTED);
    TD_EXPECT(k == NULL);
    td_kex_free(NULL);
}

/* NIST private keys outside [1, n-1] are refused. */
static void test_kex_private_range(void)
{
    static const char *const n256 =
        "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
    uint8_t zero[32] = {0}, one[32] = {0};
    one[31] = 1;
    size_t n;
    uint8_t *order = unhex(n256, &n);
    td_kex *k = NULL;
    TD_EXPECT_EQ(td_kex_from_private(g_crypto, TD_GROUP_SECP256R1, zero, 32, &k), TD_ERR_ARG);
    TD_EXPECT_EQ(td_kex_from_private(g_crypto, TD_GROUP_SECP256R1, order, 32, &k), TD_ERR_ARG);
    TD_EXPECT(k == NULL);
    order[31]--; /* n - 1 */
    TD_EXPECT_EQ(td_kex_from_private(g_crypto, TD_GROUP_SECP256R1, order, 32, &k), TD_OK);
    td_kex_free(k);
    k = NULL;
    TD_EXPECT_EQ(td_kex_from_private(g_crypto, TD_GROUP_SECP256R1, one, 32, &k), TD_OK);
    uint8_t pub[TD_MAX_SHARE_LEN];
    size_t pn = 0;
    TD_EXPECT_EQ(td_kex_public(k, pub, sizeof(pub), &pn), TD_OK);
    uint8_t *gen = unhex("046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
                         "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5",
                         &n);
    TD_EXPECT_MEM(pub, pn, gen, n); /* 1*G = G */
    td_kex_free(k);
    k = NULL;
    TD_EXPECT_EQ(td_kex_from_private(g_crypto, TD_GROUP_SECP256R1, one, 31, &k), TD_ERR_ARG);
    TD_EXPECT_EQ(td_kex_from_private(g_crypto, TD_GROUP_X25519, one, 31, &k), TD_ERR_ARG);
    TD_EXPECT_EQ(td_kex_from_private(g_crypto, 0x0103, one, 32, &k), TD_ERR_UNSUPPORTED);
    /* ffdhe2048: an exponent below 2 is refused; x = 2 gives Y = 2^2 = 4. */
    TD_EXPECT_EQ(td_kex_from_private(g_crypto, TD_GROUP_FFDHE2048, one, 32, &k), TD_ERR_ARG);
    uint8_t two[32] = {0}, four[256] = {0};
    two[31] = 2;
    four[255] = 4;
    TD_REQUIRE(td_kex_from_private(g_crypto, TD_GROUP_FFDHE2048, two, 32, &k) == TD_OK);
    TD_REQUIRE(td_kex_public(k, pub, sizeof(pub), &pn) == TD_OK);
    TD_EXPECT_MEM(pub, pn, four, sizeof(four));
    td_kex_free(k);
    k = NULL;
    free(order), free(gen);
}

/* Invalid peer shares (RFC 8446 §4.2.8.2, §7.4.2): error class AND rule. */
static void test_kex_bad_peer(void)
{
    enum {
        PUB_OK,
        PUB_FLIP_LAST,
        PUB_FORM,
        PUB_HYBRID,
        PUB_ZERO_XY,
        PUB_X_TOO_BIG,
        PUB_ZERO,
        PUB_ONE,
        PUB_NONE
    };
    static const struct {
        const char *what;
        uint16_t group;
        size_t len;
        int mutate;
        uint8_t form;
        td_rule rule;
    } cases[] = {
        {"x25519 31 bytes", TD_GROUP_X25519, 31, PUB_OK, 0, TD_RULE_KS_BAD_LENGTH},
        {"x25519 33 bytes", TD_GROUP_X25519, 33, PUB_OK, 0, TD_RULE_KS_BAD_LENGTH},
        {"x25519 empty", TD_GROUP_X25519, 0, PUB_NONE, 0, TD_RULE_KS_BAD_LENGTH},
        {"x25519 all-zero public", TD_GROUP_X25519, 32, PUB_ZERO, 0, TD_RULE_KS_X_ZERO_SECRET},
        {"x25519 u=1 (small order)", TD_GROUP_X25519, 32, PUB_ONE, 0, TD_RULE_KS_X_ZERO_SECRET},
        {"x448 all-zero public", TD_GROUP_X448, 56, PUB_ZERO, 0, TD_RULE_KS_X_ZERO_SECRET},
        {"x448 55 bytes", TD_GROUP_X448, 55, PUB_OK, 0, TD_RULE_KS_BAD_LENGTH},
        {"p256 64 bytes", TD_GROUP_SECP256R1, 64, PUB_OK, 0, TD_RULE_KS_BAD_LENGTH},
        {"p256 66 bytes", TD_GROUP_SECP256R1, 66, PUB_OK, 0, TD_RULE_KS_BAD_LENGTH},
        {"p256 compressed 33 bytes", TD_GROUP_SECP256R1, 33, PUB_FORM, 0x02, TD_RULE_KS_BAD_LENGTH},
        {"p256 empty", TD_GROUP_SECP256R1, 0, PUB_NONE, 0, TD_RULE_KS_BAD_LENGTH},
        {"p256 form 0x02", TD_GROUP_SECP256R1, 65, PUB_FORM, 0x02, TD_RULE_KS_EC_INVALID_POINT},
        {"p256 form 0x03", TD_GROUP_SECP256R1, 65, PUB_FORM, 0x03, TD_RULE_KS_EC_INVALID_POINT},
        {"p256 form 0x06 (hybrid)", TD_GROUP_SECP256R1, 65, PUB_FORM, 0x06,
         TD_RULE_KS_EC_INVALID_POINT},
        /* The hybrid form with y's parity right: OpenSSL's decoder takes it as the same
         * point, only the legacy_form check refuses it. */
        {"p256 hybrid form, right parity", TD_GROUP_SECP256R1, 65, PUB_HYBRID, 0,
         TD_RULE_KS_EC_INVALID_POINT},
        {"p384 hybrid form, right parity", TD_GROUP_SECP384R1, 97, PUB_HYBRID, 0,
         TD_RULE_KS_EC_INVALID_POINT},
        {"p256 form 0x00 (infinity)", TD_GROUP_SECP256R1, 65, PUB_FORM, 0x00,
         TD_RULE_KS_EC_INVALID_POINT},
        {"p256 not on curve", TD_GROUP_SECP256R1, 65, PUB_FLIP_LAST, 0,
         TD_RULE_KS_EC_INVALID_POINT},
        {"p256 (0,0)", TD_GROUP_SECP256R1, 65, PUB_ZERO_XY, 0, TD_RULE_KS_EC_INVALID_POINT},
        {"p256 x >= p", TD_GROUP_SECP256R1, 65, PUB_X_TOO_BIG, 0, TD_RULE_KS_EC_INVALID_POINT},
        {"p384 65 bytes", TD_GROUP_SECP384R1, 65, PUB_OK, 0, TD_RULE_KS_BAD_LENGTH},
        {"p384 not on curve", TD_GROUP_SECP384R1, 97, PUB_FLIP_LAST, 0,
         TD_RULE_KS_EC_INVALID_POINT},
        {"p384 form 0x02", TD_GROUP_SECP384R1, 97, PUB_FORM, 0x02, TD_RULE_KS_EC_INVALID_POINT},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        td_drbg d;
        td_kex *own = NULL, *peer = NULL;
        uint8_t share[TD_MAX_SHARE_LEN + 8] = {0}, out[TD_MAX_ECDH_LEN];
        size_t n = 0, out_len = 99;
        td_diag diag;
        td_test_current = cases[i].what;
        td_drbg_init(&d, (const uint8_t *)"bad", 3, cases[i].what);
        TD_REQUIRE(td_kex_generate(g_crypto, cases[i].group, &d, &own) == TD_OK);
        TD_REQUIRE(td_kex_generate(g_crypto, cases[i].group, &d, &peer) == TD_OK);
        TD_REQUIRE(td_kex_public(peer, share, sizeof(share), &n) == TD_OK);
        size_t flen = (n - 1) / 2;
        switch (cases[i].mutate) {
        case PUB_FLIP_LAST: share[n - 1] ^= 0x01; break;
        case PUB_FORM: share[0] = cases[i].form; break;
        case PUB_HYBRID: share[0] = (uint8_t)(0x06 | (share[n - 1] & 1)); break;
        case PUB_ZERO_XY: memset(share + 1, 0, n - 1); break;
        case PUB_X_TOO_BIG: memset(share + 1, 0xff, flen); break;
        case PUB_ZERO: memset(share, 0, n); break;
        case PUB_ONE:
            memset(share, 0, n);
            share[0] = 1;
            break;
        default: break;
        }
        td_diag_clear(&diag);
        td_err err = td_kex_derive(own, cases[i].mutate == PUB_NONE ? NULL : share, cases[i].len,
                                   out, sizeof(out), &out_len, &diag);
        TD_EXPECT_EQ(err, TD_ERR_ILLEGAL_PARAMETER);
        TD_EXPECT_EQ(diag.err, TD_ERR_ILLEGAL_PARAMETER);
        TD_EXPECT_EQ(diag.rule, cases[i].rule);
        TD_EXPECT(diag.text[0] != '\0');
        TD_EXPECT_EQ(out_len, 0);
        /* The key is still usable with a good share afterwards. */
        TD_EXPECT_EQ(td_kex_public(peer, share, sizeof(share), &n), TD_OK);
        TD_EXPECT_EQ(td_kex_derive(own, share, n, out, sizeof(out), &out_len, NULL), TD_OK);
        td_kex_free(own);
        td_kex_free(peer);
    }
}

/* ---- keys, signatures, certificates ---- */

#define CERTS TD_VECTORS_DIR "/certs/"

static td_pkey *load_key(const char *name)
{
    size_t len = 0;
    uint8_t *pem = (uint8_t *)td_test_read(name, &len);
    td_pkey *k = NULL;
    if (pem == NULL || td_pkey_from_pem(g_crypto, (const char *)pem, len, &k) != TD_OK)
        k = NULL;
    free(pem);
    return k;
}

/* The first certificate of a PEM file as DER (owned list). */
static td_der *load_certs(const char *name, size_t *num)
{
    size_t len = 0;
    uint8_t *pem = (uint8_t *)td_test_read(name, &len);
    td_der *list = NULL;
    *num = 0;
    if (pem == NULL || td_certs_from_pem((const char *)pem, len, &list, num) != TD_OK)
        list = NULL;
    free(pem);
    return list;
}

static td_pkey *load_cert_key(const char *name)
{
    size_t num = 0;
    td_der *list = load_certs(name, &num);
    td_pkey *k = NULL;
    if (list == NULL || td_pkey_from_cert_der(g_crypto, list[0].data, list[0].len, &k) != TD_OK)
        k = NULL;
    td_der_list_free(list, num);
    return k;
}

static const struct {
    const char *key, *cert;
    td_key_type type;
    uint16_t scheme;
    bool randomised;
} sig_cases[] = {
    {CERTS "server-p256.key", CERTS "server-p256.pem", TD_KEY_EC_P256,
     TD_SIG_ECDSA_SECP256R1_SHA256, true},
    {CERTS "server-p256.trad.key", CERTS "server-p256.pem", TD_KEY_EC_P256,
     TD_SIG_ECDSA_SECP256R1_SHA256, true},
    {CERTS "client-p256.key", CERTS "client-p256.pem", TD_KEY_EC_P256,
     TD_SIG_ECDSA_SECP256R1_SHA256, true},
    {CERTS "server-p384.key", CERTS "server-p384.pem", TD_KEY_EC_P384,
     TD_SIG_ECDSA_SECP384R1_SHA384, true},
    {CERTS "server-rsa2048.key", CERTS "server-rsa2048.pem", TD_KEY_RSA, TD_SIG_RSA_PSS_RSAE_SHA256,
     true},
    {CERTS "server-rsa2048.key", CERTS "server-rsa2048.pem", TD_KEY_RSA, TD_SIG_RSA_PSS_RSAE_SHA384,
     true},
    {CERTS "server-rsa2048.trad.key", CERTS "server-rsa2048.pem", TD_KEY_RSA,
     TD_SIG_RSA_PSS_RSAE_SHA512, true},
    {CERTS "server-ed25519.key", CERTS "server-ed25519.pem", TD_KEY_ED25519, TD_SIG_ED25519, false},
};

static void test_pem_keys(void)
{
    for (size_t i = 0; i < sizeof(sig_cases) / sizeof(sig_cases[0]); i++) {
        td_pkey *k = load_key(sig_cases[i].key), *p = load_cert_key(sig_cases[i].cert);
        td_test_current = sig_cases[i].key;
        TD_EXPECT(k != NULL && p != NULL);
        TD_EXPECT_EQ(td_pkey_type(k), sig_cases[i].type);
        TD_EXPECT_EQ(td_pkey_type(p), sig_cases[i].type);
        TD_EXPECT(td_pkey_is_private(k));
        TD_EXPECT(!td_pkey_is_private(p));
        td_pkey_free(k);
        td_pkey_free(p);
    }
    /* Empty, not PEM, a body that is not a key, a block with no END line. */
    static const char *const bad[] = {
        "",
        "garbage",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        td_pkey *k = NULL;
        TD_EXPECT_EQ(td_pkey_from_pem(g_crypto, bad[i], strlen(bad[i]), &k), TD_ERR_FORMAT);
        TD_EXPECT(k == NULL);
    }
    td_pkey *k = NULL;
    TD_EXPECT_EQ(td_pkey_from_pem(g_crypto, NULL, 0, &k), TD_ERR_FORMAT);
    TD_EXPECT(load_key(CERTS "ca.pem") == NULL); /* a certificate is not a key */
    /* Encrypted keys are refused (TD_ERR_FORMAT), never prompted for. */
    size_t len = 0;
    uint8_t *enc = (uint8_t *)td_test_read(CERTS "server-p256.encrypted.key", &len);
    TD_REQUIRE(enc != NULL);
    TD_EXPECT_EQ(td_pkey_from_pem(g_crypto, (const char *)enc, len, &k), TD_ERR_FORMAT);
    free(enc);
    td_pkey_free(NULL);
}

static void test_certs_from_pem(void)
{
    size_t num = 0, n1 = 0, n2 = 0;
    td_der *chain = load_certs(CERTS "server-rsa2048.chain.pem", &num);
    td_der *leaf = load_certs(CERTS "server-rsa2048.pem", &n1);
    td_der *ca = load_certs(CERTS "ca.pem", &n2);
    TD_REQUIRE(chain != NULL && leaf != NULL && ca != NULL);
    TD_EXPECT_EQ(num, 2);
    TD_EXPECT_EQ(n1, 1);
    TD_EXPECT_EQ(n2, 1);
    TD_EXPECT_MEM(chain[0].data, chain[0].len, leaf[0].data, leaf[0].len);
    TD_EXPECT_MEM(chain[1].data, chain[1].len, ca[0].data, ca[0].len);
    TD_EXPECT_EQ(chain[0].data[0], 0x30); /* DER SEQUENCE */
    td_der_list_free(chain, num);
    td_der_list_free(leaf, n1);
    td_der_list_free(ca, n2);

    /* Only non-certificate blocks, no PEM at all, or a broken block. */
    size_t len = 0;
    uint8_t *keypem = (uint8_t *)td_test_read(CERTS "server-p256.key", &len);
    td_der *list = NULL;
    TD_REQUIRE(keypem != NULL);
    TD_EXPECT_EQ(td_certs_from_pem((const char *)keypem, len, &list, &num), TD_ERR_FORMAT);
    free(keypem);
    static const char *const bad[] = {
        "",
        "not pem",
        "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n", /* DER, not X.509 */
        "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n",                /* no END line */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        TD_EXPECT_EQ(td_certs_from_pem(bad[i], strlen(bad[i]), &list, &num), TD_ERR_FORMAT);
        TD_EXPECT(list == NULL && num == 0);
    }
    td_der_list_free(NULL, 0);
}

static void test_pkey_from_cert_bad(void)
{
    size_t num = 0;
    td_der *leaf = load_certs(CERTS "server-p256.pem", &num);
    TD_REQUIRE(leaf != NULL);
    size_t len = leaf[0].len;
    uint8_t *buf = malloc(len + 1);
    TD_REQUIRE(buf != NULL);
    memcpy(buf, leaf[0].data, len);
    buf[len] = 0;
    td_pkey *k = NULL;
    TD_EXPECT_EQ(td_pkey_from_cert_der(g_crypto, buf, len, &k), TD_OK);
    td_pkey_free(k);
    k = NULL;
    TD_EXPECT_EQ(td_pkey_from_cert_der(g_crypto, buf, len + 1, &k),
                 TD_ERR_DECODE); /* trailing byte */
    TD_EXPECT_EQ(td_pkey_from_cert_der(g_crypto, buf, len - 1, &k), TD_ERR_DECODE); /* truncated */
    TD_EXPECT_EQ(td_pkey_from_cert_der(g_crypto, buf, 1, &k), TD_ERR_DECODE);
    TD_EXPECT_EQ(td_pkey_from_cert_der(g_crypto, buf, 0, &k), TD_ERR_DECODE);
    TD_EXPECT_EQ(td_pkey_from_cert_der(g_crypto, NULL, 0, &k), TD_ERR_DECODE);
    static const uint8_t not_cert[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    TD_EXPECT_EQ(td_pkey_from_cert_der(g_crypto, not_cert, sizeof(not_cert), &k), TD_ERR_DECODE);
    /* Every single-byte corruption of the outer header is refused or parses:
     * it must not crash (ASan proves it). */
    for (size_t i = 0; i < 8; i++) {
        buf[i] ^= 0x80;
        if (td_pkey_from_cert_der(g_crypto, buf, len, &k) == TD_OK)
            td_pkey_free(k);
        k = NULL;
        buf[i] ^= 0x80;
    }
    TD_EXPECT(k == NULL);
    free(buf);
    td_der_list_free(leaf, num);
}

static void test_sign_verify(void)
{
    static const uint8_t msg[] = "TLS 1.3, server CertificateVerify test content";
    for (size_t i = 0; i < sizeof(sig_cases) / sizeof(sig_cases[0]); i++) {
        td_pkey *k = load_key(sig_cases[i].key), *p = load_cert_key(sig_cases[i].cert);
        uint16_t scheme = sig_cases[i].scheme;
        uint8_t s1[TD_MAX_SIG_LEN], s2[TD_MAX_SIG_LEN], s3[TD_MAX_SIG_LEN];
        size_t n1 = 0, n2 = 0, n3 = 0;
        td_drbg d1, d2, d3;
        td_test_current = td_sig_name(scheme);
        TD_REQUIRE(k != NULL && p != NULL);
        TD_EXPECT(td_pkey_supports_scheme(k, scheme));
        TD_EXPECT(td_pkey_supports_scheme(p, scheme));
        td_drbg_init(&d1, (const uint8_t *)"sig", 3, "one");
        td_drbg_init(&d2, (const uint8_t *)"sig", 3, "one");
        td_drbg_init(&d3, (const uint8_t *)"sig", 3, "two");
        TD_EXPECT_EQ(td_sign(g_crypto, k, scheme, &d1, msg, sizeof(msg), s1, sizeof(s1), &n1),
                     TD_OK);
        TD_EXPECT_EQ(td_sign(g_crypto, k, scheme, &d2, msg, sizeof(msg), s2, sizeof(s2), &n2),
                     TD_OK);
        TD_EXPECT_EQ(td_sign(g_crypto, k, scheme, &d3, msg, sizeof(msg), s3, sizeof(s3), &n3),
                     TD_OK);
        /* Deterministic given the DRBG; randomised schemes differ across streams. */
        TD_EXPECT_MEM(s1, n1, s2, n2);
        if (sig_cases[i].randomised) {
            TD_EXPECT(n1 != n3 || memcmp(s1, s3, n1) != 0);
            TD_EXPECT(d1.total > 0);
        } else {
            TD_EXPECT_MEM(s1, n1, s3, n3);
            TD_EXPECT_EQ(d1.total, 0);
        }
        if (sig_cases[i].type == TD_KEY_RSA)
            TD_EXPECT_EQ(n1, 256);
        if (sig_cases[i].type == TD_KEY_ED25519)
            TD_EXPECT_EQ(n1, 64);
        /* Verifies under the certificate's key and the private key. */
        TD_EXPECT_EQ(td_verify(g_crypto, p, scheme, msg, sizeof(msg), s1, n1), TD_OK);
        TD_EXPECT_EQ(td_verify(g_crypto, k, scheme, msg, sizeof(msg), s3, n3), TD_OK);
        /* Tampering: any flipped bit of the signature or the message, a
         * truncated or extended or empty signature. */
        size_t flips[] = {0, n1 / 2, n1 - 1};
        for (size_t f = 0; f < 3; f++) {
            s1[flips[f]] ^= 0x04;
            TD_EXPECT_EQ(td_verify(g_crypto, p, scheme, msg, sizeof(msg), s1, n1), TD_ERR_DECRYPT);
            s1[flips[f]] ^= 0x04;
        }
        uint8_t m2[sizeof(msg)];
        memcpy(m2, msg, sizeof(msg));
        m2[3] ^= 1;
        TD_EXPECT_EQ(td_verify(g_crypto, p, scheme, m2, sizeof(m2), s1, n1), TD_ERR_DECRYPT);
        TD_EXPECT_EQ(td_verify(g_crypto, p, scheme, msg, sizeof(msg), s1, n1 - 1), TD_ERR_DECRYPT);
        s1[n1] = 0;
        TD_EXPECT_EQ(td_verify(g_crypto, p, scheme, msg, sizeof(msg), s1, n1 + 1), TD_ERR_DECRYPT);
        TD_EXPECT_EQ(td_verify(g_crypto, p, scheme, msg, sizeof(msg), NULL, 0), TD_ERR_DECRYPT);
        TD_EXPECT_EQ(td_verify(g_crypto, p, scheme, msg, sizeof(msg), s1, 0), TD_ERR_DECRYPT);
        TD_EXPECT_EQ(td_verify(g_crypto, p, scheme, msg, sizeof(msg), s1, n1), TD_OK);
        /* Empty message. */
        TD_EXPECT_EQ(td_sign(g_crypto, k, scheme, &d1, NULL, 0, s2, sizeof(s2), &n2), TD_OK);
        TD_EXPECT_EQ(td_verify(g_crypto, p, scheme, NULL, 0, s2, n2), TD_OK);
        /* Too small an output buffer. */
        TD_EXPECT_EQ(td_sign(g_crypto, k, scheme, &d1, msg, sizeof(msg), s2, 8, &n2), TD_ERR_ARG);
        /* A public key cannot sign. */
        TD_EXPECT_EQ(td_sign(g_crypto, p, scheme, &d1, msg, sizeof(msg), s2, sizeof(s2), &n2),
                     TD_ERR_ARG);
        td_pkey_free(k);
        td_pkey_free(p);
    }
}

/* RFC 8446 §4.2.3: which scheme fits which key; a misfit is refused by
 * sign (TD_ERR_ARG) and verify (TD_ERR_ILLEGAL_PARAMETER). */
static void test_scheme_fit(void)
{
    static const uint16_t all[] = {
        TD_SIG_RSA_PKCS1_SHA256,
        TD_SIG_RSA_PKCS1_SHA384,
        TD_SIG_RSA_PKCS1_SHA512,
        TD_SIG_ECDSA_SECP256R1_SHA256,
        TD_SIG_ECDSA_SECP384R1_SHA384,
        TD_SIG_ECDSA_SECP521R1_SHA512,
        TD_SIG_RSA_PSS_RSAE_SHA256,
        TD_SIG_RSA_PSS_RSAE_SHA384,
        TD_SIG_RSA_PSS_RSAE_SHA512,
        TD_SIG_ED25519,
        TD_SIG_ED448,
        TD_SIG_RSA_PSS_PSS_SHA256,
        TD_SIG_RSA_PSS_PSS_SHA384,
        TD_SIG_RSA_PSS_PSS_SHA512,
        TD_SIG_RSA_PKCS1_SHA1,
        TD_SIG_ECDSA_SHA1,
        0x0000,
        0xfefe,
    };
    static const struct {
        const char *key;
        uint16_t ok[3];
    } keys[] = {
        {CERTS "server-rsa2048.key",
         {TD_SIG_RSA_PSS_RSAE_SHA256, TD_SIG_RSA_PSS_RSAE_SHA384, TD_SIG_RSA_PSS_RSAE_SHA512}},
        {CERTS "server-p256.key", {TD_SIG_ECDSA_SECP256R1_SHA256}},
        {CERTS "server-p384.key", {TD_SIG_ECDSA_SECP384R1_SHA384}},
        {CERTS "server-ed25519.key", {TD_SIG_ED25519}},
    };
    static const uint8_t msg[] = "m";
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        td_pkey *k = load_key(keys[i].key);
        td_test_current = keys[i].key;
        TD_REQUIRE(k != NULL);
        for (size_t s = 0; s < sizeof(all) / sizeof(all[0]); s++) {
            bool want = false;
            for (size_t j = 0; j < 3; j++)
                want |= keys[i].ok[j] != 0 && keys[i].ok[j] == all[s];
            TD_EXPECT_EQ(td_pkey_supports_scheme(k, all[s]), want);
            if (want)
                continue;
            uint8_t sig[TD_MAX_SIG_LEN];
            size_t n = 0;
            td_drbg d;
            td_drbg_init(&d, NULL, 0, "fit");
            TD_EXPECT_EQ(td_sign(g_crypto, k, all[s], &d, msg, 1, sig, sizeof(sig), &n),
                         TD_ERR_ARG);
            bool pkcs1_rsa = td_pkey_type(k) == TD_KEY_RSA && (all[s] == TD_SIG_RSA_PKCS1_SHA256 ||
                                                               all[s] == TD_SIG_RSA_PKCS1_SHA384 ||
                                                               all[s] == TD_SIG_RSA_PKCS1_SHA512);
            memset(sig, 0, sizeof(sig));
            TD_EXPECT_EQ(td_verify(g_crypto, k, all[s], msg, 1, sig, 64),
                         pkcs1_rsa ? TD_ERR_DECRYPT : TD_ERR_ILLEGAL_PARAMETER);
        }
        td_pkey_free(k);
    }
    TD_EXPECT(!td_pkey_supports_scheme(NULL, TD_SIG_ED25519));
    TD_EXPECT(strcmp(td_sig_name(TD_SIG_RSA_PSS_RSAE_SHA256), "rsa_pss_rsae_sha256") == 0);
    TD_EXPECT(strcmp(td_sig_name(TD_SIG_ECDSA_SECP256R1_SHA256), "ecdsa_secp256r1_sha256") == 0);
    TD_EXPECT(strcmp(td_sig_name(TD_SIG_ED25519), "ed25519") == 0);
    TD_EXPECT(td_sig_name(0xfefe) == NULL);
}

/* Pinned signatures from fixed keys, computed independently (Python:
 * pyca/cryptography for the curve arithmetic and a model of the DRBG
 * documented in engine/drbg.c; RFC 8032 for Ed25519). The ECDSA pin fixes
 * how the nonce is drawn: changing it breaks replay of recorded runs. */
static void test_sign_pinned(void)
{
    /* P-256 private key = the RFC 8448 §5 client's ephemeral scalar. */
    static const char p256_pem[] =
        "-----BEGIN PRIVATE KEY-----\n"
        "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgq1RzRn4ZNGzrCgQU\n"
        "5B2iHU0kRbwwJa/pfE6NyNUT2jmhRANCAASm2nOS7FkeF6v9U1lkuZiU0TvvsiGz\n"
        "3vLr44MOrI8BUYEmd8TW0iN+hc8B1pEM+4OVTna6c1KDBTQVmJfoBleA\n"
        "-----END PRIVATE KEY-----\n";
    /* RFC 8032 §7.1 TEST 1 secret key. */
    static const char ed_pem[] =
        "-----BEGIN PRIVATE KEY-----\n"
        "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
        "-----END PRIVATE KEY-----\n";
    static const char *const ecdsa_want =
        "304402203020423619ae878afa6d0b7889396d87c832d87648e0dbf85d0a8ec79e55752d"
        "0220785324b9489d5bd365f9e76468fdec145e424c2b018a7923998ddb46e1a61c6a";
    static const char *const ed_want =
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
    static const char msg[] = "tlsdrill ecdsa pin";
    td_pkey *k = NULL;
    uint8_t sig[TD_MAX_SIG_LEN];
    size_t n = 0, wn = 0;
    td_drbg d;
    uint8_t *want;

    TD_REQUIRE(td_pkey_from_pem(g_crypto, p256_pem, sizeof(p256_pem) - 1, &k) == TD_OK);
    TD_EXPECT_EQ(td_pkey_type(k), TD_KEY_EC_P256);
    td_drbg_init(&d, (const uint8_t *)"pin", 3, "ecdsa");
    TD_EXPECT_EQ(td_sign(g_crypto, k, TD_SIG_ECDSA_SECP256R1_SHA256, &d, (const uint8_t *)msg,
                         strlen(msg), sig, sizeof(sig), &n),
                 TD_OK);
    want = unhex(ecdsa_want, &wn);
    TD_EXPECT_MEM(sig, n, want, wn);
    TD_EXPECT_EQ(d.total, 32); /* one nonce draw */
    free(want);
    td_pkey_free(k);
    k = NULL;

    TD_REQUIRE(td_pkey_from_pem(g_crypto, ed_pem, sizeof(ed_pem) - 1, &k) == TD_OK);
    TD_EXPECT_EQ(td_pkey_type(k), TD_KEY_ED25519);
    TD_EXPECT_EQ(td_sign(g_crypto, k, TD_SIG_ED25519, &d, NULL, 0, sig, sizeof(sig), &n), TD_OK);
    want = unhex(ed_want, &wn);
    TD_EXPECT_MEM(sig, n, want, wn);
    TD_EXPECT_EQ(td_verify(g_crypto, k, TD_SIG_ED25519, NULL, 0, sig, n), TD_OK);
    free(want);
    td_pkey_free(k);
}

/* Signatures made by the openssl CLI (tools/gen_test_certs.sh). */
static void test_verify_openssl_signatures(void)
{
    static const char msg[] = "tlsdrill reference signature message";
    static const struct {
        const char *cert, *sig;
        uint16_t scheme;
        td_err want;
    } cases[] = {
        {CERTS "server-rsa2048.pem", CERTS "server-rsa2048.pkcs1-sha256.sig",
         TD_SIG_RSA_PKCS1_SHA256, TD_OK},
        {CERTS "server-rsa2048.pem", CERTS "server-rsa2048.pkcs1-sha256.sig",
         TD_SIG_RSA_PKCS1_SHA384, TD_ERR_DECRYPT},
        {CERTS "server-rsa2048.pem", CERTS "server-rsa2048.pkcs1-sha256.sig",
         TD_SIG_RSA_PSS_RSAE_SHA256, TD_ERR_DECRYPT},
        {CERTS "server-rsa2048.pem", CERTS "server-rsa2048.pss-sha256.sig",
         TD_SIG_RSA_PSS_RSAE_SHA256, TD_OK},
        {CERTS "server-rsa2048.pem", CERTS "server-rsa2048.pss-sha256.sig", TD_SIG_RSA_PKCS1_SHA256,
         TD_ERR_DECRYPT},
        /* RFC 8446 §4.2.3: the salt length MUST equal the digest length. */
        {CERTS "server-rsa2048.pem", CERTS "server-rsa2048.pss-sha256-maxsalt.sig",
         TD_SIG_RSA_PSS_RSAE_SHA256, TD_ERR_DECRYPT},
        {CERTS "server-p256.pem", CERTS "server-p256.ecdsa-sha256.sig",
         TD_SIG_ECDSA_SECP256R1_SHA256, TD_OK},
        {CERTS "client-p256.pem", CERTS "server-p256.ecdsa-sha256.sig",
         TD_SIG_ECDSA_SECP256R1_SHA256, TD_ERR_DECRYPT},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = 0;
        uint8_t *sig = (uint8_t *)td_test_read(cases[i].sig, &n);
        td_pkey *p = load_cert_key(cases[i].cert);
        td_test_current = cases[i].sig;
        TD_EXPECT(sig != NULL && p != NULL);
        if (sig != NULL && p != NULL)
            TD_EXPECT_EQ(
                td_verify(g_crypto, p, cases[i].scheme, (const uint8_t *)msg, strlen(msg), sig, n),
                cases[i].want);
        free(sig);
        td_pkey_free(p);
    }
    /* rsa_pkcs1 verifies, but is not a TLS 1.3 handshake scheme. */
    td_pkey *p = load_cert_key(CERTS "server-rsa2048.pem");
    TD_EXPECT(p != NULL && !td_pkey_supports_scheme(p, TD_SIG_RSA_PKCS1_SHA256));
    td_pkey_free(p);
}

/* The cert_data of the first CertificateEntry of a Certificate message
 * (RFC 8446 §4.4.2), parsed by hand. */
static bool first_cert(const uint8_t *m, size_t len, const uint8_t **cert, size_t *cert_len)
{
    if (len < 4 || m[0] != 11 || ((size_t)m[1] << 16 | (size_t)m[2] << 8 | m[3]) != len - 4)
        return false;
    size_t off = 4;
    if (off + 1 > len)
        return false;
    off += 1 + m[off]; /* certificate_request_context */
    if (off + 3 > len)
        return false;
    size_t list_len = (size_t)m[off] << 16 | (size_t)m[off + 1] << 8 | m[off + 2];
    off += 3;
    if (list_len != len - off || off + 3 > len)
        return false;
    *cert_len = (size_t)m[off] << 16 | (size_t)m[off + 1] << 8 | m[off + 2];
    off += 3;
    if (*cert_len > len - off)
        return false;
    *cert = m + off;
    return true;
}

/* An RFC 8448 CertificateVerify (RFC 8446 §4.4.3): signature over 64
 * spaces || context string || 0x00 || Transcript-Hash(messages). */
static void check_rfc8448_cv(int section, const char *cert_who, const char *cv_who,
                             const char *context, const char *const *transcript)
{
    size_t cm_len = 0, cv_len = 0;
    uint8_t *cm =
        tsv_get(section, cert_who, "construct a Certificate handshake", "Certificate", &cm_len);
    uint8_t *cv = tsv_get(section, cv_who, "construct a CertificateVerify handshake",
                          "CertificateVerify", &cv_len);
    td_hash_ctx *h = NULL;
    td_pkey *key = NULL;
    const uint8_t *cert = NULL;
    size_t cert_len = 0;
    TD_EXPECT(cm != NULL && cv != NULL);
    if (cm == NULL || cv == NULL)
        goto out;
    TD_EXPECT(first_cert(cm, cm_len, &cert, &cert_len));
    if (cert == NULL)
        goto out;
    TD_EXPECT_EQ(td_pkey_from_cert_der(g_crypto, cert, cert_len, &key), TD_OK);
    TD_EXPECT_EQ(td_pkey_type(key), TD_KEY_RSA);
    TD_EXPECT(cv_len > 8 && cv[0] == 15);
    if (key == NULL || cv_len <= 8)
        goto out;
    uint16_t scheme = (uint16_t)(cv[4] << 8 | cv[5]);
    size_t sig_len = (size_t)cv[6] << 8 | cv[7];
    TD_EXPECT_EQ(scheme, TD_SIG_RSA_PSS_RSAE_SHA256);
    TD_EXPECT_EQ(sig_len, cv_len - 8);
    TD_REQUIRE(td_hash_ctx_new(g_crypto, TD_HASH_SHA256, &h) == TD_OK);
    for (size_t i = 0; transcript[i] != NULL; i += 3) {
        size_t n = 0;
        uint8_t *m = tsv_get(section, transcript[i], transcript[i + 1], transcript[i + 2], &n);
        TD_EXPECT(m != NULL);
        if (m != NULL)
            TD_EXPECT_EQ(td_hash_ctx_update(h, m, n), TD_OK);
        free(m);
    }
    uint8_t content[64 + 34 + 1 + 32];
    size_t clen = strlen(context);
    TD_REQUIRE(clen == 33);
    memset(content, 0x20, 64);
    memcpy(content + 64, context, clen);
    content[64 + clen] = 0;
    TD_EXPECT_EQ(td_hash_ctx_peek(h, content + 64 + clen + 1), TD_OK);
    size_t content_len = 64 + clen + 1 + 32;
    TD_EXPECT_EQ(td_verify(g_crypto, key, scheme, content, content_len, cv + 8, sig_len), TD_OK);
    content[content_len - 1] ^= 1; /* a different transcript */
    TD_EXPECT_EQ(td_verify(g_crypto, key, scheme, content, content_len, cv + 8, sig_len),
                 TD_ERR_DECRYPT);
    content[content_len - 1] ^= 1;
    /* The other side's context string does not verify. */
    memcpy(content + 64,
           context[9] == 's' ? "TLS 1.3, client CertificateVerify"
                             : "TLS 1.3, server CertificateVerify",
           clen);
    TD_EXPECT_EQ(td_verify(g_crypto, key, scheme, content, content_len, cv + 8, sig_len),
                 TD_ERR_DECRYPT);
out:
    td_hash_ctx_free(h);
    td_pkey_free(key);
    free(cm);
    free(cv);
}

static void test_rfc8448_server_cv(void)
{
    static const char *const transcript[] = {
        "client", "construct a ClientHello handshake",         "ClientHello",
        "server", "construct a ServerHello handshake",         "ServerHello",
        "server", "construct a EncryptedExtensions handshake", "EncryptedExtensions",
        "server", "construct a Certificate handshake",         "Certificate",
        NULL,
    };
    check_rfc8448_cv(3, "server", "server", "TLS 1.3, server CertificateVerify", transcript);
}

static void test_rfc8448_client_cv(void)
{
    static const char *const transcript[] = {
        "client",
        "construct a ClientHello handshake",
        "ClientHello",
        "server",
        "construct a ServerHello handshake",
        "ServerHello",
        "server",
        "construct a EncryptedExtensions handshake",
        "EncryptedExtensions",
        "server",
        "construct a CertificateRequest handshake",
        "CertificateRequest",
        "server",
        "construct a Certificate handshake",
        "Certificate",
        "server",
        "construct a CertificateVerify handshake",
        "CertificateVerify",
        "server",
        "construct a Finished handshake",
        "Finished",
        "client",
        "construct a Certificate handshake",
        "Certificate",
        NULL,
    };
    check_rfc8448_cv(6, "client", "client", "TLS 1.3, client CertificateVerify", transcript);
}

static void test_chain_verify(void)
{
    static const char *const leaves[] = {
        CERTS "server-p256.chain.pem",    CERTS "server-p384.chain.pem",
        CERTS "server-rsa2048.chain.pem", CERTS "server-ed25519.chain.pem",
        CERTS "client-p256.chain.pem",
    };
    size_t na = 0, no = 0;
    td_der *ca = load_certs(CERTS "ca.pem", &na), *other = load_certs(CERTS "other-ca.pem", &no);
    TD_REQUIRE(ca != NULL && other != NULL);
    for (size_t i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
        size_t n = 0;
        td_der *chain = load_certs(leaves[i], &n);
        td_diag diag;
        td_test_current = leaves[i];
        TD_REQUIRE(chain != NULL && n == 2);
        /* Leaf alone, and leaf + CA (the CA is the anchor itself). */
        TD_EXPECT_EQ(td_chain_verify(g_crypto, chain, 1, ca[0].data, ca[0].len, NULL), TD_OK);
        TD_EXPECT_EQ(td_chain_verify(g_crypto, chain, 2, ca[0].data, ca[0].len, NULL), TD_OK);
        /* Wrong anchor. */
        td_diag_clear(&diag);
        TD_EXPECT_EQ(td_chain_verify(g_crypto, chain, 1, other[0].data, other[0].len, &diag),
                     TD_ERR_DECRYPT);
        TD_EXPECT_EQ(diag.err, TD_ERR_DECRYPT);
        TD_EXPECT_EQ(td_chain_verify(g_crypto, chain, 2, other[0].data, other[0].len, NULL),
                     TD_ERR_DECRYPT);
        /* A leaf does not sign the CA: reversed order fails. */
        td_der rev[2] = {chain[1], chain[0]};
        TD_EXPECT_EQ(td_chain_verify(g_crypto, rev, 2, other[0].data, other[0].len, NULL),
                     TD_ERR_DECRYPT);
        /* RFC 8446 4.4.2: an unrelated certificate before the issuer, or
         * the issuer before an extra one, is tolerated (TOL-EXTRA-CERTS);
         * an unrelated anchor still fails. */
        td_der extra[3] = {chain[0], other[0], chain[1]};
        TD_EXPECT_EQ(td_chain_verify(g_crypto, extra, 3, ca[0].data, ca[0].len, NULL), TD_OK);
        td_der extra2[3] = {chain[0], chain[1], other[0]};
        TD_EXPECT_EQ(td_chain_verify(g_crypto, extra2, 3, ca[0].data, ca[0].len, NULL), TD_OK);
        TD_EXPECT_EQ(td_chain_verify(g_crypto, extra, 2, other[0].data, other[0].len, NULL),
                     TD_ERR_DECRYPT);
        /* A corrupted signature (last byte of the DER is in the signature). */
        chain[0].data[chain[0].len - 1] ^= 1;
        TD_EXPECT_EQ(td_chain_verify(g_crypto, chain, 1, ca[0].data, ca[0].len, NULL),
                     TD_ERR_DECRYPT);
        chain[0].data[chain[0].len - 1] ^= 1;
        /* Not a certificate. */
        td_diag_clear(&diag);
        td_der junk[2] = {{chain[0].data, 10}, chain[1]};
        TD_EXPECT_EQ(td_chain_verify(g_crypto, junk, 2, ca[0].data, ca[0].len, &diag),
                     TD_ERR_DECODE);
        TD_EXPECT_EQ(diag.offset, 0);
        TD_EXPECT_EQ(td_chain_verify(g_crypto, chain, 1, ca[0].data, 10, NULL), TD_ERR_DECODE);
        TD_EXPECT_EQ(td_chain_verify(g_crypto, chain, 1, NULL, 0, NULL), TD_ERR_DECODE);
        TD_EXPECT_EQ(td_chain_verify(g_crypto, chain, 0, ca[0].data, ca[0].len, NULL), TD_ERR_ARG);
        td_der_list_free(chain, n);
    }
    td_der_list_free(ca, na);
    td_der_list_free(other, no);
}

/* td_chain_verify_leaf: the same verdicts as td_chain_verify, and a leaf
 * key that verifies what the leaf's private key signs (P-256/P-384 leaves
 * take the direct ECDSA path, RSA and Ed25519 the X.509 path). */
static void test_chain_verify_leaf(void)
{
    static const uint8_t msg[] = "tlsdrill chain_verify_leaf";
    size_t na = 0, no = 0;
    td_der *ca = load_certs(CERTS "ca.pem", &na), *other = load_certs(CERTS "other-ca.pem", &no);
    TD_REQUIRE(ca != NULL && other != NULL);
    for (size_t i = 0; i < sizeof(sig_cases) / sizeof(sig_cases[0]); i++) {
        char chain_name[256];
        size_t n = 0, clen = strlen(sig_cases[i].cert);
        td_test_current = sig_cases[i].cert;
        TD_REQUIRE(clen > 4 && clen < sizeof(chain_name) - 16);
        snprintf(chain_name, sizeof(chain_name), "%.*s.chain.pem", (int)(clen - 4),
                 sig_cases[i].cert);
        td_der *chain = load_certs(chain_name, &n);
        td_pkey *priv = load_key(sig_cases[i].key), *leaf = NULL;
        TD_REQUIRE(chain != NULL && n == 2 && priv != NULL);
        uint8_t sig[TD_MAX_SIG_LEN];
        size_t sig_len = 0;
        td_drbg drbg;
        td_drbg_init(&drbg, msg, sizeof(msg), "leaf");
        TD_REQUIRE(td_sign(g_crypto, priv, sig_cases[i].scheme, &drbg, msg, sizeof(msg), sig,
                           sizeof(sig), &sig_len) == TD_OK);
        for (size_t num = 1; num <= 2; num++) {
            /* Twice: the second call finds the anchor in the cache. */
            for (int round = 0; round < 2; round++) {
                TD_EXPECT_EQ(
                    td_chain_verify_leaf(g_crypto, chain, num, ca[0].data, ca[0].len, &leaf, NULL),
                    TD_OK);
                TD_REQUIRE(leaf != NULL);
                TD_EXPECT_EQ(td_pkey_type(leaf), sig_cases[i].type);
                TD_EXPECT(!td_pkey_is_private(leaf));
                TD_EXPECT(td_pkey_supports_scheme(leaf, sig_cases[i].scheme));
                TD_EXPECT_EQ(
                    td_verify(g_crypto, leaf, sig_cases[i].scheme, msg, sizeof(msg), sig, sig_len),
                    TD_OK);
                sig[sig_len / 2] ^= 0x40;
                TD_EXPECT_EQ(
                    td_verify(g_crypto, leaf, sig_cases[i].scheme, msg, sizeof(msg), sig, sig_len),
                    TD_ERR_DECRYPT);
                sig[sig_len / 2] ^= 0x40;
                /* A trailing byte after the DER signature. */
                sig[sig_len] = 0;
                if (sig_cases[i].type != TD_KEY_ED25519)
                    TD_EXPECT_EQ(td_verify(g_crypto, leaf, sig_cases[i].scheme, msg, sizeof(msg),
                                           sig, sig_len + 1),
                                 TD_ERR_DECRYPT);
                TD_EXPECT_EQ(
                    td_verify(g_crypto, leaf, TD_SIG_ED448, msg, sizeof(msg), sig, sig_len),
                    TD_ERR_ILLEGAL_PARAMETER);
                td_pkey_free(leaf);
                leaf = NULL;
            }
            /* Wrong anchor, a corrupted certificate signature, not a certificate. */
            td_diag diag;
            td_diag_clear(&diag);
            TD_EXPECT_EQ(td_chain_verify_leaf(g_crypto, chain, num, other[0].data, other[0].len,
                                              &leaf, &diag),
                         TD_ERR_DECRYPT);
            TD_EXPECT_EQ(diag.err, TD_ERR_DECRYPT);
            TD_EXPECT(leaf == NULL);
            chain[0].data[chain[0].len - 1] ^= 1;
            TD_EXPECT_EQ(
                td_chain_verify_leaf(g_crypto, chain, num, ca[0].data, ca[0].len, &leaf, NULL),
                TD_ERR_DECRYPT);
            chain[0].data[chain[0].len - 1] ^= 1;
            td_der junk[2] = {{chain[0].data, chain[0].len - 1}, chain[1]};
            td_diag_clear(&diag);
            TD_EXPECT_EQ(
                td_chain_verify_leaf(g_crypto, junk, num, ca[0].data, ca[0].len, &leaf, &diag),
                TD_ERR_DECODE);
            TD_EXPECT_EQ(diag.offset, 0);
            TD_EXPECT(leaf == NULL);
        }
        /* The anchor as the whole chain: trusted as is, its own key returned. */
        TD_EXPECT_EQ(td_chain_verify_leaf(g_crypto, ca, 1, ca[0].data, ca[0].len, &leaf, NULL),
                     TD_OK);
        TD_EXPECT_EQ(td_pkey_type(leaf), TD_KEY_EC_P256);
        td_pkey_free(leaf);
        leaf = NULL;
        /* No anchor bytes, with the anchor's length (the cache holds it). */
        TD_EXPECT_EQ(td_chain_verify_leaf(g_crypto, chain, 1, NULL, ca[0].len, &leaf, NULL),
                     TD_ERR_DECODE);
        TD_EXPECT_EQ(td_chain_verify(g_crypto, chain, 1, NULL, ca[0].len, NULL), TD_ERR_DECODE);
        TD_EXPECT_EQ(td_chain_verify_leaf(g_crypto, chain, 1, ca[0].data, 10, &leaf, NULL),
                     TD_ERR_DECODE);
        TD_EXPECT_EQ(td_chain_verify_leaf(g_crypto, chain, 0, ca[0].data, ca[0].len, &leaf, NULL),
                     TD_ERR_ARG);
        TD_EXPECT_EQ(td_chain_verify_leaf(g_crypto, chain, 1, ca[0].data, ca[0].len, NULL, NULL),
                     TD_ERR_ARG);
        td_pkey_free(priv);
        td_der_list_free(chain, n);
    }
    td_der_list_free(ca, na);
    td_der_list_free(other, no);
}

/* Differential: every single-bit flip (0x01 and 0x80) of every byte of
 * an end-entity certificate that takes td_chain_verify_leaf's direct path
 * gets the verdict td_chain_verify + td_pkey_from_cert_der give. */
static void test_chain_verify_leaf_flips(void)
{
    static const char *const files[] = {CERTS "server-p256.chain.pem",
                                        CERTS "server-p384.chain.pem"};
    size_t na = 0;
    td_der *ca = load_certs(CERTS "ca.pem", &na);
    TD_REQUIRE(ca != NULL);
    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        size_t n = 0, ok = 0;
        td_der *chain = load_certs(files[f], &n);
        td_test_current = files[f];
        TD_REQUIRE(chain != NULL && n == 2);
        for (size_t i = 0; i < chain[0].len; i++) {
            for (int bit = 0; bit < 2; bit++) {
                uint8_t mask = bit ? 0x80 : 0x01;
                chain[0].data[i] ^= mask;
                td_pkey *k = NULL, *leaf = NULL;
                td_err want = td_chain_verify(g_crypto, chain, 1, ca[0].data, ca[0].len, NULL);
                if (want == TD_OK &&
                    td_pkey_from_cert_der(g_crypto, chain[0].data, chain[0].len, &k) != TD_OK)
                    want = TD_ERR_DECODE;
                td_err got =
                    td_chain_verify_leaf(g_crypto, chain, 1, ca[0].data, ca[0].len, &leaf, NULL);
                if (got != want)
                    fprintf(stderr, "  byte %zu mask 0x%02x: got %d want %d\n", i, mask, (int)got,
                            (int)want);
                TD_EXPECT_EQ(got, want);
                TD_EXPECT((got == TD_OK) == (leaf != NULL));
                if (got == TD_OK && k != NULL)
                    TD_EXPECT_EQ(td_pkey_type(leaf), td_pkey_type(k));
                ok += got == TD_OK;
                td_pkey_free(k);
                td_pkey_free(leaf);
                chain[0].data[i] ^= mask;
            }
        }
        /* Flips that change no signed byte and no structure are rare: the
         * unflipped certificate is the only sure success. */
        TD_EXPECT(ok < 8);
        /* The direct-path key (an EC point) and the EVP key agree on every
         * bit flip of a signature, and on every truncation. */
        static const uint8_t msg[] = "flip";
        static const char *const keys[] = {CERTS "server-p256.key", CERTS "server-p384.key"};
        static const uint16_t schemes[] = {TD_SIG_ECDSA_SECP256R1_SHA256,
                                           TD_SIG_ECDSA_SECP384R1_SHA384};
        td_pkey *priv = load_key(keys[f]), *point = NULL, *evp = NULL;
        TD_REQUIRE(priv != NULL);
        TD_REQUIRE(td_chain_verify_leaf(g_crypto, chain, 1, ca[0].data, ca[0].len, &point, NULL) ==
                   TD_OK);
        TD_REQUIRE(td_pkey_from_cert_der(g_crypto, chain[0].data, chain[0].len, &evp) == TD_OK);
        uint8_t sig[TD_MAX_SIG_LEN];
        size_t sig_len = 0;
        td_drbg drbg;
        td_drbg_init(&drbg, msg, sizeof(msg), "flip");
        TD_REQUIRE(td_sign(g_crypto, priv, schemes[f], &drbg, msg, sizeof(msg), sig, sizeof(sig),
                           &sig_len) == TD_OK);
        for (size_t i = 0; i < sig_len; i++) {
            for (int bit = 0; bit < 8; bit++) {
                sig[i] ^= (uint8_t)(1u << bit);
                td_err a = td_verify(g_crypto, point, schemes[f], msg, sizeof(msg), sig, sig_len);
                td_err b = td_verify(g_crypto, evp, schemes[f], msg, sizeof(msg), sig, sig_len);
                TD_EXPECT_EQ(a, b);
                sig[i] ^= (uint8_t)(1u << bit);
            }
            TD_EXPECT_EQ(td_verify(g_crypto, point, schemes[f], msg, sizeof(msg), sig, i),
                         td_verify(g_crypto, evp, schemes[f], msg, sizeof(msg), sig, i));
        }
        TD_EXPECT_EQ(td_verify(g_crypto, point, schemes[f], msg, sizeof(msg), sig, sig_len), TD_OK);
        td_pkey_free(priv);
        td_pkey_free(point);
        td_pkey_free(evp);
        td_der_list_free(chain, n);
    }
    td_der_list_free(ca, na);
}

/* Garbage in: every truncation of a certificate, PEM buffer and key, and
 * DRBG-made junk signatures and shares. Errors, never crashes (the asan
 * preset runs this). */
static void test_garbage_inputs(void)
{
    size_t num = 0;
    td_der *chain = load_certs(CERTS "server-rsa2048.chain.pem", &num);
    TD_REQUIRE(chain != NULL);
    size_t ok = 0;
    for (size_t len = 0; len < chain[0].len; len++) {
        td_pkey *k = NULL;
        /* A proper prefix of a DER certificate is never a certificate. */
        if (td_pkey_from_cert_der(g_crypto, chain[0].data, len, &k) == TD_ERR_DECODE && k == NULL)
            ok++;
        td_der one = {chain[0].data, len};
        if (td_chain_verify(g_crypto, &one, 1, chain[1].data, chain[1].len, NULL) == TD_ERR_DECODE)
            ok++;
    }
    TD_EXPECT_EQ(ok, 2 * chain[0].len);
    td_der_list_free(chain, num);

    static const char *const pems[] = {CERTS "server-p384.chain.pem", CERTS "server-rsa2048.key",
                                       CERTS "server-p256.trad.key"};
    for (size_t f = 0; f < sizeof(pems) / sizeof(pems[0]); f++) {
        size_t len = 0;
        uint8_t *pem = (uint8_t *)td_test_read(pems[f], &len);
        TD_REQUIRE(pem != NULL);
        for (size_t cut = 0; cut < len; cut += 13) {
            td_der *list = NULL;
            size_t n = 0;
            td_pkey *k = NULL;
            if (td_certs_from_pem((const char *)pem, cut, &list, &n) == TD_OK)
                td_der_list_free(list, n);
            if (td_pkey_from_pem(g_crypto, (const char *)pem, cut, &k) == TD_OK)
                td_pkey_free(k);
        }
        free(pem);
    }

    td_drbg d;
    td_drbg_init(&d, (const uint8_t *)"garbage", 7, "inputs");
    static const char *const certs[] = {CERTS "server-p256.pem", CERTS "server-p384.pem",
                                        CERTS "server-rsa2048.pem", CERTS "server-ed25519.pem"};
    static const uint16_t schemes[] = {TD_SIG_ECDSA_SECP256R1_SHA256, TD_SIG_ECDSA_SECP384R1_SHA384,
                                       TD_SIG_RSA_PSS_RSAE_SHA256, TD_SIG_ED25519};
    for (size_t i = 0; i < 4; i++) {
        td_pkey *p = load_cert_key(certs[i]);
        TD_REQUIRE(p != NULL);
        size_t decrypt = 0, tries = 0;
        for (size_t len = 0; len <= TD_MAX_SIG_LEN; len += 1 + td_drbg_uniform(&d, 40), tries++) {
            uint8_t sig[TD_MAX_SIG_LEN + 1];
            td_drbg_bytes(&d, sig, len);
            if (len > 2 && i < 2) { /* sometimes a plausible DER header */
                sig[0] = 0x30;
                sig[1] = (uint8_t)(len - 2);
            }
            decrypt += td_verify(g_crypto, p, schemes[i], sig, len, sig, len) == TD_ERR_DECRYPT;
        }
        TD_EXPECT_EQ(decrypt, tries);
        td_pkey_free(p);
    }

    static const uint16_t groups[] = {TD_GROUP_X25519, TD_GROUP_SECP256R1, TD_GROUP_SECP384R1,
                                      TD_GROUP_X448};
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
        td_kex *k = NULL;
        TD_REQUIRE(td_kex_generate(g_crypto, groups[i], &d, &k) == TD_OK);
        for (int t = 0; t < 50; t++) {
            uint8_t share[TD_MAX_SHARE_LEN + 1], out[TD_MAX_ECDH_LEN];
            size_t len = td_group_share_len(groups[i]), n = 0;
            if (t % 5 == 0)
                len = td_drbg_uniform(&d, sizeof(share) + 1);
            td_drbg_bytes(&d, share, len);
            if (groups[i] == TD_GROUP_SECP256R1 || groups[i] == TD_GROUP_SECP384R1)
                share[0] = 4;
            td_diag diag;
            td_diag_clear(&diag);
            td_err err = td_kex_derive(k, share, len, out, sizeof(out), &n, &diag);
            /* Random X25519/X448 strings are valid shares; random NIST
             * coordinates are essentially never on the curve. */
            TD_EXPECT(err == TD_OK ||
                      (err == TD_ERR_ILLEGAL_PARAMETER && diag.rule != TD_RULE_NONE));
        }
        td_kex_free(k);
    }
}

static void test_ct_equal(void)
{
    static const uint8_t a[] = {1, 2, 3}, b[] = {1, 2, 4};
    TD_EXPECT(td_ct_equal(a, a, 3));
    TD_EXPECT(!td_ct_equal(a, b, 3));
    TD_EXPECT(td_ct_equal(a, b, 2));
    TD_EXPECT(td_ct_equal(NULL, NULL, 0));
    uint8_t s[4] = {9, 9, 9, 9};
    td_cleanse(s, sizeof(s));
    TD_EXPECT(s[0] == 0 && s[3] == 0);
    td_cleanse(NULL, 0);
}

/* RFC 8446 4.2.8.1 / 7.4.1: ffdhe2048, ffdhe3072, ffdhe4096 (RFC 7919):
 * both sides agree on a Z the size of p; a peer Y outside 1 < Y < p-1 is
 * refused (KS-DH-RANGE), a Y of the wrong length too (KS-BAD-LENGTH). */
static void test_ffdhe(void)
{
    static const struct {
        uint16_t group;
        size_t len;
    } groups[] = {{TD_GROUP_FFDHE2048, 256}, {TD_GROUP_FFDHE3072, 384}, {TD_GROUP_FFDHE4096, 512}};
    for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
        size_t plen = groups[g].len;
        td_drbg d;
        static const uint8_t seed[] = "ffdhe";
        td_drbg_init(&d, seed, sizeof(seed), "t");
        td_kex *a = NULL, *b = NULL;
        TD_REQUIRE(td_kex_generate(g_crypto, groups[g].group, &d, &a) == TD_OK);
        TD_REQUIRE(td_kex_generate(g_crypto, groups[g].group, &d, &b) == TD_OK);
        uint8_t pa[TD_MAX_SHARE_LEN], pb[TD_MAX_SHARE_LEN], za[TD_MAX_ECDH_LEN],
            zb[TD_MAX_ECDH_LEN];
        size_t na, nb, la, lb;
        TD_REQUIRE(td_kex_public(a, pa, sizeof(pa), &na) == TD_OK && na == plen);
        TD_REQUIRE(td_kex_public(b, pb, sizeof(pb), &nb) == TD_OK && nb == plen);
        td_diag diag;
        td_diag_clear(&diag);
        TD_EXPECT(td_kex_derive(a, pb, nb, za, sizeof(za), &la, &diag) == TD_OK);
        TD_EXPECT(td_kex_derive(b, pa, na, zb, sizeof(zb), &lb, &diag) == TD_OK);
        TD_EXPECT_EQ(la, plen);
        TD_EXPECT_MEM(za, la, zb, lb);
        uint8_t y[TD_MAX_SHARE_LEN];
        for (int v = 0; v < 3; v++) {
            /* Y = 0, Y = 1, Y = 2^(8 len) - 1 (> p). */
            memset(y, v == 2 ? 0xff : 0, plen);
            y[plen - 1] = v == 1 ? 1 : y[plen - 1];
            td_diag_clear(&diag);
            TD_EXPECT_EQ(td_kex_derive(a, y, plen, za, sizeof(za), &la, &diag),
                         TD_ERR_ILLEGAL_PARAMETER);
            TD_EXPECT_EQ(diag.rule, TD_RULE_KS_DH_RANGE);
        }
        td_diag_clear(&diag);
        TD_EXPECT_EQ(td_kex_derive(a, pb, plen - 1, za, sizeof(za), &la, &diag),
                     TD_ERR_ILLEGAL_PARAMETER);
        TD_EXPECT_EQ(diag.rule, TD_RULE_KS_BAD_LENGTH);
        td_kex_free(a);
        td_kex_free(b);
        td_drbg_cleanup(&d);
    }
}

/* RFC 8446 4.2.8.2 / 7.4.2: secp521r1: 133-byte shares, a 66-byte shared
 * x-coordinate on both sides; a share off the curve is refused. */
static void test_p521(void)
{
    td_drbg d;
    td_drbg_init(&d, (const uint8_t *)"p521", 4, "t");
    td_kex *a = NULL, *b = NULL;
    TD_REQUIRE(td_kex_generate(g_crypto, TD_GROUP_SECP521R1, &d, &a) == TD_OK);
    TD_REQUIRE(td_kex_generate(g_crypto, TD_GROUP_SECP521R1, &d, &b) == TD_OK);
    uint8_t pa[TD_MAX_SHARE_LEN], pb[TD_MAX_SHARE_LEN], za[TD_MAX_ECDH_LEN], zb[TD_MAX_ECDH_LEN];
    size_t na, nb, la, lb;
    TD_REQUIRE(td_kex_public(a, pa, sizeof(pa), &na) == TD_OK && na == 133 && pa[0] == 4);
    TD_REQUIRE(td_kex_public(b, pb, sizeof(pb), &nb) == TD_OK && nb == 133);
    td_diag diag;
    td_diag_clear(&diag);
    TD_EXPECT(td_kex_derive(a, pb, nb, za, sizeof(za), &la, &diag) == TD_OK);
    TD_EXPECT(td_kex_derive(b, pa, na, zb, sizeof(zb), &lb, &diag) == TD_OK);
    TD_EXPECT_EQ(la, 66);
    TD_EXPECT_MEM(za, la, zb, lb);
    pb[100] ^= 1;
    td_diag_clear(&diag);
    TD_EXPECT_EQ(td_kex_derive(a, pb, nb, za, sizeof(za), &la, &diag), TD_ERR_ILLEGAL_PARAMETER);
    TD_EXPECT_EQ(diag.rule, TD_RULE_KS_EC_INVALID_POINT);
    td_kex_free(a);
    td_kex_free(b);
    td_drbg_cleanup(&d);
}

/* The memo stays bounded and exact: more distinct (key, peer) pairs than it
 * holds, each derived twice; every answer equals the one computed without
 * the memo, older entries are replaced, and turning it off forgets all. */
/* td_crypto_block_keep/take: a kept block comes back only for its exact
 * size, zeroed, newest first; a full pool frees its oldest block (ASan's
 * leak check at exit sees any block lost), td_crypto_free the rest. */
static void test_block_pool(void)
{
    td_crypto *c = NULL;
    TD_REQUIRE(td_crypto_new(&c) == TD_OK);
    TD_EXPECT(td_crypto_block_take(c, 100) == NULL);
    uint8_t *a = malloc(100), *b = malloc(100), *d = malloc(200);
    TD_REQUIRE(a != NULL && b != NULL && d != NULL);
    memset(a, 0xaa, 100);
    memset(b, 0xbb, 100);
    TD_EXPECT(td_crypto_block_keep(c, a, 100));
    TD_EXPECT(td_crypto_block_keep(c, b, 100));
    TD_EXPECT(td_crypto_block_keep(c, d, 200));
    TD_EXPECT(td_crypto_block_take(c, 150) == NULL);
    uint8_t *got = td_crypto_block_take(c, 100);
    TD_EXPECT(got == b); /* the newest of that size */
    uint8_t zero[100] = {0};
    TD_EXPECT_MEM(got, 100, zero, sizeof(zero));
    TD_EXPECT(td_crypto_block_take(c, 100) == a);
    TD_EXPECT(td_crypto_block_take(c, 100) == NULL);
    TD_EXPECT(td_crypto_block_take(c, 200) == d);
    free(a);
    free(b);
    free(d);
    /* More than the pool holds: each keep succeeds, the oldest are freed. */
    for (int i = 0; i < 40; i++) {
        void *p = malloc(64);
        TD_REQUIRE(p != NULL);
        TD_EXPECT(td_crypto_block_keep(c, p, 64));
    }
    size_t kept = 0;
    void *p;
    while ((p = td_crypto_block_take(c, 64)) != NULL) {
        kept++;
        free(p);
    }
    TD_EXPECT(kept > 0 && kept < 40);
    TD_EXPECT(!td_crypto_block_keep(c, NULL, 64));
    for (int i = 0; i < 3; i++)
        TD_EXPECT(td_crypto_block_keep(c, malloc(32), 32)); /* freed by td_crypto_free */
    td_crypto_free(c);
}

/* td_crypto_block_keep_owner/take_kept: a block that owns memory (here a
 * buffer and a count of drops, the owner's own) comes back as it was kept,
 * only to a taker with the same drop function; the pool calls that function
 * for a block it lets go (full, or td_crypto_free), never for one taken back
 * (ASan's leak check sees any owned buffer lost). */
typedef struct owner_block {
    uint8_t *owned;
    int *drops;
    uint8_t mark;
} owner_block;

static void owner_drop(void *block)
{
    owner_block *b = block;
    (*b->drops)++;
    free(b->owned);
    free(b);
}

static void other_drop(void *block) { owner_drop(block); }

static owner_block *owner_new(int *drops, uint8_t mark)
{
    owner_block *b = malloc(sizeof(*b));
    uint8_t *owned = malloc(16);
    if (b == NULL || owned == NULL)
        abort(); /* the test cannot go on */
    b->owned = owned;
    b->drops = drops;
    b->mark = mark;
    return b;
}

static void test_block_pool_owner(void)
{
    td_crypto *c = NULL;
    int drops = 0;
    TD_REQUIRE(td_crypto_new(&c) == TD_OK);
    owner_block *a = owner_new(&drops, 1), *b = owner_new(&drops, 2);
    TD_EXPECT(!td_crypto_block_keep_owner(c, a, sizeof(*a), NULL));
    TD_EXPECT(td_crypto_block_keep_owner(c, a, sizeof(*a), owner_drop));
    TD_EXPECT(td_crypto_block_keep_owner(c, b, sizeof(*b), other_drop));
    /* Not to a plain taker, nor to one with another drop function. */
    TD_EXPECT(td_crypto_block_take(c, sizeof(*a)) == NULL);
    TD_EXPECT(td_crypto_block_take_kept(c, sizeof(*a), NULL) == NULL);
    owner_block *got = td_crypto_block_take_kept(c, sizeof(*a), owner_drop);
    TD_EXPECT(got == a && got->mark == 1 && got->owned != NULL); /* not zeroed */
    TD_EXPECT(td_crypto_block_take_kept(c, sizeof(*a), owner_drop) == NULL);
    TD_EXPECT(td_crypto_block_keep_owner(c, a, sizeof(*a), owner_drop));
    TD_EXPECT(drops == 0);
    /* A full pool lets the oldest go through its drop function. */
    for (int i = 0; i < 40; i++)
        TD_EXPECT(td_crypto_block_keep_owner(c, owner_new(&drops, 3), sizeof(*a), owner_drop));
    TD_EXPECT(drops > 0 && drops < 42);
    int before = drops;
    got = td_crypto_block_take_kept(c, sizeof(*a), owner_drop);
    TD_EXPECT(got != NULL && got->mark == 3);
    owner_drop(got);
    TD_EXPECT(drops == before + 1);
    td_crypto_free(c); /* the rest */
    TD_EXPECT(drops == 42);
}

static void test_memo_bounded(void)
{
    td_crypto *c = NULL;
    TD_REQUIRE(td_crypto_new(&c) == TD_OK);
    td_drbg drbg;
    td_drbg_init(&drbg, (const uint8_t *)"memo", 4, "test");
    enum { N = 40 };
    uint8_t pubs[N][32];
    for (int i = 0; i < N; i++) {
        td_kex *k = NULL;
        size_t len = 0;
        TD_REQUIRE(td_kex_generate(c, TD_GROUP_X25519, &drbg, &k) == TD_OK);
        TD_REQUIRE(td_kex_public(k, pubs[i], sizeof(pubs[i]), &len) == TD_OK);
        td_kex_free(k);
    }
    uint8_t priv[32] = {1, 2, 3};
    for (int round = 0; round < 2; round++) {
        TD_REQUIRE(td_crypto_set_memo(c, true) == TD_OK);
        for (int rep = 0; rep < 3; rep++) {
            td_kex *k = NULL;
            TD_REQUIRE(td_kex_from_private(c, TD_GROUP_X25519, priv, 32, &k) == TD_OK);
            for (int i = 0; i < N * 20; i++) {
                /* Distinct peers beyond the table's size, derived again and again. */
                uint8_t peer[32], out[32];
                size_t len = 0;
                memcpy(peer, pubs[i % N], 32);
                peer[31] ^= (uint8_t)(i / N) & 0x3f; /* 20 variants of each share */
                td_kex *ref = NULL;
                uint8_t ref_out[32];
                size_t ref_len = 0;
                TD_REQUIRE(td_kex_derive(k, peer, 32, out, sizeof(out), &len, NULL) == TD_OK);
                if (rep == 0 && i % 97 == 0) {
                    /* Without the memo, a fresh key: the same secret. */
                    td_crypto *plain = NULL;
                    TD_REQUIRE(td_crypto_new(&plain) == TD_OK);
                    TD_REQUIRE(td_kex_from_private(plain, TD_GROUP_X25519, priv, 32, &ref) == TD_OK);
                    TD_REQUIRE(td_kex_derive(ref, peer, 32, ref_out, 32, &ref_len, NULL) == TD_OK);
                    TD_EXPECT_MEM(out, len, ref_out, ref_len);
                    td_kex_free(ref);
                    td_crypto_free(plain);
                }
            }
            td_kex_free(k);
        }
        td_crypto_memo_stats st;
        td_crypto_memo_stats_get(c, TD_MEMO_ECDH, &st);
        TD_EXPECT(st.hits > 0);
        TD_EXPECT(st.evictions > 0); /* 800 distinct peers: bounded, so replaced */
        td_crypto_memo_stats_get(c, TD_MEMO_KEYGEN, &st);
        TD_EXPECT_EQ(st.hits, 2u);
        TD_REQUIRE(td_crypto_set_memo(c, false) == TD_OK);
        td_crypto_memo_stats_get(c, TD_MEMO_ECDH, &st);
        TD_EXPECT_EQ(st.hits + st.misses + st.inserts, 0u);
    }
    td_crypto_free(c);
}

int main(void)
{
    if (td_crypto_new(&g_crypto) != TD_OK || td_vec_load() != 0) {
        fprintf(stderr, "td_crypto_new or td_vec_load failed\n");
        return 1;
    }
    TD_RUN(test_hash_kat);
    TD_RUN(test_hash_ctx);
    TD_RUN(test_hmac_rfc4231);
    TD_RUN(test_hkdf_rfc5869);
    TD_RUN(test_hkdf_rfc8448);
    TD_RUN(test_aead_kat);
    TD_RUN(test_aead_rfc8448_record);
    TD_RUN(test_aead_tamper);
    TD_RUN(test_suites);
    TD_RUN(test_groups);
    TD_RUN(test_x25519_rfc7748);
    TD_RUN(test_x448_rfc7748);
    TD_RUN(test_kex_rfc8448);
    TD_RUN(test_kex_generate);
    TD_RUN(test_kex_private_range);
    TD_RUN(test_ffdhe);
    TD_RUN(test_p521);
    TD_RUN(test_kex_bad_peer);
    TD_RUN(test_pem_keys);
    TD_RUN(test_certs_from_pem);
    TD_RUN(test_pkey_from_cert_bad);
    TD_RUN(test_sign_verify);
    TD_RUN(test_scheme_fit);
    TD_RUN(test_sign_pinned);
    TD_RUN(test_verify_openssl_signatures);
    TD_RUN(test_rfc8448_server_cv);
    TD_RUN(test_rfc8448_client_cv);
    TD_RUN(test_chain_verify);
    TD_RUN(test_chain_verify_leaf);
    TD_RUN(test_chain_verify_leaf_flips);
    TD_RUN(test_garbage_inputs);
    TD_RUN(test_ct_equal);
    /* The memoized functions again with the memo on, twice (the second
     * pass hits): same answers, and every failure still fails. */
    for (int pass = 0; pass < 2; pass++) {
        if (td_crypto_set_memo(g_crypto, true) != TD_OK)
            return 1;
        TD_RUN(test_x25519_rfc7748);
        TD_RUN(test_x448_rfc7748);
        TD_RUN(test_kex_rfc8448);
        TD_RUN(test_kex_generate);
        TD_RUN(test_kex_private_range);
        TD_RUN(test_ffdhe);
    TD_RUN(test_p521);
        TD_RUN(test_kex_bad_peer);
        TD_RUN(test_pkey_from_cert_bad);
        TD_RUN(test_sign_verify);
        TD_RUN(test_sign_pinned);
        TD_RUN(test_verify_openssl_signatures);
        TD_RUN(test_rfc8448_server_cv);
        TD_RUN(test_rfc8448_client_cv);
        TD_RUN(test_chain_verify);
        TD_RUN(test_chain_verify_leaf);
        TD_RUN(test_chain_verify_leaf_flips);
    }
    TD_RUN(test_memo_bounded);
    TD_RUN(test_block_pool);
    TD_RUN(test_block_pool_owner);
    td_crypto_free(g_crypto);
    td_crypto_free(NULL);
    td_vec_free();
    return td_test_report("test_crypto");
}
