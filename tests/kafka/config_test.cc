// The binding's options, its published schema, and BEGINs it refuses: no broker needed.
#include "config.h"
#include "consumer_group.h"
#include "harness.h"

#include <doctest/doctest.h>
#include <json/json.h>

#include <librdkafka/rdkafka.h>

#include <fstream>
#include <sstream>

namespace zb::kafka_test {
namespace {

namespace kx = ::zb::kafka;
using kafka_binding::ClientOptions;

// Nothing listens on port 1: the binding starts, connects nowhere, and says so in its log.
const char* const kNowhere = R"({"servers": ["127.0.0.1:1"]})";

Json::Value parseJson(const std::string& text) {
  Json::Value root;
  Json::CharReaderBuilder builder;
  std::string errors;
  std::istringstream in(text);
  REQUIRE_MESSAGE(Json::parseFromStream(builder, in, &root, &errors), errors);
  return root;
}

// An initiator that opens a stream with whatever BEGIN extension it is given.
class RawClient : public sdk::Stream {
 public:
  RawClient(const sdk::Host& host, uint64_t origin, uint64_t routed, uint32_t kafka_type)
      : sdk::Stream(host, origin, routed), kafka_type_(kafka_type) {}
  bool reset = false;
  bool aborted = false;
  int32_t error = 0;
  std::string message;

 protected:
  void onReset(const zb_frame_t& frame) override {
    reset = true;
    const kx::KafkaExtension* ext = sdk::readKafka(frame, kafka_type_);
    if (const kx::ResetEx* ex = ext != nullptr ? ext->ex_as_ResetEx() : nullptr) {
      error = ex->error();
      message = std::string(sdk::textOf(ex->message()));
    }
  }
  void onAbort(const zb_frame_t&) override { aborted = true; }
  void onRelease() override {}  // owned by the test

 private:
  uint32_t kafka_type_;
};

TEST_CASE("options: servers, properties, sasl and embedded are parsed") {
  std::string error;
  const auto options = ClientOptions::parse(R"({
      "servers": ["a:9092", "b:9093"],
      "properties": {"linger.ms": "1", "security.protocol": "SASL_SSL"},
      "sasl": {"mechanism": "scram-sha-256", "username": "u", "password": "p"},
      "embedded": {"partitions": 3}})",
                                            error);
  REQUIRE_MESSAGE(options, error);
  CHECK(options->servers == std::vector<std::string>{"a:9092", "b:9093"});
  CHECK(options->properties.size() == 2);
  REQUIRE(options->sasl);
  CHECK(options->sasl->mechanism == "scram-sha-256");
  CHECK(options->embedded.partitions == 3);
  CHECK_FALSE(options->embeddedCluster());

  // YAML gives numbers and booleans for `linger.ms: 5` or `enable.idempotence: true`.
  const auto typed = ClientOptions::parse(
      R"({"servers": ["[::1]:9092"], "properties": {"linger.ms": 5, "check.crcs": true}})", error);
  REQUIRE_MESSAGE(typed, error);
  CHECK(typed->properties == std::vector<std::pair<std::string, std::string>>{
                                 {"check.crcs", "true"}, {"linger.ms", "5"}});

  const auto empty = ClientOptions::parse("{}", error);
  REQUIRE(empty);
  CHECK(empty->embeddedCluster());
  CHECK(empty->embedded.partitions == 1);
}

TEST_CASE("options: unknown options and malformed values are refused with their path") {
  std::string error;
  CHECK_FALSE(ClientOptions::parse(R"({"bootstrap": ["x"]})", error));
  CHECK(error.find("options/bootstrap") != std::string::npos);
  CHECK_FALSE(ClientOptions::parse(R"({"servers": ["no-port"]})", error));
  CHECK(error.find("options/servers/0") != std::string::npos);
  CHECK_FALSE(ClientOptions::parse(R"({"properties": {"linger.ms": [5]}})", error));
  CHECK(error.find("options/properties/linger.ms") != std::string::npos);
  CHECK_FALSE(ClientOptions::parse(R"({"sasl": {"mechanism": "gssapi", "username": "u",
                                   "password": "p"}})",
                                   error));
  CHECK(error.find("options/sasl/mechanism") != std::string::npos);
  CHECK_FALSE(ClientOptions::parse(R"({"embedded": {"partitions": 0}})", error));
}

TEST_CASE("options: SASL becomes librdkafka settings, and the binding's own settings win") {
  std::string error;
  const auto options = ClientOptions::parse(R"({"servers": ["a:1"],
      "properties": {"enable.auto.commit": "true", "auto.offset.reset": "latest"},
      "sasl": {"mechanism": "plain", "username": "user", "password": "secret"}})",
                                            error);
  REQUIRE(options);
  rd_kafka_conf_t* conf = kafka_binding::makeKafkaConf(
      *options, "a:1", kafka_binding::HandleRole::kConsumer, {{"group.id", "g"}}, error);
  REQUIRE_MESSAGE(conf != nullptr, error);
  auto get = [conf](const char* name) {
    char value[256];
    size_t size = sizeof value;
    REQUIRE(rd_kafka_conf_get(conf, name, value, &size) == RD_KAFKA_CONF_OK);
    return std::string(value);
  };
  CHECK(get("sasl.mechanisms") == "PLAIN");
  CHECK(get("sasl.username") == "user");
  CHECK(get("security.protocol") == "sasl_plaintext");
  CHECK(get("enable.auto.commit") == "false");   // commits follow the streams, always
  CHECK(get("auto.offset.reset") == "largest");  // "latest": a default the user may change
  CHECK(get("group.id") == "g");
  rd_kafka_conf_destroy(conf);
}

TEST_CASE("options: consumers rebalance cooperatively unless the user picks an assignor") {
  std::string error;
  auto assignor = [&](const char* json) {
    const auto options = ClientOptions::parse(json, error);
    REQUIRE_MESSAGE(options, error);
    rd_kafka_conf_t* conf = kafka_binding::makeKafkaConf(
        *options, "a:1", kafka_binding::HandleRole::kConsumer, {{"group.id", "g"}}, error);
    REQUIRE_MESSAGE(conf != nullptr, error);
    char value[256];
    size_t size = sizeof value;
    REQUIRE(rd_kafka_conf_get(conf, "partition.assignment.strategy", value, &size) ==
            RD_KAFKA_CONF_OK);
    rd_kafka_conf_destroy(conf);
    return std::string(value);
  };
  CHECK(assignor(R"({"servers": ["a:1"]})") == "cooperative-sticky");
  CHECK(assignor(R"({"servers": ["a:1"],
      "properties": {"partition.assignment.strategy": "range,roundrobin"}})") ==
        "range,roundrobin");
}

TEST_CASE("a rewind never seeks past a record not yet delivered") {
  kafka_binding::PartitionCursor cursor;
  rd_kafka_message_t held{};
  held.offset = 10;
  // A record fetched before the partition's queue was split asks for a seek to 12 while the
  // record at 10 waits for credit: seeking to 12 would skip 10 and 11.
  cursor.held->message = &held;
  cursor.rewind_to = 12;
  CHECK(cursor.rewindTarget() == 10);
  // Once records were routed, `next` is the first one not routed.
  cursor.next = 11;
  CHECK(cursor.rewindTarget() == 11);
  cursor.rewind_to = 4;  // records a closed stream did not finish
  CHECK(cursor.rewindTarget() == 4);
  cursor.held->message = nullptr;
}

TEST_CASE("the binding publishes schema.json as its config schema") {
  std::string error;
  auto plugin = runtime::Plugin::load(ZB_BINDINGS_DIR "/libbinding-kafka.so",
                                      runtime::Engine::hostApi(), error);
  REQUIRE_MESSAGE(plugin, error);
  CHECK(std::string(plugin->api()->type_name) == "kafka");
  const std::string published = plugin->api()->config_schema_json;
  std::ifstream file(ZB_SOURCE_DIR "/binding/kafka/schema.json");
  const std::string source((std::istreambuf_iterator<char>(file)),
                           std::istreambuf_iterator<char>());
  CHECK(published == source);
  const Json::Value schema = parseJson(published);
  CHECK(schema["$schema"].asString() == "http://json-schema.org/draft-07/schema#");
  CHECK(schema["properties"]["type"]["const"].asString() == "kafka");
  CHECK(schema["properties"]["kind"]["enum"][0].asString() == "client");
  const Json::Value& options = schema["properties"]["options"];
  CHECK(options["additionalProperties"].asBool() == false);
  CHECK(options["properties"]["servers"]["items"]["type"].asString() == "string");
  CHECK(options["properties"]["properties"]["additionalProperties"]["type"][0].asString() ==
        "string");
  CHECK(options["properties"]["sasl"]["required"].size() == 3);
}

TEST_CASE("a librdkafka property it does not know refuses the binding at creation") {
  Harness harness(R"({"servers": ["127.0.0.1:1"], "properties": {"no.such.property": "1"}})");
  CHECK_FALSE(harness.created());
  CHECK(harness.error().find("no.such.property") != std::string::npos);
}

TEST_CASE("BEGINs it cannot serve are answered with RESET and ResetEx") {
  Harness harness(kNowhere);
  REQUIRE_MESSAGE(harness.created(), harness.error());
  const uint64_t kafka = harness.engine().bindingId("kafka0");
  const uint64_t app = harness.engine().bindingId("app0");

  SUBCASE("no extension") {
    RawClient client(harness.appHost(), app, kafka, harness.kafkaType());
    REQUIRE(client.doBegin() == ZB_OK);
    CHECK(client.reset);
    CHECK(client.aborted);
    CHECK(client.error == RD_KAFKA_RESP_ERR__INVALID_ARG);
    CHECK(client.message.find("MergedBeginEx") != std::string::npos);
  }
  SUBCASE("fetch without a group id") {
    FetchLog log;
    harness.fetch({"requests", ""}, log);
    CHECK(log.reset);
    CHECK(log.error == RD_KAFKA_RESP_ERR__INVALID_ARG);
    CHECK(log.message.find("group_id") != std::string::npos);
  }
  SUBCASE("produce and fetch together") {
    RawClient client(harness.appHost(), app, kafka, harness.kafkaType());
    sdk::ExtensionWriter writer;
    auto& fbb = writer.start();
    const auto begin = kx::CreateMergedBeginEx(fbb, kx::Capabilities::PRODUCE_AND_FETCH,
                                               fbb.CreateString("t"), fbb.CreateString("g"));
    REQUIRE(client.doBegin(writer.finishKafka(
                kx::CreateKafkaExtension(fbb, kx::KafkaEx::MergedBeginEx, begin.Union()),
                harness.kafkaType())) == ZB_OK);
    CHECK(client.reset);
    CHECK(client.error == RD_KAFKA_RESP_ERR__INVALID_ARG);
  }
}

TEST_CASE("a record Kafka never acknowledges is answered with ABORT and RESET ResetEx") {
  Harness harness(R"({"servers": ["127.0.0.1:1"], "properties": {"message.timeout.ms": "1000"}})");
  REQUIRE_MESSAGE(harness.created(), harness.error());
  ProduceLog log;
  ProduceClient* stream = harness.produce("replies", kx::AckMode::LEADER_ONLY, log);
  REQUIRE(harness.runUntil([&] { return log.windows > 0; }, 5000));
  CHECK(log.padding >= 1);
  stream->send({std::string("k"), std::string("v")});
  REQUIRE(harness.runUntil([&] { return log.reset; }, 15000));
  CHECK(log.aborted);
  CHECK(log.acknowledgedRecords() == 0);
  CHECK(log.error == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT);
  CHECK_FALSE(log.message.empty());
}

}  // namespace
}  // namespace zb::kafka_test
