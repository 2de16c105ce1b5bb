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
