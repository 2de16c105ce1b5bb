/* tests/unit/test_rules.c -- the rule catalogue (engine/include/tlsdrill/rules.def, engine/rules.c). */
#include "td_test.h"
#include "tlsdrill/rules.h"

static void test_counts(void)
{
    int abort_rules = 0, tolerance = 0, local = 0;
    for (int i = 1; i < TD_NUM_RULES; i++) {
        const td_rule_info *r = td_rule_get((td_rule)i);
        TD_REQUIRE(r != NULL);
        if (r->kind == TD_RULE_KIND_ABORT)
            abort_rules++;
        else if (r->kind == TD_RULE_KIND_TOLERATE)
            tolerance++;
        else
            local++;
        TD_EXPECT(r->id[0] != '\0' && r->section[0] != '\0' && r->condition[0] != '\0');
        TD_EXPECT_EQ(td_rule_by_id(r->id), i); /* IDs are unique */
    }
    /* rules.def: the catalogue has 135 abort rows and 23 tolerance rows. */
    TD_EXPECT_EQ(abort_rules, 135);
    TD_EXPECT_EQ(tolerance, 23);
    /* rules_local.def: our own rows. */
    TD_EXPECT_EQ(local, 1);
    TD_EXPECT(td_rule_allows(TD_RULE_LOCAL_INTERNAL, TD_ALERT_internal_error));
    TD_EXPECT(td_rule_get(TD_RULE_NONE) == NULL);
}

static void test_alerts(void)
{
    TD_EXPECT_EQ(td_rule_alert(TD_RULE_GEN_DECODE, TD_ALERT_internal_error), TD_ALERT_decode_error);
    TD_EXPECT(td_rule_allows(TD_RULE_EXT_WRONG_MESSAGE, TD_ALERT_illegal_parameter));
    TD_EXPECT(td_rule_allows(TD_RULE_EXT_WRONG_MESSAGE, TD_ALERT_unsupported_extension));
    TD_EXPECT(!td_rule_allows(TD_RULE_EXT_WRONG_MESSAGE, TD_ALERT_decode_error));
    TD_EXPECT(td_rule_allows(TD_RULE_REC_BAD_MAC, TD_ALERT_bad_record_mac));
    /* "(none named; X)" rows carry the §6.2 alert X. */
    TD_EXPECT(td_rule_allows(TD_RULE_REC_HS_INTERLEAVED, TD_ALERT_unexpected_message));
    TD_EXPECT_EQ(td_alert_by_name("no_application_protocol"), 120);
    TD_EXPECT(strcmp(td_alert_name(50), "decode_error") == 0);
    TD_EXPECT(td_alert_name(51 + 1) == NULL);
    TD_EXPECT_EQ(td_rule_by_id("NO-SUCH-RULE"), TD_RULE_NONE);
}

int main(void)
{
    TD_RUN(test_counts);
    TD_RUN(test_alerts);
    return td_test_report("test_rules");
}
