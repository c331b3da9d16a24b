#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz with clang-14 (ASan + UBSan) into build-fuzz/ and
# runs each for the given number of seconds (default 30), starting from the committed seeds in
# tests/fuzz/corpus/<harness>. Exits non-zero when any harness finds a crash, a hang, a leak or a
# broken property; the input that did it is in build-fuzz/artifacts/<harness>/.
#
#   scripts/fuzz.sh            30 s per harness
#   scripts/fuzz.sh 600        ten minutes each
#   FUZZ_HARNESSES="frames_fuzz" scripts/fuzz.sh 3600
#   scripts/fuzz.sh replay     only replays the committed seeds (regressions included) once:
#                              deterministic, what CI runs
#
# The known issues in tests/fuzz/known/<harness>/ (bugs outside the harnesses, guarded inside them
# so that fuzzing can go on) are replayed without their guards at the end: each one is reported
# as still present or as fixed, without failing the run. See docs/fuzzing.md.
set -euo pipefail

seconds=${1:-30}
replay=0
if [ "$seconds" = replay ]; then
  replay=1
elif ! [[ $seconds =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
  echo "usage: $0 [seconds-per-harness | replay]" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
harnesses=(${FUZZ_HARNESSES:-config_fuzz extension_fuzz frames_fuzz headers_fuzz})
jobs=${FUZZ_BUILD_JOBS:-$(nproc)}

# ---- Tools: clang-14 with its sanitizer and libFuzzer runtimes, and what the sources need.
packages=(clang-14 libclang-rt-14-dev cmake ninja-build pkg-config flatbuffers-compiler
          libflatbuffers-dev libjsoncpp-dev libyaml-cpp-dev libvalijson-dev)
"$root/scripts/install-deps.sh" "${packages[@]}"

# ---- Build (a project of its own: tests/fuzz/CMakeLists.txt).
if [ ! -f "$build/build.ninja" ]; then
  CC=clang-14 CXX=clang++-14 cmake -S "$root/tests/fuzz" -B "$build" -G Ninja >/dev/null
fi
cmake --build "$build" -j"$jobs" --target "${harnesses[@]}"

# ---- Run.
status=0
summary=()
for harness in "${harnesses[@]}"; do
  corpus=$build/corpus/$harness  # grows across runs; the committed seeds stay as they are
  artifacts=$build/artifacts/$harness
  mkdir -p "$corpus" "$artifacts"
  options=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
           -artifact_prefix="$artifacts/")
  if [ -f "$root/tests/fuzz/$harness.dict" ]; then
    options+=(-dict="$root/tests/fuzz/$harness.dict")
  fi
  log=$build/$harness.log
  inputs=("$corpus" "$root/tests/fuzz/corpus/$harness")
  if [ $replay = 1 ]; then
    options=(-runs=0 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
             -artifact_prefix="$artifacts/")
    inputs=("$root/tests/fuzz/corpus/$harness")
    echo "fuzz.sh: $harness, replaying $(ls "${inputs[0]}" | wc -l) seeds"
  else
    echo "fuzz.sh: $harness for ${seconds}s"
  fi
  if "$build/$harness" "${options[@]}" "${inputs[@]}" >"$log" 2>&1; then
    runs=$(grep -a -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || true)
    summary+=("$harness: ok, ${runs:-?} inputs")
  else
    status=1
    artifact=$(grep -a -o "Test unit written to [^ ]*" "$log" | tail -1 | sed 's/Test unit written to //')
    summary+=("$harness: FAILED, input ${artifact:-(none written)}")
    echo "---- $harness: the end of $log"
    grep -a -v '^#[0-9]' "$log" | tail -40
    echo "---- reproduce: $build/$harness ${artifact:-<input>}"
    echo "---- (frames_fuzz: ZB_FUZZ_TRACE=1 prints every frame)"
  fi
done

# ---- Known issues, replayed without their guards.
for harness in "${harnesses[@]}"; do
  known_dir=$root/tests/fuzz/known/$harness
  [ -d "$known_dir" ] || continue
  for known in "$known_dir"/*; do
    [ -f "$known" ] || continue
    if ZB_FUZZ_NO_GUARDS=1 timeout 20 "$build/$harness" -timeout=3 -rss_limit_mb=1024 "$known" \
      >/dev/null 2>&1; then
      summary+=("known issue FIXED, remove its guard: ${known#"$root"/}")
    else
      summary+=("known issue still present: ${known#"$root"/}")
    fi
  done
done

echo "fuzz.sh: summary"
printf '  %s\n' "${summary[@]}"
exit $status
