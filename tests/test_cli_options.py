"""The option table (tools/cli/opt.c) as a user meets it: every command's
--help comes from one table, numbers are decimal or 0x only (no sign, no
leading 0, no overflow), durations have one syntax (300ms, 5s; a bare
number keeps its old unit), bad values and output paths are refused before
any work starts, with the option named and exit 2."""
import re

import pytest

from conftest import ROOT, run

COMMANDS = ["run", "peers", "rules", "bench", "lint", "dissect", "selfcheck", "serve", "replay", "corpus", "connect",
            "report", "shim-check"]


@pytest.mark.parametrize("cmd", COMMANDS)
def test_help_from_the_table(tlsdrill, cmd):
    r = run([tlsdrill, cmd, "--help"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("usage: tlsdrill %s" % cmd)
    assert re.search(r"^  --help, -h\s+this text$", r.stdout, re.M)
    # Every option shown has a line of help.
    for line in r.stdout.splitlines():
        if re.match(r"^  --", line):
            assert len(line.split(None, 2)) >= 2, line


@pytest.mark.parametrize("cmd", COMMANDS)
def test_unknown_option_is_a_usage_error(tlsdrill, cmd):
    r = run([tlsdrill, cmd, "--bogus"])
    assert r.returncode == 2
    assert "tlsdrill %s: unexpected argument '--bogus'" % cmd in r.stderr
    assert "usage: tlsdrill %s" % cmd in r.stderr


@pytest.mark.parametrize("args,message", [
    (["run", "--seed", "-1"], "bad --seed '-1': negative numbers are not allowed"),
    (["run", "--seed", "99999999999999999999999"],
     "bad --seed '99999999999999999999999': out of range (0..18446744073709551615)"),
    (["run", "--seed", "010"], "bad --seed '010': a leading 0 is ambiguous"),
    (["run", "--seed", "09"], "bad --seed '09': a leading 0 is ambiguous"),
    (["run", "--timeout-ms", "0"], "bad --timeout-ms '0': out of range (1ms..600s)"),
    (["run", "--timeout", "11m"], "bad --timeout '11m': out of range (1ms..600s)"),
    (["run", "--json"], "--json needs a value (FILE)"),
    (["bench", "--count", "-1"], "bad --count '-1': negative numbers are not allowed"),
    (["bench", "--count", "010"], "bad --count '010': a leading 0 is ambiguous"),
    (["bench", "--count", "09"], "bad --count '09': a leading 0 is ambiguous"),
    (["bench", "--count", "99999999999999999999999"], "bad --count '99999999999999999999999': out of range"),
    (["bench", "--count", "0"], "bad --count '0': out of range (1..1000000000)"),
    (["bench", "--seconds", "abc"], "bad --seconds 'abc': expected a duration"),
    (["bench", "--seconds", "-1"], "bad --seconds '-1': negative durations are not allowed"),
    (["serve", "--port", "65536"], "bad --port '65536': out of range (0..65535)"),
    (["serve", "--timeout", "5 s"], "bad --timeout '5 s': expected a duration"),
    (["serve", "--lifetime", "0"], "bad --lifetime '0': out of range"),
    (["serve", "--cert", "dsa"], "--cert [HOST=]p256|rsa|p384|ed25519|p256-sha384 or [HOST=]CHAIN.pem,KEY.pem, got 'dsa'"),
    (["serve", "--client-auth", "maybe"], "bad --client-auth 'maybe': one of none|request|require"),
    (["dissect", "x.pcap", "--stream", "-1"], "bad --stream '-1': negative numbers are not allowed"),
    (["rules", "--checker", "foo"], "bad --checker 'foo': one of client|server|both|self"),
    (["connect", "127.0.0.1:1", "--timeout", "0x10"], "bad --timeout '0x10': expected a duration"),
    (["connect", "127.0.0.1:1", "--sni"], "--sni needs a value (NAME)"),
    (["connect", "127.0.0.1:1", "--sni", "--resume"], "--sni needs a value (NAME)"),
    (["connect", "127.0.0.1:1", "127.0.0.2:1"], "unexpected argument '127.0.0.2:1'"),
    (["connect", "::1:443"], "'::1:443' is not HOST:PORT"),
    (["connect"], "HOST:PORT required"),
    (["replay", "client_hello"], "TARGET FILE|DIR... required"),
    (["corpus", "nope"], "unknown target 'nope'"),
    (["shim-check"], "exec:CMD required"),
    (["shim-check", "tcp:127.0.0.1:1"], "'tcp:127.0.0.1:1' is not an exec: peer (exec:CMD)"),
    (["shim-check", "exec:a", "exec:b"], "unexpected argument 'exec:b'"),
    (["shim-check", "exec:a", "--timeout", "0"], "bad --timeout '0': out of range (1ms..600s)"),
])
def test_bad_values_are_refused(tlsdrill, args, message):
    r = run([tlsdrill] + args)
    assert r.returncode == 2, (args, r.stdout, r.stderr)
    assert ("tlsdrill %s: %s" % (args[0], message)) in r.stderr, r.stderr


def test_numbers_in_hex_and_durations_in_any_unit(tlsdrill):
    r = run([tlsdrill, "bench", "--profile", "engine-full", "--count", "0x3"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "tlsdrill bench: 3 full handshakes done"
    # serve: --lifetime 300ms and the old bare seconds (0.3) mean the same.
    for value in ("300ms", "0.3", "0.3s"):
        r = run([tlsdrill, "serve", "--lifetime", value], timeout=20)
        assert r.returncode == 0 and "(lifetime)" in r.stdout, (value, r.stdout, r.stderr)
    # --name=VALUE works for every value option.
    r = run([tlsdrill, "rules", "--checker=self"])
    assert r.returncode == 0 and r.stdout.strip().endswith("rules")


@pytest.mark.parametrize("args", [
    ["run", "scenarios/server", "--pcap", "/nonexistent/x.pcap"],
    ["run", "scenarios/server", "--junit", "/nonexistent/x.xml"],
    ["serve", "--pcap", "/nonexistent/x.pcap", "--lifetime", "5s"],
    ["serve", "--keylog", "/nonexistent/x.keys", "--lifetime", "5s"],
    ["connect", "127.0.0.1:1", "--pcap", "/nonexistent/x.pcap"],
    ["replay", "client_hello", str(ROOT / "corpus" / "client_hello"), "--json", "/nonexistent/x.json"],
])
def test_output_paths_checked_before_starting(tlsdrill, args):
    r = run([tlsdrill] + args, timeout=20, cwd=ROOT)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "cannot write /nonexistent/x." in r.stderr and "no such directory" in r.stderr
    assert "passed" not in r.stdout and "listening" not in r.stdout and "connection 1" not in r.stdout and "input(s)" not in r.stdout


def test_output_path_that_is_a_directory(tlsdrill, tmp_path):
    r = run([tlsdrill, "serve", "--pcap", tmp_path, "--lifetime", "5s"], timeout=20)
    assert r.returncode == 2 and "cannot write %s: it is a directory" % tmp_path in r.stderr


def test_lint_says_no_cases(tlsdrill, tmp_path):
    r = run([tlsdrill, "lint", tmp_path])
    assert r.returncode == 1
    assert r.stdout == "0 files, 0 cases, 0 errors\n"
    assert "tlsdrill lint: no cases in %s (no *.scn file)" % tmp_path in r.stderr
    empty = tmp_path / "empty.scn"
    empty.write_text("# nothing here\n")
    r = run([tlsdrill, "lint", empty])
    assert r.returncode == 1
    assert r.stdout == "1 file, 0 cases, 0 errors\n"
    assert "no cases in %s" % empty in r.stderr


def test_plurals(tlsdrill):
    r = run([tlsdrill, "lint", ROOT / "scenarios" / "server" / "auth" / "finished.scn"])
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(r"1 file, \d+ cases, 0 errors\n", r.stdout), r.stdout


def test_selfcheck_finds_vectors_from_the_current_directory(tlsdrill, tmp_path):
    # From the repository root: ./tests/vectors, like `run` finds ./scenarios.
    r = run([tlsdrill, "selfcheck"], cwd=ROOT)
    assert r.returncode == 0 and "RFC 8448 self-check (tests/vectors/rfc8448.tsv)" in r.stdout
    # Elsewhere: the path the binary was built with.
    r = run([tlsdrill, "selfcheck"], cwd=tmp_path)
    assert r.returncode == 0 and "RFC 8448 self-check (%s)" % (ROOT / "tests/vectors/rfc8448.tsv") in r.stdout


def test_run_seed_in_hex_is_the_same_seed(tlsdrill, tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    for seed, out in (("16", a), ("0x10", b)):
        r = run([tlsdrill, "run", ROOT / "scenarios/server/auth", "--seed", seed, "--json", out, "-q"])
        assert r.returncode == 0, r.stderr
    assert '"seed": 16' in a.read_text() and a.read_text() == b.read_text()
