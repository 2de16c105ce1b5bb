/* tlsdrill/file.h -- whole files into memory: the one reader of the engine,
 * its tools and tests. A file is read whole or the call fails; nothing is
 * ever cut at a size. */
#ifndef TLSDRILL_FILE_H
#define TLSDRILL_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tlsdrill/crypto.h"
#include "tlsdrill/err.h"

/* Reads all of |path| into a fresh buffer with a NUL byte after the data
 * (so text can be used as a C string): |*out| is returned owned (free()),
 * |*out_len| counts the data without the NUL. |max_len| 0: no limit but
 * memory; otherwise a longer file is TD_ERR_LIMIT. TD_ERR_IO when the file
 * cannot be opened or read (errno tells why), TD_ERR_NOMEM. On failure
 * |*out| is NULL. */
TD_WUR td_err td_file_read(const char *path, size_t max_len, uint8_t **out, size_t *out_len);

/* The same for an open stream (e.g. stdin), read to its end; borrows |f|. */
TD_WUR td_err td_file_read_stream(FILE *f, size_t max_len, uint8_t **out, size_t *out_len);

/* PEM files: every certificate of |path| as DER, in order (td_certs_from_pem:
 * the list is owned, free with td_der_list_free); the first private key of
 * |path| (td_pkey_from_pem; the file's bytes are wiped after use). */
TD_WUR td_err td_certs_from_pem_file(const char *path, td_der **out_list, size_t *out_num);
TD_WUR td_err td_pkey_from_pem_file(td_crypto *crypto, const char *path, td_pkey **out);

#endif
