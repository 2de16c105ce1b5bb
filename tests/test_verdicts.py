"""The verdict logic itself: with the hidden, test-only switch
`tlsdrill run --plant-wrong-alert RULE` the engine, as the system under
test, answers RULE with an alert RULE does not allow. The suite must then
fail exactly the cases in which the engine aborts for RULE (the cases of
that rule that expect an alert), and nothing else."""
import json

import pytest

from conftest import ROOT, run

RULES = ["PSK-BINDER-INVALID", "REC-CCS-PROTECTED", "CH2-NOT-CONFORMANT",
         "KS-HRR-GROUP-NOT-SUPPORTED", "CV-BAD-SIGNATURE"]


def run_json(tlsdrill, tmp_path, name, *args):
    out = tmp_path / (name + ".json")
    r = run([tlsdrill, "run", "scenarios", "--json", str(out), *args], cwd=ROOT)
    return r, {c["name"]: c for c in json.loads(out.read_text())["cases"]}


@pytest.fixture(scope="module")
def baseline(tlsdrill, tmp_path_factory):
    r, cases = run_json(tlsdrill, tmp_path_factory.mktemp("base"), "base")
    assert r.returncode == 0, r.stdout[-2000:]
    assert all(c["grade"] == "pass" for c in cases.values())
    return cases


@pytest.mark.parametrize("rule", RULES)
def test_planted_wrong_alert_fails_exactly_that_rule(tlsdrill, tmp_path, baseline, rule):
    # The cases that name the rule and expect an alert, where the engine
    # (as SUT) aborts for that very rule.
    want = {n for n, c in baseline.items()
            if rule in c["rules"] and c["expect"] in ("rule", "alert") and c["sut_rule"] == rule}
    assert want, "no case aborts for %s" % rule
    # ... which is every case whose SUT aborted for the rule.
    assert want == {n for n, c in baseline.items()
                    if c["sut_rule"] == rule and c["actual"].startswith("alert ")}
    for mode in ("--strict", "--lenient"):
        r, cases = run_json(tlsdrill, tmp_path, "planted" + mode, "--plant-wrong-alert", rule, mode)
        # Refused with another alert: alert-differs, which --strict fails and --lenient reports.
        assert r.returncode == (1 if mode == "--strict" else 0), r.stdout[-2000:]
        graded = {n for n, c in cases.items() if c["grade"] != "pass"}
        assert graded == want
        for n in graded:
            c = cases[n]
            assert c["grade"] == "alert-differs" and c["sut_rule"] == rule
            assert c["fails"] is (mode == "--strict")
            assert c["actual"] != baseline[n]["actual"]
            assert c["actual"] in c["reason"]
            assert c["level"] in ("MUST", "SHOULD (alert choice)")
        assert set(cases) == set(baseline)


def test_planted_rule_that_no_case_reaches_changes_nothing(tlsdrill, tmp_path, baseline):
    # REC-SEQ-WRAP is a limit on the endpoint's own state: no case makes the
    # engine abort for it, so planting it must leave every verdict alone.
    r, cases = run_json(tlsdrill, tmp_path, "none", "--plant-wrong-alert", "REC-SEQ-WRAP")
    assert r.returncode == 0
    assert {n: c["grade"] for n, c in cases.items()} == {n: "pass" for n in baseline}


def test_plant_wrong_alert_unknown_rule(tlsdrill):
    r = run([tlsdrill, "run", "scenarios", "--plant-wrong-alert", "NO-SUCH-RULE"], cwd=ROOT)
    assert r.returncode == 2
    assert "unknown rule 'NO-SUCH-RULE'" in r.stderr


# ---- every grade, from misbehaviour planted in the engine as SUT ----

def graded(cases, grade):
    return {n for n, c in cases.items() if c["grade"] == grade}


def test_skipped_may_check_is_advisory(tlsdrill, tmp_path, baseline):
    # KS-GROUP-NOT-IN-SUPPORTED: RFC 8446 4.2.8 "Servers MAY check for
    # violations of these rules": a server that does not check is advisory.
    want = {n for n, c in baseline.items() if c["rules"] == ["KS-GROUP-NOT-IN-SUPPORTED"]}
    assert want
    r, cases = run_json(tlsdrill, tmp_path, "may", "--plant-skip", "KS-GROUP-NOT-IN-SUPPORTED")
    assert r.returncode == 0, r.stdout[-2000:]  # advisory never fails a run
    assert graded(cases, "advisory") == want
    assert graded(cases, "pass") == set(baseline) - want
    for n in want:
        c = cases[n]
        assert c["level"] == "MAY" and c["actual"] == "handshake" and not c["fails"]
        assert "advisory" in c["reason"]


def test_skipped_must_check_is_a_failure(tlsdrill, tmp_path, baseline):
    # CH-COMPRESSION: RFC 8446 4.1.2 "MUST ... abort": accepting is a fail,
    # in strict and lenient mode alike.
    want = {n for n, c in baseline.items() if c["rules"] == ["CH-COMPRESSION"]}
    assert want
    for mode in ("--strict", "--lenient"):
        r, cases = run_json(tlsdrill, tmp_path, "must" + mode, "--plant-skip", "CH-COMPRESSION", mode)
        assert r.returncode == 1, r.stdout[-2000:]
        assert graded(cases, "fail") == want
        assert graded(cases, "pass") == set(baseline) - want
        assert all(cases[n]["level"] == "MUST" and cases[n]["fails"] for n in want)
        assert "; %d failing (%s)" % (len(want), mode[2:]) in r.stdout.splitlines()[-1]


def test_element_that_never_reached_the_sut_is_na(tlsdrill, tmp_path):
    # A server that answers every ClientHello with a HelloRetryRequest never
    # uses the key share a case broke: `premise no-hrr` makes that n/a.
    out = tmp_path / "hrr.json"
    r = run([tlsdrill, "run", "scenarios/server/keyshare", "--plant-hrr", "--json", out], cwd=ROOT)
    assert r.returncode == 0, r.stdout[-2000:]
    cases = json.loads(out.read_text())["cases"]
    na = [c for c in cases if c["grade"] == "n/a"]
    assert na and all("no-hrr: failed" in c["premise"] for c in na)
    assert all("HelloRetryRequest" in c["reason"] and "never used the edited key share" in c["reason"]
               for c in na)
    # Every case that declares the premise and did not pass is n/a, none fails.
    assert not [c for c in cases if c["grade"] in ("fail", "alert-differs", "advisory")]
    # Without the plant it does not fail (the SUT refused our first ClientHello outright).
    r, base = run_json(tlsdrill, tmp_path, "nohrr", "--filter", "ks-bad-length")
    assert base and all(c["grade"] == "pass" and c["premise"].startswith("no-hrr: ")
                        and "failed" not in c["premise"] for c in base.values())


def test_every_grade_is_in_the_summary(tlsdrill, tmp_path):
    r = run([tlsdrill, "run", "scenarios", "--plant-skip", "CH-COMPRESSION", "--lenient"], cwd=ROOT)
    last = r.stdout.splitlines()[-1]
    for g in ("pass", "alert-differs", "fail", "advisory", "n/a", "unsupported", "error"):
        assert (" %s," % g in last) or (" %s;" % g in last), last


# ---- our abort as evidence: a MUST the SUT broke, whatever the case's rule ----

CT_SERVER_MISSING = "The server MUST send a Certificate message whenever the agreed-upon key exchange method"


def test_sut_must_broken_under_a_sender_only_rule_is_fail(tlsdrill, tmp_path, baseline):
    # The engine as server SUT leaves out its Certificate (type 11): our client
    # aborts with CT-SERVER-MISSING, which proves the SUT broke RFC 8446 4.4.2.
    r, cases = run_json(tlsdrill, tmp_path, "nocert", "--plant-skip-message", "11")
    assert r.returncode == 1, r.stdout[-2000:]
    broke = {n for n, c in cases.items() if c["sut_broke"]}
    assert broke and all(cases[n]["sut_broke"] == "CT-SERVER-MISSING" for n in broke)
    for n in broke:
        c = cases[n]
        assert c["grade"] == "fail" and c["level"] == "MUST" and c["sut"] == "server", n
        assert CT_SERVER_MISSING in c["reason"] and "CT-SERVER-MISSING" in c["reason"], c["reason"]
    # Among them cases whose own rule binds only the sender (CH2-*: the client):
    # on their own they would be advisory; the SUT's broken MUST makes them fail.
    sender_only = {n for n in broke if baseline[n]["level"] == "sender-only"}
    assert "ch2-psk-dropped" in sender_only
    assert all("the case's own grade would be advisory: the SUT's MUST decides]" in cases[n]["reason"] for n in sender_only)
    # Every server case that no longer passes is one of them (the others resumed with
    # a PSK, where no Certificate is due, or were refused before it was due).
    server = {n for n, c in cases.items() if c["sut"] == "server"}
    assert {n for n in server if cases[n]["grade"] != "pass"} == broke
    assert not any(cases[n]["actual"] == "handshake" for n in server - broke)


def test_client_sut_without_certificate_verify_is_fail(tlsdrill, tmp_path):
    # The engine as client SUT with a certificate leaves out its CertificateVerify
    # (type 15): our server aborts with CV-MISSING, a row that binds both roles,
    # here under the client's sentence.
    out = tmp_path / "nocv.json"
    r = run([tlsdrill, "run", "scenarios/client", "--plant-skip-message", "15", "--json", out], cwd=ROOT)
    assert r.returncode == 1, r.stdout[-2000:]
    cases = json.loads(out.read_text())["cases"]
    bad = [c for c in cases if c["grade"] != "pass"]
    assert bad and all(c["grade"] == "fail" and c["sut_broke"] == "CV-MISSING" for c in bad)
    assert all("Clients MUST send this message whenever authenticating via a certificate" in c["reason"]
               for c in bad)


# ---- post-handshake closes without an alert, over the network ----

def _python_client(port, stop):
    """A TLS 1.3 client (Python's ssl, libssl underneath) that completes the
    handshake and then closes the socket without close_notify and without
    reading: what gnutls-cli does after a post-handshake message it refuses."""
    import socket, ssl, threading
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(str(ROOT / "tests" / "vectors" / "certs" / "ca.pem"))
    while not stop.is_set():
        try:
            raw = socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            threading.Event().wait(0.02)
            continue
        try:
            s = ctx.wrap_socket(raw, server_hostname="localhost")
            s.close()
        except (OSError, ssl.SSLError):
            raw.close()


@pytest.mark.parametrize("case,grade,actual", [
    # KeyUpdate with request_update 2 (RFC 8446 4.6.3: illegal_parameter), after the
    # handshake: the client closing at once refused it, without the alert.
    ("ku-bad-request-client[2]", "alert-differs", "closed after our post-handshake message"),
    # An unknown extension in EncryptedExtensions (RFC 8446 4.2), before the
    # client's Finished: libssl ignores it and completes; its close afterwards is no refusal.
    ("ee-unknown-ext[0xfafa]", "fail", "handshake"),
    # A baseline: completing, then closing, is a completed handshake.
    ("nst-raw-ok", "pass", "handshake"),
])
def test_post_handshake_close_is_judged_by_the_post_handshake_outcome(tlsdrill, tmp_path, case, grade, actual):
    import socket, subprocess, threading
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    out = tmp_path / "r.json"
    runner = subprocess.Popen([str(tlsdrill), "run", "scenarios/client/", "--peer", "listen:127.0.0.1:%d" % port,
                               "--filter", case, "--json", str(out)], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    stop = threading.Event()
    cli = threading.Thread(target=_python_client, args=(port, stop), daemon=True)
    cli.start()
    try:
        stdout, _ = runner.communicate(timeout=60)
    finally:
        stop.set()
        if runner.poll() is None:
            runner.kill()
            runner.wait(timeout=5)
        cli.join(timeout=10)
    got = {c["name"]: c for c in json.loads(out.read_text())["cases"]}
    c = got[case]
    assert (c["grade"], c["actual"]) == (grade, actual), (c, stdout)
    if grade == "alert-differs":
        assert "end=eof after" in c["observed"] or "end=reset after" in c["observed"]
        assert "we-closed" not in c["observed"] and "without an error alert" in c["reason"]


# ---- a case allowance (a case without a rule): RFC 5746 ----

def test_case_allowance_passes_only_its_alert_where_it_is_declared(tlsdrill, tmp_path):
    # A server that reads the ClientHello and refuses it with a plaintext fatal
    # handshake_failure, as an RFC 5746 server does with a non-empty renegotiation_info.
    import socket, threading
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    srv.settimeout(30)
    port = srv.getsockname()[1]

    def serve():
        try:
            while True:
                c, _ = srv.accept()
                c.recv(65536)
                c.sendall(bytes.fromhex("15030300020228"))  # alert(21) fatal(2) handshake_failure(40)
                c.close()
        except OSError:
            pass
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        r, cases = run_json(tlsdrill, tmp_path, "reneg", "--peer", "tcp:127.0.0.1:%d" % port,
                            "--filter", "ch-renegotiation-info")
    finally:
        srv.close()
        t.join(timeout=5)
    ok, empty = cases["ch-renegotiation-info[0c:00*12]"], cases["ch-renegotiation-info[00]"]
    assert ok["grade"] == "pass" and ok["actual"] == "alert handshake_failure"
    assert "RENEG-INFO-NONEMPTY" in ok["reason"] and "RFC 5746 §3.6" in ok["reason"]
    # An empty renegotiated_connection is what RFC 5746 clients send: no allowance.
    assert empty["grade"] == "fail" and empty["actual"] == "alert handshake_failure"


def test_allow_is_linted(tlsdrill, tmp_path):
    bad = tmp_path / "bad.scn"
    bad.write_text("scenario  x\nsut       server\nallow     NO-SUCH\nexpect    handshake\n\n"
                   "scenario  y\nrule      CH-COMPRESSION\nsut       server\nallow     RENEG-INFO-NONEMPTY\n"
                   "expect    rule\n")
    r = run([tlsdrill, "lint", bad], cwd=ROOT)
    assert r.returncode != 0
    assert "unknown case allowance 'NO-SUCH'" in r.stdout + r.stderr
    assert "'allow' is for a case without a rule" in r.stdout + r.stderr


def test_sender_must_sentences_are_the_rfc_text():
    # Every sentence of "Our abort as evidence" is RFC 8446 word for word
    # (whitespace aside): a fail that quotes it quotes the RFC.
    import re
    rfc = " ".join((ROOT / "engine" / "catalogue" / "rfc8446.txt").read_text().split())
    text = (ROOT / "engine" / "catalogue" / "allowances.md").read_text()
    rows = text[text.index("## Our abort as evidence"):].splitlines()
    quoted = [re.search(r'RFC 8446 §[0-9.]+: "(.*)"', r).group(1) for r in rows
              if r.startswith("| ") and not r.startswith(("| Rule", "|---"))]
    assert len(quoted) >= 5
    for q in quoted:
        assert " ".join(q.split()) in rfc, q


# ---- premise recognises EXT: a server SUT's baseline probe ----

def test_server_that_does_not_recognise_an_extension_is_na_by_its_baseline_probe(tlsdrill, tmp_path):
    # The planted server SUT leaves record_size_limit (28) out of its
    # EncryptedExtensions, as a stack that does not implement it, and answers
    # GEN-DECODE with a wrong alert: it refused before it answered anything, so
    # this run cannot tell; the baseline probe (a clean handshake offering a
    # valid record_size_limit) shows it never answers it: n/a.
    def cases_of(*plants):
        out = tmp_path / ("p%d.json" % len(plants))
        r = run([tlsdrill, "run", "scenarios/server", "--filter", "ch-malformed-record-size-limit",
                 "--plant-wrong-alert", "GEN-DECODE", *plants, "--json", out], cwd=ROOT)
        return r, json.loads(out.read_text())["cases"]
    r, cases = cases_of("--plant-drop-ext", "28")
    assert r.returncode == 0 and len(cases) == 3, r.stdout
    for c in cases:
        assert c["grade"] == "n/a", c
        assert c["premise"] == "recognises record_size_limit: failed (baseline probe)"
        assert "baseline probe" in c["reason"] and "otherwise alert-differs" in c["reason"]
    # The same SUT that does answer it in the probe: the wrong alert stands.
    r, cases = cases_of()
    assert r.returncode == 1
    assert all(c["grade"] == "alert-differs" and c["premise"] == "recognises record_size_limit: held (baseline probe)"
               for c in cases), cases


# ---- mis-graded cases fixed in the catalogue, the premises and the peer adapter (libssl) ----

@pytest.mark.parametrize("case,grade,want", [
    # RFC 8446 4.6.3: the answering KeyUpdate is due "prior to sending its next
    # Application Data record"; libssl sends none here.
    ("ku-requested-server", "n/a", "sends-application-data: failed"),
    ("ku-requested-client", "n/a", "sends-application-data: failed"),
    # RFC 8446 4.4.2.2: the fallback chain is a SHOULD.
    ("ch-sigalgs-cert-no-match", "advisory", "[SHOULD rule: advisory]"),
    # A client refusing our TLS 1.2 ServerHello after 0-RTT alerts in a record our
    # side cannot read: it refused.
    ("sh-tls12-after-0rtt", "alert-differs", "could not read"),
    # libssl's stateless mode and the middlebox-compatibility CCS: not its ordinary server.
    ("hrr-ok-cookie-compat", "unsupported", "stateless"),
])
def test_misgraded_cases_against_libssl(tlsdrill, tmp_path, case, grade, want):
    out = tmp_path / "o.json"
    run([tlsdrill, "run", "scenarios", "--peer", "openssl", "--filter", case, "--json", out], cwd=ROOT)
    cases = [c for c in json.loads(out.read_text())["cases"] if c["name"] == case]
    assert len(cases) == 1
    c = cases[0]
    assert c["grade"] == grade, c
    assert want in c["reason"] + c["premise"], c


def test_expectation_fail_lines_quote_the_must_sentence():
    # tools/gen_expectations.py: a `fail` line gets the MUST sentence of its rule
    # (quotes.md) unless its reason already quotes one; other grades are left alone.
    import io, sys
    sys.path.insert(0, str(ROOT / "tools"))
    import gen_expectations as ge
    base = {"file": "x.scn", "line": 1, "sut": "server", "expect": "rule", "verdict": "fail",
            "actual": "handshake", "reason": "", "observed": "", "peer_log": ""}
    run_ = {"peer_version": "p", "cases": [
        dict(base, name="a", rules=["CH-COMPRESSION"], grade="fail", expected="illegal_parameter"),
        dict(base, name="b", rules=["COOKIE-EMPTY"], grade="fail", expected="decode_error"),
        dict(base, name="c", rules=["CH-COMPRESSION"], grade="alert-differs", verdict="alert-differs",
             actual="alert decode_error", expected="illegal_parameter"),
        dict(base, name="d", rules=["CH-COMPRESSION"], grade="fail", expected="illegal_parameter")]}
    old = {"a": ("none", "real deviation: accepts it"), "b": ("none", "real deviation: takes an empty cookie"),
           "c": ("decode_error", "another alert"), "d": ("none", 'quoted: "it MUST do so"')}
    out = io.StringIO()
    ge.draft("x", run_, old, out)
    lines = {l.split()[0]: l for l in out.getvalue().splitlines() if not l.startswith("#")}
    q = ge.rule_quotes()
    assert 'RFC 8446 %s: "%s"' % q["CH-COMPRESSION"] in lines["a"] and "MUST" in q["CH-COMPRESSION"][1]
    assert 'RFC 8446 %s: "%s"' % q["GEN-DECODE"] in lines["b"]  # COOKIE-EMPTY's own quote is a struct
    assert lines["c"].rstrip().endswith("another alert")
    assert lines["d"].rstrip().endswith('quoted: "it MUST do so"')


# ---- a slow SUT and a stalled one: what comes only after our close_notify ----

class _Relay:
    """A 127.0.0.1 relay between our side (the client) and the engine as server
    SUT (`tlsdrill serve`), counting our encrypted records (content type 23):
    the first is our Finished, the second the close_notify our side sends once
    the quiet time after its Finished is over.
      late:  what the SUT sends after our Finished is held back until our
             close_notify has gone through: a SUT that answers too slowly.
      stall: our Finished is dropped, so the SUT keeps waiting for it in
             silence; our close_notify reaches it in its place and fails to
             decrypt under the handshake keys it still expects: a SUT stuck in
             the handshake (as one that believed a message longer than it was)."""

    def __init__(self, upstream, mode):
        import socket, threading
        self.upstream, self.mode = upstream, mode
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(120)
        self.port = self.sock.getsockname()[1]
        self.socks, self.threads = [], []
        self.held_bytes = 0  # what the late mode held back, in all
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self.threads.append(t)

    def _accept(self):
        import socket, threading
        try:
            while True:
                c, _ = self.sock.accept()
                s = socket.create_connection(("127.0.0.1", self.upstream), timeout=120)
                self.socks += [c, s]
                st = {"lock": threading.Lock(), "hold": False, "held": b"", "eof": False}
                for f in (self._ours_to_sut, self._sut_to_ours):
                    t = threading.Thread(target=f, args=(c, s, st), daemon=True)
                    t.start()
                    self.threads.append(t)
        except OSError:
            pass

    def _ours_to_sut(self, c, s, st):
        import socket
        buf, enc = b"", 0
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    break
                buf += d
                while len(buf) >= 5 and len(buf) >= 5 + int.from_bytes(buf[3:5], "big"):
                    n = 5 + int.from_bytes(buf[3:5], "big")
                    rec, buf = buf[:n], buf[n:]
                    enc += rec[0] == 23
                    if rec[0] == 23 and enc == 1:
                        if self.mode == "stall":
                            continue  # our Finished never reaches the SUT
                        with st["lock"]:
                            st["hold"] = True  # before the SUT can answer it
                    s.sendall(rec)
                    if rec[0] == 23 and enc == 2 and self.mode == "late":
                        with st["lock"]:
                            st["hold"] = False
                            self.held_bytes += len(st["held"])
                            c.sendall(st["held"])
                            if st["eof"]:
                                c.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def _sut_to_ours(self, c, s, st):
        import socket
        try:
            while True:
                d = s.recv(65536)
                with st["lock"]:
                    if not d:
                        st["eof"] = True
                        if not st["hold"]:
                            c.shutdown(socket.SHUT_WR)
                        return
                    if st["hold"]:
                        st["held"] += d
                    else:
                        c.sendall(d)
        except OSError:
            pass

    def close(self):
        self.sock.close()
        for x in self.socks:
            x.close()
        for t in self.threads:
            t.join(timeout=5)


@pytest.fixture
def engine_server(tlsdrill):
    """`tlsdrill serve` (the engine as server SUT) on a free port; its port.
    Waits far longer than the run's quiet time: a loaded machine must not turn
    its patience into a verdict."""
    import re, subprocess
    srv = subprocess.Popen([str(tlsdrill), "serve", "--port", "0", "--seed", "slow", "--timeout", "60s",
                            "--handshake-timeout", "120s", "--conn-timeout", "120s", "--lifetime", "300s",
                            "--quiet"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", srv.stdout.readline())
        assert m, "tlsdrill serve did not say its port"
        yield int(m.group(1))
    finally:
        srv.terminate()
        srv.wait(timeout=10)


# FIN-BAD (RFC 8446 4.4.4): our client's Finished does not verify; the engine
# as server refuses it with decrypt_error, right away.
SLOW_CASE = "server-sees-bad-finished"


def _through_relay(tlsdrill, tmp_path, port, mode):
    relay = _Relay(port, mode) if mode else None
    try:
        r, cases = run_json(tlsdrill, tmp_path, mode or "direct", "--peer",
                            "tcp:127.0.0.1:%d" % (relay.port if relay else port), "--filter", SLOW_CASE,
                            "--timeout", "20s")
    finally:
        if relay:
            relay.close()
    assert set(cases) == {SLOW_CASE}, r.stdout
    return r, cases[SLOW_CASE], relay


def test_late_alert_is_the_refusal(tlsdrill, tmp_path, engine_server):
    # Directly: the refusal (normally in the quiet time after our Finished;
    # on a loaded machine it may come later, which is what this test grades).
    r, c, _ = _through_relay(tlsdrill, tmp_path, engine_server, None)
    assert (c["grade"], c["actual"]) == ("pass", "alert decrypt_error"), c
    # Held back until our close_notify went out: the SUT's decrypt_error
    # answers our Finished, not the close_notify (which, had the SUT missed
    # the key change, it would have failed to decrypt: bad_record_mac). The
    # refusal counts, late, and the reason says so.
    r, c, relay = _through_relay(tlsdrill, tmp_path, engine_server, "late")
    assert relay.held_bytes > 0
    assert r.returncode == 0, r.stdout
    assert (c["grade"], c["actual"]) == ("pass", "alert decrypt_error"), c
    assert "we-closed" in c["observed"].split() and "end=alert" in c["observed"], c["observed"]
    assert "its alert came only after our close_notify" in c["reason"] and "slow SUT" in c["reason"], c


def test_stall_answered_with_bad_record_mac_is_a_stall(tlsdrill, tmp_path, engine_server):
    # The SUT never saw our Finished: silent through the quiet time, it then
    # fails on our close_notify with bad_record_mac. That alert refuses nothing
    # the case did: a stall, a fail under FIN-BAD's MUST (not alert-differs,
    # which it would be as a refusal with another alert).
    r, c, _ = _through_relay(tlsdrill, tmp_path, engine_server, "stall")
    assert r.returncode == 1, r.stdout
    assert (c["grade"], c["actual"]) == ("fail", "stalled (never confirmed our Finished)"), c
    assert c["level"] == "MUST"
    assert "only answered our close_notify, with bad_record_mac" in c["reason"], c
    assert "we-closed" in c["observed"].split() and "end=alert" in c["observed"], c["observed"]


# ---- record_size_limit in EncryptedExtensions: solicited or not ----

def test_record_size_limit_in_ee_is_judged_after_the_offer(tlsdrill, tmp_path, baseline):
    # The engine as client SUT offers record_size_limit where a case's premise
    # asks for it: a value below 64 in our answer is RFC 8449 4's
    # illegal_parameter; one it never offered is unsolicited whatever the
    # value (RFC 8446 4.2: unsupported_extension), the value is never judged.
    for v in ("0000", "003f"):
        small = baseline["ee-record-size-limit-too-small[%s]" % v]
        assert (small["grade"], small["sut_rule"]) == ("pass", "GEN-ILLEGAL-PARAM"), small
        assert small["premise"] == "recognises record_size_limit: held"
    for v in ("4001", "0000", "003f"):
        c = baseline["ee-record-size-limit-unsolicited[%s]" % v]
        assert (c["grade"], c["actual"], c["sut_rule"]) == ("pass", "alert unsupported_extension", "EXT-UNSOLICITED"), c
    # A SUT that does not offer it: our answer holds no record_size_limit for
    # the case's edit to change, so the case tests nothing there (n/a), and an
    # unsolicited one is refused as such, the value below 64 included.
    r, cases = run_json(tlsdrill, tmp_path, "norsl", "--filter", "ee-record-size-limit", "--plant-drop-ext", "28")
    assert r.returncode == 0, r.stdout
    for v in ("0000", "003f"):
        c = cases["ee-record-size-limit-too-small[%s]" % v]
        assert c["grade"] == "n/a" and c["premise"] == "recognises record_size_limit: failed", c
        assert "does not offer record_size_limit" in c["reason"] and "nothing" not in c["actual"], c
    assert {n: (c["grade"], c["sut_rule"]) for n, c in cases.items() if "unsolicited" in n} == {
        "ee-record-size-limit-unsolicited[%s]" % v: ("pass", "EXT-UNSOLICITED") for v in ("4001", "0000", "003f")}


# ---- premise psk-accepted: a server that declines our PSK owed no binder check ----

DECLINED_SCN = """\
# An identity the engine server does not know: it declines the PSK and goes on
# with a full handshake (TOL-UNKNOWN-PSK), so the corrupt binder was never due.
scenario  declined
rule      PSK-BINDER-INVALID
{premise}
sut       server
resume    ticket
send      ClientHello
  psk_identity 0 raw 00112233
  binder corrupt
expect    rule

# The ticket it issued: it accepts the PSK only after the binder, which fails.
scenario  accepted
rule      PSK-BINDER-INVALID
{premise}
sut       server
resume    ticket
send      ClientHello
  binder corrupt
expect    rule
"""


def run_scn(tlsdrill, tmp_path, text, premise):
    """Runs the scenario |text| (its {premise} lines `premise PREMISE`, or none)
    against the engine: the run and its cases by name."""
    scn = tmp_path / "case.scn"
    scn.write_text(text.format(premise="premise   %s" % premise if premise else ""))
    out = tmp_path / "o.json"
    r = run([tlsdrill, "run", str(scn), "--json", str(out)], cwd=ROOT)
    return r, {c["name"]: c for c in json.loads(out.read_text())["cases"]}


@pytest.mark.parametrize("with_premise", [True, False])
def test_premise_psk_accepted(tlsdrill, tmp_path, with_premise):
    r, cases = run_scn(tlsdrill, tmp_path, DECLINED_SCN, "psk-accepted" if with_premise else None)
    # RFC 8446 4.2.11: "Prior to accepting PSK key establishment, the server
    # MUST validate the corresponding binder value" -- and a declined PSK was
    # never accepted (2.2: a server may "decline resumption and fall back to
    # a full handshake").
    d = cases["declined"]
    if with_premise:
        assert r.returncode == 0, r.stdout
        assert d["grade"] == "n/a" and d["premise"] == "psk-accepted: failed", d
        assert "declined our PSK" in d["reason"] and "otherwise fail" in d["reason"], d
    else:
        assert r.returncode == 1 and d["grade"] == "fail", d
    # A server that refused before its ServerHello is judged as usual.
    a = cases["accepted"]
    assert a["grade"] == "pass", a
    if with_premise:
        assert a["premise"] == "psk-accepted: not checked (the SUT's message was not seen)", a


def test_wolfssl_declining_an_aged_ticket_is_not_a_binder_failure(tlsdrill, tmp_path):
    # wolfSSL 5.5.4 declines the ticket whose obfuscated age we edited and
    # completes a full handshake (Certificate and CertificateVerify in the
    # resumption): was graded fail ("accepts it and goes on") before the premise.
    out = tmp_path / "w.json"
    r = run([tlsdrill, "run", "scenarios/server/psk", "--peer", "wolfssl", "--filter",
             "psk-binder-stale-after-age-edit", "--json", str(out)], cwd=ROOT)
    cases = json.loads(out.read_text())["cases"]
    assert len(cases) == 1, r.stdout
    c = cases[0]
    assert c["grade"] == "n/a" and c["premise"] == "psk-accepted: failed", c


# Grades a review of every `fail` against the RFC text found false or doubtful
# (each row: what the SUT did, and the sentence that decides it). The first
# rows are the controls: the same premises where they hold.
@pytest.mark.parametrize("peer,case,grade,want", [
    # RFC 8446 4.4.2: client entry extensions "MUST correspond to extensions in the
    # CertificateRequest"; libssl's CertificateRequest asks for no SCT: still a fail.
    ("openssl", "server-client-entry-ext-unsolicited[signed_certificate_timestamp]", "fail",
     "not-requested signed_certificate_timestamp: held"),
    ("openssl", "ed-accepted", "pass", "early-data-accepted: held"),
    # 4.2 binds "an extension which it recognizes"; 4.1.2: "Servers MUST ignore
    # unrecognized extensions". libssl reads a ClientHello cookie only in its
    # stateless mode; neither libssl nor GnuTLS implements oid_filters or (GnuTLS)
    # signature_algorithms_cert.
    ("openssl", "ch-wrong-message-ext", "n/a", "recognises oid_filters: failed"),
    ("openssl", "ch-malformed-cookie[00]", "n/a", "recognises cookie: failed"),
    ("gnutls-lib", "ch-malformed-signature-algorithms-cert[0000]", "n/a",
     "recognises signature_algorithms_cert: failed"),
    # 4.2.11: the ticket keeps its own binder; the list's shape binds the client.
    ("openssl", "psk-binders-fewer[00]", "advisory", "sender-only"),
    ("openssl", "psk-binders-more[32]", "advisory", "sender-only"),
    # ... and where the selected ticket has no binder at all, libssl refuses.
    ("openssl", "psk-binder-missing-for-ticket", "alert-differs", "decode_error"),
    # 5.1 forbids sending a zero-length plaintext fragment; 5.4's receiver MUST
    # is about protected records.
    ("openssl", "rec-zero-length-handshake", "advisory", "sender-only"),
    # 4.2.9 / 4.2.11: a client that also offers psk_ke may read a ServerHello
    # without key_share as psk_ke.
    ("gnutls-lib", "psk-sh-keyshare-required", "n/a", "psk-dhe-ke-only: failed"),
    ("wolfssl", "psk-sh-keyshare-required", "n/a", "psk-dhe-ke-only: failed"),
    # 4.2.10: a server may reject 0-RTT (GnuTLS in process does: ticket age).
    ("gnutls-lib", "ed-accepted", "n/a", "early-data-accepted: failed"),
    # A protected record of an alert's length that does not authenticate: the
    # client refusing with an alert we cannot read (wolfSSL gives no key log).
    ("wolfssl", "sh-ec-invalid-point[04:00*64]", "alert-differs", "could not read"),
    # 5.2: the whole oversized record is sent; wolfSSL used to wait for the rest.
    ("wolfssl", "rec-ciphertext-overflow[4101]", "pass", ""),
    # 6: a warning-level error alert "MUST be treated as error alerts when received
    # regardless of the AlertLevel"; GnuTLS returns it as non-fatal and, like
    # gnutls-cli, our adapter goes on (it used to stop there: a pass).
    ("gnutls-lib", "alert-client-warning-level-error[28]", "fail", "got handshake"),
])
def test_audited_grades(tlsdrill, tmp_path, peer, case, grade, want):
    out = tmp_path / "o.json"
    run([tlsdrill, "run", "scenarios", "--peer", peer, "--filter", case, "--json", out], cwd=ROOT)
    cases = [c for c in json.loads(out.read_text())["cases"] if c["name"] == case]
    assert len(cases) == 1, case
    c = cases[0]
    assert c["grade"] == grade, c
    assert want in c["reason"] + c["premise"] + c.get("level", ""), c


HRR_SCN = """\
# Our HRR names the group the client already sent a share for (the bug knob):
# the engine client rightly refuses it (RFC 8446 4.2.8).
scenario  our-bad-hrr
{premise}
sut       client
server    hrr always
bug       hrr_offered_share_group
expect    handshake

# An ordinary HRR for a group the client did not share: the premise holds.
scenario  our-good-hrr
{premise}
sut       client
server    hrr always
server    groups secp384r1 x25519
expect    handshake
"""


@pytest.mark.parametrize("with_premise", [True, False])
def test_premise_hrr_group_not_shared(tlsdrill, tmp_path, with_premise):
    r, cases = run_scn(tlsdrill, tmp_path, HRR_SCN, "hrr-group-not-shared" if with_premise else None)
    bad, good = cases["our-bad-hrr"], cases["our-good-hrr"]
    assert good["grade"] == "pass", good
    if with_premise:
        assert r.returncode == 0, r.stdout
        assert bad["grade"] == "n/a" and bad["premise"] == "hrr-group-not-shared: failed", bad
        assert "our HRR is the one at fault" in bad["reason"], bad
        assert good["premise"] == "hrr-group-not-shared: held", good
    else:
        # The baseline alone blames the client for refusing our illegal HRR.
        assert r.returncode == 1 and bad["grade"] == "fail", bad
