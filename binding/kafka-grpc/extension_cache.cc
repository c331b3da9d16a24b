#include "extension_cache.h"

#include <charconv>

namespace zb::kafka_grpc {
namespace {

constexpr std::string_view kStatusHeader = "zilla:status";
constexpr std::string_view kMessageHeader = "zilla:message";
constexpr std::string_view kMetaPrefix = "meta:";
constexpr std::string_view kBinSuffix = "-bin";

using flatbuffers::Offset;

Offset<zb::kafka::Header> header(flatbuffers::FlatBufferBuilder& fbb, std::string_view name,
                                 std::string_view value) {
  return zb::kafka::CreateHeader(fbb, sdk::bytesIn(fbb, name), sdk::bytesIn(fbb, value));
}

// "meta:<name>" or "meta:<name>-bin", written straight into the buffer.
Offset<flatbuffers::Vector<uint8_t>> metaName(flatbuffers::FlatBufferBuilder& fbb,
                                              const MetadataView& entry) {
  const bool binary = entry.type == zb::grpc::MetadataType::BASE64;
  const size_t length = kMetaPrefix.size() + entry.name.size() + (binary ? kBinSuffix.size() : 0);
  uint8_t* out = nullptr;
  const auto vector = fbb.CreateUninitializedVector(length, &out);
  std::memcpy(out, kMetaPrefix.data(), kMetaPrefix.size());
  std::memcpy(out + kMetaPrefix.size(), entry.name.data(), entry.name.size());
  if (binary) {
    std::memcpy(out + kMetaPrefix.size() + entry.name.size(), kBinSuffix.data(), kBinSuffix.size());
  }
  return vector;
}

}  // namespace

sdk::ExtensionWriter* WriterPool::take() {
  if (free_.empty()) {
    storage_.push_back(std::make_unique<sdk::ExtensionWriter>(1024));
    free_.reserve(storage_.size());
    return storage_.back().get();
  }
  sdk::ExtensionWriter* writer = free_.back();
  free_.pop_back();
  return writer;
}

ExtensionCache::ExtensionCache(uint32_t kafka_type, uint32_t grpc_type, const Options& options,
                               size_t routes)
    : kafka_type_(kafka_type),
      grpc_type_(grpc_type),
      correlation_header_(options.correlation.correlation_id),
      acks_(options.acks),
      call_begins_(routes),
      produce_begins_(routes) {}

// ---- Kept as long as the inputs are the same.

sdk::Extension ExtensionCache::callBegin(size_t route_index, const Route& route,
                                         std::string_view service, std::string_view method,
                                         const MetadataStore& metadata, int32_t deadline_ms,
                                         ExtensionUse& use, WriterPool::Lease& lease) {
  if (route_index >= call_begins_.size()) {
    return buildCallBegin(*lease, route, service, method, metadata, deadline_ms);
  }
  CallBegin& kept = call_begins_[route_index];
  if (kept.kept.valid() && kept.service == service && kept.method == method &&
      kept.deadline_ms == deadline_ms && kept.metadata == metadata) {
    return use.hold(kept.kept);
  }
  if (kept.kept.busy()) {
    return buildCallBegin(*lease, route, service, method, metadata, deadline_ms);
  }
  kept.kept.keep(
      buildCallBegin(kept.kept.rebuild(), route, service, method, metadata, deadline_ms));
  kept.service.assign(service);
  kept.method.assign(method);
  kept.metadata = metadata;
  kept.deadline_ms = deadline_ms;
  return use.hold(kept.kept);
}

sdk::Extension ExtensionCache::callData(int32_t deferred, ExtensionUse& use,
                                        WriterPool::Lease& lease) {
  if (call_data_.kept.valid() && call_data_.deferred == deferred) {
    return use.hold(call_data_.kept);
  }
  if (call_data_.kept.busy()) {
    return buildCallData(*lease, deferred);
  }
  call_data_.kept.keep(buildCallData(call_data_.kept.rebuild(), deferred));
  call_data_.deferred = deferred;
  return use.hold(call_data_.kept);
}

sdk::Extension ExtensionCache::produceBegin(size_t route_index, std::string_view topic,
                                            ExtensionUse& use, WriterPool::Lease& lease) {
  if (route_index >= produce_begins_.size()) {
    return buildProduceBegin(*lease, topic);
  }
  ProduceBegin& kept = produce_begins_[route_index];
  if (kept.kept.valid() && kept.topic == topic) {
    return use.hold(kept.kept);
  }
  if (kept.kept.busy()) {
    return buildProduceBegin(*lease, topic);
  }
  kept.kept.keep(buildProduceBegin(kept.kept.rebuild(), topic));
  kept.topic.assign(topic);
  return use.hold(kept.kept);
}

// ---- Patched when only the correlation id (of the same length) or the offset differs.

void ExtensionCache::IdRecord::locate() {
  const auto* root = flatbuffers::GetRoot<zb::kafka::KafkaExtension>(kept.ext().data);
  const zb::kafka::ProduceDataEx* produce = root->ex_as_ProduceDataEx();
  key_at = kept.offsetOf(produce->key()->data());
  header_at = kept.offsetOf(produce->headers()->Get(0)->value()->data());
}

void ExtensionCache::IdRecord::patchId(std::string_view id) {
  kept.patch(key_at, id.data(), id.size());
  kept.patch(header_at, id.data(), id.size());
}

sdk::Extension ExtensionCache::replyRecord(std::string_view id, int32_t deferred,
                                           const MetadataStore& metadata, ExtensionUse& use,
                                           WriterPool::Lease& lease) {
  ReplyRecord& kept = reply_record_;
  if (kept.kept.busy()) {
    return buildReplyRecord(*lease, id, deferred, metadata);
  }
  if (kept.kept.valid() && kept.id_length == id.size() && kept.deferred == deferred &&
      kept.metadata == metadata) {
    kept.patchId(id);
    return use.hold(kept.kept);
  }
  kept.kept.keep(buildReplyRecord(kept.kept.rebuild(), id, deferred, metadata));
  kept.locate();
  kept.id_length = id.size();
  kept.deferred = deferred;
  kept.metadata = metadata;
  return use.hold(kept.kept);
}

sdk::Extension ExtensionCache::statusRecord(std::string_view id, int32_t status,
                                            std::string_view message, ExtensionUse& use,
                                            WriterPool::Lease& lease) {
  StatusRecord& kept = status_record_;
  if (kept.kept.busy()) {
    return buildStatusRecord(*lease, id, status, message);
  }
  if (kept.kept.valid() && kept.id_length == id.size() && kept.status == status &&
      kept.message == message) {
    kept.patchId(id);
    return use.hold(kept.kept);
  }
  kept.kept.keep(buildStatusRecord(kept.kept.rebuild(), id, status, message));
  kept.locate();
  kept.id_length = id.size();
  kept.status = status;
  kept.message.assign(message);
  return use.hold(kept.kept);
}

sdk::Extension ExtensionCache::commit(int32_t partition, int64_t offset, ExtensionUse& use,
                                      WriterPool::Lease& lease) {
  if (commit_.kept.busy()) {
    return buildCommit(*lease, partition, offset);
  }
  if (commit_.kept.valid()) {
    // A struct field: always present, at a fixed place.
    const zb::kafka::Offset progress(partition, offset);
    commit_.kept.patch(commit_.progress_at, &progress, sizeof progress);
    return use.hold(commit_.kept);
  }
  commit_.kept.keep(buildCommit(commit_.kept.rebuild(), partition, offset));
  const auto* root = flatbuffers::GetRoot<zb::kafka::KafkaExtension>(commit_.kept.ext().data);
  commit_.progress_at = commit_.kept.offsetOf(root->ex_as_ConsumerFlushEx()->progress());
  return use.hold(commit_.kept);
}

// ---- Building.

sdk::Extension ExtensionCache::buildCallBegin(sdk::ExtensionWriter& writer, const Route& route,
                                              std::string_view service, std::string_view method,
                                              const MetadataStore& metadata, int32_t deadline_ms) {
  flatbuffers::FlatBufferBuilder& fbb = writer.start();
  metadata_offsets_.clear();
  for (size_t i = 0; i < metadata.size(); ++i) {
    const MetadataView entry = metadata[i];
    metadata_offsets_.push_back(zb::grpc::CreateMetadata(
        fbb, entry.type, sdk::bytesIn(fbb, entry.name), sdk::bytesIn(fbb, entry.value)));
  }
  const auto scheme = fbb.CreateString(route.scheme);
  const auto authority = fbb.CreateString(route.authority);
  const auto service_text = fbb.CreateString(service.data(), service.size());
  const auto method_text = fbb.CreateString(method.data(), method.size());
  const auto begin = zb::grpc::CreateBeginEx(fbb, scheme, authority, service_text, method_text,
                                             fbb.CreateVector(metadata_offsets_), deadline_ms);
  return writer.finishGrpc(
      zb::grpc::CreateGrpcExtension(fbb, zb::grpc::GrpcEx::BeginEx, begin.Union()), grpc_type_);
}

sdk::Extension ExtensionCache::buildCallData(sdk::ExtensionWriter& writer, int32_t deferred) const {
  flatbuffers::FlatBufferBuilder& fbb = writer.start();
  const auto data = zb::grpc::CreateDataEx(fbb, deferred);
  return writer.finishGrpc(
      zb::grpc::CreateGrpcExtension(fbb, zb::grpc::GrpcEx::DataEx, data.Union()), grpc_type_);
}

sdk::Extension ExtensionCache::buildProduceBegin(sdk::ExtensionWriter& writer,
                                                 std::string_view topic) const {
  flatbuffers::FlatBufferBuilder& fbb = writer.start();
  const auto topic_text = fbb.CreateString(topic.data(), topic.size());
  zb::kafka::MergedBeginExBuilder begin(fbb);
  begin.add_capabilities(zb::kafka::Capabilities::PRODUCE_ONLY);
  begin.add_topic(topic_text);
  begin.add_ack_mode(static_cast<zb::kafka::AckMode>(acks_));
  const auto root = begin.Finish();
  return writer.finishKafka(
      zb::kafka::CreateKafkaExtension(fbb, zb::kafka::KafkaEx::MergedBeginEx, root.Union()),
      kafka_type_);
}

sdk::Extension ExtensionCache::buildReplyRecord(sdk::ExtensionWriter& writer, std::string_view id,
                                                int32_t deferred, const MetadataStore& metadata) {
  flatbuffers::FlatBufferBuilder& fbb = writer.start();
  header_offsets_.clear();
  header_offsets_.push_back(header(fbb, correlation_header_, id));
  for (size_t i = 0; i < metadata.size(); ++i) {
    const MetadataView entry = metadata[i];
    const auto name = metaName(fbb, entry);
    header_offsets_.push_back(zb::kafka::CreateHeader(fbb, name, sdk::bytesIn(fbb, entry.value)));
  }
  const zb::kafka::Offset partition(-1, -1);
  const auto key = sdk::bytesIn(fbb, id);
  const auto produce = zb::kafka::CreateProduceDataEx(fbb, deferred, 0, &partition, key,
                                                      fbb.CreateVector(header_offsets_));
  return writer.finishKafka(
      zb::kafka::CreateKafkaExtension(fbb, zb::kafka::KafkaEx::ProduceDataEx, produce.Union()),
      kafka_type_);
}

sdk::Extension ExtensionCache::buildStatusRecord(sdk::ExtensionWriter& writer, std::string_view id,
                                                 int32_t status, std::string_view message) {
  flatbuffers::FlatBufferBuilder& fbb = writer.start();
  char digits[16];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, status);
  (void)ec;
  header_offsets_.clear();
  header_offsets_.push_back(header(fbb, correlation_header_, id));
  header_offsets_.push_back(header(fbb, kStatusHeader, std::string_view(digits, end - digits)));
  if (!message.empty()) {
    header_offsets_.push_back(header(fbb, kMessageHeader, message));
  }
  const zb::kafka::Offset partition(-1, -1);
  const auto key = sdk::bytesIn(fbb, id);
  const auto produce =
      zb::kafka::CreateProduceDataEx(fbb, 0, 0, &partition, key, fbb.CreateVector(header_offsets_));
  return writer.finishKafka(
      zb::kafka::CreateKafkaExtension(fbb, zb::kafka::KafkaEx::ProduceDataEx, produce.Union()),
      kafka_type_);
}

sdk::Extension ExtensionCache::buildCommit(sdk::ExtensionWriter& writer, int32_t partition,
                                           int64_t offset) const {
  flatbuffers::FlatBufferBuilder& fbb = writer.start();
  const zb::kafka::Offset progress(partition, offset);
  const auto flush = zb::kafka::CreateConsumerFlushEx(fbb, &progress);
  return writer.finishKafka(
      zb::kafka::CreateKafkaExtension(fbb, zb::kafka::KafkaEx::ConsumerFlushEx, flush.Union()),
      kafka_type_);
}

}  // namespace zb::kafka_grpc
