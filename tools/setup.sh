#!/usr/bin/env bash
# tools/setup.sh -- install the Debian packages tlsdrill needs, only those missing.
# Sourced by run.sh and test.sh; safe to run on its own. Needs root (or sudo)
# only when something is missing.
set -euo pipefail

# Build: compilers, CMake, OpenSSL 3 headers. Tests: clang's sanitizer runtime,
# Debian's pytest (the pyenv python3 on PATH has none: we use /usr/bin/python3).
TD_PACKAGES=(cmake make gcc clang-14 libclang-rt-14-dev libssl-dev openssl python3 python3-pytest)
# In-process systems under test besides libssl (engine/peers/gnutls.c, wolfssl.c:
# `run --peer gnutls-lib|wolfssl`, the sut_* fuzz targets); CMake builds each adapter
# when pkg-config finds the library.
TD_PACKAGES+=(libgnutls28-dev libwolfssl-dev)
# `tlsdrill report`: Jansson (JSON parser), found through pkg-config.
TD_PACKAGES+=(libjansson-dev pkg-config)
# Interop tests (tests/test_interop_net.py): GnuTLS's gnutls-cli/gnutls-serv as
# real peers of `tlsdrill serve/connect`.
TD_PACKAGES+=(gnutls-bin)
# Reports (tests/test_reports.py): xmllint checks the JUnit file against tests/junit.xsd.
TD_PACKAGES+=(libxml2-utils)
# Fuzzing (tools/fuzzctl, .clusterfuzzlite/build.sh): AFL++ (afl-fuzz,
# afl-clang-fast, afl-cmin, afl-tmin), llvm-14 (llvm-profdata-14, llvm-cov-14
# for `fuzzctl coverage`; llvm-symbolizer for sanitizer stacks), zip (seed
# corpora in $OUT).
TD_PACKAGES+=(afl++ llvm-14 zip)
# Optional: tshark decodes our pcap + key log in one test; headless Chromium
# renders `tlsdrill report`'s HTML in tests/test_report.py; golang-go builds the
# Go crypto/tls shim (tools/peers/go.sh) for the Go column of the conformance
# matrix (their tests skip without them); a failed install only warns.
TD_OPTIONAL_PACKAGES=(tshark chromium golang-go)

td_missing_packages() {
    local p missing=()
    for p in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$p")
        fi
    done
    echo "${missing[@]:-}"
}

td_install_packages() {
    local missing
    missing=$(td_missing_packages "$@")
    [ -z "$missing" ] && return 0
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo="sudo"
        else
            echo "setup: missing Debian packages: $missing (run as root or install them)" >&2
            return 1
        fi
    fi
    echo "setup: installing missing Debian packages: $missing" >&2
    $sudo apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >&2
}

td_install_packages "${TD_PACKAGES[@]}"
td_install_packages "${TD_OPTIONAL_PACKAGES[@]}" ||
    echo "setup: optional packages not installed (${TD_OPTIONAL_PACKAGES[*]}): their tests skip" >&2
