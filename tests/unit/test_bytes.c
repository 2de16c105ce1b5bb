/* tests/unit/test_bytes.c -- td_cbs / td_cbb (engine/cbs.c, engine/cbb.c). */
#include "td_test.h"
#include "tlsdrill/bytes.h"

static void test_cbs_reads(void)
{
    static const uint8_t in[] = {1, 0, 2, 0, 0, 3, 0, 0, 0, 4, 0xaa};
    td_cbs cbs;
    uint8_t u8;
    uint16_t u16;
    uint32_t u24, u32;
    td_cbs_init(&cbs, in, sizeof(in));
    TD_EXPECT(td_cbs_get_u8(&cbs, &u8) && u8 == 1);
    TD_EXPECT(td_cbs_get_u16(&cbs, &u16) && u16 == 2);
    TD_EXPECT(td_cbs_get_u24(&cbs, &u24) && u24 == 3);
    TD_EXPECT(td_cbs_get_u32(&cbs, &u32) && u32 == 4);
    TD_EXPECT_EQ(td_cbs_offset(&cbs, in), 10);
    TD_EXPECT(!td_cbs_get_u16(&cbs, &u16)); /* one byte left: fails ... */
    TD_EXPECT_EQ(td_cbs_len(&cbs), 1);      /* ... and consumes nothing */
    TD_EXPECT(td_cbs_get_u8(&cbs, &u8) && u8 == 0xaa);
    TD_EXPECT(!td_cbs_get_u8(&cbs, &u8));
}

static void test_cbs_prefixed(void)
{
    static const uint8_t ok[] = {0, 3, 'a', 'b', 'c', 9};
    static const uint8_t short_body[] = {0, 4, 'a', 'b', 'c'};
    td_cbs cbs, body;
    td_cbs_init(&cbs, ok, sizeof(ok));
    TD_EXPECT(td_cbs_get_u16_prefixed(&cbs, &body));
    TD_EXPECT(td_cbs_mem_equal(&body, (const uint8_t *)"abc", 3));
    TD_EXPECT_EQ(td_cbs_len(&cbs), 1);
    td_cbs_init(&cbs, short_body, sizeof(short_body));
    TD_EXPECT(!td_cbs_get_u16_prefixed(&cbs, &body));
    TD_EXPECT_EQ(td_cbs_len(&cbs), sizeof(short_body)); /* nothing consumed */
    uint8_t u24buf[] = {0, 0, 1, 7};
    td_cbs_init(&cbs, u24buf, sizeof(u24buf));
    TD_EXPECT(td_cbs_get_u24_prefixed(&cbs, &body) && td_cbs_len(&body) == 1 && body.data[0] == 7);
    TD_EXPECT(!td_cbs_mem_equal(&body, (const uint8_t *)"\x08", 1));
}

static void test_cbb_nested(void)
{
    td_cbb cbb, outer, inner;
    uint8_t *out;
    size_t out_len;
    TD_REQUIRE(td_cbb_init(&cbb, 0));
    TD_EXPECT(td_cbb_add_u8(&cbb, 0x16));
    TD_EXPECT(td_cbb_add_u16_prefixed(&cbb, &outer));
    TD_EXPECT(td_cbb_add_u8_prefixed(&outer, &inner));
    TD_EXPECT(td_cbb_add_bytes(&inner, (const uint8_t *)"xyz", 3));
    TD_EXPECT(td_cbb_add_u24(&outer, 0x010203));
    TD_EXPECT_EQ(td_cbb_len(&outer), 7);
    TD_EXPECT(td_cbb_finish(&cbb, &out, &out_len));
    static const uint8_t want[] = {0x16, 0, 7, 3, 'x', 'y', 'z', 1, 2, 3};
    TD_EXPECT_MEM(out, out_len, want, sizeof(want));
    free(out);
    td_cbb_cleanup(&cbb); /* no-op after finish */
}

static void test_cbb_overflow_is_sticky(void)
{
    td_cbb cbb, child;
    uint8_t big[300] = {0};
    uint8_t *out;
    size_t out_len;
    TD_REQUIRE(td_cbb_init(&cbb, 16));
    TD_EXPECT(td_cbb_add_u8_prefixed(&cbb, &child));
    TD_EXPECT(td_cbb_add_bytes(&child, big, sizeof(big))); /* 300 > 255: found at flush */
    TD_EXPECT(!td_cbb_flush(&cbb));
    TD_EXPECT(!td_cbb_add_u8(&cbb, 1)); /* sticky */
    TD_EXPECT(!td_cbb_finish(&cbb, &out, &out_len));
    td_cbb_cleanup(&cbb);
    /* A value too wide for its field is an error, not a truncation. */
    TD_REQUIRE(td_cbb_init(&cbb, 0));
    TD_EXPECT(!td_cbb_add_u24(&cbb, 0x1000000));
    td_cbb_cleanup(&cbb);
}

static void test_cbb_fixed(void)
{
    uint8_t buf[4];
    td_cbb cbb;
    uint8_t *out;
    size_t out_len;
    TD_REQUIRE(td_cbb_init_fixed(&cbb, buf, sizeof(buf)));
    TD_EXPECT(td_cbb_add_u32(&cbb, 0xdeadbeef));
    TD_EXPECT(!td_cbb_add_u8(&cbb, 0)); /* full */
    TD_EXPECT(!td_cbb_finish(&cbb, &out, &out_len));
    td_cbb_cleanup(&cbb);
    TD_REQUIRE(td_cbb_init_fixed(&cbb, buf, sizeof(buf)));
    TD_EXPECT(td_cbb_add_u16(&cbb, 0x0304));
    TD_EXPECT(td_cbb_finish(&cbb, &out, &out_len));
    TD_EXPECT(out == buf && out_len == 2 && buf[0] == 3 && buf[1] == 4);
}

static void test_cbb_truncate(void)
{
    td_cbb cbb, child;
    uint8_t *out;
    size_t out_len;
    TD_REQUIRE(td_cbb_init(&cbb, 0));
    TD_EXPECT(td_cbb_add_u16_prefixed(&cbb, &child));
    TD_EXPECT(td_cbb_add_bytes(&child, (const uint8_t *)"abcdef", 6));
    TD_EXPECT(td_cbb_truncate(&child, 2));
    TD_EXPECT(!td_cbb_truncate(&child, 3));
    TD_EXPECT(td_cbb_finish(&cbb, &out, &out_len));
    static const uint8_t want[] = {0, 2, 'a', 'b'};
    TD_EXPECT_MEM(out, out_len, want, sizeof(want));
    free(out);
}

int main(void)
{
    TD_RUN(test_cbs_reads);
    TD_RUN(test_cbs_prefixed);
    TD_RUN(test_cbb_nested);
    TD_RUN(test_cbb_overflow_is_sticky);
    TD_RUN(test_cbb_fixed);
    TD_RUN(test_cbb_truncate);
    return td_test_report("test_bytes");
}
