"""tools/fuzzctl on a tiny fixture (tests/fuzzctl_fixture/): three libFuzzer
targets built here with clang-14 -- a planted heap overflow, an oracle
failure in the contract's format, a clean one -- laid out like the project
(fuzz/targets.txt, build/<preset>/fuzz/, corpus/), so the same code paths run
as on the real targets."""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fuzzctl_fixture"
FUZZCTL = ROOT / "tools" / "fuzzctl"
TARGETS = ["fx_crash", "fx_oracle", "fx_clean"]
CRASH_BUCKET = "fx_crash|asan:heap-buffer-overflow|fx_planted_overflow|LLVMFuzzerTestOneInput"
ORACLE_BUCKET = "fx_oracle|oracle:wrong-alert|FX-RULE-1|decode_error"
SLACK = 5.0  # seconds over the budget allowed for interpreter start and exit

sys.path.insert(0, str(ROOT / "tools"))
from fuzzctl_lib import coverage as fz_coverage  # noqa: E402
from fuzzctl_lib import triage as fz_triage  # noqa: E402


def compile_all(jobs):
    procs = [subprocess.Popen([str(a) for a in argv], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
             for argv in jobs]
    for p, argv in zip(procs, jobs):
        out, _ = p.communicate(timeout=300)
        assert p.returncode == 0, "compile failed: %s\n%s" % (argv, out.decode())


def write_corpus(root, seeds):
    for target, inputs in seeds.items():
        d = root / target
        d.mkdir(parents=True, exist_ok=True)
        for i, data in enumerate(inputs):
            (d / ("seed%d" % i)).write_bytes(data)


@pytest.fixture(scope="module")
def proj(tmp_path_factory):
    if not shutil.which("clang-14"):
        pytest.skip("clang-14 not installed (tools/setup.sh installs it)")
    root = tmp_path_factory.mktemp("fxproj")
    (root / "fuzz").mkdir()
    (root / "fuzz" / "targets.txt").write_text("# fixture targets\n" + "\n".join(TARGETS) + "\n")
    (root / "fuzz" / "fx_crash.options").write_text("[libfuzzer]\nmax_len = 64\ntimeout = 5\n")
    (root / "fuzz" / "fx_crash.dict").write_text('kw1="FU"\n')
    lf, rp = root / "build" / "libfuzzer" / "fuzz", root / "build" / "default" / "fuzz"
    lf.mkdir(parents=True)
    rp.mkdir(parents=True)
    jobs = []
    for t in TARGETS:
        jobs.append(["clang-14", "-g", "-O1", "-fsanitize=fuzzer,address,undefined", FIX / (t + ".c"),
                     "-o", lf / ("fuzz_" + t)])
        jobs.append(["clang-14", "-g", "-O1", "-fsanitize=address,undefined", FIX / (t + ".c"),
                     FIX / "replay_main.c", "-o", rp / ("replay_" + t)])
    compile_all(jobs)
    write_corpus(root / "corpus", {"fx_crash": [b"FUa"], "fx_oracle": [b"OA"], "fx_clean": [b"A", b"Z"]})
    return root


def fuzzctl(root, cmd, *args, timeout=300):
    argv = ["/usr/bin/python3", str(FUZZCTL), cmd, "--root", str(root)] + [str(a) for a in args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def live_processes_mentioning(path):
    """PIDs (not zombies) whose command line mentions path."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmdline = pathlib.Path("/proc/%s/cmdline" % entry).read_bytes()
            stat = pathlib.Path("/proc/%s/stat" % entry).read_text()
        except OSError:
            continue
        if str(path).encode() in cmdline and stat[stat.rfind(")") + 2] not in "ZX":
            found.append(int(entry))
    return found


def assert_no_child_left(root, outdir):
    assert live_processes_mentioning(root) == []
    for line in (outdir / "pids.txt").read_text().splitlines():
        pid = int(line.split()[0])
        try:
            cmdline = pathlib.Path("/proc/%d/cmdline" % pid).read_bytes()
            stat = pathlib.Path("/proc/%d/stat" % pid).read_text()
        except OSError:
            continue  # gone
        # The PID may have been reused by an unrelated process; ours mention root.
        assert str(root).encode() not in cmdline or stat[stat.rfind(")") + 2] in "ZX", "pid %d left running" % pid


def validate_junit(path):
    """Valid against tests/junit.xsd (the Ant/Jenkins schema), and the
    suite's counts are those of its elements."""
    if shutil.which("xmllint") is None:
        pytest.skip("xmllint (libxml2-utils) not installed: tools/setup.sh installs it")
    r = subprocess.run(["xmllint", "--noout", "--schema", str(ROOT / "tests" / "junit.xsd"), str(path)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    suite = ET.parse(path).getroot()
    cases = suite.findall("testcase")
    assert int(suite.get("tests")) == len(cases)
    assert int(suite.get("failures")) == sum(len(c.findall("failure")) for c in cases)
    assert int(suite.get("errors")) == sum(len(c.findall("error")) for c in cases)
    assert int(suite.get("skipped")) == sum(1 for c in cases if c.find("skipped") is not None)
    assert float(suite.get("time")) >= 0 and suite.get("timestamp")
    return suite


def findings_of(outdir):
    return json.loads((outdir / "findings.json").read_text())["findings"]


# ---------------------------------------------------------------- classification (no processes)
def test_classify_oracle_line():
    out = ("INFO: Seed: 1\n==tlsdrill-oracle== server_hello: accepted-broken: rule RFC8446-4.1.3-X alert none: "
           "accepted a downgrade sentinel\n==1==ERROR: libFuzzer: deadly signal\n")
    v = fz_triage.classify(out, 1)
    assert (v["oracle_kind"], v["rule"], v["alert"]) == ("accepted-broken", "RFC8446-4.1.3-X", "none")
    assert fz_triage.bucket("server_hello", v) == "server_hello|oracle:accepted-broken|RFC8446-4.1.3-X|none"


def test_classify_sanitizer_reports_by_kind_and_top_frames():
    asan = ("==7==ERROR: AddressSanitizer: heap-use-after-free on address 0x60 at pc 0x1\n"
            "    #0 0x5 in __asan_memcpy /src/asan.cpp:1\n"
            "    #1 0x6 in td_msg_parse /src/engine/msg.c:10:3\n"
            "    #2 0x7 in td_conn_read /src/engine/conn.c:20:3\n"
            "    #3 0x8 in LLVMFuzzerTestOneInput /src/fuzz/record.c:5:1\n"
            "    #4 0x9 in fuzzer::Fuzzer::ExecuteCallback(unsigned char const*, unsigned long) (/b+0x1)\n\n"
            "SUMMARY: AddressSanitizer: heap-use-after-free /src/engine/msg.c:10:3 in td_msg_parse\n")
    v = fz_triage.classify(asan, 1)
    assert v["kind"] == "asan:heap-use-after-free"
    assert v["frames"] == ["td_msg_parse", "td_conn_read", "LLVMFuzzerTestOneInput"]
    assert v["headline"] == "AddressSanitizer: heap-use-after-free /src/engine/msg.c:10:3 in td_msg_parse"
    # Same frames at other lines/addresses: same bucket.
    moved = asan.replace("msg.c:10:3", "msg.c:99:1").replace("0x6 in", "0x66 in")
    assert fz_triage.bucket("record", fz_triage.classify(moved, 1)) == fz_triage.bucket("record", v)
    ub = "engine/x.c:3:5: runtime error: shift exponent 40 is too large for 32-bit type 'int'\n    #0 0x1 in td_x /e/x.c:3\n"
    assert fz_triage.classify(ub, 1)["kind"] == "ubsan:shift-exponent-is-too"
    leak = "==1==ERROR: LeakSanitizer: detected memory leaks\n\nDirect leak of 4 byte(s)\n    #0 0x1 in malloc\n    #1 0x2 in td_y /e/y.c:1\n"
    v = fz_triage.classify(leak, 1)
    assert (v["kind"], v["frames"]) == ("leak", ["td_y"])
    assert fz_triage.classify("Done 1 runs\n", 0) is None
    assert fz_triage.classify("", None)["kind"] == "timeout"


def test_unsymbolized_frames_named_with_a_timeout_else_by_module_offset(proj, tmp_path, monkeypatch):
    """A sanitizer report with raw frames "(/path/bin+0x119bac)" (symbolize=0,
    or a loaded machine) is named by fuzzctl's own llvm-symbolizer call, so
    it gets the symbolized bucket; without a symbolizer, or when it hangs
    past its timeout, the frames stay module+offset, the same for every
    input that crashes there, so deduplication holds either way."""
    binary = proj / "build" / "libfuzzer" / "fuzz" / "fuzz_fx_crash"
    logs = []
    for data in (b"FUZZ", b"FUZ" + bytes(range(40))):
        (tmp_path / "in").write_bytes(data)
        r = subprocess.run([binary, "-runs=1", tmp_path / "in"], capture_output=True, text=True,
                           env=dict(os.environ, ASAN_OPTIONS="symbolize=0:detect_leaks=0"))
        assert "(%s+0x" % binary in r.stderr, r.stderr  # raw frames
        logs.append(r.stderr)
    fz_triage._SYMBOLS.clear()
    assert [fz_triage.bucket("fx_crash", fz_triage.classify(o, 1)) for o in logs] == [CRASH_BUCKET] * 2
    monkeypatch.setenv("TD_FUZZCTL_SYMBOLIZER", "none")
    fz_triage._SYMBOLS.clear()
    raw = [fz_triage.bucket("fx_crash", fz_triage.classify(o, 1)) for o in logs]
    assert raw[0] == raw[1] and raw[0].startswith("fx_crash|asan:heap-buffer-overflow|fuzz_fx_crash+0x"), raw
    hang = tmp_path / "hang-symbolizer"
    hang.write_text("#!/bin/sh\nexec sleep 30\n")
    hang.chmod(0o755)
    monkeypatch.setenv("TD_FUZZCTL_SYMBOLIZER", str(hang))
    monkeypatch.setattr(fz_triage, "SYMBOLIZE_TIMEOUT", 0.5)
    fz_triage._SYMBOLS.clear()
    start = time.monotonic()
    assert [fz_triage.bucket("fx_crash", fz_triage.classify(o, 1)) for o in logs] == raw
    assert time.monotonic() - start < 10  # one bounded call, the answer cached
    fz_triage._SYMBOLS.clear()


@pytest.mark.parametrize("symbolizer", ["llvm", "none"])
def test_triage_dedup_when_the_sanitizer_does_not_symbolize(proj, tmp_path, symbolizer):
    """The flaky case of test_run_finds_minimises_and_deduplicates_planted_crash
    forced: the sanitizer's reports stay unsymbolized (as under heavy load);
    triage still names the bucket, or without any symbolizer buckets by
    module+offset -- one finding for both inputs either way."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"FUZ" + bytes(range(60)))
    b.write_bytes(b"FUZ-another-input")
    out = tmp_path / "out"
    env = dict(os.environ, TD_FUZZCTL_SANITIZER_SYMBOLIZE="0")
    if symbolizer == "none":
        env["TD_FUZZCTL_SYMBOLIZER"] = "none"
    argv = ["/usr/bin/python3", str(FUZZCTL), "triage", "--root", str(proj), "--target", "fx_crash", "--out",
            str(out), "--budget", "20", str(a), str(b)]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 1, r.stdout + r.stderr
    (f,) = findings_of(out)
    assert f["count"] == 2 and f["new"] and f["verdict_preserved"], f
    if symbolizer == "llvm":
        assert f["bucket"] == CRASH_BUCKET
    else:
        assert f["bucket"].startswith("fx_crash|asan:heap-buffer-overflow|fuzz_fx_crash+0x"), f["bucket"]
    assert "(%s" % proj in pathlib.Path(f["dir"], "log.txt").read_text()  # the raw report kept


def test_rule_collection_and_rules_file(tmp_path):
    counts = {}
    doc = {"inputs": [{"rule": "R-1", "records": [{"rule": "none"}]}, {"rules": ["R-2", "R-1"]}, {"rule": None}]}
    fz_coverage.collect_rules(doc, counts)
    assert counts == {"R-1": 2, "R-2": 1}
    path = tmp_path / "rules.tsv"
    fz_coverage.write_rules_file(path, {"record": counts})
    assert fz_coverage.read_rules_file(path) == {"R-1": {"fuzz:record": 2}, "R-2": {"fuzz:record": 1}}
    path.write_text("# tlsdrill-rule-coverage 1\nR-1 fuzz:x 2\n")
    with pytest.raises(ValueError, match=":2: expected"):
        fz_coverage.read_rules_file(path)


# ---------------------------------------------------------------- layout errors
def test_missing_target_list_and_unknown_target(tmp_path, proj):
    r = fuzzctl(tmp_path, "run", "--budget", "5")
    assert r.returncode == 2 and "no target list" in r.stdout
    r = fuzzctl(proj, "run", "--budget", "5", "--targets", "nope")
    assert r.returncode == 2 and "unknown target(s): nope" in r.stdout


# ---------------------------------------------------------------- triage
def test_triage_minimises_and_deduplicates(proj, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"FUZ" + bytes(range(60)))
    b.write_bytes(b"FUZ-another-input")
    out = tmp_path / "out"
    r = fuzzctl(proj, "triage", "--target", "fx_crash", "--out", out, "--budget", "20", a, b)
    assert r.returncode == 1, r.stdout + r.stderr
    (f,) = findings_of(out)
    assert f["bucket"] == CRASH_BUCKET and f["count"] == 2 and f["new"]
    assert f["verdict_preserved"]
    assert pathlib.Path(f["minimized"]).read_bytes() == b"FUZ"
    assert "heap-buffer-overflow" in pathlib.Path(f["dir"], "log.txt").read_text()


def test_add_regressions_files_then_finding_is_known(proj, tmp_path):
    crash = tmp_path / "o"
    crash.write_bytes(b"OR" + b"x" * 40)
    out1, out2 = tmp_path / "1", tmp_path / "2"
    r = fuzzctl(proj, "triage", "--target", "fx_oracle", "--out", out1, "--budget", "20", "--add-regressions", crash)
    assert r.returncode == 1, r.stdout + r.stderr
    (f,) = findings_of(out1)
    assert f["bucket"] == ORACLE_BUCKET and f["filed"]
    reg = pathlib.Path(f["regression_file"])
    assert reg.parent == proj / "corpus" / "regressions" / "fx_oracle"
    assert reg.name.startswith(fz_triage.bucket_id(ORACLE_BUCKET)) and reg.read_bytes() == b"OR"
    # Another input in the same bucket is now a known finding: exit 0.
    other = tmp_path / "p"
    other.write_bytes(b"OR-different-bytes")
    r = fuzzctl(proj, "triage", "--target", "fx_oracle", "--out", out2, "--budget", "20", other)
    assert r.returncode == 0, r.stdout + r.stderr
    (f,) = findings_of(out2)
    assert not f["new"] and f["regression_file"] == str(reg)


# ---------------------------------------------------------------- run (libFuzzer)
@pytest.fixture(scope="module")
def run_result(proj, tmp_path_factory):
    # fx_oracle's bucket is a known regression; fx_crash's is not.
    tmp = tmp_path_factory.mktemp("run")
    (tmp / "known").write_bytes(b"ORknown")
    r = fuzzctl(proj, "triage", "--target", "fx_oracle", "--out", tmp / "pre", "--add-regressions", "--budget", 10,
                tmp / "known")
    assert r.returncode in (0, 1), r.stdout + r.stderr
    out = tmp / "out"
    budget = 16
    start = time.monotonic()
    r = fuzzctl(proj, "run", "--budget", budget, "--post-budget", 7, "--jobs", 2, "--out", out,
                "--progress-interval", 2)
    return {"rc": r.returncode, "stdout": r.stdout, "stderr": r.stderr, "wall": time.monotonic() - start,
            "budget": budget, "out": out}


def test_run_honours_budget_and_leaves_no_process(proj, run_result):
    assert run_result["wall"] <= run_result["budget"] + SLACK, run_result["stdout"]
    assert_no_child_left(proj, run_result["out"])


def test_run_finds_minimises_and_deduplicates_planted_crash(run_result):
    fs = [f for f in findings_of(run_result["out"]) if f["target"] == "fx_crash"]
    assert len(fs) == 1, run_result["stdout"]
    (f,) = fs
    assert f["bucket"] == CRASH_BUCKET and f["new"] and f["verdict_preserved"]
    assert f["minimized_size"] <= f["input_size"]
    assert pathlib.Path(f["minimized"]).read_bytes().startswith(b"FUZ")
    for name in ("input", "minimized", "log.txt", "trace.txt"):
        assert pathlib.Path(f["dir"], name).stat().st_size > 0
    assert "progress" in run_result["stdout"] or "exec/s" in run_result["stdout"]


def test_run_outputs_and_exit_code(run_result):
    out = run_result["out"]
    assert run_result["rc"] == 1, run_result["stdout"] + run_result["stderr"]
    doc = json.loads((out / "findings.json").read_text())
    assert {t["name"] for t in doc["targets"]} == set(TARGETS)
    assert all(t["execs"] > 0 for t in doc["targets"]), doc["targets"]
    new = [f for f in doc["findings"] if f["new"]]
    assert new and all(f["target"] != "fx_oracle" for f in new)  # fx_oracle's bucket is a regression
    summary = (out / "summary.md").read_text()
    assert "NEW fx_crash: asan:heap-buffer-overflow" in summary and "| fx_clean |" in summary
    suite = validate_junit(out / "junit.xml")
    assert suite.tag == "testsuite" and int(suite.get("failures")) == len(new)
    assert {c.get("name") for c in suite.iter("testcase")} == set(TARGETS)
    # The suite's time is the whole run's, fuzzing, triage and merge.
    assert float(suite.get("time")) == pytest.approx(doc["elapsed"], abs=0.05)
    assert float(suite.get("time")) >= max(float(c.get("time")) for c in suite.iter("testcase"))
    assert int(suite.get("errors")) == len(doc["failed_to_start"]) == 0


def test_run_with_only_known_findings_exits_zero(proj, tmp_path):
    # The regression filed above is a seed of this run: libFuzzer re-finds the
    # oracle failure at once, and it is known.
    (tmp_path / "known").write_bytes(b"ORagain")
    fuzzctl(proj, "triage", "--target", "fx_oracle", "--out", tmp_path / "pre", "--add-regressions", "--budget", 10,
            tmp_path / "known")
    out = tmp_path / "out"
    r = fuzzctl(proj, "run", "--budget", 10, "--post-budget", 5, "--jobs", 1, "--targets", "fx_oracle",
                "--out", out, "--no-merge")
    fs = findings_of(out)
    assert fs and all(f["bucket"] == ORACLE_BUCKET and not f["new"] for f in fs), r.stdout
    assert r.returncode == 0, r.stdout + r.stderr


# ---------------------------------------------------------------- merge, replay
def test_merge_adds_only_coverage_increasing_inputs(proj, tmp_path):
    corpus = tmp_path / "corpus"
    write_corpus(corpus, {"fx_clean": [b"A", b"Z"]})
    redundant = tmp_path / "redundant"
    write_corpus(redundant, {"x": [b"Q", b"Y", b"ZZ", b"A"]})
    r = fuzzctl(proj, "merge", "--corpus-root", corpus, "--target", "fx_clean", redundant / "x")
    assert r.returncode == 0 and "0 input(s) added" in r.stdout, r.stdout + r.stderr
    assert len(list((corpus / "fx_clean").iterdir())) == 2
    useful = tmp_path / "useful"
    write_corpus(useful, {"x": [b"Q", b"AB"]})
    r = fuzzctl(proj, "merge", "--corpus-root", corpus, "--target", "fx_clean", useful / "x")
    assert "1 input(s) added" in r.stdout, r.stdout
    assert sorted(p.read_bytes() for p in (corpus / "fx_clean").iterdir()) == [b"A", b"AB", b"Z"]


def test_replay_gate(proj, tmp_path):
    corpus = tmp_path / "corpus"
    write_corpus(corpus, {"fx_crash": [b"FUa"], "fx_oracle": [b"OA"], "fx_clean": [b"A"]})
    r = fuzzctl(proj, "replay", "--corpus-root", corpus, "--junit", tmp_path / "ok.xml")
    assert r.returncode == 0, r.stdout + r.stderr
    ok = validate_junit(tmp_path / "ok.xml")
    assert (ok.get("failures"), ok.get("errors"), ok.get("tests")) == ("0", "0", "3")
    reg = corpus / "regressions" / "fx_crash"
    reg.mkdir(parents=True)
    (reg / "bug-1").write_bytes(b"FUZZ")
    r = fuzzctl(proj, "replay", "--corpus-root", corpus, "--junit", tmp_path / "bad.xml")
    assert r.returncode == 1
    assert "fx_crash" in r.stdout and "FAIL" in r.stdout and str(reg / "bug-1") in r.stdout
    suite = ET.parse(tmp_path / "bad.xml").getroot()
    assert suite.get("failures") == "1"
    validate_junit(tmp_path / "bad.xml")
    # A target that is not built is an error (it could not be run), one
    # without inputs is skipped; neither is a failure.
    (corpus / "fx_clean").rename(corpus / "fx_clean.off")
    broken = tmp_path / "broken"
    shutil.copytree(proj / "build", broken)
    (broken / "default" / "fuzz" / "replay_fx_oracle").unlink()
    r = fuzzctl(proj, "replay", "--corpus-root", corpus, "--build-root", broken, "--targets", "fx_oracle",
                "fx_clean", "--junit", tmp_path / "err.xml")
    assert r.returncode == 1 and "not built" in r.stdout, r.stdout
    err = validate_junit(tmp_path / "err.xml")
    assert (err.get("failures"), err.get("errors"), err.get("skipped")) == ("0", "1", "1")


def test_every_option_has_help():
    """`fuzzctl CMD --help` explains every option of every command."""
    import argparse
    from fuzzctl_lib import cli as fz_cli
    p = fz_cli.build_parser()
    (sub,) = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
    assert set(sub.choices) == {"build", "run", "triage", "replay", "merge", "prune", "bench", "coverage"}
    missing = ["%s %s" % (name, "/".join(act.option_strings) or act.dest)
               for name, sp in sub.choices.items() for act in sp._actions
               if not isinstance(act, argparse._HelpAction) and not (act.help or "").strip()]
    assert missing == []
    assert all(sp.description for sp in sub.choices.values())
    assert all(c.help for c in sub._choices_actions)
    r = subprocess.run(["/usr/bin/python3", str(FUZZCTL), "triage", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "--add-regressions" in r.stdout and "corpus/regressions/" in r.stdout


# ---------------------------------------------------------------- coverage
def test_coverage_report_and_rules(proj, tmp_path):
    if not (shutil.which("llvm-profdata-14") and shutil.which("llvm-cov-14")):
        pytest.skip("llvm-profdata-14/llvm-cov-14 not installed")
    cov = tmp_path / "cov"
    (cov / "fuzz").mkdir(parents=True)
    compile_all([["clang-14", "-fprofile-instr-generate", "-fcoverage-mapping", FIX / (t + ".c"),
                  FIX / "replay_main.c", "-o", cov / "fuzz" / ("replay_" + t)] for t in TARGETS])
    corpus = tmp_path / "corpus"
    # fx_oracle's seed aborts: its coverage must still be counted (per-input fallback).
    write_corpus(corpus, {"fx_crash": [b"FUa"], "fx_oracle": [b"ORx", b"OA"], "fx_clean": [b"AB", b"Q"]})
    fake = tmp_path / "tlsdrill"
    shutil.copy(FIX / "fake_tlsdrill.py", fake)
    fake.chmod(0o755)
    out = tmp_path / "report"
    r = fuzzctl(proj, "coverage", "--no-build", "--coverage-build", cov, "--corpus-root", corpus, "--out", out,
                "--sources", FIX, "--tlsdrill", fake)
    assert r.returncode == 0, r.stdout + r.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert 0 < summary["lines"]["covered"] < summary["lines"]["count"]
    assert summary["branches"]["count"] > 0 and summary["inputs"] == 5
    report = (out / "coverage.txt").read_text()
    assert "fx_oracle.c" in report and "TOTAL" in report
    # The oracle branch ran although the process aborted: fx_oracle.c has no missed lines but the return.
    assert (out / "html" / "index.html").is_file()
    rules = fz_coverage.read_rules_file(out / "rules-reached.tsv")
    assert rules == {"FX-RULE-1": {"fuzz:fx_oracle": 1}, "FX-RULE-A": {"fuzz:fx_clean": 1}}
    assert summary["num_rules_reached"] == 2


# ---------------------------------------------------------------- AFL++
def test_afl_run_main_and_secondary(proj, tmp_path):
    if not (shutil.which("afl-fuzz") and shutil.which("afl-clang-fast")):
        pytest.skip("AFL++ not installed (tools/setup.sh installs afl++)")
    afl = proj / "build" / "afl" / "fuzz"
    afl.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, AFL_QUIET="1")
    subprocess.run(["afl-clang-fast", "-g", "-O1", "-fsanitize=fuzzer,address", str(FIX / "fx_crash.c"), "-o",
                    str(afl / "fuzz_fx_crash")], check=True, env=env, capture_output=True)
    out = tmp_path / "out"
    budget = 20
    start = time.monotonic()
    # As one machine of a cluster: a shared sync root, instance names per host.
    r = fuzzctl(proj, "run", "--engine", "afl", "--targets", "fx_crash", "--budget", budget, "--post-budget", 8,
                "--jobs", 2, "--out", out, "--no-merge", "--sync-dir", tmp_path / "sync", "--afl-name", "hostA")
    wall = time.monotonic() - start
    assert wall <= budget + SLACK
    assert r.returncode == 1, r.stdout + r.stderr
    sync = tmp_path / "sync" / "fx_crash"
    assert (sync / "hostA-main" / "fuzzer_stats").is_file() and (sync / "hostA-sec1" / "fuzzer_stats").is_file()
    (f,) = findings_of(out)
    assert f["bucket"] == CRASH_BUCKET and f["verdict_preserved"]
    assert_no_child_left(proj, out)


def test_fuzzer_that_cannot_start_is_an_error_not_a_clean_run(proj, tmp_path):
    root = tmp_path / "broken"
    shutil.copytree(proj / "fuzz", root / "fuzz")
    shutil.copytree(proj / "corpus" / "fx_clean", root / "corpus" / "fx_clean")
    (root / "build" / "libfuzzer" / "fuzz").mkdir(parents=True)
    fake = root / "build" / "libfuzzer" / "fuzz" / "fuzz_fx_clean"
    fake.write_text("#!/bin/sh\necho 'cannot map shadow memory' >&2\nexit 3\n")
    fake.chmod(0o755)
    r = fuzzctl(root, "run", "--targets", "fx_clean", "--budget", 6, "--out", tmp_path / "out")
    assert r.returncode == 2 and "fx_clean failed to start" in r.stdout, r.stdout + r.stderr
    assert "cannot map shadow memory" in (tmp_path / "out" / "logs" / "fx_clean.log").read_text()


# ---------------------------------------------------------------- small budgets, bench
def test_small_budget_says_which_targets_ran_nothing_and_strict_fails(proj, tmp_path):
    # 2 s of fuzzing over three targets on one core: equal turns would be
    # shorter than the minimum slice, so one target runs and the others are
    # reported as not run, with the reason; every target is in the report.
    out = tmp_path / "out"
    r = fuzzctl(proj, "run", "--budget", 4, "--post-budget", 2, "--jobs", 1, "--no-merge", "--strict",
                "--targets", "fx_clean", "fx_oracle", "fx_crash", "--out", out)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "budget too small for every target: running fx_clean; not run: fx_oracle, fx_crash" in r.stdout
    assert "2 of 3 target(s) executed nothing: fx_oracle, fx_crash" in r.stdout
    assert "--strict: a target that executed nothing fails the run" in r.stdout
    doc = json.loads((out / "findings.json").read_text())
    assert [t["name"] for t in doc["targets"]] == ["fx_clean", "fx_oracle", "fx_crash"]
    assert set(doc["executed_nothing"]) == {"fx_oracle", "fx_crash"}
    assert all("not run:" in why and "--budget" in why for why in doc["executed_nothing"].values())
    clean = doc["targets"][0]
    assert clean["execs"] > 0 and clean["idle_reason"] is None, clean
    summary = (out / "summary.md").read_text()
    assert "Executed nothing (2 of 3 target(s)):" in summary and "- fx_crash: not run:" in summary
    # Without --strict the same run is clean (no finding).
    r = fuzzctl(proj, "run", "--budget", 4, "--post-budget", 2, "--jobs", 1, "--no-merge",
                "--targets", "fx_clean", "fx_oracle", "--out", tmp_path / "out2")
    assert r.returncode == 0 and "executed nothing: fx_oracle" in r.stdout, r.stdout + r.stderr


def test_bench_prints_a_table_and_json(proj, tmp_path):
    # Shape only (figures are benchmarks, never asserted): one target, 1 s.
    js = tmp_path / "bench.json"
    r = fuzzctl(proj, "bench", "--seconds", 1, "--targets", "fx_clean", "--json", js)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    head = next(i for i, l in enumerate(lines) if l.startswith("target "))
    assert lines[head].split() == ["target", "on", "exec/s", "off", "exec/s", "on/off", "on", "/cpu-s", "off",
                                   "/cpu-s", "on/off", "goal/s"]
    row = lines[head + 2].split()
    assert row[0] == "fx_clean" and len(row) == 8 and row[1].isdigit() and row[2].isdigit(), lines
    doc = json.loads(js.read_text())
    assert doc["command"] == "bench" and doc["seconds"] == 1 and len(doc["loadavg_before"]) == 3
    (t,) = doc["targets"]
    assert t["target"] == "fx_clean"
    for side in ("memo_on", "memo_off"):
        assert {"execs", "exec_per_sec", "exec_per_cpu_sec", "cpu_seconds"} <= set(t[side])
        assert t[side]["execs"] > 0
    assert live_processes_mentioning(proj) == []
