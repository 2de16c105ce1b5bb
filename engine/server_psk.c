/* engine/server_psk.c -- the server's PSKs (RFC 8446 §4.2.11, §4.6.1):
 * sealed tickets, the configured PSK table, binder verification, ticket
 * age; and the HelloRetryRequest cookie (§4.2.2). (Snn): a Go server seed
 * alert site, see scenarios/SEED-SITES.md.
 *
 * Tickets and cookies are self-contained and deterministic: the plaintext
 * is sealed with AES-256-GCM under a key derived from c->ticket_key
 * (HKDF-Expand, SHA-256, distinct info strings per use), with a nonce from
 * the connection DRBG. Layout: nonce(12) || ciphertext || tag(16).
 *
 * Ticket plaintext (v1): u8 version=1, u16 suite, u8<psk>, u64 issued_ms,
 * u32 lifetime_s, u32 age_add, u32 max_early_data, u8<alpn>.
 * Cookie plaintext (v1): u8 version=1, u16 suite, u16 group, u8<Hash(CH1)>. */
#include <string.h>

#include "server_internal.h"

#define TICKET_LABEL "tlsdrill ticket v1"
#define COOKIE_LABEL "tlsdrill cookie v1"
#define SEAL_OVERHEAD (TD_AEAD_NONCE_LEN + TD_AEAD_TAG_LEN)

static td_err seal_key(td_conn *c, const char *label, td_aead **out)
{
    uint8_t key[32];
    TD_CHECK(td_hkdf_expand(c->crypto, TD_HASH_SHA256, c->ticket_key, sizeof(c->ticket_key),
                            (const uint8_t *)label, strlen(label), key, sizeof(key)));
    td_err err = td_aead_new(c->crypto, TD_AEAD_AES_256_GCM, key, sizeof(key), out);
    td_cleanse(key, sizeof(key));
    return err;
}

static td_err seal(td_conn *c, const char *label, const uint8_t *pt, size_t pt_len, uint8_t *out,
                   size_t cap, size_t *out_len)
{
    td_aead *aead = NULL;
    if (pt_len > cap || cap - pt_len < SEAL_OVERHEAD)
        return TD_ERR_LIMIT;
    if (c->cfg->fuzzer_mode) {
        /* Fuzzer mode (conn.h): tickets and cookies are not encrypted, as
         * in NSS's fuzzer build: nonce || plaintext || zero tag, the same
         * sizes and DRBG draws. */
        td_conn_random(c, out, TD_AEAD_NONCE_LEN);
        memcpy(out + TD_AEAD_NONCE_LEN, pt, pt_len);
        memset(out + TD_AEAD_NONCE_LEN + pt_len, 0, TD_AEAD_TAG_LEN);
        *out_len = pt_len + SEAL_OVERHEAD;
        return TD_OK;
    }
    TD_CHECK(seal_key(c, label, &aead));
    td_conn_random(c, out, TD_AEAD_NONCE_LEN);
    td_err err = td_aead_seal(aead, out, (const uint8_t *)label, strlen(label), pt, pt_len,
                              out + TD_AEAD_NONCE_LEN);
    td_aead_free(aead);
    *out_len = pt_len + SEAL_OVERHEAD;
    return err;
}

/* False if |in| is not something we sealed under |label|. */
static bool open_sealed(td_conn *c, const char *label, const uint8_t *in, size_t len, uint8_t *out,
                        size_t cap, size_t *out_len)
{
    td_aead *aead = NULL;
    if (len < SEAL_OVERHEAD || len - SEAL_OVERHEAD > cap)
        return false;
    if (c->cfg->fuzzer_mode) {
        /* Fuzzer mode: the plaintext between nonce and tag (seal); the
         * tag is not checked, the contents are, by the caller. */
        memcpy(out, in + TD_AEAD_NONCE_LEN, len - SEAL_OVERHEAD);
        *out_len = len - SEAL_OVERHEAD;
        return true;
    }
    if (seal_key(c, label, &aead) != TD_OK)
        return false;
    td_err err = td_aead_open(aead, in, (const uint8_t *)label, strlen(label),
                              in + TD_AEAD_NONCE_LEN, len - TD_AEAD_NONCE_LEN, out);
    td_aead_free(aead);
    *out_len = len - SEAL_OVERHEAD;
    return err == TD_OK;
}

/* ---- tickets ---- */

td_err td_srv_seal_ticket(td_conn *c, const td_srv_psk *p, uint8_t *out, size_t cap,
                          size_t *out_len)
{
    uint8_t pt[400];
    td_cbb cbb, v;
    uint8_t *data;
    size_t len, alpn_len = strlen(p->alpn);
    td_err ret;
    if (!td_cbb_init_fixed(&cbb, pt, sizeof(pt)))
        return TD_ERR_NOMEM;
    bool ok = td_cbb_add_u8(&cbb, 1) && td_cbb_add_u16(&cbb, p->suite) &&
              td_cbb_add_u8_prefixed(&cbb, &v) && td_cbb_add_bytes(&v, p->psk, p->psk_len) &&
              td_cbb_add_u64(&cbb, p->issued_ms) && td_cbb_add_u32(&cbb, p->lifetime_s) &&
              td_cbb_add_u32(&cbb, p->age_add) && td_cbb_add_u32(&cbb, p->max_early_data) &&
              td_cbb_add_u8_prefixed(&cbb, &v) &&
              td_cbb_add_bytes(&v, (const uint8_t *)p->alpn, alpn_len) &&
              td_cbb_finish(&cbb, &data, &len);
    ret = ok ? seal(c, TICKET_LABEL, pt, len, out, cap, out_len) : TD_ERR_LIMIT;
    td_cleanse(pt, sizeof(pt));
    return ret;
}

static bool open_ticket(td_conn *c, const td_cbs *identity, td_srv_psk *p)
{
    uint8_t pt[400];
    size_t len;
    td_cbs in, v, a;
    uint8_t version;
    bool ok = false;
    memset(p, 0, sizeof(*p));
    if (!open_sealed(c, TICKET_LABEL, td_cbs_data(identity), td_cbs_len(identity), pt, sizeof(pt),
                     &len))
        goto out;
    td_cbs_init(&in, pt, len);
    if (!td_cbs_get_u8(&in, &version) || version != 1 || !td_cbs_get_u16(&in, &p->suite) ||
        !td_cbs_get_u8_prefixed(&in, &v) || td_cbs_len(&v) > sizeof(p->psk))
        goto out;
    p->psk_len = td_cbs_len(&v);
    if (!td_cbs_copy_bytes(&v, p->psk, p->psk_len))
        goto out;
    if (!td_cbs_get_u64(&in, &p->issued_ms) || !td_cbs_get_u32(&in, &p->lifetime_s) ||
        !td_cbs_get_u32(&in, &p->age_add) || !td_cbs_get_u32(&in, &p->max_early_data) ||
        !td_cbs_get_u8_prefixed(&in, &a) || td_cbs_len(&a) >= sizeof(p->alpn) ||
        td_cbs_len(&in) != 0)
        goto out;
    memcpy(p->alpn, td_cbs_data(&a), td_cbs_len(&a));
    p->resumption = true;
    ok = true;
out:
    td_cleanse(pt, sizeof(pt));
    return ok;
}

/* An identity of cfg->psks, or one of our tickets. */
static bool lookup_psk(td_conn *c, const td_cbs *identity, td_srv_psk *p)
{
    const td_config *cfg = c->cfg;
    for (size_t i = 0; i < cfg->num_psks; i++) {
        const td_psk_entry *e = &cfg->psks[i];
        if (!td_cbs_mem_equal(identity, e->identity, e->identity_len) ||
            e->psk_len > sizeof(p->psk))
            continue;
        memset(p, 0, sizeof(*p));
        p->suite = e->suite;
        memcpy(p->psk, e->psk, e->psk_len);
        p->psk_len = e->psk_len;
        p->resumption = e->resumption;
        p->issued_ms = e->issued_ms;
        p->lifetime_s = e->lifetime_s;
        p->age_add = e->age_add;
        p->max_early_data = e->max_early_data;
        if (e->alpn != NULL && strlen(e->alpn) < sizeof(p->alpn))
            memcpy(p->alpn, e->alpn, strlen(e->alpn) + 1);
        return true;
    }
    return open_ticket(c, identity, p);
}

bool td_srv_ticket_age_ok(td_conn *c, const td_client_hello *ch, const td_srv_hello *h)
{
    /* TOL-EXTERNAL-PSK-AGE: an external PSK's age is ignored. */
    if (!h->psk_data.resumption)
        return true;
    uint32_t tolerance = c->cfg->ticket_age_tolerance_ms ? c->cfg->ticket_age_tolerance_ms : 10000;
    /* §4.2.11.1: the client's age is obfuscated_ticket_age - ticket_age_add (mod 2^32). */
    uint32_t client_age =
        ch->ext.psk_identities[h->psk_index].obfuscated_ticket_age - h->psk_data.age_add;
    uint64_t now = td_clock_now_ms(&c->clock);
    uint64_t server_age = now > h->psk_data.issued_ms ? now - h->psk_data.issued_ms : 0;
    uint64_t diff = server_age > client_age ? server_age - client_age : client_age - server_age;
    /* §8.3: outside the window, 0-RTT is refused but the PSK may be used. */
    return diff <= tolerance;
}

/* §4.2.11.2: the binder of identity |i| over Truncate(ClientHello) (and
 * the HRR messages already in the transcript). */
static td_err check_binder(td_conn *c, const td_client_hello *ch, const uint8_t *raw, size_t prefix,
                           size_t i, const td_srv_psk *p)
{
    td_keysched ks;
    uint8_t key[TD_MAX_HASH_LEN], hash[TD_MAX_HASH_LEN], binder[TD_MAX_HASH_LEN];
    td_hash_alg alg = c->suite->hash;
    size_t hash_len = td_hash_len(alg);
    const td_cbs *got = &ch->ext.psk_binders[i];
    td_err ret = TD_OK;
    /* Fuzzer mode (conn.h): the binder's value is not checked, its length
     * still is (§4.2.11: a binder that "does not validate"; §6.2 decrypt_error). */
    if (c->cfg->fuzzer_mode) {
        if (td_cbs_len(got) != hash_len && !TD_SITE_OFF(TD_RULE_PSK_BINDER_INVALID))
            return td_diag_set(
                &c->status.diag, TD_ERR_DECRYPT, TD_RULE_PSK_BINDER_INVALID, 0, __FILE__, __LINE__,
                "binder of PSK identity %zu has %zu bytes, not %zu", i, td_cbs_len(got), hash_len);
        return TD_OK;
    }
    td_keysched_init(&ks, c->crypto, alg);
    TD_GUARD(td_keysched_early(&ks, p->psk, p->psk_len));
    TD_GUARD(
        td_keysched_derive(&ks, p->resumption ? TD_KEYSCHED_RES_BINDER : TD_KEYSCHED_EXT_BINDER, NULL, key));
    TD_GUARD(td_transcript_peek_with(&c->transcript, raw, prefix, hash, NULL));
    TD_GUARD(td_keysched_binder(c->crypto, alg, key, hash, binder));
    /* §4.2.11: "If this value is not present or does not validate, the server
     * MUST abort the handshake"; §6.2 lists a bad PSK binder under decrypt_error (S14).
     * Compared in constant time. */
    if ((td_cbs_len(got) != hash_len || !td_ct_equal(td_cbs_data(got), binder, hash_len)) &&
        !TD_SITE_OFF(TD_RULE_PSK_BINDER_INVALID))
        ret = td_diag_set(&c->status.diag, TD_ERR_DECRYPT, TD_RULE_PSK_BINDER_INVALID, 0, __FILE__,
                          __LINE__, "binder of PSK identity %zu does not verify", i);
out:
    td_keysched_cleanup(&ks);
    td_cleanse(key, sizeof(key));
    td_cleanse(binder, sizeof(binder));
    return ret;
}

td_err td_srv_choose_psk(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len,
                         td_srv_hello *h)
{
    const td_client_hello *ch = &msg->u.ch;
    const td_ext_data *d = &ch->ext;
    size_t max = c->cfg->max_psk_identities ? c->cfg->max_psk_identities : 8;
    size_t prefix;
    /* §4.2.11: binders count == identities count is checked by the codec
     * (PSK-BINDER-MISSING, S12); pre_shared_key last (PSK-NOT-LAST). */
    /* §4.2.11.2: the binders list (u16 length, u8-prefixed binders) ends
     * the ClientHello: the parser has checked that pre_shared_key is the
     * last extension and the extensions block the end of the message. */
    size_t tail = 2;
    for (size_t i = 0; i < d->num_psk_binders; i++)
        tail += 1 + td_cbs_len(&d->psk_binders[i]);
    if (tail > raw_len)
        TD_ABORT(c, TD_ERR_ARG, TD_RULE_NONE, 0, "binders longer than the ClientHello");
    prefix = raw_len - tail;
    uint64_t now = td_clock_now_ms(&c->clock);
    for (size_t i = 0; i < d->num_psk_identities && i < max; i++) {
        td_srv_psk p;
        /* TOL-UNKNOWN-PSK: identities we cannot open are ignored. */
        if (!lookup_psk(c, &d->psk_identities[i].identity, &p))
            continue;
        const td_suite *ps = td_suite_get(p.suite);
        /* §4.2.11: the PSK's hash must be the selected suite's hash. */
        if (ps == NULL || ps->hash != h->suite->hash || p.psk_len != td_hash_len(ps->hash))
            continue;
        /* §4.6.1: an expired ticket (server clock) is not used. */
        if (p.resumption && now > p.issued_ms && now - p.issued_ms > (uint64_t)p.lifetime_s * 1000)
            continue;
        td_err err = check_binder(c, ch, raw, prefix, i, &p);
        if (err != TD_OK) {
            td_cleanse(&p, sizeof(p));
            return err;
        }
        h->psk = true;
        h->psk_index = (uint16_t)i;
        h->psk_data = p;
        td_cleanse(&p, sizeof(p));
        return TD_OK;
    }
    return TD_OK;
}

/* ---- cookies ---- */

td_err td_srv_make_cookie(td_conn *c, const uint8_t *ch1_hash, size_t hash_len, uint16_t group,
                          uint8_t *out, size_t cap, size_t *out_len)
{
    uint8_t pt[64];
    td_cbb cbb, v;
    uint8_t *data;
    size_t len;
    if (!td_cbb_init_fixed(&cbb, pt, sizeof(pt)))
        return TD_ERR_NOMEM;
    if (!td_cbb_add_u8(&cbb, 1) || !td_cbb_add_u16(&cbb, c->suite->id) ||
        !td_cbb_add_u16(&cbb, group) || !td_cbb_add_u8_prefixed(&cbb, &v) ||
        !td_cbb_add_bytes(&v, ch1_hash, hash_len) || !td_cbb_finish(&cbb, &data, &len))
        return TD_ERR_LIMIT;
    return seal(c, COOKIE_LABEL, pt, len, out, cap, out_len);
}

bool td_srv_cookie_ok(td_conn *c, const uint8_t *cookie, size_t len, const uint8_t *ch1_hash,
                      size_t hash_len)
{
    uint8_t pt[64];
    size_t pt_len;
    td_cbs in, h;
    uint8_t version;
    uint16_t suite, group;
    if (!open_sealed(c, COOKIE_LABEL, cookie, len, pt, sizeof(pt), &pt_len))
        return false;
    td_cbs_init(&in, pt, pt_len);
    return td_cbs_get_u8(&in, &version) && version == 1 && td_cbs_get_u16(&in, &suite) &&
           suite == c->suite->id && td_cbs_get_u16(&in, &group) && group == c->hrr_group &&
           td_cbs_get_u8_prefixed(&in, &h) && td_cbs_len(&in) == 0 &&
           td_cbs_mem_equal(&h, ch1_hash, hash_len);
}
