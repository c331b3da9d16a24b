#!/usr/bin/env bash
# Configures and builds into ${BUILD_DIR:-build} (extra CMake arguments pass through).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -G Ninja "$@" >/dev/null
cmake --build "$build" -j2
