#!/usr/bin/env bash
# Installs, builds and runs every test (unit, spec, and integration tests against a real Apache
# Kafka broker that the tests start on loopback). Extra arguments go to CMake.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
"$root/scripts/build.sh" "$@"
if [ -x "$root/scripts/kafka/broker.sh" ]; then
  "$root/scripts/kafka/broker.sh" fetch
fi
cd "$build"
ctest --output-on-failure --timeout 600 -j"${TEST_JOBS:-1}"
