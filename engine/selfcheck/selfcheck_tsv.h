/* engine/selfcheck/selfcheck_tsv.h -- internal: the RFC 8448 vectors file as rows.
 *
 * Format (tests/vectors/rfc8448.tsv, made by tools/gen_vectors.py): '#'
 * comment lines and blank lines are skipped; every other line has six
 * tab-separated columns
 *     section  step  who  step-text  value-name  hex
 * where value-name and hex are "-" when the step prints no value (a step
 * "same as" another), and hex "-" also stands for an empty value. */
#ifndef TLSDRILL_SELFCHECK_TSV_H
#define TLSDRILL_SELFCHECK_TSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsdrill/err.h"

typedef enum td_tsv_who { TD_TSV_CLIENT, TD_TSV_SERVER } td_tsv_who;

typedef struct td_tsv_row {
    int section;
    int step;
    td_tsv_who who;
    const char *desc;      /* step text, e.g. "derive secret \"tls13 c hs traffic\":" */
    const char *name;      /* value name, e.g. "expanded"; NULL when "-" */
    const uint8_t *data;   /* decoded value (inside the table's text buffer) */
    size_t len;
    size_t line;           /* 1-based line in the file */
} td_tsv_row;

/* Owns |text| (a modified copy of the input) and |rows|. */
typedef struct td_tsv {
    char *text;
    td_tsv_row *rows;
    size_t num_rows;
} td_tsv;

/* Parses |len| bytes of |text|. TD_ERR_FORMAT with "name:line: error: what"
 * in |err| for a malformed line; TD_ERR_NOMEM. |out| is left empty on error. */
td_err td_selfcheck_tsv_parse(const char *name, const char *text, size_t len, td_tsv *out,
                              char *err, size_t err_cap) TD_WUR;
void td_selfcheck_tsv_free(td_tsv *tsv);

#endif
