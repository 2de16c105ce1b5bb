"""Drift checks of the generated files (issue 19), proven to bite: each test
copies the generator and its inputs into a temporary tree, plants a hand
edit in the generated file there and checks that `--check` fails, so a
generated file edited by hand (e.g. a rule's allowed alerts widened in
rules.def) cannot go unnoticed. The committed files themselves are checked
by test_catalogue.py (rules.def, rules_allow.def), test_fuzz_mutator.py
(fuzz/*.dict) and test_fuzz.py (corpora).

Not covered: tools/gen_vectors.py and tools/gen_rfc8448_key.py read the
RFC 8448 text and its step list, which are not in the repository (they are
maintainer tools; tests read the committed tests/vectors/ files);
tools/gen_expectations.py drafts from a run against a real peer."""
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
