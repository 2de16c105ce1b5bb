#!/usr/bin/env bash
# tools/peers/go.sh -- shim for `tlsdrill run --peer 'exec:tools/peers/go.sh'`: Go's
# crypto/tls as the SUT, server or client on 127.0.0.1:$TD_PORT, configured from the
# TD_* variables (tools/peers/go/main.go says how, and what exits 89 = unsupported).
# Builds the shim (standard library only, no module downloads) into
# build/peers/go/tdgo on first use and whenever its sources are newer;
# TD_GO_SHIM=path uses a prebuilt binary instead. GO=path picks the toolchain.
# `go.sh build` only builds (tools/test.sh).
set -u
# No command substitution or helper program on the common path (each forks): a case
# starts this shim once per connection, several at once with `tlsdrill run -j N`.
here=${BASH_SOURCE[0]%/*}
[ "$here" = "${BASH_SOURCE[0]}" ] && here=.
case $here in /*) ;; *) here=$PWD/$here ;; esac
root=$here/../..
src=$root/tools/peers/go
out=$root/build/peers/go
bin=${TD_GO_SHIM:-$out/tdgo}
GO=${GO:-go}

stale() {
    [ -x "$bin" ] || return 0
    local f
    shopt -s globstar nullglob
    for f in "$src"/**/*.go "$src"/**/go.mod; do [ "$f" -nt "$bin" ] && return 0; done
    return 1
}

if [ "${1:-}" = build ] || { [ -z "${TD_GO_SHIM:-}" ] && stale; }; then
    command -v "$GO" >/dev/null 2>&1 || {
        echo "go.sh: the Go toolchain ($GO) is not installed (Debian: golang-go)" >&2
        exit 2
    }
    mkdir -p "$out"
    # One build at a time (parallel cases); the binary replaced atomically.
    exec 9>"$out/.lock"
    flock 9
    if [ "${1:-}" = build ] || stale; then
        (cd "$src" && GOFLAGS=-mod=mod GOPROXY=off GO111MODULE=on CGO_ENABLED=0 \
            GOCACHE="$out/cache" GOPATH="$out/gopath" GOTELEMETRY=off \
            "$GO" build -trimpath -o "$out/tdgo.tmp.$$" .) >&2 || {
            echo "go.sh: building the Go shim failed" >&2
            exit 2
        }
        mv -f "$out/tdgo.tmp.$$" "$bin"
    fi
    exec 9>&-
fi
[ "${1:-}" = build ] && exit 0
exec "$bin"
