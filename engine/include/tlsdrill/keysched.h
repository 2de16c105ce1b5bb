/* tlsdrill/keysched.h -- the TLS 1.3 key schedule (RFC 8446 §7) and the
 * handshake transcript (§4.4.1).
 *
 * Three layers:
 *  - free functions over a hash algorithm: HKDF-Expand-Label, Derive-Secret,
 *    traffic keys, Finished, binders, resumption PSK, exporters, KeyUpdate;
 *  - td_transcript: the running transcript hash, which buffers messages
 *    until the cipher suite (hence the hash) is known and implements the
 *    HelloRetryRequest message_hash replacement;
 *  - td_keysched: the early -> handshake -> master secret chain, from which
 *    every named secret of §7.1 is derived.
 *
 * Every function borrows its td_crypto. Secrets live in caller storage or in
 * the objects below and are wiped by the cleanup functions. The prefix is
 * td_keysched_ (module keysched) for the free functions and td_keysched_ for the
 * object. */
#ifndef TLSDRILL_KEYSCHED_H
#define TLSDRILL_KEYSCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsdrill/crypto.h"
#include "tlsdrill/err.h"

/* §7.1: HkdfLabel.label is "tls13 " + Label in <7..255>, so a Label has at
 * most 249 bytes; HkdfLabel.context is <0..255>. */
#define TD_KEYSCHED_MAX_LABEL_LEN 249
#define TD_KEYSCHED_MAX_CONTEXT_LEN 255
/* Largest encoded HkdfLabel: 2 + 1 + 255 + 1 + 255. */
#define TD_KEYSCHED_MAX_HKDF_LABEL_LEN 514

/* ---- §7.1 primitives ---- */

/* Encodes the HkdfLabel struct (the HKDF "info") for |length|, "tls13 " +
 * |label| (label_len bytes, need not be NUL-terminated) and |context|.
 * TD_ERR_ARG if the label or context does not fit its vector, or |cap| is
 * too small. */
td_err td_keysched_hkdf_label(uint16_t length, const uint8_t *label, size_t label_len,
                        const uint8_t *context, size_t context_len, uint8_t *out, size_t cap,
                        size_t *out_len) TD_WUR;

/* HKDF-Expand-Label(Secret, Label, Context, Length) (§7.1); |secret| is
 * td_hash_len(alg) bytes, |label| a NUL-terminated string without "tls13 ". */
td_err td_keysched_expand_label(td_crypto *crypto, td_hash_alg alg, const uint8_t *secret,
                          const char *label, const uint8_t *context, size_t context_len,
                          uint8_t *out, size_t out_len) TD_WUR;

/* Derive-Secret(Secret, Label, Messages) (§7.1) where |transcript_hash| is
 * Transcript-Hash(Messages) (td_hash_len(alg) bytes); |out| gets
 * td_hash_len(alg) bytes. */
td_err td_keysched_derive_secret(td_crypto *crypto, td_hash_alg alg, const uint8_t *secret,
                           const char *label, const uint8_t *transcript_hash,
                           uint8_t *out) TD_WUR;

/* Derive-Secret over the empty transcript: |transcript_hash| = Hash(""). */
td_err td_keysched_derive_secret_empty(td_crypto *crypto, td_hash_alg alg, const uint8_t *secret,
                                 const char *label, uint8_t *out) TD_WUR;

/* ---- §7.3 traffic keys, §7.2 KeyUpdate ---- */

/* [sender]_write_key = HKDF-Expand-Label(Secret, "key", "", key_length) and
 * [sender]_write_iv = HKDF-Expand-Label(Secret, "iv", "", iv_length) for
 * |suite|. |out_key| gets suite->key_len bytes, |out_iv| TD_AEAD_NONCE_LEN. */
td_err td_keysched_traffic_keys(td_crypto *crypto, const td_suite *suite, const uint8_t *secret,
                          uint8_t *out_key, uint8_t out_iv[TD_AEAD_NONCE_LEN]) TD_WUR;

/* application_traffic_secret_N+1 = HKDF-Expand-Label(
 *     application_traffic_secret_N, "traffic upd", "", Hash.length) (§7.2). */
td_err td_keysched_next_traffic_secret(td_crypto *crypto, td_hash_alg alg, const uint8_t *secret,
                                 uint8_t *out) TD_WUR;

/* ---- §4.4.4 Finished, §4.2.11.2 binders ---- */

/* finished_key = HKDF-Expand-Label(BaseKey, "finished", "", Hash.length). */
td_err td_keysched_finished_key(td_crypto *crypto, td_hash_alg alg, const uint8_t *base_key,
                          uint8_t *out) TD_WUR;

/* verify_data = HMAC(finished_key, Transcript-Hash(...)) with finished_key
 * from |base_key| (a handshake traffic secret, or a binder key for a PSK
 * binder, §4.2.11.2). |out| gets td_hash_len(alg) bytes. */
td_err td_keysched_finished(td_crypto *crypto, td_hash_alg alg, const uint8_t *base_key,
                      const uint8_t *transcript_hash, uint8_t *out) TD_WUR;

/* The PSK binder (§4.2.11.2): a Finished value keyed by |binder_key| over
 * |binder_hash| = Transcript-Hash(Truncate(ClientHello)), which after a
 * HelloRetryRequest also covers message_hash(ClientHello1) and the HRR
 * (td_transcript_peek_with gives it). The truncated prefix's length comes
 * from the message codec: td_msg_ch_binder_prefix_len (tlsdrill/msg.h). */
td_err td_keysched_binder(td_crypto *crypto, td_hash_alg alg, const uint8_t *binder_key,
                    const uint8_t *binder_hash, uint8_t *out) TD_WUR;

/* ---- §4.6.1 resumption, §7.5 exporters ---- */

/* PSK = HKDF-Expand-Label(resumption_master_secret, "resumption",
 * ticket_nonce, Hash.length). |nonce_len| <= 255. */
td_err td_keysched_resumption_psk(td_crypto *crypto, td_hash_alg alg, const uint8_t *res_master,
                            const uint8_t *nonce, size_t nonce_len, uint8_t *out) TD_WUR;

/* TLS-Exporter(label, context_value, key_length) =
 *   HKDF-Expand-Label(Derive-Secret(Secret, label, ""), "exporter",
 *                     Hash(context_value), key_length)
 * with Secret the (early_)exporter_master_secret. |label| is label_len
 * bytes (<= 249); |context| may be NULL with context_len 0 (an empty
 * context, which §7.5 makes equal to no context). out_len <= 255 * Hash.length. */
td_err td_keysched_exporter(td_crypto *crypto, td_hash_alg alg, const uint8_t *exporter_secret,
                      const uint8_t *label, size_t label_len, const uint8_t *context,
                      size_t context_len, uint8_t *out, size_t out_len) TD_WUR;

/* ---- §4.4.1 transcript ---- */

/* Caller storage; fields are private. The transcript owns its buffer and
 * hash context: release with td_transcript_cleanup. */
typedef struct td_transcript {
    td_crypto *crypto;     /* borrowed */
    td_hash_ctx *hash;     /* NULL until the hash algorithm is set */
    uint8_t *buf;          /* messages buffered before the algorithm is known */
    size_t buf_len, buf_cap;
    size_t max_buffer;     /* cap on |buf|: more is TD_ERR_LIMIT */
    size_t num_msgs;       /* messages added since the start (or the HRR replacement) */
    bool replaced;         /* ClientHello1 already replaced by message_hash */
} td_transcript;

/* Default cap on bytes buffered before the hash is known: a ClientHello and
 * a HelloRetryRequest with room to spare. */
#define TD_TRANSCRIPT_DEFAULT_MAX_BUFFER (1u << 18)

/* |max_buffer| 0 means TD_TRANSCRIPT_DEFAULT_MAX_BUFFER. Never fails. */
void td_transcript_init(td_transcript *t, td_crypto *crypto, size_t max_buffer);
void td_transcript_cleanup(td_transcript *t);
/* |dst| (zeroed or cleaned up, or holding only a buffer to reuse: kept if
 * large enough, else freed) becomes a copy of |src| with its own buffer and
 * hash context. On failure it is left clean. */
td_err td_transcript_copy(td_transcript *dst, const td_transcript *src) TD_WUR;

/* Fixes the hash (the negotiated suite's) and hashes what was buffered.
 * TD_ERR_ARG if a different algorithm is already set. */
td_err td_transcript_set_hash(td_transcript *t, td_hash_alg alg) TD_WUR;
bool td_transcript_has_hash(const td_transcript *t);

/* Appends one complete handshake message (with its 4-byte header).
 * TD_ERR_LIMIT if buffering would exceed the cap. */
td_err td_transcript_add(td_transcript *t, const uint8_t *msg, size_t len) TD_WUR;

/* §4.4.1: replaces ClientHello1 -- which must be the only message added so
 * far -- by the synthetic message_hash message
 *     0xfe 00 00 Hash.length Hash(ClientHello1).
 * The hash must be set. TD_ERR_ARG otherwise (or when already replaced). */
td_err td_transcript_hrr_replace(td_transcript *t) TD_WUR;

/* Transcript-Hash of everything so far, without ending the running hash;
 * |out| gets td_hash_len bytes, |*out_len| (may be NULL) says how many.
 * TD_ERR_ARG if the hash is not set. */
td_err td_transcript_peek(const td_transcript *t, uint8_t *out, size_t *out_len) TD_WUR;
/* The hash of everything so far followed by |extra| (e.g. a truncated
 * ClientHello for a binder), leaving the transcript unchanged. */
td_err td_transcript_peek_with(const td_transcript *t, const uint8_t *extra, size_t extra_len,
                               uint8_t *out, size_t *out_len) TD_WUR;

/* The hash under |alg| of everything so far followed by |extra|, usable
 * before the transcript's hash is fixed: a client computes its binders
 * (§4.2.11.2) over the first ClientHello with the PSK's hash while the
 * negotiated suite, hence the transcript's hash, is still open. Once the
 * hash is set, |alg| must match it (TD_ERR_ARG otherwise). */
td_err td_transcript_peek_as(const td_transcript *t, td_hash_alg alg, const uint8_t *extra,
                             size_t extra_len, uint8_t *out) TD_WUR;

/* §4.4: the Handshake Context of a post-handshake client authentication
 * is "ClientHello ... client Finished + CertificateRequest", whatever came
 * in between. td_transcript_snapshot copies the running hash (returns owned:
 * free with td_hash_ctx_free); td_transcript_restore makes a copy of |snap|
 * the running hash. TD_ERR_ARG if the hash is not set. */
td_err td_transcript_snapshot(const td_transcript *t, td_hash_ctx **out) TD_WUR;
td_err td_transcript_restore(td_transcript *t, const td_hash_ctx *snap) TD_WUR;

/* ---- §7.1 the secret chain ---- */

/* Secrets derived from the chain (§7.1's figure, §4.2.11.2, §7.5). */
typedef enum td_keysched_secret {
    TD_KEYSCHED_EXT_BINDER,          /* "ext binder", from early secret, context "" */
    TD_KEYSCHED_RES_BINDER,          /* "res binder", from early secret, context "" */
    TD_KEYSCHED_C_EARLY_TRAFFIC,     /* "c e traffic", ClientHello */
    TD_KEYSCHED_EARLY_EXPORTER,      /* "e exp master", ClientHello */
    TD_KEYSCHED_C_HS_TRAFFIC,        /* "c hs traffic", ClientHello...ServerHello */
    TD_KEYSCHED_S_HS_TRAFFIC,        /* "s hs traffic", ClientHello...ServerHello */
    TD_KEYSCHED_C_AP_TRAFFIC,        /* "c ap traffic", ClientHello...server Finished */
    TD_KEYSCHED_S_AP_TRAFFIC,        /* "s ap traffic", ClientHello...server Finished */
    TD_KEYSCHED_EXPORTER,            /* "exp master", ClientHello...server Finished */
    TD_KEYSCHED_RES_MASTER,          /* "res master", ClientHello...client Finished */
} td_keysched_secret;

/* The §7.1 label of |which| ("c hs traffic"). */
const char *td_keysched_secret_label(td_keysched_secret which);

typedef enum td_keysched_stage {
    TD_KEYSCHED_STAGE_NONE,
    TD_KEYSCHED_STAGE_EARLY,
    TD_KEYSCHED_STAGE_HANDSHAKE,
    TD_KEYSCHED_STAGE_MASTER,
} td_keysched_stage;

/* Caller storage; fields readable (tests and the key log print them), but
 * advance only through the functions. Wipe with td_keysched_cleanup. */
typedef struct td_keysched {
    td_crypto *crypto;         /* borrowed */
    td_hash_alg alg;
    size_t hash_len;
    td_keysched_stage stage;
    uint8_t early[TD_MAX_HASH_LEN];
    uint8_t handshake[TD_MAX_HASH_LEN];
    uint8_t master[TD_MAX_HASH_LEN];
} td_keysched;

void td_keysched_init(td_keysched *ks, td_crypto *crypto, td_hash_alg alg);
void td_keysched_cleanup(td_keysched *ks);

/* Early Secret = HKDF-Extract(0, PSK); |psk| NULL (psk_len 0) means no PSK:
 * a string of Hash.length zeros. */
td_err td_keysched_early(td_keysched *ks, const uint8_t *psk, size_t psk_len) TD_WUR;
/* Handshake Secret = HKDF-Extract(Derive-Secret(Early, "derived", ""),
 * (EC)DHE); |ecdhe| NULL means zeros (psk_ke). Requires the early stage. */
td_err td_keysched_handshake(td_keysched *ks, const uint8_t *ecdhe, size_t ecdhe_len) TD_WUR;
/* Master Secret = HKDF-Extract(Derive-Secret(Handshake, "derived", ""), 0). */
td_err td_keysched_master(td_keysched *ks) TD_WUR;

/* Derives |which| from the stage it belongs to; |transcript_hash| is the
 * transcript hash listed above (ignored for the binder keys). TD_ERR_ARG if
 * that stage has not been reached. |out| gets hash_len bytes. */
td_err td_keysched_derive(td_keysched *ks, td_keysched_secret which, const uint8_t *transcript_hash,
                          uint8_t *out) TD_WUR;

/* The "derived" secret that salts the next stage (§7.1), exposed for the
 * RFC 8448 self-check: from the current stage's secret (early or handshake). */
td_err td_keysched_derived_salt(td_keysched *ks, td_keysched_stage from, uint8_t *out) TD_WUR;

/* ---- NSS key log ---- */

typedef enum td_keylog_label {
    TD_KEYLOG_CLIENT_EARLY_TRAFFIC_SECRET,
    TD_KEYLOG_CLIENT_HANDSHAKE_TRAFFIC_SECRET,
    TD_KEYLOG_SERVER_HANDSHAKE_TRAFFIC_SECRET,
    TD_KEYLOG_CLIENT_TRAFFIC_SECRET_0,
    TD_KEYLOG_SERVER_TRAFFIC_SECRET_0,
    TD_KEYLOG_EARLY_EXPORTER_SECRET,
    TD_KEYLOG_EXPORTER_SECRET,
} td_keylog_label;

const char *td_keylog_label_name(td_keylog_label label);
/* The key log label of a chain secret; false for the binder keys and the
 * resumption master secret, which the NSS format does not log. */
bool td_keysched_secret_keylog_label(td_keysched_secret which, td_keylog_label *out);

/* Writes "LABEL <client_random hex> <secret hex>\n" plus a NUL into |out|.
 * |secret_len| <= TD_MAX_HASH_LEN. TD_ERR_ARG if |cap| is too small
 * (TD_KEYLOG_LINE_MAX always suffices). */
#define TD_KEYLOG_LINE_MAX (40 + 1 + 64 + 1 + 2 * TD_MAX_HASH_LEN + 2)
td_err td_keylog_line(td_keylog_label label, const uint8_t client_random[32],
                      const uint8_t *secret, size_t secret_len, char *out, size_t cap,
                      size_t *out_len) TD_WUR;

#endif
