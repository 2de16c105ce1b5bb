"""The whole scenario suite under the ASan+UBSan build of the CLI: every
edit (drop, injected messages and records, oversized hex values) runs
through the engine without a sanitizer report, against the engine and
against OpenSSL."""
import os

import pytest

from conftest import ROOT, _build_dir, run


@pytest.fixture(scope="module")
def asan_tlsdrill():
    path = _build_dir("TD_ASAN_BUILD_DIR", "asan") / "tlsdrill"
    if not path.exists():
        pytest.skip("the asan preset is not built (tools/test.sh builds it)")
    return path


@pytest.mark.parametrize("peer", ["engine", "openssl"])
def test_suite_clean_under_sanitizers(asan_tlsdrill, peer):
    env = dict(os.environ, UBSAN_OPTIONS="print_stacktrace=1", ASAN_OPTIONS="detect_leaks=1")
    args = [asan_tlsdrill, "run", "scenarios", "--peer", peer]
    if peer == "openssl":
        args += ["--expect", ROOT / "scenarios" / "expectations" / "openssl.txt"]
    r = run(args, cwd=ROOT, env=env, timeout=600)
    assert "runtime error" not in r.stderr, r.stderr[-3000:]
    assert "Sanitizer" not in r.stderr, r.stderr[-3000:]
    assert r.returncode == 0, r.stdout[-2000:]
