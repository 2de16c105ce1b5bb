/* tests/unit/test_record.c -- engine/record.c: framing and its limits,
 * AEAD protection (RFC 8448 §3 record, round trips, every malformed inner
 * plaintext), sequence numbers, writers, handshake reassembly. */
#include "td_test.h"
#include "td_vectors.h"
#include "tlsdrill/msg.h"
#include "tlsdrill/record.h"

static td_crypto *g_crypto;

#define V(sec, step, name) TD_VEC_DATA(sec, step, name)
#define VL(sec, step, name) TD_VEC_LEN(sec, step, name)

static uint8_t g_big[70000];

/* A TLSPlaintext header + |len| bytes of body into g_big. */
static size_t make_record(uint8_t type, size_t len)
{
    g_big[0] = type;
    g_big[1] = 3;
    g_big[2] = 3;
    g_big[3] = (uint8_t)(len >> 8);
    g_big[4] = (uint8_t)len;
    memset(g_big + 5, 0x42, len);
    return 5 + len;
}

/* ---- framing ---- */

static void test_parse_round_trip(void)
{
    static const uint8_t frag[] = {1, 2, 3, 4, 5};
    static const uint8_t types[] = {TD_CT_CHANGE_CIPHER_SPEC, TD_CT_ALERT, TD_CT_HANDSHAKE,
                                    TD_CT_APPLICATION_DATA};
    for (size_t i = 0; i < sizeof(types); i++) {
        td_cbb cbb;
        uint8_t *out;
        size_t out_len;
        TD_REQUIRE(td_cbb_init(&cbb, 0));
        TD_REQUIRE(td_rec_write_plain(&cbb, types[i], TD_REC_VERSION_TLS10, frag, sizeof(frag)) == TD_OK);
        TD_REQUIRE(td_cbb_finish(&cbb, &out, &out_len));
        td_record rec;
        TD_EXPECT(td_rec_parse(out, out_len, false, &rec, NULL) == TD_OK);
        TD_EXPECT_EQ(rec.type, types[i]);
        TD_EXPECT_EQ(rec.version, 0x0301);
        TD_EXPECT_EQ(rec.total_len, out_len);
        TD_EXPECT_MEM(rec.fragment, rec.fragment_len, frag, sizeof(frag));
        TD_EXPECT(rec.header == out);
        free(out);
    }
    /* Two records back to back: the first is parsed, the rest left. */
    uint8_t two[] = {22, 3, 3, 0, 1, 9, 21, 3, 3, 0, 2, 1, 0};
    td_record rec;
    TD_REQUIRE(td_rec_parse(two, sizeof(two), false, &rec, NULL) == TD_OK);
    TD_EXPECT_EQ(rec.total_len, 6);
    TD_REQUIRE(td_rec_parse(two + 6, sizeof(two) - 6, false, &rec, NULL) == TD_OK);
    TD_EXPECT_EQ(rec.type, TD_CT_ALERT);
    /* RFC 8448 §3: ClientHello record re-framed byte for byte. */
    td_cbb cbb;
    uint8_t *out;
    size_t out_len;
    TD_REQUIRE(td_cbb_init(&cbb, 0));
    TD_REQUIRE(td_rec_write_plain(&cbb, TD_CT_HANDSHAKE, TD_REC_VERSION_TLS10, V(3, 2, "payload"),
                                  VL(3, 2, "payload")) == TD_OK);
    TD_REQUIRE(td_cbb_finish(&cbb, &out, &out_len));
    TD_EXPECT_MEM(out, out_len, V(3, 2, "complete record"), VL(3, 2, "complete record"));
    free(out);
}

static void expect_err(td_err got, td_err want, td_rule rule, const td_diag *diag, size_t offset)
{
    TD_EXPECT_EQ(got, want);
    TD_EXPECT_EQ(diag->rule, rule);
    TD_EXPECT_EQ(diag->offset, offset);
}

static void test_parse_limits(void)
{
    td_record rec;
    td_diag diag;
    /* §5.1: exactly 2^14 is fine, 2^14+1 overflows -- from the header alone. */
    size_t n = make_record(TD_CT_HANDSHAKE, 16384);
    td_diag_clear(&diag);
    TD_EXPECT(td_rec_parse(g_big, n, false, &rec, &diag) == TD_OK);
    TD_EXPECT_EQ(rec.fragment_len, 16384);
    n = make_record(TD_CT_HANDSHAKE, 16385);
    td_diag_clear(&diag);
    expect_err(td_rec_parse(g_big, 5, false, &rec, &diag), TD_ERR_RECORD_OVERFLOW,
               TD_RULE_REC_PLAINTEXT_OVERFLOW, &diag, 3);
    td_diag_clear(&diag);
    expect_err(td_rec_parse(g_big, n, false, &rec, &diag), TD_ERR_RECORD_OVERFLOW,
               TD_RULE_REC_PLAINTEXT_OVERFLOW, &diag, 3);
    /* Application data before keys is a TLSPlaintext too. */
    make_record(TD_CT_APPLICATION_DATA, 16385);
    td_diag_clear(&diag);
    expect_err(td_rec_parse(g_big, 5, false, &rec, &diag), TD_ERR_RECORD_OVERFLOW,
               TD_RULE_REC_PLAINTEXT_OVERFLOW, &diag, 3);
    /* §5.2: protected, 2^14+256 is fine (the header alone wants the body),
     * 2^14+257 overflows. */
    n = make_record(TD_CT_APPLICATION_DATA, 16384 + 256);
    TD_EXPECT_EQ(td_rec_parse(g_big, 5, true, &rec, NULL), TD_ERR_WANT_MORE);
    TD_EXPECT(td_rec_parse(g_big, n, true, &rec, NULL) == TD_OK);
    make_record(TD_CT_APPLICATION_DATA, 16384 + 257);
    td_diag_clear(&diag);
    expect_err(td_rec_parse(g_big, 5, true, &rec, &diag), TD_ERR_RECORD_OVERFLOW,
               TD_RULE_REC_CIPHERTEXT_OVERFLOW, &diag, 3);
    /* With keys, a non-application_data record is still plaintext-limited. */
    make_record(TD_CT_ALERT, 16385);
    td_diag_clear(&diag);
    expect_err(td_rec_parse(g_big, 5, true, &rec, &diag), TD_ERR_RECORD_OVERFLOW,
               TD_RULE_REC_PLAINTEXT_OVERFLOW, &diag, 3);
}

static void test_parse_truncations(void)
{
    const td_tsv_row *r = td_vec(3, 19, "complete record");
    td_record rec;
    for (size_t cut = 0; cut < r->len; cut++)
        TD_EXPECT_EQ(td_rec_parse(r->data, cut, true, &rec, NULL), TD_ERR_WANT_MORE);
    TD_EXPECT(td_rec_parse(r->data, r->len, true, &rec, NULL) == TD_OK);
    const td_tsv_row *p = td_vec(3, 2, "complete record");
    for (size_t cut = 0; cut < p->len; cut++)
        TD_EXPECT_EQ(td_rec_parse(p->data, cut, false, &rec, NULL), TD_ERR_WANT_MORE);
}

static void test_parse_unknown_type(void)
{
    static const uint8_t types[] = {0, 19, 24, 25, 99, 255};
    for (size_t i = 0; i < sizeof(types); i++) {
        uint8_t rec_bytes[] = {types[i], 3, 3, 0, 1, 0};
        td_record rec;
        td_diag diag;
        /* Detected from the first byte: no point waiting for more. */
        td_diag_clear(&diag);
        expect_err(td_rec_parse(rec_bytes, 1, false, &rec, &diag), TD_ERR_UNEXPECTED,
                   TD_RULE_REC_UNKNOWN_TYPE, &diag, 0);
        td_diag_clear(&diag);
        expect_err(td_rec_parse(rec_bytes, sizeof(rec_bytes), true, &rec, &diag),
                   TD_ERR_UNEXPECTED, TD_RULE_REC_UNKNOWN_TYPE, &diag, 0);
    }
    TD_EXPECT(td_content_type_name(23) != NULL && strcmp(td_content_type_name(23), "application_data") == 0);
    TD_EXPECT(td_content_type_name(24) == NULL);
}

static void test_ccs_value(void)
{
    static const struct {
        uint8_t bytes[8];
        size_t len;
        td_err err;
        size_t offset;
    } cases[] = {
        {{20, 3, 3, 0, 1, 1}, 6, TD_OK, 0},
        {{20, 3, 3, 0, 1, 0}, 6, TD_ERR_UNEXPECTED, 5},
        {{20, 3, 3, 0, 1, 2}, 6, TD_ERR_UNEXPECTED, 5},
        {{20, 3, 3, 0, 0}, 5, TD_ERR_UNEXPECTED, 3},
        {{20, 3, 3, 0, 2, 1, 1}, 7, TD_ERR_UNEXPECTED, 3},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        td_record rec;
        td_diag diag;
        td_diag_clear(&diag);
        TD_REQUIRE(td_rec_parse(cases[i].bytes, cases[i].len, false, &rec, NULL) == TD_OK);
        td_err ret = td_rec_check_ccs(&rec, &diag);
        TD_EXPECT_EQ(ret, cases[i].err);
        if (cases[i].err != TD_OK)
            expect_err(ret, cases[i].err, TD_RULE_REC_CCS_BAD_VALUE, &diag, cases[i].offset);
    }
    /* RFC 8448 §7's compatibility-mode CCS. */
    const td_tsv_row *r = td_vec(7, 7, "complete record");
    td_record rec;
    TD_REQUIRE(td_rec_parse(r->data, r->len, true, &rec, NULL) == TD_OK);
    TD_EXPECT(td_rec_check_ccs(&rec, NULL) == TD_OK);
    uint8_t hs[] = {22, 3, 3, 0, 1, 1};
    TD_REQUIRE(td_rec_parse(hs, sizeof(hs), false, &rec, NULL) == TD_OK);
    TD_EXPECT_EQ(td_rec_check_ccs(&rec, NULL), TD_ERR_ARG);
}

/* ---- protection ---- */

static td_err cipher_from_trace(td_rec_cipher *c, int sec, int step)
{
    return td_rec_cipher_init_raw(c, g_crypto, td_suite_get(0x1301), V(sec, step, "key expanded"),
                                  V(sec, step, "iv expanded"));
}

static void test_rfc8448_record(void)
{
    /* §3 step 51: client application data under keys of step 42, seq 0. */
    const td_tsv_row *rec_row = td_vec(3, 51, "complete record");
    const td_tsv_row *pay = td_vec(3, 51, "payload");
    td_rec_cipher open, seal;
    memset(&open, 0, sizeof(open));
    memset(&seal, 0, sizeof(seal));
    TD_REQUIRE(cipher_from_trace(&open, 3, 42) == TD_OK);
    TD_REQUIRE(cipher_from_trace(&seal, 3, 42) == TD_OK);
    td_record rec;
    TD_REQUIRE(td_rec_parse(rec_row->data, rec_row->len, true, &rec, NULL) == TD_OK);
    uint8_t buf[128], type = 0;
    td_cbs content;
    TD_REQUIRE(td_rec_open(&open, &rec, buf, sizeof(buf), &type, &content, NULL) == TD_OK);
    TD_EXPECT_EQ(type, TD_CT_APPLICATION_DATA);
    TD_EXPECT_MEM(td_cbs_data(&content), td_cbs_len(&content), pay->data, pay->len);
    TD_EXPECT_EQ(open.seq, 1);
    td_cbb cbb;
    uint8_t *out;
    size_t out_len;
    TD_REQUIRE(td_cbb_init(&cbb, 0));
    TD_REQUIRE(td_rec_seal(&seal, &cbb, TD_CT_APPLICATION_DATA, pay->data, pay->len, 0, 0, NULL) == TD_OK);
    TD_REQUIRE(td_cbb_finish(&cbb, &out, &out_len));
    TD_EXPECT_MEM(out, out_len, rec_row->data, rec_row->len);
    free(out);
    /* The same record again is seq 1 for the receiver: it cannot authenticate. */
    td_diag diag;
    td_diag_clear(&diag);
    expect_err(td_rec_open(&open, &rec, buf, sizeof(buf), &type, &content, &diag),
               TD_ERR_BAD_RECORD_MAC, TD_RULE_REC_BAD_MAC, &diag, 5);
    td_rec_cipher_cleanup(&open);
    td_rec_cipher_cleanup(&seal);
}

/* A fresh pair of ciphers on a fixed secret, for round trips. */
static void pair(td_rec_cipher *seal, td_rec_cipher *open)
{
    static const uint8_t secret[32] = {7, 7, 7};
    memset(seal, 0, sizeof(*seal));
    memset(open, 0, sizeof(*open));
    if (td_rec_cipher_init(seal, g_crypto, td_suite_get(0x1303), secret) != TD_OK ||
        td_rec_cipher_init(open, g_crypto, td_suite_get(0x1303), secret) != TD_OK)
        abort();
}

/* Seals (type, content, pad) with |flags|, opens it; returns open's result. */
static td_err seal_open(uint8_t type, const uint8_t *content, size_t len, size_t pad,
                        unsigned flags, uint8_t *out_type, uint8_t *buf, size_t *out_len,
                        td_diag *diag)
{
    td_rec_cipher s, o;
    pair(&s, &o);
    td_cbb cbb;
    uint8_t *rec_bytes = NULL;
    size_t rec_len = 0;
    td_err ret = TD_ERR_ARG;
    if (!td_cbb_init(&cbb, 0))
        abort();
    if (td_rec_seal(&s, &cbb, type, content, len, pad, flags, NULL) == TD_OK &&
        td_cbb_finish(&cbb, &rec_bytes, &rec_len)) {
        td_record rec;
        td_cbs c;
        ret = td_rec_parse(rec_bytes, rec_len, true, &rec, diag);
        if (ret == TD_OK)
            ret = td_rec_open(&o, &rec, buf, sizeof(g_big), out_type, &c, diag);
        if (ret == TD_OK)
            *out_len = td_cbs_len(&c);
    } else {
        td_cbb_cleanup(&cbb);
    }
    free(rec_bytes);
    td_rec_cipher_cleanup(&s);
    td_rec_cipher_cleanup(&o);
    return ret;
}

static void test_seal_open_padding(void)
{
    static uint8_t buf[sizeof(g_big)];
    uint8_t type = 0;
    size_t len = 0;
    static const uint8_t msg[] = "hello";
    for (size_t pad = 0; pad < 300; pad += 37) {
        TD_EXPECT(seal_open(TD_CT_HANDSHAKE, msg, 5, pad, 0, &type, buf, &len, NULL) == TD_OK);
        TD_EXPECT_EQ(type, TD_CT_HANDSHAKE);
        TD_EXPECT_MEM(buf, len, msg, 5); /* padding stripped */
    }
    /* §5.4: zero-length application data is allowed. */
    TD_EXPECT(seal_open(TD_CT_APPLICATION_DATA, NULL, 0, 3, 0, &type, buf, &len, NULL) == TD_OK);
    TD_EXPECT_EQ(len, 0);
    /* Largest legal: 2^14 of content, no padding; 2^14-10 with 10 padding. */
    TD_EXPECT(seal_open(TD_CT_APPLICATION_DATA, g_big, 16384, 0, 0, &type, buf, &len, NULL) == TD_OK);
    TD_EXPECT_EQ(len, 16384);
    TD_EXPECT(seal_open(TD_CT_APPLICATION_DATA, g_big, 16374, 10, 0, &type, buf, &len, NULL) == TD_OK);
    /* Sender limits refused without the misbehaviour flag. */
    TD_EXPECT_EQ(seal_open(TD_CT_APPLICATION_DATA, g_big, 16385, 0, 0, &type, buf, &len, NULL),
                 TD_ERR_ARG);
    TD_EXPECT_EQ(seal_open(TD_CT_APPLICATION_DATA, g_big, 16384, 1, 0, &type, buf, &len, NULL),
                 TD_ERR_ARG);
}

static void test_open_malformed_inner(void)
{
    static uint8_t buf[sizeof(g_big)];
    static const struct {
        const char *what;
        uint8_t type;
        size_t len, pad;
        td_err err;
        td_rule rule;
        size_t offset;
    } cases[] = {
        /* §5.4: no non-zero octet at all. */
        {"all zero", 0, 0, 20, TD_ERR_UNEXPECTED, TD_RULE_REC_NO_CONTENT_TYPE, 5},
        {"single zero", 0, 0, 0, TD_ERR_UNEXPECTED, TD_RULE_REC_NO_CONTENT_TYPE, 5},
        /* §5.4: empty handshake / alert content. */
        {"empty handshake", TD_CT_HANDSHAKE, 0, 4, TD_ERR_UNEXPECTED, TD_RULE_REC_ZERO_LENGTH, 5},
        {"empty alert", TD_CT_ALERT, 0, 0, TD_ERR_UNEXPECTED, TD_RULE_REC_ZERO_LENGTH, 5},
        /* §5: CCS inside protection; an undefined inner type. */
        {"protected ccs", TD_CT_CHANGE_CIPHER_SPEC, 1, 0, TD_ERR_UNEXPECTED,
         TD_RULE_REC_CCS_PROTECTED, 6},
        {"inner type 24", 24, 3, 0, TD_ERR_UNEXPECTED, TD_RULE_REC_UNKNOWN_TYPE, 8},
        /* §5.1/§6.2: content over 2^14; §5.4: padding makes it over 2^14+1. */
        {"content 2^14+1", TD_CT_APPLICATION_DATA, 16385, 0, TD_ERR_RECORD_OVERFLOW,
         TD_RULE_REC_INNER_OVERFLOW, 5 + 16385},
        {"content 2^14+100, padded", TD_CT_HANDSHAKE, 16484, 50, TD_ERR_RECORD_OVERFLOW,
         TD_RULE_REC_INNER_OVERFLOW, 5 + 16484},
        {"padding overflow", TD_CT_APPLICATION_DATA, 16384, 1, TD_ERR_RECORD_OVERFLOW,
         TD_RULE_REC_INNER_PADDING_OVERFLOW, 5 + 16385},
        {"padding overflow 2", TD_CT_HANDSHAKE, 100, 16300, TD_ERR_RECORD_OVERFLOW,
         TD_RULE_REC_INNER_PADDING_OVERFLOW, 5 + 16385},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t type = 0;
        size_t len = 0;
        td_diag diag;
        td_diag_clear(&diag);
        td_err ret = seal_open(cases[i].type, g_big, cases[i].len, cases[i].pad,
                               TD_REC_SEAL_NO_LIMITS, &type, buf, &len, &diag);
        if (ret != cases[i].err || diag.rule != cases[i].rule || diag.offset != cases[i].offset)
            fprintf(stderr, "case '%s': %s %s @%zu\n", cases[i].what, td_err_name(ret),
                    td_rule_get(diag.rule) ? td_rule_get(diag.rule)->id : "-", diag.offset);
        expect_err(ret, cases[i].err, cases[i].rule, &diag, cases[i].offset);
    }
}

/* Fuzzer mode's protection (td_rec_cipher_init_null): the framing and
 * sizes of an AEAD record, the content in clear, the tag not checked but
 * for the 0-RTT mark, the inner plaintext checked as after a decryption. */
static void test_null_protection(void)
{
    static const uint8_t secret[32] = {7, 7, 7};
    const td_suite *suite = td_suite_get(0x1301);
    td_rec_cipher aead, s, o, early, o_early;
    memset(&aead, 0, sizeof(aead));
    TD_REQUIRE(td_rec_cipher_init(&aead, g_crypto, suite, secret) == TD_OK);
    TD_REQUIRE(td_rec_cipher_init_null(&s, suite, false) == TD_OK);
    TD_REQUIRE(td_rec_cipher_init_null(&o, suite, false) == TD_OK);
    TD_REQUIRE(td_rec_cipher_init_null(&early, suite, true) == TD_OK);
    TD_REQUIRE(td_rec_cipher_init_null(&o_early, suite, true) == TD_OK);
    td_cbb a, n;
    TD_REQUIRE(td_cbb_init(&a, 0) && td_cbb_init(&n, 0));
    static const uint8_t msg[] = {20, 0, 0, 1, 0x42};
    TD_REQUIRE(td_rec_seal(&aead, &a, TD_CT_HANDSHAKE, msg, sizeof(msg), 3, 0, NULL) == TD_OK);
    TD_REQUIRE(td_rec_seal(&s, &n, TD_CT_HANDSHAKE, msg, sizeof(msg), 3, 0, NULL) == TD_OK);
    /* Same header, same length; content || type || padding || zero tag. */
    static const uint8_t want[] = {23, 3, 3, 0, 25, 20, 0, 0, 1, 0x42, 22, 0, 0, 0, 0,
                                   0,  0, 0, 0, 0,  0,  0, 0, 0, 0,    0,  0, 0, 0, 0};
    TD_EXPECT_MEM(td_cbb_data(&n), td_cbb_len(&n), want, sizeof(want));
    TD_EXPECT_MEM(td_cbb_data(&a), TD_REC_HEADER_LEN, want, TD_REC_HEADER_LEN);
    TD_EXPECT_EQ(td_cbb_len(&a), sizeof(want));
    td_cbb_cleanup(&a);
    td_cbb_cleanup(&n);
    uint8_t rec_bytes[sizeof(want)], buf[64], type = 0;
    td_record rec;
    td_cbs c;
    td_diag diag;
    /* Any tag opens (the sequence number still advances)... */
    memcpy(rec_bytes, want, sizeof(want));
    rec_bytes[sizeof(want) - 1] = 0x5a;
    rec_bytes[sizeof(want) - 16] = 0x01;
    TD_REQUIRE(td_rec_parse(rec_bytes, sizeof(rec_bytes), true, &rec, NULL) == TD_OK);
    TD_EXPECT(td_rec_open(&o, &rec, buf, sizeof(buf), &type, &c, NULL) == TD_OK);
    TD_EXPECT_EQ(type, TD_CT_HANDSHAKE);
    TD_EXPECT_MEM(td_cbs_data(&c), td_cbs_len(&c), msg, sizeof(msg));
    TD_EXPECT_EQ(o.seq, 1);
    /* ... but not with an AEAD. */
    td_diag_clear(&diag);
    expect_err(td_rec_open(&aead, &rec, buf, sizeof(buf), &type, &c, &diag), TD_ERR_BAD_RECORD_MAC,
               TD_RULE_REC_BAD_MAC, &diag, 5);
    /* A record marked 0-RTT opens only under 0-RTT keys. */
    rec_bytes[sizeof(want) - 16] = TD_REC_NULL_EARLY_MARK;
    td_diag_clear(&diag);
    expect_err(td_rec_open(&o, &rec, buf, sizeof(buf), &type, &c, &diag), TD_ERR_BAD_RECORD_MAC,
               TD_RULE_REC_BAD_MAC, &diag, 5);
    TD_EXPECT(td_rec_open(&o_early, &rec, buf, sizeof(buf), &type, &c, NULL) == TD_OK);
    TD_REQUIRE(td_cbb_init(&n, 0));
    TD_REQUIRE(td_rec_seal(&early, &n, TD_CT_APPLICATION_DATA, msg, 1, 0, 0, NULL) == TD_OK);
    TD_EXPECT_EQ(td_cbb_data(&n)[TD_REC_HEADER_LEN + 2], TD_REC_NULL_EARLY_MARK);
    td_cbb_cleanup(&n);
    /* The inner plaintext is checked: all padding has no content type. */
    memset(rec_bytes + TD_REC_HEADER_LEN, 0, sizeof(want) - TD_REC_HEADER_LEN);
    td_diag_clear(&diag);
    expect_err(td_rec_open(&o, &rec, buf, sizeof(buf), &type, &c, &diag), TD_ERR_UNEXPECTED,
               TD_RULE_REC_NO_CONTENT_TYPE, &diag, 5);
    /* A fragment shorter than the tag cannot be a record. */
    static const uint8_t shortrec[] = {23, 3, 3, 0, 15, 1,  2,  3,  4,  5,
                                       6,  7, 8, 9, 10, 11, 12, 13, 14, 15};
    TD_REQUIRE(td_rec_parse(shortrec, sizeof(shortrec), true, &rec, NULL) == TD_OK);
    td_diag_clear(&diag);
    expect_err(td_rec_open(&o, &rec, buf, sizeof(buf), &type, &c, &diag), TD_ERR_BAD_RECORD_MAC,
               TD_RULE_REC_BAD_MAC, &diag, 5);
    td_rec_cipher_cleanup(&aead);
    td_rec_cipher_cleanup(&s);
    td_rec_cipher_cleanup(&o);
    td_rec_cipher_cleanup(&early);
    td_rec_cipher_cleanup(&o_early);
}

static void test_open_tampered(void)
{
    td_rec_cipher s, o;
    pair(&s, &o);
    td_cbb cbb;
    uint8_t *rec_bytes;
    size_t rec_len;
    TD_REQUIRE(td_cbb_init(&cbb, 0));
    TD_REQUIRE(td_rec_seal(&s, &cbb, TD_CT_HANDSHAKE, (const uint8_t *)"abcdef", 6, 2, 0, NULL) == TD_OK);
    TD_REQUIRE(td_cbb_finish(&cbb, &rec_bytes, &rec_len));
    TD_EXPECT_EQ(rec_len, 5 + 6 + 1 + 2 + 16);
    TD_EXPECT_EQ(rec_bytes[0], TD_CT_APPLICATION_DATA);
    TD_EXPECT_EQ(rec_bytes[1] << 8 | rec_bytes[2], 0x0303);
    uint8_t buf[64], type;
    td_cbs c;
    /* Every byte of the record is covered: the header as additional data,
     * the body and the tag by the AEAD. Lengths kept, so it still parses. */
    for (size_t i = 0; i < rec_len; i++) {
        if (i == 0 || i == 3 || i == 4)
            continue; /* type and length: would not parse as this record */
        if (i == 1) {
            /* Version 0x0203: refused before decryption (Appendix D.5). */
            td_record r;
            td_diag d;
            td_diag_clear(&d);
            rec_bytes[1] ^= 0x01;
            expect_err(td_rec_parse(rec_bytes, rec_len, true, &r, &d), TD_ERR_PROTOCOL_VERSION,
                       TD_RULE_REC_VERSION_BELOW_SSL3, &d, 1);
            rec_bytes[1] ^= 0x01;
            continue;
        }
        o.seq = 0;
        rec_bytes[i] ^= 0x01;
        td_record rec;
        td_diag diag;
        td_diag_clear(&diag);
        TD_REQUIRE(td_rec_parse(rec_bytes, rec_len, true, &rec, NULL) == TD_OK);
        expect_err(td_rec_open(&o, &rec, buf, sizeof(buf), &type, &c, &diag),
                   TD_ERR_BAD_RECORD_MAC, TD_RULE_REC_BAD_MAC, &diag, 5);
        rec_bytes[i] ^= 0x01;
    }
    o.seq = 0;
    td_record rec;
    TD_REQUIRE(td_rec_parse(rec_bytes, rec_len, true, &rec, NULL) == TD_OK);
    TD_EXPECT(td_rec_open(&o, &rec, buf, sizeof(buf), &type, &c, NULL) == TD_OK);
    TD_EXPECT_MEM(td_cbs_data(&c), td_cbs_len(&c), "abcdef", 6);
    /* Shorter than a tag: cannot authenticate. */
    uint8_t tiny[] = {23, 3, 3, 0, 15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    td_diag diag;
    td_diag_clear(&diag);
    TD_REQUIRE(td_rec_parse(tiny, sizeof(tiny), true, &rec, NULL) == TD_OK);
    expect_err(td_rec_open(&o, &rec, buf, sizeof(buf), &type, &c, &diag), TD_ERR_BAD_RECORD_MAC,
               TD_RULE_REC_BAD_MAC, &diag, 5);
    /* ... and says so: the record is too short, not a failed authentication
     * (the AEAD would refuse it too, with less to say). */
    TD_EXPECT(strstr(diag.text, "too short to authenticate") != NULL);
    /* A bare tag that authenticates: an empty TLSInnerPlaintext has no
     * content type (§5.4), which is not a MAC failure. */
    uint8_t bare[5 + 16] = {23, 3, 3, 0, 16};
    uint8_t nonce[12];
    o.seq = 0;
    td_rec_nonce(&o, 0, nonce);
    TD_REQUIRE(td_aead_seal(o.aead, nonce, bare, 5, NULL, 0, bare + 5) == TD_OK);
    TD_REQUIRE(td_rec_parse(bare, sizeof(bare), true, &rec, NULL) == TD_OK);
    td_diag_clear(&diag);
    expect_err(td_rec_open(&o, &rec, buf, sizeof(buf), &type, &c, &diag), TD_ERR_UNEXPECTED,
               TD_RULE_REC_NO_CONTENT_TYPE, &diag, 5);
    /* A plaintext handshake record handed to open is not a ciphertext. */
    uint8_t plain[] = {22, 3, 3, 0, 1, 1};
    TD_REQUIRE(td_rec_parse(plain, sizeof(plain), true, &rec, NULL) == TD_OK);
    TD_EXPECT_EQ(td_rec_open(&o, &rec, buf, sizeof(buf), &type, &c, NULL), TD_ERR_UNEXPECTED);
    TD_EXPECT_EQ(td_rec_open(&o, &rec, buf, 0, &type, &c, NULL), TD_ERR_ARG);
    free(rec_bytes);
    td_rec_cipher_cleanup(&s);
    td_rec_cipher_cleanup(&o);
}

static void test_sequence_numbers(void)
{
    td_rec_cipher s, o;
    pair(&s, &o);
    uint8_t n0[12], n1[12], n2[12];
    td_rec_nonce(&s, 0, n0);
    td_rec_nonce(&s, 1, n1);
    td_rec_nonce(&s, 0x0102030405060708ull, n2);
    /* §5.3: IV xor the left-padded big-endian sequence number. */
    TD_EXPECT_MEM(n0, 12, s.iv, 12);
    TD_EXPECT(memcmp(n0, n1, 12) != 0);
    TD_EXPECT_EQ(n1[11], s.iv[11] ^ 1);
    TD_EXPECT_MEM(n1, 11, s.iv, 11);
    for (int i = 0; i < 8; i++)
        TD_EXPECT_EQ(n2[4 + i], s.iv[4 + i] ^ (i + 1));
    TD_EXPECT_MEM(n2, 4, s.iv, 4);
    /* Records advance the counters; two equal plaintexts differ on the wire. */
    td_cbb cbb;
    uint8_t *out;
    size_t out_len;
    TD_REQUIRE(td_cbb_init(&cbb, 0));
    for (int i = 0; i < 3; i++)
        TD_REQUIRE(td_rec_seal(&s, &cbb, TD_CT_APPLICATION_DATA, (const uint8_t *)"same", 4, 0, 0, NULL) == TD_OK);
    TD_REQUIRE(td_cbb_finish(&cbb, &out, &out_len));
    TD_EXPECT_EQ(s.seq, 3);
    size_t rl = out_len / 3;
    TD_EXPECT(memcmp(out + 5, out + rl + 5, rl - 5) != 0);
    for (int i = 0; i < 3; i++) {
        td_record rec;
        uint8_t buf[64], type;
        td_cbs c;
        TD_REQUIRE(td_rec_parse(out + i * rl, rl, true, &rec, NULL) == TD_OK);
        TD_EXPECT(td_rec_open(&o, &rec, buf, sizeof(buf), &type, &c, NULL) == TD_OK);
    }
    TD_EXPECT_EQ(o.seq, 3);
    free(out);
    /* §5.3: the 64-bit counter must not wrap: the last number is usable,
     * then REC-SEQ-WRAP on both sides. */
    s.seq = UINT64_MAX;
    TD_REQUIRE(td_cbb_init(&cbb, 0));
    TD_EXPECT(td_rec_seal(&s, &cbb, TD_CT_APPLICATION_DATA, (const uint8_t *)"x", 1, 0, 0, NULL) == TD_OK);
    td_diag diag;
    td_diag_clear(&diag);
    TD_EXPECT_EQ(td_rec_seal(&s, &cbb, TD_CT_APPLICATION_DATA, (const uint8_t *)"x", 1, 0, 0, &diag),
                 TD_ERR_LIMIT);
    TD_EXPECT_EQ(diag.rule, TD_RULE_REC_SEQ_WRAP);
    TD_REQUIRE(td_cbb_finish(&cbb, &out, &out_len));
    o.seq = UINT64_MAX;
    td_record rec;
    uint8_t buf[64], type;
    td_cbs c;
    TD_REQUIRE(td_rec_parse(out, out_len, true, &rec, NULL) == TD_OK);
    TD_EXPECT(td_rec_open(&o, &rec, buf, sizeof(buf), &type, &c, NULL) == TD_OK);
    td_diag_clear(&diag);
    TD_EXPECT_EQ(td_rec_open(&o, &rec, buf, sizeof(buf), &type, &c, &diag), TD_ERR_LIMIT);
    TD_EXPECT_EQ(diag.rule, TD_RULE_REC_SEQ_WRAP);
    free(out);
    td_rec_cipher_cleanup(&s);
    td_rec_cipher_cleanup(&o);
    td_rec_cipher_cleanup(NULL);
}

/* ---- writers ---- */

static void test_fragmentation(void)
{
    td_cbb cbb;
    uint8_t *out;
    size_t out_len;
    for (size_t i = 0; i < 40000; i++)
        g_big[i] = (uint8_t)(i * 7);
    TD_REQUIRE(td_cbb_init(&cbb, 0));
    TD_REQUIRE(td_rec_write_plain_fragments(&cbb, TD_CT_HANDSHAKE, 0x0303, g_big, 40000, 16384) == TD_OK);
    TD_REQUIRE(td_cbb_finish(&cbb, &out, &out_len));
    TD_EXPECT_EQ(out_len, 40000 + 3 * 5);
    static uint8_t joined[40000];
    size_t off = 0, got = 0, nrec = 0;
    while (off < out_len) {
        td_record rec;
        TD_REQUIRE(td_rec_parse(out + off, out_len - off, false, &rec, NULL) == TD_OK);
        TD_EXPECT(rec.fragment_len <= 16384);
        memcpy(joined + got, rec.fragment, rec.fragment_len);
        got += rec.fragment_len;
        off += rec.total_len;
        nrec++;
    }
    TD_EXPECT_EQ(nrec, 3);
    TD_EXPECT_MEM(joined, got, g_big, 40000);
    free(out);
    /* Small fragments, protected. */
    td_rec_cipher s, o;
    pair(&s, &o);
    TD_REQUIRE(td_cbb_init(&cbb, 0));
    TD_REQUIRE(td_rec_seal_fragments(&s, &cbb, TD_CT_HANDSHAKE, g_big, 1000, 300, 5, NULL) == TD_OK);
    TD_REQUIRE(td_cbb_finish(&cbb, &out, &out_len));
    TD_EXPECT_EQ(s.seq, 4);
    TD_EXPECT_EQ(out_len, 1000 + 4 * (5 + 1 + 5 + 16));
    off = got = 0;
    while (off < out_len) {
        td_record rec;
        uint8_t buf[400], type;
        td_cbs c;
        TD_REQUIRE(td_rec_parse(out + off, out_len - off, true, &rec, NULL) == TD_OK);
        TD_REQUIRE(td_rec_open(&o, &rec, buf, sizeof(buf), &type, &c, NULL) == TD_OK);
        TD_EXPECT_EQ(type, TD_CT_HANDSHAKE);
        memcpy(joined + got, td_cbs_data(&c), td_cbs_len(&c));
        got += td_cbs_len(&c);
        off += rec.total_len;
    }
    TD_EXPECT_MEM(joined, got, g_big, 1000);
    free(out);
    /* §5.1: no zero-length handshake fragments; empty application data is one record. */
    TD_REQUIRE(td_cbb_init(&cbb, 0));
    TD_EXPECT_EQ(td_rec_write_plain_fragments(&cbb, TD_CT_HANDSHAKE, 0x0303, NULL, 0, 100), TD_ERR_ARG);
    TD_EXPECT_EQ(td_rec_seal_fragments(&s, &cbb, TD_CT_HANDSHAKE, NULL, 0, 100, 0, NULL), TD_ERR_ARG);
    TD_EXPECT_EQ(td_rec_write_plain_fragments(&cbb, TD_CT_ALERT, 0x0303, g_big, 2, 0), TD_ERR_ARG);
    TD_EXPECT_EQ(td_rec_write_plain_fragments(&cbb, TD_CT_ALERT, 0x0303, g_big, 2, 16385), TD_ERR_ARG);
    TD_EXPECT(td_rec_seal_fragments(&s, &cbb, TD_CT_APPLICATION_DATA, NULL, 0, 100, 0, NULL) == TD_OK);
    TD_EXPECT_EQ(td_cbb_len(&cbb), 5 + 1 + 16);
    /* Plain writer limits; the raw writer writes anything that fits. */
    TD_EXPECT_EQ(td_rec_write_plain(&cbb, TD_CT_HANDSHAKE, 0x0303, g_big, 16385), TD_ERR_ARG);
    TD_EXPECT_EQ(td_rec_write_plain(&cbb, 24, 0x0303, g_big, 1), TD_ERR_ARG);
    TD_EXPECT(td_rec_write_raw(&cbb, 24, 0x0200, g_big, 16385) == TD_OK);
    TD_EXPECT_EQ(td_rec_write_raw(&cbb, 24, 0x0200, g_big, 65536), TD_ERR_ARG);
    td_cbb_cleanup(&cbb);
    td_rec_cipher_cleanup(&s);
    td_rec_cipher_cleanup(&o);
}

/* ---- reassembly ---- */

static void test_reasm_byte_records(void)
{
    /* A 100-byte-body message split into 1-byte records. */
    uint8_t msg[104];
    msg[0] = 11, msg[1] = 0, msg[2] = 0, msg[3] = 100;
    for (int i = 4; i < 104; i++)
        msg[i] = (uint8_t)i;
    td_hs_reasm r;
    td_hs_reasm_init(&r, 0);
    td_cbs out;
    TD_EXPECT(!td_hs_reasm_pending(&r));
    TD_EXPECT_EQ(td_hs_reasm_next(&r, &out, NULL), TD_ERR_WANT_MORE);
    for (size_t i = 0; i < sizeof(msg); i++) {
        TD_REQUIRE(td_hs_reasm_add(&r, msg + i, 1, NULL) == TD_OK);
        td_err ret = td_hs_reasm_next(&r, &out, NULL);
        if (i + 1 < sizeof(msg)) {
            TD_EXPECT_EQ(ret, TD_ERR_WANT_MORE);
            TD_EXPECT(td_hs_reasm_pending(&r));
        } else {
            TD_EXPECT(ret == TD_OK);
            TD_EXPECT_MEM(td_cbs_data(&out), td_cbs_len(&out), msg, sizeof(msg));
        }
    }
    TD_EXPECT(!td_hs_reasm_pending(&r));
    TD_EXPECT_EQ(td_hs_reasm_next(&r, &out, NULL), TD_ERR_WANT_MORE);
    td_hs_reasm_cleanup(&r);
    td_hs_reasm_cleanup(NULL);
}

static void test_reasm_coalesced(void)
{
    /* RFC 8448 §3: EncryptedExtensions, Certificate, CertificateVerify and
     * Finished in one record. */
    const td_tsv_row *pay = td_vec(3, 19, "payload");
    static const struct {
        int step;
        const char *name;
    } want[] = {{14, "EncryptedExtensions"}, {15, "Certificate"}, {16, "CertificateVerify"},
                {18, "Finished"}};
    td_hs_reasm r;
    td_hs_reasm_init(&r, 0);
    TD_REQUIRE(td_hs_reasm_add(&r, pay->data, pay->len, NULL) == TD_OK);
    for (size_t i = 0; i < 4; i++) {
        td_cbs out;
        TD_REQUIRE(td_hs_reasm_next(&r, &out, NULL) == TD_OK);
        TD_EXPECT_MEM(td_cbs_data(&out), td_cbs_len(&out), V(3, want[i].step, want[i].name),
                      VL(3, want[i].step, want[i].name));
    }
    td_cbs out;
    TD_EXPECT_EQ(td_hs_reasm_next(&r, &out, NULL), TD_ERR_WANT_MORE);
    TD_EXPECT(!td_hs_reasm_pending(&r));
    TD_EXPECT(td_hs_reasm_check_key_change(&r, NULL) == TD_OK);
    /* A message ending in the middle of the next record: 1.5 messages. */
    uint8_t two[] = {20, 0, 0, 2, 0xaa, 0xbb, 20, 0, 0, 2, 0xcc};
    TD_REQUIRE(td_hs_reasm_add(&r, two, sizeof(two), NULL) == TD_OK);
    TD_REQUIRE(td_hs_reasm_next(&r, &out, NULL) == TD_OK);
    TD_EXPECT_MEM(td_cbs_data(&out), td_cbs_len(&out), two, 6);
    TD_EXPECT_EQ(td_hs_reasm_next(&r, &out, NULL), TD_ERR_WANT_MORE);
    TD_EXPECT(td_hs_reasm_pending(&r));
    td_diag diag;
    td_diag_clear(&diag);
    /* §5.1: keys change with half a message buffered. */
    TD_EXPECT_EQ(td_hs_reasm_check_key_change(&r, &diag), TD_ERR_UNEXPECTED);
    TD_EXPECT_EQ(diag.rule, TD_RULE_REC_KEY_CHANGE_ALIGN);
    /* §5.1: another record type in the middle of a message. */
    td_diag_clear(&diag);
    TD_EXPECT_EQ(td_hs_reasm_check_interleave(&r, TD_CT_ALERT, &diag), TD_ERR_UNEXPECTED);
    TD_EXPECT_EQ(diag.rule, TD_RULE_REC_HS_INTERLEAVED);
    TD_EXPECT_EQ(diag.offset, pay->len + sizeof(two));
    TD_EXPECT(td_hs_reasm_check_interleave(&r, TD_CT_HANDSHAKE, NULL) == TD_OK);
    uint8_t rest[] = {0xdd};
    TD_REQUIRE(td_hs_reasm_add(&r, rest, 1, NULL) == TD_OK);
    TD_REQUIRE(td_hs_reasm_next(&r, &out, NULL) == TD_OK);
    TD_EXPECT_MEM(td_cbs_data(&out), td_cbs_len(&out), "\x14\x00\x00\x02\xcc\xdd", 6);
    TD_EXPECT(td_hs_reasm_check_interleave(&r, TD_CT_ALERT, NULL) == TD_OK);
    TD_EXPECT(td_hs_reasm_check_interleave(&r, TD_CT_APPLICATION_DATA, NULL) == TD_OK);
    td_hs_reasm_cleanup(&r);
}

static void test_reasm_limits(void)
{
    td_hs_reasm r;
    td_diag diag;
    td_cbs out;
    td_hs_reasm_init(&r, 64);
    /* A message of exactly the limit passes. */
    uint8_t ok[68] = {8, 0, 0, 64};
    TD_REQUIRE(td_hs_reasm_add(&r, ok, sizeof(ok), NULL) == TD_OK);
    TD_EXPECT(td_hs_reasm_next(&r, &out, NULL) == TD_OK);
    /* One more announced byte: LIMIT as soon as the header is complete,
     * without waiting for the body. */
    uint8_t hdr[4] = {8, 0, 0, 65};
    TD_REQUIRE(td_hs_reasm_add(&r, hdr, 3, NULL) == TD_OK);
    TD_EXPECT_EQ(td_hs_reasm_next(&r, &out, NULL), TD_ERR_WANT_MORE);
    TD_REQUIRE(td_hs_reasm_add(&r, hdr + 3, 1, NULL) == TD_OK);
    td_diag_clear(&diag);
    TD_EXPECT_EQ(td_hs_reasm_next(&r, &out, &diag), TD_ERR_LIMIT);
    TD_EXPECT_EQ(diag.offset, 69); /* the length field of the second message */
    td_hs_reasm_cleanup(&r);
    /* §5.1: zero-length handshake fragment. */
    td_hs_reasm_init(&r, 0);
    td_diag_clear(&diag);
    TD_EXPECT_EQ(td_hs_reasm_add(&r, ok, 0, &diag), TD_ERR_UNEXPECTED);
    TD_EXPECT_EQ(diag.rule, TD_RULE_REC_ZERO_LENGTH_FRAGMENT);
    /* No limit of ours by default (RFC 8446 §9.3): a message is bounded by
     * its type's structure. A 70 KiB ClientHello is collected (its vectors
     * hold up to 131,396 bytes); more than the structure holds is a decode
     * error from the header; a type that is no TLS 1.3 message is not
     * collected past 64 KiB. */
    static const struct {
        uint8_t type;
        size_t len;
        td_err want;
        td_rule rule;
    } hdrs[] = {
        {TD_MSG_CLIENT_HELLO, 70 * 1024, TD_ERR_WANT_MORE, TD_RULE_NONE},
        {TD_MSG_CLIENT_HELLO, 131396, TD_ERR_WANT_MORE, TD_RULE_NONE},
        {TD_MSG_CLIENT_HELLO, 131397, TD_ERR_DECODE, TD_RULE_GEN_DECODE},
        {TD_MSG_CERTIFICATE, 0xffffff, TD_ERR_WANT_MORE, TD_RULE_NONE},
        {TD_MSG_ENCRYPTED_EXTENSIONS, 65537, TD_ERR_WANT_MORE, TD_RULE_NONE},
        {TD_MSG_ENCRYPTED_EXTENSIONS, 65538, TD_ERR_DECODE, TD_RULE_GEN_DECODE},
        {99, 65536, TD_ERR_WANT_MORE, TD_RULE_NONE},
        {99, 65537, TD_ERR_UNEXPECTED, TD_RULE_GEN_UNEXPECTED_ORDER},
    };
    for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
        td_hs_reasm q;
        td_hs_reasm_init(&q, 0);
        uint8_t h[4] = {hdrs[i].type, (uint8_t)(hdrs[i].len >> 16), (uint8_t)(hdrs[i].len >> 8),
                        (uint8_t)hdrs[i].len};
        TD_REQUIRE(td_hs_reasm_add(&q, h, 4, NULL) == TD_OK);
        td_diag_clear(&diag);
        TD_EXPECT_EQ(td_hs_reasm_next(&q, &out, &diag), hdrs[i].want);
        TD_EXPECT_EQ(diag.rule, hdrs[i].rule);
        td_hs_reasm_cleanup(&q);
    }
    /* Buffering without draining is capped (at one largest message, whose
     * length field is a uint24, plus one record): reported, not truncated. */
    size_t cap = 0xffffff + 4 + TD_REC_MAX_CIPHERTEXT, added = 0;
    td_err ret = TD_OK;
    while (ret == TD_OK && added <= cap) {
        ret = td_hs_reasm_add(&r, g_big, 16384, NULL);
        added += ret == TD_OK ? 16384 : 0;
    }
    TD_EXPECT_EQ(ret, TD_ERR_LIMIT);
    TD_EXPECT(added <= cap);
    td_hs_reasm_cleanup(&r);
}

int main(void)
{
    if (td_crypto_new(&g_crypto) != TD_OK || td_vec_load() != 0) {
        fprintf(stderr, "fixture setup failed\n");
        return 1;
    }
    TD_RUN(test_parse_round_trip);
    TD_RUN(test_parse_limits);
    TD_RUN(test_parse_truncations);
    TD_RUN(test_parse_unknown_type);
    TD_RUN(test_ccs_value);
    TD_RUN(test_rfc8448_record);
    TD_RUN(test_seal_open_padding);
    TD_RUN(test_open_malformed_inner);
    TD_RUN(test_open_tampered);
    TD_RUN(test_null_protection);
    TD_RUN(test_sequence_numbers);
    TD_RUN(test_fragmentation);
    TD_RUN(test_reasm_byte_records);
    TD_RUN(test_reasm_coalesced);
    TD_RUN(test_reasm_limits);
    td_vec_free();
    td_crypto_free(g_crypto);
    return td_test_report("test_record");
}
