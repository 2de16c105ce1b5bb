"""The reports of `tlsdrill run` as CI reads them: the JUnit file validates
against the Jenkins/Ant schema (tests/junit.xsd, with xmllint), its counts
match its elements, known deviations are <skipped> (pytest's xfail), and the
JSON report keeps every field whole."""
import json
import shutil
import xml.etree.ElementTree as ET

import pytest

from conftest import ROOT, run

XSD = ROOT / "tests" / "junit.xsd"

CASES = """\
scenario  ok
sut       server
expect    handshake

scenario  wrong-alert
rule      CH-COMPRESSION
sut       server
send      ClientHello
  set compression 0100
expect    alert decode_error

scenario  known-one
rule      CH-COMPRESSION
sut       server
send      ClientHello
  set compression 0100
expect    alert decode_error

scenario  never-applies
sut       server
send      ClientHello 2
  add 0xfafa 00
expect    handshake

scenario  every-alert
rule      CH-COMPRESSION
sut       server
send      ClientHello
  set compression 0100
expect    alert close_notify unexpected_message bad_record_mac record_overflow handshake_failure bad_certificate unsupported_certificate certificate_revoked certificate_expired certificate_unknown illegal_parameter unknown_ca access_denied decode_error decrypt_error protocol_version
"""


def validate(path):
    if shutil.which("xmllint") is None:
        pytest.skip("xmllint (libxml2-utils) not installed: tools/setup.sh installs it")
    r = run(["xmllint", "--noout", "--schema", XSD, path])
    assert r.returncode == 0, r.stderr


def counts_match(path):
    """The suite's attributes count its elements, as CI servers count them."""
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    s = suites[0]
    cases = s.findall("testcase")
    n = {k: sum(1 for c in cases if c.find(k) is not None) for k in ("failure", "error", "skipped")}
    assert int(s.get("tests")) == len(cases)
    assert int(s.get("failures")) == n["failure"]
    assert int(s.get("errors")) == n["error"]
    assert int(s.get("skipped")) == n["skipped"]
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == \
        (s.get("tests"), s.get("failures"), s.get("errors"))
    assert float(s.get("time")) >= 0 and all(float(c.get("time")) >= 0 for c in cases)
    return {c.get("name"): c for c in cases}


def test_junit_validates_and_counts_its_elements(tlsdrill, tmp_path):
    f = tmp_path / "mixed.scn"
    f.write_text(CASES)
    dev = tmp_path / "peer.txt"
    dev.write_text("known-one  illegal_parameter the peer answers with illegal_parameter\n")
    xml = tmp_path / "j.xml"
    r = run([tlsdrill, "run", f, "--expect", dev, "--junit", xml], cwd=ROOT)
    assert r.returncode == 1, r.stdout
    validate(xml)
    cases = counts_match(xml)
    assert set(cases) == {"ok", "wrong-alert", "known-one", "never-applies", "every-alert"}
    assert all(c.get("classname") == str(f)[:-4].replace("/", ".") for c in cases.values())
    assert cases["ok"].find("failure") is None and cases["ok"].get("status") == "pass"
    assert cases["wrong-alert"].find("failure").get("type") == "alert-differs"
    # A known deviation: skipped, the way pytest writes an xfail.
    sk = cases["known-one"].find("skipped")
    assert sk.get("message") == "known deviation: illegal_parameter the peer answers with illegal_parameter"
    assert cases["known-one"].find("failure") is None
    assert cases["never-applies"].find("error") is not None
    out = cases["wrong-alert"].find("system-out").text
    assert "grade: alert-differs" in out and "level: MUST" in out and "rules: CH-COMPRESSION" in out


def test_junit_of_a_peer_with_known_deviations_is_green(tlsdrill, tmp_path):
    """The README's command: the openssl peer with its expectations exits 0,
    and the JUnit file then holds no <failure> and no <error>."""
    xml = tmp_path / "o.xml"
    r = run([tlsdrill, "run", "scenarios/server/psk", "--peer", "openssl", "--expect",
             "scenarios/expectations/openssl.txt", "--junit", xml], cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:]
    validate(xml)
    cases = counts_match(xml)
    assert not any(c.find("failure") is not None or c.find("error") is not None for c in cases.values())
    skipped = [c.find("skipped").get("message") for c in cases.values() if c.find("skipped") is not None]
    assert any(m.startswith("known deviation: ") for m in skipped)
    # Unsupported cases the expectations list are known deviations too; the grade stays visible.
    unsup = [c for c in cases.values() if c.get("status") == "unsupported"]
    assert unsup and all(c.find("skipped") is not None for c in unsup)


def test_json_keeps_the_whole_expected_list(tlsdrill, tmp_path):
    f = tmp_path / "mixed.scn"
    f.write_text(CASES)
    out = tmp_path / "r.json"
    run([tlsdrill, "run", f, "--filter", "every-alert", "--json", out, "--junit", tmp_path / "j.xml"], cwd=ROOT)
    case = json.loads(out.read_text())["cases"][0]
    assert case["expected"].split("|") == CASES.split("expect    alert ")[-1].split()
    assert len(case["expected"]) > 200
    assert case["grade"] == "pass" and case["actual"] == "alert illegal_parameter"
    assert case["expected"] in ET.parse(tmp_path / "j.xml").getroot().find(".//system-out").text
