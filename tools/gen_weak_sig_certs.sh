#!/bin/sh
# tools/gen_weak_sig_certs.sh -- certificates signed with weak hashes, for the
# CT-SHA1 / CT-MD5 checks (RFC 8446 §4.4.2.4). They certify the existing
# client-p256 key, so a client can still sign its CertificateVerify:
#   client-p256-sha1.pem  ecdsa-with-SHA1 by the test CA (ca.pem)
#   md5-root.pem          a self-signed root for the server-rsa2048 key
#   client-p256-md5.pem   md5WithRSAEncryption by md5-root.pem
# Run from anywhere; writes into tests/vectors/certs (needs gen_test_certs.sh's files).
set -eu
dir=${1:-"$(dirname "$0")/../tests/vectors/certs"}
cd "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
days=36500
openssl req -new -key client-p256.key -subj "/CN=client.tlsdrill.test" -out "$tmp/c.csr"
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' >"$tmp/ext"
openssl x509 -req -in "$tmp/c.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -CAserial "$tmp/ca.srl" \
    -sha1 -days $days -extfile "$tmp/ext" -out client-p256-sha1.pem
openssl req -new -x509 -key server-rsa2048.key -subj "/CN=tlsdrill md5 test root" -days $days -sha256 \
    -out md5-root.pem
openssl x509 -req -in "$tmp/c.csr" -CA md5-root.pem -CAkey server-rsa2048.key -CAcreateserial \
    -CAserial "$tmp/md5.srl" -md5 -days $days -extfile "$tmp/ext" -out client-p256-md5.pem
