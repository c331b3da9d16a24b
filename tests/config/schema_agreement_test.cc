// valijson (the verdict) and the walker (the messages) agree on the project's schemas: the root
// schema, the kafka-grpc, kafka and grpc binding schemas, and the zbtest plugin's schema that the
// zilla-host tests use. The documents: every config in configs/, and every document one edit
// away from a valid one (a member removed, a value of another kind, an unknown member, an array
// emptied or grown). The other tests here check agreement on their own documents as they go
// (schema_validator_test.cc, zilla_config_test.cc).
#include "binding_plugins.h"
#include "engine_agreement.h"
#include "test_support.h"

#include <zb/runtime/zilla_config.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

using zb::test::EnginePair;
using zb::test::json;

namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The schemas by name, as their files (and the zbtest plugin) give them.
std::map<std::string, std::string> projectSchemas() {
  std::map<std::string, std::string> schemas = {
      {"zilla", readFile(ZB_SOURCE_DIR "/schema/zilla.schema.json")},
      {"kafka-grpc", readFile(ZB_SOURCE_DIR "/schema/kafka-grpc.schema.json")},
      {"kafka", readFile(ZB_SOURCE_DIR "/binding/kafka/schema.json")},
      {"grpc", readFile(ZB_SOURCE_DIR "/binding/grpc/schema.json")},
  };
  for (const auto& schema : schemas) {
    INFO(schema.first);
    REQUIRE_FALSE(schema.second.empty());
  }
  zb::host::BindingPlugins plugins({ZB_TEST_PLUGIN_DIR});
  std::string message;
  REQUIRE_MESSAGE(plugins.schemaFor("zbtest", message) != nullptr, message);
  schemas["zbtest"] = plugins.plugin("zbtest")->api()->config_schema_json;
  return schemas;
}

// Valid binding entries of each type, using every option their schemas describe.
const char* const kKafkaGrpcEntry = R"json({
  "type": "kafka-grpc", "kind": "remote_server", "entry": "kafka_client0",
  "options": {
    "acks": "leader_only", "idempotency": { "metadata": "idempotency-key" },
    "correlation": { "headers": { "service": "zilla:service", "method": "zilla:method",
                                  "correlation-id": "zilla:correlation-id",
                                  "reply-to": "zilla:reply-to" } },
    "group-id": "zilla:example-kafka_grpc0",
    "retry": { "max-attempts": 5, "initial-backoff": "1s", "max-backoff": "30s",
               "backoff-multiplier": 2, "jitter": 0.2 },
    "deadline": "10s", "max-in-flight": 64, "dead-letter-topic": "dead-letters" },
  "routes": [ { "exit": "grpc_client0",
                "when": [ { "topic": "requests", "key": "k", "headers": { "tenant": "a" },
                            "reply-to": "responses", "method": "example.EchoService/*" } ],
                "with": { "scheme": "http", "authority": "localhost:7151" },
                "guarded": { "jwt0": ["echo:call"] } } ],
  "telemetry": { "metrics": ["stream.*"], "attributes": { "region": "eu" } }
})json";

const char* const kKafkaEntry = R"json({
  "type": "kafka", "kind": "client", "exit": "next0", "vault": "vault0", "telemetry": {},
  "routes": [],
  "options": { "servers": ["localhost:9092", "kafka.internal:29092"],
               "properties": { "security.protocol": "SASL_SSL", "linger.ms": "5" },
               "sasl": { "mechanism": "scram-sha-256", "username": "u", "password": "p" },
               "embedded": { "partitions": 3 } }
})json";

const char* const kGrpcEntry = R"json({
  "type": "grpc", "kind": "client", "exit": "next0", "vault": "vault0", "telemetry": {},
  "options": { "deadline": "30s", "connect-timeout": 5000,
               "tls": { "ca": "ca.pem", "cert": "client.pem", "key": "client.key",
                        "server-name": "echo.internal" },
               "max-receive-message-size": 4194304 },
  "routes": [ { "exit": "grpc_server0", "guarded": { "jwt0": ["read"] },
                "when": [ { "method": "example.EchoService/*",
                            "metadata": { "tenant": "a", "trace-bin": { "base64": "aGk=" } } } ] } ]
})json";

// A valid zilla.yaml using every section the root schema describes.
const char* const kZillaDocument = R"json({
  "name": "example",
  "bindings": {
    "kafka_client0": { "type": "kafka", "kind": "client", "options": {} },
    "kafka_grpc0": { "type": "kafka-grpc", "kind": "remote_server", "entry": "kafka_client0",
                     "vault": "vault0", "options": { "acks": "none" },
                     "routes": [ { "exit": "grpc_client0", "when": [ { "topic": "t" } ],
                                   "with": { "scheme": "http" },
                                   "guarded": { "jwt0": ["read"] } } ],
                     "telemetry": { "metrics": ["stream.*"] },
                     "catalog": { "catalog0": [ { "subject": "s" } ] } },
    "grpc_client0": { "type": "grpc", "kind": "client", "exit": "x.y-z_1" }
  },
  "guards": { "jwt0": { "type": "jwt", "options": { "issuer": "i" } } },
  "vaults": { "vault0": { "type": "filesystem" } },
  "catalogs": { "catalog0": { "type": "inline", "options": {} } },
  "telemetry": {
    "attributes": { "zilla.service.name": "example" },
    "metrics": ["stream.active.received"],
    "exporters": {
      "prometheus0": { "type": "prometheus",
                       "options": { "endpoints": [ { "scheme": "http", "port": 7190,
                                                     "path": "/metrics" } ] } },
      "stdout0": { "type": "stdout" }
    }
  }
})json";

// One step into a document: a member name or an array index.
struct Step {
  std::string key;
  Json::ArrayIndex index = 0;
  bool is_index = false;
};

Json::Value& at(Json::Value& root, const std::vector<Step>& path) {
  Json::Value* node = &root;
  for (const Step& step : path) {
    node = step.is_index ? &(*node)[step.index] : &(*node)[step.key];
  }
  return *node;
}

void editsBelow(const Json::Value& seed, const Json::Value& node, std::vector<Step>& path,
                std::vector<Json::Value>& out) {
  static const std::vector<Json::Value> kOtherValues = {
      Json::Value(),      Json::Value(true),    Json::Value(-1), Json::Value(0),
      Json::Value(70000), Json::Value(1.5),     Json::Value(""), Json::Value("x y/z"),
      json("[]"),         json(R"({"zz": 1})"),
  };
  auto edited = [&](auto&& edit) {
    Json::Value copy = seed;
    edit(at(copy, path));
    out.push_back(std::move(copy));
  };
  for (const Json::Value& other : kOtherValues) {
    if (!(other == node)) {
      edited([&](Json::Value& value) { value = other; });
    }
  }
  if (node.isObject()) {
    edited([](Json::Value& value) { value["zz_unknown"] = 1; });
    edited([](Json::Value& value) { value["9 not a name"] = "x"; });
    for (const std::string& key : node.getMemberNames()) {
      edited([&](Json::Value& value) { value.removeMember(key); });
      path.push_back({key});
      editsBelow(seed, node[key], path, out);
      path.pop_back();
    }
  } else if (node.isArray() && !node.empty()) {
    edited([](Json::Value& value) { value.clear(); });
    edited([](Json::Value& value) { value.append(Json::Value(value[0])); });
    for (Json::ArrayIndex i = 0; i < node.size(); ++i) {
      path.push_back({"", i, true});
      editsBelow(seed, node[i], path, out);
      path.pop_back();
    }
  }
}

// Every document one edit away from `seed`.
std::vector<Json::Value> oneEditAway(const Json::Value& seed) {
  std::vector<Json::Value> out;
  std::vector<Step> path;
  editsBelow(seed, seed, path, out);
  return out;
}

}  // namespace

TEST_CASE("the engines agree on the project's schemas for every config in configs/") {
  const std::map<std::string, std::string> schemas = projectSchemas();
  std::map<std::string, std::unique_ptr<EnginePair>> engines;
  for (const auto& [name, text] : schemas) {
    engines[name] = std::make_unique<EnginePair>(text);
  }
  // Every variable set (to a port, which is also a value of the wrong kind for most fields).
  const zb::runtime::EnvLookup env = [](std::string_view) -> std::optional<std::string> {
    return std::string("7190");
  };
  std::vector<std::pair<std::string, std::string>> documents;
  for (const auto& file :
       std::filesystem::directory_iterator(ZB_SOURCE_DIR "/tests/config/configs")) {
    documents.emplace_back(file.path().filename().string(), readFile(file.path().string()));
  }
  size_t loaded = 0;
  size_t checked = 0;
  size_t invalid = 0;
  for (const auto& file_and_yaml : documents) {
    const std::string& file = file_and_yaml.first;
    zb::runtime::ConfigDocument document;
    std::vector<zb::runtime::ConfigProblem> problems;
    if (!zb::runtime::loadYaml(file_and_yaml.second, env, document, problems)) {
      continue;  // bad-yaml.yaml: nothing to validate
    }
    ++loaded;
    INFO(file);
    invalid += zb::test::checkEnginesAgree(*engines["zilla"], document.root) ? 0 : 1;
    ++checked;
    const Json::Value& root = document.root;
    const Json::Value bindings = root.isObject() ? root["bindings"] : Json::Value();
    if (!bindings.isObject()) {
      continue;
    }
    for (const std::string& name : bindings.getMemberNames()) {
      for (const auto& schema_and_engines : engines) {
        INFO("binding " << name << " against the " << schema_and_engines.first << " schema");
        invalid += zb::test::checkEnginesAgree(*schema_and_engines.second, bindings[name]) ? 0 : 1;
        ++checked;
      }
    }
  }
  CHECK(documents.size() >= 14);
  CHECK(loaded + 1 >= documents.size());  // all but bad-yaml.yaml
  CHECK(checked > 50);
  CHECK(invalid > 20);  // broken ones too, not only valid ones
  CHECK(invalid < checked);
}

TEST_CASE("the engines agree on every document one edit away from a valid one") {
  const std::map<std::string, std::string> schemas = projectSchemas();
  const std::vector<std::pair<std::string, const char*>> seeds = {
      {"zilla", kZillaDocument},
      {"kafka-grpc", kKafkaGrpcEntry},
      {"kafka", kKafkaEntry},
      {"grpc", kGrpcEntry},
  };
  for (const auto& schema_and_seed : seeds) {
    const std::string& schema = schema_and_seed.first;
    const char* const seed_text = schema_and_seed.second;
    INFO("schema " << schema);
    const EnginePair engines(schemas.at(schema));
    const Json::Value seed = json(seed_text);
    REQUIRE_MESSAGE(
        engines.valijsonAccepts(seed),
        zb::test::describe(zb::test::compileOrFail(schemas.at(schema))->validate(seed)));
    zb::test::checkEnginesAgree(engines, seed);
    const std::vector<Json::Value> edits = oneEditAway(seed);
    size_t invalid = 0;
    for (const Json::Value& document : edits) {
      invalid += zb::test::checkEnginesAgree(engines, document) ? 0 : 1;
    }
    // Most edits break something; some (an optional member removed, an unknown name inside an
    // open object) do not: both kinds are covered.
    CHECK(edits.size() > 100);
    CHECK(invalid > edits.size() / 2);
    CHECK(invalid < edits.size());
  }
  // The binding entries also inside a whole zilla.yaml, against the root schema.
  const EnginePair root(schemas.at("zilla"));
  Json::Value document = json(kZillaDocument);
  document["bindings"]["kafka_grpc0"] = json(kKafkaGrpcEntry);
  // The root schema allows only metrics under a binding's telemetry.
  document["bindings"]["kafka_grpc0"]["telemetry"].removeMember("attributes");
  document["bindings"]["kafka_client0"] = json(kKafkaEntry);
  document["bindings"]["grpc_client0"] = json(kGrpcEntry);
  REQUIRE_MESSAGE(
      root.valijsonAccepts(document),
      zb::test::describe(zb::test::compileOrFail(schemas.at("zilla"))->validate(document)));
  for (const Json::Value& edited : oneEditAway(document)) {
    zb::test::checkEnginesAgree(root, edited);
  }
}
