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

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/params.h>

#include "tlsdrill/crypto.h"

/* ---- the algorithm cache ---- */

enum { TD_NUM_HASH = 2, TD_NUM_AEAD = 3, TD_NUM_EC = 2 };
enum { TD_EC_P256 = 0, TD_EC_P384 = 1 };

struct td_crypto {
    EVP_MD *md[TD_NUM_HASH]; /* indexed by td_hash_alg */
    EVP_MD *md_sha512;       /* signatures only */
    EVP_MAC *hmac;
    EVP_MAC_CTX *hmac_tmpl[TD_NUM_HASH]; /* digest set, no key: dup then init */
    EVP_CIPHER *cipher[TD_NUM_AEAD];     /* indexed by td_aead_alg */
    EC_GROUP *ec[TD_NUM_EC];             /* P-256, P-384: ECDH and ECDSA */
    BN_CTX *bn;                          /* scratch for EC arithmetic */
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
    c->ec[TD_EC_P256] = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    c->ec[TD_EC_P384] = EC_GROUP_new_by_curve_name(NID_secp384r1);
    c->bn = BN_CTX_new();
    if (c->ec[TD_EC_P256] == NULL || c->ec[TD_EC_P384] == NULL || c->bn == NULL)
        goto out;
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
    BN_CTX_free(c->bn);
    for (int i = 0; i < TD_NUM_EC; i++)
        EC_GROUP_free(c->ec[i]);
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

/* ---- key exchange (RFC 8446 §4.2.7, §4.2.8.2, §7.4) ---- */

/* Supported groups: wire id, name, share length, private length, EC index
 * (-1 for the RFC 7748 functions, named by their OpenSSL key type). */
typedef struct td_group_info {
    uint16_t id;
    const char *name;
    size_t share_len;
    size_t priv_len;
    int ec;
    const char *ecx_type;
} td_group_info;

static const td_group_info td_groups[] = {
    {TD_GROUP_SECP256R1, "secp256r1", 65, 32, TD_EC_P256, NULL},
    {TD_GROUP_SECP384R1, "secp384r1", 97, 48, TD_EC_P384, NULL},
    {TD_GROUP_X25519, "x25519", 32, 32, -1, "X25519"},
    {TD_GROUP_X448, "x448", 56, 56, -1, "X448"},
};

static const td_group_info *td_group_find(uint16_t group)
{
    for (size_t i = 0; i < sizeof(td_groups) / sizeof(td_groups[0]); i++)
        if (td_groups[i].id == group)
            return &td_groups[i];
    return NULL;
}

bool td_group_supported(uint16_t group)
{
    return td_group_find(group) != NULL;
}

size_t td_group_share_len(uint16_t group)
{
    const td_group_info *g = td_group_find(group);
    return g != NULL ? g->share_len : 0;
}

const char *td_group_name(uint16_t group)
{
    switch (group) {
    case TD_GROUP_SECP256R1: return "secp256r1";
    case TD_GROUP_SECP384R1: return "secp384r1";
    case TD_GROUP_SECP521R1: return "secp521r1";
    case TD_GROUP_X25519: return "x25519";
    case TD_GROUP_X448: return "x448";
    default: return NULL;
    }
}

struct td_kex {
    td_crypto *crypto;
    const td_group_info *group;
    EVP_PKEY *ecx;   /* X25519/X448 private key */
    BIGNUM *d;       /* NIST curves: the private scalar, in [1, n-1] */
    uint8_t pub[TD_MAX_SHARE_LEN];
    size_t pub_len;
};

/* An owned scalar from big-endian |in| if it lies in [1, n-1]; TD_ERR_ARG
 * if it does not. Used for ECDH keys and ECDSA nonces. */
static td_err td_ec_scalar(td_crypto *crypto, int ec, const uint8_t *in, size_t len, BIGNUM **out)
{
    *out = NULL;
    BIGNUM *k = BN_secure_new();
    if (k == NULL || BN_bin2bn(in, (int)len, k) == NULL) {
        BN_clear_free(k);
        return td_crypto_error();
    }
    if (BN_is_zero(k) || BN_cmp(k, EC_GROUP_get0_order(crypto->ec[ec])) >= 0) {
        BN_clear_free(k);
        return TD_ERR_ARG;
    }
    BN_set_flags(k, BN_FLG_CONSTTIME);
    *out = k;
    return TD_OK;
}

/* The uncompressed encoding of d*G (RFC 8446 §4.2.8.2). */
static td_err td_ec_public(td_crypto *crypto, int ec, const BIGNUM *d, uint8_t *out, size_t cap,
                           size_t *out_len)
{
    const EC_GROUP *g = crypto->ec[ec];
    EC_POINT *p = EC_POINT_new(g);
    size_t n = 0;
    if (p == NULL || !EC_POINT_mul(g, p, d, NULL, NULL, crypto->bn) ||
        (n = EC_POINT_point2oct(g, p, POINT_CONVERSION_UNCOMPRESSED, out, cap, crypto->bn)) == 0) {
        EC_POINT_free(p);
        return td_crypto_error();
    }
    EC_POINT_free(p);
    *out_len = n;
    return TD_OK;
}

td_err td_kex_from_private(td_crypto *crypto, uint16_t group, const uint8_t *priv, size_t priv_len,
                           td_kex **out)
{
    if (crypto == NULL || out == NULL || priv == NULL)
        return TD_ERR_ARG;
    *out = NULL;
    const td_group_info *g = td_group_find(group);
    if (g == NULL)
        return TD_ERR_UNSUPPORTED;
    if (priv_len != g->priv_len)
        return TD_ERR_ARG;
    td_kex *k = calloc(1, sizeof(*k));
    if (k == NULL)
        return TD_ERR_NOMEM;
    k->crypto = crypto;
    k->group = g;
    td_err ret = TD_OK;
    if (g->ec >= 0) {
        TD_GUARD(td_ec_scalar(crypto, g->ec, priv, priv_len, &k->d));
        TD_GUARD(td_ec_public(crypto, g->ec, k->d, k->pub, sizeof(k->pub), &k->pub_len));
    } else {
        /* RFC 7748 §5: the scalar is clamped by the function itself. */
        k->ecx = EVP_PKEY_new_raw_private_key_ex(NULL, g->ecx_type, NULL, priv, priv_len);
        k->pub_len = sizeof(k->pub);
        if (k->ecx == NULL || !EVP_PKEY_get_raw_public_key(k->ecx, k->pub, &k->pub_len)) {
            ret = td_crypto_error();
            goto out;
        }
    }
    if (k->pub_len != g->share_len)
        ret = TD_ERR_CRYPTO;
out:
    if (ret != TD_OK) {
        td_kex_free(k);
        return ret;
    }
    *out = k;
    return TD_OK;
}

td_err td_kex_generate(td_crypto *crypto, uint16_t group, td_drbg *drbg, td_kex **out)
{
    if (crypto == NULL || drbg == NULL || out == NULL)
        return TD_ERR_ARG;
    *out = NULL;
    const td_group_info *g = td_group_find(group);
    if (g == NULL)
        return TD_ERR_UNSUPPORTED;
    uint8_t priv[TD_MAX_SHARE_LEN];
    td_err ret;
    /* NIST curves: rejection sampling into [1, n-1] (FIPS 186-4 B.4.2);
     * n is within 2^-32 of 2^bits for P-256 and P-384, so a retry is rare
     * and 64 failures in a row mean a broken DRBG. */
    for (int tries = 0;; tries++) {
        td_drbg_bytes(drbg, priv, g->priv_len);
        ret = td_kex_from_private(crypto, group, priv, g->priv_len, out);
        if (ret != TD_ERR_ARG || tries == 64)
            break;
    }
    OPENSSL_cleanse(priv, sizeof(priv));
    return ret == TD_ERR_ARG ? TD_ERR_CRYPTO : ret;
}

uint16_t td_kex_group(const td_kex *kex)
{
    return kex->group->id;
}

td_err td_kex_public(const td_kex *kex, uint8_t *out, size_t cap, size_t *out_len)
{
    if (kex == NULL || out == NULL || out_len == NULL)
        return TD_ERR_ARG;
    if (cap < kex->pub_len)
        return TD_ERR_ARG;
    memcpy(out, kex->pub, kex->pub_len);
    *out_len = kex->pub_len;
    return TD_OK;
}

static td_err td_kex_derive_ec(td_kex *kex, const uint8_t *peer, size_t peer_len, uint8_t *out,
                               size_t *out_len, td_diag *diag)
{
    td_crypto *c = kex->crypto;
    const EC_GROUP *g = c->ec[kex->group->ec];
    td_err ret = TD_OK;
    EC_POINT *q = NULL, *s = NULL;
    BIGNUM *x = NULL;
    /* RFC 8446 §4.2.8.2: UncompressedPointRepresentation, legacy_form = 4
     * (point format negotiation is gone; compressed forms are not allowed). */
    if (peer[0] != 4)
        TD_FAIL(diag, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_KS_EC_INVALID_POINT, 0,
                "%s share has legacy_form 0x%02x, not 4 (uncompressed)", kex->group->name, peer[0]);
    q = EC_POINT_new(g);
    s = EC_POINT_new(g);
    x = BN_new();
    if (q == NULL || s == NULL || x == NULL) {
        ret = td_crypto_error();
        goto out;
    }
    /* RFC 8446 §4.2.8.2: peers MUST validate the peer's Q: not the point at
     * infinity, x and y in [0, p-1], and on the curve. oct2point rejects
     * out-of-range coordinates and points off the curve; cofactor 1 means
     * no subgroup check is needed. */
    if (!EC_POINT_oct2point(g, q, peer, peer_len, c->bn) || EC_POINT_is_at_infinity(g, q) ||
        EC_POINT_is_on_curve(g, q, c->bn) != 1) {
        ERR_clear_error();
        ret = td_diag_set(diag, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_KS_EC_INVALID_POINT, 1, __FILE__,
                          __LINE__, "%s share is not a valid curve point", kex->group->name);
        goto out;
    }
    /* RFC 8446 §7.4.2: the shared secret is the x-coordinate of d*Q,
     * left-padded to the field size. */
    size_t flen = (kex->group->share_len - 1) / 2;
    if (!EC_POINT_mul(g, s, NULL, q, kex->d, c->bn) || EC_POINT_is_at_infinity(g, s) ||
        !EC_POINT_get_affine_coordinates(g, s, x, NULL, c->bn) ||
        BN_bn2binpad(x, out, (int)flen) != (int)flen) {
        ret = td_crypto_error();
        goto out;
    }
    *out_len = flen;
out:
    EC_POINT_free(q);
    EC_POINT_clear_free(s);
    BN_clear_free(x);
    return ret;
}

static td_err td_kex_derive_ecx(td_kex *kex, const uint8_t *peer, size_t peer_len, uint8_t *out,
                                size_t *out_len, td_diag *diag)
{
    static const uint8_t zeros[TD_MAX_SHARE_LEN] = {0};
    td_err ret = TD_OK;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pk = EVP_PKEY_new_raw_public_key_ex(NULL, kex->group->ecx_type, NULL, peer, peer_len);
    size_t n = kex->group->share_len;
    if (pk == NULL || (ctx = EVP_PKEY_CTX_new_from_pkey(NULL, kex->ecx, NULL)) == NULL ||
        EVP_PKEY_derive_init(ctx) != 1 || EVP_PKEY_derive_set_peer_ex(ctx, pk, 0) != 1) {
        ret = td_crypto_error();
        goto out;
    }
    /* RFC 8446 §7.4.2: implementations MUST check whether the computed
     * shared secret is the all-zero value and abort if so. OpenSSL's X25519
     * and X448 refuse to return that value (the only way derive fails once
     * the keys are set up), so a derive failure here is that case; the
     * explicit comparison covers a provider that does return it. */
    if (EVP_PKEY_derive(ctx, out, &n) != 1 || n != kex->group->share_len ||
        CRYPTO_memcmp(out, zeros, n) == 0) {
        ERR_clear_error();
        OPENSSL_cleanse(out, kex->group->share_len);
        ret = td_diag_set(diag, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_KS_X_ZERO_SECRET, 0, __FILE__,
                          __LINE__, "%s shared secret is all zeros", kex->group->name);
        goto out;
    }
    *out_len = n;
out:
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pk);
    return ret;
}

td_err td_kex_derive(td_kex *kex, const uint8_t *peer, size_t peer_len, uint8_t *out, size_t cap,
                     size_t *out_len, td_diag *diag)
{
    if (kex == NULL || out == NULL || out_len == NULL || (peer == NULL && peer_len != 0))
        return TD_ERR_ARG;
    *out_len = 0;
    const td_group_info *g = kex->group;
    size_t secret_len = g->ec >= 0 ? (g->share_len - 1) / 2 : g->share_len;
    if (cap < secret_len)
        return TD_ERR_ARG;
    /* RFC 8446 §4.2.8.2: X25519 shares are 32 bytes, X448 56; a NIST share
     * is 1 + 2 * coordinate_length (65 for P-256, 97 for P-384). */
    if (peer_len != g->share_len)
        TD_FAIL(diag, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_KS_BAD_LENGTH, 0,
                "%s key_exchange is %zu bytes, want %zu", g->name, peer_len, g->share_len);
    if (g->ec >= 0)
        return td_kex_derive_ec(kex, peer, peer_len, out, out_len, diag);
    return td_kex_derive_ecx(kex, peer, peer_len, out, out_len, diag);
}

void td_kex_free(td_kex *kex)
{
    if (kex == NULL)
        return;
    EVP_PKEY_free(kex->ecx);
    BN_clear_free(kex->d);
    OPENSSL_cleanse(kex, sizeof(*kex));
    free(kex);
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
