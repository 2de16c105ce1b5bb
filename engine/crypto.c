/* engine/crypto.c -- the td_crypto context (see tlsdrill/crypto.h): every
 * algorithm fetched once in td_crypto_new and freed in td_crypto_free, the
 * memo switch and its counters, the cipher suite table, small helpers. The
 * primitives are in the other engine/crypto_*.c files (crypto_internal.h
 * lists them); together they are the engine's only libcrypto callers.
 *
 * Determinism: nothing observable comes from libcrypto's RNG. Key generation
 * and randomised signatures draw from the caller's td_drbg (crypto_kex.c,
 * crypto_sign.c). libcrypto may still use its RNG internally for side-channel
 * blinding (RSA blinding, EC ladder coordinate blinding), which cancels out
 * and changes no output byte. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/obj_mac.h>
#include <openssl/params.h>

#include "crypto_internal.h"
#include "pool.h"

/* ---- the algorithm cache ---- */

static const char *const td_md_names[TD_NUM_HASH] = {"SHA256", "SHA384"};
static const char *const td_cipher_names[TD_NUM_AEAD] = {"AES-128-GCM", "AES-256-GCM",
                                                         "ChaCha20-Poly1305"};

/* An RFC 7919 prime from libcrypto's named group (no constant copied
 * here), with its Montgomery context, as ff_p[i] / ff_mont[i]. */
static td_err ffdhe_prime(td_crypto *c, int i, const char *name, int bytes)
{
    td_err ret = TD_ERR_CRYPTO;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
    EVP_PKEY *params = NULL;
    char group[16];
    snprintf(group, sizeof(group), "%s", name);
    OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
                      OSSL_PARAM_construct_end()};
    if (ctx == NULL || EVP_PKEY_paramgen_init(ctx) != 1 || EVP_PKEY_CTX_set_params(ctx, p) != 1 ||
        EVP_PKEY_paramgen(ctx, &params) != 1 ||
        EVP_PKEY_get_bn_param(params, OSSL_PKEY_PARAM_FFC_P, &c->ff_p[i]) != 1 ||
        BN_num_bytes(c->ff_p[i]) != bytes || (c->ff_mont[i] = BN_MONT_CTX_new()) == NULL ||
        !BN_MONT_CTX_set(c->ff_mont[i], c->ff_p[i], c->bn))
        goto out;
    ret = TD_OK;
out:
    EVP_PKEY_free(params);
    EVP_PKEY_CTX_free(ctx);
    return ret;
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
    if (c->md_sha512 == NULL)
        goto out;
    for (int i = 0; i < TD_NUM_AEAD; i++) {
        c->cipher[i] = EVP_CIPHER_fetch(NULL, td_cipher_names[i], NULL);
        if (c->cipher[i] == NULL)
            goto out;
    }
    c->ec[TD_EC_P256] = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    c->ec[TD_EC_P384] = EC_GROUP_new_by_curve_name(NID_secp384r1);
    c->ec[TD_EC_P521] = EC_GROUP_new_by_curve_name(NID_secp521r1);
    c->anchor_ec = -1;
    c->bn = BN_CTX_new();
    if (c->ec[TD_EC_P256] == NULL || c->ec[TD_EC_P384] == NULL || c->ec[TD_EC_P521] == NULL ||
        c->bn == NULL)
        goto out;
    for (int i = 0; i < TD_NUM_EC; i++) {
        const BIGNUM *n = EC_GROUP_get0_order(c->ec[i]);
        c->ord_mont[i] = BN_MONT_CTX_new();
        c->ord_m2[i] = BN_dup(n);
        if (c->ord_mont[i] == NULL || c->ord_m2[i] == NULL ||
            !BN_MONT_CTX_set(c->ord_mont[i], n, c->bn) || !BN_sub_word(c->ord_m2[i], 2))
            goto out;
    }
    static const char *const ecx_names[2] = {"X25519", "X448"};
    for (int i = 0; i < 2; i++) {
        c->ecx_ctx[i] = EVP_PKEY_CTX_new_from_name(NULL, ecx_names[i], NULL);
        if (c->ecx_ctx[i] == NULL)
            goto out;
    }
    if (ffdhe_prime(c, 0, "ffdhe2048", 256) != TD_OK ||
        ffdhe_prime(c, 1, "ffdhe3072", 384) != TD_OK ||
        ffdhe_prime(c, 2, "ffdhe4096", 512) != TD_OK)
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

static void memo_off(td_crypto *c);

td_drbg_cache *td_crypto_drbg_cache(td_crypto *c)
{
    return c != NULL ? &c->drbg_cache : NULL;
}

/* Lets a kept block go for good. */
static void block_drop(struct td_block *b)
{
    TD_POOL_UNPOISON(b->p, b->size);
    if (b->drop != NULL)
        b->drop(b->p);
    else
        free(b->p);
}

static bool block_keep(td_crypto *c, void *block, size_t size, td_block_drop_fn drop)
{
    if (c == NULL || block == NULL)
        return false;
    if (c->num_blocks == TD_BLOCK_POOL) {
        /* Full: the oldest goes, so that the pool follows what is in use. */
        block_drop(&c->blocks[0]);
        memmove(c->blocks, c->blocks + 1, (TD_BLOCK_POOL - 1) * sizeof(c->blocks[0]));
        c->num_blocks--;
    }
    c->blocks[c->num_blocks++] = (struct td_block){block, size, drop};
    TD_POOL_POISON(block, size);
    return true;
}

static void *block_take(td_crypto *c, size_t size, td_block_drop_fn drop)
{
    for (size_t i = c->num_blocks; i-- > 0;) {
        if (c->blocks[i].size != size || c->blocks[i].drop != drop)
            continue;
        void *p = c->blocks[i].p;
        memmove(c->blocks + i, c->blocks + i + 1, (c->num_blocks - i - 1) * sizeof(c->blocks[0]));
        c->num_blocks--;
        TD_POOL_UNPOISON(p, size);
        return p;
    }
    return NULL;
}

bool td_crypto_block_keep(td_crypto *c, void *block, size_t size)
{
    return block_keep(c, block, size, NULL);
}

void *td_crypto_block_take(td_crypto *c, size_t size)
{
    void *p = block_take(c, size, NULL);
    if (p != NULL)
        memset(p, 0, size);
    return p;
}

bool td_crypto_block_keep_owner(td_crypto *c, void *block, size_t size, td_block_drop_fn drop)
{
    return drop != NULL && block_keep(c, block, size, drop);
}

void *td_crypto_block_take_kept(td_crypto *c, size_t size, td_block_drop_fn drop)
{
    return drop != NULL ? block_take(c, size, drop) : NULL;
}

void td_crypto_free(td_crypto *c)
{
    if (c == NULL)
        return;
    memo_off(c);
    td_drbg_cache_cleanup(&c->drbg_cache);
    td_aead_pool_drain(c);
    for (size_t i = 0; i < c->num_blocks; i++)
        block_drop(&c->blocks[i]);
    X509_free(c->anchor);
    free(c->anchor_der);
    EC_POINT_free(c->anchor_pub);
    for (int i = 0; i < 2; i++)
        EVP_PKEY_CTX_free(c->ecx_ctx[i]);
    for (int i = 0; i < TD_NUM_FF; i++) {
        BN_free(c->ff_p[i]);
        BN_MONT_CTX_free(c->ff_mont[i]);
    }
    BN_CTX_free(c->bn);
    for (int i = 0; i < TD_NUM_EC; i++) {
        EC_GROUP_free(c->ec[i]);
        BN_MONT_CTX_free(c->ord_mont[i]);
        BN_free(c->ord_m2[i]);
    }
    for (int i = 0; i < TD_NUM_AEAD; i++)
        EVP_CIPHER_free(c->cipher[i]);
    for (int i = 0; i < TD_NUM_HASH; i++)
        EVP_MD_free(c->md[i]);
    EVP_MD_free(c->md_sha512);
    free(c);
}

/* ---- memoized pure crypto ---- */

static void memo_keys_clear(td_crypto *c)
{
    for (size_t i = 0; i < TD_MEMO_KEYS; i++) {
        td_pkey_free(c->memo_keys[i]);
        free(c->memo_key_der[i]);
        c->memo_keys[i] = NULL;
        c->memo_key_der[i] = NULL;
        c->memo_key_len[i] = 0;
    }
    c->memo_key_next = 0;
}

static void memo_off(td_crypto *c)
{
    td_memo_cleanup(&c->memo_kex);
    td_memo_cleanup(&c->memo_ecdh);
    td_memo_cleanup(&c->memo_chain);
    td_memo_cleanup(&c->memo_sig);
    memo_keys_clear(c);
    memset(&c->key_stats, 0, sizeof(c->key_stats));
    c->memo_on = false;
}

td_err td_crypto_set_memo(td_crypto *c, bool on)
{
    if (c == NULL)
        return TD_ERR_ARG;
    if (on == c->memo_on)
        return TD_OK;
    if (!on) {
        memo_off(c);
        return TD_OK;
    }
    /* Sizes: a fuzz run makes a handful of key pairs per input, from a few
     * DRBG states; the shared secrets follow the peer shares the inputs
     * carry. */
    td_err ret = td_memo_init(&c->memo_kex, 64);
    if (ret == TD_OK)
        ret = td_memo_init(&c->memo_ecdh, 512);
    if (ret == TD_OK)
        ret = td_memo_init(&c->memo_chain, 16);
    if (ret == TD_OK)
        ret = td_memo_init(&c->memo_sig, 128);
    if (ret != TD_OK) {
        td_memo_cleanup(&c->memo_kex);
        td_memo_cleanup(&c->memo_ecdh);
        td_memo_cleanup(&c->memo_chain);
        td_memo_cleanup(&c->memo_sig);
        return ret;
    }
    c->memo_on = true;
    return TD_OK;
}

bool td_crypto_memo_on(const td_crypto *c)
{
    return c != NULL && c->memo_on;
}

void td_crypto_memo_stats_get(const td_crypto *c, td_crypto_memo_kind kind,
                              td_crypto_memo_stats *out)
{
    memset(out, 0, sizeof(*out));
    const td_memo *m = NULL;
    switch (kind) {
    case TD_MEMO_KEYGEN: m = &c->memo_kex; break;
    case TD_MEMO_ECDH: m = &c->memo_ecdh; break;
    case TD_MEMO_CHAIN: m = &c->memo_chain; break;
    case TD_MEMO_SIG: m = &c->memo_sig; break;
    case TD_MEMO_CERT_KEY: *out = c->key_stats; return;
    case TD_MEMO_NUM_KINDS: return;
    }
    out->hits = m->hits;
    out->misses = m->misses;
    out->inserts = m->inserts;
    out->evictions = m->evictions;
}

/* ---- cipher suites (RFC 8446 §B.4) ---- */

static const td_suite k_suites[] = {
    {TD_TLS_AES_128_GCM_SHA256, "TLS_AES_128_GCM_SHA256", TD_AEAD_AES_128_GCM, TD_HASH_SHA256, 16},
    {TD_TLS_AES_256_GCM_SHA384, "TLS_AES_256_GCM_SHA384", TD_AEAD_AES_256_GCM, TD_HASH_SHA384, 32},
    {TD_TLS_CHACHA20_POLY1305_SHA256, "TLS_CHACHA20_POLY1305_SHA256", TD_AEAD_CHACHA20_POLY1305,
     TD_HASH_SHA256, 32},
};

const td_suite *td_suite_get(uint16_t id)
{
    for (size_t i = 0; i < sizeof(k_suites) / sizeof(k_suites[0]); i++)
        if (k_suites[i].id == id)
            return &k_suites[i];
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
