/* engine/rules.c -- the rule catalogue table, generated from rules.def. */
#include <string.h>

#include "tlsdrill/err.h"
#include "tlsdrill/rules.h"

static const td_rule_info rule_table[TD_NUM_RULES] = {
    [TD_RULE_NONE] = {"NONE", "", TD_CHECKER_BOTH, TD_LEVEL_MUST, TD_RULE_KIND_ABORT, 0, "", ""},
#define TD_RULE(sfx, id, sec, chk, lvl, kind, alerts, alert_text, cond) \
    [TD_RULE_##sfx] = {id, sec, TD_CHECKER_##chk, TD_LEVEL_##lvl, TD_RULE_KIND_##kind, alerts, alert_text, cond},
#include "tlsdrill/rules.def"
#include "tlsdrill/rules_local.def"
#undef TD_RULE
};

static const td_rule_allowance allowance_table[] = {
#define TD_ALLOW(sfx, alert, when, source) {TD_RULE_##sfx, TD_ALERT_##alert, when, source},
#define TD_CASE_ALLOW(id, alert, when, source)
#define TD_SENDER_MUST(sfx, sender, sentence)
#include "tlsdrill/rules_allow.def"
#undef TD_ALLOW
#undef TD_CASE_ALLOW
#undef TD_SENDER_MUST
};

static const td_case_allowance case_allowance_table[] = {
#define TD_ALLOW(sfx, alert, when, source)
#define TD_CASE_ALLOW(id, alert, when, source) {id, TD_ALERT_##alert, when, source},
#define TD_SENDER_MUST(sfx, sender, sentence)
#include "tlsdrill/rules_allow.def"
#undef TD_ALLOW
#undef TD_CASE_ALLOW
#undef TD_SENDER_MUST
};

static const struct {
    td_rule rule;
    td_checker sender;
    const char *sentence;
} sender_must_table[] = {
#define TD_ALLOW(sfx, alert, when, source)
#define TD_CASE_ALLOW(id, alert, when, source)
#define TD_SENDER_MUST(sfx, sender, sentence) {TD_RULE_##sfx, TD_CHECKER_##sender, sentence},
#include "tlsdrill/rules_allow.def"
#undef TD_ALLOW
#undef TD_CASE_ALLOW
#undef TD_SENDER_MUST
};

const td_case_allowance *td_case_allowance_by_id(const char *id)
{
    for (size_t i = 0; i < sizeof(case_allowance_table) / sizeof(case_allowance_table[0]); i++)
        if (strcmp(case_allowance_table[i].id, id) == 0)
            return &case_allowance_table[i];
    return NULL;
}

const char *td_rule_sender_must(td_rule rule, td_checker sender)
{
    for (size_t i = 0; i < sizeof(sender_must_table) / sizeof(sender_must_table[0]); i++) {
        td_checker s = sender_must_table[i].sender;
        if (sender_must_table[i].rule == rule && (s == TD_CHECKER_BOTH || s == sender))
            return sender_must_table[i].sentence;
    }
    return NULL;
}

const td_rule_allowance *td_rule_allowance_next(td_rule rule, const td_rule_allowance *prev)
{
    size_t n = sizeof(allowance_table) / sizeof(allowance_table[0]);
    size_t i = prev == NULL ? 0 : (size_t)(prev - allowance_table) + 1;
    for (; i < n; i++)
        if (allowance_table[i].rule == rule)
            return &allowance_table[i];
    return NULL;
}

static const struct {
    const char *section;
    const char *text;
} quote_table[TD_NUM_RULES] = {
#define TD_QUOTE(sfx, sec, text) [TD_RULE_##sfx] = {sec, text},
#define TD_ALLOW_QUOTE(sfx, alert, sec, text)
#define TD_RFC_SECTION(sec, title)
#include "tlsdrill/rules_quote.def"
#undef TD_RFC_SECTION
#undef TD_ALLOW_QUOTE
#undef TD_QUOTE
};

static const struct {
    td_rule rule;
    td_alert alert;
    const char *section;
    const char *text;
} allow_quote_table[] = {
#define TD_QUOTE(sfx, sec, text)
#define TD_ALLOW_QUOTE(sfx, alert, sec, text) {TD_RULE_##sfx, TD_ALERT_##alert, sec, text},
#define TD_RFC_SECTION(sec, title)
#include "tlsdrill/rules_quote.def"
#undef TD_RFC_SECTION
#undef TD_ALLOW_QUOTE
#undef TD_QUOTE
};

static const struct {
    const char *section;
    const char *title;
} section_table[] = {
#define TD_QUOTE(sfx, sec, text)
#define TD_ALLOW_QUOTE(sfx, alert, sec, text)
#define TD_RFC_SECTION(sec, title) {sec, title},
#include "tlsdrill/rules_quote.def"
#undef TD_RFC_SECTION
#undef TD_ALLOW_QUOTE
#undef TD_QUOTE
};

const char *td_rfc8446_title(const char *section)
{
    for (size_t i = 0; section != NULL && i < sizeof(section_table) / sizeof(section_table[0]); i++)
        if (strcmp(section_table[i].section, section) == 0)
            return section_table[i].title;
    return NULL;
}

const char *td_rule_quote(td_rule rule, const char **out_section)
{
    const char *text = NULL, *section = "";
    if ((int)rule > (int)TD_RULE_NONE && (int)rule < (int)TD_NUM_RULES &&
        quote_table[rule].text != NULL) {
        text = quote_table[rule].text;
        section = quote_table[rule].section;
    }
    if (out_section != NULL)
        *out_section = section;
    return text;
}

const char *td_rule_allowance_quote(const td_rule_allowance *allowance, const char **out_section)
{
    const char *text = NULL, *section = "";
    size_t n = sizeof(allow_quote_table) / sizeof(allow_quote_table[0]);
    for (size_t i = 0; allowance != NULL && i < n; i++)
        if (allow_quote_table[i].rule == allowance->rule &&
            allow_quote_table[i].alert == allowance->alert) {
            text = allow_quote_table[i].text;
            section = allow_quote_table[i].section;
            break;
        }
    if (out_section != NULL)
        *out_section = section;
    return text;
}

static const struct {
    const char *name;
    unsigned value;
} alert_names[] = {
#define TD_ALERT_ROW_(name, value) {#name, value},
    TD_ALERT_LIST(TD_ALERT_ROW_)
#undef TD_ALERT_ROW_
};

const char *td_level_name(td_level level)
{
    switch (level) {
    case TD_LEVEL_MUST: return "MUST";
    case TD_LEVEL_SHOULD: return "SHOULD";
    case TD_LEVEL_MAY: return "MAY";
    case TD_LEVEL_SENDER: return "sender";
    }
    return "unknown";
}

const td_rule_info *td_rule_get(td_rule rule)
{
    if ((int)rule <= (int)TD_RULE_NONE || (int)rule >= (int)TD_NUM_RULES)
        return NULL;
    return &rule_table[rule];
}

td_rule td_rule_by_id(const char *id)
{
    for (int i = 1; i < TD_NUM_RULES; i++)
        if (strcmp(rule_table[i].id, id) == 0)
            return (td_rule)i;
    return TD_RULE_NONE;
}

td_alert td_rule_alert(td_rule rule, td_alert fallback)
{
    const td_rule_info *info = td_rule_get(rule);
    uint32_t alerts = info != NULL ? info->alerts & ~td_site_alerts_off(rule) : 0;
    if (alerts == 0)
        return fallback;
    for (unsigned i = 0; i < TD_NUM_ALERTS; i++)
        if (alerts & ((uint32_t)1 << i))
            return (td_alert)alert_names[i].value;
    return fallback;
}

bool td_rule_allows(td_rule rule, td_alert alert)
{
    const td_rule_info *info = td_rule_get(rule);
    if (info == NULL)
        return false;
    for (unsigned i = 0; i < TD_NUM_ALERTS; i++)
        if (alert_names[i].value == (unsigned)alert)
            return (info->alerts & ~td_site_alerts_off(rule) & ((uint32_t)1 << i)) != 0;
    return false;
}

const char *td_alert_name(unsigned value)
{
    for (unsigned i = 0; i < TD_NUM_ALERTS; i++)
        if (alert_names[i].value == value)
            return alert_names[i].name;
    return NULL;
}

int td_alert_by_name(const char *name)
{
    for (unsigned i = 0; i < TD_NUM_ALERTS; i++)
        if (strcmp(alert_names[i].name, name) == 0)
            return (int)alert_names[i].value;
    return -1;
}
