/* tests/unit/test_conn.c -- the connection driver (engine/conn.c) itself,
 * our client against our server: input in any split (1-byte pieces),
 * alerts received (fatal, warning, unknown, close_notify, user_canceled),
 * silence after a failure, the API refusing what the phase forbids,
 * fragmentation of application data (2^14, max_fragment), KeyUpdate both
 * ways with and without request, alerts under the right keys (AL-KEYS),
 * and determinism. Hook-driven cases are in test_hooks.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "td_test.h"

#include "conn_internal.h"
#include "td_pair_fixture.h"

static td_crypto *g_crypto;
static pair_fx g_fx;

/* ---- moving bytes by hand, in pieces ---- */

typedef struct wire {
    uint8_t *b[2];
    size_t n[2];
} wire;

static void wire_free(wire *w)
{
    free(w->b[0]);
    free(w->b[1]);
    memset(w, 0, sizeof(*w));
}

static bool wire_add(wire *w, int d, const uint8_t *p, size_t n)
{
    uint8_t *b = realloc(w->b[d], w->n[d] + n + 1);
    if (b == NULL)
        return false;
    memcpy(b + w->n[d], p, n);
    w->b[d] = b;
    w->n[d] += n;
    return true;
}

/* Feeds |len| bytes in pieces of |piece| bytes (0: all at once). */
/* |st| ended the handshake with catalogue rule |rule| and sent |alert|. */
static void expect_failed(const td_status *st, const char *rule, td_alert alert)
{
    TD_EXPECT_EQ(st->phase, TD_PHASE_FAILED);
    TD_EXPECT(td_rule_get(st->diag.rule) && strcmp(td_rule_get(st->diag.rule)->id, rule) == 0);
    TD_EXPECT_EQ(st->alert_sent_desc, alert);
}

static td_err feed_pieces(td_conn *to, const uint8_t *p, size_t len, size_t piece)
{
    if (piece == 0)
        piece = len ? len : 1;
    for (size_t i = 0; i < len; i += piece) {
        size_t n = len - i < piece ? len - i : piece;
        TD_CHECK(td_conn_feed(to, p + i, n));
    }
    return TD_OK;
}

/* One round like td_pair_step (client to server, then back), in pieces;
 * logs what moved. Returns whether anything moved. */
static bool shuttle_round(td_conn *c, td_conn *s, size_t piece, wire *w)
{
    bool moved = false;
    for (int d = 0; d < 2; d++) {
        td_conn *from = d == 0 ? c : s, *to = d == 0 ? s : c;
        const uint8_t *out;
        size_t n;
        td_conn_drain(from, &out, &n);
        if (n == 0)
            continue;
        moved = true;
        TD_EXPECT(wire_add(w, d, out, n));
        TD_EXPECT(feed_pieces(to, out, n, piece) == TD_OK);
    }
    return moved;
}

/* A handshake moved by hand; returns both connections (owned). */
static bool shuttle(const td_config *cc, const td_config *sc, size_t piece, wire *w, td_conn **oc,
                    td_conn **os)
{
    td_conn *c = NULL, *s = NULL;
    if (td_conn_new(cc, &c) != TD_OK || td_conn_new(sc, &s) != TD_OK || td_conn_start(c) != TD_OK) {
        td_conn_free(c);
        td_conn_free(s);
        return false;
    }
    for (int round = 0; round < 16 && shuttle_round(c, s, piece, w); round++)
        ;
    *oc = c;
    *os = s;
    return true;
}

/* §5.1: the peer's bytes in any split -- 1-byte pieces, 7-byte pieces --
 * give the same handshake, byte for byte, as whole flights (and as td_pair). */
static void run_bytewise(const char *name, const td_config *cc, const td_config *sc, bool want_early)
{
    static const uint8_t msg[] = "ping over 1-byte pieces";
    static const size_t pieces[] = {0, 1, 7};
    wire ref = {{NULL, NULL}, {0, 0}};
    td_test_current = name;
    for (size_t k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++) {
        wire w = {{NULL, NULL}, {0, 0}};
        td_conn *c, *s;
        TD_REQUIRE(shuttle(cc, sc, pieces[k], &w, &c, &s));
        show_failure("client", c);
        show_failure("server", s);
        TD_EXPECT_EQ(td_conn_status(c)->phase, TD_PHASE_CONNECTED);
        TD_EXPECT_EQ(td_conn_status(s)->phase, TD_PHASE_CONNECTED);
        /* Application data both ways, in the same pieces. */
        TD_EXPECT(td_conn_write(c, msg, sizeof(msg)) == TD_OK);
        TD_EXPECT(td_conn_write(s, msg, sizeof(msg)) == TD_OK);
        TD_EXPECT(shuttle_round(c, s, pieces[k], &w));
        uint8_t buf[128];
        /* The server reads the accepted 0-RTT data first. */
        size_t early = td_conn_status(s)->early_data_accepted ? cc->early_data_len : 0;
        TD_EXPECT_EQ(td_conn_status(c)->early_data_accepted, early > 0);
        TD_EXPECT_EQ(early > 0, want_early);
        TD_EXPECT_EQ(td_conn_read(s, buf, sizeof(buf)), early + sizeof(msg));
        TD_EXPECT_MEM(buf, early, cc->early_data, early);
        TD_EXPECT_MEM(buf + early, sizeof(msg), msg, sizeof(msg));
        TD_EXPECT_MEM(buf, td_conn_read(c, buf, sizeof(buf)), msg, sizeof(msg));
        if (k == 0) {
            ref = w;
            /* The same bytes as td_pair moves. */
            td_pair *p = NULL;
            TD_REQUIRE(td_pair_new(cc, sc, &p) == TD_OK);
            TD_EXPECT(td_pair_run(p, 0) == TD_OK);
            for (int d = 0; d < 2; d++) {
                size_t n;
                const uint8_t *bytes = td_pair_stream(p, (td_dir)d, &n);
                TD_EXPECT(n > 0 && n <= ref.n[d] && memcmp(bytes, ref.b[d], n) == 0);
            }
            td_pair_free(p);
        } else {
            TD_EXPECT_MEM(w.b[0], w.n[0], ref.b[0], ref.n[0]);
            TD_EXPECT_MEM(w.b[1], w.n[1], ref.b[1], ref.n[1]);
            wire_free(&w);
        }
        td_conn_free(c);
        td_conn_free(s);
    }
    wire_free(&ref);
}

static void test_feed_bytewise(void)
{
    td_config cc = g_fx.ccfg, sc = g_fx.scfg;
    run_bytewise("bytewise-full", &cc, &sc, false);
    /* HelloRetryRequest with cookie, compatibility-mode CCS, client auth. */
    sc.hrr = TD_HRR_ALWAYS;
    sc.hrr_cookie = true;
    sc.client_auth = TD_CLIENT_AUTH_REQUIRE;
    cc.compat_mode = true;
    cc.certs = &g_fx.cck;
    cc.num_certs = 1;
    run_bytewise("bytewise-hrr-compat-auth", &cc, &sc, false);

    /* Resumption with 0-RTT, accepted; then rejected after an HRR (the
     * server skips the early records, TOL-EARLY-DATA-REJECT), in pieces. */
    static const uint8_t early[] = "early data in pieces";
    td_session sess;
    td_pair *p = NULL;
    TD_REQUIRE(td_pair_new(&g_fx.ccfg, &g_fx.scfg, &p) == TD_OK);
    TD_EXPECT(td_pair_run(p, 0) == TD_OK);
    bool have = td_conn_session(td_pair_client(p), &sess);
    td_pair_free(p);
    TD_REQUIRE(have);
    cc = g_fx.ccfg;
    sc = g_fx.scfg;
    cc.resume = &sess;
    cc.early_data = early;
    cc.early_data_len = sizeof(early);
    run_bytewise("bytewise-0rtt", &cc, &sc, true);
    sc.accept_early_data = false;
    run_bytewise("bytewise-0rtt-rejected", &cc, &sc, false);
    sc.hrr = TD_HRR_ALWAYS;
    cc.compat_mode = true;
    run_bytewise("bytewise-0rtt-hrr-compat", &cc, &sc, false);
}

/* ---- alerts received ---- */

static td_conn *fresh_server(void)
{
    td_conn *s = NULL;
    if (td_conn_new(&g_fx.scfg, &s) != TD_OK)
        return NULL;
    return s;
}

static size_t drained(td_conn *c)
{
    const uint8_t *out;
    size_t n;
    td_conn_drain(c, &out, &n);
    return n;
}

/* A plaintext alert record to a server waiting for its ClientHello (§6:
 * every alert but close_notify and user_canceled is an error alert, whatever
 * its level says: AL-LEVEL-FATAL, AL-UNKNOWN-TYPE). */
static void expect_alert_in(const char *name, uint8_t level, uint8_t desc, td_phase phase)
{
    const uint8_t rec[] = {21, 3, 3, 0, 2, level, desc};
    td_test_current = name;
    td_conn *s = fresh_server();
    TD_REQUIRE(s != NULL);
    TD_EXPECT(td_conn_feed(s, rec, sizeof(rec)) == TD_OK);
    const td_status *st = td_conn_status(s);
    TD_EXPECT_EQ(st->phase, phase);
    TD_EXPECT(st->alert_received);
    TD_EXPECT_EQ(st->alert_received_level, level);
    TD_EXPECT_EQ(st->alert_received_desc, desc);
    /* Receiving an alert is not a reason to send one. */
    TD_EXPECT(!st->alert_sent);
    TD_EXPECT_EQ(drained(s), 0);
    if (phase == TD_PHASE_FAILED)
        fx_expect_dead(s);
    if (phase == TD_PHASE_CLOSED) {
        /* Nothing more is read; our own close_notify still goes out (§6.1). */
        static const uint8_t close_rec[] = {21, 3, 3, 0, 2, 1, TD_ALERT_close_notify};
        uint64_t in = st->bytes_in;
        TD_EXPECT(td_conn_feed(s, rec, sizeof(rec)) == TD_OK);
        TD_EXPECT_EQ(st->bytes_in, in);
        TD_EXPECT(td_conn_write(s, rec, 1) == TD_ERR_ARG);
        TD_EXPECT(td_conn_close(s) == TD_OK);
        const uint8_t *out;
        size_t n;
        td_conn_drain(s, &out, &n);
        TD_EXPECT_MEM(out, n, close_rec, sizeof(close_rec));
    }
    td_conn_free(s);
}

static void test_alerts_received(void)
{
    expect_alert_in("alert-fatal", 2, TD_ALERT_handshake_failure, TD_PHASE_FAILED);
    expect_alert_in("alert-warning-level-error", 1, TD_ALERT_handshake_failure, TD_PHASE_FAILED);
    expect_alert_in("alert-unknown-desc", 2, 200, TD_PHASE_FAILED);
    expect_alert_in("alert-close-notify", 1, TD_ALERT_close_notify, TD_PHASE_CLOSED);
    expect_alert_in("alert-user-canceled", 1, TD_ALERT_user_canceled, TD_PHASE_HANDSHAKE);

    /* §6.1: user_canceled, then close_notify closes. */
    static const uint8_t both[] = {21, 3, 3, 0, 2, 1, TD_ALERT_user_canceled,
                                   21, 3, 3, 0, 2, 1, TD_ALERT_close_notify};
    td_test_current = "alert-user-canceled-close";
    td_conn *s = fresh_server();
    TD_REQUIRE(s != NULL);
    TD_EXPECT(td_conn_feed(s, both, 7) == TD_OK);
    TD_EXPECT_EQ(td_conn_status(s)->phase, TD_PHASE_HANDSHAKE);
    TD_EXPECT(td_conn_feed(s, both + 7, 7) == TD_OK);
    TD_EXPECT_EQ(td_conn_status(s)->phase, TD_PHASE_CLOSED);
    TD_EXPECT_EQ(td_conn_status(s)->alert_received_desc, TD_ALERT_close_notify);
    TD_EXPECT_EQ(drained(s), 0);
    td_conn_free(s);
}

/* §6.2 (AL-CLOSE-AFTER-FATAL): after an error alert nothing more is read
 * or sent, even a valid ClientHello. */
static void test_silence_after_failure(void)
{
    static const uint8_t bad_ccs[] = {20, 3, 3, 0, 1, 1};
    td_conn *s = fresh_server(), *c = NULL;
    TD_REQUIRE(s != NULL);
    TD_EXPECT(td_conn_feed(s, bad_ccs, sizeof(bad_ccs)) == TD_OK);
    const td_status *st = td_conn_status(s);
    TD_EXPECT_EQ(st->phase, TD_PHASE_FAILED);
    TD_EXPECT(st->alert_sent);
    fx_expect_alert_allowed("server", st);
    TD_EXPECT_EQ(drained(s), 7);
    uint64_t in = st->bytes_in;
    TD_REQUIRE(td_conn_new(&g_fx.ccfg, &c) == TD_OK);
    TD_EXPECT(td_conn_start(c) == TD_OK);
    const uint8_t *ch;
    size_t ch_len;
    td_conn_drain(c, &ch, &ch_len);
    TD_EXPECT(ch_len > 0);
    TD_EXPECT(td_conn_feed(s, ch, ch_len) == TD_OK);
    TD_EXPECT_EQ(drained(s), 0);
    TD_EXPECT_EQ(st->bytes_in, in);
    TD_EXPECT_EQ(st->phase, TD_PHASE_FAILED);
    TD_EXPECT_EQ(st->msg_type, 0);
    fx_expect_dead(s);
    td_conn_free(c);
    td_conn_free(s);
}

/* ---- the API by phase ---- */

static td_pair *connected_pair(const td_config *cc, const td_config *sc)
{
    td_pair *p = fx_run_twice(cc, sc, NULL, NULL, NULL, NULL);
    if (p == NULL)
        return NULL;
    if (td_conn_status(td_pair_client(p))->phase != TD_PHASE_CONNECTED ||
        td_conn_status(td_pair_server(p))->phase != TD_PHASE_CONNECTED) {
        show_failure("client", td_pair_client(p));
        show_failure("server", td_pair_server(p));
        td_pair_free(p);
        return NULL;
    }
    /* The byte counters agree with what crossed. */
    size_t n;
    td_pair_stream(p, TD_DIR_C2S, &n);
    TD_EXPECT_EQ(td_conn_status(td_pair_client(p))->bytes_out, n);
    TD_EXPECT_EQ(td_conn_status(td_pair_server(p))->bytes_in, n);
    td_pair_stream(p, TD_DIR_S2C, &n);
    TD_EXPECT_EQ(td_conn_status(td_pair_server(p))->bytes_out, n);
    TD_EXPECT_EQ(td_conn_status(td_pair_client(p))->bytes_in, n);
    return p;
}

static void test_api_by_phase(void)
{
    static const uint8_t x[] = "x";
    td_conn *c = NULL, *s = fresh_server();
    TD_REQUIRE(s != NULL);
    TD_REQUIRE(td_conn_new(&g_fx.ccfg, &c) == TD_OK);
    /* Nothing queued yet: an empty view, not NULL (UBSan caught NULL + 0). */
    const uint8_t *out = NULL;
    size_t out_len = 1;
    td_conn_drain(s, &out, &out_len);
    TD_EXPECT(out != NULL && out_len == 0);
    /* Feeding nothing is fine, before any input too. */
    TD_EXPECT(td_conn_feed(s, NULL, 0) == TD_OK);
    TD_EXPECT(td_conn_feed(s, (const uint8_t *)"", 0) == TD_OK);
    TD_EXPECT_EQ(td_conn_status(s)->phase, TD_PHASE_HANDSHAKE);
    uint8_t buf[4];
    TD_EXPECT_EQ(td_conn_read(s, buf, sizeof(buf)), 0);
    /* Before the handshake completes: no application data, no KeyUpdate. */
    TD_EXPECT(td_conn_write(c, x, 1) == TD_ERR_ARG);
    TD_EXPECT(td_conn_write(s, x, 1) == TD_ERR_ARG);
    TD_EXPECT(td_conn_start(c) == TD_OK);
    TD_EXPECT(td_conn_write(c, x, 1) == TD_ERR_ARG);
    TD_EXPECT(td_conn_key_update(c, false) == TD_ERR_ARG);
    TD_EXPECT(td_conn_key_update(s, true) == TD_ERR_ARG);
    /* A second start is an API error, not a protocol one. */
    TD_EXPECT(td_conn_start(c) == TD_ERR_ARG);
    TD_EXPECT_EQ(td_conn_status(c)->phase, TD_PHASE_HANDSHAKE);
    /* The server's start does nothing. */
    TD_EXPECT(td_conn_start(s) == TD_OK);
    TD_EXPECT_EQ(drained(s), 0);
    td_conn_free(c);
    td_conn_free(s);
    /* td_conn_new refuses a config without crypto or role. */
    td_config bad = g_fx.ccfg;
    bad.crypto = NULL;
    TD_EXPECT(td_conn_new(&bad, &c) == TD_ERR_ARG && c == NULL);
    bad = g_fx.ccfg;
    bad.role = (td_role)7;
    TD_EXPECT(td_conn_new(&bad, &c) == TD_ERR_ARG && c == NULL);
}

/* §6.1: close_notify after the handshake: the record is protected, the
 * peer is closed, and neither side writes any more. */
static void test_close_notify(void)
{
    td_pair *p = connected_pair(&g_fx.ccfg, &g_fx.scfg);
    TD_REQUIRE(p != NULL);
    td_conn *c = td_pair_client(p), *s = td_pair_server(p);
    TD_EXPECT(td_conn_close(c) == TD_OK);
    TD_EXPECT_EQ(td_conn_status(c)->phase, TD_PHASE_CLOSED);
    TD_EXPECT(td_pair_step(p, NULL) == TD_OK);
    const td_pair_record *r = fx_last_record(p, TD_DIR_C2S);
    TD_REQUIRE(r != NULL);
    TD_EXPECT(r->bytes[0] == 23 && r->len == 5 + 2 + 1 + 16);
    const td_status *ss = td_conn_status(s);
    TD_EXPECT_EQ(ss->phase, TD_PHASE_CLOSED);
    TD_EXPECT(ss->alert_received);
    TD_EXPECT_EQ(ss->alert_received_level, 1);
    TD_EXPECT_EQ(ss->alert_received_desc, TD_ALERT_close_notify);
    TD_EXPECT(!ss->alert_sent);
    TD_EXPECT(td_conn_write(c, (const uint8_t *)"x", 1) == TD_ERR_ARG);
    TD_EXPECT(td_conn_close(c) == TD_OK);
    TD_EXPECT_EQ(drained(c), 0);
    td_pair_free(p);
}

/* Seals |content| as a record of |type| under |from|'s current write keys
 * (white box: the connection's own record cipher, so sequence numbers stay
 * in step), as if |from| had sent it. */
static size_t seal_as(td_conn *from, uint8_t type, const uint8_t *content, size_t len, uint8_t *out,
                      size_t cap)
{
    td_cbb cbb;
    uint8_t *data;
    size_t n = 0;
    if (!td_cbb_init_fixed(&cbb, out, cap) ||
        td_rec_seal(&from->write, &cbb, type, content, len, 0, 0, NULL) != TD_OK ||
        !td_cbb_finish(&cbb, &data, &n))
        return 0;
    return n;
}

/* Protected alerts after the handshake: user_canceled keeps the connection
 * (§6.1), then close_notify closes it; a fatal alert fails it; a 3-byte
 * alert is AL-ONE-PER-RECORD. */
static void test_protected_alerts(void)
{
    static const uint8_t canceled[] = {1, TD_ALERT_user_canceled};
    static const uint8_t fatal[] = {2, TD_ALERT_access_denied};
    static const uint8_t three[] = {1, TD_ALERT_user_canceled, 0};
    uint8_t rec[64];
    size_t n;

    td_test_current = "protected-user-canceled";
    td_pair *p = connected_pair(&g_fx.ccfg, &g_fx.scfg);
    TD_REQUIRE(p != NULL);
    td_conn *c = td_pair_client(p), *s = td_pair_server(p);
    n = seal_as(c, TD_CT_ALERT, canceled, 2, rec, sizeof(rec));
    TD_REQUIRE(n > 0);
    TD_EXPECT(td_conn_feed(s, rec, n) == TD_OK);
    TD_EXPECT_EQ(td_conn_status(s)->phase, TD_PHASE_CONNECTED);
    TD_EXPECT_EQ(td_conn_status(s)->alert_received_desc, TD_ALERT_user_canceled);
    TD_EXPECT(td_conn_close(c) == TD_OK);
    TD_EXPECT(td_pair_step(p, NULL) == TD_OK);
    TD_EXPECT_EQ(td_conn_status(s)->phase, TD_PHASE_CLOSED);
    TD_EXPECT_EQ(td_conn_status(s)->alert_received_desc, TD_ALERT_close_notify);
    td_pair_free(p);

    td_test_current = "protected-fatal";
    p = connected_pair(&g_fx.ccfg, &g_fx.scfg);
    TD_REQUIRE(p != NULL);
    c = td_pair_client(p), s = td_pair_server(p);
    n = seal_as(s, TD_CT_ALERT, fatal, 2, rec, sizeof(rec));
    TD_REQUIRE(n > 0);
    TD_EXPECT(td_conn_feed(c, rec, n) == TD_OK);
    TD_EXPECT_EQ(td_conn_status(c)->phase, TD_PHASE_FAILED);
    TD_EXPECT_EQ(td_conn_status(c)->alert_received_desc, TD_ALERT_access_denied);
    TD_EXPECT(!td_conn_status(c)->alert_sent);
    fx_expect_dead(c);
    td_pair_free(p);

    td_test_current = "protected-alert-3-bytes";
    p = connected_pair(&g_fx.ccfg, &g_fx.scfg);
    TD_REQUIRE(p != NULL);
    c = td_pair_client(p), s = td_pair_server(p);
    n = seal_as(c, TD_CT_ALERT, three, 3, rec, sizeof(rec));
    TD_REQUIRE(n > 0);
    TD_EXPECT(td_conn_feed(s, rec, n) == TD_OK);
    TD_EXPECT(td_pair_step(p, NULL) == TD_OK); /* the server's alert to the client */
    fx_expect_abort(p, &(abort_want){TD_ROLE_SERVER, "AL-ONE-PER-RECORD", -1, 0, 0, -1});
    td_pair_free(p);
}

/* ---- fragmentation ---- */

/* The application_data records of |dir| delivered in round |round|. */
static size_t records_of_round(td_pair *p, td_dir dir, unsigned round, size_t *lens, size_t cap)
{
    size_t n, k = 0;
    const td_pair_record *r = td_pair_records(p, &n);
    for (size_t i = 0; i < n; i++)
        if (r[i].dir == dir && r[i].round == round && k < cap)
            lens[k++] = r[i].len;
    return k;
}

/* §5.1: application data larger than 2^14 goes in several records. */
static void test_fragment_large(void)
{
    enum { LEN = 40000 };
    static uint8_t data[LEN], back[LEN + 1];
    for (size_t i = 0; i < LEN; i++)
        data[i] = (uint8_t)(i * 7 + 3);
    td_pair *p = connected_pair(&g_fx.ccfg, &g_fx.scfg);
    TD_REQUIRE(p != NULL);
    TD_EXPECT(td_conn_write(td_pair_client(p), data, LEN) == TD_OK);
    TD_EXPECT(td_pair_step(p, NULL) == TD_OK);
    size_t lens[8];
    size_t k = records_of_round(p, TD_DIR_C2S, td_pair_rounds(p), lens, 8);
    TD_EXPECT_EQ(k, 3);
    /* 2^14 + 2^14 + the rest, each with its content type byte and a 16-byte tag. */
    TD_EXPECT_EQ(lens[0], 5 + 16384 + 1 + 16);
    TD_EXPECT_EQ(lens[1], 5 + 16384 + 1 + 16);
    TD_EXPECT_EQ(lens[2], 5 + (LEN - 2 * 16384) + 1 + 16);
    TD_EXPECT_MEM(back, td_conn_read(td_pair_server(p), back, sizeof(back)), data, LEN);
    td_pair_free(p);
}

/* max_fragment: every record we send carries at most that many bytes --
 * the handshake too (TOL-HS-FRAGMENTATION on the receiving side). */
static void test_fragment_max(void)
{
    static uint8_t data[1000], back[1001];
    memset(data, 0x5a, sizeof(data));
    td_config cc = g_fx.ccfg, sc = g_fx.scfg;
    cc.max_fragment = 100;
    sc.max_fragment = 100;
    td_pair *p = connected_pair(&cc, &sc);
    TD_REQUIRE(p != NULL);
    size_t n;
    const td_pair_record *r = td_pair_records(p, &n);
    size_t plain = 0, prot = 0;
    for (size_t i = 0; i < n; i++) {
        size_t body = r[i].len - TD_REC_HEADER_LEN;
        if (r[i].bytes[0] == 23) {
            prot++;
            TD_EXPECT(body <= 100 + 1 + 16);
        } else {
            plain++;
            TD_EXPECT(body <= 100);
        }
    }
    /* The ClientHello and the server's flight took several records each. */
    TD_EXPECT(plain >= 3);
    TD_EXPECT(prot >= 10);
    TD_EXPECT(td_conn_write(td_pair_server(p), data, sizeof(data)) == TD_OK);
    TD_EXPECT(td_pair_step(p, NULL) == TD_OK);
    size_t lens[16];
    size_t k = records_of_round(p, TD_DIR_S2C, td_pair_rounds(p), lens, 16);
    TD_EXPECT_EQ(k, 10);
    for (size_t i = 0; i < k; i++)
        TD_EXPECT_EQ(lens[i], 5 + 100 + 1 + 16);
    TD_EXPECT_MEM(back, td_conn_read(td_pair_client(p), back, sizeof(back)), data, sizeof(data));
    td_pair_free(p);
}

/* ---- KeyUpdate ---- */

/* Data both ways; checks both sides agree on both traffic secrets. */
static void ping_both(td_pair *p, const char *what)
{
    uint8_t buf[64];
    td_conn *c = td_pair_client(p), *s = td_pair_server(p);
    size_t hl = td_hash_len(c->suite->hash);
    TD_EXPECT(td_conn_write(c, (const uint8_t *)what, strlen(what)) == TD_OK);
    TD_EXPECT(td_conn_write(s, (const uint8_t *)what, strlen(what)) == TD_OK);
    TD_EXPECT(td_pair_step(p, NULL) == TD_OK);
    TD_EXPECT_MEM(buf, td_conn_read(s, buf, sizeof(buf)), what, strlen(what));
    TD_EXPECT_MEM(buf, td_conn_read(c, buf, sizeof(buf)), what, strlen(what));
    TD_EXPECT_MEM(c->c_ap, hl, s->c_ap, hl);
    TD_EXPECT_MEM(c->s_ap, hl, s->s_ap, hl);
    TD_EXPECT_EQ(td_conn_status(c)->phase, TD_PHASE_CONNECTED);
    TD_EXPECT_EQ(td_conn_status(s)->phase, TD_PHASE_CONNECTED);
}

/* Runs |steps| rounds and counts the records |dir| sent in them. */
static size_t step_count(td_pair *p, td_dir dir, int steps)
{
    size_t before, after;
    const td_pair_record *r = td_pair_records(p, &before);
    size_t n0 = 0;
    for (size_t i = 0; i < before; i++)
        n0 += r[i].dir == dir;
    for (int i = 0; i < steps; i++)
        TD_EXPECT(td_pair_step(p, NULL) == TD_OK);
    r = td_pair_records(p, &after);
    size_t n1 = 0;
    for (size_t i = 0; i < after; i++)
        n1 += r[i].dir == dir;
    return n1 - n0;
}

/* §4.6.3: KeyUpdate from either side, with and without update_requested;
 * a request is answered by exactly one KeyUpdate; data flows after each. */
static void test_key_update(void)
{
    td_pair *p = connected_pair(&g_fx.ccfg, &g_fx.scfg);
    TD_REQUIRE(p != NULL);
    td_conn *c = td_pair_client(p), *s = td_pair_server(p);
    size_t hl = td_hash_len(c->suite->hash);
    uint8_t c_ap0[TD_MAX_HASH_LEN], s_ap0[TD_MAX_HASH_LEN];
    memcpy(c_ap0, c->c_ap, hl);
    memcpy(s_ap0, s->s_ap, hl);
    ping_both(p, "before");

    TD_EXPECT(td_conn_key_update(c, false) == TD_OK);
    TD_EXPECT_EQ(step_count(p, TD_DIR_S2C, 2), 0); /* no answer */
    TD_EXPECT(memcmp(c->c_ap, c_ap0, hl) != 0);
    TD_EXPECT_MEM(s->s_ap, hl, s_ap0, hl);
    ping_both(p, "client updated");

    TD_EXPECT(td_conn_key_update(s, false) == TD_OK);
    TD_EXPECT_EQ(step_count(p, TD_DIR_C2S, 2), 0);
    TD_EXPECT(memcmp(s->s_ap, s_ap0, hl) != 0);
    ping_both(p, "server updated");

    memcpy(c_ap0, c->c_ap, hl);
    memcpy(s_ap0, s->s_ap, hl);
    TD_EXPECT(td_conn_key_update(c, true) == TD_OK);
    TD_EXPECT_EQ(step_count(p, TD_DIR_S2C, 2), 1); /* the server's answer */
    TD_EXPECT(memcmp(c->c_ap, c_ap0, hl) != 0);
    TD_EXPECT(memcmp(s->s_ap, s_ap0, hl) != 0);
    ping_both(p, "client requested");

    memcpy(c_ap0, c->c_ap, hl);
    memcpy(s_ap0, s->s_ap, hl);
    TD_EXPECT(td_conn_key_update(s, true) == TD_OK);
    TD_EXPECT_EQ(step_count(p, TD_DIR_C2S, 2), 1);
    TD_EXPECT(memcmp(c->c_ap, c_ap0, hl) != 0);
    TD_EXPECT(memcmp(s->s_ap, s_ap0, hl) != 0);
    ping_both(p, "server requested");

    /* Several in a row before the peer reads any. */
    TD_EXPECT(td_conn_key_update(c, false) == TD_OK);
    TD_EXPECT(td_conn_key_update(c, true) == TD_OK);
    TD_EXPECT(td_conn_key_update(s, false) == TD_OK);
    ping_both(p, "burst");
    TD_EXPECT(td_pair_step(p, NULL) == TD_OK);
    ping_both(p, "after burst");
    td_pair_free(p);
}

/* ---- AL-KEYS: the alert goes under the keys the peer reads with ---- */

static void run_abort(const char *name, const td_config *cc, const td_config *sc, const abort_want *w)
{
    td_test_current = name;
    td_pair *p = fx_run_twice(cc, sc, NULL, NULL, NULL, NULL);
    fx_expect_abort(p, w);
    td_pair_free(p);
}

static void test_alert_keys(void)
{
    td_config cc = g_fx.ccfg, sc = g_fx.scfg;
    /* The server fails on the client's Finished after its own Finished:
     * application keys (§4.4.4); the client, connected, reads them. */
    cc.bugs.bad_finished = true;
    run_abort("client-bad-finished", &cc, &sc,
              &(abort_want){TD_ROLE_SERVER, "FIN-BAD", TD_ALERT_decrypt_error, TD_MSG_FINISHED, 0, 4});
    /* The client fails on the server's Finished: its handshake keys. */
    cc = g_fx.ccfg;
    sc.bugs.bad_finished = true;
    run_abort("server-bad-finished", &cc, &sc,
              &(abort_want){TD_ROLE_CLIENT, "FIN-BAD", TD_ALERT_decrypt_error, TD_MSG_FINISHED, 0, 4});
    /* The client fails on the CertificateVerify. */
    sc = g_fx.scfg;
    sc.bugs.bad_signature = true;
    run_abort("server-bad-signature", &cc, &sc,
              &(abort_want){TD_ROLE_CLIENT, "CV-BAD-SIGNATURE", TD_ALERT_decrypt_error,
                            TD_MSG_CERTIFICATE_VERIFY, 0, -1});
    /* The server fails on the client's authentication, after its own
     * Finished: application keys. */
    td_config ca = g_fx.ccfg, sa = g_fx.scfg;
    sa.client_auth = TD_CLIENT_AUTH_REQUIRE;
    ca.certs = &g_fx.cck;
    ca.num_certs = 1;
    ca.bugs.bad_signature = true;
    run_abort("client-bad-signature", &ca, &sa,
              &(abort_want){TD_ROLE_SERVER, "CV-BAD-SIGNATURE", TD_ALERT_decrypt_error,
                            TD_MSG_CERTIFICATE_VERIFY, 0, -1});
    ca.num_certs = 0;
    ca.bugs.bad_signature = false;
    run_abort("client-no-certificate", &ca, &sa,
              &(abort_want){TD_ROLE_SERVER, "CT-CLIENT-EMPTY", TD_ALERT_certificate_required,
                            TD_MSG_CERTIFICATE, 0, -1});
    /* A message over our max_handshake_msg: a limit of ours, no rule,
     * internal_error -- under the handshake keys. */
    ca = g_fx.ccfg;
    ca.max_handshake_msg = 200;
    run_abort("client-handshake-limit", &ca, &g_fx.scfg,
              &(abort_want){TD_ROLE_CLIENT, "LOCAL-INTERNAL", TD_ALERT_internal_error, 0, 0, -1});
    /* With compatibility mode and an HRR (CCS records in the way). */
    sc.hrr = TD_HRR_ALWAYS;
    cc.compat_mode = true;
    run_abort("server-bad-signature-hrr-compat", &cc, &sc,
              &(abort_want){TD_ROLE_CLIENT, "CV-BAD-SIGNATURE", TD_ALERT_decrypt_error,
                            TD_MSG_CERTIFICATE_VERIFY, 0, -1});
}

/* ---- records injected after the handshake (sealed as the peer) ---- */

typedef struct inject_rec {
    bool sealed;              /* under the sender's current write keys; else plaintext */
    uint8_t type;
    const uint8_t *data;
    size_t len;
} inject_rec;

typedef struct inject_case {
    const char *name;
    td_role from;             /* whose records they are */
    inject_rec recs[3];
    size_t num_recs;
    abort_want want;          /* want.side is the receiver */
} inject_case;

static const uint8_t k_ku_plus[] = {24, 0, 0, 1, 0, 4, 0};   /* KeyUpdate + 2 bytes of a NewSessionTicket */
static const uint8_t k_ku_head[] = {24, 0};                  /* the first 2 bytes of a KeyUpdate */
static const uint8_t k_ku_tail[] = {0, 1, 0};
static const uint8_t k_one[] = {1};
static const uint8_t k_x[] = {'x'};
static const uint8_t k_fin_plain[] = {20, 0, 0, 32, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
static const uint8_t k_alert_plain[] = {1, TD_ALERT_user_canceled};

#define SEALED(t, d) {true, (t), (d), sizeof(d)}
#define PLAIN(t, d) {false, (t), (d), sizeof(d)}

static const inject_case k_inject_cases[] = {
    /* §5.1: a KeyUpdate must end its record (the key change is right after it). */
    {"ku-not-aligned", TD_ROLE_CLIENT, {SEALED(TD_CT_HANDSHAKE, k_ku_plus)}, 1,
     {TD_ROLE_SERVER, "REC-KEY-CHANGE-ALIGN", TD_ALERT_unexpected_message, TD_MSG_KEY_UPDATE, 0, -1}},
    /* §5.1: application data between the fragments of a KeyUpdate. */
    {"ku-interleaved-appdata", TD_ROLE_SERVER,
     {SEALED(TD_CT_HANDSHAKE, k_ku_head), SEALED(TD_CT_APPLICATION_DATA, k_x)}, 2,
     {TD_ROLE_CLIENT, "REC-HS-INTERLEAVED", TD_ALERT_unexpected_message, 0, 0, -1}},
    /* ... and a fragmented KeyUpdate alone is fine (TOL-HS-FRAGMENTATION):
     * checked by test_injected_fragmented_ku. */
    /* §5: change_cipher_spec inside a protected record. */
    {"ccs-protected", TD_ROLE_CLIENT, {SEALED(TD_CT_CHANGE_CIPHER_SPEC, k_one)}, 1,
     {TD_ROLE_SERVER, "REC-CCS-PROTECTED", TD_ALERT_unexpected_message, 0, 0, -1}},
    /* §5.4: a protected handshake record with no content. */
    {"hs-zero-length-protected", TD_ROLE_SERVER, {{true, TD_CT_HANDSHAKE, NULL, 0}}, 1,
     {TD_ROLE_CLIENT, "REC-ZERO-LENGTH", TD_ALERT_unexpected_message, 0, 0, -1}},
    /* §5.2: once keys are on, a plaintext handshake record is out of order. */
    {"hs-plaintext-after-keys", TD_ROLE_CLIENT, {PLAIN(TD_CT_HANDSHAKE, k_fin_plain)}, 1,
     {TD_ROLE_SERVER, "GEN-UNEXPECTED-ORDER", TD_ALERT_unexpected_message, 0, 0, -1}},
    {"alert-plaintext-after-keys", TD_ROLE_SERVER, {PLAIN(TD_CT_ALERT, k_alert_plain)}, 1,
     {TD_ROLE_CLIENT, "GEN-UNEXPECTED-ORDER", TD_ALERT_unexpected_message, 0, 0, -1}},
};

/* §5.2: a TLSCiphertext longer than 2^14 + 256 fails from its header. */
static void test_ciphertext_overflow(void)
{
    static const uint8_t hdr[] = {23, 3, 3, (TD_REC_MAX_CIPHERTEXT + 1) >> 8,
                                  (TD_REC_MAX_CIPHERTEXT + 1) & 0xff};
    td_pair *p = connected_pair(&g_fx.ccfg, &g_fx.scfg);
    TD_REQUIRE(p != NULL);
    int before = td_pair_server(p)->records_in;
    TD_EXPECT(td_conn_feed(td_pair_server(p), hdr, sizeof(hdr)) == TD_OK);
    TD_EXPECT(td_pair_step(p, NULL) == TD_OK);
    fx_expect_abort(p, &(abort_want){TD_ROLE_SERVER, "REC-CIPHERTEXT-OVERFLOW",
                                     TD_ALERT_record_overflow, 0, 0, 3});
    TD_EXPECT_EQ(td_conn_status(td_pair_server(p))->record_index, before);
    td_pair_free(p);
}

/* Builds the records of |ic| as its sender would, feeds them to the receiver,
 * and delivers the receiver's answer through the pair. */
static void run_inject(const inject_case *ic)
{
    td_test_current = ic->name;
    td_pair *p = connected_pair(&g_fx.ccfg, &g_fx.scfg);
    TD_REQUIRE(p != NULL);
    td_conn *from = ic->from == TD_ROLE_CLIENT ? td_pair_client(p) : td_pair_server(p);
    td_conn *to = ic->from == TD_ROLE_CLIENT ? td_pair_server(p) : td_pair_client(p);
    for (size_t i = 0; i < ic->num_recs; i++) {
        const inject_rec *r = &ic->recs[i];
        uint8_t rec[128];
        size_t n;
        if (r->sealed) {
            n = seal_as(from, r->type, r->data, r->len, rec, sizeof(rec));
        } else {
            rec[0] = r->type, rec[1] = 3, rec[2] = 3, rec[3] = 0, rec[4] = (uint8_t)r->len;
            memcpy(rec + 5, r->data, r->len);
            n = 5 + r->len;
        }
        TD_REQUIRE(n > 0);
        TD_EXPECT(td_conn_feed(to, rec, n) == TD_OK);
    }
    TD_EXPECT(td_pair_step(p, NULL) == TD_OK);
    fx_expect_abort(p, &ic->want);
    td_pair_free(p);
}

static void test_injected_records(void)
{
    for (size_t i = 0; i < sizeof(k_inject_cases) / sizeof(k_inject_cases[0]); i++)
        run_inject(&k_inject_cases[i]);
}

/* TOL-HS-FRAGMENTATION under protection: a KeyUpdate in two records. */
static void test_injected_fragmented_ku(void)
{
    td_pair *p = connected_pair(&g_fx.ccfg, &g_fx.scfg);
    TD_REQUIRE(p != NULL);
    td_conn *c = td_pair_client(p), *s = td_pair_server(p);
    uint8_t rec[64];
    size_t n = seal_as(s, TD_CT_HANDSHAKE, k_ku_head, sizeof(k_ku_head), rec, sizeof(rec));
    TD_EXPECT(n > 0 && td_conn_feed(c, rec, n) == TD_OK);
    n = seal_as(s, TD_CT_HANDSHAKE, k_ku_tail, sizeof(k_ku_tail), rec, sizeof(rec));
    TD_EXPECT(n > 0 && td_conn_feed(c, rec, n) == TD_OK);
    /* The server's KeyUpdate was sealed behind its back: update its keys too. */
    size_t hl = td_hash_len(s->suite->hash);
    TD_REQUIRE(td_keysched_next_traffic_secret(g_crypto, s->suite->hash, s->s_ap, s->s_ap) == TD_OK);
    TD_REQUIRE(td_conn_set_write_keys(s, s->s_ap) == TD_OK);
    TD_EXPECT_MEM(c->s_ap, hl, s->s_ap, hl);
    ping_both(p, "after a fragmented KeyUpdate");
    td_pair_free(p);
}

/* §5.1, §6.2: application data under the handshake keys (the client has
 * read the ServerHello only) is unexpected at the server. */
static void test_appdata_under_handshake_keys(void)
{
    td_conn *c = NULL, *s = NULL;
    const uint8_t *out;
    size_t n;
    TD_REQUIRE(td_conn_new(&g_fx.ccfg, &c) == TD_OK);
    TD_REQUIRE(td_conn_new(&g_fx.scfg, &s) == TD_OK);
    TD_EXPECT(td_conn_start(c) == TD_OK);
    td_conn_drain(c, &out, &n);
    TD_EXPECT(td_conn_feed(s, out, n) == TD_OK);
    td_conn_drain(s, &out, &n);
    TD_REQUIRE(n > 5 && out[0] == 22);
    size_t sh_len = 5 + ((size_t)out[3] << 8 | out[4]);
    TD_EXPECT(td_conn_feed(c, out, sh_len) == TD_OK); /* the ServerHello only */
    TD_EXPECT_EQ(td_conn_status(c)->phase, TD_PHASE_HANDSHAKE);
    uint8_t rec[64];
    n = seal_as(c, TD_CT_APPLICATION_DATA, k_x, 1, rec, sizeof(rec));
    TD_REQUIRE(n > 0);
    TD_EXPECT(td_conn_feed(s, rec, n) == TD_OK);
    const td_status *st = td_conn_status(s);
    expect_failed(st, "REC-UNPROTECTED-APPDATA", TD_ALERT_unexpected_message);
    fx_expect_alert_allowed("server", st);
    td_conn_free(c);
    td_conn_free(s);
}

/* §5.1, §6.2: an application_data record before any keys: at a server
 * before the ClientHello, at a client waiting for the ServerHello. */
static void test_appdata_before_any_keys(void)
{
    static const uint8_t appdata[] = {23, 3, 3, 0, 1, 'x'};
    for (int after_ch = 0; after_ch < 2; after_ch++) {
        td_conn *c = NULL, *s = NULL;
        const uint8_t *out;
        size_t n;
        TD_REQUIRE(td_conn_new(&g_fx.ccfg, &c) == TD_OK);
        TD_REQUIRE(td_conn_new(&g_fx.scfg, &s) == TD_OK);
        TD_EXPECT(td_conn_start(c) == TD_OK);
        td_conn_drain(c, &out, &n);
        td_conn *target = after_ch ? c : s;
        TD_EXPECT(td_conn_feed(target, appdata, sizeof(appdata)) == TD_OK);
        const td_status *st = td_conn_status(target);
        expect_failed(st, "REC-UNPROTECTED-APPDATA", TD_ALERT_unexpected_message);
        td_conn_free(c);
        td_conn_free(s);
    }
}

/* RFC 8446 §4.2.10: after a HelloRetryRequest the server skips the 0-RTT
 * records that came with ClientHello1, and only those: once ClientHello2
 * is in, a record that does not deprotect under the handshake keys is
 * bad_record_mac (§5.2), not more early data to skip. ClientHello1 carries
 * 16 KiB of 0-RTT (two records, both skipped); the 64-byte garbage record
 * comes after the server's flight to ClientHello2. */
static void test_hrr_early_skip_ends_at_ch2(void)
{
    static uint8_t early[16384];
    memset(early, 0x45, sizeof(early));
    td_config cc = g_fx.ccfg, sc = g_fx.scfg;
    sc.max_early_data = 32768;
    td_session sess;
    td_pair *p = NULL;
    TD_REQUIRE(td_pair_new(&cc, &sc, &p) == TD_OK);
    TD_EXPECT(td_pair_run(p, 0) == TD_OK);
    bool have = td_conn_session(td_pair_client(p), &sess);
    td_pair_free(p);
    TD_REQUIRE(have && sess.max_early_data == 32768);
    cc.resume = &sess;
    cc.early_data = early;
    cc.early_data_len = sizeof(early);
    sc.hrr = TD_HRR_ALWAYS;
    td_conn *c = NULL, *s = NULL;
    const uint8_t *out;
    size_t n;
    TD_REQUIRE(td_conn_new(&cc, &c) == TD_OK);
    TD_REQUIRE(td_conn_new(&sc, &s) == TD_OK);
    TD_EXPECT(td_conn_start(c) == TD_OK);
    td_conn_drain(c, &out, &n); /* ClientHello1 + 16 KiB of 0-RTT */
    TD_EXPECT(n > sizeof(early));
    TD_EXPECT(td_conn_feed(s, out, n) == TD_OK);
    TD_EXPECT_EQ(td_conn_status(s)->phase, TD_PHASE_HANDSHAKE);
    TD_EXPECT(td_conn_status(s)->hrr);
    td_conn_drain(s, &out, &n); /* HelloRetryRequest */
    TD_EXPECT(td_conn_feed(c, out, n) == TD_OK);
    td_conn_drain(c, &out, &n); /* ClientHello2 */
    TD_EXPECT(td_conn_feed(s, out, n) == TD_OK);
    td_conn_drain(s, &out, &n); /* ServerHello .. Finished */
    TD_EXPECT(n > 0);
    TD_EXPECT_EQ(td_conn_status(s)->phase, TD_PHASE_HANDSHAKE);
    uint8_t rec[5 + 64] = {TD_CT_APPLICATION_DATA, 3, 3, 0, 64};
    memset(rec + 5, 0x5a, 64);
    TD_EXPECT(td_conn_feed(s, rec, sizeof(rec)) == TD_OK);
    const td_status *st = td_conn_status(s);
    expect_failed(st, "REC-BAD-MAC", TD_ALERT_bad_record_mac);
    td_conn_free(c);
    td_conn_free(s);
}

/* §6.1: "Each party MUST send a "close_notify" alert before closing its
 * write side of the connection, unless it has already sent some error
 * alert" -- also after the peer's close_notify (AL-CLOSE-NOTIFY). */
static void test_close_after_peer_close(void)
{
    td_pair *p = connected_pair(&g_fx.ccfg, &g_fx.scfg);
    TD_REQUIRE(p != NULL);
    td_conn *c = td_pair_client(p), *s = td_pair_server(p);
    TD_EXPECT(td_conn_close(c) == TD_OK);
    TD_EXPECT(td_pair_step(p, NULL) == TD_OK);
    TD_EXPECT_EQ(td_conn_status(s)->phase, TD_PHASE_CLOSED);
    TD_EXPECT(td_conn_close(s) == TD_OK);
    const uint8_t *out;
    size_t n;
    td_conn_drain(s, &out, &n);
    TD_EXPECT(n == 5 + 2 + 1 + 16 && out[0] == 23);
    /* Once is enough. */
    TD_EXPECT(td_conn_close(s) == TD_OK);
    TD_EXPECT_EQ(drained(s), 0);
    TD_EXPECT(td_conn_close(c) == TD_OK);
    TD_EXPECT_EQ(drained(c), 0);
    td_pair_free(p);
}

/* A server chain from |chain_file| (key |key_file|); the client trusts
 * |anchor_file|. Returns the client's status after the run (copied). */
static void run_server_chain(const char *chain_file, const char *key_file,
                             const char *anchor_file, td_status *out)
{
    td_der *chain = NULL, *anchor = NULL;
    size_t num_chain = 0, num_anchor = 0;
    td_pkey *key = NULL;
    memset(out, 0, sizeof(*out));
    TD_REQUIRE(td_certs_from_pem_file(chain_file, &chain, &num_chain) == TD_OK);
    TD_REQUIRE(td_certs_from_pem_file(anchor_file, &anchor, &num_anchor) == TD_OK);
    TD_REQUIRE(td_pkey_from_pem_file(g_crypto, key_file, &key) == TD_OK);
    td_cert_key ck = {.chain = chain, .num_chain = num_chain, .key = key};
    td_config cc = g_fx.ccfg, sc = g_fx.scfg;
    sc.certs = &ck;
    cc.trust_anchor = anchor[0].data;
    cc.trust_anchor_len = anchor[0].len;
    td_pair *p = NULL;
    TD_REQUIRE(td_pair_new(&cc, &sc, &p) == TD_OK);
    TD_EXPECT(td_pair_run(p, 0) == TD_OK);
    *out = *td_conn_status(td_pair_client(p));
    td_pair_free(p);
    td_pkey_free(key);
    td_der_list_free(chain, num_chain);
    td_der_list_free(anchor, num_anchor);
}

/* RFC 8446 4.4.2: an unrelated certificate between the leaf and its issuer
 * is tolerated (TOL-EXTRA-CERTS); 4.4.2.4: a server certificate signed with
 * SHA-1 or MD5 is refused with bad_certificate (CT-SHA1, CT-MD5). */
static void test_server_chain_checks(void)
{
    td_status st;
    run_server_chain(TD_VECTORS_DIR "/certs/server-p256-extra.chain.pem",
                     TD_VECTORS_DIR "/certs/server-p256.key", TD_VECTORS_DIR "/certs/ca.pem", &st);
    TD_EXPECT_EQ(st.phase, TD_PHASE_CONNECTED);
    run_server_chain(TD_VECTORS_DIR "/certs/client-p256-sha1.pem",
                     TD_VECTORS_DIR "/certs/client-p256.key", TD_VECTORS_DIR "/certs/ca.pem", &st);
    TD_EXPECT_EQ(st.phase, TD_PHASE_FAILED);
    TD_EXPECT_EQ(st.diag.rule, TD_RULE_CT_SHA1);
    TD_EXPECT_EQ(st.alert_sent_desc, TD_ALERT_bad_certificate);
    run_server_chain(TD_VECTORS_DIR "/certs/client-p256-md5.pem",
                     TD_VECTORS_DIR "/certs/client-p256.key", TD_VECTORS_DIR "/certs/md5-root.pem",
                     &st);
    TD_EXPECT_EQ(st.diag.rule, TD_RULE_CT_MD5);
    TD_EXPECT_EQ(st.alert_sent_desc, TD_ALERT_bad_certificate);
}

/* The misbehaviour hooks: a dropped EncryptedExtensions (the client sees a
 * Certificate first: EE-NOT-AFTER-SH), an injected KeyUpdate before the
 * server's Finished (KU-BEFORE-FINISHED), a sealed CCS (REC-CCS-PROTECTED). */
typedef struct skip_arg {
    int what; /* 0 drop EE, 1 inject a KeyUpdate before Finished, 2 seal a CCS before EE */
} skip_arg;

static td_err skip_hook(void *arg, td_conn *conn, td_msg *msg, td_binder_mode *mode)
{
    const skip_arg *a = arg;
    static const uint8_t ku[] = {24, 0, 0, 1, 0}, one = 1;
    (void)mode;
    if (a->what == 0 && msg->type == TD_MSG_ENCRYPTED_EXTENSIONS)
        td_conn_skip_message(conn);
    if (a->what == 1 && msg->type == TD_MSG_FINISHED)
        return td_conn_inject_handshake(conn, ku, sizeof(ku));
    if (a->what == 2 && msg->type == TD_MSG_ENCRYPTED_EXTENSIONS)
        return td_conn_inject_record(conn, 20, &one, 1, 0);
    return TD_OK;
}

static void test_misbehaviour_hooks(void)
{
    static const td_rule want[] = {TD_RULE_EE_NOT_AFTER_SH, TD_RULE_KU_BEFORE_FINISHED,
                                   TD_RULE_REC_CCS_PROTECTED};
    for (int i = 0; i < 3; i++) {
        skip_arg a = {i};
        td_config sc = g_fx.scfg;
        sc.msg_hook = skip_hook;
        sc.msg_hook_arg = &a;
        td_pair *p = NULL;
        TD_REQUIRE(td_pair_new(&g_fx.ccfg, &sc, &p) == TD_OK);
        TD_EXPECT(td_pair_run(p, 0) == TD_OK);
        const td_status *st = td_conn_status(td_pair_client(p));
        TD_EXPECT_EQ(st->phase, TD_PHASE_FAILED);
        TD_EXPECT_EQ(st->diag.rule, want[i]);
        TD_EXPECT_EQ(st->alert_sent_desc, TD_ALERT_unexpected_message);
        td_pair_free(p);
    }
}

/* RFC 8446 4.2.11: an external PSK (td_session.external) offered by the
 * client and known to the server by identity: resumed with "ext binder"
 * binders and an obfuscated_ticket_age of 0; the wrong key fails the binder. */
static td_err age_hook(void *arg, td_conn *conn, td_msg *msg, td_binder_mode *mode)
{
    uint32_t *age = arg;
    (void)conn;
    (void)mode;
    if (msg->type == TD_MSG_CLIENT_HELLO && msg->u.ch.ext.num_psk_identities > 0)
        *age = msg->u.ch.ext.psk_identities[0].obfuscated_ticket_age;
    return TD_OK;
}

static void test_external_psk(void)
{
    static const uint8_t id[] = "client-1";
    uint8_t key[32];
    memset(key, 0x5a, sizeof(key));
    td_psk_entry e = {.identity = id, .identity_len = 8, .psk = key, .psk_len = 32,
                      .suite = TD_TLS_AES_128_GCM_SHA256};
    for (int wrong = 0; wrong < 2; wrong++) {
        td_session x;
        memset(&x, 0, sizeof(x));
        x.external = true;
        x.suite = TD_TLS_AES_128_GCM_SHA256;
        memcpy(x.psk, key, 32);
        x.psk[0] ^= (uint8_t)wrong;
        x.psk_len = 32;
        memcpy(x.ticket, id, 8);
        x.ticket_len = 8;
        x.age_add = 12345;
        td_config cc = g_fx.ccfg, sc = g_fx.scfg;
        uint32_t age = 1;
        cc.resume = &x;
        cc.msg_hook = age_hook;
        cc.msg_hook_arg = &age;
        sc.psks = &e;
        sc.num_psks = 1;
        td_pair *p = NULL;
        TD_REQUIRE(td_pair_new(&cc, &sc, &p) == TD_OK);
        TD_EXPECT(td_pair_run(p, 0) == TD_OK);
        const td_status *c = td_conn_status(td_pair_client(p));
        const td_status *s = td_conn_status(td_pair_server(p));
        TD_EXPECT_EQ(age, 0);
        if (!wrong) {
            TD_EXPECT_EQ(c->phase, TD_PHASE_CONNECTED);
            TD_EXPECT(c->resumed && s->resumed);
        } else {
            TD_EXPECT_EQ(s->phase, TD_PHASE_FAILED);
            TD_EXPECT_EQ(s->diag.rule, TD_RULE_PSK_BINDER_INVALID);
        }
        td_pair_free(p);
    }
}

/* RFC 8446 §6: bytes that follow a peer's error alert are not read, only
 * counted (AL-CLOSE-AFTER-FATAL); a close_notify is not an error alert. */
static void test_bytes_after_alert(void)
{
    static const uint8_t alert_then_more[] = {21, 3, 3, 0, 2, 2, 40, 22, 3, 3, 0, 1, 0};
    static const uint8_t more[] = {23, 3, 3, 0, 1, 0};
    td_conn *c = NULL;
    TD_REQUIRE(td_conn_new(&g_fx.ccfg, &c) == TD_OK);
    TD_REQUIRE(td_conn_start(c) == TD_OK);
    TD_EXPECT(td_conn_feed(c, alert_then_more, sizeof(alert_then_more)) == TD_OK);
    const td_status *st = td_conn_status(c);
    TD_EXPECT_EQ(st->phase, TD_PHASE_FAILED);
    TD_EXPECT(st->alert_received && st->alert_received_desc == TD_ALERT_handshake_failure);
    TD_EXPECT_EQ(st->bytes_after_alert, 6);
    TD_EXPECT(td_conn_feed(c, more, sizeof(more)) == TD_OK);
    TD_EXPECT_EQ(st->bytes_after_alert, 12);
    td_conn_free(c);
    static const uint8_t close_then_more[] = {21, 3, 3, 0, 2, 1, 0, 23, 3, 3, 0, 1, 0};
    TD_REQUIRE(td_conn_new(&g_fx.ccfg, &c) == TD_OK);
    TD_REQUIRE(td_conn_start(c) == TD_OK);
    TD_EXPECT(td_conn_feed(c, close_then_more, sizeof(close_then_more)) == TD_OK);
    TD_EXPECT_EQ(td_conn_status(c)->phase, TD_PHASE_CLOSED);
    TD_EXPECT_EQ(td_conn_status(c)->bytes_after_alert, 0);
    td_conn_free(c);
}

int main(void)
{
    if (td_crypto_new(&g_crypto) != TD_OK || !fx_init(&g_fx, g_crypto))
        return 1;
    TD_RUN(test_feed_bytewise);
    TD_RUN(test_alerts_received);
    TD_RUN(test_silence_after_failure);
    TD_RUN(test_api_by_phase);
    TD_RUN(test_close_notify);
    TD_RUN(test_protected_alerts);
    TD_RUN(test_fragment_large);
    TD_RUN(test_fragment_max);
    TD_RUN(test_key_update);
    TD_RUN(test_alert_keys);
    TD_RUN(test_injected_records);
    TD_RUN(test_ciphertext_overflow);
    TD_RUN(test_injected_fragmented_ku);
    TD_RUN(test_appdata_under_handshake_keys);
    TD_RUN(test_appdata_before_any_keys);
    TD_RUN(test_hrr_early_skip_ends_at_ch2);
    TD_RUN(test_close_after_peer_close);
    TD_RUN(test_server_chain_checks);
    TD_RUN(test_misbehaviour_hooks);
    TD_RUN(test_external_psk);
    TD_RUN(test_bytes_after_alert);
    printf("test_conn: %d aborts checked against their rule's alerts\n", td_fx_aborts_checked);
    fx_cleanup(&g_fx);
    td_crypto_free(g_crypto);
    return td_test_report("test_conn");
}
