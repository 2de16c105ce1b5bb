"""Fuzz harnesses (fuzz/, fuzz/README.md): replay of every seed and
regression corpus, malformed tiny inputs, `tlsdrill replay` / `tlsdrill
corpus`, each libFuzzer target briefly on its seeds, an AFL++ smoke run, and
the planted-bug proof of the RFC alert oracle (a test-only build that sends
a wrong alert for named rules; the matching targets must report it from
their seed corpora)."""
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import pytest

from conftest import ROOT, run

sys.path.insert(0, str(ROOT / "tools"))
from fuzzctl_lib.layout import read_target_names  # noqa: E402

DEFAULT = pathlib.Path(os.environ.get("TD_BUILD_DIR", ROOT / "build" / "default"))
ASAN = pathlib.Path(os.environ.get("TD_ASAN_BUILD_DIR", ROOT / "build" / "asan"))
LIBFUZZER = pathlib.Path(os.environ.get("TD_LIBFUZZER_BUILD_DIR", ROOT / "build" / "libfuzzer"))
AFL = pathlib.Path(os.environ.get("TD_AFL_BUILD_DIR", ROOT / "build" / "afl"))
CORPUS = ROOT / "corpus"
ORACLE = "==tlsdrill-oracle== "


def targets():
    return read_target_names(ROOT / "fuzz" / "targets.txt")


def base(target):
    return target[:-3] if target.endswith("_fm") else target


def ours():
    """Every target: each is built (fuzz/target_main.c, or its own source)."""
    return targets()


def test_targets_file_lists_the_contract_names():
    names = targets()
    for t in ["client_hello", "server_hello", "second_client_hello", "psk_binders", "record",
              "scenario_parser", "differential"]:
        assert t in names
        if t not in ("scenario_parser", "differential"):
            assert t + "_fm" in names
    for t in ours():
        if base(t) != "differential":
            assert (ROOT / "fuzz" / (base(t) + ".options")).exists(), t


@pytest.mark.parametrize("target", ours())
def test_replay_executable_over_corpora(target):
    exe = DEFAULT / "fuzz" / ("replay_" + target)
    assert exe.exists(), "not built: %s" % exe
    seeds = CORPUS / target
    regressions = CORPUS / "regressions" / target
    assert seeds.is_dir() and any(seeds.iterdir()), "no seed corpus for %s" % target
    assert regressions.is_dir()
    r = run([exe, seeds, regressions], cwd="/")  # any cwd: certificates are embedded
    assert r.returncode == 0, r.stderr[-2000:]
    assert ORACLE not in r.stderr


@pytest.mark.parametrize("target", ours())
def test_tiny_inputs_get_a_verdict_under_asan(target, tmp_path):
    """Empty and short inputs (every size up to 3 bytes, a few byte values)
    run clean under ASan+UBSan."""
    exe = ASAN / "fuzz" / ("replay_" + target)
    if not exe.exists():
        exe = DEFAULT / "fuzz" / ("replay_" + target)
    values = [0x00, 0x01, 0x14, 0x16, 0x17, 0x54, 0x80, 0xff]
    n = 0
    (tmp_path / "empty").write_bytes(b"")
    for size in range(1, 4):
        for v in values:
            (tmp_path / ("%d-%02x" % (size, v))).write_bytes(bytes([v]) * size)
            n += 1
    (tmp_path / "magic-only").write_bytes(b"TDP1")
    (tmp_path / "magic-short").write_bytes(b"TDP")
    r = run([exe, tmp_path])
    assert r.returncode == 0, r.stderr[-2000:]
    assert "inputs, no finding" in r.stderr


def test_cli_replay_prints_records_messages_and_verdict(tlsdrill):
    r = run([tlsdrill, "replay", "psk_binders", CORPUS / "psk_binders" / "seed-binder-corrupt"])
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    # Decoded by the library dissector (dissect.h), both directions.
    assert "record dir=C->S type=handshake (22)" in out
    assert "handshake type=client_hello (1)" in out
    assert "extension type=pre_shared_key (41)" in out
    assert "alert level=fatal (2) description=decrypt_error (51)" in out
    assert "breaks PSK-BINDER-INVALID" in out
    assert "rule PSK-BINDER-INVALID, alert sent decrypt_error" in out
    assert "verdict: ok" in out


def test_cli_replay_odd_inputs_and_usage(tlsdrill, tmp_path):
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "empty").write_bytes(b"")
    (odd / "junk").write_bytes(bytes(range(256)) * 3)
    (odd / "half-record").write_bytes(b"\x16\x03\x01\x02\x00\x01")
    for t in ["client_hello", "server_hello", "record", "scenario_parser", "psk_binders_fm"]:
        r = run([tlsdrill, "replay", t, odd, "--json", tmp_path / "out.json"])
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr
        assert "3 input(s), 0 finding(s)" in r.stdout
        assert (tmp_path / "out.json").read_text().startswith("[")
    assert run([tlsdrill, "replay", "no_such_target", odd]).returncode == 2
    assert run([tlsdrill, "replay", "client_hello"]).returncode == 2
    assert run([tlsdrill, "replay", "client_hello", tmp_path / "missing"]).returncode == 2


def test_cli_replay_decrypts_with_the_runs_key_log(tlsdrill):
    """The server's encrypted flight is shown decrypted (the run's key log
    feeds the dissector)."""
    seed = sorted(p for p in (CORPUS / "server_hello").iterdir() if p.is_file())[0]
    r = run([tlsdrill, "replay", "server_hello", seed])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "protection=handshake traffic inner=handshake (22)" in r.stdout
    assert "handshake type=encrypted_extensions (8)" in r.stdout
    assert "handshake type=finished (20)" in r.stdout


def test_cli_replay_pcap_and_keylog(tlsdrill, tmp_path):
    r = run([tlsdrill, "replay", "server_hello", CORPUS / "server_hello", "--quiet",
             "--pcap", tmp_path / "x.pcap", "--keylog", tmp_path / "x.keys"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "x.pcap").read_bytes()[:4] in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4")
    assert "CLIENT_HANDSHAKE_TRAFFIC_SECRET" in (tmp_path / "x.keys").read_text()


def test_cli_replay_differential_corpora(tlsdrill, tmp_path):
    """`tlsdrill replay differential`: both servers' endings per input; the
    seed corpus and the regressions (every known row) replay clean."""
    r = run([tlsdrill, "replay", "differential", CORPUS / "differential",
             "--json", tmp_path / "d.json"])
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    assert "ours (engine server): server_hello" in r.stdout
    assert "theirs (libssl server): handshake_failure" in r.stdout
    assert ORACLE not in r.stdout
    n = len([p for p in (CORPUS / "differential").iterdir() if not p.name.startswith(".")])
    assert "differential: %d input(s), 0 finding(s)" % n in r.stdout
    assert '"theirs": "server_hello"' in (tmp_path / "d.json").read_text()
    r = run([tlsdrill, "replay", "differential", CORPUS / "regressions" / "differential"])
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    assert r.stdout.count("  known: ") >= 10
    assert "known: openssl: an empty cipher_suites" in r.stdout
    # A mutation program is not an input of this target; junk still gets a verdict.
    (tmp_path / "prog").write_bytes(b"TDP1\x00\x01")
    (tmp_path / "junk").write_bytes(bytes(range(256)))
    r = run([tlsdrill, "replay", "differential", tmp_path / "prog", tmp_path / "junk"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "skipped" in r.stdout and "2 input(s), 0 finding(s)" in r.stdout


def test_cli_replay_differential_plant_reaches_the_engine(tlsdrill):
    """--plant-wrong-alert changes the engine server's alert in the
    differential target. The planted internal_error for GEN-NO-COMMON-PARAMS
    differs from libssl's handshake_failure, but that rule allows libssl's
    alert, so the differential oracle (which compares servers, not the
    catalogue) does not report it: exit 0."""
    r = run([tlsdrill, "replay", "differential", CORPUS / "differential" / "suites-ccm-only",
             "--plant-wrong-alert", "GEN-NO-COMMON-PARAMS"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ours (engine server): internal_error, rule GEN-NO-COMMON-PARAMS" in r.stdout


@pytest.mark.parametrize("target", ["client_hello", "client_hello_fm"])
def test_cli_replay_planted_wrong_alert_is_a_finding(tlsdrill, target):
    """The hidden --plant-wrong-alert RULE makes the side under test answer
    RULE with an alert the rule does not allow: replay must exit 1 with the
    oracle line; the same corpus without it exits 0."""
    rule, seed = PLANTED["client_hello"]
    clean = run([tlsdrill, "replay", target, CORPUS / target, "--quiet"])
    assert clean.returncode == 0, clean.stdout[-2000:] + clean.stderr
    assert ORACLE not in clean.stdout
    r = run([tlsdrill, "replay", target, CORPUS / target, "--quiet",
             "--plant-wrong-alert", rule])
    assert r.returncode == 1, r.stdout[-2000:] + r.stderr
    line = "%s%s: wrong-alert: rule %s alert " % (ORACLE, target, rule)
    assert line in r.stdout
    assert run([tlsdrill, "replay", target, CORPUS / target, "--plant-wrong-alert",
                "NO-SUCH-RULE"]).returncode == 2


# A mutation program (fuzz/program.c): magic, then TD_FZ_OP_BUG (opcode 25)
# with knob 5 of the client's knobs, duplicate_key_share: the client offers
# two key shares for one group, which breaks KS-DUPLICATE-GROUP for sure.
DUP_KEY_SHARE_PROGRAM = b"TDP1" + bytes([25, 5])


@pytest.mark.parametrize("target", ["client_hello_fm", "client_hello"])
def test_cli_replay_planted_acceptance_is_accepted_broken(tlsdrill, target, tmp_path):
    """The hidden --plant-skip RULE makes the side under test skip its check
    of RULE (td_config.plant_skip). A program breaking KS-DUPLICATE-GROUP
    for sure is then accepted: replay must exit 1 with an accepted-broken
    finding; without the plant the server refuses it and replay exits 0."""
    seed = tmp_path / "dup-key-share"
    seed.write_bytes(DUP_KEY_SHARE_PROGRAM)
    clean = run([tlsdrill, "replay", target, seed])
    assert clean.returncode == 0, clean.stdout[-2000:] + clean.stderr
    assert "KS-DUPLICATE-GROUP" in clean.stdout, clean.stdout[-2000:]
    assert ORACLE not in clean.stdout
    r = run([tlsdrill, "replay", target, seed, "--plant-skip", "KS-DUPLICATE-GROUP"])
    assert r.returncode == 1, r.stdout[-2000:] + r.stderr
    line = "%s%s: accepted-broken: rule KS-DUPLICATE-GROUP alert none: " % (ORACLE, target)
    assert line in r.stdout, r.stdout[-2000:]
    assert run([tlsdrill, "replay", target, seed, "--plant-skip", "NO-SUCH-RULE"]).returncode == 2


def test_cli_replay_reads_fuzzer_mode_records(tlsdrill, tmp_path):
    """The _fm twins' records are fuzzer mode's plaintext (no AEAD; fuzz/README.md
    "Fuzzer mode"): replay shows what they carry without keys, the epoch of
    each (application after its sender's Finished), as it does for a plain
    target with the run's key log."""
    seed = tmp_path / "empty-program"
    seed.write_bytes(b"TDP1")  # no op: a full handshake
    for target in ("server_hello_fm", "server_hello"):
        r = run([tlsdrill, "replay", target, seed])
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr
        out = r.stdout
        assert "protection=handshake traffic inner=handshake (22)" in out, out[-3000:]
        assert "protection=application traffic inner=handshake (22)" in out, out[-3000:]
        assert "handshake type=finished (20)" in out and "new_session_ticket" in out
        assert "no logged key authenticates it" not in out


def test_corpus_regenerates_the_committed_corpora(tlsdrill, tmp_path):
    r = run([tlsdrill, "corpus", "--out", tmp_path])
    assert r.returncode == 0, r.stderr
    for t in [t for t in ours() if base(t) != "differential"]:
        got = sorted(p.name for p in (tmp_path / t).iterdir())
        committed = sorted(p.name for p in (CORPUS / t).iterdir())
        # scn-*: the scenario suite's first flights (tools/gen_scenario_corpus.py),
        # merged by coverage; everything else is generated by `tlsdrill corpus`.
        want = [n for n in committed if not n.startswith("scn-")]
        assert got == want, t
        for name in got:
            assert (tmp_path / t / name).read_bytes() == (CORPUS / t / name).read_bytes(), name
        assert 5 <= len(got) <= 64
        assert all((CORPUS / t / n).stat().st_size < 4096 for n in got)
        others = [n for n in committed if n.startswith("scn-")]
        assert len(others) <= 200
        assert all((CORPUS / t / n).stat().st_size <= 4096 for n in others)


def _libfuzzer_exe(target):
    exe = LIBFUZZER / "fuzz" / ("fuzz_" + target)
    if not exe.exists():
        pytest.skip("libFuzzer build missing (%s): cmake --build --preset libfuzzer" % exe)
    return exe


@pytest.mark.parametrize("target", [t for t in ours() if t != "differential"])
def test_libfuzzer_target_runs_clean(target, tmp_path):
    """A short libFuzzer run of each engine target on its seeds: no oracle
    line, no sanitizer report. A fixed -seed and a run count (not only a
    time limit) make it the same run on every machine, so the result does
    not depend on machine speed. (differential: tests/test_fuzz_mutator.py,
    report-only, since libssl's comparisons make its runs unreproducible.)"""
    exe = _libfuzzer_exe(target)
    work = tmp_path / "corpus"
    shutil.copytree(CORPUS / target, work)
    r = run([exe, "-seed=1", "-runs=3000", "-max_total_time=30", "-timeout=10",
             "-rss_limit_mb=1024", "-artifact_prefix=%s/" % tmp_path, work], timeout=120)
    if target.startswith("sut_") and not target.startswith("sut_engine_") and ORACLE in r.stderr:
        # A sut_ target fuzzes a library we did not write: an oracle line is a
        # finding about that library (fuzzctl triages it), not a harness fault.
        # The harness itself must stay clean: no sanitizer report. (sut_engine_*
        # is our engine behind the same API: held to the engine targets' rule.)
        assert "Sanitizer:" not in r.stderr and "runtime error" not in r.stderr, r.stderr[-3000:]
        return
    assert ORACLE not in r.stderr, r.stderr[-3000:]
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Done" in r.stderr or "DONE" in r.stderr


def test_afl_smoke(tmp_path):
    afl = shutil.which("afl-fuzz")
    if afl is None:
        pytest.skip("afl-fuzz is not installed (tools/setup.sh installs afl++)")
    exe = AFL / "fuzz" / "fuzz_client_hello"
    if not exe.exists():
        pytest.skip("AFL++ build missing (%s): cmake --build --preset afl" % exe)
    env = dict(os.environ, AFL_NO_UI="1", AFL_SKIP_CPUFREQ="1", AFL_NO_AFFINITY="1",
               AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES="1", AFL_BENCH_UNTIL_CRASH="1",
               AFL_SKIP_CRASHES="0", AFL_TRY_AFFINITY="0")
    out = tmp_path / "out"
    r = run([afl, "-V", "5", "-i", CORPUS / "client_hello", "-o", out, "--", exe],
            env=env, timeout=120)
    stats = out / "default" / "fuzzer_stats"
    assert stats.exists(), r.stdout[-2000:] + r.stderr[-2000:]
    fields = dict(l.split(":", 1) for l in stats.read_text().splitlines() if ":" in l)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    assert int(fields["execs_done"]) > 0
    assert int(fields.get("saved_crashes", fields.get("unique_crashes", "0"))) == 0
    assert not any((out / "default" / "crashes").glob("id:*"))


PLANTED = {
    # target -> (rule the test build answers with a wrong alert, seed that reaches it)
    "client_hello": ("KS-DUPLICATE-GROUP", "seed-bug-duplicate-key-share"),  # a ClientHello rule
    "server_hello": ("HRR-SECOND", "seed-bug-second-hrr"),                  # an HRR rule
    "psk_binders": ("PSK-BINDER-INVALID", "seed-binder-corrupt"),            # a binder rule
}


@pytest.fixture(scope="module")
def planted_build():
    """A test-only build with TD_PLANT_WRONG_ALERT naming the three rules:
    libFuzzer targets (no sanitizers: quick to build)."""
    if shutil.which("clang-14") is None:
        pytest.skip("clang-14 missing")
    build = ROOT / "build" / "plant"
    rules = ",".join(r for r, _ in PLANTED.values())
    cfg = run(["cmake", "-S", ROOT, "-B", build, "-DCMAKE_BUILD_TYPE=Release",
               "-DCMAKE_C_COMPILER=clang-14", "-DTD_WERROR=ON", "-DTD_BUILD_TESTS=OFF",
               "-DTD_FUZZ=ON", "-DTD_FUZZER_NO_LINK=ON", "-DTD_FUZZ_LINK=-fsanitize=fuzzer",
               "-DTD_PLANT_WRONG_ALERT=" + rules], timeout=300)
    assert cfg.returncode == 0, cfg.stderr[-3000:]
    exes = ["fuzz_" + t for t in PLANTED]
    b = run(["cmake", "--build", build, "-j", str(os.cpu_count() or 2), "--target"] + exes,
            timeout=900)
    assert b.returncode == 0, b.stdout[-3000:] + b.stderr[-3000:]
    return build


@pytest.mark.parametrize("target", sorted(PLANTED))
def test_oracle_catches_planted_wrong_alert(planted_build, target, tmp_path):
    rule, seed = PLANTED[target]
    assert (CORPUS / target / seed).exists()
    work = tmp_path / "corpus"
    shutil.copytree(CORPUS / target, work)
    exe = planted_build / "fuzz" / ("fuzz_" + target)
    r = run([exe, "-runs=2000", "-max_total_time=60", "-artifact_prefix=%s/" % tmp_path, work],
            timeout=120)
    assert r.returncode != 0, "the oracle did not fire:\n" + r.stderr[-2000:]
    lines = [l for l in r.stderr.splitlines() if l.startswith(ORACLE)]
    assert len(lines) == 1, r.stderr[-2000:]
    assert lines[0].startswith(ORACLE + "%s: wrong-alert: rule %s alert " % (target, rule)), lines[0]
    # The crash file replays to the same finding in that build.
    crash = next(tmp_path.glob("crash-*"))
    rep = run([exe, crash])
    assert rep.returncode != 0 and lines[0] in rep.stderr, rep.stderr[-2000:]
    # The normal build says the same input is fine.
    ok = run([DEFAULT / "tlsdrill", "replay", target, crash, "--quiet"])
    assert ok.returncode == 0, ok.stdout
