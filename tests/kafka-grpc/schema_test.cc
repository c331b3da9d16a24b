// schema/kafka-grpc.schema.json through the host's validator: Zilla's documented configs are
// accepted, each broken config is refused at the JSON pointer of its bad field with the rule it
// broke; and the .so publishes exactly that file.
#include <zb/runtime/config.h>
#include <zb/runtime/engine.h>
#include <zb/runtime/plugin.h>

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace zb::kafka_grpc {
namespace {

std::string schemaText() {
  std::ifstream in(std::string(ZB_SOURCE_DIR) + "/schema/kafka-grpc.schema.json");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

const runtime::SchemaValidator& validator() {
  static std::unique_ptr<runtime::SchemaValidator> compiled = [] {
    std::string error;
    auto v = runtime::SchemaValidator::compile(schemaText(), error);
    REQUIRE_MESSAGE(v, error);
    return v;
  }();
  return *compiled;
}

// A binding entry from YAML text (as in zilla.yaml, without the binding's name).
Json::Value entry(const std::string& yaml) {
  runtime::ConfigDocument document;
  std::vector<runtime::ConfigProblem> problems;
  const auto env = [](std::string_view name) -> std::optional<std::string> {
    return "env-" + std::string(name);
  };
  REQUIRE_MESSAGE(runtime::loadYaml(yaml, env, document, problems),
                  (problems.empty() ? "" : problems[0].message));
  return document.root;
}

std::string describe(const std::vector<runtime::ConfigProblem>& problems) {
  std::string out;
  for (const auto& p : problems) {
    out += p.pointer + ": " + p.message + "\n";
  }
  return out;
}

void accepted(const std::string& yaml) {
  const auto problems = validator().validate(entry(yaml));
  CHECK_MESSAGE(problems.empty(), describe(problems) << "for:\n" << yaml);
}

// Refused, with a problem at `pointer` whose message contains `rule`.
void refused(const std::string& yaml, const std::string& pointer, const std::string& rule) {
  const auto problems = validator().validate(entry(yaml));
  bool found = false;
  for (const auto& p : problems) {
    found = found || (p.pointer == pointer && p.message.find(rule) != std::string::npos);
  }
  CHECK_MESSAGE(found, "expected " << pointer << " / " << rule << ", got:\n"
                                   << describe(problems) << "for:\n"
                                   << yaml);
}

const std::string kMinimal = R"(
type: kafka-grpc
kind: remote_server
entry: kafka0
routes:
  - exit: grpc0
    when:
      - topic: requests
        reply-to: responses
    with:
      scheme: http
      authority: localhost:8080
)";

TEST_CASE("Zilla's test config (remote.server.rpc.yaml) is accepted") {
  accepted(R"(
type: kafka-grpc
kind: remote_server
entry: kafka0
options:
  acks: leader_only
routes:
  - exit: grpc0
    when:
      - topic: requests
        reply-to: responses
        key: 59410e57-3e0f-4b61-9328-f645a7968ac8-d41d8cd98f00b204e9800998ecf8427e
        method: example.EchoService/*
    with:
      scheme: http
      authority: localhost:8080
)");
}

TEST_CASE("Zilla's reference sample is accepted") {
  accepted(R"(
type: kafka-grpc
kind: remote_server
entry: kafka_cache_client
options:
  acks: leader_only
  idempotency:
    metadata: idempotency-key
  correlation:
    headers:
      service: zilla:service
      method: zilla:method
      correlation-id: zilla:correlation-id
      reply-to: zilla:reply-to
routes:
  - when:
      - topic: requests
        reply-to: responses
        method: example.EchoService/*
    exit: grpc
    with:
      scheme: http
      authority: localhost:7151
)");
}

TEST_CASE("Zilla's grpc.kafka.proxy example binding is accepted") {
  accepted(R"(
type: kafka-grpc
kind: remote_server
entry: north_kafka_cache_client
options:
  acks: leader_only
routes:
  - exit: west_grpc_client
    when:
      - topic: echo-requests
        reply-to: echo-responses
        method: grpc.examples.echo.Echo/*
    with:
      scheme: http
      authority: ${{env.ECHO_SERVER_HOST}}:${{env.ECHO_SERVER_PORT}}
)");
}

TEST_CASE("what Zilla's schema leaves open stays open") {
  // options and idempotency have no additionalProperties: false in Zilla's schema; headers
  // filters take any name; guarded and telemetry are the engine's.
  accepted(R"(
type: kafka-grpc
kind: remote_server
entry: kafka0
options:
  something-else: 1
  idempotency:
    metadata: key
    other: true
routes:
  - exit: grpc0
    guarded:
      jwt0: [read, write]
    when:
      - topic: requests
        reply-to: responses
        key: k
        headers:
          tenant: a
          x-any: b
        method: a.b.C/D
    with:
      scheme: https
      authority: service:443
  - with:
      scheme: http
      authority: other:80
telemetry:
  metrics:
    - stream.*
    - grpc.*
)");
}

TEST_CASE("every option of ours is accepted") {
  accepted(R"(
type: kafka-grpc
kind: remote_server
entry: kafka0
options:
  group-id: echo-workers
  retry:
    max-attempts: 3
    initial-backoff: 100ms
    max-backoff: 5s
    backoff-multiplier: 1.5
    jitter: 0.5
  deadline: 1.5s
  max-in-flight: 128
  dead-letter-topic: requests.dlq
routes:
  - exit: grpc0
    when:
      - topic: requests
        reply-to: responses
    with:
      scheme: http
      authority: localhost:8080
)");
}

TEST_CASE("broken configs are refused at the bad field, with the rule") {
  const auto with = [](const std::string& from, const std::string& to) {
    std::string yaml = kMinimal;
    const size_t at = yaml.find(from);
    REQUIRE(at != std::string::npos);
    yaml.replace(at, from.size(), to);
    return yaml;
  };
  const std::string options_at = "routes:\n";
  const auto withOptions = [&](const std::string& options) {
    return with(options_at, "options:\n" + options + "routes:\n");
  };

  refused(with("type: kafka-grpc", "type: grpc-kafka"), "/type", "kafka-grpc");
  refused(with("kind: remote_server", "kind: server"), "/kind", "remote_server");
  refused(with("entry: kafka0\n", ""), "", "entry");
  refused(with("entry: kafka0", "entry: 0kafka"), "/entry", "pattern");
  refused(with("entry: kafka0", "entry: kafka0\nexit: grpc0"), "/exit", "not allowed");
  refused(with("entry: kafka0", "entry: kafka0\nvault: v"), "/vault", "not allowed");
  refused(with("entry: kafka0", "entry: kafka0\ncolour: blue"), "/colour", "not allowed");
  refused(kMinimal.substr(0, kMinimal.find("routes:")), "", "routes");

  refused(withOptions("  acks: all\n"), "/options/acks", "one of");
  refused(withOptions("  correlation:\n    tenant: x\n"), "/options/correlation/tenant",
          "not allowed");
  refused(withOptions("  correlation:\n    headers:\n      tenant: x\n"),
          "/options/correlation/headers/tenant", "not allowed");
  refused(withOptions("  correlation:\n    headers:\n      service: 5\n"),
          "/options/correlation/headers/service", "string");
  refused(withOptions("  group-id: \"\"\n"), "/options/group-id", "empty");
  refused(withOptions("  retry:\n    retries: 3\n"), "/options/retry/retries", "not allowed");
  refused(withOptions("  retry:\n    max-attempts: 0\n"), "/options/retry/max-attempts", "1");
  refused(withOptions("  retry:\n    initial-backoff: 1 second\n"),
          "/options/retry/initial-backoff", "pattern");
  refused(withOptions("  retry:\n    max-backoff: 5\n"), "/options/retry/max-backoff", "string");
  refused(withOptions("  retry:\n    backoff-multiplier: 0.5\n"),
          "/options/retry/backoff-multiplier", "1");
  refused(withOptions("  retry:\n    jitter: 2\n"), "/options/retry/jitter", "1");
  refused(withOptions("  deadline: soon\n"), "/options/deadline", "pattern");
  refused(withOptions("  max-in-flight: 0\n"), "/options/max-in-flight", "1");
  refused(withOptions("  max-in-flight: many\n"), "/options/max-in-flight", "integer");
  refused(withOptions("  dead-letter-topic: \"\"\n"), "/options/dead-letter-topic", "empty");

  refused(with("        reply-to: responses\n", ""), "/routes/0/when/0", "reply-to");
  refused(with("      - topic: requests\n", "      - key: x\n"), "/routes/0/when/0", "topic");
  refused(
      with("        reply-to: responses\n", "        reply-to: responses\n        partition: 1\n"),
      "/routes/0/when/0/partition", "not allowed");
  refused(
      with("        reply-to: responses\n", "        reply-to: responses\n        method: Echo\n"),
      "/routes/0/when/0/method", "pattern");
  refused(with("        reply-to: responses\n",
               "        reply-to: responses\n        headers:\n          tenant: 1\n"),
          "/routes/0/when/0/headers/tenant", "string");
  refused(with("      authority: localhost:8080\n", ""), "/routes/0/with", "authority");
  refused(with("      authority: localhost:8080\n", "      authority: a\n      port: 1\n"),
          "/routes/0/with/port", "not allowed");
  refused(with("    with:\n      scheme: http\n      authority: localhost:8080\n", ""), "/routes/0",
          "with");
  refused(with("  - exit: grpc0\n", "  - exit: grpc0\n    extra: 1\n"), "/routes/0/extra",
          "not allowed");
  refused(with("routes:\n", "routes: {}\nx:\n"), "/routes", "array");
}

TEST_CASE("the binding publishes exactly schema/kafka-grpc.schema.json") {
  std::string error;
  auto plugin = runtime::Plugin::load(std::string(ZB_BINDINGS_DIR) + "/libbinding-kafka-grpc.so",
                                      runtime::Engine::hostApi(), error);
  REQUIRE_MESSAGE(plugin, error);
  CHECK(std::string(plugin->api()->type_name) == "kafka-grpc");
  CHECK(std::string(plugin->api()->config_schema_json) == schemaText());
}

}  // namespace
}  // namespace zb::kafka_grpc
