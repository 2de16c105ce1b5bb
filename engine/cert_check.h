/* engine/cert_check.h -- checks on received certificates that need no
 * libcrypto: the signature algorithm a certificate was signed with
 * (RFC 8446 §4.4.2.4: CT-MD5, CT-SHA1). Internal; for both state machines. */
#ifndef TD_CERT_CHECK_H
#define TD_CERT_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsdrill/bytes.h"
#include "tlsdrill/rules.h"

/* The weak-hash rule that validating |der| would break: TD_RULE_CT_MD5 or
 * TD_RULE_CT_SHA1 if its signatureAlgorithm uses MD5 / SHA-1, else
 * TD_RULE_NONE. Self-signed certificates (issuer == subject) are exempt, as
 * §4.4.2.4 exempts them; so is a certificate that does not parse (the
 * chain check reports that). Borrows |der|; never allocates. */
td_rule td_cert_weak_signature(const uint8_t *der, size_t len);

/* RFC 8446 §4.2.3: the SignatureScheme that names the signature on |der|
 * (its signatureAlgorithm), for matching against signature_algorithms_cert.
 * ECDSA schemes are named by hash alone (the curve is the issuer's, which
 * the certificate does not carry); RSASSA-PSS is rsa_pss_rsae_* by its
 * hashAlgorithm. Returns 0 for an algorithm TLS 1.3 has no scheme for or a
 * certificate that does not parse; *out_self_signed says whether issuer ==
 * subject (§4.4.2.2: such a certificate "MAY be signed with any
 * algorithm"). Borrows |der|; never allocates. */
uint16_t td_cert_signature_scheme(const uint8_t *der, size_t len, bool *out_self_signed);

/* The parts of a DER certificate (RFC 5280 §4.1) that verifying its
 * signature and reading its public key need; views into the input. */
typedef struct td_cert_view {
    td_cbs tbs;          /* tbsCertificate, the whole element: the signed bytes */
    td_cbs tbs_sigalg;   /* tbsCertificate.signature, the whole element */
    td_cbs sigalg;       /* signatureAlgorithm, the whole element */
    td_cbs sig_oid;      /* signatureAlgorithm.algorithm (OID contents) */
    bool sig_has_params; /* signatureAlgorithm.parameters present */
    td_cbs sig;          /* signatureValue, after its unused-bits octet (0) */
    td_cbs key_oid;      /* subjectPublicKeyInfo.algorithm.algorithm */
    td_cbs key_param;    /* its parameters: the whole element, empty if absent */
    td_cbs key;          /* subjectPublicKey, after its unused-bits octet (0) */
} td_cert_view;

/* Walks |der| as a Certificate: true if the outer structure, the
 * tbsCertificate fields up to subjectPublicKeyInfo and the signature are
 * well-formed DER and nothing follows the certificate. Checks no more of the
 * tbsCertificate than that (the caller trusts it only once its signature
 * verifies). Borrows |der|; never allocates. */
bool td_cert_view_parse(const uint8_t *der, size_t len, td_cert_view *out);

#endif
