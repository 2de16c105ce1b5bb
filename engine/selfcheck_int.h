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
typedef enum sc_id {
    SC_EARLY,        /* salt, IKM, secret */
    SC_DERIVED_HS,   /* PRK, hash, info, expanded */
    SC_HS,           /* salt, IKM, secret */
    SC_C_HS,
    SC_S_HS,
    SC_DERIVED_MS,
    SC_MS,
    SC_C_AP,
    SC_S_AP,
    SC_EXP,
    SC_RES,
    SC_C_E,
    SC_E_EXP,
    SC_KEYS_C_E,     /* PRK, key info, key expanded, iv info, iv expanded */
    SC_KEYS_C_HS,
    SC_KEYS_S_HS,
    SC_KEYS_C_AP,
    SC_KEYS_S_AP,
    SC_FIN_C,        /* PRK, hash, info, expanded, finished */
    SC_FIN_S,
    SC_BINDER,       /* ClientHello prefix, binder hash, PRK, hash, info, expanded, finished */
    SC_RES_PSK,      /* PRK, hash, info, expanded */
    SC_NUM_IDS
} sc_id;

#define SC_MAX_FIELDS 8

typedef struct sc_field {
    const char *name;
    const uint8_t *data;   /* |buf|, or a view into the trace for long values */
    size_t len;
    uint8_t buf[128];
} sc_field;

typedef struct sc_value {
    size_t num;
    sc_field f[SC_MAX_FIELDS];
} sc_value;

#define SC_MAX_MSGS 32

typedef struct sc_msg {
    td_tsv_who who;
    const uint8_t *data;   /* the full message, header included (view into the trace) */
    size_t len;
    const td_tsv_row *row; /* the "construct" row */
} sc_msg;

/* Record protection epochs of one sender. */
typedef enum sc_epoch { SC_EPOCH_PLAIN, SC_EPOCH_EARLY, SC_EPOCH_HS, SC_EPOCH_APP, SC_NUM_EPOCHS } sc_epoch;

typedef struct sc_side {
    sc_epoch epoch;
    bool fin_seen_early;       /* client: server Finished seen while sending early data */
    uint8_t secret[SC_NUM_EPOCHS][TD_MAX_HASH_LEN];
    bool have_secret[SC_NUM_EPOCHS];
    td_rec_cipher open[SC_NUM_EPOCHS];   /* the receiver's view */
    td_rec_cipher seal[SC_NUM_EPOCHS];   /* the sender's view */
    bool ready[SC_NUM_EPOCHS];
    td_hs_reasm reasm;
    size_t next_msg;           /* index into the section's messages */
    size_t num_records;
} sc_side;

typedef struct sc_run {
    td_crypto *crypto;
    td_selfcheck_report *report;
    bool oom;
    /* §3's ticket, resumed by §4. */
    uint8_t resumption_psk[TD_MAX_HASH_LEN];
    size_t resumption_psk_len;
} sc_run;

typedef struct sc_section {
    sc_run *run;
    int section;
    const td_tsv_row **rows;   /* this trace's rows, in file order */
    size_t num_rows;
    sc_msg msgs[SC_MAX_MSGS];
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
    sc_value values[SC_NUM_IDS];
    sc_side sides[2];          /* indexed by td_tsv_who */
} sc_section;

/* selfcheck.c */
void sc_check(sc_section *s, int step, bool ok, const char *name, const char *fmt, ...)
    TD_PRINTF(5, 6);
void sc_note(sc_run *run, const char *fmt, ...) TD_PRINTF(2, 3);
void sc_compare(sc_section *s, const td_tsv_row *row, const char *what, const uint8_t *got,
                size_t got_len);
void sc_put(sc_section *s, sc_id id, const char *field, const uint8_t *data, size_t len);

/* selfcheck_replay.c */
bool sc_ch_has_ext(const uint8_t *ch, size_t len, uint16_t ext_type);
bool sc_is_hrr(const uint8_t *sh, size_t len);
bool sc_gather(sc_section *s);
void sc_schedule(sc_section *s);
void sc_check_key_pair_row(sc_section *s, const td_tsv_row *row);
void sc_replay_record(sc_section *s, const td_tsv_row *payload, const td_tsv_row *record);
void sc_finish_section(sc_section *s);

/* selfcheck_crypto.c: key exchange and signatures. */
td_err sc_kex_public(sc_section *s, uint16_t group, const td_tsv_row *priv, uint8_t *out,
                     size_t *out_len);
td_err sc_kex_shared(sc_section *s, uint16_t group, const td_tsv_row *client_priv,
                     const td_tsv_row *server_pub, const td_tsv_row *server_priv,
                     const td_tsv_row *client_pub);
void sc_verify_cv(sc_section *s, const sc_msg *cert, const sc_msg *cv, const uint8_t *th);

#endif
