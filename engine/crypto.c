/* engine/crypto.c -- every libcrypto call of the engine (see tlsdrill/crypto.h).
 *
 * Performance: td_crypto_new fetches every
 * algorithm once; SHA-256/384 (transcripts, HMAC) run on libcrypto's SHA-2
 * functions in caller storage, without an EVP context per digest; HKDF is
 * written here on top of HMAC rather than going through
 * EVP_KDF/EVP_PKEY_HKDF; an AEAD keeps a keyed EVP_CIPHER_CTX per direction
 * and only sets the nonce per record; with the memo on (crypto.h), repeated
 * key generation, key agreement and chain checks are looked up.
 *
 * Determinism: nothing observable comes from libcrypto's RNG. Key generation
 * and randomised signatures draw from the caller's td_drbg: NIST-curve
 * scalars and ECDSA nonces are rejection-sampled into [1, n-1], ECDSA and
 * EMSA-PSS are computed here (libcrypto's would draw k and the salt from
 * its RNG), X25519/X448 keys are made from raw DRBG bytes. libcrypto may
 * still use its RNG internally for side-channel blinding (RSA blinding, EC
 * ladder coordinate blinding), which cancels out and changes no output byte.
 *
 * ECDH on P-256/P-384 is EC_POINT arithmetic on groups fetched once (no
 * EVP_PKEY is built for either side): the peer point is decoded and
 * validated here anyway, so wrapping it in an EVP_PKEY would only add cost.
 *
 * Layout: hashes, HMAC/HKDF, AEAD, suites, key exchange, signatures,
 * certificates. The file is longer than most because it is the only file
 * of the engine that calls libcrypto.
 *
 * Errors: a libcrypto failure that is not the peer's fault is TD_ERR_CRYPTO,
 * and the OpenSSL error queue is cleared so later calls start clean. */
/* SHA256_Init and friends (the hashes, HMAC and HKDF below) are marked
 * deprecated in OpenSSL 3.0 in favour of EVP, which allocates a context and
 * dispatches through a provider on every digest; they remain part of the
 * 3.x API. */
#define OPENSSL_SUPPRESS_DEPRECATED 1
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
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "cert_check.h"
#include "crypto_memo.h"
#include "tlsdrill/crypto.h"

/* ---- the algorithm cache ---- */

enum { TD_NUM_HASH = 2, TD_NUM_AEAD = 3, TD_NUM_EC = 3, TD_NUM_FF = 3 };
enum { TD_EC_P256 = 0, TD_EC_P384 = 1, TD_EC_P521 = 2 };
enum { TD_MEMO_KEYS = 8 }; /* parsed certificate keys kept (td_pkey_from_cert_der) */

struct td_crypto {
    EVP_MD *md[TD_NUM_HASH];         /* indexed by td_hash_alg */
    EVP_MD *md_sha512;               /* signatures only */
    EVP_CIPHER *cipher[TD_NUM_AEAD]; /* indexed by td_aead_alg */
    EC_GROUP *ec[TD_NUM_EC];         /* P-256, P-384: ECDH and ECDSA; P-521: ECDH */
    BN_CTX *bn;                      /* scratch for EC arithmetic */
    /* Per group: Montgomery context of the order n and n - 2, for the
     * inversions mod n of ECDSA (k^-1 = k^(n-2), n prime). */
    BN_MONT_CTX *ord_mont[TD_NUM_EC];
    BIGNUM *ord_m2[TD_NUM_EC];
    /* X25519, X448: key-management contexts made once; td_kex builds its
     * keys through them (EVP_PKEY_new_raw_*_key_ex would look the key
     * type up in the provider store on every call). */
    EVP_PKEY_CTX *ecx_ctx[2];
    /* ffdhe2048, ffdhe3072, ffdhe4096 (RFC 7919): their primes p (g = 2),
     * taken from libcrypto's named groups, with Montgomery contexts for the
     * exponentiations. */
    BIGNUM *ff_p[TD_NUM_FF];
    BN_MONT_CTX *ff_mont[TD_NUM_FF];
    /* The last trust anchor parsed, keyed by its DER bytes: a client
     * verifies every chain against the same configured anchor, and parsing
     * a certificate (its public key through the OSSL_DECODER machinery)
     * costs as much as an ECDSA verification. */
    uint8_t *anchor_der;
    size_t anchor_len;
    X509 *anchor;
    /* Its EC key for td_chain_verify_leaf's direct path: anchor_ec is
     * TD_EC_P256/P384 with anchor_pub set, -1 not read yet, -2 not EC. */
    int anchor_ec;
    EC_POINT *anchor_pub;
    /* Memoized pure functions (td_crypto_set_memo, off by default):
     * (group, private bytes) -> public share; (group, private bytes, peer
     * share) -> shared secret; (anchor, chain) -> verified (and by which
     * path); (Ed25519 key, message) -> signature; (key, scheme, message,
     * signature) -> verified; certificate bytes -> its public key (a few parsed keys, each
     * handed out as a new reference). Only successes are stored: every
     * failure is computed again, with its own diagnostic. Owned by this
     * td_crypto (single-threaded like the rest of it); wiped when freed. */
    bool memo_on;
    td_memo memo_kex, memo_ecdh, memo_chain, memo_sig;
    struct td_pkey *memo_keys[TD_MEMO_KEYS];
    uint8_t *memo_key_der[TD_MEMO_KEYS];
    size_t memo_key_len[TD_MEMO_KEYS];
    size_t memo_key_next;
    td_crypto_memo_stats key_stats;
};

static const char *const td_md_names[TD_NUM_HASH] = {"SHA256", "SHA384"};
static const char *const td_cipher_names[TD_NUM_AEAD] = {"AES-128-GCM", "AES-256-GCM",
                                                         "ChaCha20-Poly1305"};

static td_err crypto_error(void)
{
    ERR_clear_error();
    return TD_ERR_CRYPTO;
}

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

void td_crypto_free(td_crypto *c)
{
    if (c == NULL)
        return;
    memo_off(c);
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
};

td_err td_hash_ctx_new(td_crypto *crypto, td_hash_alg alg, td_hash_ctx **out)
{
    if (crypto == NULL || !hash_alg_ok(alg) || out == NULL)
        return TD_ERR_ARG;
    *out = NULL;
    td_hash_ctx *h = calloc(1, sizeof(*h));
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
    td_hash_ctx *h = malloc(sizeof(*h));
    if (h == NULL)
        return TD_ERR_NOMEM;
    *h = *ctx;
    *out = h;
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
    OPENSSL_cleanse(ctx, sizeof(*ctx));
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

/* ---- key exchange (RFC 8446 §4.2.7, §4.2.8.2, §7.4) ---- */

/* Supported groups: wire id, name, share length, private length, EC index
 * (-1 for the RFC 7748 functions), index into td_crypto.ecx_ctx (-1 for
 * the NIST curves). */
typedef struct td_group_info {
    uint16_t id;
    const char *name;
    size_t share_len;
    size_t priv_len;
    int ec;
    int ecx;
    int ff;  /* finite-field: index into td_crypto.ff_p (-1: not one) */
} td_group_info;

static const td_group_info k_groups[] = {
    {TD_GROUP_SECP256R1, "secp256r1", 65, 32, TD_EC_P256, -1, -1},
    {TD_GROUP_SECP384R1, "secp384r1", 97, 48, TD_EC_P384, -1, -1},
    /* §4.2.8.2: 1 + 2 * 66 bytes; the 66-byte scalar's top 7 bits are
     * cleared before the range check (521 bits). */
    {TD_GROUP_SECP521R1, "secp521r1", 133, 66, TD_EC_P521, -1, -1},
    {TD_GROUP_X25519, "x25519", 32, 32, -1, 0, -1},
    {TD_GROUP_X448, "x448", 56, 56, -1, 1, -1},
    /* RFC 7919 §5.2: exponents of at least 225 / 275 / 325 bits; ours are
     * 256 / 320 / 384. Y and Z are the size of p (§4.2.8.1). */
    {TD_GROUP_FFDHE2048, "ffdhe2048", 256, 32, -1, -1, 0},
    {TD_GROUP_FFDHE3072, "ffdhe3072", 384, 40, -1, -1, 1},
    {TD_GROUP_FFDHE4096, "ffdhe4096", 512, 48, -1, -1, 2},
};

static const td_group_info *group_find(uint16_t group)
{
    for (size_t i = 0; i < sizeof(k_groups) / sizeof(k_groups[0]); i++)
        if (k_groups[i].id == group)
            return &k_groups[i];
    return NULL;
}

bool td_group_supported(uint16_t group)
{
    return group_find(group) != NULL;
}

size_t td_group_share_len(uint16_t group)
{
    const td_group_info *g = group_find(group);
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
    case TD_GROUP_FFDHE2048: return "ffdhe2048";
    case TD_GROUP_FFDHE3072: return "ffdhe3072";
    case TD_GROUP_FFDHE4096: return "ffdhe4096";
    default: return NULL;
    }
}

/* An X25519/X448 key from raw bytes through the context made once in
 * td_crypto_new. |param| is OSSL_PKEY_PARAM_PRIV_KEY (the public key is
 * computed from it) or OSSL_PKEY_PARAM_PUB_KEY. NULL on failure. */
static EVP_PKEY *ecx_key(td_crypto *c, int ecx, const char *param, const uint8_t *raw, size_t len)
{
    EVP_PKEY *pk = NULL;
    bool priv = strcmp(param, OSSL_PKEY_PARAM_PRIV_KEY) == 0;
    OSSL_PARAM params[2] = {
        OSSL_PARAM_construct_octet_string(param, (void *)raw, len),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_PKEY_fromdata_init(c->ecx_ctx[ecx]) != 1 ||
        EVP_PKEY_fromdata(c->ecx_ctx[ecx], &pk, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                          params) != 1)
        return NULL;
    return pk;
}

enum { TD_KEX_MAX_PRIV = 80 }; /* private bytes kept for the memo (P-521: 66) */

/* An X25519/X448 key pair from its raw private and public bytes (the public
 * one known to match), NULL on failure. */
static EVP_PKEY *ecx_keypair(td_crypto *c, int ecx, const uint8_t *priv, size_t priv_len,
                             const uint8_t *pub, size_t pub_len)
{
    EVP_PKEY *pk = NULL;
    OSSL_PARAM params[3] = {
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY, (void *)priv, priv_len),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pub, pub_len),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_PKEY_fromdata_init(c->ecx_ctx[ecx]) != 1 ||
        EVP_PKEY_fromdata(c->ecx_ctx[ecx], &pk, EVP_PKEY_KEYPAIR, params) != 1)
        return NULL;
    return pk;
}

struct td_kex {
    td_crypto *crypto;
    const td_group_info *group;
    EVP_PKEY *ecx; /* X25519/X448 private key */
    BIGNUM *d;     /* NIST curves: the private scalar, in [1, n-1] */
    uint8_t pub[TD_MAX_SHARE_LEN];
    size_t pub_len;
    /* With the memo on: the private bytes (the memo key), and whether the
     * public share came from the memo, so that d / ecx are not made yet
     * (kex_setup makes them when a derive misses). */
    uint8_t priv[TD_KEX_MAX_PRIV];
    size_t priv_len;
    bool lazy;
};

/* An owned scalar from big-endian |in| if it lies in [1, n-1]; TD_ERR_ARG
 * if it does not. Used for ECDH keys and ECDSA nonces. */
static td_err ec_scalar(td_crypto *crypto, int ec, const uint8_t *in, size_t len, BIGNUM **out)
{
    *out = NULL;
    BIGNUM *k = BN_secure_new();
    if (k == NULL || BN_bin2bn(in, (int)len, k) == NULL) {
        BN_clear_free(k);
        return crypto_error();
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
static td_err ec_public(td_crypto *crypto, int ec, const BIGNUM *d, uint8_t *out, size_t cap,
                        size_t *out_len)
{
    const EC_GROUP *g = crypto->ec[ec];
    EC_POINT *p = EC_POINT_new(g);
    size_t n = 0;
    if (p == NULL || !EC_POINT_mul(g, p, d, NULL, NULL, crypto->bn) ||
        (n = EC_POINT_point2oct(g, p, POINT_CONVERSION_UNCOMPRESSED, out, cap, crypto->bn)) == 0) {
        EC_POINT_free(p);
        return crypto_error();
    }
    EC_POINT_free(p);
    *out_len = n;
    return TD_OK;
}

/* The private key of |k| from |priv| (d, or the EVP_PKEY for X25519/X448)
 * and, unless |pub_known| (a memo hit filled k->pub), its public share.
 * TD_ERR_ARG if |priv| is not a valid private key of the group. */
static td_err kex_setup(td_kex *k, const uint8_t *priv, size_t priv_len, bool pub_known)
{
    td_crypto *crypto = k->crypto;
    const td_group_info *g = k->group;
    td_err ret = TD_OK;
    if (g->ff >= 0) {
        /* RFC 7919 / RFC 8446 §4.2.8.1: Y = 2^x mod p, big-endian, left-padded
         * to the size of p. An exponent below 2 is drawn again. */
        BIGNUM *two = BN_new();
        k->d = BN_secure_new();
        BIGNUM *y = BN_new();
        bool ok = two != NULL && k->d != NULL && y != NULL && BN_set_word(two, 2) &&
                  BN_bin2bn(priv, (int)priv_len, k->d) != NULL;
        if (ok && BN_cmp(k->d, two) < 0) {
            BN_free(two);
            BN_free(y);
            ret = TD_ERR_ARG;
            goto out;
        }
        BN_set_flags(k->d, BN_FLG_CONSTTIME);
        ok = ok && (pub_known || (BN_mod_exp_mont_consttime(y, two, k->d, crypto->ff_p[g->ff],
                                                            crypto->bn, crypto->ff_mont[g->ff]) &&
                                  BN_bn2binpad(y, k->pub, (int)g->share_len) == (int)g->share_len));
        BN_free(two);
        BN_free(y);
        if (!ok) {
            ret = crypto_error();
            goto out;
        }
        k->pub_len = g->share_len;
    } else if (g->ec >= 0) {
        uint8_t p521[66];
        if (g->ec == TD_EC_P521 && priv_len == sizeof(p521)) {
            memcpy(p521, priv, sizeof(p521));
            p521[0] &= 0x01; /* 528 drawn bits -> 521 */
            priv = p521;
        }
        ret = ec_scalar(crypto, g->ec, priv, priv_len, &k->d);
        OPENSSL_cleanse(p521, sizeof(p521));
        TD_GUARD(ret);
        if (!pub_known)
            TD_GUARD(ec_public(crypto, g->ec, k->d, k->pub, sizeof(k->pub), &k->pub_len));
    } else if (pub_known) {
        /* The public key is known: given with the private one, libcrypto
         * does not compute it again. */
        k->ecx = ecx_keypair(crypto, g->ecx, priv, priv_len, k->pub, k->pub_len);
        if (k->ecx == NULL)
            ret = crypto_error();
    } else {
        /* RFC 7748 §5: the scalar is clamped by the function itself. */
        k->ecx = ecx_key(crypto, g->ecx, OSSL_PKEY_PARAM_PRIV_KEY, priv, priv_len);
        k->pub_len = sizeof(k->pub);
        if (k->ecx == NULL || !EVP_PKEY_get_raw_public_key(k->ecx, k->pub, &k->pub_len)) {
            ret = crypto_error();
            goto out;
        }
    }
    if (k->pub_len != g->share_len)
        ret = TD_ERR_CRYPTO;
out:
    return ret;
}

td_err td_kex_from_private(td_crypto *crypto, uint16_t group, const uint8_t *priv, size_t priv_len,
                           td_kex **out)
{
    if (crypto == NULL || out == NULL || priv == NULL)
        return TD_ERR_ARG;
    *out = NULL;
    const td_group_info *g = group_find(group);
    if (g == NULL)
        return TD_ERR_UNSUPPORTED;
    if (priv_len != g->priv_len)
        return TD_ERR_ARG;
    td_kex *k = calloc(1, sizeof(*k));
    if (k == NULL)
        return TD_ERR_NOMEM;
    k->crypto = crypto;
    k->group = g;
    bool memo = crypto->memo_on && priv_len <= sizeof(k->priv);
    uint8_t gid[2] = {(uint8_t)(group >> 8), (uint8_t)group};
    td_memo_key key = {{gid, priv}, {2, priv_len}, 2};
    if (memo) {
        memcpy(k->priv, priv, priv_len);
        k->priv_len = priv_len;
        /* Only valid private keys are stored: an invalid one misses and
         * fails below as without the memo. */
        if (td_memo_get(&crypto->memo_kex, &key, k->pub, sizeof(k->pub), &k->pub_len) &&
            k->pub_len == g->share_len) {
            k->lazy = true;
            *out = k;
            return TD_OK;
        }
    }
    td_err ret = kex_setup(k, priv, priv_len, false);
    if (ret != TD_OK) {
        td_kex_free(k);
        return ret;
    }
    if (memo)
        td_memo_put(&crypto->memo_kex, &key, k->pub, k->pub_len);
    *out = k;
    return TD_OK;
}

td_err td_kex_generate(td_crypto *crypto, uint16_t group, td_drbg *drbg, td_kex **out)
{
    if (crypto == NULL || drbg == NULL || out == NULL)
        return TD_ERR_ARG;
    *out = NULL;
    const td_group_info *g = group_find(group);
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

static td_err kex_derive_ec(td_kex *kex, const uint8_t *peer, size_t peer_len, uint8_t *out,
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
        ret = crypto_error();
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
        ret = crypto_error();
        goto out;
    }
    *out_len = flen;
out:
    EC_POINT_free(q);
    EC_POINT_clear_free(s);
    BN_clear_free(x);
    return ret;
}

static td_err kex_derive_ecx(td_kex *kex, const uint8_t *peer, size_t peer_len, uint8_t *out,
                             size_t *out_len, td_diag *diag)
{
    static const uint8_t zeros[TD_MAX_SHARE_LEN] = {0};
    td_err ret = TD_OK;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pk = ecx_key(kex->crypto, kex->group->ecx, OSSL_PKEY_PARAM_PUB_KEY, peer, peer_len);
    size_t n = kex->group->share_len;
    if (pk == NULL || (ctx = EVP_PKEY_CTX_new_from_pkey(NULL, kex->ecx, NULL)) == NULL ||
        EVP_PKEY_derive_init(ctx) != 1 || EVP_PKEY_derive_set_peer_ex(ctx, pk, 0) != 1) {
        ret = crypto_error();
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

static td_err kex_derive_ff(td_kex *kex, const uint8_t *peer, size_t peer_len, uint8_t *out,
                            size_t *out_len, td_diag *diag)
{
    td_crypto *c = kex->crypto;
    td_err ret = TD_OK;
    const BIGNUM *p = c->ff_p[kex->group->ff];
    BIGNUM *y = BN_bin2bn(peer, (int)peer_len, NULL), *pm1 = BN_dup(p), *z = BN_secure_new();
    if (y == NULL || pm1 == NULL || z == NULL || !BN_sub_word(pm1, 1)) {
        ret = crypto_error();
        goto out;
    }
    /* RFC 8446 §4.2.8.1: "Peers MUST validate each other's public key Y by
     * ensuring that 1 < Y < p-1" (illegal_parameter, §6). */
    if (BN_cmp(y, BN_value_one()) <= 0 || BN_cmp(y, pm1) >= 0) {
        ret = td_diag_set(diag, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_KS_DH_RANGE, 0, __FILE__,
                          __LINE__, "%s public value Y is not in 1 < Y < p-1", kex->group->name);
        goto out;
    }
    /* RFC 8446 §7.4.1: Z = Y^x mod p, big-endian, left-padded to the size of p. */
    if (!BN_mod_exp_mont_consttime(z, y, kex->d, p, c->bn, c->ff_mont[kex->group->ff]) ||
        BN_bn2binpad(z, out, (int)kex->group->share_len) != (int)kex->group->share_len) {
        ret = crypto_error();
        goto out;
    }
    *out_len = kex->group->share_len;
out:
    BN_free(y);
    BN_free(pm1);
    BN_clear_free(z);
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
     * is 1 + 2 * coordinate_length (65 for P-256, 97 for P-384); §4.2.8.1:
     * a finite-field Y is left-padded to the size of p (256 for ffdhe2048). */
    if (peer_len != g->share_len)
        TD_FAIL(diag, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_KS_BAD_LENGTH, 0,
                "%s key_exchange is %zu bytes, want %zu", g->name, peer_len, g->share_len);
    td_crypto *c = kex->crypto;
    bool memo = c->memo_on && kex->priv_len != 0;
    uint8_t gid[2] = {(uint8_t)(g->id >> 8), (uint8_t)g->id};
    td_memo_key key = {{gid, kex->priv, peer}, {2, kex->priv_len, peer_len}, 3};
    /* Only secrets of shares that validated are stored: an invalid share
     * misses and is rejected below with its rule, as without the memo. */
    if (memo && td_memo_get(&c->memo_ecdh, &key, out, cap, out_len) && *out_len == secret_len)
        return TD_OK;
    *out_len = 0;
    if (kex->lazy) {
        TD_CHECK(kex_setup(kex, kex->priv, kex->priv_len, true));
        kex->lazy = false;
    }
    td_err ret;
    if (g->ff >= 0)
        ret = kex_derive_ff(kex, peer, peer_len, out, out_len, diag);
    else if (g->ec >= 0)
        ret = kex_derive_ec(kex, peer, peer_len, out, out_len, diag);
    else
        ret = kex_derive_ecx(kex, peer, peer_len, out, out_len, diag);
    if (ret == TD_OK && memo)
        td_memo_put(&c->memo_ecdh, &key, out, *out_len);
    return ret;
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

/* ---- keys and signatures (RFC 8446 §4.2.3, §4.4.3) ---- */

typedef enum td_sig_kind {
    TD_SIG_KIND_ECDSA,
    TD_SIG_KIND_PSS_RSAE,
    TD_SIG_KIND_PSS_PSS,
    TD_SIG_KIND_PKCS1,
    TD_SIG_KIND_ED25519,
    TD_SIG_KIND_ED448,
} td_sig_kind;

typedef struct td_sig_info {
    uint16_t id;
    const char *name;
    td_sig_kind kind;
    int md;          /* 0 SHA-256, 1 SHA-384, 2 SHA-512, -1 none/unsupported */
    td_key_type key; /* the key type the scheme needs */
} td_sig_info;

/* RFC 8446 §4.2.3 SignatureScheme values. SHA-1 schemes are listed for
 * their names only (md -1): TLS 1.3 never accepts them. */
static const td_sig_info k_sigs[] = {
    {TD_SIG_RSA_PKCS1_SHA256, "rsa_pkcs1_sha256", TD_SIG_KIND_PKCS1, 0, TD_KEY_RSA},
    {TD_SIG_RSA_PKCS1_SHA384, "rsa_pkcs1_sha384", TD_SIG_KIND_PKCS1, 1, TD_KEY_RSA},
    {TD_SIG_RSA_PKCS1_SHA512, "rsa_pkcs1_sha512", TD_SIG_KIND_PKCS1, 2, TD_KEY_RSA},
    {TD_SIG_ECDSA_SECP256R1_SHA256, "ecdsa_secp256r1_sha256", TD_SIG_KIND_ECDSA, 0, TD_KEY_EC_P256},
    {TD_SIG_ECDSA_SECP384R1_SHA384, "ecdsa_secp384r1_sha384", TD_SIG_KIND_ECDSA, 1, TD_KEY_EC_P384},
    {TD_SIG_ECDSA_SECP521R1_SHA512, "ecdsa_secp521r1_sha512", TD_SIG_KIND_ECDSA, -1, TD_KEY_OTHER},
    {TD_SIG_RSA_PSS_RSAE_SHA256, "rsa_pss_rsae_sha256", TD_SIG_KIND_PSS_RSAE, 0, TD_KEY_RSA},
    {TD_SIG_RSA_PSS_RSAE_SHA384, "rsa_pss_rsae_sha384", TD_SIG_KIND_PSS_RSAE, 1, TD_KEY_RSA},
    {TD_SIG_RSA_PSS_RSAE_SHA512, "rsa_pss_rsae_sha512", TD_SIG_KIND_PSS_RSAE, 2, TD_KEY_RSA},
    {TD_SIG_ED25519, "ed25519", TD_SIG_KIND_ED25519, -1, TD_KEY_ED25519},
    {TD_SIG_ED448, "ed448", TD_SIG_KIND_ED448, -1, TD_KEY_OTHER},
    {TD_SIG_RSA_PSS_PSS_SHA256, "rsa_pss_pss_sha256", TD_SIG_KIND_PSS_PSS, -1, TD_KEY_OTHER},
    {TD_SIG_RSA_PSS_PSS_SHA384, "rsa_pss_pss_sha384", TD_SIG_KIND_PSS_PSS, -1, TD_KEY_OTHER},
    {TD_SIG_RSA_PSS_PSS_SHA512, "rsa_pss_pss_sha512", TD_SIG_KIND_PSS_PSS, -1, TD_KEY_OTHER},
    {TD_SIG_RSA_PKCS1_SHA1, "rsa_pkcs1_sha1", TD_SIG_KIND_PKCS1, -1, TD_KEY_RSA},
    {TD_SIG_ECDSA_SHA1, "ecdsa_sha1", TD_SIG_KIND_ECDSA, -1, TD_KEY_OTHER},
};

static const td_sig_info *sig_find(uint16_t scheme)
{
    for (size_t i = 0; i < sizeof(k_sigs) / sizeof(k_sigs[0]); i++)
        if (k_sigs[i].id == scheme)
            return &k_sigs[i];
    return NULL;
}

const char *td_sig_name(uint16_t scheme)
{
    const td_sig_info *s = sig_find(scheme);
    return s != NULL ? s->name : NULL;
}

static const EVP_MD *sig_md(const td_crypto *c, const td_sig_info *s)
{
    switch (s->md) {
    case 0: return c->md[TD_HASH_SHA256];
    case 1: return c->md[TD_HASH_SHA384];
    case 2: return c->md_sha512;
    default: return NULL;
    }
}

struct td_pkey {
    td_crypto *crypto;
    EVP_PKEY *pkey;
    td_key_type type;
    bool priv;
    BIGNUM *ec_d; /* EC private keys: the scalar, for deterministic ECDSA */
    /* EC public keys read by td_chain_verify_leaf's direct path: the point
     * on crypto->ec[], no EVP_PKEY (|pkey| is NULL). */
    EC_POINT *ec_pub;
};

/* Wraps |pk| (takes ownership, also on failure). */
static td_err pkey_wrap(td_crypto *crypto, EVP_PKEY *pk, bool priv, td_pkey **out)
{
    td_pkey *k = calloc(1, sizeof(*k));
    if (k == NULL) {
        EVP_PKEY_free(pk);
        return TD_ERR_NOMEM;
    }
    k->crypto = crypto;
    k->pkey = pk;
    k->priv = priv;
    k->type = TD_KEY_OTHER;
    /* "RSA" is rsaEncryption only; id-RSASSA-PSS keys are "RSA-PSS". */
    if (EVP_PKEY_is_a(pk, "RSA")) {
        k->type = TD_KEY_RSA;
    } else if (EVP_PKEY_is_a(pk, "ED25519")) {
        k->type = TD_KEY_ED25519;
    } else if (EVP_PKEY_is_a(pk, "EC")) {
        char name[64];
        if (EVP_PKEY_get_group_name(pk, name, sizeof(name), NULL)) {
            if (strcmp(name, "prime256v1") == 0 || strcmp(name, "P-256") == 0)
                k->type = TD_KEY_EC_P256;
            else if (strcmp(name, "secp384r1") == 0 || strcmp(name, "P-384") == 0)
                k->type = TD_KEY_EC_P384;
        }
        if (priv && k->type != TD_KEY_OTHER) {
            if (!EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, &k->ec_d)) {
                td_pkey_free(k);
                return crypto_error();
            }
            BN_set_flags(k->ec_d, BN_FLG_CONSTTIME);
        }
    }
    ERR_clear_error();
    *out = k;
    return TD_OK;
}

/* Never prompt for a passphrase: an encrypted key is a format error here. */
static int pem_no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

td_err td_pkey_from_pem(td_crypto *crypto, const char *pem, size_t pem_len, td_pkey **out)
{
    if (crypto == NULL || out == NULL || (pem == NULL && pem_len != 0))
        return TD_ERR_ARG;
    *out = NULL;
    if (pem_len == 0 || pem_len > INT_MAX)
        return TD_ERR_FORMAT;
    BIO *bio = BIO_new_mem_buf(pem, (int)pem_len);
    if (bio == NULL)
        return crypto_error();
    /* PKCS#8 ("PRIVATE KEY") and the traditional RSA/EC forms. */
    EVP_PKEY *pk = PEM_read_bio_PrivateKey_ex(bio, NULL, pem_no_password, NULL, NULL, NULL);
    BIO_free(bio);
    if (pk == NULL) {
        ERR_clear_error();
        return TD_ERR_FORMAT;
    }
    return pkey_wrap(crypto, pk, true, out);
}

/* Parses exactly |len| bytes of DER as a certificate; TD_ERR_DECODE if it
 * is not one or if anything follows it. */
static td_err x509_parse(const uint8_t *der, size_t len, X509 **out)
{
    *out = NULL;
    if (der == NULL || len == 0 || len > LONG_MAX)
        return TD_ERR_DECODE;
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (x == NULL || p != der + len) {
        X509_free(x);
        ERR_clear_error();
        return TD_ERR_DECODE;
    }
    *out = x;
    return TD_OK;
}

/* A public key like |src| (an EVP_PKEY reference or a copy of the point). */
static td_err pkey_clone(const td_pkey *src, td_pkey **out)
{
    td_pkey *k = calloc(1, sizeof(*k));
    if (k == NULL)
        return TD_ERR_NOMEM;
    k->crypto = src->crypto;
    k->type = src->type;
    if (src->pkey != NULL) {
        if (!EVP_PKEY_up_ref(src->pkey)) {
            free(k);
            return crypto_error();
        }
        k->pkey = src->pkey;
    }
    if (src->ec_pub != NULL) {
        int ec = src->type == TD_KEY_EC_P256 ? TD_EC_P256 : TD_EC_P384;
        k->ec_pub = EC_POINT_dup(src->ec_pub, src->crypto->ec[ec]);
        if (k->ec_pub == NULL) {
            td_pkey_free(k);
            return crypto_error();
        }
    }
    *out = k;
    return TD_OK;
}

td_err td_pkey_from_cert_der(td_crypto *crypto, const uint8_t *der, size_t der_len, td_pkey **out)
{
    if (crypto == NULL || out == NULL)
        return TD_ERR_ARG;
    *out = NULL;
    if (crypto->memo_on && der != NULL) {
        for (size_t i = 0; i < TD_MEMO_KEYS; i++) {
            if (crypto->memo_keys[i] != NULL && crypto->memo_key_len[i] == der_len &&
                memcmp(crypto->memo_key_der[i], der, der_len) == 0) {
                crypto->key_stats.hits++;
                return pkey_clone(crypto->memo_keys[i], out);
            }
        }
        crypto->key_stats.misses++;
    }
    X509 *x = NULL;
    TD_CHECK(x509_parse(der, der_len, &x));
    EVP_PKEY *pk = X509_get_pubkey(x); /* a new reference */
    X509_free(x);
    if (pk == NULL) {
        /* Parsed as a certificate, but its SubjectPublicKeyInfo did not. */
        ERR_clear_error();
        return TD_ERR_DECODE;
    }
    TD_CHECK(pkey_wrap(crypto, pk, false, out));
    if (crypto->memo_on) {
        /* Round robin over a few slots: a run sees a few certificates. */
        size_t i = crypto->memo_key_next++ % TD_MEMO_KEYS;
        uint8_t *copy = malloc(der_len);
        td_pkey *keep = NULL;
        if (copy != NULL && pkey_clone(*out, &keep) == TD_OK) {
            if (crypto->memo_keys[i] != NULL)
                crypto->key_stats.evictions++;
            td_pkey_free(crypto->memo_keys[i]);
            free(crypto->memo_key_der[i]);
            memcpy(copy, der, der_len);
            crypto->memo_keys[i] = keep;
            crypto->memo_key_der[i] = copy;
            crypto->memo_key_len[i] = der_len;
            crypto->key_stats.inserts++;
        } else {
            free(copy);
        }
    }
    return TD_OK;
}

td_key_type td_pkey_type(const td_pkey *key)
{
    return key != NULL ? key->type : TD_KEY_OTHER;
}

bool td_pkey_is_private(const td_pkey *key)
{
    return key != NULL && key->priv;
}

/* RFC 8446 §4.2.3: rsa_pss_rsae_* for rsaEncryption keys; ECDSA schemes
 * name their curve; ed25519 for Ed25519 keys. RSASSA-PKCS1-v1_5 and SHA-1
 * schemes are not defined for TLS 1.3 handshake signatures. */
bool td_pkey_supports_scheme(const td_pkey *key, uint16_t scheme)
{
    const td_sig_info *s = sig_find(scheme);
    if (key == NULL || s == NULL || key->type == TD_KEY_OTHER || s->key != key->type)
        return false;
    switch (s->kind) {
    case TD_SIG_KIND_ECDSA:
    case TD_SIG_KIND_PSS_RSAE: return s->md >= 0;
    case TD_SIG_KIND_ED25519: return true;
    case TD_SIG_KIND_PKCS1:
    case TD_SIG_KIND_PSS_PSS:
    case TD_SIG_KIND_ED448: return false;
    }
    return false;
}

struct evp_pkey_st *td_pkey_evp(const td_pkey *key)
{
    return key != NULL ? key->pkey : NULL;
}

void td_pkey_free(td_pkey *key)
{
    if (key == NULL)
        return;
    EVP_PKEY_free(key->pkey);
    BN_clear_free(key->ec_d);
    EC_POINT_free(key->ec_pub);
    free(key);
}

/* ECDSA (FIPS 186-4 §6.4, SEC 1 §4.1.3) with the nonce k drawn from the
 * DRBG by rejection sampling into [1, n-1]: r = x(kG) mod n,
 * s = k^-1 (e + r d) mod n, DER-encoded (RFC 8446 §4.2.3). libcrypto's
 * ECDSA would draw k from its own RNG. */
static td_err ecdsa_sign(td_crypto *c, int ec, const BIGNUM *d, const uint8_t *dgst, size_t dlen,
                         td_drbg *drbg, uint8_t *out, size_t cap, size_t *out_len)
{
    const EC_GROUP *g = c->ec[ec];
    const BIGNUM *n = EC_GROUP_get0_order(g);
    size_t nlen = (size_t)BN_num_bytes(n);
    int nbits = BN_num_bits(n);
    td_err ret = TD_OK;
    uint8_t kb[TD_MAX_ECDH_LEN];
    BIGNUM *k = NULL, *e = BN_new(), *r = BN_new(), *s = BN_new(), *kinv = BN_secure_new();
    BIGNUM *t = BN_secure_new();
    EC_POINT *R = EC_POINT_new(g);
    ECDSA_SIG *sig = NULL;
    if (e == NULL || r == NULL || s == NULL || kinv == NULL || t == NULL || R == NULL)
        goto crypto_err;
    /* e = the leftmost bits(n) bits of the digest. */
    size_t elen = dlen < nlen ? dlen : nlen;
    if (BN_bin2bn(dgst, (int)elen, e) == NULL ||
        ((int)elen * 8 > nbits && !BN_rshift(e, e, (int)elen * 8 - nbits)))
        goto crypto_err;
    for (int tries = 0;; tries++) {
        if (tries == 64) /* n ~ 2^bits: 64 rejections mean a broken DRBG */
            goto crypto_err;
        BN_clear_free(k);
        k = NULL;
        td_drbg_bytes(drbg, kb, nlen);
        ret = ec_scalar(c, ec, kb, nlen, &k);
        if (ret == TD_ERR_ARG)
            continue;
        if (ret != TD_OK)
            goto out;
        if (!EC_POINT_mul(g, R, k, NULL, NULL, c->bn) ||
            !EC_POINT_get_affine_coordinates(g, R, r, NULL, c->bn) || !BN_nnmod(r, r, n, c->bn))
            goto crypto_err;
        if (BN_is_zero(r))
            continue;
        if (!BN_mod_exp_mont_consttime(kinv, k, c->ord_m2[ec], n, c->bn, c->ord_mont[ec]) ||
            !BN_mod_mul(t, r, d, n, c->bn) || !BN_mod_add(t, t, e, n, c->bn) ||
            !BN_mod_mul(s, kinv, t, n, c->bn))
            goto crypto_err;
        if (!BN_is_zero(s))
            break;
    }
    sig = ECDSA_SIG_new();
    if (sig == NULL || !ECDSA_SIG_set0(sig, r, s))
        goto crypto_err;
    r = s = NULL; /* owned by sig now */
    int len = i2d_ECDSA_SIG(sig, NULL);
    if (len <= 0)
        goto crypto_err;
    if ((size_t)len > cap) {
        ret = TD_ERR_ARG;
        goto out;
    }
    unsigned char *p = out;
    if (i2d_ECDSA_SIG(sig, &p) != len)
        goto crypto_err;
    *out_len = (size_t)len;
    ret = TD_OK;
    goto out;
crypto_err:
    ret = crypto_error();
out:
    OPENSSL_cleanse(kb, sizeof(kb));
    ECDSA_SIG_free(sig);
    EC_POINT_clear_free(R);
    BN_clear_free(k);
    BN_clear_free(kinv);
    BN_clear_free(t);
    BN_free(e), BN_free(r), BN_free(s);
    return ret;
}

/* ECDSA verification (SEC 1 §4.1.4) of a DER ECDSA-Sig-Value over digest
 * |dgst| with the public point |q|: w = s^-1, R = (e w) G + (r w) Q,
 * valid iff x(R) mod n = r. Public inputs only, so no constant-time care.
 * The signature must be strict DER (re-encoding it gives the same bytes),
 * as libcrypto's ECDSA_verify requires. TD_ERR_DECRYPT if it does not
 * verify. */
static td_err ecdsa_verify_point(td_crypto *c, int ec, const EC_POINT *q, const uint8_t *dgst,
                                 size_t dlen, const uint8_t *sig, size_t sig_len)
{
    const EC_GROUP *g = c->ec[ec];
    const BIGNUM *n = EC_GROUP_get0_order(g);
    size_t nlen = (size_t)BN_num_bytes(n);
    int nbits = BN_num_bits(n);
    td_err ret = TD_ERR_DECRYPT;
    const unsigned char *p = sig;
    unsigned char *der = NULL;
    ECDSA_SIG *es =
        sig_len > 0 && sig_len <= LONG_MAX ? d2i_ECDSA_SIG(NULL, &p, (long)sig_len) : NULL;
    BIGNUM *e = BN_new(), *w = BN_new(), *u1 = BN_new(), *u2 = BN_new(), *x = BN_new();
    EC_POINT *R = EC_POINT_new(g);
    if (e == NULL || w == NULL || u1 == NULL || u2 == NULL || x == NULL || R == NULL) {
        ret = crypto_error();
        goto out;
    }
    if (es == NULL || p != sig + sig_len)
        goto out;
    int der_len = i2d_ECDSA_SIG(es, &der);
    if (der_len <= 0 || (size_t)der_len != sig_len || memcmp(der, sig, sig_len) != 0)
        goto out;
    const BIGNUM *r = ECDSA_SIG_get0_r(es), *s = ECDSA_SIG_get0_s(es);
    if (BN_is_zero(r) || BN_is_negative(r) || BN_cmp(r, n) >= 0 || BN_is_zero(s) ||
        BN_is_negative(s) || BN_cmp(s, n) >= 0)
        goto out;
    size_t elen = dlen < nlen ? dlen : nlen;
    if (BN_bin2bn(dgst, (int)elen, e) == NULL ||
        ((int)elen * 8 > nbits && !BN_rshift(e, e, (int)elen * 8 - nbits)) ||
        /* w = s^(n-2) mod n: public values, so the variable-time
         * exponentiation on the cached Montgomery context is fine. */
        !BN_mod_exp_mont(w, s, c->ord_m2[ec], n, c->bn, c->ord_mont[ec]) ||
        !BN_mod_mul(u1, e, w, n, c->bn) || !BN_mod_mul(u2, r, w, n, c->bn) ||
        !EC_POINT_mul(g, R, u1, q, u2, c->bn)) {
        ret = crypto_error();
        goto out;
    }
    if (EC_POINT_is_at_infinity(g, R))
        goto out;
    if (!EC_POINT_get_affine_coordinates(g, R, x, NULL, c->bn) || !BN_nnmod(x, x, n, c->bn)) {
        ret = crypto_error();
        goto out;
    }
    if (BN_cmp(x, r) == 0)
        ret = TD_OK;
out:
    if (ret == TD_ERR_DECRYPT)
        ERR_clear_error();
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    EC_POINT_free(R);
    BN_free(e), BN_free(w), BN_free(u1), BN_free(u2), BN_free(x);
    return ret;
}

/* MGF1 (RFC 8017 §B.2.1): XORs the mask generated from |seed| into |db|. */
static td_err mgf1_xor(const EVP_MD *md, const uint8_t *seed, size_t seed_len, uint8_t *db,
                       size_t db_len)
{
    uint8_t buf[EVP_MAX_MD_SIZE];
    size_t hlen = (size_t)EVP_MD_get_size(md);
    td_err ret = TD_OK;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        return crypto_error();
    for (uint32_t counter = 0, done = 0; done < db_len; counter++) {
        uint8_t cb[4] = {(uint8_t)(counter >> 24), (uint8_t)(counter >> 16),
                         (uint8_t)(counter >> 8), (uint8_t)counter};
        if (!EVP_DigestInit_ex2(ctx, md, NULL) || !EVP_DigestUpdate(ctx, seed, seed_len) ||
            !EVP_DigestUpdate(ctx, cb, 4) || !EVP_DigestFinal_ex(ctx, buf, NULL)) {
            ret = crypto_error();
            break;
        }
        for (size_t i = 0; i < hlen && done < db_len; i++)
            db[done++] ^= buf[i];
    }
    EVP_MD_CTX_free(ctx);
    return ret;
}

/* RSASSA-PSS (RFC 8017 §8.1.1) with EMSA-PSS encoding (§9.1.1) done here so
 * the salt comes from the DRBG; salt length = hash length (RFC 8446 §4.2.3);
 * then the raw RSA private-key operation. (libcrypto's PSS padding would
 * draw the salt from its own RNG.) */
static td_err pss_sign(EVP_PKEY *pk, const EVP_MD *md, td_drbg *drbg, const uint8_t *msg,
                       size_t msg_len, uint8_t *out, size_t cap, size_t *out_len)
{
    static const uint8_t zeros[8] = {0};
    size_t hlen = (size_t)EVP_MD_get_size(md), slen = hlen;
    int mod_bits = EVP_PKEY_get_bits(pk);
    size_t k = (size_t)EVP_PKEY_get_size(pk);
    if (mod_bits <= 0 || k > TD_MAX_SIG_LEN)
        return TD_ERR_UNSUPPORTED;
    size_t em_bits = (size_t)mod_bits - 1, em_len = (em_bits + 7) / 8;
    /* RFC 8017 §9.1.1 step 3: emLen >= hLen + sLen + 2. */
    if (em_len < hlen + slen + 2 || em_len > k)
        return TD_ERR_ARG;
    if (cap < k)
        return TD_ERR_ARG;
    td_err ret = TD_OK;
    uint8_t em[TD_MAX_SIG_LEN], mhash[EVP_MAX_MD_SIZE], salt[EVP_MAX_MD_SIZE];
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    memset(em, 0, sizeof(em));
    /* When emBits is a multiple of 8, EM is one byte shorter than the modulus. */
    uint8_t *e = em + (k - em_len);
    size_t db_len = em_len - hlen - 1;
    uint8_t *h = e + db_len;
    td_drbg_bytes(drbg, salt, slen);
    /* M' = 0x00*8 || mHash || salt; H = Hash(M'). */
    if (mctx == NULL || !EVP_DigestInit_ex2(mctx, md, NULL) ||
        (msg_len != 0 && !EVP_DigestUpdate(mctx, msg, msg_len)) ||
        !EVP_DigestFinal_ex(mctx, mhash, NULL) || !EVP_DigestInit_ex2(mctx, md, NULL) ||
        !EVP_DigestUpdate(mctx, zeros, 8) || !EVP_DigestUpdate(mctx, mhash, hlen) ||
        !EVP_DigestUpdate(mctx, salt, slen) || !EVP_DigestFinal_ex(mctx, h, NULL)) {
        ret = crypto_error();
        goto out;
    }
    /* DB = PS || 0x01 || salt; maskedDB = DB xor MGF1(H); EM = maskedDB || H || 0xbc. */
    e[db_len - slen - 1] = 0x01;
    memcpy(e + db_len - slen, salt, slen);
    TD_GUARD(mgf1_xor(md, h, hlen, e, db_len));
    e[0] &= (uint8_t)(0xff >> (8 * em_len - em_bits));
    e[em_len - 1] = 0xbc;
    size_t sig_len = cap;
    if ((pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL)) == NULL ||
        EVP_PKEY_sign_init(pctx) != 1 || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_NO_PADDING) != 1 ||
        EVP_PKEY_sign(pctx, out, &sig_len, em, k) != 1 || sig_len != k) {
        ret = crypto_error();
        goto out;
    }
    *out_len = sig_len;
out:
    EVP_PKEY_CTX_free(pctx);
    EVP_MD_CTX_free(mctx);
    OPENSSL_cleanse(em, sizeof(em));
    OPENSSL_cleanse(salt, sizeof(salt));
    return ret;
}

static td_err ed25519_sign(EVP_PKEY *pk, const uint8_t *msg, size_t msg_len, uint8_t *out,
                           size_t cap, size_t *out_len)
{
    static const uint8_t empty[1] = {0};
    if (cap < 64)
        return TD_ERR_ARG;
    td_err ret = TD_OK;
    size_t n = cap;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    /* RFC 8032 §5.1.6: deterministic; no RNG involved. */
    if (m == NULL || EVP_DigestSignInit_ex(m, NULL, NULL, NULL, NULL, pk, NULL) != 1 ||
        EVP_DigestSign(m, out, &n, msg_len ? msg : empty, msg_len) != 1)
        ret = crypto_error();
    else
        *out_len = n;
    EVP_MD_CTX_free(m);
    return ret;
}

/* The signature memo's name for a public key: the raw Ed25519 key or the
 * uncompressed EC point; false for a key the memo does not cover. */
static bool pub_id(td_crypto *c, const td_pkey *key, uint8_t *out, size_t cap, size_t *out_len)
{
    if (key->type == TD_KEY_ED25519 && key->pkey != NULL) {
        *out_len = cap;
        bool ok = EVP_PKEY_get_raw_public_key(key->pkey, out, out_len) == 1;
        ERR_clear_error();
        return ok;
    }
    if (key->ec_pub != NULL && (key->type == TD_KEY_EC_P256 || key->type == TD_KEY_EC_P384)) {
        int ec = key->type == TD_KEY_EC_P256 ? TD_EC_P256 : TD_EC_P384;
        *out_len = EC_POINT_point2oct(c->ec[ec], key->ec_pub, POINT_CONVERSION_UNCOMPRESSED, out,
                                      cap, c->bn);
        ERR_clear_error();
        return *out_len != 0;
    }
    return false;
}

static td_err sign_run(td_crypto *crypto, const td_pkey *key, uint16_t scheme, td_drbg *drbg,
                       const uint8_t *msg, size_t msg_len, uint8_t *out, size_t cap,
                       size_t *out_len);

td_err td_sign(td_crypto *crypto, const td_pkey *key, uint16_t scheme, td_drbg *drbg,
               const uint8_t *msg, size_t msg_len, uint8_t *out, size_t cap, size_t *out_len)
{
    if (crypto == NULL || key == NULL || drbg == NULL || out == NULL || out_len == NULL ||
        (msg == NULL && msg_len != 0) || !key->priv || !td_pkey_supports_scheme(key, scheme))
        return TD_ERR_ARG;
    *out_len = 0;
    /* Ed25519 is deterministic (RFC 8032 §5.1.6) and draws nothing from the
     * DRBG: the same key and message give the same signature. (ECDSA and
     * PSS draw their nonce / salt, so they are always computed.) */
    uint8_t id[TD_MAX_SHARE_LEN], sch[2] = {(uint8_t)(scheme >> 8), (uint8_t)scheme};
    size_t id_len = 0;
    bool memo =
        crypto->memo_on && scheme == TD_SIG_ED25519 && pub_id(crypto, key, id, sizeof(id), &id_len);
    td_memo_key mk = {{(const uint8_t *)"S", id, sch, msg}, {1, id_len, 2, msg_len}, 4};
    if (memo && td_memo_get(&crypto->memo_sig, &mk, out, cap, out_len))
        return TD_OK;
    td_err ret = sign_run(crypto, key, scheme, drbg, msg, msg_len, out, cap, out_len);
    if (ret == TD_OK && memo)
        td_memo_put(&crypto->memo_sig, &mk, out, *out_len);
    return ret;
}

static td_err sign_run(td_crypto *crypto, const td_pkey *key, uint16_t scheme, td_drbg *drbg,
                       const uint8_t *msg, size_t msg_len, uint8_t *out, size_t cap,
                       size_t *out_len)
{
    const td_sig_info *s = sig_find(scheme);
    const EVP_MD *md = sig_md(crypto, s);
    switch (s->kind) {
    case TD_SIG_KIND_ECDSA: {
        uint8_t dgst[EVP_MAX_MD_SIZE];
        unsigned dlen = 0;
        static const uint8_t empty[1] = {0};
        if (!EVP_Digest(msg_len ? msg : empty, msg_len, dgst, &dlen, md, NULL))
            return crypto_error();
        return ecdsa_sign(crypto, key->type == TD_KEY_EC_P256 ? TD_EC_P256 : TD_EC_P384, key->ec_d,
                          dgst, dlen, drbg, out, cap, out_len);
    }
    case TD_SIG_KIND_PSS_RSAE:
        return pss_sign(key->pkey, md, drbg, msg, msg_len, out, cap, out_len);
    case TD_SIG_KIND_ED25519: return ed25519_sign(key->pkey, msg, msg_len, out, cap, out_len);
    case TD_SIG_KIND_PSS_PSS:
    case TD_SIG_KIND_PKCS1:
    case TD_SIG_KIND_ED448: break;
    }
    return TD_ERR_ARG;
}

td_err td_sign_dummy(const td_pkey *key, uint16_t scheme, uint8_t *out, size_t cap, size_t *out_len)
{
    if (key == NULL || out == NULL || out_len == NULL || !key->priv ||
        !td_pkey_supports_scheme(key, scheme))
        return TD_ERR_ARG;
    const td_sig_info *s = sig_find(scheme);
    size_t len = 0;
    switch (s->kind) {
    case TD_SIG_KIND_ECDSA: {
        /* SEQUENCE { INTEGER r, INTEGER s }, each 0x01 then 0x5a bytes:
         * positive, below n, the size a real one usually has. */
        size_t n = key->type == TD_KEY_EC_P256 ? 32 : 48;
        len = 2 + 2 * (2 + n);
        if (cap < len)
            return TD_ERR_ARG;
        out[0] = 0x30;
        out[1] = (uint8_t)(2 * (2 + n));
        for (size_t i = 0; i < 2; i++) {
            uint8_t *p = out + 2 + i * (2 + n);
            p[0] = 0x02;
            p[1] = (uint8_t)n;
            p[2] = 0x01;
            memset(p + 3, 0x5a, n - 1);
        }
        break;
    }
    case TD_SIG_KIND_PSS_RSAE: {
        int k = EVP_PKEY_get_size(key->pkey);
        if (k <= 0 || (size_t)k > cap)
            return TD_ERR_ARG;
        len = (size_t)k;
        out[0] = 0x00; /* below the modulus */
        memset(out + 1, 0x5a, len - 1);
        break;
    }
    case TD_SIG_KIND_ED25519:
        len = 64;
        if (cap < len)
            return TD_ERR_ARG;
        memset(out, 0x5a, len);
        break;
    case TD_SIG_KIND_PSS_PSS:
    case TD_SIG_KIND_PKCS1:
    case TD_SIG_KIND_ED448: return TD_ERR_ARG;
    }
    *out_len = len;
    return TD_OK;
}

static td_err verify_run(td_crypto *crypto, const td_pkey *key, uint16_t scheme, const uint8_t *msg,
                         size_t msg_len, const uint8_t *sig, size_t sig_len);

td_err td_verify(td_crypto *crypto, const td_pkey *key, uint16_t scheme, const uint8_t *msg,
                 size_t msg_len, const uint8_t *sig, size_t sig_len)
{
    if (crypto == NULL || key == NULL || (msg == NULL && msg_len != 0) ||
        (sig == NULL && sig_len != 0))
        return TD_ERR_ARG;
    /* Verification is a pure function of (key, scheme, message, signature):
     * with the memo on, a signature that verified once is looked up; a
     * failure is always computed again. */
    uint8_t id[TD_MAX_SHARE_LEN], sch[2] = {(uint8_t)(scheme >> 8), (uint8_t)scheme};
    size_t id_len = 0, n = 0;
    bool memo = crypto->memo_on && pub_id(crypto, key, id, sizeof(id), &id_len);
    td_memo_key mk = {
        {(const uint8_t *)"V", id, sch, msg, sig}, {1, id_len, 2, msg_len, sig_len}, 5};
    if (memo && td_memo_get(&crypto->memo_sig, &mk, NULL, 0, &n))
        return TD_OK;
    td_err ret = verify_run(crypto, key, scheme, msg, msg_len, sig, sig_len);
    if (ret == TD_OK && memo)
        td_memo_put(&crypto->memo_sig, &mk, NULL, 0);
    return ret;
}

static td_err verify_run(td_crypto *crypto, const td_pkey *key, uint16_t scheme, const uint8_t *msg,
                         size_t msg_len, const uint8_t *sig, size_t sig_len)
{
    static const uint8_t empty[1] = {0};
    const td_sig_info *s = sig_find(scheme);
    /* RSASSA-PKCS1-v1_5 verifies (certificate signatures use it; the
     * handshake layer refuses it in CertificateVerify, RFC 8446 §4.4.3). */
    bool pkcs1 = s != NULL && s->kind == TD_SIG_KIND_PKCS1 && s->md >= 0 && key->type == TD_KEY_RSA;
    if (!pkcs1 && !td_pkey_supports_scheme(key, scheme))
        return TD_ERR_ILLEGAL_PARAMETER;
    const EVP_MD *md = sig_md(crypto, s);
    if (key->pkey == NULL) {
        /* A point-only EC key (td_chain_verify_leaf); supports_scheme
         * matched its curve, so this is ECDSA. */
        uint8_t dgst[EVP_MAX_MD_SIZE];
        unsigned dlen = 0;
        if (key->ec_pub == NULL || s->kind != TD_SIG_KIND_ECDSA ||
            !EVP_Digest(msg_len ? msg : empty, msg_len, dgst, &dlen, md, NULL))
            return crypto_error();
        return ecdsa_verify_point(crypto, key->type == TD_KEY_EC_P256 ? TD_EC_P256 : TD_EC_P384,
                                  key->ec_pub, dgst, dlen, sig, sig_len);
    }
    td_err ret = TD_OK;
    EVP_PKEY_CTX *pctx = NULL;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    if (m == NULL || EVP_DigestVerifyInit(m, &pctx, md, NULL, key->pkey) != 1) {
        ret = crypto_error();
        goto out;
    }
    if (s->kind == TD_SIG_KIND_PSS_RSAE) {
        /* RFC 8446 §4.2.3: MGF1 with the scheme's hash, salt length equal
         * to the digest length. */
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1) {
            ret = crypto_error();
            goto out;
        }
    } else if (pkcs1 && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
        ret = crypto_error();
        goto out;
    }
    if (EVP_DigestVerify(m, sig_len ? sig : empty, sig_len, msg_len ? msg : empty, msg_len) != 1) {
        ERR_clear_error();
        ret = TD_ERR_DECRYPT;
    }
out:
    EVP_MD_CTX_free(m);
    return ret;
}

/* ---- certificates ---- */

void td_der_list_free(td_der *list, size_t num)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < num; i++)
        free(list[i].data);
    free(list);
}

enum { TD_MAX_PEM_CERTS = 64 };

td_err td_certs_from_pem(const char *pem, size_t pem_len, td_der **out_list, size_t *out_num)
{
    if (out_list == NULL || out_num == NULL || (pem == NULL && pem_len != 0))
        return TD_ERR_ARG;
    *out_list = NULL;
    *out_num = 0;
    if (pem_len == 0 || pem_len > INT_MAX)
        return TD_ERR_FORMAT;
    td_err ret = TD_OK;
    td_der *list = calloc(TD_MAX_PEM_CERTS, sizeof(*list));
    size_t num = 0;
    BIO *bio = BIO_new_mem_buf(pem, (int)pem_len);
    if (list == NULL || bio == NULL) {
        ret = list == NULL ? TD_ERR_NOMEM : crypto_error();
        goto out;
    }
    for (;;) {
        char *name = NULL, *header = NULL;
        unsigned char *data = NULL;
        long len = 0;
        if (!PEM_read_bio(bio, &name, &header, &data, &len)) {
            unsigned long e = ERR_peek_last_error();
            ERR_clear_error();
            if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
                break; /* no further PEM block */
            ret = TD_ERR_FORMAT;
            goto out;
        }
        bool is_cert = strcmp(name, "CERTIFICATE") == 0;
        X509 *x = NULL;
        if (is_cert && num == TD_MAX_PEM_CERTS)
            ret = TD_ERR_LIMIT;
        else if (is_cert && x509_parse(data, (size_t)len, &x) != TD_OK)
            ret = TD_ERR_FORMAT;
        else if (is_cert && (list[num].data = malloc((size_t)len)) == NULL)
            ret = TD_ERR_NOMEM;
        else if (is_cert) {
            memcpy(list[num].data, data, (size_t)len);
            list[num++].len = (size_t)len;
        }
        X509_free(x);
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(data);
        if (ret != TD_OK)
            goto out;
    }
    if (num == 0)
        ret = TD_ERR_FORMAT;
out:
    BIO_free(bio);
    if (ret != TD_OK) {
        td_der_list_free(list, num);
        return ret;
    }
    *out_list = list;
    *out_num = num;
    return TD_OK;
}

/* The trust anchor |der| parsed, from the one-entry cache in |crypto|
 * (borrowed: valid until the next call with other bytes). Keyed by the
 * bytes, not the pointer, so a caller that changes them gets a new parse. */
static td_err anchor_get(td_crypto *c, const uint8_t *der, size_t len, X509 **out)
{
    if (der != NULL && c->anchor != NULL && c->anchor_len == len &&
        memcmp(c->anchor_der, der, len) == 0) {
        *out = c->anchor;
        return TD_OK;
    }
    X509 *x = NULL;
    TD_CHECK(x509_parse(der, len, &x));
    uint8_t *copy = malloc(len);
    if (copy == NULL) {
        X509_free(x);
        return TD_ERR_NOMEM;
    }
    memcpy(copy, der, len);
    X509_free(c->anchor);
    free(c->anchor_der);
    EC_POINT_free(c->anchor_pub);
    c->anchor_pub = NULL;
    c->anchor_ec = -1;
    c->anchor = x;
    c->anchor_der = copy;
    c->anchor_len = len;
    (void)X509_get0_pubkey(x); /* decoded once here, reused by every verification */
    ERR_clear_error();
    *out = x;
    return TD_OK;
}

static bool der_equal(const td_der *d, const uint8_t *der, size_t len)
{
    return d->len == len && len != 0 && d->data != NULL && memcmp(d->data, der, len) == 0;
}

/* td_chain_verify; on success, if |leaf_out| is not NULL, also hands over
 * chain[0] parsed (NULL if chain[0] is the anchor itself). Each element is
 * parsed once; an element byte-equal to the anchor uses the cached parse.
 * RFC 8446 §4.4.2: after the end-entity certificate, "each following
 * certificate SHOULD directly certify the one immediately preceding it",
 * yet extra certificates and other orders are tolerated (TOL-EXTRA-CERTS):
 * the path is built from the leaf, trying the anchor, then the next
 * element, then any unused one as the issuer. */
#define TD_CHAIN_MAX 32
static td_err chain_verify_x509(td_crypto *crypto, const td_der *chain, size_t num,
                                const uint8_t *anchor_der, size_t anchor_len, X509 **leaf_out,
                                td_diag *diag)
{
    td_err ret = TD_OK;
    X509 *anchor = NULL, *parsed[TD_CHAIN_MAX] = {NULL};
    bool used[TD_CHAIN_MAX] = {false};
    if ((ret = anchor_get(crypto, anchor_der, anchor_len, &anchor)) != TD_OK) {
        if (ret != TD_ERR_NOMEM)
            ret = td_diag_set(diag, TD_ERR_DECODE, TD_RULE_NONE, 0, __FILE__, __LINE__,
                              "trust anchor is not a DER certificate");
        goto out;
    }
    if (num > TD_CHAIN_MAX) {
        ret = td_diag_set(diag, TD_ERR_LIMIT, TD_RULE_NONE, 0, __FILE__, __LINE__,
                          "%zu certificates, more than %d", num, TD_CHAIN_MAX);
        goto out;
    }
    if (der_equal(&chain[0], anchor_der, anchor_len))
        goto out; /* the anchor itself */
    for (size_t i = 0; i < num; i++) {
        if (der_equal(&chain[i], anchor_der, anchor_len)) {
            used[i] = true; /* the anchor is tried first anyway */
            continue;
        }
        if (x509_parse(chain[i].data, chain[i].len, &parsed[i]) != TD_OK) {
            ret = td_diag_set(diag, TD_ERR_DECODE, TD_RULE_NONE, i, __FILE__, __LINE__,
                              "certificate %zu is not a DER certificate", i);
            goto out;
        }
    }
    size_t cur = 0;
    used[0] = true;
    for (;;) {
        EVP_PKEY *ak = X509_get0_pubkey(anchor);
        if (ak != NULL && X509_verify(parsed[cur], ak) == 1)
            break;
        size_t next = num;
        for (size_t k = 1; k < num && next == num; k++) {
            size_t j = (cur + k) % num; /* the next element first */
            EVP_PKEY *jk = used[j] ? NULL : X509_get0_pubkey(parsed[j]);
            if (jk != NULL && X509_verify(parsed[cur], jk) == 1)
                next = j;
        }
        ERR_clear_error();
        if (next == num) {
            ret = td_diag_set(diag, TD_ERR_DECRYPT, TD_RULE_NONE, cur, __FILE__, __LINE__,
                              "certificate %zu: signature does not verify under %s", cur,
                              num > 1 ? "another certificate's key or the trust anchor"
                                      : "the trust anchor");
            goto out;
        }
        used[next] = true;
        cur = next;
    }
out:
    for (size_t i = 0; i < num && i < TD_CHAIN_MAX; i++)
        if (i != 0 || ret != TD_OK || leaf_out == NULL)
            X509_free(parsed[i]);
    if (ret == TD_OK && leaf_out != NULL)
        *leaf_out = parsed[0];
    ERR_clear_error();
    return ret;
}

/* Signatures only: no validity period, name, key usage or basic
 * constraints checks (tlsdrill judges protocol behaviour, and its test
 * certificates are long-lived). The path goes from chain[0] through other
 * elements (in any order, extras ignored) to the anchor; an element
 * byte-equal to the anchor is the anchor (trusted as is). */
td_err td_chain_verify(td_crypto *crypto, const td_der *chain, size_t num,
                       const uint8_t *anchor_der, size_t anchor_len, td_diag *diag)
{
    if (crypto == NULL || chain == NULL || num == 0)
        return TD_ERR_ARG;
    return chain_verify_x509(crypto, chain, num, anchor_der, anchor_len, NULL, diag);
}

/* DER OIDs (contents octets) of the direct ECDSA path. */
static const uint8_t td_oid_ec_public_key[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};
static const uint8_t td_oid_ecdsa_sha256[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
static const uint8_t td_oid_ecdsa_sha384[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03};
/* namedCurve parameters, whole OID elements. */
static const uint8_t td_param_p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const uint8_t td_param_p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};

/* The named P-256/P-384 public key of a certificate view as an owned point
 * on crypto->ec[*out_ec]; TD_ERR_UNSUPPORTED for any other key. */
static td_err view_ec_key(td_crypto *c, const td_cert_view *v, int *out_ec, EC_POINT **out)
{
    *out = NULL;
    if (!td_cbs_mem_equal(&v->key_oid, td_oid_ec_public_key, sizeof(td_oid_ec_public_key)))
        return TD_ERR_UNSUPPORTED;
    int ec = td_cbs_mem_equal(&v->key_param, td_param_p256, sizeof(td_param_p256))   ? TD_EC_P256
             : td_cbs_mem_equal(&v->key_param, td_param_p384, sizeof(td_param_p384)) ? TD_EC_P384
                                                                                     : -1;
    if (ec < 0)
        return TD_ERR_UNSUPPORTED;
    EC_POINT *q = EC_POINT_new(c->ec[ec]);
    if (q == NULL)
        return crypto_error();
    /* oct2point rejects points off the curve and out-of-range coordinates. */
    if (!EC_POINT_oct2point(c->ec[ec], q, td_cbs_data(&v->key), td_cbs_len(&v->key), c->bn) ||
        EC_POINT_is_at_infinity(c->ec[ec], q)) {
        EC_POINT_free(q);
        ERR_clear_error();
        return TD_ERR_DECODE;
    }
    *out_ec = ec;
    *out = q;
    return TD_OK;
}

/* The direct path of td_chain_verify_leaf: an ECDSA-signed end-entity
 * certificate with a P-256/P-384 key, issued by an EC anchor (chain of one,
 * or followed by the anchor itself). Reads the certificate with a DER walk
 * instead of d2i_X509, whose public-key decoding dominates a handshake's
 * certificate work in OpenSSL 3.0. Any other shape, and any failure, is
 * left to the X.509 path (TD_ERR_UNSUPPORTED, TD_ERR_DECODE, TD_ERR_DECRYPT),
 * which decides and reports. The walk checks less of the tbsCertificate than
 * d2i_X509 does; it is trusted only once the anchor's signature over it
 * verifies. */
static td_err chain_fast(td_crypto *c, const td_der *chain, size_t num, const uint8_t *anchor_der,
                         size_t anchor_len, td_pkey **out)
{
    if (chain[0].data == NULL || der_equal(&chain[0], anchor_der, anchor_len) ||
        (num > 1 && (num != 2 || !der_equal(&chain[1], anchor_der, anchor_len))))
        return TD_ERR_UNSUPPORTED;
    X509 *anchor = NULL;
    TD_CHECK(anchor_get(c, anchor_der, anchor_len, &anchor));
    if (c->anchor_ec < 0 && c->anchor_pub == NULL) {
        /* First use of this anchor on the direct path: read its EC key once. */
        td_cert_view av;
        if (!td_cert_view_parse(anchor_der, anchor_len, &av) ||
            view_ec_key(c, &av, &c->anchor_ec, &c->anchor_pub) != TD_OK) {
            c->anchor_ec = -2; /* not an EC anchor: always the X.509 path */
            return TD_ERR_UNSUPPORTED;
        }
    }
    if (c->anchor_pub == NULL)
        return TD_ERR_UNSUPPORTED;
    td_cert_view v;
    if (!td_cert_view_parse(chain[0].data, chain[0].len, &v))
        return TD_ERR_DECODE;
    const EVP_MD *md =
        td_cbs_mem_equal(&v.sig_oid, td_oid_ecdsa_sha256, sizeof(td_oid_ecdsa_sha256))
            ? c->md[TD_HASH_SHA256]
        : td_cbs_mem_equal(&v.sig_oid, td_oid_ecdsa_sha384, sizeof(td_oid_ecdsa_sha384))
            ? c->md[TD_HASH_SHA384]
            : NULL;
    /* RFC 5280 §4.1.1.2: signatureAlgorithm equals tbsCertificate.signature;
     * RFC 5758 §3.2: ecdsa-with-SHA* has no parameters. */
    if (md == NULL || v.sig_has_params || td_cbs_len(&v.sigalg) != td_cbs_len(&v.tbs_sigalg) ||
        memcmp(td_cbs_data(&v.sigalg), td_cbs_data(&v.tbs_sigalg), td_cbs_len(&v.sigalg)) != 0)
        return TD_ERR_UNSUPPORTED;
    int ec = -1;
    EC_POINT *q = NULL;
    TD_CHECK(view_ec_key(c, &v, &ec, &q));
    uint8_t dgst[EVP_MAX_MD_SIZE];
    unsigned dlen = 0;
    td_err ret;
    if (!EVP_Digest(td_cbs_data(&v.tbs), td_cbs_len(&v.tbs), dgst, &dlen, md, NULL))
        ret = crypto_error();
    else
        ret = ecdsa_verify_point(c, c->anchor_ec, c->anchor_pub, dgst, dlen, td_cbs_data(&v.sig),
                                 td_cbs_len(&v.sig));
    td_pkey *k = ret == TD_OK ? calloc(1, sizeof(*k)) : NULL;
    if (ret == TD_OK && k == NULL)
        ret = TD_ERR_NOMEM;
    if (ret != TD_OK) {
        EC_POINT_free(q);
        return ret;
    }
    k->crypto = c;
    k->type = ec == TD_EC_P256 ? TD_KEY_EC_P256 : TD_KEY_EC_P384;
    k->ec_pub = q;
    *out = k;
    return TD_OK;
}

/* The point-only key of an end-entity certificate that chain_fast
 * verified before (a chain memo hit). */
static td_err leaf_point_key(td_crypto *c, const td_der *leaf, td_pkey **out)
{
    td_cert_view v;
    int ec = -1;
    EC_POINT *q = NULL;
    if (!td_cert_view_parse(leaf->data, leaf->len, &v))
        return TD_ERR_DECODE;
    TD_CHECK(view_ec_key(c, &v, &ec, &q));
    td_pkey *k = calloc(1, sizeof(*k));
    if (k == NULL) {
        EC_POINT_free(q);
        return TD_ERR_NOMEM;
    }
    k->crypto = c;
    k->type = ec == TD_EC_P256 ? TD_KEY_EC_P256 : TD_KEY_EC_P384;
    k->ec_pub = q;
    *out = k;
    return TD_OK;
}

enum { TD_CHAIN_MEMO_FAST = 'F', TD_CHAIN_MEMO_X509 = 'X' };

static td_err chain_verify_leaf_run(td_crypto *crypto, const td_der *chain, size_t num,
                                    const uint8_t *anchor_der, size_t anchor_len,
                                    td_pkey **leaf_key, td_diag *diag, uint8_t *out_path);

td_err td_chain_verify_leaf(td_crypto *crypto, const td_der *chain, size_t num,
                            const uint8_t *anchor_der, size_t anchor_len, td_pkey **leaf_key,
                            td_diag *diag)
{
    if (crypto == NULL || chain == NULL || num == 0 || leaf_key == NULL)
        return TD_ERR_ARG;
    *leaf_key = NULL;
    /* The memo key: the anchor and every certificate (chains of up to
     * TD_MEMO_MAX_PARTS - 1; longer ones are always verified). The value
     * says which path verified it, so a hit hands out the same kind of key. */
    td_memo_key key = {{anchor_der}, {anchor_len}, 1};
    bool memo = crypto->memo_on && num < TD_MEMO_MAX_PARTS && anchor_der != NULL;
    for (size_t i = 0; memo && i < num; i++) {
        memo = chain[i].data != NULL || chain[i].len == 0;
        key.part[key.num] = chain[i].data;
        key.len[key.num++] = chain[i].len;
    }
    uint8_t path = 0;
    size_t n = 0;
    if (memo && td_memo_get(&crypto->memo_chain, &key, &path, 1, &n) && n == 1) {
        if (path == TD_CHAIN_MEMO_FAST)
            return leaf_point_key(crypto, &chain[0], leaf_key);
        return td_pkey_from_cert_der(crypto, chain[0].data, chain[0].len, leaf_key);
    }
    td_err ret =
        chain_verify_leaf_run(crypto, chain, num, anchor_der, anchor_len, leaf_key, diag, &path);
    if (ret == TD_OK && memo)
        td_memo_put(&crypto->memo_chain, &key, &path, 1);
    return ret;
}

static td_err chain_verify_leaf_run(td_crypto *crypto, const td_der *chain, size_t num,
                                    const uint8_t *anchor_der, size_t anchor_len,
                                    td_pkey **leaf_key, td_diag *diag, uint8_t *out_path)
{
    *out_path = TD_CHAIN_MEMO_FAST;
    td_err ret = chain_fast(crypto, chain, num, anchor_der, anchor_len, leaf_key);
    if (ret == TD_OK || ret == TD_ERR_NOMEM)
        return ret;
    *out_path = TD_CHAIN_MEMO_X509;
    X509 *leaf = NULL;
    TD_CHECK(chain_verify_x509(crypto, chain, num, anchor_der, anchor_len, &leaf, diag));
    if (leaf == NULL) /* chain[0] is the anchor */
        return td_pkey_from_cert_der(crypto, chain[0].data, chain[0].len, leaf_key);
    EVP_PKEY *pk = X509_get_pubkey(leaf); /* a new reference */
    X509_free(leaf);
    if (pk == NULL) {
        ERR_clear_error();
        return td_diag_set(diag, TD_ERR_DECODE, TD_RULE_NONE, 0, __FILE__, __LINE__,
                           "certificate 0: its public key does not parse");
    }
    return pkey_wrap(crypto, pk, false, leaf_key);
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
