"""Every rule quotes the RFC sentence it stands on, and the quote is true:
tools/gen_quotes.py checks engine/catalogue/quotes.md against the RFC 8446
text the repository ships (engine/catalogue/rfc8446.txt), that every rule
and allowance has one, that every "RFC 8446 §x.y" in the C sources names a
section the RFC has, and that RFC text quoted at a check (`§x.y: "..."`) is
the RFC's text. The committed rules_quote.def is checked for drift;
each kind of mistake is planted in a temporary copy to prove it is caught."""
import re
import shutil
import sys

import pytest

from conftest import ROOT, run

FILES = ["tools/gen_quotes.py", "engine/include/tlsdrill/rules_quote.def",
         "engine/include/tlsdrill/rules_local.def"]


def _tree(tmp_path):
    for rel in FILES:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, tmp_path / rel)
    shutil.copytree(ROOT / "engine" / "catalogue", tmp_path / "engine" / "catalogue")
    return tmp_path


def _check(t):
    return run([sys.executable, t / "tools" / "gen_quotes.py", "--check"], cwd=t)


def _edit_quotes(t, old, new):
    path = t / "engine" / "catalogue" / "quotes.md"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_quotes_are_verbatim_complete_and_generated():
    r = run([sys.executable, ROOT / "tools" / "gen_quotes.py", "--check"], cwd=ROOT)
    assert r.returncode == 0, r.stderr


def test_the_rfc_text_is_in_the_repository():
    # gen_quotes.py checks against this copy (its only input besides quotes.md).
    rfc = (ROOT / "engine" / "catalogue" / "rfc8446.txt").read_text()
    assert "Request for Comments: 8446" in rfc and "Copyright (c) 2018 IETF Trust" in rfc


def test_a_changed_word_is_caught(tmp_path):
    t = _tree(tmp_path)
    assert _check(t).returncode == 0
    _edit_quotes(t, "the receiver MUST terminate the connection with a \"bad_record_mac\" alert",
                 "the receiver SHOULD terminate the connection with a \"bad_record_mac\" alert")
    r = _check(t)
    assert r.returncode == 1 and re.search(r"quotes\.md:\d+: REC-BAD-MAC: not in RFC 8446 §5\.2", r.stderr), r.stderr


def test_a_wrong_section_is_caught(tmp_path):
    t = _tree(tmp_path)
    # The sentence is §5.2's; naming §5.1 fails, and an unknown section too.
    _edit_quotes(t, "| REC-BAD-MAC | 5.2 |", "| REC-BAD-MAC | 5.1 |")
    r = _check(t)
    assert r.returncode == 1 and "REC-BAD-MAC: not in RFC 8446 §5.1" in r.stderr, r.stderr
    _edit_quotes(t, "| REC-BAD-MAC | 5.1 |", "| REC-BAD-MAC | 5.9 |")
    r = _check(t)
    assert r.returncode == 1 and "REC-BAD-MAC: RFC 8446 has no section 5.9" in r.stderr, r.stderr


def test_a_quote_from_a_section_the_rule_does_not_name_is_caught(tmp_path):
    t = _tree(tmp_path)
    # Verbatim RFC text, but from §6, while KU-BAD-REQUEST names only §4.6.3.
    path = t / "engine" / "catalogue" / "quotes.md"
    lines = path.read_text().splitlines()
    i = next(i for i, l in enumerate(lines) if l.startswith("| KU-BAD-REQUEST |"))
    lines[i] = ('| KU-BAD-REQUEST | 6 | Peers which receive a message which is syntactically correct but '
                'semantically invalid (e.g., a DHE share of p - 1, or an invalid enum) MUST terminate the '
                'connection with an "illegal_parameter" alert. |')
    path.write_text("\n".join(lines) + "\n")
    r = _check(t)
    assert r.returncode == 1 and "KU-BAD-REQUEST: the quote is from §6, a section the rule does not name" in r.stderr, r.stderr


def test_passages_must_be_in_order(tmp_path):
    t = _tree(tmp_path)
    old = ('All encrypted TLS records can be padded to inflate the size of the TLSCiphertext. [...] '
           'Application Data records may contain a zero-length TLSInnerPlaintext.content if the sender desires.')
    new = ('Application Data records may contain a zero-length TLSInnerPlaintext.content if the sender desires. [...] '
           'All encrypted TLS records can be padded to inflate the size of the TLSCiphertext.')
    _edit_quotes(t, old, new)
    r = _check(t)
    assert r.returncode == 1 and "TOL-RECORD-PADDING: not in RFC 8446 §5.4" in r.stderr, r.stderr


@pytest.mark.parametrize("row, message", [
    ("| KU-BAD-REQUEST |", "rule KU-BAD-REQUEST has no quote"),
    ("| SV-HRR-INVALID | protocol_version |", "allowance SV-HRR-INVALID protocol_version has no quote"),
])
def test_a_quote_row_removed_is_caught(tmp_path, row, message):
    """A rule, or an alert a rule allows, whose quote row is gone."""
    t = _tree(tmp_path)
    path = t / "engine" / "catalogue" / "quotes.md"
    lines = [l for l in path.read_text().splitlines() if not l.startswith(row)]
    path.write_text("\n".join(lines) + "\n")
    r = _check(t)
    assert r.returncode == 1 and message in r.stderr, r.stderr


def test_a_new_rule_needs_a_quote(tmp_path):
    t = _tree(tmp_path)
    path = t / "engine" / "catalogue" / "rules.md"
    text = path.read_text()
    row = next(l for l in text.splitlines() if l.startswith("| KU-BAD-REQUEST |"))
    path.write_text(text.replace(row, row + "\n" + row.replace("KU-BAD-REQUEST", "KU-NEW-RULE")))
    r = _check(t)
    assert r.returncode == 1 and "rule KU-NEW-RULE has no quote" in r.stderr, r.stderr


def test_hand_edited_def_is_drift(tmp_path):
    t = _tree(tmp_path)
    path = t / "engine" / "include" / "tlsdrill" / "rules_quote.def"
    path.write_text(path.read_text().replace("MUST terminate", "must terminate", 1))
    r = _check(t)
    assert r.returncode == 1 and "rules_quote.def is not what tools/gen_quotes.py makes" in r.stderr, r.stderr


def test_a_citation_of_a_missing_section_is_caught(tmp_path):
    t = _tree(tmp_path)
    src = t / "engine" / "planted.c"
    # Other RFCs' sections are theirs (RFC 8017 §9.1.1); RFC 8446's must exist.
    src.write_text("/* RFC 8017 §9.1.1 step 3. */\n/* RFC 8446 §4.2.11.2: binders. */\n/* §D.1 */\n")
    assert _check(t).returncode == 0
    src.write_text(src.read_text() + "/* RFC 8446 §4.2.13: no such section. */\n/* also §4.7 */\n")
    r = _check(t)
    assert r.returncode == 1, r.stderr
    assert "engine/planted.c:4: cites RFC 8446 §4.2.13" in r.stderr, r.stderr
    assert "engine/planted.c:5: cites RFC 8446 §4.7" in r.stderr, r.stderr


def test_a_misquote_in_a_comment_is_caught(tmp_path):
    # Duvet-style: RFC 8446 text quoted at a check must be the RFC's text.
    t = _tree(tmp_path)
    src = t / "engine" / "planted.c"
    src.write_text('/* §4.2.11: "Servers MUST check that it is the last extension and otherwise fail the\n'
                   ' * handshake with an "illegal_parameter" alert." */\n'
                   '/* RFC 7507 §3: "not RFC 8446 text, not checked" */\n'
                   '/* §4.1.2 (legacy_compression_methods): "this vector MUST contain exactly one byte,\n'
                   ' * set to zero, ... [else] the server MUST abort the handshake" */\n')
    r = _check(t)
    assert r.returncode == 0, r.stderr
    src.write_text(src.read_text() + '/* first line\n * §4.2.11: "Servers MUST check that it is the first extension" */\n')
    r = _check(t)
    assert r.returncode == 1, r.stderr
    assert ('engine/planted.c:7: quotes RFC 8446 §4.2.11, but the text is not there (engine/catalogue/rfc8446.txt): '
            '"Servers MUST check that it is the first extension"') in r.stderr, r.stderr


def test_rule_detail_shows_the_quote(tlsdrill):
    r = run([tlsdrill, "rules", "REC-BAD-MAC"])
    assert r.returncode == 0, r.stderr
    assert ('RFC says:   RFC 8446 §5.2: "If the decryption fails, the receiver MUST terminate the connection '
            'with a "bad_record_mac" alert."') in r.stdout, r.stdout
    r = run([tlsdrill, "rules", "SV-HRR-INVALID"])
    assert 'RFC 8446 Appendix D.1: "If the version chosen by the server is not supported' in r.stdout, r.stdout
