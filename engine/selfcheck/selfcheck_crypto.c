/* engine/selfcheck/selfcheck_crypto.c -- the RFC 8448 self-check's key exchange
 * (public keys and the (EC)DHE shared secret from the printed private keys)
 * and CertificateVerify signatures (RFC 8446 §4.4.3). */
#include <string.h>

#include "selfcheck_int.h"

td_err td_selfcheck_kex_public(td_selfcheck_ctx *s, uint16_t group, const td_tsv_row *priv, uint8_t *out,
                     size_t *out_len)
{
    td_kex *kex = NULL;
    td_err ret = td_kex_from_private(s->run->crypto, group, priv->data, priv->len, &kex);
    if (ret == TD_OK)
        ret = td_kex_public(kex, out, TD_MAX_SHARE_LEN, out_len);
    td_kex_free(kex);
    return ret;
}

static td_err shared(td_selfcheck_ctx *s, uint16_t group, const td_tsv_row *priv,
                     const td_tsv_row *peer, uint8_t *out, size_t *out_len, td_diag *diag)
{
    td_kex *kex = NULL;
    td_err ret = td_kex_from_private(s->run->crypto, group, priv->data, priv->len, &kex);
    if (ret == TD_OK)
        ret = td_kex_derive(kex, peer->data, peer->len, out, TD_MAX_ECDH_LEN, out_len, diag);
    td_kex_free(kex);
    return ret;
}

/* Both sides' view of the shared secret: client private x server public,
 * server private x client public. They must agree. */
td_err td_selfcheck_kex_shared(td_selfcheck_ctx *s, uint16_t group, const td_tsv_row *client_priv,
                     const td_tsv_row *server_pub, const td_tsv_row *server_priv,
                     const td_tsv_row *client_pub)
{
    uint8_t other[TD_MAX_ECDH_LEN];
    size_t other_len = 0;
    td_diag diag;
    td_diag_clear(&diag);
    TD_CHECK(shared(s, group, client_priv, server_pub, s->ecdhe, &s->ecdhe_len, &diag));
    TD_CHECK(shared(s, group, server_priv, client_pub, other, &other_len, &diag));
    bool ok = other_len == s->ecdhe_len && memcmp(other, s->ecdhe, other_len) == 0;
    td_selfcheck_check(s, server_priv->step, ok, "(EC)DHE: client and server derive the same secret",
             ok ? "%s, %zu bytes" : "%s: the two sides differ", td_group_name(group),
             s->ecdhe_len);
    td_cleanse(other, sizeof(other));
    s->have_ecdhe = true;
    return TD_OK;
}

/* §4.4.3: the signature covers 64 octets of 0x20, the context string, a
 * 0 byte and Transcript-Hash(Handshake Context, Certificate). */
void td_selfcheck_verify_cv(td_selfcheck_ctx *s, const td_selfcheck_msg *cert, const td_selfcheck_msg *cv, const uint8_t *th)
{
    static const char server_ctx[] = "TLS 1.3, server CertificateVerify";
    static const char client_ctx[] = "TLS 1.3, client CertificateVerify";
    bool server = cv->who == TD_TSV_SERVER;
    const char *ctx = server ? server_ctx : client_ctx;
    const char *name = server ? "server CertificateVerify signature verifies"
                              : "client CertificateVerify signature verifies";
    uint8_t content[64 + sizeof(server_ctx) + TD_MAX_HASH_LEN];
    size_t n = 0;
    memset(content, 0x20, 64);
    n = 64;
    memcpy(content + n, ctx, sizeof(server_ctx)); /* with its NUL: the 0 separator */
    n += sizeof(server_ctx);
    memcpy(content + n, th, s->hash_len);
    n += s->hash_len;

    /* The views are into the messages, so they outlive the next parse. */
    td_cbs der = {0}, sig = {0};
    uint16_t scheme = 0;
    const td_msg *p = cert != NULL && cert->who == cv->who ? td_selfcheck_parse(s, cert, NULL) : NULL;
    bool have_cert = p != NULL && p->u.cert.num_entries > 0;
    if (have_cert)
        der = p->u.cert.entries[0].cert_data; /* §4.4.2: the end-entity certificate */
    p = have_cert ? td_selfcheck_parse(s, cv, NULL) : NULL;
    if (p != NULL) {
        scheme = p->u.cv.algorithm;
        sig = p->u.cv.signature;
    }
    if (p == NULL) {
        td_selfcheck_check(s, cv->row->step, false, name, "line %zu: no certificate or malformed message",
                 cv->row->line);
        return;
    }
    td_pkey *key = NULL;
    td_err ret = td_pkey_from_cert_der(s->run->crypto, td_cbs_data(&der), td_cbs_len(&der), &key);
    if (ret == TD_OK)
        ret = td_verify(s->run->crypto, key, scheme, content, n, td_cbs_data(&sig),
                        td_cbs_len(&sig));
    td_pkey_free(key);
    const char *scheme_name = td_sig_name(scheme) ? td_sig_name(scheme) : "unknown scheme";
    if (ret == TD_OK)
        td_selfcheck_check(s, cv->row->step, true, name, "%s, %zu-byte signature", scheme_name,
                 td_cbs_len(&sig));
    else
        td_selfcheck_check(s, cv->row->step, false, name, "line %zu: %s: %s", cv->row->line, scheme_name,
                 td_err_name(ret));
}
