/* tests/unit/test_fuzz_differential.c -- the differential check of
 * fuzz/differential.c: every seed of corpus/differential is answered alike
 * by the engine's server and libssl's; a divergence the known table lists
 * is not a finding but names its reason; a planted difference (our server
 * limited to one cipher suite) is a finding whose oracle line names our
 * rule and both answers; "TDP1" programs are not run. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "td_test.h"
#include "td_test_file.h"

#include "differential.h"

/* A corpus file into |buf| (|cap| bytes); 0 when it is missing or larger. */
static size_t slurp(const char *path, uint8_t *buf, size_t cap)
{
    size_t n = 0;
    char *text = td_test_read(path, &n);
    if (text == NULL || n > cap)
        n = 0;
    else
        memcpy(buf, text, n);
    free(text);
    return n;
}

static void test_seeds_agree(void)
{
    td_diff_ctx *c = NULL;
    TD_REQUIRE(td_diff_ctx_new(&c) == TD_OK);
    DIR *d = opendir(TD_DIFF_CORPUS_DIR);
    TD_REQUIRE(d != NULL);
    static uint8_t buf[1 << 16];
    int seeds = 0, hello = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", TD_DIFF_CORPUS_DIR, e->d_name);
        size_t n = slurp(path, buf, sizeof(buf));
        td_diff_result r;
        TD_EXPECT(td_diff_run(c, buf, n, &r) == TD_OK);
        if (r.finding || r.known != NULL)
            fprintf(stderr, "  %s: ours %s, openssl %s\n", e->d_name, td_diff_side_name(&r.ours),
                    td_diff_side_name(&r.theirs));
        TD_EXPECT(!r.finding && r.known == NULL);
        seeds++;
        hello += r.ours.kind == TD_DIFF_SH || r.ours.kind == TD_DIFF_HRR;
    }
    closedir(d);
    TD_EXPECT(seeds >= 30);
    TD_EXPECT(hello >= seeds - 4); /* a few seeds are refused by both, on purpose */
    td_diff_ctx_free(c);
}

/* The "default" seed with its compression methods set to {1}. */
static size_t compression_one(uint8_t *buf, size_t cap)
{
    size_t n = slurp(TD_DIFF_CORPUS_DIR "/default", buf, cap);
    if (n < 60)
        return 0;
    size_t at = 5 + 4 + 34;
    at += 1 + buf[at];                              /* session id */
    at += 2 + ((size_t)buf[at] << 8 | buf[at + 1]); /* cipher suites */
    if (buf[at] != 1 || buf[at + 1] != 0)
        return 0;
    buf[at + 1] = 1;
    return n;
}

static void test_known_divergence(void)
{
    td_diff_ctx *c = NULL;
    TD_REQUIRE(td_diff_ctx_new(&c) == TD_OK);
    uint8_t buf[4096];
    size_t n = compression_one(buf, sizeof(buf));
    TD_REQUIRE(n > 0);
    td_diff_result r;
    TD_REQUIRE(td_diff_run(c, buf, n, &r) == TD_OK);
    /* RFC 8446 4.1.2: illegal_parameter (ours); libssl says decode_error. */
    TD_EXPECT_EQ(r.ours.kind, TD_DIFF_ALERT);
    TD_EXPECT_EQ(r.ours.alert, 47);
    TD_EXPECT(strcmp(r.ours.rule, "CH-COMPRESSION") == 0);
    TD_EXPECT_EQ(r.theirs.kind, TD_DIFF_ALERT);
    TD_EXPECT_EQ(r.theirs.alert, 50);
    TD_EXPECT(!r.finding);
    TD_EXPECT(r.known != NULL && strncmp(r.known, "openssl:", 8) == 0);
    td_diff_ctx_free(c);
}

static void test_planted_difference_is_a_finding(void)
{
    static const uint16_t only_chacha[] = {0x1303};
    td_diff_ctx *c = NULL;
    TD_REQUIRE(td_diff_ctx_new(&c) == TD_OK);
    td_config *cfg = td_diff_ctx_engine_config(c);
    cfg->suites = only_chacha;
    cfg->num_suites = 1;
    uint8_t buf[4096];
    size_t n = slurp(TD_DIFF_CORPUS_DIR "/suite-1301", buf, sizeof(buf));
    TD_REQUIRE(n > 0);
    td_diff_result r;
    TD_REQUIRE(td_diff_run(c, buf, n, &r) == TD_OK);
    TD_EXPECT(r.finding);
    TD_EXPECT_EQ(r.theirs.kind, TD_DIFF_SH);
    char line[512];
    td_diff_oracle_line(&r, line, sizeof(line));
    static const char want[] = "==tlsdrill-oracle== differential: differential: rule "
                               "GEN-NO-COMMON-PARAMS alert handshake_failure: openssl sent "
                               "server_hello";
    if (strncmp(line, want, sizeof(want) - 1) != 0)
        fprintf(stderr, "  line: %s\n", line);
    TD_EXPECT(strncmp(line, want, sizeof(want) - 1) == 0);
    TD_EXPECT(strchr(line, '\n') == NULL);
    td_diff_ctx_free(c);
}

static void test_deterministic_and_bounded(void)
{
    td_diff_ctx *c = NULL;
    TD_REQUIRE(td_diff_ctx_new(&c) == TD_OK);
    uint8_t buf[4096];
    size_t n = slurp(TD_DIFF_CORPUS_DIR "/psk-early-data", buf, sizeof(buf));
    TD_REQUIRE(n > 0);
    /* Every prefix: no crash, no harness error, the same verdict twice. */
    for (size_t k = 0; k <= n; k++) {
        td_diff_result a, b;
        TD_EXPECT(td_diff_run(c, buf, k, &a) == TD_OK);
        TD_EXPECT(td_diff_run(c, buf, k, &b) == TD_OK);
        TD_EXPECT(a.ours.kind == b.ours.kind && a.theirs.kind == b.theirs.kind &&
                  a.finding == b.finding);
        if (a.finding) {
            char line[512];
            td_diff_oracle_line(&a, line, sizeof(line));
            fprintf(stderr, "  prefix %zu: %s\n", k, line);
        }
        TD_EXPECT(!a.finding);
    }
    td_diff_ctx_free(c);
}

int main(void)
{
    TD_RUN(test_seeds_agree);
    TD_RUN(test_known_divergence);
    TD_RUN(test_planted_difference_is_a_finding);
    TD_RUN(test_deterministic_and_bounded);
    return td_test_report("test_fuzz_differential");
}
