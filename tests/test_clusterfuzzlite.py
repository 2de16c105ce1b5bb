""".clusterfuzzlite/build.sh run locally (CI cannot run Docker here) with the
OSS-Fuzz variables set, as libFuzzer and as AFL++'s driver, into a temp $OUT:
checks what lands there (binary, <target>_seed_corpus.zip, .dict, .options)
and that the binaries run. Once on the fixture's stand-in project (always),
once on this tree's real targets (skipped until fuzz/targets.txt exists)."""
import os
import pathlib
import shutil
import subprocess
import sys
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from fuzzctl_lib.layout import read_target_names  # noqa: E402

FIX = ROOT / "tests" / "fuzzctl_fixture"
BUILD_SH = ROOT / ".clusterfuzzlite" / "build.sh"
FIXTURE_TARGETS = ["fx_crash", "fx_oracle", "fx_clean"]


def engine_env(engine, tmp_path, src_dir):
    if engine == "libfuzzer":
        if not shutil.which("clang-14"):
            pytest.skip("clang-14 not installed")
        cc, cxx = "clang-14", "clang++-14"
        cflags = "-O1 -fno-omit-frame-pointer -gline-tables-only -fsanitize=address,fuzzer-no-link"
        engine_flags = "-fsanitize=fuzzer"
    else:
        if not shutil.which("afl-clang-fast"):
            pytest.skip("afl-clang-fast not installed (tools/setup.sh installs afl++)")
        cc, cxx = "afl-clang-fast", "afl-clang-fast++"
        cflags = "-O1 -fno-omit-frame-pointer -gline-tables-only -fsanitize=address"
        engine_flags = "-fsanitize=fuzzer"  # afl-clang-fast links libAFLDriver for it
    env = dict(os.environ, CC=cc, CXX=cxx, CFLAGS=cflags, CXXFLAGS=cflags, LIB_FUZZING_ENGINE=engine_flags,
               SRC=str(tmp_path / "src"), OUT=str(tmp_path / "out"), WORK=str(tmp_path / "work"),
               TD_SRC_DIR=str(src_dir), TD_JOBS=str(os.cpu_count() or 2), AFL_QUIET="1")
    for d in ("src", "out", "work"):
        (tmp_path / d).mkdir(exist_ok=True)
    return env


def run_build_sh(engine, tmp_path, src_dir):
    env = engine_env(engine, tmp_path, src_dir)
    r = subprocess.run(["bash", str(BUILD_SH)], env=env, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return pathlib.Path(env["OUT"])


def targets_of(src_dir):
    return read_target_names(src_dir / "fuzz" / "targets.txt")


def check_out(out, src_dir, engine, tmp_path, runs):
    """What lands in $OUT, per target, and that each binary runs."""
    for t in targets_of(src_dir):
        binary = out / t
        assert binary.is_file() and os.access(binary, os.X_OK), "%s missing" % binary
        blob = binary.read_bytes()
        if engine == "libfuzzer":
            assert b"LLVMFuzzerTestOneInput" in blob and b"-runs" in blob  # libFuzzer's driver is linked
        else:
            assert b"__AFL_SHM_ID" in blob  # AFL++'s driver and runtime are linked
        base = t[:-3] if t.endswith("_fm") else t
        for ext in ("dict", "options"):
            has_src = (src_dir / "fuzz" / (t + "." + ext)).is_file() or (src_dir / "fuzz" / (base + "." + ext)).is_file()
            assert (out / (t + "." + ext)).is_file() == has_src, (t, ext)
        z = out / (t + "_seed_corpus.zip")
        assert z.is_file(), "%s missing" % z
        seeds = tmp_path / ("seeds-" + t)
        with zipfile.ZipFile(z) as zf:
            assert zf.testzip() is None and zf.namelist()
            assert all("/" not in n for n in zf.namelist())  # flat, as OSS-Fuzz expects
            zf.extractall(seeds)
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
        # A failing run's crash-*/timeout-* files go to a temp dir, not the working
        # directory (the repo root in CI); the assertion names them.
        artifacts = tmp_path / ("artifacts-" + t)
        artifacts.mkdir()
        if engine == "libfuzzer":
            argv = [str(binary), "-runs=%d" % runs(t), "-seed=1", "-artifact_prefix=%s/" % artifacts,
                    str(seeds)]
        else:
            argv = [str(binary)] + [str(p) for p in sorted(seeds.iterdir())]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env, cwd=artifacts)
        assert r.returncode == 0, "%s: artefacts %s: %s" % (
            argv, sorted(str(p) for p in artifacts.iterdir()) or "none", r.stderr[-2000:])


def fixture_project(tmp_path):
    src = tmp_path / "proj"
    (src / "fuzz").mkdir(parents=True)
    shutil.copy(FIX / "project.cmake", src / "CMakeLists.txt")
    for t in FIXTURE_TARGETS:
        shutil.copy(FIX / (t + ".c"), src / "fuzz")
    shutil.copy(FIX / "replay_main.c", src / "fuzz")
    (src / "fuzz" / "targets.txt").write_text("# fixture\n" + "\n".join(FIXTURE_TARGETS) + "\n")
    (src / "fuzz" / "fx_crash.dict").write_text('kw1="FU"\n')
    (src / "fuzz" / "fx_crash.options").write_text("[libfuzzer]\nmax_len = 64\n")
    for t, seed in (("fx_crash", b"FUa"), ("fx_oracle", b"OA"), ("fx_clean", b"A")):
        (src / "corpus" / t).mkdir(parents=True)
        (src / "corpus" / t / "s1").write_bytes(seed)
    (src / "corpus" / "regressions" / "fx_clean").mkdir(parents=True)
    (src / "corpus" / "regressions" / "fx_clean" / "s1").write_bytes(b"AB")  # same name as a seed
    return src


@pytest.mark.parametrize("engine", ["libfuzzer", "afl"])
def test_build_sh_on_fixture_project(engine, tmp_path):
    src = fixture_project(tmp_path)
    out = run_build_sh(engine, tmp_path, src)
    # Crashing fixtures only replay their seeds; the clean one fuzzes a little.
    check_out(out, src, engine, tmp_path, runs=lambda t: 2000 if t == "fx_clean" else 0)
    with zipfile.ZipFile(out / "fx_clean_seed_corpus.zip") as zf:
        assert sorted(zf.namelist()) == ["regression-s1", "seed-s1"]
    assert not (out / "fx_oracle.dict").exists()


@pytest.mark.parametrize("engine", ["libfuzzer", "afl"])
def test_build_sh_on_project(engine, tmp_path):
    if not (ROOT / "fuzz" / "targets.txt").is_file():
        pytest.skip("fuzz/targets.txt absent: the fuzz targets (issue 6) are not in this tree yet")
    out = run_build_sh(engine, tmp_path, ROOT)
    check_out(out, ROOT, engine, tmp_path, runs=lambda t: 200)
