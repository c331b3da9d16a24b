// The initiator's side of Kafka streams, for tests: the real libbinding-kafka.so loaded through
// the real loader into a real engine, next to an in-process SDK binding ("app") that opens
// FETCH and PRODUCE streams to it the way kafka-grpc does and records every frame it gets back.
#pragma once

#include <zb/runtime/engine.h>
#include <zb/runtime/plugin.h>
#include <zb/sdk/binding.hpp>
#include <zb/sdk/extension.hpp>

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace zb::kafka_test {

using Headers = std::vector<std::pair<std::string, std::optional<std::string>>>;

// A record as a test writes or reads it; nullopt is null (null key, tombstone, null header).
struct Record {
  std::optional<std::string> key;
  std::optional<std::string> value;
  Headers headers;
  int32_t partition = -1;
  int64_t offset = -1;
  int64_t timestamp = 0;
};

// One filter of a fetch stream: every condition must hold.
struct Filter {
  std::optional<std::optional<std::string>> key;  // set: the key must equal it (nullopt: null)
  std::vector<std::pair<std::string, std::string>> headers;
};

struct FetchSpec {
  std::string topic;
  std::string group;
  std::vector<Filter> filters;
  int32_t window = 64 * 1024;  // reply window maximum the app grants
  int32_t padding = 0;
};

// Everything a fetch stream showed the app.
struct FetchLog {
  bool begun = false;  // reply BEGIN
  std::vector<Record> records;
  std::vector<int32_t> deferred;  // FetchDataEx.deferred of each INIT fragment
  size_t fragments = 0;
  size_t largest_fragment = 0;
  bool overrun = false;      // a DATA frame beyond the granted window
  bool interleaved = false;  // an INIT fragment before the previous record's FIN
  bool ended = false;
  bool aborted = false;
  bool reset = false;
  int32_t error = 0;  // ResetEx.error of an ABORT or RESET
  std::string message;
  bool released = false;
  // What the AssignmentFlushEx frames said, in order.
  std::vector<int32_t> assigned;
  std::vector<int32_t> revoked;
  // Revoked partitions released (ConsumerReleaseEx), in order.
  std::vector<int32_t> releases;
};

class FetchClient : public sdk::Stream {
 public:
  FetchClient(const sdk::Host& host, uint64_t origin, uint64_t routed, FetchLog& log,
              uint32_t kafka_type);
  int32_t open(const FetchSpec& spec);
  // FLUSH with ConsumerFlushEx{progress{partition, offset}}: commit `offset` (the next to read).
  void commit(int32_t partition, int64_t offset);
  void finish() { doEnd(); }
  // Stop or resume returning credit for received bytes.
  void holdCredit(bool hold);
  // FLUSH with ConsumerReleaseEx: done with these revoked partitions.
  void release(const std::vector<int32_t>& partitions);
  // Whether a revoke is answered with a release at once (the default), or left to release().
  void holdReleases(bool hold) { hold_releases_ = hold; }

 protected:
  void onBegin(const zb_frame_t& frame) override;
  void onData(const zb_frame_t& frame) override;
  void onFlush(const zb_frame_t& frame) override;
  void onEnd(const zb_frame_t& frame) override;
  void onAbort(const zb_frame_t& frame) override;
  void onReset(const zb_frame_t& frame) override;
  void onRelease() override;

 private:
  void readReset(const zb_frame_t& frame);
  FetchLog& log_;
  uint32_t kafka_type_;
  sdk::ExtensionWriter writer_;
  Record partial_;
  std::string partial_value_;
  bool partial_null_ = false;
  bool partial_open_ = false;
  bool hold_ = false;
  bool hold_releases_ = false;
};

struct ProduceLog {
  bool begun = false;
  int windows = 0;
  int32_t padding = -1;  // of the first WINDOW
  int64_t acknowledged = 0;
  std::vector<int64_t> ends;  // stream position after each record's last fragment
  size_t fragments = 0;
  bool ended = false;
  bool aborted = false;
  bool reset = false;
  int32_t error = 0;
  std::string message;
  bool released = false;

  // Records whose every byte the binding has acknowledged (durable under the ack mode).
  size_t acknowledgedRecords() const {
    size_t n = 0;
    while (n < ends.size() && ends[n] <= acknowledged) {
      ++n;
    }
    return n;
  }
};

class ProduceClient : public sdk::Stream {
 public:
  ProduceClient(const sdk::Host& host, uint64_t origin, uint64_t routed, ProduceLog& log,
                uint32_t kafka_type);
  int32_t open(const std::string& topic, zb::kafka::AckMode acks);
  // Queues a record; it goes out, fragmented if need be, within the granted window.
  void send(Record record);
  // END once the queued records are out.
  void finish();

 protected:
  void onBegin(const zb_frame_t& frame) override;
  void onEnd(const zb_frame_t& frame) override;
  void onAbort(const zb_frame_t& frame) override;
  void onWindow(const zb_frame_t& frame) override;
  void onReset(const zb_frame_t& frame) override;
  void onRelease() override;

 private:
  void pump();
  void pumpOnce();
  void readReset(const zb_frame_t& frame);
  ProduceLog& log_;
  uint32_t kafka_type_;
  sdk::ExtensionWriter writer_;
  std::deque<Record> queue_;
  size_t sent_ = 0;  // value bytes of queue_.front() already sent
  bool started_ = false;
  bool finish_ = false;
  bool pumping_ = false;
  bool repump_ = false;
  bool release_pending_ = false;
};

// Log lines of one engine, kept for assertions and echoed to stderr.
class CapturedLog : public runtime::LogSink {
 public:
  void write(zb_log_level level, std::string_view binding, std::string_view msg) override;
  std::vector<std::string> lines() const;
  // The first line containing `needle`, or "".
  std::string find(const std::string& needle) const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

// Metric values by name (labels ignored), summed. Engine thread.
class MetricTotals : public runtime::MetricSink {
 public:
  uint32_t declare(zb_metric_kind kind, std::string_view binding, std::string_view name,
                   std::string_view labels) override;
  void record(uint32_t id, int64_t value) override;
  int64_t total(const std::string& name) const;

 private:
  std::vector<std::string> names_;  // id - 1
  std::vector<int64_t> values_;
};

// An engine with the kafka binding "kafka0" (options as given) and the app binding "app0".
class Harness {
 public:
  explicit Harness(const std::string& options_json);
  ~Harness();

  bool created() const { return created_; }
  const std::string& error() const { return error_; }
  runtime::Engine& engine() { return engine_; }
  CapturedLog& log() { return log_; }
  const MetricTotals& metrics() const { return metrics_; }
  const sdk::Host& appHost() const;
  uint32_t kafkaType() const;

  FetchClient* fetch(const FetchSpec& spec, FetchLog& log);
  ProduceClient* produce(const std::string& topic, zb::kafka::AckMode acks, ProduceLog& log);

  bool runUntil(const std::function<bool()>& done, int64_t timeout_ms);
  // Runs the engine for `ms` (lets librdkafka's work arrive).
  void runFor(int64_t ms);

 private:
  CapturedLog log_;
  MetricTotals metrics_;
  runtime::Engine engine_{log_, &metrics_};
  std::string error_;
  uint64_t kafka_id_ = 0;
  uint64_t app_id_ = 0;
  bool created_ = false;
  sdk::Binding* app_ = nullptr;
};

// Runs several engines in turn on this thread until `done` or the timeout.
bool runAll(const std::vector<Harness*>& harnesses, const std::function<bool()>& done,
            int64_t timeout_ms);

}  // namespace zb::kafka_test
