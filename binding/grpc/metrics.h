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
// Every metric carries the label binding="<namespace>.<name>". `method` is never taken from the
// traffic: it is the `when.method` of the first route that names a method matching the call (the
// pattern as written, e.g. "example.Echo/*"), or "other" for a call no such route names. So the
// series are as many as the config says, whatever callers send. A method's series are registered
// the first time one of its calls starts (a `status` the first time it is seen), and their ids
// kept: later calls find them without allocating.
#pragma once

#include <zb/sdk/binding.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace zb::grpc_binding {

// Thread: engine, every method.
class CallMetrics {
 public:
  static constexpr int kStatusCodes = 17;  // gRPC status codes 0..16

  // The ids of one method's series.
  struct MethodSeries {
    std::string labels;  // binding="..",method=".."
    uint32_t started = 0;
    uint32_t duration = 0;
    uint32_t request_bytes = 0;
    uint32_t response_bytes = 0;
    std::array<uint32_t, kStatusCodes> finished{};  // 0 until that status is first seen
  };

  // `named` are the method patterns the binding's routes name, in config order.
  CallMetrics(const sdk::Host& host, std::string_view binding, std::vector<std::string> named);

  // The series of "<service>/<method>": the first named pattern it matches, or "other". The
  // reference stays valid for the life of this object.
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
  MethodSeries& declare(MethodSeries& series, std::string_view label);
  static int statusIndex(int status) { return status >= 0 && status < kStatusCodes ? status : 2; }

  sdk::Host host_;
  std::string binding_label_;  // binding="<namespace>.<name>"
  uint32_t in_flight_ = 0;
  std::array<uint32_t, kStatusCodes> refused_{};  // 0 until that status is first seen
  std::vector<std::string> named_;
  std::vector<MethodSeries> series_;  // one per named pattern; never resized after construction
  MethodSeries other_;
};

}  // namespace zb::grpc_binding
