#include "metrics.h"

#include "config.h"

#include <zb/sdk/labels.hpp>

namespace zb::grpc_binding {
namespace {

constexpr std::string_view kOtherMethod = "other";

}  // namespace

CallMetrics::CallMetrics(const sdk::Host& host, std::string_view binding,
                         std::vector<std::string> named)
    : host_(host), named_(std::move(named)), series_(named_.size()) {
  sdk::appendLabel(binding_label_, "binding", binding);
  in_flight_ = host_.metric(ZB_METRIC_GAUGE, "grpc.calls.in_flight", binding_label_.c_str());
}

CallMetrics::MethodSeries& CallMetrics::method(std::string_view service_method) {
  for (size_t i = 0; i < named_.size(); ++i) {
    if (globMatches(named_[i], service_method)) {
      return series_[i].started != 0 ? series_[i] : declare(series_[i], named_[i]);
    }
  }
  return other_.started != 0 ? other_ : declare(other_, kOtherMethod);
}

CallMetrics::MethodSeries& CallMetrics::declare(MethodSeries& series, std::string_view label) {
  series.labels = binding_label_;
  sdk::appendLabel(series.labels, "method", label);
  const char* labels = series.labels.c_str();
  series.started = host_.metric(ZB_METRIC_COUNTER, "grpc.calls.started", labels);
  series.duration = host_.metric(ZB_METRIC_HISTOGRAM, "grpc.call_duration_us", labels);
  series.request_bytes = host_.metric(ZB_METRIC_COUNTER, "grpc.request.bytes", labels);
  series.response_bytes = host_.metric(ZB_METRIC_COUNTER, "grpc.response.bytes", labels);
  return series;
}

void CallMetrics::finished(MethodSeries& series, int status, int64_t duration_us) {
  const int index = statusIndex(status);
  uint32_t& id = series.finished[static_cast<size_t>(index)];
  if (id == 0) {
    std::string labels = series.labels;
    sdk::appendLabel(labels, "status", std::to_string(index));
    id = host_.metric(ZB_METRIC_COUNTER, "grpc.calls.finished", labels.c_str());
  }
  host_.record(id, 1);
  host_.record(series.duration, duration_us >= 0 ? duration_us : 0);
  host_.record(in_flight_, -1);
}

void CallMetrics::refused(int status) {
  const int index = statusIndex(status);
  uint32_t& id = refused_[static_cast<size_t>(index)];
  if (id == 0) {
    std::string labels = binding_label_;
    sdk::appendLabel(labels, "status", std::to_string(index));
    id = host_.metric(ZB_METRIC_COUNTER, "grpc.calls.refused", labels.c_str());
  }
  host_.record(id, 1);
}

}  // namespace zb::grpc_binding
