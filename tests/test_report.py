"""`tlsdrill report`: a small conformance run (the engine and OpenSSL in
process, with captures) and a short fuzzctl run on the fixture targets
(tests/fuzzctl_fixture/) as one HTML file, rendered by headless Chromium with
networking off: the page renders, the DOM after its script holds the grade
counts, a case's decoded ClientHello and the RFC sentence its rule quotes,
the matrix is grouped by rule family and RFC 8446 section, and no request
leaves the file. `fuzzctl triage` writes the same kind of report."""
import html as htmllib
import json
import os
import pathlib
import re
import shutil
import struct
import subprocess
import zlib

import pytest

from conftest import ROOT, run

CHROMIUM = "/usr/bin/chromium"
CASES = [ROOT / "scenarios" / "server" / "clienthello" / "extensions.scn",
         ROOT / "scenarios" / "client" / "negotiation" / "params.scn"]
FIX = ROOT / "tests" / "fuzzctl_fixture"
WIDTH, HEIGHT = 1280, 900


# ---------------------------------------------------------------- inputs
@pytest.fixture(scope="module")
def runs(tlsdrill, tmp_path_factory):
    """RUN.json + capture + key log of the engine and of OpenSSL."""
    d = tmp_path_factory.mktemp("runs")
    out = {}
    for peer in ("engine", "openssl"):
        args = [tlsdrill, "run", *CASES, "--peer", peer, "--quiet", "--json", d / (peer + ".json"),
                "--pcap", d / (peer + ".pcap"), "--keylog", d / (peer + ".keys")]
        if peer == "openssl":
            args += ["--expect", ROOT / "scenarios" / "expectations" / "openssl.txt"]
        r = run(args, cwd=ROOT, timeout=300)
        assert (d / (peer + ".json")).is_file(), r.stdout + r.stderr
        out[peer] = {"json": d / (peer + ".json"), "pcap": d / (peer + ".pcap"), "keys": d / (peer + ".keys"),
                     "doc": json.loads((d / (peer + ".json")).read_text())}
    return out


@pytest.fixture(scope="module")
def fuzz_out(tlsdrill, tmp_path_factory):
    """A short `tools/fuzzctl run` on two fixture targets (a planted crash and
    an oracle failure); it writes report.html itself."""
    if not shutil.which("clang-14"):
        pytest.skip("clang-14 not installed (tools/setup.sh installs it)")
    root = tmp_path_factory.mktemp("fxproj")
    targets = ["fx_crash", "fx_oracle"]
    (root / "fuzz").mkdir()
    (root / "fuzz" / "targets.txt").write_text("\n".join(targets) + "\n")
    lf = root / "build" / "libfuzzer" / "fuzz"
    lf.mkdir(parents=True)
    procs = [subprocess.Popen(["clang-14", "-g", "-O1", "-fsanitize=fuzzer,address,undefined", str(FIX / (t + ".c")),
                               "-o", str(lf / ("fuzz_" + t))]) for t in targets]
    for p in procs:
        assert p.wait(timeout=300) == 0
    for t, seed in (("fx_crash", b"FUa"), ("fx_oracle", b"OA")):
        (root / "corpus" / t).mkdir(parents=True)
        (root / "corpus" / t / "seed0").write_bytes(seed)
    out = root / "out"
    env = dict(os.environ, TD_TLSDRILL=str(tlsdrill))
    r = subprocess.run(["/usr/bin/python3", str(ROOT / "tools" / "fuzzctl"), "run", "--root", str(root),
                        "--budget", "12", "--post-budget", "6", "--jobs", "2", "--out", str(out), "--no-merge",
                        "--progress-interval", "2"], capture_output=True, text=True, timeout=120, env=env)
    assert (out / "findings.json").is_file(), r.stdout + r.stderr
    return out


@pytest.fixture(scope="module")
def report(tlsdrill, runs, fuzz_out, tmp_path_factory):
    html = tmp_path_factory.mktemp("report") / "report.html"
    e, o = runs["engine"], runs["openssl"]
    r = run([tlsdrill, "report", e["json"], "--capture", e["pcap"], "--keylog", e["keys"],
             o["json"], "--capture", o["pcap"], "--keylog", o["keys"], "--fuzz", fuzz_out, "-o", html], cwd=ROOT)
    assert r.returncode == 0, r.stderr
    return html


# ---------------------------------------------------------------- chromium
def chromium(tmp, url, *extra):
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip("chromium not installed (tools/setup.sh installs it as an optional package)")
    argv = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--user-data-dir=%s" % (tmp / "profile"), "--window-size=%d,%d" % (WIDTH, HEIGHT),
            # Every request goes to a proxy on a closed port, and is logged.
            "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
            "--log-net-log=%s" % (tmp / "net.json"), *extra, url]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    return p


def page_requests(netlog):
    """URLs the page asked for: URL requests with an initiator (Chromium's own
    update and account checks have none: 'not an origin')."""
    doc = json.loads(pathlib.Path(netlog).read_text())
    types = {v: k for k, v in doc["constants"]["logEventTypes"].items()}
    out = []
    for e in doc["events"]:
        p = e.get("params") or {}
        if types.get(e["type"]) == "URL_REQUEST_START_JOB" and "url" in p:
            if p.get("initiator") != "not an origin":
                out.append(p["url"])
    return out


def png_pixels(path):
    """(width, height, rows of RGB(A) bytes) of an 8-bit non-interlaced PNG."""
    data = pathlib.Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = ihdr
    assert depth == 8 and ctype in (2, 6) and interlace == 0, ihdr
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b, c = prev[x], prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def grade_counts(doc):
    counts = {}
    for c in doc["cases"]:
        g = c.get("grade") or c["verdict"]
        counts[g] = counts.get(g, 0) + 1
    return counts


# ---------------------------------------------------------------- the file itself
def test_html_loads_nothing(report):
    html = report.read_text()
    assert "://" not in html  # no URL of any scheme: no http(s), no file://, no ws://
    # Every link is a fragment of the page itself; no element loads a resource.
    for m in re.finditer(r"""\b(href|src|action|srcset|poster|data)\s*=\s*["']?([^"'\s>]*)""", html):
        assert m.group(1) == "href" and m.group(2).startswith("#"), m.group(0)
    assert not re.search(r"@import|url\(|<link\b|<iframe\b|<img\b|<object\b|<embed\b", html)
    assert "default-src 'none'" in html  # and the browser is told to refuse anything else


def test_summary_is_html_without_script(report, runs):
    # The counts are in the markup (the reader needs no JavaScript for them).
    html = report.read_text()
    for i, peer in enumerate(("engine", "openssl")):
        row = re.search(r'<tr data-peer="%d">(.*?)</tr>' % i, html, re.S).group(1)
        for g, n in grade_counts(runs[peer]["doc"]).items():
            assert 'data-grade="%s">%d<' % (g, n) in row, (peer, g, n)


# ---------------------------------------------------------------- in Chromium
def test_page_renders_in_chromium(report, tmp_path):
    shot = tmp_path / "report.png"
    p = chromium(tmp_path, report.as_uri(), "--screenshot=%s" % shot, "--hide-scrollbars")
    assert shot.is_file(), p.stderr[-2000:]
    w, h, bpp, rows = png_pixels(shot)
    assert (w, h) == (WIDTH, HEIGHT)
    # Not blank: many colours (the grade colours among them), text on most rows.
    colours = {row[x:x + 3] for row in rows[::4] for x in range(0, w * bpp, bpp * 4)}
    assert len(colours) > 50, len(colours)
    green = any(r < 80 and g > 120 and b < 100 for r, g, b in (tuple(c) for c in colours))  # pass
    red = any(r > 190 and g < 80 and b < 80 for r, g, b in (tuple(c) for c in colours))  # fail
    assert green and red
    busy = sum(1 for row in rows if len(set(row)) > 4)
    assert busy > h // 3, busy
    assert page_requests(tmp_path / "net.json") == []


def test_dom_after_script_holds_counts_and_decoded_client_hello(report, runs, tmp_path):
    p = chromium(tmp_path, report.as_uri(), "--dump-dom")
    dom = p.stdout
    assert 'data-report-ready="1"' in dom, p.stderr[-2000:]  # the script ran to its end
    assert re.search(r'id="f-status"[^>]*>showing \d+ of \d+ rules', dom)  # and filled the filter status
    for i, peer in enumerate(("engine", "openssl")):
        row = re.search(r'<tr data-peer="%d">(.*?)</tr>' % i, dom, re.S).group(1)
        for g, n in grade_counts(runs[peer]["doc"]).items():
            assert 'data-grade="%s">%d<' % (g, n) in row, (peer, g, n)
    # The case with a planted oid_filters in its ClientHello, decoded per peer,
    # side by side: the engine refuses it, OpenSSL goes on.
    idx = [c["name"] for c in runs["engine"]["doc"]["cases"]].index("ch-wrong-message-ext")
    detail = re.search(r'<details class="case" id="case-%d">(.*?)</details>' % idx, dom, re.S).group(1)
    assert "scenarios/server/clienthello/extensions.scn:" in detail and "add oid_filters" in detail
    assert "EXT-WRONG-MESSAGE" in detail and "RFC 8446 §4.2" in detail.replace("&sect;", "§")
    # The rule's RFC sentence, quoted (engine/catalogue/quotes.md) with its section and heading.
    quote = re.search(r'<blockquote class="rfc"><p>(.*?)</p><footer>(.*?)</footer></blockquote>', detail, re.S)
    assert quote, detail[:3000]
    assert htmllib.unescape(quote.group(1)) == (
        'If an implementation receives an extension which it recognizes and which is not specified for the '
        'message in which it appears, it MUST abort the handshake with an "illegal_parameter" alert.')
    assert htmllib.unescape(quote.group(2)) == "RFC 8446 §4.2 Extensions"
    peers = detail.split('<div class="peer">')[1:]
    assert len(peers) == 2
    for part in peers:
        assert "handshake type=client_hello (1)" in part
        assert "cipher_suites: TLS_AES_128_GCM_SHA256 (0x1301)" in part
        assert "extension type=oid_filters (48)" in part
    assert "description=unsupported_extension (110)" in peers[0]  # the engine's alert
    assert "handshake type=server_hello (2)" in peers[1]  # OpenSSL answered
    assert "decrypted)" in peers[1] and "handshake type=finished (20)" in peers[1]  # under the key log
    assert page_requests(tmp_path / "net.json") == []


def _primary_sections():
    """Rule ID -> its own RFC 8446 section (the first of the catalogue's §
    column), read from the generated rules.def."""
    text = (ROOT / "engine" / "include" / "tlsdrill" / "rules.def").read_text()
    return {m.group(1): re.split(r"[ ,(]", m.group(2))[0]
            for m in re.finditer(r'^TD_RULE\(\w+, "([^"]+)", "([^"]*)"', text, re.M)}


def _section_key(sec):
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in sec.split(".")]


def test_matrix_grouped_by_family_and_rfc_section(report, tmp_path):
    p = chromium(tmp_path, report.as_uri(), "--dump-dom")
    dom = p.stdout
    assert 'data-report-ready="1"' in dom, p.stderr[-2000:]
    table = re.search(r'<table class="matrix" id="matrix-table">(.*?)</table>', dom, re.S).group(1)
    primary = _primary_sections()
    rfc = (ROOT / "engine" / "catalogue" / "rfc8446.txt").read_text()
    headings = {m.group(1): m.group(2).strip() for m in
                re.finditer(r"^(?:Appendix )?([A-E]|[0-9]+(?:\.[0-9]+)*)\.? +(\S.*)$", rfc.split("\n1.  Introduction")[1], re.M)}
    fam = sec = None
    seen_secs, families, checked = {}, [], 0
    for m in re.finditer(r'<tbody class="(fam|sec|rule)(?: [\w-]+)*"([^>]*)>(.*?)</tbody>', table, re.S):
        kind, attrs, body = m.groups()
        if kind == "fam":
            fam = re.search(r"<th[^>]*>([^<]*?) <small>", body).group(1)
            assert fam not in families, fam  # a family is one block
            families.append(fam)
            sec, seen_secs[fam] = None, []
        elif kind == "sec":
            sec = re.search(r'data-sec="([^"]*)"', attrs).group(1)
            title = htmllib.unescape(re.search(r"<th[^>]*>(.*?) <small>", body).group(1))
            # "§4.2 Extensions", "Appendix D.5 Security ...": the heading as the RFC text has it.
            assert title == ("Appendix " if sec[0].isalpha() else "§") + sec + " " + headings[sec], title
            assert sec not in seen_secs[fam], (fam, sec)  # one heading per section within a family
            seen_secs[fam].append(sec)
        else:
            rid = re.search(r'<tr class="r" data-text="([^ "]+)', body).group(1)
            if rid == "baseline":
                continue
            assert rid.split("-")[0] == fam, (rid, fam)
            assert primary[rid] == sec, (rid, primary[rid], sec)
            checked += 1
    assert checked >= 10 and len(families) >= 5, (checked, families)
    for fam, secs in seen_secs.items():
        assert secs == sorted(secs, key=_section_key), (fam, secs)  # RFC order within the family
    # The EXT family's rules sit under "§4.2 Extensions".
    assert re.search(r'<tbody class="sec" data-sec="4.2"><tr><th[^>]*>§4.2 Extensions <small>', table)
    # Filtered to one rule (the text filter pre-filled), only its family and
    # section headings stay: the script hides the headings with no rule left.
    page = report.read_text().replace('id="f-text"', 'id="f-text" value="SH-CIPHER-NOT-OFFERED"', 1)
    one = tmp_path / "one.html"
    one.write_text(page)
    dom = chromium(tmp_path, one.as_uri(), "--dump-dom").stdout
    shown = re.findall(r'<tbody class="(fam|sec|rule)((?: [\w-]+)*)"([^>]*)>', dom)
    visible = [(k, a) for k, c, a in shown if "hide" not in c]
    assert [k for k, _a in visible] == ["fam", "sec", "rule"], visible
    assert 'data-sec="4.1.3"' in visible[1][1]
    assert sum(1 for k, _c, _a in shown if k == "sec") > 3  # the others are there, hidden


def test_fuzz_campaign_in_report(report, fuzz_out):
    html = report.read_text()
    doc = json.loads((fuzz_out / "findings.json").read_text())
    for t in doc["targets"]:
        assert t["series"], t  # fuzzctl kept the samples the plots draw
        assert "<h4>%s <small>%d sample" % (t["name"], len(t["series"])) in html
    assert html.count('<polyline class="l-eps"') == len(doc["targets"])
    assert html.count('<polyline class="l-cov"') == len(doc["targets"])
    crash = [f for f in doc["findings"] if f["target"] == "fx_crash"]
    assert crash and "<code>%s</code>" % crash[0]["bucket"] in html
    oracle = [f for f in doc["findings"] if f["target"] == "fx_oracle"]
    assert oracle and "==tlsdrill-oracle== fx_oracle: wrong-alert: rule FX-RULE-1" in html
    assert "decoded replay" in html


def test_fuzzctl_run_writes_report_html(fuzz_out):
    html = (fuzz_out / "report.html").read_text()
    assert (fuzz_out / "summary.md").is_file()
    assert '<section id="fuzz">' in html and "fx_crash" in html and "://" not in html


def test_fuzzctl_triage_writes_report_html(tlsdrill, fuzz_out, tmp_path):
    # Triage of the crash inputs the run found: report.html next to summary.md,
    # with the findings (bucket, headline) and their decoded replay.
    doc = json.loads((fuzz_out / "findings.json").read_text())
    crash = [f for f in doc["findings"] if f["target"] == "fx_crash"]
    assert crash, doc["findings"]
    out = tmp_path / "triage"
    env = dict(os.environ, TD_TLSDRILL=str(tlsdrill))
    r = subprocess.run(["/usr/bin/python3", str(ROOT / "tools" / "fuzzctl"), "triage", "--root", str(fuzz_out.parent),
                        "--target", "fx_crash", "--out", str(out), "--budget", "30", crash[0]["input"]],
                       capture_output=True, text=True, timeout=120, env=env)
    assert (out / "summary.md").is_file(), r.stdout + r.stderr
    tdoc = json.loads((out / "findings.json").read_text())
    assert tdoc["command"] == "triage" and tdoc["findings"], tdoc
    page = (out / "report.html").read_text()
    assert "<title>fuzzctl triage triage</title>" in page
    assert '<section id="fuzz">' in page and "://" not in page
    for f in tdoc["findings"]:
        assert "<code>%s</code>" % htmllib.escape(f["bucket"], quote=False) in page, f["bucket"]
        assert htmllib.escape(f["headline"], quote=False) in page, f["headline"]
    assert "decoded replay" in page


def test_readable_without_javascript(report, runs, tmp_path):
    # The page without its script (headless screenshots need scripting on,
    # so the script is cut out instead): the same counts and matrix.
    html = report.read_text()
    nojs = tmp_path / "nojs.html"
    nojs.write_text(re.sub(r"<script>.*?</script>", "", html, flags=re.S))
    assert "<script" not in nojs.read_text()
    shot = tmp_path / "nojs.png"
    p = chromium(tmp_path, nojs.as_uri(), "--screenshot=%s" % shot)
    assert shot.is_file(), p.stderr[-2000:]
    w, h, bpp, rows = png_pixels(shot)
    assert (w, h) == (WIDTH, HEIGHT) and sum(1 for row in rows if len(set(row)) > 4) > h // 3
    p = chromium(tmp_path, nojs.as_uri(), "--dump-dom")
    dom = p.stdout
    assert "data-report-ready" not in dom and re.search(r'<form id="filters" class="filters" hidden(="")?>', dom)
    row = re.search(r'<tr data-peer="1">(.*?)</tr>', dom, re.S).group(1)
    for g, n in grade_counts(runs["openssl"]["doc"]).items():
        assert 'data-grade="%s">%d<' % (g, n) in row
    assert page_requests(tmp_path / "net.json") == []


def test_network_check_sees_a_page_request(tmp_path):
    # The check above is not vacuous: a page that loads something shows up.
    page = tmp_path / "control.html"
    page.write_text('<html><body><img src="http://tlsdrill.invalid/x.png"></body></html>')
    chromium(tmp_path, page.as_uri(), "--dump-dom")
    assert page_requests(tmp_path / "net.json") == ["http://tlsdrill.invalid/x.png"]


# ---------------------------------------------------------------- errors
def test_bad_inputs(tlsdrill, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"cases": [\n  {"name": "x",}\n]}\n')
    r = run([tlsdrill, "report", bad, "-o", tmp_path / "r.html"])
    assert r.returncode == 1 and re.search(r"bad\.json:2:\d+: ", r.stderr), r.stderr
    notrun = tmp_path / "other.json"
    notrun.write_text('{"tool": "x"}')
    r = run([tlsdrill, "report", notrun, "-o", tmp_path / "r.html"])
    assert r.returncode == 1 and "not a `tlsdrill run --json` report" in r.stderr
    r = run([tlsdrill, "report", notrun])
    assert r.returncode == 2 and "-o FILE is required" in r.stderr
    r = run([tlsdrill, "report", "--capture", "x.pcap", notrun, "-o", tmp_path / "r.html"])
    assert r.returncode == 2 and "after the RUN.json" in r.stderr
    r = run([tlsdrill, "report", "--fuzz", tmp_path, "-o", tmp_path / "r.html"])
    assert r.returncode == 1 and "findings.json" in r.stderr
    assert not (tmp_path / "r.html").exists()


def test_graded_fields_and_peer_log(tlsdrill, tmp_path):
    # Fields of the graded JSON report (grade, level, premise, root_cause,
    # peer_log) are shown as given; markup in them stays text.
    case = {"name": "ks-not-in-groups", "file": "scenarios/server/keyshare/keyshare.scn", "line": 1,
            "sut": "server", "rules": ["KS-GROUP-NOT-IN-SUPPORTED"], "expect": "rule",
            "expected": "illegal_parameter", "actual": "alert handshake_failure", "verdict": "fail",
            "grade": "alert-differs", "level": "MAY", "premise": "the SUT reads key_share",
            "root_cause": {"id": "RC-7", "text": "answers every share problem with handshake_failure"},
            "reason": "expected illegal_parameter", "deviation": None,
            "peer_log": "shim: <script>alert(1)</script> refused\n"}
    other = dict(case, name="ks-duplicate-group", grade="advisory", root_cause="no check")
    doc = {"tool": "tlsdrill", "peer": "exec:shim", "peer_version": "shim 1", "mode": "strict",
           "cases": [case, other]}
    (tmp_path / "run.json").write_text(json.dumps(doc))
    out = tmp_path / "r.html"
    r = run([tlsdrill, "report", tmp_path / "run.json", "-o", out, "--decode", "none"], cwd=ROOT)
    assert r.returncode == 0, r.stderr
    html = out.read_text()
    assert 'data-grade="alert-differs">1<' in html and 'data-grade="advisory">1<' in html
    assert "RC-7: answers every share problem with handshake_failure" in html
    assert "the SUT reads key_share" in html
    assert "shim: &lt;script&gt;alert(1)&lt;/script&gt; refused" in html and "<script>alert" not in html
    assert html.count('<tbody class="rule" data-level="MAY">') == 1  # catalogue level of the rule
    r = run([tlsdrill, "report", tmp_path / "run.json", "-o", out, "--decode", "some"], cwd=ROOT)
    assert r.returncode == 2 and "bad --decode 'some'" in r.stderr


def test_decode_choice(tlsdrill, runs, tmp_path):
    e = runs["engine"]
    out = tmp_path / "r.html"
    r = run([tlsdrill, "report", e["json"], "--capture", e["pcap"], "--keylog", e["keys"], "--decode", "none",
             "-o", out], cwd=ROOT)
    assert r.returncode == 0, r.stderr
    html = out.read_text()
    assert "handshake type=client_hello" not in html
    assert "tlsdrill dissect %s --keylog %s --stream 0" % (e["pcap"], e["keys"]) in html
