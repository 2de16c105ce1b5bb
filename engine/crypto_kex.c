/* engine/crypto_kex.c -- key exchange of td_crypto: NIST curves, X25519 and
 * X448, RFC 7919 finite-field groups (see tlsdrill/crypto.h).
 *
 * Determinism: private keys come from the caller's td_drbg: NIST-curve
 * scalars are rejection-sampled into [1, n-1], X25519/X448 keys are made from
 * raw DRBG bytes, FFDHE exponents are DRBG bytes.
 *
 * ECDH on the NIST curves is EC_POINT arithmetic on groups fetched once (no
 * EVP_PKEY is built for either side): the peer point is decoded and
 * validated here anyway, so wrapping it in an EVP_PKEY would only add cost.
 * With the memo on, key pairs and shared secrets are looked up. */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#include "crypto_internal.h"

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
    int ff; /* finite-field: index into td_crypto.ff_p (-1: not one) */
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
td_err td_crypto_ec_scalar(td_crypto *crypto, int ec, const uint8_t *in, size_t len, BIGNUM **out)
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
        ret = td_crypto_ec_scalar(crypto, g->ec, priv, priv_len, &k->d);
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

/* A zeroed td_kex: a freed one |crypto| kept (td_kex_free), or a new one.
 * A connection makes one or two per handshake. */
static td_kex *kex_alloc(td_crypto *crypto)
{
    td_kex *k = td_crypto_block_take(crypto, sizeof(*k));
    return k != NULL ? k : calloc(1, sizeof(*k));
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
    td_kex *k = kex_alloc(crypto);
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
    if ((!EC_POINT_oct2point(g, q, peer, peer_len, c->bn) || EC_POINT_is_at_infinity(g, q) ||
         EC_POINT_is_on_curve(g, q, c->bn) != 1) &&
        !TD_SITE_OFF(TD_RULE_KS_EC_INVALID_POINT)) {
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
    if (EVP_PKEY_derive(ctx, out, &n) != 1 || n != kex->group->share_len) {
        /* libcrypto's refusal stands for the all-zero value it would not return. */
        ERR_clear_error();
        n = kex->group->share_len;
        memset(out, 0, n);
    }
    if (CRYPTO_memcmp(out, zeros, n) == 0 && !TD_SITE_OFF(TD_RULE_KS_X_ZERO_SECRET)) {
        OPENSSL_cleanse(out, n);
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
    if ((BN_cmp(y, BN_value_one()) <= 0 || BN_cmp(y, pm1) >= 0) &&
        !TD_SITE_OFF(TD_RULE_KS_DH_RANGE)) {
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
    td_crypto *crypto = kex->crypto;
    EVP_PKEY_free(kex->ecx);
    BN_clear_free(kex->d);
    OPENSSL_cleanse(kex, sizeof(*kex)); /* the private bytes */
    if (!td_crypto_block_keep(crypto, kex, sizeof(*kex)))
        free(kex);
}

td_err td_kex_dup(const td_kex *kex, td_kex **out)
{
    if (kex == NULL || out == NULL)
        return TD_ERR_ARG;
    *out = NULL;
    td_kex *k = kex_alloc(kex->crypto);
    if (k == NULL)
        return TD_ERR_NOMEM;
    *k = *kex;
    k->ecx = NULL;
    k->d = NULL;
    if (kex->ecx != NULL && (k->ecx = EVP_PKEY_dup(kex->ecx)) == NULL) {
        td_kex_free(k);
        return crypto_error();
    }
    if (kex->d != NULL) {
        k->d = BN_secure_new();
        if (k->d == NULL || BN_copy(k->d, kex->d) == NULL) {
            td_kex_free(k);
            return crypto_error();
        }
        BN_set_flags(k->d, BN_FLG_CONSTTIME);
    }
    *out = k;
    return TD_OK;
}
