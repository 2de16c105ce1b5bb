"""`tlsdrill selfcheck`: the RFC 8448 replay as a user runs it (tools/run.sh's main job)."""
import re

from conftest import run

SECTIONS = {3: "Simple 1-RTT Handshake", 4: "Resumed 0-RTT Handshake", 5: "HelloRetryRequest",
            6: "Client Authentication", 7: "Compatibility Mode"}
EARLY_SECRET = "33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a"


def table_rows(stdout):
    rows = {}
    for m in re.finditer(r"^\s+§(\d)\s+(.+?)\s+(\d+)/(\d+)\s+(pass|FAIL)$", stdout, re.M):
        rows[int(m.group(1))] = (m.group(2), int(m.group(3)), int(m.group(4)), m.group(5))
    return rows


def test_all_traces_pass(tlsdrill):
    r = run([tlsdrill, "selfcheck"])
    assert r.returncode == 0, r.stdout + r.stderr
    rows = table_rows(r.stdout)
    assert sorted(rows) == sorted(SECTIONS)
    for sec, (title, passed, total, verdict) in rows.items():
        assert title == SECTIONS[sec]
        assert passed == total and verdict == "pass"
        assert total >= 100, "section %d replays only %d values" % (sec, total)
    m = re.search(r"^\s+total\s+(\d+)/(\d+)\s+pass$", r.stdout, re.M)
    assert m and m.group(1) == m.group(2) and int(m.group(2)) >= 550


def test_verbose_lists_every_check(tlsdrill):
    r = run([tlsdrill, "selfcheck", "--verbose"])
    assert r.returncode == 0
    checks = [l for l in r.stdout.splitlines() if re.match(r"^\s+ok\s+§\d\s", l)]
    assert len(checks) >= 550
    assert any("CertificateVerify signature verifies" in l for l in checks)
    assert not any(re.match(r"^\s+FAIL", l) for l in r.stdout.splitlines())


def test_corrupted_value_fails_and_names_the_check(tlsdrill, vectors_dir, tmp_path):
    text = (vectors_dir / "rfc8448.tsv").read_text()
    assert EARLY_SECRET in text
    bad = tmp_path / "flipped.tsv"
    bad.write_text(text.replace(EARLY_SECRET, EARLY_SECRET[:-1] + "b"))
    r = run([tlsdrill, "selfcheck", "--vectors", bad])
    assert r.returncode == 1
    rows = table_rows(r.stdout)
    assert rows[3][3] == "FAIL" and rows[4][3] == "pass"
    assert re.search(r'FAIL §3 step 3\s+extract secret "early": secret: line \d+: differs at byte 31', r.stdout)


def test_malformed_vectors_file_gives_file_and_line(tlsdrill, tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("# header\n3\t0\tclient\tcreate a key pair:\tprivate key\tzz\n")
    r = run([tlsdrill, "selfcheck", "--vectors", bad])
    assert r.returncode == 2
    assert re.search(r"bad\.tsv:2: error: ", r.stderr), r.stderr


def test_truncated_vectors_file_is_an_error_not_a_crash(tlsdrill, vectors_dir, tmp_path):
    data = (vectors_dir / "rfc8448.tsv").read_bytes()
    bad = tmp_path / "cut.tsv"
    bad.write_bytes(data[: len(data) // 2])
    r = run([tlsdrill, "selfcheck", "--vectors", bad])
    assert r.returncode in (1, 2)  # a failed check or a file error, never a crash
    assert r.returncode >= 0


def test_missing_vectors_file(tlsdrill, tmp_path):
    r = run([tlsdrill, "selfcheck", "--vectors", tmp_path / "nope.tsv"])
    assert r.returncode == 2
    assert "nope.tsv: error: cannot open" in r.stderr


def test_usage_error(tlsdrill):
    r = run([tlsdrill, "selfcheck", "--bogus"])
    assert r.returncode == 2
    assert "usage: tlsdrill selfcheck" in r.stderr
