/* engine/client.c -- the TLS 1.3 client state machine after the hello phase
 * (RFC 8446 §4.3 .. §4.6, Appendix A.1): one function per state, each
 * setting the next state; the second flight; post-handshake messages.
 * The hello phase (ClientHello, ServerHello, HRR) is in client_hello.c.
 *
 * Behaviour reference: the Go client seed; a check marked (Cnn) is that
 * seed's alert site nn (C31..C49 here), listed with the cases that reach it in
 * scenarios/SEED-SITES.md. Where RFC 8446 says otherwise the RFC is followed
 * and the comment says so. */
#include <stdlib.h>
#include <string.h>

#include "cert_check.h"
#include "client_internal.h"

#define TD_MAX_TICKET_LIFETIME_S 604800u

static td_err unexpected(td_conn *c, const td_msg *msg, td_rule rule)
{
    TD_ABORT(c, TD_ERR_UNEXPECTED, rule, 0, "%s in state %s", td_msg_type_name(msg->type),
             td_hs_state_name(c->state));
    TD_SITE_PASSED();
}

/* ---- EncryptedExtensions ---- */

/* RFC 7301 §3.1: the server's protocol is one we listed. */
static td_err check_alpn(td_conn *c, const td_encrypted_extensions *ee, const td_ext *e)
{
    const td_cbs *sel = &ee->ext.alpn[0];
    size_t len = td_cbs_len(sel);
    for (size_t i = 0; i < c->cfg->num_alpn; i++) {
        const char *p = c->cfg->alpn[i];
        if (strlen(p) == len && memcmp(p, td_cbs_data(sel), len) == 0) {
            memcpy(c->status.alpn, p,
                   len < sizeof(c->status.alpn) ? len : sizeof(c->status.alpn) - 1);
            return TD_OK;
        }
    }
    TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_ALPN_NOT_OFFERED, e->offset,
             "EncryptedExtensions selects a protocol we did not offer");
    TD_SITE_PASSED();
}

td_err td_client_do_wait_ee(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len)
{
    const td_encrypted_extensions *ee = &msg->u.ee;
    bool accepted = td_exts_find_const(&ee->exts, TD_EXT_EARLY_DATA) != NULL;
    /* §4.2.10: rejected 0-RTT: the handshake keys take over at once -- before
     * the checks below, so that an alert about this message goes under the
     * keys the server reads with (AL-KEYS); under the 0-RTT keys a server
     * that rejected 0-RTT would skip it as early data and never see it. */
    if (c->early_data_offered && !accepted) {
        TD_CHECK(td_conn_set_write_keys(c, c->c_hs));
        c->early_data_offered = false;
    }
    /* §4.2: every response extension answers a request of ours (C32); the
     * codec already refused the ones EncryptedExtensions may not hold.
     * RFC 8446 §4.2: "Implementations MUST NOT send extension responses if
     * the remote endpoint did not send the corresponding extension requests
     * ... Upon receiving such an extension, an endpoint MUST abort the
     * handshake with an "unsupported_extension" alert." Checked before the
     * value of any extension we asked for: one we never offered is refused
     * for being there, not judged by the rules of a negotiation we did not
     * enter. */
    for (size_t i = 0; i < ee->exts.num; i++) {
        const td_ext *e = &ee->exts.list[i];
        if (!td_client_offered_ext(c, e->type))
            TD_ABORT(c, TD_ERR_UNSUPPORTED_EXT, TD_RULE_EXT_UNSOLICITED, e->offset,
                     "EncryptedExtensions holds %s, which we did not offer",
                     td_ext_type_name(e->type));
        /* RFC 8449 §4: "An endpoint MUST treat receipt of a smaller value as a
         * fatal error and generate an "illegal_parameter" alert." */
        if (e->type == TD_EXT_RECORD_SIZE_LIMIT && ee->ext.record_size_limit < 64)
            TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_GEN_ILLEGAL_PARAM, e->offset + 4,
                     "record_size_limit %u < 64", ee->ext.record_size_limit);
        if (e->type == TD_EXT_ALPN)
            TD_CHECK(check_alpn(c, ee, e));
        if (e->type != TD_EXT_EARLY_DATA)
            continue;
        /* §4.2.10, §4.2.11: 0-RTT is accepted only with the first PSK. */
        if (!c->psk_accepted || c->psk_index != 0)
            TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_ED_SELECTED_IDENTITY, e->offset,
                     "early_data accepted without selecting PSK identity 0");
        /* §4.2.10: after a HelloRetryRequest 0-RTT can only be rejected
         * (reachable when the early_data_in_ch2 knob kept the extension). */
        if (!c->early_data_offered)
            TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_GEN_ILLEGAL_PARAM, e->offset,
                     "early_data accepted after a HelloRetryRequest");
    }
    TD_CHECK(td_conn_transcript_add(c, raw, raw_len));
    c->status.early_data_accepted = accepted;
    /* A.1: PSK handshakes skip the certificate messages. */
    c->state = c->psk_accepted ? TD_HS_C_WAIT_FINISHED : TD_HS_C_WAIT_CERT_CR;
    return TD_OK;
}

/* ---- CertificateRequest ---- */

/* §4.4.2.2, §4.4.3: the scheme of our CertificateVerify: our preference,
 * listed by the server, fit for our key, never PKCS#1 v1.5 or SHA-1. 0 if
 * none (we then send an empty Certificate, §4.4.2; Go's C44 aborts). */
static uint16_t choose_client_scheme(const td_conn *c, const td_certificate_request *cr)
{
    if (c->cfg->num_certs == 0 || c->cfg->certs[0].key == NULL || c->cfg->certs[0].num_chain == 0)
        return 0;
    size_t n;
    const uint16_t *ours = td_conn_sigalgs(c, &n);
    for (size_t i = 0; i < n; i++) {
        uint16_t s = ours[i];
        if ((s >> 8) == 0x02 || s == TD_SIG_RSA_PKCS1_SHA256 || s == TD_SIG_RSA_PKCS1_SHA384 ||
            s == TD_SIG_RSA_PKCS1_SHA512)
            continue;
        if (td_u16_in(cr->ext.sigalgs, cr->ext.num_sigalgs, s) &&
            td_pkey_supports_scheme(c->cfg->certs[0].key, s))
            return s;
    }
    return 0;
}

/* §4.3.2: whether a CertificateRequest of this connection already used
 * |ctx|; remember_cr_context records it. */
static bool cr_context_seen(const td_conn *c, const td_cbs *ctx)
{
    for (size_t at = 0; at < c->pha_contexts_len; at += 1 + c->pha_contexts[at])
        if (td_cbs_mem_equal(ctx, c->pha_contexts + at + 1, c->pha_contexts[at]))
            return true;
    return false;
}

static td_err remember_cr_context(td_conn *c, const td_cbs *ctx)
{
    size_t len = td_cbs_len(ctx); /* <= 255: the codec's bound */
    uint8_t *grown = realloc(c->pha_contexts, c->pha_contexts_len + 1 + len);
    if (grown == NULL)
        return TD_ERR_NOMEM;
    grown[c->pha_contexts_len] = (uint8_t)len;
    if (len > 0)
        memcpy(grown + c->pha_contexts_len + 1, td_cbs_data(ctx), len);
    c->pha_contexts = grown;
    c->pha_contexts_len += 1 + len;
    return TD_OK;
}

static td_err handle_cr(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len)
{
    const td_certificate_request *cr = &msg->u.cr;
    /* §4.3.2: in the main handshake the context is empty. */
    if (td_cbs_len(&cr->context) != 0)
        TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_CR_CONTEXT_NONEMPTY, 4,
                 "certificate_request_context of %zu bytes", td_cbs_len(&cr->context));
    /* §4.3.2: signature_algorithms MUST be specified. */
    if (td_exts_find_const(&cr->exts, TD_EXT_SIGNATURE_ALGORITHMS) == NULL)
        TD_ABORT(c, TD_ERR_MISSING_EXT, TD_RULE_SIGALG_MISSING_CR, 4,
                 "CertificateRequest without signature_algorithms");
    /* Unknown extensions are ignored (TOL-UNKNOWN-EXT-CR-NST). */
    TD_CHECK(td_conn_transcript_add(c, raw, raw_len));
    TD_CHECK(remember_cr_context(c, &cr->context));
    c->cert_requested = true;
    c->cr_context_len = 0;
    c->status.client_sigalg = choose_client_scheme(c, cr);
    c->state = TD_HS_C_WAIT_CERT;
    return TD_OK;
}

/* ---- Certificate ---- */

/* §4.4.2: CertificateEntry extensions answer ClientHello extensions. */
static td_err check_entry_exts(td_conn *c, const td_certificate *cert, const uint8_t *raw)
{
    td_exts *exts = malloc(sizeof(*exts));
    td_ext_data *data = malloc(sizeof(*data));
    td_err ret = TD_OK;
    if (exts == NULL || data == NULL) {
        free(exts);
        free(data);
        return TD_ERR_NOMEM;
    }
    td_exts_init(exts, TD_EXT_CTX_CT);
    td_ext_data_init(data);
    for (size_t i = 0; i < cert->num_entries; i++) {
        td_exts_cleanup(exts);
        td_ext_data_cleanup(data);
        TD_GUARD(td_exts_parse(TD_EXT_CTX_CT, cert->entries[i].extensions, raw, exts, data,
                               &c->status.diag));
        for (size_t j = 0; j < exts->num; j++)
            if (!td_client_offered_ext(c, exts->list[j].type) &&
                !TD_SITE_OFF(TD_RULE_CT_EXT_UNSOLICITED)) {
                ret = td_diag_set(&c->status.diag, TD_ERR_UNSUPPORTED_EXT,
                                  TD_RULE_CT_EXT_UNSOLICITED, exts->list[j].offset, __FILE__,
                                  __LINE__, "CertificateEntry %zu holds %s, which we did not offer",
                                  i, td_ext_type_name(exts->list[j].type));
                goto out;
            }
    }
out:
    td_exts_cleanup(exts);
    td_ext_data_cleanup(data);
    free(exts);
    free(data);
    return ret;
}

/* §4.4.2.2: the chain reaches our trust anchor (unless verification is off). */
static td_err check_chain(td_conn *c, const td_certificate *cert)
{
    td_der *chain = td_conn_chain_scratch(c, cert->num_entries);
    if (chain == NULL)
        return TD_ERR_NOMEM;
    for (size_t i = 0; i < cert->num_entries; i++) {
        chain[i].data = (uint8_t *)td_cbs_data(&cert->entries[i].cert_data);
        chain[i].len = td_cbs_len(&cert->entries[i].cert_data);
    }
    td_pkey_free(c->peer_key);
    c->peer_key = NULL;
    bool no_verify = c->cfg->no_verify || c->cfg->fuzzer_mode || c->cfg->peer_is_self;
    bool verify = !no_verify && c->cfg->trust_anchor != NULL;
    td_diag local;
    td_diag_clear(&local);
    td_err err = TD_OK;
    if (verify) {
        /* The chain check and the end-entity key in one pass (each
         * certificate read once); on failure the key is read on its own
         * below, so a leaf that does not parse is reported as such. */
        err = td_chain_verify_leaf(c->crypto, chain, cert->num_entries, c->cfg->trust_anchor,
                                   c->cfg->trust_anchor_len, &c->peer_key, &local);
        if (err == TD_ERR_NOMEM)
            return err;
        for (size_t i = 0; i < cert->num_entries; i++) {
            bool anchor = chain[i].len == c->cfg->trust_anchor_len &&
                          memcmp(chain[i].data, c->cfg->trust_anchor, chain[i].len) == 0;
            td_rule weak =
                anchor ? TD_RULE_NONE : td_cert_weak_signature(chain[i].data, chain[i].len);
            /* §4.4.2.4: "Any endpoint receiving any certificate which it
             * would need to validate using any signature algorithm using an
             * MD5 hash MUST abort the handshake with a "bad_certificate"
             * alert"; for SHA-1 that is RECOMMENDED. Self-signed
             * certificates and trust anchors are exempt. */
            if (weak != TD_RULE_NONE)
                TD_ABORT(c, TD_ERR_BAD_CERTIFICATE, weak, cert->entries[i].offset,
                         "server certificate %zu is signed with %s", i,
                         weak == TD_RULE_CT_MD5 ? "MD5" : "SHA-1");
        }
        /* §4.4.2.2: "If the client cannot construct an acceptable chain
         * using the provided certificates and decides to abort the
         * handshake, then it MUST abort the handshake with an appropriate
         * certificate-related alert"; §4.4.2.4 leaves validation to RFC 5280,
         * and a chain for another host is not acceptable (RFC 6125 §6). */
        if (err == TD_OK && c->cfg->verify_name != NULL &&
            !td_cert_names_host(chain[0].data, chain[0].len, c->cfg->verify_name))
            TD_ABORT(c, TD_ERR_BAD_CERTIFICATE, TD_RULE_CT_SERVER_CHAIN_UNACCEPTABLE, cert->entries[0].offset,
                     "the server's certificate does not name '%s' (RFC 6125)", c->cfg->verify_name);
        if (err == TD_OK)
            return err;
    }
    td_err kerr = td_pkey_from_cert_der(c->crypto, chain[0].data, chain[0].len, &c->peer_key);
    if (kerr == TD_ERR_NOMEM)
        return kerr;
    /* §4.4.2.2, §6.2: an end-entity certificate we cannot read: bad_certificate. */
    if (kerr != TD_OK)
        TD_ABORT(c, TD_ERR_BAD_CERTIFICATE, TD_RULE_CT_SERVER_CHAIN_UNACCEPTABLE, cert->entries[0].offset,
                 "the server's end-entity certificate does not parse");
    if (no_verify)
        return TD_OK;
    /* §4.4.2.2: the client cannot build an acceptable chain (bad_certificate);
     * without a trust anchor no chain is acceptable. */
    TD_ABORT(c, TD_ERR_BAD_CERTIFICATE, TD_RULE_CT_SERVER_CHAIN_UNACCEPTABLE, 4, "%s%s",
             c->cfg->trust_anchor == NULL ? "no trust anchor configured"
                                          : "the server's chain does not reach our trust anchor: ",
             c->cfg->trust_anchor == NULL ? "" : local.text);
    TD_SITE_PASSED();
}

static td_err handle_cert(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len)
{
    const td_certificate *cert = &msg->u.cert;
    /* §4.4.2: the server's certificate_request_context is empty. */
    if (td_cbs_len(&cert->context) != 0)
        TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_CT_CONTEXT, 4,
                 "server certificate_request_context of %zu bytes", td_cbs_len(&cert->context));
    /* §4.4.2.4: the server's certificate_list is never empty (C34). */
    if (cert->num_entries == 0)
        TD_ABORT(c, TD_ERR_DECODE, TD_RULE_CT_SERVER_EMPTY, 5, "empty server Certificate");
    TD_CHECK(check_entry_exts(c, cert, raw));
    TD_CHECK(check_chain(c, cert));
    TD_CHECK(td_conn_transcript_add(c, raw, raw_len));
    c->state = TD_HS_C_WAIT_CV;
    return TD_OK;
}

/* The state takes CertificateRequest and Certificate (TD_HS_STATE_LIST). */
td_err td_client_do_wait_cert_cr(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len)
{
    if (msg->type == TD_MSG_CERTIFICATE_REQUEST)
        return handle_cr(c, msg, raw, raw_len);
    return handle_cert(c, msg, raw, raw_len);
}

td_err td_client_do_wait_cert(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len)
{
    return handle_cert(c, msg, raw, raw_len);
}

/* ---- CertificateVerify ---- */

static bool scheme_is_sha1(uint16_t s)
{
    return (s >> 8) == 0x02;
}
static bool scheme_is_pkcs1(uint16_t s)
{
    return s == TD_SIG_RSA_PKCS1_SHA256 || s == TD_SIG_RSA_PKCS1_SHA384 ||
           s == TD_SIG_RSA_PKCS1_SHA512;
}

td_err td_client_do_wait_cv(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len)
{
    const td_certificate_verify *cv = &msg->u.cv;
    uint16_t s = cv->algorithm;
    /* §4.4.3: SHA-1 MUST NOT be used in CertificateVerify (C38). */
    if (scheme_is_sha1(s))
        TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_CV_SHA1, 4,
                 "CertificateVerify scheme 0x%04x uses SHA-1", s);
    /* §4.4.3: RSA signatures MUST use RSASSA-PSS, whatever was offered (C38). */
    if (scheme_is_pkcs1(s))
        TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_CV_RSA_PKCS1, 4,
                 "CertificateVerify scheme 0x%04x is PKCS#1 v1.5", s);
    /* §4.4.3: the scheme is one of our signature_algorithms (C36). */
    size_t n;
    const uint16_t *ours = td_conn_sigalgs(c, &n);
    if (!td_u16_in(ours, n, s))
        TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_CV_SCHEME_NOT_OFFERED, 4,
                 "CertificateVerify scheme 0x%04x was not offered", s);
    /* §4.2.3, §4.4.3: the scheme fits the end-entity key. */
    if (!td_pkey_supports_scheme(c->peer_key, s))
        TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_CV_KEY_MISMATCH, 4,
                 "scheme 0x%04x does not fit the server's key", s);
    uint8_t content[64 + 64 + TD_MAX_HASH_LEN];
    size_t content_len;
    TD_CHECK(td_conn_cv_content(c, true, content, sizeof(content), &content_len));
    /* Fuzzer mode, a peer that is this engine: not checked (conn.h). */
    td_err err = c->cfg->fuzzer_mode || c->cfg->peer_is_self
                     ? TD_OK
                     : td_verify(c->crypto, c->peer_key, s, content, content_len,
                                 td_cbs_data(&cv->signature), td_cbs_len(&cv->signature));
    if (err == TD_ERR_NOMEM)
        return err;
    /* §4.4.3: the signature verifies (C39). (td_verify's own scheme/key
     * refusal cannot happen here: PKCS#1 and a scheme that does not fit the
     * key were refused above, as on the server side.) */
    if (err != TD_OK)
        TD_ABORT(c, TD_ERR_DECRYPT, TD_RULE_CV_BAD_SIGNATURE, 8,
                 "server CertificateVerify signature does not verify");
    TD_CHECK(td_conn_transcript_add(c, raw, raw_len));
    c->status.sigalg = s;
    c->state = TD_HS_C_WAIT_FINISHED;
    return TD_OK;
}

/* ---- the client's second flight ---- */

/* Our Finished keyed by |base|: client_handshake_traffic_secret in the
 * handshake, client_application_traffic_secret_N after it (§4.4). */
static td_err send_finished(td_conn *c, const uint8_t *base)
{
    uint8_t vd[TD_MAX_HASH_LEN];
    td_msg m;
    TD_CHECK(td_conn_finished(c, base, vd));
    if (c->cfg->bugs.bad_finished)
        vd[0] ^= 0x80;
    td_msg_init(&m, TD_MSG_FINISHED, false);
    td_cbs_init(&m.u.fin.verify_data, vd, td_hash_len(c->suite->hash));
    td_err err = td_conn_send_msg(c, &m, NULL);
    td_cleanse(vd, sizeof(vd));
    return err;
}

/* §4.4.2, §4.4.3: our Certificate (empty without a usable certificate) and
 * CertificateVerify in answer to a CertificateRequest. */
static td_err send_client_auth(td_conn *c)
{
    td_msg *m = calloc(1, sizeof(*m));
    uint8_t *sig = NULL;
    td_err ret = TD_OK;
    if (m == NULL)
        return TD_ERR_NOMEM;
    uint16_t scheme = c->status.client_sigalg;
    const td_cert_key *ck = scheme != 0 ? &c->cfg->certs[0] : NULL;
    td_msg_init(m, TD_MSG_CERTIFICATE, false);
    td_cbs_init(&m->u.cert.context, c->cr_context, c->cr_context_len);
    if (ck != NULL) {
        if (ck->num_chain > TD_MAX_CERT_ENTRIES) {
            ret = td_diag_set(&c->status.diag, TD_ERR_LIMIT, TD_RULE_NONE, 0, __FILE__, __LINE__,
                              "client chain of %zu certificates", ck->num_chain);
            goto out;
        }
        for (size_t i = 0; i < ck->num_chain; i++) {
            td_cbs_init(&m->u.cert.entries[i].cert_data, ck->chain[i].data, ck->chain[i].len);
            td_cbs_init(&m->u.cert.entries[i].extensions, NULL, 0);
        }
        m->u.cert.num_entries = ck->num_chain;
    }
    TD_GUARD(td_conn_send_msg(c, m, NULL));
    if (ck == NULL)
        goto out;
    uint8_t content[64 + 64 + TD_MAX_HASH_LEN];
    size_t content_len, sig_len;
    sig = malloc(TD_MAX_SIG_LEN);
    if (sig == NULL) {
        ret = TD_ERR_NOMEM;
        goto out;
    }
    TD_GUARD(td_conn_cv_content(c, false, content, sizeof(content), &content_len));
    /* The PSS salt / ECDSA nonce: injected for trace replays, else the DRBG. */
    const td_inject *inj = c->cfg->inject;
    td_drbg primed, *drbg = &c->drbg;
    if (inj != NULL && inj->sig_random != NULL && inj->sig_random_len <= TD_DRBG_MAX_PRIME) {
        td_drbg_init_primed(&primed, inj->sig_random, inj->sig_random_len, "client/sig-inject");
        drbg = &primed;
    }
    ret = c->cfg->dummy_signatures
              ? td_sign_dummy(ck->key, scheme, sig, TD_MAX_SIG_LEN, &sig_len)
              : td_sign(c->crypto, ck->key, scheme, drbg, content, content_len, sig,
                        TD_MAX_SIG_LEN, &sig_len);
    if (drbg == &primed)
        td_drbg_cleanup(&primed);
    if (ret != TD_OK) {
        ret = td_diag_set(&c->status.diag, ret == TD_ERR_NOMEM ? ret : TD_ERR_CRYPTO, TD_RULE_NONE,
                          0, __FILE__, __LINE__, "cannot sign our CertificateVerify");
        goto out;
    }
    if (c->cfg->bugs.bad_signature && sig_len > 0)
        sig[sig_len - 1] ^= 0x01;
    td_msg_init(m, TD_MSG_CERTIFICATE_VERIFY, false);
    m->u.cv.algorithm = scheme;
    td_cbs_init(&m->u.cv.signature, sig, sig_len);
    TD_GUARD(td_conn_send_msg(c, m, NULL));
    c->status.client_authenticated = true;
out:
    free(sig);
    free(m);
    return ret;
}

static td_err send_second_flight(td_conn *c)
{
    /* D.4: compatibility mode: a CCS before the second flight if none yet. */
    if (c->cfg->compat_mode && !c->cfg->bugs.no_ccs_compat && !c->ccs_sent)
        TD_CHECK(td_conn_send_ccs(c));
    if (c->status.early_data_accepted) {
        /* §4.5: EndOfEarlyData under the 0-RTT keys, then the handshake keys. */
        td_msg eoed;
        td_msg_init(&eoed, TD_MSG_END_OF_EARLY_DATA, false);
        TD_CHECK(td_conn_send_msg(c, &eoed, NULL));
        TD_CHECK(td_conn_set_write_keys(c, c->c_hs));
        c->early_data_offered = false;
    }
    if (c->cert_requested)
        TD_CHECK(send_client_auth(c));
    TD_CHECK(send_finished(c, c->c_hs));
    /* §4.4: the Handshake Context of a post-handshake authentication
     * starts with ClientHello ... client Finished. */
    if (c->cfg->offer_post_handshake_auth)
        TD_CHECK(td_conn_keep_pha_base(c));
    TD_CHECK(td_conn_set_write_keys(c, c->c_ap));
    /* §7.1: resumption_master_secret over ClientHello..client Finished. */
    uint8_t hash[TD_MAX_HASH_LEN];
    TD_CHECK(td_transcript_peek(&c->transcript, hash, NULL));
    return td_keysched_derive(&c->ks, TD_KEYSCHED_RES_MASTER, hash, c->res_master);
}

td_err td_client_do_wait_finished(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len)
{
    uint8_t expected[TD_MAX_HASH_LEN], hash[TD_MAX_HASH_LEN];
    size_t hash_len = td_hash_len(c->suite->hash);
    TD_CHECK(td_conn_finished(c, c->s_hs, expected));
    /* §4.4.4: verify_data is checked (in constant time) (C41). */
    const td_cbs *vd = &msg->u.fin.verify_data;
    bool ok = td_cbs_len(vd) == hash_len && td_ct_equal(td_cbs_data(vd), expected, hash_len);
    /* Fuzzer mode: verify_data is not checked (conn.h). */
    if (!ok && !c->cfg->fuzzer_mode)
        TD_ABORT(c, TD_ERR_DECRYPT, TD_RULE_FIN_BAD, 4, "server Finished verify_data is wrong");
    TD_CHECK(td_conn_transcript_add(c, raw, raw_len));
    /* §7.1: application secrets over ClientHello..server Finished. */
    TD_CHECK(td_keysched_master(&c->ks));
    TD_CHECK(td_transcript_peek(&c->transcript, hash, NULL));
    TD_CHECK(td_keysched_derive(&c->ks, TD_KEYSCHED_C_AP_TRAFFIC, hash, c->c_ap));
    TD_CHECK(td_keysched_derive(&c->ks, TD_KEYSCHED_S_AP_TRAFFIC, hash, c->s_ap));
    TD_CHECK(td_keysched_derive(&c->ks, TD_KEYSCHED_EXPORTER, hash, c->exporter));
    td_conn_keylog(c, TD_KEYLOG_CLIENT_TRAFFIC_SECRET_0, c->c_ap);
    td_conn_keylog(c, TD_KEYLOG_SERVER_TRAFFIC_SECRET_0, c->s_ap);
    td_conn_keylog(c, TD_KEYLOG_EXPORTER_SECRET, c->exporter);
    c->peer_finished = true;
    TD_CHECK(td_conn_set_read_keys(c, c->s_ap));
    TD_CHECK(send_second_flight(c));
    c->state = TD_HS_CONNECTED;
    c->status.phase = TD_PHASE_CONNECTED;
    c->status.completed = true;
    c->status.version = 0x0304;
    c->status.suite = c->suite->id;
    return TD_OK;
}

/* ---- dispatch ---- */

/* ---- post-handshake ---- */

static td_err handle_nst(td_conn *c, const td_msg *msg)
{
    const td_new_session_ticket *nst = &msg->u.nst;
    /* §4.6.1: servers MUST NOT use a lifetime above 7 days. The RFC asks the
     * client only not to cache longer; like Go (C48) we refuse the ticket's
     * sender. */
    if (nst->ticket_lifetime > TD_MAX_TICKET_LIFETIME_S)
        TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_NST_LIFETIME, 4,
                 "ticket_lifetime %u s exceeds 7 days", nst->ticket_lifetime);
    /* §4.6.1: lifetime 0 means discard at once; a ticket above our cap is not kept. */
    if (nst->ticket_lifetime == 0 || td_cbs_len(&nst->ticket) > TD_MAX_TICKET_LEN)
        return TD_OK;
    td_session *s = &c->session;
    memset(s, 0, sizeof(*s));
    s->suite = c->suite->id;
    s->psk_len = td_hash_len(c->suite->hash);
    TD_CHECK(td_keysched_resumption_psk(c->crypto, c->suite->hash, c->res_master,
                                  td_cbs_data(&nst->ticket_nonce), td_cbs_len(&nst->ticket_nonce),
                                  s->psk));
    memcpy(s->ticket, td_cbs_data(&nst->ticket), td_cbs_len(&nst->ticket));
    s->ticket_len = td_cbs_len(&nst->ticket);
    s->lifetime_s = nst->ticket_lifetime;
    s->age_add = nst->ticket_age_add;
    /* §4.2.10: early_data in a ticket carries max_early_data_size; other
     * extensions are ignored (TOL-UNKNOWN-EXT-CR-NST). */
    s->max_early_data = td_exts_find_const(&nst->exts, TD_EXT_EARLY_DATA) != NULL
                            ? nst->ext.max_early_data_size
                            : 0;
    s->received_ms = td_clock_now_ms(&c->clock);
    memcpy(s->alpn, c->status.alpn, sizeof(s->alpn));
    c->has_session = true;
    return TD_OK;
}

/* §4.6.2: a post-handshake CertificateRequest, answered at once with
 * Certificate (empty without a usable certificate), CertificateVerify and
 * Finished under the current application traffic keys. */
static td_err handle_pha_cr(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len)
{
    const td_certificate_request *cr = &msg->u.cr;
    /* §4.6.2: "A client that receives a CertificateRequest message without
     * having sent the "post_handshake_auth" extension MUST send an
     * "unexpected_message" fatal alert." */
    if (!c->cfg->offer_post_handshake_auth || c->pha_base == NULL)
        return unexpected(c, msg, TD_RULE_PHA_CR_WITHOUT_EXT);
    /* §4.3.2: "The "signature_algorithms" extension MUST be specified". */
    if (td_exts_find_const(&cr->exts, TD_EXT_SIGNATURE_ALGORITHMS) == NULL)
        TD_ABORT(c, TD_ERR_MISSING_EXT, TD_RULE_SIGALG_MISSING_CR, 4,
                 "post-handshake CertificateRequest without signature_algorithms");
    /* §4.3.2: "The certificate_request_context MUST be unique within the
     * scope of this connection (thus preventing replay of client
     * CertificateVerify messages)" (§6: illegal_parameter). */
    if (cr_context_seen(c, &cr->context))
        TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_PHA_CR_CONTEXT_REUSED, 4,
                 "post-handshake CertificateRequest repeats a certificate_request_context of %zu "
                 "bytes",
                 td_cbs_len(&cr->context));
    TD_CHECK(remember_cr_context(c, &cr->context));
    if (c->cfg->bugs.pha_delay) {
        /* Misbehaviour (bugs.def pha_delay): other messages first, which
         * the server "MUST be prepared for" (TOL-PHA-DELAY); they are not
         * part of the authentication's transcript. */
        static const uint8_t later[] = "authenticating later";
        TD_CHECK(td_conn_key_update(c, true));
        TD_CHECK(td_conn_write(c, later, sizeof(later) - 1));
    }
    /* §4.4: Transcript-Hash(ClientHello ... client Finished + CertificateRequest ...). */
    TD_CHECK(td_transcript_restore(&c->transcript, c->pha_base));
    TD_CHECK(td_conn_transcript_add(c, raw, raw_len));
    c->cr_context_len = td_cbs_len(&cr->context);
    if (c->cr_context_len > 0)
        memcpy(c->cr_context, td_cbs_data(&cr->context), c->cr_context_len);
    c->status.client_sigalg = choose_client_scheme(c, cr);
    /* §4.6.2: "If the client chooses to authenticate, it MUST send
     * Certificate, CertificateVerify, and Finished. If it declines, it MUST
     * send a Certificate message containing no certificates followed by
     * Finished", consecutively. */
    TD_CHECK(send_client_auth(c));
    TD_CHECK(send_finished(c, c->cfg->bugs.pha_finished_handshake_key ? c->c_hs : c->c_ap));
    TD_CHECK(td_conn_flush(c));
    c->status.post_handshake_auths++;
    return TD_OK;
}

td_err td_client_post_handshake(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len)
{
    switch (msg->type) {
    case TD_MSG_NEW_SESSION_TICKET: return handle_nst(c, msg);
    case TD_MSG_KEY_UPDATE: return td_conn_handle_key_update(c, msg);
    case TD_MSG_CERTIFICATE_REQUEST: return handle_pha_cr(c, msg, raw, raw_len);
    case TD_MSG_END_OF_EARLY_DATA:
        /* §4.5: EndOfEarlyData is never sent to a client. */
        return unexpected(c, msg, TD_RULE_ED_EOED_TO_CLIENT);
    case TD_MSG_CLIENT_HELLO:
    case TD_MSG_SERVER_HELLO:
    case TD_MSG_ENCRYPTED_EXTENSIONS:
    case TD_MSG_CERTIFICATE:
    case TD_MSG_CERTIFICATE_VERIFY:
    case TD_MSG_FINISHED:
    case TD_MSG_MESSAGE_HASH:
    default:
        /* §4, §4.6: not a post-handshake message for a client. */
        return unexpected(c, msg, TD_RULE_PH_UNEXPECTED_MSG);
    }
}
