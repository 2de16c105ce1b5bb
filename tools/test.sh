#!/usr/bin/env bash
# tools/test.sh -- set up, then every test: the C unit tests (ctest) in the
# default build and under ASan+UBSan, then the pytest suite (which also runs
# the libFuzzer build's fuzz targets briefly: that preset is built too). Exits non-zero if
# anything fails; the last lines are the test runners' own summaries.
set -uo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh || exit 1
jobs=$(nproc)
status=0

build() {
    local log="build/$1.log"
    mkdir -p build
    if ! { cmake --preset "$1" && cmake --build --preset "$1" -j "$jobs"; } >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        return 1
    fi
}

for preset in default asan; do
    echo "== build ($preset)"
    if ! build "$preset"; then
        echo "test.sh: build failed for preset $preset" >&2
        exit 1
    fi
done

# The fuzz targets: libFuzzer (ASan+UBSan) always, AFL++ when afl-clang-fast
# is there (tests/test_fuzz.py runs each briefly; it skips AFL++ without it).
echo "== build (libfuzzer)"
if ! build libfuzzer; then
    echo "test.sh: build failed for preset libfuzzer" >&2
    exit 1
fi
if command -v afl-clang-fast >/dev/null 2>&1; then
    echo "== build (afl)"
    if ! build afl; then
        echo "test.sh: build failed for preset afl" >&2
        exit 1
    fi
fi

# The Go crypto/tls shim (tools/peers/go.sh), when Go is installed: the interop
# tests play the scenario suites against it (they skip without Go).
if command -v go >/dev/null 2>&1; then
    echo "== build (go shim)"
    if ! tools/peers/go.sh build >build/go-shim.log 2>&1; then
        cat build/go-shim.log >&2
        echo "test.sh: building the Go shim failed" >&2
        exit 1
    fi
fi

for preset in default asan; do
    echo "== ctest ($preset)"
    ctest --preset "$preset" -j "$jobs" || status=1
done

echo "== pytest"
TD_BUILD_DIR="$PWD/build/default" TD_ASAN_BUILD_DIR="$PWD/build/asan" \
    TD_LIBFUZZER_BUILD_DIR="$PWD/build/libfuzzer" TD_AFL_BUILD_DIR="$PWD/build/afl" \
    /usr/bin/python3 -m pytest -q tests
rc=$?
# pytest exits 5 when it collects nothing: for this suite that is a failure too.
[ $rc -eq 0 ] || status=1
exit $status
