"""The output people read (issue 16): table columns stay aligned when a cell
is wider than its column (cut in the row, whole below it and in the JSON),
no "(SUT rule - at -)" noise for peers that cannot name their check, and
singular counts ("1 case", "1 file")."""
import json

from conftest import run

WRONG = """\
scenario  wrong-alert
rule      CH-COMPRESSION
sut       server
send      ClientHello
  set compression 0100
expect    alert bad_certificate unsupported_certificate certificate_revoked certificate_expired
"""
LONG = "bad_certificate|unsupported_certificate|certificate_revoked|certificate_expired"


def test_wide_cell_is_cut_in_the_row_and_whole_elsewhere(tlsdrill, tmp_path):
    f = tmp_path / "wrong.scn"
    f.write_text(WRONG)
    r = run([tlsdrill, "run", f, "--json", tmp_path / "w.json"])
    assert r.returncode == 1, r.stderr
    lines = r.stdout.splitlines()
    header, row = lines[0], lines[1]
    # The GRADE column starts where the header says, whatever the cells hold.
    assert row.index("ALERT-DIFFERS") == header.index("GRADE")
    assert "bad_certificate|uns..." in row
    assert "    expected: %s" % LONG in lines
    assert json.loads((tmp_path / "w.json").read_text())["cases"][0]["expected"] == LONG
    assert lines[-1].startswith("1 case: ")


def test_no_sut_rule_noise_for_library_peers(tlsdrill, tmp_path):
    f = tmp_path / "wrong.scn"
    f.write_text(WRONG)
    r = run([tlsdrill, "run", f, "--peer", "openssl"])
    assert r.returncode == 1, r.stderr
    reason = [l for l in r.stdout.splitlines() if l.startswith("    %s:1: " % f)]
    assert reason == ["    %s:1: expected %s, got alert illegal_parameter" % (f, LONG)], r.stdout
    assert "SUT rule -" not in r.stdout
    # The engine names its check.
    r = run([tlsdrill, "run", f])
    assert "(SUT rule CH-COMPRESSION at engine/server.c:" in r.stdout


def test_group_names_as_the_cli_spells_them(tlsdrill, tmp_path):
    f = tmp_path / "g.scn"
    f.write_text("scenario  g\nsut       server\nclient    groups P-256 X25519\nexpect    handshake\n")
    r = run([tlsdrill, "lint", f])
    assert r.returncode == 0, r.stderr
    f.write_text("scenario  g\nsut       server\nclient    groups P-999\nexpect    handshake\n")
    r = run([tlsdrill, "lint", f])
    assert r.returncode == 1
    assert "unknown group 'P-999' (known: secp256r1, " in r.stderr and ", P-256, " in r.stderr


def _run_env(cmd, columns=None):
    import os
    import subprocess
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns is not None:
        env["COLUMNS"] = str(columns)
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=120, env=env)


def test_table_fits_the_terminal_width(tlsdrill, tmp_path):
    """COLUMNS (else the terminal's width) sizes the run table: every row
    fits, the GRADE column stays aligned, cut cells of a row that did not
    pass are shown whole below it; no terminal and no COLUMNS: the natural
    widths (a log keeps the whole EXPECTED list of this case below it)."""
    f = tmp_path / "wrong.scn"
    f.write_text(WRONG.replace("scenario  wrong-alert", "scenario  wrong-alert-with-a-rather-long-case-name"))
    for cols in (80, 100, 300):
        r = _run_env([tlsdrill, "run", f], columns=cols)
        assert r.returncode == 1, r.stderr
        lines = r.stdout.splitlines()
        header, row = lines[0], lines[1]
        assert max(len(l) for l in (header, row)) <= cols - 1, (cols, header, row)
        assert row.index("ALERT-DIFFERS") == header.index("GRADE")
        assert ("    expected: %s" % LONG in lines) == (cols < 300), lines
        if "wrong-alert-with-a-rather-long-case-name" not in row:
            assert "    case: wrong-alert-with-a-rather-long-case-name" in lines
    wide = _run_env([tlsdrill, "run", f], columns=300).stdout.splitlines()[1]
    assert LONG in wide  # a wide terminal gives EXPECTED its room: nothing cut
    plain = _run_env([tlsdrill, "run", f]).stdout.splitlines()
    assert plain[0].index("GRADE") == len("wrong-alert-with-a-rather-long-case-name") + 1 + 28 + 1 + 11 + 1 + 22 + 1 + 26 + 1


def test_rules_table_wraps_to_the_terminal(tlsdrill):
    """`rules` sizes its ID and section columns to the longest listed and
    wraps the alert text under its own column at COLUMNS, or at the
    terminal's width read with TIOCGWINSZ (a pseudo-terminal here)."""
    whole = _run_env([tlsdrill, "rules"]).stdout.splitlines()
    assert whole[-1] == "%d rules" % (len(whole) - 1) and all(not l.startswith(" ") for l in whole)
    assert max(len(l) for l in whole) > 100
    sec_col = [l.index("§") for l in whole[:-1]]
    assert len(set(sec_col)) == 1  # no ID overflows its column
    narrow = _run_env([tlsdrill, "rules"], columns=90).stdout.splitlines()
    assert max(len(l) for l in narrow) <= 89
    assert len(narrow) > len(whole) and narrow[-1] == whole[-1]
    import re
    head = re.compile(r"^(\S+ +§.*? (client|server|both|self) +(MUST|SHOULD|MAY|sender) +)")
    col = len(head.match(narrow[0]).group(1))

    def alert_text(lines, k):
        """The alert column of row k and of its continuation lines."""
        text = lines[k][col:] if lines is narrow else lines[k][len(head.match(lines[k]).group(1)):]
        k += 1
        while k < len(lines) and lines[k].startswith(" "):
            if len(lines[k]) > col:
                text += " " + lines[k][col:].strip()
            k += 1
        return text

    for rid in ("CT-SERVER-CHAIN-UNACCEPTABLE", "SNI-UNRECOGNIZED", "GEN-DECODE"):
        a = [i for i, l in enumerate(narrow) if l.startswith(rid + " ")][0]
        b = [i for i, l in enumerate(whole) if l.startswith(rid + " ")][0]
        assert alert_text(narrow, a) == alert_text(whole, b), rid
    assert any(l.startswith(" ") and len(l) > col for l in narrow)  # an alert wrapped
    # TIOCGWINSZ: stdout a 70-column pseudo-terminal, no COLUMNS.
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import termios
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 70, 0, 0))
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    p = subprocess.Popen([str(tlsdrill), "rules", "CT-"], stdout=slave, stderr=subprocess.PIPE, env=env)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    p.wait(timeout=30)
    os.close(master)
    lines = out.decode().replace("\r\n", "\n").splitlines()
    assert lines[-1] == "10 rules" and max(len(l) for l in lines) <= 69, lines
    assert len(lines) > 11
    assert any(l.startswith(" ") for l in lines)
