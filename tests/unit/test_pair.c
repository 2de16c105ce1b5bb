/* tests/unit/test_pair.c -- our client against our server, in memory:
 * full handshakes, HelloRetryRequest (with cookie, compatibility mode),
 * client authentication, tickets, resumption, 0-RTT, psk_ke, ALPN.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "td_test.h"

#include "conn_internal.h"
#include "td_pair_fixture.h"
#include "tlsdrill/mutate.h"
#include "tlsdrill/pair.h"

static td_crypto *g_crypto;

typedef struct pair_expect {
    bool hrr, resumed, early, client_auth;
    uint16_t group;
    const char *alpn;
} pair_expect;

static const uint8_t k_app[] = "hello";

static void run_pair(pair_fx *f, const char *name, const pair_expect *e, td_session *out_sess)
{
    td_pair *p = NULL;
    td_test_current = name;
    TD_REQUIRE(td_pair_new(&f->ccfg, &f->scfg, &p) == TD_OK);
    TD_EXPECT(td_pair_run(p, 0) == TD_OK);
    td_conn *c = td_pair_client(p), *s = td_pair_server(p);
    show_failure("client", c);
    show_failure("server", s);
    const td_status *cs = td_conn_status(c), *ss = td_conn_status(s);
    TD_EXPECT_EQ(cs->phase, TD_PHASE_CONNECTED);
    TD_EXPECT_EQ(ss->phase, TD_PHASE_CONNECTED);
    TD_EXPECT_EQ(cs->hrr, e->hrr);
    TD_EXPECT_EQ(cs->resumed, e->resumed);
    TD_EXPECT_EQ(ss->resumed, e->resumed);
    TD_EXPECT_EQ(cs->early_data_accepted, e->early);
    TD_EXPECT_EQ(ss->early_data_accepted, e->early);
    TD_EXPECT_EQ(ss->client_authenticated, e->client_auth);
    TD_EXPECT_EQ(cs->group, e->group);
    TD_EXPECT_EQ(cs->suite, ss->suite);
    TD_EXPECT(strcmp(cs->alpn, e->alpn ? e->alpn : "") == 0);
    TD_EXPECT(td_conn_write(c, k_app, 5) == TD_OK);
    TD_EXPECT(td_pair_step(p, NULL) == TD_OK);
    uint8_t buf[64];
    size_t n = td_conn_read(s, buf, sizeof(buf));
    TD_EXPECT_EQ(n, (e->early ? f->ccfg.early_data_len : 0) + 5);
    if (out_sess != NULL)
        TD_EXPECT(td_conn_session(c, out_sess));
    td_pair_free(p);
}

static void test_pair_matrix(void)
{
    pair_fx f;
    TD_REQUIRE(fx_init(&f, g_crypto));
    static const uint8_t early[] = "early!";
    static const uint16_t sha384_only[] = {TD_TLS_AES_256_GCM_SHA384};
    static const uint16_t p384_only[] = {TD_GROUP_SECP384R1};
    static const char *const calpn[] = {"h2", "http/1.1"};
    static const char *const salpn[] = {"http/1.1"};
    td_session sess;

    run_pair(&f, "full", &(pair_expect){.group = TD_GROUP_X25519}, NULL);
    /* The server's HRR asks for its next group: secp256r1. */
    f.scfg.hrr = TD_HRR_ALWAYS;
    run_pair(&f, "hrr", &(pair_expect){.hrr = true, .group = TD_GROUP_SECP256R1}, NULL);
    f.scfg.hrr_cookie = true;
    run_pair(&f, "hrr-cookie", &(pair_expect){.hrr = true, .group = TD_GROUP_SECP256R1}, NULL);
    f.ccfg.compat_mode = true;
    run_pair(&f, "hrr-cookie-compat", &(pair_expect){.hrr = true, .group = TD_GROUP_SECP256R1},
             NULL);
    f.scfg.hrr = TD_HRR_AUTO;
    run_pair(&f, "compat", &(pair_expect){.group = TD_GROUP_X25519}, NULL);
    f.scfg.client_auth = TD_CLIENT_AUTH_REQUIRE;
    f.ccfg.certs = &f.cck;
    f.ccfg.num_certs = 1;
    run_pair(&f, "client-auth", &(pair_expect){.client_auth = true, .group = TD_GROUP_X25519},
             NULL);
    f.scfg.client_auth = TD_CLIENT_AUTH_REQUEST;
    f.ccfg.num_certs = 0;
    run_pair(&f, "client-auth-empty", &(pair_expect){.group = TD_GROUP_X25519}, NULL);
    f.scfg.client_auth = TD_CLIENT_AUTH_NONE;
    f.ccfg.compat_mode = false;
    run_pair(&f, "ticket", &(pair_expect){.group = TD_GROUP_X25519}, &sess);
    f.ccfg.resume = &sess;
    run_pair(&f, "resume", &(pair_expect){.resumed = true, .group = TD_GROUP_X25519}, NULL);
    f.ccfg.early_data = early;
    f.ccfg.early_data_len = 6;
    run_pair(&f, "resume-0rtt",
             &(pair_expect){.resumed = true, .early = true, .group = TD_GROUP_X25519}, NULL);
    f.ccfg.compat_mode = true;
    run_pair(&f, "resume-0rtt-compat",
             &(pair_expect){.resumed = true, .early = true, .group = TD_GROUP_X25519}, NULL);
    f.scfg.hrr = TD_HRR_ALWAYS;
    run_pair(&f, "resume-0rtt-hrr",
             &(pair_expect){.hrr = true, .resumed = true, .group = TD_GROUP_SECP256R1}, NULL);
    f.scfg.hrr = TD_HRR_AUTO;
    f.ccfg.compat_mode = false;
    f.ccfg.early_data = NULL;
    f.ccfg.early_data_len = 0;
    f.ccfg.psk_ke_only = true;
    run_pair(&f, "resume-psk-ke", &(pair_expect){.resumed = true}, NULL);
    f.ccfg.psk_ke_only = false;
    f.scfg.suites = sha384_only;
    f.scfg.num_suites = 1;
    run_pair(&f, "resume-other-hash", &(pair_expect){.group = TD_GROUP_X25519}, NULL);
    f.scfg.num_suites = 0;
    f.ccfg.alpn = calpn;
    f.ccfg.num_alpn = 2;
    f.scfg.alpn = salpn;
    f.scfg.num_alpn = 1;
    run_pair(&f, "alpn",
             &(pair_expect){.resumed = true, .group = TD_GROUP_X25519, .alpn = "http/1.1"}, NULL);
    f.ccfg.resume = NULL;
    f.scfg.groups = p384_only;
    f.scfg.num_groups = 1;
    run_pair(&f, "hrr-group",
             &(pair_expect){.hrr = true, .group = TD_GROUP_SECP384R1, .alpn = "http/1.1"}, NULL);
    fx_cleanup(&f);
}

/* Steps |p| until nothing moves (bounded). */
static void settle(td_pair *p)
{
    bool moved = true;
    for (int i = 0; moved && i < 16; i++)
        TD_EXPECT(td_pair_step(p, &moved) == TD_OK);
}

/* RFC 8446 §4.6.2: post-handshake client authentication, both sides. */
static void test_pair_post_handshake_auth(void)
{
    pair_fx f;
    TD_REQUIRE(fx_init(&f, g_crypto));
    td_pair *p = NULL;
    uint8_t buf[16];

    /* A client with a certificate; the server asks once the handshake is
     * done, then twice more at once (two requests outstanding), then once
     * more after a KeyUpdate in each direction: the Finished is keyed by
     * the current client_application_traffic_secret_N (§4.4). */
    td_test_current = "pha-cert";
    f.ccfg.offer_post_handshake_auth = true;
    f.ccfg.certs = &f.cck;
    f.ccfg.num_certs = 1;
    f.scfg.post_handshake_auth = TD_CLIENT_AUTH_REQUIRE;
    TD_REQUIRE(td_pair_new(&f.ccfg, &f.scfg, &p) == TD_OK);
    TD_EXPECT(td_pair_run(p, 0) == TD_OK);
    settle(p);
    td_conn *c = td_pair_client(p), *s = td_pair_server(p);
    show_failure("client", c);
    show_failure("server", s);
    TD_EXPECT(td_conn_status(s)->post_handshake_auth);
    TD_EXPECT_EQ(td_conn_status(s)->post_handshake_auths, 1u);
    TD_EXPECT(td_conn_status(s)->client_authenticated);
    TD_EXPECT_EQ(td_conn_status(s)->client_sigalg, TD_SIG_ECDSA_SECP256R1_SHA256);
    TD_EXPECT_EQ(td_conn_status(c)->post_handshake_auths, 1u);
    TD_EXPECT(td_conn_request_client_auth(s) == TD_OK);
    TD_EXPECT(td_conn_request_client_auth(s) == TD_OK);
    TD_EXPECT(td_conn_write(c, k_app, 5) == TD_OK);
    settle(p);
    TD_EXPECT_EQ(td_conn_status(s)->post_handshake_auths, 3u);
    TD_EXPECT_EQ(td_conn_read(s, buf, sizeof(buf)), 5u);
    TD_EXPECT(td_conn_key_update(c, true) == TD_OK);
    settle(p);
    TD_EXPECT(td_conn_request_client_auth(s) == TD_OK);
    settle(p);
    TD_EXPECT_EQ(td_conn_status(s)->post_handshake_auths, 4u);
    TD_EXPECT_EQ(td_conn_status(c)->post_handshake_auths, 4u);
    TD_EXPECT_EQ(td_conn_status(s)->phase, TD_PHASE_CONNECTED);
    TD_EXPECT_EQ(td_conn_status(c)->phase, TD_PHASE_CONNECTED);
    /* A limit on unanswered requests: the client's answers are not fed. */
    for (int i = 0; i < TD_MAX_PHA_PENDING; i++)
        TD_EXPECT(td_conn_request_client_auth(s) == TD_OK);
    TD_EXPECT(td_conn_request_client_auth(s) == TD_ERR_LIMIT);
    td_pair_free(p);

    /* No certificate: an empty Certificate and Finished. REQUEST accepts
     * it, REQUIRE refuses it with certificate_required (§4.4.2.4). */
    td_test_current = "pha-empty";
    f.ccfg.num_certs = 0;
    f.scfg.post_handshake_auth = TD_CLIENT_AUTH_REQUEST;
    TD_REQUIRE(td_pair_new(&f.ccfg, &f.scfg, &p) == TD_OK);
    TD_EXPECT(td_pair_run(p, 0) == TD_OK);
    settle(p);
    s = td_pair_server(p);
    show_failure("server", s);
    TD_EXPECT_EQ(td_conn_status(s)->post_handshake_auths, 1u);
    TD_EXPECT(!td_conn_status(s)->client_authenticated);
    td_pair_free(p);
    f.scfg.post_handshake_auth = TD_CLIENT_AUTH_REQUIRE;
    TD_REQUIRE(td_pair_new(&f.ccfg, &f.scfg, &p) == TD_OK);
    TD_EXPECT(td_pair_run(p, 0) == TD_OK);
    settle(p);
    const td_status *ss = td_conn_status(td_pair_server(p));
    TD_EXPECT_EQ(ss->phase, TD_PHASE_FAILED);
    TD_EXPECT(ss->diag.rule == TD_RULE_CT_CLIENT_EMPTY);
    TD_EXPECT(td_conn_status(td_pair_client(p))->alert_received &&
              td_conn_status(td_pair_client(p))->alert_received_desc ==
                  TD_ALERT_certificate_required);
    td_pair_free(p);

    /* §4.2.6: no request to a client that did not offer post_handshake_auth. */
    td_test_current = "pha-not-offered";
    f.ccfg.offer_post_handshake_auth = false;
    TD_REQUIRE(td_pair_new(&f.ccfg, &f.scfg, &p) == TD_OK);
    TD_EXPECT(td_pair_run(p, 0) == TD_OK);
    settle(p);
    s = td_pair_server(p);
    TD_EXPECT(!td_conn_status(s)->post_handshake_auth);
    TD_EXPECT_EQ(td_conn_status(s)->phase, TD_PHASE_CONNECTED);
    TD_EXPECT(td_conn_request_client_auth(s) == TD_ERR_ARG);
    TD_EXPECT(td_conn_request_client_auth(td_pair_client(p)) == TD_ERR_ARG);
    td_pair_free(p);

    /* Resumed (PSK) connections may authenticate the client afterwards too. */
    td_test_current = "pha-resumed";
    td_session sess;
    f.ccfg.offer_post_handshake_auth = true;
    f.ccfg.certs = &f.cck;
    f.ccfg.num_certs = 1;
    TD_REQUIRE(td_pair_new(&f.ccfg, &f.scfg, &p) == TD_OK);
    TD_EXPECT(td_pair_run(p, 0) == TD_OK);
    settle(p);
    TD_EXPECT(td_conn_session(td_pair_client(p), &sess));
    td_pair_free(p);
    f.ccfg.resume = &sess;
    TD_REQUIRE(td_pair_new(&f.ccfg, &f.scfg, &p) == TD_OK);
    TD_EXPECT(td_pair_run(p, 0) == TD_OK);
    settle(p);
    TD_EXPECT(td_conn_status(td_pair_server(p))->resumed);
    TD_EXPECT_EQ(td_conn_status(td_pair_server(p))->post_handshake_auths, 1u);
    TD_EXPECT(td_conn_status(td_pair_server(p))->client_authenticated);
    td_pair_free(p);
    fx_cleanup(&f);
}

/* The client's ClientHello gets signature_algorithms_cert = |g_sig_cert|. */
static uint16_t g_sig_cert[4];
static size_t g_num_sig_cert;

static td_err add_sig_cert(void *arg, td_conn *conn, td_msg *msg, td_binder_mode *mode)
{
    (void)arg;
    (void)conn;
    (void)mode;
    if (msg->type != TD_MSG_CLIENT_HELLO || g_num_sig_cert == 0)
        return TD_OK;
    static uint8_t body[2 + 2 * 4]; /* borrowed by the message until it is sent */
    body[0] = 0;
    body[1] = (uint8_t)(2 * g_num_sig_cert);
    for (size_t i = 0; i < g_num_sig_cert; i++) {
        body[2 + 2 * i] = (uint8_t)(g_sig_cert[i] >> 8);
        body[3 + 2 * i] = (uint8_t)g_sig_cert[i];
    }
    return td_mut_ext_add_raw(msg, TD_EXT_SIGNATURE_ALGORITHMS_CERT, body, 2 + 2 * g_num_sig_cert, -1);
}

/* Which of |f|'s chains the client received: 0 (ck, signed ecdsa-with-SHA256),
 * 1 (|other|, signed ecdsa-with-SHA384), -1 (neither, or no handshake). */
static int served_chain(pair_fx *f, const td_cert_key *other, const char *name)
{
    td_pair *p = NULL;
    td_test_current = name;
    int which = -1;
    f->ccfg.log_messages = true;
    TD_EXPECT(td_pair_new(&f->ccfg, &f->scfg, &p) == TD_OK);
    if (p == NULL)
        return -1;
    TD_EXPECT(td_pair_run(p, 0) == TD_OK);
    td_conn *c = td_pair_client(p);
    show_failure("client", c);
    show_failure("server", td_pair_server(p));
    size_t n = 0;
    const td_msg_record *m = td_conn_messages(c, &n);
    for (size_t i = 0; i < n; i++) {
        if (m[i].sent || m[i].type != TD_MSG_CERTIFICATE)
            continue;
        /* Certificate: header 4, context 1 (0), list length 3, entry length 3. */
        const uint8_t *leaf = m[i].bytes + 11;
        size_t avail = m[i].len - 11;
        if (avail >= f->ck.chain[0].len && memcmp(leaf, f->ck.chain[0].data, f->ck.chain[0].len) == 0)
            which = 0;
        else if (avail >= other->chain[0].len &&
                 memcmp(leaf, other->chain[0].data, other->chain[0].len) == 0)
            which = 1;
    }
    td_pair_free(p);
    f->ccfg.log_messages = false;
    return which;
}

/* RFC 8446 §4.4.2.2, §4.2.3: among several certificates the server prefers
 * one whose chain is signed with a scheme of signature_algorithms_cert (else
 * signature_algorithms), falls back to the first that can sign, and serves
 * a certificate bound to the client's server_name before unbound ones. */
static void test_pair_certificate_choice(void)
{
    pair_fx f;
    TD_REQUIRE(fx_init(&f, g_crypto));
    td_der *chain384 = NULL;
    size_t num384 = 0;
    TD_REQUIRE(td_certs_from_pem_file(TD_VECTORS_DIR "/certs/server-p256-sha384.chain.pem",
                                      &chain384, &num384) == TD_OK &&
               num384 == 2);
    td_cert_key certs[2] = {
        {.chain = chain384, .num_chain = num384, .key = f.key}, /* same key, other CA signature */
        f.ck,
    };
    f.scfg.certs = certs;
    f.scfg.num_certs = 2;
    f.ccfg.msg_hook = add_sig_cert;
    /* No signature_algorithms_cert: signature_algorithms (which lists
     * ecdsa_secp384r1_sha384) also covers the chain: the first certificate. */
    g_num_sig_cert = 0;
    TD_EXPECT_EQ(served_chain(&f, &certs[0], "sigalgs-cert-absent"), 1);
    /* Only ecdsa_secp256r1_sha256 for certificates: the second chain. */
    g_sig_cert[0] = TD_SIG_ECDSA_SECP256R1_SHA256;
    g_num_sig_cert = 1;
    TD_EXPECT_EQ(served_chain(&f, &certs[0], "sigalgs-cert-sha256"), 0);
    g_sig_cert[0] = TD_SIG_ECDSA_SECP384R1_SHA384;
    TD_EXPECT_EQ(served_chain(&f, &certs[0], "sigalgs-cert-sha384"), 1);
    /* Neither chain fits: §4.4.2.2's fallback, the first that can sign. */
    g_sig_cert[0] = TD_SIG_ED25519;
    TD_EXPECT_EQ(served_chain(&f, &certs[0], "sigalgs-cert-none"), 1);
    /* A certificate bound to the client's name wins over an unbound one,
     * whatever the order (names compare case-insensitively, RFC 6066 §3). */
    g_num_sig_cert = 0;
    certs[1].sni = "Server.Example";
    TD_EXPECT_EQ(served_chain(&f, &certs[0], "sni-bound"), 0);
    f.ccfg.server_name = "other.example";
    TD_EXPECT_EQ(served_chain(&f, &certs[0], "sni-other"), 1);
    f.ccfg.server_name = "server.example";
    td_der_list_free(chain384, num384);
    fx_cleanup(&f);
}

int main(void)
{
    if (td_crypto_new(&g_crypto) != TD_OK)
        return 1;
    TD_RUN(test_pair_matrix);
    TD_RUN(test_pair_post_handshake_auth);
    TD_RUN(test_pair_certificate_choice);
    td_crypto_free(g_crypto);
    return td_test_report("test_pair");
}
