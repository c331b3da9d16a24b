// One gRPC call: every request record of one correlation id, and its answer.
//
// The first record opens the call on the route's exit (BEGIN with scheme, authority, service,
// method, the `meta:` metadata and the deadline); each record's value is one request message,
// passed on fragment by fragment within gRPC credit; the tombstone ENDs the request stream. The
// answer goes through the ReplyProducer; when its final status record is durable, every record
// of the call is settled, so its offsets may be committed.
//
// A call that cannot be opened (UNAVAILABLE before any request byte was taken) is retried with
// backoff; a call that cannot be served is answered with a status anyway.
//
// Calls are pooled: reset() prepares one for a new correlation id, keeping its buffers.
//
// Thread: engine.
#pragma once

#include "held_fragments.h"
#include "offset_tracker.h"
#include "reply_producer.h"
#include "request_headers.h"
#include "stream_port.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace zb::kafka_grpc {

class FetchStream;
class RemoteServer;
struct Route;

class CorrelatedCall final : public RecordSink, public PortListener {
 public:
  enum class Phase : uint8_t {
    kFree,        // in the pool
    kWaiting,     // created, waiting for a slot of max-in-flight
    kConnecting,  // BEGIN sent, no credit yet
    kStreaming,   // credit granted: request bytes flow
    kBackoff,     // refused as UNAVAILABLE, waiting to try again
    kAnswering,   // final status known, its record not yet durable
    kReplied,     // answered (or the answer was lost); waiting only for the request's tombstone
  };

  CorrelatedCall(RemoteServer& server, uint32_t index);

  // Prepares the call for the record that opens it.
  void reset(FetchStream& fetch, const Route& route, const RequestHeaders& request);
  // Makes the call inert before it goes back to the pool.
  void release();

  std::string_view correlationId() const { return correlation_id_; }
  std::string_view replyTo() const { return reply_to_; }
  uint32_t index() const { return index_; }
  uint32_t generation() const { return generation_; }
  uint64_t token() const { return (uint64_t(index_) << 32) | generation_; }
  Phase phase() const { return phase_; }
  RemoteServer& server() { return server_; }
  const Route& route() const { return *route_; }
  FetchStream* fetch() { return fetch_; }

  // ---- The request side, from the fetch stream.

  // Opens the call now or when a slot frees up.
  void start();
  // Answers at once with `status` and makes no call (a request that cannot be served).
  void reject(int32_t status, std::string_view message);
  // A record of this call was delivered; it settles when the call's answer is durable.
  void addRecord(const OffsetTracker::Handle& record);
  // The request's tombstone arrived: END the request stream once everything before it is sent.
  void endRequest();
  Written write(uint8_t flags, int32_t deferred, const uint8_t* data, size_t length) override;
  // The fetch stream is gone: stop, without an answer if none is under way.
  void abandon();
  // The call's partition is being given up, or the binding stops. A call whose request is whole
  // and already holds a slot finishes here (its answer and commit come as usual) but leaves the
  // fetch stream's index, so a record of its id from now on opens a new call; returns true, and
  // the fetch stream hears onFencedCallEnded once it is done. Any other call is cancelled
  // without an answer (its records are left for the partition's next owner); returns false.
  bool leavePartition();
  // Its fetch stream no longer tracks its records (lost, or the partition came back): it goes on
  // to its answer, but settles nothing.
  void detach() { attached_ = false; }
  // The partition of the call's first record.
  int32_t partition() const { return partition_; }
  bool fenced() const { return fenced_; }

  // ---- From the server.
  void onSlotGranted();
  void onTimer(int32_t timer);

  // ---- From the reply producer.
  void onReplyCredit();
  void onReplyDurable();
  // The reply topic refused the answer: the call stops; its status alone is written instead.
  void onReplyRefused(std::string_view why);
  void onReplyFailed(std::string_view why);
  const MetadataStore& replyMetadata() const { return reply_metadata_; }

  // Lingering calls of a fetch stream (answered, tombstone not seen yet), oldest first.
  CorrelatedCall* linger_prev = nullptr;
  CorrelatedCall* linger_next = nullptr;
  // The server's queues of calls waiting for a slot, one per partition of each fetch stream.
  CorrelatedCall* waiting_next = nullptr;
  uint64_t waitingKey() const;

 private:
  void onPortBegin(StreamPort& port, const zb_frame_t& frame) override;
  void onPortData(StreamPort& port, const zb_frame_t& frame) override;
  void onPortEnd(StreamPort& port, const zb_frame_t& frame) override;
  void onPortAbort(StreamPort& port, const zb_frame_t& frame) override;
  void onPortWindow(StreamPort& port, const zb_frame_t& frame) override;
  void onPortReset(StreamPort& port, const zb_frame_t& frame) override;
  void onPortReleased(StreamPort& port) override;

  void open();
  // Leaves the slot queue or gives its slot back, and cancels the gRPC call if it was opened.
  void withdraw();
  // Cancels the call for good: no answer, its records never settled here.
  void cancel();
  void unavailable(std::string_view message);
  void finish(int32_t status, std::string_view message);
  void closeCall(int32_t status);
  // The answer is decided without the service (it is cancelled if still running).
  void stopCall();
  void trySendEnd();
  void settleRecords();
  void done();

  RemoteServer& server_;
  const uint32_t index_;
  uint32_t generation_ = 0;
  Phase phase_ = Phase::kFree;

  FetchStream* fetch_ = nullptr;
  const Route* route_ = nullptr;
  std::string correlation_id_;
  std::string reply_to_;
  std::string service_;
  std::string method_;
  MetadataStore request_metadata_;
  MetadataStore reply_metadata_;
  std::vector<OffsetTracker::Handle> records_;
  int32_t partition_ = -1;

  StreamPort* grpc_ = nullptr;
  ReplyProducer reply_;

  bool attached_ = false;  // its fetch stream still tracks its records
  bool fenced_ = false;    // out of the fetch stream's index, finishing (leavePartition)
  bool reply_window_granted_ = false;
  bool has_slot_ = false;
  bool request_ended_ = false;
  bool end_sent_ = false;
  bool data_sent_ = false;
  uint32_t attempts_ = 0;
  int64_t started_ns_ = 0;
  int64_t deadline_ns_ = 0;  // host clock; 0: none
  uint64_t retry_timer_ = 0;
  uint64_t deadline_timer_ = 0;
  int32_t status_ = 0;
};

}  // namespace zb::kafka_grpc
