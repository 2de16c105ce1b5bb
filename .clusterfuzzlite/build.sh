#!/bin/bash -eu
# .clusterfuzzlite/build.sh -- builds every target of fuzz/targets.txt the
# OSS-Fuzz way and puts into $OUT, per target: the binary <target>,
# <target>_seed_corpus.zip (corpus/<target>/ + corpus/regressions/<target>/),
# <target>.dict and <target>.options (twins <name>_fm fall back to <name>'s).
#
# Inputs (OSS-Fuzz/ClusterFuzzLite conventions): $CC $CXX $CFLAGS $CXXFLAGS
# $LIB_FUZZING_ENGINE $OUT $SRC (and $WORK for scratch). Ours, for running
# outside Docker (tests/test_clusterfuzzlite.py): TD_SRC_DIR (default
# $SRC/tlsdrill), TD_SYSTEM_OPENSSL=1 (use the system OpenSSL even when
# $SRC/openssl exists), TD_JOBS.

src_dir="${TD_SRC_DIR:-$SRC/tlsdrill}"
work="${WORK:-$(mktemp -d)}"
jobs="${TD_JOBS:-$(nproc)}"
build="$work/tlsdrill-build"

# OpenSSL: in the image, libcrypto/libssl are built from $SRC/openssl with the
# same flags (instrumented, and required for MSan); outside it, the system's.
openssl_args=()
if [ -d "$SRC/openssl" ] && [ -z "${TD_SYSTEM_OPENSSL:-}" ]; then
    prefix="$work/openssl-install"
    if [ ! -f "$prefix/lib/libcrypto.a" ]; then
        (cd "$SRC/openssl" &&
            CC="$CC" CFLAGS="$CFLAGS" ./Configure no-shared no-tests no-module no-asm no-apps \
                --prefix="$prefix" --libdir=lib &&
            make -j"$jobs" build_libs && make install_dev)
    fi
    openssl_args=(-DOPENSSL_ROOT_DIR="$prefix" -DOPENSSL_USE_STATIC_LIBS=TRUE)
fi

# The engine and the harness get $CFLAGS (sanitizers, coverage instrumentation
# with fuzzer-no-link); only the targets link $LIB_FUZZING_ENGINE, with $CXX.
cmake -S "$src_dir" -B "$build" \
    -DCMAKE_BUILD_TYPE= \
    -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
    -DCMAKE_C_FLAGS="$CFLAGS" -DCMAKE_CXX_FLAGS="$CXXFLAGS" \
    -DTD_FUZZ=ON -DTD_FUZZ_LINK="$LIB_FUZZING_ENGINE" -DTD_FUZZ_LINK_CXX=ON \
    -DTD_BUILD_TESTS=OFF -DTD_WERROR=OFF \
    ${openssl_args[@]+"${openssl_args[@]}"}
cmake --build "$build" -j"$jobs"

side_file() { # side_file TARGET EXT -> fuzz/TARGET.EXT, else the twin's base
    local t="$1" ext="$2"
    for name in "$t" "${t%_fm}"; do
        if [ -f "$src_dir/fuzz/$name.$ext" ]; then
            echo "$src_dir/fuzz/$name.$ext"
            return
        fi
    done
}

# The names: the first word of each line (the rest are flags CMake reads).
targets=$(sed -e 's/#.*//' "$src_dir/fuzz/targets.txt" | awk 'NF { print $1 }')
mkdir -p "$OUT"
for t in $targets; do
    # sut_<lib>_*: only when this build has the library's adapter (CMake found it; the
    # image installs what it can): a target that cannot set up is not shipped.
    case "$t" in
    sut_gnutls_*) grep -q '^TD_GNUTLS_FOUND:INTERNAL=1' "$build/CMakeCache.txt" || {
        echo "build.sh: $t left out (no GnuTLS in this image)" >&2; continue; } ;;
    sut_wolfssl_*) grep -q '^TD_WOLFSSL_FOUND:INTERNAL=1' "$build/CMakeCache.txt" || {
        echo "build.sh: $t left out (no wolfSSL in this image)" >&2; continue; } ;;
    esac
    bin="$build/fuzz/fuzz_$t"
    if [ ! -x "$bin" ]; then
        echo "build.sh: $bin was not built" >&2
        exit 1
    fi
    cp "$bin" "$OUT/$t"
    for ext in dict options; do
        f=$(side_file "$t" "$ext")
        if [ -n "$f" ]; then cp "$f" "$OUT/$t.$ext"; fi
    done
    # Seeds: the committed corpus plus every regression (names prefixed: no clash).
    seeds="$work/seeds-$t"
    rm -rf "$seeds" && mkdir -p "$seeds"
    for pair in "seed:$src_dir/corpus/$t" "seed:$src_dir/corpus/${t%_fm}" \
        "regression:$src_dir/corpus/regressions/$t"; do
        d="${pair#*:}"
        [ -d "$d" ] || continue
        for f in "$d"/*; do
            if [ -f "$f" ]; then cp "$f" "$seeds/${pair%%:*}-$(basename "$f")"; fi
        done
    done
    rm -f "$OUT/${t}_seed_corpus.zip"
    if [ -n "$(ls -A "$seeds")" ]; then
        (cd "$seeds" && zip -q -X "$OUT/${t}_seed_corpus.zip" ./*)
    fi
done
echo "build.sh: $(echo "$targets" | wc -w) targets in $OUT"
