/* engine/cbs.c -- bounded byte reader. See tlsdrill/bytes.h. */
#include <string.h>

#include "tlsdrill/bytes.h"

void td_cbs_init(td_cbs *cbs, const uint8_t *data, size_t len)
{
    cbs->data = data;
    cbs->len = len;
}

size_t td_cbs_offset(const td_cbs *cbs, const uint8_t *base)
{
    return (size_t)(cbs->data - base);
}

static bool cbs_get(td_cbs *cbs, const uint8_t **out, size_t len)
{
    if (cbs->len < len)
        return false;
    *out = cbs->data;
    cbs->data += len;
    cbs->len -= len;
    return true;
}

bool td_cbs_skip(td_cbs *cbs, size_t len)
{
    const uint8_t *unused;
    return cbs_get(cbs, &unused, len);
}

static bool cbs_get_uint(td_cbs *cbs, uint64_t *out, size_t len)
{
    const uint8_t *p;
    uint64_t v = 0;
    if (!cbs_get(cbs, &p, len))
        return false;
    for (size_t i = 0; i < len; i++)
        v = (v << 8) | p[i];
    *out = v;
    return true;
}

bool td_cbs_get_u8(td_cbs *cbs, uint8_t *out)
{
    const uint8_t *p;
    if (!cbs_get(cbs, &p, 1))
        return false;
    *out = p[0];
    return true;
}

bool td_cbs_get_u16(td_cbs *cbs, uint16_t *out)
{
    uint64_t v;
    if (!cbs_get_uint(cbs, &v, 2))
        return false;
    *out = (uint16_t)v;
    return true;
}

bool td_cbs_get_u24(td_cbs *cbs, uint32_t *out)
{
    uint64_t v;
    if (!cbs_get_uint(cbs, &v, 3))
        return false;
    *out = (uint32_t)v;
    return true;
}

bool td_cbs_get_u32(td_cbs *cbs, uint32_t *out)
{
    uint64_t v;
    if (!cbs_get_uint(cbs, &v, 4))
        return false;
    *out = (uint32_t)v;
    return true;
}

bool td_cbs_get_u64(td_cbs *cbs, uint64_t *out)
{
    return cbs_get_uint(cbs, out, 8);
}

bool td_cbs_get_bytes(td_cbs *cbs, td_cbs *out, size_t len)
{
    const uint8_t *p;
    if (!cbs_get(cbs, &p, len))
        return false;
    td_cbs_init(out, p, len);
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

static bool cbs_get_prefixed(td_cbs *cbs, td_cbs *out, size_t len_len)
{
    uint64_t len;
    td_cbs copy = *cbs;
    if (!cbs_get_uint(&copy, &len, len_len) || !td_cbs_get_bytes(&copy, out, (size_t)len))
        return false;
    *cbs = copy;
    return true;
}

bool td_cbs_get_u8_prefixed(td_cbs *cbs, td_cbs *out) { return cbs_get_prefixed(cbs, out, 1); }
bool td_cbs_get_u16_prefixed(td_cbs *cbs, td_cbs *out) { return cbs_get_prefixed(cbs, out, 2); }
bool td_cbs_get_u24_prefixed(td_cbs *cbs, td_cbs *out) { return cbs_get_prefixed(cbs, out, 3); }

bool td_cbs_mem_equal(const td_cbs *cbs, const uint8_t *data, size_t len)
{
    uint8_t diff = 0;
    if (cbs->len != len)
        return false;
    for (size_t i = 0; i < len; i++)
        diff |= (uint8_t)(cbs->data[i] ^ data[i]);
    return diff == 0;
}
