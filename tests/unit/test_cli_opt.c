/* tests/unit/test_cli_opt.c -- the CLI's option table (tools/cli/opt.c):
 * numbers (decimal or 0x, no sign, no leading 0, no overflow), durations
 * (one syntax, old bare units), and the table parser (values, --name=VALUE,
 * "--", positional bounds, a forgotten value). */
#include "opt.h"
#include "td_test.h"

static bool u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char err[160];
    return td_cli_parse_u64(s, min, max, out, err, sizeof(err));
}

static bool dur(const char *s, uint64_t unit, uint64_t *out)
{
    char err[160];
    return td_cli_parse_duration(s, unit, 1, 3600000, out, err, sizeof(err));
}

static void test_numbers(void)
{
    uint64_t v = 0;
    TD_EXPECT(u64("0", 0, UINT64_MAX, &v) && v == 0);
    TD_EXPECT(u64("42", 0, UINT64_MAX, &v) && v == 42);
    TD_EXPECT(u64("0x2A", 0, UINT64_MAX, &v) && v == 42);
    TD_EXPECT(u64("18446744073709551615", 0, UINT64_MAX, &v) && v == UINT64_MAX);
    TD_EXPECT(u64("0xffffffffffffffff", 0, UINT64_MAX, &v) && v == UINT64_MAX);
    v = 7;
    const char *bad[] = {"-1",
                         "+1",
                         "",
                         "010",
                         "09",
                         "0x",
                         "1e3",
                         "12a",
                         " 1",
                         "1 ",
                         "18446744073709551616",
                         "99999999999999999999999",
                         "0x10000000000000000"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        TD_EXPECT(!u64(bad[i], 0, UINT64_MAX, &v));
    TD_EXPECT_EQ(v, 7); /* untouched on failure */
    TD_EXPECT(!u64("65536", 0, 65535, &v));
    TD_EXPECT(!u64("0", 1, 10, &v));
    char err[160];
    TD_EXPECT(!td_cli_parse_u64("-1", 0, 9, &v, err, sizeof(err)));
    TD_EXPECT(strstr(err, "negative") != NULL);
    TD_EXPECT(!td_cli_parse_u64("010", 0, 99, &v, err, sizeof(err)));
    TD_EXPECT(strstr(err, "leading 0") != NULL);
    TD_EXPECT(!td_cli_parse_u64("99999999999999999999999", 0, UINT64_MAX, &v, err, sizeof(err)));
    TD_EXPECT(strstr(err, "out of range (0..18446744073709551615)") != NULL);
}

static void test_durations(void)
{
    uint64_t ms = 0;
    TD_EXPECT(dur("300ms", 1000, &ms) && ms == 300);
    TD_EXPECT(dur("5s", 1, &ms) && ms == 5000);
    TD_EXPECT(dur("1.5s", 1, &ms) && ms == 1500);
    TD_EXPECT(dur("2m", 1, &ms) && ms == 120000);
    TD_EXPECT(dur("0.001s", 1, &ms) && ms == 1);
    /* A bare number counts the option's own unit (old spellings). */
    TD_EXPECT(dur("3000", 1, &ms) && ms == 3000);
    TD_EXPECT(dur("5", 1000, &ms) && ms == 5000);
    TD_EXPECT(dur("0.5", 1000, &ms) && ms == 500);
    const char *bad[] = {"",    "s",       "-1s", "5 s", "5sec", "1.s",
                         ".5s", "0.0001s", "0.5", "0ms", "2h",   "99999999999999999999s",
                         "61m"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t unit = strcmp(bad[i], "0.5") == 0 ? 1 : 1000;
        TD_EXPECT(!dur(bad[i], unit, &ms));
    }
}

typedef struct opts {
    const char *name, *mode, *cov;
    bool flag;
    int level;
    uint64_t n, wait_ms;
} opts;

static const td_cli_opt table[] = {
    {.name = "--name",
     .kind = TD_CLI_OPT_STR,
     .offset = offsetof(opts, name),
     .arg = "X",
     .help = "a"},
    {.name = "--mode",
     .kind = TD_CLI_OPT_CHOICE,
     .offset = offsetof(opts, mode),
     .choices = "a|bb",
     .help = "b"},
    {.name = "--cov",
     .kind = TD_CLI_OPT_STR_OPT,
     .offset = offsetof(opts, cov),
     .choices = "dflt",
     .help = "c"},
    {.name = "--flag",
     .alias = "-f",
     .kind = TD_CLI_OPT_FLAG,
     .offset = offsetof(opts, flag),
     .help = "d"},
    {.name = "--high",
     .kind = TD_CLI_OPT_SET,
     .offset = offsetof(opts, level),
     .set = 2,
     .help = "e"},
    {.name = "--n", .kind = TD_CLI_OPT_UINT, .offset = offsetof(opts, n), .max = 100, .help = "f"},
    {.name = "--wait",
     .kind = TD_CLI_OPT_DURATION,
     .offset = offsetof(opts, wait_ms),
     .min = 1,
     .max = 60000,
     .unit_ms = 1000,
     .help = "g"},
    {.name = "--wait-ms",
     .kind = TD_CLI_OPT_DURATION,
     .offset = offsetof(opts, wait_ms),
     .min = 1,
     .max = 60000,
     .unit_ms = 1},
};

static const td_cli_cmd cmd = {.name = "t",
                               .args = "A [B]",
                               .min_args = 1,
                               .max_args = 2,
                               .opts = table,
                               .num_opts = sizeof(table) / sizeof(table[0])};

static int parse(opts *o, const char **args, size_t *num, int argc, const char **argv)
{
    memset(o, 0, sizeof(*o));
    return td_cli_opt_parse(&cmd, argc, (char **)argv, o, args, num);
}

static void test_table(void)
{
    opts o;
    const char *args[8];
    size_t num = 0;
    const char *ok[] = {"t", "x",   "--name", "N",      "--mode=bb", "-f",   "--high",
                        "y", "--n", "0x10",   "--wait", "2",         "--cov"};
    TD_EXPECT_EQ(parse(&o, args, &num, 13, ok), TD_CLI_CONTINUE);
    TD_EXPECT(num == 2 && strcmp(args[0], "x") == 0 && strcmp(args[1], "y") == 0);
    TD_EXPECT(strcmp(o.name, "N") == 0 && strcmp(o.mode, "bb") == 0 && o.flag && o.level == 2);
    TD_EXPECT(o.n == 16 && o.wait_ms == 2000 && strcmp(o.cov, "dflt") == 0);
    const char *old[] = {"t", "x", "--wait-ms", "250", "--cov", "dir", "--", "--name"};
    TD_EXPECT_EQ(parse(&o, args, &num, 8, old), TD_CLI_CONTINUE);
    TD_EXPECT(o.wait_ms == 250 && strcmp(o.cov, "dir") == 0 && o.name == NULL);
    TD_EXPECT(num == 2 && strcmp(args[1], "--name") == 0);
    /* Usage errors (exit 2); the messages go to stderr. */
    const char *bad[][4] = {
        {"t", "x", "--bogus", NULL}, {"t", "x", "--n", "-1"},        {"t", "x", "--n", "101"},
        {"t", "x", "--mode", "c"},   {"t", "x", "--name", "--flag"}, {"t", "x", "--name", NULL},
        {"t", "x", "y", "z"},        {"t", "--flag", NULL, NULL},    {"t", "x", "--flag=1", NULL},
        {"t", "x", "--wait", "0"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int argc = 0;
        while (argc < 4 && bad[i][argc] != NULL)
            argc++;
        TD_EXPECT_EQ(parse(&o, args, &num, argc, bad[i]), 2);
    }
}

/* TD_CLI_OPT_CALL: the value in command-line order, with the positional
 * arguments before it (report's --capture after its RUN.json). */
typedef struct attach_opts {
    const char *after[4]; /* the value given after each positional argument */
    size_t calls;
} attach_opts;

static const char *attach(void *dst, const char *v, const char *const *args, size_t num_args)
{
    attach_opts *o = dst;
    o->calls++;
    if (num_args == 0)
        return "give it after a file";
    if (strcmp(v, "bad") == 0)
        return "refused";
    o->after[num_args - 1] = v;
    (void)args;
    return NULL;
}

static const td_cli_opt attach_table[] = {
    {.name = "--to", .kind = TD_CLI_OPT_CALL, .call = attach, .arg = "V", .help = "h"},
};

static const td_cli_cmd attach_cmd = {
    .name = "a", .args = "[F]...", .max_args = 4, .opts = attach_table, .num_opts = 1};

static void test_call(void)
{
    attach_opts o = {0};
    const char *args[8];
    size_t num = 0;
    const char *ok[] = {"a", "f1", "--to", "x", "f2", "f3", "--to=y"};
    TD_EXPECT_EQ(td_cli_opt_parse(&attach_cmd, 7, (char **)ok, &o, args, &num), TD_CLI_CONTINUE);
    TD_EXPECT(num == 3 && o.calls == 2 && strcmp(o.after[0], "x") == 0 && o.after[1] == NULL &&
              strcmp(o.after[2], "y") == 0);
    const char *before[] = {"a", "--to", "x", "f1"};
    memset(&o, 0, sizeof(o));
    TD_EXPECT_EQ(td_cli_opt_parse(&attach_cmd, 4, (char **)before, &o, args, &num), 2);
    const char *refused[] = {"a", "f1", "--to", "bad"};
    TD_EXPECT_EQ(td_cli_opt_parse(&attach_cmd, 4, (char **)refused, &o, args, &num), 2);
    const char *missing[] = {"a", "f1", "--to"};
    TD_EXPECT_EQ(td_cli_opt_parse(&attach_cmd, 3, (char **)missing, &o, args, &num), 2);
}

int main(void)
{
    TD_RUN(test_numbers);
    TD_RUN(test_durations);
    TD_RUN(test_table);
    TD_RUN(test_call);
    return td_test_report("test_cli_opt");
}
