"""The differential fuzz target and the custom mutator's side of fuzzing:
fuzz_differential (libFuzzer + ASan/UBSan, custom mutator and crossover)
runs a few seconds over its seed corpus with its dictionary without a
finding; the plain replay executable replays the seed corpus (and the
regressions, if any); the seed corpus regenerates byte for byte; every
dictionary parses (libFuzzer rejects a bad line); a planted disagreement
is reported with the oracle line.

The libFuzzer build (build/libfuzzer, `cmake --preset libfuzzer`) is built
by tools/test.sh; the tests that need it skip only when it is absent."""
import os
import pathlib
import shutil
import subprocess

import warnings

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT = pathlib.Path(os.environ.get("TD_BUILD_DIR", ROOT / "build" / "default"))
LIBFUZZER = pathlib.Path(os.environ.get("TD_LIBFUZZER_BUILD_DIR", ROOT / "build" / "libfuzzer"))
CORPUS = ROOT / "corpus" / "differential"
REGRESSIONS = ROOT / "corpus" / "regressions" / "differential"
ORACLE = "==tlsdrill-oracle=="


def run(cmd, **kw):
    kw.setdefault("timeout", 120)
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)


@pytest.fixture(scope="module")
def fuzzer():
    path = LIBFUZZER / "fuzz" / "fuzz_differential"
    if not LIBFUZZER.is_dir():
        pytest.skip("no libFuzzer build at %s (cmake --preset libfuzzer)" % LIBFUZZER)
    if not path.exists():
        pytest.fail("libFuzzer build present but fuzz_differential not built: %s" % path)
    return path


@pytest.fixture(scope="module")
def replay():
    path = DEFAULT / "fuzz" / "replay_differential"
    if not path.exists():
        pytest.fail("replay_differential not built at %s" % path)
    return path


def test_seed_corpus_is_there():
    seeds = sorted(p.name for p in CORPUS.iterdir())
    assert len(seeds) >= 30, seeds
    # every seed starts with a handshake record carrying a ClientHello
    for p in CORPUS.iterdir():
        data = p.read_bytes()
        assert data[0] == 0x16 and data[5] == 0x01, p.name


def test_replay_seed_corpus(replay):
    r = run([replay, CORPUS])
    assert r.returncode == 0, r.stdout + r.stderr
    assert ORACLE not in r.stderr
    assert "replay: %d inputs, no finding" % len(list(CORPUS.iterdir())) in r.stderr, r.stderr


def test_replay_regressions(replay):
    if not REGRESSIONS.is_dir() or not any(REGRESSIONS.iterdir()):
        pytest.skip("no differential regressions yet")
    r = run([replay, REGRESSIONS])
    assert r.returncode == 0, r.stdout + r.stderr


def test_replay_known_divergence_is_not_a_finding(replay, tmp_path):
    """legacy_compression_methods = {1}: RFC 8446 4.1.2 says illegal_parameter
    (ours), libssl says decode_error; the known table lists it, so the replay
    runs clean. Without the table the replay would abort with the oracle line
    (tests/unit/test_fuzz_differential.c plants a real finding)."""
    data = bytearray((CORPUS / "default").read_bytes())
    sid_len = data[5 + 4 + 34]
    suites_at = 5 + 4 + 35 + sid_len
    n_suites = data[suites_at] << 8 | data[suites_at + 1]
    comp_at = suites_at + 2 + n_suites
    assert data[comp_at] == 1 and data[comp_at + 1] == 0
    data[comp_at + 1] = 1
    f = tmp_path / "compression-1"
    f.write_bytes(bytes(data))
    r = run([replay, f])
    assert r.returncode == 0, r.stdout + r.stderr
    assert ORACLE not in r.stderr


def test_replay_skips_programs_and_survives_junk(replay, tmp_path):
    for name, data in (("empty", b""), ("one", b"\x16"), ("program", b"TDP1\x00\x01"),
                       ("header", b"\x16\x03\x01\x00"), ("alert", b"\x15\x03\x03\x00\x02\x02\x28")):
        (tmp_path / name).write_bytes(data)
    r = run([replay, tmp_path])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "replay: 5 inputs, no finding" in r.stderr, r.stderr


def test_libfuzzer_runs_clean(fuzzer, tmp_path):
    """A bounded libFuzzer run with the custom mutator and the dictionary:
    no sanitizer report, no crash, no leak. This uses the report-only build
    (fuzz_differential_ab_mut: same target, prints an oracle line for a
    difference outside differential_known.def and goes on): libFuzzer learns
    from comparisons inside libssl, so which inputs a short run reaches is
    not reproducible, and a new divergence must not make the suite flaky --
    finding those is the job of the fuzz jobs (tools/fuzzctl); the oracle
    itself is tested deterministically by test_fuzz_differential. New
    divergences seen here are reported as warnings."""
    exe = fuzzer.parent / "fuzz_differential_ab_mut"
    if not exe.exists():
        pytest.skip("fuzz_differential_ab_mut not built (libfuzzer preset)")
    work = tmp_path / "work"
    work.mkdir()
    # -seed fixes libFuzzer's choices; -runs bounds the work on fast machines.
    r = run([exe, "-max_total_time=5", "-seed=1", "-runs=6000", "-max_len=4096",
             "-dict=%s" % (ROOT / "fuzz" / "differential.dict"),
             "-artifact_prefix=%s/" % tmp_path, "-print_final_stats=1", work, CORPUS], timeout=180)
    out = r.stdout + r.stderr
    for marker in ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer",
                   "deadly signal", "ERROR: libFuzzer"):
        assert marker not in out, out[-4000:]
    assert r.returncode == 0, out[-4000:]
    units = [l for l in out.splitlines() if l.startswith("stat::number_of_executed_units")]
    assert units and int(units[0].split()[-1]) > 100, out[-2000:]
    for line in sorted({l for l in out.splitlines() if l.startswith(ORACLE)}):
        warnings.warn("new differential divergence (add a row or fix): " + line)


@pytest.mark.parametrize("dict_file", sorted((ROOT / "fuzz").glob("*.dict")), ids=lambda p: p.name)
def test_dictionary_parses(fuzzer, dict_file, tmp_path):
    r = run([fuzzer, "-runs=0", "-dict=%s" % dict_file, tmp_path], timeout=60)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-2000:]
    assert "ParseDictionaryFile" not in out, out[-2000:]
    assert "Dictionary: " in out, out[-2000:]


def test_dictionaries_up_to_date():
    r = run(["/usr/bin/python3", ROOT / "tools" / "gen_fuzz_dicts.py", "--check"])
    assert r.returncode == 0, r.stderr


def test_seed_corpus_regenerates_identically(tmp_path):
    gen = DEFAULT / "fuzz" / "td_gen_differential_corpus"
    if not gen.exists():
        pytest.fail("td_gen_differential_corpus not built at %s" % gen)
    r = run([gen, tmp_path / "out"])
    assert r.returncode == 0, r.stderr
    ours = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    committed = {p.name: p.read_bytes() for p in CORPUS.iterdir()}
    assert ours == committed
