/* tests/unit/test_fuzzer_mode.c -- td_config.fuzzer_mode (conn.h): the
 * checks a fuzzer cannot satisfy (record tags, PSK binder, Finished,
 * CertificateVerify signature, certificate chain) are skipped with the
 * switch, and only with it: the same run without it rejects each with its
 * rule. Both ends are in fuzzer mode (plaintext records); a normal peer
 * refuses fuzzer-mode records. Every other check is unchanged in fuzzer
 * mode (a binder's length, the inner plaintext), a rejected 0-RTT is still
 * skipped, and runs stay deterministic (each case runs twice, byte for
 * byte). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "td_test.h"

#include "td_pair_fixture.h"
#include "tlsdrill/mutate.h"
#include "tlsdrill/record.h"

static td_crypto *g_crypto;
static pair_fx g_fx;
static td_session g_sess, g_sess_fm; /* a ticket of a normal / a fuzzer-mode server */
static td_der *g_other_ca;
static size_t g_num_other_ca;

/* Corrupts the binders of a resumption ClientHello. */
static td_err corrupt_binders(void *arg, td_conn *c, td_msg *m, td_binder_mode *mode)
{
    (void)arg, (void)c;
    if (m->type == TD_MSG_CLIENT_HELLO)
        *mode = TD_BINDER_CORRUPT;
    return TD_OK;
}

/* Flips the last byte (the tag) of every protected record the client sends. */
static td_err flip_tags(void *arg, td_dir dir, const uint8_t *bytes, size_t len, td_cbb *out)
{
    (void)arg;
    size_t at = 0;
    td_rec_frame f;
    while (td_rec_frame_read(bytes + at, len - at, &f) && f.avail_len == f.body_len) {
        size_t n = TD_REC_HEADER_LEN + f.body_len;
        uint8_t *p;
        if (!td_cbb_add_space(out, &p, n))
            return TD_ERR_NOMEM;
        memcpy(p, bytes + at, n);
        if (dir == TD_DIR_C2S && f.type == TD_CT_APPLICATION_DATA && f.body_len > 0)
            p[n - 1] ^= 0x5a;
        at += n;
    }
    return td_cbb_add_bytes(out, bytes + at, len - at) ? TD_OK : TD_ERR_NOMEM;
}

typedef enum which {
    RECORD_TAG,
    BINDER,
    CLIENT_FINISHED,
    SERVER_FINISHED,
    SERVER_CV,
    CLIENT_CV,
    SERVER_CHAIN,
    CLIENT_CHAIN,
    NUM_WHICH
} which;

static const struct {
    const char *name;
    td_role checker;  /* the side whose check is skipped in fuzzer mode */
    const char *rule; /* what it reports in normal mode */
} k_cases[NUM_WHICH] = {
    [RECORD_TAG] = {"record-tag", TD_ROLE_SERVER, "REC-BAD-MAC"},
    [BINDER] = {"binder", TD_ROLE_SERVER, "PSK-BINDER-INVALID"},
    [CLIENT_FINISHED] = {"client-finished", TD_ROLE_SERVER, "FIN-BAD"},
    [SERVER_FINISHED] = {"server-finished", TD_ROLE_CLIENT, "FIN-BAD"},
    [SERVER_CV] = {"server-cv", TD_ROLE_CLIENT, "CV-BAD-SIGNATURE"},
    [CLIENT_CV] = {"client-cv", TD_ROLE_SERVER, "CV-BAD-SIGNATURE"},
    [SERVER_CHAIN] = {"server-chain", TD_ROLE_CLIENT, "CT-SERVER-CHAIN-UNACCEPTABLE"},
    [CLIENT_CHAIN] = {"client-chain", TD_ROLE_SERVER, "CT-CLIENT-CHAIN-UNACCEPTABLE"},
};

static void setup(which w, td_config *cc, td_config *sc)
{
    *cc = g_fx.ccfg;
    *sc = g_fx.scfg;
    switch (w) {
    case RECORD_TAG: break; /* flip_tags */
    case BINDER:
        cc->resume = &g_sess;
        cc->msg_hook = corrupt_binders;
        break;
    case CLIENT_FINISHED: cc->bugs.bad_finished = true; break;
    case SERVER_FINISHED: sc->bugs.bad_finished = true; break;
    case SERVER_CV: sc->bugs.bad_signature = true; break;
    case CLIENT_CV:
        sc->client_auth = TD_CLIENT_AUTH_REQUIRE;
        cc->certs = &g_fx.cck;
        cc->num_certs = 1;
        cc->bugs.bad_signature = true;
        break;
    case SERVER_CHAIN:
        cc->trust_anchor = g_other_ca[0].data;
        cc->trust_anchor_len = g_other_ca[0].len;
        break;
    case CLIENT_CHAIN:
        sc->client_auth = TD_CLIENT_AUTH_REQUIRE;
        cc->certs = &g_fx.cck;
        cc->num_certs = 1;
        sc->trust_anchor = g_other_ca[0].data;
        sc->trust_anchor_len = g_other_ca[0].len;
        break;
    case NUM_WHICH: break;
    }
}

static void test_skips(void)
{
    for (int w = 0; w < NUM_WHICH; w++) {
        for (int fm = 0; fm < 2; fm++) {
            td_config cc, sc;
            setup((which)w, &cc, &sc);
            cc.fuzzer_mode = sc.fuzzer_mode = fm;
            if (w == BINDER && fm)
                cc.resume = &g_sess_fm;
            td_pair *p =
                fx_run_twice(&cc, &sc, w == RECORD_TAG ? flip_tags : NULL, NULL, NULL, NULL);
            TD_REQUIRE(p != NULL);
            td_conn *chk =
                k_cases[w].checker == TD_ROLE_SERVER ? td_pair_server(p) : td_pair_client(p);
            const td_status *st = td_conn_status(chk);
            if (fm) {
                /* Skipped: the handshake completes on both sides. */
                if (st->phase != TD_PHASE_CONNECTED)
                    fprintf(stderr, "  case %s (fuzzer mode)\n", k_cases[w].name);
                TD_EXPECT_EQ(td_conn_status(td_pair_client(p))->phase, TD_PHASE_CONNECTED);
                TD_EXPECT_EQ(td_conn_status(td_pair_server(p))->phase, TD_PHASE_CONNECTED);
                if (w == BINDER)
                    TD_EXPECT(td_conn_status(td_pair_server(p))->resumed);
            } else {
                /* Normal mode rejects with the rule and an allowed alert. */
                const td_rule_info *ri = td_rule_get(st->diag.rule);
                if (st->phase != TD_PHASE_FAILED || ri == NULL ||
                    strcmp(ri->id, k_cases[w].rule) != 0)
                    fprintf(stderr, "  case %s (normal): %s, rule %s\n", k_cases[w].name,
                            td_phase_name(st->phase), ri ? ri->id : "-");
                TD_EXPECT_EQ(st->phase, TD_PHASE_FAILED);
                TD_EXPECT(ri != NULL && strcmp(ri->id, k_cases[w].rule) == 0);
                fx_expect_alert_allowed(k_cases[w].name, st);
            }
            td_pair_free(p);
        }
    }
}

/* Fuzzer mode on one side only: its plaintext records do not authenticate
 * at a normal peer (REC-BAD-MAC), so a peer in fuzzer mode cannot talk to
 * one that is not, in either role. */
static void test_both_ends(void)
{
    for (int fm_client = 0; fm_client < 2; fm_client++) {
        td_config cc = g_fx.ccfg, sc = g_fx.scfg;
        cc.fuzzer_mode = fm_client;
        sc.fuzzer_mode = !fm_client;
        td_pair *p = fx_run_twice(&cc, &sc, NULL, NULL, NULL, NULL);
        TD_REQUIRE(p != NULL);
        /* The normal side reads the first protected record. */
        const td_status *st = td_conn_status(fm_client ? td_pair_server(p) : td_pair_client(p));
        TD_EXPECT_EQ(st->phase, TD_PHASE_FAILED);
        TD_EXPECT_EQ(st->diag.rule, TD_RULE_REC_BAD_MAC);
        fx_expect_alert_allowed("one side in fuzzer mode", st);
        td_pair_free(p);
    }
}

/* Fuzzer mode's tickets are not encrypted (a fuzzer can write one): a
 * fuzzer-mode server resumes its own, and a normal server cannot open them;
 * a normal server's ticket means nothing to a fuzzer-mode server. */
static void test_tickets(void)
{
    for (int fm = 0; fm < 2; fm++) {
        for (int own = 0; own < 2; own++) {
            td_config cc = g_fx.ccfg, sc = g_fx.scfg;
            cc.fuzzer_mode = sc.fuzzer_mode = fm;
            /* own: the ticket of a server in the same mode */
            cc.resume = fm == own ? &g_sess_fm : &g_sess;
            td_pair *p = fx_run_twice(&cc, &sc, NULL, NULL, NULL, NULL);
            TD_REQUIRE(p != NULL);
            const td_status *st = td_conn_status(td_pair_server(p));
            TD_EXPECT_EQ(st->phase, TD_PHASE_CONNECTED);
            TD_EXPECT_EQ(st->resumed, (bool)own);
            td_pair_free(p);
        }
    }
    /* The fuzzer-mode ticket carries its plaintext: the resumption PSK. */
    const uint8_t *id = g_sess_fm.ticket;
    TD_EXPECT(g_sess_fm.ticket_len > TD_AEAD_NONCE_LEN + TD_AEAD_TAG_LEN);
    TD_EXPECT_EQ(id[TD_AEAD_NONCE_LEN], 1); /* the ticket format's version */
}

/* Makes the first binder of a resumption ClientHello 33 bytes (SHA-256 PSK: 32). */
static td_err short_binders(void *arg, td_conn *c, td_msg *m, td_binder_mode *mode)
{
    (void)arg, (void)c, (void)mode;
    if (m->type == TD_MSG_CLIENT_HELLO && m->u.ch.ext.num_psk_binders > 0)
        return td_mut_psk_binder_length(m, 0, 33);
    return TD_OK;
}

/* Fuzzer mode leaves a binder's value unchecked, not its length. */
static void test_binder_length_checked(void)
{
    td_config cc = g_fx.ccfg, sc = g_fx.scfg;
    cc.fuzzer_mode = sc.fuzzer_mode = true;
    cc.resume = &g_sess_fm;
    cc.msg_hook = short_binders;
    td_pair *p = fx_run_twice(&cc, &sc, NULL, NULL, NULL, NULL);
    TD_REQUIRE(p != NULL);
    const td_status *st = td_conn_status(td_pair_server(p));
    TD_EXPECT_EQ(st->phase, TD_PHASE_FAILED);
    TD_EXPECT_EQ(st->diag.rule, TD_RULE_PSK_BINDER_INVALID);
    fx_expect_alert_allowed("short binder", st);
    td_pair_free(p);
}

/* A server that rejects 0-RTT skips the early records in fuzzer mode too
 * (they carry the 0-RTT mark, td_rec_cipher_init_null); one that accepts
 * it reads them. */
static void test_early_data(void)
{
    static const uint8_t early[] = "early data in fuzzer mode";
    for (int accept = 0; accept < 2; accept++) {
        td_config cc = g_fx.ccfg, sc = g_fx.scfg;
        cc.fuzzer_mode = sc.fuzzer_mode = true;
        cc.resume = &g_sess_fm;
        cc.early_data = early;
        cc.early_data_len = sizeof(early) - 1;
        sc.accept_early_data = accept;
        td_pair *p = fx_run_twice(&cc, &sc, NULL, NULL, NULL, NULL);
        TD_REQUIRE(p != NULL);
        const td_status *st = td_conn_status(td_pair_server(p));
        if (st->phase != TD_PHASE_CONNECTED)
            show_failure("server", td_pair_server(p));
        TD_EXPECT_EQ(st->phase, TD_PHASE_CONNECTED);
        TD_EXPECT_EQ(td_conn_status(td_pair_client(p))->phase, TD_PHASE_CONNECTED);
        TD_EXPECT(st->resumed);
        TD_EXPECT_EQ(st->early_data_accepted, (bool)accept);
        td_pair_free(p);
    }
}

/* Checks that fuzzer mode does not cover still fire in it. */
static void test_other_checks_unchanged(void)
{
    static const struct {
        const char *bug;
        bool server_bug; /* the knob is the server's (the client checks) */
        td_rule rule;
    } k[] = {
        {"duplicate_key_share", false, TD_RULE_KS_DUPLICATE_GROUP},
        {"second_hrr", true, TD_RULE_HRR_SECOND},
        {"cookie_in_sh", true, TD_RULE_COOKIE_IN_SH},
    };
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        td_config cc = g_fx.ccfg, sc = g_fx.scfg;
        cc.fuzzer_mode = sc.fuzzer_mode = true;
        if (strcmp(k[i].bug, "second_hrr") == 0)
            sc.hrr = TD_HRR_ALWAYS;
        TD_REQUIRE(td_bugs_set(k[i].server_bug ? &sc.bugs : &cc.bugs, k[i].bug, true));
        td_pair *p = fx_run_twice(&cc, &sc, NULL, NULL, NULL, NULL);
        TD_REQUIRE(p != NULL);
        const td_status *st =
            td_conn_status(k[i].server_bug ? td_pair_client(p) : td_pair_server(p));
        if (st->diag.rule != k[i].rule)
            fprintf(stderr, "  %s: rule %s\n", k[i].bug,
                    td_rule_get(st->diag.rule) ? td_rule_get(st->diag.rule)->id : "-");
        TD_EXPECT_EQ(st->phase, TD_PHASE_FAILED);
        TD_EXPECT_EQ(st->diag.rule, k[i].rule);
        fx_expect_alert_allowed(k[i].bug, st);
        td_pair_free(p);
    }
}

int main(void)
{
    if (td_crypto_new(&g_crypto) != TD_OK || !fx_init(&g_fx, g_crypto))
        return 1;
    if (td_certs_from_pem_file(TD_VECTORS_DIR "/certs/other-ca.pem", &g_other_ca,
                               &g_num_other_ca) != TD_OK)
        return 1;
    td_pair *p = NULL;
    bool ok = td_pair_new(&g_fx.ccfg, &g_fx.scfg, &p) == TD_OK && td_pair_run(p, 0) == TD_OK &&
              td_conn_session(td_pair_client(p), &g_sess);
    td_pair_free(p);
    td_config fcc = g_fx.ccfg, fsc = g_fx.scfg;
    fcc.fuzzer_mode = fsc.fuzzer_mode = true;
    p = NULL;
    ok = ok && td_pair_new(&fcc, &fsc, &p) == TD_OK && td_pair_run(p, 0) == TD_OK &&
         td_conn_session(td_pair_client(p), &g_sess_fm);
    td_pair_free(p);
    if (!ok)
        return 1;
    TD_RUN(test_skips);
    TD_RUN(test_tickets);
    TD_RUN(test_both_ends);
    TD_RUN(test_binder_length_checked);
    TD_RUN(test_early_data);
    TD_RUN(test_other_checks_unchanged);
    td_der_list_free(g_other_ca, g_num_other_ca);
    fx_cleanup(&g_fx);
    td_crypto_free(g_crypto);
    return td_test_report("test_fuzzer_mode");
}
