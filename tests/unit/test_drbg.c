/* tests/unit/test_drbg.c -- engine/drbg.c: the ChaCha20 block function
 * (RFC 8439 §2.3.2), the pinned output of the DRBG construction, stream
 * separation, forks and unbiased bounded draws. */
#include "td_test.h"
#include "tlsdrill/drbg.h"

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void test_chacha20_block_rfc8439(void)
{
    /* RFC 8439 §2.3.2: key 00..1f, nonce 000000090000004a00000000, counter 1. */
    static const uint8_t nonce_bytes[12] = {0, 0, 0, 0x09, 0, 0, 0, 0x4a, 0, 0, 0, 0};
    static const char *const want_hex =
        "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
        "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e";
    uint32_t key[8], nonce[3];
    uint8_t kb[32], out[64];
    for (int i = 0; i < 32; i++)
        kb[i] = (uint8_t)i;
    for (int i = 0; i < 8; i++)
        key[i] = le32(kb + 4 * i);
    for (int i = 0; i < 3; i++)
        nonce[i] = le32(nonce_bytes + 4 * i);
    td_chacha20_block(key, 1, nonce, out);
    size_t n;
    uint8_t *want = td_test_unhex(want_hex, &n);
    TD_REQUIRE(want != NULL);
    TD_EXPECT_MEM(out, sizeof(out), want, n);
    free(want);
}

/* The construction documented in engine/drbg.c, pinned. These values were
 * computed by an independent Python model of that documentation (ChaCha20
 * from the `cryptography` package), not by the code under test. A change
 * here breaks replay of every recorded run: bump the version string. */
static void test_drbg_pinned(void)
{
    static const struct {
        const char *seed, *label, *want;
    } cases[] = {
        {"tlsdrill", "client", "cd0f7d7d4f86a97e2ecd678104277fa3f83a7f806cebde4e77a1d0efa24f84c1"},
        {"", "", "146b461ffb377b7df307f02d899424317b34fe5861be47b73f472bb0d133965d"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        td_drbg d;
        uint8_t out[32];
        size_t n;
        td_drbg_init(&d, (const uint8_t *)cases[i].seed, strlen(cases[i].seed), cases[i].label);
        td_drbg_bytes(&d, out, sizeof(out));
        uint8_t *want = td_test_unhex(cases[i].want, &n);
        TD_REQUIRE(want != NULL);
        TD_EXPECT_MEM(out, sizeof(out), want, n);
        TD_EXPECT_EQ(d.total, 32);
        free(want);
        td_drbg_cleanup(&d);
    }
    /* NULL seed with length 0 is the empty seed. */
    td_drbg a, b;
    uint8_t x[32], y[32];
    td_drbg_init(&a, NULL, 0, "");
    td_drbg_init(&b, (const uint8_t *)"", 0, "");
    td_drbg_bytes(&a, x, sizeof(x));
    td_drbg_bytes(&b, y, sizeof(y));
    TD_EXPECT_MEM(x, 32, y, 32);
}

/* Same inputs, same bytes regardless of how the reads are split. */
static void test_drbg_determinism(void)
{
    static const uint8_t seed[] = {1, 2, 3, 4, 5};
    td_drbg a, b;
    uint8_t x[200], y[200];
    td_drbg_init(&a, seed, sizeof(seed), "server");
    td_drbg_init(&b, seed, sizeof(seed), "server");
    td_drbg_bytes(&a, x, sizeof(x));
    size_t splits[] = {1, 63, 0, 64, 65, 7};
    size_t off = 0;
    for (size_t i = 0; i < sizeof(splits) / sizeof(splits[0]); i++) {
        td_drbg_bytes(&b, y + off, splits[i]);
        off += splits[i];
    }
    TD_EXPECT_EQ(off, sizeof(y));
    TD_EXPECT_MEM(x, sizeof(x), y, sizeof(y));
    TD_EXPECT_EQ(a.total, 200);
    TD_EXPECT_EQ(b.total, 200);
    TD_EXPECT_EQ(td_drbg_u32(&a), td_drbg_u32(&b));
}

static void test_drbg_separation(void)
{
    static const struct {
        const char *seed, *label;
    } inputs[] = {
        {"seed", "client"}, {"seed", "server"}, {"seed2", "client"}, {"seed", "client2"},
        {"", "seedclient"}, {"seedclient", ""}, {"seed", ""},        {"", ""},
    };
    enum { N = sizeof(inputs) / sizeof(inputs[0]) };
    uint8_t out[N][32];
    for (size_t i = 0; i < N; i++) {
        td_drbg d;
        td_drbg_init(&d, (const uint8_t *)inputs[i].seed, strlen(inputs[i].seed), inputs[i].label);
        td_drbg_bytes(&d, out[i], 32);
    }
    for (size_t i = 0; i < N; i++)
        for (size_t j = i + 1; j < N; j++)
            TD_EXPECT(memcmp(out[i], out[j], 32) != 0);
    /* A seed that differs only in a trailing zero byte is a different seed. */
    static const uint8_t s1[] = {7}, s2[] = {7, 0};
    td_drbg a, b;
    uint8_t x[32], y[32];
    td_drbg_init(&a, s1, sizeof(s1), "l");
    td_drbg_init(&b, s2, sizeof(s2), "l");
    td_drbg_bytes(&a, x, sizeof(x));
    td_drbg_bytes(&b, y, sizeof(y));
    TD_EXPECT(memcmp(x, y, 32) != 0);
}

static void test_drbg_fork(void)
{
    td_drbg p1, p2, c1, c2, c3;
    uint8_t a[32], b[32], c[32], pa[32], pb[32];
    td_drbg_init(&p1, (const uint8_t *)"tlsdrill", 8, "client");
    td_drbg_init(&p2, (const uint8_t *)"tlsdrill", 8, "client");
    td_drbg_fork(&p1, &c1, "child");
    td_drbg_fork(&p2, &c2, "child");
    td_drbg_bytes(&c1, a, sizeof(a));
    td_drbg_bytes(&c2, b, sizeof(b));
    TD_EXPECT_MEM(a, 32, b, 32); /* determined by parent state + label */
    /* Pinned by the Python model: child seed = the parent's first 32 bytes. */
    size_t n;
    uint8_t *want =
        td_test_unhex("15e5d753c67d2c58f37fdb492dfdea4ac886cc1d32c6e6882de7ee3b7bddf687", &n);
    TD_REQUIRE(want != NULL);
    TD_EXPECT_MEM(a, 32, want, n);
    free(want);
    /* The parent moved on: its next output is neither the child's nor what
     * it would have given without the fork, and a second fork differs. */
    td_drbg_bytes(&p1, pa, sizeof(pa));
    TD_EXPECT(memcmp(pa, a, 32) != 0);
    td_drbg fresh;
    td_drbg_init(&fresh, (const uint8_t *)"tlsdrill", 8, "client");
    td_drbg_bytes(&fresh, pb, sizeof(pb));
    TD_EXPECT(memcmp(pa, pb, 32) != 0);
    td_drbg_fork(&p2, &c3, "child");
    td_drbg_bytes(&c3, c, sizeof(c));
    TD_EXPECT(memcmp(c, a, 32) != 0);
    /* Different label from the same parent state: different child. */
    td_drbg p3, c4;
    td_drbg_init(&p3, (const uint8_t *)"tlsdrill", 8, "client");
    td_drbg_fork(&p3, &c4, "other");
    td_drbg_bytes(&c4, c, sizeof(c));
    TD_EXPECT(memcmp(c, a, 32) != 0);
    /* Child output does not disturb the parent. */
    td_drbg q1, q2, qc;
    uint8_t y1[16], y2[16], junk[100];
    td_drbg_init(&q1, NULL, 0, "x");
    td_drbg_init(&q2, NULL, 0, "x");
    td_drbg_fork(&q1, &qc, "c");
    td_drbg_fork(&q2, &qc, "c");
    td_drbg_bytes(&qc, junk, sizeof(junk));
    td_drbg_bytes(&q1, y1, sizeof(y1));
    td_drbg_bytes(&q2, y2, sizeof(y2));
    TD_EXPECT_MEM(y1, 16, y2, 16);
}

static void test_drbg_uniform(void)
{
    td_drbg d;
    td_drbg_init(&d, (const uint8_t *)"u", 1, "uniform");
    TD_EXPECT_EQ(td_drbg_uniform(&d, 0), 0);
    TD_EXPECT_EQ(td_drbg_uniform(&d, 1), 0);
    static const uint32_t bounds[] = {2, 3, 7, 10, 1000, 0x80000001u, 0xffffffffu};
    for (size_t b = 0; b < sizeof(bounds) / sizeof(bounds[0]); b++) {
        int bad = 0;
        for (int i = 0; i < 2000; i++)
            if (td_drbg_uniform(&d, bounds[b]) >= bounds[b])
                bad++;
        TD_EXPECT_EQ(bad, 0);
    }
    /* Small bound: every value appears, roughly evenly (6000 draws of 6:
     * each count ~1000; the bounds are > 8 sigma wide). */
    int counts[6] = {0};
    for (int i = 0; i < 6000; i++)
        counts[td_drbg_uniform(&d, 6)]++;
    for (int v = 0; v < 6; v++)
        TD_EXPECT(counts[v] > 700 && counts[v] < 1300);
    /* Bound 3*2^30: a plain r % bound would put half of all draws below
     * 2^30 (those residues have two preimages); uniform puts a third. */
    int low = 0;
    for (int i = 0; i < 3000; i++)
        if (td_drbg_uniform(&d, 0xc0000000u) < 0x40000000u)
            low++;
    TD_EXPECT(low > 850 && low < 1150);
}

static void test_drbg_cleanup(void)
{
    td_drbg d;
    uint8_t out[10];
    td_drbg_init(&d, (const uint8_t *)"s", 1, "l");
    td_drbg_bytes(&d, out, sizeof(out));
    td_drbg_cleanup(&d);
    const uint8_t *p = (const uint8_t *)&d;
    size_t nonzero = 0;
    for (size_t i = 0; i < sizeof(d); i++)
        nonzero += p[i] != 0;
    TD_EXPECT_EQ(nonzero, 0);
    td_drbg_cleanup(NULL);
}

/* td_drbg_init_cached: the state td_drbg_init makes, on a miss, a hit, after
 * the slot was reused for other pairs, and for pairs too long to cache. */
static void test_drbg_init_cached(void)
{
    static const uint8_t long_seed[TD_DRBG_CACHE_SEED + 1] = {1, 2, 3};
    char long_label[TD_DRBG_CACHE_LABEL + 1];
    memset(long_label, 'a', sizeof(long_label) - 1);
    long_label[sizeof(long_label) - 1] = 0;
    const struct {
        const uint8_t *seed;
        size_t len;
        const char *label;
    } pairs[] = {
        {(const uint8_t *)"seed", 4, "client/"},    {(const uint8_t *)"seed", 4, "server/"},
        {(const uint8_t *)"seed", 4, "ticket-key"}, {(const uint8_t *)"seed", 3, "client/"},
        {(const uint8_t *)"sees", 4, "client/"},    {NULL, 0, "client/"},
        {(const uint8_t *)"seed", 4, NULL},         {(const uint8_t *)"seed", 4, ""},
        {long_seed, sizeof(long_seed), "x"},        {(const uint8_t *)"seed", 4, long_label},
    };
    td_drbg_cache cache;
    memset(&cache, 0, sizeof(cache));
    /* Three rounds: more pairs than slots, so later rounds miss and hit. */
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
            /* Twice in a row: the second is a hit when the pair is cacheable. */
            for (int again = 0; again < 2; again++) {
                td_drbg want, got;
                uint8_t w[100], g[100];
                td_drbg_init(&want, pairs[i].seed, pairs[i].len, pairs[i].label);
                td_drbg_init_cached(&cache, &got, pairs[i].seed, pairs[i].len, pairs[i].label);
                TD_EXPECT_MEM(&want, sizeof(want), &got, sizeof(got));
                td_drbg_bytes(&want, w, sizeof(w));
                td_drbg_bytes(&got, g, sizeof(g));
                TD_EXPECT_MEM(w, sizeof(w), g, sizeof(g));
            }
        }
    }
    td_drbg a;
    td_drbg_init_cached(NULL, &a, (const uint8_t *)"s", 1, "l");
    td_drbg b;
    td_drbg_init(&b, (const uint8_t *)"s", 1, "l");
    TD_EXPECT_MEM(&a, sizeof(a), &b, sizeof(b));
    td_drbg_cache_cleanup(&cache);
    const uint8_t *p = (const uint8_t *)&cache;
    size_t nonzero = 0;
    for (size_t i = 0; i < sizeof(cache); i++)
        nonzero += p[i] != 0;
    TD_EXPECT_EQ(nonzero, 0);
    td_drbg_cache_cleanup(NULL);
}

int main(void)
{
    TD_RUN(test_chacha20_block_rfc8439);
    TD_RUN(test_drbg_pinned);
    TD_RUN(test_drbg_determinism);
    TD_RUN(test_drbg_separation);
    TD_RUN(test_drbg_fork);
    TD_RUN(test_drbg_uniform);
    TD_RUN(test_drbg_cleanup);
    TD_RUN(test_drbg_init_cached);
    return td_test_report("test_drbg");
}
