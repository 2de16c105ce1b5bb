/* tests/unit/test_pair_matrix.c -- engine client against engine server in memory
 * (engine/pair.c, engine/conn.c, client.c, server.c): a matrix of full
 * handshakes over suites x groups x certificates x HRR x PSK x client auth x
 * 0-RTT, each checked for what was negotiated and for application data both
 * ways, and each run twice to prove byte-identical transcripts. */
#include "td_test.h"
#include "td_test_file.h"
#include "tlsdrill/pair.h"

static td_crypto *crypto;

typedef struct cert_set {
    const char *name;
    td_der *chain;
    size_t num_chain;
    td_pkey *key;
    uint16_t scheme;
} cert_set;

static cert_set certs[4] = {
    {"server-p256", NULL, 0, NULL, TD_SIG_ECDSA_SECP256R1_SHA256},
    {"server-p384", NULL, 0, NULL, TD_SIG_ECDSA_SECP384R1_SHA384},
    {"server-rsa2048", NULL, 0, NULL, TD_SIG_RSA_PSS_RSAE_SHA256},
    {"server-ed25519", NULL, 0, NULL, TD_SIG_ED25519},
};
static cert_set client_cert = {"client-p256", NULL, 0, NULL, TD_SIG_ECDSA_SECP256R1_SHA256};
static td_der *ca;
static size_t num_ca;

static char *slurp(const char *name, size_t *out_len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/certs/%s", TD_VECTORS_DIR, name);
    return td_test_read(path, out_len);
}

static bool load_cert(cert_set *c)
{
    char name[128];
    size_t len;
    char *pem;
    bool ok;
    snprintf(name, sizeof(name), "%s.chain.pem", c->name);
    pem = slurp(name, &len);
    ok = pem != NULL && td_certs_from_pem(pem, len, &c->chain, &c->num_chain) == TD_OK;
    free(pem);
    snprintf(name, sizeof(name), "%s.key", c->name);
    pem = slurp(name, &len);
    ok = ok && pem != NULL && td_pkey_from_pem(crypto, pem, len, &c->key) == TD_OK;
    free(pem);
    return ok;
}

static bool setup(void)
{
    size_t len;
    if (td_crypto_new(&crypto) != TD_OK)
        return false;
    for (size_t i = 0; i < 4; i++)
        if (!load_cert(&certs[i]))
            return false;
    if (!load_cert(&client_cert))
        return false;
    char *pem = slurp("ca.pem", &len);
    bool ok = pem != NULL && td_certs_from_pem(pem, len, &ca, &num_ca) == TD_OK && num_ca == 1;
    free(pem);
    return ok;
}

static void teardown(void)
{
    for (size_t i = 0; i < 4; i++) {
        td_der_list_free(certs[i].chain, certs[i].num_chain);
        td_pkey_free(certs[i].key);
    }
    td_der_list_free(client_cert.chain, client_cert.num_chain);
    td_pkey_free(client_cert.key);
    td_der_list_free(ca, num_ca);
    td_crypto_free(crypto);
}

/* One case of the matrix. */
typedef struct pair_case {
    uint16_t suite;
    uint16_t group;
    size_t cert;
    bool hrr;          /* the client shares a group the server does not take */
    bool resume;       /* a second handshake resumes the first one's ticket */
    bool client_auth;  /* server requires a client certificate */
    bool early_data;   /* with resume: 0-RTT offered and accepted */
    const char *seed;
} pair_case;

typedef struct pair_setup {
    uint16_t suite, group, client_groups[2], share_group, sigalg;
    td_cert_key server_ck, client_ck;
    td_config c, s;
} pair_setup;

static const uint8_t early_msg[] = "GET / 0-RTT";

static void make_configs(pair_setup *p, const pair_case *pc)
{
    memset(p, 0, sizeof(*p));
    p->suite = pc->suite;
    p->group = pc->group;
    p->sigalg = certs[pc->cert].scheme;
    p->server_ck = (td_cert_key){certs[pc->cert].chain, certs[pc->cert].num_chain, certs[pc->cert].key, NULL};
    p->client_ck = (td_cert_key){client_cert.chain, client_cert.num_chain, client_cert.key, NULL};
    td_config *both[2] = {&p->c, &p->s};
    for (int i = 0; i < 2; i++) {
        both[i]->crypto = crypto;
        both[i]->seed = (const uint8_t *)pc->seed;
        both[i]->seed_len = strlen(pc->seed);
        both[i]->suites = &p->suite;
        both[i]->num_suites = 1;
        both[i]->trust_anchor = ca[0].data;
        both[i]->trust_anchor_len = ca[0].len;
    }
    p->c.role = TD_ROLE_CLIENT;
    p->s.role = TD_ROLE_SERVER;
    /* Sigalgs: the server's certificate scheme plus the client's. */
    static uint16_t sigalgs[4][2];
    size_t k = pc->cert;
    sigalgs[k][0] = p->sigalg;
    sigalgs[k][1] = TD_SIG_ECDSA_SECP256R1_SHA256;
    p->c.sigalgs = p->s.sigalgs = sigalgs[k];
    p->c.num_sigalgs = p->s.num_sigalgs = p->sigalg == TD_SIG_ECDSA_SECP256R1_SHA256 ? 1 : 2;
    p->s.certs = &p->server_ck;
    p->s.num_certs = 1;
    p->s.groups = &p->group;
    p->s.num_groups = 1;
    if (pc->hrr) {
        /* The client offers another group first and shares only that one. */
        p->client_groups[0] = pc->group == TD_GROUP_X25519 ? TD_GROUP_SECP256R1 : TD_GROUP_X25519;
        p->client_groups[1] = pc->group;
        p->share_group = p->client_groups[0];
        p->c.groups = p->client_groups;
        p->c.num_groups = 2;
        p->c.share_groups = &p->share_group;
        p->c.num_share_groups = 1;
    } else {
        p->c.groups = &p->group;
        p->c.num_groups = 1;
    }
    if (pc->client_auth) {
        p->s.client_auth = TD_CLIENT_AUTH_REQUIRE;
        p->c.certs = &p->client_ck;
        p->c.num_certs = 1;
    }
    if (pc->resume) {
        p->s.num_tickets = 2;
        if (pc->early_data) {
            p->s.max_early_data = 1024;
            p->s.accept_early_data = true;
        }
    }
}

/* Runs one pair to completion; appends both streams to |log| (for the
 * determinism comparison) and checks the outcome. */
static bool run_pair(const td_config *c, const td_config *s, const pair_case *pc, bool resumed, td_cbb *log,
                     td_session *out_session)
{
    td_pair *pair = NULL;
    bool ok = true;
    if (td_pair_new(c, s, &pair) != TD_OK)
        return false;
    ok = td_pair_run(pair, 0) == TD_OK;
    const td_status *cs = td_conn_status(td_pair_client(pair));
    const td_status *ss = td_conn_status(td_pair_server(pair));
    if (cs->phase != TD_PHASE_CONNECTED || ss->phase != TD_PHASE_CONNECTED) {
        fprintf(stderr, "  case suite %04x group %04x cert %zu hrr %d resume %d auth %d 0rtt %d: client %s (%s: %s), server %s (%s: %s)\n",
                pc->suite, pc->group, pc->cert, pc->hrr, resumed, pc->client_auth, pc->early_data,
                td_phase_name(cs->phase), cs->state, cs->diag.text, td_phase_name(ss->phase), ss->state,
                ss->diag.text);
        ok = false;
        goto out;
    }
    TD_EXPECT_EQ(cs->version, 0x0304);
    TD_EXPECT_EQ(cs->suite, pc->suite);
    TD_EXPECT_EQ(ss->suite, pc->suite);
    TD_EXPECT_EQ(cs->resumed, resumed);
    TD_EXPECT_EQ(ss->resumed, resumed);
    TD_EXPECT_EQ(cs->hrr, pc->hrr);
    if (!resumed) {
        TD_EXPECT_EQ(cs->group, pc->group);
        TD_EXPECT_EQ(cs->sigalg, certs[pc->cert].scheme);
        TD_EXPECT_EQ(ss->client_authenticated, pc->client_auth);
    }
    TD_EXPECT_EQ(ss->early_data_accepted, resumed && pc->early_data && !pc->hrr);
    /* Application data both ways, then close_notify. */
    static const uint8_t ping[] = "ping", pong[] = "pong";
    uint8_t buf[64];
    TD_EXPECT(td_conn_write(td_pair_client(pair), ping, sizeof(ping)) == TD_OK);
    TD_EXPECT(td_conn_write(td_pair_server(pair), pong, sizeof(pong)) == TD_OK);
    TD_EXPECT(td_pair_step(pair, NULL) == TD_OK);
    size_t n = td_conn_read(td_pair_server(pair), buf, sizeof(buf));
    if (resumed && pc->early_data && !pc->hrr) {
        TD_EXPECT(n == sizeof(early_msg) + sizeof(ping) && memcmp(buf, early_msg, sizeof(early_msg)) == 0 &&
                  memcmp(buf + sizeof(early_msg), ping, sizeof(ping)) == 0);
    } else {
        TD_EXPECT_MEM(buf, n, ping, sizeof(ping));
    }
    n = td_conn_read(td_pair_client(pair), buf, sizeof(buf));
    TD_EXPECT_MEM(buf, n, pong, sizeof(pong));
    if (out_session != NULL)
        TD_EXPECT(td_conn_session(td_pair_client(pair), out_session));
    TD_EXPECT(td_conn_close(td_pair_client(pair)) == TD_OK);
    TD_EXPECT(td_pair_step(pair, NULL) == TD_OK);
    TD_EXPECT_EQ(td_conn_status(td_pair_server(pair))->phase, TD_PHASE_CLOSED);
    for (int d = 0; d < 2; d++) {
        size_t len;
        const uint8_t *bytes = td_pair_stream(pair, (td_dir)d, &len);
        TD_EXPECT(td_cbb_add_u32(log, (uint32_t)len) && td_cbb_add_bytes(log, bytes, len));
    }
out:
    td_pair_free(pair);
    return ok;
}

/* Runs a case (one or two handshakes) and returns the transcript bytes. */
static uint8_t *run_case(const pair_case *pc, size_t *out_len)
{
    pair_setup p;
    td_session session;
    td_cbb log;
    uint8_t *bytes = NULL;
    make_configs(&p, pc);
    if (!td_cbb_init(&log, 4096))
        return NULL;
    bool ok = run_pair(&p.c, &p.s, pc, false, &log, pc->resume ? &session : NULL);
    if (ok && pc->resume) {
        p.c.resume = &session;
        if (pc->early_data) {
            p.c.early_data = early_msg;
            p.c.early_data_len = sizeof(early_msg);
        }
        p.c.stream = p.s.stream = "resumption";
        ok = run_pair(&p.c, &p.s, pc, true, &log, NULL);
    }
    if (!ok || !td_cbb_finish(&log, &bytes, out_len)) {
        td_cbb_cleanup(&log);
        return NULL;
    }
    return bytes;
}

static const uint16_t suites[] = {TD_TLS_AES_128_GCM_SHA256, TD_TLS_AES_256_GCM_SHA384,
                                  TD_TLS_CHACHA20_POLY1305_SHA256};
static const uint16_t groups[] = {TD_GROUP_X25519, TD_GROUP_SECP256R1, TD_GROUP_SECP384R1};

static void test_matrix_deterministic(void)
{
    int cases = 0, failed = 0;
    for (size_t si = 0; si < 3; si++)
        for (size_t gi = 0; gi < 3; gi++)
            for (size_t ci = 0; ci < 4; ci++)
                for (int variant = 0; variant < 6; variant++) {
                    /* variant: 0 full, 1 HRR, 2 client auth, 3 resume, 4 resume+0-RTT, 5 HRR+auth+resume */
                    pair_case pc = {suites[si], groups[gi], ci, variant == 1 || variant == 5,
                                    variant >= 3, variant == 2 || variant == 5, variant == 4, "matrix"};
                    size_t len1 = 0, len2 = 0;
                    uint8_t *t1 = run_case(&pc, &len1);
                    uint8_t *t2 = run_case(&pc, &len2);
                    cases++;
                    if (t1 == NULL || t2 == NULL) {
                        failed++;
                    } else {
                        TD_EXPECT_MEM(t1, len1, t2, len2); /* same config, same bytes */
                    }
                    free(t1);
                    free(t2);
                }
    TD_EXPECT_EQ(failed, 0);
    TD_EXPECT_EQ(cases, 3 * 3 * 4 * 6);
    printf("test_pair_matrix: %d matrix cases, each run twice, %d failed\n", cases, failed);
}

/* The crypto memo (crypto.h) is transparent: every case of the matrix, over
 * every group the engine has, gives the same bytes with the memo off, with
 * it on and empty, and with it on and holding that case's results. */
static void test_matrix_memo_transparent(void)
{
    static const uint16_t all_groups[] = {TD_GROUP_X25519,    TD_GROUP_SECP256R1,
                                          TD_GROUP_SECP384R1, TD_GROUP_SECP521R1,
                                          TD_GROUP_X448,      TD_GROUP_FFDHE2048,
                                          TD_GROUP_FFDHE3072, TD_GROUP_FFDHE4096};
    enum { NUM_ALL = sizeof(all_groups) / sizeof(all_groups[0]) };
    /* Every group the engine supports is listed: a new one fails here until
     * it is added. */
    for (uint32_t id = 0; id <= 0xffff; id++) {
        bool listed = false;
        for (size_t gi = 0; gi < NUM_ALL; gi++)
            listed = listed || all_groups[gi] == id;
        if (td_group_supported((uint16_t)id) != listed)
            printf("test_pair_matrix: group 0x%04x supported %d, listed %d\n", (unsigned)id,
                   td_group_supported((uint16_t)id), listed);
        TD_EXPECT(td_group_supported((uint16_t)id) == listed);
    }
    int cases = 0, failed = 0;
    for (size_t si = 0; si < 3; si++)
        for (size_t gi = 0; gi < NUM_ALL; gi++)
            for (size_t ci = 0; ci < 4; ci++)
                for (int variant = 0; variant < 6; variant++) {
                    pair_case pc = {suites[si], all_groups[gi], ci, variant == 1 || variant == 5,
                                    variant >= 3, variant == 2 || variant == 5, variant == 4, "memo"};
                    size_t len[3] = {0, 0, 0};
                    uint8_t *t[3];
                    for (int run = 0; run < 3; run++) {
                        TD_REQUIRE(td_crypto_set_memo(crypto, run > 0) == TD_OK);
                        t[run] = run_case(&pc, &len[run]);
                    }
                    cases++;
                    if (t[0] == NULL || t[1] == NULL || t[2] == NULL) {
                        failed++;
                    } else {
                        TD_EXPECT_MEM(t[0], len[0], t[1], len[1]);
                        TD_EXPECT_MEM(t[0], len[0], t[2], len[2]);
                    }
                    for (int run = 0; run < 3; run++)
                        free(t[run]);
                    /* The memo had something to give: the third run's key
                     * pairs and shared secrets all came from it. */
                    td_crypto_memo_stats kg, dh;
                    td_crypto_memo_stats_get(crypto, TD_MEMO_KEYGEN, &kg);
                    td_crypto_memo_stats_get(crypto, TD_MEMO_ECDH, &dh);
                    TD_EXPECT(kg.hits > 0 && dh.hits > 0);
                    TD_REQUIRE(td_crypto_set_memo(crypto, false) == TD_OK);
                }
    TD_EXPECT_EQ(failed, 0);
    printf("test_pair_matrix: %d cases with the crypto memo off, on and on again: same bytes, "
           "%d failed\n",
           cases, failed);
}

static void test_seed_changes_bytes(void)
{
    pair_case a = {TD_TLS_AES_128_GCM_SHA256, TD_GROUP_X25519, 0, false, false, false, false, "seed-a"};
    pair_case b = a;
    b.seed = "seed-b";
    size_t la, lb;
    uint8_t *ta = run_case(&a, &la), *tb = run_case(&b, &lb);
    TD_REQUIRE(ta != NULL && tb != NULL);
    TD_EXPECT(la != lb || memcmp(ta, tb, la) != 0);
    free(ta);
    free(tb);
}

static void keylog_collect(void *arg, const char *line)
{
    td_cbb *cbb = arg;
    TD_EXPECT(td_cbb_add_bytes(cbb, (const uint8_t *)line, strlen(line)));
}

static void test_keylog_lines(void)
{
    pair_case pc = {TD_TLS_AES_128_GCM_SHA256, TD_GROUP_X25519, 0, false, false, false, false, "keylog"};
    pair_setup p;
    td_cbb lines;
    uint8_t *text = NULL;
    size_t len = 0;
    make_configs(&p, &pc);
    TD_REQUIRE(td_cbb_init(&lines, 1024));
    p.c.keylog = keylog_collect;
    p.c.keylog_arg = &lines;
    td_pair *pair = NULL;
    TD_REQUIRE(td_pair_new(&p.c, &p.s, &pair) == TD_OK);
    TD_EXPECT(td_pair_run(pair, 0) == TD_OK);
    td_pair_free(pair);
    TD_REQUIRE(td_cbb_add_u8(&lines, 0) && td_cbb_finish(&lines, &text, &len));
    static const char *labels[] = {"CLIENT_HANDSHAKE_TRAFFIC_SECRET ", "SERVER_HANDSHAKE_TRAFFIC_SECRET ",
                                   "CLIENT_TRAFFIC_SECRET_0 ", "SERVER_TRAFFIC_SECRET_0 ", "EXPORTER_SECRET "};
    for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
        TD_EXPECT(strstr((const char *)text, labels[i]) != NULL);
    free(text);
}

/* The two sides' message logs agree: what one sent is what the other received. */
static void expect_logs_mirror(td_conn *a, td_conn *b)
{
    size_t na, nb, ia = 0, ib = 0;
    const td_msg_record *la = td_conn_messages(a, &na);
    /* td_conn_messages reuses one view array per connection: copy a's first. */
    td_msg_record *copy = malloc((na ? na : 1) * sizeof(*copy));
    TD_REQUIRE(copy != NULL);
    if (na)
        memcpy(copy, la, na * sizeof(*copy));
    const td_msg_record *lb = td_conn_messages(b, &nb);
    TD_EXPECT_EQ(na, nb);
    while (ia < na && ib < nb) {
        if (!copy[ia].sent) {
            ia++;
            continue;
        }
        while (ib < nb && lb[ib].sent)
            ib++;
        if (ib == nb)
            break;
        TD_EXPECT_MEM(copy[ia].bytes, copy[ia].len, lb[ib].bytes, lb[ib].len);
        ia++;
        ib++;
    }
    free(copy);
}

static void test_message_logs(void)
{
    pair_case pc = {TD_TLS_AES_128_GCM_SHA256, TD_GROUP_X25519, 0, true, false, true, false, "log"};
    pair_setup p;
    make_configs(&p, &pc);
    p.s.num_tickets = 1;
    p.c.log_messages = p.s.log_messages = true;
    td_pair *pair = NULL;
    TD_REQUIRE(td_pair_new(&p.c, &p.s, &pair) == TD_OK);
    TD_EXPECT(td_pair_run(pair, 0) == TD_OK);
    size_t n;
    const td_msg_record *log = td_conn_messages(td_pair_client(pair), &n);
    /* RFC 8446 §2 with HRR and client auth, then a ticket:
     * CH, HRR, CH2, SH, EE, CR, Cert, CV, Fin | Cert, CV, Fin | NST. */
    static const struct {
        bool sent;
        uint8_t type;
    } want[] = {{true, 1},   {false, 2},  {true, 1},   {false, 2},  {false, 8},
                {false, 13}, {false, 11}, {false, 15}, {false, 20}, {true, 11},
                {true, 15},  {true, 20},  {false, 4}};
    TD_EXPECT_EQ(n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < n && i < sizeof(want) / sizeof(want[0]); i++) {
        TD_EXPECT_EQ(log[i].sent, want[i].sent);
        TD_EXPECT_EQ(log[i].type, want[i].type);
        TD_EXPECT_EQ(log[i].bytes[0], want[i].type);
        TD_EXPECT_EQ(log[i].len, 4 + (((size_t)log[i].bytes[1] << 16) | ((size_t)log[i].bytes[2] << 8) |
                                      log[i].bytes[3]));
    }
    expect_logs_mirror(td_pair_client(pair), td_pair_server(pair));
    expect_logs_mirror(td_pair_server(pair), td_pair_client(pair));
    td_pair_free(pair);
    /* Logging is off by default. */
    make_configs(&p, &pc);
    TD_REQUIRE(td_pair_new(&p.c, &p.s, &pair) == TD_OK);
    TD_EXPECT(td_pair_run(pair, 0) == TD_OK);
    TD_EXPECT(td_conn_messages(td_pair_client(pair), &n) == NULL && n == 0);
    td_pair_free(pair);
}

int main(void)
{
    if (!setup()) {
        fprintf(stderr, "test_pair_matrix: cannot load the test certificates from %s/certs\n", TD_VECTORS_DIR);
        return 1;
    }
    TD_RUN(test_matrix_deterministic);
    TD_RUN(test_matrix_memo_transparent);
    TD_RUN(test_seed_changes_bytes);
    TD_RUN(test_keylog_lines);
    TD_RUN(test_message_logs);
    teardown();
    return td_test_report("test_pair_matrix");
}
