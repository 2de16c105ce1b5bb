/* fuzz/oracle.h -- the RFC alert oracle of the fuzz harnesses (oracle.c):
 * judges one run from the fuzzed side's status, the rules the program's
 * ops are known to break, and the codec's round trip on what the fuzzed
 * side received. Fills td_fz_result.oracle/.rule/.alert/.line. */
#ifndef TD_FUZZ_ORACLE_H
#define TD_FUZZ_ORACLE_H

#include "fuzz.h"
#include "tlsdrill/msg.h"

/* Sets a finding on |r| (the first one wins). */
void td_fz_finding(td_fz_result *r, const td_fz_target *t, td_fz_oracle kind, td_rule rule,
                   int alert, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* The alert checks: the alert sent is one its rule allows; a pure program
 * that broke rules is not accepted and is answered with an alert one of
 * them allows. */
void td_fz_oracle_alerts(const td_fz_target *t, td_fz_result *r);

/* What td_fz_oracle_roundtrip parses into and builds in, kept from one
 * input to the next by the caller (zero-initialised; td_fz_scratch_cleanup
 * frees it): under ASan every allocation per input costs. */
typedef struct td_fz_scratch {
    td_msg *msg;
    uint8_t *buf;
    size_t cap;
} td_fz_scratch;

void td_fz_scratch_cleanup(td_fz_scratch *s);

/* parse -> build is the identity on every handshake message |conn|
 * received that parses (with cfg.log_messages). */
void td_fz_oracle_roundtrip(const td_fz_target *t, td_conn *conn, td_fz_scratch *scratch,
                            td_fz_result *r);

#endif
