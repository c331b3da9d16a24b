// The embedded Kafka: librdkafka's mock cluster, started in-process when a `kafka` binding has
// no servers. It speaks the Kafka protocol on a loopback port (kcat and any client can use it),
// but it is a demo and test tool, not storage: it keeps about 5 MiB and 100,000 batches per
// partition and silently drops older data.
#pragma once

#include "kafka_handle.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <memory>
#include <string>
#include <unordered_set>

namespace zb::kafka_binding {

class EmbeddedCluster final : public KafkaHandle {
 public:
  // Starts a one-broker cluster whose topics get `partitions` partitions; logs its address.
  static std::unique_ptr<EmbeddedCluster> start(const sdk::Host& host, int32_t partitions,
                                                std::string& error);
  ~EmbeddedCluster() override;

  // "127.0.0.1:PORT".
  const std::string& bootstrap() const { return bootstrap_; }
  // Creates `topic` unless this cluster has it already. Thread: engine.
  void ensureTopic(const std::string& topic);

 private:
  EmbeddedCluster(const sdk::Host& host, int32_t partitions);

  int32_t partitions_;
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string bootstrap_;
  std::unordered_set<std::string> topics_;
};

}  // namespace zb::kafka_binding
