/* tools/cli/rule_sites.h -- where each catalogue rule is checked: the
 * TD_ABORT/TD_FAIL sites of the engine's sources, found by reading them
 * (`tlsdrill rules --sites`, tests/unit/test_rule_sites.c).
 *
 * A site (TD_ABORT, TD_FAIL, td_diag_set) names its rule and its error
 * class literally; the class's alert
 * (td_err_alert) is the alert that goes out, so it must be one the rule
 * allows. Where a site takes its rule from a variable, the few such
 * variables are resolved by a table in rule_sites.c (a helper's parameter:
 * the rule of each call; a function's result: the rules it returns). */
#ifndef TD_CLI_RULE_SITES_H
#define TD_CLI_RULE_SITES_H

#include <stdbool.h>
#include <stddef.h>

#include "tlsdrill/err.h"

typedef struct td_rule_site {
    char file[64];        /* relative to the source root: "engine/server.c" */
    int line;             /* of the rule argument (of the call, for a helper) */
    td_rule rule;         /* TD_RULE_NONE: see |unresolved| */
    td_err err;           /* the class; valid when |err_literal| */
    bool err_literal;     /* the class is a TD_ERR_* constant */
    bool unresolved;      /* the rule argument is an expression the scanner cannot resolve */
    bool assigned;        /* "diag.rule = TD_RULE_X": the class is set elsewhere */
    char expr[48];        /* the rule argument as written, when unresolved */
} td_rule_site;

/* Reads every .c file under |root|/engine (sorted, recursively) and returns
 * the sites that name a rule (TD_RULE_NONE sites are left out), in file and
 * line order: |*out| owned (free()), |*out_num| entries. TD_ERR_IO with the
 * path in |errbuf| when a file cannot be read. */
TD_WUR td_err td_rule_sites_scan(const char *root, td_rule_site **out, size_t *out_num, char *errbuf,
                                 size_t errbuf_len);

/* The class named by the constant |name| ("TD_ERR_DECODE"); false if none. */
bool td_rule_sites_class(const char *name, td_err *out);

#endif
