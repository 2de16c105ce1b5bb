/* engine/cert_check.c -- see cert_check.h. A bounded DER walk over the
 * parts of an X.509 certificate (RFC 5280 §4.1) the checks need:
 *   Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature }
 *   TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber,
 *                                 signature, issuer, validity, subject, ... } */
#include <string.h>

#include "cert_check.h"
#include "tlsdrill/bytes.h"

#define DER_VERSION 0xa0 /* [0] EXPLICIT Version (RFC 5280 4.1) */

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
    if (!td_cbs_get_asn1(&in, TD_ASN1_SEQUENCE, &cert) ||
        !td_cbs_get_asn1(&cert, TD_ASN1_SEQUENCE, &tbs) ||
        !td_cbs_get_asn1(&cert, TD_ASN1_SEQUENCE, &alg) ||
        !td_cbs_get_asn1(&alg, TD_ASN1_OID, &oid))
        return TD_RULE_NONE;
    /* tbsCertificate: [0] version, serialNumber, signature, issuer, validity, subject. */
    if (!td_cbs_get_any_asn1(&tbs, &tag, &tmp, NULL))
        return TD_RULE_NONE;
    if (tag == DER_VERSION && !td_cbs_get_asn1(&tbs, TD_ASN1_INTEGER, &tmp))
        return TD_RULE_NONE;
    if (!td_cbs_get_asn1(&tbs, TD_ASN1_SEQUENCE, &tmp) ||
        !td_cbs_get_asn1(&tbs, TD_ASN1_SEQUENCE, &issuer) ||
        !td_cbs_get_asn1(&tbs, TD_ASN1_SEQUENCE, &tmp) ||
        !td_cbs_get_asn1(&tbs, TD_ASN1_SEQUENCE, &subject))
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

/* A BIT STRING with no unused bits: its octets after the unused-bits octet. */
static bool der_bits(td_cbs *in, td_cbs *out)
{
    td_cbs bits;
    uint8_t unused;
    return td_cbs_get_asn1(in, TD_ASN1_BIT_STRING, &bits) && td_cbs_get_u8(&bits, &unused) &&
           unused == 0 && td_cbs_get_bytes(&bits, out, td_cbs_len(&bits));
}

bool td_cert_view_parse(const uint8_t *der, size_t len, td_cert_view *out)
{
    td_cbs in, cert, tbs, alg, tmp, spki, key_alg;
    uint8_t tag;
    memset(out, 0, sizeof(*out));
    td_cbs_init(&in, der, len);
    /* Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue } */
    if (!td_cbs_get_asn1(&in, TD_ASN1_SEQUENCE, &cert) || td_cbs_len(&in) != 0 ||
        !td_cbs_get_any_asn1(&cert, &tag, &tbs, &out->tbs) || tag != TD_ASN1_SEQUENCE ||
        !td_cbs_get_any_asn1(&cert, &tag, &alg, &out->sigalg) || tag != TD_ASN1_SEQUENCE ||
        !td_cbs_get_asn1(&alg, TD_ASN1_OID, &out->sig_oid) || !der_bits(&cert, &out->sig) ||
        td_cbs_len(&cert) != 0)
        return false;
    out->sig_has_params = td_cbs_len(&alg) != 0;
    /* TBSCertificate: [0] version OPTIONAL, serialNumber, signature, issuer,
     * validity, subject, subjectPublicKeyInfo, ... */
    if (!td_cbs_get_any_asn1(&tbs, &tag, &tmp, NULL))
        return false;
    if (tag == DER_VERSION && !td_cbs_get_any_asn1(&tbs, &tag, &tmp, NULL))
        return false;
    if (tag != TD_ASN1_INTEGER || !td_cbs_get_any_asn1(&tbs, &tag, &tmp, &out->tbs_sigalg) ||
        tag != TD_ASN1_SEQUENCE || !td_cbs_get_asn1(&tbs, TD_ASN1_SEQUENCE, &tmp) ||
        !td_cbs_get_asn1(&tbs, TD_ASN1_SEQUENCE, &tmp) ||
        !td_cbs_get_asn1(&tbs, TD_ASN1_SEQUENCE, &tmp) ||
        !td_cbs_get_asn1(&tbs, TD_ASN1_SEQUENCE, &spki))
        return false;
    /* SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT
     * STRING } */
    if (!td_cbs_get_asn1(&spki, TD_ASN1_SEQUENCE, &key_alg) ||
        !td_cbs_get_asn1(&key_alg, TD_ASN1_OID, &out->key_oid) || !der_bits(&spki, &out->key) ||
        td_cbs_len(&spki) != 0)
        return false;
    out->key_param = key_alg;
    return true;
}
