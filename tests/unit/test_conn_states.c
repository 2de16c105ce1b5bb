/* tests/unit/test_conn_states.c -- the handshake states as data
 * (TD_HS_STATE_LIST in engine/conn_internal.h): tests over the table, as
 * s2n-tls tests its state machine tables, and the dispatch generated from
 * it driven with every message type in every state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "td_test.h"

#include "conn_internal.h"
#include "td_pair_fixture.h"

static td_crypto *g_crypto;

/* The handshake message types (RFC 8446 §4) and who sends them. */
static const struct {
    uint8_t type;
    bool from_client, from_server;
} k_types[] = {
    {TD_MSG_CLIENT_HELLO, true, false},
    {TD_MSG_SERVER_HELLO, false, true},
    {TD_MSG_NEW_SESSION_TICKET, false, true},
    {TD_MSG_END_OF_EARLY_DATA, true, false},
    {TD_MSG_ENCRYPTED_EXTENSIONS, false, true},
    {TD_MSG_CERTIFICATE, true, true},
    {TD_MSG_CERTIFICATE_REQUEST, false, true},
    {TD_MSG_CERTIFICATE_VERIFY, true, true},
    {TD_MSG_FINISHED, true, true},
    {TD_MSG_KEY_UPDATE, true, true},
};
#define NUM_TYPES (sizeof(k_types) / sizeof(k_types[0]))

static bool is_waiting(const td_hs_state_info *s)
{
    return strncmp(s->name, "C_WAIT_", 7) == 0 || strncmp(s->name, "S_WAIT_", 7) == 0;
}

/* Every row: its name, one role per waiting state, types of the right
 * sender only, and an out-of-order rule that allows unexpected_message. */
static void test_table_shape(void)
{
    bool client_takes[256] = {false}, server_takes[256] = {false};
    for (int i = 0; i < TD_HS_NUM_STATES; i++) {
        const td_hs_state_info *s = td_hs_state_get((td_hs_state)i);
        TD_REQUIRE(s != NULL && s->name != NULL);
        TD_EXPECT(strcmp(td_hs_state_name((td_hs_state)i), s->name) == 0);
        bool client = s->name[0] == 'C' && s->name[1] == '_',
             server = s->name[0] == 'S' && s->name[1] == '_';
        if (!is_waiting(s)) {
            /* START, CONNECTED, CLOSED, FAILED decide late: every type reaches them. */
            TD_EXPECT(s->takes == TD_TAKES_ANY);
            TD_EXPECT((s->client != NULL) == (strcmp(s->name, "CONNECTED") == 0));
            TD_EXPECT((s->server != NULL) == (strcmp(s->name, "CONNECTED") == 0));
            continue;
        }
        TD_EXPECT(s->takes != 0 && s->takes != TD_TAKES_ANY);
        TD_EXPECT((s->client != NULL) == client && (s->server != NULL) == server);
        /* §4, §6.2: a message out of order is unexpected_message. */
        TD_EXPECT(td_rule_allows(s->rule, TD_ALERT_unexpected_message));
        for (size_t t = 0; t < NUM_TYPES; t++) {
            if (!td_hs_state_takes((td_hs_state)i, k_types[t].type))
                continue;
            /* A client state takes only what servers send, and the reverse. */
            if (client && !k_types[t].from_server)
                fprintf(stderr, "%s takes %s, which servers never send\n", s->name,
                        td_msg_type_name(k_types[t].type));
            if (server && !k_types[t].from_client)
                fprintf(stderr, "%s takes %s, which clients never send\n", s->name,
                        td_msg_type_name(k_types[t].type));
            TD_EXPECT(client ? k_types[t].from_server : k_types[t].from_client);
            (client ? client_takes : server_takes)[k_types[t].type] = true;
        }
        TD_EXPECT(!td_hs_state_takes((td_hs_state)i, TD_MSG_MESSAGE_HASH));
    }
    /* Appendix A: every handshake message of the handshake proper has a
     * state that takes it (tickets and KeyUpdate come after it). */
    for (size_t t = 0; t < NUM_TYPES; t++) {
        uint8_t type = k_types[t].type;
        if (type == TD_MSG_NEW_SESSION_TICKET || type == TD_MSG_KEY_UPDATE)
            continue;
        if (k_types[t].from_server)
            TD_EXPECT(client_takes[type]);
        if (k_types[t].from_client)
            TD_EXPECT(server_takes[type]);
    }
}

/* Feeds one handshake message of |type| with an empty body in a plaintext
 * record to a connection of |cfg| put in |state| (then |setup|, if any,
 * sets what the state's history would have). */
static td_status feed_in_state_with(const td_config *cfg, td_hs_state state, uint8_t type,
                                    void (*setup)(td_conn *c))
{
    td_status st;
    memset(&st, 0, sizeof(st));
    td_conn *c = NULL;
    const uint8_t *out;
    size_t n;
    if (td_conn_new(cfg, &c) != TD_OK || td_conn_start(c) != TD_OK)
        goto done;
    td_conn_drain(c, &out, &n);
    c->state = state;
    /* Past the hellos a suite is known (Finished needs its hash). */
    if (strstr(td_hs_state_name(state), "FINISHED") != NULL)
        c->suite = td_suite_get(0x1301);
    if (setup != NULL)
        setup(c);
    uint8_t rec[9] = {22, 3, 3, 0, 4, type, 0, 0, 0};
    if (td_conn_feed(c, rec, sizeof(rec)) != TD_OK && td_conn_status(c)->phase != TD_PHASE_FAILED)
        goto done; /* not a protocol failure: nothing to judge */
    st = *td_conn_status(c);
done:
    td_conn_free(c);
    return st;
}

static td_status feed_in_state(const td_config *cfg, td_hs_state state, uint8_t type)
{
    return feed_in_state_with(cfg, state, type, NULL);
}

/* The generated dispatch: in every waiting state, every type the state
 * does not take is refused with unexpected_message and a rule that allows
 * it; a type it takes reaches the state function (whatever that decides
 * about an empty body, it is not "out of order"). */
static void test_every_state_refuses_what_it_does_not_take(void)
{
    pair_fx f;
    TD_REQUIRE(fx_init(&f, g_crypto));
    int refused = 0;
    for (int i = 0; i < TD_HS_NUM_STATES; i++) {
        const td_hs_state_info *s = td_hs_state_get((td_hs_state)i);
        if (!is_waiting(s))
            continue;
        const td_config *cfg = s->client != NULL ? &f.ccfg : &f.scfg;
        for (size_t t = 0; t < NUM_TYPES; t++) {
            uint8_t type = k_types[t].type;
            td_status st = feed_in_state(cfg, (td_hs_state)i, type);
            TD_EXPECT_EQ(st.phase, TD_PHASE_FAILED);
            bool out_of_order = st.alert_sent && st.alert_sent_desc == TD_ALERT_unexpected_message;
            if (td_hs_state_takes((td_hs_state)i, type)) {
                /* Taken: judged by the state function, not as out of order. */
                if (out_of_order)
                    fprintf(stderr, "%s: %s refused as out of order (%s)\n", s->name,
                            td_msg_type_name(type), st.diag.text);
                TD_EXPECT(!out_of_order);
                continue;
            }
            if (!out_of_order || !td_rule_allows(st.diag.rule, TD_ALERT_unexpected_message))
                fprintf(stderr, "%s: %s: alert %u, rule %s (%s)\n", s->name, td_msg_type_name(type),
                        st.alert_sent_desc,
                        td_rule_get(st.diag.rule) ? td_rule_get(st.diag.rule)->id : "-",
                        st.diag.text);
            TD_EXPECT(out_of_order);
            TD_EXPECT(td_rule_allows(st.diag.rule, TD_ALERT_unexpected_message));
            refused++;
        }
    }
    TD_EXPECT(refused > 80);
    fx_cleanup(&f);
}

/* What the state's history would have set: a suite (every state here is
 * past the hellos; Finished needs its hash) and the `when` of conn.c's
 * k_misplaced rows. */
static void set_suite(td_conn *c)
{
    c->suite = td_suite_get(0x1301);
}
static void set_psk_accepted(td_conn *c)
{
    set_suite(c);
    c->psk_accepted = true;
}
static void set_cert_requested(td_conn *c)
{
    set_suite(c);
    c->cert_requested = true;
}
static void set_peer_cert_empty(td_conn *c)
{
    set_suite(c);
    c->peer_cert_empty = true;
}
static void set_early_data_accepted(td_conn *c)
{
    set_suite(c);
    c->status.early_data_accepted = true;
}

/* A message out of order that has a rule of its own: the rule named is
 * that one, not the state's generic one (each row written out from the
 * RFC here, not read from the engine's table). */
typedef struct misplaced_case {
    bool client;
    td_hs_state state;
    uint8_t type;
    void (*setup)(td_conn *c);
    const char *rule;
} misplaced_case;

static const misplaced_case k_misplaced_cases[] = {
    /* §4.5: EndOfEarlyData is sent by the client only, in any state. */
    {true, TD_HS_C_WAIT_EE, TD_MSG_END_OF_EARLY_DATA, set_suite, "ED-EOED-TO-CLIENT"},
    {true, TD_HS_C_WAIT_FINISHED, TD_MSG_END_OF_EARLY_DATA, set_suite, "ED-EOED-TO-CLIENT"},
    /* §4.6.1: "At any time after the server has received the client Finished
     * message, it MAY send a NewSessionTicket message": not before ours. */
    {true, TD_HS_C_WAIT_CERT_CR, TD_MSG_NEW_SESSION_TICKET, set_suite, "NST-BEFORE-FINISHED"},
    /* §4.6.3: "Implementations that receive a KeyUpdate message prior to
     * receiving a Finished message MUST terminate the connection with an
     * "unexpected_message" alert." */
    {true, TD_HS_C_WAIT_CV, TD_MSG_KEY_UPDATE, set_suite, "KU-BEFORE-FINISHED"},
    {false, TD_HS_S_WAIT_FINISHED, TD_MSG_KEY_UPDATE, set_suite, "KU-BEFORE-FINISHED"},
    /* §4.4.2: "The server MUST send a Certificate message whenever the agreed-upon
     * key exchange method uses certificates for authentication": CertificateVerify
     * or Finished where the server's Certificate belongs, with or without a
     * CertificateRequest before it. */
    {true, TD_HS_C_WAIT_CERT_CR, TD_MSG_CERTIFICATE_VERIFY, set_suite, "CT-SERVER-MISSING"},
    {true, TD_HS_C_WAIT_CERT_CR, TD_MSG_FINISHED, set_suite, "CT-SERVER-MISSING"},
    {true, TD_HS_C_WAIT_CERT, TD_MSG_CERTIFICATE_VERIFY, set_suite, "CT-SERVER-MISSING"},
    {true, TD_HS_C_WAIT_CERT, TD_MSG_FINISHED, set_suite, "CT-SERVER-MISSING"},
    /* §4.3.2: "Servers which are authenticating with a PSK MUST NOT send the
     * CertificateRequest message in the main handshake"; in a certificate
     * handshake it is merely late. */
    {true, TD_HS_C_WAIT_FINISHED, TD_MSG_CERTIFICATE_REQUEST, set_psk_accepted,
     "CR-IN-PSK-HANDSHAKE"},
    {true, TD_HS_C_WAIT_FINISHED, TD_MSG_CERTIFICATE_REQUEST, set_suite, "GEN-UNEXPECTED-ORDER"},
    /* §4.4.2: the client sends a Certificate "if and only if the server has
     * requested client authentication via a CertificateRequest message". */
    {false, TD_HS_S_WAIT_FINISHED, TD_MSG_CERTIFICATE, set_suite, "CT-CLIENT-UNSOLICITED"},
    {false, TD_HS_S_WAIT_FINISHED, TD_MSG_CERTIFICATE, set_cert_requested, "GEN-UNEXPECTED-ORDER"},
    /* §4.4.3: CertificateVerify follows a non-empty Certificate only (in the
     * handshake and after it, §4.6.2). */
    {false, TD_HS_S_WAIT_FINISHED, TD_MSG_CERTIFICATE_VERIFY, set_peer_cert_empty,
     "CV-AFTER-EMPTY-CERT"},
    {false, TD_HS_S_WAIT_PHA_FINISHED, TD_MSG_CERTIFICATE_VERIFY, set_peer_cert_empty,
     "CV-AFTER-EMPTY-CERT"},
    {false, TD_HS_S_WAIT_FINISHED, TD_MSG_CERTIFICATE_VERIFY, set_suite, "GEN-UNEXPECTED-ORDER"},
    /* §4.4.3: a non-empty post-handshake Certificate is followed by CertificateVerify. */
    {false, TD_HS_S_WAIT_PHA_CV, TD_MSG_FINISHED, set_suite, "CV-MISSING"},
    /* §4.5: EndOfEarlyData only when the server accepted 0-RTT. */
    {false, TD_HS_S_WAIT_FINISHED, TD_MSG_END_OF_EARLY_DATA, set_suite, "ED-EOED-UNEXPECTED"},
    {false, TD_HS_S_WAIT_FINISHED, TD_MSG_END_OF_EARLY_DATA, set_early_data_accepted,
     "GEN-UNEXPECTED-ORDER"},
    /* §4.6.1: only servers send NewSessionTicket. */
    {false, TD_HS_S_WAIT_FINISHED, TD_MSG_NEW_SESSION_TICKET, set_suite, "NST-FROM-CLIENT"},
};

static void test_misplaced_rules(void)
{
    pair_fx f;
    TD_REQUIRE(fx_init(&f, g_crypto));
    for (size_t i = 0; i < sizeof(k_misplaced_cases) / sizeof(k_misplaced_cases[0]); i++) {
        const misplaced_case *m = &k_misplaced_cases[i];
        td_status st =
            feed_in_state_with(m->client ? &f.ccfg : &f.scfg, m->state, m->type, m->setup);
        const td_rule_info *ri = td_rule_get(st.diag.rule);
        const char *got = ri != NULL ? ri->id : "-";
        bool ok = st.phase == TD_PHASE_FAILED && st.alert_sent &&
                  st.alert_sent_desc == TD_ALERT_unexpected_message && strcmp(got, m->rule) == 0;
        if (!ok)
            fprintf(stderr, "%s: %s%s: alert %u, rule %s (%s), expected %s\n",
                    td_hs_state_name(m->state), td_msg_type_name(m->type),
                    m->setup != set_suite ? " (with its history)" : "", st.alert_sent_desc, got,
                    st.diag.text, m->rule);
        TD_EXPECT(ok);
    }
    fx_cleanup(&f);
}

/* §4: a client's first message is its ClientHello; fed before it started
 * (state START), it takes nothing: a well-formed EncryptedExtensions (no
 * extensions) is out of order. */
static void test_client_before_start(void)
{
    pair_fx f;
    TD_REQUIRE(fx_init(&f, g_crypto));
    /* A Finished too: before a ServerHello it cannot even be parsed (its
     * length is the suite's hash length), it is out of order all the same. */
    static const uint8_t ee[] = {22, 3, 3, 0, 6, TD_MSG_ENCRYPTED_EXTENSIONS, 0, 0, 2, 0, 0};
    static const uint8_t fin[] = {22, 3, 3, 0, 8, TD_MSG_FINISHED, 0, 0, 4, 1, 2, 3, 4};
    const uint8_t *recs[] = {ee, fin};
    const size_t lens[] = {sizeof(ee), sizeof(fin)};
    for (size_t i = 0; i < 2; i++) {
        td_conn *c = NULL;
        TD_REQUIRE(td_conn_new(&f.ccfg, &c) == TD_OK);
        TD_EXPECT(td_conn_feed(c, recs[i], lens[i]) == TD_OK);
        const td_status *st = td_conn_status(c);
        const td_rule_info *ri = td_rule_get(st->diag.rule);
        if (ri == NULL || strcmp(ri->id, "GEN-UNEXPECTED-ORDER") != 0)
            fprintf(stderr, "START: %s: alert %u, rule %s (%s)\n", td_msg_type_name(recs[i][5]),
                    st->alert_sent_desc, ri ? ri->id : "-", st->diag.text);
        TD_EXPECT_EQ(st->phase, TD_PHASE_FAILED);
        TD_EXPECT_EQ(st->alert_sent_desc, TD_ALERT_unexpected_message);
        TD_EXPECT(ri != NULL && strcmp(ri->id, "GEN-UNEXPECTED-ORDER") == 0);
        td_conn_free(c);
    }
    fx_cleanup(&f);
}

int main(void)
{
    if (td_crypto_new(&g_crypto) != TD_OK)
        return 1;
    TD_RUN(test_table_shape);
    TD_RUN(test_every_state_refuses_what_it_does_not_take);
    TD_RUN(test_misplaced_rules);
    TD_RUN(test_client_before_start);
    td_crypto_free(g_crypto);
    return td_test_report("test_conn_states");
}
