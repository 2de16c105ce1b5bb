/* tools/cli/cmd_peers.c -- `tlsdrill peers`: the peer registry
 * (tlsdrill/peers.h): every kind of system under test `run --peer` takes,
 * with the version of what is behind it. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
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

static int usage(FILE *f, int rc)
{
    fprintf(f, "usage: tlsdrill peers [--json] | tlsdrill peers --version SPEC\n"
               "  lists the kinds of peer `tlsdrill run --peer SPEC` takes, with versions\n"
               "  --json: the same as a JSON list ({prefix, usage, version, help})\n"
               "  --version SPEC: the version of the SUT behind SPEC (an exec: shim answers\n"
               "    TD_ROLE=version); exit 1 if it cannot be known, 2 for an unknown SPEC\n");
    return rc;
}

int td_cli_peers(int argc, char **argv)
{
    bool json = false;
    const char *spec = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0)
            return usage(stdout, 0);
        else if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "--version") == 0 && i + 1 < argc)
            spec = argv[++i];
        else {
            fprintf(stderr, "tlsdrill peers: unexpected argument '%s'\n", argv[i]);
            return usage(stderr, 2);
        }
    }
    char ver[256];
    if (spec != NULL) {
        const td_peer_kind *k = td_peer_find(spec);
        if (k == NULL) {
            fprintf(stderr, "tlsdrill peers: unknown peer '%s'\n", spec);
            return 2;
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
