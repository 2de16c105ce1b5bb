/* engine/crypto_sign.c -- keys and signatures of td_crypto: private keys
 * from PEM, public keys from certificates, signing (real or the fuzzer-mode
 * dummy) and verification (see tlsdrill/crypto.h).
 *
 * Determinism: ECDSA and EMSA-PSS are computed here with the nonce k and the
 * salt drawn from the caller's td_drbg (libcrypto's would draw them from its
 * RNG); Ed25519 is deterministic. With the memo on, Ed25519 signatures,
 * verifications and certificate keys are looked up. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "crypto_internal.h"

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
 * their names only (md -1): TLS 1.3 never accepts them.
 * X(id, name, kind, md, key). */
#define SIG_TABLE(X)                                                                        \
    X(RSA_PKCS1_SHA256, "rsa_pkcs1_sha256", TD_SIG_KIND_PKCS1, 0, TD_KEY_RSA)               \
    X(RSA_PKCS1_SHA384, "rsa_pkcs1_sha384", TD_SIG_KIND_PKCS1, 1, TD_KEY_RSA)               \
    X(RSA_PKCS1_SHA512, "rsa_pkcs1_sha512", TD_SIG_KIND_PKCS1, 2, TD_KEY_RSA)               \
    X(ECDSA_SECP256R1_SHA256, "ecdsa_secp256r1_sha256", TD_SIG_KIND_ECDSA, 0, TD_KEY_EC_P256) \
    X(ECDSA_SECP384R1_SHA384, "ecdsa_secp384r1_sha384", TD_SIG_KIND_ECDSA, 1, TD_KEY_EC_P384) \
    X(ECDSA_SECP521R1_SHA512, "ecdsa_secp521r1_sha512", TD_SIG_KIND_ECDSA, -1, TD_KEY_OTHER) \
    X(RSA_PSS_RSAE_SHA256, "rsa_pss_rsae_sha256", TD_SIG_KIND_PSS_RSAE, 0, TD_KEY_RSA)      \
    X(RSA_PSS_RSAE_SHA384, "rsa_pss_rsae_sha384", TD_SIG_KIND_PSS_RSAE, 1, TD_KEY_RSA)      \
    X(RSA_PSS_RSAE_SHA512, "rsa_pss_rsae_sha512", TD_SIG_KIND_PSS_RSAE, 2, TD_KEY_RSA)      \
    X(ED25519, "ed25519", TD_SIG_KIND_ED25519, -1, TD_KEY_ED25519)                          \
    X(ED448, "ed448", TD_SIG_KIND_ED448, -1, TD_KEY_OTHER)                                  \
    X(RSA_PSS_PSS_SHA256, "rsa_pss_pss_sha256", TD_SIG_KIND_PSS_PSS, -1, TD_KEY_OTHER)      \
    X(RSA_PSS_PSS_SHA384, "rsa_pss_pss_sha384", TD_SIG_KIND_PSS_PSS, -1, TD_KEY_OTHER)      \
    X(RSA_PSS_PSS_SHA512, "rsa_pss_pss_sha512", TD_SIG_KIND_PSS_PSS, -1, TD_KEY_OTHER)      \
    X(RSA_PKCS1_SHA1, "rsa_pkcs1_sha1", TD_SIG_KIND_PKCS1, -1, TD_KEY_RSA)                  \
    X(ECDSA_SHA1, "ecdsa_sha1", TD_SIG_KIND_ECDSA, -1, TD_KEY_OTHER)

static const td_sig_info k_sigs[] = {
#define SIG_ROW_(id, name, kind, md, key) {TD_SIG_##id, name, kind, md, key},
    SIG_TABLE(SIG_ROW_)
#undef SIG_ROW_
};

enum sig_index {
#define SIG_INDEX_(id, name, kind, md, key) SIG_##id,
    SIG_TABLE(SIG_INDEX_)
#undef SIG_INDEX_
};

/* A switch rather than a loop over the rows: the server matches every
 * scheme of its list against the client's, and a loop paid one traced
 * compare per row for each. */
static const td_sig_info *sig_find(uint16_t scheme)
{
    switch (scheme) {
#define SIG_CASE_(id, name, kind, md, key)                                                  \
    case TD_SIG_##id: return &k_sigs[SIG_##id];
        SIG_TABLE(SIG_CASE_)
#undef SIG_CASE_
    default: return NULL;
    }
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

/* Wraps |pk| (takes ownership, also on failure). */
td_err td_crypto_pkey_wrap(td_crypto *crypto, EVP_PKEY *pk, bool priv, td_pkey **out)
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
        size_t n = sizeof(k->ed_pub);
        k->has_ed_pub = EVP_PKEY_get_raw_public_key(pk, k->ed_pub, &n) == 1 && n == sizeof(k->ed_pub);
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
    return td_crypto_pkey_wrap(crypto, pk, true, out);
}

/* Parses exactly |len| bytes of DER as a certificate; TD_ERR_DECODE if it
 * is not one or if anything follows it. */
td_err td_crypto_x509_parse(const uint8_t *der, size_t len, X509 **out)
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
    memcpy(k->ed_pub, src->ed_pub, sizeof(k->ed_pub));
    k->has_ed_pub = src->has_ed_pub;
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
    TD_CHECK(td_crypto_x509_parse(der, der_len, &x));
    EVP_PKEY *pk = X509_get_pubkey(x); /* a new reference */
    X509_free(x);
    if (pk == NULL) {
        /* Parsed as a certificate, but its SubjectPublicKeyInfo did not. */
        ERR_clear_error();
        return TD_ERR_DECODE;
    }
    TD_CHECK(td_crypto_pkey_wrap(crypto, pk, false, out));
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
        ret = td_crypto_ec_scalar(c, ec, kb, nlen, &k);
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
td_err td_crypto_ecdsa_verify(td_crypto *c, int ec, const EC_POINT *q, const uint8_t *dgst,
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
    if (key->type == TD_KEY_ED25519 && key->has_ed_pub && cap >= sizeof(key->ed_pub)) {
        memcpy(out, key->ed_pub, sizeof(key->ed_pub));
        *out_len = sizeof(key->ed_pub);
        return true;
    }
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

/* The signature memo's name for a private key: an EC key by its curve and
 * scalar (the public point of a private key is not kept), others by their
 * public key (pub_id). */
static bool sign_id(td_crypto *c, const td_pkey *key, uint8_t *out, size_t cap, size_t *out_len)
{
    if (key->ec_d != NULL && (key->type == TD_KEY_EC_P256 || key->type == TD_KEY_EC_P384)) {
        int ec = key->type == TD_KEY_EC_P256 ? TD_EC_P256 : TD_EC_P384;
        int nlen = BN_num_bytes(EC_GROUP_get0_order(c->ec[ec]));
        if (nlen <= 0 || (size_t)nlen + 1 > cap || BN_bn2binpad(key->ec_d, out + 1, nlen) != nlen)
            return false;
        out[0] = (uint8_t)('0' + ec);
        *out_len = (size_t)nlen + 1;
        return true;
    }
    return pub_id(c, key, out, cap, out_len);
}

td_err td_sign(td_crypto *crypto, const td_pkey *key, uint16_t scheme, td_drbg *drbg,
               const uint8_t *msg, size_t msg_len, uint8_t *out, size_t cap, size_t *out_len)
{
    if (crypto == NULL || key == NULL || drbg == NULL || out == NULL || out_len == NULL ||
        (msg == NULL && msg_len != 0) || !key->priv || !td_pkey_supports_scheme(key, scheme))
        return TD_ERR_ARG;
    *out_len = 0;
    /* Ed25519 is deterministic (RFC 8032 §5.1.6) and draws nothing from the
     * DRBG: the same key and message give the same signature. ECDSA and PSS
     * draw their nonce / salt from the DRBG, so they are a function of the
     * key, the message and the DRBG's state: their memo key also holds the
     * DRBG's next 64 bytes (read from a copy; two states agreeing on them
     * is a 2^-512 event), and the value records how many bytes the signing
     * drew, which a hit draws too: the DRBG ends where the computation
     * would have left it, and the bytes on the wire are the same. */
    uint8_t id[TD_MAX_SHARE_LEN], sch[2] = {(uint8_t)(scheme >> 8), (uint8_t)scheme};
    uint8_t ahead[64], val[TD_MAX_SIG_LEN + 8];
    size_t id_len = 0, val_len = 0;
    bool draws = scheme != TD_SIG_ED25519;
    bool memo = crypto->memo_on && sign_id(crypto, key, id, sizeof(id), &id_len);
    if (memo && draws) {
        td_drbg peek = *drbg;
        td_drbg_bytes(&peek, ahead, sizeof(ahead));
        td_drbg_cleanup(&peek);
    }
    td_memo_key mk = {{(const uint8_t *)"S", id, sch, msg, ahead},
                      {1, id_len, 2, msg_len, draws ? sizeof(ahead) : 0},
                      5};
    if (memo && td_memo_get(&crypto->memo_sig, &mk, val, sizeof(val), &val_len) && val_len >= 8 &&
        val_len - 8 <= cap) {
        uint64_t drawn = 0;
        for (int i = 0; i < 8; i++)
            drawn = drawn << 8 | val[val_len - 8 + i];
        while (drawn > 0) {
            size_t n = drawn < sizeof(ahead) ? (size_t)drawn : sizeof(ahead);
            td_drbg_bytes(drbg, ahead, n);
            drawn -= n;
        }
        memcpy(out, val, val_len - 8);
        *out_len = val_len - 8;
        td_cleanse(ahead, sizeof(ahead));
        td_cleanse(id, id_len);
        td_cleanse(val, sizeof(val));
        return TD_OK;
    }
    uint64_t before = drbg->total;
    td_err ret = sign_run(crypto, key, scheme, drbg, msg, msg_len, out, cap, out_len);
    if (ret == TD_OK && memo && *out_len <= TD_MAX_SIG_LEN) {
        uint64_t drawn = drbg->total - before;
        memcpy(val, out, *out_len);
        for (int i = 0; i < 8; i++)
            val[*out_len + i] = (uint8_t)(drawn >> (56 - 8 * i));
        td_memo_put(&crypto->memo_sig, &mk, val, *out_len + 8);
    }
    td_cleanse(ahead, sizeof(ahead));
    td_cleanse(id, id_len);
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
        return td_crypto_ecdsa_verify(crypto, key->type == TD_KEY_EC_P256 ? TD_EC_P256 : TD_EC_P384,
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

td_err td_pkey_dup(const td_pkey *key, td_pkey **out)
{
    if (key == NULL || out == NULL)
        return TD_ERR_ARG;
    *out = NULL;
    td_pkey *k = calloc(1, sizeof(*k));
    if (k == NULL)
        return TD_ERR_NOMEM;
    k->crypto = key->crypto;
    k->type = key->type;
    k->priv = key->priv;
    memcpy(k->ed_pub, key->ed_pub, sizeof(k->ed_pub));
    k->has_ed_pub = key->has_ed_pub;
    if ((key->pkey != NULL && (k->pkey = EVP_PKEY_dup(key->pkey)) == NULL) ||
        (key->ec_d != NULL && (k->ec_d = BN_dup(key->ec_d)) == NULL) ||
        (key->ec_pub != NULL &&
         (k->ec_pub = EC_POINT_dup(
              key->ec_pub,
              key->crypto->ec[key->type == TD_KEY_EC_P384 ? TD_EC_P384 : TD_EC_P256])) == NULL)) {
        td_pkey_free(k);
        return crypto_error();
    }
    if (key->ec_d != NULL)
        BN_set_flags(k->ec_d, BN_FLG_CONSTTIME);
    *out = k;
    return TD_OK;
}
