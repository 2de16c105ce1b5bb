/* engine/keysched.c -- the TLS 1.3 key schedule (RFC 8446 §7), transcript
 * hash (§4.4.1), Finished (§4.4.4), binders (§4.2.11.2), resumption PSK
 * (§4.6.1), exporters (§7.5) and NSS key log lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlsdrill/array.h"
#include "tlsdrill/bytes.h"
#include "tlsdrill/keysched.h"

static const char k_label_prefix[] = "tls13 ";
#define LABEL_PREFIX_LEN (sizeof(k_label_prefix) - 1)

/* ---- §7.1 primitives ---- */

/* §7.1:
 *   struct {
 *       uint16 length = Length;
 *       opaque label<7..255> = "tls13 " + Label;
 *       opaque context<0..255> = Context;
 *   } HkdfLabel; */
td_err td_keysched_hkdf_label(uint16_t length, const uint8_t *label, size_t label_len,
                        const uint8_t *context, size_t context_len, uint8_t *out, size_t cap,
                        size_t *out_len)
{
    if (label_len > TD_KEYSCHED_MAX_LABEL_LEN || context_len > TD_KEYSCHED_MAX_CONTEXT_LEN)
        return TD_ERR_ARG;
    if ((label == NULL && label_len) || (context == NULL && context_len))
        return TD_ERR_ARG;
    size_t need = 2 + 1 + LABEL_PREFIX_LEN + label_len + 1 + context_len;
    if (cap < need)
        return TD_ERR_ARG;
    size_t n = 0;
    out[n++] = (uint8_t)(length >> 8);
    out[n++] = (uint8_t)length;
    out[n++] = (uint8_t)(LABEL_PREFIX_LEN + label_len);
    memcpy(out + n, k_label_prefix, LABEL_PREFIX_LEN);
    n += LABEL_PREFIX_LEN;
    if (label_len)
        memcpy(out + n, label, label_len);
    n += label_len;
    out[n++] = (uint8_t)context_len;
    if (context_len)
        memcpy(out + n, context, context_len);
    n += context_len;
    *out_len = n;
    return TD_OK;
}

static td_err expand_label_bytes(td_crypto *crypto, td_hash_alg alg, const uint8_t *secret,
                                 const uint8_t *label, size_t label_len, const uint8_t *context,
                                 size_t context_len, uint8_t *out, size_t out_len)
{
    uint8_t info[TD_KEYSCHED_MAX_HKDF_LABEL_LEN];
    size_t info_len;
    /* RFC 5869 §2.3: L <= 255*HashLen; HkdfLabel.length is a uint16. */
    if (out_len > 255 * td_hash_len(alg) || out_len > UINT16_MAX)
        return TD_ERR_ARG;
    TD_CHECK(td_keysched_hkdf_label((uint16_t)out_len, label, label_len, context, context_len, info,
                              sizeof(info), &info_len));
    return td_hkdf_expand(crypto, alg, secret, td_hash_len(alg), info, info_len, out, out_len);
}

td_err td_keysched_expand_label(td_crypto *crypto, td_hash_alg alg, const uint8_t *secret,
                          const char *label, const uint8_t *context, size_t context_len,
                          uint8_t *out, size_t out_len)
{
    if (label == NULL)
        return TD_ERR_ARG;
    return expand_label_bytes(crypto, alg, secret, (const uint8_t *)label, strlen(label), context,
                              context_len, out, out_len);
}

/* §7.1: Derive-Secret(Secret, Label, Messages) =
 *   HKDF-Expand-Label(Secret, Label, Transcript-Hash(Messages), Hash.length) */
td_err td_keysched_derive_secret(td_crypto *crypto, td_hash_alg alg, const uint8_t *secret,
                           const char *label, const uint8_t *transcript_hash, uint8_t *out)
{
    size_t hl = td_hash_len(alg);
    return td_keysched_expand_label(crypto, alg, secret, label, transcript_hash, hl, out, hl);
}

td_err td_keysched_derive_secret_empty(td_crypto *crypto, td_hash_alg alg, const uint8_t *secret,
                                 const char *label, uint8_t *out)
{
    uint8_t empty_hash[TD_MAX_HASH_LEN];
    TD_CHECK(td_hash(crypto, alg, NULL, 0, empty_hash));
    return td_keysched_derive_secret(crypto, alg, secret, label, empty_hash, out);
}

/* ---- §7.3, §7.2 ---- */

/* §7.3: [sender]_write_key = HKDF-Expand-Label(Secret, "key", "", key_length)
 *       [sender]_write_iv  = HKDF-Expand-Label(Secret, "iv", "", iv_length) */
td_err td_keysched_traffic_keys(td_crypto *crypto, const td_suite *suite, const uint8_t *secret,
                          uint8_t *out_key, uint8_t out_iv[TD_AEAD_NONCE_LEN])
{
    if (suite == NULL)
        return TD_ERR_ARG;
    TD_CHECK(td_keysched_expand_label(crypto, suite->hash, secret, "key", NULL, 0, out_key,
                                suite->key_len));
    return td_keysched_expand_label(crypto, suite->hash, secret, "iv", NULL, 0, out_iv,
                              TD_AEAD_NONCE_LEN);
}

/* §7.2: application_traffic_secret_N+1 =
 *   HKDF-Expand-Label(application_traffic_secret_N, "traffic upd", "", Hash.length) */
td_err td_keysched_next_traffic_secret(td_crypto *crypto, td_hash_alg alg, const uint8_t *secret,
                                 uint8_t *out)
{
    return td_keysched_expand_label(crypto, alg, secret, "traffic upd", NULL, 0, out, td_hash_len(alg));
}

/* ---- §4.4.4, §4.2.11.2 ---- */

/* §4.4.4: finished_key = HKDF-Expand-Label(BaseKey, "finished", "", Hash.length) */
td_err td_keysched_finished_key(td_crypto *crypto, td_hash_alg alg, const uint8_t *base_key,
                          uint8_t *out)
{
    return td_keysched_expand_label(crypto, alg, base_key, "finished", NULL, 0, out, td_hash_len(alg));
}

/* §4.4.4: verify_data = HMAC(finished_key, Transcript-Hash(Handshake Context,
 *   Certificate*, CertificateVerify*)) */
td_err td_keysched_finished(td_crypto *crypto, td_hash_alg alg, const uint8_t *base_key,
                      const uint8_t *transcript_hash, uint8_t *out)
{
    uint8_t key[TD_MAX_HASH_LEN];
    size_t hl = td_hash_len(alg);
    td_err ret = td_keysched_finished_key(crypto, alg, base_key, key);
    if (ret == TD_OK)
        ret = td_hmac(crypto, alg, key, hl, transcript_hash, hl, out);
    td_cleanse(key, sizeof(key));
    return ret;
}

/* §4.2.11.2: "The PskBinderEntry is computed in the same way as the Finished
 * message (Section 4.4.4) but with the BaseKey being the binder_key". */
td_err td_keysched_binder(td_crypto *crypto, td_hash_alg alg, const uint8_t *binder_key,
                    const uint8_t *binder_hash, uint8_t *out)
{
    return td_keysched_finished(crypto, alg, binder_key, binder_hash, out);
}

/* ---- §4.6.1, §7.5 ---- */

/* §4.6.1: HKDF-Expand-Label(resumption_master_secret, "resumption",
 *   ticket_nonce, Hash.length) */
td_err td_keysched_resumption_psk(td_crypto *crypto, td_hash_alg alg, const uint8_t *res_master,
                            const uint8_t *nonce, size_t nonce_len, uint8_t *out)
{
    return td_keysched_expand_label(crypto, alg, res_master, "resumption", nonce, nonce_len, out,
                              td_hash_len(alg));
}

/* §7.5: TLS-Exporter(label, context_value, key_length) =
 *   HKDF-Expand-Label(Derive-Secret(Secret, label, ""), "exporter",
 *                     Hash(context_value), key_length) */
td_err td_keysched_exporter(td_crypto *crypto, td_hash_alg alg, const uint8_t *exporter_secret,
                      const uint8_t *label, size_t label_len, const uint8_t *context,
                      size_t context_len, uint8_t *out, size_t out_len)
{
    uint8_t empty_hash[TD_MAX_HASH_LEN], ctx_hash[TD_MAX_HASH_LEN], derived[TD_MAX_HASH_LEN];
    size_t hl = td_hash_len(alg);
    td_err ret;
    if ((context == NULL && context_len) || label_len > TD_KEYSCHED_MAX_LABEL_LEN)
        return TD_ERR_ARG;
    TD_GUARD(td_hash(crypto, alg, NULL, 0, empty_hash));
    TD_GUARD(expand_label_bytes(crypto, alg, exporter_secret, label, label_len, empty_hash, hl,
                                derived, hl));
    TD_GUARD(td_hash(crypto, alg, context, context_len, ctx_hash));
    TD_GUARD(expand_label_bytes(crypto, alg, derived, (const uint8_t *)"exporter", 8, ctx_hash,
                                hl, out, out_len));
out:
    td_cleanse(derived, sizeof(derived));
    return ret;
}

/* ---- §4.4.1 transcript ---- */

void td_transcript_init(td_transcript *t, td_crypto *crypto, size_t max_buffer)
{
    memset(t, 0, sizeof(*t));
    t->crypto = crypto;
    t->max_buffer = max_buffer ? max_buffer : TD_TRANSCRIPT_DEFAULT_MAX_BUFFER;
}

void td_transcript_cleanup(td_transcript *t)
{
    if (t == NULL)
        return;
    td_hash_ctx_free(t->hash);
    if (t->buf != NULL) {
        td_cleanse(t->buf, t->buf_cap);
        free(t->buf);
    }
    memset(t, 0, sizeof(*t));
}

td_err td_transcript_copy(td_transcript *dst, const td_transcript *src)
{
    uint8_t *buf = dst->buf;
    size_t cap = dst->buf_cap;
    td_hash_ctx_free(dst->hash);
    *dst = *src;
    dst->hash = NULL;
    dst->buf = buf, dst->buf_cap = cap;
    if (!td_bytes_copy_into(&dst->buf, &dst->buf_cap, src->buf, src->buf_len, src->buf_cap) ||
        (src->hash != NULL && td_hash_ctx_dup(src->hash, &dst->hash) != TD_OK)) {
        td_transcript_cleanup(dst);
        return TD_ERR_NOMEM;
    }
    return TD_OK;
}

bool td_transcript_has_hash(const td_transcript *t) { return t->hash != NULL; }

td_err td_transcript_set_hash(td_transcript *t, td_hash_alg alg)
{
    if (t->hash != NULL)
        return td_hash_ctx_alg(t->hash) == alg ? TD_OK : TD_ERR_ARG;
    td_hash_ctx *ctx = NULL;
    TD_CHECK(td_hash_ctx_new(t->crypto, alg, &ctx));
    if (t->buf_len) {
        td_err ret = td_hash_ctx_update(ctx, t->buf, t->buf_len);
        if (ret != TD_OK) {
            td_hash_ctx_free(ctx);
            return ret;
        }
    }
    t->hash = ctx;
    /* The buffer (handshake messages, no secret) stays, empty, for the
     * next transcript made in this storage (a connection's, td_conn_free). */
    t->buf_len = 0;
    return TD_OK;
}

td_err td_transcript_add(td_transcript *t, const uint8_t *msg, size_t len)
{
    if (msg == NULL && len)
        return TD_ERR_ARG;
    if (t->hash != NULL) {
        TD_CHECK(td_hash_ctx_update(t->hash, msg, len));
        t->num_msgs++;
        return TD_OK;
    }
    if (len > t->max_buffer - t->buf_len)
        return TD_ERR_LIMIT;
    if (t->buf_len + len > t->buf_cap) {
        size_t cap = t->buf_cap ? t->buf_cap : 512;
        while (cap < t->buf_len + len)
            cap = cap > t->max_buffer / 2 ? t->max_buffer : cap * 2;
        uint8_t *nb = malloc(cap);
        if (nb == NULL)
            return TD_ERR_NOMEM;
        if (t->buf_len)
            memcpy(nb, t->buf, t->buf_len);
        if (t->buf != NULL) {
            td_cleanse(t->buf, t->buf_cap);
            free(t->buf);
        }
        t->buf = nb;
        t->buf_cap = cap;
    }
    if (len)
        memcpy(t->buf + t->buf_len, msg, len);
    t->buf_len += len;
    t->num_msgs++;
    return TD_OK;
}

/* §4.4.1: "When the server responds to a ClientHello with a
 * HelloRetryRequest, the value of ClientHello1 is replaced with a special
 * synthetic handshake message of handshake type "message_hash" containing
 * Hash(ClientHello1)":
 *   Transcript-Hash(ClientHello1, HelloRetryRequest, ... Mn) =
 *     Hash(message_hash ||        (Handshake type)
 *          00 00 Hash.length  ||  (Handshake message length (bytes))
 *          Hash(ClientHello1) ||  (Hash of ClientHello1)
 *          HelloRetryRequest  || ... || Mn) */
td_err td_transcript_hrr_replace(td_transcript *t)
{
    if (t->hash == NULL || t->num_msgs != 1 || t->replaced)
        return TD_ERR_ARG;
    td_hash_alg alg = td_hash_ctx_alg(t->hash);
    size_t hl = td_hash_len(alg);
    uint8_t msg[4 + TD_MAX_HASH_LEN];
    TD_CHECK(td_hash_ctx_peek(t->hash, msg + 4));
    msg[0] = 0xfe; /* HandshakeType message_hash(254) */
    msg[1] = 0;
    msg[2] = 0;
    msg[3] = (uint8_t)hl;
    td_hash_ctx *fresh = NULL;
    TD_CHECK(td_hash_ctx_new(t->crypto, alg, &fresh));
    td_err ret = td_hash_ctx_update(fresh, msg, 4 + hl);
    if (ret != TD_OK) {
        td_hash_ctx_free(fresh);
        return ret;
    }
    td_hash_ctx_free(t->hash);
    t->hash = fresh;
    t->replaced = true;
    return TD_OK;
}

td_err td_transcript_peek(const td_transcript *t, uint8_t *out, size_t *out_len)
{
    if (t->hash == NULL)
        return TD_ERR_ARG;
    TD_CHECK(td_hash_ctx_peek(t->hash, out));
    if (out_len != NULL)
        *out_len = td_hash_len(td_hash_ctx_alg(t->hash));
    return TD_OK;
}

td_err td_transcript_peek_with(const td_transcript *t, const uint8_t *extra, size_t extra_len,
                               uint8_t *out, size_t *out_len)
{
    if (t->hash == NULL || (extra == NULL && extra_len))
        return TD_ERR_ARG;
    TD_CHECK(td_hash_ctx_peek_with(t->hash, extra, extra_len, out));
    if (out_len != NULL)
        *out_len = td_hash_len(td_hash_ctx_alg(t->hash));
    return TD_OK;
}

td_err td_transcript_peek_as(const td_transcript *t, td_hash_alg alg, const uint8_t *extra,
                             size_t extra_len, uint8_t *out)
{
    if (extra == NULL && extra_len)
        return TD_ERR_ARG;
    if (t->hash != NULL) {
        if (td_hash_ctx_alg(t->hash) != alg)
            return TD_ERR_ARG;
        return td_transcript_peek_with(t, extra, extra_len, out, NULL);
    }
    td_hash_ctx *ctx = NULL;
    td_err ret;
    TD_GUARD(td_hash_ctx_new(t->crypto, alg, &ctx));
    if (t->buf_len)
        TD_GUARD(td_hash_ctx_update(ctx, t->buf, t->buf_len));
    if (extra_len)
        TD_GUARD(td_hash_ctx_update(ctx, extra, extra_len));
    TD_GUARD(td_hash_ctx_peek(ctx, out));
out:
    td_hash_ctx_free(ctx);
    return ret;
}

td_err td_transcript_snapshot(const td_transcript *t, td_hash_ctx **out)
{
    *out = NULL;
    if (t->hash == NULL)
        return TD_ERR_ARG;
    return td_hash_ctx_dup(t->hash, out);
}

td_err td_transcript_restore(td_transcript *t, const td_hash_ctx *snap)
{
    td_hash_ctx *copy = NULL;
    if (t->hash == NULL || snap == NULL || td_hash_ctx_alg(snap) != td_hash_ctx_alg(t->hash))
        return TD_ERR_ARG;
    TD_CHECK(td_hash_ctx_dup(snap, &copy));
    td_hash_ctx_free(t->hash);
    t->hash = copy;
    return TD_OK;
}

/* ---- §7.1 the secret chain ---- */

static const struct {
    const char *label;
    td_keysched_stage stage;
    bool empty_context;
} k_secrets[] = {
    [TD_KEYSCHED_EXT_BINDER] = {"ext binder", TD_KEYSCHED_STAGE_EARLY, true},
    [TD_KEYSCHED_RES_BINDER] = {"res binder", TD_KEYSCHED_STAGE_EARLY, true},
    [TD_KEYSCHED_C_EARLY_TRAFFIC] = {"c e traffic", TD_KEYSCHED_STAGE_EARLY, false},
    [TD_KEYSCHED_EARLY_EXPORTER] = {"e exp master", TD_KEYSCHED_STAGE_EARLY, false},
    [TD_KEYSCHED_C_HS_TRAFFIC] = {"c hs traffic", TD_KEYSCHED_STAGE_HANDSHAKE, false},
    [TD_KEYSCHED_S_HS_TRAFFIC] = {"s hs traffic", TD_KEYSCHED_STAGE_HANDSHAKE, false},
    [TD_KEYSCHED_C_AP_TRAFFIC] = {"c ap traffic", TD_KEYSCHED_STAGE_MASTER, false},
    [TD_KEYSCHED_S_AP_TRAFFIC] = {"s ap traffic", TD_KEYSCHED_STAGE_MASTER, false},
    [TD_KEYSCHED_EXPORTER] = {"exp master", TD_KEYSCHED_STAGE_MASTER, false},
    [TD_KEYSCHED_RES_MASTER] = {"res master", TD_KEYSCHED_STAGE_MASTER, false},
};

const char *td_keysched_secret_label(td_keysched_secret which)
{
    if ((size_t)which >= sizeof(k_secrets) / sizeof(k_secrets[0]))
        return NULL;
    return k_secrets[which].label;
}

void td_keysched_init(td_keysched *ks, td_crypto *crypto, td_hash_alg alg)
{
    memset(ks, 0, sizeof(*ks));
    ks->crypto = crypto;
    ks->alg = alg;
    ks->hash_len = td_hash_len(alg);
    ks->stage = TD_KEYSCHED_STAGE_NONE;
}

void td_keysched_cleanup(td_keysched *ks)
{
    if (ks == NULL)
        return;
    td_cleanse(ks, sizeof(*ks));
    ks->stage = TD_KEYSCHED_STAGE_NONE;
}

/* §7.1: Early Secret = HKDF-Extract(salt = 0, IKM = PSK); "if PSK is not
 * in use, the PSK is replaced by a string of Hash.length bytes of 0". */
td_err td_keysched_early(td_keysched *ks, const uint8_t *psk, size_t psk_len)
{
    uint8_t zeros[TD_MAX_HASH_LEN] = {0};
    if (psk == NULL && psk_len)
        return TD_ERR_ARG;
    if (psk == NULL) {
        psk = zeros;
        psk_len = ks->hash_len;
    }
    TD_CHECK(td_hkdf_extract(ks->crypto, ks->alg, NULL, 0, psk, psk_len, ks->early));
    ks->stage = TD_KEYSCHED_STAGE_EARLY;
    return TD_OK;
}

td_err td_keysched_derived_salt(td_keysched *ks, td_keysched_stage from, uint8_t *out)
{
    const uint8_t *secret;
    switch (from) {
    case TD_KEYSCHED_STAGE_EARLY: secret = ks->early; break;
    case TD_KEYSCHED_STAGE_HANDSHAKE: secret = ks->handshake; break;
    case TD_KEYSCHED_STAGE_NONE:
    case TD_KEYSCHED_STAGE_MASTER:
    default: return TD_ERR_ARG;
    }
    if (ks->stage < from)
        return TD_ERR_ARG;
    /* §7.1: Derive-Secret(., "derived", "") salts the next Extract. */
    return td_keysched_derive_secret_empty(ks->crypto, ks->alg, secret, "derived", out);
}

/* §7.1: Handshake Secret = HKDF-Extract(Derive-Secret(Early Secret,
 * "derived", ""), (EC)DHE); zeros when (EC)DHE is not in use. */
td_err td_keysched_handshake(td_keysched *ks, const uint8_t *ecdhe, size_t ecdhe_len)
{
    uint8_t salt[TD_MAX_HASH_LEN], zeros[TD_MAX_HASH_LEN] = {0};
    td_err ret;
    if (ks->stage != TD_KEYSCHED_STAGE_EARLY || (ecdhe == NULL && ecdhe_len))
        return TD_ERR_ARG;
    if (ecdhe == NULL) {
        ecdhe = zeros;
        ecdhe_len = ks->hash_len;
    }
    TD_GUARD(td_keysched_derived_salt(ks, TD_KEYSCHED_STAGE_EARLY, salt));
    TD_GUARD(td_hkdf_extract(ks->crypto, ks->alg, salt, ks->hash_len, ecdhe, ecdhe_len,
                             ks->handshake));
    ks->stage = TD_KEYSCHED_STAGE_HANDSHAKE;
out:
    td_cleanse(salt, sizeof(salt));
    return ret;
}

/* §7.1: Master Secret = HKDF-Extract(Derive-Secret(Handshake Secret,
 * "derived", ""), 0). */
td_err td_keysched_master(td_keysched *ks)
{
    uint8_t salt[TD_MAX_HASH_LEN], zeros[TD_MAX_HASH_LEN] = {0};
    td_err ret;
    if (ks->stage != TD_KEYSCHED_STAGE_HANDSHAKE)
        return TD_ERR_ARG;
    TD_GUARD(td_keysched_derived_salt(ks, TD_KEYSCHED_STAGE_HANDSHAKE, salt));
    TD_GUARD(td_hkdf_extract(ks->crypto, ks->alg, salt, ks->hash_len, zeros, ks->hash_len,
                             ks->master));
    ks->stage = TD_KEYSCHED_STAGE_MASTER;
out:
    td_cleanse(salt, sizeof(salt));
    return ret;
}

td_err td_keysched_derive(td_keysched *ks, td_keysched_secret which, const uint8_t *transcript_hash,
                          uint8_t *out)
{
    if ((size_t)which >= sizeof(k_secrets) / sizeof(k_secrets[0]))
        return TD_ERR_ARG;
    td_keysched_stage stage = k_secrets[which].stage;
    if (ks->stage < stage)
        return TD_ERR_ARG;
    const uint8_t *secret = stage == TD_KEYSCHED_STAGE_EARLY       ? ks->early
                            : stage == TD_KEYSCHED_STAGE_HANDSHAKE ? ks->handshake
                                                             : ks->master;
    /* §7.1: the binder keys are Derive-Secret(., "ext binder" | "res binder", ""). */
    if (k_secrets[which].empty_context)
        return td_keysched_derive_secret_empty(ks->crypto, ks->alg, secret, k_secrets[which].label, out);
    if (transcript_hash == NULL)
        return TD_ERR_ARG;
    return td_keysched_derive_secret(ks->crypto, ks->alg, secret, k_secrets[which].label,
                               transcript_hash, out);
}

/* ---- NSS key log ---- */

static const char *const k_keylog_names[] = {
    [TD_KEYLOG_CLIENT_EARLY_TRAFFIC_SECRET] = "CLIENT_EARLY_TRAFFIC_SECRET",
    [TD_KEYLOG_CLIENT_HANDSHAKE_TRAFFIC_SECRET] = "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
    [TD_KEYLOG_SERVER_HANDSHAKE_TRAFFIC_SECRET] = "SERVER_HANDSHAKE_TRAFFIC_SECRET",
    [TD_KEYLOG_CLIENT_TRAFFIC_SECRET_0] = "CLIENT_TRAFFIC_SECRET_0",
    [TD_KEYLOG_SERVER_TRAFFIC_SECRET_0] = "SERVER_TRAFFIC_SECRET_0",
    [TD_KEYLOG_EARLY_EXPORTER_SECRET] = "EARLY_EXPORTER_SECRET",
    [TD_KEYLOG_EXPORTER_SECRET] = "EXPORTER_SECRET",
};

const char *td_keylog_label_name(td_keylog_label label)
{
    if ((size_t)label >= sizeof(k_keylog_names) / sizeof(k_keylog_names[0]))
        return NULL;
    return k_keylog_names[label];
}

bool td_keysched_secret_keylog_label(td_keysched_secret which, td_keylog_label *out)
{
    switch (which) {
    case TD_KEYSCHED_C_EARLY_TRAFFIC: *out = TD_KEYLOG_CLIENT_EARLY_TRAFFIC_SECRET; return true;
    case TD_KEYSCHED_C_HS_TRAFFIC: *out = TD_KEYLOG_CLIENT_HANDSHAKE_TRAFFIC_SECRET; return true;
    case TD_KEYSCHED_S_HS_TRAFFIC: *out = TD_KEYLOG_SERVER_HANDSHAKE_TRAFFIC_SECRET; return true;
    case TD_KEYSCHED_C_AP_TRAFFIC: *out = TD_KEYLOG_CLIENT_TRAFFIC_SECRET_0; return true;
    case TD_KEYSCHED_S_AP_TRAFFIC: *out = TD_KEYLOG_SERVER_TRAFFIC_SECRET_0; return true;
    case TD_KEYSCHED_EARLY_EXPORTER: *out = TD_KEYLOG_EARLY_EXPORTER_SECRET; return true;
    case TD_KEYSCHED_EXPORTER: *out = TD_KEYLOG_EXPORTER_SECRET; return true;
    case TD_KEYSCHED_EXT_BINDER:
    case TD_KEYSCHED_RES_BINDER:
    case TD_KEYSCHED_RES_MASTER:
    default: return false;
    }
}

static size_t put_hex(char *out, const uint8_t *in, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    return 2 * len;
}

/* The NSS key log format: "<label> <client_random> <secret>", hex, one line. */
td_err td_keylog_line(td_keylog_label label, const uint8_t client_random[32],
                      const uint8_t *secret, size_t secret_len, char *out, size_t cap,
                      size_t *out_len)
{
    const char *name = td_keylog_label_name(label);
    if (name == NULL || client_random == NULL || secret == NULL || secret_len == 0 ||
        secret_len > TD_MAX_HASH_LEN)
        return TD_ERR_ARG;
    size_t name_len = strlen(name);
    size_t need = name_len + 1 + 64 + 1 + 2 * secret_len + 1 + 1;
    if (cap < need)
        return TD_ERR_ARG;
    size_t n = 0;
    memcpy(out, name, name_len);
    n += name_len;
    out[n++] = ' ';
    n += put_hex(out + n, client_random, 32);
    out[n++] = ' ';
    n += put_hex(out + n, secret, secret_len);
    out[n++] = '\n';
    out[n] = '\0';
    if (out_len != NULL)
        *out_len = n;
    return TD_OK;
}
