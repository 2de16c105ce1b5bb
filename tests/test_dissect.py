"""`tlsdrill dissect`: a capture as a decoded TLS tree, decrypted with the
key log. A capture written by `tlsdrill run --pcap` shows the message names
and the decrypted content; a fixed capture (tests/dissect/golden.*) matches
its golden output byte for byte; the tree agrees with tshark stream by
stream; malformed input is an error with a message, never a crash."""
import json
import shutil

import pytest

from conftest import ROOT, run

CASES = ROOT / "tests" / "capture"
GOLDEN = ROOT / "tests" / "dissect"


@pytest.fixture(scope="module")
def captured(tlsdrill, tmp_path_factory):
    d = tmp_path_factory.mktemp("dissect")
    pcap, keys, js = d / "run.pcap", d / "run.keys", d / "run.json"
    r = run([tlsdrill, "run", CASES, "--pcap", pcap, "--keylog", keys, "--json", js])
    assert r.returncode == 0, r.stdout + r.stderr
    return pcap, keys, js


def dissect(tlsdrill, *args):
    return run([tlsdrill, "dissect"] + list(args))


def streams_of(tree):
    return [c for c in tree.get("children", []) if c["node"] == "stream"]


def walk(node):
    yield node
    for c in node.get("children", []):
        yield from walk(c)


def handshake_types(stream):
    return [n["fields"]["type"] for n in walk(stream) if n["node"] == "handshake"]


def test_text_shows_messages_and_decrypted_content(tlsdrill, captured):
    pcap, keys, js = captured
    r = dissect(tlsdrill, pcap, "--keylog", keys, "--run", js)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.startswith("capture format=pcap linktype=raw IP (101)\n")
    assert "  tcp_streams: 7\n" in out
    for name in ("client_hello (1)", "server_hello (2)", "hello_retry_request (2)",
                 "encrypted_extensions (8)", "certificate (11)", "certificate_verify (15)",
                 "finished (20)", "new_session_ticket (4)"):
        assert "handshake type=%s" % name in out, name
    assert "stream index=4 case=cap-ee-forbidden client=10.0.0.1:49156 server=10.0.0.2:443" in out
    # The SUT client's alert: an application_data record that decrypts to an alert.
    assert ("protection=handshake traffic inner=alert (21)\n"
            "      alert level=fatal (2) description=illegal_parameter (47)") in out
    # Fields by name: suites, groups, key shares, sigalgs, versions, PSK identity and binder.
    for text in ("cipher_suites: TLS_AES_128_GCM_SHA256 (0x1301)", "named_group_list: x25519 (0x001d)",
                 "key_share_entry group=x25519 (0x001d) length=32",
                 "supported_signature_algorithms: ecdsa_secp256r1_sha256 (0x0403)",
                 "versions: TLS 1.3 (0x0304)", "selected_group: secp256r1 (0x0017)",
                 "ke_modes: psk_dhe_ke (1)", "obfuscated_ticket_age:", "binder index=0 length=32",
                 "selected_identity: 0", "host_name: server.example"):
        assert text in out, text
    # The flipped binder's plaintext alert.
    assert "alert level=fatal (2) description=decrypt_error (51)" in out
    assert "no logged key" not in out


def test_without_keylog_nothing_encrypted_decodes(tlsdrill, captured):
    pcap, _, _ = captured
    r = dissect(tlsdrill, pcap)
    assert r.returncode == 0, r.stderr
    assert "protection=encrypted (no key log)" in r.stdout
    assert "encrypted_extensions" not in r.stdout and "client_hello (1)" in r.stdout


def test_json_tree_and_stream_selection(tlsdrill, captured):
    pcap, keys, js = captured
    r = dissect(tlsdrill, pcap, "--keylog", keys, "--json", "--run", js)
    assert r.returncode == 0, r.stderr
    tree = json.loads(r.stdout)
    assert tree["node"] == "capture" and tree["fields"]["tcp_streams"] == "7"
    streams = streams_of(tree)
    assert [s["fields"]["index"] for s in streams] == [str(i) for i in range(7)]
    assert [s["fields"]["case"] for s in streams] == [
        "cap-handshake", "cap-hrr", "cap-resumed", "cap-resumed", "cap-ee-forbidden",
        "cap-binder-flipped", "cap-binder-flipped"]
    resumed = handshake_types(streams[3])
    assert "certificate (11)" not in resumed and "encrypted_extensions (8)" in resumed
    one = json.loads(dissect(tlsdrill, pcap, "--keylog", keys, "--json", "--stream", "3").stdout)
    assert streams_of(one) == [dict(streams[3], fields={k: v for k, v in streams[3]["fields"].items()
                                                        if k != "case"})]
    r = dissect(tlsdrill, pcap, "--stream", "99")
    assert r.returncode == 1 and "no TCP stream 99" in r.stderr


def test_agrees_with_tshark(tlsdrill, captured):
    tshark = shutil.which("tshark")
    if tshark is None:
        pytest.skip("tshark is not installed (tools/setup.sh installs it)")
    pcap, keys, _ = captured
    r = run([tshark, "-n", "-r", pcap, "-o", "tls.keylog_file:%s" % keys, "-Y", "tls.handshake.type",
             "-T", "fields", "-e", "tcp.stream", "-e", "tls.handshake.type"])
    assert r.returncode == 0, r.stderr
    theirs = {}
    for line in r.stdout.splitlines():
        s, types = line.split("\t")
        theirs.setdefault(int(s), []).extend(int(t) for t in types.split(","))
    tree = json.loads(dissect(tlsdrill, pcap, "--keylog", keys, "--json").stdout)
    ours = {}
    for s in streams_of(tree):
        types = [int(t.split("(")[-1].rstrip(")")) for t in handshake_types(s)]
        if types:
            ours[int(s["fields"]["index"])] = types
    assert ours == theirs


@pytest.mark.parametrize("args,golden", [
    (["--keylog", GOLDEN / "golden.keys"], "golden.expected"),
    (["--json", "--stream", "1"], "golden-stream1-nokeys.json.expected"),
])
def test_golden(tlsdrill, args, golden):
    r = dissect(tlsdrill, GOLDEN / "golden.pcap", *args)
    assert r.returncode == 0, r.stderr
    want = (GOLDEN / golden).read_text()
    assert r.stdout == want, "dissect output changed; if intended: tlsdrill dissect %s > %s" % (
        " ".join(str(a) for a in [GOLDEN / "golden.pcap"] + args), GOLDEN / golden)


def test_malformed_input_is_an_error(tlsdrill, tmp_path):
    good = (GOLDEN / "golden.pcap").read_bytes()
    notcap = tmp_path / "x.bin"
    notcap.write_bytes(b"GET / HTTP/1.1\r\n\r\n")
    r = dissect(tlsdrill, notcap)
    assert r.returncode == 1 and "not a capture file" in r.stderr
    report = tmp_path / "report.json"
    report.write_text('{"tool": "tlsdrill", "cases": []}\n')
    r = dissect(tlsdrill, report)
    assert r.returncode == 1 and "holds verdicts, not records" in r.stderr
    badkeys = tmp_path / "bad.keys"
    badkeys.write_text("CLIENT_HANDSHAKE_TRAFFIC_SECRET zz 00\n")
    r = dissect(tlsdrill, GOLDEN / "golden.pcap", "--keylog", badkeys)
    assert r.returncode == 2 and "bad.keys: line 1: the client_random" in r.stderr
    r = dissect(tlsdrill, tmp_path / "missing.pcap")
    assert r.returncode == 2 and "cannot read" in r.stderr
    # A corrupted IPv4 header inside an intact file: decoded, reported, exit 1.
    bad = bytearray(good)
    bad[24 + 16] = 0x4F  # first packet: IHL 15 words > the packet
    mangled = tmp_path / "ip.pcap"
    mangled.write_bytes(bytes(bad))
    r = dissect(tlsdrill, mangled)
    assert r.returncode == 1 and "malformed packets: 1 packets; the first: packet 1" in r.stderr
    assert "malformed: 1 packets" in r.stdout


def test_capture_cut_mid_packet(tlsdrill, tmp_path):
    """A capture cut short (a copy interrupted, a capture still being
    written) is decoded up to the cut -- the part of the cut packet that is
    there too -- and says where it stopped; exit 1 (issue 16)."""
    import struct
    good = (GOLDEN / "golden.pcap").read_bytes()
    starts, off = [], 24
    while off < len(good):
        starts.append(off)
        off += 16 + struct.unpack("<I", good[off + 8:off + 12])[0]
    # Inside the data of the 4th packet (the ClientHello, past its headers).
    k = 4
    at = starts[k - 1] + 16 + 40 + 100
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(good[:at])
    r = dissect(tlsdrill, cut, "--keylog", GOLDEN / "golden.keys")
    assert r.returncode == 1
    assert "cut.pcap: truncated at byte %d, packet %d (" % (at, k) in r.stderr, r.stderr
    assert "its record starts at byte %d" % starts[k - 1] in r.stderr
    assert "truncated: at byte %d, packet %d" % (at, k) in r.stdout
    assert "stream index=0" in r.stdout
    assert "truncated dir=C->S" in r.stdout  # the part of the ClientHello present
    assert "the stream ends 100 bytes into a" in r.stdout
    # Cut after the 8th packet's record header: packets 1-7 whole, decrypted.
    at = starts[7] + 10
    cut.write_bytes(good[:at])
    r = dissect(tlsdrill, cut, "--keylog", GOLDEN / "golden.keys", "--json")
    assert r.returncode == 1
    tree = json.loads(r.stdout)
    assert tree["fields"]["truncated"].startswith("at byte %d, packet 8 (inside its record header" % at)
    assert handshake_types(streams_of(tree)[0])[:2] == ["client_hello (1)", "hello_retry_request (2)"]
    # pcapng: a block cut short, same story; a file too short for its
    # header stays an error without a tree.
    ng = tmp_path / "cut.pcapng"
    r = run([tlsdrill, "run", CASES, "--pcap", ng])
    assert r.returncode == 0, r.stderr
    whole = ng.read_bytes()
    ng.write_bytes(whole[:len(whole) - 50])
    r = dissect(tlsdrill, ng)
    assert r.returncode == 1
    assert "cut.pcapng: truncated at byte %d, packet " % (len(whole) - 50) in r.stderr
    assert r.stdout.count("handshake type=encrypted_extensions (8)") >= 6
    cut.write_bytes(good[:20])
    r = dissect(tlsdrill, cut)
    assert r.returncode == 1 and "file header is truncated" in r.stderr and r.stdout == ""


def test_reads_stdin(tlsdrill):
    r = run([tlsdrill, "dissect", "-", "--keylog", GOLDEN / "golden.keys"],
            input=(GOLDEN / "golden.pcap").read_bytes().decode("latin-1"), encoding="latin-1")
    assert r.returncode == 0, r.stderr
    assert r.stdout == (GOLDEN / "golden.expected").read_text()


def test_raw_records(tlsdrill, tmp_path):
    """--records client|server: a file of raw records one side sent (a
    record-level corpus or crash file), decrypted with the key log too."""
    import struct
    b = (GOLDEN / "golden.pcap").read_bytes()
    off, c2s = 24, b""
    while off < len(b):
        incl = struct.unpack("<I", b[off + 8:off + 12])[0]
        t = b[off + 16 + 20:off + 16 + incl]
        off += 16 + incl
        if struct.unpack(">H", t[:2])[0] == 49152:
            c2s += t[(t[12] >> 4) * 4:]
    raw = tmp_path / "c2s.bin"
    raw.write_bytes(c2s)
    r = dissect(tlsdrill, raw, "--records", "client", "--keylog", GOLDEN / "golden.keys")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("records from=client bytes=%d\n" % len(c2s))
    assert r.stdout.count("handshake type=client_hello (1)") == 2
    assert "protection=handshake traffic inner=handshake (22)\n    handshake type=finished (20)" in r.stdout
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x16\x03\x01\x00\x05\x01\x00\x00\x09" + b"GET / HTTP/1.1\r\n")
    r = dissect(tlsdrill, junk, "--records", "server")
    assert r.returncode == 0, r.stderr
    assert "error: a handshake message" not in r.stdout
    assert "garbage dir=S->C offset=" in r.stdout or "truncated" in r.stdout
    r = dissect(tlsdrill, junk, "--records", "sideways")
    assert r.returncode == 2


def test_serve_and_connect_captures(tlsdrill, tmp_path):
    """The captures of `serve`/`connect --pcap --keylog` (real sockets,
    a full handshake and a resumption) decode the same way tshark does."""
    from test_interop_net import Serve, connect
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
        d = dissect(tlsdrill, pcap, "--keylog", keys, "--json")
        assert d.returncode == 0, d.stderr
        tree = json.loads(d.stdout)
        types = [int(t.split("(")[-1].rstrip(")")) for s in streams_of(tree) for t in handshake_types(s)]
        assert types == [1, 2, 8, 11, 15, 20, 20, 4, 1, 2, 8, 20, 20, 4], (pcap, types)


def test_fuzzer_mode_capture(tlsdrill, tmp_path):
    """A capture of a fuzzer-mode run (`tlsdrill replay X_fm --pcap`: records
    are plaintext with a zero tag, the 0-RTT ones marked) decodes as replay's
    own trace does: detected per connection by default, or --fuzzer-mode on;
    off leaves its records encrypted."""
    import re
    seeds = ROOT / "corpus" / "server_hello_fm"
    pcap, keys = tmp_path / "fm.pcap", tmp_path / "fm.keys"
    r = run([tlsdrill, "replay", "server_hello_fm", "--pcap", pcap, "--keylog", keys]
            + [seeds / n for n in ("fm-resume-0rtt", "fm-hrr", "fm-client-auth")])
    assert r.returncode == 0, r.stdout + r.stderr

    def protections(text):
        return [re.sub(r" offset=\d+", "", l.strip()) for l in text.splitlines()
                if "protection=" in l]

    want = protections(r.stdout)
    assert len(want) >= 10 and not [p for p in want if "encrypted" in p], want
    assert [p for p in want if "protection=early traffic" in p]
    for args in ((), ("--keylog", keys), ("--fuzzer-mode", "on")):
        d = dissect(tlsdrill, pcap, *args)
        assert d.returncode == 0, d.stderr
        assert protections(d.stdout) == want, args
        assert d.stdout.count("handshake type=") == r.stdout.count("handshake type="), args
        assert d.stdout.count("fuzzer_mode: detected") == (0 if args[-1:] == ("on",) else 3), args
    d = dissect(tlsdrill, pcap, "--keylog", keys, "--fuzzer-mode", "off")
    assert d.returncode == 0, d.stderr
    got = protections(d.stdout)
    assert len(got) == len(want) and all(
        p.endswith("protection=encrypted (no logged key authenticates it)") for p in got), got
    # A capture with real keys is not taken for fuzzer mode.
    g = dissect(tlsdrill, GOLDEN / "golden.pcap", "--keylog", GOLDEN / "golden.keys")
    assert g.returncode == 0 and "fuzzer_mode" not in g.stdout
