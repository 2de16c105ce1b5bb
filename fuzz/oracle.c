/* fuzz/oracle.c -- the RFC alert oracle (oracle.h). */
#include "oracle.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlsdrill/msg.h"

const char *td_fz_oracle_name(td_fz_oracle o)
{
    switch (o) {
    case TD_FZ_OK: return "ok";
    case TD_FZ_WRONG_ALERT: return "wrong-alert";
    case TD_FZ_ACCEPTED_BROKEN: return "accepted-broken";
    case TD_FZ_WRONG_ALERT_FOR_MUTATION: return "wrong-alert-for-mutation";
    case TD_FZ_NONDETERMINISTIC: return "nondeterministic";
    case TD_FZ_ROUNDTRIP: return "roundtrip";
    case TD_FZ_DIAGNOSTIC: return "diagnostic";
    }
    return "?";
}

static const char *rule_id(td_rule rule)
{
    const td_rule_info *ri = td_rule_get(rule);
    return ri != NULL ? ri->id : "NONE";
}

void td_fz_finding(td_fz_result *r, const td_fz_target *t, td_fz_oracle kind, td_rule rule,
                   int alert, const char *fmt, ...)
{
    if (r->oracle != TD_FZ_OK)
        return;
    r->oracle = kind;
    r->rule = rule;
    r->alert = alert;
    const char *an = alert >= 0 ? td_alert_name((unsigned)alert) : NULL;
    char alert_buf[16];
    if (alert >= 0 && an == NULL) {
        snprintf(alert_buf, sizeof(alert_buf), "%d", alert);
        an = alert_buf;
    }
    int n = snprintf(r->line, sizeof(r->line), "%s: %s: rule %s alert %s: ", t->name,
                     td_fz_oracle_name(kind), rule_id(rule), an != NULL ? an : "none");
    if (n < 0 || (size_t)n >= sizeof(r->line))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->line + n, sizeof(r->line) - (size_t)n, fmt, ap);
    va_end(ap);
    /* One line, whatever the reason's text holds. */
    for (char *c = r->line; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
}

static bool broken_has(const td_fz_result *r, td_rule rule)
{
    for (size_t i = 0; i < r->num_broken; i++)
        if (r->broken[i] == rule)
            return true;
    return false;
}

void td_fz_oracle_alerts(const td_fz_target *t, td_fz_result *r)
{
    const td_status *st = &r->status;
    bool failed = st->phase == TD_PHASE_FAILED;
    int alert = st->alert_sent ? st->alert_sent_desc : -1;
    td_rule rule = st->diag.rule;
    const td_rule_info *ri = td_rule_get(rule);
    /* RFC 8446 §6.2 as the catalogue reads it: the alert of an abort is one
     * of the alerts its rule allows. */
    if (failed && st->alert_sent && ri != NULL && ri->alerts != 0 &&
        !td_rule_allows(rule, (td_alert)alert))
        td_fz_finding(r, t, TD_FZ_WRONG_ALERT, rule, alert, "the rule allows %s; %s (%s:%d)",
                      ri->alert_text, st->diag.text, st->diag.file ? st->diag.file : "?",
                      st->diag.line);
    if (!r->pure || r->num_broken == 0)
        return;
    /* The program broke rules for sure: the fuzzed side must not accept. */
    if (st->phase == TD_PHASE_CONNECTED || st->phase == TD_PHASE_CLOSED ||
        (st->phase == TD_PHASE_HANDSHAKE && !st->alert_received)) {
        td_fz_finding(r, t, TD_FZ_ACCEPTED_BROKEN, r->broken[0], -1,
                      "%s after an input that breaks it (%zu rule(s) broken), state %s",
                      td_phase_name(st->phase), r->num_broken, st->state ? st->state : "?");
        return;
    }
    if (!failed || !st->alert_sent || broken_has(r, rule))
        return;
    for (size_t i = 0; i < r->num_broken; i++)
        if (td_rule_allows(r->broken[i], (td_alert)alert))
            return;
    if (t->kind == TD_FZ_SUT_SERVER || t->kind == TD_FZ_SUT_CLIENT)
        /* A foreign library gives no rule of ours: its alert is the verdict. */
        td_fz_finding(r, t, TD_FZ_WRONG_ALERT_FOR_MUTATION, r->broken[0], alert,
                      "the input breaks %s (allows %s) but the SUT refused it with another alert",
                      rule_id(r->broken[0]), td_rule_get(r->broken[0])->alert_text);
    else
        td_fz_finding(r, t, TD_FZ_WRONG_ALERT_FOR_MUTATION, r->broken[0], alert,
                      "the input breaks %s (allows %s) but the engine reported %s: %s",
                      rule_id(r->broken[0]), td_rule_get(r->broken[0])->alert_text, rule_id(rule),
                      st->diag.text);
}

void td_fz_scratch_cleanup(td_fz_scratch *s)
{
    free(s->msg);
    free(s->buf);
    memset(s, 0, sizeof(*s));
}

/* Where |a| and |b| first differ (the shorter length if one is a prefix of
 * the other). Its own function, never inlined, so that
 * fuzz/coverage_ignore.txt can name it: a byte loop of the oracle's, not
 * code that reads the input. */
__attribute__((noinline)) static size_t first_difference(const uint8_t *a, size_t a_len,
                                                         const uint8_t *b, size_t b_len)
{
    size_t at = 0;
    while (at < a_len && at < b_len && a[at] == b[at])
        at++;
    return at;
}

void td_fz_oracle_roundtrip(const td_fz_target *t, td_conn *conn, td_fz_scratch *scratch,
                            td_fz_result *r)
{
    size_t n;
    const td_msg_record *msgs = td_conn_messages(conn, &n);
    const td_suite *suite = td_suite_get(td_conn_status(conn)->suite);
    td_msg_ctx mctx = {.hash_len = suite != NULL ? td_hash_len(suite->hash) : 32,
                       .sh_mode = TD_SH_AUTO};
    if (scratch->msg == NULL && (scratch->msg = malloc(sizeof(*scratch->msg))) == NULL)
        return;
    td_msg *m = scratch->msg;
    for (size_t i = 0; i < n && r->oracle == TD_FZ_OK; i++) {
        if (msgs[i].sent)
            continue;
        td_diag d;
        td_diag_clear(&d);
        if (td_msg_parse_handshake(msgs[i].bytes, msgs[i].len, &mctx, m, &d) != TD_OK)
            continue;
        /* Built in the scratch buffer (grown as needed, kept for the next). */
        td_cbb cbb;
        uint8_t *out = NULL;
        size_t out_len = 0, cap = scratch->cap;
        td_cbb_init_reuse(&cbb, scratch->buf, scratch->cap);
        scratch->buf = NULL;
        scratch->cap = 0;
        td_err err = td_msg_build(m, &cbb);
        td_msg_cleanup(m);
        if (err == TD_OK && !td_cbb_finish_buf(&cbb, &out, &out_len, &cap))
            err = TD_ERR_NOMEM;
        td_cbb_cleanup(&cbb);
        if (err == TD_ERR_NOMEM)
            break;
        if (out != NULL) {
            scratch->buf = out;
            scratch->cap = cap;
        }
        size_t at = err == TD_OK ? first_difference(out, out_len, msgs[i].bytes, msgs[i].len) : 0;
        if (err != TD_OK)
            td_fz_finding(r, t, TD_FZ_ROUNDTRIP, TD_RULE_NONE, -1,
                          "received %s (%zu bytes) parses but does not build: %s",
                          td_msg_type_name(msgs[i].type), msgs[i].len, td_err_name(err));
        else if (out_len != msgs[i].len || at != out_len)
            td_fz_finding(r, t, TD_FZ_ROUNDTRIP, TD_RULE_NONE, -1,
                          "received %s: build(parse(x)) differs from x at byte %zu (%zu vs %zu "
                          "bytes)",
                          td_msg_type_name(msgs[i].type), at, out_len, msgs[i].len);
    }
}
