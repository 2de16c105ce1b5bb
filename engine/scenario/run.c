/* engine/scenario/run.c -- plays a parsed case against a peer and judges
 * the outcome: our side is the opposite of `sut`, our deviations are the
 * case's bugs.def knobs and its send-step edits (applied in our msg_hook,
 * binder XORs in our record_hook), and the verdict compares the SUT's alert
 * (as our side decrypted it) and, when the peer can tell, the SUT's rule with
 * the expectation. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scn_judge.h"
#include "scn_names.h"
#include "tlsdrill/file.h"
#include "tlsdrill/record.h"
#include "tlsdrill/scenario.h"

#define RUN_MAX_CERTS 16

/* A chain and key loaded from the cert dir, or (key NULL) a trust anchor. */
typedef struct cert_slot {
    char name[64]; /* "client:p256", "file:a.pem:b.key", "trust:ca.pem" */
    td_der *chain;
    size_t num_chain;
    td_pkey *key;
} cert_slot;

/* A server SUT's baseline probe per extension (`premise recognises EXT`),
 * run once per runner, the first time a case needs it. */
#define RUN_MAX_PROBES 8
typedef struct ext_probe {
    uint16_t ext;
    int state; /* SCN_PROBE_*: NONE when the probe itself did not complete */
} ext_probe;

struct td_scn_runner {
    td_scn_opts opts;
    td_der *anchor;
    size_t num_anchor;
    cert_slot certs[RUN_MAX_CERTS];
    size_t num_certs;
    ext_probe probes[RUN_MAX_PROBES];
    size_t num_probes;
    bool probing; /* a probe is running: it asks for none itself */
};

/* Per-connection hook state. */
typedef struct hook_state {
    const td_scn_case *c;
    unsigned counts[256];
    unsigned hrr_count;
    const td_scn_step *xor_step; /* binder XORs pending for the next ClientHello record */
    const td_scn_step *rec_step; /* record edits pending for the next handshake record */
    bool applied[64];            /* per step: its message was sent and edited */
    char error[160];
    scn_seen seen;       /* the SUT's own messages so far (cases with premises) */
    bool check_edits;    /* td_scn_opts.check_edits */
    char malformed[256]; /* the first edited message of ours that does not parse */
} hook_state;

static td_err load_certs(td_scn_runner *r, const char *file, td_der **out, size_t *num)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", r->opts.cert_dir, file);
    return td_certs_from_pem_file(path, out, num);
}

/* Loads (once) the chain file |chain| and, unless NULL, the key file |key|,
 * both under the cert dir. */
static td_err get_slot(td_scn_runner *r, const char *chain, const char *key, cert_slot **out)
{
    char name[sizeof(r->certs[0].name)];
    int n = snprintf(name, sizeof(name), "%s:%s", chain, key ? key : "-");
    if (n < 0 || (size_t)n >= sizeof(name))
        return TD_ERR_LIMIT;
    for (size_t i = 0; i < r->num_certs; i++)
        if (strcmp(r->certs[i].name, name) == 0) {
            *out = &r->certs[i];
            return TD_OK;
        }
    if (r->num_certs == RUN_MAX_CERTS)
        return TD_ERR_LIMIT;
    cert_slot *s = &r->certs[r->num_certs];
    memset(s, 0, sizeof(*s));
    TD_CHECK(load_certs(r, chain, &s->chain, &s->num_chain));
    if (s->num_chain == 0) {
        td_der_list_free(s->chain, s->num_chain);
        return TD_ERR_FORMAT;
    }
    if (key != NULL) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", r->opts.cert_dir, key);
        td_err err = td_pkey_from_pem_file(r->opts.crypto, path, &s->key);
        if (err != TD_OK) {
            td_der_list_free(s->chain, s->num_chain);
            return err;
        }
    }
    memcpy(s->name, name, (size_t)n + 1);
    r->num_certs++;
    *out = s;
    return TD_OK;
}

/* `cert NAME`: ROLE-NAME.chain.pem + ROLE-NAME.key; `cert CHAIN KEY`: those files. */
static td_err get_cert(td_scn_runner *r, const td_scn_side *side, const char *name, bool client,
                       cert_slot **out)
{
    char chain[160], key[160];
    if (side->cert_key != NULL) {
        snprintf(chain, sizeof(chain), "%s", name);
        snprintf(key, sizeof(key), "%s", side->cert_key);
    } else {
        snprintf(chain, sizeof(chain), "%s-%s.chain.pem", client ? "client" : "server", name);
        snprintf(key, sizeof(key), "%s-%s.key", client ? "client" : "server", name);
    }
    return get_slot(r, chain, key, out);
}

td_err td_scn_runner_new(const td_scn_opts *opts, td_scn_runner **out)
{
    *out = NULL;
    if (opts == NULL || opts->crypto == NULL || opts->cert_dir == NULL)
        return TD_ERR_ARG;
    td_scn_runner *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return TD_ERR_NOMEM;
    r->opts = *opts;
    td_err err = load_certs(r, "ca.pem", &r->anchor, &r->num_anchor);
    if (err == TD_OK && r->num_anchor == 0)
        err = TD_ERR_FORMAT;
    if (err != TD_OK) {
        td_scn_runner_free(r);
        return err;
    }
    *out = r;
    return TD_OK;
}

void td_scn_runner_free(td_scn_runner *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->num_certs; i++) {
        td_der_list_free(r->certs[i].chain, r->certs[i].num_chain);
        td_pkey_free(r->certs[i].key);
    }
    td_der_list_free(r->anchor, r->num_anchor);
    free(r);
}

/* ---- hooks: our side's deviations ---- */

static td_err apply_edit(const td_scn_edit *e, td_conn *conn, td_msg *msg, td_binder_mode *mode,
                         hook_state *h, const td_scn_step *st)
{
    switch (e->kind) {
    case TD_SCN_EDIT_DROP: td_conn_skip_message(conn); return TD_OK;
    case TD_SCN_EDIT_INJECT: return td_conn_inject_handshake(conn, e->bytes, e->len);
    case TD_SCN_EDIT_SEALED:
        return td_conn_inject_record(conn, (uint8_t)e->value, e->bytes, e->len, (size_t)e->index);
    case TD_SCN_EDIT_REMOVE: return td_mut_ext_remove(msg, e->ext);
    case TD_SCN_EDIT_ADD:
        if (e->bytes == NULL)
            return td_mut_ext_add_typed(msg, e->ext);
        /* `count N`: N extensions of consecutive types (the parser checked the range). */
        for (unsigned i = 0; i < (e->count ? e->count : 1u); i++)
            TD_CHECK(td_mut_ext_add_raw(msg, (uint16_t)(e->ext + i), e->bytes, e->len, -1));
        return TD_OK;
    case TD_SCN_EDIT_RAW: return td_mut_ext_set_raw(msg, e->ext, e->bytes, e->len);
    case TD_SCN_EDIT_DUPLICATE: return td_mut_ext_duplicate(msg, e->ext);
    case TD_SCN_EDIT_MOVE: return td_mut_ext_move(msg, e->ext, e->index);
    case TD_SCN_EDIT_REVERSE: return td_mut_ext_reverse(msg);
    case TD_SCN_EDIT_LIST:
        for (unsigned i = 0; i < (e->count ? e->count : 1u); i++)
            TD_CHECK(td_mut_list_edit(msg, e->list, e->op, (uint16_t)(e->value + i)));
        return TD_OK;
    case TD_SCN_EDIT_KEY_SHARE_ADD:
        return td_mut_key_share_add(msg, (uint16_t)e->value, e->bytes, e->len);
    case TD_SCN_EDIT_SET: return td_mut_set_field(msg, e->field, e->value, e->bytes, e->len);
    case TD_SCN_EDIT_BINDER_MODE: *mode = e->binder; return TD_OK;
    case TD_SCN_EDIT_BINDER_XOR: h->xor_step = st; return TD_OK;
    case TD_SCN_EDIT_BINDER_LENGTH:
        return td_mut_psk_binder_length(msg, (size_t)e->index, e->value);
    case TD_SCN_EDIT_BINDER_ADD: return td_mut_psk_binder_add(msg, e->value);
    case TD_SCN_EDIT_BINDER_REMOVE: return td_mut_psk_binder_remove(msg, (size_t)e->index);
    case TD_SCN_EDIT_IDENTITY_ADD: return td_mut_psk_identity_add(msg, e->bytes, e->len, e->value);
    case TD_SCN_EDIT_IDENTITY_SET:
        return td_mut_psk_identity_set(msg, (size_t)e->index, e->bytes, e->len);
    case TD_SCN_EDIT_IDENTITY_INSERT:
        return td_mut_psk_identity_insert(msg, (size_t)e->index, e->bytes, e->len, e->value);
    case TD_SCN_EDIT_IDENTITY_AGE: return td_mut_psk_identity_age(msg, (size_t)e->index, e->value);
    case TD_SCN_EDIT_RECORD_BEFORE:
    case TD_SCN_EDIT_RECORD_VERSION:
    case TD_SCN_EDIT_RECORD_AFTER:
    case TD_SCN_EDIT_RECORD_APPEND:
    case TD_SCN_EDIT_APPEND:
        if (h->rec_step == NULL)
            h->rec_step = st;
        return TD_OK;
    }
    return TD_ERR_ARG;
}

/* Whether step |st| edits the message itself (not only its record, its
 * binders after the fact, or by dropping / injecting around it). */
static bool edits_message(const td_scn_step *st)
{
    for (size_t j = 0; j < st->num_edits; j++)
        switch (st->edits[j].kind) {
        case TD_SCN_EDIT_REMOVE:
        case TD_SCN_EDIT_ADD:
        case TD_SCN_EDIT_RAW:
        case TD_SCN_EDIT_DUPLICATE:
        case TD_SCN_EDIT_MOVE:
        case TD_SCN_EDIT_REVERSE:
        case TD_SCN_EDIT_LIST:
        case TD_SCN_EDIT_KEY_SHARE_ADD:
        case TD_SCN_EDIT_SET:
        case TD_SCN_EDIT_BINDER_LENGTH:
        case TD_SCN_EDIT_BINDER_ADD:
        case TD_SCN_EDIT_BINDER_REMOVE:
        case TD_SCN_EDIT_IDENTITY_ADD:
        case TD_SCN_EDIT_IDENTITY_SET:
        case TD_SCN_EDIT_IDENTITY_INSERT:
        case TD_SCN_EDIT_IDENTITY_AGE: return true;
        case TD_SCN_EDIT_BINDER_MODE:
        case TD_SCN_EDIT_BINDER_XOR:
        case TD_SCN_EDIT_RECORD_BEFORE:
        case TD_SCN_EDIT_RECORD_VERSION:
        case TD_SCN_EDIT_DROP:
        case TD_SCN_EDIT_INJECT:
        case TD_SCN_EDIT_SEALED:
        case TD_SCN_EDIT_RECORD_AFTER:
        case TD_SCN_EDIT_RECORD_APPEND:
        case TD_SCN_EDIT_APPEND: break;
        }
    return false;
}

/* td_scn_opts.check_edits: builds our edited message and parses it back
 * with the codec every endpoint's parser follows (RFC 8446 §3 syntax, the
 * §4 structs); notes the first one that does not parse. */
static void check_edited(hook_state *h, const td_scn_step *st, const td_msg *msg)
{
    if (h->malformed[0] != '\0' || msg->type == TD_MSG_FINISHED)
        return;
    td_cbb out;
    if (!td_cbb_init(&out, 512))
        return;
    td_msg back;
    td_diag diag;
    td_diag_clear(&diag);
    td_msg_ctx ctx = {.hash_len = 32, .sh_mode = TD_SH_AUTO};
    if (td_msg_build(msg, &out) == TD_OK &&
        td_msg_parse_handshake(td_cbb_data(&out), td_cbb_len(&out), &ctx, &back, &diag) ==
            TD_ERR_DECODE)
        snprintf(h->malformed, sizeof(h->malformed), "%s:%d: our edited %s does not parse: %s (%s)",
                 h->c->file, st->line, scn_msg_name(st->msg_type, st->hrr), diag.text,
                 td_rule_get(diag.rule) ? td_rule_get(diag.rule)->id : "-");
    td_cbb_cleanup(&out);
}

static td_err msg_hook(void *arg, td_conn *conn, td_msg *msg, td_binder_mode *mode)
{
    hook_state *h = arg;
    if (h->c->num_premises > 0)
        scn_seen_update(&h->seen, conn);
    bool hrr = msg->type == TD_MSG_SERVER_HELLO && msg->u.sh.is_hrr;
    unsigned nth = hrr ? ++h->hrr_count : ++h->counts[msg->type & 0xff];
    /* `client key-shares none`: the engine's client always makes a share,
     * so our first ClientHello's list is emptied here. */
    if (h->c->client.no_shares && msg->type == TD_MSG_CLIENT_HELLO && nth == 1) {
        td_err err = td_mut_list_edit(msg, TD_MUT_LIST_KEY_SHARES, TD_MUT_OP_CLEAR, 0);
        if (err != TD_OK)
            return err;
    }
    for (size_t i = 0; i < h->c->num_steps; i++) {
        const td_scn_step *st = &h->c->steps[i];
        if (st->msg_type != msg->type || st->hrr != hrr || st->nth != nth)
            continue;
        if (i < sizeof(h->applied) / sizeof(h->applied[0]))
            h->applied[i] = true;
        for (size_t j = 0; j < st->num_edits; j++) {
            td_err err = apply_edit(&st->edits[j], conn, msg, mode, h, st);
            if (err != TD_OK) {
                snprintf(h->error, sizeof(h->error), "%s:%d: the edit cannot apply to our %s (%s)",
                         h->c->file, st->edits[j].line, scn_msg_name(st->msg_type, st->hrr),
                         td_err_name(err));
                return err;
            }
        }
        if (h->check_edits && edits_message(st))
            check_edited(h, st, msg);
    }
    return TD_OK;
}

static uint32_t get_u24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

/* Binder XORs on the plaintext record carrying our ClientHello. */
static td_err apply_xor(hook_state *h, uint8_t *rec, size_t len)
{
    const td_scn_step *st = h->xor_step;
    h->xor_step = NULL;
    size_t msg_len = 4 + get_u24(rec + 6);
    if (msg_len + 5 > len)
        return TD_ERR_ARG;
    for (size_t j = 0; j < st->num_edits; j++) {
        const td_scn_edit *e = &st->edits[j];
        if (e->kind == TD_SCN_EDIT_BINDER_XOR &&
            td_mut_ch_binder_xor(rec + 5, msg_len, (size_t)e->index, e->bytes, e->len) != TD_OK) {
            snprintf(h->error, sizeof(h->error), "%s:%d: no binder %d in our ClientHello",
                     h->c->file, e->line, e->index);
            return TD_ERR_ARG;
        }
    }
    return TD_OK;
}

/* `append HEX`: bytes after the body of the message that starts the
 * plaintext record |rec| (|cap| >= len + extra), fixing the handshake and
 * record length fields. */
static td_err apply_append(hook_state *h, const td_scn_step *st, uint8_t *rec, size_t *len,
                           size_t extra)
{
    size_t msg_end = 9 + (size_t)get_u24(rec + 6);
    if (*len < 9 || rec[0] != 22 || rec[5] != st->msg_type || msg_end > *len ||
        get_u24(rec + 6) + extra > 0xffffff || *len - 5 + extra > 0xffff) {
        snprintf(h->error, sizeof(h->error),
                 "%s:%d: 'append' needs our %s at the start of a plaintext record", h->c->file,
                 st->line, td_msg_type_name(st->msg_type));
        return TD_ERR_ARG;
    }
    memmove(rec + msg_end + extra, rec + msg_end, *len - msg_end);
    size_t at = msg_end;
    for (size_t j = 0; j < st->num_edits; j++)
        if (st->edits[j].kind == TD_SCN_EDIT_APPEND) {
            memcpy(rec + at, st->edits[j].bytes, st->edits[j].len);
            at += st->edits[j].len;
        }
    uint32_t body = get_u24(rec + 6) + (uint32_t)extra;
    rec[6] = (uint8_t)(body >> 16);
    rec[7] = (uint8_t)(body >> 8);
    rec[8] = (uint8_t)body;
    *len += extra;
    rec[3] = (uint8_t)((*len - 5) >> 8);
    rec[4] = (uint8_t)(*len - 5);
    return TD_OK;
}

/* Our records on their way out: record edits of the step whose message the
 * next handshake record carries (bytes before it, its version, bytes
 * appended to the message), and binder XORs on our ClientHello. */
static td_err record_hook(void *arg, td_conn *conn, uint8_t inner_type, const uint8_t *record,
                          size_t len, td_cbb *out)
{
    hook_state *h = arg;
    if (h->c->num_premises > 0) {
        scn_seen_update(&h->seen, conn); /* also when our next record is our abort */
        scn_seen_our_record(&h->seen, record, len);
    }
    const td_scn_step *st = NULL;
    size_t extra = 0, tail = 0;
    if (h->rec_step != NULL && inner_type == 22) {
        st = h->rec_step;
        h->rec_step = NULL;
        for (size_t j = 0; j < st->num_edits; j++) {
            const td_scn_edit *e = &st->edits[j];
            if (e->kind == TD_SCN_EDIT_RECORD_BEFORE && !td_cbb_add_bytes(out, e->bytes, e->len))
                return TD_ERR_NOMEM;
            if (e->kind == TD_SCN_EDIT_APPEND)
                extra += e->len;
            if (e->kind == TD_SCN_EDIT_RECORD_APPEND)
                tail += e->len;
        }
    }
    bool xor = h->xor_step != NULL && inner_type == 22 && len >= 9 && record[0] == 22 &&
               record[5] == TD_MSG_CLIENT_HELLO;
    if (st == NULL && !xor)
        return td_cbb_add_bytes(out, record, len) ? TD_OK : TD_ERR_NOMEM;
    uint8_t *copy = malloc(len + extra + tail);
    if (copy == NULL)
        return TD_ERR_NOMEM;
    memcpy(copy, record, len);
    size_t n = len;
    td_err err = xor? apply_xor(h, copy, n) : TD_OK;
    if (err == TD_OK && extra > 0)
        err = apply_append(h, st, copy, &n, extra);
    for (size_t j = 0; err == TD_OK && st != NULL && j < st->num_edits; j++)
        if (st->edits[j].kind == TD_SCN_EDIT_RECORD_APPEND) {
            if (n < 5 || n - 5 + st->edits[j].len > 0xffff) {
                err = TD_ERR_ARG;
                break;
            }
            memcpy(copy + n, st->edits[j].bytes, st->edits[j].len);
            n += st->edits[j].len;
            copy[3] = (uint8_t)((n - 5) >> 8);
            copy[4] = (uint8_t)(n - 5);
        }
    for (size_t j = 0; st != NULL && j < st->num_edits && n >= 5; j++)
        if (st->edits[j].kind == TD_SCN_EDIT_RECORD_VERSION) {
            copy[1] = (uint8_t)(st->edits[j].value >> 8);
            copy[2] = (uint8_t)st->edits[j].value;
        }
    if (err == TD_OK && !td_cbb_add_bytes(out, copy, n))
        err = TD_ERR_NOMEM;
    for (size_t j = 0; err == TD_OK && st != NULL && j < st->num_edits; j++)
        if (st->edits[j].kind == TD_SCN_EDIT_RECORD_AFTER &&
            !td_cbb_add_bytes(out, st->edits[j].bytes, st->edits[j].len))
            err = TD_ERR_NOMEM;
    free(copy);
    return err;
}

/* After the handshake: our side sends the KeyUpdates the case's steps edit
 * (update_requested unless an edit says otherwise). */
static td_err post_handshake(void *arg, td_conn *ours)
{
    const td_scn_case *c = arg;
    unsigned n = 0;
    for (size_t i = 0; i < c->num_steps; i++)
        if (c->steps[i].msg_type == TD_MSG_KEY_UPDATE && c->steps[i].nth > n)
            n = c->steps[i].nth;
    for (unsigned i = 0; i < n; i++)
        TD_CHECK(td_conn_key_update(ours, true));
    return TD_OK;
}

static bool has_post(const td_scn_case *c)
{
    for (size_t i = 0; i < c->num_steps; i++)
        if (c->steps[i].msg_type == TD_MSG_KEY_UPDATE)
            return true;
    return false;
}

/* Test-only (td_scn_opts.plant_drop_ext): the engine as SUT leaves an
 * extension out of its ClientHello, as a stack that does not implement it. */
typedef struct sut_plant_state {
    uint16_t ext;     /* leave it out of the ClientHello; 0 = off */
    uint8_t skip_msg; /* do not send this message type; 0 = off */
} sut_plant_state;

static td_err sut_plant_hook(void *arg, td_conn *conn, td_msg *msg, td_binder_mode *mode)
{
    const sut_plant_state *p = arg;
    (void)mode;
    if (p->skip_msg != 0 && msg->type == p->skip_msg) {
        td_conn_skip_message(conn);
        return TD_OK;
    }
    /* A client leaves it out of its ClientHello, a server out of its
     * EncryptedExtensions: a stack that does not implement it. */
    if (p->ext == 0 ||
        (msg->type != TD_MSG_CLIENT_HELLO && msg->type != TD_MSG_ENCRYPTED_EXTENSIONS))
        return TD_OK;
    td_err err = td_mut_ext_remove(msg, p->ext);
    return err == TD_ERR_ARG ? TD_OK : err; /* not there: nothing to leave out */
}

/* ---- configs ---- */

typedef struct case_env {
    td_config cfg[2]; /* [0] client, [1] server */
    td_cert_key ck[2];
    const char *alpn[2][TD_SCN_MAX_ALPN];
    uint8_t seed[96];
    uint8_t early[16384];
    td_session session;
    td_psk_entry psk; /* server: `server psk ...` */
    hook_state hooks;
    sut_plant_state sut_plant; /* test-only: the engine SUT's planted hook */
} case_env;

static td_err side_config(td_scn_runner *r, const td_scn_side *s, td_role role, case_env *env,
                          size_t seed_len)
{
    int i = role == TD_ROLE_CLIENT ? 0 : 1;
    td_config *cfg = &env->cfg[i];
    memset(cfg, 0, sizeof(*cfg));
    cfg->role = role;
    cfg->crypto = r->opts.crypto;
    cfg->seed = env->seed;
    cfg->seed_len = seed_len;
    cfg->trust_anchor = r->anchor[0].data;
    cfg->trust_anchor_len = r->anchor[0].len;
    if (s->num_suites) {
        cfg->suites = s->suites;
        cfg->num_suites = s->num_suites;
    }
    if (s->num_groups) {
        cfg->groups = s->groups;
        cfg->num_groups = s->num_groups;
    }
    cfg->max_fragment = s->record_size;
    if (s->trust != NULL) {
        cert_slot *anchor = NULL;
        TD_CHECK(get_slot(r, s->trust, NULL, &anchor));
        cfg->trust_anchor = anchor->chain[0].data;
        cfg->trust_anchor_len = anchor->chain[0].len;
    }
    if (s->num_sigalgs) {
        cfg->sigalgs = s->sigalgs;
        cfg->num_sigalgs = s->num_sigalgs;
    }
    for (size_t k = 0; k < s->num_alpn; k++)
        env->alpn[i][k] = s->alpn[k];
    if (s->num_alpn) {
        cfg->alpn = env->alpn[i];
        cfg->num_alpn = s->num_alpn;
    }
    const char *cert = s->cert;
    if (cert == NULL && role == TD_ROLE_SERVER)
        cert = "p256";
    if (cert != NULL) {
        cert_slot *slot = NULL;
        TD_CHECK(get_cert(r, s, cert, role == TD_ROLE_CLIENT, &slot));
        env->ck[i] =
            (td_cert_key){.chain = slot->chain, .num_chain = slot->num_chain, .key = slot->key};
        if (role == TD_ROLE_SERVER && s->sni != NULL && strcmp(s->sni, "none") != 0)
            env->ck[i].sni = s->sni; /* served only for this server_name */
        cfg->certs = &env->ck[i];
        cfg->num_certs = 1;
    }
    if (role == TD_ROLE_CLIENT) {
        cfg->server_name = s->sni == NULL                ? "server.example"
                           : strcmp(s->sni, "none") == 0 ? NULL
                                                         : s->sni;
        if (s->num_shares) {
            cfg->share_groups = s->shares;
            cfg->num_share_groups = s->num_shares;
        }
        cfg->psk_ke = s->psk_ke;
        cfg->psk_ke_only = s->psk_ke_only;
        cfg->compat_mode = s->compat;
        cfg->offer_post_handshake_auth = s->post_handshake_auth != TD_CLIENT_AUTH_NONE;
        if (s->early_data) {
            for (size_t k = 0; k < s->early_data; k++)
                env->early[k] = (uint8_t)('a' + k % 26);
            cfg->early_data = env->early;
            cfg->early_data_len = s->early_data;
        }
        if (s->psk_id != NULL) {
            /* An external PSK, offered as our client's only PSK. */
            td_session *x = &env->session;
            memset(x, 0, sizeof(*x));
            x->external = true;
            x->suite = s->psk_suite;
            memcpy(x->psk, s->psk_key, s->psk_key_len);
            x->psk_len = s->psk_key_len;
            memcpy(x->ticket, s->psk_id, s->psk_id_len < TD_MAX_TICKET_LEN ? s->psk_id_len : 0);
            x->ticket_len = s->psk_id_len < TD_MAX_TICKET_LEN ? s->psk_id_len : 0;
            x->max_early_data = s->early_data ? 16384 : 0;
            cfg->resume = x;
        }
    } else {
        cfg->hrr = s->hrr;
        cfg->hrr_cookie = s->cookie;
        cfg->client_auth = s->client_auth;
        cfg->post_handshake_auth = s->post_handshake_auth;
        cfg->num_tickets = s->has_tickets ? s->tickets : 1;
        if (s->psk_id != NULL) {
            env->psk = (td_psk_entry){.identity = s->psk_id,
                                      .identity_len = s->psk_id_len,
                                      .psk = s->psk_key,
                                      .psk_len = s->psk_key_len,
                                      .suite = s->psk_suite,
                                      .max_early_data = s->early_data};
            cfg->psks = &env->psk;
            cfg->num_psks = 1;
        }
        if (s->early_data) {
            cfg->max_early_data = s->early_data;
            cfg->accept_early_data = true;
        }
    }
    return TD_OK;
}

/* Whether a rule of |c| (or its expectation) allows decode_error. */
static bool allows_decode(const td_scn_case *c)
{
    if (c->expect == TD_SCN_EXPECT_ALERT && (c->alerts & TD_AB(decode_error)))
        return true;
    for (size_t i = 0; i < c->num_rules; i++) {
        const td_rule_info *ri = td_rule_get(c->rules[i]);
        if (ri != NULL && (ri->alerts & TD_AB(decode_error)))
            return true;
    }
    return false;
}

/* Connection |n| of |c| is about to start: tell the tap, and let it see
 * our side's bytes and key log. */
static td_err tap_conn(const td_scn_runner *r, const td_scn_case *c, unsigned n, td_config *ours)
{
    const td_scn_tap *t = r->opts.tap;
    if (t == NULL)
        return TD_OK;
    ours->wire = t->wire;
    ours->wire_arg = t->arg;
    ours->keylog = t->keylog;
    ours->keylog_arg = t->arg;
    return t->begin != NULL ? t->begin(t->arg, c, n) : TD_OK;
}

/* Whether case |c| declares `premise recognises EXT`. */
static bool premise_recognises(const td_scn_case *c, uint16_t ext)
{
    for (size_t i = 0; i < c->num_premises; i++)
        if (c->premises[i].kind == TD_SCN_PREMISE_RECOGNISES && c->premises[i].ext == ext)
            return true;
    return false;
}

/* A client SUT whose ClientHello (seen) lacks an extension that a
 * `premise recognises EXT` of |c| names: that EXT in *absent. */
static bool unanswered_premise(const td_scn_case *c, const scn_seen *seen, uint16_t *absent)
{
    if (c->sut != TD_ROLE_CLIENT || !seen->ch)
        return false;
    for (size_t i = 0; i < c->num_premises; i++) {
        bool offered = false;
        for (size_t k = 0; k < seen->num_ch_exts; k++)
            offered |= seen->ch_exts[k] == c->premises[i].ext;
        if (c->premises[i].kind == TD_SCN_PREMISE_RECOGNISES && !offered) {
            *absent = c->premises[i].ext;
            return true;
        }
    }
    return false;
}

/* A valid body of each extension a probe can offer (RFC 8449 §4:
 * RecordSizeLimit 2^14+1; RFC 6066 §4: max_fragment_length 2^12 = 4). */
static const struct {
    uint16_t ext;
    uint8_t body[2];
    size_t len;
} probe_bodies[] = {
    {TD_EXT_RECORD_SIZE_LIMIT, {0x40, 0x01}, 2},
    {TD_EXT_MAX_FRAGMENT_LENGTH, {0x04, 0x00}, 1},
};

/* The baseline probe of |ext| against the SUT (a server): case |c|'s
 * configuration, a ClientHello that also offers |ext| with a valid body,
 * nothing else changed; cached in |r|. */
static int probe_ext(td_scn_runner *r, const td_scn_case *c, uint16_t ext)
{
    for (size_t i = 0; i < r->num_probes; i++)
        if (r->probes[i].ext == ext)
            return r->probes[i].state;
    size_t b = 0;
    while (b < sizeof(probe_bodies) / sizeof(probe_bodies[0]) && probe_bodies[b].ext != ext)
        b++;
    if (b == sizeof(probe_bodies) / sizeof(probe_bodies[0]) || r->num_probes == RUN_MAX_PROBES)
        return SCN_PROBE_NONE;
    uint8_t body[2];
    memcpy(body, probe_bodies[b].body, sizeof(body));
    td_scn_edit edit = {.kind = TD_SCN_EDIT_ADD, .line = c->line, .ext = ext, .bytes = body,
                        .len = probe_bodies[b].len};
    td_scn_step step = {.msg_type = TD_MSG_CLIENT_HELLO, .nth = 1, .line = c->line,
                        .edits = &edit, .num_edits = 1};
    td_scn_case p = {.name = (char *)"probe", .file = c->file, .line = c->line,
                     .sut = TD_ROLE_SERVER, .client = c->client, .server = c->server,
                     .steps = &step, .num_steps = 1, .expect = TD_SCN_EXPECT_HANDSHAKE,
                     .num_premises = 1};
    p.premises[0].kind = TD_SCN_PREMISE_RECOGNISES;
    p.premises[0].ext = ext;
    td_scn_result *pres = calloc(1, sizeof(*pres));
    int state = SCN_PROBE_NONE;
    r->probing = true;
    /* Whether it answered, not whether the rest went well (our side may not
     * take a record_size_limit its configuration did not offer). */
    if (pres != NULL && td_scn_run_case(r, &p, pres) == TD_OK)
        state = strstr(pres->premise, ": held") != NULL     ? SCN_PROBE_ANSWERS
                : strstr(pres->premise, ": failed") != NULL ? SCN_PROBE_SILENT
                                                             : SCN_PROBE_NONE;
    r->probing = false;
    free(pres);
    r->probes[r->num_probes].ext = ext;
    r->probes[r->num_probes++].state = state;
    return state;
}

/* Test-only (TD_SITE_SWITCH builds, tools/mutate_sites.py --grades):
 * TD_PLANT_GRADE=FROM:TO gives grade TO wherever the runner decided FROM, a
 * mutant of the verdict logic the tests must notice. Never in other builds. */
static td_scn_verdict planted_grade(td_scn_verdict v)
{
#ifdef TD_SITE_SWITCH
    const char *spec = getenv("TD_PLANT_GRADE");
    const char *colon = spec != NULL ? strchr(spec, ':') : NULL;
    const char *from = td_scn_verdict_name(v);
    if (colon == NULL || strlen(from) != (size_t)(colon - spec) ||
        memcmp(from, spec, (size_t)(colon - spec)) != 0)
        return v;
    for (int to = TD_SCN_PASS; to <= TD_SCN_ERROR; to++)
        if (strcmp(td_scn_verdict_name((td_scn_verdict)to), colon + 1) == 0)
            return (td_scn_verdict)to;
#endif
    return v;
}

td_err td_scn_run_case(td_scn_runner *r, const td_scn_case *c, td_scn_result *res)
{
    memset(res, 0, sizeof(*res));
    scn_say(res->level, sizeof(res->level), "-");
    if (r->opts.peer == NULL)
        return TD_ERR_ARG;
    case_env *env = calloc(1, sizeof(*env));
    if (env == NULL)
        return TD_ERR_NOMEM;
    int n = snprintf((char *)env->seed, sizeof(env->seed), "tlsdrill-scn/%llu/%s",
                     (unsigned long long)r->opts.seed, c->name);
    size_t seed_len = n < 0 ? 0 : (size_t)n < sizeof(env->seed) ? (size_t)n : sizeof(env->seed) - 1;
    td_role ours = c->sut == TD_ROLE_SERVER ? TD_ROLE_CLIENT : TD_ROLE_SERVER;
    int oi = ours == TD_ROLE_CLIENT ? 0 : 1;
    td_scn_outcome *o = calloc(1, sizeof(*o));
    td_err err = o ? TD_OK : TD_ERR_NOMEM;
    if (err == TD_OK)
        err = side_config(r, &c->client, TD_ROLE_CLIENT, env, seed_len);
    if (err == TD_OK)
        err = side_config(r, &c->server, TD_ROLE_SERVER, env, seed_len);
    if (err != TD_OK) {
        res->verdict = TD_SCN_ERROR;
        scn_say(res->reason, sizeof(res->reason),
                "cannot set up the case: %s (certificates under %s?)", td_err_name(err),
                r->opts.cert_dir);
        goto out;
    }
    err = tap_conn(r, c, 0, &env->cfg[oi]);
    if (err != TD_OK) {
        res->verdict = TD_SCN_ERROR;
        scn_say(res->reason, sizeof(res->reason), "capture: %s", td_err_name(err));
        err = TD_OK;
        goto out;
    }
    if (c->resume) {
        /* Prerequisite: a clean full handshake that leaves the client a ticket. */
        err = r->opts.peer->run(r->opts.peer->arg, &env->cfg[oi], &env->cfg[1 - oi],
                                r->opts.max_rounds, NULL, NULL, o);
        if (o->unreachable)
            goto unreachable;
        if (err == TD_ERR_UNSUPPORTED)
            goto unsupported;
        if (err == TD_OK && !o->has_session && c->sut == TD_ROLE_CLIENT && o->sut_hello_seen &&
            o->sut_psk_modes == 0) {
            res->verdict = TD_SCN_ERROR;
            scn_say(res->reason, sizeof(res->reason),
                "resume ticket: the SUT's ClientHello offered no psk_key_exchange_modes, so our "
                "server sent no ticket (RFC 8446 4.2.9); the case's premise does not hold");
            goto out;
        }
        if (err != TD_OK || !o->has_session) {
            res->verdict = TD_SCN_ERROR;
            scn_say(res->reason, sizeof(res->reason),
                    "resume ticket: the first handshake left no ticket (%s, %s)",
                    err != TD_OK ? td_err_name(err) : "ok", o->ours.diag.text);
            err = TD_OK;
            goto out;
        }
        env->session = o->session;
        env->cfg[0].resume = &env->session;
        /* A second connection: its own DRBG stream, a later clock. */
        env->cfg[0].stream = env->cfg[1].stream = "resumed";
        env->cfg[0].clock_start_ms = env->cfg[1].clock_start_ms = 1000;
        if ((err = tap_conn(r, c, 1, &env->cfg[oi])) != TD_OK) {
            res->verdict = TD_SCN_ERROR;
            scn_say(res->reason, sizeof(res->reason), "capture: %s", td_err_name(err));
            err = TD_OK;
            goto out;
        }
    }
    env->hooks.c = c;
    env->hooks.check_edits = r->opts.check_edits;
    env->hooks.seen.our_hrr_group = -1; /* no HRR of ours yet (scn_seen_our_record) */
    env->cfg[1 - oi].plant_wrong_alert = r->opts.plant_wrong_alert;
    env->cfg[1 - oi].plant_rule = r->opts.plant_rule;
    env->cfg[1 - oi].plant_skip = r->opts.plant_skip;
    if (r->opts.plant_hrr && c->sut == TD_ROLE_SERVER)
        env->cfg[1].hrr = TD_HRR_ALWAYS;
    if (r->opts.plant_drop_ext != 0 || r->opts.plant_skip_msg != 0) {
        env->sut_plant.ext = r->opts.plant_drop_ext;
        env->sut_plant.skip_msg = r->opts.plant_skip_msg;
        env->cfg[1 - oi].msg_hook = sut_plant_hook;
        env->cfg[1 - oi].msg_hook_arg = &env->sut_plant;
    }
    /* `premise recognises record_size_limit` with the engine as client SUT:
     * the engine implements RFC 8449 only when configured to offer it, so it
     * is configured so, and the case tests its check of the value instead of
     * finding the premise false (any other SUT is taken as it is). */
    if (c->sut == TD_ROLE_CLIENT && strcmp(r->opts.peer->name, "engine") == 0 &&
        premise_recognises(c, TD_EXT_RECORD_SIZE_LIMIT))
        env->cfg[1 - oi].record_size_limit = (uint16_t)(TD_REC_MAX_PLAINTEXT + 1); /* RFC 8449 §4 */
    env->cfg[oi].bugs = c->bugs;
    env->cfg[oi].msg_hook = msg_hook;
    env->cfg[oi].msg_hook_arg = &env->hooks;
    env->cfg[oi].record_hook = record_hook;
    env->cfg[oi].record_hook_arg = &env->hooks;
    env->cfg[oi].log_messages = c->expect == TD_SCN_EXPECT_MESSAGE || c->num_premises > 0;
    err = r->opts.peer->run(r->opts.peer->arg, &env->cfg[oi], &env->cfg[1 - oi], r->opts.max_rounds,
                            has_post(c) ? post_handshake : NULL, (void *)c, o);
    if (o->unreachable) {
    unreachable:
        /* Nothing answers at all: no case can run, the caller stops. */
        res->verdict = TD_SCN_ERROR;
        scn_say(res->reason, sizeof(res->reason), "%s", o->note);
        err = TD_ERR_IO;
        goto out;
    }
    if (err == TD_ERR_UNSUPPORTED) {
    unsupported:
        /* The peer cannot be configured for this case: no verdict on it. */
        res->verdict = TD_SCN_UNSUPPORTED;
        scn_say(res->expected, sizeof(res->expected), "%s", td_scn_expect_name(c->expect));
        scn_say(res->actual, sizeof(res->actual), "unsupported");
        scn_say(res->reason, sizeof(res->reason), "peer %s: %s", r->opts.peer->name,
                o->note[0] ? o->note : "unsupported");
        err = TD_OK;
        goto out;
    }
    if (err != TD_OK) {
        res->verdict = TD_SCN_ERROR;
        scn_say(res->reason, sizeof(res->reason), "peer %s failed: %s%s%s", r->opts.peer->name,
                td_err_name(err), o->note[0] ? ": " : "", o->note);
        err = TD_OK;
        goto out;
    }
    memcpy(res->digest, o->digest, sizeof(res->digest));
    uint16_t absent = 0;
    if (env->hooks.error[0] != '\0' && unanswered_premise(c, &env->hooks.seen, &absent)) {
        /* The edit changes our answer to an extension the case's premise
         * says the SUT offers; it did not, so there is none to change. */
        res->verdict = TD_SCN_NA;
        scn_say(res->actual, sizeof(res->actual), "-");
        scn_say(res->premise, sizeof(res->premise), "recognises %s: failed",
                td_ext_type_name(absent));
        scn_say(res->reason, sizeof(res->reason),
                "premise: the SUT's ClientHello does not offer %s (not implemented, or not in "
                "this configuration), so our answer has none for the edit to change (%s)",
                td_ext_type_name(absent), env->hooks.error);
        goto out;
    }
    if (env->hooks.error[0] != '\0') {
        res->verdict = TD_SCN_ERROR;
        scn_say(res->actual, sizeof(res->actual), "-");
        scn_say(res->reason, sizeof(res->reason), "%s", env->hooks.error);
        goto out;
    }
    /* A server SUT that refused before it answered: `premise recognises`
     * from its baseline probe (not from this run, which cannot tell). */
    for (size_t i = 0; i < c->num_premises && c->sut == TD_ROLE_SERVER && !r->probing &&
                       !env->hooks.seen.resp;
         i++)
        if (c->premises[i].kind == TD_SCN_PREMISE_RECOGNISES) {
            size_t probes_before = r->num_probes;
            env->hooks.seen.probe_ext = c->premises[i].ext;
            env->hooks.seen.probe_state = probe_ext(r, c, c->premises[i].ext);
            res->probed = r->num_probes != probes_before;
            break;
        }
    scn_judge(c, o, &env->hooks.seen, res);
    /* A step whose message our side never sent tested nothing: whatever the
     * outcome, the case did not do what it says. */
    for (size_t i = 0;
         i < c->num_steps && i < sizeof(env->hooks.applied) / sizeof(env->hooks.applied[0]); i++)
        if (!env->hooks.applied[i]) {
            char was[sizeof(res->reason)];
            memcpy(was, res->reason, sizeof(was));
            if (res->sut_broke[0] != '\0') {
                /* ... unless the SUT broke a MUST before it (our abort proves it:
                 * judge.c sender_must): that holds whatever the step was for. */
                scn_say(res->reason, sizeof(res->reason), "before %s %u could be sent: %s",
                        scn_msg_name(c->steps[i].msg_type, c->steps[i].hrr), c->steps[i].nth, was);
                break;
            }
            res->verdict = TD_SCN_ERROR;
            if (c->steps[i].msg_type == TD_MSG_NEW_SESSION_TICKET && c->sut == TD_ROLE_CLIENT &&
                o->sut_hello_seen && o->sut_psk_modes == 0) {
                /* The premise, not our side, failed: say which. */
                scn_say(res->reason, sizeof(res->reason),
                    "%s:%d: the SUT's ClientHello offered no psk_key_exchange_modes, so our "
                    "server sent no NewSessionTicket (RFC 8446 4.2.9: the client could not use "
                    "it); the step's premise does not hold for this SUT",
                    c->file, c->steps[i].line);
                break;
            }
            scn_say(res->reason, sizeof(res->reason),
                    "%s:%d: our side never sent %s %u, the step did not apply%s%s", c->file,
                    c->steps[i].line, scn_msg_name(c->steps[i].msg_type, c->steps[i].hrr),
                    c->steps[i].nth, was[0] ? "; " : "", was);
            break;
        }
    /* --check-edits: an edit that makes our message malformed tests a decode
     * rule (RFC 8446 §6: decode_error); any other case must send a message
     * that parses, or it tests the parser instead of its rule. */
    if (res->verdict != TD_SCN_ERROR && env->hooks.malformed[0] != '\0' && !allows_decode(c)) {
        res->verdict = TD_SCN_ERROR;
        scn_say(res->reason, sizeof(res->reason), "%s, but no rule of the case allows decode_error",
                env->hooks.malformed);
    }
    /* Record edits (or binder XORs) whose record never went out did not apply either. */
    const td_scn_step *left = env->hooks.rec_step ? env->hooks.rec_step : env->hooks.xor_step;
    if (res->verdict != TD_SCN_ERROR && left != NULL) {
        res->verdict = TD_SCN_ERROR;
        scn_say(
            res->reason, sizeof(res->reason),
            "%s:%d: the record carrying our %s %u never went out, its record edits did not apply",
            c->file, left->line, scn_msg_name(left->msg_type, left->hrr), left->nth);
    }
out:
    res->verdict = planted_grade(res->verdict);
    if (o != NULL) {
        memcpy(res->peer_log, o->peer_log, sizeof(res->peer_log));
        res->sut_keylog = o->sut_keylog;
        snprintf(res->observed, sizeof(res->observed), "%s%send=%s%s%s%s",
                 o->completed ? "completed " : "", o->sut_confirmed ? "confirmed " : "",
                 td_scn_end_name(o->end), o->end_after_completed ? " after" : "",
                 o->we_closed ? " we-closed" : "", o->alert_from_sut_keylog ? " sut-keylog-alert" : "");
    }
    free(o);
    free(env);
    return err;
}

td_err td_scn_runner_side_config(td_scn_runner *r, const td_scn_case *c, td_role role,
                                 td_config **out, void **out_owner)
{
    *out = NULL;
    *out_owner = NULL;
    case_env *env = calloc(1, sizeof(*env));
    if (env == NULL)
        return TD_ERR_NOMEM;
    int n = snprintf((char *)env->seed, sizeof(env->seed), "tlsdrill-scn/%llu/%s",
                     (unsigned long long)r->opts.seed, c->name);
    size_t seed_len = n < 0 ? 0 : (size_t)n < sizeof(env->seed) ? (size_t)n : sizeof(env->seed) - 1;
    td_err err =
        side_config(r, role == TD_ROLE_CLIENT ? &c->client : &c->server, role, env, seed_len);
    if (err != TD_OK) {
        free(env);
        return err;
    }
    *out = &env->cfg[role == TD_ROLE_CLIENT ? 0 : 1];
    *out_owner = env;
    return TD_OK;
}

const char *td_scn_verdict_name(td_scn_verdict v)
{
    switch (v) {
    case TD_SCN_PASS: return "pass";
    case TD_SCN_ALERT_DIFFERS: return "alert-differs";
    case TD_SCN_FAIL: return "fail";
    case TD_SCN_ADVISORY: return "advisory";
    case TD_SCN_NA: return "n/a";
    case TD_SCN_UNSUPPORTED: return "unsupported";
    case TD_SCN_ERROR: return "error";
    }
    return "?";
}

bool td_scn_verdict_fails(td_scn_verdict v, bool lenient)
{
    switch (v) {
    case TD_SCN_FAIL:
    case TD_SCN_ERROR: return true;
    case TD_SCN_ALERT_DIFFERS: return !lenient;
    case TD_SCN_PASS:
    case TD_SCN_ADVISORY:
    case TD_SCN_NA:
    case TD_SCN_UNSUPPORTED: return false;
    }
    return true;
}

const char *td_scn_expect_name(td_scn_expect_kind k)
{
    switch (k) {
    case TD_SCN_EXPECT_RULE: return "rule";
    case TD_SCN_EXPECT_ALERT: return "alert";
    case TD_SCN_EXPECT_HANDSHAKE: return "handshake";
    case TD_SCN_EXPECT_RESUMED: return "resumed";
    case TD_SCN_EXPECT_NO_ALERT: return "no-alert";
    case TD_SCN_EXPECT_CLOSED: return "closed";
    case TD_SCN_EXPECT_MESSAGE: return "message";
    case TD_SCN_EXPECT_EARLY_DATA: return "early-data";
    case TD_SCN_EXPECT_EARLY_DATA_REJECTED: return "early-data-rejected";
    }
    return "?";
}
