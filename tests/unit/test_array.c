/* tests/unit/test_array.c -- td_array_grow (engine/array.c). */
#include <stdint.h>

#include "td_test.h"
#include "tlsdrill/array.h"

/* 1,000 appends: capacity first_cap, then doubling; the values survive. */
static void test_grow_doubles(void)
{
    int *v = NULL;
    size_t num = 0, cap = 0;
    for (int i = 0; i < 1000; i++) {
        int *p = td_array_grow(v, num, &cap, sizeof(*p), 4);
        TD_REQUIRE(p != NULL);
        v = p;
        TD_EXPECT(num < cap);
        v[num++] = i;
    }
    TD_EXPECT_EQ(cap, 1024); /* 4 << 8 */
    for (int i = 0; i < 1000; i++)
        TD_EXPECT_EQ(v[i], i);
    free(v);
}

/* Not full: the same array, capacity unchanged. */
static void test_room_left(void)
{
    size_t cap = 0;
    char *v = td_array_grow(NULL, 0, &cap, 1, 8);
    TD_REQUIRE(v != NULL);
    TD_EXPECT_EQ(cap, 8);
    TD_EXPECT(td_array_grow(v, 7, &cap, 1, 8) == v);
    TD_EXPECT_EQ(cap, 8);
    free(v);
}

/* A size that would overflow: NULL, the array and capacity unchanged. */
static void test_overflow(void)
{
    size_t cap = SIZE_MAX / 2 + 1;
    char dummy;
    TD_EXPECT(td_array_grow(&dummy, cap, &cap, 1, 8) == NULL);
    TD_EXPECT_EQ(cap, SIZE_MAX / 2 + 1);
    cap = SIZE_MAX / 16;
    TD_EXPECT(td_array_grow(&dummy, cap, &cap, 16, 8) == NULL);
    TD_EXPECT_EQ(cap, SIZE_MAX / 16);
}

int main(void)
{
    TD_RUN(test_grow_doubles);
    TD_RUN(test_room_left);
    TD_RUN(test_overflow);
    return td_test_report("test_array");
}
