"""Every case checked against its rule: with the test-only `run --check-edits`
the runner builds every message a case's edits changed and parses it back;
a malformed message is allowed only in a case whose rule allows decode_error
(RFC 8446 6: a message that does not parse is a decode_error, whatever the
case meant to test)."""
import json

from conftest import ROOT, run

# The old psk-binder-missing: 59 bytes, but its vectors cover 57 (two bytes
# after the binders): it tested the parser, not PSK-BINDER-MISSING.
OLD_BINDER_MISSING = """\
scenario  psk-binder-missing-59
rule      PSK-BINDER-MISSING
sut       server
resume    ticket
send      ClientHello
  raw pre_shared_key 0014000461626364000000000004616263640000000000212000000000000000000000000000000000000000000000000000000000000000000000
expect    rule
"""


def test_every_edited_message_parses_unless_its_rule_is_a_decode_rule(tlsdrill, tmp_path):
    out = tmp_path / "r.json"
    r = run([tlsdrill, "run", "scenarios", "--check-edits", "--json", out], cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:]
    cases = json.loads(out.read_text())["cases"]
    assert cases and all(c["grade"] == "pass" for c in cases)


def test_a_malformed_edit_is_caught(tlsdrill, tmp_path):
    f = tmp_path / "old.scn"
    f.write_text(OLD_BINDER_MISSING)
    out = tmp_path / "r.json"
    r = run([tlsdrill, "run", f, "--check-edits", "--json", out], cwd=ROOT)
    assert r.returncode == 1
    c = json.loads(out.read_text())["cases"][0]
    assert c["grade"] == "error", c
    assert "our edited ClientHello does not parse" in c["reason"]
    assert "no rule of the case allows decode_error" in c["reason"]
    # Without the check the engine itself now answers it as what it is: decode_error.
    r = run([tlsdrill, "run", f, "--json", out], cwd=ROOT)
    c = json.loads(out.read_text())["cases"][0]
    assert c["actual"] == "alert decode_error" and c["grade"] == "alert-differs", c
