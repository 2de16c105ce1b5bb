"""The verdict logic itself: with the hidden, test-only switch
`tlsdrill run --plant-wrong-alert RULE` the engine, as the system under
test, answers RULE with an alert RULE does not allow. The suite must then
fail exactly the cases in which the engine aborts for RULE (the cases of
that rule that expect an alert), and nothing else."""
import json

import pytest

from conftest import ROOT, run

RULES = ["PSK-BINDER-INVALID", "REC-CCS-PROTECTED", "CH2-NOT-CONFORMANT",
         "KS-HRR-GROUP-NOT-SUPPORTED", "CV-BAD-SIGNATURE"]


def run_json(tlsdrill, tmp_path, name, *args):
    out = tmp_path / (name + ".json")
    r = run([tlsdrill, "run", "scenarios", "--json", str(out), *args], cwd=ROOT)
    return r, {c["name"]: c for c in json.loads(out.read_text())["cases"]}


@pytest.fixture(scope="module")
def baseline(tlsdrill, tmp_path_factory):
    r, cases = run_json(tlsdrill, tmp_path_factory.mktemp("base"), "base")
    assert r.returncode == 0, r.stdout[-2000:]
    assert all(c["grade"] == "pass" for c in cases.values())
    return cases


@pytest.mark.parametrize("rule", RULES)
def test_planted_wrong_alert_fails_exactly_that_rule(tlsdrill, tmp_path, baseline, rule):
    # The cases that name the rule and expect an alert, where the engine
    # (as SUT) aborts for that very rule.
    want = {n for n, c in baseline.items()
            if rule in c["rules"] and c["expect"] in ("rule", "alert") and c["sut_rule"] == rule}
    assert want, "no case aborts for %s" % rule
    # ... which is every case whose SUT aborted for the rule.
    assert want == {n for n, c in baseline.items()
                    if c["sut_rule"] == rule and c["actual"].startswith("alert ")}
    for mode in ("--strict", "--lenient"):
        r, cases = run_json(tlsdrill, tmp_path, "planted" + mode, "--plant-wrong-alert", rule, mode)
        # Refused with another alert: alert-differs, which --strict fails and --lenient reports.
        assert r.returncode == (1 if mode == "--strict" else 0), r.stdout[-2000:]
        graded = {n for n, c in cases.items() if c["grade"] != "pass"}
        assert graded == want
        for n in graded:
            c = cases[n]
            assert c["grade"] == "alert-differs" and c["sut_rule"] == rule
            assert c["fails"] is (mode == "--strict")
            assert c["actual"] != baseline[n]["actual"]
            assert c["actual"] in c["reason"]
            assert c["level"] in ("MUST", "SHOULD (alert choice)")
        assert set(cases) == set(baseline)


def test_planted_rule_that_no_case_reaches_changes_nothing(tlsdrill, tmp_path, baseline):
    # REC-SEQ-WRAP is a limit on the endpoint's own state: no case makes the
    # engine abort for it, so planting it must leave every verdict alone.
    r, cases = run_json(tlsdrill, tmp_path, "none", "--plant-wrong-alert", "REC-SEQ-WRAP")
    assert r.returncode == 0
    assert {n: c["grade"] for n, c in cases.items()} == {n: "pass" for n in baseline}


def test_plant_wrong_alert_unknown_rule(tlsdrill):
    r = run([tlsdrill, "run", "scenarios", "--plant-wrong-alert", "NO-SUCH-RULE"], cwd=ROOT)
    assert r.returncode == 2
    assert "unknown rule 'NO-SUCH-RULE'" in r.stderr


# ---- every grade, from misbehaviour planted in the engine as SUT ----

def graded(cases, grade):
    return {n for n, c in cases.items() if c["grade"] == grade}


def test_skipped_may_check_is_advisory(tlsdrill, tmp_path, baseline):
    # KS-GROUP-NOT-IN-SUPPORTED: RFC 8446 4.2.8 "Servers MAY check for
    # violations of these rules": a server that does not check is advisory.
    want = {n for n, c in baseline.items() if c["rules"] == ["KS-GROUP-NOT-IN-SUPPORTED"]}
    assert want
    r, cases = run_json(tlsdrill, tmp_path, "may", "--plant-skip", "KS-GROUP-NOT-IN-SUPPORTED")
    assert r.returncode == 0, r.stdout[-2000:]  # advisory never fails a run
    assert graded(cases, "advisory") == want
    assert graded(cases, "pass") == set(baseline) - want
    for n in want:
        c = cases[n]
        assert c["level"] == "MAY" and c["actual"] == "handshake" and not c["fails"]
        assert "advisory" in c["reason"]


def test_skipped_must_check_is_a_failure(tlsdrill, tmp_path, baseline):
    # CH-COMPRESSION: RFC 8446 4.1.2 "MUST ... abort": accepting is a fail,
    # in strict and lenient mode alike.
    want = {n for n, c in baseline.items() if c["rules"] == ["CH-COMPRESSION"]}
    assert want
    for mode in ("--strict", "--lenient"):
        r, cases = run_json(tlsdrill, tmp_path, "must" + mode, "--plant-skip", "CH-COMPRESSION", mode)
        assert r.returncode == 1, r.stdout[-2000:]
        assert graded(cases, "fail") == want
        assert graded(cases, "pass") == set(baseline) - want
        assert all(cases[n]["level"] == "MUST" and cases[n]["fails"] for n in want)
        assert "; %d failing (%s)" % (len(want), mode[2:]) in r.stdout.splitlines()[-1]


def test_element_that_never_reached_the_sut_is_na(tlsdrill, tmp_path):
    # A server that answers every ClientHello with a HelloRetryRequest never
    # uses the key share a case broke: `premise no-hrr` makes that n/a.
    out = tmp_path / "hrr.json"
    r = run([tlsdrill, "run", "scenarios/server/keyshare", "--plant-hrr", "--json", out], cwd=ROOT)
    assert r.returncode == 0, r.stdout[-2000:]
    cases = json.loads(out.read_text())["cases"]
    na = [c for c in cases if c["grade"] == "n/a"]
    assert na and all("no-hrr: failed" in c["premise"] for c in na)
    assert all("HelloRetryRequest" in c["reason"] and "never used the edited key share" in c["reason"]
               for c in na)
    # Every case that declares the premise and did not pass is n/a, none fails.
    assert not [c for c in cases if c["grade"] in ("fail", "alert-differs", "advisory")]
    # Without the plant it does not fail (the SUT refused our first ClientHello outright).
    r, base = run_json(tlsdrill, tmp_path, "nohrr", "--filter", "ks-bad-length")
    assert base and all(c["grade"] == "pass" and c["premise"].startswith("no-hrr: ")
                        and "failed" not in c["premise"] for c in base.values())


def test_every_grade_is_in_the_summary(tlsdrill, tmp_path):
    r = run([tlsdrill, "run", "scenarios", "--plant-skip", "CH-COMPRESSION", "--lenient"], cwd=ROOT)
    last = r.stdout.splitlines()[-1]
    for g in ("pass", "alert-differs", "fail", "advisory", "n/a", "unsupported", "error"):
        assert (" %s," % g in last) or (" %s;" % g in last), last
