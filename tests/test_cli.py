"""The tlsdrill CLI as a user runs it: help, errors, the rule catalogue."""
import re

from conftest import ROOT, run


def test_help_lists_commands(tlsdrill):
    r = run([tlsdrill, "--help"])
    assert r.returncode == 0
    for cmd in ("rules", "selfcheck"):
        assert re.search(r"^\s+%s\s" % cmd, r.stdout, re.M), r.stdout


def test_no_command_is_usage_error(tlsdrill):
    r = run([tlsdrill])
    assert r.returncode == 2
    assert "usage:" in r.stderr


def test_unknown_command(tlsdrill):
    r = run([tlsdrill, "frobnicate"])
    assert r.returncode == 2
    assert "unknown command 'frobnicate'" in r.stderr


def test_rules_lists_whole_catalogue(tlsdrill):
    r = run([tlsdrill, "rules"])
    assert r.returncode == 0
    lines = r.stdout.strip().splitlines()
    # rules.def: 138 abort rules + 24 tolerance rules of the catalogue,
    # plus our own LOCAL-INTERNAL (engine/include/tlsdrill/rules_local.def).
    assert lines[-1] == "163 rules"
    ids = [l.split()[0] for l in lines[:-1]]
    assert len(ids) == len(set(ids)) == 163
    assert "GEN-DECODE" in ids and "TOL-HS-FRAGMENTATION" in ids and "LOCAL-INTERNAL" in ids


def test_rules_filters(tlsdrill):
    r = run([tlsdrill, "rules", "REC-"])
    assert r.returncode == 0
    rows = r.stdout.strip().splitlines()[:-1]
    assert rows and all(row.startswith("REC-") for row in rows)
    bad_mac = [row for row in rows if row.startswith("REC-BAD-MAC ")]
    assert len(bad_mac) == 1 and "bad_record_mac" in bad_mac[0]
    r = run([tlsdrill, "rules", "--checker", "client", "HRR-"])
    assert r.returncode == 0
    rows = r.stdout.strip().splitlines()[:-1]
    assert rows and all(" client " in row for row in rows)


def test_rules_no_match_fails(tlsdrill):
    r = run([tlsdrill, "rules", "NO-SUCH-PREFIX"])
    assert r.returncode == 1
    assert r.stdout.strip() == "0 rules"


def test_rules_bad_option(tlsdrill):
    r = run([tlsdrill, "rules", "--bogus"])
    assert r.returncode == 2
    assert "unexpected argument '--bogus'" in r.stderr


def test_bench_profile_rows(tlsdrill):
    # --profile runs exactly N untimed handshakes of one row (for callgrind).
    for row in ("engine-full", "libssl-full", "floor-full", "engine-resumption",
                "libssl-resumption", "engine-hrr", "libssl-hrr"):
        r = run([tlsdrill, "bench", "--profile", row, "--count", "3"])
        assert r.returncode == 0, (row, r.stderr)
        kind = row.split("-", 1)[1]
        assert r.stdout.strip() == "tlsdrill bench: 3 %s handshakes done" % kind


def test_bench_profile_errors(tlsdrill):
    for args in (["--profile", "floor-hrr"], ["--profile", "engine"], ["--profile", "x-full"],
                 ["--profile", "engine-full", "--count", "0"],
                 ["--profile", "engine-full", "--count", "3x"]):
        r = run([tlsdrill, "bench"] + args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert "tlsdrill bench:" in r.stderr


def test_rules_coverage_reads_fuzz_reach_file(tlsdrill, tmp_path):
    """`rules --fuzz FILE` adds which fuzz corpora reach each rule (the
    rules-reached.tsv format of `tools/fuzzctl coverage`)."""
    f = tmp_path / "rules-reached.tsv"
    f.write_text("# tlsdrill-rule-coverage 1\n# comment\n"
                 "PSK-BINDER-INVALID\tfuzz:psk_binders\t3\n"
                 "KS-DUPLICATE-GROUP\tfuzz:client_hello\t5\n"
                 "KS-DUPLICATE-GROUP\tfuzz:client_hello_fm\t2\n")
    r = run([tlsdrill, "rules", "--coverage", "scenarios", "--fuzz", f], cwd=ROOT)
    assert r.returncode == 0, r.stderr
    rows = {l.split()[0]: l for l in r.stdout.splitlines() if l and l.split()[0].isupper()}
    assert "client_hello:5 client_hello_fm:2" in rows["KS-DUPLICATE-GROUP"]
    assert "psk_binders:3" in rows["PSK-BINDER-INVALID"]
    assert " - " in rows["REC-BAD-MAC"] or rows["REC-BAD-MAC"].split()[4] == "-"
    assert "2 of 162 rules reached by the fuzz corpora" in r.stdout


def test_rules_coverage_rejects_bad_fuzz_reach_file(tlsdrill, tmp_path):
    for text, want in (("RULE\tfuzz:x\t1\n", ":1:1: error: not a rule coverage file"),
                       ("# tlsdrill-rule-coverage 1\nNO-SUCH-RULE\tfuzz:x\t1\n",
                        ":2:1: error: unknown rule ID 'NO-SUCH-RULE'"),
                       ("# tlsdrill-rule-coverage 1\nREC-BAD-MAC\tscn\t1\n",
                        ":2:13: error: source must be fuzz:<target>"),
                       ("# tlsdrill-rule-coverage 1\nREC-BAD-MAC\tfuzz:record\tlots\n",
                        ":2:25: error: bad count 'lots'"),
                       ("# tlsdrill-rule-coverage 1\nREC-BAD-MAC fuzz:record 1\n",
                        ":2:1: error: expected RULE-ID<TAB>SOURCE<TAB>COUNT")):
        f = tmp_path / "bad.tsv"
        f.write_text(text)
        r = run([tlsdrill, "rules", "--fuzz", f], cwd=ROOT)
        assert r.returncode == 2
        assert want in r.stderr, (text, r.stderr)
