/* fuzz/mutator_internal.h -- what fuzz/mutator.c (records, framing, driver,
 * crossover, byte fallback) and fuzz/mutator_ch.c (ClientHello operators)
 * share. Not installed; no state outside the structs passed in. */
#ifndef TD_FUZZ_MUTATOR_INTERNAL_H
#define TD_FUZZ_MUTATOR_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mutator.h"
#include "tlsdrill/bytes.h"
#include "tlsdrill/msg.h"

/* splitmix64: small, seedable, good enough to pick mutations. */
typedef struct td_fz_rng {
    uint64_t s;
} td_fz_rng;

void td_fz_rng_init(td_fz_rng *r, unsigned int seed, uint64_t salt);
uint64_t td_fz_rng_next(td_fz_rng *r);
/* Uniform in [0, n) (0 when n is 0). */
size_t td_fz_below(td_fz_rng *r, size_t n);
/* True with probability 1/n. */
bool td_fz_one_in(td_fz_rng *r, size_t n);
void td_fz_fill(td_fz_rng *r, uint8_t *out, size_t len);
/* A value of |table| (|n| > 0). */
uint16_t td_fz_pick_u16(td_fz_rng *r, const uint16_t *table, size_t n);

/* Interesting wire values (const tables). */
extern const uint16_t td_fz_suites[];
extern const size_t td_fz_num_suites;
extern const uint16_t td_fz_groups[];
extern const size_t td_fz_num_groups;
extern const uint16_t td_fz_sigalgs[];
extern const size_t td_fz_num_sigalgs;
extern const uint16_t td_fz_versions[];
extern const size_t td_fz_num_versions;
extern const uint16_t td_fz_ext_types[];
extern const size_t td_fz_num_ext_types;

/* The lenient reading of a ClientHello body (no header): fields and the raw
 * extension list into |m| (views into |body|), bytes after the extension
 * block into |*trailer|. No typed decoding, no table or duplicate checks.
 * Fails only on broken framing (a length running past the end, an odd
 * suites vector, more than TD_MAX_EXTENSIONS / TD_MAX_CIPHER_SUITES). */
bool td_fz_ch_read(const uint8_t *body, size_t len, td_msg *m, td_cbs *trailer);

/* Applies ClientHello operator |op| to the whole handshake message |msg|
 * (header included; its length field is not trusted: |len| is the message
 * as split off the run) and writes the new whole message to |out|. False if
 * the operator does not apply (nothing written that matters). */
bool td_fz_ch_mutate(td_fz_mut_op op, td_fz_rng *r, const uint8_t *msg, size_t len, td_cbb *out);

#endif
