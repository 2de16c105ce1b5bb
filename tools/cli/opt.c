/* tools/cli/opt.c -- the option table parser (opt.h). */
#include "opt.h"

#include <stdarg.h>
#include <string.h>

bool td_cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *err,
                      size_t err_len)
{
    const char *p = s;
    unsigned base = 10;
    if (*p == '-' || *p == '+') {
        snprintf(err, err_len, "%s",
                 *p == '-' ? "negative numbers are not allowed" : "no sign allowed");
        return false;
    }
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    } else if (p[0] == '0' && p[1] != '\0') {
        snprintf(
            err, err_len,
            "a leading 0 is ambiguous (octal?): write the number in decimal, or in hex with 0x");
        return false;
    }
    if (*p == '\0') {
        snprintf(err, err_len, "expected a number (decimal, or hex with 0x)");
        return false;
    }
    uint64_t v = 0;
    bool overflow = false;
    for (; *p; p++) {
        unsigned d;
        if (*p >= '0' && *p <= '9')
            d = (unsigned)(*p - '0');
        else if (base == 16 && *p >= 'a' && *p <= 'f')
            d = (unsigned)(*p - 'a' + 10);
        else if (base == 16 && *p >= 'A' && *p <= 'F')
            d = (unsigned)(*p - 'A' + 10);
        else {
            snprintf(err, err_len, "expected a number (decimal, or hex with 0x)");
            return false;
        }
        if (v > (UINT64_MAX - d) / base)
            overflow = true;
        else
            v = v * base + d;
    }
    if (overflow || v < min || v > max) {
        snprintf(err, err_len, "out of range (%llu..%llu)", (unsigned long long)min,
                 (unsigned long long)max);
        return false;
    }
    *out = v;
    return true;
}

static void format_ms(uint64_t ms, char *buf, size_t len)
{
    if (ms % 1000 == 0)
        snprintf(buf, len, "%llus", (unsigned long long)(ms / 1000));
    else
        snprintf(buf, len, "%llums", (unsigned long long)ms);
}

bool td_cli_parse_duration(const char *s, uint64_t unit_ms, uint64_t min_ms, uint64_t max_ms,
                           uint64_t *out_ms, char *err, size_t err_len)
{
    static const char syntax[] = "expected a duration: a number with a unit (300ms, 5s, 1.5s, 2m)";
    const char *p = s;
    uint64_t whole = 0, frac = 0, scale = 1;
    if (*p == '-') {
        snprintf(err, err_len, "negative durations are not allowed");
        return false;
    }
    if (!(*p >= '0' && *p <= '9')) {
        snprintf(err, err_len, "%s", syntax);
        return false;
    }
    for (; *p >= '0' && *p <= '9'; p++) {
        if (whole > (UINT64_MAX / 10) - 9) {
            snprintf(err, err_len, "too long");
            return false;
        }
        whole = whole * 10 + (uint64_t)(*p - '0');
    }
    if (*p == '.') {
        p++;
        if (!(*p >= '0' && *p <= '9')) {
            snprintf(err, err_len, "%s", syntax);
            return false;
        }
        for (; *p >= '0' && *p <= '9'; p++) {
            if (scale >= 1000000000u) {
                snprintf(err, err_len, "too many decimals");
                return false;
            }
            frac = frac * 10 + (uint64_t)(*p - '0');
            scale *= 10;
        }
    }
    uint64_t unit = unit_ms;
    if (strcmp(p, "ms") == 0)
        unit = 1;
    else if (strcmp(p, "s") == 0)
        unit = 1000;
    else if (strcmp(p, "m") == 0 || strcmp(p, "min") == 0)
        unit = 60000;
    else if (*p != '\0') {
        snprintf(err, err_len, "%s", syntax);
        return false;
    }
    char lo[32], hi[32];
    format_ms(min_ms, lo, sizeof(lo));
    format_ms(max_ms, hi, sizeof(hi));
    if (whole > UINT64_MAX / unit || (frac * unit) % scale != 0) {
        if (whole <= UINT64_MAX / unit)
            snprintf(err, err_len, "finer than a millisecond");
        else
            snprintf(err, err_len, "out of range (%s..%s)", lo, hi);
        return false;
    }
    uint64_t ms = whole * unit + frac * unit / scale;
    if (ms < min_ms || ms > max_ms) {
        snprintf(err, err_len, "out of range (%s..%s)", lo, hi);
        return false;
    }
    *out_ms = ms;
    return true;
}

static void synopsis(const td_cli_cmd *cmd, FILE *f)
{
    fprintf(f, "usage: tlsdrill %s%s%s%s\n", cmd->name, cmd->args ? " " : "",
            cmd->args ? cmd->args : "", cmd->num_opts ? " [options]" : "");
}

void td_cli_opt_usage(const td_cli_cmd *cmd, FILE *f)
{
    synopsis(cmd, f);
    if (cmd->about != NULL)
        fprintf(f, "%s\n", cmd->about);
    fprintf(f, "options:\n");
    for (size_t i = 0; i < cmd->num_opts; i++) {
        const td_cli_opt *o = &cmd->opts[i];
        if (o->help == NULL)
            continue;
        char head[96];
        const char *arg = o->arg != NULL                   ? o->arg
                          : o->kind == TD_CLI_OPT_CHOICE   ? o->choices
                          : o->kind == TD_CLI_OPT_DURATION ? "DURATION"
                          : o->kind == TD_CLI_OPT_UINT     ? "N"
                                                           : NULL;
        int n = snprintf(head, sizeof(head), "%s%s%s%s%s%s", o->name, o->alias ? ", " : "",
                         o->alias ? o->alias : "",
                         arg ? (o->kind == TD_CLI_OPT_STR_OPT ? " [" : " ") : "", arg ? arg : "",
                         arg && o->kind == TD_CLI_OPT_STR_OPT ? "]" : "");
        /* Help lines after the first are indented under the first. */
        const char *h = o->help;
        bool first = true;
        while (*h) {
            size_t len = strcspn(h, "\n");
            if (first && n < 24)
                fprintf(f, "  %-24s %.*s\n", head, (int)len, h);
            else if (first)
                fprintf(f, "  %s\n  %-24s %.*s\n", head, "", (int)len, h);
            else
                fprintf(f, "  %-24s %.*s\n", "", (int)len, h);
            first = false;
            h += len + (h[len] == '\n');
        }
    }
    fprintf(f, "  %-24s %s\n", "--help, -h", "this text");
    if (cmd->more != NULL)
        fprintf(f, "%s", cmd->more);
    if (cmd->more_fn != NULL)
        cmd->more_fn(f);
}

int td_cli_usage_error(const td_cli_cmd *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "tlsdrill %s: ", cmd->name);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    synopsis(cmd, stderr);
    fprintf(stderr, "'tlsdrill %s --help' lists the options\n", cmd->name);
    return 2;
}

static const td_cli_opt *find_opt(const td_cli_cmd *cmd, const char *arg, size_t len)
{
    for (size_t i = 0; i < cmd->num_opts; i++) {
        const td_cli_opt *o = &cmd->opts[i];
        if ((strlen(o->name) == len && strncmp(o->name, arg, len) == 0) ||
            (o->alias != NULL && strlen(o->alias) == len && strncmp(o->alias, arg, len) == 0))
            return o;
    }
    return NULL;
}

static bool in_choices(const char *choices, const char *v)
{
    size_t n = strlen(v);
    for (const char *c = choices; *c;) {
        size_t len = strcspn(c, "|");
        if (len == n && strncmp(c, v, n) == 0)
            return true;
        c += len + (c[len] == '|');
    }
    return false;
}

static int set_value(const td_cli_cmd *cmd, const td_cli_opt *o, const char *v, void *dst,
                     const char **args, size_t num_args)
{
    char *field = (char *)dst + o->offset;
    char err[160];
    uint64_t n;
    switch (o->kind) {
    case TD_CLI_OPT_FLAG:
    case TD_CLI_OPT_SET: return TD_CLI_CONTINUE;
    case TD_CLI_OPT_STR:
    case TD_CLI_OPT_STR_OPT: memcpy(field, &v, sizeof(v)); return TD_CLI_CONTINUE;
    case TD_CLI_OPT_CHOICE:
        if (!in_choices(o->choices, v))
            return td_cli_usage_error(cmd, "bad %s '%s': one of %s", o->name, v, o->choices);
        memcpy(field, &v, sizeof(v));
        return TD_CLI_CONTINUE;
    case TD_CLI_OPT_UINT:
        if (!td_cli_parse_u64(v, o->min, o->max, &n, err, sizeof(err)))
            return td_cli_usage_error(cmd, "bad %s '%s': %s", o->name, v, err);
        memcpy(field, &n, sizeof(n));
        return TD_CLI_CONTINUE;
    case TD_CLI_OPT_DURATION:
        if (!td_cli_parse_duration(v, o->unit_ms, o->min, o->max, &n, err, sizeof(err)))
            return td_cli_usage_error(cmd, "bad %s '%s': %s", o->name, v, err);
        memcpy(field, &n, sizeof(n));
        return TD_CLI_CONTINUE;
    case TD_CLI_OPT_STRS: {
        td_cli_strs *l = (td_cli_strs *)(void *)field;
        size_t max = o->max > 0 && o->max < TD_CLI_MAX_STRS ? (size_t)o->max : TD_CLI_MAX_STRS;
        if (o->choices != NULL && !in_choices(o->choices, v))
            return td_cli_usage_error(cmd, "bad %s '%s': one of %s", o->name, v, o->choices);
        if (l->num >= max)
            return td_cli_usage_error(cmd, "%s given more than %zu times", o->name, max);
        l->v[l->num++] = v;
        return TD_CLI_CONTINUE;
    }
    case TD_CLI_OPT_CALL: {
        const char *why = o->call(dst, v, args, num_args);
        return why == NULL ? TD_CLI_CONTINUE
                           : td_cli_usage_error(cmd, "%s %s: %s", o->name, v, why);
    }
    }
    return 2;
}

int td_cli_opt_parse(const td_cli_cmd *cmd, int argc, char **argv, void *dst, const char **out_args,
                     size_t *out_num_args)
{
    size_t num = 0;
    bool options = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!options || a[0] != '-' || a[1] == '\0') { /* "-" is a positional (stdin) */
            if (num == cmd->max_args)
                return td_cli_usage_error(cmd, "unexpected argument '%s'", a);
            out_args[num++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            options = false;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            td_cli_opt_usage(cmd, stdout);
            return 0;
        }
        const char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
        const td_cli_opt *o = find_opt(cmd, a, eq ? (size_t)(eq - a) : strlen(a));
        if (o == NULL)
            return td_cli_usage_error(cmd, "unexpected argument '%s'", a);
        char *field = (char *)dst + o->offset;
        if (o->kind == TD_CLI_OPT_FLAG || o->kind == TD_CLI_OPT_SET) {
            if (eq != NULL)
                return td_cli_usage_error(cmd, "%s takes no value", o->name);
            if (o->kind == TD_CLI_OPT_FLAG)
                *(bool *)(void *)field = true;
            else
                *(int *)(void *)field = o->set;
            continue;
        }
        const char *v = eq ? eq + 1 : NULL;
        if (v == NULL && o->kind == TD_CLI_OPT_STR_OPT) {
            v = i + 1 < argc && argv[i + 1][0] != '-' ? argv[++i] : o->choices;
        } else if (v == NULL) {
            /* The next argument, unless it is another option (a forgotten value);
             * a value that starts with "--" is given as --name=VALUE. */
            if (i + 1 >= argc || (strncmp(argv[i + 1], "--", 2) == 0 && argv[i + 1][2] != '\0'))
                return td_cli_usage_error(cmd, "%s needs a value (%s)", o->name,
                                          o->arg                           ? o->arg
                                          : o->kind == TD_CLI_OPT_CHOICE   ? o->choices
                                          : o->kind == TD_CLI_OPT_DURATION ? "a duration: 300ms, 5s"
                                                                           : "a number");
            v = argv[++i];
        }
        int rc = set_value(cmd, o, v, dst, out_args, num);
        if (rc != TD_CLI_CONTINUE)
            return rc;
    }
    if (num < cmd->min_args)
        return td_cli_usage_error(cmd, "%s required", cmd->args ? cmd->args : "an argument");
    *out_num_args = num;
    return TD_CLI_CONTINUE;
}
