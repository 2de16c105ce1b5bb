"""The engine on the network against real TLS stacks (issue 5).

`tlsdrill serve` answers `openssl s_client -tls1_3` and `gnutls-cli`;
`tlsdrill connect` completes against `openssl s_server -tls1_3` and
`gnutls-serv`; peers that hang or talk garbage get a verdict within the
timeout; the pcap + key log are decoded by tshark down to the encrypted
handshake messages.

Every process listens on 127.0.0.1 (gnutls-serv cannot be told: it binds
every interface, so its port comes from the test range and we connect to
127.0.0.1 only), has a bounded lifetime, and is stopped by PID in a finally
block. A test skips only when the peer binary is absent."""
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from conftest import ROOT, run

sys.path.insert(0, str(ROOT / "tools"))
import netports  # noqa: E402 (tools/netports.py)

CERTS = ROOT / "tests" / "vectors" / "certs"
SNI = "server.tlsdrill.test"
PORT_RANGE = (21000, 28999)


def need(binary):
    path = shutil.which(binary)
    if path is None:
        pytest.skip("%s not installed (tools/setup.sh installs it)" % binary)
    return path


def free_port():
    """A port of the test range free on every interface (gnutls-serv binds them all)."""
    return netports.free_port(PORT_RANGE)


def stop(proc):
    """Stops one process we started, by PID; returns its output."""
    netports.stop(proc)
    out = proc.stdout.read() if proc.stdout and not proc.stdout.closed else b""
    return out.decode(errors="replace")


def read_until(proc, pattern, timeout):
    """Reads proc.stdout until |pattern| (bytes regex) matches; returns all read."""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    buf = b""
    end = time.monotonic() + timeout
    try:
        while not re.search(pattern, buf):
            left = end - time.monotonic()
            if left <= 0 or not sel.select(left):
                break
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
    finally:
        sel.unregister(proc.stdout)
    return buf


def wait_port(port, timeout=5.0):
    if not netports.wait_port(port, timeout):
        raise AssertionError("nothing listens on 127.0.0.1:%d" % port)


class Serve:
    """`tlsdrill serve` on 127.0.0.1, port chosen by the kernel, bounded lifetime."""

    def __init__(self, tlsdrill, *args, conns=1, lifetime=20):
        cmd = [str(tlsdrill), "serve", "--port", "0", "--max-conns", str(conns), "--lifetime", str(lifetime),
               "--timeout", "3"] + [str(a) for a in args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        first = read_until(self.proc, rb"listening on 127\.0\.0\.1:(\d+)\n", 10)
        m = re.search(rb"listening on 127\.0\.0\.1:(\d+)\n", first)
        if m is None:
            stop(self.proc)
            raise AssertionError("serve did not start: %r" % first)
        self.port = int(m.group(1))
        self.out = first.decode()

    def finish(self, timeout=10):
        """Waits for the server to exit (max-conns reached); returns its per-connection lines."""
        try:
            rest, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            rest = stop(self.proc).encode()
        self.out += rest.decode(errors="replace")
        return [l for l in self.out.splitlines() if l.startswith("conn=")]

    def stop(self):
        self.out += stop(self.proc)


def fields(line):
    return dict(kv.split("=", 1) for kv in line.split() if "=" in kv and not kv.startswith("why="))


def interact(cmd, data, expect, timeout=8, steps=()):
    """Runs a client that reads stdin: writes |data|, waits for |expect| on its
    output (the echo), then the same for each (data, expect) of |steps|,
    then closes stdin and collects the rest."""
    proc = subprocess.Popen([str(c) for c in cmd], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        out = b""
        for d, e in ((data, expect),) + tuple(steps):
            proc.stdin.write(d)
            proc.stdin.flush()
            out += read_until(proc, e, timeout)
        proc.stdin.close()
        out += read_until(proc, rb"(?!)", timeout)  # to EOF
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            out += stop(proc).encode()
        return proc.returncode, out.decode(errors="replace")
    finally:
        if proc.poll() is None:
            stop(proc)


def s_client(port, *extra):
    return [need("openssl"), "s_client", "-connect", "127.0.0.1:%d" % port, "-tls1_3", "-CAfile",
            CERTS / "ca.pem", "-servername", SNI] + list(extra)


# ---- openssl s_client and gnutls-cli against tlsdrill serve ----

S_CLIENT_CASES = {
    "basic": ([], [], {"hrr": "no", "group": "x25519", "sigalg": "ecdsa_secp256r1_sha256"}),
    # s_client shares x25519 only: a P-256-only server must send a HelloRetryRequest.
    "hrr": (["--groups", "P-256"], [], {"hrr": "yes", "group": "secp256r1"}),
    "hrr-cookie": (["--hrr", "--cookie"], [], {"hrr": "yes"}),
    "client-auth": (["--client-auth", "require"],
                    ["-cert", CERTS / "client-p256.pem", "-key", CERTS / "client-p256.key"],
                    {"client_auth": "yes"}),
    "alpn": (["--alpn", "h2,http/1.1"], ["-alpn", "http/1.1"], {"alpn": "http/1.1"}),
    "rsa-pss": (["--cert", "rsa"], [], {"sigalg": "rsa_pss_rsae_sha256"}),
    "ed25519": (["--cert", "ed25519"], [], {"sigalg": "ed25519"}),
    "chacha": ([], ["-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"], {"suite": "TLS_CHACHA20_POLY1305_SHA256"}),
    # RFC 8446 4.6.2: serve asks once the handshake is done; s_client answers.
    "post-handshake-auth": (["--post-handshake-auth", "require"],
                            ["-enable_pha", "-cert", CERTS / "client-p256.pem", "-key", CERTS / "client-p256.key"],
                            {"client_auth": "yes", "pha": "1"}),
}


@pytest.mark.parametrize("case", sorted(S_CLIENT_CASES))
def test_s_client_against_serve(tlsdrill, case):
    sargs, cargs, want = S_CLIENT_CASES[case]
    srv = Serve(tlsdrill, *sargs)
    try:
        rc, out = interact(s_client(srv.port, *cargs), b"hello tlsdrill\n", rb"hello tlsdrill")
        lines = srv.finish()
    finally:
        srv.stop()
    assert rc == 0, out
    assert "Verify return code: 0 (ok)" in out and "TLSv1.3" in out, out
    assert "hello tlsdrill" in out, out  # our echo
    assert len(lines) == 1, srv.out
    f = fields(lines[0])
    assert f["verdict"] == "ok" and f["alert_sent"] == "-", lines[0]
    for k, v in want.items():
        assert f[k] == v, (k, lines[0])


def test_s_client_require_without_certificate(tlsdrill):
    srv = Serve(tlsdrill, "--client-auth", "require")
    try:
        rc, out = interact(s_client(srv.port), b"x\n", rb"alert", timeout=5)
        lines = srv.finish()
    finally:
        srv.stop()
    f = fields(lines[0])
    assert f["verdict"] == "alert" and f["alert_sent"] == "fatal:certificate_required", lines[0]
    assert f["rule"] == "CT-CLIENT-EMPTY"
    assert "certificate required" in out, out


def test_s_client_resumption_and_early_data(tlsdrill, tmp_path):
    sess, early = tmp_path / "sess.pem", tmp_path / "early.txt"
    early.write_bytes(b"early hello\n")
    srv = Serve(tlsdrill, "--tickets", "2", "--early-data", "1024", conns=3)
    try:
        rc1, out1 = interact(s_client(srv.port, "-sess_out", sess), b"one\n", rb"one\n")
        rc2, out2 = interact(s_client(srv.port, "-sess_in", sess), b"two\n", rb"two\n")
        rc3, out3 = interact(s_client(srv.port, "-sess_in", sess, "-early_data", early), b"", rb"early hello")
        lines = srv.finish()
    finally:
        srv.stop()
    assert rc1 == rc2 == rc3 == 0, (out1, out2, out3)
    assert "New, TLSv1.3" in out1
    assert "Reused, TLSv1.3" in out2, out2
    assert "Reused, TLSv1.3" in out3 and "Early data was accepted" in out3, out3
    assert "early hello" in out3  # 0-RTT data echoed
    f = [fields(l) for l in lines]
    assert [x["verdict"] for x in f] == ["ok", "ok", "ok"], lines
    assert [x["resumed"] for x in f] == ["no", "yes", "yes"], lines
    assert f[2]["early_data"] == "yes", lines


def test_s_client_key_update_and_hrr_rejecting_early_data(tlsdrill, tmp_path):
    """s_client's KeyUpdate (K: update_requested, k: not) mid-stream; then a
    resumption whose 0-RTT must be rejected because the server (P-256 only)
    answers the x25519 share with a HelloRetryRequest (RFC 8446 §4.2.10):
    the server skips the early data and the connection still completes."""
    sess, early = tmp_path / "sess.pem", tmp_path / "early.txt"
    early.write_bytes(b"too early\n")
    srv = Serve(tlsdrill, "--groups", "P-256", "--early-data", "1024", conns=2)
    try:
        rc1, out1 = interact(s_client(srv.port, "-groups", "P-256", "-sess_out", sess), b"one\n", rb"one\n",
                             steps=((b"K\n", rb"KEYUPDATE"), (b"two\n", rb"two\n"), (b"k\n", rb"KEYUPDATE"),
                                    (b"three\n", rb"three\n")))
        rc2, out2 = interact(s_client(srv.port, "-groups", "X25519:P-256", "-sess_in", sess, "-early_data", early),
                             b"four\n", rb"four\n")
        lines = srv.finish()
    finally:
        srv.stop()
    assert rc1 == 0 and rc2 == 0, (out1, out2)
    assert all(w in out1 for w in ("one", "two", "three")), out1
    assert "Reused, TLSv1.3" in out2 and "Early data was rejected" in out2, out2
    f = [fields(l) for l in lines]
    assert [x["verdict"] for x in f] == ["ok", "ok"], srv.out
    assert f[1]["hrr"] == "yes" and f[1]["resumed"] == "yes" and f[1]["early_data"] == "no", lines[1]


def gnutls_cli(port, *extra):
    return [need("gnutls-cli"), "-p", str(port), "--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.3", "--x509cafile",
            CERTS / "ca.pem", "--sni-hostname", SNI, "--verify-hostname", SNI] + list(extra) + ["127.0.0.1"]


@pytest.mark.parametrize("case", ["basic", "rsa-alpn", "resume", "client-auth-chacha"])
def test_gnutls_cli_against_serve(tlsdrill, case, tmp_path):
    early = tmp_path / "early.txt"
    early.write_bytes(b"early gnutls\n")
    sargs, cargs, conns = {
        "basic": ([], [], 1),
        "rsa-alpn": (["--cert", "rsa", "--alpn", "h2"], ["--alpn", "h2"], 1),
        "resume": (["--early-data", "1024"], ["--resume", "--earlydata=%s" % early], 2),
        "client-auth-chacha": (["--client-auth", "require"],
                               ["--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+CHACHA20-POLY1305",
                                "--x509certfile", CERTS / "client-p256.chain.pem",
                                "--x509keyfile", CERTS / "client-p256.key"], 1),
    }[case]
    srv = Serve(tlsdrill, *sargs, conns=conns)
    try:
        rc, out = interact(gnutls_cli(srv.port, *cargs), b"hello gnutls\n", rb"hello gnutls\n")
        lines = srv.finish()
    finally:
        srv.stop()
    assert rc == 0, out
    assert "The certificate is trusted" in out and "TLS1.3" in out, out
    assert "hello gnutls" in out, out
    f = [fields(l) for l in lines]
    assert len(f) == conns and all(x["verdict"] == "ok" for x in f), srv.out
    if case == "rsa-alpn":
        assert f[0]["alpn"] == "h2" and f[0]["sigalg"] == "rsa_pss_rsae_sha256"
    if case == "resume":
        assert f[1]["resumed"] == "yes" and "This is a resumed session" in out, out
        assert f[1]["early_data"] == "yes" and "early gnutls" in out, (srv.out, out)
    if case == "client-auth-chacha":
        assert f[0]["client_auth"] == "yes" and f[0]["suite"] == "TLS_CHACHA20_POLY1305_SHA256", lines


# ---- tlsdrill connect against openssl s_server and gnutls-serv ----

class Peer:
    """A real server on a port of the test range; stdin kept open (s_server ends on EOF)."""

    def __init__(self, cmd, port):
        self.port = port
        self.proc = subprocess.Popen([str(c) for c in cmd], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        try:
            wait_port(port)
        except AssertionError:
            self.stop()
            raise

    def stop(self):
        if self.proc.stdin:
            self.proc.stdin.close()
        return stop(self.proc)


def s_server(port, *extra, accepts=1):
    # The probe of wait_port is one accept too: -naccept counts it.
    return [need("openssl"), "s_server", "-accept", "127.0.0.1:%d" % port, "-tls1_3", "-cert",
            CERTS / "server-p256.pem", "-key", CERTS / "server-p256.key", "-naccept", str(accepts + 1)] + list(extra)


def connect(tlsdrill, port, *args, timeout=30):
    return run([tlsdrill, "connect", "127.0.0.1:%d" % port, "--sni", SNI, "--timeout", "5"] + list(args),
               timeout=timeout)


def verdicts(out):
    return [fields(l) for l in out.splitlines() if l.startswith("verdict=")]


S_SERVER_CASES = {
    "basic-echo": (["-rev"], ["--send", "hello\n"], {"hrr": "no"}),
    # We share x25519 first; an s_server limited to P-256 answers with an HRR.
    "hrr": (["-groups", "P-256"], [], {"hrr": "yes", "group": "secp256r1"}),
    "alpn": (["-alpn", "h2"], ["--alpn", "h2,http/1.1"], {"alpn": "h2"}),
    "aes256": (["-ciphersuites", "TLS_AES_256_GCM_SHA384"], [], {"suite": "TLS_AES_256_GCM_SHA384"}),
}


@pytest.mark.parametrize("case", sorted(S_SERVER_CASES))
def test_connect_against_s_server(tlsdrill, case):
    sargs, cargs, want = S_SERVER_CASES[case]
    port = free_port()
    peer = Peer(s_server(port, *sargs), port)
    try:
        r = connect(tlsdrill, port, *cargs)
    finally:
        peer.stop()
    assert r.returncode == 0, r.stdout + r.stderr
    v = verdicts(r.stdout)
    assert len(v) == 1 and v[0]["verdict"] == "ok", r.stdout
    for k, val in want.items():
        assert v[0][k] == val, (k, r.stdout)
    for msg in ("> client_hello", "< server_hello", "< encrypted_extensions", "< certificate ", "< finished",
                "> finished"):
        assert msg in r.stdout, r.stdout
    if case == "basic-echo":
        assert 'application data (6 bytes): "olleh\\x0a"' in r.stdout, r.stdout


def test_connect_post_handshake_auth_against_s_server(tlsdrill):
    """RFC 8446 4.6.2: s_server's `c` command sends a CertificateRequest
    after the handshake; connect --post-handshake-auth answers with --cert."""
    port = free_port()
    peer = Peer(s_server(port, "-CAfile", CERTS / "ca.pem"), port)
    proc = subprocess.Popen([str(tlsdrill), "connect", "127.0.0.1:%d" % port, "--sni", SNI, "--timeout", "8",
                             "--post-handshake-auth", "--cert", CERTS / "client-p256.chain.pem", "--key",
                             CERTS / "client-p256.key"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        read_until(peer.proc, rb"CIPHER is", 10)
        peer.proc.stdin.write(b"c\n")
        peer.proc.stdin.flush()
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            stop(proc)
        peer.stop()
    out = out.decode(errors="replace")
    v = verdicts(out)
    assert len(v) == 1 and v[0]["verdict"] == "ok", out
    assert v[0]["pha"] == "1" and v[0]["client_auth"] == "yes", out
    assert "< certificate_request" in out and "> certificate_verify" in out, out


def test_connect_resumption_and_early_data_against_s_server(tlsdrill):
    port = free_port()
    peer = Peer(s_server(port, "-early_data", accepts=2), port)
    try:
        r = connect(tlsdrill, port, "--resume", "--early-data", "early bytes")
    finally:
        out = peer.stop()
    assert r.returncode == 0, r.stdout + r.stderr
    v = verdicts(r.stdout)
    assert [x["verdict"] for x in v] == ["ok", "ok"], r.stdout
    assert v[1]["resumed"] == "yes" and v[1]["early_data"] == "yes", r.stdout
    assert "> end_of_early_data" in r.stdout
    assert "early bytes" in out, out  # s_server printed our 0-RTT data


def gnutls_serv(port, *extra, cert="server-p256"):
    return [need("gnutls-serv"), "-p", str(port), "--echo", "--x509certfile", CERTS / ("%s.chain.pem" % cert),
            "--x509keyfile", CERTS / ("%s.key" % cert)] + list(extra)


@pytest.mark.parametrize("case", ["echo-resume", "hrr-rsa", "early-data", "cert-required"])
def test_connect_against_gnutls_serv(tlsdrill, case):
    port = free_port()
    if case == "echo-resume":
        cmd, args = gnutls_serv(port), ["--send", "ping\n", "--resume"]
    elif case == "early-data":
        cmd, args = gnutls_serv(port, "--earlydata", "--maxearlydata", "1000"), ["--resume", "--early-data", "zero"]
    elif case == "cert-required":
        cmd, args = gnutls_serv(port, "-r", "--x509cafile", CERTS / "ca.pem"), []
    else:
        cmd = gnutls_serv(port, "--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.3:-GROUP-ALL:+GROUP-SECP256R1",
                          cert="server-rsa2048")
        args = []
    peer = Peer(cmd, port)
    try:
        r = connect(tlsdrill, port, *args)
    finally:
        peer.stop()
    v = verdicts(r.stdout)
    if case == "cert-required":
        # Our client has no certificate: after our Finished, gnutls-serv -r
        # refuses the empty Certificate. The handshake crossed, the verdict
        # is the alert.
        assert r.returncode == 1 and v[0]["verdict"] == "alert", r.stdout
        assert v[0]["alert_received"] == "fatal:certificate_required", r.stdout
        assert "> certificate (8 bytes)" in r.stdout, r.stdout
        return
    assert r.returncode == 0, r.stdout + r.stderr
    assert all(x["verdict"] == "ok" for x in v), r.stdout
    if case == "early-data":
        assert v[1]["resumed"] == "yes" and v[1]["early_data"] == "yes", r.stdout
    if case == "echo-resume":
        assert len(v) == 2 and v[1]["resumed"] == "yes", r.stdout
        assert 'application data (5 bytes): "ping\\x0a"' in r.stdout, r.stdout
        # gnutls-serv asks for a certificate; we answer with an empty one.
        assert "< certificate_request" in r.stdout
    if case == "hrr-rsa":
        assert v[0]["hrr"] == "yes" and v[0]["sigalg"] == "rsa_pss_rsae_sha256", r.stdout


# ---- peers that hang, close or talk garbage ----

class RawPeer:
    """A TCP listener on 127.0.0.1 that does |behave(conn)| with each client."""

    def __init__(self, behave, accepts=1):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.sock.settimeout(10)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.thread = threading.Thread(target=self._run, args=(behave, accepts), daemon=True)
        self.thread.start()

    def _run(self, behave, accepts):
        try:
            for _ in range(accepts):
                c, _ = self.sock.accept()
                self.conns.append(c)
                behave(c)
        except OSError:
            pass

    def close(self):
        for c in self.conns:
            c.close()
        self.sock.close()
        self.thread.join(timeout=5)


def test_connect_silent_peer_times_out(tlsdrill):
    peer = RawPeer(lambda c: None)
    try:
        t0 = time.monotonic()
        r = run([tlsdrill, "connect", "127.0.0.1:%d" % peer.port, "--timeout", "1"], timeout=10)
        elapsed = time.monotonic() - t0
    finally:
        peer.close()
    assert r.returncode == 1, r.stdout
    assert verdicts(r.stdout)[0]["verdict"] == "timeout", r.stdout
    assert elapsed < 3, elapsed


@pytest.mark.parametrize("reply,verdict", [(b"HTTP/1.1 400 Bad Request\r\n\r\n", "garbage"), (b"", "closed")])
def test_connect_garbage_or_closing_peer(tlsdrill, reply, verdict):
    def behave(c):
        c.recv(4096)
        c.sendall(reply)
        c.close()

    peer = RawPeer(behave)
    try:
        r = run([tlsdrill, "connect", "127.0.0.1:%d" % peer.port, "--timeout", "3"], timeout=10)
    finally:
        peer.close()
    assert r.returncode == 1, r.stdout
    assert verdicts(r.stdout)[0]["verdict"] == verdict, r.stdout


def test_serve_verdicts_for_bad_clients(tlsdrill):
    srv = Serve(tlsdrill, conns=3)
    try:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as c:
            c.sendall(b"GET / HTTP/1.0\r\n\r\n")
            c.recv(100)  # our alert, then EOF
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as c:
            t0 = time.monotonic()
            c.recv(100)  # silent: the server gives up after its --timeout (3 s)
            assert time.monotonic() - t0 < 5
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5):
            pass
        lines = srv.finish()
    finally:
        srv.stop()
    assert [fields(l)["verdict"] for l in lines] == ["garbage", "timeout", "closed"], srv.out
    assert fields(lines[0])["alert_sent"].startswith("fatal:"), lines[0]


def test_serve_sigterm_and_lifetime(tlsdrill):
    srv = Serve(tlsdrill, conns=0)
    try:
        os.kill(srv.proc.pid, signal.SIGTERM)
        srv.proc.wait(timeout=5)
    finally:
        srv.stop()
    assert srv.proc.returncode == 0
    assert "served 0 connections (signal)" in srv.out
    t0 = time.monotonic()
    r = run([tlsdrill, "serve", "--port", "0", "--lifetime", "0.5"], timeout=10)
    assert r.returncode == 0 and "(lifetime)" in r.stdout and time.monotonic() - t0 < 3


def test_connect_usage_errors(tlsdrill):
    assert run([tlsdrill, "connect"]).returncode == 2
    assert run([tlsdrill, "connect", "nohostport"]).returncode == 2
    assert run([tlsdrill, "connect", "127.0.0.1:1", "--groups", "nope"]).returncode == 2
    assert run([tlsdrill, "serve", "--cert", "dsa"]).returncode == 2


# ---- capture: tshark decodes the pcap with the key log ----

def tshark_types(pcap, keylog):
    r = run([need("tshark"), "-r", pcap, "-o", "tls.keylog_file:%s" % keylog, "-Y", "tls.handshake.type",
             "-T", "fields", "-e", "tls.handshake.type"], timeout=60)
    assert r.returncode == 0, r.stderr
    return [int(t) for line in r.stdout.split() for t in line.split(",")]


def test_pcap_and_keylog_decode_in_tshark(tlsdrill, tmp_path):
    need("tshark")
    spcap, skeys = tmp_path / "serve.pcap", tmp_path / "serve.keys"
    cpcap, ckeys = tmp_path / "connect.pcap", tmp_path / "connect.keys"
    srv = Serve(tlsdrill, "--pcap", spcap, "--keylog", skeys, conns=2)
    try:
        r = connect(tlsdrill, srv.port, "--resume", "--pcap", cpcap, "--keylog", ckeys)
        srv.finish()
    finally:
        srv.stop()
    assert r.returncode == 0, r.stdout
    for pcap, keys in ((cpcap, ckeys), (spcap, skeys)):
        types = tshark_types(pcap, keys)
        # Full handshake: ClientHello, ServerHello, then under handshake keys
        # EncryptedExtensions (8), Certificate (11), CertificateVerify (15),
        # Finished (20) both ways, NewSessionTicket (4) under application keys;
        # then the resumption: no Certificate.
        assert types == [1, 2, 8, 11, 15, 20, 20, 4, 1, 2, 8, 20, 20, 4], (pcap, types)
    # Without the keys only the clear ClientHello/ServerHello decode.
    r = run([need("tshark"), "-r", cpcap, "-Y", "tls.handshake.type", "-T", "fields", "-e", "tls.handshake.type"])
    assert [int(t) for t in r.stdout.split()] == [1, 2, 1, 2], r.stdout


# ---- client certificate for connect; serve configured from a scenario header ----

def test_connect_client_certificate_against_s_server(tlsdrill):
    port = free_port()
    peer = Peer(s_server(port, "-Verify", "1", "-verify_return_error", "-CAfile", CERTS / "ca.pem"), port)
    try:
        r = connect(tlsdrill, port, "--cert", CERTS / "client-p256.chain.pem", "--key", CERTS / "client-p256.key")
        r2 = run([tlsdrill, "connect", "127.0.0.1:%d" % port, "--cert", CERTS / "client-p256.chain.pem"])
    finally:
        peer.stop()
    assert r.returncode == 0, r.stdout + r.stderr
    v = verdicts(r.stdout)
    assert v[0]["verdict"] == "ok" and v[0]["client_auth"] == "yes", r.stdout
    assert "> certificate_verify" in r.stdout
    assert r2.returncode == 2 and "both the chain and the key" in r2.stderr


def test_serve_from_a_scenario_header(tlsdrill):
    """The server side of hrr-client-ok[secp384r1]: HRR always, groups secp384r1 x25519."""
    srv = Serve(tlsdrill, "--scenario", ROOT / "scenarios" / "client" / "hrr" / "hello-retry.scn", "--case",
                "hrr-client-ok[secp384r1]")
    try:
        rc, out = interact(s_client(srv.port, "-groups", "X25519:P-384"), b"hello\n", rb"hello")
        lines = srv.finish()
    finally:
        srv.stop()
    assert rc == 0, out
    assert "serving the server side of hrr-client-ok[secp384r1]" in srv.out
    f = fields(lines[0])
    assert f["verdict"] == "ok" and f["hrr"] == "yes" and f["group"] == "secp384r1", lines[0]
    bad = run([tlsdrill, "serve", "--scenario", ROOT / "scenarios" / "client" / "hrr" / "hello-retry.scn", "--case",
               "no-such-case"])
    assert bad.returncode == 2 and "no case named" in bad.stderr
