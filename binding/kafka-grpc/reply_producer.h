// The replies of one call: a PRODUCE stream to the request's reply-to topic.
//
// Each response message becomes one record (key = correlation id; headers = the correlation id
// and the call's response metadata as `meta:` headers), and the call's final status becomes a
// tombstone with `zilla:status` (and `zilla:message`). Its credit is mirrored onto the gRPC reply,
// so the service can send no faster than Kafka accepts. The answer is durable once the produce
// window acknowledges the status tombstone (or the kafka binding ENDs the stream).
//
// With `acks: leader_only` (no idempotence: a retried record may land after a later one) the
// status tombstone is written only once every reply record is acknowledged, so it never lands
// before one of them; with `in_sync_replicas` the idempotent producer keeps the order itself.
//
// When the reply topic refuses the answer (a record too large for it, or any other refusal), the
// requester still gets one: the status alone, 8 RESOURCE_EXHAUSTED (too large) or 13 INTERNAL,
// with the reason, on a fresh produce stream. Only if that fails too is the answer lost.
//
// Thread: engine.
#pragma once

#include "stream_port.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace zb::kafka_grpc {

class CorrelatedCall;

class ReplyProducer final : public PortListener {
 public:
  explicit ReplyProducer(CorrelatedCall& call) : call_(call) {}

  // Back to the state of a new call.
  void reset();

  // Opens the produce stream (once).
  void open();
  bool opened() const { return port_ != nullptr && port_->out().opened(); }
  // Produce credit: what the call mirrors onto the gRPC reply.
  StreamPort* port() const { return port_; }

  // Passes a response message fragment on as a record fragment. False when the produce window
  // has no room for it (the service overran the credit mirrored to it).
  bool forward(const zb_frame_t& data, int32_t deferred);

  // Writes the final status tombstone, as soon as the produce window allows, then ENDs.
  void writeStatus(int32_t status, std::string_view message);

  // Gives up without a status (the request will be delivered again).
  void abandon();

  // The status the answer carries (the call's, or the one that replaced a refused reply).
  int32_t status() const { return status_; }

 private:
  void onPortWindow(StreamPort& port, const zb_frame_t& frame) override;
  void onPortEnd(StreamPort& port, const zb_frame_t& frame) override;
  void onPortAbort(StreamPort& port, const zb_frame_t& frame) override;
  void onPortReset(StreamPort& port, const zb_frame_t& frame) override;
  void onPortReleased(StreamPort& port) override;

  void flushStatus();
  void durable();
  // The reply stream failed; `error` is the kafka binding's error code when it said one.
  void failed(std::string_view why, int32_t error = 0);
  // Reads the ResetEx of an ABORT or RESET into reason_; returns its error code (0: none).
  int32_t readRefusal(const zb_frame_t& frame, const char* fallback);

  CorrelatedCall& call_;
  StreamPort* port_ = nullptr;
  bool status_pending_ = false;
  bool status_written_ = false;
  bool done_ = false;
  bool replaced_ = false;  // the answer is the status that replaced a refused reply
  int32_t status_ = 0;
  std::string message_;
  int64_t status_end_ = 0;  // produce sequence after the status tombstone
  std::string reason_;
};

}  // namespace zb::kafka_grpc
