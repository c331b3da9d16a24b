#include "dead_letter.h"

#include "fetch_stream.h"
#include "remote_server.h"

#include <zb/sdk/extension.hpp>

namespace zb::kafka_grpc {
namespace {

const uint8_t kEmpty[1] = {0};

}  // namespace

void DeadLetterProducer::add(const OffsetTracker::Handle& record, const zb::kafka::FetchDataEx& ex,
                             std::string_view reason, std::string_view source) {
  Pending pending;
  pending.record = record;
  pending.timestamp = ex.timestamp();
  if (ex.key() != nullptr) {
    pending.key.emplace(sdk::bytesOf(ex.key()));
  }
  if (ex.headers() != nullptr) {
    for (const zb::kafka::Header* header : *ex.headers()) {
      std::optional<std::string> value;
      if (header->value() != nullptr) {
        value.emplace(sdk::bytesOf(header->value()));
      }
      pending.headers.emplace_back(std::string(sdk::bytesOf(header->name())), std::move(value));
    }
  }
  pending.headers.emplace_back("zilla:dead-letter-reason", std::string(reason));
  pending.headers.emplace_back("zilla:dead-letter-source", std::string(source));
  pending_.push_back(std::move(pending));
}

void DeadLetterProducer::open() {
  if (port_ != nullptr) {
    return;
  }
  StreamPort* port =
      server_.ports().create(server_.host(), server_.bindingId(), server_.entryId(), this);
  port_ = port;
  sdk::Extension ext;
  auto lease = server_.writer();
  {
    flatbuffers::FlatBufferBuilder& fbb = lease->start();
    const auto topic = fbb.CreateString(server_.options().dead_letter_topic);
    zb::kafka::MergedBeginExBuilder begin(fbb);
    begin.add_capabilities(zb::kafka::Capabilities::PRODUCE_ONLY);
    begin.add_topic(topic);
    begin.add_ack_mode(static_cast<zb::kafka::AckMode>(server_.options().acks));
    const auto root = begin.Finish();
    ext = lease->finishKafka(
        zb::kafka::CreateKafkaExtension(fbb, zb::kafka::KafkaEx::MergedBeginEx, root.Union()),
        server_.kafkaType());
  }
  if (port->open(ext) != ZB_OK) {
    if (port_ == port) {
      port_ = nullptr;
    }
    failed("the entry binding refused the dead-letter stream");
  }
}

RecordSink::Written DeadLetterProducer::write(uint8_t flags, int32_t deferred, const uint8_t* data,
                                              size_t length) {
  if (writing_ >= pending_.size()) {
    // What is left of a record whose dead-letter stream failed.
    return Written{length, true};
  }
  if (port_ == nullptr) {
    open();
    if (writing_ >= pending_.size()) {
      // Refused while opening: failed() settled the record, and nothing will drain it.
      return Written{length, true};
    }
  }
  if (port_ == nullptr || !port_->out().opened()) {
    return Written{0, false};
  }
  sdk::SendWindow& out = port_->out();
  const bool null = (flags & HeldFragments::kNullPayload) != 0;
  const size_t n = null ? 0 : static_cast<size_t>(out.sendable(static_cast<int64_t>(length)));
  if ((length > 0 && n == 0) || !out.canSend(static_cast<int64_t>(n))) {
    return Written{0, false};
  }
  const bool whole = n == length;
  const auto sent_flags = static_cast<uint8_t>(flags & (whole ? ZB_DATA_COMPLETE : ZB_DATA_INIT));
  Pending& pending = pending_[writing_];
  sdk::Extension ext;
  auto lease = server_.writer();
  if ((flags & ZB_DATA_INIT) != 0) {
    flatbuffers::FlatBufferBuilder& fbb = lease->start();
    std::vector<flatbuffers::Offset<zb::kafka::Header>> headers;
    for (const auto& [name, value] : pending.headers) {
      headers.push_back(zb::kafka::CreateHeader(fbb, sdk::bytesIn(fbb, name),
                                                value ? sdk::bytesIn(fbb, *value) : 0));
    }
    const zb::kafka::Offset partition(-1, -1);
    const auto produce = zb::kafka::CreateProduceDataEx(
        fbb, deferred + static_cast<int32_t>(length - n), pending.timestamp, &partition,
        pending.key ? sdk::bytesIn(fbb, *pending.key) : 0, fbb.CreateVector(headers));
    ext = lease->finishKafka(
        zb::kafka::CreateKafkaExtension(fbb, zb::kafka::KafkaEx::ProduceDataEx, produce.Union()),
        server_.kafkaType());
  }
  if (whole && (flags & ZB_DATA_FIN) != 0) {
    // Known before sending: the acknowledgement may arrive while it is being sent.
    pending.end = out.sequence() + static_cast<int64_t>(n) + out.padding();
    ++writing_;
  }
  port_->doData(sent_flags, null ? nullptr : (n > 0 ? data : kEmpty), n, ext);
  return Written{n, whole};
}

void DeadLetterProducer::settleAcknowledged() {
  while (port_ != nullptr && !pending_.empty() && pending_.front().end >= 0 &&
         port_->out().acknowledge() >= pending_.front().end) {
    const OffsetTracker::Handle record = pending_.front().record;
    pending_.pop_front();
    --writing_;
    fetch_.settle(record);
  }
  fetch_.finishStopWhenDone();
}

void DeadLetterProducer::onPortWindow(StreamPort& port, const zb_frame_t& /*frame*/) {
  if (&port != port_) {
    return;
  }
  settleAcknowledged();
  fetch_.drainFor(*this);
}

void DeadLetterProducer::onPortEnd(StreamPort& port, const zb_frame_t& /*frame*/) {
  if (&port == port_) {
    failed("the dead-letter stream ended");
  }
}

void DeadLetterProducer::onPortAbort(StreamPort& port, const zb_frame_t& /*frame*/) {
  if (&port == port_) {
    failed("the dead-letter stream was aborted");
  }
}

void DeadLetterProducer::onPortReset(StreamPort& port, const zb_frame_t& /*frame*/) {
  if (&port == port_) {
    failed("the dead-letter topic refused the records");
  }
}

void DeadLetterProducer::onPortReleased(StreamPort& port) {
  if (&port == port_) {
    port_ = nullptr;
    failed("the dead-letter stream closed");
  }
}

void DeadLetterProducer::failed(const char* why) {
  if (port_ != nullptr) {
    StreamPort* port = port_;
    port_ = nullptr;
    port->cancel();
  }
  if (!pending_.empty()) {
    server_.metrics().error(ErrorReason::kReplyFailed);
    server_.host().logf(ZB_LOG_WARN, "%s: %s; %zu record(s) committed without a dead letter",
                        server_.label().c_str(), why, pending_.size());
  }
  // Settle everything (a bad record must never stall consumption); bytes still held go.
  std::deque<Pending> lost;
  lost.swap(pending_);
  writing_ = 0;
  fetch_.dropFor(*this);
  for (const Pending& pending : lost) {
    fetch_.settle(pending.record);
  }
  fetch_.finishStopWhenDone();
}

void DeadLetterProducer::abandon() {
  if (port_ != nullptr) {
    StreamPort* port = port_;
    port_ = nullptr;
    port->cancel();
  }
  pending_.clear();
  writing_ = 0;
}

}  // namespace zb::kafka_grpc
