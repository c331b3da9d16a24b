#include "embedded_cluster.h"

namespace zb::kafka_binding {

EmbeddedCluster::EmbeddedCluster(const sdk::Host& host, int32_t partitions)
    : KafkaHandle(host, "embedded Kafka"), partitions_(partitions) {}

std::unique_ptr<EmbeddedCluster> EmbeddedCluster::start(const sdk::Host& host, int32_t partitions,
                                                        std::string& error) {
  std::unique_ptr<EmbeddedCluster> cluster(new EmbeddedCluster(host, partitions));
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char reason[512];
  // Only warnings: the handle has no bootstrap.servers on purpose, which librdkafka notes.
  rd_kafka_conf_set(conf, "log_level", "4", reason, sizeof reason);
  cluster->installCallbacks(conf);
  // The handle only hosts the mock cluster; it never connects anywhere itself.
  cluster->rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, reason, sizeof reason);
  if (cluster->rk_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    error = std::string("embedded Kafka: ") + reason;
    return nullptr;
  }
  cluster->cluster_ = rd_kafka_mock_cluster_new(cluster->rk_, 1);
  if (cluster->cluster_ == nullptr) {
    error = "embedded Kafka: librdkafka could not start its mock cluster";
    return nullptr;
  }
  cluster->bootstrap_ = rd_kafka_mock_cluster_bootstraps(cluster->cluster_);
  host.logf(ZB_LOG_INFO,
            "embedded Kafka at %s (librdkafka mock cluster, 1 broker, %d partition(s) per topic; "
            "try: kcat -b %s -L)",
            cluster->bootstrap_.c_str(), partitions, cluster->bootstrap_.c_str());
  host.log(ZB_LOG_WARN,
           "embedded Kafka keeps about 5 MiB and 100,000 batches per partition and silently drops "
           "older data; it is for demos and tests only: configure `servers` for real use");
  return cluster;
}

EmbeddedCluster::~EmbeddedCluster() {
  if (cluster_ != nullptr) {
    rd_kafka_mock_cluster_destroy(cluster_);
  }
  if (rk_ != nullptr) {
    rd_kafka_destroy(rk_);
  }
}

void EmbeddedCluster::ensureTopic(const std::string& topic) {
  if (topics_.count(topic) != 0) {
    return;
  }
  const rd_kafka_resp_err_t err =
      rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions_, 1);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
    host().logf(ZB_LOG_WARN, "embedded Kafka: creating topic '%s': %s", topic.c_str(),
                rd_kafka_err2str(err));
    return;
  }
  topics_.insert(topic);
}

}  // namespace zb::kafka_binding
