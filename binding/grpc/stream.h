// One gRPC call: the acceptor side of a call stream (the "gRPC call stream" contract in
// docs/grpc.md). Every call kind -- unary, server, client or bidirectional streaming -- is the
// same generic bidirectional call: request DATA become Writes, END becomes WritesDone, each
// response message becomes reply DATA, and the status becomes reply END or ABORT.
#pragma once

#include "channel.h"
#include "completion.h"
#include "metrics.h"

#include <zb/sdk/binding.hpp>

#include <grpcpp/client_context.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>

#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace zb::grpc_binding {

class ClientBinding;

// Every method runs on the engine thread. gRPC owns the call's buffers while operations are
// outstanding, so a CallStream outlives its release by the host until they have completed.
class CallStream final : public sdk::Stream, public CompletionTarget, public ChannelWaiter {
 public:
  CallStream(ClientBinding& binding, const zb_frame_t& begin);
  ~CallStream() override;

  // The connect timer armed at BEGIN fired.
  void onConnectTimeout();
  // The flush posted by scheduleWrites() arrived.
  void onFlushWrites();
  // The binding is going away: cancel the call; its operations complete as the queue drains.
  void cancelForShutdown();

  void onCompletion(int operation, bool ok) override;
  void onChannelReady() override;
  void onChannelFailed(std::string_view reason) override;
  void onRelease() override;
  void onFailure() override;

 protected:
  void onBegin(const zb_frame_t& frame) override;
  void onData(const zb_frame_t& frame) override;
  void onEnd(const zb_frame_t& frame) override;
  void onAbort(const zb_frame_t& frame) override;
  void onWindow(const zb_frame_t& frame) override;
  void onReset(const zb_frame_t& frame) override;

 private:
  enum Operation { kWrite, kWritesDone, kRead, kFinish, kOperations };

  // A complete request message waiting for (or in) its gRPC Write, and where it began in the
  // initial direction: bytes from there on are not acknowledged until it is written.
  struct PendingWrite {
    ::grpc::ByteBuffer message;
    int64_t start;
    int64_t bytes;  // the message's length, counted as request bytes once written
  };

  void* issue(Operation operation);
  bool addMetadata(const zb::grpc::BeginEx& begin, std::string& error);
  // RESET the initial direction with StatusEx (14: retry; others: refused), close the reply.
  void refuse(int status, std::string_view message);
  void leaveChannel();
  void startCall();
  void scheduleWrites();
  void pumpWrites();
  void acknowledge();
  void readNext();
  void deliverReply();
  void cancelCall();
  void finish();
  void complete();
  void sendReplyBegin();

  ClientBinding& binding_;
  // Declared before call_: the call's reader-writer lives in the context's call arena.
  ::grpc::ClientContext context_;
  std::unique_ptr<::grpc::GenericClientAsyncReaderWriter> call_;
  ServiceChannel* channel_ = nullptr;
  std::string path_;  // "/<service>/<method>"
  CompletionTag tags_[kOperations];
  int outstanding_ = 0;
  uint64_t connect_timer_ = 0;

  // Request side.
  std::string assembling_;  // fragments of the message being received
  int64_t message_start_ = 0;
  std::deque<PendingWrite> writes_;
  bool writing_ = false;
  bool flush_posted_ = false;
  bool end_received_ = false;
  bool writes_done_ = false;
  bool write_failed_ = false;

  // Reply side.
  ::grpc::ByteBuffer response_;
  std::vector<::grpc::Slice> slices_;  // response_'s slices while copying, reused
  std::string reply_;                  // the response message being delivered, reused
  size_t reply_offset_ = 0;
  bool delivering_ = false;
  bool in_delivery_ = false;  // guards deliverReply against re-entry from doData
  bool reading_ = false;      // a Read outstanding
  bool metadata_received_ = false;
  bool reply_begun_ = false;
  bool finishing_ = false;  // Finish issued
  bool finished_ = false;   // status_ is known
  bool cancelled_ = false;
  ::grpc::Status status_;

  // Metrics: the call's method series from its start; in flight until its status arrives.
  CallMetrics::MethodSeries* series_ = nullptr;
  int64_t started_ns_ = 0;
  bool in_flight_ = false;

  bool waiting_ = false;   // for the channel to be READY
  bool released_ = false;  // by the host: no more frames either way
};

}  // namespace zb::grpc_binding
