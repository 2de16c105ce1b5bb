"""Fuzzing engines under one time budget: libFuzzer (-fork=N per target,
crashes ignored so a run keeps going after the first finding) and AFL++ (one
-M main and -S secondaries per target on a shared sync directory). Also the
corpus merge back into corpus/<target>/ (libFuzzer -merge=1, afl-cmin)."""
import os
import pathlib
import re
import shutil
import threading
import time

from . import layout as L
from . import procs

FORK_RE = re.compile(r"^#(\d+): cov: (\d+) ft: (\d+) corp: (\d+) exec/s:? (\d+) "
                     r"oom/timeout/crash: (\d+)/(\d+)/(\d+) time: (\d+)s")
PLAIN_RE = re.compile(r"^#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)/\S+.*?exec/s: (\d+)")
FINAL_EXECS_RE = re.compile(r"^stat::number_of_executed_units:\s*(\d+)")
ARTIFACT_PREFIXES = ("crash-", "leak-", "timeout-", "oom-")
# Seconds a target needs before it executes anything worth counting: the
# sanitized binary starts, libFuzzer loads and runs its seeds, and in fork
# mode the first job reports. Below this a slice is wasted (fuzzctl run
# --min-slice; on a loaded machine the handshake targets need more).
MIN_SLICE = 5.0
# ASan's quarantine at 64 MB instead of 256: freed chunks still wait through
# hundreds of runs (a use-after-free within a run, or a few runs apart, is
# caught), and allocations stop landing on fresh pages, whose faults cost
# about a third of a handshake target's CPU on this kind of VM.
QUARANTINE = "quarantine_size_mb=64"
# Slices shorter than this run one worker in plain mode (libfuzzer_argv).
FORK_MIN_SECONDS = 60.0

AFL_ENV = {"AFL_NO_UI": "1", "AFL_SKIP_CPUFREQ": "1", "AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES": "1",
           "AFL_NO_AFFINITY": "1", "AFL_NO_WARN_INSTABILITY": "1", "AFL_SHUFFLE_QUEUE": "1",
           "ASAN_OPTIONS": "abort_on_error=1:symbolize=0:detect_leaks=0:allocator_may_return_null=1:"
                           "quarantine_size_mb=64"}


class TargetRun:
    """One target's fuzzing: its processes, live stats and directories."""

    def __init__(self, target, workers, seconds, outdir, sync_root=None):
        self.target = target
        self.workers = workers
        self.seconds = seconds
        self.dir = pathlib.Path(outdir) / "work" / target
        self.new_dir = self.dir / "new"
        self.artifacts = self.dir / "artifacts"
        # AFL++ sync directory: per run, or <sync_root>/<target> shared by
        # every machine of a cluster (NFS, or rsync'd between hosts).
        self.sync = pathlib.Path(sync_root) / target if sync_root else self.dir / "sync"
        for d in (self.new_dir, self.artifacts, self.sync.parent):
            d.mkdir(parents=True, exist_ok=True)
        self.exit_codes = []
        self.log_path = None
        self.instance_prefix = None
        self.procs = []
        self.started = None
        self.stopped = None
        self.stats = {"execs": 0, "exec_per_sec": 0, "cov": 0, "ft": 0, "corpus": 0, "crashes": 0}
        self.lock = threading.Lock()
        # [seconds since start, execs, exec/s, coverage, features, corpus]:
        # the live stats sampled about once a second (findings.json "series",
        # plotted by `tlsdrill report`).
        self.series = []

    def sample(self, now, force=False):
        if self.started is None:
            return
        t = round(now - self.started, 1)
        with self.lock:
            s = self.stats
            point = [t, s["execs"], s["exec_per_sec"], s["cov"], s["ft"], s["corpus"]]
        if self.series and (t == self.series[-1][0] or not force and (
                t - self.series[-1][0] < 1.0 or point[1:] == self.series[-1][1:])):
            return
        self.series.append(point)

    def on_libfuzzer_line(self, line):
        m = FINAL_EXECS_RE.match(line)
        if m:
            # The final count (plain mode; fork mode's parent reports 0 if no
            # job finished): never lower than what the progress lines said.
            with self.lock:
                self.stats["execs"] = max(self.stats["execs"], int(m.group(1)))
            return
        m = FORK_RE.match(line)
        if m:
            n, cov, ft, corp, eps, _, _, crashes, secs = (int(x) for x in m.groups())
            with self.lock:
                self.stats.update(execs=n, cov=cov, ft=ft, corpus=corp, crashes=crashes,
                                  exec_per_sec=eps or (n // max(1, secs)))
            return
        m = PLAIN_RE.match(line)
        if m:
            n, cov, ft, corp, eps = (int(x) for x in m.groups())
            with self.lock:
                self.stats.update(execs=n, cov=cov, ft=ft, corpus=corp, exec_per_sec=eps)

    def poll_afl(self):
        total_eps, execs, cov, corp, crashes = 0.0, 0, 0, 0, 0
        for stats in self.sync.glob("*/fuzzer_stats"):
            kv = {}
            for line in stats.read_text(errors="replace").splitlines():
                if ":" in line:
                    k, v = line.split(":", 1)
                    kv[k.strip()] = v.strip()
            eps = float(kv.get("execs_per_sec", 0) or 0)
            total_eps += eps if eps < 1e12 else 0.0  # "inf" right after start
            execs += int(kv.get("execs_done", 0) or 0)
            cov = max(cov, int(kv.get("edges_found", 0) or 0))
            corp = max(corp, int(kv.get("corpus_count", kv.get("paths_total", 0)) or 0))
            crashes += int(kv.get("saved_crashes", kv.get("unique_crashes", 0)) or 0)
        with self.lock:
            self.stats.update(execs=execs, exec_per_sec=int(total_eps), cov=cov, corpus=corp, crashes=crashes)

    def artifact_files(self):
        out = [p for p in self.artifacts.iterdir() if p.name.startswith(ARTIFACT_PREFIXES)]
        if self.sync.is_dir():
            for d in self.sync.glob((self.instance_prefix or "") + "*/crashes"):
                out += [p for p in d.iterdir() if p.name.startswith("id:")]
            for d in self.sync.glob((self.instance_prefix or "") + "*/hangs"):
                out += [p for p in d.iterdir() if p.name.startswith("id:")]
        return sorted(out)

    def failed_to_start(self):
        """Every process exited by itself with an error, without executing
        anything or finding anything: a setup problem, not a clean run."""
        return (bool(self.exit_codes) and all(c not in (None, 0) for c in self.exit_codes)
                and self.stats["execs"] == 0 and not self.artifact_files())

    def idle_reason(self):
        """Why the target executed nothing (None if it executed inputs)."""
        if self.stats["execs"] > 0 or self.artifact_files():
            return None
        secs = (self.stopped or 0) - (self.started or 0)
        if self.failed_to_start():
            return "its fuzzer exited with code %s before executing anything" % self.exit_codes
        text = ""
        if self.log_path is not None and pathlib.Path(self.log_path).is_file():
            text = pathlib.Path(self.log_path).read_text(errors="replace")
        if "starting to fuzz" in text or "INITED" in text:
            return ("seeds loaded, but no fuzzing job had reported within its %.0f s slice "
                    "(fork mode reports when a job ends)" % secs)
        if text:
            return "still starting and loading its seeds when its %.0f s slice ended" % secs
        return "no output at all within its %.0f s slice" % secs

    def running(self):
        return any(p.poll() is None for p in self.procs)


def choose(targets, jobs, seconds, min_slice=MIN_SLICE):
    """Which targets a budget can run: when the targets take turns
    (fewer cores than targets) and equal shares would be shorter than
    min_slice, only as many as get min_slice each (at least one per core),
    in the list's order. Returns (to_run, not_run)."""
    jobs = max(1, jobs)
    if jobs >= len(targets) or min_slice <= 0:
        return list(targets), []
    fits = int(seconds * jobs // min_slice)
    k = min(len(targets), max(jobs, fits))
    return list(targets[:k]), list(targets[k:])


def budget_for_all(n_targets, jobs, min_slice=MIN_SLICE):
    """Fuzzing seconds that give every target min_slice."""
    jobs = max(1, jobs)
    return min_slice * n_targets / jobs if n_targets > jobs else min_slice


def plan(targets, jobs, seconds):
    """Splits `jobs` cores over targets: with at least one core per target all
    run at once (spare cores become extra workers); with fewer cores, targets
    take turns, each for an equal share of the time. Returns
    [(target, workers, seconds)] in start order."""
    jobs = max(1, jobs)
    if jobs >= len(targets):
        base, extra = divmod(jobs, len(targets))
        return [(t, base + (1 if i < extra else 0), seconds) for i, t in enumerate(targets)]
    share = seconds * jobs / len(targets)
    return [(t, 1, share) for t in targets]


def libfuzzer_argv(lay, binary, tr, seconds):
    opts = lay.options(tr.target)
    # Fork mode keeps fuzzing after a crash, but reports only when a job
    # ends and first re-runs the seeds in a child: in a short slice it often
    # executes nothing that it reports. One worker in a short slice runs in
    # plain mode (it stops at its first crash; what is left of the slice
    # goes to the next targets).
    if tr.workers > 1 or seconds >= FORK_MIN_SECONDS:
        argv = [binary, "-fork=%d" % tr.workers, "-ignore_crashes=1", "-ignore_timeouts=1", "-ignore_ooms=1"]
    else:
        argv = [binary]
    argv += ["-max_total_time=%d" % max(1, int(seconds - 1)), "-artifact_prefix=%s/" % tr.artifacts,
             "-print_final_stats=1"]
    for key in ("max_len", "timeout", "rss_limit_mb", "len_control", "use_value_profile"):
        if key in opts:
            argv.append("-%s=%s" % (key, opts[key]))
    d = lay.dict_file(tr.target)
    if d:
        argv.append("-dict=%s" % d)
    argv.append(tr.new_dir)
    for d in (lay.seed_dir(tr.target), lay.regression_dir(tr.target)):
        if L.corpus_files(d):
            argv.append(d)
    return argv


def afl_argvs(lay, binary, tr, seconds, afl_name=None, afl_main=True):
    """One -M main (unless another machine runs it: afl_main=False) and -S
    secondaries; instance names carry afl_name (e.g. the host) so that many
    machines can share one sync directory."""
    seeds = tr.dir / "in"
    seeds.mkdir(exist_ok=True)
    for d in (lay.seed_dir(tr.target), lay.regression_dir(tr.target)):
        for p in L.corpus_files(d):
            shutil.copy(p, seeds / ("%s-%s" % (d.name, p.name)))
    if not any(seeds.iterdir()):
        (seeds / "empty").write_bytes(b"\0")
    opts = lay.options(tr.target)
    common = ["-i", seeds, "-o", tr.sync, "-V", str(max(1, int(seconds - 1)))]
    if "timeout" in opts:
        common += ["-t", str(int(float(opts["timeout"]) * 1000))]
    if "max_len" in opts:
        common += ["-G", opts["max_len"]]
    d = lay.dict_file(tr.target)
    if d:
        common += ["-x", d]
    argvs = []
    prefix = (afl_name + "-") if afl_name else ""
    for i in range(tr.workers):
        if i == 0 and afl_main:
            role = ["-M", prefix + "main"]
        else:
            role = ["-S", "%ssec%d" % (prefix, i if afl_main else i + 1)]
        argvs.append(["afl-fuzz"] + role + common + ["--", binary])
    return argvs


def fuzz(lay, engine, targets, jobs, seconds, outdir, group, progress=None, interval=10.0, log=print,
         sync_root=None, afl_name=None, afl_main=True):
    """Runs the plan; returns {target: TargetRun}. Never exceeds `seconds`."""
    deadline = procs.Deadline(seconds)
    runs = {}
    queue = list(plan(targets, jobs, seconds))
    slots = max(1, jobs)
    active = []
    logs = pathlib.Path(outdir) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    next_progress = time.monotonic() + interval

    def start(target, workers, secs):
        # Turns left (when targets take turns) share what is left of the budget.
        pending = sum(w for _, w, _ in queue) + workers + sum(a.workers for a in active)
        turns = max(1, -(-pending // slots))
        secs = min(secs, deadline.left() / turns if len(targets) > slots else deadline.left())
        tr = TargetRun(target, workers, secs, outdir, sync_root)
        tr.instance_prefix = (afl_name + "-") if afl_name else None
        runs[target] = tr
        binary = lay.binary(engine, target)
        tr.started = time.monotonic()
        tr.deadline = tr.started + secs
        tr.log_path = logs / ("%s.log" % target)
        if engine == "afl":
            for argv in afl_argvs(lay, binary, tr, secs, afl_name, afl_main):
                if tr.log_path.name == "%s.log" % target:
                    tr.log_path = logs / ("%s.%s.log" % (target, argv[2]))
                tr.procs.append(group.spawn(argv, logs / ("%s.%s.log" % (target, argv[2])), env=AFL_ENV))
        else:
            tr.procs.append(group.spawn(libfuzzer_argv(lay, binary, tr, secs), logs / ("%s.log" % target),
                                        env={"ASAN_OPTIONS": "symbolize=0:detect_leaks=1:allocator_may_return_null=1:"
                                                             + QUARANTINE},
                                        on_line=tr.on_libfuzzer_line))
        return tr

    while queue or active:
        while queue and sum(a.workers for a in active) < slots and deadline.left() > 0.5:
            active.append(start(*queue.pop(0)))
        if not queue and not active:
            break
        if deadline.left() <= 0.5 and not active:
            break
        time.sleep(0.2)
        now = time.monotonic()
        for tr in list(active):
            if engine == "afl":
                tr.poll_afl()
            tr.sample(now)
            if not tr.running() or now >= tr.deadline or deadline.left() <= 0.3:
                tr.exit_codes = [p.poll() for p in tr.procs]  # None: still running, stopped by us
                for p in tr.procs:
                    procs.stop_group(p, grace=0.5)
                tr.stopped = time.monotonic()
                if engine == "afl":
                    tr.poll_afl()
                tr.sample(tr.stopped, force=True)
                active.remove(tr)
        if deadline.left() <= 0:
            queue.clear()
        if now >= next_progress:
            next_progress = now + interval
            log(progress_line(deadline, seconds, runs))
    return runs


def progress_line(deadline, seconds, runs):
    """Running targets in full; finished ones as a count and their findings."""
    parts = []
    done, done_findings = 0, 0
    for name, tr in runs.items():
        s = tr.stats
        n_art = len(tr.artifact_files())
        if tr.stopped is not None:
            done += 1
            done_findings += n_art
            continue
        parts.append("%s: %d exec/s cov %d corp %d findings %d" % (
            name, s["exec_per_sec"], s["cov"], s["corpus"], n_art))
    if done:
        parts.append("%d done (%d crash inputs)" % (done, done_findings))
    return "[%4.0fs/%.0fs] %s" % (deadline.elapsed(), seconds, " | ".join(parts) or "starting")


def merge_libfuzzer(lay, binary, target, new_inputs, deadline, group, workdir):
    """Adds to corpus/<target>/ only inputs from new_inputs that add coverage
    (libFuzzer -merge=1 against the existing corpus). Returns the number added."""
    corpus = lay.seed_dir(target)
    corpus.mkdir(parents=True, exist_ok=True)
    before = {p.name for p in L.corpus_files(corpus)}
    sources = [new_inputs] if isinstance(new_inputs, (str, pathlib.Path)) else list(new_inputs)
    if not any(L.corpus_files(d) for d in sources) or deadline.left() < 1:
        return 0
    ctl = pathlib.Path(workdir) / ("merge-%s.ctl" % target)
    opts = lay.options(target)
    argv = [binary, "-merge=1", "-merge_control_file=%s" % ctl, "-timeout=%s" % opts.get("timeout", "10")]
    if "max_len" in opts:
        argv.append("-max_len=%s" % opts["max_len"])
    argv += [corpus] + sources
    rc, out = procs.run_bounded(argv, deadline.left(), env={"ASAN_OPTIONS": "detect_leaks=0"}, group=group)
    if rc is None:
        print("fuzzctl: %s: corpus merge stopped at the budget; new inputs stay in %s" % (target, sources[0]),
              flush=True)
    return len({p.name for p in L.corpus_files(corpus)} - before)


def merge_afl(lay, binary, target, new_inputs, deadline, group, workdir):
    """afl-cmin over existing corpus + new queue entries; copies into
    corpus/<target>/ only the chosen entries that are new (the existing
    corpus is never pruned here: `--prune` / nightly does that)."""
    corpus = lay.seed_dir(target)
    corpus.mkdir(parents=True, exist_ok=True)
    new = L.corpus_files(new_inputs)
    if not new or deadline.left() < 2 or not shutil.which("afl-cmin"):
        return 0
    union = pathlib.Path(workdir) / ("cmin-in-%s" % target)
    chosen = pathlib.Path(workdir) / ("cmin-out-%s" % target)
    shutil.rmtree(union, ignore_errors=True)
    shutil.rmtree(chosen, ignore_errors=True)
    union.mkdir(parents=True)
    for p in L.corpus_files(corpus):
        shutil.copy(p, union / ("old-" + p.name))
    for p in new:
        shutil.copy(p, union / ("new-" + p.name.replace(":", "_").replace(",", "_")))
    procs.run_bounded(["afl-cmin", "-i", union, "-o", chosen, "--", binary], deadline.left(), env=AFL_ENV,
                      group=group)
    added = 0
    from .triage import sha1

    have = {sha1(p.read_bytes()) for p in L.corpus_files(corpus)}
    for p in L.corpus_files(chosen):
        if p.name.startswith("new-"):
            data = p.read_bytes()
            h = sha1(data)
            if h not in have:
                (corpus / h).write_bytes(data)
                have.add(h)
                added += 1
    return added


def afl_queue(tr):
    """Every queue entry of every instance (the inputs AFL++ kept)."""
    out = tr.dir / "queue-all"
    out.mkdir(exist_ok=True)
    for q in tr.sync.glob("*/queue"):
        for p in q.iterdir():
            if p.is_file() and p.name.startswith("id:") and "orig:" not in p.name:
                shutil.copy(p, out / ("%s-%s" % (q.parent.name, p.name.split(",")[0].replace(":", "_"))))
    return out


def prune_libfuzzer(lay, binary, target, deadline, group, workdir):
    """Rewrites corpus/<target>/ to a coverage-minimal subset (libFuzzer
    -merge=1 into an empty directory). Returns (before, after) sizes."""
    corpus = lay.seed_dir(target)
    files = L.corpus_files(corpus)
    if not files:
        return 0, 0
    fresh = pathlib.Path(workdir) / ("prune-%s" % target)
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir(parents=True)
    opts = lay.options(target)
    argv = [binary, "-merge=1", "-timeout=%s" % opts.get("timeout", "10"), fresh, corpus]
    rc, _ = procs.run_bounded(argv, deadline.left(), env={"ASAN_OPTIONS": "detect_leaks=0"}, group=group)
    kept = L.corpus_files(fresh)
    if rc != 0 or not kept:
        return len(files), len(files)
    for p in files:
        p.unlink()
    for p in kept:
        shutil.move(str(p), corpus / p.name)
    return len(files), len(kept)
