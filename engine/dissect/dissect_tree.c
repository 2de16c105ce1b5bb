/* dissect_tree.c -- the dissector's tree (tlsdrill/dissect.h): nodes with
 * attributes, fields and children, rendered as indented text or JSON. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "tlsdrill/array.h"
#include "tlsdrill/dissect.h"

typedef struct dis_kv {
    char *key, *value;
    bool attr; /* printed on the node's line in text */
} dis_kv;

struct td_dis_node {
    char *name, *value;
    dis_kv *kv;
    size_t num_kv, cap_kv;
    td_dis_node **children;
    size_t num_children, cap_children;
};

static char *dup_str(const char *s)
{
    size_t n = strlen(s);
    char *p = malloc(n + 1);
    if (p != NULL)
        memcpy(p, s, n + 1);
    return p;
}

td_err td_dis_node_new(const char *name, const char *value, td_dis_node **out)
{
    *out = NULL;
    td_dis_node *n = calloc(1, sizeof(*n));
    if (n == NULL)
        return TD_ERR_NOMEM;
    n->name = dup_str(name);
    n->value = value != NULL ? dup_str(value) : NULL;
    if (n->name == NULL || (value != NULL && n->value == NULL)) {
        td_dis_node_free(n);
        return TD_ERR_NOMEM;
    }
    *out = n;
    return TD_OK;
}

void td_dis_node_free(td_dis_node *node)
{
    if (node == NULL)
        return;
    for (size_t i = 0; i < node->num_kv; i++) {
        free(node->kv[i].key);
        free(node->kv[i].value);
    }
    for (size_t i = 0; i < node->num_children; i++)
        td_dis_node_free(node->children[i]);
    free(node->kv);
    free(node->children);
    free(node->name);
    free(node->value);
    free(node);
}

td_err td_dis_child(td_dis_node *parent, const char *name, td_dis_node **out)
{
    *out = NULL;
    td_dis_node **p =
        td_array_grow(parent->children, parent->num_children, &parent->cap_children, sizeof(*p), 4);
    if (p == NULL)
        return TD_ERR_NOMEM;
    parent->children = p;
    TD_CHECK(td_dis_node_new(name, NULL, out));
    parent->children[parent->num_children++] = *out;
    return TD_OK;
}

static td_err add_kv(td_dis_node *node, const char *key, bool attr, const char *fmt, va_list ap)
    TD_PRINTF(4, 0);
static td_err add_kv(td_dis_node *node, const char *key, bool attr, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return TD_ERR_ARG;
    char *value = malloc((size_t)n + 1);
    char *k = dup_str(key);
    if (value == NULL || k == NULL || node->num_kv == SIZE_MAX / sizeof(dis_kv) / 2) {
        free(value);
        free(k);
        return TD_ERR_NOMEM;
    }
    vsnprintf(value, (size_t)n + 1, fmt, ap);
    if (node->num_kv == node->cap_kv) {
        size_t cap = node->cap_kv ? node->cap_kv * 2 : 4;
        dis_kv *p = realloc(node->kv, cap * sizeof(*p));
        if (p == NULL) {
            free(value);
            free(k);
            return TD_ERR_NOMEM;
        }
        node->kv = p;
        node->cap_kv = cap;
    }
    node->kv[node->num_kv++] = (dis_kv){.key = k, .value = value, .attr = attr};
    return TD_OK;
}

td_err td_dis_attr(td_dis_node *node, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    td_err err = add_kv(node, key, true, fmt, ap);
    va_end(ap);
    return err;
}

td_err td_dis_field(td_dis_node *node, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    td_err err = add_kv(node, key, false, fmt, ap);
    va_end(ap);
    return err;
}

td_err td_dis_hex(td_dis_node *node, const char *key, const uint8_t *data, size_t len, size_t max)
{
    size_t shown = max == 0 || len <= max ? len : max;
    char *buf = malloc(shown * 2 + 40);
    if (buf == NULL)
        return TD_ERR_NOMEM;
    static const char digits[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < shown; i++) {
        buf[o++] = digits[data[i] >> 4];
        buf[o++] = digits[data[i] & 15];
    }
    buf[o] = '\0';
    if (shown < len)
        snprintf(buf + o, 40, "... (%zu bytes)", len);
    else if (len == 0)
        snprintf(buf, 40, "(empty)");
    td_err err = td_dis_field(node, key, "%s", buf);
    free(buf);
    return err;
}

const char *td_dis_node_name(const td_dis_node *node)
{
    return node->name;
}

size_t td_dis_num_children(const td_dis_node *node)
{
    return node->num_children;
}

td_dis_node *td_dis_child_at(const td_dis_node *node, size_t i)
{
    return i < node->num_children ? node->children[i] : NULL;
}

const char *td_dis_get(const td_dis_node *node, const char *key)
{
    for (size_t i = 0; i < node->num_kv; i++)
        if (strcmp(node->kv[i].key, key) == 0)
            return node->kv[i].value;
    return NULL;
}

void td_dis_print_text(const td_dis_node *node, FILE *out, int depth)
{
    fprintf(out, "%*s%s", depth * 2, "", node->name);
    if (node->value != NULL)
        fprintf(out, " %s", node->value);
    for (size_t i = 0; i < node->num_kv; i++)
        if (node->kv[i].attr)
            fprintf(out, " %s=%s", node->kv[i].key, node->kv[i].value);
    fputc('\n', out);
    for (size_t i = 0; i < node->num_kv; i++)
        if (!node->kv[i].attr)
            fprintf(out, "%*s%s: %s\n", (depth + 1) * 2, "", node->kv[i].key, node->kv[i].value);
    for (size_t i = 0; i < node->num_children; i++)
        td_dis_print_text(node->children[i], out, depth + 1);
}

static void json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

void td_dis_print_json(const td_dis_node *node, FILE *out)
{
    fputs("{\"node\": ", out);
    json_str(out, node->name);
    if (node->value != NULL) {
        fputs(", \"value\": ", out);
        json_str(out, node->value);
    }
    if (node->num_kv > 0) {
        fputs(", \"fields\": {", out);
        for (size_t i = 0; i < node->num_kv; i++) {
            fputs(i ? ", " : "", out);
            json_str(out, node->kv[i].key);
            fputs(": ", out);
            json_str(out, node->kv[i].value);
        }
        fputc('}', out);
    }
    if (node->num_children > 0) {
        fputs(", \"children\": [", out);
        for (size_t i = 0; i < node->num_children; i++) {
            fputs(i ? ", " : "", out);
            td_dis_print_json(node->children[i], out);
        }
        fputc(']', out);
    }
    fputc('}', out);
}
