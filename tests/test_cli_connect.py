"""`tlsdrill connect` as a user meets it (issue 16): the server's certificate
must name the host we meant (the SNI, else the HOST dialled; RFC 6125 as
OpenSSL's X509_check_host applies it) unless a flag says otherwise, and
[IPv6]:PORT is accepted."""
import socket
import ssl
import threading

import pytest

from conftest import ROOT, run
from test_interop_net import Serve, verdicts

CERTS = ROOT / "tests" / "vectors" / "certs"
SNI = "server.tlsdrill.test"


def connect(tlsdrill, port, *args, host="127.0.0.1"):
    return run([tlsdrill, "connect", "%s:%d" % (host, port), "--timeout", "5s"] + [str(a) for a in args],
               timeout=30)


@pytest.mark.parametrize("args,ok", [
    (["--sni", SNI], True),
    (["--sni", "evil.example"], False),          # the case: verdict=ok before
    ([], False),                                  # no SNI: the address 127.0.0.1 is not in the certificate
    (["--sni", "evil.example", "--verify-name", SNI], True),
    (["--sni", "evil.example", "--no-verify-name"], True),
    (["--sni", "evil.example", "--no-verify"], True),
    (["--sni", "SERVER.TLSDRILL.TEST"], True),   # DNS names compare case-insensitively
])
def test_host_name_is_verified_by_default(tlsdrill, args, ok):
    srv = Serve(tlsdrill)
    try:
        r = connect(tlsdrill, srv.port, *args)
        srv.finish()
    finally:
        srv.stop()
    v = verdicts(r.stdout)[0]
    if ok:
        assert r.returncode == 0 and v["verdict"] == "ok", r.stdout
    else:
        assert r.returncode == 1, r.stdout
        assert v["verdict"] == "alert" and v["alert_sent"] == "fatal:bad_certificate", r.stdout
        assert v["rule"] == "CT-SERVER-CHAIN-UNACCEPTABLE"
        name = "evil.example" if args else "127.0.0.1"
        assert "the server's certificate does not name '%s' (RFC 6125)" % name in r.stdout


def test_ipv6_literal(tlsdrill):
    try:
        lsock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        lsock.bind(("::1", 0))
    except OSError as e:
        pytest.skip("no IPv6 loopback: %s" % e)
    lsock.listen(1)
    lsock.settimeout(20)
    port = lsock.getsockname()[1]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(str(CERTS / "server-p256.chain.pem"), str(CERTS / "server-p256.key"))

    def serve_one():
        try:
            c, _ = lsock.accept()
            with ctx.wrap_socket(c, server_side=True) as s:
                s.recv(1)
        except (OSError, ssl.SSLError):
            pass

    t = threading.Thread(target=serve_one, daemon=True)
    t.start()
    try:
        r = connect(tlsdrill, port, "--sni", SNI, host="[::1]")
    finally:
        t.join(timeout=10)
        lsock.close()
    assert "connection 1 to [::1]:%d" % port in r.stdout, r.stdout + r.stderr
    assert "Name or service not known" not in r.stdout
    assert verdicts(r.stdout)[0]["verdict"] == "ok", r.stdout
    assert r.returncode == 0


def test_bad_host_port_forms(tlsdrill):
    for target in ("::1:443", "[::1]443", "[::1]:", "host:0", "host:65536", "host:", ":443"):
        r = run([tlsdrill, "connect", target])
        assert r.returncode == 2, (target, r.stdout, r.stderr)
        assert "is not HOST:PORT" in r.stderr
