/* tlsdrill/array.h -- growing an array by doubling: the one helper for the
 * `if (num == cap) { cap *= 2; realloc; }` blocks of the engine and its
 * tools. */
#ifndef TLSDRILL_ARRAY_H
#define TLSDRILL_ARRAY_H

#include <stddef.h>

/* Room for one more element in |array| (|num| used of |*cap|, elements of
 * |elem_size| bytes): when it is full, returns a reallocated array of twice
 * the capacity (|first_cap| the first time) and updates |*cap|; otherwise
 * returns |array| as it is. NULL when memory or size_t runs out: |array|
 * and |*cap| are then unchanged (still owned by the caller). */
void *td_array_grow(void *array, size_t num, size_t *cap, size_t elem_size, size_t first_cap);

#endif
