/* engine/msg_build.c -- handshake message builders (RFC 8446 §4), the
 * truncated ClientHello and the binder prefix of a parsed one (§4.2.11.2),
 * and td_msg_init.
 * Builders encode the struct as it is (see tlsdrill/msg.h). */
#include <string.h>

#include "msg_internal.h"

#define BUILD_CHECK(cond)                                                                          \
    do {                                                                                           \
        if (!(cond))                                                                               \
            return TD_ERR_ARG;                                                                     \
    } while (0)

static td_err build_client_hello(const td_client_hello *ch, td_cbb *out, size_t *out_binders_at)
{
    td_cbb suites;
    BUILD_CHECK(ch->num_cipher_suites == 0 || ch->cipher_suites != NULL);
    BUILD_CHECK(td_cbb_add_u16(out, ch->legacy_version));
    BUILD_CHECK(td_cbb_add_bytes(out, ch->random, TD_RANDOM_LEN));
    BUILD_CHECK(td_msg_add_vec(out, 1, &ch->legacy_session_id));
    BUILD_CHECK(td_cbb_add_u16_prefixed(out, &suites));
    for (size_t i = 0; i < ch->num_cipher_suites; i++)
        BUILD_CHECK(td_cbb_add_u16(&suites, ch->cipher_suites[i]));
    BUILD_CHECK(td_msg_add_vec(out, 1, &ch->legacy_compression_methods));
    if (!ch->has_extensions)
        return TD_OK;
    size_t exts_at = td_cbb_len(out), rel;
    TD_CHECK(td_exts_build_ex(&ch->exts, &ch->ext, out, &rel));
    if (out_binders_at != NULL)
        *out_binders_at = rel == SIZE_MAX ? SIZE_MAX : exts_at + rel;
    return TD_OK;
}

static td_err build_server_hello(const td_server_hello *sh, td_cbb *out)
{
    BUILD_CHECK(td_cbb_add_u16(out, sh->legacy_version));
    BUILD_CHECK(td_cbb_add_bytes(out, sh->random, TD_RANDOM_LEN));
    BUILD_CHECK(td_msg_add_vec(out, 1, &sh->legacy_session_id_echo));
    BUILD_CHECK(td_cbb_add_u16(out, sh->cipher_suite));
    BUILD_CHECK(td_cbb_add_u8(out, sh->legacy_compression_method));
    if (!sh->has_extensions)
        return TD_OK;
    return td_exts_build(&sh->exts, &sh->ext, out);
}

static td_err build_certificate(const td_certificate *ct, td_cbb *out)
{
    td_cbb list;
    BUILD_CHECK(ct->num_entries == 0 || ct->entries != NULL);
    BUILD_CHECK(td_msg_add_vec(out, 1, &ct->context));
    BUILD_CHECK(td_cbb_add_u24_prefixed(out, &list));
    for (size_t i = 0; i < ct->num_entries; i++) {
        BUILD_CHECK(td_msg_add_vec(&list, 3, &ct->entries[i].cert_data));
        BUILD_CHECK(td_msg_add_vec(&list, 2, &ct->entries[i].extensions));
    }
    BUILD_CHECK(td_cbb_flush(out));
    return TD_OK;
}

static td_err build_new_session_ticket(const td_new_session_ticket *nst, td_cbb *out)
{
    BUILD_CHECK(td_cbb_add_u32(out, nst->ticket_lifetime));
    BUILD_CHECK(td_cbb_add_u32(out, nst->ticket_age_add));
    BUILD_CHECK(td_msg_add_vec(out, 1, &nst->ticket_nonce));
    BUILD_CHECK(td_msg_add_vec(out, 2, &nst->ticket));
    return td_exts_build(&nst->exts, &nst->ext, out);
}

static td_err build_body(const td_msg *msg, td_cbb *out, size_t *out_binders_at)
{
    if (out_binders_at != NULL)
        *out_binders_at = SIZE_MAX;
    switch (msg->type) {
    case TD_MSG_CLIENT_HELLO: return build_client_hello(&msg->u.ch, out, out_binders_at);
    case TD_MSG_SERVER_HELLO: return build_server_hello(&msg->u.sh, out);
    case TD_MSG_NEW_SESSION_TICKET: return build_new_session_ticket(&msg->u.nst, out);
    case TD_MSG_END_OF_EARLY_DATA: return TD_OK;
    case TD_MSG_ENCRYPTED_EXTENSIONS: return td_exts_build(&msg->u.ee.exts, &msg->u.ee.ext, out);
    case TD_MSG_CERTIFICATE: return build_certificate(&msg->u.cert, out);
    case TD_MSG_CERTIFICATE_REQUEST:
        BUILD_CHECK(td_msg_add_vec(out, 1, &msg->u.cr.context));
        return td_exts_build(&msg->u.cr.exts, &msg->u.cr.ext, out);
    case TD_MSG_CERTIFICATE_VERIFY:
        BUILD_CHECK(td_cbb_add_u16(out, msg->u.cv.algorithm));
        BUILD_CHECK(td_msg_add_vec(out, 2, &msg->u.cv.signature));
        return TD_OK;
    case TD_MSG_FINISHED:
        BUILD_CHECK(td_cbb_add_bytes(out, td_cbs_data(&msg->u.fin.verify_data),
                                     td_cbs_len(&msg->u.fin.verify_data)));
        return TD_OK;
    case TD_MSG_KEY_UPDATE: BUILD_CHECK(td_cbb_add_u8(out, msg->u.ku.request_update)); return TD_OK;
    case TD_MSG_MESSAGE_HASH:
        BUILD_CHECK(
            td_cbb_add_bytes(out, td_cbs_data(&msg->u.mh.hash), td_cbs_len(&msg->u.mh.hash)));
        return TD_OK;
    default: return TD_ERR_ARG;
    }
}

td_err td_msg_build_body(const td_msg *msg, td_cbb *out)
{
    TD_CHECK(build_body(msg, out, NULL));
    BUILD_CHECK(td_cbb_flush(out));
    return TD_OK;
}

static td_err build_whole(const td_msg *msg, td_cbb *out, size_t *out_binders_at)
{
    td_cbb body;
    /* RFC 8446 §4: HandshakeType msg_type; uint24 length; body. */
    BUILD_CHECK(td_cbb_add_u8(out, (uint8_t)msg->type));
    BUILD_CHECK(td_cbb_add_u24_prefixed(out, &body));
    TD_CHECK(build_body(msg, &body, out_binders_at));
    BUILD_CHECK(td_cbb_flush(out));
    return TD_OK;
}

td_err td_msg_build(const td_msg *msg, td_cbb *out)
{
    return build_whole(msg, out, NULL);
}

td_err td_msg_build_ch_truncated(const td_msg *msg, td_cbb *out, size_t *out_prefix_len)
{
    size_t binders_at;
    if (msg->type != TD_MSG_CLIENT_HELLO)
        return TD_ERR_ARG;
    TD_CHECK(build_whole(msg, out, &binders_at));
    /* RFC 8446 §4.2.11.2: the binder covers the ClientHello up to and
     * including PreSharedKeyExtension.identities, with the real lengths. */
    if (binders_at == SIZE_MAX)
        return TD_ERR_ARG;
    *out_prefix_len = TD_HANDSHAKE_HEADER_LEN + binders_at;
    return TD_OK;
}

td_err td_msg_ch_binder_prefix_len(const td_msg *ch, const uint8_t *raw, size_t *out)
{
    if (ch->type != TD_MSG_CLIENT_HELLO ||
        td_cbs_data(&ch->body) != raw + TD_HANDSHAKE_HEADER_LEN)
        return TD_ERR_ARG;
    const td_ext *psk = td_exts_find_const(&ch->u.ch.exts, TD_EXT_PRE_SHARED_KEY);
    if (psk == NULL)
        return TD_ERR_ARG;
    /* RFC 8446 §4.2.11: OfferedPsks is identities<7..2^16-1> followed by
     * binders<33..2^16-1>; the parser decoded both, so this cannot fail. */
    td_cbs body = psk->body, identities;
    if (!td_cbs_get_u16_prefixed(&body, &identities))
        return TD_ERR_ARG;
    *out = (size_t)(td_cbs_data(&body) - raw);
    return TD_OK;
}

void td_msg_init(td_msg *msg, td_msg_type type, bool is_hrr)
{
    td_msg_zero(msg, (uint8_t)type);
    msg->type = type;
    td_msg_point_lists(msg);
    td_exts *exts = td_msg_exts(msg, NULL);
    switch (type) {
    case TD_MSG_CLIENT_HELLO:
        msg->u.ch.legacy_version = 0x0303;
        msg->u.ch.has_extensions = true;
        msg->u.ch.exts.ctx = TD_EXT_CTX_CH;
        break;
    case TD_MSG_SERVER_HELLO:
        msg->u.sh.legacy_version = 0x0303;
        msg->u.sh.has_extensions = true;
        msg->u.sh.is_hrr = is_hrr;
        msg->u.sh.exts.ctx = is_hrr ? TD_EXT_CTX_HRR : TD_EXT_CTX_SH;
        if (is_hrr)
            memcpy(msg->u.sh.random, td_hrr_random, TD_RANDOM_LEN);
        break;
    case TD_MSG_ENCRYPTED_EXTENSIONS: exts->ctx = TD_EXT_CTX_EE; break;
    case TD_MSG_CERTIFICATE_REQUEST: exts->ctx = TD_EXT_CTX_CR; break;
    case TD_MSG_NEW_SESSION_TICKET: exts->ctx = TD_EXT_CTX_NST; break;
    case TD_MSG_END_OF_EARLY_DATA:
    case TD_MSG_CERTIFICATE:
    case TD_MSG_CERTIFICATE_VERIFY:
    case TD_MSG_FINISHED:
    case TD_MSG_KEY_UPDATE:
    case TD_MSG_MESSAGE_HASH:
    default: break;
    }
}
