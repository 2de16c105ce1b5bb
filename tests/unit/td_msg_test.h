/* tests/unit/td_msg_test.h -- helpers shared by the message codec tests
 * (test_msg.c, test_ext.c, test_msg_malformed.c). Include after td_test.h. */
#ifndef TD_MSG_TEST_H
#define TD_MSG_TEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tlsdrill/msg.h"

/* A view of |len| bytes at |p| (borrowed). */
static inline td_cbs view(const void *p, size_t len)
{
    td_cbs c;
    td_cbs_init(&c, p, len);
    return c;
}
/* A view of a string literal, without its NUL. */
#define STR(s) view((s), sizeof(s) - 1)

/* True if |a| and |b| hold the same bytes. */
static inline bool cbs_eq(td_cbs a, td_cbs b)
{
    return td_cbs_len(&a) == td_cbs_len(&b) &&
           (td_cbs_len(&a) == 0 || memcmp(td_cbs_data(&a), td_cbs_data(&b), td_cbs_len(&a)) == 0);
}

/* Builds |m| whole (with its handshake header) into malloc'd bytes, which
 * the caller frees; NULL if it does not build. */
static inline uint8_t *build_msg(const td_msg *m, size_t *out_len)
{
    td_cbb cbb;
    uint8_t *out = NULL;
    if (!td_cbb_init(&cbb, 256))
        return NULL;
    if (td_msg_build(m, &cbb) != TD_OK || !td_cbb_finish(&cbb, &out, out_len)) {
        td_cbb_cleanup(&cbb);
        return NULL;
    }
    return out;
}

#endif
