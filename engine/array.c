/* engine/array.c -- tlsdrill/array.h. */
#include "tlsdrill/array.h"

#include <stdint.h>
#include <stdlib.h>

void *td_array_grow(void *array, size_t num, size_t *cap, size_t elem_size, size_t first_cap)
{
    if (num < *cap)
        return array;
    if (*cap > SIZE_MAX / 2)
        return NULL;
    size_t n = *cap != 0 ? *cap * 2 : first_cap;
    if (n == 0 || elem_size == 0 || n > SIZE_MAX / elem_size)
        return NULL;
    void *p = realloc(array, n * elem_size);
    if (p != NULL)
        *cap = n;
    return p;
}
