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
 * randomness, so these targets are not byte-for-byte deterministic: the
 * harness skips its determinism check for them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oracle.h"
#include "program.h"
#include "sut_target.h"
#include "tlsdrill/sut.h"

#define SUT_CACHE 24

typedef struct sut_slot {
    bool used;
    uint32_t key;
    td_config ours, sut; /* the configs the connection was made with (borrowed by it) */
    void *conn;
    bool unsupported;
} sut_slot;

struct td_fz_sut {
    const td_sut_adapter *a;
    void *keep;
    td_session ticket; /* issued by the SUT server to our client */
    bool have_ticket;
    sut_slot slots[SUT_CACHE];
};

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

/* One plain exchange (no program): our side |ours| against the SUT. */
static td_err plain_exchange(td_fz_sut *s, const td_config *ours, const td_config *sut,
                             td_conn **out_ours)
{
    td_peer_stream c2s = {0}, s2c = {0};
    void *conn = NULL;
    char why[160];
    td_sut_link l = {.a = s->a, .ours_role = ours->role, .c2s = &c2s, .s2c = &s2c};
    td_err err = s->a->conn_new(s->keep, sut, ours, &conn, why, sizeof(why));
    if (err == TD_OK)
        err = td_conn_new(ours, &l.ours);
    l.conn = conn;
    if (err == TD_OK)
        err = td_sut_exchange(&l);
    if (conn != NULL)
        s->a->conn_free(conn);
    free(c2s.data);
    free(s2c.data);
    *out_ours = l.ours;
    return err;
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
    /* A full handshake each way: the SUT server's ticket for our client's
     * resumption programs; the SUT client's kept session for its own. */
    td_config cc = *td_fz_ctx_client(ctx), sc = *td_fz_ctx_server(ctx);
    td_conn *ours = NULL;
    if (plain_exchange(s, &cc, &sc, &ours) == TD_OK && ours != NULL)
        s->have_ticket = td_conn_session(ours, &s->ticket);
    if (!s->have_ticket) { /* a library without 0-RTT (wolfSSL on Debian): a plain ticket */
        td_conn_free(ours);
        ours = NULL;
        sc.accept_early_data = false;
        sc.max_early_data = 0;
        if (plain_exchange(s, &cc, &sc, &ours) == TD_OK && ours != NULL)
            s->have_ticket = td_conn_session(ours, &s->ticket);
    }
    td_conn_free(ours);
    ours = NULL;
    /* (No session kept: resumption inputs of sut_*_client are then unsupported.) */
    td_err e2 = plain_exchange(s, &sc, &cc, &ours);
    (void)e2;
    td_conn_free(ours);
    *out = s;
    return TD_OK;
}

/* The cached SUT connection for this configuration, reset for a new input. */
static td_err sut_conn(td_fz_sut *s, uint32_t key, const td_config *ours, const td_config *sut,
                       void **out)
{
    sut_slot *free_slot = NULL;
    *out = NULL;
    for (size_t i = 0; i < SUT_CACHE; i++) {
        sut_slot *sl = &s->slots[i];
        if (!sl->used) {
            if (free_slot == NULL)
                free_slot = sl;
            continue;
        }
        if (sl->key != key)
            continue;
        if (sl->unsupported)
            return TD_ERR_UNSUPPORTED;
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
    char why[160];
    td_err err = s->a->conn_new(s->keep, &sl->sut, &sl->ours, &sl->conn, why, sizeof(why));
    if (err == TD_ERR_UNSUPPORTED) {
        sl->unsupported = true;
        return err;
    }
    if (err != TD_OK) {
        sl->used = false;
        return err;
    }
    *out = sl->conn;
    return TD_OK;
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
    if (sut_server && (prog->cfg & TD_FZ_CFG_HRR))
        sc.hrr = TD_HRR_ALWAYS;
    /* 0-RTT only for the programs that ask for it (a library built without
     * it, like Debian's wolfSSL, then still serves every other program). */
    if (sut_server && !(prog->cfg & TD_FZ_CFG_EARLY)) {
        sc.accept_early_data = false;
        sc.max_early_data = 0;
    }
    td_fz_prog_configure(prog, &cc, &sc, s->have_ticket ? &s->ticket : td_fz_ctx_session(ctx));
    td_config *cp = sut_server ? &cc : &sc, *sut = sut_server ? &sc : &cc;
    cp->msg_hook = td_fz_prog_msg_hook;
    cp->msg_hook_arg = prog;
    cp->log_messages = true;
    uint32_t key = (uint32_t)prog->cfg | (uint32_t)(prog->suite & 0xff) << 8 |
                   (uint32_t)(prog->group & 0xff) << 16;
    void *conn = NULL;
    td_err e = sut_conn(s, key, cp, sut, &conn);
    if (e == TD_ERR_UNSUPPORTED) {
        /* The library cannot be configured for this program: nothing to judge. */
        r->fuzzed_role = sut->role;
        r->status.state = "unsupported";
        goto out;
    }
    TD_GUARD(e);
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
    r->fuzzed_role = sut->role;
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

td_err td_fz_sut_run(td_fz_ctx *ctx, td_fz_sut *s, const td_fz_target *t, const uint8_t *data,
                     size_t size, td_fz_result *r)
{
    size_t num_knobs = 0;
    TD_CHECK(sut_run_prog(ctx, s, t, data, size, true, &num_knobs, r));
    if (num_knobs == 0 || !refused_otherwise(r))
        return TD_OK;
    /* A knob's rule is counted as broken when the program is configured
     * (fuzz/program.c), not when our side sends the message that breaks it:
     * a SUT that refuses earlier, for a reason of its own, never saw it
     * (seen: GnuTLS refusing a fragmented HelloRetryRequest with
     * decode_error before the second HRR of an HRR-SECOND knob). The twin
     * without the knobs tells: when it ends the same way, the SUT never
     * judged what the program broke, as when our side ends it first. */
    td_fz_result *twin = calloc(1, sizeof(*twin));
    if (twin == NULL)
        return TD_ERR_NOMEM;
    td_err err = sut_run_prog(ctx, s, t, data, size, false, &num_knobs, twin);
    if (err == TD_OK && twin->status.phase == TD_PHASE_FAILED && twin->status.alert_sent &&
        twin->status.alert_sent_desc == r->status.alert_sent_desc)
        r->num_broken = 0;
    free(twin);
    return err;
}

/* Known behaviour of each library, reviewed against its expectations file
 * (scenarios/expectations/<peer>.txt, same rule): a program breaking |rule|
 * answered with |alert| (-1: accepted) is that deviation again, not a
 * finding. */
typedef struct sut_known {
    const char *adapter;
    const char *rule;
    int alert;
    const char *why;
} sut_known;

static const sut_known k_known[] = {
    {"openssl", "PSK-BINDER-INVALID", 47,
     "OpenSSL sends illegal_parameter for a binder that does not verify (openssl.txt)"},
    {"gnutls-lib", "PSK-BINDER-INVALID", 47,
     "GnuTLS answers a binder that does not verify with illegal_parameter (gnutls-lib.txt)"},
    {"openssl", "CH2-NOT-CONFORMANT", 40, "OpenSSL's second-ClientHello checks (openssl.txt)"},
    {"gnutls-lib", "EXT-DUPLICATE", 47,
     "GnuTLS answers a duplicated extension with illegal_parameter (gnutls-lib.txt)"},
    /* -2: whatever the alert. */
    {"wolfssl", "AL-CLOSE-AFTER-FATAL", -2,
     "wolfSSL writes a second record after some fatal alerts (wolfssl.txt "
     "ch-legacy-version-ssl3[0x0200]; fuzz: seed-suites-clear)"},
    {"gnutls-lib", "KS-HRR-GROUP-ALREADY-SENT", -1,
     "GnuTLS accepts an HRR asking for a group it sent a share for (gnutls-lib.txt "
     "hrr-group-already-sent)"},
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
                strcmp(k_known[i].rule, ri->id) == 0 &&
                (k_known[i].alert == -2 || k_known[i].alert == r->alert);
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
