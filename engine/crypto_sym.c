/* engine/crypto_sym.c -- symmetric primitives of td_crypto: SHA-256/384,
 * HMAC, HKDF and the record AEADs (see tlsdrill/crypto.h).
 *
 * Performance: SHA-256/384 (transcripts, HMAC) run on libcrypto's SHA-2
 * functions in caller storage, without an EVP context per digest; HKDF is
 * written here on top of HMAC rather than going through
 * EVP_KDF/EVP_PKEY_HKDF; an AEAD keeps a keyed EVP_CIPHER_CTX per direction
 * and only sets the nonce per record. */
/* SHA256_Init and friends are marked deprecated in OpenSSL 3.0 in favour of
 * EVP, which allocates a context and dispatches through a provider on every
 * digest; they remain part of the 3.x API. */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "crypto_internal.h"
#include "pool.h"

/* ---- hashes ---- */

static bool hash_alg_ok(td_hash_alg alg)
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

/* SHA-256 and SHA-384 through libcrypto's SHA-2 functions on caller
 * storage rather than EVP_MD_CTX: the same implementation without the
 * provider dispatch, and no allocation per digest. A handshake hashes
 * short inputs dozens of times (transcript peeks, HMAC inside HKDF), where
 * EVP's context allocation and dispatch cost more than the hashing; under a
 * sanitizer every allocation costs microseconds. */
typedef struct sha2 {
    td_hash_alg alg;
    union {
        SHA256_CTX s256;
        SHA512_CTX s512; /* SHA-384 */
    } u;
} sha2;

static void sha2_init(sha2 *h, td_hash_alg alg)
{
    h->alg = alg;
    if (alg == TD_HASH_SHA256)
        SHA256_Init(&h->u.s256);
    else
        SHA384_Init(&h->u.s512);
}

static void sha2_update(sha2 *h, const void *in, size_t len)
{
    if (len == 0)
        return;
    if (h->alg == TD_HASH_SHA256)
        SHA256_Update(&h->u.s256, in, len);
    else
        SHA384_Update(&h->u.s512, in, len);
}

/* Ends |h| (wiped afterwards by the callers that hold secrets). */
static void sha2_final(sha2 *h, uint8_t *out)
{
    if (h->alg == TD_HASH_SHA256)
        SHA256_Final(out, &h->u.s256);
    else
        SHA384_Final(out, &h->u.s512);
}

td_err td_hash(td_crypto *crypto, td_hash_alg alg, const uint8_t *in, size_t in_len, uint8_t *out)
{
    if (crypto == NULL || !hash_alg_ok(alg) || out == NULL || (in == NULL && in_len != 0))
        return TD_ERR_ARG;
    sha2 h;
    sha2_init(&h, alg);
    sha2_update(&h, in, in_len);
    sha2_final(&h, out);
    return TD_OK;
}

struct td_hash_ctx {
    sha2 h;
    td_crypto *crypto; /* borrowed: where td_hash_ctx_free keeps the block */
};

/* A zeroed context: a freed one |crypto| kept (td_hash_ctx_free), or a new
 * one. A connection makes one or two per handshake (its transcript). */
static td_hash_ctx *hash_ctx_alloc(td_crypto *crypto)
{
    td_hash_ctx *h = td_crypto_block_take(crypto, sizeof(*h));
    if (h == NULL && (h = calloc(1, sizeof(*h))) == NULL)
        return NULL;
    h->crypto = crypto;
    return h;
}

td_err td_hash_ctx_new(td_crypto *crypto, td_hash_alg alg, td_hash_ctx **out)
{
    if (crypto == NULL || !hash_alg_ok(alg) || out == NULL)
        return TD_ERR_ARG;
    *out = NULL;
    td_hash_ctx *h = hash_ctx_alloc(crypto);
    if (h == NULL)
        return TD_ERR_NOMEM;
    sha2_init(&h->h, alg);
    *out = h;
    return TD_OK;
}

td_err td_hash_ctx_update(td_hash_ctx *ctx, const uint8_t *in, size_t len)
{
    if (ctx == NULL || (in == NULL && len != 0))
        return TD_ERR_ARG;
    sha2_update(&ctx->h, in, len);
    return TD_OK;
}

td_err td_hash_ctx_peek(const td_hash_ctx *ctx, uint8_t *out)
{
    if (ctx == NULL || out == NULL)
        return TD_ERR_ARG;
    sha2 tmp = ctx->h; /* plain data: a copy continues where the original is */
    sha2_final(&tmp, out);
    return TD_OK;
}

td_err td_hash_ctx_dup(const td_hash_ctx *ctx, td_hash_ctx **out)
{
    if (ctx == NULL || out == NULL)
        return TD_ERR_ARG;
    *out = NULL;
    td_hash_ctx *h = hash_ctx_alloc(ctx->crypto);
    if (h == NULL)
        return TD_ERR_NOMEM;
    *h = *ctx;
    *out = h;
    return TD_OK;
}

td_err td_hash_ctx_peek_with(const td_hash_ctx *ctx, const uint8_t *extra, size_t extra_len,
                             uint8_t *out)
{
    if (ctx == NULL || out == NULL || (extra == NULL && extra_len != 0))
        return TD_ERR_ARG;
    sha2 tmp = ctx->h; /* as td_hash_ctx_peek: the original goes on unchanged */
    sha2_update(&tmp, extra, extra_len);
    sha2_final(&tmp, out);
    return TD_OK;
}

td_hash_alg td_hash_ctx_alg(const td_hash_ctx *ctx)
{
    return ctx->h.alg;
}

void td_hash_ctx_free(td_hash_ctx *ctx)
{
    if (ctx == NULL)
        return;
    td_crypto *crypto = ctx->crypto;
    OPENSSL_cleanse(ctx, sizeof(*ctx));
    if (!td_crypto_block_keep(crypto, ctx, sizeof(*ctx)))
        free(ctx);
}

/* ---- HMAC and HKDF (RFC 2104, RFC 5869) ---- */

enum { TD_HMAC_MAX_BLOCK = 128 }; /* SHA-384's block */

/* HMAC(key, parts[0] | parts[1] | ...) (RFC 2104): H((K ^ opad) | H((K ^ ipad) | text)),
 * K the key zero-padded to the hash's block size, or its digest if longer. */
static td_err hmac_parts(td_crypto *c, td_hash_alg alg, const uint8_t *key, size_t key_len,
                         const uint8_t *const *parts, const size_t *lens, size_t nparts,
                         uint8_t *out)
{
    (void)c;
    size_t block = alg == TD_HASH_SHA256 ? 64 : 128, hlen = td_hash_len(alg);
    uint8_t pad[TD_HMAC_MAX_BLOCK], inner[TD_MAX_HASH_LEN];
    sha2 h;
    memset(pad, 0, sizeof(pad));
    if (key_len > block) {
        sha2_init(&h, alg);
        sha2_update(&h, key, key_len);
        sha2_final(&h, pad);
    } else if (key_len != 0) {
        memcpy(pad, key, key_len);
    }
    for (size_t i = 0; i < block; i++)
        pad[i] ^= 0x36;
    sha2_init(&h, alg);
    sha2_update(&h, pad, block);
    for (size_t i = 0; i < nparts; i++)
        sha2_update(&h, parts[i], lens[i]);
    sha2_final(&h, inner);
    for (size_t i = 0; i < block; i++)
        pad[i] ^= 0x36 ^ 0x5c;
    sha2_init(&h, alg);
    sha2_update(&h, pad, block);
    sha2_update(&h, inner, hlen);
    sha2_final(&h, out);
    OPENSSL_cleanse(pad, sizeof(pad));
    OPENSSL_cleanse(inner, sizeof(inner));
    OPENSSL_cleanse(&h, sizeof(h));
    return TD_OK;
}

td_err td_hmac(td_crypto *crypto, td_hash_alg alg, const uint8_t *key, size_t key_len,
               const uint8_t *in, size_t in_len, uint8_t *out)
{
    if (crypto == NULL || !hash_alg_ok(alg) || out == NULL || (key == NULL && key_len != 0) ||
        (in == NULL && in_len != 0))
        return TD_ERR_ARG;
    const uint8_t *parts[1] = {in};
    size_t lens[1] = {in_len};
    return hmac_parts(crypto, alg, key, key_len, parts, lens, 1, out);
}

/* RFC 5869 §2.2: PRK = HMAC-Hash(salt, IKM); no salt means HashLen zeros. */
td_err td_hkdf_extract(td_crypto *crypto, td_hash_alg alg, const uint8_t *salt, size_t salt_len,
                       const uint8_t *ikm, size_t ikm_len, uint8_t *out_prk)
{
    static const uint8_t zeros[TD_MAX_HASH_LEN] = {0};
    if (!hash_alg_ok(alg) || (salt == NULL && salt_len != 0))
        return TD_ERR_ARG;
    if (salt_len == 0) {
        salt = zeros;
        salt_len = td_hash_len(alg);
    }
    return td_hmac(crypto, alg, salt, salt_len, ikm, ikm_len, out_prk);
}

/* RFC 5869 §2.3: T(i) = HMAC-Hash(PRK, T(i-1) | info | i), L <= 255*HashLen. */
td_err td_hkdf_expand(td_crypto *crypto, td_hash_alg alg, const uint8_t *prk, size_t prk_len,
                      const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
    if (crypto == NULL || !hash_alg_ok(alg) || (prk == NULL && prk_len != 0) ||
        (info == NULL && info_len != 0) || (out == NULL && out_len != 0))
        return TD_ERR_ARG;
    size_t hlen = td_hash_len(alg);
    /* RFC 5869 §2.3: L <= 255*HashLen. */
    if (out_len > 255 * hlen)
        return TD_ERR_ARG;
    td_err ret = TD_OK;
    uint8_t t[TD_MAX_HASH_LEN];
    size_t t_len = 0, done = 0;
    for (uint8_t i = 1; done < out_len; i++) {
        const uint8_t *parts[3] = {t, info, &i};
        size_t lens[3] = {t_len, info_len, 1};
        TD_GUARD(hmac_parts(crypto, alg, prk, prk_len, parts, lens, 3, t));
        t_len = hlen;
        size_t n = out_len - done < hlen ? out_len - done : hlen;
        memcpy(out + done, t, n);
        done += n;
    }
out:
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
    /* Keyed on first use per direction: a record-layer AEAD usually only
     * seals or only opens, so the other key schedule is never paid for. A
     * context taken over from a pooled AEAD exists but still holds the old
     * key until keyed[] says otherwise. First: a pooled AEAD is poisoned
     * but for these two pointers, which LeakSanitizer must still see. */
    EVP_CIPHER_CTX *ctx[2]; /* [0] open, [1] seal */
    bool keyed[2];
    td_crypto *crypto;
    td_aead_alg alg;
    uint8_t key[TD_MAX_KEY_LEN];
    size_t key_len;
};

/* The part of a pooled AEAD that is poisoned (all but ctx[]). */
#define AEAD_POISON(a) TD_POOL_POISON((a)->keyed, sizeof(*(a)) - offsetof(td_aead, keyed))
#define AEAD_UNPOISON(a) TD_POOL_UNPOISON((a)->keyed, sizeof(*(a)) - offsetof(td_aead, keyed))

td_err td_aead_new(td_crypto *crypto, td_aead_alg alg, const uint8_t *key, size_t key_len,
                   td_aead **out)
{
    if (crypto == NULL || out == NULL || key == NULL)
        return TD_ERR_ARG;
    *out = NULL;
    size_t want = td_aead_key_len(alg);
    if (want == 0 || key_len != want)
        return TD_ERR_ARG;
    td_aead *a = NULL;
    for (size_t i = crypto->num_aead_pool; i-- > 0;) {
        td_aead *p = crypto->aead_pool[i];
        AEAD_UNPOISON(p);
        if (p->alg == alg) {
            a = p;
            crypto->aead_pool[i] = crypto->aead_pool[--crypto->num_aead_pool];
            break;
        }
        AEAD_POISON(p);
    }
    if (a == NULL && (a = calloc(1, sizeof(*a))) == NULL)
        return TD_ERR_NOMEM;
    a->crypto = crypto;
    a->alg = alg;
    memcpy(a->key, key, key_len);
    a->key_len = key_len;
    a->keyed[0] = a->keyed[1] = false;
    *out = a;
    return TD_OK;
}

static td_err aead_ctx(td_aead *a, int enc, EVP_CIPHER_CTX **out)
{
    if (a->ctx[enc] == NULL) {
        EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
        /* The default IV length of all three ciphers is 12 (RFC 8446 §5.3). */
        if (c == NULL ||
            !EVP_CipherInit_ex2(c, a->crypto->cipher[a->alg], a->key, NULL, enc, NULL) ||
            EVP_CIPHER_CTX_get_iv_length(c) != TD_AEAD_NONCE_LEN) {
            EVP_CIPHER_CTX_free(c);
            return crypto_error();
        }
        a->ctx[enc] = c;
        a->keyed[enc] = true;
    } else if (!a->keyed[enc]) {
        /* A pooled context: same cipher, new key. */
        if (!EVP_CipherInit_ex2(a->ctx[enc], NULL, a->key, NULL, enc, NULL))
            return crypto_error();
        a->keyed[enc] = true;
    }
    *out = a->ctx[enc];
    return TD_OK;
}

static bool aead_args_ok(const td_aead *a, const uint8_t *nonce, const uint8_t *ad, size_t ad_len,
                         const uint8_t *in, size_t in_len, const uint8_t *out)
{
    /* EVP lengths are int; records are far below this. */
    return a != NULL && nonce != NULL && (ad != NULL || ad_len == 0) &&
           (in != NULL || in_len == 0) && out != NULL && ad_len <= INT_MAX &&
           in_len <= (size_t)INT_MAX - TD_AEAD_TAG_LEN;
}

td_err td_aead_seal(td_aead *aead, const uint8_t nonce[TD_AEAD_NONCE_LEN], const uint8_t *ad,
                    size_t ad_len, const uint8_t *in, size_t in_len, uint8_t *out)
{
    if (!aead_args_ok(aead, nonce, ad, ad_len, in, in_len, out))
        return TD_ERR_ARG;
    EVP_CIPHER_CTX *c = NULL;
    TD_CHECK(aead_ctx(aead, 1, &c));
    int n = 0;
    if (!EVP_CipherInit_ex2(c, NULL, NULL, nonce, 1, NULL) ||
        (ad_len != 0 && !EVP_CipherUpdate(c, NULL, &n, ad, (int)ad_len)) ||
        (in_len != 0 && !EVP_CipherUpdate(c, out, &n, in, (int)in_len)) ||
        !EVP_CipherFinal_ex(c, out + in_len, &n) ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, TD_AEAD_TAG_LEN, out + in_len) <= 0)
        return crypto_error();
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
    if (!aead_args_ok(aead, nonce, ad, ad_len, in, ct_len, out))
        return TD_ERR_ARG;
    EVP_CIPHER_CTX *c = NULL;
    TD_CHECK(aead_ctx(aead, 0, &c));
    uint8_t tag[TD_AEAD_TAG_LEN];
    memcpy(tag, in + ct_len, sizeof(tag)); /* before an in-place decrypt */
    int n = 0;
    if (!EVP_CipherInit_ex2(c, NULL, NULL, nonce, 0, NULL) ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TD_AEAD_TAG_LEN, tag) <= 0 ||
        (ad_len != 0 && !EVP_CipherUpdate(c, NULL, &n, ad, (int)ad_len)) ||
        (ct_len != 0 && !EVP_CipherUpdate(c, out, &n, in, (int)ct_len))) {
        OPENSSL_cleanse(out, ct_len);
        return crypto_error();
    }
    if (!EVP_CipherFinal_ex(c, out + ct_len, &n)) {
        /* Authentication failed: release no unauthenticated plaintext. */
        OPENSSL_cleanse(out, ct_len);
        ERR_clear_error();
        return TD_ERR_BAD_RECORD_MAC;
    }
    return TD_OK;
}

static void aead_destroy(td_aead *aead)
{
    EVP_CIPHER_CTX_free(aead->ctx[0]);
    EVP_CIPHER_CTX_free(aead->ctx[1]);
    OPENSSL_cleanse(aead->key, sizeof(aead->key));
    free(aead);
}

void td_aead_free(td_aead *aead)
{
    if (aead == NULL)
        return;
    td_crypto *c = aead->crypto;
    if (c->num_aead_pool == TD_AEAD_POOL) {
        aead_destroy(aead);
        return;
    }
    /* Kept for the next td_aead_new: the key is wiped (the contexts keep
     * their key schedule until re-keyed) and the struct poisoned. */
    OPENSSL_cleanse(aead->key, sizeof(aead->key));
    aead->keyed[0] = aead->keyed[1] = false;
    c->aead_pool[c->num_aead_pool++] = aead;
    AEAD_POISON(aead);
}

void td_aead_pool_drain(td_crypto *c)
{
    for (size_t i = 0; i < c->num_aead_pool; i++) {
        AEAD_UNPOISON(c->aead_pool[i]);
        aead_destroy(c->aead_pool[i]);
    }
    c->num_aead_pool = 0;
}

td_err td_aead_dup(const td_aead *aead, td_aead **out)
{
    if (aead == NULL || out == NULL)
        return TD_ERR_ARG;
    /* The state of an AEAD is its key: the contexts are keyed from it on
     * first use (the nonce comes with every call). */
    return td_aead_new(aead->crypto, aead->alg, aead->key, aead->key_len, out);
}
