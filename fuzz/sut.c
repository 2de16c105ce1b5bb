/* fuzz/sut.c -- the sut_<lib>_server / sut_<lib>_client targets: a mutation
 * program runs on our engine (client against a SUT server, server against
 * a SUT client) and the bytes go to a TLS library in process through the
 * SUT adapter API (tlsdrill/sut.h, engine/peers/). The library is the
 * <lib> of the target's name ("gnutls" is the adapter gnutls-lib).
 *
 * The oracle judges the SUT from what our side saw: the alert it sent (our
 * side decrypts it) against the rules the program broke (oracle.c), no
 * bytes after its fatal alert (RFC 8446 §6.2), no runaway exchange (bounded
 * rounds). Sanitizers catch the library's memory errors when it is built
 * with them (TD_SUT_PREFIX, README "Fuzz your own TLS stack").
 *
 * Per process: the adapter's keep, one SUT connection per configuration the
 * programs can ask for (cfg flags, suite, group: reset() per input, the
 * library's context is made once), and a ticket the SUT server issued to
 * our client (resumption programs offer it). The libraries draw their own
 * randomness and keep real time, so these targets are not byte-for-byte
 * deterministic: the harness skips its determinism check for them.
 *
 * Resumption against a library: a server checks the ticket age our client
 * sends against its own clock (wolfSSL resumes only within about 10 s of
 * the real age, else it falls back to a full handshake), so our client's
 * clock starts at the real time since the ticket came, and the ticket is
 * fetched again once a minute. A client SUT resumes a session of its own
 * (as in a scenario's `resume ticket` case): a plain handshake on a
 * connection of its own makes it before every resumption program, so that
 * each input starts from the same state whatever ran before it (the session
 * an earlier input left may be another suite's, one that had early data,
 * or one the library marked not resumable after a fatal alert: libssl
 * then offers no PSK at all).
 *
 * sut_engine_*: our engine behind the same API (engine/peers/engine_sut.c),
 * the planted SUT: the context's test-only plant (td_fz_ctx_plant_wrong_alert,
 * TD_FUZZ_PLANT_WRONG_ALERT in a fuzz binary) goes to the SUT's config,
 * which only the engine reads. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "oracle.h"
#include "program.h"
#include "sut_target.h"
#include "tlsdrill/msg.h"
#include "tlsdrill/record.h"
#include "tlsdrill/sut.h"

#define SUT_CACHE 24

typedef struct sut_slot {
    bool used;
    uint32_t key;
    td_config ours, sut; /* the configs the connection was made with (borrowed by it) */
    void *conn;
    bool unsupported;
    char why[160]; /* the adapter's reason, when unsupported */
} sut_slot;

struct td_fz_sut {
    const td_sut_adapter *a;
    void *keep;
    td_session ticket; /* issued by the SUT server to our client */
    bool have_ticket;
    uint64_t ticket_at;  /* when it came (monotonic ms) */
    bool client_session; /* a client SUT's keep holds a session (its last status said so) */
    unsigned when;       /* the last input's SUT_WHEN_* (k_known rows that need them) */
    sut_slot slots[SUT_CACHE];
};

/* Fetch the ticket again after this long (real time): under the
 * libraries' ticket lifetimes, and the ages stay small. */
#define SUT_TICKET_MAX_AGE_MS 60000u

static uint64_t mono_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void td_fz_sut_free(td_fz_sut *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < SUT_CACHE; i++)
        if (s->slots[i].conn != NULL)
            s->a->conn_free(s->slots[i].conn);
    s->a->keep_free(s->keep);
    free(s);
}

/* "sut_gnutls_server" -> the adapter "gnutls-lib"; NULL if not built in. */
static const td_sut_adapter *adapter_of(const char *target)
{
    char lib[32];
    const char *p = target + 4, *e = strrchr(target, '_');
    if (strncmp(target, "sut_", 4) != 0 || e == NULL || e <= p || (size_t)(e - p) >= sizeof(lib))
        return NULL;
    memcpy(lib, p, (size_t)(e - p));
    lib[e - p] = '\0';
    const td_sut_adapter *a = td_sut_find(lib);
    if (a == NULL && strcmp(lib, "gnutls") == 0)
        a = td_sut_find("gnutls-lib");
    return a;
}

/* The exchange of our side |ours| (a new td_conn from |cfg|) with the SUT
 * connection |conn|, no program; a client SUT's session state noted. */
static td_err exchange_plain(td_fz_sut *s, void *conn, const td_config *cfg, td_conn **out_ours)
{
    td_peer_stream c2s = {0}, s2c = {0};
    td_sut_link l = {.a = s->a, .conn = conn, .ours_role = cfg->role, .c2s = &c2s, .s2c = &s2c};
    td_err err = td_conn_new(cfg, &l.ours);
    if (err == TD_OK)
        err = td_sut_exchange(&l);
    if (err == TD_OK && cfg->role == TD_ROLE_SERVER) {
        td_sut_status st;
        s->a->status(conn, &st);
        s->client_session = st.has_session;
    }
    free(c2s.data);
    free(s2c.data);
    *out_ours = l.ours;
    return err;
}

/* One plain exchange (no program) on a connection of its own. */
static td_err plain_exchange(td_fz_sut *s, const td_config *ours, const td_config *sut,
                             td_conn **out_ours)
{
    void *conn = NULL;
    char why[160];
    *out_ours = NULL;
    td_err err = s->a->conn_new(s->keep, sut, ours, &conn, why, sizeof(why));
    if (err == TD_OK)
        err = exchange_plain(s, conn, ours, out_ours);
    if (conn != NULL)
        s->a->conn_free(conn);
    return err;
}

/* A ticket of the SUT server for our client's resumption programs (a full
 * handshake; one that allows 0-RTT when the library has it). */
static void fetch_ticket(td_fz_sut *s, td_fz_ctx *ctx)
{
    td_config cc = *td_fz_ctx_client(ctx), sc = *td_fz_ctx_server(ctx);
    s->have_ticket = false;
    for (int early = 1; early >= 0 && !s->have_ticket; early--) {
        if (!early) { /* a library without 0-RTT (wolfSSL on Debian): a plain ticket */
            sc.accept_early_data = false;
            sc.max_early_data = 0;
        }
        td_conn *ours = NULL;
        if (plain_exchange(s, &cc, &sc, &ours) == TD_OK && ours != NULL)
            s->have_ticket = td_conn_session(ours, &s->ticket);
        td_conn_free(ours);
    }
    s->ticket_at = mono_ms();
}

td_err td_fz_sut_new(td_fz_ctx *ctx, const char *target, td_fz_sut **out)
{
    *out = NULL;
    const td_sut_adapter *a = adapter_of(target);
    if (a == NULL)
        return TD_ERR_UNSUPPORTED;
    td_fz_sut *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return TD_ERR_NOMEM;
    s->a = a;
    td_err err = a->keep_new(&s->keep);
    if (err != TD_OK) {
        free(s);
        return err;
    }
    /* A full handshake: the SUT server's ticket for our client's resumption
     * programs (a SUT client makes its session before each: prime_session). */
    const char *side = strrchr(target, '_');
    if (side != NULL && strcmp(side, "_server") == 0)
        fetch_ticket(s, ctx);
    *out = s;
    return TD_OK;
}

/* The cached SUT connection for this configuration, reset for a new input.
 * Unsupported: *why is the adapter's reason. */
static td_err sut_conn(td_fz_sut *s, uint32_t key, const td_config *ours, const td_config *sut,
                       void **out, const char **why)
{
    sut_slot *free_slot = NULL;
    *out = NULL;
    *why = "";
    for (size_t i = 0; i < SUT_CACHE; i++) {
        sut_slot *sl = &s->slots[i];
        if (!sl->used) {
            if (free_slot == NULL)
                free_slot = sl;
            continue;
        }
        if (sl->key != key)
            continue;
        if (sl->unsupported) {
            *why = sl->why;
            return TD_ERR_UNSUPPORTED;
        }
        TD_CHECK(s->a->reset(sl->conn));
        *out = sl->conn;
        return TD_OK;
    }
    if (free_slot == NULL) { /* full: the last slot is recycled */
        free_slot = &s->slots[SUT_CACHE - 1];
        if (free_slot->conn != NULL)
            s->a->conn_free(free_slot->conn);
    }
    sut_slot *sl = free_slot;
    memset(sl, 0, sizeof(*sl));
    sl->used = true;
    sl->key = key;
    sl->ours = *ours;
    sl->sut = *sut;
    td_err err = s->a->conn_new(s->keep, &sl->sut, &sl->ours, &sl->conn, sl->why, sizeof(sl->why));
    if (err == TD_ERR_UNSUPPORTED) {
        sl->unsupported = true;
        *why = sl->why;
        return err;
    }
    if (err != TD_OK) {
        sl->used = false;
        return err;
    }
    *out = sl->conn;
    return TD_OK;
}

/* Before a client SUT's resumption program: a plain handshake of the same
 * client configuration (no resumption, no 0-RTT) against our plain server,
 * on a connection of its own, as the first connection of a scenario's
 * `resume ticket` case. The program resumes the session it leaves, fresh
 * and of this program's suites. *why stays "" when a session is there
 * afterwards. */
static td_err prime_session(td_fz_sut *s, td_fz_ctx *ctx, uint32_t key, const td_config *client,
                            const char **why)
{
    td_config pc = *client, ps = *td_fz_ctx_server(ctx);
    pc.resume = NULL;
    pc.early_data = NULL;
    pc.early_data_len = 0;
    pc.psk_ke_only = false;
    void *conn = NULL;
    td_err e = sut_conn(s, key | 1u << 24, &ps, &pc, &conn, why);
    if (e == TD_ERR_UNSUPPORTED)
        return TD_OK;
    TD_CHECK(e);
    td_conn *ours = NULL;
    e = exchange_plain(s, conn, &ps, &ours);
    td_conn_free(ours);
    TD_CHECK(e);
    if (!s->client_session)
        *why = "resume: the handshake before it left the library no session";
    return TD_OK;
}

/* What an input did, for the k_known rows that only hold then. */
#define SUT_WHEN_HRR_SPLIT 1u /* a client SUT got an HRR cut before its 39th byte */

/* A HelloRetryRequest our server sent -- the first, or a second one of an
 * HRR-SECOND knob -- starts in a record that holds its first 38 bytes or
 * fewer (header, legacy_version, random: the record ends before the
 * legacy_session_id_echo length). Legal (RFC 8446 §5.1: "Handshake messages
 * MAY be coalesced into a single TLSPlaintext record or fragmented across
 * several records"); GnuTLS's known misparse (k_known). Reads the plaintext
 * handshake records of |s2c| as one stream of messages (CCS and protected
 * records skipped). */
static bool hrr_split_early(const td_peer_stream *s2c)
{
    uint8_t head[4 + 2 + TD_RANDOM_LEN];
    size_t at = 0, pos = 0, total = 0, first_rec = 0;
    td_rec_frame rec;
    while (td_rec_frame_read(s2c->data + at, s2c->len - at, &rec) &&
           rec.avail_len == rec.body_len) {
        at += TD_REC_HEADER_LEN + rec.body_len;
        if (rec.type != TD_CT_HANDSHAKE)
            continue;
        for (size_t i = 0; i < rec.body_len; i++) {
            if (pos == 0)
                first_rec = rec.body_len - i; /* the message's bytes in its first record */
            if (pos < sizeof(head))
                head[pos] = rec.body[i];
            pos++;
            if (pos == 4)
                total = 4 + ((size_t)head[1] << 16 | (size_t)head[2] << 8 | head[3]);
            if (pos == sizeof(head) && first_rec < sizeof(head) + 1 &&
                head[0] == TD_MSG_SERVER_HELLO &&
                memcmp(head + 6, td_hrr_random, TD_RANDOM_LEN) == 0)
                return true;
            if (pos >= 4 && pos == total)
                pos = 0;
        }
    }
    return false;
}

static void drop_broken(td_fz_result *r, td_rule rule)
{
    size_t n = 0;
    for (size_t i = 0; i < r->num_broken; i++)
        if (r->broken[i] != rule)
            r->broken[n++] = r->broken[i];
    r->num_broken = n;
}

/* One run of the program |data|; |knobs| false: without its BUG ops (the
 * twin of td_fz_sut_run). *|num_knobs|: how many BUG ops it has. */
static td_err sut_run_prog(td_fz_ctx *ctx, td_fz_sut *s, const td_fz_target *t, const uint8_t *data,
                           size_t size, bool knobs, size_t *num_knobs, td_fz_result *r)
{
    bool sut_server = t->kind == TD_FZ_SUT_SERVER;
    td_fz_prog *prog = malloc(sizeof(*prog));
    td_peer_stream c2s = {0}, s2c = {0};
    td_conn *ours = NULL;
    td_err ret = TD_OK;
    if (prog == NULL)
        return TD_ERR_NOMEM;
    /* Programs as the engine-side targets read them: client edits for a
     * SUT server, server edits for a SUT client. */
    td_fz_prog_decode(prog, sut_server ? TD_FZ_CLIENT_HELLO : TD_FZ_SERVER_HELLO, false, data,
                      size);
    size_t kept = 0;
    *num_knobs = 0;
    for (size_t i = 0; i < prog->num_ops; i++) {
        bool knob = prog->ops[i].code == TD_FZ_OP_BUG;
        *num_knobs += knob;
        if (knobs || !knob)
            prog->ops[kept++] = prog->ops[i];
    }
    prog->num_ops = kept;
    td_config cc = *td_fz_ctx_client(ctx), sc = *td_fz_ctx_server(ctx);
    uint64_t now = mono_ms();
    bool real_clock = !s->a->virtual_clock;
    if (sut_server && (prog->cfg & TD_FZ_CFG_RESUME) && real_clock &&
        (!s->have_ticket || now - s->ticket_at > SUT_TICKET_MAX_AGE_MS))
        fetch_ticket(s, ctx);
    if (sut_server && (prog->cfg & TD_FZ_CFG_HRR))
        sc.hrr = TD_HRR_ALWAYS;
    /* 0-RTT only for the programs that ask for it (a library built without
     * it, like Debian's wolfSSL, then still serves every other program). */
    if (sut_server && !(prog->cfg & TD_FZ_CFG_EARLY)) {
        sc.accept_early_data = false;
        sc.max_early_data = 0;
    }
    td_fz_prog_configure(prog, &cc, &sc,
                         s->have_ticket ? &s->ticket : td_fz_ctx_session(ctx, false));
    td_config *cp = sut_server ? &cc : &sc, *sut = sut_server ? &sc : &cc;
    /* RFC 8446 §4.2.11.1: obfuscated_ticket_age is the time since the ticket
     * came; a library measures it on its own (real) clock. One millisecond
     * less than we measured: the library's age starts before ours (it made
     * the ticket before we got it) and ends after (it reads the ClientHello
     * after we build it), but two clocks truncated to milliseconds can still
     * put ours 1 ms ahead, and GnuTLS rejects 0-RTT whose client age exceeds
     * its own (it then took that path in about 1 run in 4: the same input
     * did not end the same way; corpus/regressions/sut_gnutls_server/README). */
    if (sut_server && cc.resume == &s->ticket && real_clock) {
        uint64_t age = now - s->ticket_at;
        cc.clock_start_ms = s->ticket.received_ms + (age > 0 ? age - 1 : 0);
    }
    td_fz_ctx_plant(ctx, sut);
    uint32_t key = (uint32_t)prog->cfg | (uint32_t)(prog->suite & 0xff) << 8 |
                   (uint32_t)(prog->group & 0xff) << 16;
    r->fuzzed_role = sut->role;
    const char *why = "";
    if (!sut_server && cc.resume != NULL)
        TD_GUARD(prime_session(s, ctx, key, &cc, &why));
    void *conn = NULL;
    td_err e = why[0] != '\0' ? TD_ERR_UNSUPPORTED : sut_conn(s, key, cp, sut, &conn, &why);
    if (e == TD_ERR_UNSUPPORTED) {
        /* The library cannot be configured for this program: nothing to judge. */
        r->status.state = "unsupported";
        snprintf(r->status.diag.text, sizeof(r->status.diag.text), "%s", why);
        goto out;
    }
    TD_GUARD(e);
    cp->msg_hook = td_fz_prog_msg_hook;
    cp->msg_hook_arg = prog;
    cp->log_messages = true;
    TD_GUARD(td_conn_new(cp, &ours));
    td_fz_icpt icpt = {prog, sut_server ? TD_DIR_C2S : TD_DIR_S2C};
    td_sut_link l = {.a = s->a,
                     .conn = conn,
                     .ours = ours,
                     .ours_role = cp->role,
                     .intercept = td_fz_prog_intercept,
                     .intercept_arg = &icpt,
                     .c2s = &c2s,
                     .s2c = &s2c};
    TD_GUARD(td_sut_exchange(&l));
    td_sut_status st;
    s->a->status(conn, &st);
    s->when = !sut_server && hrr_split_early(&s2c) ? SUT_WHEN_HRR_SPLIT : 0;
    const td_status *os = td_conn_status(ours);
    r->program = true;
    r->pure = prog->pure;
    r->num_ops = prog->num_ops;
    r->num_applied = prog->num_applied;
    r->num_broken = prog->num_broken;
    memcpy(r->broken, prog->broken, sizeof(r->broken));
    /* Our side ended it first (its own knob, or it refused what the SUT
     * sent): the SUT never judged what the program broke. */
    if (l.aborted || (os->phase == TD_PHASE_FAILED && !os->alert_received))
        r->num_broken = 0;
    /* RFC 8446 §4.2.11: "Prior to accepting PSK key establishment, the
     * server MUST validate the corresponding binder value", and servers
     * "SHOULD select a single PSK and validate solely the binder that
     * corresponds to that PSK". A ServerHello without pre_shared_key (a full
     * handshake: the library did not take our ticket, e.g. wolfSSL outside
     * its ticket-age window) validated no binder: a bad one is not judged. */
    if (sut_server && os->version != 0 && !os->resumed)
        drop_broken(r, TD_RULE_PSK_BINDER_INVALID);
    /* The SUT's status as our side saw it: its alert is the one we decrypted. */
    r->status.phase = st.state == TD_SUT_CONNECTED ? TD_PHASE_CONNECTED
                      : st.state == TD_SUT_FAILED  ? TD_PHASE_FAILED
                      : st.state == TD_SUT_CLOSED  ? TD_PHASE_CLOSED
                                                   : TD_PHASE_HANDSHAKE;
    r->status.completed = st.completed;
    r->status.resumed = st.resumed;
    r->status.alert_sent = os->alert_received && os->alert_received_desc != 0;
    r->status.alert_sent_level = os->alert_received_level;
    r->status.alert_sent_desc = os->alert_received_desc;
    r->status.alert_received = os->alert_sent;
    r->status.diag.rule = TD_RULE_NONE;
    r->status.state = st.error[0] ? "failed" : NULL;
    /* RFC 8446 §6.2: "Upon transmission or receipt of a fatal alert message,
     * both parties MUST immediately close the connection." */
    if (os->bytes_after_alert > 0)
        td_fz_finding(r, t, TD_FZ_ACCEPTED_BROKEN, td_rule_by_id("AL-CLOSE-AFTER-FATAL"),
                      r->status.alert_sent_desc,
                      "%s wrote %llu bytes after its fatal alert (RFC 8446 6.2)", s->a->library,
                      (unsigned long long)os->bytes_after_alert);
    if (l.runaway)
        td_fz_finding(r, t, TD_FZ_ACCEPTED_BROKEN, TD_RULE_NONE, -1,
                      "the exchange with %s did not settle within the round bound", s->a->library);
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < c2s.len; i++)
        h = (h ^ c2s.data[i]) * 0x100000001b3ull;
    for (size_t i = 0; i < s2c.len; i++)
        h = (h ^ s2c.data[i]) * 0x100000001b3ull;
    r->digest = h;
out:
    td_conn_free(ours);
    td_fz_prog_cleanup(prog);
    free(prog);
    free(c2s.data);
    free(s2c.data);
    return ret;
}

/* The SUT refused with an alert that none of the rules the program broke
 * allows. */
static bool refused_otherwise(const td_fz_result *r)
{
    if (!r->pure || r->num_broken == 0 || r->status.phase != TD_PHASE_FAILED ||
        !r->status.alert_sent)
        return false;
    for (size_t i = 0; i < r->num_broken; i++)
        if (td_rule_allows(r->broken[i], (td_alert)r->status.alert_sent_desc))
            return false;
    return true;
}

/* The SUT stopped inside the handshake after a program that broke rules:
 * it neither finished nor sent an alert (it waits for bytes our side does
 * not send). */
static bool stalled(const td_fz_result *r)
{
    return r->pure && r->num_broken > 0 && r->status.phase == TD_PHASE_HANDSHAKE &&
           !r->status.alert_sent;
}

td_err td_fz_sut_run(td_fz_ctx *ctx, td_fz_sut *s, const td_fz_target *t, const uint8_t *data,
                     size_t size, td_fz_result *r)
{
    size_t num_knobs = 0;
    TD_CHECK(sut_run_prog(ctx, s, t, data, size, true, &num_knobs, r));
    bool stall = stalled(r);
    if (num_knobs == 0 || !(stall || refused_otherwise(r)))
        return TD_OK;
    /* A knob's rule is counted as broken when our side sends the message
     * it edits (fuzz/program.c), but a SUT may refuse that message, or an
     * earlier one of the same flight, for a reason of its own before it
     * checks what the knob broke (seen: GnuTLS misparsing a
     * HelloRetryRequest fragmented before its 39th byte, with
     * decode_error, whatever the HRR's knob). The twin without the knobs
     * tells: when it ends the same way, the SUT never judged what the
     * program broke, as when our side ends it first. The same holds for a
     * SUT that stalls in the handshake with and without the knobs
     * (corpus/regressions/sut_gnutls_client/README). */
    td_fz_result *twin = calloc(1, sizeof(*twin));
    if (twin == NULL)
        return TD_ERR_NOMEM;
    unsigned when = s->when; /* the judged run's, for k_known: not the twin's */
    td_err err = sut_run_prog(ctx, s, t, data, size, false, &num_knobs, twin);
    s->when = when;
    if (err == TD_OK && !stall && twin->status.phase == TD_PHASE_FAILED &&
        twin->status.alert_sent && twin->status.alert_sent_desc == r->status.alert_sent_desc)
        r->num_broken = 0;
    if (err == TD_OK && stall && twin->status.phase == TD_PHASE_HANDSHAKE &&
        !twin->status.alert_sent)
        r->num_broken = 0;
    free(twin);
    return err;
}

/* Known behaviour of each library, reviewed against its expectations file
 * (scenarios/expectations/<peer>.txt, same rule) or its write-up
 * (corpus/regressions/<target>/README): a program breaking |rule| (NULL:
 * any) answered with |alert| (-1: accepted) is that deviation again, not a
 * finding; |when|: only when the input did all of SUT_WHEN_*. */
typedef struct sut_known {
    const char *adapter;
    const char *rule;
    int alert;
    const char *why;
    unsigned when;
} sut_known;

static const sut_known k_known[] = {
    {"openssl", "PSK-BINDER-INVALID", 47,
     "OpenSSL sends illegal_parameter for a binder that does not verify (openssl.txt)", 0},
    {"gnutls-lib", "PSK-BINDER-INVALID", 47,
     "GnuTLS answers a binder that does not verify with illegal_parameter (gnutls-lib.txt)", 0},
    {"openssl", "CH2-NOT-CONFORMANT", 40, "OpenSSL's second-ClientHello checks (openssl.txt)",
     false},
    {"gnutls-lib", "EXT-DUPLICATE", 47,
     "GnuTLS answers a duplicated extension with illegal_parameter (gnutls-lib.txt)", 0},
    /* -2: whatever the alert. */
    {"wolfssl", "AL-CLOSE-AFTER-FATAL", -2,
     "wolfSSL writes a second record after some fatal alerts (wolfssl.txt "
     "ch-legacy-version-ssl3[0x0200]; fuzz: seed-suites-clear)",
     false},
    {"gnutls-lib", "KS-HRR-GROUP-ALREADY-SENT", -1,
     "GnuTLS accepts an HRR asking for a group it sent a share for (gnutls-lib.txt "
     "hrr-group-already-sent)",
     false},
    {"gnutls-lib", NULL, -2,
     "GnuTLS 3.7.9 tells a HelloRetryRequest from a ServerHello by the first record only "
     "(lib/buffers.c parse_handshake_header); an HRR (the first, or a second one) whose first "
     "record ends before byte 39 "
     "is parsed as a ServerHello and refused (decode_error, or unsupported_extension "
     "for its cookie) before any rule the input broke is checked "
     "(corpus/regressions/sut_gnutls_client/README)",
     SUT_WHEN_HRR_SPLIT},
    {"gnutls-lib", "PSK-SH-IDENTITY-RANGE", 20,
     "GnuTLS 3.7.9's client does not check that selected_identity is within the identities it "
     "offered: it goes on with keys of its own and answers our next record with bad_record_mac "
     "instead of illegal_parameter (gnutls-lib.txt psk-sh-identity-out-of-range; "
     "corpus/regressions/sut_gnutls_client/README)",
     0},
    {"gnutls-lib", "SH-SESSION-ID", -1,
     "GnuTLS 3.7.9's client does not check ServerHello.legacy_session_id_echo (gnutls-lib.txt "
     "sh-session-id-knob, sh-session-id-edit; corpus/regressions/sut_gnutls_client/README)",
     0},
};

void td_fz_sut_known(const td_fz_sut *s, td_fz_result *r)
{
    if (r->oracle != TD_FZ_WRONG_ALERT_FOR_MUTATION && r->oracle != TD_FZ_ACCEPTED_BROKEN)
        return;
    const td_rule_info *ri = td_rule_get(r->rule);
    if (ri == NULL)
        return; /* a runaway exchange: always reported */
    /* Graded as the verdicts grade a case: a rule that is not a MUST for
     * the receiver (SHOULD, MAY, sender-only) is advisory, and the alert of
     * a rule that names none is the SUT's choice (RFC 8446 6.2). */
    bool clear = ri->level != TD_LEVEL_MUST ||
                 (r->oracle == TD_FZ_WRONG_ALERT_FOR_MUTATION && ri->alerts == 0);
    for (size_t i = 0; !clear && i < sizeof(k_known) / sizeof(k_known[0]); i++)
        clear = strcmp(k_known[i].adapter, s->a->name) == 0 &&
                (k_known[i].rule != NULL ? strcmp(k_known[i].rule, ri->id) == 0
                                         : r->oracle == TD_FZ_WRONG_ALERT_FOR_MUTATION) &&
                (k_known[i].alert == -2 || k_known[i].alert == r->alert) &&
                (k_known[i].when & s->when) == k_known[i].when;
    if (clear) {
        r->oracle = TD_FZ_OK;
        r->line[0] = '\0';
    }
}

/* LeakSanitizer: GnuTLS 3.7.9 (Debian's, uninstrumented) allocates 32 bytes
 * inside gnutls_handshake once per process that it never frees (seen on the
 * sut_gnutls_client seeds: one object after 38 inputs, not one per input).
 * Without frame pointers in libgnutls the fast unwinder stops at the library,
 * so the suppression names the module: it also hides a GnuTLS object the
 * adapter would fail to free (engine/peers/gnutls.c frees its sessions and
 * credentials explicitly; ASan's use-after-free checks still apply). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libgnutls.so\n";
}
