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


def pcapng_blocks(path):
    """(type, body) of each block of a little-endian pcapng file."""
    import struct
    b, out, off = path.read_bytes(), [], 0
    while off < len(b):
        btype, blen = struct.unpack("<II", b[off:off + 8])
        assert blen >= 12 and blen % 4 == 0 and off + blen <= len(b), (off, blen)
        assert struct.unpack("<I", b[off + blen - 4:off + blen])[0] == blen
        out.append((btype, b[off + 8:off + blen - 4]))
        off += blen
    return out


def test_pcapng_capture_of_connect_and_serve(tlsdrill, tmp_path):
    """connect/serve --pcap F.pcapng write pcapng (section header, raw-IP
    interface, enhanced packet blocks) with the keys in Decryption Secrets
    Blocks ahead of the packets they decrypt -- serve writes its file as it
    goes -- so tshark decrypts it alone, and dissect reads it; another name
    stays classic pcap."""
    import shutil
    sng, cng, cpcap = tmp_path / "s.pcapng", tmp_path / "c.pcapng", tmp_path / "c.pcap"
    srv = Serve(tlsdrill, "--quiet", "--pcap", sng, conns=2)
    try:
        a = connect(tlsdrill, srv.port, "--sni", SNI, "--send", "ping", "--pcap", cng)
        b = connect(tlsdrill, srv.port, "--sni", SNI, "--pcap", cpcap, "--keylog", tmp_path / "c.keys")
        srv.finish()
    finally:
        srv.stop()
    assert a.returncode == 0 and b.returncode == 0, a.stdout + b.stdout
    assert cpcap.read_bytes()[:4] == b"\xd4\xc3\xb2\xa1"  # classic, little-endian
    for path, conns in ((cng, 1), (sng, 2)):
        blocks = pcapng_blocks(path)
        types = [t for t, _ in blocks]
        assert types[:2] == [0x0A0D0D0A, 1], types
        assert blocks[1][1][:2] == b"\x65\x00"  # LINKTYPE_RAW
        assert set(types) == {0x0A0D0D0A, 1, 10, 6}, types
        secrets = b"".join(body[8:] for t, body in blocks if t == 10)
        assert secrets.count(b"SERVER_HANDSHAKE_TRAFFIC_SECRET ") == conns
        assert types.index(10) < types.index(6)
        d = run([tlsdrill, "dissect", path])
        assert d.returncode == 0, d.stderr
        assert "format=pcapng" in d.stdout and "secrets from the file's decryption secrets block" in d.stdout
        assert d.stdout.count("handshake type=encrypted_extensions (8)") == conns
        if shutil.which("tshark") is None:
            continue
        # One pass, no key log option: the embedded secrets decrypt every stream.
        t = run([shutil.which("tshark"), "-n", "-r", path, "-Y", "tls.handshake.type == 8", "-T",
                 "fields", "-e", "tcp.stream"])
        assert t.returncode == 0, t.stderr
        assert sorted(set(t.stdout.split())) == [str(i) for i in range(conns)], t.stdout
