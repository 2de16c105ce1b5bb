"""The scenario suites and the `tlsdrill lint` / `tlsdrill run` CLI."""
import json
import pathlib
import re
import xml.etree.ElementTree as ET

import pytest

from conftest import ROOT, run

BAD = ROOT / "tests" / "scenarios_bad"
ROW = re.compile(r"^(\S+)\s+(\S+)\s+(.+?)\s+(pass|alert-differs|ALERT-DIFFERS|FAIL|advisory|n/a|unsupported|ERROR)$")
GRADES = ["pass", "alert-differs", "fail", "advisory", "n/a", "unsupported", "error"]


def summary(counts, failing=0, mode="strict", extra=""):
    """The summary line: every grade's count, then what fails the run."""
    total = sum(counts.values())
    return "%d case%s: %s; %d failing (%s)%s" % (
        total, "" if total == 1 else "s", ", ".join("%d %s" % (counts.get(g, 0), g) for g in GRADES), failing, mode, extra)


def lint(tlsdrill, *args):
    return run([tlsdrill, "lint", *args], cwd=ROOT)


def tlsrun(tlsdrill, *args, cwd=ROOT):
    return run([tlsdrill, "run", *args], cwd=cwd)


def suite_counts(tlsdrill):
    r = lint(tlsdrill, "scenarios")
    m = re.fullmatch(r"(\d+) files, (\d+) cases, 0 errors\n", r.stdout)
    assert m, r.stdout
    return int(m.group(1)), int(m.group(2))


def test_lint_suite_clean(tlsdrill):
    r = lint(tlsdrill, "scenarios")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    files, cases = suite_counts(tlsdrill)
    assert files == len(list((ROOT / "scenarios").rglob("*.scn")))
    assert cases >= 60


@pytest.mark.parametrize("name", sorted(p.stem for p in BAD.glob("*.scn")))
def test_lint_golden_diagnostics(tlsdrill, name):
    rel = "tests/scenarios_bad/%s.scn" % name
    r = lint(tlsdrill, rel)
    assert r.returncode == 1
    expected = (BAD / (name + ".expected")).read_text()
    assert r.stderr == expected
    n = len(re.findall(r"^%s:\d+:\d+: error: " % re.escape(rel), r.stderr, re.M))
    assert n >= 3
    assert re.fullmatch(r"1 file, \d+ cases?, %d errors?\n" % n, r.stdout), r.stdout


def test_lint_usage(tlsdrill):
    assert lint(tlsdrill).returncode == 2
    r = lint(tlsdrill, "no/such/dir")
    assert r.returncode == 2 and "no such file" in r.stderr
    assert lint(tlsdrill, "--bogus").returncode == 2


def test_run_suite_all_pass(tlsdrill):
    _, cases = suite_counts(tlsdrill)
    r = tlsrun(tlsdrill, "scenarios", "--stats")
    assert r.returncode == 0, r.stdout[-3000:]
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["CASE", "RULE", "LEVEL", "EXPECTED", "ACTUAL", "GRADE"]
    rows = [l for l in lines[1:] if ROW.match(l)]
    assert len(rows) == cases
    assert all(l.endswith(" pass") for l in rows)
    assert lines[-2] == summary({"pass": cases})
    assert re.fullmatch(r"%d cases in [0-9.]+ s: \d+ cases/s" % cases, lines[-1])


def test_run_defaults_to_scenarios_dir(tlsdrill):
    _, cases = suite_counts(tlsdrill)
    r = tlsrun(tlsdrill, "--lenient")
    assert r.returncode == 0
    assert r.stdout.splitlines()[-1] == summary({"pass": cases}, mode="lenient")


def test_run_path_without_scenarios_is_an_error(tlsdrill, tmp_path):
    # A mistyped or empty path must not run the default suite (and turn CI green).
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("not a scenario\n")
    for path in (tmp_path / "empty", tmp_path):
        r = tlsrun(tlsdrill, path)
        assert r.returncode == 2, r.stdout[-500:]
        assert "%s: no .scn file there" % path in r.stderr
        assert "CASE" not in r.stdout


def test_run_filters(tlsdrill):
    r = tlsrun(tlsdrill, "scenarios", "--filter", "binder")
    assert r.returncode == 0
    rows = [l for l in r.stdout.splitlines()[1:-1]]
    assert rows and all("binder" in l.split()[0] for l in rows)
    r = tlsrun(tlsdrill, "scenarios", "--rule", "PSK-NOT-LAST")
    assert r.returncode == 0
    rows = r.stdout.splitlines()[1:-1]
    assert len(rows) >= 2 and all(l.split()[1] == "PSK-NOT-LAST" for l in rows)
    # Nothing selected is not a success.
    r = tlsrun(tlsdrill, "scenarios", "--filter", "no-such-case-anywhere")
    assert r.returncode == 1
    assert r.stdout.splitlines()[-1] == summary({})


def test_run_json_stable(tlsdrill, tmp_path):
    out1, out2, out3 = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    assert tlsrun(tlsdrill, "scenarios/server/psk", "--json", out1, "--seed", "5").returncode == 0
    assert tlsrun(tlsdrill, "scenarios/server/psk", "--json", out2, "--seed", "5").returncode == 0
    assert tlsrun(tlsdrill, "scenarios/server/psk", "--json", out3, "--seed", "6").returncode == 0
    a, b, c = (json.loads(p.read_text()) for p in (out1, out2, out3))
    assert set(a) == {"tool", "version", "format", "peer", "peer_version", "mode", "seed", "cases", "summary"}
    assert a["tool"] == "tlsdrill" and a["peer"] == "engine" and a["mode"] == "strict" and a["seed"] == 5
    assert a["summary"] == {"total": len(a["cases"]), "grades": dict({g: 0 for g in GRADES}, **{"pass": len(a["cases"])}),
                    "failing": 0, "known_deviations": 0, "known_deviations_no_longer_failing": 0,
                    "known_deviations_changed": 0}
    keys = {"name", "file", "line", "sut", "rules", "expect", "expected", "actual", "grade", "verdict",
            "level", "premise", "sut_rule", "sut_where", "sut_broke", "reason", "deviation", "known", "fails",
            "digest", "peer_log", "observed"}
    for case in a["cases"]:
        assert set(case) == keys
        assert case["grade"] == case["verdict"] == "pass" and case["sut"] == "server"
        assert case["level"] in ("MUST", "SHOULD", "MAY", "sender-only", "-")
        assert case["known"] is None and case["fails"] is False
        assert case["file"].startswith("scenarios/server/psk/") and case["line"] > 0
        assert re.fullmatch(r"[0-9a-f]{64}", case["digest"])
        if case["expect"] == "rule":
            assert case["sut_rule"] in case["rules"]
            assert re.fullmatch(r"engine/[a-z_/]+\.c:\d+", case["sut_where"])
    # Same seed: same bytes on the wire; another seed: other bytes.
    assert [x["digest"] for x in a["cases"]] == [x["digest"] for x in b["cases"]]
    assert all(x["digest"] != y["digest"] for x, y in zip(a["cases"], c["cases"]))


WRONG = """\
# expects the wrong alert on purpose
scenario  wrong-alert
rule      CH-COMPRESSION
sut       server
send      ClientHello
  set compression 0100
expect    alert decode_error

scenario  right-alert
rule      CH-COMPRESSION
sut       server
send      ClientHello
  set compression 0100
expect    rule
"""


def test_wrong_expectation_fails_readably(tlsdrill, tmp_path):
    f = tmp_path / "wrong.scn"
    f.write_text(WRONG)
    r = tlsrun(tlsdrill, f, "--json", tmp_path / "w.json", "--junit", tmp_path / "w.xml")
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    row = [l for l in lines if l.startswith("wrong-alert ")]
    # Refused with another alert: alert-differs (a MUST rule: --strict fails it).
    assert len(row) == 1 and row[0].split()[-1] == "ALERT-DIFFERS"
    assert row[0].split()[1:6] == ["CH-COMPRESSION", "MUST", "decode_error", "alert", "illegal_parameter"]
    i = lines.index(row[0])
    assert re.fullmatch(r"    %s:2: expected decode_error, got alert illegal_parameter "
                        r"\(SUT rule CH-COMPRESSION at engine/server\.c:\d+\)" % re.escape(str(f)), lines[i + 1])
    assert [l for l in lines if l.startswith("right-alert ")][0].endswith(" pass")
    assert lines[-1] == summary({"pass": 1, "alert-differs": 1}, failing=1)
    data = json.loads((tmp_path / "w.json").read_text())
    assert data["summary"]["grades"] == dict({g: 0 for g in GRADES}, **{"pass": 1, "alert-differs": 1})
    assert data["summary"]["failing"] == 1
    c = data["cases"][0]
    assert c["grade"] == "alert-differs" and c["level"] == "MUST" and c["fails"] is True
    assert "expected decode_error" in c["reason"]
    suite = ET.parse(tmp_path / "w.xml").getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == \
        ("2", "1", "0", "0")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["wrong-alert", "right-alert"]
    fail = cases[0].find("failure")
    assert fail.get("type") == "alert-differs"
    assert fail.get("message").startswith("expected decode_error, got alert illegal_parameter")
    assert cases[1].find("failure") is None
    assert "rules: CH-COMPRESSION" in cases[1].find("system-out").text
    assert all(float(c.get("time")) >= 0 for c in cases)
    # --lenient: alert-differs is reported, but does not fail the run.
    r = tlsrun(tlsdrill, f, "--lenient", "--junit", tmp_path / "l.xml")
    assert r.returncode == 0, r.stdout
    assert r.stdout.splitlines()[-1] == summary({"pass": 1, "alert-differs": 1}, mode="lenient")
    assert [l for l in r.stdout.splitlines() if l.startswith("wrong-alert ")][0].endswith(" alert-differs")
    suite = ET.parse(tmp_path / "l.xml").getroot().find("testsuite")
    assert suite.get("failures") == "0" and not list(suite.iter("failure"))


def test_run_junit_suite(tlsdrill, tmp_path):
    _, cases = suite_counts(tlsdrill)
    assert tlsrun(tlsdrill, "scenarios", "--junit", tmp_path / "j.xml").returncode == 0
    suite = ET.parse(tmp_path / "j.xml").getroot().find("testsuite")
    assert suite.get("tests") == str(cases) and suite.get("failures") == "0"
    names = [(c.get("classname"), c.get("name")) for c in suite.findall("testcase")]
    assert len(names) == len(set(names)) == cases
    assert all(cls.startswith("scenarios.server.") or cls.startswith("scenarios.client.") for cls, _ in names)


def test_run_refuses_files_with_diagnostics(tlsdrill):
    r = tlsrun(tlsdrill, "tests/scenarios_bad/names.scn")
    assert r.returncode == 1
    assert "unknown rule 'PSK-BINDER-WRONG'" in r.stderr
    assert "fix the diagnostics above first" in r.stderr
    assert "passed" not in r.stdout


def test_run_usage_errors(tlsdrill):
    r = tlsrun(tlsdrill, "scenarios", "--peer", "gnutls")
    assert r.returncode == 2 and "unknown peer 'gnutls'" in r.stderr
    r = tlsrun(tlsdrill, "scenarios", "--rule", "NO-SUCH-RULE")
    assert r.returncode == 2 and "unknown rule" in r.stderr
    r = tlsrun(tlsdrill, "scenarios", "--bogus")
    assert r.returncode == 2
    r = tlsrun(tlsdrill, "--seed", "x")
    assert r.returncode == 2
    r = tlsrun(tlsdrill, "--help")
    assert r.returncode == 0 and "usage: tlsdrill run" in r.stdout


def test_help_lists_scenario_commands(tlsdrill):
    r = run([tlsdrill, "--help"])
    for cmd in ("lint", "run"):
        assert re.search(r"^\s+%s\s" % cmd, r.stdout, re.M)


def test_run_list(tlsdrill):
    _, cases = suite_counts(tlsdrill)
    r = tlsrun(tlsdrill, "scenarios", "--list")
    assert r.returncode == 0
    rows = [l.split("\t") for l in r.stdout.splitlines()]
    assert len(rows) == cases and all(len(x) == 4 for x in rows)
    assert ["scenarios/server/psk/binders.scn", "6", "psk-binder-flipped[01]", "PSK-BINDER-INVALID"] in rows


def test_pytest_collects_scenarios(tlsdrill, tmp_path):
    """`pytest scenarios/ -k binder --junitxml=...` runs one item per case."""
    import os
    import sys
    env = dict(os.environ, TD_BUILD_DIR=str(pathlib.Path(tlsdrill).parent))
    xml = tmp_path / "p.xml"
    r = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "scenarios", "-k", "binder",
             "--junitxml", xml], cwd=ROOT, env=env)
    assert r.returncode == 0, r.stdout[-2000:]
    # -k also matches the module (binders.scn) and markers (PSK_BINDER_*): a superset of --filter.
    listed = [l.split("\t")[2] for l in tlsrun(tlsdrill, "scenarios", "--filter", "binder", "--list").stdout.splitlines()]
    names = [c.get("name") for c in ET.parse(xml).getroot().iter("testcase")]
    assert re.search(r"^%d passed, \d+ deselected" % len(names), r.stdout.splitlines()[-1])
    assert set(listed) <= set(names) and "psk-binder-flipped[01]" in names
    r = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "scenarios", "-m", "PSK_NOT_LAST"],
            cwd=ROOT, env=env)
    assert r.returncode == 0
    n = len(tlsrun(tlsdrill, "scenarios", "--rule", "PSK-NOT-LAST", "--list").stdout.splitlines())
    assert re.search(r"^%d passed" % n, r.stdout.splitlines()[-1])


def test_rules_coverage(tlsdrill):
    r = run([tlsdrill, "rules", "--coverage"], cwd=ROOT)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["RULE", "CHECK", "SUT=S", "SUT=C", "FILES"]
    rows = {l.split()[0]: l.split() for l in lines[1:] if not l.startswith(("uncovered:",)) and " rules covered" not in l}
    assert rows["PSK-BINDER-INVALID"][2] != "0" and "server/psk/binders.scn" in rows["PSK-BINDER-INVALID"][4:]
    assert rows["HRR-SECOND"][3] != "0" and rows["HRR-SECOND"][2] == "0"
    m = re.search(r"^(\d+) of (\d+) rules covered by scenarios, (\d+) uncovered$", r.stdout, re.M)
    assert m and int(m.group(1)) + int(m.group(3)) == int(m.group(2)) == len(rows)
    uncovered = [l for l in lines if l.startswith("uncovered: ")][0].split()[1:]
    assert len(uncovered) == int(m.group(3))
    assert all(rows[u][2] == rows[u][3] == "0" for u in uncovered)
    assert int(m.group(1)) >= 80


def test_run_expect_deviations(tlsdrill, tmp_path):
    f = tmp_path / "wrong.scn"
    f.write_text(WRONG)
    dev = tmp_path / "peer.txt"
    dev.write_text("# known deviations\nwrong-alert   the peer answers with illegal_parameter\n"
                   "right-alert   was broken once\nno-such-case  stale entry\n")
    r = tlsrun(tlsdrill, f, "--expect", dev, "--json", tmp_path / "d.json")
    assert r.returncode == 0, r.stdout
    lines = r.stdout.splitlines()
    assert [l for l in lines if l.startswith("wrong-alert ")][0].endswith(" xfail")
    assert [l for l in lines if l.startswith("right-alert ")][0].endswith(" XPASS")
    assert "    known deviation (%s): the peer answers with illegal_parameter" % dev in lines
    assert "    the known deviation now passes: remove 'right-alert' from %s" % dev in lines
    # The grades are the truth about the SUT; the known deviations only decide what fails.
    assert lines[-1] == summary({"pass": 1, "alert-differs": 1},
                                extra=", 1 known deviation, 1 known deviation no longer fails")
    assert "no case named 'no-such-case'" in r.stderr
    data = json.loads((tmp_path / "d.json").read_text())
    assert data["summary"]["known_deviations"] == 1
    assert data["summary"]["known_deviations_no_longer_failing"] == 1
    assert data["cases"][0]["deviation"] == "the peer answers with illegal_parameter"
    assert [c["known"] for c in data["cases"]] == ["xfail", "xpass"]
    # A deviation that pins its outcome (the first word) fails the case when it changes.
    dev.write_text("wrong-alert   decode_error the peer used to answer decode_error\n")
    r = tlsrun(tlsdrill, f, "--expect", dev, "--junit", tmp_path / "c.xml")
    assert r.returncode == 1, r.stdout
    assert [l for l in r.stdout.splitlines() if l.startswith("wrong-alert ")][0].endswith(" CHANGED")
    assert r.stdout.splitlines()[-1] == summary({"pass": 1, "alert-differs": 1}, failing=1,
                                                 extra=", 1 known deviation changed")
    fail = ET.parse(tmp_path / "c.xml").getroot().find("testsuite/testcase/failure")
    assert fail.get("type") == "changed" and fail.get("message").startswith("known deviation changed (was decode_error)")
    dev.write_text("wrong-alert\n")
    r = tlsrun(tlsdrill, f, "--expect", dev)
    assert r.returncode == 2 and "needs a reason" in r.stderr
