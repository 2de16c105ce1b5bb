/* fuzz/differential.h -- the differential check of fuzz/differential.c as
 * a library: one client record stream to the engine's server and to
 * OpenSSL libssl's server, what each sent first, and whether the difference
 * is a finding (not in fuzz/differential_known.def). Used by the fuzz
 * target and its replay executable; links libssl. */
#ifndef TD_FUZZ_DIFFERENTIAL_H
#define TD_FUZZ_DIFFERENTIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsdrill/conn.h"
#include "tlsdrill/err.h"

typedef struct td_diff_ctx td_diff_ctx;

/* How a server ended the input: failed (with or without an alert) or not;
 * when not, what it sent first. */
typedef enum td_diff_kind {
    TD_DIFF_NOTHING, /* no bytes, no failure (waiting for more) */
    TD_DIFF_SH,      /* a ServerHello first, no failure */
    TD_DIFF_HRR,     /* a HelloRetryRequest first, no failure */
    TD_DIFF_ALERT,   /* failed and sent an alert (read before encryption) */
    TD_DIFF_CLOSED,  /* failed without sending an alert */
    TD_DIFF_OTHER,   /* something else first, no failure */
} td_diff_kind;

typedef struct td_diff_side {
    td_diff_kind kind;
    uint8_t alert;    /* TD_DIFF_ALERT: the description */
    bool after_hello; /* TD_DIFF_ALERT/CLOSED: a ServerHello or HRR was sent first */
    const char *rule; /* ours: the catalogue rule it failed on, or "none";
                       * openssl: "failed" or "none" (static strings) */
    char text[160];   /* ours: the diag text; openssl: its error reason
                       * (ERR_reason_error_string), "" if none */
} td_diff_side;

typedef struct td_diff_result {
    td_diff_side ours, theirs;
    bool finding;      /* they differ and no known row matches */
    const char *known; /* the reason of the matching row, when they differ */
} td_diff_result;

/* Returns owned (free with td_diff_ctx_free): crypto, the embedded test
 * certificate, the engine server's config and libssl's SSL_CTX. */
td_err td_diff_ctx_new(td_diff_ctx **out) TD_WUR;
void td_diff_ctx_free(td_diff_ctx *ctx);

/* The engine server's configuration (owned by |ctx|), for tests that plant
 * a difference between the two servers; change it before td_diff_run. */
td_config *td_diff_ctx_engine_config(td_diff_ctx *ctx);

/* Runs |data| (borrowed) through both servers. Errors are the harness's
 * (TD_ERR_NOMEM, ...), never the input's. */
td_err td_diff_run(td_diff_ctx *ctx, const uint8_t *data, size_t size, td_diff_result *out) TD_WUR;

/* "server_hello", "decode_error", "closed", "nothing", ... */
const char *td_diff_side_name(const td_diff_side *side);
/* The one-line oracle verdict of a finding. */
void td_diff_oracle_line(const td_diff_result *r, char *buf, size_t cap);

#endif
