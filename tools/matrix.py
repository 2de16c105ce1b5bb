#!/usr/bin/env python3
"""tools/matrix.py -- the conformance matrix: every rule x every peer.

Runs `tlsdrill run PATHS --peer SPEC --json` for each peer and prints a markdown
table: per rule (and per case group without a rule: baselines), per peer: pass,
deviation (with the outcome actually seen: the alert, none, closed, timeout ...)
or unsupported.

  tools/matrix.py [--peer NAME ...] [--summary] [PATHS...]      # the table on stdout
  tools/matrix.py --update                                       # regenerate everything:

--update runs both suites against every peer once, rewrites
scenarios/expectations/<peer>.txt for each real peer (reviewed reasons are kept;
new deviations come out as UNREVIEWED lines to explain) and
scenarios/expectations/MATRIX.md, and prints the summary table for the README.

Peers (NAME = the `--peer` spec of `tlsdrill run`):
  engine       the embedded engine
  openssl      libssl in process
  openssl-tcp  exec:tools/peers/openssl.sh   (openssl s_server / s_client on 127.0.0.1)
  gnutls       exec:tools/peers/gnutls.sh    (gnutls-serv / gnutls-cli; ports 20000..29999)
  gnutls-lib   GnuTLS in process             (engine/peers/gnutls.c; the gnutls column is its network cross-check)
  wolfssl      wolfSSL in process            (engine/peers/wolfssl.c)
  go           exec:tools/peers/go.sh        (Go's crypto/tls, shim tools/peers/go/ built on first use)
A name not in the list is taken as a spec itself (tcp:HOST:PORT, exec:CMD ...).
"""
import argparse, collections, datetime, json, os, shutil, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import gen_expectations  # noqa: E402

PEERS = collections.OrderedDict([
    ("engine", "engine"),
    ("openssl", "openssl"),
    ("openssl-tcp", "exec:tools/peers/openssl.sh"),
    ("gnutls", "exec:tools/peers/gnutls.sh"),
    ("gnutls-lib", "gnutls-lib"),
    ("wolfssl", "wolfssl"),
    ("go", "exec:tools/peers/go.sh"),
])
NEEDS = {"openssl-tcp": "openssl", "gnutls": "gnutls-serv", "go": "go"}
# In-process adapters built only when CMake found the library (tlsdrill/sut.h).
BUILT_IN = ("gnutls-lib", "wolfssl")


def tool_version(binary, name):
    """The version of the SUT behind a peer, from the peer registry
    (`tlsdrill peers --version SPEC`: exec: shims answer TD_ROLE=version)."""
    try:
        p = subprocess.run([binary, "peers", "--version", PEERS.get(name, name)], capture_output=True,
                           text=True, timeout=30)
        if p.returncode == 0 and p.stdout.strip():
            return p.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return None


def outcome(c):
    return gen_expectations.outcome(c)


def run_peer(binary, name, paths, timeout_ms=None):
    spec = PEERS.get(name, name)
    cmd = [binary, "run", *paths, "--peer", spec]
    ver = tool_version(binary, name)
    if ver:
        cmd += ["--peer-version", ver]
    if timeout_ms:
        cmd += ["--timeout-ms", str(timeout_ms)]
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "r.json")
        subprocess.run(cmd + ["--json", out], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=1800)
        return json.load(open(out))


GRADES = ["fail", "alert-differs", "error", "advisory", "n/a", "unsupported", "pass"]


def grade(c):
    return gen_expectations.grade(c)


def cell(cases):
    """Worst grade first, with the outcomes seen: `fail: none (2/5); alert-differs: decode_error (1/5)`."""
    n = len(cases)
    ok = sum(grade(c) == "pass" for c in cases)
    if ok == n:
        return "pass" if n == 1 else "pass (%d)" % n
    parts = []
    for g in GRADES[:-1]:
        these = [c for c in cases if grade(c) == g]
        if not these:
            continue
        seen = "" if g in ("unsupported", "error") else ": " + ", ".join(sorted({outcome(c) for c in these}))
        parts.append("%s%s (%d/%d)" % (g, seen, len(these), n))
    return "; ".join(parts)


def table(runs, peers, summary):
    lines = []
    rows = collections.OrderedDict()
    for p in peers:
        for c in runs[p]["cases"]:
            keys = c["rules"] or ["(baseline) " + c["name"].split("[")[0]]
            for k in keys:
                if summary:
                    k = k.split("-")[0] if not k.startswith("(") else "(baselines)"
                rows.setdefault(k, {q: [] for q in peers})[p].append(c)
    lines.append("Conformance matrix, %s UTC; %s" % (
        datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"),
        "; ".join("%s = %s" % (p, runs[p].get("peer_version", p)) for p in peers)))
    lines.append("")
    lines.append("| grade (cases) | " + " | ".join(peers) + " |")
    lines.append("|---|" + "---|" * len(peers))
    for v in ("pass", "fail", "alert-differs", "advisory", "n/a", "unsupported", "error"):
        lines.append("| %s | " % v + " | ".join(str(sum(grade(c) == v for c in runs[p]["cases"]))
                                               for p in peers) + " |")
    lines.append("")
    lines.append("| %s | " % ("rule group" if summary else "rule") + " | ".join(peers) + " |")
    lines.append("|---|" + "---|" * len(peers))
    for k in sorted(rows):
        lines.append("| %s | " % k + " | ".join(cell(rows[k][p]) if rows[k][p] else "-" for p in peers) + " |")
    return "\n".join(lines) + "\n"


def serious(peers, runs):
    """The cases where our side's abort proves the SUT sent what the RFC forbids it to
    send (run --json `sut_broke`, allowances.md "Our abort as evidence"): first in
    MATRIX.md, whatever the case's own rule."""
    lines = ["", "## Serious deviations: the SUT sent what the RFC forbids it to send", "",
             "Cases where our side aborted on a message of the SUT that breaks a MUST binding the SUT itself "
             "(engine/catalogue/allowances.md, \"Our abort as evidence\"); graded `fail` under that sentence "
             "whatever the case's own rule. Grouped per peer and rule.", ""]
    found = False
    for p in peers:
        groups = collections.OrderedDict()
        for c in runs[p]["cases"]:
            if c.get("sut_broke"):
                groups.setdefault(c["sut_broke"], []).append(c)
        for rule, cases in groups.items():
            found = True
            sentence = cases[0]["reason"].split("forbids: ", 1)[-1].split("; our side aborted", 1)[0]
            lines.append("- **%s**, %s (%d case%s: %s): %s" % (
                p, rule, len(cases), "" if len(cases) == 1 else "s",
                ", ".join(sorted(c["name"] for c in cases)), sentence))
    if not found:
        lines.append("None in this run.")
    return "\n".join(lines) + "\n"


def root_causes(peers, runs):
    """Per peer, the known deviations grouped by their reviewed reason: one reason is
    one root cause, shown once with its cases (expectations files reuse a reason
    word for word for every case it explains)."""
    exp = os.path.join(ROOT, "scenarios", "expectations")
    lines = ["", "## Deviations by root cause", "",
             "Each peer's known deviations (`scenarios/expectations/<peer>.txt`) grouped by reason: the "
             "root causes with a `fail` (a MUST broken: the SUT went on, hung, or wrote after its fatal alert) "
             "first, then `alert-differs` (refused with another alert), then `error`; within a grade real "
             "deviations first, those where the SUT's own messages broke the protocol (our-abort) before those "
             "where it let bad input through, then the most cases. `unsupported` lines are left out.", ""]
    for p in peers:
        groups = collections.OrderedDict()
        graded = {c["name"]: grade(c) for c in runs[p]["cases"]} if p in runs else {}
        for case, (word, why) in gen_expectations.kept(os.path.join(exp, p + ".txt")).items():
            if word != "unsupported":
                groups.setdefault(why, []).append((case, word, graded.get(case, "?")))
        if not groups:
            continue
        lines.append("### %s (%d deviations, %d root causes)" % (p, sum(map(len, groups.values())), len(groups)))
        lines.append("")
        lines.append("| grade | cases | outcome | root cause | cases |")
        lines.append("|---|---|---|---|---|")

        def worst(cases):
            return min(GRADES.index(g) if g in GRADES else len(GRADES) for _, _, g in cases)

        def key(g):
            why, cases = g
            # Worst grade first; within it real deviations, and first those where the SUT's own
            # messages broke the protocol (our side had to abort: our-abort) before those where
            # it only let bad input through; then the most cases.
            return (worst(cases), not why.startswith("real deviation"),
                    not any(w == "our-abort" for _, w, _ in cases), -len(cases), why)

        for why, cases in sorted(groups.items(), key=key):
            names = sorted({c.split("[")[0] for c, _, _ in cases})
            shown = ", ".join(names[:8]) + (", ... (%d names)" % len(names) if len(names) > 8 else "")
            grades = ", ".join(g for g in GRADES + ["?"] if any(x == g for _, _, x in cases))
            lines.append("| %s | %d | %s | %s | %s |" % (grades, len(cases), ", ".join(sorted({w for _, w, _ in cases})),
                                                        why.replace("|", "\\|"), shown))
        lines.append("")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tlsdrill", default=os.path.join(ROOT, "build", "default", "tlsdrill"))
    ap.add_argument("--peer", action="append", help="peer name (%s) or a --peer spec" % ", ".join(PEERS))
    ap.add_argument("--summary", action="store_true", help="one row per rule group (ID prefix)")
    ap.add_argument("--update", action="store_true",
                    help="rewrite scenarios/expectations/<peer>.txt and MATRIX.md for every peer")
    ap.add_argument("--timeout-ms", type=int, help="passed to tlsdrill run for network peers")
    ap.add_argument("--runs", help="keep each peer's run report in DIR/<peer>.json and reuse it when there")
    ap.add_argument("paths", nargs="*", default=["scenarios/"])
    a = ap.parse_args()
    peers = a.peer or (list(PEERS) if a.update else ["engine", "openssl"])
    for p in list(peers):
        if p in NEEDS and shutil.which(NEEDS[p]) is None:
            print("matrix.py: %s not installed: peer %s left out" % (NEEDS[p], p), file=sys.stderr)
            peers.remove(p)
        elif p in BUILT_IN and tool_version(a.tlsdrill, p) is None:
            print("matrix.py: this build has no %s adapter: peer left out" % p, file=sys.stderr)
            peers.remove(p)
    def get(p):
        # --runs DIR: reuse DIR/<peer>.json when it is there (a run of the same build),
        # else run the peer and keep its report there.
        path = os.path.join(a.runs, p + ".json") if a.runs else None
        if path and os.path.exists(path):
            return json.load(open(path))
        r = run_peer(a.tlsdrill, p, a.paths, a.timeout_ms)
        if path:
            os.makedirs(a.runs, exist_ok=True)
            json.dump(r, open(path, "w"))
        return r

    runs = collections.OrderedDict((p, get(p)) for p in peers)
    if not a.update:
        sys.stdout.write(table(runs, peers, a.summary))
        return 0
    exp = os.path.join(ROOT, "scenarios", "expectations")
    for p in peers:
        if p == "engine":
            continue
        path = os.path.join(exp, p + ".txt")
        old = gen_expectations.kept(path)
        with open(path + ".new", "w") as f:
            gen_expectations.draft(p, runs[p], old, f)
        os.replace(path + ".new", path)
        print("wrote %s" % os.path.relpath(path, ROOT))
    with open(os.path.join(exp, "MATRIX.md"), "w") as f:
        f.write("# Conformance matrix (full)\n\nGenerated by `tools/matrix.py --update` (per rule; baselines by case "
                "group). Peers: %s. Known deviations with reasons: %s.\n\n" % (
                    ", ".join("`%s` (%s)" % (p, PEERS.get(p, p)) for p in peers),
                    ", ".join("`%s.txt`" % p for p in peers if p != "engine")))
        f.write(serious([p for p in peers if p != "engine"], runs))
        f.write("\n")
        f.write(table(runs, peers, False))
        f.write(root_causes([p for p in peers if p != "engine"], runs))
    print("wrote scenarios/expectations/MATRIX.md\n")
    sys.stdout.write(table(runs, peers, True))
    unreviewed = sum(1 for p in peers if p != "engine"
                     for l in open(os.path.join(exp, p + ".txt")) if "UNREVIEWED" in l)
    if unreviewed:
        print("\n%d UNREVIEWED lines: explain them before committing" % unreviewed, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
