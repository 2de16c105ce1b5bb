"""SIGINT/SIGTERM during `tlsdrill run` (issue 16): the case under way
finishes, no further case starts, and --json/--junit are complete, valid
reports that say they were interrupted; exit 130/143. Reports are written
under a temporary name and renamed when whole, so a run killed outright
leaves the previous report as it was. The peer is an exec: shim that marks
its start and takes a while per case: the signal always lands mid-run."""
import json
import os
import signal
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

from conftest import ROOT


def start_run(tlsdrill, tmp_path):
    started = tmp_path / "started"
    # (TD_ROLE=version: the run asks the shim its version before the first case.)
    shim = 'exec:[ "$TD_ROLE" = version ] || touch %s; sleep 0.3; echo slow shim >&2; exit 89' % started
    cmd = [str(tlsdrill), "run", str(ROOT / "scenarios" / "server"), "--peer", shim,
           "--json", str(tmp_path / "r.json"), "--junit", str(tmp_path / "r.xml")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not started.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the shim never ran"
        time.sleep(0.05)
    return proc


@pytest.mark.parametrize("sig,name,code", [(signal.SIGINT, "SIGINT", 130), (signal.SIGTERM, "SIGTERM", 143)])
def test_signal_leaves_valid_partial_reports(tlsdrill, tmp_path, sig, name, code):
    (tmp_path / "r.json").write_text("previous report\n")
    proc = start_run(tlsdrill, tmp_path)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, (out[-2000:], err[-2000:])
    m = [l for l in out.splitlines() if l.startswith("interrupted by %s: " % name)]
    assert m, out[-2000:]
    ran, selected = [int(w) for w in m[0].split(":")[1].split() if w.isdigit()]
    assert 1 <= ran < selected
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["summary"]["interrupted"] == name
    assert report["summary"]["total"] == ran == len(report["cases"])
    assert report["summary"]["selected"] == selected
    suite = ET.parse(tmp_path / "r.xml").getroot().find("testsuite")
    assert int(suite.get("tests")) == ran == len(suite.findall("testcase"))
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props["interrupted"] == "%s after %d of %d cases" % (name, ran, selected)
    assert sorted(os.listdir(tmp_path)) == ["r.json", "r.xml", "started"]  # no temporary file left


def test_killed_run_leaves_the_previous_report_whole(tlsdrill, tmp_path):
    (tmp_path / "r.json").write_text("previous report\n")
    (tmp_path / "r.xml").write_text("<previous/>\n")
    proc = start_run(tlsdrill, tmp_path)
    proc.kill()
    proc.communicate(timeout=60)
    assert (tmp_path / "r.json").read_text() == "previous report\n"
    assert (tmp_path / "r.xml").read_text() == "<previous/>\n"
