/* tools/cli/main.c -- the tlsdrill command line: dispatch to subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"rules", td_cli_rules, "list the rule catalogue (RFC 8446 abort and tolerance rules)"},
    {"bench", td_cli_bench, "handshakes/s: engine pair vs libssl pair vs the crypto floor"},
    {"lint", td_cli_lint, "check scenario files (*.scn) and print diagnostics"},
    {"run", td_cli_run, "run scenario cases against a peer and judge every alert"},
    {"shim-check", td_cli_shim_check, "check an exec: shim against the shim contract (tools/peers/README.md)"},
    {"peers", td_cli_peers, "the kinds of peer (system under test) run --peer takes, with versions"},
    {"dissect", td_cli_dissect, "a capture as a decoded TLS tree, decrypted with a key log"},
    {"selfcheck", td_cli_selfcheck, "replay the RFC 8448 traces through the key schedule and record layer"},
    {"serve", td_cli_serve, "the engine as a TLS 1.3 server on 127.0.0.1 (for s_client, gnutls-cli)"},
    {"replay", td_cli_replay, "replay fuzz inputs (no fuzzing engine): records, messages, alert, oracle verdict"},
    {"corpus", td_cli_corpus, "regenerate the fuzz seed corpora corpus/<target>/ deterministically"},
    {"report", td_cli_report, "run reports, captures and fuzz campaigns as one self-contained HTML file"},
    {"connect", td_cli_connect, "the engine as a TLS 1.3 client: negotiated parameters and transcript"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: tlsdrill <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n'tlsdrill <command> --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("tlsdrill %s\n", TD_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "tlsdrill: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
