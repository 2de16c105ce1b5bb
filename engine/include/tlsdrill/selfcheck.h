/* tlsdrill/selfcheck.h -- the engine's self-check against the RFC 8448
 * example traces.
 *
 * The vectors file (tests/vectors/rfc8448.tsv: section, step, who, step
 * text, value name, hex) is replayed trace by trace: every secret, key, IV,
 * Finished value, binder and transcript hash the traces print is recomputed
 * with keysched.c from the trace's own inputs (private keys, messages, and
 * for §4 the ticket of §3), every record is decrypted to the printed
 * plaintext and re-encrypted (or re-framed) to the printed bytes with
 * record.c, and CertificateVerify signatures are checked. Each comparison
 * is one check in the report. */
#ifndef TLSDRILL_SELFCHECK_H
#define TLSDRILL_SELFCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "tlsdrill/err.h"

#define TD_SELFCHECK_NUM_SECTIONS 5   /* RFC 8448 §3 .. §7 */
#define TD_SELFCHECK_FIRST_SECTION 3

typedef struct td_selfcheck_item {
    int section;           /* RFC 8448 section, 3..7 */
    int step;              /* step index in the trace; -1 for a whole-trace check */
    bool ok;
    char name[112];        /* what was compared */
    char detail[192];      /* why it failed, or a note on how it was checked */
} td_selfcheck_item;

typedef struct td_selfcheck_section {
    int section;
    const char *title;     /* "Simple 1-RTT Handshake" */
    size_t passed, total;
} td_selfcheck_section;

/* Owned by the caller's storage; its arrays are freed by
 * td_selfcheck_report_free. */
typedef struct td_selfcheck_report {
    td_selfcheck_item *items;
    size_t num_items, cap_items;
    td_selfcheck_section sections[TD_SELFCHECK_NUM_SECTIONS];
    size_t passed, total;
    /* Remarks on how the run was done (e.g. an input taken from the trace
     * because a primitive is not available), one per line. */
    char notes[1024];
    /* For TD_ERR_IO / TD_ERR_FORMAT: "path:line: error: what". */
    char error[512];
} td_selfcheck_report;

/* Runs the self-check on the vectors file at |tsv_path|. Returns TD_OK when
 * the file was read and replayed -- whether or not every check passed (see
 * |out->passed| / |out->total|); TD_ERR_IO if the file cannot be read,
 * TD_ERR_FORMAT if it is malformed (|out->error| says where), TD_ERR_NOMEM,
 * TD_ERR_CRYPTO. |out| is initialised by the call; free it with
 * td_selfcheck_report_free in every case. */
td_err td_selfcheck_rfc8448(const char *tsv_path, td_selfcheck_report *out) TD_WUR;

/* The same on a buffer already in memory; |name| is used in messages. */
td_err td_selfcheck_rfc8448_text(const char *name, const char *text, size_t len,
                                 td_selfcheck_report *out) TD_WUR;

/* True when every section has at least one check and every check passed. */
bool td_selfcheck_all_passed(const td_selfcheck_report *report);

/* Frees the arrays; |report| may be NULL or zeroed. */
void td_selfcheck_report_free(td_selfcheck_report *report);

#endif
