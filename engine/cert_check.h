/* engine/cert_check.h -- checks on received certificates that need no
 * libcrypto: the signature algorithm a certificate was signed with
 * (RFC 8446 §4.4.2.4: CT-MD5, CT-SHA1). Internal; for both state machines. */
#ifndef TD_CERT_CHECK_H
#define TD_CERT_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsdrill/rules.h"

/* The weak-hash rule that validating |der| would break: TD_RULE_CT_MD5 or
 * TD_RULE_CT_SHA1 if its signatureAlgorithm uses MD5 / SHA-1, else
 * TD_RULE_NONE. Self-signed certificates (issuer == subject) are exempt, as
 * §4.4.2.4 exempts them; so is a certificate that does not parse (the
 * chain check reports that). Borrows |der|; never allocates. */
td_rule td_cert_weak_signature(const uint8_t *der, size_t len);

#endif
