/* engine/drbg.c -- the deterministic random bit generator (tlsdrill/drbg.h).
 *
 * Self-contained: no libcrypto, no system randomness, byte order fixed by
 * the code (little-endian loads/stores as RFC 8439 specifies), so a seed
 * gives the same stream on every machine and every libcrypto version.
 *
 * Construction (version 1; test_drbg.c pins its output, so any change here
 * is a deliberate, visible break of replay compatibility):
 *
 *   F(K, m) = the first 32 bytes of ChaCha20_block(key = K,
 *             counter = LE32(m[0..3]), nonce = m[4..15])       (RFC 8439 §2.3)
 *
 *   M   = LE64(seed_len) || seed || LE64(label_len) || label,
 *         zero-padded to a multiple of 16 bytes
 *   K_0 = "tlsdrill drbg v1 chacha20 absorb" (32 ASCII bytes)
 *   K_i = F(K_{i-1}, M_i) for each 16-byte block M_i of M
 *
 * i.e. a cascade of the ChaCha20 block function used as a PRF keyed by the
 * chaining value (the block's feed-forward makes it one-way in the key).
 * Because both fields are length-prefixed, the encoding is injective and
 * prefix-free, so distinct (seed, label) pairs absorb distinct block
 * sequences. The output stream is then plain ChaCha20 keystream under
 * key K_n, nonce 0, block counter from 0 (the nonce's first word carries
 * the counter's overflow after 2^32 blocks).
 *
 * td_drbg_fork draws 32 bytes from the parent and absorbs them as the
 * child's seed with the child's label: the child is determined by the
 * parent's state and the label, and the parent never hands out those
 * bytes again, so the two streams do not overlap. */
#include <string.h>

#include "tlsdrill/drbg.h"

static uint32_t load32_le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void store32_le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t rotl32(uint32_t v, int n)
{
    return (v << n) | (v >> (32 - n));
}

/* RFC 8439 §2.1: the quarter round. */
/* clang-format off */
#define TD_QR(a, b, c, d)                          \
    do {                                           \
        a += b; d ^= a; d = rotl32(d, 16);      \
        c += d; b ^= c; b = rotl32(b, 12);      \
        a += b; d ^= a; d = rotl32(d, 8);       \
        c += d; b ^= c; b = rotl32(b, 7);       \
    } while (0)
/* clang-format on */

/* RFC 8439 §2.3: the block function; §2.3 state layout, §2.1 rounds. */
void td_chacha20_block(const uint32_t key[8], uint32_t counter, const uint32_t nonce[3],
                       uint8_t out[64])
{
    uint32_t in[16] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};
    for (int i = 0; i < 8; i++)
        in[4 + i] = key[i];
    in[12] = counter;
    in[13] = nonce[0];
    in[14] = nonce[1];
    in[15] = nonce[2];
    uint32_t x[16];
    memcpy(x, in, sizeof(x));
    for (int i = 0; i < 10; i++) {
        TD_QR(x[0], x[4], x[8], x[12]);
        TD_QR(x[1], x[5], x[9], x[13]);
        TD_QR(x[2], x[6], x[10], x[14]);
        TD_QR(x[3], x[7], x[11], x[15]);
        TD_QR(x[0], x[5], x[10], x[15]);
        TD_QR(x[1], x[6], x[11], x[12]);
        TD_QR(x[2], x[7], x[8], x[13]);
        TD_QR(x[3], x[4], x[9], x[14]);
    }
    for (int i = 0; i < 16; i++)
        store32_le(out + 4 * i, x[i] + in[i]);
}

/* memset through a volatile pointer: a wipe the compiler cannot drop
 * (and, unlike a volatile byte loop, one call per buffer). */
static void *(*const volatile wipe_memset)(void *, int, size_t) = memset;

static void wipe(void *p, size_t len)
{
    wipe_memset(p, 0, len);
}

/* The absorbing state: chaining key plus a partial 16-byte input block. */
typedef struct td_absorb {
    uint32_t key[8];
    uint8_t buf[16];
    size_t used;
} td_absorb;

static void absorb_block(td_absorb *a)
{
    uint8_t out[64];
    uint32_t nonce[3] = {load32_le(a->buf + 4), load32_le(a->buf + 8),
                         load32_le(a->buf + 12)};
    td_chacha20_block(a->key, load32_le(a->buf), nonce, out);
    for (int i = 0; i < 8; i++)
        a->key[i] = load32_le(out + 4 * i);
    a->used = 0;
    wipe(out, sizeof(out));
    wipe(a->buf, sizeof(a->buf));
}

static void absorb_bytes(td_absorb *a, const uint8_t *p, size_t len)
{
    while (len > 0) {
        size_t n = sizeof(a->buf) - a->used;
        if (n > len)
            n = len;
        memcpy(a->buf + a->used, p, n);
        a->used += n;
        p += n;
        len -= n;
        if (a->used == sizeof(a->buf))
            absorb_block(a);
    }
}

static void absorb_field(td_absorb *a, const uint8_t *p, size_t len)
{
    uint8_t n[8];
    uint64_t l = (uint64_t)len;
    for (int i = 0; i < 8; i++)
        n[i] = (uint8_t)(l >> (8 * i));
    absorb_bytes(a, n, sizeof(n));
    if (len != 0)
        absorb_bytes(a, p, len);
}

void td_drbg_init(td_drbg *drbg, const uint8_t *seed, size_t seed_len, const char *label)
{
    static const char iv[33] = "tlsdrill drbg v1 chacha20 absorb";
    td_absorb a;
    memset(&a, 0, sizeof(a));
    for (int i = 0; i < 8; i++)
        a.key[i] = load32_le((const uint8_t *)iv + 4 * i);
    if (seed == NULL)
        seed_len = 0;
    if (label == NULL)
        label = "";
    absorb_field(&a, seed, seed_len);
    absorb_field(&a, (const uint8_t *)label, strlen(label));
    if (a.used != 0)
        absorb_block(&a); /* zero padding: buf past |used| is already zero */

    memset(drbg, 0, sizeof(*drbg));
    memcpy(drbg->key, a.key, sizeof(drbg->key));
    drbg->used = sizeof(drbg->block);
    wipe(&a, sizeof(a));
}

void td_drbg_init_cached(td_drbg_cache *cache, td_drbg *drbg, const uint8_t *seed, size_t seed_len,
                         const char *label)
{
    if (seed == NULL)
        seed_len = 0;
    if (label == NULL)
        label = "";
    size_t label_len = strlen(label);
    if (cache == NULL || seed_len > TD_DRBG_CACHE_SEED || label_len >= TD_DRBG_CACHE_LABEL) {
        td_drbg_init(drbg, seed, seed_len, label);
        return;
    }
    for (size_t i = 0; i < TD_DRBG_CACHE_SLOTS; i++) {
        struct td_drbg_cache_slot *s = &cache->slot[i];
        if (s->used && s->seed_len == seed_len &&
            (seed_len == 0 || memcmp(s->seed, seed, seed_len) == 0) &&
            strcmp(s->label, label) == 0) {
            *drbg = s->state;
            return;
        }
    }
    td_drbg_init(drbg, seed, seed_len, label);
    struct td_drbg_cache_slot *s = &cache->slot[cache->next];
    cache->next = (cache->next + 1) % TD_DRBG_CACHE_SLOTS;
    wipe(s, sizeof(*s));
    s->used = true;
    s->seed_len = seed_len;
    if (seed_len > 0)
        memcpy(s->seed, seed, seed_len);
    memcpy(s->label, label, label_len + 1);
    s->state = *drbg;
}

void td_drbg_cache_cleanup(td_drbg_cache *cache)
{
    if (cache != NULL)
        wipe(cache, sizeof(*cache));
}

void td_drbg_init_primed(td_drbg *drbg, const uint8_t *bytes, size_t len, const char *label)
{
    td_drbg_init(drbg, bytes, len, label);
    if (len > sizeof(drbg->block))
        len = sizeof(drbg->block);
    /* td_drbg_bytes hands out the buffered block tail first. */
    memcpy(drbg->block + sizeof(drbg->block) - len, bytes, len);
    drbg->used = sizeof(drbg->block) - len;
}

void td_drbg_bytes(td_drbg *drbg, uint8_t *out, size_t len)
{
    while (len > 0) {
        if (drbg->used == sizeof(drbg->block)) {
            td_chacha20_block(drbg->key, drbg->counter, drbg->nonce, drbg->block);
            if (++drbg->counter == 0)
                drbg->nonce[0]++; /* 2^32 blocks: carry into the nonce, never repeat */
            drbg->used = 0;
        }
        size_t n = sizeof(drbg->block) - drbg->used;
        if (n > len)
            n = len;
        memcpy(out, drbg->block + drbg->used, n);
        /* Handed-out bytes are not kept in the state. */
        wipe(drbg->block + drbg->used, n);
        drbg->used += n;
        drbg->total += n;
        out += n;
        len -= n;
    }
}

uint32_t td_drbg_u32(td_drbg *drbg)
{
    uint8_t b[4];
    td_drbg_bytes(drbg, b, sizeof(b));
    return load32_le(b);
}

uint32_t td_drbg_uniform(td_drbg *drbg, uint32_t bound)
{
    if (bound == 0)
        return 0;
    /* Reject the lowest 2^32 mod bound values so every residue has the same
     * number of preimages (no modulo bias). Expected draws < 2. */
    uint32_t threshold = (uint32_t)(0u - bound) % bound;
    for (;;) {
        uint32_t r = td_drbg_u32(drbg);
        if (r >= threshold)
            return r % bound;
    }
}

void td_drbg_fork(td_drbg *parent, td_drbg *out_child, const char *label)
{
    uint8_t seed[32];
    td_drbg_bytes(parent, seed, sizeof(seed));
    td_drbg_init(out_child, seed, sizeof(seed), label);
    wipe(seed, sizeof(seed));
}

void td_drbg_cleanup(td_drbg *drbg)
{
    if (drbg != NULL)
        wipe(drbg, sizeof(*drbg));
}
