/* tests/unit/test_fuzzer_mode.c -- td_config.fuzzer_mode (conn.h): the
 * checks a fuzzer cannot satisfy (PSK binder, Finished, CertificateVerify
 * signature, certificate chain) are skipped, on the side that has the
 * switch set, and only there; in normal mode each of them still rejects
 * with its rule. Every other check is unchanged in fuzzer mode, and runs
 * stay deterministic (each case runs twice, byte for byte). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "td_test.h"

#include "td_pair_fixture.h"

static td_crypto *g_crypto;
static pair_fx g_fx;
static td_session g_sess;
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

typedef enum which {
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
            td_config *checker = k_cases[w].checker == TD_ROLE_SERVER ? &sc : &cc;
            checker->fuzzer_mode = fm;
            td_pair *p = fx_run_twice(&cc, &sc, NULL, NULL, NULL, NULL);
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

/* The switch on the other side changes nothing: a bad Finished from the
 * client still fails at a server in normal mode when the client has it. */
static void test_only_own_side(void)
{
    td_config cc = g_fx.ccfg, sc = g_fx.scfg;
    cc.bugs.bad_finished = true;
    cc.fuzzer_mode = true;
    td_pair *p = fx_run_twice(&cc, &sc, NULL, NULL, NULL, NULL);
    TD_REQUIRE(p != NULL);
    const td_status *st = td_conn_status(td_pair_server(p));
    TD_EXPECT_EQ(st->phase, TD_PHASE_FAILED);
    TD_EXPECT_EQ(st->diag.rule, TD_RULE_FIN_BAD);
    td_pair_free(p);
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
    if (!ok)
        return 1;
    TD_RUN(test_skips);
    TD_RUN(test_only_own_side);
    TD_RUN(test_other_checks_unchanged);
    td_der_list_free(g_other_ca, g_num_other_ca);
    fx_cleanup(&g_fx);
    td_crypto_free(g_crypto);
    return td_test_report("test_fuzzer_mode");
}
