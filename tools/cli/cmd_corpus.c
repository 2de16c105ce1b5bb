/* tools/cli/cmd_corpus.c -- `tlsdrill corpus [--out DIR] [TARGET...]`:
 * regenerates the seed corpora corpus/<target>/ of the fuzz targets from
 * engine pair handshakes (fuzz/corpus.c), deterministically: the files of
 * each target directory are replaced by the generated ones. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "fuzz.h"

static int mkdirs(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == 0) {
            char c = buf[i];
            buf[i] = 0;
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return -1;
            buf[i] = c;
        }
    }
    return 0;
}

/* Removes the regular files of |dir| (the previous generation). */
static void clear_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (e->d_name[0] != '.' && stat(path, &st) == 0 && S_ISREG(st.st_mode))
            remove(path);
    }
    closedir(d);
}

typedef struct writer {
    const char *dir;
    size_t files, bytes;
} writer;

static td_err write_one(void *arg, const char *name, const uint8_t *data, size_t len)
{
    writer *w = arg;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", w->dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len) {
        fprintf(stderr, "tlsdrill corpus: cannot write %s\n", path);
        if (f != NULL)
            fclose(f);
        return TD_ERR_IO;
    }
    fclose(f);
    w->files++;
    w->bytes += len;
    return TD_OK;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: tlsdrill corpus [--out DIR] [TARGET...]\n"
               "  regenerates DIR/<target>/ (default DIR: corpus) for each TARGET\n"
               "  (default: every target of the fuzz registry)\n");
}

int td_cli_corpus(int argc, char **argv)
{
    const char *out = "corpus";
    const char *names[64];
    size_t num_names = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
            out = argv[++i];
        } else if (argv[i][0] == '-' || num_names == 64) {
            usage(stderr);
            return 2;
        } else {
            if (td_fz_target_find(argv[i]) == NULL) {
                fprintf(stderr, "tlsdrill corpus: unknown target '%s'\n", argv[i]);
                return 2;
            }
            names[num_names++] = argv[i];
        }
    }
    size_t nt;
    const td_fz_target *all = td_fz_targets(&nt);
    if (num_names == 0)
        for (size_t i = 0; i < nt && i < 64; i++)
            names[num_names++] = all[i].name;
    td_fz_ctx *ctx = NULL;
    if (td_fz_ctx_new(&ctx) != TD_OK) {
        fprintf(stderr, "tlsdrill corpus: cannot set up the fuzz context\n");
        return 1;
    }
    int rc = 0;
    for (size_t i = 0; i < num_names && rc == 0; i++) {
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s/%s", out, names[i]);
        if (mkdirs(dir) != 0) {
            fprintf(stderr, "tlsdrill corpus: cannot create %s\n", dir);
            rc = 1;
            break;
        }
        clear_dir(dir);
        writer w = {dir, 0, 0};
        if (td_fz_corpus(ctx, td_fz_target_find(names[i]), write_one, &w) != TD_OK)
            rc = 1;
        printf("%-24s %3zu files %7zu bytes -> %s\n", names[i], w.files, w.bytes, dir);
    }
    td_fz_ctx_free(ctx);
    return rc;
}
