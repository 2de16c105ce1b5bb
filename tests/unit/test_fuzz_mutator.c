/* tests/unit/test_fuzz_mutator.c -- the custom mutator of fuzz/mutator.c:
 * every operator applies to a real ClientHello flight of the engine client
 * and leaves the framing it promises intact; specific operators change
 * exactly what they say; determinism per seed; the max_size bound; 100k
 * chained mutations of garbage and of a ClientHello (run under ASan by the
 * asan preset); crossover; "TDP1" programs are left alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "td_test.h"

#include "mutator.h"
#include "tlsdrill/conn.h"
#include "tlsdrill/record.h"

static td_crypto *g_crypto;

/* A ClientHello flight of the engine client: two key shares, SNI, ALPN, a
 * PSK (a ticket no server knows) with psk_ke and psk_dhe_ke; records of at
 * most |frag| bytes (0 = one record). Owned by the caller. */
static uint8_t *client_flight(size_t frag, bool psk, const char *sni, size_t *out_len)
{
    static const uint16_t shares[] = {0x001d, 0x0017};
    static const char *const alpn[] = {"h2", "http/1.1"};
    static const uint8_t seed[] = "test_fuzz_mutator";
    td_session s;
    memset(&s, 0, sizeof(s));
    s.suite = 0x1301;
    s.psk_len = 32;
    memset(s.psk, 7, 32);
    s.ticket_len = 96;
    memset(s.ticket, 0xab, 96);
    s.lifetime_s = 3600;
    s.age_add = 12345;
    td_config cfg = {.role = TD_ROLE_CLIENT,
                     .crypto = g_crypto,
                     .seed = seed,
                     .seed_len = sizeof(seed),
                     .server_name = sni,
                     .share_groups = shares,
                     .num_share_groups = 2,
                     .alpn = alpn,
                     .num_alpn = 2,
                     .resume = psk ? &s : NULL,
                     .psk_ke = true,
                     .max_fragment = frag};
    td_conn *c = NULL;
    const uint8_t *out;
    size_t n = 0;
    uint8_t *copy = NULL;
    if (td_conn_new(&cfg, &c) != TD_OK || td_conn_start(c) != TD_OK)
        goto done;
    td_conn_drain(c, &out, &n);
    copy = malloc(n);
    if (copy != NULL)
        memcpy(copy, out, n);
done:
    td_conn_free(c);
    *out_len = copy ? n : 0;
    return copy;
}

/* The first handshake message of |d|'s first run of handshake records
 * (reassembled), parsed strictly. |buf| holds the reassembled bytes. */
static bool strict_ch(const uint8_t *d, size_t n, uint8_t *buf, size_t cap, td_msg *m)
{
    size_t o = 0, len = 0;
    while (o + TD_REC_HEADER_LEN <= n && d[o] != TD_CT_HANDSHAKE)
        o += TD_REC_HEADER_LEN + ((size_t)d[o + 3] << 8 | d[o + 4]);
    while (o + TD_REC_HEADER_LEN <= n && d[o] == TD_CT_HANDSHAKE) {
        size_t rl = (size_t)d[o + 3] << 8 | d[o + 4];
        if (o + TD_REC_HEADER_LEN + rl > n || len + rl > cap)
            return false;
        memcpy(buf + len, d + o + TD_REC_HEADER_LEN, rl);
        len += rl;
        o += TD_REC_HEADER_LEN + rl;
    }
    td_cbs in, body, whole;
    uint8_t type;
    td_cbs_init(&in, buf, len);
    if (td_msg_next(&in, &type, &body, &whole) != TD_OK)
        return false;
    return td_msg_parse_handshake(td_cbs_data(&whole), td_cbs_len(&whole), NULL, m, NULL) == TD_OK;
}

static bool keeps_records(td_fz_mut_op op)
{
    return op != TD_FZ_MUT_REC_LENGTH_LIE && op != TD_FZ_MUT_REC_TYPE && op != TD_FZ_MUT_BYTES;
}

/* Every operator applies to some seed, on the one-record flight or the
 * fragmented one, and keeps the framing it promises. */
static void test_every_operator_applies(void)
{
    size_t l1, l2;
    uint8_t *f1 = client_flight(0, true, "example.com", &l1);
    uint8_t *f2 = client_flight(128, true, "example.com", &l2);
    TD_REQUIRE(f1 != NULL && f2 != NULL && l1 > 200);
    bool ch_ok = false;
    TD_EXPECT(td_fz_records_parse(f1, l1, &ch_ok) && ch_ok);
    TD_EXPECT(td_fz_records_parse(f2, l2, &ch_ok) && ch_ok);
    uint8_t buf[4096];
    for (int op = TD_FZ_MUT_NONE + 1; op < TD_FZ_MUT_NUM_OPS; op++) {
        int applied = 0, kept = 0;
        for (unsigned seed = 1; seed <= 300; seed++) {
            const uint8_t *src = seed % 2 ? f1 : f2;
            size_t sl = seed % 2 ? l1 : l2;
            memcpy(buf, src, sl);
            size_t n = td_fz_mutate_op(buf, sl, sizeof(buf), seed, (td_fz_mut_op)op);
            if (n == 0) {
                TD_EXPECT_MEM(buf, sl, src, sl); /* not applied: unchanged */
                continue;
            }
            applied++;
            TD_EXPECT(n <= sizeof(buf));
            TD_EXPECT(!(n == sl && memcmp(buf, src, n) == 0));
            bool ok = false;
            bool rec = td_fz_records_parse(buf, n, &ok);
            if (keeps_records((td_fz_mut_op)op) && !rec)
                fprintf(stderr, "  %s seed %u: records broken\n", td_fz_mut_op_name(op), seed);
            if (td_fz_mut_op_keeps_syntax((td_fz_mut_op)op) && !ok)
                fprintf(stderr, "  %s seed %u: ClientHello framing broken\n", td_fz_mut_op_name(op),
                        seed);
            kept += (!keeps_records((td_fz_mut_op)op) || rec) &&
                    (!td_fz_mut_op_keeps_syntax((td_fz_mut_op)op) || ok);
        }
        if (applied == 0)
            fprintf(stderr, "  operator %s never applied\n", td_fz_mut_op_name(op));
        TD_EXPECT(applied > 0);
        TD_EXPECT_EQ(kept, applied);
    }
    free(f1);
    free(f2);
}

/* Operators change what they say, and nothing else. */
static void test_operator_effects(void)
{
    size_t l;
    uint8_t *f = client_flight(0, true, "example.com", &l);
    TD_REQUIRE(f != NULL);
    uint8_t buf[4096], r0[4096], r1[4096];
    td_msg *orig = malloc(sizeof(td_msg)), *m = malloc(sizeof(td_msg));
    TD_REQUIRE(orig != NULL && m != NULL);
    TD_REQUIRE(strict_ch(f, l, r0, sizeof(r0), orig));
    int seen_random = 0, seen_version = 0, seen_flip = 0, seen_frag = 0, seen_drop = 0;
    for (unsigned seed = 1; seed <= 100; seed++) {
        size_t n;
        /* random: only the random differs */
        memcpy(buf, f, l);
        n = td_fz_mutate_op(buf, l, sizeof(buf), seed, TD_FZ_MUT_CH_RANDOM);
        if (n == l && strict_ch(buf, n, r1, sizeof(r1), m)) {
            seen_random++;
            TD_EXPECT(memcmp(m->u.ch.random, orig->u.ch.random, 32) != 0);
            TD_EXPECT_EQ(m->u.ch.exts.num, orig->u.ch.exts.num);
            TD_EXPECT_EQ(m->u.ch.legacy_version, orig->u.ch.legacy_version);
        }
        /* legacy_version */
        memcpy(buf, f, l);
        n = td_fz_mutate_op(buf, l, sizeof(buf), seed, TD_FZ_MUT_CH_LEGACY_VERSION);
        if (n == l && strict_ch(buf, n, r1, sizeof(r1), m)) {
            seen_version++;
            TD_EXPECT(m->u.ch.legacy_version != orig->u.ch.legacy_version);
            TD_EXPECT(memcmp(m->u.ch.random, orig->u.ch.random, 32) == 0);
        }
        /* binder flip: same length, strictly parseable, binder differs */
        memcpy(buf, f, l);
        n = td_fz_mutate_op(buf, l, sizeof(buf), seed, TD_FZ_MUT_CH_BINDER_FLIP);
        if (n != 0) {
            TD_EXPECT_EQ(n, l);
            TD_REQUIRE(strict_ch(buf, n, r1, sizeof(r1), m));
            const td_cbs *b0 = &orig->u.ch.ext.psk_binders[0], *b1 = &m->u.ch.ext.psk_binders[0];
            TD_EXPECT_EQ(td_cbs_len(b0), td_cbs_len(b1));
            TD_EXPECT(memcmp(td_cbs_data(b0), td_cbs_data(b1), td_cbs_len(b0)) != 0);
            seen_flip++;
        }
        /* fragmentation: one record more, the same ClientHello */
        memcpy(buf, f, l);
        n = td_fz_mutate_op(buf, l, sizeof(buf), seed, TD_FZ_MUT_REC_FRAGMENT);
        if (n == l + TD_REC_HEADER_LEN && buf[0] == TD_CT_HANDSHAKE &&
            buf[l - TD_REC_HEADER_LEN] != 0) {
            TD_EXPECT(strict_ch(buf, n, r1, sizeof(r1), m));
            TD_EXPECT(td_cbs_len(&m->body) == td_cbs_len(&orig->body));
            seen_frag++;
        }
        /* extension dropped: one fewer */
        memcpy(buf, f, l);
        n = td_fz_mutate_op(buf, l, sizeof(buf), seed, TD_FZ_MUT_CH_EXT_DROP);
        if (n != 0 && n < l) {
            if (strict_ch(buf, n, r1, sizeof(r1), m))
                TD_EXPECT_EQ(m->u.ch.exts.num + 1, orig->u.ch.exts.num);
            seen_drop++;
        }
    }
    TD_EXPECT(seen_random > 50);
    TD_EXPECT(seen_version > 50);
    TD_EXPECT(seen_flip > 50);
    TD_EXPECT(seen_frag > 10);
    TD_EXPECT(seen_drop > 50);
    free(orig);
    free(m);
    free(f);
}

static void test_deterministic(void)
{
    size_t l;
    uint8_t *f = client_flight(0, true, "example.com", &l);
    TD_REQUIRE(f != NULL);
    uint8_t a[4096], b[4096];
    int differ_from_seed1 = 0;
    uint8_t first[4096];
    size_t first_n = 0;
    for (unsigned seed = 1; seed <= 2000; seed++) {
        memcpy(a, f, l);
        memcpy(b, f, l);
        size_t na = td_fz_mutate_records(a, l, sizeof(a), seed);
        size_t nb = td_fz_mutate_records(b, l, sizeof(b), seed);
        TD_EXPECT_MEM(a, na, b, nb);
        if (seed == 1)
            memcpy(first, a, first_n = na);
        else
            differ_from_seed1 += !(na == first_n && memcmp(a, first, na) == 0);
    }
    TD_EXPECT(differ_from_seed1 > 1900);
    /* crossover too */
    size_t l2;
    uint8_t *g = client_flight(0, false, NULL, &l2);
    TD_REQUIRE(g != NULL);
    for (unsigned seed = 1; seed <= 500; seed++) {
        size_t na = td_fz_crossover_records(f, l, g, l2, a, sizeof(a), seed);
        size_t nb = td_fz_crossover_records(f, l, g, l2, b, sizeof(b), seed);
        TD_EXPECT_MEM(a, na, b, nb);
    }
    free(f);
    free(g);
}

static void test_max_size(void)
{
    size_t l;
    uint8_t *f = client_flight(0, true, "example.com", &l);
    TD_REQUIRE(f != NULL);
    /* Sentinel bytes after max_size must survive. */
    uint8_t buf[4096 + 64];
    int over = 0;
    for (unsigned seed = 1; seed <= 20000; seed++) {
        size_t max = l - 20 + seed % 64; /* sometimes below the input size */
        memset(buf, 0xee, sizeof(buf));
        memcpy(buf, f, l < max ? l : max);
        size_t n = td_fz_mutate_records(buf, l < max ? l : max, max, seed);
        over += n == 0 || n > max;
        for (size_t i = max; i < max + 64; i++)
            over += buf[i] != 0xee;
    }
    TD_EXPECT_EQ(over, 0);
    for (unsigned seed = 1; seed <= 2000; seed++) {
        uint8_t out[300];
        memset(out, 0xee, sizeof(out));
        size_t cap = 1 + seed % 200;
        size_t n = td_fz_crossover_records(f, l, f, l, out, cap, seed);
        TD_EXPECT(n >= 1 && n <= cap);
        for (size_t i = cap; i < sizeof(out); i++)
            over += out[i] != 0xee;
    }
    TD_EXPECT_EQ(over, 0);
    free(f);
}

/* 100k chained mutations each of garbage and of a ClientHello flight. */
static void test_survives_100k(void)
{
    size_t l;
    uint8_t *f = client_flight(0, true, "example.com", &l);
    TD_REQUIRE(f != NULL);
    enum { CAP = 4096 };
    uint8_t *bufs[2] = {malloc(CAP), malloc(CAP)};
    size_t lens[2] = {0, 0};
    TD_REQUIRE(bufs[0] != NULL && bufs[1] != NULL);
    uint64_t x = 88172645463325252ull;
    unsigned long framed = 0, structured = 0;
    for (unsigned i = 0; i < 200000; i++) {
        int garbage = i % 2;
        uint8_t *buf = bufs[garbage];
        if (i % 32 < 2) { /* restart the chains every 16 mutations */
            if (garbage) {
                lens[1] = 1 + (size_t)(x % 600);
                for (size_t k = 0; k < lens[1]; k++) {
                    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                    buf[k] = (uint8_t)x;
                }
            } else {
                memcpy(buf, f, l);
                lens[0] = l;
            }
        }
        size_t m = td_fz_mutate_records(buf, lens[garbage], CAP, i * 2654435761u);
        if (m == 0 || m > CAP) {
            TD_EXPECT(m >= 1 && m <= CAP);
            break;
        }
        lens[garbage] = m;
        bool ok;
        if (!garbage) {
            framed += td_fz_records_parse(buf, m, &ok);
            structured += ok;
        }
    }
    /* The ClientHello chains (16 mutations deep) stay mostly structured. */
    /* Most operators keep the framing: after 8 mutations on average (about
     * 1 in 10 breaks it: bytes, length lies) a third of the chain still
     * frames as records, a fifth still has a whole ClientHello first. */
    TD_EXPECT(framed > 100000 / 4);
    TD_EXPECT(structured > 100000 / 8);
    free(bufs[0]);
    free(bufs[1]);
    free(f);
}

static void test_crossover(void)
{
    size_t la, lb;
    uint8_t *a = client_flight(0, false, NULL, &la);
    uint8_t *b = client_flight(0, true, "crossover.example", &lb);
    TD_REQUIRE(a != NULL && b != NULL);
    uint8_t out[4096];
    int with_sni = 0, parsed = 0, made = 0;
    for (unsigned seed = 1; seed <= 400; seed++) {
        size_t n = td_fz_crossover_records(a, la, b, lb, out, sizeof(out), seed);
        TD_REQUIRE(n > 0);
        made++;
        bool ok = false;
        parsed += td_fz_records_parse(out, n, &ok) && ok;
        /* b's server_name carries "crossover.example"; a has none */
        for (size_t i = 0; i + 17 <= n; i++)
            if (memcmp(out + i, "crossover.example", 17) == 0) {
                with_sni++;
                break;
            }
    }
    TD_EXPECT(parsed > made * 9 / 10);
    TD_EXPECT(with_sni > 20);
    /* not records at all: a byte splice, bounded */
    static const uint8_t g1[] = "garbage one", g2[] = "other garbage";
    size_t n = td_fz_crossover_records(g1, sizeof(g1), g2, sizeof(g2), out, 8, 3);
    TD_EXPECT(n >= 1 && n <= 8);
    n = td_fz_crossover_records(g1, 0, g2, 0, out, sizeof(out), 3);
    TD_EXPECT_EQ(n, 1);
    free(a);
    free(b);
}

static void test_programs_left_alone(void)
{
    uint8_t p[] = "TDP1\x01\x02\x03";
    uint8_t copy[sizeof(p)], out[64];
    memcpy(copy, p, sizeof(p));
    TD_EXPECT_EQ(td_fz_mutate_records(p, sizeof(p), sizeof(p) + 10, 1), 0);
    TD_EXPECT_EQ(td_fz_mutate_op(p, sizeof(p), sizeof(p) + 10, 1, TD_FZ_MUT_BYTES), 0);
    TD_EXPECT_MEM(p, sizeof(p), copy, sizeof(copy));
    TD_EXPECT_EQ(td_fz_crossover_records(p, sizeof(p), out, 4, out, sizeof(out), 1), 0);
    /* and never made from scratch */
    int made = 0;
    for (unsigned seed = 0; seed < 20000; seed++) {
        uint8_t b[8] = {'T', 'D', 'P', '0', 1, 2, 3, 4};
        size_t n = td_fz_mutate_records(b, 4, sizeof(b), seed);
        made += n >= 4 && memcmp(b, "TDP1", 4) == 0;
    }
    TD_EXPECT_EQ(made, 0);
    TD_EXPECT(strcmp(td_fz_mut_op_name(TD_FZ_MUT_CH_EXT_DROP), "ch-ext-drop") == 0);
    TD_EXPECT(strcmp(td_fz_mut_op_name(TD_FZ_MUT_NUM_OPS), "unknown") == 0);
}

int main(void)
{
    if (td_crypto_new(&g_crypto) != TD_OK) {
        fprintf(stderr, "td_crypto_new failed\n");
        return 1;
    }
    TD_RUN(test_every_operator_applies);
    TD_RUN(test_operator_effects);
    TD_RUN(test_deterministic);
    TD_RUN(test_max_size);
    TD_RUN(test_survives_100k);
    TD_RUN(test_crossover);
    TD_RUN(test_programs_left_alone);
    td_crypto_free(g_crypto);
    return td_test_report("test_fuzz_mutator");
}
