// The kafka-grpc binding (kind remote_server): one per declared binding.
//
// It owns what the exchanges share: the fetch streams (one per route `when`), the pools of
// calls and stream ports, the bound on calls in flight and the queue of calls waiting for a slot,
// timers, metrics and extension builders.
//
// Thread: engine, every function.
#pragma once

#include "config.h"
#include "extension_cache.h"
#include "metrics.h"
#include "stream_port.h"
#include "waiting_calls.h"

#include <zb/sdk/binding.hpp>
#include <zb/sdk/extension.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace zb::kafka_grpc {

class CorrelatedCall;
class FetchStream;

class RemoteServer final : public sdk::Binding, public EntryScope {
 public:
  RemoteServer(const sdk::Host& host, const zb_binding_config_t& config, Config parsed);
  ~RemoteServer() override;

  void onStart() override;
  void onStop() override;
  void onSignal(const zb_frame_t& signal) override;

  const Options& options() const { return config_.options; }
  uint64_t bindingId() const { return binding_id_; }
  uint64_t entryId() const { return entry_id_; }
  uint32_t kafkaType() const { return kafka_type_; }
  uint32_t grpcType() const { return grpc_type_; }
  const std::string& label() const { return label_; }
  bool stopping() const { return stopping_; }
  PortPool& ports() { return ports_; }
  Metrics& metrics() { return metrics_; }

  // A builder for one extension, taken when first used; nested deliveries get another, so a
  // frame being delivered never has its extension overwritten underneath it.
  using WriterLease = WriterPool::Lease;
  WriterLease writer() { return writers_.lease(); }
  // The extensions every exchange sends, kept between exchanges.
  ExtensionCache& extensions() { return extensions_; }
  // The position of `route` in the config (routes live as long as the binding).
  size_t routeIndex(const Route& route) const {
    return static_cast<size_t>(&route - config_.routes.data());
  }

  // Calls come from a pool and go back to it once the outermost delivery returns.
  CorrelatedCall& newCall();
  void recycle(CorrelatedCall& call);

  // A slot of max-in-flight: true when `call` may go now; otherwise it waits (WaitingCalls: its
  // partition's turn, then its arrival) and CorrelatedCall::onSlotGranted follows when a slot
  // frees up.
  bool takeSlot(CorrelatedCall& call);
  void returnSlot();
  void forgetWaiting(CorrelatedCall& call);
  uint32_t inFlight() const { return in_flight_; }

  enum Timer : int32_t { kRetryTimer = 1, kDeadlineTimer = 2, kReopenTimer = 3 };
  // Schedules a timer `at_ns` (host clock) for the object named by `token`; returns its id.
  uint64_t schedule(int64_t at_ns, Timer timer, uint64_t token);
  // Cancels `timer_id` if set, and clears it.
  void cancelTimer(uint64_t& timer_id);
  // The delay before attempt `attempt` + 1, from the retry policy, with jitter.
  int64_t backoff(uint32_t attempt);
  // The host clock, read once per turn: timers and durations need no finer time than that.
  int64_t now() { return turnNow(host()); }

 private:
  void settle() override;
  CorrelatedCall* callFor(uint64_t token);

  Config config_;
  std::string label_;  // "<namespace>.<name>"
  uint64_t binding_id_;
  uint64_t entry_id_;
  uint32_t kafka_type_;
  uint32_t grpc_type_;
  bool stopping_ = false;

  PortPool ports_;
  Metrics metrics_;
  WriterPool writers_;
  ExtensionCache extensions_;

  std::vector<std::unique_ptr<FetchStream>> fetches_;
  std::vector<std::unique_ptr<CorrelatedCall>> calls_;
  std::vector<uint32_t> free_calls_;
  std::vector<CorrelatedCall*> to_recycle_;

  uint32_t in_flight_ = 0;
  WaitingCalls waiting_;

  uint64_t random_state_;
};

}  // namespace zb::kafka_grpc
