#include "record_producer.h"

#include "stream_produce.h"

namespace zb::kafka_binding {

namespace kx = ::zb::kafka;

RecordProducer::RecordProducer(const sdk::Host& host, std::string name, kx::AckMode acks,
                               uint64_t wake_id, ClientMetrics& metrics)
    : KafkaHandle(host, std::move(name)), acks_(acks), wake_id_(wake_id), metrics_(metrics) {}

std::unique_ptr<RecordProducer> RecordProducer::create(
    const sdk::Host& host, const ClientOptions& options, const std::string& bootstrap,
    kx::AckMode acks, const std::string& client_id, uint64_t wake_id, ClientMetrics& metrics,
    std::string& error) {
  const char* acks_value = acks == kx::AckMode::NONE          ? "0"
                           : acks == kx::AckMode::LEADER_ONLY ? "1"
                                                              : "all";
  std::unique_ptr<RecordProducer> producer(new RecordProducer(
      host, std::string("kafka producer (acks=") + acks_value + ")", acks, wake_id, metrics));
  // Without idempotence (acks 0 and 1) librdkafka may land a retried batch after later ones
  // (its retries re-enter the queue behind batches already on their way, whatever
  // max.in.flight): the order of a stream's records is then only what its writer enforces by
  // waiting for acknowledgements.
  rd_kafka_conf_t* conf = makeKafkaConf(
      options, bootstrap, HandleRole::kProducer,
      {{"client.id", client_id},
       {"acks", acks_value},
       {"enable.idempotence", acks == kx::AckMode::IN_SYNC_REPLICAS ? "true" : "false"}},
      error);
  if (conf == nullptr) {
    return nullptr;
  }
  producer->installCallbacks(conf);
  rd_kafka_conf_set_dr_msg_cb(conf, &RecordProducer::onDelivery);
  char reason[512];
  producer->rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, reason, sizeof reason);
  if (producer->rk_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    error = std::string("kafka producer: ") + reason;
    return nullptr;
  }
  producer->main_queue_ = rd_kafka_queue_get_main(producer->rk_);
  producer->wake_ = std::make_unique<QueueWake>(host, kProducerWake, wake_id);
  producer->wake_->attach(producer->main_queue_);
  // Events queued before the callback was attached would never wake the engine: drain once.
  producer->wake_->postAgain();
  return producer;
}

RecordProducer::~RecordProducer() {
  if (rk_ == nullptr) {
    return;
  }
  shutting_down_ = true;
  QueueWake::detach(main_queue_);
  if (rd_kafka_flush(rk_, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    host().logf(ZB_LOG_WARN, "%s: %d records not acknowledged at shutdown; purged", name().c_str(),
                rd_kafka_outq_len(rk_));
    rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(rk_, 1000);  // serves the purged records' reports
  }
  for (auto& [name, topic] : topics_) {
    rd_kafka_topic_destroy(topic);
  }
  rd_kafka_queue_destroy(main_queue_);
  rd_kafka_destroy(rk_);
}

rd_kafka_topic_t* RecordProducer::topic(const std::string& name) {
  const auto it = topics_.find(name);
  if (it != topics_.end()) {
    return it->second;
  }
  rd_kafka_topic_t* topic = rd_kafka_topic_new(rk_, name.c_str(), nullptr);
  if (topic == nullptr) {
    host().logf(ZB_LOG_WARN, "%s: topic '%s': %s", this->name().c_str(), name.c_str(),
                rd_kafka_err2str(rd_kafka_last_error()));
    return nullptr;
  }
  topics_.emplace(name, topic);
  return topic;
}

void RecordProducer::poll() {
  wake_->rearm();
  rd_kafka_poll(rk_, 0);
}

void RecordProducer::onDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void*) {
  if (message->_private == nullptr) {
    return;  // acks=0: acknowledged when enqueued
  }
  auto* slot = static_cast<ProduceSlot*>(message->_private);
  slot->stream->onDelivered(*slot, message->err);
}

}  // namespace zb::kafka_binding
