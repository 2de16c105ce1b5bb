/* tools/cli/cli.h -- subcommands of the tlsdrill CLI. Each takes the
 * arguments after the program name (argv[0] is the command name) and returns
 * the process exit code: 0 success, 1 a failed check, 2 a usage error. */
#ifndef TD_CLI_H
#define TD_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
/* A capture file name ending in ".pcapng": written as pcapng (with the key
 * log embedded), any other name as classic pcap. */
bool td_cli_is_pcapng(const char *path);
/* "x25519,P-256" -> group ids; false on an unknown name or too many. */
bool td_cli_parse_groups(const char *list, uint16_t *out, size_t cap, size_t *out_num);
/* Splits a comma list in place into |out| (pointers into |list|). */
bool td_cli_split_list(char *list, const char **out, size_t cap, size_t *out_num);

#endif
