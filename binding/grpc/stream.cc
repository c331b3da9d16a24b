#include "stream.h"

#include "base64.h"
#include "client.h"

#include <zb/sdk/extension.hpp>

#include <chrono>

namespace zb::grpc_binding {
namespace {

constexpr int kInvalidArgument = 3;
constexpr int kUnimplemented = 12;
constexpr int kUnavailable = 14;

// gRPC metadata names: lower-case letters, digits, '-', '_' and '.'. Upper case is folded
// (HTTP/2 header names are case-insensitive); anything else is refused.
bool normaliseName(std::string_view name, std::string& out) {
  out.clear();
  if (name.empty()) {
    return false;
  }
  for (const char c : name) {
    const char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (!((lower >= 'a' && lower <= 'z') || (lower >= '0' && lower <= '9') || lower == '-' ||
          lower == '_' || lower == '.')) {
      return false;
    }
    out.push_back(lower);
  }
  return true;
}

// Text metadata values are printable ASCII.
bool printable(std::string_view value) {
  for (const char c : value) {
    if (c < 0x20 || c > 0x7E) {
      return false;
    }
  }
  return true;
}

bool endsWithBin(std::string_view name) {
  return name.size() > 4 && name.substr(name.size() - 4) == "-bin";
}

std::string_view viewOf(::grpc::string_ref text) { return {text.data(), text.size()}; }

}  // namespace

CallStream::CallStream(ClientBinding& binding, const zb_frame_t& begin)
    : sdk::Stream(binding.host(), begin), binding_(binding) {
  for (int op = 0; op < kOperations; ++op) {
    tags_[op] = CompletionTag{this, op};
  }
}

CallStream::~CallStream() {
  if (connect_timer_ != 0) {
    host().signalCancel(connect_timer_);
  }
  if (in_flight_) {
    binding_.metrics().abandoned();  // freed by the binding's destruction before its status
  }
}

void* CallStream::issue(Operation operation) {
  ++outstanding_;
  return &tags_[operation];
}

// ---- The initial direction: BEGIN, request messages, END or ABORT.

void CallStream::onBegin(const zb_frame_t& frame) {
  const zb::grpc::GrpcExtension* ext = sdk::readGrpc(frame, binding_.grpcTypeId());
  const zb::grpc::BeginEx* begin = ext != nullptr ? ext->ex_as_BeginEx() : nullptr;
  if (begin == nullptr) {
    refuse(kInvalidArgument, "grpc: BEGIN without a grpc BeginEx");
    return;
  }
  const std::string_view scheme = sdk::textOf(begin->scheme());
  const std::string_view authority = sdk::textOf(begin->authority());
  const std::string_view service = sdk::textOf(begin->service());
  const std::string_view method = sdk::textOf(begin->method());
  if (authority.empty() || service.empty() || method.empty()) {
    refuse(kInvalidArgument, "grpc: BeginEx needs authority, service and method");
    return;
  }
  if (!binding_.config().accepts(service, method, begin->metadata())) {
    std::string message = "grpc: no route for ";
    message.append(service).append("/").append(method);
    refuse(kUnimplemented, message);
    return;
  }
  std::string error;
  if (!addMetadata(*begin, error)) {
    refuse(kInvalidArgument, error);
    return;
  }
  const int64_t deadline_ms =
      begin->deadline_ms() > 0 ? begin->deadline_ms() : binding_.config().options.deadline_ms;
  if (deadline_ms > 0) {
    context_.set_deadline(std::chrono::system_clock::now() +
                          std::chrono::milliseconds(deadline_ms));
  }
  // Corked: the headers go out with the first message, one write instead of two.
  context_.set_initial_metadata_corked(true);
  path_.reserve(service.size() + method.size() + 2);
  path_.append("/").append(service).append("/").append(method);

  channel_ = &binding_.channelFor(scheme, authority);
  switch (channel_->connect(this)) {
    case ServiceChannel::Connect::kReady:
      startCall();
      return;
    case ServiceChannel::Connect::kUnavailable:
      refuse(kUnavailable, "unavailable: cannot connect to " + channel_->authority());
      return;
    case ServiceChannel::Connect::kWaiting:
      break;
  }
  waiting_ = true;
  const int64_t timeout_ns = binding_.config().options.connect_timeout_ms * 1'000'000;
  connect_timer_ = host().signalAt(host().nowNs() + timeout_ns, initialId(), kConnectTimeoutSignal);
}

bool CallStream::addMetadata(const zb::grpc::BeginEx& begin, std::string& error) {
  if (begin.metadata() == nullptr) {
    return true;
  }
  std::string name;
  std::string value;
  for (const zb::grpc::Metadata* entry : *begin.metadata()) {
    const std::string_view raw_name = sdk::bytesOf(entry->name());
    const std::string_view raw_value = sdk::bytesOf(entry->value());
    if (!normaliseName(raw_name, name)) {
      error = "grpc: invalid metadata name \"" + std::string(raw_name) + "\"";
      return false;
    }
    value.clear();
    if (entry->type() == zb::grpc::MetadataType::BASE64) {
      if (!decodeBase64(raw_value, value)) {
        error = "grpc: metadata " + name + "-bin is not valid base64";
        return false;
      }
      name.append("-bin");
    } else {
      if (!printable(raw_value)) {
        error = "grpc: metadata " + name + " is not printable ASCII";
        return false;
      }
      value.assign(raw_value);
    }
    context_.AddMetadata(name, value);
  }
  return true;
}

void CallStream::onData(const zb_frame_t& frame) {
  if ((frame.flags & ZB_DATA_INIT) != 0) {
    assembling_.clear();
    message_start_ = frame.sequence;
  }
  if (frame.payload != nullptr && frame.payload_length > 0) {
    assembling_.append(reinterpret_cast<const char*>(frame.payload), frame.payload_length);
  }
  if ((frame.flags & ZB_DATA_FIN) != 0) {
    if (!write_failed_ && !finishing_) {
      ::grpc::Slice slice(assembling_.data(), assembling_.size());
      writes_.push_back(PendingWrite{::grpc::ByteBuffer(&slice, 1), message_start_,
                                     static_cast<int64_t>(assembling_.size())});
    }
    assembling_.clear();
    scheduleWrites();
  }
  acknowledge();
}

void CallStream::onEnd(const zb_frame_t&) {
  end_received_ = true;
  assembling_.clear();  // a message without its FIN fragment is not sent
  if (!flush_posted_) {
    pumpWrites();  // otherwise the posted flush sends the last message with the half-close
  }
}

void CallStream::onAbort(const zb_frame_t&) {
  end_received_ = true;
  writes_.clear();
  if (call_) {
    cancelCall();  // the status (CANCELLED) closes the reply
    return;
  }
  leaveChannel();
  if (!writeClosed()) {
    sendReplyBegin();
    sdk::ExtensionWriter& writer = binding_.extensionWriter();
    auto& fbb = writer.start();
    const auto status =
        zb::grpc::CreateStatusEx(fbb, 1, fbb.CreateString("grpc: cancelled by the caller"));
    doAbort(writer.finishGrpc(
        zb::grpc::CreateGrpcExtension(fbb, zb::grpc::GrpcEx::StatusEx, status.Union()),
        binding_.grpcTypeId()));
  }
}

void CallStream::refuse(int status, std::string_view message) {
  binding_.metrics().refused(status);
  leaveChannel();
  sdk::ExtensionWriter& writer = binding_.extensionWriter();
  auto& fbb = writer.start();
  const auto ex = zb::grpc::CreateStatusEx(fbb, status, fbb.CreateString(message));
  const sdk::Extension reset =
      writer.finishGrpc(zb::grpc::CreateGrpcExtension(fbb, zb::grpc::GrpcEx::StatusEx, ex.Union()),
                        binding_.grpcTypeId());
  if (!readClosed()) {
    doReset(reset);
    if (!writeClosed()) {
      doAbort();
    }
    return;
  }
  // The caller already ended its request: the reply is the only way left to say why.
  if (!writeClosed()) {
    sendReplyBegin();
    doAbort(reset);
  }
}

// ---- Connecting.

void CallStream::leaveChannel() {
  if (waiting_) {
    channel_->cancel(this);
    waiting_ = false;
  }
  if (connect_timer_ != 0) {
    host().signalCancel(connect_timer_);
    connect_timer_ = 0;
  }
}

void CallStream::onChannelReady() {
  leaveChannel();
  startCall();
}

void CallStream::onChannelFailed(std::string_view reason) {
  waiting_ = false;
  refuse(kUnavailable, reason);
}

void CallStream::onConnectTimeout() {
  connect_timer_ = 0;
  if (!waiting_) {
    return;
  }
  refuse(kUnavailable, "unavailable: no connection to " + channel_->authority() + " within " +
                           std::to_string(binding_.config().options.connect_timeout_ms) + " ms");
}

void CallStream::startCall() {
  call_ = channel_->stub().PrepareCall(&context_, path_, binding_.queue());
  // The request headers are corked (see onBegin): they leave with the first Write or
  // WritesDone, so StartCall performs nothing and completes nothing.
  call_->StartCall(nullptr);
  series_ = &binding_.metrics().method(std::string_view(path_).substr(1));
  binding_.metrics().started(*series_);
  started_ns_ = host().nowNs();
  in_flight_ = true;
  // The first Read also receives the response headers; the reply BEGIN waits for it.
  reading_ = true;
  call_->Read(&response_, issue(kRead));
  // Only now may the caller send request bytes.
  in().setMaximum(kRequestWindow);
  doWindow();
  pumpWrites();  // the caller may have ended its request before the channel was ready
}

// ---- Request messages to gRPC: one Write outstanding, acknowledged as each completes.

void CallStream::scheduleWrites() {
  if (flush_posted_ || writing_ || !call_) {
    return;  // a flush is coming, or the Write in flight pumps the next when it completes
  }
  // Writing at the end of this engine turn rather than now lets an END that arrives in the
  // same turn (a unary request usually does) ride on the last Write: one gRPC operation
  // instead of two.
  if (host().post(initialId(), kFlushWritesSignal) == ZB_OK) {
    flush_posted_ = true;
  } else {
    pumpWrites();
  }
}

void CallStream::onFlushWrites() {
  flush_posted_ = false;
  pumpWrites();
}

void CallStream::pumpWrites() {
  if (!call_ || writing_ || writes_done_ || write_failed_ || finishing_ || cancelled_) {
    return;
  }
  if (!writes_.empty()) {
    writing_ = true;
    if (end_received_ && writes_.size() == 1) {
      writes_done_ = true;  // the last message carries the half-close: no WritesDone
      call_->Write(writes_.front().message, ::grpc::WriteOptions().set_last_message(),
                   issue(kWrite));
    } else {
      call_->Write(writes_.front().message, issue(kWrite));
    }
  } else if (end_received_) {
    writes_done_ = true;
    call_->WritesDone(issue(kWritesDone));
  }
}

void CallStream::acknowledge() {
  // Everything before the oldest message not yet written is taken, including the fragments of
  // a message still being assembled behind no pending write (it has to be whole to be written,
  // so holding its credit back could stall a message larger than the window).
  const int64_t taken = writes_.empty() ? in().sequence() : writes_.front().start;
  if (taken > in().acknowledge()) {
    in().consume(taken - in().acknowledge());
    doWindow();
  }
}

// ---- Responses to the reply direction.

void CallStream::sendReplyBegin() {
  if (reply_begun_ || writeClosed()) {
    return;
  }
  reply_begun_ = true;
  sdk::ExtensionWriter& writer = binding_.extensionWriter();
  auto& fbb = writer.start();
  auto& entries = binding_.metadataScratch();
  entries.clear();
  if (metadata_received_) {
    std::string& text = binding_.textScratch();
    for (const auto& [key, value] : context_.GetServerInitialMetadata()) {
      std::string_view name = viewOf(key);
      const bool binary = endsWithBin(name);
      text.clear();
      if (binary) {
        name.remove_suffix(4);
        encodeBase64(viewOf(value), text);
      } else {
        text.assign(viewOf(value));
      }
      entries.push_back(zb::grpc::CreateMetadata(
          fbb, binary ? zb::grpc::MetadataType::BASE64 : zb::grpc::MetadataType::TEXT,
          sdk::bytesIn(fbb, name), sdk::bytesIn(fbb, text)));
    }
  }
  const auto metadata = fbb.CreateVector(entries);
  zb::grpc::BeginExBuilder begin(fbb);
  begin.add_metadata(metadata);
  const auto ex = begin.Finish();
  doBegin(
      writer.finishGrpc(zb::grpc::CreateGrpcExtension(fbb, zb::grpc::GrpcEx::BeginEx, ex.Union()),
                        binding_.grpcTypeId()));
}

void CallStream::readNext() {
  if (cancelled_ || writeClosed()) {
    finish();
    return;
  }
  reading_ = true;
  call_->Read(&response_, issue(kRead));
}

void CallStream::deliverReply() {
  if (in_delivery_) {
    return;  // re-entered from doData: the outer loop sees the new credit
  }
  in_delivery_ = true;
  while (delivering_) {
    if (writeClosed()) {
      delivering_ = false;
      break;
    }
    const size_t offset = reply_offset_;
    const size_t remaining = reply_.size() - offset;
    const int64_t length = out().sendable(static_cast<int64_t>(remaining));
    if ((length == 0 && remaining > 0) || !out().canSend(length)) {
      break;  // wait for the caller's WINDOW
    }
    reply_offset_ += static_cast<size_t>(length);
    const bool last = reply_offset_ == reply_.size();
    const uint8_t flags = (offset == 0 ? ZB_DATA_INIT : 0) | (last ? ZB_DATA_FIN : 0);
    if (last) {
      delivering_ = false;
    }
    sdk::Extension ext;
    if (offset == 0) {
      sdk::ExtensionWriter& writer = binding_.extensionWriter();
      auto& fbb = writer.start();
      const auto data = zb::grpc::CreateDataEx(
          fbb, static_cast<int32_t>(remaining - static_cast<size_t>(length)));
      ext = writer.finishGrpc(
          zb::grpc::CreateGrpcExtension(fbb, zb::grpc::GrpcEx::DataEx, data.Union()),
          binding_.grpcTypeId());
    }
    doData(flags, reinterpret_cast<const uint8_t*>(reply_.data()) + offset,
           static_cast<size_t>(length), ext);
    if (last) {
      readNext();  // back-pressure: the next response is read only now
    }
  }
  in_delivery_ = false;
}

void CallStream::onWindow(const zb_frame_t&) { deliverReply(); }

void CallStream::onReset(const zb_frame_t&) {
  // The caller wants no more of the reply: the call is over for it.
  delivering_ = false;
  cancelCall();
  if (!readClosed()) {
    doReset();
  }
}

// ---- Ending the call.

void CallStream::cancelCall() {
  leaveChannel();
  if (!call_ || cancelled_ || finished_) {
    return;
  }
  cancelled_ = true;
  context_.TryCancel();
  if (!reading_ && !finishing_) {
    delivering_ = false;
    finish();
  }
}

void CallStream::finish() {
  if (finishing_) {
    return;
  }
  finishing_ = true;
  writes_.clear();
  call_->Finish(&status_, issue(kFinish));
}

void CallStream::complete() {
  if (!status_.ok() && status_.error_code() == ::grpc::StatusCode::UNAVAILABLE && !reply_begun_ &&
      in().sequence() == 0 && !readClosed()) {
    // The call failed before it took a single request byte: the caller may retry it.
    refuse(kUnavailable, status_.error_message());
    return;
  }
  if (!writeClosed()) {
    sendReplyBegin();
    if (status_.ok()) {
      doEnd();
    } else {
      sdk::ExtensionWriter& writer = binding_.extensionWriter();
      auto& fbb = writer.start();
      const auto ex = zb::grpc::CreateStatusEx(fbb, static_cast<int32_t>(status_.error_code()),
                                               fbb.CreateString(status_.error_message()));
      doAbort(writer.finishGrpc(
          zb::grpc::CreateGrpcExtension(fbb, zb::grpc::GrpcEx::StatusEx, ex.Union()),
          binding_.grpcTypeId()));
    }
  }
  if (!readClosed()) {
    doReset();  // the call is over: no more request bytes will be taken
  }
}

void CallStream::onCompletion(int operation, bool ok) {
  --outstanding_;
  switch (operation) {
    case kWrite:
      writing_ = false;
      if (!writes_.empty()) {
        if (ok) {
          binding_.metrics().requestBytes(*series_, writes_.front().bytes);
        }
        writes_.pop_front();
      }
      if (!ok) {
        write_failed_ = true;  // the call is broken; its status comes through Finish
        writes_.clear();
      }
      pumpWrites();
      if (!released_) {
        acknowledge();
      }
      break;
    case kWritesDone:
      break;
    case kRead:
      reading_ = false;
      metadata_received_ = true;  // the first Read asked for the headers too; they are in
      if (ok && !cancelled_ && !released_) {
        sendReplyBegin();
        reply_.clear();
        response_.Dump(&slices_);
        for (const ::grpc::Slice& slice : slices_) {
          reply_.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
        }
        slices_.clear();
        response_.Clear();
        binding_.metrics().responseBytes(*series_, static_cast<int64_t>(reply_.size()));
        reply_offset_ = 0;
        delivering_ = true;
        deliverReply();
      } else {
        finish();
      }
      break;
    case kFinish:
      finished_ = true;
      if (in_flight_) {
        in_flight_ = false;
        binding_.metrics().finished(*series_, static_cast<int>(status_.error_code()),
                                    (host().nowNs() - started_ns_) / 1000);
      }
      if (!released_) {
        complete();
      }
      break;
    default:
      break;
  }
  if (released_ && outstanding_ == 0) {
    binding_.dispose(this);  // last statement: `this` is gone
  }
}

// ---- Lifetime.

void CallStream::cancelForShutdown() {
  if (call_ && !finished_) {
    context_.TryCancel();
  }
}

void CallStream::onFailure() {
  cancelCall();
  doCloseAll();
}

void CallStream::onRelease() {
  released_ = true;
  leaveChannel();
  binding_.forget(this, initialId());
  if (call_ && !finishing_) {
    cancelCall();  // nobody listens any more
  }
  if (outstanding_ == 0) {
    binding_.dispose(this);
  }
}

}  // namespace zb::grpc_binding
