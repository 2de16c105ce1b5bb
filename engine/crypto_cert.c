/* engine/crypto_cert.c -- certificates for td_crypto: PEM certificate lists
 * and certificate chain verification (signatures only), with a direct ECDSA
 * path that reads the end-entity certificate without d2i_X509 (see
 * tlsdrill/crypto.h). With the memo on, chain results are looked up. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "cert_check.h"
#include "crypto_internal.h"

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
        else if (is_cert && td_crypto_x509_parse(data, (size_t)len, &x) != TD_OK)
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
    TD_CHECK(td_crypto_x509_parse(der, len, &x));
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
        if (td_crypto_x509_parse(chain[i].data, chain[i].len, &parsed[i]) != TD_OK) {
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

/* A point-only public key (no EVP_PKEY) on crypto->ec[ec]; takes |q|,
 * also on failure. */
static td_err point_key(td_crypto *c, int ec, EC_POINT *q, td_pkey **out)
{
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
        ret = td_crypto_ecdsa_verify(c, c->anchor_ec, c->anchor_pub, dgst, dlen,
                                     td_cbs_data(&v.sig), td_cbs_len(&v.sig));
    if (ret != TD_OK) {
        EC_POINT_free(q);
        return ret;
    }
    return point_key(c, ec, q, out);
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
    return point_key(c, ec, q, out);
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
    return td_crypto_pkey_wrap(crypto, pk, false, leaf_key);
}
