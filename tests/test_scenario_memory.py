"""Memory per parsed scenario case (issue 16): the peak resident size of
`tlsdrill lint` grows by about 0.6 KB per case between 3k and 12k cases of
the project's own scenarios, 2.4 KB per case from 20k to 200k (x86-64 glibc;
it was 6.5 and 6.8 KB: every line held room for 48 words, and every hex edit
left a 70 KB hole in the heap). The bound is generous; the slope between two
sizes cancels the fixed cost (binary, libraries, buffers)."""
import os
import re
import subprocess

import pytest

from conftest import ROOT


def lint_peak_kb(tlsdrill, path):
    """The child's own peak resident set (wait4's rusage), in KB."""
    p = subprocess.Popen([str(tlsdrill), "lint", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = p.stdout.read()
    p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    assert p.returncode == 0, out
    return usage.ru_maxrss, out.decode()


def test_resident_size_per_parsed_case(tlsdrill, tmp_path):
    if "asan" in str(tlsdrill) or os.environ.get("TD_SANITIZED"):
        pytest.skip("sanitizer builds keep shadow memory and quarantines: sizes mean nothing there")
    text = "\n".join(p.read_text() for p in sorted((ROOT / "scenarios").glob("*/*/*.scn")))
    sizes = {}
    for copies in (4, 16):
        f = tmp_path / ("c%d.scn" % copies)
        f.write_text("\n".join(re.sub(r"^(scenario\s+)(\S+)", r"\g<1>\g<2>-k%d" % k, text, flags=re.M)
                               for k in range(copies)))
        kb, out = lint_peak_kb(tlsdrill, f)
        cases = int(re.search(r"(\d+) cases", out).group(1))
        sizes[copies] = (cases, kb)
    (n1, kb1), (n2, kb2) = sizes[4], sizes[16]
    per_case = (kb2 - kb1) * 1024 / (n2 - n1)
    print("resident bytes per parsed case: %.0f" % per_case)
    assert per_case < 3500, per_case
