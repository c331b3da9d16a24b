// The grpc binding's configuration: its published JSON Schema, option parsing, route
// conditions, and the base64 codec for -bin metadata.
#include "config.h"
#include "base64.h"
#include "call_harness.h"
#include "tls_files.h"

#include <doctest/doctest.h>
#include <json/json.h>
#include <valijson/adapters/jsoncpp_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

#include <memory>
#include <string>

namespace {

using namespace zb::grpc_binding;

Json::Value parse(const std::string& text) {
  Json::Value root;
  Json::CharReaderBuilder builder;
  std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
  std::string error;
  REQUIRE_MESSAGE(reader->parse(text.data(), text.data() + text.size(), &root, &error), error);
  return root;
}

// Validates a binding entry against the schema the loaded .so publishes.
bool validEntry(const std::string& entry) {
  std::string error;
  const auto plugin = zb::grpc_test::grpcPlugin(error);
  REQUIRE_MESSAGE(plugin, error);
  const Json::Value schema_json = parse(plugin->api()->config_schema_json);
  valijson::Schema schema;
  valijson::SchemaParser parser;
  valijson::adapters::JsonCppAdapter schema_adapter(schema_json);
  parser.populateSchema(schema_adapter, schema);
  const Json::Value document = parse(entry);
  valijson::Validator validator;
  valijson::adapters::JsonCppAdapter target(document);
  return validator.validate(schema, target, nullptr);
}

}  // namespace

TEST_CASE("the .so publishes type grpc and a schema for the whole binding entry") {
  std::string error;
  const auto plugin = zb::grpc_test::grpcPlugin(error);
  REQUIRE_MESSAGE(plugin, error);
  CHECK(std::string(plugin->api()->type_name) == "grpc");
  const Json::Value schema = parse(plugin->api()->config_schema_json);
  CHECK(schema["$schema"].asString() == "http://json-schema.org/draft-07/schema#");
  CHECK(schema["properties"]["type"]["const"].asString() == "grpc");
}

TEST_CASE("the schema accepts Zilla's grpc client entries and our options") {
  CHECK(validEntry(R"({"type": "grpc", "kind": "client"})"));
  CHECK(validEntry(R"({"type": "grpc", "kind": "client",
                       "routes": [{"exit": "west_http_client",
                                   "when": [{"method": "grpc.examples.echo.Echo/*"}]}]})"));
  CHECK(validEntry(R"({"type": "grpc", "kind": "client",
                       "options": {"deadline": "30s", "connect-timeout": "500ms",
                                   "tls": {"ca": "ca.pem", "cert": "c.pem", "key": "k.pem",
                                           "server-name": "echo.example"},
                                   "max-receive-message-size": 1048576},
                       "routes": [{"when": [{"method": "svc/Method",
                                             "metadata": {"tenant": "a",
                                                          "trace-bin": {"base64": "AAE="}}}]}]})"));
  CHECK(validEntry(R"({"type": "grpc", "kind": "client", "options": {"deadline": 250}})"));
}

TEST_CASE("the schema refuses what the binding cannot honour") {
  CHECK_FALSE(validEntry(R"({"type": "grpc", "kind": "server"})"));
  CHECK_FALSE(validEntry(R"({"type": "http", "kind": "client"})"));
  CHECK_FALSE(validEntry(R"({"type": "grpc", "kind": "client", "options": {"retries": 3}})"));
  CHECK_FALSE(validEntry(R"({"type": "grpc", "kind": "client", "options": {"deadline": "soon"}})"));
  CHECK_FALSE(validEntry(R"({"type": "grpc", "kind": "client", "options": {"deadline": -1}})"));
  CHECK_FALSE(
      validEntry(R"({"type": "grpc", "kind": "client", "options": {"tls": {"cert": "c"}}})"));
  CHECK_FALSE(validEntry(
      R"({"type": "grpc", "kind": "client", "options": {"max-receive-message-size": 0}})"));
  CHECK_FALSE(validEntry(
      R"({"type": "grpc", "kind": "client", "routes": [{"when": [{"method": "nomethod"}]}]})"));
}

TEST_CASE("durations") {
  CHECK(parseDurationMs("30s") == 30'000);
  CHECK(parseDurationMs("250ms") == 250);
  CHECK(parseDurationMs("2m") == 120'000);
  CHECK(parseDurationMs("1h") == 3'600'000);
  CHECK(parseDurationMs("42") == 42);
  CHECK(parseDurationMs("0s") == 0);
  CHECK_FALSE(parseDurationMs(""));
  CHECK_FALSE(parseDurationMs("s"));
  CHECK_FALSE(parseDurationMs("-1s"));
  CHECK_FALSE(parseDurationMs("5 s"));
  CHECK_FALSE(parseDurationMs("5d"));
  CHECK_FALSE(parseDurationMs("99999999999999999h"));
}

TEST_CASE("options: defaults, values, and refusals") {
  std::string error;
  auto defaults = ClientConfig::parse("{}", "[]", error);
  REQUIRE(defaults);
  CHECK(defaults->options.deadline_ms == 30'000);
  CHECK(defaults->options.connect_timeout_ms == 5'000);
  CHECK_FALSE(defaults->options.tls);
  CHECK(defaults->options.max_receive_message_size == 4 * 1024 * 1024);

  auto set = ClientConfig::parse(
      R"({"deadline": "2s", "connect-timeout": 100, "max-receive-message-size": 1000})", "[]",
      error);
  REQUIRE(set);
  CHECK(set->options.deadline_ms == 2'000);
  CHECK(set->options.connect_timeout_ms == 100);
  CHECK(set->options.max_receive_message_size == 1000);

  CHECK_FALSE(ClientConfig::parse(R"({"deadline": "later"})", "[]", error));
  CHECK(error.find("deadline") != std::string::npos);
  CHECK_FALSE(ClientConfig::parse(R"({"tls": {"ca": "/nonexistent/ca.pem"}})", "[]", error));
  CHECK(error.find("/nonexistent/ca.pem") != std::string::npos);
  CHECK_FALSE(ClientConfig::parse(R"({"tls": {"cert": "x"}})", "[]", error));
  CHECK_FALSE(ClientConfig::parse("{", "[]", error));

  const zb::grpc_test::TlsFiles& tls = zb::grpc_test::tlsFiles();
  REQUIRE_MESSAGE(tls.error.empty(), tls.error);
  auto with_tls = ClientConfig::parse(R"({"tls": {"ca": ")" + tls.ca + R"(", "server-name": "x"}})",
                                      "[]", error);
  REQUIRE(with_tls);
  REQUIRE(with_tls->options.tls);
  CHECK(with_tls->options.tls->ca_pem.find("BEGIN CERTIFICATE") != std::string::npos);
  CHECK(with_tls->options.tls->server_name == "x");
}

TEST_CASE("a binding with an unusable config is refused when the engine creates it") {
  zb::grpc_test::Harness harness(R"({"tls": {"ca": "/nonexistent/ca.pem"}})");
  CHECK_FALSE(harness.created());
  CHECK(harness.error().find("grpc0") != std::string::npos);
  CHECK(harness.error().find("/nonexistent/ca.pem") != std::string::npos);
}

TEST_CASE("route conditions: method globs and metadata") {
  std::string error;
  auto config =
      ClientConfig::parse("{}",
                          R"([{"exit": "http0", "when": [{"method": "grpc.examples.echo.Echo/*"},
                                     {"method": "other.Svc/Get", "metadata": {"tenant": "a"}}]}])",
                          error);
  REQUIRE(config);
  CHECK(config->accepts("grpc.examples.echo.Echo", "UnaryEcho", nullptr));
  CHECK_FALSE(config->accepts("grpc.examples.echo.Echoes", "UnaryEcho", nullptr));
  CHECK_FALSE(config->accepts("other.Svc", "Get", nullptr));  // its metadata is missing

  flatbuffers::FlatBufferBuilder fbb;
  const auto entry = zb::grpc::CreateMetadata(fbb, zb::grpc::MetadataType::TEXT,
                                              fbb.CreateVector((const uint8_t*)"tenant", 6),
                                              fbb.CreateVector((const uint8_t*)"a", 1));
  fbb.Finish(fbb.CreateVector(&entry, 1));
  const auto* metadata =
      flatbuffers::GetRoot<flatbuffers::Vector<flatbuffers::Offset<zb::grpc::Metadata>>>(
          fbb.GetBufferPointer());
  CHECK(config->accepts("other.Svc", "Get", metadata));

  auto open = ClientConfig::parse("{}", R"([{"exit": "http0"}])", error);
  REQUIRE(open);
  CHECK(open->accepts("any.Service", "Any", nullptr));

  CHECK(globMatches("*", ""));
  CHECK(globMatches("a*c", "abbbc"));
  CHECK(globMatches("*Echo", "UnaryEcho"));
  CHECK_FALSE(globMatches("a*c", "abcd"));
  CHECK(globMatches("exact", "exact"));
  CHECK_FALSE(globMatches("exact", "exac"));
}

TEST_CASE("base64 round trips and refuses what is not base64") {
  const std::string bytes("\x00\x01\x02\xff\xfe", 5);
  std::string text;
  encodeBase64(bytes, text);
  CHECK(text == "AAEC//4=");
  std::string decoded;
  CHECK(decodeBase64(text, decoded));
  CHECK(decoded == bytes);
  decoded.clear();
  CHECK(decodeBase64("AAEC//4", decoded));  // padding is optional
  CHECK(decoded == bytes);
  for (const char* bad : {"A", "AA=A", "!!!!", "AAEC//4==", "YW Jj", "Zm9v\n"}) {
    decoded.clear();
    CHECK_MESSAGE(!decodeBase64(bad, decoded), bad);
  }
  std::string empty;
  encodeBase64("", empty);
  CHECK(empty.empty());
  CHECK(decodeBase64("", empty));
  std::string all;
  for (int i = 0; i < 256; ++i) {
    all.push_back(static_cast<char>(i));
  }
  std::string round;
  encodeBase64(all, round);
  std::string back;
  CHECK(decodeBase64(round, back));
  CHECK(back == all);
}
