#!/usr/bin/env bash
# tools/peers/gnutls.sh -- shim for `tlsdrill run --peer 'exec:tools/peers/gnutls.sh'`:
# gnutls-serv (the SUT is a server) or gnutls-cli (a client) on port $TD_PORT,
# configured from the TD_* variables (the contract: tools/peers/README.md).
# gnutls-serv listens on every interface and cannot be told otherwise: the peer
# picks $TD_PORT from its test range (20000..29999) and connects to 127.0.0.1 only.
# What the tools cannot express exits 89 with the reason on stderr (`unsupported`).
set -u
unsupported() { echo "gnutls-${1}: ${*:2}" >&2; exit 89; }
# TD_ROLE=version: the SUT's version (tlsdrill peers --version, tools/matrix.py).
if [ "${TD_ROLE:-}" = version ]; then v=$(gnutls-cli --version | head -n1) || exit 1; echo "GnuTLS ${v##* } (gnutls-serv/gnutls-cli)"; exit 0; fi
# No command substitution on the common path: each forks the shell, and a case starts
# this shim once per connection (several at once with `tlsdrill run -j N`).
if [ "$TD_ROLE" = server ]; then side=serv; else side=cli; fi

item() { # engine name -> $it, the GnuTLS priority item
    case $1 in
    TLS_AES_128_GCM_SHA256) it=AES-128-GCM ;; TLS_AES_256_GCM_SHA384) it=AES-256-GCM ;;
    TLS_CHACHA20_POLY1305_SHA256) it=CHACHA20-POLY1305 ;; TLS_AES_128_CCM_SHA256) it=AES-128-CCM ;;
    TLS_AES_128_CCM_8_SHA256) it=AES-128-CCM-8 ;;
    x25519) it=GROUP-X25519 ;; x448) it=GROUP-X448 ;; secp256r1) it=GROUP-SECP256R1 ;;
    secp384r1) it=GROUP-SECP384R1 ;; secp521r1) it=GROUP-SECP521R1 ;;
    ecdsa_secp256r1_sha256) it=SIGN-ECDSA-SECP256R1-SHA256 ;; ecdsa_secp384r1_sha384) it=SIGN-ECDSA-SECP384R1-SHA384 ;;
    ecdsa_secp521r1_sha512) it=SIGN-ECDSA-SECP521R1-SHA512 ;;
    rsa_pss_rsae_sha256) it=SIGN-RSA-PSS-RSAE-SHA256 ;; rsa_pss_rsae_sha384) it=SIGN-RSA-PSS-RSAE-SHA384 ;;
    rsa_pss_rsae_sha512) it=SIGN-RSA-PSS-RSAE-SHA512 ;; rsa_pss_pss_sha256) it=SIGN-RSA-PSS-SHA256 ;;
    rsa_pss_pss_sha384) it=SIGN-RSA-PSS-SHA384 ;; rsa_pss_pss_sha512) it=SIGN-RSA-PSS-SHA512 ;;
    ed25519) it=SIGN-EdDSA-Ed25519 ;; ed448) it=SIGN-EdDSA-Ed448 ;;
    rsa_pkcs1_sha256) it=SIGN-RSA-SHA256 ;; rsa_pkcs1_sha384) it=SIGN-RSA-SHA384 ;;
    rsa_pkcs1_sha512) it=SIGN-RSA-SHA512 ;; rsa_pkcs1_sha1) it=SIGN-RSA-SHA1 ;; ecdsa_sha1) it=SIGN-ECDSA-SHA1 ;;
    *) unsupported "$side" "no GnuTLS priority item for $1" ;;
    esac
}
items() { # KIND LIST: appends :-KIND-ALL:+a:+b to $prio
    local x
    prio="$prio:-$1-ALL"
    IFS=, read -ra xs <<<"$2"
    for x in "${xs[@]}"; do item "$x"; prio="$prio:+$it"; done
}

# The engine's defaults, explicitly: GnuTLS's own add x448, ffdhe, PKCS#1 ...
prio="NORMAL:-VERS-ALL:+VERS-TLS1.3"
items CIPHER "${TD_SUITES:-TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384,TLS_CHACHA20_POLY1305_SHA256}"
g=${TD_GROUPS:-x25519,secp256r1,secp384r1}
if [ "$TD_ROLE" = server ] && [ "${TD_HRR:-auto}" = always ]; then
    [ -n "${TD_HRR_GROUPS:-}" ] || unsupported serv "hrr always: every group both sides share has a key share, GnuTLS would not ask again"
    g=$TD_HRR_GROUPS
fi
items GROUP "$g"
items SIGN "${TD_SIGALGS:-ecdsa_secp256r1_sha256,ecdsa_secp384r1_sha384,rsa_pss_rsae_sha256,rsa_pss_rsae_sha384,rsa_pss_rsae_sha512,ed25519}"
[ "${TD_RECORD_SIZE:-0}" = 0 ] || unsupported "$side" "the size of the records GnuTLS sends cannot be set"
# The SUT's key log (NSS format; GnuTLS reads SSLKEYLOGFILE): the runner reads alerts
# it cannot decrypt itself.
[ -n "${TD_KEYLOG:-}" ] && export SSLKEYLOGFILE="$TD_KEYLOG"
# An external PSK: GnuTLS's tools take the identity as a user name and bind the PSK to
# SHA-256 (gnutls_psk_allocate_*_credentials).
psk=0
if [ -n "${TD_PSK_IDENTITY:-}" ]; then
    case ${TD_PSK_SUITE:-TLS_AES_128_GCM_SHA256} in
    *SHA256) ;;
    *) unsupported "$side" "GnuTLS's tools bind an external PSK to SHA-256, not $TD_PSK_SUITE" ;;
    esac
    id=$(printf "$(printf '%s' "$TD_PSK_IDENTITY" | sed 's/../\\x&/g')")
    [ -n "$id" ] && [ "$(printf '%s' "$id" | od -An -tx1 | tr -d ' \n')" = "$TD_PSK_IDENTITY" ] &&
        case $id in *[![:print:]]*|*:*) false ;; esac ||
        unsupported "$side" "the PSK identity $TD_PSK_IDENTITY is not printable text without ':'"
    prio="$prio:+ECDHE-PSK:+DHE-PSK:+PSK"
    psk=1
fi

if [ "$TD_ROLE" = server ]; then
    [ "${TD_COOKIE:-0}" = 1 ] && unsupported serv "a TLS server sends no HRR cookie"
    [ -n "${TD_CERT:-}" ] || unsupported serv "no server certificate"
    args=(-p "$TD_PORT" --echo -q --priority "$prio" --x509certfile "$TD_CERT" --x509keyfile "$TD_KEY")
    [ -n "${TD_CA:-}" ] && args+=(--x509cafile "$TD_CA")
    case ${TD_CLIENT_AUTH:-none} in
    none) args+=(--disable-client-cert) ;;
    request) args+=(--verify-client-cert) ;;
    require) args+=(--require-client-cert --verify-client-cert) ;;
    esac
    if [ -n "${TD_ALPN:-}" ]; then
        IFS=, read -ra as <<<"$TD_ALPN"
        for a in "${as[@]}"; do args+=(--alpn "$a"); done
        args+=(--alpn-fatal)
    fi
    [ -n "${TD_SNI:-}" ] && args+=(--sni-hostname "$TD_SNI" --sni-hostname-fatal)
    [ "${TD_TICKETS:-1}" = 0 ] && args+=(--noticket)
    [ "${TD_EARLY_DATA:-0}" != 0 ] && args+=(--earlydata --maxearlydata "$TD_EARLY_DATA")
    if [ "$psk" = 1 ]; then
        printf '%s:%s\n' "$id" "$TD_PSK_KEY" >"$TD_DIR/psk.txt"
        args+=(--pskpasswd "$TD_DIR/psk.txt")
    fi
    exec gnutls-serv "${args[@]}"
fi

# client
first=${g%%,*}
[ -n "${TD_SHARES:-}" ] && [ "$TD_SHARES" != "$first" ] && unsupported cli "the key shares gnutls-cli sends cannot be chosen"
[ "${TD_PSK_KE_ONLY:-0}" = 1 ] && unsupported cli "gnutls-cli cannot offer psk_ke only"
args=(-p "$TD_PORT" --priority "$prio")
if [ "${TD_NO_VERIFY:-0}" = 1 ]; then
    args+=(--insecure)
else
    # The name to verify (TD_SNI is only what goes on the wire; our server checks it).
    args+=(--x509cafile "$TD_CA" --verify-hostname "${TD_VERIFY_NAME:-server.tlsdrill.test}")
fi
if [ -n "${TD_SNI:-}" ]; then args+=(--sni-hostname "$TD_SNI"); else args+=(--disable-sni); fi
[ -n "${TD_CERT:-}" ] && args+=(--x509certfile "$TD_CERT" --x509keyfile "$TD_KEY")
if [ -n "${TD_ALPN:-}" ]; then
    IFS=, read -ra as <<<"$TD_ALPN"
    for a in "${as[@]}"; do args+=(--alpn "$a"); done
fi
[ "$psk" = 1 ] && args+=(--pskusername "$id" --pskkey "$TD_PSK_KEY")
case ${TD_RESUME:-} in
first)
    args+=(--resume --waitresumption)
    [ -n "${TD_EARLY_DATA_FILE:-}" ] && args+=(--earlydata "$TD_EARLY_DATA_FILE") ;;
second) unsupported cli "gnutls-cli resumes only within one process (--resume), not from a saved session" ;;
esac
exec gnutls-cli "${args[@]}" 127.0.0.1
