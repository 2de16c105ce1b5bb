#!/bin/sh
# tools/gen_test_certs.sh -- regenerates tests/vectors/certs/ with the openssl CLI.
#
# A test CA (ECDSA P-256) and, signed by it, server leaf certificates for
# server.tlsdrill.test with ECDSA P-256, ECDSA P-384, RSA-2048
# (rsaEncryption) and Ed25519 keys, one client certificate (ECDSA P-256,
# client.tlsdrill.test), an unrelated second CA for negative chain tests,
# and a few reference signatures made by OpenSSL (*.sig, see below).
# Validity is 100 years: tlsdrill does no time checks, but real peers do.
#
# Keys are written as PKCS#8 (*.key); the RSA and P-256 server keys are also
# written in the traditional formats (*.trad.key) to test both PEM forms.
# The outputs are committed; rerunning makes new keys, so the tests must not
# pin key-dependent bytes.
#
# Usage: tools/gen_test_certs.sh [outdir]   (default tests/vectors/certs)
set -eu

out=${1:-"$(dirname "$0")/../tests/vectors/certs"}
mkdir -p "$out"
cd "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
days=36500

ca() { # name cn
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key"
    openssl req -new -x509 -key "$1.key" -sha256 -days $days -subj "/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash" -out "$1.pem"
}

leaf() { # name cn eku genpkey-args...
    name=$1 cn=$2 eku=$3
    shift 3
    openssl genpkey "$@" -out "$name.key"
    openssl req -new -key "$name.key" -subj "/CN=$cn" -out "$tmp/$name.csr"
    cat >"$tmp/$name.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=$eku
subjectAltName=DNS:$cn
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EXT
    openssl x509 -req -in "$tmp/$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
        -CAserial "$tmp/ca.srl" -sha256 -days $days -extfile "$tmp/$name.ext" -out "$name.pem"
}

ca ca "tlsdrill test CA"
ca other-ca "tlsdrill unrelated CA"

leaf server-p256 server.tlsdrill.test serverAuth -algorithm EC -pkeyopt ec_paramgen_curve:P-256
leaf server-p384 server.tlsdrill.test serverAuth -algorithm EC -pkeyopt ec_paramgen_curve:P-384
leaf server-rsa2048 server.tlsdrill.test serverAuth -algorithm RSA -pkeyopt rsa_keygen_bits:2048
leaf server-ed25519 server.tlsdrill.test serverAuth -algorithm ED25519
leaf client-p256 client.tlsdrill.test clientAuth -algorithm EC -pkeyopt ec_paramgen_curve:P-256

# The P-256 server key again, certified with ecdsa-with-SHA384: a chain
# that matches another signature_algorithms_cert (RFC 8446 4.4.2.2).
openssl req -new -key server-p256.key -subj "/CN=server.tlsdrill.test" -out "$tmp/p256-384.csr"
openssl x509 -req -in "$tmp/p256-384.csr" -CA ca.pem -CAkey ca.key -CAserial "$tmp/ca.srl" \
    -sha384 -days $days -extfile "$tmp/server-p256.ext" -out server-p256-sha384.pem
# Traditional (non-PKCS#8) encodings of two of the keys.
openssl rsa -in server-rsa2048.key -traditional -out server-rsa2048.trad.key
openssl ec -in server-p256.key -out server-p256.trad.key
# An encrypted PKCS#8 key: tlsdrill must refuse it, not prompt for a passphrase.
openssl pkcs8 -topk8 -v2 aes-256-cbc -in server-p256.key -passout pass:tlsdrill \
    -out server-p256.encrypted.key

# Full chains (leaf then CA) as a server would send them.
for n in server-p256 server-p256-sha384 server-p384 server-rsa2048 server-ed25519 client-p256; do
    cat "$n.pem" ca.pem >"$n.chain.pem"
done
# Chains with an unrelated certificate between the leaf and its issuer
# (RFC 8446 4.4.2: extra certificates, in any order after the end-entity
# one, are tolerated: TOL-EXTRA-CERTS).
for n in server-p256 client-p256; do
    cat "$n.pem" other-ca.pem ca.pem >"$n-extra.chain.pem"
done

# Signatures made by OpenSSL itself over a fixed message, to check td_verify
# against an independent signer: RSASSA-PKCS1-v1_5, RSA-PSS with salt length
# = digest length (RFC 8446 §4.2.3) and with the maximum salt length (which
# TLS 1.3 verifiers must reject), ECDSA P-256.
msg="tlsdrill reference signature message"
printf '%s' "$msg" >"$tmp/msg"
openssl dgst -sha256 -sign server-rsa2048.key -out server-rsa2048.pkcs1-sha256.sig "$tmp/msg"
openssl dgst -sha256 -sign server-rsa2048.key -sigopt rsa_padding_mode:pss \
    -sigopt rsa_pss_saltlen:digest -out server-rsa2048.pss-sha256.sig "$tmp/msg"
openssl dgst -sha256 -sign server-rsa2048.key -sigopt rsa_padding_mode:pss \
    -sigopt rsa_pss_saltlen:max -out server-rsa2048.pss-sha256-maxsalt.sig "$tmp/msg"
openssl dgst -sha256 -sign server-p256.key -out server-p256.ecdsa-sha256.sig "$tmp/msg"

for n in server-p256 server-p384 server-rsa2048 server-ed25519 client-p256; do
    openssl verify -CAfile ca.pem "$n.pem" >/dev/null
done
echo "certificates written to $out"
