// Two engines (two kafka bindings, as two zilla-host processes would have) in one consumer
// group: the partitions are shared after a rebalance and every record is delivered once.
#include "harness.h"
#include "kafka_tools.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>

namespace zb::kafka_test {
namespace {

// Commits every record a stream has received (as kafka-grpc does once a request is answered).
struct Committer {
  FetchClient* stream;
  FetchLog& log;
  size_t done = 0;
  void run() {
    for (; done < log.records.size(); ++done) {
      stream->commit(log.records[done].partition, log.records[done].offset + 1);
    }
  }
};

std::string brokerOptions(const std::string& bootstrap,
                          const std::string& assignor = "range,roundrobin") {
  return R"({"servers": [")" + bootstrap +
         R"("], "properties": {"heartbeat.interval.ms": "250", "session.timeout.ms": "6000",
            "partition.assignment.strategy": ")" +
         assignor + R"("}})";
}

void produceBatch(const std::string& bootstrap, const std::string& topic, int from) {
  std::vector<Record> records;
  for (int i = from; i < from + 10; ++i) {
    Record record{"k" + std::to_string(i), "v" + std::to_string(i)};
    record.partition = i % 2;
    records.push_back(record);
  }
  produceRecords(bootstrap, topic, records);
}

TEST_CASE(
    "rebalance: a second engine joins the group; partitions move; nothing is lost or repeated") {
  const std::string bootstrap = brokerFromEnv();
  REQUIRE_MESSAGE(!bootstrap.empty(), "needs ZB_KAFKA_BOOTSTRAP");
  const std::string topic = uniqueName("rebalance");
  const std::string group = uniqueName("group");
  createTopic(bootstrap, topic, 2);
  std::string assignor = "range,roundrobin";  // eager
  SUBCASE("eager") {}
  SUBCASE("cooperative") { assignor = "cooperative-sticky"; }
  CAPTURE(assignor);
  const std::string options = brokerOptions(bootstrap, assignor);
  auto batch = [&](int from) { produceBatch(bootstrap, topic, from); };

  Harness first(options);
  REQUIRE_MESSAGE(first.created(), first.error());
  FetchLog first_log;
  Committer first_commits{first.fetch({topic, group}, first_log), first_log};
  batch(0);
  REQUIRE(runAll(
      {&first}, [&] { return first_log.records.size() == 10; }, 30000));
  first_commits.run();
  CommittedOffsets offsets(bootstrap, group);
  REQUIRE(first.runUntil([&] { return offsets.get(topic, 0) == 5 && offsets.get(topic, 1) == 5; },
                         20000));

  Harness second(options);
  REQUIRE_MESSAGE(second.created(), second.error());
  FetchLog second_log;
  Committer second_commits{second.fetch({topic, group}, second_log), second_log};
  REQUIRE(runAll(
      {&first, &second}, [&] { return !second.log().find("assigned " + topic).empty(); }, 30000));

  batch(10);
  REQUIRE(runAll(
      {&first, &second},
      [&] {
        first_commits.run();
        second_commits.run();
        return first_log.records.size() + second_log.records.size() >= 20;
      },
      30000));
  runAll(
      {&first, &second}, [] { return false; }, 500);  // nothing more arrives

  std::multiset<std::pair<int32_t, int64_t>> seen;
  for (const FetchLog* log : {&first_log, &second_log}) {
    for (const Record& record : log->records) {
      seen.insert({record.partition, record.offset});
    }
  }
  CHECK(seen.size() == 20);
  for (int32_t partition : {0, 1}) {
    for (int64_t offset = 0; offset < 10; ++offset) {
      CHECK_MESSAGE(seen.count({partition, offset}) == 1, partition << "@" << offset);
    }
  }
  CHECK(second_log.records.size() >= 5);  // the second engine took a partition
  CHECK(runAll(
      {&first, &second}, [&] { return offsets.get(topic, 0) == 10 && offsets.get(topic, 1) == 10; },
      20000));
}

TEST_CASE(
    "rebalance: records in flight go to the partition's new owner; late progress is ignored") {
  const std::string bootstrap = brokerFromEnv();
  REQUIRE_MESSAGE(!bootstrap.empty(), "needs ZB_KAFKA_BOOTSTRAP");
  const std::string topic = uniqueName("rebalance-inflight");
  const std::string group = uniqueName("group");
  createTopic(bootstrap, topic, 2);
  produceBatch(bootstrap, topic, 0);

  Harness first(brokerOptions(bootstrap));
  REQUIRE_MESSAGE(first.created(), first.error());
  FetchLog first_log;
  FetchClient* first_stream = first.fetch({topic, group}, first_log);
  REQUIRE(runAll(
      {&first}, [&] { return first_log.records.size() == 10; }, 30000));
  // Nothing committed: all ten are in flight when the second engine joins.

  Harness second(brokerOptions(bootstrap));
  REQUIRE_MESSAGE(second.created(), second.error());
  FetchLog second_log;
  Committer second_commits{second.fetch({topic, group}, second_log), second_log};
  const std::string assigned = "assigned " + topic + "[";
  REQUIRE(runAll(
      {&first, &second}, [&] { return !second.log().find(assigned).empty(); }, 30000));
  const std::string line = second.log().find(assigned);
  const int32_t moved = std::stoi(line.substr(line.find(assigned) + assigned.size()));
  CAPTURE(moved);

  // The first engine finishes the moved partition's records late: it owns it no more, so its
  // progress must not be committed (the new owner redelivers them and commits itself).
  first_stream->commit(moved, 5);
  CommittedOffsets offsets(bootstrap, group);
  runAll(
      {&first, &second}, [] { return false; }, 500);
  CHECK(offsets.get(topic, moved) == RD_KAFKA_OFFSET_INVALID);

  REQUIRE(runAll(
      {&first, &second}, [&] { return second_log.records.size() >= 5; }, 30000));
  std::set<int64_t> redelivered;
  for (const Record& record : second_log.records) {
    CHECK(record.partition == moved);
    redelivered.insert(record.offset);
  }
  CHECK(redelivered == std::set<int64_t>{0, 1, 2, 3, 4});
  second_commits.run();
  CHECK(runAll(
      {&first, &second}, [&] { return offsets.get(topic, moved) == 5; }, 20000));
}

TEST_CASE(
    "rebalance (cooperative, the default): the partition that stays is untouched; the one that "
    "moves waits for its stream's release and goes with what the stream committed") {
  const std::string bootstrap = brokerFromEnv();
  REQUIRE_MESSAGE(!bootstrap.empty(), "needs ZB_KAFKA_BOOTSTRAP");
  const std::string topic = uniqueName("rebalance-release");
  const std::string group = uniqueName("group");
  createTopic(bootstrap, topic, 2);
  produceBatch(bootstrap, topic, 0);
  const std::string options = R"({"servers": [")" + bootstrap +
                              R"("], "properties": {"heartbeat.interval.ms": "250",
                                 "session.timeout.ms": "6000"}})";

  Harness first(options);
  REQUIRE_MESSAGE(first.created(), first.error());
  FetchLog first_log;
  FetchClient* first_stream = first.fetch({topic, group}, first_log);
  first_stream->holdReleases(true);
  REQUIRE(runAll(
      {&first}, [&] { return first_log.records.size() == 10; }, 30000));
  CHECK(first_log.assigned.size() == 2);

  Harness second(options);
  REQUIRE_MESSAGE(second.created(), second.error());
  FetchLog second_log;
  Committer second_commits{second.fetch({topic, group}, second_log), second_log};
  REQUIRE(runAll(
      {&first, &second}, [&] { return !first_log.revoked.empty(); }, 30000));
  REQUIRE(first_log.revoked.size() == 1);  // cooperative: only the partition that moves
  const int32_t moved = first_log.revoked[0];
  const int32_t stays = 1 - moved;
  CAPTURE(moved);

  // Not released: the partition stays with the first engine, whatever the group wants.
  runAll(
      {&first, &second}, [] { return false; }, 1500);
  CHECK(second.log().find("assigned " + topic + "[" + std::to_string(moved) + "]").empty());
  CHECK(second_log.records.empty());

  // The first engine finished three of the moved partition's records: they are committed before
  // the partition goes, and its next owner starts after them.
  first_stream->commit(moved, 3);
  first_stream->release({moved});
  REQUIRE(runAll(
      {&first, &second}, [&] { return second_log.records.size() == 2; }, 30000));
  for (const Record& record : second_log.records) {
    CHECK(record.partition == moved);
    CHECK(record.offset >= 3);
  }
  CommittedOffsets offsets(bootstrap, group);
  CHECK(offsets.get(topic, moved) == 3);

  // The partition that stayed was never revoked or fetched again: its records reach no one else.
  produceBatch(bootstrap, topic, 10);
  REQUIRE(runAll(
      {&first, &second},
      [&] {
        second_commits.run();
        return first_log.records.size() == 15 && second_log.records.size() == 7;
      },
      30000));
  CHECK(std::count(first_log.revoked.begin(), first_log.revoked.end(), stays) == 0);
  for (const Record& record : second_log.records) {
    CHECK(record.partition == moved);
  }
}

}  // namespace
}  // namespace zb::kafka_test
