/* engine/crypto_internal.h -- what the engine's crypto files share: the
 * td_crypto context (algorithms fetched once, scratch, the memo tables),
 * the td_pkey representation, and the helpers more than one of them calls.
 * Internal to the engine: only engine/crypto*.c include it, and they are the
 * engine's only callers of libcrypto (tlsdrill/crypto.h is the API).
 *
 *   crypto.c        the context, the memo switch, cipher suites, helpers
 *   crypto_sym.c    SHA-2, HMAC, HKDF, AEAD
 *   crypto_kex.c    key exchange (ECDH, X25519/X448, FFDHE)
 *   crypto_sign.c   keys, signing and verification
 *   crypto_cert.c   certificate lists and chain verification
 *
 * Errors: a libcrypto failure that is not the peer's fault is
 * TD_ERR_CRYPTO, and the OpenSSL error queue is cleared so later calls
 * start clean (crypto_error). */
#ifndef TD_CRYPTO_INTERNAL_H
#define TD_CRYPTO_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "crypto_memo.h"
#include "tlsdrill/crypto.h"

enum { TD_NUM_HASH = 2, TD_NUM_AEAD = 3, TD_NUM_EC = 3, TD_NUM_FF = 3 };
enum { TD_EC_P256 = 0, TD_EC_P384 = 1, TD_EC_P521 = 2 };
enum { TD_MEMO_KEYS = 8 };
enum { TD_AEAD_POOL = 8 }; /* AEADs kept for reuse (td_aead_free) */ /* parsed certificate keys kept (td_pkey_from_cert_der) */
/* Blocks kept for reuse: a pair and its two td_conns, a ClientHello's build,
 * the harness's program, key shares and hash contexts of one input, spares. */
enum { TD_BLOCK_POOL = 16 };

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
    /* AEADs freed with td_aead_free, kept with their EVP_CIPHER_CTXs and
     * re-keyed by the next td_aead_new of the same algorithm (a connection
     * makes four or more; each EVP_CIPHER_CTX_new + key setup allocates).
     * Poisoned while pooled (pool.h); td_crypto_free frees them. */
    struct td_aead *aead_pool[TD_AEAD_POOL];
    size_t num_aead_pool;
    /* Blocks of freed objects (td_crypto_block_keep), poisoned while kept. */
    struct td_block {
        void *p;
        size_t size;
        void (*drop)(void *block); /* NULL: plain memory (free) */
    } blocks[TD_BLOCK_POOL];
    size_t num_blocks;
    /* The DRBG's initial states by (seed, label) (td_crypto_drbg_cache). */
    td_drbg_cache drbg_cache;
};

struct td_pkey {
    td_crypto *crypto;
    EVP_PKEY *pkey;
    td_key_type type;
    bool priv;
    BIGNUM *ec_d; /* EC private keys: the scalar, for deterministic ECDSA */
    /* EC public keys read by td_chain_verify_leaf's direct path: the point
     * on crypto->ec[], no EVP_PKEY (|pkey| is NULL). */
    EC_POINT *ec_pub;
    /* Ed25519 keys: the raw public key, read once when the key is made
     * (the signature memo names keys by it; each read through libcrypto
     * allocates a parameter list). */
    uint8_t ed_pub[32];
    bool has_ed_pub;
};

/* TD_ERR_CRYPTO after clearing libcrypto's error queue. */
/* Frees the AEADs kept for reuse (crypto_sym.c). */
void td_aead_pool_drain(td_crypto *c);

static inline td_err crypto_error(void)
{
    ERR_clear_error();
    return TD_ERR_CRYPTO;
}

/* crypto_kex.c: an owned scalar from big-endian |in| if it lies in
 * [1, n-1] of curve |ec| (TD_EC_*); TD_ERR_ARG if it does not. Used for
 * ECDH keys and ECDSA nonces. */
td_err td_crypto_ec_scalar(td_crypto *crypto, int ec, const uint8_t *in, size_t len,
                           BIGNUM **out) TD_WUR;

/* crypto_sign.c: wraps |pk| as a td_pkey (takes ownership of |pk|, also on
 * failure); |priv| says it holds the private key. Returns owned. */
td_err td_crypto_pkey_wrap(td_crypto *crypto, EVP_PKEY *pk, bool priv, td_pkey **out) TD_WUR;

/* crypto_sign.c: parses exactly |len| bytes of DER as a certificate
 * (returns owned); TD_ERR_DECODE if it is not one or if anything follows. */
td_err td_crypto_x509_parse(const uint8_t *der, size_t len, X509 **out) TD_WUR;

/* crypto_sign.c: ECDSA verification of DER signature |sig| over digest
 * |dgst| with the point |q| on curve |ec| (borrowed); TD_ERR_DECRYPT if it
 * does not verify. */
td_err td_crypto_ecdsa_verify(td_crypto *c, int ec, const EC_POINT *q, const uint8_t *dgst,
                              size_t dlen, const uint8_t *sig, size_t sig_len) TD_WUR;

#endif
