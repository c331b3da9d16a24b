// Where a fetch stream sends the records it cannot answer (no correlation id, or no reply-to),
// when `dead-letter-topic` is configured: a PRODUCE stream to that topic, opened on first use.
//
// Each record goes there as it came (key, headers, value, fragment by fragment, a tombstone as
// a tombstone) plus two headers: `zilla:dead-letter-reason` and `zilla:dead-letter-source`
// ("<topic>/<partition>@<offset>"). The record settles (may be committed) once the dead-letter
// topic acknowledges it; if that stream fails, the records in it are logged, counted and
// settled anyway, so a bad record never stalls consumption.
//
// Dead letters are rare, so this path copies headers into its own storage and may allocate.
//
// Thread: engine.
#pragma once

#include "held_fragments.h"
#include "offset_tracker.h"
#include "stream_port.h"

#include <zb/ext/kafka_generated.h>

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zb::kafka_grpc {

class FetchStream;
class RemoteServer;

class DeadLetterProducer final : public RecordSink, public PortListener {
 public:
  DeadLetterProducer(RemoteServer& server, FetchStream& fetch) : server_(server), fetch_(fetch) {}

  // The record about to arrive goes here; copies what its INIT fragment will need.
  void add(const OffsetTracker::Handle& record, const zb::kafka::FetchDataEx& ex,
           std::string_view reason, std::string_view source);

  Written write(uint8_t flags, int32_t deferred, const uint8_t* data, size_t length) override;
  bool takesNull() const override { return true; }

  // The fetch stream is gone: its records will be delivered again.
  void abandon();
  // No record waits for the dead-letter topic.
  bool idle() const { return pending_.empty(); }

 private:
  struct Pending {
    OffsetTracker::Handle record;
    std::optional<std::string> key;
    std::vector<std::pair<std::string, std::optional<std::string>>> headers;
    int64_t timestamp = 0;
    int64_t end = -1;  // produce sequence after its last fragment, once written
  };

  void open();
  void onPortWindow(StreamPort& port, const zb_frame_t& frame) override;
  void onPortEnd(StreamPort& port, const zb_frame_t& frame) override;
  void onPortAbort(StreamPort& port, const zb_frame_t& frame) override;
  void onPortReset(StreamPort& port, const zb_frame_t& frame) override;
  void onPortReleased(StreamPort& port) override;
  void settleAcknowledged();
  void failed(const char* why);

  RemoteServer& server_;
  FetchStream& fetch_;
  StreamPort* port_ = nullptr;
  std::deque<Pending> pending_;
  size_t writing_ = 0;  // index in pending_ of the record whose fragments are being written
};

}  // namespace zb::kafka_grpc
