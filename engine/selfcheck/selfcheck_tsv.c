/* engine/selfcheck/selfcheck_tsv.c -- loads the RFC 8448 vectors file (see
 * selfcheck_tsv.h for the format). A malformed line is a "file:line: error"
 * message, never a crash. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selfcheck_tsv.h"

#define TSV_MAX_ROWS 100000
#define TSV_NUM_COLS 6

static td_err fail(char *err, size_t cap, const char *name, size_t line, const char *fmt, ...)
    TD_PRINTF(5, 6);

static td_err fail(char *err, size_t cap, const char *name, size_t line, const char *fmt, ...)
{
    if (err != NULL && cap > 0) {
        int n = snprintf(err, cap, "%s:%zu: error: ", name, line);
        if (n >= 0 && (size_t)n < cap) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(err + n, cap - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return TD_ERR_FORMAT;
}

/* A decimal number in [0, max] spanning the whole field. */
static bool parse_uint(const char *s, int max, int *out)
{
    long v = 0;
    if (*s == '\0')
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (*s - '0');
        if (v > max)
            return false;
    }
    *out = (int)v;
    return true;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes the hex in |s| in place (output index i <= input index 2i).
 * Returns the offending column (1-based) on error, 0 on success. */
static size_t unhex_in_place(char *s, size_t *out_len)
{
    size_t n = strlen(s);
    uint8_t *o = (uint8_t *)s;
    for (size_t i = 0; i < n; i += 2) {
        if (i + 1 >= n)
            return i + 1;
        int hi = hex_digit(s[i]), lo = hex_digit(s[i + 1]);
        if (hi < 0)
            return i + 1;
        if (lo < 0)
            return i + 2;
        o[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    *out_len = n / 2;
    return 0;
}

static td_err parse_line(const char *name, size_t lineno, char *line, td_tsv_row *row, char *err,
                         size_t err_cap)
{
    char *col[TSV_NUM_COLS];
    size_t n = 0;
    char *p = line;
    for (;;) {
        if (n == TSV_NUM_COLS)
            return fail(err, err_cap, name, lineno, "more than %d tab-separated columns",
                        TSV_NUM_COLS);
        col[n++] = p;
        char *tab = strchr(p, '\t');
        if (tab == NULL)
            break;
        *tab = '\0';
        p = tab + 1;
    }
    if (n != TSV_NUM_COLS)
        return fail(err, err_cap, name, lineno,
                    "expected %d tab-separated columns (section step who step-text name hex), "
                    "found %zu", TSV_NUM_COLS, n);
    memset(row, 0, sizeof(*row));
    row->line = lineno;
    if (!parse_uint(col[0], 99, &row->section))
        return fail(err, err_cap, name, lineno, "section '%s' is not a number", col[0]);
    if (row->section < 3 || row->section > 7)
        return fail(err, err_cap, name, lineno, "section %d is not one of RFC 8448's traces (3-7)",
                    row->section);
    if (!parse_uint(col[1], 9999, &row->step))
        return fail(err, err_cap, name, lineno, "step '%s' is not a number", col[1]);
    if (strcmp(col[2], "client") == 0)
        row->who = TD_TSV_CLIENT;
    else if (strcmp(col[2], "server") == 0)
        row->who = TD_TSV_SERVER;
    else
        return fail(err, err_cap, name, lineno, "who '%s' is neither client nor server", col[2]);
    if (col[3][0] == '\0')
        return fail(err, err_cap, name, lineno, "empty step text");
    row->desc = col[3];
    if (col[4][0] == '\0')
        return fail(err, err_cap, name, lineno, "empty value name (use '-')");
    if (strcmp(col[4], "-") == 0) {
        if (strcmp(col[5], "-") != 0)
            return fail(err, err_cap, name, lineno, "a value without a name");
        return TD_OK;
    }
    row->name = col[4];
    if (strcmp(col[5], "-") == 0) {
        row->data = (const uint8_t *)col[5];
        row->len = 0;
        return TD_OK;
    }
    size_t bad = unhex_in_place(col[5], &row->len);
    if (bad != 0)
        return fail(err, err_cap, name, lineno, "bad hex in column 6 at character %zu", bad);
    row->data = (const uint8_t *)col[5];
    return TD_OK;
}

void td_selfcheck_tsv_free(td_tsv *tsv)
{
    if (tsv == NULL)
        return;
    free(tsv->text);
    free(tsv->rows);
    memset(tsv, 0, sizeof(*tsv));
}

td_err td_selfcheck_tsv_parse(const char *name, const char *text, size_t len, td_tsv *out,
                              char *err, size_t err_cap)
{
    td_err ret = TD_OK;
    size_t cap_rows = 0;
    memset(out, 0, sizeof(*out));
    if (text == NULL && len)
        return TD_ERR_ARG;
    out->text = malloc(len + 1);
    if (out->text == NULL)
        return TD_ERR_NOMEM;
    if (len)
        memcpy(out->text, text, len);
    out->text[len] = '\0';
    if (memchr(out->text, '\0', len) != NULL) {
        const char *nul = memchr(out->text, '\0', len);
        size_t lineno = 1;
        for (const char *q = out->text; q < nul; q++)
            lineno += *q == '\n';
        ret = fail(err, err_cap, name, lineno, "NUL byte in the file");
        goto out;
    }
    char *p = out->text;
    for (size_t lineno = 1; *p != '\0'; lineno++) {
        char *line = p;
        char *nl = strchr(p, '\n');
        if (nl != NULL) {
            *nl = '\0';
            p = nl + 1;
        } else {
            p += strlen(p);
        }
        size_t ll = strlen(line);
        if (ll > 0 && line[ll - 1] == '\r')
            line[--ll] = '\0';
        if (ll == 0 || line[0] == '#')
            continue;
        if (out->num_rows == TSV_MAX_ROWS) {
            ret = fail(err, err_cap, name, lineno, "more than %d rows", TSV_MAX_ROWS);
            goto out;
        }
        if (out->num_rows == cap_rows) {
            size_t nc = cap_rows ? cap_rows * 2 : 256;
            td_tsv_row *nr = realloc(out->rows, nc * sizeof(*nr));
            if (nr == NULL) {
                ret = TD_ERR_NOMEM;
                goto out;
            }
            out->rows = nr;
            cap_rows = nc;
        }
        TD_GUARD(parse_line(name, lineno, line, &out->rows[out->num_rows], err, err_cap));
        out->num_rows++;
    }
out:
    if (ret != TD_OK)
        td_selfcheck_tsv_free(out);
    return ret;
}
