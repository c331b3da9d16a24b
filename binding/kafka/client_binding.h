// One declared `kafka` binding (kind client): the embedded cluster when it has no servers, a
// consumer per consumer group its fetch streams name, a producer per ack mode its produce
// streams ask for, and the streams themselves.
#pragma once

#include "config.h"
#include "consumer_group.h"
#include "embedded_cluster.h"
#include "metrics.h"
#include "record_producer.h"

#include <zb/sdk/binding.hpp>

#include <array>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace zb::kafka_binding {

class ClientBinding final : public sdk::Binding {
 public:
  // Parses the options and, without servers, starts the embedded cluster. Returns nullptr with
  // `error` on bad options or when librdkafka refuses them.
  static std::unique_ptr<sdk::Binding> create(const sdk::Host& host,
                                              const zb_binding_config_t& config,
                                              std::string& error);
  ~ClientBinding() override;

  sdk::Stream* onStreamNew(const zb_frame_t& begin) override;
  void onSignal(const zb_frame_t& signal) override;
  void onStop() override;

 private:
  ClientBinding(const sdk::Host& host, ClientOptions options, std::string client_id,
                const std::string& metric_name);

  sdk::Stream* newFetch(const zb_frame_t& begin, const ::zb::kafka::MergedBeginEx& ex);
  sdk::Stream* newProduce(const zb_frame_t& begin, const ::zb::kafka::MergedBeginEx& ex);
  // A stream that answers its BEGIN with RESET and ABORT carrying ResetEx{err, message}.
  sdk::Stream* refuse(const zb_frame_t& begin, rd_kafka_resp_err_t err, std::string message);
  ConsumerGroup* group(const std::string& group_id, std::string& error);
  RecordProducer* producer(::zb::kafka::AckMode acks, std::string& error);

  ClientOptions options_;
  std::string client_id_;
  uint32_t kafka_type_;
  std::string bootstrap_;
  bool stopping_ = false;
  ClientMetrics metrics_;  // before the groups and producers that count into it
  std::unique_ptr<EmbeddedCluster> embedded_;
  std::vector<std::unique_ptr<ConsumerGroup>> groups_;  // wake id: index + 1
  std::unordered_map<std::string, ConsumerGroup*> groups_by_id_;
  std::array<std::unique_ptr<RecordProducer>, 3> producers_;  // by ack mode + 1
  std::unordered_set<sdk::Stream*> streams_;  // open streams, freed at destroy if still there
};

}  // namespace zb::kafka_binding
