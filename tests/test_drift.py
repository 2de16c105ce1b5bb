"""Drift checks of the generated files (issue 19), proven to bite: each test
copies the generator and its inputs into a temporary tree, plants a hand
edit in the generated file there and checks that `--check` fails, so a
generated file edited by hand (e.g. a rule's allowed alerts widened in
rules.def) cannot go unnoticed. The committed files themselves are checked
by test_catalogue.py (rules.def, rules_allow.def), test_fuzz_mutator.py
(fuzz/*.dict) and test_fuzz.py (corpora).

The RFC 8448 vectors: tools/gen_vectors.py (rfc8448.tsv from
rfc8448-steps.json) and tools/gen_rfc8448_key.py (the §2 RSA key from
rfc8448.txt) read their inputs from tests/vectors/ and are checked here,
and every value of the step list is checked against the trace text.
Not covered: tools/gen_expectations.py drafts from a run against a real peer."""
import json
import re
import shutil
import sys

from conftest import ROOT, run


def _tree(tmp_path, files, dirs=()):
    for rel in files:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, tmp_path / rel)
    for rel in dirs:
        shutil.copytree(ROOT / rel, tmp_path / rel)
    return tmp_path


def test_widened_alert_in_rules_def_is_drift(tmp_path):
    t = _tree(tmp_path, ["tools/gen_rules.py", "engine/include/tlsdrill/rules.def",
                         "engine/include/tlsdrill/rules_allow.def"], ["engine/catalogue"])
    gen = [sys.executable, t / "tools" / "gen_rules.py", "--check"]
    r = run(gen, cwd=t)
    assert r.returncode == 0, r.stderr  # the copy is in step
    # REC-BAD-MAC (RFC 8446 5.2: bad_record_mac) also allowing decrypt_error.
    path = t / "engine" / "include" / "tlsdrill" / "rules.def"
    text = path.read_text()
    old = 'TD_RULE(REC_BAD_MAC, "REC-BAD-MAC", "5.2", BOTH, MUST, ABORT,\n        TD_AB(bad_record_mac),'
    assert old in text
    path.write_text(text.replace(old, old[:-1] + " | TD_AB(decrypt_error),"))
    r = run(gen, cwd=t)
    assert r.returncode == 1 and "rules.def is not what tools/gen_rules.py makes" in r.stderr, r.stderr


def test_extra_allowance_in_rules_allow_def_is_drift(tmp_path):
    t = _tree(tmp_path, ["tools/gen_rules.py", "engine/include/tlsdrill/rules.def",
                         "engine/include/tlsdrill/rules_allow.def"], ["engine/catalogue"])
    path = t / "engine" / "include" / "tlsdrill" / "rules_allow.def"
    path.write_text(path.read_text() + 'TD_ALLOW(REC_BAD_MAC, decrypt_error,\n         "always",\n         "none")\n')
    r = run([sys.executable, t / "tools" / "gen_rules.py", "--check"], cwd=t)
    assert r.returncode == 1 and "rules_allow.def is not" in r.stderr, r.stderr


def test_edited_dictionary_is_drift(tmp_path):
    dicts = [p.relative_to(ROOT).as_posix() for p in (ROOT / "fuzz").glob("*.dict")]
    t = _tree(tmp_path, ["tools/gen_fuzz_dicts.py"] + dicts)
    # The generator reads the engine's tables; link the rest of the tree in.
    for rel in ("engine", "scenarios", "tests", "corpus", "tools/fuzzctl_lib"):
        if (ROOT / rel).exists() and not (t / rel).exists():
            (t / rel).symlink_to(ROOT / rel)
    for p in (ROOT / "fuzz").iterdir():
        if not (t / "fuzz" / p.name).exists():
            (t / "fuzz" / p.name).symlink_to(p)
    gen = ["/usr/bin/python3", t / "tools" / "gen_fuzz_dicts.py", "--check"]
    r = run(gen, cwd=t)
    assert r.returncode == 0, r.stderr
    path = t / "fuzz" / "record.dict"
    path.write_text(path.read_text() + '"\\xde\\xad"\n')
    r = run(gen, cwd=t)
    assert r.returncode == 1 and "record.dict" in r.stderr, r.stderr


def test_every_dictionary_is_generated():
    """A fuzz/*.dict the generator does not write would escape the check."""
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import gen_fuzz_dicts
    finally:
        sys.path.pop(0)
    committed = {p.stem for p in (ROOT / "fuzz").glob("*.dict")}
    assert committed == set(gen_fuzz_dicts.outputs())


VECTORS = ["tests/vectors/rfc8448.txt", "tests/vectors/rfc8448-steps.json",
           "tests/vectors/rfc8448.tsv", "tests/vectors/rfc8448-server-key.pem"]


def test_committed_rfc8448_vectors_are_generated():
    for gen in ("gen_vectors.py", "gen_rfc8448_key.py"):
        r = run([sys.executable, ROOT / "tools" / gen, "--check"], cwd=ROOT)
        assert r.returncode == 0, (gen, r.stderr)


def test_edited_rfc8448_tsv_is_drift(tmp_path):
    t = _tree(tmp_path, ["tools/gen_vectors.py", "tools/gen_check.py"] + VECTORS)
    gen = [sys.executable, t / "tools" / "gen_vectors.py", "--check"]
    assert run(gen, cwd=t).returncode == 0
    # One hex digit of the §3 client's x25519 private key changed by hand.
    path = t / "tests" / "vectors" / "rfc8448.tsv"
    text = path.read_text()
    assert "\tprivate key\t49af42ba" in text
    path.write_text(text.replace("\tprivate key\t49af42ba", "\tprivate key\t49af42bb", 1))
    r = run(gen, cwd=t)
    assert r.returncode == 1 and "rfc8448.tsv is not what tools/gen_vectors.py makes" in r.stderr, r.stderr


def test_edited_rfc8448_key_is_drift(tmp_path):
    t = _tree(tmp_path, ["tools/gen_rfc8448_key.py", "tools/gen_check.py"] + VECTORS)
    gen = [sys.executable, t / "tools" / "gen_rfc8448_key.py", "--check"]
    assert run(gen, cwd=t).returncode == 0
    # A key that is valid but another one: the trace text's key must be what is committed.
    path = t / "tests" / "vectors" / "rfc8448-server-key.pem"
    other = run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"], cwd=t)
    assert other.returncode == 0, other.stderr
    path.write_text(other.stdout)
    r = run(gen, cwd=t)
    assert r.returncode == 1 and "rfc8448-server-key.pem is not what" in r.stderr, r.stderr


def _hex_stream(text):
    """Every two-digit hex token of |text| in order, page headers and footers
    dropped, as one string: a value split across lines or pages is contiguous."""
    lines = [l for l in text.splitlines() if not re.match(r"^(Thomson|Internet-Draft)\s", l)]
    return "".join(re.findall(r"(?<![0-9A-Za-z])[0-9a-f]{2}(?![0-9A-Za-z])", "\n".join(lines)))


def test_rfc8448_steps_match_the_trace_text():
    """The step list is the trace text as data: each section's values appear
    in that section of tests/vectors/rfc8448.txt, in order."""
    text = (ROOT / "tests" / "vectors" / "rfc8448.txt").read_text()
    doc = json.loads((ROOT / "tests" / "vectors" / "rfc8448-steps.json").read_text())
    heads = [m for m in re.finditer(r"^(\d+)\.  (.+)$", text, re.M)]
    checked = 0
    for sec in doc["sections"]:
        i = next(k for k, m in enumerate(heads) if int(m.group(1)) == sec["section"] and
                 m.start() > text.index("\n2.  Private Keys\n"))
        body = text[heads[i].end():heads[i + 1].start() if i + 1 < len(heads) else len(text)]
        stream, at = _hex_stream(body), 0
        for step in sec["steps"]:
            for name, value in step["values"]:
                if not value:
                    continue
                found = stream.find(value, at)
                assert found >= 0, (sec["section"], step["desc"], name)
                at = found + len(value)
                checked += 1
    assert checked > 300, checked
