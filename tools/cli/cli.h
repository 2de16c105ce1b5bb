/* tools/cli/cli.h -- subcommands of the tlsdrill CLI. Each takes the
 * arguments after the program name (argv[0] is the command name) and returns
 * the process exit code: 0 success, 1 a failed check, 2 a usage error. */
#ifndef TD_CLI_H
#define TD_CLI_H

#include <stddef.h>

int td_cli_bench(int argc, char **argv);
int td_cli_lint(int argc, char **argv);
int td_cli_rules(int argc, char **argv);
int td_cli_run(int argc, char **argv);
/* The *.scn files under |path| (or |path| itself), sorted; free each and the array. */
int td_cli_scn_files(const char *path, char ***out, size_t *num);
int td_cli_selfcheck(int argc, char **argv);
int td_cli_serve(int argc, char **argv);
int td_cli_connect(int argc, char **argv);
int td_cli_replay(int argc, char **argv);
int td_cli_corpus(int argc, char **argv);

#endif
