/* engine/peers/peer_stream.c -- see peer_stream.h. */
#include "tlsdrill/peer_stream.h"

#include <stdlib.h>
#include <string.h>

td_err td_peer_stream_add(td_peer_stream *s, const uint8_t *p, size_t n)
{
    if (n == 0)
        return TD_OK;
    if (n > TD_PEER_MAX_STREAM - s->len)
        return TD_ERR_LIMIT;
    if (s->len + n > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + n)
            cap *= 2;
        uint8_t *d = realloc(s->data, cap);
        if (d == NULL)
            return TD_ERR_NOMEM;
        s->data = d;
        s->cap = cap;
    }
    memcpy(s->data + s->len, p, n);
    s->len += n;
    return TD_OK;
}
