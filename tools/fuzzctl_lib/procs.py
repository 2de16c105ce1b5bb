"""Child processes under a deadline: each child leads its own process group
(start_new_session), so stopping it stops everything it forked (libFuzzer's
-fork workers, afl-fuzz's target). Stopped by PID/PGID, never by name."""
import os
import signal
import subprocess
import threading
import time


class Group:
    """Every process group fuzzctl started; records PIDs (for pids.txt)."""

    def __init__(self, pid_log=None):
        self.procs = []
        self.pid_log = pid_log
        self._lock = threading.Lock()

    def spawn(self, argv, log_path=None, env=None, cwd=None, on_line=None):
        """Starts argv; stdout+stderr go to log_path and, line by line, to on_line."""
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        p = subprocess.Popen([str(a) for a in argv], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, env=full_env, cwd=cwd, start_new_session=True)
        with self._lock:
            self.procs.append(p)
            if self.pid_log:
                with open(self.pid_log, "a") as f:
                    f.write("%d %s\n" % (p.pid, os.path.basename(str(argv[0]))))
        log = open(log_path, "ab") if log_path else None

        def pump():
            for raw in iter(p.stdout.readline, b""):
                if log:
                    log.write(raw)
                    log.flush()
                if on_line:
                    try:
                        on_line(raw.decode("utf-8", "replace").rstrip("\n"))
                    except Exception:  # a parse bug must not stop the pump
                        pass
            p.stdout.close()
            if log:
                log.close()

        t = threading.Thread(target=pump, daemon=True)
        t.start()
        p.pump = t
        return p

    def stop(self, p, grace=2.0):
        stop_group(p, grace)

    def stop_all(self, grace=2.0):
        for p in list(self.procs):
            stop_group(p, grace)


def group_members(pgid):
    """Live (non-zombie) PIDs of process group pgid, from /proc."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces, split after ')'.
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 2 and fields[0] not in ("Z", "X") and int(fields[2]) == pgid:
            pids.append(int(entry))
    return pids


def _group_alive(pgid):
    return bool(group_members(pgid))


def stop_group(p, grace=2.0):
    """SIGTERM the process group of p, SIGKILL after grace seconds, reap p."""
    pgid = p.pid
    if p.poll() is None or _group_alive(pgid):
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            end = time.monotonic() + wait
            while time.monotonic() < end:
                if p.poll() is not None and not _group_alive(pgid):
                    break
                time.sleep(0.05)
            else:
                continue
            break
    try:
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    if getattr(p, "pump", None):
        p.pump.join(timeout=2)


def run_bounded(argv, timeout, env=None, cwd=None, group=None, stdin_data=None):
    """Runs argv to completion or until timeout seconds; returns
    (returncode or None on timeout, combined output text). The process group
    is always stopped."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    p = subprocess.Popen([str(a) for a in argv], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL,
                         env=full_env, cwd=cwd, start_new_session=True)
    if group is not None and group.pid_log:
        with open(group.pid_log, "a") as f:
            f.write("%d %s\n" % (p.pid, os.path.basename(str(argv[0]))))
    try:
        out, _ = p.communicate(input=stdin_data, timeout=max(0.1, timeout))
        rc = p.returncode
    except subprocess.TimeoutExpired:
        rc = None
        stop_group(p, 0.5)
        out = p.stdout.read() if p.stdout else b""
    # The group may outlive its leader (libFuzzer -minimize_crash children).
    if _group_alive(p.pid):
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return rc, (out or b"").decode("utf-8", "replace")


class Deadline:
    def __init__(self, seconds):
        self.start = time.monotonic()
        self.end = self.start + seconds

    def left(self):
        return max(0.0, self.end - time.monotonic())

    def elapsed(self):
        return time.monotonic() - self.start
