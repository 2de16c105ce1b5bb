/* fuzz/corpus.c -- the seed corpora (fuzz.h td_fz_corpus), generated from
 * engine pair handshakes: all three suites, the three groups, HRR (with and
 * without cookie), PSK resumption, client authentication, 0-RTT and
 * compatibility mode, as raw first flights and as mutation programs; each
 * misbehaviour knob of the counterpart and each binder mode once. Same
 * context => same files, byte for byte. */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "program.h"
#include "tlsdrill/record.h"

#define OP(...) ((const uint8_t[]){__VA_ARGS__}), sizeof((const uint8_t[]){__VA_ARGS__})

typedef struct prog_buf {
    uint8_t b[256];
    size_t len;
} prog_buf;

static void pb_start(prog_buf *p)
{
    memcpy(p->b, TD_FZ_MAGIC, 4);
    p->len = 4;
}
static void pb_op(prog_buf *p, const uint8_t *op, size_t len)
{
    p->len = td_fz_prog_put(p->b, sizeof(p->b), p->len, op, len);
}

/* One program seed: |cfg| flags, optional suite/group (-1 = none), then
 * up to three raw ops. */
typedef struct seed_prog {
    const char *name;
    uint8_t cfg;
    int suite, group;
    const uint8_t *ops[3];
    size_t lens[3];
} seed_prog;

static td_err emit_prog(td_fz_emit emit, void *arg, const char *target, const seed_prog *s)
{
    prog_buf p;
    char name[96];
    pb_start(&p);
    if (s->cfg)
        pb_op(&p, OP(TD_FZ_OP_CFG, s->cfg));
    if (s->suite >= 0)
        pb_op(&p, OP(TD_FZ_OP_SUITE, (uint8_t)s->suite));
    if (s->group >= 0)
        pb_op(&p, OP(TD_FZ_OP_GROUP, (uint8_t)s->group));
    for (int i = 0; i < 3; i++)
        if (s->ops[i] != NULL)
            pb_op(&p, s->ops[i], s->lens[i]);
    snprintf(name, sizeof(name), "%s-%s", target, s->name);
    return emit(arg, name, p.b, p.len);
}

/* The counterpart's knobs are chosen by index among its role's knobs
 * (program.c k_knobs order). */
enum {
    K_C_OMIT_SV,
    K_C_PSK_FIRST,
    K_C_ED_CH2,
    K_C_CH2_SUITES,
    K_C_CH2_SHARE,
    K_C_DUP_KS,
    K_C_NO_CCS,
    K_C_BAD_FIN,
    K_C_BAD_SIG
};
enum {
    K_S_SECOND_HRR,
    K_S_OMIT_SV,
    K_S_SUITE_CHANGE,
    K_S_COOKIE,
    K_S_PSK_RANGE,
    K_S_HRR_GROUP,
    K_S_SESSION_ID,
    K_S_BAD_FIN,
    K_S_BAD_SIG
};

#define NOOPS                                                                                      \
    {NULL, NULL, NULL},                                                                            \
    {                                                                                              \
        0, 0, 0                                                                                    \
    }
#define OPS1(a)                                                                                    \
    {a, NULL, NULL},                                                                               \
    {                                                                                              \
        sizeof(a), 0, 0                                                                            \
    }

static td_err emit_common_progs(td_fz_emit emit, void *arg, const char *target, bool server_cp)
{
    static const char *suites[] = {"aes128", "aes256", "chacha"};
    static const char *groups[] = {"x25519", "p256", "p384"};
    char name[48];
    for (int s = 0; s < 3; s++) {
        snprintf(name, sizeof(name), "suite-%s", suites[s]);
        TD_CHECK(emit_prog(emit, arg, target, &(seed_prog){name, 0, s, -1, NOOPS}));
    }
    for (int g = 0; g < 3; g++) {
        snprintf(name, sizeof(name), "group-%s", groups[g]);
        TD_CHECK(emit_prog(emit, arg, target, &(seed_prog){name, 0, -1, g, NOOPS}));
    }
    static const struct {
        const char *name;
        uint8_t cfg;
    } cfgs[] = {
        {"hrr", TD_FZ_CFG_HRR},
        {"hrr-cookie", TD_FZ_CFG_HRR | TD_FZ_CFG_COOKIE},
        {"client-auth", TD_FZ_CFG_AUTH},
        {"client-auth-required", TD_FZ_CFG_AUTH | TD_FZ_CFG_AUTH_REQ},
        {"resume", TD_FZ_CFG_RESUME},
        {"resume-0rtt", TD_FZ_CFG_RESUME | TD_FZ_CFG_EARLY},
        {"resume-psk-ke", TD_FZ_CFG_RESUME | TD_FZ_CFG_PSK_KE},
        {"compat", TD_FZ_CFG_COMPAT},
        {"hrr-resume", TD_FZ_CFG_HRR | TD_FZ_CFG_RESUME},
    };
    for (size_t i = 0; i < sizeof(cfgs) / sizeof(cfgs[0]); i++)
        TD_CHECK(
            emit_prog(emit, arg, target, &(seed_prog){cfgs[i].name, cfgs[i].cfg, -1, -1, NOOPS}));
    /* Structural edits of the default message, and record re-framing. */
    static const uint8_t drop[] = {TD_FZ_OP_EXT_DROP, 1}, dup[] = {TD_FZ_OP_EXT_DUP, 0},
                         rev[] = {TD_FZ_OP_EXT_REVERSE},
                         unk[] = {TD_FZ_OP_EXT_INSERT, 0x7a, 0x7a, 0, 2, 0xab, 0xcd},
                         lie[] = {TD_FZ_OP_EXT_SET_RAW, 2, 3, 0x00, 0x09, 0x00},
                         frag[] = {TD_FZ_OP_FRAGMENT, 0, 40}, coal[] = {TD_FZ_OP_COALESCE, 1},
                         ccs[] = {TD_FZ_OP_CCS_INJECT, 0, 1},
                         ver[] = {TD_FZ_OP_FIELD, 0, 0, 0, 0x03, 0x01, 0};
    TD_CHECK(emit_prog(emit, arg, target, &(seed_prog){"ext-drop", 0, -1, -1, OPS1(drop)}));
    TD_CHECK(emit_prog(emit, arg, target, &(seed_prog){"ext-dup", 0, -1, -1, OPS1(dup)}));
    TD_CHECK(emit_prog(emit, arg, target, &(seed_prog){"ext-reverse", 0, -1, -1, OPS1(rev)}));
    TD_CHECK(emit_prog(emit, arg, target, &(seed_prog){"ext-unknown", 0, -1, -1, OPS1(unk)}));
    TD_CHECK(emit_prog(emit, arg, target, &(seed_prog){"ext-length-lie", 0, -1, -1, OPS1(lie)}));
    TD_CHECK(emit_prog(emit, arg, target, &(seed_prog){"fragment", 0, -1, -1, OPS1(frag)}));
    TD_CHECK(emit_prog(emit, arg, target, &(seed_prog){"coalesce", 0, -1, -1, OPS1(coal)}));
    TD_CHECK(emit_prog(emit, arg, target, &(seed_prog){"ccs-inject", 0, -1, -1, OPS1(ccs)}));
    TD_CHECK(emit_prog(emit, arg, target, &(seed_prog){"legacy-version", 0, -1, -1, OPS1(ver)}));
    if (server_cp) {
        static const uint8_t suite[] = {TD_FZ_OP_FIELD, 4, 0, 0, 0x13, 0x05, 0},
                             grp[] = {TD_FZ_OP_FIELD, 6, 0, 0, 0x00, 0x19, 0},
                             sel_ee[] = {TD_FZ_OP_SELECT, TD_MSG_ENCRYPTED_EXTENSIONS, 0},
                             alpn[] = {TD_FZ_OP_EXT_INSERT, 0, 16, 0, 5, 0, 3, 2, 'h', '2'},
                             sel_cv[] = {TD_FZ_OP_SELECT, TD_MSG_CERTIFICATE_VERIFY, 0},
                             cv[] = {TD_FZ_OP_FIELD, 11, 0, 0, 0x08, 0x04, 0};
        TD_CHECK(emit_prog(emit, arg, target, &(seed_prog){"sh-suite", 0, -1, -1, OPS1(suite)}));
        TD_CHECK(emit_prog(emit, arg, target, &(seed_prog){"sh-group", 0, -1, -1, OPS1(grp)}));
        TD_CHECK(emit_prog(
            emit, arg, target,
            &(seed_prog){
                "ee-alpn", 0, -1, -1, {sel_ee, alpn, NULL}, {sizeof(sel_ee), sizeof(alpn), 0}}));
        TD_CHECK(emit_prog(
            emit, arg, target,
            &(seed_prog){
                "cv-scheme", 0, -1, -1, {sel_cv, cv, NULL}, {sizeof(sel_cv), sizeof(cv), 0}}));
    } else {
        static const uint8_t groups_rm[] = {TD_FZ_OP_LIST_EDIT, 1, 0, 0x00, 0x1d},
                             ks_add[] = {TD_FZ_OP_KS_ADD, 0x00, 0x17, 3, 4, 1, 2},
                             suites_clear[] = {TD_FZ_OP_LIST_EDIT, 0, 3, 0, 0};
        TD_CHECK(emit_prog(emit, arg, target,
                           &(seed_prog){"groups-remove", 0, -1, -1, OPS1(groups_rm)}));
        TD_CHECK(
            emit_prog(emit, arg, target, &(seed_prog){"key-share-add", 0, -1, -1, OPS1(ks_add)}));
        TD_CHECK(emit_prog(emit, arg, target,
                           &(seed_prog){"suites-clear", 0, -1, -1, OPS1(suites_clear)}));
    }
    return TD_OK;
}

static td_err emit_knob(td_fz_emit emit, void *arg, const char *target, const char *name,
                        uint8_t cfg, uint8_t knob)
{
    const uint8_t op[2] = {TD_FZ_OP_BUG, knob};
    return emit_prog(emit, arg, target,
                     &(seed_prog){name, cfg, -1, -1, {op, NULL, NULL}, {2, 0, 0}});
}

/* Raw first flights of the engine client; for a fuzzer-mode twin in
 * fuzzer mode, as its server reads them (0-RTT records in plaintext). */
static td_err emit_flights(td_fz_ctx *ctx, td_fz_emit emit, void *arg, const char *target,
                           bool fuzzer_mode, const uint8_t *prefix, size_t prefix_len)
{
    static const uint16_t suites[] = {0x1301, 0x1302, 0x1303}, groups[] = {0x001d, 0x0017, 0x0018};
    static const uint8_t early[] = "GET / 0-RTT";
    for (int v = 0; v < 12; v++) {
        td_config cc = *td_fz_ctx_client(ctx);
        const char *what = "";
        char name[96];
        cc.fuzzer_mode = fuzzer_mode;
        if (v < 3) {
            cc.suites = &suites[v], cc.num_suites = 1,
            what = v == 0   ? "aes128"
                   : v == 1 ? "aes256"
                            : "chacha";
        } else if (v < 6) {
            cc.share_groups = &groups[v - 3], cc.num_share_groups = 1;
            what = v == 3 ? "x25519" : v == 4 ? "p256" : "p384";
        } else if (v == 6) {
            cc.compat_mode = true, what = "compat";
        } else if (v == 7) {
            cc.resume = td_fz_ctx_session(ctx, fuzzer_mode), what = "resume";
        } else if (v == 8) {
            cc.resume = td_fz_ctx_session(ctx, fuzzer_mode), cc.early_data = early;
            cc.early_data_len = sizeof(early) - 1, what = "resume-0rtt";
        } else if (v == 9) {
            cc.resume = td_fz_ctx_session(ctx, fuzzer_mode), cc.psk_ke_only = true, what = "psk-ke";
        } else if (v == 10) {
            cc.share_groups = groups, cc.num_share_groups = 3, what = "three-shares";
        } else {
            cc.ch_padding = true, cc.renegotiation_info = true, cc.session_ticket_ext = true;
            what = "nss-shape";
        }
        td_conn *c = NULL;
        TD_CHECK(td_conn_new(&cc, &c));
        td_err err = td_conn_start(c);
        const uint8_t *out;
        size_t out_len;
        td_conn_drain(c, &out, &out_len);
        uint8_t *buf = err == TD_OK ? malloc(prefix_len + out_len) : NULL;
        if (buf != NULL) {
            memcpy(buf, prefix, prefix_len);
            memcpy(buf + prefix_len, out, out_len);
            snprintf(name, sizeof(name), "%s-flight-%s", target, what);
            err = emit(arg, name, buf, prefix_len + out_len);
        } else if (err == TD_OK) {
            err = TD_ERR_NOMEM;
        }
        free(buf);
        td_conn_free(c);
        TD_CHECK(err);
    }
    return TD_OK;
}

/* record: a mode byte, then plaintext records (the harness seals them). */
static td_err emit_record(td_fz_ctx *ctx, td_fz_emit emit, void *arg, const char *target,
                          bool fuzzer_mode)
{
    static const uint8_t z[] = {0};
    TD_CHECK(emit_flights(ctx, emit, arg, target, fuzzer_mode, z,
                          1)); /* mode 0: the server before keys */
    /* The messages a real handshake carries, from a logged pair (the
     * record target's configs: no tickets). */
    td_config cc = *td_fz_ctx_client(ctx), sc = *td_fz_ctx_server(ctx);
    cc.log_messages = sc.log_messages = true;
    sc.num_tickets = 0;
    td_pair *pair = NULL;
    td_err ret = TD_OK;
    uint8_t buf[4096];
    TD_GUARD(td_pair_new(&cc, &sc, &pair));
    TD_GUARD(td_pair_run(pair, 0));
    size_t n;
    const td_msg_record *sm = td_conn_messages(td_pair_server(pair), &n);
    /* mode 1: the ServerHello record as the server sent it. */
    const td_pair_record *recs = td_pair_records(pair, &n);
    for (size_t i = 0; i < n; i++) {
        if (recs[i].dir == TD_DIR_S2C && recs[i].bytes[0] == TD_CT_HANDSHAKE &&
            recs[i].len < 4000) {
            buf[0] = 1;
            memcpy(buf + 1, recs[i].bytes, recs[i].len);
            TD_GUARD(emit(arg, "record-1-server-hello", buf, recs[i].len + 1));
            break;
        }
    }
    /* mode 2: the server's encrypted flight, one message per record, in plaintext. */
    sm = td_conn_messages(td_pair_server(pair), &n);
    size_t len = 1;
    buf[0] = 2;
    for (size_t i = 0; i < n; i++) {
        if (!sm[i].sent || sm[i].type == TD_MSG_SERVER_HELLO || len + 5 + sm[i].len > sizeof(buf))
            continue;
        buf[len] = TD_CT_HANDSHAKE, buf[len + 1] = 3, buf[len + 2] = 3;
        buf[len + 3] = (uint8_t)(sm[i].len >> 8), buf[len + 4] = (uint8_t)sm[i].len;
        memcpy(buf + len + 5, sm[i].bytes, sm[i].len);
        len += 5 + sm[i].len;
    }
    TD_GUARD(emit(arg, "record-2-server-flight", buf, len));
    /* mode 3: the client's Finished. */
    const td_msg_record *cm = td_conn_messages(td_pair_client(pair), &n);
    for (size_t i = 0; i < n; i++) {
        if (cm[i].sent && cm[i].type == TD_MSG_FINISHED && 6 + cm[i].len <= sizeof(buf)) {
            buf[0] = 3, buf[1] = TD_CT_HANDSHAKE, buf[2] = 3, buf[3] = 3;
            buf[4] = (uint8_t)(cm[i].len >> 8), buf[5] = (uint8_t)cm[i].len;
            memcpy(buf + 6, cm[i].bytes, cm[i].len);
            TD_GUARD(emit(arg, "record-3-client-finished", buf, 6 + cm[i].len));
        }
    }
    /* modes 4, 5: application data, KeyUpdate, alerts after the handshake. */
    static const uint8_t app[] = {23, 3, 3, 0, 5, 'h', 'e', 'l', 'l', 'o'},
                         ku[] = {22, 3, 3, 0, 5, 24, 0, 0, 1, 1},
                         close_notify[] = {21, 3, 3, 0, 2, 1, 0}, ccs[] = {20, 3, 3, 0, 1, 1},
                         plain_app[] = {0x80 | 23, 3, 3, 0, 2, 'h', 'i'};
    static const struct {
        const char *name;
        const uint8_t *rec;
        size_t len;
    } post[] = {{"appdata", app, sizeof(app)},
                {"key-update", ku, sizeof(ku)},
                {"close-notify", close_notify, sizeof(close_notify)},
                {"ccs", ccs, sizeof(ccs)},
                {"plaintext-appdata", plain_app, sizeof(plain_app)}};
    for (uint8_t mode = 4; mode <= 5; mode++) {
        for (size_t i = 0; i < sizeof(post) / sizeof(post[0]); i++) {
            char name[64];
            buf[0] = mode;
            memcpy(buf + 1, post[i].rec, post[i].len);
            snprintf(name, sizeof(name), "record-%u-%s", mode, post[i].name);
            TD_GUARD(emit(arg, name, buf, 1 + post[i].len));
        }
    }
out:
    td_pair_free(pair);
    return ret;
}

static const char *const k_scn[] = {
    "# baseline\nscenario  ok\nsut       server\nexpect    handshake\n",
    "scenario  server-sees-bad-finished\nrule      FIN-BAD\nsut       server\nbug       "
    "bad_finished\nexpect    rule\n",
    "scenario  auth[$mode]\nmatrix    mode = request require\nsut       server\nserver    "
    "client-auth $mode\nclient    cert p256\nexpect    handshake\n",
    "scenario  short-finished\nrule      GEN-DECODE\nsut       server\nsend      Finished\n  set "
    "verify_data 0011\nexpect    rule\n",
    "scenario  binder\nrule      PSK-BINDER-INVALID\nsut       server\nresume    ticket\nsend      "
    "ClientHello\n  binder  0 xor 00:01\nexpect    rule\n",
    "scenario  ks[$g]\nmatrix    g = x25519 secp256r1 secp384r1\nrule      "
    "KS-GROUP-NOT-IN-SUPPORTED\nsut       server\nsend      ClientHello\n  supported_groups "
    "remove $g\nexpect    alert illegal_parameter\n",
    "scenario  bad\nsut  nobody\nexpect\n  \t indented ::: $x\n",
};

static td_err emit_scn(td_fz_emit emit, void *arg)
{
    for (size_t i = 0; i < sizeof(k_scn) / sizeof(k_scn[0]); i++) {
        char name[48];
        snprintf(name, sizeof(name), "scenario-%02zu.scn", i);
        TD_CHECK(emit(arg, name, (const uint8_t *)k_scn[i], strlen(k_scn[i])));
    }
    return TD_OK;
}

td_err td_fz_corpus(td_fz_ctx *ctx, const td_fz_target *t, td_fz_emit emit, void *arg)
{
    const char *base = t->fuzzer_mode ? "fm" : "seed";
    switch (t->kind) {
    case TD_FZ_CLIENT_HELLO:
        TD_CHECK(emit_flights(ctx, emit, arg, base, t->fuzzer_mode, NULL, 0));
        TD_CHECK(emit_common_progs(emit, arg, base, false));
        TD_CHECK(emit_knob(emit, arg, base, "bug-duplicate-key-share", 0, K_C_DUP_KS));
        TD_CHECK(emit_knob(emit, arg, base, "bug-psk-first", TD_FZ_CFG_RESUME, K_C_PSK_FIRST));
        TD_CHECK(emit_knob(emit, arg, base, "bug-bad-finished", 0, K_C_BAD_FIN));
        TD_CHECK(emit_knob(emit, arg, base, "bug-bad-signature", TD_FZ_CFG_AUTH, K_C_BAD_SIG));
        TD_CHECK(emit_knob(emit, arg, base, "bug-omit-supported-versions", 0, K_C_OMIT_SV));
        return TD_OK;
    case TD_FZ_SERVER_HELLO:
        TD_CHECK(emit_common_progs(emit, arg, base, true));
        TD_CHECK(emit_knob(emit, arg, base, "bug-second-hrr", TD_FZ_CFG_HRR, K_S_SECOND_HRR));
        TD_CHECK(emit_knob(emit, arg, base, "bug-omit-supported-versions", 0, K_S_OMIT_SV));
        TD_CHECK(emit_knob(emit, arg, base, "bug-suite-change-after-hrr", TD_FZ_CFG_HRR,
                           K_S_SUITE_CHANGE));
        TD_CHECK(emit_knob(emit, arg, base, "bug-cookie-in-sh", 0, K_S_COOKIE));
        TD_CHECK(
            emit_knob(emit, arg, base, "bug-psk-identity-range", TD_FZ_CFG_RESUME, K_S_PSK_RANGE));
        TD_CHECK(emit_knob(emit, arg, base, "bug-hrr-offered-group", TD_FZ_CFG_HRR, K_S_HRR_GROUP));
        TD_CHECK(emit_knob(emit, arg, base, "bug-session-id", TD_FZ_CFG_COMPAT, K_S_SESSION_ID));
        TD_CHECK(emit_knob(emit, arg, base, "bug-bad-finished", 0, K_S_BAD_FIN));
        TD_CHECK(emit_knob(emit, arg, base, "bug-bad-signature", 0, K_S_BAD_SIG));
        return TD_OK;
    case TD_FZ_SECOND_CLIENT_HELLO:
        TD_CHECK(emit_common_progs(emit, arg, base, false));
        TD_CHECK(emit_knob(emit, arg, base, "bug-ch2-change-suites", 0, K_C_CH2_SUITES));
        TD_CHECK(emit_knob(emit, arg, base, "bug-ch2-wrong-share", 0, K_C_CH2_SHARE));
        TD_CHECK(emit_knob(emit, arg, base, "bug-early-data-in-ch2",
                           TD_FZ_CFG_RESUME | TD_FZ_CFG_EARLY, K_C_ED_CH2));
        TD_CHECK(emit_knob(emit, arg, base, "bug-duplicate-key-share", 0, K_C_DUP_KS));
        return TD_OK;
    case TD_FZ_PSK_BINDERS: {
        TD_CHECK(emit_common_progs(emit, arg, base, false));
        static const char *modes[] = {"recompute", "stale", "corrupt", "wrong-transcript"};
        for (uint8_t m = 0; m < 4; m++) {
            const uint8_t op[2] = {TD_FZ_OP_BINDER_MODE, m};
            char name[48];
            snprintf(name, sizeof(name), "binder-%s", modes[m]);
            TD_CHECK(emit_prog(emit, arg, base,
                               &(seed_prog){name, 0, -1, -1, {op, NULL, NULL}, {2, 0, 0}}));
            snprintf(name, sizeof(name), "hrr-binder-%s", modes[m]);
            const uint8_t sel[3] = {TD_FZ_OP_SELECT, TD_MSG_CLIENT_HELLO, 1};
            TD_CHECK(
                emit_prog(emit, arg, base,
                          &(seed_prog){name, TD_FZ_CFG_HRR, -1, -1, {sel, op, NULL}, {3, 2, 0}}));
        }
        static const uint8_t x[] = {TD_FZ_OP_BINDER_XOR, 0, 2, 0x00, 0x01},
                             blen[] = {TD_FZ_OP_BINDER_LEN, 0, 31},
                             badd[] = {TD_FZ_OP_BINDER_ADD, 32}, bdel[] = {TD_FZ_OP_BINDER_DEL, 0},
                             age[] = {TD_FZ_OP_PSK_AGE, 0, 0x12, 0x34, 0x56, 0x78},
                             idset[] = {TD_FZ_OP_PSK_ID_SET, 0, 4, 'n', 'o', 'n', 'e'},
                             idadd[] = {TD_FZ_OP_PSK_ID_ADD, 3, 'e', 'x', 't', 0, 0, 0, 7};
        TD_CHECK(emit_prog(emit, arg, base, &(seed_prog){"binder-xor", 0, -1, -1, OPS1(x)}));
        TD_CHECK(emit_prog(emit, arg, base, &(seed_prog){"binder-short", 0, -1, -1, OPS1(blen)}));
        TD_CHECK(emit_prog(emit, arg, base, &(seed_prog){"binder-extra", 0, -1, -1, OPS1(badd)}));
        TD_CHECK(emit_prog(emit, arg, base, &(seed_prog){"binder-missing", 0, -1, -1, OPS1(bdel)}));
        TD_CHECK(emit_prog(emit, arg, base, &(seed_prog){"ticket-age", 0, -1, -1, OPS1(age)}));
        TD_CHECK(
            emit_prog(emit, arg, base, &(seed_prog){"identity-unknown", 0, -1, -1, OPS1(idset)}));
        TD_CHECK(
            emit_prog(emit, arg, base, &(seed_prog){"identity-added", 0, -1, -1, OPS1(idadd)}));
        TD_CHECK(emit_knob(emit, arg, base, "bug-psk-first", 0, K_C_PSK_FIRST));
        return TD_OK;
    }
    case TD_FZ_RECORD: return emit_record(ctx, emit, arg, base, t->fuzzer_mode);
    case TD_FZ_SCENARIO_PARSER: return emit_scn(emit, arg);
    case TD_FZ_SUT_SERVER: {
        /* First flight edits, the HRR path (second ClientHello), resumption with binders. */
        TD_CHECK(emit_common_progs(emit, arg, base, false));
        TD_CHECK(
            emit_knob(emit, arg, base, "bug-ch2-change-suites", TD_FZ_CFG_HRR, K_C_CH2_SUITES));
        TD_CHECK(emit_knob(emit, arg, base, "bug-ch2-wrong-share", TD_FZ_CFG_HRR, K_C_CH2_SHARE));
        TD_CHECK(emit_knob(emit, arg, base, "bug-duplicate-key-share", 0, K_C_DUP_KS));
        TD_CHECK(emit_knob(emit, arg, base, "bug-bad-finished", 0, K_C_BAD_FIN));
        TD_CHECK(emit_knob(emit, arg, base, "bug-bad-signature", TD_FZ_CFG_AUTH, K_C_BAD_SIG));
        TD_CHECK(emit_knob(emit, arg, base, "bug-omit-supported-versions", 0, K_C_OMIT_SV));
        static const char *modes[] = {"recompute", "stale", "corrupt", "wrong-transcript"};
        for (uint8_t m = 0; m < 4; m++) {
            const uint8_t op[2] = {TD_FZ_OP_BINDER_MODE, m};
            char name[48];
            snprintf(name, sizeof(name), "binder-%s", modes[m]);
            TD_CHECK(emit_prog(
                emit, arg, base,
                &(seed_prog){name, TD_FZ_CFG_RESUME, -1, -1, {op, NULL, NULL}, {2, 0, 0}}));
        }
        static const uint8_t bx[] = {TD_FZ_OP_BINDER_XOR, 0, 2, 0x00, 0x01};
        TD_CHECK(emit_prog(emit, arg, base,
                           &(seed_prog){"binder-xor", TD_FZ_CFG_RESUME, -1, -1, OPS1(bx)}));
        return TD_OK;
    }
    case TD_FZ_SUT_CLIENT:
        /* ServerHello/HRR/EE/Certificate/CV/Finished/NST edits. */
        TD_CHECK(emit_common_progs(emit, arg, base, true));
        TD_CHECK(emit_knob(emit, arg, base, "bug-second-hrr", TD_FZ_CFG_HRR, K_S_SECOND_HRR));
        TD_CHECK(emit_knob(emit, arg, base, "bug-omit-supported-versions", 0, K_S_OMIT_SV));
        TD_CHECK(emit_knob(emit, arg, base, "bug-suite-change-after-hrr", TD_FZ_CFG_HRR,
                           K_S_SUITE_CHANGE));
        TD_CHECK(emit_knob(emit, arg, base, "bug-hrr-offered-group", TD_FZ_CFG_HRR, K_S_HRR_GROUP));
        TD_CHECK(emit_knob(emit, arg, base, "bug-bad-finished", 0, K_S_BAD_FIN));
        TD_CHECK(emit_knob(emit, arg, base, "bug-bad-signature", 0, K_S_BAD_SIG));
        return TD_OK;
    case TD_FZ_NUM_KINDS: break;
    }
    return TD_ERR_ARG;
}
