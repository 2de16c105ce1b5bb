/* fuzz/harness.c -- the fuzz harness core (fuzz.h): the process context,
 * the target registry and one run function per kind of target. */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_certs.h"
#include "oracle.h"
#include "program.h"
#include "sut_target.h"
#include "tlsdrill/record.h"
#include "tlsdrill/scenario.h"

struct td_fz_ctx {
    td_crypto *crypto;
    td_der *chain, *anchor, *cchain;
    size_t num_chain, num_anchor, num_cchain;
    td_pkey *key, *ckey;
    td_cert_key ck, cck;
    td_config ccfg, scfg;
    td_session session;    /* a ticket the server issued, built once */
    td_session session_fm; /* the same in fuzzer mode (its tickets are not encrypted) */
    td_rule plant_rule; /* test-only: see td_fz_ctx_plant_wrong_alert; NONE = off */
    td_rule plant_skip; /* test-only: see td_fz_ctx_plant_skip; NONE = off */
    td_fz_sut *sut;     /* sut_* targets: the library's state (fuzz/sut.c), made on first use */
    const td_fz_target *sut_target;
    td_fz_scratch scratch; /* the round-trip oracle's, kept between inputs */
    /* run_program's log of the wire (its array), kept between inputs. */
    td_fz_wire *wire;
    size_t cap_wire;
    /* The record target's fixed prefixes, built on first use: [fuzzer
     * mode][mode][with a key log] (run_record). */
    struct rec_prefix *rec[2][6][2];
};

static const uint8_t k_seed[] = "tlsdrill-fuzz";
static const uint8_t k_ticket_key[32] = "tlsdrill fuzz ticket key (fixed)";

/* ---- registry ---- */

/* One row per target of fuzz/targets.txt (not own-main ones), generated
 * by fuzz/targets.cmake: {name, kind, fuzzer_mode}. */
static const td_fz_target k_targets[] = {
#include "fuzz_targets.inc"
};

const td_fz_target *td_fz_targets(size_t *out_num)
{
    *out_num = sizeof(k_targets) / sizeof(k_targets[0]);
    return k_targets;
}

const td_fz_target *td_fz_target_find(const char *name)
{
    for (size_t i = 0; i < sizeof(k_targets) / sizeof(k_targets[0]); i++)
        if (strcmp(k_targets[i].name, name) == 0)
            return &k_targets[i];
    return NULL;
}

/* ---- context ---- */

void td_fz_ctx_plant_wrong_alert(td_fz_ctx *ctx, td_rule rule)
{
    ctx->plant_rule = rule;
}

void td_fz_ctx_plant_skip(td_fz_ctx *ctx, td_rule rule)
{
    ctx->plant_skip = rule;
}

/* The side under test gets the planted bug, when there is one. */
void td_fz_ctx_plant(const td_fz_ctx *ctx, td_config *fz)
{
    fz->plant_wrong_alert = ctx->plant_rule != TD_RULE_NONE;
    fz->plant_rule = ctx->plant_rule;
    fz->plant_skip = ctx->plant_skip;
}

td_err td_fz_ctx_set_memo(td_fz_ctx *ctx, bool on)
{
    return td_crypto_set_memo(ctx->crypto, on);
}

td_crypto *td_fz_ctx_crypto(td_fz_ctx *ctx)
{
    return ctx->crypto;
}
const td_config *td_fz_ctx_client(td_fz_ctx *ctx)
{
    return &ctx->ccfg;
}
const td_config *td_fz_ctx_server(td_fz_ctx *ctx)
{
    return &ctx->scfg;
}
const td_session *td_fz_ctx_session(td_fz_ctx *ctx, bool fuzzer_mode)
{
    return fuzzer_mode ? &ctx->session_fm : &ctx->session;
}

static void rec_prefix_free(struct rec_prefix *p);

void td_fz_ctx_free(td_fz_ctx *ctx)
{
    if (ctx == NULL)
        return;
    for (size_t i = 0; i < 2 * 6 * 2; i++)
        rec_prefix_free((&ctx->rec[0][0][0])[i]);
    td_der_list_free(ctx->chain, ctx->num_chain);
    td_der_list_free(ctx->anchor, ctx->num_anchor);
    td_der_list_free(ctx->cchain, ctx->num_cchain);
    td_pkey_free(ctx->key);
    td_pkey_free(ctx->ckey);
    td_fz_sut_free(ctx->sut);
    td_fz_scratch_cleanup(&ctx->scratch);
    free(ctx->wire);
    td_crypto_free(ctx->crypto);
    free(ctx);
}

td_err td_fz_ctx_new(td_fz_ctx **out)
{
    td_err ret = TD_OK;
    td_pair *pair = NULL;
    td_fz_ctx *ctx = calloc(1, sizeof(*ctx));
    *out = NULL;
    if (ctx == NULL)
        return TD_ERR_NOMEM;
    TD_GUARD(td_crypto_new(&ctx->crypto));
    /* The crypto memo (crypto.h): the counterpart's and the fuzzed side's
     * key pairs come from fixed DRBG seeds, so they repeat on every input;
     * shared secrets and chain checks repeat with the inputs' shares and
     * certificates. Transparent: the same bytes either way. */
    TD_GUARD(td_crypto_set_memo(ctx->crypto, true));
    TD_GUARD(td_certs_from_pem((const char *)td_fz_pem_server_chain, td_fz_pem_server_chain_len,
                               &ctx->chain, &ctx->num_chain));
    TD_GUARD(td_certs_from_pem((const char *)td_fz_pem_ca, td_fz_pem_ca_len, &ctx->anchor,
                               &ctx->num_anchor));
    TD_GUARD(td_certs_from_pem((const char *)td_fz_pem_client_chain, td_fz_pem_client_chain_len,
                               &ctx->cchain, &ctx->num_cchain));
    TD_GUARD(td_pkey_from_pem(ctx->crypto, (const char *)td_fz_pem_server_key,
                              td_fz_pem_server_key_len, &ctx->key));
    TD_GUARD(td_pkey_from_pem(ctx->crypto, (const char *)td_fz_pem_client_key,
                              td_fz_pem_client_key_len, &ctx->ckey));
    ctx->ck = (td_cert_key){.chain = ctx->chain, .num_chain = ctx->num_chain, .key = ctx->key};
    ctx->cck = (td_cert_key){.chain = ctx->cchain, .num_chain = ctx->num_cchain, .key = ctx->ckey};
    ctx->ccfg = (td_config){.role = TD_ROLE_CLIENT,
                            .crypto = ctx->crypto,
                            .seed = k_seed,
                            .seed_len = sizeof(k_seed) - 1,
                            .trust_anchor = ctx->anchor[0].data,
                            .trust_anchor_len = ctx->anchor[0].len,
                            .certs = &ctx->cck,
                            .num_certs = 1,
                            .server_name = "server.example"};
    ctx->scfg = (td_config){.role = TD_ROLE_SERVER,
                            .crypto = ctx->crypto,
                            .seed = k_seed,
                            .seed_len = sizeof(k_seed) - 1,
                            .certs = &ctx->ck,
                            .num_certs = 1,
                            .num_tickets = 1,
                            .max_early_data = 1024,
                            .accept_early_data = true,
                            .ticket_key = k_ticket_key,
                            .trust_anchor = ctx->anchor[0].data,
                            .trust_anchor_len = ctx->anchor[0].len};
    /* The ticket of a full handshake: psk_binders and resumption programs
     * offer it to a server with the same ticket key. */
    TD_GUARD(td_pair_new(&ctx->ccfg, &ctx->scfg, &pair));
    TD_GUARD(td_pair_run(pair, 0));
    if (!td_conn_session(td_pair_client(pair), &ctx->session))
        TD_GUARD(TD_ERR_ARG);
    /* The _fm twins' server reads fuzzer mode's tickets (conn.h). */
    td_pair_free(pair);
    pair = NULL;
    td_config fcc = ctx->ccfg, fsc = ctx->scfg;
    fcc.fuzzer_mode = fsc.fuzzer_mode = true;
    fcc.dummy_signatures = fsc.dummy_signatures = true;
    TD_GUARD(td_pair_new(&fcc, &fsc, &pair));
    TD_GUARD(td_pair_run(pair, 0));
    if (!td_conn_session(td_pair_client(pair), &ctx->session_fm))
        TD_GUARD(TD_ERR_ARG);
out:
    td_pair_free(pair);
    if (ret != TD_OK)
        td_fz_ctx_free(ctx);
    else
        *out = ctx;
    return ret;
}

/* ---- one run ---- */

/* What the side under test (|fz|) does not need from its counterpart (|cp|,
 * our own engine too): the counterpart does not check again the chain and
 * CertificateVerify signature that our engine built (the fuzzed side keeps
 * every check); in fuzzer mode, where the fuzzed side does not verify
 * signatures and the counterpart does not either, both sign with a fixed
 * dummy signature of the right shape (BoringSSL's fuzzer mode). */
static void speed_up(td_config *fz, td_config *cp)
{
    cp->peer_is_self = true;
    if (fz->fuzzer_mode) {
        /* Both ends of a fuzzer-mode connection are in it (conn.h):
         * plaintext records, Finished and binders not computed. */
        cp->fuzzer_mode = true;
        fz->dummy_signatures = cp->dummy_signatures = true;
    }
}

typedef struct run {
    td_fz_wire *wire;
    size_t num_wire, cap_wire;
    uint8_t **owned; /* copies of drained bytes */
    size_t num_owned, cap_owned;
    bool oom;
} run;

static void wire_add(run *rn, td_dir dir, const uint8_t *bytes, size_t len, bool copy)
{
    if (len == 0 || rn->oom)
        return;
    if (rn->num_wire == rn->cap_wire) {
        size_t cap = rn->cap_wire ? rn->cap_wire * 2 : 16;
        td_fz_wire *w = realloc(rn->wire, cap * sizeof(*w));
        if (w == NULL) {
            rn->oom = true;
            return;
        }
        rn->wire = w;
        rn->cap_wire = cap;
    }
    if (copy) {
        if (rn->num_owned == rn->cap_owned) {
            size_t cap = rn->cap_owned ? rn->cap_owned * 2 : 8;
            uint8_t **o = realloc(rn->owned, cap * sizeof(*o));
            if (o == NULL) {
                rn->oom = true;
                return;
            }
            rn->owned = o;
            rn->cap_owned = cap;
        }
        uint8_t *c = malloc(len);
        if (c == NULL) {
            rn->oom = true;
            return;
        }
        memcpy(c, bytes, len);
        rn->owned[rn->num_owned++] = c;
        bytes = c;
    }
    rn->wire[rn->num_wire++] = (td_fz_wire){dir, bytes, len};
}

static void run_cleanup(run *rn)
{
    for (size_t i = 0; i < rn->num_owned; i++)
        free(rn->owned[i]);
    free(rn->owned);
    free(rn->wire);
    memset(rn, 0, sizeof(*rn));
}

/* Never inlined: fuzz/coverage_ignore.txt names fnv and digest, and an
 * ignorelist entry only covers a function's own body, not copies of it
 * inlined into finish() or td_fz_run(). */
__attribute__((noinline)) static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

__attribute__((noinline)) static uint64_t digest(const run *rn, const td_status *st)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < rn->num_wire; i++) {
        uint8_t d = (uint8_t)rn->wire[i].dir;
        h = fnv(h, &d, 1);
        h = fnv(h, &rn->wire[i].len, sizeof(rn->wire[i].len));
        h = fnv(h, rn->wire[i].bytes, rn->wire[i].len);
    }
    uint32_t end[4] = {st->phase, st->diag.rule, st->alert_sent ? st->alert_sent_desc : 256u,
                       (uint32_t)st->diag.offset};
    return fnv(h, end, sizeof(end));
}

static void finish(run *rn, td_conn *fuzzed, td_conn *cp, const td_fz_opts *o, td_fz_result *r)
{
    r->status = *td_conn_status(fuzzed);
    r->digest = digest(rn, &r->status);
    if (o->observe != NULL) {
        td_fz_view v = {rn->wire, rn->num_wire, fuzzed, cp};
        o->observe(o->observe_arg, &v);
    }
}

/* Drains |c| into the wire log. */
static void drain(run *rn, td_conn *c, td_dir dir, const uint8_t **out, size_t *out_len)
{
    td_conn_drain(c, out, out_len);
    wire_add(rn, dir, *out, *out_len, true);
}

/* client_hello, raw: the bytes are what a client sends the engine server. */
static td_err run_raw_server(td_fz_ctx *ctx, const td_fz_target *t, const uint8_t *data,
                             size_t size, const td_fz_opts *o, td_fz_result *r)
{
    td_config sc = ctx->scfg;
    sc.fuzzer_mode = t->fuzzer_mode;
    /* Raw bytes: no peer checks the server's signature; in fuzzer mode it
     * is the dummy one (speed_up), otherwise real. */
    sc.dummy_signatures = t->fuzzer_mode;
    td_fz_ctx_plant(ctx, &sc);
    sc.log_messages = true;
    sc.keylog = o->keylog, sc.keylog_arg = o->keylog_arg;
    td_conn *s = NULL;
    run rn = {0};
    td_err ret = TD_OK;
    const uint8_t *out;
    size_t out_len;
    TD_GUARD(td_conn_new(&sc, &s));
    TD_GUARD(td_conn_feed(s, data, size));
    wire_add(&rn, TD_DIR_C2S, data, size, false);
    drain(&rn, s, TD_DIR_S2C, &out, &out_len);
    if (rn.oom)
        TD_GUARD(TD_ERR_NOMEM);
    r->fuzzed_role = TD_ROLE_SERVER;
    finish(&rn, s, NULL, o, r);
    td_fz_oracle_roundtrip(t, s, &ctx->scratch, r);
out:
    td_conn_free(s);
    run_cleanup(&rn);
    return ret;
}

/* The program targets: a real engine counterpart, edited by the program. */
static td_err run_program(td_fz_ctx *ctx, const td_fz_target *t, const uint8_t *data, size_t size,
                          const td_fz_opts *o, td_fz_result *r)
{
    /* A block the td_crypto kept (td_fz_prog_decode fills it), or a new one. */
    td_fz_prog *prog = td_crypto_block_take(ctx->crypto, sizeof(*prog));
    td_pair *pair = NULL;
    run rn = {0};
    td_err ret = TD_OK;
    if (prog == NULL && (prog = malloc(sizeof(*prog))) == NULL)
        return TD_ERR_NOMEM;
    td_fz_prog_decode(prog, t->kind, t->fuzzer_mode, data, size);
    rn.wire = ctx->wire, rn.cap_wire = ctx->cap_wire;
    ctx->wire = NULL, ctx->cap_wire = 0;
    td_config cc = ctx->ccfg, sc = ctx->scfg;
    if (t->kind == TD_FZ_SECOND_CLIENT_HELLO)
        sc.hrr = TD_HRR_ALWAYS;
    td_fz_prog_configure(prog, &cc, &sc, td_fz_ctx_session(ctx, t->fuzzer_mode));
    cc.keylog = sc.keylog = o->keylog;
    cc.keylog_arg = sc.keylog_arg = o->keylog_arg;
    bool server_fuzzed = t->kind != TD_FZ_SERVER_HELLO;
    td_config *fz = server_fuzzed ? &sc : &cc, *cp = server_fuzzed ? &cc : &sc;
    fz->fuzzer_mode = t->fuzzer_mode;
    speed_up(fz, cp);
    td_fz_ctx_plant(ctx, fz);
    fz->log_messages = true;
    cp->log_messages = o->log_messages;
    cp->msg_hook = td_fz_prog_msg_hook;
    cp->msg_hook_arg = prog;
    td_fz_icpt icpt = {prog, server_fuzzed ? TD_DIR_C2S : TD_DIR_S2C};
    TD_GUARD(td_pair_new(&cc, &sc, &pair));
    td_pair_set_intercept(pair, td_fz_prog_intercept, &icpt);
    TD_GUARD(td_pair_run(pair, 0));
    size_t n;
    const td_pair_record *recs = td_pair_records(pair, &n);
    for (size_t i = 0; i < n; i++)
        wire_add(&rn, recs[i].dir, recs[i].bytes, recs[i].len, false);
    if (rn.oom)
        TD_GUARD(TD_ERR_NOMEM);
    td_conn *fuzzed = server_fuzzed ? td_pair_server(pair) : td_pair_client(pair);
    td_conn *other = server_fuzzed ? td_pair_client(pair) : td_pair_server(pair);
    r->program = true;
    r->pure = prog->pure;
    r->num_ops = prog->num_ops;
    r->num_applied = prog->num_applied;
    r->num_broken = prog->num_broken;
    memcpy(r->broken, prog->broken, sizeof(r->broken));
    /* The counterpart ended the run itself (it failed without being sent an
     * alert, e.g. its own knob made it abort before the broken message went
     * out): the fuzzed side never judged what the program broke, so only the
     * plain alert check applies. */
    const td_status *ost = td_conn_status(other);
    if (ost->phase == TD_PHASE_FAILED && !ost->alert_received)
        r->num_broken = 0;
    r->fuzzed_role = server_fuzzed ? TD_ROLE_SERVER : TD_ROLE_CLIENT;
    finish(&rn, fuzzed, other, o, r);
    td_fz_oracle_roundtrip(t, fuzzed, &ctx->scratch, r);
out:
    td_pair_free(pair);
    td_fz_prog_cleanup(prog);
    if (!td_crypto_block_keep(ctx->crypto, prog, sizeof(*prog)))
        free(prog);
    ctx->wire = rn.wire, ctx->cap_wire = rn.cap_wire;
    rn.wire = NULL, rn.cap_wire = 0;
    run_cleanup(&rn);
    return ret;
}

/* ---- record ---- */

/* Turns |data| into records protected with |secret| (a fresh cipher, at
 * sequence number 0): each 5-byte header's type is the inner content type
 * and its length (clamped to what is left) the content's; CCS records and
 * types with the top bit set go out as plaintext (type & 0x7f); bytes that
 * do not make a header are appended raw. In fuzzer mode the protection is
 * fuzzer mode's (td_rec_cipher_init_null), as the fuzzed side expects. */
static td_err seal_stream(td_crypto *crypto, const td_suite *suite, const uint8_t *secret,
                          bool fuzzer_mode, const uint8_t *data, size_t size, td_cbb *out)
{
    td_rec_cipher ciph;
    td_diag d;
    memset(&ciph, 0, sizeof(ciph));
    TD_CHECK(fuzzer_mode ? td_rec_cipher_init_null(&ciph, suite, false)
                         : td_rec_cipher_init(&ciph, crypto, suite, secret));
    td_err ret = TD_OK;
    size_t at = 0;
    td_rec_frame rec;
    while (td_rec_frame_read(data + at, size - at, &rec)) {
        uint8_t type = rec.type;
        size_t len = rec.avail_len;
        const uint8_t *body = rec.body;
        if (type == TD_CT_CHANGE_CIPHER_SPEC || (type & 0x80)) {
            TD_GUARD(td_rec_write_raw(out, type & 0x7f, 0x0303, body, len));
        } else if (td_rec_seal(&ciph, out, type, body, len, 0, TD_REC_SEAL_NO_LIMITS, &d) !=
                   TD_OK) {
            TD_GUARD(td_rec_write_raw(out, TD_CT_APPLICATION_DATA, 0x0303, body, len));
        }
        at += TD_REC_HEADER_LEN + len;
    }
    if (at < size && !td_cbb_add_bytes(out, data + at, size - at))
        ret = TD_ERR_NOMEM;
out:
    td_rec_cipher_cleanup(&ciph);
    return ret;
}

/* The state every input of one record mode starts from: the same
 * configuration and seed make the same handshake prefix, so it is built
 * once per context and each input goes on from a copy of it
 * (td_conn_clone). The counterpart is never fed after the prefix: the
 * stored one serves every input as it is. */
typedef struct rec_prefix {
    td_rule plant_rule, plant_skip; /* the context's plants it was built with */
    td_config cc, sc;               /* borrowed by the connections below */
    td_conn *fuzzed, *other;
    td_conn *spare;   /* the last input's copy: the next restores into it (td_conn_restore) */
    td_fz_wire *wire; /* the prefix's wire log, bytes in |wire_bytes| */
    size_t num_wire;
    uint8_t *wire_bytes;
    /* With a key log: the lines of the prefix (said again for every input),
     * and where the fuzzed side's later lines go (this input's key log). */
    char **keylines;
    size_t num_keylines;
    bool recording;
    td_keylog_fn fwd;
    void *fwd_arg;
    bool oom;
} rec_prefix;

static void rec_prefix_free(rec_prefix *p)
{
    if (p == NULL)
        return;
    td_conn_free(p->fuzzed);
    td_conn_free(p->other);
    td_conn_free(p->spare);
    free(p->wire);
    free(p->wire_bytes);
    for (size_t i = 0; i < p->num_keylines; i++)
        free(p->keylines[i]);
    free(p->keylines);
    free(p);
}

static void rec_prefix_keylog(void *arg, const char *line)
{
    rec_prefix *p = arg;
    if (p->recording) {
        char **k = realloc(p->keylines, (p->num_keylines + 1) * sizeof(*k));
        char *copy = malloc(strlen(line) + 1);
        if (k == NULL || copy == NULL) {
            free(copy);
            if (k != NULL)
                p->keylines = k;
            p->oom = true;
            return;
        }
        strcpy(copy, line);
        p->keylines = k;
        p->keylines[p->num_keylines++] = copy;
    }
    if (p->fwd != NULL)
        p->fwd(p->fwd_arg, line);
}

/* Feeds the leading plaintext records of |bytes| (ServerHello, CCS) to |c|. */
static td_err feed_plain_prefix(run *rn, td_conn *c, const uint8_t *bytes, size_t len)
{
    size_t at = 0;
    td_rec_frame rec;
    while (td_rec_frame_read(bytes + at, len - at, &rec) && rec.type != TD_CT_APPLICATION_DATA &&
           rec.avail_len == rec.body_len)
        at += TD_REC_HEADER_LEN + rec.body_len;
    wire_add(rn, TD_DIR_S2C, bytes, at, true);
    return td_conn_feed(c, bytes, at);
}

/* Builds the prefix of |mode| (1..5) for |t| into |p|: the configuration
 * of the fuzzed and the counterpart side, the handshake up to where the
 * input comes in, its wire log. */
static td_err rec_prefix_build(td_fz_ctx *ctx, const td_fz_target *t, unsigned mode, bool keylog,
                               rec_prefix *p)
{
    td_config *cc = &p->cc, *sc = &p->sc;
    *cc = ctx->ccfg, *sc = ctx->scfg;
    sc->num_tickets = 0; /* the client's read sequence stays at 0 after the handshake */
    if (keylog) {
        cc->keylog = sc->keylog = rec_prefix_keylog;
        cc->keylog_arg = sc->keylog_arg = p;
    }
    bool server_fuzzed = mode == 3 || mode == 4;
    td_config *fz = server_fuzzed ? sc : cc;
    fz->fuzzer_mode = t->fuzzer_mode;
    speed_up(fz, server_fuzzed ? cc : sc);
    td_fz_ctx_plant(ctx, fz);
    p->plant_rule = ctx->plant_rule;
    p->plant_skip = ctx->plant_skip;
    fz->log_messages = true;
    td_conn *c = NULL, *s = NULL;
    td_pair *pair = NULL;
    run rn = {0};
    td_err ret = TD_OK;
    const uint8_t *out;
    size_t out_len;
    p->recording = true;
    if (mode == 4 || mode == 5) {
        TD_GUARD(td_pair_new(cc, sc, &pair));
        TD_GUARD(td_pair_run(pair, 0));
        size_t n;
        const td_pair_record *recs = td_pair_records(pair, &n);
        for (size_t i = 0; i < n; i++)
            wire_add(&rn, recs[i].dir, recs[i].bytes, recs[i].len, false);
        TD_GUARD(td_conn_clone(td_pair_client(pair), &c));
        TD_GUARD(td_conn_clone(td_pair_server(pair), &s));
    } else {
        TD_GUARD(td_conn_new(cc, &c));
        TD_GUARD(td_conn_new(sc, &s));
        TD_GUARD(td_conn_start(c));
        drain(&rn, c, TD_DIR_C2S, &out, &out_len);
        if (mode == 2 || mode == 3) {
            TD_GUARD(td_conn_feed(s, out, out_len));
            drain(&rn, s, TD_DIR_S2C, &out, &out_len);
        }
        if (mode == 3) {
            TD_GUARD(td_conn_feed(c, out, out_len));
            drain(&rn, c, TD_DIR_C2S, &out, &out_len); /* its Finished: not delivered */
            rn.num_wire--;
        } else if (mode == 2) {
            rn.num_wire--;
            TD_GUARD(feed_plain_prefix(&rn, c, out, out_len));
        }
    }
    if (rn.oom || p->oom)
        TD_GUARD(TD_ERR_NOMEM);
    /* The wire log, in storage of its own (the pair's views die with it). */
    size_t total = 0;
    for (size_t i = 0; i < rn.num_wire; i++)
        total += rn.wire[i].len;
    p->wire = malloc((rn.num_wire ? rn.num_wire : 1) * sizeof(*p->wire));
    p->wire_bytes = malloc(total ? total : 1);
    if (p->wire == NULL || p->wire_bytes == NULL)
        TD_GUARD(TD_ERR_NOMEM);
    total = 0;
    for (size_t i = 0; i < rn.num_wire; i++) {
        memcpy(p->wire_bytes + total, rn.wire[i].bytes, rn.wire[i].len);
        p->wire[i] = (td_fz_wire){rn.wire[i].dir, p->wire_bytes + total, rn.wire[i].len};
        total += rn.wire[i].len;
    }
    p->num_wire = rn.num_wire;
    p->fuzzed = server_fuzzed ? s : c;
    p->other = server_fuzzed ? c : s;
    c = s = NULL;
out:
    p->recording = false;
    td_pair_free(pair);
    td_conn_free(c);
    td_conn_free(s);
    run_cleanup(&rn);
    return ret;
}

/* The prefix of |mode| for |t|, built on first use (again when the
 * context's plants changed since). */
static td_err rec_prefix_get(td_fz_ctx *ctx, const td_fz_target *t, unsigned mode, bool keylog,
                             rec_prefix **out)
{
    rec_prefix **slot = &ctx->rec[t->fuzzer_mode ? 1 : 0][mode][keylog ? 1 : 0];
    if (*slot != NULL &&
        ((*slot)->plant_rule != ctx->plant_rule || (*slot)->plant_skip != ctx->plant_skip)) {
        rec_prefix_free(*slot);
        *slot = NULL;
    }
    if (*slot == NULL) {
        rec_prefix *p = calloc(1, sizeof(*p));
        if (p == NULL)
            return TD_ERR_NOMEM;
        td_err err = rec_prefix_build(ctx, t, mode, keylog, p);
        if (err != TD_OK) {
            rec_prefix_free(p);
            return err;
        }
        *slot = p;
    }
    *out = *slot;
    return TD_OK;
}

/* Modes (data[0] % 6): 0 server before keys, 1 client before keys (after
 * its ClientHello), 2 client under the server's handshake keys, 3 server
 * under the client's handshake keys, 4 server and 5 client after the
 * handshake (application keys). Modes 1..5 go on from a copy of their
 * prefix (rec_prefix): the same wire log, the same states as a run from
 * scratch. */
static td_err run_record(td_fz_ctx *ctx, const td_fz_target *t, const uint8_t *data, size_t size,
                         const td_fz_opts *o, td_fz_result *r)
{
    if (size == 0)
        return run_raw_server(ctx, t, data, size, o, r);
    unsigned mode = data[0] % 6;
    data++, size--;
    if (mode == 0)
        return run_raw_server(ctx, t, data, size, o, r);
    bool server_fuzzed = mode == 3 || mode == 4;
    rec_prefix *p;
    TD_CHECK(rec_prefix_get(ctx, t, mode, o->keylog != NULL, &p));
    td_conn *fuzzed = NULL, *other = p->other;
    run rn = {0};
    td_cbb cbb;
    bool cbb_live = false;
    td_err ret = TD_OK;
    const uint8_t *out;
    size_t out_len;
    /* The prefix's key log lines, then the fuzzed side's own to this
     * input's key log. */
    for (size_t i = 0; i < p->num_keylines; i++)
        o->keylog(o->keylog_arg, p->keylines[i]);
    p->fwd = o->keylog, p->fwd_arg = o->keylog_arg;
    /* A fresh copy of the prefix, in the storage of the last input's. */
    fuzzed = p->spare;
    p->spare = NULL;
    if (fuzzed == NULL) {
        TD_GUARD(td_conn_clone(p->fuzzed, &fuzzed));
    } else {
        TD_GUARD(td_conn_restore(fuzzed, p->fuzzed));
    }
    for (size_t i = 0; i < p->num_wire; i++)
        wire_add(&rn, p->wire[i].dir, p->wire[i].bytes, p->wire[i].len, false);
    const uint8_t *secret = NULL;
    if (mode == 2)
        secret = td_conn_traffic_secret(other, TD_SECRET_SERVER_HS);
    else if (mode == 3)
        secret = td_conn_traffic_secret(other, TD_SECRET_CLIENT_HS);
    else if (mode == 4)
        secret = td_conn_traffic_secret(other, TD_SECRET_CLIENT_AP);
    else if (mode == 5)
        secret = td_conn_traffic_secret(other, TD_SECRET_SERVER_AP);
    const uint8_t *feed = data;
    size_t feed_len = size;
    const td_suite *suite = td_conn_suite(other);
    if (secret != NULL && suite != NULL) {
        if (!td_cbb_init(&cbb, size + 64))
            TD_GUARD(TD_ERR_NOMEM);
        cbb_live = true;
        TD_GUARD(seal_stream(ctx->crypto, suite, secret, t->fuzzer_mode, data, size, &cbb));
        feed = td_cbb_data(&cbb);
        feed_len = td_cbb_len(&cbb);
    }
    wire_add(&rn, server_fuzzed ? TD_DIR_C2S : TD_DIR_S2C, feed, feed_len, true);
    TD_GUARD(td_conn_feed(fuzzed, feed, feed_len));
    drain(&rn, fuzzed, server_fuzzed ? TD_DIR_S2C : TD_DIR_C2S, &out, &out_len);
    if (rn.oom)
        TD_GUARD(TD_ERR_NOMEM);
    r->fuzzed_role = server_fuzzed ? TD_ROLE_SERVER : TD_ROLE_CLIENT;
    finish(&rn, fuzzed, other, o, r);
    td_fz_oracle_roundtrip(t, fuzzed, &ctx->scratch, r);
out:
    p->fwd = NULL, p->fwd_arg = NULL;
    if (cbb_live)
        td_cbb_cleanup(&cbb);
    if (ret == TD_OK && p->spare == NULL)
        p->spare = fuzzed;
    else
        td_conn_free(fuzzed);
    run_cleanup(&rn);
    return ret;
}

/* ---- scenario_parser ---- */

/* Diagnostics are bounded: positioned inside the input and at most a few
 * per line. */
static td_err run_scenario(const td_fz_target *t, const uint8_t *data, size_t size, td_fz_result *r)
{
    td_scn_file *file = NULL;
    td_scn_diags diags = {0};
    td_err err = td_scn_parse("fuzz.scn", (const char *)data, size, &file, &diags);
    size_t lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    r->num_diags = diags.num;
    uint64_t h = 0xcbf29ce484222325ull;
    if (err != TD_OK && err != TD_ERR_NOMEM)
        td_fz_finding(r, t, TD_FZ_DIAGNOSTIC, TD_RULE_NONE, -1, "td_scn_parse returned %s",
                      td_err_name(err));
    /* A matrix line expands a case once per value: a few dozen per line. */
    if (diags.num > 64 * lines + 64)
        td_fz_finding(r, t, TD_FZ_DIAGNOSTIC, TD_RULE_NONE, -1, "%zu diagnostics for %zu lines",
                      diags.num, lines);
    for (size_t i = 0; i < diags.num; i++) {
        const td_scn_diag *d = &diags.list[i];
        if (d->line < 1 || (size_t)d->line > lines || d->col < 1 || d->message == NULL)
            td_fz_finding(r, t, TD_FZ_DIAGNOSTIC, TD_RULE_NONE, -1,
                          "diagnostic %zu at %d:%d outside the input (%zu lines)", i, d->line,
                          d->col, lines);
        h = fnv(h, d->message ? d->message : "", d->message ? strlen(d->message) : 0);
        h = fnv(h, &d->line, sizeof(d->line));
        h = fnv(h, &d->col, sizeof(d->col));
    }
    h = fnv(h, &err, sizeof(err));
    size_t ncases = file != NULL ? file->num_cases : 0;
    r->digest = fnv(h, &ncases, sizeof(ncases));
    td_scn_file_free(file);
    td_scn_diags_cleanup(&diags);
    return err == TD_ERR_NOMEM ? err : TD_OK;
}

/* ---- entry points ---- */

static td_err run_once(td_fz_ctx *ctx, const td_fz_target *t, const uint8_t *data, size_t size,
                       const td_fz_opts *o, td_fz_result *r)
{
    memset(r, 0, sizeof(*r));
    r->alert = -1;
    size_t mlen = sizeof(TD_FZ_MAGIC) - 1;
    bool magic = size >= mlen && memcmp(data, TD_FZ_MAGIC, mlen) == 0;
    switch (t->kind) {
    case TD_FZ_CLIENT_HELLO:
        if (magic)
            return run_program(ctx, t, data + mlen, size - mlen, o, r);
        return run_raw_server(ctx, t, data, size, o, r);
    case TD_FZ_SERVER_HELLO:
    case TD_FZ_SECOND_CLIENT_HELLO:
    case TD_FZ_PSK_BINDERS:
        /* Program-only targets: the magic is optional. */
        return magic ? run_program(ctx, t, data + mlen, size - mlen, o, r)
                     : run_program(ctx, t, data, size, o, r);
    case TD_FZ_RECORD: return run_record(ctx, t, data, size, o, r);
    case TD_FZ_SCENARIO_PARSER: return run_scenario(t, data, size, r);
    case TD_FZ_SUT_SERVER:
    case TD_FZ_SUT_CLIENT:
        /* The magic is optional: every input is a program. */
        if (ctx->sut == NULL || ctx->sut_target != t) {
            td_fz_sut_free(ctx->sut);
            ctx->sut = NULL;
            TD_CHECK(td_fz_sut_new(ctx, t->name, &ctx->sut));
            ctx->sut_target = t;
        }
        return magic ? td_fz_sut_run(ctx, ctx->sut, t, data + mlen, size - mlen, r)
                     : td_fz_sut_run(ctx, ctx->sut, t, data, size, r);
    case TD_FZ_NUM_KINDS: break;
    }
    return TD_ERR_ARG;
}

td_err td_fz_run(td_fz_ctx *ctx, const td_fz_target *t, const uint8_t *data, size_t size,
                 const td_fz_opts *opts, td_fz_result *out)
{
    td_fz_opts o = opts != NULL ? *opts : (td_fz_opts){0};
    TD_CHECK(run_once(ctx, t, data, size, &o, out));
    if (t->kind != TD_FZ_SCENARIO_PARSER)
        td_fz_oracle_alerts(t, out);
    bool sut = t->kind == TD_FZ_SUT_SERVER || t->kind == TD_FZ_SUT_CLIENT;
    if (sut)
        td_fz_sut_known(ctx->sut, out);
    /* Determinism, in a sampled eighth of the runs (by input hash): the
     * same input again gives the same bytes and the same ending. Not for a
     * foreign library: it draws its own randoms (fuzz/sut.c). */
    bool again = !sut && (o.determinism > 0 || (o.determinism == 0 &&
                                                (fnv(0xcbf29ce484222325ull, data, size) & 7) == 0));
    if (again) {
        td_fz_result *second = malloc(sizeof(*second));
        if (second == NULL)
            return TD_ERR_NOMEM;
        td_fz_opts quiet = o;
        quiet.observe = NULL;
        td_err err = run_once(ctx, t, data, size, &quiet, second);
        if (err == TD_OK && second->digest != out->digest)
            td_fz_finding(out, t, TD_FZ_NONDETERMINISTIC, out->status.diag.rule,
                          out->status.alert_sent ? out->status.alert_sent_desc : -1,
                          "two runs of the same input differ (digest %016llx vs %016llx)",
                          (unsigned long long)out->digest, (unsigned long long)second->digest);
        free(second);
        TD_CHECK(err);
    }
    return TD_OK;
}

int td_fz_one(const char *target, const uint8_t *data, size_t size)
{
    /* The one process-wide context of a fuzz binary (built on first use). */
    static td_fz_ctx *ctx;
    static const td_fz_target *t;
    if (ctx == NULL) {
        t = td_fz_target_find(target);
        if (t == NULL || td_fz_ctx_new(&ctx) != TD_OK) {
            fprintf(stderr, "tlsdrill fuzz: cannot set up target %s\n", target);
            abort();
        }
        /* TD_FUZZ_MEMO=0: the crypto memo off (tools/fuzzctl bench runs
         * each binary both ways). */
        const char *memo = getenv("TD_FUZZ_MEMO");
        if (memo != NULL && strcmp(memo, "0") == 0 && td_fz_ctx_set_memo(ctx, false) != TD_OK)
            abort();
        /* Test-only: TD_FUZZ_PLANT_WRONG_ALERT=RULE-ID plants a wrong alert
         * for that rule in the side under test (td_fz_ctx_plant_wrong_alert,
         * as `tlsdrill replay --plant-wrong-alert`; the engine only: the
         * planted-SUT proof of sut_engine_server, tests/test_fuzz_sut.py). */
        const char *plant = getenv("TD_FUZZ_PLANT_WRONG_ALERT");
        if (plant != NULL && plant[0] != '\0') {
            td_rule rule = td_rule_by_id(plant);
            if (rule == TD_RULE_NONE) {
                fprintf(stderr, "tlsdrill fuzz: TD_FUZZ_PLANT_WRONG_ALERT: unknown rule '%s'\n",
                        plant);
                abort();
            }
            fprintf(stderr, "tlsdrill fuzz: %s: planted wrong alert for %s (test only)\n", target,
                    plant);
            td_fz_ctx_plant_wrong_alert(ctx, rule);
        }
    }
    td_fz_result r;
    td_err err = td_fz_run(ctx, t, data, size, NULL, &r);
    if (err != TD_OK) {
        fprintf(stderr, "tlsdrill fuzz: %s: run failed: %s\n", target, td_err_name(err));
        abort();
    }
    if (r.oracle != TD_FZ_OK) {
        fprintf(stderr, "==tlsdrill-oracle== %s\n", r.line);
        abort();
    }
    return 0;
}
