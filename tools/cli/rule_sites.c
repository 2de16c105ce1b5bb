/* tools/cli/rule_sites.c -- the rule check sites of the engine's sources
 * (rule_sites.h). A small reader of C: it skips comments, strings and
 * #define lines, finds TD_ABORT( and TD_FAIL( and splits their arguments. */
#define _DEFAULT_SOURCE /* DT_DIR */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rule_sites.h"
#include "tlsdrill/array.h"
#include "tlsdrill/file.h"

/* Sites whose rule argument is a variable, and what the variable holds. */
typedef struct indirect {
    const char *file;   /* relative to the root */
    const char *expr;   /* the rule argument as written */
    const char *helper; /* the function whose parameter it is: the rule of each call ... */
    int arg;            /* ... is this argument (0-based) */
    td_rule values[2];  /* or: the rules the variable can hold */
    const char *table;  /* or: a row of this table (file:marker), each TD_RULE_* in it a site */
} indirect;

static const indirect k_indirect[] = {
    /* unexpected(c, msg, rule): a message this state does not take. */
    {"engine/client.c", "rule", "unexpected", 2, {TD_RULE_NONE, TD_RULE_NONE}, NULL},
    /* td_cert_weak_signature(): MD5 or SHA-1 in the chain (cert_check.h). */
    {"engine/client.c", "weak", NULL, 0, {TD_RULE_CT_MD5, TD_RULE_CT_SHA1}, NULL},
    {"engine/server.c", "weak", NULL, 0, {TD_RULE_CT_MD5, TD_RULE_CT_SHA1}, NULL},
    /* The message order (conn.c dispatch): a state's rule, a misplaced message's rule. */
    {"engine/conn.c",
     "s->rule",
     NULL,
     0,
     {TD_RULE_NONE, TD_RULE_NONE},
     "engine/conn_internal.h:#define TD_HS_STATE_LIST"},
    {"engine/conn.c",
     "m->rule",
     NULL,
     0,
     {TD_RULE_NONE, TD_RULE_NONE},
     "engine/conn.c:k_misplaced[] = {"},
};

static const struct {
    const char *name;
    td_err err;
} k_classes[] = {
#define CLASS_(x)                                                                                  \
    {                                                                                              \
#x, x                                                                                      \
    }
    CLASS_(TD_ERR_DECODE),
    CLASS_(TD_ERR_ILLEGAL_PARAMETER),
    CLASS_(TD_ERR_UNSUPPORTED_EXT),
    CLASS_(TD_ERR_UNEXPECTED),
    CLASS_(TD_ERR_RECORD_OVERFLOW),
    CLASS_(TD_ERR_BAD_RECORD_MAC),
    CLASS_(TD_ERR_DECRYPT),
    CLASS_(TD_ERR_PROTOCOL_VERSION),
    CLASS_(TD_ERR_MISSING_EXT),
    CLASS_(TD_ERR_HANDSHAKE_FAILURE),
    CLASS_(TD_ERR_BAD_CERTIFICATE),
    CLASS_(TD_ERR_CERT_REQUIRED),
    CLASS_(TD_ERR_FALLBACK),
    CLASS_(TD_ERR_UNRECOGNIZED_NAME),
    CLASS_(TD_ERR_NO_APP_PROTOCOL),
    CLASS_(TD_ERR_LIMIT),
    CLASS_(TD_ERR_WANT_MORE),
    CLASS_(TD_ERR_NOMEM),
    CLASS_(TD_ERR_ARG),
    CLASS_(TD_ERR_UNSUPPORTED),
    CLASS_(TD_ERR_CRYPTO),
    CLASS_(TD_ERR_IO),
    CLASS_(TD_ERR_FORMAT),
#undef CLASS_
};

bool td_rule_sites_class(const char *name, td_err *out)
{
    for (size_t i = 0; i < sizeof(k_classes) / sizeof(k_classes[0]); i++) {
        if (strcmp(k_classes[i].name, name) == 0) {
            *out = k_classes[i].err;
            return true;
        }
    }
    return false;
}

/* "TD_RULE_SV_LEGACY_SSL3" -> the rule whose ID is "SV-LEGACY-SSL3". */
static td_rule rule_by_macro(const char *name)
{
    if (strncmp(name, "TD_RULE_", 8) != 0)
        return TD_RULE_NONE;
    name += 8;
    for (int r = 1; r < TD_NUM_RULES; r++) {
        const char *id = td_rule_get((td_rule)r)->id;
        size_t i = 0;
        while (id[i] != '\0' && name[i] != '\0' && (id[i] == '-' ? '_' : id[i]) == name[i])
            i++;
        if (id[i] == '\0' && name[i] == '\0')
            return (td_rule)r;
    }
    return TD_RULE_NONE;
}

typedef struct site_list {
    td_rule_site *v;
    size_t n, cap;
} site_list;

static td_err push(site_list *l, const char *file, int line, td_rule rule, const char *cls,
                   const char *expr)
{
    td_rule_site *v = td_array_grow(l->v, l->n, &l->cap, sizeof(*v), 256);
    if (v == NULL)
        return TD_ERR_NOMEM;
    l->v = v;
    td_rule_site *s = &l->v[l->n++];
    memset(s, 0, sizeof(*s));
    snprintf(s->file, sizeof(s->file), "%s", file);
    s->line = line;
    s->rule = rule;
    s->err_literal = td_rule_sites_class(cls, &s->err);
    if (expr != NULL) {
        s->unresolved = true;
        snprintf(s->expr, sizeof(s->expr), "%s", expr);
    }
    return TD_OK;
}

/* ---- a small reader of C ---- */

typedef struct arg {
    char text[128]; /* whitespace squeezed; longer arguments are cut (never a rule) */
    int line;
} arg;

static bool ident_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '_';
}

/* Skips a comment or a string/char literal at |*p|; true if it did. */
static bool skip_lexical(const char **p, int *line)
{
    const char *s = *p;
    if (s[0] == '/' && s[1] == '*') {
        const char *e = strstr(s + 2, "*/");
        e = e ? e + 2 : s + strlen(s);
        for (const char *q = s; q < e; q++)
            *line += *q == '\n';
        *p = e;
        return true;
    }
    if (s[0] == '/' && s[1] == '/') {
        *p = s + strcspn(s, "\n");
        return true;
    }
    if (s[0] == '"' || s[0] == '\'') {
        char quote = s[0];
        s++;
        while (*s != '\0' && *s != quote && *s != '\n')
            s += s[0] == '\\' && s[1] != '\0' ? 2 : 1;
        *p = *s == quote ? s + 1 : s;
        return true;
    }
    return false;
}

/* Splits the arguments of the call whose '(' is at |*p|; |*p| ends after ')'. */
static size_t split_args(const char **p, int *line, arg *args, size_t max)
{
    const char *s = *p + 1;
    size_t n = 0, len = 0;
    int depth = 0;
    if (max > 0) {
        args[0].text[0] = '\0';
        args[0].line = *line;
    }
    while (*s != '\0') {
        const char *before = s;
        if (skip_lexical(&s, line)) {
            if (n < max && len + 1 < sizeof(args[n].text) && *before == '"')
                args[n].text[len++] = '"', args[n].text[len] = '\0';
            continue;
        }
        char ch = *s++;
        if (ch == '\n')
            (*line)++;
        if (ch == '(')
            depth++;
        if (ch == ')' && depth-- == 0)
            break;
        if (ch == ',' && depth == 0) {
            if (++n < max) {
                len = 0;
                args[n].text[0] = '\0';
                args[n].line = *line;
            }
            continue;
        }
        if (n >= max)
            continue;
        if (isspace((unsigned char)ch)) {
            if (len == 0 || args[n].text[len - 1] == ' ')
                continue;
            ch = ' ';
        }
        if (len == 0)
            args[n].line = *line;
        if (len + 1 < sizeof(args[n].text)) {
            args[n].text[len++] = ch;
            args[n].text[len] = '\0';
        }
    }
    for (size_t i = 0; i < max && i <= n; i++) {
        size_t l = strlen(args[i].text);
        while (l > 0 && args[i].text[l - 1] == ' ')
            args[i].text[--l] = '\0';
    }
    *p = s;
    return n + 1;
}

static const indirect *find_indirect(const char *file, const char *expr)
{
    for (size_t i = 0; i < sizeof(k_indirect) / sizeof(k_indirect[0]); i++)
        if (strcmp(k_indirect[i].file, file) == 0 && strcmp(k_indirect[i].expr, expr) == 0)
            return &k_indirect[i];
    return NULL;
}

static td_err add_rule_expr(site_list *l, const char *root, const char *file, int line,
                            const char *expr, const char *cls);

/* The TD_RULE_* constants of a table: from the line holding |marker| to the
 * end of the block (a "};" line, or the last line of a #define). */
static td_err scan_table(site_list *l, const char *root, const char *table, const char *cls)
{
    const char *colon = strchr(table, ':');
    char rel[128], path[1024];
    snprintf(rel, sizeof(rel), "%.*s", (int)(colon - table), table);
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    uint8_t *text;
    size_t len;
    TD_CHECK(td_file_read(path, 0, &text, &len));
    const char *p = strstr((const char *)text, colon + 1), *s = (const char *)text;
    td_err err = TD_OK;
    if (p == NULL) {
        err = push(l, rel, 0, TD_RULE_NONE, cls, colon + 1);
        free(text);
        return err;
    }
    bool macro = p[0] == '#';
    int line = 1;
    for (const char *q = s; q < p; q++)
        line += *q == '\n';
    while (*p != '\0' && err == TD_OK) {
        if (skip_lexical(&p, &line))
            continue;
        if (*p == '\n') {
            if (macro && p[-1] != '\\')
                break;
            line++;
            p++;
            continue;
        }
        if (!macro && p[0] == '}' && p[1] == ';')
            break;
        if (strncmp(p, "TD_RULE_", 8) == 0 && (p == s || !ident_char(p[-1]))) {
            char name[80];
            size_t n = 0;
            while (ident_char(p[n]) && n + 1 < sizeof(name)) {
                name[n] = p[n];
                n++;
            }
            name[n] = '\0';
            p += n;
            if (strcmp(name, "TD_RULE_NONE") != 0)
                err = add_rule_expr(l, root, rel, line, name, cls);
            continue;
        }
        p++;
    }
    free(text);
    return err;
}

/* One rule argument: TD_RULE_X, "cond ? TD_RULE_X : TD_RULE_Y", or a
 * variable of k_indirect with its values (helpers are done by the caller). */
static td_err add_rule_expr(site_list *l, const char *root, const char *file, int line,
                            const char *expr, const char *cls)
{
    if (strcmp(expr, "TD_RULE_NONE") == 0)
        return TD_OK;
    td_rule r = rule_by_macro(expr);
    if (r != TD_RULE_NONE)
        return push(l, file, line, r, cls, NULL);
    const char *q = strchr(expr, '?'), *c = q ? strchr(q, ':') : NULL;
    if (q != NULL && c != NULL) {
        char a[64], b[64];
        snprintf(a, sizeof(a), "%.*s", (int)(c - q - 1), q + 1);
        snprintf(b, sizeof(b), "%s", c + 1);
        char *parts[2] = {a, b};
        for (int i = 0; i < 2; i++) {
            char *t = parts[i];
            while (*t == ' ')
                t++;
            size_t n = strlen(t);
            while (n > 0 && t[n - 1] == ' ')
                t[--n] = '\0';
            TD_CHECK(add_rule_expr(l, root, file, line, t, cls));
        }
        return TD_OK;
    }
    const indirect *ind = find_indirect(file, expr);
    if (ind != NULL && ind->table != NULL)
        return scan_table(l, root, ind->table, cls);
    if (ind != NULL && ind->helper == NULL) {
        for (size_t i = 0; i < 2 && ind->values[i] != TD_RULE_NONE; i++)
            TD_CHECK(push(l, file, line, ind->values[i], cls, NULL));
        return TD_OK;
    }
    if (ind != NULL)
        return TD_OK; /* a helper's parameter: its calls are the sites */
    return push(l, file, line, TD_RULE_NONE, cls, expr);
}

static td_err scan_text(site_list *l, const char *root, const char *file, const char *text)
{
    /* The class of each helper of this file, from the TD_ABORT inside it. */
    char helper_class[sizeof(k_indirect) / sizeof(k_indirect[0])][sizeof(((arg *)0)->text)];
    memset(helper_class, 0, sizeof(helper_class));
    bool table_done[sizeof(k_indirect) / sizeof(k_indirect[0])] = {false};
    for (int pass = 0; pass < 2; pass++) {
        const char *p = text;
        int line = 1;
        bool line_start = true, in_define = false;
        while (*p != '\0') {
            if (skip_lexical(&p, &line))
                continue;
            char ch = *p;
            if (ch == '\n') {
                line++;
                in_define = in_define && p > text && p[-1] == '\\';
                line_start = true;
                p++;
                continue;
            }
            if (line_start && ch == '#')
                in_define = strncmp(p, "#define", 7) == 0;
            if (!isspace((unsigned char)ch))
                line_start = false;
            if (!ident_char(ch) || (p > text && ident_char(p[-1]))) {
                p++;
                continue;
            }
            const char *start = p;
            while (ident_char(*p))
                p++;
            size_t n = (size_t)(p - start);
            const char *q = p;
            while (*q == ' ' || *q == '\t')
                q++;
            /* x.rule = TD_RULE_X: a rule set on a diagnostic directly. */
            if (pass == 0 && !in_define && n == 4 && strncmp(start, "rule", 4) == 0 && start > text &&
                (start[-1] == '.' || start[-1] == '>') && q[0] == '=' && q[1] != '=') {
                const char *r = q + 1;
                while (*r == ' ')
                    r++;
                char name[80];
                size_t k = 0;
                while (ident_char(r[k]) && k + 1 < sizeof(name)) {
                    name[k] = r[k];
                    k++;
                }
                name[k] = '\0';
                td_rule rule = rule_by_macro(name);
                if (rule != TD_RULE_NONE) {
                    TD_CHECK(push(l, file, line, rule, "", NULL));
                    l->v[l->n - 1].assigned = true;
                }
                continue;
            }
            if (*q != '(' || in_define)
                continue;
            bool abort_site = (n == 8 && strncmp(start, "TD_ABORT", 8) == 0) ||
                              (n == 7 && strncmp(start, "TD_FAIL", 7) == 0) ||
                              (n == 11 && strncmp(start, "td_diag_set", 11) == 0);
            size_t helper = SIZE_MAX;
            for (size_t i = 0; i < sizeof(k_indirect) / sizeof(k_indirect[0]); i++)
                if (k_indirect[i].helper != NULL && strcmp(k_indirect[i].file, file) == 0 &&
                    strlen(k_indirect[i].helper) == n &&
                    strncmp(k_indirect[i].helper, start, n) == 0)
                    helper = i;
            if (!abort_site && helper == SIZE_MAX)
                continue;
            p = q;
            arg args[4];
            size_t num = split_args(&p, &line, args, 4);
            if (abort_site && num >= 3 && strncmp(args[2].text, "td_rule ", 8) == 0)
                continue; /* the definition of td_diag_set */
            if (abort_site && num >= 3) {
                const indirect *ind = find_indirect(file, args[2].text);
                if (pass == 0 && ind != NULL && ind->helper != NULL)
                    snprintf(helper_class[ind - k_indirect], sizeof(helper_class[0]), "%s",
                             args[1].text);
                /* A table's rules are sites once, whatever number of aborts use them. */
                bool again = ind != NULL && ind->table != NULL && table_done[ind - k_indirect];
                if (ind != NULL && ind->table != NULL)
                    table_done[ind - k_indirect] = true;
                if (pass == 0 && !again)
                    TD_CHECK(
                        add_rule_expr(l, root, file, args[2].line, args[2].text, args[1].text));
            } else if (helper != SIZE_MAX && pass == 1 && (int)num > k_indirect[helper].arg) {
                const arg *a = &args[k_indirect[helper].arg];
                if (strchr(a->text, ' ') == NULL ||
                    strchr(a->text, '?') != NULL) /* not the definition */
                    TD_CHECK(add_rule_expr(l, root, file, a->line, a->text, helper_class[helper]));
            }
        }
    }
    return TD_OK;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_site(const void *a, const void *b)
{
    const td_rule_site *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

/* |rel| is relative to |root| ("engine", "engine/scenario", ...). */
static td_err scan_dir(site_list *l, const char *root, const char *rel, char *errbuf,
                       size_t errbuf_len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    DIR *d = opendir(path);
    if (d == NULL) {
        snprintf(errbuf, errbuf_len, "%s: cannot open the folder", path);
        return TD_ERR_IO;
    }
    char **names = NULL;
    size_t num = 0;
    td_err ret = TD_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char **nn = realloc(names, (num + 1) * sizeof(*names));
        if (nn == NULL || (nn[num] = strdup(e->d_name)) == NULL) {
            names = nn ? nn : names;
            ret = TD_ERR_NOMEM;
            break;
        }
        names = nn;
        num++;
    }
    closedir(d);
    if (names != NULL)
        qsort(names, num, sizeof(*names), cmp_name);
    for (size_t i = 0; i < num && ret == TD_OK; i++) {
        char sub[512];
        snprintf(sub, sizeof(sub), "%s/%s", rel, names[i]);
        snprintf(path, sizeof(path), "%s/%s", root, sub);
        size_t nlen = strlen(names[i]);
        if (nlen > 2 && strcmp(names[i] + nlen - 2, ".c") == 0) {
            uint8_t *text;
            size_t len;
            ret = td_file_read(path, 0, &text, &len);
            if (ret != TD_OK) {
                snprintf(errbuf, errbuf_len, "%s: cannot read the file", path);
                break;
            }
            ret = scan_text(l, root, sub, (const char *)text);
            free(text);
        } else if (strchr(names[i], '.') == NULL) {
            DIR *probe = opendir(path);
            if (probe != NULL) {
                closedir(probe);
                ret = scan_dir(l, root, sub, errbuf, errbuf_len);
            }
        }
    }
    for (size_t i = 0; i < num; i++)
        free(names[i]);
    free(names);
    return ret;
}

td_err td_rule_sites_scan(const char *root, td_rule_site **out, size_t *out_num, char *errbuf,
                          size_t errbuf_len)
{
    site_list l = {0};
    *out = NULL;
    *out_num = 0;
    td_err err = scan_dir(&l, root, "engine", errbuf, errbuf_len);
    if (err != TD_OK) {
        free(l.v);
        return err;
    }
    if (l.v != NULL)
        qsort(l.v, l.n, sizeof(*l.v), cmp_site);
    *out = l.v;
    *out_num = l.n;
    return TD_OK;
}
