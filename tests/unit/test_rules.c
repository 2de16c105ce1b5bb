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
    /* rules.def: the catalogue has 138 abort rows and 24 tolerance rows. */
    TD_EXPECT_EQ(abort_rules, 138);
    TD_EXPECT_EQ(tolerance, 24);
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

/* Every rule quotes the RFC 8446 sentence it stands on (quotes.md, checked
 * verbatim against the shipped RFC text by tools/gen_quotes.py), and so does
 * every allowance. */
static void test_quotes(void)
{
    for (int i = 1; i < TD_NUM_RULES; i++) {
        const char *sec = NULL;
        const char *q = td_rule_quote((td_rule)i, &sec);
        TD_EXPECT(q != NULL && q[0] != '\0');
        TD_EXPECT(sec != NULL && sec[0] != '\0');
        for (const td_rule_allowance *a = td_rule_allowance_next((td_rule)i, NULL); a != NULL;
             a = td_rule_allowance_next((td_rule)i, a)) {
            const char *asec = NULL;
            TD_EXPECT(td_rule_allowance_quote(a, &asec) != NULL);
            TD_EXPECT(asec != NULL && asec[0] != '\0');
        }
    }
    const char *sec = NULL;
    const char *q = td_rule_quote(TD_RULE_REC_BAD_MAC, &sec);
    TD_EXPECT(
        q != NULL &&
        strstr(q, "the receiver MUST terminate the connection with a \"bad_record_mac\" alert") !=
            NULL);
    TD_EXPECT(sec != NULL && strcmp(sec, "5.2") == 0);
    TD_EXPECT(td_rule_quote(TD_RULE_NONE, &sec) == NULL && strcmp(sec, "") == 0);
    TD_EXPECT(td_rule_quote(TD_NUM_RULES, NULL) == NULL);
    TD_EXPECT(td_rule_allowance_quote(NULL, &sec) == NULL && strcmp(sec, "") == 0);
    const td_rule_allowance *a = td_rule_allowance_next(TD_RULE_CH_FALLBACK_SCSV, NULL);
    TD_EXPECT(a != NULL && a->alert == TD_ALERT_protocol_version);
    q = td_rule_allowance_quote(a, &sec);
    TD_EXPECT(q != NULL && strstr(q, "\"protocol_version\" alert") != NULL &&
              strcmp(sec, "D.2") == 0);
}

int main(void)
{
    TD_RUN(test_counts);
    TD_RUN(test_alerts);
    TD_RUN(test_quotes);
    return td_test_report("test_rules");
}
