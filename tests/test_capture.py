"""`tlsdrill run --pcap F --keylog K`: every connection of every case as its
own TCP stream of one capture that tshark opens, reassembles and decrypts
with the key log; the bytes are the same on every run.

tshark is installed by tools/setup.sh (optional package); without it the
tshark checks skip, the rest still runs."""
import hashlib
import json
import shutil
import struct

import pytest

from conftest import ROOT, run

CASES = ROOT / "tests" / "capture"
NUM_CASES = 5
# cap-resumed and cap-binder-flipped make two connections each.
NUM_STREAMS = 7


def need_tshark():
    path = shutil.which("tshark")
    if path is None:
        pytest.skip("tshark is not installed (tools/setup.sh installs it)")
    return path


def capture(tlsdrill, tmp_path, peer="engine", tag="a"):
    pcap, keys, js = (tmp_path / ("%s.%s" % (tag, ext)) for ext in ("pcap", "keys", "json"))
    r = run([tlsdrill, "run", CASES, "--peer", peer, "--pcap", pcap, "--keylog", keys, "--json", js])
    assert r.returncode in (0, 1), r.stderr
    assert pcap.exists() and keys.exists(), r.stderr
    return pcap, keys, json.loads(js.read_text())


def tshark(pcap, keys, *args):
    cmd = [need_tshark(), "-n", "-r", pcap]
    if keys is not None:
        cmd += ["-o", "tls.keylog_file:%s" % keys]
    r = run(cmd + list(args))
    assert r.returncode == 0, r.stderr
    return [line.split("\t") for line in r.stdout.splitlines() if line.strip()]


def pcap_packets(path):
    """(ts_sec, ts_usec, data) of each packet of a little-endian classic pcap."""
    b = path.read_bytes()
    magic, _, _, _, _, _, linktype = struct.unpack("<IHHiIII", b[:24])
    assert magic == 0xA1B2C3D4 and linktype == 101
    out, off = [], 24
    while off < len(b):
        sec, usec, incl, orig = struct.unpack("<IIII", b[off:off + 16])
        assert incl == orig
        out.append((sec, usec, b[off + 16:off + 16 + incl]))
        off += 16 + incl
    assert off == len(b)
    return out


def test_capture_is_byte_identical_across_runs(tlsdrill, tmp_path):
    a = capture(tlsdrill, tmp_path, tag="a")
    b = capture(tlsdrill, tmp_path, tag="b")
    assert a[0].read_bytes() == b[0].read_bytes()
    assert a[1].read_bytes() == b[1].read_bytes()
    # Timestamps come from the stream index, not the clock: stream N starts
    # at 2024-01-01 00:00:00 + N s.
    starts = {}
    for sec, usec, data in pcap_packets(a[0]):
        sport = struct.unpack(">H", data[20:22])[0]
        port = sport if sport != 443 else struct.unpack(">H", data[22:24])[0]
        starts.setdefault(port, (sec, usec))
    assert sorted(starts) == [49152 + i for i in range(NUM_STREAMS)]
    for port, (sec, usec) in starts.items():
        assert (sec, usec) == (1704067200 + port - 49152, 0)


def test_json_names_the_streams_of_each_case(tlsdrill, tmp_path):
    _, _, js = capture(tlsdrill, tmp_path)
    streams = {c["name"]: c["streams"] for c in js["cases"]}
    assert len(streams) == NUM_CASES
    assert streams["cap-handshake"] == [0]
    assert streams["cap-resumed"] == [2, 3]
    flat = [s for v in streams.values() for s in v]
    assert flat == list(range(NUM_STREAMS))


@pytest.mark.parametrize("peer", ["engine", "openssl"])
def test_tshark_reassembles_and_decrypts(tlsdrill, tmp_path, peer):
    pcap, keys, js = capture(tlsdrill, tmp_path, peer=peer)
    streams = {c["name"]: c["streams"] for c in js["cases"]}
    # One TCP stream per connection, each opened by a SYN, no TCP anomalies
    # (lost segments, retransmissions, bad checksums would be flagged).
    syn = tshark(pcap, None, "-Y", "tcp.flags.syn==1 && tcp.flags.ack==0", "-T", "fields", "-e", "tcp.stream")
    assert sorted(int(s[0]) for s in syn) == list(range(len([s for v in streams.values() for s in v])))
    assert tshark(pcap, None, "-Y", "tcp.analysis.flags && !tcp.analysis.window_update") == []

    # Without the key log only the plaintext messages show.
    plain = tshark(pcap, None, "-Y", "tls.handshake.type", "-T", "fields", "-e", "tls.handshake.type")
    plain_types = {t for row in plain for t in row[0].split(",")}
    assert {"1", "2"} <= plain_types and not plain_types & {"8", "11", "20"}

    rows = tshark(pcap, keys, "-Y", "tls.handshake.type", "-T", "fields", "-e", "tcp.stream",
                  "-e", "tls.handshake.type")
    per_stream = {}
    for s, types in rows:
        per_stream.setdefault(int(s), set()).update(types.split(","))
    # EncryptedExtensions, Certificate, Finished decrypted in the full handshake.
    full = per_stream[streams["cap-handshake"][0]]
    assert {"1", "2", "8", "11", "15", "20"} <= full
    # The resumed connection: no Certificate, a pre_shared_key ServerHello.
    resumed = per_stream[streams["cap-resumed"][1]]
    assert {"1", "2", "8", "20"} <= resumed and "11" not in resumed
    # The first connection of cap-resumed received a NewSessionTicket (4).
    assert "4" in per_stream[streams["cap-resumed"][0]]

    # Each connection has its own client_random (the key log matches it).
    randoms = tshark(pcap, None, "-Y", "tls.handshake.type==1", "-T", "fields", "-e", "tcp.stream",
                     "-e", "tls.handshake.random")
    first = {}
    for s, r in randoms:
        first.setdefault(int(s), r)
    assert len(set(first.values())) == len(first)
    logged = keys.read_text()
    for s, r in first.items():
        if per_stream.get(s, set()) & {"8"}:
            assert r.replace(":", "") in logged

    if peer == "engine":
        # The SUT client's alert for the forbidden EncryptedExtensions
        # extension is encrypted; with the key log it is an alert.
        ee = streams["cap-ee-forbidden"][0]
        alerts = tshark(pcap, keys, "-Y", "tls.alert_message && tcp.stream==%d" % ee, "-T", "fields",
                        "-e", "tls.record.opaque_type", "-e", "tls.alert_message.desc")
        assert alerts == [["23", "47"]]  # illegal_parameter inside an application_data record
        none = tshark(pcap, None, "-Y", "tls.alert_message && tcp.stream==%d" % ee)
        assert none == []
    # The binder failure is a plaintext alert (the engine: decrypt_error;
    # OpenSSL 3.0 says illegal_parameter, a known deviation).
    bf = streams["cap-binder-flipped"][1]
    alerts = tshark(pcap, None, "-Y", "tls.alert_message && tcp.stream==%d" % bf, "-T", "fields",
                    "-e", "tls.alert_message.desc")
    assert len(alerts) == 1
    if peer == "engine":
        assert alerts == [["51"]]


def tcp_payloads(path):
    """{client port: [client-to-server bytes, server-to-client bytes]} of our captures."""
    streams = {}
    for _, _, p in pcap_packets(path):
        ihl = (p[0] & 15) * 4
        t = p[ihl:]
        sport, dport = struct.unpack(">HH", t[:4])
        data = t[(t[12] >> 4) * 4:]
        if sport == 443:
            streams.setdefault(dport, [b"", b""])[1] += data
        else:
            streams.setdefault(sport, [b"", b""])[0] += data
    return streams


@pytest.mark.parametrize("peer", ["engine", "openssl"])
def test_capture_is_the_transcript(tlsdrill, tmp_path, peer):
    """Over the whole suite: the last stream of every case holds exactly the
    bytes the peer reported (the JSON digest: SHA-256 over both lengths and
    both directions), and stream numbers count only connections that sent
    bytes (unsupported cases take none)."""
    pcap, js = tmp_path / "s.pcap", tmp_path / "s.json"
    r = run([tlsdrill, "run", ROOT / "scenarios", "--peer", peer, "--pcap", pcap, "--json", js])
    assert r.returncode in (0, 1), r.stderr
    streams = tcp_payloads(pcap)
    cases = json.loads(js.read_text())["cases"]
    numbered = [s for c in cases for s in c["streams"]]
    assert numbered == list(range(len(streams)))
    checked = probed = 0
    for c in cases:
        if c["verdict"] == "unsupported" or not c["streams"]:
            continue
        # A case whose `premise recognises` needed the baseline probe ran it
        # after its own connection: the probe's stream is named and is last.
        own = [s for s in c["streams"] if s != c.get("probe_stream")]
        if "probe_stream" in c:
            assert c["probe_stream"] == c["streams"][-1] and "baseline probe" in c["premise"], c
            probed += 1
        c2s, s2c = streams[49152 + own[-1]]
        digest = hashlib.sha256(struct.pack(">QQ", len(c2s), len(s2c)) + c2s + s2c).hexdigest()
        assert digest == c["digest"], c["name"]
        checked += 1
    assert checked > 300
    # The probes ran (engine: record_size_limit and max_fragment_length).
    assert peer != "engine" or probed >= 2


def test_keylog_only_and_pcap_only(tlsdrill, tmp_path):
    keys = tmp_path / "k.txt"
    r = run([tlsdrill, "run", CASES, "--keylog", keys, "--filter", "cap-handshake"])
    assert r.returncode == 0, r.stdout + r.stderr
    labels = [line.split()[0] for line in keys.read_text().splitlines()]
    assert labels.count("CLIENT_HANDSHAKE_TRAFFIC_SECRET") == 1
    assert "SERVER_TRAFFIC_SECRET_0" in labels
    pcap = tmp_path / "p.pcap"
    r = run([tlsdrill, "run", CASES, "--pcap", pcap, "--filter", "cap-hrr"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(pcap_packets(pcap)) > 6
    r = run([tlsdrill, "run", CASES, "--pcap", tmp_path / "no" / "such" / "dir.pcap"])
    assert r.returncode == 2 and "cannot write" in r.stderr


def test_pcapng_names_cases_and_embeds_the_keys(tlsdrill, tmp_path):
    """--pcap F.pcapng: the same packets, each stream's first packet
    commented with its case, the key log in a Decryption Secrets Block:
    tshark decrypts it with no key log option, dissect labels the streams."""
    ng, ng2, js = tmp_path / "a.pcapng", tmp_path / "b.pcapng", tmp_path / "a.json"
    for path in (ng, ng2):
        r = run([tlsdrill, "run", CASES, "--pcap", path, "--json", js])
        assert r.returncode == 0, r.stdout + r.stderr
    assert ng.read_bytes() == ng2.read_bytes()
    b = ng.read_bytes()
    assert b[:4] == b"\x0a\x0d\x0d\x0a" and b"CLIENT_HANDSHAKE_TRAFFIC_SECRET" in b
    d = run([tlsdrill, "dissect", ng])
    assert d.returncode == 0, d.stderr
    assert "comment: tlsdrill case cap-resumed (stream 3, the resumption)" in d.stdout
    assert "handshake type=encrypted_extensions (8)" in d.stdout
    assert "secrets from the file's decryption secrets block" in d.stdout
    if shutil.which("tshark") is None:
        return
    comments = tshark(ng, None, "-Y", "frame.comment", "-T", "fields", "-e", "tcp.stream", "-e",
                      "frame.comment")
    assert [c[1] for c in comments][:3] == ["tlsdrill case cap-handshake (stream 0)",
                                            "tlsdrill case cap-hrr (stream 1)",
                                            "tlsdrill case cap-resumed (stream 2)"]
    assert len(comments) == NUM_STREAMS
    types = tshark(ng, None, "-Y", "tls.handshake.type", "-T", "fields", "-e", "tls.handshake.type")
    assert "8" in {t for row in types for t in row[0].split(",")}
