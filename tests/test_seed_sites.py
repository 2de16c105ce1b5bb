"""Every alert site of the Go seeds that a peer can reach is exercised by a
passing scenario case on the seed's side, and scenarios/SEED-SITES.md (the
site -> cases table) is up to date."""
import sys

from conftest import ROOT, run


def test_seed_sites_exercised_and_table_current(tlsdrill):
    r = run([sys.executable, str(ROOT / "tools" / "seed_sites.py"), "--tlsdrill", tlsdrill,
             "--check", str(ROOT / "scenarios" / "SEED-SITES.md")], cwd=ROOT)
    assert r.returncode == 0, r.stderr
    text = (ROOT / "scenarios" / "SEED-SITES.md").read_text()
    assert "89 sites, 58 reachable by a peer, 58 exercised." in text
