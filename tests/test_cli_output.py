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
