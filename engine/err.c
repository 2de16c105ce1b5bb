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
    case TD_ERR_PROTOCOL_VERSION: return "protocol_version";
    case TD_ERR_MISSING_EXT: return "missing_extension";
    case TD_ERR_HANDSHAKE_FAILURE: return "handshake_failure";
    case TD_ERR_BAD_CERTIFICATE: return "bad_certificate";
    case TD_ERR_CERT_REQUIRED: return "certificate_required";
    case TD_ERR_FALLBACK: return "inappropriate_fallback";
    case TD_ERR_UNRECOGNIZED_NAME: return "unrecognized_name";
    case TD_ERR_NO_APP_PROTOCOL: return "no_application_protocol";
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

td_alert td_err_alert(td_err err)
{
    switch (err) {
    case TD_ERR_DECODE: return TD_ALERT_decode_error;
    case TD_ERR_ILLEGAL_PARAMETER: return TD_ALERT_illegal_parameter;
    case TD_ERR_UNSUPPORTED_EXT: return TD_ALERT_unsupported_extension;
    case TD_ERR_UNEXPECTED: return TD_ALERT_unexpected_message;
    case TD_ERR_RECORD_OVERFLOW: return TD_ALERT_record_overflow;
    case TD_ERR_BAD_RECORD_MAC: return TD_ALERT_bad_record_mac;
    case TD_ERR_DECRYPT: return TD_ALERT_decrypt_error;
    case TD_ERR_PROTOCOL_VERSION: return TD_ALERT_protocol_version;
    case TD_ERR_MISSING_EXT: return TD_ALERT_missing_extension;
    case TD_ERR_HANDSHAKE_FAILURE: return TD_ALERT_handshake_failure;
    case TD_ERR_BAD_CERTIFICATE: return TD_ALERT_bad_certificate;
    case TD_ERR_CERT_REQUIRED: return TD_ALERT_certificate_required;
    case TD_ERR_FALLBACK: return TD_ALERT_inappropriate_fallback;
    case TD_ERR_UNRECOGNIZED_NAME: return TD_ALERT_unrecognized_name;
    case TD_ERR_NO_APP_PROTOCOL: return TD_ALERT_no_application_protocol;
    case TD_OK:
    case TD_ERR_LIMIT:
    case TD_ERR_WANT_MORE:
    case TD_ERR_NOMEM:
    case TD_ERR_ARG:
    case TD_ERR_UNSUPPORTED:
    case TD_ERR_CRYPTO:
    case TD_ERR_IO:
    case TD_ERR_FORMAT:
        break;
    }
    return TD_ALERT_internal_error;
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
