#!/usr/bin/env python3
"""Regenerate the catalogue's RFC quotes and check them against the RFC text.

  engine/catalogue/quotes.md  -> engine/include/tlsdrill/rules_quote.def

quotes.md holds, per rule of rules.md (and per allowance of allowances.md),
the RFC 8446 section and the exact sentence(s) that make the rule. This
script checks, and fails with file:line when one does not hold:

  * every quote appears verbatim in engine/catalogue/rfc8446.txt under the
    section it names, one of the sections the rule's § column in rules.md names (whitespace-normalised; page headers and footers of the
    RFC text do not count; a quote may join several passages of the same
    section with " [...] ", which must then appear in that order);
  * every rule of rules.md and every allowance of allowances.md has exactly
    one quote, and no quote names a rule or allowance that does not exist;
  * every RFC 8446 sentence quoted right after its citation in a source
    comment (`§4.2.11: "..."`) or in rules.md and allowances.md is in that
    section of the RFC text (" ... " and [editorial] gaps allowed);
  * every "RFC 8446 §x.y" citation in the source comments (engine/, fuzz/,
    tools/cli/, tests/unit/; a bare "§x.y" is RFC 8446's unless another RFC
    is named before it on the line), and every section in the § column of
    rules.md, names a section the RFC text has.

Usage: tools/gen_quotes.py           # check, then rewrite rules_quote.def
       tools/gen_quotes.py --check   # check; exit 1 if rules_quote.def differs too
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CATALOGUE = os.path.join(ROOT, "engine", "catalogue")
RFC = os.path.join(CATALOGUE, "rfc8446.txt")
QUOTES = os.path.join(CATALOGUE, "quotes.md")
OUT = os.path.join(ROOT, "engine", "include", "tlsdrill", "rules_quote.def")
SOURCE_DIRS = ["engine", "fuzz", "tools/cli", "tests/unit"]

HEADING = re.compile(r"^(?:Appendix )?([A-E]|[0-9]+)((?:\.[0-9]+)*)\.? +\S")
PAGE_LINE = re.compile(r"^(Rescorla +Standards Track +\[Page [0-9]+\]|RFC 8446 +TLS +August 2018)$")
SEP = " [...] "


class Bad(Exception):
    pass


def norm(s):
    return re.sub(r"\s+", " ", s).strip()


def rfc_sections(path=RFC):
    """({section: normalised text of the section itself (not its subsections)},
    {section: its heading}).
    Sections are "4.2.11", "A.1", "D"; the page breaks are dropped and a word
    the RFC broke at a hyphen across lines is joined again."""
    lines = open(path, encoding="utf-8").read().replace("\f", "").splitlines()
    sections, cur, buf = {}, None, []
    titles = {}
    started = False
    for line in lines:
        if PAGE_LINE.match(line):
            continue
        m = HEADING.match(line)
        if m and (started or line.startswith("1.  Introduction")):
            started = True
            if cur is not None:
                sections[cur] = buf
            cur, buf = m.group(1) + m.group(2), []
            titles[cur] = norm(line[m.end() - 1:])
            continue
        if cur is not None:
            buf.append(line.strip())
    if cur is not None:
        sections[cur] = buf
    out = {}
    for sec, body in sections.items():
        text = ""
        for piece in body:
            if text.endswith("-") and re.search(r"[a-z]-$", text) and piece[:1].islower():
                text += piece
            else:
                text += " " + piece
        out[sec] = norm(text)
    return out, titles


def table_rows(path):
    """(line number, table heading, cells) for each data row of each markdown table."""
    heading = ""
    for n, line in enumerate(open(path, encoding="utf-8").read().splitlines(), 1):
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
            continue
        if not line.startswith("| ") or line.startswith("|---"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] in ("ID", "Rule"):
            continue
        yield n, heading, cells


def catalogue_rules():
    """Rule IDs of rules.md (tables 1 and 3), in order."""
    ids = []
    for _n, heading, cells in table_rows(os.path.join(CATALOGUE, "rules.md")):
        if heading.startswith("Table 2"):
            continue
        if re.match(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$", cells[0]):
            ids.append(cells[0])
    return ids


def local_rules():
    """Rule IDs of rules_local.def (our own rules, written by hand)."""
    path = os.path.join(ROOT, "engine", "include", "tlsdrill", "rules_local.def")
    return re.findall(r'^TD_RULE\([A-Z0-9_]+, "([^"]+)"', open(path, encoding="utf-8").read(), re.M)


def catalogue_allowances():
    # The rules' own allowances; the case allowances and the sender MUSTs (tables of
    # their own, each row citing its sentence in place) are not rule allowances.
    return [(cells[0], cells[1]) for _n, h, cells in table_rows(os.path.join(CATALOGUE, "allowances.md"))
            if not h.startswith(("Case allowances", "Our abort as evidence"))]


def find_in_order(text, quote):
    pos = 0
    for part in quote.split(SEP):
        i = text.find(part, pos)
        if i < 0:
            return part
        pos = i + len(part)
    return None


def parse_quotes(sections):
    """([(rule, section, quote)], [(rule, alert, section, quote)]) from quotes.md;
    raises Bad with every problem found."""
    errors, rules, allows, quoted = [], [], [], set()
    rel = os.path.relpath(QUOTES, ROOT)
    for n, heading, cells in table_rows(QUOTES):
        where = "%s:%d" % (rel, n)
        if heading.startswith("Allowances"):
            if len(cells) != 4:
                errors.append("%s: an allowance row needs Rule | Alert | § | Quote" % where)
                continue
            rid, alert, sec, quote = cells
        else:
            if len(cells) != 3:
                errors.append("%s: a row needs Rule | § | Quote" % where)
                continue
            rid, sec, quote = cells
            alert = None
        quote = norm(quote)
        if sec not in sections:
            errors.append("%s: %s: RFC 8446 has no section %s" % (where, rid, sec))
            continue
        if not quote:
            errors.append("%s: %s: empty quote" % (where, rid))
            continue
        missing = find_in_order(sections[sec], quote)
        quoted.add(rid if alert is None else (rid, alert))
        if missing is not None:
            errors.append("%s: %s: not in RFC 8446 §%s (engine/catalogue/rfc8446.txt): \"%s\"" % (where, rid, sec, missing))
            continue
        if alert is None:
            rules.append((rid, sec, quote, where))
        else:
            allows.append((rid, alert, sec, quote, where))
    ids = catalogue_rules() + local_rules()
    named = rule_sections()
    for rid, sec, _q, where in rules:
        if rid in named and sec not in named[rid]:
            errors.append("%s: %s: the quote is from §%s, a section the rule does not name (rules.md: %s): "
                          "quote a sentence of the rule's sections, or name §%s in its § column" % (
                              where, rid, sec, ", ".join(named[rid]), sec))
    seen = {}
    for rid, _sec, _q, where in rules:
        if rid not in ids:
            errors.append("%s: %s is not a rule of engine/catalogue/rules.md or rules_local.def" % (where, rid))
        if rid in seen:
            errors.append("%s: %s is quoted twice (also %s)" % (where, rid, seen[rid]))
        seen[rid] = where
    for rid in ids:
        if rid not in quoted:
            errors.append("%s: rule %s has no quote: add a row `| %s | <RFC 8446 section> | <the exact sentence> |`" % (rel, rid, rid))
    want = catalogue_allowances()
    got = {}
    for rid, alert, _sec, _q, where in allows:
        if (rid, alert) not in want:
            errors.append("%s: %s %s is not an allowance of engine/catalogue/allowances.md" % (where, rid, alert))
        got[(rid, alert)] = where
    for key in want:
        if key not in quoted:
            errors.append("%s: allowance %s %s has no quote" % (rel, key[0], key[1]))
    if errors:
        raise Bad("\n".join(errors))
    order = {rid: i for i, rid in enumerate(ids)}
    rules.sort(key=lambda r: order.get(r[0], len(order)))
    return rules, allows


SEC = r"((?:[A-E]|[1-9][0-9]?)(?:\.[0-9]+)*)(?![0-9A-Za-z])"
# "RFC 8446 §4.2.11", "RFC 8446 4.2.11", "RFC 8446 Appendix D.1", a bare "§6.2"
# (RFC 8446's unless another RFC or standard is named before it on the line),
# or the name of another document, which bare "§" after it then belongs to.
CITE = re.compile(r"RFC ?([0-9]+),? *(?:(?:§ ?|[Ss]ection |[Aa]ppendix )?" + SEC + r")?|§ ?" + SEC +
                  r"|(FIPS|SEC 1|X\.[0-9]+|ISO|NIST|draft-)")


def source_citations():
    """(file:line, section) of every RFC 8446 section citation in the C
    sources the repository tracks (git ls-files; a walk outside git)."""
    try:
        files = subprocess.run(["git", "ls-files", "--"] + SOURCE_DIRS, cwd=ROOT, capture_output=True,
                               text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        files = []
        for d in SOURCE_DIRS:
            for base, _dirs, names in os.walk(os.path.join(ROOT, d)):
                files += [os.path.relpath(os.path.join(base, f), ROOT) for f in names]
    for rel in sorted(files):
        if not re.search(r"\.(c|h|def)$", rel) or not os.path.exists(os.path.join(ROOT, rel)):
            continue
        for n, line in enumerate(open(os.path.join(ROOT, rel), encoding="utf-8", errors="replace"), 1):
            doc = "8446"
            for m in CITE.finditer(line):
                if m.group(4):
                    doc = m.group(4)
                elif m.group(1):
                    doc = m.group(1)
                    if doc == "8446" and m.group(2):
                        yield "%s:%d" % (rel, n), m.group(2)
                elif doc == "8446":
                    yield "%s:%d" % (rel, n), m.group(3)


def rule_sections():
    """{rule ID: the RFC 8446 sections of its § column in rules.md}."""
    out = {}
    for where, rid, sec in _rules_md_cells():
        out.setdefault(rid, []).append(sec)
    return out


def _rules_md_cells():
    for n, heading, cells in table_rows(os.path.join(CATALOGUE, "rules.md")):
        if heading.startswith("Table 2") or not re.match(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$", cells[0]):
            continue
        for sec in re.sub(r"\([^)]*\)", "", cells[1]).split(","):
            yield "engine/catalogue/rules.md:%d" % n, cells[0], sec.strip()


def rules_md_sections():
    """(rules.md:line, section) of each RFC 8446 section in the § column of
    rules.md (other RFCs' sections, in parentheses there, are left out)."""
    for where, _rid, sec in _rules_md_cells():
        yield where, sec


def _source_files():
    try:
        return subprocess.run(["git", "ls-files", "--"] + SOURCE_DIRS, cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        files = []
        for d in SOURCE_DIRS:
            for base, _dirs, names in os.walk(os.path.join(ROOT, d)):
                files += [os.path.relpath(os.path.join(base, f), ROOT) for f in names]
        return files


# `§4.2.11: "..."`, `RFC 8446 §4.4.2.2, §4.2.3: "..."`, `§6.2 (decrypt_error): "..."`:
# a quote right after the section(s) it cites.
SECNUM = r"(?:[A-E]|[1-9][0-9]?)(?:\.[0-9]+)*(?![0-9A-Za-z])"
QUOTE_CITE = re.compile(r"(?:§ ?|[Ss]ection\s+|[Aa]ppendix\s+)(" + SECNUM + r"(?:(?:,\s+|\s+and\s+|/)§ ?" + SECNUM +
                        r")*)(?:\s+\([^()\"]{0,60}\))?:\s+\"")
GAP = re.compile(r"\s*(?:\.\.\.|…|\[[^\]]*\])\s*")


def _quote_matches(cand, texts):
    """|cand| (with "..." and [editorial] gaps) is verbatim in one of |texts|;
    its first letter may differ in case (a sentence quoted from its middle)."""
    parts = [p for p in GAP.split(cand) if p.strip()]
    if not parts or sum(len(p) for p in parts) < 12:
        return False
    for first in {parts[0], parts[0][:1].lower() + parts[0][1:], parts[0][:1].upper() + parts[0][1:]}:
        ps = [first.strip()] + [p.strip() for p in parts[1:]]
        for text in texts:
            pos, ok = 0, True
            for p in ps:
                i = text.find(p, pos)
                if i < 0:
                    ok = False
                    break
                pos = i + len(p)
            if ok:
                return True
    return False


def comment_quotes():
    """(file:line, sections, quoted text candidates) for every RFC 8446 quote
    in a comment of the C sources: the text in double quotes right after a
    "§x.y:" citation (another RFC named just before it: not RFC 8446's).
    Candidates end at each closing '"', longest first (quotes inside the
    quote, like "illegal_parameter", are part of it)."""
    mds = ["engine/catalogue/rules.md", "engine/catalogue/allowances.md"]
    for rel in sorted(_source_files()) + mds:
        if not re.search(r"\.(c|h|md)$", rel) or not os.path.exists(os.path.join(ROOT, rel)):
            continue
        text = open(os.path.join(ROOT, rel), encoding="utf-8", errors="replace").read()
        pieces = re.finditer(r"^(.*)$()", text, re.M) if rel.endswith(".md") else \
            re.finditer(r"/\*(.*?)\*/|//([^\n]*)", text, re.S)
        for m in pieces:
            body = m.group(1) if m.group(1) is not None else m.group(2)
            body = re.sub(r"\n[ \t]*\*(?!/)", "\n", body)
            for q in QUOTE_CITE.finditer(body):
                named = re.findall(r"RFC ?([0-9]+)", body[max(0, q.start() - 80):q.start()])
                if named and named[-1] != "8446":
                    continue
                secs = re.findall(SECNUM, q.group(1))
                rest = norm(body[q.end():])
                ends = [i for i, ch in enumerate(rest) if ch == '"' and (i + 1 == len(rest) or rest[i + 1] in " .,;:)")]
                line = text.count("\n", 0, m.start()) + 1 + body.count("\n", 0, q.start())
                yield "%s:%d" % (rel, line), secs, [rest[:i] for i in sorted(ends, reverse=True)]


def check_comment_quotes(sections):
    bad = []
    for where, secs, cands in comment_quotes():
        texts = [sections[s] for s in secs if s in sections]
        if not any(_quote_matches(c, texts) for c in cands):
            bad.append("%s: quotes RFC 8446 §%s, but the text is not there (engine/catalogue/rfc8446.txt): \"%s\"" % (
                where, ", §".join(secs), (cands[-1] if cands else "")[:200]))
    if bad:
        raise Bad("\n".join(bad))


def check_citations(sections):
    cites = list(source_citations()) + list(rules_md_sections())
    bad = ["%s: cites RFC 8446 §%s, a section RFC 8446 does not have" % (where, sec)
           for where, sec in cites if sec not in sections]
    if bad:
        raise Bad("\n".join(bad))


def c_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_def(rules, allows, titles):
    out = ["/* engine/include/tlsdrill/rules_quote.def -- GENERATED by tools/gen_quotes.py from",
           " * engine/catalogue/quotes.md. Do not edit by hand: regenerate.",
           " *",
           " * TD_QUOTE(rule_enum_suffix, section, text): the RFC 8446 sentence(s) the rule",
           " *   stands on, verbatim from engine/catalogue/rfc8446.txt section |section|",
           " *   (whitespace-normalised; \" [...] \" joins passages of that section).",
           " * TD_ALLOW_QUOTE(rule_enum_suffix, alert, section, text): the same for an",
           " *   allowance of rules_allow.def.",
           " * TD_RFC_SECTION(section, title): every section heading of RFC 8446. */"]
    for rid, sec, quote, _w in rules:
        out.append("TD_QUOTE(%s, %s,\n         %s)" % (rid.replace("-", "_"), c_str(sec), c_str(quote)))
    for rid, alert, sec, quote, _w in allows:
        out.append("TD_ALLOW_QUOTE(%s, %s, %s,\n               %s)" % (rid.replace("-", "_"), alert, c_str(sec), c_str(quote)))
    for sec, title in titles.items():
        out.append("TD_RFC_SECTION(%s, %s)" % (c_str(sec), c_str(title)))
    return "\n".join(out) + "\n"


def main():
    check = sys.argv[1:] == ["--check"]
    if sys.argv[1:] not in ([], ["--check"]):
        raise SystemExit(__doc__)
    sections, titles = rfc_sections()
    try:
        rules, allows = parse_quotes(sections)
        check_citations(sections)
        check_comment_quotes(sections)
    except Bad as e:
        sys.stderr.write("%s\n" % e)
        return 1
    text = quote_def(rules, allows, titles)
    old = open(OUT, encoding="utf-8").read() if os.path.exists(OUT) else None
    if check:
        if old != text:
            sys.stderr.write("%s is not what tools/gen_quotes.py makes of engine/catalogue/quotes.md: regenerate\n" % OUT)
            return 1
    elif old != text:
        with open(OUT, "w", encoding="utf-8") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
