/* fuzz/mutator_ch.c -- the ClientHello operators of the custom mutator: a
 * lenient reading of the message into a td_msg, one engine/mutate.c operator
 * (or a typed edit through msg.h), re-serialisation; plus the operators that
 * lie in the serialised bytes (vector lengths, trailing bytes). */
#include <stdlib.h>
#include <string.h>

#include "mutator_internal.h"
#include "tlsdrill/crypto.h"
#include "tlsdrill/mutate.h"

/* Storage the views of edited fields point into: lives until the message
 * is serialised (the end of td_fz_ch_mutate). */
typedef struct ch_ctx {
    td_fz_rng *r;
    td_msg m;
    td_cbs trailer;
    const uint8_t *body; /* the original body */
    size_t body_len;
    uint8_t scratch[2048];
    size_t used;
} ch_ctx;

static uint8_t *scratch(ch_ctx *c, size_t n)
{
    if (n > sizeof(c->scratch) - c->used)
        return NULL;
    uint8_t *p = c->scratch + c->used;
    c->used += n;
    return p;
}

/* ---- lenient reading ---- */

bool td_fz_ch_read(const uint8_t *body, size_t len, td_msg *m, td_cbs *trailer)
{
    td_cbs in, suites, exts;
    td_msg_init(m, TD_MSG_CLIENT_HELLO, false);
    td_client_hello *ch = &m->u.ch;
    td_cbs_init(&in, body, len);
    td_cbs_init(trailer, NULL, 0);
    if (!td_cbs_get_u16(&in, &ch->legacy_version) ||
        !td_cbs_copy_bytes(&in, ch->random, TD_RANDOM_LEN) ||
        !td_cbs_get_u8_prefixed(&in, &ch->legacy_session_id) ||
        !td_cbs_get_u16_prefixed(&in, &suites) || td_cbs_len(&suites) % 2 != 0 ||
        td_cbs_len(&suites) / 2 > TD_MAX_CIPHER_SUITES ||
        !td_cbs_get_u8_prefixed(&in, &ch->legacy_compression_methods))
        return false;
    while (td_cbs_len(&suites) > 0) {
        if (!td_cbs_get_u16(&suites, &ch->cipher_suites[ch->num_cipher_suites]))
            return false;
        ch->num_cipher_suites++;
    }
    ch->has_extensions = td_cbs_len(&in) > 0;
    if (!ch->has_extensions)
        return true;
    if (!td_cbs_get_u16_prefixed(&in, &exts))
        return false;
    while (td_cbs_len(&exts) > 0) {
        td_ext *e = &ch->exts.list[ch->exts.num];
        if (ch->exts.num >= TD_MAX_EXTENSIONS)
            return false;
        e->offset = td_cbs_offset(&exts, body);
        if (!td_cbs_get_u16(&exts, &e->type) || !td_cbs_get_u16_prefixed(&exts, &e->body))
            return false;
        e->from_typed = false;
        ch->exts.num++;
    }
    *trailer = in;
    return true;
}

/* Decodes extension |type| into the typed data (views into the body). */
static bool decode(ch_ctx *c, uint16_t type)
{
    td_ext *e = td_exts_find(&c->m.u.ch.exts, type);
    if (e == NULL)
        return false;
    return td_ext_decode(TD_EXT_CTX_CH, type, e->body, td_cbs_data(&e->body), &c->m.u.ch.ext,
                         NULL) == TD_OK;
}

/* An insertion index: mostly before a final pre_shared_key (RFC 8446
 * §4.2.11 keeps it last), sometimes anywhere. */
static int insert_index(ch_ctx *c)
{
    const td_exts *e = &c->m.u.ch.exts;
    size_t n = e->num;
    if (n > 0 && e->list[n - 1].type == TD_EXT_PRE_SHARED_KEY && !td_fz_one_in(c->r, 8))
        return (int)td_fz_below(c->r, n);
    return (int)td_fz_below(c->r, n + 1);
}

static uint16_t random_ext_type(ch_ctx *c)
{
    if (td_fz_one_in(c->r, 4))
        return (uint16_t)td_fz_rng_next(c->r);
    return td_fz_pick_u16(c->r, td_fz_ext_types, td_fz_num_ext_types);
}

/* ---- extension block ---- */

static td_err op_ext_drop(ch_ctx *c)
{
    td_exts *e = &c->m.u.ch.exts;
    if (e->num == 0)
        return TD_ERR_ARG;
    return td_mut_ext_remove(&c->m, e->list[td_fz_below(c->r, e->num)].type);
}

static td_err op_ext_duplicate(ch_ctx *c)
{
    td_exts *e = &c->m.u.ch.exts;
    if (e->num == 0)
        return TD_ERR_ARG;
    return td_mut_ext_duplicate(&c->m, e->list[td_fz_below(c->r, e->num)].type);
}

static td_err op_ext_reorder(ch_ctx *c)
{
    td_exts *e = &c->m.u.ch.exts;
    if (e->num < 2)
        return TD_ERR_ARG;
    if (td_fz_one_in(c->r, 4))
        return td_mut_ext_reverse(&c->m);
    size_t from = td_fz_below(c->r, e->num);
    /* td_mut_ext_move moves the first of a type: start from that one. */
    from = (size_t)td_exts_index(e, e->list[from].type);
    size_t to = td_fz_below(c->r, e->num - 1);
    if (to >= from)
        to++;
    return td_mut_ext_move(&c->m, e->list[from].type, (int)to);
}

static td_err op_ext_insert_unknown(ch_ctx *c)
{
    size_t n = td_fz_one_in(c->r, 3) ? 0 : td_fz_below(c->r, 17);
    uint8_t *body = scratch(c, n + 1);
    if (body == NULL)
        return TD_ERR_LIMIT;
    td_fz_fill(c->r, body, n);
    return td_mut_ext_add_raw(&c->m, random_ext_type(c), body, n, insert_index(c));
}

static td_err op_ext_add_typed(ch_ctx *c)
{
    static const uint16_t types[] = {
        TD_EXT_EARLY_DATA,
        TD_EXT_POST_HANDSHAKE_AUTH,
        TD_EXT_SUPPORTED_VERSIONS,
        TD_EXT_SUPPORTED_GROUPS,
        TD_EXT_SIGNATURE_ALGORITHMS,
        TD_EXT_KEY_SHARE,
        TD_EXT_PSK_KEY_EXCHANGE_MODES,
        TD_EXT_SERVER_NAME,
        TD_EXT_COOKIE,
        TD_EXT_PADDING,
        TD_EXT_RECORD_SIZE_LIMIT,
        TD_EXT_RENEGOTIATION_INFO,
    };
    td_msg *m = &c->m;
    td_ext_data *d = &m->u.ch.ext;
    uint16_t type = td_fz_pick_u16(c->r, types, sizeof(types) / sizeof(types[0]));
    if (td_exts_find(&m->u.ch.exts, type) != NULL)
        return TD_ERR_ARG;
    uint8_t *p = scratch(c, 97);
    if (p == NULL)
        return TD_ERR_LIMIT;
    td_fz_fill(c->r, p, 97);
    switch (type) {
    case TD_EXT_SUPPORTED_VERSIONS:
        d->versions[0] = 0x0304;
        d->num_versions = 1;
        break;
    case TD_EXT_SUPPORTED_GROUPS:
        d->groups[0] = td_fz_pick_u16(c->r, td_fz_groups, td_fz_num_groups);
        d->num_groups = 1;
        break;
    case TD_EXT_SIGNATURE_ALGORITHMS:
        d->sigalgs[0] = td_fz_pick_u16(c->r, td_fz_sigalgs, td_fz_num_sigalgs);
        d->num_sigalgs = 1;
        break;
    case TD_EXT_KEY_SHARE:
        d->key_shares[0].group = TD_GROUP_X25519;
        td_cbs_init(&d->key_shares[0].key_exchange, p, 32);
        d->num_key_shares = 1;
        break;
    case TD_EXT_PSK_KEY_EXCHANGE_MODES:
        d->psk_modes[0] = (uint8_t)td_fz_below(c->r, 3);
        d->num_psk_modes = 1;
        break;
    case TD_EXT_SERVER_NAME:
        p[0] = 'a';
        d->server_names[0].name_type = 0;
        td_cbs_init(&d->server_names[0].name, p, 1);
        d->num_server_names = 1;
        break;
    case TD_EXT_COOKIE: td_cbs_init(&d->cookie, p, 1 + td_fz_below(c->r, 96)); break;
    case TD_EXT_PADDING: d->padding_len = td_fz_below(c->r, 64); break;
    case TD_EXT_RECORD_SIZE_LIMIT: d->record_size_limit = (uint16_t)td_fz_rng_next(c->r); break;
    default: break; /* empty bodies */
    }
    TD_CHECK(td_mut_ext_add_typed(m, type));
    /* td_mut_ext_add_typed appends: move it where a client would put it. */
    int at = insert_index(c);
    if ((size_t)at < m->u.ch.exts.num - 1)
        return td_mut_ext_move(m, type, at);
    return TD_OK;
}

static td_err op_ext_body(ch_ctx *c)
{
    td_exts *e = &c->m.u.ch.exts;
    if (e->num == 0)
        return TD_ERR_ARG;
    const td_ext *x = &e->list[td_fz_below(c->r, e->num)];
    /* td_mut_ext_set_raw edits the first of the type. */
    x = td_exts_find(e, x->type);
    size_t old = td_cbs_len(&x->body), n;
    uint8_t *p = scratch(c, old + 16);
    if (p == NULL)
        return TD_ERR_LIMIT;
    memcpy(p, td_cbs_data(&x->body), old);
    switch (td_fz_below(c->r, 4)) {
    case 0: n = old ? old - 1 - td_fz_below(c->r, old) : 0; break; /* truncated */
    case 1:                                                        /* extended */
        n = old + 1 + td_fz_below(c->r, 8);
        td_fz_fill(c->r, p + old, n - old);
        break;
    case 2: /* one byte changed */
        n = old;
        if (n == 0)
            return TD_ERR_ARG;
        p[td_fz_below(c->r, n)] ^= (uint8_t)(1 + td_fz_below(c->r, 255));
        break;
    default: n = 0; break; /* empty */
    }
    if (n == old && memcmp(p, td_cbs_data(&x->body), n) == 0)
        return TD_ERR_ARG;
    return td_mut_ext_set_raw(&c->m, x->type, p, n);
}

/* ---- vectors ---- */

static td_err op_list_edit(ch_ctx *c)
{
    static const uint16_t modes[] = {0, 1, 2, 255};
    td_mut_list lists[6];
    size_t n = 0;
    lists[n++] = TD_MUT_LIST_CIPHER_SUITES;
    if (decode(c, TD_EXT_SUPPORTED_GROUPS))
        lists[n++] = TD_MUT_LIST_GROUPS;
    if (decode(c, TD_EXT_SIGNATURE_ALGORITHMS))
        lists[n++] = TD_MUT_LIST_SIGALGS;
    if (decode(c, TD_EXT_SUPPORTED_VERSIONS))
        lists[n++] = TD_MUT_LIST_VERSIONS;
    if (decode(c, TD_EXT_KEY_SHARE))
        lists[n++] = TD_MUT_LIST_KEY_SHARES;
    if (decode(c, TD_EXT_PSK_KEY_EXCHANGE_MODES))
        lists[n++] = TD_MUT_LIST_PSK_MODES;
    td_mut_list list = lists[td_fz_below(c->r, n)];
    const td_client_hello *ch = &c->m.u.ch;
    const td_ext_data *d = &ch->ext;
    const uint16_t *cur = NULL, *table = NULL;
    uint16_t shares[TD_MAX_KEY_SHARES], modes_cur[TD_MAX_PSK_MODES];
    size_t num_cur = 0, num_table = 0;
    switch (list) {
    case TD_MUT_LIST_CIPHER_SUITES:
        cur = ch->cipher_suites, num_cur = ch->num_cipher_suites;
        table = td_fz_suites, num_table = td_fz_num_suites;
        break;
    case TD_MUT_LIST_GROUPS:
        cur = d->groups, num_cur = d->num_groups;
        table = td_fz_groups, num_table = td_fz_num_groups;
        break;
    case TD_MUT_LIST_SIGALGS:
        cur = d->sigalgs, num_cur = d->num_sigalgs;
        table = td_fz_sigalgs, num_table = td_fz_num_sigalgs;
        break;
    case TD_MUT_LIST_VERSIONS:
        cur = d->versions, num_cur = d->num_versions;
        table = td_fz_versions, num_table = td_fz_num_versions;
        break;
    case TD_MUT_LIST_KEY_SHARES:
        /* The values to pick from: the first TD_MAX_KEY_SHARES groups. */
        num_cur = d->num_key_shares < TD_MAX_KEY_SHARES ? d->num_key_shares : TD_MAX_KEY_SHARES;
        for (size_t i = 0; i < num_cur; i++)
            shares[i] = d->key_shares[i].group;
        cur = shares;
        table = td_fz_groups, num_table = td_fz_num_groups;
        break;
    case TD_MUT_LIST_PSK_MODES:
        for (size_t i = 0; i < d->num_psk_modes; i++)
            modes_cur[i] = d->psk_modes[i];
        cur = modes_cur, num_cur = d->num_psk_modes;
        table = modes, num_table = sizeof(modes) / sizeof(modes[0]);
        break;
    }
    td_mut_op op = (td_mut_op)td_fz_below(c->r, 4);
    if (op == TD_MUT_OP_CLEAR && !td_fz_one_in(c->r, 3))
        op = TD_MUT_OP_REMOVE; /* clearing is blunt: rarer */
    if (op == TD_MUT_OP_REMOVE && num_cur == 0)
        op = TD_MUT_OP_ADD;
    uint16_t v;
    if (op == TD_MUT_OP_REMOVE || (num_cur > 0 && td_fz_one_in(c->r, 6)))
        v = cur[td_fz_below(c->r, num_cur)]; /* remove one, or add a duplicate */
    else if (td_fz_one_in(c->r, 8))
        v = list == TD_MUT_LIST_PSK_MODES ? (uint16_t)(td_fz_rng_next(c->r) & 0xff)
                                          : (uint16_t)td_fz_rng_next(c->r);
    else
        v = td_fz_pick_u16(c->r, table, num_table);
    if (list == TD_MUT_LIST_KEY_SHARES && op == TD_MUT_OP_ADD) {
        /* A share of the group's length (RFC 8446 §4.2.8.1/2), random content. */
        size_t kl = v == TD_GROUP_X25519      ? 32
                    : v == TD_GROUP_SECP256R1 ? 65
                    : v == TD_GROUP_SECP384R1 ? 97
                    : v == TD_GROUP_X448      ? 56
                                              : td_fz_below(c->r, 80);
        uint8_t *p = scratch(c, kl + 1);
        if (p == NULL)
            return TD_ERR_LIMIT;
        td_fz_fill(c->r, p, kl);
        if (kl > 0 && v != TD_GROUP_X25519 && v != TD_GROUP_X448)
            p[0] = 4;
        return td_mut_key_share_add(&c->m, v, p, kl);
    }
    return td_mut_list_edit(&c->m, list, op, v);
}

/* ---- legacy fields ---- */

static td_err op_legacy_version(ch_ctx *c)
{
    uint16_t old = c->m.u.ch.legacy_version, v = old;
    for (int i = 0; i < 8 && v == old; i++)
        v = td_fz_one_in(c->r, 8) ? (uint16_t)td_fz_rng_next(c->r)
                                  : td_fz_pick_u16(c->r, td_fz_versions, td_fz_num_versions);
    if (v == old)
        v ^= 1;
    return td_mut_set_field(&c->m, TD_MUT_FIELD_LEGACY_VERSION, v, NULL, 0);
}

static td_err op_session_id(ch_ctx *c)
{
    static const size_t lens[] = {0, 1, 8, 31, 32, 33, 40};
    const td_cbs *old = &c->m.u.ch.legacy_session_id;
    size_t n;
    uint8_t *p = scratch(c, 64);
    if (p == NULL)
        return TD_ERR_LIMIT;
    if (td_cbs_len(old) > 0 && td_fz_one_in(c->r, 3)) {
        n = td_cbs_len(old) > 64 ? 64 : td_cbs_len(old);
        memcpy(p, td_cbs_data(old), n);
        p[td_fz_below(c->r, n)] ^= (uint8_t)(1 + td_fz_below(c->r, 255));
    } else {
        n = lens[td_fz_below(c->r, sizeof(lens) / sizeof(lens[0]))];
        if (n == td_cbs_len(old))
            n = n == 32 ? 0 : 32;
        td_fz_fill(c->r, p, n);
    }
    return td_mut_set_field(&c->m, TD_MUT_FIELD_SESSION_ID, 0, p, n);
}

static td_err op_compression(ch_ctx *c)
{
    /* RFC 8446 §4.1.2: exactly one byte, 0 -- and the ways to get it wrong. */
    static const uint8_t forms[][3] = {{0}, {0, 0}, {1}, {0, 1}, {1, 0}, {0x40}, {0xff}, {0}};
    static const uint8_t lens[] = {0, 1, 1, 2, 2, 1, 1, 1};
    const td_cbs *old = &c->m.u.ch.legacy_compression_methods;
    size_t i = td_fz_below(c->r, sizeof(lens));
    const uint8_t *p = forms[i];
    size_t n = lens[i];
    if (td_cbs_mem_equal(old, p, n)) {
        uint8_t *q = scratch(c, 3);
        if (q == NULL)
            return TD_ERR_LIMIT;
        n = 1 + td_fz_below(c->r, 3);
        td_fz_fill(c->r, q, n);
        p = q;
    }
    return td_mut_set_field(&c->m, TD_MUT_FIELD_COMPRESSION, 0, p, n);
}

static td_err op_random(ch_ctx *c)
{
    uint8_t rnd[TD_RANDOM_LEN];
    memcpy(rnd, c->m.u.ch.random, sizeof(rnd));
    if (td_fz_one_in(c->r, 2))
        td_fz_fill(c->r, rnd, sizeof(rnd));
    else
        rnd[td_fz_below(c->r, sizeof(rnd))] ^= (uint8_t)(1 + td_fz_below(c->r, 255));
    if (memcmp(rnd, c->m.u.ch.random, sizeof(rnd)) == 0)
        rnd[0] ^= 0x80;
    return td_mut_set_field(&c->m, TD_MUT_FIELD_RANDOM, 0, rnd, sizeof(rnd));
}

/* ---- key shares ---- */

static td_err op_key_share(ch_ctx *c)
{
    if (!decode(c, TD_EXT_KEY_SHARE))
        return TD_ERR_ARG;
    td_ext_data *d = &c->m.u.ch.ext;
    size_t n = d->num_key_shares;
    if (n == 0)
        return TD_ERR_ARG;
    td_key_share_entry *a = &d->key_shares[td_fz_below(c->r, n)];
    td_key_share_entry *b = &d->key_shares[td_fz_below(c->r, n)];
    size_t kl = td_cbs_len(&a->key_exchange);
    switch (td_fz_below(c->r, 7)) {
    case 0: /* swap two shares' key_exchange (lengths no longer fit the groups) */
        if (n < 2 || a == b)
            return TD_ERR_ARG;
        td_cbs t = a->key_exchange;
        a->key_exchange = b->key_exchange;
        b->key_exchange = t;
        break;
    case 1: /* swap two shares' groups */
        if (n < 2 || a == b || a->group == b->group)
            return TD_ERR_ARG;
        uint16_t g = a->group;
        a->group = b->group;
        b->group = g;
        break;
    case 2: { /* another group for this share */
        uint16_t ng = td_fz_pick_u16(c->r, td_fz_groups, td_fz_num_groups);
        if (ng == a->group)
            return TD_ERR_ARG;
        a->group = ng;
        break;
    }
    case 3: /* truncated */
        if (kl == 0)
            return TD_ERR_ARG;
        a->key_exchange.len = td_fz_one_in(c->r, 3) ? 0 : kl - 1 - td_fz_below(c->r, kl);
        break;
    case 4: { /* extended, or one byte of the point changed (not on the curve) */
        uint8_t *p = scratch(c, kl + 8);
        if (p == NULL)
            return TD_ERR_LIMIT;
        memcpy(p, td_cbs_data(&a->key_exchange), kl);
        size_t nl = kl;
        if (kl == 0 || td_fz_one_in(c->r, 2)) {
            nl = kl + 1 + td_fz_below(c->r, 7);
            td_fz_fill(c->r, p + kl, nl - kl);
        } else {
            p[td_fz_below(c->r, kl)] ^= (uint8_t)(1 + td_fz_below(c->r, 255));
        }
        td_cbs_init(&a->key_exchange, p, nl);
        break;
    }
    case 5: /* the same group twice (RFC 8446 §4.2.8) */
        return td_mut_key_share_add(&c->m, a->group, td_cbs_data(&a->key_exchange), kl);
    default: /* all shares gone: HelloRetryRequest territory */
        return td_mut_list_edit(&c->m, TD_MUT_LIST_KEY_SHARES, TD_MUT_OP_CLEAR, 0);
    }
    td_exts_find(&c->m.u.ch.exts, TD_EXT_KEY_SHARE)->from_typed = true;
    return TD_OK;
}

/* ---- PSK ---- */

static td_err op_psk_identity(ch_ctx *c)
{
    if (!decode(c, TD_EXT_PRE_SHARED_KEY))
        return TD_ERR_ARG;
    td_ext_data *d = &c->m.u.ch.ext;
    size_t n = d->num_psk_identities;
    if (n == 0)
        return TD_ERR_ARG;
    size_t i = td_fz_below(c->r, n);
    const td_cbs *id = &d->psk_identities[i].identity;
    uint32_t age = d->psk_identities[i].obfuscated_ticket_age;
    switch (td_fz_below(c->r, 4)) {
    case 0: {
        static const uint32_t ages[] = {0, 1, 0x7fffffff, 0xffffffff};
        uint32_t na = td_fz_one_in(c->r, 2) ? age + (uint32_t)(td_fz_below(c->r, 2000000)) - 1000000
                                            : ages[td_fz_below(c->r, 4)];
        if (na == age)
            na ^= 0x80000000u;
        return td_mut_psk_identity_age(&c->m, i, na);
    }
    case 1: { /* identity bytes: one changed, truncated or emptied */
        size_t il = td_cbs_len(id);
        uint8_t *p = scratch(c, il + 1);
        if (p == NULL || il == 0)
            return TD_ERR_ARG;
        memcpy(p, td_cbs_data(id), il);
        size_t nl = il;
        if (td_fz_one_in(c->r, 2))
            p[td_fz_below(c->r, il)] ^= (uint8_t)(1 + td_fz_below(c->r, 255));
        else
            nl = td_fz_below(c->r, il);
        return td_mut_psk_identity_set(&c->m, i, p, nl);
    }
    default: { /* another identity, with or without its binder */
        size_t il = 1 + td_fz_below(c->r, 40);
        uint8_t *p = scratch(c, il);
        if (p == NULL)
            return TD_ERR_LIMIT;
        td_fz_fill(c->r, p, il);
        TD_CHECK(td_mut_psk_identity_add(&c->m, p, il, (uint32_t)td_fz_rng_next(c->r)));
        if (td_fz_one_in(c->r, 2) || d->num_psk_binders == 0)
            return TD_OK;
        TD_CHECK(td_mut_psk_binder_add(&c->m, td_cbs_len(&d->psk_binders[0])));
        /* a plausible binder: copy of the first one */
        td_cbs_init(&d->psk_binders[d->num_psk_binders - 1], td_cbs_data(&d->psk_binders[0]),
                    td_cbs_len(&d->psk_binders[0]));
        return TD_OK;
    }
    }
}

static td_err op_psk_binder(ch_ctx *c)
{
    static const size_t lens[] = {0, 1, 31, 32, 33, 47, 48, 49, 64, 255};
    if (!decode(c, TD_EXT_PRE_SHARED_KEY))
        return TD_ERR_ARG;
    td_ext_data *d = &c->m.u.ch.ext;
    size_t n = d->num_psk_binders;
    size_t i = td_fz_below(c->r, n);
    switch (n == 0 ? 1 : td_fz_below(c->r, 4)) {
    case 0: return td_mut_psk_binder_remove(&c->m, i);
    case 1: return td_mut_psk_binder_add(&c->m, lens[td_fz_below(c->r, 10)]);
    default: { /* truncated or extended, keeping the bytes it had */
        size_t bl = td_cbs_len(&d->psk_binders[i]), nl;
        uint8_t *p = scratch(c, 256);
        if (p == NULL)
            return TD_ERR_LIMIT;
        memcpy(p, td_cbs_data(&d->psk_binders[i]), bl);
        if (bl > 0 && td_fz_one_in(c->r, 2))
            nl = td_fz_below(c->r, bl);
        else
            nl = bl + 1 + td_fz_below(c->r, 255 - bl < 16 ? 255 - bl : 16);
        if (nl > 255 || nl == bl)
            return TD_ERR_ARG;
        td_fz_fill(c->r, p + bl, nl > bl ? nl - bl : 0);
        TD_CHECK(td_mut_psk_binder_length(&c->m, i, nl));
        td_cbs_init(&d->psk_binders[i], p, nl);
        return TD_OK;
    }
    }
}

static td_err op_cookie(ch_ctx *c)
{
    size_t n = 1 + td_fz_below(c->r, 64);
    uint8_t *p = scratch(c, n + 2);
    if (p == NULL)
        return TD_ERR_LIMIT;
    if (decode(c, TD_EXT_COOKIE)) {
        const td_cbs *old = &c->m.u.ch.ext.cookie;
        n = td_cbs_len(old);
        if (n == 0 || n > 64)
            return TD_ERR_ARG;
        memcpy(p, td_cbs_data(old), n);
        if (td_fz_one_in(c->r, 2))
            p[td_fz_below(c->r, n)] ^= (uint8_t)(1 + td_fz_below(c->r, 255));
        else
            n = td_fz_below(c->r, n); /* truncated, possibly empty (COOKIE-EMPTY) */
        return td_mut_set_field(&c->m, TD_MUT_FIELD_COOKIE, 0, p, n);
    }
    /* A cookie the server never sent (RFC 8446 §4.2.2). */
    p[0] = (uint8_t)(n >> 8), p[1] = (uint8_t)n;
    td_fz_fill(c->r, p + 2, n);
    return td_mut_ext_add_raw(&c->m, TD_EXT_COOKIE, p, n + 2, insert_index(c));
}

/* ---- serialised-bytes operators ---- */

/* Offsets (into the whole message) and widths of every length field the
 * lenient reading finds. */
typedef struct len_field {
    size_t at;
    uint8_t width;
} len_field;

static void add_field(len_field *f, size_t *n, size_t cap, size_t at, uint8_t width)
{
    if (*n < cap)
        f[(*n)++] = (len_field){at, width};
}

static size_t ext_inner_fields(const td_ext *e, size_t body_at, len_field *f, size_t n, size_t cap)
{
    size_t bl = td_cbs_len(&e->body);
    const uint8_t *b = td_cbs_data(&e->body);
    switch (e->type) {
    case TD_EXT_SUPPORTED_VERSIONS:
    case TD_EXT_PSK_KEY_EXCHANGE_MODES:
        if (bl >= 1)
            add_field(f, &n, cap, body_at, 1);
        break;
    case TD_EXT_SUPPORTED_GROUPS:
    case TD_EXT_SIGNATURE_ALGORITHMS:
    case TD_EXT_SIGNATURE_ALGORITHMS_CERT:
    case TD_EXT_SERVER_NAME:
    case TD_EXT_ALPN:
    case TD_EXT_COOKIE:
        if (bl >= 2)
            add_field(f, &n, cap, body_at, 2);
        break;
    case TD_EXT_KEY_SHARE:
        if (bl >= 2)
            add_field(f, &n, cap, body_at, 2);
        /* KeyShareEntry: group, u16 key_exchange length */
        for (size_t o = 2; o + 4 <= bl;) {
            add_field(f, &n, cap, body_at + o + 2, 2);
            o += 4 + ((size_t)b[o + 2] << 8 | b[o + 3]);
        }
        break;
    case TD_EXT_PRE_SHARED_KEY:
        if (bl >= 2) {
            add_field(f, &n, cap, body_at, 2);
            size_t ids = (size_t)b[0] << 8 | b[1];
            if (2 + ids + 2 <= bl)
                add_field(f, &n, cap, body_at + 2 + ids, 2);
            for (size_t o = 2; o + 2 <= bl && o < 2 + ids;)
                add_field(f, &n, cap, body_at + o, 2), o += 2 + ((size_t)b[o] << 8 | b[o + 1]) + 4;
        }
        break;
    default: break;
    }
    return n;
}

static bool lie_lengths(ch_ctx *c, uint8_t *msg, size_t len)
{
    len_field f[TD_MAX_EXTENSIONS * 3 + 8];
    size_t n = 0, cap = sizeof(f) / sizeof(f[0]);
    const td_client_hello *ch = &c->m.u.ch;
    const uint8_t *body = msg + TD_HANDSHAKE_HEADER_LEN;
    add_field(f, &n, cap, 1, 3);
    size_t at = TD_HANDSHAKE_HEADER_LEN + 2 + TD_RANDOM_LEN;
    add_field(f, &n, cap, at, 1);
    at += 1 + td_cbs_len(&ch->legacy_session_id);
    add_field(f, &n, cap, at, 2);
    at += 2 + 2 * ch->num_cipher_suites;
    add_field(f, &n, cap, at, 1);
    at += 1 + td_cbs_len(&ch->legacy_compression_methods);
    if (ch->has_extensions)
        add_field(f, &n, cap, at, 2);
    for (size_t i = 0; i < ch->exts.num; i++) {
        size_t eat = TD_HANDSHAKE_HEADER_LEN + ch->exts.list[i].offset;
        add_field(f, &n, cap, eat + 2, 2);
        n = ext_inner_fields(&ch->exts.list[i], eat + 4, f, n, cap);
    }
    (void)body;
    const len_field *x = &f[td_fz_below(c->r, n)];
    if (x->at + x->width > len)
        return false;
    uint32_t v = 0, max = x->width == 1 ? 0xff : x->width == 2 ? 0xffff : 0xffffff, nv;
    for (uint8_t i = 0; i < x->width; i++)
        v = v << 8 | msg[x->at + i];
    switch (td_fz_below(c->r, 5)) {
    case 0: nv = v + 1 + (uint32_t)td_fz_below(c->r, 3); break;
    case 1: nv = v - 1 - (uint32_t)td_fz_below(c->r, 3); break;
    case 2: nv = 0; break;
    case 3: nv = max; break;
    default: nv = (uint32_t)td_fz_rng_next(c->r); break;
    }
    nv &= max;
    if (nv == v)
        nv = (v + 1) & max;
    for (uint8_t i = 0; i < x->width; i++)
        msg[x->at + i] = (uint8_t)(nv >> (8 * (x->width - 1 - i)));
    return true;
}

/* ---- driver ---- */

static td_err apply(ch_ctx *c, td_fz_mut_op op)
{
    switch (op) {
    case TD_FZ_MUT_CH_EXT_DROP: return op_ext_drop(c);
    case TD_FZ_MUT_CH_EXT_DUPLICATE: return op_ext_duplicate(c);
    case TD_FZ_MUT_CH_EXT_REORDER: return op_ext_reorder(c);
    case TD_FZ_MUT_CH_EXT_INSERT_UNKNOWN: return op_ext_insert_unknown(c);
    case TD_FZ_MUT_CH_EXT_ADD_TYPED: return op_ext_add_typed(c);
    case TD_FZ_MUT_CH_EXT_BODY: return op_ext_body(c);
    case TD_FZ_MUT_CH_LIST_EDIT: return op_list_edit(c);
    case TD_FZ_MUT_CH_LEGACY_VERSION: return op_legacy_version(c);
    case TD_FZ_MUT_CH_SESSION_ID: return op_session_id(c);
    case TD_FZ_MUT_CH_COMPRESSION: return op_compression(c);
    case TD_FZ_MUT_CH_RANDOM: return op_random(c);
    case TD_FZ_MUT_CH_KEY_SHARE: return op_key_share(c);
    case TD_FZ_MUT_CH_PSK_IDENTITY: return op_psk_identity(c);
    case TD_FZ_MUT_CH_PSK_BINDER: return op_psk_binder(c);
    case TD_FZ_MUT_CH_COOKIE: return op_cookie(c);
    case TD_FZ_MUT_CH_BINDER_FLIP: /* on the serialised message */
    case TD_FZ_MUT_CH_LENGTH_LIE:  /* on the serialised message */
    case TD_FZ_MUT_CH_TRAILER: /* below */ return TD_OK;
    case TD_FZ_MUT_NONE:
    case TD_FZ_MUT_REC_FRAGMENT:
    case TD_FZ_MUT_REC_COALESCE:
    case TD_FZ_MUT_REC_CCS_INJECT:
    case TD_FZ_MUT_REC_INJECT:
    case TD_FZ_MUT_REC_VERSION:
    case TD_FZ_MUT_REC_TYPE:
    case TD_FZ_MUT_REC_LENGTH_LIE:
    case TD_FZ_MUT_REC_DUPLICATE:
    case TD_FZ_MUT_REC_DROP:
    case TD_FZ_MUT_REC_SWAP:
    case TD_FZ_MUT_HS_TYPE:
    case TD_FZ_MUT_HS_LENGTH_LIE:
    case TD_FZ_MUT_HS_DUPLICATE:
    case TD_FZ_MUT_HS_APPEND:
    case TD_FZ_MUT_BYTES:
    case TD_FZ_MUT_NUM_OPS: return TD_ERR_ARG;
    }
    return TD_ERR_ARG;
}

bool td_fz_ch_mutate(td_fz_mut_op op, td_fz_rng *r, const uint8_t *msg, size_t len, td_cbb *out)
{
    ch_ctx *c = NULL;
    uint8_t *built = NULL;
    size_t built_len = 0;
    bool ok = false;
    td_cbb whole, body;
    if (len < TD_HANDSHAKE_HEADER_LEN || msg[0] != TD_MSG_CLIENT_HELLO)
        return false;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return false;
    c->r = r;
    c->body = msg + TD_HANDSHAKE_HEADER_LEN;
    c->body_len = len - TD_HANDSHAKE_HEADER_LEN;
    if (!td_fz_ch_read(c->body, c->body_len, &c->m, &c->trailer))
        goto out;
    if (apply(c, op) != TD_OK)
        goto out;
    if (op == TD_FZ_MUT_CH_TRAILER) {
        size_t t = td_fz_below(r, 3);
        if (t == 0 && c->m.u.ch.has_extensions) {
            c->m.u.ch.has_extensions = false; /* a TLS 1.2-style ClientHello */
            td_cbs_init(&c->trailer, NULL, 0);
        } else if (t == 1 && td_cbs_len(&c->trailer) > 0) {
            td_cbs_init(&c->trailer, NULL, 0);
        } else {
            uint8_t *p = scratch(c, 8);
            size_t n = 1 + td_fz_below(r, 8);
            td_fz_fill(r, p, n);
            td_cbs_init(&c->trailer, p, n);
        }
    }
    if (!td_cbb_init(&whole, len + 64))
        goto out;
    if (!td_cbb_add_u8(&whole, TD_MSG_CLIENT_HELLO) || !td_cbb_add_u24_prefixed(&whole, &body) ||
        td_msg_build_body(&c->m, &body) != TD_OK ||
        !td_cbb_add_bytes(&body, td_cbs_data(&c->trailer), td_cbs_len(&c->trailer)) ||
        !td_cbb_finish(&whole, &built, &built_len)) {
        td_cbb_cleanup(&whole);
        goto out;
    }
    if (op == TD_FZ_MUT_CH_BINDER_FLIP) {
        td_msg strict;
        uint8_t x[2] = {(uint8_t)(1u << td_fz_below(r, 8)), 0};
        if (td_fz_one_in(r, 3))
            x[1] = (uint8_t)td_fz_rng_next(r);
        if (td_msg_parse_handshake(built, built_len, NULL, &strict, NULL) != TD_OK)
            goto out;
        size_t nb = strict.type == TD_MSG_CLIENT_HELLO ? strict.u.ch.ext.num_psk_binders : 0;
        size_t i = nb > 0 ? td_fz_below(r, nb) : 0;
        size_t bl = nb > 0 ? td_cbs_len(&strict.u.ch.ext.psk_binders[i]) : 0;
        td_msg_cleanup(&strict);
        if (bl == 0)
            goto out;
        /* XOR at a random position of the binder. */
        size_t pos = td_fz_below(r, bl);
        uint8_t xx[256] = {0};
        xx[pos] = x[0];
        if (pos + 1 < bl)
            xx[pos + 1] = x[1];
        if (td_mut_ch_binder_xor(built, built_len, i, xx, bl) != TD_OK)
            goto out;
    } else if (op == TD_FZ_MUT_CH_LENGTH_LIE) {
        /* Re-read the rebuilt message (same bytes as the input, lengths
         * consistent) so the offsets are those of |built|. */
        td_msg_cleanup(&c->m);
        if (!td_fz_ch_read(built + TD_HANDSHAKE_HEADER_LEN, built_len - TD_HANDSHAKE_HEADER_LEN,
                           &c->m, &c->trailer) ||
            !lie_lengths(c, built, built_len))
            goto out;
    }
    ok = !(built_len == len && memcmp(built, msg, len) == 0) &&
         td_cbb_add_bytes(out, built, built_len);
out:
    free(built);
    td_msg_cleanup(&c->m);
    free(c);
    return ok;
}
