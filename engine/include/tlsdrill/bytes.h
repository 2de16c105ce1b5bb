/* tlsdrill/bytes.h -- bounded byte reader (td_cbs) and length-prefixed
 * builder (td_cbb), in the manner of BoringSSL's bytestring.h.
 *
 * td_cbs borrows: it is a view (pointer + length) into memory it does not own.
 * Reads either consume exactly what they return or fail and consume nothing.
 * All functions return false on failure; parsing code turns that into a
 * td_err with TD_FAIL at the call site, where the RFC structure is known.
 *
 * td_cbb owns a growable buffer (or writes into a fixed one the caller gives).
 * Length prefixes are child builders: td_cbb_add_u16_prefixed() hands out a
 * child, and td_cbb_flush() (implicit in every write to the parent) fills in
 * the child's length. Errors are sticky: after one failure every later call
 * fails and td_cbb_finish() reports it. */
#ifndef TLSDRILL_BYTES_H
#define TLSDRILL_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct td_cbs {
    const uint8_t *data;
    size_t len;
} td_cbs;

/* The readers are inline: they run for every field of every message, and
 * inlined, a caller's td_cbs stays in registers (no call, and no
 * sanitizer check of its loads and stores). Each bounds check is still the
 * caller's own compare, traced as before. */
static inline void td_cbs_init(td_cbs *cbs, const uint8_t *data, size_t len)
{
    cbs->data = data;
    cbs->len = len;
}
static inline size_t td_cbs_len(const td_cbs *cbs) { return cbs->len; }
static inline const uint8_t *td_cbs_data(const td_cbs *cbs) { return cbs->data; }
/* Offset of |cbs|'s current position from |base| (the start of the input). */
static inline size_t td_cbs_offset(const td_cbs *cbs, const uint8_t *base)
{
    return (size_t)(cbs->data - base);
}

/* The next |len| bytes (private: the readers below). */
static inline bool td_cbs_take_(td_cbs *cbs, const uint8_t **out, size_t len)
{
    if (cbs->len < len)
        return false;
    *out = cbs->data;
    cbs->data += len;
    cbs->len -= len;
    return true;
}

static inline bool td_cbs_skip(td_cbs *cbs, size_t len)
{
    const uint8_t *unused;
    return td_cbs_take_(cbs, &unused, len);
}

static inline bool td_cbs_get_u8(td_cbs *cbs, uint8_t *out)
{
    const uint8_t *p;
    if (!td_cbs_take_(cbs, &p, 1))
        return false;
    *out = p[0];
    return true;
}

static inline bool td_cbs_get_u16(td_cbs *cbs, uint16_t *out)
{
    const uint8_t *p;
    if (!td_cbs_take_(cbs, &p, 2))
        return false;
    *out = (uint16_t)((unsigned)p[0] << 8 | p[1]);
    return true;
}

static inline bool td_cbs_get_u24(td_cbs *cbs, uint32_t *out)
{
    const uint8_t *p;
    if (!td_cbs_take_(cbs, &p, 3))
        return false;
    *out = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
    return true;
}

static inline bool td_cbs_get_u32(td_cbs *cbs, uint32_t *out)
{
    const uint8_t *p;
    if (!td_cbs_take_(cbs, &p, 4))
        return false;
    *out = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    return true;
}

bool td_cbs_get_u64(td_cbs *cbs, uint64_t *out);

/* Splits off the next |len| bytes as |out|. */
static inline bool td_cbs_get_bytes(td_cbs *cbs, td_cbs *out, size_t len)
{
    const uint8_t *p;
    if (!td_cbs_take_(cbs, &p, len))
        return false;
    td_cbs_init(out, p, len);
    return true;
}

/* Copies the next |len| bytes into |out|. */
bool td_cbs_copy_bytes(td_cbs *cbs, uint8_t *out, size_t len);

/* Reads an 8/16/24-bit length and splits off that many bytes as |out|
 * (nothing consumed if either does not fit). */
static inline bool td_cbs_get_u8_prefixed(td_cbs *cbs, td_cbs *out)
{
    td_cbs copy = *cbs;
    uint8_t len;
    if (!td_cbs_get_u8(&copy, &len) || !td_cbs_get_bytes(&copy, out, len))
        return false;
    *cbs = copy;
    return true;
}

static inline bool td_cbs_get_u16_prefixed(td_cbs *cbs, td_cbs *out)
{
    td_cbs copy = *cbs;
    uint16_t len;
    if (!td_cbs_get_u16(&copy, &len) || !td_cbs_get_bytes(&copy, out, len))
        return false;
    *cbs = copy;
    return true;
}

static inline bool td_cbs_get_u24_prefixed(td_cbs *cbs, td_cbs *out)
{
    td_cbs copy = *cbs;
    uint32_t len;
    if (!td_cbs_get_u24(&copy, &len) || !td_cbs_get_bytes(&copy, out, len))
        return false;
    *cbs = copy;
    return true;
}
/* Constant-time comparison of |cbs| with |data| (lengths compared first, not secret). */
bool td_cbs_mem_equal(const td_cbs *cbs, const uint8_t *data, size_t len);

/* The bytes of a builder and its children (private). */
struct td_cbb_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    bool can_grow;
    bool error;
};

/* A top-level builder holds its td_cbb_buf itself (BoringSSL's CBB does the
 * same): a builder costs no allocation beyond its growable bytes. So a
 * top-level td_cbb must not be copied or moved once initialised (its
 * children point into it); builders live in their caller's frame. */
typedef struct td_cbb td_cbb;
struct td_cbb {
    /* Private. */
    struct td_cbb_buf *buf;   /* shared by a builder and its children: &base
                               * of the top-level builder */
    struct td_cbb_buf base;   /* top-level builder only */
    td_cbb *child;            /* the open child, if any */
    size_t offset;            /* where this builder's length prefix starts */
    uint8_t pending_len_len;  /* 0 for the top-level builder */
    bool is_child;
};

/* Growable: initial capacity |cap| (0 is fine). Free with td_cbb_cleanup. */
bool td_cbb_init(td_cbb *cbb, size_t cap);
/* Fixed: writes into the caller's |out| of |cap| bytes; overflow is an error. */
bool td_cbb_init_fixed(td_cbb *cbb, uint8_t *out, size_t cap);
/* Growable, starting from |data| (malloc'd, |cap| bytes; NULL and 0 are
 * fine), which the builder takes: td_cbb_cleanup frees it, td_cbb_finish_buf
 * hands it back grown. Lets a caller build one message after another in the
 * same buffer without allocating each time. */
void td_cbb_init_reuse(td_cbb *cbb, uint8_t *data, size_t cap);
/* td_cbb_finish of a growable builder, also giving the buffer's capacity
 * (for td_cbb_init_reuse). */
bool td_cbb_finish_buf(td_cbb *cbb, uint8_t **out_data, size_t *out_len, size_t *out_cap);
/* Releases a growable buffer not handed out by td_cbb_finish. Safe on a
 * zeroed or finished td_cbb. */
void td_cbb_cleanup(td_cbb *cbb);
/* Flushes all children and hands out the bytes. For a growable builder
 * |*out_data| is owned by the caller (free()); for a fixed one it points into
 * the caller's buffer. Returns false if any earlier write failed. */
bool td_cbb_finish(td_cbb *cbb, uint8_t **out_data, size_t *out_len);

bool td_cbb_add_u8(td_cbb *cbb, uint8_t v);
bool td_cbb_add_u16(td_cbb *cbb, uint16_t v);
bool td_cbb_add_u24(td_cbb *cbb, uint32_t v);
bool td_cbb_add_u32(td_cbb *cbb, uint32_t v);
bool td_cbb_add_u64(td_cbb *cbb, uint64_t v);
bool td_cbb_add_bytes(td_cbb *cbb, const uint8_t *data, size_t len);
/* Reserves |len| bytes and returns a pointer to them in |*out| (valid until
 * the next write to this builder tree). */
bool td_cbb_add_space(td_cbb *cbb, uint8_t **out, size_t len);
/* Opens a length-prefixed child. The child stays valid until the parent is
 * written to or flushed; a length that does not fit its prefix is an error. */
bool td_cbb_add_u8_prefixed(td_cbb *cbb, td_cbb *out_child);
bool td_cbb_add_u16_prefixed(td_cbb *cbb, td_cbb *out_child);
bool td_cbb_add_u24_prefixed(td_cbb *cbb, td_cbb *out_child);
/* Closes open children and writes their lengths. */
bool td_cbb_flush(td_cbb *cbb);
/* Bytes written so far to this builder (excluding its own prefix). Flushes. */
size_t td_cbb_len(td_cbb *cbb);
/* The bytes of the whole tree so far (after a flush); valid until the next write. */
const uint8_t *td_cbb_data(td_cbb *cbb);
/* Drops bytes written to |cbb| beyond |len| (len <= td_cbb_len). */
bool td_cbb_truncate(td_cbb *cbb, size_t len);

/* ---- DER (X.690) elements, as BoringSSL's CBS_get_asn1 reads them ----
 * Single-byte tags only (the high-tag-number form 0x1f is refused);
 * definite lengths of up to 4 length bytes, taken as written (minimal
 * encoding is not checked: certificates are read, never judged, here). */
#define TD_ASN1_INTEGER 0x02
#define TD_ASN1_BIT_STRING 0x03
#define TD_ASN1_OID 0x06
#define TD_ASN1_SEQUENCE 0x30
#define TD_ASN1_SET 0x31
/* The next element: its tag in |*out_tag|, its contents (no tag, no length)
 * in |out|; |out_whole| (may be NULL) gets the whole element. */
bool td_cbs_get_any_asn1(td_cbs *cbs, uint8_t *out_tag, td_cbs *out, td_cbs *out_whole);
/* The next element's contents if its tag is |tag|; false (nothing read) otherwise. */
bool td_cbs_get_asn1(td_cbs *cbs, uint8_t tag, td_cbs *out);

/* True if |v| is one of the |n| values of |list|. */
bool td_u16_in(const uint16_t *list, size_t n, uint16_t v);

#endif
