/* tests/unit/test_scenario.c -- the scenario language: every diagnostic
 * with its exact file:line:col, matrix expansion, the parsed structure, the
 * printed diagnostic format, and the runner's verdicts on small cases. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "td_test.h"

#include "tlsdrill/peers.h"
#include "tlsdrill/scenario.h"

static td_scn_file *parse(const char *text, td_scn_diags *d)
{
    td_scn_file *f = NULL;
    memset(d, 0, sizeof(*d));
    TD_EXPECT(td_scn_parse("t.scn", text, strlen(text), &f, d) == TD_OK);
    return f;
}

#define OK_HEAD "scenario a\nsut server\n"

typedef struct bad_case {
    const char *text;
    int line, col;
    const char *message;
} bad_case;

static const bad_case k_bad[] = {
    {OK_HEAD "frobnicate 1\nexpect handshake\n", 3, 1, "unknown keyword 'frobnicate'"},
    {OK_HEAD "rule GEN-DECODE NOPE-RULE\nexpect rule\n", 3, 17, "unknown rule 'NOPE-RULE'"},
    {OK_HEAD "bug psk_first no_knob\nexpect handshake\n", 3, 15,
     "unknown bug knob 'no_knob' (see engine/include/tlsdrill/bugs.def)"},
    {OK_HEAD "send ClientHello\n  add 0xfafa 0z\nexpect handshake\n", 4, 15,
     "bad hex '0z': 'z' is not a hex digit"},
    {OK_HEAD "send ClientHello\n  add 0xfafa 012\nexpect handshake\n", 4, 17,
     "bad hex '012': odd number of digits"},
    {OK_HEAD "expect alert decode_error bogus_alert\n", 3, 27, "unknown alert 'bogus_alert'"},
    {OK_HEAD "send ClientHelo\nexpect handshake\n", 3, 6, "unknown message 'ClientHelo'"},
    {OK_HEAD "send ClientHello\n  remove key_shares\nexpect handshake\n", 4, 10,
     "unknown extension 'key_shares'"},
    {"scenario a\nmatrix g = x25519 secp256r1\nsut server\nexpect handshake\n", 2, 8,
     "matrix variable 'g' is never used"},
    {"scenario a[$g]\nsut server\nexpect handshake\n", 1, 12,
     "matrix variable '$g' is not defined"},
    {OK_HEAD "send ServerHello\nexpect handshake\n", 3, 6,
     "our side is the client (sut server): it never sends a ServerHello"},
    {"scenario a\nsut client\nsend EndOfEarlyData\nexpect handshake\n", 3, 6,
     "our side is the server (sut client): it never sends a EndOfEarlyData"},
    {"scenario a\nexpect handshake\n", 1, 1, "case 'a' has no 'sut server|client'"},
    {OK_HEAD "send ClientHello\n", 1, 1, "case 'a' has no 'expect'"},
    {OK_HEAD "expect rule\n", 3, 8, "'expect rule' but the case names no rule"},
    {OK_HEAD "client frobs 1\nexpect handshake\n", 3, 8, "unknown client setting 'frobs'"},
    {OK_HEAD "server key-shares x25519\nexpect handshake\n", 3, 8,
     "'key-shares' is a client setting"},
    {OK_HEAD "client suites TLS_FOO\nexpect handshake\n", 3, 15,
     "unknown cipher suite 'TLS_FOO' (known: TLS_AES_128_GCM_SHA256, "
     "TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256, or a number)"},
    {OK_HEAD "client groups x25519 curve9\nexpect handshake\n", 3, 22,
     "unknown group 'curve9' (known: secp256r1, secp384r1, secp521r1, x25519, x448, ffdhe2048, "
     "P-256, P-384, P-521, X25519, X448, or a number)"},
    {OK_HEAD "  remove key_share\nexpect handshake\n", 3, 3,
     "indented edit 'remove' outside a 'send' step"},
    {OK_HEAD "send Finished\n  binder corrupt\nexpect handshake\n", 4, 3,
     "binder edits apply to a ClientHello, not a Finished"},
    {OK_HEAD "send ClientHello\n  binder bent\nexpect handshake\n", 4, 10,
     "unknown binder mode 'bent' (recompute, stale, corrupt, wrong-transcript, or N xor HEX)"},
    {OK_HEAD "send ClientHello\n  supported_groups swap x25519\nexpect handshake\n", 4, 20,
     "unknown list operation 'swap' (remove, add, prepend, clear)"},
    {OK_HEAD "send ClientHello\n  set random 0011\nexpect handshake\n", 4, 14,
     "random must be 32 bytes, not 2"},
    {OK_HEAD "send ClientHello\n  set cipher_suite TLS_AES_128_GCM_SHA256\nexpect handshake\n", 4,
     7, "field 'cipher_suite' is not in a ClientHello"},
    {OK_HEAD "send ClientHello 0\nexpect handshake\n", 3, 18, "messages are counted from 1"},
    {OK_HEAD "server tickets many\nexpect handshake\n", 3, 16, "bad number 'many' (0..8)"},
    {"sut server\nscenario a\nsut server\nexpect handshake\n", 1, 1,
     "expected 'scenario NAME' before 'sut'"},
    {OK_HEAD "expect handshake\nscenario a\nsut server\nexpect handshake\n", 4, 10,
     "duplicate case name 'a'"},
    {OK_HEAD "expect sometimes\n", 3, 8,
     "unknown expectation 'sometimes' (rule, alert NAME..., handshake, resumed, early-data, "
     "early-data-rejected, no-alert, closed, message M)"},
    {OK_HEAD "expect handshake\nexpect closed\n", 4, 1, "a case has one 'expect'"},
    {OK_HEAD "sut both\nexpect handshake\n", 3, 5, "'sut' is server or client, not 'both'"},
    {"scenario a[$g]\nmatrix g x25519\nsut server\nexpect handshake\n", 2, 10,
     "expected 'matrix VAR = VALUE...'"},
    {OK_HEAD "send Finished\n  remove key_share\nexpect handshake\n", 4, 3,
     "a Finished has no extensions to edit"},
    {OK_HEAD "send ClientHello\n  record-before 16$\nexpect handshake\n", 4, 19,
     "'$' must start a matrix variable ($NAME or ${NAME})"},
    {OK_HEAD "send ClientHello\n  record-version 0x10000\nexpect handshake\n", 4, 18,
     "bad number '0x10000' (0..65535)"},
    {"scenario a\nsut client\nclient key-shares none\nexpect handshake\n", 1, 1,
     "'client key-shares none' needs our side to be the client (sut server)"},
    {OK_HEAD "expect message Hello\n", 3, 16, "unknown message 'Hello'"},
    {"scenario a\nsut client\nsend ServerHello\n  remove cookie\nexpect handshake\n", 4, 10,
     "our ServerHello never carries cookie (RFC 8446 4.2): 'add' it first"},
    {OK_HEAD "rule TOL-CCS\nexpect rule\n", 4, 8,
     "TOL-CCS is a tolerance rule (the peer must not abort): expect no-alert or handshake"},
    {OK_HEAD "send Finished\n  append 00\nexpect handshake\n", 4, 3,
     "'append' applies to plaintext messages (ClientHello, ServerHello, HelloRetryRequest)"},
    {OK_HEAD "client record-size 0\nexpect handshake\n", 3, 20, "'record-size' is 1..16384"},
    {OK_HEAD "send ClientHello\n  psk_identity 0 size 3\nexpect handshake\n", 4, 18,
     "expected 'psk_identity add HEX [AGE]', 'psk_identity N insert HEX [AGE]', 'psk_identity N "
     "raw HEX' or 'psk_identity N age VALUE'"},
    {OK_HEAD "send ClientHello\n  psk_identity add 61 3 4\nexpect handshake\n", 4, 25,
     "unexpected word '4' after 'psk_identity add HEX AGE'"},
    {OK_HEAD "send ClientHello\n  psk_identity 0 raw 61 3\nexpect handshake\n", 4, 18,
     "expected 'psk_identity add HEX [AGE]', 'psk_identity N insert HEX [AGE]', 'psk_identity N "
     "raw HEX' or 'psk_identity N age VALUE'"},
    {OK_HEAD "send ClientHello\n  add 0xfafa\nexpect handshake\n", 4, 7,
     "'0xfafa' has no built-in form in a ClientHello: give its bytes in hex"},
};

static void test_diagnostics(void)
{
    for (size_t i = 0; i < sizeof(k_bad) / sizeof(k_bad[0]); i++) {
        td_scn_diags d;
        td_scn_file *f = parse(k_bad[i].text, &d);
        td_test_current = k_bad[i].message;
        TD_EXPECT_EQ(d.num, 1);
        if (d.num >= 1) {
            TD_EXPECT(strcmp(d.list[0].file, "t.scn") == 0);
            TD_EXPECT_EQ(d.list[0].line, k_bad[i].line);
            TD_EXPECT_EQ(d.list[0].col, k_bad[i].col);
            TD_EXPECT(strcmp(d.list[0].message, k_bad[i].message) == 0);
            if (strcmp(d.list[0].message, k_bad[i].message) != 0)
                fprintf(stderr, "    got '%s'\n", d.list[0].message);
        }
        /* A case with a diagnostic is never returned. */
        TD_EXPECT(f != NULL);
        if (f != NULL && strstr(k_bad[i].message, "duplicate") == NULL && k_bad[i].line != 1)
            TD_EXPECT_EQ(f->num_cases, 0);
        td_scn_file_free(f);
        td_scn_diags_cleanup(&d);
    }
}

/* Several diagnostics in one file, in source order; good cases still parse. */
static void test_several(void)
{
    static const char text[] =
        "scenario good\nsut server\nexpect handshake\n\n"
        "scenario bad\nrule NOPE\nsut client\nsend ClientHello\n  add 0xfafa xx\n"
        "expect alert nope\n";
    td_scn_diags d;
    td_scn_file *f = parse(text, &d);
    TD_REQUIRE(f != NULL);
    TD_EXPECT_EQ(f->num_cases, 1);
    TD_EXPECT_EQ(d.num, 4);
    if (d.num == 4) {
        TD_EXPECT_EQ(d.list[0].line, 6);  /* unknown rule */
        TD_EXPECT_EQ(d.list[1].line, 8);  /* ClientHello from a server */
        TD_EXPECT_EQ(d.list[2].line, 9);  /* bad hex */
        TD_EXPECT_EQ(d.list[3].line, 10); /* unknown alert */
    }
    td_scn_file_free(f);
    td_scn_diags_cleanup(&d);
}

static void test_print_format(void)
{
    td_scn_diags d;
    td_scn_file *f = parse("scenario a\nsut server\n\trule NOPE\nexpect handshake\n", &d);
    char buf[512] = {0};
    FILE *tmp = tmpfile();
    TD_REQUIRE(tmp != NULL);
    td_scn_diags_print(&d, tmp);
    rewind(tmp);
    size_t n = fread(buf, 1, sizeof(buf) - 1, tmp);
    fclose(tmp);
    buf[n] = '\0';
    /* The rule line is indented with a tab: an indented line is an edit. */
    TD_EXPECT(strcmp(buf, "t.scn:3:2: error: indented edit 'rule' outside a 'send' step\n  \trule "
                          "NOPE\n  \t^\n") == 0);
    td_scn_file_free(f);
    td_scn_diags_cleanup(&d);
}

static void test_matrix(void)
{
    static const char text[] = "# two variables: 2 x 3 cases\n"
                               "scenario ks[$g]-$v\n"
                               "matrix g = x25519 secp256r1\n"
                               "matrix v = 0x0301 0x0302 0x0304\n"
                               "rule KS-GROUP-NOT-IN-SUPPORTED\n"
                               "sut server\n"
                               "client key-shares $g\n"
                               "send ClientHello\n"
                               "  supported_groups remove $g\n"
                               "  set legacy_version $v\n"
                               "expect rule\n";
    td_scn_diags d;
    td_scn_file *f = parse(text, &d);
    TD_REQUIRE(f != NULL);
    TD_EXPECT_EQ(d.num, 0);
    TD_REQUIRE(f->num_cases == 6);
    static const char *const names[] = {"ks[x25519]-0x0301",    "ks[x25519]-0x0302",
                                        "ks[x25519]-0x0304",    "ks[secp256r1]-0x0301",
                                        "ks[secp256r1]-0x0302", "ks[secp256r1]-0x0304"};
    for (size_t i = 0; i < 6; i++) {
        const td_scn_case *c = &f->cases[i];
        TD_EXPECT(strcmp(c->name, names[i]) == 0);
        TD_EXPECT_EQ(c->line, 2);
        uint16_t g = i < 3 ? TD_GROUP_X25519 : TD_GROUP_SECP256R1;
        TD_EXPECT_EQ(c->client.num_shares, 1);
        TD_EXPECT_EQ(c->client.shares[0], g);
        TD_REQUIRE(c->num_steps == 1 && c->steps[0].num_edits == 2);
        TD_EXPECT_EQ(c->steps[0].edits[0].kind, TD_SCN_EDIT_LIST);
        TD_EXPECT_EQ(c->steps[0].edits[0].value, g);
        TD_EXPECT_EQ(c->steps[0].edits[1].value, (uint32_t)(i % 3 == 0   ? 0x0301
                                                            : i % 3 == 1 ? 0x0302
                                                                         : 0x0304));
    }
    td_scn_file_free(f);
    td_scn_diags_cleanup(&d);
    /* A bad value inside a matrix is reported once, at the $VAR's column. */
    f = parse(
        "scenario a[$g]\nmatrix g = x25519 nope\nsut server\nclient groups $g\nexpect handshake\n",
        &d);
    TD_EXPECT_EQ(d.num, 1);
    if (d.num == 1) {
        TD_EXPECT_EQ(d.list[0].line, 4);
        TD_EXPECT_EQ(d.list[0].col, 15);
        TD_EXPECT(strcmp(d.list[0].message,
                         "unknown group 'nope' (known: secp256r1, secp384r1, secp521r1, x25519, "
                         "x448, ffdhe2048, P-256, P-384, P-521, X25519, X448, or a number)") == 0);
    }
    TD_EXPECT(f != NULL && f->num_cases == 1); /* the x25519 case is fine */
    td_scn_file_free(f);
    td_scn_diags_cleanup(&d);
}

/* ${VAR} inside a word, record edits, PSK edits, record-size. */
static void test_braces_and_records(void)
{
    static const char text[] = "scenario r[$t]\n"
                               "matrix t = 19 ff\n"
                               "sut server\n"
                               "client record-size 100\n"
                               "send ClientHello\n"
                               "  record-before ${t}0303000100\n"
                               "  ccs-before\n"
                               "  ccs-before 02\n"
                               "  record-version 0x0301\n"
                               "  binder 0 length 48\n"
                               "  binder add 32\n"
                               "  binder remove 1\n"
                               "  psk_identity add 6162 7\n"
                               "  psk_identity 0 age 9\n"
                               "  psk_identity 1 raw 00\n"
                               "  psk_identity 0 insert 6162 5\n"
                               "expect resumed\n";
    td_scn_diags d;
    td_scn_file *f = parse(text, &d);
    TD_REQUIRE(f != NULL);
    TD_EXPECT_EQ(d.num, 0);
    TD_REQUIRE(f->num_cases == 2);
    TD_EXPECT(strcmp(f->cases[1].name, "r[ff]") == 0);
    TD_EXPECT_EQ(f->cases[0].client.record_size, 100);
    TD_EXPECT_EQ(f->cases[0].expect, TD_SCN_EXPECT_RESUMED);
    const td_scn_step *s = &f->cases[1].steps[0];
    TD_REQUIRE(s->num_edits == 11);
    TD_EXPECT_EQ(s->edits[0].kind, TD_SCN_EDIT_RECORD_BEFORE);
    TD_EXPECT_MEM(s->edits[0].bytes, s->edits[0].len, "\xff\x03\x03\x00\x01\x00", 6);
    TD_EXPECT_MEM(s->edits[1].bytes, s->edits[1].len, "\x14\x03\x03\x00\x01\x01", 6);
    TD_EXPECT_MEM(s->edits[2].bytes, s->edits[2].len, "\x14\x03\x03\x00\x01\x02", 6);
    TD_EXPECT_EQ(s->edits[3].kind, TD_SCN_EDIT_RECORD_VERSION);
    TD_EXPECT_EQ(s->edits[3].value, 0x0301);
    TD_EXPECT_EQ(s->edits[4].kind, TD_SCN_EDIT_BINDER_LENGTH);
    TD_EXPECT_EQ(s->edits[4].value, 48);
    TD_EXPECT_EQ(s->edits[5].kind, TD_SCN_EDIT_BINDER_ADD);
    TD_EXPECT_EQ(s->edits[6].kind, TD_SCN_EDIT_BINDER_REMOVE);
    TD_EXPECT_EQ(s->edits[6].index, 1);
    TD_EXPECT_EQ(s->edits[7].kind, TD_SCN_EDIT_IDENTITY_ADD);
    TD_EXPECT_EQ(s->edits[7].value, 7);
    TD_EXPECT_EQ(s->edits[8].kind, TD_SCN_EDIT_IDENTITY_AGE);
    TD_EXPECT_EQ(s->edits[9].kind, TD_SCN_EDIT_IDENTITY_SET);
    TD_EXPECT_EQ(s->edits[10].kind, TD_SCN_EDIT_IDENTITY_INSERT);
    TD_EXPECT_EQ(s->edits[10].index, 0);
    TD_EXPECT_EQ(s->edits[10].value, 5);
    TD_EXPECT_MEM(s->edits[10].bytes, s->edits[10].len, "\x61\x62", 2);
    td_scn_file_free(f);
    td_scn_diags_cleanup(&d);
}

static void test_structure(void)
{
    static const char text[] = "scenario psk-binder-flipped   # comment\n"
                               "rule PSK-BINDER-INVALID\n"
                               "sut server\n"
                               "resume ticket\n"
                               "client suites TLS_AES_256_GCM_SHA384 0x1301\n"
                               "client alpn h2 http/1.1\n"
                               "server hrr always\n"
                               "server cookie\n"
                               "bug psk_first\n"
                               "send ClientHello 2\n"
                               "  binder 0 xor 00:01\n"
                               "  binder wrong-transcript\n"
                               "  move pre_shared_key first\n"
                               "  key_share add x25519 0102\n"
                               "expect alert decrypt_error illegal_parameter\n";
    td_scn_diags d;
    td_scn_file *f = parse(text, &d);
    TD_REQUIRE(f != NULL && f->num_cases == 1);
    TD_EXPECT_EQ(d.num, 0);
    const td_scn_case *c = &f->cases[0];
    TD_EXPECT(strcmp(c->name, "psk-binder-flipped") == 0);
    TD_EXPECT_EQ(c->num_rules, 1);
    TD_EXPECT_EQ(c->rules[0], TD_RULE_PSK_BINDER_INVALID);
    TD_EXPECT_EQ(c->sut, TD_ROLE_SERVER);
    TD_EXPECT(c->resume);
    TD_EXPECT_EQ(c->client.num_suites, 2);
    TD_EXPECT_EQ(c->client.suites[0], 0x1302);
    TD_EXPECT_EQ(c->client.suites[1], 0x1301);
    TD_EXPECT_EQ(c->client.num_alpn, 2);
    TD_EXPECT(strcmp(c->client.alpn[1], "http/1.1") == 0);
    TD_EXPECT_EQ(c->server.hrr, TD_HRR_ALWAYS);
    TD_EXPECT(c->server.cookie);
    TD_EXPECT(c->bugs.psk_first);
    TD_REQUIRE(c->num_steps == 1);
    const td_scn_step *s = &c->steps[0];
    TD_EXPECT_EQ(s->msg_type, TD_MSG_CLIENT_HELLO);
    TD_EXPECT_EQ(s->nth, 2);
    TD_REQUIRE(s->num_edits == 4);
    TD_EXPECT_EQ(s->edits[0].kind, TD_SCN_EDIT_BINDER_XOR);
    TD_EXPECT_EQ(s->edits[0].index, 0);
    TD_EXPECT_MEM(s->edits[0].bytes, s->edits[0].len, "\x00\x01", 2);
    TD_EXPECT_EQ(s->edits[1].binder, TD_BINDER_WRONG_TRANSCRIPT);
    TD_EXPECT_EQ(s->edits[2].kind, TD_SCN_EDIT_MOVE);
    TD_EXPECT_EQ(s->edits[2].ext, TD_EXT_PRE_SHARED_KEY);
    TD_EXPECT_EQ(s->edits[2].index, 0);
    TD_EXPECT_EQ(s->edits[3].kind, TD_SCN_EDIT_KEY_SHARE_ADD);
    TD_EXPECT_EQ(s->edits[3].line, 14);
    TD_EXPECT_EQ(c->expect, TD_SCN_EXPECT_ALERT);
    TD_EXPECT_EQ(c->alerts, TD_AB(decrypt_error) | TD_AB(illegal_parameter));
    td_scn_file_free(f);
    td_scn_diags_cleanup(&d);
}

/* The runner's verdicts, against the engine. */
static void test_runner(void)
{
    static const char text[] =
        "scenario ok\nsut server\nexpect handshake\n"
        "scenario flip\nrule PSK-BINDER-INVALID\nsut server\nresume ticket\n"
        "send ClientHello\n  binder 0 xor 01\nexpect rule\n"
        "scenario wrong\nsut server\nsend ClientHello\n  set compression 0101\n"
        "expect alert decode_error\n"
        "scenario wrong-rule\nrule FIN-BAD\nsut server\nsend ClientHello\n"
        "  set compression 0101\nexpect rule\n"
        "scenario noedit\nsut client\nsend ServerHello\n  remove pre_shared_key\nexpect handshake\n"
        "scenario nohrr\nsut server\nsend ClientHello 2\n  add 0xfafa 00\nexpect handshake\n";
    td_scn_diags d;
    td_scn_file *f = parse(text, &d);
    TD_REQUIRE(f != NULL && f->num_cases == 6);
    td_crypto *crypto = NULL;
    TD_REQUIRE(td_crypto_new(&crypto) == TD_OK);
    td_scn_peer engine;
    td_scn_peer_engine(&engine);
    td_scn_opts o = {
        .crypto = crypto, .cert_dir = TD_VECTORS_DIR "/certs", .seed = 7, .peer = &engine};
    td_scn_runner *r = NULL;
    TD_REQUIRE(td_scn_runner_new(&o, &r) == TD_OK);
    td_scn_result res, again;
    TD_EXPECT(td_scn_run_case(r, &f->cases[0], &res) == TD_OK);
    TD_EXPECT_EQ(res.verdict, TD_SCN_PASS);
    TD_EXPECT(strcmp(res.actual, "handshake") == 0);
    /* Deterministic: same seed, same bytes. */
    TD_EXPECT(td_scn_run_case(r, &f->cases[0], &again) == TD_OK);
    TD_EXPECT_MEM(res.digest, 32, again.digest, 32);
    TD_EXPECT(td_scn_run_case(r, &f->cases[1], &res) == TD_OK);
    TD_EXPECT_EQ(res.verdict, TD_SCN_PASS);
    TD_EXPECT(strcmp(res.actual, "alert decrypt_error") == 0);
    TD_EXPECT(strcmp(res.sut_rule, "PSK-BINDER-INVALID") == 0);
    /* Refused with another alert: alert-differs, judged under the rule's level. */
    TD_EXPECT(td_scn_run_case(r, &f->cases[2], &res) == TD_OK);
    TD_EXPECT_EQ(res.verdict, TD_SCN_ALERT_DIFFERS);
    TD_EXPECT(strncmp(res.reason,
                      "expected decode_error, got alert illegal_parameter (SUT rule CH-COMPRESSION "
                      "at engine/",
                      86) == 0);
    TD_EXPECT(td_scn_run_case(r, &f->cases[3], &res) == TD_OK);
    TD_EXPECT_EQ(res.verdict, TD_SCN_ALERT_DIFFERS);
    TD_EXPECT(strcmp(res.level, "MUST") == 0);
    TD_EXPECT(strstr(res.reason, "expected decrypt_error, got alert illegal_parameter") ==
              res.reason);
    /* An edit that cannot apply is an error of the case, not a verdict on the SUT. */
    TD_EXPECT(td_scn_run_case(r, &f->cases[4], &res) == TD_OK);
    TD_EXPECT_EQ(res.verdict, TD_SCN_ERROR);
    TD_EXPECT(strcmp(res.reason,
                     "t.scn:25: the edit cannot apply to our ServerHello (bad_argument)") == 0);
    if (strcmp(res.reason, "t.scn:25: the edit cannot apply to our ServerHello (bad_argument)") !=
        0)
        fprintf(stderr, "    got '%s'\n", res.reason);
    /* A step that never applied (no HRR, so no second ClientHello) tested nothing. */
    TD_EXPECT(td_scn_run_case(r, &f->cases[5], &res) == TD_OK);
    TD_EXPECT_EQ(res.verdict, TD_SCN_ERROR);
    TD_EXPECT(strcmp(res.reason,
                     "t.scn:29: our side never sent ClientHello 2, the step did not apply") == 0);
    if (strcmp(res.reason, "t.scn:29: our side never sent ClientHello 2, the step did not apply") !=
        0)
        fprintf(stderr, "    got '%s'\n", res.reason);
    /* Another seed: other bytes. */
    td_scn_runner_free(r);
    o.seed = 8;
    TD_REQUIRE(td_scn_runner_new(&o, &r) == TD_OK);
    TD_EXPECT(td_scn_run_case(r, &f->cases[0], &res) == TD_OK);
    TD_EXPECT(memcmp(res.digest, again.digest, 32) != 0);
    td_scn_runner_free(r);
    td_crypto_free(crypto);
    td_scn_file_free(f);
    td_scn_diags_cleanup(&d);
}

/* A peer that closes without an alert (as a TCP peer may, §6.2): strict
 * mode fails the case, lenient mode passes it. Also shows the peer
 * interface: the runner needs nothing from td_pair. */
static td_err closing_peer(void *arg, const td_config *ours, const td_config *sut,
                           unsigned max_rounds, td_scn_post_fn post, void *post_arg,
                           td_scn_outcome *out)
{
    (void)post;
    (void)post_arg;
    (void)ours;
    (void)sut;
    (void)max_rounds;
    int *calls = arg;
    (*calls)++;
    memset(out, 0, sizeof(*out));
    out->ours.phase = TD_PHASE_CLOSED;
    out->ours.state = "WAIT_SERVER_HELLO";
    return TD_OK;
}

/* A SUT that completes the handshake and then closes cleanly (s_client
 * with </dev/null, a tcp: server answering our close_notify): RFC 8446
 * §6.1 makes close_notify a closure, so `expect handshake` passes; an
 * alert expectation does not (the SUT did not refuse). */
static td_err completing_closing_peer(void *arg, const td_config *ours, const td_config *sut,
                                      unsigned max_rounds, td_scn_post_fn post, void *post_arg,
                                      td_scn_outcome *out)
{
    (void)arg;
    (void)ours;
    (void)sut;
    (void)max_rounds;
    (void)post;
    (void)post_arg;
    memset(out, 0, sizeof(*out));
    out->ours.completed = true;
    out->ours.phase = TD_PHASE_CLOSED;
    out->ours.state = "CLOSED";
    out->ours.alert_received = true;
    out->ours.alert_received_level = 1;
    out->ours.alert_received_desc = TD_ALERT_close_notify;
    return TD_OK;
}

static void test_completed_then_closed(void)
{
    td_scn_diags d;
    td_scn_file *f = parse("scenario hs\nsut client\nexpect handshake\n"
                           "scenario refuse\nrule CH-COMPRESSION\nsut server\nexpect rule\n",
                           &d);
    TD_REQUIRE(f != NULL && f->num_cases == 2);
    td_crypto *crypto = NULL;
    TD_REQUIRE(td_crypto_new(&crypto) == TD_OK);
    td_scn_peer peer = {.name = "closing-after", .run = completing_closing_peer};
    td_scn_opts o = {.crypto = crypto, .cert_dir = TD_VECTORS_DIR "/certs", .peer = &peer};
    td_scn_runner *r = NULL;
    td_scn_result res;
    TD_REQUIRE(td_scn_runner_new(&o, &r) == TD_OK);
    TD_EXPECT(td_scn_run_case(r, &f->cases[0], &res) == TD_OK);
    TD_EXPECT_EQ(res.verdict, TD_SCN_PASS);
    TD_EXPECT(strcmp(res.actual, "handshake, closed") == 0);
    TD_EXPECT(strcmp(res.level, "-") == 0);
    TD_EXPECT(td_scn_run_case(r, &f->cases[1], &res) == TD_OK);
    TD_EXPECT_EQ(res.verdict, TD_SCN_FAIL);
    TD_EXPECT(strcmp(res.reason, "expected illegal_parameter, got handshake, closed") == 0);
    td_scn_runner_free(r);
    td_crypto_free(crypto);
    td_scn_file_free(f);
    td_scn_diags_cleanup(&d);
}

static void test_lenient(void)
{
    td_scn_diags d;
    /* No send step: this fake peer never runs our side, so no edit could apply. */
    td_scn_file *f = parse("scenario c\nrule CH-COMPRESSION\nsut server\nexpect rule\n", &d);
    TD_REQUIRE(f != NULL && f->num_cases == 1);
    td_crypto *crypto = NULL;
    TD_REQUIRE(td_crypto_new(&crypto) == TD_OK);
    int calls = 0;
    td_scn_peer peer = {.name = "closing", .arg = &calls, .run = closing_peer};
    td_scn_opts o = {.crypto = crypto, .cert_dir = TD_VECTORS_DIR "/certs", .peer = &peer};
    td_scn_runner *r = NULL;
    td_scn_result res;
    TD_REQUIRE(td_scn_runner_new(&o, &r) == TD_OK);
    TD_EXPECT(td_scn_run_case(r, &f->cases[0], &res) == TD_OK);
    /* Closed without an alert: refused, but not with the alert (RFC 8446
     * §6.2 makes sending it a SHOULD): alert-differs, which only --strict fails. */
    TD_EXPECT_EQ(res.verdict, TD_SCN_ALERT_DIFFERS);
    TD_EXPECT(strcmp(res.actual, "closed") == 0);
    TD_EXPECT(strcmp(res.reason, "expected illegal_parameter, got closed: the SUT refused without "
                                 "an error alert (--lenient accepts it)") == 0);
    TD_EXPECT(strcmp(res.sut_rule, "-") == 0);
    TD_EXPECT(strcmp(res.level, "MUST") == 0);
    TD_EXPECT(td_scn_verdict_fails(res.verdict, false));
    TD_EXPECT(!td_scn_verdict_fails(res.verdict, true));
    /* The grade does not depend on the mode: the same outcome again. */
    TD_EXPECT(td_scn_run_case(r, &f->cases[0], &res) == TD_OK);
    TD_EXPECT_EQ(res.verdict, TD_SCN_ALERT_DIFFERS);
    TD_EXPECT_EQ(calls, 2);
    td_scn_runner_free(r);
    td_crypto_free(crypto);
    td_scn_file_free(f);
    td_scn_diags_cleanup(&d);
}

/* A peer whose SUT sends its alert and then more bytes (RFC 8446 §6:
 * AL-CLOSE-AFTER-FATAL): the allowed alert alone does not pass the case. */
static td_err chatty_peer(void *arg, const td_config *ours, const td_config *sut,
                          unsigned max_rounds, td_scn_post_fn post, void *post_arg,
                          td_scn_outcome *out)
{
    (void)arg;
    (void)ours;
    (void)sut;
    (void)max_rounds;
    (void)post;
    (void)post_arg;
    memset(out, 0, sizeof(*out));
    out->ours.phase = TD_PHASE_FAILED;
    out->ours.state = "WAIT_SERVER_HELLO";
    out->ours.alert_received = true;
    out->ours.alert_received_level = 2;
    out->ours.alert_received_desc = TD_ALERT_illegal_parameter;
    out->ours.bytes_after_alert = 7;
    return TD_OK;
}

static void test_bytes_after_alert(void)
{
    td_scn_diags d;
    td_scn_file *f = parse("scenario c\nrule CH-COMPRESSION\nsut server\nexpect rule\n", &d);
    TD_REQUIRE(f != NULL && f->num_cases == 1);
    td_crypto *crypto = NULL;
    TD_REQUIRE(td_crypto_new(&crypto) == TD_OK);
    td_scn_peer peer = {.name = "chatty", .run = chatty_peer};
    td_scn_opts o = {.crypto = crypto, .cert_dir = TD_VECTORS_DIR "/certs", .peer = &peer};
    td_scn_runner *r = NULL;
    td_scn_result res;
    TD_REQUIRE(td_scn_runner_new(&o, &r) == TD_OK);
    TD_EXPECT(td_scn_run_case(r, &f->cases[0], &res) == TD_OK);
    TD_EXPECT_EQ(res.verdict, TD_SCN_FAIL);
    TD_EXPECT(strcmp(res.reason, "alert illegal_parameter as allowed, but the SUT sent 7 more "
                                 "bytes after it (AL-CLOSE-AFTER-FATAL, RFC 8446 §6.2: MUST close "
                                 "the connection \"without sending or receiving any additional "
                                 "data\")") == 0);
    td_scn_runner_free(r);
    td_crypto_free(crypto);
    td_scn_file_free(f);
    td_scn_diags_cleanup(&d);
}

/* Bad input never crashes and never fails the API: deterministic byte
 * mutations of a valid file (ASan build proves the memory side). */
static void test_mutated_input(void)
{
    static const char base[] =
        "# c\nscenario m[$g]-${v}\nmatrix g = x25519 secp256r1\nmatrix v = 1 2\n"
        "rule KS-GROUP-NOT-IN-SUPPORTED PSK-BINDER-INVALID\nsut server\nresume ticket\n"
        "client key-shares $g\nclient suites TLS_AES_128_GCM_SHA256 0x1302\nserver hrr always\n"
        "bug psk_first\nsend ClientHello $v\n  supported_groups remove $g\n"
        "  binder 0 xor 00:01\n  add 0xfafa 0102\n  psk_identity add 61 3\n"
        "  record-before 1603030000\n  set legacy_version 0x0301\nexpect alert decode_error\n";
    static const char specials[] = "$#\n\t {}=[]:-0xg";
    char buf[sizeof(base) + 64];
    uint32_t x = 12345;
    size_t total_diags = 0, total_cases = 0;
    for (int iter = 0; iter < 3000; iter++) {
        size_t n = sizeof(base) - 1;
        memcpy(buf, base, n);
        int edits = 1 + iter % 4;
        for (int k = 0; k < edits; k++) {
            x = x * 1103515245u + 12345u;
            size_t at = (x >> 8) % (n ? n : 1);
            unsigned op = (x >> 24) % 4;
            char ch =
                (x >> 16) % 3 == 0 ? specials[(x >> 4) % (sizeof(specials) - 1)] : (char)(x >> 12);
            if (op == 0 && n > 0) { /* replace */
                buf[at] = ch;
            } else if (op == 1 && n > 0) { /* delete */
                memmove(buf + at, buf + at + 1, n - at - 1);
                n--;
            } else if (op == 2 && n + 1 < sizeof(buf)) { /* insert */
                memmove(buf + at + 1, buf + at, n - at);
                buf[at] = ch;
                n++;
            } else { /* truncate */
                n = at;
            }
        }
        td_scn_diags d = {0};
        td_scn_file *f = NULL;
        if (td_scn_parse("m.scn", buf, n, &f, &d) != TD_OK || f == NULL) {
            TD_EXPECT(!"parse failed on mutated input");
            break;
        }
        for (size_t i = 0; i < d.num; i++)
            if (d.list[i].line < 1 || d.list[i].col < 1 || d.list[i].message[0] == '\0') {
                TD_EXPECT(!"diagnostic without a position or message");
                break;
            }
        total_diags += d.num;
        total_cases += f->num_cases;
        td_scn_file_free(f);
        td_scn_diags_cleanup(&d);
    }
    /* Most mutants are wrong, some still parse. */
    TD_EXPECT(total_diags > 1000);
    TD_EXPECT(total_cases > 100);
}

static void test_no_file(void)
{
    td_scn_diags d = {0};
    td_scn_file *f = NULL;
    TD_EXPECT(td_scn_parse_file("/nonexistent/x.scn", &f, &d) == TD_ERR_IO);
    TD_EXPECT(f == NULL);
    TD_EXPECT_EQ(d.num, 1);
    td_scn_diags_cleanup(&d);
}

/* 0-RTT and KeyUpdate steps on both sides, and their verdicts: an
 * expectation about 0-RTT fails when the outcome is the other one; `send
 * KeyUpdate N` edits the N-th KeyUpdate; record edits on a message that
 * never went out are an ERROR naming the step's line. */
static void test_0rtt_and_key_update(void)
{
    static const char text[] =
        "scenario a\nsut server\nresume ticket\nclient early-data 64\nserver early-data 1024\n"
        "expect early-data\n" /* 0: pass */
        "scenario b\nsut client\nresume ticket\nclient early-data 64\nserver early-data 1024\n"
        "expect early-data-rejected\n" /* 1: fail */
        "scenario c\nsut client\nresume ticket\nserver hrr always\nclient early-data 64\n"
        "server early-data 1024\nexpect early-data\n" /* 2: fail */
        "scenario d\nsut server\nresume ticket\nserver hrr always\nclient early-data 64\n"
        "server early-data 1024\nexpect early-data-rejected\n" /* 3: pass */
        "scenario e\nrule KU-BAD-REQUEST\nsut client\nsend KeyUpdate 2\n  set request_update 7\n"
        "expect rule\n" /* 4: pass */
        "scenario f\nrule KU-BAD-REQUEST\nsut server\nsend KeyUpdate 3\n  set request_update 2\n"
        "expect rule\n" /* 5: pass */
        "scenario g\nsut server\nsend KeyUpdate\n  drop\n  record-version 0x0301\n"
        "expect handshake\n"; /* 6: error */
    td_scn_diags d;
    td_scn_file *f = parse(text, &d);
    TD_REQUIRE(f != NULL && f->num_cases == 7);
    td_crypto *crypto = NULL;
    TD_REQUIRE(td_crypto_new(&crypto) == TD_OK);
    td_scn_peer engine;
    td_scn_peer_engine(&engine);
    td_scn_opts o = {.crypto = crypto, .cert_dir = TD_VECTORS_DIR "/certs", .peer = &engine};
    td_scn_runner *r = NULL;
    TD_REQUIRE(td_scn_runner_new(&o, &r) == TD_OK);
    static const td_scn_verdict want[] = {TD_SCN_PASS, TD_SCN_FAIL, TD_SCN_FAIL, TD_SCN_PASS,
                                          TD_SCN_PASS, TD_SCN_PASS, TD_SCN_ERROR};
    for (size_t i = 0; i < 7; i++) {
        td_scn_result res;
        td_test_current = f->cases[i].name;
        TD_EXPECT(td_scn_run_case(r, &f->cases[i], &res) == TD_OK);
        TD_EXPECT_EQ(res.verdict, want[i]);
        if (res.verdict != want[i])
            fprintf(stderr, "    case %s: %s / %s\n", f->cases[i].name, res.actual, res.reason);
        if (i == 1)
            TD_EXPECT(strcmp(res.reason, "expected 0-RTT rejected, it was accepted") == 0);
        if (i == 2)
            TD_EXPECT(strcmp(res.reason, "expected 0-RTT accepted, it was rejected") == 0);
        if (i == 4 || i == 5)
            TD_EXPECT(strcmp(res.sut_rule, "KU-BAD-REQUEST") == 0);
        if (i == 6)
            TD_EXPECT(strstr(res.reason, "t.scn:") == res.reason &&
                      strstr(res.reason, "never went out") != NULL);
    }
    td_scn_runner_free(r);
    td_crypto_free(crypto);
    td_scn_file_free(f);
    td_scn_diags_cleanup(&d);
}

int main(void)
{
    TD_RUN(test_diagnostics);
    TD_RUN(test_several);
    TD_RUN(test_print_format);
    TD_RUN(test_matrix);
    TD_RUN(test_structure);
    TD_RUN(test_braces_and_records);
    TD_RUN(test_runner);
    TD_RUN(test_lenient);
    TD_RUN(test_completed_then_closed);
    TD_RUN(test_bytes_after_alert);
    TD_RUN(test_0rtt_and_key_update);
    TD_RUN(test_mutated_input);
    TD_RUN(test_no_file);
    return td_test_report("scenario");
}
