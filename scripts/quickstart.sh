#!/usr/bin/env bash
# The quickstart: builds, then runs the bridge for real on one machine —
#   the embedded Kafka (inside zilla-host's kafka binding), the example gRPC echo service,
#   zilla-host with examples/quickstart/zilla.yaml —
# sends one request of each gRPC call kind as Kafka records, prints the replies, and stops.
# Set KEEP_RUNNING=1 to leave zilla-host and the echo service serving until Ctrl-C;
# SKIP_BUILD=1 (with BUILD_DIR) runs an existing build, as the quickstart test does.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  "$root/scripts/build.sh"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/zb-quickstart.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits (at most $3 seconds) for a line matching $2 in file $1 and prints its first match.
await_line() {
  local file=$1 pattern=$2 limit=$3 waited=0
  until grep -m1 -oE "$pattern" "$file" 2>/dev/null; do
    if [ "$waited" -ge $((limit * 10)) ]; then
      echo "quickstart: gave up waiting for '$pattern' in $file:" >&2
      cat "$file" >&2
      return 1
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
}

echo "== starting the gRPC echo service"
"$build/examples/echo/echo-server" --port 0 >"$work/echo.log" 2>&1 &
pids+=($!)
echo_address=$(await_line "$work/echo.log" '127\.0\.0\.1:[0-9]+' 30)
echo "   echo service on $echo_address"

echo "== starting zilla-host with examples/quickstart/zilla.yaml (embedded Kafka)"
ECHO_SERVER_PORT=${echo_address##*:} "$build/runtime/host/zilla-host" start \
  -c "$root/examples/quickstart/zilla.yaml" --log-format text >"$work/zilla.log" 2>&1 &
pids+=($!)
bootstrap=$(await_line "$work/zilla.log" 'embedded Kafka at [0-9.]+:[0-9]+' 60 | awk '{print $NF}')
echo "   embedded Kafka at $bootstrap (kcat -b $bootstrap -L)"

client=("$build/examples/echo-client/echo-client" --bootstrap "$bootstrap"
  --requests echo-requests --responses echo-responses --timeout-ms 30000)
status=0
echo "== unary"
"${client[@]}" --method UnaryEcho --message "Hello World" || status=1
echo "== server streaming"
"${client[@]}" --method ServerStreamingEcho --message "Hello stream" || status=1
echo "== client streaming"
"${client[@]}" --method ClientStreamingEcho --message "Hello" --message "from" --message "Kafka" || status=1
echo "== bidi streaming"
"${client[@]}" --method BidirectionalStreamingEcho --message "ping 1" --message "ping 2" || status=1

if [ "${KEEP_RUNNING:-0}" = 1 ]; then
  echo "== serving: zilla-host logs in $work/zilla.log; Ctrl-C stops everything"
  wait "${pids[1]}"
fi
if [ "$status" != 0 ]; then
  echo "quickstart: some requests got no OK reply; zilla-host said:" >&2
  tail -n 50 "$work/zilla.log" >&2
fi
exit "$status"
