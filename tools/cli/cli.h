/* tools/cli/cli.h -- subcommands of the tlsdrill CLI. Each takes the
 * arguments after the program name (argv[0] is the command name) and returns
 * the process exit code: 0 success, 1 a failed check, 2 a usage error. */
#ifndef TD_CLI_H
#define TD_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

int td_cli_bench(int argc, char **argv);
int td_cli_dissect(int argc, char **argv);
int td_cli_lint(int argc, char **argv);
int td_cli_peers(int argc, char **argv);
int td_cli_shim_check(int argc, char **argv);
int td_cli_rules(int argc, char **argv);
int td_cli_run(int argc, char **argv);
/* The *.scn files under |path| (or |path| itself), sorted; free each and the array. */
int td_cli_scn_files(const char *path, char ***out, size_t *num);
int td_cli_selfcheck(int argc, char **argv);
int td_cli_serve(int argc, char **argv);
int td_cli_connect(int argc, char **argv);
int td_cli_replay(int argc, char **argv);
int td_cli_report(int argc, char **argv);
int td_cli_corpus(int argc, char **argv);

/* ---- helpers (util.c) ---- */
/* Reads a whole file (NUL-terminated, owned: free()). NULL on failure. */
char *td_cli_read_file(const char *path, size_t *out_len);
/* Writes |len| bytes to |path|; false on failure. */
bool td_cli_write_file(const char *path, const void *data, size_t len);
/* An output file can be written: its folder exists and is writable, and it
 * is not a folder or a read-only file. Checked before a command starts its
 * work, so a typo does not cost a whole run. NULL is fine. false after
 * "tlsdrill CMD: cannot write PATH: why" on stderr. */
bool td_cli_output_ok(const char *cmd, const char *path);
/* The width tables fit: $COLUMNS when it is a positive number, else the
 * terminal's (TIOCGWINSZ) when |fd| is one, else 0: no terminal, no width
 * to fit (the columns keep their natural widths; a log keeps whole lines). */
int td_cli_term_width(int fd);
/* Fits |n| columns (natural widths |w|, updated in place; one space between
 * them) into |width| terminal columns: too wide, the column with the most
 * room above its |min| gives a character at a time; narrower, the narrowest
 * column below its |max| takes one. |width| 0: |w| unchanged. */
void td_cli_fit_columns(int *w, const int *min, const int *max, size_t n, int width);
/* A piece of a text (not NUL-terminated). */
typedef struct td_cli_span {
    const char *p;
    int len;
} td_cli_span;
/* Splits |text| into lines of at most |width| bytes at spaces (a longer
 * word is cut; |width| 0: one line). Returns the number of lines, at most
 * |cap| (the last one then holds the rest). */
size_t td_cli_wrap(const char *text, int width, td_cli_span *out, size_t cap);
/* Prints |text| (and a newline) starting at column |col| of a line:
 * wrapped at spaces to |width| terminal columns (0, or less than 8
 * columns left: no limit), each further line indented to |col|. */
void td_cli_print_wrapped(FILE *out, const char *text, int col, int width);
/* A capture file name ending in ".pcapng": written as pcapng (with the key
 * log embedded), any other name as classic pcap. */
bool td_cli_is_pcapng(const char *path);
/* "x25519,P-256" -> group ids; false on an unknown name or too many. */
bool td_cli_parse_groups(const char *list, uint16_t *out, size_t cap, size_t *out_num);
/* Splits a comma list in place into |out| (pointers into |list|). */
bool td_cli_split_list(char *list, const char **out, size_t cap, size_t *out_num);

#endif
