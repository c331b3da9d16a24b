#!/usr/bin/env bash
# A single-node Apache Kafka broker (KRaft, controller+broker in one JVM) on loopback, for tests,
# benchmarks and local runs. Its jars come from Maven Central through Maven.
#
#   broker.sh fetch                 download Kafka and its runtime dependencies into the cache
#   broker.sh start <dir> <port>    format <dir> (once) and start a broker on 127.0.0.1:<port>,
#                                   waiting until it answers; prints the bootstrap address
#   broker.sh stop <dir>            stop the broker started in <dir>
#   broker.sh kill <dir>            SIGKILL the broker's JVM (a crash, no clean shutdown) and wait
#                                   until it is gone; a later start recovers its logs
#   broker.sh status <dir>          exit 0 when the broker of <dir> is running and answers
#
# Every command is idempotent: fetch skips what is cached, start returns at once when the broker
# of <dir> already answers, stop and kill succeed when nothing runs.
#
# Environment:
#   ZB_KAFKA_CACHE            cache dir for the jars (default ~/.cache/zb-kafka)
#   ZB_KAFKA_VERSIONS         versions to try, in order (default "4.1.1 4.1.0 4.0.1 4.0.0")
#   ZB_KAFKA_CONTROLLER_PORT  the KRaft controller's port (default: a free port)
#   ZB_KAFKA_START_TIMEOUT    seconds to wait for the broker to answer (default 120)
#   ZB_KAFKA_HEAP             JVM heap options (default "-Xms256m -Xmx1g")
set -euo pipefail

CACHE="${ZB_KAFKA_CACHE:-${HOME}/.cache/zb-kafka}"
VERSIONS="${ZB_KAFKA_VERSIONS:-4.1.1 4.1.0 4.0.1 4.0.0}"
LOG4J_VERSION="2.24.3"
START_TIMEOUT="${ZB_KAFKA_START_TIMEOUT:-120}"
HEAP="${ZB_KAFKA_HEAP:--Xms256m -Xmx1g}"

die() {
  echo "broker.sh: $*" >&2
  exit 1
}

usage() {
  sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# The pom whose dependencies are a runnable broker: Kafka's server jar (kafka_2.13) and a log4j2
# backend for its SLF4J logging.
write_pom() {
  local version="$1" dir="$2"
  cat >"${dir}/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>zb.local</groupId>
  <artifactId>zb-kafka-broker</artifactId>
  <version>${version}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>${version}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>${LOG4J_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>${LOG4J_VERSION}</version>
    </dependency>
  </dependencies>
</project>
EOF
}

# Prints the cached version's libs dir, or nothing.
cached_libs() {
  local version
  [[ -f "${CACHE}/VERSION" ]] || return 0
  version="$(cat "${CACHE}/VERSION")"
  if compgen -G "${CACHE}/${version}/libs/kafka_2.13-${version}.jar" >/dev/null; then
    echo "${CACHE}/${version}/libs"
  fi
}

cmd_fetch() {
  local libs version dir
  libs="$(cached_libs)"
  if [[ -n "${libs}" ]]; then
    echo "Kafka $(cat "${CACHE}/VERSION") cached in ${libs}"
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
  mkdir -p "${CACHE}"
  for version in ${VERSIONS}; do
    dir="${CACHE}/${version}"
    mkdir -p "${dir}"
    write_pom "${version}" "${dir}"
    echo "fetching org.apache.kafka:kafka_2.13:${version} and its dependencies into ${dir}/libs"
    if mvn -q -B -f "${dir}/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="${dir}/libs" >"${dir}/fetch.log" 2>&1 &&
      [[ -f "${dir}/libs/kafka_2.13-${version}.jar" ]]; then
      echo "${version}" >"${CACHE}/VERSION"
      echo "Kafka ${version} cached in ${dir}/libs"
      return 0
    fi
    echo "Kafka ${version} not available (see ${dir}/fetch.log); trying the next version" >&2
    rm -rf "${dir}/libs"
  done
  die "no Kafka version of '${VERSIONS}' could be fetched"
}

# A free TCP port on loopback, from the kernel.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

running_pid() {
  local dir="$1" pid
  [[ -f "${dir}/broker.pid" ]] || return 1
  pid="$(cat "${dir}/broker.pid")"
  [[ -n "${pid}" ]] && kill -0 "${pid}" 2>/dev/null || return 1
  echo "${pid}"
}

answers() {
  kcat -b "$1" -L -m 3 >/dev/null 2>&1
}

# A KRaft cluster id: 16 random bytes, URL-safe base64 without padding, not starting with '-'.
cluster_id() {
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
    [[ "${id}" != -* ]] && break
  done
  echo "${id}"
}

write_config() {
  local dir="$1" port="$2" cport="$3"
  cat >"${dir}/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${cport}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${cport}
advertised.listeners=PLAINTEXT://127.0.0.1:${port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=${dir}/data
num.partitions=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.ms=3600000
log.retention.bytes=268435456
log.segment.bytes=16777216
log.retention.check.interval.ms=60000
EOF
  cat >"${dir}/log4j2.properties" <<EOF
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = ${dir}/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.file.ref = FILE
logger.started.name = kafka.server.KafkaRaftServer
logger.started.level = INFO
EOF
}

cmd_start() {
  local dir="$1" port="$2" libs cport pid deadline bootstrap
  [[ "${port}" =~ ^[0-9]+$ ]] || die "port must be a number: ${port}"
  mkdir -p "${dir}"
  dir="$(cd "${dir}" && pwd)"
  bootstrap="127.0.0.1:${port}"

  if pid="$(running_pid "${dir}")"; then
    if [[ "$(cat "${dir}/bootstrap" 2>/dev/null)" == "${bootstrap}" ]] && answers "${bootstrap}"; then
      echo "${bootstrap}"
      return 0
    fi
    die "a broker (pid ${pid}) already runs from ${dir} but does not answer on ${bootstrap}; stop it first"
  fi
  port_in_use "${port}" && die "port ${port} is already in use"

  cmd_fetch >/dev/null
  libs="$(cached_libs)"
  [[ -n "${libs}" ]] || die "Kafka jars missing from ${CACHE}"

  cport="${ZB_KAFKA_CONTROLLER_PORT:-$(free_port)}"
  write_config "${dir}" "${port}" "${cport}"
  local java_opts=(${HEAP} -XX:+UseG1GC -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=${dir}/log4j2.properties" "-Dkafka.logs.dir=${dir}")

  if [[ ! -f "${dir}/data/meta.properties" ]]; then
    [[ -f "${dir}/cluster.id" ]] || cluster_id >"${dir}/cluster.id"
    java "${java_opts[@]}" -cp "${libs}/*" kafka.tools.StorageTool format \
      -t "$(cat "${dir}/cluster.id")" -c "${dir}/server.properties" >"${dir}/format.log" 2>&1 ||
      { cat "${dir}/format.log" >&2; die "formatting ${dir}/data failed"; }
  fi

  nohup java "${java_opts[@]}" -cp "${libs}/*" kafka.Kafka "${dir}/server.properties" \
    >"${dir}/console.log" 2>&1 </dev/null &
  pid=$!
  echo "${pid}" >"${dir}/broker.pid"
  echo "${bootstrap}" >"${dir}/bootstrap"

  deadline=$((SECONDS + START_TIMEOUT))
  until answers "${bootstrap}"; do
    if ! kill -0 "${pid}" 2>/dev/null; then
      rm -f "${dir}/broker.pid"
      tail -n 30 "${dir}/console.log" "${dir}/server.log" >&2 2>/dev/null || true
      die "the broker exited before answering (logs in ${dir})"
    fi
    if ((SECONDS >= deadline)); then
      cmd_stop "${dir}" >/dev/null
      die "the broker did not answer on ${bootstrap} within ${START_TIMEOUT}s (logs in ${dir})"
    fi
    sleep 0.5
  done
  echo "${bootstrap}"
}

# Waits up to <seconds> for <pid> to exit; fails if it is still there.
await_exit() {
  local pid="$1" deadline=$((SECONDS + $2))
  while kill -0 "${pid}" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.1
  done
  ! kill -0 "${pid}" 2>/dev/null
}

# Sends SIG<signal> to the broker of <dir>, if one runs, waits for it to exit and prints its pid.
# One that ignores SIGTERM for 30s is killed; one still there 30s after SIGKILL is an error.
signal_broker() {
  local dir="$1" signal="$2" pid
  [[ -d "${dir}" ]] || return 0
  if ! pid="$(running_pid "${dir}")"; then
    rm -f "${dir}/broker.pid"
    return 0
  fi
  kill "-${signal}" "${pid}" 2>/dev/null || true
  if ! await_exit "${pid}" 30; then
    [[ "${signal}" != KILL ]] || die "pid ${pid} is still there 30s after SIGKILL"
    echo "broker.sh: pid ${pid} ignored SIG${signal} for 30s; killing it" >&2
    kill -KILL "${pid}" 2>/dev/null || true
  fi
  rm -f "${dir}/broker.pid"
  echo "${pid}"
}

cmd_stop() {
  local pid
  pid="$(signal_broker "$1" TERM)"
  [[ -z "${pid}" ]] || echo "stopped broker ${pid}"
}

cmd_kill() {
  local pid
  pid="$(signal_broker "$1" KILL)"
  [[ -z "${pid}" ]] || echo "killed broker ${pid}"
}

cmd_status() {
  local dir="$1" pid
  pid="$(running_pid "${dir}")" || { echo "not running"; return 1; }
  answers "$(cat "${dir}/bootstrap")" || { echo "pid ${pid} runs but does not answer"; return 1; }
  echo "running: pid ${pid}, bootstrap $(cat "${dir}/bootstrap")"
}

case "${1:-}" in
  fetch) cmd_fetch ;;
  start) [[ $# -eq 3 ]] || usage; cmd_start "$2" "$3" ;;
  stop) [[ $# -eq 2 ]] || usage; cmd_stop "$2" ;;
  kill) [[ $# -eq 2 ]] || usage; cmd_kill "$2" ;;
  status) [[ $# -eq 2 ]] || usage; cmd_status "$2" ;;
  *) usage ;;
esac
