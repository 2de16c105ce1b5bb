/* engine/cbb.c -- length-prefixed builder with a sticky error. See tlsdrill/bytes.h. */
#include <stdlib.h>
#include <string.h>

#include "tlsdrill/bytes.h"

static void cbb_init_buf(td_cbb *cbb, uint8_t *data, size_t cap, bool can_grow)
{
    memset(cbb, 0, sizeof(*cbb));
    cbb->base.data = data;
    cbb->base.cap = cap;
    cbb->base.can_grow = can_grow;
    cbb->buf = &cbb->base;
}

bool td_cbb_init(td_cbb *cbb, size_t cap)
{
    uint8_t *data = NULL;
    if (cap > 0 && (data = malloc(cap)) == NULL) {
        memset(cbb, 0, sizeof(*cbb));
        return false;
    }
    cbb_init_buf(cbb, data, cap, true);
    return true;
}

void td_cbb_init_reuse(td_cbb *cbb, uint8_t *data, size_t cap)
{
    cbb_init_buf(cbb, data, data != NULL ? cap : 0, true);
}

bool td_cbb_init_fixed(td_cbb *cbb, uint8_t *out, size_t cap)
{
    cbb_init_buf(cbb, out, cap, false);
    return true;
}

void td_cbb_cleanup(td_cbb *cbb)
{
    if (cbb == NULL || cbb->buf == NULL || cbb->is_child)
        return;
    if (cbb->buf->can_grow)
        free(cbb->buf->data);
    cbb->buf = NULL;
}

static bool cbb_reserve(struct td_cbb_buf *buf, uint8_t **out, size_t len)
{
    if (buf == NULL || buf->error)
        return false;
    if (len > SIZE_MAX - buf->len)
        goto err;
    size_t need = buf->len + len;
    if (need > buf->cap) {
        if (!buf->can_grow)
            goto err;
        size_t new_cap = buf->cap ? buf->cap : 64;
        while (new_cap < need) {
            if (new_cap > SIZE_MAX / 2)
                goto err;
            new_cap *= 2;
        }
        uint8_t *p = realloc(buf->data, new_cap);
        if (p == NULL)
            goto err;
        buf->data = p;
        buf->cap = new_cap;
    }
    *out = buf->data + buf->len;
    buf->len = need;
    return true;
err:
    buf->error = true;
    return false;
}

bool td_cbb_flush(td_cbb *cbb)
{
    if (cbb->buf == NULL || cbb->buf->error)
        return false;
    if (cbb->child == NULL)
        return true;
    td_cbb *child = cbb->child;
    if (!td_cbb_flush(child))
        goto err;
    size_t body_start = child->offset + child->pending_len_len;
    size_t body_len = cbb->buf->len - body_start;
    size_t len = body_len;
    for (size_t i = child->pending_len_len; i > 0; i--) {
        cbb->buf->data[child->offset + i - 1] = (uint8_t)len;
        len >>= 8;
    }
    if (len != 0)
        goto err; /* the child's length does not fit its prefix */
    child->buf = NULL; /* the child is closed: further writes to it fail */
    cbb->child = NULL;
    return true;
err:
    cbb->buf->error = true;
    return false;
}

bool td_cbb_finish(td_cbb *cbb, uint8_t **out_data, size_t *out_len)
{
    if (cbb->is_child || !td_cbb_flush(cbb))
        return false;
    *out_data = cbb->buf->data;
    *out_len = cbb->buf->len;
    cbb->buf = NULL;
    return true;
}

bool td_cbb_finish_buf(td_cbb *cbb, uint8_t **out_data, size_t *out_len, size_t *out_cap)
{
    size_t cap = cbb->buf != NULL ? cbb->buf->cap : 0;
    if (!td_cbb_finish(cbb, out_data, out_len))
        return false;
    *out_cap = cap;
    return true;
}

bool td_cbb_add_space(td_cbb *cbb, uint8_t **out, size_t len)
{
    if (!td_cbb_flush(cbb))
        return false;
    return cbb_reserve(cbb->buf, out, len);
}

bool td_cbb_add_bytes(td_cbb *cbb, const uint8_t *data, size_t len)
{
    uint8_t *p;
    if (!td_cbb_add_space(cbb, &p, len))
        return false;
    if (len)
        memcpy(p, data, len);
    return true;
}

static bool cbb_add_uint(td_cbb *cbb, uint64_t v, size_t len)
{
    uint8_t *p;
    if (!td_cbb_add_space(cbb, &p, len))
        return false;
    for (size_t i = len; i > 0; i--) {
        p[i - 1] = (uint8_t)v;
        v >>= 8;
    }
    if (v != 0) {
        cbb->buf->error = true;
        return false;
    }
    return true;
}

bool td_cbb_add_u8(td_cbb *cbb, uint8_t v) { return cbb_add_uint(cbb, v, 1); }
bool td_cbb_add_u16(td_cbb *cbb, uint16_t v) { return cbb_add_uint(cbb, v, 2); }
bool td_cbb_add_u24(td_cbb *cbb, uint32_t v) { return cbb_add_uint(cbb, v, 3); }
bool td_cbb_add_u32(td_cbb *cbb, uint32_t v) { return cbb_add_uint(cbb, v, 4); }
bool td_cbb_add_u64(td_cbb *cbb, uint64_t v) { return cbb_add_uint(cbb, v, 8); }

static bool cbb_add_prefixed(td_cbb *cbb, td_cbb *out_child, uint8_t len_len)
{
    uint8_t *p;
    if (!td_cbb_flush(cbb))
        return false;
    size_t offset = cbb->buf->len;
    if (!cbb_reserve(cbb->buf, &p, len_len))
        return false;
    memset(p, 0, len_len);
    memset(out_child, 0, sizeof(*out_child));
    out_child->buf = cbb->buf;
    out_child->offset = offset;
    out_child->pending_len_len = len_len;
    out_child->is_child = true;
    cbb->child = out_child;
    return true;
}

bool td_cbb_add_u8_prefixed(td_cbb *cbb, td_cbb *out_child) { return cbb_add_prefixed(cbb, out_child, 1); }
bool td_cbb_add_u16_prefixed(td_cbb *cbb, td_cbb *out_child) { return cbb_add_prefixed(cbb, out_child, 2); }
bool td_cbb_add_u24_prefixed(td_cbb *cbb, td_cbb *out_child) { return cbb_add_prefixed(cbb, out_child, 3); }

size_t td_cbb_len(td_cbb *cbb)
{
    if (!td_cbb_flush(cbb))
        return 0;
    size_t start = cbb->is_child ? cbb->offset + cbb->pending_len_len : 0;
    return cbb->buf->len - start;
}

const uint8_t *td_cbb_data(td_cbb *cbb)
{
    if (!td_cbb_flush(cbb))
        return NULL;
    return cbb->buf->data;
}

bool td_cbb_truncate(td_cbb *cbb, size_t len)
{
    size_t cur = td_cbb_len(cbb);
    if (cbb->buf == NULL || cbb->buf->error || len > cur)
        return false;
    cbb->buf->len -= cur - len;
    return true;
}
