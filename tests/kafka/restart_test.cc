// A broker restart under the binding: a broker of its own (scripts/kafka/broker.sh on a free
// port) is stopped and started again while a fetch and a produce stream are open.
#include "harness.h"
#include "kafka_tools.h"
#include "support/own_broker.h"

#include <doctest/doctest.h>

#include <unistd.h>

#include <string>

namespace zb::kafka_test {
namespace {

namespace kx = ::zb::kafka;

TEST_CASE("broker restart: fetch and produce resume by themselves, nothing lost") {
  zb::test::OwnBroker broker(ZB_BINARY_DIR "/kafka-restart-broker-" + std::to_string(::getpid()));
  broker.start();
  const std::string topic = uniqueName("restart");
  const std::string replies = uniqueName("restart-replies");
  const std::string group = uniqueName("group");
  createTopic(broker.bootstrap(), topic, 1);
  createTopic(broker.bootstrap(), replies, 1);
  Harness harness(R"({"servers": [")" + broker.bootstrap() +
                  R"("], "properties": {"reconnect.backoff.max.ms": "500"}})");
  REQUIRE_MESSAGE(harness.created(), harness.error());
  FetchLog fetched;
  FetchClient* fetch = harness.fetch({topic, group}, fetched);
  ProduceLog produced;
  ProduceClient* produce = harness.produce(replies, kx::AckMode::IN_SYNC_REPLICAS, produced);
  produceRecords(broker.bootstrap(), topic, {{"k", "before"}});
  produce->send({std::string("r"), std::string("before")});
  REQUIRE(harness.runUntil(
      [&] { return fetched.records.size() == 1 && produced.acknowledgedRecords() == 1; }, 30000));
  fetch->commit(0, 1);
  harness.runFor(500);

  broker.stop();
  produce->send({std::string("r"), std::string("while down")});
  harness.runFor(2000);
  CHECK(produced.acknowledgedRecords() == 1);  // not durable while the broker is down
  CHECK_FALSE(produced.reset);
  CHECK_FALSE(fetched.aborted);

  broker.start();
  REQUIRE(harness.runUntil([&] { return produced.acknowledgedRecords() == 2 || produced.reset; },
                           60000));
  CHECK_FALSE(produced.reset);
  produceRecords(broker.bootstrap(), topic, {{"k", "after"}});
  REQUIRE(harness.runUntil([&] { return fetched.records.size() >= 2; }, 60000));
  CHECK(fetched.records.back().value == "after");
  CHECK(fetched.records.back().offset == 1);
  const std::vector<Record> written = readRecords(broker.bootstrap(), replies, 1, 2, 20000);
  REQUIRE(written.size() == 2);
  CHECK(written[1].value == "while down");
}

}  // namespace
}  // namespace zb::kafka_test
