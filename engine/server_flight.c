/* engine/server_flight.c -- the messages the server sends (RFC 8446 §4):
 * HelloRetryRequest, ServerHello, EncryptedExtensions, CertificateRequest,
 * Certificate, CertificateVerify, Finished, NewSessionTicket.
 *
 * Each builder fills a td_msg and hands it to td_conn_send_msg (which runs
 * the outgoing-message hook and adds it to the transcript). The server-side
 * knobs of bugs.def are applied here and only here. Values a trace fixes
 * (random, signature randomness, ticket, cookie) come from cfg->inject. */
#include <string.h>

#include "server_internal.h"

static const td_inject *inject(const td_conn *c)
{
    return c->cfg->inject;
}

/* A second suite of ours that is not |id| (sh_change_suite_after_hrr). */
static uint16_t other_suite(td_conn *c, uint16_t id)
{
    size_t n;
    const uint16_t *ours = td_conn_suites(c, &n);
    for (size_t i = 0; i < n; i++)
        if (ours[i] != id && td_suite_get(ours[i]) != NULL)
            return ours[i];
    return id == TD_TLS_AES_128_GCM_SHA256 ? TD_TLS_AES_256_GCM_SHA384 : TD_TLS_AES_128_GCM_SHA256;
}

/* legacy_session_id_echo (§4.1.3), or a different value (sh_wrong_session_id). */
static void session_id_echo(td_conn *c, const td_client_hello *ch, uint8_t *buf, td_cbs *out)
{
    size_t len = td_cbs_len(&ch->legacy_session_id);
    if (!c->cfg->bugs.sh_wrong_session_id || len > 32) {
        *out = ch->legacy_session_id;
        return;
    }
    if (len == 0) {
        buf[0] = 0x01;
        len = 1;
    } else {
        memcpy(buf, td_cbs_data(&ch->legacy_session_id), len);
        buf[0] ^= 0x01;
    }
    td_cbs_init(out, buf, len);
}

static td_err add_supported_versions(td_conn *c, td_server_hello *sh)
{
    /* §4.1.3, §4.2.1: a TLS 1.3 ServerHello and HRR carry supported_versions
     * with 0x0304 (sh_omit_supported_versions: none, legacy_version 0x0304). */
    if (c->cfg->bugs.sh_omit_supported_versions) {
        sh->legacy_version =
            TD_VERSION_TLS13; /* TLS 1.3 through the legacy field (SV-SH-MISSING) */
        return TD_OK;
    }
    TD_CHECK(td_exts_add(&sh->exts, TD_EXT_SUPPORTED_VERSIONS, NULL));
    sh->ext.selected_version = TD_VERSION_TLS13;
    return TD_OK;
}

/* Sends a message built here; the msg hook may have grown its lists. */
static td_err send_built(td_conn *c, td_msg *m)
{
    td_err err = td_conn_send_msg(c, m, NULL);
    td_msg_cleanup(m);
    return err;
}

td_err td_srv_send_hrr(td_conn *c, const td_client_hello *ch, const td_srv_hello *h)
{
    td_msg m;
    uint8_t sid[32], hash[TD_MAX_HASH_LEN];
    td_msg_init(&m, TD_MSG_SERVER_HELLO, true);
    td_server_hello *hrr = &m.u.sh;
    session_id_echo(c, ch, sid, &hrr->legacy_session_id_echo);
    hrr->cipher_suite = h->suite->id;
    uint16_t group = h->hrr_group;
    if (c->cfg->bugs.hrr_offered_share_group && ch->ext.num_key_shares > 0)
        group = ch->ext.key_shares[0].group; /* KS-HRR-GROUP-ALREADY-SENT */
    /* §4.1.4: key_share names the group the client must send a share for. */
    if (group != 0) {
        TD_CHECK(td_exts_add(&hrr->exts, TD_EXT_KEY_SHARE, NULL));
        hrr->ext.hrr_selected_group = group;
    }
    c->hrr_group = group;
    /* §4.2.2: the cookie (stateless style: it carries Hash(ClientHello1)).
     * An HRR without key_share always carries one, or it would change
     * nothing (HRR-NO-CHANGE). */
    const td_inject *inj = inject(c);
    if (inj != NULL && inj->hrr_cookie != NULL && inj->hrr_cookie_len <= sizeof(c->hrr_cookie)) {
        memcpy(c->hrr_cookie, inj->hrr_cookie, inj->hrr_cookie_len);
        c->hrr_cookie_len = inj->hrr_cookie_len;
    } else if (c->cfg->hrr_cookie || group == 0) {
        TD_CHECK(td_hash(c->crypto, c->suite->hash, c->ch1_bytes, c->ch1_len, hash));
        TD_CHECK(td_srv_make_cookie(c, hash, td_hash_len(c->suite->hash), group, c->hrr_cookie,
                                    sizeof(c->hrr_cookie), &c->hrr_cookie_len));
    }
    if (c->hrr_cookie_len > 0) {
        TD_CHECK(td_exts_add(&hrr->exts, TD_EXT_COOKIE, NULL));
        td_cbs_init(&hrr->ext.cookie, c->hrr_cookie, c->hrr_cookie_len);
    }
    TD_CHECK(add_supported_versions(c, hrr));
    return send_built(c, &m);
}

td_err td_srv_send_server_hello(td_conn *c, const td_client_hello *ch, const td_srv_hello *h,
                                const uint8_t *share, size_t share_len)
{
    static const uint8_t bogus_cookie[] = {0x00, 0x01, 0x2a};
    td_msg m;
    uint8_t sid[32];
    td_msg_init(&m, TD_MSG_SERVER_HELLO, false);
    td_server_hello *sh = &m.u.sh;
    const td_inject *inj = inject(c);
    if (inj != NULL && inj->random != NULL)
        memcpy(c->server_random, inj->random, TD_RANDOM_LEN);
    else
        td_conn_random(c, c->server_random, TD_RANDOM_LEN);
    memcpy(sh->random, c->server_random, TD_RANDOM_LEN);
    /* §4.1.3: legacy_session_id_echo is the client's legacy_session_id. */
    session_id_echo(c, ch, sid, &sh->legacy_session_id_echo);
    sh->cipher_suite = h->suite->id;
    if (c->cfg->bugs.sh_change_suite_after_hrr && c->hrr_done)
        sh->cipher_suite = other_suite(c, h->suite->id); /* SH-CIPHER-CHANGED */
    /* §4.2.11: selected_identity of the accepted PSK. */
    if (h->psk) {
        TD_CHECK(td_exts_add(&sh->exts, TD_EXT_PRE_SHARED_KEY, NULL));
        sh->ext.psk_selected_identity = h->psk_index;
        if (c->cfg->bugs.psk_identity_out_of_range)
            sh->ext.psk_selected_identity =
                (uint16_t)ch->ext.num_psk_identities; /* PSK-SH-IDENTITY-RANGE */
    }
    /* §4.2.8: our KeyShareEntry in the selected group. */
    if (h->group != 0) {
        TD_CHECK(td_exts_add(&sh->exts, TD_EXT_KEY_SHARE, NULL));
        sh->ext.server_share.group = h->group;
        td_cbs_init(&sh->ext.server_share.key_exchange, share, share_len);
    }
    TD_CHECK(add_supported_versions(c, sh));
    if (c->cfg->bugs.cookie_in_sh) {
        td_cbs body;
        td_cbs_init(&body, bogus_cookie, sizeof(bogus_cookie));
        TD_CHECK(
            td_exts_insert_raw(&sh->exts, sh->exts.num, TD_EXT_COOKIE, body)); /* COOKIE-IN-SH */
    }
    return send_built(c, &m);
}

td_err td_srv_send_encrypted_extensions(td_conn *c, const td_client_hello *ch,
                                        const td_srv_hello *h)
{
    td_msg m;
    td_msg_init(&m, TD_MSG_ENCRYPTED_EXTENSIONS, false);
    td_encrypted_extensions *ee = &m.u.ee;
    size_t n;
    const uint16_t *groups = td_conn_groups(c, &n);
    /* §4.2.7: the server MAY send its supported_groups (preference order);
     * NSS does, and the RFC 8448 traces show it. */
    if (n <= TD_MAX_GROUPS) {
        TD_CHECK(td_exts_add(&ee->exts, TD_EXT_SUPPORTED_GROUPS, NULL));
        memcpy(ee->ext.groups, groups, n * sizeof(uint16_t));
        ee->ext.num_groups = n;
    }
    /* RFC 8449 §4: answer record_size_limit with ours (2^14 + 1 in TLS
     * 1.3) and respect the client's when sending. */
    if (td_exts_find_const(&ch->exts, TD_EXT_RECORD_SIZE_LIMIT) != NULL) {
        c->peer_record_limit = ch->ext.record_size_limit;
        TD_CHECK(td_exts_add(&ee->exts, TD_EXT_RECORD_SIZE_LIMIT, NULL));
        ee->ext.record_size_limit = TD_REC_MAX_PLAINTEXT + 1;
    }
    /* RFC 6066 §3: an empty server_name acknowledges the name we used. */
    if (h->sni)
        TD_CHECK(td_exts_add(&ee->exts, TD_EXT_SERVER_NAME, NULL));
    /* RFC 7301 §3.1: the one protocol selected. */
    if (c->status.alpn[0] != 0) {
        TD_CHECK(td_exts_add(&ee->exts, TD_EXT_ALPN, NULL));
        td_cbs_init(&ee->ext.alpn[0], (const uint8_t *)c->status.alpn, strlen(c->status.alpn));
        ee->ext.num_alpn = 1;
    }
    /* §4.2.10: early_data in EncryptedExtensions accepts 0-RTT. */
    if (h->early)
        TD_CHECK(td_exts_add(&ee->exts, TD_EXT_EARLY_DATA, NULL));
    return send_built(c, &m);
}

td_err td_srv_send_certificate_request(td_conn *c)
{
    td_msg m;
    td_msg_init(&m, TD_MSG_CERTIFICATE_REQUEST, false);
    size_t n;
    const uint16_t *sigalgs = td_conn_sigalgs(c, &n);
    /* §4.3.2: an empty certificate_request_context in the main handshake
     * and a signature_algorithms extension (MUST). */
    c->cr_context_len = 0;
    if (n > TD_MAX_SIGALGS)
        n = TD_MAX_SIGALGS;
    TD_CHECK(td_exts_add(&m.u.cr.exts, TD_EXT_SIGNATURE_ALGORITHMS, NULL));
    memcpy(m.u.cr.ext.sigalgs, sigalgs, n * sizeof(uint16_t));
    m.u.cr.ext.num_sigalgs = n;
    return send_built(c, &m);
}

td_err td_srv_send_pha_certificate_request(td_conn *c, const uint8_t *context, size_t context_len)
{
    td_msg m;
    td_msg_init(&m, TD_MSG_CERTIFICATE_REQUEST, false);
    size_t n;
    const uint16_t *sigalgs = td_conn_sigalgs(c, &n);
    /* §4.3.2, §4.6.2: a non-empty context identifies the request; the
     * signature_algorithms extension MUST be specified. */
    td_cbs_init(&m.u.cr.context, context, context_len);
    if (n > TD_MAX_SIGALGS)
        n = TD_MAX_SIGALGS;
    TD_CHECK(td_exts_add(&m.u.cr.exts, TD_EXT_SIGNATURE_ALGORITHMS, NULL));
    memcpy(m.u.cr.ext.sigalgs, sigalgs, n * sizeof(uint16_t));
    m.u.cr.ext.num_sigalgs = n;
    return send_built(c, &m);
}

td_err td_srv_send_certificate(td_conn *c, const td_srv_hello *h)
{
    td_msg m;
    td_msg_init(&m, TD_MSG_CERTIFICATE, false);
    td_certificate *ct = &m.u.cert;
    /* §4.4.2: the server's certificate_request_context is empty; the
     * end-entity certificate comes first. */
    if (h->cert->num_chain == 0 || h->cert->num_chain > TD_MAX_CERT_ENTRIES)
        TD_ABORT(c, TD_ERR_ARG, TD_RULE_NONE, 0, "server chain of %zu certificates",
                 h->cert->num_chain);
    for (size_t i = 0; i < h->cert->num_chain; i++)
        td_cbs_init(&ct->entries[i].cert_data, h->cert->chain[i].data, h->cert->chain[i].len);
    ct->num_entries = h->cert->num_chain;
    return send_built(c, &m);
}

td_err td_srv_send_certificate_verify(td_conn *c, const td_srv_hello *h)
{
    td_msg m;
    uint8_t content[200], sig[TD_MAX_SIG_LEN];
    size_t content_len, sig_len;
    td_drbg primed;
    td_drbg *drbg = &c->drbg;
    const td_inject *inj = inject(c);
    /* §4.4.3: the signature covers the server context string and
     * Transcript-Hash(ClientHello ... Certificate). */
    TD_CHECK(td_conn_cv_content(c, true, content, sizeof(content), &content_len));
    if (inj != NULL && inj->sig_random != NULL && inj->sig_random_len <= TD_DRBG_MAX_PRIME) {
        /* td_sign draws exactly the PSS salt / ECDSA nonce from it. */
        td_drbg_init_primed(&primed, inj->sig_random, inj->sig_random_len, "server/sig-inject");
        drbg = &primed;
    }
    td_err err = c->cfg->dummy_signatures
                     ? td_sign_dummy(h->cert->key, h->sigalg, sig, sizeof(sig), &sig_len)
                     : td_sign(c->crypto, h->cert->key, h->sigalg, drbg, content, content_len,
                               sig, sizeof(sig), &sig_len);
    if (drbg == &primed)
        td_drbg_cleanup(&primed);
    if (err != TD_OK)
        TD_ABORT(c, err, TD_RULE_NONE, 0, "cannot sign CertificateVerify with 0x%04x", h->sigalg);
    if (c->cfg->bugs.bad_signature && sig_len > 0)
        sig[sig_len - 1] ^= 0x01; /* CV-BAD-SIGNATURE */
    td_msg_init(&m, TD_MSG_CERTIFICATE_VERIFY, false);
    m.u.cv.algorithm = h->sigalg;
    td_cbs_init(&m.u.cv.signature, sig, sig_len);
    c->status.sigalg = h->sigalg;
    return send_built(c, &m);
}

td_err td_srv_send_finished(td_conn *c)
{
    td_msg m;
    uint8_t vd[TD_MAX_HASH_LEN];
    /* §4.4.4: verify_data = HMAC(finished_key(server_handshake_traffic_secret),
     * Transcript-Hash(ClientHello ... CertificateVerify)). */
    TD_CHECK(td_conn_finished(c, c->s_hs, vd));
    if (c->cfg->bugs.bad_finished)
        vd[0] ^= 0x80; /* FIN-BAD */
    td_msg_init(&m, TD_MSG_FINISHED, false);
    td_cbs_init(&m.u.fin.verify_data, vd, td_hash_len(c->suite->hash));
    td_err err = td_conn_send_msg(c, &m, NULL);
    td_cleanse(vd, sizeof(vd));
    return err;
}

/* One NewSessionTicket (§4.6.1). The first ticket's bytes, nonce and
 * age_add may be injected (trace replay). */
static td_err send_ticket(td_conn *c, uint32_t lifetime)
{
    td_msg m;
    uint8_t nonce[8], ticket[512];
    size_t nonce_len = sizeof(nonce), ticket_len = 0;
    td_srv_psk p;
    const td_inject *inj = c->tickets_sent == 0 ? inject(c) : NULL;
    memset(&p, 0, sizeof(p));
    /* §4.6.1: a nonce unique among this connection's tickets. */
    for (size_t i = 0; i < sizeof(nonce); i++)
        nonce[i] = (uint8_t)((uint64_t)c->tickets_sent >> (8 * (sizeof(nonce) - 1 - i)));
    const uint8_t *nonce_p = nonce;
    if (inj != NULL && inj->ticket_nonce != NULL) {
        nonce_p = inj->ticket_nonce;
        nonce_len = inj->ticket_nonce_len;
    }
    /* §4.6.1: ticket_age_add, a fresh random 32-bit value per ticket. */
    p.age_add =
        inj != NULL && inj->has_ticket_age_add ? inj->ticket_age_add : td_drbg_u32(&c->drbg);
    p.suite = c->suite->id;
    p.psk_len = td_hash_len(c->suite->hash);
    p.resumption = true;
    p.issued_ms = td_clock_now_ms(&c->clock);
    p.lifetime_s = lifetime;
    p.max_early_data = c->cfg->max_early_data;
    memcpy(p.alpn, c->status.alpn, sizeof(p.alpn));
    /* §4.6.1: PSK = HKDF-Expand-Label(resumption_master_secret, "resumption", ticket_nonce,
     * Hash.length). */
    TD_CHECK(
        td_keysched_resumption_psk(c->crypto, c->suite->hash, c->res_master, nonce_p, nonce_len, p.psk));
    const uint8_t *ticket_p = ticket;
    if (inj != NULL && inj->ticket != NULL) {
        ticket_p = inj->ticket;
        ticket_len = inj->ticket_len;
    } else {
        TD_CHECK(td_srv_seal_ticket(c, &p, ticket, sizeof(ticket), &ticket_len));
    }
    td_cleanse(p.psk, sizeof(p.psk));
    td_msg_init(&m, TD_MSG_NEW_SESSION_TICKET, false);
    td_new_session_ticket *nst = &m.u.nst;
    nst->ticket_lifetime = lifetime;
    nst->ticket_age_add = p.age_add;
    td_cbs_init(&nst->ticket_nonce, nonce_p, nonce_len);
    td_cbs_init(&nst->ticket, ticket_p, ticket_len);
    /* §4.2.10, §4.6.1: early_data with max_early_data_size if 0-RTT is allowed. */
    if (c->cfg->max_early_data > 0) {
        TD_CHECK(td_exts_add(&nst->exts, TD_EXT_EARLY_DATA, NULL));
        nst->ext.max_early_data_size = c->cfg->max_early_data;
    }
    c->tickets_sent++;
    return send_built(c, &m);
}

td_err td_srv_send_tickets(td_conn *c)
{
    /* §4.6.1: the lifetime is capped at 7 days; 0 in the config means the cap. */
    uint32_t lifetime = c->cfg->ticket_lifetime_s;
    if (lifetime == 0 || lifetime > TD_MAX_TICKET_LIFETIME_S)
        lifetime = TD_MAX_TICKET_LIFETIME_S;
    /* §4.2.9: tickets only for a client that announced PSK modes (Go:
     * "Don't send tickets the client wouldn't use"). */
    if (!c->tickets_wanted)
        return TD_OK;
    for (unsigned i = 0; i < c->cfg->num_tickets; i++)
        TD_CHECK(send_ticket(c, lifetime));
    return TD_OK;
}
