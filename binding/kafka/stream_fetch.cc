#include "stream_fetch.h"

#include "consumer_group.h"

#include <algorithm>
#include <cstring>

namespace zb::kafka_binding {

namespace kx = ::zb::kafka;

FetchStream::FetchStream(const sdk::Host& host, const zb_frame_t& begin, ConsumerGroup& group,
                         std::string topic, RecordFilter filter, uint32_t kafka_type,
                         std::unordered_set<sdk::Stream*>& registry)
    : sdk::Stream(host, begin),
      group_(group),
      topic_(std::move(topic)),
      filter_(std::move(filter)),
      kafka_type_(kafka_type),
      registry_(registry) {
  registry_.insert(this);
}

// ---- sdk::Stream

void FetchStream::onBegin(const zb_frame_t&) {
  doBegin();
  attached_ = true;
  group_.attach(this);
}

void FetchStream::onWindow(const zb_frame_t&) {
  if (live()) {
    group_.drain();
  }
}

void FetchStream::onFlush(const zb_frame_t& frame) {
  const kx::KafkaExtension* ext = sdk::readKafka(frame, kafka_type_);
  if (const kx::ConsumerReleaseEx* release =
          ext != nullptr ? ext->ex_as_ConsumerReleaseEx() : nullptr) {
    if (live() && release->partitions() != nullptr) {
      released_.assign(release->partitions()->begin(), release->partitions()->end());
      group_.onRelease(this, released_);
    }
    return;
  }
  const kx::ConsumerFlushEx* flush = ext != nullptr ? ext->ex_as_ConsumerFlushEx() : nullptr;
  if (flush == nullptr || flush->progress() == nullptr) {
    host().log(ZB_LOG_WARN,
               "kafka fetch: FLUSH without ConsumerFlushEx progress or ConsumerReleaseEx; ignored");
    return;
  }
  if (live()) {
    group_.onProgress(this, flush->progress()->partition_id(),
                      flush->progress()->partition_offset());
  }
}

void FetchStream::onEnd(const zb_frame_t&) {
  doEnd();
  close();
}

void FetchStream::onAbort(const zb_frame_t&) {
  doAbort();
  close();
}

void FetchStream::onReset(const zb_frame_t&) {
  doReset();
  close();
}

void FetchStream::onRelease() {
  group_.forget(this);
  registry_.erase(this);
  delete this;
}

// ---- Delivery

int64_t FetchStream::minimumFragment(int64_t remaining) {
  // Waiting for half a window (at most 8 KiB) avoids trickling a large value out in slivers
  // when the initiator acknowledges in small steps.
  const int64_t usable = int64_t(out().maximum()) - out().padding();
  return std::min(remaining, std::clamp<int64_t>(usable / 2, 1, 8192));
}

bool FetchStream::canStart(const HeldRecord& record) {
  if (!live() || !out().opened() || (active_ != nullptr && active_ != &record)) {
    return false;
  }
  const rd_kafka_message_t& m = *record.message;
  if (m.payload == nullptr || m.len == 0) {
    return out().canSend(0);
  }
  return out().sendable(int64_t(m.len)) >= minimumFragment(int64_t(m.len));
}

sdk::Extension FetchStream::fetchDataEx(const rd_kafka_message_t& m, int32_t deferred) {
  flatbuffers::FlatBufferBuilder& fbb = writer_.start();
  flatbuffers::Offset<flatbuffers::Vector<uint8_t>> key = 0;
  if (m.key != nullptr) {
    key = fbb.CreateVector(static_cast<const uint8_t*>(m.key), m.key_len);
  }
  header_offsets_.clear();
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(&m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR && headers != nullptr) {
    const char* name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    for (size_t i = 0;
         rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      const auto name_bytes =
          fbb.CreateVector(reinterpret_cast<const uint8_t*>(name), std::strlen(name));
      flatbuffers::Offset<flatbuffers::Vector<uint8_t>> value_bytes = 0;
      if (value != nullptr) {
        value_bytes = fbb.CreateVector(static_cast<const uint8_t*>(value), size);
      }
      header_offsets_.push_back(kx::CreateHeader(fbb, name_bytes, value_bytes));
    }
  }
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<kx::Header>>> header_vector = 0;
  if (!header_offsets_.empty()) {
    header_vector = fbb.CreateVector(header_offsets_);
  }
  rd_kafka_timestamp_type_t timestamp_type;
  const int64_t timestamp = rd_kafka_message_timestamp(&m, &timestamp_type);
  const kx::Offset partition(m.partition, m.offset);
  const auto data = kx::CreateFetchDataEx(fbb, deferred, timestamp < 0 ? 0 : timestamp, &partition,
                                          key, header_vector);
  const auto root = kx::CreateKafkaExtension(fbb, kx::KafkaEx::FetchDataEx, data.Union());
  return writer_.finishKafka(root, kafka_type_);
}

bool FetchStream::deliver(HeldRecord& record) {
  const rd_kafka_message_t& m = *record.message;
  const auto* value = static_cast<const uint8_t*>(m.payload);
  const int64_t length = value != nullptr ? int64_t(m.len) : 0;

  if (!record.started) {
    if (!canStart(record)) {
      return false;
    }
    const int64_t chunk = length == 0 ? 0 : out().sendable(length);
    const bool fin = chunk == length;
    const sdk::Extension ext = fetchDataEx(m, int32_t(length - chunk));
    record.started = true;
    record.sent = size_t(chunk);
    active_ = fin ? nullptr : &record;
    doData(fin ? ZB_DATA_COMPLETE : ZB_DATA_INIT, value, size_t(chunk), ext);
    return fin;
  }
  while (live()) {
    const int64_t remaining = length - int64_t(record.sent);
    const int64_t chunk = out().sendable(remaining);
    if (chunk < minimumFragment(remaining) || chunk == 0) {
      return false;
    }
    const bool fin = chunk == remaining;
    const uint8_t* from = value + record.sent;
    record.sent += size_t(chunk);
    if (fin) {
      active_ = nullptr;
    }
    doData(fin ? ZB_DATA_FIN : 0, from, size_t(chunk));
    if (fin) {
      return true;
    }
  }
  return false;
}

void FetchStream::terminate(rd_kafka_resp_err_t err, const char* message) {
  sdk::ExtensionWriter writer(128);
  flatbuffers::FlatBufferBuilder& fbb = writer.start();
  const auto reset = kx::CreateResetExDirect(fbb, int32_t(err), message);
  const sdk::Extension ext = writer.finishKafka(
      kx::CreateKafkaExtension(fbb, kx::KafkaEx::ResetEx, reset.Union()), kafka_type_);
  doAbort(ext);
  doReset(ext);
  close();
}

void FetchStream::notifyAssignment(const std::vector<int32_t>& assigned,
                                   const std::vector<int32_t>& revoked) {
  sdk::ExtensionWriter writer(128);
  flatbuffers::FlatBufferBuilder& fbb = writer.start();
  const auto flush = kx::CreateAssignmentFlushExDirect(fbb, &assigned, &revoked);
  doFlush(writer.finishKafka(
      kx::CreateKafkaExtension(fbb, kx::KafkaEx::AssignmentFlushEx, flush.Union()), kafka_type_));
}

void FetchStream::close() {
  if (gone_) {
    return;
  }
  gone_ = true;
  active_ = nullptr;
  if (attached_) {
    group_.onStreamClosed(this);
  }
}

}  // namespace zb::kafka_binding
