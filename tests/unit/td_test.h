/* tests/unit/td_test.h -- minimal unit-test harness.
 *
 * A test file defines `static void test_x(void)` functions and lists them in
 * main() with TD_RUN(test_x). Checks count failures and go on; main returns
 * td_test_report(), which prints "N passed, N failed" and exits non-zero on
 * any failure. */
#ifndef TD_TEST_H
#define TD_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int td_test_checks, td_test_failures, td_test_cases, td_test_failed_cases;
static const char *td_test_current = "";

#define TD_EXPECT(cond)                                                                  \
    do {                                                                                 \
        td_test_checks++;                                                                \
        if (!(cond)) {                                                                   \
            td_test_failures++;                                                          \
            fprintf(stderr, "%s:%d: %s: check failed: %s\n", __FILE__, __LINE__,        \
                    td_test_current, #cond);                                             \
        }                                                                                \
    } while (0)

#define TD_EXPECT_EQ(a, b)                                                               \
    do {                                                                                 \
        long long td_a_ = (long long)(a), td_b_ = (long long)(b);                        \
        td_test_checks++;                                                                \
        if (td_a_ != td_b_) {                                                            \
            td_test_failures++;                                                          \
            fprintf(stderr, "%s:%d: %s: %s == %s failed: %lld != %lld\n", __FILE__,     \
                    __LINE__, td_test_current, #a, #b, td_a_, td_b_);                    \
        }                                                                                \
    } while (0)

#define TD_EXPECT_MEM(a, a_len, b, b_len)                                                \
    do {                                                                                 \
        size_t td_al_ = (size_t)(a_len), td_bl_ = (size_t)(b_len);                       \
        td_test_checks++;                                                                \
        if (td_al_ != td_bl_ || (td_al_ && memcmp((a), (b), td_al_) != 0)) {             \
            td_test_failures++;                                                          \
            fprintf(stderr, "%s:%d: %s: bytes differ: %s (%zu) vs %s (%zu)\n", __FILE__,  \
                    __LINE__, td_test_current, #a, td_al_, #b, td_bl_);                  \
        }                                                                                \
    } while (0)

/* Fatal for the current test case: return from it. */
#define TD_REQUIRE(cond)                                                                 \
    do {                                                                                 \
        td_test_checks++;                                                                \
        if (!(cond)) {                                                                   \
            td_test_failures++;                                                          \
            fprintf(stderr, "%s:%d: %s: required: %s\n", __FILE__, __LINE__,            \
                    td_test_current, #cond);                                             \
            return;                                                                      \
        }                                                                                \
    } while (0)

#define TD_RUN(fn)                                                                       \
    do {                                                                                 \
        int td_before_ = td_test_failures;                                               \
        td_test_current = #fn;                                                           \
        td_test_cases++;                                                                 \
        fn();                                                                            \
        if (td_test_failures != td_before_)                                              \
            td_test_failed_cases++;                                                      \
    } while (0)

static inline int td_test_report(const char *suite)
{
    printf("%s: %d checks in %d cases\n", suite, td_test_checks, td_test_cases);
    printf("%d passed, %d failed\n", td_test_cases - td_test_failed_cases, td_test_failed_cases);
    if (td_test_checks == 0) {
        fprintf(stderr, "%s: no checks ran\n", suite);
        return 1;
    }
    return td_test_failures ? 1 : 0;
}

/* Hex helpers for vectors: returns malloc'd bytes (free()), NULL on bad hex. */
static inline uint8_t *td_test_unhex(const char *hex, size_t *out_len)
{
    size_t n = strlen(hex);
    if (n % 2)
        return NULL;
    uint8_t *out = malloc(n / 2 + 1);
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
            free(out);
            return NULL;
        }
        out[i] = (uint8_t)v;
    }
    *out_len = n / 2;
    return out;
}

#endif
