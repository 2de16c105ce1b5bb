/* engine/msg.c -- handshake messages: parse (RFC 8446 §4, in wire order per
 * message), header framing, names. Builders are in engine/msg_build.c.
 * See tlsdrill/msg.h. */
#include <stddef.h>
#include <string.h>

#include "msg_internal.h"

#define OFF(cbs) td_cbs_offset((cbs), base)
#define DECODE_FAIL(at, ...) TD_FAIL(diag, TD_ERR_DECODE, TD_RULE_GEN_DECODE, (at), __VA_ARGS__)

/* RFC 8446 §4.1.3: SHA-256("HelloRetryRequest"). */
const uint8_t td_hrr_random[TD_RANDOM_LEN] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

const char *td_msg_type_name(unsigned type)
{
    switch (type) {
    case TD_MSG_CLIENT_HELLO: return "client_hello";
    case TD_MSG_SERVER_HELLO: return "server_hello";
    case TD_MSG_NEW_SESSION_TICKET: return "new_session_ticket";
    case TD_MSG_END_OF_EARLY_DATA: return "end_of_early_data";
    case TD_MSG_ENCRYPTED_EXTENSIONS: return "encrypted_extensions";
    case TD_MSG_CERTIFICATE: return "certificate";
    case TD_MSG_CERTIFICATE_REQUEST: return "certificate_request";
    case TD_MSG_CERTIFICATE_VERIFY: return "certificate_verify";
    case TD_MSG_FINISHED: return "finished";
    case TD_MSG_KEY_UPDATE: return "key_update";
    case TD_MSG_MESSAGE_HASH: return "message_hash";
    default: return "unknown";
    }
}

static td_err get_u16(td_cbs *in, const uint8_t *base, uint16_t *out, const char *what,
                      td_diag *diag)
{
    if (!td_cbs_get_u16(in, out))
        DECODE_FAIL(OFF(in), "%s: truncated", what);
    return TD_OK;
}

static td_err get_u32(td_cbs *in, const uint8_t *base, uint32_t *out, const char *what,
                      td_diag *diag)
{
    if (!td_cbs_get_u32(in, out))
        DECODE_FAIL(OFF(in), "%s: truncated", what);
    return TD_OK;
}

static td_err get_random(td_cbs *in, const uint8_t *base, uint8_t *out, td_diag *diag)
{
    if (!td_cbs_copy_bytes(in, out, TD_RANDOM_LEN))
        DECODE_FAIL(OFF(in), "random: truncated");
    return TD_OK;
}

/* RFC 8446 §4 / §6: a message is exactly its structure, nothing after it. */
static td_err expect_end(const td_cbs *in, const uint8_t *base, const char *what, td_diag *diag)
{
    if (td_cbs_len(in) != 0)
        DECODE_FAIL(OFF(in), "%zu stray bytes after the %s", td_cbs_len(in), what);
    return TD_OK;
}

static td_err parse_client_hello(td_cbs *in, const uint8_t *base, td_client_hello *ch,
                                 td_diag *diag)
{
    td_cbs suites, exts;
    TD_CHECK(get_u16(in, base, &ch->legacy_version, "legacy_version", diag));
    TD_CHECK(get_random(in, base, ch->random, diag));
    /* RFC 8446 §4.1.2: opaque legacy_session_id<0..32>. */
    TD_CHECK(td_msg_get_vec(in, base, 1, 0, 32, &ch->legacy_session_id, "legacy_session_id", diag));
    /* RFC 8446 §4.1.2: CipherSuite cipher_suites<2..2^16-2>. */
    size_t at = OFF(in);
    TD_CHECK(td_msg_get_vec(in, base, 2, 2, 0xfffe, &suites, "cipher_suites", diag));
    if (td_cbs_len(&suites) % 2 != 0)
        DECODE_FAIL(at, "cipher_suites: odd length %zu", td_cbs_len(&suites));
    /* §9.3: unknown suites are ignored, not refused: the vector's bound is
     * the only limit. */
    size_t n = td_cbs_len(&suites) / 2;
    ch->num_cipher_suites = 0;
    uint16_t *v = td_list_push_n(&ch->cipher_suites, ch->cipher_suites_inline,
                                 TD_MAX_CIPHER_SUITES, &ch->num_cipher_suites, n, sizeof(uint16_t));
    if (v == NULL)
        return TD_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        (void)td_cbs_get_u16(&suites, &v[i]);
    /* RFC 8446 §4.1.2: opaque legacy_compression_methods<1..2^8-1>. Whether it
     * is exactly {0} (CH-COMPRESSION) depends on the negotiated version: the
     * state machine checks it. */
    TD_CHECK(td_msg_get_vec(in, base, 1, 1, 255, &ch->legacy_compression_methods,
                            "legacy_compression_methods", diag));
    /* RFC 8446 §4.1.2: a pre-TLS 1.3 ClientHello may end here; otherwise what
     * follows must be exactly one extensions block. The <8..> minimum of a
     * TLS 1.3 block is implied by its mandatory extensions, which the state
     * machine checks (CH-MANDATORY-EXT), so it is not enforced here. */
    ch->has_extensions = td_cbs_len(in) > 0;
    ch->exts.ctx = TD_EXT_CTX_CH;
    if (!ch->has_extensions)
        return TD_OK;
    at = OFF(in);
    if (!td_cbs_get_u16_prefixed(in, &exts) || td_cbs_len(in) != 0)
        TD_FAIL(diag, TD_ERR_DECODE, TD_RULE_CH_TRAILING_DATA, at,
                "bytes after legacy_compression_methods are not one extensions block");
    return td_exts_parse_fresh(TD_EXT_CTX_CH, exts, base, false, &ch->exts, &ch->ext, diag);
}

static td_err parse_server_hello(td_cbs *in, const uint8_t *base, td_sh_mode mode,
                                 td_server_hello *sh, td_diag *diag)
{
    td_cbs exts;
    TD_CHECK(get_u16(in, base, &sh->legacy_version, "legacy_version", diag));
    TD_CHECK(get_random(in, base, sh->random, diag));
    sh->is_hrr = mode == TD_SH_FORCE_HRR ||
                 (mode == TD_SH_AUTO && memcmp(sh->random, td_hrr_random, TD_RANDOM_LEN) == 0);
    /* RFC 8446 §4.1.3: opaque legacy_session_id_echo<0..32>. */
    TD_CHECK(td_msg_get_vec(in, base, 1, 0, 32, &sh->legacy_session_id_echo,
                            "legacy_session_id_echo", diag));
    TD_CHECK(get_u16(in, base, &sh->cipher_suite, "cipher_suite", diag));
    size_t at = OFF(in);
    if (!td_cbs_get_u8(in, &sh->legacy_compression_method))
        DECODE_FAIL(at, "legacy_compression_method: truncated");
    if (sh->is_hrr) {
        /* RFC 8446 §4.1.4: the client MUST check legacy_compression_method
         * (= 0, §4.1.3) of a HelloRetryRequest. */
        if (sh->legacy_compression_method != 0)
            TD_FAIL(diag, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_HRR_LEGACY_FIELDS, at,
                    "HelloRetryRequest legacy_compression_method %u",
                    sh->legacy_compression_method);
    } else {
        /* RFC 8446 §4.1.3: uint8 legacy_compression_method = 0; §6: illegal_parameter.
         * Checked for TLS 1.2 ServerHellos too: a TLS 1.3 client offers only
         * the null method (§4.1.2), so any other value was never offered. */
        if (sh->legacy_compression_method != 0)
            TD_FAIL(diag, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_SH_COMPRESSION, at,
                    "ServerHello legacy_compression_method %u", sh->legacy_compression_method);
    }
    td_ext_ctx ctx = sh->is_hrr ? TD_EXT_CTX_HRR : TD_EXT_CTX_SH;
    sh->exts.ctx = ctx;
    /* A TLS 1.2 ServerHello may end here (RFC 5246 §7.4.1.3); a TLS 1.3 one
     * lacks supported_versions then (SV-SH-MISSING, the state machine's). */
    sh->has_extensions = td_cbs_len(in) > 0;
    sh->legacy = !sh->is_hrr;
    if (!sh->has_extensions)
        return TD_OK;
    /* RFC 8446 §4.1.3: Extension extensions<6..2^16-1>; the minimum is implied
     * by supported_versions, whose absence is not a syntax error here. */
    TD_CHECK(td_msg_get_vec(in, base, 2, 0, 0xffff, &exts, "extensions", diag));
    TD_CHECK(expect_end(in, base, "ServerHello", diag));
    td_cbs scan = exts;
    bool has_sv = false;
    /* Quick scan for supported_versions: it decides whether the §4.2 table applies. */
    while (td_cbs_len(&scan) >= 4) {
        uint16_t type;
        td_cbs body;
        if (!td_cbs_get_u16(&scan, &type) || !td_cbs_get_u16_prefixed(&scan, &body))
            break;
        has_sv |= type == TD_EXT_SUPPORTED_VERSIONS;
    }
    if (has_sv)
        sh->legacy = false;
    return td_exts_parse_fresh(ctx, exts, base, sh->legacy, &sh->exts, &sh->ext, diag);
}

/* RFC 8446 §4.3.1: Extension extensions<0..2^16-1>. */
static td_err parse_encrypted_extensions(td_cbs *in, const uint8_t *base,
                                         td_encrypted_extensions *ee, td_diag *diag)
{
    td_cbs exts;
    TD_CHECK(td_msg_get_vec(in, base, 2, 0, 0xffff, &exts, "extensions", diag));
    TD_CHECK(expect_end(in, base, "EncryptedExtensions", diag));
    return td_exts_parse_fresh(TD_EXT_CTX_EE, exts, base, false, &ee->exts, &ee->ext, diag);
}

/* RFC 8446 §4.3.2: opaque certificate_request_context<0..2^8-1>;
 * Extension extensions<2..2^16-1>. */
static td_err parse_certificate_request(td_cbs *in, const uint8_t *base, td_certificate_request *cr,
                                        td_diag *diag)
{
    td_cbs exts;
    TD_CHECK(
        td_msg_get_vec(in, base, 1, 0, 255, &cr->context, "certificate_request_context", diag));
    TD_CHECK(td_msg_get_vec(in, base, 2, 2, 0xffff, &exts, "extensions", diag));
    TD_CHECK(expect_end(in, base, "CertificateRequest", diag));
    return td_exts_parse_fresh(TD_EXT_CTX_CR, exts, base, false, &cr->exts, &cr->ext, diag);
}

/* RFC 8446 §4.4.2: opaque certificate_request_context<0..2^8-1>;
 * CertificateEntry certificate_list<0..2^24-1>; CertificateEntry {
 * opaque cert_data<1..2^24-1>; Extension extensions<0..2^16-1>; }. */
static td_err parse_certificate(td_cbs *in, const uint8_t *base, td_certificate *ct, td_diag *diag)
{
    td_cbs list;
    TD_CHECK(
        td_msg_get_vec(in, base, 1, 0, 255, &ct->context, "certificate_request_context", diag));
    TD_CHECK(td_msg_get_vec(in, base, 3, 0, 0xffffff, &list, "certificate_list", diag));
    TD_CHECK(expect_end(in, base, "Certificate", diag));
    ct->num_entries = 0;
    while (td_cbs_len(&list) > 0) {
        td_cert_entry e;
        e.offset = OFF(&list);
        TD_CHECK(td_msg_get_vec(&list, base, 3, 1, 0xffffff, &e.cert_data, "cert_data", diag));
        TD_CHECK(td_msg_get_vec(&list, base, 2, 0, 0xffff, &e.extensions,
                                "CertificateEntry extensions", diag));
        /* Validated now (table, duplicates, bodies); kept raw. */
        td_exts exts;
        td_ext_data data;
        TD_CHECK(td_exts_parse(TD_EXT_CTX_CT, e.extensions, base, &exts, &data, diag));
        td_exts_cleanup(&exts);
        td_ext_data_cleanup(&data);
        td_cert_entry *slot = TD_LIST_PUSH(ct, entries);
        if (slot == NULL)
            return TD_ERR_NOMEM;
        *slot = e;
    }
    return TD_OK;
}

/* RFC 8446 §4.4.3: SignatureScheme algorithm; opaque signature<0..2^16-1>. */
static td_err parse_certificate_verify(td_cbs *in, const uint8_t *base, td_certificate_verify *cv,
                                       td_diag *diag)
{
    TD_CHECK(get_u16(in, base, &cv->algorithm, "algorithm", diag));
    TD_CHECK(td_msg_get_vec(in, base, 2, 0, 0xffff, &cv->signature, "signature", diag));
    return expect_end(in, base, "CertificateVerify", diag);
}

/* RFC 8446 §4.6.1: uint32 ticket_lifetime; uint32 ticket_age_add; opaque
 * ticket_nonce<0..255>; opaque ticket<1..2^16-1>; Extension extensions<0..2^16-2>. */
static td_err parse_new_session_ticket(td_cbs *in, const uint8_t *base, td_new_session_ticket *nst,
                                       td_diag *diag)
{
    td_cbs exts;
    TD_CHECK(get_u32(in, base, &nst->ticket_lifetime, "ticket_lifetime", diag));
    TD_CHECK(get_u32(in, base, &nst->ticket_age_add, "ticket_age_add", diag));
    TD_CHECK(td_msg_get_vec(in, base, 1, 0, 255, &nst->ticket_nonce, "ticket_nonce", diag));
    TD_CHECK(td_msg_get_vec(in, base, 2, 1, 0xffff, &nst->ticket, "ticket", diag));
    TD_CHECK(td_msg_get_vec(in, base, 2, 0, 0xfffe, &exts, "extensions", diag));
    TD_CHECK(expect_end(in, base, "NewSessionTicket", diag));
    return td_exts_parse_fresh(TD_EXT_CTX_NST, exts, base, false, &nst->exts, &nst->ext, diag);
}

/* Finished (§4.4.4: opaque verify_data[Hash.length]) and message_hash
 * (§4.4.1: Hash(ClientHello1)): exactly one hash. */
static td_err parse_hash_body(td_cbs *in, const uint8_t *base, size_t hash_len, td_cbs *out,
                              const char *what, td_diag *diag)
{
    if (hash_len == 0)
        return td_diag_set(diag, TD_ERR_ARG, TD_RULE_NONE, 0, __FILE__, __LINE__,
                           "%s needs the hash length (td_msg_ctx.hash_len)", what);
    /* RFC 8446 §4.4.4 / §4.4.1: the body is Hash.length bytes; another length
     * does not parse (decode_error, §6). */
    if (td_cbs_len(in) != hash_len)
        DECODE_FAIL(OFF(in), "%s of %zu bytes, expected %zu", what, td_cbs_len(in), hash_len);
    (void)td_cbs_get_bytes(in, out, hash_len);
    return TD_OK;
}

/* RFC 8446 §4.6.3: KeyUpdateRequest request_update. */
static td_err parse_key_update(td_cbs *in, const uint8_t *base, td_key_update *ku, td_diag *diag)
{
    size_t at = OFF(in);
    if (!td_cbs_get_u8(in, &ku->request_update))
        DECODE_FAIL(at, "request_update: truncated");
    TD_CHECK(expect_end(in, base, "KeyUpdate", diag));
    /* RFC 8446 §4.6.3: if request_update is neither 0 nor 1, the receiver MUST
     * abort with illegal_parameter. */
    if (ku->request_update > 1)
        TD_FAIL(diag, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_KU_BAD_REQUEST, at,
                "request_update %u is neither 0 nor 1", ku->request_update);
    return TD_OK;
}

static td_err msg_parse_body(uint8_t type, td_cbs body, const uint8_t *base, const td_msg_ctx *ctx,
                             td_msg *out, td_diag *diag);

static td_err msg_parse_at(uint8_t type, td_cbs body, const uint8_t *base, const td_msg_ctx *ctx,
                           td_msg *out, td_diag *diag)
{
    static const td_msg_ctx k_default_ctx = {0, TD_SH_AUTO};
    if (ctx == NULL)
        ctx = &k_default_ctx;
    td_msg_zero(out, type);
    out->type = (td_msg_type)type;
    out->body = body;
    td_msg_point_lists(out);
    td_err err = msg_parse_body(type, body, base, ctx, out, diag);
    if (err != TD_OK)
        td_msg_cleanup(out); /* a message that does not parse leaves nothing to free */
    return err;
}

static td_err msg_parse_body(uint8_t type, td_cbs body, const uint8_t *base, const td_msg_ctx *ctx,
                             td_msg *out, td_diag *diag)
{
    td_cbs in = body;
    switch (type) {
    case TD_MSG_CLIENT_HELLO: return parse_client_hello(&in, base, &out->u.ch, diag);
    case TD_MSG_SERVER_HELLO: return parse_server_hello(&in, base, ctx->sh_mode, &out->u.sh, diag);
    case TD_MSG_NEW_SESSION_TICKET: return parse_new_session_ticket(&in, base, &out->u.nst, diag);
    case TD_MSG_END_OF_EARLY_DATA:
        /* RFC 8446 §4.5: struct {} EndOfEarlyData. */
        return expect_end(&in, base, "EndOfEarlyData", diag);
    case TD_MSG_ENCRYPTED_EXTENSIONS:
        return parse_encrypted_extensions(&in, base, &out->u.ee, diag);
    case TD_MSG_CERTIFICATE: return parse_certificate(&in, base, &out->u.cert, diag);
    case TD_MSG_CERTIFICATE_REQUEST: return parse_certificate_request(&in, base, &out->u.cr, diag);
    case TD_MSG_CERTIFICATE_VERIFY: return parse_certificate_verify(&in, base, &out->u.cv, diag);
    case TD_MSG_FINISHED:
        return parse_hash_body(&in, base, ctx->hash_len, &out->u.fin.verify_data, "Finished", diag);
    case TD_MSG_KEY_UPDATE: return parse_key_update(&in, base, &out->u.ku, diag);
    case TD_MSG_MESSAGE_HASH:
        return parse_hash_body(&in, base, ctx->hash_len, &out->u.mh.hash, "message_hash", diag);
    default:
        /* RFC 8446 §4: an unexpected (here: unknown or TLS 1.2-only) message
         * type MUST be answered with unexpected_message. */
        TD_FAIL(diag, TD_ERR_UNEXPECTED, TD_RULE_GEN_UNEXPECTED_ORDER, 0,
                "handshake message type %u (%s) is not a TLS 1.3 message", type,
                td_msg_type_name(type));
    }
    TD_SITE_PASSED();
}

td_err td_msg_parse(uint8_t type, const uint8_t *body, size_t len, const td_msg_ctx *ctx,
                    td_msg *out, td_diag *diag)
{
    static const uint8_t k_empty[1] = {0};
    td_cbs cbs;
    if (body == NULL && len != 0)
        return TD_ERR_ARG;
    if (body == NULL) /* views never hold NULL: no arithmetic on a null pointer */
        body = k_empty;
    td_cbs_init(&cbs, body, len);
    return msg_parse_at(type, cbs, body, ctx, out, diag);
}

td_err td_msg_parse_handshake(const uint8_t *data, size_t len, const td_msg_ctx *ctx, td_msg *out,
                              td_diag *diag)
{
    td_cbs in, body;
    uint8_t type;
    const uint8_t *base = data;
    if (data == NULL && len != 0)
        return TD_ERR_ARG;
    if (data == NULL && !TD_SITE_OFF(TD_RULE_GEN_DECODE))
        return td_diag_set(diag, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 0, __FILE__, __LINE__,
                           "empty handshake message");
    td_cbs_init(&in, data, len);
    /* RFC 8446 §4: HandshakeType msg_type; uint24 length; the body fills
     * exactly |length| bytes. */
    if (!td_cbs_get_u8(&in, &type) || !td_cbs_get_u24_prefixed(&in, &body))
        DECODE_FAIL(0, "handshake header or body truncated (%zu bytes)", len);
    TD_CHECK(expect_end(&in, base, "handshake message", diag));
    return msg_parse_at(type, body, base, ctx, out, diag);
}

td_err td_msg_next(td_cbs *in, uint8_t *out_type, td_cbs *out_body, td_cbs *out_whole)
{
    td_cbs copy = *in, body;
    uint8_t type;
    if (!td_cbs_get_u8(&copy, &type) || !td_cbs_get_u24_prefixed(&copy, &body))
        return TD_ERR_WANT_MORE;
    size_t whole = TD_HANDSHAKE_HEADER_LEN + td_cbs_len(&body);
    if (out_whole != NULL)
        td_cbs_init(out_whole, td_cbs_data(in), whole);
    *out_type = type;
    *out_body = body;
    *in = copy;
    return TD_OK;
}

td_exts *td_msg_exts(td_msg *msg, td_ext_data **out_data)
{
    td_exts *exts = NULL;
    td_ext_data *data = NULL;
    switch (msg->type) {
    case TD_MSG_CLIENT_HELLO:
        exts = &msg->u.ch.exts;
        data = &msg->u.ch.ext;
        break;
    case TD_MSG_SERVER_HELLO:
        exts = &msg->u.sh.exts;
        data = &msg->u.sh.ext;
        break;
    case TD_MSG_ENCRYPTED_EXTENSIONS:
        exts = &msg->u.ee.exts;
        data = &msg->u.ee.ext;
        break;
    case TD_MSG_CERTIFICATE_REQUEST:
        exts = &msg->u.cr.exts;
        data = &msg->u.cr.ext;
        break;
    case TD_MSG_NEW_SESSION_TICKET:
        exts = &msg->u.nst.exts;
        data = &msg->u.nst.ext;
        break;
    case TD_MSG_END_OF_EARLY_DATA:
    case TD_MSG_CERTIFICATE:
    case TD_MSG_CERTIFICATE_VERIFY:
    case TD_MSG_FINISHED:
    case TD_MSG_KEY_UPDATE:
    case TD_MSG_MESSAGE_HASH:
    default: break;
    }
    if (out_data != NULL)
        *out_data = data;
    return exts;
}

void td_msg_zero(td_msg *msg, uint8_t type)
{
    size_t used;
    switch (type) {
    case TD_MSG_CLIENT_HELLO: used = sizeof(msg->u.ch); break;
    case TD_MSG_SERVER_HELLO: used = sizeof(msg->u.sh); break;
    case TD_MSG_NEW_SESSION_TICKET: used = sizeof(msg->u.nst); break;
    case TD_MSG_END_OF_EARLY_DATA: used = 0; break;
    case TD_MSG_ENCRYPTED_EXTENSIONS: used = sizeof(msg->u.ee); break;
    case TD_MSG_CERTIFICATE: used = sizeof(msg->u.cert); break;
    case TD_MSG_CERTIFICATE_REQUEST: used = sizeof(msg->u.cr); break;
    case TD_MSG_CERTIFICATE_VERIFY: used = sizeof(msg->u.cv); break;
    case TD_MSG_FINISHED: used = sizeof(msg->u.fin); break;
    case TD_MSG_KEY_UPDATE: used = sizeof(msg->u.ku); break;
    case TD_MSG_MESSAGE_HASH: used = sizeof(msg->u.mh); break;
    default: used = sizeof(msg->u); break;
    }
    /* A parsed Finished or Certificate does not pay for zeroing a
     * ClientHello's 6 KB of inline lists. */
    memset(msg, 0, offsetof(td_msg, u) + used);
}

void td_msg_point_lists(td_msg *msg)
{
    td_ext_data *data;
    td_exts *exts = td_msg_exts(msg, &data);
    if (exts != NULL) {
        exts->list = exts->list_inline;
        td_ext_data_point_lists(data);
    }
    if (msg->type == TD_MSG_CLIENT_HELLO)
        msg->u.ch.cipher_suites = msg->u.ch.cipher_suites_inline;
    if (msg->type == TD_MSG_CERTIFICATE)
        msg->u.cert.entries = msg->u.cert.entries_inline;
}

void td_msg_cleanup(td_msg *msg)
{
    if (msg == NULL)
        return;
    td_ext_data *data;
    td_exts *exts = td_msg_exts(msg, &data);
    td_exts_cleanup(exts);
    td_ext_data_cleanup(data);
    switch (msg->type) {
    case TD_MSG_CLIENT_HELLO:
        td_list_free(&msg->u.ch.cipher_suites, msg->u.ch.cipher_suites_inline);
        msg->u.ch.num_cipher_suites = 0;
        break;
    case TD_MSG_CERTIFICATE:
        td_list_free(&msg->u.cert.entries, msg->u.cert.entries_inline);
        msg->u.cert.num_entries = 0;
        break;
    case TD_MSG_SERVER_HELLO:
    case TD_MSG_NEW_SESSION_TICKET:
    case TD_MSG_END_OF_EARLY_DATA:
    case TD_MSG_ENCRYPTED_EXTENSIONS:
    case TD_MSG_CERTIFICATE_REQUEST:
    case TD_MSG_CERTIFICATE_VERIFY:
    case TD_MSG_FINISHED:
    case TD_MSG_KEY_UPDATE:
    case TD_MSG_MESSAGE_HASH:
    default: break;
    }
}

size_t td_msg_max_body(uint8_t type)
{
    switch (type) {
    /* §4.1.2: legacy_version, random, legacy_session_id<0..32>,
     * cipher_suites<2..2^16-2>, legacy_compression_methods<1..2^8-1>,
     * extensions<8..2^16-1>. */
    case TD_MSG_CLIENT_HELLO: return 2 + 32 + (1 + 32) + (2 + 0xfffe) + (1 + 0xff) + (2 + 0xffff);
    /* §4.1.3: legacy_version, random, legacy_session_id_echo<0..32>,
     * cipher_suite, legacy_compression_method, extensions<6..2^16-1>. */
    case TD_MSG_SERVER_HELLO: return 2 + 32 + (1 + 32) + 2 + 1 + (2 + 0xffff);
    /* §4.6.1: lifetime, age_add, ticket_nonce<0..255>, ticket<1..2^16-1>,
     * extensions<0..2^16-2>. */
    case TD_MSG_NEW_SESSION_TICKET: return 4 + 4 + (1 + 0xff) + (2 + 0xffff) + (2 + 0xfffe);
    case TD_MSG_END_OF_EARLY_DATA: return 0; /* §4.5: struct {} */
    /* §4.3.1: extensions<0..2^16-1>. */
    case TD_MSG_ENCRYPTED_EXTENSIONS: return 2 + 0xffff;
    /* §4.3.2: certificate_request_context<0..2^8-1>, extensions<2..2^16-1>. */
    case TD_MSG_CERTIFICATE_REQUEST: return (1 + 0xff) + (2 + 0xffff);
    /* §4.4.2: the handshake header's uint24 length is the bound. */
    case TD_MSG_CERTIFICATE: return 0xffffff;
    /* §4.4.3: algorithm, signature<0..2^16-1>. */
    case TD_MSG_CERTIFICATE_VERIFY: return 2 + (2 + 0xffff);
    /* §4.4.4: verify_data[Hash.length]: SHA-384 at most. */
    case TD_MSG_FINISHED: return 48;
    case TD_MSG_KEY_UPDATE: return 1; /* §4.6.3 */
    default: return SIZE_MAX;
    }
}
