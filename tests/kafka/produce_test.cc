// Produce streams against a real Kafka broker: each ack mode, acknowledgement through the window,
// records larger than the window, and a produce error.
#include "harness.h"
#include "kafka_tools.h"

#include <doctest/doctest.h>

namespace zb::kafka_test {
namespace {

namespace kx = ::zb::kafka;

std::string options(const std::string& bootstrap) {
  return R"({"servers": [")" + bootstrap + R"("]})";
}

std::string requireBroker() {
  const std::string bootstrap = brokerFromEnv();
  REQUIRE_MESSAGE(!bootstrap.empty(),
                  "needs ZB_KAFKA_BOOTSTRAP (ctest runs the kafka_broker fixture first)");
  return bootstrap;
}

TEST_CASE("produce: every ack mode acknowledges records in order, then END follows END") {
  const std::string bootstrap = requireBroker();
  Harness harness(options(bootstrap));
  REQUIRE_MESSAGE(harness.created(), harness.error());
  for (kx::AckMode acks :
       {kx::AckMode::NONE, kx::AckMode::LEADER_ONLY, kx::AckMode::IN_SYNC_REPLICAS}) {
    CAPTURE(int(acks));
    const std::string topic = uniqueName("produce-acks");
    createTopic(bootstrap, topic, 1);
    ProduceLog log;
    ProduceClient* stream = harness.produce(topic, acks, log);
    REQUIRE(harness.runUntil([&] { return log.windows > 0; }, 10000));
    CHECK(log.begun);
    CHECK(log.padding >= 1);
    CHECK(log.acknowledged == 0);
    stream->send({std::string("k1"),
                  std::string("v1"),
                  {{"zilla:correlation-id", std::string("c1")}, {"empty", std::nullopt}}});
    stream->send({std::nullopt, std::string()});
    stream->send({std::string("k3"), std::nullopt});  // tombstone
    REQUIRE(harness.runUntil([&] { return log.acknowledgedRecords() == 3 || log.reset; }, 20000));
    CHECK_FALSE(log.reset);
    stream->finish();
    REQUIRE(harness.runUntil([&] { return log.ended; }, 20000));

    const std::vector<Record> records = readRecords(bootstrap, topic, 1, 3, 20000);
    REQUIRE(records.size() == 3);
    CHECK(records[0].key == "k1");
    CHECK(records[0].value == "v1");
    CHECK(records[0].headers ==
          Headers{{"zilla:correlation-id", std::string("c1")}, {"empty", std::nullopt}});
    CHECK_FALSE(records[1].key.has_value());
    REQUIRE(records[1].value.has_value());
    CHECK(records[1].value->empty());
    CHECK(records[2].key == "k3");
    CHECK_FALSE(records[2].value.has_value());
  }
  CHECK(harness.metrics().total("kafka.produce.records") == 9);
  CHECK(harness.metrics().total("kafka.produce.errors") == 0);
}

TEST_CASE("produce: a record larger than the window is reassembled from its fragments") {
  const std::string bootstrap = requireBroker();
  const std::string topic = uniqueName("produce-large");
  createTopic(bootstrap, topic, 1);
  Harness harness(options(bootstrap));
  REQUIRE_MESSAGE(harness.created(), harness.error());
  std::string large(600 * 1024, '\0');
  for (size_t i = 0; i < large.size(); ++i) {
    large[i] = char(i * 7);
  }
  ProduceLog log;
  ProduceClient* stream = harness.produce(topic, kx::AckMode::IN_SYNC_REPLICAS, log);
  stream->send({std::string("big"), large});
  stream->send({std::string("small"), std::string("after")});
  REQUIRE(harness.runUntil([&] { return log.acknowledgedRecords() == 2 || log.reset; }, 30000));
  CHECK_FALSE(log.reset);
  CHECK(log.fragments > 2);
  const std::vector<Record> records = readRecords(bootstrap, topic, 1, 2, 20000);
  REQUIRE(records.size() == 2);
  CHECK(records[0].value == large);
  CHECK(records[1].value == "after");
}

TEST_CASE("produce: a record the producer refuses is answered with ABORT and RESET ResetEx") {
  const std::string bootstrap = requireBroker();
  const std::string topic = uniqueName("produce-too-large");
  Harness harness(R"({"servers": [")" + bootstrap +
                  R"("], "properties": {"message.max.bytes": "100000"}})");
  REQUIRE_MESSAGE(harness.created(), harness.error());
  ProduceLog log;
  ProduceClient* stream = harness.produce(topic, kx::AckMode::LEADER_ONLY, log);
  stream->send({std::string("ok"), std::string("fine")});
  stream->send({std::string("big"), std::string(200000, 'x')});
  REQUIRE(harness.runUntil([&] { return log.reset; }, 20000));
  CHECK(log.aborted);
  CHECK(log.error == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
  CHECK(harness.metrics().total("kafka.produce.errors") == 1);
  CHECK_FALSE(log.message.empty());
}

}  // namespace
}  // namespace zb::kafka_test
