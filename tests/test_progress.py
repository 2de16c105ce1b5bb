"""`tlsdrill run` shows a progress line on stderr when stderr is a terminal
(rewritten with \\r: cases done/total, pass/fail counts, current case),
never when it is not and never with --quiet. The terminal is a pty."""
import os
import pty
import subprocess

from conftest import ROOT, run

CASES = ROOT / "tests" / "capture"


def run_on_pty(cmd, env=None):
    """Runs |cmd| with stderr on a pty; returns (exit code, stdout, what the terminal got)."""
    master, slave = pty.openpty()
    try:
        p = subprocess.Popen([str(c) for c in cmd], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=slave, env=env)
        os.close(slave)
        slave = -1
        term = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every writer closed the pty
                break
            if not chunk:
                break
            term += chunk
        out = p.stdout.read()
        p.stdout.close()
        rc = p.wait(timeout=120)
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    return rc, out.decode(), term.decode(errors="replace")


def test_progress_line_on_a_terminal(tlsdrill):
    env = dict(os.environ, NO_COLOR="1")
    rc, out, term = run_on_pty([tlsdrill, "run", CASES], env=env)
    assert rc == 0, out + term
    # One update per case before it runs, each rewriting the line.
    for i, name in enumerate(["cap-handshake", "cap-hrr", "cap-resumed", "cap-ee-forbidden",
                              "cap-binder-flipped"]):
        assert "\r\x1b[K[%d/5] %d passed, 0 failed  %s" % (i, i, name) in term, term
    # The line is cleared at the end; the table went to stdout untouched.
    assert term.endswith("\r\x1b[K")
    assert "\r" not in out and "5 cases: 5 pass, " in out and "; 0 failing (strict)" in out


def test_progress_colour_follows_no_color(tlsdrill):
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    rc, _, term = run_on_pty([tlsdrill, "run", CASES, "--filter", "cap-hrr"], env=env)
    assert rc == 0
    assert "\x1b[32m0 passed\x1b[0m" in term


def test_no_progress_with_quiet_or_without_a_terminal(tlsdrill):
    rc, out, term = run_on_pty([tlsdrill, "run", CASES, "--quiet"])
    assert rc == 0 and term == "", term
    assert "5 cases: 5 pass, " in out
    r = run([tlsdrill, "run", CASES])
    assert r.returncode == 0
    assert r.stderr == "" and "\r" not in r.stdout
