/* tests/unit/test_pair.c -- our client against our server, in memory:
 * full handshakes, HelloRetryRequest (with cookie, compatibility mode),
 * client authentication, tickets, resumption, 0-RTT, psk_ke, ALPN.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "td_test.h"

#include "conn_internal.h"
#include "tlsdrill/pair.h"

static td_crypto *g_crypto;

static const char *slurp(const char *path, size_t *n)
{
    static char bufs[5][16384];
    static int next;
    char *b = bufs[next++ % 5];
    FILE *f = fopen(path, "rb");
    *n = 0;
    if (f == NULL)
        return b;
    *n = fread(b, 1, sizeof(bufs[0]), f);
    fclose(f);
    return b;
}

typedef struct pair_fx {
    td_der *chain, *anchor, *cchain;
    size_t num_chain, num_anchor, num_cchain;
    td_pkey *key, *ckey;
    td_cert_key ck, cck;
    td_config ccfg, scfg;
} pair_fx;

static bool fx_init(pair_fx *f)
{
    static const uint8_t seed[] = "pair";
    size_t n;
    const char *p;
    memset(f, 0, sizeof(*f));
    p = slurp(TD_VECTORS_DIR "/certs/server-p256.chain.pem", &n);
    if (td_certs_from_pem(p, n, &f->chain, &f->num_chain) != TD_OK)
        return false;
    p = slurp(TD_VECTORS_DIR "/certs/ca.pem", &n);
    if (td_certs_from_pem(p, n, &f->anchor, &f->num_anchor) != TD_OK)
        return false;
    p = slurp(TD_VECTORS_DIR "/certs/server-p256.key", &n);
    if (td_pkey_from_pem(g_crypto, p, n, &f->key) != TD_OK)
        return false;
    p = slurp(TD_VECTORS_DIR "/certs/client-p256.chain.pem", &n);
    if (td_certs_from_pem(p, n, &f->cchain, &f->num_cchain) != TD_OK)
        return false;
    p = slurp(TD_VECTORS_DIR "/certs/client-p256.key", &n);
    if (td_pkey_from_pem(g_crypto, p, n, &f->ckey) != TD_OK)
        return false;
    f->ck = (td_cert_key){.chain = f->chain, .num_chain = f->num_chain, .key = f->key};
    f->cck = (td_cert_key){.chain = f->cchain, .num_chain = f->num_cchain, .key = f->ckey};
    f->ccfg = (td_config){.role = TD_ROLE_CLIENT,
                          .crypto = g_crypto,
                          .seed = seed,
                          .seed_len = 4,
                          .trust_anchor = f->anchor[0].data,
                          .trust_anchor_len = f->anchor[0].len,
                          .server_name = "server.example"};
    f->scfg = (td_config){.role = TD_ROLE_SERVER,
                          .crypto = g_crypto,
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

static void fx_cleanup(pair_fx *f)
{
    td_der_list_free(f->chain, f->num_chain);
    td_der_list_free(f->anchor, f->num_anchor);
    td_der_list_free(f->cchain, f->num_cchain);
    td_pkey_free(f->key);
    td_pkey_free(f->ckey);
}

static void show_failure(const char *who, const td_conn *c)
{
    const td_status *st = td_conn_status(c);
    if (st->phase != TD_PHASE_CONNECTED)
        fprintf(stderr, "  %s %s: phase %s, state %s, rule %s (%s), alert sent %u received %u\n",
                td_test_current, who, td_phase_name(st->phase), st->state,
                td_rule_get(st->diag.rule) ? td_rule_get(st->diag.rule)->id : "-", st->diag.text,
                st->alert_sent ? st->alert_sent_desc : 0,
                st->alert_received ? st->alert_received_desc : 0);
}

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
    TD_REQUIRE(fx_init(&f));
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

int main(void)
{
    if (td_crypto_new(&g_crypto) != TD_OK)
        return 1;
    TD_RUN(test_pair_matrix);
    td_crypto_free(g_crypto);
    return td_test_report("test_pair");
}
