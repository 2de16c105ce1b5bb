#!/usr/bin/env python3
"""Write the RFC 8448 §2 server RSA private key as PEM (tests/vectors/rfc8448-server-key.pem).

Usage: tools/gen_rfc8448_key.py [--check] [RFC8448.txt] [> tests/vectors/rfc8448-server-key.pem]
RFC8448.txt defaults to tests/vectors/rfc8448.txt (the trace text, data only);
--check: exit 1 if the committed PEM is not what this makes (tests/test_drift.py).
The key's integers are printed only in the text of §2; the DER RSAPrivateKey
(RFC 8017 A.1.2) is assembled with `openssl asn1parse -genconf`, then turned
into PKCS#8 PEM with `openssl pkey`.
"""
import os
import re
import subprocess
import sys

from gen_check import generator_main
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VECTORS = os.path.join(ROOT, "tests", "vectors")
FIELDS = ["modulus (public)", "public exponent", "private exponent", "prime1", "prime2",
          "exponent1", "exponent2", "coefficient"]


def generate(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    start = text.index("\n2.  Private Keys\n")
    sec = text[start:text.index("\n3.  Simple 1-RTT Handshake\n", start)]
    # Drop page-break lines (footer, header) that interrupt the hex.
    sec = "\n".join(l for l in sec.splitlines() if not re.match(r"^(Thomson|Internet-Draft)\s", l))
    values = {}
    for i, name in enumerate(FIELDS):
        start = sec.index(name + ":") + len(name) + 1
        end = sec.index(FIELDS[i + 1] + ":") if i + 1 < len(FIELDS) else len(sec)
        values[name] = "".join(re.findall(r"\b[0-9a-f]{2}\b", sec[start:end]))
    conf = ["asn1=SEQUENCE:rsa", "[rsa]", "version=INTEGER:0"]
    keys = ["n", "e", "d", "p", "q", "dp", "dq", "qinv"]
    for key, name in zip(keys, FIELDS):
        conf.append("%s=INTEGER:0x%s" % (key, values[name]))
    with tempfile.NamedTemporaryFile("w", suffix=".cnf") as cnf, tempfile.NamedTemporaryFile(suffix=".der") as der:
        cnf.write("\n".join(conf) + "\n")
        cnf.flush()
        subprocess.run(["openssl", "asn1parse", "-genconf", cnf.name, "-out", der.name, "-noout"], check=True)
        pem = subprocess.run(["openssl", "pkey", "-inform", "DER", "-in", der.name], check=True,
                             capture_output=True, text=True).stdout
    subprocess.run(["openssl", "pkey", "-check", "-noout"], input=pem, text=True, check=True, capture_output=True)
    return pem


def main():
    return generator_main(generate, "RFC 8448 section 2 -> tests/vectors/rfc8448-server-key.pem", "text",
                          os.path.join(VECTORS, "rfc8448.txt"), "tests/vectors/rfc8448-server-key.pem", "PEM")


if __name__ == "__main__":
    sys.exit(main())
