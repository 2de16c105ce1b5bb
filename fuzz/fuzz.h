/* fuzz/fuzz.h -- the fuzz harness core as a library: one context per
 * process, a registry of targets (name -> run function), the mutation
 * program of the structured targets (program.c), the RFC alert oracle
 * (oracle.c) and the seed corpora (corpus.c). Used by the
 * LLVMFuzzerTestOneInput wrapper (fuzz/target_main.c) and by
 * the CLI (`tlsdrill replay`, `tlsdrill corpus`).
 *
 * Ownership: the context owns its crypto, certificates and configs; a run
 * borrows the context and owns nothing after it returns. Runs are
 * deterministic: every connection is made fresh from fixed configs (seeded
 * DRBG, virtual clock from 0, fixed ticket key), so the same input gives
 * the same bytes on the wire. */
#ifndef TD_FUZZ_H
#define TD_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsdrill/conn.h"
#include "tlsdrill/pair.h"
#include "tlsdrill/rules.h"

/* The 4-byte magic of a mutation program (fuzz/README.md). */
#define TD_FZ_MAGIC "TDP1"

typedef enum td_fz_kind {
    TD_FZ_CLIENT_HELLO,        /* engine server; raw records or a program on its client */
    TD_FZ_SERVER_HELLO,        /* engine client; program on the server's flight */
    TD_FZ_SECOND_CLIENT_HELLO, /* engine server after its HRR; program on the client */
    TD_FZ_PSK_BINDERS,         /* engine server, resumption ClientHello; program on the client */
    TD_FZ_RECORD,              /* record layer, both sides, before and after keys */
    TD_FZ_SCENARIO_PARSER,     /* lexer + parser + lint of *.scn */
    TD_FZ_SUT_SERVER, /* a library's server in process (fuzz/sut.c); program on our client */
    TD_FZ_SUT_CLIENT, /* a library's client in process; program on our server */
    TD_FZ_NUM_KINDS
} td_fz_kind;

typedef struct td_fz_target {
    const char *name; /* "client_hello", "client_hello_fm", ... */
    td_fz_kind kind;
    bool fuzzer_mode; /* the fuzzed side runs with td_config.fuzzer_mode */
} td_fz_target;

/* The registry: every target of fuzz/targets.txt but the own-main ones
 * (`differential`), generated from it (fuzz/targets.cmake). */
const td_fz_target *td_fz_targets(size_t *out_num);
const td_fz_target *td_fz_target_find(const char *name);

/* Oracle kinds (the contract's names). */
typedef enum td_fz_oracle {
    TD_FZ_OK,
    TD_FZ_WRONG_ALERT,
    TD_FZ_ACCEPTED_BROKEN,
    TD_FZ_WRONG_ALERT_FOR_MUTATION,
    TD_FZ_NONDETERMINISTIC,
    TD_FZ_ROUNDTRIP,
    TD_FZ_DIAGNOSTIC, /* scenario_parser: a diagnostic without a valid position, or too many */
} td_fz_oracle;
const char *td_fz_oracle_name(td_fz_oracle o);

/* Bytes one side put on the wire (one record, or one chunk fed raw). */
typedef struct td_fz_wire {
    td_dir dir; /* C2S: client -> server */
    const uint8_t *bytes;
    size_t len;
} td_fz_wire;

#define TD_FZ_MAX_BROKEN 8

typedef struct td_fz_result {
    td_fz_oracle oracle;
    td_rule rule;   /* the fuzzed side's rule (or the broken rule for accepted-broken) */
    int alert;      /* the alert the fuzzed side sent; -1 none */
    char line[400]; /* the `==tlsdrill-oracle== ...` line without the prefix; "" if ok */
    /* What the run was. */
    bool program; /* the input was a mutation program */
    bool pure;    /* every op of the program is one whose effect is known */
    size_t num_ops, num_applied;
    td_rule broken[TD_FZ_MAX_BROKEN]; /* rules the applied ops are known to break */
    size_t num_broken;
    td_role fuzzed_role;
    td_status status; /* of the fuzzed side (zero for scenario_parser) */
    size_t num_diags; /* scenario_parser: diagnostics */
    uint64_t digest;  /* over the wire bytes and the ending (determinism) */
} td_fz_result;

/* Sees one run before its connections are freed (the CLI prints from it). */
typedef struct td_fz_view {
    const td_fz_wire *wire;
    size_t num_wire;
    td_conn *fuzzed;      /* NULL for scenario_parser */
    td_conn *counterpart; /* NULL when the input was fed raw */
} td_fz_view;
typedef void (*td_fz_observe)(void *arg, const td_fz_view *view);

typedef struct td_fz_ctx td_fz_ctx;

/* Builds the context once per process (crypto, embedded test certificates,
 * configs, a ticket the server issued). Returns owned. */
td_err td_fz_ctx_new(td_fz_ctx **out) TD_WUR;
void td_fz_ctx_free(td_fz_ctx *ctx);
/* Test-only (`tlsdrill replay --plant-wrong-alert RULE`): the side under
 * test answers |rule| with an alert that rule does not allow
 * (td_config.plant_wrong_alert), so the oracle must report it.
 * TD_RULE_NONE (the default) turns it off. */
void td_fz_ctx_plant_wrong_alert(td_fz_ctx *ctx, td_rule rule);
/* Test-only (`tlsdrill replay --plant-skip RULE`): the side under test
 * skips its check of |rule| (td_config.plant_skip, only at the sites that
 * honour it), so an input breaking |rule| for sure is accepted and the
 * oracle must report accepted-broken. TD_RULE_NONE turns it off. */
void td_fz_ctx_plant_skip(td_fz_ctx *ctx, td_rule rule);
/* The crypto memo of the context's td_crypto (crypto.h; on by default in a
 * context): transparent, so only the speed changes. The fuzz binaries turn
 * it off when the environment has TD_FUZZ_MEMO=0. */
td_err td_fz_ctx_set_memo(td_fz_ctx *ctx, bool on) TD_WUR;

typedef struct td_fz_opts {
    bool log_messages; /* keep handshake messages (td_conn_messages) for the observer */
    int determinism;   /* 0: sampled by input hash; 1: always; -1: never */
    td_fz_observe observe;
    void *observe_arg;
    td_keylog_fn keylog; /* NSS key log of both sides (NULL: none) */
    void *keylog_arg;
} td_fz_opts;

/* Runs |data| through |t| and judges it. TD_OK with the verdict in |out|
 * (an oracle finding is a verdict, not an error); API errors otherwise. */
td_err td_fz_run(td_fz_ctx *ctx, const td_fz_target *t, const uint8_t *data, size_t size,
                 const td_fz_opts *opts, td_fz_result *out) TD_WUR;

/* The entry of LLVMFuzzerTestOneInput: runs with a process context and on
 * a finding prints the one `==tlsdrill-oracle== ` line and aborts. */
int td_fz_one(const char *target, const uint8_t *data, size_t size);

/* Seed inputs of |t| (corpus.c), in a fixed order: |emit| gets a file name
 * and the bytes; a non-OK return stops. */
typedef td_err (*td_fz_emit)(void *arg, const char *name, const uint8_t *data, size_t len);
td_err td_fz_corpus(td_fz_ctx *ctx, const td_fz_target *t, td_fz_emit emit, void *arg) TD_WUR;

/* Shared with corpus.c: the crypto and base configs of the context. */
td_crypto *td_fz_ctx_crypto(td_fz_ctx *ctx);
const td_config *td_fz_ctx_client(td_fz_ctx *ctx);
const td_config *td_fz_ctx_server(td_fz_ctx *ctx);
const td_session *td_fz_ctx_session(td_fz_ctx *ctx, bool fuzzer_mode);

#endif
