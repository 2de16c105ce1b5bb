/* engine/crypto.c -- every libcrypto call of the engine (see tlsdrill/crypto.h).
 *
 * Performance (DESIGN.md "Performance notes"): td_crypto_new fetches every
 * algorithm once; HMAC contexts are duplicated from per-hash templates that
 * already carry the digest parameter; HKDF is written here on top of HMAC
 * rather than going through EVP_KDF/EVP_PKEY_HKDF; an AEAD keeps a keyed
 * EVP_CIPHER_CTX per direction and only sets the nonce per record.
 *
 * Determinism: nothing observable comes from libcrypto's RNG. Key generation
 * and randomised signatures draw from the caller's td_drbg.
 *
 * Errors: a libcrypto failure that is not the peer's fault is TD_ERR_CRYPTO,
 * and the OpenSSL error queue is cleared so later calls start clean. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "tlsdrill/crypto.h"

/* ---- the algorithm cache ---- */

enum { TD_NUM_HASH = 2, TD_NUM_AEAD = 3 };

struct td_crypto {
    EVP_MD *md[TD_NUM_HASH]; /* indexed by td_hash_alg */
    EVP_MD *md_sha512;       /* signatures only */
    EVP_MAC *hmac;
    EVP_MAC_CTX *hmac_tmpl[TD_NUM_HASH]; /* digest set, no key: dup then init */
    EVP_CIPHER *cipher[TD_NUM_AEAD];     /* indexed by td_aead_alg */
};

static const char *const td_md_names[TD_NUM_HASH] = {"SHA256", "SHA384"};
static const char *const td_cipher_names[TD_NUM_AEAD] = {"AES-128-GCM", "AES-256-GCM",
                                                         "ChaCha20-Poly1305"};

static td_err td_crypto_error(void)
{
    ERR_clear_error();
    return TD_ERR_CRYPTO;
}

td_err td_crypto_new(td_crypto **out)
{
    td_err ret = TD_ERR_CRYPTO;
    if (out == NULL)
        return TD_ERR_ARG;
    *out = NULL;
    td_crypto *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return TD_ERR_NOMEM;
    for (int i = 0; i < TD_NUM_HASH; i++) {
        c->md[i] = EVP_MD_fetch(NULL, td_md_names[i], NULL);
        if (c->md[i] == NULL)
            goto out;
    }
    c->md_sha512 = EVP_MD_fetch(NULL, "SHA512", NULL);
    c->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (c->md_sha512 == NULL || c->hmac == NULL)
        goto out;
    for (int i = 0; i < TD_NUM_HASH; i++) {
        /* The template carries the digest; td_hmac_init only adds the key. */
        OSSL_PARAM params[2] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)td_md_names[i], 0),
            OSSL_PARAM_construct_end(),
        };
        c->hmac_tmpl[i] = EVP_MAC_CTX_new(c->hmac);
        if (c->hmac_tmpl[i] == NULL || !EVP_MAC_CTX_set_params(c->hmac_tmpl[i], params))
            goto out;
    }
    for (int i = 0; i < TD_NUM_AEAD; i++) {
        c->cipher[i] = EVP_CIPHER_fetch(NULL, td_cipher_names[i], NULL);
        if (c->cipher[i] == NULL)
            goto out;
    }
    ret = TD_OK;
out:
    if (ret != TD_OK) {
        td_crypto_free(c);
        ERR_clear_error();
        return ret;
    }
    *out = c;
    return TD_OK;
}

void td_crypto_free(td_crypto *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < TD_NUM_AEAD; i++)
        EVP_CIPHER_free(c->cipher[i]);
    for (int i = 0; i < TD_NUM_HASH; i++) {
        EVP_MAC_CTX_free(c->hmac_tmpl[i]);
        EVP_MD_free(c->md[i]);
    }
    EVP_MAC_free(c->hmac);
    EVP_MD_free(c->md_sha512);
    free(c);
}

/* ---- hashes ---- */

static bool td_hash_alg_ok(td_hash_alg alg)
{
    return alg == TD_HASH_SHA256 || alg == TD_HASH_SHA384;
}

size_t td_hash_len(td_hash_alg alg)
{
    switch (alg) {
    case TD_HASH_SHA256: return 32;
    case TD_HASH_SHA384: return 48;
    }
    return 0;
}

td_err td_hash(td_crypto *crypto, td_hash_alg alg, const uint8_t *in, size_t in_len, uint8_t *out)
{
    static const uint8_t empty[1] = {0};
    if (crypto == NULL || !td_hash_alg_ok(alg) || out == NULL || (in == NULL && in_len != 0))
        return TD_ERR_ARG;
    if (!EVP_Digest(in_len ? in : empty, in_len, out, NULL, crypto->md[alg], NULL))
        return td_crypto_error();
    return TD_OK;
}

struct td_hash_ctx {
    td_hash_alg alg;
    EVP_MD_CTX *ctx;
};

td_err td_hash_ctx_new(td_crypto *crypto, td_hash_alg alg, td_hash_ctx **out)
{
    if (crypto == NULL || !td_hash_alg_ok(alg) || out == NULL)
        return TD_ERR_ARG;
    *out = NULL;
    td_hash_ctx *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return TD_ERR_NOMEM;
    h->alg = alg;
    h->ctx = EVP_MD_CTX_new();
    if (h->ctx == NULL || !EVP_DigestInit_ex2(h->ctx, crypto->md[alg], NULL)) {
        td_hash_ctx_free(h);
        return td_crypto_error();
    }
    *out = h;
    return TD_OK;
}

td_err td_hash_ctx_update(td_hash_ctx *ctx, const uint8_t *in, size_t len)
{
    if (ctx == NULL || (in == NULL && len != 0))
        return TD_ERR_ARG;
    if (len == 0)
        return TD_OK;
    if (!EVP_DigestUpdate(ctx->ctx, in, len))
        return td_crypto_error();
    return TD_OK;
}

td_err td_hash_ctx_peek(const td_hash_ctx *ctx, uint8_t *out)
{
    if (ctx == NULL || out == NULL)
        return TD_ERR_ARG;
    td_err ret = TD_OK;
    EVP_MD_CTX *tmp = EVP_MD_CTX_new();
    if (tmp == NULL || !EVP_MD_CTX_copy_ex(tmp, ctx->ctx) || !EVP_DigestFinal_ex(tmp, out, NULL))
        ret = td_crypto_error();
    EVP_MD_CTX_free(tmp);
    return ret;
}

td_err td_hash_ctx_dup(const td_hash_ctx *ctx, td_hash_ctx **out)
{
    if (ctx == NULL || out == NULL)
        return TD_ERR_ARG;
    *out = NULL;
    td_hash_ctx *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return TD_ERR_NOMEM;
    h->alg = ctx->alg;
    h->ctx = EVP_MD_CTX_new();
    if (h->ctx == NULL || !EVP_MD_CTX_copy_ex(h->ctx, ctx->ctx)) {
        td_hash_ctx_free(h);
        return td_crypto_error();
    }
    *out = h;
    return TD_OK;
}

td_hash_alg td_hash_ctx_alg(const td_hash_ctx *ctx)
{
    return ctx->alg;
}

void td_hash_ctx_free(td_hash_ctx *ctx)
{
    if (ctx == NULL)
        return;
    EVP_MD_CTX_free(ctx->ctx);
    free(ctx);
}

/* ---- HMAC and HKDF (RFC 2104, RFC 5869) ---- */

/* An owned HMAC context keyed with |key|, duplicated from the template. */
static td_err td_hmac_keyed(td_crypto *crypto, td_hash_alg alg, const uint8_t *key,
                            size_t key_len, EVP_MAC_CTX **out)
{
    static const uint8_t empty[1] = {0};
    EVP_MAC_CTX *m = EVP_MAC_CTX_dup(crypto->hmac_tmpl[alg]);
    /* An empty key is legal HMAC (RFC 2104 pads it with zeros). */
    if (m == NULL || !EVP_MAC_init(m, key_len ? key : empty, key_len, NULL)) {
        EVP_MAC_CTX_free(m);
        return td_crypto_error();
    }
    *out = m;
    return TD_OK;
}

static td_err td_hmac_finish(EVP_MAC_CTX *m, const uint8_t *in, size_t in_len, uint8_t *out,
                             size_t out_cap)
{
    size_t n = 0;
    if ((in_len != 0 && !EVP_MAC_update(m, in, in_len)) || !EVP_MAC_final(m, out, &n, out_cap))
        return td_crypto_error();
    return TD_OK;
}

td_err td_hmac(td_crypto *crypto, td_hash_alg alg, const uint8_t *key, size_t key_len,
               const uint8_t *in, size_t in_len, uint8_t *out)
{
    if (crypto == NULL || !td_hash_alg_ok(alg) || out == NULL || (key == NULL && key_len != 0) ||
        (in == NULL && in_len != 0))
        return TD_ERR_ARG;
    EVP_MAC_CTX *m = NULL;
    TD_CHECK(td_hmac_keyed(crypto, alg, key, key_len, &m));
    td_err ret = td_hmac_finish(m, in, in_len, out, td_hash_len(alg));
    EVP_MAC_CTX_free(m);
    return ret;
}

/* RFC 5869 §2.2: PRK = HMAC-Hash(salt, IKM); no salt means HashLen zeros. */
td_err td_hkdf_extract(td_crypto *crypto, td_hash_alg alg, const uint8_t *salt, size_t salt_len,
                       const uint8_t *ikm, size_t ikm_len, uint8_t *out_prk)
{
    static const uint8_t zeros[TD_MAX_HASH_LEN] = {0};
    if (!td_hash_alg_ok(alg) || (salt == NULL && salt_len != 0))
        return TD_ERR_ARG;
    if (salt_len == 0) {
        salt = zeros;
        salt_len = td_hash_len(alg);
    }
    return td_hmac(crypto, alg, salt, salt_len, ikm, ikm_len, out_prk);
}

/* RFC 5869 §2.3: T(i) = HMAC-Hash(PRK, T(i-1) | info | i), L <= 255*HashLen.
 * The PRK is keyed once; each block duplicates that keyed context. */
td_err td_hkdf_expand(td_crypto *crypto, td_hash_alg alg, const uint8_t *prk, size_t prk_len,
                      const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
    if (crypto == NULL || !td_hash_alg_ok(alg) || (prk == NULL && prk_len != 0) ||
        (info == NULL && info_len != 0) || (out == NULL && out_len != 0))
        return TD_ERR_ARG;
    size_t hlen = td_hash_len(alg);
    /* RFC 5869 §2.3: L <= 255*HashLen. */
    if (out_len > 255 * hlen)
        return TD_ERR_ARG;
    td_err ret = TD_OK;
    EVP_MAC_CTX *keyed = NULL, *m = NULL;
    uint8_t t[TD_MAX_HASH_LEN];
    size_t t_len = 0, done = 0;
    TD_GUARD(td_hmac_keyed(crypto, alg, prk, prk_len, &keyed));
    for (uint8_t i = 1; done < out_len; i++) {
        m = EVP_MAC_CTX_dup(keyed);
        if (m == NULL) {
            ret = td_crypto_error();
            goto out;
        }
        if ((t_len != 0 && !EVP_MAC_update(m, t, t_len)) ||
            (info_len != 0 && !EVP_MAC_update(m, info, info_len))) {
            ret = td_crypto_error();
            goto out;
        }
        TD_GUARD(td_hmac_finish(m, &i, 1, t, sizeof(t)));
        EVP_MAC_CTX_free(m);
        m = NULL;
        t_len = hlen;
        size_t n = out_len - done < hlen ? out_len - done : hlen;
        memcpy(out + done, t, n);
        done += n;
    }
out:
    EVP_MAC_CTX_free(m);
    EVP_MAC_CTX_free(keyed);
    OPENSSL_cleanse(t, sizeof(t));
    return ret;
}

/* ---- AEAD (RFC 8446 §5.2) ---- */

size_t td_aead_key_len(td_aead_alg alg)
{
    switch (alg) {
    case TD_AEAD_AES_128_GCM: return 16;
    case TD_AEAD_AES_256_GCM: return 32;
    case TD_AEAD_CHACHA20_POLY1305: return 32;
    }
    return 0;
}

struct td_aead {
    td_crypto *crypto;
    td_aead_alg alg;
    uint8_t key[TD_MAX_KEY_LEN];
    size_t key_len;
    /* Keyed on first use per direction: a record-layer AEAD usually only
     * seals or only opens, so the other key schedule is never paid for. */
    EVP_CIPHER_CTX *ctx[2]; /* [0] open, [1] seal */
};

td_err td_aead_new(td_crypto *crypto, td_aead_alg alg, const uint8_t *key, size_t key_len,
                   td_aead **out)
{
    if (crypto == NULL || out == NULL || key == NULL)
        return TD_ERR_ARG;
    *out = NULL;
    size_t want = td_aead_key_len(alg);
    if (want == 0 || key_len != want)
        return TD_ERR_ARG;
    td_aead *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return TD_ERR_NOMEM;
    a->crypto = crypto;
    a->alg = alg;
    memcpy(a->key, key, key_len);
    a->key_len = key_len;
    *out = a;
    return TD_OK;
}

static td_err td_aead_ctx(td_aead *a, int enc, EVP_CIPHER_CTX **out)
{
    if (a->ctx[enc] == NULL) {
        EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
        /* The default IV length of all three ciphers is 12 (RFC 8446 §5.3). */
        if (c == NULL ||
            !EVP_CipherInit_ex2(c, a->crypto->cipher[a->alg], a->key, NULL, enc, NULL) ||
            EVP_CIPHER_CTX_get_iv_length(c) != TD_AEAD_NONCE_LEN) {
            EVP_CIPHER_CTX_free(c);
            return td_crypto_error();
        }
        a->ctx[enc] = c;
    }
    *out = a->ctx[enc];
    return TD_OK;
}

static bool td_aead_args_ok(const td_aead *a, const uint8_t *nonce, const uint8_t *ad,
                            size_t ad_len, const uint8_t *in, size_t in_len, const uint8_t *out)
{
    /* EVP lengths are int; records are far below this. */
    return a != NULL && nonce != NULL && (ad != NULL || ad_len == 0) &&
           (in != NULL || in_len == 0) && out != NULL && ad_len <= INT_MAX &&
           in_len <= (size_t)INT_MAX - TD_AEAD_TAG_LEN;
}

td_err td_aead_seal(td_aead *aead, const uint8_t nonce[TD_AEAD_NONCE_LEN], const uint8_t *ad,
                    size_t ad_len, const uint8_t *in, size_t in_len, uint8_t *out)
{
    if (!td_aead_args_ok(aead, nonce, ad, ad_len, in, in_len, out))
        return TD_ERR_ARG;
    EVP_CIPHER_CTX *c = NULL;
    TD_CHECK(td_aead_ctx(aead, 1, &c));
    int n = 0;
    if (!EVP_CipherInit_ex2(c, NULL, NULL, nonce, 1, NULL) ||
        (ad_len != 0 && !EVP_CipherUpdate(c, NULL, &n, ad, (int)ad_len)) ||
        (in_len != 0 && !EVP_CipherUpdate(c, out, &n, in, (int)in_len)) ||
        !EVP_CipherFinal_ex(c, out + in_len, &n) ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, TD_AEAD_TAG_LEN, out + in_len) <= 0)
        return td_crypto_error();
    return TD_OK;
}

td_err td_aead_open(td_aead *aead, const uint8_t nonce[TD_AEAD_NONCE_LEN], const uint8_t *ad,
                    size_t ad_len, const uint8_t *in, size_t in_len, uint8_t *out)
{
    if (aead == NULL || nonce == NULL || (in == NULL && in_len != 0))
        return TD_ERR_ARG;
    /* RFC 8446 §5.2: a ciphertext shorter than the tag cannot authenticate. */
    if (in_len < TD_AEAD_TAG_LEN)
        return TD_ERR_BAD_RECORD_MAC;
    size_t ct_len = in_len - TD_AEAD_TAG_LEN;
    if (!td_aead_args_ok(aead, nonce, ad, ad_len, in, ct_len, out))
        return TD_ERR_ARG;
    EVP_CIPHER_CTX *c = NULL;
    TD_CHECK(td_aead_ctx(aead, 0, &c));
    uint8_t tag[TD_AEAD_TAG_LEN];
    memcpy(tag, in + ct_len, sizeof(tag)); /* before an in-place decrypt */
    int n = 0;
    if (!EVP_CipherInit_ex2(c, NULL, NULL, nonce, 0, NULL) ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TD_AEAD_TAG_LEN, tag) <= 0 ||
        (ad_len != 0 && !EVP_CipherUpdate(c, NULL, &n, ad, (int)ad_len)) ||
        (ct_len != 0 && !EVP_CipherUpdate(c, out, &n, in, (int)ct_len)))
        return td_crypto_error();
    if (!EVP_CipherFinal_ex(c, out + ct_len, &n)) {
        /* Authentication failed: release no unauthenticated plaintext. */
        OPENSSL_cleanse(out, ct_len);
        ERR_clear_error();
        return TD_ERR_BAD_RECORD_MAC;
    }
    return TD_OK;
}

void td_aead_free(td_aead *aead)
{
    if (aead == NULL)
        return;
    EVP_CIPHER_CTX_free(aead->ctx[0]);
    EVP_CIPHER_CTX_free(aead->ctx[1]);
    OPENSSL_cleanse(aead->key, sizeof(aead->key));
    free(aead);
}

/* ---- cipher suites (RFC 8446 §B.4) ---- */

static const td_suite td_suites[] = {
    {TD_TLS_AES_128_GCM_SHA256, "TLS_AES_128_GCM_SHA256", TD_AEAD_AES_128_GCM, TD_HASH_SHA256, 16},
    {TD_TLS_AES_256_GCM_SHA384, "TLS_AES_256_GCM_SHA384", TD_AEAD_AES_256_GCM, TD_HASH_SHA384, 32},
    {TD_TLS_CHACHA20_POLY1305_SHA256, "TLS_CHACHA20_POLY1305_SHA256", TD_AEAD_CHACHA20_POLY1305,
     TD_HASH_SHA256, 32},
};

const td_suite *td_suite_get(uint16_t id)
{
    for (size_t i = 0; i < sizeof(td_suites) / sizeof(td_suites[0]); i++)
        if (td_suites[i].id == id)
            return &td_suites[i];
    return NULL;
}

/* ---- small helpers ---- */

void td_cleanse(void *p, size_t len)
{
    if (p != NULL && len != 0)
        OPENSSL_cleanse(p, len);
}

bool td_ct_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
    if (len == 0)
        return true;
    if (a == NULL || b == NULL)
        return false;
    return CRYPTO_memcmp(a, b, len) == 0;
}
