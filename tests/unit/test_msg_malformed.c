/* tests/unit/test_msg_malformed.c -- handshake message codec, bad input
 * (engine/msg.c, ext.c, ext_body.c): (c) a table of malformed bodies per
 * parser, each row with the expected td_err AND rule (and the diag offset,
 * checked both for the body parser and, 4 bytes on, for the whole-message
 * parser); cap overflows, which must be TD_ERR_LIMIT and never truncation. */
#include "td_test.h"
#include "td_msg_test.h"

static const uint8_t k_binder[32] = {0xb0, 0xb1, 0xb2, 0xb3};

/* ---- (c) malformed inputs ---- */

#define RND "0000000000000000000000000000000000000000000000000000000000000000"
#define HRRRND "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"
/* ClientHello body up to the extensions: version, random, empty session
 * id, one suite, null compression. 41 bytes: extensions block at 41,
 * first extension at 43, its body at 47. */
#define CH0                                                                                        \
    "0303" RND "00"                                                                                \
    "00021301"                                                                                     \
    "0100"
#define SV "002b0003020304" /* supported_versions {0x0304}, 7 bytes */
/* ServerHello body up to the extensions: 38 bytes; first extension at 40. */
#define SH0                                                                                        \
    "0303" RND "00"                                                                                \
    "1301"                                                                                         \
    "00"
#define HRR0                                                                                       \
    "0303" HRRRND "00"                                                                             \
    "1301"                                                                                         \
    "00"
#define SSV "002b00020304" /* selected_version, 6 bytes */
#define Z32 "0000000000000000000000000000000000000000000000000000000000000000"
#define ID1                                                                                        \
    "0008"                                                                                         \
    "0002abcd00000000" /* identities: one 2-byte identity, 10 bytes */
#define PSK1                                                                                       \
    "0029002d" ID1 "0021"                                                                          \
    "20" Z32 /* 1 identity, 1 binder: 49 bytes */

typedef struct bad_row {
    const char *what;
    uint8_t type;
    const char *hex; /* body */
    size_t hash_len;
    td_err err;
    td_rule rule;
    long offset; /* -1: not checked */
} bad_row;

/* clang-format off */
static const bad_row k_bad[] = {
    /* ClientHello syntax */
    {"CH empty", 1, "", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 0},
    {"CH random truncated", 1, "0303" "00", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 2},
    {"CH session id 33", 1, "0303" RND "21" "000000000000000000000000000000000000000000000000000000000000000000"
     "00021301" "0100", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 34},
    {"CH session id past end", 1, "0303" RND "05" "0000", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 34},
    {"CH no cipher suites", 1, "0303" RND "00" "0000" "0100", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 35},
    {"CH odd cipher suites", 1, "0303" RND "00" "0003130113" "0100", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 35},
    {"CH no compression", 1, "0303" RND "00" "00021301" "00", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 39},
    {"CH compression past end", 1, "0303" RND "00" "00021301" "02", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 39},
    {"CH trailing byte after block", 1, CH0 "0007" SV "00", 0, TD_ERR_DECODE, TD_RULE_CH_TRAILING_DATA, 41},
    {"CH block too long", 1, CH0 "0010" SV, 0, TD_ERR_DECODE, TD_RULE_CH_TRAILING_DATA, 41},
    {"CH lone byte after compression", 1, CH0 "00", 0, TD_ERR_DECODE, TD_RULE_CH_TRAILING_DATA, 41},
    {"CH extension header truncated", 1, CH0 "0003" "002b00", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 43},
    {"CH extension body too short", 1, CH0 "0006" "002b0003" "0203", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 43},
    /* extension bodies in a ClientHello */
    {"CH supported_versions empty", 1, CH0 "0005" "002b000100", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 47},
    {"CH supported_versions odd", 1, CH0 "0008" "002b000403030400", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 47},
    {"CH supported_versions stray byte", 1, CH0 "0008" "002b000402030400", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 50},
    {"CH sigalgs odd", 1, CH0 "0009" "000d0005" "0003040305", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 47},
    {"CH sigalgs empty", 1, CH0 "0006" "000d0002" "0000", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 47},
    {"CH groups one byte short", 1, CH0 "0007" "000a0003" "0002" "00", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 47},
    {"CH key_share empty key_exchange", 1, CH0 "000a" "00330006" "0004" "001d0000", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 51},
    {"CH key_share entry truncated", 1, CH0 "0009" "00330005" "0003" "001d00", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 51},
    {"CH cookie empty", 1, CH0 "0006" "002c0002" "0000", 0, TD_ERR_DECODE, TD_RULE_COOKIE_EMPTY, 47},
    {"CH psk modes empty", 1, CH0 "0005" "002d0001" "00", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 47},
    {"CH post_handshake_auth not empty", 1, CH0 "0005" "00310001" "00", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 47},
    {"CH early_data not empty", 1, CH0 "0008" "002a0004" "00000400", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 47},
    {"CH server_name empty list", 1, CH0 "0006" "00000002" "0000", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 47},
    {"CH server_name empty host", 1, CH0 "0009" "00000005" "0003" "000000", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 50},
    {"CH ALPN list too short", 1, CH0 "0007" "00100003" "000100", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 47},
    {"CH ALPN empty name", 1, CH0 "0008" "00100004" "00020000", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 49},
    {"CH certificate_authorities too short", 1, CH0 "0008" "002f0004" "00020000", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 47},
    {"CH SCT not empty", 1, CH0 "0005" "00120001" "00", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 47},
    {"CH record_size_limit 63", 1, CH0 "0006" "001c0002" "003f", 0, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_GEN_ILLEGAL_PARAM, 47},
    {"CH max_fragment_length 5", 1, CH0 "0005" "00010001" "05", 0, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_GEN_ILLEGAL_PARAM, 47},
    {"CH renegotiation_info past end", 1, CH0 "0005" "ff010001" "01", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 47},
    {"CH status_request no type", 1, CH0 "0004" "00050000", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 47},
    /* pre_shared_key */
    {"CH PSK ok", 1, CH0 "0031" PSK1, 0, TD_OK, TD_RULE_NONE, -1},
    {"CH PSK not last", 1, CH0 "0038" PSK1 SV, 0, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_PSK_NOT_LAST, 43},
    {"CH PSK identities too short", 1, CH0 "002f" "0029002b" "0006" "0001ab000000" "0021" "20" Z32, 0,
     TD_ERR_DECODE, TD_RULE_GEN_DECODE, 47},
    {"CH PSK binder 31 bytes", 1, CH0 "0031" "0029002d" ID1 "0021" "1f"
     "00000000000000000000000000000000000000000000000000000000000000" "00", 0, TD_ERR_DECODE,
     TD_RULE_GEN_DECODE, 59},
    {"CH PSK binders too short", 1, CH0 "0030" "0029002c" ID1 "0020" "1f"
     "00000000000000000000000000000000000000000000000000000000000000", 0, TD_ERR_DECODE,
     TD_RULE_GEN_DECODE, 57},
    {"CH PSK fewer binders", 1, CH0 "0039" "00290035" "0010" "0002abcd00000000" "0002abce00000000" "0021"
     "20" Z32, 0, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_PSK_BINDER_COUNT, 65},
    {"CH PSK more binders", 1, CH0 "0052" "0029004e" ID1 "0042" "20" Z32 "20" Z32, 0,
     TD_ERR_ILLEGAL_PARAMETER, TD_RULE_PSK_BINDER_COUNT, 57},
    /* table and duplicates in a ClientHello */
    {"CH duplicate supported_versions", 1, CH0 "000e" SV SV, 0, TD_ERR_DECODE, TD_RULE_EXT_DUPLICATE, 50},
    {"CH oid_filters", 1, CH0 "0006" "00300002" "0000", 0, TD_ERR_UNSUPPORTED_EXT, TD_RULE_EXT_WRONG_MESSAGE, 43},
    {"CH unknown extension ok", 1, CH0 "000b" "fafa0000" SV, 0, TD_OK, TD_RULE_NONE, -1},
    /* ServerHello / HelloRetryRequest */
    {"SH truncated", 2, "0303" RND, 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 34},
    {"SH compression 1", 2, "0303" RND "00" "1301" "01" "0006" SSV, 0, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_SH_COMPRESSION, 37},
    {"SH trailing byte", 2, SH0 "0006" SSV "00", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 46},
    {"SH session id 33", 2, "0303" RND "21" "000000000000000000000000000000000000000000000000000000000000000000"
     "1301" "00", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 34},
    {"SH cookie", 2, SH0 "000d" SSV "002c0003" "0001aa", 0, TD_ERR_UNSUPPORTED_EXT, TD_RULE_COOKIE_IN_SH, 46},
    {"SH psk_key_exchange_modes", 2, SH0 "000b" SSV "002d0001" "01", 0, TD_ERR_UNSUPPORTED_EXT,
     TD_RULE_EXT_WRONG_MESSAGE, 46},
    {"SH key_share as HRR form", 2, SH0 "000c" SSV "00330002" "0017", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 52},
    {"SH selected_version 3 bytes", 2, SH0 "0007" "002b0003030400", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 46},
    {"SH duplicate key_share", 2, SH0 "001a" SSV "00330006001d0002abcd" "00330006001d0002abcd", 0,
     TD_ERR_DECODE, TD_RULE_EXT_DUPLICATE, 56},
    {"SH duplicate supported_versions", 2, SH0 "000c" SSV SSV, 0, TD_ERR_DECODE, TD_RULE_EXT_DUPLICATE, 46},
    {"TLS 1.2 SH with EMS ok", 2, SH0 "0004" "00170000", 0, TD_OK, TD_RULE_NONE, -1},
    {"HRR server_name", 2, HRR0 "000a" SSV "00000000", 0, TD_ERR_UNSUPPORTED_EXT, TD_RULE_EXT_WRONG_MESSAGE, 46},
    {"HRR early_data", 2, HRR0 "000a" "002a0000" SSV, 0, TD_ERR_UNSUPPORTED_EXT, TD_RULE_EXT_WRONG_MESSAGE, 40},
    {"HRR pre_shared_key", 2, HRR0 "000c" SSV "002900020000", 0, TD_ERR_UNSUPPORTED_EXT, TD_RULE_EXT_WRONG_MESSAGE, 46},
    {"HRR compression 1", 2, "0303" HRRRND "00" "1301" "01" "0006" SSV, 0, TD_ERR_ILLEGAL_PARAMETER,
     TD_RULE_HRR_LEGACY_FIELDS, 37},
    {"HRR empty cookie", 2, HRR0 "000c" SSV "002c00020000", 0, TD_ERR_DECODE, TD_RULE_COOKIE_EMPTY, 50},
    {"HRR key_share entry form", 2, HRR0 "0010" SSV "00330006001d0002abcd", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 52},
    /* EncryptedExtensions */
    {"EE empty ok", 8, "0000", 0, TD_OK, TD_RULE_NONE, -1},
    {"EE empty body", 8, "", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 0},
    {"EE trailing byte", 8, "0000" "00", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 2},
    {"EE key_share", 8, "0008" "00330004" "00170000", 0, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_EE_FORBIDDEN_EXT, 2},
    {"EE supported_versions", 8, "0006" SSV, 0, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_EE_FORBIDDEN_EXT, 2},
    {"EE ALPN two names", 8, "000b" "00100007" "0005" "026832" "0133", 0, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_ALPN_NOT_OFFERED, 6},
    {"EE server_name not empty", 8, "0005" "00000001" "00", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 6},
    {"EE duplicate early_data", 8, "0008" "002a0000" "002a0000", 0, TD_ERR_DECODE, TD_RULE_EXT_DUPLICATE, 6},
    /* CertificateRequest */
    {"CR empty extensions", 13, "00" "0000", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 1},
    {"CR context past end", 13, "05" "00", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 0},
    {"CR key_share", 13, "00" "0006" "00330002" "0017", 0, TD_ERR_UNSUPPORTED_EXT, TD_RULE_EXT_WRONG_MESSAGE, 3},
    {"CR status_request empty ok", 13, "00" "0004" "00050000", 0, TD_OK, TD_RULE_NONE, -1},
    {"CR oid_filters empty oid", 13, "00" "0009" "00300005" "0003" "00" "0000", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 9},
    /* Certificate */
    {"CT empty list ok", 11, "00" "000000", 0, TD_OK, TD_RULE_NONE, -1},
    {"CT list too long", 11, "00" "000010" "00000101" "0000", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 1},
    {"CT empty cert_data", 11, "00" "000005" "000000" "0000", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 4},
    {"CT entry without extensions", 11, "00" "000004" "00000161", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 8},
    {"CT entry key_share", 11, "00" "00000a" "00000161" "0004" "00330000", 0, TD_ERR_UNSUPPORTED_EXT,
     TD_RULE_EXT_WRONG_MESSAGE, 10},
    {"CT entry empty OCSP response", 11, "00" "00000e" "00000161" "0008" "00050004" "01000000", 0,
     TD_ERR_DECODE, TD_RULE_GEN_DECODE, 15},
    {"CT trailing byte", 11, "00" "000000" "00", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 4},
    /* CertificateVerify */
    {"CV signature past end", 15, "0804" "0005" "0000", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 2},
    {"CV algorithm truncated", 15, "08", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 0},
    {"CV trailing byte", 15, "0804" "0000" "00", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 4},
    /* Finished / message_hash */
    {"Finished 31 of 32", 20, "00000000000000000000000000000000000000000000000000000000000000", 32,
     TD_ERR_DECODE, TD_RULE_GEN_DECODE, 0},
    {"Finished 33 of 32", 20, "000000000000000000000000000000000000000000000000000000000000000000", 32,
     TD_ERR_DECODE, TD_RULE_GEN_DECODE, 0},
    {"Finished 32 of 48", 20, "0000000000000000000000000000000000000000000000000000000000000000", 48,
     TD_ERR_DECODE, TD_RULE_GEN_DECODE, 0},
    {"Finished without hash length", 20, "00", 0, TD_ERR_ARG, TD_RULE_NONE, -1},
    {"message_hash short", 254, "0000", 32, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 0},
    /* NewSessionTicket */
    {"NST empty ticket", 4, "00000001" "00000002" "00" "0000" "0000", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 9},
    {"NST nonce past end", 4, "00000001" "00000002" "05" "00", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 8},
    {"NST lifetime truncated", 4, "000000", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 0},
    {"NST extensions 65535", 4, "00000001" "00000002" "00" "000161" "ffff", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 12},
    {"NST key_share", 4, "00000001" "00000002" "00" "000161" "0004" "00330000", 0, TD_ERR_UNSUPPORTED_EXT,
     TD_RULE_EXT_WRONG_MESSAGE, 14},
    {"NST early_data 3 bytes", 4, "00000001" "00000002" "00" "000161" "0007" "002a0003000004", 0, TD_ERR_DECODE,
     TD_RULE_GEN_DECODE, 18},
    {"NST unknown ok", 4, "00000001" "00000002" "00" "000161" "0004" "fe000000", 0, TD_OK, TD_RULE_NONE, -1},
    /* EndOfEarlyData, KeyUpdate, unknown types */
    {"EOED not empty", 5, "00", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 0},
    {"KeyUpdate 2", 24, "02", 0, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_KU_BAD_REQUEST, 0},
    {"KeyUpdate 255", 24, "ff", 0, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_KU_BAD_REQUEST, 0},
    {"KeyUpdate empty", 24, "", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 0},
    {"KeyUpdate two bytes", 24, "0100", 0, TD_ERR_DECODE, TD_RULE_GEN_DECODE, 1},
    {"hello_verify_request", 3, "", 0, TD_ERR_UNEXPECTED, TD_RULE_GEN_UNEXPECTED_ORDER, 0},
    {"server_key_exchange", 12, "00", 0, TD_ERR_UNEXPECTED, TD_RULE_GEN_UNEXPECTED_ORDER, 0},
    {"type 0", 0, "", 0, TD_ERR_UNEXPECTED, TD_RULE_GEN_UNEXPECTED_ORDER, 0},
};
/* clang-format on */

static void test_malformed_table(void)
{
    td_msg *m = calloc(1, sizeof(*m));
    TD_REQUIRE(m != NULL);
    for (size_t i = 0; i < sizeof(k_bad) / sizeof(k_bad[0]); i++) {
        const bad_row *row = &k_bad[i];
        size_t len = 0;
        uint8_t *body = td_test_unhex(row->hex, &len);
        TD_EXPECT(body != NULL);
        if (body == NULL)
            continue;
        td_msg_ctx ctx = {row->hash_len, TD_SH_AUTO};
        td_diag diag;
        td_diag_clear(&diag);
        td_err err = td_msg_parse(row->type, body, len, &ctx, m, &diag);
        bool ok = err == row->err && diag.rule == row->rule && diag.err == err &&
                  (row->offset < 0 || (size_t)row->offset == diag.offset);
        TD_EXPECT(ok);
        if (!ok)
            fprintf(stderr,
                    "  row \"%s\": got %s rule %s offset %zu (%s); want %s rule %s offset %ld\n",
                    row->what, td_err_name(err),
                    td_rule_get(diag.rule) ? td_rule_get(diag.rule)->id : "-", diag.offset,
                    diag.text, td_err_name(row->err),
                    td_rule_get(row->rule) ? td_rule_get(row->rule)->id : "-", row->offset);
        /* The whole-message parser reports the same, 4 bytes further on. */
        uint8_t *whole = malloc(len + 4);
        if (whole != NULL) {
            whole[0] = row->type;
            whole[1] = (uint8_t)(len >> 16), whole[2] = (uint8_t)(len >> 8),
            whole[3] = (uint8_t)len;
            memcpy(whole + 4, body, len);
            td_diag_clear(&diag);
            TD_EXPECT_EQ(td_msg_parse_handshake(whole, len + 4, &ctx, m, &diag), row->err);
            TD_EXPECT_EQ(diag.rule, row->rule);
            if (row->offset >= 0 && row->err != TD_ERR_UNEXPECTED)
                TD_EXPECT_EQ(diag.offset, (size_t)row->offset + 4);
            free(whole);
        }
        free(body);
    }
    free(m);
}

/* RFC 8446 §9.3: no list has a capacity of ours. Each case builds a
 * message with more entries than the list's inline storage (the TD_MAX_*
 * constants) with the builder, parses it -- every entry is there, nothing
 * truncated -- and builds it again, byte for byte; td_msg_cleanup frees the
 * heap blocks (ASan's leak check watches). Returns the parsed count of the
 * extension |type| via |count|. */
static void expect_grown(td_msg *m, td_msg *p, const char *what)
{
    size_t len = 0;
    uint8_t *bytes = build_msg(m, &len);
    TD_EXPECT(bytes != NULL);
    td_msg_ctx ctx = {32, TD_SH_AUTO};
    td_diag diag;
    td_diag_clear(&diag);
    td_err err = td_msg_parse_handshake(bytes, len, &ctx, p, &diag);
    if (err != TD_OK)
        fprintf(stderr, "  %s: %s (%s)\n", what, td_err_name(err), diag.text);
    TD_EXPECT_EQ(err, TD_OK);
    size_t len2 = 0;
    uint8_t *again = err == TD_OK ? build_msg(p, &len2) : NULL;
    TD_EXPECT_MEM(again, len2, bytes, len);
    free(again);
    free(bytes);
}

static void test_no_caps(void)
{
    td_msg *m = calloc(1, sizeof(*m)), *p = calloc(1, sizeof(*p));
    TD_REQUIRE(m != NULL && p != NULL);
    static const uint8_t one[1] = {1};
    /* 200 extensions (inserted at the front: the block grows and moves). */
    td_msg_init(m, TD_MSG_ENCRYPTED_EXTENSIONS, false);
    for (uint16_t i = 0; i < 200; i++)
        TD_EXPECT_EQ(td_exts_insert_raw(&m->u.ee.exts, 0, (uint16_t)(0x1000 + i), view(one, 1)),
                     TD_OK);
    TD_EXPECT_EQ(m->u.ee.exts.num, 200);
    TD_EXPECT_EQ(m->u.ee.exts.list[0].type, 0x1000 + 199);
    expect_grown(m, p, "200 extensions");
    TD_EXPECT_EQ(p->u.ee.exts.num, 200);
    TD_EXPECT_EQ(p->u.ee.exts.list[199].type, 0x1000);
    td_msg_cleanup(p);
    /* A second extension of a type among 200 is still a duplicate (§4.2). */
    TD_EXPECT_EQ(td_exts_insert_raw(&m->u.ee.exts, 200, 0x1000 + 7, view(one, 1)), TD_OK);
    {
        size_t len = 0;
        uint8_t *bytes = build_msg(m, &len);
        td_diag diag;
        td_diag_clear(&diag);
        td_msg_ctx ctx = {32, TD_SH_AUTO};
        TD_EXPECT_EQ(td_msg_parse_handshake(bytes, len, &ctx, p, &diag), TD_ERR_DECODE);
        TD_EXPECT_EQ(diag.rule, TD_RULE_EXT_DUPLICATE);
        free(bytes);
    }
    td_msg_cleanup(m);
    /* Lists: raw bodies with four times the inline storage, plus one. */
    uint8_t raw[4096];
    td_cbb cbb, list;
    uint8_t *unused;
    size_t raw_len;
#define RAW_BEGIN()                                                                                \
    TD_REQUIRE(td_cbb_init_fixed(&cbb, raw, sizeof(raw)) && td_cbb_add_u16_prefixed(&cbb, &list))
#define RAW_END() TD_REQUIRE(td_cbb_finish(&cbb, &unused, &raw_len))
    struct {
        uint16_t type;
        int cap;
        int item; /* 0: u16; 1: KeyShareEntry; 2: ALPN name; 3: DN */
    } lists[] = {
        {TD_EXT_SUPPORTED_GROUPS, TD_MAX_GROUPS, 0},
        {TD_EXT_SIGNATURE_ALGORITHMS, TD_MAX_SIGALGS, 0},
        {TD_EXT_SIGNATURE_ALGORITHMS_CERT, TD_MAX_SIGALGS, 0},
        {TD_EXT_KEY_SHARE, TD_MAX_KEY_SHARES, 1},
        {TD_EXT_ALPN, TD_MAX_ALPN_PROTOCOLS, 2},
        {TD_EXT_CERTIFICATE_AUTHORITIES, TD_MAX_CERT_AUTHORITIES, 3},
    };
    for (size_t k = 0; k < sizeof(lists) / sizeof(lists[0]); k++) {
        td_cbb item; /* the open child must outlive the loop body */
        RAW_BEGIN();
        for (int i = 0; i <= 4 * lists[k].cap; i++) {
            switch (lists[k].item) {
            case 0: TD_EXPECT(td_cbb_add_u16(&list, (uint16_t)(i + 1))); break;
            case 1:
                TD_EXPECT(td_cbb_add_u16(&list, (uint16_t)(0x100 + i)) &&
                          td_cbb_add_u16_prefixed(&list, &item) && td_cbb_add_u8(&item, 4));
                break;
            case 2:
                TD_EXPECT(td_cbb_add_u8_prefixed(&list, &item) && td_cbb_add_u8(&item, 'a'));
                break;
            default:
                TD_EXPECT(td_cbb_add_u16_prefixed(&list, &item) && td_cbb_add_u8(&item, 'd'));
                break;
            }
        }
        RAW_END();
        td_msg_init(m, TD_MSG_CLIENT_HELLO, false);
        m->u.ch.num_cipher_suites = 1, m->u.ch.cipher_suites[0] = 0x1301;
        m->u.ch.legacy_compression_methods = STR("\0");
        TD_EXPECT_EQ(td_exts_insert_raw(&m->u.ch.exts, 0, lists[k].type, view(raw, raw_len)),
                     TD_OK);
        expect_grown(m, p, td_ext_type_name(lists[k].type));
        const td_ext_data *d = &p->u.ch.ext;
        size_t want = (size_t)(4 * lists[k].cap + 1);
        size_t got = lists[k].type == TD_EXT_SUPPORTED_GROUPS       ? d->num_groups
                     : lists[k].type == TD_EXT_SIGNATURE_ALGORITHMS ? d->num_sigalgs
                     : lists[k].type == TD_EXT_SIGNATURE_ALGORITHMS_CERT ? d->num_sigalgs_cert
                     : lists[k].type == TD_EXT_KEY_SHARE                 ? d->num_key_shares
                     : lists[k].type == TD_EXT_ALPN                      ? d->num_alpn
                                                                         : d->num_cert_authorities;
        TD_EXPECT_EQ(got, want);
        if (lists[k].item == 0)
            TD_EXPECT_EQ((lists[k].type == TD_EXT_SUPPORTED_GROUPS ? d->groups
                          : lists[k].type == TD_EXT_SIGNATURE_ALGORITHMS ? d->sigalgs
                                                                         : d->sigalgs_cert)[want - 1],
                         want);
        if (lists[k].item == 1)
            TD_EXPECT_EQ(d->key_shares[want - 1].group, 0x100 + want - 1);
        td_msg_cleanup(p);
        td_msg_cleanup(m);
    }
    /* PSK identities: one past the cap, with as many binders. */
    td_msg_init(m, TD_MSG_CLIENT_HELLO, false);
    m->u.ch.num_cipher_suites = 1, m->u.ch.cipher_suites[0] = 0x1301;
    m->u.ch.legacy_compression_methods = STR("\0");
    {
        td_cbb ids, binders, item;
        TD_REQUIRE(td_cbb_init_fixed(&cbb, raw, sizeof(raw)));
        TD_REQUIRE(td_cbb_add_u16_prefixed(&cbb, &ids));
        for (int i = 0; i <= 4 * TD_MAX_PSK_IDENTITIES; i++)
            TD_EXPECT(td_cbb_add_u16_prefixed(&ids, &item) && td_cbb_add_u8(&item, (uint8_t)i) &&
                      td_cbb_add_u32(&ids, 0));
        TD_REQUIRE(td_cbb_add_u16_prefixed(&cbb, &binders));
        for (int i = 0; i <= 4 * TD_MAX_PSK_IDENTITIES; i++)
            TD_EXPECT(td_cbb_add_u8_prefixed(&binders, &item) &&
                      td_cbb_add_bytes(&item, k_binder, 32));
        RAW_END();
    }
    TD_EXPECT_EQ(td_exts_insert_raw(&m->u.ch.exts, 0, TD_EXT_PRE_SHARED_KEY, view(raw, raw_len)),
                 TD_OK);
    expect_grown(m, p, "psk identities");
    TD_EXPECT_EQ(p->u.ch.ext.num_psk_identities, 4 * TD_MAX_PSK_IDENTITIES + 1);
    TD_EXPECT_EQ(p->u.ch.ext.num_psk_binders, 4 * TD_MAX_PSK_IDENTITIES + 1);
    td_msg_cleanup(p);
    td_msg_cleanup(m);
    /* Cipher suites: raw ClientHello with TD_MAX_CIPHER_SUITES + 1. */
    {
        size_t n = TD_MAX_CIPHER_SUITES + 1, len = 4 + 2 + 32 + 1 + 2 + 2 * n + 2;
        uint8_t *ch = calloc(1, len);
        TD_REQUIRE(ch != NULL);
        ch[0] = 1, ch[1] = (uint8_t)((len - 4) >> 16), ch[2] = (uint8_t)((len - 4) >> 8),
        ch[3] = (uint8_t)(len - 4);
        ch[4] = 3, ch[5] = 3;
        ch[39] = (uint8_t)((2 * n) >> 8), ch[40] = (uint8_t)(2 * n);
        ch[len - 2] = 1;
        td_diag diag;
        td_diag_clear(&diag);
        TD_EXPECT_EQ(td_msg_parse_handshake(ch, len, NULL, p, &diag), TD_OK);
        TD_EXPECT_EQ(p->u.ch.num_cipher_suites, TD_MAX_CIPHER_SUITES + 1);
        td_msg_cleanup(p);
        /* at the inline storage's size */
        len -= 2, n--;
        ch[1] = (uint8_t)((len - 4) >> 16), ch[2] = (uint8_t)((len - 4) >> 8),
        ch[3] = (uint8_t)(len - 4);
        ch[39] = (uint8_t)((2 * n) >> 8), ch[40] = (uint8_t)(2 * n);
        ch[len - 2] = 1, ch[len - 1] = 0;
        TD_EXPECT_EQ(td_msg_parse_handshake(ch, len, NULL, p, NULL), TD_OK);
        TD_EXPECT_EQ(p->u.ch.num_cipher_suites, TD_MAX_CIPHER_SUITES);
        TD_EXPECT(!p->u.ch.has_extensions);
        free(ch);
    }
    /* Certificate entries: one past the inline storage. */
    td_msg_init(m, TD_MSG_CERTIFICATE, false);
    m->u.cert.num_entries = TD_MAX_CERT_ENTRIES;
    for (size_t i = 0; i < TD_MAX_CERT_ENTRIES; i++)
        m->u.cert.entries[i].cert_data = STR("c");
    {
        size_t len = 0;
        uint8_t *bytes = build_msg(m, &len);
        TD_REQUIRE(bytes != NULL);
        uint8_t *big = malloc(len + 6);
        TD_REQUIRE(big != NULL);
        memcpy(big, bytes, len);
        memcpy(big + len,
               "\x00\x00\x01"
               "c"
               "\x00\x00",
               6);
        size_t body = len + 6 - 4, list_len = body - 1 - 3;
        big[1] = (uint8_t)(body >> 16), big[2] = (uint8_t)(body >> 8), big[3] = (uint8_t)body;
        big[5] = (uint8_t)(list_len >> 16), big[6] = (uint8_t)(list_len >> 8),
        big[7] = (uint8_t)list_len;
        td_diag diag;
        td_diag_clear(&diag);
        TD_EXPECT_EQ(td_msg_parse_handshake(big, len + 6, NULL, p, &diag), TD_OK);
        TD_EXPECT_EQ(p->u.cert.num_entries, TD_MAX_CERT_ENTRIES + 1);
        td_msg_cleanup(p);
        TD_EXPECT_EQ(td_msg_parse_handshake(bytes, len, NULL, p, NULL), TD_OK);
        free(big);
        free(bytes);
    }
    free(m);
    free(p);
}

/* RFC 8446 §4 / §6: every handshake message type the codec parses, in
 * either direction, is rejected with decode_error when bytes follow its
 * body ("nothing left over"). Each row is a body that parses; the test
 * parses it, then parses it again with each tail appended and wants
 * TD_ERR_DECODE with the row's rule at the row's offset (body parser and
 * whole-message parser, 4 bytes on). test_trailing_covers_every_type
 * checks that no parsed type is missing from this table. */
typedef struct trailing_row {
    const char *what;
    const char *senders; /* who sends it: both directions are covered */
    uint8_t type;
    const char *hex;
    size_t hash_len;
    td_rule rule;
    long offset; /* -1: the body's length (the first stray byte) */
} trailing_row;

/* clang-format off */
static const trailing_row k_trailing[] = {
    {"ClientHello", "client", 1, CH0 "0007" SV, 0, TD_RULE_CH_TRAILING_DATA, 41},
    {"ServerHello", "server", 2, SH0 "0006" SSV, 0, TD_RULE_GEN_DECODE, -1},
    {"HelloRetryRequest", "server", 2, HRR0 "0006" SSV, 0, TD_RULE_GEN_DECODE, -1},
    {"NewSessionTicket", "server", 4, "00000001" "00000002" "00" "000161" "0000", 0, TD_RULE_GEN_DECODE, -1},
    {"NewSessionTicket with nonce and extension", "server", 4,
     "00000001" "00000002" "0101" "000161" "0004" "fe000000", 0, TD_RULE_GEN_DECODE, -1},
    {"EndOfEarlyData", "client", 5, "", 0, TD_RULE_GEN_DECODE, -1},
    {"EncryptedExtensions", "server", 8, "0000", 0, TD_RULE_GEN_DECODE, -1},
    {"Certificate (empty list)", "client", 11, "00" "000000", 0, TD_RULE_GEN_DECODE, -1},
    {"Certificate (one entry)", "client server", 11, "00" "000006" "00000161" "0000", 0, TD_RULE_GEN_DECODE, -1},
    {"CertificateRequest", "server", 13, "01aa" "0008" "000d0004" "00020403", 0, TD_RULE_GEN_DECODE, -1},
    {"CertificateVerify", "client server", 15, "0804" "0002" "abcd", 0, TD_RULE_GEN_DECODE, -1},
    {"Finished", "client server", 20, Z32, 32, TD_RULE_GEN_DECODE, 0},
    {"KeyUpdate", "client server", 24, "01", 0, TD_RULE_GEN_DECODE, -1},
    {"message_hash", "transcript", 254, Z32, 32, TD_RULE_GEN_DECODE, 0},
};
/* clang-format on */

static const char *const k_tails[] = {"00", "ff", "0102", "fafa0000"};

static void test_trailing_bytes(void)
{
    td_msg *m = calloc(1, sizeof(*m));
    TD_REQUIRE(m != NULL);
    for (size_t i = 0; i < sizeof(k_trailing) / sizeof(k_trailing[0]); i++) {
        const trailing_row *row = &k_trailing[i];
        td_msg_ctx ctx = {row->hash_len, TD_SH_AUTO};
        size_t blen = 0;
        uint8_t *body = td_test_unhex(row->hex, &blen);
        TD_REQUIRE(body != NULL || blen == 0);
        td_diag diag;
        td_diag_clear(&diag);
        td_err err = td_msg_parse(row->type, body, blen, &ctx, m, &diag);
        TD_EXPECT_EQ(err, TD_OK);
        if (err != TD_OK)
            fprintf(stderr, "  %s: the clean body does not parse: %s\n", row->what, diag.text);
        else
            td_msg_cleanup(m);
        for (size_t t = 0; t < sizeof(k_tails) / sizeof(k_tails[0]); t++) {
            size_t tlen = 0;
            uint8_t *tail = td_test_unhex(k_tails[t], &tlen);
            TD_REQUIRE(tail != NULL);
            size_t len = blen + tlen;
            uint8_t *whole = malloc(4 + len);
            TD_REQUIRE(whole != NULL);
            whole[0] = row->type;
            whole[1] = (uint8_t)(len >> 16), whole[2] = (uint8_t)(len >> 8),
            whole[3] = (uint8_t)len;
            if (blen > 0)
                memcpy(whole + 4, body, blen);
            memcpy(whole + 4 + blen, tail, tlen);
            size_t want_off = row->offset < 0 ? blen : (size_t)row->offset;
            td_diag_clear(&diag);
            err = td_msg_parse(row->type, whole + 4, len, &ctx, m, &diag);
            bool ok = err == TD_ERR_DECODE && diag.rule == row->rule && diag.offset == want_off;
            TD_EXPECT(ok);
            if (!ok)
                fprintf(stderr, "  %s (sent by %s) + %s: got %s rule %s offset %zu (%s)\n",
                        row->what, row->senders, k_tails[t], td_err_name(err),
                        td_rule_get(diag.rule) ? td_rule_get(diag.rule)->id : "-", diag.offset,
                        diag.text);
            if (err == TD_OK)
                td_msg_cleanup(m);
            td_diag_clear(&diag);
            err = td_msg_parse_handshake(whole, len + 4, &ctx, m, &diag);
            TD_EXPECT_EQ(err, TD_ERR_DECODE);
            TD_EXPECT_EQ(diag.rule, row->rule);
            TD_EXPECT_EQ(diag.offset, want_off + 4);
            if (err == TD_OK)
                td_msg_cleanup(m);
            free(whole);
            free(tail);
        }
        free(body);
    }
    free(m);
}

/* The table above names every type the codec parses: a type whose empty
 * body is not refused as unexpected_message (RFC 8446 §4) has a row. */
static void test_trailing_covers_every_type(void)
{
    td_msg *m = calloc(1, sizeof(*m));
    TD_REQUIRE(m != NULL);
    for (unsigned type = 0; type < 256; type++) {
        td_msg_ctx ctx = {32, TD_SH_AUTO};
        td_diag diag;
        td_diag_clear(&diag);
        td_err err = td_msg_parse((uint8_t)type, NULL, 0, &ctx, m, &diag);
        if (err == TD_OK)
            td_msg_cleanup(m);
        if (err == TD_ERR_UNEXPECTED)
            continue;
        bool listed = false;
        for (size_t i = 0; i < sizeof(k_trailing) / sizeof(k_trailing[0]); i++)
            listed = listed || k_trailing[i].type == type;
        TD_EXPECT(listed);
        if (!listed)
            fprintf(stderr, "  type %u (%s) is parsed but has no trailing-bytes row\n", type,
                    td_msg_type_name((uint8_t)type));
    }
    free(m);
}

int main(void)
{
    TD_RUN(test_malformed_table);
    TD_RUN(test_trailing_bytes);
    TD_RUN(test_trailing_covers_every_type);
    TD_RUN(test_no_caps);
    return td_test_report("test_msg_malformed");
}
