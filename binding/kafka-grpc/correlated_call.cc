#include "correlated_call.h"

#include "config.h"
#include "fetch_stream.h"
#include "remote_server.h"

#include <zb/sdk/extension.hpp>

#include <algorithm>

namespace zb::kafka_grpc {
namespace {

// gRPC status codes this binding produces itself.
constexpr int32_t kCancelled = 1;
constexpr int32_t kInternal = 13;
constexpr int32_t kUnavailable = 14;
constexpr int32_t kDeadlineExceeded = 4;
constexpr int32_t kAborted = 10;

// An empty, non-null payload (a null one would be a tombstone).
const uint8_t kEmpty[1] = {0};

struct Status {
  int32_t status;
  std::string_view message;
  bool carried;  // the frame had a valid grpc extension
};

Status statusOf(const zb_frame_t& frame, uint32_t grpc_type, int32_t fallback) {
  const zb::grpc::GrpcExtension* ext = sdk::readGrpc(frame, grpc_type);
  const zb::grpc::StatusEx* status = ext != nullptr ? ext->ex_as_StatusEx() : nullptr;
  if (status == nullptr) {
    return Status{fallback, {}, ext != nullptr};
  }
  return Status{status->status(), sdk::textOf(status->message()), true};
}

}  // namespace

CorrelatedCall::CorrelatedCall(RemoteServer& server, uint32_t index)
    : server_(server), index_(index), reply_(*this) {}

void CorrelatedCall::reset(FetchStream& fetch, const Route& route, const RequestHeaders& request) {
  ++generation_;
  phase_ = Phase::kWaiting;
  fetch_ = &fetch;
  attached_ = true;
  route_ = &route;
  correlation_id_.assign(request.correlation_id);
  reply_to_.assign(request.reply_to);
  service_.assign(request.service);
  method_.assign(request.method);
  request_metadata_.clear();
  for (const MetadataView& entry : request.metadata) {
    request_metadata_.add(entry.type, entry.name, entry.value);
  }
  reply_metadata_.clear();
  records_.clear();
  partition_ = -1;
  fenced_ = false;
  grpc_ = nullptr;
  reply_.reset();
  has_slot_ = request_ended_ = end_sent_ = data_sent_ = reply_window_granted_ = false;
  attempts_ = 0;
  started_ns_ = server_.now();
  deadline_ns_ = 0;
  retry_timer_ = deadline_timer_ = 0;
  status_ = 0;
  linger_prev = linger_next = waiting_next = nullptr;
}

void CorrelatedCall::release() {
  // Inert from here: timers and ports of this life no longer reach it.
  server_.cancelTimer(retry_timer_);
  server_.cancelTimer(deadline_timer_);
  if (grpc_ != nullptr) {
    StreamPort* port = grpc_;
    grpc_ = nullptr;
    port->cancel();
  }
  reply_.abandon();
  phase_ = Phase::kFree;
  fetch_ = nullptr;
  attached_ = false;
  fenced_ = false;
}

uint64_t CorrelatedCall::waitingKey() const {
  return (uint64_t(fetch_ != nullptr ? fetch_->index() : 0) << 32) |
         static_cast<uint32_t>(partition_);
}

void CorrelatedCall::start() {
  const Options& options = server_.options();
  if (options.deadline_ns > 0) {
    deadline_ns_ = started_ns_ + options.deadline_ns;
    deadline_timer_ = server_.schedule(deadline_ns_, RemoteServer::kDeadlineTimer, token());
  }
  if (server_.takeSlot(*this)) {
    has_slot_ = true;
    open();
  }
}

void CorrelatedCall::onSlotGranted() {
  if (phase_ != Phase::kWaiting) {
    server_.returnSlot();
    return;
  }
  has_slot_ = true;
  open();
}

void CorrelatedCall::reject(int32_t status, std::string_view message) { finish(status, message); }

void CorrelatedCall::open() {
  ++attempts_;
  if (attempts_ > 1) {
    server_.metrics().retry();
  }
  phase_ = Phase::kConnecting;
  data_sent_ = end_sent_ = false;
  StreamPort* port =
      server_.ports().create(server_.host(), server_.bindingId(), route_->exit_id, this);
  grpc_ = port;
  int32_t deadline_ms = 0;
  if (deadline_ns_ != 0) {
    const int64_t left = (deadline_ns_ - server_.now()) / 1'000'000;
    deadline_ms = static_cast<int32_t>(std::clamp<int64_t>(left, 1, INT32_MAX));
  }
  ExtensionUse use;
  auto lease = server_.writer();
  const sdk::Extension ext =
      server_.extensions().callBegin(server_.routeIndex(*route_), *route_, service_, method_,
                                     request_metadata_, deadline_ms, use, lease);
  if (port->open(ext) != ZB_OK) {
    // The port is already back in its pool.
    if (grpc_ == port) {
      grpc_ = nullptr;
    }
    if (phase_ == Phase::kConnecting) {
      unavailable("the grpc binding refused the call");
    }
  }
}

void CorrelatedCall::unavailable(std::string_view message) {
  const RetryPolicy& retry = server_.options().retry;
  if (attempts_ < retry.max_attempts) {
    const int64_t at = server_.now() + server_.backoff(attempts_);
    if (deadline_ns_ == 0 || at < deadline_ns_) {
      phase_ = Phase::kBackoff;
      retry_timer_ = server_.schedule(at, RemoteServer::kRetryTimer, token());
      return;
    }
  }
  finish(kUnavailable, message);
}

void CorrelatedCall::onTimer(int32_t timer) {
  if (timer == RemoteServer::kRetryTimer) {
    retry_timer_ = 0;
    if (phase_ == Phase::kBackoff) {
      open();
    }
  } else if (timer == RemoteServer::kDeadlineTimer) {
    deadline_timer_ = 0;
    if (phase_ >= Phase::kWaiting && phase_ < Phase::kAnswering) {
      finish(kDeadlineExceeded, "deadline exceeded");
    }
  }
}

void CorrelatedCall::addRecord(const OffsetTracker::Handle& record) {
  if (phase_ == Phase::kReplied) {
    // Answered already: later records of this id have nothing left to do.
    if (attached_) {
      fetch_->settle(record);
    }
    return;
  }
  if (partition_ < 0) {
    partition_ = record.partition;
  }
  records_.push_back(record);
}

void CorrelatedCall::endRequest() {
  request_ended_ = true;
  if (phase_ == Phase::kReplied) {
    if (attached_) {
      fetch_->retire(*this);
    }
    server_.recycle(*this);
    return;
  }
  trySendEnd();
}

RecordSink::Written CorrelatedCall::write(uint8_t flags, int32_t deferred, const uint8_t* data,
                                          size_t length) {
  if (phase_ >= Phase::kAnswering || end_sent_) {
    // Nobody wants these bytes any more.
    return Written{length, true};
  }
  if (phase_ != Phase::kStreaming || grpc_ == nullptr) {
    return Written{0, false};
  }
  sdk::SendWindow& out = grpc_->out();
  const size_t n = static_cast<size_t>(out.sendable(static_cast<int64_t>(length)));
  if ((length > 0 && n == 0) || !out.canSend(static_cast<int64_t>(n))) {
    return Written{0, false};
  }
  const bool whole = n == length;
  const uint8_t sent_flags = whole ? flags : static_cast<uint8_t>(flags & ~ZB_DATA_FIN);
  sdk::Extension ext;
  ExtensionUse use;
  auto lease = server_.writer();
  if ((flags & ZB_DATA_INIT) != 0) {
    ext = server_.extensions().callData(deferred + static_cast<int32_t>(length - n), use, lease);
  }
  data_sent_ = true;
  grpc_->doData(sent_flags, length > 0 ? data : kEmpty, n, ext);
  return Written{n, whole};
}

void CorrelatedCall::trySendEnd() {
  if (request_ended_ && !end_sent_ && held() == 0 && phase_ == Phase::kStreaming &&
      grpc_ != nullptr) {
    end_sent_ = true;
    grpc_->doEnd();
  }
}

void CorrelatedCall::abandon() {
  attached_ = false;
  switch (phase_) {
    case Phase::kFree:
    case Phase::kAnswering:
      // The answer goes on; done() recycles the call.
      return;
    case Phase::kWaiting:
    case Phase::kConnecting:
    case Phase::kStreaming:
    case Phase::kBackoff:
      server_.metrics().error(ErrorReason::kCancelled);
      withdraw();
      break;
    case Phase::kReplied:
      break;
  }
  server_.recycle(*this);
}

bool CorrelatedCall::leavePartition() {
  switch (phase_) {
    case Phase::kFree:
      return false;
    case Phase::kReplied:
      // Answered, its tombstone not read yet: nothing left to do here.
      fetch_->retire(*this);
      server_.recycle(*this);
      return false;
    case Phase::kAnswering:
      break;
    case Phase::kConnecting:
    case Phase::kStreaming:
      if (request_ended_) {
        break;
      }
      // Its next records go to the partition's next owner, which redoes the whole call.
      cancel();
      return false;
    case Phase::kWaiting:
    case Phase::kBackoff:
      // Not under way at the service: the next owner makes the call.
      cancel();
      return false;
  }
  fetch_->retire(*this);
  fenced_ = true;
  return true;
}

void CorrelatedCall::withdraw() {
  if (phase_ == Phase::kWaiting) {
    server_.forgetWaiting(*this);
  }
  closeCall(kCancelled);
  if (has_slot_) {
    has_slot_ = false;
    server_.returnSlot();
  }
}

void CorrelatedCall::cancel() {
  withdraw();
  if (attached_) {
    fetch_->dropFor(*this);
    fetch_->retire(*this);
  }
  server_.recycle(*this);
}

// ---- The gRPC call.

void CorrelatedCall::onPortWindow(StreamPort& port, const zb_frame_t& /*frame*/) {
  if (&port != grpc_) {
    return;
  }
  if (phase_ == Phase::kConnecting) {
    phase_ = Phase::kStreaming;
  }
  if (phase_ != Phase::kStreaming) {
    return;
  }
  if (attached_) {
    fetch_->drainFor(*this);
  }
  trySendEnd();
}

void CorrelatedCall::onPortReset(StreamPort& port, const zb_frame_t& frame) {
  if (&port != grpc_) {
    return;
  }
  const Status status = statusOf(frame, server_.grpcType(), kInternal);
  if (status.carried && status.status == 0) {
    // The service needs no more request messages; its answer still comes on the reply.
    end_sent_ = true;
    if (attached_) {
      fetch_->dropFor(*this);
    }
    return;
  }
  grpc_ = nullptr;
  port.cancel();
  if (phase_ >= Phase::kAnswering) {
    return;
  }
  if (status.status == kUnavailable && !data_sent_) {
    unavailable(status.message);
  } else {
    finish(status.status, status.message);
  }
}

void CorrelatedCall::onPortBegin(StreamPort& port, const zb_frame_t& frame) {
  if (&port != grpc_ || phase_ >= Phase::kAnswering) {
    return;
  }
  // The response metadata, copied now: every reply record repeats it.
  reply_metadata_.clear();
  const zb::grpc::GrpcExtension* ext = sdk::readGrpc(frame, server_.grpcType());
  const zb::grpc::BeginEx* begin = ext != nullptr ? ext->ex_as_BeginEx() : nullptr;
  if (begin != nullptr && begin->metadata() != nullptr) {
    for (const zb::grpc::Metadata* entry : *begin->metadata()) {
      if (entry != nullptr) {
        reply_metadata_.add(entry->type(), sdk::bytesOf(entry->name()),
                            sdk::bytesOf(entry->value()));
      }
    }
  }
  reply_.open();
}

void CorrelatedCall::onPortData(StreamPort& port, const zb_frame_t& frame) {
  if (&port != grpc_ || phase_ >= Phase::kAnswering) {
    return;
  }
  int32_t deferred = 0;
  if ((frame.flags & ZB_DATA_INIT) != 0) {
    const zb::grpc::GrpcExtension* ext = sdk::readGrpc(frame, server_.grpcType());
    const zb::grpc::DataEx* data = ext != nullptr ? ext->ex_as_DataEx() : nullptr;
    deferred = data != nullptr ? data->deferred() : 0;
  }
  if (!reply_.forward(frame, deferred)) {
    finish(kInternal, "the service sent more than its reply window");
  }
}

void CorrelatedCall::onPortEnd(StreamPort& port, const zb_frame_t& /*frame*/) {
  if (&port != grpc_) {
    return;
  }
  finish(0, {});
}

void CorrelatedCall::onPortAbort(StreamPort& port, const zb_frame_t& frame) {
  if (&port != grpc_) {
    return;
  }
  const Status status = statusOf(frame, server_.grpcType(), kAborted);
  finish(status.status, status.message);
}

void CorrelatedCall::onPortReleased(StreamPort& port) {
  if (&port != grpc_) {
    return;
  }
  grpc_ = nullptr;
  if (phase_ >= Phase::kAnswering || phase_ == Phase::kFree) {
    return;
  }
  // Closed without END, ABORT or RESET reaching the call: this side closed it (the SDK does on a
  // peer that overran its window, or on a hook that threw). Nothing more will come: answer now.
  server_.host().logf(ZB_LOG_WARN, "%s: the call for %.*s closed without a status",
                      server_.label().c_str(), static_cast<int>(correlation_id_.size()),
                      correlation_id_.data());
  if (!data_sent_) {
    unavailable("the call's stream closed before the request was sent");
  } else {
    finish(kInternal, "the call's stream closed without a status");
  }
}

// ---- The answer.

void CorrelatedCall::finish(int32_t status, std::string_view message) {
  if (phase_ >= Phase::kAnswering || phase_ == Phase::kFree) {
    return;
  }
  if (phase_ == Phase::kWaiting) {
    server_.forgetWaiting(*this);
  }
  phase_ = Phase::kAnswering;
  status_ = status;
  server_.cancelTimer(retry_timer_);
  server_.cancelTimer(deadline_timer_);
  closeCall(status == kDeadlineExceeded ? kDeadlineExceeded : kCancelled);
  if (attached_) {
    fetch_->dropFor(*this);
  }
  reply_.writeStatus(status, message);
}

void CorrelatedCall::closeCall(int32_t status) {
  if (grpc_ == nullptr) {
    return;
  }
  StreamPort* port = grpc_;
  grpc_ = nullptr;
  sdk::Extension ext;
  auto lease = server_.writer();
  if (!port->writeClosed()) {
    // The request stream is still open: the call is being cancelled.
    flatbuffers::FlatBufferBuilder& fbb = lease->start();
    const auto status_ex = zb::grpc::CreateStatusEx(fbb, status);
    ext = lease->finishGrpc(
        zb::grpc::CreateGrpcExtension(fbb, zb::grpc::GrpcEx::StatusEx, status_ex.Union()),
        server_.grpcType());
  }
  port->cancel(ext);
}

void CorrelatedCall::onReplyCredit() {
  // Mirror the produce window onto the gRPC reply: the service may have in flight exactly what
  // Kafka can take (every reply DATA goes on at once, with the same padding).
  StreamPort* produce = reply_.port();
  if (grpc_ == nullptr || produce == nullptr || grpc_->readClosed() || !grpc_->readOpened() ||
      phase_ >= Phase::kAnswering) {
    return;
  }
  const sdk::SendWindow& out = produce->out();
  sdk::ReceiveWindow& in = grpc_->in();
  bool changed =
      !reply_window_granted_ || in.maximum() != out.maximum() || in.padding() != out.padding();
  in.setMaximum(out.maximum());
  in.setPadding(out.padding());
  const int64_t target = in.sequence() - (out.sequence() - out.acknowledge());
  if (target > in.acknowledge()) {
    changed |= in.consume(target - in.acknowledge());
  }
  if (changed) {
    reply_window_granted_ = true;
    grpc_->doWindow();
  }
}

void CorrelatedCall::onReplyDurable() {
  // Counted once the answer is in Kafka, with the status it carries.
  server_.metrics().answered(reply_.status(), server_.now() - started_ns_);
  done();
}

void CorrelatedCall::stopCall() {
  if (phase_ >= Phase::kAnswering) {
    return;
  }
  if (phase_ == Phase::kWaiting) {
    server_.forgetWaiting(*this);
  }
  phase_ = Phase::kAnswering;
  server_.cancelTimer(retry_timer_);
  server_.cancelTimer(deadline_timer_);
  closeCall(kCancelled);
  if (attached_) {
    fetch_->dropFor(*this);
  }
}

void CorrelatedCall::onReplyRefused(std::string_view why) {
  server_.metrics().error(ErrorReason::kReplyRefused);
  server_.host().logf(
      ZB_LOG_WARN, "%s: reply to %s for %.*s refused: %.*s; answered with its status alone",
      server_.label().c_str(), reply_to_.c_str(), static_cast<int>(correlation_id_.size()),
      correlation_id_.data(), static_cast<int>(why.size()), why.data());
  stopCall();
}

void CorrelatedCall::onReplyFailed(std::string_view why) {
  // While the host stops it closes every stream: not a loss to report, and no commit follows
  // (the fetch streams were ended first), so the request will be delivered again.
  if (!server_.stopping()) {
    server_.metrics().error(ErrorReason::kReplyFailed);
    server_.host().logf(ZB_LOG_WARN, "%s: reply to %s for %.*s lost: %.*s; request committed",
                        server_.label().c_str(), reply_to_.c_str(),
                        static_cast<int>(correlation_id_.size()), correlation_id_.data(),
                        static_cast<int>(why.size()), why.data());
  }
  stopCall();
  done();
}

void CorrelatedCall::done() {
  if (phase_ == Phase::kFree || phase_ == Phase::kReplied) {
    return;
  }
  phase_ = Phase::kReplied;
  if (attached_) {
    fetch_->settle(records_);
  }
  records_.clear();
  if (has_slot_) {
    has_slot_ = false;
    server_.returnSlot();
  }
  if (!attached_) {
    server_.recycle(*this);
  } else if (fenced_) {
    FetchStream& fetch = *fetch_;
    server_.recycle(*this);
    fetch.onFencedCallEnded(*this);
  } else if (request_ended_) {
    fetch_->retire(*this);
    server_.recycle(*this);
  } else {
    fetch_->linger(*this);
  }
}

}  // namespace zb::kafka_grpc
