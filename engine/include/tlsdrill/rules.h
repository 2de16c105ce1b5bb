/* tlsdrill/rules.h -- the rule catalogue (engine/include/tlsdrill/rules.def) as code.
 *
 * Rule IDs are the catalogue's IDs (rules.def); every abort in the
 * engine names one. Alert values are RFC 8446 §6 AlertDescription codes. */
#ifndef TLSDRILL_RULES_H
#define TLSDRILL_RULES_H

#include <stdbool.h>
#include <stdint.h>

/* RFC 8446 §6: enum { ... } AlertDescription. Name, wire value. */
#define TD_ALERT_LIST(X)                      \
    X(close_notify, 0)                        \
    X(unexpected_message, 10)                 \
    X(bad_record_mac, 20)                     \
    X(record_overflow, 22)                    \
    X(handshake_failure, 40)                  \
    X(bad_certificate, 42)                    \
    X(unsupported_certificate, 43)            \
    X(certificate_revoked, 44)                \
    X(certificate_expired, 45)                \
    X(certificate_unknown, 46)                \
    X(illegal_parameter, 47)                  \
    X(unknown_ca, 48)                         \
    X(access_denied, 49)                      \
    X(decode_error, 50)                       \
    X(decrypt_error, 51)                      \
    X(protocol_version, 70)                   \
    X(insufficient_security, 71)              \
    X(internal_error, 80)                     \
    X(inappropriate_fallback, 86)             \
    X(user_canceled, 90)                      \
    X(missing_extension, 109)                 \
    X(unsupported_extension, 110)             \
    X(unrecognized_name, 112)                 \
    X(bad_certificate_status_response, 113)   \
    X(unknown_psk_identity, 115)              \
    X(certificate_required, 116)              \
    X(no_application_protocol, 120)

typedef enum td_alert {
#define TD_ALERT_ENUM_(name, value) TD_ALERT_##name = value,
    TD_ALERT_LIST(TD_ALERT_ENUM_)
#undef TD_ALERT_ENUM_
} td_alert;

/* Dense bit index per alert, for allowed-alert sets. */
enum {
#define TD_ALERT_IDX_(name, value) TD_ALERT_IDX_##name,
    TD_ALERT_LIST(TD_ALERT_IDX_)
#undef TD_ALERT_IDX_
    TD_NUM_ALERTS
};
#define TD_AB(name) ((uint32_t)1 << TD_ALERT_IDX_##name)

typedef enum td_checker { TD_CHECKER_CLIENT, TD_CHECKER_SERVER, TD_CHECKER_BOTH, TD_CHECKER_SELF } td_checker;
typedef enum td_level { TD_LEVEL_MUST, TD_LEVEL_SHOULD, TD_LEVEL_MAY, TD_LEVEL_SENDER } td_level;
/* ABORT and TOLERATE rows come from the catalogue (rules.def); LOCAL rows
 * are ours (rules_local.def), e.g. LOCAL-INTERNAL for our own failures. */
typedef enum td_rule_kind { TD_RULE_KIND_ABORT, TD_RULE_KIND_TOLERATE, TD_RULE_KIND_LOCAL } td_rule_kind;

typedef enum td_rule {
    TD_RULE_NONE = 0,
#define TD_RULE(sfx, id, sec, chk, lvl, kind, alerts, alert_text, cond) TD_RULE_##sfx,
#include "tlsdrill/rules.def"
#include "tlsdrill/rules_local.def"
#undef TD_RULE
    TD_NUM_RULES
} td_rule;

typedef struct td_rule_info {
    const char *id;          /* "GEN-DECODE" */
    const char *section;     /* "6, 6.2" */
    td_checker checker;
    td_level level;
    td_rule_kind kind;
    uint32_t alerts;         /* TD_AB() set; 0 when the rule names none */
    const char *alert_text;  /* the catalogue's Alert column, verbatim */
    const char *condition;
} td_rule_info;

/* The catalogue's name of |level|: "MUST", "SHOULD", "MAY", "sender";
 * "unknown" out of range. */
const char *td_level_name(td_level level);
/* Catalogue row for |rule|; NULL for TD_RULE_NONE or out of range. */
const td_rule_info *td_rule_get(td_rule rule);
/* Looks up a rule by its catalogue ID ("REC-BAD-MAC"); TD_RULE_NONE if unknown. */
td_rule td_rule_by_id(const char *id);
/* The alert to send for |rule|: the first allowed alert, else |fallback|. */
td_alert td_rule_alert(td_rule rule, td_alert fallback);
bool td_rule_allows(td_rule rule, td_alert alert);

/* An alert that another RFC sentence grants for a rule on top of the
 * rule's own (engine/catalogue/allowances.md, generated into
 * rules_allow.def), e.g. protocol_version for CH-FALLBACK-SCSV (RFC 7507 §3). */
typedef struct td_rule_allowance {
    td_rule rule;
    td_alert alert;
    const char *when;   /* when it applies */
    const char *source; /* the citation: RFC, section, the sentence */
} td_rule_allowance;

/* The allowances of |rule| one by one: the first with |prev| NULL, then
 * the one after |prev|; NULL when there is no (further) one. */
const td_rule_allowance *td_rule_allowance_next(td_rule rule, const td_rule_allowance *prev);

/* An allowance a case without a rule names (`allow ID`): |alert| passes
 * it, for the reason |when| and |source| give (allowances.md, "Case
 * allowances"), e.g. RENEG-INFO-NONEMPTY (RFC 5746 §3.6). */
typedef struct td_case_allowance {
    const char *id;
    td_alert alert;
    const char *when;
    const char *source;
} td_case_allowance;

/* The case allowance named |id|; NULL if there is none. */
const td_case_allowance *td_case_allowance_by_id(const char *id);

/* When our side aborting with |rule| proves that the peer, in role
 * |sender| (TD_CHECKER_CLIENT or TD_CHECKER_SERVER), sent what the RFC
 * forbids it to send (allowances.md, "Our abort as evidence"): the RFC
 * sentence it broke; NULL otherwise. */
const char *td_rule_sender_must(td_rule rule, td_checker sender);

/* The RFC 8446 sentence(s) |rule| stands on, verbatim (whitespace-normalised)
 * from the RFC text the repository ships (engine/catalogue/rfc8446.txt), for
 * verdict reasons and reports to quote, e.g. for REC-BAD-MAC (§5.2): "If the
 * decryption fails, the receiver MUST terminate the connection with a
 * "bad_record_mac" alert." Passages of one section are joined with " [...] ".
 * Source: engine/catalogue/quotes.md, generated into rules_quote.def and
 * checked against the RFC text by tools/gen_quotes.py. Returns static storage;
 * NULL for TD_RULE_NONE or an unknown rule (every catalogue rule and every rule
 * of rules_local.def has one). When |out_section| is not NULL it receives the
 * RFC 8446 section the sentence is in ("4.2.11", "D.1"), "" with NULL. */
const char *td_rule_quote(td_rule rule, const char **out_section);
/* The same for an allowance (from td_rule_allowance_next): the RFC 8446
 * sentence that grants its alert; NULL if there is none. */
const char *td_rule_allowance_quote(const td_rule_allowance *allowance, const char **out_section);

/* The heading of RFC 8446 section |section| ("4.1.2" -> "Client Hello",
 * "D" -> "Backward Compatibility"), static storage; NULL for a section the
 * RFC does not have. */
const char *td_rfc8446_title(const char *section);

/* "decode_error" for 50; NULL for a value RFC 8446 does not define. */
const char *td_alert_name(unsigned value);
/* Wire value for a name; -1 if unknown. */
int td_alert_by_name(const char *name);

#endif
