// The embedded Kafka (no servers): librdkafka's mock cluster in-process, reachable by kcat on the
// address the binding logs.
#include "harness.h"
#include "kafka_tools.h"

#include <doctest/doctest.h>

namespace zb::kafka_test {
namespace {

namespace kx = ::zb::kafka;

// "... embedded Kafka at 127.0.0.1:PORT (..." → "127.0.0.1:PORT".
std::string loggedAddress(const std::string& line) {
  const std::string marker = "embedded Kafka at ";
  const size_t at = line.find(marker);
  if (at == std::string::npos) {
    return "";
  }
  const size_t start = at + marker.size();
  return line.substr(start, line.find(' ', start) - start);
}

TEST_CASE("embedded Kafka: kcat produces to the binding's fetch and consumes its produce") {
  Harness harness(R"({"embedded": {"partitions": 2}})");
  REQUIRE_MESSAGE(harness.created(), harness.error());
  const std::string address = loggedAddress(harness.log().find("embedded Kafka at "));
  REQUIRE_MESSAGE(address.rfind("127.0.0.1:", 0) == 0, "logged address: " << address);
  CHECK_FALSE(harness.log().find("silently drops older data").empty());
  CHECK(harness.log().find("silently drops older data").rfind("warn", 0) == 0);

  // kcat → topic → the binding's fetch stream.
  FetchLog fetched;
  FetchClient* fetch = harness.fetch({"requests", "embedded-group"}, fetched);
  kcat("-b " + address + " -P -t requests -K: -p 0", "k1:v1\nk2:v2\n");
  kcat("-b " + address + " -P -t requests -K: -p 1", "k3:v3\n");
  REQUIRE(harness.runUntil([&] { return fetched.records.size() == 3; }, 30000));
  std::vector<std::string> seen;
  for (const Record& record : fetched.records) {
    seen.push_back(record.key.value_or("?") + "=" + record.value.value_or("?"));
    fetch->commit(record.partition, record.offset + 1);
  }
  std::sort(seen.begin(), seen.end());
  CHECK(seen == std::vector<std::string>{"k1=v1", "k2=v2", "k3=v3"});

  // The binding's produce stream → topic → kcat.
  ProduceLog produced;
  ProduceClient* produce = harness.produce("replies", kx::AckMode::IN_SYNC_REPLICAS, produced);
  produce->send({std::string("r1"), std::string("hello"), {{"zilla:status", std::string("0")}}});
  produce->send({std::string("r2"), std::nullopt});
  REQUIRE(harness.runUntil([&] { return produced.acknowledgedRecords() == 2 || produced.reset; },
                           30000));
  CHECK_FALSE(produced.reset);
  produce->finish();
  REQUIRE(harness.runUntil([&] { return produced.ended; }, 30000));
  const std::string out =
      kcat("-b " + address + " -C -t replies -e -o beginning -Z -f '%k=%s;%h\\n'");
  CHECK_MESSAGE(out.find("r1=hello;zilla:status=0") != std::string::npos, out);
  CHECK_MESSAGE(out.find("r2=NULL;") != std::string::npos, out);
}

}  // namespace
}  // namespace zb::kafka_test
