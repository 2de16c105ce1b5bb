/* engine/cert_name.c -- does a certificate name the host we connected to
 * (RFC 6125 through OpenSSL's X509_check_host / X509_check_ip_asc)?
 * tlsdrill/crypto.h: td_cert_names_host. */
#include <string.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tlsdrill/crypto.h"

bool td_cert_names_host(const uint8_t *der, size_t der_len, const char *name)
{
    if (name == NULL || *name == '\0')
        return false;
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)der_len);
    if (x == NULL)
        return false;
    /* An IP literal is matched against iPAddress entries only (RFC 6125 §1.7.2
     * leaves IP addresses to RFC 5280; a dNSName never matches an address). */
    int ip = X509_check_ip_asc(x, name, 0);
    bool ok = ip >= 0 ? ip == 1
                      : X509_check_host(x, name, strlen(name), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
                                        NULL) == 1;
    X509_free(x);
    return ok;
}
