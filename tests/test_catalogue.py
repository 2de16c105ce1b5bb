"""The rule catalogue in the repository (engine/catalogue/) is what the build
uses: rules.def and rules_allow.def are generated from it, and `tlsdrill
rules ID` shows each rule's allowances with their citations."""
import sys

from conftest import ROOT, run


def test_generated_files_match_the_catalogue():
    r = run([sys.executable, ROOT / "tools" / "gen_rules.py", "--check"], cwd=ROOT)
    assert r.returncode == 0, r.stderr


def test_rule_detail_shows_allowances(tlsdrill):
    r = run([tlsdrill, "rules", "CH-FALLBACK-SCSV"])
    assert r.returncode == 0, r.stderr
    assert "level:      MUST" in r.stdout and "alert:      inappropriate_fallback" in r.stdout
    assert "protocol_version: when the server supports no version" in r.stdout
    assert 'RFC 7507 §3: "the server MUST respond with a fatal inappropriate_fallback alert' in r.stdout
    for rule in ("SH-DOWNGRADE-SENTINEL", "SV-SH-MISSING", "SV-SH-INVALID", "SV-HRR-INVALID"):
        out = run([tlsdrill, "rules", rule]).stdout
        assert "protocol_version: when" in out and "Appendix D.1" in out, out
    # A rule that names no alert: the choice is a SHOULD (RFC 8446 6.2).
    out = run([tlsdrill, "rules", "PSK-BINDER-INVALID"]).stdout
    assert "by RFC 8446 §6.2 the choice of alert is a SHOULD" in out and "also allowed: none" in out
    # A prefix still lists.
    assert run([tlsdrill, "rules", "CH-"]).stdout.splitlines()[-1].endswith(" rules")


def test_tolerance_rules_a_sender_may_choose_bind_the_receiver(tlsdrill):
    # Table 3 "MAY (sender)": the receiver must accept what the sender may do.
    for rule in ("TOL-EXT-ORDER", "TOL-HS-FRAGMENTATION", "TOL-RECORD-PADDING", "TOL-KEY-SHARE-SUBSET"):
        assert "level:      MUST" in run([tlsdrill, "rules", rule]).stdout
