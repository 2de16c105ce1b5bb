/* tools/cli/util.c -- small helpers shared by the CLI commands (cli.h):
 * whole-file read/write, comma lists, table widths from the terminal. */
#define _DEFAULT_SOURCE /* TIOCGWINSZ, strtok_r under -std=c11 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "tlsdrill/crypto.h"
#include "tlsdrill/file.h"

char *td_cli_read_file(const char *path, size_t *out_len)
{
    uint8_t *buf;
    return td_file_read(path, 0, &buf, out_len) == TD_OK ? (char *)buf : NULL;
}

bool td_cli_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return false;
    bool ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

int td_cli_term_width(int fd)
{
    const char *env = getenv("COLUMNS");
    if (env != NULL && *env != '\0') {
        char *end;
        long v = strtol(env, &end, 10);
        if (*end == '\0' && v > 0 && v < 100000)
            return (int)v;
    }
    struct winsize ws;
    if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 0;
}

void td_cli_fit_columns(int *w, const int *min, const int *max, size_t n, int width)
{
    if (width <= 0 || n == 0)
        return;
    int total = (int)n - 1; /* the spaces between columns */
    for (size_t i = 0; i < n; i++)
        total += w[i];
    /* The last column of a line is left a space, so a full-width line does not wrap. */
    int room = width - 1;
    while (total > room) {
        size_t best = n;
        for (size_t i = 0; i < n; i++)
            if (w[i] > min[i] && (best == n || w[i] - min[i] > w[best] - min[best]))
                best = i;
        if (best == n)
            return; /* every column at its minimum: the line is wider than the terminal */
        w[best]--;
        total--;
    }
    while (total < room) {
        size_t best = n;
        for (size_t i = 0; i < n; i++)
            if (w[i] < max[i] && (best == n || w[i] < w[best]))
                best = i;
        if (best == n)
            return;
        w[best]++;
        total++;
    }
}

size_t td_cli_wrap(const char *text, int width, td_cli_span *out, size_t cap)
{
    size_t n = 0;
    const char *p = text;
    while (n + 1 < cap && width > 0 && (int)strlen(p) > width) {
        int cut = width;
        while (cut > 0 && p[cut] != ' ')
            cut--;
        if (cut == 0) /* one word longer than the line: cut it at the edge */
            cut = width;
        out[n++] = (td_cli_span){p, cut};
        p += cut;
        while (*p == ' ')
            p++;
    }
    if (n < cap)
        out[n++] = (td_cli_span){p, (int)strlen(p)};
    return n;
}

void td_cli_print_wrapped(FILE *out, const char *text, int col, int width)
{
    td_cli_span lines[64];
    size_t n =
        td_cli_wrap(text, width > 0 && width - 1 - col >= 8 ? width - 1 - col : 0, lines, 64);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%*s%.*s\n", i ? col : 0, "", lines[i].len, lines[i].p);
}

bool td_cli_is_pcapng(const char *path)
{
    size_t n = path != NULL ? strlen(path) : 0;
    return n > 7 && strcmp(path + n - 7, ".pcapng") == 0;
}

bool td_cli_output_ok(const char *cmd, const char *path)
{
    if (path == NULL || strcmp(path, "-") == 0)
        return true;
    struct stat st;
    const char *why = NULL;
    if (*path == '\0') {
        why = "empty file name";
    } else if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            why = "it is a directory";
        else if (access(path, W_OK) != 0)
            why = strerror(errno);
    } else {
        char dir[4096];
        const char *slash = strrchr(path, '/');
        size_t n = slash == NULL ? 1 : slash == path ? 1 : (size_t)(slash - path);
        if (n >= sizeof(dir)) {
            why = "path too long";
        } else {
            memcpy(dir, slash == NULL ? "." : path, n);
            dir[n] = '\0';
            if (stat(dir, &st) != 0)
                why = errno == ENOENT ? "no such directory" : strerror(errno);
            else if (!S_ISDIR(st.st_mode))
                why = "not a directory";
            else if (access(dir, W_OK | X_OK) != 0)
                why = strerror(errno);
        }
    }
    if (why != NULL)
        fprintf(stderr, "tlsdrill %s: cannot write %s: %s\n", cmd, path, why);
    return why == NULL;
}

bool td_cli_split_list(char *list, const char **out, size_t cap, size_t *out_num)
{
    *out_num = 0;
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        if (*out_num == cap)
            return false;
        out[(*out_num)++] = tok;
    }
    return *out_num > 0;
}

bool td_cli_parse_groups(const char *list, uint16_t *out, size_t cap, size_t *out_num)
{
    static const struct {
        const char *name;
        uint16_t id;
    } names[] = {{"x25519", TD_GROUP_X25519},   {"X25519", TD_GROUP_X25519},
                 {"P-256", TD_GROUP_SECP256R1}, {"secp256r1", TD_GROUP_SECP256R1},
                 {"P-384", TD_GROUP_SECP384R1}, {"secp384r1", TD_GROUP_SECP384R1},
                 {"P-521", TD_GROUP_SECP521R1}, {"secp521r1", TD_GROUP_SECP521R1},
                 {"x448", TD_GROUP_X448},       {"X448", TD_GROUP_X448},
                 {"ffdhe2048", TD_GROUP_FFDHE2048}, {"ffdhe3072", TD_GROUP_FFDHE3072},
                 {"ffdhe4096", TD_GROUP_FFDHE4096}};
    char copy[256];
    if (strlen(list) >= sizeof(copy))
        return false;
    strcpy(copy, list);
    const char *toks[16];
    size_t n;
    if (!td_cli_split_list(copy, toks, 16, &n) || n > cap)
        return false;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < sizeof(names) / sizeof(names[0]) && strcmp(names[j].name, toks[i]) != 0)
            j++;
        if (j == sizeof(names) / sizeof(names[0]) || !td_group_supported(names[j].id))
            return false;
        out[i] = names[j].id;
    }
    *out_num = n;
    return true;
}
