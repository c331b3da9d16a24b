// The binding's metrics, registered once per binding with the host.
//
//   kafka.fetch.records          counter  records delivered to fetch streams
//   kafka.fetch.skipped{topic,reason}  counter  records no stream wanted (committed by the
//   binding),
//                                               by the filter condition they failed
//   kafka.partitions.assigned    gauge    partitions assigned to the binding's consumers
//   kafka.commits                counter  offset commits sent
//   kafka.commit.errors          counter  offset commits Kafka refused
//   kafka.produce.records        counter  records Kafka acknowledged (acks 0: enqueued)
//   kafka.produce.errors         counter  produce streams failed by a record
//
// Every metric carries the label binding="<namespace>.<name>". Thread: engine.
#pragma once

#include <zb/sdk/binding.hpp>
#include <zb/sdk/labels.hpp>

#include <string>
#include <string_view>

namespace zb::kafka_binding {

class ClientMetrics {
 public:
  void declare(const sdk::Host& host, const std::string& binding) {
    host_ = host;
    label_.clear();
    sdk::appendLabel(label_, "binding", binding);
    const std::string& label = label_;
    fetched_ = host.metric(ZB_METRIC_COUNTER, "kafka.fetch.records", label.c_str());
    assigned_ = host.metric(ZB_METRIC_GAUGE, "kafka.partitions.assigned", label.c_str());
    commits_ = host.metric(ZB_METRIC_COUNTER, "kafka.commits", label.c_str());
    commit_errors_ = host.metric(ZB_METRIC_COUNTER, "kafka.commit.errors", label.c_str());
    produced_ = host.metric(ZB_METRIC_COUNTER, "kafka.produce.records", label.c_str());
    produce_errors_ = host.metric(ZB_METRIC_COUNTER, "kafka.produce.errors", label.c_str());
  }

  void fetched() { add(fetched_, 1); }
  // The series of records skipped on `topic` for `reason` (registered on each call: keep it).
  // Topics and reasons come from the config (subscriptions and filter conditions): bounded.
  uint32_t skippedSeries(std::string_view topic, std::string_view reason) {
    std::string labels = label_;
    sdk::appendLabel(labels, "topic", topic);
    sdk::appendLabel(labels, "reason", reason);
    return host_.metric(ZB_METRIC_COUNTER, "kafka.fetch.skipped", labels.c_str());
  }
  void skipped(uint32_t series) { add(series, 1); }
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
  std::string label_;  // binding="..."
  uint32_t fetched_ = 0;
  uint32_t assigned_ = 0;
  uint32_t commits_ = 0;
  uint32_t commit_errors_ = 0;
  uint32_t produced_ = 0;
  uint32_t produce_errors_ = 0;
};

}  // namespace zb::kafka_binding
