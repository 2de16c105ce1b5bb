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
    /* §4.4.2.4: "endpoints can accept these algorithms for certificates
     * that are self-signed or are trust anchors": their signature is not
     * validated. */
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

/* Certificate signature algorithms and their TLS 1.3 SignatureScheme
 * (RFC 8446 §4.2.3; OIDs of RFC 5758, RFC 4055, RFC 8410). */
static const struct {
    uint8_t oid[9];
    uint8_t oid_len;
    uint16_t scheme;
} k_sig_oids[] = {
    {{0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02}, 8, 0x0403}, /* ecdsa-with-SHA256 */
    {{0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03}, 8, 0x0503}, /* ecdsa-with-SHA384 */
    {{0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04}, 8, 0x0603}, /* ecdsa-with-SHA512 */
    {{0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01}, 7, 0x0203},       /* ecdsa-with-SHA1 */
    {{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b}, 9, 0x0401}, /* sha256WithRSA */
    {{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c}, 9, 0x0501}, /* sha384WithRSA */
    {{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d}, 9, 0x0601}, /* sha512WithRSA */
    {{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05}, 9, 0x0201}, /* sha1WithRSA */
    {{0x2b, 0x65, 0x70}, 3, 0x0807},                               /* Ed25519 */
    {{0x2b, 0x65, 0x71}, 3, 0x0808},                               /* Ed448 */
};
static const uint8_t k_rsa_pss[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a};
static const struct {
    uint8_t last;
    uint16_t scheme;
} k_pss_hashes[] = {{1, 0x0804}, {2, 0x0805}, {3, 0x0806}}; /* 2.16.840.1.101.3.4.2.{1,2,3} */
static const uint8_t k_sha2_prefix[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02};

uint16_t td_cert_signature_scheme(const uint8_t *der, size_t len, bool *out_self_signed)
{
    td_cbs in, cert, tbs, alg, oid, tmp, issuer, subject;
    uint8_t tag;
    *out_self_signed = false;
    td_cbs_init(&in, der, len);
    if (!td_cbs_get_asn1(&in, TD_ASN1_SEQUENCE, &cert) ||
        !td_cbs_get_asn1(&cert, TD_ASN1_SEQUENCE, &tbs) ||
        !td_cbs_get_asn1(&cert, TD_ASN1_SEQUENCE, &alg) ||
        !td_cbs_get_asn1(&alg, TD_ASN1_OID, &oid) || !td_cbs_get_any_asn1(&tbs, &tag, &tmp, NULL))
        return 0;
    if (tag == DER_VERSION && !td_cbs_get_asn1(&tbs, TD_ASN1_INTEGER, &tmp))
        return 0;
    if (!td_cbs_get_asn1(&tbs, TD_ASN1_SEQUENCE, &tmp) ||
        !td_cbs_get_asn1(&tbs, TD_ASN1_SEQUENCE, &issuer) ||
        !td_cbs_get_asn1(&tbs, TD_ASN1_SEQUENCE, &tmp) ||
        !td_cbs_get_asn1(&tbs, TD_ASN1_SEQUENCE, &subject))
        return 0;
    *out_self_signed = same(&issuer, &subject);
    for (size_t i = 0; i < sizeof(k_sig_oids) / sizeof(k_sig_oids[0]); i++)
        if (td_cbs_mem_equal(&oid, k_sig_oids[i].oid, k_sig_oids[i].oid_len))
            return k_sig_oids[i].scheme;
    if (!td_cbs_mem_equal(&oid, k_rsa_pss, sizeof(k_rsa_pss)))
        return 0;
    /* RSASSA-PSS-params ::= SEQUENCE { hashAlgorithm [0] HashAlgorithm DEFAULT sha1, ... } */
    td_cbs params, hash_alg, hash_oid;
    if (!td_cbs_get_asn1(&alg, TD_ASN1_SEQUENCE, &params) ||
        !td_cbs_get_any_asn1(&params, &tag, &tmp, NULL) || tag != 0xa0 ||
        !td_cbs_get_asn1(&tmp, TD_ASN1_SEQUENCE, &hash_alg) ||
        !td_cbs_get_asn1(&hash_alg, TD_ASN1_OID, &hash_oid) ||
        td_cbs_len(&hash_oid) != sizeof(k_sha2_prefix) + 1 ||
        memcmp(td_cbs_data(&hash_oid), k_sha2_prefix, sizeof(k_sha2_prefix)) != 0)
        return 0; /* SHA-1 (the default) or another hash: no TLS 1.3 scheme */
    uint8_t last = td_cbs_data(&hash_oid)[sizeof(k_sha2_prefix)];
    for (size_t i = 0; i < sizeof(k_pss_hashes) / sizeof(k_pss_hashes[0]); i++)
        if (k_pss_hashes[i].last == last)
            return k_pss_hashes[i].scheme;
    return 0;
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
