// The Kafka side of e2e-bench: topics, unary requests in Zilla's record format written ahead of a
// run, and the replies counted as they land on the reply topic.
//
// Thread: the caller's.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace zb::bench {

// Creates each topic with `partitions` partitions (replication 1). An existing topic is an
// error: every run uses fresh names.
bool createTopics(const std::string& bootstrap, const std::vector<std::string>& topics,
                  int partitions, std::string& error);

struct RequestBatch {
  std::string topic;
  std::string reply_to;
  std::string service = "grpc.examples.echo.Echo";
  std::string method = "UnaryEcho";
  std::string id_prefix;  // correlation ids are "<prefix>-<n>", n zero-padded
  uint64_t count = 0;
};

// Writes, per request, a record (headers zilla:service, zilla:method, zilla:reply-to,
// zilla:correlation-id; key = correlation id; value = EchoRequest) and then its tombstone (same
// key and headers, null value), as grpc-kafka would. Returns once every record is acknowledged.
bool preloadRequests(const std::string& bootstrap, const RequestBatch& batch, std::string& error);

// The correlation id of request `n` of `batch`.
std::string requestId(const RequestBatch& batch, uint64_t n);

int64_t epochNs();

// Writes the requests of `batch` at `rate` requests per second on a thread of its own, from the
// moment it is constructed, noting when each one was handed to the producer (system clock, ns
// since the epoch, the clock of record timestamps): the start of its latency. Its producer
// lingers 0 ms, so a request leaves at once.
class PacedRequests {
 public:
  PacedRequests(const std::string& bootstrap, RequestBatch batch, double rate);
  ~PacedRequests();
  PacedRequests(const PacedRequests&) = delete;
  PacedRequests& operator=(const PacedRequests&) = delete;

  // Waits until every request is written and acknowledged. Empty on success.
  std::string finish();
  // Send times by request number (ns since the epoch); read after finish().
  const std::vector<int64_t>& sentNs() const { return sent_ns_; }

 private:
  void run(std::string bootstrap, double rate);

  RequestBatch batch_;
  std::vector<int64_t> sent_ns_;
  std::string error_;
  std::thread thread_;
};

// Reads a reply topic from the beginning, counting the requests answered: a status tombstone
// (null value, header zilla:status) per correlation id.
class ReplyCounter {
 public:
  ReplyCounter(const std::string& bootstrap, const std::string& topic, int partitions);
  ~ReplyCounter();
  ReplyCounter(const ReplyCounter&) = delete;
  ReplyCounter& operator=(const ReplyCounter&) = delete;

  bool ok() const { return consumer_ != nullptr; }
  // Reads what has arrived, waiting up to `timeout` for the first record. Returns right after
  // the very first reply, so the caller can note when it came.
  void poll(std::chrono::milliseconds timeout);

  uint64_t answered() const { return answered_.size(); }
  uint64_t dataRecords() const { return data_records_; }
  uint64_t statusRecords() const { return status_records_; }
  uint64_t errorStatuses() const { return error_statuses_; }  // zilla:status other than 0
  // Record timestamps (ms since the epoch, set by the producing client): the first reply record
  // of any kind, and the latest status tombstone. 0 until seen.
  int64_t firstReplyMs() const { return first_reply_ms_; }
  int64_t lastStatusMs() const { return last_status_ms_; }
  // The record timestamp (ms since the epoch, set by the pipeline's producer) of the first
  // status tombstone of each correlation id: when the pipeline produced its answer. Latency
  // measured to it leaves out how fast this reader reads, which is no part of the pipeline.
  const std::unordered_map<std::string, int64_t>& statusTimestamps() const { return arrivals_; }

 private:
  rd_kafka_t* consumer_ = nullptr;
  std::unordered_set<std::string> answered_;
  std::unordered_map<std::string, int64_t> arrivals_;
  uint64_t data_records_ = 0;
  uint64_t status_records_ = 0;
  uint64_t error_statuses_ = 0;
  int64_t first_reply_ms_ = 0;
  int64_t last_status_ms_ = 0;
};

}  // namespace zb::bench
