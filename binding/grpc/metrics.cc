#include "metrics.h"

namespace zb::grpc_binding {
namespace {

constexpr std::string_view kOtherMethod = "_other";

// `name="value"` with the value escaped as the host's label parser reads it.
void appendLabel(std::string& out, std::string_view name, std::string_view value) {
  if (!out.empty()) {
    out.push_back(',');
  }
  out.append(name).append("=\"");
  for (const char c : value) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

}  // namespace

CallMetrics::CallMetrics(const sdk::Host& host, std::string_view binding) : host_(host) {
  appendLabel(binding_label_, "binding", binding);
  in_flight_ = host_.metric(ZB_METRIC_GAUGE, "grpc.calls.in_flight", binding_label_.c_str());
  methods_.reserve(kMaxMethods + 1);
}

CallMetrics::MethodSeries& CallMetrics::method(std::string_view service_method) {
  auto found = methods_.find(service_method);
  if (found != methods_.end()) {
    return found->second;
  }
  if (methods_.size() >= kMaxMethods) {
    found = methods_.find(kOtherMethod);
    return found != methods_.end() ? found->second : declare(kOtherMethod);
  }
  return declare(service_method);
}

CallMetrics::MethodSeries& CallMetrics::declare(std::string_view service_method) {
  MethodSeries& series = methods_[std::string(service_method)];
  series.labels = binding_label_;
  appendLabel(series.labels, "method", service_method);
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
    appendLabel(labels, "status", std::to_string(index));
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
    appendLabel(labels, "status", std::to_string(index));
    id = host_.metric(ZB_METRIC_COUNTER, "grpc.calls.refused", labels.c_str());
  }
  host_.record(id, 1);
}

}  // namespace zb::grpc_binding
