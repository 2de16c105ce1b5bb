"""fuzzctl command line: build, run, triage, replay, coverage.

Exit codes: 0 nothing new / gate passed, 1 new findings / gate failed,
2 usage or setup error."""
import argparse
import datetime
import os
import pathlib
import shutil
import subprocess
import sys
import time

from . import engines, procs, report, triage
from . import layout as L

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
MAX_TRIAGED_PER_TARGET = 25


def log(msg):
    print(msg, flush=True)


def add_layout_args(p):
    g = p.add_argument_group("layout (defaults: this checkout)")
    g.add_argument("--root", help="project root (default: the checkout holding tools/fuzzctl)")
    g.add_argument("--targets-file", help="target list (default ROOT/fuzz/targets.txt)")
    g.add_argument("--corpus-root", help="corpora (default ROOT/corpus)")
    g.add_argument("--build-root", help="CMake build trees (default ROOT/build; binaries in <preset>/fuzz/)")
    g.add_argument("--tlsdrill", help="tlsdrill CLI used for `replay` traces (default BUILD_ROOT/default/tlsdrill)")


def make_layout(a):
    return L.Layout(root=a.root, targets_file=a.targets_file, corpus_root=a.corpus_root, build_root=a.build_root,
                    tlsdrill=a.tlsdrill)


# ---------------------------------------------------------------- build
def cmd_build(a):
    lay = make_layout(a)
    preset = L.ENGINE_PRESETS[a.engine][0]
    jobs = str(a.jobs or os.cpu_count() or 1)
    for argv in (["cmake", "--preset", preset, "-DTD_FUZZ=ON"], ["cmake", "--build", "--preset", preset, "-j", jobs]):
        log("+ " + " ".join(argv))
        if subprocess.run(argv, cwd=lay.root).returncode != 0:
            return EXIT_USAGE
    return EXIT_OK


# ---------------------------------------------------------------- triage
def triage_inputs(lay, target, files, deadline, group, outdir, engine, add_regressions, first_index=1):
    """Reproduces, buckets, minimises and decodes files of one target;
    writes one directory per bucket; returns finding dicts."""
    rep_engine, rep_bin = lay.reproducer(target, prefer=("libfuzzer", "replay", "afl"))
    if rep_bin is None:
        raise L.LayoutError("no binary for target %s under %s (run tools/fuzzctl build)" % (target, lay.build_root))
    opts = lay.options(target)
    repro = triage.Reproducer(rep_bin, rep_engine, opts, group)
    fast = triage.Reproducer(rep_bin, rep_engine, opts, group, symbolize=False)
    files = sorted((pathlib.Path(f) for f in files), key=lambda p: (p.stat().st_size, p.name))
    untriaged = max(0, len(files) - MAX_TRIAGED_PER_TARGET)
    # Group by the fast (unsymbolized) verdict, then name each group by one
    # symbolized run of its smallest input; groups with one name merge.
    groups = {}
    for f in files[:MAX_TRIAGED_PER_TARGET]:
        # Out of time: the input is still reported (never lost), unbucketed.
        rc, out, v = fast.run(f, timeout=deadline.left())
        if v is None:
            v = {"kind": "unreproducible", "oracle_kind": None, "rule": None, "alert": None,
                 "reason": "the input ran clean on %s" % rep_bin.name, "frames": [], "headline": "unreproducible"}
        groups.setdefault(triage.bucket(target, v), {"verdict": v, "files": []})["files"].append(f)
    buckets = {}
    for fb, g in groups.items():
        v = g["verdict"]
        out = ""
        if v["kind"] not in ("unreproducible", "untriaged"):
            _, out, sv = repro.run(g["files"][0], timeout=deadline.left())
            if sv is not None and sv is not triage.OUT_OF_TIME:
                v = sv
        b = triage.bucket(target, v)
        entry = buckets.setdefault(b, {"verdict": v, "files": [], "log": out, "fast_bucket": fb})
        entry["files"] += g["files"]
    # Minimising engine: the binary the run fuzzed with, else the reproducer.
    min_engine = engine if engine in ("libfuzzer", "afl") else rep_engine
    min_bin = lay.binary(min_engine, target) if lay.binary(min_engine, target).is_file() else None
    findings = []
    regdir = lay.regression_dir(target)
    known_names = [p.name for p in L.corpus_files(regdir)]
    known_hashes = {triage.sha1(p.read_bytes()) for p in L.corpus_files(regdir)}
    items = list(buckets.items())
    for n, (b, info) in enumerate(items):
        bid = triage.bucket_id(b)
        v = info["verdict"]
        src = info["files"][0]
        fdir = pathlib.Path(outdir) / "findings" / ("%03d-%s-%s" % (first_index + n, target, bid))
        fdir.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, fdir / "input")
        # Minimising gets this bucket's share minus ~1s kept for its log and trace.
        share = procs.Deadline(max(0.0, min(120.0, (deadline.left() - 1.0 * (len(items) - n)) / (len(items) - n))))
        if v["kind"] in ("unreproducible", "untriaged"):
            shutil.copy(src, fdir / "minimized")
            preserved, method = False, v["kind"]
        else:
            preserved, method = triage.minimise(target, fdir / "input", fdir / "minimized", fast, share,
                                                engine_bin=min_bin if min_engine != "replay" else None,
                                                engine=min_engine, options=opts, group=group,
                                                want=info["fast_bucket"])
        rc, out, lv = repro.run(fdir / "minimized", timeout=deadline.left())
        if lv is triage.OUT_OF_TIME:
            out = info["log"] or "(budget exhausted before reproduction)\n"
        (fdir / "log.txt").write_text("$ %s\n%s" % (" ".join(str(x) for x in repro.argv(fdir / "minimized")), out))
        tool, text = triage.trace(lay, target, fdir / "minimized", repro, min(30.0, deadline.left()))
        (fdir / "trace.txt").write_text("# %s %s\n%s" % (tool, fdir / "minimized", text))
        min_data = (fdir / "minimized").read_bytes()
        hashes = {triage.sha1(min_data)} | {triage.sha1(p.read_bytes()) for p in info["files"]}
        known = [nm for nm in known_names if nm.startswith(bid)] or ([] if not (hashes & known_hashes) else ["(same bytes)"])
        reg_file = None
        if known:
            reg_file = str(regdir / known[0]) if known[0] != "(same bytes)" else str(regdir)
        elif add_regressions and v["kind"] not in ("unreproducible", "untriaged"):
            regdir.mkdir(parents=True, exist_ok=True)
            reg = regdir / ("%s-%s" % (bid, triage.sha1(min_data)[:16]))
            reg.write_bytes(min_data)
            reg_file = str(reg)
            known_names.append(reg.name)
        cli = lay.tlsdrill()
        findings.append({
            "id": fdir.name, "target": target, "bucket": b, "bucket_id": bid, "kind": v["kind"],
            "oracle_kind": v["oracle_kind"], "rule": v["rule"], "alert": v["alert"], "reason": v["reason"],
            "frames": v["frames"], "headline": v["headline"], "count": len(info["files"]),
            "inputs": [str(p) for p in info["files"]], "dir": str(fdir), "input": str(fdir / "input"),
            "minimized": str(fdir / "minimized"), "input_size": src.stat().st_size, "minimized_size": len(min_data),
            "verdict_preserved": preserved, "minimize_method": method, "trace_tool": tool,
            "new": not known, "regression_file": reg_file, "filed": bool(reg_file and not known),
            "reproduce": ("%s replay %s %s" % (cli, target, fdir / "minimized")) if cli
            else "%s %s" % (rep_bin, fdir / "minimized"),
            "untriaged_inputs": untriaged,
        })
    return findings


def cmd_triage(a):
    lay = make_layout(a)
    lay.select_targets([a.target])
    out = pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    group = procs.Group(out / "pids.txt")
    deadline = procs.Deadline(a.budget)
    try:
        findings = triage_inputs(lay, a.target, a.files, deadline, group, out, a.engine, a.add_regressions)
    finally:
        group.stop_all()
    meta = {"engine": a.engine, "budget": a.budget, "fuzz_seconds": 0, "jobs": 1, "command": "triage",
            "started": datetime.datetime.now().isoformat(timespec="seconds")}
    tstats = [{"name": a.target, "workers": 0, "seconds": 0.0, "execs": 0, "exec_per_sec": 0, "coverage": 0,
               "corpus": len(L.corpus_files(lay.seed_dir(a.target))), "merged": 0, "findings": len(findings)}]
    report.write(out, meta, tstats, findings)
    report.html(lay, out, log, "triage")
    return finish(out, findings)


def finish(out, findings):
    new = [f for f in findings if f["new"]]
    for f in findings:
        log("%s finding %s: %s (%d input(s), minimised to %d bytes)%s" % (
            "NEW" if f["new"] else "known", f["target"], f["headline"], f["count"], f["minimized_size"],
            " -> filed %s" % f["regression_file"] if f["filed"] else ""))
    log("fuzzctl: %d finding(s), %d new; report in %s/summary.md" % (len(findings), len(new), out))
    return EXIT_FINDINGS if new else EXIT_OK


# ---------------------------------------------------------------- run
def cmd_run(a):
    lay = make_layout(a)
    targets = lay.select_targets(a.targets)
    missing = [str(lay.binary(a.engine, t)) for t in targets if not lay.binary(a.engine, t).is_file()]
    if missing and not a.targets and len(missing) < len(targets):
        # All targets by default: those the build produced (a target whose
        # source is missing is skipped by CMake), with a warning.
        log("fuzzctl: warning: not built, skipped: %s" % ", ".join(missing))
        targets = [t for t in targets if lay.binary(a.engine, t).is_file()]
        missing = []
    if missing:
        log("fuzzctl: not built: %s (run: tools/fuzzctl build --engine %s)" % (", ".join(missing), a.engine))
        return EXIT_USAGE
    if a.engine == "afl" and not shutil.which("afl-fuzz"):
        log("fuzzctl: afl-fuzz not found (tools/setup.sh installs afl++)")
        return EXIT_USAGE
    deadline = procs.Deadline(a.budget)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = pathlib.Path(a.out) if a.out else lay.build_root / "fuzzctl" / ("run-" + stamp)
    out.mkdir(parents=True, exist_ok=True)
    group = procs.Group(out / "pids.txt")
    post = a.post_budget if a.post_budget is not None else min(90.0, max(3.0, 0.15 * a.budget))
    post = min(post, a.budget * 0.5)
    fuzz_secs = a.budget - post
    jobs = a.jobs or os.cpu_count() or 1
    # A small budget over many targets: equal turns shorter than the time a
    # target needs to start would execute nothing; run fewer targets, each
    # with a useful slice, and say which were left out.
    all_targets = list(targets)
    targets, not_run = engines.choose(all_targets, jobs, fuzz_secs, a.min_slice)
    log("fuzzctl: %s on %d target(s), %d job(s), %.0fs fuzzing + %.0fs triage/merge; output %s" % (
        a.engine, len(targets), jobs, fuzz_secs, post, out))
    idle = {}
    if not_run:
        need = engines.budget_for_all(len(all_targets), jobs, a.min_slice)
        why = ("not run: %.0f s of fuzzing over %d targets on %d core(s) is %.1f s each, less than the "
               "%.0f s a target needs to start (--min-slice); --budget %.0f runs all" % (
                   fuzz_secs, len(all_targets), jobs, fuzz_secs * jobs / len(all_targets), a.min_slice,
                   need / 0.85 + 1))
        log("fuzzctl: budget too small for every target: running %s; not run: %s" % (
            ", ".join(targets), ", ".join(not_run)))
        for t in not_run:
            idle[t] = why
    runs = {}
    try:
        runs = engines.fuzz(lay, a.engine, targets, jobs, fuzz_secs, out, group, interval=a.progress_interval,
                            log=log, sync_root=a.sync_dir, afl_name=a.afl_name, afl_main=not a.afl_secondary)
        findings = []
        crashed = [t for t, tr in runs.items() if tr.artifact_files()]
        # Triage gets about half of what is left, merging the rest (or all of
        # it when no new inputs are to be merged).
        triage_time = procs.Deadline(deadline.left() * (0.9 if a.no_merge else 0.55))
        for i, t in enumerate(crashed):
            tr = runs[t]
            arts = tr.artifact_files()
            if arts:
                share = max(0.0, (triage_time.left() - 0.3) / (len(crashed) - i))
                findings += triage_inputs(lay, t, arts, procs.Deadline(share),
                                          group, out, a.engine, a.add_regressions, first_index=len(findings) + 1)
        merged = {}
        # Merge time in proportion to each target's new inputs.
        pending = {t: len(L.corpus_files(tr.new_dir)) + len(list(tr.sync.glob("*/queue/id:*"))) + 1
                   for t, tr in runs.items()}
        for t, tr in runs.items():
            share = procs.Deadline(max(0.0, (deadline.left() - 0.3) * pending[t] / sum(pending.values())))
            del pending[t]
            if a.no_merge:
                merged[t] = 0
            elif a.engine == "afl":
                merged[t] = engines.merge_afl(lay, lay.binary("afl", t), t, engines.afl_queue(tr), share, group,
                                              tr.dir)
            else:
                merged[t] = engines.merge_libfuzzer(lay, lay.binary("libfuzzer", t), t, tr.new_dir, share, group,
                                                    tr.dir)
    finally:
        group.stop_all()
    tstats = []
    for t in targets:
        if t not in runs:
            idle[t] = "not started: the budget ran out before its turn"
    for t, tr in runs.items():
        reason = tr.idle_reason()
        if reason:
            idle[t] = reason
    for t in all_targets:
        tr = runs.get(t)
        s = tr.stats if tr else {"execs": 0, "exec_per_sec": 0, "cov": 0, "ft": 0}
        secs = ((tr.stopped or time.monotonic()) - (tr.started or time.monotonic())) if tr else 0.0
        tstats.append({"name": t, "workers": tr.workers if tr else 0, "seconds": round(secs, 1),
                       "execs": s["execs"],
                       "exec_per_sec": s["exec_per_sec"] or int(s["execs"] / max(1.0, secs)), "coverage": s["cov"],
                       "features": s["ft"], "corpus": len(L.corpus_files(lay.seed_dir(t))),
                       "merged": merged.get(t, 0), "findings": sum(1 for f in findings if f["target"] == t),
                       "crash_files": len(tr.artifact_files()) if tr else 0, "series": tr.series if tr else [],
                       "idle_reason": idle.get(t)})
    meta = {"engine": a.engine, "budget": a.budget, "fuzz_seconds": round(fuzz_secs, 1), "jobs": jobs,
            "command": "run", "started": stamp, "elapsed": round(deadline.elapsed(), 1)}
    broken = [t for t, tr in runs.items() if tr.failed_to_start()]
    meta["failed_to_start"] = broken
    meta["executed_nothing"] = {t: idle[t] for t in all_targets if t in idle}
    report.write(out, meta, tstats, findings)
    report.html(lay, out, log)
    for t in tstats:
        log("%s: %d execs, %d exec/s, cov %d, corpus %d (+%d merged), %d finding(s)%s" % (
            t["name"], t["execs"], t["exec_per_sec"], t["coverage"], t["corpus"], t["merged"], t["findings"],
            "; executed nothing: " + t["idle_reason"] if t["idle_reason"] else ""))
    rc = finish(out, findings)
    if idle:
        log("fuzzctl: %d of %d target(s) executed nothing: %s" % (
            len(idle), len(all_targets), ", ".join(t for t in all_targets if t in idle)))
        if a.strict and rc == EXIT_OK and not broken:
            log("fuzzctl: --strict: a target that executed nothing fails the run")
            return EXIT_USAGE
    if broken:
        for t in broken:
            log("fuzzctl: the fuzzer of %s failed to start; see %s/logs/" % (t, out))
        return EXIT_USAGE if rc == EXIT_OK else rc
    return rc


# ---------------------------------------------------------------- replay
def cmd_replay(a):
    """The regression gate: every seed and regression input through the
    replay executables (no engine)."""
    lay = make_layout(a)
    targets = lay.select_targets(a.targets)
    unbuilt = [t for t in targets if not lay.binary(a.engine, t).is_file()]
    if unbuilt and not a.targets and len(unbuilt) < len(targets):
        log("fuzzctl replay: warning: not built, skipped: %s" % ", ".join(unbuilt))
        targets = [t for t in targets if t not in unbuilt]
    cases = []
    failed = 0
    start = time.monotonic()
    for t in targets:
        engine = a.engine
        binary = lay.binary(engine, t)
        t0 = time.monotonic()
        if not binary.is_file():
            log("fuzzctl replay: %s not built (tools/fuzzctl build --engine %s)" % (binary, engine))
            cases.append(("replay." + t, t, "error", "not built", str(binary), 0.0))
            failed += 1
            continue
        dirs = [d for d in (lay.seed_dir(t), lay.regression_dir(t)) if L.corpus_files(d)]
        files = [f for d in dirs for f in L.corpus_files(d)]
        if not files:
            cases.append(("replay." + t, t, "skipped", "no inputs", "", 0.0))
            log("%-28s no inputs" % t)
            continue
        argv = [binary] + (["-runs=0"] if engine == "libfuzzer" else []) + dirs
        rc, out = procs.run_bounded(argv, a.timeout, env=triage.SANITIZER_ENV)
        v = triage.classify(out, rc)
        if v is None:
            cases.append(("replay." + t, t, "ok", None, "", time.monotonic() - t0))
            log("%-28s ok (%d inputs)" % (t, len(files)))
            continue
        failed += 1
        # Name the culprits: one process per input.
        culprits = []
        repro = triage.Reproducer(binary, engine, lay.options(t))
        for f in files:
            _, fout, fv = repro.run(f, timeout=a.timeout)
            if fv is not None:
                culprits.append("%s: %s" % (f, fv["headline"]))
        detail = "\n".join(culprits) or v["headline"]
        cases.append(("replay." + t, t, "failure", v["headline"], detail + "\n\n" + out[-4000:],
                      time.monotonic() - t0))
        log("%-28s FAIL %s" % (t, v["headline"]))
        for c in culprits:
            log("    " + c)
    if a.junit:
        report.junit_cases(a.junit, "fuzzctl.replay", cases, elapsed=time.monotonic() - start)
    log("fuzzctl replay: %d target(s), %d failed" % (len(targets), failed))
    return EXIT_FINDINGS if failed else EXIT_OK


# ---------------------------------------------------------------- merge / prune
def cmd_merge(a):
    """Merges directories of inputs (e.g. a ClusterFuzzLite corpus) into
    corpus/<target>/, keeping only inputs that add coverage."""
    lay = make_layout(a)
    lay.select_targets([a.target])
    binary = lay.binary("libfuzzer", a.target)
    if not binary.is_file():
        log("fuzzctl merge: %s not built (tools/fuzzctl build --engine libfuzzer)" % binary)
        return EXIT_USAGE
    import tempfile

    with tempfile.TemporaryDirectory(prefix="fuzzctl-merge-") as tmp:
        group = procs.Group()
        added = engines.merge_libfuzzer(lay, binary, a.target, [pathlib.Path(d) for d in a.dirs],
                                        procs.Deadline(a.budget), group, tmp)
    log("fuzzctl merge: %s: %d input(s) added, corpus now %d" % (a.target, added,
                                                                  len(L.corpus_files(lay.seed_dir(a.target)))))
    return EXIT_OK


def cmd_prune(a):
    lay = make_layout(a)
    import tempfile

    for t in lay.select_targets(a.targets):
        binary = lay.binary("libfuzzer", t)
        if not binary.is_file():
            log("fuzzctl prune: %s not built" % binary)
            return EXIT_USAGE
        with tempfile.TemporaryDirectory(prefix="fuzzctl-prune-") as tmp:
            before, after = engines.prune_libfuzzer(lay, binary, t, procs.Deadline(a.budget), procs.Group(), tmp)
        log("fuzzctl prune: %s: %d -> %d inputs" % (t, before, after))
    return EXIT_OK


# ---------------------------------------------------------------- main
def build_parser():
    """The command line; every option of every subcommand has a help text
    (tests/test_fuzzctl.py checks)."""
    p = argparse.ArgumentParser(prog="fuzzctl", description=__doc__.split("\n\n")[0],
                                epilog="exit: 0 nothing new / gate passed, 1 new findings / gate failed, "
                                       "2 usage or setup error. `fuzzctl CMD --help` for each command.")
    sub = p.add_subparsers(dest="cmd", required=True)

    b = sub.add_parser("build", help="build the fuzz targets with a CMake preset",
                       description="Configures and builds the fuzz targets with the preset of ENGINE "
                                   "(cmake --preset P -DTD_FUZZ=ON; binaries under BUILD_ROOT/<preset>/fuzz/).")
    b.add_argument("--engine", choices=["libfuzzer", "afl", "replay"], default="libfuzzer",
                   help="libFuzzer binaries, AFL++ ones, or the plain replay executables "
                        "(default %(default)s)")
    b.add_argument("--jobs", type=int, help="parallel compile jobs (default: every core)")
    add_layout_args(b)

    r = sub.add_parser("run", help="fuzz every target within a time budget, triage findings",
                       description="Fuzzes the targets side by side within --budget seconds (the last "
                                   "--post-budget of it for triage and merge), then triages every crash: "
                                   "findings/, findings.json, summary.md, junit.xml and report.html under "
                                   "--out. Exit 1 on a new finding, 2 when a fuzzer failed to start.")
    r.add_argument("--budget", type=float, required=True, help="total wall-clock seconds, triage included")
    r.add_argument("--targets", nargs="+", help="subset of fuzz/targets.txt")
    r.add_argument("--jobs", type=int, help="cores to use (default: all)")
    r.add_argument("--engine", choices=["libfuzzer", "afl"], default="libfuzzer",
                   help="fuzzing engine (default %(default)s; afl needs the afl preset built)")
    r.add_argument("--out", help="output folder (default BUILD_ROOT/fuzzctl/run-<time>)")
    r.add_argument("--add-regressions", action="store_true", help="file new findings under corpus/regressions/")
    r.add_argument("--post-budget", type=float,
                   help="seconds of the budget kept for triage and merge (default 15%%, 3..90)")
    r.add_argument("--no-merge", action="store_true", help="do not merge new inputs into corpus/<target>/")
    r.add_argument("--strict", action="store_true",
                   help="exit 2 when a target executed nothing (not run, or no input executed in its slice)")
    r.add_argument("--min-slice", type=float, default=engines.MIN_SLICE,
                   help="seconds a target needs to start; a smaller budget runs fewer targets (default %(default)s)")
    r.add_argument("--progress-interval", type=float, default=10.0,
                   help="seconds between progress lines (exec/s, coverage) while fuzzing (default %(default)s)")
    r.add_argument("--sync-dir", help="AFL++: shared sync root (<dir>/<target>/), e.g. on NFS for a cluster")
    r.add_argument("--afl-name", help="AFL++: instance name prefix for this machine (default: none)")
    r.add_argument("--afl-secondary", action="store_true",
                   help="AFL++: only -S secondaries here (another machine runs the -M main)")
    add_layout_args(r)

    t = sub.add_parser("triage", help="minimise, deduplicate and report given crash inputs of one target",
                       description="Reproduces each input, buckets it (oracle rule+alert, or sanitizer kind + "
                                   "top frames), minimises one input per bucket and writes findings/, "
                                   "findings.json, summary.md and junit.xml under OUT. Exit 1 when a bucket is "
                                   "new (not under corpus/regressions/<target>/).")
    t.add_argument("--target", required=True, help="the fuzz target the inputs are for (fuzz/targets.txt)")
    t.add_argument("--out", required=True, help="output folder (created)")
    t.add_argument("--budget", type=float, default=120.0,
                   help="wall-clock seconds for reproducing, minimising and tracing (default %(default)s)")
    t.add_argument("--engine", choices=["libfuzzer", "afl", "replay"], default="libfuzzer",
                   help="the engine the inputs come from: its minimiser is used (default %(default)s)")
    t.add_argument("--add-regressions", action="store_true",
                   help="file each new bucket's minimised input under corpus/regressions/<target>/")
    t.add_argument("files", nargs="+", help="crash, timeout or oracle-failure inputs")
    add_layout_args(t)

    rp = sub.add_parser("replay", help="replay seed + regression corpora (the CI regression gate)",
                        description="Runs every seed and regression input of each target through its replay "
                                    "executable (no fuzzing). Exit 1 when one crashes, hangs or fails the "
                                    "oracle; the culprit files are named.")
    rp.add_argument("--targets", nargs="+", help="subset of fuzz/targets.txt (default: all)")
    rp.add_argument("--engine", choices=["replay", "libfuzzer"], default="replay",
                    help="the replay executables, or the libFuzzer binaries with -runs=0 (default %(default)s)")
    rp.add_argument("--junit", help="write a JUnit XML report here (a testcase per target: failure, error "
                                    "when not built, skipped when it has no inputs)")
    rp.add_argument("--timeout", type=float, default=300.0, help="seconds per target")
    add_layout_args(rp)

    m = sub.add_parser("merge", help="merge input directories into corpus/<target>/ (coverage-adding inputs only)",
                       description="Adds to corpus/<target>/ the inputs of DIRS that add coverage "
                                   "(libFuzzer -merge=1); nothing else is copied.")
    m.add_argument("--target", required=True, help="the target whose corpus grows")
    m.add_argument("--budget", type=float, default=600.0, help="wall-clock seconds (default %(default)s)")
    m.add_argument("dirs", nargs="+", help="folders of candidate inputs")
    add_layout_args(m)

    pr = sub.add_parser("prune", help="shrink corpus/<target>/ to a coverage-minimal subset (nightly)",
                        description="Replaces corpus/<target>/ by the subset of it that keeps its coverage "
                                    "(libFuzzer -merge=1 into an empty folder); needs the libFuzzer build.")
    pr.add_argument("--targets", nargs="+", help="subset of fuzz/targets.txt (default: all)")
    pr.add_argument("--budget", type=float, default=600.0, help="seconds per target")
    add_layout_args(pr)

    bn = sub.add_parser("bench", help="exec/s of each libFuzzer target from its seeds, crypto memo on vs off",
                        description="Runs each libFuzzer target from its seeds for --seconds with the crypto "
                                    "memo on and off and reports exec/s of both (JSON and a table).")
    bn.add_argument("--seconds", type=float, default=30.0, help="seconds per target and variant (default 30)")
    bn.add_argument("--targets", nargs="+", help="subset of fuzz/targets.txt (default: all)")
    bn.add_argument("--jobs", type=int, help="2 (default): memo on and off side by side; 1: one after the other")
    bn.add_argument("--json", help="write the JSON here (default BUILD_ROOT/fuzzctl/bench-<time>.json)")
    bn.add_argument("--keep", action="store_true", help="keep the libFuzzer logs (paths in the JSON)")
    add_layout_args(bn)

    c = sub.add_parser("coverage", help="source coverage of the corpora and the catalogue rules they reach",
                       description="Builds the targets with source coverage, runs every corpus input and "
                                   "writes an HTML/text report plus the catalogue rules the corpora reach.")
    c.add_argument("--targets", nargs="+", help="subset of fuzz/targets.txt (default: all)")
    c.add_argument("--no-build", action="store_true", help="use an existing coverage build")
    c.add_argument("--coverage-build", help="coverage build tree (default BUILD_ROOT/coverage)")
    c.add_argument("--out", help="report folder (default BUILD_ROOT/coverage/report)")
    c.add_argument("--sources", nargs="+", help="restrict the report to these paths (default ROOT/engine)")
    c.add_argument("--jobs", type=int, help="parallel compile jobs of the coverage build (default: every core)")
    add_layout_args(c)
    return p


def main(argv):
    p = build_parser()
    a = p.parse_args(argv)
    try:
        if a.cmd == "build":
            return cmd_build(a)
        if a.cmd == "run":
            if a.budget <= 0:
                p.error("--budget must be positive")
            return cmd_run(a)
        if a.cmd == "triage":
            return cmd_triage(a)
        if a.cmd == "replay":
            return cmd_replay(a)
        if a.cmd == "merge":
            return cmd_merge(a)
        if a.cmd == "prune":
            return cmd_prune(a)
        if a.cmd == "bench":
            if a.seconds <= 0:
                p.error("--seconds must be positive")
            from . import bench

            return bench.cmd_bench(a, make_layout(a), log)
        if a.cmd == "coverage":
            from . import coverage

            return coverage.cmd_coverage(a, make_layout(a), log)
    except L.LayoutError as e:
        log("fuzzctl: %s" % e)
        return EXIT_USAGE
    except KeyboardInterrupt:
        log("fuzzctl: interrupted")
        return EXIT_USAGE
    except Exception:  # an internal error must not read as "findings" (1)
        import traceback

        traceback.print_exc()
        return EXIT_USAGE
    return EXIT_USAGE
