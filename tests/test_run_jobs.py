"""`tlsdrill run -j N` (issue 14): cases played by N worker processes give the
same reports, byte for byte and in the same order, as one job; only the
wall times (JUnit time attributes) differ and are normalised here. Signals
still leave valid partial reports (the cases handed out before the signal, a
prefix of the run), per-case timeouts still hold, and the peers that cannot
be shared (listen:, captures) refuse -j."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest

from conftest import ROOT, run

SCENARIOS = ROOT / "scenarios"


def junit_text(path):
    return re.sub(r' time="[0-9.]+"', ' time="T"', path.read_text())


def run_jobs(tlsdrill, tmp_path, jobs, *args):
    j, x = tmp_path / ("r%s.json" % jobs), tmp_path / ("r%s.xml" % jobs)
    r = run([tlsdrill, "run", *args, "-j", str(jobs), "--json", j, "--junit", x])
    return r, j, x


def test_engine_suite_same_reports_with_any_jobs(tlsdrill, tmp_path):
    # The engine suite is small enough to be played by one process at any -j
    # (cmd_scenario.c run_parallel); hidden --jobs-always makes workers play it.
    runs = {}
    for jobs, always in ((1, ()), (2, ()), (2, ("--jobs-always",)), (3, ("--jobs-always",))):
        r, j, x = run_jobs(tlsdrill, tmp_path, jobs, SCENARIOS, "--seed", "7", *always)
        assert r.returncode == 0, r.stderr[-2000:]
        runs[(jobs, always)] = (r.stdout, j.read_bytes(), junit_text(x))
    assert len(set(runs.values())) == 1
    runs = {1: runs[(1, ())]}
    cases = json.loads(runs[1][1])["cases"]
    assert len(cases) > 500
    listed = run([tlsdrill, "run", SCENARIOS, "--list"]).stdout.splitlines()
    assert [c["name"] for c in cases] == [l.split("\t")[2] for l in listed]


def test_default_jobs_gives_the_same_reports(tlsdrill, tmp_path):
    r1, j1, x1 = run_jobs(tlsdrill, tmp_path, 1, SCENARIOS / "server" / "psk")
    d = run([tlsdrill, "run", SCENARIOS / "server" / "psk", "--json", tmp_path / "d.json",
             "--junit", tmp_path / "d.xml"])
    assert r1.returncode == d.returncode == 0, d.stderr[-2000:]
    assert (r1.stdout, j1.read_bytes(), junit_text(x1)) == \
        (d.stdout, (tmp_path / "d.json").read_bytes(), junit_text(tmp_path / "d.xml"))


def stable(report):
    """A real peer's report without what changes between any two runs, -j 1
    included: the transcript digest (the peer's own randomness) and OpenSSL's
    thread ids in its log."""
    cases = json.loads(report.read_text())["cases"]
    for c in cases:
        del c["digest"]
        c["peer_log"] = re.sub(r"[0-9A-F]{12,16}:error", "X:error", c["peer_log"])
    return cases


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl binary")
def test_exec_peer_same_reports_with_two_jobs(tlsdrill, tmp_path):
    peer = "exec:" + str(ROOT / "tools" / "peers" / "openssl.sh")
    out = {}
    for jobs in (1, 2):
        r, j, _ = run_jobs(tlsdrill, tmp_path, jobs, SCENARIOS / "server", "--filter", "hrr-ok",
                           "--peer", peer)
        assert r.returncode in (0, 1), r.stderr[-2000:]
        table = re.sub(r"[0-9A-F]{12,16}:error", "X:error", r.stdout)
        out[jobs] = (r.returncode, table, stable(j))
    assert out[1] == out[2]
    assert len(out[1][2]) >= 3


# A server SUT that logs which worker started it (the shell's parent) on
# which port, then declines the case.
WHO_SHIM = 'exec:[ "$TD_ROLE" = version ] && exit 0; echo "$PPID $TD_PORT" >> %s; exit 89'


def test_exec_peer_runs_in_parallel_by_default_on_its_own_ports(tlsdrill, tmp_path):
    """exec: peers get one worker per processor by default, and each worker
    starts its SUTs on ports of its own slice of 20000..29999."""
    log = tmp_path / "who.txt"
    r = run([tlsdrill, "run", SCENARIOS / "server" / "clienthello" / "versions.scn", "--peer", WHO_SHIM % log])
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    ports = {}
    for line in log.read_text().splitlines():
        worker, port = line.split()
        ports.setdefault(worker, set()).add(int(port))
    cases = len(run([tlsdrill, "run", SCENARIOS / "server" / "clienthello" / "versions.scn", "--list"])
                .stdout.splitlines())
    assert sum(map(len, ports.values())) >= 1
    assert len(ports) == min(os.sysconf("SC_NPROCESSORS_ONLN"), cases), ports.keys()
    spans = sorted((min(p), max(p)) for p in ports.values())
    assert all(20000 <= lo <= hi <= 29999 for lo, hi in spans), spans
    assert all(a[1] < b[0] for a, b in zip(spans, spans[1:])), spans  # disjoint slices
    # -j 1 is one worker (the run itself).
    log.unlink()
    r = run([tlsdrill, "run", SCENARIOS / "server" / "clienthello" / "versions.scn", "-j", "1",
             "--peer", WHO_SHIM % log])
    assert r.returncode == 0 and len({l.split()[0] for l in log.read_text().splitlines()}) == 1


HELLO_SHIM = """exec:[ "$TD_ROLE" = version ] && exit 0; exec %s -c '
import os, socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(os.environ["TD_PORT"]))); s.listen(1)
c, _ = s.accept(); data = b""
while len(data) < 5 or len(data) < 5 + int.from_bytes(data[3:5], "big"):
    more = c.recv(4096)
    if not more: break
    data += more
open(sys.argv[1], "a").write(data.hex() + "\\n")' %s"""


def test_exec_peer_sees_the_same_client_hellos_with_any_jobs(tlsdrill, tmp_path):
    """Per-case seeds are the same in workers: a server SUT that records the
    ClientHello of every case gets the same bytes with -j 1 and -j 2."""
    seen = {}
    for jobs in (1, 2):
        log = tmp_path / ("hellos%d.txt" % jobs)
        r, j, _ = run_jobs(tlsdrill, tmp_path, jobs, SCENARIOS / "server" / "clienthello" / "versions.scn",
                           "--seed", "11", "--timeout", "30s", "--peer", HELLO_SHIM % (sys.executable, log))
        assert r.returncode in (0, 1), r.stderr[-2000:]
        seen[jobs] = (sorted(log.read_text().splitlines()), [(c["name"], c["actual"]) for c in stable(j)])
    assert seen[1] == seen[2]
    assert len(set(seen[1][0])) == len(seen[1][0]) >= 5  # one distinct ClientHello per case


SILENT_SHIM = """exec:[ "$TD_ROLE" = version ] && exit 0; exec %s -c '
import os, socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(os.environ["TD_PORT"]))); s.listen(1)
c, _ = s.accept(); time.sleep(5)'"""


def test_case_timeout_holds_in_workers(tlsdrill, tmp_path):
    # A server SUT that takes the connection and never answers: every case
    # ends at its read deadline as `timeout`, in every worker.
    peer = SILENT_SHIM % sys.executable
    out = {}
    for jobs in (1, 2):
        r, j, _ = run_jobs(tlsdrill, tmp_path, jobs, SCENARIOS / "server", "--filter", "hrr-ok[",
                           "--timeout", "300ms", "--peer", peer)
        assert r.returncode == 1, r.stderr[-2000:]
        out[jobs] = stable(j)
    assert out[1] == out[2]
    assert {c["actual"] for c in out[2]} == {"timeout"}


def test_signal_with_jobs_leaves_a_prefix(tlsdrill, tmp_path):
    started = tmp_path / "started"
    shim = 'exec:[ "$TD_ROLE" = version ] || touch %s; sleep 0.3; exit 89' % started
    cmd = [str(tlsdrill), "run", str(SCENARIOS / "server"), "-j", "2", "--peer", shim,
           "--json", str(tmp_path / "r.json"), "--junit", str(tmp_path / "r.xml")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not started.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the shim never ran"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out[-2000:], err[-2000:])
    report = json.loads((tmp_path / "r.json").read_text())
    ran, selected = report["summary"]["total"], report["summary"]["selected"]
    assert report["summary"]["interrupted"] == "SIGINT"
    assert 1 <= ran < selected
    listed = run([tlsdrill, "run", SCENARIOS / "server", "--list"]).stdout.splitlines()
    assert [c["name"] for c in report["cases"]] == [l.split("\t")[2] for l in listed[:ran]]
    suite = ET.parse(tmp_path / "r.xml").getroot().find("testsuite")
    assert int(suite.get("tests")) == ran == len(suite.findall("testcase"))


@pytest.mark.parametrize("args,words", [
    (["-j", "0"], "-j"),
    (["-j", "2", "--peer", "listen:127.0.0.1:1"], "listen:"),
    (["-j", "2", "--pcap", "x.pcap"], "--pcap"),
])
def test_jobs_usage_errors(tlsdrill, tmp_path, args, words):
    r = run([tlsdrill, "run", SCENARIOS / "server" / "psk", *args], cwd=tmp_path)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert words in r.stderr
    assert list(tmp_path.iterdir()) == []
