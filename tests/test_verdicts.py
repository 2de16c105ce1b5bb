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
