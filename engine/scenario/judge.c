/* engine/scenario/judge.c -- grades one outcome of a case.
 *
 * The grade comes from what the SUT did and how strongly the case's rules
 * bind it (rules.def level):
 *   pass           it did what the rule requires;
 *   alert-differs  it refused, but with another alert, or closed without one
 *                  (RFC 8446 §6.2: "it SHOULD send an appropriate fatal
 *                  alert and MUST close the connection": closing without an
 *                  alert is permitted; the choice of alert is only a SHOULD
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
#include "tlsdrill/msg.h"

/* What the SUT did, read once from the outcome. */
typedef struct facts {
    const td_status *ours, *sut;
    bool has_sut;
    bool alert;        /* the SUT sent an error alert (any alert but close_notify) */
    const char *aname; /* its name */
    uint8_t adesc;     /* its description */
    bool late_alert;   /* it came only after our close_notify (read_facts) */
    bool close_notify; /* the SUT sent close_notify */
    bool completed;    /* the handshake completed (both sides, when we can tell) and
                        * nothing failed after it */
    bool sut_ended;    /* the SUT ended the connection (alert, close, failure) */
    bool we_aborted;   /* our side aborted first: we sent an error alert and got none */
    bool post;         /* the case misbehaves after the handshake (KeyUpdate or
                        * NewSessionTicket steps) */
    const char *ended; /* "timeout", "closed", "garbage", "stalled" or "" */
    /* The SUT ended the connection on its own after our side completed,
     * before our close_notify and without an alert (end=eof|reset after):
     * a refusal of what our side sent after its Finished, when the case
     * misbehaves post-handshake or the SUT never showed it completed.
     * Judged by judge_alert only (a case that expects a refusal). */
    bool closed_after;
    bool stalled_alert; /* its only alert answered our close_notify (see read_facts) */
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
        snprintf(out, cap, "no alert (every alert of the rule dropped)");
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

/* " (SUT rule X at file:line)" when the SUT says which check it failed (the
 * engine); "" for peers that cannot (no "(SUT rule - at -)" noise). */
static const char *sut_site(const td_scn_result *res, char *buf, size_t cap)
{
    if (strcmp(res->sut_rule, "-") == 0 || res->sut_rule[0] == '\0')
        return "";
    snprintf(buf, cap, " (SUT rule %s at %s)", res->sut_rule, where(res));
    return buf;
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
    f->adesc = ours->alert_received_desc;
    for (size_t i = 0; i < c->num_steps; i++)
        f->post |= c->steps[i].msg_type == TD_MSG_KEY_UPDATE ||
                   c->steps[i].msg_type == TD_MSG_NEW_SESSION_TICKET;
    /* RFC 8446 §6.1: a close_notify after the handshake is a closure, not
     * an abort: the handshake completed. */
    f->completed = (ours->completed || o->completed) && ours->phase != TD_PHASE_FAILED &&
                   !f->alert && (!f->has_sut || (sut->completed && sut->phase != TD_PHASE_FAILED));
    /* The peer watched the connection to its end (td_scn_outcome): our side
     * completed, but the SUT never showed it did and went silent: a stall. */
    if (o->completed && !o->sut_confirmed && o->end == TD_SCN_END_TIMEOUT)
        f->completed = false;
    /* The same stall, when the SUT's first word after our Finished was an
     * alert answering our close_notify: it said nothing through the whole
     * quiet time after our side completed (it was still waiting for bytes,
     * e.g. a handshake message it believed longer), then failed on the
     * close_notify record. Its refusal never came; the alert is told in
     * the reason. */
    if (o->completed && !o->sut_confirmed && o->we_closed && o->end == TD_SCN_END_ALERT &&
        !f->alert && !f->close_notify) {
        f->completed = false;
        if (o->end_alert_known && o->end_alert_desc != TD_ALERT_bad_record_mac &&
            o->end_alert_desc != TD_ALERT_close_notify) {
            /* A slow SUT's answer to what the case did, not to our close_notify
             * (which it would fail to decrypt, bad_record_mac, had it missed
             * the key change): its refusal, late. */
            f->alert = true;
            f->late_alert = true;
            f->adesc = o->end_alert_desc;
            f->aname = td_alert_name(o->end_alert_desc) ? td_alert_name(o->end_alert_desc) : "?";
        } else {
            f->ended = "stalled";
            f->stalled_alert = true;
        }
    }
    /* RFC 8446 §6.2: "it SHOULD send an appropriate fatal alert and MUST
     * close the connection": a SUT that closes by itself right after our
     * post-handshake message (or before it showed it completed) refused. */
    if (ours->completed && o->end_after_completed && !o->we_closed && !f->alert &&
        !f->close_notify && (o->end == TD_SCN_END_EOF || o->end == TD_SCN_END_RESET) &&
        (f->post || !o->sut_confirmed))
        f->closed_after = true;
    if (f->ended[0] == '\0' && !f->completed && !f->alert && !f->close_notify) {
        if (o->end == TD_SCN_END_TIMEOUT)
            f->ended = "timeout";
        else if (o->end == TD_SCN_END_GARBAGE)
            f->ended = "garbage";
        else if (o->end == TD_SCN_END_EOF || o->end == TD_SCN_END_RESET)
            f->ended = "closed";
    }
    f->sut_ended = f->has_sut ? (sut->phase == TD_PHASE_FAILED || sut->phase == TD_PHASE_CLOSED)
                              : (ours->phase == TD_PHASE_CLOSED || ours->phase == TD_PHASE_FAILED);
    f->we_aborted =
        ours->alert_sent && ours->alert_sent_desc != TD_ALERT_close_notify && !ours->alert_received;
}

/* The SUT's alert that answered our close_notify (the stall of read_facts). */
static const char *end_alert_name(const td_scn_outcome *o)
{
    const char *n = o->end_alert_known ? td_alert_name(o->end_alert_desc) : NULL;
    return n != NULL ? n : "an alert";
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
    else if (f->stalled_alert)
        scn_say(res->actual, sizeof(res->actual), "stalled (never confirmed our Finished)");
    else if (f->ended[0] != '\0')
        scn_say(res->actual, sizeof(res->actual), "%s", f->ended); /* timeout, closed, garbage */
    else if (f->we_aborted)
        scn_say(res->actual, sizeof(res->actual), "our abort %s", rule_id(ours->diag.rule));
    else if (f->sut_ended)
        scn_say(res->actual, sizeof(res->actual), "closed");
    else
        scn_say(res->actual, sizeof(res->actual), "stalled in %s", ours->state ? ours->state : "?");
}

/* An allowance of one of the case's rules for alert |desc|: another RFC
 * sentence grants it (engine/catalogue/allowances.md); NULL if none. */
static const td_rule_allowance *allowance_for(const td_scn_case *c, uint8_t desc)
{
    /* An alert the catalogue does not list has no bit a test could drop. */
    int bit = alert_bit(desc);
    uint32_t mask = bit < 0 ? 0 : (uint32_t)1 << bit;
    for (size_t i = 0; i < c->num_rules; i++)
        for (const td_rule_allowance *a = td_rule_allowance_next(c->rules[i], NULL); a != NULL;
             a = td_rule_allowance_next(c->rules[i], a))
            if ((uint8_t)a->alert == desc && !(td_site_alerts_off(c->rules[i]) & mask))
                return a;
    return NULL;
}

/* `expect rule` / `expect alert NAME...`: the SUT must refuse with one of
 * |allowed|, or one an allowance of its rules grants. The set is never
 * "any alert": lint refuses an `expect rule` whose rules name no alert and
 * an `expect alert` without names, so an empty set is one whose alerts a
 * test dropped (TD_PLANT_ALERT), and then no alert is allowed. */
static void judge_alert(const td_scn_case *c, const facts *f, const td_scn_outcome *o,
                        uint32_t allowed, td_scn_result *res)
{
    case_level l = level_of(c);
    const td_status *ours = f->ours;
    int bit = f->alert ? alert_bit(f->adesc) : -1;
    bool alert_ok = f->alert && bit >= 0 && ((allowed >> bit) & 1);
    const td_rule_allowance *granted = f->alert && !alert_ok ? allowance_for(c, f->adesc) : NULL;
    alert_ok |= granted != NULL;
    scn_say(res->level, sizeof(res->level), "%s", level_name(l));
    if (f->alert && ours->bytes_after_alert > 0) {
        /* RFC 8446 §6.2: "Upon transmission or receipt of a fatal alert
         * message, both parties MUST immediately close the connection." and
         * "[it] MUST close the connection without sending or receiving any
         * additional data" (a close_notify after it too: §6.1 asks for one
         * "unless it has already sent some error alert"). */
        scn_say(res->level, sizeof(res->level), "MUST");
        scn_say(res->reason, sizeof(res->reason),
                "alert %s%s, but the SUT sent %llu more bytes after it (AL-CLOSE-AFTER-FATAL, "
                "RFC 8446 §6.2: MUST close the connection \"without sending or receiving any "
                "additional data\")",
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
            if (granted != NULL)
                scn_say(res->reason, sizeof(res->reason),
                        "alert %s: allowed for %s when %s (tlsdrill rules %s)", f->aname,
                        rule_id(granted->rule), granted->when, rule_id(granted->rule));
        }
    } else if (f->alert) {
        /* Refused, with another alert: a deviation in the alert only. */
        if (l.alert_unnamed)
            scn_say(res->level, sizeof(res->level), "SHOULD (alert choice)");
        char site[320];
        scn_say(res->reason, sizeof(res->reason), "expected %s, got alert %s%s%s", res->expected,
                f->aname, sut_site(res, site, sizeof(site)),
                l.alert_unnamed ? "; the rule names no alert, so by RFC 8446 §6.2 the choice is a "
                                  "SHOULD"
                                : "");
        res->verdict = TD_SCN_ALERT_DIFFERS;
    } else if (f->closed_after) {
        /* RFC 8446 §6.2: "it SHOULD send an appropriate fatal alert and
         * MUST close the connection": it closed, without the alert. */
        scn_say(res->actual, sizeof(res->actual), "closed after %s",
                f->post ? "our post-handshake message" : "our Finished (never confirmed)");
        scn_say(res->reason, sizeof(res->reason),
                "expected %s, got %s: the SUT closed the connection by itself, before our "
                "close_notify, without an error alert (RFC 8446 §6.2: it SHOULD send an "
                "appropriate fatal alert; --lenient accepts it)",
                res->expected, res->actual);
        res->verdict = TD_SCN_ALERT_DIFFERS;
        if (!binding(l)) {
            /* A rule that does not bind the receiver: closing is more than it owes. */
            size_t n = strlen(res->reason);
            scn_say(res->reason + n, sizeof(res->reason) - n, " [%s rule: advisory]",
                    level_name(l));
            res->verdict = TD_SCN_ADVISORY;
        }
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
    } else if (f->we_aborted && ours->alert_unreadable) {
        /* It was refusing: RFC 8446 §6 "alerts are encrypted as specified by
         * the current connection state", and ours could not read this one
         * (a 0-RTT client refusing our ServerHello has no handshake keys). */
        scn_say(res->reason, sizeof(res->reason),
                "expected %s, got an alert record our side could not read (%s): the SUT refused, "
                "with an alert that cannot be named",
                res->expected, ours->diag.text);
        scn_say(res->actual, sizeof(res->actual), "closed (unreadable alert record)");
        res->verdict = TD_SCN_ALERT_DIFFERS;
    } else if (f->we_aborted) {
        not_followed(f, l, res, "expected %s, but our side aborted first: %s (%s)", res->expected,
                     rule_id(ours->diag.rule), ours->diag.text);
    } else if (f->stalled_alert) {
        not_followed(f, l, res,
                     "expected %s, got %s: the SUT said nothing through the quiet time after our "
                     "Finished (still reading the handshake) and only answered our close_notify, "
                     "with %s",
                     res->expected, res->actual, end_alert_name(o));
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
    if (!f->completed && f->alert && c->allow != NULL &&
        (uint8_t)c->allow->alert == f->adesc &&
        f->ours->bytes_after_alert == 0) {
        /* Another RFC the SUT implements requires this abort (allowances.md,
         * "Case allowances"). */
        res->verdict = TD_SCN_PASS;
        scn_say(res->reason, sizeof(res->reason), "alert %s: allowed (%s) when %s; %s", f->aname,
                c->allow->id, c->allow->when, c->allow->source);
        return;
    }
    if (!f->completed) {
        const char *what =
            c->expect == TD_SCN_EXPECT_RESUMED ? "a resumed handshake" : "a completed handshake";
        if (c->expect == TD_SCN_EXPECT_EARLY_DATA)
            what = "a completed handshake (0-RTT accepted)";
        else if (c->expect == TD_SCN_EXPECT_EARLY_DATA_REJECTED)
            what = "a completed handshake (0-RTT rejected)";
        char site[320];
        not_followed(f, l, res, "expected %s, got %s%s", what, res->actual,
                     sut_site(res, site, sizeof(site)));
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
    else {
        char site[320];
        not_followed(f, l, res, "tolerance: the SUT must not abort, got %s%s", res->actual,
                     sut_site(res, site, sizeof(site)));
    }
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
    char site[320];
    not_followed(f, l, res, "expected the SUT to send a %s, got %s%s",
                 scn_msg_name(c->msg_type, c->msg_hrr), res->actual,
                 sut_site(res, site, sizeof(site)));
}

/* ---- premises ---- */

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* Appends the extension types of the extensions block at |at| (2-byte
 * length first) of a message of |len| bytes; a malformed block adds what
 * parses (the SUT's own bytes: our side judges them elsewhere). */
static void add_exts(const uint8_t *m, size_t len, size_t at, uint16_t *out, size_t *num)
{
    if (at + 2 > len)
        return;
    size_t end = at + 2 + be16(m + at);
    if (end > len)
        end = len;
    for (at += 2; at + 4 <= end; at += 4 + (size_t)be16(m + at + 2)) {
        uint16_t t = be16(m + at);
        bool dup = false;
        for (size_t i = 0; i < *num; i++)
            dup |= out[i] == t;
        if (!dup && *num < SCN_SEEN_MAX_EXTS)
            out[(*num)++] = t;
    }
}

/* Offset of the extensions block of a ClientHello / ServerHello (header
 * included): after version, random, session id, suites or suite, and
 * compression; 0 if the message is too short. */
static size_t hello_exts_at(const uint8_t *m, size_t len, bool client_hello)
{
    size_t at = 4 + 2 + TD_RANDOM_LEN;
    if (at + 1 > len)
        return 0;
    at += 1 + m[at]; /* legacy_session_id(_echo) */
    if (client_hello) {
        if (at + 2 > len)
            return 0;
        at += 2 + be16(m + at); /* cipher_suites */
        if (at + 1 > len)
            return 0;
        at += 1 + m[at]; /* legacy_compression_methods */
    } else {
        at += 2 + 1; /* cipher_suite, legacy_compression_method */
    }
    return at <= len ? at : 0;
}

/* The body of extension |type| in the extensions block at |at| (2-byte
 * length first) of a message of |len| bytes; false if absent or cut. */
static bool find_ext(const uint8_t *m, size_t len, size_t at, uint16_t type, const uint8_t **body,
                     size_t *body_len)
{
    if (at + 2 > len)
        return false;
    size_t end = at + 2 + be16(m + at);
    if (end > len)
        end = len;
    for (at += 2; at + 4 <= end; at += 4 + (size_t)be16(m + at + 2)) {
        if (be16(m + at) != type)
            continue;
        if (at + 4 + be16(m + at + 2) > end)
            return false;
        *body = m + at + 4;
        *body_len = be16(m + at + 2);
        return true;
    }
    return false;
}

/* What a client SUT's ClientHello says about PSK modes and key shares. */
static void note_client_hello(scn_seen *seen, const uint8_t *m, size_t len, size_t at)
{
    const uint8_t *b;
    size_t bl;
    /* RFC 8446 §4.2.9: PskKeyExchangeMode ke_modes<1..255>. */
    if (find_ext(m, len, at, TD_EXT_PSK_KEY_EXCHANGE_MODES, &b, &bl) && bl >= 1 && b[0] + 1u <= bl) {
        seen->ch_modes_seen = true;
        seen->ch_psk_modes = 0;
        for (size_t j = 1; j <= b[0]; j++)
            if (b[j] <= 1)
                seen->ch_psk_modes |= 1u << b[j];
    }
    /* RFC 8446 §4.2.8: KeyShareEntry client_shares<0..2^16-1>, each a group
     * and key_exchange<1..2^16-1>. The first ClientHello only. */
    if (seen->ch1_shares_seen || !find_ext(m, len, at, TD_EXT_KEY_SHARE, &b, &bl) || bl < 2)
        return;
    seen->ch1_shares_seen = true;
    size_t end = 2 + (size_t)be16(b) < bl ? 2 + (size_t)be16(b) : bl;
    for (size_t j = 2; j + 4 <= end; j += 4 + (size_t)be16(b + j + 2))
        if (seen->num_ch1_share_groups < sizeof(seen->ch1_share_groups) / sizeof(uint16_t))
            seen->ch1_share_groups[seen->num_ch1_share_groups++] = be16(b + j);
}

/* Our first HelloRetryRequest (RFC 8446 §4.1.3: a ServerHello with the
 * special random), |m| a handshake message of |len| bytes: its key_share
 * is the selected group (§4.2.8, NamedGroup selected_group). */
static void note_our_hrr(scn_seen *seen, const uint8_t *m, size_t len)
{
    const uint8_t *b;
    size_t at, bl;
    if (seen->our_hrr_group >= 0 || len < 6 + TD_RANDOM_LEN || m[0] != TD_MSG_SERVER_HELLO ||
        memcmp(m + 6, td_hrr_random, TD_RANDOM_LEN) != 0)
        return;
    if ((at = hello_exts_at(m, len, false)) != 0 &&
        find_ext(m, len, at, TD_EXT_KEY_SHARE, &b, &bl) && bl == 2)
        seen->our_hrr_group = be16(b);
}

void scn_seen_our_record(scn_seen *seen, const uint8_t *rec, size_t len)
{
    /* A plaintext handshake record: the message that starts it. */
    if (len > 5 && rec[0] == 22)
        note_our_hrr(seen, rec + 5, len - 5);
}

void scn_seen_update(scn_seen *seen, td_conn *conn)
{
    size_t n = 0;
    const td_msg_record *log = td_conn_messages(conn, &n);
    /* Our HRR's group comes from our records (scn_seen_our_record): kept. */
    int our_hrr_group = seen->our_hrr_group;
    memset(seen, 0, sizeof(*seen));
    seen->our_hrr_group = our_hrr_group;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *m = log[i].bytes;
        size_t len = log[i].len, at;
        if (log[i].sent) {
            note_our_hrr(seen, m, len);
            continue;
        }
        switch (log[i].type) {
        case TD_MSG_CLIENT_HELLO:
            seen->ch = true;
            if ((at = hello_exts_at(m, len, true)) != 0) {
                add_exts(m, len, at, seen->ch_exts, &seen->num_ch_exts);
                note_client_hello(seen, m, len, at);
            }
            break;
        case TD_MSG_SERVER_HELLO: {
            /* RFC 8446 §4.1.3: an HRR is a ServerHello with the special random. */
            bool hrr = len >= 6 + TD_RANDOM_LEN && memcmp(m + 6, td_hrr_random, TD_RANDOM_LEN) == 0;
            if (!seen->first_answer_seen) {
                seen->first_answer_seen = true;
                seen->hrr_first = hrr;
            }
            if ((at = hello_exts_at(m, len, false)) != 0)
                add_exts(m, len, at, seen->resp_exts, &seen->num_resp_exts);
            if (!hrr)
                seen->resp = true;
            break;
        }
        case TD_MSG_ENCRYPTED_EXTENSIONS:
            seen->resp = seen->ee = true;
            add_exts(m, len, 4, seen->resp_exts, &seen->num_resp_exts);
            break;
        case TD_MSG_CERTIFICATE_REQUEST:
            /* RFC 8446 §4.3.2: certificate_request_context<0..2^8-1>, then
             * the extensions. */
            if (len < 5)
                break;
            seen->cr = true;
            add_exts(m, len, 5 + (size_t)m[4], seen->cr_exts, &seen->num_cr_exts);
            add_exts(m, len, 5 + (size_t)m[4], seen->resp_exts, &seen->num_resp_exts);
            break;
        default: break;
        }
    }
}

static bool has_ext(const uint16_t *list, size_t n, uint16_t t)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == t)
            return true;
    return false;
}

static const char *ext_label(uint16_t t, char *buf, size_t cap)
{
    const char *n = td_ext_type_name(t);
    if (n != NULL && strcmp(n, "unknown") != 0)
        return n;
    snprintf(buf, cap, "0x%04x", t);
    return buf;
}

/* Checks the case's premises against what the SUT sent. Writes what was
 * checked into res->premise; returns false with the reason in |why| when
 * one does not hold (only with evidence: a message that was not seen
 * proves nothing). */
static bool premises_hold(const td_scn_case *c, const scn_seen *seen, const facts *f,
                          td_scn_result *res, char *why, size_t cap)
{
    size_t o = 0;
    bool ok = true;
    for (size_t i = 0; i < c->num_premises; i++) {
        const td_scn_premise *p = &c->premises[i];
        char b[16];
        const char *e = ext_label(p->ext, b, sizeof(b));
        const char *state = "not checked (the SUT's message was not seen)";
        char what[48] = "";
        switch (p->kind) {
        case TD_SCN_PREMISE_RECOGNISES:
            if (c->sut == TD_ROLE_CLIENT && seen != NULL && seen->ch) {
                state = has_ext(seen->ch_exts, seen->num_ch_exts, p->ext) ? "held" : "failed";
                if (state[0] == 'f' && ok)
                    scn_say(why, cap,
                            "premise: the SUT's ClientHello does not offer %s (not implemented, "
                            "or not in this configuration), so ours is unsolicited (RFC 8446 "
                            "§4.2, EXT-UNSOLICITED), not what the case tests",
                            e);
            } else if (c->sut == TD_ROLE_SERVER && seen != NULL && seen->resp) {
                state = has_ext(seen->resp_exts, seen->num_resp_exts, p->ext) ? "held" : "failed";
                if (state[0] == 'f' && ok)
                    scn_say(why, cap,
                            "premise: the SUT went on without sending %s in its ServerHello, "
                            "HelloRetryRequest, EncryptedExtensions or CertificateRequest, so "
                            "nothing shows it implements it (RFC 8446 §4.1.2: \"Servers MUST "
                            "ignore unrecognized extensions\")",
                            e);
            } else if (c->sut == TD_ROLE_SERVER && seen != NULL && seen->probe_ext == p->ext &&
                       seen->probe_state != SCN_PROBE_NONE) {
                /* Not seen in this run (it refused first): the baseline probe says. */
                state = seen->probe_state == SCN_PROBE_ANSWERS ? "held (baseline probe)"
                                                               : "failed (baseline probe)";
                if (state[0] == 'f' && ok)
                    scn_say(why, cap,
                            "premise: in a baseline probe (a clean handshake whose ClientHello "
                            "offered a valid %s) the SUT did not answer it, so it does not "
                            "implement it (RFC 8446 §4.2: an extension a server does not "
                            "recognise is ignored)",
                            e);
            }
            snprintf(what, sizeof(what), "recognises %s", e);
            break;
        case TD_SCN_PREMISE_NOT_REQUESTED:
            if (c->sut == TD_ROLE_SERVER && seen != NULL && seen->cr) {
                /* RFC 8446 §4.4.2: "Extensions in the Certificate message from
                 * the client MUST correspond to extensions in the
                 * CertificateRequest message from the server." */
                state = has_ext(seen->cr_exts, seen->num_cr_exts, p->ext) ? "failed" : "held";
                if (state[0] == 'f' && ok)
                    scn_say(why, cap,
                            "premise: the SUT's own CertificateRequest asked for %s, so the %s "
                            "in our Certificate is solicited (RFC 8446 §4.4.2: the client's "
                            "extensions \"MUST correspond to extensions in the "
                            "CertificateRequest\"), not what the case tests",
                            e, e);
            } else if (c->sut == TD_ROLE_CLIENT && seen != NULL && seen->ch) {
                state = has_ext(seen->ch_exts, seen->num_ch_exts, p->ext) ? "failed" : "held";
                if (state[0] == 'f' && ok)
                    scn_say(why, cap,
                            "premise: the SUT's own ClientHello asked for %s, so the %s our side "
                            "sent is solicited, not what the case tests",
                            e, e);
            }
            snprintf(what, sizeof(what), "not-requested %s", e);
            break;
        case TD_SCN_PREMISE_NO_HRR:
            if (seen != NULL && seen->first_answer_seen) {
                state = seen->hrr_first ? "failed" : "held";
                if (seen->hrr_first && ok)
                    scn_say(why, cap,
                            "premise: the SUT answered our first ClientHello with a "
                            "HelloRetryRequest, so it never used the edited key share");
            }
            snprintf(what, sizeof(what), "no-hrr");
            break;
        case TD_SCN_PREMISE_SENDS_APPDATA:
            /* Only a completed connection shows what the SUT sent after it. */
            if (f->ours->completed) {
                state = f->ours->app_data_records_in > 0 ? "held" : "failed";
                if (state[0] == 'f' && ok)
                    scn_say(why, cap,
                            "premise: the SUT sent no application data after the handshake, and "
                            "RFC 8446 §4.6.3 wants its KeyUpdate only \"prior to sending its next "
                            "Application Data record\"");
            }
            snprintf(what, sizeof(what), "sends-application-data");
            break;
        case TD_SCN_PREMISE_PSK_ACCEPTED:
            /* RFC 8446 §4.2.11: "Prior to accepting PSK key establishment, the
             * server MUST validate the corresponding binder value"; a server
             * may "decline resumption and fall back to a full handshake" (§2.2),
             * and then no binder was due to be checked. Only a ServerHello
             * shows it: a SUT that refused first is judged as usual. */
            if (c->sut == TD_ROLE_SERVER && seen != NULL && seen->resp) {
                state = has_ext(seen->resp_exts, seen->num_resp_exts, TD_EXT_PRE_SHARED_KEY)
                            ? "held"
                            : "failed";
                if (state[0] == 'f' && ok)
                    scn_say(why, cap,
                            "premise: the SUT declined our PSK and went on with a full handshake "
                            "(no pre_shared_key in its ServerHello), so it never had to validate "
                            "the binder (RFC 8446 §4.2.11: \"Prior to accepting PSK key "
                            "establishment, the server MUST validate the corresponding binder "
                            "value\"); whether it looked at the binder before declining cannot "
                            "be told");
            }
            snprintf(what, sizeof(what), "psk-accepted");
            break;
        case TD_SCN_PREMISE_PSK_DHE_ONLY:
            /* RFC 8446 §4.2.11: the ServerHello's key_share is required "if
             * required by the ClientHello "psk_key_exchange_modes"" (§4.2.9:
             * psk_ke is "PSK-only key establishment"). */
            if (c->sut == TD_ROLE_CLIENT && seen != NULL && seen->ch_modes_seen) {
                state = (seen->ch_psk_modes & 1u) ? "failed" : "held";
                if (state[0] == 'f' && ok)
                    scn_say(why, cap,
                            "premise: the SUT's ClientHello offers psk_ke too, so a ServerHello "
                            "without key_share is a valid choice of psk_ke (RFC 8446 §4.2.9); "
                            "our server still derived (EC)DHE keys, so what went wrong after it "
                            "is our side's mismatch, not the SUT's");
            }
            snprintf(what, sizeof(what), "psk-dhe-ke-only");
            break;
        case TD_SCN_PREMISE_ED_ACCEPTED:
            /* RFC 8446 §4.2.10: "A server which receives an "early_data"
             * extension MUST behave in one of three ways": two of them
             * reject the 0-RTT. It says which in EncryptedExtensions. */
            if (c->sut == TD_ROLE_SERVER && seen != NULL && seen->ee) {
                state = has_ext(seen->resp_exts, seen->num_resp_exts, TD_EXT_EARLY_DATA)
                            ? "held"
                            : "failed";
                if (state[0] == 'f' && ok)
                    scn_say(why, cap,
                            "premise: the SUT rejected our 0-RTT (no early_data in its "
                            "EncryptedExtensions), which RFC 8446 §4.2.10 allows a server "
                            "(\"Ignore the extension and return a regular 1-RTT response\")");
            }
            snprintf(what, sizeof(what), "early-data-accepted");
            break;
        case TD_SCN_PREMISE_HRR_GROUP_NEW:
            if (c->sut == TD_ROLE_CLIENT && seen != NULL && seen->ch1_shares_seen &&
                seen->our_hrr_group >= 0) {
                state = has_ext(seen->ch1_share_groups, seen->num_ch1_share_groups,
                                (uint16_t)seen->our_hrr_group)
                            ? "failed"
                            : "held";
                if (state[0] == 'f' && ok)
                    scn_say(why, cap,
                            "premise: the SUT's first ClientHello already carries a key share "
                            "for the group our HelloRetryRequest asks for, so our HRR is the one "
                            "at fault (RFC 8446 §4.2.8: the client MUST check that \"the "
                            "selected_group field does not correspond to a group which was "
                            "provided in the \"key_share\" extension in the original "
                            "ClientHello\" and abort with illegal_parameter if it does)");
            }
            snprintf(what, sizeof(what), "hrr-group-not-shared");
            break;
        }
        /* What was checked, in the report: "NAME: held|failed|not checked (...)". */
        o += (size_t)snprintf(res->premise + o,
                              o < sizeof(res->premise) ? sizeof(res->premise) - o : 0, "%s%s: %s",
                              o ? "; " : "", what, state);
        if (strncmp(state, "failed", 6) == 0)
            ok = false;
    }
    return ok;
}

static void expected_text(const td_scn_case *c, td_scn_result *res, uint32_t *allowed)
{
    *allowed = 0;
    switch (c->expect) {
    case TD_SCN_EXPECT_RULE:
        for (size_t i = 0; i < c->num_rules; i++)
            *allowed |= td_rule_get(c->rules[i])->alerts & ~td_site_alerts_off(c->rules[i]);
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

static void grade(const td_scn_case *c, const facts *f, const td_scn_outcome *o, uint32_t allowed,
                  td_scn_result *res)
{
    switch (c->expect) {
    case TD_SCN_EXPECT_RULE:
    case TD_SCN_EXPECT_ALERT: judge_alert(c, f, o, allowed, res); return;
    case TD_SCN_EXPECT_HANDSHAKE:
    case TD_SCN_EXPECT_RESUMED:
    case TD_SCN_EXPECT_EARLY_DATA:
    case TD_SCN_EXPECT_EARLY_DATA_REJECTED: judge_handshake(c, f, res); return;
    case TD_SCN_EXPECT_NO_ALERT: judge_no_alert(c, f, res); return;
    case TD_SCN_EXPECT_CLOSED: judge_closed(c, f, res); return;
    case TD_SCN_EXPECT_MESSAGE: judge_message(c, f, o, res); return;
    }
}

/* Our side aborted because of what the SUT sent, and the rule it names
 * binds the SUT's own choice with a MUST (allowances.md, "Our abort as
 * evidence"): the SUT sent what the RFC forbids it to send. That is a
 * `fail` under that sentence whatever the case's own rule is (one that
 * binds only the sender would make it advisory) and whatever its premises
 * (they concern the case's input, not this message of the SUT). */
static void sender_must(const td_scn_case *c, const facts *f, td_scn_result *res)
{
    if (!f->we_aborted || res->verdict == TD_SCN_PASS || res->verdict == TD_SCN_ERROR ||
        res->verdict == TD_SCN_UNSUPPORTED)
        return;
    td_rule r = f->ours->diag.rule;
    const char *must =
        td_rule_sender_must(r, c->sut == TD_ROLE_CLIENT ? TD_CHECKER_CLIENT : TD_CHECKER_SERVER);
    if (must == NULL)
        return;
    scn_say(res->sut_broke, sizeof(res->sut_broke), "%s", rule_id(r));
    scn_say(res->reason, sizeof(res->reason),
            "the SUT sent what the RFC forbids: %s; our side aborted with %s (%s)%s%s%s", must,
            rule_id(r), f->ours->diag.text,
            res->verdict == TD_SCN_FAIL ? "" : " [the case's own grade would be ",
            res->verdict == TD_SCN_FAIL ? "" : td_scn_verdict_name(res->verdict),
            res->verdict == TD_SCN_FAIL ? "" : ": the SUT's MUST decides]");
    scn_say(res->level, sizeof(res->level), "MUST");
    res->verdict = TD_SCN_FAIL;
}

void scn_judge(const td_scn_case *c, const td_scn_outcome *o, const scn_seen *seen,
               td_scn_result *res)
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
    grade(c, &f, o, allowed, res);
    if (f.late_alert) {
        size_t n = strlen(res->reason);
        scn_say(res->reason + n, sizeof(res->reason) - n,
                "%s(its alert came only after our close_notify, outside the quiet time: a slow SUT)",
                n ? " " : "");
    }
    char why[sizeof(res->reason)] = "";
    if (c->num_premises > 0 && !premises_hold(c, seen, &f, res, why, sizeof(why)) &&
        res->verdict != TD_SCN_PASS) {
        /* The case tested nothing on this SUT: n/a, with what it would have been. */
        size_t n = strlen(why);
        scn_say(why + n, sizeof(why) - n, " (otherwise %s: %s)", td_scn_verdict_name(res->verdict),
                res->reason);
        memcpy(res->reason, why, sizeof(res->reason));
        res->verdict = TD_SCN_NA;
    }
    sender_must(c, &f, res);
}
