/* engine/cbs.c -- bounded byte reader: what is not inline in tlsdrill/bytes.h. */
#include <string.h>

#include "tlsdrill/bytes.h"

static bool cbs_get(td_cbs *cbs, const uint8_t **out, size_t len)
{
    return td_cbs_take_(cbs, out, len);
}

bool td_cbs_get_u64(td_cbs *cbs, uint64_t *out)
{
    const uint8_t *p;
    uint64_t v = 0;
    if (!cbs_get(cbs, &p, 8))
        return false;
    for (size_t i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    *out = v;
    return true;
}

bool td_cbs_copy_bytes(td_cbs *cbs, uint8_t *out, size_t len)
{
    const uint8_t *p;
    if (!cbs_get(cbs, &p, len))
        return false;
    if (len)
        memcpy(out, p, len);
    return true;
}

/* The OR of |a| ^ |b| over |len| bytes. Never inlined: a byte loop whose
 * branches follow |len| only (fuzz/coverage_ignore.txt names it); the
 * caller's tests of the lengths and of the result stay traced. */
__attribute__((noinline)) static uint8_t cbs_ct_diff(const uint8_t *a, const uint8_t *b, size_t len)
{
    uint8_t diff = 0;
    for (size_t i = 0; i < len; i++)
        diff |= (uint8_t)(a[i] ^ b[i]);
    return diff;
}

bool td_cbs_mem_equal(const td_cbs *cbs, const uint8_t *data, size_t len)
{
    if (cbs->len != len)
        return false;
    return cbs_ct_diff(cbs->data, data, len) == 0;
}

bool td_u16_in(const uint16_t *list, size_t n, uint16_t v)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == v)
            return true;
    return false;
}

bool td_cbs_get_any_asn1(td_cbs *cbs, uint8_t *out_tag, td_cbs *out, td_cbs *out_whole)
{
    td_cbs in = *cbs;
    uint8_t tag, l;
    size_t len = 0;
    if (!td_cbs_get_u8(&in, &tag) || (tag & 0x1f) == 0x1f || !td_cbs_get_u8(&in, &l))
        return false;
    if (l < 0x80) {
        len = l;
    } else {
        size_t n = l & 0x7f;
        if (n == 0 || n > 4)
            return false;
        for (size_t i = 0; i < n; i++) {
            uint8_t b;
            if (!td_cbs_get_u8(&in, &b))
                return false;
            len = len << 8 | b;
        }
    }
    if (!td_cbs_get_bytes(&in, out, len))
        return false;
    if (out_whole != NULL)
        td_cbs_init(out_whole, cbs->data, cbs->len - in.len);
    *out_tag = tag;
    *cbs = in;
    return true;
}

bool td_cbs_get_asn1(td_cbs *cbs, uint8_t tag, td_cbs *out)
{
    td_cbs copy = *cbs;
    uint8_t t;
    if (!td_cbs_get_any_asn1(&copy, &t, out, NULL) || t != tag)
        return false;
    *cbs = copy;
    return true;
}
