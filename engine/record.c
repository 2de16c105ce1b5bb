/* engine/record.c -- TLS 1.3 record layer (RFC 8446 §5): framing, AEAD
 * protection with TLSInnerPlaintext, writing, fragmentation and handshake
 * message reassembly. */
#include <stdlib.h>
#include <string.h>

#include "tlsdrill/array.h"
#include "tlsdrill/keysched.h"
#include "tlsdrill/msg.h"
#include "tlsdrill/record.h"

const char *td_content_type_name(unsigned type)
{
    switch (type) {
    case TD_CT_INVALID: return "invalid";
    case TD_CT_CHANGE_CIPHER_SPEC: return "change_cipher_spec";
    case TD_CT_ALERT: return "alert";
    case TD_CT_HANDSHAKE: return "handshake";
    case TD_CT_APPLICATION_DATA: return "application_data";
    default: return NULL;
    }
}

static bool known_outer_type(uint8_t type)
{
    switch (type) {
    case TD_CT_CHANGE_CIPHER_SPEC:
    case TD_CT_ALERT:
    case TD_CT_HANDSHAKE:
    case TD_CT_APPLICATION_DATA: return true;
    default: return false;
    }
}

/* ---- framing ---- */

bool td_rec_frame_read(const uint8_t *in, size_t in_len, td_rec_frame *out)
{
    if (in_len < TD_REC_HEADER_LEN)
        return false;
    out->type = in[0];
    out->version = (uint16_t)(in[1] << 8 | in[2]);
    out->body = in + TD_REC_HEADER_LEN;
    out->body_len = (size_t)in[3] << 8 | in[4];
    size_t left = in_len - TD_REC_HEADER_LEN;
    out->avail_len = out->body_len < left ? out->body_len : left;
    return true;
}

td_err td_rec_parse(const uint8_t *in, size_t in_len, bool read_protected, td_record *out,
                    td_diag *diag)
{
    if (in == NULL && in_len)
        return TD_ERR_ARG;
    memset(out, 0, sizeof(*out));
    if (in_len < 1)
        return TD_ERR_WANT_MORE;
    uint8_t type = in[0];
    /* §5: "If a TLS implementation receives an unexpected record type, it
     * MUST terminate the connection with an "unexpected_message" alert."
     * No extension we support negotiates another type. Checked on the first
     * byte: nothing after it can make the record acceptable. */
    if (!known_outer_type(type))
        TD_FAIL(diag, TD_ERR_UNEXPECTED, TD_RULE_REC_UNKNOWN_TYPE, 0,
                "record content type %u is not defined", type);
    td_rec_frame frame;
    if (!td_rec_frame_read(in, in_len, &frame))
        return TD_ERR_WANT_MORE;
    uint16_t version = frame.version;
    size_t length = frame.body_len;
    /* Appendix D.5: "Implementations SHOULD NOT accept any records with a
     * version less than 0x0300"; §5.1 has legacy_record_version ignored
     * otherwise (TOL-RECORD-VERSION). protocol_version is the §6.2 fit.
     * An alert record is still read: a peer that refuses our hello may
     * echo the version it was sent in its alert, which ends the
     * connection either way. */
    if (version < 0x0300 && type != TD_CT_ALERT)
        TD_FAIL(diag, TD_ERR_PROTOCOL_VERSION, TD_RULE_REC_VERSION_BELOW_SSL3, 1,
                "legacy_record_version 0x%04x is below SSL 3.0", version);
    if (read_protected && type == TD_CT_APPLICATION_DATA) {
        /* §5.2: "The length MUST NOT exceed 2^14 + 256 bytes. An endpoint
         * that receives a record that exceeds this length MUST terminate the
         * connection with a "record_overflow" alert." */
        if (length > TD_REC_MAX_CIPHERTEXT)
            TD_FAIL(diag, TD_ERR_RECORD_OVERFLOW, TD_RULE_REC_CIPHERTEXT_OVERFLOW, 3,
                    "TLSCiphertext.length %zu exceeds 2^14+256", length);
    } else {
        /* §5.1: "The length MUST NOT exceed 2^14 bytes. An endpoint that
         * receives a record that exceeds this length MUST terminate the
         * connection with a "record_overflow" alert." */
        if (length > TD_REC_MAX_PLAINTEXT)
            TD_FAIL(diag, TD_ERR_RECORD_OVERFLOW, TD_RULE_REC_PLAINTEXT_OVERFLOW, 3,
                    "TLSPlaintext.length %zu exceeds 2^14", length);
    }
    if (in_len - TD_REC_HEADER_LEN < length)
        return TD_ERR_WANT_MORE;
    out->type = type;
    out->version = version;
    out->header = in;
    out->fragment = in + TD_REC_HEADER_LEN;
    out->fragment_len = length;
    out->total_len = TD_REC_HEADER_LEN + length;
    return TD_OK;
}

td_err td_rec_check_ccs(const td_record *rec, td_diag *diag)
{
    if (rec == NULL || rec->type != TD_CT_CHANGE_CIPHER_SPEC)
        return TD_ERR_ARG;
    /* §5: "An implementation which receives any other change_cipher_spec
     * value ... MUST abort the handshake with an "unexpected_message"
     * alert." The only value is the single byte 0x01. */
    if (rec->fragment_len != 1 || rec->fragment[0] != 0x01)
        TD_FAIL(diag, TD_ERR_UNEXPECTED, TD_RULE_REC_CCS_BAD_VALUE,
                rec->fragment_len == 1 ? TD_REC_HEADER_LEN : 3,
                "change_cipher_spec record of %zu bytes%s", rec->fragment_len,
                rec->fragment_len == 1 ? " whose value is not 0x01" : "");
    return TD_OK;
}

/* ---- protection ---- */

void td_rec_cipher_cleanup(td_rec_cipher *cipher)
{
    if (cipher == NULL)
        return;
    td_aead_free(cipher->aead);
    td_cleanse(cipher, sizeof(*cipher));
    cipher->aead = NULL;
    cipher->suite = NULL;
}

td_err td_rec_cipher_copy(td_rec_cipher *dst, const td_rec_cipher *src)
{
    *dst = *src;
    dst->aead = NULL;
    if (src->aead == NULL)
        return TD_OK;
    td_err err = td_aead_dup(src->aead, &dst->aead);
    if (err != TD_OK)
        td_rec_cipher_cleanup(dst);
    return err;
}

td_err td_rec_cipher_init_raw(td_rec_cipher *cipher, td_crypto *crypto, const td_suite *suite,
                              const uint8_t *key, const uint8_t iv[TD_AEAD_NONCE_LEN])
{
    if (suite == NULL || key == NULL || iv == NULL)
        return TD_ERR_ARG;
    memset(cipher, 0, sizeof(*cipher));
    td_err ret = td_aead_new(crypto, suite->aead, key, suite->key_len, &cipher->aead);
    if (ret != TD_OK) {
        td_rec_cipher_cleanup(cipher);
        return ret;
    }
    cipher->suite = suite;
    memcpy(cipher->iv, iv, TD_AEAD_NONCE_LEN);
    return TD_OK;
}

td_err td_rec_cipher_init(td_rec_cipher *cipher, td_crypto *crypto, const td_suite *suite,
                          const uint8_t *secret)
{
    uint8_t key[TD_MAX_KEY_LEN], iv[TD_AEAD_NONCE_LEN];
    td_err ret;
    if (suite == NULL || secret == NULL)
        return TD_ERR_ARG;
    memset(cipher, 0, sizeof(*cipher));
    TD_GUARD(td_keysched_traffic_keys(crypto, suite, secret, key, iv));
    TD_GUARD(td_rec_cipher_init_raw(cipher, crypto, suite, key, iv));
out:
    td_cleanse(key, sizeof(key));
    td_cleanse(iv, sizeof(iv));
    return ret;
}

td_err td_rec_cipher_init_null(td_rec_cipher *cipher, const td_suite *suite, bool early)
{
    if (suite == NULL)
        return TD_ERR_ARG;
    memset(cipher, 0, sizeof(*cipher));
    cipher->suite = suite;
    cipher->null = true;
    cipher->null_early = early;
    return TD_OK;
}

/* §5.3: "1. The 64-bit record sequence number is encoded in network byte
 * order and padded to the left with zeros to iv_length. 2. The padded
 * sequence number is XORed with either the static client_write_iv or
 * server_write_iv". */
void td_rec_nonce(const td_rec_cipher *cipher, uint64_t seq, uint8_t out[TD_AEAD_NONCE_LEN])
{
    memcpy(out, cipher->iv, TD_AEAD_NONCE_LEN);
    for (size_t i = 0; i < 8; i++)
        out[TD_AEAD_NONCE_LEN - 1 - i] ^= (uint8_t)(seq >> (8 * i));
}

/* §5.3: "Because the size of sequence numbers is 64-bit, they should not
 * wrap. If a TLS implementation would need to wrap a sequence number, it
 * MUST either rekey (Section 4.6.3) or terminate the connection." */
static td_err take_seq(td_rec_cipher *cipher, uint64_t *out, td_diag *diag)
{
    if (cipher->exhausted)
        TD_FAIL(diag, TD_ERR_LIMIT, TD_RULE_REC_SEQ_WRAP, 0,
                "the 64-bit record sequence number would wrap");
    *out = cipher->seq;
    if (cipher->seq == UINT64_MAX)
        cipher->exhausted = true;
    else
        cipher->seq++;
    return TD_OK;
}

td_err td_rec_seal(td_rec_cipher *cipher, td_cbb *out, uint8_t type, const uint8_t *content,
                   size_t content_len, size_t pad_len, unsigned flags, td_diag *diag)
{
    if (cipher == NULL || (cipher->aead == NULL && !cipher->null) ||
        (content == NULL && content_len))
        return TD_ERR_ARG;
    /* Lengths before arithmetic: each term is bounded by the u16 length. */
    if (content_len > 0xffff || pad_len > 0xffff)
        return TD_ERR_ARG;
    size_t inner_len = content_len + 1 + pad_len;
    size_t ct_len = inner_len + TD_AEAD_TAG_LEN;
    if (ct_len > 0xffff)
        return TD_ERR_ARG;
    if (!(flags & TD_REC_SEAL_NO_LIMITS)) {
        /* §5.1: "The length MUST NOT exceed 2^14 bytes" (TLSPlaintext.length);
         * §5.4: "The padding sent is automatically verified ... the full
         * encoded TLSInnerPlaintext MUST NOT exceed 2^14 + 1 octets." */
        if (content_len > TD_REC_MAX_PLAINTEXT || inner_len > TD_REC_MAX_INNER)
            return TD_ERR_ARG;
    }
    uint64_t seq = 0;
    TD_CHECK(take_seq(cipher, &seq, diag));
    uint8_t *hdr, *body;
    /* §5.2: opaque_type = application_data, legacy_record_version = 0x0303;
     * additional_data = the record header. */
    if (!td_cbb_add_space(out, &hdr, TD_REC_HEADER_LEN))
        return TD_ERR_NOMEM;
    hdr[0] = TD_CT_APPLICATION_DATA;
    hdr[1] = 0x03;
    hdr[2] = 0x03;
    hdr[3] = (uint8_t)(ct_len >> 8);
    hdr[4] = (uint8_t)ct_len;
    uint8_t ad[TD_REC_HEADER_LEN];
    memcpy(ad, hdr, sizeof(ad));
    if (!td_cbb_add_space(out, &body, ct_len))
        return TD_ERR_NOMEM;
    /* §5.4: TLSInnerPlaintext = content || ContentType type || zeros. */
    if (content_len)
        memcpy(body, content, content_len);
    body[content_len] = type;
    memset(body + content_len + 1, 0, pad_len);
    if (cipher->null) {
        /* Fuzzer mode: plaintext, a zero tag (td_rec_cipher_init_null). */
        memset(body + inner_len, 0, TD_AEAD_TAG_LEN);
        if (cipher->null_early)
            body[inner_len] = TD_REC_NULL_EARLY_MARK;
        return TD_OK;
    }
    uint8_t nonce[TD_AEAD_NONCE_LEN];
    td_rec_nonce(cipher, seq, nonce);
    return td_aead_seal(cipher->aead, nonce, ad, sizeof(ad), body, inner_len, body);
}

/* Checks on the decrypted TLSInnerPlaintext (§5.4, §5.1); |inner| is
 * |inner_len| bytes. Offsets are into the record: header + inner. */
static td_err check_inner(const uint8_t *inner, size_t inner_len, uint8_t *out_type,
                          size_t *out_content_len, td_diag *diag)
{
    size_t i = inner_len;
    while (i > 0 && inner[i - 1] == 0)
        i--;
    /* §5.4: "If a receiving implementation does not find a non-zero octet
     * in the cleartext, it MUST terminate the connection with an
     * "unexpected_message" alert." */
    if (i == 0)
        TD_FAIL(diag, TD_ERR_UNEXPECTED, TD_RULE_REC_NO_CONTENT_TYPE, TD_REC_HEADER_LEN,
                "decrypted record has no non-zero octet (%zu bytes of padding)", inner_len);
    uint8_t type = inner[i - 1];
    size_t content_len = i - 1;
    size_t type_off = TD_REC_HEADER_LEN + content_len;
    /* §5.2/§5.1: the content is a TLSPlaintext.fragment, at most 2^14;
     * §6.2 (record_overflow): "a record decrypted to a TLSPlaintext record
     * with more than 2^14 bytes (or some other negotiated limit)". */
    if (content_len > TD_REC_MAX_PLAINTEXT)
        TD_FAIL(diag, TD_ERR_RECORD_OVERFLOW, TD_RULE_REC_INNER_OVERFLOW, type_off,
                "decrypted content of %zu bytes exceeds 2^14", content_len);
    /* §5.4: "the full encoded TLSInnerPlaintext MUST NOT exceed 2^14 + 1
     * octets" -- here the excess is padding only. */
    if (inner_len > TD_REC_MAX_INNER)
        TD_FAIL(diag, TD_ERR_RECORD_OVERFLOW, TD_RULE_REC_INNER_PADDING_OVERFLOW,
                TD_REC_HEADER_LEN + TD_REC_MAX_INNER,
                "TLSInnerPlaintext of %zu bytes exceeds 2^14+1 (padding)", inner_len);
    switch (type) {
    case TD_CT_HANDSHAKE:
    case TD_CT_ALERT:
        /* §5.4: "Implementations MUST NOT send Handshake and Alert records
         * that have a zero-length TLSInnerPlaintext.content; if such a
         * message is received, the receiving implementation MUST terminate
         * the connection with an "unexpected_message" alert." */
        if (content_len == 0)
            TD_FAIL(diag, TD_ERR_UNEXPECTED, TD_RULE_REC_ZERO_LENGTH, type_off,
                    "protected %s record with empty content",
                    type == TD_CT_HANDSHAKE ? "handshake" : "alert");
        break;
    case TD_CT_APPLICATION_DATA:
        break;
    case TD_CT_CHANGE_CIPHER_SPEC:
        /* §5: "An implementation which receives any other change_cipher_spec
         * value or which receives a protected change_cipher_spec record MUST
         * abort the handshake with an "unexpected_message" alert." */
        TD_FAIL(diag, TD_ERR_UNEXPECTED, TD_RULE_REC_CCS_PROTECTED, type_off,
                "change_cipher_spec inside a protected record");
        TD_SITE_FALLTHROUGH();
    default:
        /* §5: an unexpected record type is unexpected_message. */
        TD_FAIL(diag, TD_ERR_UNEXPECTED, TD_RULE_REC_UNKNOWN_TYPE, type_off,
                "inner content type %u is not defined", type);
    }
    *out_type = type;
    *out_content_len = content_len;
    return TD_OK;
}

td_err td_rec_open(td_rec_cipher *cipher, const td_record *rec, uint8_t *buf, size_t cap,
                   uint8_t *out_type, td_cbs *out_content, td_diag *diag)
{
    if (cipher == NULL || (cipher->aead == NULL && !cipher->null) || rec == NULL ||
        rec->header == NULL || buf == NULL || cap < rec->fragment_len)
        return TD_ERR_ARG;
    if (rec->type != TD_CT_APPLICATION_DATA)
        TD_FAIL(diag, TD_ERR_UNEXPECTED, TD_RULE_GEN_UNEXPECTED_ORDER, 0,
                "a %s record where a protected record is expected",
                td_content_type_name(rec->type) ? td_content_type_name(rec->type) : "?");
    uint64_t seq = 0;
    TD_CHECK(take_seq(cipher, &seq, diag));
    /* §5.2: "If the decryption fails, the receiver MUST terminate the
     * connection with a "bad_record_mac" alert." A fragment shorter than
     * the tag cannot authenticate. (A bare tag can: it protects an empty
     * TLSInnerPlaintext, which check_inner reports as REC-NO-CONTENT-TYPE.) */
    if (rec->fragment_len < TD_AEAD_TAG_LEN)
        TD_FAIL(diag, TD_ERR_BAD_RECORD_MAC, TD_RULE_REC_BAD_MAC, TD_REC_HEADER_LEN,
                "protected record of %zu bytes is too short to authenticate",
                rec->fragment_len);
    size_t inner_len = rec->fragment_len - TD_AEAD_TAG_LEN, content_len = 0;
    if (cipher->null) {
        /* Fuzzer mode (td_rec_cipher_init_null): the tag is not checked,
         * except that a 0-RTT record does not open under other keys. */
        if (rec->fragment[inner_len] == TD_REC_NULL_EARLY_MARK && !cipher->null_early)
            TD_FAIL(diag, TD_ERR_BAD_RECORD_MAC, TD_RULE_REC_BAD_MAC, TD_REC_HEADER_LEN,
                    "record %llu was protected with 0-RTT keys (fuzzer mode)",
                    (unsigned long long)seq);
        memcpy(buf, rec->fragment, inner_len);
        TD_CHECK(check_inner(buf, inner_len, out_type, &content_len, diag));
        td_cbs_init(out_content, buf, content_len);
        return TD_OK;
    }
    uint8_t nonce[TD_AEAD_NONCE_LEN];
    td_rec_nonce(cipher, seq, nonce);
    td_err ret = td_aead_open(cipher->aead, nonce, rec->header, TD_REC_HEADER_LEN, rec->fragment,
                              rec->fragment_len, buf);
    if (ret == TD_ERR_BAD_RECORD_MAC)
        TD_FAIL(diag, TD_ERR_BAD_RECORD_MAC, TD_RULE_REC_BAD_MAC, TD_REC_HEADER_LEN,
                "record %llu does not authenticate", (unsigned long long)seq);
    if (ret != TD_OK)
        return ret;
    TD_CHECK(check_inner(buf, inner_len, out_type, &content_len, diag));
    td_cbs_init(out_content, buf, content_len);
    return TD_OK;
}

/* ---- writing ---- */

td_err td_rec_write_raw(td_cbb *out, uint8_t type, uint16_t version, const uint8_t *fragment,
                        size_t len)
{
    if (len > 0xffff || (fragment == NULL && len))
        return TD_ERR_ARG;
    if (!td_cbb_add_u8(out, type) || !td_cbb_add_u16(out, version) ||
        !td_cbb_add_u16(out, (uint16_t)len) || !td_cbb_add_bytes(out, fragment, len))
        return TD_ERR_NOMEM;
    return TD_OK;
}

/* §5.1: legacy_record_version "MUST be set to 0x0303 for all records
 * generated by a TLS 1.3 implementation other than an initial ClientHello
 * ..., where it MAY also be 0x0301"; length <= 2^14. */
td_err td_rec_write_plain(td_cbb *out, uint8_t type, uint16_t legacy_version,
                          const uint8_t *fragment, size_t len)
{
    if (len > TD_REC_MAX_PLAINTEXT || !known_outer_type(type))
        return TD_ERR_ARG;
    return td_rec_write_raw(out, type, legacy_version, fragment, len);
}

static td_err check_fragmenting(uint8_t type, const uint8_t *payload, size_t len,
                                size_t max_fragment)
{
    if (max_fragment == 0 || max_fragment > TD_REC_MAX_PLAINTEXT || (payload == NULL && len))
        return TD_ERR_ARG;
    /* §5.1: "Implementations MUST NOT send zero-length fragments of
     * Handshake types". */
    if (len == 0 && type == TD_CT_HANDSHAKE)
        return TD_ERR_ARG;
    return TD_OK;
}

td_err td_rec_write_plain_fragments(td_cbb *out, uint8_t type, uint16_t legacy_version,
                                    const uint8_t *payload, size_t len, size_t max_fragment)
{
    TD_CHECK(check_fragmenting(type, payload, len, max_fragment));
    size_t off = 0;
    do {
        size_t n = len - off < max_fragment ? len - off : max_fragment;
        TD_CHECK(td_rec_write_plain(out, type, legacy_version, len ? payload + off : NULL, n));
        off += n;
    } while (off < len);
    return TD_OK;
}

td_err td_rec_seal_fragments(td_rec_cipher *cipher, td_cbb *out, uint8_t type,
                             const uint8_t *payload, size_t len, size_t max_fragment,
                             size_t pad_len, td_diag *diag)
{
    TD_CHECK(check_fragmenting(type, payload, len, max_fragment));
    size_t off = 0;
    do {
        size_t n = len - off < max_fragment ? len - off : max_fragment;
        TD_CHECK(td_rec_seal(cipher, out, type, len ? payload + off : NULL, n, pad_len, 0, diag));
        off += n;
    } while (off < len);
    return TD_OK;
}

/* ---- handshake reassembly ---- */

void td_hs_reasm_init(td_hs_reasm *r, size_t max_msg)
{
    memset(r, 0, sizeof(*r));
    r->max_msg = max_msg;
}

void td_hs_reasm_cleanup(td_hs_reasm *r)
{
    if (r == NULL)
        return;
    if (r->buf != NULL) {
        td_cleanse(r->buf, r->cap);
        free(r->buf);
    }
    memset(r, 0, sizeof(*r));
}

td_err td_hs_reasm_copy(td_hs_reasm *dst, const td_hs_reasm *src)
{
    uint8_t *buf = dst->buf;
    size_t cap = dst->cap;
    *dst = *src;
    dst->buf = buf, dst->cap = cap;
    if (!td_bytes_copy_into(&dst->buf, &dst->cap, src->buf, src->len, src->cap)) {
        memset(dst, 0, sizeof(*dst));
        return TD_ERR_NOMEM;
    }
    return TD_OK;
}

td_err td_hs_reasm_add(td_hs_reasm *r, const uint8_t *fragment, size_t len, td_diag *diag)
{
    if (fragment == NULL && len)
        return TD_ERR_ARG;
    /* §5.1: "Implementations MUST NOT send zero-length fragments of
     * Handshake types, even if those fragments contain padding." (binds
     * the sender; we refuse them, with the alert that fits). */
    if (len == 0)
        TD_FAIL(diag, TD_ERR_UNEXPECTED, TD_RULE_REC_ZERO_LENGTH_FRAGMENT, r->base + r->len,
                "zero-length handshake fragment");
    /* Drop what was handed out: views from td_hs_reasm_next end here. */
    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->base += r->pos;
        r->len -= r->pos;
        r->pos = 0;
    }
    /* One maximal message still being collected plus one record of input
     * is all a driver that drains after every record can need. */
    size_t limit = (r->max_msg ? r->max_msg : 0xffffff) + 4 + TD_REC_MAX_CIPHERTEXT;
    if (len > limit || r->len > limit - len)
        TD_FAIL(diag, TD_ERR_LIMIT, TD_RULE_NONE, r->base + r->len,
                "more than %zu bytes of handshake data buffered", limit);
    if (r->len + len > r->cap) {
        size_t cap = r->cap ? r->cap : 1024;
        while (cap < r->len + len)
            cap *= 2;
        uint8_t *nb = malloc(cap);
        if (nb == NULL)
            return TD_ERR_NOMEM;
        if (r->len)
            memcpy(nb, r->buf, r->len);
        if (r->buf != NULL) {
            td_cleanse(r->buf, r->cap);
            free(r->buf);
        }
        r->buf = nb;
        r->cap = cap;
    }
    memcpy(r->buf + r->len, fragment, len);
    r->len += len;
    return TD_OK;
}

td_err td_hs_reasm_next(td_hs_reasm *r, td_cbs *out_msg, td_diag *diag)
{
    size_t avail = r->len - r->pos;
    if (avail < 4)
        return TD_ERR_WANT_MORE;
    const uint8_t *p = r->buf + r->pos;
    size_t body = (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
    /* A limit the caller chose: reported, never truncated. */
    if (r->max_msg > 0 && body > r->max_msg)
        TD_FAIL(diag, TD_ERR_LIMIT, TD_RULE_NONE, r->base + r->pos + 1,
                "handshake message of %zu bytes exceeds the limit of %zu", body, r->max_msg);
    if (r->max_msg == 0) {
        size_t max = td_msg_max_body(p[0]);
        /* RFC 8446 §4: a body longer than its structure's vectors can hold
         * does not parse (decode_error, §6), known from the header. */
        /* Checked only where it bounds what we collect (beyond the size of
         * any message of an unknown type): a smaller message goes on to the
         * state machine, whose order checks come first. */
        if (max != SIZE_MAX && body > max && body > TD_HS_DEFAULT_MAX_MSG)
            TD_FAIL(diag, TD_ERR_DECODE, TD_RULE_GEN_DECODE, r->base + r->pos + 1,
                    "%s of %zu bytes: its structure holds at most %zu", td_msg_type_name(p[0]),
                    body, max);
        /* RFC 8446 §4: a type that is no TLS 1.3 message is unexpected in
         * every state (unexpected_message, as the parser says for a smaller
         * one); it is not collected past 64 KiB. */
        if (max == SIZE_MAX && body > TD_HS_DEFAULT_MAX_MSG)
            TD_FAIL(diag, TD_ERR_UNEXPECTED, TD_RULE_GEN_UNEXPECTED_ORDER, r->base + r->pos,
                    "handshake message type %u (%zu bytes) is not a TLS 1.3 message", p[0], body);
    }
    if (avail - 4 < body)
        return TD_ERR_WANT_MORE;
    td_cbs_init(out_msg, p, 4 + body);
    r->pos += 4 + body;
    return TD_OK;
}

bool td_hs_reasm_pending(const td_hs_reasm *r) { return r->len > r->pos; }

td_err td_hs_reasm_check_interleave(const td_hs_reasm *r, uint8_t content_type, td_diag *diag)
{
    /* §5.1: "Handshake messages MUST NOT be interleaved with other record
     * types. That is, if a handshake message is split over two or more
     * records, there MUST NOT be any other records between them." */
    if (content_type != TD_CT_HANDSHAKE && td_hs_reasm_pending(r))
        TD_FAIL(diag, TD_ERR_UNEXPECTED, TD_RULE_REC_HS_INTERLEAVED, r->base + r->len,
                "%s record in the middle of a fragmented handshake message",
                td_content_type_name(content_type) ? td_content_type_name(content_type) : "unknown");
    return TD_OK;
}

td_err td_hs_reasm_check_key_change(const td_hs_reasm *r, td_diag *diag)
{
    /* §5.1: "Handshake messages MUST NOT span key changes. Implementations
     * MUST verify that all messages immediately preceding a key change
     * align with a record boundary; if not, then they MUST terminate the
     * connection with an "unexpected_message" alert." */
    if (td_hs_reasm_pending(r))
        TD_FAIL(diag, TD_ERR_UNEXPECTED, TD_RULE_REC_KEY_CHANGE_ALIGN, r->base + r->len,
                "%zu bytes of handshake data buffered at a key change", r->len - r->pos);
    return TD_OK;
}
