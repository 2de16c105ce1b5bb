/* engine/array.c -- tlsdrill/array.h. */
#include "tlsdrill/array.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tlsdrill/crypto.h"

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

static void drop(uint8_t **buf, size_t *cap)
{
    if (*buf != NULL)
        td_cleanse(*buf, *cap);
    free(*buf);
    *buf = NULL;
    *cap = 0;
}

bool td_bytes_copy_into(uint8_t **buf, size_t *cap, const uint8_t *src, size_t len,
                        size_t src_cap)
{
    if (src == NULL || *buf == NULL || *cap < len)
        drop(buf, cap);
    if (src == NULL)
        return true;
    if (*buf == NULL) {
        size_t size = src_cap > len ? src_cap : len;
        if ((*buf = malloc(size ? size : 1)) == NULL)
            return false;
        *cap = size;
    }
    if (len > 0)
        memcpy(*buf, src, len);
    return true;
}
