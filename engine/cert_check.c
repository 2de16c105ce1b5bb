/* engine/cert_check.c -- see cert_check.h. A bounded DER walk over the
 * parts of an X.509 certificate (RFC 5280 §4.1) the checks need:
 *   Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature }
 *   TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber,
 *                                 signature, issuer, validity, subject, ... } */
#include <string.h>

#include "cert_check.h"
#include "tlsdrill/bytes.h"

#define DER_SEQUENCE 0x30
#define DER_OID 0x06
#define DER_INTEGER 0x02
#define DER_VERSION 0xa0

/* One DER element (single-byte tag, definite length up to 4 length bytes);
 * |out_whole| (may be NULL) gets the element with its tag and length. */
static bool der_get_whole(td_cbs *in, uint8_t *out_tag, td_cbs *out_content, td_cbs *out_whole)
{
    td_cbs start = *in;
    uint8_t tag, l;
    size_t len = 0;
    if (!td_cbs_get_u8(in, &tag) || !td_cbs_get_u8(in, &l))
        return false;
    if (l < 0x80) {
        len = l;
    } else {
        size_t n = l & 0x7f;
        if (n == 0 || n > 4)
            return false;
        for (size_t i = 0; i < n; i++) {
            uint8_t b;
            if (!td_cbs_get_u8(in, &b))
                return false;
            len = len << 8 | b;
        }
    }
    *out_tag = tag;
    if (!td_cbs_get_bytes(in, out_content, len))
        return false;
    if (out_whole != NULL)
        td_cbs_get_bytes(&start, out_whole, td_cbs_len(&start) - td_cbs_len(in));
    return true;
}

static bool der_get(td_cbs *in, uint8_t *out_tag, td_cbs *out_content)
{
    return der_get_whole(in, out_tag, out_content, NULL);
}

static bool der_expect(td_cbs *in, uint8_t tag, td_cbs *out)
{
    uint8_t t;
    return der_get(in, &t, out) && t == tag;
}

static bool same(const td_cbs *a, const td_cbs *b)
{
    return td_cbs_len(a) == td_cbs_len(b) &&
           memcmp(td_cbs_data(a), td_cbs_data(b), td_cbs_len(a)) == 0;
}

/* Signature algorithm OIDs (contents octets). */
static const uint8_t k_md5_rsa[] = {0x2a, 0x86, 0x48, 0x86, 0xf7,
                                    0x0d, 0x01, 0x01, 0x04}; /* 1.2.840.113549.1.1.4 */
static const uint8_t k_sha1_rsa[] = {0x2a, 0x86, 0x48, 0x86, 0xf7,
                                     0x0d, 0x01, 0x01, 0x05}; /* 1.2.840.113549.1.1.5 */
static const uint8_t k_sha1_ecdsa[] = {0x2a, 0x86, 0x48, 0xce,
                                       0x3d, 0x04, 0x01}; /* 1.2.840.10045.4.1 */
static const uint8_t k_sha1_dsa[] = {0x2a, 0x86, 0x48, 0xce,
                                     0x38, 0x04, 0x03}; /* 1.2.840.10040.4.3 */

td_rule td_cert_weak_signature(const uint8_t *der, size_t len)
{
    td_cbs in, cert, tbs, alg, oid, tmp, issuer, subject;
    uint8_t tag;
    td_cbs_init(&in, der, len);
    if (!der_expect(&in, DER_SEQUENCE, &cert) || !der_expect(&cert, DER_SEQUENCE, &tbs) ||
        !der_expect(&cert, DER_SEQUENCE, &alg) || !der_expect(&alg, DER_OID, &oid))
        return TD_RULE_NONE;
    /* tbsCertificate: [0] version, serialNumber, signature, issuer, validity, subject. */
    if (!der_get(&tbs, &tag, &tmp))
        return TD_RULE_NONE;
    if (tag == DER_VERSION && !der_expect(&tbs, DER_INTEGER, &tmp))
        return TD_RULE_NONE;
    if (!der_expect(&tbs, DER_SEQUENCE, &tmp) || !der_expect(&tbs, DER_SEQUENCE, &issuer) ||
        !der_expect(&tbs, DER_SEQUENCE, &tmp) || !der_expect(&tbs, DER_SEQUENCE, &subject))
        return TD_RULE_NONE;
    /* §4.4.2.4: "self-signed certificates or certificates that are trust
     * anchors" are exempt: their signature is not validated. */
    if (same(&issuer, &subject))
        return TD_RULE_NONE;
    if (td_cbs_mem_equal(&oid, k_md5_rsa, sizeof(k_md5_rsa)))
        return TD_RULE_CT_MD5;
    if (td_cbs_mem_equal(&oid, k_sha1_rsa, sizeof(k_sha1_rsa)) ||
        td_cbs_mem_equal(&oid, k_sha1_ecdsa, sizeof(k_sha1_ecdsa)) ||
        td_cbs_mem_equal(&oid, k_sha1_dsa, sizeof(k_sha1_dsa)))
        return TD_RULE_CT_SHA1;
    return TD_RULE_NONE;
}

#define DER_BIT_STRING 0x03

/* A BIT STRING with no unused bits: its octets after the unused-bits octet. */
static bool der_bits(td_cbs *in, td_cbs *out)
{
    td_cbs bits;
    uint8_t unused;
    return der_expect(in, DER_BIT_STRING, &bits) && td_cbs_get_u8(&bits, &unused) && unused == 0 &&
           td_cbs_get_bytes(&bits, out, td_cbs_len(&bits));
}

bool td_cert_view_parse(const uint8_t *der, size_t len, td_cert_view *out)
{
    td_cbs in, cert, tbs, alg, tmp, spki, key_alg;
    uint8_t tag;
    memset(out, 0, sizeof(*out));
    td_cbs_init(&in, der, len);
    /* Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue } */
    if (!der_expect(&in, DER_SEQUENCE, &cert) || td_cbs_len(&in) != 0 ||
        !der_get_whole(&cert, &tag, &tbs, &out->tbs) || tag != DER_SEQUENCE ||
        !der_get_whole(&cert, &tag, &alg, &out->sigalg) || tag != DER_SEQUENCE ||
        !der_expect(&alg, DER_OID, &out->sig_oid) || !der_bits(&cert, &out->sig) ||
        td_cbs_len(&cert) != 0)
        return false;
    out->sig_has_params = td_cbs_len(&alg) != 0;
    /* TBSCertificate: [0] version OPTIONAL, serialNumber, signature, issuer,
     * validity, subject, subjectPublicKeyInfo, ... */
    if (!der_get(&tbs, &tag, &tmp))
        return false;
    if (tag == DER_VERSION && !der_get(&tbs, &tag, &tmp))
        return false;
    if (tag != DER_INTEGER || !der_get_whole(&tbs, &tag, &tmp, &out->tbs_sigalg) ||
        tag != DER_SEQUENCE || !der_expect(&tbs, DER_SEQUENCE, &tmp) ||
        !der_expect(&tbs, DER_SEQUENCE, &tmp) || !der_expect(&tbs, DER_SEQUENCE, &tmp) ||
        !der_expect(&tbs, DER_SEQUENCE, &spki))
        return false;
    /* SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT
     * STRING } */
    if (!der_expect(&spki, DER_SEQUENCE, &key_alg) ||
        !der_expect(&key_alg, DER_OID, &out->key_oid) || !der_bits(&spki, &out->key) ||
        td_cbs_len(&spki) != 0)
        return false;
    out->key_param = key_alg;
    return true;
}
