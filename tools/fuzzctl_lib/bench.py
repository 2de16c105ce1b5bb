"""fuzzctl bench: exec/s of each libFuzzer target from its seeds, with the
crypto memo on (the default of the fuzz binaries) next to the same binary
with it off (TD_FUZZ_MEMO=0), measured in one run: the two runs of a target
go side by side (at the same time, one core each, with --jobs 2) so that
they see the same machine load. A table on stdout and a JSON file.

The figures are benchmarks, never assertions: a shared machine moves them;
the ratio of the two columns is what one run can say. Next to libFuzzer's
wall-clock exec/s, executions per CPU-second of the process (its rusage):
on a loaded machine that one moves much less."""
import datetime
import json
import os
import pathlib
import re
import resource
import shutil
import signal
import tempfile
import time

from . import engines
from . import layout as L
from . import procs

FINAL_RE = {"execs": re.compile(r"^stat::number_of_executed_units:\s*(\d+)", re.M),
            "exec_per_sec": re.compile(r"^stat::average_exec_per_sec:\s*(\d+)", re.M)}
COV_RE = re.compile(r"^#\d+\s+\w+\s+cov: (\d+)", re.M)

# The goals of issue 14 (fuzz/README.md "Figures"), shown next to the figures.
GOALS = {"record": 10000, "record_fm": 20000}
HANDSHAKE_GOAL, FM_GOAL = 5000, 20000


def goal(target):
    if target in GOALS:
        return GOALS[target]
    if target in ("scenario_parser", "differential"):
        return None
    return FM_GOAL if target.endswith("_fm") else HANDSHAKE_GOAL


def argv_for(lay, binary, target, seconds, scratch):
    """libFuzzer from the seeds (and regressions): new inputs go to a
    scratch directory, never into corpus/."""
    opts = lay.options(target)
    argv = [binary, "-max_total_time=%d" % max(1, int(seconds)), "-print_final_stats=1",
            "-artifact_prefix=%s/" % scratch, "-close_fd_mask=1"]
    for key in ("max_len", "timeout", "rss_limit_mb", "len_control", "use_value_profile"):
        if key in opts:
            argv.append("-%s=%s" % (key, opts[key]))
    d = lay.dict_file(target)
    if d:
        argv.append("-dict=%s" % d)
    argv.append(scratch / "new")
    for d in (lay.seed_dir(target), lay.regression_dir(target)):
        if L.corpus_files(d):
            argv.append(d)
    return argv


def parse(out):
    r = {}
    for k, rx in FINAL_RE.items():
        m = rx.findall(out)
        r[k] = int(m[-1]) if m else 0
    m = COV_RE.findall(out)
    r["coverage"] = int(m[-1]) if m else 0
    return r


def run_pair(lay, binary, target, seconds, jobs, group, tmp):
    """The memo-on and memo-off runs of one target; returns (on, off)."""
    env_base = {"ASAN_OPTIONS": "detect_leaks=0:symbolize=0:" + engines.QUARANTINE}  # as fuzzctl run
    variants = [("on", {}), ("off", {"TD_FUZZ_MEMO": "0"})]
    logs, handles, cpu = {}, {}, {}
    for name, env in variants:
        scratch = pathlib.Path(tmp) / ("%s-%s" % (target, name))
        (scratch / "new").mkdir(parents=True, exist_ok=True)
        logs[name] = scratch / "log.txt"
        argv = argv_for(lay, binary, target, seconds, scratch)
        full = dict(env_base, **env)
        if jobs >= 2:
            handles[name] = group.spawn(argv, logs[name], env=full)
        else:
            before = children_cpu()
            rc, out = procs.run_bounded(argv, seconds + 60, env=full, group=group)
            cpu[name] = children_cpu() - before
            logs[name].write_text(out)
    for name, p in handles.items():
        # Reaped one at a time: the children's rusage grows by this one's CPU.
        before = children_cpu()
        try:
            p.wait(timeout=seconds + 60)
        except Exception:  # noqa: BLE001 -- a hung run is stopped, its figures are what it printed
            pass
        procs.stop_group(p, grace=1.0)
        cpu[name] = children_cpu() - before
    res = []
    for name, _ in variants:
        out = logs[name].read_text(errors="replace") if logs[name].is_file() else ""
        r = parse(out)
        r["cpu_seconds"] = round(cpu.get(name, 0.0), 2)
        r["exec_per_cpu_sec"] = int(r["execs"] / cpu[name]) if cpu.get(name) else 0
        r["log"] = str(logs[name])
        res.append(r)
    return res


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def table(rows):
    """exec/s: libFuzzer's (wall clock); /cpu-s: executions per CPU-second."""
    head = "%-24s %10s %10s %7s %11s %11s %7s %8s" % (
        "target", "on exec/s", "off exec/s", "on/off", "on /cpu-s", "off /cpu-s", "on/off", "goal/s")
    lines = [head, "-" * len(head)]

    def ratio(a, b):
        return ("%.2fx" % (a / b)) if b else "-"

    for r in rows:
        g = r["goal"]
        on, off = r["on"], r["off"]
        lines.append("%-24s %10d %10d %7s %11d %11d %7s %8s" % (
            r["target"], on["exec_per_sec"], off["exec_per_sec"], ratio(on["exec_per_sec"], off["exec_per_sec"]),
            on["exec_per_cpu_sec"], off["exec_per_cpu_sec"], ratio(on["exec_per_cpu_sec"], off["exec_per_cpu_sec"]),
            "-" if g is None else str(g)))
    return "\n".join(lines)


def cmd_bench(a, lay, log):
    targets = lay.select_targets(a.targets)
    missing = [t for t in targets if not lay.binary("libfuzzer", t).is_file()]
    if missing and a.targets:
        log("fuzzctl bench: not built: %s (run: tools/fuzzctl build --engine libfuzzer)" % ", ".join(missing))
        return 2
    targets = [t for t in targets if t not in missing]
    if not targets:
        log("fuzzctl bench: no libFuzzer target built under %s" % lay.build_dir("libfuzzer"))
        return 2
    jobs = a.jobs or min(2, os.cpu_count() or 1)
    load_before = os.getloadavg()
    log("fuzzctl bench: %d target(s), %g s each, memo on and off %s; load average %.2f %.2f %.2f" % (
        len(targets), a.seconds, "side by side" if jobs >= 2 else "one after the other", *load_before))
    rows = []
    group = procs.Group()

    def on_term(signo, frame):  # stop the runs under way (finally below), not only this process
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    tmp = tempfile.mkdtemp(prefix="fuzzctl-bench-")
    try:
        for t in targets:
            on, off = run_pair(lay, lay.binary("libfuzzer", t), t, a.seconds, jobs, group, tmp)
            rows.append({"target": t, "goal": goal(t), "on": on, "off": off})
            log("  %s: memo on %d exec/s (%d execs, %.1f CPU-s), off %d exec/s (%d execs, %.1f CPU-s)" % (
                t, on["exec_per_sec"], on["execs"], on["cpu_seconds"], off["exec_per_sec"], off["execs"],
                off["cpu_seconds"]))
    finally:
        group.stop_all()
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    load_after = os.getloadavg()
    print(table(rows), flush=True)
    doc = {"tool": "fuzzctl", "command": "bench", "format": 1, "seconds": a.seconds, "side_by_side": jobs >= 2,
           "started": datetime.datetime.now().isoformat(timespec="seconds"), "cpus": os.cpu_count(),
           "loadavg_before": list(load_before), "loadavg_after": list(load_after),
           "targets": [{"target": r["target"], "goal_exec_per_sec": r["goal"],
                        "memo_on": {k: v for k, v in r["on"].items() if k != "log" or a.keep},
                        "memo_off": {k: v for k, v in r["off"].items() if k != "log" or a.keep}}
                       for r in rows]}
    path = pathlib.Path(a.json) if a.json else lay.build_root / "fuzzctl" / (
        "bench-%s.json" % time.strftime("%Y%m%d-%H%M%S"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    log("fuzzctl bench: load average after %.2f %.2f %.2f; JSON in %s" % (*load_after, path))
    return 0
