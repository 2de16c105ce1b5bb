#!/usr/bin/env python3
"""tools/seed_sites.py -- which scenario cases exercise each alert site of
the two Go seed files (the seeds' alert sites, tabled in
scenarios/SEED-SITES.md; the mapping is kept here). A site is exercised by the cases,
on the seed's side (server sites: sut server; client sites: sut client), in
which the engine aborts for the site's rule, or by the cases named for it.
Local failures (internal_error, callbacks, our configuration) cannot be
reached by a peer and say why.

  tools/seed_sites.py [--tlsdrill BIN] [--check FILE]
prints scenarios/SEED-SITES.md; --check FILE exits 1 if FILE differs or a
reachable site has no passing case."""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOCAL = "local failure (internal_error): not reachable by a peer"

# (site, condition, rules the engine reports | explicit case names | None, note)
SERVER = [
    ("S1", "TLS 1.3 via legacy_version, no supported_versions", ["SV-ABSENT-LEGACY-13"], None),
    ("S2", "TLS_FALLBACK_SCSV below the server's maximum", ["CH-FALLBACK-SCSV"], None),
    ("S3", "compression_methods not [0]", ["CH-COMPRESSION"], None),
    ("S4", "server random fails", None, LOCAL),
    ("S5", "non-empty renegotiation_info", ["=ch-renegotiation-info"],
     "Go policy (RFC 5746 3.6); the engine goes on: baseline"),
    ("S6", "ClientHello offers early_data", ["=ch-early-data-not-enabled", "=ed-rejected-by-hrr"],
     "Go policy; RFC 8446 4.2.10 has the server ignore it (TOL-EARLY-DATA-REJECT)"),
    ("S7", "no TLS 1.3 cipher suite in common", ["GEN-NO-COMMON-PARAMS"], None),
    ("S8", "no ECDHE group in common", ["SG-NO-OVERLAP"], None),
    ("S9", "selected group unknown to the build", None, LOCAL),
    ("S10", "server ECDHE key generation fails", None, LOCAL),
    ("S11", "bad client key share", ["KS-EC-INVALID-POINT", "KS-BAD-LENGTH", "KS-X-ZERO-SECRET"], None),
    ("S12", "identities and binders differ in number", ["PSK-BINDER-COUNT"], None),
    ("S13", "transcript clone fails", None, LOCAL),
    ("S14", "binder does not verify", ["PSK-BINDER-INVALID"], None),
    ("S15", "no signature_algorithms in a non-PSK handshake", ["SIGALG-MISSING-CH", "=ch-no-signature-algorithms"],
     "the engine names CH-MANDATORY-EXT first: the same missing_extension"),
    ("S16", "no certificate configured", None,
     "our configuration (the engine server always has a certificate): not reachable by a peer"),
    ("S17", "GetCertificate callback error", None, "application callback: not reachable by a peer"),
    ("S18", "no client scheme fits the certificate", ["SIGALG-NO-OVERLAP"], None),
    ("S19", "after the HRR, not a ClientHello", ["=ch2-not-clienthello"], None),
    ("S20", "second ClientHello key_share wrong", ["CH2-KEYSHARE"], None),
    ("S21", "second ClientHello keeps early_data", ["CH2-EARLY-DATA"], None),
    ("S22", "illegal change in the second ClientHello", ["CH2-NOT-CONFORMANT", "COOKIE-CH2-MISMATCH"], None),
    ("S23", "key log write fails", None, LOCAL),
    ("S24", "key log write fails", None, LOCAL),
    ("S25", "no ALPN protocol in common", ["ALPN-NO-OVERLAP"], None),
    ("S26", "scheme maps to no type", None, LOCAL),
    ("S27", "RSA key too small for PSS", None, "our key (local): not reachable by a peer"),
    ("S28", "signing fails", None, LOCAL),
    ("S29", "key log write fails", None, LOCAL),
    ("S30", "key log write fails", None, LOCAL),
    ("S31", "VerifyConnection callback rejects", None, "application callback: not reachable by a peer"),
    ("S32", "certificate requested, next is not Certificate", ["=order-no-client-certificate"], None),
    ("S33", "VerifyConnection rejects the client certificate", ["CT-CLIENT-CHAIN-UNACCEPTABLE"],
     "application callback in Go; the engine's chain check is the nearest"),
    ("S34", "client Certificate without CertificateVerify", ["CV-MISSING"], None),
    ("S35", "client CV scheme not advertised", ["CV-SCHEME-NOT-OFFERED"], None),
    ("S36", "scheme maps to no type", None, LOCAL),
    ("S37", "client CV uses PKCS#1 v1.5 or SHA-1", ["CV-RSA-PKCS1", "CV-SHA1"], None),
    ("S38", "client CV signature does not verify", ["CV-BAD-SIGNATURE"], None),
    ("S39", "next message is not Finished", ["=order-not-finished"], None),
    ("S40", "client Finished wrong", ["FIN-BAD"], None),
]
CLIENT = [
    ("C1", "TLS 1.3 selected in a renegotiation", None,
     "needs a TLS 1.2 connection to renegotiate; our side speaks only TLS 1.3 (SH-RENEGOTIATION-13)"),
    ("C2", "internal state inconsistent", None, LOCAL),
    ("C3", "TLS 1.3 via legacy_version without supported_versions", ["SV-SH-MISSING"], None),
    ("C4", "supported_versions does not select TLS 1.3", ["SV-SH-INVALID", "SV-HRR-SH-CHANGED"], None),
    ("C5", "SH/HRR legacy_version not 0x0303", ["SH-LEGACY-VERSION", "HRR-LEGACY-FIELDS"], None),
    ("C6", "TLS 1.2-only extension in SH/HRR", ["=sh-tls12-only-ext", "=hrr-tls12-only-ext"], None),
    ("C7", "legacy_session_id_echo mismatch", ["SH-SESSION-ID", "HRR-SESSION-ID"], None),
    ("C8", "legacy_compression_method not 0", ["SH-COMPRESSION", "HRR-LEGACY-FIELDS"], None),
    ("C9", "cipher suite differs from the HRR's", ["SH-CIPHER-CHANGED"], None),
    ("C10", "cipher suite not offered", ["SH-CIPHER-NOT-OFFERED", "HRR-CIPHER-NOT-OFFERED"], None),
    ("C11", "HRR key_share holds a full entry", ["=hrr-full-key-share"], None),
    ("C12", "HRR without key_share", ["=hrr-no-change"],
     "Go is stricter; with neither key_share nor cookie it is HRR-NO-CHANGE"),
    ("C13", "HRR group not in supported_groups", ["KS-HRR-GROUP-NOT-SUPPORTED"], None),
    ("C14", "HRR group already has a share", ["KS-HRR-GROUP-ALREADY-SENT"], None),
    ("C15", "HRR group not implemented", None, LOCAL),
    ("C16", "new ECDHE key fails", None, LOCAL),
    ("C17", "cached session suite unknown", None, LOCAL),
    ("C18", "after the second ClientHello, not a ServerHello", ["=hrr-then-not-serverhello"], None),
    ("C19", "ServerHello with the HRR random (second HRR)", ["HRR-SECOND"], None),
    ("C20", "cookie in a ServerHello", ["COOKIE-IN-SH"], None),
    ("C21", "ServerHello key_share in HRR form", ["=sh-key-share-hrr-form"], None),
    ("C22", "ServerHello without key_share (psk_dhe_ke)", ["PSK-SH-KEYSHARE-REQUIRED", "SH-NO-KEY-EXCHANGE"], None),
    ("C23", "server share for another group", ["KS-SH-GROUP-NOT-OFFERED", "KS-SH-GROUP-NE-HRR"], None),
    ("C24", "selected_identity out of range", ["PSK-SH-IDENTITY-RANGE"], None),
    ("C25", "PSK state mismatch", None, LOCAL),
    ("C26", "cached suite unknown", None, LOCAL),
    ("C27", "PSK hash differs from the suite's", ["PSK-SH-HASH-MISMATCH"], None),
    ("C28", "bad server key share", ["KS-EC-INVALID-POINT", "KS-BAD-LENGTH", "KS-X-ZERO-SECRET"], None),
    ("C29", "key log write fails", None, LOCAL),
    ("C30", "key log write fails", None, LOCAL),
    ("C31", "after ServerHello, not EncryptedExtensions", ["EE-NOT-AFTER-SH"], None),
    ("C32", "ALPN in EE not offered", ["ALPN-NOT-OFFERED"], None),
    ("C33", "after CertificateRequest, not Certificate", ["CT-SERVER-MISSING"], None),
    ("C34", "server Certificate empty", ["CT-SERVER-EMPTY"], None),
    ("C35", "server Certificate without CertificateVerify", ["CV-MISSING"], None),
    ("C36", "server CV scheme not advertised", ["CV-SCHEME-NOT-OFFERED"], None),
    ("C37", "scheme maps to no type", None, LOCAL),
    ("C38", "server CV uses PKCS#1 v1.5 or SHA-1", ["CV-RSA-PKCS1", "CV-SHA1"], None),
    ("C39", "server CV signature does not verify", ["CV-BAD-SIGNATURE"], None),
    ("C40", "next message is not Finished", ["=order-client-not-finished"], None),
    ("C41", "server Finished wrong", ["FIN-BAD"], None),
    ("C42", "key log write fails", None, LOCAL),
    ("C43", "key log write fails", None, LOCAL),
    ("C44", "client certificate fits no requested scheme", None,
     "our configuration (local): the client may send an empty Certificate instead"),
    ("C45", "scheme maps to no type", None, LOCAL),
    ("C46", "signing fails", None, LOCAL),
    ("C47", "NewSessionTicket received by a server", ["NST-FROM-CLIENT"],
     "a server-side check: exercised with sut server"),
    ("C48", "ticket_lifetime above 7 days", ["NST-LIFETIME"], None),
    ("C49", "unknown suite / no resumption secret", None, LOCAL),
]


def run_suite(tlsdrill):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "run.json")
        subprocess.run([tlsdrill, "run", "scenarios", "--json", out], cwd=ROOT,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        with open(out) as f:
            return json.load(f)["cases"]


def cases_for(cases, sut, what):
    names = []
    for w in what:
        if w.startswith("="):
            base = w[1:]
            names += [c["name"] for c in cases
                      if c["name"].split("[")[0] == base and c["verdict"] == "pass"]
        else:
            names += [c["name"] for c in cases if c["sut_rule"] == w and c["verdict"] == "pass"
                      and (c["sut"] == sut or w == "NST-FROM-CLIENT")]
    seen = []
    for n in names:
        if n not in seen:
            seen.append(n)
    return seen


def render(cases):
    out = ["# Alert sites of the Go seeds and the cases that exercise them", "",
           "Generated by `tools/seed_sites.py` from a run of `scenarios/` against the engine.",
           "A site is exercised by the cases (on the seed's side) in which the engine aborts",
           "for the site's rule, or by the cases named for it; up to four are shown.", ""]
    missing = []
    for title, sut, rows in (("Server (sut server)", "server", SERVER),
                             ("Client (sut client)", "client", CLIENT)):
        out += ["## " + title, "", "| site | condition | rule / cases | count | examples |",
                "|---|---|---|---|---|"]
        for site, cond, what, note in rows:
            if what is None:
                out.append("| %s | %s | - | - | %s |" % (site, cond, note))
                continue
            names = cases_for(cases, sut, what)
            if not names:
                missing.append(site)
            label = " ".join(w.lstrip("=") for w in what)
            ex = ", ".join("`%s`" % n for n in names[:4])
            if note:
                ex += " (%s)" % note
            out.append("| %s | %s | %s | %d | %s |" % (site, cond, label, len(names), ex))
        out.append("")
    reach = sum(1 for rows in (SERVER, CLIENT) for r in rows if r[2] is not None)
    out.append("%d sites, %d reachable by a peer, %d exercised." %
               (len(SERVER) + len(CLIENT), reach, reach - len(missing)))
    return "\n".join(out) + "\n", missing


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tlsdrill", default=os.path.join(ROOT, "build", "default", "tlsdrill"))
    ap.add_argument("--check")
    a = ap.parse_args()
    text, missing = render(run_suite(a.tlsdrill))
    if a.check is None:
        sys.stdout.write(text)
        return 1 if missing else 0
    with open(a.check) as f:
        same = f.read() == text
    if missing:
        print("sites without a passing case: " + " ".join(missing), file=sys.stderr)
    if not same:
        print("%s is out of date: regenerate with tools/seed_sites.py" % a.check, file=sys.stderr)
    return 0 if same and not missing else 1


if __name__ == "__main__":
    sys.exit(main())
