#!/usr/bin/env bash
# tools/run.sh -- set up, build (default preset) and run the main job:
# the engine's self-check against the RFC 8448 traces, as a short table.
# Extra arguments go to `tlsdrill selfcheck` (e.g. --verbose).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)" >/dev/null
exec ./build/default/tlsdrill selfcheck "$@"
