"""`tlsdrill rules --sites`: each rule's check sites in the engine (file:line,
the alert that goes out), the cases naming it, where a rule without a site
is judged. The sites are read from the sources: every listed line names the
rule (directly, or as a row of the message-order tables)."""
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def rules(tlsdrill, *args):
    return subprocess.run([tlsdrill, "rules", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_every_listed_site_names_its_rule(tlsdrill):
    r = rules(tlsdrill, "--sites")
    assert r.returncode == 0, r.stderr
    m = re.search(r"^(\d+) rules, (\d+) with a check site in the engine$", r.stdout, re.M)
    # Every rule of the generated catalogue and the local ones (LOCAL-INTERNAL).
    inc = ROOT / "engine/include/tlsdrill"
    catalogue = sum(t.count("\nTD_RULE(") + t.startswith("TD_RULE(")
                    for t in ((inc / "rules.def").read_text(), (inc / "rules_local.def").read_text()))
    assert m and int(m.group(1)) == catalogue and int(m.group(2)) >= 110, r.stdout[-300:]
    rule, sites = None, 0
    for line in r.stdout.splitlines():
        head = re.match(r"^([A-Z0-9-]+)  RFC 8446", line)
        if head:
            rule = head.group(1)
            continue
        site = re.match(r"^\s+(?:checked:\s+)?(engine/\S+):(\d+) \(", line)
        if site:
            text = (ROOT / site.group(1)).read_text().splitlines()[int(site.group(2)) - 1]
            # The rule argument sits on this line; the one variable the scanner
            # resolves by its values is td_cert_weak_signature's result (CT-MD5, CT-SHA1).
            assert "TD_RULE_" + rule.replace("-", "_") in text or (
                rule in ("CT-MD5", "CT-SHA1") and ", weak," in text), (rule, site.group(0), text)
            sites += 1
    assert sites > 130


def test_a_rule_in_full(tlsdrill):
    r = rules(tlsdrill, "SV-LEGACY-SSL3", "--sites")
    assert r.returncode == 0, r.stderr
    assert re.search(r"checked:\s+engine/client_hello\.c:\d+ \(protocol_version\)", r.stdout), r.stdout
    assert re.search(r"engine/server\.c:\d+ \(protocol_version\)", r.stdout), r.stdout
    assert re.search(r"cases:\s+[1-9]\d* \(SUT server\)", r.stdout), r.stdout


def test_rules_without_a_site_say_where_they_are_judged(tlsdrill):
    for rid in ("TOL-CCS", "AL-CLOSE-AFTER-FATAL"):
        r = rules(tlsdrill, rid, "--sites")
        assert r.returncode == 0, r.stderr
        assert "nowhere in the engine" in r.stdout and "engine/scenario/judge.c" in r.stdout, r.stdout
