/* tests/unit/test_conn_clone.c -- td_conn_clone (engine/conn.c): a copy
 * taken at any point of a connection's life carries on exactly as the
 * original does.
 *
 * A fixed script drives an engine client and server in memory (a handshake
 * fed in half flights, so that partial records and half-reassembled
 * messages sit in the buffers, then application data, KeyUpdate,
 * post-handshake authentication and the closes). Every step's drained bytes,
 * read application data and both statuses go to a log. For each step k the
 * script is run to k, both sides are cloned, and the rest of the script is
 * run on the originals and on the clones: both logs must equal the
 * uninterrupted run's log from k on, byte for byte. One of the two pairs is
 * freed before the other carries on (alternately), so that ASan reports any
 * pointer the copy still shares with its source. Every other pair of copies
 * is made by td_conn_restore into connections that ran the whole script. The configurations cover a
 * full handshake, HRR with a cookie, PSK resumption, 0-RTT, client auth,
 * compat-mode CCS, post-handshake auth, other suites and groups, fuzzer
 * mode, and a handshake that fails. The test proves it can fail: copies with one field
 * broken on purpose (a sequence number, the DRBG, the transcript, a
 * secret) must make the logs differ. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "td_test.h"

#include "conn_internal.h"
#include "td_pair_fixture.h"

static td_crypto *g_crypto;
static pair_fx g_fx;

/* ---- the script ---- */

typedef enum op {
    OP_START,
    OP_DRAIN_C, /* client's bytes -> in flight to the server */
    OP_FEED_S_HALF,
    OP_FEED_S_REST,
    OP_DRAIN_S,
    OP_FEED_C_HALF,
    OP_FEED_C_REST,
    OP_READ,
    OP_WRITE,
    OP_KEY_UPDATE,
    OP_PHA,
    OP_CLOSE_C,
    OP_CLOSE_S,
} op;

#define MAX_OPS 128
static op g_script[MAX_OPS];
static size_t g_num_ops;

static void script_add(op o)
{
    if (g_num_ops < MAX_OPS)
        g_script[g_num_ops++] = o;
}

static void script_rounds(int n)
{
    for (int i = 0; i < n; i++) {
        script_add(OP_DRAIN_C);
        script_add(OP_FEED_S_HALF);
        script_add(OP_FEED_S_REST);
        script_add(OP_DRAIN_S);
        script_add(OP_FEED_C_HALF);
        script_add(OP_FEED_C_REST);
    }
}

static void script_build(void)
{
    g_num_ops = 0;
    script_add(OP_START);
    script_rounds(4);
    script_add(OP_READ);
    script_add(OP_WRITE);
    script_rounds(1);
    script_add(OP_READ);
    script_add(OP_KEY_UPDATE);
    script_rounds(2);
    script_add(OP_PHA);
    script_rounds(2);
    script_add(OP_WRITE);
    script_rounds(1);
    script_add(OP_READ);
    script_add(OP_CLOSE_C);
    script_rounds(1);
    script_add(OP_CLOSE_S);
    script_rounds(1);
}

/* ---- one pair carrying out the script ---- */

typedef struct bytes {
    uint8_t *p;
    size_t len, cap;
} bytes;

static void bytes_add(bytes *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *q = realloc(b->p, cap);
        if (q == NULL)
            abort();
        b->p = q;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void bytes_free(bytes *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

typedef struct branch {
    td_conn *c, *s;
    bytes flight[2]; /* [0] client -> server, [1] server -> client: drained, not yet fed */
    size_t fed[2];
    bytes log;
    bool api_error;
} branch;

static void branch_free(branch *b)
{
    td_conn_free(b->c);
    td_conn_free(b->s);
    bytes_free(&b->flight[0]);
    bytes_free(&b->flight[1]);
    bytes_free(&b->log);
    memset(b, 0, sizeof(*b));
}

static void log_u64(bytes *log, uint64_t v)
{
    bytes_add(log, &v, sizeof(v));
}

static void log_str(bytes *log, const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;
    log_u64(log, n);
    bytes_add(log, s, n);
}

/* Every field of the status that the run can change, one by one (no struct
 * padding in the log). */
static void log_status(bytes *log, const td_status *st)
{
    uint64_t v[] = {st->phase,
                    st->completed,
                    st->version,
                    st->suite,
                    st->group,
                    st->sigalg,
                    st->client_sigalg,
                    st->hrr,
                    st->resumed,
                    st->early_data_accepted,
                    st->client_authenticated,
                    st->post_handshake_auth,
                    st->post_handshake_auths,
                    st->alert_sent,
                    st->alert_sent_level,
                    st->alert_sent_desc,
                    st->alert_received,
                    st->alert_received_level,
                    st->alert_received_desc,
                    (uint64_t)st->diag.err,
                    (uint64_t)st->diag.rule,
                    st->diag.offset,
                    (uint64_t)st->diag.line,
                    st->msg_type,
                    (uint64_t)(int64_t)st->record_index,
                    st->bytes_in,
                    st->bytes_out,
                    st->app_data_records_in,
                    st->alert_unreadable,
                    st->bytes_after_alert};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        log_u64(log, v[i]);
    log_str(log, st->state);
    log_str(log, st->alpn);
    log_str(log, st->sni);
    log_str(log, st->diag.file);
    log_str(log, st->diag.text);
}

/* The end of the story beyond the status: the message log, the ticket. */
static void log_end(bytes *log, td_conn *c)
{
    size_t n;
    const td_msg_record *m = td_conn_messages(c, &n);
    log_u64(log, n);
    for (size_t i = 0; i < n; i++) {
        log_u64(log, m[i].sent);
        log_u64(log, m[i].len);
        bytes_add(log, m[i].bytes, m[i].len);
    }
    td_session sess;
    if (td_conn_session(c, &sess)) {
        log_u64(log, sess.suite);
        bytes_add(log, sess.psk, sess.psk_len);
        bytes_add(log, sess.ticket, sess.ticket_len);
        log_u64(log, sess.age_add);
    }
}

static void drain_into(branch *b, td_conn *from, int dir)
{
    const uint8_t *out;
    size_t out_len;
    td_conn_drain(from, &out, &out_len);
    log_u64(&b->log, out_len);
    bytes_add(&b->log, out, out_len);
    /* What was in flight and fed already is gone. */
    if (b->fed[dir] == b->flight[dir].len)
        b->flight[dir].len = b->fed[dir] = 0;
    bytes_add(&b->flight[dir], out, out_len);
}

/* Feeds half of what is in flight (an odd split, inside a record header or
 * body) or the rest. */
static void feed(branch *b, td_conn *to, int dir, bool half)
{
    bytes *f = &b->flight[dir];
    size_t left = f->len - b->fed[dir];
    size_t n = half ? (left > 1 ? left / 2 + 1 : left) : left;
    if (n == 0)
        return;
    if (td_conn_feed(to, f->p + b->fed[dir], n) != TD_OK)
        b->api_error = true;
    b->fed[dir] += n;
}

static void read_app(branch *b, td_conn *c)
{
    uint8_t buf[256];
    size_t n = td_conn_read(c, buf, sizeof(buf));
    log_u64(&b->log, n);
    bytes_add(&b->log, buf, n);
}

static void step(branch *b, op o)
{
    static const uint8_t ping[] = "ping from the client", pong[] = "pong from the server";
    td_err err = TD_OK;
    switch (o) {
    case OP_START: err = td_conn_start(b->c); break;
    case OP_DRAIN_C: drain_into(b, b->c, 0); break;
    case OP_FEED_S_HALF: feed(b, b->s, 0, true); break;
    case OP_FEED_S_REST: feed(b, b->s, 0, false); break;
    case OP_DRAIN_S: drain_into(b, b->s, 1); break;
    case OP_FEED_C_HALF: feed(b, b->c, 1, true); break;
    case OP_FEED_C_REST: feed(b, b->c, 1, false); break;
    case OP_READ:
        read_app(b, b->c);
        read_app(b, b->s);
        break;
    case OP_WRITE:
        /* Refused (TD_ERR_ARG) unless connected: the answer is logged. */
        log_u64(&b->log, (uint64_t)td_conn_write(b->c, ping, sizeof(ping)));
        log_u64(&b->log, (uint64_t)td_conn_write(b->s, pong, sizeof(pong)));
        break;
    case OP_KEY_UPDATE: log_u64(&b->log, (uint64_t)td_conn_key_update(b->c, true)); break;
    case OP_PHA: log_u64(&b->log, (uint64_t)td_conn_request_client_auth(b->s)); break;
    case OP_CLOSE_C: err = td_conn_close(b->c); break;
    case OP_CLOSE_S: err = td_conn_close(b->s); break;
    }
    if (err != TD_OK)
        b->api_error = true;
    log_status(&b->log, td_conn_status(b->c));
    log_status(&b->log, td_conn_status(b->s));
}

static void run_ops(branch *b, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        step(b, g_script[i]);
}

/* The rest of the script, then the end of the story. */
static void run_rest(branch *b, size_t from)
{
    run_ops(b, from, g_num_ops);
    log_end(&b->log, b->c);
    log_end(&b->log, b->s);
}

static bool branch_new(branch *b, const td_config *cc, const td_config *sc)
{
    memset(b, 0, sizeof(*b));
    return td_conn_new(cc, &b->c) == TD_OK && td_conn_new(sc, &b->s) == TD_OK;
}

/* A copy of |src| (connections cloned, flights and log copied). With
 * |used| the connections are restored (td_conn_restore) into copies of
 * |used|'s, connections that hold state and buffers of their own. */
static bool branch_clone(branch *dst, const branch *src, const branch *used)
{
    memset(dst, 0, sizeof(*dst));
    if (used != NULL) {
        if (td_conn_clone(used->c, &dst->c) != TD_OK || td_conn_clone(used->s, &dst->s) != TD_OK ||
            td_conn_restore(dst->c, src->c) != TD_OK || td_conn_restore(dst->s, src->s) != TD_OK)
            return false;
    } else if (td_conn_clone(src->c, &dst->c) != TD_OK || td_conn_clone(src->s, &dst->s) != TD_OK) {
        return false;
    }
    for (int d = 0; d < 2; d++) {
        bytes_add(&dst->flight[d], src->flight[d].p, src->flight[d].len);
        dst->fed[d] = src->fed[d];
    }
    bytes_add(&dst->log, src->log.p, src->log.len);
    return true;
}

/* ---- the check ---- */

/* Breaks one field of a fresh copy (the proof that the check can fail). */
typedef void (*breaker)(td_conn *c);

typedef struct outcome {
    size_t clone_points; /* steps at which a copy was taken */
    size_t diverged;     /* of them: the copy's log differed from the reference */
    td_status c, s;      /* how the reference run ended */
} outcome;

/* Runs the script once straight, then once per step k with copies taken
 * at k (broken by |brk| on the client and server copies if not NULL). With
 * |brk| NULL every copy must match; with one, the caller checks that some
 * did not. */
static outcome check_config(const char *name, const td_config *cc, const td_config *sc, breaker brk)
{
    outcome res;
    memset(&res, 0, sizeof(res));
    branch ref;
    if (!branch_new(&ref, cc, sc)) {
        TD_EXPECT(!"td_conn_new");
        branch_free(&ref);
        return res;
    }
    /* Where the reference log stood after each step. */
    size_t at[MAX_OPS + 1];
    at[0] = 0;
    for (size_t i = 0; i < g_num_ops; i++) {
        step(&ref, g_script[i]);
        at[i + 1] = ref.log.len;
    }
    run_rest(&ref, g_num_ops);
    TD_EXPECT(!ref.api_error);
    res.c = *td_conn_status(ref.c);
    res.s = *td_conn_status(ref.s);
    size_t last_at = (size_t)-1;
    for (size_t k = 0; k <= g_num_ops; k++) {
        /* A step that changed nothing visible gives the same copy as the one before. */
        if (at[k] == last_at)
            continue;
        last_at = at[k];
        branch orig, copy;
        if (!branch_new(&orig, cc, sc)) {
            TD_EXPECT(!"td_conn_new");
            branch_free(&orig);
            break;
        }
        run_ops(&orig, 0, k);
        /* Every other copy is restored into connections that ran the whole script. */
        if (!branch_clone(&copy, &orig, (k / 2) & 1 ? &ref : NULL)) {
            TD_EXPECT(!"td_conn_clone");
            branch_free(&orig);
            branch_free(&copy);
            break;
        }
        if (brk != NULL) {
            brk(copy.c);
            brk(copy.s);
        }
        res.clone_points++;
        /* Alternately the source or the copy goes on first and is freed
         * before the other one carries on. */
        branch *first = (k & 1) ? &copy : &orig, *second = (k & 1) ? &orig : &copy;
        bytes logs[2];
        run_rest(first, k);
        logs[0] = first->log;
        first->log = (bytes){0};
        bool first_error = first->api_error;
        branch_free(first);
        run_rest(second, k);
        logs[1] = second->log;
        second->log = (bytes){0};
        bool second_error = second->api_error;
        branch_free(second);
        const bytes *copy_log = (k & 1) ? &logs[0] : &logs[1];
        const bytes *orig_log = (k & 1) ? &logs[1] : &logs[0];
        /* The original is never broken: it must always replay the reference. */
        TD_EXPECT_MEM(orig_log->p, orig_log->len, ref.log.p, ref.log.len);
        bool same = copy_log->len == ref.log.len &&
                    memcmp(copy_log->p, ref.log.p, ref.log.len) == 0 &&
                    (k & 1 ? first_error : second_error) == ref.api_error;
        if (!same)
            res.diverged++;
        if (brk == NULL && !same)
            fprintf(stderr, "%s: %s: the copy taken after step %zu of %zu diverged\n",
                    td_test_current, name, k, g_num_ops);
        bytes_free(&logs[0]);
        bytes_free(&logs[1]);
    }
    if (brk == NULL)
        TD_EXPECT_EQ(res.diverged, 0);
    branch_free(&ref);
    return res;
}

/* ---- configurations ---- */

static td_session g_ticket; /* a ticket of the server, with 0-RTT allowed */

static void test_full(void)
{
    td_config cc = g_fx.ccfg, sc = g_fx.scfg;
    cc.log_messages = sc.log_messages = true;
    outcome o = check_config("full", &cc, &sc, NULL);
    /* The script has more distinct points than a handful. */
    TD_EXPECT(o.clone_points > 20);
    TD_EXPECT(o.c.completed && o.s.completed);
    TD_EXPECT_EQ(o.c.phase, TD_PHASE_CLOSED);
    TD_EXPECT_EQ(o.s.app_data_records_in, 2);
}

static void test_hrr_cookie(void)
{
    td_config cc = g_fx.ccfg, sc = g_fx.scfg;
    sc.hrr = TD_HRR_ALWAYS;
    sc.hrr_cookie = true;
    sc.log_messages = true;
    outcome o = check_config("hrr", &cc, &sc, NULL);
    TD_EXPECT(o.c.hrr && o.s.completed);
}

static void test_resumption(void)
{
    td_config cc = g_fx.ccfg, sc = g_fx.scfg;
    cc.resume = &g_ticket;
    outcome o = check_config("resumption", &cc, &sc, NULL);
    TD_EXPECT(o.s.resumed && o.c.resumed && o.s.completed);
}

static void test_early_data(void)
{
    static const uint8_t early[] = "0-RTT data";
    td_config cc = g_fx.ccfg, sc = g_fx.scfg;
    cc.resume = &g_ticket;
    cc.early_data = early;
    cc.early_data_len = sizeof(early);
    cc.log_messages = true;
    outcome o = check_config("0-rtt", &cc, &sc, NULL);
    TD_EXPECT(o.s.early_data_accepted && o.c.early_data_accepted && o.s.completed);
}

static void test_client_auth_compat(void)
{
    td_config cc = g_fx.ccfg, sc = g_fx.scfg;
    cc.certs = &g_fx.cck;
    cc.num_certs = 1;
    cc.compat_mode = true;
    sc.client_auth = TD_CLIENT_AUTH_REQUIRE;
    outcome o = check_config("client-auth+compat", &cc, &sc, NULL);
    TD_EXPECT(o.s.client_authenticated && o.s.completed);
}

static void test_pha_suites_groups(void)
{
    static const uint16_t suites384[] = {TD_TLS_AES_256_GCM_SHA384};
    static const uint16_t chacha[] = {TD_TLS_CHACHA20_POLY1305_SHA256};
    static const uint16_t p384[] = {TD_GROUP_SECP384R1};
    static const uint16_t p256[] = {TD_GROUP_SECP256R1};
    td_config cc = g_fx.ccfg, sc = g_fx.scfg;
    cc.certs = &g_fx.cck;
    cc.num_certs = 1;
    cc.offer_post_handshake_auth = true;
    sc.post_handshake_auth = TD_CLIENT_AUTH_REQUEST;
    cc.suites = sc.suites = suites384;
    cc.num_suites = sc.num_suites = 1;
    cc.groups = sc.groups = p384;
    cc.num_groups = sc.num_groups = 1;
    outcome o = check_config("pha+aes256+p384", &cc, &sc, NULL);
    TD_EXPECT_EQ(o.s.post_handshake_auths, 2); /* the automatic one and OP_PHA */
    TD_EXPECT_EQ(o.s.suite, TD_TLS_AES_256_GCM_SHA384);
    TD_EXPECT_EQ(o.s.group, TD_GROUP_SECP384R1);
    cc.suites = sc.suites = chacha;
    cc.groups = sc.groups = p256;
    /* A share the server does not take first: HRR to P-256. */
    static const uint16_t both[] = {TD_GROUP_X25519, TD_GROUP_SECP256R1};
    cc.groups = both;
    cc.num_groups = 2;
    o = check_config("chacha+hrr-p256", &cc, &sc, NULL);
    TD_EXPECT(o.s.hrr && o.s.completed);
    TD_EXPECT_EQ(o.s.suite, TD_TLS_CHACHA20_POLY1305_SHA256);
    TD_EXPECT_EQ(o.s.group, TD_GROUP_SECP256R1);
}

/* Fuzzer mode on both ends: plaintext records under a null cipher. */
static void test_fuzzer_mode(void)
{
    td_config cc = g_fx.ccfg, sc = g_fx.scfg;
    cc.fuzzer_mode = sc.fuzzer_mode = true;
    cc.dummy_signatures = sc.dummy_signatures = true;
    cc.resume = &g_ticket;
    outcome o = check_config("fuzzer-mode", &cc, &sc, NULL);
    TD_EXPECT(o.s.completed && o.c.completed);
}

static void test_failure(void)
{
    td_config cc = g_fx.ccfg, sc = g_fx.scfg;
    cc.verify_name = "not-the-server.example"; /* the client refuses the certificate */
    outcome o = check_config("failed", &cc, &sc, NULL);
    TD_EXPECT(o.clone_points > 3);
    TD_EXPECT_EQ(o.c.phase, TD_PHASE_FAILED);
    TD_EXPECT(o.c.alert_sent && o.s.alert_received);
}

/* Inside a callback there is nothing consistent to copy: refused. */
static td_err clone_in_hook(void *arg, td_conn *c, td_msg *msg, td_binder_mode *mode)
{
    (void)msg, (void)mode;
    td_conn *copy = (td_conn *)1;
    td_err err = td_conn_clone(c, &copy);
    *(td_err *)arg = err;
    td_conn_free(copy); /* NULL after a refusal */
    return TD_OK;
}

static void test_refused_in_callback(void)
{
    td_config cc = g_fx.ccfg;
    td_err seen = TD_OK;
    cc.msg_hook = clone_in_hook;
    cc.msg_hook_arg = &seen;
    td_conn *c = NULL, *copy = NULL;
    TD_REQUIRE(td_conn_new(&cc, &c) == TD_OK);
    TD_EXPECT(td_conn_start(c) == TD_OK);
    TD_EXPECT_EQ(seen, TD_ERR_ARG);
    /* Outside the callback the same connection is copied. */
    TD_EXPECT(td_conn_clone(c, &copy) == TD_OK);
    TD_EXPECT(copy != NULL);
    td_conn_free(copy);
    td_conn_free(c);
    TD_EXPECT(td_conn_clone(NULL, &copy) == TD_ERR_ARG);
    TD_REQUIRE(td_conn_new(&cc, &c) == TD_OK);
    TD_EXPECT(td_conn_restore(c, c) == TD_ERR_ARG);
    td_conn_free(c);
}

/* ---- a kept ClientHello ---- */

/* |c| holds |src|'s ClientHello, parsed from its own bytes. */
static void expect_hello_of(const td_conn *c, const td_conn *src)
{
    TD_REQUIRE(c->ch_bytes != NULL && c->ch_bytes != src->ch_bytes);
    TD_EXPECT(c->ch_len == src->ch_len && memcmp(c->ch_bytes, src->ch_bytes, c->ch_len) == 0);
    TD_EXPECT_EQ(c->ch.type, TD_MSG_CLIENT_HELLO);
    TD_EXPECT(memcmp(c->ch.u.ch.random, src->ch.u.ch.random, TD_RANDOM_LEN) == 0);
    TD_EXPECT_EQ(c->ch.u.ch.exts.num, src->ch.u.ch.exts.num);
    TD_EXPECT_EQ(c->ch.u.ch.ext.num_key_shares, src->ch.u.ch.ext.num_key_shares);
    TD_EXPECT_EQ(td_cbs_len(&c->ch.u.ch.legacy_session_id),
                 td_cbs_len(&src->ch.u.ch.legacy_session_id));
    for (size_t i = 0; i < c->ch.u.ch.exts.num; i++) {
        const td_cbs *b = &c->ch.u.ch.exts.list[i].body;
        TD_EXPECT(td_cbs_len(b) == 0 || (td_cbs_data(b) >= c->ch_bytes &&
                                         td_cbs_data(b) + td_cbs_len(b) <= c->ch_bytes + c->ch_len));
    }
}

/* td_conn_restore keeps the parsed ClientHello of the connection it
 * restores into when the source holds the same bytes (no parse again), and
 * parses the source's when they differ (here: another session id and key
 * share group). */
static void test_restore_keeps_hello(void)
{
    td_config other = g_fx.ccfg;
    static const uint16_t p256[] = {TD_GROUP_SECP256R1};
    other.compat_mode = true;
    other.share_groups = p256;
    other.num_share_groups = 1;
    td_conn *a = NULL, *b = NULL, *snap = NULL;
    TD_REQUIRE(td_conn_new(&g_fx.ccfg, &a) == TD_OK && td_conn_start(a) == TD_OK);
    TD_REQUIRE(td_conn_new(&other, &b) == TD_OK && td_conn_start(b) == TD_OK);
    TD_REQUIRE(td_conn_clone(a, &snap) == TD_OK);
    expect_hello_of(snap, a);
    TD_REQUIRE(b->ch_len != a->ch_len || memcmp(b->ch_bytes, a->ch_bytes, a->ch_len) != 0);
    TD_REQUIRE(td_conn_restore(b, a) == TD_OK);
    expect_hello_of(b, a);
    const uint8_t *kept = b->ch_bytes;
    TD_REQUIRE(td_conn_restore(b, snap) == TD_OK);
    TD_EXPECT(b->ch_bytes == kept);
    expect_hello_of(b, snap);
    td_conn_free(snap);
    td_conn_free(b);
    td_conn_free(a);
}

/* A freed client's parsed ClientHello goes to its td_crypto (conn.c
 * td_conn_hello_stash), and the next client that builds the same bytes
 * takes it (its bytes' buffer, moved) instead of parsing again: the same
 * message as a parse, its lists at its own inline storage, its views in its
 * own bytes. A client of another config builds other bytes and parses. */
static void test_free_keeps_hello(void)
{
    td_conn *a = NULL, *b = NULL, *o = NULL;
    td_config other = g_fx.ccfg;
    static const uint16_t p256[] = {TD_GROUP_SECP256R1};
    other.share_groups = p256;
    other.num_share_groups = 1;
    TD_REQUIRE(td_conn_new(&g_fx.ccfg, &a) == TD_OK && td_conn_start(a) == TD_OK);
    size_t len = a->ch_len;
    uint8_t *copy = malloc(len);
    TD_REQUIRE(copy != NULL);
    memcpy(copy, a->ch_bytes, len);
    uintptr_t kept = (uintptr_t)a->ch_bytes;
    td_conn_free(a);
    TD_REQUIRE(td_conn_new(&g_fx.ccfg, &b) == TD_OK && td_conn_start(b) == TD_OK);
    TD_EXPECT((uintptr_t)b->ch_bytes == kept);
    TD_REQUIRE(b->ch_len == len && memcmp(b->ch_bytes, copy, len) == 0);
    const td_client_hello *ch = &b->ch.u.ch;
    TD_EXPECT_EQ(b->ch.type, TD_MSG_CLIENT_HELLO);
    TD_EXPECT(ch->exts.list == ch->exts.list_inline);
    TD_EXPECT(ch->cipher_suites == ch->cipher_suites_inline);
    TD_EXPECT(ch->ext.groups == ch->ext.groups_inline);
    TD_EXPECT(ch->ext.key_shares == ch->ext.key_shares_inline);
    for (size_t i = 0; i < ch->exts.num; i++) {
        const td_cbs *body = &ch->exts.list[i].body;
        TD_EXPECT(td_cbs_len(body) == 0 ||
                  (td_cbs_data(body) >= b->ch_bytes &&
                   td_cbs_data(body) + td_cbs_len(body) <= b->ch_bytes + b->ch_len));
    }
    for (size_t i = 0; i < ch->ext.num_key_shares; i++) {
        const td_cbs *k = &ch->ext.key_shares[i].key_exchange;
        TD_EXPECT(td_cbs_data(k) >= b->ch_bytes &&
                  td_cbs_data(k) + td_cbs_len(k) <= b->ch_bytes + b->ch_len);
    }
    /* The message a parse makes, field by field and rebuilt. */
    td_msg ref;
    td_diag diag;
    td_diag_clear(&diag);
    TD_REQUIRE(td_msg_parse_handshake(copy, len, NULL, &ref, &diag) == TD_OK);
    TD_EXPECT_EQ(ch->exts.num, ref.u.ch.exts.num);
    for (size_t i = 0; i < ch->exts.num && i < ref.u.ch.exts.num; i++)
        TD_EXPECT_EQ(ch->exts.list[i].type, ref.u.ch.exts.list[i].type);
    TD_EXPECT_EQ(ch->num_cipher_suites, ref.u.ch.num_cipher_suites);
    TD_EXPECT_EQ(ch->ext.num_groups, ref.u.ch.ext.num_groups);
    TD_EXPECT_EQ(ch->ext.num_key_shares, ref.u.ch.ext.num_key_shares);
    td_cbb cbb;
    uint8_t *built = NULL;
    size_t built_len = 0;
    TD_REQUIRE(td_cbb_init(&cbb, 0));
    TD_REQUIRE(td_msg_build(&b->ch, &cbb) == TD_OK && td_cbb_finish(&cbb, &built, &built_len));
    TD_EXPECT_MEM(built, built_len, copy, len);
    free(built);
    td_msg_cleanup(&ref);
    /* Another config: other bytes, parsed (not the kept buffer). */
    TD_REQUIRE(td_conn_new(&other, &o) == TD_OK && td_conn_start(o) == TD_OK);
    TD_EXPECT((uintptr_t)o->ch_bytes != kept);
    TD_EXPECT(o->ch_len != len || memcmp(o->ch_bytes, copy, len) != 0);
    TD_EXPECT_EQ(o->ch.type, TD_MSG_CLIENT_HELLO);
    free(copy);
    td_conn_free(o);
    td_conn_free(b);
}

/* ---- the check can fail ---- */

static void break_write_seq(td_conn *c)
{
    c->write.seq++;
}
static void break_read_seq(td_conn *c)
{
    c->read.seq++;
}
static void break_drbg(td_conn *c)
{
    uint8_t b;
    td_drbg_bytes(&c->drbg, &b, 1);
}
static void break_transcript(td_conn *c)
{
    static const uint8_t extra[4] = {0xfe, 0, 0, 0};
    if (td_transcript_add(&c->transcript, extra, sizeof(extra)) != TD_OK)
        abort();
}
static void break_secret(td_conn *c)
{
    c->c_ap[0] ^= 1;
}
static void break_clock(td_conn *c)
{
    td_clock_advance(&c->clock, 3600u * 1000u * 24u * 30u);
}

static void test_check_can_fail(void)
{
    static const struct {
        const char *name;
        breaker brk;
    } k_breakers[] = {
        {"write.seq", break_write_seq},   {"read.seq", break_read_seq}, {"drbg", break_drbg},
        {"transcript", break_transcript}, {"c_ap", break_secret},
    };
    td_config cc = g_fx.ccfg, sc = g_fx.scfg;
    for (size_t i = 0; i < sizeof(k_breakers) / sizeof(k_breakers[0]); i++) {
        outcome o = check_config(k_breakers[i].name, &cc, &sc, k_breakers[i].brk);
        if (o.diverged == 0)
            fprintf(stderr, "%s: breaking %s went unnoticed\n", td_test_current,
                    k_breakers[i].name);
        TD_EXPECT(o.diverged > 0);
    }
    /* The clock only matters to a ticket's age: a resumption notices. */
    cc.resume = &g_ticket;
    outcome o = check_config("clock", &cc, &sc, break_clock);
    TD_EXPECT(o.diverged > 0);
}

static bool setup(void)
{
    if (td_crypto_new(&g_crypto) != TD_OK || !fx_init(&g_fx, g_crypto))
        return false;
    script_build();
    td_pair *p = NULL;
    bool ok = td_pair_new(&g_fx.ccfg, &g_fx.scfg, &p) == TD_OK && td_pair_run(p, 0) == TD_OK &&
              td_conn_session(td_pair_client(p), &g_ticket);
    td_pair_free(p);
    return ok;
}

int main(void)
{
    if (!setup()) {
        fprintf(stderr, "test_conn_clone: setup failed\n");
        return 1;
    }
    TD_RUN(test_full);
    TD_RUN(test_hrr_cookie);
    TD_RUN(test_resumption);
    TD_RUN(test_early_data);
    TD_RUN(test_client_auth_compat);
    TD_RUN(test_pha_suites_groups);
    TD_RUN(test_fuzzer_mode);
    TD_RUN(test_failure);
    TD_RUN(test_refused_in_callback);
    TD_RUN(test_restore_keeps_hello);
    TD_RUN(test_free_keeps_hello);
    TD_RUN(test_check_can_fail);
    fx_cleanup(&g_fx);
    td_crypto_free(g_crypto);
    return td_test_report("test_conn_clone");
}
