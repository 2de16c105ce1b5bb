#!/usr/bin/env python3
"""tools/matrix.py -- the conformance matrix: every rule x every peer.

Runs `tlsdrill run PATHS --peer P --json` for each peer and prints a
markdown table: per rule (and per case group without a rule: baselines),
per peer: pass, deviation (with the outcome actually seen: the alert, none,
closed, ...) or unsupported.

  tools/matrix.py [--tlsdrill BIN] [--peer engine --peer openssl] [--summary] [PATHS...]
"""
import argparse, collections, datetime, json, os, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def outcome(c):
    a = c["actual"]
    if c["verdict"] == "unsupported":
        return "unsupported"
    if a.startswith("alert "):
        return a[6:]
    if a in ("handshake", "resumed"):
        return "none"
    if a.startswith("our abort"):
        return "our-abort"
    return a.split()[0] if a else "?"


def run_peer(binary, peer, paths):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "r.json")
        subprocess.run([binary, "run", *paths, "--peer", peer, "--json", out], cwd=ROOT,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600)
        return json.load(open(out))


def cell(cases):
    n = len(cases)
    ok = sum(c["verdict"] == "pass" for c in cases)
    uns = [c for c in cases if c["verdict"] == "unsupported"]
    dev = [c for c in cases if c["verdict"] not in ("pass", "unsupported")]
    if ok == n:
        return "pass" if n == 1 else "pass (%d)" % n
    parts = []
    if dev:
        parts.append("deviation: " + ", ".join(sorted({outcome(c) for c in dev})) + " (%d/%d)" % (len(dev), n))
    if uns:
        parts.append("unsupported (%d/%d)" % (len(uns), n))
    return "; ".join(parts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tlsdrill", default=os.path.join(ROOT, "build", "default", "tlsdrill"))
    ap.add_argument("--peer", action="append")
    ap.add_argument("--summary", action="store_true", help="one row per rule group (ID prefix)")
    ap.add_argument("paths", nargs="*", default=["scenarios/"])
    a = ap.parse_args()
    peers = a.peer or ["engine", "openssl"]
    runs = {p: run_peer(a.tlsdrill, p, a.paths) for p in peers}
    rows = collections.OrderedDict()
    for p in peers:
        for c in runs[p]["cases"]:
            keys = c["rules"] or ["(baseline) " + c["name"].split("[")[0]]
            for k in keys:
                if a.summary:
                    k = k.split("-")[0] if not k.startswith("(") else "(baselines)"
                rows.setdefault(k, {q: [] for q in peers})[p].append(c)
    print("Conformance matrix, %s UTC; %s" % (datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"),
          "; ".join("%s = %s" % (p, runs[p].get("peer_version", p)) for p in peers)))
    print()
    print("| verdicts (cases) | " + " | ".join(peers) + " |")
    print("|---|" + "---|" * len(peers))
    for v in ("pass", "fail", "unsupported", "error"):
        print("| %s | " % v + " | ".join(str(sum(c["verdict"] == v for c in runs[p]["cases"])) for p in peers) + " |")
    print()
    print("| %s | " % ("rule group" if a.summary else "rule") + " | ".join(peers) + " |")
    print("|---|" + "---|" * len(peers))
    for k in sorted(rows):
        print("| %s | " % k + " | ".join(cell(rows[k][p]) if rows[k][p] else "-" for p in peers) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
