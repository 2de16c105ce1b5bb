/* engine/crypto_memo.h -- a bounded memo table for engine/crypto*.c: byte
 * strings (a key made of parts) to byte strings, for the pure functions of
 * td_crypto (key pair from private bytes, shared secret from own key and peer
 * share, certificate chain results). Internal to the engine.
 *
 * Bounded: a fixed number of slots, 2-way set associative, the older entry
 * of a full set is replaced. Exact: a hit compares the whole key, never only
 * its hash. Entries may hold secrets (private keys, shared secrets): they are
 * wiped (td_cleanse) when replaced and on cleanup.
 *
 * Ownership: caller storage (td_memo_init/td_memo_cleanup); the table owns
 * its entries. Single-threaded, like the td_crypto that holds it. */
#ifndef TD_CRYPTO_MEMO_H
#define TD_CRYPTO_MEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsdrill/err.h"

#define TD_MEMO_MAX_PARTS 8

typedef struct td_memo_entry {
    uint64_t hash;
    uint64_t stamp; /* insertion order: the older of a set is replaced */
    uint8_t *blob;  /* key then value (owned, wiped on replace) */
    size_t key_len, val_len, cap;
} td_memo_entry;

typedef struct td_memo {
    td_memo_entry *slots;
    size_t num_sets; /* 2 entries per set */
    uint64_t clock;
    uint64_t hits, misses, inserts, evictions;
} td_memo;

/* A key as a list of byte strings (concatenated, each length included). */
typedef struct td_memo_key {
    const uint8_t *part[TD_MEMO_MAX_PARTS];
    size_t len[TD_MEMO_MAX_PARTS];
    size_t num;
} td_memo_key;

/* |num_sets| sets of two entries (num_sets >= 1). */
td_err td_memo_init(td_memo *m, size_t num_sets) TD_WUR;
void td_memo_cleanup(td_memo *m);

/* Copies the value stored under |key| to |out| (at most |cap| bytes) and
 * returns true; false (a miss) if there is none or it does not fit. */
bool td_memo_get(td_memo *m, const td_memo_key *key, uint8_t *out, size_t cap, size_t *out_len);
/* Stores |val| under |key|, replacing the older entry of its set. A failed
 * allocation leaves the table without the entry (a later miss). */
void td_memo_put(td_memo *m, const td_memo_key *key, const uint8_t *val, size_t val_len);

#endif
