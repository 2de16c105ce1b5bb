/* engine/selfcheck_int.h -- internal to the RFC 8448 self-check
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
#include "tlsdrill/record.h"
#include "tlsdrill/selfcheck.h"

/* The derivations a trace prints, each as a set of named values. */
typedef enum td_sc_id {
    TD_SC_EARLY,        /* salt, IKM, secret */
    TD_SC_DERIVED_HS,   /* PRK, hash, info, expanded */
    TD_SC_HS,           /* salt, IKM, secret */
    TD_SC_C_HS,
    TD_SC_S_HS,
    TD_SC_DERIVED_MS,
    TD_SC_MS,
    TD_SC_C_AP,
    TD_SC_S_AP,
    TD_SC_EXP,
    TD_SC_RES,
    TD_SC_C_E,
    TD_SC_E_EXP,
    TD_SC_KEYS_C_E,     /* PRK, key info, key expanded, iv info, iv expanded */
    TD_SC_KEYS_C_HS,
    TD_SC_KEYS_S_HS,
    TD_SC_KEYS_C_AP,
    TD_SC_KEYS_S_AP,
    TD_SC_FIN_C,        /* PRK, hash, info, expanded, finished */
    TD_SC_FIN_S,
    TD_SC_BINDER,       /* ClientHello prefix, binder hash, PRK, hash, info, expanded, finished */
    TD_SC_RES_PSK,      /* PRK, hash, info, expanded */
    TD_SC_NUM_IDS
} td_sc_id;

#define TD_SC_MAX_FIELDS 8

typedef struct td_sc_field {
    const char *name;
    const uint8_t *data;   /* |buf|, or a view into the trace for long values */
    size_t len;
    uint8_t buf[128];
} td_sc_field;

typedef struct td_sc_value {
    size_t num;
    td_sc_field f[TD_SC_MAX_FIELDS];
} td_sc_value;

#define TD_SC_MAX_MSGS 32

typedef struct td_sc_msg {
    td_tsv_who who;
    const uint8_t *data;   /* the full message, header included (view into the trace) */
    size_t len;
    const td_tsv_row *row; /* the "construct" row */
} td_sc_msg;

/* Record protection epochs of one sender. */
typedef enum td_sc_epoch { TD_SC_EPOCH_PLAIN, TD_SC_EPOCH_EARLY, TD_SC_EPOCH_HS, TD_SC_EPOCH_APP, TD_SC_NUM_EPOCHS } td_sc_epoch;

typedef struct td_sc_side {
    td_sc_epoch epoch;
    bool fin_seen_early;       /* client: server Finished seen while sending early data */
    uint8_t secret[TD_SC_NUM_EPOCHS][TD_MAX_HASH_LEN];
    bool have_secret[TD_SC_NUM_EPOCHS];
    td_rec_cipher open[TD_SC_NUM_EPOCHS];   /* the receiver's view */
    td_rec_cipher seal[TD_SC_NUM_EPOCHS];   /* the sender's view */
    bool ready[TD_SC_NUM_EPOCHS];
    td_hs_reasm reasm;
    size_t next_msg;           /* index into the section's messages */
    size_t num_records;
} td_sc_side;

typedef struct td_sc_run {
    td_crypto *crypto;
    td_selfcheck_report *report;
    bool oom;
    /* §3's ticket, resumed by §4. */
    uint8_t resumption_psk[TD_MAX_HASH_LEN];
    size_t resumption_psk_len;
} td_sc_run;

typedef struct td_sc_section {
    td_sc_run *run;
    int section;
    const td_tsv_row **rows;   /* this trace's rows, in file order */
    size_t num_rows;
    td_sc_msg msgs[TD_SC_MAX_MSGS];
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
    td_sc_value values[TD_SC_NUM_IDS];
    td_sc_side sides[2];          /* indexed by td_tsv_who */
} td_sc_section;

/* selfcheck.c */
void td_sc_check(td_sc_section *s, int step, bool ok, const char *name, const char *fmt, ...)
    TD_PRINTF(5, 6);
void td_sc_note(td_sc_run *run, const char *fmt, ...) TD_PRINTF(2, 3);
void td_sc_compare(td_sc_section *s, const td_tsv_row *row, const char *what, const uint8_t *got,
                size_t got_len);
void td_sc_put(td_sc_section *s, td_sc_id id, const char *field, const uint8_t *data, size_t len);

/* selfcheck_replay.c */
bool td_sc_ch_has_ext(const uint8_t *ch, size_t len, uint16_t ext_type);
bool td_sc_is_hrr(const uint8_t *sh, size_t len);
bool td_sc_gather(td_sc_section *s);
void td_sc_schedule(td_sc_section *s);
void td_sc_check_key_pair_row(td_sc_section *s, const td_tsv_row *row);
void td_sc_replay_record(td_sc_section *s, const td_tsv_row *payload, const td_tsv_row *record);
void td_sc_finish_section(td_sc_section *s);

/* selfcheck_crypto.c: key exchange and signatures. */
td_err td_sc_kex_public(td_sc_section *s, uint16_t group, const td_tsv_row *priv, uint8_t *out,
                     size_t *out_len);
td_err td_sc_kex_shared(td_sc_section *s, uint16_t group, const td_tsv_row *client_priv,
                     const td_tsv_row *server_pub, const td_tsv_row *server_priv,
                     const td_tsv_row *client_pub);
void td_sc_verify_cv(td_sc_section *s, const td_sc_msg *cert, const td_sc_msg *cv, const uint8_t *th);

#endif
