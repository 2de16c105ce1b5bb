/* tests/unit/td_test_file.h -- the unit tests' one file reader:
 * tlsdrill/file.h's td_file_read (the whole file or nothing, no size
 * limit), as NUL-terminated text. */
#ifndef TD_TEST_FILE_H
#define TD_TEST_FILE_H

#include <stdio.h>

#include "tlsdrill/file.h"

/* All of |path|, returned owned (free()); |*out_len| (may be NULL) without
 * the NUL. NULL, with a line on stderr, when it cannot be read. */
static inline char *td_test_read(const char *path, size_t *out_len)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    td_err err = td_file_read(path, 0, &buf, &len);
    if (err != TD_OK) {
        fprintf(stderr, "cannot read %s: %s\n", path, td_err_name(err));
        return NULL;
    }
    if (out_len != NULL)
        *out_len = len;
    return (char *)buf;
}

#endif
