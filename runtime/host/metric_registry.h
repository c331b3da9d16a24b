// The host's MetricSink: every metric bindings register, kept in atomics so the Prometheus
// endpoint's thread can read them while the engine thread records.
#pragma once

#include <zb/runtime/engine.h>

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace zb::host {

class MetricRegistry : public zb::runtime::MetricSink {
 public:
  // Histogram buckets: upper bounds 1, 2, 4, ..., 2^(kHistogramBuckets-1), then +Inf. Powers of
  // two suit any unit (ns, us, bytes) without knowing it.
  static constexpr size_t kHistogramBuckets = 41;

  // Every series carries namespace="<namespace_name>" and binding="<binding>" labels.
  explicit MetricRegistry(std::string namespace_name);

  // Thread: engine. `name` is the binding's metric name ("stream.opened" becomes
  // "stream_opened"; counters get a "_total" suffix). `labels` is `a="x",b="y"` or empty.
  // The same kind, binding, name and labels give the same id.
  uint32_t declare(zb_metric_kind kind, std::string_view binding, std::string_view name,
                   std::string_view labels) override;
  // Thread: engine. Counters add (negative values are ignored), gauges add the signed delta,
  // histograms observe the value. Unknown ids are ignored.
  void record(uint32_t id, int64_t value) override;

  // Thread: any. The Prometheus text exposition format (version 0.0.4), families sorted by name.
  std::string renderPrometheus() const;

  // The Prometheus family name of a binding metric name of a kind.
  static std::string familyName(zb_metric_kind kind, std::string_view name);

 private:
  struct Metric {
    zb_metric_kind kind;
    std::string family;
    std::string labels;             // rendered: namespace="..",binding="..",extra
    std::atomic<int64_t> value{0};  // counter, gauge; histogram: sum
    std::array<std::atomic<uint64_t>, kHistogramBuckets + 1> buckets{};  // histogram
  };

  std::string namespace_name_;
  mutable std::mutex mutex_;  // guards metrics_ against declare() while rendering
  std::vector<std::unique_ptr<Metric>> metrics_;  // id = index + 1
  // Engine thread only.
  std::map<std::tuple<int, std::string, std::string>, uint32_t> ids_;
  std::map<std::string, zb_metric_kind> family_kinds_;
};

}  // namespace zb::host
