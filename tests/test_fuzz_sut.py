"""sut_<lib>_server / sut_<lib>_client fuzz targets (fuzz/sut.c): mutation programs on our
engine against a TLS library in process (tlsdrill/sut.h). A short smoke: every seed of
each target replays through the library (the baselines complete a real handshake with
it), and the oracle reports nothing the library's reviewed behaviour does not explain.

The planted SUT (issue 15's proof): sut_engine_server puts our own engine behind the
same adapter API (engine/peers/engine_sut.c); with a wrong alert planted in it
(TD_FUZZ_PLANT_WRONG_ALERT, the context's test-only plant), the libFuzzer target finds
it from its seed corpus within a fixed number of runs, judging only what crossed the
wire, as it judges a foreign library; without the plant the same run finds nothing."""
import os
import pathlib
import shutil
import subprocess

import pytest

from conftest import ROOT, run

LIBFUZZER = pathlib.Path(os.environ.get("TD_LIBFUZZER_BUILD_DIR", ROOT / "build" / "libfuzzer"))
ORACLE = "==tlsdrill-oracle== "

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


# rule planted in the engine-as-SUT -> the seed that breaks it for sure (corpus.c)
PLANTED = {
    "FIN-BAD": "seed-bug-bad-finished",           # a knob of our client (its Finished)
    "PSK-BINDER-INVALID": "seed-binder-corrupt",  # resumption: the binder the SUT selects
}


def _fuzz(exe, work, artifacts, plant=None):
    env = dict(os.environ)
    env.pop("TD_FUZZ_PLANT_WRONG_ALERT", None)
    if plant is not None:
        env["TD_FUZZ_PLANT_WRONG_ALERT"] = plant
    # -seed and -runs (not only a time limit): the same run on every machine. The seeds
    # alone are 38 inputs; the bound leaves room, the limit on time is only a guard.
    return run([exe, "-seed=1", "-runs=200", "-max_total_time=120", "-timeout=10",
                "-artifact_prefix=%s/" % artifacts, work], env=env, timeout=300)


@pytest.mark.parametrize("rule", sorted(PLANTED))
def test_planted_sut_is_found_from_the_seeds(tlsdrill, rule, tmp_path):
    exe = LIBFUZZER / "fuzz" / "fuzz_sut_engine_server"
    if not exe.exists():
        pytest.skip("libFuzzer build missing (%s): cmake --build --preset libfuzzer" % exe)
    seeds = ROOT / "corpus" / "sut_engine_server"
    assert (seeds / PLANTED[rule]).exists()
    # Without the plant: the engine as SUT answers every seed and mutation correctly.
    clean = tmp_path / "clean"
    shutil.copytree(seeds, clean / "corpus")
    r = _fuzz(exe, clean / "corpus", clean)
    assert r.returncode == 0 and ORACLE not in r.stderr, r.stderr[-3000:]
    assert "DONE" in r.stderr and not list(clean.glob("crash-*"))
    # With it: one finding, the planted rule, an alert the rule does not allow, seen on
    # the wire (the oracle gets no rule from a SUT: "reported NONE").
    planted = tmp_path / "planted"
    shutil.copytree(seeds, planted / "corpus")
    r = _fuzz(exe, planted / "corpus", planted, plant=rule)
    assert r.returncode != 0, "the oracle did not fire:\n" + r.stderr[-3000:]
    lines = [l for l in r.stderr.splitlines() if l.startswith(ORACLE)]
    assert len(lines) == 1, r.stderr[-3000:]
    head = ORACLE + "sut_engine_server: wrong-alert-for-mutation: rule %s alert " % rule
    assert lines[0].startswith(head), lines[0]
    alert = lines[0][len(head):].split(":")[0]
    assert alert in ("internal_error", "decode_error", "handshake_failure"), lines[0]
    # Within the bound: libFuzzer's run counter when it stopped.
    execs = [int(l.split()[0][1:]) for l in r.stderr.splitlines()
             if l.startswith("#") and l.split()[0][1:].isdigit()]
    assert not execs or max(execs) <= 200, execs[-3:]
    # The crash file replays to the same line with the plant, to nothing without it.
    crash = next(planted.glob("crash-*"))
    rep = run([tlsdrill, "replay", "sut_engine_server", crash, "--quiet", "--plant-wrong-alert",
               rule])
    assert rep.returncode == 1 and lines[0][len(ORACLE):] in rep.stdout, rep.stdout[-2000:]
    ok = run([tlsdrill, "replay", "sut_engine_server", crash, "--quiet"])
    assert ok.returncode == 0 and "0 finding(s)" in ok.stdout, ok.stdout[-2000:]


def _trace(tlsdrill, target, *inputs):
    p = subprocess.run([str(tlsdrill), "replay", target] + [str(i) for i in inputs], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-2000:]
    return {t.split("\n")[0].split(" (")[0].rsplit("/", 1)[-1]: t for t in p.stdout.split("== ")[1:]}


def test_bad_binder_is_judged_only_when_the_sut_selects_the_psk(tlsdrill):
    """RFC 8446 4.2.11: the server validates the binder of the PSK it accepts. wolfSSL
    resumes a ticket only with its own suite: offered only TLS_CHACHA20_POLY1305_SHA256
    with a TLS_AES_128_GCM_SHA256 ticket and a corrupt binder, it does a full handshake
    (no binder to check: not judged); the engine as SUT takes the PSK (same hash) and
    must refuse the binder (judged)."""
    name = "accepted-broken-binder-psk-not-selected"
    prog = ROOT / "corpus" / "regressions" / "sut_wolfssl_server" / name
    eng = _trace(tlsdrill, "sut_engine_server", prog)[name]
    assert "breaks PSK-BINDER-INVALID" in eng and "alert sent decrypt_error" in eng, eng
    if not built(tlsdrill, "wolfssl"):
        pytest.skip("no wolfssl adapter in this build")
    wolf = _trace(tlsdrill, "sut_wolfssl_server", prog)[name]
    assert "server: connected" in wolf and "resumed" not in wolf, wolf
    assert "breaks PSK-BINDER-INVALID" not in wolf and "verdict: ok" in wolf, wolf


@pytest.mark.parametrize("lib,peer", [("openssl", "openssl"), ("gnutls", "gnutls-lib"),
                                      ("wolfssl", "wolfssl")])
def test_client_resumption_programs_run_after_a_failed_input(tlsdrill, lib, peer, tmp_path):
    """A client SUT resumes a session made by a plain handshake just before each
    resumption program: an input that fails (a bad Finished from our server), or one of
    another suite, does not change what the next resumption program resumes, and what a
    library cannot express says why."""
    if not built(tlsdrill, peer):
        pytest.skip("no %s adapter in this build" % peer)
    seeds = ROOT / "corpus" / ("sut_%s_client" % lib)
    order = ["seed-bug-bad-finished", "seed-resume", "seed-suite-aes256", "seed-resume",
             "seed-bug-bad-finished", "seed-hrr-resume", "seed-bug-bad-finished",
             "seed-resume-psk-ke", "seed-bug-bad-finished", "seed-resume-0rtt"]
    for i, name in enumerate(order):
        shutil.copy(seeds / name, tmp_path / ("%02d-%s" % (i, name)))
    traces = _trace(tlsdrill, "sut_%s_client" % lib, tmp_path)
    ran = 0
    for key, t in traces.items():
        if "resume" not in key:
            continue
        if "state unsupported" in t:
            assert "why: " in t and "no session" not in t, t  # the library's own limit
            continue
        assert "client: connected, state -, resumed" in t, t
        ran += 1
    assert ran >= 3, traces


def test_knob_the_sut_never_saw_is_not_judged(tlsdrill, tmp_path):
    """fuzz/sut.c's twin: a knob's rule counts as broken from the configuration on, but a
    SUT that refuses an earlier message for a reason of its own never saw it. GnuTLS refuses
    a HelloRetryRequest cut into 2-byte records with decode_error before the second HRR of
    an HRR-SECOND knob (corpus/regressions/sut_gnutls_client/README)."""
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


def test_same_input_same_verdict_after_others(tlsdrill, tmp_path):
    """Same input, same verdict, whatever ran before it in the process
    (corpus/regressions/sut_openssl_client/README). libssl marks a session not resumable
    after a fatal alert; a client SUT that resumed the session its previous connection
    kept then offered no PSK, and a knob of our server whose message never went out
    (psk_identity_out_of_range: a ServerHello with pre_shared_key) was still counted as
    broken: "accepted-broken PSK-SH-IDENTITY-RANGE ... connected" on the second run."""
    if not built(tlsdrill, "openssl"):
        pytest.skip("no openssl adapter in this build")
    found = ROOT / "corpus/regressions/sut_openssl_client/accepted-broken-psk-identity-range-second-run"
    seeds = ROOT / "corpus/sut_openssl_client"
    order = [found, found, seeds / "seed-resume-0rtt", found, seeds / "seed-resume"]
    for i, f in enumerate(order):
        shutil.copy(f, tmp_path / ("%02d-%s" % (i, f.name)))
    p = subprocess.run([str(tlsdrill), "replay", "sut_openssl_client", str(tmp_path)], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and "5 input(s), 0 finding(s)" in p.stdout, p.stdout[-3000:]
    traces = {t.split("\n")[0].split(" (")[0].rsplit("/", 1)[-1]: t for t in p.stdout.split("== ")[1:]}
    for key, t in traces.items():
        if found.name in key:  # every run: the PSK offered and accepted, the knob sent, refused
            assert "breaks PSK-SH-IDENTITY-RANGE" in t and "alert sent illegal_parameter" in t, t
        else:  # after a fatal alert: still a resumption
            assert "client: connected, state -, resumed" in t, t
    # libFuzzer runs a single input twice (its leak check): no finding either.
    exe = LIBFUZZER / "fuzz" / "fuzz_sut_openssl_client"
    if exe.exists():
        r = run([exe, "-artifact_prefix=%s/" % tmp_path, str(found)], timeout=120)
        assert r.returncode == 0 and ORACLE not in r.stderr, r.stderr[-3000:]


def test_gnutls_second_client_hello_after_0rtt_is_protected(tlsdrill, tmp_path):
    """GnuTLS 3.7.9 resuming with 0-RTT sends its second ClientHello under the 0-RTT keys
    after our HelloRetryRequest; our server skips it as rejected early data (RFC 8446
    4.2.10) and the handshake stalls (corpus/regressions/sut_gnutls_client/README). A knob
    of a later message (second_hrr) therefore never goes out and breaks nothing: no
    HRR-SECOND verdict rests on a message GnuTLS never got."""
    if not built(tlsdrill, "gnutls-lib"):
        pytest.skip("no gnutls-lib adapter in this build")
    prog = tmp_path / "hrr-0rtt-second-hrr"
    prog.write_bytes(b"TDP1\x00\x61\x19\x00")  # CFG HRR + resume + 0-RTT, BUG second_hrr
    t = _trace(tlsdrill, "sut_gnutls_client", prog)[prog.name]
    assert "0 applied" in t and "breaks" not in t and "client: handshake" in t, t
    # The cause on the wire: after the HRR, the client's next record is application_data.
    pcap = tmp_path / "ed.pcapng"
    p = run([tlsdrill, "run", ROOT / "scenarios/client/psk/early-data.scn", "--peer", "gnutls-lib",
             "--filter", "ed-client-rejected-by-hrr", "--pcap", pcap, "--lenient"], timeout=120)
    assert "stalled in S_WAIT_CH2" in p.stdout, p.stdout
    d = run([tlsdrill, "dissect", pcap], timeout=60)
    stream = d.stdout.split("stream index=1")[1]
    recs = [l.strip() for l in stream.splitlines() if l.strip().startswith(("record ", "handshake "))]
    hrr = next(i for i, l in enumerate(recs) if "hello_retry_request" in l)
    after = [l for l in recs[hrr + 1:] if "dir=C->S" in l]
    assert after and "type=application_data" in after[0], recs
    assert not any("client_hello" in l for l in recs[hrr + 1:]), recs


def test_same_input_same_ending_gnutls_server_0rtt(tlsdrill, tmp_path):
    """Our client's ticket age could come out 1 ms above the GnuTLS server's own, which
    then rejects the 0-RTT and takes another path: the same input ended in two ways
    (corpus/regressions/sut_gnutls_server/README). Every run now gets GnuTLS's own
    ending for 0-RTT after its HelloRetryRequest: bad_record_mac on our second ClientHello."""
    if not built(tlsdrill, "gnutls-lib"):
        pytest.skip("no gnutls-lib adapter in this build")
    found = ROOT / "corpus/regressions/sut_gnutls_server/hrr-after-accepted-0rtt-bad-record-mac"
    for i in range(12):
        shutil.copy(found, tmp_path / ("%02d" % i))
    traces = _trace(tlsdrill, "sut_gnutls_server", tmp_path)
    endings = {t.split("\n")[2].strip() for t in traces.values()}
    assert len(traces) == 12 and endings == {
        "server: failed, state failed, rule -, alert sent bad_record_mac"}, endings


def test_second_hrr_split_is_the_known_gnutls_misparse(tlsdrill):
    """A second HelloRetryRequest (HRR-SECOND knob) cut into 26-byte records: GnuTLS 3.7.9
    takes it for a ServerHello and refuses its cookie with unsupported_extension, the known
    misparse of an HRR whose first record ends before byte 39 (fuzz/sut.c k_known,
    corpus/regressions/sut_gnutls_client/README). The harness looked only at the first HRR
    and reported wrong-alert-for-mutation."""
    if not built(tlsdrill, "gnutls-lib"):
        pytest.skip("no gnutls-lib adapter in this build")
    f = ROOT / "corpus/regressions/sut_gnutls_client/wrong-alert-second-hrr-split"
    p = subprocess.run([str(tlsdrill), "replay", "sut_gnutls_client", str(f)], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    # The knob's second HRR went out (its rule is broken) and GnuTLS refused it ...
    assert "breaks HRR-SECOND" in p.stdout, p.stdout
    assert "alert sent unsupported_extension" in p.stdout, p.stdout
    # ... for the known misparse: no finding.
    assert "0 finding(s)" in p.stdout, p.stdout
