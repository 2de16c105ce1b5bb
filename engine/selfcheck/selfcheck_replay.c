/* engine/selfcheck/selfcheck_replay.c -- the RFC 8448 handshake replay: messages,
 * key schedule, records, key exchange, CertificateVerify. */
#include <stdlib.h>
#include <string.h>

#include "selfcheck_int.h"

const td_msg *td_selfcheck_parse(td_selfcheck_ctx *s, const td_selfcheck_msg *m, td_diag *diag)
{
    td_msg_ctx ctx = {.hash_len = s->hash_len, .sh_mode = TD_SH_AUTO};
    if (td_msg_parse_handshake(m->data, m->len, &ctx, &s->parsed, diag) != TD_OK)
        return NULL;
    return &s->parsed;
}

/* ---- gathering ---- */

/* The full message for a "construct" row. §4 prints only the ClientHello
 * prefix the binder covers (its length field says more): the full message
 * opens the next handshake record the client sends. */
static bool full_message(td_selfcheck_ctx *s, size_t i, const uint8_t **out, size_t *out_len)
{
    const td_tsv_row *row = s->rows[i];
    if (row->len < 4) {
        td_selfcheck_check(s, row->step, false, "message framing", "line %zu: shorter than a header",
                 row->line);
        return false;
    }
    size_t declared = (size_t)row->data[1] << 16 | (size_t)row->data[2] << 8 | row->data[3];
    if (declared + 4 == row->len) {
        *out = row->data;
        *out_len = row->len;
        return true;
    }
    if (declared + 4 < row->len) {
        td_selfcheck_check(s, row->step, false, "message framing",
                 "line %zu: %zu bytes but the header says %zu", row->line, row->len, declared + 4);
        return false;
    }
    for (size_t j = i + 1; j < s->num_rows; j++) {
        const td_tsv_row *p = s->rows[j];
        if (p->who != row->who || p->name == NULL || strcmp(p->name, "payload") != 0 ||
            strcmp(p->desc, "send handshake record:") != 0)
            continue;
        bool ok = p->len >= declared + 4 && memcmp(p->data, row->data, row->len) == 0;
        td_selfcheck_check(s, row->step, ok, "truncated message continues in the next record",
                 ok ? "%zu of %zu bytes printed" : "line %zu: the record does not carry it",
                 ok ? row->len : p->line, declared + 4);
        *out = p->data;
        *out_len = declared + 4;
        return ok;
    }
    td_selfcheck_check(s, row->step, false, "message framing",
             "line %zu: truncated message and no record carries the rest", row->line);
    return false;
}

static bool find_key_rows(const td_selfcheck_ctx *s, td_tsv_who who, const td_tsv_row **priv,
                          const td_tsv_row **pub, uint16_t *group)
{
    *priv = *pub = NULL;
    for (size_t i = 0; i < s->num_rows; i++) {
        const td_tsv_row *r = s->rows[i];
        if (r->who != who || r->name == NULL || strncmp(r->desc, "create an ephemeral ", 20) != 0)
            continue;
        *group = strstr(r->desc, "P-256") ? TD_GROUP_SECP256R1 : TD_GROUP_X25519;
        if (strcmp(r->name, "private key") == 0)
            *priv = r;
        else if (strcmp(r->name, "public key") == 0)
            *pub = r;
    }
    return *priv != NULL && *pub != NULL;
}

static const td_tsv_row *find_row(const td_selfcheck_ctx *s, const char *desc, const char *name)
{
    for (size_t i = 0; i < s->num_rows; i++)
        if (s->rows[i]->name != NULL && strcmp(s->rows[i]->desc, desc) == 0 &&
            strcmp(s->rows[i]->name, name) == 0)
            return s->rows[i];
    return NULL;
}

/* (EC)DHE from the client's private key and the server's public key, checked
 * against the server's view; if the crypto layer has no key exchange, the
 * trace's IKM is taken and the report says so. */
static void gather_ecdhe(td_selfcheck_ctx *s)
{
    const td_tsv_row *cpriv, *cpub, *spriv, *spub;
    uint16_t cgroup = 0, sgroup = 0;
    bool have_c = find_key_rows(s, TD_TSV_CLIENT, &cpriv, &cpub, &cgroup);
    bool have_s = find_key_rows(s, TD_TSV_SERVER, &spriv, &spub, &sgroup);
    if (!have_c || !have_s)
        return; /* psk_ke: no (EC)DHE, zeros (§7.1) */
    td_err ret = td_selfcheck_kex_shared(s, cgroup, cpriv, spub, spriv, cpub);
    if (ret == TD_OK)
        return;
    const td_tsv_row *ikm = find_row(s, "extract secret \"handshake\":", "IKM");
    if (ret == TD_ERR_UNSUPPORTED && ikm != NULL && ikm->len <= sizeof(s->ecdhe)) {
        memcpy(s->ecdhe, ikm->data, ikm->len);
        s->ecdhe_len = ikm->len;
        s->have_ecdhe = true;
        s->ecdhe_from_trace = true;
        td_selfcheck_note(s->run, "section %d: (EC)DHE shared secret taken from the trace's IKM "
                "(key exchange for this group not available)", s->section);
        return;
    }
    td_selfcheck_check(s, cpriv->step, false, "(EC)DHE shared secret", "%s", td_err_name(ret));
}

bool td_selfcheck_gather(td_selfcheck_ctx *s)
{
    for (size_t i = 0; i < s->num_rows; i++) {
        const td_tsv_row *row = s->rows[i];
        if (row->name == NULL || strncmp(row->desc, "construct a ", 12) != 0)
            continue;
        if (s->num_msgs == TD_SELFCHECK_MAX_MSGS) {
            td_selfcheck_check(s, row->step, false, "messages", "more than %d messages", TD_SELFCHECK_MAX_MSGS);
            return false;
        }
        td_selfcheck_msg *m = &s->msgs[s->num_msgs];
        if (!full_message(s, i, &m->data, &m->len))
            return false;
        m->who = row->who;
        m->row = row;
        s->num_msgs++;
    }
    const td_selfcheck_msg *ch = NULL;
    uint16_t suite_id = 0;
    bool have_sh = false;
    for (size_t i = 0; i < s->num_msgs; i++) {
        td_selfcheck_msg *m = &s->msgs[i];
        m->type = m->data[0]; /* full_message: at least a header */
        if (m->type == TD_MSG_CLIENT_HELLO)
            ch = m;
        if (m->type != TD_MSG_CLIENT_HELLO && m->type != TD_MSG_SERVER_HELLO)
            continue;
        td_diag diag;
        td_diag_clear(&diag);
        const td_msg *p = td_selfcheck_parse(s, m, &diag);
        if (p == NULL) {
            /* Reported (only when it fails, so a good trace's checks are
             * unchanged) and the replay goes on: what differs downstream is
             * worth seeing too. Unparsed, it offers no PSK and is no HRR. */
            td_selfcheck_check(s, m->row->step, false, "ClientHello and ServerHello parse",
                        "line %zu: %s: %s: %s", m->row->line, td_msg_type_name(m->type),
                        td_err_name(diag.err), diag.text);
            continue;
        }
        if (m->type == TD_MSG_CLIENT_HELLO) {
            m->has_psk = td_exts_find_const(&p->u.ch.exts, TD_EXT_PRE_SHARED_KEY) != NULL;
            m->has_early_data = td_exts_find_const(&p->u.ch.exts, TD_EXT_EARLY_DATA) != NULL;
        } else {
            m->is_hrr = p->u.sh.is_hrr;
            suite_id = p->u.sh.cipher_suite;
            have_sh |= !m->is_hrr;
        }
    }
    s->suite = have_sh ? td_suite_get(suite_id) : NULL;
    if (ch == NULL || s->suite == NULL) {
        td_selfcheck_check(s, -1, false, "ClientHello and ServerHello found",
                 "no usable ClientHello/ServerHello (suite 0x%04x)", suite_id);
        return false;
    }
    s->alg = s->suite->hash;
    s->hash_len = td_hash_len(s->alg);
    s->psk_mode = ch->has_psk;
    s->early_data = s->psk_mode && ch->has_early_data;
    if (s->psk_mode) {
        const td_tsv_row *ikm = find_row(s, "extract secret \"early\":", "IKM");
        if (s->run->resumption_psk_len) {
            memcpy(s->psk, s->run->resumption_psk, s->run->resumption_psk_len);
            s->psk_len = s->run->resumption_psk_len;
        } else if (ikm != NULL && ikm->len <= sizeof(s->psk)) {
            memcpy(s->psk, ikm->data, ikm->len);
            s->psk_len = ikm->len;
            td_selfcheck_note(s->run, "section %d: PSK taken from the trace (no earlier ticket)", s->section);
        } else {
            td_selfcheck_check(s, -1, false, "PSK", "no ticket from section 3 and no IKM printed");
            return false;
        }
    }
    gather_ecdhe(s);
    return true;
}

/* ---- key schedule ---- */

static void put_info(td_selfcheck_ctx *s, td_selfcheck_id id, const char *field, size_t length, const char *label,
                     const uint8_t *ctx, size_t ctx_len)
{
    uint8_t info[TD_KEYSCHED_MAX_HKDF_LABEL_LEN];
    size_t n = 0;
    if (td_keysched_hkdf_label((uint16_t)length, (const uint8_t *)label, strlen(label), ctx, ctx_len,
                         info, sizeof(info), &n) == TD_OK)
        td_selfcheck_put(s, id, field, info, n);
}

/* A Derive-Secret / Expand-Label step as the trace prints it. */
static void put_expand(td_selfcheck_ctx *s, td_selfcheck_id id, const uint8_t *prk, const char *label,
                       const uint8_t *ctx, size_t ctx_len, const uint8_t *expanded, size_t len)
{
    td_selfcheck_put(s, id, "PRK", prk, s->hash_len);
    td_selfcheck_put(s, id, "hash", ctx, ctx_len);
    put_info(s, id, "info", len, label, ctx, ctx_len);
    td_selfcheck_put(s, id, "expanded", expanded, len);
}

static td_err put_keys(td_selfcheck_ctx *s, td_selfcheck_id id, const uint8_t *secret)
{
    uint8_t key[TD_MAX_KEY_LEN], iv[TD_AEAD_NONCE_LEN];
    TD_CHECK(td_keysched_traffic_keys(s->run->crypto, s->suite, secret, key, iv));
    td_selfcheck_put(s, id, "PRK", secret, s->hash_len);
    put_info(s, id, "key info", s->suite->key_len, "key", NULL, 0);
    td_selfcheck_put(s, id, "key expanded", key, s->suite->key_len);
    put_info(s, id, "iv info", TD_AEAD_NONCE_LEN, "iv", NULL, 0);
    td_selfcheck_put(s, id, "iv expanded", iv, TD_AEAD_NONCE_LEN);
    td_cleanse(key, sizeof(key));
    return TD_OK;
}

static td_err derive(td_selfcheck_ctx *s, td_keysched *ks, td_selfcheck_id id, td_keysched_secret which,
                     const uint8_t *th, uint8_t *out)
{
    TD_CHECK(td_keysched_derive(ks, which, th, out));
    const uint8_t *prk = which <= TD_KEYSCHED_EARLY_EXPORTER ? ks->early
                         : which <= TD_KEYSCHED_S_HS_TRAFFIC ? ks->handshake
                                                       : ks->master;
    put_expand(s, id, prk, td_keysched_secret_label(which), th, s->hash_len, out, s->hash_len);
    return TD_OK;
}

static void set_secret(td_selfcheck_ctx *s, td_tsv_who who, td_selfcheck_epoch e, const uint8_t *secret)
{
    memcpy(s->sides[who].secret[e], secret, s->hash_len);
    s->sides[who].have_secret[e] = true;
}

/* Finished (§4.4.4) over |th|; checks the Finished message's verify_data. */
static td_err finished(td_selfcheck_ctx *s, const td_selfcheck_msg *m, const uint8_t *th)
{
    bool server = m->who == TD_TSV_SERVER;
    td_selfcheck_id id = server ? TD_SELFCHECK_FIN_S : TD_SELFCHECK_FIN_C;
    td_selfcheck_epoch e = TD_SELFCHECK_EPOCH_HS;
    if (!s->sides[m->who].have_secret[e])
        return TD_ERR_ARG;
    const uint8_t *base = s->sides[m->who].secret[e];
    uint8_t key[TD_MAX_HASH_LEN], vd[TD_MAX_HASH_LEN];
    TD_CHECK(td_keysched_finished_key(s->run->crypto, s->alg, base, key));
    TD_CHECK(td_keysched_finished(s->run->crypto, s->alg, base, th, vd));
    td_selfcheck_put(s, id, "PRK", base, s->hash_len);
    td_selfcheck_put(s, id, "hash", NULL, 0);
    put_info(s, id, "info", s->hash_len, "finished", NULL, 0);
    td_selfcheck_put(s, id, "expanded", key, s->hash_len);
    td_selfcheck_put(s, id, "finished", vd, s->hash_len);
    const td_msg *p = td_selfcheck_parse(s, m, NULL); /* verify_data is Hash.length bytes */
    bool ok = p != NULL && memcmp(td_cbs_data(&p->u.fin.verify_data), vd, s->hash_len) == 0;
    td_selfcheck_check(s, m->row->step, ok, server ? "server Finished message verify_data"
                                         : "client Finished message verify_data",
             ok ? "HMAC over the transcript" : "line %zu: verify_data differs", m->row->line);
    td_cleanse(key, sizeof(key));
    return TD_OK;
}

/* §4.2.11.2 binder over the truncated ClientHello, checked against the
 * binder the ClientHello carries. */
static td_err binder(td_selfcheck_ctx *s, td_keysched *ks, td_transcript *t, const td_selfcheck_msg *ch)
{
    uint8_t bk[TD_MAX_HASH_LEN], fk[TD_MAX_HASH_LEN], bh[TD_MAX_HASH_LEN], b[TD_MAX_HASH_LEN];
    size_t prefix_len;
    const td_msg *p = td_selfcheck_parse(s, ch, NULL);
    if (p == NULL)
        return TD_ERR_DECODE; /* not reached: td_selfcheck_gather parsed it to find the PSK */
    TD_CHECK(td_msg_ch_binder_prefix_len(p, ch->data, &prefix_len));
    /* One PskBinderEntry, of the PSK's hash length (a view into |ch|). */
    td_cbs carried = {0};
    bool ok = p->u.ch.ext.num_psk_binders == 1;
    if (ok)
        carried = p->u.ch.ext.psk_binders[0];
    ok = ok && td_cbs_len(&carried) == s->hash_len;
    TD_CHECK(td_keysched_derive(ks, TD_KEYSCHED_RES_BINDER, NULL, bk));
    /* The PSK's hash, whether or not the transcript has fixed one yet. */
    TD_CHECK(td_transcript_peek_as(t, s->alg, ch->data, prefix_len, bh));
    TD_CHECK(td_keysched_finished_key(s->run->crypto, s->alg, bk, fk));
    TD_CHECK(td_keysched_binder(s->run->crypto, s->alg, bk, bh, b));
    td_selfcheck_put(s, TD_SELFCHECK_BINDER, "ClientHello prefix", ch->data, prefix_len);
    td_selfcheck_put(s, TD_SELFCHECK_BINDER, "binder hash", bh, s->hash_len);
    td_selfcheck_put(s, TD_SELFCHECK_BINDER, "PRK", bk, s->hash_len);
    td_selfcheck_put(s, TD_SELFCHECK_BINDER, "hash", NULL, 0);
    put_info(s, TD_SELFCHECK_BINDER, "info", s->hash_len, "finished", NULL, 0);
    td_selfcheck_put(s, TD_SELFCHECK_BINDER, "expanded", fk, s->hash_len);
    td_selfcheck_put(s, TD_SELFCHECK_BINDER, "finished", b, s->hash_len);
    ok = ok && memcmp(td_cbs_data(&carried), b, s->hash_len) == 0;
    td_selfcheck_check(s, ch->row->step, ok, "binder carried in the ClientHello",
             ok ? "equals the computed binder" : "line %zu: differs", ch->row->line);
    return TD_OK;
}

static td_err after_server_hello(td_selfcheck_ctx *s, td_keysched *ks, const uint8_t *th)
{
    uint8_t salt[TD_MAX_HASH_LEN], sec[TD_MAX_HASH_LEN], empty[TD_MAX_HASH_LEN];
    uint8_t zeros[TD_MAX_HASH_LEN] = {0};
    size_t hl = s->hash_len;
    TD_CHECK(td_hash(s->run->crypto, s->alg, NULL, 0, empty));
    TD_CHECK(td_keysched_derived_salt(ks, TD_KEYSCHED_STAGE_EARLY, salt));
    put_expand(s, TD_SELFCHECK_DERIVED_HS, ks->early, "derived", empty, hl, salt, hl);
    TD_CHECK(td_keysched_handshake(ks, s->have_ecdhe ? s->ecdhe : NULL,
                                   s->have_ecdhe ? s->ecdhe_len : 0));
    td_selfcheck_put(s, TD_SELFCHECK_HS, "salt", salt, hl);
    td_selfcheck_put(s, TD_SELFCHECK_HS, "IKM", s->have_ecdhe ? s->ecdhe : zeros, s->have_ecdhe ? s->ecdhe_len : hl);
    td_selfcheck_put(s, TD_SELFCHECK_HS, "secret", ks->handshake, hl);
    TD_CHECK(derive(s, ks, TD_SELFCHECK_C_HS, TD_KEYSCHED_C_HS_TRAFFIC, th, sec));
    set_secret(s, TD_TSV_CLIENT, TD_SELFCHECK_EPOCH_HS, sec);
    TD_CHECK(put_keys(s, TD_SELFCHECK_KEYS_C_HS, sec));
    TD_CHECK(derive(s, ks, TD_SELFCHECK_S_HS, TD_KEYSCHED_S_HS_TRAFFIC, th, sec));
    set_secret(s, TD_TSV_SERVER, TD_SELFCHECK_EPOCH_HS, sec);
    TD_CHECK(put_keys(s, TD_SELFCHECK_KEYS_S_HS, sec));
    TD_CHECK(td_keysched_derived_salt(ks, TD_KEYSCHED_STAGE_HANDSHAKE, salt));
    put_expand(s, TD_SELFCHECK_DERIVED_MS, ks->handshake, "derived", empty, hl, salt, hl);
    TD_CHECK(td_keysched_master(ks));
    td_selfcheck_put(s, TD_SELFCHECK_MS, "salt", salt, hl);
    td_selfcheck_put(s, TD_SELFCHECK_MS, "IKM", zeros, hl);
    td_selfcheck_put(s, TD_SELFCHECK_MS, "secret", ks->master, hl);
    td_cleanse(sec, sizeof(sec));
    return TD_OK;
}

static td_err after_server_finished(td_selfcheck_ctx *s, td_keysched *ks, const uint8_t *th)
{
    uint8_t sec[TD_MAX_HASH_LEN];
    TD_CHECK(derive(s, ks, TD_SELFCHECK_C_AP, TD_KEYSCHED_C_AP_TRAFFIC, th, sec));
    set_secret(s, TD_TSV_CLIENT, TD_SELFCHECK_EPOCH_APP, sec);
    TD_CHECK(put_keys(s, TD_SELFCHECK_KEYS_C_AP, sec));
    TD_CHECK(derive(s, ks, TD_SELFCHECK_S_AP, TD_KEYSCHED_S_AP_TRAFFIC, th, sec));
    set_secret(s, TD_TSV_SERVER, TD_SELFCHECK_EPOCH_APP, sec);
    TD_CHECK(put_keys(s, TD_SELFCHECK_KEYS_S_AP, sec));
    TD_CHECK(derive(s, ks, TD_SELFCHECK_EXP, TD_KEYSCHED_EXPORTER, th, sec));
    td_cleanse(sec, sizeof(sec));
    return TD_OK;
}

static td_err new_session_ticket(td_selfcheck_ctx *s, const td_selfcheck_msg *m)
{
    td_cbs nonce;
    uint8_t psk[TD_MAX_HASH_LEN];
    const td_selfcheck_field *res = NULL;
    for (size_t i = 0; i < s->values[TD_SELFCHECK_RES].num; i++)
        if (strcmp(s->values[TD_SELFCHECK_RES].f[i].name, "expanded") == 0)
            res = &s->values[TD_SELFCHECK_RES].f[i];
    const td_msg *p = td_selfcheck_parse(s, m, NULL);
    if (res == NULL || p == NULL)
        return TD_ERR_ARG;
    nonce = p->u.nst.ticket_nonce;
    TD_CHECK(td_keysched_resumption_psk(s->run->crypto, s->alg, res->data, td_cbs_data(&nonce),
                                  td_cbs_len(&nonce), psk));
    put_expand(s, TD_SELFCHECK_RES_PSK, res->data, "resumption", td_cbs_data(&nonce), td_cbs_len(&nonce),
               psk, s->hash_len);
    if (s->section == 3) {
        memcpy(s->run->resumption_psk, psk, s->hash_len);
        s->run->resumption_psk_len = s->hash_len;
    }
    td_cleanse(psk, sizeof(psk));
    return TD_OK;
}

/* Early secret, binder and 0-RTT secrets. */
static td_err early(td_selfcheck_ctx *s, td_keysched *ks)
{
    uint8_t zeros[TD_MAX_HASH_LEN] = {0};
    TD_CHECK(td_keysched_early(ks, s->psk_mode ? s->psk : NULL, s->psk_mode ? s->psk_len : 0));
    td_selfcheck_put(s, TD_SELFCHECK_EARLY, "salt", NULL, 0);
    td_selfcheck_put(s, TD_SELFCHECK_EARLY, "IKM", s->psk_mode ? s->psk : zeros, s->psk_mode ? s->psk_len : s->hash_len);
    td_selfcheck_put(s, TD_SELFCHECK_EARLY, "secret", ks->early, s->hash_len);
    return TD_OK;
}

static td_err client_hello(td_selfcheck_ctx *s, td_keysched *ks, td_transcript *t, const td_selfcheck_msg *m)
{
    uint8_t th[TD_MAX_HASH_LEN], sec[TD_MAX_HASH_LEN];
    if (s->psk_mode && m->has_psk)
        TD_CHECK(binder(s, ks, t, m));
    /* Before the ServerHello the hash is unknown: the transcript buffers. */
    TD_CHECK(td_transcript_add(t, m->data, m->len));
    if (!s->early_data || !m->has_early_data)
        return TD_OK;
    TD_CHECK(td_transcript_set_hash(t, s->alg));
    TD_CHECK(td_transcript_peek(t, th, NULL));
    TD_CHECK(derive(s, ks, TD_SELFCHECK_C_E, TD_KEYSCHED_C_EARLY_TRAFFIC, th, sec));
    set_secret(s, TD_TSV_CLIENT, TD_SELFCHECK_EPOCH_EARLY, sec);
    TD_CHECK(put_keys(s, TD_SELFCHECK_KEYS_C_E, sec));
    TD_CHECK(derive(s, ks, TD_SELFCHECK_E_EXP, TD_KEYSCHED_EARLY_EXPORTER, th, sec));
    td_cleanse(sec, sizeof(sec));
    return TD_OK;
}

static td_err replay_message(td_selfcheck_ctx *s, td_keysched *ks, td_transcript *t, size_t i,
                             size_t *last_cert)
{
    const td_selfcheck_msg *m = &s->msgs[i];
    uint8_t th[TD_MAX_HASH_LEN], sec[TD_MAX_HASH_LEN];
    switch (m->type) {
    case TD_MSG_CLIENT_HELLO:
        return client_hello(s, ks, t, m);
    case TD_MSG_SERVER_HELLO:
        TD_CHECK(td_transcript_set_hash(t, s->alg));
        if (m->is_hrr) {
            /* §4.4.1: ClientHello1 becomes message_hash. */
            TD_CHECK(td_transcript_hrr_replace(t));
            return td_transcript_add(t, m->data, m->len);
        }
        TD_CHECK(td_transcript_add(t, m->data, m->len));
        TD_CHECK(td_transcript_peek(t, th, NULL));
        return after_server_hello(s, ks, th);
    case TD_MSG_CERTIFICATE:
        *last_cert = i;
        return td_transcript_add(t, m->data, m->len);
    case TD_MSG_CERTIFICATE_VERIFY:
        TD_CHECK(td_transcript_peek(t, th, NULL));
        td_selfcheck_verify_cv(s, *last_cert < s->num_msgs ? &s->msgs[*last_cert] : NULL, m, th);
        return td_transcript_add(t, m->data, m->len);
    case TD_MSG_FINISHED:
        TD_CHECK(td_transcript_peek(t, th, NULL));
        TD_CHECK(finished(s, m, th));
        TD_CHECK(td_transcript_add(t, m->data, m->len));
        TD_CHECK(td_transcript_peek(t, th, NULL));
        if (m->who == TD_TSV_SERVER)
            return after_server_finished(s, ks, th);
        TD_CHECK(derive(s, ks, TD_SELFCHECK_RES, TD_KEYSCHED_RES_MASTER, th, sec));
        td_cleanse(sec, sizeof(sec));
        return TD_OK;
    case TD_MSG_NEW_SESSION_TICKET:
        /* §4.4.1: post-handshake messages are not in the transcript. */
        return new_session_ticket(s, m);
    default:
        return td_transcript_add(t, m->data, m->len);
    }
}

void td_selfcheck_schedule(td_selfcheck_ctx *s)
{
    td_transcript t;
    td_keysched ks;
    size_t i = 0, last_cert = SIZE_MAX;
    td_transcript_init(&t, s->run->crypto, 0);
    td_keysched_init(&ks, s->run->crypto, s->alg);
    td_err ret = early(s, &ks);
    for (; ret == TD_OK && i < s->num_msgs; i++)
        ret = replay_message(s, &ks, &t, i, &last_cert);
    if (ret != TD_OK) {
        const td_selfcheck_msg *m = &s->msgs[i < s->num_msgs ? i : s->num_msgs - 1];
        td_selfcheck_check(s, m->row->step, false, "key schedule replay", "line %zu: %s", m->row->line,
                 td_err_name(ret));
    }
    td_keysched_cleanup(&ks);
    td_transcript_cleanup(&t);
}

/* ---- rows: key pairs and constructed messages ---- */

void td_selfcheck_check_key_pair_row(td_selfcheck_ctx *s, const td_tsv_row *row)
{
    if (strcmp(row->name, "public key") != 0)
        return; /* the private key is an input */
    const td_tsv_row *priv = NULL;
    for (size_t i = 0; i < s->num_rows; i++)
        if (s->rows[i]->step == row->step && s->rows[i]->who == row->who &&
            s->rows[i]->name != NULL && strcmp(s->rows[i]->name, "private key") == 0)
            priv = s->rows[i];
    uint16_t group = strstr(row->desc, "P-256") ? TD_GROUP_SECP256R1 : TD_GROUP_X25519;
    uint8_t pub[TD_MAX_SHARE_LEN];
    size_t pub_len = 0;
    td_err ret = priv ? td_selfcheck_kex_public(s, group, priv, pub, &pub_len) : TD_ERR_ARG;
    if (ret == TD_ERR_UNSUPPORTED)
        return; /* noted once by gather_ecdhe */
    td_selfcheck_compare(s, row, "from the private key", ret == TD_OK ? pub : NULL, pub_len);
}
