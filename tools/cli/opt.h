/* tools/cli/opt.h -- the option table of every tlsdrill command: one
 * td_cli_cmd per command lists its options (name, kind, where the value
 * goes, range, help); td_cli_opt_parse parses, validates and prints usage
 * from it, so a command has no hand-written argument loop.
 *
 * Values:
 * - numbers (TD_CLI_OPT_UINT): decimal or 0x hex, nothing else: no sign, no
 *   leading 0 (010 is refused rather than read as octal 8 or decimal 10), no
 *   overflow, within [min, max];
 * - durations (TD_CLI_OPT_DURATION): one syntax for every command, a number
 *   with a unit: 300ms, 5s, 1.5s, 2m; a bare number is the option's own unit
 *   (unit_ms: milliseconds for the old --*-ms spellings, seconds otherwise),
 *   so old command lines keep working; stored in milliseconds.
 * Every value option also takes --name=VALUE; "--" ends the options. */
#ifndef TD_CLI_OPT_H
#define TD_CLI_OPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum td_cli_opt_kind {
    TD_CLI_OPT_FLAG,     /* bool: set to true */
    TD_CLI_OPT_SET,      /* int: set to .set (e.g. --strict 0 / --lenient 1) */
    TD_CLI_OPT_STR,      /* const char *: the value */
    TD_CLI_OPT_STR_OPT,  /* const char *: the next argument unless it starts with '-', else .choices
                          */
    TD_CLI_OPT_CHOICE,   /* const char *: one of .choices ("a|b|c") */
    TD_CLI_OPT_UINT,     /* uint64_t: a number in [min, max] */
    TD_CLI_OPT_DURATION, /* uint64_t milliseconds in [min, max] */
    TD_CLI_OPT_STRS,     /* td_cli_strs: repeatable, each value appended (one of .choices if
                          * set; at most .max times, TD_CLI_MAX_STRS) */
    TD_CLI_OPT_CALL,     /* .call takes the value, in command-line order, with the positional
                          * arguments before it (for values that belong to the argument they
                          * follow, e.g. report's --capture after its RUN.json) */
} td_cli_opt_kind;

#define TD_CLI_MAX_STRS 16
/* The values of a repeatable option, in command-line order (views of argv). */
typedef struct td_cli_strs {
    const char *v[TD_CLI_MAX_STRS];
    size_t num;
} td_cli_strs;

typedef struct td_cli_opt {
    const char *name;  /* "--seed" */
    const char *alias; /* another spelling ("-q"), or NULL */
    td_cli_opt_kind kind;
    size_t offset;       /* of the field in the command's options struct */
    const char *arg;     /* the value's name in the usage ("N", "FILE"), NULL for flags */
    const char *help;    /* one line or more; NULL: not shown (old spellings, test-only) */
    uint64_t min, max;   /* UINT, DURATION (milliseconds) */
    uint64_t unit_ms;    /* DURATION: what a bare number counts (1: ms, 1000: s) */
    const char *choices; /* CHOICE: "a|b|c"; STR_OPT: the value without one */
    int set;             /* SET */
    /* CALL: |dst| as given to td_cli_opt_parse, the value, and the positional
     * arguments so far (|args|[0..num_args-1], views of argv). Returns NULL,
     * or why the value is refused (a usage error: "NAME VALUE: why"). */
    const char *(*call)(void *dst, const char *value, const char *const *args, size_t num_args);
} td_cli_opt;

typedef struct td_cli_cmd {
    const char *name;  /* "run" */
    const char *args;  /* the positional arguments in the synopsis ("[FILE|DIR...]"), or NULL */
    size_t min_args;   /* positional arguments: at least */
    size_t max_args;   /* and at most (SIZE_MAX: any) */
    const char *about; /* what the command does (after the synopsis) */
    const char *more;  /* printed after the options, or NULL */
    void (*more_fn)(FILE *f); /* printed after |more| (lists known only at run time), or NULL */
    const td_cli_opt *opts;
    size_t num_opts;
} td_cli_cmd;

#define TD_CLI_CONTINUE (-1)

/* Rows shared by the commands that play connections on the network (serve, connect), for
 * an options struct |type| with the fields seed, pcap_path and keylog_path (const char *):
 * --seed, --pcap, --keylog. */
/* clang-format off */
#define TD_CLI_OPTS_SEED_CAPTURE(type)                                                     \
    {.name = "--seed", .kind = TD_CLI_OPT_STR, .offset = offsetof(type, seed),             \
     .arg = "TEXT", .help = "fixes every random value (default: random)"},                 \
    {.name = "--pcap", .kind = TD_CLI_OPT_STR, .offset = offsetof(type, pcap_path),        \
     .arg = "FILE",                                                                        \
     .help = "every connection as a TCP stream of one capture; a FILE ending in\n"         \
             ".pcapng embeds the key log (Wireshark decrypts the file alone)"},            \
    {.name = "--keylog", .kind = TD_CLI_OPT_STR, .offset = offsetof(type, keylog_path),    \
     .arg = "FILE", .help = "the NSS key log that decrypts it"}

/* A DURATION row (uint64_t milliseconds at |field| of |type|): a bare number is seconds,
 * from 1 ms to 100000 s. */
#define TD_CLI_OPT_SECONDS(opt, type, field, text)                                         \
    {.name = opt, .kind = TD_CLI_OPT_DURATION, .offset = offsetof(type, field), .min = 1,  \
     .max = 100000000, .unit_ms = 1000, .help = text}
/* clang-format on */

/* Parses argv[1..argc-1] into |dst| (the struct the offsets point into) and
 * the positional arguments, in order, into |out_args| (room for argc
 * pointers, or max_args; they point into argv). Returns TD_CLI_CONTINUE to go on, 0 after
 * --help/-h (the usage on stdout), 2 after a usage error (one line naming
 * the option and what is wrong, then the synopsis, on stderr). */
int td_cli_opt_parse(const td_cli_cmd *cmd, int argc, char **argv, void *dst, const char **out_args,
                     size_t *out_num_args);

/* The whole usage (synopsis, about, one line per option, more). */
void td_cli_opt_usage(const td_cli_cmd *cmd, FILE *f);

/* "tlsdrill CMD: <message>" and the synopsis on stderr; returns 2. */
int td_cli_usage_error(const td_cli_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The value parsers (for options and for values inside other arguments).
 * On failure |err| says why (no option name) and false is returned. */
bool td_cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *err,
                      size_t err_len);
bool td_cli_parse_duration(const char *s, uint64_t unit_ms, uint64_t min_ms, uint64_t max_ms,
                           uint64_t *out_ms, char *err, size_t err_len);

#endif
