/* tests/unit/test_rfc8448.c -- the RFC 8448 self-check (engine/selfcheck/)
 * on the project's vectors: every check passes and no trace loses steps;
 * a corrupted value is caught at the right step; malformed files give a
 * clean "file:line: error". */
#include "td_test.h"
#include "td_test_file.h"
#include "tlsdrill/selfcheck.h"

/* The number of checks each trace produces today (§3..§7). A replay that
 * silently skips a step drops below its floor. */
static const size_t k_floor[TD_SELFCHECK_NUM_SECTIONS] = {110, 129, 106, 100, 105};

static char *read_vectors(size_t *out_len)
{
    return td_test_read(TD_VECTORS_DIR "/rfc8448.tsv", out_len);
}

static void test_all_pass(void)
{
    td_selfcheck_report rep;
    td_err ret = td_selfcheck_rfc8448(TD_VECTORS_DIR "/rfc8448.tsv", &rep);
    TD_REQUIRE(ret == TD_OK);
    for (size_t i = 0; i < rep.num_items; i++)
        if (!rep.items[i].ok)
            fprintf(stderr, "§%d step %d %s: %s\n", rep.items[i].section, rep.items[i].step,
                    rep.items[i].name, rep.items[i].detail);
    TD_EXPECT_EQ(rep.passed, rep.total);
    TD_EXPECT(td_selfcheck_all_passed(&rep));
    TD_EXPECT(rep.total >= 500);
    size_t sum = 0;
    for (int i = 0; i < TD_SELFCHECK_NUM_SECTIONS; i++) {
        const td_selfcheck_section *s = &rep.sections[i];
        TD_EXPECT_EQ(s->section, 3 + i);
        TD_EXPECT(s->title != NULL);
        TD_EXPECT_EQ(s->passed, s->total);
        if (s->total < k_floor[i])
            fprintf(stderr, "§%d: %zu checks, floor %zu\n", s->section, s->total, k_floor[i]);
        TD_EXPECT(s->total >= k_floor[i]);
        sum += s->total;
    }
    TD_EXPECT_EQ(sum, rep.total);
    TD_EXPECT_EQ(rep.num_items, rep.total);
    /* Key exchange and signatures are real: no input was taken on faith. */
    if (rep.notes[0])
        fprintf(stderr, "notes: %s", rep.notes);
    TD_EXPECT(rep.notes[0] == '\0');
    /* A few checks that must be there by name. */
    static const char *const must[] = {
        "calculate PSK binder: finished", "binder carried in the ClientHello",
        "server CertificateVerify signature verifies", "client CertificateVerify signature verifies",
        "(EC)DHE: client and server derive the same secret",
        "derive secret \"tls13 c e traffic\": expanded",
        "generate resumption secret \"tls13 resumption\": expanded",
    };
    for (size_t m = 0; m < sizeof(must) / sizeof(must[0]); m++) {
        bool found = false;
        for (size_t i = 0; i < rep.num_items && !found; i++)
            found = strcmp(rep.items[i].name, must[m]) == 0 && rep.items[i].ok;
        if (!found)
            fprintf(stderr, "missing check '%s'\n", must[m]);
        TD_EXPECT(found);
    }
    td_selfcheck_report_free(&rep);
    td_selfcheck_report_free(&rep); /* idempotent */
    td_selfcheck_report_free(NULL);
}

/* Replaces the first occurrence of |from| (a hex fragment unique in the
 * file) and expects exactly the named check to fail in |section|. */
static void expect_caught(const char *text, size_t len, const char *from, const char *to,
                          int section, const char *check_prefix)
{
    char *copy = malloc(len + 1);
    if (copy == NULL)
        abort();
    memcpy(copy, text, len);
    copy[len] = '\0';
    char *at = strstr(copy, from);
    TD_REQUIRE(at != NULL && strlen(from) == strlen(to));
    memcpy(at, to, strlen(to));
    td_selfcheck_report rep;
    TD_EXPECT(td_selfcheck_rfc8448_text("mutated.tsv", copy, len, &rep) == TD_OK);
    TD_EXPECT(!td_selfcheck_all_passed(&rep));
    bool named = false;
    for (size_t i = 0; i < rep.num_items; i++)
        if (!rep.items[i].ok && rep.items[i].section == section &&
            strncmp(rep.items[i].name, check_prefix, strlen(check_prefix)) == 0)
            named = true;
    if (!named)
        fprintf(stderr, "mutation %s -> %s: '%s' not reported\n", from, to, check_prefix);
    TD_EXPECT(named);
    td_selfcheck_report_free(&rep);
    free(copy);
}

static void test_mutations_caught(void)
{
    size_t len = 0;
    char *text = read_vectors(&len);
    TD_REQUIRE(text != NULL);
    /* §3 server handshake traffic secret (printed as "expanded"). */
    expect_caught(text, len, "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38",
                  "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad39", 3,
                  "derive secret \"tls13 s hs traffic\": expanded");
    /* §4 binder as printed by the binder step. */
    expect_caught(text, len, "3add4fb2d8fdf822a0ca3cf7678ef5e88dae990141c5924d57bb6fa31b9e5f9d",
                  "3add4fb2d8fdf822a0ca3cf7678ef5e88dae990141c5924d57bb6fa31b9e5f9e", 4,
                  "calculate PSK binder: finished");
    /* §5: one byte of the HelloRetryRequest's cookie changes every later
     * transcript hash (the HRR is hashed after message_hash(CH1)). */
    expect_caught(text, len, "001301000084003300020017002c0074007271dcd04b",
                  "001301000084003300020017002c0074007271dcd04c", 5,
                  "derive secret \"tls13 c hs traffic\": hash");
    /* §6: the client's CertificateVerify signature. */
    expect_caught(text, len, "0f00008408040080186b2223b503a759",
                  "0f00008408040080186b2223b503a758", 6,
                  "client CertificateVerify signature verifies");
    /* §3: the client's private key: the shared secret and all that follows. */
    expect_caught(text, len, "49af42ba7f7994852d713ef2784bcbcaa7911de26adc5642cb634540e7ea5005",
                  "49af42ba7f7994852d713ef2784bcbcaa7911de26adc5642cb634540e7ea5006", 3,
                  "extract secret \"handshake\": IKM");
    free(text);
}

static void expect_format_error(const char *text, const char *want_prefix)
{
    td_selfcheck_report rep;
    td_err ret = td_selfcheck_rfc8448_text("bad.tsv", text, strlen(text), &rep);
    TD_EXPECT_EQ(ret, TD_ERR_FORMAT);
    if (strncmp(rep.error, want_prefix, strlen(want_prefix)) != 0)
        fprintf(stderr, "error '%s', want prefix '%s'\n", rep.error, want_prefix);
    TD_EXPECT(strncmp(rep.error, want_prefix, strlen(want_prefix)) == 0);
    TD_EXPECT_EQ(rep.num_items, 0);
    td_selfcheck_report_free(&rep);
}

static void test_malformed_files(void)
{
    expect_format_error("# c\n3\t0\tclient\tx\tname\n", "bad.tsv:2: error: expected 6");
    expect_format_error("3\t0\tclient\tx\tname\t00\textra\n", "bad.tsv:1: error: more than 6");
    expect_format_error("\n\n3\t0\tclient\tx\tname\t0g\n", "bad.tsv:3: error: bad hex");
    expect_format_error("3\t0\tclient\tx\tname\t012\n", "bad.tsv:1: error: bad hex");
    expect_format_error("9\t0\tclient\tx\tname\t00\n", "bad.tsv:1: error: section 9");
    expect_format_error("three\t0\tclient\tx\tname\t00\n", "bad.tsv:1: error: section 'three'");
    expect_format_error("3\t-1\tclient\tx\tname\t00\n", "bad.tsv:1: error: step");
    expect_format_error("3\t0\tnobody\tx\tname\t00\n", "bad.tsv:1: error: who");
    expect_format_error("3\t0\tclient\t\tname\t00\n", "bad.tsv:1: error: empty step text");
    expect_format_error("3\t0\tclient\tx\t-\t00\n", "bad.tsv:1: error: a value without a name");
    expect_format_error("3\t0\tclient\tx\t\t00\n", "bad.tsv:1: error: empty value name");
    /* An embedded NUL is malformed, with its line. */
    static const char nul[] = "# ok\n3\t0\tclient\tx\tn\t0\0" "0\n";
    td_selfcheck_report rep;
    TD_EXPECT_EQ(td_selfcheck_rfc8448_text("nul.tsv", nul, sizeof(nul) - 1, &rep), TD_ERR_FORMAT);
    TD_EXPECT(strncmp(rep.error, "nul.tsv:2: error:", 17) == 0);
    td_selfcheck_report_free(&rep);
    /* A missing file is an I/O error, with the path. */
    TD_EXPECT_EQ(td_selfcheck_rfc8448("/nonexistent/rfc8448.tsv", &rep), TD_ERR_IO);
    TD_EXPECT(strstr(rep.error, "/nonexistent/rfc8448.tsv") != NULL);
    td_selfcheck_report_free(&rep);
    /* Well-formed but empty: every trace missing, nothing passes. */
    TD_EXPECT(td_selfcheck_rfc8448_text("empty.tsv", "# nothing\n", 10, &rep) == TD_OK);
    TD_EXPECT(!td_selfcheck_all_passed(&rep));
    TD_EXPECT_EQ(rep.total, 5);
    TD_EXPECT_EQ(rep.passed, 0);
    td_selfcheck_report_free(&rep);
    /* Well-formed rows the replay cannot use fail as checks, never crash. */
    static const char junk[] = "3\t0\tclient\tconstruct a ClientHello handshake message\tClientHello\t01\n"
                               "4\t1\tserver\tsomething new:\tvalue\t00\n"
                               "5\t1\tclient\tconstruct a ClientHello handshake message\tClientHello\t01ffffff00\n"
                               "6\t2\tclient\tsend handshake record:\tpayload\t0100\n"
                               "7\t2\tclient\tsend handshake record:\tcomplete record\t16\n";
    TD_EXPECT(td_selfcheck_rfc8448_text("junk.tsv", junk, sizeof(junk) - 1, &rep) == TD_OK);
    TD_EXPECT(!td_selfcheck_all_passed(&rep));
    TD_EXPECT(rep.passed < rep.total);
    td_selfcheck_report_free(&rep);
}

static void test_truncated_files(void)
{
    /* Every prefix of the real file at line boundaries and a few mid-line
     * cuts: a clean result (error or failing checks), never a crash. */
    size_t len = 0;
    char *text = read_vectors(&len);
    TD_REQUIRE(text != NULL);
    size_t runs = 0;
    for (size_t cut = 0; cut + 1 < len; cut += 997) {
        td_selfcheck_report rep;
        td_err ret = td_selfcheck_rfc8448_text("cut.tsv", text, cut, &rep);
        TD_EXPECT(ret == TD_OK || ret == TD_ERR_FORMAT);
        if (ret == TD_ERR_FORMAT)
            TD_EXPECT(strncmp(rep.error, "cut.tsv:", 8) == 0);
        else /* a proper prefix lacks at least the end of §7 */
            TD_EXPECT(!td_selfcheck_all_passed(&rep));
        runs++;
        td_selfcheck_report_free(&rep);
    }
    TD_EXPECT(runs > 10);
    free(text);
}

int main(void)
{
    TD_RUN(test_all_pass);
    TD_RUN(test_mutations_caught);
    TD_RUN(test_malformed_files);
    TD_RUN(test_truncated_files);
    return td_test_report("test_rfc8448");
}
