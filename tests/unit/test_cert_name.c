/* tests/unit/test_cert_name.c -- td_cert_names_host (engine/cert_name.c):
 * the host name check of `tlsdrill connect` (RFC 6125 as OpenSSL's
 * X509_check_host applies it): the test server certificate, and built
 * certificates with a wildcard, IP addresses and only a subject CN. */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "td_test.h"
#include "td_test_file.h"
#include "tlsdrill/crypto.h"

#define CERTS TD_VECTORS_DIR "/certs/"

/* A self-signed certificate with subject CN |cn| and subjectAltName |san|
 * (NULL: none), as DER (free()). */
static uint8_t *make_cert(const char *cn, const char *san, size_t *out_len)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *x = X509_new();
    uint8_t *der = NULL;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_set_pubkey(x, key);
    if (san != NULL) {
        X509V3_CTX ctx;
        X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
        X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
    }
    X509_sign(x, key, EVP_sha256());
    int n = i2d_X509(x, &der);
    *out_len = n > 0 ? (size_t)n : 0;
    uint8_t *out = n > 0 ? malloc((size_t)n) : NULL;
    if (out != NULL)
        memcpy(out, der, (size_t)n);
    OPENSSL_free(der);
    X509_free(x);
    EVP_PKEY_free(key);
    return out;
}

static void test_server_certificate(void)
{
    size_t len = 0, num = 0;
    char *pem = td_test_read(CERTS "server-p256.pem", &len);
    td_der *list = NULL;
    TD_REQUIRE(pem != NULL && td_certs_from_pem(pem, len, &list, &num) == TD_OK);
    const uint8_t *d = list[0].data;
    size_t n = list[0].len;
    TD_EXPECT(td_cert_names_host(d, n, "server.tlsdrill.test"));
    TD_EXPECT(
        td_cert_names_host(d, n, "SERVER.tlsdrill.TEST")); /* DNS names are case-insensitive */
    TD_EXPECT(!td_cert_names_host(d, n, "evil.example"));
    TD_EXPECT(!td_cert_names_host(d, n, "tlsdrill.test"));
    TD_EXPECT(!td_cert_names_host(d, n, "x.server.tlsdrill.test"));
    TD_EXPECT(!td_cert_names_host(d, n, "127.0.0.1"));
    TD_EXPECT(!td_cert_names_host(d, n, ""));
    TD_EXPECT(!td_cert_names_host(d + 1, n - 1, "server.tlsdrill.test")); /* does not parse */
    td_der_list_free(list, num);
    free(pem);
}

static void test_wildcard_and_addresses(void)
{
    size_t n = 0;
    uint8_t *d = make_cert("ignored.example", "DNS:*.example.com,IP:127.0.0.1,IP:::1", &n);
    TD_REQUIRE(d != NULL);
    TD_EXPECT(td_cert_names_host(d, n, "www.example.com"));
    TD_EXPECT(!td_cert_names_host(d, n, "a.b.example.com")); /* one label only */
    TD_EXPECT(!td_cert_names_host(d, n, "example.com"));
    TD_EXPECT(!td_cert_names_host(d, n, "ignored.example")); /* CN not used when a DNS SAN exists */
    TD_EXPECT(td_cert_names_host(d, n, "127.0.0.1"));
    TD_EXPECT(td_cert_names_host(d, n, "::1"));
    TD_EXPECT(!td_cert_names_host(d, n, "127.0.0.2"));
    free(d);
    /* No subjectAltName: the subject CN is the name (OpenSSL's fallback). */
    d = make_cert("legacy.example", NULL, &n);
    TD_REQUIRE(d != NULL);
    TD_EXPECT(td_cert_names_host(d, n, "legacy.example"));
    TD_EXPECT(!td_cert_names_host(d, n, "other.example"));
    free(d);
}

int main(void)
{
    TD_RUN(test_server_certificate);
    TD_RUN(test_wildcard_and_addresses);
    return td_test_report("test_cert_name");
}
