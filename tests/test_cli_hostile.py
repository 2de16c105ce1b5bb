"""Hostile scenario text through `tlsdrill lint` and `run` (issue 16): a
10 MB line is not echoed whole (cut around the column, the caret kept),
control bytes and escape sequences never reach the terminal raw and are an
error, a NUL byte is an error (not a truncated name), a UTF-8 BOM is
accepted, a duplicate case name is reported even when an error dropped the
first case, and an empty file says "no cases"."""
from conftest import run

CASE = "rule      FIN-BAD\nsut       server\nbug       bad_finished\nexpect    rule\n"


def lint(tlsdrill, path):
    return run([tlsdrill, "lint", path])


def test_ten_megabyte_line_is_cut(tlsdrill, tmp_path):
    f = tmp_path / "long.scn"
    f.write_text("scenario  x\nrule      " + "A" * (10 << 20) + "\nsut server\nexpect rule\n")
    r = lint(tlsdrill, f)
    assert r.returncode == 1
    assert len(r.stderr) < 2000, len(r.stderr)
    lines = r.stderr.splitlines()
    assert lines[0].startswith("%s:2:11: error: " % f), lines[0]
    src, caret = lines[1], lines[2]
    assert src.endswith("...") and "AAAA" in src
    assert caret.strip() == "^" and len(caret) - 1 <= len(src)
    assert src[len(caret) - 1] == "A"  # the caret under the first byte of the word


def test_error_deep_in_a_long_line_keeps_the_caret(tlsdrill, tmp_path):
    f = tmp_path / "deep.scn"
    f.write_text("scenario  y\n" + CASE.replace("sut       server", "sut       " + " " * 5000 + "server bogus"))
    r = lint(tlsdrill, f)
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    at = [i for i, l in enumerate(lines) if l.startswith("%s:3:5018: error: unexpected word 'bogus'" % f)][0]
    src, caret = lines[at + 1], lines[at + 2]
    assert src.startswith("  ...") and len(src) < 200
    assert src[len(caret) - 1:].startswith("bogus"), (src, caret)


def test_escape_sequences_are_escaped_and_refused(tlsdrill, tmp_path):
    f = tmp_path / "esc.scn"
    f.write_bytes(b"scenario  ev\x1b[2J\x1b]0;pwned\x07il\n" + CASE.encode())
    r = lint(tlsdrill, f)
    assert r.returncode == 1
    assert "\x1b" not in r.stderr + r.stdout and "\x07" not in r.stderr
    assert "%s:1:13: error: control character \\x1b in the line (scenario files are text)" % f in r.stderr
    assert "ev\\x1b[2J\\x1b]0;pwned\\x07il" in r.stderr
    assert r.stdout == "1 file, 0 cases, 1 error\n"
    r = run([tlsdrill, "run", f])
    assert r.returncode == 1 and "\x1b" not in r.stdout + r.stderr
    assert "fix the diagnostics above first" in r.stderr


def test_nul_byte_is_an_error(tlsdrill, tmp_path):
    f = tmp_path / "nul.scn"
    f.write_bytes(b"scenario  ab\x00cd\n" + CASE.encode())
    r = lint(tlsdrill, f)
    assert r.returncode == 1
    assert "%s:1:13: error: NUL byte in the line (scenario files are text)" % f in r.stderr
    assert "ab\\x00cd" in r.stderr


def test_bom_is_accepted(tlsdrill, tmp_path):
    f = tmp_path / "bom.scn"
    f.write_bytes(b"\xef\xbb\xbfscenario  with-bom\n" + CASE.encode())
    r = lint(tlsdrill, f)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "1 file, 1 case, 0 errors\n"
    r = run([tlsdrill, "run", f, "--list"])
    assert r.returncode == 0 and "\twith-bom\t" in r.stdout


def test_duplicate_after_a_dropped_case(tlsdrill, tmp_path):
    f = tmp_path / "dup.scn"
    f.write_text("scenario  twice\nrule      NO-SUCH-RULE\nsut server\nexpect rule\n\n"
                 "scenario  twice\n" + CASE)
    r = lint(tlsdrill, f)
    assert r.returncode == 1
    assert "%s:6:11: error: duplicate case name 'twice'" % f in r.stderr


def test_empty_file_says_no_cases(tlsdrill, tmp_path):
    f = tmp_path / "empty.scn"
    f.write_text("# only a comment\n")
    r = run([tlsdrill, "run", f])
    assert r.returncode == 2
    assert "tlsdrill run: no cases in %s" % f in r.stderr
    assert "passed" not in r.stdout
    d = tmp_path / "nothing"
    d.mkdir()
    r = run([tlsdrill, "run", d])
    assert r.returncode == 2 and "%s: no .scn file there" % d in r.stderr
