#include "client_binding.h"

#include "stream_fetch.h"
#include "stream_produce.h"

#include <zb/sdk/extension.hpp>

namespace zb::kafka_binding {

namespace kx = ::zb::kafka;

namespace {

// Answers a BEGIN it cannot serve: RESET on the initial direction and ABORT on the reply, both
// with ResetEx{error, message}.
class RefusedStream final : public sdk::Stream {
 public:
  RefusedStream(const sdk::Host& host, const zb_frame_t& begin, uint32_t kafka_type,
                rd_kafka_resp_err_t err, std::string message,
                std::unordered_set<sdk::Stream*>& registry)
      : sdk::Stream(host, begin),
        kafka_type_(kafka_type),
        err_(err),
        message_(std::move(message)),
        registry_(registry) {
    registry_.insert(this);
  }

  void onRelease() override {
    registry_.erase(this);
    delete this;
  }

 protected:
  void onBegin(const zb_frame_t&) override {
    host().logf(ZB_LOG_WARN, "kafka: refused a stream: %s", message_.c_str());
    sdk::ExtensionWriter writer(256);
    flatbuffers::FlatBufferBuilder& fbb = writer.start();
    const auto reset = kx::CreateResetExDirect(fbb, int32_t(err_), message_.c_str());
    const sdk::Extension ext = writer.finishKafka(
        kx::CreateKafkaExtension(fbb, kx::KafkaEx::ResetEx, reset.Union()), kafka_type_);
    doReset(ext);
    doAbort(ext);
  }

 private:
  uint32_t kafka_type_;
  rd_kafka_resp_err_t err_;
  std::string message_;
  std::unordered_set<sdk::Stream*>& registry_;
};

size_t ackIndex(kx::AckMode acks) { return size_t(int(acks) + 1); }

}  // namespace

ClientBinding::ClientBinding(const sdk::Host& host, ClientOptions options, std::string client_id,
                             const std::string& metric_name)
    : sdk::Binding(host),
      options_(std::move(options)),
      client_id_(std::move(client_id)),
      kafka_type_(host.typeId("kafka")) {
  metrics_.declare(host, metric_name);
}

std::unique_ptr<sdk::Binding> ClientBinding::create(const sdk::Host& host,
                                                    const zb_binding_config_t& config,
                                                    std::string& error) {
  std::optional<ClientOptions> options =
      ClientOptions::parse(config.options_json != nullptr ? config.options_json : "{}", error);
  if (!options) {
    return nullptr;
  }
  const std::string name = config.name != nullptr ? config.name : "kafka";
  const std::string space = config.namespace_ != nullptr ? config.namespace_ : "";
  std::string client_id = "zb-" + (space.empty() ? "" : space + "-") + name;
  std::unique_ptr<ClientBinding> binding(new ClientBinding(
      host, std::move(*options), std::move(client_id), space.empty() ? name : space + "." + name));
  if (binding->options_.embeddedCluster()) {
    binding->embedded_ = EmbeddedCluster::start(host, binding->options_.embedded.partitions, error);
    if (!binding->embedded_) {
      return nullptr;
    }
    binding->bootstrap_ = binding->embedded_->bootstrap();
  } else {
    for (const std::string& server : binding->options_.servers) {
      binding->bootstrap_ += (binding->bootstrap_.empty() ? "" : ",") + server;
    }
    host.logf(ZB_LOG_INFO, "kafka client %s: bootstrap %s", binding->client_id_.c_str(),
              binding->bootstrap_.c_str());
  }
  // Refuse bad librdkafka properties now rather than at the first stream.
  rd_kafka_conf_t* probe =
      makeKafkaConf(binding->options_, binding->bootstrap_, HandleRole::kConsumer, {}, error);
  if (probe == nullptr) {
    return nullptr;
  }
  rd_kafka_conf_destroy(probe);
  return binding;
}

ClientBinding::~ClientBinding() {
  groups_by_id_.clear();
  groups_.clear();  // commits what is done, leaves the groups
  for (auto& producer : producers_) {
    producer.reset();  // flushes what is in flight
  }
  const std::vector<sdk::Stream*> leftovers(streams_.begin(), streams_.end());
  streams_.clear();
  for (sdk::Stream* stream : leftovers) {
    delete stream;
  }
  embedded_.reset();
}

sdk::Stream* ClientBinding::onStreamNew(const zb_frame_t& begin) {
  const kx::KafkaExtension* ext = sdk::readKafka(begin, kafka_type_);
  const kx::MergedBeginEx* merged = ext != nullptr ? ext->ex_as_MergedBeginEx() : nullptr;
  if (merged == nullptr) {
    return refuse(begin, RD_KAFKA_RESP_ERR__INVALID_ARG,
                  "BEGIN without a kafka MergedBeginEx extension");
  }
  switch (merged->capabilities()) {
    case kx::Capabilities::FETCH_ONLY:
      return newFetch(begin, *merged);
    case kx::Capabilities::PRODUCE_ONLY:
      return newProduce(begin, *merged);
    default:
      return refuse(begin, RD_KAFKA_RESP_ERR__INVALID_ARG,
                    "only FETCH_ONLY and PRODUCE_ONLY merged streams are supported");
  }
}

sdk::Stream* ClientBinding::newFetch(const zb_frame_t& begin, const kx::MergedBeginEx& ex) {
  const std::string topic(sdk::textOf(ex.topic()));
  const std::string group_id(sdk::textOf(ex.group_id()));
  if (topic.empty()) {
    return refuse(begin, RD_KAFKA_RESP_ERR__INVALID_ARG, "fetch stream without a topic");
  }
  if (group_id.empty()) {
    return refuse(begin, RD_KAFKA_RESP_ERR__INVALID_ARG,
                  "fetch stream on '" + topic + "' without a group_id");
  }
  if (stopping_) {
    return refuse(begin, RD_KAFKA_RESP_ERR__DESTROY, "the kafka binding is stopping");
  }
  std::string error;
  RecordFilter filter;
  if (!filter.compile(ex.filters(), error)) {
    return refuse(begin, RD_KAFKA_RESP_ERR__INVALID_ARG,
                  "fetch stream on '" + topic + "': " + error);
  }
  ConsumerGroup* consumer = group(group_id, error);
  if (consumer == nullptr) {
    return refuse(begin, RD_KAFKA_RESP_ERR__INVALID_ARG, error);
  }
  if (embedded_) {
    embedded_->ensureTopic(topic);
  }
  return new FetchStream(host(), begin, *consumer, topic, std::move(filter), kafka_type_, streams_);
}

sdk::Stream* ClientBinding::newProduce(const zb_frame_t& begin, const kx::MergedBeginEx& ex) {
  const std::string topic(sdk::textOf(ex.topic()));
  if (topic.empty()) {
    return refuse(begin, RD_KAFKA_RESP_ERR__INVALID_ARG, "produce stream without a topic");
  }
  const kx::AckMode acks = ex.ack_mode();
  if (acks != kx::AckMode::NONE && acks != kx::AckMode::LEADER_ONLY &&
      acks != kx::AckMode::IN_SYNC_REPLICAS) {
    return refuse(begin, RD_KAFKA_RESP_ERR__INVALID_ARG, "unknown ack_mode");
  }
  std::string error;
  RecordProducer* records = producer(acks, error);
  if (records == nullptr) {
    return refuse(begin, RD_KAFKA_RESP_ERR__INVALID_ARG, error);
  }
  if (embedded_) {
    embedded_->ensureTopic(topic);
  }
  rd_kafka_topic_t* handle = records->topic(topic);
  if (handle == nullptr) {
    return refuse(begin, rd_kafka_last_error(), "produce stream: bad topic '" + topic + "'");
  }
  return new ProduceStream(host(), begin, *records, handle, kafka_type_, streams_);
}

sdk::Stream* ClientBinding::refuse(const zb_frame_t& begin, rd_kafka_resp_err_t err,
                                   std::string message) {
  return new RefusedStream(host(), begin, kafka_type_, err, std::move(message), streams_);
}

ConsumerGroup* ClientBinding::group(const std::string& group_id, std::string& error) {
  const auto it = groups_by_id_.find(group_id);
  if (it != groups_by_id_.end() && !it->second->failed()) {
    return it->second;
  }
  // A failed consumer stays (its streams still refer to it) and a new one replaces it.
  std::unique_ptr<ConsumerGroup> created = ConsumerGroup::create(
      host(), options_, bootstrap_, group_id, client_id_, groups_.size() + 1, metrics_, error);
  if (!created) {
    return nullptr;
  }
  groups_.push_back(std::move(created));
  groups_by_id_[group_id] = groups_.back().get();
  return groups_.back().get();
}

RecordProducer* ClientBinding::producer(kx::AckMode acks, std::string& error) {
  std::unique_ptr<RecordProducer>& slot = producers_[ackIndex(acks)];
  if (!slot) {
    slot = RecordProducer::create(host(), options_, bootstrap_, acks, client_id_, ackIndex(acks),
                                  metrics_, error);
  }
  return slot.get();
}

void ClientBinding::onSignal(const zb_frame_t& signal) {
  if (signal.signal_id == kConsumerWake || signal.signal_id == kReleaseTimer) {
    const uint64_t index = signal.stream_id - 1;
    if (index < groups_.size()) {
      if (signal.signal_id == kReleaseTimer) {
        groups_[index]->onReleaseTimeout();
      } else {
        groups_[index]->drain();
      }
    }
  } else if (signal.signal_id == kProducerWake) {
    if (signal.stream_id < producers_.size() && producers_[signal.stream_id]) {
      producers_[signal.stream_id]->poll();
    }
  }
}

void ClientBinding::onStop() {
  // Fetch streams stay open: their initiators finish the work they hold, commit it and END them
  // (the group is left once its last stream is gone). Only new fetch streams are refused.
  stopping_ = true;
}

}  // namespace zb::kafka_binding
