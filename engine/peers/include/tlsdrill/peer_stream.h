/* tlsdrill/peer_stream.h -- the growable byte buffer the peer adapters
 * (openssl.c, peer_net.c) keep each direction of a connection in. Caller
 * storage; zero is an empty stream; free |data| when done. */
#ifndef TLSDRILL_PEER_STREAM_H
#define TLSDRILL_PEER_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "tlsdrill/err.h"

/* Bytes per direction before a peer is called runaway. */
#define TD_PEER_MAX_STREAM (4u << 20)

typedef struct td_peer_stream {
    uint8_t *data; /* owned */
    size_t len, cap;
} td_peer_stream;

/* Appends |n| bytes of |p| (borrowed); TD_ERR_LIMIT past TD_PEER_MAX_STREAM. */
td_err td_peer_stream_add(td_peer_stream *s, const uint8_t *p, size_t n) TD_WUR;

#endif
