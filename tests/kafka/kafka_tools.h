// The test's own librdkafka clients and kcat, to put records on a topic and to look at what the
// binding did there (records produced, offsets committed) independently of the binding.
#pragma once

#include "harness.h"

#include <librdkafka/rdkafka.h>

#include <string>
#include <vector>

namespace zb::kafka_test {

// ZB_KAFKA_BOOTSTRAP (set by the kafka_broker fixture), or "".
std::string brokerFromEnv();
// A name no earlier run used: "<prefix>-<time>-<counter>".
std::string uniqueName(const std::string& prefix);

// Creates `topic` with `partitions` partitions; fails the test on error.
void createTopic(const std::string& bootstrap, const std::string& topic, int partitions);
// Produces records (partition -1: by key) and waits until all are acknowledged.
void produceRecords(const std::string& bootstrap, const std::string& topic,
                    const std::vector<Record>& records);
// Reads the topic's partitions from the beginning until `count` records or the timeout.
std::vector<Record> readRecords(const std::string& bootstrap, const std::string& topic,
                                int partitions, size_t count, int timeout_ms);

// Reads a consumer group's committed offsets (rd_kafka_committed) without joining the group.
class CommittedOffsets {
 public:
  CommittedOffsets(const std::string& bootstrap, const std::string& group);
  ~CommittedOffsets();
  // The committed offset, or -1001 (RD_KAFKA_OFFSET_INVALID) when none.
  int64_t get(const std::string& topic, int32_t partition);

 private:
  rd_kafka_t* rk_ = nullptr;
};

// Runs kcat with `args`, feeding `input` on stdin; returns its stdout. Fails the test when kcat
// exits non-zero.
std::string kcat(const std::string& args, const std::string& input = "");

}  // namespace zb::kafka_test
