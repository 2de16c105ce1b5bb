/* engine/scenario/scn_parse.h -- the parser's state, shared by parse.c
 * (cases, header, matrix), parse_side.c (client/server settings) and
 * parse_edit.c (send-step edits). */
#ifndef TD_SCN_PARSE_H
#define TD_SCN_PARSE_H

#include "scn_internal.h"
#include "scn_names.h"

#define SCN_MAX_VARS 4
#define SCN_MAX_VALUES 32
#define SCN_MAX_EXPANSION 1024

typedef struct mvar {
    char name[32];
    const scn_line *line;
    int col;
    const scn_tok *vals; /* into the matrix line */
    size_t nvals;
    bool used;
} mvar;

/* The case names of one file, those of cases an error dropped too: the
 * duplicate check is one lookup per case (a hash set, open addressing). */
typedef struct scn_names {
    char **slot; /* owned, each owned */
    size_t cap, num;
    size_t probes; /* slots looked at, in all: the set's cost (tests) */
} scn_names;

/* Adds |name| (copied); *out_dup: it was there already. TD_ERR_NOMEM. */
td_err scn_names_add(scn_names *s, const char *name, bool *out_dup) TD_WUR;
void scn_names_free(scn_names *s);

typedef struct pctx {
    const char *path;
    td_scn_diags *diags;
    td_err err; /* sticky: NOMEM */
    const mvar *vars;
    size_t nvars;
    const size_t *choice;
    /* the current line, expanded */
    const scn_line *line;
    char w[SCN_MAX_TOKS][SCN_MAX_WORD];
    size_t nw;
    scn_names names;  /* every case name so far */
    size_t cases_cap; /* of the file's cases array */
    /* the case being built */
    td_scn_case *c;
    bool bad;
    bool discard; /* lint only: the block's matrix is broken */
    bool have_sut, have_expect;
    int expect_rule_col;
    const scn_line *expect_line;
    const scn_line *step_lines[64];
    int step_cols[64];
    char *file;   /* the path, one copy every case of the file points at */
    uint8_t *hex; /* SCN_MAX_HEX bytes of scratch for scn_hex_at (owned): a hex
                   * word is decoded here and copied out at its size */
} pctx;

/* A diagnostic at word |word| of the current line (past the end: just after it). */
void scn_perr(pctx *p, size_t word, const char *fmt, ...) TD_PRINTF(3, 4);
char *scn_sdup(pctx *p, const char *s);
/* The line has min..max arguments after its keyword (max 0: no limit). */
bool scn_want_args(pctx *p, size_t min, size_t max);
bool scn_value_at(pctx *p, size_t i, scn_kind kind, uint16_t *out);
bool scn_number_at(pctx *p, size_t i, uint32_t max, uint32_t *out);
/* Hex word |i| into an owned buffer (free()). */
bool scn_hex_at(pctx *p, size_t i, uint8_t **out, size_t *out_len);
bool scn_ext_at(pctx *p, size_t i, uint16_t *out);

/* parse_side.c, parse_edit.c */
void scn_parse_side(pctx *p, td_scn_side *s, bool is_client);
void scn_parse_edit(pctx *p, td_scn_step *st);

#endif
