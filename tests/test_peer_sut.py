"""In-process SUT adapters (tlsdrill/sut.h): `tlsdrill run --peer gnutls-lib|wolfssl`
drive GnuTLS and wolfSSL over memory buffers, and their expectations files
(scenarios/expectations/<peer>.txt) hold for the whole suite. The tests fail when an
adapter does not really drive its library: the baselines complete (handshake, client
auth, resumption both ways), the library's own version and error strings come back."""
import json
import subprocess

import pytest

from conftest import ROOT

FAILING = ("FAIL", "ALERT-DIFFERS", "ERROR", "CHANGED")
EXPECT = ROOT / "scenarios" / "expectations"
# peer -> (version prefix, a known deviation: case, outcome, words of the library's own error)
PEERS = {
    "gnutls-lib": ("GnuTLS 3.", "cv-signature-garbage[-]", "alert illegal_parameter", "GnuTLS:"),
    "wolfssl": ("wolfSSL 5.", "psk-binder-flipped[01]", "closed", "binder does not verify"),
}


def run(tlsdrill, *args):
    return subprocess.run([str(tlsdrill), "run", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def version(tlsdrill, peer):
    p = subprocess.run([str(tlsdrill), "peers", "--version", peer], capture_output=True, text=True, timeout=30)
    return p.stdout.strip() if p.returncode == 0 else None


@pytest.fixture(params=sorted(PEERS))
def peer(request, tlsdrill):
    if version(tlsdrill, request.param) is None:
        pytest.skip("this build has no %s adapter (library not found by CMake)" % request.param)
    return request.param


def test_baselines_complete_both_ways(tlsdrill, peer, tmp_path):
    out = tmp_path / "r.json"
    # Our client vs the library's server (plain, client auth, resumption), our server vs its client.
    for name in ("server-cert-ok[", "server-client-auth-ok[", "client-resume-ok", "psk-resumed[dhe]", "alpn-overlap"):
        p = run(tlsdrill, "scenarios/", "--peer", peer, "--filter", name, "--json", str(out))
        d = json.loads(out.read_text())
        assert d["cases"], name
        assert all(c["verdict"] == "pass" for c in d["cases"]), p.stdout[-3000:]
    assert d["peer"] == peer and d["peer_version"].startswith(PEERS[peer][0]), d["peer_version"]


def test_library_answers_are_its_own(tlsdrill, peer, tmp_path):
    _, case, actual, words = PEERS[peer]
    out = tmp_path / "r.json"
    run(tlsdrill, "scenarios/", "--peer", peer, "--filter", case, "--json", str(out))
    c = next(c for c in json.loads(out.read_text())["cases"] if c["name"] == case)
    assert c["actual"] == actual, c
    assert words in c["peer_log"], c


def test_suite_passes_with_expectations(tlsdrill, peer):
    p = run(tlsdrill, "scenarios/", "--peer", peer, "--expect", str(EXPECT / ("%s.txt" % peer)))
    assert p.returncode == 0, p.stdout[-4000:]
    assert "; 0 failing (strict)" in p.stdout.splitlines()[-1]


def test_every_expectation_has_a_reviewed_reason(peer):
    for line in (EXPECT / ("%s.txt" % peer)).read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, outcome, reason = line.split(None, 2)
        assert "UNREVIEWED" not in reason, line
        if outcome not in ("unsupported", "unpinned"):
            # A deviation names the RFC section it is judged under or the library's behaviour.
            assert "RFC" in reason or "GnuTLS" in reason or "wolfSSL" in reason, line


def test_removing_an_expectation_fails_exactly_that_case(tlsdrill, peer, tmp_path):
    _, case, _, _ = PEERS[peer]
    lines = (EXPECT / ("%s.txt" % peer)).read_text().splitlines()
    trimmed = tmp_path / "x.txt"
    trimmed.write_text("\n".join(l for l in lines if not l.startswith(case + " ")) + "\n")
    p = run(tlsdrill, "scenarios/", "--peer", peer, "--expect", str(trimmed))
    assert p.returncode == 1
    failing = [l.split()[0] for l in p.stdout.splitlines() if l.split() and l.split()[-1] in FAILING]
    assert failing == [case]
