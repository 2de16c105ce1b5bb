#!/usr/bin/env python3
"""tools/mutate_sites.py -- every check proven to matter (issue 19).

For every check site of the engine that names a catalogue rule (the sites of
`tlsdrill rules --sites`, plus the DECODE_FAIL sites of GEN-DECODE), runs the
tests with that one site switched off and lists the sites whose removal no
test, case or seed notices. Likewise for every alert a rule allows (dropped
one at a time) and for the runner's grades (each relabelled).

No rebuild per site: a build configured with TD_SITE_SWITCH=ON (the
`mutation` preset, or `asan`) reads the test-only environment variables
TD_PLANT_SITE / TD_PLANT_ALERT / TD_PLANT_GRADE (engine/include/tlsdrill/err.h);
the default preset compiles them out (tests/test_mutate_sites.py proves it).

  tools/mutate_sites.py [--build DIR] [--sites PATTERN] [--quick] [-j N]
                        [--alerts] [--grades] [--no-sites] [--json FILE] [--md FILE]
                        [--list] [--self-test]

Oracles per mutant, cheapest first; the first that notices kills it:
  scenarios  `tlsdrill run scenarios` against the engine: any case whose grade
             changes (or a crash, or a hang past the timeout)
  peers      (alerts, grades) the same against the in-process peers, each with
             its expectations file: OpenSSL, and GnuTLS and wolfSSL when the
             build has their adapters (a dropped alert one of these libraries
             sends is noticed there): any grade that changes
  seeds      `tlsdrill replay TARGET DIR` over corpus/ and corpus/regressions/:
             an exit code that changes
  ctest      the unit tests named after the site's file (--quick stops here),
             then (without --quick) every other unit test
  pytest     (grades) tests/test_verdicts.py
Exit: 0 when every mutant outside the reviewed list is killed, 1 otherwise,
2 for usage errors. The reviewed list (tools/mutate_sites_reviewed.txt) holds
the sites that cannot be reached from outside, each with its reason.
"""
import argparse
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REVIEWED = os.path.join(ROOT, "tools", "mutate_sites_reviewed.txt")
GRADES = ["pass", "alert-differs", "fail", "advisory", "n/a", "unsupported", "error"]
CALLS = ("TD_ABORT(", "TD_FAIL(", "DECODE_FAIL(", "td_diag_set(", "diag.rule =")
TIMEOUT = {"scenarios": 300, "seeds": 300, "ctest": 1800, "pytest": 1800}
# The in-process peers (tlsdrill run --peer NAME), asked in this order.
PEERS = ("openssl", "gnutls-lib", "wolfssl")

# Unit tests per engine source (beyond test_<stem>*): the tests that drive it.
CTEST_EXTRA = {
    "client_hello": ["test_client"],
    "server_psk": ["test_server"],
    "server_flight": ["test_server"],
    "ext_body": ["test_ext"],
    "conn_internal": ["test_conn", "test_conn_states", "test_conn_order"],
    "cert_check": ["test_client", "test_server"],
    "site_switch": ["test_rules"],
    # crypto.c split into crypto_<part>.c: test_crypto drives them all.
    "crypto_kex": ["test_crypto"],
    "crypto_sym": ["test_crypto"],
    "crypto_sign": ["test_crypto"],
    "crypto_cert": ["test_crypto"],
}


def die(msg):
    print("mutate_sites.py: " + msg, file=sys.stderr)
    sys.exit(2)


# ---- the sites ----

def read_lines(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        return f.read().split("\n")


def call_span(lines, line):
    """(lo, hi, kind) of the check call whose rule argument is on |line|
    (1-based): the call's first and last lines, or None if no call starts
    within a few lines above (a helper's call site)."""
    for start in range(line, max(0, line - 6), -1):
        text = lines[start - 1]
        hit = next((c for c in CALLS if c in text), None)
        if hit is None:
            continue
        depth, end = 0, start
        for end in range(start, min(len(lines), start + 12) + 1):
            seg = lines[end - 1]
            if end == start:
                seg = seg[seg.index(hit):]
            depth += seg.count("(") - seg.count(")")
            if depth <= 0 and (";" in seg or hit == "diag.rule ="):
                break
        # A direct td_diag_set / diag.rule site asks TD_SITE_OFF in its
        # condition, up to three lines above the call.
        lo = start - 3 if hit in ("td_diag_set(", "diag.rule =") else start
        return lo, end, hit
    return None


def helper_span(rel, lines, line):
    """A call of a helper that aborts with its rule parameter (client.c's
    unexpected()): the span of the helper's own TD_ABORT."""
    m = re.search(r"\b([a-z_]+)\(c, msg, TD_RULE_", lines[line - 1])
    if m is None:
        return None
    name = m.group(1)
    for i, text in enumerate(lines):
        if re.match(r"static td_err %s\(" % re.escape(name), text):
            for j in range(i + 1, min(len(lines), i + 8)):
                if "TD_ABORT(" in lines[j]:
                    return call_span(lines, j + 1)
    return None


def table_row(rel, lines, line):
    """A row of a table of checks: (the row tag TD_SITE_ROW_OFF matches, the
    file it names) or None."""
    if rel == "engine/conn_internal.h":
        for i in range(line, 0, -1):
            m = re.search(r"\bX\((\w+),", lines[i - 1])
            if m:
                return m.group(1), rel
        return None
    if rel == "engine/conn.c":
        start = next((i for i, t in enumerate(lines) if "k_misplaced[] = {" in t), None)
        if start is None or line <= start + 1:
            return None
        idx, row_of_line = -1, {}
        for i in range(start + 1, len(lines)):
            t = lines[i]
            if t.startswith("};"):
                break
            if t.lstrip().startswith("{TD_ROLE_"):
                idx += 1
            row_of_line[i + 1] = idx
        if line in row_of_line and row_of_line[line] >= 0:
            return "k_misplaced[%d]" % row_of_line[line], rel
    return None


def parse_rules_sites(text):
    """[(rule, file, line)] from `tlsdrill rules --sites`."""
    out, rule = [], None
    for raw in text.split("\n"):
        if raw and not raw[0].isspace():
            rule = raw.split()[0]
            continue
        for m in re.finditer(r"(engine/[\w/.-]+):(\d+) \(", raw):
            out.append((rule, m.group(1), int(m.group(2))))
    return out


def decode_fail_sites():
    """The DECODE_FAIL(...) calls of the files that define it as a GEN-DECODE
    TD_FAIL: checks that name their rule through a macro."""
    out = []
    for rel in ("engine/msg.c", "engine/ext_body.c"):
        lines = read_lines(rel)
        if not any(l.startswith("#define DECODE_FAIL") and "TD_RULE_GEN_DECODE" in l for l in lines):
            continue
        for i, t in enumerate(lines):
            if "DECODE_FAIL(" in t and not t.startswith("#define"):
                out.append(("GEN-DECODE", rel, i + 1))
    return out


def discover(tlsdrill):
    r = subprocess.run([tlsdrill, "rules", "--sites", "--source", ROOT], capture_output=True,
                       text=True, timeout=120)
    if r.returncode != 0:
        die("`tlsdrill rules --sites` failed: " + r.stderr.strip())
    found = parse_rules_sites(r.stdout) + decode_fail_sites()
    sites, seen = [], set()
    cache = {}
    for rule, rel, line in found:
        key = (rule, rel, line)
        if key in seen:
            continue
        seen.add(key)
        lines = cache.setdefault(rel, read_lines(rel))
        site = {"site": "%s:%d" % (rel, line), "rule": rule, "file": rel, "line": line}
        row = table_row(rel, lines, line)
        if row is not None:
            site["spec"] = "%s#%s@%s" % (row[1], row[0], rule)
        else:
            span = call_span(lines, line) or helper_span(rel, lines, line)
            if span is None:
                site["spec"] = None
                site["note"] = "no switch: the scanner's site is not a check call"
            else:
                site["spec"] = "%s:%d-%d@%s" % (rel, span[0], span[1], rule)
                if span[2] in ("td_diag_set(", "diag.rule =") and \
                        not any("TD_SITE_OFF(" in lines[i - 1] for i in range(max(1, span[0]), span[1] + 1)):
                    # A direct call decides itself whether to go on: it must ask TD_SITE_OFF.
                    site["spec"] = None
                    site["note"] = "no switch: the direct td_diag_set asks no TD_SITE_OFF"
        sites.append(site)
    sites.sort(key=lambda s: (s["file"], s["line"], s["rule"]))
    return sites


def load_reviewed():
    """[(key, reason)] of tools/mutate_sites_reviewed.txt. A key is FILE:LINE
    (as `tlsdrill rules --sites` prints it), or FILE@RULE for the one site of
    RULE in FILE, or FILE@RULE#"TEXT" for the one whose check call holds TEXT:
    the last two survive edits that move lines."""
    out = []
    if os.path.exists(REVIEWED):
        with open(REVIEWED, encoding="utf-8") as f:
            for t in f:
                t = t.strip()
                if not t or t.startswith("#"):
                    continue
                m = re.match(r'(\S+?@[A-Z0-9-]+#"[^"]*"|\S+)\s*(.*)$', t)
                out.append((m.group(1), m.group(2).strip()))
    return out


def site_text(s):
    """The source text of a site's check call (its switch span, else its line)."""
    lines = read_lines(s["file"])
    m = re.search(r":(\d+)-(\d+)@", s["spec"] or "")
    lo, hi = (int(m.group(1)), int(m.group(2))) if m else (s["line"], s["line"])
    return "\n".join(lines[lo - 1:hi])


def resolve_reviewed(sites, entries):
    """({(site, rule): reason}, [problem]) -- each entry must name exactly one
    current site (FILE:LINE: every rule checked there)."""
    out, problems = {}, []
    for key, why in entries:
        m = re.fullmatch(r'(engine/[\w/.-]+)@([A-Z0-9-]+)(?:#"([^"]*)")?', key)
        if m:
            hits = [x for x in sites if x["file"] == m.group(1) and x["rule"] == m.group(2) and
                    (m.group(3) is None or m.group(3) in site_text(x))]
        else:
            hits = [x for x in sites if x["site"] == key]
        if not hits or (m and len(hits) > 1):
            problems.append("%s names %s current site" % (key, "no" if not hits else "more than one"))
        for x in hits:
            out[(x["site"], x["rule"])] = why
    return out, problems


# ---- the oracles ----

def unpinned(peer):
    """The cases of |peer|'s expectations file whose outcome is `unpinned`
    (the library's own randomness decides it): no oracle for a mutant."""
    path = os.path.join(ROOT, "scenarios", "expectations", peer + ".txt")
    out = set()
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for t in f:
                w = t.split()
                if len(w) >= 2 and not t.startswith("#") and w[1] == "unpinned":
                    out.add(w[0])
    return out


class Runner:
    def __init__(self, build, quick, tmp):
        self.build = build
        self.tlsdrill = os.path.join(build, "tlsdrill")
        self.quick = quick
        self.tmp = tmp
        self.targets = []
        self.peers = []
        self.base = {}
        r = subprocess.run(["ctest", "--test-dir", build, "-N"], capture_output=True, text=True)
        self.ctests = sorted(set(re.findall(r"Test\s+#\d+: (\S+)", r.stdout)))

    def env(self, var, value):
        e = dict(os.environ)
        for v in ("TD_PLANT_SITE", "TD_PLANT_ALERT", "TD_PLANT_GRADE"):
            e.pop(v, None)
        if var is not None:
            e[var] = value
        return e

    def scenarios(self, env, tag, peer, paths=("scenarios",)):
        out = os.path.join(self.tmp, "%s-%s.json" % (tag, peer))
        cmd = [self.tlsdrill, "run", *paths, "-q", "--json", out]
        if peer != "engine":
            cmd += ["--peer", peer, "--expect", "scenarios/expectations/%s.txt" % peer]
        try:
            r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                               timeout=TIMEOUT["scenarios"])
        except subprocess.TimeoutExpired:
            return None, "hung past %ds" % TIMEOUT["scenarios"]
        if r.returncode not in (0, 1) or not os.path.exists(out):
            return None, "exit %d: %s" % (r.returncode, (r.stderr.strip().split("\n") or [""])[-1][:160])
        with open(out, encoding="utf-8") as f:
            doc = json.load(f)
        os.unlink(out)
        skip = unpinned(peer) if peer != "engine" else set()
        return {c["name"]: c.get("verdict") for c in doc.get("cases", [])
                if c["name"] not in skip}, None

    def seeds(self, env):
        res = {}
        for t in self.targets:
            for d in ("corpus/" + t, "corpus/regressions/" + t):
                if not os.path.isdir(os.path.join(ROOT, d)):
                    continue
                try:
                    r = subprocess.run([self.tlsdrill, "replay", t, d], cwd=ROOT, env=env,
                                       capture_output=True, text=True, timeout=TIMEOUT["seeds"])
                    res[d] = r.returncode
                except subprocess.TimeoutExpired:
                    res[d] = "timeout"
        return res

    def ctest(self, env, names):
        if not names:
            return None
        regex = "^(" + "|".join(re.escape(n) for n in names) + ")$"
        try:
            r = subprocess.run(["ctest", "--test-dir", self.build, "-R", regex, "--timeout", "600"],
                               env=env, capture_output=True, text=True, timeout=TIMEOUT["ctest"])
        except subprocess.TimeoutExpired:
            return "ctest hung"
        if r.returncode == 0:
            return None
        failed = re.findall(r"\d+ - (\S+) \(", r.stdout)
        return "unit tests failed: " + (", ".join(failed) or "exit %d" % r.returncode)

    def pytest(self, env, files):
        e = dict(env)
        e["TD_BUILD_DIR"] = self.build
        try:
            r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"]
                               + files, cwd=ROOT, env=e, capture_output=True, text=True,
                               timeout=TIMEOUT["pytest"])
        except subprocess.TimeoutExpired:
            return "pytest hung"
        if r.returncode == 0:
            return None
        tail = [l for l in r.stdout.split("\n") if l.startswith("FAILED")][:2]
        return "pytest failed: " + ("; ".join(tail) or "exit %d" % r.returncode)

    def built_peers(self):
        """The in-process peers this build has (an adapter CMake did not
        build answers no version)."""
        out = []
        for p in PEERS:
            r = subprocess.run([self.tlsdrill, "peers", "--version", p], capture_output=True,
                               text=True, timeout=60)
            if r.returncode == 0 and r.stdout.strip():
                out.append(p)
        return out

    def baseline(self, with_peers):
        tf = os.path.join(ROOT, "fuzz", "targets.txt")
        with open(tf, encoding="utf-8") as f:
            names = [l.split()[0] for l in f if l.strip() and not l.startswith("#")]
        env = self.env(None, None)
        self.targets = names
        self.base["seeds"] = {d: rc for d, rc in self.seeds(env).items() if rc == 0}
        self.targets = sorted({d.split("/")[-1] for d in self.base["seeds"]})
        v, err = self.scenarios(env, "base", "engine")
        if v is None:
            die("the baseline scenario run failed: " + err)
        self.base["engine"] = v
        self.peers = self.built_peers() if with_peers else []
        for p in self.peers:
            v, err = self.scenarios(env, "base", p)
            if v is None:
                die("the baseline %s run failed: %s" % (p, err))
            self.base[p] = v

    def differs(self, peer, got, base=None):
        base = self.base[peer] if base is None else base
        changed = sorted(n for n in base if got.get(n) != base[n])
        if not changed:
            return None
        n = changed[0]
        more = " (+%d more)" % (len(changed) - 1) if len(changed) > 1 else ""
        return "%s: %s %s -> %s%s" % (peer, n, base[n], got.get(n, "missing"), more)

    def targeted(self, rel):
        stem = os.path.splitext(os.path.basename(rel))[0]
        want = set(CTEST_EXTRA.get(stem, []))
        want |= {t for t in self.ctests if t == "test_" + stem or t.startswith("test_" + stem + "_")}
        if rel.startswith("engine/scenario/"):
            want |= {"test_scenario"}
        return sorted(t for t in want if t in self.ctests)

    def kill(self, env, tag, rel, peers=False, pytest_files=None):
        """(oracle, detail) of the first oracle that notices, or (None, None)."""
        v, err = self.scenarios(env, tag, "engine")
        if v is None:
            return "scenarios", err
        d = self.differs("engine", v)
        if d:
            return "scenarios", d
        for p in self.peers if peers else ():
            v, err = self.scenarios(env, tag, p)
            if v is None:
                return p, err
            if self.differs(p, v) is None:
                continue
            # A real library may vary between runs (timing, its randomness):
            # only a change the mutant shows twice, on cases the unmutated
            # suite run again grades as at first, counts.
            again, err = self.scenarios(self.env(None, None), tag + "-again", p)
            twice, err2 = self.scenarios(env, tag + "-twice", p)
            if again is None or twice is None:
                return p, err or err2
            v = {n: g for n, g in v.items()
                 if again.get(n) == self.base[p].get(n) and twice.get(n) == g}
            stable = {n: g for n, g in self.base[p].items() if n in v}
            d = self.differs(p, v, stable)
            if d:
                return p, d
        got = self.seeds(env)
        bad = sorted(d for d in self.base["seeds"] if got.get(d) != self.base["seeds"][d])
        if bad:
            return "seeds", "replay %s exits %s" % (bad[0], got.get(bad[0]))
        first = self.targeted(rel)
        d = self.ctest(env, first)
        if d:
            return "ctest", d
        if pytest_files:
            d = self.pytest(env, pytest_files)
            if d:
                return "pytest", d
        if not self.quick:
            d = self.ctest(env, [t for t in self.ctests if t not in first])
            if d:
                return "ctest", d
        return None, None


# ---- the sweeps ----

def run_all(mutants, fn, jobs, label):
    done, out = 0, [None] * len(mutants)
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
        futs = {ex.submit(fn, m): i for i, m in enumerate(mutants)}
        for f in concurrent.futures.as_completed(futs):
            r = out[futs[f]] = f.result()
            done += 1
            # One line per mutant as it ends (a long sweep can be followed, or cut short).
            name = r.get("site") or "%s %s" % (r.get("rule") or r.get("grade"), r.get("alert") or r.get("to"))
            print("  %s %d/%d: %s %s %s" % (label, done, len(mutants), name, r["status"], r.get("oracle") or ""),
                  file=sys.stderr, flush=True)
    return out


def sweep_sites(rn, sites, jobs, reviewed):
    def one(s):
        if s["spec"] is None:
            return dict(s, status="no-switch", oracle=None, detail=s.get("note"))
        t0 = time.monotonic()
        oracle, detail = rn.kill(rn.env("TD_PLANT_SITE", s["spec"]), "s%d" % id(s), s["file"])
        key = (s["site"], s["rule"])
        st = "killed" if oracle else ("reviewed" if key in reviewed else "survived")
        if st == "reviewed":
            detail = reviewed[key]
        return dict(s, status=st, oracle=oracle, detail=detail, seconds=round(time.monotonic() - t0, 1))
    return run_all(sites, one, jobs, "sites")


def rule_alerts():
    """{rule id: [alert names it allows, its own and its allowances']} from
    the generated catalogue (rules.def, rules_allow.def)."""
    inc = os.path.join(ROOT, "engine", "include", "tlsdrill")
    rules, by_sfx = {}, {}
    with open(os.path.join(inc, "rules.def"), encoding="utf-8") as f:
        # A row spans lines: TD_RULE(SFX, "ID", ..., TD_AB(a) | TD_AB(b), "alert text", ...)
        for chunk in re.split(r"^(?=TD_RULE\()", f.read(), flags=re.M):
            m = re.match(r"TD_RULE\((\w+),\s*\"([^\"]+)\",", chunk)
            if m:
                rules[m.group(2)] = re.findall(r"TD_AB\((\w+)\)", chunk)
                by_sfx[m.group(1)] = m.group(2)
    with open(os.path.join(inc, "rules_allow.def"), encoding="utf-8") as f:
        for m in re.finditer(r"^TD_ALLOW\((\w+),\s*(\w+),", f.read(), re.M):
            rid = by_sfx.get(m.group(1))
            if rid is not None and m.group(2) not in rules[rid]:
                rules[rid].append(m.group(2))
    return rules


def sweep_alerts(rn, jobs, pattern):
    mutants = [{"rule": r, "alert": a} for r, al in sorted(rule_alerts().items()) for a in al
               if pattern is None or re.search(pattern, r)]

    def one(m):
        oracle, detail = rn.kill(rn.env("TD_PLANT_ALERT", "%s:%s" % (m["rule"], m["alert"])),
                                 "a%d" % id(m), "engine/rules.c", peers=True)
        return dict(m, status="killed" if oracle else "survived", oracle=oracle, detail=detail)
    return run_all(mutants, one, jobs, "alerts")


def sweep_grades(rn, jobs):
    mutants = [{"grade": g, "to": "fail" if g == "pass" else "pass"} for g in GRADES]

    def one(m):
        oracle, detail = rn.kill(rn.env("TD_PLANT_GRADE", "%s:%s" % (m["grade"], m["to"])),
                                 "g%d" % id(m), "engine/scenario/judge.c", peers=True,
                                 pytest_files=["tests/test_verdicts.py"])
        return dict(m, status="killed" if oracle else "survived", oracle=oracle, detail=detail)
    return run_all(mutants, one, jobs, "grades")


# ---- the report ----

def summary(rows):
    n = len(rows)
    killed = sum(r["status"] == "killed" for r in rows)
    reviewed = sum(r["status"] == "reviewed" for r in rows)
    noswitch = sum(r["status"] == "no-switch" for r in rows)
    survived = sum(r["status"] == "survived" for r in rows)
    switched = n - noswitch
    return {"mutants": n, "killed": killed, "survived": survived, "reviewed": reviewed,
            "no_switch": noswitch,
            "kill_ratio": round(killed / switched, 4) if switched else None,
            "kill_ratio_of_reachable": round(killed / (switched - reviewed), 4)
            if switched - reviewed else None}


def pct(x):
    return "-" if x is None else "%.1f%%" % (100 * x)


def markdown(doc):
    o = ["# Site mutation report (tools/mutate_sites.py)", "",
         "Build: `%s`, mode: %s, %d jobs, %.0f s." % (doc["build"], doc["mode"], doc["jobs"],
                                                      doc["seconds"]), ""]
    for part, title in (("sites", "Check sites"), ("alerts", "Allowed alerts dropped"),
                        ("grades", "Runner grades relabelled")):
        if part not in doc:
            continue
        s = doc["summary"][part]
        o += ["## " + title, "",
              "%d mutants: %d killed, %d survived, %d reviewed (not reachable from outside), "
              "%d without a switch; killed %s of the switched ones, %s of the reachable ones."
              % (s["mutants"], s["killed"], s["survived"], s["reviewed"], s["no_switch"],
                 pct(s["kill_ratio"]), pct(s["kill_ratio_of_reachable"])), ""]
        rows = [r for r in doc[part] if r["status"] != "killed"]
        if rows:
            o += ["| mutant | status | why |", "|---|---|---|"]
            for r in rows:
                name = r.get("site") and "%s %s" % (r["site"], r["rule"]) or \
                    r.get("alert") and "%s drops %s" % (r["rule"], r["alert"]) or \
                    "%s -> %s" % (r["grade"], r["to"])
                o.append("| `%s` | %s | %s |" % (name, r["status"], (r.get("detail") or "").replace("|", "/")))
            o.append("")
        by = {}
        for r in doc[part]:
            if r["status"] == "killed":
                by[r["oracle"]] = by.get(r["oracle"], 0) + 1
        o += ["Killed first by: " + ", ".join("%s %d" % kv for kv in sorted(by.items())), ""]
    return "\n".join(o)


def self_test(build):
    """Seconds: the switch is live in |build| and the tool's plumbing works:
    the NewSessionTicket 'nothing left over' check (a DECODE_FAIL site) and a
    row of the message-order table are found, switched off and killed; a
    grade relabelled is killed; a bogus spec changes nothing."""
    tlsdrill = os.path.join(build, "tlsdrill")
    sites = discover(tlsdrill)
    lines = read_lines("engine/msg.c")
    nst = next(i + 1 for i, t in enumerate(lines) if 'expect_end(in, base, "NewSessionTicket"' in t)
    end = next(i + 1 for i, t in enumerate(lines) if t.startswith("static td_err expect_end("))
    want = [s for s in sites if s["file"] == "engine/msg.c" and end < s["line"] < end + 8]
    rows = [s for s in sites if s["spec"] and "#k_misplaced[" in s["spec"]]
    assert want and rows, "self-test: the expect_end site or a k_misplaced row was not found"
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        rn = Runner(build, True, tmp)
        rn.base["seeds"] = {}
        some = ("scenarios/client/encrypted", "scenarios/client/order")
        v, err = rn.scenarios(rn.env(None, None), "base", "engine", some)
        assert v is not None, err
        rn.base["engine"] = v
        for s, flt in ((want[0], "nst-trailing"), (rows[0], None)):
            v, err = rn.scenarios(rn.env("TD_PLANT_SITE", s["spec"]), "x", "engine", some)
            d = err or rn.differs("engine", v)
            print("self-test: %s (%s) -> %s" % (s["site"], s["spec"], d or "NOT NOTICED"))
            ok &= d is not None and (flt is None or any(
                n.startswith(flt) and v.get(n) != rn.base["engine"][n] for n in rn.base["engine"]))
        v, err = rn.scenarios(rn.env("TD_PLANT_SITE", "engine/msg.c:1-99999@NO-SUCH-RULE"), "y",
                              "engine", some)
        print("self-test: a spec naming no rule -> %s" % (rn.differs("engine", v) or "no change"))
        ok &= v is not None and rn.differs("engine", v) is None
        v, err = rn.scenarios(rn.env("TD_PLANT_GRADE", "pass:fail"), "z", "engine", some)
        print("self-test: grade pass -> fail -> %s" % (err or rn.differs("engine", v)))
        ok &= v is not None and rn.differs("engine", v) is not None
    print("self-test: %s (%d sites found)" % ("ok" if ok else "FAILED", len(sites)))
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "mutation"),
                    help="a build with TD_SITE_SWITCH=ON (default build/mutation: "
                         "cmake --preset mutation && cmake --build --preset mutation)")
    ap.add_argument("--sites", metavar="PATTERN", help="only sites whose file:line or rule matches (regex)")
    ap.add_argument("--quick", action="store_true",
                    help="scenario suites, seeds and the site's own unit tests only")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--alerts", action="store_true", help="also drop each allowed alert of each rule")
    ap.add_argument("--grades", action="store_true", help="also relabel each grade of the runner")
    ap.add_argument("--no-sites", action="store_true", help="skip the check sites")
    ap.add_argument("--json", metavar="FILE", help="the report as JSON")
    ap.add_argument("--md", metavar="FILE", help="the report as markdown")
    ap.add_argument("--list", action="store_true", help="list the sites and their switch, run nothing")
    ap.add_argument("--self-test", action="store_true", help="a few seconds' check of the tool and the switch")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    cache = os.path.join(build, "CMakeCache.txt")
    if not os.path.exists(os.path.join(build, "tlsdrill")) or not os.path.exists(cache):
        die("no build at %s (cmake --preset mutation && cmake --build --preset mutation)" % build)
    with open(cache, encoding="utf-8") as f:
        if not re.search(r"^TD_SITE_SWITCH:BOOL=ON$", f.read(), re.M):
            die("%s is not built with TD_SITE_SWITCH=ON: the switch would be ignored" % build)
    if a.jobs < 1:
        die("--jobs must be at least 1")
    # A build older than the sources: its check sites sit at other lines than
    # the ones read here, the switch misses them and they look unnoticed.
    newest = max(os.path.getmtime(os.path.join(d, f)) for d, _, fs in os.walk(os.path.join(ROOT, "engine"))
                 for f in fs if f.endswith((".c", ".h", ".def")))
    if os.path.getmtime(os.path.join(build, "tlsdrill")) < newest:
        print("mutate_sites.py: warning: %s/tlsdrill is older than engine/: rebuild it, or sites "
              "whose lines moved look unnoticed" % os.path.relpath(build, ROOT), file=sys.stderr)
    if a.self_test:
        return self_test(build)
    sites = all_sites = discover(os.path.join(build, "tlsdrill"))
    if a.sites:
        try:
            rx = re.compile(a.sites)
        except re.error as e:
            die("--sites: %s" % e)
        sites = [s for s in sites if rx.search(s["site"]) or rx.search(s["rule"])]
    if a.list:
        for s in sites:
            print("%s\t%s\t%s" % (s["site"], s["rule"], s["spec"] or "-"))
        return 0
    t0 = time.monotonic()
    reviewed, problems = resolve_reviewed(all_sites, load_reviewed())
    for p in problems:
        print("mutate_sites.py: %s: %s" % (os.path.relpath(REVIEWED, ROOT), p), file=sys.stderr)
    doc = {"build": os.path.relpath(build, ROOT), "mode": "quick" if a.quick else "full",
           "jobs": a.jobs, "summary": {}}
    with tempfile.TemporaryDirectory() as tmp:
        rn = Runner(build, a.quick, tmp)
        rn.baseline(a.alerts or a.grades)
        if not a.no_sites:
            doc["sites"] = sweep_sites(rn, sites, a.jobs, reviewed)
            doc["summary"]["sites"] = summary(doc["sites"])
        if a.alerts:
            doc["alerts"] = sweep_alerts(rn, a.jobs, a.sites)
            doc["summary"]["alerts"] = summary(doc["alerts"])
        if a.grades:
            doc["grades"] = sweep_grades(rn, a.jobs)
            doc["summary"]["grades"] = summary(doc["grades"])
    doc["seconds"] = round(time.monotonic() - t0, 1)
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1, sort_keys=True)
            f.write("\n")
    md = markdown(doc)
    if a.md:
        with open(a.md, "w", encoding="utf-8") as f:
            f.write(md + "\n")
    print(md)
    return 0 if all(s["survived"] == 0 for s in doc["summary"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
