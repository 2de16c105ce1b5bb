/* engine/server.c -- the TLS 1.3 server state machine (RFC 8446 §2, §4,
 * Appendix A.2): one function per state, each setting the next state.
 *
 *   S_WAIT_CH -> (HRR) S_WAIT_CH2 -> [S_WAIT_EOED] -> [S_WAIT_CERT -> S_WAIT_CV]
 *             -> S_WAIT_FINISHED -> CONNECTED
 *
 * ClientHello negotiation lives here; the messages we send are built in
 * server_flight.c, PSKs, tickets and cookies in server_psk.c. Behaviour
 * follows the Go reference server where RFC 8446 allows it; each
 * deviation is noted at its check. A check marked (Snn) is the Go server
 * seed's alert site nn, listed with the cases that reach it in
 * scenarios/SEED-SITES.md. Every failed check names a catalogue
 * rule (TD_ABORT); the driver sends the alert. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cert_check.h"
#include "server_internal.h"

static bool has_ext(const td_client_hello *ch, uint16_t type)
{
    return td_exts_find_const(&ch->exts, type) != NULL;
}

static size_t ext_offset(const td_client_hello *ch, uint16_t type)
{
    const td_ext *e = td_exts_find_const(&ch->exts, type);
    return e != NULL ? e->offset : 0;
}

static bool psk_mode_offered(const td_client_hello *ch, uint8_t mode)
{
    for (size_t i = 0; i < ch->ext.num_psk_modes; i++)
        if (ch->ext.psk_modes[i] == mode)
            return true;
    return false;
}

/* ---- ClientHello checks that do not depend on our configuration ---- */

static td_err check_version(td_conn *c, const td_client_hello *ch)
{
    /* Appendix D.5: "Any endpoint receiving a Hello message with
     * ClientHello.legacy_version ... set to 0x0300 MUST abort the handshake
     * with a "protocol_version" alert". Values below it are older still:
     * their sender broke D.5's "MUST NOT send ... 0x0300 or less", and we
     * refuse them too (SV-LEGACY-BELOW-SSL3, binding only the sender). */
    if (ch->legacy_version == 0x0300)
        TD_ABORT(c, TD_ERR_PROTOCOL_VERSION, TD_RULE_SV_LEGACY_SSL3, 4,
                 "ClientHello.legacy_version 0x%04x", ch->legacy_version);
    if (ch->legacy_version < 0x0300)
        TD_ABORT(c, TD_ERR_PROTOCOL_VERSION, TD_RULE_SV_LEGACY_BELOW_SSL3, 4,
                 "ClientHello.legacy_version 0x%04x", ch->legacy_version);
    /* RFC 7507 §3 (RFC 8446 §6.2 inappropriate_fallback): "If
     * TLS_FALLBACK_SCSV appears in ClientHello.cipher_suites and the highest
     * protocol version supported by the server is higher than the version
     * indicated in ClientHello.client_version, the server MUST respond with
     * a fatal inappropriate_fallback alert". Our highest is TLS 1.3; the
     * client's is the highest of its supported_versions (legacy_version
     * without the extension), so a fallback that offers no TLS 1.3 is
     * refused before the version check would say protocol_version. */
    if (td_u16_in(ch->cipher_suites, ch->num_cipher_suites, TD_FALLBACK_SCSV)) {
        uint16_t client_max = ch->legacy_version;
        if (has_ext(ch, TD_EXT_SUPPORTED_VERSIONS)) {
            client_max = 0;
            for (size_t i = 0; i < ch->ext.num_versions; i++)
                if (ch->ext.versions[i] <= TD_VERSION_TLS13 && ch->ext.versions[i] > client_max)
                    client_max = ch->ext.versions[i];
        }
        if (client_max < TD_VERSION_TLS13)
            TD_ABORT(c, TD_ERR_FALLBACK, TD_RULE_CH_FALLBACK_SCSV, 0,
                     "TLS_FALLBACK_SCSV with the client at TLS 0x%04x, below our TLS 1.3",
                     client_max);
    }
    if (!has_ext(ch, TD_EXT_SUPPORTED_VERSIONS)) {
        /* §4.2.1: "Servers MAY abort the handshake upon receiving a
         * ClientHello with legacy_version 0x0304 or later" without
         * supported_versions (Go: illegal_parameter, S1; the catalogue:
         * protocol_version). */
        if (ch->legacy_version >= TD_VERSION_TLS13)
            TD_ABORT(c, TD_ERR_PROTOCOL_VERSION, TD_RULE_SV_ABSENT_LEGACY_13, 4,
                     "legacy_version 0x%04x without supported_versions", ch->legacy_version);
        /* Appendix D.2: "If the "supported_versions" extension is absent
         * and the server only supports versions greater than
         * ClientHello.legacy_version, the server MUST abort the handshake
         * with a "protocol_version" alert" (we support only TLS 1.3). */
        TD_ABORT(c, TD_ERR_PROTOCOL_VERSION, TD_RULE_SV_ABSENT_TOO_OLD, 4,
                 "no supported_versions: the client offers only TLS 0x%04x", ch->legacy_version);
    }
    /* §4.2.1: "Servers MUST only select a version of TLS present in that
     * extension and MUST ignore any unknown versions"; no common version:
     * §6.2 protocol_version ("recognized but not supported"). legacy_version
     * plays no part (TOL-CH-LEGACY-VERSION, TOL-UNKNOWN-VERSION). */
    if (!td_u16_in(ch->ext.versions, ch->ext.num_versions, TD_VERSION_TLS13))
        TD_ABORT(c, TD_ERR_PROTOCOL_VERSION, TD_RULE_SV_SERVER_NO_COMMON,
                 ext_offset(ch, TD_EXT_SUPPORTED_VERSIONS), "supported_versions lacks TLS 1.3");
    /* §4.1.2: "For every TLS 1.3 ClientHello, this vector MUST contain
     * exactly one byte, set to zero ... [else] abort the handshake with an
     * "illegal_parameter" alert." */
    if ((td_cbs_len(&ch->legacy_compression_methods) != 1 ||
         td_cbs_data(&ch->legacy_compression_methods)[0] != 0) &&
        !td_conn_plant_skips(c, TD_RULE_CH_COMPRESSION))
        TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_CH_COMPRESSION, 0,
                 "legacy_compression_methods is not exactly {null}");
    return TD_OK;
}

static td_err check_extensions(td_conn *c, const td_client_hello *ch)
{
    bool psk = has_ext(ch, TD_EXT_PRE_SHARED_KEY), sg = has_ext(ch, TD_EXT_SUPPORTED_GROUPS);
    bool ks = has_ext(ch, TD_EXT_KEY_SHARE), sa = has_ext(ch, TD_EXT_SIGNATURE_ALGORITHMS);
    /* §9.2: a TLS 1.3 ClientHello without pre_shared_key MUST carry
     * signature_algorithms and supported_groups; supported_groups and
     * key_share come together. Otherwise: missing_extension. */
    if (!psk && (!sa || !sg))
        TD_ABORT(c, TD_ERR_MISSING_EXT, TD_RULE_CH_MANDATORY_EXT, 0,
                 "no pre_shared_key and no %s", !sa ? "signature_algorithms" : "supported_groups");
    if (sg != ks)
        TD_ABORT(c, TD_ERR_MISSING_EXT, TD_RULE_CH_MANDATORY_EXT, 0, "%s without %s",
                 sg ? "supported_groups" : "key_share", sg ? "key_share" : "supported_groups");
    /* §4.2.9: "If clients offer "pre_shared_key" without a
     * "psk_key_exchange_modes" extension, servers MUST abort the handshake." */
    if (psk && !has_ext(ch, TD_EXT_PSK_KEY_EXCHANGE_MODES))
        TD_ABORT(c, TD_ERR_MISSING_EXT, TD_RULE_PSKM_MISSING,
                 ext_offset(ch, TD_EXT_PRE_SHARED_KEY),
                 "pre_shared_key without psk_key_exchange_modes");
    const td_ext_data *d = &ch->ext;
    for (size_t i = 0; i < d->num_key_shares; i++) {
        uint16_t g = d->key_shares[i].group;
        /* §4.2.8: "Clients MUST NOT offer multiple KeyShareEntry values for
         * the same group ... Servers MAY check for violations of these rules
         * and abort the handshake with an "illegal_parameter" alert". */
        for (size_t j = 0; j < i; j++)
            if (d->key_shares[j].group == g && !td_conn_plant_skips(c, TD_RULE_KS_DUPLICATE_GROUP))
                TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_KS_DUPLICATE_GROUP,
                         ext_offset(ch, TD_EXT_KEY_SHARE), "two key shares for group 0x%04x", g);
        /* §4.2.8: "Clients MUST NOT offer any KeyShareEntry values for
         * groups not listed in the client's "supported_groups" extension." */
        if (!td_u16_in(d->groups, d->num_groups, g) &&
            !td_conn_plant_skips(c, TD_RULE_KS_GROUP_NOT_IN_SUPPORTED))
            TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_KS_GROUP_NOT_IN_SUPPORTED,
                     ext_offset(ch, TD_EXT_KEY_SHARE),
                     "key share for 0x%04x not in supported_groups", g);
    }
    /* RFC 8446 ignores renegotiation_info in TLS 1.3; Go refuses a
     * non-empty one (S5, RFC 5746 policy, no catalogue rule): we ignore it.
     * Go also refuses early_data (S6); §4.2.10 lets us accept or skip it. */
    return TD_OK;
}

/* ---- negotiation ---- */

/* §4.1.1: the cipher suite, in server preference order (config order).
 * Unknown suites are ignored (TOL-UNKNOWN-CIPHER). */
static td_err choose_suite(td_conn *c, const td_client_hello *ch, td_srv_hello *h)
{
    size_t n;
    const uint16_t *ours = td_conn_suites(c, &n);
    for (size_t i = 0; i < n; i++) {
        const td_suite *s = td_suite_get(ours[i]);
        if (s != NULL && td_u16_in(ch->cipher_suites, ch->num_cipher_suites, ours[i])) {
            h->suite = s;
            return TD_OK;
        }
    }
    /* §4.1.1: "If the server is unable to negotiate a supported set of
     * parameters ... it MUST abort the handshake with either a
     * "handshake_failure" or "insufficient_security" fatal alert" (S7). */
    TD_ABORT(c, TD_ERR_HANDSHAKE_FAILURE, TD_RULE_GEN_NO_COMMON_PARAMS, 0,
             "no cipher suite in common");
    TD_SITE_PASSED();
}

/* Go's choice (S8): in server preference order, a group the client sent a
 * share for wins (no HelloRetryRequest round trip); otherwise the most
 * preferred mutually supported group is remembered for an HRR. */
static void choose_group(td_conn *c, const td_client_hello *ch, td_srv_hello *h)
{
    size_t n;
    const uint16_t *ours = td_conn_groups(c, &n);
    const td_ext_data *d = &ch->ext;
    for (size_t i = 0; i < n && h->share == NULL; i++) {
        if (!td_group_supported(ours[i]))
            continue;
        for (size_t j = 0; j < d->num_key_shares; j++)
            if (d->key_shares[j].group == ours[i]) {
                h->group = ours[i];
                h->share = &d->key_shares[j];
                break;
            }
    }
    for (size_t i = 0; i < n; i++) {
        bool has_share = false;
        for (size_t j = 0; j < d->num_key_shares; j++)
            has_share |= d->key_shares[j].group == ours[i];
        if (td_group_supported(ours[i]) && !has_share &&
            td_u16_in(d->groups, d->num_groups, ours[i])) {
            h->hrr_group = ours[i];
            break;
        }
    }
}

/* §4.4.2.2: "All certificates provided by the server MUST be signed by a
 * signature algorithm advertised by the client if it is able to provide such
 * a chain" -- in signature_algorithms_cert, else signature_algorithms
 * (§4.2.3: "If no "signature_algorithms_cert" extension is present, then
 * the "signature_algorithms" extension also applies to signatures
 * appearing in certificates"); self-signed certificates are exempt. */
static bool chain_signed_as_offered(const td_cert_key *ck, const td_client_hello *ch)
{
    bool has_cert_list = has_ext(ch, TD_EXT_SIGNATURE_ALGORITHMS_CERT);
    const uint16_t *list = has_cert_list ? ch->ext.sigalgs_cert : ch->ext.sigalgs;
    size_t n = has_cert_list ? ch->ext.num_sigalgs_cert : ch->ext.num_sigalgs;
    for (size_t i = 0; i < ck->num_chain; i++) {
        bool self_signed;
        uint16_t s = td_cert_signature_scheme(ck->chain[i].data, ck->chain[i].len, &self_signed);
        if (!self_signed && (s == 0 || !td_u16_in(list, n, s)))
            return false;
    }
    return true;
}

/* §4.4.2.2: a fallback chain "SHOULD NOT use the deprecated SHA-1 hash
 * algorithm in general, but MAY do so if the client's advertisement
 * permits it, and MUST NOT do so otherwise" (MD5 never). */
static bool chain_weak(const td_cert_key *ck)
{
    for (size_t i = 0; i < ck->num_chain; i++)
        if (td_cert_weak_signature(ck->chain[i].data, ck->chain[i].len) != TD_RULE_NONE)
            return true;
    return false;
}

/* The scheme |ck|'s key signs our CertificateVerify with: our preference,
 * offered by the client; 0 if none. */
static uint16_t cert_scheme(td_conn *c, const td_cert_key *ck, const td_client_hello *ch)
{
    size_t n;
    const uint16_t *ours = td_conn_sigalgs(c, &n);
    for (size_t i = 0; i < n; i++) {
        uint16_t s = ours[i];
        /* §4.4.3: never RSASSA-PKCS1-v1_5 or SHA-1 in CertificateVerify.
         * (A switch over our own list's values: one traced call, not five
         * traced compares per scheme.) */
        switch (s) {
        case TD_SIG_RSA_PKCS1_SHA256:
        case TD_SIG_RSA_PKCS1_SHA384:
        case TD_SIG_RSA_PKCS1_SHA512:
        case TD_SIG_RSA_PKCS1_SHA1:
        case TD_SIG_ECDSA_SHA1: continue;
        default: break;
        }
        if (td_u16_in(ch->ext.sigalgs, ch->ext.num_sigalgs, s) &&
            td_pkey_supports_scheme(ck->key, s))
            return s;
    }
    return 0;
}

/* §4.4.2.2, §4.2.3: "If the server has multiple certificates, it chooses one
 * of them based on the above-mentioned criteria": the certificates bound to
 * the client's server_name first, then those for any name; within each, the
 * first (in configuration order) whose key can sign with a scheme the client
 * offered and whose chain is signed as the client asked, else the first
 * whose key can sign (the fallback chain of §4.4.2.2; one signed with
 * MD5 or SHA-1 only when no other is configured). */
static td_err choose_certificate(td_conn *c, const td_client_hello *ch, td_srv_hello *h)
{
    const td_config *cfg = c->cfg;
    /* §4.2.3: "If a server is authenticating via a certificate and the
     * client has not sent a "signature_algorithms" extension, then the
     * server MUST abort the handshake with a "missing_extension" alert" (S15). */
    if (!has_ext(ch, TD_EXT_SIGNATURE_ALGORITHMS))
        TD_ABORT(c, TD_ERR_MISSING_EXT, TD_RULE_SIGALG_MISSING_CH, 0,
                 "certificate authentication without signature_algorithms");
    if (cfg->num_certs == 0)
        TD_ABORT(c, TD_ERR_ARG, TD_RULE_NONE, 0, "no server certificate configured");
    bool name_match = false;
    for (int pass = 0; pass < 2; pass++) {
        const td_cert_key *fallback = NULL, *weak = NULL;
        uint16_t fallback_scheme = 0, weak_scheme = 0;
        for (size_t k = 0; k < cfg->num_certs; k++) {
            const td_cert_key *ck = &cfg->certs[k];
            /* RFC 6066 §3: host names compare case-insensitively. */
            bool bound = ck->sni != NULL;
            if (pass == 0 ? !bound || !h->sni || strcasecmp(ck->sni, c->status.sni) != 0 : bound)
                continue;
            name_match = true;
            uint16_t s = cert_scheme(c, ck, ch);
            if (s == 0)
                continue;
            if (chain_signed_as_offered(ck, ch)) {
                h->cert = ck;
                h->sigalg = s;
                return TD_OK;
            }
            if (fallback == NULL && !chain_weak(ck)) {
                fallback = ck;
                fallback_scheme = s;
            } else if (weak == NULL && chain_weak(ck)) {
                weak = ck;
                weak_scheme = s;
            }
        }
        /* A weak chain only when the configuration leaves no other (a
         * test server sending one on purpose, CT-MD5 / CT-SHA1). */
        if (fallback == NULL && weak != NULL) {
            fallback = weak;
            fallback_scheme = weak_scheme;
        }
        if (fallback != NULL) {
            h->cert = fallback;
            h->sigalg = fallback_scheme;
            return TD_OK;
        }
    }
    /* §9.2: a server that requires SNI (here: every certificate is bound
     * to a name) SHOULD answer a ClientHello without it with missing_extension. */
    if (!name_match && !h->sni)
        TD_ABORT(c, TD_ERR_MISSING_EXT, TD_RULE_SNI_REQUIRED_MISSING, 0,
                 "no server_name and no certificate for an unnamed client");
    /* RFC 6066 §3 (§6.2 unrecognized_name): no certificate for the name.
     * Go sends unrecognized_name when it has no certificate at all (S16). */
    if (!name_match)
        TD_ABORT(c, TD_ERR_UNRECOGNIZED_NAME, TD_RULE_SNI_UNRECOGNIZED,
                 ext_offset(ch, TD_EXT_SERVER_NAME), "no certificate for server_name \"%s\"",
                 c->status.sni);
    /* §4.1.1, §4.4.2.2: no certificate can sign with an offered scheme:
     * handshake_failure (S18). */
    TD_ABORT(c, TD_ERR_HANDSHAKE_FAILURE, TD_RULE_SIGALG_NO_OVERLAP,
             ext_offset(ch, TD_EXT_SIGNATURE_ALGORITHMS),
             "no certificate fits the client's signature_algorithms");
    TD_SITE_PASSED();
}

/* RFC 7301 §3.2: the first of our protocols the client offered; none in
 * common: no_application_protocol (S25). Without a configured list the
 * extension is ignored. */
static td_err choose_alpn(td_conn *c, const td_client_hello *ch)
{
    const td_config *cfg = c->cfg;
    c->status.alpn[0] = 0;
    if (!has_ext(ch, TD_EXT_ALPN) || cfg->num_alpn == 0)
        return TD_OK;
    for (size_t i = 0; i < cfg->num_alpn; i++) {
        size_t len = strlen(cfg->alpn[i]);
        for (size_t j = 0; j < ch->ext.num_alpn; j++)
            if (td_cbs_mem_equal(&ch->ext.alpn[j], (const uint8_t *)cfg->alpn[i], len) &&
                len < sizeof(c->status.alpn)) {
                memcpy(c->status.alpn, cfg->alpn[i], len + 1);
                return TD_OK;
            }
    }
    TD_ABORT(c, TD_ERR_NO_APP_PROTOCOL, TD_RULE_ALPN_NO_OVERLAP, ext_offset(ch, TD_EXT_ALPN),
             "no ALPN protocol in common");
    TD_SITE_PASSED();
}

static void remember_sni(td_conn *c, const td_client_hello *ch, td_srv_hello *h)
{
    c->status.sni[0] = 0;
    for (size_t i = 0; i < ch->ext.num_server_names; i++) {
        const td_server_name *sn = &ch->ext.server_names[i];
        size_t len = td_cbs_len(&sn->name);
        if (sn->name_type == 0 && len < sizeof(c->status.sni)) {
            memcpy(c->status.sni, td_cbs_data(&sn->name), len);
            c->status.sni[len] = 0;
            h->sni = true;
            return;
        }
    }
}

/* §4.2.10: 0-RTT is accepted only with the first identity, the ticket's
 * suite and ALPN, a fresh ticket age, and without an HRR. */
static void decide_early_data(td_conn *c, const td_client_hello *ch, td_srv_hello *h)
{
    c->early_data_offered = has_ext(ch, TD_EXT_EARLY_DATA);
    if (!c->early_data_offered || !h->psk || c->hrr_done || !c->cfg->accept_early_data)
        return;
    if (h->psk_index != 0 || h->psk_data.max_early_data == 0 || h->psk_data.suite != h->suite->id ||
        strcmp(h->psk_data.alpn, c->status.alpn) != 0)
        return;
    /* TOL-TICKET-AGE: an age outside the tolerance keeps the PSK but
     * refuses 0-RTT. */
    if (!td_srv_ticket_age_ok(c, ch, h))
        return;
    h->early = true;
}

/* The negotiation of one ClientHello (the first, or the second after an
 * HRR). Fills |h|; sets h->share == NULL with h->group == 0 and a
 * h->hrr_group when only an HRR can go on. */
static td_err negotiate(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len,
                        td_srv_hello *h)
{
    const td_client_hello *ch = &msg->u.ch;
    memset(h, 0, sizeof(*h));
    TD_CHECK(check_version(c, ch));
    TD_CHECK(check_extensions(c, ch));
    TD_CHECK(choose_suite(c, ch, h));
    TD_CHECK(td_conn_set_suite(c, h->suite));
    remember_sni(c, ch, h);
    c->tickets_wanted = has_ext(ch, TD_EXT_PSK_KEY_EXCHANGE_MODES);
    /* §4.2.6: the client is willing to authenticate after the handshake. */
    c->status.post_handshake_auth = has_ext(ch, TD_EXT_POST_HANDSHAKE_AUTH);
    choose_group(c, ch, h);
    if (has_ext(ch, TD_EXT_PRE_SHARED_KEY))
        TD_CHECK(td_srv_choose_psk(c, msg, raw, raw_len, h));
    if (h->psk) {
        /* §4.2.9: psk_dhe_ke when a group is possible, else psk_ke. */
        bool dhe =
            psk_mode_offered(ch, TD_PSK_MODE_DHE_KE) && (h->share != NULL || h->hrr_group != 0);
        if (dhe)
            h->psk_dhe = true;
        else if (psk_mode_offered(ch, TD_PSK_MODE_KE))
            h->psk_dhe = false;
        else
            h->psk = false; /* no usable mode: a full handshake (TOL-UNKNOWN-PSK) */
    }
    bool need_dhe = !h->psk || h->psk_dhe;
    /* §4.2.11, §6.2: PSK key establishment was the only way (the client
     * sent no key_share) and no identity is acceptable: unknown_psk_identity.
     * With a key share we fall back to a full handshake (TOL-UNKNOWN-PSK). */
    if (has_ext(ch, TD_EXT_PRE_SHARED_KEY) && !h->psk && !has_ext(ch, TD_EXT_KEY_SHARE))
        TD_ABORT(c, TD_ERR_DECRYPT, TD_RULE_PSK_UNKNOWN_IDENTITY,
                 ext_offset(ch, TD_EXT_PRE_SHARED_KEY),
                 "no acceptable PSK identity and no key share for a full handshake");
    if (!need_dhe) {
        h->group = 0;
        h->share = NULL;
        h->hrr_group = 0;
    }
    /* §4.1.1: no PSK (or psk_dhe_ke) and no group in common:
     * handshake_failure (S8). With psk_ke disjoint groups are fine. */
    if (need_dhe && h->share == NULL && h->hrr_group == 0)
        TD_ABORT(c, TD_ERR_HANDSHAKE_FAILURE, TD_RULE_SG_NO_OVERLAP,
                 ext_offset(ch, TD_EXT_SUPPORTED_GROUPS), "no (EC)DHE group in common");
    TD_CHECK(choose_alpn(c, ch));
    return TD_OK;
}

/* ---- the full server flight after the (last) ClientHello ---- */

static td_err derive_handshake_keys(td_conn *c, const uint8_t *ecdhe, size_t ecdhe_len)
{
    uint8_t hash[TD_MAX_HASH_LEN];
    TD_CHECK(td_keysched_handshake(&c->ks, ecdhe, ecdhe_len));
    TD_CHECK(td_transcript_peek(&c->transcript, hash, NULL));
    TD_CHECK(td_keysched_derive(&c->ks, TD_KEYSCHED_C_HS_TRAFFIC, hash, c->c_hs));
    TD_CHECK(td_keysched_derive(&c->ks, TD_KEYSCHED_S_HS_TRAFFIC, hash, c->s_hs));
    td_conn_keylog(c, TD_KEYLOG_CLIENT_HANDSHAKE_TRAFFIC_SECRET, c->c_hs);
    td_conn_keylog(c, TD_KEYLOG_SERVER_HANDSHAKE_TRAFFIC_SECRET, c->s_hs);
    return TD_OK;
}

static td_err derive_application_keys(td_conn *c)
{
    uint8_t hash[TD_MAX_HASH_LEN];
    TD_CHECK(td_keysched_master(&c->ks));
    TD_CHECK(td_transcript_peek(&c->transcript, hash, NULL));
    TD_CHECK(td_keysched_derive(&c->ks, TD_KEYSCHED_C_AP_TRAFFIC, hash, c->c_ap));
    TD_CHECK(td_keysched_derive(&c->ks, TD_KEYSCHED_S_AP_TRAFFIC, hash, c->s_ap));
    TD_CHECK(td_keysched_derive(&c->ks, TD_KEYSCHED_EXPORTER, hash, c->exporter));
    td_conn_keylog(c, TD_KEYLOG_CLIENT_TRAFFIC_SECRET_0, c->c_ap);
    td_conn_keylog(c, TD_KEYLOG_SERVER_TRAFFIC_SECRET_0, c->s_ap);
    td_conn_keylog(c, TD_KEYLOG_EXPORTER_SECRET, c->exporter);
    return TD_OK;
}

/* Our ephemeral key for |group| (injected for trace replays) and the shared secret. */
static td_err key_exchange(td_conn *c, const td_srv_hello *h, uint8_t *pub, size_t *pub_len,
                           uint8_t *secret, size_t *secret_len)
{
    const td_inject *inj = c->cfg->inject;
    td_kex *kex = NULL;
    if (inj != NULL && inj->num_share_private > 0 && inj->share_private != NULL)
        TD_CHECK(td_kex_from_private(c->crypto, h->group, inj->share_private[0],
                                     inj->share_private_len[0], &kex));
    else
        TD_CHECK(td_kex_generate(c->crypto, h->group, &c->drbg, &kex));
    for (size_t i = 0; i < c->num_shares; i++)
        td_kex_free(c->shares[i]);
    c->shares[0] = kex;
    c->num_shares = 1;
    TD_CHECK(td_kex_public(kex, pub, TD_MAX_SHARE_LEN, pub_len));
    /* §4.2.8.2, §7.4: the client's share is validated by td_kex_derive
     * (KS-BAD-LENGTH, KS-EC-INVALID-POINT, KS-X-ZERO-SECRET: S11). */
    return td_kex_derive(kex, td_cbs_data(&h->share->key_exchange),
                         td_cbs_len(&h->share->key_exchange), secret, TD_MAX_ECDH_LEN, secret_len,
                         &c->status.diag);
}

static td_err server_flight(td_conn *c, const td_client_hello *ch, const uint8_t *raw,
                            size_t raw_len, td_srv_hello *h)
{
    uint8_t pub[TD_MAX_SHARE_LEN], ecdhe[TD_MAX_ECDH_LEN], hash[TD_MAX_HASH_LEN];
    size_t pub_len = 0, ecdhe_len = 0;
    td_err ret = TD_OK;
    if (!h->psk)
        TD_CHECK(choose_certificate(c, ch, h));
    decide_early_data(c, ch, h);
    TD_CHECK(td_keysched_early(&c->ks, h->psk ? h->psk_data.psk : NULL,
                               h->psk ? h->psk_data.psk_len : 0));
    TD_CHECK(td_conn_transcript_add(c, raw, raw_len));
    if (h->early) {
        /* §7.1: client_early_traffic_secret over the ClientHello. */
        uint8_t eexp[TD_MAX_HASH_LEN];
        TD_CHECK(td_transcript_peek(&c->transcript, hash, NULL));
        TD_CHECK(td_keysched_derive(&c->ks, TD_KEYSCHED_C_EARLY_TRAFFIC, hash, c->c_early));
        TD_CHECK(td_keysched_derive(&c->ks, TD_KEYSCHED_EARLY_EXPORTER, hash, eexp));
        td_conn_keylog(c, TD_KEYLOG_CLIENT_EARLY_TRAFFIC_SECRET, c->c_early);
        td_conn_keylog(c, TD_KEYLOG_EARLY_EXPORTER_SECRET, eexp);
        td_cleanse(eexp, sizeof(eexp));
    }
    if (h->group != 0)
        TD_GUARD(key_exchange(c, h, pub, &pub_len, ecdhe, &ecdhe_len));
    c->psk_accepted = h->psk;
    c->psk_dhe = h->psk_dhe;
    c->psk_index = h->psk_index;
    c->our_cert = h->cert;
    TD_GUARD(td_srv_send_server_hello(c, ch, h, pub, pub_len));
    TD_GUARD(derive_handshake_keys(c, h->group != 0 ? ecdhe : NULL, ecdhe_len));
    /* Appendix D.4: in compatibility mode (a non-empty legacy_session_id)
     * the server sends one dummy change_cipher_spec right after its first
     * flight's ServerHello or HelloRetryRequest. */
    if (td_cbs_len(&ch->legacy_session_id) > 0 && !c->ccs_sent)
        TD_GUARD(td_conn_send_ccs(c));
    /* §7.3, §2: everything after the ServerHello under server handshake keys. */
    TD_GUARD(td_conn_set_write_keys(c, c->s_hs));
    TD_GUARD(td_srv_send_encrypted_extensions(c, ch, h));
    if (!h->psk) {
        c->cert_requested = c->cfg->client_auth != TD_CLIENT_AUTH_NONE;
        if (c->cert_requested)
            TD_GUARD(td_srv_send_certificate_request(c));
        TD_GUARD(td_srv_send_certificate(c, h));
        TD_GUARD(td_srv_send_certificate_verify(c, h));
    }
    TD_GUARD(td_srv_send_finished(c));
    TD_GUARD(derive_application_keys(c));
    TD_GUARD(td_conn_set_write_keys(c, c->s_ap));
    c->status.version = TD_VERSION_TLS13;
    c->status.group = h->group;
    c->status.sigalg = h->psk ? 0 : h->sigalg;
    c->status.resumed = h->psk;
    c->status.early_data_accepted = h->early;
    if (h->early) {
        /* §4.2.10: 0-RTT is read under client_early_traffic_secret until EndOfEarlyData. */
        c->early_data_max = h->psk_data.max_early_data;
        c->read_early = true;
        TD_GUARD(td_conn_set_read_keys(c, c->c_early));
        c->state = TD_HS_S_WAIT_EOED;
    } else {
        /* §4.2.10: rejected 0-RTT is skipped up to max_early_data_size
         * (TOL-EARLY-DATA-REJECT); the driver drops records that fail to
         * decrypt under the handshake keys. */
        uint32_t max = h->psk && h->psk_data.max_early_data ? h->psk_data.max_early_data
                                                            : c->cfg->max_early_data;
        if (c->early_data_offered && !c->hrr_done)
            c->early_data_skip_left = max ? max : TD_REC_MAX_CIPHERTEXT;
        TD_GUARD(td_conn_set_read_keys(c, c->c_hs));
        c->state = c->cert_requested ? TD_HS_S_WAIT_CERT : TD_HS_S_WAIT_FINISHED;
    }
out:
    td_cleanse(ecdhe, sizeof(ecdhe));
    return ret;
}

/* §4.1.4: the HelloRetryRequest path. ClientHello1 is replaced by its
 * message_hash in the transcript (§4.4.1) before the HRR is added. */
static td_err hello_retry(td_conn *c, const uint8_t *raw, size_t raw_len, td_srv_hello *h)
{
    TD_CHECK(td_conn_transcript_add(c, raw, raw_len));
    TD_CHECK(td_transcript_hrr_replace(&c->transcript));
    /* Keep ClientHello1 for the CH2 checks (views point into our copy). */
    free(c->ch1_bytes);
    c->ch1_bytes = malloc(raw_len);
    if (c->ch1_bytes == NULL)
        return TD_ERR_NOMEM;
    memcpy(c->ch1_bytes, raw, raw_len);
    c->ch1_len = raw_len;
    td_msg_ctx ctx = {.hash_len = td_hash_len(c->suite->hash), .sh_mode = TD_SH_AUTO};
    td_msg_cleanup(&c->ch1);
    TD_CHECK(td_msg_parse_handshake(c->ch1_bytes, c->ch1_len, &ctx, &c->ch1, &c->status.diag));
    c->hrr_suite = h->suite->id;
    c->hrr_done = true;
    c->status.hrr = true;
    TD_CHECK(td_srv_send_hrr(c, &c->ch1.u.ch, h));
    /* Appendix D.4: the dummy CCS goes right after the HRR in compat mode. */
    if (td_cbs_len(&c->ch1.u.ch.legacy_session_id) > 0 && !c->ccs_sent)
        TD_CHECK(td_conn_send_ccs(c));
    /* §4.2.10: early data of the first flight is skipped after an HRR
     * (the driver drops application_data records in S_WAIT_CH2). */
    uint32_t max =
        h->psk && h->psk_data.max_early_data ? h->psk_data.max_early_data : c->cfg->max_early_data;
    if (has_ext(&c->ch1.u.ch, TD_EXT_EARLY_DATA))
        c->early_data_skip_left = max ? max : TD_REC_MAX_CIPHERTEXT;
    c->state = TD_HS_S_WAIT_CH2;
    return TD_OK;
}

/* ---- S_WAIT_CH ---- */

td_err td_server_do_wait_ch(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len)
{
    td_srv_hello h;
    const td_client_hello *ch = &msg->u.ch;
    memcpy(c->client_random, ch->random, TD_RANDOM_LEN);
    c->session_id_len = td_cbs_len(&ch->legacy_session_id) <= sizeof(c->session_id)
                            ? td_cbs_len(&ch->legacy_session_id)
                            : 0;
    memcpy(c->session_id, td_cbs_data(&ch->legacy_session_id), c->session_id_len);
    TD_CHECK(negotiate(c, msg, raw, raw_len, &h));
    bool need_dhe = !h.psk || h.psk_dhe;
    /* §4.1.1: with no certificate and scheme to authenticate with there is
     * no set of parameters to negotiate: abort now, not after an HRR the
     * second ClientHello cannot repair (it may not change them, §4.1.2). */
    if (!h.psk)
        TD_CHECK(choose_certificate(c, ch, &h));
    /* §4.1.4: an HRR when no usable share was sent, or always on demand. */
    if ((need_dhe && h.share == NULL) || c->cfg->hrr == TD_HRR_ALWAYS) {
        /* On demand with every mutual group already shared, the HRR
         * carries only a cookie (td_srv_send_hrr), else it would change
         * nothing (HRR-NO-CHANGE). */
        return hello_retry(c, raw, raw_len, &h);
    }
    return server_flight(c, ch, raw, raw_len, &h);
}

/* ---- S_WAIT_CH2 ---- */

static bool same_cbs(const td_cbs *a, const td_cbs *b)
{
    return td_cbs_len(a) == td_cbs_len(b) &&
           (td_cbs_len(a) == 0 || memcmp(td_cbs_data(a), td_cbs_data(b), td_cbs_len(a)) == 0);
}

/* §4.1.2: the second ClientHello is the first with only these edits: the
 * key_share (after an HRR key_share), early_data removed, a cookie added,
 * pre_shared_key updated (identities may be dropped, ages and binders
 * change), padding changed. Go's illegalClientHelloChange is the model. */
static td_err check_ch2_conformant(td_conn *c, const td_client_hello *ch2)
{
    const td_client_hello *ch1 = &c->ch1.u.ch;
    const char *what = NULL;
    if (ch2->legacy_version != ch1->legacy_version)
        what = "legacy_version";
    else if (memcmp(ch2->random, ch1->random, TD_RANDOM_LEN) != 0)
        what = "random";
    else if (!same_cbs(&ch2->legacy_session_id, &ch1->legacy_session_id))
        what = "legacy_session_id";
    else if (ch2->num_cipher_suites != ch1->num_cipher_suites ||
             memcmp(ch2->cipher_suites, ch1->cipher_suites,
                    ch1->num_cipher_suites * sizeof(uint16_t)) != 0)
        what = "cipher_suites";
    else if (!same_cbs(&ch2->legacy_compression_methods, &ch1->legacy_compression_methods))
        what = "legacy_compression_methods";
    for (size_t i = 0; what == NULL && i < ch1->exts.num; i++) {
        const td_ext *e1 = &ch1->exts.list[i];
        if ((e1->type == TD_EXT_KEY_SHARE && c->hrr_group != 0) || e1->type == TD_EXT_EARLY_DATA ||
            e1->type == TD_EXT_PADDING || e1->type == TD_EXT_PRE_SHARED_KEY ||
            e1->type == TD_EXT_COOKIE)
            continue;
        const td_ext *e2 = td_exts_find_const(&ch2->exts, e1->type);
        if (e2 == NULL || !same_cbs(&e1->body, &e2->body))
            what = td_ext_type_name(e1->type);
    }
    for (size_t i = 0; what == NULL && i < ch2->exts.num; i++) {
        uint16_t t = ch2->exts.list[i].type;
        /* A cookie may be added only to answer ours. */
        if ((t == TD_EXT_COOKIE && c->hrr_cookie_len > 0) || t == TD_EXT_PADDING)
            continue;
        if (td_exts_find_const(&ch1->exts, t) == NULL)
            what = td_ext_type_name(t);
    }
    /* Identities may only be dropped (those incompatible with the HRR's suite). */
    for (size_t i = 0; what == NULL && i < ch2->ext.num_psk_identities; i++) {
        bool found = false;
        for (size_t j = 0; j < ch1->ext.num_psk_identities; j++)
            found |= same_cbs(&ch2->ext.psk_identities[i].identity,
                              &ch1->ext.psk_identities[j].identity);
        if (!found)
            what = "pre_shared_key identities";
    }
    /* §4.1.2 (sender MUST): abort with illegal_parameter (S22). */
    if (what != NULL)
        TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_CH2_NOT_CONFORMANT, 0,
                 "second ClientHello changed %s", what);
    return TD_OK;
}

static td_err check_ch2(td_conn *c, const td_client_hello *ch2)
{
    const td_ext_data *d = &ch2->ext;
    /* §4.1.2, §4.2.8: after an HRR with key_share, "exactly one
     * KeyShareEntry" for the selected group (S20). */
    if (c->hrr_group != 0 && (d->num_key_shares != 1 || d->key_shares[0].group != c->hrr_group))
        TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_CH2_KEYSHARE,
                 ext_offset(ch2, TD_EXT_KEY_SHARE),
                 "second ClientHello key_share is not one share for group 0x%04x", c->hrr_group);
    /* §4.1.2, §4.2.10: early_data MUST be removed after an HRR (S21). */
    if (has_ext(ch2, TD_EXT_EARLY_DATA))
        TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_CH2_EARLY_DATA,
                 ext_offset(ch2, TD_EXT_EARLY_DATA), "early_data in the second ClientHello");
    if (c->hrr_cookie_len > 0) {
        const td_ext *ce = td_exts_find_const(&ch2->exts, TD_EXT_COOKIE);
        uint8_t h1[TD_MAX_HASH_LEN];
        bool ok = ce != NULL && td_cbs_mem_equal(&d->cookie, c->hrr_cookie, c->hrr_cookie_len);
        bool injected = c->cfg->inject != NULL && c->cfg->inject->hrr_cookie != NULL;
        if (ok && !injected) {
            TD_CHECK(td_hash(c->crypto, c->suite->hash, c->ch1_bytes, c->ch1_len, h1));
            ok = td_srv_cookie_ok(c, td_cbs_data(&d->cookie), td_cbs_len(&d->cookie), h1,
                                  td_hash_len(c->suite->hash));
        }
        /* §4.2.2: "the client MUST copy the contents of the extension
         * received in the HelloRetryRequest into a "cookie" extension in
         * the new ClientHello" (COOKIE-CH2-MISMATCH, illegal_parameter). */
        if (!ok)
            TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_COOKIE_CH2_MISMATCH,
                     ce != NULL ? ce->offset : 0, "second ClientHello %s our cookie",
                     ce != NULL ? "does not echo" : "lacks");
    }
    return check_ch2_conformant(c, ch2);
}

td_err td_server_do_wait_ch2(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len)
{
    td_srv_hello h;
    /* RFC 8446 §4.2.10: after an HRR the server skips the rejected 0-RTT
     * records that precede ClientHello2 ("the client MUST NOT include the
     * early_data extension in its followup ClientHello"); from ClientHello2
     * on, a record that does not deprotect is bad_record_mac (§5.2), not
     * more early data to skip. */
    c->early_data_skip_left = 0;
    const td_client_hello *ch = &msg->u.ch;
    TD_CHECK(check_ch2(c, ch));
    TD_CHECK(negotiate(c, msg, raw, raw_len, &h));
    if (c->cfg->bugs.second_hrr) {
        /* Misbehaviour (bugs.def second_hrr): a second HRR (HRR-SECOND). */
        TD_CHECK(td_conn_transcript_add(c, raw, raw_len));
        TD_CHECK(td_srv_send_hrr(c, ch, &h));
        c->state = TD_HS_S_WAIT_CH2;
        return TD_OK;
    }
    if (h.share == NULL && (!h.psk || h.psk_dhe))
        TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_CH2_KEYSHARE,
                 ext_offset(ch, TD_EXT_KEY_SHARE), "second ClientHello has no usable key share");
    /* §4.1.4: the suite of the ServerHello is the HRR's: check_ch2_conformant
     * refused a changed cipher_suites list, and choose_suite is a function
     * of that list and our configuration alone. */
    return server_flight(c, ch, raw, raw_len, &h);
}

/* ---- S_WAIT_EOED ---- */

td_err td_server_do_wait_eoed(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len)
{
    (void)msg;
    TD_CHECK(td_conn_transcript_add(c, raw, raw_len));
    /* §4.5: then the client's handshake traffic keys. */
    c->read_early = false;
    TD_CHECK(td_conn_set_read_keys(c, c->c_hs));
    c->state = TD_HS_S_WAIT_FINISHED; /* 0-RTT means a PSK: no client certificate */
    return TD_OK;
}

/* ---- S_WAIT_CERT, S_WAIT_CV ---- */

/* The client's Certificate, in the handshake (|pha| false) or answering a
 * post-handshake CertificateRequest whose context c->cr_context holds. */
static td_err receive_client_cert(td_conn *c, const td_msg *msg, const uint8_t *raw,
                                  size_t raw_len, bool pha)
{
    const td_config *cfg = c->cfg;
    const td_certificate *ct = &msg->u.cert;
    td_client_auth policy = pha ? cfg->post_handshake_auth : cfg->client_auth;
    /* §4.4.2: certificate_request_context echoes the CertificateRequest's (empty). */
    if (!td_cbs_mem_equal(&ct->context, c->cr_context, c->cr_context_len))
        TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_CT_CONTEXT, 4,
                 "certificate_request_context does not echo ours");
    /* §4.4.2: client CertificateEntry extensions must answer the
     * CertificateRequest's; ours asks for none. */
    for (size_t i = 0; i < ct->num_entries; i++)
        if (td_cbs_len(&ct->entries[i].extensions) > 0)
            TD_ABORT(c, TD_ERR_UNSUPPORTED_EXT, TD_RULE_CT_EXT_UNSOLICITED, ct->entries[i].offset,
                     "certificate entry %zu carries extensions we did not request", i);
    TD_CHECK(td_conn_transcript_add(c, raw, raw_len));
    if (ct->num_entries == 0) {
        /* §4.4.2.4: an empty client Certificate: the server MAY abort with
         * certificate_required, or go on without client authentication. */
        if (policy == TD_CLIENT_AUTH_REQUIRE)
            TD_ABORT(c, TD_ERR_CERT_REQUIRED, TD_RULE_CT_CLIENT_EMPTY, 4,
                     "empty client Certificate%s", pha ? " after the handshake" : "");
        c->peer_cert_empty = true;
        c->state = pha ? TD_HS_S_WAIT_PHA_FINISHED : TD_HS_S_WAIT_FINISHED;
        return TD_OK;
    }
    td_der *chain = td_conn_chain_scratch(c, ct->num_entries);
    if (chain == NULL)
        return TD_ERR_NOMEM;
    for (size_t i = 0; i < ct->num_entries; i++) {
        chain[i].data = (uint8_t *)td_cbs_data(&ct->entries[i].cert_data);
        chain[i].len = td_cbs_len(&ct->entries[i].cert_data);
    }
    td_pkey_free(c->peer_key);
    c->peer_key = NULL;
    /* The chain check and the end-entity key in one pass (each certificate
     * read once); its verdict is reported below, in the order of the checks. */
    td_err verr = TD_ERR_DECRYPT;
    td_diag d;
    td_diag_clear(&d);
    /* Fuzzer mode, a peer that is this engine: no chain check (conn.h). */
    bool no_verify = cfg->no_verify || cfg->fuzzer_mode || cfg->peer_is_self;
    if (!no_verify && cfg->trust_anchor != NULL) {
        verr = td_chain_verify_leaf(c->crypto, chain, ct->num_entries, cfg->trust_anchor,
                                    cfg->trust_anchor_len, &c->peer_key, &d);
        if (verr == TD_ERR_NOMEM)
            return verr;
    }
    /* §4.4.2.4, §6.2: an unusable client certificate: bad_certificate. */
    if (c->peer_key == NULL &&
        td_pkey_from_cert_der(c->crypto, chain[0].data, chain[0].len, &c->peer_key) != TD_OK)
        TD_ABORT(c, TD_ERR_BAD_CERTIFICATE, TD_RULE_CT_CLIENT_CHAIN_UNACCEPTABLE, ct->entries[0].offset,
                 "client end-entity certificate does not parse");
    if (!no_verify) {
        for (size_t i = 0; i < ct->num_entries; i++) {
            bool anchor = cfg->trust_anchor != NULL && chain[i].len == cfg->trust_anchor_len &&
                          memcmp(chain[i].data, cfg->trust_anchor, chain[i].len) == 0;
            td_rule weak =
                anchor ? TD_RULE_NONE : td_cert_weak_signature(chain[i].data, chain[i].len);
            /* §4.4.2.4: "Any endpoint receiving any certificate which it
             * would need to validate using any signature algorithm using an
             * MD5 hash MUST abort the handshake with a "bad_certificate"
             * alert"; for SHA-1 that is RECOMMENDED. Self-signed
             * certificates and trust anchors are exempt. */
            if (weak != TD_RULE_NONE)
                TD_ABORT(c, TD_ERR_BAD_CERTIFICATE, weak, ct->entries[i].offset,
                         "client certificate %zu is signed with %s", i,
                         weak == TD_RULE_CT_MD5 ? "MD5" : "SHA-1");
        }
        /* §4.4.2.4: a chain we cannot accept (untrusted CA, bad signature). */
        if (cfg->trust_anchor == NULL || verr != TD_OK)
            TD_ABORT(c, TD_ERR_BAD_CERTIFICATE, TD_RULE_CT_CLIENT_CHAIN_UNACCEPTABLE, 4,
                     "client certificate chain not accepted%s",
                     cfg->trust_anchor == NULL ? " (no trust anchor)" : "");
    }
    c->peer_cert_empty = false;
    c->state = pha ? TD_HS_S_WAIT_PHA_CV : TD_HS_S_WAIT_CV;
    return TD_OK;
}

td_err td_server_do_wait_cert(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len)
{
    return receive_client_cert(c, msg, raw, raw_len, false);
}

static bool offered_sigalg(td_conn *c, uint16_t scheme)
{
    size_t n;
    const uint16_t *ours = td_conn_sigalgs(c, &n);
    return td_u16_in(ours, n, scheme);
}

td_err td_server_do_wait_cv(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len)
{
    uint16_t scheme = msg->u.cv.algorithm;
    /* §4.4.3: the scheme MUST be one of the CertificateRequest's
     * signature_algorithms (S35). */
    if (!offered_sigalg(c, scheme))
        TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_CV_SCHEME_NOT_OFFERED, 4,
                 "client CertificateVerify scheme 0x%04x was not offered", scheme);
    /* §4.4.3: "RSA signatures MUST use an RSASSA-PSS algorithm" (S37). */
    if (scheme == TD_SIG_RSA_PKCS1_SHA256 || scheme == TD_SIG_RSA_PKCS1_SHA384 ||
        scheme == TD_SIG_RSA_PKCS1_SHA512)
        TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_CV_RSA_PKCS1, 4,
                 "PKCS#1 v1.5 CertificateVerify 0x%04x", scheme);
    /* §4.4.3: SHA-1 schemes MUST NOT be used in CertificateVerify (S37). */
    if (scheme == TD_SIG_RSA_PKCS1_SHA1 || scheme == TD_SIG_ECDSA_SHA1)
        TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_CV_SHA1, 4, "SHA-1 CertificateVerify 0x%04x",
                 scheme);
    /* §4.2.3, §4.4.3: the scheme must fit the end-entity key. */
    if (!td_pkey_supports_scheme(c->peer_key, scheme))
        TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_CV_KEY_MISMATCH, 4,
                 "scheme 0x%04x does not fit the client certificate's key", scheme);
    uint8_t content[200];
    size_t content_len;
    TD_CHECK(td_conn_cv_content(c, false, content, sizeof(content), &content_len));
    /* Fuzzer mode, a peer that is this engine: not checked (conn.h). */
    td_err err = c->cfg->fuzzer_mode || c->cfg->peer_is_self
                     ? TD_OK
                                     : td_verify(c->crypto, c->peer_key, scheme, content,
                                                 content_len, td_cbs_data(&msg->u.cv.signature),
                                                 td_cbs_len(&msg->u.cv.signature));
    if (err == TD_ERR_NOMEM)
        return err;
    /* §4.4.3: a signature that does not verify: decrypt_error (S38). */
    if (err != TD_OK)
        TD_ABORT(c, TD_ERR_DECRYPT, TD_RULE_CV_BAD_SIGNATURE, 6,
                 "client CertificateVerify does not verify");
    TD_CHECK(td_conn_transcript_add(c, raw, raw_len));
    c->status.client_sigalg = scheme;
    c->status.client_authenticated = true;
    /* The state takes the same CertificateVerify in the handshake and after it. */
    c->state = c->state == TD_HS_S_WAIT_PHA_CV ? TD_HS_S_WAIT_PHA_FINISHED : TD_HS_S_WAIT_FINISHED;
    return TD_OK;
}

/* ---- S_WAIT_FINISHED ---- */

td_err td_server_do_wait_finished(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len)
{
    uint8_t expect[TD_MAX_HASH_LEN], hash[TD_MAX_HASH_LEN];
    size_t hash_len = td_hash_len(c->suite->hash);
    TD_CHECK(td_conn_finished(c, c->c_hs, expect));
    /* §4.4.4: "Recipients of Finished messages MUST verify that the
     * contents are correct and if incorrect MUST terminate the connection
     * with a "decrypt_error" alert" (S40). Constant time. */
    bool ok = td_cbs_len(&msg->u.fin.verify_data) == hash_len &&
              td_ct_equal(td_cbs_data(&msg->u.fin.verify_data), expect, hash_len);
    td_cleanse(expect, sizeof(expect));
    /* Fuzzer mode: verify_data is not checked (conn.h). */
    if (!ok && !c->cfg->fuzzer_mode)
        TD_ABORT(c, TD_ERR_DECRYPT, TD_RULE_FIN_BAD, 4, "client Finished does not verify");
    TD_CHECK(td_conn_transcript_add(c, raw, raw_len));
    /* §7.3: client application traffic keys after its Finished. */
    TD_CHECK(td_conn_set_read_keys(c, c->c_ap));
    c->peer_finished = true;
    /* §7.1: resumption_master_secret over ClientHello...client Finished. */
    TD_CHECK(td_transcript_peek(&c->transcript, hash, NULL));
    TD_CHECK(td_keysched_derive(&c->ks, TD_KEYSCHED_RES_MASTER, hash, c->res_master));
    c->state = TD_HS_CONNECTED;
    c->status.phase = TD_PHASE_CONNECTED;
    c->status.completed = true;
    /* §4.4: a later authentication's Handshake Context starts here (our
     * tickets, which td_conn_send_msg also hashes, are not part of it). */
    if (c->status.post_handshake_auth)
        TD_CHECK(td_conn_keep_pha_base(c));
    TD_CHECK(td_srv_send_tickets(c));
    /* §4.6.2: "a server MAY request client authentication at any time
     * after the handshake has completed by sending a CertificateRequest
     * message" -- only to a client that sent post_handshake_auth. */
    if (c->status.post_handshake_auth && c->cfg->post_handshake_auth != TD_CLIENT_AUTH_NONE)
        TD_CHECK(td_srv_request_client_auth(c));
    return TD_OK;
}

/* ---- post-handshake client authentication (§4.6.2) ---- */

td_err td_srv_request_client_auth(td_conn *c)
{
    struct td_pha_request *req = &c->pha_pending[c->num_pha_pending];
    /* §4.3.2: "The certificate_request_context MUST be unique within the
     * scope of this connection": a counter, behind 4 random bytes. */
    uint32_t n = ++c->pha_requests;
    td_conn_random(c, req->context, 4);
    for (int i = 0; i < 4; i++)
        req->context[4 + i] = (uint8_t)(n >> (24 - 8 * i));
    /* §4.4: the Handshake Context is ClientHello ... client Finished +
     * CertificateRequest, whatever was exchanged since. */
    TD_CHECK(td_transcript_restore(&c->transcript, c->pha_base));
    TD_CHECK(td_srv_send_pha_certificate_request(c, req->context, sizeof(req->context)));
    TD_CHECK(td_transcript_snapshot(&c->transcript, &req->hash));
    c->num_pha_pending++;
    return TD_OK;
}

/* A client Certificate after the handshake: the answer to one of our
 * outstanding CertificateRequests, picked by its context. */
static td_err pha_certificate(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len)
{
    const td_cbs *ctx = &msg->u.cert.context;
    size_t k = 0;
    while (k < c->num_pha_pending &&
           !td_cbs_mem_equal(ctx, c->pha_pending[k].context, sizeof(c->pha_pending[k].context)))
        k++;
    /* §4.6.2 (and §4.4.2: the context of a Certificate answering a request
     * echoes the request's): a context none of our requests carried is
     * illegal_parameter (§6). */
    if (k == c->num_pha_pending)
        TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_PH_AUTH_CONTEXT, 4,
                 "post-handshake Certificate with a certificate_request_context of %zu bytes that "
                 "matches none of our %zu outstanding CertificateRequests",
                 td_cbs_len(ctx), c->num_pha_pending);
    /* TOL-PHA-DELAY: any order, any delay; this request is answered now. */
    struct td_pha_request req = c->pha_pending[k];
    memmove(&c->pha_pending[k], &c->pha_pending[k + 1],
            (c->num_pha_pending - k - 1) * sizeof(c->pha_pending[0]));
    c->num_pha_pending--;
    memcpy(c->cr_context, req.context, sizeof(req.context));
    c->cr_context_len = sizeof(req.context);
    td_err err = td_transcript_restore(&c->transcript, req.hash);
    td_hash_ctx_free(req.hash);
    TD_CHECK(err);
    return receive_client_cert(c, msg, raw, raw_len, true);
}

td_err td_server_do_pha_wait_finished(td_conn *c, const td_msg *msg, const uint8_t *raw,
                                      size_t raw_len)
{
    (void)raw;
    (void)raw_len;
    uint8_t expect[TD_MAX_HASH_LEN];
    size_t hash_len = td_hash_len(c->suite->hash);
    /* §4.4: after the handshake the Finished Base Key is
     * client_application_traffic_secret_N, the current one. */
    TD_CHECK(td_conn_finished(c, c->c_ap, expect));
    /* §4.4.4: "Recipients of Finished messages MUST verify that the
     * contents are correct and if incorrect MUST terminate the connection
     * with a "decrypt_error" alert." */
    bool ok = td_cbs_len(&msg->u.fin.verify_data) == hash_len &&
              td_ct_equal(td_cbs_data(&msg->u.fin.verify_data), expect, hash_len);
    td_cleanse(expect, sizeof(expect));
    if (!ok && !c->cfg->fuzzer_mode)
        TD_ABORT(c, TD_ERR_DECRYPT, TD_RULE_FIN_BAD, 4,
                 "client post-handshake Finished does not verify");
    c->status.post_handshake_auths++;
    c->peer_cert_empty = false;
    c->state = TD_HS_CONNECTED;
    return TD_OK;
}

/* ---- entry points ---- */

td_err td_server_post_handshake(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len)
{
    (void)raw;
    (void)raw_len;
    switch ((unsigned)msg->type) { /* a wire value */
    case TD_MSG_KEY_UPDATE: return td_conn_handle_key_update(c, msg);
    case TD_MSG_CLIENT_HELLO:
        /* §4.1.2: "if a server has negotiated TLS 1.3 and receives a
         * ClientHello at any other time, it MUST terminate the connection
         * with an "unexpected_message" alert." */
        TD_ABORT(c, TD_ERR_UNEXPECTED, TD_RULE_PH_CLIENTHELLO, 0,
                 "ClientHello after the handshake");
        TD_SITE_FALLTHROUGH();
    case TD_MSG_NEW_SESSION_TICKET:
        /* §4.6.1: a client never sends NewSessionTicket. */
        TD_ABORT(c, TD_ERR_UNEXPECTED, TD_RULE_NST_FROM_CLIENT, 0,
                 "NewSessionTicket from the client");
        TD_SITE_FALLTHROUGH();
    case TD_MSG_CERTIFICATE:
        /* §4.6.2: a Certificate starts the answer to a CertificateRequest of ours. */
        if (c->num_pha_pending > 0)
            return pha_certificate(c, msg, raw, raw_len);
        break;
    default: break;
    }
    /* §4, §4.6: without an outstanding post-handshake CertificateRequest
     * nothing else is valid now (a CertificateVerify or Finished can only
     * follow a Certificate that answers one). */
    TD_ABORT(c, TD_ERR_UNEXPECTED, TD_RULE_PH_UNEXPECTED_MSG, 0, "%s after the handshake",
             td_msg_type_name(msg->type));
    TD_SITE_PASSED();
}
