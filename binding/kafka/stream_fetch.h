// The acceptor side of a merged FETCH_ONLY stream: one topic's records, filtered, delivered as
// DATA fragments within the initiator's window. FLUSH frames from the initiator carry its commit
// progress and the revoked partitions it releases; FLUSH frames to it say which partitions the
// consumer group assigned and revokes.
#pragma once

#include "record_filter.h"

#include <zb/sdk/binding.hpp>
#include <zb/sdk/extension.hpp>

#include <librdkafka/rdkafka.h>

#include <string>
#include <unordered_set>
#include <vector>

namespace zb::kafka_binding {

class ConsumerGroup;
class FetchStream;

// A consumed record on its way to a stream. The librdkafka message is held (not copied) until
// its last fragment is out, so the value is sent straight from librdkafka's buffer.
struct HeldRecord {
  rd_kafka_message_t* message = nullptr;
  FetchStream* target = nullptr;  // the stream it was routed to, once routed
  size_t sent = 0;                // value bytes already sent
  bool started = false;           // the INIT fragment is out

  void release() {
    if (message != nullptr) {
      rd_kafka_message_destroy(message);
    }
    message = nullptr;
    target = nullptr;
    sent = 0;
    started = false;
  }
};

class FetchStream final : public sdk::Stream {
 public:
  FetchStream(const sdk::Host& host, const zb_frame_t& begin, ConsumerGroup& group,
              std::string topic, RecordFilter filter, uint32_t kafka_type,
              std::unordered_set<sdk::Stream*>& registry);

  const std::string& topic() const { return topic_; }
  const RecordFilter& filter() const { return filter_; }
  // Takes records: opened, not closed by either side.
  bool live() const { return attached_ && !gone_; }
  // No other record is half-sent and the window allows the first fragment of `record`.
  bool canStart(const HeldRecord& record);
  // Sends as many fragments of `record` as the window allows; true once the last one is out.
  bool deliver(HeldRecord& record);
  // The consumer failed or the binding stops: ABORT (or END) the reply and stop taking records.
  void terminate(rd_kafka_resp_err_t err, const char* message);
  // FLUSH with AssignmentFlushEx: partitions of the topic gained and being taken away.
  void notifyAssignment(const std::vector<int32_t>& assigned, const std::vector<int32_t>& revoked);

  void onRelease() override;

 protected:
  void onBegin(const zb_frame_t& frame) override;
  void onWindow(const zb_frame_t& frame) override;
  void onFlush(const zb_frame_t& frame) override;
  void onEnd(const zb_frame_t& frame) override;
  void onAbort(const zb_frame_t& frame) override;
  void onReset(const zb_frame_t& frame) override;

 private:
  // Smallest fragment worth sending when `remaining` value bytes are left.
  int64_t minimumFragment(int64_t remaining);
  sdk::Extension fetchDataEx(const rd_kafka_message_t& record, int32_t deferred);
  void close();

  ConsumerGroup& group_;
  std::string topic_;
  RecordFilter filter_;
  uint32_t kafka_type_;
  std::unordered_set<sdk::Stream*>& registry_;
  sdk::ExtensionWriter writer_;
  std::vector<flatbuffers::Offset<::zb::kafka::Header>> header_offsets_;
  std::vector<int32_t> released_;  // scratch for a ConsumerReleaseEx
  HeldRecord* active_ = nullptr;   // the record whose fragments are going out
  bool attached_ = false;
  bool gone_ = false;
};

}  // namespace zb::kafka_binding
