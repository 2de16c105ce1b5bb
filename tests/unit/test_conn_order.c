/* tests/unit/test_conn_order.c -- a handshake message of a type the state
 * does not take is out of order (unexpected_message, the state's rule)
 * even when its body is malformed too: the type is judged before the body
 * (RFC 8446 §4, Appendix A). Found by the differential fuzz target: the
 * server answered a ServerHello from a client with illegal_parameter for
 * its compression byte, where libssl (rightly) says unexpected_message.
 * And: no signature scheme in common is an abort before any HRR. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "td_test.h"

#include "td_pair_fixture.h"
#include "tlsdrill/conn.h"
#include "tlsdrill/rules.h"

static td_crypto *g_crypto;

/* Feeds |msg| (a handshake message) in one plaintext record to a fresh
 * connection of |cfg| (after start, draining the client's first flight)
 * and returns its status (copied). */
static td_status feed_msg(const td_config *cfg, const uint8_t *msg, size_t len)
{
    td_status st;
    memset(&st, 0, sizeof(st));
    td_conn *c = NULL;
    uint8_t rec[512];
    const uint8_t *out;
    size_t n;
    if (len > sizeof(rec) - 5 || td_conn_new(cfg, &c) != TD_OK || td_conn_start(c) != TD_OK)
        goto done;
    td_conn_drain(c, &out, &n);
    rec[0] = 22, rec[1] = 3, rec[2] = 3, rec[3] = (uint8_t)(len >> 8), rec[4] = (uint8_t)len;
    memcpy(rec + 5, msg, len);
    if (td_conn_feed(c, rec, len + 5) != TD_OK)
        goto done;
    st = *td_conn_status(c);
done:
    td_conn_free(c);
    return st;
}

static const char *rule_id(const td_status *st)
{
    const td_rule_info *ri = td_rule_get(st->diag.rule);
    return ri != NULL ? ri->id : "none";
}

static void expect_out_of_order(const td_config *cfg, const uint8_t *msg, size_t len,
                                const char *rule)
{
    td_status st = feed_msg(cfg, msg, len);
    TD_EXPECT_EQ(st.phase, TD_PHASE_FAILED);
    TD_EXPECT(st.alert_sent);
    TD_EXPECT_EQ(st.alert_sent_desc, TD_ALERT_unexpected_message);
    if (strcmp(rule_id(&st), rule) != 0)
        fprintf(stderr, "  type %u: rule %s (%s), expected %s\n", msg[0], rule_id(&st),
                st.diag.text, rule);
    TD_EXPECT(strcmp(rule_id(&st), rule) == 0);
}

static void test_server_wrong_type_malformed(void)
{
    pair_fx f;
    TD_REQUIRE(fx_init(&f, g_crypto));
    /* A ServerHello whose compression byte is 0x13 (and nothing after). */
    static const uint8_t sh[] = {2, 0, 0, 38, 3, 3, 1, 1, 1, 1, 1, 1,    1,    1,
                                 1, 1, 1, 1,  1, 1, 1, 1, 1, 1, 1, 1,    1,    1,
                                 1, 1, 1, 1,  1, 1, 1, 1, 1, 1, 0, 0x13, 0x01, 0x13};
    expect_out_of_order(&f.scfg, sh, sizeof(sh), "GEN-UNEXPECTED-ORDER");
    /* EndOfEarlyData with stray bytes (its body is empty). */
    static const uint8_t eoed[] = {5, 0, 0, 3, 1, 2, 3};
    expect_out_of_order(&f.scfg, eoed, sizeof(eoed), "GEN-UNEXPECTED-ORDER");
    /* A CertificateVerify whose signature runs past the end. */
    static const uint8_t cv[] = {15, 0, 0, 6, 4, 3, 0, 9, 1, 2};
    expect_out_of_order(&f.scfg, cv, sizeof(cv), "GEN-UNEXPECTED-ORDER");
    /* A NewSessionTicket, truncated. */
    static const uint8_t nst[] = {4, 0, 0, 5, 0, 0, 0, 1, 0};
    expect_out_of_order(&f.scfg, nst, sizeof(nst), "GEN-UNEXPECTED-ORDER");
    /* A malformed ClientHello is still a decode_error (the state takes it). */
    static const uint8_t ch[] = {1, 0, 0, 3, 3, 3, 0};
    td_status st = feed_msg(&f.scfg, ch, sizeof(ch));
    TD_EXPECT_EQ(st.alert_sent_desc, TD_ALERT_decode_error);
    fx_cleanup(&f);
}

static void test_client_wrong_type_malformed(void)
{
    pair_fx f;
    TD_REQUIRE(fx_init(&f, g_crypto));
    /* Before the ServerHello: a truncated NewSessionTicket keeps its
     * specific rule, a truncated Certificate is out of order. */
    static const uint8_t nst[] = {4, 0, 0, 5, 0, 0, 0, 1, 0};
    expect_out_of_order(&f.ccfg, nst, sizeof(nst), "NST-BEFORE-FINISHED");
    static const uint8_t ct[] = {11, 0, 0, 4, 0, 0, 0, 9};
    expect_out_of_order(&f.ccfg, ct, sizeof(ct), "GEN-UNEXPECTED-ORDER");
    /* A malformed ServerHello is a decode_error. */
    static const uint8_t sh[] = {2, 0, 0, 3, 3, 3, 0};
    td_status st = feed_msg(&f.ccfg, sh, sizeof(sh));
    TD_EXPECT_EQ(st.alert_sent_desc, TD_ALERT_decode_error);
    fx_cleanup(&f);
}

/* RFC 8446 §4.1.1: no scheme our certificate can sign with is decided on
 * the first ClientHello, before a HelloRetryRequest (which the second
 * ClientHello could not answer: §4.1.2 forbids changing the list). Found
 * by the differential target: libssl aborts at once. */
static void test_server_no_sigalg_before_hrr(void)
{
    static const uint16_t groups[] = {0x001e, 0x001d}; /* x448 (server: no), x25519 */
    static const uint16_t share[] = {0x001e};
    static const uint16_t p384_only[] = {0x0503};
    pair_fx f;
    TD_REQUIRE(fx_init(&f, g_crypto));
    td_config cc = f.ccfg;
    cc.groups = groups;
    cc.num_groups = 2;
    cc.share_groups = share;
    cc.num_share_groups = 1;
    cc.sigalgs = p384_only; /* the server's certificate is P-256 */
    cc.num_sigalgs = 1;
    td_conn *cl = NULL, *sv = NULL;
    const uint8_t *out;
    size_t n;
    TD_REQUIRE(td_conn_new(&cc, &cl) == TD_OK && td_conn_start(cl) == TD_OK);
    TD_REQUIRE(td_conn_new(&f.scfg, &sv) == TD_OK && td_conn_start(sv) == TD_OK);
    td_conn_drain(cl, &out, &n);
    TD_EXPECT(td_conn_feed(sv, out, n) == TD_OK);
    const td_status *st = td_conn_status(sv);
    TD_EXPECT(!st->hrr);
    TD_EXPECT_EQ(st->phase, TD_PHASE_FAILED);
    TD_EXPECT_EQ(st->alert_sent_desc, TD_ALERT_handshake_failure);
    TD_EXPECT(strcmp(rule_id(st), "SIGALG-NO-OVERLAP") == 0);
    /* With a scheme that fits, the same flight gets its HRR. */
    td_conn_free(cl);
    td_conn_free(sv);
    cc.sigalgs = NULL;
    cc.num_sigalgs = 0;
    TD_REQUIRE(td_conn_new(&cc, &cl) == TD_OK && td_conn_start(cl) == TD_OK);
    TD_REQUIRE(td_conn_new(&f.scfg, &sv) == TD_OK && td_conn_start(sv) == TD_OK);
    td_conn_drain(cl, &out, &n);
    TD_EXPECT(td_conn_feed(sv, out, n) == TD_OK);
    TD_EXPECT(td_conn_status(sv)->hrr);
    TD_EXPECT_EQ(td_conn_status(sv)->phase, TD_PHASE_HANDSHAKE);
    td_conn_free(cl);
    td_conn_free(sv);
    fx_cleanup(&f);
}

int main(void)
{
    if (td_crypto_new(&g_crypto) != TD_OK)
        return 1;
    TD_RUN(test_server_wrong_type_malformed);
    TD_RUN(test_client_wrong_type_malformed);
    TD_RUN(test_server_no_sigalg_before_hrr);
    td_crypto_free(g_crypto);
    return td_test_report("test_conn_order");
}
