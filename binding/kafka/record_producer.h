// One librdkafka producer per ack mode, shared by every produce stream with that mode. Delivery
// reports are served on the engine thread: librdkafka's threads only post a wake-up, and
// poll() (called from the binding's onSignal) runs the reports.
#pragma once

#include "config.h"
#include "kafka_handle.h"
#include "metrics.h"

#include <zb/ext/kafka_generated.h>

#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>
#include <unordered_map>

namespace zb::kafka_binding {

class RecordProducer final : public KafkaHandle {
 public:
  // acks NONE → "0", LEADER_ONLY → "1", IN_SYNC_REPLICAS → "all" with idempotence.
  static std::unique_ptr<RecordProducer> create(const sdk::Host& host, const ClientOptions& options,
                                                const std::string& bootstrap,
                                                ::zb::kafka::AckMode acks,
                                                const std::string& client_id, uint64_t wake_id,
                                                ClientMetrics& metrics, std::string& error);
  // Waits (bounded) for records in flight, then purges the rest; every report is served.
  ~RecordProducer() override;

  rd_kafka_t* handle() const { return rk_; }
  ClientMetrics& metrics() { return metrics_; }
  ::zb::kafka::AckMode acks() const { return acks_; }
  // The cached topic handle (created on first use, which also starts its metadata lookup).
  rd_kafka_topic_t* topic(const std::string& name);
  // Serves delivery reports. Thread: engine.
  void poll();
  // While true, delivery reports only release their streams' bookkeeping.
  bool shuttingDown() const { return shutting_down_; }

 private:
  RecordProducer(const sdk::Host& host, std::string name, ::zb::kafka::AckMode acks,
                 uint64_t wake_id, ClientMetrics& metrics);
  static void onDelivery(rd_kafka_t* rk, const rd_kafka_message_t* message, void* opaque);

  ::zb::kafka::AckMode acks_;
  uint64_t wake_id_;
  ClientMetrics& metrics_;
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_queue_t* main_queue_ = nullptr;
  std::unique_ptr<QueueWake> wake_;
  std::unordered_map<std::string, rd_kafka_topic_t*> topics_;
  bool shutting_down_ = false;
};

}  // namespace zb::kafka_binding
