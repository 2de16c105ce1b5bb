/* engine/selfcheck/selfcheck_int.h -- internal to the RFC 8448 self-check
 * (selfcheck.c: report and row dispatch; selfcheck_replay.c: the handshake
 * replay, records, key exchange and signatures). */
#ifndef TLSDRILL_SELFCHECK_INT_H
#define TLSDRILL_SELFCHECK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "selfcheck_tsv.h"
#include "tlsdrill/crypto.h"
#include "tlsdrill/keysched.h"
#include "tlsdrill/msg.h"
#include "tlsdrill/record.h"
#include "tlsdrill/selfcheck.h"

/* The derivations a trace prints, each as a set of named values. */
typedef enum td_selfcheck_id {
    TD_SELFCHECK_EARLY,        /* salt, IKM, secret */
    TD_SELFCHECK_DERIVED_HS,   /* PRK, hash, info, expanded */
    TD_SELFCHECK_HS,           /* salt, IKM, secret */
    TD_SELFCHECK_C_HS,
    TD_SELFCHECK_S_HS,
    TD_SELFCHECK_DERIVED_MS,
    TD_SELFCHECK_MS,
    TD_SELFCHECK_C_AP,
    TD_SELFCHECK_S_AP,
    TD_SELFCHECK_EXP,
    TD_SELFCHECK_RES,
    TD_SELFCHECK_C_E,
    TD_SELFCHECK_E_EXP,
    TD_SELFCHECK_KEYS_C_E,     /* PRK, key info, key expanded, iv info, iv expanded */
    TD_SELFCHECK_KEYS_C_HS,
    TD_SELFCHECK_KEYS_S_HS,
    TD_SELFCHECK_KEYS_C_AP,
    TD_SELFCHECK_KEYS_S_AP,
    TD_SELFCHECK_FIN_C,        /* PRK, hash, info, expanded, finished */
    TD_SELFCHECK_FIN_S,
    TD_SELFCHECK_BINDER,       /* ClientHello prefix, binder hash, PRK, hash, info, expanded, finished */
    TD_SELFCHECK_RES_PSK,      /* PRK, hash, info, expanded */
    TD_SELFCHECK_NUM_IDS
} td_selfcheck_id;

#define TD_SELFCHECK_MAX_FIELDS 8

typedef struct td_selfcheck_field {
    const char *name;
    const uint8_t *data;   /* |buf|, or a view into the trace for long values */
    size_t len;
    uint8_t buf[128];
} td_selfcheck_field;

typedef struct td_selfcheck_value {
    size_t num;
    td_selfcheck_field f[TD_SELFCHECK_MAX_FIELDS];
} td_selfcheck_value;

#define TD_SELFCHECK_MAX_MSGS 32

typedef struct td_selfcheck_msg {
    td_tsv_who who;
    const uint8_t *data;   /* the full message, header included (view into the trace) */
    size_t len;
    const td_tsv_row *row; /* the "construct" row */
    uint8_t type;          /* msg_type (td_msg_type) */
    /* Parsed once by td_selfcheck_gather (tlsdrill/msg.h): */
    bool is_hrr;           /* a ServerHello that is a HelloRetryRequest (§4.1.3) */
    bool has_psk;          /* a ClientHello offering pre_shared_key */
    bool has_early_data;   /* a ClientHello offering early_data */
} td_selfcheck_msg;

/* Record protection epochs of one sender. */
typedef enum td_selfcheck_epoch { TD_SELFCHECK_EPOCH_PLAIN, TD_SELFCHECK_EPOCH_EARLY, TD_SELFCHECK_EPOCH_HS, TD_SELFCHECK_EPOCH_APP, TD_SELFCHECK_NUM_EPOCHS } td_selfcheck_epoch;

typedef struct td_selfcheck_side {
    td_selfcheck_epoch epoch;
    bool fin_seen_early;       /* client: server Finished seen while sending early data */
    uint8_t secret[TD_SELFCHECK_NUM_EPOCHS][TD_MAX_HASH_LEN];
    bool have_secret[TD_SELFCHECK_NUM_EPOCHS];
    td_rec_cipher open[TD_SELFCHECK_NUM_EPOCHS];   /* the receiver's view */
    td_rec_cipher seal[TD_SELFCHECK_NUM_EPOCHS];   /* the sender's view */
    bool ready[TD_SELFCHECK_NUM_EPOCHS];
    td_hs_reasm reasm;
    size_t next_msg;           /* index into the section's messages */
    size_t num_records;
} td_selfcheck_side;

typedef struct td_selfcheck_run {
    td_crypto *crypto;
    td_selfcheck_report *report;
    bool oom;
    /* §3's ticket, resumed by §4. */
    uint8_t resumption_psk[TD_MAX_HASH_LEN];
    size_t resumption_psk_len;
} td_selfcheck_run;

typedef struct td_selfcheck_ctx {
    td_selfcheck_run *run;
    int section;
    const td_tsv_row **rows;   /* this trace's rows, in file order */
    size_t num_rows;
    td_selfcheck_msg msgs[TD_SELFCHECK_MAX_MSGS];
    size_t num_msgs;
    const td_suite *suite;
    td_hash_alg alg;
    size_t hash_len;
    bool psk_mode, early_data;
    uint8_t ecdhe[TD_MAX_ECDH_LEN];
    size_t ecdhe_len;
    bool have_ecdhe;
    bool ecdhe_from_trace;     /* key exchange unavailable: the trace's IKM */
    uint8_t psk[TD_MAX_HASH_LEN];
    size_t psk_len;
    td_selfcheck_value values[TD_SELFCHECK_NUM_IDS];
    td_selfcheck_side sides[2];          /* indexed by td_tsv_who */
    td_msg parsed;                /* td_selfcheck_parse's result (td_msg is ~6.5 KB: not on the stack) */
} td_selfcheck_ctx;

/* selfcheck.c */
void td_selfcheck_check(td_selfcheck_ctx *s, int step, bool ok, const char *name, const char *fmt, ...)
    TD_PRINTF(5, 6);
void td_selfcheck_note(td_selfcheck_run *run, const char *fmt, ...) TD_PRINTF(2, 3);
void td_selfcheck_compare(td_selfcheck_ctx *s, const td_tsv_row *row, const char *what, const uint8_t *got,
                size_t got_len);
void td_selfcheck_put(td_selfcheck_ctx *s, td_selfcheck_id id, const char *field, const uint8_t *data, size_t len);

/* selfcheck_replay.c */
/* Parses |m| with the message codec into s->parsed (overwritten by the next
 * call), Finished with the section's hash length; NULL if it does not parse,
 * with |diag| (may be NULL) saying why. */
const td_msg *td_selfcheck_parse(td_selfcheck_ctx *s, const td_selfcheck_msg *m, td_diag *diag);
bool td_selfcheck_gather(td_selfcheck_ctx *s);
void td_selfcheck_schedule(td_selfcheck_ctx *s);
void td_selfcheck_check_key_pair_row(td_selfcheck_ctx *s, const td_tsv_row *row);
void td_selfcheck_replay_record(td_selfcheck_ctx *s, const td_tsv_row *payload, const td_tsv_row *record);
void td_selfcheck_finish_section(td_selfcheck_ctx *s);

/* selfcheck_crypto.c: key exchange and signatures. */
td_err td_selfcheck_kex_public(td_selfcheck_ctx *s, uint16_t group, const td_tsv_row *priv, uint8_t *out,
                     size_t *out_len);
td_err td_selfcheck_kex_shared(td_selfcheck_ctx *s, uint16_t group, const td_tsv_row *client_priv,
                     const td_tsv_row *server_pub, const td_tsv_row *server_priv,
                     const td_tsv_row *client_pub);
void td_selfcheck_verify_cv(td_selfcheck_ctx *s, const td_selfcheck_msg *cert, const td_selfcheck_msg *cv, const uint8_t *th);

#endif
