"""`tlsdrill serve` as a peer that third-party clients test against (issue 12).

Clients are Python's ssl module (OpenSSL underneath) on 127.0.0.1; every
serve process has a bounded lifetime and is stopped by PID."""
import re
import socket
import ssl

from conftest import ROOT
from test_interop_net import Serve

CERTS = ROOT / "tests" / "vectors" / "certs"
SNI = "server.tlsdrill.test"


def client_ctx():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(cafile=str(CERTS / "ca.pem"))
    return ctx


def tls_connect(port, ctx=None, timeout=10):
    ctx = ctx or client_ctx()
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return ctx.wrap_socket(raw, server_hostname=SNI)


class BioClient:
    """A TLS 1.3 client over memory BIOs on a blocking socket: what it does
    at the end is visible (a close_notify received or a bare TCP EOF)."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = client_ctx().wrap_bio(self.inc, self.out, server_hostname=SNI)
        self.eof = False

    def _pump(self, op):
        while True:
            try:
                ret = op()
                self._send()
                return ret
            except ssl.SSLWantReadError:
                self._send()
                data = self.sock.recv(65536)
                if not data:
                    self.eof = True
                    self.inc.write_eof()
                else:
                    self.inc.write(data)

    def _send(self):
        data = self.out.read()
        if data:
            self.sock.sendall(data)

    def handshake(self):
        self._pump(self.obj.do_handshake)

    def write(self, data):
        self._pump(lambda: self.obj.write(data))

    def read(self, n):
        return self._pump(lambda: self.obj.read(n))

    def unwrap(self):
        """Sends our close_notify and waits for the server's; returns True if
        it came before the TCP connection ended."""
        self._pump(self.obj.unwrap)
        return not self.eof

    def close(self):
        self.sock.close()


def test_serve_answers_close_notify(tlsdrill):
    """RFC 8446 6.1: each party MUST send a close_notify before closing its
    write side -- the server too when the client's close_notify came first."""
    srv = Serve(tlsdrill, "--quiet", conns=1)
    try:
        c = BioClient(srv.port)
        c.handshake()
        c.write(b"ping")
        assert c.read(4) == b"ping"
        assert c.unwrap(), "the server closed without a close_notify"
        c.close()
        lines = srv.finish()
    finally:
        srv.stop()
    assert len(lines) == 1, srv.out
    assert re.search(r"\bverdict=ok\b", lines[0]), lines[0]
