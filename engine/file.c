/* engine/file.c -- whole files into memory (tlsdrill/file.h). */
#include <stdlib.h>

#include "tlsdrill/file.h"

td_err td_file_read_stream(FILE *f, size_t max_len, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    size_t cap = 1 << 12, len = 0;
    uint8_t *buf = malloc(cap + 1);
    if (buf == NULL)
        return TD_ERR_NOMEM;
    for (;;) {
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap)
            break;
        if (max_len != 0 && len > max_len)
            break;
        if (cap > (SIZE_MAX - 1) / 2) {
            free(buf);
            return TD_ERR_NOMEM;
        }
        uint8_t *nb = realloc(buf, cap * 2 + 1);
        if (nb == NULL) {
            free(buf);
            return TD_ERR_NOMEM;
        }
        buf = nb;
        cap *= 2;
    }
    if (ferror(f)) {
        free(buf);
        return TD_ERR_IO;
    }
    if (max_len != 0 && len > max_len) {
        free(buf);
        return TD_ERR_LIMIT;
    }
    buf[len] = 0;
    *out = buf;
    *out_len = len;
    return TD_OK;
}

td_err td_file_read(const char *path, size_t max_len, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return TD_ERR_IO;
    td_err err = td_file_read_stream(f, max_len, out, out_len);
    fclose(f);
    return err;
}

td_err td_certs_from_pem_file(const char *path, td_der **out_list, size_t *out_num)
{
    uint8_t *pem;
    size_t len;
    TD_CHECK(td_file_read(path, 0, &pem, &len));
    td_err err = td_certs_from_pem((const char *)pem, len, out_list, out_num);
    free(pem);
    return err;
}

td_err td_pkey_from_pem_file(td_crypto *crypto, const char *path, td_pkey **out)
{
    uint8_t *pem;
    size_t len;
    TD_CHECK(td_file_read(path, 0, &pem, &len));
    td_err err = td_pkey_from_pem(crypto, (const char *)pem, len, out);
    td_cleanse(pem, len);
    free(pem);
    return err;
}
