/* tests/unit/test_rule_sites.c -- every rule check site of the engine
 * (tools/cli/rule_sites.c reads the sources) names its rule and its error
 * class literally, and the class's alert -- the alert that goes out -- is
 * one the rule allows (RFC 8446 §6.2 as rules.def reads it). */
#include "td_test.h"

#include "rule_sites.h"

static void test_every_site_sends_an_alert_its_rule_allows(void)
{
    td_rule_site *sites;
    size_t num;
    char errbuf[256] = "";
    TD_REQUIRE(td_rule_sites_scan(TD_SOURCE_DIR, &sites, &num, errbuf, sizeof(errbuf)) == TD_OK);
    size_t checked = 0;
    for (size_t i = 0; i < num; i++) {
        const td_rule_site *s = &sites[i];
        if (s->unresolved) {
            fprintf(stderr,
                    "%s:%d: rule argument '%s' is not a TD_RULE_* constant the scanner knows\n",
                    s->file, s->line, s->expr);
            TD_EXPECT(!s->unresolved);
            continue;
        }
        if (s->assigned)
            continue; /* a rule set on the diagnostic; its class was set by another site */
        if (!s->err_literal) {
            fprintf(stderr, "%s:%d: %s: the error class is not a TD_ERR_* constant\n", s->file,
                    s->line, td_rule_get(s->rule)->id);
            TD_EXPECT(s->err_literal);
            continue;
        }
        td_alert alert = td_err_alert(s->err);
        const td_rule_info *info = td_rule_get(s->rule);
        /* A rule that names no alert (our own limits, sender rules): internal_error. */
        bool ok =
            info->alerts == 0 ? alert == TD_ALERT_internal_error : td_rule_allows(s->rule, alert);
        if (!ok)
            fprintf(stderr, "%s:%d: %s sends %s, the rule allows %s\n", s->file, s->line, info->id,
                    td_alert_name(alert), info->alert_text);
        TD_EXPECT(ok);
        checked++;
    }
    /* The scanner found the engine's checks (over 130 sites name a rule). */
    TD_EXPECT(checked >= 130);
    free(sites);
}

/* The class names the scanner knows, and the alert of a class. */
static void test_class_names_and_alerts(void)
{
    td_err e;
    TD_EXPECT(td_rule_sites_class("TD_ERR_PROTOCOL_VERSION", &e) && e == TD_ERR_PROTOCOL_VERSION);
    TD_EXPECT(!td_rule_sites_class("TD_ERR_NO_SUCH", &e));
    TD_EXPECT_EQ(td_err_alert(TD_ERR_MISSING_EXT), TD_ALERT_missing_extension);
    TD_EXPECT_EQ(td_err_alert(TD_ERR_LIMIT), TD_ALERT_internal_error);
}

int main(void)
{
    TD_RUN(test_every_site_sends_an_alert_its_rule_allows);
    TD_RUN(test_class_names_and_alerts);
    return td_test_report("test_rule_sites");
}
