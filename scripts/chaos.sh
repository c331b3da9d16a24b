#!/usr/bin/env bash
# The chaos tests (tests/chaos/README.md) with the long load: builds like test.sh, then runs
# `ctest -L chaos` (the broker fixture included) with ZB_CHAOS_REQUESTS=20000 unless the
# environment sets it, printing every test's output, counts included. Extra arguments go to CMake.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
"$root/scripts/build.sh" -DZB_INTEGRATION=ON -DZB_CHAOS=ON "$@"
"$root/scripts/kafka/broker.sh" fetch
cd "$build"
ZB_CHAOS_REQUESTS=${ZB_CHAOS_REQUESTS:-20000} ctest -L chaos --verbose --timeout 600
