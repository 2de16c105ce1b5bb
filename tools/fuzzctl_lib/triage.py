"""Findings: reproduce an input, classify the failure, bucket it, minimise it
without changing its bucket, and decode it with `tlsdrill replay`.

Buckets (deduplication keys):
  oracle failures   <target>|oracle:<oracle-kind>|<rule>|<alert>
  sanitizer crashes <target>|<kind>|<frame1>|<frame2>|<frame3>
where frames are the top project frames (sanitizer, libFuzzer and libc frames
skipped), function names only so that line drift does not split a bucket.

Reproductions run unsymbolized (twice as fast; a loaded machine can also
leave ASan's own symbolizer behind), so raw frames "(/path/bin+0x119bac)"
are named here with llvm-symbolizer, bounded by SYMBOLIZE_TIMEOUT and cached
per module and offset: within one fuzzctl process an address always gets
the same answer. A frame that cannot be named (no symbolizer, a timeout, no
symbols) keeps its module+offset, which is stable within one binary, so
deduplication stays stable either way; only the bucket's spelling differs."""
import hashlib
import os
import pathlib
import re
import shutil
import tempfile

from . import procs

ORACLE_RE = re.compile(r"==tlsdrill-oracle== (\S+): (\S+): rule (\S+) alert (\S+): (.*)$")
FRAME_RE = re.compile(r"^\s*#(\d+) 0x[0-9a-f]+ in (.+?)(?: /| \(|$)")
# Unsymbolized frame (fast reproduction): "#0 0x55.. (/path/bin+0x119bac)".
RAW_FRAME_RE = re.compile(r"^\s*#(\d+) 0x[0-9a-f]+\s+\(([^()]+)\+0x([0-9a-f]+)\)")
# Modules never symbolized (no project code; their frames are skipped).
SYSTEM_MODULE = re.compile(r"(^|/)(libc|libstdc\+\+|libm|libgcc_s|ld-linux[^/]*|libpthread)[.-][^/]*$")
SYMBOLIZE_TIMEOUT = float(os.environ.get("TD_FUZZCTL_SYMBOLIZE_TIMEOUT", "15"))
_SYMBOLS = {}  # (module, mtime_ns, offset) -> [names, innermost first] or None
SKIP_FRAME = re.compile(
    r"^(__sanitizer|__asan|__ubsan|__lsan|__interceptor|__msan|__tsan|fuzzer::|__libc|__GI_|"
    r"abort|raise|gsignal|pthread_kill|__pthread|malloc|calloc|realloc|free|operator |"
    r"_start|__afl|afl_|ExecuteFilesOnyByOne|LLVMFuzzerRunDriver|main$|run_file$|"
    r"std::|libc_start)"
)


def sanitizer_env(symbolize=True):
    # TD_FUZZCTL_SANITIZER_SYMBOLIZE=0: the sanitizers never symbolize, as when
    # a loaded machine leaves their symbolizer behind (tests force that path).
    if os.environ.get("TD_FUZZCTL_SANITIZER_SYMBOLIZE") == "0":
        symbolize = False
    s = "1" if symbolize else "0"
    env = {
        "ASAN_OPTIONS": "abort_on_error=0:symbolize=%s:detect_leaks=1:allocator_may_return_null=1:handle_abort=1" % s,
        "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:symbolize=%s" % s,
        "LSAN_OPTIONS": "symbolize=%s" % s,
    }
    if shutil.which("llvm-symbolizer-14"):
        env["ASAN_SYMBOLIZER_PATH"] = shutil.which("llvm-symbolizer-14")
    return env


SANITIZER_ENV = sanitizer_env(True)


def sha1(data):
    return hashlib.sha1(data).hexdigest()


def symbolizer_path():
    """llvm-symbolizer, or None. TD_FUZZCTL_SYMBOLIZER=PATH picks one; "none"
    turns naming off (the tests force the unsymbolized path with it)."""
    p = os.environ.get("TD_FUZZCTL_SYMBOLIZER")
    if p is not None:
        return None if p in ("", "none") else p
    return shutil.which("llvm-symbolizer-14") or shutil.which("llvm-symbolizer")


def _module_key(module):
    try:
        return (module, os.stat(module).st_mtime_ns)
    except OSError:
        return None


def symbolize(addrs, timeout=None):
    """Function names of raw frames: {(module, offset): [names, innermost
    first (inlined callers follow)] or None}. One llvm-symbolizer call per
    module, bounded by |timeout| (default SYMBOLIZE_TIMEOUT); a timeout, a
    failure or an unknown address is None, and the answer is cached."""
    out, todo = {}, {}
    for module, off in addrs:
        mk = _module_key(module)
        if mk is None:
            out[(module, off)] = None
        elif mk + (off,) in _SYMBOLS:
            out[(module, off)] = _SYMBOLS[mk + (off,)]
        else:
            todo.setdefault(module, []).append(off)
    tool = symbolizer_path()
    for module, offs in todo.items():
        mk = _module_key(module)
        offs = sorted(set(offs))
        names = [None] * len(offs)
        if tool is not None:
            try:
                rc, text = procs.run_bounded([tool, "--obj=" + module] + ["0x%x" % o for o in offs],
                                             SYMBOLIZE_TIMEOUT if timeout is None else timeout)
            except OSError:
                rc, text = None, ""
            blocks = [b.splitlines() for b in text.strip("\n").split("\n\n")] if rc == 0 else []
            if len(blocks) == len(offs):
                for i, b in enumerate(blocks):
                    fns = [b[k].strip() for k in range(0, len(b), 2)]
                    if fns and all(fn and fn != "??" for fn in fns):
                        names[i] = fns
        for o, n in zip(offs, names):
            _SYMBOLS[mk + (o,)] = n
            out[(module, o)] = n
    return out


def _frames(lines, start):
    """The top 3 project frames of the first stack after |start|: names,
    or module+offset where a raw frame cannot be named."""
    entries = []
    seen = False
    for line in lines[start:]:
        m = FRAME_RE.match(line)
        r = None if m else RAW_FRAME_RE.match(line)
        if m or r:
            seen = True
            if m:
                entries.append(("name", m.group(2).strip()))
            elif not SYSTEM_MODULE.search(r.group(2)):
                # A caller's frame holds a return address: name the call (pc - 1), as ASan does.
                off = int(r.group(3), 16) - (1 if int(r.group(1)) > 0 else 0)
                entries.append(("raw", r.group(2), off, "%s+0x%s" % (os.path.basename(r.group(2)), r.group(3))))
            if len(entries) >= 32:
                break
        elif seen and not line.strip():
            break
    raw = [(e[1], e[2]) for e in entries if e[0] == "raw"]
    named = symbolize(raw) if raw else {}
    frames = []
    for e in entries:
        names = [e[1]] if e[0] == "name" else (named.get((e[1], e[2])) or [e[3]])
        for fn in names:
            if not SKIP_FRAME.match(fn) and not fn.startswith(("libc.so", "libstdc++")):
                frames.append(fn)
            if len(frames) == 3:
                return frames
    return frames


def classify(output, returncode):
    """Verdict of one run: None when the input ran clean, else a dict with
    kind, oracle_kind, rule, alert, reason, frames, headline."""
    lines = output.splitlines()
    for line in lines:
        m = ORACLE_RE.search(line)
        if m:
            return {"kind": "oracle:" + m.group(2), "oracle_kind": m.group(2), "rule": m.group(3),
                    "alert": m.group(4), "reason": m.group(5), "frames": [], "headline": line[m.start():]}
    checks = [
        (re.compile(r"ERROR: LeakSanitizer: detected memory leaks"), lambda m: "leak"),
        (re.compile(r"ERROR: AddressSanitizer: ([\w-]+)"), lambda m: "asan:" + m.group(1)),
        (re.compile(r"ERROR: MemorySanitizer: ([\w-]+)"), lambda m: "msan:" + m.group(1)),
        (re.compile(r"runtime error: (.*)"), lambda m: "ubsan:" + _ubsan_kind(m.group(1))),
        (re.compile(r"ERROR: libFuzzer: timeout"), lambda m: "timeout"),
        (re.compile(r"ERROR: libFuzzer: out-of-memory"), lambda m: "oom"),
        (re.compile(r"ERROR: libFuzzer: deadly signal"), lambda m: "signal"),
        (re.compile(r"ERROR: libFuzzer: ([\w-]+)"), lambda m: "libfuzzer:" + m.group(1)),
    ]
    for rx, kind in checks:
        for i, line in enumerate(lines):
            m = rx.search(line)
            if m:
                return {"kind": kind(m), "oracle_kind": None, "rule": None, "alert": None,
                        "reason": line.strip()[:300], "frames": _frames(lines, i), "headline": _headline(lines, line)}
    if returncode is None:
        return {"kind": "timeout", "oracle_kind": None, "rule": None, "alert": None,
                "reason": "did not finish in time", "frames": [], "headline": "timeout"}
    if returncode != 0:
        kind = "signal:%d" % -returncode if returncode < 0 else "exit:%d" % returncode
        return {"kind": kind, "oracle_kind": None, "rule": None, "alert": None,
                "reason": "exit status %d" % returncode, "frames": _frames(lines, 0),
                "headline": "exit status %d" % returncode}
    return None


def _headline(lines, line):
    """The sanitizer's SUMMARY line when there is one (no PIDs, no addresses)."""
    for cand in lines:
        if cand.startswith("SUMMARY: "):
            return cand[len("SUMMARY: "):].strip()[:300]
    line = re.sub(r"==\d+==", "", line)
    return re.sub(r" on (unknown )?address 0x[0-9a-f]+.*", "", line).strip()[:300]


def _ubsan_kind(msg):
    words = re.sub(r"0x[0-9a-f]+|-?\d+|'[^']*'", "", msg).split()
    return "-".join(words[:4]) or "runtime-error"


OUT_OF_TIME = {"kind": "untriaged", "oracle_kind": None, "rule": None, "alert": None,
               "reason": "budget exhausted before reproduction", "frames": [], "headline": "untriaged"}


def bucket(target, verdict):
    if verdict is None:
        return None
    if verdict["oracle_kind"]:
        return "%s|oracle:%s|%s|%s" % (target, verdict["oracle_kind"], verdict["rule"], verdict["alert"])
    return "|".join([target, verdict["kind"]] + (verdict["frames"] or ["?"]))


def bucket_id(bkey):
    return hashlib.sha1(bkey.encode()).hexdigest()[:12]


class Reproducer:
    """Runs one input through a target binary and classifies the result."""

    def __init__(self, binary, engine, options=None, group=None, timeout=25.0, symbolize=True):
        """symbolize=False: about twice as fast, frames are module+offset
        (only comparable within one binary: used for dedup and minimising)."""
        self.env = sanitizer_env(symbolize)
        self.binary = pathlib.Path(binary)
        self.engine = engine
        self.options = options or {}
        self.group = group
        self.timeout = timeout

    def argv(self, path):
        if self.engine == "libfuzzer":
            extra = ["-timeout=%s" % self.options.get("timeout", "10")]
            if "rss_limit_mb" in self.options:
                extra.append("-rss_limit_mb=%s" % self.options["rss_limit_mb"])
            return [self.binary] + extra + ["-runs=1", path]
        return [self.binary, path]

    def run(self, path, timeout=None):
        t = self.timeout if timeout is None else min(self.timeout, timeout)
        if t < 0.2:
            return None, "", OUT_OF_TIME
        rc, out = procs.run_bounded(self.argv(path), t, env=self.env, group=self.group)
        if rc is None and t < self.timeout:
            # Stopped by our budget, not by the target's own timeout.
            return rc, out, OUT_OF_TIME
        return rc, out, classify(out, rc)


def minimise(target, src, dest, repro, deadline, engine_bin=None, engine="libfuzzer", options=None, group=None,
             want=None):
    """Writes to dest the smallest input found that keeps src's bucket.
    Engine minimiser first (libFuzzer -minimize_crash / afl-tmin); every
    candidate is re-checked and dropped if its verdict changed; then a short
    verdict-preserving byte ddmin. Returns (verdict_preserved, method)."""
    src = pathlib.Path(src)
    data = src.read_bytes()
    v0 = None
    if want is None:
        _, _, v0 = repro.run(src, timeout=deadline.left())
        want = bucket(target, v0)
    best = data
    methods = []
    if want is None or v0 is OUT_OF_TIME or want == bucket(target, OUT_OF_TIME):
        pathlib.Path(dest).write_bytes(data)
        return False, "not reproducible" if want is None else "out of time"
    with tempfile.TemporaryDirectory(prefix="fuzzctl-min-") as tmp:
        cand = pathlib.Path(tmp) / "cand"
        if engine_bin and deadline.left() > 3:
            budget = max(1, int(min(10, deadline.left() * 0.3)))
            if engine == "afl" and shutil.which("afl-tmin"):
                argv = ["afl-tmin", "-i", src, "-o", cand, "-t", "5000", "--", engine_bin]
                env = {"AFL_SKIP_CPUFREQ": "1", "AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES": "1"}
            else:
                argv = [engine_bin, "-minimize_crash=1", "-max_total_time=%d" % budget, "-runs=200000",
                        "-exact_artifact_path=%s" % cand, "-timeout=%s" % (options or {}).get("timeout", "10"), src]
                env = sanitizer_env(False)  # its inner runs need no symbols: twice as fast
            procs.run_bounded(argv, min(budget + 1, deadline.left()), env=env, cwd=tmp, group=group)
            if cand.is_file() and 0 < cand.stat().st_size < len(best):
                _, _, v = repro.run(cand, timeout=deadline.left())
                if bucket(target, v) == want:
                    best = cand.read_bytes()
                    methods.append("afl-tmin" if engine == "afl" else "-minimize_crash")
        best, changed = _ddmin(target, best, want, repro, deadline, pathlib.Path(tmp) / "dd")
        if changed:
            methods.append("ddmin")
    pathlib.Path(dest).write_bytes(best)
    return True, "+".join(methods) or "already minimal"


def _ddmin(target, data, want, repro, deadline, scratch, max_tries=200):
    """Removes chunks while the bucket stays the same (bounded by tries and
    the deadline)."""
    tries = 0
    changed = False
    n = 2
    while len(data) > 1 and tries < max_tries and deadline.left() > 1:
        chunk = max(1, len(data) // n)
        reduced = False
        for start in range(0, len(data), chunk):
            cand = data[:start] + data[start + chunk:]
            if not cand:
                continue
            tries += 1
            scratch.write_bytes(cand)
            _, _, v = repro.run(scratch, timeout=deadline.left())
            if bucket(target, v) == want:
                data, reduced, changed = cand, True, True
                break
            if tries >= max_tries or deadline.left() <= 1:
                break
        if reduced:
            n = max(2, n - 1)
        elif chunk == 1:
            break
        else:
            n = min(len(data), n * 2)
    return data, changed


def trace(layout, target, path, repro, timeout):
    """Decoded replay of one input: `tlsdrill replay` when the CLI has it,
    else the target binary's own output. Returns (tool, text)."""
    if timeout < 0.2:
        return "none", "(budget exhausted before the trace)\n"
    cli = layout.tlsdrill()
    if cli is not None:
        rc, out = procs.run_bounded([cli, "replay", target, path], timeout, env=SANITIZER_ENV, group=repro.group)
        tool = "tlsdrill replay"
    else:
        rc, out, _ = repro.run(path, timeout=timeout)
        tool = str(repro.binary.name)
    if rc is None:
        out += "\n(trace stopped after %.1fs: budget exhausted; rerun the reproduce line)\n" % timeout
    return tool, out
