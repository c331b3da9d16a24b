#include "remote_server.h"

#include "correlated_call.h"
#include "fetch_stream.h"

#include <algorithm>
#include <cmath>

namespace zb::kafka_grpc {

RemoteServer::RemoteServer(const sdk::Host& host, const zb_binding_config_t& config, Config parsed)
    : sdk::Binding(host),
      config_(std::move(parsed)),
      label_(std::string(config.namespace_ != nullptr ? config.namespace_ : "") + "." +
             (config.name != nullptr ? config.name : "")),
      binding_id_(config.id),
      entry_id_(config.entry_id),
      kafka_type_(host.typeId("kafka")),
      grpc_type_(host.typeId("grpc")),
      ports_(*this),
      extensions_(kafka_type_, grpc_type_, config_.options, config_.routes.size()) {
  metrics_.declare(host, label_);
  random_state_ = static_cast<uint64_t>(host.nowNs()) ^ (binding_id_ * 0x9E3779B97F4A7C15ULL);
  if (random_state_ == 0) {
    random_state_ = 1;
  }
  for (const Route& route : config_.routes) {
    for (const Condition& when : route.when) {
      fetches_.push_back(std::make_unique<FetchStream>(*this, route, when,
                                                       static_cast<uint32_t>(fetches_.size())));
    }
  }
  const size_t expected = std::min<size_t>(config_.options.max_in_flight, 1024);
  calls_.reserve(expected);
  free_calls_.reserve(expected);
  to_recycle_.reserve(expected);
}

RemoteServer::~RemoteServer() = default;

void RemoteServer::onStart() {
  EntryGuard guard(*this);
  for (const auto& fetch : fetches_) {
    fetch->open();
  }
}

void RemoteServer::onStop() {
  EntryGuard guard(*this);
  stopping_ = true;
  FetchStream::Left left;
  for (const auto& fetch : fetches_) {
    const FetchStream::Left stream = fetch->stop();
    left.finishing += stream.finishing;
    left.cancelled += stream.cancelled;
  }
  host().logf(ZB_LOG_INFO,
              "%s: stopping: takes no more records; %zu call(s) at their service finish and are "
              "committed first, %zu not yet started are left uncommitted for redelivery",
              label_.c_str(), left.finishing, left.cancelled);
}

void RemoteServer::onSignal(const zb_frame_t& signal) {
  EntryGuard guard(*this);
  switch (signal.signal_id) {
    case kRetryTimer:
    case kDeadlineTimer:
      if (CorrelatedCall* call = callFor(signal.stream_id)) {
        call->onTimer(signal.signal_id);
      }
      break;
    case kReopenTimer:
      if (signal.stream_id < fetches_.size()) {
        fetches_[signal.stream_id]->onReopenTimer();
      }
      break;
    default:
      break;
  }
}

CorrelatedCall& RemoteServer::newCall() {
  if (free_calls_.empty()) {
    const auto index = static_cast<uint32_t>(calls_.size());
    calls_.push_back(std::make_unique<CorrelatedCall>(*this, index));
    free_calls_.reserve(calls_.size());
    to_recycle_.reserve(calls_.size());
    return *calls_.back();
  }
  const uint32_t index = free_calls_.back();
  free_calls_.pop_back();
  return *calls_[index];
}

void RemoteServer::recycle(CorrelatedCall& call) {
  if (call.phase() == CorrelatedCall::Phase::kFree) {
    return;
  }
  call.release();
  to_recycle_.push_back(&call);
  wantSettle();
}

CorrelatedCall* RemoteServer::callFor(uint64_t token) {
  const auto index = static_cast<uint32_t>(token >> 32);
  const auto generation = static_cast<uint32_t>(token);
  if (index >= calls_.size()) {
    return nullptr;
  }
  CorrelatedCall* call = calls_[index].get();
  if (call->generation() != generation || call->phase() == CorrelatedCall::Phase::kFree) {
    return nullptr;
  }
  return call;
}

bool RemoteServer::takeSlot(CorrelatedCall& call) {
  if (waiting_.empty() && in_flight_ < config_.options.max_in_flight) {
    ++in_flight_;
    metrics_.inFlight(1);
    return true;
  }
  waiting_.push(call);
  wantSettle();
  return false;
}

void RemoteServer::returnSlot() {
  --in_flight_;
  metrics_.inFlight(-1);
  if (!waiting_.empty()) {
    wantSettle();
  }
}

void RemoteServer::forgetWaiting(CorrelatedCall& call) { waiting_.erase(call); }

void RemoteServer::settle() {
  // Runs when the outermost delivery into this binding returns; what it starts may deliver
  // frames back, which queue more work for the next round.
  bool again = true;
  while (again) {
    again = false;
    while (!waiting_.empty() && in_flight_ < config_.options.max_in_flight) {
      CorrelatedCall* call = waiting_.pop();
      ++in_flight_;
      metrics_.inFlight(1);
      call->onSlotGranted();
      again = true;
    }
    if (!to_recycle_.empty()) {
      for (CorrelatedCall* call : to_recycle_) {
        free_calls_.push_back(call->index());
      }
      to_recycle_.clear();
      again = true;
    }
  }
}

uint64_t RemoteServer::schedule(int64_t at_ns, Timer timer, uint64_t token) {
  return host().signalAt(at_ns, token, timer);
}

void RemoteServer::cancelTimer(uint64_t& timer_id) {
  if (timer_id != 0) {
    host().signalCancel(timer_id);
    timer_id = 0;
  }
}

int64_t RemoteServer::backoff(uint32_t attempt) {
  const RetryPolicy& retry = config_.options.retry;
  double delay = static_cast<double>(retry.initial_backoff_ns) *
                 std::pow(retry.backoff_multiplier, attempt > 0 ? attempt - 1 : 0);
  delay = std::min(delay, static_cast<double>(retry.max_backoff_ns));
  // xorshift64*: cheap, and good enough to spread retries apart.
  random_state_ ^= random_state_ >> 12;
  random_state_ ^= random_state_ << 25;
  random_state_ ^= random_state_ >> 27;
  const uint64_t bits = random_state_ * 0x2545F4914F6CDD1DULL;
  const double u = static_cast<double>(bits >> 11) / 9007199254740992.0;  // [0, 1)
  delay *= 1.0 - retry.jitter * u;
  return std::max<int64_t>(1'000'000, static_cast<int64_t>(delay));
}

}  // namespace zb::kafka_grpc
