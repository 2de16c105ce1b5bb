/* fuzz/program.c -- the mutation program of the structured fuzz inputs
 * (program.h; the format is documented in fuzz/README.md). */
#include "program.h"

#include <stdlib.h>
#include <string.h>

#include "tlsdrill/bugs.h"
#include "tlsdrill/mutate.h"
#include "tlsdrill/record.h"

/* ---- decoding: every byte string is a program ---- */

typedef struct rd {
    const uint8_t *p;
    size_t len;
} rd;

static uint8_t rd_u8(rd *r)
{
    if (r->len == 0)
        return 0;
    r->len--;
    return *r->p++;
}
static uint16_t rd_u16(rd *r)
{
    uint16_t hi = rd_u8(r);
    return (uint16_t)(hi << 8 | rd_u8(r));
}
static uint32_t rd_u32(rd *r)
{
    uint32_t hi = rd_u16(r);
    return hi << 16 | rd_u16(r);
}
static const uint8_t *rd_bytes(rd *r, size_t want, size_t *got)
{
    const uint8_t *b = r->p;
    *got = want < r->len ? want : r->len;
    r->p += *got;
    r->len -= *got;
    return b;
}

/* The message an edit op applies to when no SELECT came before it. */
static void default_target(td_fz_kind kind, uint8_t *type, uint8_t *nth)
{
    *type = kind == TD_FZ_SERVER_HELLO ? TD_MSG_SERVER_HELLO : TD_MSG_CLIENT_HELLO;
    *nth = kind == TD_FZ_SECOND_CLIENT_HELLO ? 1 : 0;
}

/* Ops whose effect is known: configuration, selection, binder treatment,
 * misbehaviour knobs and legal record re-framing. A program made only of
 * these is pure; the oracle holds the engine to the rules they break. */
static bool op_is_pure(uint8_t code)
{
    switch ((td_fz_opcode)code) {
    case TD_FZ_OP_CFG:
    case TD_FZ_OP_SUITE:
    case TD_FZ_OP_GROUP:
    case TD_FZ_OP_SELECT:
    case TD_FZ_OP_BINDER_MODE:
    case TD_FZ_OP_BINDER_XOR:
    case TD_FZ_OP_BUG:
    case TD_FZ_OP_FRAGMENT:
    case TD_FZ_OP_COALESCE: return true;
    case TD_FZ_OP_EXT_DROP:
    case TD_FZ_OP_EXT_DUP:
    case TD_FZ_OP_EXT_MOVE:
    case TD_FZ_OP_EXT_REVERSE:
    case TD_FZ_OP_EXT_INSERT:
    case TD_FZ_OP_EXT_SET_RAW:
    case TD_FZ_OP_LIST_EDIT:
    case TD_FZ_OP_KS_ADD:
    case TD_FZ_OP_KS_SWAP:
    case TD_FZ_OP_FIELD:
    case TD_FZ_OP_BINDER_LEN:
    case TD_FZ_OP_BINDER_ADD:
    case TD_FZ_OP_BINDER_DEL:
    case TD_FZ_OP_PSK_AGE:
    case TD_FZ_OP_PSK_ID_SET:
    case TD_FZ_OP_PSK_ID_ADD:
    case TD_FZ_OP_CCS_INJECT:
    case TD_FZ_OP_FLIP:
    case TD_FZ_NUM_OPS: break;
    }
    return false;
}

void td_fz_prog_decode(td_fz_prog *p, td_fz_kind kind, bool fuzzer_mode, const uint8_t *data,
                       size_t len)
{
    memset(p, 0, sizeof(*p));
    p->kind = kind;
    p->fuzzer_mode = fuzzer_mode;
    p->suite = p->group = -1;
    p->pure = true;
    uint8_t type, nth;
    default_target(kind, &type, &nth);
    rd r = {data, len};
    while (r.len > 0 && p->num_ops < TD_FZ_MAX_OPS) {
        td_fz_op op = {.code = (uint8_t)(rd_u8(&r) % TD_FZ_NUM_OPS)};
        switch ((td_fz_opcode)op.code) {
        case TD_FZ_OP_CFG: p->cfg |= rd_u8(&r); break;
        case TD_FZ_OP_SUITE: p->suite = rd_u8(&r) % 3; break;
        case TD_FZ_OP_GROUP: p->group = rd_u8(&r) % 3; break;
        case TD_FZ_OP_SELECT:
            type = rd_u8(&r);
            nth = rd_u8(&r) % 4;
            break;
        case TD_FZ_OP_EXT_DROP:
        case TD_FZ_OP_EXT_DUP:
        case TD_FZ_OP_BINDER_DEL:
        case TD_FZ_OP_BINDER_ADD:
        case TD_FZ_OP_BINDER_MODE:
        case TD_FZ_OP_COALESCE:
        case TD_FZ_OP_BUG: op.a = rd_u8(&r); break;
        case TD_FZ_OP_EXT_MOVE:
        case TD_FZ_OP_KS_SWAP:
        case TD_FZ_OP_BINDER_LEN:
        case TD_FZ_OP_FRAGMENT:
        case TD_FZ_OP_CCS_INJECT:
            op.a = rd_u8(&r);
            op.b = rd_u8(&r);
            break;
        case TD_FZ_OP_EXT_REVERSE: break;
        case TD_FZ_OP_EXT_INSERT:
            op.w = rd_u16(&r);
            op.a = rd_u8(&r);
            op.bytes = rd_bytes(&r, rd_u8(&r), &op.len);
            break;
        case TD_FZ_OP_EXT_SET_RAW:
        case TD_FZ_OP_BINDER_XOR:
        case TD_FZ_OP_PSK_ID_SET:
            op.a = rd_u8(&r);
            op.bytes = rd_bytes(&r, rd_u8(&r), &op.len);
            break;
        case TD_FZ_OP_LIST_EDIT:
            op.a = rd_u8(&r);
            op.b = rd_u8(&r);
            op.w = rd_u16(&r);
            break;
        case TD_FZ_OP_KS_ADD:
            op.w = rd_u16(&r);
            op.bytes = rd_bytes(&r, rd_u8(&r), &op.len);
            break;
        case TD_FZ_OP_FIELD:
            op.a = rd_u8(&r);
            op.v = rd_u32(&r);
            op.bytes = rd_bytes(&r, rd_u8(&r), &op.len);
            break;
        case TD_FZ_OP_PSK_AGE:
            op.a = rd_u8(&r);
            op.v = rd_u32(&r);
            break;
        case TD_FZ_OP_PSK_ID_ADD:
            op.bytes = rd_bytes(&r, rd_u8(&r), &op.len);
            op.v = rd_u32(&r);
            break;
        case TD_FZ_OP_FLIP:
            op.a = rd_u8(&r);
            op.b = rd_u8(&r);
            op.w = rd_u16(&r);
            op.v = rd_u8(&r);
            break;
        case TD_FZ_NUM_OPS: break;
        }
        op.sel_type = type;
        op.sel_nth = nth;
        if (!op_is_pure(op.code))
            p->pure = false;
        p->ops[p->num_ops++] = op;
    }
    if (r.len > 0) /* ops past the cap are not run: the program is not what it says */
        p->pure = false;
}

size_t td_fz_prog_put(uint8_t *buf, size_t cap, size_t at, const uint8_t *op, size_t op_len)
{
    if (at + op_len > cap)
        return at;
    memcpy(buf + at, op, op_len);
    return at + op_len;
}

/* ---- knobs and the rules they break ---- */

typedef enum cond {
    C_ALWAYS,
    C_NEVER,      /* no single rule: the program is not pure */
    C_NEUTRAL,    /* legal behaviour */
    C_RESUME,     /* the client offers a PSK the server accepts */
    C_HRR,        /* the server sends an HRR */
    C_HRR_SHARE,  /* an HRR selecting a group for a key share (not psk_ke only) */
    C_HRR_SUITES, /* an HRR and the client offers all suites */
    C_HRR_EARLY,  /* an HRR and 0-RTT offered */
    C_NOT_FM,
    C_SIG, /* not fuzzer mode and the signer authenticates with a certificate */
} cond;

/* The message whose sending shows a knob took effect (its rule is broken
 * only once that message went out: a peer that ended the handshake
 * earlier, or took another path -- no PSK, no HRR -- never got it). */
typedef enum sent {
    S_CH1,         /* the first ClientHello */
    S_CH_PSK,      /* a ClientHello offering a PSK */
    S_CH2,         /* the second ClientHello */
    S_CH2_EARLY,   /* a second ClientHello with early_data */
    S_HELLO,       /* the first ServerHello or HelloRetryRequest */
    S_SH,          /* the ServerHello */
    S_SH_AFTER_HRR, /* the ServerHello after a HelloRetryRequest */
    S_SH_PSK,      /* a ServerHello with pre_shared_key */
    S_HRR_SHARE,   /* a HelloRetryRequest with key_share */
    S_HRR2,        /* a second HelloRetryRequest */
    S_FINISHED,
    S_CV,
} sent;

static const struct knob {
    const char *name;
    td_role who; /* the side that misbehaves */
    td_rule rule; /* TD_RULE_NONE: none (an enum, not the ID's text: no
                   * search of the catalogue per op) */
    cond when;
    sent on;
} k_knobs[] = {
    {"omit_supported_versions", TD_ROLE_CLIENT, TD_RULE_NONE, C_NEVER, S_CH1},
    {"psk_first", TD_ROLE_CLIENT, TD_RULE_PSK_NOT_LAST, C_RESUME, S_CH_PSK},
    {"early_data_in_ch2", TD_ROLE_CLIENT, TD_RULE_CH2_EARLY_DATA, C_HRR_EARLY, S_CH2_EARLY},
    {"ch2_change_suites", TD_ROLE_CLIENT, TD_RULE_CH2_NOT_CONFORMANT, C_HRR_SUITES, S_CH2},
    {"ch2_wrong_share_group", TD_ROLE_CLIENT, TD_RULE_CH2_KEYSHARE, C_HRR_SHARE, S_CH2},
    {"duplicate_key_share", TD_ROLE_CLIENT, TD_RULE_KS_DUPLICATE_GROUP, C_ALWAYS, S_CH1},
    {"no_ccs_compat", TD_ROLE_CLIENT, TD_RULE_NONE, C_NEUTRAL, S_CH1},
    {"bad_finished", TD_ROLE_CLIENT, TD_RULE_FIN_BAD, C_NOT_FM, S_FINISHED},
    {"bad_signature", TD_ROLE_CLIENT, TD_RULE_CV_BAD_SIGNATURE, C_SIG, S_CV},
    {"second_hrr", TD_ROLE_SERVER, TD_RULE_HRR_SECOND, C_HRR, S_HRR2},
    {"sh_omit_supported_versions", TD_ROLE_SERVER, TD_RULE_SV_SH_MISSING, C_ALWAYS, S_HELLO},
    {"sh_change_suite_after_hrr", TD_ROLE_SERVER, TD_RULE_SH_CIPHER_CHANGED, C_HRR_SUITES,
     S_SH_AFTER_HRR},
    {"cookie_in_sh", TD_ROLE_SERVER, TD_RULE_COOKIE_IN_SH, C_ALWAYS, S_SH},
    {"psk_identity_out_of_range", TD_ROLE_SERVER, TD_RULE_PSK_SH_IDENTITY_RANGE, C_RESUME,
     S_SH_PSK},
    {"hrr_offered_share_group", TD_ROLE_SERVER, TD_RULE_KS_HRR_GROUP_ALREADY_SENT, C_HRR_SHARE,
     S_HRR_SHARE},
    {"sh_wrong_session_id", TD_ROLE_SERVER, TD_RULE_SH_SESSION_ID, C_ALWAYS, S_HELLO},
    {"bad_finished", TD_ROLE_SERVER, TD_RULE_FIN_BAD, C_NOT_FM, S_FINISHED},
    {"bad_signature", TD_ROLE_SERVER, TD_RULE_CV_BAD_SIGNATURE, C_SIG, S_CV},
};
#define NUM_KNOBS (sizeof(k_knobs) / sizeof(k_knobs[0]))
_Static_assert(NUM_KNOBS <= 0x80, "armed[] keeps a knob index in 7 bits");
_Static_assert(TD_FZ_MAX_OPS <= 64, "fired has one bit per BUG op");

static td_role counterpart_role(td_fz_kind kind)
{
    return kind == TD_FZ_SERVER_HELLO ? TD_ROLE_SERVER : TD_ROLE_CLIENT;
}

static void record(td_fz_prog *p, td_rule rule)
{
    for (size_t i = 0; i < p->num_broken; i++)
        if (p->broken[i] == rule)
            return;
    if (rule != TD_RULE_NONE && p->num_broken < TD_FZ_MAX_BROKEN)
        p->broken[p->num_broken++] = rule;
}

static bool resumes(const td_fz_prog *p)
{
    return (p->kind == TD_FZ_PSK_BINDERS || (p->cfg & TD_FZ_CFG_RESUME)) && p->suite != 1;
}
static bool hrrs(const td_fz_prog *p)
{
    return p->kind == TD_FZ_SECOND_CLIENT_HELLO || (p->cfg & TD_FZ_CFG_HRR);
}

static bool holds(const td_fz_prog *p, cond c, td_role who)
{
    switch (c) {
    case C_ALWAYS: return true;
    case C_NEVER:
    case C_NEUTRAL: return false;
    case C_RESUME: return resumes(p);
    case C_HRR: return hrrs(p);
    case C_HRR_SHARE: return hrrs(p) && !(p->cfg & TD_FZ_CFG_PSK_KE);
    case C_HRR_SUITES: return hrrs(p) && p->suite < 0;
    case C_HRR_EARLY: return hrrs(p) && resumes(p) && (p->cfg & TD_FZ_CFG_EARLY);
    case C_NOT_FM: return !p->fuzzer_mode;
    case C_SIG:
        return !p->fuzzer_mode && !resumes(p) &&
               (who == TD_ROLE_SERVER || (p->cfg & TD_FZ_CFG_AUTH));
    }
    return false;
}

static const uint16_t k_suites[3] = {0x1301, 0x1302, 0x1303};
static const uint16_t k_groups[3] = {0x001d, 0x0017, 0x0018};

void td_fz_prog_configure(td_fz_prog *p, td_config *client, td_config *server,
                          const td_session *ticket)
{
    td_role cp = counterpart_role(p->kind);
    if (p->cfg & TD_FZ_CFG_HRR)
        server->hrr = TD_HRR_ALWAYS;
    if (p->cfg & TD_FZ_CFG_COOKIE)
        server->hrr_cookie = true;
    if (p->cfg & (TD_FZ_CFG_AUTH | TD_FZ_CFG_AUTH_REQ))
        server->client_auth =
            (p->cfg & TD_FZ_CFG_AUTH_REQ) ? TD_CLIENT_AUTH_REQUIRE : TD_CLIENT_AUTH_REQUEST;
    if (p->cfg & TD_FZ_CFG_COMPAT)
        client->compat_mode = true;
    if ((p->cfg & TD_FZ_CFG_RESUME) || p->kind == TD_FZ_PSK_BINDERS)
        client->resume = ticket;
    if (p->cfg & TD_FZ_CFG_EARLY) {
        static const uint8_t early[] = "early data from the fuzz client";
        client->early_data = early;
        client->early_data_len = sizeof(early) - 1;
    }
    if (p->cfg & TD_FZ_CFG_PSK_KE)
        client->psk_ke_only = true;
    if (p->suite >= 0) {
        client->suites = &k_suites[p->suite];
        client->num_suites = 1;
    }
    if (p->group >= 0) {
        client->share_groups = &k_groups[p->group];
        client->num_share_groups = 1;
    }
    /* Knobs of the counterpart (each op picks one by index). */
    size_t mine[NUM_KNOBS], n = 0;
    for (size_t i = 0; i < NUM_KNOBS; i++)
        if (k_knobs[i].who == cp)
            mine[n++] = i;
    for (size_t i = 0; i < p->num_ops; i++) {
        if (p->ops[i].code != TD_FZ_OP_BUG)
            continue;
        const struct knob *k = &k_knobs[mine[p->ops[i].a % n]];
        (void)td_bugs_set(cp == TD_ROLE_CLIENT ? &client->bugs : &server->bugs, k->name, true);
        /* Armed: applied, and its rule broken, when its message goes out
         * (knob_sent). */
        bool judged = k->rule != TD_RULE_NONE && holds(p, k->when, k->who);
        p->armed[p->num_armed++] = (uint8_t)((size_t)(k - k_knobs) | (judged ? 0x80u : 0u));
        if (!judged && k->when != C_NEUTRAL)
            p->pure = false;
    }
}

/* Whether |m|, which the counterpart is sending, is the message knob |k|
 * edits. |nth|: earlier messages of its type; p->hrrs counts this one if
 * it is an HRR. */
static bool knob_sent(const td_fz_prog *p, const struct knob *k, const td_msg *m, unsigned nth)
{
    bool sh = m->type == TD_MSG_SERVER_HELLO, hrr = sh && m->u.sh.is_hrr;
    bool ch = m->type == TD_MSG_CLIENT_HELLO;
    switch (k->on) {
    case S_CH1: return ch && nth == 0;
    case S_CH_PSK: return ch && td_exts_find_const(&m->u.ch.exts, TD_EXT_PRE_SHARED_KEY) != NULL;
    case S_CH2: return ch && nth == 1;
    case S_CH2_EARLY:
        return ch && nth == 1 && td_exts_find_const(&m->u.ch.exts, TD_EXT_EARLY_DATA) != NULL;
    case S_HELLO: return sh && nth == 0;
    case S_SH: return sh && !hrr;
    case S_SH_AFTER_HRR: return sh && !hrr && p->hrrs > 0;
    case S_SH_PSK:
        return sh && !hrr && td_exts_find_const(&m->u.sh.exts, TD_EXT_PRE_SHARED_KEY) != NULL;
    case S_HRR_SHARE: return hrr && td_exts_find_const(&m->u.sh.exts, TD_EXT_KEY_SHARE) != NULL;
    case S_HRR2: return hrr && p->hrrs == 2;
    case S_FINISHED: return m->type == TD_MSG_FINISHED;
    case S_CV: return m->type == TD_MSG_CERTIFICATE_VERIFY;
    }
    return false;
}

/* The knobs whose message |m| is: applied now, their rules broken (once
 * each, the first time). */
static void knobs_sent(td_fz_prog *p, const td_msg *m, unsigned nth)
{
    for (size_t i = 0; i < p->num_armed; i++) {
        const struct knob *k = &k_knobs[p->armed[i] & 0x7f];
        if ((p->fired >> i & 1u) || !knob_sent(p, k, m, nth))
            continue;
        p->fired |= (uint64_t)1 << i;
        p->num_applied++;
        if (p->armed[i] & 0x80)
            record(p, k->rule);
    }
}

void td_fz_prog_reset(td_fz_prog *p)
{
    memset(p->seen, 0, sizeof(p->seen));
    p->flights = p->chs_in_flights = 0;
    memset(p->ch_mode, 0, sizeof(p->ch_mode));
    memset(p->ch_xors, 0, sizeof(p->ch_xors));
    p->num_applied = 0;
    p->num_broken = 0;
    p->fired = 0;
    p->hrrs = 0;
}

void td_fz_prog_cleanup(td_fz_prog *p)
{
    free(p->scratch);
    p->scratch = NULL;
    p->scratch_cap = 0;
}

/* The binder the server checks is the one of the ClientHello it answers
 * with a ServerHello: the first without HRR, the second after one. */
static bool binder_checked(const td_fz_prog *p, unsigned nth)
{
    return resumes(p) && !p->fuzzer_mode && nth == (hrrs(p) ? 1u : 0u);
}

/* ---- the message hook ---- */

static td_err apply_op(const td_fz_op *op, td_msg *m, td_binder_mode *mode)
{
    td_ext_data *data = NULL;
    td_exts *exts = td_msg_exts(m, &data);
    size_t n = exts != NULL ? exts->num : 0;
    switch ((td_fz_opcode)op->code) {
    case TD_FZ_OP_EXT_DROP: return n ? td_exts_remove(exts, op->a % n) : TD_ERR_ARG;
    case TD_FZ_OP_EXT_DUP:
        return n ? td_mut_ext_duplicate(m, exts->list[op->a % n].type) : TD_ERR_ARG;
    case TD_FZ_OP_EXT_MOVE: return n ? td_exts_move(exts, op->a % n, op->b % n) : TD_ERR_ARG;
    case TD_FZ_OP_EXT_REVERSE: return td_mut_ext_reverse(m);
    case TD_FZ_OP_EXT_INSERT:
        return td_mut_ext_add_raw(m, op->w, op->bytes, op->len, n ? (int)(op->a % (n + 1)) : -1);
    case TD_FZ_OP_EXT_SET_RAW:
        return n ? td_mut_ext_set_raw(m, exts->list[op->a % n].type, op->bytes, op->len)
                 : TD_ERR_ARG;
    case TD_FZ_OP_LIST_EDIT:
        return td_mut_list_edit(m, (td_mut_list)(op->a % 6), (td_mut_op)(op->b % 4), op->w);
    case TD_FZ_OP_KS_ADD: return td_mut_key_share_add(m, op->w, op->bytes, op->len);
    case TD_FZ_OP_KS_SWAP: {
        if (m->type != TD_MSG_CLIENT_HELLO || data == NULL || data->num_key_shares < 2)
            return TD_ERR_ARG;
        td_ext *e = td_exts_find(exts, TD_EXT_KEY_SHARE);
        if (e == NULL)
            return TD_ERR_ARG;
        size_t i = op->a % data->num_key_shares, j = op->b % data->num_key_shares;
        td_key_share_entry t = data->key_shares[i];
        data->key_shares[i] = data->key_shares[j];
        data->key_shares[j] = t;
        e->from_typed = true;
        return TD_OK;
    }
    case TD_FZ_OP_FIELD:
        return td_mut_set_field(m, (td_mut_field)(op->a % 15), op->v, op->bytes, op->len);
    case TD_FZ_OP_BINDER_MODE:
        if (m->type != TD_MSG_CLIENT_HELLO)
            return TD_ERR_ARG;
        *mode = (td_binder_mode)(op->a % 4); /* the last one wins (td_fz_prog_msg_hook) */
        return TD_OK;
    case TD_FZ_OP_BINDER_LEN: return td_mut_psk_binder_length(m, op->a, op->b);
    case TD_FZ_OP_BINDER_ADD: return td_mut_psk_binder_add(m, op->a);
    case TD_FZ_OP_BINDER_DEL: return td_mut_psk_binder_remove(m, op->a);
    case TD_FZ_OP_PSK_AGE: return td_mut_psk_identity_age(m, op->a, op->v);
    case TD_FZ_OP_PSK_ID_SET: return td_mut_psk_identity_set(m, op->a, op->bytes, op->len);
    case TD_FZ_OP_PSK_ID_ADD: return td_mut_psk_identity_add(m, op->bytes, op->len, op->v);
    case TD_FZ_OP_CFG:
    case TD_FZ_OP_SUITE:
    case TD_FZ_OP_GROUP:
    case TD_FZ_OP_SELECT:
    case TD_FZ_OP_BINDER_XOR:
    case TD_FZ_OP_FRAGMENT:
    case TD_FZ_OP_COALESCE:
    case TD_FZ_OP_CCS_INJECT:
    case TD_FZ_OP_BUG:
    case TD_FZ_OP_FLIP:
    case TD_FZ_NUM_OPS: break;
    }
    return TD_ERR_ARG; /* not a message op */
}

static bool msg_has_psk(const td_msg *msg)
{
    return td_exts_find_const(&msg->u.ch.exts, TD_EXT_PRE_SHARED_KEY) != NULL;
}

td_err td_fz_prog_msg_hook(void *arg, td_conn *conn, td_msg *msg, td_binder_mode *mode)
{
    td_fz_prog *p = arg;
    (void)conn;
    unsigned nth = p->seen[msg->type & 0xff]++;
    if (msg->type == TD_MSG_SERVER_HELLO && msg->u.sh.is_hrr)
        p->hrrs++;
    /* The knobs first: what the engine built, before any edit op. */
    knobs_sent(p, msg, nth);
    for (size_t i = 0; i < p->num_ops; i++) {
        const td_fz_op *op = &p->ops[i];
        if (op->sel_type != msg->type || op->sel_nth != nth)
            continue;
        /* An op that cannot apply (absent extension, full list) is skipped. */
        if (apply_op(op, msg, mode) == TD_OK)
            p->num_applied++;
    }
    if (msg->type == TD_MSG_CLIENT_HELLO && nth < 4) {
        p->ch_mode[nth] = *mode;
        /* §4.2.11: a binder not computed over this ClientHello does not
         * validate (stale: the hook's zero placeholders). */
        if (*mode != TD_BINDER_RECOMPUTE && binder_checked(p, nth))
            record(p, TD_RULE_PSK_BINDER_INVALID);
        else if (*mode != TD_BINDER_RECOMPUTE && msg_has_psk(msg))
            p->pure = false; /* a bad binder whose check we cannot predict */
    }
    return TD_OK;
}

/* ---- the interceptor: one flight of the counterpart ---- */

typedef struct rec_view {
    uint8_t *p;
    size_t len;
} rec_view;

static bool nonzero(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return true;
    return false;
}

static td_err put_record(td_cbb *out, const uint8_t *hdr, const uint8_t *body, size_t len)
{
    return td_rec_write_raw(out, hdr[0], (uint16_t)(hdr[1] << 8 | hdr[2]), body, len);
}

td_err td_fz_prog_intercept(void *arg, td_dir dir, const uint8_t *bytes, size_t len, td_cbb *out)
{
    td_fz_icpt *ic = arg;
    td_fz_prog *p = ic->prog;
    if (dir != ic->from)
        return td_cbb_add_bytes(out, bytes, len) ? TD_OK : TD_ERR_NOMEM;
    unsigned flight = p->flights++;
    if (len > p->scratch_cap) {
        uint8_t *b = realloc(p->scratch, len);
        if (b == NULL)
            return TD_ERR_NOMEM;
        p->scratch = b;
        p->scratch_cap = len;
    }
    memcpy(p->scratch, bytes, len);
    /* Split into records; a trailing partial record is kept as it is. */
    rec_view recs[128];
    size_t nrec = 0, at = 0;
    td_rec_frame rec;
    while (nrec < 128 && td_rec_frame_read(p->scratch + at, len - at, &rec) &&
           rec.avail_len == rec.body_len) {
        size_t l = TD_REC_HEADER_LEN + rec.body_len;
        recs[nrec++] = (rec_view){p->scratch + at, l};
        at += l;
    }
    /* Record-level ops on this flight. */
    size_t frag = 0;
    bool coalesce = false;
    int ccs_at = -1;
    for (size_t i = 0; i < p->num_ops; i++) {
        const td_fz_op *op = &p->ops[i];
        if (op->code == TD_FZ_OP_BINDER_XOR) {
            /* The ClientHello record: a plaintext handshake record that
             * starts with a whole ClientHello (the engine sends it in one). */
            for (size_t r = 0; r < nrec; r++) {
                uint8_t *b = recs[r].p;
                if (b[0] != TD_CT_HANDSHAKE || recs[r].len < 9 || b[5] != TD_MSG_CLIENT_HELLO)
                    continue;
                unsigned nth = p->chs_in_flights + 0;
                if (op->sel_type != TD_MSG_CLIENT_HELLO || op->sel_nth != nth)
                    continue;
                if (td_mut_ch_binder_xor(b + 5, recs[r].len - 5, op->a, op->bytes, op->len) ==
                    TD_OK) {
                    p->num_applied++;
                    /* A XOR over a valid binder makes it invalid; over one
                     * already wrong, or after another XOR, it may undo it. */
                    bool sure =
                        nth < 4 && p->ch_mode[nth] == TD_BINDER_RECOMPUTE && p->ch_xors[nth] == 0;
                    if (nth < 4)
                        p->ch_xors[nth]++;
                    if (!sure)
                        p->pure = false;
                    else if (op->a == 0 && nonzero(op->bytes, op->len < 32 ? op->len : 32) &&
                             binder_checked(p, nth))
                        record(p, TD_RULE_PSK_BINDER_INVALID);
                }
            }
        } else if (op->code == TD_FZ_OP_FRAGMENT && op->a % 4 == flight) {
            frag = (size_t)op->b + 1;
        } else if (op->code == TD_FZ_OP_COALESCE && op->a % 4 == flight) {
            coalesce = true;
        } else if (op->code == TD_FZ_OP_CCS_INJECT && op->a % 4 == flight) {
            ccs_at = (int)(op->b % (nrec + 1));
        } else if (op->code == TD_FZ_OP_FLIP && op->a % 4 == flight && nrec > 0) {
            rec_view *rv = &recs[op->b % nrec];
            rv->p[op->w % rv->len] ^= (uint8_t)(op->v ? op->v : 1);
            p->num_applied++;
        }
    }
    for (size_t r = 0; r < nrec; r++)
        if (recs[r].p[0] == TD_CT_HANDSHAKE && recs[r].len > 5 &&
            recs[r].p[5] == TD_MSG_CLIENT_HELLO)
            p->chs_in_flights++;
    static const uint8_t ccs[] = {TD_CT_CHANGE_CIPHER_SPEC, 3, 3, 0, 1, 1};
    for (size_t r = 0; r <= nrec; r++) {
        if ((int)r == ccs_at) {
            if (!td_cbb_add_bytes(out, ccs, sizeof(ccs)))
                return TD_ERR_NOMEM;
            p->num_applied++;
        }
        if (r == nrec)
            break;
        uint8_t *b = recs[r].p;
        bool plain_hs = b[0] == TD_CT_HANDSHAKE;
        if (plain_hs && coalesce) {
            /* Join the following plaintext handshake records into this one. */
            size_t total = recs[r].len - 5, s = r + 1;
            while (s < nrec && recs[s].p[0] == TD_CT_HANDSHAKE &&
                   total + recs[s].len - 5 <= TD_REC_MAX_PLAINTEXT)
                total += recs[s++].len - 5;
            if (s > r + 1) {
                uint8_t *joined = malloc(total);
                if (joined == NULL)
                    return TD_ERR_NOMEM;
                size_t o = 0;
                for (size_t k = r; k < s; k++) {
                    memcpy(joined + o, recs[k].p + 5, recs[k].len - 5);
                    o += recs[k].len - 5;
                }
                td_err err = put_record(out, b, joined, total);
                free(joined);
                TD_CHECK(err);
                p->num_applied++;
                r = s - 1;
                continue;
            }
        }
        if (plain_hs && frag > 0 && recs[r].len - 5 > frag) {
            for (size_t o = 5; o < recs[r].len; o += frag) {
                size_t l = recs[r].len - o < frag ? recs[r].len - o : frag;
                TD_CHECK(put_record(out, b, b + o, l));
            }
            p->num_applied++;
            continue;
        }
        if (!td_cbb_add_bytes(out, b, recs[r].len))
            return TD_ERR_NOMEM;
    }
    if (at < len && !td_cbb_add_bytes(out, p->scratch + at, len - at))
        return TD_ERR_NOMEM;
    return TD_OK;
}
