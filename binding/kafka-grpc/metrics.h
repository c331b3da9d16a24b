// The binding's metrics, registered once per binding with the host.
//
//   kafka_grpc.requests          counter    request records received
//   kafka_grpc.replies           counter    reply records produced (response messages)
//   kafka_grpc.calls{status}     counter    answers durable in Kafka, by the status they carry
//   kafka_grpc.errors{reason}    counter    records or calls that went wrong, by reason
//   kafka_grpc.retries           counter    call attempts after the first
//   kafka_grpc.in_flight         gauge      calls holding a slot of max-in-flight
//   kafka_grpc.call_duration_ns  histogram  from a call's first record to its final status
//
// Every metric carries the label binding="<namespace>.<name>".
#pragma once

#include <zb/sdk/binding.hpp>

#include <array>
#include <cstdint>
#include <string>

namespace zb::kafka_grpc {

enum class ErrorReason : uint8_t {
  kUnanswerable,    // no correlation id or no reply-to
  kBadRequest,      // missing service or method, bad base64 metadata
  kBadFrame,        // a frame without the extension it needs
  kReplyRefused,    // the reply topic refused the reply: answered with its status alone
  kReplyFailed,     // the reply topic refused or lost the answer: the requester got none
  kFetchLost,       // the fetch stream ended or failed
  kCancelled,       // a call cancelled because its fetch stream was lost
  kForgotten,       // an answered request without tombstone forgotten (too many kept)
  kStrayTombstone,  // a tombstone that ends no call known here (committed, nothing to do)
  kCount
};

class Metrics {
 public:
  static constexpr int kStatusCodes = 17;

  void declare(const sdk::Host& host, const std::string& binding);

  void request() { add(requests_, 1); }
  void reply() { add(replies_, 1); }
  void retry() { add(retries_, 1); }
  void error(ErrorReason reason) { add(errors_[static_cast<size_t>(reason)], 1); }
  void inFlight(int64_t delta) { add(in_flight_, delta); }
  void answered(int status, int64_t duration_ns) {
    add(calls_[static_cast<size_t>(status >= 0 && status < kStatusCodes ? status : 2)], 1);
    if (duration_ns >= 0) {
      add(call_duration_, duration_ns);
    }
  }

 private:
  void add(uint32_t id, int64_t value) {
    if (id != 0) {
      host_.record(id, value);
    }
  }

  sdk::Host host_;
  uint32_t requests_ = 0;
  uint32_t replies_ = 0;
  uint32_t retries_ = 0;
  uint32_t in_flight_ = 0;
  uint32_t call_duration_ = 0;
  std::array<uint32_t, static_cast<size_t>(ErrorReason::kCount)> errors_{};
  std::array<uint32_t, kStatusCodes> calls_{};
};

}  // namespace zb::kafka_grpc
