// The binding's metrics, registered once per binding with the host.
//
//   kafka.fetch.records          counter  records delivered to fetch streams
//   kafka.fetch.skipped          counter  records no stream wanted (committed by the binding)
//   kafka.partitions.assigned    gauge    partitions assigned to the binding's consumers
//   kafka.commits                counter  offset commits sent
//   kafka.commit.errors          counter  offset commits Kafka refused
//   kafka.produce.records        counter  records Kafka acknowledged (acks 0: enqueued)
//   kafka.produce.errors         counter  produce streams failed by a record
//
// Every metric carries the label binding="<namespace>.<name>". Thread: engine.
#pragma once

#include <zb/sdk/binding.hpp>

#include <string>

namespace zb::kafka_binding {

class ClientMetrics {
 public:
  void declare(const sdk::Host& host, const std::string& binding) {
    host_ = host;
    const std::string label = "binding=\"" + binding + "\"";
    fetched_ = host.metric(ZB_METRIC_COUNTER, "kafka.fetch.records", label.c_str());
    skipped_ = host.metric(ZB_METRIC_COUNTER, "kafka.fetch.skipped", label.c_str());
    assigned_ = host.metric(ZB_METRIC_GAUGE, "kafka.partitions.assigned", label.c_str());
    commits_ = host.metric(ZB_METRIC_COUNTER, "kafka.commits", label.c_str());
    commit_errors_ = host.metric(ZB_METRIC_COUNTER, "kafka.commit.errors", label.c_str());
    produced_ = host.metric(ZB_METRIC_COUNTER, "kafka.produce.records", label.c_str());
    produce_errors_ = host.metric(ZB_METRIC_COUNTER, "kafka.produce.errors", label.c_str());
  }

  void fetched() { add(fetched_, 1); }
  void skipped() { add(skipped_, 1); }
  void assigned(int64_t delta) { add(assigned_, delta); }
  void committed() { add(commits_, 1); }
  void commitFailed() { add(commit_errors_, 1); }
  void produced() { add(produced_, 1); }
  void produceFailed() { add(produce_errors_, 1); }

 private:
  void add(uint32_t id, int64_t value) {
    if (id != 0) {
      host_.record(id, value);
    }
  }

  sdk::Host host_;
  uint32_t fetched_ = 0;
  uint32_t skipped_ = 0;
  uint32_t assigned_ = 0;
  uint32_t commits_ = 0;
  uint32_t commit_errors_ = 0;
  uint32_t produced_ = 0;
  uint32_t produce_errors_ = 0;
};

}  // namespace zb::kafka_binding
