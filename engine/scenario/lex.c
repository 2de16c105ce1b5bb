/* engine/scenario/lex.c -- scenario files into lines of words, and
 * compiler-style diagnostics (ninja's habit: the line and a caret,
 * returned, never printed or exited on by the library). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scn_internal.h"

static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* A diagnostic shows at most this much of its source line around the column:
 * a 10 MB line is not echoed whole. */
#define SCN_DIAG_CONTEXT 80

td_err scn_diag(td_scn_diags *diags, const char *path, const scn_line *line, int col,
                const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    int no = line ? line->no : 0;
    /* Identical diagnostics (a matrix case repeats its block's) are reported
     * once; only this block's are compared, so linting stays linear. */
    for (size_t i = diags->dedup_from < diags->num ? diags->dedup_from : diags->num; i < diags->num;
         i++) {
        const td_scn_diag *d = &diags->list[i];
        if (d->line == no && d->col == col && strcmp(d->message, msg) == 0 &&
            strcmp(d->file, path) == 0)
            return TD_OK;
    }
    if (diags->num == diags->cap) {
        size_t cap = diags->cap ? diags->cap * 2 : 8;
        td_scn_diag *n = realloc(diags->list, cap * sizeof(*n));
        if (n == NULL)
            return TD_ERR_NOMEM;
        diags->list = n;
        diags->cap = cap;
    }
    td_scn_diag *d = &diags->list[diags->num];
    d->file = dup_n(path, strlen(path));
    d->message = dup_n(msg, strlen(msg));
    d->source_col = col;
    if (line == NULL) {
        d->source = dup_n("", 0);
    } else {
        /* The line around the column: SCN_DIAG_CONTEXT bytes either side. */
        size_t at = col > 0 ? (size_t)col - 1 : 0, from = 0, to = line->src_len;
        if (at > line->src_len)
            at = line->src_len;
        if (at > SCN_DIAG_CONTEXT)
            from = at - SCN_DIAG_CONTEXT;
        if (to - at > SCN_DIAG_CONTEXT)
            to = at + SCN_DIAG_CONTEXT;
        bool cut_left = from > 0, cut_right = to < line->src_len;
        /* Stored ready to show: control bytes (an escape sequence, a NUL)
         * as \xNN, so none reaches a terminal and a NUL does not end it. */
        d->source = malloc(4 * (to - from) + 7);
        if (d->source != NULL) {
            size_t k = 0;
            if (cut_left) {
                memcpy(d->source, "...", 3);
                k = 3;
            }
            for (size_t i = from; i < to; i++) {
                unsigned char c = (unsigned char)line->src[i];
                if (i == at)
                    d->source_col = (int)k + 1;
                if (c == '\t' || (c >= 0x20 && c != 0x7f))
                    d->source[k++] = (char)c;
                else
                    k += (size_t)sprintf(d->source + k, "\\x%02x", c);
            }
            if (at >= to)
                d->source_col = (int)k + 1;
            if (cut_right) {
                memcpy(d->source + k, "...", 3);
                k += 3;
            }
            d->source[k] = '\0';
        }
    }
    d->line = no;
    d->col = col;
    if (d->file == NULL || d->message == NULL || d->source == NULL) {
        free(d->file);
        free(d->message);
        free(d->source);
        return TD_ERR_NOMEM;
    }
    diags->num++;
    return TD_OK;
}

void td_scn_diags_cleanup(td_scn_diags *diags)
{
    for (size_t i = 0; i < diags->num; i++) {
        free(diags->list[i].file);
        free(diags->list[i].message);
        free(diags->list[i].source);
    }
    free(diags->list);
    memset(diags, 0, sizeof(*diags));
}

/* Writes |n| bytes of |s| with control bytes escaped (\xNN; a tab stays a
 * tab): an escape sequence in a file name or a message never reaches the
 * terminal. */
static void put_escaped(FILE *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\t' || (c >= 0x20 && c != 0x7f))
            fputc(c, out);
        else
            fprintf(out, "\\x%02x", c);
    }
}

void td_scn_diags_print(const td_scn_diags *diags, FILE *out)
{
    for (size_t i = 0; i < diags->num; i++) {
        const td_scn_diag *d = &diags->list[i];
        put_escaped(out, d->file, strlen(d->file));
        if (d->line == 0) {
            fputs(": error: ", out);
            put_escaped(out, d->message, strlen(d->message));
            fputc('\n', out);
            continue;
        }
        fprintf(out, ":%d:%d: error: ", d->line, d->col);
        put_escaped(out, d->message, strlen(d->message));
        fprintf(out, "\n  %s\n  ", d->source);
        /* The caret under the column as shown: tabs kept. */
        for (int c = 1; c < d->source_col && d->source[c - 1] != '\0'; c++)
            fputc(d->source[c - 1] == '\t' ? '\t' : ' ', out);
        fputs("^\n", out);
    }
}

/* The lines and their words, gathered while lexing. */
typedef struct lex_acc {
    scn_line *lines;
    size_t num, cap;
    scn_tok *toks;
    size_t ntoks, cap_toks;
} lex_acc;

static void lex_acc_free(lex_acc *a)
{
    free(a->lines);
    free(a->toks);
}

/* Appends |l| with its words |tok| (the line's tok is fixed up at the end). */
static bool lex_add(lex_acc *a, const scn_line *l, const scn_tok *tok)
{
    if (a->num == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        scn_line *n = realloc(a->lines, cap * sizeof(*n));
        if (n == NULL)
            return false;
        a->lines = n;
        a->cap = cap;
    }
    if (a->ntoks + l->ntok > a->cap_toks) {
        size_t cap = a->cap_toks ? a->cap_toks * 2 : 256;
        while (cap < a->ntoks + l->ntok)
            cap *= 2;
        scn_tok *n = realloc(a->toks, cap * sizeof(*n));
        if (n == NULL)
            return false;
        a->toks = n;
        a->cap_toks = cap;
    }
    memcpy(a->toks + a->ntoks, tok, l->ntok * sizeof(*tok));
    a->lines[a->num] = *l;
    a->lines[a->num].tok = NULL;
    a->ntoks += l->ntok;
    a->num++;
    return true;
}

td_err scn_lex(const char *path, const char *text, size_t len, scn_line **out, size_t *out_num,
               td_scn_diags *diags)
{
    lex_acc a = {0};
    size_t pos = 0;
    int no = 0;
    /* A UTF-8 byte order mark (editors on Windows write one) is not part of line 1. */
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        pos = 3;
    while (pos < len) {
        size_t end = pos;
        while (end < len && text[end] != '\n')
            end++;
        no++;
        scn_tok tok[SCN_MAX_TOKS];
        scn_line l;
        memset(&l, 0, sizeof(l));
        l.no = no;
        l.src = text + pos;
        l.src_len = end - pos;
        l.tok = tok;
        if (l.src_len > 0 && l.src[l.src_len - 1] == '\r')
            l.src_len--;
        l.indented = l.src_len > 0 && (l.src[0] == ' ' || l.src[0] == '\t');
        /* Scenario files are text: a NUL would silently end a word, an escape
         * sequence would reach the terminal in a case name. */
        for (size_t k = 0; k < l.src_len; k++) {
            unsigned char c = (unsigned char)l.src[k];
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                td_err err = scn_diag(diags, path, &l, (int)k + 1,
                                      c == 0 ? "NUL byte in the line (scenario files are text)"
                                             : "control character \\x%02x in the line (scenario "
                                               "files are text)",
                                      c);
                if (err != TD_OK) {
                    lex_acc_free(&a);
                    return err;
                }
                l.bad = true;
                break;
            }
        }
        size_t i = 0;
        bool over = false;
        while (i < l.src_len) {
            while (i < l.src_len && (l.src[i] == ' ' || l.src[i] == '\t'))
                i++;
            if (i >= l.src_len || l.src[i] == '#')
                break;
            size_t s = i;
            while (i < l.src_len && l.src[i] != ' ' && l.src[i] != '\t')
                i++;
            if (l.ntok == SCN_MAX_TOKS) {
                over = true;
                break;
            }
            tok[l.ntok++] = (scn_tok){.s = l.src + s, .n = i - s, .col = (int)s + 1};
        }
        if (over) {
            td_err err = scn_diag(diags, path, &l, 1, "line has more than %d words", SCN_MAX_TOKS);
            if (err != TD_OK) {
                lex_acc_free(&a);
                return err;
            }
        } else if (l.ntok > 0 && !lex_add(&a, &l, tok)) {
            lex_acc_free(&a);
            return TD_ERR_NOMEM;
        }
        pos = end + 1;
    }
    /* One block: the lines, then every word; each line points at its own. */
    scn_line *block = malloc(a.num * sizeof(scn_line) + a.ntoks * sizeof(scn_tok) + 1);
    if (block == NULL) {
        lex_acc_free(&a);
        return TD_ERR_NOMEM;
    }
    scn_tok *words = (scn_tok *)(block + a.num);
    if (a.num > 0)
        memcpy(block, a.lines, a.num * sizeof(scn_line));
    if (a.ntoks > 0)
        memcpy(words, a.toks, a.ntoks * sizeof(scn_tok));
    for (size_t i = 0, at = 0; i < a.num; i++) {
        block[i].tok = words + at;
        at += block[i].ntok;
    }
    lex_acc_free(&a);
    *out = block;
    *out_num = a.num;
    return TD_OK;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Hex words: digits, ':' separators, and `*N` after a group (the digits
 * since the previous ':' or the start) to repeat that group N times in all
 * (`00*300`, `1603034001:00*16385`). */
const char *scn_hex(const char *s, uint8_t *out, size_t cap, size_t *out_len, size_t *bad)
{
    size_t n = 0, i = 0, group = 0;
    int hi = -1;
    *out_len = 0;
    if (strcmp(s, "-") == 0)
        return NULL;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        i = 2;
    size_t first = i;
    for (; s[i] != '\0'; i++) {
        if (s[i] == ':' && hi < 0) {
            group = n;
            continue;
        }
        if (s[i] == '*' && hi < 0) {
            *bad = i;
            if (n == group)
                return "'*' repeats the hex digits before it, and there are none";
            size_t j = i + 1;
            unsigned long count = 0;
            while (s[j] >= '0' && s[j] <= '9' && count <= 1000000)
                count = count * 10 + (unsigned long)(s[j++] - '0');
            if (j == i + 1)
                return "'*' needs a decimal repeat count";
            if (count == 0)
                return "repeat count 0: write '-' for no bytes";
            size_t len = n - group;
            if (count > 1000000 || len * count > cap - group)
                return "repeat count too large for a hex value";
            for (unsigned long k = 1; k < count; k++) {
                memcpy(out + n, out + group, len);
                n += len;
            }
            group = n;
            i = j - 1;
            if (s[j] != '\0' && s[j] != ':') {
                *bad = j;
                return "a repeat count ends the group (use ':' before more digits)";
            }
            continue;
        }
        int v = hexval(s[i]);
        if (v < 0 && (s[i] == '*' || s[i] == ':')) {
            *bad = i;
            return "odd number of digits in the group before it";
        }
        if (v < 0) {
            *bad = i;
            return "not a hex digit";
        }
        if (hi < 0 && n == cap) {
            *bad = i;
            return "hex value too long";
        }
        if (hi < 0) {
            hi = v;
        } else {
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    if (hi >= 0 || i == first) {
        *bad = i;
        return "odd number of digits";
    }
    *out_len = n;
    return NULL;
}
