/* tlsdrill/pair.h -- a client and a server connected in memory.
 *
 * td_pair moves bytes between two td_conn in rounds (client -> server, then
 * server -> client), through an optional interception point that sees (and
 * may rewrite or drop) every flight, and records every record that crossed
 * as the transcript. It stops when both sides are connected and quiet, when
 * either side failed or closed, when no bytes move, or after a bounded
 * number of rounds. Deterministic: same configs => same transcript. */
#ifndef TLSDRILL_PAIR_H
#define TLSDRILL_PAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsdrill/conn.h"

typedef enum td_dir { TD_DIR_C2S, TD_DIR_S2C } td_dir;

/* Sees the bytes one side produced in one round before the other side gets
 * them; writes what the other side really receives to |out|. */
typedef td_err (*td_pair_intercept)(void *arg, td_dir dir, const uint8_t *bytes, size_t len,
                                    td_cbb *out);

/* One record as delivered (after interception). Views into the pair. */
typedef struct td_pair_record {
    td_dir dir;
    unsigned round;
    const uint8_t *bytes;      /* header included; a trailing partial record is kept whole */
    size_t len;
} td_pair_record;

typedef struct td_pair td_pair;

/* Returns owned (free with td_pair_free). Both configs are borrowed. */
td_err td_pair_new(const td_config *client_cfg, const td_config *server_cfg, td_pair **out) TD_WUR;
void td_pair_free(td_pair *pair);
void td_pair_set_intercept(td_pair *pair, td_pair_intercept fn, void *arg);

/* Runs until the handshake ends one way or the other (see above), at most
 * |max_rounds| rounds (0 = 32). Protocol failures are not errors of this
 * call: read them from td_conn_status. */
td_err td_pair_run(td_pair *pair, unsigned max_rounds) TD_WUR;
/* Moves the bytes each side has queued (after td_conn_write, key updates,
 * close) for one round. */
td_err td_pair_step(td_pair *pair, bool *out_moved) TD_WUR;

td_conn *td_pair_client(td_pair *pair);
td_conn *td_pair_server(td_pair *pair);
/* Every record delivered so far, in order. */
const td_pair_record *td_pair_records(const td_pair *pair, size_t *out_num);
/* All bytes delivered in one direction, concatenated (for byte comparisons). */
const uint8_t *td_pair_stream(const td_pair *pair, td_dir dir, size_t *out_len);
unsigned td_pair_rounds(const td_pair *pair);

#endif
