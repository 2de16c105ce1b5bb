/* engine/mutate.c -- structured mutation operators on td_msg (see
 * tlsdrill/mutate.h). Policy-free: they make whatever message they are told
 * to, valid or not; the peer's reaction is what the caller judges. */
#include "tlsdrill/mutate.h"

#include <string.h>

static td_exts *exts_of(td_msg *msg, td_ext_data **data)
{
    td_ext_data *d = NULL;
    td_exts *e = td_msg_exts(msg, &d);
    if (data != NULL)
        *data = d;
    return e;
}

td_err td_mut_ext_remove(td_msg *msg, uint16_t type)
{
    td_exts *e = exts_of(msg, NULL);
    int i = e ? td_exts_index(e, type) : -1;
    if (i < 0)
        return TD_ERR_ARG;
    return td_exts_remove(e, (size_t)i);
}

td_err td_mut_ext_add_raw(td_msg *msg, uint16_t type, const uint8_t *body, size_t len, int index)
{
    td_exts *e = exts_of(msg, NULL);
    if (e == NULL || index > (int)e->num)
        return TD_ERR_ARG;
    td_cbs b;
    td_cbs_init(&b, body, len);
    return td_exts_insert_raw(e, index < 0 ? e->num : (size_t)index, type, b);
}

td_err td_mut_ext_add_typed(td_msg *msg, uint16_t type)
{
    td_exts *e = exts_of(msg, NULL);
    if (e == NULL || !td_ext_has_typed_form(e->ctx, type))
        return TD_ERR_ARG;
    return td_exts_add(e, type, NULL);
}

td_err td_mut_ext_set_raw(td_msg *msg, uint16_t type, const uint8_t *body, size_t len)
{
    td_exts *e = exts_of(msg, NULL);
    td_ext *x = e ? td_exts_find(e, type) : NULL;
    if (x == NULL)
        return TD_ERR_ARG;
    td_cbs_init(&x->body, body, len);
    x->from_typed = false;
    return TD_OK;
}

td_err td_mut_ext_duplicate(td_msg *msg, uint16_t type)
{
    td_exts *e = exts_of(msg, NULL);
    int i = e ? td_exts_index(e, type) : -1;
    if (i < 0)
        return TD_ERR_ARG;
    td_ext copy = e->list[i];
    TD_CHECK(td_exts_insert_raw(e, (size_t)i + 1, type, copy.body));
    e->list[i + 1].from_typed = copy.from_typed;
    return TD_OK;
}

td_err td_mut_ext_move(td_msg *msg, uint16_t type, int index)
{
    td_exts *e = exts_of(msg, NULL);
    int i = e ? td_exts_index(e, type) : -1;
    if (i < 0 || index >= (int)e->num)
        return TD_ERR_ARG;
    return td_exts_move(e, (size_t)i, index < 0 ? e->num - 1 : (size_t)index);
}

td_err td_mut_ext_reverse(td_msg *msg)
{
    td_exts *e = exts_of(msg, NULL);
    if (e == NULL)
        return TD_ERR_ARG;
    for (size_t i = 0; i < e->num / 2; i++) {
        td_ext t = e->list[i];
        e->list[i] = e->list[e->num - 1 - i];
        e->list[e->num - 1 - i] = t;
    }
    return TD_OK;
}

/* Edits the u16 list |*parr| of |*num| elements: a growable list with
 * inline storage |inl| of |inl_cap|, or (|fixed|) an array of that size
 * (the RFC's own bound: adding past it is TD_ERR_LIMIT). */
static td_err edit_u16(uint16_t **parr, uint16_t *inl, size_t inl_cap, bool fixed, size_t *num,
                       td_mut_op op, uint16_t value)
{
    size_t n = *num, w = 0;
    uint16_t *arr = *parr;
    switch (op) {
    case TD_MUT_OP_REMOVE:
        for (size_t i = 0; i < n; i++)
            if (arr[i] != value)
                arr[w++] = arr[i];
        if (w == n)
            return TD_ERR_ARG;
        *num = w;
        return TD_OK;
    case TD_MUT_OP_ADD:
    case TD_MUT_OP_PREPEND:
        if (fixed && n >= inl_cap)
            return TD_ERR_LIMIT;
        if (!fixed && td_list_push_n(parr, inl, inl_cap, num, 1, sizeof(uint16_t)) == NULL)
            return TD_ERR_NOMEM;
        arr = *parr;
        if (op == TD_MUT_OP_PREPEND) {
            memmove(arr + 1, arr, n * sizeof(*arr));
            arr[0] = value;
        } else {
            arr[n] = value;
        }
        *num = n + 1;
        return TD_OK;
    case TD_MUT_OP_CLEAR: *num = 0; return TD_OK;
    }
    return TD_ERR_ARG;
}

static td_err edit_key_shares(td_ext_data *d, td_mut_op op, uint16_t group, td_cbs kx)
{
    size_t n = d->num_key_shares, w = 0;
    switch (op) {
    case TD_MUT_OP_REMOVE:
        for (size_t i = 0; i < n; i++)
            if (d->key_shares[i].group != group)
                d->key_shares[w++] = d->key_shares[i];
        if (w == n)
            return TD_ERR_ARG;
        d->num_key_shares = w;
        return TD_OK;
    case TD_MUT_OP_ADD:
    case TD_MUT_OP_PREPEND:
        if (TD_LIST_PUSH(d, key_shares) == NULL)
            return TD_ERR_NOMEM;
        if (op == TD_MUT_OP_PREPEND) {
            memmove(d->key_shares + 1, d->key_shares, n * sizeof(d->key_shares[0]));
            n = 0;
        }
        d->key_shares[n].group = group;
        d->key_shares[n].key_exchange = kx;
        return TD_OK;
    case TD_MUT_OP_CLEAR: d->num_key_shares = 0; return TD_OK;
    }
    return TD_ERR_ARG;
}

static td_err list_ext(td_msg *msg, uint16_t type, td_ext_data **out)
{
    td_exts *e = exts_of(msg, out);
    td_ext *x = e ? td_exts_find(e, type) : NULL;
    if (x == NULL || !td_ext_has_typed_form(e->ctx, type))
        return TD_ERR_ARG;
    x->from_typed = true;
    return TD_OK;
}

td_err td_mut_list_edit(td_msg *msg, td_mut_list list, td_mut_op op, uint16_t value)
{
    td_ext_data *d = NULL;
    td_cbs none;
    td_cbs_init(&none, NULL, 0);
    switch (list) {
    case TD_MUT_LIST_CIPHER_SUITES:
        if (msg->type != TD_MSG_CLIENT_HELLO)
            return TD_ERR_ARG;
        return edit_u16(&msg->u.ch.cipher_suites, msg->u.ch.cipher_suites_inline,
                        TD_MAX_CIPHER_SUITES, false, &msg->u.ch.num_cipher_suites, op, value);
    case TD_MUT_LIST_GROUPS:
        TD_CHECK(list_ext(msg, TD_EXT_SUPPORTED_GROUPS, &d));
        return edit_u16(&d->groups, d->groups_inline, TD_MAX_GROUPS, false, &d->num_groups, op,
                        value);
    case TD_MUT_LIST_SIGALGS:
        TD_CHECK(list_ext(msg, TD_EXT_SIGNATURE_ALGORITHMS, &d));
        return edit_u16(&d->sigalgs, d->sigalgs_inline, TD_MAX_SIGALGS, false, &d->num_sigalgs, op,
                        value);
    case TD_MUT_LIST_VERSIONS:
        TD_CHECK(list_ext(msg, TD_EXT_SUPPORTED_VERSIONS, &d));
    {
        uint16_t *v = d->versions;
        return edit_u16(&v, d->versions, TD_MAX_VERSIONS, true, &d->num_versions, op, value);
    }
    case TD_MUT_LIST_KEY_SHARES:
        TD_CHECK(list_ext(msg, TD_EXT_KEY_SHARE, &d));
        return edit_key_shares(d, op, value, none);
    case TD_MUT_LIST_PSK_MODES: {
        TD_CHECK(list_ext(msg, TD_EXT_PSK_KEY_EXCHANGE_MODES, &d));
        uint16_t tmp[TD_MAX_PSK_MODES], *t = tmp;
        size_t n = d->num_psk_modes;
        for (size_t i = 0; i < n; i++)
            tmp[i] = d->psk_modes[i];
        TD_CHECK(edit_u16(&t, tmp, TD_MAX_PSK_MODES, true, &n, op, value));
        for (size_t i = 0; i < n; i++)
            d->psk_modes[i] = (uint8_t)tmp[i];
        d->num_psk_modes = n;
        return TD_OK;
    }
    }
    return TD_ERR_ARG;
}

td_err td_mut_key_share_add(td_msg *msg, uint16_t group, const uint8_t *key_exchange, size_t len)
{
    td_ext_data *d = NULL;
    td_cbs kx;
    td_cbs_init(&kx, key_exchange, len);
    TD_CHECK(list_ext(msg, TD_EXT_KEY_SHARE, &d));
    return edit_key_shares(d, TD_MUT_OP_ADD, group, kx);
}

static td_err set_typed(td_msg *msg, uint16_t type, td_ext_data **d)
{
    return list_ext(msg, type, d);
}

td_err td_mut_set_field(td_msg *msg, td_mut_field field, uint32_t value, const uint8_t *bytes,
                        size_t len)
{
    bool ch = msg->type == TD_MSG_CLIENT_HELLO, sh = msg->type == TD_MSG_SERVER_HELLO;
    td_ext_data *d = NULL;
    switch (field) {
    case TD_MUT_FIELD_LEGACY_VERSION:
        if (ch)
            msg->u.ch.legacy_version = (uint16_t)value;
        else if (sh)
            msg->u.sh.legacy_version = (uint16_t)value;
        else
            return TD_ERR_ARG;
        return TD_OK;
    case TD_MUT_FIELD_RANDOM:
        if ((!ch && !sh) || len != TD_RANDOM_LEN)
            return TD_ERR_ARG;
        memcpy(ch ? msg->u.ch.random : msg->u.sh.random, bytes, len);
        return TD_OK;
    case TD_MUT_FIELD_SESSION_ID:
        if (ch)
            td_cbs_init(&msg->u.ch.legacy_session_id, bytes, len);
        else if (sh)
            td_cbs_init(&msg->u.sh.legacy_session_id_echo, bytes, len);
        else
            return TD_ERR_ARG;
        return TD_OK;
    case TD_MUT_FIELD_COMPRESSION:
        if (ch)
            td_cbs_init(&msg->u.ch.legacy_compression_methods, bytes, len);
        else if (sh)
            msg->u.sh.legacy_compression_method = (uint8_t)value;
        else
            return TD_ERR_ARG;
        return TD_OK;
    case TD_MUT_FIELD_CIPHER_SUITE:
        if (!sh)
            return TD_ERR_ARG;
        msg->u.sh.cipher_suite = (uint16_t)value;
        return TD_OK;
    case TD_MUT_FIELD_SELECTED_VERSION:
        if (!sh)
            return TD_ERR_ARG;
        TD_CHECK(set_typed(msg, TD_EXT_SUPPORTED_VERSIONS, &d));
        d->selected_version = (uint16_t)value;
        return TD_OK;
    case TD_MUT_FIELD_SELECTED_GROUP:
        if (!sh)
            return TD_ERR_ARG;
        TD_CHECK(set_typed(msg, TD_EXT_KEY_SHARE, &d));
        if (msg->u.sh.is_hrr)
            d->hrr_selected_group = (uint16_t)value;
        else
            d->server_share.group = (uint16_t)value;
        return TD_OK;
    case TD_MUT_FIELD_SELECTED_IDENTITY:
        if (!sh)
            return TD_ERR_ARG;
        TD_CHECK(set_typed(msg, TD_EXT_PRE_SHARED_KEY, &d));
        d->psk_selected_identity = (uint16_t)value;
        return TD_OK;
    case TD_MUT_FIELD_COOKIE:
        TD_CHECK(set_typed(msg, TD_EXT_COOKIE, &d));
        td_cbs_init(&d->cookie, bytes, len);
        return TD_OK;
    case TD_MUT_FIELD_TICKET_LIFETIME:
        if (msg->type != TD_MSG_NEW_SESSION_TICKET)
            return TD_ERR_ARG;
        msg->u.nst.ticket_lifetime = value;
        return TD_OK;
    case TD_MUT_FIELD_CONTEXT:
        if (msg->type == TD_MSG_CERTIFICATE)
            td_cbs_init(&msg->u.cert.context, bytes, len);
        else if (msg->type == TD_MSG_CERTIFICATE_REQUEST)
            td_cbs_init(&msg->u.cr.context, bytes, len);
        else
            return TD_ERR_ARG;
        return TD_OK;
    case TD_MUT_FIELD_ENTRY_EXTENSIONS:
        if (msg->type != TD_MSG_CERTIFICATE || msg->u.cert.num_entries == 0)
            return TD_ERR_ARG;
        td_cbs_init(&msg->u.cert.entries[0].extensions, bytes, len);
        return TD_OK;
    case TD_MUT_FIELD_CV_ALGORITHM:
        if (msg->type != TD_MSG_CERTIFICATE_VERIFY)
            return TD_ERR_ARG;
        msg->u.cv.algorithm = (uint16_t)value;
        return TD_OK;
    case TD_MUT_FIELD_CV_SIGNATURE:
        if (msg->type != TD_MSG_CERTIFICATE_VERIFY)
            return TD_ERR_ARG;
        td_cbs_init(&msg->u.cv.signature, bytes, len);
        return TD_OK;
    case TD_MUT_FIELD_REQUEST_UPDATE:
        if (msg->type != TD_MSG_KEY_UPDATE)
            return TD_ERR_ARG;
        msg->u.ku.request_update = (uint8_t)value;
        return TD_OK;
    case TD_MUT_FIELD_VERIFY_DATA:
        if (msg->type != TD_MSG_FINISHED)
            return TD_ERR_ARG;
        td_cbs_init(&msg->u.fin.verify_data, bytes, len);
        return TD_OK;
    }
    return TD_ERR_ARG;
}

/* Placeholder bytes for resized and added binders (filled after the hook). */
static const uint8_t k_zero_binder[255];

static td_err psk_data(td_msg *msg, td_ext_data **d)
{
    if (msg->type != TD_MSG_CLIENT_HELLO)
        return TD_ERR_ARG;
    return list_ext(msg, TD_EXT_PRE_SHARED_KEY, d);
}

td_err td_mut_psk_binder_length(td_msg *msg, size_t index, size_t len)
{
    td_ext_data *d = NULL;
    TD_CHECK(psk_data(msg, &d));
    if (index >= d->num_psk_binders || len > sizeof(k_zero_binder))
        return TD_ERR_ARG;
    td_cbs_init(&d->psk_binders[index], k_zero_binder, len);
    return TD_OK;
}

td_err td_mut_psk_binder_add(td_msg *msg, size_t len)
{
    td_ext_data *d = NULL;
    TD_CHECK(psk_data(msg, &d));
    if (len > sizeof(k_zero_binder))
        return TD_ERR_ARG;
    td_cbs *b = TD_LIST_PUSH(d, psk_binders);
    if (b == NULL)
        return TD_ERR_NOMEM;
    td_cbs_init(b, k_zero_binder, len);
    return TD_OK;
}

td_err td_mut_psk_binder_remove(td_msg *msg, size_t index)
{
    td_ext_data *d = NULL;
    TD_CHECK(psk_data(msg, &d));
    if (index >= d->num_psk_binders)
        return TD_ERR_ARG;
    memmove(&d->psk_binders[index], &d->psk_binders[index + 1],
            (d->num_psk_binders - index - 1) * sizeof(d->psk_binders[0]));
    d->num_psk_binders--;
    return TD_OK;
}

td_err td_mut_psk_identity_add(td_msg *msg, const uint8_t *identity, size_t len,
                               uint32_t obfuscated_age)
{
    td_ext_data *d = NULL;
    TD_CHECK(psk_data(msg, &d));
    td_psk_identity *id = TD_LIST_PUSH(d, psk_identities);
    if (id == NULL)
        return TD_ERR_NOMEM;
    td_cbs_init(&id->identity, identity, len);
    id->obfuscated_ticket_age = obfuscated_age;
    return TD_OK;
}

td_err td_mut_psk_identity_insert(td_msg *msg, size_t index, const uint8_t *identity, size_t len,
                                  uint32_t obfuscated_age)
{
    td_ext_data *d = NULL;
    TD_CHECK(psk_data(msg, &d));
    if (index > d->num_psk_identities)
        return TD_ERR_ARG;
    if (TD_LIST_PUSH(d, psk_identities) == NULL)
        return TD_ERR_NOMEM;
    td_psk_identity *ids = d->psk_identities;
    memmove(&ids[index + 1], &ids[index], (d->num_psk_identities - 1 - index) * sizeof(ids[0]));
    td_cbs_init(&ids[index].identity, identity, len);
    ids[index].obfuscated_ticket_age = obfuscated_age;
    return TD_OK;
}

td_err td_mut_psk_identity_set(td_msg *msg, size_t index, const uint8_t *identity, size_t len)
{
    td_ext_data *d = NULL;
    TD_CHECK(psk_data(msg, &d));
    if (index >= d->num_psk_identities)
        return TD_ERR_ARG;
    td_cbs_init(&d->psk_identities[index].identity, identity, len);
    return TD_OK;
}

td_err td_mut_psk_identity_age(td_msg *msg, size_t index, uint32_t obfuscated_age)
{
    td_ext_data *d = NULL;
    TD_CHECK(psk_data(msg, &d));
    if (index >= d->num_psk_identities)
        return TD_ERR_ARG;
    d->psk_identities[index].obfuscated_ticket_age = obfuscated_age;
    return TD_OK;
}

td_err td_mut_ch_binder_xor(uint8_t *ch, size_t len, size_t index, const uint8_t *x, size_t x_len)
{
    td_msg m;
    td_diag diag;
    size_t prefix;
    if (td_msg_parse_handshake(ch, len, NULL, &m, &diag) != TD_OK)
        return TD_ERR_ARG;
    td_err ret = TD_ERR_ARG;
    const td_ext_data *d = &m.u.ch.ext;
    if (m.type != TD_MSG_CLIENT_HELLO || td_msg_ch_binder_prefix_len(&m, ch, &prefix) != TD_OK ||
        index >= d->num_psk_binders)
        goto out;
    /* The binder views point into |ch|: edit through them. */
    uint8_t *p = ch + (td_cbs_data(&d->psk_binders[index]) - ch);
    size_t n = td_cbs_len(&d->psk_binders[index]);
    for (size_t i = 0; i < n && i < x_len; i++)
        p[i] ^= x[i];
    ret = TD_OK;
out:
    td_msg_cleanup(&m);
    return ret;
}
