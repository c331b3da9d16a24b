// The acceptor side of a merged PRODUCE_ONLY stream: each record (fragments reassembled) is
// produced to the stream's topic; WINDOW.acknowledge moves past a record only once Kafka has
// acknowledged it under the stream's ack mode, in order.
#pragma once

#include "record_producer.h"

#include <zb/sdk/binding.hpp>
#include <zb/sdk/extension.hpp>

#include <librdkafka/rdkafka.h>

#include <deque>
#include <string>
#include <unordered_set>
#include <vector>

namespace zb::kafka_binding {

class ProduceStream;

// A record handed to librdkafka, waiting for its delivery report. Its address is the message's
// opaque, so slots live in a deque (stable addresses) and leave it only from the front.
struct ProduceSlot {
  ProduceStream* stream;
  int64_t end;  // the stream position after the record's last fragment
  bool done;
};

class ProduceStream final : public sdk::Stream {
 public:
  // Credit granted on the initial direction, and the padding every record pays (≥ 1, so that
  // tombstones consume credit too).
  static constexpr int32_t kWindow = 256 * 1024;
  static constexpr int32_t kPadding = 64;

  ProduceStream(const sdk::Host& host, const zb_frame_t& begin, RecordProducer& producer,
                rd_kafka_topic_t* topic, uint32_t kafka_type,
                std::unordered_set<sdk::Stream*>& registry);

  // A delivery report for one of this stream's records. Thread: engine (inside poll()).
  void onDelivered(ProduceSlot& slot, rd_kafka_resp_err_t err);
  void onRelease() override;

 protected:
  void onBegin(const zb_frame_t& frame) override;
  void onData(const zb_frame_t& frame) override;
  void onEnd(const zb_frame_t& frame) override;
  void onAbort(const zb_frame_t& frame) override;
  void onReset(const zb_frame_t& frame) override;

 private:
  struct HeaderCopy {
    std::string name;  // NUL-terminated for librdkafka
    std::string value;
    bool null_value = false;
  };

  void startRecord(const ::zb::kafka::ProduceDataEx* ex);
  void produce(const uint8_t* value, size_t length, int64_t end);
  void acknowledge();
  void fail(rd_kafka_resp_err_t err, const char* message);
  void maybeEnd();
  void maybeDelete();

  RecordProducer& producer_;
  rd_kafka_topic_t* topic_;
  uint32_t kafka_type_;
  std::unordered_set<sdk::Stream*>& registry_;

  // The record being assembled (buffers reused from record to record).
  bool assembling_ = false;
  bool null_value_ = false;
  std::string value_;
  std::string key_;
  bool null_key_ = true;
  int64_t timestamp_ = 0;
  int32_t partition_ = RD_KAFKA_PARTITION_UA;
  std::vector<HeaderCopy> headers_;
  size_t header_count_ = 0;
  std::vector<rd_kafka_vu_t> args_;

  std::deque<ProduceSlot> slots_;
  int64_t acked_ = 0;  // stream position after the last record acknowledged in order
  int in_flight_ = 0;  // delivery reports still to come
  bool end_requested_ = false;
  bool failed_ = false;
  bool released_ = false;
};

}  // namespace zb::kafka_binding
