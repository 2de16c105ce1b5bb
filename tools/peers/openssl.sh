#!/usr/bin/env bash
# tools/peers/openssl.sh -- shim for `tlsdrill run --peer 'exec:tools/peers/openssl.sh'`:
# openssl s_server (the SUT is a server) or s_client (a client) on 127.0.0.1:$TD_PORT,
# configured from the TD_* variables (the contract: tools/peers/README.md). What the
# command line tools cannot express exits 89 with the reason on stderr: the case is
# reported `unsupported`, not failed. OPENSSL=path picks another binary.
set -u
OPENSSL=${OPENSSL:-openssl}
unsupported() { echo "openssl s_${TD_ROLE}: $*" >&2; exit 89; }
# TD_ROLE=version: the SUT's version (tlsdrill peers --version, tools/matrix.py).
if [ "${TD_ROLE:-}" = version ]; then v=$("$OPENSSL" version) || exit 1; echo "${v%% (*} (s_server/s_client)"; exit 0; fi

# No command substitution on the common path: each forks the shell, and a case starts
# this shim once per connection (several at once with `tlsdrill run -j N`).
# Engine names -> OpenSSL names.
group() { # engine name -> $gr
    case $1 in
    x25519) gr=X25519 ;; x448) gr=X448 ;; secp256r1) gr=P-256 ;;
    secp384r1) gr=P-384 ;; secp521r1) gr=P-521 ;;
    ffdhe*) gr=$1 ;;
    *) unsupported "no group $1" ;;
    esac
}
groups() { # comma list -> $grs, a colon list
    local g
    grs=""
    IFS=, read -ra gs <<<"$1"
    for g in "${gs[@]}"; do group "$g"; grs="${grs:+$grs:}$gr"; done
}
suites() { # comma list -> $sl, a colon list
    case $1 in *0x*) unsupported "no TLS 1.3 suite ${1}" ;; esac
    sl=${1//,/:}
}
sigalgs() { # comma list -> $sl, a colon list
    case $1 in *0x*) unsupported "unknown signature scheme in ${1}" ;; esac
    case ",$1," in *,ecdsa_sha1,*|*,rsa_pkcs1_sha1,*) unsupported "OpenSSL 3.0 refuses SHA-1 schemes in TLS 1.3 lists" ;; esac
    sl=${1//,/:}
}

common=(-tls1_3)
# The SUT's key log (NSS format): the runner reads alerts it cannot decrypt itself.
[ -n "${TD_KEYLOG:-}" ] && common+=(-keylogfile "$TD_KEYLOG")
# An external PSK: s_server/s_client take the key in hex and the identity as text, and use
# it with TLS_AES_128_GCM_SHA256 only (apps/s_server.c psk_find_session_cb).
if [ -n "${TD_PSK_IDENTITY:-}" ]; then
    case ${TD_PSK_SUITE:-TLS_AES_128_GCM_SHA256} in
    TLS_AES_128_GCM_SHA256) ;;
    *) unsupported "s_server/s_client use an external PSK with TLS_AES_128_GCM_SHA256 only, not $TD_PSK_SUITE" ;;
    esac
    id=$(printf "$(printf '%s' "$TD_PSK_IDENTITY" | sed 's/../\\x&/g')")
    [ -n "$id" ] && [ "$(printf '%s' "$id" | od -An -tx1 | tr -d ' \n')" = "$TD_PSK_IDENTITY" ] &&
        case $id in *[![:print:]]*) false ;; esac ||
        unsupported "the PSK identity $TD_PSK_IDENTITY is not printable text (-psk_identity)"
    # s_server's PSK session (psk_find_session_cb) allows no early data.
    [ "$TD_ROLE" = server ] && [ "${TD_EARLY_DATA:-0}" != 0 ] && unsupported "s_server's external PSK session allows no 0-RTT"
    common+=(-psk "$TD_PSK_KEY" -psk_identity "$id")
fi
[ -n "${TD_SUITES:-}" ] && { suites "$TD_SUITES"; common+=(-ciphersuites "$sl"); }
[ -n "${TD_SIGALGS:-}" ] && { sigalgs "$TD_SIGALGS"; common+=(-sigalgs "$sl"); }
[ -n "${TD_ALPN:-}" ] && common+=(-alpn "$TD_ALPN")
[ -n "${TD_CA:-}" ] && common+=(-CAfile "$TD_CA")
if [ "${TD_RECORD_SIZE:-0}" != 0 ]; then
    [ "$TD_RECORD_SIZE" -ge 512 ] && [ "$TD_RECORD_SIZE" -le 16384 ] || unsupported "record size $TD_RECORD_SIZE outside 512..16384"
    common+=(-max_send_frag "$TD_RECORD_SIZE")
fi

if [ "$TD_ROLE" = server ]; then
    args=(s_server -accept "127.0.0.1:$TD_PORT" "${common[@]}" -quiet -no_anti_replay)
    [ -n "${TD_CERT:-}" ] || unsupported "no server certificate"
    args+=(-cert "$TD_CERT" -key "$TD_KEY")
    # A certificate bound to a name: s_server answers another name with a fatal
    # unrecognized_name (its servername callback needs a second certificate: the same);
    # it cannot be told to refuse a ClientHello without server_name.
    [ -n "${TD_SNI:-}" ] && args+=(-servername "$TD_SNI" -servername_fatal -cert2 "$TD_CERT" -key2 "$TD_KEY")
    # Cookies: s_server -stateless (SSL_stateless: an HRR with a cookie to every
    # ClientHello without a valid one); not together with 0-RTT.
    if [ "${TD_COOKIE:-0}" = 1 ]; then
        [ "${TD_EARLY_DATA:-0}" = 0 ] || unsupported "s_server's stateless (cookie) mode and 0-RTT together"
        args+=(-stateless)
    fi
    g=${TD_GROUPS:-x25519,secp256r1,secp384r1}
    if [ "${TD_HRR:-auto}" = always ]; then
        [ -n "${TD_HRR_GROUPS:-}" ] || unsupported "hrr always: every group both sides share has a key share, OpenSSL would not ask again"
        g=$TD_HRR_GROUPS
    fi
    groups "$g"; args+=(-groups "$grs")
    [ -z "${TD_SIGALGS:-}" ] && args+=(-sigalgs "ecdsa_secp256r1_sha256:ecdsa_secp384r1_sha384:rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:rsa_pss_rsae_sha512:ed25519")
    case ${TD_CLIENT_AUTH:-none} in
    request) args+=(-verify 1 -verify_return_error) ;;
    require) args+=(-Verify 1 -verify_return_error) ;;
    esac
    args+=(-num_tickets "${TD_TICKETS:-1}" -allow_no_dhe_kex)
    [ "${TD_EARLY_DATA:-0}" != 0 ] && args+=(-early_data -max_early_data "$TD_EARLY_DATA" -recv_max_early_data "$TD_EARLY_DATA")
    exec "$OPENSSL" "${args[@]}"
fi

# client
args=(s_client -connect "127.0.0.1:$TD_PORT" "${common[@]}" -quiet)
[ "${TD_NO_VERIFY:-0}" = 1 ] || args+=(-verify_return_error)
g=${TD_GROUPS:-x25519,secp256r1,secp384r1}
first=${g%%,*}
[ -n "${TD_SHARES:-}" ] && [ "$TD_SHARES" != "$first" ] && unsupported "s_client sends exactly one key share, for its first group"
groups "$g"; args+=(-groups "$grs")
[ -z "${TD_SIGALGS:-}" ] && args+=(-sigalgs "ecdsa_secp256r1_sha256:ecdsa_secp384r1_sha384:rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:rsa_pss_rsae_sha512:ed25519")
[ "${TD_PSK_KE_ONLY:-0}" = 1 ] && unsupported "s_client always offers psk_dhe_ke"
[ "${TD_PSK_KE:-0}" = 1 ] && args+=(-allow_no_dhe_kex)
[ "${TD_COMPAT:-0}" = 1 ] || args+=(-no_middlebox)
# The name to check the server certificate against (TD_SNI is only what goes on the wire).
[ "${TD_NO_VERIFY:-0}" = 1 ] || [ -z "${TD_VERIFY_NAME:-}" ] || args+=(-verify_hostname "$TD_VERIFY_NAME")
if [ -n "${TD_SNI:-}" ]; then args+=(-servername "$TD_SNI"); else args+=(-noservername); fi
[ -n "${TD_CERT:-}" ] && args+=(-cert "$TD_CERT" -key "$TD_KEY")
case ${TD_RESUME:-} in
second)
    [ -s "$TD_SESSION" ] || unsupported "no session saved by the first connection"
    args+=(-sess_in "$TD_SESSION")
    [ -n "${TD_EARLY_DATA_FILE:-}" ] && args+=(-early_data "$TD_EARLY_DATA_FILE") ;;
*) args+=(-sess_out "$TD_SESSION") ;;
esac
exec "$OPENSSL" "${args[@]}"
