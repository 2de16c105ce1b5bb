#!/usr/bin/env python3
"""Benchmark (not a test): `tlsdrill serve` against `openssl s_server` and
`gnutls-serv` in the same run -- full TLS 1.3 handshakes per second and the
p50/p99 latency of one handshake (TCP connect to handshake done) at 1, 16
and 128 concurrent clients.

Every server gets the same certificate (tests/vectors/certs/server-p256,
ecdsa_secp256r1_sha256), x25519, TLS_AES_128_GCM_SHA256 and the same client
load: Python ssl clients (OpenSSL underneath, no certificate verification,
so that the clients spend as little as they can) in several processes. The
servers take turns, round after round, so that the machine's noise falls on
all of them; each figure is the best round. Clients and servers share the
machine's cores: the absolute figures are the machine's, the ratios are what
to compare.

    tools/bench_serve.py [--build build/default] [--seconds 3] [--rounds 2]
                         [--concurrency 1,16,128] [--json FILE]

Every server listens on 127.0.0.1 except gnutls-serv, which cannot be told
(it binds every interface; its port comes from a high range), and each is
stopped by its PID when its turn ends."""
import argparse
import json
import multiprocessing as mp
import os
import pathlib
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time

import netports

ROOT = pathlib.Path(__file__).resolve().parent.parent
CERTS = ROOT / "tests" / "vectors" / "certs"


def free_port():
    return netports.free_port((30000, 39999))


def wait_port(port, timeout=10.0):
    return netports.wait_port(port, timeout)


def server_cmd(name, build, port):
    chain, key = CERTS / "server-p256.chain.pem", CERTS / "server-p256.key"
    if name == "tlsdrill":
        return [str(build / "tlsdrill"), "serve", "--port", str(port), "--quiet", "--lifetime",
                "3600", "--timeout", "30", "--max-active", "1024"]
    if name == "openssl":
        return ["openssl", "s_server", "-accept", "127.0.0.1:%d" % port, "-tls1_3", "-cert",
                str(chain), "-key", str(key), "-quiet", "-groups", "X25519"]
    if name == "gnutls":
        return ["gnutls-serv", "--port", str(port), "--x509certfile", str(chain),
                "--x509keyfile", str(key), "--priority",
                "NORMAL:-VERS-ALL:+VERS-TLS1.3:-GROUP-ALL:+GROUP-X25519", "--echo", "-q"]
    raise ValueError(name)


def client_worker(port, threads, seconds, out):
    """One client process: |threads| threads, each doing handshakes back to
    back until the time is up; puts its latencies (seconds) on |out|."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    lat, errors = [], [0]
    end = time.monotonic() + seconds
    lock = threading.Lock()

    def loop():
        mine = []
        while time.monotonic() < end:
            t0 = time.monotonic()
            try:
                raw = socket.create_connection(("127.0.0.1", port), timeout=30)
                s = ctx.wrap_socket(raw, server_hostname="server.tlsdrill.test")
                mine.append(time.monotonic() - t0)
                s.close()
            except OSError:
                with lock:
                    errors[0] += 1
        with lock:
            lat.extend(mine)

    ts = [threading.Thread(target=loop) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out.put((lat, errors[0]))


def measure(port, concurrency, seconds):
    procs = min(concurrency, max(1, (os.cpu_count() or 2) * 2))
    per = [concurrency // procs + (1 if i < concurrency % procs else 0) for i in range(procs)]
    q = mp.Queue()
    ps = [mp.Process(target=client_worker, args=(port, n, seconds, q)) for n in per if n > 0]
    t0 = time.monotonic()
    for p in ps:
        p.start()
    lat, errors = [], 0
    for _ in ps:
        l, e = q.get(timeout=seconds + 120)
        lat += l
        errors += e
    for p in ps:
        p.join(30)
    wall = time.monotonic() - t0
    lat.sort()
    pct = lambda f: lat[min(len(lat) - 1, int(f * len(lat)))] * 1000 if lat else float("nan")
    return {"handshakes": len(lat), "errors": errors, "per_s": len(lat) / wall,
            "p50_ms": pct(0.50), "p99_ms": pct(0.99)}


def run_server(name, build, concurrency, seconds):
    port = free_port()
    proc = subprocess.Popen(server_cmd(name, build, port), stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not wait_port(port):
            raise RuntimeError("%s did not start" % name)
        time.sleep(0.2)
        return measure(port, concurrency, seconds)
    finally:
        netports.stop(proc)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=str(ROOT / "build" / "default"))
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--concurrency", default="1,16,128")
    ap.add_argument("--json")
    a = ap.parse_args()
    build = pathlib.Path(a.build)
    servers = ["tlsdrill"] + [n for n, b in (("openssl", "openssl"), ("gnutls", "gnutls-serv"))
                              if shutil.which(b)]
    levels = [int(x) for x in a.concurrency.split(",")]
    best = {}
    for c in levels:
        for r in range(a.rounds):
            for name in servers:
                m = run_server(name, build, c, a.seconds)
                print("round %d c=%-4d %-9s %7.1f hs/s  p50 %7.2f ms  p99 %7.2f ms  (%d hs, %d "
                      "errors)" % (r + 1, c, name, m["per_s"], m["p50_ms"], m["p99_ms"],
                                   m["handshakes"], m["errors"]), flush=True)
                k = (name, c)
                if k not in best or m["per_s"] > best[k]["per_s"]:
                    best[k] = m
    print("\nbest round per server (load average at the end: %s)" %
          " ".join("%.2f" % x for x in os.getloadavg()))
    print("%-6s %-9s %9s %9s %9s %14s" % ("conc", "server", "hs/s", "p50 ms", "p99 ms",
                                          "tlsdrill/this"))
    for c in levels:
        ours = best[("tlsdrill", c)]["per_s"]
        for name in servers:
            m = best[(name, c)]
            print("%-6d %-9s %9.1f %9.2f %9.2f %14.2f" % (c, name, m["per_s"], m["p50_ms"],
                                                         m["p99_ms"], ours / m["per_s"]))
    if a.json:
        pathlib.Path(a.json).write_text(json.dumps(
            {"%s@%d" % k: v for k, v in best.items()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
