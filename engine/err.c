/* engine/err.c -- error class names and the diagnostic record. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tlsdrill/err.h"

const char *td_err_name(td_err err)
{
    switch (err) {
    case TD_OK: return "ok";
    case TD_ERR_DECODE: return "decode_error";
    case TD_ERR_ILLEGAL_PARAMETER: return "illegal_parameter";
    case TD_ERR_UNSUPPORTED_EXT: return "unsupported_extension";
    case TD_ERR_UNEXPECTED: return "unexpected_message";
    case TD_ERR_RECORD_OVERFLOW: return "record_overflow";
    case TD_ERR_BAD_RECORD_MAC: return "bad_record_mac";
    case TD_ERR_DECRYPT: return "decrypt_error";
    case TD_ERR_LIMIT: return "limit_exceeded";
    case TD_ERR_WANT_MORE: return "want_more";
    case TD_ERR_NOMEM: return "out_of_memory";
    case TD_ERR_ARG: return "bad_argument";
    case TD_ERR_UNSUPPORTED: return "unsupported";
    case TD_ERR_CRYPTO: return "crypto_failure";
    case TD_ERR_IO: return "io_error";
    case TD_ERR_FORMAT: return "bad_format";
    }
    return "unknown_error";
}

void td_diag_clear(td_diag *diag)
{
    if (diag != NULL)
        memset(diag, 0, sizeof(*diag));
}

td_err td_diag_set(td_diag *diag, td_err err, td_rule rule, size_t offset,
                   const char *file, int line, const char *fmt, ...)
{
    if (diag == NULL || diag->err != TD_OK)
        return err;
    diag->err = err;
    diag->rule = rule;
    diag->offset = offset;
    diag->file = file;
    diag->line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(diag->text, sizeof(diag->text), fmt, ap);
    va_end(ap);
    return err;
}
