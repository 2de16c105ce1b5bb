#!/usr/bin/env python3
"""tools/gen_scenario_corpus.py -- seed inputs from the scenario suite's transcripts.

Runs `tlsdrill run scenarios/server/ --pcap` (every case of the suite whose SUT
is a server: our client sends ClientHellos mutated the way the case says),
takes from each TCP stream of the capture the client's first flight (every
byte the client sent before the server's first byte) and writes the distinct
ones to DIR, one file each, named by their SHA-256. These are raw-record
inputs of the client_hello, client_hello_fm and differential targets.

  tools/gen_scenario_corpus.py DIR [--tlsdrill PATH] [--suite scenarios/server/]
  tools/fuzzctl merge --target client_hello DIR   # keep the coverage-increasing ones

The run is deterministic (seed 0), so DIR's files are the same on every
machine; the merge into corpus/<target>/ keeps only what adds coverage.
"""
import argparse, hashlib, os, struct, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINKTYPE_RAW = 101
CLIENT_PORT_BASE = 49152  # engine/transcript.c: stream N's client port


def streams(pcap):
    """{client port: [(from_client, payload), ...]} of a classic pcap of raw IPv4/TCP."""
    with open(pcap, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise ValueError("%s: not a pcap file (too short)" % pcap)
    magic = struct.unpack("<I", data[:4])[0]
    if magic != 0xA1B2C3D4:
        raise ValueError("%s: not a little-endian classic pcap" % pcap)
    if struct.unpack("<I", data[20:24])[0] != LINKTYPE_RAW:
        raise ValueError("%s: link type is not raw IP" % pcap)
    out = {}
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack("<I", data[off + 8:off + 12])[0]
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(pkt) < 20 or pkt[0] >> 4 != 4:
            continue
        ihl = (pkt[0] & 15) * 4
        tcp = pkt[ihl:]
        if len(tcp) < 20 or pkt[9] != 6:
            continue
        sport, dport = struct.unpack(">HH", tcp[:4])
        payload = tcp[(tcp[12] >> 4) * 4:]
        if not payload:
            continue
        from_client = sport >= CLIENT_PORT_BASE
        key = sport if from_client else dport
        out.setdefault(key, []).append((from_client, payload))
    return out


def first_flights(by_port):
    for port in sorted(by_port):
        flight = b""
        for from_client, payload in by_port[port]:
            if not from_client:
                break
            flight += payload
        if flight:
            yield flight


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", help="directory to write the inputs to (created)")
    ap.add_argument("--tlsdrill", default=os.path.join(ROOT, "build", "default", "tlsdrill"))
    ap.add_argument("--suite", default=os.path.join(ROOT, "scenarios", "server"))
    args = ap.parse_args()
    if not os.access(args.tlsdrill, os.X_OK):
        sys.exit("gen_scenario_corpus: %s: not built (cmake --build --preset default)" % args.tlsdrill)
    os.makedirs(args.out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        pcap = os.path.join(tmp, "suite.pcap")
        r = subprocess.run([args.tlsdrill, "run", args.suite, "--seed", "0", "--quiet",
                            "--pcap", pcap], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           text=True)
        if not os.path.exists(pcap):
            sys.exit("gen_scenario_corpus: tlsdrill run wrote no capture: %s" % r.stderr[-500:])
        seen = set()
        for flight in first_flights(streams(pcap)):
            digest = hashlib.sha256(flight).hexdigest()
            if digest in seen:
                continue
            seen.add(digest)
            with open(os.path.join(args.out, "scn-" + digest[:16]), "wb") as f:
                f.write(flight)
    print("gen_scenario_corpus: %d distinct first flights in %s" % (len(seen), args.out))


if __name__ == "__main__":
    main()
