/* tests/unit/td_pair_fixture.h -- shared by the tests that run our client
 * against our server in memory (test_pair.c, test_conn.c, test_hooks.c):
 * the test certificates of tests/vectors/certs/ loaded into a client and a
 * server config, and the failure printout. Include once per test program,
 * after td_test.h. */
#ifndef TD_PAIR_FIXTURE_H
#define TD_PAIR_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "td_test.h"
#include "tlsdrill/file.h"
#include "tlsdrill/pair.h"
#include "tlsdrill/rules.h"

/* A server with the P-256 test chain, a client that trusts the test CA
 * (and, for client auth, the client P-256 chain). The configs are plain
 * values: tests edit them freely. */
typedef struct pair_fx {
    td_der *chain, *anchor, *cchain;
    size_t num_chain, num_anchor, num_cchain;
    td_pkey *key, *ckey;
    td_cert_key ck, cck;
    td_config ccfg, scfg;
} pair_fx;

static inline bool fx_init(pair_fx *f, td_crypto *crypto)
{
    static const uint8_t seed[] = "pair";
    memset(f, 0, sizeof(*f));
    if (td_certs_from_pem_file(TD_VECTORS_DIR "/certs/server-p256.chain.pem", &f->chain,
                               &f->num_chain) != TD_OK ||
        td_certs_from_pem_file(TD_VECTORS_DIR "/certs/ca.pem", &f->anchor, &f->num_anchor) !=
            TD_OK ||
        td_pkey_from_pem_file(crypto, TD_VECTORS_DIR "/certs/server-p256.key", &f->key) != TD_OK ||
        td_certs_from_pem_file(TD_VECTORS_DIR "/certs/client-p256.chain.pem", &f->cchain,
                               &f->num_cchain) != TD_OK ||
        td_pkey_from_pem_file(crypto, TD_VECTORS_DIR "/certs/client-p256.key", &f->ckey) != TD_OK)
        return false;
    f->ck = (td_cert_key){.chain = f->chain, .num_chain = f->num_chain, .key = f->key};
    f->cck = (td_cert_key){.chain = f->cchain, .num_chain = f->num_cchain, .key = f->ckey};
    f->ccfg = (td_config){.role = TD_ROLE_CLIENT,
                          .crypto = crypto,
                          .seed = seed,
                          .seed_len = 4,
                          .trust_anchor = f->anchor[0].data,
                          .trust_anchor_len = f->anchor[0].len,
                          .server_name = "server.example"};
    f->scfg = (td_config){.role = TD_ROLE_SERVER,
                          .crypto = crypto,
                          .seed = seed,
                          .seed_len = 4,
                          .certs = &f->ck,
                          .num_certs = 1,
                          .num_tickets = 1,
                          .max_early_data = 1024,
                          .accept_early_data = true,
                          .trust_anchor = f->anchor[0].data,
                          .trust_anchor_len = f->anchor[0].len};
    return true;
}

static inline void fx_cleanup(pair_fx *f)
{
    td_der_list_free(f->chain, f->num_chain);
    td_der_list_free(f->anchor, f->num_anchor);
    td_der_list_free(f->cchain, f->num_cchain);
    td_pkey_free(f->key);
    td_pkey_free(f->ckey);
}

/* Prints why a side is not connected (to stderr, for failing tests). */
static inline void show_failure(const char *who, const td_conn *c)
{
    const td_status *st = td_conn_status(c);
    if (st->phase != TD_PHASE_CONNECTED)
        fprintf(stderr, "  %s %s: phase %s, state %s, rule %s (%s), alert sent %u received %u\n",
                td_test_current, who, td_phase_name(st->phase), st->state,
                td_rule_get(st->diag.rule) ? td_rule_get(st->diag.rule)->id : "-", st->diag.text,
                st->alert_sent ? st->alert_sent_desc : 0,
                st->alert_received ? st->alert_received_desc : 0);
}

/* ---- running a pair, twice ---- */

/* Called before each run to reset the state of stateful hooks. */
typedef void (*fx_reset_fn)(void *arg);

static inline uint8_t *fx_copy(const uint8_t *p, size_t n)
{
    uint8_t *c = malloc(n ? n : 1);
    if (c != NULL && n)
        memcpy(c, p, n);
    return c;
}

/* Runs the pair of |cc| and |sc| (through |icpt| if not NULL) twice and
 * checks that both runs put the same bytes on the wire in both directions
 * and end the same way (determinism: same seed => same bytes). Returns the
 * second pair (owned by the caller), or NULL after a failed check. */
static inline td_pair *fx_run_twice(const td_config *cc, const td_config *sc, td_pair_intercept icpt,
                                    void *iarg, fx_reset_fn reset, void *rarg)
{
    uint8_t *first[2] = {NULL, NULL};
    size_t first_len[2] = {0, 0};
    td_phase first_phase[2] = {TD_PHASE_HANDSHAKE, TD_PHASE_HANDSHAKE};
    td_pair *p = NULL;
    for (int run = 0; run < 2; run++) {
        if (reset != NULL)
            reset(rarg);
        td_pair_free(p);
        p = NULL;
        td_test_checks++;
        if (td_pair_new(cc, sc, &p) != TD_OK) {
            td_test_failures++;
            fprintf(stderr, "%s: td_pair_new failed\n", td_test_current);
            break;
        }
        if (icpt != NULL)
            td_pair_set_intercept(p, icpt, iarg);
        TD_EXPECT(td_pair_run(p, 0) == TD_OK);
        /* td_pair_run is bounded: it never takes all 32 rounds here. */
        TD_EXPECT(td_pair_rounds(p) < 32);
        for (int d = 0; d < 2; d++) {
            size_t n;
            const uint8_t *bytes = td_pair_stream(p, (td_dir)d, &n);
            td_conn *side = d == 0 ? td_pair_client(p) : td_pair_server(p);
            if (run == 0) {
                first[d] = fx_copy(bytes, n);
                first_len[d] = n;
                first_phase[d] = td_conn_status(side)->phase;
            } else {
                TD_EXPECT_MEM(bytes, n, first[d], first_len[d]);
                TD_EXPECT_EQ(td_conn_status(side)->phase, first_phase[d]);
            }
        }
    }
    free(first[0]);
    free(first[1]);
    return p;
}

/* ---- aborts ---- */

/* Aborts checked by fx_expect_alert_allowed (reported by the tests). */
static int td_fx_aborts_checked;

/* The fuzz oracle's invariant: the alert a failed check sent is one its
 * rule allows. Every abort names a rule: our own failures (a hook, a limit)
 * carry LOCAL-INTERNAL, which allows internal_error (§6.2). */
static inline void fx_expect_alert_allowed(const char *who, const td_status *st)
{
    td_test_checks++;
    td_fx_aborts_checked++;
    bool ok = st->alert_sent && td_rule_allows(st->diag.rule, st->alert_sent_desc);
    if (!ok) {
        td_test_failures++;
        fprintf(stderr, "%s: %s: rule %s does not allow alert %s\n", td_test_current, who,
                td_rule_get(st->diag.rule) ? td_rule_get(st->diag.rule)->id : "NONE",
                st->alert_sent ? td_alert_name(st->alert_sent_desc) : "(none sent)");
    }
}

/* What one failure must look like. */
typedef struct abort_want {
    td_role side;         /* the side whose check fails */
    const char *rule;     /* catalogue ID; "LOCAL-INTERNAL" for our own failure (hook, limit) */
    int alert;            /* the alert it sends; -1: any the rule allows */
    int msg_type;         /* status.msg_type; -1: not checked */
    int plain_alert;      /* 1: the alert record is plaintext, 0: protected (AL-KEYS), -1: either */
    long offset;          /* status.diag.offset; -1: not checked */
} abort_want;

static inline bool fx_ends_with(const char *s, const char *suffix)
{
    size_t a = s ? strlen(s) : 0, b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* After a failure the side reads and sends nothing more (§6.1, §6.2,
 * AL-CLOSE-AFTER-FATAL), and the API refuses to carry on. */
static inline void fx_expect_dead(td_conn *c)
{
    static const uint8_t more[] = {22, 3, 3, 0, 4, 20, 0, 0, 0, 21, 3, 3, 0, 2, 2, 40};
    td_status before = *td_conn_status(c);
    const uint8_t *out;
    size_t out_len;
    td_conn_drain(c, &out, &out_len);
    TD_EXPECT_EQ(out_len, 0);
    TD_EXPECT(td_conn_feed(c, more, sizeof(more)) == TD_OK);
    TD_EXPECT(td_conn_write(c, more, 1) == TD_ERR_ARG);
    TD_EXPECT(td_conn_key_update(c, true) == TD_ERR_ARG);
    TD_EXPECT(td_conn_close(c) == TD_OK);
    td_conn_drain(c, &out, &out_len);
    TD_EXPECT_EQ(out_len, 0);
    const td_status *after = td_conn_status(c);
    TD_EXPECT_EQ(after->phase, before.phase);
    TD_EXPECT_EQ(after->bytes_in, before.bytes_in);
    TD_EXPECT_EQ(after->diag.rule, before.diag.rule);
    TD_EXPECT_EQ(after->alert_received, before.alert_received);
    TD_EXPECT_EQ(after->record_index, before.record_index);
}

/* The last record |dir| delivered in |p|, or NULL. */
static inline const td_pair_record *fx_last_record(td_pair *p, td_dir dir)
{
    size_t n;
    const td_pair_record *r = td_pair_records(p, &n);
    for (size_t i = n; i-- > 0;)
        if (r[i].dir == dir)
            return &r[i];
    return NULL;
}

/* Checks one failure on both sides of |p|: the failing side's status (rule,
 * alert, error class, offset, file:line, text, record index, message type),
 * the alert record on the wire (plaintext or protected), the rule/alert
 * invariant, the peer's view (it received that alert, failed, answered
 * nothing), and that both stay silent afterwards. */
static inline void fx_expect_abort(td_pair *p, const abort_want *w)
{
    if (p == NULL)
        return;
    td_conn *failer = w->side == TD_ROLE_CLIENT ? td_pair_client(p) : td_pair_server(p);
    td_conn *peer = w->side == TD_ROLE_CLIENT ? td_pair_server(p) : td_pair_client(p);
    const td_status *st = td_conn_status(failer), *ps = td_conn_status(peer);
    const td_rule_info *ri = td_rule_get(st->diag.rule);
    const char *got = ri ? ri->id : "NONE";
    td_test_checks++;
    if (st->phase != TD_PHASE_FAILED || strcmp(got, w->rule) != 0 || !st->alert_sent ||
        (w->alert >= 0 && st->alert_sent_desc != w->alert)) {
        td_test_failures++;
        fprintf(stderr, "%s: want %s %s/%s, got phase %s rule %s alert %s (%s)\n", td_test_current,
                w->side == TD_ROLE_CLIENT ? "client" : "server", w->rule,
                w->alert >= 0 ? td_alert_name((unsigned)w->alert) : "*", td_phase_name(st->phase),
                got, st->alert_sent ? td_alert_name(st->alert_sent_desc) : "none", st->diag.text);
        show_failure("peer", peer);
        return;
    }
    fx_expect_alert_allowed(w->side == TD_ROLE_CLIENT ? "client" : "server", st);
    TD_EXPECT_EQ(st->alert_sent_level, 2);
    /* The diagnosis is complete. */
    TD_EXPECT(st->diag.err != TD_OK);
    TD_EXPECT(fx_ends_with(st->diag.file, ".c"));
    TD_EXPECT(st->diag.line > 0);
    TD_EXPECT(st->diag.text[0] != '\0');
    if (strcmp(w->rule, "LOCAL-INTERNAL") != 0) /* our own failures need no received record */
        TD_EXPECT(st->record_index >= 0);
    if (w->msg_type >= 0)
        TD_EXPECT_EQ(st->msg_type, w->msg_type);
    if (w->offset >= 0)
        TD_EXPECT_EQ(st->diag.offset, w->offset);
    /* The alert is the last record of its direction. AL-KEYS: once we have
     * keys it goes protected (outer type application_data, 2 + 1 + 16). */
    const td_pair_record *r = fx_last_record(p, w->side == TD_ROLE_CLIENT ? TD_DIR_C2S : TD_DIR_S2C);
    TD_REQUIRE(r != NULL);
    if (w->plain_alert == 1) {
        static const uint8_t hdr[] = {21, 3, 3, 0, 2, 2};
        TD_EXPECT(r->len == 7 && memcmp(r->bytes, hdr, 6) == 0 && r->bytes[6] == st->alert_sent_desc);
    } else if (w->plain_alert == 0) {
        TD_EXPECT(r->len == 5 + 2 + 1 + 16 && r->bytes[0] == 23);
    }
    /* The peer read the alert and stopped (§6.2), without answering. */
    TD_EXPECT(ps->alert_received);
    TD_EXPECT_EQ(ps->alert_received_desc, st->alert_sent_desc);
    TD_EXPECT_EQ(ps->alert_received_level, 2);
    TD_EXPECT_EQ(ps->phase, TD_PHASE_FAILED);
    TD_EXPECT(!ps->alert_sent);
    fx_expect_dead(failer);
    fx_expect_dead(peer);
}

#endif
