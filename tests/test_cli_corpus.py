"""`tlsdrill corpus --out DIR` as a user runs it on a folder that also holds
files the generator did not write (issue 16, data loss): scn-* seeds, inputs
merged by coverage and a user's own files survive byte for byte; only the
files listed in DIR/.tlsdrill-corpus (what the command wrote last time) are
replaced or removed, and a file it would overwrite that is not its own stops
that target with exit 1 and nothing changed."""
import hashlib
import shutil

from conftest import ROOT, run

CORPUS = ROOT / "corpus"


def snapshot(d):
    return {p.relative_to(d).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(d.rglob("*")) if p.is_file()}


def manifest(d):
    lines = (d / ".tlsdrill-corpus").read_text().splitlines()
    assert lines[0].startswith("# tlsdrill corpus manifest 1")
    return dict(l.split("\t") for l in lines[1:])


def test_foreign_files_survive(tlsdrill, tmp_path):
    work = tmp_path / "c2"
    shutil.copytree(CORPUS, work)
    (work / "client_hello" / "mine.bin").write_bytes(b"\x16\x03\x01 my own input")
    (work / "client_hello" / "0123456789abcdef0123456789abcdef01234567").write_bytes(b"merged")
    (work / "client_hello" / "notes").mkdir()
    (work / "client_hello" / "notes" / "n.txt").write_text("keep me")
    before = snapshot(work)
    r = run([tlsdrill, "corpus", "--out", work, "client_hello"])
    assert r.returncode == 0, r.stderr
    assert "client_hello" in r.stdout and "44 files" in r.stdout, r.stdout
    after = snapshot(work)
    # Nothing lost, nothing changed: the committed corpus is what the generator makes.
    assert after == before
    scn = [n for n in after if n.startswith("client_hello/scn-")]
    assert len(scn) > 100


def test_fresh_folder_gets_a_manifest(tlsdrill, tmp_path):
    r = run([tlsdrill, "corpus", "--out", tmp_path, "server_hello", "record"])
    assert r.returncode == 0, r.stderr
    m = manifest(tmp_path)
    files = {n for n in snapshot(tmp_path) if not n.startswith(".")}
    assert set(m) == files
    for name, digest in m.items():
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == digest
    # Regenerating one target keeps the other target's manifest lines.
    r = run([tlsdrill, "corpus", "--out", tmp_path, "record"])
    assert r.returncode == 0, r.stderr
    assert manifest(tmp_path) == m


def test_stale_generated_file_removed_changed_one_kept(tlsdrill, tmp_path):
    assert run([tlsdrill, "corpus", "--out", tmp_path, "server_hello"]).returncode == 0
    # Files of an older generation the generator no longer makes: one left as
    # written (removed), one the user has edited since (kept, said so).
    old, edited = tmp_path / "server_hello" / "old-seed", tmp_path / "server_hello" / "old-edited"
    old.write_bytes(b"old")
    edited.write_bytes(b"edited by the user")
    man = (tmp_path / ".tlsdrill-corpus").read_text()
    man += "server_hello/old-seed\t%s\n" % hashlib.sha256(b"old").hexdigest()
    man += "server_hello/old-edited\t%s\n" % hashlib.sha256(b"as generated").hexdigest()
    (tmp_path / ".tlsdrill-corpus").write_text(man)
    r = run([tlsdrill, "corpus", "--out", tmp_path, "server_hello"])
    assert r.returncode == 0, r.stderr
    assert not old.exists()
    assert edited.read_bytes() == b"edited by the user"
    assert "kept %s: changed since it was generated" % edited in r.stderr
    assert "1 stale removed" in r.stdout
    assert "server_hello/old-seed" not in manifest(tmp_path)
    assert "server_hello/old-edited" not in manifest(tmp_path)


def test_refuses_to_overwrite_a_file_it_did_not_write(tlsdrill, tmp_path):
    assert run([tlsdrill, "corpus", "--out", tmp_path, "server_hello"]).returncode == 0
    victim = sorted((tmp_path / "server_hello").iterdir())[0]
    victim.write_bytes(b"the user's edit")
    (tmp_path / "server_hello" / "mine").write_bytes(b"mine")
    before = snapshot(tmp_path)
    r = run([tlsdrill, "corpus", "--out", tmp_path, "server_hello"])
    assert r.returncode == 1
    assert "%s exists and is not the file this command wrote last time (changed since)" % victim in r.stderr
    assert "nothing of server_hello was changed" in r.stderr
    assert snapshot(tmp_path) == before
    # Without a manifest, an existing file with a generated name that differs is foreign too.
    (tmp_path / ".tlsdrill-corpus").unlink()
    r = run([tlsdrill, "corpus", "--out", tmp_path, "server_hello"])
    assert r.returncode == 1 and "(not in .tlsdrill-corpus)" in r.stderr
    assert victim.read_bytes() == b"the user's edit"


def test_malformed_manifest_is_an_error(tlsdrill, tmp_path):
    (tmp_path / ".tlsdrill-corpus").write_text("# tlsdrill corpus manifest 1\nnonsense\n")
    r = run([tlsdrill, "corpus", "--out", tmp_path, "record"])
    assert r.returncode == 1
    assert ".tlsdrill-corpus:2: not a manifest line" in r.stderr
    assert not (tmp_path / "record").exists()
