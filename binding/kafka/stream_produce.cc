#include "stream_produce.h"

namespace zb::kafka_binding {

namespace kx = ::zb::kafka;

ProduceStream::ProduceStream(const sdk::Host& host, const zb_frame_t& begin,
                             RecordProducer& producer, rd_kafka_topic_t* topic, uint32_t kafka_type,
                             std::unordered_set<sdk::Stream*>& registry)
    : sdk::Stream(host, begin),
      producer_(producer),
      topic_(topic),
      kafka_type_(kafka_type),
      registry_(registry) {
  registry_.insert(this);
}

// ---- sdk::Stream

void ProduceStream::onBegin(const zb_frame_t&) {
  doBegin();
  in().setMaximum(kWindow);
  in().setPadding(kPadding);
  doWindow();
}

void ProduceStream::onData(const zb_frame_t& frame) {
  if (failed_) {
    return;
  }
  const bool init = (frame.flags & ZB_DATA_INIT) != 0;
  const bool fin = (frame.flags & ZB_DATA_FIN) != 0;
  const int64_t end = frame.sequence + frame.reserved;
  if (init) {
    const kx::KafkaExtension* ext = sdk::readKafka(frame, kafka_type_);
    const kx::ProduceDataEx* data = ext != nullptr ? ext->ex_as_ProduceDataEx() : nullptr;
    startRecord(data);
    if (fin) {
      // A whole record in one frame: produced straight from the frame (librdkafka copies it).
      null_value_ = frame.payload == nullptr;
      produce(frame.payload, frame.payload_length, end);
    } else {
      assembling_ = true;
      null_value_ = false;
      value_.clear();
      if (data != nullptr && data->deferred() > 0) {
        value_.reserve(frame.payload_length + size_t(data->deferred()));
      }
      value_.append(reinterpret_cast<const char*>(frame.payload), frame.payload_length);
    }
  } else {
    if (!assembling_) {
      fail(RD_KAFKA_RESP_ERR__INVALID_ARG, "DATA fragment without an INIT fragment");
      return;
    }
    value_.append(reinterpret_cast<const char*>(frame.payload), frame.payload_length);
    if (fin) {
      assembling_ = false;
      produce(reinterpret_cast<const uint8_t*>(value_.data()), value_.size(), end);
    }
  }
  acknowledge();
}

void ProduceStream::onEnd(const zb_frame_t&) {
  end_requested_ = true;
  maybeEnd();
}

void ProduceStream::onAbort(const zb_frame_t&) { doAbort(); }

void ProduceStream::onReset(const zb_frame_t&) { doReset(); }

void ProduceStream::onRelease() {
  registry_.erase(this);
  released_ = true;
  maybeDelete();
}

// ---- Producing

void ProduceStream::startRecord(const kx::ProduceDataEx* data) {
  null_key_ = true;
  key_.clear();
  timestamp_ = 0;
  partition_ = RD_KAFKA_PARTITION_UA;
  header_count_ = 0;
  if (data == nullptr) {
    return;
  }
  if (data->key() != nullptr) {
    null_key_ = false;
    key_.assign(reinterpret_cast<const char*>(data->key()->data()), data->key()->size());
  }
  timestamp_ = data->timestamp();
  if (data->partition() != nullptr && data->partition()->partition_id() >= 0) {
    partition_ = data->partition()->partition_id();
  }
  if (data->headers() != nullptr) {
    for (const kx::Header* header : *data->headers()) {
      if (header_count_ == headers_.size()) {
        headers_.emplace_back();
      }
      HeaderCopy& copy = headers_[header_count_++];
      const std::string_view name = sdk::bytesOf(header->name());
      copy.name.assign(name.data(), name.size());
      copy.null_value = header->value() == nullptr;
      const std::string_view value = sdk::bytesOf(header->value());
      copy.value.assign(value.data(), value.size());
    }
  }
}

void ProduceStream::produce(const uint8_t* value, size_t length, int64_t end) {
  ProduceSlot* slot = nullptr;
  if (producer_.acks() != kx::AckMode::NONE) {
    slots_.push_back({this, end, false});
    slot = &slots_.back();
  }
  args_.clear();
  auto arg = [this](rd_kafka_vtype_t type) -> rd_kafka_vu_t& {
    args_.emplace_back();
    args_.back().vtype = type;
    return args_.back();
  };
  arg(RD_KAFKA_VTYPE_RKT).u.rkt = topic_;
  arg(RD_KAFKA_VTYPE_PARTITION).u.i32 = partition_;
  arg(RD_KAFKA_VTYPE_MSGFLAGS).u.i = RD_KAFKA_MSG_F_COPY;
  rd_kafka_vu_t& payload = arg(RD_KAFKA_VTYPE_VALUE);
  payload.u.mem.ptr = null_value_ ? nullptr : const_cast<uint8_t*>(value);
  payload.u.mem.size = null_value_ ? 0 : length;
  if (!null_key_) {
    rd_kafka_vu_t& key = arg(RD_KAFKA_VTYPE_KEY);
    key.u.mem.ptr = key_.data();
    key.u.mem.size = key_.size();
  }
  if (timestamp_ > 0) {
    arg(RD_KAFKA_VTYPE_TIMESTAMP).u.i64 = timestamp_;
  }
  arg(RD_KAFKA_VTYPE_OPAQUE).u.ptr = slot;
  for (size_t i = 0; i < header_count_; ++i) {
    rd_kafka_vu_t& header = arg(RD_KAFKA_VTYPE_HEADER);
    header.u.header.name = headers_[i].name.c_str();
    header.u.header.val = headers_[i].null_value ? nullptr : headers_[i].value.data();
    header.u.header.size = headers_[i].null_value ? 0 : ssize_t(headers_[i].value.size());
  }
  rd_kafka_error_t* error = rd_kafka_produceva(producer_.handle(), args_.data(), args_.size());
  if (error != nullptr) {
    if (slot != nullptr) {
      slots_.pop_back();
    }
    const rd_kafka_resp_err_t code = rd_kafka_error_code(error);
    const std::string message = rd_kafka_error_string(error);
    rd_kafka_error_destroy(error);
    fail(code, message.c_str());
    return;
  }
  if (slot != nullptr) {
    ++in_flight_;
  } else {
    producer_.metrics().produced();  // acks 0: done once librdkafka has it
  }
}

void ProduceStream::acknowledge() {
  if (failed_) {
    return;
  }
  while (!slots_.empty() && slots_.front().done) {
    acked_ = slots_.front().end;
    slots_.pop_front();
  }
  // With nothing in flight, everything received is acknowledged, the fragments of a record still
  // being assembled included (so a record larger than the window can arrive).
  const int64_t target = slots_.empty() ? in().sequence() : acked_;
  if (target > in().acknowledge()) {
    in().consume(target - in().acknowledge());
    doWindow();
  }
}

void ProduceStream::onDelivered(ProduceSlot& slot, rd_kafka_resp_err_t err) {
  --in_flight_;
  slot.done = true;
  if (!producer_.shuttingDown() && !released_) {
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      fail(err, rd_kafka_err2str(err));
    } else {
      producer_.metrics().produced();
      acknowledge();
      maybeEnd();
    }
  }
  maybeDelete();
}

void ProduceStream::fail(rd_kafka_resp_err_t err, const char* message) {
  if (failed_) {
    return;
  }
  failed_ = true;
  producer_.metrics().produceFailed();
  host().logf(ZB_LOG_WARN, "kafka produce to '%s': %s: %s", rd_kafka_topic_name(topic_),
              rd_kafka_err2name(err), message);
  sdk::ExtensionWriter writer(128);
  flatbuffers::FlatBufferBuilder& fbb = writer.start();
  const auto reset = kx::CreateResetExDirect(fbb, int32_t(err), message);
  const sdk::Extension ext = writer.finishKafka(
      kx::CreateKafkaExtension(fbb, kx::KafkaEx::ResetEx, reset.Union()), kafka_type_);
  doAbort(ext);
  doReset(ext);
}

void ProduceStream::maybeEnd() {
  if (end_requested_ && !failed_ && slots_.empty() && !writeClosed()) {
    doEnd();
  }
}

void ProduceStream::maybeDelete() {
  if (released_ && in_flight_ == 0) {
    delete this;
  }
}

}  // namespace zb::kafka_binding
