#include "metrics.h"

namespace zb::kafka_grpc {

void Metrics::declare(const sdk::Host& host, const std::string& binding) {
  host_ = host;
  const std::string label = "binding=\"" + binding + "\"";
  requests_ = host.metric(ZB_METRIC_COUNTER, "kafka_grpc.requests", label.c_str());
  replies_ = host.metric(ZB_METRIC_COUNTER, "kafka_grpc.replies", label.c_str());
  retries_ = host.metric(ZB_METRIC_COUNTER, "kafka_grpc.retries", label.c_str());
  in_flight_ = host.metric(ZB_METRIC_GAUGE, "kafka_grpc.in_flight", label.c_str());
  call_duration_ = host.metric(ZB_METRIC_HISTOGRAM, "kafka_grpc.call_duration_ns", label.c_str());
  static constexpr const char* kReasons[] = {"unanswerable",  "bad_request",  "bad_frame",
                                             "reply_refused", "reply_failed", "fetch_lost",
                                             "cancelled",     "forgotten",    "stray_tombstone"};
  static_assert(std::size(kReasons) == static_cast<size_t>(ErrorReason::kCount));
  for (size_t i = 0; i < errors_.size(); ++i) {
    const std::string labels = label + ",reason=\"" + kReasons[i] + "\"";
    errors_[i] = host.metric(ZB_METRIC_COUNTER, "kafka_grpc.errors", labels.c_str());
  }
  for (int status = 0; status < kStatusCodes; ++status) {
    const std::string labels = label + ",status=\"" + std::to_string(status) + "\"";
    calls_[static_cast<size_t>(status)] =
        host.metric(ZB_METRIC_COUNTER, "kafka_grpc.calls", labels.c_str());
  }
}

}  // namespace zb::kafka_grpc
