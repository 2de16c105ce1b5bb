/* tools/cli/expect.c -- expectations files (expect.h). */
#include "expect.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* Next blank-separated word of |*p|; NULL at the end. */
static const char *word(const char **p, size_t *len)
{
    const char *s = *p;
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '\0')
        return NULL;
    const char *e = s;
    while (*e != '\0' && *e != ' ' && *e != '\t')
        e++;
    *len = (size_t)(e - s);
    *p = e;
    return s;
}

static int add_line(td_expectations *e, const char *text, int lineno)
{
    const char *p = text;
    size_t kl = 0, al = 0;
    const char *k = word(&p, &kl);
    if (k == NULL)
        return 0;
    const char *a = word(&p, &al);
    while (*p == ' ' || *p == '\t')
        p++;
    if (a == NULL || *p == '\0') {
        fprintf(stderr, "%s:%d: error: expected 'CASE|RULE ACTUAL REASON...'\n", e->path, lineno);
        return -1;
    }
    for (size_t i = 0; i < e->num; i++)
        if (strlen(e->lines[i].key) == kl && memcmp(e->lines[i].key, k, kl) == 0) {
            fprintf(stderr, "%s:%d: error: '%.*s' already has a line (%d)\n", e->path, lineno, (int)kl, k,
                    e->lines[i].line);
            return -1;
        }
    if (e->num == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 64;
        td_expect_line *n = realloc(e->lines, cap * sizeof(*n));
        if (n == NULL)
            return -1;
        e->lines = n;
        e->cap = cap;
    }
    td_expect_line *l = &e->lines[e->num];
    memset(l, 0, sizeof(*l));
    l->key = dup_n(k, kl);
    l->actual = dup_n(a, al);
    l->reason = dup_n(p, strlen(p));
    l->line = lineno;
    e->num++;
    if (l->key == NULL || l->actual == NULL || l->reason == NULL)
        return -1;
    l->rule = td_rule_by_id(l->key);
    return 0;
}

int td_expect_load(const char *path, td_expectations *out)
{
    memset(out, 0, sizeof(*out));
    out->path = path;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "%s: error: cannot read the expectations file\n", path);
        return -1;
    }
    char buf[1024];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(buf, sizeof(buf), f) != NULL) {
        lineno++;
        size_t n = strlen(buf);
        if (n == sizeof(buf) - 1 && buf[n - 1] != '\n') {
            fprintf(stderr, "%s:%d: error: line too long\n", path, lineno);
            rc = -1;
            break;
        }
        char *hash = strchr(buf, '#');
        if (hash != NULL)
            *hash = '\0';
        n = strlen(buf);
        while (n > 0 && isspace((unsigned char)buf[n - 1]))
            buf[--n] = '\0';
        rc = add_line(out, buf, lineno);
    }
    fclose(f);
    if (rc != 0)
        td_expect_free(out);
    return rc;
}

void td_expect_free(td_expectations *e)
{
    for (size_t i = 0; i < e->num; i++) {
        free(e->lines[i].key);
        free(e->lines[i].actual);
        free(e->lines[i].reason);
    }
    free(e->lines);
    e->lines = NULL;
    e->num = e->cap = 0;
}

td_expect_line *td_expect_find(td_expectations *e, const td_scn_case *c)
{
    td_expect_line *hit = NULL;
    for (size_t i = 0; i < e->num && hit == NULL; i++)
        if (e->lines[i].rule == TD_RULE_NONE && strcmp(e->lines[i].key, c->name) == 0)
            hit = &e->lines[i];
    for (size_t i = 0; i < e->num && hit == NULL; i++)
        for (size_t k = 0; k < c->num_rules && hit == NULL; k++)
            if (e->lines[i].rule != TD_RULE_NONE && e->lines[i].rule == c->rules[k])
                hit = &e->lines[i];
    if (hit != NULL)
        hit->selected++;
    return hit;
}

void td_expect_actual(const td_scn_result *r, char *out, size_t cap)
{
    const char *a = r->actual;
    if (r->verdict == TD_SCN_UNSUPPORTED)
        snprintf(out, cap, "unsupported");
    else if (strncmp(a, "alert ", 6) == 0)
        snprintf(out, cap, "%s", a + 6);
    else if (strcmp(a, "handshake") == 0 || strcmp(a, "resumed") == 0)
        snprintf(out, cap, "none");
    else if (strncmp(a, "our abort", 9) == 0)
        snprintf(out, cap, "our-abort");
    else if (strncmp(a, "stalled", 7) == 0)
        snprintf(out, cap, "stalled");
    else
        snprintf(out, cap, "%s", a);
}
