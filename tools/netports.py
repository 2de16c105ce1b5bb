"""Loopback ports for servers we start, and stopping them: shared by tools/bench_serve.py and
tests/test_interop_net.py (gnutls-serv binds every interface, so a port must
be free on 0.0.0.0 as well as on 127.0.0.1)."""
import os
import random
import signal
import socket
import subprocess
import time


def free_port(port_range):
    """A port of |port_range| (lo, hi) free on every interface."""
    for _ in range(200):
        port = random.randint(*port_range)
        ok = True
        for addr in ("0.0.0.0", "127.0.0.1"):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                s.bind((addr, port))
            except OSError:
                ok = False
            finally:
                s.close()
        if ok:
            return port
    raise RuntimeError("no free port in %s" % (port_range,))


def wait_port(port, timeout):
    """True once something accepts on 127.0.0.1:|port|, False after |timeout| s."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def stop(proc):
    """Stops one process we started, by its PID (SIGTERM, then SIGKILL after 5 s)."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
