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
#include "tlsdrill/rules_allow.def"
#undef TD_ALLOW
};

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
    const char *name;
    unsigned value;
} alert_names[] = {
#define TD_ALERT_ROW_(name, value) {#name, value},
    TD_ALERT_LIST(TD_ALERT_ROW_)
#undef TD_ALERT_ROW_
};

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
