/* tools/cli/cmd_peers.c -- `tlsdrill peers`: the peer registry
 * (tlsdrill/peers.h): every kind of system under test `run --peer` takes,
 * with the version of what is behind it. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "opt.h"
#include "tlsdrill/peers.h"

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

typedef struct peers_opts {
    const char *version;
    bool json;
} peers_opts;

static const td_cli_opt peers_opts_table[] = {
    {.name = "--json",
     .kind = TD_CLI_OPT_FLAG,
     .offset = offsetof(peers_opts, json),
     .help = "the same as a JSON list ({prefix, usage, version, help})"},
    {.name = "--version",
     .kind = TD_CLI_OPT_STR,
     .offset = offsetof(peers_opts, version),
     .arg = "SPEC",
     .help = "the version of the SUT behind SPEC (an exec: shim answers TD_ROLE=version);\n"
             "exit 1 if it cannot be known, 2 for an unknown SPEC"},
};

static const td_cli_cmd peers_cmd = {
    .name = "peers",
    .about = "Lists the kinds of peer `tlsdrill run --peer SPEC` takes, with versions.",
    .opts = peers_opts_table,
    .num_opts = sizeof(peers_opts_table) / sizeof(peers_opts_table[0]),
};

int td_cli_peers(int argc, char **argv)
{
    peers_opts o = {0};
    const char *args[1];
    size_t num_args;
    int rc = td_cli_opt_parse(&peers_cmd, argc, argv, &o, args, &num_args);
    if (rc != TD_CLI_CONTINUE)
        return rc;
    bool json = o.json;
    const char *spec = o.version;
    char ver[256];
    if (spec != NULL) {
        const td_peer_kind *k = td_peer_find(spec);
        if (k == NULL) {
            return td_cli_usage_error(&peers_cmd, "unknown peer '%s'", spec);
        }
        if (k->version == NULL || !k->version(spec, ver, sizeof(ver))) {
            fprintf(stderr, "tlsdrill peers: the version behind %s cannot be known\n", spec);
            return 1;
        }
        printf("%s\n", ver);
        return 0;
    }
    size_t n = 0;
    const td_peer_kind *kinds = td_peer_kinds(&n);
    if (json)
        printf("[");
    else
        printf("%-20s %-32s %s\n", "PEER", "VERSION", "WHAT");
    for (size_t i = 0; i < n; i++) {
        const td_peer_kind *k = &kinds[i];
        /* Only peers that need no argument have a version to show here. */
        bool arg = k->prefix[strlen(k->prefix) - 1] == ':';
        bool known = !arg && k->version != NULL && k->version(k->prefix, ver, sizeof(ver));
        if (json) {
            printf("%s\n  {\"prefix\": ", i ? "," : "");
            json_str(k->prefix);
            printf(", \"usage\": ");
            json_str(k->usage);
            printf(", \"version\": ");
            if (known)
                json_str(ver);
            else
                printf("null");
            printf(", \"help\": ");
            json_str(k->help);
            printf("}");
        } else {
            printf("%-20s %-32s %s\n", k->usage, known ? ver : arg ? "(per spec)" : "-", k->help);
        }
    }
    if (json)
        printf("\n]\n");
    return 0;
}
