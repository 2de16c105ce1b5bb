/* engine/ext_body.c -- typed extension bodies: decode and encode, one pair per
 * extension, in the order of the §4.2 table. See tlsdrill/msg.h. */
#include <stdio.h>
#include <string.h>

#include "msg_internal.h"

#define OFF(cbs) td_cbs_offset((cbs), base)
#define DECODE_FAIL(at, ...) TD_FAIL(diag, TD_ERR_DECODE, TD_RULE_GEN_DECODE, (at), __VA_ARGS__)
/* Appends one element to list |name| of |s|; out of memory ends the parse. */
#define PUSH(s, name, value)                                                                \
    do {                                                                                    \
        void *slot_ = TD_LIST_PUSH(s, name);                                                \
        if (slot_ == NULL)                                                                  \
            return TD_ERR_NOMEM;                                                            \
        memcpy(slot_, &(value), sizeof((s)->name##_inline[0]));                             \
    } while (0)

td_err td_msg_get_vec(td_cbs *in, const uint8_t *base, int prefix, size_t min, size_t max,
                      td_cbs *out, const char *what, td_diag *diag)
{
    size_t at = OFF(in);
    bool ok;
    /* A switch, not a chain of compares: |prefix| is the caller's constant,
     * not the input's, and libFuzzer drops a traced switch over small case
     * values at once. */
    switch (prefix) {
    case 1: ok = td_cbs_get_u8_prefixed(in, out); break;
    case 2: ok = td_cbs_get_u16_prefixed(in, out); break;
    default: ok = td_cbs_get_u24_prefixed(in, out); break;
    }
    if (!ok) {
        td_cbs_init(out, td_cbs_data(in), 0); /* defined, for a site switched off */
        DECODE_FAIL(at, "%s: length runs past the end", what);
    }
    if (td_cbs_len(out) < min || td_cbs_len(out) > max)
        DECODE_FAIL(at, "%s: length %zu outside <%zu..%zu>", what, td_cbs_len(out), min, max);
    return TD_OK;
}
/* A vector of uint16 values: byte length in [min, max] and even. |*out|
 * is a list with inline storage |inl| of |inl_cap| entries; it grows to
 * hold them all (§9.3: the vector's bound is the only limit). */
static td_err get_u16_list(td_cbs *in, const uint8_t *base, int prefix, size_t min, size_t max,
                           uint16_t **out, uint16_t *inl, size_t inl_cap, size_t *out_num,
                           const char *what, td_diag *diag)
{
    size_t at = OFF(in);
    td_cbs list;
    TD_CHECK(td_msg_get_vec(in, base, prefix, min, max, &list, what, diag));
    if (td_cbs_len(&list) % 2 != 0)
        DECODE_FAIL(at, "%s: odd length %zu", what, td_cbs_len(&list));
    size_t n = td_cbs_len(&list) / 2;
    *out_num = 0;
    uint16_t *v = td_list_push_n(out, inl, inl_cap, out_num, n, sizeof(uint16_t));
    if (v == NULL)
        return TD_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        (void)td_cbs_get_u16(&list, &v[i]);
    return TD_OK;
}

/* The same into a fixed array that holds the RFC's maximum. */
static td_err get_u16_array(td_cbs *in, const uint8_t *base, int prefix, size_t min, size_t max,
                            uint16_t *out, size_t *out_num, const char *what, td_diag *diag)
{
    size_t at = OFF(in);
    td_cbs list;
    TD_CHECK(td_msg_get_vec(in, base, prefix, min, max, &list, what, diag));
    if (td_cbs_len(&list) % 2 != 0)
        DECODE_FAIL(at, "%s: odd length %zu", what, td_cbs_len(&list));
    *out_num = td_cbs_len(&list) / 2;
    for (size_t i = 0; i < *out_num; i++)
        (void)td_cbs_get_u16(&list, &out[i]);
    return TD_OK;
}

/* RFC 6066 §3: ServerNameList server_name_list<1..2^16-1>; ServerName {
 * NameType name_type; HostName (opaque<1..2^16-1>) } -- every defined name
 * type carries a 16-bit length, so unknown types are kept the same way. */
static td_err dec_server_name(td_cbs *b, const uint8_t *base, td_ext_data *d, td_diag *diag)
{
    td_cbs list;
    TD_CHECK(td_msg_get_vec(b, base, 2, 1, 0xffff, &list, "server_name_list", diag));
    d->num_server_names = 0;
    while (td_cbs_len(&list) > 0) {
        td_server_name sn;
        (void)td_cbs_get_u8(&list, &sn.name_type); /* the loop's condition: a byte is there */
        TD_CHECK(td_msg_get_vec(&list, base, 2, 1, 0xffff, &sn.name, "HostName", diag));
        PUSH(d, server_names, sn);
    }
    return TD_OK;
}

/* RFC 6066 §8, RFC 8446 §4.4.2.1. */
static td_err dec_status_request(td_ext_ctx ctx, td_cbs *b, const uint8_t *base, td_ext_data *d,
                                 td_diag *diag)
{
    td_status_request *sr = &d->status_request;
    td_list_free(&sr->responder_ids, sr->responder_ids_inline);
    memset(sr, 0, sizeof(*sr));
    sr->responder_ids = sr->responder_ids_inline;
    /* RFC 8446 §4.4.2.1: a server MAY request an OCSP response from the
     * client with an empty status_request in its CertificateRequest. */
    if (ctx == TD_EXT_CTX_CR && td_cbs_len(b) == 0) {
        sr->empty = true;
        return TD_OK;
    }
    if (!td_cbs_get_u8(b, &sr->status_type))
        DECODE_FAIL(OFF(b), "status_request: missing status_type");
    if (sr->status_type != 1) { /* not ocsp: opaque, kept as is */
        (void)td_cbs_get_bytes(b, &sr->response, td_cbs_len(b));
        return TD_OK;
    }
    if (ctx == TD_EXT_CTX_CT) {
        /* RFC 6066 §8: OCSPResponse ocsp_response<1..2^24-1>. */
        return td_msg_get_vec(b, base, 3, 1, 0xffffff, &sr->response, "ocsp_response", diag);
    }
    /* RFC 6066 §8: ResponderID responder_id_list<0..2^16-1>; ResponderID
     * opaque<1..2^16-1>; Extensions request_extensions (opaque<0..2^16-1>). */
    td_cbs ids;
    TD_CHECK(td_msg_get_vec(b, base, 2, 0, 0xffff, &ids, "responder_id_list", diag));
    while (td_cbs_len(&ids) > 0) {
        td_cbs id;
        TD_CHECK(td_msg_get_vec(&ids, base, 2, 1, 0xffff, &id, "ResponderID", diag));
        PUSH(sr, responder_ids, id);
    }
    return td_msg_get_vec(b, base, 2, 0, 0xffff, &sr->request_extensions, "request_extensions",
                          diag);
}

/* RFC 7301 §3.1: ProtocolNameList protocol_name_list<2..2^16-1>; ProtocolName
 * opaque<1..2^8-1>; the server's list MUST contain exactly one name. */
static td_err dec_alpn(td_ext_ctx ctx, td_cbs *b, const uint8_t *base, td_ext_data *d,
                       td_diag *diag)
{
    size_t at = OFF(b);
    td_cbs list;
    TD_CHECK(td_msg_get_vec(b, base, 2, 2, 0xffff, &list, "protocol_name_list", diag));
    d->num_alpn = 0;
    while (td_cbs_len(&list) > 0) {
        td_cbs name;
        TD_CHECK(td_msg_get_vec(&list, base, 1, 1, 0xff, &name, "ProtocolName", diag));
        PUSH(d, alpn, name);
    }
    /* RFC 7301 §3.1: the server's "ProtocolNameList" MUST contain exactly
     * one name. The list parses: the count is a constraint on the sender
     * (ALPN-NOT-OFFERED, sender MUST; illegal_parameter, RFC 8446 §6.2),
     * not a syntax error. */
    if (ctx == TD_EXT_CTX_EE && d->num_alpn != 1)
        TD_FAIL(diag, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_ALPN_NOT_OFFERED, at,
                "ALPN in EncryptedExtensions holds %zu names, not one", d->num_alpn);
    return TD_OK;
}

/* RFC 6962 §3.3: SerializedSCT sct_list<1..2^16-1>, SerializedSCT opaque<1..2^16-1>. */
static td_err dec_sct(td_ext_ctx ctx, td_cbs *b, const uint8_t *base, td_ext_data *d, td_diag *diag)
{
    /* RFC 6962 §3.3.1: the client's (and the CertificateRequest's) request
     * is empty: td_ext_decode's "nothing left over" check enforces it. */
    if (ctx != TD_EXT_CTX_CT)
        return TD_OK;
    TD_CHECK(td_msg_get_vec(b, base, 2, 1, 0xffff, &d->sct_list, "sct_list", diag));
    td_cbs list = d->sct_list, sct;
    while (td_cbs_len(&list) > 0)
        TD_CHECK(td_msg_get_vec(&list, base, 2, 1, 0xffff, &sct, "SerializedSCT", diag));
    return TD_OK;
}

/* RFC 8446 §4.2.11: OfferedPsks { PskIdentity identities<7..2^16-1>;
 * PskBinderEntry binders<33..2^16-1>; }, PskIdentity { opaque
 * identity<1..2^16-1>; uint32 obfuscated_ticket_age; }, PskBinderEntry
 * opaque<32..255>. */
static td_err dec_offered_psks(td_cbs *b, const uint8_t *base, td_ext_data *d, td_diag *diag)
{
    td_cbs ids, binders;
    TD_CHECK(td_msg_get_vec(b, base, 2, 7, 0xffff, &ids, "PSK identities", diag));
    d->num_psk_identities = 0;
    while (td_cbs_len(&ids) > 0) {
        td_psk_identity id;
        TD_CHECK(td_msg_get_vec(&ids, base, 2, 1, 0xffff, &id.identity, "PSK identity", diag));
        if (!td_cbs_get_u32(&ids, &id.obfuscated_ticket_age))
            DECODE_FAIL(OFF(&ids), "PSK identity: obfuscated_ticket_age truncated");
        PUSH(d, psk_identities, id);
    }
    TD_CHECK(td_msg_get_vec(b, base, 2, 33, 0xffff, &binders, "PSK binders", diag));
    d->num_psk_binders = 0;
    while (td_cbs_len(&binders) > 0) {
        td_cbs binder;
        TD_CHECK(td_msg_get_vec(&binders, base, 1, 32, 255, &binder, "PskBinderEntry", diag));
        PUSH(d, psk_binders, binder);
    }
    return TD_OK;
}

/* The counts of a decoded OfferedPsks, checked after td_ext_decode's
 * "nothing left over" check (RFC 8446 §3, §6: syntax before meaning: bytes
 * after the binders make the extension undecodable, decode_error, whatever
 * the counts say). |body| is the whole extension body. */
static td_err check_psk_counts(td_cbs body, const uint8_t *base, const td_ext_data *d,
                               td_diag *diag)
{
    td_cbs ids;
    (void)td_cbs_get_u16_prefixed(&body, &ids); /* it decoded: the identities are there */
    size_t binders_at = OFF(&body);
    /* RFC 8446 §4.2.11: binders is "a series of HMAC values, one for each
     * value in the identities list and in the same order". Too few or too
     * many: the list does not fit the identities (PSK-BINDER-COUNT; our
     * parser refuses it before any identity is selected, so a short list
     * that leaves the selected PSK without its binder, PSK-BINDER-MISSING,
     * is refused here too). */
    if (d->num_psk_binders != d->num_psk_identities)
        TD_FAIL(diag, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_PSK_BINDER_COUNT, binders_at,
                "%zu PSK binders for %zu identities", d->num_psk_binders, d->num_psk_identities);
    return TD_OK;
}

/* RFC 8446 §4.2.5: OIDFilter filters<0..2^16-1>; OIDFilter { opaque
 * certificate_extension_oid<1..2^8-1>; opaque certificate_extension_values<0..2^16-1>; }. */
static td_err dec_oid_filters(td_cbs *b, const uint8_t *base, td_ext_data *d, td_diag *diag)
{
    td_cbs list;
    TD_CHECK(td_msg_get_vec(b, base, 2, 0, 0xffff, &list, "oid_filters", diag));
    d->num_oid_filters = 0;
    while (td_cbs_len(&list) > 0) {
        td_oid_filter f;
        TD_CHECK(
            td_msg_get_vec(&list, base, 1, 1, 0xff, &f.oid, "certificate_extension_oid", diag));
        TD_CHECK(td_msg_get_vec(&list, base, 2, 0, 0xffff, &f.values,
                                "certificate_extension_values", diag));
        PUSH(d, oid_filters, f);
    }
    return TD_OK;
}

/* RFC 8446 §4.2.4: DistinguishedName authorities<3..2^16-1>; DistinguishedName opaque<1..2^16-1>.
 */
static td_err dec_cert_authorities(td_cbs *b, const uint8_t *base, td_ext_data *d, td_diag *diag)
{
    td_cbs list;
    TD_CHECK(td_msg_get_vec(b, base, 2, 3, 0xffff, &list, "certificate_authorities", diag));
    d->num_cert_authorities = 0;
    while (td_cbs_len(&list) > 0) {
        td_cbs dn;
        TD_CHECK(td_msg_get_vec(&list, base, 2, 1, 0xffff, &dn, "DistinguishedName", diag));
        PUSH(d, cert_authorities, dn);
    }
    return TD_OK;
}

/* RFC 8446 §4.2.8: KeyShareEntry { NamedGroup group; opaque key_exchange<1..2^16-1>; }. */
static td_err get_key_share_entry(td_cbs *in, const uint8_t *base, td_key_share_entry *out,
                                  td_diag *diag)
{
    /* A group cut short (0 or 1 byte left) leaves no room for key_exchange's
     * length either: the vector read below reports it, at the same offset. */
    if (!td_cbs_get_u16(in, &out->group))
        out->group = 0;
    return td_msg_get_vec(in, base, 2, 1, 0xffff, &out->key_exchange, "key_exchange", diag);
}

/* RFC 8446 §4.2.8: KeyShareClientHello { KeyShareEntry client_shares<0..2^16-1>; }. */
static td_err dec_key_share_ch(td_cbs *b, const uint8_t *base, td_ext_data *d, td_diag *diag)
{
    td_cbs list;
    TD_CHECK(td_msg_get_vec(b, base, 2, 0, 0xffff, &list, "client_shares", diag));
    d->num_key_shares = 0;
    while (td_cbs_len(&list) > 0) {
        td_key_share_entry e;
        TD_CHECK(get_key_share_entry(&list, base, &e, diag));
        PUSH(d, key_shares, e);
    }
    return TD_OK;
}

static td_err get_u16_field(td_cbs *b, const uint8_t *base, uint16_t *out, const char *what,
                            td_diag *diag)
{
    if (!td_cbs_get_u16(b, out))
        DECODE_FAIL(OFF(b), "%s: truncated", what);
    return TD_OK;
}

/* The ServerHello/HelloRetryRequest form of an extension. Asked only by
 * the cases that have one: worked out before the switch, it cost two
 * traced compares per extension. */
static bool server_form(td_ext_ctx ctx)
{
    return ctx == TD_EXT_CTX_SH || ctx == TD_EXT_CTX_HRR;
}

/* The body of one recognised extension; |b| is consumed by the caller's
 * "nothing left over" check. */
static td_err dec_body(td_ext_ctx ctx, uint16_t type, td_cbs *b, const uint8_t *base,
                       td_ext_data *d, td_diag *diag)
{
    switch (type) {
    case TD_EXT_SERVER_NAME:
        /* RFC 6066 §3: the server's server_name "extension_data" SHALL be empty. */
        if (ctx != TD_EXT_CTX_CH)
            return TD_OK; /* empty: td_ext_decode's "nothing left over" check */
        return dec_server_name(b, base, d, diag);
    case TD_EXT_MAX_FRAGMENT_LENGTH: {
        size_t at = OFF(b);
        if (!td_cbs_get_u8(b, &d->max_fragment_length))
            DECODE_FAIL(at, "max_fragment_length: empty");
        /* RFC 6066 §4: values other than 1..4 MUST be answered with illegal_parameter. */
        if (d->max_fragment_length < 1 || d->max_fragment_length > 4)
            TD_FAIL(diag, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_GEN_ILLEGAL_PARAM, at,
                    "max_fragment_length %u not in 1..4", d->max_fragment_length);
        return TD_OK;
    }
    case TD_EXT_STATUS_REQUEST: return dec_status_request(ctx, b, base, d, diag);
    case TD_EXT_SUPPORTED_GROUPS:
        /* RFC 8446 §4.2.7: NamedGroup named_group_list<2..2^16-1>. */
        return get_u16_list(b, base, 2, 2, 0xffff, &d->groups, d->groups_inline, TD_MAX_GROUPS,
                            &d->num_groups, "named_group_list", diag);
    case TD_EXT_SIGNATURE_ALGORITHMS:
        /* RFC 8446 §4.2.3: SignatureScheme supported_signature_algorithms<2..2^16-2>. */
        return get_u16_list(b, base, 2, 2, 0xfffe, &d->sigalgs, d->sigalgs_inline, TD_MAX_SIGALGS,
                            &d->num_sigalgs, "signature_algorithms", diag);
    case TD_EXT_SIGNATURE_ALGORITHMS_CERT:
        /* RFC 8446 §4.2.3: the same SignatureSchemeList. */
        return get_u16_list(b, base, 2, 2, 0xfffe, &d->sigalgs_cert, d->sigalgs_cert_inline,
                            TD_MAX_SIGALGS, &d->num_sigalgs_cert, "signature_algorithms_cert",
                            diag);
    case TD_EXT_ALPN: return dec_alpn(ctx, b, base, d, diag);
    case TD_EXT_SCT: return dec_sct(ctx, b, base, d, diag);
    case TD_EXT_PADDING:
        /* RFC 7685 §3: any length, zero bytes (the receiver does not check them). */
        d->padding_len = td_cbs_len(b);
        (void)td_cbs_skip(b, td_cbs_len(b));
        return TD_OK;
    case TD_EXT_RECORD_SIZE_LIMIT: {
        size_t at = OFF(b);
        TD_CHECK(get_u16_field(b, base, &d->record_size_limit, "record_size_limit", diag));
        /* RFC 8449 §4: a value smaller than 64 MUST be treated as a fatal
         * error with an "illegal_parameter" alert. In EncryptedExtensions only
         * a client that asked for it judges the value (client.c: RFC 8446
         * §4.2 makes an unrequested one unsolicited, whatever its value). */
        if (ctx == TD_EXT_CTX_CH && d->record_size_limit < 64)
            TD_FAIL(diag, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_GEN_ILLEGAL_PARAM, at,
                    "record_size_limit %u < 64", d->record_size_limit);
        return TD_OK;
    }
    case TD_EXT_PRE_SHARED_KEY:
        if (server_form(ctx))
            /* RFC 8446 §4.2.11: case server_hello: uint16 selected_identity. */
            return get_u16_field(b, base, &d->psk_selected_identity, "selected_identity", diag);
        return dec_offered_psks(b, base, d, diag);
    case TD_EXT_EARLY_DATA:
        /* RFC 8446 §4.2.10: NST: uint32 max_early_data_size; CH, EE: Empty. */
        if (ctx == TD_EXT_CTX_NST) {
            if (!td_cbs_get_u32(b, &d->max_early_data_size))
                DECODE_FAIL(OFF(b), "max_early_data_size truncated");
            return TD_OK;
        }
        return TD_OK; /* CH, EE: empty, td_ext_decode's "nothing left over" check */
    case TD_EXT_SUPPORTED_VERSIONS:
        /* RFC 8446 §4.2.1: CH: ProtocolVersion versions<2..254>; SH/HRR:
         * ProtocolVersion selected_version. */
        if (server_form(ctx))
            return get_u16_field(b, base, &d->selected_version, "selected_version", diag);
        return get_u16_array(b, base, 1, 2, 254, d->versions, &d->num_versions,
                             "supported_versions", diag);
    case TD_EXT_COOKIE: {
        size_t at = OFF(b);
        if (!td_cbs_get_u16_prefixed(b, &d->cookie))
            DECODE_FAIL(at, "cookie: length runs past the end");
        /* RFC 8446 §4.2.2: opaque cookie<1..2^16-1>. */
        if (td_cbs_len(&d->cookie) == 0)
            TD_FAIL(diag, TD_ERR_DECODE, TD_RULE_COOKIE_EMPTY, at, "empty cookie");
        return TD_OK;
    }
    case TD_EXT_PSK_KEY_EXCHANGE_MODES: {
        /* RFC 8446 §4.2.9: PskKeyExchangeMode ke_modes<1..255>. */
        td_cbs modes;
        TD_CHECK(td_msg_get_vec(b, base, 1, 1, 255, &modes, "ke_modes", diag));
        d->num_psk_modes = td_cbs_len(&modes);
        (void)td_cbs_copy_bytes(&modes, d->psk_modes, d->num_psk_modes);
        return TD_OK;
    }
    case TD_EXT_CERTIFICATE_AUTHORITIES: return dec_cert_authorities(b, base, d, diag);
    case TD_EXT_OID_FILTERS: return dec_oid_filters(b, base, d, diag);
    case TD_EXT_POST_HANDSHAKE_AUTH:
        /* RFC 8446 §4.2.6: struct {} PostHandshakeAuth (td_ext_decode's
         * "nothing left over" check). */
        return TD_OK;
    case TD_EXT_KEY_SHARE:
        /* RFC 8446 §4.2.8: HRR: NamedGroup selected_group; SH: KeyShareEntry server_share. */
        if (ctx == TD_EXT_CTX_HRR)
            return get_u16_field(b, base, &d->hrr_selected_group, "selected_group", diag);
        if (ctx == TD_EXT_CTX_SH)
            return get_key_share_entry(b, base, &d->server_share, diag);
        return dec_key_share_ch(b, base, d, diag);
    case TD_EXT_RENEGOTIATION_INFO:
        /* RFC 5746 §3.2: opaque renegotiated_connection<0..255>. */
        return td_msg_get_vec(b, base, 1, 0, 255, &d->renegotiated_connection,
                              "renegotiated_connection", diag);
    default:
        /* Legacy extensions recognised for the table but kept opaque, and
         * unknown extensions: the raw body is all there is. */
        (void)td_cbs_skip(b, td_cbs_len(b));
        return TD_OK;
    }
}

bool td_ext_has_typed_form(td_ext_ctx ctx, uint16_t type)
{
    (void)ctx;
    switch (type) {
    case TD_EXT_SERVER_NAME:
    case TD_EXT_MAX_FRAGMENT_LENGTH:
    case TD_EXT_STATUS_REQUEST:
    case TD_EXT_SUPPORTED_GROUPS:
    case TD_EXT_SIGNATURE_ALGORITHMS:
    case TD_EXT_SIGNATURE_ALGORITHMS_CERT:
    case TD_EXT_ALPN:
    case TD_EXT_SCT:
    case TD_EXT_PADDING:
    case TD_EXT_RECORD_SIZE_LIMIT:
    case TD_EXT_PRE_SHARED_KEY:
    case TD_EXT_EARLY_DATA:
    case TD_EXT_SUPPORTED_VERSIONS:
    case TD_EXT_COOKIE:
    case TD_EXT_PSK_KEY_EXCHANGE_MODES:
    case TD_EXT_CERTIFICATE_AUTHORITIES:
    case TD_EXT_OID_FILTERS:
    case TD_EXT_POST_HANDSHAKE_AUTH:
    case TD_EXT_KEY_SHARE:
    case TD_EXT_RENEGOTIATION_INFO: return true;
    default: return false;
    }
}

td_err td_ext_decode(td_ext_ctx ctx, uint16_t type, td_cbs body, const uint8_t *base,
                     td_ext_data *data, td_diag *diag)
{
    td_cbs whole = body;
    TD_CHECK(dec_body(ctx, type, &body, base, data, diag));
    /* RFC 8446 §4.2 / §6: an extension body is exactly its structure; stray
     * bytes after it are a decode error. This also holds the extensions
     * whose body is empty in |ctx| to it (server_name but in CH, early_data
     * in CH and EE, the SCT request, post_handshake_auth): dec_body reads
     * nothing of them, and every other typed form reads something or fails. */
    if (td_cbs_len(&body) != 0) {
        char what[96];
        if (td_cbs_len(&body) == td_cbs_len(&whole))
            snprintf(what, sizeof(what), "%s in %s must be empty, has %zu bytes",
                     td_ext_type_name(type), td_ext_ctx_name(ctx), td_cbs_len(&body));
        else
            snprintf(what, sizeof(what), "%zu stray bytes after the %s body", td_cbs_len(&body),
                     td_ext_type_name(type));
        DECODE_FAIL(OFF(&body), "%s", what);
    }
    if (type == TD_EXT_PRE_SHARED_KEY && ctx != TD_EXT_CTX_SH && ctx != TD_EXT_CTX_HRR)
        return check_psk_counts(whole, base, data, diag);
    return TD_OK;
}

/* ---- encoding ---- */

static bool add_prefixed(td_cbb *out, int prefix, td_cbb *child)
{
    return prefix == 1   ? td_cbb_add_u8_prefixed(out, child)
           : prefix == 2 ? td_cbb_add_u16_prefixed(out, child)
                         : td_cbb_add_u24_prefixed(out, child);
}

bool td_msg_add_vec(td_cbb *out, int prefix, const td_cbs *v)
{
    td_cbb child;
    return add_prefixed(out, prefix, &child) &&
           td_cbb_add_bytes(&child, td_cbs_data(v), td_cbs_len(v)) && td_cbb_flush(out);
}
static bool add_u16_list(td_cbb *out, int prefix, const uint16_t *v, size_t n, size_t cap)
{
    td_cbb child;
    if (n > cap || (n > 0 && v == NULL) || !add_prefixed(out, prefix, &child))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!td_cbb_add_u16(&child, v[i]))
            return false;
    return td_cbb_flush(out);
}

static bool enc_status_request(td_ext_ctx ctx, const td_status_request *sr, td_cbb *out)
{
    if (ctx == TD_EXT_CTX_CR && sr->empty)
        return true;
    if (!td_cbb_add_u8(out, sr->status_type))
        return false;
    if (sr->status_type != 1)
        return td_cbb_add_bytes(out, td_cbs_data(&sr->response), td_cbs_len(&sr->response));
    if (ctx == TD_EXT_CTX_CT)
        return td_msg_add_vec(out, 3, &sr->response);
    td_cbb ids;
    if (!td_cbb_add_u16_prefixed(out, &ids))
        return false;
    for (size_t i = 0; i < sr->num_responder_ids; i++)
        if (!td_msg_add_vec(&ids, 2, &sr->responder_ids[i]))
            return false;
    return td_msg_add_vec(out, 2, &sr->request_extensions);
}

static bool enc_key_share_entry(const td_key_share_entry *e, td_cbb *out)
{
    return td_cbb_add_u16(out, e->group) && td_msg_add_vec(out, 2, &e->key_exchange);
}

static bool enc_offered_psks(const td_ext_data *d, td_cbb *out)
{
    td_cbb list;
    if (!td_cbb_add_u16_prefixed(out, &list))
        return false;
    for (size_t i = 0; i < d->num_psk_identities; i++)
        if (!td_msg_add_vec(&list, 2, &d->psk_identities[i].identity) ||
            !td_cbb_add_u32(&list, d->psk_identities[i].obfuscated_ticket_age))
            return false;
    if (!td_cbb_add_u16_prefixed(out, &list))
        return false;
    for (size_t i = 0; i < d->num_psk_binders; i++)
        if (!td_msg_add_vec(&list, 1, &d->psk_binders[i]))
            return false;
    return td_cbb_flush(out);
}

static bool enc_body(td_ext_ctx ctx, uint16_t type, const td_ext_data *d, td_cbb *out)
{
    td_cbb list;
    switch (type) {
    case TD_EXT_SERVER_NAME:
        if (ctx != TD_EXT_CTX_CH)
            return true;
        if (!td_cbb_add_u16_prefixed(out, &list))
            return false;
        for (size_t i = 0; i < d->num_server_names; i++)
            if (!td_cbb_add_u8(&list, d->server_names[i].name_type) ||
                !td_msg_add_vec(&list, 2, &d->server_names[i].name))
                return false;
        return td_cbb_flush(out);
    case TD_EXT_MAX_FRAGMENT_LENGTH: return td_cbb_add_u8(out, d->max_fragment_length);
    case TD_EXT_STATUS_REQUEST: return enc_status_request(ctx, &d->status_request, out);
    case TD_EXT_SUPPORTED_GROUPS:
        return add_u16_list(out, 2, d->groups, d->num_groups, SIZE_MAX);
    case TD_EXT_SIGNATURE_ALGORITHMS:
        return add_u16_list(out, 2, d->sigalgs, d->num_sigalgs, SIZE_MAX);
    case TD_EXT_SIGNATURE_ALGORITHMS_CERT:
        return add_u16_list(out, 2, d->sigalgs_cert, d->num_sigalgs_cert, SIZE_MAX);
    case TD_EXT_ALPN:
        if (!td_cbb_add_u16_prefixed(out, &list))
            return false;
        for (size_t i = 0; i < d->num_alpn; i++)
            if (!td_msg_add_vec(&list, 1, &d->alpn[i]))
                return false;
        return td_cbb_flush(out);
    case TD_EXT_SCT: return ctx != TD_EXT_CTX_CT || td_msg_add_vec(out, 2, &d->sct_list);
    case TD_EXT_PADDING: {
        uint8_t *p;
        if (!td_cbb_add_space(out, &p, d->padding_len))
            return false;
        if (d->padding_len)
            memset(p, 0, d->padding_len);
        return true;
    }
    case TD_EXT_RECORD_SIZE_LIMIT: return td_cbb_add_u16(out, d->record_size_limit);
    case TD_EXT_PRE_SHARED_KEY:
        if (server_form(ctx))
            return td_cbb_add_u16(out, d->psk_selected_identity);
        return enc_offered_psks(d, out);
    case TD_EXT_EARLY_DATA:
        return ctx != TD_EXT_CTX_NST || td_cbb_add_u32(out, d->max_early_data_size);
    case TD_EXT_SUPPORTED_VERSIONS:
        if (server_form(ctx))
            return td_cbb_add_u16(out, d->selected_version);
        return add_u16_list(out, 1, d->versions, d->num_versions, TD_MAX_VERSIONS);
    case TD_EXT_COOKIE: return td_msg_add_vec(out, 2, &d->cookie);
    case TD_EXT_PSK_KEY_EXCHANGE_MODES:
        if (d->num_psk_modes > TD_MAX_PSK_MODES || !td_cbb_add_u8_prefixed(out, &list))
            return false;
        return td_cbb_add_bytes(&list, d->psk_modes, d->num_psk_modes) && td_cbb_flush(out);
    case TD_EXT_CERTIFICATE_AUTHORITIES:
        if (!td_cbb_add_u16_prefixed(out, &list))
            return false;
        for (size_t i = 0; i < d->num_cert_authorities; i++)
            if (!td_msg_add_vec(&list, 2, &d->cert_authorities[i]))
                return false;
        return td_cbb_flush(out);
    case TD_EXT_OID_FILTERS:
        if (!td_cbb_add_u16_prefixed(out, &list))
            return false;
        for (size_t i = 0; i < d->num_oid_filters; i++)
            if (!td_msg_add_vec(&list, 1, &d->oid_filters[i].oid) ||
                !td_msg_add_vec(&list, 2, &d->oid_filters[i].values))
                return false;
        return td_cbb_flush(out);
    case TD_EXT_POST_HANDSHAKE_AUTH: return true;
    case TD_EXT_KEY_SHARE:
        if (ctx == TD_EXT_CTX_HRR)
            return td_cbb_add_u16(out, d->hrr_selected_group);
        if (ctx == TD_EXT_CTX_SH)
            return enc_key_share_entry(&d->server_share, out);
        if (!td_cbb_add_u16_prefixed(out, &list))
            return false;
        for (size_t i = 0; i < d->num_key_shares; i++)
            if (!enc_key_share_entry(&d->key_shares[i], &list))
                return false;
        return td_cbb_flush(out);
    case TD_EXT_RENEGOTIATION_INFO: return td_msg_add_vec(out, 1, &d->renegotiated_connection);
    default: return false;
    }
}

td_err td_ext_encode(td_ext_ctx ctx, uint16_t type, const td_ext_data *data, td_cbb *out)
{
    if (!td_ext_has_typed_form(ctx, type))
        return TD_ERR_ARG;
    if (!enc_body(ctx, type, data, out) || !td_cbb_flush(out))
        return TD_ERR_ARG;
    return TD_OK;
}
