// Runs one scenario folder of specs/kafka-grpc against the real libbinding-kafka-grpc.so:
// loads it through the plugin loader into an engine, declares the bindings of the scenario's
// config.yaml (validated as zilla-host validates it), plays `kafka` and `grpc` from kafka.spec
// and grpc.spec, and reports the first difference between a script and what the binding did.
#pragma once

#include <zb/runtime/engine.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace zb::kafka_grpc::spec {

// Metrics the binding recorded, by "name{labels}".
class MetricCapture : public runtime::MetricSink {
 public:
  uint32_t declare(zb_metric_kind kind, std::string_view binding, std::string_view name,
                   std::string_view labels) override;
  void record(uint32_t id, int64_t value) override;
  int64_t value(const std::string& key) const;
  // Histograms: how many values were observed.
  int64_t count(const std::string& key) const;

 private:
  std::vector<std::string> keys_;
  std::vector<zb_metric_kind> kinds_;
  std::map<std::string, int64_t> values_;
  std::map<std::string, int64_t> counts_;
};

class LogCapture : public runtime::LogSink {
 public:
  void write(zb_log_level level, std::string_view binding, std::string_view msg) override;
  std::string text;
};

struct ScenarioResult {
  bool passed = false;
  std::string failure;  // what differed, where, and the state of every script
  std::string log;      // what the bindings logged
  MetricCapture metrics;
};

// `dir` holds config.yaml and kafka.spec and/or grpc.spec.
ScenarioResult runScenario(const std::string& dir, int64_t timeout_ns = 10'000'000'000);

// The scenario folders under `root`, sorted.
std::vector<std::string> scenarioNames(const std::string& root);

}  // namespace zb::kafka_grpc::spec
