/* tlsdrill/drbg.h -- deterministic random bits and the virtual clock.
 *
 * Every random value in the engine (randoms, session ids, ephemeral keys,
 * ticket keys, age_add, signature nonces and salts, padding choices) comes
 * from a td_drbg; every time value from a td_clock. No system randomness or
 * time anywhere. Same seed + same stream label => same bytes on any machine
 * (no dependence on endianness, word size or libcrypto version).
 *
 * The generator is ChaCha20 (RFC 8439 block function, implemented here, not
 * through libcrypto) keyed from the seed and the stream label, so streams
 * with different labels ("client", "server", "conn/3") are independent. */
#ifndef TLSDRILL_DRBG_H
#define TLSDRILL_DRBG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct td_drbg {
    /* Private. */
    uint32_t key[8];
    uint32_t nonce[3];
    uint32_t counter;
    uint8_t block[64];
    size_t used; /* bytes of |block| already handed out; 64 = empty */
    uint64_t total; /* bytes produced so far (reported in traces) */
} td_drbg;

/* Caller storage. |seed| may be any length (including 0); |label| is a
 * NUL-terminated stream name. */
void td_drbg_init(td_drbg *drbg, const uint8_t *seed, size_t seed_len, const char *label);
/* Initial states by (seed, label): td_drbg_init_cached makes the state
 * td_drbg_init makes, copied from |cache| when that pair was absorbed
 * before (every connection of a config absorbs the same seed and stream
 * label), else absorbed and remembered (the oldest slot goes). A seed over
 * TD_DRBG_CACHE_SEED bytes or a label of TD_DRBG_CACHE_LABEL characters or
 * more is never cached. |cache| NULL: td_drbg_init. Caller storage,
 * zero-initialised; td_drbg_cache_cleanup wipes it (it holds keys as secret
 * as the seeds). Not thread-safe. */
enum { TD_DRBG_CACHE_SLOTS = 4, TD_DRBG_CACHE_SEED = 64, TD_DRBG_CACHE_LABEL = 64 };
typedef struct td_drbg_cache {
    /* Private. */
    struct td_drbg_cache_slot {
        bool used;
        size_t seed_len;
        uint8_t seed[TD_DRBG_CACHE_SEED];
        char label[TD_DRBG_CACHE_LABEL];
        td_drbg state;
    } slot[TD_DRBG_CACHE_SLOTS];
    size_t next;
} td_drbg_cache;
void td_drbg_init_cached(td_drbg_cache *cache, td_drbg *drbg, const uint8_t *seed, size_t seed_len,
                         const char *label);
void td_drbg_cache_cleanup(td_drbg_cache *cache);
/* A stream whose first |len| (<= TD_DRBG_MAX_PRIME) bytes are exactly
 * |bytes|, then the stream of (|bytes|, |label|): replays a fixed trace's
 * "random" values (a PSS salt, an ECDSA nonce) through APIs that draw
 * from a td_drbg. */
#define TD_DRBG_MAX_PRIME 64
void td_drbg_init_primed(td_drbg *drbg, const uint8_t *bytes, size_t len, const char *label);
/* A child stream: independent of the parent's later output, determined by
 * the parent's state at the time of the call and |label|. */
void td_drbg_fork(td_drbg *parent, td_drbg *out_child, const char *label);
void td_drbg_bytes(td_drbg *drbg, uint8_t *out, size_t len);
uint32_t td_drbg_u32(td_drbg *drbg);
/* Uniform in [0, bound) without modulo bias; 0 if bound is 0. */
uint32_t td_drbg_uniform(td_drbg *drbg, uint32_t bound);
/* Wipes the state. */
void td_drbg_cleanup(td_drbg *drbg);

/* RFC 8439 §2.3 block function, exposed for its known-answer test. */
void td_chacha20_block(const uint32_t key[8], uint32_t counter, const uint32_t nonce[3],
                       uint8_t out[64]);

/* The virtual clock, in milliseconds since an arbitrary epoch the config sets. */
typedef struct td_clock {
    uint64_t now_ms;
} td_clock;

static inline void td_clock_init(td_clock *clock, uint64_t start_ms) { clock->now_ms = start_ms; }
static inline uint64_t td_clock_now_ms(const td_clock *clock) { return clock->now_ms; }
static inline void td_clock_advance(td_clock *clock, uint64_t ms) { clock->now_ms += ms; }

#endif
