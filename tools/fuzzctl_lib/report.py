"""Run outputs: one directory per finding, summary.md, findings.json and
junit.xml in the output folder; report.html from `tlsdrill report --fuzz`."""
import datetime
import json
import os
import pathlib
import subprocess
import xml.etree.ElementTree as ET


def write(outdir, meta, targets, findings):
    out = pathlib.Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    doc = {"tool": "fuzzctl", "format": 1, **meta, "targets": targets, "findings": findings}
    (out / "findings.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    (out / "summary.md").write_text(summary_md(meta, targets, findings))
    junit(out / "junit.xml", "fuzzctl.run", targets, findings, elapsed=meta.get("elapsed", 0.0),
          failed_to_start=meta.get("failed_to_start", ()))


def report_cli(lay):
    """A tlsdrill CLI that has `report`: $TD_TLSDRILL, the layout's CLI, or
    this checkout's build/default/tlsdrill. None if there is none."""
    cands = [os.environ.get("TD_TLSDRILL"), lay._tlsdrill, lay.build_root / "default" / "tlsdrill",
             pathlib.Path(__file__).resolve().parent.parent.parent / "build" / "default" / "tlsdrill"]
    for c in cands:
        if not c or not pathlib.Path(c).is_file():
            continue
        try:
            p = subprocess.run([str(c), "report", "--help"], capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if p.returncode == 0 and "usage: tlsdrill report" in p.stdout:
            return pathlib.Path(c)
    return None


def html(lay, outdir, log, command="run"):
    """report.html next to summary.md: `tlsdrill report --fuzz OUT` (for
    `fuzzctl run` and `fuzzctl triage`)."""
    out = pathlib.Path(outdir)
    cli = report_cli(lay)
    if cli is None:
        log("fuzzctl: no report.html (no tlsdrill CLI with `report`: build it, or set TD_TLSDRILL)")
        return None
    try:
        p = subprocess.run([str(cli), "report", "--title", "fuzzctl %s %s" % (command, out.name), "--fuzz", str(out),
                            "-o", str(out / "report.html")], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        log("fuzzctl: report.html not written: %s" % e)
        return None
    if p.returncode != 0:
        log("fuzzctl: report.html not written: %s" % (p.stderr.strip() or p.returncode))
        return None
    return out / "report.html"


def summary_md(meta, targets, findings):
    new = [f for f in findings if f["new"]]
    lines = ["# fuzzctl run: %s" % ("%d new finding(s)" % len(new) if new else "no new findings"), "",
             "Engine %s, budget %ss (fuzzing %ss), %s job(s), %s." % (
                 meta["engine"], meta["budget"], meta["fuzz_seconds"], meta["jobs"], meta["started"]), "",
             "| target | workers | seconds | execs | exec/s | coverage | corpus | merged | findings |",
             "|---|---|---|---|---|---|---|---|---|"]
    for t in targets:
        lines.append("| %s | %d | %.0f | %d | %d | %d | %d | %d | %d |" % (
            t["name"], t["workers"], t["seconds"], t["execs"], t["exec_per_sec"], t["coverage"],
            t["corpus"], t["merged"], t["findings"]))
    lines.append("")
    idle = [t for t in targets if t.get("idle_reason")]
    if idle:
        lines.append("Executed nothing (%d of %d target(s)):" % (len(idle), len(targets)))
        lines.append("")
        for t in idle:
            lines.append("- %s: %s" % (t["name"], t["idle_reason"]))
        lines.append("")
    if not findings:
        lines.append("No crash, timeout, leak or oracle failure.")
    for f in findings:
        lines += ["## %s %s: %s" % ("NEW" if f["new"] else "known", f["target"], f["kind"]), "",
                  "- bucket: `%s`" % f["bucket"],
                  "- headline: `%s`" % f["headline"].replace("`", "'")]
        if f["rule"]:
            lines.append("- rule %s, alert %s: %s" % (f["rule"], f["alert"], f["reason"]))
        if f["frames"]:
            lines.append("- top frames: %s" % " <- ".join(f["frames"]))
        lines += ["- inputs in bucket: %d; minimised %d -> %d bytes (%s, verdict %s)" % (
            f["count"], f["input_size"], f["minimized_size"], f["minimize_method"],
            "preserved" if f["verdict_preserved"] else "NOT preserved"),
                  "- files: `%s/` (input, minimized, log.txt, trace.txt)" % f["dir"],
                  "- reproduce: `%s`" % f["reproduce"]]
        if f.get("regression_file"):
            lines.append("- regression: `%s`" % f["regression_file"])
        lines.append("")
    return "\n".join(lines) + "\n"


def _suite(suite_name, elapsed):
    return ET.Element("testsuite", name=suite_name, tests="0", failures="0", errors="0", skipped="0",
                      time="%.3f" % max(0.0, elapsed),
                      timestamp=datetime.datetime.now().replace(microsecond=0).isoformat())


def _write(path, suite):
    """Counts from the cases themselves, then the file (tests/junit.xsd's
    Ant/Jenkins form: a testcase holds skipped, errors, failures, then
    system-out, in that order)."""
    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(len(c.findall("failure")) for c in cases)))
    suite.set("errors", str(sum(len(c.findall("error")) for c in cases)))
    suite.set("skipped", str(sum(1 for c in cases if c.find("skipped") is not None)))
    tmp = pathlib.Path(str(path) + ".tmp-%d" % os.getpid())
    ET.ElementTree(suite).write(tmp, encoding="utf-8", xml_declaration=True)
    os.replace(tmp, path)


def junit(path, suite_name, targets, findings, elapsed=0.0, failed_to_start=()):
    """One testcase per target (time: its fuzzing seconds); a failure per new
    finding of that target; an error for a fuzzer that failed to start;
    skipped for a target that executed nothing; known findings as
    system-out. The suite's time is the whole run's (|elapsed| seconds)."""
    suite = _suite(suite_name, elapsed)
    for t in targets:
        case = ET.SubElement(suite, "testcase", classname="fuzz." + t["name"], name=t["name"],
                             time="%.1f" % t["seconds"])
        if t["name"] in failed_to_start:
            err = ET.SubElement(case, "error", message="the fuzzer failed to start", type="setup")
            err.text = "see the run's logs/ folder\n"
        elif t.get("idle_reason"):
            ET.SubElement(case, "skipped", message=("executed nothing: " + t["idle_reason"])[:300])
        known = []
        for f in findings:
            if f["target"] != t["name"]:
                continue
            if f["new"]:
                fail = ET.SubElement(case, "failure", message="%s: %s" % (f["kind"], f["headline"][:200]),
                                     type=f["kind"])
                fail.text = "bucket %s\nminimized: %s\nreproduce: %s\n" % (f["bucket"], f["minimized"], f["reproduce"])
            else:
                known.append("known finding (regression %s): %s" % (f.get("regression_file"), f["bucket"]))
        if known:
            ET.SubElement(case, "system-out").text = "\n".join(known) + "\n"
    # A skipped element must come first in a testcase.
    for case in suite.findall("testcase"):
        sk = case.find("skipped")
        if sk is not None and list(case).index(sk) != 0:
            case.remove(sk)
            case.insert(0, sk)
    _write(path, suite)


def junit_cases(path, suite_name, cases, elapsed=0.0):
    """cases: [(classname, name, outcome, message, details, seconds)] where
    outcome is "ok", "failure", "error" (could not be run) or "skipped"."""
    suite = _suite(suite_name, elapsed)
    for classname, name, outcome, message, details, seconds in cases:
        case = ET.SubElement(suite, "testcase", classname=classname, name=name, time="%.3f" % seconds)
        if outcome in ("failure", "error", "skipped"):
            el = ET.SubElement(case, outcome, message=(message or outcome)[:300])
            if details:
                el.text = details
    _write(path, suite)
