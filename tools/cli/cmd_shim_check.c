/* tools/cli/cmd_shim_check.c -- `tlsdrill shim-check exec:CMD`: a short
 * contract suite for an exec: shim (tools/peers/README.md). Each case
 * passes only if the shim honoured one part of the contract (a variable,
 * exit 89, the ports, resumption, the key log); the output names every
 * part it got wrong. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "opt.h"
#include "tlsdrill/peers.h"
#include "tlsdrill/scenario.h"

/* What each case checks; its name is the index into k_checks. A case
 * about a setting that makes the SUT refuse expects only that it refuses
 * (`expect closed`: any alert, or a close), not which alert: the alert is
 * the SUT's conformance, judged by the suites, not the shim's. */
static const char k_contract[] =
    "scenario c0\nsut server\nexpect handshake\n"
    "scenario c1\nsut client\nexpect handshake\n"
    "scenario c2\nsut server\nserver suites TLS_AES_256_GCM_SHA384\n"
    "client suites TLS_AES_128_GCM_SHA256\nexpect closed\n"
    "scenario c3\nsut client\nclient suites TLS_AES_256_GCM_SHA384\n"
    "server suites TLS_AES_128_GCM_SHA256\nexpect closed\n"
    "scenario c4\nsut server\nserver groups secp384r1\nclient groups x25519\n"
    "expect closed\n"
    "scenario c5\nsut server\nserver alpn h2\nclient alpn tlsdrill-x\nexpect closed\n"
    "scenario c6\nsut server\nserver sni other.example\nexpect closed\n"
    "scenario c7\nsut server\nserver client-auth require\nexpect closed\n"
    "scenario c8\nsut server\nresume ticket\nexpect resumed\n"
    "scenario c9\nsut client\nresume ticket\nexpect resumed\n"
    "scenario c10\nsut server\nclient psk 636c69656e742d31 00*32\n"
    "server psk 636c69656e742d31 00*32\nexpect resumed\n"
    "scenario c11\nsut client\nclient psk 636c69656e742d31 00*32\n"
    "server psk 636c69656e742d31 00*32\nexpect resumed\n"
    "scenario c12\nsut server\nserver suites 0x13fe\nexpect handshake\n";

static const struct {
    const char *what;
    bool want_unsupported; /* the case must be declined (exit 89) */
} k_checks[] = {
    {"server: listens on 127.0.0.1:TD_PORT with TD_CERT/TD_KEY; a plain handshake", false},
    {"client: connects to TD_HOST:TD_PORT, trusts TD_CA, verifies TD_VERIFY_NAME (not TD_SNI)",
     false},
    {"server: TD_SUITES restricts the suites it selects", false},
    {"client: TD_SUITES restricts the suites it offers", false},
    {"server: TD_GROUPS restricts the groups it accepts", false},
    {"server: TD_ALPN (no protocol in common: refused)", false},
    {"server: TD_SNI binds the certificate to that name (another name: refused)", false},
    {"server: TD_CLIENT_AUTH=require refuses a client without a certificate", false},
    {"server: TD_TICKETS, and one process serves the resumption", false},
    {"client: TD_RESUME=first/second + TD_SESSION (or resumption in one process)", false},
    {"server: an external PSK (TD_PSK_IDENTITY/TD_PSK_KEY/TD_PSK_SUITE)", false},
    {"client: an external PSK offered (TD_PSK_*, not TD_RESUME)", false},
    {"exit 89 with a reason for a premise it cannot honour (TD_SUITES=0x13fe)", true},
};

typedef struct shim_check_opts {
    uint64_t timeout_ms, startup_ms;
} shim_check_opts;

static const td_cli_opt shim_check_opts_table[] = {
    {.name = "--timeout",
     .kind = TD_CLI_OPT_DURATION,
     .offset = offsetof(shim_check_opts, timeout_ms),
     .arg = "T",
     .help = "how long to wait for the shim to connect or answer (300ms, 5s; a bare\n"
             "number is seconds; default 3s, each check at most 5 times that)",
     .min = 1,
     .max = 600000,
     .unit_ms = 1000},
    {.name = "--startup-timeout",
     .kind = TD_CLI_OPT_DURATION,
     .offset = offsetof(shim_check_opts, startup_ms),
     .arg = "T",
     .help = "how long the shim may take to start (listen, or connect), apart\n"
             "from --timeout (default 10s)",
     .min = 1,
     .max = 600000,
     .unit_ms = 1000},
};

static const td_cli_cmd shim_check_cmd = {
    .name = "shim-check",
    .args = "exec:CMD",
    .min_args = 1,
    .max_args = 1,
    .about = "Plays a short contract suite against an exec: shim (tools/peers/README.md)\n"
             "and names every part of the contract it does not honour; exit 0 = all.",
    .opts = shim_check_opts_table,
    .num_opts = sizeof(shim_check_opts_table) / sizeof(shim_check_opts_table[0]),
};

int td_cli_shim_check(int argc, char **argv)
{
    shim_check_opts o = {.timeout_ms = 3000};
    const char *args[1];
    size_t num_args;
    int prc = td_cli_opt_parse(&shim_check_cmd, argc, argv, &o, args, &num_args);
    if (prc != TD_CLI_CONTINUE)
        return prc;
    const char *spec = args[0];
    if (strncmp(spec, "exec:", 5) != 0)
        return td_cli_usage_error(&shim_check_cmd, "'%s' is not an exec: peer (exec:CMD)", spec);
    unsigned timeout_ms = (unsigned)o.timeout_ms;
    td_scn_diags diags = {0};
    td_scn_file *file = NULL;
    td_crypto *crypto = NULL;
    td_scn_runner *runner = NULL;
    td_scn_peer peer = {0};
    const td_peer_kind *kind = NULL;
    int rc = 2;
    char why[512] = "";
    if (td_scn_parse("shim-contract", k_contract, sizeof(k_contract) - 1, &file, &diags) != TD_OK ||
        diags.num != 0 || file->num_cases != sizeof(k_checks) / sizeof(k_checks[0])) {
        td_scn_diags_print(&diags, stderr);
        fprintf(stderr, "tlsdrill shim-check: the built-in contract suite does not parse\n");
        goto out;
    }
    td_peer_opts po = {.connect_ms = timeout_ms,
                       .read_ms = timeout_ms,
                       .case_ms = 5 * timeout_ms,
                       .startup_ms = (unsigned)o.startup_ms,
                       .cert_dir = TD_VECTORS_DIR "/certs"};
    if (td_crypto_new(&crypto) != TD_OK ||
        td_peer_new(spec, &po, &peer, &kind, why, sizeof(why)) != TD_OK) {
        fprintf(stderr, "tlsdrill shim-check: %s\n", why[0] ? why : "cannot set up");
        goto out;
    }
    td_scn_opts opts = {.crypto = crypto, .peer = &peer, .cert_dir = TD_VECTORS_DIR "/certs"};
    if (td_scn_runner_new(&opts, &runner) != TD_OK) {
        fprintf(stderr, "tlsdrill shim-check: cannot load the test certificates\n");
        goto out;
    }
    size_t bad = 0, keylogs = 0, ran = 0;
    for (size_t i = 0; i < file->num_cases; i++) {
        td_scn_result r;
        td_err err = td_scn_run_case(runner, &file->cases[i], &r);
        if (err == TD_ERR_IO) {
            fprintf(stderr, "tlsdrill shim-check: %s: %s\n", spec, r.reason);
            goto out;
        }
        bool unsup = r.verdict == TD_SCN_UNSUPPORTED;
        bool ok = err == TD_OK && (k_checks[i].want_unsupported ? unsup && r.reason[0] != '\0'
                                                                : r.verdict == TD_SCN_PASS);
        /* Where both sides derived keys (a completed handshake), the SUT logged them. */
        td_scn_expect_kind ek = file->cases[i].expect;
        if (r.verdict == TD_SCN_PASS &&
            (ek == TD_SCN_EXPECT_HANDSHAKE || ek == TD_SCN_EXPECT_RESUMED)) {
            ran++;
            keylogs += r.sut_keylog;
        }
        printf("%-8s %s\n", ok ? "ok" : unsup ? "declined" : "WRONG", k_checks[i].what);
        if (!ok || unsup)
            printf("         %s%s%s\n", unsup ? "" : "got ", unsup ? r.reason : r.actual,
                   unsup ? "" : "");
        if (!ok && !unsup && r.reason[0] != '\0')
            printf("         %s\n", r.reason);
        if (!ok && r.peer_log[0] != '\0')
            printf("         shim stderr: %.300s\n", r.peer_log);
        /* Declining a premise (exit 89) is allowed, but not for the baseline cases. */
        bad += !ok && !(unsup && i >= 2 && !k_checks[i].want_unsupported);
    }
    bool kl = ran > 0 && keylogs == ran;
    printf("%-8s TD_KEYLOG written (the SUT's NSS key log) in %zu of %zu completed cases\n",
           kl ? "ok" : "WRONG", keylogs, ran);
    bad += !kl;
    printf("%zu of %zu contract checks wrong\n", bad, file->num_cases + 1);
    rc = bad == 0 ? 0 : 1;
out:
    td_scn_runner_free(runner);
    td_peer_free(kind, &peer);
    td_crypto_free(crypto);
    td_scn_file_free(file);
    td_scn_diags_cleanup(&diags);
    return rc;
}
