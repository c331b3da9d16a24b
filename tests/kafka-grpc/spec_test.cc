// Every scenario of specs/kafka-grpc, run against the loaded libbinding-kafka-grpc.so.
#include "spec_runner.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace zb::kafka_grpc::spec {
namespace {

const std::string kRoot = std::string(ZB_SOURCE_DIR) + "/specs/kafka-grpc";

// The scenarios with a test case below; a folder without one fails the last test.
const std::vector<std::string> kCovered = {
    "unary.rpc",
    "unary.rpc.message.value.100k",
    "client.stream.rpc",
    "server.stream.rpc",
    "bidi.stream.rpc",
    "missing.service.and.method.headers",
    "client.sent.write.abort",
    "retry.on.unavailable.server",
    "interleaved.correlation.ids",
    "reset.after.delivery",
    "deadline.exceeded",
    "commit.after.reply.acknowledged",
    "commits.never.pass.in.flight",
    "fetch.stream.reopened",
    "record.without.correlation.id",
    "many.calls.in.flight.bounded",
    "slow.reply.topic.backpressure",
    "custom.correlation.header.names",
    "key.and.header.filters",
    "retry.exhausted",
    "bad.base64.metadata",
    "refused.with.status",
    "dead.letter.topic",
    "reply.topic.refused",
    "fetch.stream.reset",
    "fetch.stream.lost.in.flight",
    "reply.before.produce.window",
    "stray.tombstone",
    "reply.abort.without.status",
    "reply.topic.without.padding",
    "stop.drains.calls.in.flight",
    "partition.revoked.in.flight",
    "record.fetched.again",
    "partition.reassigned.before.release",
    "reply.too.large",
    "reply.topic.refused.twice",
    "metadata.too.large",
    "call.closed.without.status",
    "dead.letter.topic.refused",
};

ScenarioResult run(const std::string& name) {
  ScenarioResult result = runScenario(kRoot + "/" + name);
  if (!result.passed) {
    FAIL_CHECK(name << " failed:\n" << result.failure << "\n--- log\n" << result.log);
  }
  return result;
}

std::string binding(const std::string& metric, const std::string& extra = "") {
  return metric + "{binding=\"test.remote_server0\"" + (extra.empty() ? "" : "," + extra) + "}";
}

TEST_CASE("unary.rpc") {
  const ScenarioResult result = run("unary.rpc");
  CHECK(result.metrics.value(binding("kafka_grpc.requests")) == 2);
  CHECK(result.metrics.value(binding("kafka_grpc.replies")) == 1);
  CHECK(result.metrics.value(binding("kafka_grpc.calls", "status=\"0\"")) == 1);
  CHECK(result.metrics.value(binding("kafka_grpc.in_flight")) == 0);
  CHECK(result.metrics.count(binding("kafka_grpc.call_duration_ns")) == 1);
}

TEST_CASE("unary.rpc.message.value.100k") { run("unary.rpc.message.value.100k"); }

TEST_CASE("client.stream.rpc") {
  const ScenarioResult result = run("client.stream.rpc");
  CHECK(result.metrics.value(binding("kafka_grpc.requests")) == 3);
}

TEST_CASE("server.stream.rpc") {
  const ScenarioResult result = run("server.stream.rpc");
  CHECK(result.metrics.value(binding("kafka_grpc.replies")) == 2);
}

TEST_CASE("bidi.stream.rpc") { run("bidi.stream.rpc"); }

TEST_CASE("missing.service.and.method.headers") {
  const ScenarioResult result = run("missing.service.and.method.headers");
  CHECK(result.metrics.value(binding("kafka_grpc.errors", "reason=\"bad_request\"")) == 1);
  CHECK(result.metrics.value(binding("kafka_grpc.calls", "status=\"13\"")) == 1);
}

TEST_CASE("client.sent.write.abort") {
  const ScenarioResult result = run("client.sent.write.abort");
  CHECK(result.metrics.value(binding("kafka_grpc.calls", "status=\"10\"")) == 1);
}

TEST_CASE("retry.on.unavailable.server") {
  const ScenarioResult result = run("retry.on.unavailable.server");
  CHECK(result.metrics.value(binding("kafka_grpc.retries")) == 1);
  CHECK(result.metrics.value(binding("kafka_grpc.calls", "status=\"0\"")) == 1);
}

TEST_CASE("interleaved.correlation.ids") {
  const ScenarioResult result = run("interleaved.correlation.ids");
  CHECK(result.metrics.value(binding("kafka_grpc.calls", "status=\"0\"")) == 2);
}

TEST_CASE("reset.after.delivery") {
  const ScenarioResult result = run("reset.after.delivery");
  CHECK(result.metrics.value(binding("kafka_grpc.retries")) == 0);
  CHECK(result.metrics.value(binding("kafka_grpc.calls", "status=\"14\"")) == 1);
}

TEST_CASE("deadline.exceeded") {
  const ScenarioResult result = run("deadline.exceeded");
  CHECK(result.metrics.value(binding("kafka_grpc.calls", "status=\"4\"")) == 1);
}

TEST_CASE("commit.after.reply.acknowledged") { run("commit.after.reply.acknowledged"); }

TEST_CASE("commits.never.pass.in.flight") { run("commits.never.pass.in.flight"); }

TEST_CASE("fetch.stream.reopened") {
  const ScenarioResult result = run("fetch.stream.reopened");
  CHECK(result.metrics.value(binding("kafka_grpc.errors", "reason=\"fetch_lost\"")) == 1);
}

TEST_CASE("record.without.correlation.id") {
  const ScenarioResult result = run("record.without.correlation.id");
  CHECK(result.metrics.value(binding("kafka_grpc.errors", "reason=\"unanswerable\"")) == 2);
  CHECK(result.metrics.value(binding("kafka_grpc.requests")) == 4);
}

TEST_CASE("many.calls.in.flight.bounded") {
  const ScenarioResult result = run("many.calls.in.flight.bounded");
  CHECK(result.metrics.value(binding("kafka_grpc.in_flight")) == 0);
  CHECK(result.metrics.value(binding("kafka_grpc.calls", "status=\"0\"")) == 3);
}

TEST_CASE("slow.reply.topic.backpressure") {
  const ScenarioResult result = run("slow.reply.topic.backpressure");
  CHECK(result.metrics.value(binding("kafka_grpc.replies")) == 2);
}

TEST_CASE("custom.correlation.header.names") { run("custom.correlation.header.names"); }

TEST_CASE("key.and.header.filters") { run("key.and.header.filters"); }

TEST_CASE("retry.exhausted") {
  const ScenarioResult result = run("retry.exhausted");
  CHECK(result.metrics.value(binding("kafka_grpc.retries")) == 1);
  CHECK(result.metrics.value(binding("kafka_grpc.calls", "status=\"14\"")) == 1);
}

TEST_CASE("bad.base64.metadata") {
  const ScenarioResult result = run("bad.base64.metadata");
  CHECK(result.metrics.value(binding("kafka_grpc.calls", "status=\"3\"")) == 1);
}

TEST_CASE("refused.with.status") {
  const ScenarioResult result = run("refused.with.status");
  CHECK(result.metrics.value(binding("kafka_grpc.retries")) == 0);
}

TEST_CASE("dead.letter.topic") {
  const ScenarioResult result = run("dead.letter.topic");
  CHECK(result.metrics.value(binding("kafka_grpc.errors", "reason=\"unanswerable\"")) == 2);
}

TEST_CASE("reply.topic.refused") {
  const ScenarioResult result = run("reply.topic.refused");
  CHECK(result.metrics.value(binding("kafka_grpc.errors", "reason=\"reply_refused\"")) == 1);
  CHECK(result.metrics.value(binding("kafka_grpc.errors", "reason=\"reply_failed\"")) == 0);
  CHECK(result.metrics.value(binding("kafka_grpc.calls", "status=\"13\"")) == 1);
  CHECK(result.metrics.value(binding("kafka_grpc.calls", "status=\"0\"")) == 0);
  CHECK(result.log.find("Broker: Invalid record") != std::string::npos);
}

TEST_CASE("reply.too.large") {
  const ScenarioResult result = run("reply.too.large");
  CHECK(result.metrics.value(binding("kafka_grpc.calls", "status=\"8\"")) == 1);
  CHECK(result.metrics.value(binding("kafka_grpc.calls", "status=\"0\"")) == 0);
  CHECK(result.metrics.value(binding("kafka_grpc.in_flight")) == 0);
}

TEST_CASE("reply.topic.refused.twice") {
  const ScenarioResult result = run("reply.topic.refused.twice");
  CHECK(result.metrics.value(binding("kafka_grpc.errors", "reason=\"reply_failed\"")) == 1);
  CHECK(result.metrics.value(binding("kafka_grpc.calls", "status=\"13\"")) == 0);
  CHECK(result.log.find("unknown topic or partition") != std::string::npos);
}

TEST_CASE("fetch.stream.reset") { run("fetch.stream.reset"); }

TEST_CASE("fetch.stream.lost.in.flight") {
  const ScenarioResult result = run("fetch.stream.lost.in.flight");
  CHECK(result.metrics.value(binding("kafka_grpc.errors", "reason=\"cancelled\"")) == 1);
  CHECK(result.metrics.value(binding("kafka_grpc.in_flight")) == 0);
}

TEST_CASE("reply.before.produce.window") { run("reply.before.produce.window"); }

TEST_CASE("stray.tombstone") { run("stray.tombstone"); }

TEST_CASE("reply.abort.without.status") {
  const ScenarioResult result = run("reply.abort.without.status");
  CHECK(result.metrics.value(binding("kafka_grpc.calls", "status=\"10\"")) == 1);
}

TEST_CASE("reply.topic.without.padding") { run("reply.topic.without.padding"); }

TEST_CASE("stop.drains.calls.in.flight") {
  const ScenarioResult result = run("stop.drains.calls.in.flight");
  CHECK(result.metrics.value(binding("kafka_grpc.calls", "status=\"0\"")) == 1);
  CHECK(result.metrics.value(binding("kafka_grpc.in_flight")) == 0);
  CHECK(result.log.find("1 call(s) at their service finish") != std::string::npos);
}

TEST_CASE("partition.revoked.in.flight") {
  const ScenarioResult result = run("partition.revoked.in.flight");
  CHECK(result.metrics.value(binding("kafka_grpc.calls", "status=\"0\"")) == 2);
  CHECK(result.metrics.value(binding("kafka_grpc.in_flight")) == 0);
}

TEST_CASE("record.fetched.again") {
  const ScenarioResult result = run("record.fetched.again");
  CHECK(result.metrics.value(binding("kafka_grpc.requests")) == 4);
}

TEST_CASE("partition.reassigned.before.release") {
  const ScenarioResult result = run("partition.reassigned.before.release");
  CHECK(result.metrics.value(binding("kafka_grpc.calls", "status=\"0\"")) == 2);
}

TEST_CASE("metadata.too.large") {
  const ScenarioResult result = run("metadata.too.large");
  CHECK(result.metrics.value(binding("kafka_grpc.calls", "status=\"8\"")) == 1);
  CHECK(result.metrics.value(binding("kafka_grpc.calls", "status=\"0\"")) == 1);
  CHECK(result.metrics.value(binding("kafka_grpc.errors", "reason=\"bad_request\"")) == 1);
}

TEST_CASE("call.closed.without.status") {
  const ScenarioResult result = run("call.closed.without.status");
  CHECK(result.metrics.value(binding("kafka_grpc.calls", "status=\"13\"")) == 1);
  CHECK(result.metrics.value(binding("kafka_grpc.in_flight")) == 0);
}

TEST_CASE("dead.letter.topic.refused") {
  const ScenarioResult result = run("dead.letter.topic.refused");
  CHECK(result.metrics.value(binding("kafka_grpc.errors", "reason=\"unanswerable\"")) == 2);
  CHECK(result.log.find("refused the dead-letter stream") != std::string::npos);
}

// A scenario too long to write by hand, written here: 65 requests answered before their
// tombstone (the service answers after the first message), one more than a fetch stream keeps
// lingering calls for; then a late record of the first one, whose call was let go.
TEST_CASE("generated: a late record of a request answered long ago opens no second call") {
  const std::string dir = std::string(ZB_BINARY_DIR) + "/tests/kafka-grpc/lingering.evicted";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/config.yaml") << R"(name: test
bindings:
  kafka0: {type: kafka, kind: cache_client}
  grpc0: {type: grpc, kind: client}
  remote_server0:
    type: kafka-grpc
    kind: remote_server
    entry: kafka0
    options: {acks: leader_only, max-in-flight: 1}
    routes:
      - exit: grpc0
        when: [{topic: requests, reply-to: responses, method: example.EchoService/*}]
        with: {scheme: http, authority: "localhost:8080"}
)";
  constexpr int kCalls = 65;  // the stream keeps max(64, 4 x max-in-flight) lingering calls
  std::ofstream kafka(dir + "/kafka.spec");
  std::ofstream grpc(dir + "/grpc.spec");
  kafka << R"(set ROUTING "zilla:service":"example.EchoService", "zilla:method":"EchoStream", )"
        << R"("zilla:reply-to":"responses"
accept fetch
fetch: read begin MergedBeginEx capabilities=FETCH_ONLY topic="requests"          group-id="zilla:test-remote_server0" partitions=[-1:-2]          filters=[[header("zilla:service","example.EchoService"),                    header("zilla:reply-to","responses")]] ack-mode=LEADER_ONLY
fetch: write begin
)";
  for (int i = 0; i < kCalls; ++i) {
    const std::string id = "\"c-" + std::to_string(i) + "\"";
    const std::string reply = "reply" + std::to_string(i);
    kafka << "fetch: write data FetchDataEx partition=0:" << i << " key=" << id
          << " headers=[$ROUTING, \"zilla:correlation-id\":" << id << "] payload=pb(1,\"m\")\n"
          << "accept " << reply << " window=8192 padding=1\n"
          << reply << ": read begin MergedBeginEx capabilities=PRODUCE_ONLY topic=\"responses\" "
          << "ack-mode=LEADER_ONLY\n"
          << reply << ": write begin\n"
          << reply << ": read data ProduceDataEx partition=-1:-1 key=" << id
          << " headers=[\"zilla:correlation-id\":" << id << "] payload=pb(1,\"r\")\n"
          << reply << ": read data ProduceDataEx partition=-1:-1 key=" << id
          << " headers=[\"zilla:correlation-id\":" << id
          << ", \"zilla:status\":\"0\"] payload=null\n"
          << reply << ": read end\n"
          << reply << ": write end\n"
          << "fetch: read flush ConsumerFlushEx progress=0:" << i + 1 << "\n";
    const std::string call = "call" + std::to_string(i);
    grpc << "accept " << call << " window=8192\n"
         << call << ": read begin BeginEx scheme=\"http\" authority=\"localhost:8080\" "
         << "service=\"example.EchoService\" method=\"EchoStream\"\n"
         << call << ": read data DataEx payload=pb(1,\"m\")\n"
         << call << ": write begin\n"
         << call << ": write data DataEx payload=pb(1,\"r\")\n"
         << call << ": write end\n"
         << call << ": read abort StatusEx status=1\n";
  }
  // c-0's call was the oldest lingering one, let go for c-64's: its late record and its
  // tombstone are committed, and no call is opened (the grpc script accepts no more streams).
  kafka << "fetch: write data FetchDataEx partition=0:" << kCalls
        << R"( key="c-0" headers=[$ROUTING, "zilla:correlation-id":"c-0"] payload=pb(1,"late"))"
        << "\nfetch: read flush ConsumerFlushEx progress=0:" << kCalls + 1 << "\n"
        << "fetch: write data FetchDataEx partition=0:" << kCalls + 1
        << R"( key="c-0" headers=[$ROUTING, "zilla:correlation-id":"c-0"] payload=null)"
        << "\nfetch: read flush ConsumerFlushEx progress=0:" << kCalls + 2 << "\n";
  kafka.close();
  grpc.close();
  const ScenarioResult result = runScenario(dir);
  CHECK_MESSAGE(result.passed, result.failure << "\n--- log\n" << result.log);
  CHECK(result.metrics.value(binding("kafka_grpc.calls", "status=\"0\"")) == kCalls);
}

TEST_CASE("every scenario folder has a test case") {
  for (const std::string& name : scenarioNames(kRoot)) {
    CHECK_MESSAGE(std::find(kCovered.begin(), kCovered.end(), name) != kCovered.end(),
                  "no test case for specs/kafka-grpc/" << name);
  }
}

}  // namespace
}  // namespace zb::kafka_grpc::spec
