/* engine/scenario/scn_internal.h -- shared by the scenario lexer, parser and runner. */
#ifndef TD_SCN_INTERNAL_H
#define TD_SCN_INTERNAL_H

#include <stddef.h>

#include "tlsdrill/scenario.h"

#define SCN_MAX_TOKS 48
#define SCN_MAX_WORD 512

/* A whitespace-separated word of a line: a view into the source text. */
typedef struct scn_tok {
    const char *s;
    size_t n;
    int col; /* 1-based */
} scn_tok;

typedef struct scn_line {
    int no;          /* 1-based line number */
    bool indented;   /* starts with a space or tab */
    bool bad;        /* the lexer reported it (a control byte): its case is dropped */
    const char *src; /* the whole line (view), without its newline */
    size_t src_len;
    const scn_tok *tok; /* its words (at most SCN_MAX_TOKS), in the block of |*out| */
    size_t ntok;
} scn_line;

/* Splits |text| into its non-empty lines (comments from '#' stripped).
 * |*out| is owned (one block: free() it), the lines followed by their
 * words, so a line costs what its words need (not SCN_MAX_TOKS of them).
 * Overlong lines get a diagnostic. */
td_err scn_lex(const char *path, const char *text, size_t len, scn_line **out, size_t *out_num,
               td_scn_diags *diags) TD_WUR;

/* Appends a diagnostic at |col| of |line| (deduplicated: matrix expansion
 * revisits lines). */
td_err scn_diag(td_scn_diags *diags, const char *path, const scn_line *line, int col,
                const char *fmt, ...) TD_PRINTF(5, 6) TD_WUR;

/* Parses hex ("00:01", "0001", "-" for empty, "00*300" repeats) into |out|
 * (capacity |cap|). Returns NULL, or on failure what is wrong, with |*bad|
 * the 0-based index of the offending character (the word's length for an
 * odd digit count). */
#define SCN_MAX_HEX 70000
const char *scn_hex(const char *s, uint8_t *out, size_t cap, size_t *out_len, size_t *bad);

#endif
