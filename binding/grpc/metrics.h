// The binding's metrics, registered with the host on the engine thread.
//
//   grpc.calls.started{method}          counter    gRPC calls started on a READY channel
//   grpc.calls.finished{method,status}  counter    started calls whose status arrived, by status
//   grpc.call_duration_us{method}       histogram  from a call's start to its status
//   grpc.request.bytes{method}          counter    request message bytes gRPC has written
//   grpc.response.bytes{method}         counter    response message bytes received
//   grpc.calls.refused{status}          counter    calls RESET with a StatusEx (14: retry)
//   grpc.calls.in_flight                gauge      started calls whose status has not arrived
//
// Every metric carries the label binding="<namespace>.<name>"; `method` is "<service>/<method>".
// A method's series are registered the first time one of its calls starts (a `status` the first
// time it is seen), and their ids cached: later calls look them up without allocating.
#pragma once

#include <zb/sdk/binding.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace zb::grpc_binding {

// Thread: engine, every method.
class CallMetrics {
 public:
  static constexpr int kStatusCodes = 17;  // gRPC status codes 0..16
  // Distinct methods with series of their own; calls to any further method share the series
  // of method="_other", so a caller cannot grow the metrics without bound.
  static constexpr size_t kMaxMethods = 256;

  // The ids of one method's series.
  struct MethodSeries {
    std::string labels;  // binding="..",method=".."
    uint32_t started = 0;
    uint32_t duration = 0;
    uint32_t request_bytes = 0;
    uint32_t response_bytes = 0;
    std::array<uint32_t, kStatusCodes> finished{};  // 0 until that status is first seen
  };

  CallMetrics(const sdk::Host& host, std::string_view binding);

  // The series of "<service>/<method>", registered on first use. The reference stays valid for
  // the life of this object.
  MethodSeries& method(std::string_view service_method);

  void started(MethodSeries& series) {
    host_.record(series.started, 1);
    host_.record(in_flight_, 1);
  }
  void finished(MethodSeries& series, int status, int64_t duration_us);
  void requestBytes(MethodSeries& series, int64_t bytes) {
    host_.record(series.request_bytes, bytes);
  }
  void responseBytes(MethodSeries& series, int64_t bytes) {
    host_.record(series.response_bytes, bytes);
  }
  void refused(int status);
  // A started call freed without its status (the binding is being destroyed).
  void abandoned() { host_.record(in_flight_, -1); }

 private:
  struct TextHash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
  };

  MethodSeries& declare(std::string_view service_method);
  static int statusIndex(int status) { return status >= 0 && status < kStatusCodes ? status : 2; }

  sdk::Host host_;
  std::string binding_label_;  // binding="<namespace>.<name>"
  uint32_t in_flight_ = 0;
  std::array<uint32_t, kStatusCodes> refused_{};  // 0 until that status is first seen
  // Node-based: a MethodSeries never moves once inserted.
  std::unordered_map<std::string, MethodSeries, TextHash, std::equal_to<>> methods_;
};

}  // namespace zb::grpc_binding
