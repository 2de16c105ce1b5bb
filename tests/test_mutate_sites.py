"""tools/mutate_sites.py and the test-only site switch (issue 19).

The switch (TD_PLANT_SITE, TD_PLANT_ALERT, TD_PLANT_GRADE) exists only in
builds configured with TD_SITE_SWITCH=ON (asan, mutation presets): the
default preset's behaviour never changes, whatever the environment. The
tool's own self-test (seconds) runs against the asan build; the whole sweep
is the nightly job (.ci/nightly)."""
import json
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT, run

TOOL = ROOT / "tools" / "mutate_sites.py"


def _switch_build():
    """TD_ASAN_BUILD_DIR, else the newer of build/asan and build/mutation (a
    stale one has its sites at other lines)."""
    found = []
    for d in (os.environ.get("TD_ASAN_BUILD_DIR"), ROOT / "build" / "asan", ROOT / "build" / "mutation"):
        if d and os.path.exists(os.path.join(str(d), "CMakeCache.txt")):
            with open(os.path.join(str(d), "CMakeCache.txt"), encoding="utf-8") as f:
                if re.search(r"^TD_SITE_SWITCH:BOOL=ON$", f.read(), re.M) and \
                        os.path.exists(os.path.join(str(d), "tlsdrill")):
                    if d == os.environ.get("TD_ASAN_BUILD_DIR"):
                        return str(d)
                    found.append(str(d))
    return max(found, key=lambda d: os.path.getmtime(os.path.join(d, "tlsdrill"))) if found else None


def _sites(tlsdrill):
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import mutate_sites
    finally:
        sys.path.pop(0)
    return mutate_sites, mutate_sites.discover(str(tlsdrill))


def test_release_build_ignores_the_switch(tlsdrill, tmp_path):
    """The default build: the NewSessionTicket 'nothing left over' check
    switched off, GEN-DECODE's decode_error dropped and every pass relabelled
    fail change nothing: every case still passes."""
    cache = (tlsdrill.parent / "CMakeCache.txt").read_text()
    assert not re.search(r"^TD_SITE_SWITCH:BOOL=ON$", cache, re.M), "the default build has the switch"
    mod, sites = _sites(tlsdrill)
    lines = mod.read_lines("engine/msg.c")
    end = next(i + 1 for i, t in enumerate(lines) if t.startswith("static td_err expect_end("))
    spec = next(s["spec"] for s in sites if s["file"] == "engine/msg.c" and end < s["line"] < end + 8)
    env = dict(os.environ, TD_PLANT_SITE=spec, TD_PLANT_ALERT="GEN-DECODE:decode_error",
               TD_PLANT_GRADE="pass:fail")
    out = tmp_path / "r.json"
    r = subprocess.run([str(tlsdrill), "run", "scenarios/client/encrypted", "--json", str(out)], cwd=ROOT,
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:]
    cases = json.loads(out.read_text())["cases"]
    assert any(c["name"] == "nst-trailing-data[1]" for c in cases)
    assert all(c["verdict"] == "pass" for c in cases)


def test_every_site_has_a_switch(tlsdrill):
    """Each site found has a switch spec whose span holds the site, except a
    few direct td_diag_set calls that ask no TD_SITE_OFF (said why)."""
    mod, sites = _sites(tlsdrill)
    assert len(sites) > 150
    files = {}
    for s in sites:
        if s["spec"] is None:
            assert "asks no TD_SITE_OFF" in s["note"], s
            continue
        m = re.fullmatch(r"(engine/[\w/.]+)(?::(\d+)-(\d+)|#(\S+))@([A-Z0-9-]+)", s["spec"])
        assert m and m.group(5) == s["rule"], s
        if m.group(2):
            lines = files.setdefault(m.group(1), mod.read_lines(m.group(1)))
            lo, hi = int(m.group(2)), int(m.group(3))
            body = "\n".join(lines[lo - 1:hi])
            assert lo <= hi and re.search(r"TD_|td_diag_set|DECODE_FAIL", body), s
            # The call's span holds the site, or the site calls a helper that aborts there.
            helper = re.search(r"\b[a-z_]+\(c, msg, TD_RULE_", lines[s["line"] - 1])
            assert lo - 3 <= s["line"] <= hi or helper, s
    assert sum(s["spec"] is None for s in sites) <= 3


def test_reviewed_sites_exist(tlsdrill):
    """Every entry of tools/mutate_sites_reviewed.txt names exactly one
    current site (a check removed or moved leaves no stale review), and the
    resolver refuses a key that names none or several."""
    mod, sites = _sites(tlsdrill)
    entries = mod.load_reviewed()
    assert entries
    reviewed, problems = mod.resolve_reviewed(sites, entries)
    assert problems == []
    assert len(reviewed) >= len(entries)
    _, bad = mod.resolve_reviewed(sites, [("engine/msg.c@GEN-DECODE", "several"),
                                          ("engine/conn.c:1", "none"),
                                          ('engine/conn.c@REC-UNKNOWN-TYPE#"no such text"', "none")])
    assert len(bad) == 3, bad


def test_usage_errors(tlsdrill, tmp_path):
    r = run([sys.executable, TOOL, "--build", tlsdrill.parent, "--list"], cwd=ROOT)
    assert r.returncode == 2 and "not built with TD_SITE_SWITCH=ON" in r.stderr, r.stderr
    r = run([sys.executable, TOOL, "--build", tmp_path], cwd=ROOT)
    assert r.returncode == 2 and "no build at" in r.stderr, r.stderr


def test_self_test_kills_planted_sites():
    """Seconds: in a switch build, the NewSessionTicket trailing-bytes check
    and a row of the message-order table switched off are noticed by the
    scenario suite, a grade relabelled too, a spec naming no rule is not."""
    build = _switch_build()
    if build is None:
        pytest.skip("no build with TD_SITE_SWITCH=ON (tools/test.sh builds the asan preset)")
    r = run([sys.executable, TOOL, "--self-test", "--build", build], cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "self-test: ok" in r.stdout
    assert "nst" in r.stdout or "trailing" in r.stdout


def test_dropping_a_rules_only_alert_is_noticed(tmp_path):
    """An empty allowed set never means "any alert": with ALPN-NO-OVERLAP's
    only alert (no_application_protocol) dropped, the engine's refusals of
    its cases are alert-differs, not passes (issue 19: the drop went
    unnoticed while the judge read an empty set as "any alert")."""
    build = _switch_build()
    if build is None:
        pytest.skip("no build with TD_SITE_SWITCH=ON (tools/test.sh builds the asan preset)")
    mod, _ = _sites(os.path.join(build, "tlsdrill"))
    rule = "ALPN-NO-OVERLAP"
    alerts = mod.rule_alerts()[rule]
    assert len(alerts) == 1, alerts
    out = tmp_path / "r.json"
    env = dict(os.environ, TD_PLANT_ALERT="%s:%s" % (rule, alerts[0]))
    r = subprocess.run([os.path.join(build, "tlsdrill"), "run", "scenarios", "--rule", rule, "--json",
                        str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, r.stdout[-2000:]
    cases = [c for c in json.loads(out.read_text())["cases"] if c["expect"] == "rule"]
    assert cases
    for c in cases:
        assert c["grade"] == "alert-differs" and c["actual"] == "alert " + alerts[0], c
        assert c["expected"].startswith("no alert"), c
