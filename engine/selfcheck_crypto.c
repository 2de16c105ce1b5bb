/* engine/selfcheck_crypto.c -- the RFC 8448 self-check's key exchange
 * (public keys and the (EC)DHE shared secret from the printed private keys)
 * and CertificateVerify signatures (RFC 8446 §4.4.3). */
#include <string.h>

#include "selfcheck_int.h"

td_err sc_kex_public(sc_section *s, uint16_t group, const td_tsv_row *priv, uint8_t *out,
                     size_t *out_len)
{
    td_kex *kex = NULL;
    td_err ret = td_kex_from_private(s->run->crypto, group, priv->data, priv->len, &kex);
    if (ret == TD_OK)
        ret = td_kex_public(kex, out, TD_MAX_SHARE_LEN, out_len);
    td_kex_free(kex);
    return ret;
}

static td_err shared(sc_section *s, uint16_t group, const td_tsv_row *priv,
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
td_err sc_kex_shared(sc_section *s, uint16_t group, const td_tsv_row *client_priv,
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
    sc_check(s, server_priv->step, ok, "(EC)DHE: client and server derive the same secret",
             ok ? "%s, %zu bytes" : "%s: the two sides differ", td_group_name(group),
             s->ecdhe_len);
    td_cleanse(other, sizeof(other));
    s->have_ecdhe = true;
    return TD_OK;
}

void sc_verify_cv(sc_section *s, const sc_msg *cert, const sc_msg *cv, const uint8_t *th)
{
    (void)cert;
    (void)cv;
    (void)th;
    if (!s->cv_noted) {
        s->cv_noted = true;
        sc_note(s->run, "section %d: CertificateVerify not checked (signatures not available "
                "in crypto)", s->section);
    }
}
