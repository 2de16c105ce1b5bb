/* tlsdrill/err.h -- the one error type and the diagnostic record.
 *
 * Every fallible function returns a td_err. The values are error *classes*:
 * each protocol class names the alert that goes out (RFC 8446 §6.2,
 * td_err_alert), so the alert is visible at the check that fails; the local
 * classes are our own failures (internal_error). Where a caller needs more (which rule, where
 * in the input, which check), the callee fills a td_diag the caller passes in
 * (NULL is allowed everywhere and means "not interested"). */
#ifndef TLSDRILL_ERR_H
#define TLSDRILL_ERR_H

#include <stddef.h>

#include "tlsdrill/rules.h"

#if defined(__GNUC__) || defined(__clang__)
#define TD_WUR __attribute__((warn_unused_result))
#define TD_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TD_WUR
#define TD_PRINTF(f, a)
#endif

typedef enum td_err {
    TD_OK = 0,
    /* Protocol classes (the peer's input is at fault). */
    TD_ERR_DECODE,            /* syntax: decode_error */
    TD_ERR_ILLEGAL_PARAMETER, /* parses, but a value is wrong: illegal_parameter */
    TD_ERR_UNSUPPORTED_EXT,   /* extension not allowed here / not solicited */
    TD_ERR_UNEXPECTED,        /* wrong type or order: unexpected_message */
    TD_ERR_RECORD_OVERFLOW,   /* a record or inner plaintext is too long */
    TD_ERR_BAD_RECORD_MAC,    /* AEAD authentication failed */
    TD_ERR_DECRYPT,           /* signature / Finished / binder check failed: decrypt_error */
    TD_ERR_PROTOCOL_VERSION,  /* a version we do not accept: protocol_version */
    TD_ERR_MISSING_EXT,       /* a required extension is absent: missing_extension */
    TD_ERR_HANDSHAKE_FAILURE, /* no acceptable set of parameters: handshake_failure */
    TD_ERR_BAD_CERTIFICATE,   /* a certificate we cannot accept: bad_certificate */
    TD_ERR_CERT_REQUIRED,     /* a required client certificate is absent: certificate_required */
    TD_ERR_FALLBACK,          /* TLS_FALLBACK_SCSV below our maximum: inappropriate_fallback */
    TD_ERR_UNRECOGNIZED_NAME, /* server_name we do not serve: unrecognized_name */
    TD_ERR_NO_APP_PROTOCOL,   /* no ALPN protocol in common: no_application_protocol */
    TD_ERR_LIMIT,             /* one of our caps (counts, sizes) was exceeded: reported, never truncated */
    TD_ERR_WANT_MORE,         /* not an error of the input: more bytes are needed */
    /* Local classes. */
    TD_ERR_NOMEM,
    TD_ERR_ARG,               /* the caller broke the API contract */
    TD_ERR_UNSUPPORTED,       /* an algorithm or feature we do not implement */
    TD_ERR_CRYPTO,            /* libcrypto failed for a reason that is not the peer's */
    TD_ERR_IO,                /* a file could not be read */
    TD_ERR_FORMAT,            /* a local file (PEM, vectors, ...) is malformed */
} td_err;

/* Short stable name, e.g. "decode_error" for TD_ERR_DECODE. Never NULL. */
const char *td_err_name(td_err err);
/* The alert of an error class (RFC 8446 §6.2): a protocol class's own alert,
 * internal_error for the local classes. */
td_alert td_err_alert(td_err err);

/* What went wrong, where, and which check said so. Caller storage; the
 * strings are static or copied into |text|. */
typedef struct td_diag {
    td_err err;
    td_rule rule;        /* TD_RULE_NONE when no catalogue rule applies */
    size_t offset;       /* byte offset into the input being parsed, if known */
    const char *file;    /* source file and line of the check that failed */
    int line;
    char text[160];      /* one human-readable sentence */
} td_diag;

void td_diag_clear(td_diag *diag);

/* Records an error in |diag| (if not NULL) and returns |err|. Only the first
 * error is kept: an outer layer does not overwrite the precise inner cause. */
td_err td_diag_set(td_diag *diag, td_err err, td_rule rule, size_t offset,
                   const char *file, int line, const char *fmt, ...) TD_PRINTF(7, 8);

/* Test-only site switch (tools/mutate_sites.py): in a build configured with
 * TD_SITE_SWITCH=ON (the asan and mutation presets; never the default
 * preset, whose behaviour does not change), the environment variable
 * TD_PLANT_SITE names one check site that is skipped as if its check
 * passed: "FILE:LO-HI@RULE" (a failure of RULE at a line LO..HI of FILE) or
 * "FILE#ROW@RULE" (a row of a table of checks, see conn.c). Read only when
 * a check fails, so the passing paths cost nothing. Without TD_SITE_SWITCH,
 * td_site_off is false and TD_FAIL is a plain return. */
bool td_site_off(const char *file, int line, td_rule rule, const char *row);
/* TD_PLANT_ALERT=RULE:ALERT (same builds): the catalogue no longer allows
 * ALERT for RULE (td_rule_allows, td_rule_alert, the judge): the TD_AB() bits
 * of |rule| dropped; 0 without TD_SITE_SWITCH. */
uint32_t td_site_alerts_off(td_rule rule);
#ifdef TD_SITE_SWITCH
#define TD_SITE_OFF(rule) td_site_off(__FILE__, __LINE__, (rule), NULL)
#define TD_SITE_ROW_OFF(file, row, rule) td_site_off((file), 0, (rule), (row))
#else
#define TD_SITE_OFF(rule) false
#define TD_SITE_ROW_OFF(file, row, rule) false
#endif

/* TD_FAIL(diag, err, rule, offset, fmt, ...): record and return from the
 * current function with |err|. Use at the check site, after the RFC citation.
 * With the site switched off (above), the function goes on past it. */
#ifdef TD_SITE_SWITCH
#define TD_FAIL(diag, err, rule, offset, ...)                                                      \
    do {                                                                                           \
        if (!TD_SITE_OFF(rule))                                                                    \
            return td_diag_set((diag), (err), (rule), (offset), __FILE__, __LINE__, __VA_ARGS__);  \
    } while (0)
#else
#define TD_FAIL(diag, err, rule, offset, ...) \
    return td_diag_set((diag), (err), (rule), (offset), __FILE__, __LINE__, __VA_ARGS__)
#endif
/* After a TD_FAIL (TD_ABORT) that ends a function or a switch case: where
 * the site, switched off, would go on, the check passed: the function
 * returns TD_OK (TD_SITE_PASSED) or the case falls through
 * (TD_SITE_FALLTHROUGH), as without the check. Nothing in other builds.
 * Without one, the asan and mutation builds stop at the TD_FAIL above with
 * "control reaches end of non-void function" or "this statement may fall
 * through": add the one that fits after your TD_ABORT. */
#ifdef TD_SITE_SWITCH
#define TD_SITE_PASSED() return TD_OK
#define TD_SITE_FALLTHROUGH() __attribute__((fallthrough))
#else
#define TD_SITE_PASSED() (void)0
#define TD_SITE_FALLTHROUGH() (void)0
#endif

/* TD_CHECK(expr): propagate a td_err. TD_GUARD(expr): the same, but jumps
 * to the function's single `out:` label with `ret` set. */
#define TD_CHECK(expr) \
    do { td_err td_check_err_ = (expr); if (td_check_err_ != TD_OK) return td_check_err_; } while (0)
#define TD_GUARD(expr) \
    do { ret = (expr); if (ret != TD_OK) goto out; } while (0)

#endif
