/* engine/scenario/judge.c -- grades one outcome of a case.
 *
 * The grade comes from what the SUT did and how strongly the case's rules
 * bind it (rules.def level):
 *   pass           it did what the rule requires;
 *   alert-differs  it refused, but with another alert, or closed without one
 *                  (RFC 8446 §6.2: "the connection ... closed without an
 *                  alert" is permitted; the choice of alert is only a SHOULD
 *                  when the rule names none);
 *   fail           a MUST broken: it went on, hung, talked garbage, or wrote
 *                  after its fatal alert (§6, AL-CLOSE-AFTER-FATAL);
 *   advisory       the same for a SHOULD/MAY rule or one that binds only the
 *                  sender: shown, never failing;
 *   n/a            a premise of the case does not hold for this SUT.
 * One function per expect kind. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "scn_judge.h"
#include "scn_names.h"

/* What the SUT did, read once from the outcome. */
typedef struct facts {
    const td_status *ours, *sut;
    bool has_sut;
    bool alert;        /* the SUT sent an error alert (any alert but close_notify) */
    const char *aname; /* its name */
    bool close_notify; /* the SUT sent close_notify */
    bool completed;    /* the handshake completed (both sides, when we can tell) and
                        * nothing failed after it */
    bool sut_ended;    /* the SUT ended the connection (alert, close, failure) */
    bool we_aborted;   /* our side aborted first: we sent an error alert and got none */
    bool post;         /* the case misbehaves after the handshake (KeyUpdate steps) */
    const char *ended; /* network peers: "timeout", "closed", "garbage" or "" */
} facts;

/* The strongest level among the case's rules. */
typedef struct case_level {
    bool has;           /* the case names a rule (baselines do not) */
    td_level level;     /* MUST < SHOULD < MAY < SENDER in strength order */
    bool alert_unnamed; /* every rule names no alert ("(none named; X)"): §6.2 makes the
                         * choice of alert a SHOULD */
} case_level;

void scn_say(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, cap, fmt, ap);
    va_end(ap);
}

static void alerts_text(uint32_t set, char *out, size_t cap)
{
    static const char *const names[] = {
#define JUDGE_ALERT_NAME_(name, value) #name,
        TD_ALERT_LIST(JUDGE_ALERT_NAME_)
#undef JUDGE_ALERT_NAME_
    };
    size_t o = 0;
    out[0] = '\0';
    for (int b = 0; b < TD_NUM_ALERTS; b++)
        if (set & ((uint32_t)1 << b))
            o += (size_t)snprintf(out + o, o < cap ? cap - o : 0, "%s%s", o ? "|" : "", names[b]);
    if (o == 0)
        snprintf(out, cap, "any alert");
}

static int alert_bit(uint8_t desc)
{
    static const uint8_t vals[] = {
#define JUDGE_ALERT_VAL_(name, value) value,
        TD_ALERT_LIST(JUDGE_ALERT_VAL_)
#undef JUDGE_ALERT_VAL_
    };
    for (int b = 0; b < TD_NUM_ALERTS; b++)
        if (vals[b] == desc)
            return b;
    return -1;
}

static const char *rule_id(td_rule r)
{
    const td_rule_info *i = td_rule_get(r);
    return i ? i->id : "-";
}

static bool case_has_rule(const td_scn_case *c, td_rule r)
{
    for (size_t i = 0; i < c->num_rules; i++)
        if (c->rules[i] == r)
            return true;
    return false;
}

static case_level level_of(const td_scn_case *c)
{
    case_level l = {.has = false, .level = TD_LEVEL_MUST, .alert_unnamed = c->num_rules > 0};
    for (size_t i = 0; i < c->num_rules; i++) {
        const td_rule_info *ri = td_rule_get(c->rules[i]);
        if (ri == NULL)
            continue;
        if (!l.has || ri->level < l.level)
            l.level = ri->level;
        l.has = true;
        if (strncmp(ri->alert_text, "(none named", 11) != 0)
            l.alert_unnamed = false;
    }
    return l;
}

static const char *level_name(case_level l)
{
    if (!l.has)
        return "-";
    switch (l.level) {
    case TD_LEVEL_MUST: return "MUST";
    case TD_LEVEL_SHOULD: return "SHOULD";
    case TD_LEVEL_MAY: return "MAY";
    case TD_LEVEL_SENDER: return "sender-only";
    }
    return "?";
}

/* A baseline (no rule) binds like a MUST: a clean handshake must work. */
static bool binding(case_level l)
{
    return !l.has || l.level == TD_LEVEL_MUST;
}

static const char *where(const td_scn_result *res)
{
    return res->sut_where[0] ? res->sut_where : "-";
}

/* The SUT did not do what the case expects and did not refuse either: a
 * FAIL under a MUST (or a baseline), ADVISORY under a SHOULD, a MAY or a
 * sender-only rule. Garbage on the wire is always a FAIL. */
static void not_followed(const facts *f, case_level l, td_scn_result *res, const char *fmt, ...)
    TD_PRINTF(4, 5);
static void not_followed(const facts *f, case_level l, td_scn_result *res, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
    va_end(ap);
    scn_say(res->level, sizeof(res->level), "%s", level_name(l));
    res->verdict = binding(l) || strcmp(f->ended, "garbage") == 0 ? TD_SCN_FAIL : TD_SCN_ADVISORY;
    if (res->verdict == TD_SCN_ADVISORY) {
        size_t n = strlen(res->reason);
        scn_say(res->reason + n, sizeof(res->reason) - n, " [%s rule: advisory]", level_name(l));
    }
}

static void read_facts(const td_scn_case *c, const td_scn_outcome *o, facts *f)
{
    const td_status *ours = &o->ours, *sut = &o->sut;
    memset(f, 0, sizeof(*f));
    f->ours = ours;
    f->sut = sut;
    f->has_sut = o->has_sut_status;
    f->ended = o->ended;
    f->close_notify = ours->alert_received && ours->alert_received_desc == TD_ALERT_close_notify;
    f->alert = ours->alert_received && !f->close_notify;
    f->aname = ours->alert_received ? td_alert_name(ours->alert_received_desc) : NULL;
    if (f->aname == NULL)
        f->aname = "?";
    for (size_t i = 0; i < c->num_steps; i++)
        f->post |= c->steps[i].msg_type == TD_MSG_KEY_UPDATE;
    /* RFC 8446 §6.1: a close_notify after the handshake is a closure, not
     * an abort: the handshake completed. */
    f->completed = ours->completed && ours->phase != TD_PHASE_FAILED && !f->alert &&
                   (!f->has_sut || (sut->completed && sut->phase != TD_PHASE_FAILED));
    f->sut_ended = f->has_sut ? (sut->phase == TD_PHASE_FAILED || sut->phase == TD_PHASE_CLOSED)
                              : (ours->phase == TD_PHASE_CLOSED || ours->phase == TD_PHASE_FAILED);
    f->we_aborted =
        ours->alert_sent && ours->alert_sent_desc != TD_ALERT_close_notify && !ours->alert_received;
}

static void describe(const facts *f, td_scn_result *res)
{
    const td_status *ours = f->ours;
    if (f->alert)
        scn_say(res->actual, sizeof(res->actual), "alert %s", f->aname);
    else if (f->completed)
        scn_say(res->actual, sizeof(res->actual), "%s%s%s", ours->resumed ? "resumed" : "handshake",
                ours->early_data_accepted ? " +0-RTT" : "", f->close_notify ? ", closed" : "");
    else if (f->close_notify)
        scn_say(res->actual, sizeof(res->actual), "alert close_notify");
    else if (f->ended[0] != '\0')
        scn_say(res->actual, sizeof(res->actual), "%s", f->ended); /* timeout, closed, garbage */
    else if (f->we_aborted)
        scn_say(res->actual, sizeof(res->actual), "our abort %s", rule_id(ours->diag.rule));
    else if (f->sut_ended)
        scn_say(res->actual, sizeof(res->actual), "closed");
    else
        scn_say(res->actual, sizeof(res->actual), "stalled in %s", ours->state ? ours->state : "?");
}

/* `expect rule` / `expect alert NAME...`: the SUT must refuse with one of
 * |allowed| (0: any alert). */
static void judge_alert(const td_scn_case *c, const facts *f, const td_scn_outcome *o,
                        uint32_t allowed, td_scn_result *res)
{
    case_level l = level_of(c);
    const td_status *ours = f->ours;
    int bit = f->alert ? alert_bit(ours->alert_received_desc) : -1;
    bool alert_ok = f->alert && (allowed == 0 || (bit >= 0 && (allowed >> bit) & 1));
    scn_say(res->level, sizeof(res->level), "%s", level_name(l));
    if (f->alert && ours->bytes_after_alert > 0) {
        /* RFC 8446 §6: "Upon transmission or receipt of a fatal alert
         * message, both parties MUST immediately close the connection." */
        scn_say(res->level, sizeof(res->level), "MUST");
        scn_say(res->reason, sizeof(res->reason),
                "alert %s%s, but the SUT sent %llu more bytes after it (AL-CLOSE-AFTER-FATAL, "
                "RFC 8446 §6)",
                f->aname, alert_ok ? " as allowed" : "",
                (unsigned long long)ours->bytes_after_alert);
        res->verdict = TD_SCN_FAIL;
    } else if (alert_ok) {
        /* The engine also names its rule: it must be the one the case tests. */
        if (c->expect == TD_SCN_EXPECT_RULE && o->has_sut_status &&
            !case_has_rule(c, o->sut.diag.rule)) {
            scn_say(res->reason, sizeof(res->reason),
                    "alert %s as allowed, but the SUT failed rule %s (%s), not %s", f->aname,
                    res->sut_rule, where(res), rule_id(c->rules[0]));
            res->verdict = TD_SCN_FAIL;
        } else {
            res->verdict = TD_SCN_PASS;
        }
    } else if (f->alert) {
        /* Refused, with another alert: a deviation in the alert only. */
        if (l.alert_unnamed)
            scn_say(res->level, sizeof(res->level), "SHOULD (alert choice)");
        scn_say(res->reason, sizeof(res->reason), "expected %s, got alert %s (SUT rule %s at %s)%s",
                res->expected, f->aname, res->sut_rule, where(res),
                l.alert_unnamed ? "; the rule names no alert, so by RFC 8446 §6.2 the choice is a "
                                  "SHOULD"
                                : "");
        res->verdict = TD_SCN_ALERT_DIFFERS;
    } else if ((!f->completed && !f->we_aborted && (f->close_notify || f->sut_ended) &&
                (f->ended[0] == '\0' || strcmp(f->ended, "closed") == 0)) ||
               (f->post && f->completed && f->close_notify)) {
        /* RFC 8446 §6.2: "it SHOULD send an appropriate fatal alert and
         * MUST close the connection": refused, without the alert. */
        scn_say(
            res->reason, sizeof(res->reason),
            "expected %s, got %s: the SUT refused without an error alert (--lenient accepts it)",
            res->expected, res->actual);
        res->verdict = TD_SCN_ALERT_DIFFERS;
    } else if (f->we_aborted) {
        not_followed(f, l, res, "expected %s, but our side aborted first: %s (%s)", res->expected,
                     rule_id(ours->diag.rule), ours->diag.text);
    } else {
        not_followed(f, l, res, "expected %s, got %s", res->expected, res->actual);
    }
}

/* `expect handshake|resumed|early-data|early-data-rejected`. */
static void judge_handshake(const td_scn_case *c, const facts *f, td_scn_result *res)
{
    case_level l = level_of(c);
    const td_status *ours = f->ours, *sut = f->sut;
    scn_say(res->level, sizeof(res->level), "%s", level_name(l));
    if (!f->completed) {
        const char *what =
            c->expect == TD_SCN_EXPECT_RESUMED ? "a resumed handshake" : "a completed handshake";
        if (c->expect == TD_SCN_EXPECT_EARLY_DATA)
            what = "a completed handshake (0-RTT accepted)";
        else if (c->expect == TD_SCN_EXPECT_EARLY_DATA_REJECTED)
            what = "a completed handshake (0-RTT rejected)";
        not_followed(f, l, res, "expected %s, got %s (SUT rule %s at %s)", what, res->actual,
                     res->sut_rule, where(res));
        return;
    }
    switch (c->expect) {
    case TD_SCN_EXPECT_RESUMED:
        if (ours->resumed && (!f->has_sut || sut->resumed))
            res->verdict = TD_SCN_PASS;
        else
            not_followed(f, l, res, "expected a resumed handshake, got a full one");
        return;
    case TD_SCN_EXPECT_EARLY_DATA:
    case TD_SCN_EXPECT_EARLY_DATA_REJECTED: {
        bool want = c->expect == TD_SCN_EXPECT_EARLY_DATA;
        bool accepted = ours->early_data_accepted && (!f->has_sut || sut->early_data_accepted);
        if (accepted == want)
            res->verdict = TD_SCN_PASS;
        else
            not_followed(f, l, res, "expected 0-RTT %s, it was %s", want ? "accepted" : "rejected",
                         accepted ? "accepted" : "rejected");
        return;
    }
    case TD_SCN_EXPECT_HANDSHAKE:
    case TD_SCN_EXPECT_RULE:
    case TD_SCN_EXPECT_ALERT:
    case TD_SCN_EXPECT_NO_ALERT:
    case TD_SCN_EXPECT_CLOSED:
    case TD_SCN_EXPECT_MESSAGE: break;
    }
    res->verdict = TD_SCN_PASS;
}

/* `expect no-alert`: tolerance. A network peer that hung, reset or talked
 * garbage did not tolerate. RFC 8446 §6.1: close_notify is a closure
 * alert, not an error alert; a peer answering our close_notify with its
 * own did not abort. */
static void judge_no_alert(const td_scn_case *c, const facts *f, td_scn_result *res)
{
    case_level l = level_of(c);
    scn_say(res->level, sizeof(res->level), "%s", level_name(l));
    if (!f->alert && !(f->has_sut && f->sut->phase == TD_PHASE_FAILED) && f->ended[0] == '\0')
        res->verdict = TD_SCN_PASS;
    else
        not_followed(f, l, res, "tolerance: the SUT must not abort, got %s (SUT rule %s at %s)",
                     res->actual, res->sut_rule, where(res));
}

/* `expect closed`: with or without an alert. */
static void judge_closed(const td_scn_case *c, const facts *f, td_scn_result *res)
{
    case_level l = level_of(c);
    scn_say(res->level, sizeof(res->level), "%s", level_name(l));
    if (f->alert || f->close_notify || f->sut_ended)
        res->verdict = TD_SCN_PASS;
    else
        not_followed(f, l, res, "expected the SUT to close, got %s", res->actual);
}

/* `expect message M`: the SUT sent it. */
static void judge_message(const td_scn_case *c, const facts *f, const td_scn_outcome *o,
                          td_scn_result *res)
{
    case_level l = level_of(c);
    scn_say(res->level, sizeof(res->level), "%s", level_name(l));
    for (size_t i = 0; i < o->num_received; i++)
        if (o->received[i] == c->msg_type && o->received_hrr[i] == c->msg_hrr) {
            res->verdict = TD_SCN_PASS;
            return;
        }
    not_followed(f, l, res, "expected the SUT to send a %s, got %s (SUT rule %s)",
                 scn_msg_name(c->msg_type, c->msg_hrr), res->actual, res->sut_rule);
}

static void expected_text(const td_scn_case *c, td_scn_result *res, uint32_t *allowed)
{
    *allowed = 0;
    switch (c->expect) {
    case TD_SCN_EXPECT_RULE:
        for (size_t i = 0; i < c->num_rules; i++)
            *allowed |= td_rule_get(c->rules[i])->alerts;
        alerts_text(*allowed, res->expected, sizeof(res->expected));
        return;
    case TD_SCN_EXPECT_ALERT:
        *allowed = c->alerts;
        alerts_text(*allowed, res->expected, sizeof(res->expected));
        return;
    case TD_SCN_EXPECT_MESSAGE:
        scn_say(res->expected, sizeof(res->expected), "message %s",
                scn_msg_name(c->msg_type, c->msg_hrr));
        return;
    case TD_SCN_EXPECT_HANDSHAKE:
    case TD_SCN_EXPECT_RESUMED:
    case TD_SCN_EXPECT_EARLY_DATA:
    case TD_SCN_EXPECT_EARLY_DATA_REJECTED:
    case TD_SCN_EXPECT_NO_ALERT:
    case TD_SCN_EXPECT_CLOSED:
        scn_say(res->expected, sizeof(res->expected), "%s", td_scn_expect_name(c->expect));
        return;
    }
}

void scn_judge(const td_scn_case *c, const td_scn_outcome *o, td_scn_result *res)
{
    facts f;
    read_facts(c, o, &f);
    scn_say(res->sut_rule, sizeof(res->sut_rule), "%s",
            o->has_sut_status && o->sut.diag.rule != TD_RULE_NONE ? rule_id(o->sut.diag.rule)
                                                                  : "-");
    if (o->has_sut_status && o->sut.diag.file != NULL) {
        /* __FILE__ is absolute in our builds: show it from the source tree's engine/. */
        const char *file = strstr(o->sut.diag.file, "engine/");
        scn_say(res->sut_where, sizeof(res->sut_where), "%s:%d", file ? file : o->sut.diag.file,
                o->sut.diag.line);
    }
    describe(&f, res);
    uint32_t allowed = 0;
    expected_text(c, res, &allowed);
    res->verdict = TD_SCN_FAIL;
    switch (c->expect) {
    case TD_SCN_EXPECT_RULE:
    case TD_SCN_EXPECT_ALERT: judge_alert(c, &f, o, allowed, res); return;
    case TD_SCN_EXPECT_HANDSHAKE:
    case TD_SCN_EXPECT_RESUMED:
    case TD_SCN_EXPECT_EARLY_DATA:
    case TD_SCN_EXPECT_EARLY_DATA_REJECTED: judge_handshake(c, &f, res); return;
    case TD_SCN_EXPECT_NO_ALERT: judge_no_alert(c, &f, res); return;
    case TD_SCN_EXPECT_CLOSED: judge_closed(c, &f, res); return;
    case TD_SCN_EXPECT_MESSAGE: judge_message(c, &f, o, res); return;
    }
}
