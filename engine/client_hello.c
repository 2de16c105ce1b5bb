/* engine/client_hello.c -- the client's hello phase (RFC 8446 §4.1): building
 * ClientHello1 and ClientHello2, checking the ServerHello or
 * HelloRetryRequest, and deriving the handshake traffic keys.
 *
 * Behaviour reference: the Go client seed; a check marked (Cnn) is that
 * seed's alert site nn (C1..C28 here), listed with the cases that reach it in
 * scenarios/SEED-SITES.md. Where RFC 8446 says otherwise the RFC is followed
 * and the comment says so. */
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"

#define TD_TLS13 0x0304
#define TD_TLS12 0x0303
#define TD_PSK_KE 0
#define TD_PSK_DHE_KE 1
/* §4.6.1: ticket lifetimes are capped at 7 days. */
#define TD_MAX_TICKET_LIFETIME_S 604800u

static const uint8_t k_null_compression[1] = {0};
/* §4.1.3: the last 8 bytes of ServerHello.random of a TLS 1.3-capable
 * server negotiating TLS 1.2 (…01) or TLS 1.1 and below (…00). */
static const uint8_t k_downgrade[7] = {0x44, 0x4F, 0x57, 0x4E, 0x47, 0x52, 0x44};

bool td_client_offered_ext(const td_conn *c, uint16_t type)
{
    return c->ch_bytes != NULL && td_exts_find_const(&c->ch.u.ch.exts, type) != NULL;
}

/* ---- ClientHello ---- */

/* Storage behind the views of a ClientHello being built. */
typedef struct ch_build {
    td_msg msg;
    uint8_t pub[TD_MAX_OUR_SHARES + 1][TD_MAX_SHARE_LEN];
    uint8_t binder[TD_MAX_HASH_LEN];
} ch_build;

/* The ticket to offer, or NULL. §4.6.1: not after its lifetime (0 means
 * "discard at once"), never longer than 7 days; §4.1.2: ClientHello2 drops a
 * PSK whose hash does not fit the HelloRetryRequest's cipher suite. */
static const td_session *usable_ticket(const td_conn *c, const td_suite **out_suite)
{
    const td_session *s = c->cfg->resume;
    if (s == NULL || s->ticket_len == 0 || s->ticket_len > TD_MAX_TICKET_LEN || s->psk_len == 0)
        return NULL;
    const td_suite *suite = td_suite_get(s->suite);
    if (suite == NULL || s->psk_len != td_hash_len(suite->hash))
        return NULL;
    uint64_t now = td_clock_now_ms(&c->clock);
    uint64_t age_ms = now > s->received_ms ? now - s->received_ms : 0;
    uint32_t lifetime =
        s->lifetime_s < TD_MAX_TICKET_LIFETIME_S ? s->lifetime_s : TD_MAX_TICKET_LIFETIME_S;
    if (!s->external && age_ms >= (uint64_t)lifetime * 1000u)
        return NULL;
    if (c->hrr_done && c->suite != NULL && c->suite->hash != suite->hash)
        return NULL;
    *out_suite = suite;
    return s;
}

/* The |index|-th key share we generate: injected private key or the DRBG. */
static td_err make_share(td_conn *c, uint16_t group, size_t index, td_kex **out)
{
    const td_inject *inj = c->cfg->inject;
    td_err err;
    if (inj != NULL && inj->share_private != NULL && index < inj->num_share_private &&
        inj->share_private[index] != NULL)
        err = td_kex_from_private(c->crypto, group, inj->share_private[index],
                                  inj->share_private_len[index], out);
    else
        err = td_kex_generate(c->crypto, group, &c->drbg, out);
    if (err != TD_OK)
        TD_ABORT(c, err == TD_ERR_NOMEM ? err : TD_ERR_UNSUPPORTED, TD_RULE_NONE, 0,
                 "cannot make a key share for group 0x%04x", group);
    return TD_OK;
}

static void free_shares(td_conn *c)
{
    for (size_t i = 0; i < c->num_shares; i++)
        td_kex_free(c->shares[i]);
    c->num_shares = 0;
}

/* ClientHello1: one share per cfg->share_groups (default: the first group). */
static td_err make_ch1_shares(td_conn *c)
{
    size_t num_groups;
    const uint16_t *groups = td_conn_groups(c, &num_groups);
    const uint16_t *share_groups = c->cfg->share_groups;
    size_t num = c->cfg->num_share_groups;
    if (share_groups == NULL || num == 0) {
        share_groups = groups;
        num = num_groups > 0 ? 1 : 0;
    }
    if (num > TD_MAX_OUR_SHARES)
        TD_ABORT(c, TD_ERR_LIMIT, TD_RULE_NONE, 0, "%zu key shares (at most %d)", num,
                 TD_MAX_OUR_SHARES);
    for (size_t i = 0; i < num; i++) {
        TD_CHECK(make_share(c, share_groups[i], i, &c->shares[i]));
        c->num_shares = i + 1;
    }
    return TD_OK;
}

/* ClientHello2 after an HRR with key_share (§4.1.2): one share for the
 * selected group, drawn after ClientHello1's shares. */
static td_err make_ch2_share(td_conn *c)
{
    size_t index = c->num_shares;
    uint16_t group = c->hrr_group;
    if (c->cfg->bugs.ch2_wrong_share_group) {
        size_t n;
        const uint16_t *groups = td_conn_groups(c, &n);
        for (size_t i = 0; i < n; i++)
            if (groups[i] != c->hrr_group && td_group_supported(groups[i])) {
                group = groups[i];
                break;
            }
    }
    free_shares(c);
    TD_CHECK(make_share(c, group, index, &c->shares[0]));
    c->num_shares = 1;
    return TD_OK;
}

static td_err add_ext(td_conn *c, td_msg *m, uint16_t type)
{
    td_err err = td_exts_add(&m->u.ch.exts, type, NULL);
    if (err != TD_OK)
        TD_ABORT(c, err, TD_RULE_NONE, 0, "cannot add %s to our ClientHello",
                 td_ext_type_name(type));
    return TD_OK;
}

/* Fills the extension block in the order of the RFC 8448 traces (NSS),
 * pre_shared_key last (§4.2.11). */
/* Copies our configured list into a growable list of the message. */
static td_err copy_u16s(uint16_t **list, uint16_t *inl, size_t inl_cap, size_t *num,
                        const uint16_t *v, size_t n)
{
    *num = 0;
    uint16_t *dst = td_list_push_n(list, inl, inl_cap, num, n, sizeof(*v));
    if (dst == NULL)
        return TD_ERR_NOMEM;
    if (n > 0)
        memcpy(dst, v, n * sizeof(*v));
    return TD_OK;
}

static td_err fill_exts(td_conn *c, ch_build *b, const td_msg *hrr, const td_session *ticket,
                        bool early_ext)
{
    const td_config *cfg = c->cfg;
    td_msg *m = &b->msg;
    td_ext_data *d = &m->u.ch.ext;
    size_t n;

    if (cfg->server_name != NULL) {
        d->num_server_names = 1;
        d->server_names[0].name_type = 0; /* host_name, RFC 6066 §3 */
        td_cbs_init(&d->server_names[0].name, (const uint8_t *)cfg->server_name,
                    strlen(cfg->server_name));
        TD_CHECK(add_ext(c, m, TD_EXT_SERVER_NAME));
    }
    if (cfg->renegotiation_info) {
        td_cbs_init(&d->renegotiated_connection, NULL, 0);
        TD_CHECK(add_ext(c, m, TD_EXT_RENEGOTIATION_INFO));
    }
    const uint16_t *groups = td_conn_groups(c, &n);
    TD_CHECK(copy_u16s(&d->groups, d->groups_inline, TD_MAX_GROUPS, &d->num_groups, groups, n));
    TD_CHECK(add_ext(c, m, TD_EXT_SUPPORTED_GROUPS));
    if (cfg->session_ticket_ext)
        TD_CHECK(add_ext(c, m, TD_EXT_SESSION_TICKET));
    if (cfg->num_alpn > 0) {
        for (size_t i = 0; i < cfg->num_alpn; i++) {
            td_cbs *name = TD_LIST_PUSH(d, alpn);
            if (name == NULL)
                return TD_ERR_NOMEM;
            td_cbs_init(name, (const uint8_t *)cfg->alpn[i], strlen(cfg->alpn[i]));
        }
        TD_CHECK(add_ext(c, m, TD_EXT_ALPN));
    }
    /* §4.2.8: key_share. */
    for (size_t i = 0; i < c->num_shares; i++) {
        size_t len;
        TD_CHECK(td_kex_public(c->shares[i], b->pub[i], sizeof(b->pub[i]), &len));
        d->key_shares[i].group = td_kex_group(c->shares[i]);
        td_cbs_init(&d->key_shares[i].key_exchange, b->pub[i], len);
    }
    d->num_key_shares = c->num_shares;
    if (cfg->bugs.duplicate_key_share && c->num_shares > 0)
        d->key_shares[d->num_key_shares++] = d->key_shares[0];
    TD_CHECK(add_ext(c, m, TD_EXT_KEY_SHARE));
    if (early_ext)
        TD_CHECK(add_ext(c, m, TD_EXT_EARLY_DATA));
    if (!cfg->bugs.omit_supported_versions) {
        /* §4.2.1: TLS 1.3 is offered through supported_versions only. */
        d->versions[0] = TD_TLS13;
        d->num_versions = 1;
        TD_CHECK(add_ext(c, m, TD_EXT_SUPPORTED_VERSIONS));
    }
    const uint16_t *sigalgs = td_conn_sigalgs(c, &n);
    TD_CHECK(
        copy_u16s(&d->sigalgs, d->sigalgs_inline, TD_MAX_SIGALGS, &d->num_sigalgs, sigalgs, n));
    TD_CHECK(add_ext(c, m, TD_EXT_SIGNATURE_ALGORITHMS));
    if (hrr != NULL && td_exts_find_const(&hrr->u.sh.exts, TD_EXT_COOKIE) != NULL) {
        /* §4.2.2: the HRR's cookie is echoed in ClientHello2. */
        d->cookie = hrr->u.sh.ext.cookie;
        TD_CHECK(add_ext(c, m, TD_EXT_COOKIE));
    }
    /* §4.2.9: sent always (as in the traces), so that the server may issue
     * tickets; psk_dhe_ke unless only psk_ke is wanted. */
    d->num_psk_modes = 0;
    if (!cfg->psk_ke_only)
        d->psk_modes[d->num_psk_modes++] = TD_PSK_DHE_KE;
    if (cfg->psk_ke || cfg->psk_ke_only)
        d->psk_modes[d->num_psk_modes++] = TD_PSK_KE;
    TD_CHECK(add_ext(c, m, TD_EXT_PSK_KEY_EXCHANGE_MODES));
    /* §4.2.6: willing to authenticate after the handshake. */
    if (cfg->offer_post_handshake_auth) {
        TD_CHECK(add_ext(c, m, TD_EXT_POST_HANDSHAKE_AUTH));
        c->status.post_handshake_auth = true;
    }
    if (cfg->record_size_limit != 0) {
        d->record_size_limit = cfg->record_size_limit;
        TD_CHECK(add_ext(c, m, TD_EXT_RECORD_SIZE_LIMIT));
    }
    if (ticket != NULL) {
        /* §4.2.11.1: obfuscated_ticket_age = age in ms + ticket_age_add mod 2^32. */
        uint64_t now = td_clock_now_ms(&c->clock);
        uint64_t age_ms = now > ticket->received_ms ? now - ticket->received_ms : 0;
        d->num_psk_identities = 1;
        td_cbs_init(&d->psk_identities[0].identity, ticket->ticket, ticket->ticket_len);
        d->psk_identities[0].obfuscated_ticket_age = (uint32_t)(age_ms + ticket->age_add);
        /* §4.2.11: "For identities established externally, an
         * obfuscated_ticket_age of 0 SHOULD be used". */
        if (ticket->external)
            d->psk_identities[0].obfuscated_ticket_age = 0;
        /* Placeholder binder; td_conn_send_msg fills it (§4.2.11.2). */
        memset(b->binder, 0, sizeof(b->binder));
        d->num_psk_binders = 1;
        td_cbs_init(&d->psk_binders[0], b->binder, td_hash_len(c->suite->hash));
        TD_CHECK(add_ext(c, m, TD_EXT_PRE_SHARED_KEY));
    }
    return TD_OK;
}

/* Builds |m| in the connection's message buffer (as td_conn_send_msg
 * does), which it takes back: |*out| is valid until the next message. */
static td_err build_in_msg_buf(td_conn *c, const td_msg *m, const uint8_t **out, size_t *out_len)
{
    td_cbb cbb;
    uint8_t *bytes = NULL;
    size_t cap = 0;
    td_cbb_init_reuse(&cbb, c->msg_buf, c->msg_buf_cap);
    c->msg_buf = NULL;
    c->msg_buf_cap = 0;
    td_err err = td_msg_build(m, &cbb);
    if (err == TD_OK && !td_cbb_finish_buf(&cbb, &bytes, out_len, &cap))
        err = TD_ERR_NOMEM;
    td_cbb_cleanup(&cbb);
    if (err != TD_OK)
        TD_ABORT(c, err, TD_RULE_NONE, 0, "cannot serialise our ClientHello");
    c->msg_buf = bytes;
    c->msg_buf_cap = cap;
    *out = bytes;
    return TD_OK;
}

/* RFC 7685 padding as NSS and BoringSSL do it: a ClientHello of 256..511
 * bytes is brought to 512 (some middleboxes choke on that range). */
static td_err add_padding(td_conn *c, ch_build *b)
{
    const uint8_t *bytes;
    size_t len;
    TD_CHECK(build_in_msg_buf(c, &b->msg, &bytes, &len));
    if (len <= 0xff || len >= 0x200)
        return TD_OK;
    size_t pad = 0x200 - len;
    pad = pad >= 5 ? pad - 4 : 1;
    b->msg.u.ch.ext.padding_len = pad;
    TD_CHECK(add_ext(c, &b->msg, TD_EXT_PADDING));
    td_exts *exts = &b->msg.u.ch.exts;
    if (exts->num >= 2 && exts->list[exts->num - 2].type == TD_EXT_PRE_SHARED_KEY)
        TD_CHECK(td_exts_move(exts, exts->num - 1, exts->num - 2));
    return TD_OK;
}

/* Keeps |bytes| (our ClientHello as built, before the hook) parsed in
 * c->ch: the memory of what was offered, for the ServerHello checks. */
static td_err remember_hello(td_conn *c, const td_msg *m)
{
    const uint8_t *built;
    size_t len;
    TD_CHECK(build_in_msg_buf(c, m, &built, &len));
    /* The hello held (ClientHello1 when this is the second) is kept for
     * the next clients, and a parse of these bytes kept by an earlier
     * client is taken instead of parsing again (conn.c). */
    td_conn_hello_stash(c);
    if (td_conn_hello_reuse(c, built, len))
        return TD_OK;
    uint8_t *bytes = malloc(len > 0 ? len : 1);
    if (bytes == NULL)
        return TD_ERR_NOMEM;
    if (len > 0)
        memcpy(bytes, built, len);
    td_err err;
    c->ch_bytes = bytes;
    c->ch_len = len;
    td_diag local;
    td_diag_clear(&local);
    err = td_msg_parse_handshake(bytes, len, NULL, &c->ch, &local);
    if (err != TD_OK) {
        /* Not a whole parse: never kept (td_conn_hello_stash). */
        td_msg_cleanup(&c->ch);
        memset(&c->ch, 0, sizeof(c->ch));
        TD_ABORT(c, err, TD_RULE_NONE, 0, "our own ClientHello does not parse: %s", local.text);
    }
    return TD_OK;
}

/* Keeps the bytes really sent (after the hook): the transcript restarts
 * from them if the server picks a suite of another hash than the PSK's. */
static td_err keep_sent(td_conn *c, td_cbs sent)
{
    uint8_t *copy = malloc(td_cbs_len(&sent) ? td_cbs_len(&sent) : 1);
    if (copy == NULL)
        return TD_ERR_NOMEM;
    if (td_cbs_len(&sent) > 0) /* a hook may have dropped the message: nothing sent */
        memcpy(copy, td_cbs_data(&sent), td_cbs_len(&sent));
    free(c->ch1_bytes);
    c->ch1_bytes = copy;
    c->ch1_len = td_cbs_len(&sent);
    return TD_OK;
}

/* §4.2.10: 0-RTT data under client_early_traffic_secret, right after ClientHello1. */
static td_err send_early_data(td_conn *c)
{
    uint8_t hash[TD_MAX_HASH_LEN];
    const td_session *s = c->cfg->resume;
    if (c->cfg->early_data_len > s->max_early_data)
        TD_ABORT(c, TD_ERR_LIMIT, TD_RULE_NONE, 0, "%zu bytes of early data, the ticket allows %u",
                 c->cfg->early_data_len, s->max_early_data);
    /* D.4: in compatibility mode with early data, the CCS follows ClientHello1. */
    if (c->cfg->compat_mode && !c->cfg->bugs.no_ccs_compat && !c->ccs_sent)
        TD_CHECK(td_conn_send_ccs(c));
    TD_CHECK(td_transcript_peek(&c->transcript, hash, NULL));
    TD_CHECK(td_keysched_derive(&c->ks, TD_KEYSCHED_C_EARLY_TRAFFIC, hash, c->c_early));
    td_conn_keylog(c, TD_KEYLOG_CLIENT_EARLY_TRAFFIC_SECRET, c->c_early);
    TD_CHECK(td_conn_set_write_keys(c, c->c_early));
    c->early_data_offered = true;
    return td_conn_send_early_data(c, c->cfg->early_data, c->cfg->early_data_len);
}

/* Random, session id, shares and PSK state for this hello. */
static td_err prepare_hello(td_conn *c, const td_msg *hrr)
{
    const td_inject *inj = c->cfg->inject;
    if (hrr != NULL)
        return c->hrr_group != 0 ? make_ch2_share(c)
                                 : TD_OK; /* §4.1.2: same random and session id */
    if (inj != NULL && inj->random != NULL)
        memcpy(c->client_random, inj->random, TD_RANDOM_LEN);
    else
        td_conn_random(c, c->client_random, TD_RANDOM_LEN);
    /* §4.1.2 / D.4: a 32-byte legacy_session_id in compatibility mode, else empty. */
    if (inj != NULL && inj->session_id != NULL) {
        if (inj->session_id_len > sizeof(c->session_id))
            return TD_ERR_ARG;
        memcpy(c->session_id, inj->session_id, inj->session_id_len);
        c->session_id_len = inj->session_id_len;
    } else if (c->cfg->compat_mode) {
        td_conn_random(c, c->session_id, 32);
        c->session_id_len = 32;
    } else {
        c->session_id_len = 0;
    }
    return make_ch1_shares(c);
}

/* The PSK to offer (§4.2.11) and whether to offer 0-RTT (§4.2.10). */
static td_err prepare_psk(td_conn *c, const td_msg *hrr, const td_session **out_ticket,
                          bool *out_early)
{
    const td_suite *psk_suite = NULL;
    const td_session *ticket = usable_ticket(c, &psk_suite);
    *out_ticket = ticket;
    /* §4.1.2: ClientHello2 removes early_data (unless the knob keeps it). */
    if (hrr != NULL) {
        *out_early = c->cfg->bugs.early_data_in_ch2 && td_client_offered_ext(c, TD_EXT_EARLY_DATA);
        return TD_OK;
    }
    *out_early = false;
    if (ticket == NULL)
        return TD_OK;
    /* §4.2.11.2: binders are keyed by the res binder key of the ticket's
     * PSK (ext binder for an external PSK) and hashed with its hash; the
     * driver needs both before sending. */
    uint8_t zero[TD_MAX_HASH_LEN] = {0};
    TD_CHECK(td_conn_set_suite(c, psk_suite));
    TD_CHECK(td_keysched_early(&c->ks, ticket->psk, ticket->psk_len));
    TD_CHECK(td_keysched_derive(&c->ks, ticket->external ? TD_KEYSCHED_EXT_BINDER : TD_KEYSCHED_RES_BINDER,
                                zero, c->binder_key));
    memcpy(c->psk, ticket->psk, ticket->psk_len);
    c->psk_len = ticket->psk_len;
    /* §4.2.10: early data only with a ticket that allows it. */
    *out_early =
        ticket->max_early_data > 0 && c->cfg->early_data != NULL && c->cfg->early_data_len > 0;
    return TD_OK;
}

td_err td_client_send_hello(td_conn *c, const td_msg *hrr)
{
    const td_config *cfg = c->cfg;
    /* Some 10 KB: a block the td_crypto kept (zeroed) when it has one. */
    ch_build *b = td_crypto_block_take(c->crypto, sizeof(*b));
    td_err ret = TD_OK;
    if (b == NULL && (b = calloc(1, sizeof(*b))) == NULL)
        return TD_ERR_NOMEM;
    TD_GUARD(prepare_hello(c, hrr));
    td_msg *m = &b->msg;
    td_client_hello *ch = &m->u.ch;
    td_msg_init(m, TD_MSG_CLIENT_HELLO, false);
    ch->legacy_version = TD_TLS12; /* §4.1.2 */
    memcpy(ch->random, c->client_random, TD_RANDOM_LEN);
    td_cbs_init(&ch->legacy_session_id, c->session_id, c->session_id_len);
    size_t n;
    const uint16_t *suites = td_conn_suites(c, &n);
    if (hrr != NULL && cfg->bugs.ch2_change_suites && n > 1) {
        suites++;
        n--;
    }
    uint16_t *cs = td_list_push_n(&ch->cipher_suites, ch->cipher_suites_inline,
                                  TD_MAX_CIPHER_SUITES, &ch->num_cipher_suites, n, sizeof(*suites));
    if (cs == NULL) {
        ret = TD_ERR_NOMEM;
        goto out;
    }
    if (n > 0)
        memcpy(cs, suites, n * sizeof(*suites));
    td_cbs_init(&ch->legacy_compression_methods, k_null_compression, 1);

    bool early_ext = false;
    const td_session *ticket = NULL;
    TD_GUARD(prepare_psk(c, hrr, &ticket, &early_ext));
    c->psk_offered = ticket != NULL;
    TD_GUARD(fill_exts(c, b, hrr, ticket, early_ext));
    if (cfg->ch_padding)
        TD_GUARD(add_padding(c, b));
    TD_GUARD(remember_hello(c, m));
    if (cfg->bugs.psk_first && ticket != NULL)
        TD_GUARD(td_exts_move(&ch->exts, ch->exts.num - 1, 0));
    /* D.4: in compatibility mode the CCS goes before ClientHello2. */
    if (hrr != NULL && cfg->compat_mode && !cfg->bugs.no_ccs_compat && !c->ccs_sent)
        TD_GUARD(td_conn_send_ccs(c));
    td_cbs sent;
    TD_GUARD(td_conn_send_msg(c, m, &sent));
    TD_GUARD(keep_sent(c, sent));
    /* §5.1: flushed now, while the record version is still ClientHello1's. */
    TD_GUARD(td_conn_flush(c));
    if (early_ext && hrr == NULL)
        TD_GUARD(send_early_data(c));
out:
    td_msg_cleanup(&b->msg);
    if (!td_crypto_block_keep(c->crypto, b, sizeof(*b)))
        free(b);
    return ret;
}

td_err td_client_start(td_conn *c)
{
    TD_CHECK(td_client_send_hello(c, NULL));
    c->state = TD_HS_C_WAIT_SH;
    return TD_OK;
}

/* ---- ServerHello / HelloRetryRequest ---- */

static bool offered_psk_mode(const td_conn *c, uint8_t mode)
{
    const td_ext_data *d = &c->ch.u.ch.ext;
    if (!td_client_offered_ext(c, TD_EXT_PSK_KEY_EXCHANGE_MODES))
        return false;
    for (size_t i = 0; i < d->num_psk_modes; i++)
        if (d->psk_modes[i] == mode)
            return true;
    return false;
}

/* A ServerHello without supported_versions negotiates TLS 1.2 or older,
 * which this TLS 1.3-only client never accepts. */
static td_err check_legacy_hello(td_conn *c, const td_server_hello *sh)
{
    /* D.5: SSL 3.0 must be refused; below it, only the sender is bound
     * (SV-LEGACY-BELOW-SSL3), and we refuse it as well. */
    if (sh->legacy_version == 0x0300)
        TD_ABORT(c, TD_ERR_PROTOCOL_VERSION, TD_RULE_SV_LEGACY_SSL3, 4,
                 "ServerHello legacy_version 0x%04x", sh->legacy_version);
    if (sh->legacy_version < 0x0300)
        TD_ABORT(c, TD_ERR_PROTOCOL_VERSION, TD_RULE_SV_LEGACY_BELOW_SSL3, 4,
                 "ServerHello legacy_version 0x%04x", sh->legacy_version);
    /* §4.1.3, §4.2.1: TLS 1.3 is negotiated only through supported_versions (C3). */
    if (sh->legacy_version >= TD_TLS13 || sh->is_hrr)
        TD_ABORT(c, TD_ERR_MISSING_EXT, TD_RULE_SV_SH_MISSING, 4,
                 "%s selects TLS 1.3 without supported_versions",
                 sh->is_hrr ? "HelloRetryRequest" : "ServerHello");
    /* §4.1.3: a TLS 1.3 client checks the downgrade sentinel. */
    if (memcmp(sh->random + 24, k_downgrade, sizeof(k_downgrade)) == 0 &&
        (sh->random[31] == 0x01 || sh->random[31] == 0x00))
        TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_SH_DOWNGRADE_SENTINEL, 6 + 24,
                 "ServerHello.random carries the TLS 1.3 downgrade sentinel");
    /* D.3: a client that sent 0-RTT data fails a TLS 1.2 ServerHello. */
    if (c->early_data_offered)
        TD_ABORT(c, TD_ERR_PROTOCOL_VERSION, TD_RULE_ED_TLS12_AFTER_0RTT, 4,
                 "ServerHello negotiates 0x%04x after 0-RTT data", sh->legacy_version);
    /* D.1: the version the server chose is not acceptable to us. */
    TD_ABORT(c, TD_ERR_PROTOCOL_VERSION, TD_RULE_SV_CLIENT_REJECTS_VERSION, 4,
             "ServerHello negotiates 0x%04x; we offered TLS 1.3 only", sh->legacy_version);
    TD_SITE_PASSED();
}

/* The checks ServerHello and HelloRetryRequest share (§4.1.3, §4.1.4, §4.2). */
static td_err check_hello_common(td_conn *c, const td_server_hello *sh)
{
    bool hrr = sh->is_hrr;
    const td_client_hello *ch = &c->ch.u.ch;
    const td_ext *sv = td_exts_find_const(&sh->exts, TD_EXT_SUPPORTED_VERSIONS);
    if (sh->legacy || sv == NULL)
        return check_legacy_hello(c, sh);
    /* §4.2.1: selected_version must be one we offered (only 0x0304) (C4);
     * §4.1.4: the ServerHello's must equal the HRR's. */
    if (sh->ext.selected_version != TD_TLS13) {
        if (hrr)
            TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_SV_HRR_INVALID, sv->offset,
                     "HelloRetryRequest selects version 0x%04x", sh->ext.selected_version);
        if (c->hrr_done)
            TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_SV_HRR_SH_CHANGED, sv->offset,
                     "ServerHello selects 0x%04x after the HRR selected 0x0304",
                     sh->ext.selected_version);
        TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_SV_SH_INVALID, sv->offset,
                 "ServerHello selects version 0x%04x", sh->ext.selected_version);
    }
    /* §4.1.3 (§4.1.4 for the HRR): legacy_version is 0x0303 (C5; Go's
     * strictness, allowed by SH-LEGACY-VERSION). */
    if (sh->legacy_version != TD_TLS12)
        TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER,
                 hrr ? TD_RULE_HRR_LEGACY_FIELDS : TD_RULE_SH_LEGACY_VERSION, 4,
                 "legacy_version 0x%04x", sh->legacy_version);
    /* §4.1.3: legacy_session_id_echo equals what we sent (C7). */
    if (td_cbs_len(&sh->legacy_session_id_echo) != c->session_id_len ||
        memcmp(td_cbs_data(&sh->legacy_session_id_echo), c->session_id, c->session_id_len) != 0)
        TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, hrr ? TD_RULE_HRR_SESSION_ID : TD_RULE_SH_SESSION_ID,
                 4 + 2 + 32, "legacy_session_id_echo differs from our legacy_session_id");
    size_t suite_at = 4 + 2 + 32 + 1 + td_cbs_len(&sh->legacy_session_id_echo);
    /* §4.1.3: legacy_compression_method is 0 (C8): the codec refuses any
     * other value in a ServerHello and an HRR (msg.c, SH-COMPRESSION and
     * HRR-LEGACY-FIELDS), before this message reaches the state machine. */
    /* §4.1.4: the ServerHello keeps the HRR's cipher suite (C9). */
    if (!hrr && c->hrr_done && sh->cipher_suite != c->hrr_suite)
        TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_SH_CIPHER_CHANGED, suite_at,
                 "ServerHello suite 0x%04x, HelloRetryRequest chose 0x%04x", sh->cipher_suite,
                 c->hrr_suite);
    /* §4.1.3 / §4.1.4: the suite was offered (C10). */
    if (!td_u16_in(ch->cipher_suites, ch->num_cipher_suites, sh->cipher_suite))
        TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER,
                 hrr ? TD_RULE_HRR_CIPHER_NOT_OFFERED : TD_RULE_SH_CIPHER_NOT_OFFERED, suite_at,
                 "cipher suite 0x%04x was not offered", sh->cipher_suite);
    if (td_suite_get(sh->cipher_suite) == NULL)
        TD_ABORT(c, TD_ERR_UNSUPPORTED, TD_RULE_NONE, suite_at,
                 "offered suite 0x%04x is not implemented", sh->cipher_suite);
    /* §4.2, §4.1.4: every response extension answers one we sent; the
     * cookie of an HRR is the only exception (C6). */
    for (size_t i = 0; i < sh->exts.num; i++) {
        const td_ext *e = &sh->exts.list[i];
        if (hrr && e->type == TD_EXT_COOKIE)
            continue;
        if (!td_client_offered_ext(c, e->type))
            TD_ABORT(c, TD_ERR_UNSUPPORTED_EXT,
                     hrr ? TD_RULE_HRR_EXT_UNSOLICITED : TD_RULE_EXT_UNSOLICITED, e->offset,
                     "%s did not offer %s", "the ClientHello", td_ext_type_name(e->type));
    }
    return TD_OK;
}

/* The transcript and key schedule run with the ticket's hash once a PSK is
 * offered. When the server picks a suite of another hash (so no PSK,
 * §4.2.11), they restart over the ClientHello bytes really sent. */
static td_err switch_suite(td_conn *c, const td_suite *suite)
{
    if (!c->ks_ready)
        return td_conn_set_suite(c, suite);
    if (c->suite == suite)
        return TD_OK;
    if (c->suite->hash == suite->hash) {
        c->suite = suite;
        c->status.suite = suite->id;
        return TD_OK;
    }
    if (c->hrr_done || c->ch1_bytes == NULL)
        TD_ABORT(c, TD_ERR_ARG, TD_RULE_NONE, 0, "cannot change the transcript hash now");
    td_transcript_cleanup(&c->transcript);
    td_transcript_init(&c->transcript, c->crypto, 0);
    td_keysched_cleanup(&c->ks);
    c->ks_ready = false;
    TD_CHECK(td_conn_set_suite(c, suite));
    return td_conn_transcript_add(c, c->ch1_bytes, c->ch1_len);
}

static bool have_share_for(const td_conn *c, uint16_t group, td_kex **out)
{
    for (size_t i = 0; i < c->num_shares; i++)
        if (td_kex_group(c->shares[i]) == group) {
            if (out != NULL)
                *out = c->shares[i];
            return true;
        }
    return false;
}

/* §4.1.4: HelloRetryRequest. */
static td_err process_hrr(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len)
{
    const td_server_hello *hrr = &msg->u.sh;
    const td_client_hello *ch = &c->ch.u.ch;
    const td_ext *ks = td_exts_find_const(&hrr->exts, TD_EXT_KEY_SHARE);
    const td_ext *cookie = td_exts_find_const(&hrr->exts, TD_EXT_COOKIE);
    uint16_t group = 0;
    if (ks != NULL) {
        group = hrr->ext.hrr_selected_group;
        /* §4.2.8: the selected group was in our supported_groups (C13) ... */
        if (!td_client_offered_ext(c, TD_EXT_SUPPORTED_GROUPS) ||
            !td_u16_in(ch->ext.groups, ch->ext.num_groups, group))
            TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_KS_HRR_GROUP_NOT_SUPPORTED, ks->offset,
                     "HelloRetryRequest selects group 0x%04x, not in our supported_groups", group);
        /* ... and not one we already sent a share for (C14). */
        if (have_share_for(c, group, NULL))
            TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_KS_HRR_GROUP_ALREADY_SENT, ks->offset,
                     "HelloRetryRequest selects group 0x%04x, which already had a key share",
                     group);
        if (!td_group_supported(group))
            TD_ABORT(c, TD_ERR_UNSUPPORTED, TD_RULE_NONE, ks->offset,
                     "group 0x%04x is not implemented", group);
    }
    /* §4.1.4: an HRR that would not change the ClientHello is refused.
     * (Go's C12 also refuses a cookie-only HRR; the RFC allows it.) */
    if (ks == NULL && cookie == NULL)
        TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_HRR_NO_CHANGE, 4,
                 "HelloRetryRequest asks for no change (no key_share, no cookie)");
    /* Before hrr_done: an HRR suite of another hash than the offered PSK's
     * restarts the transcript over ClientHello1 (found by fuzz/server_hello). */
    TD_CHECK(switch_suite(c, td_suite_get(hrr->cipher_suite)));
    c->hrr_done = true;
    c->hrr_group = group;
    c->hrr_suite = hrr->cipher_suite;
    c->status.hrr = true;
    /* §4.4.1: ClientHello1 becomes message_hash, then the HRR follows. */
    td_err err = td_transcript_hrr_replace(&c->transcript);
    if (err != TD_OK)
        TD_ABORT(c, err, TD_RULE_NONE, 0, "transcript: cannot replace ClientHello1");
    TD_CHECK(td_conn_transcript_add(c, raw, raw_len));
    /* §4.2.10: 0-RTT is over after an HRR; ClientHello2 goes in plaintext. */
    if (c->early_data_offered) {
        td_conn_clear_write_keys(c);
        c->early_data_offered = false;
    }
    TD_CHECK(td_client_send_hello(c, msg));
    c->state = TD_HS_C_WAIT_SH;
    return TD_OK;
}

/* §4.2.8, §4.2.9, §4.2.11: which key exchange the ServerHello fixed. */
static td_err check_sh_key_exchange(td_conn *c, const td_server_hello *sh, td_kex **out_share)
{
    const td_ext *psk = td_exts_find_const(&sh->exts, TD_EXT_PRE_SHARED_KEY);
    const td_ext *ks = td_exts_find_const(&sh->exts, TD_EXT_KEY_SHARE);
    *out_share = NULL;
    if (psk != NULL) {
        /* §4.2.11: selected_identity is in range (C24) ... */
        if (sh->ext.psk_selected_identity >= c->ch.u.ch.ext.num_psk_identities)
            TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_PSK_SH_IDENTITY_RANGE, psk->offset,
                     "selected_identity %u, we sent %zu", sh->ext.psk_selected_identity,
                     c->ch.u.ch.ext.num_psk_identities);
        /* ... and the suite's hash is the PSK's (C27). */
        const td_suite *psk_suite =
            c->cfg->resume != NULL ? td_suite_get(c->cfg->resume->suite) : NULL;
        const td_suite *suite = td_suite_get(sh->cipher_suite);
        if (psk_suite == NULL || psk_suite->hash != suite->hash)
            TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_PSK_SH_HASH_MISMATCH, psk->offset,
                     "suite 0x%04x does not fit the PSK's hash", sh->cipher_suite);
    }
    if (ks == NULL) {
        if (psk != NULL && offered_psk_mode(c, TD_PSK_KE))
            return TD_OK; /* psk_ke */
        /* §4.2.9: only psk_dhe_ke was offered, so (EC)DHE is required (C22). */
        if (psk != NULL)
            TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_PSK_SH_KEYSHARE_REQUIRED, 4,
                     "PSK accepted without key_share, but psk_ke was not offered");
        /* §4.1.3, §9.2: neither key_share nor pre_shared_key. */
        TD_ABORT(c, TD_ERR_MISSING_EXT, TD_RULE_SH_NO_KEY_EXCHANGE, 4,
                 "ServerHello has neither key_share nor pre_shared_key");
    }
    uint16_t group = sh->ext.server_share.group;
    /* §4.2.9: the server may not use (EC)DHE when only psk_ke was offered. */
    if (psk != NULL && !offered_psk_mode(c, TD_PSK_DHE_KE))
        TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_KS_PSK_KE_WITH_SHARE, ks->offset,
                 "key_share in a psk_ke handshake");
    /* §4.2.8: after an HRR, the group it selected (C23) ... */
    if (c->hrr_group != 0 && group != c->hrr_group)
        TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_KS_SH_GROUP_NE_HRR, ks->offset,
                 "ServerHello share for 0x%04x, HelloRetryRequest selected 0x%04x", group,
                 c->hrr_group);
    /* ... and always a group we sent a share for. */
    if (!have_share_for(c, group, out_share))
        TD_ABORT(c, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_KS_SH_GROUP_NOT_OFFERED, ks->offset,
                 "ServerHello share for group 0x%04x, for which we sent none", group);
    return TD_OK;
}

/* §7.1: handshake secret and traffic keys after the ServerHello. */
static td_err derive_handshake_keys(td_conn *c, const td_server_hello *sh, td_kex *share)
{
    uint8_t ecdhe[TD_MAX_ECDH_LEN], hash[TD_MAX_HASH_LEN];
    size_t ecdhe_len = 0;
    td_err ret = TD_OK;
    TD_GUARD(td_keysched_early(&c->ks, c->psk_accepted ? c->psk : NULL,
                               c->psk_accepted ? c->psk_len : 0));
    if (share != NULL) {
        /* §4.2.8.2, §7.4: the server's share is validated (C28). */
        const td_cbs *peer = &sh->ext.server_share.key_exchange;
        TD_GUARD(td_kex_derive(share, td_cbs_data(peer), td_cbs_len(peer), ecdhe, sizeof(ecdhe),
                               &ecdhe_len, &c->status.diag));
    }
    TD_GUARD(td_keysched_handshake(&c->ks, share ? ecdhe : NULL, ecdhe_len));
    TD_GUARD(td_transcript_peek(&c->transcript, hash, NULL));
    TD_GUARD(td_keysched_derive(&c->ks, TD_KEYSCHED_C_HS_TRAFFIC, hash, c->c_hs));
    TD_GUARD(td_keysched_derive(&c->ks, TD_KEYSCHED_S_HS_TRAFFIC, hash, c->s_hs));
    td_conn_keylog(c, TD_KEYLOG_CLIENT_HANDSHAKE_TRAFFIC_SECRET, c->c_hs);
    td_conn_keylog(c, TD_KEYLOG_SERVER_HANDSHAKE_TRAFFIC_SECRET, c->s_hs);
    TD_GUARD(td_conn_set_read_keys(c, c->s_hs));
    /* AL-KEYS (A.1): from here our alerts go under the handshake keys --
     * unless 0-RTT is pending, whose keys stay until EncryptedExtensions
     * says whether EndOfEarlyData is due (§4.5). */
    if (!c->early_data_offered || !c->psk_accepted) {
        TD_GUARD(td_conn_set_write_keys(c, c->c_hs));
        c->early_data_offered = c->early_data_offered && c->psk_accepted;
    }
out:
    td_cleanse(ecdhe, sizeof(ecdhe));
    return ret;
}

static td_err process_sh(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len)
{
    const td_server_hello *sh = &msg->u.sh;
    td_kex *share = NULL;
    TD_CHECK(check_sh_key_exchange(c, sh, &share));
    c->psk_accepted = td_exts_find_const(&sh->exts, TD_EXT_PRE_SHARED_KEY) != NULL;
    c->psk_dhe = c->psk_accepted && share != NULL;
    c->psk_index = c->psk_accepted ? sh->ext.psk_selected_identity : 0;
    TD_CHECK(switch_suite(c, td_suite_get(sh->cipher_suite)));
    TD_CHECK(td_conn_transcript_add(c, raw, raw_len));
    memcpy(c->server_random, sh->random, TD_RANDOM_LEN);
    c->status.version = TD_TLS13;
    c->status.group = share != NULL ? td_kex_group(share) : 0;
    c->status.resumed = c->psk_accepted;
    TD_CHECK(derive_handshake_keys(c, sh, share));
    c->state = TD_HS_C_WAIT_EE;
    return TD_OK;
}

td_err td_client_do_wait_sh(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len)
{
    /* §4.1.4: a second HelloRetryRequest is refused (C19). */
    if (msg->u.sh.is_hrr && c->hrr_done)
        TD_ABORT(c, TD_ERR_UNEXPECTED, TD_RULE_HRR_SECOND, 4 + 2, "second HelloRetryRequest");
    TD_CHECK(check_hello_common(c, &msg->u.sh));
    if (msg->u.sh.is_hrr)
        return process_hrr(c, msg, raw, raw_len);
    return process_sh(c, msg, raw, raw_len);
}
