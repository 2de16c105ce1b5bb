/* tests/unit/test_crypto.c -- engine/crypto.c: hashes, HMAC, HKDF, AEAD,
 * suites, key exchange, signatures, PEM and chains, against published
 * vectors (FIPS 180, RFC 4231, RFC 5869, RFC 8439, the GCM spec, RFC 7748,
 * RFC 8448) and the test certificates in tests/vectors/certs. */
#include "td_test.h"
#include "tlsdrill/crypto.h"

static td_crypto *g_crypto; /* the one shared fixture, made in main() */

/* ---- tests/vectors/rfc8448.tsv reader ----
 * Returns the hex value (malloc'd bytes) of the first row whose section,
 * who, step text prefix and value name match; NULL if none. */
static uint8_t *tsv_get(int section, const char *who, const char *step, const char *name,
                        size_t *out_len)
{
    FILE *f = fopen(TD_VECTORS_DIR "/rfc8448.tsv", "r");
    if (f == NULL)
        return NULL;
    uint8_t *ret = NULL;
    static char line[65536];
    while (ret == NULL && fgets(line, sizeof(line), f) != NULL) {
        if (line[0] == '#')
            continue;
        line[strcspn(line, "\r\n")] = '\0';
        char *col[6];
        size_t n = 0;
        for (char *p = line; n < 6; n++) {
            col[n] = p;
            char *tab = strchr(p, '\t');
            if (tab == NULL) {
                n++;
                break;
            }
            *tab = '\0';
            p = tab + 1;
        }
        if (n != 6 || atoi(col[0]) != section || strcmp(col[2], who) != 0 ||
            strncmp(col[3], step, strlen(step)) != 0 || strcmp(col[4], name) != 0)
            continue;
        ret = td_test_unhex(col[5], out_len);
    }
    fclose(f);
    return ret;
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
    static const char *const abc256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    static const char *const empty256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    static const char *const abc384 = "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
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
    static const char *const abc256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
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
    static const char *const want256 = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
    static const char *const want384 = "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
                                       "8e2240ca5e69e2c78b3239ecfab21649";
    static const char data[] = "what do ya want for nothing?";
    uint8_t out[TD_MAX_HASH_LEN];
    size_t n;
    uint8_t *want;
    TD_EXPECT_EQ(td_hmac(g_crypto, TD_HASH_SHA256, (const uint8_t *)"Jefe", 4, (const uint8_t *)data,
                         sizeof(data) - 1, out),
                 TD_OK);
    want = unhex(want256, &n);
    TD_EXPECT_MEM(out, 32, want, n);
    free(want);
    TD_EXPECT_EQ(td_hmac(g_crypto, TD_HASH_SHA384, (const uint8_t *)"Jefe", 4, (const uint8_t *)data,
                         sizeof(data) - 1, out),
                 TD_OK);
    want = unhex(want384, &n);
    TD_EXPECT_MEM(out, 48, want, n);
    free(want);
    /* Empty key and empty message are legal HMAC inputs. */
    TD_EXPECT_EQ(td_hmac(g_crypto, TD_HASH_SHA256, NULL, 0, NULL, 0, out), TD_OK);
}

static void test_hkdf_rfc5869(void)
{
    static const struct {
        const char *ikm, *salt, *info, *prk, *okm;
    } cases[] = {
        {/* RFC 5869 A.1 */ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "000102030405060708090a0b0c",
         "f0f1f2f3f4f5f6f7f8f9", "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
         "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"},
        {/* RFC 5869 A.3: no salt, no info */ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "", "",
         "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
         "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t ikm_len, salt_len, info_len, prk_len, okm_len;
        uint8_t *ikm = unhex(cases[i].ikm, &ikm_len), *salt = unhex(cases[i].salt, &salt_len);
        uint8_t *info = unhex(cases[i].info, &info_len), *prk = unhex(cases[i].prk, &prk_len);
        uint8_t *okm = unhex(cases[i].okm, &okm_len);
        uint8_t got_prk[TD_MAX_HASH_LEN], got_okm[64];
        TD_EXPECT_EQ(td_hkdf_extract(g_crypto, TD_HASH_SHA256, salt_len ? salt : NULL, salt_len, ikm,
                                     ikm_len, got_prk),
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
        TD_EXPECT_EQ(td_hkdf_expand(g_crypto, TD_HASH_SHA256, prk, prk_len, ii, ii_len, out, iv_len),
                     TD_OK);
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
     "4c616469657320616e642047656e746c656d656e206f662074686520636c617373206f66202739393a204966204920"
     "636f756c64206f6666657220796f75206f6e6c79206f6e652074697020666f7220746865206675747572652c207375"
     "6e73637265656e20776f756c642062652069742e",
     "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da9272"
     "8b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831"
     "d7bc3ff4def08e4b7a9de576d26586cec64b6116"
     "1ae10b594f09e26a7e902ecbd0600691"},
    {"GCM spec test case 4", TD_AEAD_AES_128_GCM, "feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b5"
     "25b16aedf5aa0de657ba637b39",
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa"
     "051ba30b396a0aac973d58e091"
     "5bc94fbc3221a5db94fae95ae7121a47"},
    {"GCM spec test case 16", TD_AEAD_AES_256_GCM,
     "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b5"
     "25b16aedf5aa0de657ba637b39",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b10568288"
     "38c5f61e6393ba7a0abcc9f662"
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

static void test_aead_kat(void)
{
    for (size_t i = 0; i < sizeof(aead_kats) / sizeof(aead_kats[0]); i++) {
        size_t key_len, nonce_len, ad_len, pt_len, ct_len;
        uint8_t *key = unhex(aead_kats[i].key, &key_len), *nonce = unhex(aead_kats[i].nonce, &nonce_len);
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
    size_t k_len = 0, iv_len = 0, pl_len = 0, rec_len = 0;
    uint8_t *k = tsv_get(3, "server", kstep, "key expanded", &k_len);
    uint8_t *iv = tsv_get(3, "server", kstep, "iv expanded", &iv_len);
    /* The first "send handshake record" of the server is the plaintext
     * ServerHello; the encrypted flight is the second (step 19). */
    uint8_t *pl = NULL, *rec = NULL;
    {
        FILE *f = fopen(TD_VECTORS_DIR "/rfc8448.tsv", "r");
        static char line[65536];
        int seen = 0;
        while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
            if (strncmp(line, "3\t19\tserver\tsend handshake record:\t", 35) != 0)
                continue;
            char *name = line + 35, *hex = strchr(name, '\t');
            if (hex == NULL)
                continue;
            *hex++ = '\0';
            hex[strcspn(hex, "\r\n")] = '\0';
            if (strcmp(name, "payload") == 0)
                pl = td_test_unhex(hex, &pl_len), seen++;
            else if (strcmp(name, "complete record") == 0)
                rec = td_test_unhex(hex, &rec_len), seen++;
        }
        if (f != NULL)
            fclose(f);
        TD_EXPECT_EQ(seen, 2);
    }
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
    free(k), free(iv), free(pl), free(rec);
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
        TD_EXPECT_EQ(td_aead_open(o, nonce, ad, sizeof(ad), ct, sizeof(ct), buf), TD_ERR_BAD_RECORD_MAC);
        ad[4] ^= 1;
        nonce[11] ^= 1;
        TD_EXPECT_EQ(td_aead_open(o, nonce, ad, sizeof(ad), ct, sizeof(ct), buf), TD_ERR_BAD_RECORD_MAC);
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
    TD_EXPECT(s->aead == TD_AEAD_CHACHA20_POLY1305 && s->hash == TD_HASH_SHA256 && s->key_len == 32);
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
    TD_EXPECT(!td_group_supported(TD_GROUP_SECP521R1));
    TD_EXPECT(!td_group_supported(0x0100)); /* ffdhe2048 */
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
        TD_EXPECT_MEM(p1, n1, p2, n2);       /* same DRBG state, same key */
        TD_EXPECT(n1 != n3 || memcmp(p1, p3, n1) != 0); /* different stream, different key */
        /* Two fresh parties agree. */
        TD_EXPECT_EQ(td_kex_derive(k1, p3, n3, s1, sizeof(s1), &m1, NULL), TD_OK);
        TD_EXPECT_EQ(td_kex_derive(k3, p1, n1, s2, sizeof(s2), &m2, NULL), TD_OK);
        TD_EXPECT_MEM(s1, m1, s2, m2);
        /* The DRBG advanced by exactly the private key length (no retry is
         * expected for these seeds). */
        TD_EXPECT_EQ(d1.total, groups[i] == TD_GROUP_SECP384R1 ? 48 : groups[i] == TD_GROUP_X448 ? 56 : 32);
        td_kex_free(k1), td_kex_free(k2), td_kex_free(k3);
    }
    td_drbg d;
    td_kex *k = NULL;
    td_drbg_init(&d, NULL, 0, "x");
    TD_EXPECT_EQ(td_kex_generate(g_crypto, TD_GROUP_SECP521R1, &d, &k), TD_ERR_UNSUPPORTED);
    TD_EXPECT(k == NULL);
    td_kex_free(NULL);
}

/* NIST private keys outside [1, n-1] are refused. */
static void test_kex_private_range(void)
{
    static const char *const n256 = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
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
                         "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5", &n);
    TD_EXPECT_MEM(pub, pn, gen, n); /* 1*G = G */
    td_kex_free(k);
    k = NULL;
    TD_EXPECT_EQ(td_kex_from_private(g_crypto, TD_GROUP_SECP256R1, one, 31, &k), TD_ERR_ARG);
    TD_EXPECT_EQ(td_kex_from_private(g_crypto, TD_GROUP_X25519, one, 31, &k), TD_ERR_ARG);
    TD_EXPECT_EQ(td_kex_from_private(g_crypto, 0x0100, one, 32, &k), TD_ERR_UNSUPPORTED);
    free(order), free(gen);
}

/* Invalid peer shares (RFC 8446 §4.2.8.2, §7.4.2): error class AND rule. */
static void test_kex_bad_peer(void)
{
    enum { PUB_OK, PUB_FLIP_LAST, PUB_FORM, PUB_ZERO_XY, PUB_X_TOO_BIG, PUB_ZERO, PUB_ONE, PUB_NONE };
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
        {"p256 form 0x06 (hybrid)", TD_GROUP_SECP256R1, 65, PUB_FORM, 0x06, TD_RULE_KS_EC_INVALID_POINT},
        {"p256 form 0x00 (infinity)", TD_GROUP_SECP256R1, 65, PUB_FORM, 0x00, TD_RULE_KS_EC_INVALID_POINT},
        {"p256 not on curve", TD_GROUP_SECP256R1, 65, PUB_FLIP_LAST, 0, TD_RULE_KS_EC_INVALID_POINT},
        {"p256 (0,0)", TD_GROUP_SECP256R1, 65, PUB_ZERO_XY, 0, TD_RULE_KS_EC_INVALID_POINT},
        {"p256 x >= p", TD_GROUP_SECP256R1, 65, PUB_X_TOO_BIG, 0, TD_RULE_KS_EC_INVALID_POINT},
        {"p384 65 bytes", TD_GROUP_SECP384R1, 65, PUB_OK, 0, TD_RULE_KS_BAD_LENGTH},
        {"p384 not on curve", TD_GROUP_SECP384R1, 97, PUB_FLIP_LAST, 0, TD_RULE_KS_EC_INVALID_POINT},
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
        case PUB_ZERO_XY: memset(share + 1, 0, n - 1); break;
        case PUB_X_TOO_BIG: memset(share + 1, 0xff, flen); break;
        case PUB_ZERO: memset(share, 0, n); break;
        case PUB_ONE: memset(share, 0, n); share[0] = 1; break;
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

int main(void)
{
    if (td_crypto_new(&g_crypto) != TD_OK) {
        fprintf(stderr, "td_crypto_new failed\n");
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
    TD_RUN(test_kex_rfc8448);
    TD_RUN(test_kex_generate);
    TD_RUN(test_kex_private_range);
    TD_RUN(test_kex_bad_peer);
    TD_RUN(test_ct_equal);
    td_crypto_free(g_crypto);
    td_crypto_free(NULL);
    return td_test_report("test_crypto");
}
