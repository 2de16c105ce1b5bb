#!/usr/bin/env bash
# tools/run.sh -- set up, build (default preset) and run the main job: the
# engine's self-check against the RFC 8448 traces, then the conformance suite
# (every scenario under scenarios/, strict mode) with its summary.
# Extra arguments go to `tlsdrill run` (e.g. --filter binder, --json FILE).
# Exits non-zero if either fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)" >/dev/null
rc=0
./build/default/tlsdrill selfcheck || rc=1
./build/default/tlsdrill run scenarios/ --strict --stats "$@" || rc=1
exit $rc
