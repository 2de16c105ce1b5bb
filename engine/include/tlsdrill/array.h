/* tlsdrill/array.h -- growing an array by doubling: the one helper for the
 * `if (num == cap) { cap *= 2; realloc; }` blocks of the engine and its
 * tools. */
#ifndef TLSDRILL_ARRAY_H
#define TLSDRILL_ARRAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Room for one more element in |array| (|num| used of |*cap|, elements of
 * |elem_size| bytes): when it is full, returns a reallocated array of twice
 * the capacity (|first_cap| the first time) and updates |*cap|; otherwise
 * returns |array| as it is. NULL when memory or size_t runs out: |array|
 * and |*cap| are then unchanged (still owned by the caller). */
void *td_array_grow(void *array, size_t num, size_t *cap, size_t elem_size, size_t first_cap);

/* The one helper for copying a byte buffer into one kept for reuse (a
 * connection snapshot restored into an earlier copy, td_conn_restore):
 * makes |*buf| (|*cap| bytes, or NULL) hold the first |len| bytes of |src|,
 * a buffer of |src_cap| bytes. |*buf| is kept when it has room for them;
 * otherwise it is wiped (the bytes may be secret), freed and replaced by a
 * buffer of max(|src_cap|, |len|) bytes. |src| NULL: |*buf| is wiped, freed
 * and set to NULL. False when memory runs out: |*buf| is then NULL and
 * |*cap| 0. */
bool td_bytes_copy_into(uint8_t **buf, size_t *cap, const uint8_t *src, size_t len,
                        size_t src_cap);

#endif
