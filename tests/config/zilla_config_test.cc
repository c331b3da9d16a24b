// validateZillaConfig and readZillaConfig: the root schema, each binding against its own type's
// schema, names that must be declared bindings; one test per kind of problem.
#include "engine_agreement.h"
#include "test_support.h"

#include <zb/runtime/zilla_config.h>

#include <fstream>
#include <map>
#include <sstream>

using zb::runtime::ConfigDocument;
using zb::runtime::ConfigProblem;
using zb::runtime::SchemaValidator;
using zb::test::compileOrFail;
using zb::test::describe;
using zb::test::hasProblem;

namespace {

// Small stand-ins for the schemas the kafka and grpc plugins publish.
const char* const kKafkaSchema = R"json({
  "type": "object",
  "properties": {
    "type": { "const": "kafka" },
    "kind": { "enum": ["client", "cache_client", "cache_server"] },
    "exit": { "type": "string" },
    "options": { "type": "object", "properties": {
      "servers": { "type": "array", "items": { "type": "string" } } } },
    "routes": { "type": "array" }
  },
  "required": ["type", "kind"],
  "additionalProperties": false
})json";

const char* const kGrpcSchema = R"json({
  "type": "object",
  "properties": {
    "type": { "const": "grpc" },
    "kind": { "enum": ["client", "server"] },
    "exit": { "type": "string" },
    "options": { "type": "object" },
    "routes": { "type": "array", "items": { "type": "object", "properties": {
      "when": { "type": "array", "items": { "type": "object", "properties": {
        "method": { "type": "string" } }, "additionalProperties": false } } } } }
  },
  "required": ["type", "kind"],
  "additionalProperties": false
})json";

// Zilla's kafka-grpc rules, reduced to what these tests touch.
const char* const kKafkaGrpcSchema = R"json({
  "type": "object",
  "properties": {
    "type": { "const": "kafka-grpc" },
    "kind": { "enum": ["remote_server"] },
    "entry": { "type": "string" },
    "exit": false,
    "options": { "type": "object", "properties": {
      "acks": { "type": "string", "enum": ["none", "leader_only", "in_sync_replicas"] },
      "idempotency": { "type": "object", "properties": { "metadata": { "type": "string" } } },
      "correlation": { "type": "object", "properties": { "headers": { "type": "object",
        "properties": { "service": { "type": "string" }, "method": { "type": "string" },
                        "correlation-id": { "type": "string" }, "reply-to": { "type": "string" } },
        "additionalProperties": false } }, "additionalProperties": false } } },
    "routes": { "type": "array", "items": { "type": "object", "properties": {
      "exit": { "type": "string" },
      "when": { "type": "array", "items": { "type": "object", "properties": {
        "topic": { "type": "string" }, "key": { "type": "string" },
        "headers": { "type": "object", "additionalProperties": { "type": "string" } },
        "reply-to": { "type": "string" },
        "method": { "type": "string", "pattern": "^(?<Service>[^/]+)/(?<Method>[^/]+)" } },
        "required": ["topic", "reply-to"], "additionalProperties": false } },
      "with": { "type": "object", "properties": { "scheme": { "type": "string" },
        "authority": { "type": "string" } }, "required": ["scheme", "authority"],
        "additionalProperties": false } }, "required": ["with"] } }
  },
  "required": ["type", "kind", "entry", "routes"]
})json";

// Zilla's documented kafka-grpc remote_server example (zilla-docs, remote_server.yaml), with the
// kafka and grpc bindings it names declared too.
const char* const kDocumentedExample = R"yaml(name: example
bindings:
  kafka_cache_client:
    type: kafka
    kind: cache_client
    exit: kafka_cache_server
  kafka_cache_server:
    type: kafka
    kind: cache_server
    exit: kafka_client
  kafka_client:
    type: kafka
    kind: client
    options:
      servers:
        - ${{env.KAFKA_BOOTSTRAP_SERVER}}
  kafka_grpc_proxy:
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
  grpc:
    type: grpc
    kind: client
    routes:
      - when:
          - method: example.EchoService/*
telemetry:
  exporters:
    prometheus_metrics:
      type: prometheus
      options:
        endpoints:
          - scheme: http
            path: /metrics
            port: 7190
    stdout_logs_exporter:
      type: stdout
)yaml";

// Binding schemas from a map, as the host's plugin lookup gives them.
class Schemas {
 public:
  Schemas() {
    add("kafka", kKafkaSchema);
    add("grpc", kGrpcSchema);
    add("kafka-grpc", kKafkaGrpcSchema);
  }
  void add(const std::string& type, const char* schema) {
    schemas_[type] = compileOrFail(schema);
    texts_[type] = schema;
  }
  // The schema text of `type`, nullptr when there is none.
  const std::string* textOf(const std::string& type) const {
    const auto found = texts_.find(type);
    return found == texts_.end() ? nullptr : &found->second;
  }
  zb::runtime::BindingSchemaLookup lookup() {
    return [this](std::string_view type, std::string& message) -> const SchemaValidator* {
      const auto found = schemas_.find(std::string(type));
      if (found == schemas_.end()) {
        message = "no plugin for type \"" + std::string(type) + "\"";
        return nullptr;
      }
      return found->second.get();
    };
  }

 private:
  std::map<std::string, std::unique_ptr<SchemaValidator>> schemas_;
  std::map<std::string, std::string> texts_;
};

struct Checked {
  ConfigDocument document;
  std::vector<ConfigProblem> problems;
};

Checked validate(std::string_view yaml, Schemas& schemas) {
  Checked checked;
  const auto env = [](std::string_view name) -> std::optional<std::string> {
    if (name == "KAFKA_BOOTSTRAP_SERVER") return std::string("localhost:9092");
    if (name == "SECRET_TOKEN") return std::string("s3cr3t-t0ken");
    return std::nullopt;
  };
  REQUIRE_MESSAGE(zb::runtime::loadYaml(yaml, env, checked.document, checked.problems),
                  describe(checked.problems));
  const auto root = compileOrFail(zb::runtime::zillaRootSchema());
  checked.problems = zb::runtime::validateZillaConfig(checked.document, *root, schemas.lookup());
  // valijson gives the verdicts, the walker the messages: they agree on every document here.
  zb::test::checkEnginesAgree(zb::runtime::zillaRootSchema(), checked.document.root);
  const Json::Value& root_json = checked.document.root;
  const Json::Value bindings = root_json.isObject() ? root_json["bindings"] : Json::Value();
  if (bindings.isObject()) {
    for (const std::string& name : bindings.getMemberNames()) {
      const Json::Value& binding = bindings[name];
      const std::string* schema = binding.isObject() && binding["type"].isString()
                                      ? schemas.textOf(binding["type"].asString())
                                      : nullptr;
      if (schema != nullptr) {
        INFO("binding " << name);
        zb::test::checkEnginesAgree(*schema, binding);
      }
    }
  }
  return checked;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("the embedded root schema is the one in schema/ and compiles") {
  CHECK(zb::runtime::zillaRootSchema() == readFile(ZB_SOURCE_DIR "/schema/zilla.schema.json"));
  compileOrFail(zb::runtime::zillaRootSchema());
}

TEST_CASE("Zilla's documented kafka-grpc example is valid and reads into bindings") {
  Schemas schemas;
  const Checked checked = validate(kDocumentedExample, schemas);
  REQUIRE_MESSAGE(checked.problems.empty(), describe(checked.problems));

  const zb::runtime::ZillaConfig config = zb::runtime::readZillaConfig(checked.document);
  CHECK(config.namespace_name == "example");
  REQUIRE(config.bindings.size() == 5);
  CHECK(config.bindings[0].name == "kafka_cache_client");  // source order, not sorted
  CHECK(config.bindings[3].name == "kafka_grpc_proxy");
  const zb::runtime::BindingEntry& proxy = config.bindings[3];
  CHECK(proxy.type == "kafka-grpc");
  CHECK(proxy.kind == "remote_server");
  CHECK(proxy.entry == "kafka_cache_client");
  CHECK(proxy.exit.empty());
  CHECK(proxy.options_json.find("\"acks\":\"leader_only\"") != std::string::npos);
  CHECK(proxy.routes_json.find("\"authority\":\"localhost:7151\"") != std::string::npos);
  CHECK(proxy.binding_json.find("\"entry\":\"kafka_cache_client\"") != std::string::npos);
  CHECK(config.bindings[2].options_json == R"({"servers":["localhost:9092"]})");
  CHECK(config.bindings[4].options_json == "{}");
  CHECK(config.bindings[0].routes_json == "[]");
  REQUIRE(config.telemetry.prometheus.size() == 1);
  CHECK(config.telemetry.prometheus[0].exporter == "prometheus_metrics");
  CHECK(config.telemetry.prometheus[0].port == 7190);
  CHECK(config.telemetry.prometheus[0].path == "/metrics");
  CHECK(config.telemetry.stdout_exporters == std::vector<std::string>{"stdout_logs_exporter"});
}

TEST_CASE("the kafka-grpc schema in schema/ accepts the documented example") {
  const std::string schema = readFile(ZB_SOURCE_DIR "/schema/kafka-grpc.schema.json");
  if (schema.empty()) {
    MESSAGE("schema/kafka-grpc.schema.json is not there yet; skipped");
    return;
  }
  Schemas schemas;
  schemas.add("kafka-grpc", schema.c_str());
  const Checked checked = validate(kDocumentedExample, schemas);
  CHECK_MESSAGE(checked.problems.empty(), describe(checked.problems));
}

TEST_CASE("missing name") {
  Schemas schemas;
  const Checked checked = validate("bindings: {}\n", schemas);
  REQUIRE(checked.problems.size() == 1);
  CHECK(checked.problems[0].pointer.empty());
  CHECK(checked.problems[0].message == "required property \"name\" is missing");
  CHECK(zb::runtime::formatProblem("zilla.yaml", checked.problems[0]) ==
        "zilla.yaml:1:1: required property \"name\" is missing");
}

TEST_CASE("unknown binding type: no plugin, at /bindings/<name>/type") {
  Schemas schemas;
  const Checked checked =
      validate("name: test\nbindings:\n  x:\n    type: mqtt\n    kind: server\n", schemas);
  REQUIRE(checked.problems.size() == 1);
  CHECK(checked.problems[0].pointer == "/bindings/x/type");
  CHECK(checked.problems[0].message == "no plugin for type \"mqtt\"");
  CHECK(checked.problems[0].line == 4);
  CHECK(checked.problems[0].column == 11);
}

TEST_CASE("a type name that could leave the plugin directory is refused by the root schema") {
  Schemas schemas;
  const Checked checked = validate(
      "name: test\nbindings:\n  x:\n    type: ../../tmp/evil\n    kind: server\n", schemas);
  REQUIRE(checked.problems.size() == 1);
  CHECK(checked.problems[0].pointer == "/bindings/x/type");
  CHECK(checked.problems[0].message.rfind("must match the pattern", 0) == 0);
}

TEST_CASE("bad enum in a binding's options, located in the file") {
  Schemas schemas;
  std::string yaml = kDocumentedExample;
  yaml.replace(yaml.find("acks: leader_only"), 17, "acks: sometimes");
  const Checked checked = validate(yaml, schemas);
  REQUIRE_MESSAGE(checked.problems.size() == 1, describe(checked.problems));
  CHECK(zb::runtime::formatProblem("zilla.yaml", checked.problems[0]) ==
        "zilla.yaml:22:13 /bindings/kafka_grpc_proxy/options/acks: must be one of: none, "
        "leader_only, in_sync_replicas");
}

TEST_CASE("missing required property in a route condition") {
  Schemas schemas;
  std::string yaml = kDocumentedExample;
  yaml.erase(yaml.find("            reply-to: responses\n"), 32);
  const Checked checked = validate(yaml, schemas);
  REQUIRE_MESSAGE(checked.problems.size() == 1, describe(checked.problems));
  CHECK(checked.problems[0].pointer == "/bindings/kafka_grpc_proxy/routes/0/when/0");
  CHECK(checked.problems[0].message == "required property \"reply-to\" is missing");
  CHECK(checked.problems[0].line == 33);
}

TEST_CASE("additional property, in the root and in a binding") {
  Schemas schemas;
  const Checked checked = validate(
      "name: test\nversion: 2\nbindings:\n  k:\n    type: kafka\n    kind: client\n"
      "    option: {}\n",
      schemas);
  INFO(describe(checked.problems));
  REQUIRE(checked.problems.size() == 2);
  CHECK(checked.problems[0].pointer == "/version");
  CHECK(checked.problems[0].message.rfind("property \"version\" is not allowed (allowed: ", 0) ==
        0);
  CHECK(checked.problems[1].pointer == "/bindings/k/option");
  CHECK(checked.problems[1].message.rfind("property \"option\" is not allowed", 0) == 0);
}

TEST_CASE("entry, exit and route exits must name declared bindings") {
  Schemas schemas;
  const Checked checked = validate(
      "name: test\n"
      "bindings:\n"
      "  kafka_grpc0:\n"
      "    type: kafka-grpc\n"
      "    kind: remote_server\n"
      "    entry: kafka9\n"
      "    routes:\n"
      "      - exit: grpc9\n"
      "        when: [{topic: requests, reply-to: responses}]\n"
      "        with: {scheme: http, authority: localhost:7151}\n"
      "  k:\n"
      "    type: kafka\n"
      "    kind: cache_client\n"
      "    exit: nowhere\n",
      schemas);
  INFO(describe(checked.problems));
  REQUIRE(checked.problems.size() == 3);
  CHECK(hasProblem(checked.problems, "/bindings/kafka_grpc0/entry",
                   "entry \"kafka9\" is not a declared binding"));
  CHECK(hasProblem(checked.problems, "/bindings/kafka_grpc0/routes/0/exit",
                   "exit \"grpc9\" is not a declared binding"));
  CHECK(hasProblem(checked.problems, "/bindings/k/exit",
                   "exit \"nowhere\" is not a declared binding"));
  CHECK(checked.problems[0].line == 6);  // in source order
  CHECK(checked.problems[1].line == 8);
  CHECK(checked.problems[2].line == 14);
}

TEST_CASE("a substituted value is shown as its placeholder, never quoted, in name problems") {
  Schemas schemas;
  const Checked checked = validate(
      "name: test\n"
      "bindings:\n"
      "  kafka_grpc0:\n"
      "    type: kafka-grpc\n"
      "    kind: remote_server\n"
      "    entry: ${{env.SECRET_TOKEN}}\n"
      "    routes:\n"
      "      - exit: to-${{ env.SECRET_TOKEN }}\n"
      "        when: [{topic: requests, reply-to: responses}]\n"
      "        with: {scheme: http, authority: localhost:7151}\n"
      "  k:\n"
      "    type: x${{env.SECRET_TOKEN}}\n"
      "    kind: client\n",
      schemas);
  INFO(describe(checked.problems));
  REQUIRE(checked.problems.size() == 3);
  CHECK(hasProblem(checked.problems, "/bindings/kafka_grpc0/entry",
                   "entry \"${{env.SECRET_TOKEN}}\" is not a declared binding"));
  CHECK(hasProblem(checked.problems, "/bindings/kafka_grpc0/routes/0/exit",
                   "exit \"to-${{env.SECRET_TOKEN}}\" is not a declared binding"));
  CHECK(hasProblem(checked.problems, "/bindings/k/type",
                   "no plugin for type \"x${{env.SECRET_TOKEN}}\""));
  for (const ConfigProblem& problem : checked.problems) {
    CHECK(problem.message.find("s3cr3t") == std::string::npos);
  }
}

TEST_CASE("every problem is reported, root and bindings together, in source order") {
  Schemas schemas;
  const Checked checked = validate(
      "bindings:\n"
      "  a:\n"
      "    type: kafka\n"
      "    kind: server\n"
      "  b:\n"
      "    kind: client\n"
      "telemetry:\n"
      "  exporters:\n"
      "    prom:\n"
      "      type: prometheus\n"
      "      options:\n"
      "        endpoints:\n"
      "          - scheme: https\n"
      "            port: 70000\n"
      "    otlp0:\n"
      "      type: otlp\n",
      schemas);
  INFO(describe(checked.problems));
  CHECK(hasProblem(checked.problems, "", "required property \"name\" is missing"));
  CHECK(hasProblem(checked.problems, "/bindings/a/kind",
                   "must be one of: client, cache_client, cache_server"));
  CHECK(hasProblem(checked.problems, "/bindings/b", "required property \"type\" is missing"));
  CHECK(hasProblem(checked.problems, "/telemetry/exporters/prom/options/endpoints/0/scheme",
                   "must be one of: http"));
  CHECK(hasProblem(checked.problems, "/telemetry/exporters/prom/options/endpoints/0/port",
                   "must be at most 65535"));
  CHECK(hasProblem(checked.problems, "/telemetry/exporters/otlp0/type",
                   "must be one of: prometheus, stdout"));
  CHECK(checked.problems.size() == 6);
  for (size_t i = 1; i < checked.problems.size(); ++i) {
    CHECK(checked.problems[i - 1].line <= checked.problems[i].line);
  }
}

TEST_CASE("a prometheus exporter needs its endpoints") {
  Schemas schemas;
  const Checked checked =
      validate("name: t\ntelemetry:\n  exporters:\n    p:\n      type: prometheus\n", schemas);
  REQUIRE(checked.problems.size() == 1);
  CHECK(checked.problems[0].pointer == "/telemetry/exporters/p");
  CHECK(checked.problems[0].message == "required property \"options\" is missing");
}

TEST_CASE("guards, vaults and catalogs are accepted and named as unused") {
  Schemas schemas;
  const Checked checked = validate(
      "name: t\nguards:\n  jwt0:\n    type: jwt\n    options: {issuer: x}\n"
      "catalogs:\n  host_filesystem:\n    type: filesystem\n",
      schemas);
  REQUIRE_MESSAGE(checked.problems.empty(), describe(checked.problems));
  const auto config = zb::runtime::readZillaConfig(checked.document);
  CHECK(config.ignored_sections == std::vector<std::string>{"guards", "catalogs"});
}

TEST_CASE("a document that is not a mapping is refused, not crashed on") {
  Schemas schemas;
  const Checked checked = validate("- a\n- b\n", schemas);
  REQUIRE(checked.problems.size() == 1);
  CHECK(checked.problems[0].message == "must be an object");
}
