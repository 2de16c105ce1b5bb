/* tlsdrill/crypto.h -- every cryptographic primitive the engine uses.
 *
 * engine/crypto*.c are the only engine files that call libcrypto (see
 * engine/crypto_internal.h for which does what). A td_crypto holds
 * the algorithms fetched once (EVP_MD/EVP_MAC/EVP_CIPHER fetch) and template
 * contexts that are duplicated rather than re-created, so a handshake does
 * no per-call algorithm lookup. One td_crypto per engine/thread; the objects
 * made from it borrow it and must be freed before it. It also holds scratch
 * state and caches (HMAC digest contexts, the last trust anchor parsed), so
 * calls through one td_crypto must not run concurrently.
 *
 * Randomness never comes from libcrypto's RNG: key generation and randomised
 * signatures take a td_drbg, so the same DRBG state gives the same bytes. */
#ifndef TLSDRILL_CRYPTO_H
#define TLSDRILL_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsdrill/drbg.h"
#include "tlsdrill/err.h"

#define TD_MAX_HASH_LEN 48
#define TD_MAX_KEY_LEN 32
#define TD_AEAD_NONCE_LEN 12
#define TD_AEAD_TAG_LEN 16
#define TD_MAX_SHARE_LEN 512   /* ffdhe4096 Y (RFC 7919); P-521 uncompressed is 133 */
#define TD_MAX_ECDH_LEN 512    /* ffdhe4096 Z, left-padded to the prime (RFC 8446 §7.4.1) */
#define TD_MAX_SIG_LEN 512     /* RSA-4096 */

typedef struct td_crypto td_crypto;

/* Returns owned (free with td_crypto_free). Fetches every algorithm up front;
 * fails with TD_ERR_CRYPTO if the provider lacks one. */
td_err td_crypto_new(td_crypto **out) TD_WUR;
void td_crypto_free(td_crypto *crypto);

/* Memory of freed engine objects kept for reuse (a td_conn is some 28 KB:
 * under AddressSanitizer a fresh block per connection costs page faults and
 * quarantine churn). td_crypto_block_keep takes |block| (|size| bytes, from
 * malloc), poisoned for ASan while kept (engine/pool.h: a use after free is
 * still reported) and freed by td_crypto_free; a full pool frees its oldest
 * block. td_crypto_block_take hands out the newest kept block of exactly
 * |size| bytes, zeroed as calloc would, or NULL. Single-threaded, like the
 * rest of a td_crypto. */
bool td_crypto_block_keep(td_crypto *crypto, void *block, size_t size);
void *td_crypto_block_take(td_crypto *crypto, size_t size);
/* The same for a block that owns memory of its own (a td_conn keeps its
 * buffers): |drop| (never NULL) releases the block and what it owns when the
 * pool lets it go (full, or td_crypto_free); it is called unpoisoned. The
 * owner poisons what it owns itself, and unpoisons again, once kept, the
 * members of the block that point to it: LeakSanitizer does not follow
 * pointers stored in poisoned memory, so it would report the owned memory as
 * leaked at exit. td_crypto_block_take_kept hands out the
 * newest block of |size| kept with the same |drop|, unpoisoned but as it
 * was kept (not zeroed: the owner cleared it before keeping it), or NULL. */
typedef void (*td_block_drop_fn)(void *block);
bool td_crypto_block_keep_owner(td_crypto *crypto, void *block, size_t size, td_block_drop_fn drop);
void *td_crypto_block_take_kept(td_crypto *crypto, size_t size, td_block_drop_fn drop);
/* The DRBG initial states this td_crypto remembers (drbg.h,
 * td_drbg_init_cached): a connection starts its streams through it, so the
 * same seed and label are absorbed once per td_crypto, not once per
 * connection. Borrowed; NULL if |crypto| is. */
td_drbg_cache *td_crypto_drbg_cache(td_crypto *crypto);

/* ---- Memoized pure crypto ----
 * With a deterministic DRBG the same private bytes give the same key pair,
 * the same (own key, peer share) the same shared secret, and the same
 * (trust anchor, chain) the same verdict. With the memo on, a td_crypto
 * remembers these results in bounded tables (a few hundred entries, the
 * older entry of a full set replaced) so that repeated inputs cost nothing:
 * key generation (td_kex_generate, td_kex_from_private), key agreement
 * (td_kex_derive), td_chain_verify_leaf, td_pkey_from_cert_der, Ed25519
 * signing (deterministic) and td_verify for Ed25519 and EC keys. It is
 * transparent: the same bytes come out as without it (only successes are
 * stored, failures are computed again with their own diagnostics), and the
 * DRBG is drawn from exactly as without it. Off by default; the fuzz
 * harness turns it on. The tables hold private keys and shared secrets of
 * past handshakes: they are owned by the td_crypto, used from its one
 * thread, and wiped when the memo is turned off or the td_crypto freed. */
td_err td_crypto_set_memo(td_crypto *crypto, bool on) TD_WUR;
bool td_crypto_memo_on(const td_crypto *crypto);

typedef enum td_crypto_memo_kind {
    TD_MEMO_KEYGEN,   /* (group, private bytes) -> public share */
    TD_MEMO_ECDH,     /* (group, private bytes, peer share) -> shared secret */
    TD_MEMO_CHAIN,    /* (anchor, chain) -> verified */
    TD_MEMO_CERT_KEY, /* certificate -> public key */
    TD_MEMO_SIG,      /* (Ed25519 key, message) -> signature; (key, message, signature) -> verified */
    TD_MEMO_NUM_KINDS
} td_crypto_memo_kind;

typedef struct td_crypto_memo_stats {
    uint64_t hits, misses, inserts, evictions;
} td_crypto_memo_stats;
/* Counters since the memo was turned on (zeros when it is off). */
void td_crypto_memo_stats_get(const td_crypto *crypto, td_crypto_memo_kind kind,
                              td_crypto_memo_stats *out);

/* ---- Hashes, HMAC, HKDF (RFC 5869) ---- */

typedef enum td_hash_alg { TD_HASH_SHA256, TD_HASH_SHA384 } td_hash_alg;
size_t td_hash_len(td_hash_alg alg);

td_err td_hash(td_crypto *crypto, td_hash_alg alg, const uint8_t *in, size_t in_len,
               uint8_t *out) TD_WUR;

/* Running hash (a transcript). Owned; free with td_hash_ctx_free, before
 * the td_crypto it was made with (which keeps freed ones for reuse). */
typedef struct td_hash_ctx td_hash_ctx;
td_err td_hash_ctx_new(td_crypto *crypto, td_hash_alg alg, td_hash_ctx **out) TD_WUR;
td_err td_hash_ctx_update(td_hash_ctx *ctx, const uint8_t *in, size_t len) TD_WUR;
/* Digest of everything so far, without ending the running hash. */
td_err td_hash_ctx_peek(const td_hash_ctx *ctx, uint8_t *out) TD_WUR;
/* Digest of everything so far followed by |extra|, the running hash unchanged. */
td_err td_hash_ctx_peek_with(const td_hash_ctx *ctx, const uint8_t *extra, size_t extra_len,
                             uint8_t *out) TD_WUR;
/* Returns an owned copy in the same state. */
td_err td_hash_ctx_dup(const td_hash_ctx *ctx, td_hash_ctx **out) TD_WUR;
td_hash_alg td_hash_ctx_alg(const td_hash_ctx *ctx);
void td_hash_ctx_free(td_hash_ctx *ctx);

td_err td_hmac(td_crypto *crypto, td_hash_alg alg, const uint8_t *key, size_t key_len,
               const uint8_t *in, size_t in_len, uint8_t *out) TD_WUR;
/* |salt| may be NULL with salt_len 0 (RFC 5869: a string of hash_len zeros). */
td_err td_hkdf_extract(td_crypto *crypto, td_hash_alg alg, const uint8_t *salt, size_t salt_len,
                       const uint8_t *ikm, size_t ikm_len, uint8_t *out_prk) TD_WUR;
td_err td_hkdf_expand(td_crypto *crypto, td_hash_alg alg, const uint8_t *prk, size_t prk_len,
                      const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len) TD_WUR;

/* ---- AEAD (RFC 8446 §5.2) ---- */

typedef enum td_aead_alg { TD_AEAD_AES_128_GCM, TD_AEAD_AES_256_GCM, TD_AEAD_CHACHA20_POLY1305 } td_aead_alg;
size_t td_aead_key_len(td_aead_alg alg);

/* A keyed AEAD for one direction. Owned; the key is wiped on free. */
typedef struct td_aead td_aead;
td_err td_aead_new(td_crypto *crypto, td_aead_alg alg, const uint8_t *key, size_t key_len,
                   td_aead **out) TD_WUR;
/* out gets in_len + TD_AEAD_TAG_LEN bytes; |out| may equal |in|. */
td_err td_aead_seal(td_aead *aead, const uint8_t nonce[TD_AEAD_NONCE_LEN], const uint8_t *ad,
                    size_t ad_len, const uint8_t *in, size_t in_len, uint8_t *out) TD_WUR;
/* out gets in_len - TD_AEAD_TAG_LEN bytes; TD_ERR_BAD_RECORD_MAC if the tag
 * does not verify (or in_len < tag). |out| may equal |in|. */
td_err td_aead_open(td_aead *aead, const uint8_t nonce[TD_AEAD_NONCE_LEN], const uint8_t *ad,
                    size_t ad_len, const uint8_t *in, size_t in_len, uint8_t *out) TD_WUR;
void td_aead_free(td_aead *aead);
/* Returns an owned AEAD under the same key (keyed afresh on first use). */
td_err td_aead_dup(const td_aead *aead, td_aead **out) TD_WUR;

/* ---- TLS 1.3 cipher suites (RFC 8446 §B.4) ---- */

#define TD_TLS_AES_128_GCM_SHA256 0x1301
#define TD_TLS_AES_256_GCM_SHA384 0x1302
#define TD_TLS_CHACHA20_POLY1305_SHA256 0x1303

typedef struct td_suite {
    uint16_t id;
    const char *name;
    td_aead_alg aead;
    td_hash_alg hash;
    size_t key_len;
} td_suite;
/* NULL if |id| is not one of the three suites above. */
const td_suite *td_suite_get(uint16_t id);

/* ---- Key exchange (RFC 8446 §4.2.7, §4.2.8.2, §7.4) ---- */

#define TD_GROUP_SECP256R1 0x0017
#define TD_GROUP_SECP384R1 0x0018
#define TD_GROUP_SECP521R1 0x0019
#define TD_GROUP_X25519 0x001d
#define TD_GROUP_X448 0x001e
#define TD_GROUP_FFDHE2048 0x0100 /* RFC 7919; never in the default list */
#define TD_GROUP_FFDHE3072 0x0101
#define TD_GROUP_FFDHE4096 0x0102

bool td_group_supported(uint16_t group);
/* Wire length of a KeyShareEntry.key_exchange for |group|; 0 if unsupported. */
size_t td_group_share_len(uint16_t group);
const char *td_group_name(uint16_t group); /* "x25519", NULL if unknown */

/* An ephemeral private key. Owned; wiped on free, which must come before
 * td_crypto_free (the td_crypto keeps the freed storage for reuse). */
typedef struct td_kex td_kex;
/* Private key bytes come from |drbg| (for the NIST curves: rejection-sampled
 * into [1, n-1]), so the same DRBG state gives the same key pair. */
td_err td_kex_generate(td_crypto *crypto, uint16_t group, td_drbg *drbg, td_kex **out) TD_WUR;
/* From raw private bytes (X25519: 32 bytes; P-256/P-384: big-endian scalar). */
td_err td_kex_from_private(td_crypto *crypto, uint16_t group, const uint8_t *priv, size_t priv_len,
                           td_kex **out) TD_WUR;
uint16_t td_kex_group(const td_kex *kex);
/* The KeyShareEntry.key_exchange bytes (X25519 raw, NIST uncompressed point). */
td_err td_kex_public(const td_kex *kex, uint8_t *out, size_t cap, size_t *out_len) TD_WUR;
/* ECDH with a peer's key_exchange. The peer share is validated first
 * (RFC 8446 §4.2.8.2, §7.4.2): wrong length, not the uncompressed form, point
 * not on the curve, or an all-zero X25519 result give TD_ERR_ILLEGAL_PARAMETER
 * with the rule in |diag| (KS-BAD-LENGTH, KS-EC-INVALID-POINT, KS-X-ZERO-SECRET). */
td_err td_kex_derive(td_kex *kex, const uint8_t *peer, size_t peer_len, uint8_t *out,
                     size_t cap, size_t *out_len, td_diag *diag) TD_WUR;
void td_kex_free(td_kex *kex);
/* Returns an owned deep copy (its own private key objects): td_conn_clone. */
td_err td_kex_dup(const td_kex *kex, td_kex **out) TD_WUR;

/* ---- Signatures (RFC 8446 §4.2.3, §4.4.3) ---- */

#define TD_SIG_RSA_PKCS1_SHA256 0x0401
#define TD_SIG_RSA_PKCS1_SHA384 0x0501
#define TD_SIG_RSA_PKCS1_SHA512 0x0601
#define TD_SIG_ECDSA_SECP256R1_SHA256 0x0403
#define TD_SIG_ECDSA_SECP384R1_SHA384 0x0503
#define TD_SIG_ECDSA_SECP521R1_SHA512 0x0603
#define TD_SIG_RSA_PSS_RSAE_SHA256 0x0804
#define TD_SIG_RSA_PSS_RSAE_SHA384 0x0805
#define TD_SIG_RSA_PSS_RSAE_SHA512 0x0806
#define TD_SIG_ED25519 0x0807
#define TD_SIG_ED448 0x0808
#define TD_SIG_RSA_PSS_PSS_SHA256 0x0809
#define TD_SIG_RSA_PSS_PSS_SHA384 0x080a
#define TD_SIG_RSA_PSS_PSS_SHA512 0x080b
#define TD_SIG_RSA_PKCS1_SHA1 0x0201
#define TD_SIG_ECDSA_SHA1 0x0203

const char *td_sig_name(uint16_t scheme); /* "ecdsa_secp256r1_sha256", NULL if unknown */

typedef enum td_key_type { TD_KEY_RSA, TD_KEY_EC_P256, TD_KEY_EC_P384, TD_KEY_ED25519, TD_KEY_OTHER } td_key_type;

/* A public or private key. Owned; free with td_pkey_free. */
typedef struct td_pkey td_pkey;
/* The first private key in a PEM buffer (PKCS#8, or traditional RSA/EC). */
td_err td_pkey_from_pem(td_crypto *crypto, const char *pem, size_t pem_len, td_pkey **out) TD_WUR;
/* The subject public key of a DER X.509 certificate (a Certificate entry's
 * cert_data). TD_ERR_DECODE if it is not a certificate. */
td_err td_pkey_from_cert_der(td_crypto *crypto, const uint8_t *der, size_t der_len,
                             td_pkey **out) TD_WUR;
td_key_type td_pkey_type(const td_pkey *key);
/* Returns an owned deep copy of |key| (td_conn_clone). */
td_err td_pkey_dup(const td_pkey *key, td_pkey **out) TD_WUR;
bool td_pkey_is_private(const td_pkey *key);
/* Whether |scheme| can be used with |key| in TLS 1.3 (RFC 8446 §4.2.3:
 * rsa_pss_rsae_* for rsaEncryption keys, curve-matched ECDSA, ed25519). */
bool td_pkey_supports_scheme(const td_pkey *key, uint16_t scheme);
void td_pkey_free(td_pkey *key);
/* The libcrypto key behind |key| (an EVP_PKEY *), borrowed: for adapters that
 * hand our test keys to another TLS stack (engine/peers/openssl.c). */
struct evp_pkey_st;
struct evp_pkey_st *td_pkey_evp(const td_pkey *key);

/* Signs |msg| with |key| under |scheme|. Randomised schemes (ECDSA nonce,
 * PSS salt) draw from |drbg|: same DRBG state, same signature bytes.
 * TD_ERR_ARG if the key cannot use the scheme. */
td_err td_sign(td_crypto *crypto, const td_pkey *key, uint16_t scheme, td_drbg *drbg,
               const uint8_t *msg, size_t msg_len, uint8_t *out, size_t cap, size_t *out_len) TD_WUR;
/* A fixed signature of the shape |scheme| has with |key| (fuzzer mode that
 * pays, td_config.dummy_signatures): Ed25519 64 bytes, ECDSA a DER
 * ECDSA-Sig-Value with r and s of the curve's size, RSA-PSS as many bytes as
 * the modulus. It does not verify; only a peer that skips the check accepts
 * it. TD_ERR_ARG if the key cannot use the scheme (as td_sign). */
td_err td_sign_dummy(const td_pkey *key, uint16_t scheme, uint8_t *out, size_t cap,
                     size_t *out_len) TD_WUR;
/* TD_OK if |sig| is a valid signature; TD_ERR_DECRYPT if not;
 * TD_ERR_ILLEGAL_PARAMETER if the scheme does not fit the key. */
td_err td_verify(td_crypto *crypto, const td_pkey *key, uint16_t scheme, const uint8_t *msg,
                 size_t msg_len, const uint8_t *sig, size_t sig_len) TD_WUR;

/* Certificates in a PEM buffer, as DER, in order. The returned array and
 * each element are owned by the caller: free with td_der_list_free. */
typedef struct td_der {
    uint8_t *data;
    size_t len;
} td_der;
td_err td_certs_from_pem(const char *pem, size_t pem_len, td_der **out_list, size_t *out_num) TD_WUR;
void td_der_list_free(td_der *list, size_t num);

/* Verifies that |chain[0]| chains to |anchor_der|: signed by the anchor, or
 * by another element that chains to it (any order; extra certificates are
 * ignored, RFC 8446 §4.4.2). No time or name checks:
 * tlsdrill judges protocol behaviour. TD_ERR_DECRYPT if a signature fails,
 * TD_ERR_DECODE if a certificate does not parse. */
td_err td_chain_verify(td_crypto *crypto, const td_der *chain, size_t num,
                       const uint8_t *anchor_der, size_t anchor_len, td_diag *diag) TD_WUR;

/* td_chain_verify that also returns chain[0]'s public key (owned, free
 * with td_pkey_free) on success: what a client does with a server's
 * Certificate, with each certificate read once. The trust anchor is parsed
 * once per td_crypto (cached by its bytes). An ECDSA-signed P-256/P-384
 * end-entity certificate under an EC anchor is verified without building
 * X.509 objects; every other chain, and every failure, goes through the
 * same checks and errors as td_chain_verify (DECODE if a certificate or the
 * leaf key does not parse, DECRYPT if a signature fails). */
td_err td_chain_verify_leaf(td_crypto *crypto, const td_der *chain, size_t num,
                            const uint8_t *anchor_der, size_t anchor_len, td_pkey **leaf_key,
                            td_diag *diag) TD_WUR;

/* Does the DER certificate |der| name |name|? A DNS name is matched against
 * the subjectAltName dNSName entries (the subject CN only when there is no
 * DNS entry), a single left-most wildcard label allowed, as RFC 6125 §6.4
 * describes and OpenSSL's X509_check_host applies it; an IPv4/IPv6 literal
 * against the iPAddress entries (X509_check_ip_asc). false if it does not
 * match or |der| does not parse. Borrows both. */
bool td_cert_names_host(const uint8_t *der, size_t der_len, const char *name);

/* Wipes secrets (OPENSSL_cleanse). */
void td_cleanse(void *p, size_t len);
/* Constant-time equality. */
bool td_ct_equal(const uint8_t *a, const uint8_t *b, size_t len);

#endif
