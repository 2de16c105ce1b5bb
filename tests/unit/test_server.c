/* tests/unit/test_server.c -- engine/server*.c: the server state machine,
 * positive paths.
 *
 *  - RFC 8448 replays, server side: with the trace's randoms, keys and
 *    signature salts injected, our records equal the trace's byte for byte
 *    (§3 simple 1-RTT incl. NewSessionTicket and application data, §4
 *    resumption + 0-RTT, §5 HelloRetryRequest, §6 client authentication,
 *    §7 compatibility mode);
 *  - our own sealed cookie and tickets (HRR round trip, resumption: fresh,
 *    age off, expired, foreign key, psk_ke, second identity, identity cap);
 *  - runs against engine/client.c (full, HRR + cookie + client auth +
 *    compat, resumption with 0-RTT accepted and rejected), and every
 *    server-side bugs.def knob against it.
 * The failure tables are in test_server_checks.c. */
#include "td_server_fixture.h"
#include "tlsdrill/mutate.h"

/* ---- RFC 8448 replays ---- */

static void test_rfc8448_simple(void)
{
    srv s;
    srv_trace(&s, 3, 5, 4, 15, 16);
    const uint8_t *nst = V(3, 48, "NewSessionTicket");
    /* NewSessionTicket: lifetime(4) age_add(4) nonce<1> = 00 00, ticket<2>. */
    s.inj.ticket = nst + 17;
    s.inj.ticket_len = (size_t)nst[15] << 8 | nst[16];
    s.inj.ticket_nonce = nst + 13;
    s.inj.ticket_nonce_len = nst[12];
    s.inj.ticket_age_add = 0xfad6aac5;
    s.inj.has_ticket_age_add = true;
    s.cfg.num_tickets = 1;
    s.cfg.ticket_lifetime_s = 30;
    s.cfg.max_early_data = 1024;
    TD_REQUIRE(s.key != NULL && s.inj.sig_random != NULL);
    TD_REQUIRE(srv_start(&s) == 0);
    feed(&s, REC(3, 2));
    /* ServerHello record, then EncryptedExtensions..Finished in one record. */
    expect_out(&s, REC(3, 12), REC(3, 19), NULL, 0);
    const td_status *st = td_conn_status(s.c);
    TD_EXPECT_EQ(st->phase, TD_PHASE_HANDSHAKE);
    TD_EXPECT(strcmp(st->state, "S_WAIT_FINISHED") == 0);
    feed(&s, REC(3, 41));
    expect_out(&s, REC(3, 49), NULL, 0, NULL, 0);
    TD_EXPECT_EQ(st->phase, TD_PHASE_CONNECTED);
    TD_EXPECT_EQ(st->version, 0x0304);
    TD_EXPECT_EQ(st->suite, 0x1301);
    TD_EXPECT_EQ(st->group, 0x001d);
    TD_EXPECT_EQ(st->sigalg, 0x0804);
    TD_EXPECT(!st->hrr && !st->resumed && !st->early_data_accepted && !st->client_authenticated);
    TD_EXPECT(strcmp(st->sni, "server") == 0);
    TD_EXPECT_MEM(s.c->res_master, 32, V(3, 43, "expanded"), 32);
    /* Application data both ways (§3 steps 51, 52). */
    uint8_t buf[64];
    feed(&s, REC(3, 51));
    TD_EXPECT_EQ(td_conn_read(s.c, buf, sizeof(buf)), VL(3, 51, "payload"));
    TD_EXPECT_MEM(buf, VL(3, 51, "payload"), V(3, 51, "payload"), VL(3, 51, "payload"));
    TD_EXPECT(td_conn_write(s.c, V(3, 52, "payload"), VL(3, 52, "payload")) == TD_OK);
    expect_out(&s, REC(3, 52), NULL, 0, NULL, 0);
    srv_free(&s);
}

static void test_rfc8448_compat(void)
{
    srv s;
    srv_trace(&s, 7, 5, 4, 16, 17);
    TD_REQUIRE(s.key != NULL && s.inj.sig_random != NULL);
    TD_REQUIRE(srv_start(&s) == 0);
    feed(&s, REC(7, 2));
    /* §D.4: ServerHello, the dummy change_cipher_spec, then the flight. */
    expect_out(&s, REC(7, 6), REC(7, 7), REC(7, 20));
    feed(&s, REC(7, 38)); /* the client's CCS is dropped */
    feed(&s, REC(7, 43));
    expect_nothing(&s);
    TD_EXPECT_EQ(td_conn_status(s.c)->phase, TD_PHASE_CONNECTED);
    srv_free(&s);
}

static void test_rfc8448_hrr(void)
{
    srv s;
    srv_hrr(&s, true);
    TD_REQUIRE(s.key != NULL && s.inj.sig_random != NULL && s.inj.hrr_cookie_len == 0x72);
    TD_REQUIRE(srv_start(&s) == 0);
    feed(&s, REC(5, 2));
    expect_out(&s, REC(5, 4), NULL, 0, NULL, 0);
    TD_EXPECT(strcmp(td_conn_status(s.c)->state, "S_WAIT_CH2") == 0);
    feed(&s, REC(5, 7));
    expect_out(&s, REC(5, 17), REC(5, 24), NULL, 0);
    feed(&s, REC(5, 46));
    expect_nothing(&s);
    const td_status *st = td_conn_status(s.c);
    TD_EXPECT_EQ(st->phase, TD_PHASE_CONNECTED);
    TD_EXPECT(st->hrr);
    TD_EXPECT_EQ(st->group, 0x0017);
    srv_free(&s);
}

static void test_rfc8448_client_auth(void)
{
    srv s;
    srv_auth(&s);
    TD_REQUIRE(s.key != NULL);
    TD_REQUIRE(srv_start(&s) == 0);
    feed(&s, REC(6, 2));
    expect_out(&s, REC(6, 12), REC(6, 20), NULL, 0);
    TD_EXPECT(strcmp(td_conn_status(s.c)->state, "S_WAIT_CERT") == 0);
    feed(&s, REC(6, 44));
    expect_nothing(&s);
    const td_status *st = td_conn_status(s.c);
    TD_EXPECT_EQ(st->phase, TD_PHASE_CONNECTED);
    TD_EXPECT(st->client_authenticated);
    TD_EXPECT_EQ(st->client_sigalg, 0x0804);
    TD_EXPECT_EQ(st->sigalg, 0x0403);
    srv_free(&s);
}

static void test_rfc8448_resumption(void)
{
    srv s;
    srv_resume(&s);
    TD_REQUIRE(srv_start(&s) == 0);
    feed(&s, REC(4, 4));
    expect_out(&s, REC(4, 21), REC(4, 26), NULL, 0);
    const td_status *st = td_conn_status(s.c);
    TD_EXPECT(st->resumed && st->early_data_accepted);
    TD_EXPECT(strcmp(st->state, "S_WAIT_EOED") == 0);
    feed(&s, REC(4, 8)); /* 0-RTT application data */
    uint8_t buf[64];
    TD_EXPECT_EQ(td_conn_read(s.c, buf, sizeof(buf)), VL(4, 8, "payload"));
    TD_EXPECT_MEM(buf, VL(4, 8, "payload"), V(4, 8, "payload"), VL(4, 8, "payload"));
    feed(&s, REC(4, 44));
    feed(&s, REC(4, 49));
    expect_nothing(&s);
    TD_EXPECT_EQ(st->phase, TD_PHASE_CONNECTED);
    TD_EXPECT_EQ(st->group, 0x001d);
    srv_free(&s);
}

/* ---- our own cookies and tickets ---- */

static td_cbs g_new_cookie;
static void e2_our_cookie(td_msg *m)
{
    m->u.ch.ext.cookie = g_new_cookie;
    typed(m, TD_EXT_COOKIE);
}

static void test_own_cookie(void)
{
    static uint8_t rec[4096], hrr[1024];
    srv s;
    srv_hrr(&s, false);
    s.cfg.hrr_cookie = true;
    TD_REQUIRE(srv_start(&s) == 0);
    feed(&s, REC(5, 2));
    const uint8_t *out;
    size_t out_len;
    td_conn_drain(s.c, &out, &out_len);
    TD_REQUIRE(out_len > 5 && out_len - 5 <= sizeof(hrr));
    memcpy(hrr, out + 5, out_len - 5);
    g_new_cookie = hrr_cookie_of(hrr, out_len - 5);
    TD_REQUIRE(td_cbs_len(&g_new_cookie) > 0);
    /* The trace's CH2 with our cookie in place of NSS's. */
    size_t n =
        ch_record(V(5, 6, "ClientHello"), VL(5, 6, "ClientHello"), e2_our_cookie, rec, sizeof(rec));
    feed(&s, rec, n);
    const td_status *st = td_conn_status(s.c);
    TD_EXPECT_EQ(st->phase, TD_PHASE_HANDSHAKE);
    TD_EXPECT(strcmp(st->state, "S_WAIT_FINISHED") == 0);
    TD_EXPECT(st->hrr);
    srv_free(&s);
    /* NSS's cookie is not ours. */
    srv_hrr(&s, false);
    s.cfg.hrr_cookie = true;
    TD_REQUIRE(srv_start(&s) == 0);
    feed(&s, REC(5, 2));
    feed(&s, REC(5, 7));
    expect_failed(&s, "foreign cookie", "COOKIE-CH2-MISMATCH", TD_ALERT_illegal_parameter);
    srv_free(&s);
    /* No cookie sent: a cookie in CH2 is a change the HRR did not ask for. */
    srv_hrr(&s, false);
    TD_REQUIRE(srv_start(&s) == 0);
    feed(&s, REC(5, 2));
    feed(&s, REC(5, 7));
    expect_failed(&s, "cookie not asked for", "CH2-NOT-CONFORMANT", TD_ALERT_illegal_parameter);
    srv_free(&s);
}

/* HRR on demand when the client already sent a share for our only group:
 * the HRR carries a cookie and no key_share; CH2 = CH1 + the cookie. */
static void e_add_cookie(td_msg *m)
{
    /* The §3 ClientHello has no pre_shared_key: the cookie may go last. */
    if (td_exts_add(&m->u.ch.exts, TD_EXT_COOKIE, NULL) != TD_OK)
        abort();
    m->u.ch.ext.cookie = g_new_cookie;
}

static void test_cookie_only_hrr(void)
{
    static const uint16_t x25519[] = {TD_GROUP_X25519};
    static uint8_t rec[4096], hrr[1024];
    srv s;
    srv_trace(&s, 3, 5, 4, 15, 16);
    s.cfg.inject = NULL;
    s.cfg.groups = x25519;
    s.cfg.num_groups = 1;
    s.cfg.hrr = TD_HRR_ALWAYS;
    TD_REQUIRE(srv_start(&s) == 0);
    feed(&s, REC(3, 2));
    const uint8_t *out;
    size_t out_len;
    td_conn_drain(s.c, &out, &out_len);
    TD_REQUIRE(out_len > 5 && out_len - 5 <= sizeof(hrr));
    memcpy(hrr, out + 5, out_len - 5);
    td_msg m;
    td_msg_ctx ctx = {.hash_len = 32, .sh_mode = TD_SH_AUTO};
    TD_REQUIRE(td_msg_parse_handshake(hrr, out_len - 5, &ctx, &m, NULL) == TD_OK);
    TD_EXPECT(m.u.sh.is_hrr);
    TD_EXPECT(td_exts_find_const(&m.u.sh.exts, TD_EXT_KEY_SHARE) == NULL);
    TD_EXPECT(td_exts_find_const(&m.u.sh.exts, TD_EXT_COOKIE) != NULL);
    g_new_cookie = m.u.sh.ext.cookie;
    size_t n =
        ch_record(V(3, 1, "ClientHello"), VL(3, 1, "ClientHello"), e_add_cookie, rec, sizeof(rec));
    feed(&s, rec, n);
    TD_EXPECT(strcmp(td_conn_status(s.c)->state, "S_WAIT_FINISHED") == 0);
    TD_EXPECT_EQ(td_conn_status(s.c)->group, TD_GROUP_X25519);
    srv_free(&s);
}

/* A ticket issued by a §3 server of ours. */
typedef struct issued {
    uint8_t ticket[512];
    size_t ticket_len;
    uint8_t nonce[255];
    size_t nonce_len;
    uint32_t age_add, lifetime;
    uint8_t psk[32];
} issued;

static int issue_ticket(issued *t)
{
    srv s;
    uint8_t msg[1024];
    srv_trace(&s, 3, 5, 4, 15, 16);
    s.cfg.num_tickets = 2;
    s.cfg.max_early_data = 1024;
    s.cfg.ticket_lifetime_s = 3600;
    if (srv_start(&s) != 0)
        return -1;
    feed(&s, REC(3, 2));
    const uint8_t *out;
    size_t out_len;
    td_conn_drain(s.c, &out, &out_len);
    feed(&s, REC(3, 41));
    td_conn_drain(s.c, &out, &out_len);
    /* Two tickets in one record; the first is used. */
    size_t n = open_record(V(3, 21, "expanded"), 0, out, out_len, msg, sizeof(msg));
    td_msg m;
    td_msg_ctx ctx = {.hash_len = 32, .sh_mode = TD_SH_AUTO};
    int ret = -1;
    size_t first = n >= 4 ? 4 + ((size_t)msg[1] << 16 | (size_t)msg[2] << 8 | msg[3]) : 0;
    if (first > 4 && first < n && td_msg_parse_handshake(msg, first, &ctx, &m, NULL) == TD_OK &&
        m.type == TD_MSG_NEW_SESSION_TICKET) {
        t->ticket_len = td_cbs_len(&m.u.nst.ticket);
        memcpy(t->ticket, td_cbs_data(&m.u.nst.ticket), t->ticket_len);
        t->nonce_len = td_cbs_len(&m.u.nst.ticket_nonce);
        memcpy(t->nonce, td_cbs_data(&m.u.nst.ticket_nonce), t->nonce_len);
        t->age_add = m.u.nst.ticket_age_add;
        t->lifetime = m.u.nst.ticket_lifetime;
        ret = td_keysched_resumption_psk(g_crypto, TD_HASH_SHA256, V(3, 43, "expanded"), t->nonce,
                                   t->nonce_len, t->psk) == TD_OK
                  ? 0
                  : -1;
    }
    srv_free(&s);
    return ret;
}

static const issued *g_ticket;
static uint32_t g_age_ms;
static bool g_psk_ke_only, g_second_identity;
static const uint8_t k_junk_identity[] = "not a ticket of ours";
static void e_our_ticket(td_msg *m)
{
    td_ext_data *d = &m->u.ch.ext;
    td_cbs_init(&d->psk_identities[0].identity, g_ticket->ticket, g_ticket->ticket_len);
    d->psk_identities[0].obfuscated_ticket_age = g_ticket->age_add + g_age_ms;
    if (g_second_identity) {
        /* An unknown identity first, ours second (its binder is the last one). */
        d->psk_identities[1] = d->psk_identities[0];
        td_cbs_init(&d->psk_identities[0].identity, k_junk_identity, sizeof(k_junk_identity));
        d->psk_binders[1] = d->psk_binders[0];
        d->num_psk_identities = d->num_psk_binders = 2;
    }
    typed(m, TD_EXT_PRE_SHARED_KEY);
    if (g_psk_ke_only) {
        static const uint8_t ke = 0;
        d->psk_modes[0] = ke;
        d->num_psk_modes = 1;
        typed(m, TD_EXT_PSK_KEY_EXCHANGE_MODES);
        remove_ext(m, TD_EXT_KEY_SHARE);
        remove_ext(m, TD_EXT_SUPPORTED_GROUPS);
    }
}

/* The §4 ClientHello offering |t| (binder computed with its PSK). */
static bool g_ext_binder;
static const td_psk_entry *g_psk_entry;
static size_t resumption_ch(const issued *t, uint8_t *rec, size_t cap)
{
    static td_msg m;
    td_msg_ctx ctx = {.hash_len = 32, .sh_mode = TD_SH_AUTO};
    td_cbb cbb;
    uint8_t *data, hash[32], key[32], binder[32];
    size_t n, prefix;
    td_keysched ks;
    g_ticket = t;
    if (td_msg_parse_handshake(V(4, 4, "payload"), VL(4, 4, "payload"), &ctx, &m, NULL) != TD_OK)
        return 0;
    e_our_ticket(&m);
    if (!td_cbb_init(&cbb, 1024) || td_msg_build_ch_truncated(&m, &cbb, &prefix) != TD_OK ||
        !td_cbb_finish(&cbb, &data, &n)) {
        td_cbb_cleanup(&cbb);
        return 0;
    }
    td_keysched_init(&ks, g_crypto, TD_HASH_SHA256);
    if (td_keysched_early(&ks, t->psk, 32) != TD_OK ||
        td_keysched_derive(&ks, g_ext_binder ? TD_KEYSCHED_EXT_BINDER : TD_KEYSCHED_RES_BINDER, NULL, key) !=
            TD_OK ||
        td_hash(g_crypto, TD_HASH_SHA256, data, prefix, hash) != TD_OK ||
        td_keysched_binder(g_crypto, TD_HASH_SHA256, key, hash, binder) != TD_OK)
        n = 0;
    td_keysched_cleanup(&ks);
    if (n > 0)
        memcpy(data + n - 32, binder, 32);
    size_t r = n > 0 ? plain_record(data, n, rec, cap) : 0;
    free(data);
    return r;
}

static unsigned g_max_ids;
static void resume_with(const issued *t, uint64_t advance_ms, uint32_t age_ms, const uint8_t *seed,
                        bool *resumed, bool *early, uint16_t *group, td_phase *phase)
{
    static uint8_t rec[4096];
    srv s;
    srv_trace(&s, 3, 5, 4, 15, 16);
    s.cfg.inject = NULL;
    s.cfg.max_psk_identities = g_max_ids;
    if (g_psk_entry != NULL) {
        s.cfg.psks = g_psk_entry;
        s.cfg.num_psks = 1;
    }
    s.cfg.accept_early_data = true;
    if (seed != NULL)
        s.cfg.seed = seed;
    g_age_ms = age_ms;
    size_t n = resumption_ch(t, rec, sizeof(rec));
    TD_REQUIRE(n > 0 && srv_start(&s) == 0);
    td_clock_advance(td_conn_clock(s.c), advance_ms);
    feed(&s, rec, n);
    const td_status *st = td_conn_status(s.c);
    *resumed = st->resumed;
    *early = st->early_data_accepted;
    *group = st->group;
    *phase = st->phase;
    if (st->phase == TD_PHASE_FAILED)
        fprintf(stderr, "  resumption failed: %s\n", st->diag.text);
    srv_free(&s);
}

/* An external PSK from cfg->psks: "ext binder", its age ignored
 * (TOL-EXTERNAL-PSK-AGE); a binder made with the resumption label fails. */
static void test_external_psk(void)
{
    static const uint8_t id[] = "external psk #1";
    issued t;
    td_psk_entry e;
    bool resumed, early;
    uint16_t group;
    td_phase phase;
    memset(&t, 0, sizeof(t));
    memcpy(t.ticket, id, sizeof(id));
    t.ticket_len = sizeof(id);
    memset(t.psk, 0x5a, sizeof(t.psk));
    memset(&e, 0, sizeof(e));
    e.identity = id;
    e.identity_len = sizeof(id);
    e.psk = t.psk;
    e.psk_len = 32;
    e.suite = 0x1301;
    e.max_early_data = 100;
    g_psk_entry = &e;
    g_ext_binder = true;
    resume_with(&t, 0, 123456789, NULL, &resumed, &early, &group, &phase);
    TD_EXPECT(resumed && early && group == 0x001d && phase == TD_PHASE_HANDSHAKE);
    g_ext_binder = false;
    resume_with(&t, 0, 0, NULL, &resumed, &early, &group, &phase);
    TD_EXPECT(phase == TD_PHASE_FAILED);
    g_psk_entry = NULL;
}

static void test_own_tickets(void)
{
    issued t;
    bool resumed, early;
    uint16_t group;
    td_phase phase;
    TD_REQUIRE(issue_ticket(&t) == 0);
    TD_EXPECT_EQ(t.lifetime, 3600);
    TD_EXPECT(t.ticket_len > 50);
    /* Fresh: PSK accepted with (EC)DHE, 0-RTT accepted. */
    resume_with(&t, 2000, 2000, NULL, &resumed, &early, &group, &phase);
    TD_EXPECT(resumed && early && group == 0x001d && phase == TD_PHASE_HANDSHAKE);
    /* TOL-TICKET-AGE: an age 30 s off: PSK accepted, 0-RTT refused. */
    resume_with(&t, 2000, 32000, NULL, &resumed, &early, &group, &phase);
    TD_EXPECT(resumed && !early && phase == TD_PHASE_HANDSHAKE);
    /* Expired (lifetime 3600 s): a full handshake. */
    resume_with(&t, 3601000, 3601000, NULL, &resumed, &early, &group, &phase);
    TD_EXPECT(!resumed && !early && phase == TD_PHASE_HANDSHAKE);
    /* TOL-UNKNOWN-PSK: another server's ticket key: a full handshake. */
    static const uint8_t other_seed[] = "another server";
    resume_with(&t, 2000, 2000, other_seed, &resumed, &early, &group, &phase);
    TD_EXPECT(!resumed && !early && phase == TD_PHASE_HANDSHAKE);
    /* psk_ke only (no key_share, no supported_groups): no (EC)DHE. */
    g_psk_ke_only = true;
    resume_with(&t, 2000, 2000, NULL, &resumed, &early, &group, &phase);
    g_psk_ke_only = false;
    TD_EXPECT(resumed && group == 0 && phase == TD_PHASE_HANDSHAKE);
    /* Our ticket as the second identity: used (no 0-RTT: not the first);
     * beyond max_psk_identities = 1 it is not even looked at. */
    g_second_identity = true;
    resume_with(&t, 2000, 2000, NULL, &resumed, &early, &group, &phase);
    TD_EXPECT(resumed && !early && phase == TD_PHASE_HANDSHAKE);
    g_max_ids = 1;
    resume_with(&t, 2000, 2000, NULL, &resumed, &early, &group, &phase);
    TD_EXPECT(!resumed && !early && phase == TD_PHASE_HANDSHAKE);
    g_max_ids = 0;
    g_second_identity = false;
}

/* ---- determinism and input splitting ---- */

/* Without injections the same config and input give the same bytes, and
 * the input may arrive one byte at a time. */
static void test_determinism(void)
{
    uint8_t *first = NULL;
    size_t first_len = 0;
    for (int run = 0; run < 3; run++) {
        srv s;
        srv_trace(&s, 3, 5, 4, 15, 16);
        s.cfg.inject = NULL;
        s.cfg.num_tickets = 1;
        TD_REQUIRE(srv_start(&s) == 0);
        const uint8_t *rec = V(3, 2, "complete record");
        size_t len = VL(3, 2, "complete record");
        if (run == 2) {
            for (size_t i = 0; i < len; i++)
                feed(&s, rec + i, 1);
        } else {
            feed(&s, rec, len);
        }
        const uint8_t *out;
        size_t out_len;
        td_conn_drain(s.c, &out, &out_len);
        TD_EXPECT(out_len > 500);
        if (run == 0) {
            first = malloc(out_len);
            memcpy(first, out, out_len);
            first_len = out_len;
        } else {
            TD_EXPECT_MEM(out, out_len, first, first_len);
        }
        srv_free(&s);
    }
    free(first);
}

/* ---- against engine/client.c (two independent state machines) ---- */

typedef struct pki {
    td_der *server_chain, *client_chain, *ca;
    size_t num_server, num_client, num_ca;
    td_pkey *server_key, *client_key;
    td_cert_key server_ck, client_ck;
} pki;

static int load_chain(const char *path, td_der **list, size_t *num)
{
    size_t len;
    char *pem = read_file(path, &len);
    int ok = pem != NULL && td_certs_from_pem(pem, len, list, num) == TD_OK ? 0 : -1;
    free(pem);
    return ok;
}

static int pki_load(pki *k)
{
    memset(k, 0, sizeof(*k));
    if (load_chain(TD_VECTORS_DIR "/certs/server-p256.chain.pem", &k->server_chain,
                   &k->num_server) != 0 ||
        load_chain(TD_VECTORS_DIR "/certs/client-p256.chain.pem", &k->client_chain,
                   &k->num_client) != 0 ||
        load_chain(TD_VECTORS_DIR "/certs/ca.pem", &k->ca, &k->num_ca) != 0)
        return -1;
    k->server_key = load_key(TD_VECTORS_DIR "/certs/server-p256.key");
    k->client_key = load_key(TD_VECTORS_DIR "/certs/client-p256.key");
    k->server_ck = (td_cert_key){k->server_chain, k->num_server, k->server_key, NULL};
    k->client_ck = (td_cert_key){k->client_chain, k->num_client, k->client_key, NULL};
    return k->server_key && k->client_key ? 0 : -1;
}

static void pki_free(pki *k)
{
    td_der_list_free(k->server_chain, k->num_server);
    td_der_list_free(k->client_chain, k->num_client);
    td_der_list_free(k->ca, k->num_ca);
    td_pkey_free(k->server_key);
    td_pkey_free(k->client_key);
}

static void pair_configs(const pki *k, td_config *cc, td_config *sc)
{
    memset(cc, 0, sizeof(*cc));
    memset(sc, 0, sizeof(*sc));
    cc->role = TD_ROLE_CLIENT;
    sc->role = TD_ROLE_SERVER;
    cc->crypto = sc->crypto = g_crypto;
    cc->seed = sc->seed = k_seed;
    cc->seed_len = sc->seed_len = sizeof(k_seed);
    cc->clock_start_ms = sc->clock_start_ms = 5000000;
    cc->server_name = "server.tlsdrill.test";
    cc->trust_anchor = sc->trust_anchor = k->ca[0].data;
    cc->trust_anchor_len = sc->trust_anchor_len = k->ca[0].len;
    sc->certs = &k->server_ck;
    sc->num_certs = 1;
    cc->certs = &k->client_ck;
    cc->num_certs = 1;
}

/* Runs both until neither has anything to say; the client's ends in |*out_c|. */
static void pair_run(const td_config *cc, const td_config *sc, td_conn **out_c, td_conn **out_s)
{
    td_conn *c = NULL, *s = NULL;
    *out_c = *out_s = NULL;
    if (td_conn_new(cc, &c) != TD_OK || td_conn_new(sc, &s) != TD_OK || td_conn_start(c) != TD_OK) {
        td_conn_free(c);
        td_conn_free(s);
        return;
    }
    for (int round = 0; round < 16; round++) {
        const uint8_t *out;
        size_t n1, n2;
        td_conn_drain(c, &out, &n1);
        if (n1 > 0 && td_conn_feed(s, out, n1) != TD_OK)
            break;
        td_conn_drain(s, &out, &n2);
        if (n2 > 0 && td_conn_feed(c, out, n2) != TD_OK)
            break;
        if (n1 == 0 && n2 == 0)
            break;
    }
    *out_c = c;
    *out_s = s;
}

static void report_pair(const char *name, const td_conn *c, const td_conn *s)
{
    const td_status *cs = td_conn_status(c), *ss = td_conn_status(s);
    if (cs->phase != TD_PHASE_CONNECTED || ss->phase != TD_PHASE_CONNECTED)
        fprintf(stderr, "  %s: client %s (%s) / server %s (%s)\n", name, td_phase_name(cs->phase),
                cs->diag.text, td_phase_name(ss->phase), ss->diag.text);
}

static void test_pair_handshakes(void)
{
    pki k;
    td_config cc, sc;
    td_conn *c, *s;
    uint8_t buf[64];
    TD_REQUIRE(pki_load(&k) == 0);
    /* Plain full handshake, data both ways. */
    pair_configs(&k, &cc, &sc);
    pair_run(&cc, &sc, &c, &s);
    TD_REQUIRE(c != NULL && s != NULL);
    report_pair("plain", c, s);
    TD_EXPECT_EQ(td_conn_status(s)->phase, TD_PHASE_CONNECTED);
    TD_EXPECT_EQ(td_conn_status(c)->phase, TD_PHASE_CONNECTED);
    TD_EXPECT_EQ(td_conn_status(s)->sigalg, 0x0403);
    TD_EXPECT(strcmp(td_conn_status(s)->sni, "server.tlsdrill.test") == 0);
    TD_EXPECT(td_conn_write(c, (const uint8_t *)"ping", 4) == TD_OK);
    const uint8_t *out;
    size_t n;
    td_conn_drain(c, &out, &n);
    TD_EXPECT(td_conn_feed(s, out, n) == TD_OK);
    TD_EXPECT_EQ(td_conn_read(s, buf, sizeof(buf)), 4);
    td_conn_free(c);
    td_conn_free(s);

    /* HRR (the server takes only P-256; the client's first share is x25519) with our cookie,
     * client authentication and compatibility mode. */
    static const uint16_t p256[] = {TD_GROUP_SECP256R1};
    pair_configs(&k, &cc, &sc);
    sc.groups = p256;
    sc.num_groups = 1;
    sc.hrr_cookie = true;
    sc.client_auth = TD_CLIENT_AUTH_REQUIRE;
    cc.compat_mode = true;
    pair_run(&cc, &sc, &c, &s);
    TD_REQUIRE(c != NULL && s != NULL);
    report_pair("hrr+auth+compat", c, s);
    TD_EXPECT_EQ(td_conn_status(s)->phase, TD_PHASE_CONNECTED);
    TD_EXPECT_EQ(td_conn_status(c)->phase, TD_PHASE_CONNECTED);
    TD_EXPECT(td_conn_status(s)->hrr && td_conn_status(s)->client_authenticated);
    TD_EXPECT_EQ(td_conn_status(s)->group, TD_GROUP_SECP256R1);
    td_conn_free(c);
    td_conn_free(s);

    /* CertificateRequest answered with an empty Certificate: fine with REQUEST. */
    pair_configs(&k, &cc, &sc);
    cc.num_certs = 0;
    sc.client_auth = TD_CLIENT_AUTH_REQUEST;
    pair_run(&cc, &sc, &c, &s);
    TD_REQUIRE(c != NULL && s != NULL);
    report_pair("request, no client cert", c, s);
    TD_EXPECT_EQ(td_conn_status(s)->phase, TD_PHASE_CONNECTED);
    TD_EXPECT(!td_conn_status(s)->client_authenticated);
    td_conn_free(c);
    td_conn_free(s);

    /* Resumption with a ticket we issued, 0-RTT accepted. */
    td_session sess;
    pair_configs(&k, &cc, &sc);
    sc.num_tickets = 2;
    sc.max_early_data = 1024;
    sc.accept_early_data = true;
    pair_run(&cc, &sc, &c, &s);
    TD_REQUIRE(c != NULL && s != NULL);
    TD_EXPECT(td_conn_session(c, &sess));
    td_conn_free(c);
    td_conn_free(s);
    cc.resume = &sess;
    cc.early_data = (const uint8_t *)"early!";
    cc.early_data_len = 6;
    pair_run(&cc, &sc, &c, &s);
    TD_REQUIRE(c != NULL && s != NULL);
    report_pair("resumption", c, s);
    TD_EXPECT_EQ(td_conn_status(s)->phase, TD_PHASE_CONNECTED);
    TD_EXPECT(td_conn_status(s)->resumed && td_conn_status(s)->early_data_accepted);
    TD_EXPECT(td_conn_status(c)->resumed && td_conn_status(c)->early_data_accepted);
    TD_EXPECT_EQ(td_conn_read(s, buf, sizeof(buf)), 6);
    td_conn_free(c);
    td_conn_free(s);
    /* The same ticket after an HRR (the server takes only P-256): the PSK is
     * re-verified over the HRR transcript, the early data skipped. */
    static const uint16_t p256_only[] = {TD_GROUP_SECP256R1};
    sc.groups = p256_only;
    sc.num_groups = 1;
    pair_run(&cc, &sc, &c, &s);
    TD_REQUIRE(c != NULL && s != NULL);
    report_pair("resumption after HRR", c, s);
    TD_EXPECT_EQ(td_conn_status(s)->phase, TD_PHASE_CONNECTED);
    TD_EXPECT(td_conn_status(s)->resumed && td_conn_status(s)->hrr &&
              !td_conn_status(s)->early_data_accepted);
    TD_EXPECT_EQ(td_conn_read(s, buf, sizeof(buf)), 0);
    td_conn_free(c);
    td_conn_free(s);
    sc.groups = NULL;
    sc.num_groups = 0;
    /* The same ticket, 0-RTT not accepted: the early data is skipped. */
    sc.accept_early_data = false;
    pair_run(&cc, &sc, &c, &s);
    TD_REQUIRE(c != NULL && s != NULL);
    report_pair("resumption, 0-RTT rejected", c, s);
    TD_EXPECT_EQ(td_conn_status(s)->phase, TD_PHASE_CONNECTED);
    TD_EXPECT(td_conn_status(s)->resumed && !td_conn_status(s)->early_data_accepted);
    TD_EXPECT_EQ(td_conn_read(s, buf, sizeof(buf)), 0);
    td_conn_free(c);
    td_conn_free(s);
    pki_free(&k);
}

/* §4.4.2.4: a client chain that needs MD5 or SHA-1 to validate (CT-MD5,
 * CT-SHA1: bad_certificate). The certificates certify client-p256's key
 * (tools/gen_weak_sig_certs.sh). */
/* RFC 8446 §9.3: "MUST correctly handle extensible fields": a ClientHello
 * is limited only by its vectors' bounds, never by a capacity of ours. Our
 * client's hook inflates its ClientHello: 300 signature schemes more (the
 * usable ones last), 200 groups more, 40 key shares, 200 extensions more and
 * 10,000 cipher suites more, over 70 KiB in all (in five records); the
 * handshake completes with the usual choices. */
static uint8_t g_big_body[50000];
static uint8_t g_share_bytes[32];

static td_err inflate_ch(void *arg, td_conn *conn, td_msg *m, td_binder_mode *mode)
{
    (void)arg, (void)conn, (void)mode;
    if (m->type != TD_MSG_CLIENT_HELLO)
        return TD_OK;
    for (uint16_t i = 0; i < 300; i++) /* unknown schemes first: the usable ones come last */
        TD_CHECK(td_mut_list_edit(m, TD_MUT_LIST_SIGALGS, TD_MUT_OP_PREPEND, (uint16_t)(0x0e00 + i)));
    for (uint16_t i = 0; i < 200; i++)
        TD_CHECK(td_mut_list_edit(m, TD_MUT_LIST_GROUPS, TD_MUT_OP_ADD, (uint16_t)(0x3000 + i)));
    /* §4.2.8: shares in the order of supported_groups, for offered groups. */
    for (uint16_t i = 0; m->u.ch.ext.num_key_shares < 40; i++)
        TD_CHECK(td_mut_key_share_add(m, (uint16_t)(0x3000 + i), g_share_bytes,
                                      sizeof(g_share_bytes)));
    for (uint16_t i = 0; i < 10000; i++)
        TD_CHECK(td_mut_list_edit(m, TD_MUT_LIST_CIPHER_SUITES, TD_MUT_OP_PREPEND,
                                  (uint16_t)(0x7000 + i)));
    static const uint8_t one[1] = {0x5a};
    for (uint16_t i = 0; i < 199; i++)
        TD_CHECK(td_mut_ext_add_raw(m, (uint16_t)(0x7100 + i), one, sizeof(one), -1));
    return td_mut_ext_add_raw(m, 0x7fff, g_big_body, sizeof(g_big_body), -1);
}

static void test_pair_huge_client_hello(void)
{
    pki k;
    td_config cc, sc;
    td_conn *c, *s;
    TD_REQUIRE(pki_load(&k) == 0);
    memset(g_big_body, 0x42, sizeof(g_big_body));
    memset(g_share_bytes, 0x24, sizeof(g_share_bytes));
    pair_configs(&k, &cc, &sc);
    cc.msg_hook = inflate_ch;
    sc.log_messages = true;
    pair_run(&cc, &sc, &c, &s);
    TD_REQUIRE(c != NULL && s != NULL);
    report_pair("huge ClientHello", c, s);
    TD_EXPECT_EQ(td_conn_status(s)->phase, TD_PHASE_CONNECTED);
    TD_EXPECT_EQ(td_conn_status(c)->phase, TD_PHASE_CONNECTED);
    TD_EXPECT_EQ(td_conn_status(s)->sigalg, 0x0403);
    TD_EXPECT_EQ(td_conn_status(s)->group, TD_GROUP_X25519);
    TD_EXPECT_EQ(td_conn_status(s)->suite, 0x1301);
    size_t n;
    const td_msg_record *msgs = td_conn_messages(s, &n);
    TD_REQUIRE(n > 0 && !msgs[0].sent && msgs[0].type == TD_MSG_CLIENT_HELLO);
    TD_EXPECT(msgs[0].len > 70 * 1024);
    td_msg *p = calloc(1, sizeof(*p));
    TD_REQUIRE(p != NULL);
    TD_EXPECT_EQ(td_msg_parse_handshake(msgs[0].bytes, msgs[0].len, NULL, p, NULL), TD_OK);
    TD_EXPECT(p->u.ch.ext.num_sigalgs >= 300 && p->u.ch.ext.num_groups >= 200);
    TD_EXPECT_EQ(p->u.ch.ext.num_key_shares, 40);
    TD_EXPECT(p->u.ch.exts.num >= 200 && p->u.ch.num_cipher_suites > 10000);
    td_msg_cleanup(p);
    free(p);
    td_conn_free(c);
    td_conn_free(s);
    pki_free(&k);
}

static void test_pair_weak_client_certs(void)
{
    pki k;
    td_config cc, sc;
    td_conn *c, *s;
    td_der *sha1 = NULL, *md5 = NULL, *md5_root = NULL;
    size_t n_sha1 = 0, n_md5 = 0, n_root = 0;
    TD_REQUIRE(pki_load(&k) == 0);
    TD_REQUIRE(load_chain(TD_VECTORS_DIR "/certs/client-p256-sha1.pem", &sha1, &n_sha1) == 0);
    TD_REQUIRE(load_chain(TD_VECTORS_DIR "/certs/client-p256-md5.pem", &md5, &n_md5) == 0);
    TD_REQUIRE(load_chain(TD_VECTORS_DIR "/certs/md5-root.pem", &md5_root, &n_root) == 0);
    struct {
        td_der *chain;
        const td_der *anchor;
        const char *rule;
    } rows[] = {
        {sha1, &k.ca[0], "CT-SHA1"},
        {md5, &md5_root[0], "CT-MD5"},
    };
    for (size_t i = 0; i < 2; i++) {
        pair_configs(&k, &cc, &sc);
        td_cert_key weak = {rows[i].chain, 1, k.client_key, NULL};
        cc.certs = &weak;
        sc.client_auth = TD_CLIENT_AUTH_REQUIRE;
        sc.trust_anchor = rows[i].anchor->data;
        sc.trust_anchor_len = rows[i].anchor->len;
        pair_run(&cc, &sc, &c, &s);
        TD_REQUIRE(c != NULL && s != NULL);
        const td_status *ss = td_conn_status(s);
        const td_rule_info *ri = td_rule_get(ss->diag.rule);
        TD_EXPECT(ss->phase == TD_PHASE_FAILED && ri != NULL && strcmp(ri->id, rows[i].rule) == 0);
        TD_EXPECT_EQ(ss->alert_sent_desc, TD_ALERT_bad_certificate);
        td_conn_free(c);
        td_conn_free(s);
    }
    /* Not validating (no_verify): accepted. */
    pair_configs(&k, &cc, &sc);
    td_cert_key weak = {sha1, 1, k.client_key, NULL};
    cc.certs = &weak;
    sc.client_auth = TD_CLIENT_AUTH_REQUIRE;
    sc.no_verify = true;
    pair_run(&cc, &sc, &c, &s);
    TD_REQUIRE(c != NULL && s != NULL);
    TD_EXPECT_EQ(td_conn_status(s)->phase, TD_PHASE_CONNECTED);
    td_conn_free(c);
    td_conn_free(s);
    td_der_list_free(sha1, n_sha1);
    td_der_list_free(md5, n_md5);
    td_der_list_free(md5_root, n_root);
    pki_free(&k);
}

/* The client's msg_hook: its second ClientHello drops the pre_shared_key
 * extension (§4.1.2 lets it remove PSKs the HRR's suite does not fit). */
static td_err drop_psk_in_ch2(void *arg, td_conn *conn, td_msg *msg, td_binder_mode *mode)
{
    int *seen = arg;
    (void)conn, (void)mode;
    if (msg->type != TD_MSG_CLIENT_HELLO || (*seen)++ != 1)
        return TD_OK;
    int at = td_exts_index(&msg->u.ch.exts, TD_EXT_PRE_SHARED_KEY);
    return at >= 0 ? td_exts_remove(&msg->u.ch.exts, (size_t)at) : TD_ERR_ARG;
}

/* §4.1.2, §4.2.8: a psk_ke resumption needs no key share, so the HRR asks
 * for no group; a second ClientHello that then drops its PSK needs
 * (EC)DHE, and its only key share is for a group we do not support: no
 * usable key share (CH2-KEYSHARE), though it changed nothing it may not. */
static void test_ch2_no_usable_share(void)
{
    static const uint16_t p256[] = {TD_GROUP_SECP256R1};
    static const uint16_t both[] = {TD_GROUP_X25519, TD_GROUP_SECP256R1};
    static const uint16_t x25519[] = {TD_GROUP_X25519};
    pki k;
    td_config cc, sc;
    td_conn *c, *s;
    td_session sess;
    TD_REQUIRE(pki_load(&k) == 0);
    pair_configs(&k, &cc, &sc);
    sc.num_tickets = 1;
    pair_run(&cc, &sc, &c, &s);
    TD_REQUIRE(c != NULL && td_conn_session(c, &sess));
    td_conn_free(c);
    td_conn_free(s);
    int seen = 0;
    pair_configs(&k, &cc, &sc);
    cc.resume = &sess;
    cc.psk_ke_only = true;
    cc.groups = both;
    cc.num_groups = 2;
    cc.share_groups = x25519;
    cc.num_share_groups = 1;
    cc.msg_hook = drop_psk_in_ch2;
    cc.msg_hook_arg = &seen;
    sc.groups = p256;
    sc.num_groups = 1;
    sc.hrr = TD_HRR_ALWAYS;
    pair_run(&cc, &sc, &c, &s);
    TD_REQUIRE(c != NULL && s != NULL);
    TD_EXPECT_EQ(seen, 2);
    const td_status *ss = td_conn_status(s);
    const td_rule_info *ri = td_rule_get(ss->diag.rule);
    if (ri == NULL || strcmp(ri->id, "CH2-KEYSHARE") != 0)
        fprintf(stderr, "%s: server %s with %s (%s)\n", td_test_current, td_phase_name(ss->phase),
                ri ? ri->id : "-", ss->diag.text);
    TD_EXPECT(ss->hrr);
    TD_EXPECT_EQ(ss->phase, TD_PHASE_FAILED);
    TD_EXPECT(ri != NULL && strcmp(ri->id, "CH2-KEYSHARE") == 0);
    TD_EXPECT_EQ(ss->alert_sent_desc, TD_ALERT_illegal_parameter);
    td_conn_free(c);
    td_conn_free(s);
    pki_free(&k);
}

/* Every server-side bugs.def knob makes our client fail with the rule the knob names. */
static void test_pair_server_bugs(void)
{
    pki k;
    td_config cc, sc;
    td_conn *c, *s;
    static const uint16_t p256[] = {TD_GROUP_SECP256R1};
    struct {
        const char *knob;
        const char *rule;
        bool hrr;
        bool resume;
    } rows[] = {
        {"second_hrr", "HRR-SECOND", true, false},
        {"sh_omit_supported_versions", "SV-SH-MISSING", false, false},
        {"sh_change_suite_after_hrr", "SH-CIPHER-CHANGED", true, false},
        {"cookie_in_sh", "COOKIE-IN-SH", false, false},
        {"psk_identity_out_of_range", "PSK-SH-IDENTITY-RANGE", false, true},
        {"hrr_offered_share_group", "KS-HRR-GROUP-ALREADY-SENT", true, false},
        {"sh_wrong_session_id", "SH-SESSION-ID", false, false},
        {"bad_finished", "FIN-BAD", false, false},
        {"bad_signature", "CV-BAD-SIGNATURE", false, false},
    };
    td_session sess;
    TD_REQUIRE(pki_load(&k) == 0);
    pair_configs(&k, &cc, &sc);
    sc.num_tickets = 1;
    pair_run(&cc, &sc, &c, &s);
    TD_REQUIRE(c != NULL && td_conn_session(c, &sess));
    td_conn_free(c);
    td_conn_free(s);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        pair_configs(&k, &cc, &sc);
        TD_REQUIRE(td_bugs_set(&sc.bugs, rows[i].knob, true));
        if (rows[i].hrr) {
            sc.groups = p256;
            sc.num_groups = 1;
        }
        if (rows[i].resume)
            cc.resume = &sess;
        pair_run(&cc, &sc, &c, &s);
        TD_REQUIRE(c != NULL && s != NULL);
        const td_status *cs = td_conn_status(c);
        const td_rule_info *ri = td_rule_get(cs->diag.rule);
        td_test_checks++;
        if (cs->phase != TD_PHASE_FAILED || ri == NULL || strcmp(ri->id, rows[i].rule) != 0) {
            td_test_failures++;
            fprintf(stderr, "%s: knob %s: client %s with %s (%s), want %s\n", td_test_current,
                    rows[i].knob, td_phase_name(cs->phase), ri ? ri->id : "-", cs->diag.text,
                    rows[i].rule);
        }
        /* The server saw the client's alert. */
        TD_EXPECT(td_conn_status(s)->alert_received);
        if (!td_conn_status(s)->alert_received)
            fprintf(stderr, "  knob %s: server %s, client alert sent %d (%s)\n", rows[i].knob,
                    td_phase_name(td_conn_status(s)->phase), cs->alert_sent,
                    td_conn_status(s)->diag.text);
        td_conn_free(c);
        td_conn_free(s);
    }
    pki_free(&k);
}

int main(void)
{
    if (td_vec_load() != 0 || td_crypto_new(&g_crypto) != TD_OK) {
        fprintf(stderr, "cannot load vectors or crypto\n");
        return 1;
    }
    /* Pass 0 without the crypto memo, passes 1 and 2 with it (pass 2 hits
     * what pass 1 stored): the RFC 8448 traces are matched byte for byte
     * either way, so the memo is transparent (crypto.h). */
    for (int pass = 0; pass < 3; pass++) {
        if (td_crypto_set_memo(g_crypto, pass > 0) != TD_OK)
            return 1;
        TD_RUN(test_rfc8448_simple);
        TD_RUN(test_rfc8448_compat);
        TD_RUN(test_rfc8448_hrr);
        TD_RUN(test_rfc8448_client_auth);
        TD_RUN(test_rfc8448_resumption);
        TD_RUN(test_own_cookie);
        TD_RUN(test_cookie_only_hrr);
        TD_RUN(test_own_tickets);
        TD_RUN(test_external_psk);
        TD_RUN(test_determinism);
        TD_RUN(test_pair_handshakes);
        TD_RUN(test_pair_weak_client_certs);
        TD_RUN(test_pair_server_bugs);
        TD_RUN(test_ch2_no_usable_share);
    }
    TD_RUN(test_pair_huge_client_hello);
    td_crypto_memo_stats st;
    td_crypto_memo_stats_get(g_crypto, TD_MEMO_ECDH, &st);
    TD_EXPECT(st.hits > 0);

    td_crypto_free(g_crypto);
    td_vec_free();
    return td_test_report("test_server");
}
