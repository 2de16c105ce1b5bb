"""sut_<lib>_server / sut_<lib>_client fuzz targets (fuzz/sut.c): mutation programs on our
engine against a TLS library in process (tlsdrill/sut.h). A short smoke: every seed of
each target replays through the library (the baselines complete a real handshake with
it), and the oracle reports nothing the library's reviewed behaviour does not explain."""
import subprocess

import pytest

from conftest import ROOT

TARGETS = [("sut_%s_%s" % (lib, side), peer) for lib, peer in
           (("openssl", "openssl"), ("gnutls", "gnutls-lib"), ("wolfssl", "wolfssl"))
           for side in ("server", "client")]


def built(tlsdrill, peer):
    p = subprocess.run([str(tlsdrill), "peers", "--version", peer], capture_output=True, text=True, timeout=30)
    return p.returncode == 0


@pytest.mark.parametrize("target,peer", TARGETS)
def test_seeds_replay_through_the_library(tlsdrill, target, peer):
    if not built(tlsdrill, peer):
        pytest.skip("no %s adapter in this build" % peer)
    corpus = ROOT / "corpus" / target
    seeds = sorted(corpus.iterdir())
    assert len(seeds) >= 30
    p = subprocess.run([str(tlsdrill), "replay", target, str(corpus)], cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-2000:]
    assert "%s: %d input(s), 0 finding(s)" % (target, len(seeds)) in p.stdout
    # The library really answered: the plain seeds complete a handshake with it.
    side = "server" if target.endswith("_server") else "client"
    traces = p.stdout.split("== ")
    done = [t for t in traces if "seed-suite-aes128" in t.split("\n")[0] or "seed-suite-aes256" in t.split("\n")[0]]
    assert len(done) == 2 and all(("%s: connected" % side) in t for t in done), p.stdout[:3000]


def test_knob_the_sut_never_saw_is_not_judged(tlsdrill, tmp_path):
    """fuzz/sut.c's twin: a knob's rule counts as broken from the configuration on, but a
    SUT that refuses an earlier message for a reason of its own never saw it. GnuTLS refuses
    a HelloRetryRequest cut into 2-byte records with decode_error before the second HRR of
    an HRR-SECOND knob (corpus/regressions/sut_gnutls_client/README-fragmented-hrr.md)."""
    if not built(tlsdrill, "gnutls-lib"):
        pytest.skip("no gnutls-lib adapter in this build")
    progs = {
        # SELECT, CFG 01 (always HRR), FRAGMENT flight 0 into 2-byte records, BUG second_hrr
        "found": ROOT / "corpus/regressions/sut_gnutls_client/oracle-knob-unseen-hrr-second-after-fragmented-hrr",
        "knob-alone": b"\x00\x01\x19\x00",  # CFG 01, BUG second_hrr
        "fragment-alone": b"\x00\x01\x16\x00\x01",  # CFG 01, FRAGMENT flight 0, 2-byte records
    }
    out = {}
    for name, prog in progs.items():
        f = prog if not isinstance(prog, bytes) else tmp_path / name
        if isinstance(prog, bytes):
            f.write_bytes(prog)
        p = subprocess.run([str(tlsdrill), "replay", "sut_gnutls_client", str(f)], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stdout + p.stderr
        out[name] = p.stdout
    # The knob the SUT saw is judged: HRR-SECOND broken, answered with unexpected_message.
    assert "breaks HRR-SECOND" in out["knob-alone"], out["knob-alone"]
    assert "alert sent unexpected_message" in out["knob-alone"], out["knob-alone"]
    # The fragmented HRR alone is what GnuTLS refuses (the library's deviation).
    assert "alert sent decode_error" in out["fragment-alone"], out["fragment-alone"]
    # Both together: refused the same way, the knob's rule is no longer counted.
    assert "alert sent decode_error" in out["found"], out["found"]
    assert "breaks HRR-SECOND" not in out["found"], out["found"]
    assert "0 finding(s)" in out["found"], out["found"]
