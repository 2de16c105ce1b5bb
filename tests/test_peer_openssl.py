"""`tlsdrill run --peer openssl`: OpenSSL's libssl in process as the SUT,
and its expectations file (scenarios/expectations/openssl.txt)."""
import json
import subprocess

from conftest import ROOT

# Table labels of cases that fail the run (the grade in capitals; a changed known deviation).
FAILING = ("FAIL", "ALERT-DIFFERS", "ERROR", "CHANGED")

EXPECT = ROOT / "scenarios" / "expectations" / "openssl.txt"


def run(tlsdrill, *args):
    return subprocess.run([str(tlsdrill), "run", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_baseline_handshakes_both_ways(tlsdrill, tmp_path):
    out = tmp_path / "r.json"
    # Engine client vs openssl server, engine server vs openssl client, and resumption both ways.
    for name in ("server-cert-ok[", "server-client-auth-ok[", "alpn-overlap", "client-resume-ok", "psk-resumed[dhe]"):
        p = run(tlsdrill, "scenarios/", "--peer", "openssl", "--filter", name, "--json", str(out))
        d = json.loads(out.read_text())
        assert d["cases"], name
        assert all(c["verdict"] == "pass" for c in d["cases"]), p.stdout
    p = run(tlsdrill, "scenarios/client/", "--peer", "openssl", "--json", str(out))
    d = json.loads(out.read_text())
    assert d["peer"] == "openssl" and d["peer_version"].startswith("OpenSSL 3.")
    assert any(c["verdict"] == "pass" and c["expect"] == "handshake" for c in d["cases"])


def test_suites_pass_with_expectations(tlsdrill):
    p = run(tlsdrill, "scenarios/", "--peer", "openssl", "--expect", str(EXPECT))
    assert p.returncode == 0, p.stdout[-3000:]
    assert "; 0 failing (strict)" in p.stdout.splitlines()[-1]


def test_removing_an_expectation_fails_exactly_that_case(tlsdrill, tmp_path):
    lines = EXPECT.read_text().splitlines()
    victim = next(l for l in lines if l.startswith("psk-binder-flipped[01]"))
    trimmed = tmp_path / "openssl.txt"
    trimmed.write_text("\n".join(l for l in lines if l != victim) + "\n")
    p = run(tlsdrill, "scenarios/", "--peer", "openssl", "--expect", str(trimmed))
    assert p.returncode == 1
    failing = [l.split()[0] for l in p.stdout.splitlines() if l.split() and l.split()[-1] in FAILING]
    assert failing == ["psk-binder-flipped[01]"]


def test_changed_outcome_of_a_deviation_fails(tlsdrill, tmp_path):
    lines = EXPECT.read_text().splitlines()
    edited = [l.replace(" illegal_parameter ", " decode_error ", 1) if l.startswith("psk-binder-corrupt ") else l
              for l in lines]
    f = tmp_path / "openssl.txt"
    f.write_text("\n".join(edited) + "\n")
    p = run(tlsdrill, "scenarios/", "--peer", "openssl", "--expect", str(f))
    assert p.returncode == 1
    failing = [l.split()[0] for l in p.stdout.splitlines() if l.split() and l.split()[-1] in FAILING]
    assert failing == ["psk-binder-corrupt"]


def test_unsupported_case_is_reported(tlsdrill, tmp_path):
    out = tmp_path / "r.json"
    p = run(tlsdrill, "scenarios/", "--peer", "openssl", "--filter", "cv-sha1", "--json", str(out))
    d = json.loads(out.read_text())
    cases = [c for c in d["cases"] if c["name"] == "cv-sha1"]
    assert [c["verdict"] for c in cases] == ["unsupported"]
    assert "ecdsa_sha1" in cases[0]["reason"]
    assert p.returncode == 0  # no verdict on the SUT: reported, not failed
    n = len(d["cases"])
    assert all(c["verdict"] == "unsupported" for c in d["cases"]), d["cases"]
    assert "%d unsupported" % n in p.stdout.splitlines()[-1]


def test_hrr_cookie_through_ssl_stateless(tlsdrill, tmp_path):
    """libssl's stateless mode sends the cookie; a changed cookie is refused
    (OpenSSL: decode_error, a known deviation), an echoed one completes."""
    out = tmp_path / "r.json"
    run(tlsdrill, "scenarios/server/hrr/", "--peer", "openssl", "--filter", "ch2-cookie-changed", "--json", str(out))
    d = json.loads(out.read_text())
    assert d["cases"] and all(c["actual"] == "alert decode_error" for c in d["cases"]), d["cases"]
    scn = tmp_path / "cookie.scn"
    scn.write_text("scenario  cookie-echoed-no-compat\nsut       server\nserver    hrr always\n"
                   "server    cookie\nexpect    message HelloRetryRequest\n")
    p = run(tlsdrill, str(scn), "--peer", "openssl")
    assert p.returncode == 0, p.stdout
