/* engine/scenario/parse_edit.c -- the indented edit lines under a `send`
 * step (scenarios/README.md): one row per edit keyword in k_edits (and one
 * per list name in k_lists), resolved to values and checked against the
 * message they apply to. */
#include <stdlib.h>
#include <string.h>

#include "scn_parse.h"

static td_scn_edit *new_edit(pctx *p, td_scn_step *st, td_scn_edit_kind kind)
{
    td_scn_edit *n = realloc(st->edits, (st->num_edits + 1) * sizeof(*n));
    if (n == NULL) {
        p->err = TD_ERR_NOMEM;
        return NULL;
    }
    st->edits = n;
    td_scn_edit *e = &n[st->num_edits++];
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    e->line = p->line->no;
    return e;
}

/* A new edit carrying |b| (owned: freed when the edit cannot be added). */
static td_scn_edit *new_edit_bytes(pctx *p, td_scn_step *st, td_scn_edit_kind kind, uint8_t *b,
                                   size_t n)
{
    td_scn_edit *e = new_edit(p, st, kind);
    if (e == NULL) {
        free(b);
        return NULL;
    }
    e->bytes = b;
    e->len = n;
    return e;
}

static const struct {
    const char *name;
    td_mut_list list;
    scn_kind kind;
} k_lists[] = {
    {"cipher_suites", TD_MUT_LIST_CIPHER_SUITES, SCN_KIND_SUITE},
    {"supported_groups", TD_MUT_LIST_GROUPS, SCN_KIND_GROUP},
    {"signature_algorithms", TD_MUT_LIST_SIGALGS, SCN_KIND_SIGALG},
    {"supported_versions", TD_MUT_LIST_VERSIONS, SCN_KIND_VERSION},
    {"key_share", TD_MUT_LIST_KEY_SHARES, SCN_KIND_GROUP},
    {"psk_key_exchange_modes", TD_MUT_LIST_PSK_MODES, SCN_KIND_PSK_MODE},
};

#define SCN_IN(t) (1u << (t))
static const struct {
    const char *name;
    td_mut_field field;
    int arg;       /* 0 number, 1 hex, 2 suite, 3 group, 4 signature scheme */
    unsigned msgs; /* SCN_IN(message type) */
} k_fields[] = {
    {"legacy_version", TD_MUT_FIELD_LEGACY_VERSION, 0,
     SCN_IN(TD_MSG_CLIENT_HELLO) | SCN_IN(TD_MSG_SERVER_HELLO)},
    {"random", TD_MUT_FIELD_RANDOM, 1, SCN_IN(TD_MSG_CLIENT_HELLO) | SCN_IN(TD_MSG_SERVER_HELLO)},
    {"legacy_session_id", TD_MUT_FIELD_SESSION_ID, 1,
     SCN_IN(TD_MSG_CLIENT_HELLO) | SCN_IN(TD_MSG_SERVER_HELLO)},
    {"compression", TD_MUT_FIELD_COMPRESSION, 1, SCN_IN(TD_MSG_CLIENT_HELLO)},
    {"compression_method", TD_MUT_FIELD_COMPRESSION, 0, SCN_IN(TD_MSG_SERVER_HELLO)},
    {"cipher_suite", TD_MUT_FIELD_CIPHER_SUITE, 2, SCN_IN(TD_MSG_SERVER_HELLO)},
    {"selected_version", TD_MUT_FIELD_SELECTED_VERSION, 0, SCN_IN(TD_MSG_SERVER_HELLO)},
    {"selected_group", TD_MUT_FIELD_SELECTED_GROUP, 3, SCN_IN(TD_MSG_SERVER_HELLO)},
    {"selected_identity", TD_MUT_FIELD_SELECTED_IDENTITY, 0, SCN_IN(TD_MSG_SERVER_HELLO)},
    {"cookie", TD_MUT_FIELD_COOKIE, 1, SCN_IN(TD_MSG_CLIENT_HELLO) | SCN_IN(TD_MSG_SERVER_HELLO)},
    {"ticket_lifetime", TD_MUT_FIELD_TICKET_LIFETIME, 0, SCN_IN(TD_MSG_NEW_SESSION_TICKET)},
    {"context", TD_MUT_FIELD_CONTEXT, 1,
     SCN_IN(TD_MSG_CERTIFICATE) | SCN_IN(TD_MSG_CERTIFICATE_REQUEST)},
    {"entry_extensions", TD_MUT_FIELD_ENTRY_EXTENSIONS, 1, SCN_IN(TD_MSG_CERTIFICATE)},
    {"algorithm", TD_MUT_FIELD_CV_ALGORITHM, 4, SCN_IN(TD_MSG_CERTIFICATE_VERIFY)},
    {"signature", TD_MUT_FIELD_CV_SIGNATURE, 1, SCN_IN(TD_MSG_CERTIFICATE_VERIFY)},
    {"verify_data", TD_MUT_FIELD_VERIFY_DATA, 1, SCN_IN(TD_MSG_FINISHED)},
    {"request_update", TD_MUT_FIELD_REQUEST_UPDATE, 0, SCN_IN(TD_MSG_KEY_UPDATE)},
};

static td_ext_ctx step_ctx(const td_scn_step *st)
{
    switch (st->msg_type) {
    case TD_MSG_CLIENT_HELLO: return TD_EXT_CTX_CH;
    case TD_MSG_SERVER_HELLO: return st->hrr ? TD_EXT_CTX_HRR : TD_EXT_CTX_SH;
    case TD_MSG_ENCRYPTED_EXTENSIONS: return TD_EXT_CTX_EE;
    case TD_MSG_CERTIFICATE_REQUEST: return TD_EXT_CTX_CR;
    case TD_MSG_NEW_SESSION_TICKET: return TD_EXT_CTX_NST;
    default: return TD_EXT_NUM_CTX;
    }
}

static void parse_set(pctx *p, td_scn_step *st)
{
    if (!scn_want_args(p, 2, 2))
        return;
    for (size_t i = 0; i < sizeof(k_fields) / sizeof(k_fields[0]); i++) {
        if (strcmp(p->w[1], k_fields[i].name) != 0)
            continue;
        if (!(k_fields[i].msgs & SCN_IN(st->msg_type))) {
            scn_perr(p, 1, "field '%s' is not in a %s", p->w[1],
                     scn_msg_name(st->msg_type, st->hrr));
            return;
        }
        td_scn_edit e = {.kind = TD_SCN_EDIT_SET, .field = k_fields[i].field, .line = p->line->no};
        uint16_t v16;
        switch (k_fields[i].arg) {
        case 0:
            if (!scn_number_at(p, 2, 0xffffffffu, &e.value))
                return;
            break;
        case 1:
            if (!scn_hex_at(p, 2, &e.bytes, &e.len))
                return;
            if (e.field == TD_MUT_FIELD_RANDOM && e.len != TD_RANDOM_LEN) {
                free(e.bytes);
                scn_perr(p, 2, "random must be %d bytes, not %zu", TD_RANDOM_LEN, e.len);
                return;
            }
            break;
        case 2:
            if (!scn_value_at(p, 2, SCN_KIND_SUITE, &v16))
                return;
            e.value = v16;
            break;
        case 4:
            if (!scn_value_at(p, 2, SCN_KIND_SIGALG, &v16))
                return;
            e.value = v16;
            break;
        default:
            if (!scn_value_at(p, 2, SCN_KIND_GROUP, &v16))
                return;
            e.value = v16;
            break;
        }
        td_scn_edit *d = new_edit(p, st, TD_SCN_EDIT_SET);
        if (d != NULL)
            *d = e;
        else
            free(e.bytes);
        return;
    }
    scn_perr(p, 1, "unknown field '%s'", p->w[1]);
}

static void parse_binder(pctx *p, td_scn_step *st)
{
    if (st->msg_type != TD_MSG_CLIENT_HELLO) {
        scn_perr(p, 0, "binder edits apply to a ClientHello, not a %s",
                 scn_msg_name(st->msg_type, st->hrr));
        return;
    }
    if (!scn_want_args(p, 1, 3))
        return;
    static const struct {
        const char *name;
        td_binder_mode mode;
    } modes[] = {{"recompute", TD_BINDER_RECOMPUTE},
                 {"stale", TD_BINDER_STALE},
                 {"corrupt", TD_BINDER_CORRUPT},
                 {"wrong-transcript", TD_BINDER_WRONG_TRANSCRIPT}};
    if (p->nw == 2) {
        for (size_t i = 0; i < 4; i++)
            if (strcmp(p->w[1], modes[i].name) == 0) {
                td_scn_edit *e = new_edit(p, st, TD_SCN_EDIT_BINDER_MODE);
                if (e)
                    e->binder = modes[i].mode;
                return;
            }
        scn_perr(
            p, 1,
            "unknown binder mode '%s' (recompute, stale, corrupt, wrong-transcript, or N xor HEX)",
            p->w[1]);
        return;
    }
    uint32_t idx, v;
    if (strcmp(p->w[1], "add") == 0) {
        if (scn_want_args(p, 2, 2) && scn_number_at(p, 2, 255, &v)) {
            td_scn_edit *e = new_edit(p, st, TD_SCN_EDIT_BINDER_ADD);
            if (e)
                e->value = v;
        }
        return;
    }
    if (strcmp(p->w[1], "remove") == 0) {
        if (scn_want_args(p, 2, 2) && scn_number_at(p, 2, TD_MAX_PSK_IDENTITIES - 1, &idx)) {
            td_scn_edit *e = new_edit(p, st, TD_SCN_EDIT_BINDER_REMOVE);
            if (e)
                e->index = (int)idx;
        }
        return;
    }
    if (!scn_number_at(p, 1, TD_MAX_PSK_IDENTITIES - 1, &idx))
        return;
    if (p->nw == 4 && strcmp(p->w[2], "length") == 0) {
        if (scn_number_at(p, 3, 255, &v)) {
            td_scn_edit *e = new_edit(p, st, TD_SCN_EDIT_BINDER_LENGTH);
            if (e) {
                e->index = (int)idx;
                e->value = v;
            }
        }
        return;
    }
    if (p->nw != 4 || strcmp(p->w[2], "xor") != 0) {
        scn_perr(p, 2, "expected 'binder N xor HEX' or 'binder N length L'");
        return;
    }
    uint8_t *b;
    size_t n;
    if (!scn_hex_at(p, 3, &b, &n))
        return;
    td_scn_edit *e = new_edit_bytes(p, st, TD_SCN_EDIT_BINDER_XOR, b, n);
    if (e)
        e->index = (int)idx;
}

/* An identity edit's `HEX [AGE]` from word |at| on (AGE, when given, is
 * the last word): the identity's bytes and obfuscated_ticket_age. */
static void identity_with_age(pctx *p, td_scn_step *st, td_scn_edit_kind kind, size_t at,
                              int index)
{
    uint8_t *b;
    size_t n;
    uint32_t age = 0;
    if (!scn_hex_at(p, at, &b, &n))
        return;
    if (p->nw == at + 2 && !scn_number_at(p, at + 1, 0xffffffffu, &age)) {
        free(b);
        return;
    }
    td_scn_edit *e = new_edit_bytes(p, st, kind, b, n);
    if (e) {
        e->index = index;
        e->value = age;
    }
}

/* psk_identity add HEX [AGE] | psk_identity N insert HEX [AGE] |
 * psk_identity N raw HEX | psk_identity N age VALUE */
static void parse_identity(pctx *p, td_scn_step *st)
{
    uint32_t idx, v = 0;
    if (st->msg_type != TD_MSG_CLIENT_HELLO) {
        scn_perr(p, 0, "psk_identity edits apply to a ClientHello, not a %s",
                 scn_msg_name(st->msg_type, st->hrr));
        return;
    }
    if (!scn_want_args(p, 2, 4))
        return;
    if (strcmp(p->w[1], "add") == 0) {
        if (p->nw > 4) {
            scn_perr(p, 4, "unexpected word '%s' after 'psk_identity add HEX AGE'", p->w[4]);
            return;
        }
        identity_with_age(p, st, TD_SCN_EDIT_IDENTITY_ADD, 2, 0);
        return;
    }
    if (!scn_number_at(p, 1, TD_MAX_PSK_IDENTITIES - 1, &idx))
        return;
    if ((p->nw == 4 || p->nw == 5) && strcmp(p->w[2], "insert") == 0) {
        identity_with_age(p, st, TD_SCN_EDIT_IDENTITY_INSERT, 3, (int)idx);
    } else if (p->nw == 4 && strcmp(p->w[2], "raw") == 0) {
        uint8_t *b;
        size_t n;
        if (!scn_hex_at(p, 3, &b, &n))
            return;
        td_scn_edit *e = new_edit_bytes(p, st, TD_SCN_EDIT_IDENTITY_SET, b, n);
        if (e)
            e->index = (int)idx;
    } else if (p->nw == 4 && strcmp(p->w[2], "age") == 0) {
        if (!scn_number_at(p, 3, 0xffffffffu, &v))
            return;
        td_scn_edit *e = new_edit(p, st, TD_SCN_EDIT_IDENTITY_AGE);
        if (e) {
            e->index = (int)idx;
            e->value = v;
        }
    } else {
        scn_perr(p, 2,
                 "expected 'psk_identity add HEX [AGE]', 'psk_identity N insert HEX [AGE]', "
                 "'psk_identity N raw HEX' or 'psk_identity N age VALUE'");
    }
}

/* record-before HEX | ccs-before [BODY]: a ChangeCipherSpec record
 * (§5: type 20, version 0x0303, body 0x01 unless given). */
static void parse_record_before(pctx *p, td_scn_step *st, bool ccs)
{
    uint8_t *b = NULL;
    size_t n = 0;
    if (!scn_want_args(p, ccs ? 0 : 1, 1))
        return;
    if (p->nw == 2 && !scn_hex_at(p, 1, &b, &n))
        return;
    if (ccs) {
        uint8_t body = 1;
        size_t body_len = 1;
        const uint8_t *src = &body;
        if (b != NULL) {
            src = b;
            body_len = n;
        }
        uint8_t *rec = malloc(5 + body_len);
        if (rec == NULL) {
            free(b);
            p->err = TD_ERR_NOMEM;
            return;
        }
        rec[0] = 20;
        rec[1] = 3;
        rec[2] = 3;
        rec[3] = (uint8_t)(body_len >> 8);
        rec[4] = (uint8_t)body_len;
        memcpy(rec + 5, src, body_len);
        free(b);
        b = rec;
        n = 5 + body_len;
    }
    (void)new_edit_bytes(p, st, TD_SCN_EDIT_RECORD_BEFORE, b, n);
}

static void parse_list_edit(pctx *p, td_scn_step *st, size_t li)
{
    if (!scn_want_args(p, 1, 3))
        return;
    static const char *const ops[] = {"remove", "add", "prepend", "clear"};
    static const td_mut_op opv[] = {TD_MUT_OP_REMOVE, TD_MUT_OP_ADD, TD_MUT_OP_PREPEND,
                                    TD_MUT_OP_CLEAR};
    size_t o = 0;
    while (o < 4 && strcmp(p->w[1], ops[o]) != 0)
        o++;
    if (o == 4) {
        scn_perr(p, 1, "unknown list operation '%s' (remove, add, prepend, clear)", p->w[1]);
        return;
    }
    if (k_lists[li].list == TD_MUT_LIST_CIPHER_SUITES && st->msg_type != TD_MSG_CLIENT_HELLO) {
        scn_perr(p, 0, "cipher_suites is a ClientHello list");
        return;
    }
    if (opv[o] == TD_MUT_OP_CLEAR) {
        if (scn_want_args(p, 1, 1)) {
            td_scn_edit *e = new_edit(p, st, TD_SCN_EDIT_LIST);
            if (e) {
                e->list = k_lists[li].list;
                e->op = TD_MUT_OP_CLEAR;
            }
        }
        return;
    }
    uint16_t v;
    if (!scn_value_at(p, 2, k_lists[li].kind, &v))
        return;
    if (k_lists[li].list == TD_MUT_LIST_KEY_SHARES && opv[o] == TD_MUT_OP_ADD && p->nw == 4) {
        uint8_t *b;
        size_t n;
        if (!scn_hex_at(p, 3, &b, &n))
            return;
        td_scn_edit *e = new_edit_bytes(p, st, TD_SCN_EDIT_KEY_SHARE_ADD, b, n);
        if (e)
            e->value = v;
        return;
    }
    if (p->nw > 3) {
        scn_perr(p, 3, "unexpected word '%s'", p->w[3]);
        return;
    }
    td_scn_edit *e = new_edit(p, st, TD_SCN_EDIT_LIST);
    if (e) {
        e->list = k_lists[li].list;
        e->op = opv[o];
        e->value = v;
    }
}

/* An edit of an existing extension that the §4.2 table keeps out of this
 * message can never apply (our side does not send it) unless the step
 * added it first. */
static bool ext_present(pctx *p, const td_scn_step *st, td_ext_ctx ctx, uint16_t type)
{
    if (!td_ext_is_known(type) || td_ext_allowed(ctx, type))
        return true;
    for (size_t i = 0; i < st->num_edits; i++)
        if (st->edits[i].kind == TD_SCN_EDIT_ADD && st->edits[i].ext == type)
            return true;
    scn_perr(p, 1, "our %s never carries %s (RFC 8446 4.2): 'add' it first",
             scn_msg_name(st->msg_type, st->hrr), td_ext_type_name(type));
    return false;
}

/* ---- one function per edit keyword (k_edits) ---- */

typedef void (*edit_fn)(pctx *p, td_scn_step *st, td_scn_edit_kind kind);

/* remove EXT | duplicate EXT */
static void edit_ext(pctx *p, td_scn_step *st, td_scn_edit_kind kind)
{
    uint16_t type;
    if (scn_want_args(p, 1, 1) && scn_ext_at(p, 1, &type) &&
        ext_present(p, st, step_ctx(st), type)) {
        td_scn_edit *e = new_edit(p, st, kind);
        if (e)
            e->ext = type;
    }
}

/* add EXT [HEX] | raw EXT HEX */
static void edit_ext_body(pctx *p, td_scn_step *st, td_scn_edit_kind kind)
{
    td_ext_ctx ctx = step_ctx(st);
    uint16_t type;
    bool add = kind == TD_SCN_EDIT_ADD;
    if (!scn_want_args(p, add ? 1 : 2, 2) || !scn_ext_at(p, 1, &type))
        return;
    if (!add && !ext_present(p, st, ctx, type))
        return;
    uint8_t *b = NULL;
    size_t n = 0;
    if (p->nw == 3 && !scn_hex_at(p, 2, &b, &n))
        return;
    if (p->nw == 2 && !td_ext_has_typed_form(ctx, type)) {
        scn_perr(p, 1, "'%s' has no built-in form in a %s: give its bytes in hex", p->w[1],
                 scn_msg_name(st->msg_type, st->hrr));
        return;
    }
    td_scn_edit *e = new_edit_bytes(p, st, kind, b, n);
    if (e)
        e->ext = type;
}

/* move EXT first|last|N */
static void edit_move(pctx *p, td_scn_step *st, td_scn_edit_kind kind)
{
    uint16_t type;
    if (!scn_want_args(p, 2, 2) || !scn_ext_at(p, 1, &type) ||
        !ext_present(p, st, step_ctx(st), type))
        return;
    uint32_t idx = 0;
    int to;
    if (strcmp(p->w[2], "first") == 0)
        to = 0;
    else if (strcmp(p->w[2], "last") == 0)
        to = -1;
    else if (scn_number_at(p, 2, TD_MAX_EXTENSIONS - 1, &idx))
        to = (int)idx;
    else
        return;
    td_scn_edit *e = new_edit(p, st, kind);
    if (e) {
        e->ext = type;
        e->index = to;
    }
}

/* reverse | drop: no argument */
static void edit_bare(pctx *p, td_scn_step *st, td_scn_edit_kind kind)
{
    if (p->nw > 1)
        scn_perr(p, 1, "unexpected word '%s' after '%s'", p->w[1], p->w[0]);
    else
        (void)new_edit(p, st, kind);
}

static void edit_set(pctx *p, td_scn_step *st, td_scn_edit_kind kind)
{
    (void)kind;
    parse_set(p, st);
}

static void edit_binder(pctx *p, td_scn_step *st, td_scn_edit_kind kind)
{
    (void)kind;
    parse_binder(p, st);
}

static void edit_identity(pctx *p, td_scn_step *st, td_scn_edit_kind kind)
{
    (void)kind;
    parse_identity(p, st);
}

/* record-before HEX | ccs-before [BODY] */
static void edit_record_before(pctx *p, td_scn_step *st, td_scn_edit_kind kind)
{
    (void)kind;
    parse_record_before(p, st, strcmp(p->w[0], "ccs-before") == 0);
}

/* append HEX | record-append HEX: bytes after a plaintext message, inside
 * its handshake message or its record. */
static void edit_plaintext_append(pctx *p, td_scn_step *st, td_scn_edit_kind kind)
{
    uint8_t *b;
    size_t n;
    if (st->msg_type != TD_MSG_CLIENT_HELLO && st->msg_type != TD_MSG_SERVER_HELLO) {
        scn_perr(p, 0,
                 "'%s' applies to plaintext messages (ClientHello, ServerHello, "
                 "HelloRetryRequest)",
                 p->w[0]);
        return;
    }
    if (scn_want_args(p, 1, 1) && scn_hex_at(p, 1, &b, &n))
        (void)new_edit_bytes(p, st, kind, b, n);
}

/* inject-before HEX | record-after HEX: at least one byte */
static void edit_inject(pctx *p, td_scn_step *st, td_scn_edit_kind kind)
{
    uint8_t *b;
    size_t n;
    if (!scn_want_args(p, 1, 1) || !scn_hex_at(p, 1, &b, &n))
        return;
    if (n == 0) {
        free(b);
        scn_perr(p, 1, "'%s' needs at least one byte", p->w[0]);
        return;
    }
    (void)new_edit_bytes(p, st, kind, b, n);
}

/* sealed-before TYPE HEX [PAD] */
static void edit_sealed(pctx *p, td_scn_step *st, td_scn_edit_kind kind)
{
    uint32_t ct, pad = 0;
    uint8_t *b;
    size_t n;
    if (!scn_want_args(p, 2, 3) || !scn_number_at(p, 1, 255, &ct))
        return;
    if (p->nw == 4 && !scn_number_at(p, 3, 20000, &pad))
        return;
    if (!scn_hex_at(p, 2, &b, &n))
        return;
    td_scn_edit *e = new_edit_bytes(p, st, kind, b, n);
    if (e) {
        e->value = ct;
        e->index = (int)pad;
    }
}

/* record-version N */
static void edit_record_version(pctx *p, td_scn_step *st, td_scn_edit_kind kind)
{
    uint32_t v;
    if (scn_want_args(p, 1, 1) && scn_number_at(p, 1, 0xffff, &v)) {
        td_scn_edit *e = new_edit(p, st, kind);
        if (e)
            e->value = v;
    }
}

static const struct {
    const char *name;
    td_scn_edit_kind kind;
    bool ext; /* edits the message's extensions: it must have some */
    edit_fn fn;
} k_edits[] = {
    {"remove", TD_SCN_EDIT_REMOVE, true, edit_ext},
    {"duplicate", TD_SCN_EDIT_DUPLICATE, true, edit_ext},
    {"add", TD_SCN_EDIT_ADD, true, edit_ext_body},
    {"raw", TD_SCN_EDIT_RAW, true, edit_ext_body},
    {"move", TD_SCN_EDIT_MOVE, true, edit_move},
    {"reverse", TD_SCN_EDIT_REVERSE, true, edit_bare},
    {"set", TD_SCN_EDIT_SET, false, edit_set},
    {"binder", TD_SCN_EDIT_BINDER_MODE, false, edit_binder},
    {"psk_identity", TD_SCN_EDIT_IDENTITY_ADD, false, edit_identity},
    {"record-before", TD_SCN_EDIT_RECORD_BEFORE, false, edit_record_before},
    {"ccs-before", TD_SCN_EDIT_RECORD_BEFORE, false, edit_record_before},
    {"append", TD_SCN_EDIT_APPEND, false, edit_plaintext_append},
    {"drop", TD_SCN_EDIT_DROP, false, edit_bare},
    {"record-append", TD_SCN_EDIT_RECORD_APPEND, false, edit_plaintext_append},
    {"inject-before", TD_SCN_EDIT_INJECT, false, edit_inject},
    {"record-after", TD_SCN_EDIT_RECORD_AFTER, false, edit_inject},
    {"sealed-before", TD_SCN_EDIT_SEALED, false, edit_sealed},
    {"record-version", TD_SCN_EDIT_RECORD_VERSION, false, edit_record_version},
};

static void parse_edit_words(pctx *p, td_scn_step *st)
{
    const char *k = p->w[0];
    for (size_t i = 0; i < sizeof(k_edits) / sizeof(k_edits[0]); i++) {
        if (strcmp(k, k_edits[i].name) != 0)
            continue;
        if (k_edits[i].ext && step_ctx(st) == TD_EXT_NUM_CTX) {
            scn_perr(p, 0, "a %s has no extensions to edit", scn_msg_name(st->msg_type, st->hrr));
            return;
        }
        k_edits[i].fn(p, st, k_edits[i].kind);
        return;
    }
    for (size_t i = 0; i < sizeof(k_lists) / sizeof(k_lists[0]); i++)
        if (strcmp(k, k_lists[i].name) == 0) {
            parse_list_edit(p, st, i);
            return;
        }
    scn_perr(p, 0, "unknown edit '%s'", k);
}

/* `EDIT ... count N` (add EXT HEX, LIST add|prepend VALUE): the edit N times
 * over consecutive code points, so that a case can say "200 unknown
 * extensions" or "10,000 cipher suites" in one line. */
void scn_parse_edit(pctx *p, td_scn_step *st)
{
    uint32_t count = 0;
    size_t at = p->nw >= 2 ? p->nw - 2 : 0;
    if (p->nw >= 4 && strcmp(p->w[at], "count") == 0) {
        if (!scn_number_at(p, at + 1, 65535, &count))
            return;
        if (count == 0) {
            scn_perr(p, (int)at + 1, "'count' is 1..65535");
            return;
        }
        p->nw = at;
    }
    size_t before = st->num_edits;
    parse_edit_words(p, st);
    if (count == 0 || st->num_edits != before + 1)
        return;
    td_scn_edit *e = &st->edits[before];
    bool add = e->kind == TD_SCN_EDIT_ADD && e->bytes != NULL;
    bool list = e->kind == TD_SCN_EDIT_LIST && (e->op == TD_MUT_OP_ADD || e->op == TD_MUT_OP_PREPEND);
    uint32_t first = add ? e->ext : e->value;
    if (!add && !list) {
        scn_perr(p, (int)at, "'count' repeats 'add EXT HEX' and 'LIST add|prepend VALUE' only");
        return;
    }
    if (first + count - 1 > 0xffff) {
        scn_perr(p, (int)at + 1, "%u code points from 0x%04x run past 0xffff", count, first);
        return;
    }
    for (uint32_t t = first + 1; add && t < first + count; t++)
        if (td_ext_is_known((uint16_t)t)) {
            scn_perr(p, 1, "'count' reaches %s (0x%04x): start at an unassigned code point",
                     td_ext_type_name((uint16_t)t), t);
            return;
        }
    e->count = (uint16_t)count;
}
